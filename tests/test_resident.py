"""The scripted resident (hubsim.resident) and its hardware player (hubsim.gpio_driver).

Runs are seeded, so every structural check below is a fixed fact of one seed's life;
the checks are written as "most days / most nights" so that a model change that
breaks realism, not a reseed, makes them fail.
"""

from __future__ import annotations

import io
import math
import statistics
import time
from collections import Counter

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from hubd.clock import FakeClock
from hubd.config import SensorConfig
from hubd.events import Kind, read_events, write_events
from hubsim import resident as R
from hubsim.gpio_driver import DEFAULT_ACTIVE_HIGH, ApplianceLoadFeed, GpioScript, SensorDrivenPin
from hubsim.quirks_devices import PRESETS
from hubsim.resident import (
    DAY,
    DEFAULT_FLAT,
    HOUR,
    MINUTE,
    PROFILES,
    FlatSensor,
    Resident,
    to_local,
)

from fakes import ev

START = to_local("2024-03-04T00:00")  # a Monday
N_DAYS = 28
AUTONOMOUS = {s.id for s in DEFAULT_FLAT if s.role == "autonomous"}
PIRS = {s.id for s in DEFAULT_FLAT if s.kind is Kind.MOTION}
HOLD = R.EARLY_RISER.pir_hold_s
STANDBY = Resident(0).baseline_watts()


# --------------------------------------------------------------------------- helpers


def run(seed=7, n_days=N_DAYS, scenarios=(), **kw):
    resident = Resident(seed, **kw)
    return resident, resident.days(START, n_days, scenarios)


@pytest.fixture(scope="module")
def base():
    return run()


def person(events):
    return [e for e in events if e.sensor not in AUTONOMOUS]


def between(events, a, b):
    return [e for e in events if a < e.local < b]


def state_at(events, sensor, t, default=0.0):
    """The sensor's value after every event at or before ``t``."""
    value = default
    for e in events:
        if e.local > t:
            break
        if e.sensor == sensor:
            value = e.value
    return value


def on_seconds(events, sensor, a, b):
    total, since = 0.0, a if state_at(events, sensor, a) > 0 else None
    for e in events:
        if e.sensor != sensor or not a < e.local < b:
            continue
        if e.value > 0 and since is None:
            since = e.local
        elif e.value == 0 and since is not None:
            total, since = total + e.local - since, None
    return total + (b - since if since is not None else 0.0)


def full_nights(resident):
    return [m for m in resident.marked("sleep") if START < m.start and m.end < START + resident_span(resident)]


def resident_span(resident):
    return resident.events[-1].local - START + 1


def first(events, pred, after=START):
    return next(e for e in events if e.local > after and pred(e))


# --------------------------------------------------------------------------- determinism and format


def test_same_seed_same_life_other_seed_other_life():
    _, a = run(seed=11, n_days=4)
    _, b = run(seed=11, n_days=4)
    _, c = run(seed=12, n_days=4)
    assert a == b
    assert a != c


def test_calling_days_twice_gives_the_same_events():
    resident = Resident(5)
    assert resident.days(START, 3) == resident.days(START, 3)


def test_events_are_time_ordered_whole_seconds_inside_the_span(base):
    _, events = base
    times = [e.local for e in events]
    assert times == sorted(times)
    assert all(e.mono == e.local and e.local == int(e.local) for e in events)
    assert START <= times[0] and times[-1] < START + N_DAYS * DAY
    assert {e.sensor for e in events} == {s.id for s in DEFAULT_FLAT}


def test_binary_sensors_alternate_on_and_off(base):
    _, events = base
    last: dict[str, float] = {}
    for e in events:
        if e.kind is Kind.APPLIANCE:
            continue
        assert e.value in (0.0, 1.0)
        assert last.get(e.sensor) != e.value, f"{e.sensor} repeats {e.value} at {e.local}"
        last[e.sensor] = e.value


def test_csv_round_trip_is_exact(base, tmp_path):
    resident, events = base
    buf = io.StringIO()
    write_events(events, buf)
    buf.seek(0)
    assert read_events(buf) == events
    path = tmp_path / "life.csv"
    assert resident.to_csv(path) == len(events)
    with open(path, encoding="utf-8") as fh:
        assert read_events(fh) == events


def test_to_csv_before_any_day_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="days"):
        Resident(1).to_csv(tmp_path / "x.csv")


def test_thirty_days_take_under_two_seconds():
    t0 = time.perf_counter()
    _, events = run(seed=3, n_days=30)
    assert time.perf_counter() - t0 < 2.0
    assert len(events) > 30 * 200


# --------------------------------------------------------------------------- realistic structure


def test_bed_is_held_six_to_ten_hours_on_most_nights(base):
    resident, events = base
    nights = full_nights(resident)
    assert len(nights) >= N_DAYS - 2
    hours = [on_seconds(events, "bed", m.start, m.end) / HOUR for m in nights]
    assert sum(6 <= h <= 10 for h in hours) >= 0.85 * len(hours)


def test_night_toilet_visits_leave_the_bed_and_cross_hall_and_bathroom(base):
    resident, events = base
    ups = resident.marked("night_up")
    assert len(ups) >= N_DAYS // 2
    for m in ups:
        assert state_at(events, "bed", (m.start + m.end) / 2) == 0.0
        seen = {e.sensor for e in between(events, m.start - 15, m.end + 30) if e.value > 0}
        assert {"hall_pir", "bathroom_pir", "toilet_door"} <= seen


def test_wake_up_jitters_from_day_to_day(base):
    resident, _ = base
    wakes = [(m.end % DAY) / HOUR for m in full_nights(resident)]
    assert 0.1 < statistics.stdev(wakes) < 1.5
    assert 4.5 < statistics.mean(wakes) < 7.5  # an early riser


