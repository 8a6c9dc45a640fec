"""ADS1115 16-bit ADC driver and the SCT-013 current-clamp meter built on it.

:class:`ADS1115` is the chip: MUX/PGA/data rate/mode in one config register, single-shot
conversions (write OS=1, poll OS until it reads 1, read the result) or continuous ones.
Results are signed 16-bit, MSB first, read with 2-byte block transfers.

:class:`CTClamp` turns the ADC into an on/off appliance meter for a mains cable
(hardware.md §5). A window of at least 0.5 s of continuous conversions is read as fast as
the bus allows (≈820 samples/s on a Pi at 860 SPS), each sample stamped with the injected
monotonic clock; 860 SPS is not phase-locked to 50/60 Hz, so only whole windows of many
cycles give a stable RMS. A window with a pause between samples longer than ``max_gap_s``
(the process was preempted) or too few samples is dropped (:class:`WindowDropped`), never
half-used. The offset (the CT's mid-rail bias) is removed with the window mean, then
``I_rms = ct_ratio·V_rms/R_burden`` and ``watts = I_rms·mains_volts`` (apparent power: no
voltage is measured). Below ``min_current`` (≈0.25 A, where noise and pick-up dominate an
SCT-013) the reading is reported as 0 W ("off or unknown"), never as a small load.

The config is rewritten at the start of every window (so a brown-out before it heals
itself and several clamps may share one ADC on different MUX inputs) and read back after
it: a reset during the window drops the window with :class:`DeviceResetError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

from .i2c import DeviceError, DeviceResetError, I2CBus, ReadingSkipped, check_address, read_s16, read_u16, write_u16

REG_CONVERSION, REG_CONFIG, REG_LO_THRESH, REG_HI_THRESH = range(4)
CONFIG_POR = 0x8583
OS_BIT = 0x8000
MODE_SINGLE_SHOT = 0x0100
COMP_QUEUE_DISABLED = 0b11

MUX_AIN0_AIN1, MUX_AIN0_AIN3, MUX_AIN1_AIN3, MUX_AIN2_AIN3, MUX_AIN0, MUX_AIN1, MUX_AIN2, MUX_AIN3 = range(8)
MUX_NAMES = ("AIN0-AIN1", "AIN0-AIN3", "AIN1-AIN3", "AIN2-AIN3", "AIN0", "AIN1", "AIN2", "AIN3")
PGA_FULL_SCALE_V = (6.144, 4.096, 2.048, 1.024, 0.512, 0.256)
DATA_RATES = (8, 16, 32, 64, 128, 250, 475, 860)
CODE_MAX, CODE_MIN = 0x7FFF, -0x8000


@dataclass(frozen=True)
class ADS1115Config:
    """The config register's fields (codes as in the datasheet); comparator bits kept verbatim."""

    mux: int = MUX_AIN0_AIN1
    pga: int = 2  # ±2.048 V
    single_shot: bool = True
    data_rate: int = 4  # 128 SPS
    comparator: int = COMP_QUEUE_DISABLED  # bits 4..0: COMP_MODE, COMP_POL, COMP_LAT, COMP_QUE

    def __post_init__(self) -> None:
        for name, top in (("mux", 7), ("pga", 7), ("data_rate", 7), ("comparator", 31)):
            value = getattr(self, name)
            if not isinstance(value, int) or not 0 <= value <= top:
                raise ValueError(f"ADS1115 config field {name}={value!r} out of range 0..{top}")

    def encode(self, start: bool = False) -> int:
        return ((OS_BIT if start else 0) | self.mux << 12 | self.pga << 9
                | (MODE_SINGLE_SHOT if self.single_shot else 0) | self.data_rate << 5 | self.comparator)

    @classmethod
    def decode(cls, raw: int) -> "ADS1115Config":
        return cls((raw >> 12) & 0x7, (raw >> 9) & 0x7, bool(raw & MODE_SINGLE_SHOT), (raw >> 5) & 0x7, raw & 0x1F)

    @property
    def full_scale_volts(self) -> float:
        return PGA_FULL_SCALE_V[min(self.pga, 5)]

    @property
    def samples_per_second(self) -> int:
        return DATA_RATES[self.data_rate]


