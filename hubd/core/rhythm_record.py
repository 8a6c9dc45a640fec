"""The daily rhythm record: what one local day looked like, kept small for a year.

Fed the same inside events as the detector (:meth:`RhythmDays.observe`), it keeps the current
day as one flag per minute (active, out of the flat) and, when a later local day begins
(:meth:`RhythmDays.roll`), turns it into a record: activity, night-time activity, outings and
time out, the night's sleep, and IS/IV/RA/L5/M10 over the trailing 7 and 28 days computed
by the kernels of :mod:`hubd.detector.rhythm`. The minute flags of the last 28 days are kept
packed (180 bytes a day) so the windows can be computed; older days keep only their record.

Days are local calendar days (``local // 86400``): across a DST change a day has 23 or 25
hours of real time but one record, and a clock set back within a day stays in that day.
A bed is a presence sensor whose id says ``bed``: while one is held the night's sleep is
read from it; without one, sleep is the longest stretch at home with no activity.
"""

from __future__ import annotations

import base64
import math
from collections import deque
from datetime import datetime, timezone
from typing import Any

import numpy as np

from ..detector import rhythm
from ..detector.base import is_activity
from ..events import Event, Kind

MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0
MINUTES = 1440
NIGHT = (0, 5 * 60)  # night-time activity: active minutes from 00:00 to 05:00
WINDOWS = (7, 28)
MAX_RECORDS = 400  # a year and a month: ~1 kB a day of JSON, far less packed in the snapshot
BED_GAP_MINUTES = 30  # a bed left this briefly (the bathroom) is one night
MIN_SLEEP_MINUTES = 120
BRIDGE_WAKE, BRIDGE_REST = 15, 60  # a wake this short between two rests this long is still the night