def test_weekends_start_later_for_a_late_sleeper():
    resident, _ = run(seed=2, profile="late_sleeper")
    wakes = {m.end // DAY: (m.end % DAY) / HOUR for m in full_nights(resident)}
    weekend = [h for d, h in wakes.items() if (d + 3) % 7 >= 5]
    weekday = [h for d, h in wakes.items() if (d + 3) % 7 < 5]
    assert statistics.mean(weekend) > statistics.mean(weekday) + 0.4


def test_breakfast_boils_the_kettle_and_opens_the_fridge(base):
    resident, events = base
    days_with_breakfast = 0
    for m in full_nights(resident):
        morning = between(events, m.end, m.end + 2 * HOUR)
        boils = [e for e in morning if e.sensor == "kettle" and e.value > 100]
        if boils and any(e.sensor == "fridge_door" and e.value == 1 for e in morning):
            days_with_breakfast += 1
            off = first(events, lambda e: e.sensor == "kettle" and e.value <= STANDBY["kettle"], boils[0].local)
            assert 2000 <= boils[0].value <= 3000
            assert 2 * MINUTE <= off.local - boils[0].local <= 4.5 * MINUTE
    assert days_with_breakfast >= 0.8 * len(full_nights(resident))


def test_meals_use_the_microwave_twice_a_day(base):
    _, events = base
    starts = [e for e in events if e.sensor == "microwave" and e.value > 100]
    assert 1.6 * N_DAYS <= len(starts) <= 2.6 * N_DAYS
    assert all(900 <= e.value <= 1400 for e in starts)


def test_tv_evenings_on_the_sofa(base):
    resident, events = base
    evenings = 0
    for m in full_nights(resident):
        a = m.start - 3 * HOUR
        if on_seconds(events, "tv", a, m.start) > HOUR and on_seconds(events, "sofa", a, m.start) > 0.5 * HOUR:
            evenings += 1
    assert evenings >= 0.6 * len(full_nights(resident))


def test_at_least_one_outing_on_most_days_through_the_front_door(base):
    resident, events = base
    away = resident.marked("away")
    assert sum(1 for d in range(N_DAYS) if any(START + d * DAY <= m.start < START + (d + 1) * DAY for m in away)) >= 0.65 * N_DAYS
    for m in away:
        assert any(e.sensor == "front_door" and e.value == 1 for e in between(events, m.start - 15, m.start + 1))
        if m.end < START + N_DAYS * DAY - 1:
            assert any(e.sensor == "front_door" and e.value == 1 for e in between(events, m.end - 1, m.end + 15))


def test_nothing_happens_inside_while_out(base):
    resident, events = base
    for m in resident.marked("away"):
        inside = [e for e in between(events, m.start, m.end) if e.sensor not in AUTONOMOUS]
        # only the door closing behind them and the hall PIR falling after its hold
        assert all(e.value == 0 and e.local <= m.start + HOLD + 1 for e in inside), inside


def test_visitors_come_sometimes_through_the_front_door(base):
    resident, events = base
    visits = resident.marked("visit")
    assert 1 <= len(visits) <= N_DAYS // 2
    for m in visits:
        assert any(e.sensor == "front_door" for e in between(events, m.start - 1, m.start + 20))
        assert any(e.sensor == "front_door" for e in between(events, m.end - 30, m.end + 1))


def test_fridge_compressor_cycles_every_30_to_60_minutes_day_and_night(base):
    _, events = base
    starts = [e.local for e in events if e.sensor == "fridge" and e.value > 10]
    gaps = [(b - a) / MINUTE for a, b in zip(starts, starts[1:])]
    assert 30 <= statistics.median(gaps) <= 60
    assert all(20 <= g <= 65 for g in gaps)
    assert len(starts) >= N_DAYS * 24 * 60 / 65


def test_pir_fires_only_while_awake_and_at_home(base):
    resident, events = base
    sleeps, ups, away = resident.marked("sleep"), resident.marked("night_up"), resident.marked("away")
    margin = 30
    for e in events:
        if e.sensor not in PIRS or e.value != 1:
            continue
        assert not any(m.start < e.local < m.end for m in away), e
        in_sleep = any(m.start + margin < e.local < m.end - margin for m in sleeps)
        assert not in_sleep or any(m.start - margin <= e.local <= m.end + margin for m in ups), e


def test_pirs_retrigger_while_someone_moves_in_a_room(base):
    resident, events = base
    rises = [e.local for e in events if e.sensor == "kitchen_pir" and e.value == 1]
    gaps = [b - a for a, b in zip(rises, rises[1:])]
    assert sum(g < 2 * MINUTE for g in gaps) > 0.5 * len(gaps)  # bursts, not one pulse per visit
    lows = []
    last_fall = None
    for e in events:
        if e.sensor == "kitchen_pir":
            if e.value == 0:
                last_fall = e.local
            elif last_fall is not None:
                lows.append(e.local - last_fall)
    assert min(lows) >= 2  # the PIR's blind time after its output falls


# --------------------------------------------------------------------------- scenarios


def _night_time(resident, night_index, hour_after_start=3.0):
    m = full_nights(resident)[night_index]
    return float(int(m.start + hour_after_start * HOUR))


def _tv_evening_time(events, after):
    """20 minutes into the first TV session that runs that long with the sofa taken."""
    for on in (e for e in events if e.local > after and e.sensor == "tv" and e.value > 50):
        t = on.local + 20 * MINUTE
        if state_at(events, "tv", t) > 50 and state_at(events, "sofa", t) == 1:
            return t
    raise AssertionError("no TV evening")


def assert_only_releases(events, base_events, at, on_floor=False):
    """After ``at``: no action by the person, only consequences of earlier ones."""
    later = [e for e in events if e.local > at and e.sensor not in AUTONOMOUS]
    for e in later:
        if e.kind is Kind.MOTION:
            assert e.value == 0 and e.local <= at + HOLD + 1, e
        elif e.kind is Kind.PRESENCE:
            assert on_floor and e.value == 0 and e.local == at, e
        elif e.kind is Kind.APPLIANCE:
            assert state_at(base_events, e.sensor, at) > STANDBY[e.sensor], f"{e.sensor} was off at the collapse"
        else:
            pytest.fail(f"a {e.kind.label} moved after the collapse: {e}")
    for sensor in STANDBY:
        mine = [e for e in later if e.sensor == sensor]
        if mine:
            assert mine[-1].value == STANDBY[sensor], f"{sensor} left running"


def test_collapse_during_a_tv_evening_leaves_only_releases(base):
    _, base_events = base
    at = _tv_evening_time(base_events, START + 2 * DAY)
    resident, events = run(scenarios=[R.collapse(at)])
    assert_only_releases(events, base_events, at)
    assert state_at(events, "sofa", START + N_DAYS * DAY) == 1  # stays on the seat
    tv_off = [e for e in events if e.sensor == "tv" and e.local > at]
    assert tv_off and tv_off[-1].local == pytest.approx(at + 3 * HOUR, abs=2)  # the TV's own auto-off
    assert [m.detail for m in resident.marked("collapse")] == ["home"]
    assert all(m.start < at for m in resident.markers if m.kind not in ("collapse",))


def test_collapse_changes_nothing_before_it(base):
    _, base_events = base
    at = START + 5 * DAY + 11.5 * HOUR
    _, events = run(scenarios=[R.collapse(at)])
    assert [e for e in events if e.local <= at] == [e for e in base_events if e.local <= at]


def test_collapse_in_bed_keeps_the_mat_on(base):
    resident0, base_events = base
    at = _night_time(resident0, 4)
    assert state_at(base_events, "bed", at) == 1
    resident, events = run(scenarios=[R.collapse(at)])
    assert_only_releases(events, base_events, at)
    assert not [e for e in events if e.sensor == "bed" and e.local > at]
    assert state_at(events, "bed", START + N_DAYS * DAY) == 1
    assert resident.marked("collapse")[0].detail == "in_bed"


def test_collapse_on_the_floor_releases_the_mat_at_that_moment(base):
    resident0, base_events = base
    at = _night_time(resident0, 4)
    resident, events = run(scenarios=[R.collapse(at, on_floor=True)])
    assert_only_releases(events, base_events, at, on_floor=True)
    assert [(e.local, e.value) for e in events if e.sensor == "bed" and e.local >= at] == [(at, 0.0)]
    assert resident.marked("collapse")[0].detail == "floor"


def test_collapse_while_out_means_never_coming_back(base):
    resident0, base_events = base
    trip = next(m for m in resident0.marked("away") if m.start > START + 3 * DAY)
    at = trip.start + (trip.end - trip.start) / 2
    resident, events = run(scenarios=[R.collapse(at)])
    assert not [e for e in person(events) if e.local > at]
    assert resident.marked("collapse")[0].detail == "out"


def test_stays_in_bed_holds_the_mat_and_nothing_else_moves(base):
    a = START + 6 * DAY + 10 * HOUR
    b = a + 18 * HOUR
    resident, events = run(scenarios=[R.stays_in_bed(a, 18)])
    assert state_at(events, "bed", a + MINUTE) == 1
    assert not [e for e in person(between(events, a + MINUTE, b))], "only the mat may be held"
    assert len(person(between(events, b, b + 6 * HOUR))) > 20  # life resumes
    assert [(m.start, m.end) for m in resident.marked("in_bed")] == [(a, b)]


def test_holiday_leaves_only_autonomous_appliances(base):
    resident0, _ = base
    a = START + 5 * DAY + 9 * HOUR
    b = a + 3 * DAY
    assert not any(m.covers(a) for m in resident0.marked("away"))
    resident, events = run(scenarios=[R.holiday(a, 3)])
    inside = between(events, a + MINUTE, b)
    assert inside and {e.sensor for e in inside} <= AUTONOMOUS
    assert any(e.sensor == "front_door" for e in between(events, a - 15, a + 1))
    assert [(m.start, m.end) for m in resident.marked("holiday")] == [(a, b)]
    away = next(m for m in resident.marked("away") if m.start == a)
    assert away.end >= b  # back at its end, or later if they would have been out then anyway
    assert {e.sensor for e in between(events, a + MINUTE, away.end)} <= AUTONOMOUS
    assert any(e.sensor == "front_door" for e in between(events, away.end - 1, away.end + 15))
    assert len(person(between(events, away.end, away.end + DAY))) > 50
    assert not any(a < m.start < b for m in resident.marked("sleep"))


def test_pir_dies_silences_that_sensor_while_the_others_go_on():
    at = START + 2 * DAY + 12 * HOUR
    resident, events = run(n_days=6, scenarios=[R.pir_dies("kitchen_pir", at)])
    after = [e for e in events if e.local > at]
    assert not [e for e in after if e.sensor == "kitchen_pir"]
    assert sum(e.sensor == "hall_pir" for e in after) > 50 and sum(e.sensor == "bathroom_pir" for e in after) > 50
    assert len([e for e in events if e.sensor == "kitchen_pir" and e.local < at]) > 100
    assert [(m.start, m.detail) for m in resident.marked("sensor_dead")] == [(at, "kitchen_pir")]


def test_a_pir_that_dies_while_high_falls_at_that_moment(base):
    _, base_events = base
    rise = first(base_events, lambda e: e.sensor == "kitchen_pir" and e.value == 1, START + DAY)
    at = rise.local + 1
    assert state_at(base_events, "kitchen_pir", at) == 1
    _, events = run(scenarios=[R.pir_dies("kitchen_pir", at)])
    assert [(e.local, e.value) for e in events if e.sensor == "kitchen_pir" and e.local >= at] == [(at, 0.0)]


def test_unknown_sensor_cannot_die():
    with pytest.raises(ValueError, match="no sensor"):
        Resident(1).days(START, 1, [R.pir_dies("attic_pir", START)])


def test_modem_outage_is_a_marker_only(base):
    _, base_events = base
    at = START + 3 * DAY
    resident, events = run(scenarios=[R.modem_loses_network(at, 6)])
    assert events == base_events
    assert [(m.start, m.end) for m in resident.marked("network_lost")] == [(at, at + 6 * HOUR)]


def _mid_sleep_hours(night):
    """Mid-sleep in hours after the midnight before the wake-up (negative: before it)."""
    return ((night.start + night.end) / 2 - (night.end // DAY) * DAY) / HOUR


def test_day_night_reversal_moves_mid_sleep_by_hours():
    resident, _ = run(n_days=21, scenarios=[R.day_night_reversal(over_days=14)])
    nights = full_nights(resident)
    early = statistics.mean(_mid_sleep_hours(m) for m in nights[:3])
    late = statistics.mean(_mid_sleep_hours(m) for m in nights[-4:])
    assert late - early >= 4.0
    durations = [(m.end - m.start) / HOUR for m in nights]
    assert all(4 <= d <= 12 for d in durations)  # the night moves, it does not vanish


def test_day_night_reversal_thins_out_the_outings(base):
    resident0, _ = base
    resident, _ = run(scenarios=[R.day_night_reversal(over_days=14)])
    last_week = START + 21 * DAY
    assert len([m for m in resident.marked("away") if m.start > last_week]) < len(
        [m for m in resident0.marked("away") if m.start > last_week])


def test_less_active_lowers_activity_over_weeks(base):
    _, events = run(scenarios=[R.less_active(START, 0.4, over_days=21)])

    def week(evs, i):
        return len([e for e in person(evs) if START + i * 7 * DAY <= e.local < START + (i + 1) * 7 * DAY])

    _, base_events = base
    assert week(events, 0) > 0.85 * week(base_events, 0)
    assert week(events, 3) < 0.75 * week(events, 0)
    assert week(events, 3) < 0.75 * week(base_events, 3)


def test_scenarios_compose():
    at_dead = START + DAY
    a = START + 3 * DAY + 9 * HOUR
    b = a + 2 * DAY
    resident, events = run(n_days=8, scenarios=[R.pir_dies("hall_pir", at_dead), R.holiday(a, 2),
                                                 R.modem_loses_network(a, 2), R.collapse(START + 6 * DAY + 12 * HOUR)])
    assert not [e for e in events if e.sensor == "hall_pir" and e.local > at_dead]
    assert {e.sensor for e in between(events, a + MINUTE, b)} <= AUTONOMOUS
    assert not [e for e in person(events) if e.local > START + 6 * DAY + 12 * HOUR + HOLD + 1 and e.kind is not Kind.APPLIANCE]
    assert {m.kind for m in resident.markers} >= {"sensor_dead", "holiday", "network_lost", "collapse", "sleep"}


@pytest.mark.parametrize("bad", [
    lambda: R.less_active(START, 0.0),
    lambda: R.less_active(START, 1.5),
    lambda: R.holiday(START, 0),
    lambda: R.stays_in_bed(START, -1),
    lambda: R.day_night_reversal(0),
    lambda: R.collapse("2024-03-04T10:00+09:00"),
    lambda: Resident(1, profile="night_owl"),
    lambda: Resident(1).days(START, 0),
    lambda: Resident(1, sensors=DEFAULT_FLAT + DEFAULT_FLAT[:1]),
])
def test_bad_parameters_are_refused(bad):
    with pytest.raises(ValueError):
        bad()


def test_times_may_be_given_as_text_or_datetime():
    from datetime import datetime

    assert R.collapse("2024-03-05T10:00").at == R.collapse(datetime(2024, 3, 5, 10)).at == START + DAY + 10 * HOUR


# --------------------------------------------------------------------------- profiles and flats


def test_profiles_differ_as_named():
    wakes = {}
    for name in ("early_riser", "late_sleeper", "irregular"):
        resident, events = run(seed=4, n_days=21, profile=name)
        nights = full_nights(resident)
        wakes[name] = [(m.end % DAY) / HOUR for m in nights]
        if name == "irregular":
            naps = [e for e in events if e.sensor == "bed" and e.value == 1
                    and not any(m.start - 1 <= e.local <= m.end for m in resident.marked("sleep"))]
            assert len(naps) >= 7, "fragmented sleep: naps in bed during the day"
    assert statistics.mean(wakes["late_sleeper"]) > statistics.mean(wakes["early_riser"]) + 2
    assert statistics.mean(wakes["irregular"]) > statistics.mean(wakes["late_sleeper"]) + 2
    assert statistics.stdev(wakes["irregular"]) > 2 * statistics.stdev(wakes["early_riser"])


def test_busy_home_makes_at_least_8000_events_every_day():
    _, events = run(seed=9, n_days=7, profile="busy")
    per_day = Counter(int((e.local - START) // DAY) for e in events)
    assert len(per_day) == 7 and min(per_day.values()) >= 8000


def test_default_flat_suggests_free_distinct_pins_for_gpio_sensors():
    pins = R.suggested_pins()
    assert set(pins) == {s.id for s in DEFAULT_FLAT if s.kind is not Kind.APPLIANCE}
    assert len(set(pins.values())) == len(pins)
    assert not set(pins.values()) & {2, 3, 14, 15}  # I2C and UART


def test_a_flat_from_config_gets_places_from_ids_and_unknown_places_stay_silent():
    configs = [SensorConfig(id="living_pir", kind="motion", pin=17), SensorConfig(id="bed_mat", kind="presence", pin=6),
               SensorConfig(id="door", kind="entrance", pin=5), SensorConfig(id="garage_pir", kind="motion", pin=22),
               SensorConfig(id="fridge", kind="appliance", role="autonomous", chip="ina219")]
    flat = R.flat_from_config(configs)
    assert [s.place for s in flat] == ["living", "bed", "entrance", "", "fridge"]
    _, events = run(n_days=3, sensors=flat)
    seen = Counter(e.sensor for e in events)
    assert seen["living_pir"] > 20 and seen["bed_mat"] >= 4 and seen["door"] >= 2 and seen["fridge"] > 100
    assert seen["garage_pir"] == 0


def test_markers_cover_their_span():
    m = R.Marker("away", 10.0, 20.0)
    assert m.covers(10) and not m.covers(20) and R.Marker("collapse", 5.0).covers(1e12)


# --------------------------------------------------------------------------- GPIO and loads


@pytest.fixture
def factory():
    saved = Device.pin_factory
    mock = MockFactory()
    Device.pin_factory = mock
    yield mock
    mock.reset()
    Device.pin_factory = saved


SCRIPT = [
    ev(10, "hall_pir", Kind.MOTION, 1), ev(12, "bed", Kind.PRESENCE, 1), ev(20, "front_door", Kind.ENTRANCE, 1),
    ev(25, "front_door", Kind.ENTRANCE, 0), ev(30, "hall_pir", Kind.MOTION, 0), ev(31, "kettle", Kind.APPLIANCE, 2400),
    ev(40, "bed", Kind.PRESENCE, 0),
]
PINS = {"hall_pir": 17, "bed": 6, "front_door": 5}


def levels(factory):
    return {sid: factory.pin(pin).state for sid, pin in PINS.items()}


def test_pins_start_idle_and_follow_the_script(factory):
    script = GpioScript(factory, PINS, SCRIPT)
    # idle: no motion = low, empty mat (switch open, pull-up) = high, shut door (closed to GND) = low
    assert levels(factory) == {"hall_pir": False, "bed": True, "front_door": False}
    assert script.advance_to(11) == SCRIPT[:1]
    assert levels(factory)["hall_pir"] is True
    script.advance_to(22)
    assert levels(factory) == {"hall_pir": True, "bed": False, "front_door": True}
    assert script.value("bed") and script.value("front_door")
    script.advance_to(35)
    assert levels(factory) == {"hall_pir": False, "bed": False, "front_door": False}
    assert script.next_due() == 40
    script.advance_to(100)
    assert levels(factory)["bed"] is True and script.next_due() is None


def test_polarity_is_a_parameter_per_sensor(factory):
    script = GpioScript(factory, PINS, SCRIPT, active_high={"front_door": False, "bed": True})
    assert levels(factory) == {"hall_pir": False, "bed": False, "front_door": True}
    script.advance_to(22)
    assert levels(factory) == {"hall_pir": True, "bed": True, "front_door": False}


def test_default_polarity_matches_how_hubd_reads_contacts():
    gpio = pytest.importorskip("hubd.sensors.gpio")
    for kind in (Kind.DOOR, Kind.ENTRANCE, Kind.PRESENCE):
        assert DEFAULT_ACTIVE_HIGH[kind] == gpio.contact_active_high(kind, True)


def test_before_each_sees_every_edge_at_its_time_and_time_cannot_go_back(factory):
    script = GpioScript(factory, PINS, SCRIPT)
    seen = []
    script.advance_to(26, before_each=seen.append)
    assert seen == [10, 12, 20, 25]
    with pytest.raises(ValueError, match="back"):
        script.advance_to(5)


def test_script_refuses_unknown_kinds_and_disordered_events(factory):
    with pytest.raises(ValueError, match="kind"):
        GpioScript(factory, {"mystery": 4}, [])
    with pytest.raises(ValueError, match="order"):
        GpioScript(factory, PINS, list(reversed(SCRIPT)))
    assert GpioScript(factory, {"mystery": 4}, [], kinds={"mystery": Kind.DOOR}).pin_level("mystery", True)


def test_a_device_opened_on_a_scripted_pin_reads_the_script_not_its_pull(factory):
    from gpiozero import DigitalInputDevice

    script = GpioScript(factory, PINS, SCRIPT)
    script.advance_to(13)
    mat = DigitalInputDevice(6, pull_up=True)  # the mat is occupied: the line stays low
    assert mat.is_active and factory.pin(6).state is False
    assert isinstance(factory.pin(6), SensorDrivenPin)
    mat.close()


def test_resync_restores_levels_on_pins_a_device_opened_first(factory):
    from gpiozero import DigitalInputDevice

    mat = DigitalInputDevice(6, pull_up=True)  # a plain MockPin, now pulled high
    script = GpioScript(factory, {"bed": 6}, SCRIPT)
    script.advance_to(13)
    assert factory.pin(6).state is False
    mat.pin.pull = "up"  # reconfiguring a plain MockPin jumps it to the pull ...
    assert factory.pin(6).state is True
    script.resync()  # ... and the script puts the sensor's level back
    assert factory.pin(6).state is False
    mat.close()


def test_hubd_gpio_board_reads_back_a_scripted_day(factory):
    gpio = pytest.importorskip("hubd.sensors.gpio")
    resident, events = run(seed=21, n_days=1)
    flat = {s.id: s for s in DEFAULT_FLAT}
    pins = R.suggested_pins()
    clock = FakeClock(mono=START, local=START)
    script = GpioScript(factory, pins, events)
    got = []
    specs = [gpio.SensorSpec(sid, flat[sid].kind, pin, warmup_s=0.0) for sid, pin in pins.items()]
    board = gpio.GpioBoard(specs, clock=clock, sink=lambda sid, kind, value, mono: got.append((mono, sid, value)))

    def move_clock(t):
        clock.advance(t - clock.monotonic())
        board.settle(t)

    try:
        script.advance_to(START + DAY - 1, before_each=move_clock)
        move_clock(START + DAY)
    finally:
        board.close()
    for sid in ("bed", "sofa", "front_door", "fridge_door", "toilet_door"):
        assert [(t, v) for t, s, v in got if s == sid] == [(e.local, e.value) for e in events if e.sensor == sid]
    scripted_rises = {(e.local, e.sensor) for e in events if e.sensor in PIRS and e.value == 1}
    hub_starts = {(t, s) for t, s, v in got if s in PIRS and v == 1}
    assert hub_starts <= scripted_rises and len(hub_starts) >= 0.7 * len(scripted_rises)


def test_load_feed_gives_watts_as_a_step_function_of_time():
    feed = ApplianceLoadFeed(SCRIPT + [ev(200, "kettle", Kind.APPLIANCE, 0)], baseline={"kettle": 0.0, "tv": 0.3})
    assert feed.watts_at("kettle", 30) == 0.0
    assert feed.watts_at("kettle", 31) == feed.watts_at("kettle", 199.9) == 2400.0
    assert feed.watts_at("kettle", 200) == 0.0
    assert feed.watts_at("tv", 1e9) == 0.3
    assert feed.sensors == ("kettle", "tv")
    with pytest.raises(KeyError, match="oven"):
        feed.watts_at("oven", 0)
    load = feed.load("kettle", origin=30)
    assert load.name == "kettle" and load.watts(0) == 0.0 and load.watts(1) == 2400.0


def test_load_feed_follows_the_residents_appliances(base):
    resident, events = base
    feed = ApplianceLoadFeed(events, resident.baseline_watts())
    boil = first(events, lambda e: e.sensor == "kettle" and e.value > 100)
    assert feed.watts_at("kettle", boil.local - 1) == STANDBY["kettle"]
    assert feed.watts_at("kettle", boil.local + 30) == boil.value
    cycling = [feed.watts_at("fridge", START + m * MINUTE) > 10 for m in range(24 * 60)]
    assert 0.15 < sum(cycling) / len(cycling) < 0.6  # the compressor's duty cycle


# --------------------------------------------------------------------------- sensor quirks (quirks_devices)


QUIRK_DAYS = 8
QSTART = START + 2 * DAY  # quirks begin after two ordinary days


@pytest.fixture(scope="module")
def qbase():
    return run(n_days=QUIRK_DAYS)


def _rows(events, sensor):
    return [(e.local, e.value) for e in events if e.sensor == sensor]


QUIRKS = {  # name -> (the reason its marker gives, the quirk)
    "stuck": ("stuck", lambda: R.mat_stuck("bed", QSTART + 10 * HOUR, 14)),
    "pulses": ("pulses", lambda: R.mat_pulses("sofa", QSTART, 48)),
    "inverted": ("inverted", lambda: R.reed_inverted("front_door", QSTART + 12 * HOUR)),
    "inverted mat": ("inverted", lambda: R.mat_inverted("bed", QSTART + 12 * HOUR)),
    "chatter": ("chatter", lambda: R.pir_chatters("kitchen_pir", QSTART + 8 * HOUR, 6)),
    "missed": ("missed", lambda: R.door_missed("front_door", QSTART)),
    "stray": ("stray", lambda: R.stray_pulses("sofa", QSTART)),
}


@pytest.mark.parametrize("name", sorted(QUIRKS))
def test_a_quirk_changes_only_its_sensor_inside_its_span_and_is_seeded(qbase, name):
    reason, make = QUIRKS[name]
    quirk = make()
    resident0, base_events = qbase
    resident, events = run(n_days=QUIRK_DAYS, scenarios=[quirk])
    [marker] = resident.marked("sensor_quirk")
    assert marker.detail == f"{reason}:{quirk.sensor}"
    a, b = marker.start, (math.inf if marker.end is None else marker.end)
    assert [e for e in events if e.sensor != quirk.sensor] == [e for e in base_events if e.sensor != quirk.sensor]
    mine, theirs = _rows(events, quirk.sensor), _rows(base_events, quirk.sensor)
    assert [r for r in mine if not a <= r[0] <= b] == [r for r in theirs if not a <= r[0] <= b]
    assert mine != theirs, "the quirk must show"
    assert [m for m in resident.markers if m.kind != "sensor_quirk"] == resident0.markers  # life itself is unchanged
    assert Resident(7).days(START, QUIRK_DAYS, [quirk]) == events
    last = None
    for t, v in mine:  # still a well-formed binary sensor
        assert v in (0.0, 1.0) and v != last and t == int(t)
        last = v


def test_a_stuck_mat_is_on_throughout_its_span_and_then_tells_the_truth(qbase):
    _, base_events = qbase
    a, b = QSTART + 10 * HOUR, QSTART + 24 * HOUR
    _, events = run(n_days=QUIRK_DAYS, scenarios=[R.mat_stuck("bed", a, 14)])
    assert all(state_at(events, "bed", t) == 1 for t in range(int(a), int(b), 300))
    assert not [e for e in events if e.sensor == "bed" and a < e.local < b]
    assert state_at(base_events, "bed", a + HOUR) == 0  # really up at that time (an early riser at 11:00)
    assert state_at(events, "bed", b) == state_at(base_events, "bed", b)


def test_a_pulse_only_seat_mat_pulses_on_sitting_down_and_now_and_then_but_not_while_still(qbase):
    _, base_events = qbase
    a, b = QSTART, QSTART + 2 * DAY
    _, events = run(n_days=QUIRK_DAYS, scenarios=[R.mat_pulses("sofa", a, 48)])
    base_rows = _rows(between(base_events, a, b), "sofa")
    rows = _rows(between(events, a, b), "sofa")
    rises = [t for t, v in rows if v == 1]
    assert all(fall - rise == 1 for (rise, _), (fall, _) in zip(rows[::2], rows[1::2]))  # ~1 s pulses
    sit_downs = [t for t, v in base_rows if v == 1]
    assert set(sit_downs) <= set(rises)
    assert all(state_at(base_events, "sofa", t) == 1 for t in rises)  # only while someone is seated
    assert len(sit_downs) < len(rises) < 0.5 * on_seconds(base_events, "sofa", a, b) / MINUTE
    holds = [(s, f) for (s, v), (f, _) in zip(base_rows, base_rows[1:]) if v == 1 and f - s > 90 * MINUTE]
    assert holds, "no long sit in the span"
    for s, f in holds:  # sitting still: long gaps with nothing at all
        inside = [t for t in rises if s <= t < f]
        gaps = [y - x for x, y in zip(inside + [f], inside[1:] + [f])]
        assert max(gaps) > 10 * MINUTE


def test_a_sit_across_the_edges_of_a_pulse_only_span_is_held_outside_it(qbase):
    _, base_events = qbase
    rows = _rows(between(base_events, QSTART + DAY, START + QUIRK_DAYS * DAY), "sofa")
    s, f = next((s, f) for (s, v), (f, _) in zip(rows, rows[1:]) if v == 1 and f - s > HOUR)
    a, b = s + 20 * MINUTE, f - 20 * MINUTE  # the quirk begins and ends while they sit
    resident, events = run(n_days=QUIRK_DAYS, scenarios=[R.mat_pulses("sofa", a, (b - a) / HOUR)])
    mine = _rows(events, "sofa")
    assert (a, 0.0) in mine and (b, 1.0) in mine and (f, 0.0) in mine
    assert all(a <= t < b and (t - 1, 1.0) in mine for t, v in mine if s < t < f and v == 0 and t != a and t != f)
    assert [r for r in mine if not a <= r[0] <= b] == [r for r in _rows(base_events, "sofa") if not a <= r[0] <= b]


def test_an_inverted_reed_reads_shut_as_open_from_then_on(qbase):
    _, base_events = qbase
    at = QSTART + 12 * HOUR
    _, events = run(n_days=QUIRK_DAYS, scenarios=[R.reed_inverted("front_door", at)])
    assert state_at(base_events, "front_door", at) == 0 and _rows(between(events, at - 1, at + 1), "front_door") == [(at, 1.0)]
    later = [e for e in events if e.sensor == "front_door" and e.local > at]
    assert len(later) >= 6
    assert [(e.local, 1 - e.value) for e in later] == _rows(between(base_events, at, START + QUIRK_DAYS * DAY), "front_door")
    assert state_at(events, "front_door", START + QUIRK_DAYS * DAY) == 1  # shut, reads open


def test_an_inverted_mat_reads_empty_as_occupied_from_then_on(qbase):
    _, base_events = qbase
    at = QSTART + 12 * HOUR
    _, events = run(n_days=QUIRK_DAYS, scenarios=[R.mat_inverted("bed", at)])
    later = [e for e in events if e.sensor == "bed" and e.local > at]
    assert len(later) >= 8  # got up and lay down on each of the days after
    assert [(e.local, 1 - e.value) for e in later] == _rows(between(base_events, at, START + QUIRK_DAYS * DAY), "bed")
    assert state_at(base_events, "bed", at) == 0 and state_at(events, "bed", at + 1) == 1  # up at noon: reads ON


def test_a_chattering_pir_adds_bursts_of_rapid_toggles_on_top_of_what_it_sees(qbase):
    _, base_events = qbase
    a, b = QSTART + 8 * HOUR, QSTART + 14 * HOUR
    _, events = run(n_days=QUIRK_DAYS, scenarios=[R.pir_chatters("kitchen_pir", a, 6)])
    rises = [e.local for e in between(events, a, b) if e.sensor == "kitchen_pir" and e.value == 1]
    base_rises = [e.local for e in between(base_events, a, b) if e.sensor == "kitchen_pir" and e.value == 1]
    assert len(rises) > len(base_rises) + 100
    bursts = sum(1 for x, y in zip(rises, rises[10:]) if y - x <= 60)  # ten toggles within a minute
    assert bursts >= 20
    # what it really saw is still reported: on whenever the real PIR was on
    for e in between(base_events, a, b):
        if e.sensor == "kitchen_pir" and e.value == 1:
            assert state_at(events, "kitchen_pir", e.local) == 1


def test_a_missed_door_event_leaves_the_return_unrecorded_but_the_person_home(qbase):
    resident0, base_events = qbase
    back = next(m.end for m in resident0.marked("away") if m.end >= QSTART)
    resident, events = run(n_days=QUIRK_DAYS, scenarios=[R.door_missed("front_door", QSTART)])
    assert _rows(between(base_events, back - 2, back + 60), "front_door")  # there was a door
    assert not _rows(between(events, back - 2, back + 60), "front_door")
    assert _rows(between(events, back, back + 60), "hall_pir")  # shoes off in the hall, as ever
    assert resident.marked("away") == resident0.marked("away")


@pytest.mark.parametrize("sensor, length", [("sofa", 1), ("hall_pir", HOLD)])
def test_stray_pulses_come_while_nobody_is_home(qbase, sensor, length):
    resident0, _ = qbase
    trip = next(m for m in resident0.marked("away") if m.start >= QSTART and m.end - m.start >= 15 * MINUTE)
    resident, events = run(n_days=QUIRK_DAYS, scenarios=[R.stray_pulses(sensor, QSTART)])
    inside = _rows(between(events, trip.start + HOLD + 1, trip.end), sensor)
    assert [v for _, v in inside] == [1.0, 0.0, 1.0, 0.0]
    assert inside[1][0] - inside[0][0] == length and inside[3][0] - inside[2][0] == length
    assert [(m.start, m.end) for m in resident.marked("sensor_quirk")] == [(trip.start, trip.end)]


def test_a_collapsed_person_does_not_shift_on_a_pulse_only_mat(base):
    _, base_events = base
    at = _tv_evening_time(base_events, START + 2 * DAY)
    _, events = run(scenarios=[R.mat_pulses("sofa"), R.collapse(at)])
    assert not [e for e in events if e.sensor == "sofa" and e.local > at + 1]


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_each_named_quirk_preset_places_its_quirk_in_an_ordinary_run(name):
    quirk = PRESETS[name][1](START, START + 6 * DAY + 6 * HOUR)
    resident, _ = run(n_days=7, scenarios=[quirk])
    [marker] = resident.marked("sensor_quirk")
    assert marker.detail.endswith(f":{quirk.sensor}") and START <= marker.start < START + 7 * DAY


@pytest.mark.parametrize("bad, match", [
    (lambda: R.mat_stuck("attic_mat", START, 2), "no sensor"),
    (lambda: R.mat_pulses("kitchen_pir"), "presence"),
    (lambda: R.reed_inverted("bed", START), "entrance"),
    (lambda: R.mat_inverted("front_door", START), "presence"),
    (lambda: R.door_missed("fridge_door", START), "entrance"),
    (lambda: R.stray_pulses("kettle", START), "presence"),
    (lambda: R.door_missed("front_door", START + 30 * DAY), "never comes home"),
    (lambda: R.stray_pulses("sofa", START + 30 * DAY), "no absence"),
    (lambda: R.mat_stuck("bed", START, 0), "hours"),
    (lambda: R.stray_pulses("sofa", START, n=0), "n must"),
])
def test_bad_quirks_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        Resident(1).days(START, 3, [bad()])


# --------------------------------------------------------------------------- the screen-bound resident


SB_DAYS = 28


@pytest.fixture(scope="module")
def screen_bound():
    return run(seed=7, n_days=SB_DAYS, profile="screen_bound")


def pc_sessions(events):
    """(on, off, levels) of each PC session: above 10 W until back to standby."""
    out, on, levels = [], None, []
    for e in events:
        if e.sensor != "pc":
            continue
        if e.value > 10:
            on = e.local if on is None else on
            levels.append(e.value)
        elif on is not None:
            out.append((on, e.local, levels))
            on, levels = None, []
    return out


def test_only_a_screen_bound_residents_flat_has_the_pc(screen_bound):
    resident, events = screen_bound
    assert R.PC in resident.sensors and R.PC not in Resident(1).sensors
    assert resident.sensors == R.flat_for("screen_bound") == DEFAULT_FLAT + (R.PC,)
    assert resident.baseline_watts()["pc"] == 2.0
    assert {e.sensor for e in events} >= {"pc", "hall_pir", "bed", "front_door"}


def test_the_screen_bound_resident_sleeps_through_the_day(screen_bound):
    resident, events = screen_bound
    sleeps = resident.marked("sleep")
    probes = [START + d * DAY + h * HOUR for d in range(1, SB_DAYS) for h in (10, 12, 14)]
    asleep = [t for t in probes if any(m.covers(t) for m in sleeps)]
    assert len(asleep) >= 0.85 * len(probes)
    assert all(state_at(events, "bed", t) == 1 for t in asleep if not any(m.covers(t) for m in resident.marked("night_up")))
    nights = full_nights(resident)
    assert 6.5 <= statistics.mean((m.start % DAY) / HOUR for m in nights) <= 10  # to bed in the morning
    assert 14.5 <= statistics.mean((m.end % DAY) / HOUR for m in nights) <= 18  # up in the afternoon
    awake_at_3am = [START + d * DAY + 3 * HOUR for d in range(1, SB_DAYS)]
    assert not [t for t in awake_at_3am if any(m.covers(t) for m in sleeps)]


def test_the_screen_bound_resident_spends_hours_at_a_pc_whose_draw_varies(screen_bound):
    _, events = screen_bound
    sessions = pc_sessions(events)
    hours = [(off - on) / HOUR for on, off, _ in sessions]
    assert sum(hours) / SB_DAYS >= 8  # hours a day at the screen
    assert statistics.median(hours) >= 1 and max(hours) >= 4
    for on, off, levels in sessions:
        assert all(60 <= w <= 140 for w in levels)
        if off - on > HOUR:
            assert len(set(levels)) >= 6  # a new level every few minutes while in use
    changes = [e.local for e in events if e.sensor == "pc" and e.value > 10]
    steps = [(y - x) / MINUTE for x, y in zip(changes, changes[1:]) if y - x < 10 * MINUTE]
    assert 2 <= statistics.median(steps) <= 7
    assert {e.value for e in events if e.sensor == "pc" and e.value <= 10} == {2.0}  # standby between sessions


def test_few_pir_events_while_at_the_screen(screen_bound, base):
    _, events = screen_bound
    sessions = pc_sessions(events)
    rises = [e.local for e in events if e.kind is Kind.MOTION and e.value == 1]
    at_pc = sum(1 for t in rises if any(on <= t < off for on, off, _ in sessions))
    per_hour = at_pc / (sum(off - on for on, off, _ in sessions) / HOUR)
    early, early_events = base
    awake_s = N_DAYS * DAY - sum(m.end - m.start for m in early.marked("sleep") + early.marked("away"))
    early_rate = sum(1 for e in early_events if e.kind is Kind.MOTION and e.value == 1
                     and not any(m.covers(e.local) for m in early.marked("sleep"))) / (awake_s / HOUR)
    assert per_hour < 6 and per_hour < 0.5 * early_rate


def test_the_screen_bound_resident_goes_out_rarely_briefly_and_mostly_at_night():
    away = []
    for seed in (1, 7, 21):
        resident, _ = run(seed=seed, n_days=SB_DAYS, profile="screen_bound")
        away += resident.marked("away")
    assert 3 * SB_DAYS / len(away) >= 3  # days between outings, on average
    assert statistics.median((m.end - m.start) / MINUTE for m in away) <= 40
    late = [m for m in away if not 5 <= (m.start % DAY) / HOUR < 22]
    assert len(late) >= 0.35 * len(away)


def test_the_screen_bound_residents_meals_are_irregular(screen_bound, base):
    resident, events = screen_bound
    cooked = Counter(int((e.local - START) // DAY) for e in events if e.sensor == "microwave" and e.value > 100)
    assert sum(1 for d in range(SB_DAYS) if cooked[d] < 2) >= SB_DAYS // 4
    early, early_events = base
    since_wake = [((e.local - m.end) / HOUR) for m in full_nights(resident) for e in between(events, m.end, m.end + 16 * HOUR)
                  if e.sensor == "microwave" and e.value > 100]
    early_since_wake = [((e.local - m.end) / HOUR) for m in full_nights(early) for e in between(early_events, m.end, m.end + 16 * HOUR)
                        if e.sensor == "microwave" and e.value > 100]
    assert statistics.stdev(since_wake) > statistics.stdev(early_since_wake)


def test_a_pc_left_on_by_a_collapsed_resident_settles_to_one_steady_draw(screen_bound):
    _, base_events = screen_bound
    on, off, _ = next(s for s in pc_sessions(base_events) if s[0] > START + 3 * DAY and s[1] - s[0] > 2 * HOUR)
    at = on + HOUR
    _, events = run(seed=7, n_days=SB_DAYS, profile="screen_bound", scenarios=[R.collapse(at)])
    after = [e for e in events if e.sensor == "pc" and e.local > at]
    assert len(after) == 1 and after[0].value == pytest.approx(0.8 * 60) and after[0].local <= at + 15 * MINUTE
    assert state_at(events, "pc", START + SB_DAYS * DAY) > 10  # nobody switches it off


def test_a_pc_in_a_configured_flat_is_recognised():
    flat = R.flat_from_config([SensorConfig(id="desk_pc", kind="appliance", chip="ina219")])
    assert [s.place for s in flat] == ["pc"]
