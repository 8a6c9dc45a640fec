"""Backtest: how fast would the hub have noticed a collapse, and how often would it cry wolf?

The protocol of issue 15 (the one measured on homes the project has never seen), so that
``hubd backtest`` and ``benchmarks/bench_detector.py`` cannot flatter:

* **False alarms**: every resident alert (``inactivity``, ``stayed_in_place``,
  ``not_returned``) raised on the *full* normal-life log is a false alarm, the first week
  included (an office counts every text it gets). Per day = count / log days.
* **Collapses**: cut the log at random moments t0 while the resident is at home; every
  presence sensor held ON is released at t0 (a collapsed person leaves the mat); delay =
  first resident alert after t0. Cuts are drawn twice, independently: **from day 3** (the
  first week's cold start included) and **from day 8** (learned thresholds), each over all
  hours and over waking hours. Learning is online: at a cut the detector knows only the
  log before it.
* **Methods in the same run, on the same cuts**: the learned detector; fixed no-activity
  timers (12 h and 6 h, the industry baseline), whose alarms that start during an inferred
  absence are not counted (the resident would have pressed "away"); and the **in-sample
  bound**: per half-hour slot of the day, the threshold is the longest inactivity elapsed
  at that time of day anywhere in this very log at home. It raises no false alarm on the
  log by construction, and it is fitted to the log it is scored on, so no honest method
  should expect to beat it: it shows what the home itself allows (a resident asleep
  without a bed sensor), not what a method achieves.

Away time is inferred (entrance door, then no inside activity) in hindsight by the learned
detector: an absence runs from the first entrance event to the inside activity on return.
Where the truth is known (a simulated resident: ``away_truth``) the truth is used instead,
so a moment at home that the detector takes for an absence is cut and scored too (its
delay is then the absence limit's, not the inactivity limit's); hindsight cannot see that.

Beside them ``delays["next_activity"]`` keeps, per cut, the time from t0 to the next
activity in the real log: until then the cut log and the real one are the same, so no
method that raises no false alarm on the log can be faster (0 where the cut releases a
held mat).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Sequence

import numpy as np

from ..events import Event, EventBatch
from . import kernels
from .model import LearnedDetector
from .params import DetectorParams

HOUR = 3600.0
DAY = 86400.0
CUT_FROM_DAYS = (3.0, 8.0)  # cut windows: collapses simulated from day 3 on, and from day 8 on
RESIDENT_TYPES = ("inactivity", "stayed_in_place", "not_returned")  # on normal life, each is a false alarm
BOUND = "in-sample bound"
BOUND_SLOT_S = 1800.0  # the in-sample bound's slots: half an hour, as in the issue
BOUND_HORIZON_S = 72 * HOUR  # a cut the bound has not caught by then counts as never
TARGETS = {"false_alarms_per_day": 0.025, "median_delay_hours": 2.0, "p90_delay_hours": 8.0, "missed_24h": 0}


class BacktestInputError(ValueError):
    """A log the backtest cannot score: no events, or none past the first cut window's start."""


@dataclass(frozen=True)
class DelayStats:
    cuts: int
    median_hours: float
    p90_hours: float
    max_hours: float
    missed_24h: int

    @classmethod
    def of(cls, delays_s: np.ndarray) -> "DelayStats":
        if delays_s.size == 0:
            return cls(0, math.nan, math.nan, math.nan, 0)
        h = delays_s / HOUR
        return cls(
            cuts=int(h.size),
            median_hours=float(np.quantile(h, 0.5)),
            p90_hours=float(np.quantile(h, 0.9)),
            max_hours=float(np.max(h)),
            missed_24h=int(np.count_nonzero(~(h <= 24.0))),
        )


@dataclass(frozen=True)
class WindowDelays:
    """Delays of the cuts drawn from ``from_day`` on: over all hours and over waking hours."""

    from_day: float
    all: DelayStats
    waking: DelayStats


@dataclass(frozen=True)
class MethodResult:
    name: str
    false_alarms: int
    false_alarms_per_day: float  # per log day, the first week included
    windows: tuple[WindowDelays, ...]
    alerts_by_type: dict[str, int] = field(default_factory=dict)  # learned: its false alarms by alert type
    # learned: not_returned on absences longer than absence_max_hours (trips: the rule fires by then
    # whatever it learned, by design; a resident who presses "away" is not texted about them)
    trips_over_max: int = 0

    def window(self, from_day: float) -> WindowDelays:
        return next(w for w in self.windows if w.from_day == from_day)

    @property
    def delay_all(self) -> DelayStats:
        """All-hours delays of the first cut window (from day 3 by default)."""
        return self.windows[0].all

    @property
    def delay_waking(self) -> DelayStats:
        return self.windows[0].waking

    @property
    def other_alerts(self) -> dict[str, int]:
        """The resident alerts other than ``inactivity`` (what the old protocol reported beside its false alarms)."""
        return {k: v for k, v in self.alerts_by_type.items() if k != "inactivity"}


