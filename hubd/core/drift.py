"""Drift: slow changes in the daily rhythm records, reported, never alarmed.

Four kinds, each judged on the records of :mod:`hubd.core.rhythm_record` at the end of a day
against the month before the last two weeks (days -42 .. -15; at least 21 of them kept):

* ``activity``: active minutes per hour at home over the last ``activity_days`` days at or
  below ``activity_ratio`` of that month's (a long day out is less time to be active in, not
  less activity);
* ``sleep``: the median of the last ``sleep_days`` nights' moves of the sleep midpoint from
  that month's (circular mean) at least ``sleep_shift_hours``, and at least
  ``sleep_spread_factor`` times that month's spread (circular SD: an irregular sleeper's nights
  move more by themselves); one very late night among them is no drift, most must have moved;
* ``outings``: no outing for ``no_outing_days`` days and for longer than ``outing_gap_factor``
  times the longest gap between outings in the month before the gap began (outings were
  usual: at least 4 days with one; a day away counts as one with an outing);
* ``nights``: the last 7 nights' mean activity from 00:00 to 05:00 at least ``night_ratio``
  times that month's and ``night_extra_minutes`` more.

Each report carries its evidence (the numbers before and after, and the days they cover). A
kind once reported is quiet for ``cooldown_days``: a drift is one report, not one a day.
"""

from __future__ import annotations

import math
import statistics
from typing import Any, Iterable, Sequence

from ..detector.rhythm import clock_shift
from .rhythm_record import MINUTES

KINDS = ("activity", "sleep", "outings", "nights")
BASELINE = (42, 15)  # the month before the last two weeks: days -42 .. -15 (the last day is 0)
MIN_BASELINE_DAYS = 21
MIN_OUTING_DAYS = 4
AWAY_MINUTES = 1200  # a day out of the flat this long (20 h) is a day away (a trip), not a day at home


def at_home(r: dict) -> bool:
    """A day the flat saw whole (not a restart's partial day) and the resident mostly in: a day
    away says nothing about how they live at home."""
    return not r.get("partial") and r["out_minutes"] < AWAY_MINUTES


def went_out(r: dict) -> bool:
    return bool(r["outings"]) or r["out_minutes"] >= AWAY_MINUTES


def _in(records: Sequence[dict], last: int, first_back: int, last_back: int) -> list[dict]:
    """Days at home from ``last - first_back`` to ``last - last_back``."""
    return [r for r in records if last - first_back <= r["day"] <= last - last_back and at_home(r)]


