"""The live simulator stamps each scripted edge at its own simulated time, however late its loop wakes.

Without it, a door opened and shut within one 20 ms loop period (24 simulated seconds at
x1200) reached the hub as two edges microseconds apart, the 50 ms debounce swallowed both,
and the learned hub took the resident's return for a departure (`not_returned` 14 h late).
"""

from __future__ import annotations

import pytest
from gpiozero.pins.mock import MockFactory
from hypothesis import given
from hypothesis import strategies as st

from hubd.events import Event, Kind
from hubd.sensors.gpio import ContactSensor
from hubsim.gpio_driver import GpioScript
from hubsim.pacing import PacedClock, drive_due, pace_hub

START = 1_768_197_600.0  # a live morning, 06:00


class Wall:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_held_clock_stops_at_the_hold_and_runs_on_when_released():
    wall = Wall()
    clock = PacedClock(1200.0, start_local=START, start_mono=START, base=wall)
    clock.hold_at(START + 30.0)
    wall.now += 1.0  # 1200 simulated seconds pass in the wall's terms
    assert clock.monotonic() == START + 30.0 and clock.local() == START + 30.0
    assert clock.unheld_local() == START + 1200.0
    clock.hold_at(None)
    assert clock.monotonic() == START + 1200.0


def test_waiting_for_the_person_stops_time_and_goes_on_from_where_it_stood():
    """The interactive pre-alarm: time stands still short of the alarm while the person may
    answer; renewing the hold every turn never lets it slip; released, no simulated time passed."""
    wall = Wall()
    clock = PacedClock(60.0, start_local=START, start_mono=START, base=wall)
    for _ in range(50):  # each turn renews the same hold, 20 wall seconds in all
        clock.wait_for_person_until(START + 299.0)
        wall.now += 0.4
    assert clock.monotonic() == START + 299.0
    clock.wait_for_person_until(None)
    assert clock.monotonic() == START + 299.0  # goes on from the hold, not from the wall's 1200 s
    wall.now += 1.0
    assert clock.monotonic() == START + 299.0 + 60.0
    clock.hold_at(START + 500.0)  # the scripted edges' hold is apart from it
    clock.wait_for_person_until(START + 400.0)
    wall.now += 10.0
    assert clock.monotonic() == START + 400.0
    clock.wait_for_person_until(START + 100.0)  # a hold in the past holds it where it is
    assert clock.monotonic() == START + 400.0


def test_a_hold_before_the_clock_holds_it_where_it_is():
    wall = Wall()
    clock = PacedClock(1200.0, start_local=START, start_mono=START, base=wall)
    wall.now += 0.1
    clock.hold_at(START)  # 120 s ago
    assert clock.monotonic() == START + 120.0
    wall.now += 0.1
    assert clock.monotonic() == START + 120.0


@given(st.lists(st.tuples(st.floats(0.0, 0.5), st.one_of(st.none(), st.floats(-600.0, 3600.0))), max_size=30))
def test_paced_time_never_goes_back(steps):
    wall = Wall()
    clock = PacedClock(1200.0, start_local=START, start_mono=5000.0, base=wall)
    seen = clock.monotonic()
    for dt, hold in steps:
        wall.now += dt
        clock.hold_at(None if hold is None else START + hold)
        now = clock.monotonic()
        assert now >= seen
        assert clock.local() - now == START - 5000.0
        assert clock.local() <= clock.unheld_local()
        seen = now


def test_a_door_opened_and_shut_within_one_loop_period_reaches_the_hub_as_two_events():
    factory = MockFactory()
    wall = Wall()
    clock = PacedClock(1200.0, start_local=START, start_mono=START, base=wall)
    events = [Event(START + 25.0, START + 25.0, "front_door", Kind.ENTRANCE, 1.0),
              Event(START + 29.0, START + 29.0, "front_door", Kind.ENTRANCE, 0.0),
              Event(START + 31.0, START + 31.0, "hall_pir", Kind.MOTION, 1.0),
              Event(START + 600.0, START + 600.0, "front_door", Kind.ENTRANCE, 1.0)]
    script = GpioScript(factory, {"front_door": 5, "hall_pir": 17}, events)
    heard = []
    door = ContactSensor("front_door", 5, Kind.ENTRANCE, clock=clock, pin_factory=factory,
                         sink=lambda sensor, kind, value, mono: heard.append((value, mono)))
    try:
        assert drive_due(script, clock) == 0
        wall.now += 0.05  # one late wake-up: 60 simulated seconds, three edges due
        assert drive_due(script, clock) == 3
        assert clock.monotonic() == START + 60.0  # free again up to the next edge (10 min on)
        door.settle(clock.monotonic())
        assert heard == [(1.0, START + 25.0), (0.0, START + 29.0)]
        wall.now += 1.0
        assert clock.local() == START + 600.0  # held at the next edge until it is driven
        assert drive_due(script, clock) == 1 and script.next_due() is None
        wall.now += 0.1
        assert clock.local() == pytest.approx(START + 1320.0)
    finally:
        door.close()
        factory.reset()


class Engine:
    """What pace_hub reads of the hub's engine: the last time it judged, and its next decision."""

    def __init__(self, now, decisions):
        self.now, self.decisions = now, decisions

    def next_deadline(self, mono):
        return min((d for d in self.decisions if d > mono), default=None)


def test_time_waits_at_the_hubs_next_decision_until_the_hub_has_taken_it():
    """A starved hub (its loop 2 wall seconds late, 40,000 simulated at x20000) still decides at
    its own time: the alarm text says the silence it saw then."""
    wall = Wall()
    clock = PacedClock(20000.0, start_local=START, start_mono=START, base=wall)
    engine = Engine(START, [START + 5700.0, START + 6000.0])
    pace_hub(engine, clock)
    wall.now += 2.0
    assert clock.monotonic() == START + 5700.0
    pace_hub(engine, clock)  # the hub has not got there yet: the hold stays
    wall.now += 2.0
    assert clock.monotonic() == START + 5700.0
    engine.now = clock.monotonic()  # it decides at 5700 s
    pace_hub(engine, clock)
    assert clock.monotonic() == START + 6000.0
    engine.now, engine.decisions = START + 6000.0, []
    pace_hub(engine, clock)  # nothing left to decide: time runs free (and catches up with the wall)
    assert clock.monotonic() == START + 80000.0


def test_an_edge_past_the_hubs_hold_waits_for_the_hub():
    wall = Wall()
    clock = PacedClock(1200.0, start_local=START, start_mono=START, base=wall)
    clock.hold_for_hub(START + 60.0)
    wall.now += 1.0
    assert clock.unheld_local() == START + 60.0  # an edge due at +120 s is not due yet
