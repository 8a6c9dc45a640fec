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
#: each synthetic resident's own waking hours (local clock) for the "waking" delay rows
WAKING = {"regular": (8.0, 22.0), "late_sleeper": (12.0, 2.0), "reversed": (18.0, 8.0), "drifting": (8.0, 22.0)}


def kasteren_events():
    from hubd.events import read_events

    real = ROOT.parent / "shared" / "data" / "kasteren_house_a.csv"
    if not real.exists():
        real = Path("/work/shared/data/kasteren_house_a.csv")
    with open(real) as fh:
        return read_events(fh)


def real_logs(extra: tuple[str, ...] = ()) -> list[tuple[str, list]]:
    """The real single-resident logs: the shared month, those in benchmarks/data/, and any
    ``extra`` event CSVs (logs that may be measured but not redistributed, e.g. Ordonez)."""
    from hubd.events import read_events

    logs = [("van Kasteren house A (real)", kasteren_events())]
    for path in sorted((ROOT / "benchmarks" / "data").glob("*.csv")) + [Path(p) for p in extra]:
        with open(path) as fh:
            logs.append((f"{path.stem} (real)", read_events(fh)))
    return logs


def pooled(results: list) -> dict:
    """False alarms and delays pooled over several backtests (each cut and each home day counts once)."""
    out = {}
    names = [m.name for m in results[0].methods] + ["bound"]
    days = sum(r.home_days for r in results)
    for name in names:
        delays = np.concatenate([r.delays[name] for r in results]) / HOUR
        fa = sum(r.method(name).false_alarms for r in results) if name != "bound" else 0
        out[name] = {"false_alarms": fa, "per_day": fa / days, "median_h": float(np.median(delays)),
                     "p90_h": float(np.quantile(delays, 0.9)), "max_h": float(delays.max()),
                     "missed_24h": int(np.count_nonzero(~(delays <= 24.0)))}
    return {"logs": len(results), "home_days": days, "cuts": sum(len(r.cut_times) for r in results), "methods": out}


def format_pooled(title: str, pool: dict) -> str:
    lines = [f"{title}: {pool['logs']} logs, {pool['home_days']:.1f} d at home, {pool['cuts']} cuts",
             f"{'':12}{'FA':>4}{'FA/d':>7}{'median':>8}{'p90':>6}{'max':>6}{'miss':>5}"]
    for name, m in pool["methods"].items():
        lines.append(f"{name:12}{m['false_alarms']:>4}{m['per_day']:>7.3f}{m['median_h']:>8.1f}{m['p90_h']:>6.1f}"
                     f"{m['max_h']:>6.1f}{m['missed_24h']:>5}")
    return "\n".join(lines)


def results_table(days: int = 56, cuts: int = 1000, seed: int = 1, extra: tuple[str, ...] = ()) -> list:
    """The backtest on the real logs and on each synthetic resident, same settings, same run."""
    from hubd.detector.backtest import backtest

    out = [backtest(events, cuts=cuts, seed=seed, title=title) for title, events in real_logs(extra)]
    for i, (name, r) in enumerate(RESIDENTS.items()):
        w = WAKING[name]
        out.append(backtest(simulate(r, days, seed=seed + i), cuts=cuts, seed=seed, waking_hours=w,
                            title=f"synthetic {name} ({days} d)"))
    return out


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
    ap.add_argument("--reference-events", type=int, default=100_000, help="events for the numba/reference ratio")
    args = ap.parse_args()
    if args.results or args.json:
        res = results_table(days=args.days, extra=tuple(args.extra_log))
        if args.json:
            real = [r for r in res if r.title.endswith("(real)")]
            print(json.dumps({"logs": [r.as_dict() for r in res], "pooled_real": pooled(real),
                              "pooled_all": pooled(res)}, indent=1))
        else:
            for r in res:
                print(r.format_table())
                print()
            real = [r for r in res if r.title.endswith("(real)")]
            print(format_pooled("pooled, real logs", pooled(real)))
            print(format_pooled("pooled, all logs", pooled(res)))
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