def _mean(values: Iterable[float]) -> float | None:
    vals = [float(v) for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def circular_mean_hours(hours: Iterable[float]) -> float | None:
    vals = [h for h in hours if h is not None]
    if not vals:
        return None
    s = sum(math.sin(h / 24 * 2 * math.pi) for h in vals)
    c = sum(math.cos(h / 24 * 2 * math.pi) for h in vals)
    if abs(s) < 1e-9 and abs(c) < 1e-9:
        return None
    return (math.atan2(s, c) / (2 * math.pi) * 24) % 24


def circular_sd_hours(hours: Iterable[float]) -> float | None:
    """The circular standard deviation of clock hours, in hours (how irregular the nights are)."""
    vals = [h for h in hours if h is not None]
    if len(vals) < 2:
        return None
    s = sum(math.sin(h / 24 * 2 * math.pi) for h in vals) / len(vals)
    c = sum(math.cos(h / 24 * 2 * math.pi) for h in vals) / len(vals)
    r = min(1.0, math.hypot(s, c))
    return math.sqrt(-2 * math.log(r)) / (2 * math.pi) * 24 if r > 0 else 12.0


def baseline(records: Sequence[dict]) -> list[dict] | None:
    """The days at home the last day is judged against; None while there are too few to judge."""
    base = _in(records, records[-1]["day"], *BASELINE) if records else []
    return base if len(base) >= MIN_BASELINE_DAYS else None


def findings(records: Sequence[dict], rules: Any) -> list[dict[str, Any]]:
    """The drifts the records show at their last day (``rules``: a ``RhythmConfig``)."""
    base = baseline(records)
    if base is None:
        return []
    last = records[-1]["day"]
    out = []
    for judge in (_activity, _sleep, _outings, _nights):
        found = judge(records, base, last, rules)
        if found is not None:
            out.append(found)
    return out


def _span(rs: Sequence[dict]) -> list[str]:
    return [rs[0]["date"], rs[-1]["date"]] if rs else []


def active_per_home_hour(rs: Sequence[dict]) -> float | None:
    """Active minutes per hour at home over the days ``rs`` (a ratio of sums: a day mostly out
    weighs little)."""
    home_hours = sum(MINUTES - r["out_minutes"] for r in rs) / 60.0
    return sum(r["active_minutes"] for r in rs) / home_hours if home_hours > 0 else None


def _activity(records, base, last, rules):
    recent = _in(records, last, rules.activity_days - 1, 0)
    before, after = active_per_home_hour(base), active_per_home_hour(recent)
    if len(recent) < rules.activity_days or not before or after is None or after / before > rules.activity_ratio:
        return None
    return _report("activity", before, after, after / before - 1.0, base, recent, "active minutes per hour at home")


def _sleep(records, base, last, rules):
    recent = _in(records, last, rules.sleep_days - 1, 0)
    nights = [r["sleep_mid"] for r in recent if r.get("sleep_mid") is not None]
    before = circular_mean_hours(r.get("sleep_mid") for r in base)
    if before is None or len(nights) < max(1, rules.sleep_days - 1):
        return None
    spread = circular_sd_hours(r.get("sleep_mid") for r in base) or 0.0
    bar = max(rules.sleep_shift_hours, rules.sleep_spread_factor * spread)
    shift = statistics.median(clock_shift(before, h) for h in nights)
    if abs(shift) < bar:
        return None
    after = (before + shift) % 24.0  # the median night's midpoint
    return _report("sleep", before, after, shift, base, recent, "sleep midpoint, clock hours",
                   spread_before=round(spread, 2))


def _outings(records, base, last, rules):
    kept = [r for r in records if not r.get("partial")]
    streak = 0
    for r in reversed(kept):
        if went_out(r):
            break
        streak += 1
    if streak < rules.no_outing_days or streak >= len(kept):
        return None
    first_quiet = last - streak + 1
    month = [r for r in kept if first_quiet - 28 <= r["day"] < first_quiet]
    out_days = [r["day"] for r in month if went_out(r)]
    if len(out_days) < MIN_OUTING_DAYS:
        return None
    longest = max(b - a - 1 for a, b in zip([first_quiet - 29] + out_days, out_days + [first_quiet]))
    if streak <= rules.outing_gap_factor * longest:
        return None
    before = len(out_days) / len(month) * 7.0
    return _report("outings", before, 0.0, float(streak), month, kept[-streak:], "days with an outing a week",
                   days_without=streak, longest_gap_before=longest)


def _nights(records, base, last, rules):
    recent = _in(records, last, 6, 0)
    before = _mean(r["night_active_minutes"] for r in base)
    after = _mean(r["night_active_minutes"] for r in recent)
    if len(recent) < 7 or before is None or after is None:
        return None
    if after < before * rules.night_ratio or after - before < rules.night_extra_minutes:
        return None
    return _report("nights", before, after, after - before, base, recent, "active minutes 00:00-05:00 a night")


def _report(kind: str, before: float, after: float, change: float, base, recent, unit: str, **more) -> dict[str, Any]:
    return {"type": "rhythm_drift", "kind": kind, "before": round(before, 2), "after": round(after, 2),
            "change": round(change, 2), "unit": unit, "before_days": _span(base), "after_days": _span(recent), **more}


class DriftWatch:
    """Which drifts were reported when: each kind once per ``cooldown_days``."""

    def __init__(self, rules: Any):
        self.rules = rules
        self.last: dict[str, int] = {}  # kind -> day reported

    def judge(self, records: Sequence[dict]) -> list[dict[str, Any]]:
        """New reports at the records' last day (call once per closed day)."""
        if not records:
            return []
        day = records[-1]["day"]
        new = []
        for found in findings(records, self.rules):
            since = self.last.get(found["kind"])
            if since is not None and day - since < self.rules.cooldown_days:
                continue
            self.last[found["kind"]] = day
            new.append({**found, "day": day, "date": records[-1]["date"]})
        return new

    def state(self) -> dict[str, int]:
        return dict(self.last)

    def load(self, state: dict[str, int] | None) -> None:
        self.last = {str(k): int(v) for k, v in (state or {}).items() if k in KINDS}
