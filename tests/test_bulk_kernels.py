"""The bulk kernels (``hubd.replay.bulk_kernels``) against their slow, obvious references.

* ``parse_csv`` / ``replay.loader.load_event_log`` against ``events.EventReader``: the same rows,
  the same UTC offsets, the same first error (line and message), on grammar-based and on
  arbitrary text.
* ``FixedTimerDetector``'s kernel against the rule written plainly (``fixed_timer_reference``);
  ``fixed_advance`` against ``FixedTimerDetector`` fed per event: the same state arrays after
  the events, and it never names a time later than the first change in what ``check`` shows.
* ``first_visible`` against its definition.
* ``run_calls`` (the health watcher and the engine's tick schedule) is checked through the
  engine against ``SensorHealth`` and ``Replayer`` in ``test_replay_bulk.py``.
"""

from __future__ import annotations

import io
import math

import numpy as np
from hypothesis import HealthCheck, example, given, settings, strategies as st

from hubd.replay import bulk_kernels as bk
from hubd.detector.base import FixedTimerDetector
from hubd.events import Event, EventCsvError, EventReader, Kind
from fixed_timer_reference import ReferenceFixedTimer
from hubd.replay.loader import load_event_log


# ----------------------------------------------------------------------------- CSV loader
def strict(text: str):
    """What the streaming reader yields: (events, offset after each row), then its error or None."""
    reader = EventReader(io.StringIO(text, newline=""))
    rows, error = [], None
    it = iter(reader)
    while True:
        try:
            ev = next(it)
        except StopIteration:
            break
        except EventCsvError as exc:
            error = (exc.line, str(exc))
            break
        rows.append((ev, reader.offset))
    return rows, error


def fast(data):
    log = load_event_log(data)
    rows = list(zip(log.events(), [log.offset_of(i) for i in range(len(log))]))
    error = None if log.error is None else (log.error.line, str(log.error))
    return rows, error


def same_rows(a, b):
    assert len(a) == len(b)
    for (ea, oa), (eb, ob) in zip(a, b):
        assert ea == eb and (oa == ob or (oa is None and ob is None)), (ea, eb, oa, ob)
        assert math.copysign(1.0, ea.value) == math.copysign(1.0, eb.value)


def assert_same_as_strict(text: str):
    expected = strict(text)
    for data in (text.encode("utf-8"), text):
        got = fast(data)
        same_rows(got[0], expected[0])
        assert got[1] == expected[1]
    return expected


_date = st.tuples(st.integers(1890, 2210), st.integers(0, 13), st.integers(0, 32))
_clock = st.tuples(st.integers(0, 24), st.integers(0, 60), st.integers(0, 60))
_frac = st.one_of(st.just(""), st.text("0123456789", min_size=0, max_size=8).map(lambda d: "." + d),
                  st.just(",5"))
_tz = st.sampled_from(["", "", "", "Z", "+09:00", "-05:30", "+00:00", "-00:00", "+0900", "+09", "+24:00",
                       "+23:59", "z", "+09:00:30"])
_sep = st.sampled_from(["T", "T", "T", " ", "t"])


@st.composite
def times(draw):
    (y, mo, d), (h, mi, s) = draw(_date), draw(_clock)
    text = f"{y:04d}-{mo:02d}-{d:02d}{draw(_sep)}{h:02d}:{mi:02d}:{s:02d}{draw(_frac)}{draw(_tz)}"
    return draw(st.sampled_from([text, text, text, f" {text}", f"{text} ", text[:16], "yesterday", ""]))


_sensor = st.one_of(st.sampled_from(["hall", "kitchen_pir", "bed", "front door", "küche", "日本", " hall",
                                     "hall ", "", "a\tb", "x\u3000", "\u00a0y", "a" * 30]),
                    st.from_regex(r"[a-z][a-z0-9_\-]{0,10}", fullmatch=True))
_kind = st.sampled_from(["motion", "presence", "door", "entrance", "appliance", "button", "Motion", " door",
                         "DOOR ", "window", ""])
_value = st.one_of(st.sampled_from(["0", "1", "2", "-0", "2200.5", "0.25", "1.", ".5", "+1", "1e3", "1_0", "nan",
                                    "inf", "-inf", " 3 ", "", "x", "12345678901234567890", "0.1", "-7.125",
                                    "123456789012345.5", "00012", "1.000000000000000000001"]),
                   st.floats(-1e6, 1e6, allow_nan=False).map(repr),
                   st.integers(-10**6, 10**6).map(str))


