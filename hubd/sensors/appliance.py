"""ApplianceClassifier: power samples in, ON / level / OFF transitions out — a person's use, not the fridge's.

Pure and synchronous: ``update(now, watts)`` with monotonic seconds and a reading (or
``None`` when the sensor had nothing) returns an :class:`ApplianceTransition` or ``None``.

The event contract (what the detector may rely on)
--------------------------------------------------
Each transition becomes one ``appliance`` event (kind 4) of the sensor, value in watts:

* **ON**: the value is the watts drawn (> 0) when use is confirmed.
* **Level** (``transition.level``): while ON, the current watts (> 0) whenever the draw has
  moved by at least max(5 W, 10 %) from the last reported value (ON or level), at most one
  per ``level_interval_s`` (60 s) per sensor; a noisy meter cannot flood the log, and a
  draw that holds steady sends nothing. A stream of level events is someone using the
  device (a PC, a console, a TV being zapped); an ON followed by silence is a steady draw,
  which may be a device left on with nobody there.
* **OFF**: value 0, when the draw falls back (or no reading came for ``max_gap_s``).

So for one sensor: ON, zero or more levels, OFF, in that order; never a level outside an
ON. ``role = "autonomous"`` reports nothing at all.

What "in use" means depends on ``metering`` (config ``[[sensors]] metering``)
---------------------------------------------------------------------------
* ``device`` — the sensor is on one device's own cable (a clamp or shunt per device).
  Standby is a low quantile (2 %) of its 10-minute minima over 3 days, in use is above
  standby + max(10 W, 50 % of standby), held for ``min_on_s``; no learning day, no
  autonomous envelope, no cycle learning: a 40 W console, a 60 W PC, a 90 W TV are ON
  from the first hour. (A device in use more than ~98 % of three days would lift its own
  standby; a device whose standby wanders above 10 W, e.g. a console updating at night,
  shows as ON.)
* ``shared`` (default) — several loads, up to the flat's mains. The rest of this page.

How a shared clamp decides
--------------------------
* **Standby baseline.** Every ``baseline_bucket_s`` (10 min) keeps its minimum; the
  baseline is a low quantile (10 %) of those minima over ``baseline_window_s`` (3 days).
  A heater left on all afternoon or a week-end of cooking does not lift it; a new
  always-on device does, after a few hours.
* **Threshold.** ON when the excess over the baseline exceeds what autonomous loads can
  explain plus a margin ``max(margin_watts, margin_ratio·baseline)``, held for
  ``min_on_s``; OFF when it falls below the explained level plus ``hysteresis``·margin.
* **Use by how the level moves.** A *stretch* is the time the draw stays above standby
  (excess ≥ hysteresis·margin). Its level moves when it changes by max(5 W, 10 % of the
  load above standby); a move within ``settle_s`` of the previous one (a compressor's
  start-up surge decaying) is not counted. A *small* move (under the margin) that
  reverses the previous small move is what someone at a screen makes every few minutes;
  a compressor switching moves the level by a whole compressor, and its slow drift goes
  one way. A stretch with ``use_min_moves`` (3) such moves, at least
  ``use_moves_per_hour`` (2) per hour, is **use**: it switches ON even under the
  threshold (a 60 W PC beside a 100 W fridge, or on the learning day) and stays ON until
  the draw is back near standby (if a compressor is running then, when it stops), and it
  is never learned as autonomous (below).
* **The fridge** is learned two ways; the larger explanation wins.

  1. *Cycle signature* (the usual single compressor). Every excursion above the
     baseline is an episode (start, duration, median step, small reversing moves).
     Episodes of similar step (±``cycle_tolerance``) without use-like moves, recurring at
     least ``cycle_min_count`` times in ``cycle_window_s`` (a day), regularly (robust
     coefficient of variation of the intervals ≤ ``cycle_max_cv``, so one cycle hidden
     under a kettle does not break it), at least every ``cycle_max_period_s``, ON for at
     least ``cycle_min_duty`` of each period, and spread over the day *and night*
     (``cycle_min_coverage`` of the hour-sized bins) form a :class:`CycleSignature`.
  2. *Autonomous envelope* (several compressors, or one hiding the other). For every
     hour the excess held for at least ~2 minutes (its 97th percentile) is kept — but
     only for an hour in which the draw came back near standby at some point, and
     without the samples of stretches judged as use (an hour waits, up to another hour,
     for the stretch running at its end to be judged); the median over the last day is
     a level the flat reaches in most hours, night included. Fridge + freezer (+ a wine
     cooler) running together end up here; a kettle at breakfast does not, nor a PC used
     14 hours a day, night included (before: ~130 W of it was learned as "fridge"), nor a
     device left on steadily for hours (it never comes back near standby).

  The learned level (plus ``cycle_tolerance``) is added to what is explained, so a
  compressor — alone, with its start-up surge, or under a kettle — never crosses the
  threshold, while a kettle, microwave or iron does. While ON, a level move of about a
  learned compressor step (±``cycle_tolerance``) and its surge for
  ``compressor_quiet_s`` are followed without a level event: the fridge cycling under a
  PC left on is not someone using it.
* **Cold start.** Until a day of data has been seen, ``cold_start_watts`` (300 W) is
  treated as explained: kettles, microwaves and irons count from the first minute,
  smaller loads only by how their level moves (above) until the day is over. A restart
  begins a new day of learning.
* ``role = "autonomous"`` (a clamp on the fridge's own cable): samples still feed the
  statistics and the sensor is still health-checked, but no transition is reported.

What a shared clamp cannot see: a steady small load (a 90 W TV left on a channel) next to
a compressor of about its power, before the day of learning is over or while the
compressor is off (it is seen ON/OFF with the compressor); a device whose draw holds
steady is never told apart from an appliance left on. On a shared clamp, levels are of
the whole clamp, and moves of several compressors at once may still show as levels. Put
a PC, console or TV a resident sits at on its own sensor with ``metering = "device"``.

Bad readings (non-finite, not a number, below −``negative_tolerance_watts``, above
``max_watts``) are ignored like a missing one, with one rate-limited warning per kind;
small negatives (meter noise around 0 W) read as 0 W. Memory is bounded: three days of
10-minute minima, a day of hourly levels, at most ``max_episodes`` episodes and three
closed hours waiting for judgement.
"""

