"""Fault matrix, GPIO rows: a flapping contact and stuck sensors under the running daemon.

What a stuck sensor means (decided here, and held by these tests):

* A PIR stuck HIGH is one motion episode that started when it rose. Its rise was activity;
  nothing after it is, so the silence timer runs from the rise and a collapse is reported at
  the usual limit. (Its silence is then the sensor-health watcher's business.)
* A presence mat (bed, seat) held ON holds off the silence timer, because someone is there —
  but never for ever: past ``detector.held_max_hours`` it is ``stayed_in_place`` in both
  detector modes (the fixed timer used to wait for ever: fixed with these tests).
* A contact that flaps faster than any hand is a ``sensor_fault`` (chatter), told to the
  office once, however long or often it flaps: no SMS storm.
"""

from __future__ import annotations

import collections

import pytest

from faultrig import HOUR, MIN, OFFICE, Rig, run

LIMIT_H = 2.0  # detector.max_inactivity_hours in these tests
HELD_MAX_H = 14.0  # detector.held_max_hours (default)


async def flap(rig, sensor: str, seconds: float, period: float = 0.1) -> None:
    """A loose reed switch: the line toggles every ``period`` seconds."""
    state = [False]

    def toggle():
        state[0] = not state[0]
        rig.set(sensor, state[0])
    await rig.run_for(seconds, step=period, each=toggle)


def test_a_contact_flapping_for_twenty_minutes_is_one_fault_and_one_text(tmp_path):
    rig = Rig(tmp_path)

    async def body(rig):
        await rig.motion("kitchen_pir")
        await flap(rig, "fridge_door", 20 * MIN)
        [alert] = rig.open_alerts("sensor_fault")
        assert alert.key == "fridge_door" and alert.stage == "alarm" and rig.hardware.pattern == "fault"
        assert len([e for e in rig.store.events() if e.sensor == "fridge_door"]) < 10  # 12000 edges: no flood
        await rig.run_for(5 * MIN)  # the line settles
        assert rig.open_alerts("sensor_fault") == []

    run(rig, body)
    texts = [(to, purpose) for to, _, purpose, _ in rig.sent()]
    assert texts == [(OFFICE, "system"), (OFFICE, "resolved")]


def test_a_contact_flapping_in_bursts_for_an_hour_is_not_an_sms_storm(tmp_path):
    rig = Rig(tmp_path)

    async def body(rig):
        await rig.motion("kitchen_pir")
        for _ in range(200):  # 10 s of flapping, 8 s quiet, for an hour
            await flap(rig, "fridge_door", 10.0)
            await rig.run_for(8.0, step=1.0)
        assert rig.hardware.pattern == "fault"
        await rig.run_for(15 * MIN)
        assert {a["key"] for a in rig.all_alerts("sensor_fault")} == {"fridge_door"}

    run(rig, body)
    purposes = collections.Counter(purpose for _, _, purpose, _ in rig.sent())
    assert purposes["system"] == 1 and sum(purposes.values()) <= 2


@pytest.mark.parametrize("mode", ["fixed", "learned"])
def test_a_pir_stuck_high_does_not_hide_a_collapse(tmp_path, mode):
    rig = Rig(tmp_path, detector={"mode": mode, "max_inactivity_hours": LIMIT_H})

    async def body(rig):
        await rig.motion("kitchen_pir")
        await rig.run_for(10 * MIN)
        rig.set("hall_pir", True)  # stuck high from now on; the resident collapses at the same moment
        await rig.run_for(LIMIT_H * HOUR - 5 * MIN)
        assert rig.open_alerts() == []
        await rig.run_for(10 * MIN)
        [alert] = rig.open_alerts()
        assert alert.type == "inactivity" and alert.stage == "alarm"
        assert rig.hardware.pattern == "alarm"
        await rig.run_for(6 * HOUR)
        hall = [e.value for e in rig.store.events() if e.sensor == "hall_pir"]
        assert hall == [1.0]  # one motion start, never an end, never more activity

    run(rig, body)
    assert [(to, purpose) for to, _, purpose, _ in rig.sent()] == [(OFFICE, "alarm"), ("+81300000002", "alarm")]


@pytest.mark.parametrize("mode", ["fixed", "learned"])
def test_a_bed_mat_held_on_is_reported_after_held_max_hours(tmp_path, mode):
    rig = Rig(tmp_path, detector={"mode": mode, "max_inactivity_hours": LIMIT_H})

    async def body(rig):
        await rig.motion("kitchen_pir")
        rig.set("bed", True)  # lies down and never gets up (or the mat is stuck ON)
        await rig.run_for(HELD_MAX_H * HOUR - 10 * MIN, step=10 * MIN)
        assert rig.open_alerts() == []  # a long night is not an alarm
        await rig.run_for(20 * MIN)
        [alert] = rig.open_alerts()
        assert (alert.type, alert.key, alert.stage) == ("stayed_in_place", "bed", "alarm")

    run(rig, body)
    assert "bed occupied for 14h" in rig.sent()[0][1]


def test_the_hold_survives_a_restart_and_old_snapshots_count_it_from_the_last_activity():
    from hubd.detector.base import FixedTimerDetector
    from hubd.events import Event, Kind

    det = FixedTimerDetector(2 * HOUR, held_limit_seconds=HELD_MAX_H * HOUR)
    det.observe(Event(100.0, 100.0, "bed", Kind.PRESENCE, 1.0))
    state = det.state()
    again = FixedTimerDetector(2 * HOUR, held_limit_seconds=HELD_MAX_H * HOUR)
    again.load(state, rebase=lambda m: m + 50.0)  # a new boot: monotonic time moved
    assert again.next_check(200.0) == 150.0 + HELD_MAX_H * HOUR
    assert [f.type for f in again.check(150.0 + HELD_MAX_H * HOUR, 0.0)] == ["stayed_in_place"]
    del state["held_since"]  # a snapshot written before hold times were kept
    old = FixedTimerDetector(2 * HOUR, held_limit_seconds=HELD_MAX_H * HOUR)
    old.load(state, rebase=lambda m: m)
    assert old.state()["held_since"] == {"bed": 100.0}


def test_a_late_daemon_hands_edges_over_at_their_own_times_and_in_order(tmp_path):
    """A Pi that stalls (or a fast simulated clock) wakes after several edges: the door's debounced
    opening, settled only now, is still the first event, at the moment the door opened."""
    rig = Rig(tmp_path)

    heard = []
    rig.daemon.listeners.append(heard.append)

    async def body(rig):
        t0 = rig.clock.monotonic()
        rig.clock.advance(1.0)
        rig.set("front_door", True)  # debounced: known only when the daemon next looks
        rig.clock.advance(2.0)
        rig.set("hall_pir", True)  # a PIR's rise is handed over at once
        rig.clock.advance(7.0)
        await rig.settle()
        seen = [(e.sensor, e.mono - t0, e.value) for e in heard if e.mono > t0]
        assert seen == [("front_door", 1.0, 1.0), ("hall_pir", 3.0, 1.0)]

    run(rig, body)
