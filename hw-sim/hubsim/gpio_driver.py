"""Play a resident's event timeline onto simulated hardware as simulated time advances.

Why: hubd's GPIO drivers must see the same pin edges a real flat makes, on the same
MockFactory seam they use in tests, and its power drivers the same watts — so the
simulator drives pins and loads from one scripted timeline instead of inventing its own.

Polarity (``active_high[sensor]``: the pin level that means value 1), matching how
hubd's GPIO drivers read the wiring (``hubd.sensors.gpio.contact_active_high``):

- ``motion``: a PIR drives its output HIGH on motion (no pull resistor) -> True.
- ``door`` / ``entrance``: a reed switch to GND with the Pi's pull-up, closed while
  the door is shut -> shut = LOW, open (1) = HIGH -> True. A cut wire reads "open".
- ``presence`` (bed/seat mat) and ``button``: a switch to GND with pull-up, closed
  when sat/lain/pressed on -> occupied (1) = LOW -> False.

Override per sensor for other wiring (e.g. a normally-open reed: ``False``).
"""

from __future__ import annotations

import bisect
from typing import Any, Callable, Iterable, Mapping, Optional, Union

from gpiozero.pins.mock import MockPin

from hubd.events import Event, Kind

from .resident import DEFAULT_FLAT

Pin = Union[int, str]

DEFAULT_ACTIVE_HIGH = {Kind.MOTION: True, Kind.DOOR: True, Kind.ENTRANCE: True,
                       Kind.PRESENCE: False, Kind.BUTTON: False}
GPIO_KINDS = frozenset(DEFAULT_ACTIVE_HIGH)


class SensorDrivenPin(MockPin):
    """A MockPin whose level the sensor drives: setting the Pi's pull resistor (as a
    gpiozero device does when it opens the pin) records the pull but does not move
    the level, unlike a plain MockPin, which jumps to its pull."""

    def _set_pull(self, value):
        self._pull = value


class GpioScript:
    """Drives each sensor's pin from the timeline: ``advance_to(t)`` applies every event
    due by ``t`` (local seconds), in order. Pins start at their idle (value 0) level.

    Pins the script creates are :class:`SensorDrivenPin`s, so hub devices opened on them
    afterwards read the scripted level. If the hub's devices opened the pins first (plain
    MockPins jump to their pull), call :meth:`resync` after they are built.
    """

    def __init__(self, factory: Any, pins: Mapping[str, Pin], events: Iterable[Event],
                 active_high: Optional[Mapping[str, bool]] = None, kinds: Optional[Mapping[str, Kind]] = None):
        known_kinds = {s.id: s.kind for s in DEFAULT_FLAT}
        known_kinds.update(kinds or {})
        self._events: list[Event] = []
        last = float("-inf")
        for ev in events:
            if ev.local < last:
                raise ValueError(f"events out of time order at {ev.local} ({ev.sensor})")
            last = ev.local
            if ev.sensor in pins and ev.kind in GPIO_KINDS:
                known_kinds.setdefault(ev.sensor, ev.kind)
                self._events.append(ev)
        self.active_high: dict[str, bool] = {}
        for sensor_id in pins:
            kind = known_kinds.get(sensor_id)
            if kind not in GPIO_KINDS:
                raise ValueError(f"sensor {sensor_id!r}: no GPIO kind known (pass kinds={{...}})")
            self.active_high[sensor_id] = DEFAULT_ACTIVE_HIGH[kind]
        for sensor_id, level in (active_high or {}).items():
            if sensor_id not in pins:
                raise ValueError(f"active_high given for {sensor_id!r}, which has no pin")
            self.active_high[sensor_id] = bool(level)
        self._times = [ev.local for ev in self._events]
        self._pins = {sid: factory.pin(pin, pin_class=SensorDrivenPin) for sid, pin in pins.items()}
        self._values = {sid: False for sid in pins}
        self._next = 0
        self.now = float("-inf")
        self.resync()

    def pin_level(self, sensor_id: str, on: bool) -> bool:
        """The pin level (True = high) that says ``on`` for this sensor."""
        return on == self.active_high[sensor_id]

    def value(self, sensor_id: str) -> bool:
        """The sensor's scripted state now (True = motion / open / occupied)."""
        return self._values[sensor_id]

    def next_due(self) -> Optional[float]:
        """Local time of the next event still to apply (None: the script is done)."""
        return self._times[self._next] if self._next < len(self._times) else None

    def advance_to(self, local: float, before_each: Optional[Callable[[float], None]] = None) -> list[Event]:
        """Apply every event with time <= ``local``; returns them.

        ``before_each(t)`` runs before each event is driven, so a caller can move its
        fake clock to ``t`` and the hub stamps the edge at the event's own time.
        """
        if local < self.now:
            raise ValueError(f"cannot go back from {self.now} to {local}")
        self.now = local
        stop = bisect.bisect_right(self._times, local, lo=self._next)
        applied = self._events[self._next:stop]
        self._next = stop
        for ev in applied:
            if before_each is not None:
                before_each(ev.local)
            self._values[ev.sensor] = ev.on
            self._drive(ev.sensor)
        return applied

    def set(self, sensor_id: str, on: bool) -> None:
        """Drive a sensor by hand (the interactive simulator's resident), outside the script."""
        if sensor_id not in self._pins:
            raise KeyError(sensor_id)
        self._values[sensor_id] = bool(on)
        self._drive(sensor_id)

    def resync(self) -> None:
        """Drive every pin to its scripted level again (after devices set their pulls)."""
        for sensor_id in self._pins:
            self._drive(sensor_id)

    def _drive(self, sensor_id: str) -> None:
        pin = self._pins[sensor_id]
        if self.pin_level(sensor_id, self._values[sensor_id]):
            pin.drive_high()
        else:
            pin.drive_low()


