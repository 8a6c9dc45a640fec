"""The daily rhythm record: its fields on a known day, across a restart and DST, bounded."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import given, strategies as st

from hubd.config import parse_config
from hubd.core.engine import Engine
from hubd.core.rhythm_record import MAX_RECORDS, RhythmDays, _pack, _unpack
from hubd.events import Event, Kind
from hubd.store import dumps, loads

from rhythm_life import DAY, DAY0, HOUR, day_events, life


def feed(days: RhythmDays, events) -> list[dict]:
    out = []
    for e in events:
        out += days.observe(e)
    return out


def test_a_known_day_gives_its_numbers():
    days = RhythmDays(outing_minutes=15)
    recs = feed(days, life(3) + day_events(DAY0 + 3))  # the 4th day's first event closes day 3
    rec = recs[1]  # day 2: watched from its start, a night before it
    assert rec["date"] == "2024-01-02" and not rec.get("partial")
    # motion every 10 min from 07:00 to 23:00 except 10:00-12:00 out: 96 - 12 = 84 minutes, + the door at
    # 10:00 (the one at 12:00 shares its minute with motion)
    assert rec["active_minutes"] == 84 + 1
    assert rec["outings"] == 1 and 119 <= rec["out_minutes"] <= 121
    assert rec["night_active_minutes"] == 0
    # the last motion at 22:50, the first at 07:00: the night between
    assert (rec["sleep_onset"], rec["wake"], rec["sleep_mid"]) == (22.85, 7.0, 2.92)
    assert rec["sleep_from"] == "activity"
    assert recs[0]["partial"] is True  # the first day seen is seen from its first event only
    assert rec["w7"] is None and rec["w28"] is None  # not a week kept yet


def test_trailing_windows_use_the_rhythm_kernels():
    from hubd.detector import rhythm

    days = RhythmDays()
    events = life(30)
    recs = feed(days, events)
    last = recs[-1]
    assert last["w7"] is not None and last["w28"] is not None
    day = last["day"]
    times = np.array([e.local for e in events if e.local < (day + 1) * DAY])
    m = rhythm.rhythm_metrics(times, (day - 6) * DAY, (day + 1) * DAY)
    assert last["w7"]["IS"] == round(m.IS, 3) and last["w7"]["L5_onset"] == round(m.L5_onset_hours, 2)
    assert set(last["w7"]) == {"IS", "IV", "RA", "L5", "M10", "L5_onset", "M10_onset"}


def test_a_bed_mat_gives_the_night():
    days = RhythmDays(bed_sensors={"bed_mat"})
    evs = []
    for d in range(3):
        evs += day_events(DAY0 + d, wake=8.0, bed=21.0)
        on, off = (DAY0 + d) * DAY + 22.5 * HOUR, (DAY0 + d + 1) * DAY + 6.5 * HOUR
        evs += [Event(on, on, "bed_mat", Kind.PRESENCE, 1.0), Event(off, off, "bed_mat", Kind.PRESENCE, 0.0)]
    evs.sort(key=lambda e: e.mono)
    recs = feed(days, evs + day_events(DAY0 + 3))
    assert recs[1]["sleep_from"] == "bed"
    assert (recs[1]["sleep_onset"], recs[1]["wake"]) == (22.5, 6.5)


def engine():
    return Engine(parse_config({"sensors": [{"id": "hall_pir", "kind": "motion", "pin": 5},
                                            {"id": "front_door", "kind": "entrance", "pin": 6}]}))


def test_records_survive_a_reload_and_a_restart_skips_what_it_did_not_see():
    events = life(10)
    whole = engine()
    for e in events:
        whole.observe_rhythm(e)
    cut = len(events) // 2
    first = engine()
    for e in events[:cut]:
        first.observe_rhythm(e)
    snap = loads(dumps(first.snapshot(events[cut].mono, events[cut].local)))  # as the store keeps it
    second = engine()
    second.restore(snap, events[cut].mono, events[cut].local, restarted=False)  # a reload: nothing missed
    for e in events[cut:]:
        second.observe_rhythm(e)
    assert list(second.wellbeing.days.records) == list(whole.wellbeing.days.records)

    third = engine()  # a restart two days later: the day it went down in is partial, the missed ones absent
    later = events[cut].local + 2 * DAY
    third.restore(snap, later, later, restarted=True)
    for e in [e for e in events if e.local > later]:
        third.observe_rhythm(e)
    dates = [r["date"] for r in third.wellbeing.days.records]
    assert len(dates) == len(set(dates))
    down_day = int(events[cut - 1].local // DAY)
    partial = {r["day"] for r in third.wellbeing.days.records if r.get("partial")}
    assert down_day in partial and int(later // DAY) in partial
    assert not any(down_day < r["day"] < int(later // DAY) for r in third.wellbeing.days.records)


def _local(dt: datetime) -> float:
    """The hub's local seconds: the wall clock read as if it were UTC (as hubd.clock does)."""
    return dt.replace(tzinfo=None).timestamp() - datetime(1970, 1, 1).timestamp()


