"""hubsim.quirks: each injected sensor fault does exactly what it says, and every faulty log
keeps time order and each binary sensor's 1/0 alternation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hubd.events import EventBatch, Kind
from hubsim import quirks

H, DAY, MIN = 3600.0, 86400.0, 60.0
T0 = 1_704_067_200.0
BINARY = (Kind.MOTION, Kind.PRESENCE, Kind.DOOR, Kind.ENTRANCE)


def home_log(seed: int, days: int = 8, mats: bool = True, pir: bool = True) -> EventBatch:
    """A small home: PIR, bed and chair mats, fridge, front door; out 10:00 for 2-5 h most days."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[float, str, int, float]] = []

    def pulse(t, name, kind, length):
        rows.extend([(t, name, kind, 1.0), (t + length, name, kind, 0.0)])

    def potter(a, b):
        t = a + rng.exponential(600)
        while t < b - 60:
            if pir:
                pulse(t, "hall_pir", Kind.MOTION, 20.0)
            if rng.random() < 0.3:
                pulse(t + 25, "fridge", Kind.DOOR, 8.0)
            t += 60 + rng.exponential(600)

    for d in range(days):
        day = T0 + d * DAY
        wake = day + (7 + rng.uniform(-0.5, 0.5)) * H
        potter(wake, day + 10 * H)
        if rng.random() < 0.8:
            back = day + (12 + rng.uniform(0, 3)) * H
            pulse(day + 10 * H, "front_door", Kind.ENTRANCE, 5.0)
            pulse(back, "front_door", Kind.ENTRANCE, 5.0)
            potter(back + 30, day + 19 * H)
        else:
            potter(day + 10 * H, day + 19 * H)
        if mats:
            pulse(day + 19 * H, "chair_mat", Kind.PRESENCE, rng.uniform(0.5, 2.0) * H)
        potter(day + 21.5 * H, day + 23 * H)
        if mats:
            rows.extend([(day + 23 * H, "bed_mat", Kind.PRESENCE, 1.0),
                         (day + DAY + 6.9 * H, "bed_mat", Kind.PRESENCE, 0.0)])
    rows.sort(key=lambda r: r[0])
    names = tuple(dict.fromkeys(r[1] for r in rows))
    t = np.array([r[0] for r in rows])
    return EventBatch(t, t.copy(), np.array([int(r[2]) for r in rows], dtype=np.int64),
                      np.array([names.index(r[1]) for r in rows], dtype=np.int64),
                      np.array([r[3] for r in rows]), names)


def rows_of(batch: EventBatch, name: str) -> list[tuple[float, float]]:
    if name not in batch.sensors:
        return []
    mine = batch.sensor == batch.sensors.index(name)
    return list(zip(batch.mono[mine].tolist(), batch.value[mine].tolist()))


def others_unchanged(before: EventBatch, after: EventBatch, name: str) -> None:
    for s in before.sensors:
        if s != name:
            assert rows_of(after, s) == rows_of(before, s), s


def on_intervals(batch: EventBatch, name: str) -> list[tuple[float, float]]:
    rows = rows_of(batch, name)
    return [(t, rows[i + 1][0]) for i, (t, v) in enumerate(rows[:-1]) if v > 0]


def assert_well_formed(batch: EventBatch) -> None:
    assert np.all(np.diff(batch.mono) >= 0), "time order"
    assert np.all(np.diff(batch.local - batch.mono) == 0), "local time advances with mono"
    for i, name in enumerate(batch.sensors):
        mine = batch.sensor == i
        assert mine.any(), name
        assert int(batch.kind[mine][0]) in BINARY and np.all(batch.kind[mine] == batch.kind[mine][0])
        on = (batch.value[mine] > 0).astype(int)
        assert np.all(np.diff(on) != 0), f"{name} does not alternate"


@settings(max_examples=20, deadline=None)
@given(home=st.integers(0, 10_000), seed=st.integers(0, 10_000), name=st.sampled_from(sorted(quirks.QUIRKS)),
       days=st.integers(6, 12))
def test_every_quirk_keeps_time_order_and_alternation(home, seed, name, days):
    before = home_log(home, days)
    assert_well_formed(before)
    after = quirks.apply(name, before, seed=seed)
    assert_well_formed(after)
    again = quirks.apply(name, before, seed=seed)  # same seed, same fault
    assert again.sensors == after.sensors and all(
        np.array_equal(getattr(again, c), getattr(after, c)) for c in ("mono", "local", "kind", "sensor", "value"))


@settings(max_examples=15, deadline=None)
@given(home=st.integers(0, 10_000), seed=st.integers(0, 10_000))
def test_a_stuck_mat_is_on_for_a_whole_day_and_otherwise_untouched(home, seed):
    before = home_log(home, 9)
    name = quirks.target_sensor("stuck_presence", before, seed)
    assert name in ("bed_mat", "chair_mat")
    after = quirks.stuck_presence(before, seed=seed)
    others_unchanged(before, after, name)
    long = [(a, b) for a, b in on_intervals(after, name) if b - a >= 24 * H - 1e-6]
    assert len(long) == 1
    a, b = long[0]
    assert a >= before.mono[0] + 3 * DAY - 9 * H  # from day 3 on (or a hold that was under way then)
    outside = lambda rows: [r for r in rows if not a <= r[0] <= b]  # noqa: E731
    assert outside(rows_of(after, name)) == outside(rows_of(before, name))


def test_a_home_without_a_mat_gets_one_that_is_stuck():
    before = home_log(3, 8, mats=False)
    after = quirks.stuck_presence(before, seed=2)
    others_unchanged(before, after, "stuck_mat")
    (t_on, v_on), (t_off, v_off) = rows_of(after, "stuck_mat")
    assert (v_on, v_off) == (1.0, 0.0) and t_off - t_on == pytest.approx(24 * H)
    assert after.kind[after.sensor == after.sensors.index("stuck_mat")][0] == Kind.PRESENCE


