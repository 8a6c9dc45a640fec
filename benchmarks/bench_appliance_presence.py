"""A screen-bound resident with a PC on a power sensor: false alarms and delays with the backtest.

    .venv/bin/python benchmarks/bench_appliance_presence.py [--days 42] [--seeds 3]

The resident (generated here, fitted to nothing) sleeps in the day (about 06-14 h), spends
the night at a PC that a power sensor reads every 2 minutes (its draw varies while used;
on some days it is left on idle, steady, through the sleep), gets up every 1.5-3 h for the
kitchen or bathroom, is rarely seen by the desk room's PIR while sitting, goes out on one
day in five, and has a fridge cycling on another power sensor. Collapses are the
backtest's cuts: the log ends at t0, which for the PC is the same as a steady draw from
then on (``tests/test_appliance_presence.py`` proves that equality); the fridge never
counts after its first day, so it is the same too.

``HUBD_ROOT`` picks the tree whose ``hubd`` is measured (to compare against a checkout
from before a change, on the very same logs).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, os.environ.get("HUBD_ROOT", str(Path(__file__).resolve().parents[1])))

from hubd.detector.backtest import backtest  # noqa: E402
from hubd.events import EventBatch  # noqa: E402

START = 1_704_067_200.0  # a local midnight
H, MIN, DAY = 3600.0, 60.0, 86400.0
MOTION, ENTRANCE, APPLIANCE = 0, 3, 4


def screen_bound(days: int, seed: int, fridge: bool = True) -> EventBatch:
    rng = np.random.default_rng(seed)
    rows: list[tuple[float, str, int, float]] = []

    def pir(room, a, b, gap):
        n = rng.poisson(max(0.0, b - a) / gap)
        rows.extend((t, f"pir_{room}", MOTION, 1.0) for t in rng.uniform(a, b, n))

    def pc(a, b, every, watts):
        rows.extend((t, "pc", APPLIANCE, float(watts())) for t in np.arange(a, b, every))

    prev_on = START
    for d in range(days):
        day0 = START + d * DAY
        wake = day0 + (14.0 + rng.normal(0, 1.0)) * H
        sleep = day0 + DAY + (6.0 + rng.normal(0, 1.0)) * H
        pc(prev_on, wake, 10 * MIN, lambda: 3.0)
        if rng.random() < 0.2:  # left on idle through the previous sleep: a steady 65 W
            rows[:] = [r for r in rows if not (r[1] == "pc" and prev_on <= r[0] < wake)]
            pc(prev_on, wake, 2 * MIN, lambda: 65.0 + rng.normal(0, 0.5))
        rows.append((wake, "pir_bedroom", MOTION, 1.0))
        t = wake + H
        pir("kitchen", wake, t, 90.0)
        pir("bathroom", wake, t, 600.0)
        if rng.random() < 0.2:  # a rare outing
            leave = t + rng.uniform(5, 20) * MIN
            pir("hall", t, leave, 120.0)
            back = leave + rng.uniform(1, 2.5) * H
            rows += [(leave - 30, "pir_hall", MOTION, 1.0), (leave, "front_door", ENTRANCE, 1.0),
                     (back, "front_door", ENTRANCE, 1.0), (back + 30, "pir_hall", MOTION, 1.0)]
            pir("kitchen", back, back + 20 * MIN, 120.0)
            t = back + 20 * MIN
        while t < sleep - 30 * MIN:  # at the PC, with breaks
            end = min(sleep - 20 * MIN, t + rng.uniform(1.5, 3.0) * H)
            pc(t, end, 2 * MIN, lambda: 60.0 + 50.0 * rng.random() if rng.random() < 0.7 else 62.0)
            pir("living", t, end, 45 * MIN)  # sitting still: the desk room's PIR rarely fires
            brk = end + rng.uniform(5, 15) * MIN
            pc(end, brk, 10 * MIN, lambda: 62.0)  # idle while away from the desk
            pir(rng.choice(["kitchen", "bathroom"]), end, brk, 60.0)
            t = brk
        rows.append((sleep - 10 * MIN, "pir_bedroom", MOTION, 1.0))
        prev_on = sleep - 10 * MIN
    t = START  # the fridge: every 45 min, 15 min on (250 W start, then 90 W), 1 W otherwise
    while fridge and t < START + days * DAY:
        rows.append((t, "fridge", APPLIANCE, 250.0))
        rows.extend((x, "fridge", APPLIANCE, 90.0) for x in np.arange(t + MIN, t + 15 * MIN, 3 * MIN))
        rows.extend((x, "fridge", APPLIANCE, 1.0) for x in np.arange(t + 15 * MIN, t + 45 * MIN, 10 * MIN))
        t += 45 * MIN
    rows.sort(key=lambda r: r[0])
    names = sorted({r[1] for r in rows})
    ids = {n: i for i, n in enumerate(names)}
    mono = np.array([r[0] for r in rows])
    return EventBatch(mono, mono.copy(), np.array([r[2] for r in rows], dtype=np.int64),
                      np.array([ids[r[1]] for r in rows], dtype=np.int64), np.array([r[3] for r in rows]),
                      tuple(names))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=42)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--cuts", type=int, default=1000)
    ap.add_argument("--no-fridge", action="store_true",
                    help="leave the fridge out (a detector that counts its cycles would look fast here, as the "
                         "cut ends the fridge too, while in a real collapse it cycles on and hides it)")
    args = ap.parse_args()
    fa = days = 0.0
    delays = []
    for seed in range(args.seeds):
        batch = screen_bound(args.days, seed, fridge=not args.no_fridge)
        r = backtest(batch, cuts=args.cuts, seed=seed, waking_hours=(15.0, 5.0),
                     title=f"screen-bound resident with a PC, seed {seed} ({args.days} d, {len(batch):,} events)")
        print(r.format_table())
        print()
        m = r.method("learned")
        fa += m.false_alarms
        days += r.home_days
        delays.append(r.delays["learned"])
    d = np.concatenate(delays) / H
    print(f"pooled learned: {int(fa)} false alarms in {days:.1f} d at home = {fa / days:.3f}/d; "
          f"delay median {np.median(d):.1f} h, p90 {np.quantile(d, 0.9):.1f} h, missed 24 h {int(np.sum(~(d <= 24)))}")


if __name__ == "__main__":
    main()
