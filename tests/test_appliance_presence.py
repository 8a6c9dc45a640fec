"""Appliances as presence: a screen in use keeps the flat "occupied"; a device left on does not.

Scenarios are small scripted flats (PIRs on a daily routine, power sensors reporting every
minute or two): a resident at a PC with no PIR in sight, the same PC left on after a
collapse, a fridge cycling around the clock, a TV left running past its usual session.
Each is also replayed per event and in bulk (same episodes), and through the slow
reference of ``tests/test_kernels.py`` (same state).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from hubd.detector import kernels
from hubd.detector.model import SENS_FIELDS, STATE_VERSION, LearnedDetector, feed
from hubd.detector.params import DetectorParams
from hubd.events import Event, EventBatch, Kind
from test_kernels import assert_same, run_kernel, run_reference

T0 = 1_704_067_200.0  # a local midnight
H, MIN, DAY = 3600.0, 60.0, 86400.0
P = DetectorParams()
TEST_DAY = 10  # days 0..9 are learned, day 10 is the scenario
_SE = {n: i for i, n in enumerate(SENS_FIELDS)}


# ------------------------------------------------------------------ scripted flats
def at(day: int, hour: float) -> float:
    return T0 + day * DAY + hour * H


def pir(a: float, b: float, rng, gap: float = 8 * MIN) -> list[Event]:
    """Someone moving about in [a, b): a PIR onset every few minutes."""
    n = rng.poisson((b - a) / gap) if b > a else 0
    return [Event(t, t, "pir_living", Kind.MOTION, 1.0) for t in np.sort(rng.uniform(a, b, n))]


def routine(day: int, rng, busy: tuple[float, float] = (7.0, 23.0), skip=()) -> list[Event]:
    """A day awake from 07 to 23 (asleep otherwise), minus the ``skip`` windows (hours)."""
    events = pir(at(day, busy[0]), at(day, busy[1]), rng)
    return [e for e in events if not any(at(day, a) <= e.mono < at(day, b) for a, b in skip)]


def power(sensor: str, a: float, b: float, every: float, watts) -> list[Event]:
    """Readings of a power sensor every ``every`` seconds in [a, b); ``watts(t)`` gives each."""
    return [Event(t, t, sensor, Kind.APPLIANCE, float(watts(t))) for t in np.arange(a, b, every)]


def in_use(rng, level: float, spread: float):
    """A person using a screen: the draw jumps about with what they do."""
    return lambda t: level + spread * rng.random()


def steady(rng, level: float):
    """Left on by itself: the draw barely moves."""
    return lambda t: level + rng.normal(0.0, 0.4)


def standby(watts: float):
    return lambda t: watts


def pc_day(day: int, rng, a: float = 13.0, b: float = 19.0) -> list[Event]:
    """The PC off (2 W, a reading every 10 min) but in use from a to b (a reading every 2 min)."""
    return (power("pc", at(day, 0), at(day, a), 10 * MIN, standby(2.0))
            + power("pc", at(day, a), at(day, b), 2 * MIN, in_use(rng, 60.0, 40.0))
            + power("pc", at(day, b), at(day + 1, 0), 10 * MIN, standby(2.0)))


def fridge(a: float, b: float) -> list[Event]:
    """A compressor: every 45 min, 15 min on (a 250 W start, then 90 W), 1 W otherwise."""
    out, t = [], a
    while t < b:
        out += [Event(t, t, "fridge", Kind.APPLIANCE, 250.0)]
        out += power("fridge", t + MIN, t + 15 * MIN, MIN, lambda x: 90.0 + (x % 7) * 0.2)
        out += power("fridge", t + 15 * MIN, t + 45 * MIN, 5 * MIN, standby(1.0))
        t += 45 * MIN
    return [e for e in out if e.mono < b]


def tv_day(day: int, rng, a: float = 19.0, b: float = 21.0) -> list[Event]:
    """The TV on from a to b, its draw following the picture."""
    return (power("tv", at(day, 0), at(day, a), 10 * MIN, standby(1.0))
            + power("tv", at(day, a), at(day, b), MIN, in_use(rng, 70.0, 30.0))
            + power("tv", at(day, b), at(day + 1, 0), 10 * MIN, standby(1.0)))


def ordered(events: list[Event]) -> list[Event]:
    return sorted(events, key=lambda e: (e.mono, e.sensor))


def history(rng, extra) -> list[Event]:
    """Days 0..TEST_DAY-1: the routine, plus ``extra(day)`` (appliance readings)."""
    out: list[Event] = []
    for day in range(TEST_DAY):
        out += routine(day, rng) + extra(day)
    return out


def inactivity(episodes) -> list:
    return [e for e in episodes if e.finding.type == "inactivity"]


def replayed(events: list[Event], until: float) -> list:
    return LearnedDetector(P).replay(EventBatch.from_events(ordered(events)), until_mono=until).episodes


def first_alarm_after(events: list[Event], t: float, until: float) -> float:
    starts = [e.start_mono for e in inactivity(replayed(events, until)) if e.start_mono >= t]
    return min(starts) if starts else math.inf


# ----------------------------------------------------------------------- scenarios
def pc_resident(day10_pc) -> list[Event]:
    """A resident who sits at the PC every afternoon; on day 10, 13-19 h, no PIR sees them."""
    rng = np.random.default_rng(1)
    events = history(rng, lambda d: pc_day(d, rng))
    events += routine(TEST_DAY, rng, skip=[(13.0, 19.0)]) + day10_pc(rng)
    return events


def pc_in_use(rng):
    return pc_day(TEST_DAY, rng)


def pc_left_steady(rng):
    return (power("pc", at(TEST_DAY, 0), at(TEST_DAY, 13), 10 * MIN, standby(2.0))
            + power("pc", at(TEST_DAY, 13), at(TEST_DAY, 19), 2 * MIN, steady(rng, 62.0))
            + power("pc", at(TEST_DAY, 19), at(TEST_DAY + 1, 0), 10 * MIN, standby(2.0)))


def test_a_resident_at_a_pc_for_6_hours_with_no_pir_raises_no_inactivity():
    until = at(TEST_DAY + 1, 0)
    window = (at(TEST_DAY, 13), at(TEST_DAY, 19))
    episodes = inactivity(replayed(pc_resident(pc_in_use), until))
    assert not [e for e in episodes if e.start_mono < window[1] and (e.end_mono or until) > window[0]]
    # not vacuous: the same afternoon with the PC drawing a steady 62 W (nobody using it) alarms
    steady_eps = inactivity(replayed(pc_resident(pc_left_steady), until))
    assert [e for e in steady_eps if window[0] < e.start_mono < window[1]]


def test_a_long_pc_day_keeps_counting_while_the_resident_shows_up_now_and_then():
    """Past its session limit a screen still counts if something else showed the resident
    meanwhile: the limit runs from the later of switch-on and the last other sign of life."""
    rng = np.random.default_rng(6)
    events = history(rng, lambda d: pc_day(d, rng))
    breaks = [at(TEST_DAY, h) for h in (10.5, 13.0, 15.5, 18.0, 20.5)]
    events += routine(TEST_DAY, rng, busy=(6.0, 8.0)) + [Event(t, t, "pir_hall", Kind.MOTION, 1.0) for t in breaks]
    events += pc_day(TEST_DAY, rng, a=8.0, b=23.0)
    until = at(TEST_DAY + 1, 0)
    episodes = inactivity(replayed(events, until))
    assert not [e for e in episodes if at(TEST_DAY, 8) <= e.start_mono < at(TEST_DAY, 23)]
    det = LearnedDetector(P)
    det.replay(EventBatch.from_events(ordered([e for e in events if e.mono < at(TEST_DAY, 8)])))
    limit = kernels.appliance_session_limit(det.state()["held_hist"][det.sensor_id("pc")], P.bin_edges(),
                                            P.kernel_vector())
    assert limit < 15 * H - 2.5 * H  # the session outlasted its limit: only the re-anchoring kept it


def collapse_at_pc(steady_after: bool) -> tuple[list[Event], float]:
    """Day 10: at the PC from 13 h; collapses at 15 h. The PC stays on, drawing a steady 62 W
    for the next day (or, the control, the log simply ends at the collapse)."""
    rng = np.random.default_rng(2)
    events = history(rng, lambda d: pc_day(d, rng))
    collapse = at(TEST_DAY, 15)
    events += routine(TEST_DAY, rng, busy=(7.0, 13.0))
    events += power("pc", at(TEST_DAY, 0), at(TEST_DAY, 13), 10 * MIN, standby(2.0))
    events += power("pc", at(TEST_DAY, 13), collapse, 2 * MIN, in_use(rng, 60.0, 40.0))
    if steady_after:
        events += power("pc", collapse, at(TEST_DAY + 2, 0), MIN, steady(rng, 62.0))
    return events, collapse


def test_a_pc_left_on_steady_after_a_collapse_raises_inactivity_at_the_normal_limit():
    until = at(TEST_DAY + 2, 0)
    events, collapse = collapse_at_pc(steady_after=True)
    got = first_alarm_after(events, collapse, until)
    cut, _ = collapse_at_pc(steady_after=False)
    want = first_alarm_after(cut, collapse, until)
    # the steady draw adds nothing: the normal limit runs from the last varying reading
    assert got == want
    assert collapse < got <= collapse + P.max_inactivity_hours * H


def fridge_flat(collapse: float, fridge_until: float) -> list[Event]:
    """A routine with a fridge cycling from day 0; the resident's events end at ``collapse``."""
    rng = np.random.default_rng(3)
    events = history(rng, lambda d: []) + routine(TEST_DAY, rng)
    events = [e for e in events if e.mono < collapse]
    return events + fridge(T0, fridge_until)


