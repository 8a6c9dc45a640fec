"""Detector benchmarks and the synthetic residents the results table uses.

    .venv/bin/python benchmarks/bench_detector.py            # all figures
    .venv/bin/python benchmarks/bench_detector.py --results  # backtest table only (docs/detector.md)

Prints: bulk replay throughput (events/s), numba vs the pure-Python reference on the same
replay, a synthetic year of a busy home replayed in a fresh process (time incl. start-up),
backtest time for 1000 cuts over a month, first-call JIT time vs cached start time.

The synthetic residents (:func:`simulate`) are generated here, not fitted to any real log:
a regular resident with PIRs and bed/seat mats and a kettle/TV, a late sleeper with
contact sensors and a few PIRs, a day-night reversal, a drifting (non-24 h) sleeper, and a
screen-bound resident (asleep ~09:00-17:00, hours at a PC on a power sensor with few PIR
events, an outing only every few days). ``simulate(..., quirks=...)`` injects the sensor
faults of ``hubsim.quirks`` into any of them.

``--results`` scores every home leave-one-home-out (:func:`loho`): the real logs, each
fault-injected variant of them and the synthetic residents (and their variants); anything
chosen with data for a home is chosen on the other homes only, never on a variant of it.
"""

from __future__ import annotations

import argparse
import json
import math
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

from hubd.events import EventBatch  # noqa: E402

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
    pc_hours: float = 0.0  # hours a waking day at a PC on an appliance power sensor (0: no PC)
    screen_gap_s: float = 2400.0  # mean gap between PIR onsets while at the screen


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
# asleep ~09:00-17:00, then most of the night at a PC (60-140 W varying, ~2 W standby) with a
# PIR onset every ~40 min, short breaks, an outing about every third day; PIRs and a door only
RESIDENTS["screen_bound"] = Resident(
    "screen_bound", wake_h=17.0, wake_sd=0.7, bed_h=33.0, bed_sd=0.7, weekend_shift_h=0.0, out_prob=0.3,
    out_start_h=19.0, out_hours=1.5, evening_sit_h=99.0, nap_prob=0.0, long_nap_prob=0.0, pc_hours=9.0,
    night_visits=0.5, appliances=False,
)
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


def simulate(r: Resident, days: int, seed: int = 0, start_local: float = START_LOCAL,
             quirks: tuple[str, ...] = ()) -> EventBatch:
    """``days`` days of a resident's life as an event batch (local = mono, naive local time);
    ``quirks``: names in ``hubsim.quirks.QUIRKS`` applied in turn (seeded with ``seed``)."""
    batch = _simulate(r, days, seed, start_local)
    return with_quirks(batch, quirks, seed)


def with_quirks(batch: EventBatch, names: tuple[str, ...], seed: int) -> EventBatch:
    """``batch`` with the sensor faults ``names`` of ``hubsim.quirks`` injected, in turn."""
    if names:
        from hubsim import quirks

        for k, name in enumerate(names):
            batch = quirks.apply(name, batch, seed=seed + k)
    return batch


def _simulate(r: Resident, days: int, seed: int, start_local: float) -> EventBatch:
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
        if r.pc_hours > 0:  # at the screen from ~2 h after waking (after any outing), until an hour before bed
            outs = [b for a, b, _ in plan]
            pc = max([wake + rng.uniform(1.5, 2.5) * HOUR] + [b + 20 * MIN for b in outs])
            end = min(pc + r.pc_hours * HOUR * rng.uniform(0.8, 1.2), bed - 1 * HOUR)
            if end > pc + HOUR:
                plan.append((pc, end, "pc"))
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
        elif what == "pc":
            _screen(log, rng, r, a, b)
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


