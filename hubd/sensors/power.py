"""PowerSensor: supervises one power chip so that its faults become health, never exceptions.

:meth:`PowerSensor.poll` reads the chip if due and returns a :class:`PowerSample` or ``None``;
it never raises. It takes the monotonic time (no clock is read and nothing sleeps here), but
the I2C transfers themselves block (an ADS1115 CT window takes half a second), so the daemon
splits a poll in three: :meth:`~PowerSensor.begin` on its loop says whether a read is due and
what it must do first, :meth:`~PowerSensor.read` runs in the I/O thread and only talks to the
chip, returning a :class:`PollOutcome`, and :meth:`~PowerSensor.finish` back on the loop does
the supervision below. ``poll`` is the three in a row. Only ``read`` touches the meter and its
bus, and only ``begin``/``finish`` touch the supervision state.

Recovery follows hardware.md §6: an immediate retry for transient errors (NACK, timeout,
EIO), then exponential back-off between attempts; after any failure the chip is
re-initialised (config + calibration) before the next read; after ``reopen_after``
consecutive failures, or at once when the adapter vanished (ENODEV/EBADF), the bus file is
reopened. Health goes OK → DEGRADED at the first failed poll → FAILED once no good reading
has come for ``fail_after_s``; each change is queued as a :class:`HealthChange` (drain them
with :meth:`take_health_changes`). A change into FAILED ``raises_alert`` — the daemon turns
it into a ``system``/``sensor_fault`` alert naming the sensor — and the change back to OK
``clears_alert``. Error logs are rate-limited per kind of error.

A chip reset that the driver already repaired, or a dropped RMS window, costs one sample
(:class:`~hubd.sensors.i2c.ReadingSkipped`); only repeated ones degrade health.
"""

from __future__ import annotations

import enum
import logging
import math
from dataclasses import dataclass
from typing import Any, Callable, Optional, Protocol

from .ads1115 import ADS1115, MUX_AIN0_AIN1, CTClamp, ct_full_scale_volts
from .appliance import AUTONOMOUS, ApplianceClassifier, ApplianceConfig
from .i2c import REOPEN_ERRNOS, TRANSIENT_ERRNOS, DeviceResetError, I2CBus, ReadingSkipped, describe_errno
from .ina219 import INA219
from .ina226 import INA226
from .ratelog import RateLimitedLog

log = logging.getLogger(__name__)

ALERT_TYPE = "sensor_fault"
ALERT_CATEGORY = "system"
CHIPS = ("ina219", "ina226", "ads1115")


class Health(str, enum.Enum):
    OK = "ok"
    DEGRADED = "degraded"
    FAILED = "failed"


@dataclass(frozen=True)
class HealthChange:
    """A sensor's health moved from ``old`` to ``new`` at monotonic ``mono``; ``reason`` says why."""

    sensor: str
    mono: float
    old: Health
    new: Health
    reason: str
    alert_type: str = ALERT_TYPE
    category: str = ALERT_CATEGORY

    @property
    def raises_alert(self) -> bool:
        return self.new is Health.FAILED and self.old is not Health.FAILED

    @property
    def clears_alert(self) -> bool:
        return self.old is Health.FAILED and self.new is not Health.FAILED


@dataclass(frozen=True)
class PowerSample:
    """Watts drawn at monotonic ``mono``; ``overflow``: beyond the chip's range, so at least this much."""

    sensor: str
    mono: float
    watts: float
    overflow: bool = False


class Reading(Protocol):
    watts: float

    @property
    def overflow(self) -> bool: ...


class PowerMeter(Protocol):
    """What PowerSensor needs from a driver: INA219, INA226 and CTClamp all fit."""

    chip: str

    @property
    def bus(self) -> I2CBus: ...

    def describe(self) -> str: ...

    def init(self) -> None: ...

    def measure(self) -> Reading: ...


@dataclass(frozen=True)
class PollPlan:
    """What a due read must do, decided on the loop: reopen the bus file, re-initialise the chip."""

    reopen: bool
    init: bool
    attempts: int  # 1 + immediate retries for transient errors


@dataclass(frozen=True)
class PollOutcome:
    """What the I/O thread hands back: a reading, a skipped one, or the last error; and what it did."""

    reading: Optional[Reading] = None
    skipped: Optional[ReadingSkipped] = None
    error: Optional[BaseException] = None
    attempts: int = 1
    reopens: int = 0
    inits: int = 0
    reopen_pending: bool = False  # a reopen was due and did not succeed
    needs_init: bool = False  # the chip must be (re-)initialised before the next read