@settings(max_examples=15, deadline=None)
@given(home=st.integers(0, 10_000), seed=st.integers(0, 10_000))
def test_a_pulse_only_seat_sends_a_pulse_at_each_sitting_and_one_while_sitting(home, seed):
    before = home_log(home, 8)
    after = quirks.pulse_only_seat(before, seed=seed)
    others_unchanged(before, after, "chair_mat")
    held = on_intervals(before, "chair_mat")
    pulses = on_intervals(after, "chair_mat")
    assert all(b - a == pytest.approx(1.0) for a, b in pulses)
    starts = [a for a, _ in pulses]
    assert len(pulses) == 2 * len(held)  # sittings of 30 min or more: one at the start, one at random
    for a, b in held:
        inside = [t for t in starts if a <= t < b]
        assert inside[0] == a and len(inside) == 2 and a + 1 < inside[1] < b - 1


def test_pulse_only_seat_needs_a_seat_mat():
    with pytest.raises(quirks.QuirkNotApplicable, match="seat"):
        quirks.pulse_only_seat(home_log(1, 8, mats=False))


def test_an_inverted_entrance_reed_has_every_value_flipped_and_nothing_else():
    before = home_log(5, 8)
    after = quirks.inverted_entrance(before)
    others_unchanged(before, after, "front_door")
    assert [(t, 1.0 - v) for t, v in rows_of(before, "front_door")] == rows_of(after, "front_door")


def test_an_inverted_mat_is_a_bed_mat_with_every_value_flipped_and_nothing_else():
    before = home_log(6, 8)
    name = quirks.target_sensor("inverted_presence", before, seed=3)
    assert name == "bed_mat"  # a bed mat by preference (the chair mat is the other one)
    after = quirks.inverted_presence(before, seed=3)
    others_unchanged(before, after, "bed_mat")
    assert [(t, 1.0 - v) for t, v in rows_of(before, "bed_mat")] == rows_of(after, "bed_mat")


def test_an_inverted_mat_needs_a_mat():
    with pytest.raises(quirks.QuirkNotApplicable, match="mat"):
        quirks.inverted_presence(home_log(1, 8, mats=False))


@settings(max_examples=10, deadline=None)
@given(home=st.integers(0, 10_000), seed=st.integers(0, 10_000))
def test_a_chattering_pir_toggles_for_hours_on_three_days(home, seed):
    before = home_log(home, 10)
    after = quirks.chattering_pir(before, seed=seed)
    others_unchanged(before, after, "hall_pir")
    old, new = rows_of(before, "hall_pir"), rows_of(after, "hall_pir")
    added = np.array(sorted(t for t, _ in set(new) - set(old)))
    cut = np.flatnonzero(np.diff(added) > H) + 1  # the bursts are on different days
    bursts = [(part[0], part[-1]) for part in np.split(added, cut)]
    assert len(bursts) == 3 and len({int((a - before.mono[0]) // DAY) for a, _ in bursts}) == 3  # log days
    for a, b in bursts:
        n = np.count_nonzero((added >= a) & (added <= b))
        assert 2 * H - 60 <= b - a <= 4 * H and n / (b - a) > 1 / 10.0  # hours of toggles, more than one per 10 s
        assert not [r for r in old if a < r[0] < b and r in set(new)]  # its own events in a burst are gone


def test_a_home_without_a_pir_gets_one_that_only_chatters():
    before = home_log(4, 9, pir=False)
    after = quirks.chattering_pir(before, seed=1)
    others_unchanged(before, after, "chatter_pir")
    assert len(rows_of(after, "chatter_pir")) > 3 * 2 * H / 10


@settings(max_examples=15, deadline=None)
@given(home=st.integers(0, 10_000), seed=st.integers(0, 10_000))
def test_a_missed_door_event_drops_the_return_of_one_absence(home, seed):
    before = home_log(home, 8)
    after = quirks.missed_return_door(before, seed=seed)
    others_unchanged(before, after, "front_door")
    gone = sorted(set(rows_of(before, "front_door")) - set(rows_of(after, "front_door")))
    returns = [tuple(sorted((before.mono[i], before.value[i]) for i in a.return_events))
               for a in quirks.absences(before)]
    assert len(gone) == 2 and tuple(gone) in returns  # the door opened and closed on the way back


@settings(max_examples=15, deadline=None)
@given(home=st.integers(0, 10_000), seed=st.integers(0, 10_000))
def test_two_stray_pulses_land_inside_an_absence(home, seed):
    before = home_log(home, 8)
    after = quirks.stray_pulses(before, seed=seed)
    assert len(after) == len(before) + 4
    changed = [s for s in after.sensors if rows_of(after, s) != rows_of(before, s)]
    assert len(changed) == 1 and changed[0] in ("chair_mat", "bed_mat")  # a presence pulse where there is a mat
    added = sorted(set(rows_of(after, changed[0])) - set(rows_of(before, changed[0])))
    ons = [t for t, v in added if v > 0]
    assert len(ons) == 2 and MIN <= ons[1] - ons[0] <= 5 * MIN
    assert any(a.leave < ons[0] and ons[1] + 1 < a.back for a in quirks.absences(before))


def test_absences_are_door_silence_door():
    log = home_log(7, 8)
    found = quirks.absences(log)
    doors = rows_of(log, "front_door")
    assert len(found) == len(doors) // 4  # every outing of the generator, nothing else
    for a in found:
        assert 2 * H - 10 <= a.back - a.leave <= 5 * H + 10 and a.returned_at > a.back