def test_a_fridge_cycling_never_vetoes_inactivity():
    collapse, until = at(TEST_DAY, 15), at(TEST_DAY + 2, 0)
    events = fridge_flat(collapse, until)
    episodes = replayed(events, until)
    assert inactivity(episodes) and min(e.start_mono for e in inactivity(episodes)
                                        if e.start_mono >= collapse) <= collapse + P.max_inactivity_hours * H
    # from its second day on the fridge changes nothing at all: the same episodes without its readings
    day1 = T0 + DAY
    without = [e for e in events if e.sensor != "fridge" or e.mono < day1]
    assert episodes == replayed(without, until)
    det = LearnedDetector(P)
    det.replay(EventBatch.from_events(ordered(events)))
    assert det.status(until, until)["last_activity_local"] < collapse  # no fridge reading counted
    (info,) = det.appliances()
    assert info["cycles_by_itself"] and info["plain_cycle_hours"] >= P.appliance_autonomous_hours


def test_a_fridge_start_surge_counts_in_its_first_hours_only_as_switching_on_did_before():
    """Until it has switched on in enough clock hours the fridge is an unknown appliance: its
    switch-ons count (as they always did), its surges never do (a day of watching comes first)."""
    events = ordered(fridge(T0, T0 + 6 * H))
    det = LearnedDetector(P)
    det.replay(EventBatch.from_events(events))
    starts = [e.mono for e in events if e.value == 250.0]
    assert det.status(T0 + 6 * H, T0 + 6 * H)["last_activity_local"] == starts[-1]