class ADS1115:
    """An ADS1115 at ``address`` on ``bus`` reading ``mux`` at ±``full_scale_volts`` and ``data_rate`` SPS."""

    chip = "ADS1115"

    def __init__(self, bus: I2CBus, address: int = 0x48, *, mux: int = MUX_AIN0_AIN1, full_scale_volts: float = 2.048,
                 data_rate: int = 860, continuous: bool = True):
        self.bus = bus
        self.address = check_address(address)
        if full_scale_volts not in PGA_FULL_SCALE_V:
            raise ValueError(f"full_scale_volts {full_scale_volts!r} must be one of {PGA_FULL_SCALE_V}")
        if data_rate not in DATA_RATES:
            raise ValueError(f"data_rate {data_rate!r} must be one of {DATA_RATES}")
        if mux not in range(8):
            raise ValueError(f"mux {mux!r} must be 0-7 ({', '.join(MUX_NAMES)})")
        self.config = ADS1115Config(mux=mux, pga=PGA_FULL_SCALE_V.index(full_scale_volts),
                                    single_shot=not continuous, data_rate=DATA_RATES.index(data_rate))
        self.lsb_volts = full_scale_volts / 32768.0

    @property
    def data_rate(self) -> int:
        return self.config.samples_per_second

    def describe(self) -> str:
        return f"{self.chip} at 0x{self.address:02x} ({MUX_NAMES[self.config.mux]})"

    def init(self) -> None:
        """Write the config (starting continuous conversions if so configured) and verify it reads back."""
        write_u16(self.bus, self.address, REG_CONFIG, self.config.encode())
        if not self.config_intact():
            raise DeviceError(f"{self.describe()}: config does not read back as written "
                              f"(0x{self.config.encode():04x}): not an ADS1115, or the bus corrupts data")

    def config_intact(self) -> bool:
        """Whether the chip still holds our config (a reset returns it to 0x8583)."""
        raw = read_u16(self.bus, self.address, REG_CONFIG)
        return raw & ~OS_BIT == self.config.encode()

    def start_conversion(self) -> None:
        """Single-shot: begin one conversion (it takes 1/data_rate)."""
        if not self.config.single_shot:
            raise ValueError(f"{self.describe()} is configured for continuous conversions (continuous=False for single-shot)")
        write_u16(self.bus, self.address, REG_CONFIG, self.config.encode(start=True))

    def conversion_ready(self) -> bool:
        """Single-shot: OS reads 1 when no conversion is in progress."""
        return bool(read_u16(self.bus, self.address, REG_CONFIG) & OS_BIT)

    def read_raw(self) -> int:
        return read_s16(self.bus, self.address, REG_CONVERSION)

    def read_volts(self) -> float:
        return self.read_raw() * self.lsb_volts

    def read_single(self, max_polls: int = 100) -> float:
        """One single-shot conversion in volts; DeviceError if OS never reports it done."""
        self.start_conversion()
        for _ in range(max_polls):
            if self.conversion_ready():
                return self.read_volts()
        raise DeviceError(f"{self.describe()}: conversion not ready after {max_polls} polls")


class WindowDropped(ReadingSkipped):
    """The RMS window had a gap or too few samples; it was discarded, not half-used."""


class RmsWindow:
    """Accumulates timestamped ADC codes; RMS about the window mean (Welford, so no sample list)."""

    def __init__(self) -> None:
        self.count = 0
        self._mean = 0.0
        self._m2 = 0.0
        self.first_time: Optional[float] = None
        self.last_time: Optional[float] = None
        self.max_gap = 0.0
        self.clipped = False

    def add(self, t: float, value: float) -> None:
        if self.last_time is not None:
            gap = t - self.last_time
            if gap < 0:
                raise ValueError(f"sample time went backwards ({self.last_time} -> {t}): use a monotonic clock")
            self.max_gap = max(self.max_gap, gap)
        else:
            self.first_time = t
        self.last_time = t
        self.count += 1
        delta = value - self._mean
        self._mean += delta / self.count
        self._m2 += delta * (value - self._mean)

    @property
    def span(self) -> float:
        return 0.0 if self.first_time is None else self.last_time - self.first_time

    @property
    def mean(self) -> float:
        return self._mean

    @property
    def rms(self) -> float:
        """Root mean square of the samples with the window mean (the DC offset) removed."""
        return math.sqrt(self._m2 / self.count) if self.count else 0.0


@dataclass(frozen=True)
class CTReading:
    """One RMS window. ``watts`` is 0 when the current is below the clamp's noise floor."""

    amps_rms: float
    watts: float
    volts_rms: float
    offset_volts: float
    samples: int
    seconds: float
    clipped: bool
    below_floor: bool

    @property
    def overflow(self) -> bool:
        """Samples hit the ADC's full scale: the current is at least this, not exactly this."""
        return self.clipped


