"""ApplianceClassifier: power samples in, ON/OFF transitions out — a person's use, not the fridge's.

Pure and synchronous: ``update(now, watts)`` with monotonic seconds and a reading (or
``None`` when the sensor had nothing) returns an :class:`ApplianceTransition` or ``None``.
An ON becomes an ``appliance`` event with the watts as value; an OFF has value 0 (the
detector treats value > 0 as activity).

How the decision is made
------------------------
* **Standby baseline.** Every ``baseline_bucket_s`` (10 min) keeps its minimum; the
  baseline is a low quantile (10 %) of those minima over ``baseline_window_s`` (3 days).
  A heater left on all afternoon or a week-end of cooking does not lift it; a new
  always-on device does, after a few hours.
* **Threshold.** ON when the excess over the baseline exceeds what autonomous loads can
  explain plus a margin ``max(margin_watts, margin_ratio·baseline)``, held for
  ``min_on_s``; OFF when it falls below the explained level plus ``hysteresis``·margin.
* **The fridge** is learned two ways; the larger explanation wins.

  1. *Cycle signature* (the usual single compressor). Every excursion above the
     baseline is an episode (start, duration, median step). Episodes of similar step
     (±``cycle_tolerance``) recurring at least ``cycle_min_count`` times in
     ``cycle_window_s`` (a day), regularly (robust coefficient of variation of the
     intervals ≤ ``cycle_max_cv``, so one cycle hidden under a kettle does not break
     it), at least every ``cycle_max_period_s``, ON for at least ``cycle_min_duty`` of
     each period, and spread over the day *and night* (``cycle_min_coverage`` of the
     hour-sized bins) form a :class:`CycleSignature`: step, period, ON time.
  2. *Autonomous envelope* (several compressors, or one hiding the other). For every
     hour the excess held for at least ~2 minutes (its 97th percentile) is kept; the
     median of those over the last day is a level the flat reaches in most hours,
     night included. Fridge + freezer running together a few minutes each hour end up
     here, a kettle used at breakfast does not.

  The learned level (plus ``cycle_tolerance``) is added to what is explained, so a
  compressor — alone, with its start-up surge, or under a kettle — never crosses the
  threshold, while a kettle, microwave or iron does, and the kettle's OFF comes when
  the kettle stops, not when the compressor does. A person's habits do not qualify:
  they are rare, short for their interval (a kettle is 3 minutes in hours) and stop at
  night. A compressor that stops cycling is forgotten within a day.
* **Cold start.** Until a day of data has been seen, a cycling load may not have shown
  its pattern yet, so ``cold_start_watts`` (300 W: more than a domestic compressor) is
  treated as explained: from the first minute kettles, microwaves and irons count,
  small loads only once the day of learning is over. A restart begins a new day of
  learning (the monotonic clock restarts with the Pi, so nothing is carried over).
* ``role = "autonomous"`` (a clamp on the fridge's own cable): samples still feed the
  statistics and the sensor is still health-checked, but no transition is reported.

Limits: a load of about the compressor's power (a 90 W TV next to a 100 W fridge on one
clamp) is hidden while the compressor is off and seen, ON/OFF with the compressor, while
it runs; a defrost heater that runs once a day is not learned (it is short, ~20 min, so
it costs one spurious ON a day at most on a flat-wide clamp).
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections import deque
from dataclasses import dataclass, field
from typing import Optional

from ..events import Event, Kind

AUTONOMOUS = "autonomous"
HOUR = 3600.0
DAY = 86400.0


@dataclass(frozen=True)
class ApplianceConfig:
    role: str = "normal"
    margin_watts: float = 40.0
    margin_ratio: float = 0.2
    hysteresis: float = 0.5
    min_on_s: float = 30.0
    max_gap_s: float = 600.0
    baseline_window_s: float = 3 * DAY
    baseline_bucket_s: float = 600.0
    baseline_quantile: float = 0.1
    cold_start_s: float = DAY
    cold_start_watts: float = 300.0
    cycle_window_s: float = DAY
    cycle_min_count: int = 8
    cycle_tolerance: float = 0.3
    cycle_max_cv: float = 0.5
    cycle_max_period_s: float = 3 * HOUR
    cycle_min_duty: float = 0.1
    cycle_max_on_s: float = 2 * HOUR
    cycle_min_coverage: float = 0.75
    cycle_max_signatures: int = 3
    envelope_bin_s: float = HOUR
    envelope_bin_quantile: float = 0.97
    envelope_quantile: float = 0.5
    envelope_min_bins: int = 6

    def __post_init__(self) -> None:
        positive = ("margin_watts", "baseline_window_s", "baseline_bucket_s", "cycle_window_s", "max_gap_s",
                    "cycle_max_period_s", "cycle_max_on_s", "envelope_bin_s")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"appliance {name}={getattr(self, name)!r} must be positive")
        for name in ("margin_ratio", "min_on_s", "cold_start_s", "cold_start_watts", "cycle_tolerance"):
            if getattr(self, name) < 0:
                raise ValueError(f"appliance {name}={getattr(self, name)!r} cannot be negative")
        for name in ("hysteresis", "baseline_quantile", "cycle_min_duty", "cycle_min_coverage",
                     "envelope_bin_quantile", "envelope_quantile"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"appliance {name}={getattr(self, name)!r} must be within 0..1")
        if self.cycle_min_count < 3:
            raise ValueError("appliance cycle_min_count must be at least 3")
        if self.envelope_min_bins < 1:
            raise ValueError("appliance envelope_min_bins must be at least 1")


@dataclass(frozen=True)
class ApplianceTransition:
    """The appliance went ON (``watts`` drawn) or OFF at monotonic ``mono``."""

    mono: float
    on: bool
    watts: float
    started: float
    reason: str

    @property
    def value(self) -> float:
        """The event value: watts at ON, 0 at OFF."""
        return self.watts if self.on else 0.0

    def to_event(self, sensor: str, local: float) -> Event:
        return Event(self.mono, local, sensor, Kind.APPLIANCE, self.value)


@dataclass(frozen=True)
class Episode:
    """One excursion above the baseline: when, how long, and its median step in watts."""

    start: float
    end: float
    step: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class CycleSignature:
    """A self-cycling load learned from the episodes: its step, how often, for how long."""

    watts: float
    count: int
    period_s: float
    on_s: float
    cv: float


@dataclass
class _OpenEpisode:
    start: float
    last: float
    steps: list[float] = field(default_factory=list)
    too_long: bool = False


def find_cycle_signatures(episodes: list[Episode], config: ApplianceConfig, window_start: float,
                          now: float) -> tuple[CycleSignature, ...]:
    """Self-cycling loads among ``episodes`` observed over ``window_start..now`` (pure; exposed for tests)."""
    remaining = [e for e in episodes if e.duration <= config.cycle_max_on_s and math.isfinite(e.step) and e.step > 0]
    signatures: list[CycleSignature] = []
    tol = 1.0 + config.cycle_tolerance
    while remaining and len(signatures) < config.cycle_max_signatures:
        best: list[Episode] = []
        for centre in remaining:
            members = [e for e in remaining if centre.step / tol <= e.step <= centre.step * tol]
            if len(members) > len(best):
                best = members
        if len(best) < config.cycle_min_count:
            break
        chosen = set(map(id, best))
        remaining = [e for e in remaining if id(e) not in chosen]
        signature = regular_cycle(best, config, window_start, now)
        if signature is not None:
            signatures.append(signature)
    return tuple(signatures)


def regular_cycle(members: list[Episode], config: ApplianceConfig, window_start: float,
                  now: float) -> Optional[CycleSignature]:
    """A signature if ``members`` recur like a thermostat: often, regularly, long enough, all day and night."""
    starts = sorted(e.start for e in members)
    intervals = [b - a for a, b in zip(starts, starts[1:])]
    period = statistics.median(intervals)
    if period <= 0 or period > config.cycle_max_period_s:
        return None
    # robust coefficient of variation: a cycle hidden under another load doubles one interval
    mad = statistics.median(abs(i - period) for i in intervals)
    cv = 1.4826 * mad / period
    if cv > config.cycle_max_cv:
        return None
    on_s = statistics.median(e.duration for e in members)
    if on_s / period < config.cycle_min_duty:
        return None
    # spread over the whole observed time, not a daytime habit: bins of >= 1 h / 2 periods, counted back from now
    width = max(HOUR, 2.0 * period)
    bins = int((now - window_start) // width)
    if bins >= 1:
        covered = {int((now - s) // width) for s in starts if now - s < bins * width}
        if len(covered) < config.cycle_min_coverage * bins:
            return None
    return CycleSignature(statistics.median(e.step for e in members), len(members), period, on_s, cv)


class ApplianceClassifier:
    """Turns one power sensor's samples into ON/OFF transitions that mean a person used something."""

    def __init__(self, config: ApplianceConfig = ApplianceConfig()):
        self.config = config
        self.on = False
        self.signatures: tuple[CycleSignature, ...] = ()
        self._first: Optional[float] = None
        self._last_good: Optional[float] = None
        self._last_seen: Optional[float] = None
        self._bucket: Optional[int] = None
        self._bucket_min = math.inf
        self._minima: deque[tuple[float, float]] = deque()  # (bucket end, minimum watts)
        self._sorted_minima: list[float] = []
        self._episodes: deque[Episode] = deque()
        self._open: Optional[_OpenEpisode] = None
        self._pending_since: Optional[float] = None
        self._on_since: Optional[float] = None
        self._last_learned: Optional[float] = None
        self._env_bin: Optional[int] = None
        self._env_samples: list[float] = []
        self._env_levels: deque[tuple[float, float]] = deque()  # (bin end, level held >= 3 % of the bin)

    @property
    def autonomous(self) -> bool:
        return self.config.role == AUTONOMOUS

    # -- baseline ---------------------------------------------------------------------------------
    @property
    def baseline(self) -> Optional[float]:
        """The learned standby watts (None before the first sample)."""
        values = self._sorted_minima
        if values:
            return values[int(self.config.baseline_quantile * (len(values) - 1))]
        return self._bucket_min if math.isfinite(self._bucket_min) else None

    def _feed_baseline(self, now: float, watts: float) -> None:
        bucket = int(now // self.config.baseline_bucket_s)
        if self._bucket is not None and bucket != self._bucket and math.isfinite(self._bucket_min):
            end = (self._bucket + 1) * self.config.baseline_bucket_s
            self._minima.append((end, self._bucket_min))
            bisect.insort(self._sorted_minima, self._bucket_min)
            self._bucket_min = math.inf
            while self._minima and self._minima[0][0] < now - self.config.baseline_window_s:
                _, old = self._minima.popleft()
                del self._sorted_minima[bisect.bisect_left(self._sorted_minima, old)]
        self._bucket = bucket
        self._bucket_min = min(self._bucket_min, watts)

    # -- thresholds -------------------------------------------------------------------------------
    def margin(self, baseline: float) -> float:
        return max(self.config.margin_watts, self.config.margin_ratio * max(baseline, 0.0))

    def _feed_envelope(self, now: float, excess: float) -> None:
        cfg = self.config
        index = int(now // cfg.envelope_bin_s)
        if self._env_bin is not None and index != self._env_bin and self._env_samples:
            ordered = sorted(self._env_samples)
            level = ordered[min(len(ordered) - 1, int(cfg.envelope_bin_quantile * len(ordered)))]
            self._env_levels.append(((self._env_bin + 1) * cfg.envelope_bin_s, max(level, 0.0)))
            self._env_samples = []
            while self._env_levels and self._env_levels[0][0] < now - cfg.cycle_window_s:
                self._env_levels.popleft()
        self._env_bin = index
        self._env_samples.append(excess)

    @property
    def envelope(self) -> float:
        """The excess held for a few minutes in most hours of the day, night included: autonomous duty."""
        if len(self._env_levels) < self.config.envelope_min_bins:
            return 0.0
        ordered = sorted(level for _, level in self._env_levels)
        return ordered[int(self.config.envelope_quantile * (len(ordered) - 1))]

    def explained_watts(self, now: float) -> float:
        """Watts above the baseline that self-cycling loads can account for right now."""
        learned = max(sum(s.watts for s in self.signatures), self.envelope) * (1.0 + self.config.cycle_tolerance)
        if self._first is None or now - self._first < self.config.cold_start_s:
            return max(learned, self.config.cold_start_watts)
        return learned

    def thresholds(self, now: float) -> tuple[float, float]:
        """(ON, OFF) thresholds in absolute watts."""
        base = self.baseline or 0.0
        explained = self.explained_watts(now)
        margin = self.margin(base)
        return base + explained + margin, base + explained + self.config.hysteresis * margin

    # -- episodes and cycle learning ------------------------------------------------------------------
    def _track_episode(self, now: float, excess: float, margin: float) -> None:
        ep = self._open
        if ep is None:
            if excess > margin:
                self._open = _OpenEpisode(now, now, [excess])
            return
        if excess < self.config.hysteresis * margin:
            self._close_episode(now)
            return
        ep.last = now
        if now - ep.start > self.config.cycle_max_on_s:
            ep.too_long = True
            ep.steps.clear()
        elif not ep.too_long:
            ep.steps.append(excess)

    def _close_episode(self, now: float) -> None:
        ep, self._open = self._open, None
        if ep is None:
            return
        step = statistics.median(ep.steps) if ep.steps else math.inf
        self._episodes.append(Episode(ep.start, now, step))
        self._learn(now)

    def _learn(self, now: float) -> None:
        horizon = now - self.config.cycle_window_s
        while self._episodes and self._episodes[0].start < horizon:
            self._episodes.popleft()
        start = max(horizon, self._first if self._first is not None else now)
        self.signatures = find_cycle_signatures(list(self._episodes), self.config, start, now)
        self._last_learned = now

    # -- the stream -------------------------------------------------------------------------------
    def update(self, now: float, watts: Optional[float]) -> Optional[ApplianceTransition]:
        """Feed one sample (``None`` = no reading); maybe a transition."""
        if self._last_seen is not None and now < self._last_seen:
            raise ValueError(f"time went backwards ({self._last_seen} -> {now}): pass monotonic seconds")
        self._last_seen = now
        gap_off = self._check_gap(now)
        if watts is None or not math.isfinite(watts):
            return gap_off
        if self._first is None:
            self._first = now
        self._last_good = now
        watts = max(float(watts), 0.0)
        self._feed_baseline(now, watts)
        base = self.baseline or 0.0
        margin = self.margin(base)
        self._track_episode(now, watts - base, margin)
        self._feed_envelope(now, watts - base)
        if self._last_learned is None or now - self._last_learned >= self.config.baseline_bucket_s:
            self._learn(now)  # also forgets signatures that stopped recurring
        if gap_off is not None:
            return gap_off
        return self._decide(now, watts)

    def _check_gap(self, now: float) -> Optional[ApplianceTransition]:
        if self._last_good is None or now - self._last_good <= self.config.max_gap_s:
            return None
        self._pending_since = None
        if self._open is not None:
            self._close_episode(self._last_good)
        if self.on:
            return self._switch_off(now, f"no reading for {now - self._last_good:.0f} s")
        return None

    def _decide(self, now: float, watts: float) -> Optional[ApplianceTransition]:
        on_threshold, off_threshold = self.thresholds(now)
        if self.on:
            if watts < off_threshold:
                return self._switch_off(now, f"{watts:.0f} W < {off_threshold:.0f} W")
            return None
        if watts <= on_threshold:
            self._pending_since = None
            return None
        if self._pending_since is None:
            self._pending_since = now
        if now - self._pending_since < self.config.min_on_s:
            return None
        self.on = True
        self._on_since = self._pending_since
        self._pending_since = None
        if self.autonomous:
            return None
        return ApplianceTransition(now, True, watts, self._on_since, f"{watts:.0f} W > {on_threshold:.0f} W")

    def _switch_off(self, now: float, reason: str) -> Optional[ApplianceTransition]:
        self.on = False
        started = self._on_since if self._on_since is not None else now
        self._on_since = None
        if self.autonomous:
            return None
        return ApplianceTransition(now, False, 0.0, started, reason)

    def status(self, now: float) -> dict:
        on_threshold, off_threshold = self.thresholds(now)
        return {
            "on": self.on,
            "baseline_watts": self.baseline,
            "on_threshold_watts": on_threshold,
            "off_threshold_watts": off_threshold,
            "learning": self._first is None or now - self._first < self.config.cold_start_s,
            "cycles": [s.__dict__ for s in self.signatures],
            "autonomous_envelope_watts": self.envelope,
        }
