"""Sensors judged by their behaviour, and corroboration (issue 15).

A presence that holds while the resident walks out of the front door, or while contacts
elsewhere are used, is ``stuck``; an entrance contact that reads "open" through a whole
absence is ``inverted``. Each is a ``sensor_fault`` from the detector, and a stuck sensor
neither vetoes inactivity nor raises ``stayed_in_place`` until it releases. A presence
sensor that only pulses is never held; the silence after its pulse is judged as someone
sitting still by it. While out, one sensor alone does not end the absence.

Every scenario is also replayed in bulk and must give the per-event episodes.
"""

from __future__ import annotations

import numpy as np
import pytest

from hubd.detector import kernels
from hubd.findings import SYSTEM
from hubd.detector.kernels import SENS_FIELDS
from hubd.detector.model import LearnedDetector, feed
from hubd.events import EventBatch, Kind

from fakes import ev

H, M, DAY = 3600.0, 60.0, 86400.0
T0 = 1_704_067_200.0  # 2024-01-01 00:00 local, a Monday
SHOWN = kernels.FAULT_SHOW_AFTER_S


def routine(days, start_day=0, wake=7.0, bed=23.0, every=10 * M):
    """Motion every ``every`` seconds from wake to bed, two PIRs in turn."""
    out = []
    for d in range(start_day, start_day + days):
        t = T0 + d * DAY + wake * H
        while t <= T0 + d * DAY + bed * H:
            out.append(ev(t, "pir_kitchen" if int(t / every) % 2 else "pir_hall"))
            t += every
    return out


def door(t, values=(1.0, 0.0)):
    """The front door opened and closed (a normal reed: 1 open, 0 closed)."""
    return [ev(t + 4 * i, "front", Kind.ENTRANCE, v) for i, v in enumerate(values)]


def run(events, det=None):
    det = det or LearnedDetector()
    for e in sorted(events, key=lambda e: e.mono):
        det.observe(e)
    return det


def faults(det, mono):
    return {f.key: f.detail["reasons"] for f in det.check(mono, 0) if f.type == "sensor_fault"}


def types(det, mono):
    return sorted(f.type for f in det.check(mono, 0))


def assert_bulk_is_per_event(events):
    """The scenario's episodes are the same fed event by event and replayed in bulk."""
    events = sorted(events, key=lambda e: e.mono)
    until = events[-1].mono + DAY
    per_event = feed(LearnedDetector(), events, until_mono=until)
    bulk = LearnedDetector().replay(EventBatch.from_events(events), until_mono=until).episodes
    assert [(e.finding, e.start_mono, e.end_mono) for e in bulk] == \
        [(e.finding, e.start_mono, e.end_mono) for e in per_event]
    return per_event


# ------------------------------------------------------------------ stuck
def test_a_mat_held_while_the_resident_walks_out_is_stuck_and_vetoes_nothing():
    day = T0 + 10 * DAY
    leave, back = day + 9 * H, day + 17 * H
    events = [e for e in routine(11) if not leave - 5 * M < e.mono < back + 5 * M]
    events += [ev(day + 7.5 * H, "bed", Kind.PRESENCE, 1.0)] + door(leave) + door(back)
    det = run([e for e in events if e.mono <= leave + 4])
    assert faults(det, leave + SHOWN) == {"bed": ["stuck"]}  # nobody opens the front door from the bed
    f = [f for f in det.check(leave + SHOWN, 0) if f.type == "sensor_fault"][0]
    assert f.category == SYSTEM and f.since_mono == day + 7.5 * H and f.limit == 0.0
    assert det.status(leave + H, 0)["held"] == []
    assert "stayed_in_place" not in types(det, leave + 20 * H)  # the mat's 14 h are no stay: out, it is stuck
    det = run([e for e in events if e.mono > leave + 4 and e.mono <= back + 10 * M], det)
    # back home with the mat still "on": its hold does not hide a silence
    due = det.next_check(back + 10 * M)
    assert due is not None and due - (back + 10 * M) < 6 * H
    assert types(det, due) == ["inactivity", "sensor_fault"]
    # it releases: trusted again, and its next hold counts as a stay
    t = back + 20 * M
    det = run([ev(t, "bed", Kind.PRESENCE, 0.0), ev(t + H, "bed", Kind.PRESENCE, 1.0)], det)
    assert faults(det, t + H) == {} and det.status(t + H, 0)["held"] == ["bed"]
    assert_bulk_is_per_event(events + [ev(t, "bed", Kind.PRESENCE, 0.0), ev(t + H, "bed", Kind.PRESENCE, 1.0)])