@dataclass
class PowerSensorStats:
    polls: int = 0
    samples: int = 0
    faults: int = 0
    retries: int = 0
    reopens: int = 0
    inits: int = 0
    resets: int = 0
    skipped: int = 0
    overflows: int = 0
    last_error: Optional[str] = None


def describe_error(exc: BaseException) -> str:
    """One line a technician can act on."""
    if isinstance(exc, OSError) and exc.errno is not None:
        text = str(exc)
        meaning = describe_errno(exc.errno)
        return text if meaning in text else f"[errno {exc.errno}] {meaning}: {text}"
    return f"{type(exc).__name__}: {exc}"


def _error_key(exc: BaseException) -> Any:
    return ("errno", exc.errno) if isinstance(exc, OSError) else type(exc).__name__


class PowerSensor:
    """One power chip under supervision: samples when it works, health transitions when it does not."""

    def __init__(self, name: str, meter: PowerMeter, *, fail_after_s: float = 120.0, retries: int = 1,
                 backoff_initial_s: float = 2.0, backoff_max_s: float = 60.0, reopen_after: int = 2,
                 log_interval_s: float = 300.0, logger: Optional[logging.Logger] = None):
        if not fail_after_s > 0:
            raise ValueError(f"fail_after_s {fail_after_s!r} must be positive")
        if retries < 0 or reopen_after < 1:
            raise ValueError("retries must be >= 0 and reopen_after >= 1")
        if not 0 < backoff_initial_s <= backoff_max_s:
            raise ValueError("need 0 < backoff_initial_s <= backoff_max_s")
        self.name = name
        self.meter = meter
        self.fail_after_s = float(fail_after_s)
        self.retries = int(retries)
        self.backoff_initial_s = float(backoff_initial_s)
        self.backoff_max_s = float(backoff_max_s)
        self.reopen_after = int(reopen_after)
        self.stats = PowerSensorStats()
        self.health = Health.OK
        self.health_since: Optional[float] = None
        self.last_sample: Optional[PowerSample] = None
        self._log = RateLimitedLog(logger or log, log_interval_s)
        self._changes: list[HealthChange] = []
        self._needs_init = True
        self._reopen_pending = False
        self._failures = 0  # consecutive polls that ended in a fault
        self._skips = 0  # consecutive polls that produced no sample for a benign reason
        self._bad_since: Optional[float] = None  # first poll without a sample in the current bad streak
        self._next_attempt = -math.inf

    def __repr__(self) -> str:
        return f"PowerSensor({self.name!r}, {self.meter.describe()}, {self.health.value})"

    # -- the daemon's interface -------------------------------------------------------------------
    def poll(self, now: float) -> Optional[PowerSample]:
        """Read the chip if due; a sample, or None while it is failing or backing off. Never raises."""
        plan = self.begin(now)
        if plan is None:
            return None
        return self.finish(now, self.read(plan))

    def begin(self, now: float) -> Optional[PollPlan]:
        """On the loop: the read to make now, or None (backing off; the failure clock still runs)."""
        self.stats.polls += 1
        try:
            if now < self._next_attempt:
                self._check_failed(now)
                return None
        except Exception as exc:  # a bug here must not take the alarm path down with it
            self._fault(now, exc)
            return None
        return PollPlan(self._reopen_pending, self._needs_init, 1 + self.retries)

    def read(self, plan: PollPlan) -> PollOutcome:
        """In the I/O thread: talk to the chip as ``plan`` says; touches the meter and its bus only. Never raises.

        Transient errors (NACK, timeout, EIO) are retried at once, up to ``plan.attempts``; a
        failed reopen or init is tried again on the next attempt.
        """
        reopen, init = plan.reopen, plan.init
        reopens = inits = 0
        error: Optional[BaseException] = None
        attempt = 0
        for attempt in range(1, plan.attempts + 1):
            try:
                if reopen:
                    reopens += 1
                    reopen_bus: Optional[Callable[[], None]] = getattr(self.meter.bus, "reopen", None)
                    if reopen_bus is not None:
                        reopen_bus()
                    reopen = False
                if init:
                    inits += 1
                    self.meter.init()
                    init = False
                reading = self.meter.measure()
                if not math.isfinite(reading.watts):
                    raise ValueError(f"{self.meter.describe()} returned a non-finite power {reading.watts!r}")
            except ReadingSkipped as exc:
                return PollOutcome(skipped=exc, attempts=attempt, reopens=reopens, inits=inits,
                                   reopen_pending=reopen, needs_init=init)
            except Exception as exc:  # a driver bug is a fault of this chip, not of the thread
                init = True
                error = exc
                if not (isinstance(exc, OSError) and exc.errno in TRANSIENT_ERRNOS):
                    break
                continue
            return PollOutcome(reading=reading, attempts=attempt, reopens=reopens, inits=inits,
                               reopen_pending=reopen, needs_init=init)
        return PollOutcome(error=error, attempts=attempt, reopens=reopens, inits=inits, reopen_pending=reopen,
                           needs_init=True)

    def finish(self, now: float, outcome: PollOutcome) -> Optional[PowerSample]:
        """On the loop: account for what ``read`` did at ``now`` (when it began) and supervise. Never raises."""
        try:
            self.stats.retries += max(0, outcome.attempts - 1)
            self.stats.reopens += outcome.reopens
            self.stats.inits += outcome.inits
            self._reopen_pending = outcome.reopen_pending
            self._needs_init = outcome.needs_init
            if outcome.skipped is not None:
                self._skipped(now, outcome.skipped)
                return None
            if outcome.reading is None:
                self._fault(now, outcome.error or RuntimeError("the read returned nothing"))
                return None
            return self._success(now, outcome.reading)
        except Exception as exc:  # a driver bug must not take the alarm path down with it
            self._fault(now, exc)
            return None

    def take_health_changes(self) -> list[HealthChange]:
        changes, self._changes = self._changes, []
        return changes

    def status(self) -> dict[str, Any]:
        """For ``hubctl sensors``."""
        last = self.last_sample
        return {
            "sensor": self.name,
            "device": self.meter.describe(),
            "health": self.health.value,
            "health_since": self.health_since,
            "last_error": self.stats.last_error,
            "last_watts": None if last is None else last.watts,
            "last_sample_mono": None if last is None else last.mono,
            "stats": dict(self.stats.__dict__),
        }

    # -- internals --------------------------------------------------------------------------------
    def _success(self, now: float, reading: Reading) -> PowerSample:
        recovered_from = self._bad_since
        self._failures = 0
        self._skips = 0
        self._bad_since = None
        self._next_attempt = -math.inf
        overflow = bool(reading.overflow)
        if overflow:
            self.stats.overflows += 1
            self._log.log(now, "overflow", logging.WARNING,
                          f"power sensor {self.name!r} ({self.meter.describe()}): reading beyond the chip's range "
                          f"(at least {reading.watts:.0f} W); raise max_current / check the shunt or burden")
        if self.health is not Health.OK:
            down = now - recovered_from if recovered_from is not None else 0.0
            self._set_health(now, Health.OK, f"readings resumed after {down:.0f} s")
        sample = PowerSample(self.name, now, float(reading.watts), overflow)
        self.stats.samples += 1
        self.last_sample = sample
        return sample

    def _skipped(self, now: float, exc: ReadingSkipped) -> None:
        self._skips += 1
        if isinstance(exc, DeviceResetError):
            self.stats.resets += 1
            self.stats.inits += 1  # the driver re-initialised the chip itself
        else:
            self.stats.skipped += 1
        if self._bad_since is None:
            self._bad_since = now
        self._log.log(now, ("skip", type(exc).__name__), logging.WARNING,
                      f"power sensor {self.name!r}: {exc}")
        if self._skips >= 2 and self.health is Health.OK:
            self._set_health(now, Health.DEGRADED, f"{self._skips} readings in a row unusable: {exc}")
        self._check_failed(now)

    def _fault(self, now: float, exc: BaseException) -> None:
        self._failures += 1
        self._needs_init = True
        self.stats.faults += 1
        text = describe_error(exc)
        self.stats.last_error = text
        if (isinstance(exc, OSError) and exc.errno in REOPEN_ERRNOS) or self._failures >= self.reopen_after:
            self._reopen_pending = True
        delay = min(self.backoff_max_s, self.backoff_initial_s * 2 ** (self._failures - 1))
        self._next_attempt = now + delay
        if self._bad_since is None:
            self._bad_since = now
        self._log.log(now, _error_key(exc), logging.ERROR,
                      f"power sensor {self.name!r} ({self.meter.describe()}): {text}; "
                      f"failure {self._failures} in a row, next try in {delay:.0f} s")
        if self.health is Health.OK and self.stats.samples > 0:  # (never answered: failed at once, below)
            self._set_health(now, Health.DEGRADED, text)
        self._check_failed(now)

    def _check_failed(self, now: float) -> None:
        if self._bad_since is None or self.health is Health.FAILED:
            return
        if self.stats.samples == 0 and self._failures > 0:
            # Never answered since the hub started (after the poll's own retries): a chip missing or
            # miswired, not a glitch; waiting fail_after_s would show it as healthy meanwhile.
            self._set_health(now, Health.FAILED, f"no reading since the hub started: {self.stats.last_error}")
            return
        if now - self._bad_since >= self.fail_after_s:
            reason = self.stats.last_error or "no usable reading"
            self._set_health(now, Health.FAILED,
                             f"no reading for {now - self._bad_since:.0f} s (limit {self.fail_after_s:.0f} s): {reason}")

    def _set_health(self, now: float, new: Health, reason: str) -> None:
        old = self.health
        if new is old:
            return
        self.health = new
        self.health_since = now
        change = HealthChange(self.name, now, old, new, reason)
        self._changes.append(change)
        message = f"power sensor {self.name!r} ({self.meter.describe()}): health {old.value} -> {new.value}: {reason}"
        if new is Health.FAILED:
            log_level, key = logging.ERROR, None
        elif old is Health.FAILED:
            log_level, key = logging.WARNING, None
        else:
            log_level, key = (logging.INFO if new is Health.OK else logging.WARNING), ("health", new)
        if key is None:
            self._log.logger.log(log_level, message)
        else:
            self._log.log(now, key, log_level, message)