def _screen(log: _Log, rng, r: Resident, a: float, b: float) -> None:
    """At a PC: power 60-140 W changing every 2-6 min (standby 2 W after), a PIR onset now
    and then, a short break (kitchen, bathroom) about every 100 min."""
    t = a
    watts_t, watts = [], []
    while t < b:
        watts_t.append(t)
        watts.append(rng.uniform(60.0, 140.0))
        t += rng.uniform(2, 6) * MIN
    log.add(watts_t + [b], "pc_power", APPLIANCE, watts + [2.0])
    breaks = np.sort(rng.uniform(a, b, rng.poisson((b - a) / (100 * MIN))))
    start = a
    for x in breaks:
        if x < start + 10 * MIN or x > b - 6 * MIN:
            continue
        _move(log, rng, r, start, x, r.screen_gap_s, rooms=("living",))
        _move(log, rng, r, x, x + 4 * MIN, r.active_gap_s, rooms=("kitchen", "bathroom", "hall"))
        start = x + 4 * MIN
    _move(log, rng, r, start, b, r.screen_gap_s, rooms=("living",))


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
#: each synthetic resident's own waking hours (local clock) for the "waking" delay rows
WAKING = {"regular": (8.0, 22.0), "late_sleeper": (12.0, 2.0), "reversed": (18.0, 8.0), "drifting": (8.0, 22.0),
          "screen_bound": (17.0, 9.0)}
FAULTS = ("stuck_mat", "pulse_seat", "inverted_reed", "chatter_pir", "missed_door", "stray_pulses", "inverted_mat")
#: the declared grid of leave-one-home-out parameter choice (defaults first); chosen per fold on
#: the training homes by :func:`choose` (fewest false alarms per day among the points whose p90
#: delay of the cuts from day 3 meets the 8 h target).
#: It trades false alarms against delay on the cuts. (Held-mat and absence limits are not in
#: it: cuts at home release the mats, so a laxer limit would cost nothing the backtest sees;
#: ``cold_start_hours`` is not either: with a population prior there is no cold start.)
GRID = {"prior_half_life_days": (1.0, 2.0), "margin_minutes": (60.0, 120.0), "early_margin": (0.0, 0.5, 1.0)}
#: the homes the population prior is built from are other seeds of the same residents (and a
#: worker with long weekdays that is never scored): a home is left out by its base name
PRIOR_SEED = 100
WORKER = replace(RESIDENTS["regular"], name="worker", out_prob=0.75, out_start_h=7.8, out_hours=9.5,
                 weekend_shift_h=1.5)
CUTS, SEED, DAYS = 200, 1, 56


@dataclass(frozen=True)
class Home:
    name: str
    base: str  # the home it is (a fault variant is the same home as its base)
    group: str  # "real", "real variant", "synthetic", "synthetic variant", "hubsim", "hubsim variant"
    batch: EventBatch
    waking: tuple[float, float] = (8.0, 22.0)
    away: np.ndarray | None = None  # true absences where known (hubsim residents): cuts follow them


def kasteren_events():
    from hubd.events import read_events

    real = ROOT.parent / "shared" / "data" / "kasteren_house_a.csv"
    if not real.exists():
        real = Path("/work/shared/data/kasteren_house_a.csv")
    with open(real) as fh:
        return read_events(fh)


def real_logs(extra: tuple[str, ...] = ()) -> list[tuple[str, list]]:
    """The real single-resident logs: the shared month, those in benchmarks/data/ (never
    activity_only/), and any ``extra`` event CSVs (logs that may be measured but not
    redistributed, e.g. Ordonez)."""
    from hubd.events import read_events

    logs = [("kasteren_a", kasteren_events())]
    for path in sorted((ROOT / "benchmarks" / "data").glob("*.csv")) + [Path(p) for p in extra]:
        with open(path) as fh:
            logs.append((path.stem, read_events(fh)))
    return logs


def homes(days: int = DAYS, seed: int = SEED, extra: tuple[str, ...] = (), synthetic_faults: bool = True,
          hubsim_faults: bool = False) -> list[Home]:
    """Every home the results table scores, with the fault-injected variants beside each (the
    simulator's residents' only with ``hubsim_faults``: not yet in the documented table)."""
    sim = hubsim_homes(HUBSIM_DAYS, seed)
    if hubsim_faults:
        sim = [v for h in sim for v in [h] + fault_variants(h, "hubsim variant", seed)]
    return real_homes(seed, extra) + synthetic_homes(days, seed, synthetic_faults) + sim