class ApplianceLoadFeed:
    """Each appliance's watts as a step function of local time, from the timeline.

    Before a sensor's first event it draws its ``baseline`` (standby; see
    ``Resident.baseline_watts()``), 0 W if none is given.
    """

    def __init__(self, events: Iterable[Event], baseline: Optional[Mapping[str, float]] = None):
        self._baseline = dict(baseline or {})
        self._times: dict[str, list[float]] = {}
        self._watts: dict[str, list[float]] = {}
        for ev in events:
            if ev.kind is Kind.APPLIANCE:
                self._times.setdefault(ev.sensor, []).append(ev.local)
                self._watts.setdefault(ev.sensor, []).append(float(ev.value))
        for sensor_id, times in self._times.items():
            if any(b < a for a, b in zip(times, times[1:])):
                raise ValueError(f"{sensor_id}: events out of time order")

    @property
    def sensors(self) -> tuple[str, ...]:
        return tuple(sorted(set(self._times) | set(self._baseline)))

    def watts_at(self, sensor_id: str, t: float) -> float:
        """Watts drawn at local time ``t`` (the last event at or before ``t`` holds)."""
        if sensor_id not in self._times and sensor_id not in self._baseline:
            raise KeyError(f"no appliance {sensor_id!r} in this feed (known: {', '.join(self.sensors)})")
        times = self._times.get(sensor_id, ())
        i = bisect.bisect_right(times, t)
        return self._watts[sensor_id][i - 1] if i else float(self._baseline.get(sensor_id, 0.0))

    def load(self, sensor_id: str, origin: float = 0.0) -> "FeedLoad":
        """A ``hubsim.loads.Load`` (``name``, ``watts(t)``) whose ``t`` counts from local ``origin``."""
        self.watts_at(sensor_id, origin)  # unknown ids fail here, not later in a chip read
        return FeedLoad(sensor_id, self, origin)


class FeedLoad:
    """One appliance of a feed on another time base: ``watts(t) = feed.watts_at(id, origin + t)``."""

    def __init__(self, name: str, feed: ApplianceLoadFeed, origin: float):
        self.name = name
        self._feed = feed
        self._origin = origin

    def watts(self, t: float) -> float:
        return self._feed.watts_at(self.name, self._origin + t)