def test_a_kettle_used_at_many_hours_still_counts_when_switched_on():
    """Eight uses a day at odd hours one day, even hours the next (16 hours of the clock over
    two days, 8 in each): a person's habit, not a compressor."""
    events = []
    for day in range(6):
        for h in range(8):
            t = at(day, 7 + 2 * h + day % 2 + 0.25)
            events += [Event(t, t, "kettle", Kind.APPLIANCE, 2000.0),
                       Event(t + 180, t + 180, "kettle", Kind.APPLIANCE, 0.5)]
    det = LearnedDetector(P)
    det.replay(EventBatch.from_events(ordered(events)))
    (info,) = det.appliances()
    assert not info["cycles_by_itself"] and info["plain_cycle_hours"] == 8
    assert det.status(events[-1].mono, events[-1].local)["last_activity_local"] == events[-2].mono


def test_a_pc_flapping_on_and_off_in_use_around_the_clock_is_not_taken_for_a_fridge():
    """48 sessions a day in every hour of the clock, but each one varying: a person's use."""
    rng = np.random.default_rng(7)
    events = []
    for k in range(2 * 48):
        a = T0 + k * 30 * MIN
        events += power("pc", a, a + 20 * MIN, 2 * MIN, in_use(rng, 70.0, 40.0))
        events += power("pc", a + 20 * MIN, a + 30 * MIN, 5 * MIN, standby(3.0))
    events = ordered(events)
    det = LearnedDetector(P)
    det.replay(EventBatch.from_events(events))
    (info,) = det.appliances()
    assert not info["cycles_by_itself"] and info["plain_cycle_hours"] < P.appliance_autonomous_hours
    used = [e.mono for e in events if e.value > 10.0]
    assert det.status(events[-1].mono, events[-1].local)["last_activity_local"] == used[-1]


