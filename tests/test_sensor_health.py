"""Sensor health: silent and chattering sensors, on explicit times (no clock at all)."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hubd.detector.base import Detector

from hubd.findings import SYSTEM
from hubd.events import Event, Kind
from hubd.core.health import DAY, HOUR, HealthSettings, SensorHealth

from fakes import ev

ROLES = {
    "hall_pir": "daily_route",
    "kitchen_door": "normal",
    "front_door": "normal",
    "spare_room": "rare",
    "fridge_power": "autonomous",
}


def resident_days(days, start=0.0, seed=1, pir=True, fridge=False):
    """Up 07:00-23:00: the hall PIR every ~20 min, the kitchen and front doors now and then."""
    rng = random.Random(seed)
    events = []
    for day in range(days):
        base = start + day * DAY
        for minute in range(7 * 60, 23 * 60, 20):
            t = base + minute * 60 + rng.uniform(0, 300)
            if pir:
                events.append(ev(t, "hall_pir", Kind.MOTION, 1))
            if minute % 120 == 0:
                events.append(ev(t + 60, "kitchen_door", Kind.DOOR, 1))
                events.append(ev(t + 90, "kitchen_door", Kind.DOOR, 0))
            if minute % 300 == 0:
                events.append(ev(t + 120, "front_door", Kind.ENTRANCE, 1))
        if fridge:
            events += [ev(base + h * HOUR + 7, "fridge_power", Kind.APPLIANCE, 80) for h in range(24)]
    return sorted(events, key=lambda e: e.mono)


def run(health, events, until, step=600.0, start=None):
    """Feed events in order with a check after each one and every ``step`` from ``start``
    (default: the first event); return {mono: findings} for every check that found something."""
    found = {}
    start = events[0].mono if start is None else start
    times = sorted({e.mono for e in events} | set(frange(start, until, step)))
    by_time = {}
    for e in events:
        by_time.setdefault(e.mono, []).append(e)
    for t in times:
        for e in by_time.get(t, ()):
            health.observe(e)
        result = health.check(t, t)
        if result:
            found[t] = result
    return found


def frange(start, stop, step):
    t = start
    while t <= stop:
        yield t
        t += step


def silent(findings, sensor_id):
    return [f for f in findings if f.type == "sensor_silent" and f.key == sensor_id]


def first_alert(found, sensor_id, kind="sensor_silent"):
    for t in sorted(found):
        if any(f.type == kind and f.key == sensor_id for f in found[t]):
            return t
    return None


def learned(days=10, **kw):
    health = SensorHealth(ROLES, **kw)
    events = resident_days(days)
    run(health, events, events[-1].mono)
    return health, events


def row(health, mono, sensor_id):
    return next(r for r in health.status(mono)["sensors"] if r["id"] == sensor_id)


# --------------------------------------------------------------------------- silence


def test_a_dead_pir_on_the_daily_route_is_named_while_the_doors_keep_moving():
    health, history = learned()
    last_pir = max(e.mono for e in history if e.sensor == "hall_pir")
    limit = row(health, last_pir, "hall_pir")["silence_limit_seconds"]
    assert 8 * HOUR < limit < 16 * HOUR  # learned from the nights, well under the 36 h cap

    later = resident_days(2, start=10 * DAY, seed=2, pir=False)  # the PIR has died
    found = run(health, later, 12 * DAY, step=60)
    alerted = first_alert(found, "hall_pir")
    assert alerted is not None and last_pir + limit < alerted <= last_pir + limit + 60
    (finding,) = silent(found[alerted], "hall_pir")
    assert (finding.category, finding.since_mono, finding.limit) == (SYSTEM, last_pir, limit)
    assert finding.detail["learned"] is True
    assert all(f.key == "hall_pir" for fs in found.values() for f in fs)  # nobody else blamed
    assert row(health, alerted, "hall_pir")["state"] == "silent"


def test_the_finding_stays_overnight_and_clears_when_the_sensor_reports():
    health, history = learned()
    night = 11 * DAY + 3 * HOUR  # everyone asleep: no life now, but the fault is still there
    found = run(health, resident_days(1, start=10 * DAY, seed=2, pir=False), night)
    assert first_alert(found, "hall_pir") < 11 * DAY
    assert silent(health.check(night), "hall_pir")
    health.observe(ev(night + 100, "hall_pir", Kind.MOTION, 1))
    assert health.check(night + 101) == []
    assert row(health, night + 101, "hall_pir")["state"] == "ok"


def test_no_sensor_is_blamed_when_the_whole_flat_is_silent():
    health, history = learned()
    quiet_from = history[-1].mono
    found = run(health, [], quiet_from + 4 * DAY, step=HOUR, start=quiet_from)
    assert found == {}  # silence everywhere is the inactivity detector's job


def test_life_from_an_autonomous_sensor_does_not_count():
    health = SensorHealth(ROLES)
    events = resident_days(10, fridge=True)
    run(health, events, events[-1].mono)
    fridge_only = [ev(10 * DAY + h * HOUR + 7, "fridge_power", Kind.APPLIANCE, 80) for h in range(72)]
    found = run(health, fridge_only, 13 * DAY, step=HOUR)
    assert [f.key for fs in found.values() for f in fs] == []


def test_a_normal_sensor_is_not_judged_while_learning():
    health = SensorHealth(ROLES)
    events = [e for e in resident_days(5) if e.sensor != "front_door"]
    events.insert(0, ev(10.0, "front_door", Kind.ENTRANCE, 1))
    found = run(health, events, 5 * DAY)
    assert found == {}
    assert row(health, 5 * DAY, "front_door")["state"] == "learning"
    assert row(health, 5 * DAY, "hall_pir")["state"] == "learning"


def test_a_daily_route_pir_dead_from_installation_is_caught_at_the_cap():
    health = SensorHealth(ROLES)
    events = resident_days(3, start=0.0, pir=False)
    found = run(health, events, 3 * DAY, step=60)
    alerted = first_alert(found, "hall_pir")
    origin = events[0].mono
    assert alerted is not None and origin + 36 * HOUR < alerted <= origin + 36 * HOUR + 60
    (finding,) = silent(found[alerted], "hall_pir")
    assert finding.detail["never_seen"] is True and finding.limit == 36 * HOUR


def test_the_daily_cap_is_configurable():
    health = SensorHealth(ROLES, HealthSettings(daily_cap_s=12 * HOUR))
    events = resident_days(2, pir=False)
    alerted = first_alert(run(health, events, 2 * DAY, step=60), "hall_pir")
    assert alerted is not None and alerted <= events[0].mono + 12 * HOUR + 60


def test_the_floor_keeps_a_busy_sensor_from_being_called_silent_too_soon():
    s = HealthSettings(floor_s=20 * HOUR, daily_cap_s=36 * HOUR)
    health = SensorHealth(ROLES, s)
    history = resident_days(10)
    run(health, history, history[-1].mono)
    assert row(health, history[-1].mono, "hall_pir")["silence_limit_seconds"] == 20 * HOUR


def test_rare_sensors_are_not_watched_unless_given_a_cap():
    events = resident_days(10) + [ev(3600.0, "spare_room", Kind.DOOR, 1)]
    events.sort(key=lambda e: e.mono)
    health = SensorHealth(ROLES)
    assert first_alert(run(health, events, 10 * DAY), "spare_room") is None
    assert row(health, 10 * DAY, "spare_room")["state"] == "unwatched"

    capped = SensorHealth(ROLES, HealthSettings(rare_cap_s=2.5 * DAY, min_events=1))
    life = resident_days(16)
    spare = [ev(3600.0 + k * 2 * DAY, "spare_room", Kind.DOOR, 1) for k in range(5)]  # every 2nd day, then dead
    found = run(capped, sorted(life + spare, key=lambda e: e.mono), 16 * DAY, step=60)
    alerted = first_alert(found, "spare_room")
    last_spare = spare[-1].mono
    assert alerted is not None and last_spare + 2.5 * DAY < alerted <= last_spare + 2.5 * DAY + 60


def test_an_unconfigured_ok_button_is_never_called_silent():
    health = SensorHealth(ROLES, HealthSettings(min_events=1))
    presses = [ev(3600.0 + k * DAY, "ok_button", Kind.BUTTON, 1) for k in range(3)]  # then not for weeks
    life = resident_days(20)
    found = run(health, sorted(life + presses, key=lambda e: e.mono), 20 * DAY, step=HOUR)
    assert first_alert(found, "ok_button") is None
    assert row(health, 20 * DAY, "ok_button")["role"] == "rare"
    health.observe(ev(20 * DAY + 1, "stranger_pir", Kind.MOTION, 1))
    assert row(health, 20 * DAY + 1, "stranger_pir")["role"] == "normal"


def test_unknown_roles_are_refused():
    with pytest.raises(ValueError, match="kitchen"):
        SensorHealth({"kitchen": "sometimes"})


def test_settings_are_checked():
    with pytest.raises(ValueError):
        HealthSettings(floor_s=40 * HOUR)
    with pytest.raises(ValueError):
        HealthSettings(quantile=0)


# --------------------------------------------------------------------------- faults


def test_a_sensor_far_above_its_usual_rate_is_a_suspected_fault_until_it_calms():
    health, history = learned()
    t0 = 10 * DAY + 8 * HOUR
    flood = [ev(t0 + k * 2.0, "kitchen_door", Kind.DOOR, k % 2) for k in range(1200)]  # every 2 s for 40 min
    found = run(health, flood, t0 + 2400, step=60)
    started = first_alert(found, "kitchen_door", "sensor_fault")
    chatter_min = health.settings.chatter_min_s  # above the limit this long: not a busy spell of use
    assert started is not None and t0 + chatter_min <= started < t0 + chatter_min + 200
    (fault,) = [f for f in found[started] if f.type == "sensor_fault"]
    assert fault.since_mono < t0 + 200  # from when it began
    assert fault.category == SYSTEM and fault.detail["reasons"] == ["chatter"]  # the one word for it (DESIGN.md)
    assert row(health, started, "kitchen_door")["state"] == "fault"
    end = flood[-1].mono
    assert [f for f in health.check(end + 60) if f.type == "sensor_fault"]
    assert health.next_check(end + 60) is not None
    assert health.check(end + 600) == []  # the window emptied: it calmed down


def test_a_busy_spell_shorter_than_chatter_min_is_use_not_a_fault():
    """A PIR without a hold time pulses every few seconds while someone cooks: minutes far above
    its usual rate, then calm. (van Kasteren B's PIRs did this up to ~50 min; each was a fault.)"""
    health, history = learned()
    t0 = 10 * DAY + 8 * HOUR
    busy = [ev(t0 + k * 2.0, "kitchen_door", Kind.DOOR, k % 2) for k in range(600)]  # every 2 s for 20 min
    found = run(health, busy, t0 + 2 * HOUR, step=60)
    assert first_alert(found, "kitchen_door", "sensor_fault") is None


def test_chatter_does_not_become_the_norm():
    health, history = learned()
    for day in range(10, 16):  # a failing contact floods every morning for six days
        t0 = day * DAY + 8 * HOUR
        for k in range(1200):
            health.observe(ev(t0 + k * 2.0, "kitchen_door", Kind.DOOR, k % 2))
        health.check(t0 + 2400)
        health.observe(ev(t0 + 3 * HOUR, "hall_pir", Kind.MOTION, 1))
    fault = [f for f in health.check(15 * DAY + 8 * HOUR + 2400) if f.type == "sensor_fault"]
    assert fault and fault[0].detail["rate_limit"] == 60  # still judged against a person's pace


def test_a_device_reported_fault_is_held_a_while_after_it_clears():
    health, _ = learned()
    t = 10 * DAY + 9 * HOUR
    health.report_fault("front_door", "chatter", t)
    (fault,) = health.check(t + 1)
    assert (fault.type, fault.key, fault.since_mono) == ("sensor_fault", "front_door", t)
    assert fault.detail["reasons"] == ["chatter"]
    health.report_fault("front_door", None, t + 30)
    assert health.check(t + 30 + 599)
    assert health.next_check(t + 31) == t + 30 + 600
    assert health.check(t + 30 + 600) == []


def test_a_chattering_sensor_is_no_sign_of_life():
    health, history = learned()
    t = history[-1].mono + 4 * HOUR  # the flat is asleep
    health.report_fault("kitchen_door", "chatter", t)
    for k in range(50):
        health.observe(ev(t + 60 + k, "kitchen_door", Kind.DOOR, k % 2))
    found = run(health, [], t + DAY, step=HOUR, start=t + 110)
    assert not any(f.type == "sensor_silent" for fs in found.values() for f in fs)


# --------------------------------------------------------------------------- persistence


def saved(health):
    return json.loads(json.dumps(health.state()))  # what the store keeps must be JSON


def test_learned_history_survives_a_restart_with_a_rebase_and_downtime_is_not_silence():
    health, history = learned()
    last_pir = max(e.mono for e in history if e.sensor == "hall_pir")
    limit = row(health, last_pir, "hall_pir")["silence_limit_seconds"]
    saved_at = last_pir + 4 * HOUR
    health.check(saved_at)
    state = saved(health)

    shift = -9 * DAY  # the new boot's monotonic clock starts near zero
    down = 5 * HOUR
    restored = SensorHealth(ROLES)
    restored.load(state, lambda m: m + shift)
    resume = saved_at + shift + down
    assert row(restored, resume, "hall_pir")["silence_limit_seconds"] == limit
    assert row(restored, resume, "hall_pir")["silent_seconds"] == pytest.approx(4 * HOUR)

    morning = resident_days(2, start=resume, seed=3, pir=False)
    found = run(restored, morning, resume + 2 * DAY, step=60)
    alerted = first_alert(found, "hall_pir")
    assert alerted is not None
    assert alerted - (last_pir + shift) == pytest.approx(limit + down, abs=61)
    (finding,) = silent(found[alerted], "hall_pir")
    assert finding.since_mono == last_pir + shift
    assert finding.detail["silent_seconds"] == pytest.approx(alerted - finding.since_mono)


def test_a_latched_silence_survives_a_restart():
    health, history = learned()
    found = run(health, resident_days(1, start=10 * DAY, pir=False), 11 * DAY)
    assert first_alert(found, "hall_pir") is not None
    restored = SensorHealth(ROLES)
    restored.load(saved(health), lambda m: m + 100.0)
    assert silent(restored.check(11 * DAY + 200), "hall_pir")


def test_a_sensor_added_to_the_config_at_a_restart_is_watched_from_the_restart():
    health, history = learned()
    health.check(history[-1].mono)
    restored = SensorHealth({**ROLES, "bath_pir": "daily_route"})
    restored.load(saved(health), lambda m: m)
    resume = history[-1].mono + HOUR
    later = resident_days(3, start=11 * DAY, seed=4)
    found = run(restored, [ev(resume, "front_door", Kind.ENTRANCE, 1)] + later, 14 * DAY, step=600)
    alerted = first_alert(found, "bath_pir")
    assert alerted is not None and alerted >= resume + 36 * HOUR


def test_load_of_nothing_leaves_a_fresh_watch():
    health = SensorHealth(ROLES)
    health.load({}, lambda m: m)
    assert health.check(5.0) == []
    assert {r["id"] for r in health.status(5.0)["sensors"]} == set(ROLES)


def test_it_is_an_engine_watcher():
    health = SensorHealth(ROLES)
    assert isinstance(health, Detector)
    assert health.status(0.0, 0.0)["watcher"] == "sensor_health"


# --------------------------------------------------------------------------- fuzzing

SENSORS = ["hall_pir", "kitchen_door", "front_door", "spare_room", "fridge_power", "stranger"]
KINDS = list(Kind)
step = st.one_of(
    st.tuples(st.just("event"), st.sampled_from(SENSORS), st.sampled_from(KINDS), st.floats(0, 3 * DAY)),
    st.tuples(st.just("check"), st.just(""), st.just(Kind.MOTION), st.floats(0, 3 * DAY)),
    st.tuples(st.just("fault"), st.sampled_from(SENSORS), st.sampled_from(["chatter", None]), st.floats(0, 60)),
    st.tuples(st.just("restart"), st.just(""), st.just(Kind.MOTION), st.floats(0, DAY)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(step, max_size=120), fast=st.booleans())
def test_random_streams_never_crash_and_keep_their_promises(steps, fast):
    s = HealthSettings(min_days=0.01, min_events=2, floor_s=60.0, life_window_s=3600.0) if fast else HealthSettings()
    health = SensorHealth(ROLES, s)
    mono = 1000.0
    for action, sensor, kind, amount in steps:
        if action == "restart":  # a new boot: its clock starts 5000 s lower, after `amount` s down
            state = saved(health)
            health = SensorHealth(ROLES, s)
            health.load(state, lambda m: m - 5000.0)
            mono += amount - 5000.0
            continue
        mono += amount
        if action == "event":
            health.observe(ev(mono, sensor, kind, 1.0))
        elif action == "fault":
            health.report_fault(sensor, kind, mono)
        for finding in health.check(mono):
            event(finding.type)
            assert finding.category == SYSTEM and finding.key in health.sensors
            if finding.type == "sensor_silent":
                assert finding.limit >= s.floor_s
                assert finding.since_mono <= mono - finding.limit
        nxt = health.next_check(mono)
        assert nxt is None or nxt > mono
        status = health.status(mono)
        assert {r["state"] for r in status["sensors"]} <= {"ok", "silent", "fault", "learning", "unwatched"}


def test_a_whole_flat_absence_is_no_sensors_silence():
    """Real life (van Kasteren house A): two days away, then home — no door is 'silent'."""
    from hubd.events import Event, Kind
    from hubd.core.health import SensorHealth
    health = SensorHealth({"hall_pir": "daily_route", "kitchen_door": "normal"})
    t = 0.0
    for day in range(10):  # ten ordinary days: both sensors every couple of hours while awake
        for hour in range(7, 23, 2):
            t = day * 86400.0 + hour * 3600.0
            health.observe(Event(t, t, "hall_pir", Kind.MOTION, 1))
            health.observe(Event(t + 60, t + 60, "kitchen_door", Kind.DOOR, 1))
    away_from = t + 60
    back = away_from + 2 * 86400.0  # two days away: nothing at all
    assert health.check(back - 1) == []
    health.observe(Event(back, back, "hall_pir", Kind.MOTION, 1))
    assert health.check(back + 60) == []
    # but the kitchen door staying silent for days of life afterwards is news
    t = back
    for step in range(40):
        t += 2 * 3600.0
        health.observe(Event(t, t, "hall_pir", Kind.MOTION, 1))
    assert [f.key for f in health.check(t)] == ["kitchen_door"]


def test_unconfigured_sensors_are_watched_only_if_they_are_motion_sensors():
    from hubd.events import Event, Kind
    from hubd.core.health import SensorHealth
    health = SensorHealth({})
    health.observe(Event(0.0, 0.0, "cupboard", Kind.DOOR, 1))
    health.observe(Event(1.0, 1.0, "pir", Kind.MOTION, 1))
    roles = {row["id"]: row["role"] for row in health.status(2.0)["sensors"]}
    assert roles == {"cupboard": "rare", "pir": "normal"}


def test_a_power_meter_reporting_every_few_seconds_is_not_chatter():
    from hubd.events import Event, Kind
    from hubd.core.health import SensorHealth
    health = SensorHealth({"fridge": "autonomous"})
    for i in range(2000):  # a raw-watts log: one row every 5 s
        t = i * 5.0
        health.observe(Event(t, t, "fridge", Kind.APPLIANCE, 100.0 if (i // 120) % 2 else 1.0))
    assert [f for f in health.check(10000.0) if f.type == "sensor_fault"] == []


@given(st.lists(st.floats(min_value=1e-3, max_value=1e6), min_size=1, max_size=40),
       st.floats(min_value=0.0, max_value=1.0))
@settings(max_examples=200, deadline=None)
def test_quantile_kernel_is_the_order_statistic(values, q):
    """health_kernels._quantile (an insertion sort) picks what sorting picks, ties included."""
    import math

    import numpy as np

    from hubd.core import health_kernels as hk

    vals = np.array(values + [7.0] * 3)  # a tail beyond n the kernel must not read
    n = len(values)
    expected = sorted(values)[max(0, math.ceil(q * n) - 1)]
    assert hk._quantile(vals, n, q) == expected
    assert list(vals[:n]) == values  # it sorts a copy
