"""Detector benchmarks and the synthetic residents the results table uses.

    .venv/bin/python benchmarks/bench_detector.py            # all figures
    .venv/bin/python benchmarks/bench_detector.py --results  # backtest table only (docs/detector.md)

Prints: bulk replay throughput (events/s), numba vs the pure-Python reference on the same
replay, a synthetic year of a busy home replayed in a fresh process (time incl. start-up),
backtest time for 1000 cuts over a month, first-call JIT time vs cached start time.

The synthetic residents (:func:`simulate`) are generated here, not fitted to any real log:
a regular resident with PIRs and bed/seat mats and a kettle/TV, a late sleeper with
contact sensors and a few PIRs, a day-night reversal, and a drifting (non-24 h) sleeper.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from hubd.detector.model import EventBatch  # noqa: E402

START_LOCAL = 1_704_067_200.0  # 2024-01-01T00:00 local (a Monday)
HOUR, DAY, MIN = 3600.0, 86400.0, 60.0
MOTION, PRESENCE, DOOR, ENTRANCE, APPLIANCE = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class Resident:
    """A day plan with noise. Hours are local clock hours; bed_h may exceed 24 (after midnight)."""

    name: str
    wake_h: float = 7.0
    wake_sd: float = 0.5
    bed_h: float = 23.0
    bed_sd: float = 0.5
    weekend_shift_h: float = 1.0
    drift_h_per_day: float = 0.0
    out_prob: float = 0.7  # a daytime outing on a given day
    out_start_h: float = 10.0
    out_hours: float = 2.0  # median outing duration
    trips_per_month: float = 0.0  # two-night absences
    nap_prob: float = 0.3
    nap_hours: float = 1.0
    long_nap_prob: float = 0.04  # a 3-4 h nap
    evening_sit_h: float = 19.5  # start of the evening sitting (TV)
    quiet_minutes: float = 35.0  # mean length of a quiet spell (reading, sitting) during the day
    active_gap_s: float = 40.0  # mean gap between PIR onsets while moving about
    quiet_gap_s: float = 1200.0  # mean gap between PIR onsets while sitting still (small movements)
    night_visits: float = 0.8  # bathroom visits per night
    rooms: tuple[str, ...] = ("hall", "kitchen", "living", "bathroom", "bedroom")
    pir_rooms: tuple[str, ...] = ("hall", "kitchen", "living", "bathroom", "bedroom")
    contacts: bool = False  # cupboard/fridge/bathroom-door contacts
    bed_mat: bool = False
    seat_mat: bool = False
    appliances: bool = False  # kettle and TV power


RESIDENTS = {
    "regular": Resident("regular", bed_mat=True, seat_mat=True, appliances=True, trips_per_month=0.5),
    "late_sleeper": Resident(
        "late_sleeper", wake_h=11.0, wake_sd=1.2, bed_h=26.5, bed_sd=1.0, weekend_shift_h=0.5, out_prob=0.5,
        out_start_h=14.0, out_hours=3.0, evening_sit_h=21.0, quiet_minutes=50.0, pir_rooms=("hall", "kitchen"),
        contacts=True, nap_prob=0.15,
    ),
    "reversed": Resident(
        "reversed", wake_h=17.0, wake_sd=0.8, bed_h=33.0, bed_sd=0.8, weekend_shift_h=0.0, out_prob=0.4,
        out_start_h=21.0, out_hours=1.5, evening_sit_h=3.0 + 24.0, appliances=True, nap_prob=0.2,
    ),
    "drifting": Resident(
        "drifting", wake_h=7.5, wake_sd=0.7, bed_h=23.5, bed_sd=0.7, weekend_shift_h=0.0, drift_h_per_day=0.33,
        out_prob=0.3, out_start_h=11.0, bed_mat=True, appliances=True, evening_sit_h=19.0,
    ),
}
BUSY = replace(RESIDENTS["regular"], name="busy", active_gap_s=4.0, quiet_gap_s=300.0, quiet_minutes=20.0)


class _Log:
    def __init__(self) -> None:
        self.t: list[np.ndarray] = []
        self.s: list[np.ndarray] = []
        self.k: list[np.ndarray] = []
        self.v: list[np.ndarray] = []
        self.names: dict[str, int] = {}

    def add(self, times, sensor: str, kind: int, values) -> None:
        times = np.atleast_1d(np.asarray(times, dtype=np.float64))
        if times.size == 0:
            return
        sid = self.names.setdefault(sensor, len(self.names))
        self.t.append(times)
        self.s.append(np.full(times.size, sid, dtype=np.int64))
        self.k.append(np.full(times.size, kind, dtype=np.int64))
        self.v.append(np.broadcast_to(np.asarray(values, dtype=np.float64), times.shape).copy())

    def batch(self) -> EventBatch:
        t = np.concatenate(self.t)
        order = np.argsort(t, kind="stable")
        t = t[order]
        return EventBatch(t, t.copy(), np.concatenate(self.k)[order], np.concatenate(self.s)[order],
                          np.concatenate(self.v)[order], tuple(self.names))


def _poisson_times(rng, a: float, b: float, mean_gap: float) -> np.ndarray:
    if b <= a:
        return np.zeros(0)
    n = rng.poisson((b - a) / mean_gap)
    return np.sort(rng.uniform(a, b, n))


def _move(log: _Log, rng, r: Resident, a: float, b: float, gap: float, rooms=None) -> None:
    """Someone moving about in [a, b): PIR onsets (1, then 0 after 20 s) and contacts."""
    times = _poisson_times(rng, a, b, gap)
    if times.size == 0:
        return
    rooms = rooms or r.rooms
    which = rng.integers(0, len(rooms), times.size)
    for i, room in enumerate(rooms):
        tt = times[which == i]
        if room in r.pir_rooms:
            log.add(tt, f"pir_{room}", MOTION, 1.0)
            log.add(tt + 20.0, f"pir_{room}", MOTION, 0.0)
        if r.contacts and room in ("kitchen", "bathroom", "bedroom"):
            use = tt[rng.random(tt.size) < 0.35]
            name = {"kitchen": "fridge", "bathroom": "bathroom_door", "bedroom": "wardrobe"}[room]
            log.add(use, name, DOOR, 1.0)
            log.add(use + 8.0, name, DOOR, 0.0)


def _hold(log: _Log, sensor: str, a: float, b: float) -> None:
    log.add([a], sensor, PRESENCE, 1.0)
    log.add([b], sensor, PRESENCE, 0.0)


def _power(log: _Log, sensor: str, a: float, b: float, watts: float, standby: float) -> None:
    log.add([a, b], sensor, APPLIANCE, [watts, standby])


def simulate(r: Resident, days: int, seed: int = 0, start_local: float = START_LOCAL) -> EventBatch:
    """``days`` days of a resident's life as an event batch (local = mono, naive local time)."""
    rng = np.random.default_rng(seed)
    log = _Log()
    trip_until = -np.inf
    prev_bed = start_local + (r.bed_h - 24.0) * HOUR
    if r.bed_mat:
        log.add([start_local - 1.0], "bed_mat", PRESENCE, 1.0)
    for d in range(days):
        day0 = start_local + d * DAY
        weekend = int((day0 // DAY + 3) % 7) >= 5
        shift = (r.weekend_shift_h if weekend else 0.0) + r.drift_h_per_day * d
        wake = day0 + (r.wake_h + shift + rng.normal(0, r.wake_sd)) * HOUR
        bed = day0 + (r.bed_h + shift + rng.normal(0, r.bed_sd)) * HOUR
        wake = max(wake, prev_bed + 3 * HOUR)
        bed = max(bed, wake + 8 * HOUR)
        if day0 < trip_until:  # away on a trip (the return evening is already written)
            continue
        _sleep(log, rng, r, prev_bed, wake)
        if rng.random() < r.trips_per_month / 30.0:
            leave = wake + rng.uniform(1, 3) * HOUR
            back = leave + rng.uniform(40, 56) * HOUR
            _move(log, rng, r, wake, leave, r.active_gap_s)
            _outing(log, rng, r, leave, back)
            trip_until = back
            back_day0 = back - (back - start_local) % DAY
            bed = max(back + 2 * HOUR, back_day0 + (r.bed_h + rng.normal(0, r.bed_sd)) * HOUR)
            _awake(log, rng, r, back + 60, bed, plan=[])
            prev_bed = bed
            continue
        plan = []
        if rng.random() < r.out_prob:
            leave = max(wake + 1.0 * HOUR, day0 + (r.out_start_h + shift + rng.normal(0, 1.0)) * HOUR)
            plan.append((leave, leave + r.out_hours * HOUR * rng.lognormal(0, 0.4), "out"))
        if rng.random() < r.nap_prob:
            nap = wake + (bed - wake) * rng.uniform(0.4, 0.6)
            hours = rng.uniform(3, 4) if rng.random() < r.long_nap_prob / max(r.nap_prob, 1e-9) else r.nap_hours
            plan.append((nap, nap + hours * HOUR * rng.uniform(0.7, 1.3), "nap"))
        sit = day0 + (r.evening_sit_h + shift + rng.normal(0, 0.5)) * HOUR
        if wake + 2 * HOUR < sit < bed - 0.5 * HOUR:
            plan.append((sit, bed - 10 * MIN, "sit"))
        _awake(log, rng, r, wake, bed, plan)
        prev_bed = bed
    return log.batch()


def _sleep(log: _Log, rng, r: Resident, bed: float, wake: float) -> None:
    log.add([bed - 60.0], "pir_bedroom", MOTION, 1.0)
    visits = np.sort(rng.uniform(bed + HOUR, wake - HOUR, rng.poisson(r.night_visits))) if wake - bed > 3 * HOUR else []
    start = bed
    for v in visits:
        if r.bed_mat:
            _hold(log, "bed_mat", start, v)
        _move(log, rng, r, v, v + 6 * MIN, 30.0, rooms=("bedroom", "hall", "bathroom"))
        start = v + 6 * MIN
    if r.bed_mat:
        _hold(log, "bed_mat", start, wake)
    log.add([wake + 30.0], "pir_bedroom", MOTION, 1.0)


def _outing(log: _Log, rng, r: Resident, leave: float, back: float) -> None:
    log.add([leave - 40.0], "pir_hall", MOTION, 1.0)
    log.add([leave, leave + 4.0], "front_door", ENTRANCE, [1.0, 0.0])
    log.add([back, back + 4.0], "front_door", ENTRANCE, [1.0, 0.0])
    log.add([back + 30.0], "pir_hall", MOTION, 1.0)


def _awake(log: _Log, rng, r: Resident, wake: float, bed: float, plan) -> None:
    """Morning routine, then the plan's fixed items with pottering and quiet spells between."""
    t = wake
    if r.appliances:
        _power(log, "kettle", wake + 15 * MIN, wake + 18 * MIN, 2000.0, 0.5)
    items = sorted(p for p in plan if p[0] >= wake + 45 * MIN and p[1] <= bed)
    _move(log, rng, r, t, t + 45 * MIN, r.active_gap_s)
    t += 45 * MIN
    for a, b, what in items:
        if a < t:
            continue
        _potter(log, rng, r, t, a)
        if what == "out":
            _outing(log, rng, r, a, b)
        elif what == "nap":
            if r.seat_mat:
                _hold(log, "seat_mat", a, b)
        else:  # evening sitting: TV, seat mat, small movements, getting up now and then
            if r.appliances:
                _power(log, "tv", a, b, 80.0, 1.0)
            breaks = np.sort(rng.uniform(a, b, rng.poisson((b - a) / (75 * MIN))))
            start = a
            for x in breaks:
                if x < start + 10 * MIN:
                    continue
                _sit(log, rng, r, start, x)
                _move(log, rng, r, x, x + 4 * MIN, r.active_gap_s, rooms=("kitchen", "bathroom", "hall"))
                start = x + 4 * MIN
            _sit(log, rng, r, start, b)
        t = b
    _potter(log, rng, r, t, bed)


def _sit(log: _Log, rng, r: Resident, a: float, b: float) -> None:
    if b <= a:
        return
    if r.seat_mat:
        _hold(log, "seat_mat", a, b)
    _move(log, rng, r, a, b, r.quiet_gap_s, rooms=("living",))


def _potter(log: _Log, rng, r: Resident, a: float, b: float) -> None:
    """Alternate moving about (10-40 min) and quiet spells (reading, sitting)."""
    t = a
    while t < b:
        m = min(b, t + rng.uniform(10, 40) * MIN)
        _move(log, rng, r, t, m, r.active_gap_s)
        q = min(b, m + rng.exponential(r.quiet_minutes) * MIN)
        _sit(log, rng, r, m, q)
        t = q


# ---------------------------------------------------------------------------- results
def results_table(days: int = 56, cuts: int = 1000, seed: int = 1) -> list:
    """The backtest on the real log and on each synthetic resident, same settings."""
    from hubd.detector.backtest import backtest
    from hubd.events import read_events

    out = []
    real = ROOT.parent / "shared" / "data" / "kasteren_house_a.csv"
    if not real.exists():
        real = Path("/work/shared/data/kasteren_house_a.csv")
    with open(real) as fh:
        out.append(backtest(read_events(fh), cuts=cuts, seed=seed, title="van Kasteren house A (real)"))
    for i, (name, r) in enumerate(RESIDENTS.items()):
        out.append(backtest(simulate(r, days, seed=seed + i), cuts=cuts, seed=seed, title=f"synthetic {name}"))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", action="store_true", help="only the backtest results table")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--days", type=int, default=56)
    args = ap.parse_args()
    res = results_table(days=args.days)
    if args.json:
        print(json.dumps([r.as_dict() for r in res], indent=1))
    else:
        for r in res:
            print(r.format_table())
            print()


if __name__ == "__main__":
    main()