def ct_full_scale_volts(max_current: float, ct_ratio: float, burden_ohms: float) -> float:
    """The smallest PGA range that holds the burden voltage's peak at ``max_current`` amps RMS."""
    peak = max_current * math.sqrt(2.0) / ct_ratio * burden_ohms
    fitting = [fs for fs in PGA_FULL_SCALE_V if fs >= peak * (1 - 1e-9)]
    if not fitting:
        raise ValueError(f"burden peak {peak:.2f} V at {max_current} A exceeds the ADS1115's ±6.144 V: "
                         "use a smaller burden resistor")
    return min(fitting)


class CTClamp:
    """An SCT-013 current clamp on an ADS1115: RMS current and watts over whole windows."""

    chip = "ADS1115+CT"

    def __init__(self, adc: ADS1115, *, burden_ohms: float, mains_volts: float, monotonic: Callable[[], float],
                 ct_ratio: float = 2000.0, window_s: float = 0.5, min_current: float = 0.25,
                 max_gap_s: float = 0.05, min_samples: int = 20, max_reads_per_second: float = 20000.0):
        if not burden_ohms > 0:
            raise ValueError(f"burden_ohms {burden_ohms!r} must be positive")
        if not ct_ratio > 0:
            raise ValueError(f"ct_ratio {ct_ratio!r} must be positive")
        if not mains_volts > 0:
            raise ValueError(f"mains_volts {mains_volts!r} must be positive")
        if not window_s >= 0.5:
            raise ValueError(f"window_s {window_s!r} must be at least 0.5 s: shorter windows alias 50/60 Hz")
        if not max_gap_s > 0:
            raise ValueError(f"max_gap_s {max_gap_s!r} must be positive")
        if min_current < 0:
            raise ValueError(f"min_current {min_current!r} cannot be negative")
        if adc.config.single_shot:
            raise ValueError("the CT clamp needs the ADS1115 in continuous mode")
        self.adc = adc
        self.burden_ohms = float(burden_ohms)
        self.ct_ratio = float(ct_ratio)
        self.mains_volts = float(mains_volts)
        self.monotonic = monotonic
        self.window_s = float(window_s)
        self.min_current = float(min_current)
        self.max_gap_s = float(max_gap_s)
        self.min_samples = int(min_samples)
        self.max_reads = int(window_s * max_reads_per_second) + 100

    @property
    def bus(self) -> I2CBus:
        return self.adc.bus

    def describe(self) -> str:
        return f"{self.adc.describe()} with CT 1:{self.ct_ratio:g}, {self.burden_ohms:g} Ω burden"

    def init(self) -> None:
        self.adc.init()

    def amps_from_volts(self, volts_rms: float) -> float:
        return self.ct_ratio * volts_rms / self.burden_ohms

    def sample_window(self) -> RmsWindow:
        """Restart conversions and read them for ``window_s``, stamping each sample as it arrives."""
        adc = self.adc
        write_u16(adc.bus, adc.address, REG_CONFIG, adc.config.encode())
        settle = self.monotonic() + 1.5 / adc.data_rate  # the first result of the new config
        window = RmsWindow()
        for _ in range(self.max_reads):
            code = adc.read_raw()
            t = self.monotonic()
            if t < settle:
                continue
            if code >= CODE_MAX or code <= CODE_MIN:
                window.clipped = True
            window.add(t, code)
            if window.span >= self.window_s:
                return window
        raise DeviceError(f"{self.describe()}: {self.max_reads} reads without {self.window_s} s passing "
                          "on the sample clock")

    def measure(self) -> CTReading:
        window = self.sample_window()
        if not self.adc.config_intact():
            self.adc.init()
            raise DeviceResetError(f"{self.adc.describe()}: config lost during the window (reset or brown-out); "
                                   "re-initialised")
        if window.max_gap > self.max_gap_s:
            raise WindowDropped(f"{self.adc.describe()}: {window.max_gap * 1000:.0f} ms pause between samples "
                                f"(limit {self.max_gap_s * 1000:.0f} ms); window dropped")
        if window.count < self.min_samples:
            raise WindowDropped(f"{self.adc.describe()}: only {window.count} samples in {window.span:.2f} s "
                                f"(need {self.min_samples}); window dropped")
        volts_rms = window.rms * self.adc.lsb_volts
        amps = self.amps_from_volts(volts_rms)
        below = amps < self.min_current
        watts = 0.0 if below else amps * self.mains_volts
        return CTReading(amps, watts, volts_rms, window.mean * self.adc.lsb_volts, window.count, window.span,
                         window.clipped, below)