@st.composite
def rows(draw):
    fields = [draw(times()), draw(_sensor), draw(_kind), draw(_value)]
    n = draw(st.sampled_from([4, 4, 4, 4, 4, 3, 5, 1]))
    return ",".join(fields[:n] if n <= 4 else fields + ["extra"])


@st.composite
def csv_texts(draw):
    lines = []
    header = draw(st.sampled_from(["time,sensor,kind,value", "time,sensor,kind,value", " time , sensor,kind,value",
                                   "", None, "TIME,sensor,kind,value"]))
    if header is not None:
        lines.append(header)
    for _ in range(draw(st.integers(0, 25))):
        lines.append(draw(st.one_of(rows(), rows(), rows(), st.sampled_from(["", "   ", " , ", '"a",b', "\x00"]))))
    end = draw(st.sampled_from(["\n", "\n", "\r\n", "\r"]))
    text = end.join(lines) + draw(st.sampled_from([end, "", end + end]))
    return text


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(csv_texts())
def test_loader_agrees_with_the_strict_reader_on_grammar_based_text(text):
    assert_same_as_strict(text)


@st.composite
def sorted_logs(draw):
    """Mostly valid logs (so rows get past the first error), with time-order slips and odd rows."""
    t = draw(st.integers(0, 2_000_000_000))
    out = ["time,sensor,kind,value"]
    for _ in range(draw(st.integers(1, 60))):
        t += draw(st.sampled_from([0, 0, 1, 7, 60, 3600, -1, -3600, 86400]))
        frac = draw(st.sampled_from(["", "", ".5", ".123456", ".1"]))
        tz = draw(st.sampled_from(["", "", "", "+09:00", "Z", "-03:30"]))
        stamp = np.datetime_as_string(np.datetime64(int(t), "s"), unit="s") + frac + tz
        out.append(f"{stamp},{draw(_sensor)},{draw(_kind)},{draw(_value)}")
    return "\n".join(out) + "\n"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sorted_logs())