def test_dst_days_are_one_record_each():
    tz = ZoneInfo("Europe/Berlin")
    start = datetime(2024, 3, 28, 0, 0, tzinfo=tz)
    events, t = [], start
    while t < datetime(2024, 4, 3, tzinfo=tz) or (datetime(2024, 10, 24, tzinfo=tz) <= t < datetime(2024, 10, 31, tzinfo=tz)):
        if 7 <= t.hour < 23:
            local = _local(t)
            events.append(Event(t.timestamp(), local, "hall_pir", Kind.MOTION, 1.0))
        t = (t.astimezone(ZoneInfo("UTC")) + timedelta(minutes=10)).astimezone(tz)
        if t >= datetime(2024, 4, 3, tzinfo=tz) and t < datetime(2024, 10, 24, tzinfo=tz):
            t = datetime(2024, 10, 24, tzinfo=tz)
    days = RhythmDays()
    recs = feed(days, events)
    dates = [r["date"] for r in recs]
    assert "2024-03-31" in dates and "2024-10-27" in dates
    assert len(dates) == len(set(dates)) and dates == sorted(dates)
    by = {r["date"]: r for r in recs}
    assert by["2024-03-31"]["active_minutes"] == by["2024-03-30"]["active_minutes"] == 96
    assert by["2024-10-27"]["active_minutes"] == 96  # the repeated hour is at night: same minutes
    assert by["2024-04-01"]["sleep_onset"] == 22.85 and by["2024-10-28"]["wake"] == 7.0


def test_a_clock_set_back_over_midnight_never_reopens_a_day():
    days = RhythmDays()
    feed(days, day_events(DAY0) + day_events(DAY0 + 1))
    n = len(days.records)
    back = (DAY0 + 1) * DAY - 60.0
    assert days.observe(Event(back, back, "hall_pir", Kind.MOTION, 1.0)) == []
    assert len(days.records) == n


def test_a_year_is_bounded_and_small():
    days = RhythmDays()
    feed(days, life(450, per_day=lambda i: {"step_min": 30}))
    assert len(days.records) == MAX_RECORDS
    size = len(json.dumps(days.state()))
    assert size < 500_000


@given(st.binary(min_size=180, max_size=180))
def test_minute_flags_pack_and_unpack(raw):
    a = np.unpackbits(np.frombuffer(raw, dtype=np.uint8)).astype(bool)
    assert (_unpack(_pack(a)) == a).all()


@given(st.binary(max_size=179))
def test_a_damaged_day_is_refused_not_misread(raw):
    import binascii

    try:
        _unpack(__import__("base64").b64encode(raw).decode())
    except (ValueError, binascii.Error):
        return
    raise AssertionError("a short day was accepted")


def test_the_engines_tick_closes_a_day_without_an_event():
    """A flat silent after midnight still gets yesterday's record at the first tick of the new day."""
    eng = engine()
    for e in life(2):
        eng.observe_rhythm(e)
    n = len(eng.wellbeing.days.records)
    midnight = (DAY0 + 2) * DAY
    eng.tick(midnight - 1.0, midnight - 1.0)
    assert len(eng.wellbeing.days.records) == n
    eng.tick(midnight + 30.0, midnight + 30.0)
    assert [r["date"] for r in eng.wellbeing.days.records][n:] == ["2024-01-02"]


def test_nothing_is_recorded_while_the_wall_clock_is_unset():
    eng = engine()
    eng.start_fresh(0.0, 0.0, synced=False)
    assert all(eng.observe_rhythm(e) == [] for e in life(3))
    assert eng.wellbeing.days.day is None
