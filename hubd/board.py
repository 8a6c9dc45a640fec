"""Builds the flat's devices and the office link from the config.

The same drivers run on a Pi and on the simulator: only the seams change (the gpiozero
pin factory, the I2C bus factory, the modem port). The simulator passes its own seams
here; ``hubd`` never imports it.

Power chips are read in one dedicated I/O thread (an ADS1115 CT window blocks for half a
second): the loop decides what to read (``PowerSensor.begin``), the thread only talks to the
chip (``PowerSensor.read``), and the result comes back to the loop, where supervision,
health changes and appliance events happen (``PowerSensor.finish``). One thread for every
chip, so no bus is ever used by two reads at once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from .clock import Clock, SystemClock
from .config import Config, load_secrets
from .findings import SYSTEM, Finding
from .events import LONG_PRESS, OK_BUTTON, Kind
from .seams import ConditionSink, EventSink, Hardware, Uplink
from .store import Store

log = logging.getLogger("hubd.board")


class PowerChannel:
    """One appliance: a supervised chip, and the classifier that turns watts into on/off."""

    def __init__(self, sensor_id: str, sensor: Any, classifier: Any, poll_seconds: float):
        self.sensor_id = sensor_id
        self.sensor = sensor
        self.classifier = classifier
        self.poll_seconds = poll_seconds
        self.next_poll = 0.0
        self.last_watts: float | None = None
        self.reading: asyncio.Future | None = None  # the read in the I/O thread, until its result is taken


class HubHardware(Hardware):
    def __init__(self, config: Config, clock: Clock, *, pin_factory: Any = None,
                 bus_factory: Callable[[int], Any] | None = None):
        self.config = config
        self.clock = clock
        self.pin_factory = pin_factory
        self.bus_factory = bus_factory
        self.board: Any = None
        self.bus_pool: Any = None
        self.power: list[PowerChannel] = []
        self.io: ThreadPoolExecutor | None = None  # the one thread that talks to the power chips
        self.pattern = "off"
        self._sink: EventSink | None = None
        self._conditions: ConditionSink | None = None
        self.wake: Callable[[], None] = lambda: None  # set by the daemon: re-run service() soon

    # -- building ----------------------------------------------------------------
    def start(self, sink: EventSink, conditions: ConditionSink) -> None:
        from .sensors.gpio import GpioBoard, SensorSpec

        self._sink, self._conditions = sink, conditions
        specs = []
        for s in self.config.sensors:
            if s.kind == "appliance":
                continue
            specs.append(SensorSpec(id=s.id, kind=Kind.parse(s.kind), pin=s.pin, pull_up=s.pull_up,
                                    debounce_s=s.debounce_ms / 1000.0, warmup_s=s.warmup_s))
        out = self.config.outputs
        if out.button_pin is not None:
            specs.append(SensorSpec(id=OK_BUTTON, kind=Kind.BUTTON, pin=out.button_pin,
                                    hold_s=out.button_hold_seconds))
        self.board = GpioBoard(specs, clock=self.clock, sink=sink, on_fault=self._gpio_fault,
                               on_hold=self._hold, schedule=self._schedule, buzzer_pin=out.buzzer_pin,
                               led_pin=out.led_pin, pin_factory=self.pin_factory)
        self._start_power()
        log.info("hardware: %d GPIO inputs, %d power channels", len(self.board.devices), len(self.power))

    def _start_power(self) -> None:
        appliances = [s for s in self.config.sensors if s.kind == "appliance"]
        if not appliances:
            return
        from .sensors.i2c import BusPool
        from .sensors.power import PowerSensor, make_classifier, make_power_meter

        self.bus_pool = BusPool(self.bus_factory) if self.bus_factory else BusPool()
        for s in appliances:
            meter = make_power_meter(s.chip, self.bus_pool.get(s.bus), s.address, shunt_ohms=s.shunt_ohms,
                                     max_current_a=s.max_current_a, burden_ohms=s.burden_ohms,
                                     ct_ratio=s.ct_ratio, mains_volts=s.mains_volts,
                                     monotonic=self.clock.monotonic)
            classifier = make_classifier(s.id, role=s.role, metering=s.metering)
            self.power.append(PowerChannel(s.id, PowerSensor(s.id, meter), classifier, s.poll_seconds))
        self.io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hubd-i2c")

    # -- callbacks from the GPIO layer (any thread) ------------------------------
    def _gpio_fault(self, sensor_id: str, reason: str | None, mono: float) -> None:
        if self._conditions is None:
            return
        ident = ("sensor_fault", sensor_id)
        finding = None if reason is None else Finding("sensor_fault", SYSTEM, mono, 0.0, key=sensor_id,
                                                      detail={"reason": reason})
        self._conditions(ident, finding)

    def _schedule(self, deadline: float) -> None:
        """A debounce, warm-up or hold deadline was set on a GPIO thread: the loop must recompute its wait."""
        self.wake()

    def _hold(self, button_id: str, mono: float) -> None:
        if self._sink is not None:
            self._sink(button_id, Kind.BUTTON, LONG_PRESS, mono)

    # -- periodic work on the daemon's loop ----------------------------------------
    def service(self, mono: float) -> float | None:
        wants = []
        if self.board is not None:
            self.board.settle(mono)
            wants.append(self.board.next_settle())
        for ch in self.power:
            if ch.reading is not None:
                continue  # its result wakes the loop
            if mono >= ch.next_poll:
                self._poll(ch, mono)
                ch.next_poll = mono + ch.poll_seconds
            if ch.reading is None:
                wants.append(ch.next_poll)
        due = [w for w in wants if w is not None]
        return min(due) if due else None

    def _poll(self, ch: PowerChannel, mono: float) -> None:
        """Start a read in the I/O thread if one is due; the loop goes on meanwhile."""
        plan = ch.sensor.begin(mono)
        if plan is None:  # backing off: only the supervision runs, here
            self._polled(ch, mono, None)
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # driven by hand, outside a loop: read here
            self._polled(ch, mono, ch.sensor.finish(mono, ch.sensor.read(plan)))
            return
        ch.reading = loop.run_in_executor(self.io, ch.sensor.read, plan)
        ch.reading.add_done_callback(functools.partial(self._read_done, ch, mono))

    def _read_done(self, ch: PowerChannel, mono: float, reading: asyncio.Future) -> None:
        """Back on the loop with what the thread read at ``mono``: supervise, report, re-plan."""
        ch.reading = None
        if reading.cancelled() or self.io is None:  # closing
            return
        from .sensors.power import PollOutcome

        error = reading.exception()
        outcome = reading.result() if error is None else PollOutcome(error=error, needs_init=True)
        self._polled(ch, mono, ch.sensor.finish(mono, outcome))
        self.wake()

    async def reads_done(self) -> bool:
        """Wait until no power read is in the I/O thread and its result has been taken; True if any was.

        For harnesses on a fake clock: a read takes milliseconds of a real hub's time, so
        simulated time should not run on while one is in flight.
        """
        waited = False
        while True:
            pending = {ch.reading for ch in self.power if ch.reading is not None}
            if not pending:
                return waited
            waited = True
            await asyncio.wait(pending)
            await asyncio.sleep(0)  # the done callbacks run first: _read_done has taken the result

    def _polled(self, ch: PowerChannel, mono: float, sample: Any) -> None:
        for change in ch.sensor.take_health_changes():
            if self._conditions is None:
                continue
            ident = ("sensor_fault", ch.sensor_id)
            if change.raises_alert:
                self._conditions(ident, Finding("sensor_fault", SYSTEM, change.mono, 0.0, key=ch.sensor_id,
                                                detail={"reason": change.reason}))
            elif change.clears_alert:
                self._conditions(ident, None)
        watts = None if sample is None else sample.watts
        if sample is not None:
            ch.last_watts = sample.watts
        transition = ch.classifier.update(mono, watts)
        if transition is not None and self._sink is not None:
            self._sink(ch.sensor_id, Kind.APPLIANCE, transition.value, transition.mono)

    # -- outputs and readings ------------------------------------------------------
    def set_outputs(self, pattern: str) -> None:
        self.pattern = pattern
        if self.board is not None and self.board.outputs is not None:
            self.board.outputs.show(pattern)

    def readings(self) -> dict[str, Any]:
        gpio = self.board.live_readings() if self.board is not None else []
        power = [{"id": ch.sensor_id, "watts": ch.last_watts, "health": ch.sensor.status()} for ch in self.power]
        return {"gpio": gpio, "power": power, "outputs": self.pattern}

    def close(self) -> None:
        try:
            if self.board is not None:
                self.board.close()
        finally:
            io, self.io = self.io, None
            if io is not None:  # a read in progress ends before its bus is closed; queued ones are dropped
                io.shutdown(wait=True, cancel_futures=True)
            if self.bus_pool is not None:
                self.bus_pool.close_all()


def build_hardware(config: Config, clock: Clock, **seams: Any) -> Hardware:
    return HubHardware(config, clock, **seams)


def build_uplink(config: Config, clock: Clock, store: Store) -> Uplink:
    """The modem named in the config; with none, a link that keeps messages and says it cannot send."""
    from .modem.service import NoModem, SmsService

    if not config.modem.port:
        return NoModem(store, clock)
    secrets = load_secrets(config.modem.secrets_file)
    offer = clock.offer_time if isinstance(clock, SystemClock) else None
    return SmsService(config.modem.port, config.modem.baudrate, store, clock, sim_pin=secrets.sim_pin,
                      smsc=config.modem.smsc, time_source=offer)
