"""The full power-cut loop: kill -9 the hub at random moments many times (default 200).

    .venv/bin/python benchmarks/powercut.py [--kills 200] [--seed 1] [--speed 2400] [--keep DIR]

The same loop as tests/test_powercut.py (which runs 30 kills in CI): see
tests/powercut_harness.py for the kill families and the checks. Prints progress, the
summary line and every problem found; exit status 1 if there was any.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
os.environ.setdefault("GPIOZERO_PIN_FACTORY", "mock")

from powercut_harness import run_loop  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kills", type=int, default=200)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--speed", type=float, default=2400.0, help="simulated seconds per wall second")
    p.add_argument("--detector", default="fixed", choices=("fixed", "learned"))
    p.add_argument("--keep", default=None, help="work directory to keep (default: a temporary one)")
    args = p.parse_args()
    workdir = args.keep or tempfile.mkdtemp(prefix="hubd-powercut-")
    os.makedirs(workdir, exist_ok=True)
    print(f"power-cut loop: {args.kills} kills, seed {args.seed}, x{args.speed:g}, detector {args.detector}, "
          f"Python {platform.python_version()}, {os.cpu_count()} CPUs, work dir {workdir}", flush=True)
    started = time.monotonic()
    result = run_loop(workdir, args.kills, seed=args.seed, speed=args.speed, detector=args.detector,
                      say=lambda s: print("  " + s, flush=True))
    print(result.summary())
    print(f"per kill: {result.wall_seconds / max(1, result.cycles):.2f} s wall (start-up, life, check); "
          f"total {time.monotonic() - started:.0f} s")
    for problem in result.problems:
        print("PROBLEM", problem)
    return 1 if result.problems else 0


if __name__ == "__main__":
    sys.exit(main())
