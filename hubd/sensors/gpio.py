"""GPIO sensors and local outputs over gpiozero pin factories.

Why it is built this way (reference/hardware.md §1, §2):

- gpiozero runs handlers on its own threads (lgpio: one thread for every pin; RPi.GPIO
  drops edges while a handler runs). A handler here stamps the injected clock, runs a
  few lines of pure edge logic under the device's lock and hands the result to the
  injected, thread-safe ``sink``. It never blocks and never lets an exception escape
  into gpiozero's thread.
- ``bounce_time`` means something different on every backend and nothing on the mock,
  so debounce, PIR warm-up and retrigger merging are hubd's own logic on the injected
  clock. Decisions that come due later are made in ``settle(now)``; the optional
  ``schedule(deadline)`` callback tells the owner when to call it.
- gpiozero holds pin handlers weakly and rejects new attributes on devices, so devices
  are wrapped (never subclassed) and the wrappers keep strong references.
- ``MotionSensor`` polls and misses short pulses and never reports motion present at
  construction: PIRs are ``DigitalInputDevice`` edges plus an explicit initial read.

The pure filters (:class:`PirFilter`, :class:`Debouncer`, :class:`ButtonFilter`) know
nothing of gpiozero or threads; the device classes glue them to pins.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional, Union

from gpiozero import LED, Buzzer, DigitalInputDevice

from ..clock import Clock
from ..events import Kind

log = logging.getLogger(__name__)

Sink = Callable[[str, Kind, float, float], None]
"""``sink(sensor_id, kind, value, mono)``: must be thread-safe and must not block."""
FaultSink = Callable[[str, Optional[str], float], None]
"""``on_fault(sensor_id, reason, mono)``; ``reason`` None means the fault has cleared."""
HoldSink = Callable[[str, float], None]
"""``on_hold(button_id, mono)``: a long press (e.g. the resident's "going out" request)."""
Schedule = Callable[[float], None]
"""``schedule(mono_deadline)``: call ``settle`` at or after this monotonic time."""

Pin = Union[int, str]

LEVEL, FAULT, HOLD = "level", "fault", "hold"
CHATTER = "chatter"
_EPS = 1e-6  # a microsecond of slack so float sums of the same durations compare as due


@dataclass(frozen=True, slots=True)
class FilterDecision:
    """One decision of a filter: a level to report, a fault raised/cleared, or a hold."""

    what: str
    mono: float
    value: float = 0.0
    reason: Optional[str] = None


def _due(now: float, deadline: float) -> bool:
    return now + _EPS >= deadline


# --------------------------------------------------------------------------- filters


class PirFilter:
    """Raw PIR levels to motion episodes: start (1) and end (0).

    Nothing is reported during warm-up (the HC-SR501 gives spurious highs for ~60 s
    after power-on); when it ends the current level counts, so motion already present
    is a start. A PIR held high is one start. A fall followed by a new rise within
    ``retrigger_s`` (the sensor's own hold/blind cycle) continues the same episode, so
    an end is decided only ``retrigger_s`` after the fall and is stamped at the fall.
    """

    def __init__(self, warmup_s: float = 60.0, retrigger_s: float = 5.0):
        if warmup_s < 0 or retrigger_s < 0:
            raise ValueError("warmup_s and retrigger_s must be >= 0")
        self.warmup_s = float(warmup_s)
        self.retrigger_s = float(retrigger_s)
        self.raw = False
        self.warm_until: Optional[float] = None
        self.motion = False  # an episode has been reported as started and not ended
        self.fell_at: Optional[float] = None  # the fall that may end the episode

    @property
    def warming_up(self) -> bool:
        return self.warm_until is not None

    @property
    def reported(self) -> bool:
        return self.motion

    def begin(self, level: bool, mono: float) -> list[FilterDecision]:
        self.raw = level
        if self.warmup_s > 0:
            self.warm_until = mono + self.warmup_s
            return []
        return self._start_if(level, mono)

    def edge(self, level: bool, mono: float) -> list[FilterDecision]:
        out = self.settle(mono)
        if level == self.raw:
            return out
        self.raw = level
        if self.warming_up:
            return out
        if level:
            if self.motion:
                self.fell_at = None  # retriggered within the hold: same episode
                return out
            return out + self._start_if(True, mono)
        if self.motion:
            self.fell_at = mono
        return out

    def settle(self, now: float, level: Optional[bool] = None) -> list[FilterDecision]:
        """Decide what is due at ``now``; ``level`` is a fresh read used when warm-up ends."""
        if self.warm_until is not None:
            if not _due(now, self.warm_until):
                return []
            self.warm_until = None
            if level is not None:
                self.raw = level
            return self._start_if(self.raw, now)
        if self.fell_at is not None and _due(now, self.fell_at + self.retrigger_s):
            fell_at, self.fell_at, self.motion = self.fell_at, None, False
            return [FilterDecision(LEVEL, fell_at, 0.0)]
        return []

    def next_due(self) -> Optional[float]:
        if self.warm_until is not None:
            return self.warm_until
        if self.fell_at is not None:
            return self.fell_at + self.retrigger_s
        return None

    def _start_if(self, level: bool, mono: float) -> list[FilterDecision]:
        if not level:
            return []
        self.motion = True
        self.fell_at = None
        return [FilterDecision(LEVEL, mono, 1.0)]


class Debouncer:
    """Raw switch levels to stable levels, and chatter to a suspected fault.

    A level is reported once it has been stable for ``debounce_s``, stamped with the
    edge that started it. Chatter is ``chatter_bursts`` separate bursts (a burst starts
    at an edge after a stable period) or ``chatter_edges`` raw edges within
    ``chatter_window_s``: faster than any hand, so a loose wire or failing contact.
    While chattering no levels are reported; after ``chatter_quiet_s`` of a stable
    line the fault clears and the final level is reported if it changed.
    """

    def __init__(
        self,
        debounce_s: float = 0.05,
        chatter_window_s: float = 2.0,
        chatter_bursts: int = 8,
        chatter_edges: int = 50,
        chatter_quiet_s: float = 2.0,
    ):
        if debounce_s < 0 or chatter_window_s <= 0 or chatter_quiet_s < debounce_s:
            raise ValueError("need debounce_s >= 0, chatter_window_s > 0, chatter_quiet_s >= debounce_s")
        if chatter_bursts < 2 or chatter_edges < 2:
            raise ValueError("chatter thresholds must be at least 2")
        self.debounce_s = float(debounce_s)
        self.chatter_window_s = float(chatter_window_s)
        self.chatter_bursts = int(chatter_bursts)
        self.chatter_edges = int(chatter_edges)
        self.chatter_quiet_s = float(chatter_quiet_s)
        self.level = False  # the last reported (stable) level
        self.raw = False
        self.raw_since = 0.0
        self.chattering = False
        self._edges: deque[float] = deque()
        self._bursts: deque[float] = deque()

    warming_up = False
    warm_until = None

    @property
    def reported(self) -> bool:
        return self.level

    def begin(self, level: bool, mono: float) -> list[FilterDecision]:
        self.level = self.raw = level
        self.raw_since = mono
        return []

    def edge(self, level: bool, mono: float) -> list[FilterDecision]:
        out = self.settle(mono)
        if level == self.raw:
            return out
        burst_start = _due(mono, self.raw_since + self.debounce_s)
        self.raw = level
        self.raw_since = mono
        if self.chattering:
            return out
        if self._count(self._edges, mono) >= self.chatter_edges or (
            burst_start and self._count(self._bursts, mono) >= self.chatter_bursts
        ):
            self.chattering = True
            self._edges.clear()
            self._bursts.clear()
            out.append(FilterDecision(FAULT, mono, reason=CHATTER))
        return out

    def _count(self, times: deque[float], mono: float) -> int:
        times.append(mono)
        while times and times[0] <= mono - self.chatter_window_s:
            times.popleft()
        return len(times)

    def settle(self, now: float, level: Optional[bool] = None) -> list[FilterDecision]:
        if self.chattering:
            if not _due(now, self.raw_since + self.chatter_quiet_s):
                return []
            self.chattering = False
            out = [FilterDecision(FAULT, now, reason=None)]
            if self.raw != self.level:
                self.level = self.raw
                out.append(FilterDecision(LEVEL, self.raw_since, float(self.raw)))
            return out
        if self.raw != self.level and _due(now, self.raw_since + self.debounce_s):
            self.level = self.raw
            return [FilterDecision(LEVEL, self.raw_since, float(self.raw))]
        return []

    def next_due(self) -> Optional[float]:
        if self.chattering:
            return self.raw_since + self.chatter_quiet_s
        if self.raw != self.level:
            return self.raw_since + self.debounce_s
        return None


class ButtonFilter:
    """A debounced button: a press is reported at once, a release is not; a press held
    for ``hold_s`` is a hold (reported once per press, stamped when it became one)."""

    def __init__(self, debouncer: Debouncer, hold_s: float = 2.0):
        if hold_s <= 0:
            raise ValueError("hold_s must be positive")
        self.debouncer = debouncer
        self.hold_s = float(hold_s)
        self.pressed_at: Optional[float] = None
        self.held = False

    warming_up = False
    warm_until = None

    @property
    def reported(self) -> bool:
        return self.debouncer.level

    def begin(self, level: bool, mono: float) -> list[FilterDecision]:
        # A button found pressed at start-up is stuck or leaned on, not a fresh press.
        return self.debouncer.begin(level, mono)

    def edge(self, level: bool, mono: float) -> list[FilterDecision]:
        return self._after(self.debouncer.edge(level, mono), mono)

    def settle(self, now: float, level: Optional[bool] = None) -> list[FilterDecision]:
        return self._after(self.debouncer.settle(now), now)

    def next_due(self) -> Optional[float]:
        due = self.debouncer.next_due()
        hold = self._hold_due()
        if hold is not None:
            due = hold if due is None else min(due, hold)
        return due

    def _hold_due(self) -> Optional[float]:
        if self.pressed_at is None or self.held:
            return None
        return self.pressed_at + self.hold_s

    def _after(self, reports: list[FilterDecision], now: float) -> list[FilterDecision]:
        out = []
        for report in reports:
            if report.what != LEVEL:
                out.append(report)
            elif report.value:
                self.pressed_at, self.held = report.mono, False
                out.append(report)
            else:  # released: a hold if it lasted long enough and was not yet reported
                hold_due = self._hold_due()
                if hold_due is not None and _due(report.mono, hold_due):
                    out.append(FilterDecision(HOLD, hold_due))
                self.pressed_at = None
        hold_due = self._hold_due()
        deb = self.debouncer
        if (
            hold_due is not None
            and _due(now, hold_due)
            and deb.level
            and not deb.chattering
            and (deb.raw or _due(deb.raw_since, hold_due))
        ):
            self.held = True
            out.append(FilterDecision(HOLD, hold_due))
        return out


# --------------------------------------------------------------------------- devices


def contact_active_high(kind: Kind, pull_up: bool) -> bool:
    """Which pin level means 1 for a switch wired against its pull resistor.

    A door contact is closed while the door is shut, so "open" is the pulled level (a
    cut wire then reads open, not shut). Mats and buttons close when used, so "on" is
    the level opposite the pull.
    """
    if kind in (Kind.DOOR, Kind.ENTRANCE):
        return pull_up
    return not pull_up


def input_wiring(kind: Kind, pull_up: Optional[bool] = None, active_high: Optional[bool] = None) -> tuple[bool, bool]:
    """``(pull_up, active_high)`` for an input of ``kind``; ``None`` takes the kind's default.

    The one place the defaults live. A PIR drives its output (no pull resistor) and
    is high on motion, whatever the pull. Switches (doors, mats, buttons) go to GND
    with the Pi's pull-up, and the level that means 1 follows :func:`contact_active_high`.
    """
    if kind is Kind.MOTION:
        return bool(pull_up), True if active_high is None else bool(active_high)
    pull_up = True if pull_up is None else bool(pull_up)
    return pull_up, contact_active_high(kind, pull_up) if active_high is None else bool(active_high)


def _open_input(pin: Pin, pull_up: bool, pin_factory: Any) -> DigitalInputDevice:
    """The gpiozero device under every input: edges only, no gpiozero debounce
    (``bounce_time`` differs per backend and is nothing on the mock; hubd debounces
    on the injected clock)."""
    return DigitalInputDevice(pin, pull_up=pull_up, bounce_time=None, pin_factory=pin_factory)


class _GpioInput:
    """A gpiozero ``DigitalInputDevice`` wrapped with a pure filter and the injected seams.

    The subclasses only choose the kind and the filter; every keyword they do not
    name themselves (``clock``, ``sink``, ``pull_up``, ``active_high``, ``on_fault``,
    ``on_hold``, ``schedule``, ``pin_factory``) is handled here, with the wiring
    defaults of :func:`input_wiring`.
    """

    kind: Kind

    def __init__(
        self,
        sensor_id: str,
        pin: Pin,
        kind: Kind,
        filter_: Any,
        *,
        clock: Clock,
        sink: Sink,
        pull_up: Optional[bool] = None,
        active_high: Optional[bool] = None,
        on_fault: Optional[FaultSink] = None,
        on_hold: Optional[HoldSink] = None,
        schedule: Optional[Schedule] = None,
        pin_factory: Any = None,
    ):
        self.sensor_id = sensor_id
        self.pin = pin
        self.kind = kind
        self.pull_up, self.active_high = input_wiring(kind, pull_up, active_high)
        self._filter = filter_
        self._clock = clock
        self._sink = sink
        self._on_fault = on_fault
        self._on_hold = on_hold
        self._schedule = schedule
        self._scheduled: Optional[float] = None
        self._fault: Optional[str] = None
        self._closed = False
        # gpiozero's is_active is True at the pin level opposite the pull resistor;
        # invert when the sensor's active level is the pulled one.
        self._invert = self.active_high != (not self.pull_up)
        self._lock = threading.RLock()
        with self._lock:
            self._device = _open_input(pin, self.pull_up, pin_factory)
            try:
                self._device.when_activated = self._on_activated
                self._device.when_deactivated = self._on_deactivated
                now = clock.monotonic()
                self._last_change = now
                self._dispatch(self._filter.begin(self._read(), now))
                self._dispatch(self._initial_reports(now))
            except BaseException:
                self._device.close()
                raise

    # -- gpiozero's threads: stamp, filter, hand over
    def _on_activated(self) -> None:
        self._edge(not self._invert)

    def _on_deactivated(self) -> None:
        self._edge(self._invert)

    def _edge(self, level: bool) -> None:
        mono = self._clock.monotonic()
        try:
            with self._lock:
                if self._closed:
                    return
                self._last_change = mono
                self._dispatch(self._filter.edge(level, mono))
        except Exception:  # never let it die silently in gpiozero's thread
            log.exception("sensor %s: edge handler failed", self.sensor_id)

    # -- the owner's thread
    def settle(self, now: float) -> None:
        """FilterDecision what has come due by ``now`` (debounced levels, ends, warm-up, holds)."""
        with self._lock:
            if not self._closed:
                self._dispatch(self._filter.settle(now, self._read()))

    def next_due(self) -> Optional[float]:
        """The earliest monotonic time ``settle`` has something to decide (None: nothing)."""
        with self._lock:
            return None if self._closed else self._filter.next_due()

    def live_readings(self) -> dict[str, Any]:
        """The current truth for ``hubctl sensors`` and walk tests."""
        with self._lock:
            return {
                "id": self.sensor_id,
                "kind": self.kind.label,
                "pin": str(self.pin),
                "level": None if self._closed else int(self._read()),
                "reported": int(self._filter.reported),
                "last_change_mono": self._last_change,
                "warming_up": self._filter.warming_up,
                "warmup_ends_mono": self._filter.warm_until,
                "fault": self._fault,
                "closed": self._closed,
            }

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._device.close()

    # -- internals
    def _read(self) -> bool:
        return bool(self._device.is_active) != self._invert

    def _initial_reports(self, now: float) -> list[FilterDecision]:
        return []

    def _dispatch(self, reports: Iterable[FilterDecision]) -> None:
        for report in reports:
            if report.what == LEVEL:
                self._sink(self.sensor_id, self.kind, report.value, report.mono)
            elif report.what == FAULT:
                self._fault = report.reason
                if self._on_fault is not None:
                    self._on_fault(self.sensor_id, report.reason, report.mono)
            elif report.what == HOLD and self._on_hold is not None:
                self._on_hold(self.sensor_id, report.mono)
        due = self._filter.next_due()
        if due is not None and due != self._scheduled and self._schedule is not None:
            self._scheduled = due
            self._schedule(due)


class PirSensor(_GpioInput):
    """A PIR on edge events (``bounce_time=None``): a 10 ms pulse is a motion start.

    ``warmup_s`` counts from construction; a daemon restarted on a long-powered board
    may pass less (e.g. ``max(0, 60 - uptime)``).
    """

    def __init__(self, sensor_id: str, pin: Pin, *, warmup_s: float = 60.0, retrigger_s: float = 5.0, **seams: Any):
        super().__init__(sensor_id, pin, Kind.MOTION, PirFilter(warmup_s, retrigger_s), **seams)

    @property
    def warming_up(self) -> bool:
        with self._lock:
            return self._filter.warming_up


class ContactSensor(_GpioInput):
    """A door/entrance reed contact or a presence mat, debounced on the injected clock.

    A presence mat found occupied at start-up is reported (held ON = someone there);
    a door's initial position is only recorded (a position is not a movement).
    """

    def __init__(
        self,
        sensor_id: str,
        pin: Pin,
        kind: Kind = Kind.DOOR,
        *,
        debounce_s: float = 0.05,
        debouncer: Optional[Debouncer] = None,
        **seams: Any,
    ):
        if kind not in (Kind.DOOR, Kind.ENTRANCE, Kind.PRESENCE):
            raise ValueError(f"a contact sensor is a door, entrance or presence, not {kind.label}")
        super().__init__(sensor_id, pin, kind, debouncer or Debouncer(debounce_s), **seams)

    def _initial_reports(self, now: float) -> list[FilterDecision]:
        if self.kind is Kind.PRESENCE and self._filter.level:
            return [FilterDecision(LEVEL, now, 1.0)]
        return []


class OkButton(_GpioInput):
    """The resident's "I'm OK" button: a press is ``sink(id, BUTTON, 1)``; a press held
    for ``hold_s`` also calls ``on_hold`` (e.g. "going out").

    Built on ``DigitalInputDevice`` rather than ``Button``: ``Button``'s hold thread
    wakes 10 times a second, times on the real clock and sees the raw (bouncing)
    level; the hold here is timed on the injected clock from the debounced press.
    """

    def __init__(
        self,
        sensor_id: str,
        pin: Pin,
        *,
        hold_s: float = 2.0,
        debounce_s: float = 0.05,
        debouncer: Optional[Debouncer] = None,
        **seams: Any,
    ):
        super().__init__(sensor_id, pin, Kind.BUTTON, ButtonFilter(debouncer or Debouncer(debounce_s), hold_s), **seams)


# --------------------------------------------------------------------------- outputs


@dataclass(frozen=True)
class Blink:
    """On ``on_s``, off ``off_s``, ``n`` times (None: until another pattern is shown)."""

    on_s: float
    off_s: float
    n: Optional[int] = None


Part = Union[bool, Blink]  # True steady on, False off, or a blink


@dataclass(frozen=True)
class Pattern:
    led: Part = False
    buzzer: Part = False

    @property
    def finite(self) -> bool:
        return any(isinstance(p, Blink) and p.n is not None for p in (self.led, self.buzzer))


PATTERNS: dict[str, Pattern] = {
    "off": Pattern(),
    # "Are you OK? Press the button": noticeable, not frightening.
    "prealarm": Pattern(led=Blink(0.5, 0.5), buzzer=Blink(0.2, 1.8)),
    # The office is being told: steady light, insistent beeps.
    "alarm": Pattern(led=True, buzzer=Blink(0.5, 0.5)),
    # The hub cannot watch: a slow LED wink; no sound that would wake the resident.
    "fault": Pattern(led=Blink(0.1, 4.9)),
    # A walk-test detection: one short blip, then dark and quiet.
    "walktest": Pattern(led=Blink(0.2, 0.0, n=1), buzzer=Blink(0.05, 0.0, n=1)),
}


class LocalOutputs:
    """Buzzer and LED showing named patterns on gpiozero's blink threads.

    Call :meth:`close` on SIGTERM: gpiozero's atexit cleanup does not run then, and a
    buzzer left on would sound until someone pulls the plug.
    """

    def __init__(
        self,
        buzzer_pin: Optional[Pin] = None,
        led_pin: Optional[Pin] = None,
        *,
        active_high: bool = True,
        patterns: Optional[dict[str, Pattern]] = None,
        pin_factory: Any = None,
    ):
        self._patterns = {**PATTERNS, **(patterns or {})}
        self._lock = threading.Lock()
        self._closed = False
        self.pattern = "off"
        self._buzzer = self._led = None
        try:
            if buzzer_pin is not None:
                self._buzzer = Buzzer(buzzer_pin, active_high=active_high, initial_value=False, pin_factory=pin_factory)
            if led_pin is not None:
                self._led = LED(led_pin, active_high=active_high, initial_value=False, pin_factory=pin_factory)
        except BaseException:
            self.close()
            raise

    @property
    def patterns(self) -> tuple[str, ...]:
        return tuple(self._patterns)

    def show(self, name: str) -> None:
        """Show pattern ``name``; showing the running endless pattern again changes nothing."""
        try:
            pattern = self._patterns[name]
        except KeyError:
            raise ValueError(f"unknown output pattern {name!r} (known: {', '.join(self._patterns)})") from None
        with self._lock:
            if self._closed or (name == self.pattern and not pattern.finite):
                return
            self.pattern = name
            self._apply(self._led, pattern.led)
            self._apply(self._buzzer, pattern.buzzer)

    @staticmethod
    def _apply(device: Any, part: Part) -> None:
        if device is None:
            return
        if isinstance(part, Blink):
            device.blink(on_time=part.on_s, off_time=part.off_s, n=part.n, background=True)
        elif part:
            device.on()
        else:
            device.off()

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                "pattern": self.pattern,
                "buzzer": None if self._buzzer is None or self._closed else bool(self._buzzer.value),
                "led": None if self._led is None or self._closed else bool(self._led.value),
                "closed": self._closed,
            }

    def close(self) -> None:
        """Everything off, blink threads stopped, pins released. Idempotent."""
        with self._lock:
            self._closed = True
            self.pattern = "off"
            for device in (self._buzzer, self._led):
                if device is None or device.closed:
                    continue
                try:
                    device.off()
                finally:
                    device.close()


