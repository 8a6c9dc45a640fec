"""INA219 DC current/power monitor driver (TI SBOS448), over the :mod:`hubd.sensors.i2c` seam.

The chip measures a shunt drop (signed, 10 µV/LSB) and a bus voltage ((raw>>3)·4 mV, with
CNVR in bit 1 and OVF in bit 0), and computes Current = Shunt·Cal/4096 and
Power = Current·Bus/5000. We choose the current LSB from the largest expected current
(``I_max/2^15`` rounded up to one significant figure, so 3.2 A gives 0.1 mA), write
Cal = trunc(0.04096/(I_LSB·R_shunt)), and decode Power with 20·I_LSB per bit.

Calibration is volatile: a brown-out returns it to 0 and Current/Power then read 0.
Every :meth:`INA219.read` therefore checks Cal and Config after reading the results and,
if either changed, re-initialises the chip and raises :class:`DeviceResetError` so the
supervisor drops that sample (Linux hwmon's ina2xx does the same check).
When OVF is set, the Current/Power registers are not trusted: the reading is recomputed
from the shunt and bus voltages and flagged ``overflow`` (a lower bound if the shunt
itself is at the PGA limit).

All registers are MSB first and moved with 2-byte block transfers (hardware.md §4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from .i2c import DeviceError, DeviceResetError, I2CBus, check_address, read_s16, read_u16, write_u16

REG_CONFIG, REG_SHUNT, REG_BUS, REG_POWER, REG_CURRENT, REG_CALIBRATION = range(6)
CONFIG_RESET = 0x8000
CONFIG_POR = 0x399F
SHUNT_LSB_V = 10e-6
BUS_LSB_V = 4e-3
CAL_NUMERATOR = 0.04096
POWER_LSB_RATIO = 20
PGA_RANGES_V = (0.040, 0.080, 0.160, 0.320)
BUS_RANGES_V = (16, 32)
#: samples averaged -> ADC setting at 12-bit resolution
SAMPLES_TO_ADC = {1: 0b0011, 2: 0b1001, 4: 0b1010, 8: 0b1011, 16: 0b1100, 32: 0b1101, 64: 0b1110, 128: 0b1111}
MODE_SHUNT_BUS_CONTINUOUS = 0b111
CAL_MAX = 0xFFFE  # bit 0 of the INA219 calibration register is not implemented


def nice_current_lsb(max_current: float, floor: float = 0.0) -> float:
    """The current LSB for ``max_current``: ``max(max_current/2^15, floor)`` rounded up to one significant figure."""
    if not max_current > 0:
        raise ValueError(f"max_current {max_current!r} must be positive")
    smallest = max(max_current / 32768.0, floor)
    exponent = math.floor(math.log10(smallest))
    scale = 10.0 ** exponent
    digit = math.ceil(round(smallest / scale, 9))
    return float(f"{digit}e{exponent}")  # parsed from decimal: 1e-4, not 1.0000000000000002e-4


def calibration_value(numerator: float, current_lsb: float, shunt_ohms: float) -> int:
    """trunc(numerator / (I_LSB·R)), immune to binary rounding (0.04096/(1e-4·0.1) is 4096, not 4095)."""
    return math.trunc(round(numerator / (current_lsb * shunt_ohms), 6))


@dataclass(frozen=True)
class PowerReading:
    """One INA2xx reading. ``overflow``: the chip flagged OVF; values come from the shunt and are a lower bound."""

    bus_volts: float
    shunt_volts: float
    current_amps: float
    power_watts: float
    overflow: bool = False
    conversion_ready: Optional[bool] = None

    @property
    def watts(self) -> float:
        return self.power_watts


@dataclass(frozen=True)
class INA219Config:
    """The configuration register, field by field."""

    bus_range_32v: bool = True
    pga: int = 3  # 0..3 = ±40/80/160/320 mV
    bus_adc: int = 0b0011
    shunt_adc: int = 0b0011
    mode: int = MODE_SHUNT_BUS_CONTINUOUS

    def __post_init__(self) -> None:
        for name, value, top in (("pga", self.pga, 3), ("bus_adc", self.bus_adc, 15),
                                 ("shunt_adc", self.shunt_adc, 15), ("mode", self.mode, 7)):
            if not isinstance(value, int) or not 0 <= value <= top:
                raise ValueError(f"INA219 config field {name}={value!r} out of range 0..{top}")

    def encode(self) -> int:
        return ((0x2000 if self.bus_range_32v else 0) | self.pga << 11 | self.bus_adc << 7
                | self.shunt_adc << 3 | self.mode)

    @classmethod
    def decode(cls, raw: int) -> "INA219Config":
        return cls(bool(raw & 0x2000), (raw >> 11) & 0x3, (raw >> 7) & 0xF, (raw >> 3) & 0xF, raw & 0x7)


def decode_bus_register(raw: int) -> tuple[float, bool, bool]:
    """Bus register -> (volts, conversion ready, math overflow)."""
    return (raw >> 3) * BUS_LSB_V, bool(raw & 0x2), bool(raw & 0x1)


def _samples_code(samples: int, what: str) -> int:
    try:
        return SAMPLES_TO_ADC[samples]
    except KeyError:
        raise ValueError(f"INA219 {what} {samples!r} must be one of {sorted(SAMPLES_TO_ADC)}") from None


class ShuntMonitor:
    """What the INA219 and INA226 share: config in register 0, calibration in register 5, a RST
    bit, and calibration that a brown-out silently clears (so it is checked after every read)."""

    bus: I2CBus
    address: int
    calibration: int
    config: "INA219Config"

    def init(self) -> None:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def reset(self) -> None:
        """Software reset (RST bit): all registers to power-on values."""
        write_u16(self.bus, self.address, REG_CONFIG, CONFIG_RESET)

    def _check_configuration(self) -> None:
        cal = read_u16(self.bus, self.address, REG_CALIBRATION)
        config = read_u16(self.bus, self.address, REG_CONFIG)
        if cal != self.calibration or config != self.config.encode():
            self.init()
            raise DeviceResetError(f"{self.describe()}: calibration read 0x{cal:04x} (expected 0x{self.calibration:04x}), "
                                   f"config 0x{config:04x} (expected 0x{self.config.encode():04x}): the chip was reset, "
                                   "probably a brown-out; re-initialised")


class INA219(ShuntMonitor):
    """An INA219 at ``address`` on ``bus``, scaled for ``shunt_ohms`` and ``max_current`` amps."""

    chip = "INA219"

    def __init__(self, bus: I2CBus, address: int = 0x40, *, shunt_ohms: float = 0.1, max_current: float = 3.2,
                 current_lsb: Optional[float] = None, bus_range_volts: int = 32,
                 shunt_range_volts: Optional[float] = None, bus_samples: int = 1, shunt_samples: int = 1,
                 calibration_trim: float = 1.0):
        self.bus = bus
        self.address = check_address(address)
        if not shunt_ohms > 0:
            raise ValueError(f"shunt_ohms {shunt_ohms!r} must be positive")
        if not max_current > 0:
            raise ValueError(f"max_current {max_current!r} must be positive")
        if bus_range_volts not in BUS_RANGES_V:
            raise ValueError(f"bus_range_volts {bus_range_volts!r} must be 16 or 32")
        if not 0.5 <= calibration_trim <= 2.0:
            raise ValueError(f"calibration_trim {calibration_trim!r} must be 0.5-2 (meter current / read current)")
        self.shunt_ohms = float(shunt_ohms)
        self.max_current = float(max_current)
        needed = self.max_current * self.shunt_ohms
        if shunt_range_volts is None:
            fitting = [r for r in PGA_RANGES_V if r >= needed * (1 - 1e-9)]
            if not fitting:
                raise ValueError(f"max_current × shunt_ohms = {needed * 1000:.0f} mV exceeds the INA219's 320 mV "
                                 "shunt range: use a smaller shunt")
            shunt_range_volts = fitting[0]
        if shunt_range_volts not in PGA_RANGES_V:
            raise ValueError(f"shunt_range_volts {shunt_range_volts!r} must be one of {PGA_RANGES_V}")
        self.shunt_range_volts = shunt_range_volts
        # The calibration register holds at most CAL_MAX: that puts a floor under the LSB.
        floor = CAL_NUMERATOR * calibration_trim / (CAL_MAX * self.shunt_ohms)
        self.current_lsb = current_lsb if current_lsb is not None else nice_current_lsb(self.max_current, floor)
        if not self.current_lsb >= floor * 0.999999:
            raise ValueError(f"current_lsb {self.current_lsb!r} A is too fine for a {self.shunt_ohms} Ω shunt "
                             f"(calibration would exceed {CAL_MAX}); use at least {floor:.3g} A")
        self.power_lsb = POWER_LSB_RATIO * self.current_lsb
        self.calibration = calibration_value(CAL_NUMERATOR * calibration_trim, self.current_lsb, self.shunt_ohms) & CAL_MAX
        if self.calibration == 0:
            raise ValueError(f"current_lsb {self.current_lsb!r} A is too coarse for a {self.shunt_ohms} Ω shunt")
        self.config = INA219Config(
            bus_range_32v=bus_range_volts == 32,
            pga=PGA_RANGES_V.index(shunt_range_volts),
            bus_adc=_samples_code(bus_samples, "bus_samples"),
            shunt_adc=_samples_code(shunt_samples, "shunt_samples"),
        )

    def describe(self) -> str:
        return f"{self.chip} at 0x{self.address:02x}"

    def init(self) -> None:
        """Write configuration and calibration, then read both back."""
        write_u16(self.bus, self.address, REG_CONFIG, self.config.encode())
        write_u16(self.bus, self.address, REG_CALIBRATION, self.calibration)
        config = read_u16(self.bus, self.address, REG_CONFIG)
        cal = read_u16(self.bus, self.address, REG_CALIBRATION)
        if config != self.config.encode() or cal != self.calibration:
            raise DeviceError(f"{self.describe()}: read back config 0x{config:04x} / calibration 0x{cal:04x}, "
                              f"wrote 0x{self.config.encode():04x} / 0x{self.calibration:04x}: not an INA219, "
                              "or the bus corrupts data")

    def read(self) -> PowerReading:
        """Bus, shunt, current and power in SI units; raises DeviceResetError if the chip lost its calibration."""
        bus_raw = read_u16(self.bus, self.address, REG_BUS)
        shunt_raw = read_s16(self.bus, self.address, REG_SHUNT)
        current_raw = read_s16(self.bus, self.address, REG_CURRENT)
        power_raw = read_u16(self.bus, self.address, REG_POWER)
        self._check_configuration()  # after the data: a reset before or during the reads is caught
        bus_volts, ready, overflow = decode_bus_register(bus_raw)
        shunt_volts = shunt_raw * SHUNT_LSB_V
        if overflow:
            current = shunt_volts / self.shunt_ohms
            return PowerReading(bus_volts, shunt_volts, current, abs(current) * bus_volts, True, ready)
        return PowerReading(bus_volts, shunt_volts, current_raw * self.current_lsb, power_raw * self.power_lsb,
                            False, ready)

    measure = read
