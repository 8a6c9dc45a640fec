"""The soak: weeks of a resident's life through the production daemon at full speed.

The daemon is assembled exactly as ``hubd sim`` assembles it (``hubsim.runner.SimFlat``:
MockFactory pins driven by the resident's script, INA226 models on a SimBus, the real
Store, optionally the real SmsService on the pty modem emulator) and runs on a fake clock
that jumps straight to the next thing that happens: the resident's next edge or the
daemon's own next wake-up, and never while the hub still works in real time (a modem
exchange, a power chip read, a wake-up not yet handled: ``faketime.drive``), so what
the hub does and says is the same on an idle laptop and a loaded CI runner. Life is stitched from segments that each end in a collapse
(``hubsim.resident.collapse``, on the floor at 10:30); the resident is "back from
hospital" at the next midnight, so every collapse is followed by 13.5 hours of silence
the hub must report, and nothing else is.

Once per simulated day the run samples the process (RSS, open fds, threads) and the
state directory (bytes on disk, rows in the events table).
"""

from __future__ import annotations

import asyncio
import gc
import os
import threading
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Callable

from hubd.clock import FakeClock
from hubd.config import parse_config
from hubd.detector.base import is_activity
from hubd.core.engine import Engine
from hubd.events import Event
from hubd.modem.service import SmsTiming
from hubsim.resident import DEFAULT_FLAT, Resident, collapse
from hubsim.runner import SimFlat, sim_sensors

from fakes import RecordingUplink
from faketime import drive

DAY, HOUR, MIN = 86400.0, 3600.0, 60.0
DAY0 = 20458 * DAY  # 2026-01-05, a Monday, local midnight
OFFICE = "+81300000001"
RESIDENT_ALERTS = ("inactivity", "not_returned", "stayed_in_place")


def soak_config(state_dir: str, port: str, *, limit_hours: float, retention_days: int, detector: str,
                hub: dict | None = None, poll_seconds: float = 60.0):
    sensors = sim_sensors(poll_seconds=poll_seconds, labels=False)
    return parse_config({
        "hub": {"flat_id": "SOAK-1", "language": "en", "state_dir": state_dir,
                "socket": os.path.join(state_dir, "ctl.sock"), "flush_seconds": 60.0, "tick_seconds": 60.0,
                "event_retention_days": retention_days, **(hub or {})},
        "detector": {"mode": detector, "max_inactivity_hours": limit_hours},
        "alerts": {"prealarm_minutes": 3.0, "heartbeat_hours": 24.0},
        "modem": {"port": port, "recipients": [OFFICE], "authorised": [OFFICE]},
        "outputs": {"buzzer_pin": 18, "led_pin": 23, "button_pin": 24},
        "sensors": sensors,
    }, "(soak)")


@dataclass
class Life:
    events: list[Event]
    collapses: list[float]  # local times
    last_moves: list[float]  # the last movement before each collapse
    returns: list[float]  # when the resident is back
    longest_away: float  # the longest outing of normal life, seconds