def test_loader_agrees_with_the_strict_reader_on_nearly_valid_logs(text):
    assert_same_as_strict(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_loader_agrees_with_the_strict_reader_on_any_text(text):
    assert_same_as_strict(text)


def test_loader_on_the_design_example_and_canonical_forms():
    text = ("time,sensor,kind,value\n2008-02-25T09:33:41,hall_bedroom_door,door,1\n"
            "2008-02-25T19:33:41.5+09:00,x,motion,0\n2008-02-25T11:00:00Z,x,appliance,2200.5\n"
            "2008-02-25T11:00:00.000001-00:00,kettle,button,2\n")
    rows, error = assert_same_as_strict(text)
    assert error is None and len(rows) == 4 and rows[1][1] == 32400.0 and rows[2][1] == 0.0
    log = load_event_log(text.encode())
    assert log.sensors == ("hall_bedroom_door", "x", "kettle")
    assert list(log.line) == [2, 3, 4, 5]


def test_loader_errors_name_the_first_bad_line():
    base = "time,sensor,kind,value\n2008-02-25T09:33:41,x,door,1\n"
    for row, words in [("2008-02-25T09:33:41,x,door", "expected 4 fields"), ("yesterday,x,door,1", "not ISO 8601"),
                       ("2008-02-25T09:33:41,,door,1", "sensor id is empty"),
                       ("2008-02-25T09:33:41,x,window,1", "unknown kind 'window'"),
                       ("2008-02-25T09:33:41,x,door,open", "not a number"),
                       ("2008-02-25T09:33:41,x,door,nan", "not finite"),
                       ("2008-02-25T09:00:00,x,door,1", "out of time order")]:
        text = base + row + "\n2008-02-26T00:00:00,x,door,1\n"
        rows, error = assert_same_as_strict(text)
        assert error[0] == 3 and words in error[1] and len(rows) == 1


def test_loader_on_a_large_canonical_log_is_exact(real_log):
    text = open(real_log).read()
    rows, error = assert_same_as_strict(text)
    assert error is None and len(rows) == 2638


# ----------------------------------------------------------------------------- fixed timer
_fixed_step = st.tuples(
    st.one_of(st.just(0.0), st.integers(1, 600).map(float), st.sampled_from([3600.0, 7200.0, 10800.0]),
              st.floats(0.01, 20000.0).map(lambda x: round(x, 2))),
    st.sampled_from([("hall", Kind.MOTION), ("bed", Kind.PRESENCE), ("sofa", Kind.PRESENCE),
                     ("kettle", Kind.APPLIANCE), ("ok", Kind.BUTTON), ("front", Kind.ENTRANCE)]),
    st.sampled_from([0.0, 1.0, 2.0, 50.0]))


def _visible(det, t):
    return {f.ident for f in det.check(t, math.nan)}


def _fixed_events(steps):
    t, events = 1_700_000_000.0, []
    for gap, (sid, kind), value in steps:
        t += gap
        events.append(Event(t, t + 3600.0, sid, kind, value))
    return events


@settings(max_examples=300, deadline=None)
@given(st.lists(_fixed_step, min_size=1, max_size=60), st.sampled_from([0.0, 20.0]))
def test_the_fixed_timer_kernel_keeps_the_plain_rule(steps, on_watts):
    """``FixedTimerDetector`` (state arrays, ``fixed_kernels.observe``) against the rule written
    plainly: the same last activity, holds in the same order, the same appliances on."""
    det, ref = FixedTimerDetector(7200.0, appliance_on_watts=on_watts), ReferenceFixedTimer(on_watts)
    for ev in _fixed_events(steps):
        det.observe(ev)
        ref.observe(ev)
        assert (det.last_activity_mono, det.last_activity_local) == (ref.last_activity_mono, ref.last_activity_local)
        state = det.state()
        assert state["held_since"] == ref.held_since and list(state["held_since"]) == list(ref.held_since)
        assert state["held"] == sorted(ref.held_since) and state["appliances_on"] == sorted(ref.appliances_on)
        idle = None if ref.held_since or ref.last_activity_mono is None else ev.mono - ref.last_activity_mono
        assert det.status(ev.mono, ev.local)["inactive_seconds"] == idle


@settings(max_examples=300, deadline=None)
@given(st.lists(_fixed_step, min_size=1, max_size=60), st.sampled_from([None, 1800.0, 5400.0]),
       st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_fixed_advance_matches_the_fixed_timer(steps, held_limit, a_frac, tl_frac):
    events = _fixed_events(steps)
    names = list(dict.fromkeys(e.sensor for e in events))
    mono = np.array([e.mono for e in events])
    local = np.array([e.local for e in events])
    kind = np.array([int(e.kind) for e in events], dtype=np.int64)
    value = np.array([e.value for e in events])
    a = int(a_frac * len(events))
    ref = FixedTimerDetector(7200.0, held_limit_seconds=held_limit)
    for ev in events[:a]:
        ref.observe(ev)
    prev = events[a - 1].mono if a else -math.inf
    t_last = prev if not a else prev + tl_frac * (events[a].mono - prev if a < len(events) else 0.0)
    # the kernel from the same starting state, on a copy of the detector's arrays
    sensor = ref.rows([e.sensor for e in events])
    arrays = [x.copy() for x in ref.arrays()]
    first = bk.fixed_advance(mono, local, kind, sensor, value, a, len(events), *arrays, 7200.0,
                             np.nan if held_limit is None else held_limit, 0.0, t_last)
    # the reference: the first event k at which check, called at any time after t_last up to the
    # event and just after it, shows something other than at t_last
    ref_first = -1
    shown = _visible(ref, t_last) if a else set()
    for k in range(a, len(events)):
        ev = events[k]
        before = _visible(ref, ev.mono)
        ref.observe(ev)
        after = _visible(ref, ev.mono)
        if ref_first < 0 and (before != shown or after != before):
            ref_first = k
        shown = after
    assert first < np.inf or ref_first < 0
    if ref_first >= 0:
        assert first <= events[ref_first].mono  # never late: it may name a tick that changes nothing
        # and the change is in the gap before that event or at it, not earlier than the last call
        assert first >= min(t_last, events[ref_first].mono) or first >= (events[ref_first - 1].mono if ref_first else -np.inf)
    # the same state afterwards
    for got, want in zip(arrays, ref.arrays()):
        np.testing.assert_array_equal(got, want)
    assert len(names) == len(ref.names)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.floats(-2e9, 2e10, allow_nan=False).map(lambda x: round(x, 3)),
                st.floats(-1e12, 1e12, allow_nan=False, allow_subnormal=True)),
       st.floats(1.0, 3e5, allow_nan=False))
@example(since=-7200.0, limit=7200.0)  # a hold from before this boot: due at 0.0 (a one-double walk never ended)
@example(since=-1.0, limit=1.0)
@example(since=-1e-300, limit=1.0)
def test_first_visible_is_the_first_double_a_check_shows(since, limit):
    t = bk.first_visible(since, limit, since + limit)
    assert t - since >= limit
    assert not np.nextafter(t, -np.inf) - since >= limit