HUBSIM_DAYS = 42


def hubsim_homes(days: int = HUBSIM_DAYS, seed: int = SEED) -> list[Home]:
    """The simulator's residents (``hubsim.resident``, each profile in its own flat), scored on
    their true absences: their doors open and shut as a person's do (the hall PIR sees them
    between), which the generator above never does. Not in any population prior."""
    from hubsim.resident import PROFILES
    from hubsim.resident import Resident as SimResident

    out = []
    for i, name in enumerate(PROFILES):
        person = SimResident(seed + 31 * i, profile=name)
        batch = EventBatch.from_events(person.days(START_LOCAL, days))
        away = np.array([(m.start, m.end) for m in person.marked("away")], dtype=np.float64).reshape(-1, 2)
        out.append(Home(f"sim_{name}", f"sim_{name}", "hubsim", batch, away=away))
    return out


def real_homes(seed: int = SEED, extra: tuple[str, ...] = ()) -> list[Home]:
    """The real logs, each followed by its fault-injected variants."""
    out = []
    for name, events in real_logs(extra):
        home = Home(name, name, "real", EventBatch.from_events(events))
        out += [home] + fault_variants(home, "real variant", seed)
    return out


def synthetic_homes(days: int = DAYS, seed: int = SEED, faults: bool = True) -> list[Home]:
    out = []
    for i, (name, r) in enumerate(RESIDENTS.items()):
        home = Home(f"syn_{name}", f"syn_{name}", "synthetic", simulate(r, days, seed=seed + i), WAKING[name])
        out += [home] + (fault_variants(home, "synthetic variant", seed) if faults else [])
    return out


def fault_variants(home: Home, group: str, seed: int = SEED) -> list[Home]:
    """``home`` with each of :data:`FAULTS` injected (seed ``seed + 101 k`` for the k-th); a
    quirk with nothing to act on (e.g. no seat mat) gives no variant."""
    from hubsim.quirks import QuirkNotApplicable

    out = []
    for k, fault in enumerate(FAULTS):
        try:
            batch = with_quirks(home.batch, (fault,), seed + 101 * k)
        except QuirkNotApplicable:
            continue
        out.append(Home(f"{home.name}+{fault}", home.base, group, batch, home.waking, home.away))
    return out


def fault_seed(fault: str, seed: int = SEED) -> int:
    """The seed :func:`fault_variants` gives ``fault`` (to name the sensor it acts on)."""
    return seed + 101 * FAULTS.index(fault)


def _grid_points() -> list[dict]:
    keys = list(GRID)
    points = [{}]
    for key in keys:
        points = [{**p, key: v} for p in points for v in GRID[key]]
    return points


def _prior_module():
    try:
        from hubd.detector import population
    except ImportError:
        return None
    return population


def _score(results: list) -> tuple[float, float]:
    """(false alarms per log day, p90 of the cuts from day 3, h) pooled over backtests: the choice criterion."""
    fa = sum(r.method("learned").false_alarms for r in results)
    days = sum(r.log_days for r in results)
    d = np.concatenate([r.delays["learned"][r.in_window(3.0)] for r in results])
    return fa / days, float(np.quantile(d, 0.9)) / HOUR


P90_TARGET_H = 8.0  # issue 15's target for the p90 delay of cuts from day 3


def choose(scores: list[tuple[float, float]]) -> int:
    """The grid point to use, from (false alarms per day, p90 h) on the training homes: among
    the points whose p90 meets the target, the fewest false alarms (then the lower p90); if
    none meets it, the lowest p90. Fewest false alarms alone buys quiet with hours of delay."""
    meets = [i for i, (_, p90) in enumerate(scores) if p90 <= P90_TARGET_H]
    if meets:
        return min(meets, key=lambda i: (round(scores[i][0], 9), scores[i][1], i))
    return min(range(len(scores)), key=lambda i: (scores[i][1], round(scores[i][0], 9), i))