# --------------------------------------------------------------------------- board


@dataclass(frozen=True)
class SensorSpec:
    """One wired input. ``None`` means the kind's default (see :func:`input_wiring`)."""

    id: str
    kind: Kind
    pin: Pin
    pull_up: Optional[bool] = None
    active_high: Optional[bool] = None
    debounce_s: float = 0.05
    warmup_s: float = 60.0
    hold_s: float = 2.0
    retrigger_s: float = 5.0


class GpioSetupError(RuntimeError):
    """A sensor or output could not be set up; the message names it and its pin."""


class GpioBoard:
    """Every GPIO device of the hub, built from plain specs and closed together.

    If any device fails to build, the ones already built are closed and a
    :class:`GpioSetupError` names the sensor and its pin.
    """

    def __init__(
        self,
        specs: Iterable[SensorSpec],
        *,
        clock: Clock,
        sink: Sink,
        on_fault: Optional[FaultSink] = None,
        on_hold: Optional[HoldSink] = None,
        schedule: Optional[Schedule] = None,
        buzzer_pin: Optional[Pin] = None,
        led_pin: Optional[Pin] = None,
        outputs_active_high: bool = True,
        patterns: Optional[dict[str, Pattern]] = None,
        pin_factory: Any = None,
    ):
        self.clock = clock
        self.sink = sink
        self.on_fault = on_fault
        self.on_hold = on_hold
        self.schedule = schedule
        self.pin_factory = pin_factory
        self.devices: dict[str, _GpioInput] = {}
        self.outputs: Optional[LocalOutputs] = None
        try:
            for spec in specs:
                if spec.id in self.devices:
                    raise GpioSetupError(f"sensor {spec.id!r} is listed twice")
                try:
                    self.devices[spec.id] = self._build(spec)
                except GpioSetupError:
                    raise
                except Exception as exc:
                    raise GpioSetupError(f"sensor {spec.id!r} ({spec.kind.label}) on pin {spec.pin}: {exc}") from exc
            if buzzer_pin is not None or led_pin is not None:
                try:
                    self.outputs = LocalOutputs(
                        buzzer_pin, led_pin, active_high=outputs_active_high,
                        patterns=patterns, pin_factory=pin_factory,
                    )  # fmt: skip
                except Exception as exc:
                    raise GpioSetupError(f"outputs (buzzer pin {buzzer_pin}, LED pin {led_pin}): {exc}") from exc
        except BaseException:
            self.close()
            raise

    def _build(self, spec: SensorSpec) -> _GpioInput:
        seams = dict(clock=self.clock, sink=self.sink, schedule=self.schedule, pin_factory=self.pin_factory,
                     pull_up=spec.pull_up, active_high=spec.active_high)
        if spec.kind is Kind.MOTION:
            return PirSensor(spec.id, spec.pin, warmup_s=spec.warmup_s, retrigger_s=spec.retrigger_s, **seams)
        if spec.kind is Kind.BUTTON:
            return OkButton(spec.id, spec.pin, on_hold=self.on_hold, hold_s=spec.hold_s, debounce_s=spec.debounce_s,
                            on_fault=self.on_fault, **seams)
        if spec.kind in (Kind.DOOR, Kind.ENTRANCE, Kind.PRESENCE):
            return ContactSensor(spec.id, spec.pin, spec.kind, debounce_s=spec.debounce_s, on_fault=self.on_fault,
                                 **seams)
        raise GpioSetupError(f"sensor {spec.id!r}: kind {spec.kind.label} is not a GPIO sensor")

    def settle(self, now: float) -> None:
        for device in self.devices.values():
            device.settle(now)

    def next_settle(self) -> Optional[float]:
        dues = [d for d in (device.next_due() for device in self.devices.values()) if d is not None]
        return min(dues) if dues else None

    def live_readings(self) -> list[dict[str, Any]]:
        return [device.live_readings() for device in self.devices.values()]

    def close(self) -> None:
        """Outputs off first (a stuck buzzer is the worst leftover), then every input."""
        if self.outputs is not None:
            try:
                self.outputs.close()
            except Exception:
                log.exception("closing outputs failed")
        for device in self.devices.values():
            try:
                device.close()
            except Exception:
                log.exception("closing sensor %s failed", device.sensor_id)
