import io
import math

import pytest
from hypothesis import given, settings, strategies as st

from hubd.events import Event, EventCsvError, Kind, events_to_csv, format_local, parse_time, read_events

SAMPLE = """time,sensor,kind,value
2008-02-25T09:33:41,hall_bedroom_door,door,1
2008-02-25T09:33:42,hall_bedroom_door,door,0
2008-02-25T09:40:00,kettle,appliance,2200.5
"""


def test_reads_design_example():
    events = read_events(io.StringIO(SAMPLE))
    assert [e.kind for e in events] == [Kind.DOOR, Kind.DOOR, Kind.APPLIANCE]
    assert events[2].value == 2200.5
    assert format_local(events[0].local) == "2008-02-25T09:33:41"
    assert events[1].mono - events[0].mono == 1.0


def test_offset_times_are_absolute_and_keep_their_convention():
    a = parse_time("2008-02-25T09:00:00+09:00")
    b = parse_time("2008-02-25T00:00:00+00:00")
    assert a.mono == b.mono
    assert format_local(a.local, a.offset) == "2008-02-25T09:00:00+09:00"
    assert parse_time("2008-02-25T00:00:00Z").mono == b.mono


@pytest.mark.parametrize("row, words", [
    ("2008-02-25T09:33:41,x,door", "expected 4 fields"),
    ("yesterday,x,door,1", "not ISO 8601"),
    ("2008-02-25T09:33:41,,door,1", "sensor id is empty"),
    ("2008-02-25T09:33:41,x,window,1", "unknown kind 'window'"),
    ("2008-02-25T09:33:41,x,door,open", "not a number"),
    ("2008-02-25T09:33:41,x,door,nan", "not finite"),
    ("2008-02-25T09:00:00,x,door,1", "out of time order"),
])
def test_bad_rows_name_their_line(row, words):
    text = SAMPLE + row + "\n"
    with pytest.raises(EventCsvError) as info:
        read_events(io.StringIO(text))
    assert info.value.line == 5
    assert words in str(info.value) and "line 5" in str(info.value)


_kinds = st.sampled_from(list(Kind))
_sensor = st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**6), _sensor, _kinds,
                          st.one_of(st.integers(0, 5000), st.floats(0, 5000, allow_nan=False))), max_size=30))
def test_csv_round_trip(rows):
    start = 1_200_000_000
    t = start
    events = []
    for gap, sensor, kind, value in rows:
        t += gap
        events.append(Event(float(t), float(t), sensor, kind, float(value)))
    back = read_events(io.StringIO(events_to_csv(events)))
    assert [(e.local, e.sensor, e.kind) for e in back] == [(e.local, e.sensor, e.kind) for e in events]
    assert all(math.isclose(a.value, b.value) for a, b in zip(back, events))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_fuzzed_csv_raises_only_csv_errors(text):
    try:
        read_events(io.StringIO(text))
    except EventCsvError as exc:
        assert exc.line >= 1