def prior_homes(days: int = 56) -> list[tuple[str, EventBatch]]:
    """The development homes the population prior is built from, by base name: the real logs,
    and each synthetic resident (and the worker) on seeds of its own, never the scored ones."""
    out = [(name, EventBatch.from_events(events)) for name, events in real_logs()]
    residents = {**RESIDENTS, "worker": WORKER}
    out += [(f"syn_{name}", simulate(r, days, seed=PRIOR_SEED + i)) for i, (name, r) in enumerate(residents.items())]
    return out


def fold_prior(without: str, params=None, homes_: list[tuple[str, EventBatch]] | None = None):
    """The shipped recipe of the population prior with one home (base name) left out."""
    from hubd.detector.params import DetectorParams
    from hubd.detector.population import build_prior

    kept = [(n, b) for n, b in (homes_ if homes_ is not None else prior_homes()) if n != without]
    return build_prior([b for _, b in kept], params or DetectorParams(), names=[n for n, _ in kept])


def loho(homes_: list[Home], cuts: int = CUTS, seed: int = SEED, grid: bool = True, log=None) -> dict:
    """Leave-one-home-out, one fold per home (a base and its fault variants): the population prior
    is built without that home, and the grid point is chosen on the other homes (each scored with
    that fold's prior); then the home and its variants are scored with both, and with the defaults."""
    from hubd.detector.backtest import backtest
    from hubd.detector.params import DetectorParams

    points = _grid_points() if grid else [{}]
    prior_mod = _prior_module()
    sources = prior_homes() if prior_mod is not None else []
    chosen, default_results, folds = {}, {}, []
    for base in dict.fromkeys(h.base for h in homes_):
        prior = fold_prior(base, homes_=sources) if prior_mod is not None else None
        train = [o for o in homes_ if o.base != base]
        table = {}
        for g, point in enumerate(points):
            params = DetectorParams(**point)
            table[g] = [backtest(o.batch, params, cuts=cuts, seed=seed, waking_hours=o.waking, title=o.name,
                                 prior=prior, away_truth=o.away) for o in train]
        scores = [_score(table[g]) for g in range(len(points))]
        g = choose(scores)
        for h in (o for o in homes_ if o.base == base):
            for index in {0, g}:
                result = backtest(h.batch, DetectorParams(**points[index]), cuts=cuts, seed=seed,
                                  waking_hours=h.waking, title=h.name, prior=prior, away_truth=h.away)
                if index == g:
                    chosen[h.name] = result
                if index == 0:
                    default_results[h.name] = result
            folds.append({"home": h.name, "chosen": points[g], "train_homes": len(train),
                          "train_fa_per_day": scores[g][0], "train_p90_h": scores[g][1]})
        if log is not None:
            print(f"  fold {base}: chose {points[g]}", file=log)
    scored = [(h, chosen[h.name]) for h in homes_]
    defaults = [(h, default_results[h.name]) for h in homes_]
    return {"scored": scored, "folds": folds, "defaults": defaults, "grid": GRID if grid else {},
            "prior": "population prior built per fold without the scored home (bench_detector.fold_prior)"
            if prior_mod else "no population prior (hubd.detector.population not present): cold start"}


METHODS = ("learned", "fixed 12 h", "fixed 6 h", "in-sample bound")


def pooled(results: list) -> dict:
    """False alarms (per log day) and delays per cut window pooled over backtests (each cut
    and each log day counts once)."""
    days = sum(r.log_days for r in results)
    out = {}
    for name in METHODS:
        fa = sum(r.method(name).false_alarms for r in results)
        row = {"false_alarms": fa, "per_day": fa / days if days else math.nan}
        if name == "learned":
            row["trips_over_max"] = sum(r.method(name).trips_over_max for r in results)
            row["per_day_without_trips"] = (fa - row["trips_over_max"]) / days if days else math.nan
        for from_day in results[0].cut_from_days:
            d = np.concatenate([r.delays[name][r.in_window(from_day)] for r in results]) / HOUR
            row[f"day{from_day:g}"] = _stats(d)
        out[name] = row
    return {"logs": len(results), "log_days": days, "methods": out}


