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

The pure filters (``edge_filters``: :class:`PirFilter`, :class:`Debouncer`,
:class:`ButtonFilter`) know nothing of gpiozero or threads; the device classes here glue
them to pins. The buzzer and LED are ``local_outputs``.
"""

from __future__ import annotations

import logging
import threading
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional

from gpiozero import DigitalInputDevice
from gpiozero.exc import PinFactoryFallback

from ..clock import Clock
from ..events import Kind
from .edge_filters import FAULT, HOLD, LEVEL, ButtonFilter, Debouncer, FilterDecision, PirFilter
from .local_outputs import LocalOutputs, Pattern, Pin

log = logging.getLogger(__name__)

Sink = Callable[[str, Kind, float, float], None]
"""``sink(sensor_id, kind, value, mono)``: must be thread-safe and must not block."""
FaultSink = Callable[[str, Optional[str], float], None]
"""``on_fault(sensor_id, reason, mono)``; ``reason`` None means the fault has cleared."""
HoldSink = Callable[[str, float], None]
"""``on_hold(button_id, mono)``: a long press (e.g. the resident's "going out" request)."""
Schedule = Callable[[float], None]
"""``schedule(mono_deadline)``: call ``settle`` at or after this monotonic time."""

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
                    with warnings.catch_warnings():  # which libraries gpiozero tried: the error says what it found
                        warnings.simplefilter("ignore", PinFactoryFallback)
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
