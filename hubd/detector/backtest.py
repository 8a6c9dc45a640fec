"""Backtest: how fast would the hub have noticed a collapse, and how often would it cry wolf?

Protocol (detection.md section 4): replay a normal-life log and count false alarms per
day at home; then cut the log at random moments t0 while the resident is at home
(every presence sensor held ON is released at t0, as a collapsed person leaves the mat)
and measure the delay from t0 to the first resident alert, over all hours and over
waking hours. The learned detector and fixed no-activity timers (12 h and 6 h, the
industry baseline) run side by side on the same cuts. Learning is online: at a cut the
detector knows only the log before it. The first ``warmup_days`` are not scored.

Away time is inferred (entrance door, then no inside activity) in hindsight: an absence
runs from the first entrance event to the inside activity on return. Fixed-timer alarms
that start while away are not counted (the resident would have pressed "away").

Beside them the backtest reports a *bound*: per cut, the time from t0 to the next
activity in the real log. Until then the cut log and the real one are the same, so no
method that raises no false alarm on this log can be faster. (A cut while a mat is held
releases it, so the logs differ at t0 at once: the bound is 0 there.) The bound shows how much
of a delay the home itself imposes (a resident asleep without a bed sensor), not the
method.
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
WARMUP_DAYS = 7.0  # the first days of a log teach the detector and are not scored
TARGETS = {"false_alarms_per_day": 0.025, "median_delay_hours": 2.0, "p90_delay_hours": 8.0, "missed_24h": 0}


class BacktestInputError(ValueError):
    """A log the backtest cannot score: no events, or none past the warm-up."""


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
class MethodResult:
    name: str
    false_alarms: int
    false_alarms_per_day: float
    delay_all: DelayStats
    delay_waking: DelayStats
    other_alerts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class BacktestResult:
    log_days: float
    warmup_days: float
    home_days: float
    waking_hours: tuple[float, float]
    methods: list[MethodResult]
    title: str = ""
    bound_all: DelayStats | None = None  # time to the next real activity: no false-alarm-free method is faster
    bound_waking: DelayStats | None = None
    cut_times: np.ndarray = field(default=None, repr=False, compare=False)  # mono t0 of each cut
    delays: dict = field(default=None, repr=False, compare=False)  # method name (and "bound") -> delay (s) per cut

    def method(self, name: str) -> MethodResult:
        return next(m for m in self.methods if m.name == name)

    def as_dict(self) -> dict:
        return {
            "title": self.title,
            "log_days": self.log_days,
            "warmup_days": self.warmup_days,
            "home_days_scored": self.home_days,
            "waking_hours": list(self.waking_hours),
            "targets": dict(TARGETS),
            "methods": [asdict(m) for m in self.methods],
            "bound": {"delay_all": asdict(self.bound_all) if self.bound_all else None,
                      "delay_waking": asdict(self.bound_waking) if self.bound_waking else None},
        }

    def format_table(self) -> str:
        """A table that fits a phone-sized terminal (40 columns)."""
        names = [_short(m.name) for m in self.methods]
        lines = []
        if self.title:
            lines.append(self.title[:40])
        lines.append(f"{self.log_days:.1f} d log, {self.warmup_days:g} d warm-up,")
        lines.append(f"{self.home_days:.1f} d at home scored")
        lines.append(f"{'':13}" + "".join(f"{n:>9}" for n in names))

        def row(label: str, values: list[str]) -> None:
            lines.append(f"{label:13}" + "".join(f"{v:>9}" for v in values))

        row("false alarms", [str(m.false_alarms) for m in self.methods])
        row("  per day", [f"{m.false_alarms_per_day:.3f}" for m in self.methods])
        for title, attr in (("all hours", "delay_all"), (f"waking {_hh(self.waking_hours)}", "delay_waking")):
            stats = [getattr(m, attr) for m in self.methods]
            lines.append(f"delay (h), {title}, {stats[0].cuts} cuts")
            row("  median", [_h(s.median_hours) for s in stats])
            row("  p90", [_h(s.p90_hours) for s in stats])
            row("  max", [_h(s.max_hours) for s in stats])
            row("  missed 24h", [str(s.missed_24h) for s in stats])
        if self.bound_all is not None:
            lines.append("bound (next real activity), h")
            lines.append(f"  all {_h(self.bound_all.median_hours)} / {_h(self.bound_all.p90_hours)}, "
                         f"waking {_h(self.bound_waking.median_hours)} / {_h(self.bound_waking.p90_hours)}")
            lines.append("  (median / p90)")
        others = self.methods[0].other_alerts
        if others:
            lines.append("other alerts (learned)")
            for kind, count in others.items():
                lines.append(f"  {kind.replace('_', ' '):20}{count:>9}")
        lines.append("target: <=0.025 FA/d, median <=2 h,")
        lines.append("p90 <=8 h, none missed in 24 h")
        return "\n".join(lines)


def backtest(
    events: Sequence[Event] | EventBatch,
    params: DetectorParams | None = None,
    *,
    cuts: int = 1000,
    seed: int = 0,
    warmup_days: float = WARMUP_DAYS,
    waking_hours: tuple[float, float] = (8.0, 22.0),  # local clock hours; (20, 8) wraps midnight
    fixed_hours: tuple[float, ...] = (12.0, 6.0),
    title: str = "",
) -> BacktestResult:
    """Replay ``events`` with the learned detector and fixed timers; see the module docstring."""
    params = params or DetectorParams()
    batch = events if isinstance(events, EventBatch) else EventBatch.from_events(events)
    require_scorable(batch.mono, warmup_days)
    t_first, t_last = float(batch.mono[0]), float(batch.mono[-1])
    scored_from = t_first + warmup_days * DAY

    normal = LearnedDetector(params).replay(batch)
    away = _clip_intervals(normal.away, t_first, t_last)
    home = _complement(away, scored_from, t_last)
    home_days = float(np.sum(home[:, 1] - home[:, 0])) / DAY if home.size else 0.0

    learned_fa = [e for e in normal.episodes if e.finding.type == "inactivity" and e.start_mono >= scored_from]
    others = {
        kind: sum(1 for e in normal.episodes if e.finding.type == kind and e.start_mono >= scored_from)
        for kind in ("not_returned", "stayed_in_place")
    }

    kind = np.ascontiguousarray(batch.kind, dtype=np.int64)
    sensor = np.ascontiguousarray(batch.sensor, dtype=np.int64)
    active, held_after = kernels.classify_events(kind, sensor, batch.value, batch.mono, len(batch.sensors),
                                                 params.appliance_margin_watts,
                                                 params.appliance_standby_tau_hours * HOUR)
    fixed_fa = []
    for hours in fixed_hours:
        eps = kernels.fixed_timer_episodes(batch.mono, active, held_after, hours * HOUR)
        starts = eps[:, 0]
        fixed_fa.append(int(np.count_nonzero((starts >= scored_from) & ~_inside(starts, away))))

    t0 = _sample_home_times(home, cuts, seed)
    det = _cut_detections(batch, params, t0, np.array(fixed_hours) * HOUR)
    delays = det - t0[:, None]
    tod = _local_at(batch, t0) % DAY
    lo, hi = waking_hours[0] * HOUR, waking_hours[1] * HOUR
    waking = (tod >= lo) & (tod < hi) if lo <= hi else (tod >= lo) | (tod < hi)  # a window may wrap midnight

    act = batch.mono[active]
    nxt = np.searchsorted(act, t0, side="right")
    bound = np.where(nxt < act.size, act[np.minimum(nxt, act.size - 1)], np.inf) - t0
    last = np.searchsorted(batch.mono, t0, side="right") - 1
    bound[(last >= 0) & (held_after[np.maximum(last, 0)] > 0)] = 0.0  # a cut that releases a mat changes the log at once

    def per_day(count: int) -> float:
        return count / home_days if home_days > 0 else math.nan

    methods = [MethodResult("learned", len(learned_fa), per_day(len(learned_fa)), DelayStats.of(delays[:, 0]),
                            DelayStats.of(delays[waking, 0]), others)]
    for f, hours in enumerate(fixed_hours):
        methods.append(MethodResult(f"fixed {hours:g} h", fixed_fa[f], per_day(fixed_fa[f]),
                                    DelayStats.of(delays[:, 1 + f]), DelayStats.of(delays[waking, 1 + f])))
    return BacktestResult((t_last - t_first) / DAY, warmup_days, home_days, tuple(waking_hours), methods, title,
                          bound_all=DelayStats.of(bound), bound_waking=DelayStats.of(bound[waking]),
                          cut_times=t0, delays={**{m.name: delays[:, i] for i, m in enumerate(methods)}, "bound": bound})


def require_scorable(mono: Sequence[float], warmup_days: float = WARMUP_DAYS) -> None:
    """BacktestInputError unless the log (its event times, in order) reaches past the warm-up."""
    need = f"a backtest needs a log longer than {warmup_days:g} days (the first {warmup_days:g} days are warm-up, not scored)"
    if len(mono) == 0:
        raise BacktestInputError(f"the log has no events: {need}")
    span = float(mono[-1]) - float(mono[0])
    if span <= warmup_days * DAY:
        raise BacktestInputError(f"the log covers {span / DAY:.1f} days: {need}")


def run_backtest(events: Sequence[Event] | EventBatch, config, *, cuts: int = 1000, seed: int = 0,
                 progress=None, **options) -> BacktestResult:
    """:func:`backtest` with the detector parameters of a hub config (``config.detector``
    carries every DetectorParams field). ``progress``: a stream for one line of context."""
    detector = getattr(config, "detector", None)
    values = {f.name: getattr(detector, f.name) for f in fields(DetectorParams) if hasattr(detector, f.name)}
    params = DetectorParams(**values)
    mono = events.mono if isinstance(events, EventBatch) else [e.mono for e in events[:1]] + [e.mono for e in events[-1:]]
    require_scorable(mono, options.get("warmup_days", WARMUP_DAYS))
    if progress is not None:
        n = len(events)
        print(f"backtest: {n} events, {cuts} simulated collapses", file=progress)
    return backtest(events, params, cuts=cuts, seed=seed, **options)


def _cut_detections(batch: EventBatch, params: DetectorParams, t0: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    detector = LearnedDetector(params)
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
    return name.replace("fixed ", "").replace(" h", "h")


def _h(x: float) -> str:
    return "inf" if math.isinf(x) else ("-" if math.isnan(x) else f"{x:.1f}")


def _hh(hours: tuple[float, float]) -> str:
    return f"{hours[0]:02g}-{hours[1]:02g}h"
