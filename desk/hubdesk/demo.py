"""``hubdesk demo``: the desk and its board on the embedded default (SQLite), fed by a fleet of
simulated hubs (``hubsim.fleet``: each one the hub's own core, living a scripted resident) on an
accelerated clock. One resident collapses, one hub dies, one modem loses the network, one text
is lost on its way: within a minute the board shows an alarm, a silent hub and a gap.

gammu-smsd is played by :class:`GatewaySim` (a received text becomes ``inbox`` rows, one per
part, as gammu-smsd stores them; a queued text is moved to ``sentitems`` and handed to the
phone it was for), so the demo needs no modem and no gammu. The duty phones print what they get.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time

from hubd.clock import ScaledClock

from . import gammu
from .config import parse
from .db import Database
from .desk import Desk, prepare

DUTY = ("+818011110001", "+818011110002")
OFFICE_MODEM = "+81300000001"  # the number hubs text (the desk's gammu-smsd)
PHONE_ID = "office1"  # its gammu-smsd PhoneID


class GatewaySim:
    """What gammu-smsd does for the desk, for a demo without a modem."""

    def __init__(self, db: Database, fleet, say=print):
        self.db, self.fleet, self.say = db, fleet, say

    def received(self, texts) -> None:
        for text in texts:
            gammu.store_received(self.db, text.sender, text.text, text.at, PHONE_ID)

    def send_queued(self, now: float) -> list:
        """Send everything in ``outbox``: into ``sentitems``; a hub answers what it is sent."""
        replies = []
        for number, text in gammu.take_outbox(self.db, PHONE_ID):
            if number in DUTY:
                self.say(f"  duty phone {number} gets: {text}")
            else:
                replies += self.fleet.deliver(number, OFFICE_MODEM, text, now)
        return replies


def demo_config(db_path: str, fleet, listen: str) -> dict:
    return {
        "database": {"sqlite": db_path},
        "duty": {"numbers": list(DUTY), "ack_timeout_minutes": 30},
        "board": {"listen": listen},
        "desk": {"poll_seconds": 0.1},
        "flats": [{"id": h.flat, "phone": h.number} for h in fleet.hubs],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="hubdesk demo", description=__doc__.splitlines()[0])
    p.add_argument("--hubs", type=int, default=12, help="simulated hubs (at least 5 show every trouble)")
    p.add_argument("--speed", type=float, default=3600.0, help="simulated seconds per wall second")
    p.add_argument("--listen", default="127.0.0.1:8080", help="the board's host:port")
    p.add_argument("--seconds", type=float, default=0.0, help="stop after this many wall seconds (0: at Ctrl-C)")
    p.add_argument("--state", default=None, help="directory for the database and the hubs (default: temporary)")
    p.add_argument("--language", choices=("en", "ja"), default="en", help="the hubs' language")
    args = p.parse_args(argv)
    if args.hubs < 1:
        p.error("--hubs must be at least 1")

    from hubsim.fleet import build_fleet, day_start
    from .board.auth import add_user
    from .board.server import start as start_board

    state = args.state or tempfile.mkdtemp(prefix="hubdesk-demo-")
    start = day_start(hour=9)
    print(f"hubdesk demo: {args.hubs} simulated hubs learning their residents' week ...", flush=True)
    fleet = build_fleet(args.hubs, os.path.join(state, "hubs"), OFFICE_MODEM, start, language=args.language)
    for hub in fleet.hubs:
        if hub.fate != "well":
            print(f"  {hub.flat}: {hub.fate.replace('_', ' ')}", flush=True)
    clock = ScaledClock(args.speed, start_local=start).local  # simulated seconds since the epoch
    db_path = os.path.join(state, "smsd.db")
    cfg = parse(demo_config(db_path, fleet, args.listen), "(demo)")
    db = Database.open(cfg.database)
    prepare(db, cfg, clock())
    password = secrets.token_urlsafe(9)
    add_user(db, "demo", password)
    stop_board = start_board(db, cfg, clock=clock)
    print(f"board: {stop_board.url}  (log in as demo / {password}); clock x{args.speed:g}; Ctrl-C ends it",
          flush=True)
    desk = Desk(db, cfg, clock=clock)
    gateway = GatewaySim(db, fleet)
    wall_end = time.monotonic() + args.seconds if args.seconds > 0 else float("inf")
    try:
        while time.monotonic() < wall_end:
            now = clock()
            gateway.received(fleet.advance(now))
            desk.step()
            gateway.received(gateway.send_queued(now))
            time.sleep(0.1)
    except KeyboardInterrupt:
        pass
    finally:
        stop_board()
        db.close()
    print(f"hubdesk demo: ended; the database is {db_path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
