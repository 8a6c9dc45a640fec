"""The learned detector's behaviour: cold start, learning, robustness, safety net, away,
held presence, restart, and the bulk replay being the per-event path."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hubd.detector.kernels import SENS_FIELDS, SV_FIELDS
from hubd.detector.model import _SV_V3_LATER, STATE_VERSION, IncompatibleState, LearnedDetector, feed
from hubd.findings import RESIDENT
from hubd.detector.params import DetectorParams
from hubd.events import Event, EventBatch, Kind, read_events

from fakes import ev

H, M, DAY = 3600.0, 60.0, 86400.0
T0 = 1_704_067_200.0  # 2024-01-01 00:00 local, a Monday


FAST = DetectorParams(slot_minutes=60, min_learn_days=1, learn_day_min_home_hours=1.0, slot_min_weight=0.5,
                      hist_bins=16, absence_min_count=1, held_min_count=1, min_threshold_minutes=20.0,
                      away_confirm_minutes=5.0, absence_min_hours=1.0, held_min_hours=0.5, half_life_days=3.0)


def routine(days, start_day=0, wake=7.0, bed=23.0, every=10 * M, nap=None, skip=()):
    """Days of motion every ``every`` seconds from wake to bed; ``nap`` = (day, start h, hours) of silence."""
    out = []
    for d in range(start_day, start_day + days):
        if d in skip:
            continue
        t = T0 + d * DAY + wake * H
        end = T0 + d * DAY + bed * H
        while t <= end:
            if not (nap and nap[0] == d and T0 + d * DAY + nap[1] * H <= t < T0 + d * DAY + (nap[1] + nap[2]) * H):
                out.append(ev(t, "pir_kitchen" if int(t / every) % 2 else "pir_hall"))
            t += every
    return out


def run(det, events):
    for e in events:
        det.observe(e)
    return det


def hours(x):
    return x / H


# ------------------------------------------------------------------ cold start
def test_cold_start_alarms_after_the_conservative_fixed_threshold():
    """Without a population prior (tests/test_prior.py has the first week with one)."""
    det = run(LearnedDetector(prior=False), routine(2))
    last = T0 + 1 * DAY + 23 * H
    assert det.status(last, last)["cold_start"] is True
    assert det.next_check(last) == pytest.approx(last + 12 * H)
    assert det.check(last + 12 * H - 1, 0) == []
    (finding,) = det.check(last + 12 * H, 0)
    assert finding.type == "inactivity" and finding.category == RESIDENT
    assert finding.since_mono == last and finding.detail["rule"] == "cold_start"


def test_nothing_is_found_before_the_first_event():
    det = LearnedDetector()
    assert det.check(T0, T0) == [] and det.next_check(T0) is None
    assert det.status(T0, T0)["last_activity_local"] is None


# ------------------------------------------------------------------ learning
def test_learns_short_day_and_long_night_thresholds():
    det = run(LearnedDetector(), routine(14))
    thr, rules = det.thresholds()
    slot = lambda h: int(h * 2)  # noqa: E731 (30-min slots)
    assert set(rules) == {"learned"}
    assert hours(thr[slot(14)]) <= 1.5  # awake all afternoon: alarm after about an hour
    assert 8.0 <= hours(thr[slot(6.5)]) <= 12.0  # asleep 23-07: the night is long
    # a collapse at 14:05 on day 14 (last motion 14:00) is found within the afternoon threshold
    events = routine(1, start_day=14)
    cut = T0 + 14 * DAY + 14 * H
    run(det, [e for e in events if e.mono <= cut])
    due = det.next_check(cut)
    assert hours(due - cut) == pytest.approx(hours(thr[slot(14)]), abs=0.01)
    assert [f.detail["rule"] for f in det.check(due, 0)] == ["learned"]


def test_thresholds_follow_a_changed_routine_with_forgetting():
    det = run(LearnedDetector(replace(DetectorParams(), half_life_days=5)), routine(20, bed=23.0))
    before = det.thresholds()[0][2 * 23 + 1]  # 23:30, normally asleep
    run(det, routine(30, start_day=20, bed=26.0))  # now up until 02:00
    after = det.thresholds()[0][2 * 23 + 1]
    assert hours(before) > 3 and hours(after) <= 1.5


def test_one_long_nap_does_not_blind_the_afternoons():
    normal = run(LearnedDetector(), routine(21))
    napped = run(LearnedDetector(), routine(21, nap=(15, 13.0, 6.0)))  # one 6 h afternoon nap
    for h in (13.5, 15.0, 17.0, 18.5):
        k = int(h * 2)
        assert hours(napped.thresholds()[0][k]) <= 1.5, h
        assert napped.thresholds()[0][k] == pytest.approx(normal.thresholds()[0][k], rel=0.1)


def varied_bedtimes(days, start_day=0):
    """Up and about every 15 min from 07:00 until bed at 21:30, 23:00 or 00:30 in turn."""
    out = []
    for d in range(start_day, start_day + days):
        bed = (21.5, 23.0, 24.5)[d % 3]
        out += [ev(T0 + d * DAY + 7 * H + i * 15 * M, "pir_kitchen") for i in range(int((bed - 7) * 4) + 1)]
    return out


def test_a_silence_begun_in_the_evening_is_not_taken_for_the_night():
    # early nights make the elapsed-silence limits of the night long; a silence that
    # begins at 19:30, when the resident is always up, must not wait for the morning
    def due_after_1930(params):
        det = run(LearnedDetector(params), varied_bedtimes(15))
        last = T0 + 15 * DAY + 19.5 * H
        run(det, [e for e in varied_bedtimes(1, 15) if e.mono <= last])
        return hours(det.next_check(last) - last), det.check(det.next_check(last), 0)

    delay, (finding,) = due_after_1930(DetectorParams())
    assert 3.0 <= delay <= 3.5  # 15 min normally, x1.3, + the 3 h margin
    assert finding.detail["rule"] == "learned" and hours(finding.limit) == pytest.approx(delay)
    elapsed_only, _ = due_after_1930(DetectorParams(residual_margin_minutes=720))  # rule effectively off
    assert elapsed_only >= 8.0
    # and the normal evenings and nights themselves raise nothing
    assert LearnedDetector().replay(EventBatch.from_events(varied_bedtimes(30))).episodes == []


def test_profile_tells_when_a_silence_begun_at_each_time_would_alarm():
    det = run(LearnedDetector(), varied_bedtimes(15))
    delays = det.profile(0, 0)["alarm_after_hours_by_start"]
    assert len(delays) == 48
    assert 3.0 <= delays[39] <= 3.5  # 19:30: as the per-event test above finds
    assert delays[2 * 23] > delays[39]  # 23:00, often asleep by then: longer
    # each entry is what next_check says after the last activity at that time
    for k in (28, 39):  # 14:00, 19:30 on the next day
        probe = run(LearnedDetector(), varied_bedtimes(15))
        t = T0 + 15 * DAY + k * 30 * M
        run(probe, [e for e in varied_bedtimes(1, 15) if e.mono <= t])
        assert hours(probe.next_check(t) - t) == pytest.approx(probe.profile(t, t)["alarm_after_hours_by_start"][k],
                                                               abs=1e-3)


def test_sparse_slots_borrow_from_their_neighbours_not_the_cold_start():
    # at home only in the evenings and on weekends: daytime weekday slots are thin
    events = []
    for d in range(28):
        if (d % 7) >= 5:
            events += routine(1, start_day=d)
        else:  # out to work 08:00-18:00
            day = routine(1, start_day=d)
            leave, back = T0 + d * DAY + 8 * H, T0 + d * DAY + 18 * H
            events += [e for e in day if e.mono < leave - 60 or e.mono > back + 60]
            events += [ev(leave, "front", Kind.ENTRANCE), ev(back, "front", Kind.ENTRANCE), ev(back + 30)]
    events.sort(key=lambda e: e.mono)
    det = run(LearnedDetector(), events)
    thr, rules = det.thresholds()
    assert rules[2 * 12] == "learned" and hours(thr[2 * 12]) < 4


def test_a_safety_net_below_the_floor_caps_it():
    # the default 90-min floor with a 1 h safety net: accepted, and every limit is 1 h
    det = run(LearnedDetector(DetectorParams(max_inactivity_hours=1.0)), routine(14))
    thr, rules = det.thresholds()
    assert np.all(thr == H) and set(rules) == {"safety_net"}
    assert np.all(det.state()["thr"][2] == H)  # the remaining-silence rule too


def test_safety_net_caps_every_threshold():
    p = DetectorParams(max_inactivity_hours=4.0, min_threshold_minutes=30.0)
    det = run(LearnedDetector(p), routine(14))
    thr, rules = det.thresholds()
    assert hours(thr.max()) == pytest.approx(4.0)
    assert "safety_net" in rules  # the nights would have been ~9 h
    night = T0 + 14 * DAY + 0.5 * H
    run(det, [ev(night)])
    (finding,) = det.check(night + 4 * H, 0)
    assert finding.detail["rule"] == "safety_net" and finding.limit == pytest.approx(4 * H)


def test_cold_start_is_capped_by_the_safety_net():
    det = run(LearnedDetector(DetectorParams(max_inactivity_hours=6.0, cold_start_hours=20.0)), [ev(T0)])
    assert det.next_check(T0) == pytest.approx(T0 + 6 * H)
    assert det.check(T0 + 6 * H, 0)[0].detail["rule"] == "safety_net"


# ------------------------------------------------------------------ away
def test_entrance_then_silence_is_away_and_not_returned_fires_at_the_configured_maximum():
    det = run(LearnedDetector(prior=False), routine(1) + [ev(T0 + 23.5 * H, "front", Kind.ENTRANCE, 1.0)])
    leave = T0 + 23.5 * H
    assert det.status(leave + 5 * M, 0)["inferred"] == "home"  # still leaving
    assert det.status(leave + 11 * M, 0)["inferred"] == "away"
    assert det.next_check(leave) == pytest.approx(leave + 24 * H)  # not the inactivity timer
    assert det.check(leave + 23 * H, 0) == []
    (finding,) = det.check(leave + 24 * H, 0)
    assert finding.type == "not_returned" and finding.since_mono == leave
    assert finding.detail["rule"] == "configured"
    det.observe(ev(leave + 30 * H, "front", Kind.ENTRANCE, 1.0))
    assert [f.type for f in det.check(leave + 30 * H, 0)] == ["not_returned"]  # door only: not yet home
    det.observe(ev(leave + 30 * H + 60))
    assert det.check(leave + 30 * H + 60, 0) == []
    assert det.status(leave + 30 * H + 60, 0)["inferred"] == "home"


def test_entrance_followed_by_inside_activity_is_home():
    det = run(LearnedDetector(), [ev(T0), ev(T0 + 60, "front", Kind.ENTRANCE), ev(T0 + 120)])
    assert det.next_check(T0 + 120) == pytest.approx(T0 + 120 + 12 * H)
    assert det.status(T0 + 3 * H, 0)["inferred"] == "home"


def test_silence_right_after_coming_home_is_watched_as_inactivity():
    # out at 09:00 for 8 h; back through the door at 17:00, then nothing: collapsed in the hall
    det = run(LearnedDetector(), routine(14))
    leave, back = T0 + 14 * DAY + 9 * H, T0 + 14 * DAY + 17 * H
    run(det, [ev(T0 + 14 * DAY + 8 * H), ev(leave, "front", Kind.ENTRANCE), ev(back, "front", Kind.ENTRANCE)])
    assert det.status(back + 5 * M, 0)["inferred"] == "home" and not det.status(back + 5 * M, 0)["leaving"]
    due = det.next_check(back)
    assert hours(due - back) <= 2.0  # the afternoon's learned limit, not the absence limit (>= 8 h)
    (finding,) = det.check(due, 0)
    assert finding.type == "inactivity" and finding.since_mono == back
    # moving inside ends it and the absence is learned as usual
    det.observe(ev(due + 60))
    assert det.check(due + 60, 0) == [] and det.status(due + 60, 0)["inferred"] == "home"
    # the departure itself is still not inactivity: the first door event starts no timer
    det.observe(ev(due + 2 * H, "front", Kind.ENTRANCE))
    assert det.next_check(due + 2 * H) == pytest.approx(due + 2 * H + det.status(due, 0)["absence_limit_seconds"])


def door(t, value):
    return ev(t, "front", Kind.ENTRANCE, value)


def test_the_door_shut_behind_a_returning_resident_starts_no_absence():
    # out 09:00-10:00; back: the door opens, the hall PIR sees them, the door shuts; then they sit
    # where no sensor sees them for 40 min and collapse: inactivity, not an absence till midnight
    det = run(LearnedDetector(), routine(14))
    day = T0 + 14 * DAY
    back = day + 10 * H
    run(det, [ev(day + 8 * H), door(day + 9 * H, 1.0), door(day + 9 * H + 6, 0.0),
              door(back, 1.0), ev(back + 1, "pir_hall"), door(back + 4, 0.0)])
    status = det.status(back + 40 * M, 0)
    assert status["inferred"] == "home" and not status["leaving"]
    due = det.next_check(back + 4)
    assert hours(due - (back + 4)) <= 2.0  # the morning's learned limit, not the absence limit
    (finding,) = det.check(due, 0)
    assert finding.type == "inactivity" and finding.since_mono == back + 4


def test_leaving_again_after_coming_back_is_an_absence():
    # back for the forgotten keys: in, door shut, a minute inside, then out through the door again
    det = run(LearnedDetector(), routine(14))
    day = T0 + 14 * DAY
    back = day + 10 * H
    run(det, [ev(day + 8 * H), door(day + 9 * H, 1.0), door(day + 9 * H + 6, 0.0),
              door(back, 1.0), ev(back + 1, "pir_hall"), door(back + 4, 0.0),
              ev(back + 60, "pir_hall"), door(back + 70, 1.0), door(back + 75, 0.0)])
    assert det.status(back + 40 * M, 0)["inferred"] == "away"
    assert det.next_check(back + 75) == pytest.approx(back + 70 + det.status(back, 0)["absence_limit_seconds"])


def test_a_door_shut_after_a_visitor_at_the_door_is_still_a_possible_leaving():
    # never out: opened to a visitor, hall PIR, shut; nothing inside after it -> taken for leaving as before
    det = run(LearnedDetector(), routine(14))
    day = T0 + 14 * DAY
    t = day + 10 * H
    run(det, [ev(day + 9 * H), door(t, 1.0), ev(t + 1, "pir_hall"), door(t + 30, 0.0)])
    assert det.status(t + 40 * M, 0)["inferred"] == "away"


def test_absence_limit_is_learned_within_the_configured_bounds():
    events = []
    for d in range(10):  # out 10:00-13:00 every day
        day = routine(1, start_day=d)
        out0, back = T0 + d * DAY + 10 * H, T0 + d * DAY + 13 * H
        events += [e for e in day if e.mono < out0 or e.mono > back + 60]
        events += [ev(out0, "front", Kind.ENTRANCE), ev(back, "front", Kind.ENTRANCE), ev(back + 30)]
    events.sort(key=lambda e: e.mono)
    det = run(LearnedDetector(DetectorParams(absence_min_hours=8.0), prior=False), events)
    limit = det.status(events[-1].mono, 0)["absence_limit_seconds"]
    assert hours(limit) == pytest.approx(8.0)  # 3 h x 1.5 is below a configured 8 h bound
    det2 = run(LearnedDetector(DetectorParams(absence_min_hours=2.0), prior=False), events)
    assert 4.0 <= hours(det2.status(events[-1].mono, 0)["absence_limit_seconds"]) <= 5.0
    leave = events[-1].mono + 60
    det2.observe(ev(leave, "front", Kind.ENTRANCE))
    due = det2.next_check(leave)
    assert 4.0 <= hours(due - leave) <= 5.0
    assert det2.check(due, 0)[0].detail["rule"] == "learned"


# ------------------------------------------------------------------ held presence
def test_held_presence_is_not_inactivity_but_stays_too_long():
    det = run(LearnedDetector(prior=False), [ev(T0), ev(T0 + 60, "bed", Kind.PRESENCE, 1.0)])
    status = det.status(T0 + 5 * H, 0)
    assert status["inactive_seconds"] is None and status["held"] == ["bed"]  # not counting (docs/hubctl.md)
    assert det.next_check(T0 + 60) == pytest.approx(T0 + 60 + 14 * H)  # held_max_hours, not 12 h inactivity
    assert det.check(T0 + 13 * H, 0) == []
    (finding,) = det.check(T0 + 60 + 14 * H, 0)
    assert (finding.type, finding.key) == ("stayed_in_place", "bed")
    det.observe(ev(T0 + 15 * H, "bed", Kind.PRESENCE, 0.0))  # getting up ends it, restarts the timer
    assert det.check(T0 + 15 * H, 0) == []
    assert det.next_check(T0 + 15 * H) == pytest.approx(T0 + 15 * H + 12 * H)


def test_hold_limit_is_learned_from_each_days_longest_hold():
    events = []
    for d in range(10):  # in bed 23:00-07:00, an 8 h hold, short sits in the day
        night = T0 + d * DAY + 23 * H
        events += [ev(night, "bed", Kind.PRESENCE, 1.0), ev(night + 8 * H, "bed", Kind.PRESENCE, 0.0)]
        for k in range(4):
            sit = T0 + (d + 1) * DAY + (10 + 2 * k) * H
            events += [ev(sit, "bed", Kind.PRESENCE, 1.0), ev(sit + 600, "bed", Kind.PRESENCE, 0.0)]
    events.sort(key=lambda e: e.mono)
    det = run(LearnedDetector(), events)
    start = T0 + 11 * DAY + 23 * H
    det.observe(ev(start, "bed", Kind.PRESENCE, 1.0))
    limit = det.next_check(start) - start
    assert 8 * 1.25 + 1 <= hours(limit) <= 8 * 1.3 + 1  # 8 h x 1.25 + 1 h (histogram resolution)
    assert det.check(start + limit, 0)[0].detail["rule"] == "learned"


def test_appliance_standby_is_not_activity_but_switching_on_is():
    det = run(LearnedDetector(), [ev(T0), ev(T0 + 60, "kettle", Kind.APPLIANCE, 0.5)])
    det.observe(ev(T0 + 2 * H, "kettle", Kind.APPLIANCE, 3.0))  # standby wobble
    assert det.status(T0 + 2 * H, 0)["inactive_seconds"] == pytest.approx(2 * H)
    det.observe(ev(T0 + 3 * H, "kettle", Kind.APPLIANCE, 2000.0))
    assert det.status(T0 + 3 * H, 0)["inactive_seconds"] == 0.0
    det.observe(ev(T0 + 3.1 * H, "kettle", Kind.APPLIANCE, 0.5))  # switching off by itself
    assert det.status(T0 + 4 * H, 0)["inactive_seconds"] == pytest.approx(1 * H)


# ------------------------------------------------------------------ restart
def test_learned_state_survives_a_restart_with_rebase():
    events = routine(10) + [ev(T0 + 10 * DAY + 8 * H, "bed", Kind.PRESENCE, 1.0)]
    det = run(LearnedDetector(), events)
    state = det.state()
    shift = -5e8  # the new boot's monotonic clock starts elsewhere
    restarted = LearnedDetector()
    restarted.load(state, lambda m: m + shift)
    np.testing.assert_array_equal(restarted.thresholds()[0], det.thresholds()[0])
    assert restarted.learned_days == det.learned_days == 10
    now = T0 + 10 * DAY + 9 * H
    a, b = det.status(now, now), restarted.status(now + shift, now)
    assert a == b
    assert restarted.next_check(now + shift) == pytest.approx(det.next_check(now) + shift)
    # both go on identically
    more = [ev(T0 + 10 * DAY + 20 * H, "bed", Kind.PRESENCE, 0.0)] + routine(3, start_day=11)
    run(det, more)
    run(restarted, [Event(e.mono + shift, e.local, e.sensor, e.kind, e.value) for e in more])
    np.testing.assert_allclose(restarted.thresholds()[0], det.thresholds()[0])
    last = more[-1].mono
    assert restarted.next_check(last + shift) == pytest.approx(det.next_check(last) + shift)


def test_state_saved_before_came_in_was_added_loads_with_it_unset():
    """Version 3 as it first shipped had no ``came_in``: a hub upgraded mid-life keeps what it learned."""
    det = run(LearnedDetector(), routine(10))
    state = det.state()
    shipped = {**state, "sv": state["sv"][:SV_FIELDS.index("came_in")]}
    restored = LearnedDetector()
    restored.load(shipped, lambda m: m)
    assert restored.state()["sv"][SV_FIELDS.index("came_in")] == 0.0
    now = T0 + 10 * DAY + 9 * H
    assert restored.status(now, now) == det.status(now, now)
    with pytest.raises(IncompatibleState):
        LearnedDetector().load({**state, "sv": state["sv"][:-(len(_SV_V3_LATER) + 1)]}, lambda m: m)


def test_state_saved_before_the_inverted_presence_columns_loads_with_them_fresh():
    """Version 3 before a mat could read inverted had 33 columns per sensor: they are added, fresh."""
    det = run(LearnedDetector(), routine(10) + [ev(T0 + 9 * DAY + 23 * H, "bed", Kind.PRESENCE, 1.0)])
    state = det.state()
    first_new = SENS_FIELDS.index("away_on_mono")
    shipped = {**state, "sens": state["sens"][:, :first_new]}
    restored = LearnedDetector()
    restored.load(shipped, lambda m: m)
    np.testing.assert_array_equal(restored.state()["sens"], state["sens"])  # nothing was set in them yet
    now = T0 + 10 * DAY + 9 * H
    assert restored.status(now, now) == det.status(now, now)
    with pytest.raises(IncompatibleState, match="per-sensor"):
        LearnedDetector().load({**state, "sens": state["sens"][:, :first_new - 1]}, lambda m: m)


def test_state_of_version_2_is_upgraded_every_sensor_trusted_and_holding():
    events = routine(10) + [ev(T0 + 10 * DAY + 8 * H, "bed", Kind.PRESENCE, 1.0)]
    det = run(LearnedDetector(), events)
    state = det.state()
    n_sv, n_se = SV_FIELDS.index("returning") + 1, SENS_FIELDS.index("held_latched_learned") + 1
    n = det.params.slots_per_day
    v2 = {**state, "version": 2, "sv": state["sv"][:n_sv], "sens": state["sens"][:, :n_se],
          "hist": state["hist"][:2 * n], "abs_hist": state["abs_hist"][0]}
    upgraded = LearnedDetector()
    upgraded.load(v2, lambda m: m)
    assert upgraded.state()["version"] == STATE_VERSION
    np.testing.assert_array_equal(upgraded.thresholds()[0], det.thresholds()[0])
    now = T0 + 10 * DAY + 9 * H
    assert upgraded.status(now, now) == det.status(now, now)  # the bed still held
    assert upgraded.next_check(now) == det.next_check(now)
    sens = upgraded.state()["sens"]
    assert (sens[:, SENS_FIELDS.index("fault")] == 0).all() and (sens[:, SENS_FIELDS.index("pulses")] == 0).all()


def test_state_of_version_1_is_upgraded_keeping_what_it_learned():
    det = run(LearnedDetector(prior=False), routine(10))
    state = det.state()
    n = det.params.slots_per_day
    sv = state["sv"][:24]  # the version-2 scalar fields (as version 1 had them)
    v1 = {**state, "version": 1, "cur": state["cur"][:2], "hist": state["hist"][:n], "thr": state["thr"][:2],
          "sv": sv, "abs_hist": state["abs_hist"][0], "sens": state["sens"][:, :12]}
    upgraded = LearnedDetector(prior=False)
    upgraded.load(v1, lambda m: m)
    np.testing.assert_array_equal(upgraded.thresholds()[0], det.thresholds()[0])
    assert upgraded.learned_days == det.learned_days > 0
    last = routine(10)[-1].mono
    # the remaining-silence rule starts cold (12 h), so the elapsed rule decides
    cold = LearnedDetector(DetectorParams(residual_margin_minutes=720), prior=False)
    run(cold, routine(10))
    assert upgraded.next_check(last) == pytest.approx(cold.next_check(last))
    assert upgraded.state()["version"] == STATE_VERSION


def test_a_state_saved_before_any_event_loads():
    fresh = LearnedDetector(prior=False)
    fresh.load(LearnedDetector(prior=False).state(), lambda m: m)  # no sensors yet: an empty held_hist
    assert fresh.sensors == [] and fresh.check(T0, T0) == [] and fresh.next_check(T0) is None
    run(fresh, routine(1))
    assert fresh.next_check(T0 + 23 * H) == pytest.approx(T0 + 35 * H)  # cold start, 12 h


def test_load_rejects_state_of_another_shape():
    state = run(LearnedDetector(), routine(2)).state()
    with pytest.raises(IncompatibleState, match="slot"):
        LearnedDetector(DetectorParams(slot_minutes=60)).load(state, lambda m: m)


def test_downtime_is_not_learned_as_inactivity():
    def learn(skip):
        det = run(LearnedDetector(), routine(8))
        for d in range(8, 14):  # the hub is down 14:00-20:00 on six days running
            day = routine(1, start_day=d)
            run(det, [e for e in day if e.mono <= T0 + d * DAY + 14 * H])
            if skip:
                det.skip_unobserved(T0 + d * DAY + 20 * H)
            run(det, [e for e in day if e.mono >= T0 + d * DAY + 20 * H])
        return det.thresholds()[0][2 * 17]
    assert hours(learn(skip=True)) <= 1.5 < 3 < hours(learn(skip=False))


# ------------------------------------------------------------------ per event == bulk
def assert_same_episodes(a, b):
    key = lambda e: (e.finding.type, e.finding.key, e.finding.since_mono, e.start_mono, e.end_mono)  # noqa: E731
    assert [key(e) for e in a] == [key(e) for e in b]
    for x, y in zip(a, b):
        assert x.finding.limit == pytest.approx(y.finding.limit)
        assert x.finding.detail == y.finding.detail


def test_per_event_equals_bulk_on_the_real_log(real_log):
    with open(real_log) as fh:
        events = read_events(fh)
    seen = set()
    for params in (DetectorParams(), FAST):
        per_event = feed(LearnedDetector(params), events)
        assert_same_episodes(per_event, LearnedDetector(params).replay(EventBatch.from_events(events)).episodes)
        until = events[-1].mono + 3 * DAY
        more = LearnedDetector(params).replay(EventBatch.from_events(events), until_mono=until).episodes
        assert_same_episodes(feed(LearnedDetector(params), events, until_mono=until), more)
        seen |= {e.finding.type for e in per_event}
    assert seen >= {"inactivity", "not_returned"}  # the comparison is not vacuous


KINDS = [Kind.MOTION, Kind.PRESENCE, Kind.DOOR, Kind.ENTRANCE, Kind.APPLIANCE, Kind.BUTTON, Kind.PRESENCE]


@st.composite
def event_lists(draw):
    n = draw(st.integers(1, 150))
    t = draw(st.floats(1.6e9, 1.7e9))
    offset = draw(st.sampled_from([0.0, 7200.0]))
    out = []
    for _ in range(n):
        t += draw(st.one_of(st.floats(0, 300), st.floats(300, 4 * H), st.floats(4 * H, 30 * H)))
        i = draw(st.integers(0, len(KINDS) - 1))
        kind = KINDS[i]
        value = draw(st.sampled_from([0.0, 1.0])) if kind != Kind.APPLIANCE else draw(st.sampled_from([0.5, 90.0]))
        if draw(st.integers(0, 30)) == 0:
            offset += draw(st.sampled_from([3600.0, -3600.0]))
        out.append(Event(t, t + offset, f"s{i}", kind, value))
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event_lists(), st.sampled_from([DetectorParams(), FAST]), st.floats(0, 2 * DAY))
def test_per_event_equals_bulk_on_random_streams(events, params, extra):
    until = events[-1].mono + extra
    per_event = feed(LearnedDetector(params), events, until_mono=until)
    bulk = LearnedDetector(params)
    assert_same_episodes(per_event, bulk.replay(EventBatch.from_events(events), until_mono=until).episodes)


def test_bulk_leaves_the_detector_where_per_event_does():
    events = routine(9) + [ev(T0 + 9 * DAY + 9 * H, "front", Kind.ENTRANCE)]
    a = run(LearnedDetector(), events)
    b = LearnedDetector()
    b.replay(EventBatch.from_events(events))
    for key, value in a.state().items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(value, b.state()[key], err_msg=key)
        else:
            assert value == b.state()[key]


def test_next_check_is_the_exact_crossing():
    det = run(LearnedDetector(), routine(14))
    last = T0 + 14 * DAY + 16 * H
    det.observe(ev(last))
    due = det.next_check(last)
    assert det.check(np.nextafter(due, 0), 0) == []
    assert [f.type for f in det.check(due, 0)] == ["inactivity"]
    assert det.next_check(due) is None  # nothing else pending


# ------------------------------------------------------------------ params
@pytest.mark.parametrize("change, message", [
    ({"quantile": 1.5}, "quantile"),
    ({"slot_minutes": 7}, "slot_minutes"),
    ({"slot_minutes": 50}, "divide 1440"),
    ({"min_threshold_minutes": 20.0, "away_confirm_minutes": 30.0}, "away_confirm"),
    ({"absence_min_hours": 30.0, "absence_max_hours": 20.0}, "absence_min_hours"),
    ({"max_inactivity_hours": 1.0, "away_confirm_minutes": 60.0, "min_threshold_minutes": 90.0},
     "max_inactivity_hours"),
    ({"drift_slots": 1.5}, "integer"),
    ({"margin_factor": math.nan}, "finite"),
])
def test_params_reject_bad_values_naming_the_key(change, message):
    with pytest.raises(ValueError, match=message):
        DetectorParams(**change)


def test_every_param_documents_unit_and_range():
    from dataclasses import fields
    for f in fields(DetectorParams):
        assert {"min", "max", "help"} <= set(f.metadata), f.name
        assert f.metadata["min"] <= f.default <= f.metadata["max"], f.name


# ------------------------------------------------------------------ hubctl profile
def test_profile_text_fits_80_columns_and_draws_the_rhythm():
    det = run(LearnedDetector(), routine(10))
    text = det.profile_text(T0 + 10 * DAY + 12 * H, T0 + 10 * DAY + 12 * H)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "learned days: 9" in lines[0]  # the tenth day is not over yet
    rows = [line for line in lines if line[:5] in {f"01-{d:02d}" for d in range(1, 12)}]
    assert len(rows) == 10  # one actogram row per day, today included
    day_row = rows[3][10:]
    assert day_row[: 2 * 7].strip() == "" and "#" not in day_row[:14]  # asleep until 07:00
    assert set(day_row[2 * 8: 2 * 22]) <= {".", ":"}  # a motion every 10 min: 3 per half hour
    assert "now 12:00: alarm after 1.5 h" in text  # the 90-min floor


def test_profile_marks_cold_start_and_the_safety_net():
    cold = run(LearnedDetector(prior=False), routine(2)).profile_text(T0, T0)
    assert "cold start" in cold and "c" in cold.splitlines()[3]
    capped = run(LearnedDetector(DetectorParams(max_inactivity_hours=5.0)), routine(10))
    chart = capped.profile_text(T0, math.nan)
    assert "S" in "".join(chart.splitlines()[2:9])
    data = capped.profile(T0, T0)
    assert len(data["threshold_hours"]) == 48 and max(data["threshold_hours"]) == 5.0
    assert "safety_net" in data["rules"] and len(data["actogram"]) == 10