def tv_flat(tv_until_hours: float, counted_until: float | None = None) -> tuple[list[Event], float]:
    """Ten evenings of TV 19-21 h; on day 10 it goes on at 19 h and the resident collapses at
    19:30; the TV runs on (its picture varying) until ``tv_until_hours`` after 19 h, or its
    readings stop at ``counted_until`` (the control)."""
    rng = np.random.default_rng(4)
    events = history(rng, lambda d: tv_day(d, rng))
    on = at(TEST_DAY, 19)
    events += routine(TEST_DAY, rng, busy=(7.0, 19.5))
    events += power("tv", at(TEST_DAY, 0), on, 10 * MIN, standby(1.0))
    end = on + tv_until_hours * H
    events += power("tv", on, end if counted_until is None else counted_until, MIN, in_use(rng, 70.0, 30.0))
    return events, on


def test_a_tv_left_running_far_past_its_usual_session_stops_counting():
    """Here the resident collapses half an hour after switching on: the TV counts for its
    session limit from then, no longer."""
    until = at(TEST_DAY + 2, 12)
    events, on = tv_flat(tv_until_hours=30.0)
    learned = LearnedDetector(P)
    learned.replay(EventBatch.from_events(ordered([e for e in events if e.mono <= on])))
    limit = learned.state()["sens"][learned.sensor_id("tv"), _SE["app_session_limit"]]
    assert 1.5 * 2 * H <= limit <= P.appliance_session_max_hours * H  # learned from 2 h evenings
    got = first_alarm_after(events, on, until)
    # the same as if the TV had stopped reporting when it had stood alone for the resident
    # (since the last other sign of life) longer than its limit
    alone_since = max(on, max(e.mono for e in events if e.sensor != "tv"))
    control, _ = tv_flat(tv_until_hours=30.0, counted_until=alone_since + limit + 1.0)
    assert got == first_alarm_after(control, on, until)
    assert got < on + 30 * H  # long before the TV goes off
    # and it did count until then: later than if the TV had gone quiet with the resident
    quiet, _ = tv_flat(tv_until_hours=30.0, counted_until=at(TEST_DAY, 19.5))
    assert got > first_alarm_after(quiet, on, until)


def test_readings_while_out_do_not_end_the_absence():
    """A TV left on (picture varying) while the resident is out is not the resident."""
    rng = np.random.default_rng(5)
    events = history(rng, lambda d: tv_day(d, rng))
    leave, back = at(TEST_DAY, 19.5), at(TEST_DAY, 23.0)
    events += routine(TEST_DAY, rng, busy=(7.0, 19.4))
    events += [Event(leave, leave, "door", Kind.ENTRANCE, 1.0), Event(back, back, "door", Kind.ENTRANCE, 1.0),
               Event(back + 60, back + 60, "pir_living", Kind.MOTION, 1.0)]
    events += tv_day(TEST_DAY, rng, a=19.0, b=22.0)
    result = LearnedDetector(P).replay(EventBatch.from_events(ordered(events)))
    assert [(a, b) for a, b in result.away if a == leave] == [(leave, back)]  # the TV did not end it


