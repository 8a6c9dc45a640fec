"""One life of the hub for the power-cut loop: the production daemon on simulated hardware,
run until it is killed with SIGKILL (by the parent, or by itself in the middle of a write).

    powercut_child.py STATE_DIR MODEM_PORT ACK_LOG --epoch E [--speed S] [--seed N]
                      [--die-in sqlite|snapshot|alert|after-alert --die-at K] [--drain]

Everything the hub keeps goes to a real Store in STATE_DIR; SMS go to the parent's modem
emulator on MODEM_PORT (the parent keeps the "phone" log, so it survives this process).
Simulated time is ``(time.monotonic() - E) * S`` seconds after 2026-01-05 06:00: one boot, so
monotonic time goes on across restarts exactly as on a Pi whose hubd is restarted by systemd.

**Acknowledged** = committed: after each SQLite transaction returns, one line saying what it
made durable is appended to ACK_LOG (one ``write`` on an O_APPEND file: a line is there
whole or not at all, and the OS keeps it when this process dies). A kill between the commit
and the line only makes the parent expect less. Lines::

    E <rows> <max_id>                 events table after a flush
    U <rows> <max_id>                 audit table after an audit entry
    A <id> <type> <stage> <raised>    an alert record
    K <saved_mono>                    the engine snapshot
    O <id> <state> <ambiguous> <recipient> <sha1 of text>   an outbox row that changed

``--die-in sqlite --die-at K`` arms a killer thread at the K-th write transaction: it sends
SIGKILL to this process a random fraction of a typical commit later, so the kill lands before,
inside or just after the commit. ``snapshot`` counts only writes of the engine snapshot (the
learned rhythm and sensor-health statistics: a kill "during learning"); ``alert`` counts alert
records (the transaction that also queues the alarm SMS); ``after-alert`` dies at once when
the first transaction after the K-th alert record begins.
``--drain`` runs without the resident (sensors frozen as they are) until the outbox is empty,
then stops cleanly and prints DRAINED (or NOT-DRAINED if a message was queued meanwhile).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import re
import signal
import sqlite3
import sys
import threading
import time
from types import SimpleNamespace

os.environ.setdefault("GPIOZERO_PIN_FACTORY", "mock")

from hubd.config import parse_config  # noqa: E402
from hubd.daemon import setup_logging  # noqa: E402
from hubd.core.engine import Engine  # noqa: E402
from hubd.modem.service import SmsTiming  # noqa: E402
from hubd.sdnotify import Notifier  # noqa: E402
from hubd.store import Store, unpack  # noqa: E402
from hubsim.pacing import PacedClock, drive_due  # noqa: E402
from hubsim.resident import Resident  # noqa: E402
from hubsim.runner import SimFlat, sim_sensors  # noqa: E402

DAY, HOUR = 86400.0, 3600.0
DAY0 = 20458 * DAY  # 2026-01-05 local midnight
START = DAY0 + 6 * HOUR
OFFICE = ("+81300000001", "+81300000002")
COMMIT_SECONDS = 0.004  # a typical WAL commit with synchronous=FULL on this class of disk


def config_for(state_dir: str, port: str, detector: str):
    sensors = sim_sensors(poll_seconds=30.0, labels=False)
    return parse_config({
        "hub": {"flat_id": "PC-1", "language": "en", "state_dir": state_dir,
                "socket": os.path.join(state_dir, "ctl.sock"), "flush_seconds": 60.0, "tick_seconds": 30.0},
        "detector": {"mode": detector, "max_inactivity_hours": 1.0},
        # no pre-alarm, a short ACK timeout and two recipients: every silence is several SMS
        "alerts": {"prealarm_minutes": 0.0, "ack_timeout_minutes": 5.0, "repeat_limit": 1,
                   "heartbeat_hours": 3.0, "system_grace_minutes": 1.0},
        "modem": {"port": port, "recipients": list(OFFICE), "authorised": list(OFFICE)},
        "outputs": {"buzzer_pin": 18, "led_pin": 23, "button_pin": 24},
        "sensors": sensors,
    }, "(power-cut child)")


class AckLog:
    """Appends what each committed transaction made durable (see the module docstring)."""

    SNAPSHOT_MONO = re.compile(r'"saved_mono":([-0-9.eE+]+)')

    def __init__(self, path: str):
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.outbox: dict[int, tuple] = {}

    def line(self, *fields) -> None:
        os.write(self.fd, (" ".join(str(f) for f in fields) + "\n").encode())

    def baseline(self, db: sqlite3.Connection) -> None:
        """The outbox as found at start-up is not news: only changes from here are logged."""
        for message_id, state, ambiguous in db.execute("SELECT id, state, ambiguous FROM outbox"):
            self.outbox[message_id] = (state, ambiguous)

    def committed(self, db: sqlite3.Connection, notes: list[tuple]) -> None:
        kinds = {note[0] for note in notes}
        for kind, table in (("events", "events"), ("audit", "audit")):
            if kind in kinds:
                rows, top = db.execute(f"SELECT count(*), max(id) FROM {table}").fetchone()
                self.line("E" if kind == "events" else "U", rows, top)
        for note in notes:
            if note[0] == "alert":
                args = note[1]
                self.line("A", args[0], args[1], args[4], repr(args[5]))
            elif note[0] == "snapshot":
                found = self.SNAPSHOT_MONO.search(unpack(note[1][0]))
                if found:
                    self.line("K", found.group(1))
        if "outbox" in kinds:
            for message_id, state, ambiguous, recipient, text in db.execute(
                    "SELECT id, state, ambiguous, recipient, text FROM outbox"):
                if self.outbox.get(message_id) != (state, ambiguous):
                    self.outbox[message_id] = (state, ambiguous)
                    digest = hashlib.sha1(text.encode()).hexdigest()[:12]
                    self.line("O", message_id, state, ambiguous, recipient, digest)


class Killer:
    """SIGKILL to this very process at a chosen statement: a random moment (within a typical
    commit) after the K-th ``begin`` (``sqlite``), snapshot write (``snapshot``) or alert record
    (``alert``); or, ``after-alert``, at once when the first transaction after the K-th alert
    record begins (the moment the hub used to be between an alert and its snapshot)."""

    TRIGGER = {"sqlite": "begin", "snapshot": "snapshot", "alert": "alert", "after-alert": "alert"}

    def __init__(self, what: str | None, at: int, rng: random.Random):
        self.what = what
        self.trigger = self.TRIGGER.get(what or "")
        self.at, self.rng = at, rng
        self.seen = 0
        self.armed = False

    def statement(self, kind: str) -> None:
        if self.armed and kind == "begin":
            os.kill(os.getpid(), signal.SIGKILL)
        if kind != self.trigger:
            return
        self.seen += 1
        if self.seen != self.at:
            return
        if self.what == "after-alert":
            self.armed = True
            return
        delay = self.rng.uniform(0.0, 1.5 * COMMIT_SECONDS)
        threading.Thread(target=self._die, args=(delay,), daemon=True).start()

    @staticmethod
    def _die(delay: float) -> None:
        time.sleep(delay)  # the kill moment, drawn at random: not a wait for a condition
        os.kill(os.getpid(), signal.SIGKILL)


def _note(sql: str, args) -> tuple | None:
    head = sql.lstrip()[:40].upper()
    if head.startswith("INSERT INTO EVENTS"):
        return ("events",)
    if head.startswith("INSERT INTO AUDIT"):
        return ("audit",)
    if "INTO ALERTS" in head:
        return ("alert", args)
    if "INTO KV" in head and "'snapshot'" in sql:
        return ("snapshot", args)
    if "OUTBOX" in head:
        return ("outbox",)
    return None


class TracedConnection(sqlite3.Connection):
    """The Store's connection, watched: notes what each statement writes, and turns the notes
    into ack lines only once the transaction holding them has committed."""

    ack: AckLog
    killer: Killer

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.notes: list[tuple] = []
        self.savepoints: list[int] = []

    def execute(self, sql, args=()):
        self._before(sql, args)
        cursor = super().execute(sql, args)
        self._after(sql)
        return cursor

    def executemany(self, sql, seq):
        self._before(sql, seq)
        cursor = super().executemany(sql, seq)
        self._after(sql)
        return cursor

    def _before(self, sql: str, args) -> None:
        word = sql.lstrip()[:16].upper()
        if word.startswith("BEGIN"):
            self.killer.statement("begin")
        elif word.startswith("SAVEPOINT"):
            self.savepoints.append(len(self.notes))
        elif word.startswith("ROLLBACK TO"):
            del self.notes[self.savepoints[-1]:]
        elif word.startswith("RELEASE"):
            self.savepoints.pop()
        elif word.startswith("ROLLBACK"):
            self.notes.clear()
            self.savepoints.clear()
        note = _note(sql, args)
        if note is not None:
            self.notes.append(note)
            self.killer.statement(note[0])

    def _after(self, sql: str) -> None:
        if self.notes and not self.in_transaction:  # COMMIT, or a statement in autocommit
            notes, self.notes = self.notes, []
            self.ack.committed(self, notes)


def instrument(ack: AckLog, killer: Killer) -> None:
    """Every connection this process opens (the Store's) is a TracedConnection."""
    TracedConnection.ack, TracedConnection.killer = ack, killer
    connect = sqlite3.connect

    def traced_connect(*args, **kwargs):
        return connect(*args, factory=TracedConnection, **kwargs)

    sqlite3.connect = traced_connect


class ReadyLine(Notifier):
    """READY=1 goes to the parent as a line on stdout instead of systemd's socket."""

    def __init__(self) -> None:
        super().__init__(address="", watchdog_usec="")
        self.event = asyncio.Event()

    def ready(self, status: str = "") -> bool:
        print("READY", flush=True)
        self.event.set()
        return True


async def feed_resident(flat: SimFlat, clock: PacedClock) -> None:
    """Drive each of the resident's edges onto the pins at its own simulated moment, as `hubd sim`
    does (hubsim.pacing: edges due in one wake-up are not driven at one instant)."""
    while True:
        drive_due(flat.script, clock)
        due = flat.script.next_due()
        if due is None:
            return
        await clock.sleep(max(0.0, due - clock.unheld_local()))


async def drain(flat: SimFlat, ready: asyncio.Event, wall_limit: float) -> bool:
    """Run until the outbox is empty after an uplink step, then stop the daemon."""
    daemon, uplink = flat.daemon, flat.uplink
    started = asyncio.get_running_loop().time()
    await ready.wait()
    ok = await uplink.wait_until(lambda: uplink.outbox.head() is None, timeout=wall_limit)
    waited = asyncio.get_running_loop().time() - started
    print(f"drained after {waited:.2f} s" if ok else "drain timed out", file=sys.stderr, flush=True)
    daemon.request_stop()
    return ok


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("state_dir")
    p.add_argument("port")
    p.add_argument("ack_log")
    p.add_argument("--epoch", type=float, required=True, help="time.monotonic() at the start of the loop")
    p.add_argument("--speed", type=float, default=1200.0)
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--detector", default="fixed")
    p.add_argument("--die-in", choices=tuple(Killer.TRIGGER), default=None)
    p.add_argument("--die-at", type=int, default=1)
    p.add_argument("--drain", action="store_true")
    args = p.parse_args(argv)
    setup_logging("warning")

    rng = random.Random(f"{args.seed}/{os.getpid()}/{time.time_ns()}")
    ack = AckLog(args.ack_log)
    instrument(ack, Killer(args.die_in, args.die_at, rng))

    elapsed = (time.monotonic() - args.epoch) * args.speed
    clock = PacedClock(args.speed, start_local=START + elapsed, start_mono=START + elapsed)
    resident = Resident(args.seed)
    events = resident.days(DAY0, int((clock.local() - DAY0) // DAY) + 2)  # today and tomorrow are enough
    config = config_for(args.state_dir, args.port, args.detector)
    timing = SmsTiming(health_interval=6 * HOUR, reconnect_interval=60.0, unregistered_poll=60.0,
                       command_timeout=2.0, cmgs_timeout=10.0, settle=0.02)
    flat = SimFlat(config, clock, events, resident, SimpleNamespace(port=args.port), Engine(config), timing=timing,
                   control=True)
    flat.script.advance_to(clock.local())  # the flat as it is now: sensors kept their state through the cut
    daemon = flat.daemon
    daemon.boot_id = "powercut-boot"  # same boot: monotonic time goes on
    notifier = daemon.notifier = ReadyLine()
    ack.baseline(flat.store.db)

    async def life() -> bool:
        run = asyncio.ensure_future(daemon.run())
        helper = asyncio.ensure_future(drain(flat, notifier.event, 60.0) if args.drain else feed_resident(flat, clock))
        await run
        helper.cancel()
        await asyncio.gather(helper, return_exceptions=True)
        return helper.done() and not helper.cancelled() and helper.exception() is None and bool(helper.result())

    drained = asyncio.run(life())
    if args.drain:
        left = flat.uplink.outbox.counts()
        ok = drained and left["queued"] == 0 and left["sending"] == 0
        print("DRAINED" if ok else f"NOT-DRAINED {left}", flush=True)
    flat.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