def test_a_mat_held_while_two_contacts_elsewhere_are_used_over_half_an_hour_is_stuck():
    day = T0 + 10 * DAY
    on = day + 10 * H
    events = [e for e in routine(11) if e.mono < on] + [ev(on, "bed", Kind.PRESENCE, 1.0)]
    events += [ev(on + 5 * M, "fridge", Kind.DOOR, 1.0), ev(on + 5 * M + 20, "fridge", Kind.DOOR, 0.0),
               ev(on + 20 * M, "fridge", Kind.DOOR, 1.0)]  # one contact only: the mat still holds
    det = run(events)
    assert faults(det, on + 21 * M + SHOWN) == {} and det.status(on + 22 * M, 0)["held"] == ["bed"]
    assert det.next_check(on + 22 * M) > on + 2 * H  # (the stay limit, not the inactivity timer)
    more = [ev(on + 40 * M, "cupboard", Kind.DOOR, 1.0)]  # a second contact, 35 min after the first use
    det = run(more, det)
    assert faults(det, on + 40 * M + SHOWN) == {"bed": ["stuck"]}
    assert det.status(on + 41 * M, 0)["held"] == []
    due = det.next_check(on + 40 * M + SHOWN)
    assert "inactivity" in types(det, due)  # the silence is watched again
    assert_bulk_is_per_event(events + more)


def test_motion_near_a_held_mat_does_not_make_it_stuck():
    """A PIR sees the person in bed, a TV runs while one sits: no evidence of being elsewhere."""
    day = T0 + 10 * DAY
    on = day + 13 * H
    events = [e for e in routine(11) if e.mono < on] + [ev(on, "sofa", Kind.PRESENCE, 1.0)]
    events += [ev(on + k * 10 * M, "pir_kitchen" if k % 2 else "pir_hall") for k in range(1, 12)]
    events += [ev(on + 7 * M, "tv", Kind.APPLIANCE, 90.0)]
    det = run(events)
    assert faults(det, on + 3 * H) == {} and det.status(on + 2 * H, 0)["held"] == ["sofa"]


def test_three_motion_sensors_seeing_someone_over_half_an_hour_of_a_hold_make_it_stuck():
    """One PIR may see the bed; three are other rooms: the person is up."""
    day = T0 + 10 * DAY
    on = day + 10 * H
    events = [e for e in routine(11) if e.mono < on] + [ev(on, "bed", Kind.PRESENCE, 1.0)]
    events += [ev(on + 2 * M, "pir_hall"), ev(on + 4 * M, "pir_kitchen"), ev(on + 6 * M, "pir_bath")]
    det = run(events)
    assert faults(det, on + 7 * M + SHOWN) == {} and det.status(on + 8 * M, 0)["held"] == ["bed"]  # not yet 30 min
    later = [ev(on + 32 * M, "pir_hall")]
    det = run(later, det)
    assert faults(det, on + 32 * M + SHOWN) == {"bed": ["stuck"]}
    assert det.status(on + 33 * M, 0)["held"] == []
    assert_bulk_is_per_event(events + later)


def inverted_bed_days(first, last, out=(9.0, 17.0)):
    """A bed mat wired the wrong way round: "ON" from getting up (07:00) to lying down (23:00),
    the time out (door at 09:00 and 17:00) included."""
    events = []
    for d in range(first, last):
        day = T0 + d * DAY
        events += [ev(day + 7 * H + 30, "bed", Kind.PRESENCE, 1.0), ev(day + 23 * H - 30, "bed", Kind.PRESENCE, 0.0)]
        if out:
            events += door(day + out[0] * H) + door(day + out[1] * H)
    return events


def out_of(events, first, last, out=(9.0, 17.0)):
    """``events`` without the inside activity of the times out on days first..last-1."""
    return [e for e in events if not any(T0 + d * DAY + out[0] * H - 5 * M < e.mono < T0 + d * DAY + out[1] * H + 5 * M
                                         for d in range(first, last))]


