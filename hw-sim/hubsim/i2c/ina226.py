"""INA226 register model (TI SBOS547): registers from shunt current and bus voltage on a virtual clock.

Differences from the INA219 that drivers must get right: shunt LSB 2.5 µV (±81.92 mV),
bus LSB 1.25 mV with no flag bits, Current = Shunt·Cal/2048, Power = Current·Bus/20000
(LSB 25·I_LSB), a 15-bit calibration, and flags in Mask/Enable (06h): CVRF (0008h) set
when a conversion completes and cleared by reading Mask/Enable, OVF (0004h) on
arithmetic overflow. ID registers: FEh = 5449h ("TI"), FFh = 2260h.
Update period = (t_bus + t_shunt) × averages.
"""

from __future__ import annotations

import math
from typing import Callable

from .bus import RegisterDevice, clamp, value_at

REG_CONFIG, REG_SHUNT, REG_BUS, REG_POWER, REG_CURRENT, REG_CALIBRATION, REG_MASK_ENABLE, REG_ALERT_LIMIT = range(8)
REG_MANUFACTURER_ID, REG_DIE_ID = 0xFE, 0xFF
MANUFACTURER_ID, DIE_ID = 0x5449, 0x2260
CONFIG_POR = 0x4127
SHUNT_LSB_V = 2.5e-6
BUS_LSB_V = 1.25e-3
AVERAGES = (1, 4, 16, 64, 128, 256, 512, 1024)
CONVERSION_S = (140e-6, 204e-6, 332e-6, 588e-6, 1100e-6, 2116e-6, 4156e-6, 8244e-6)
ME_CVRF, ME_OVF = 0x0008, 0x0004
ME_WRITABLE = 0xFC03  # enable bits and APOL/LEN; flags are read-only


class INA226Sim(RegisterDevice):
    def __init__(self, now: Callable[[], float], shunt_ohms: float = 0.002, current=0.0, bus_volts=12.0,
                 die_id: int = DIE_ID, manufacturer_id: int = MANUFACTURER_ID):
        super().__init__()
        self.now = now
        self.shunt_ohms = shunt_ohms
        self.current = current
        self.bus_volts = bus_volts
        self.die_id = die_id
        self.manufacturer_id = manufacturer_id
        self.config_writes = 0
        self.calibration_writes = 0
        self.power_on_reset()

    def power_on_reset(self) -> None:
        self.pointer = 0
        self.config = CONFIG_POR
        self.calibration = 0
        self.mask_enable = 0
        self.alert_limit = 0
        self.shunt_code = 0
        self.bus_code = 0
        self.cvrf = False
        self.math_ovf = False
        self._start = self.now()
        self._seen = 0

    @property
    def mode(self) -> int:
        return self.config & 0x7

    @property
    def update_seconds(self) -> float:
        avg = AVERAGES[(self.config >> 9) & 0x7]
        t_bus = CONVERSION_S[(self.config >> 6) & 0x7]
        t_shunt = CONVERSION_S[(self.config >> 3) & 0x7]
        return (t_bus + t_shunt) * avg

    def _update(self) -> None:
        mode = self.mode
        if mode in (0, 4):
            return
        period = self.update_seconds
        n = int((self.now() - self._start) / period + 1e-9)
        if mode in (1, 2, 3):
            n = min(n, 1)
        if n <= self._seen:
            return
        self._seen = n
        t_done = self._start + n * period
        self.cvrf = True
        shunt_overflow = False
        if mode & 1:
            v = value_at(self.current, t_done) * self.shunt_ohms
            self.shunt_code, shunt_overflow = clamp(round(v / SHUNT_LSB_V), -0x8000, 0x7FFF)
        if mode & 2:
            self.bus_code, _ = clamp(round(value_at(self.bus_volts, t_done) / BUS_LSB_V), 0, 0x7FFF)
        self.math_ovf = shunt_overflow or self._compute()[2]

    def _compute(self) -> tuple[int, int, bool]:
        if self.calibration == 0:
            return 0, 0, False
        current, c_ovf = clamp(math.trunc(self.shunt_code * self.calibration / 2048), -0x8000, 0x7FFF)
        power, p_ovf = clamp(math.trunc(abs(current) * self.bus_code / 20000), 0, 0xFFFF)
        return current, power, c_ovf or p_ovf

    def read_register(self, reg: int) -> int:
        self._update()
        if reg == REG_CONFIG:
            return self.config | 0x4000  # bit 14 always reads 1
        if reg == REG_SHUNT:
            return self.shunt_code & 0xFFFF
        if reg == REG_BUS:
            return self.bus_code
        if reg == REG_POWER:
            return self._compute()[1]
        if reg == REG_CURRENT:
            return self._compute()[0] & 0xFFFF
        if reg == REG_CALIBRATION:
            return self.calibration
        if reg == REG_MASK_ENABLE:
            value = self.mask_enable | (ME_CVRF if self.cvrf else 0) | (ME_OVF if self.math_ovf else 0)
            self.cvrf = False  # reading Mask/Enable clears the conversion-ready flag
            return value
        if reg == REG_ALERT_LIMIT:
            return self.alert_limit
        if reg == REG_MANUFACTURER_ID:
            return self.manufacturer_id
        if reg == REG_DIE_ID:
            return self.die_id
        return 0x0000

    def write_register(self, reg: int, value: int) -> None:
        if reg == REG_CONFIG:
            self.config_writes += 1
            if value & 0x8000:
                self.power_on_reset()
                return
            self._update()
            self.config = (value & 0x0FFF) | 0x4000
            self._start = self.now()
            self._seen = 0
        elif reg == REG_CALIBRATION:
            self.calibration_writes += 1
            self.calibration = value & 0x7FFF  # bit 15 is reserved
        elif reg == REG_MASK_ENABLE:
            self.mask_enable = value & ME_WRITABLE
        elif reg == REG_ALERT_LIMIT:
            self.alert_limit = value
