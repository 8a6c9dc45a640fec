"""INA226 DC current/power monitor driver (TI SBOS547), over the :mod:`hubd.sensors.i2c` seam.

Shunt 2.5 µV/LSB (±81.92 mV), bus 1.25 mV/LSB, Current = Shunt·Cal/2048 with
Cal = trunc(0.00512/(I_LSB·R_shunt)) (15 bits), Power = Current·Bus/20000 read at
25·I_LSB per bit. Averaging (1…1024) and the bus/shunt conversion times (140 µs…8.244 ms)
are configurable; the chip updates every (t_bus + t_shunt)·averages.

The chip is identified by its ID registers (FEh = 5449h "TI", FFh = 226xh) before it is
configured, so a wrong part or address gives a clear :class:`WrongDeviceError` instead of
plausible-looking numbers. Like the INA219, calibration is volatile: every read checks
Cal and Config and re-initialises after a reset (:class:`DeviceResetError`). OVF and CVRF
live in Mask/Enable (06h); reading it clears CVRF.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .i2c import (DeviceError, DeviceResetError, I2CBus, WrongDeviceError, check_address, read_s16, read_u16,
                  write_u16)
from .ina219 import PowerReading, ShuntMonitor, calibration_value, nice_current_lsb

REG_CONFIG, REG_SHUNT, REG_BUS, REG_POWER, REG_CURRENT, REG_CALIBRATION, REG_MASK_ENABLE, REG_ALERT_LIMIT = range(8)
REG_MANUFACTURER_ID, REG_DIE_ID = 0xFE, 0xFF
MANUFACTURER_ID = 0x5449  # "TI"
DIE_ID = 0x226  # DID bits 15..4; bits 3..0 are the die revision
CONFIG_RESET = 0x8000
CONFIG_POR = 0x4127
CONFIG_ALWAYS_ONE = 0x4000  # bit 14 reads 1
SHUNT_LSB_V = 2.5e-6
BUS_LSB_V = 1.25e-3
CAL_NUMERATOR = 0.00512
POWER_LSB_RATIO = 25
CAL_MAX = 0x7FFF
AVERAGES = (1, 4, 16, 64, 128, 256, 512, 1024)
CONVERSION_TIMES_US = (140, 204, 332, 588, 1100, 2116, 4156, 8244)
MODE_SHUNT_BUS_CONTINUOUS = 0b111
ME_CVRF = 0x0008
ME_OVF = 0x0004


@dataclass(frozen=True)
class INA226Config:
    """The configuration register, field by field (codes, as in the datasheet)."""

    avg: int = 2  # 16 averages
    vbusct: int = 4  # 1.1 ms
    vshct: int = 4  # 1.1 ms
    mode: int = MODE_SHUNT_BUS_CONTINUOUS

    def __post_init__(self) -> None:
        for name in ("avg", "vbusct", "vshct", "mode"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 0 <= value <= 7:
                raise ValueError(f"INA226 config field {name}={value!r} out of range 0..7")

    def encode(self) -> int:
        return CONFIG_ALWAYS_ONE | self.avg << 9 | self.vbusct << 6 | self.vshct << 3 | self.mode

    @classmethod
    def decode(cls, raw: int) -> "INA226Config":
        return cls((raw >> 9) & 0x7, (raw >> 6) & 0x7, (raw >> 3) & 0x7, raw & 0x7)

    @property
    def update_seconds(self) -> float:
        return (CONVERSION_TIMES_US[self.vbusct] + CONVERSION_TIMES_US[self.vshct]) * AVERAGES[self.avg] * 1e-6


def _code(value: int, table: tuple[int, ...], what: str) -> int:
    try:
        return table.index(value)
    except ValueError:
        raise ValueError(f"INA226 {what} {value!r} must be one of {list(table)}") from None


class INA226(ShuntMonitor):
    """An INA226 at ``address`` on ``bus``, scaled for ``shunt_ohms`` and ``max_current`` amps."""

    chip = "INA226"

    def __init__(self, bus: I2CBus, address: int = 0x40, *, shunt_ohms: float = 0.002, max_current: float = 10.0,
                 current_lsb: Optional[float] = None, averages: int = 16, bus_conversion_us: int = 1100,
                 shunt_conversion_us: int = 1100, calibration_trim: float = 1.0):
        self.bus = bus
        self.address = check_address(address)
        if not shunt_ohms > 0:
            raise ValueError(f"shunt_ohms {shunt_ohms!r} must be positive")
        if not max_current > 0:
            raise ValueError(f"max_current {max_current!r} must be positive")
        if max_current * shunt_ohms > 0.08192 * (1 + 1e-9):
            raise ValueError(f"max_current × shunt_ohms = {max_current * shunt_ohms * 1000:.1f} mV exceeds the "
                             "INA226's 81.92 mV shunt range: use a smaller shunt")
        if not 0.5 <= calibration_trim <= 2.0:
            raise ValueError(f"calibration_trim {calibration_trim!r} must be 0.5-2 (meter current / read current)")
        self.shunt_ohms = float(shunt_ohms)
        self.max_current = float(max_current)
        floor = CAL_NUMERATOR * calibration_trim / (CAL_MAX * self.shunt_ohms)
        self.current_lsb = current_lsb if current_lsb is not None else nice_current_lsb(self.max_current, floor)
        if not self.current_lsb >= floor * 0.999999:
            raise ValueError(f"current_lsb {self.current_lsb!r} A is too fine for a {self.shunt_ohms} Ω shunt "
                             f"(calibration would exceed {CAL_MAX}); use at least {floor:.3g} A")
        self.power_lsb = POWER_LSB_RATIO * self.current_lsb
        self.calibration = calibration_value(CAL_NUMERATOR * calibration_trim, self.current_lsb, self.shunt_ohms)
        if self.calibration == 0:
            raise ValueError(f"current_lsb {self.current_lsb!r} A is too coarse for a {self.shunt_ohms} Ω shunt")
        self.config = INA226Config(
            avg=_code(averages, AVERAGES, "averages"),
            vbusct=_code(bus_conversion_us, CONVERSION_TIMES_US, "bus_conversion_us"),
            vshct=_code(shunt_conversion_us, CONVERSION_TIMES_US, "shunt_conversion_us"),
        )

    def describe(self) -> str:
        return f"{self.chip} at 0x{self.address:02x}"

    def identify(self) -> None:
        """Check the ID registers; raise WrongDeviceError naming what answered instead."""
        manufacturer = read_u16(self.bus, self.address, REG_MANUFACTURER_ID)
        die = read_u16(self.bus, self.address, REG_DIE_ID)
        if manufacturer != MANUFACTURER_ID or die >> 4 != DIE_ID:
            hint = " (an INA219 has no ID registers: is chip = 'ina219'?)" if manufacturer in (0, 0xFFFF) else ""
            raise WrongDeviceError(f"device at 0x{self.address:02x} is not an INA226: manufacturer ID 0x{manufacturer:04x} "
                                   f"(expected 0x{MANUFACTURER_ID:04x}), die ID 0x{die:04x} (expected 0x{DIE_ID:03x}x)"
                                   f"{hint}")

    def init(self) -> None:
        """Identify the chip, write configuration and calibration, read both back."""
        self.identify()
        write_u16(self.bus, self.address, REG_CONFIG, self.config.encode())
        write_u16(self.bus, self.address, REG_CALIBRATION, self.calibration)
        config = read_u16(self.bus, self.address, REG_CONFIG)
        cal = read_u16(self.bus, self.address, REG_CALIBRATION)
        if config != self.config.encode() or cal != self.calibration:
            raise DeviceError(f"{self.describe()}: read back config 0x{config:04x} / calibration 0x{cal:04x}, "
                              f"wrote 0x{self.config.encode():04x} / 0x{self.calibration:04x}: the bus corrupts data")

    def read(self) -> PowerReading:
        """Bus, shunt, current and power in SI units; raises DeviceResetError if the chip lost its calibration."""
        flags = read_u16(self.bus, self.address, REG_MASK_ENABLE)
        bus_raw = read_u16(self.bus, self.address, REG_BUS)
        shunt_raw = read_s16(self.bus, self.address, REG_SHUNT)
        current_raw = read_s16(self.bus, self.address, REG_CURRENT)
        power_raw = read_u16(self.bus, self.address, REG_POWER)
        self._check_configuration()
        bus_volts = bus_raw * BUS_LSB_V
        shunt_volts = shunt_raw * SHUNT_LSB_V
        ready = bool(flags & ME_CVRF)
        if flags & ME_OVF:
            current = shunt_volts / self.shunt_ohms
            return PowerReading(bus_volts, shunt_volts, current, abs(current) * bus_volts, True, ready)
        return PowerReading(bus_volts, shunt_volts, current_raw * self.current_lsb, power_raw * self.power_lsb,
                            False, ready)

    measure = read
