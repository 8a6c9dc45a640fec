"""The live simulator's fast clock, held at the next scripted edge until that edge is driven.

Why: the live loop wakes every 20 ms of real time, 24 simulated seconds at x1200. On a
plain scaled clock every edge due in that span is driven at one instant and stamped with
it, so the hub's 50 ms debounce swallows a front door opened and shut within it: the hub
never hears of a departure, and takes the return for one. Held here, each edge is stamped
at its own simulated time, as in a real flat. Simulated time stands still for at most one
loop period, and never goes back.

The clock also holds at the hub's next decision (an alarm due, a warning to escalate) until
the hub has taken it: a hub process starved of CPU on a loaded machine (at x20000, 75 ms of
wall time are 25 simulated minutes) then decides at its own time, as a real hub at x1 does,
and its texts say the silence it saw then, not wherever the wall clock had got to.
"""

from __future__ import annotations

import math
from typing import Optional

from hubd.clock import ScaledClock

from .gpio_driver import GpioScript


class PacedClock(ScaledClock):
    """A :class:`~hubd.clock.ScaledClock` that does not pass the time set by :meth:`hold_at`."""

    def __init__(self, speed: float, start_local: float, start_mono: float = 0.0, **kwargs):
        super().__init__(speed, start_local, start_mono=start_mono, **kwargs)
        self._held_mono = math.inf
        self._waiting_mono = math.inf  # held for the person (interactive pre-alarm)
        self._hub_mono = math.inf  # held for the hub's next decision

    def monotonic(self) -> float:
        return min(super().monotonic(), self._held_mono, self._waiting_mono, self._hub_mono)

    def hold_for_hub(self, mono: Optional[float]) -> None:
        """A third hold, apart from the others: monotonic time does not pass ``mono`` (None: no
        hold), the hub's next decision, until a new hold is set once the hub has taken it
        (:func:`pace_hub`). It never makes the clock go back."""
        self._hub_mono = math.inf if mono is None else max(mono, self.monotonic())

    def wait_for_person_until(self, mono: Optional[float]) -> None:
        """A second hold, apart from the scripted edges': monotonic time does not pass ``mono``
        until it is lifted (None), and goes on from there (the wait took no simulated time). It
        never makes the clock go back."""
        now = self.monotonic()  # as held so far: renewing a hold must not let time slip past it
        if mono is None:
            if self._waiting_mono != math.inf:
                self.set_speed(self.speed)  # rebase at the held time, then let go
                self._waiting_mono = math.inf
            return
        self._waiting_mono = max(mono, now)

    def unheld_local(self) -> float:
        """Where simulated local time would be without the scripted edges' hold: what is due by
        now (an edge past the hub's hold waits for the hub)."""
        return self._start_local + (min(super().monotonic(), self._hub_mono) - self._start_mono)

    def hold_at(self, local: Optional[float]) -> None:
        """Let simulated time reach ``local`` but not pass it (None: run free).

        A hold earlier than the clock already shows holds it where it is: monotonic time
        never goes back.
        """
        wanted = math.inf if local is None else local - self._start_local + self._start_mono
        self._held_mono = max(wanted, self.monotonic())


def drive_due(script: GpioScript, clock: PacedClock) -> int:
    """Drive every scripted edge due by now, each at its own time; hold at the next one.

    Returns how many edges were driven.
    """
    driven = 0
    while True:
        due = script.next_due()
        if due is None or due > clock.unheld_local():
            break
        driven += len(script.advance_to(due, before_each=clock.hold_at))
    clock.hold_at(script.next_due())
    return driven


def pace_hub(engine, clock: PacedClock) -> None:
    """Hold the clock at the engine's next decision after the last time it has judged: it
    moves on only once the hub has got there (``engine.now``), however late its loop runs."""
    judged = engine.now if engine.now is not None else clock.monotonic()
    clock.hold_for_hub(engine.next_deadline(judged))