def stitched_life(seed: int, days: int, segment_days: int = 5, profile: str = "early_riser",
                  collapses: bool = True) -> Life:
    """Segments of ``segment_days`` days; each ends with a collapse at 10:30 of its last
    day and the next begins at the following midnight. Deterministic for a seed."""
    events: list[Event] = []
    fallen, last_moves, returns = [], [], []
    longest_away = 0.0
    start, end, k = DAY0, DAY0 + days * DAY, 0
    autonomous = {s.id for s in DEFAULT_FLAT if s.role == "autonomous"}
    while start < end:
        n = max(1, min(segment_days, int((end - start) // DAY))) if collapses else days
        at = start + (n - 1) * DAY + 10.5 * HOUR
        resident = Resident(seed * 1000 + k, profile=profile)
        falls = collapses and at < end
        part = resident.days(start, n, scenarios=[collapse(at, on_floor=True)] if falls else [])
        events += part
        longest_away = max([longest_away] + [m.end - m.start for m in resident.marked("away") if m.end])
        if falls:
            fallen.append(at)
            last_moves.append(max(e.local for e in part
                                  if e.local <= at and e.sensor not in autonomous and is_activity(e)))
            returns.append(start + (n + 1) * DAY)
        start, k = start + (n + 1) * DAY, k + 1
    events = [e for e in events if e.local < end]
    return Life(events, fallen, last_moves, returns[:len(fallen)], longest_away)


@dataclass
class Sample:
    day: float
    rss_kb: int
    fds: int
    threads: int
    disk_bytes: int
    event_rows: int
    written_bytes: int  # /proc/self/io write_bytes: what this process sent to the storage layer so far


@dataclass
class SoakResult:
    life: Life
    samples: list[Sample] = field(default_factory=list)
    alerts: list[dict] = field(default_factory=list)
    sms: list[tuple[str, str]] = field(default_factory=list)
    wakes: int = 0
    events: int = 0
    wall_seconds: float = 0.0


def rss_kb() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def written_bytes() -> int:
    with open("/proc/self/io") as fh:
        for line in fh:
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    return 0


def disk_bytes(state_dir: str) -> int:
    return sum(os.path.getsize(os.path.join(state_dir, n)) for n in os.listdir(state_dir)
               if n.startswith("hubd.sqlite3"))


def run_soak(state_dir: str, days: int, *, seed: int = 3, limit_hours: float = 8.0, retention_days: int = 3,
             detector: str = "fixed", emulator=None, profile: str = "early_riser", hub: dict | None = None,
             poll_seconds: float = 60.0, collapses: bool = True,
             say: Callable[[str], None] = lambda s: None) -> SoakResult:
    import time

    life = stitched_life(seed, days, profile=profile, collapses=collapses)
    config = soak_config(state_dir, emulator.port if emulator else "", limit_hours=limit_hours,
                         retention_days=retention_days, detector=detector, hub=hub, poll_seconds=poll_seconds)
    clock = FakeClock(mono=DAY0, local=DAY0)
    resident = Resident(seed, profile=profile)
    port = emulator if emulator is not None else SimpleNamespace(port="")
    timing = SmsTiming(health_interval=6 * HOUR, reconnect_interval=60.0, unregistered_poll=60.0, settle=0.01)
    flat = SimFlat(config, clock, life.events, resident, port, Engine(config), timing=timing)
    if emulator is None:
        flat.daemon.uplink = RecordingUplink()
    result = SoakResult(life, events=len(life.events))
    started = time.monotonic()

    def sample() -> None:
        nonlocal next_sample
        result.wakes += 1
        if clock.local() < next_sample:
            return
        gc.collect()
        result.samples.append(Sample((clock.local() - DAY0) / DAY, rss_kb(), len(os.listdir("/proc/self/fd")),
                                     threading.active_count(), disk_bytes(state_dir),
                                     flat.store.db.execute("SELECT count(*) FROM events").fetchone()[0],
                                     written_bytes()))
        say(f"day {result.samples[-1].day:.0f}: {result.samples[-1]}")
        next_sample += DAY

    next_sample = DAY0 + DAY
    to_mono = clock.monotonic() - clock.local()  # a fake clock's wall never jumps here

    def next_edge() -> float | None:
        due = flat.script.next_due()
        return None if due is None else due + to_mono

    async def live() -> None:
        task = asyncio.ensure_future(flat.daemon.run())
        await drive(flat.daemon, clock, DAY0 + days * DAY + to_mono, task=task, step=HOUR, edges=next_edge,
                    at_edge=lambda mono: flat.script.advance_to(mono - to_mono), each=sample)
        flat.daemon.request_stop()
        await task

    try:
        asyncio.run(live())
        result.alerts = list(reversed(flat.store.alerts(limit=10_000)))
        if emulator is not None:
            result.sms = list(emulator.delivered)
        else:
            result.sms = [(to, text) for to, text, _, _ in flat.daemon.uplink.sent]
    finally:
        flat.close()
    result.wall_seconds = time.monotonic() - started
    return result


def misplaced_alerts(result: SoakResult, limit_hours: float, slack: float = 2 * MIN) -> list[str]:
    """Resident alerts not explained by a collapse, and collapses without exactly one alert."""
    life = result.life
    problems = []
    resident = [a for a in result.alerts if a["category"] == "resident" and a["stage"] != "cancelled"]
    for i, (at, moved, back) in enumerate(zip(life.collapses, life.last_moves, life.returns)):
        due = moved + limit_hours * HOUR
        mine = [a for a in resident if at <= a["raised_local"] < back]
        if len(mine) != 1:
            problems.append(f"collapse {i} at {at}: {len(mine)} alerts ({[a['type'] for a in mine]})")
        elif not (due - slack <= mine[0]["since_local"] + mine[0]["limit"] <= due + slack) \
                and mine[0]["type"] == "inactivity":
            problems.append(f"collapse {i}: alert due at {due}, raised for {mine[0]['since_local']}+{mine[0]['limit']}")
    explained = [a for a in resident if any(at <= a["raised_local"] < back
                                            for at, back in zip(life.collapses, life.returns))]
    for a in resident:
        if a not in explained:
            problems.append(f"alert {a['id']} {a['type']} at {a['raised_local']} with no collapse")
    return problems
