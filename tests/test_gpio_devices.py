"""GPIO devices on gpiozero's MockFactory, timed by a FakeClock.

MockPin drive_high/low runs handlers synchronously in the test thread, so edge timing
is set by advancing the FakeClock *before* driving a pin. Only the output tests wait on
real time, because gpiozero's own blink threads run on it; they use tiny patterns.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory, MockPin

from hubd.clock import FakeClock
from hubd.events import Kind
from hubd.sensors.edge_filters import Debouncer
from hubd.sensors.gpio import ContactSensor, GpioBoard, GpioSetupError, OkButton, PirSensor, SensorSpec
from hubd.sensors.local_outputs import PATTERNS, Blink, LocalOutputs, Pattern

T0 = 1000.0  # FakeClock's default start


class DrivenPin(MockPin):
    """A line driven by the sensor itself (PIR output, closed switch): the Pi's pull
    resistor cannot change its level, unlike a plain MockPin, which jumps to its pull
    when a device configures it."""

    def __init__(self, factory, info, level=False):
        super().__init__(factory, info)
        self._state = bool(level)
        self.clear_states()

    def _set_pull(self, value):
        self._pull = value


@pytest.fixture
def factory():
    saved = Device.pin_factory
    factory = MockFactory()
    Device.pin_factory = factory
    yield factory
    factory.reset()
    Device.pin_factory = saved


@pytest.fixture
def clock():
    return FakeClock()


class Recorder:
    """Collects what the devices hand over, and on which thread."""

    def __init__(self):
        self.events = []
        self.faults = []
        self.holds = []
        self.deadlines = []
        self.threads = set()

    def sink(self, sensor_id, kind, value, mono):
        self.threads.add(threading.get_ident())
        self.events.append((sensor_id, kind, value, mono))

    def on_fault(self, sensor_id, reason, mono):
        self.faults.append((sensor_id, reason, mono))

    def on_hold(self, sensor_id, mono):
        self.holds.append((sensor_id, mono))

    def schedule(self, deadline):
        self.deadlines.append(deadline)

    def values(self):
        return [(value, mono) for _, _, value, mono in self.events]


@pytest.fixture
def rec():
    return Recorder()


def at(clock, mono, action):
    """Advance the clock to ``mono``, then drive the pin."""
    clock.advance(mono - clock.monotonic())
    action()


def settle_at(clock, device, mono):
    clock.advance(mono - clock.monotonic())
    device.settle(clock.monotonic())


def pir(clock, rec, pin=17, **kw):
    kw.setdefault("warmup_s", 0)
    return PirSensor("hall_pir", pin, clock=clock, sink=rec.sink, schedule=rec.schedule, **kw)


# --------------------------------------------------------------------------- PIR


def test_a_10ms_pir_pulse_is_a_motion_start_and_its_end_follows(factory, clock, rec):
    sensor = pir(clock, rec, retrigger_s=5)
    pin = factory.pin(17)
    at(clock, T0 + 1.0, pin.drive_high)
    at(clock, T0 + 1.01, pin.drive_low)
    assert rec.events == [("hall_pir", Kind.MOTION, 1.0, T0 + 1.0)]
    assert rec.deadlines[-1] == pytest.approx(T0 + 6.01)
    settle_at(clock, sensor, T0 + 6.0)
    assert len(rec.events) == 1  # the end waits out the retrigger window
    settle_at(clock, sensor, T0 + 6.01)
    assert rec.values() == [(1.0, T0 + 1.0), (0.0, pytest.approx(T0 + 1.01))]


def test_motion_present_at_start_up_is_a_start(factory, clock, rec):
    factory.pin(17, pin_class=DrivenPin, level=True)
    sensor = pir(clock, rec)
    assert rec.values() == [(1.0, T0)]
    assert sensor.live_readings()["level"] == 1


def test_warm_up_ignores_edges_then_rereads_the_level(factory, clock, rec):
    sensor = pir(clock, rec, warmup_s=60)
    pin = factory.pin(17)
    assert rec.deadlines == [T0 + 60]
    assert sensor.live_readings()["warming_up"] is True
    at(clock, T0 + 5, pin.drive_high)  # spurious highs while the PIR settles
    at(clock, T0 + 6, pin.drive_low)
    at(clock, T0 + 50, pin.drive_high)  # someone walks in and stays in view
    settle_at(clock, sensor, T0 + 59.9)
    assert rec.events == []
    settle_at(clock, sensor, T0 + 60)
    assert rec.values() == [(1.0, T0 + 60)]
    assert sensor.live_readings()["warming_up"] is False


def test_warm_up_ending_on_a_quiet_pir_reports_nothing(factory, clock, rec):
    sensor = pir(clock, rec, warmup_s=60)
    pin = factory.pin(17)
    at(clock, T0 + 10, pin.drive_high)
    at(clock, T0 + 11, pin.drive_low)
    settle_at(clock, sensor, T0 + 60)
    assert rec.events == []
    at(clock, T0 + 70, pin.drive_high)
    assert rec.values() == [(1.0, T0 + 70)]


def test_motion_present_at_start_up_counts_once_warm_up_ends(factory, clock, rec):
    factory.pin(17, pin_class=DrivenPin, level=True)
    sensor = pir(clock, rec, warmup_s=60)
    assert rec.events == []
    settle_at(clock, sensor, T0 + 60)
    assert rec.values() == [(1.0, T0 + 60)]


def test_a_pir_held_high_is_one_start_without_repeats(factory, clock, rec):
    sensor = pir(clock, rec)
    pin = factory.pin(17)
    at(clock, T0 + 1, pin.drive_high)
    for step in range(1, 120):
        settle_at(clock, sensor, T0 + 1 + 10 * step)
    assert rec.values() == [(1.0, T0 + 1)]
    assert sensor.live_readings()["reported"] == 1


def test_retriggering_within_the_hold_is_one_episode(factory, clock, rec):
    sensor = pir(clock, rec, retrigger_s=5)
    pin = factory.pin(17)
    at(clock, T0 + 1, pin.drive_high)
    at(clock, T0 + 3, pin.drive_low)
    settle_at(clock, sensor, T0 + 5)
    at(clock, T0 + 6, pin.drive_high)  # 3 s after the fall: same episode
    at(clock, T0 + 10, pin.drive_low)
    settle_at(clock, sensor, T0 + 15)
    assert rec.values() == [(1.0, T0 + 1), (0.0, T0 + 10)]


def test_a_rise_after_the_retrigger_window_is_a_new_episode_even_unsettled(factory, clock, rec):
    pir(clock, rec, retrigger_s=5)
    pin = factory.pin(17)
    at(clock, T0 + 1, pin.drive_high)
    at(clock, T0 + 2, pin.drive_low)
    at(clock, T0 + 30, pin.drive_high)  # nobody called settle: the edge decides the end
    assert rec.values() == [(1.0, T0 + 1), (0.0, T0 + 2), (1.0, T0 + 30)]


# --------------------------------------------------------------------------- contacts


def door(clock, rec, pin=22, kind=Kind.DOOR, **kw):
    return ContactSensor(
        "hall_door", pin, kind, clock=clock, sink=rec.sink, on_fault=rec.on_fault, schedule=rec.schedule, **kw
    )


def test_door_bounce_is_one_event_once_settled(factory, clock, rec):
    pin = factory.pin(22, pin_class=DrivenPin, level=False)  # closed reed pulls to GND
    sensor = door(clock, rec)
    assert rec.events == []  # a door's initial position is not a movement
    t = T0 + 10
    for i, drive in enumerate([pin.drive_high, pin.drive_low, pin.drive_high, pin.drive_low, pin.drive_high]):
        at(clock, t + i * 0.001, drive)
    assert rec.events == []
    assert rec.deadlines[-1] == pytest.approx(t + 0.004 + 0.05)
    settle_at(clock, sensor, t + 0.004 + 0.049)
    assert rec.events == []
    settle_at(clock, sensor, t + 0.004 + 0.05)
    assert rec.events == [("hall_door", Kind.DOOR, 1.0, pytest.approx(t + 0.004))]
    settle_at(clock, sensor, t + 5)
    assert len(rec.events) == 1
    readings = sensor.live_readings()
    assert (readings["level"], readings["reported"], readings["fault"]) == (1, 1, None)
    assert readings["last_change_mono"] == pytest.approx(t + 0.004)


def test_a_glitch_shorter_than_the_debounce_is_not_reported(factory, clock, rec):
    pin = factory.pin(22, pin_class=DrivenPin, level=False)
    sensor = door(clock, rec)
    at(clock, T0 + 1, pin.drive_high)
    at(clock, T0 + 1.02, pin.drive_low)
    settle_at(clock, sensor, T0 + 2)
    assert rec.events == []
    assert sensor.next_due() is None


def test_a_stable_level_is_reported_by_the_next_edge_if_settle_came_late(factory, clock, rec):
    pin = factory.pin(22, pin_class=DrivenPin, level=False)
    door(clock, rec)
    at(clock, T0 + 1, pin.drive_high)
    at(clock, T0 + 4, pin.drive_low)
    assert rec.values() == [(1.0, T0 + 1)]


def test_entrance_with_an_nc_wiring_override(factory, clock, rec):
    pin = factory.pin(22, pin_class=DrivenPin, level=True)
    sensor = door(clock, rec, kind=Kind.ENTRANCE, active_high=False)  # low means open here
    at(clock, T0 + 1, pin.drive_low)
    settle_at(clock, sensor, T0 + 2)
    assert rec.events == [("hall_door", Kind.ENTRANCE, 1.0, T0 + 1)]


def test_presence_held_at_start_up_is_reported_and_holds_until_released(factory, clock, rec):
    pin = factory.pin(5, pin_class=DrivenPin, level=False)  # mat closed to GND: occupied
    mat = ContactSensor("bed", 5, Kind.PRESENCE, clock=clock, sink=rec.sink)
    assert rec.events == [("bed", Kind.PRESENCE, 1.0, T0)]
    for hour in range(1, 9):
        settle_at(clock, mat, T0 + 3600 * hour)
    assert len(rec.events) == 1
    at(clock, T0 + 30000, pin.drive_high)
    settle_at(clock, mat, T0 + 30001)
    assert rec.events[1:] == [("bed", Kind.PRESENCE, 0.0, T0 + 30000)]


def test_an_empty_mat_at_start_up_reports_nothing(factory, clock, rec):
    factory.pin(5, pin_class=DrivenPin, level=True)
    ContactSensor("bed", 5, Kind.PRESENCE, clock=clock, sink=rec.sink)
    assert rec.events == []


def test_chatter_is_flagged_as_a_fault_instead_of_flooding(factory, clock, rec):
    pin = factory.pin(22, pin_class=DrivenPin, level=False)
    sensor = door(clock, rec)
    t = T0 + 1
    for i in range(200):  # a loose wire: an edge every 10 ms for 2 s
        at(clock, t + i * 0.01, pin.drive_high if i % 2 == 0 else pin.drive_low)
    last = t + 199 * 0.01  # ends low (closed)
    assert rec.events == []
    assert rec.faults == [("hall_door", "chatter", pytest.approx(t + 0.49))]
    assert sensor.live_readings()["fault"] == "chatter"
    settle_at(clock, sensor, last + 1.0)
    assert len(rec.faults) == 1
    settle_at(clock, sensor, last + 2.0)
    assert rec.faults[1] == ("hall_door", None, pytest.approx(last + 2.0))
    assert rec.events == []  # it ended where it started: closed
    assert sensor.live_readings()["fault"] is None


def test_slow_chatter_past_the_debounce_leaks_only_a_few_events(factory, clock, rec):
    pin = factory.pin(22, pin_class=DrivenPin, level=False)
    sensor = door(clock, rec)
    t = T0 + 1
    for i in range(60):  # 15 Hz: each level outlasts the 50 ms debounce
        at(clock, t + i / 15, pin.drive_high if i % 2 == 0 else pin.drive_low)
        sensor.settle(clock.monotonic())
    assert [reason for _, reason, _ in rec.faults] == ["chatter"]
    assert len(rec.events) <= 7


def test_the_final_level_after_chatter_is_reported(factory, clock, rec):
    pin = factory.pin(22, pin_class=DrivenPin, level=False)
    sensor = door(clock, rec)
    t = T0 + 1
    for i in range(101):
        at(clock, t + i * 0.01, pin.drive_high if i % 2 == 0 else pin.drive_low)
    settle_at(clock, sensor, t + 1.0 + 2.0)
    assert rec.values() == [(1.0, pytest.approx(t + 1.0))]  # ended open


# --------------------------------------------------------------------------- button


def button(clock, rec, **kw):
    return OkButton(
        "ok_button", 27, clock=clock, sink=rec.sink, on_hold=rec.on_hold, schedule=rec.schedule, hold_s=2.0, **kw
    )


def test_a_bouncy_press_is_one_button_event_and_release_is_silent(factory, clock, rec):
    b = button(clock, rec)
    pin = factory.pin(27)  # pulled up: pressed = low
    for i, drive in enumerate([pin.drive_low, pin.drive_high, pin.drive_low]):
        at(clock, T0 + 1 + i * 0.002, drive)
    settle_at(clock, b, T0 + 1.1)
    at(clock, T0 + 1.3, pin.drive_high)
    settle_at(clock, b, T0 + 5)
    assert rec.events == [("ok_button", Kind.BUTTON, 1.0, pytest.approx(T0 + 1.004))]
    assert rec.holds == []


def test_a_long_press_calls_hold_once(factory, clock, rec):
    b = button(clock, rec)
    pin = factory.pin(27)
    at(clock, T0 + 1, pin.drive_low)
    settle_at(clock, b, T0 + 1.05)
    assert rec.values() == [(1.0, T0 + 1)]
    assert rec.deadlines[-1] == T0 + 3
    settle_at(clock, b, T0 + 2.9)
    assert rec.holds == []
    settle_at(clock, b, T0 + 3)
    settle_at(clock, b, T0 + 8)
    assert rec.holds == [("ok_button", T0 + 3)]
    at(clock, T0 + 9, pin.drive_high)
    settle_at(clock, b, T0 + 10)
    assert rec.holds == [("ok_button", T0 + 3)]
    assert len(rec.events) == 1


def test_a_long_press_is_seen_on_release_when_settle_came_late(factory, clock, rec):
    b = button(clock, rec)
    pin = factory.pin(27)
    at(clock, T0 + 1, pin.drive_low)
    settle_at(clock, b, T0 + 1.05)
    at(clock, T0 + 4, pin.drive_high)
    assert rec.holds == [("ok_button", T0 + 3)]


def test_a_bounce_on_release_does_not_cut_a_hold_short(factory, clock, rec):
    b = button(clock, rec)
    pin = factory.pin(27)
    at(clock, T0 + 1, pin.drive_low)
    settle_at(clock, b, T0 + 1.05)
    at(clock, T0 + 2.99, pin.drive_high)  # a wobble, not a release
    at(clock, T0 + 2.995, pin.drive_low)
    settle_at(clock, b, T0 + 3.0)
    assert rec.holds == [("ok_button", T0 + 3)]
    assert len(rec.events) == 1


# --------------------------------------------------------------------------- threads


def test_edges_from_another_thread_are_only_handed_over(factory, clock):
    """The daemon's shape: the sink moves each event onto the event loop and returns."""
    pir_pin = factory.pin(17)
    door_pin = factory.pin(22, pin_class=DrivenPin, level=False)

    async def main():
        loop = asyncio.get_running_loop()
        sink_threads, on_loop = [], []
        arrived = asyncio.Event()

        def consume(event):
            on_loop.append((event, threading.get_ident()))
            arrived.set()

        def sink(sensor_id, kind, value, mono):
            sink_threads.append(threading.get_ident())
            loop.call_soon_threadsafe(consume, (sensor_id, value, mono))

        pir_dev = PirSensor("hall_pir", 17, clock=clock, sink=sink, warmup_s=0)
        door_dev = ContactSensor("hall_door", 22, clock=clock, sink=sink)

        def gpio_thread():
            clock.advance(1.0)
            pir_pin.drive_high()
            door_pin.drive_high()

        worker = threading.Thread(target=gpio_thread)
        worker.start()
        worker.join(timeout=2)
        assert not worker.is_alive()
        assert on_loop == []  # nothing ran on the loop from the worker's thread
        await asyncio.wait_for(arrived.wait(), timeout=2)
        me = threading.get_ident()
        assert sink_threads == [worker.ident]  # the PIR start was handed over on the edge's thread
        assert on_loop == [(("hall_pir", 1.0, T0 + 1.0), me)]  # and consumed on the loop's
        door_dev.settle(T0 + 1.05)  # the door's debounce is decided on the owner's side
        await asyncio.sleep(0)
        assert sink_threads[1:] == [me]
        assert on_loop[1] == (("hall_door", 1.0, T0 + 1.0), me)
        pir_dev.close()
        door_dev.close()

    asyncio.run(main())


