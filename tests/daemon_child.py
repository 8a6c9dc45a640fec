"""A daemon process for kill -9 tests: `run STATE_DIR` raises an alarm then waits to be killed;
`check STATE_DIR` restarts on the same state and prints what it restored as JSON."""

import asyncio
import json
import sys

from hubd.clock import FakeClock
from hubd.config import parse_config
from hubd.events import Kind

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from fakes import build_hub  # noqa: E402


def main(mode: str, state_dir: str) -> None:
    config = parse_config({
        "hub": {"state_dir": state_dir, "flush_seconds": 3600, "language": "en"},
        "detector": {"mode": "fixed", "max_inactivity_hours": 1.0},
        "alerts": {"prealarm_minutes": 0},
        "modem": {"recipients": ["+8100000001"]},
    })
    # a new boot each run: monotonic restarts at 0, the wall clock has moved on 2.5 h
    clock = FakeClock(mono=0.0, local=1_700_000_000.0 + (0 if mode == "run" else 2.5 * 3600))
    daemon = build_hub(config, clock, boot_id=f"boot-{mode}")

    async def driver():
        await asyncio.sleep(0.01)
        if mode == "run":
            daemon.sink("hall", Kind.MOTION, 1.0, clock.monotonic())
            while not daemon.store.alerts(open_only=True):
                clock.advance(60)
                await asyncio.sleep(0.001)
            print("ALERTED", clock.local(), flush=True)
            await asyncio.Event().wait()
        status = daemon.engine.status(clock.monotonic(), clock.local())
        print(json.dumps({"detector": status["detector"],
                          "open": [(a["id"], a["stage"]) for a in status["open_alerts"]],
                          "sent": daemon.uplink.sent}), flush=True)
        daemon.request_stop()

    async def both():
        task = asyncio.ensure_future(driver())
        await daemon.run()
        task.cancel()

    asyncio.run(both())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
