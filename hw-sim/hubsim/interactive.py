"""``hubd sim --interactive``: you are the resident and the office; the hub is the real daemon.

Commands are read line by line from standard input (a terminal or a pipe):

* ``trigger SENSOR``: a PIR sees you (on, then off), a door, contact or mat changes state, or
  an appliance is switched on or off;
* ``press`` / ``hold``: the OK button, short (cancels a pre-alarm) or long ("going out");
* ``sms TEXT``: the office texts the hub, e.g. ``sms ACK 1`` or ``sms STATUS``;
* ``speed N``: simulated seconds per wall second; ``help``; ``quit`` (or end of input).

While the buzzer or LED shows anything (pre-alarm, alarm, fault) the clock runs at
``react_speed`` (x60 by default), so a person has time to answer it; the OK button is
pressed in real time, so a short press is never taken for a long one. A pre-alarm waits for
the person: simulated time stops a second before it would become an alarm until
``react_wall_s`` (20) seconds of real time have passed since it began, so a person (or a
script on a busy machine) who answers within them is always in time.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from typing import IO, Callable

from hubd.core.alerts import PREALARM

from .pacing import pace_hub

HELP = """commands:
  trigger SENSOR   the resident moves: a PIR sees you, a door or mat changes, an appliance
                   is switched on or off (sensors: {sensors})
  press | hold     the OK button: short (cancels a pre-alarm) or long (going out: away mode)
  sms TEXT         the office texts the hub, e.g. sms ACK 1, sms STATUS
  speed N          simulated seconds per wall second (now x{speed:g})
  help | quit"""

PRESS_S, HOLD_S = 0.3, 4.0  # wall seconds the OK button is held (the clock runs x1 meanwhile)
REACT_WALL_S = 20.0  # real seconds a pre-alarm waits for the person before it may become an alarm
SWITCHED_ON_W = 1200.0  # an appliance switched on by hand draws this


def read_lines(stream: IO[str]) -> "queue.Queue[str | None]":
    """Lines of ``stream`` from a thread (None at its end): the loop polls, never blocks on input."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line.strip())
        lines.put(None)

    threading.Thread(target=pump, name="sim-input", daemon=True).start()
    return lines


class Player:
    """Turns the person's commands into what the hardware would see."""

    def __init__(self, flat, clock, console, office: str, speed: float, react_speed: float,
                 react_wall_s: float = REACT_WALL_S, wall=time.monotonic):
        self.flat, self.clock, self.console, self.office = flat, clock, console, office
        self.speed, self.react_speed = float(speed), float(react_speed)
        self.react_wall_s, self.wall = react_wall_s, wall
        self._prealarm: tuple[float, float] | None = None  # (its alarm time, wall time it was first held)
        flat.pattern_listeners.append(self._wait_for_person)  # held from the moment it sounds
        self.kinds = {s.id: s.kind for s in flat.daemon.config.sensors}
        self.pending_off: list[str] = []  # PIRs triggered on the last turn: off on this one
        self.done = False

    def help(self) -> str:
        return HELP.format(sensors=", ".join(self.kinds), speed=self.speed)

    def pace(self) -> None:
        """The clock's speed for the present moment: slow while the hub is showing something."""
        showing = bool(self.flat.patterns) and self.flat.patterns[-1][1] != "off"
        wanted = min(self.speed, self.react_speed) if showing else self.speed
        if wanted != self.clock.speed:
            self.clock.set_speed(wanted)
            self.flat.daemon.wake()
        self._wait_for_person()

    def _wait_for_person(self) -> None:
        """Hold a pre-alarm a second short of its alarm for ``react_wall_s`` real seconds. Also
        called after each turn's commands: a press typed in time is handled before the hold is
        lifted, however late this process was scheduled."""
        ends = [a.next_mono for a in self.flat.daemon.engine.policy.alerts.values()
                if a.stage == PREALARM and a.next_mono is not None]
        if not ends:
            self._prealarm = None
            self.clock.wait_for_person_until(None)
            return
        if self._prealarm is None or self._prealarm[0] != min(ends):
            self._prealarm = (min(ends), self.wall())
        waited = self.wall() - self._prealarm[1]
        self.clock.wait_for_person_until(min(ends) - 1.0 if waited < self.react_wall_s else None)

    async def command(self, line: str) -> None:
        word, _, rest = line.partition(" ")
        word, rest = word.lower(), rest.strip()
        script = self.flat.script
        if not word:
            return
        if word in ("quit", "exit"):
            self.done = True
        elif word == "help":
            print(self.help(), flush=True)
        elif word == "trigger":
            kind = self.kinds.get(rest)
            if kind is None:
                self.say(f"no sensor {rest!r}; sensors: {', '.join(self.kinds)}")
            elif kind == "motion":
                script.set(rest, True)
                self.pending_off.append(rest)
            elif kind == "appliance":
                on = not self.flat.manual_watts.get(rest)
                self.flat.manual_watts[rest] = SWITCHED_ON_W if on else 0.0
                self.say(f"{rest} switched {'on' if on else 'off'}")
            else:
                script.set(rest, not script.value(rest))
        elif word in ("press", "hold"):
            await self.button(HOLD_S if word == "hold" else PRESS_S)
        elif word == "sms":
            if not rest:
                self.say("sms needs a text, e.g. sms ACK 1")
            else:
                self.flat.emulator.inject_sms(self.office, rest)
                self.say(f"office {self.office} sent SMS: {rest}")
        elif word == "speed":
            try:
                speed = float(rest)
                if not 0 < speed <= 100_000:
                    raise ValueError
            except ValueError:
                self.say("speed needs a number of simulated seconds per wall second, 1 to 100000")
                return
            self.speed = speed
            self.say(f"clock x{speed:g}" + (f" (x{self.react_speed:g} while the hub shows something)"
                                             if speed > self.react_speed else ""))
        else:
            self.say(f"unknown command {word!r}; type help")

    async def button(self, wall_seconds: float) -> None:
        """Hold the OK button for ``wall_seconds`` on a real-time clock, then let go."""
        self.clock.set_speed(1.0)
        self.flat.daemon.wake()
        self.flat.button(True)
        await asyncio.sleep(wall_seconds)
        self.flat.button(False)
        await asyncio.sleep(0.05)

    def release_pirs(self) -> None:
        for sensor in self.pending_off:
            self.flat.script.set(sensor, False)
        self.pending_off.clear()

    def say(self, text: str) -> None:
        self.console.say(text)


async def play(flat, clock, console, lines: "queue.Queue[str | None]", *, office: str, speed: float,
               react_speed: float = 60.0, react_wall_s: float = REACT_WALL_S,
               on_turn: Callable[[], None] | None = None) -> None:
    """Run the daemon and the person's commands until ``quit`` or the end of input."""
    daemon = flat.daemon
    player = Player(flat, clock, console, office, speed, react_speed, react_wall_s)
    run = asyncio.ensure_future(daemon.run())
    print(player.help(), flush=True)
    try:
        while not player.done and not run.done():
            player.release_pirs()
            while True:
                try:
                    line = lines.get_nowait()
                except queue.Empty:
                    break
                if line is None:
                    player.done = True
                    break
                await player.command(line)
            if on_turn is not None:
                on_turn()
            player.pace()
            pace_hub(daemon.engine, clock)
            await asyncio.sleep(0.02)
    finally:
        daemon.request_stop()
        await run