def test_a_mat_found_holding_nobody_again_within_three_days_reads_inverted_and_holds_nothing():
    mat = inverted_bed_days(8, 12)
    events = out_of(routine(12), 8, 12) + mat
    det = run([e for e in events if e.mono < T0 + 8 * DAY + 10 * H])
    assert faults(det, T0 + 8 * DAY + 10 * H) == {"bed": ["stuck"]}  # once: stuck (the door, at 09:00)
    det = run([e for e in events if T0 + 8 * DAY + 10 * H <= e.mono < T0 + 9 * DAY + 10 * H], det)
    assert faults(det, T0 + 9 * DAY + 10 * H) == {"bed": ["inverted"]}  # again the next day: inverted
    for d in (10, 11):  # its "ON" from 07:00 holds nothing: no stay is counted, the silence is watched
        det = run([e for e in events if T0 + (d - 1) * DAY + 10 * H <= e.mono < T0 + d * DAY + 8 * H], det)
        assert faults(det, T0 + d * DAY + 8 * H) == {"bed": ["inverted"]}
        assert det.status(T0 + d * DAY + 8 * H, 0)["held"] == []
    episodes = assert_bulk_is_per_event(events)
    assert not [e for e in episodes if e.finding.type == "stayed_in_place"]
    shown = [e for e in episodes if e.finding.type == "sensor_fault"]
    assert [e.finding.detail["reasons"] for e in shown] == [["stuck"], ["inverted"]]
    assert shown[-1].end_mono is None  # contradicted every day: never trusted again


def test_an_inverted_mat_while_one_sits_still_does_not_hide_a_collapse():
    mat = inverted_bed_days(8, 11)
    events = out_of(routine(11), 8, 11) + mat
    collapse = T0 + 10 * DAY + 18 * H  # back at 17:00, then nothing; the mat reads "ON" (nobody in bed)
    events = [e for e in events if e.mono <= collapse]
    det = run(events)
    assert faults(det, collapse) == {"bed": ["inverted"]} and det.status(collapse, 0)["held"] == []
    due = det.next_check(collapse)
    assert due is not None and due - collapse < 6 * H
    assert "inactivity" in types(det, due)


def test_an_inverted_mat_is_trusted_again_after_behaving_for_three_days():
    """Rewired on day 12: ON at night, nobody at the door; trusted once 72 h have passed since
    its last contradiction and two nights in a row held nobody else's activity."""
    mat = inverted_bed_days(8, 12)
    nights = [ev(T0 + d * DAY + 23 * H, "bed", Kind.PRESENCE, v) if v else ev(T0 + (d + 1) * DAY + 7 * H - 60, "bed",
              Kind.PRESENCE, 0.0) for d in range(12, 17) for v in (1.0, 0.0)]
    events = out_of(routine(18), 8, 12) + mat + nights
    episodes = assert_bulk_is_per_event(events)
    inverted = [e for e in episodes if e.finding.type == "sensor_fault" and e.finding.detail["reasons"] == ["inverted"]]
    assert len(inverted) == 1
    last_contradiction = T0 + 11 * DAY + 9 * H  # the door, with the mat "ON" since 07:00
    trusted = inverted[0].end_mono
    assert trusted is not None and trusted > last_contradiction + 72 * H
    assert trusted == T0 + 15 * DAY + 7 * H - 60  # the end of the first good night after that
    det = run([e for e in events if e.mono <= T0 + 16 * DAY + 23 * H])
    assert faults(det, T0 + 16 * DAY + 23 * H + M) == {} and det.status(T0 + 16 * DAY + 23 * H + M, 0)["held"] == ["bed"]


def test_a_visitor_on_the_sofa_day_after_day_is_never_called_inverted():
    """The sofa held while someone else uses the kitchen and the toilet: no person on it, as far
    as the hub can tell (stuck), but the front door was never used while it held."""
    events = routine(14)
    for d in range(10, 14):
        on = T0 + d * DAY + 15 * H
        events += [ev(on, "sofa", Kind.PRESENCE, 1.0), ev(on + 5 * M, "fridge", Kind.DOOR, 1.0),
                   ev(on + 5 * M + 20, "fridge", Kind.DOOR, 0.0), ev(on + 40 * M, "toilet", Kind.DOOR, 1.0),
                   ev(on + 41 * M, "toilet", Kind.DOOR, 0.0), ev(on + 90 * M, "sofa", Kind.PRESENCE, 0.0)]
    episodes = assert_bulk_is_per_event(events)
    reasons = [e.finding.detail["reasons"] for e in episodes if e.finding.type == "sensor_fault"]
    assert reasons == [["stuck"]] * 4


