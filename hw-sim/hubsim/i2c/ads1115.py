"""ADS1115 register model (TI SBAS444): a 16-bit ADC whose inputs are functions of virtual time.

Single-shot: writing OS=1 starts a conversion that completes 1/DR later; until then the
OS bit reads 0 (busy). Continuous: a conversion completes every 1/DR after the mode was
written and the conversion register holds the latest one. Each conversion samples the
inputs at its completion time (the delta-sigma averaging over the conversion period is
not modelled). Inputs are clipped to the ESD rails (GND−0.3 … VDD+0.3 V) and the result
to the PGA full scale (codes −32768 … 32767). POR config 0x8583.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

from .bus import RegisterDevice

REG_CONVERSION, REG_CONFIG, REG_LO_THRESH, REG_HI_THRESH = range(4)
CONFIG_POR = 0x8583
DATA_RATES = (8, 16, 32, 64, 128, 250, 475, 860)
PGA_FULL_SCALE_V = (6.144, 4.096, 2.048, 1.024, 0.512, 0.256, 0.256, 0.256)
# MUX code -> (positive input, negative input or None for GND)
MUX_INPUTS = ((0, 1), (0, 3), (1, 3), (2, 3), (0, None), (1, None), (2, None), (3, None))


class ADS1115Sim(RegisterDevice):
    def __init__(self, now: Callable[[], float], inputs: Sequence = (0.0, 0.0, 0.0, 0.0), vdd: float = 3.3):
        super().__init__()
        if len(inputs) != 4:
            raise ValueError("the ADS1115 has four inputs AIN0..AIN3")
        self.now = now
        self.inputs = list(inputs)  # each a constant voltage or f(t)
        self.vdd = vdd
        self.conversions = 0
        self.power_on_reset()

    def power_on_reset(self) -> None:
        self.pointer = 0
        self.config = CONFIG_POR
        self.lo_thresh = 0x8000
        self.hi_thresh = 0x7FFF
        self.conversion = 0
        self._start = self.now()
        self._busy_until: Optional[float] = None  # single-shot in progress
        self._seen = 0

    @property
    def continuous(self) -> bool:
        return not self.config & 0x0100

    @property
    def data_rate(self) -> int:
        return DATA_RATES[(self.config >> 5) & 0x7]

    def input_volts(self, channel: int, t: float) -> float:
        """AINx at time ``t``, clipped where the ESD diodes clip it (GND−0.3 … VDD+0.3 V)."""
        signal = self.inputs[channel]
        v = signal(t) if callable(signal) else signal
        return -0.3 if v < -0.3 else (self.vdd + 0.3 if v > self.vdd + 0.3 else v)

    def sample(self, t: float) -> int:
        """The conversion result for the current MUX/PGA if it were taken at time ``t``."""
        pos, neg = MUX_INPUTS[(self.config >> 12) & 0x7]
        volts = self.input_volts(pos, t)
        if neg is not None:
            volts -= self.input_volts(neg, t)
        code = round(volts * 32768 / PGA_FULL_SCALE_V[(self.config >> 9) & 0x7])
        self.conversions += 1
        return -0x8000 if code < -0x8000 else (0x7FFF if code > 0x7FFF else code)

    def _update(self) -> None:
        now = self.now()
        if self.continuous:
            rate = self.data_rate
            n = int((now - self._start) * rate + 1e-9)
            if n > self._seen:
                self._seen = n
                self.conversion = self.sample(self._start + n / rate)
        elif self._busy_until is not None and now >= self._busy_until:
            self.conversion = self.sample(self._busy_until)
            self._busy_until = None

    def read_register(self, reg: int) -> int:
        reg &= 0x3  # the pointer register has two bits
        self._update()
        if reg == REG_CONVERSION:
            return self.conversion & 0xFFFF
        if reg == REG_CONFIG:
            idle = not self.continuous and self._busy_until is None
            return (self.config & 0x7FFF) | (0x8000 if idle else 0)
        if reg == REG_LO_THRESH:
            return self.lo_thresh
        if reg == REG_HI_THRESH:
            return self.hi_thresh
        return 0x0000

    def write_register(self, reg: int, value: int) -> None:
        reg &= 0x3  # the pointer register has two bits
        if reg == REG_CONFIG:
            self._update()
            self.config = value & 0x7FFF
            now = self.now()
            if self.continuous:
                self._start = now
                self._seen = 0
                self._busy_until = None
            elif value & 0x8000 and self._busy_until is None:
                self._busy_until = now + 1.0 / self.data_rate
        elif reg == REG_LO_THRESH:
            self.lo_thresh = value
        elif reg == REG_HI_THRESH:
            self.hi_thresh = value