@dataclass(frozen=True)
class BacktestResult:
    log_days: float
    home_days: float  # days at home in the whole log (for information; false alarms are per log day)
    cut_from_days: tuple[float, ...]
    waking_hours: tuple[float, float]
    methods: list[MethodResult]
    title: str = ""
    cut_times: np.ndarray = field(default=None, repr=False, compare=False)  # mono t0 of each cut, all windows
    cut_window: np.ndarray = field(default=None, repr=False, compare=False)  # from_day of each cut's window
    cut_waking: np.ndarray = field(default=None, repr=False, compare=False)  # is each cut in waking hours
    delays: dict = field(default=None, repr=False, compare=False)  # method name (and "next_activity") -> s per cut

    def method(self, name: str) -> MethodResult:
        return next(m for m in self.methods if m.name == name)

    def in_window(self, from_day: float) -> np.ndarray:
        """Mask of the cuts of one window (index ``cut_times`` and ``delays`` with it)."""
        return self.cut_window == from_day

    def as_dict(self) -> dict:
        return {
            "title": self.title,
            "protocol": "issue 15: every resident alert on the full log is a false alarm (per log day); "
                        "cuts at home from each of cut_from_days, held sensors released",
            "log_days": self.log_days,
            "home_days": self.home_days,
            "cut_from_days": list(self.cut_from_days),
            "waking_hours": list(self.waking_hours),
            "targets": dict(TARGETS),
            "methods": [asdict(m) for m in self.methods],
        }

    def format_table(self) -> str:
        """A table that fits a phone-sized terminal (40 columns)."""
        names = [_short(m.name) for m in self.methods]
        lines = []
        if self.title:
            lines.append(self.title[:40])
        lines.append(f"{self.log_days:.1f} d log, {self.home_days:.1f} d of it at home")
        lines.append("(the rest inferred out): collapses")
        lines.append("are cut only at home;")
        lines.append("every resident alert = false alarm")
        lines.append(f"{'':12}" + "".join(f"{n:>7}" for n in names))

        def row(label: str, values: list[str]) -> None:
            lines.append(f"{label:12}" + "".join(f"{v:>7}" for v in values))

        row("false alarms", [str(m.false_alarms) for m in self.methods])
        row("  per day", [f"{m.false_alarms_per_day:.3f}" for m in self.methods])
        for from_day in self.cut_from_days:
            for title, attr in (("all hours", "all"), (f"waking {_hh(self.waking_hours)}", "waking")):
                stats = [getattr(m.window(from_day), attr) for m in self.methods]
                lines.append(f"delay (h), cuts from day {from_day:g},")
                lines.append(f"  {title}, {stats[0].cuts} cuts")
                row("  median", [_h(s.median_hours) for s in stats])
                row("  p90", [_h(s.p90_hours) for s in stats])
                row("  max", [_h(s.max_hours) for s in stats])
                row("  missed 24h", [str(s.missed_24h) for s in stats])
        by_type = self.methods[0].alerts_by_type
        if by_type:
            lines.append("learned false alarms by type")
            for kind, count in by_type.items():
                lines.append(f"  {kind.replace('_', ' '):20}{count:>9}")
        lines.append("bound = per-slot longest gap of this")
        lines.append("very log (fitted in-sample)")
        lines.append(f"learned vs target, cuts from day {self.cut_from_days[0]:g}:")
        lines += [f"  {text:<28}{'met' if met else 'MISSED':>10}" for text, met in self.against_targets()]
        return "\n".join(lines)

    def against_targets(self) -> list[tuple[str, bool]]:
        """The learned detector against :data:`TARGETS` (cuts from the first cut day, all hours)."""
        learned = self.methods[0]
        stats = learned.window(self.cut_from_days[0]).all
        fa, median, p90 = learned.false_alarms_per_day, stats.median_hours, stats.p90_hours

        def within(value: float, limit: float) -> bool:
            return not math.isnan(value) and value <= limit  # NaN (no cut scored) is no pass

        return [
            (f"FA/d {fa:.3f} (<= {TARGETS['false_alarms_per_day']:g})", within(fa, TARGETS["false_alarms_per_day"])),
            (f"median {_h(median)} h (<= {TARGETS['median_delay_hours']:g})",
             within(median, TARGETS["median_delay_hours"])),
            (f"p90 {_h(p90)} h (<= {TARGETS['p90_delay_hours']:g})", within(p90, TARGETS["p90_delay_hours"])),
            (f"missed in 24 h {stats.missed_24h} (0)", stats.missed_24h <= TARGETS["missed_24h"]),
        ]