# ----------------------------------------------------------- one rule, every path
SCENARIOS = {
    "pc": lambda: pc_resident(pc_in_use),
    "pc_collapse": lambda: collapse_at_pc(True)[0],
    "fridge": lambda: fridge_flat(at(TEST_DAY, 15), at(TEST_DAY + 1, 6)),
    "tv": lambda: tv_flat(30.0)[0],
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_per_event_and_bulk_agree(name):
    events = ordered(SCENARIOS[name]())
    until = events[-1].mono + DAY
    bulk = LearnedDetector(P).replay(EventBatch.from_events(events), until_mono=until).episodes
    assert feed(LearnedDetector(P), events, until_mono=until) == bulk
    assert inactivity(bulk)


@pytest.mark.parametrize("name", ["pc", "tv"])
def test_kernel_matches_the_reference(name):
    events = ordered(SCENARIOS[name]())
    batch = EventBatch.from_events(events)
    state, records = run_kernel(P, batch)
    assert_same(state, records, run_reference(P, batch))


def test_state_restored_mid_session_goes_on_identically():
    events = ordered(collapse_at_pc(True)[0])
    split = at(TEST_DAY, 14)
    before, after = [e for e in events if e.mono < split], [e for e in events if e.mono >= split]
    whole = LearnedDetector(P)
    whole.replay(EventBatch.from_events(before))
    shift = -4e8
    restarted = LearnedDetector(P)
    restarted.load(whole.state(), lambda m: m + shift)
    row = restarted.state()["sens"][restarted.sensor_id("pc")]
    assert row[_SE["app_session_start"]] == at(TEST_DAY, 13) + shift  # mid-session, rebased
    a = whole.replay(EventBatch.from_events(after)).episodes
    b = restarted.replay(EventBatch.from_events([Event(e.mono + shift, e.local, e.sensor, e.kind, e.value)
                                                 for e in after])).episodes
    assert [(e.finding.type, e.start_mono + shift, e.end_mono and e.end_mono + shift) for e in a] == \
        [(e.finding.type, e.start_mono, e.end_mono) for e in b]
    assert inactivity(a)


def test_state_of_version_2_is_upgraded_and_appliances_learn_again():
    events = ordered(pc_resident(pc_in_use))
    det = LearnedDetector(P)
    det.replay(EventBatch.from_events([e for e in events if e.mono < at(TEST_DAY, 0)]))
    state = det.state()
    n = P.slots_per_day
    v2 = {**state, "version": 2, "sens": state["sens"][:, :12], "sv": state["sv"][:24], "hist": state["hist"][:2 * n],
          "abs_hist": state["abs_hist"][0]}
    upgraded = LearnedDetector(P)
    upgraded.load(v2, lambda m: m)
    assert upgraded.state()["version"] == det.state()["version"] == STATE_VERSION
    np.testing.assert_array_equal(upgraded.thresholds()[0], det.thresholds()[0])
    row = upgraded.state()["sens"][upgraded.sensor_id("pc")]
    assert math.isnan(row[_SE["app_session_start"]]) and math.isnan(row[_SE["app_first_mono"]])
    # the upgraded hub watches the PC a day before its use counts: the day-10 afternoon alarms
    rest = EventBatch.from_events([e for e in events if e.mono >= at(TEST_DAY, 0)])
    eps = upgraded.replay(rest, until_mono=at(TEST_DAY + 1, 0)).episodes
    assert [e for e in inactivity(eps) if at(TEST_DAY, 13) < e.start_mono < at(TEST_DAY, 19)]


def test_profile_shows_each_appliance_and_what_it_is_worth():
    events = ordered(pc_resident(pc_in_use) + fridge(T0, at(TEST_DAY + 1, 0)))
    det = LearnedDetector(P)
    det.replay(EventBatch.from_events(events))
    data = {a["sensor"]: a for a in det.profile(events[-1].mono, events[-1].local)["appliances"]}
    assert data["pc"]["sessions_learned"] and not data["pc"]["cycles_by_itself"]
    assert 6 * 1.5 - 1 <= data["pc"]["counts_for_hours"] <= P.appliance_session_max_hours
    assert 55 <= data["pc"]["in_use_watts"] <= 105 and data["pc"]["standby_watts"] == 2.0
    assert data["fridge"]["cycles_by_itself"]
    text = det.profile_text(events[-1].mono, events[-1].local)
    assert "pc" in text and "cycles by itself" in text and "counts, alone, for up to" in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_session_limit_is_the_cold_value_until_learned_then_a_margin_over_the_usual_session():
    edges = P.bin_edges()
    pv = P.kernel_vector()
    row = np.zeros(P.hist_bins)
    assert kernels.appliance_session_limit(row, edges, pv) == P.appliance_session_cold_hours * H
    for _ in range(10):
        kernels.add_observation(row, 2 * H, 1.0, edges)
    limit = kernels.appliance_session_limit(row, edges, pv)
    assert 2 * H * P.appliance_session_margin_factor * 0.95 <= limit <= 2 * H * P.appliance_session_margin_factor * 1.1
    for _ in range(40):
        kernels.add_observation(row, 20 * H, 1.0, edges)
    assert kernels.appliance_session_limit(row, edges, pv) == P.appliance_session_max_hours * H


def test_params_reject_a_cold_session_outside_its_bounds():
    with pytest.raises(ValueError, match="appliance_session_cold_hours"):
        DetectorParams(appliance_session_cold_hours=13.0)
