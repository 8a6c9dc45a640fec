"""Build the population prior the hub ships (``hubd/detector/prior.npz``).

    .venv/bin/python benchmarks/build_prior.py                      # rebuild the shipped file
    .venv/bin/python benchmarks/build_prior.py -o /tmp/p.npz --without kasteren_b
    .venv/bin/python -m hubd.detector.population /tmp/p.npz         # the day-1 limits it gives

The homes are ``bench_detector.prior_homes()``: van Kasteren house A and B, and the synthetic
residents of ``bench_detector.py`` (and a worker with long weekdays) on seeds of their own.
``bench_detector.py --results`` builds the same recipe per fold without the scored home.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import bench_detector as bench  # noqa: E402
from hubd.detector.params import DetectorParams  # noqa: E402
from hubd.detector.population import build_prior  # noqa: E402
from hubd.detector.prior import DEFAULT_PATH  # noqa: E402


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--output", default=str(DEFAULT_PATH), help="where to write the .npz (default: the shipped file)")
    ap.add_argument("--without", action="append", default=[], metavar="HOME",
                    help="leave a home out by its base name (repeatable), e.g. kasteren_b or syn_regular")
    args = ap.parse_args(argv)
    homes = bench.prior_homes()
    unknown = set(args.without) - {name for name, _ in homes}
    if unknown:
        print(f"build_prior: no such home: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    kept = [(n, b) for n, b in homes if n not in args.without]
    prior = build_prior([b for _, b in kept], DetectorParams(), names=[n for n, _ in kept])
    prior.save(args.output)
    print(f"wrote {args.output}: {len(kept)} homes: {', '.join(prior.homes)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