def backtest(
    events: Sequence[Event] | EventBatch,
    params: DetectorParams | None = None,
    *,
    cuts: int = 1000,
    seed: int = 0,
    cut_from_days: tuple[float, ...] = CUT_FROM_DAYS,
    waking_hours: tuple[float, float] = (8.0, 22.0),  # local clock hours; (20, 8) wraps midnight
    fixed_hours: tuple[float, ...] = (12.0, 6.0),
    title: str = "",
    prior=None,
    away_truth: np.ndarray | None = None,
) -> BacktestResult:
    """Score ``events`` on the protocol of the module docstring; ``cuts`` per cut window.

    ``prior``: a population prior for the learned detector's first days (passed to
    :class:`LearnedDetector` only when given). ``away_truth``: the resident's true absences
    (rows of start, end on the log's monotonic clock), where known."""
    params = params or DetectorParams()
    batch = events if isinstance(events, EventBatch) else EventBatch.from_events(events)
    cut_from_days = tuple(float(d) for d in cut_from_days)
    require_scorable(batch.mono, min(cut_from_days))
    t_first, t_last = float(batch.mono[0]), float(batch.mono[-1])
    log_days = (t_last - t_first) / DAY

    normal = _detector(params, prior).replay(batch)
    away = _clip_intervals(normal.away if away_truth is None else np.asarray(away_truth, dtype=np.float64).reshape(-1, 2),
                           t_first, t_last)
    home_all = _complement(away, t_first, t_last)
    home_days = float(np.sum(home_all[:, 1] - home_all[:, 0])) / DAY if home_all.size else 0.0
    by_type = {kind: sum(1 for e in normal.episodes if e.finding.type == kind) for kind in RESIDENT_TYPES}
    trips = sum(1 for e in normal.episodes if e.finding.type == "not_returned"
                and (e.end_mono if e.end_mono is not None else t_last) - e.finding.since_mono
                >= params.absence_max_hours * HOUR)

    kind = np.ascontiguousarray(batch.kind, dtype=np.int64)
    sensor = np.ascontiguousarray(batch.sensor, dtype=np.int64)
    active, held_after = kernels.classify_events(kind, sensor, batch.value, batch.mono, len(batch.sensors),
                                                 params.appliance_margin_watts,
                                                 params.appliance_standby_tau_hours * HOUR)
    fixed_fa = []
    for hours in fixed_hours:
        eps = kernels.fixed_timer_episodes(batch.mono, active, held_after, hours * HOUR)
        fixed_fa.append(int(np.count_nonzero(~_inside(eps[:, 0], away))))

    t0_parts, window_parts = [], []
    for w, from_day in enumerate(cut_from_days):
        home = _complement(away, t_first + from_day * DAY, t_last)
        t0_parts.append(_sample_home_times(home, cuts, seed + 7919 * w))
        window_parts.append(np.full(t0_parts[-1].size, from_day))
    t0, window = np.concatenate(t0_parts), np.concatenate(window_parts)
    det = _cut_detections(batch, params, t0, np.array(fixed_hours) * HOUR, prior)
    delays = det - t0[:, None]
    tod = _local_at(batch, t0) % DAY
    lo, hi = waking_hours[0] * HOUR, waking_hours[1] * HOUR
    waking = (tod >= lo) & (tod < hi) if lo <= hi else (tod >= lo) | (tod < hi)  # a window may wrap midnight

    act_mono = batch.mono[active]
    last = np.searchsorted(batch.mono, t0, side="right") - 1
    released = (last >= 0) & (held_after[np.maximum(last, 0)] > 0)  # a cut that releases a held mat
    nxt = np.searchsorted(act_mono, t0, side="right")
    next_activity = np.where(nxt < act_mono.size, act_mono[np.minimum(nxt, act_mono.size - 1)], np.inf) - t0
    next_activity[released] = 0.0  # the cut log differs from the real one at once

    slot_limits = in_sample_slot_limits(batch, active, held_after, away)
    prev = np.searchsorted(act_mono, t0, side="right") - 1
    silent_since = np.where(released | (prev < 0), t0, act_mono[np.maximum(prev, 0)])
    bound = _slot_limit_detections(t0, silent_since, tod, slot_limits) - t0

    def per_day(count: int) -> float:
        return count / log_days if log_days > 0 else math.nan

    def windows(d: np.ndarray) -> tuple[WindowDelays, ...]:
        return tuple(WindowDelays(f, DelayStats.of(d[window == f]), DelayStats.of(d[(window == f) & waking]))
                     for f in cut_from_days)

    learned_fa = sum(by_type.values())
    methods = [MethodResult("learned", learned_fa, per_day(learned_fa), windows(delays[:, 0]), by_type, trips)]
    for f, hours in enumerate(fixed_hours):
        methods.append(MethodResult(f"fixed {hours:g} h", fixed_fa[f], per_day(fixed_fa[f]),
                                    windows(delays[:, 1 + f])))
    methods.append(MethodResult(BOUND, 0, 0.0, windows(bound)))
    all_delays = {m.name: delays[:, i] for i, m in enumerate(methods[:-1])}
    all_delays[BOUND] = bound
    all_delays["next_activity"] = next_activity
    return BacktestResult(log_days, home_days, cut_from_days, tuple(waking_hours), methods, title,
                          cut_times=t0, cut_window=window, cut_waking=waking, delays=all_delays)