def _stats(d_hours: np.ndarray) -> dict:
    if d_hours.size == 0:
        return {"cuts": 0, "median_h": math.nan, "p90_h": math.nan, "max_h": math.nan, "missed_24h": 0}
    return {"cuts": int(d_hours.size), "median_h": float(np.median(d_hours)), "p90_h": float(np.quantile(d_hours, 0.9)),
            "max_h": float(d_hours.max()), "missed_24h": int(np.count_nonzero(~(d_hours <= 24.0)))}


_HEAD = (f"{'home':40}{'method':8}{'FA':>4}{'FA/d':>7}{'trip':>5} | {'day-3 cuts: med':>15}{'p90':>6}{'max':>6}"
         f"{'miss':>5} | {'day-8 cuts: med':>15}{'p90':>6}{'max':>6}{'miss':>5}")
_SHORT = {"learned": "learned", "fixed 12 h": "12 h", "fixed 6 h": "6 h", "in-sample bound": "bound"}


def _row(label: str, name: str, m: dict) -> str:
    def part(s: dict) -> str:
        return f"{s['median_h']:>15.1f}{s['p90_h']:>6.1f}{s['max_h']:>6.1f}{s['missed_24h']:>5}"
    trips = f"{m['trips_over_max']:>5}" if "trips_over_max" in m else " " * 5
    return (f"{label[:39]:40}{_SHORT[name]:8}{m['false_alarms']:>4}{m['per_day']:>7.3f}{trips} | "
            f"{part(m['day3'])} | {part(m['day8'])}")


def format_results(run: dict) -> str:
    lines = ["Leave-one-home-out, issue 15's protocol: every resident alert on the full log is a false alarm",
             "(per log day, first week included); cuts at home from day 3 and from day 8, held sensors released;",
             f"{CUTS} cuts per home per window, seed {SEED}; delays in hours; miss = not caught within 24 h.",
             "bound = in-sample bound (per half-hour slot, the longest gap of that very log): fitted to the log.",
             "trip = of the learned FA, not_returned on absences longer than the 24 h maximum (counted in FA; the",
             "rule fires by 24 h whatever it learned, by design: a resident leaving for days presses away).",
             f"prior: {run['prior']}", f"grid: {run['grid'] or 'none (defaults)'}", "", _HEAD]
    for h, r in run["scored"]:
        p = pooled([r])
        chosen = next(f["chosen"] for f in run["folds"] if f["home"] == h.name)
        label = f"{h.name} ({r.log_days:.1f} d)"
        for i, name in enumerate(METHODS):
            lines.append(_row(label if i == 0 else (f"  chose {_fmt_point(chosen)}" if i == 1 else ""), name,
                              p["methods"][name]))
    for which, title in (("scored", "leave-one-home-out"), ("defaults", "defaults, no choice (for comparison)")):
        lines += ["", f"pooled, {title}:"]
        for group, pool in _pools(run[which]).items():
            if which == "defaults" and group not in ("real homes", "all"):
                continue
            lines.append(f"{group}: {pool['logs']} logs, {pool['log_days']:.1f} log days")
            for name in METHODS if which == "scored" else ("learned",):
                lines.append(_row("", name, pool["methods"][name]))
    return "\n".join(lines)


def _fmt_point(point: dict) -> str:
    short = {"cold_start_hours": "cold h", "margin_minutes": "margin min", "prior_half_life_days": "hl d",
             "early_margin": "early"}
    return " ".join(f"{short.get(k, k)}={v:g}" for k, v in point.items()) or "defaults"