def test_a_failing_sink_does_not_escape_into_gpiozeros_thread(factory, clock, caplog):
    def sink(*_):
        raise RuntimeError("queue full")

    PirSensor("hall_pir", 17, clock=clock, sink=sink, warmup_s=0)
    raised = []

    def gpio_thread():
        try:
            factory.pin(17).drive_high()
        except BaseException as exc:  # pragma: no cover - the failure being tested for
            raised.append(exc)

    worker = threading.Thread(target=gpio_thread)
    worker.start()
    worker.join(timeout=2)
    assert raised == []
    assert "hall_pir" in caplog.text and "queue full" in caplog.text


# --------------------------------------------------------------------------- outputs


def wait_until(predicate, timeout=2.0):
    """gpiozero's blink threads run on real time; poll briefly for what they wrote."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "gpiozero thread did not get there"
        threading.Event().wait(0.001)


def levels(pin):
    return [state.state for state in pin.states]


FAST = {
    "walktest": Pattern(led=Blink(0.01, 0.0, n=1), buzzer=Blink(0.005, 0.0, n=1)),
    "prealarm": Pattern(led=Blink(0.005, 0.005, n=None), buzzer=Blink(0.005, 0.005)),
}


def test_walktest_is_one_short_blip_on_both_outputs(factory):
    outputs = LocalOutputs(18, 23, patterns=FAST)
    buzzer, led = factory.pin(18), factory.pin(23)
    try:
        outputs.show("walktest")
        wait_until(lambda: len(buzzer.states) >= 3 and len(led.states) >= 3)
        assert levels(buzzer) == [False, True, False]
        assert levels(led) == [False, True, False]
        outputs.show("walktest")  # every detection blips again
        wait_until(lambda: len(buzzer.states) >= 5)
        assert levels(buzzer) == [False, True, False, True, False]
    finally:
        outputs.close()


def test_prealarm_keeps_blinking_until_off(factory):
    outputs = LocalOutputs(18, 23, patterns=FAST)
    buzzer, led = factory.pin(18), factory.pin(23)
    try:
        outputs.show("prealarm")
        wait_until(lambda: len(led.states) >= 6 and len(buzzer.states) >= 6)
        assert levels(led)[:6] == [False, True, False, True, False, True]
        outputs.show("off")  # stops and joins the blink threads, then writes off
        assert led.state is False and buzzer.state is False
        assert outputs.status()["pattern"] == "off"
    finally:
        outputs.close()


def test_alarm_lights_the_led_steadily_and_beeps(factory):
    outputs = LocalOutputs(18, 23)
    buzzer, led = factory.pin(18), factory.pin(23)
    try:
        outputs.show("alarm")
        assert levels(led) == [False, True]
        wait_until(lambda: buzzer.state is True)
        assert outputs.status()["pattern"] == "alarm"
    finally:
        outputs.close()


def test_close_turns_every_output_off_mid_pattern(factory):
    outputs = LocalOutputs(18, 23)
    buzzer, led = factory.pin(18), factory.pin(23)
    outputs.show("alarm")
    wait_until(lambda: buzzer.state is True)
    outputs.close()
    assert buzzer.state is False and led.state is False
    assert outputs.status() == {"pattern": "off", "buzzer": None, "led": None, "closed": True}
    outputs.show("alarm")  # after close nothing turns back on
    assert buzzer.state is False and led.state is False
    outputs.close()  # idempotent


def test_default_patterns_and_unknown_names():
    assert set(PATTERNS) == {"off", "prealarm", "alarm", "fault", "walktest"}
    assert PATTERNS["walktest"].finite and not PATTERNS["prealarm"].finite
    assert PATTERNS["fault"].buzzer is False  # a hub fault must not wake the resident


def test_an_unknown_pattern_is_an_error(factory):
    outputs = LocalOutputs(18, None)
    try:
        with pytest.raises(ValueError, match="sirens"):
            outputs.show("sirens")
    finally:
        outputs.close()


# --------------------------------------------------------------------------- board


SPECS = [
    SensorSpec("hall_pir", Kind.MOTION, 17, warmup_s=0),
    SensorSpec("kitchen_pir", Kind.MOTION, 4, warmup_s=60),
    SensorSpec("front_door", Kind.ENTRANCE, 22),
    SensorSpec("fridge_door", Kind.DOOR, 10),
    SensorSpec("bed", Kind.PRESENCE, 5),
    SensorSpec("ok_button", Kind.BUTTON, 27, hold_s=3.0),
]


def test_board_builds_every_device_from_specs_and_closes_them(factory, clock, rec):
    factory.pin(5, pin_class=DrivenPin, level=False)  # someone in bed at start-up
    board = GpioBoard(
        SPECS, clock=clock, sink=rec.sink, on_fault=rec.on_fault, on_hold=rec.on_hold,
        schedule=rec.schedule, buzzer_pin=18, led_pin=23,
    )  # fmt: skip
    try:
        assert rec.events == [("bed", Kind.PRESENCE, 1.0, T0)]
        readings = {r["id"]: r for r in board.live_readings()}
        assert set(readings) == {s.id for s in SPECS}
        assert readings["kitchen_pir"]["warming_up"] is True
        assert readings["front_door"]["kind"] == "entrance"
        assert board.next_settle() == T0 + 60
        at(clock, T0 + 1, factory.pin(22).drive_low)  # front door closed (pulled up = open)
        at(clock, T0 + 2, factory.pin(27).drive_low)  # OK button held
        clock.advance(3.05)
        board.settle(clock.monotonic())
        assert rec.events[1:] == [
            ("front_door", Kind.ENTRANCE, 0.0, T0 + 1),
            ("ok_button", Kind.BUTTON, 1.0, T0 + 2),
        ]
        assert rec.holds == [("ok_button", T0 + 5)]
        board.outputs.show("alarm")
    finally:
        board.close()
    assert factory.pin(23).state is False and factory.pin(18).state is False
    assert all(r["closed"] for r in board.live_readings())
    again = GpioBoard(SPECS, clock=clock, sink=rec.sink)  # every pin was released
    again.close()


def test_board_setup_errors_name_the_sensor_and_release_what_was_built(factory, clock, rec):
    with pytest.raises(GpioSetupError, match="'fridge_door'.*pin 17"):
        GpioBoard([SPECS[0], SensorSpec("fridge_door", Kind.DOOR, 17)], clock=clock, sink=rec.sink)
    with pytest.raises(GpioSetupError, match="'kettle'.*not a GPIO sensor"):
        GpioBoard([SensorSpec("kettle", Kind.APPLIANCE, 6)], clock=clock, sink=rec.sink)
    with pytest.raises(GpioSetupError, match="'hall_pir' is listed twice"):
        GpioBoard([SPECS[0], SPECS[0]], clock=clock, sink=rec.sink)
    GpioBoard([SPECS[0]], clock=clock, sink=rec.sink).close()  # pin 17 is free again


def test_a_contact_kind_must_be_a_switch(factory, clock, rec):
    with pytest.raises(ValueError, match="motion"):
        ContactSensor("x", 22, Kind.MOTION, clock=clock, sink=rec.sink)


def test_debouncer_settings_are_checked():
    with pytest.raises(ValueError):
        Debouncer(debounce_s=1.0, chatter_quiet_s=0.5)
    with pytest.raises(ValueError):
        Debouncer(chatter_bursts=1)


# --------------------------------------------------------------------------- wiring

WIRING = [  # (kind, overrides, expected (pull_up, active_high))
    (Kind.MOTION, {}, (False, True)),
    (Kind.MOTION, {"pull_up": True}, (True, True)),  # a PIR is high on motion whatever the pull
    (Kind.MOTION, {"active_high": False}, (False, False)),
    (Kind.DOOR, {}, (True, True)),
    (Kind.DOOR, {"pull_up": False}, (False, False)),
    (Kind.ENTRANCE, {}, (True, True)),
    (Kind.PRESENCE, {}, (True, False)),
    (Kind.PRESENCE, {"pull_up": False}, (False, True)),
    (Kind.PRESENCE, {"active_high": True}, (True, True)),
    (Kind.BUTTON, {}, (True, False)),
    (Kind.BUTTON, {"pull_up": False}, (False, True)),
]


def build_direct(kind, pin, clock, rec, **kw):
    seams = dict(clock=clock, sink=rec.sink, **kw)
    if kind is Kind.MOTION:
        return PirSensor("s", pin, warmup_s=0, **seams)
    if kind is Kind.BUTTON:
        return OkButton("s", pin, **seams)
    return ContactSensor("s", pin, kind, **seams)


@pytest.mark.parametrize("via", ["constructor", "board"])
@pytest.mark.parametrize("kind, overrides, expected", WIRING, ids=lambda v: getattr(v, "label", None))
def test_every_way_of_building_an_input_wires_it_the_same(factory, clock, rec, via, kind, overrides, expected):
    pull_up, active_high = expected
    factory.pin(6, pin_class=DrivenPin, level=active_high)  # the sensor holds its active level
    if via == "board":
        board = GpioBoard([SensorSpec("s", kind, 6, warmup_s=0, **overrides)], clock=clock, sink=rec.sink)
        device = board.devices["s"]
    else:
        device = build_direct(kind, 6, clock, rec, **overrides)
    try:
        assert (device.pull_up, device.active_high) == expected
        assert factory.pin(6).pull == ("up" if pull_up else "down")
        assert device.live_readings()["level"] == 1
    finally:
        device.close()


def test_device_constructors_still_refuse_unknown_keywords(factory, clock, rec):
    for kind in (Kind.MOTION, Kind.DOOR, Kind.BUTTON):
        with pytest.raises(TypeError):
            build_direct(kind, 6, clock, rec, pul_up=True)
    assert factory.pin(6).pull == "floating"  # nothing was left open
