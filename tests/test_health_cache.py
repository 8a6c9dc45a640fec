"""``SensorHealth`` (numba kernels, kept limits, the earliest silence due) equals its reference.

The reference is ``health_reference.ReferenceHealth``, plain Python: every limit recomputed
from the history and every sensor scanned on every call. Random streams of events, checks,
next-check queries, device faults and restarts must give the same findings (details
included), the same next check, the same status and the same state.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings, strategies as st

from hubd.events import Event, Kind
from hubd.core.health import DAY, HOUR, HealthSettings, SensorHealth

from fakes import health_dump
from health_reference import ReferenceHealth, reference_dump

ROLES = {"hall_pir": "daily_route", "kitchen_door": "normal", "front_door": "normal", "spare_room": "rare",
         "fridge_power": "autonomous"}
SENSORS = ["hall_pir", "kitchen_door", "front_door", "spare_room", "fridge_power", "stranger", "pir2"]

_gap = st.one_of(st.floats(0, 120), st.floats(0, 3 * HOUR), st.floats(0, 3 * DAY), st.just(0.0),
                 st.sampled_from([HOUR, 6 * HOUR, 36 * HOUR]))
_step = st.one_of(
    st.tuples(st.just("event"), st.sampled_from(SENSORS), st.sampled_from(list(Kind)), _gap),
    st.tuples(st.just("burst"), st.sampled_from(SENSORS), st.integers(10, 90), st.floats(1, 20)),
    st.tuples(st.just("check"), st.just(""), st.just(Kind.MOTION), _gap),
    st.tuples(st.just("fault"), st.sampled_from(SENSORS), st.sampled_from(["chatter", "nack", None]), st.floats(0, 900)),
    st.tuples(st.just("restart"), st.just(""), st.just(Kind.MOTION), st.floats(0, DAY)),
)


def findings(h, mono):
    return [(f, f.detail) for f in h.check(mono)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(_step, max_size=150), fast=st.booleans())
def test_cached_health_equals_the_uncached_reference(steps, fast):
    s = HealthSettings(min_days=0.02, min_events=3, floor_s=60.0, life_window_s=3600.0, history_days=3,
                       rate_floor=8, absence_s=4 * HOUR) if fast else HealthSettings()
    cached, ref = SensorHealth(ROLES, s), ReferenceHealth(ROLES, s)
    mono = 1000.0
    for action, sensor, kind, amount in steps:
        if action == "restart":
            state_c, state_r = cached.state(), ref.state()
            assert state_c == state_r
            cached, ref = SensorHealth(ROLES, s), ReferenceHealth(ROLES, s)
            cached.load(state_c, lambda m: m - 5000.0)
            ref.load(state_r, lambda m: m - 5000.0)
            mono += amount - 5000.0
            continue
        if action == "burst":
            for _ in range(kind):
                mono += amount
                for h in (cached, ref):
                    h.observe(Event(mono, mono, sensor, Kind.MOTION, 1.0))
                assert findings(cached, mono) == findings(ref, mono)
            continue
        mono += amount
        if action == "event":
            for h in (cached, ref):
                h.observe(Event(mono, mono, sensor, kind, 1.0))
        elif action == "fault":
            for h in (cached, ref):
                h.report_fault(sensor, kind, mono)
        assert findings(cached, mono) == findings(ref, mono)
        assert cached.next_check(mono) == ref.next_check(mono)
        assert cached.next_check(mono - 7 * HOUR) == ref.next_check(mono - 7 * HOUR)
        assert cached.status(mono) == ref.status(mono)
        assert health_dump(cached) == reference_dump(ref)
    assert cached.state() == ref.state()