def _pools(scored: list) -> dict:
    by = lambda *groups: [r for h, r in scored if h.group in groups]  # noqa: E731
    pools = {"real homes": by("real"), "real + fault variants": by("real", "real variant"),
             "synthetic + variants": by("synthetic", "synthetic variant"),
             "hubsim residents (true absences)": by("hubsim"),
             "hubsim + fault variants": by("hubsim", "hubsim variant") if by("hubsim variant") else [],
             "all": [r for _, r in scored]}
    return {k: pooled(v) for k, v in pools.items() if v}


def results_json(run: dict) -> dict:
    return {"protocol": "issue 15 (see hubd/detector/backtest.py)", "cuts_per_window": CUTS, "seed": SEED,
            "prior": run["prior"], "grid": run["grid"], "folds": run["folds"],
            "homes": [{"name": h.name, "base": h.base, "group": h.group, **r.as_dict()} for h, r in run["scored"]],
            "pooled": _pools(run["scored"]),
            "pooled_defaults_no_loho": _pools(run["defaults"])}


# ----------------------------------------------------------------------------- timing
def _best(fn, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _load_reference():
    """tests/test_kernels.py's slow, obvious RefDetector (the reference the kernels must match)."""
    import importlib.util

    path = ROOT / "tests" / "test_kernels.py"
    spec = importlib.util.spec_from_file_location("test_kernels_reference", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _child(code: str, env: dict) -> tuple[float, str]:
    """Run Python code in a fresh process; (wall seconds incl. interpreter start-up, its stdout)."""
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=str(ROOT))
    wall = time.perf_counter() - t
    if done.returncode:
        raise RuntimeError(done.stderr)
    return wall, done.stdout.strip()


_CHILD_REPLAY = """
import time, sys
t0 = time.perf_counter()
import numpy as np
from hubd.detector.model import LearnedDetector
from hubd.events import EventBatch
t1 = time.perf_counter()
z = np.load(sys.argv[-1] if len(sys.argv) > 1 else {path!r})
batch = EventBatch(z["mono"], z["local"], z["kind"], z["sensor"], z["value"], tuple(z["sensors"]))
t2 = time.perf_counter()
result = LearnedDetector().replay(batch)
t3 = time.perf_counter()
print(f"{{len(batch)}} {{t1 - t0:.3f}} {{t2 - t1:.3f}} {{t3 - t2:.3f}} {{len(result.episodes)}}")
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", action="store_true", help="only the backtest results table (docs/detector.md)")
    ap.add_argument("--json", action="store_true", help="results as JSON")
    ap.add_argument("--days", type=int, default=56, help="days per synthetic resident")
    ap.add_argument("--extra-log", action="append", default=[], metavar="CSV",
                    help="another real log to include (repeatable; e.g. one that may not be redistributed)")
    ap.add_argument("--no-grid", action="store_true", help="score with the defaults only (no LOHO parameter choice)")
    ap.add_argument("--no-synthetic-faults", action="store_true", help="no fault-injected synthetic residents")
    ap.add_argument("--hubsim-faults", action="store_true",
                    help="add the simulator's residents' fault-injected variants (scored on true absences)")
    ap.add_argument("--reference-events", type=int, default=100_000, help="events for the numba/reference ratio")
    args = ap.parse_args()
    if args.results or args.json:
        t = time.perf_counter()
        run = loho(homes(days=args.days, extra=tuple(args.extra_log), synthetic_faults=not args.no_synthetic_faults,
                         hubsim_faults=args.hubsim_faults), grid=not args.no_grid)
        if args.json:
            print(json.dumps(results_json(run), indent=1, default=float))
        else:
            print(format_results(run))
            print(f"\n({len(run['scored'])} homes, {time.perf_counter() - t:.1f} s)")
        return

    from hubd.detector import kernels
    from hubd.detector.backtest import backtest
    from hubd.detector.model import LearnedDetector

    print(f"python {sys.version.split()[0]}, numba {__import__('numba').__version__}, one core")
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, NUMBA_CACHE_DIR=os.path.join(tmp, "numba-cache"), PYTHONPATH=str(ROOT))
        env.pop("NUMBA_DISABLE_JIT", None)

        # first-call JIT (empty cache) and cached start, each in a fresh process
        small = simulate(RESIDENTS["regular"], 3, seed=0)
        small_path = os.path.join(tmp, "small.npz")
        np.savez(small_path, mono=small.mono, local=small.local, kind=small.kind, sensor=small.sensor,
                 value=small.value, sensors=np.array(small.sensors))
        code = _CHILD_REPLAY.format(path=small_path)
        cold_wall, cold = _child(code, env)
        warm_wall, warm = _child(code, env)
        cold_replay, warm_replay = float(cold.split()[3]), float(warm.split()[3])
        print(f"first call, empty numba cache:  {cold_replay:6.2f} s in replay, {cold_wall:6.2f} s process")
        print(f"cached start, warm numba cache: {warm_replay:6.3f} s in replay, {warm_wall:6.2f} s process")

        # a synthetic year of a busy home, replayed in a fresh process (start-up included)
        t = time.perf_counter()
        year = simulate(BUSY, 365, seed=0)
        gen = time.perf_counter() - t
        year_path = os.path.join(tmp, "year.npz")
        np.savez(year_path, mono=year.mono, local=year.local, kind=year.kind, sensor=year.sensor,
                 value=year.value, sensors=np.array(year.sensors))
        wall, out = _child(_CHILD_REPLAY.format(path=year_path), env)
        n, t_import, t_load, t_replay, n_eps = out.split()
        print(f"year of a busy home: {int(n):,} events (generated in {gen:.1f} s), fresh process "
              f"{wall:.2f} s total = import {float(t_import):.2f} + load {float(t_load):.2f} "
              f"+ replay {float(t_replay):.2f} s (+ interpreter start); {n_eps} episodes")

    # bulk replay throughput in this process (kernels loaded)
    LearnedDetector().replay(year.head(1000))
    best = _best(lambda: LearnedDetector().replay(year))
    print(f"bulk replay throughput: {len(year) / best / 1e6:.2f} M events/s ({len(year):,} events in {best:.2f} s)")

    # numba vs the slow obvious reference of tests/test_kernels.py, same events, same run
    ref_mod = _load_reference()
    part = year.head(args.reference_events)
    numba_time = _best(lambda: LearnedDetector().replay(part))

    def reference():
        ref = ref_mod.RefDetector(ref_mod.DetectorParams(), list(part.sensors))
        for t_, lc, k, s_, v in zip(part.mono.tolist(), part.local.tolist(), part.kind.tolist(), part.sensor.tolist(),
                                    part.value.tolist()):
            ref.feed(t_, lc, k, s_, v)

    ref_time = _best(reference, repeat=1)
    print(f"numba vs pure-Python reference on the same {len(part):,} events: {numba_time * 1e3:.1f} ms vs "
          f"{ref_time:.2f} s = {ref_time / numba_time:,.0f}x")
    interp_path = os.path.join(tempfile.gettempdir(), "hubd-bench-part.npz")
    np.savez(interp_path, mono=part.mono, local=part.local, kind=part.kind, sensor=part.sensor, value=part.value,
             sensors=np.array(part.sensors))
    env = dict(os.environ, NUMBA_DISABLE_JIT="1", PYTHONPATH=str(ROOT))
    _, out = _child(_CHILD_REPLAY.format(path=interp_path), env)
    os.unlink(interp_path)
    interp = float(out.split()[3])
    print(f"the same kernels interpreted (NUMBA_DISABLE_JIT=1): {interp:.2f} s = {interp / numba_time:,.0f}x slower")

    # backtest: 1000 simulated collapses over a month
    month = simulate(RESIDENTS["regular"], 30, seed=1)
    backtest(month, cuts=1000, seed=0)
    bt = _best(lambda: backtest(month, cuts=1000, seed=0))
    print(f"backtest, 1000 cuts over a month ({len(month):,} events): {bt * 1e3:.0f} ms")
    del kernels


if __name__ == "__main__":
    main()