from __future__ import annotations

import bisect
import logging
import math
import statistics
from collections import deque
from dataclasses import dataclass, field
from typing import Optional

from ..events import Event, Kind
from .ratelog import RateLimitedLog

log = logging.getLogger(__name__)

AUTONOMOUS = "autonomous"
DEVICE = "device"  # the sensor meters one device's own cable
SHARED = "shared"  # the sensor meters several loads (a circuit, the flat's mains)
METERINGS = (SHARED, DEVICE)
MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0
CYCLE_MAX_MOVES = 3  # an episode whose level moved this often is someone using something, not a thermostat


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
    metering: str = SHARED
    device_margin_watts: float = 10.0
    device_margin_ratio: float = 0.5
    device_baseline_quantile: float = 0.02
    level_watts: float = 5.0
    level_ratio: float = 0.1
    level_interval_s: float = 60.0
    settle_s: float = 120.0
    compressor_quiet_s: float = 360.0
    use_min_moves: int = 3
    use_moves_per_hour: float = 2.0
    max_watts: float = 25000.0
    negative_tolerance_watts: float = 5.0
    max_episodes: int = 500
    log_interval_s: float = 300.0

    def __post_init__(self) -> None:
        if self.metering not in METERINGS:
            raise ValueError(f"appliance metering={self.metering!r} must be one of {', '.join(METERINGS)}")
        positive = ("margin_watts", "baseline_window_s", "baseline_bucket_s", "cycle_window_s", "max_gap_s",
                    "cycle_max_period_s", "cycle_max_on_s", "envelope_bin_s", "device_margin_watts", "level_watts",
                    "max_watts")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"appliance {name}={getattr(self, name)!r} must be positive")
        for name in ("margin_ratio", "min_on_s", "cold_start_s", "cold_start_watts", "cycle_tolerance",
                     "device_margin_ratio", "level_ratio", "level_interval_s", "settle_s", "compressor_quiet_s",
                     "negative_tolerance_watts", "log_interval_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"appliance {name}={getattr(self, name)!r} cannot be negative")
        for name in ("hysteresis", "baseline_quantile", "device_baseline_quantile", "cycle_min_duty",
                     "cycle_min_coverage", "envelope_bin_quantile", "envelope_quantile"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"appliance {name}={getattr(self, name)!r} must be within 0..1")
        if self.cycle_min_count < 3:
            raise ValueError("appliance cycle_min_count must be at least 3")
        if self.envelope_min_bins < 1:
            raise ValueError("appliance envelope_min_bins must be at least 1")
        if self.use_min_moves < 1 or self.max_episodes < self.cycle_min_count:
            raise ValueError("appliance use_min_moves must be at least 1 and max_episodes at least cycle_min_count")

    @property
    def device(self) -> bool:
        return self.metering == DEVICE

    def level_step(self, watts: float) -> float:
        """How far the draw must move from ``watts`` to be a new level: max(5 W, 10 %)."""
        return max(self.level_watts, self.level_ratio * abs(watts))


@dataclass(frozen=True)
class ApplianceTransition:
    """The appliance went ON (``watts`` drawn) or OFF at monotonic ``mono``."""

    mono: float
    on: bool
    watts: float
    started: float
    reason: str
    level: bool = False  # still ON, at a new level (``watts``): use going on

    @property
    def value(self) -> float:
        """The event value: watts at ON and at a level change, 0 at OFF."""
        return self.watts if self.on else 0.0

    def to_event(self, sensor: str, local: float) -> Event:
        return Event(self.mono, local, sensor, Kind.APPLIANCE, self.value)


@dataclass(frozen=True)
class Episode:
    """One excursion above the baseline: when, how long, and its median step in watts."""

    start: float
    end: float
    step: float
    moves: int = 0  # level moves after settling: a compressor's plateau has none

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
class _Stretch:
    """Time above standby, from leaving it to coming back; ``use`` once its level moved like a person's."""

    sid: int
    start: float
    moves: int = 0  # small level moves that reversed the previous one
    use: bool = False
    last_rise: Optional[bool] = None  # direction of the last small move


@dataclass
class _EnvBin:
    """One envelope bin's excess samples, each with the stretch it belongs to (-1: near standby)."""

    end: float
    samples: list[float] = field(default_factory=list)
    sids: list[int] = field(default_factory=list)
    idle: bool = False
    low_sid: Optional[int] = None  # the first stretch it holds

    def add(self, excess: float, sid: int) -> None:
        self.samples.append(excess)
        self.sids.append(sid)
        if sid < 0:
            self.idle = True
        elif self.low_sid is None:
            self.low_sid = sid


@dataclass
class _OpenEpisode:
    start: float
    last: float
    steps: list[float] = field(default_factory=list)
    too_long: bool = False
    moves: int = 0


def find_cycle_signatures(episodes: list[Episode], config: ApplianceConfig, window_start: float,
                          now: float) -> tuple[CycleSignature, ...]:
    """Self-cycling loads among ``episodes`` observed over ``window_start..now`` (pure; exposed for tests)."""
    remaining = [e for e in episodes if e.duration <= config.cycle_max_on_s and math.isfinite(e.step) and e.step > 0
                 and e.moves < CYCLE_MAX_MOVES]
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
    """Turns one power sensor's samples into ON / level / OFF transitions that mean a person used something."""

    def __init__(self, config: ApplianceConfig = ApplianceConfig(), *, name: str = "appliance",
                 logger: Optional[logging.Logger] = None):
        self.config = config
        self.name = name
        self.on = False
        self.signatures: tuple[CycleSignature, ...] = ()
        self.rejected = 0  # readings refused as impossible (NaN, negative, absurd)
        self._log = RateLimitedLog(logger or log, config.log_interval_s)
        self._first: Optional[float] = None
        self._last_good: Optional[float] = None
        self._last_seen: Optional[float] = None
        self._bucket: Optional[int] = None
        self._bucket_min = math.inf
        self._minima: deque[tuple[float, float]] = deque()  # (bucket end, minimum watts)
        self._sorted_minima: list[float] = []
        self._episodes: deque[Episode] = deque(maxlen=config.max_episodes)
        self._open: Optional[_OpenEpisode] = None
        self._pending_since: Optional[float] = None
        self._on_since: Optional[float] = None
        self._last_learned: Optional[float] = None
        self._env_bin: Optional[_EnvBin] = None
        self._env_pending: deque[_EnvBin] = deque()  # closed bins waiting for their last stretch to be judged
        self._stretch: Optional[_Stretch] = None
        self._next_sid = 0
        self._use_sids: set[int] = set()
        self._env_levels: deque[tuple[float, float]] = deque()  # (bin end, level held >= 3 % of the bin)
        self._anchor: Optional[float] = None  # the level the draw holds while above the baseline
        self._anchor_mono = 0.0  # when it was set
        self._reported: Optional[float] = None  # watts of the last ON or level event
        self._reported_mono = -math.inf
        self._quiet_until = -math.inf  # a compressor step under an ON: its surge settles unreported

    @property
    def autonomous(self) -> bool:
        return self.config.role == AUTONOMOUS

    @property
    def device(self) -> bool:
        return self.config.device

    # -- baseline ---------------------------------------------------------------------------------
    @property
    def baseline(self) -> Optional[float]:
        """The learned standby watts (None before the first sample)."""
        values = self._sorted_minima
        if values:
            cfg = self.config
            # a device may be in use for most of a day: its standby is nearer the bottom
            quantile = cfg.device_baseline_quantile if cfg.device else cfg.baseline_quantile
            return values[int(quantile * (len(values) - 1))]
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
        cfg = self.config
        if cfg.device:
            return max(cfg.device_margin_watts, cfg.device_margin_ratio * max(baseline, 0.0))
        return max(cfg.margin_watts, cfg.margin_ratio * max(baseline, 0.0))

    def _feed_envelope(self, now: float, excess: float) -> None:
        cfg = self.config
        end = (now // cfg.envelope_bin_s + 1) * cfg.envelope_bin_s
        current = self._env_bin
        if current is not None and end != current.end:
            self._env_pending.append(current)
            current = None
        if current is None:
            current = self._env_bin = _EnvBin(end)
        current.add(excess, -1 if self._stretch is None else self._stretch.sid)
        self._resolve_envelope(now)

    def _resolve_envelope(self, now: float) -> None:
        """Judge closed bins once the stretch running at their end has ended, shown use, or lasted
        ``envelope_bin_s`` (a PC switched on near the end of an hour is not that hour's compressor)."""
        cfg = self.config
        stretch = self._stretch
        while self._env_pending:
            b = self._env_pending[0]
            last = b.sids[-1]
            waiting = (stretch is not None and last == stretch.sid and not stretch.use
                       and now - b.end < cfg.envelope_bin_s and len(self._env_pending) < 3)
            if waiting:
                break
            self._env_pending.popleft()
            # an hour that looks autonomous: back near standby at some point; stretches that
            # moved level like someone at a screen are left out
            kept = sorted(x for x, sid in zip(b.samples, b.sids) if sid not in self._use_sids)
            if b.idle and kept:
                level = kept[min(len(kept) - 1, int(cfg.envelope_bin_quantile * len(kept)))]
                self._env_levels.append((b.end, max(level, 0.0)))
        held = [b.low_sid for b in self._env_pending] + [self._env_bin.low_sid if self._env_bin else None]
        low = min((sid for sid in held if sid is not None), default=self._next_sid)
        self._use_sids = {sid for sid in self._use_sids if sid >= low}
        while self._env_levels and self._env_levels[0][0] < now - cfg.cycle_window_s:
            self._env_levels.popleft()

    @property
    def envelope(self) -> float:
        """The excess held for a few minutes in most hours of the day, night included: autonomous duty.

        Hours in which the draw never came back near standby, or moved level again and again,
        are someone's use and are left out.
        """
        if len(self._env_levels) < self.config.envelope_min_bins:
            return 0.0
        ordered = sorted(level for _, level in self._env_levels)
        return ordered[int(self.config.envelope_quantile * (len(ordered) - 1))]

    def explained_watts(self, now: float) -> float:
        """Watts above the baseline that self-cycling loads can account for right now (0 for a device)."""
        if self.config.device:
            return 0.0
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

    # -- level moves, episodes and cycle learning -----------------------------------------------------
    def _track_level(self, now: float, watts: float, excess: float, margin: float) -> None:
        """Follow the level above standby and count its moves; a move that comes while the last one is
        still settling (a compressor's start-up surge decaying) is not counted. A stretch above
        standby whose level moves again and again (``use_min_moves``, and ``use_moves_per_hour``
        over at least an hour) is someone using something, never learned as autonomous."""
        cfg = self.config
        if excess < cfg.hysteresis * margin:
            self._anchor = None
            self._stretch = None
            return
        if self._anchor is None or self._stretch is None:
            self._anchor, self._anchor_mono = watts, now
            self._stretch = _Stretch(self._next_sid, now)
            self._next_sid += 1
            return
        base = watts - excess
        if abs(watts - self._anchor) < cfg.level_step(self._anchor - base):  # 10 % of the load, not of the flat
            return
        stretch = self._stretch
        rise = watts > self._anchor
        if now - self._anchor_mono >= cfg.settle_s and abs(watts - self._anchor) < margin:
            reversed_ = stretch.last_rise is not None and rise != stretch.last_rise
            stretch.last_rise = rise
            if not reversed_:
                self._anchor, self._anchor_mono = watts, now
                return
            stretch.moves += 1
            if self._open is not None:
                self._open.moves += 1
            hours = max(now - stretch.start, HOUR) / HOUR
            if not stretch.use and stretch.moves >= max(cfg.use_min_moves, cfg.use_moves_per_hour * hours):
                stretch.use = True
                self._use_sids.add(stretch.sid)
        self._anchor, self._anchor_mono = watts, now

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
        self._episodes.append(Episode(ep.start, now, step, ep.moves))
        if self._last_learned is None or now - self._last_learned >= MINUTE:  # bounded work under a flapping load
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
        watts = self._plausible(now, watts)
        if watts is None:
            return gap_off
        if self._first is None:
            self._first = now
        self._last_good = now
        self._feed_baseline(now, watts)
        base = self.baseline or 0.0
        margin = self.margin(base)
        self._track_level(now, watts, watts - base, margin)
        if not self.config.device:  # a device's own cable has no compressor to learn
            self._track_episode(now, watts - base, margin)
            self._feed_envelope(now, watts - base)
            if self._last_learned is None or now - self._last_learned >= self.config.baseline_bucket_s:
                self._learn(now)  # also forgets signatures that stopped recurring
        if gap_off is not None:
            return gap_off
        return self._decide(now, watts)

    def _plausible(self, now: float, watts: Optional[float]) -> Optional[float]:
        """The reading as watts, or None (no reading, or one no meter can mean: logged, rate-limited)."""
        if watts is None:
            return None
        cfg = self.config
        problem = None
        try:
            watts = float(watts)
        except (TypeError, ValueError):
            problem = ("type", f"reading {watts!r} is not a number")
        else:
            if not math.isfinite(watts):
                problem = ("nonfinite", f"non-finite reading {watts!r}")
            elif watts < -cfg.negative_tolerance_watts:
                problem = ("negative", f"negative reading {watts:.1f} W (clamp or shunt the wrong way round?)")
            elif watts > cfg.max_watts:
                problem = ("absurd", f"reading {watts:.0f} W beyond {cfg.max_watts:.0f} W (scaling or wiring?)")
        if problem is None:
            return max(watts, 0.0)
        self.rejected += 1
        key, text = problem
        self._log.log(now, key, logging.WARNING, f"appliance {self.name!r}: {text} ignored")
        return None

    def _check_gap(self, now: float) -> Optional[ApplianceTransition]:
        if self._last_good is None or now - self._last_good <= self.config.max_gap_s:
            return None
        self._pending_since = None
        self._anchor = self._stretch = None
        if self._open is not None:
            self._close_episode(self._last_good)
        if self.on:
            return self._switch_off(now, f"no reading for {now - self._last_good:.0f} s")
        return None

    def _decide(self, now: float, watts: float) -> Optional[ApplianceTransition]:
        on_threshold, off_threshold = self.thresholds(now)
        stretch = self._stretch
        in_use = stretch is not None and stretch.use  # moving like use, not yet back near standby
        if self.on:
            if watts < off_threshold and not in_use:
                return self._switch_off(now, f"{watts:.0f} W < {off_threshold:.0f} W")
            return self._level(now, watts)
        if in_use:  # under the threshold: a small load beside a compressor, or the learning day
            self._pending_since = stretch.start
            reason = f"{watts:.0f} W, {stretch.moves} small level moves in {(now - stretch.start) / MINUTE:.0f} min"
        elif watts <= on_threshold:
            self._pending_since = None
            return None
        else:
            reason = f"{watts:.0f} W > {on_threshold:.0f} W"
            if self._pending_since is None:
                self._pending_since = now
            if now - self._pending_since < self.config.min_on_s:
                return None
        self.on = True
        self._on_since = self._pending_since
        self._pending_since = None
        self._reported, self._reported_mono = watts, now
        if self.autonomous:
            return None
        return ApplianceTransition(now, True, watts, self._on_since, reason)

    def compressor_step(self, moved: float) -> bool:
        """Whether a move of ``moved`` watts is about a learned autonomous load switching (shared clamps)."""
        if self.config.device:
            return False
        tol = 1.0 + self.config.cycle_tolerance
        steps = [s.watts for s in self.signatures] + ([self.envelope] if self.envelope > 0 else [])
        return any(step / tol <= moved <= step * tol for step in steps)

    def _level(self, now: float, watts: float) -> Optional[ApplianceTransition]:
        """While ON: the new watts if the draw moved max(5 W, 10 %) from the last reported value,
        at most once per ``level_interval_s``; nothing while it holds steady. On a shared clamp a
        move the size of a learned compressor (and its surge settling, ``compressor_quiet_s``) is followed
        silently: the fridge under a PC left on is not someone using it."""
        cfg = self.config
        last = self._reported if self._reported is not None else watts
        moved = abs(watts - last)
        if moved < cfg.level_step(last):
            return None
        if now < self._quiet_until or self.compressor_step(moved):
            if self.compressor_step(moved):
                self._quiet_until = now + cfg.compressor_quiet_s
            self._reported = watts
            return None
        if now - self._reported_mono < cfg.level_interval_s:
            return None
        self._reported, self._reported_mono = watts, now
        if self.autonomous:
            return None
        started = self._on_since if self._on_since is not None else now
        return ApplianceTransition(now, True, watts, started, f"level {last:.0f} -> {watts:.0f} W", level=True)

    def _switch_off(self, now: float, reason: str) -> Optional[ApplianceTransition]:
        self.on = False
        started = self._on_since if self._on_since is not None else now
        self._on_since = None
        self._reported = None
        if self.autonomous:
            return None
        return ApplianceTransition(now, False, 0.0, started, reason)

    def status(self, now: float) -> dict:
        on_threshold, off_threshold = self.thresholds(now)
        learning = not self.config.device and (self._first is None or now - self._first < self.config.cold_start_s)
        return {
            "on": self.on,
            "metering": self.config.metering,
            "baseline_watts": self.baseline,
            "on_threshold_watts": on_threshold,
            "off_threshold_watts": off_threshold,
            "learning": learning,
            "cycles": [s.__dict__ for s in self.signatures],
            "autonomous_envelope_watts": self.envelope,
            "rejected_readings": self.rejected,
        }
