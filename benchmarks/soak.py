"""The full soak: 30 simulated days through the production daemon, in a fresh process.

    .venv/bin/python benchmarks/soak.py [--days 30] [--detector fixed|learned|both] [--no-modem]

Same run as tests/test_soak.py (12 days in CI); see tests/soakrun.py. Prints one line per
simulated day (RSS, fds, threads, bytes in the state directory, rows in the events table),
then the alerts against the collapses and the verdicts: RSS growth after the 3-day
warm-up (target < 5 MB), fd/thread counts, state size after retention, misplaced alerts.
Exit status 1 if a verdict fails.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
os.environ.setdefault("GPIOZERO_PIN_FACTORY", "mock")

from soakrun import misplaced_alerts, run_soak  # noqa: E402

WARM_DAYS = 3


def one(days: int, detector: str, modem: bool, limit: float, retention: int) -> bool:
    emulator = None
    if modem:
        from hubsim.modem import ModemEmulator
        emulator = ModemEmulator("ec25", seed=4).start()
    try:
        result = run_soak(tempfile.mkdtemp(prefix="hubd-soak-"), days, seed=3, limit_hours=limit,
                          retention_days=retention, detector=detector, emulator=emulator,
                          say=lambda s: print("  " + s, flush=True))
    finally:
        if emulator is not None:
            emulator.stop()
    s = result.samples
    growth = (s[-1].rss_kb - s[WARM_DAYS - 1].rss_kb) / 1024
    wall = result.wall_seconds
    print(f"{detector}: {days} days, {result.events} events, {result.wakes} daemon wake-ups in {wall:.1f} s "
          f"({wall / days:.2f} s per simulated day, x{days * 86400 / wall:,.0f})")
    print(f"  RSS {s[0].rss_kb / 1024:.1f} MB after day 1, {s[WARM_DAYS - 1].rss_kb / 1024:.1f} MB after warm-up, "
          f"{s[-1].rss_kb / 1024:.1f} MB at the end: growth {growth:+.2f} MB (target < 5 MB)")
    print(f"  fds {sorted({x.fds for x in s})}, threads {sorted({x.threads for x in s})}")
    print(f"  state directory {min(x.disk_bytes for x in s[retention + 1:]) / 1e6:.2f}..{max(x.disk_bytes for x in s) / 1e6:.2f} MB "
          f"after retention ({retention} d), events table max {max(x.event_rows for x in s)} rows, "
          f"end {s[-1].event_rows}")
    resident = [a for a in result.alerts if a["category"] == "resident"]
    system = [a for a in result.alerts if a["category"] == "system"]
    print(f"  {len(result.life.collapses)} collapses, {len(resident)} resident alerts "
          f"({', '.join(sorted({a['type'] for a in resident}))}), {len(system)} system alerts "
          f"({', '.join(sorted({a['type'] for a in system})) or '-'}), {len(result.sms)} SMS")
    problems = misplaced_alerts(result, limit)
    for p in problems:
        print("  MISPLACED", p)
    ok = growth < 5 and len({x.fds for x in s}) == 1 and not problems
    print(f"  verdict: {'ok' if ok else 'FAILED'}")
    return ok


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--detector", choices=("fixed", "learned", "both"), default="both")
    p.add_argument("--no-modem", action="store_true", help="record SMS instead of sending them to the emulator")
    p.add_argument("--limit-hours", type=float, default=8.0)
    p.add_argument("--retention-days", type=int, default=3)
    args = p.parse_args()
    print(f"soak: Python {platform.python_version()}, {os.cpu_count()} CPUs", flush=True)
    modes = ("fixed", "learned") if args.detector == "both" else (args.detector,)
    oks = [one(args.days, mode, not args.no_modem, args.limit_hours, args.retention_days) for mode in modes]
    return 0 if all(oks) else 1


if __name__ == "__main__":
    sys.exit(main())
