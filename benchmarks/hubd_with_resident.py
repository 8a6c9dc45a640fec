"""``hubd run`` with a resident walking about its MockFactory pins in real time.

    GPIOZERO_PIN_FACTORY=mock python benchmarks/hubd_with_resident.py CONFIG [--profile busy]
        [--seed 1] [--start-hour 8] [--count-file PATH] [--still]

The benchmarks start this instead of ``hubd run`` because mock pins live inside the process
that reads them: before handing over to the unchanged ``hubd run`` entry point
(``hubd.cli.main``), it installs a MockFactory, scripts every GPIO sensor of the config from
``hubsim.resident`` days starting at ``--start-hour`` (local, simulated), and starts one
thread, named ``resident`` (so its CPU can be told apart), that drives each edge onto its
pin at its moment in real time: realistic rates, not a stress test. ``--still`` drives
nothing (the pins hold their levels). Each applied edge increments the number in
``--count-file``.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import sys
import threading
import time

os.environ.setdefault("GPIOZERO_PIN_FACTORY", "mock")

from gpiozero import Device  # noqa: E402
from gpiozero.pins.mock import MockFactory  # noqa: E402

from hubd import cli  # noqa: E402
from hubd.config import load_config  # noqa: E402
from hubsim.gpio_driver import GpioScript  # noqa: E402
from hubsim.resident import DEFAULT_FLAT, Resident  # noqa: E402

DAY, HOUR = 86400.0, 3600.0
DAY0 = 20458 * DAY  # a Monday


def name_this_thread(name: str) -> None:
    try:
        ctypes.CDLL(None).prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME: shows in /proc/PID/task/TID/comm
    except (OSError, AttributeError):
        pass


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("config")
    p.add_argument("--profile", default="busy")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--start-hour", type=float, default=8.0)
    p.add_argument("--count-file", default=None)
    p.add_argument("--still", action="store_true")
    args = p.parse_args()

    config = load_config(args.config)
    known = {s.id for s in DEFAULT_FLAT}
    pins = {s.id: s.pin for s in config.sensors if s.pin is not None and s.id in known}
    factory = MockFactory()
    Device.pin_factory = factory
    events = Resident(args.seed, profile=args.profile).days(DAY0, 2)
    start = DAY0 + args.start_hour * HOUR
    script = GpioScript(factory, pins, events)
    script.advance_to(start)  # the flat as it is at the start: levels set before hubd opens the pins
    t0 = time.monotonic()

    def drive() -> None:
        name_this_thread("resident")
        applied = 0
        wake = threading.Event()
        while True:
            due = script.next_due()
            if due is None:
                return
            wake.wait(max(0.0, due - start - (time.monotonic() - t0)))  # the edge's moment, in real time
            applied += len(script.advance_to(start + time.monotonic() - t0))
            if args.count_file:
                with open(args.count_file + ".tmp", "w") as fh:
                    fh.write(str(applied))
                os.replace(args.count_file + ".tmp", args.count_file)

    if not args.still:
        threading.Thread(target=drive, name="resident", daemon=True).start()
    return cli.main(["run", "--config", args.config])


if __name__ == "__main__":
    sys.exit(main())