def day_of(local: float) -> int:
    return int(local // DAY)


def date_of(day: int) -> str:
    return datetime.fromtimestamp(day * DAY, tz=timezone.utc).strftime("%Y-%m-%d")


def _pack(flags: np.ndarray) -> str:
    return base64.b64encode(np.packbits(flags.astype(np.uint8)).tobytes()).decode("ascii")


def _unpack(text: str) -> np.ndarray:
    bits = np.unpackbits(np.frombuffer(base64.b64decode(text), dtype=np.uint8))[:MINUTES]
    if bits.size != MINUTES:
        raise ValueError("a packed day must hold 1440 minutes")
    return bits.astype(bool)


def _r(x: float, nd: int = 3) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), nd)


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True."""
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def _window_metrics(days: list[tuple[int, np.ndarray]], end_day: int, n: int) -> dict[str, Any] | None:
    """IS, IV, RA, L5, M10 (and onsets) over the ``n`` days ending with ``end_day``; None until all are kept."""
    kept = {d: a for d, a in days if end_day - n < d <= end_day}
    if len(kept) < n:
        return None
    times = np.concatenate([d * DAY + np.flatnonzero(a) * MINUTE for d, a in sorted(kept.items())])
    m = rhythm.rhythm_metrics(times, (end_day - n + 1) * DAY, (end_day + 1) * DAY)
    return {"IS": _r(m.IS), "IV": _r(m.IV), "RA": _r(m.RA), "L5": _r(m.L5), "M10": _r(m.M10),
            "L5_onset": _r(m.L5_onset_hours, 2), "M10_onset": _r(m.M10_onset_hours, 2)}


def _sleep(active: np.ndarray, out: np.ndarray, bed: np.ndarray | None) -> tuple[int, int] | None:
    """The night's sleep in minutes of a two-day span (yesterday then today): the longest bed
    occupancy (short leaves bridged), else the longest stretch at home without activity, whose
    midpoint falls in today."""
    if bed is not None and bed.any():
        held = bed.copy()
        for a, b in _runs(~bed):
            if 0 < a and b < held.size and b - a <= BED_GAP_MINUTES:
                held[a:b] = True
        found = _longest_in_today(held)
        if found is not None:
            return found
    return _longest_in_today(~active & ~out)


def _sleep_runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """Runs of rest with short wakes bridged (a night's bathroom visit): two runs of at least
    :data:`BRIDGE_REST` minutes with at most :data:`BRIDGE_WAKE` between are one."""
    merged: list[tuple[int, int]] = []
    for a, b in _runs(flags):
        if b - a < BRIDGE_REST:  # (shorter rests are too short to be sleep: part of a wake)
            continue
        if merged and a - merged[-1][1] <= BRIDGE_WAKE:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def _longest_in_today(flags: np.ndarray) -> tuple[int, int] | None:
    best = None
    for a, b in _sleep_runs(flags):
        if MINUTES <= (a + b) / 2 < 2 * MINUTES and b - a >= MIN_SLEEP_MINUTES:
            if best is None or b - a > best[1] - best[0]:
                best = (a, b)
    return best


class RhythmDays:
    """The current day's minute flags and the finished days' records (bounded)."""

    def __init__(self, outing_minutes: float = 15.0, bed_sensors: frozenset[str] | set[str] = frozenset()):
        self.outing_s = outing_minutes * MINUTE
        self.bed_sensors = frozenset(bed_sensors)
        self.day: int | None = None
        self.active = np.zeros(MINUTES, dtype=bool)
        self.out = np.zeros(MINUTES, dtype=bool)
        self.bed = np.zeros(MINUTES, dtype=bool)
        self.outings = 0
        self.partial = False  # the current day was not watched from its start
        self.beds_on: dict[str, float] = {}  # bed sensor -> local time it was taken
        self.door_since: float | None = None  # first front-door event after the last inside activity
        self.door_last: float | None = None
        self.counted: float | None = None  # the door_since already counted as an outing (out over midnight)
        self.kept: deque[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = deque(maxlen=max(WINDOWS) + 1)
        self.records: deque[dict[str, Any]] = deque(maxlen=MAX_RECORDS)

    # -- input -------------------------------------------------------------------
    def observe(self, event: Event) -> list[dict[str, Any]]:
        """One inside event; returns the records of the days it closed (usually none)."""
        done = self.roll(event.local)
        if self.day is None:  # the first day seen is seen from its first event only
            self.day, self.partial = day_of(event.local), True
        minute = self._minute(event.local)
        if event.sensor in self.bed_sensors and event.kind is Kind.PRESENCE:
            self._bed(event.sensor, event.value > 0, event.local)
        if event.kind is Kind.ENTRANCE:
            if self.door_since is None:
                self.door_since = event.local
            self.door_last = event.local
            self.active[minute] = True
            return done
        if event.kind is not Kind.APPLIANCE and is_activity(event):
            self.active[minute] = True
            self._back(event.local)
        return done

    def roll(self, local: float) -> list[dict[str, Any]]:
        """Close every day before the one of ``local``: the records made (a clock set back never reopens a day)."""
        done = []
        while self.day is not None and day_of(local) > self.day:
            done.append(self._close())
        return done

    def skip_unobserved(self, local: float) -> list[dict[str, Any]]:
        """After a restart: the day the hub went down in is closed (marked partial) and the days it
        was down get no record, rather than records of a silence nobody watched."""
        if self.day is None or day_of(local) <= self.day:
            return []
        self.partial = True  # the day the hub went down in
        record = self._close()
        self.day, self.partial = day_of(local), True  # and the day it came back in
        self.door_since = self.door_last = self.counted = None
        self.beds_on.clear()
        return [record]

    def _minute(self, local: float) -> int:
        if day_of(local) < (self.day or 0):  # set back across midnight: counted in the day still open
            return MINUTES - 1
        return min(MINUTES - 1, int((local - self.day * DAY) // MINUTE))

    def _span(self, a: float, until: float) -> tuple[int, int]:
        """The minutes [lo, hi) of today from ``a`` to ``until`` (at least the minute of ``a``)."""
        lo = self._minute(a)
        return lo, max(lo + 1, min(MINUTES, int((until - self.day * DAY) // MINUTE)))

    def _back(self, local: float) -> None:
        """Activity inside: the time since the front door was an outing if long enough (nothing
        inside moved meanwhile; the return is the first sign inside)."""
        since = self.door_since
        self.door_since = self.door_last = None
        if since is None or local - since < self.outing_s:
            return
        if since != self.counted:
            self.outings += 1
        self._mark_out(since, local)
        self.counted = None

    def _mark_out(self, since: float, until: float) -> None:
        a = max(since, self.day * DAY)
        if until > a:
            lo, hi = self._span(a, until)
            self.out[lo:hi] = True

    def _bed(self, sensor: str, on: bool, local: float) -> None:
        if on:
            self.beds_on.setdefault(sensor, local)
            return
        since = self.beds_on.pop(sensor, None)
        if since is not None:
            self._mark_bed(since, local)

    def _mark_bed(self, since: float, until: float) -> None:
        a = max(since, self.day * DAY)
        if until > a:
            lo, hi = self._span(a, until)
            self.bed[lo:hi] = True

    # -- a day ends --------------------------------------------------------------
    def _close(self) -> dict[str, Any]:
        day, end = self.day, (self.day + 1) * DAY
        if self.door_since is not None and end - self.door_since >= self.outing_s:  # out over midnight
            if self.door_since != self.counted:
                self.outings += 1
                self.counted = self.door_since
            self._mark_out(self.door_since, end)
        for sensor, since in self.beds_on.items():
            self._mark_bed(since, end)
            self.beds_on[sensor] = end
        self.kept.append((day, self.active.copy(), self.out.copy(), self.bed.copy()))
        record = self._record(day)
        if self.partial:
            record["partial"] = True
        self.partial = False
        self.records.append(record)
        self.day = day + 1
        self.active[:] = False
        self.out[:] = False
        self.bed[:] = False
        self.outings = 0
        return record

    def _record(self, day: int) -> dict[str, Any]:
        prev = [k for k in self.kept if k[0] == day - 1]
        blank = np.zeros(MINUTES, dtype=bool)
        p_act, p_out, p_bed = (prev[0][1], prev[0][2], prev[0][3]) if prev else (blank, np.ones(MINUTES, bool), blank)
        both = (np.concatenate([p_act, self.active]), np.concatenate([p_out, self.out]),
                np.concatenate([p_bed, self.bed]))
        has_bed = bool(self.bed_sensors) and both[2].any()
        sleep = _sleep(both[0], both[1], both[2] if has_bed else None)
        sleep_fields: dict[str, Any] = {"sleep_onset": None, "wake": None, "sleep_mid": None,
                                        "sleep_minutes": None, "sleep_from": None}
        if sleep is not None:
            a, b = sleep
            mid = ((a + b) / 2 - MINUTES) / 60.0
            sleep_fields = {"sleep_onset": _r((a % MINUTES) / 60.0, 2), "wake": _r((b % MINUTES) / 60.0, 2),
                            "sleep_mid": _r(mid % 24.0, 2), "sleep_minutes": int(b - a),
                            "sleep_from": "bed" if has_bed and both[2][a:b].mean() > 0.5 else "activity"}
        days = [(d, a) for d, a, _, _ in self.kept]
        return {
            "date": date_of(day), "day": day,
            "active_minutes": int(self.active.sum()),
            "night_active_minutes": int(self.active[NIGHT[0]:NIGHT[1]].sum()),
            "outings": int(self.outings), "out_minutes": int(self.out.sum()),
            **sleep_fields,
            "w7": _window_metrics(days, day, 7), "w28": _window_metrics(days, day, 28),
        }

    # -- persistence -------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {
            "day": self.day, "active": _pack(self.active), "out": _pack(self.out), "bed": _pack(self.bed),
            "outings": self.outings, "partial": self.partial, "beds_on": dict(self.beds_on), "door_since": self.door_since,
            "door_last": self.door_last, "counted": self.counted,
            "kept": [[d, _pack(a), _pack(o), _pack(b)] for d, a, o, b in self.kept],
            "records": list(self.records),
        }

    def load(self, state: dict[str, Any]) -> None:
        """Back from :meth:`state` (a restart); a hub that was down keeps the day it was in: the
        next event closes it and the days missed get no record."""
        if not state:
            return
        self.day = state.get("day")
        self.active, self.out, self.bed = (_unpack(state[k]) for k in ("active", "out", "bed"))
        self.outings = int(state.get("outings", 0))
        self.partial = bool(state.get("partial", False))
        self.beds_on = {str(k): float(v) for k, v in (state.get("beds_on") or {}).items()}
        self.door_since, self.door_last, self.counted = (state.get(k) for k in ("door_since", "door_last", "counted"))
        self.kept.clear()
        for d, a, o, b in state.get("kept") or []:
            self.kept.append((int(d), _unpack(a), _unpack(o), _unpack(b)))
        self.records.clear()
        self.records.extend(state.get("records") or [])


def bed_sensors_of(sensors) -> frozenset[str]:
    """Presence sensors that are beds: the id says so (``bed``, ``bed_mat``, ``bedroom_mat``...)."""
    return frozenset(s.id for s in sensors if s.kind == "presence" and "bed" in s.id)