def test_getting_up_from_the_bed_to_open_the_door_is_no_evidence_of_an_inverted_mat():
    """The door event reached the hub a few seconds before the mat's release (radio order), on
    two days running: each hold was judged stuck for those seconds, and neither counts."""
    events = routine(14)
    for d in (10, 11):
        on, door_at = T0 + d * DAY + 13 * H, T0 + d * DAY + 14 * H
        events += [ev(on, "bed", Kind.PRESENCE, 1.0)] + door(door_at)
        events += [ev(door_at + 3, "bed", Kind.PRESENCE, 0.0)]
    on = T0 + 12 * DAY + 13 * H  # a third day: the mat held while the resident is seen elsewhere
    events += [ev(on, "bed", Kind.PRESENCE, 1.0), ev(on + 5 * M, "fridge", Kind.DOOR, 1.0),
               ev(on + 40 * M, "cupboard", Kind.DOOR, 1.0)]
    episodes = assert_bulk_is_per_event(events)
    reasons = [e.finding.detail["reasons"] for e in episodes if e.finding.type == "sensor_fault"]
    assert reasons == [["stuck"]]  # the races were never shown, and were no evidence


def test_a_mat_stuck_again_after_more_than_three_days_is_stuck_not_inverted():
    day = T0 + 10 * DAY
    leaves = [day + 9 * H, day + 4 * DAY + 9 * H]
    events = routine(15)
    for leave in leaves:
        events = [e for e in events if not leave - 5 * M < e.mono < leave + 8 * H + 5 * M]
        events += [ev(leave - 90 * M, "bed", Kind.PRESENCE, 1.0)] + door(leave) + door(leave + 8 * H)
        events += [ev(leave + 8 * H + 20 * M, "bed", Kind.PRESENCE, 0.0)]
    episodes = assert_bulk_is_per_event(events)
    reasons = [e.finding.detail["reasons"] for e in episodes if e.finding.type == "sensor_fault"]
    assert reasons == [["stuck"], ["stuck"]]


# ------------------------------------------------------------------ inverted
def test_an_entrance_reading_open_through_an_absence_is_inverted_until_it_reads_closed_through_one():
    day = T0 + 10 * DAY
    leave, back = day + 9 * H, day + 17 * H
    events = [e for e in routine(12) if not leave - 5 * M < e.mono < back + 5 * M
              and not leave + DAY - 5 * M < e.mono < back + DAY + 5 * M]
    inverted = door(leave, (0.0, 1.0)) + door(back, (0.0, 1.0))  # closed in blips, "open" all the time out
    det = run([e for e in events if e.mono < back] + inverted[:2])
    assert faults(det, back - M) == {}
    det = run([e for e in events if back <= e.mono < leave + DAY] + inverted[2:], det)
    assert faults(det, back + SHOWN) == {"front": ["inverted"]}
    f = [f for f in det.check(back + SHOWN, 0) if f.type == "sensor_fault"][0]
    assert f.since_mono == leave + 4  # reading open since the leaving
    assert types(det, back + 2 * H) == ["sensor_fault"]  # absences are still inferred
    fixed = door(leave + DAY) + door(back + DAY)  # a normal reed again: closed through the absence
    det = run([e for e in events if e.mono >= leave + DAY] + fixed, det)
    assert faults(det, back + DAY + H) == {}
    assert_bulk_is_per_event(events + inverted + fixed)


def test_a_door_left_open_as_one_leaves_is_not_called_inverted():
    day = T0 + 10 * DAY
    leave, back = day + 9 * H, day + 17 * H
    events = [e for e in routine(11) if not leave - 5 * M < e.mono < back + 5 * M]
    events += door(leave, (1.0,)) + door(back, (1.0, 0.0))
    assert faults(run(events), back + H) == {}


# ------------------------------------------------------------------ pulses
def couch_days(days):
    """Every evening: the couch mat sends a 1-s pulse at 19:00 and the resident sits still for
    2.5-3.5 h; moving about before and after."""
    rng = np.random.default_rng(7)
    events = []
    for d in range(days):
        sit = T0 + d * DAY + 19 * H
        up = sit + rng.uniform(2.5, 3.5) * H
        events += [e for e in routine(1, start_day=d) if not sit - 5 * M < e.mono < up]
        events += [ev(sit, "couch", Kind.PRESENCE, 1.0), ev(sit + 1, "couch", Kind.PRESENCE, 0.0)]
    return sorted(events, key=lambda e: e.mono)


