import io
import math

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from hubd.events import Event, EventCsvError, EventReader, Kind, events_to_csv, format_local, parse_time, read_events
from hubd.replay.loader import load_event_log

from test_bulk_kernels import csv_texts  # the event-CSV grammar the loader is checked with

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


# -- the header is part of the contract (issue 13: a CSV without one gave 0 events silently) ---

HEADER_LINE = "time,sensor,kind,value"


@pytest.mark.parametrize("text, words", [
    ("2008-02-25T09:33:41,hall,door,1\n2008-02-25T09:40:00,hall,door,0\n",
     "expected the header time,sensor,kind,value, got '2008-02-25T09:33:41,hall,door,1'"),
    ("timestamp,sensor,type,value\n2008-02-25T09:33:41,hall,door,1\n", "got 'timestamp,sensor,type,value'"),
    ("TIME,sensor,kind,value\n", "got 'TIME,sensor,kind,value'"),
    ("time;sensor;kind;value\n", "got 'time;sensor;kind;value'"),
    ("time,sensor,kind\n", "got 'time,sensor,kind'"),
    ("\n" + HEADER_LINE + "\n", "got an empty line"),
    ("\ufeff" + HEADER_LINE + "\n", "a byte-order mark"),
    ("", "the input is empty: an event CSV starts with the header time,sensor,kind,value"),
])
def test_a_missing_or_wrong_header_is_an_error_naming_line_1(text, words):
    with pytest.raises(EventCsvError) as info:
        read_events(io.StringIO(text, newline=""))
    assert info.value.line == 1 and words in str(info.value) and str(info.value).startswith("line 1: ")
    log = load_event_log(text.encode())  # the fast loader says the same, with no rows
    assert len(log) == 0 and str(log.error) == str(info.value)


@pytest.mark.parametrize("text", [HEADER_LINE + "\n", " time , sensor,kind,value\r\n", '"time","sensor","kind","value"\n',
                                  HEADER_LINE])
def test_a_header_alone_is_an_empty_log(text):
    assert read_events(io.StringIO(text, newline="")) == []
    log = load_event_log(text.encode())
    assert len(log) == 0 and log.error is None


def test_what_the_hub_writes_has_the_header():
    """hubd export, the simulator (Resident.to_csv) and the benchmarks all go through write_events
    (export chunks are events_to_csv; the benchmark logs are checked in test_real_logs)."""
    assert events_to_csv([]) == HEADER_LINE + "\n"
    event = Event(1.2e9, 1.2e9, "hall", Kind.MOTION, 1.0)
    assert read_events(io.StringIO(events_to_csv([event]))) == [event]


def _strict_bytes(data: bytes):
    """The strict reader on bytes, as ``hubd replay --per-event`` opens a file."""
    reader = EventReader(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="surrogateescape", newline=""))
    rows, it = [], iter(reader)
    while True:
        try:
            ev = next(it)
        except StopIteration:
            return rows, None
        except EventCsvError as exc:
            return rows, (exc.line, str(exc))
        rows.append((ev, reader.offset))


def _fast_bytes(data: bytes):
    log = load_event_log(data)
    rows = list(zip(log.events(), [log.offset_of(i) for i in range(len(log))]))
    return rows, None if log.error is None else (log.error.line, str(log.error))


@pytest.mark.parametrize("data, line, byte", [
    (b"time,sensor,kind,value\n2008-02-25T09:33:41,ha\xffll,door,1\n", 2, "0xff"),
    (b"time,sensor,kind,value\n2008-02-25T09:33:41,hall,door,1\n2008-02-25T09:33:42,hall,door,\xc3\n", 3, "0xc3"),
    (b"time,sensor,kind,value\n2008-02-25T09:33:41,k\xc3\xbcche,door,1\n\xed\xa0\x80\n", 3, "0xed"),  # an encoded surrogate
    (b"tim\xe9,sensor,kind,value\n", 1, "0xe9"),  # Latin-1
])
def test_bytes_that_are_not_utf8_are_an_error_naming_their_line(data, line, byte):
    rows, error = _strict_bytes(data)
    assert error == (line, f"line {line}: not UTF-8 text (byte {byte})")
    assert _fast_bytes(data) == (rows, error)
    assert len(rows) == line - 2 if line > 1 else rows == []


_junk = st.sampled_from([b"\xff", b"\xc3", b"\xe9", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xef\xbb\xbf", b"\xc3\xbc",
                         b"\x00", b'"', b"\r", b"\n", b","])


@st.composite
def csv_bytes(draw):
    """Grammar-based event CSV text (test_bulk_kernels), with bytes spliced in, valid UTF-8 or not."""
    data = draw(csv_texts()).encode("utf-8")
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(_junk) + data[at:]
    return data


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])  # the grammar is slow to draw
@given(csv_bytes())
def test_fuzz_loader_and_strict_reader_agree_on_any_bytes(data):
    """Same rows, same first error (line and message): the header, bad bytes, bad rows alike."""
    strict = _strict_bytes(data)
    fast = _fast_bytes(data)
    assert fast[1] == strict[1]
    assert len(fast[0]) == len(strict[0])
    for (a, oa), (b, ob) in zip(fast[0], strict[0]):
        assert a == b and oa == ob


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_any_bytes_give_events_or_a_line_numbered_error(data):
    rows, error = _strict_bytes(data)
    assert error is None or error[0] >= 1
    assert _fast_bytes(data)[1] == error