def in_sample_slot_limits(batch: EventBatch, active: np.ndarray, held_after: np.ndarray, away: np.ndarray,
                          slot_s: float = BOUND_SLOT_S) -> np.ndarray:
    """Per time-of-day slot: the longest inactivity elapsed at that time of day anywhere in
    the log while at home (seconds). Inactivity elapsed = time since the last activity, 0
    while a presence sensor is held; gaps that begin inside an inferred absence do not count,
    nor does the silence after the last event."""
    n_slots = int(round(DAY / slot_s))
    limits = np.zeros(n_slots)
    idx = np.flatnonzero(active)
    if idx.size < 2:
        return limits
    start, end = batch.mono[idx[:-1]], batch.mono[idx[1:]]
    keep = (held_after[idx[:-1]] == 0) & ~_inside(start, away) & (end > start)
    start, end = start[keep], end[keep]
    tod0 = batch.local[idx[:-1]][keep] % DAY
    length = end - start
    slot0 = (tod0 // slot_s).astype(np.int64)
    to_boundary = slot_s - tod0 % slot_s  # seconds from the gap's start to the end of its first slot
    within = length <= to_boundary
    np.maximum.at(limits, slot0[within] % n_slots, length[within])
    for g in np.flatnonzero(~within):  # gaps that cross slot boundaries: few, each walked slot by slot
        elapsed, slot = to_boundary[g], int(slot0[g])
        while elapsed < length[g]:
            limits[slot % n_slots] = max(limits[slot % n_slots], elapsed)
            slot, elapsed = slot + 1, elapsed + slot_s
        limits[slot % n_slots] = max(limits[slot % n_slots], length[g])
    return limits


def _slot_limit_detections(t0: np.ndarray, silent_since: np.ndarray, tod0: np.ndarray, limits: np.ndarray,
                           horizon_s: float = BOUND_HORIZON_S) -> np.ndarray:
    """First time >= t0 at which the silence (since ``silent_since``) exceeds the limit of
    the slot it is in; ``inf`` if not within ``horizon_s``."""
    n_slots = limits.size
    slot_s = DAY / n_slots
    det = np.full(t0.shape, np.inf)
    t = t0.astype(np.float64).copy()
    tod = tod0.astype(np.float64).copy()
    open_ = np.ones(t0.shape, dtype=bool)
    while open_.any():
        slot = (tod // slot_s).astype(np.int64) % n_slots
        slot_end = t + (slot_s - tod % slot_s)
        fire = np.maximum(t, silent_since + limits[slot])
        hit = open_ & (fire < slot_end)
        det[hit] = fire[hit]
        open_ &= ~hit
        open_ &= slot_end - t0 < horizon_s
        tod = (tod + (slot_end - t)) % DAY
        t = slot_end
    return det


def require_scorable(mono: Sequence[float], from_day: float = CUT_FROM_DAYS[0]) -> None:
    """BacktestInputError unless the log (its event times, in order) reaches past the first cut window's start."""
    need = f"a backtest needs a log longer than {from_day:g} days (collapses are simulated from day {from_day:g} on)"
    if len(mono) == 0:
        raise BacktestInputError(f"the log has no events: {need}")
    span = float(mono[-1]) - float(mono[0])
    if span <= from_day * DAY:
        raise BacktestInputError(f"the log covers {span / DAY:.1f} days: {need}")


def run_backtest(events: Sequence[Event] | EventBatch, config, *, cuts: int = 1000, seed: int = 0,
                 progress=None, **options) -> BacktestResult:
    """:func:`backtest` with the detector parameters of a hub config (``config.detector``
    carries every DetectorParams field). ``progress``: a stream for one line of context."""
    detector = getattr(config, "detector", None)
    values = {f.name: getattr(detector, f.name) for f in fields(DetectorParams) if hasattr(detector, f.name)}
    params = DetectorParams(**values)
    mono = events.mono if isinstance(events, EventBatch) else [e.mono for e in events[:1]] + [e.mono for e in events[-1:]]
    require_scorable(mono, min(options.get("cut_from_days", CUT_FROM_DAYS)))
    if progress is not None:
        n = len(events)
        windows = options.get("cut_from_days", CUT_FROM_DAYS)
        print(f"backtest: {n} events, {cuts} simulated collapses from each of days "
              f"{', '.join(f'{d:g}' for d in windows)}", file=progress)
    return backtest(events, params, cuts=cuts, seed=seed, **options)


def _detector(params: DetectorParams, prior) -> LearnedDetector:
    return LearnedDetector(params) if prior is None else LearnedDetector(params, prior=prior)


def _cut_detections(batch: EventBatch, params: DetectorParams, t0: np.ndarray, fixed: np.ndarray,
                    prior=None) -> np.ndarray:
    detector = _detector(params, prior)
    remap = np.array([detector.sensor_id(name) for name in batch.sensors], dtype=np.int64)
    s = detector.state()  # fresh arrays, sized for the sensors
    order = np.argsort(t0, kind="stable")
    det_sorted = kernels.cut_detections(
        batch.mono, batch.local, np.ascontiguousarray(batch.kind, dtype=np.int64), remap[batch.sensor], batch.value,
        params.kernel_vector(), params.bin_edges(), s["sv"], s["sens"], s["cur"], s["hist"], s["thr"],
        s["abs_hist"], s["held_hist"], s["acto"], t0[order], fixed,
    )
    det = np.empty_like(det_sorted)
    det[order] = det_sorted
    return det


def _clip_intervals(iv: np.ndarray, lo: float, hi: float) -> np.ndarray:
    if iv.size == 0:
        return iv.reshape(0, 2)
    out = np.clip(iv, lo, hi)
    return out[out[:, 1] > out[:, 0]]


def _complement(away: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """[lo, hi] minus the (sorted, disjoint) away intervals."""
    pieces, cursor = [], lo
    for a, b in away:
        if b <= cursor:
            continue
        if a > cursor:
            pieces.append((cursor, min(a, hi)))
        cursor = max(cursor, b)
        if cursor >= hi:
            break
    if cursor < hi:
        pieces.append((cursor, hi))
    arr = np.array([p for p in pieces if p[1] > p[0]], dtype=np.float64)
    return arr.reshape(-1, 2)


def _inside(times: np.ndarray, iv: np.ndarray) -> np.ndarray:
    if iv.size == 0:
        return np.zeros(times.shape, dtype=bool)
    idx = np.searchsorted(iv[:, 0], times, side="right") - 1
    ok = idx >= 0
    res = np.zeros(times.shape, dtype=bool)
    res[ok] = times[ok] < iv[idx[ok], 1]
    return res


def _sample_home_times(home: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` times drawn uniformly from the union of the home intervals."""
    if home.size == 0 or n <= 0:
        return np.zeros(0)
    lengths = home[:, 1] - home[:, 0]
    cum = np.concatenate([[0.0], np.cumsum(lengths)])
    u = np.random.default_rng(seed).uniform(0.0, cum[-1], n)
    k = np.clip(np.searchsorted(cum, u, side="right") - 1, 0, len(home) - 1)
    return home[k, 0] + (u - cum[k])


def _local_at(batch: EventBatch, t: np.ndarray) -> np.ndarray:
    """Local time at mono ``t``: that of the last event before it, advanced with mono."""
    idx = np.clip(np.searchsorted(batch.mono, t, side="right") - 1, 0, len(batch) - 1)
    return batch.local[idx] + (t - batch.mono[idx])


def _short(name: str) -> str:
    return "bound" if name == BOUND else name.replace("fixed ", "").replace(" h", "h")


def _h(x: float) -> str:
    return "inf" if math.isinf(x) else ("-" if math.isnan(x) else f"{x:.1f}")


def _hh(hours: tuple[float, float]) -> str:
    return f"{hours[0]:02g}-{hours[1]:02g}h"