def test_a_seat_mat_that_only_pulses_is_learned_as_such_and_its_silence_judged_as_sitting():
    events = couch_days(21)
    det = run(events)
    couch = det.state()["sens"][det.sensors.index("couch")]
    assert couch[SENS_FIELDS.index("pulses")] == 1.0 and couch[SENS_FIELDS.index("held_learned")] == 1.0
    # the silence after a couch pulse waits for the couch's learned stay, longer than the slot rule's
    sit = T0 + 21 * DAY + 19 * H
    det = run([ev(sit - 20 * M), ev(sit, "couch", Kind.PRESENCE, 1.0), ev(sit + 1, "couch", Kind.PRESENCE, 0.0)],
              det)
    slot_due, _, _ = kernels.inactivity_due(sit + 1, sit + 1, det.state()["thr"], det.params.slot_minutes * M)
    stay = couch[SENS_FIELDS.index("held_limit")]
    assert det.next_check(sit + 1) == pytest.approx(sit + 1 + stay) and sit + 1 + stay > slot_due
    assert det.status(sit + 2, 0)["held"] == []  # a pulse is never held
    # whereas a PIR's event at the same moment is judged by the time of day alone
    other = run([ev(sit + 2)], run(events))
    assert other.next_check(sit + 2) < sit + 1 + stay


def test_a_pulse_only_seat_mat_raises_no_stayed_in_place_and_no_evening_alarm():
    episodes = assert_bulk_is_per_event(couch_days(21))
    learned_from = T0 + 7 * DAY
    assert [e.finding.type for e in episodes if e.start_mono >= learned_from and e.end_mono is not None] == []


# ------------------------------------------------------------------ corroboration
def away_day(extra):
    day = T0 + 10 * DAY
    leave = day + 9 * H
    events = [e for e in routine(11) if e.mono < leave - 5 * M] + door(leave) + extra
    return leave, sorted(events, key=lambda e: e.mono)


def test_one_stray_pulse_does_not_end_an_absence():
    t = T0 + 10 * DAY + 11 * H
    leave, events = away_day([ev(t, "couch", Kind.PRESENCE, 1.0), ev(t + 1, "couch", Kind.PRESENCE, 0.0)])
    det = run(events)
    assert det.status(t + M, 0)["inferred"] == "away"
    assert det.next_check(t + M) == pytest.approx(leave + det.status(t, 0)["absence_limit_seconds"])
    assert "inactivity" not in types(det, t + 6 * H)
    assert_bulk_is_per_event(events)


def test_the_same_sensor_twice_does_not_end_an_absence():
    t = T0 + 10 * DAY + 11 * H
    _, events = away_day([ev(t, "pir_kitchen"), ev(t + 90, "pir_kitchen"), ev(t + 3 * M, "pir_kitchen")])
    assert run(events).status(t + 4 * M, 0)["inferred"] == "away"


def test_two_sensors_within_minutes_end_an_absence_without_a_door_event():
    t = T0 + 10 * DAY + 14 * H  # back, the front door's event missed
    leave, events = away_day([ev(t, "pir_kitchen"), ev(t + 3 * M, "pir_hall")])
    det = run(events)
    assert det.status(t + 4 * M, 0)["inferred"] == "home"
    assert "inactivity" in types(det, det.next_check(t + 4 * M))  # watched from the return on
    away = det.replay(EventBatch.from_events([])).away
    assert_bulk_is_per_event(events)
    bulk = LearnedDetector().replay(EventBatch.from_events(events)).away
    assert bulk[-1].tolist() == [leave, t + 3 * M] and away.size == 0


def test_a_return_through_the_entrance_is_watched_at_once():
    back = T0 + 10 * DAY + 14 * H
    _, events = away_day(door(back))
    det = run(events)
    assert det.status(back + 5 * M, 0)["inferred"] == "home"
    due = det.next_check(back + 5)
    assert due - back < 6 * H and "inactivity" in types(det, due)


def test_a_lone_pulse_after_a_long_absence_ends_it_once_a_second_sensor_follows():
    t = T0 + 10 * DAY + 20 * H
    _, events = away_day([ev(t, "pir_kitchen"), ev(t + 10 * M, "pir_hall"), ev(t + 12 * M, "pir_kitchen")])
    det = run([e for e in events if e.mono <= t + 10 * M])
    assert det.status(t + 11 * M, 0)["inferred"] == "away"  # 10 min apart: each alone
    det = run([e for e in events if e.mono > t + 10 * M], det)
    assert det.status(t + 13 * M, 0)["inferred"] == "home"
    assert_bulk_is_per_event(events)
