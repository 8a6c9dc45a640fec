"""INA219 register model (TI SBOS448): computes registers from shunt current and bus voltage.

Physical inputs are constants or functions of virtual time; conversions complete on the
virtual clock ``now()`` at the configured ADC times, and the result registers latch the
inputs at the last completed conversion. Calibration is volatile (0 at power-on), so
Current and Power read 0 until it is written. CNVR is set when a conversion completes and
cleared by reading Power or writing a new mode; OVF is set when the shunt exceeds the PGA
range or the current/power arithmetic overflows.

Simplifications: Current and Power are computed from the latched shunt/bus codes and the
calibration *at read time*; averaging is modelled as its duration only.
"""

from __future__ import annotations

import math
from typing import Callable

from .bus import RegisterDevice, clamp, value_at

REG_CONFIG, REG_SHUNT, REG_BUS, REG_POWER, REG_CURRENT, REG_CALIBRATION = range(6)
CONFIG_POR = 0x399F
PGA_RANGES_V = (0.040, 0.080, 0.160, 0.320)
SHUNT_LSB_V = 10e-6
BUS_LSB_V = 4e-3

# ADC setting (4 bits) -> conversion time in seconds.
_ADC_TIMES = {0b0000: 84e-6, 0b0001: 148e-6, 0b0010: 276e-6, 0b0011: 532e-6}
for _code, _n in zip(range(0b1001, 0b10000), (2, 4, 8, 16, 32, 64, 128)):
    _ADC_TIMES[_code] = 532e-6 * _n
_ADC_TIMES.update({0b0100: 84e-6, 0b0101: 148e-6, 0b0110: 276e-6, 0b0111: 532e-6, 0b1000: 532e-6})


def adc_seconds(code: int) -> float:
    return _ADC_TIMES[code & 0xF]


class INA219Sim(RegisterDevice):
    def __init__(self, now: Callable[[], float], shunt_ohms: float = 0.1, current=0.0, bus_volts=12.0):
        super().__init__()
        self.now = now
        self.shunt_ohms = shunt_ohms
        self.current = current  # amps through the shunt: constant or f(t)
        self.bus_volts = bus_volts  # volts at VIN- to ground: constant or f(t)
        self.config_writes = 0
        self.calibration_writes = 0
        self.power_on_reset()

    # -- state ---------------------------------------------------------------------------------
    def power_on_reset(self) -> None:
        self.pointer = 0
        self.config = CONFIG_POR
        self.calibration = 0
        self.shunt_code = 0
        self.bus_code = 0
        self.cnvr = False
        self.math_ovf = False
        self._start = self.now()
        self._seen = 0

    @property
    def mode(self) -> int:
        return self.config & 0x7

    @property
    def conversion_seconds(self) -> float:
        return adc_seconds(self.config >> 7) + adc_seconds(self.config >> 3)

    def _completed(self, t: float) -> tuple[int, float]:
        """Conversions completed since the last mode write, and when the last one finished."""
        mode = self.mode
        period = self.conversion_seconds
        if mode in (0, 4):
            return 0, self._start
        n = int((t - self._start) / period + 1e-9)
        if mode in (1, 2, 3):  # triggered: one conversion per config write
            n = min(n, 1)
        return n, self._start + n * period

    def _update(self) -> None:
        n, t_done = self._completed(self.now())
        if n <= self._seen:
            return
        self._seen = n
        self.cnvr = True
        mode = self.mode
        pga = PGA_RANGES_V[(self.config >> 11) & 0x3]
        full = round(pga / SHUNT_LSB_V)
        shunt_overflow = False
        if mode & 1:
            v = value_at(self.current, t_done) * self.shunt_ohms
            self.shunt_code, shunt_overflow = clamp(round(v / SHUNT_LSB_V), -full, full)
        if mode & 2:
            brng_max = 8000 if self.config & 0x2000 else 4000
            self.bus_code, _ = clamp(round(value_at(self.bus_volts, t_done) / BUS_LSB_V), 0, brng_max)
        _, _, overflow = self._compute()
        self.math_ovf = shunt_overflow or overflow

    def _compute(self) -> tuple[int, int, bool]:
        """Current and Power register values and whether the arithmetic overflowed."""
        if self.calibration == 0:
            return 0, 0, False
        current = math.trunc(self.shunt_code * self.calibration / 4096)
        current, c_ovf = clamp(current, -0x8000, 0x7FFF)
        power = math.trunc(abs(current) * self.bus_code / 5000)
        power, p_ovf = clamp(power, 0, 0xFFFF)
        return current, power, c_ovf or p_ovf

    # -- registers -----------------------------------------------------------------------------
    def read_register(self, reg: int) -> int:
        self._update()
        if reg == REG_CONFIG:
            return self.config
        if reg == REG_SHUNT:
            return self.shunt_code & 0xFFFF
        if reg == REG_BUS:
            return (self.bus_code << 3) | (0x2 if self.cnvr else 0) | (0x1 if self.math_ovf else 0)
        if reg == REG_POWER:
            self.cnvr = False  # hw-sim's reading of the datasheet: a Power read clears CNVR
            return self._compute()[1]
        if reg == REG_CURRENT:
            return self._compute()[0] & 0xFFFF
        if reg == REG_CALIBRATION:
            return self.calibration
        return 0x0000  # no such register: the INA219 has no ID registers

    def write_register(self, reg: int, value: int) -> None:
        if reg == REG_CONFIG:
            self.config_writes += 1
            if value & 0x8000:
                self.power_on_reset()
                return
            self._update()
            self.config = value & 0x3FFF
            self.cnvr = False
            self._start = self.now()
            self._seen = 0
        elif reg == REG_CALIBRATION:
            self.calibration_writes += 1
            self.calibration = value & 0xFFFE  # FS0 is not implemented and reads 0
        # writes to the read-only result registers are ignored
