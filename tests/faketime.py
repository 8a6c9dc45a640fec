"""One way to drive the production daemon on a :class:`~hubd.clock.FakeClock`.

Simulated time may only move when nothing the hub is doing runs in real time: a power
chip read in the I/O thread, an AT command on the modem's pty, an SMS on its way, an
event or a wake-up not yet handled. On a Pi each of these takes milliseconds of the hub's
time; were simulated time to run on meanwhile, when the hub acts (and what its texts say)
would depend on thread scheduling and machine load, not on the scenario. ``settle`` is
that rule, ``drive`` moves time from one wake-up to the next with it. Every fake-clock
harness (the soak, the fault rig, the scenarios) uses these two.
"""

from __future__ import annotations

import asyncio
from typing import Callable

from hubd.clock import FakeClock
from hubd.daemon import Daemon

REAL_LIMIT = 60.0  # real seconds the hub may stay busy before a harness calls it stuck


class Stuck(AssertionError):
    """The hub stayed busy for REAL_LIMIT real seconds: a hang, not a slow machine."""


def busy(daemon: Daemon, task: asyncio.Future | None = None, modem: bool = True) -> str | None:
    """What still runs in real time, or None when simulated time may move on. ``modem=False``
    lets time run while the uplink talks to the modem: only for a modem that is made not to
    answer (its timeouts are real seconds; holding time through each would take minutes)."""
    if task is not None and task.done():
        return None
    hardware = daemon.hardware
    if any(getattr(ch, "reading", None) is not None for ch in getattr(hardware, "power", ())):
        return "a power chip read"
    if modem and _modem_in_flight(daemon) is not None:
        return "an AT command"
    if modem and not daemon.uplink.idle:
        return "the uplink"
    if not daemon.idle:
        return "the daemon"
    return None


def _modem_in_flight(daemon: Daemon) -> asyncio.Future | None:
    modem = getattr(daemon.uplink, "modem", None)
    channel = getattr(modem, "channel", None)
    return channel.in_flight if channel is not None else None


async def settle(daemon: Daemon, task: asyncio.Future | None = None, rounds: int = 4,
                 real_limit: float = REAL_LIMIT, modem: bool = True) -> None:
    """Run the loop until the daemon and its uplink are both asleep on the clock with nothing
    in flight (``busy`` is None). Waits on what runs in real time rather than spinning."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + real_limit
    while True:
        for _ in range(rounds):
            await asyncio.sleep(0)
        what = busy(daemon, task, modem)
        if what is None:
            return
        left = deadline - loop.time()
        if left <= 0:
            raise Stuck(f"simulated time held for {real_limit:g} s of real time: {what} never finished")
        reads_done = getattr(daemon.hardware, "reads_done", None)
        answer = _modem_in_flight(daemon) if modem else None
        if what == "a power chip read" and reads_done is not None:
            await asyncio.wait_for(reads_done(), left)
        elif answer is not None and not answer.done():
            await asyncio.wait({answer}, timeout=left)
        elif what == "the uplink":
            await asyncio.sleep(0.001)  # e.g. the port opening in a thread, the channel's settle pause


async def drive(daemon: Daemon, clock: FakeClock, until: float, *, task: asyncio.Future | None = None,
                step: float = 3600.0, edges: Callable[[], float | None] | None = None,
                at_edge: Callable[[float], None] | None = None,
                each: Callable[[], None] | None = None, stop: Callable[[], bool] | None = None,
                modem: bool = True) -> int:
    """Move simulated time to ``until`` (monotonic): to each deadline something sleeps until on
    the clock, to each of ``edges()`` (the next scripted input, monotonic; ``at_edge(mono)``
    plays it) and at least every ``step``, settling after each move; earlier once ``stop()``
    holds. Returns the moves made."""
    moves = 0
    await settle(daemon, task, modem=modem)
    while clock.monotonic() < until and not (stop is not None and stop()):
        now = clock.monotonic()
        targets = [until, now + step, clock.next_wake(), edges() if edges is not None else None]
        target = min(t for t in targets if t is not None)
        clock.advance(max(0.0, target - now))
        if at_edge is not None:
            at_edge(clock.monotonic())
        await settle(daemon, task, modem=modem)
        moves += 1
        if each is not None:
            each()
    return moves