# -- construction from config values ----------------------------------------------------------------

def make_power_meter(chip: str, bus: I2CBus, address: int, *, shunt_ohms: float = 0.1, max_current_a: float = 3.2,
                     burden_ohms: float = 22.0, ct_ratio: float = 2000.0, mains_volts: float = 100.0,
                     monotonic: Optional[Callable[[], float]] = None, ct_max_current_a: float = 100.0,
                     mux: int = MUX_AIN0_AIN1, **options: Any) -> PowerMeter:
    """The driver for a ``[[sensors]]`` entry's ``chip`` (ina219, ina226, ads1115) on an injected bus.

    ``monotonic`` (the hub clock's ``monotonic``) is required for ads1115: CT samples are
    stamped with it. ``options`` go to the driver (e.g. ``averages`` for the INA226,
    ``window_s`` for the CT clamp).
    """
    chip = chip.lower()
    if chip == "ina219":
        return INA219(bus, address, shunt_ohms=shunt_ohms, max_current=max_current_a, **options)
    if chip == "ina226":
        return INA226(bus, address, shunt_ohms=shunt_ohms, max_current=max_current_a, **options)
    if chip == "ads1115":
        if monotonic is None:
            raise ValueError("an ads1115 CT clamp needs the hub clock's monotonic() to stamp its samples")
        adc_options = {k: options.pop(k) for k in ("data_rate",) if k in options}
        adc = ADS1115(bus, address, mux=mux, full_scale_volts=ct_full_scale_volts(ct_max_current_a, ct_ratio, burden_ohms),
                      continuous=True, **adc_options)
        return CTClamp(adc, burden_ohms=burden_ohms, ct_ratio=ct_ratio, mains_volts=mains_volts,
                       monotonic=monotonic, **options)
    raise ValueError(f"chip {chip!r} is not one of {', '.join(CHIPS)}")


def make_classifier(sensor_id: str, *, role: str = "normal", metering: str = "shared",
                    **options: Any) -> ApplianceClassifier:
    """The :class:`~hubd.sensors.appliance.ApplianceClassifier` for a ``[[sensors]]`` entry.

    Its transitions become ``appliance`` events (``transition.value``: watts at ON and at each
    level change while ON, 0 at OFF; see the contract in hubd.sensors.appliance). ``role =
    "autonomous"`` (a clamp on the fridge's own cable) reports nothing; ``metering = "device"``
    judges use against the device's own standby, ``"shared"`` learns the fridge first.
    """
    config = ApplianceConfig(role=AUTONOMOUS if role == AUTONOMOUS else "normal", metering=metering, **options)
    return ApplianceClassifier(config, name=sensor_id)
