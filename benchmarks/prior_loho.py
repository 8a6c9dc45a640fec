"""Leave-one-home-out check of the population prior (issue 15; until backtest takes ``prior=``).

    .venv/bin/python benchmarks/prior_loho.py            # each home scored with a prior built without it
    .venv/bin/python benchmarks/prior_loho.py --noprior  # the same, no prior (the old cold start)

Per home: every resident alert (inactivity, not_returned, stayed_in_place) over the whole log
counts as a false alarm (and those of the first 7 days apart); simulated collapses (400 cuts at
home) from day 3 and from day 8: median / p90 delay in hours, missed within 24 h. The synthetic
residents are scored on bench_detector's own seeds; the prior's copies of them use other seeds.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import bench_detector as bench  # noqa: E402
from hubd.detector import backtest as bt  # noqa: E402
from hubd.detector.model import LearnedDetector  # noqa: E402
from hubd.detector.params import DetectorParams  # noqa: E402
from hubd.detector.prior import build_prior, development_batches  # noqa: E402

H, DAY = 3600.0, 86400.0
RESIDENT = ("inactivity", "not_returned", "stayed_in_place")


def main() -> None:
    noprior = "--noprior" in sys.argv
    p = DetectorParams()
    dev = dict(development_batches(ROOT))
    scored = [("kasteren_house_a", dev["kasteren_house_a"]), ("kasteren_b", dev["kasteren_b"])]
    scored += [(f"synthetic {n}", bench.simulate(r, 56, seed=1 + i)) for i, (n, r) in enumerate(bench.RESIDENTS.items())]
    raw: dict[int, dict[str, np.ndarray]] = {3: {}, 8: {}}
    for name, batch in scored:
        prior = False if noprior else build_prior([b for n, b in dev.items() if n != name], p)
        make = functools.partial(LearnedDetector, prior=prior)
        bt.LearnedDetector = make  # the backtest's detector, with this home's prior
        episodes = make(p).replay(batch).episodes
        alerts = [e for e in episodes if e.finding.type in RESIDENT]
        t0, days = float(batch.mono[0]), (float(batch.mono[-1]) - float(batch.mono[0])) / DAY
        row = {"days": round(days, 1), "alerts": len(alerts), "per_day": round(len(alerts) / days, 3),
               "first_week": sum(e.start_mono < t0 + 7 * DAY for e in alerts),
               "by_type": {t: sum(e.finding.type == t for e in alerts) for t in RESIDENT}}
        for w in raw:
            d = bt.backtest(batch, p, cuts=400, seed=0, warmup_days=float(w)).delays["learned"] / H
            raw[w][name] = d
            row[f"from_day_{w}"] = {"median": round(float(np.median(d)), 2), "p90": round(float(np.quantile(d, 0.9)), 2),
                                    "missed_24h": int(np.sum(~(d <= 24)))}
        print(name, json.dumps(row), flush=True)
    for w, per in raw.items():
        for label, keys in (("real", [n for n, _ in scored[:2]]), ("all", list(per))):
            d = np.concatenate([per[k] for k in keys])
            print(f"pooled {label}, cuts from day {w}: median {np.median(d):.2f} h, p90 {np.quantile(d, 0.9):.2f} h, "
                  f"missed 24 h {int(np.sum(~(d <= 24)))}")


if __name__ == "__main__":
    main()
