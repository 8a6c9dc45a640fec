"""Circadian rhythm metrics for the weekly report, and slow-change (drift) reports.

Non-parametric rest-activity metrics (van Someren 1999) computed the way pyActigraphy
computes them (re-implemented, not vendored: pyActigraphy is GPL-3):

* the activity series is one-minute bins of activity events (onsets), binarised as
  count > ``threshold`` (0 for event onsets: a minute with any activity is active);
* IS and IV use one-hour sums of that binary series, anchored at the first timestamp
  (``start``), and variances with n-1 (``ddof=1``), so IS = var(hourly profile) /
  var(hourly series) and IV = mean(squared hour-to-hour differences) / var(series);
  both differ from the textbook formulas by the factors n/(n-1) and p/(p-1) (IS can
  exceed 1 slightly when every day is identical);
* L5 and M10 are the mean of the binary one-minute average daily profile over the least
  active 5 h / most active 10 h, windows wrapping midnight (a cyclic profile); their
  onsets are the window start times (local clock); ties go to the earliest start;
  RA = (M10 - L5) / (M10 + L5).

Deliberate differences: only whole hours enter IS/IV by default (pyActigraphy keeps a
last partial hour as a short sum; ``partial_last_hour=True`` does the same, and then all
five metrics equal pyActigraphy 1.2.2's on its example recordings to 4 decimals, see
``benchmarks/rhythm_vs_pyactigraphy.py``); an input is a list of activity times rather than a sampled recording, so minutes
with no events are zeros, not missing data (time away from home counts as inactive; the
caller picks windows). Absolute values are not comparable with wrist actigraphy: use
them per resident, as weekly trends, never as alarm triggers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..events import EventBatch
from . import kernels
from .params import DetectorParams

MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0


@dataclass(frozen=True)
class RhythmMetrics:
    start_local: float
    days: float
    IS: float
    IV: float
    RA: float
    L5: float
    M10: float
    L5_onset_hours: float  # local clock hour the least active 5 h start
    M10_onset_hours: float
    active_minutes_per_day: float


@dataclass(frozen=True)
class RhythmReport:
    """A slow change worth a line in the weekly report: never an alarm."""

    metric: str  # "activity" | "l5_onset" | "interdaily_stability"
    before: float
    after: float
    change: float
    before_start_local: float
    after_start_local: float
    message: str
    type: str = "rhythm_drift"


def activity_local_times(batch: EventBatch, params: DetectorParams | None = None) -> np.ndarray:
    """Local times of the events that count as activity (the detector's own definition)."""
    p = params or DetectorParams()
    active, _ = kernels.classify_events(np.ascontiguousarray(batch.kind, dtype=np.int64),
                                        np.ascontiguousarray(batch.sensor, dtype=np.int64), batch.value, batch.mono,
                                        len(batch.sensors), p.appliance_margin_watts,
                                        p.appliance_standby_tau_hours * HOUR)
    return np.ascontiguousarray(batch.local[active], dtype=np.float64)


def minute_series(times_local: np.ndarray, start: float, end: float, threshold: float = 0.0) -> np.ndarray:
    """Binary activity per minute from ``start`` (inclusive) to ``end``: count > threshold."""
    n = max(0, int((end - start) // MINUTE))
    counts = kernels.bin_counts(np.sort(np.asarray(times_local, dtype=np.float64)), start, MINUTE, n)
    return (counts > threshold).astype(np.float64)


def interdaily_stability(hourly: np.ndarray) -> float:
    """var(mean per hour-of-day) / var(series), both with ddof=1 (pyActigraphy's IS)."""
    n = hourly.size
    if n < 48:
        return math.nan
    total_var = np.var(hourly, ddof=1)
    if total_var == 0:
        return math.nan
    profile = np.array([hourly[h::24].mean() for h in range(24)])
    return float(np.var(profile, ddof=1) / total_var)


def intradaily_variability(hourly: np.ndarray) -> float:
    """mean((x[i] - x[i-1])^2) / var(x, ddof=1) (pyActigraphy's IV)."""
    if hourly.size < 3:
        return math.nan
    total_var = np.var(hourly, ddof=1)
    if total_var == 0:
        return math.nan
    return float(np.mean(np.diff(hourly) ** 2) / total_var)


def daily_profile(minutes: np.ndarray, start: float) -> np.ndarray:
    """Mean of the binary minute series per local minute of the day (1440 values, 00:00 first)."""
    first = int(((start % DAY) // MINUTE))
    minute_of_day = (first + np.arange(minutes.size)) % 1440
    sums = np.bincount(minute_of_day, weights=minutes, minlength=1440)
    counts = np.bincount(minute_of_day, minlength=1440)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)


def rhythm_metrics(times_local: np.ndarray, start: float, end: float, threshold: float = 0.0, *,
                   partial_last_hour: bool = False) -> RhythmMetrics:
    """IS, IV, RA, L5, M10 and onsets over [start, end) (local seconds; start should be a whole minute).

    ``partial_last_hour``: let a last incomplete hour enter IS/IV as a short sum, as
    pyActigraphy does (off by default: a short hour looks like a quiet one)."""
    minutes = minute_series(times_local, start, end, threshold)
    hourly_minutes = minutes
    if partial_last_hour and minutes.size % 60:  # the short last hour is summed as it is
        hourly_minutes = np.concatenate([minutes, np.zeros(60 - minutes.size % 60)])
    hours = hourly_minutes.size // 60
    hourly = hourly_minutes[: hours * 60].reshape(hours, 60).sum(axis=1) if hours else np.zeros(0)
    days = minutes.size / 1440.0
    if minutes.size >= 1440:
        profile = daily_profile(minutes, start)
        l5_start, l5 = kernels.cyclic_extreme_window(profile, 300, True)
        m10_start, m10 = kernels.cyclic_extreme_window(profile, 600, False)
        ra = (m10 - l5) / (m10 + l5) if m10 + l5 > 0 else math.nan
        l5_on, m10_on = l5_start / 60.0, m10_start / 60.0
    else:
        l5 = m10 = ra = l5_on = m10_on = math.nan
    return RhythmMetrics(
        start_local=start, days=days, IS=interdaily_stability(hourly), IV=intradaily_variability(hourly), RA=ra,
        L5=l5, M10=m10, L5_onset_hours=l5_on, M10_onset_hours=m10_on,
        active_minutes_per_day=float(minutes.sum() / days) if days else math.nan,
    )


def weekly_metrics(times_local: np.ndarray, start: float, end: float, window_days: float = 7.0,
                   step_days: float = 7.0, threshold: float = 0.0) -> list[RhythmMetrics]:
    """The metrics over each complete window (the per-period variants: ISp, RAp, ...)."""
    out, t = [], start
    while t + window_days * DAY <= end:
        out.append(rhythm_metrics(times_local, t, t + window_days * DAY, threshold))
        t += step_days * DAY
    return out


def active_minutes_per_day(times_local: np.ndarray, start: float, end: float) -> np.ndarray:
    """Active minutes in each whole local day from the day of ``start`` (activity level per day)."""
    day0 = math.floor(start / DAY) * DAY
    n_days = int(math.ceil((end - day0) / DAY))
    minutes = minute_series(times_local, day0, day0 + n_days * DAY)
    return minutes.reshape(n_days, 1440).sum(axis=1)


def clock_shift(a: float, b: float) -> float:
    """Signed shift from a to b on the 24 h clock, in (-12, 12]."""
    d = (b - a) % 24.0
    return d - 24.0 if d > 12.0 else d


def rhythm_drift(times_local: np.ndarray, end: float, *, activity_ratio: float = 0.5, onset_shift_hours: float = 3.0,
                 is_drop: float = 0.2, threshold: float = 0.0) -> list[RhythmReport]:
    """Slow changes between the week ending at ``end`` and the week two weeks earlier.

    Reports: active minutes per day down to ``activity_ratio`` or less; the L5 onset
    (the core of sleep) moved by ``onset_shift_hours`` or more; IS down by ``is_drop``
    or more. ``end`` should be a local midnight for clean day boundaries.
    """
    after_start, before_start = end - 7 * DAY, end - 21 * DAY
    after = rhythm_metrics(times_local, after_start, end, threshold)
    before = rhythm_metrics(times_local, before_start, before_start + 7 * DAY, threshold)
    reports = []
    if before.active_minutes_per_day > 0:
        ratio = after.active_minutes_per_day / before.active_minutes_per_day
        if ratio <= activity_ratio:
            reports.append(RhythmReport(
                "activity", before.active_minutes_per_day, after.active_minutes_per_day, ratio - 1.0, before_start,
                after_start, f"activity down {100 * (1 - ratio):.0f}% over two weeks "
                f"({before.active_minutes_per_day:.0f} -> {after.active_minutes_per_day:.0f} active min/day)"))
    if not (math.isnan(before.L5_onset_hours) or math.isnan(after.L5_onset_hours)):
        shift = clock_shift(before.L5_onset_hours, after.L5_onset_hours)
        if abs(shift) >= onset_shift_hours:
            reports.append(RhythmReport(
                "l5_onset", before.L5_onset_hours, after.L5_onset_hours, shift, before_start, after_start,
                f"quietest 5 h start {abs(shift):.1f} h {'later' if shift > 0 else 'earlier'} "
                f"({before.L5_onset_hours:05.2f} -> {after.L5_onset_hours:05.2f} h)"))
    if not (math.isnan(before.IS) or math.isnan(after.IS)) and before.IS - after.IS >= is_drop:
        reports.append(RhythmReport(
            "interdaily_stability", before.IS, after.IS, after.IS - before.IS, before_start, after_start,
            f"days less alike: IS {before.IS:.2f} -> {after.IS:.2f}"))
    return reports
