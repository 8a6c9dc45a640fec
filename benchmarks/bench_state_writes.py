"""Bytes the hub writes to its state directory per simulated day at a busy home's event rate.

    .venv/bin/python benchmarks/bench_state_writes.py [--days 3] [--detector learned|fixed|both]

The production daemon (SimFlat: MockFactory pins, INA226 models polled every 10 s, the real
Store, SmsService on the pty emulator) lives the ``busy`` resident profile with the shipped
defaults (flush_seconds 60, tick_seconds 30, 90-day retention). Per simulated day after the
first: ``write_bytes`` of this process from /proc/self/io (what reaches the storage layer:
WAL frames, checkpoints into the database, every fsync'd page; target <= 2 MB/day) and the
growth of the state directory's files. Same-run baseline: the payload, i.e. the bytes of
the event rows the hub stored that day, so the ratio is the write amplification.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
os.environ.setdefault("GPIOZERO_PIN_FACTORY", "mock")

from hubd.config import parse_config  # noqa: E402
from soakrun import run_soak  # noqa: E402

EVENT_ROW_BYTES = 8 + 8 + 8 + 12 + 1 + 8  # id, mono, local, sensor id text, kind, value
TARGET = 2e6


def one(days: int, detector: str, hub: dict) -> float:
    from hubsim.modem import ModemEmulator

    with ModemEmulator("ec25", seed=4) as emulator:
        result = run_soak(tempfile.mkdtemp(prefix="hubd-writes-"), days, seed=5, detector=detector,
                          limit_hours=12.0, retention_days=90, emulator=emulator, profile="busy",
                          hub=hub, poll_seconds=10.0, collapses=False)
    s = result.samples
    per_day_written = (s[-1].written_bytes - s[0].written_bytes) / (len(s) - 1)
    per_day_growth = (s[-1].disk_bytes - s[0].disk_bytes) / (len(s) - 1)
    rows_per_day = (s[-1].event_rows - s[0].event_rows) / (len(s) - 1)
    payload = rows_per_day * EVENT_ROW_BYTES
    print(f"{detector} ({', '.join(f'{k}={v:g}' for k, v in hub.items())}): "
          f"{rows_per_day:,.0f} events stored per day, payload {payload / 1e3:,.0f} kB/day")
    print(f"  written {per_day_written / 1e6:,.2f} MB/day (x{per_day_written / max(payload, 1):,.0f} the payload; "
          f"target <= {TARGET / 1e6:g} MB/day: {'met' if per_day_written <= TARGET else 'NOT met'}), "
          f"state directory grows {per_day_growth / 1e6:,.3f} MB/day (now {s[-1].disk_bytes / 1e6:.2f} MB)")
    return per_day_written


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--days", type=int, default=3, help="simulated days (the first is warm-up)")
    p.add_argument("--detector", choices=("fixed", "learned", "both"), default="both")
    p.add_argument("--flush-seconds", type=float, default=None, help="override hub.flush_seconds")
    args = p.parse_args()
    print(f"state writes: Python {platform.python_version()}, {os.cpu_count()} CPUs, busy profile", flush=True)
    shipped = parse_config({}).hub  # the shipped defaults, not the soak's own choices
    hub = {"flush_seconds": shipped.flush_seconds if args.flush_seconds is None else args.flush_seconds,
           "tick_seconds": shipped.tick_seconds}
    modes = ("fixed", "learned") if args.detector == "both" else (args.detector,)
    worst = max(one(args.days, mode, hub) for mode in modes)
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
