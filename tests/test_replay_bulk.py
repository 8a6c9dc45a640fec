"""The bulk replay (``replay.bulk.handle_batch``, ``hubd replay``) against the per-event reference.

The reference is ``replay.per_event.Replayer``: every event through ``Engine.handle``, a tick at every
deadline the engine names. The bulk path must return the same actions in the same order
and leave the engine, its detector and its watcher in the same state — on the real month,
on simulated residents, and on random streams with dropouts, held mats, outings, buttons,
away modes, heartbeats and ``--until`` cuts. ``hubd replay`` must print the same bytes.
"""

from __future__ import annotations

import io
import json
import math
import os
from dataclasses import asdict

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from hubd import cli
from hubd.config import parse_config
from hubd.events import EventBatch
from hubd.core.engine import Engine
from hubd.events import Event, Kind, events_to_csv, read_events
from hubd.replay.per_event import Replayer, replay
from hubd.replay.bulk import feed_batch, handle_batch, replay_log
from hubd.replay.loader import load_event_log

from fakes import health_dump

DAY, HOUR, MIN = 86400.0, 3600.0, 60.0
OFFICE = {"modem": {"recipients": ["+8100000001", "+8100000002"]}}


# ----------------------------------------------------------------------------- helpers
def per_event(engine: Engine, events, until=None, last=None) -> list:
    out: list = []
    replay(events, engine.config, until, engine=engine, on_actions=out.extend, last=last)
    return out


def _same(a, b, where: str) -> None:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=where)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), where
        for k in a:
            _same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        assert math.isnan(b), where
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def assert_same_engine(a: Engine, b: Engine) -> None:
    _same(asdict(a.mode), asdict(b.mode), "mode")
    for attr in ("pause_alerted", "next_heartbeat_local", "now", "now_local", "last_event"):
        _same(getattr(a, attr), getattr(b, attr), attr)
    _same(a.policy.state(), b.policy.state(), "policy")
    _same({k: asdict(v) for k, v in a.policy.alerts.items()}, {k: asdict(v) for k, v in b.policy.alerts.items()},
          "alerts")
    _same(a.detector.state(), b.detector.state(), "detector")
    _same([health_dump(w) for w in a.watchers], [health_dump(w) for w in b.watchers], "watchers")


def check_equal(config, events, until=None, split=None):
    """Bulk == per-event: actions, and the state left behind (also when the batch comes in two)."""
    ref = Engine(config)
    expected = per_event(ref, events, until)
    eng = Engine(config)
    batch = EventBatch.from_events(events)
    if split is None:
        got = handle_batch(eng, batch, until_mono=until)
    else:
        first = EventBatch.from_events(events[:split])
        got = handle_batch(eng, first)
        rest = EventBatch.from_events(events[split:]) if events[split:] else EventBatch.from_events([])
        got += handle_batch(eng, rest, until_mono=until, last=events[split - 1] if split else None)
    assert len(got) == len(expected)
    for i, (x, y) in enumerate(zip(got, expected)):
        assert x == y, f"action {i} differs:\n bulk {x}\n ref  {y}"
    assert_same_engine(eng, ref)
    return expected


def config(**sections):
    data = {"hub": {"flat_id": "T-1", "language": "en"}}
    data.update(OFFICE)
    data.update(sections)
    return parse_config(data, "test.toml")


# ----------------------------------------------------------------------------- real month
@pytest.mark.parametrize("mode", ["learned", "fixed"])
def test_real_month_bulk_equals_per_event(real_log, mode):
    events = read_events(open(real_log))
    actions = check_equal(config(detector={"mode": mode}), events)
    assert sum(1 for a in actions if type(a).__name__ == "AlertChanged" and a.raised) >= 4


def test_real_month_with_the_default_config_and_until(real_log):
    events = read_events(open(real_log))
    cfg = parse_config({}, "(defaults)")
    check_equal(cfg, events, until=events[-1].mono + 3 * DAY)
    check_equal(cfg, events, until=events[len(events) // 2].mono + 1.0)


def test_real_month_in_pieces_equals_one_go(real_log):
    """A daemon catching up in bulk (several batches in a row) ends where per-event feeding ends."""
    events = read_events(open(real_log))
    cfg = config(detector={"mode": "learned"})
    ref = Engine(cfg)
    expected = per_event(ref, events)
    eng = Engine(cfg)
    got, last, cuts = [], None, [0, 1, 700, 701, 1500, 2637, len(events)]
    for a, b in zip(cuts, cuts[1:]):
        got += handle_batch(eng, EventBatch.from_events(events[a:b]), last=last)
        last = events[b - 1]
    assert got == expected
    assert_same_engine(eng, ref)


def test_bulk_then_per_event_continues_like_per_event_throughout(real_log):
    events = read_events(open(real_log))
    cfg = config(detector={"mode": "fixed", "max_inactivity_hours": 6})
    ref = Engine(cfg)
    expected = per_event(ref, events)
    eng = Engine(cfg)
    half = len(events) // 2
    got = handle_batch(eng, EventBatch.from_events(events[:half]))
    got += per_event(eng, events[half:], last=events[half - 1])
    assert got == expected
    assert_same_engine(eng, ref)


# ----------------------------------------------------------------------------- simulated residents
def _resident_events(seed, days, scenarios):
    from hubsim.resident import Resident

    return Resident(seed).days(20458 * DAY, days, scenarios=scenarios)


def _sim_config(mode):
    from types import SimpleNamespace

    from hubsim.runner import sim_config

    return sim_config("/nonexistent", "", SimpleNamespace(language="en", detector=mode))


@pytest.mark.parametrize("mode", ["learned", "fixed"])
@pytest.mark.parametrize("seed", [3, 11])
def test_simulated_resident_scenarios(mode, seed):
    from hubsim.resident import collapse, holiday, pir_dies, stays_in_bed

    d0 = 20458 * DAY
    events = _resident_events(seed, 22, [
        holiday(d0 + 5 * DAY + 9 * HOUR, 2), pir_dies("kitchen_pir", d0 + 9 * DAY),
        stays_in_bed(d0 + 13 * DAY + 8 * HOUR, 30), collapse(d0 + 19 * DAY + 10.5 * HOUR)])
    actions = check_equal(_sim_config(mode), events, until=events[-1].mono + 2 * DAY)
    raised = {a.record["type"] for a in actions if type(a).__name__ == "AlertChanged" and a.raised}
    assert "inactivity" in raised or "stayed_in_place" in raised


def test_simulated_resident_csv_through_the_cli(tmp_path, capsys):
    from hubsim.resident import collapse, pir_dies

    d0 = 20458 * DAY
    events = _resident_events(5, 14, [pir_dies("hall_pir", d0 + 4 * DAY), collapse(d0 + 12 * DAY + 9 * HOUR)])
    path = tmp_path / "sim.csv"
    path.write_text(events_to_csv(events))
    cfg = tmp_path / "c.toml"  # the fridge runs by itself: it is no sign of the resident
    cfg.write_text('[[sensors]]\nid = "fridge"\nkind = "appliance"\nchip = "ina219"\nrole = "autonomous"\n')
    for extra in ([], ["--json"], ["--json", "--until", "2026-01-21T00:00:00"]):
        outs = []
        for mode in ([], ["--per-event"]):
            assert cli.main(["replay", str(path), "--config", str(cfg), *extra, *mode]) == 0
            outs.append(capsys.readouterr())
        assert outs[0].out == outs[1].out and outs[0].err == outs[1].err
        assert "inactivity" in outs[0].out


# ----------------------------------------------------------------------------- random streams
SENSORS = [  # (id, kind, values)
    ("hall", Kind.MOTION, (1.0, 0.0)),
    ("kitchen", Kind.MOTION, (1.0, 0.0)),
    ("bed", Kind.PRESENCE, (1.0, 0.0)),
    ("sofa", Kind.PRESENCE, (1.0, 0.0)),
    ("front", Kind.ENTRANCE, (1.0, 0.0)),
    ("cupboard", Kind.DOOR, (1.0, 0.0)),
    ("kettle", Kind.APPLIANCE, (0.5, 2000.0, 0.0)),
    ("fridge", Kind.APPLIANCE, (3.0, 90.0)),
    ("ok", Kind.BUTTON, (1.0, 2.0)),
]
_gap = st.one_of(
    st.just(0.0),
    st.sampled_from([1800.0, 3600.0, 7200.0, 10800.0, 12600.0, 21600.0, 43200.0]),  # due exactly at an event
    st.integers(1, 120).map(float),
    st.integers(2, 240).map(lambda m: m * MIN),
    st.integers(1, 40).map(lambda h: h * HOUR),
    st.integers(1, 4000).map(lambda x: x * 37.0),
    st.floats(0.001, 3 * DAY, allow_nan=False).map(lambda x: round(x, 3)),
)
_step = st.one_of(
    st.tuples(st.just("one"), _gap, st.integers(0, len(SENSORS) - 1), st.integers(0, 2)),
    st.tuples(st.just("burst"), _gap, st.integers(0, 1), st.integers(40, 160)),  # chatter
    st.tuples(st.just("out"), _gap, st.integers(1, 60), st.integers(0, 1)),  # leave for hours, maybe come back
)


def build_stream(steps, start, offsets=None):
    events, t = [], start
    for step in steps:
        what, gap = step[0], step[1]
        t += gap
        if what == "one":
            sid, kind, values = SENSORS[step[2]]
            events.append((t, sid, kind, values[step[3] % len(values)]))
        elif what == "burst":
            sid = SENSORS[step[2]][0]
            for i in range(step[3]):
                events.append((t + 4.0 * i, sid, Kind.MOTION, float(i % 2 == 0)))
            t += 4.0 * step[3]
        else:
            events += [(t, "front", Kind.ENTRANCE, 1.0), (t + 5, "front", Kind.ENTRANCE, 0.0)]
            t += step[2] * HOUR
            if step[3]:
                events += [(t, "front", Kind.ENTRANCE, 1.0), (t + 5, "front", Kind.ENTRANCE, 0.0),
                           (t + 30, "hall", Kind.MOTION, 1.0)]
                t += 30
    out = []
    for i, (m, sid, kind, v) in enumerate(events):
        off = 0.0 if offsets is None else offsets(i, len(events))
        out.append(Event(float(m), float(m) + off, sid, kind, float(v)))
    return out


CONFIGS = {
    "fixed": dict(detector={"mode": "fixed", "max_inactivity_hours": 2.0, "held_max_hours": 3.0},
                  alerts={"prealarm_minutes": 3.0, "heartbeat_hours": 6.0, "heartbeat_time": "07:30"}),
    "fixed-no-prealarm": dict(detector={"mode": "fixed", "max_inactivity_hours": 1.0, "held_max_hours": 0.5,
                                        "held_min_hours": 0.25, "min_threshold_minutes": 30.0},
                              alerts={"prealarm_minutes": 0.0, "system_grace_minutes": 0.0, "heartbeat_hours": 0.0}),
    "learned": dict(detector={"mode": "learned", "min_learn_days": 1, "cold_start_hours": 2.0,
                              "max_inactivity_hours": 3.0, "held_max_hours": 2.0, "absence_max_hours": 6.0,
                              "absence_min_hours": 1.0, "away_confirm_minutes": 5.0, "prior_days": 0.0},
                    alerts={"heartbeat_hours": 1.0, "heartbeat_time": "00:00", "button_away_hours": 3.0,
                            "away_return_minutes": 10.0}),
    "learned-default": dict(),
}
ROLES = [{"id": "hall", "kind": "motion", "pin": 17, "role": "daily_route"},
         {"id": "fridge", "kind": "appliance", "chip": "ina219", "role": "autonomous"},
         {"id": "cupboard", "kind": "door", "pin": 22, "role": "rare"}]


@settings(max_examples=int(os.environ.get("HUBD_BULK_EXAMPLES", "120")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(steps=st.lists(_step, min_size=1, max_size=70), cfg=st.sampled_from(sorted(CONFIGS)),
       roles=st.booleans(), start=st.sampled_from([1_700_000_000.0, 1_700_000_000.5, 1_199_145_600.0]),
       until=st.one_of(st.none(), st.floats(-1.0, 1.0)), split=st.floats(0.0, 1.0),
       offset=st.sampled_from(["naive", "fixed", "dst"]))
# found by this test at 9f4bd03: a batch continued from ``last`` resolved hall's sensor_silent
# (the bulk path's copy of SensorHealth's state); fixed when health became one kernel
@example(steps=[("one", 0.0, 0, 0), ("one", 10800.0, 0, 0), ("one", 64800.0, 0, 0), ("out", 223043.0, 60, 0),
                ("burst", 93600.0, 0, 40), ("burst", 21600.0, 1, 40)],
         cfg="fixed", roles=True, start=1_700_000_000.0, until=None, split=0.75, offset="naive")
def test_random_streams_bulk_equals_per_event(steps, cfg, roles, start, until, split, offset):
    offsets = {"naive": None, "fixed": lambda i, n: 32400.0,
               "dst": lambda i, n: 3600.0 if i < n // 2 else 7200.0}[offset]
    events = build_stream(steps, start, offsets)
    sections = dict(CONFIGS[cfg])
    if roles:
        sections["sensors"] = ROLES
    c = config(**sections)
    until_mono = None
    if until is not None:  # inside the stream (a cut) or up to two days after it
        span = events[-1].mono - events[0].mono
        until_mono = events[0].mono + span * until if until < 0.5 else events[-1].mono + 2 * DAY * until
    cut = int(split * len(events)) if split > 0.5 else None
    if cut is not None and until_mono is not None:
        cut = None
    check_equal(c, events, until=until_mono, split=cut)


def test_a_detector_that_has_seen_nothing_yet_when_a_segment_is_redone():
    """The first event is the (autonomous) fridge: the detector's snapshot has no sensors."""
    events = build_stream([("one", 0.0, 7, 0), ("burst", 1800.0, 0, 40)], 1_700_000_000.0,
                          lambda i, n: 3600.0 if i < n // 2 else 7200.0)
    check_equal(config(sensors=ROLES, **CONFIGS["learned"]), events)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(_step, min_size=1, max_size=40), cfg=st.sampled_from(sorted(CONFIGS)))
def test_random_streams_through_replay_log(steps, cfg):
    """The whole ``hubd replay`` path (CSV text, loader, replay_log) against the streaming one."""
    events = build_stream(steps, 1_700_000_000.0)
    text = events_to_csv(events)
    c = config(**CONFIGS[cfg])
    seen_ref, seen_bulk = [], []
    from hubd.events import EventReader
    from hubd.replay.per_event import replay

    reader = EventReader(io.StringIO(text))
    ref = replay(reader, c, on_alert=lambda r: seen_ref.append((r, reader.offset)))
    got = replay_log(load_event_log(text.encode()), c, on_alert=lambda r, off: seen_bulk.append((r, off)))
    assert seen_bulk == seen_ref
    assert (got.events, got.first_local, got.last_local) == (ref.events, ref.first_local, ref.last_local)


@pytest.mark.parametrize("cfg", ["fixed", "learned"])
def test_a_finding_due_at_the_instant_of_the_event_that_ends_it(cfg):
    """The engine ticks at a deadline equal to the next event's time before handling the event:
    the alert is raised, then cancelled by the event. The bulk path must show it too."""
    t0 = 1_700_000_000.0
    events = [Event(t0, t0, "hall", Kind.MOTION, 1.0), Event(t0 + 2 * HOUR, t0 + 2 * HOUR, "hall", Kind.MOTION, 1.0),
              Event(t0 + 2 * HOUR + 100, t0 + 2 * HOUR + 100, "kitchen", Kind.MOTION, 1.0)]
    actions = check_equal(config(**CONFIGS[cfg]), events)
    audits = [a.action for a in actions if type(a).__name__ == "Audit"]
    assert audits == ["alert_raised", "alert_cancelled"]


def _daemon_state(engine: Engine, events, how: str) -> Event:
    """Feed a prefix per event, then what a running daemon adds besides events."""
    from hubd.findings import SYSTEM, Finding
    from hubd.core.engine import PAUSED

    half = len(events) // 2
    per_event(engine, events[:half])
    last = events[half - 1]
    t, loc = last.mono + 1.0, last.local + 1.0
    health = engine.watchers[0]
    if how == "device_fault":
        health.report_fault("hall", "chatter", t)
        engine.tick(t, loc)
        health.report_fault("hall", None, t + 30)
        health.report_fault("kitchen", "nack", t + 40)
    elif how == "paused":
        engine.set_mode(PAUSED, 9.0, "technician", t, loc)
    elif how == "uplink":
        engine.report_condition(Finding("uplink_down", SYSTEM, t, 120.0), ("uplink_down", ""), t, loc)
    return last


@pytest.mark.parametrize("how", ["device_fault", "paused", "uplink", "restart"])
@pytest.mark.parametrize("mode", ["learned", "fixed"])
def test_catching_up_from_a_running_daemon(real_log, how, mode):
    """A daemon's engine (device faults, a pause, a condition, a restart from a snapshot) catches up
    in bulk exactly as it would per event."""
    events = [e for e in read_events(open(real_log)) if e.mono < 1204500000.0]
    events = [Event(e.mono, e.local, "hall" if e.sensor == "hall_bedroom_door" else e.sensor, e.kind, e.value)
              for e in events]
    cfg = config(detector={"mode": mode, "max_inactivity_hours": 5.0}, alerts={"max_pause_hours": 4.0})
    engines = []
    for _ in range(2):
        eng = Engine(cfg)
        last = _daemon_state(eng, events, how)
        if how == "restart":
            snap = eng.snapshot(last.mono + 5, last.local + 5, boot_id="a")
            eng = Engine(cfg)
            eng.restore(snap, last.mono + 3600.0, last.local + 3600.0, boot_id="b")
        engines.append((eng, last))
    (ref, last), (eng, _) = engines
    rest = [e for e in events if e.mono > last.mono + 3600.0] if how == "restart" else events[len(events) // 2:]
    until = rest[-1].mono + DAY
    expected = per_event(ref, rest, until=until, last=last)
    got = handle_batch(eng, EventBatch.from_events(rest), until_mono=until, last=last)
    assert got == expected
    assert_same_engine(eng, ref)


def test_an_engine_the_bulk_path_cannot_run_goes_per_event(real_log):
    from hubd.detector.base import FixedTimerDetector

    class Odd(FixedTimerDetector):
        pass

    events = read_events(open(real_log))[:500]
    cfg = config()
    ref = Engine(cfg, detector=Odd(2 * HOUR))
    expected = per_event(ref, events)
    eng = Engine(cfg, detector=Odd(2 * HOUR))
    assert handle_batch(eng, EventBatch.from_events(events)) == expected
    assert eng.detector.state() == ref.detector.state()


def test_an_engine_without_watchers(real_log):
    events = read_events(open(real_log))
    cfg = config(detector={"mode": "fixed", "max_inactivity_hours": 3.0})
    ref = Engine(cfg, watchers=[])
    expected = per_event(ref, events)
    eng = Engine(cfg, watchers=[])
    assert handle_batch(eng, EventBatch.from_events(events)) == expected
    assert_same_engine(eng, ref)


# ----------------------------------------------------------------------------- the CLI
def _both(capsys, *argv):
    outs = []
    for mode in ([], ["--per-event"]):
        code = cli.main(["replay", *argv, *mode])
        outs.append((code, *capsys.readouterr()))
    return outs


@pytest.mark.parametrize("extra", [[], ["--json"], ["--json", "--until", "2008-04-01T00:00:00"],
                                   ["--until", "2008-03-05T12:00:00"]])
def test_cli_output_is_byte_identical(real_log, capsys, extra, tmp_path):
    fast, ref = _both(capsys, real_log, *extra)
    assert fast == ref and fast[0] == 0 and fast[1]
    cfg = tmp_path / "c.toml"
    cfg.write_text('[detector]\nmode = "fixed"\nmax_inactivity_hours = 4\n')
    fast, ref = _both(capsys, real_log, "--config", str(cfg), *extra)
    assert fast == ref and fast[1]


def test_cli_bad_row_prints_the_alerts_before_it_then_the_error(real_log, capsys, tmp_path):
    lines = open(real_log).read().splitlines()
    bad = tmp_path / "bad.csv"
    lines.insert(2000, "2008-03-30T10:00:00,hall,window,1")
    bad.write_text("\n".join(lines) + "\n")
    fast, ref = _both(capsys, str(bad), "--json")
    assert fast == ref
    code, out, err = fast
    assert code == 2 and "line 2001" in err and "unknown kind 'window'" in err and out.count("\n") >= 2
    # a bad row after --until is never reached
    fast, ref = _both(capsys, str(bad), "--json", "--until", "2008-03-10T00:00:00")
    assert fast == ref and fast[0] == 0


def test_cli_offsets_and_dst_jumps_keep_the_input_convention(tmp_path, capsys):
    rows = ["time,sensor,kind,value"]
    for d in range(6):
        off = "+01:00" if d < 3 else "+02:00"
        rows += [f"2024-03-{20 + d:02d}T08:00:00{off},hall,motion,1", f"2024-03-{20 + d:02d}T21:00:00{off},hall,motion,1"]
    rows.append("2024-03-28T09:00:00Z,front,entrance,1")
    path = tmp_path / "o.csv"
    path.write_text("\n".join(rows) + "\n")
    cfg = tmp_path / "c.toml"
    cfg.write_text('[detector]\nmode = "fixed"\nmax_inactivity_hours = 6\n[alerts]\nheartbeat_hours = 5\n')
    for extra in (["--json"], ["--json", "--until", "2024-03-30T00:00:00+09:00"], []):
        fast, ref = _both(capsys, str(path), "--config", str(cfg), *extra)
        assert fast == ref and fast[1]
    lines = [json.loads(x) for x in fast[1].splitlines()] if fast[1].startswith("{") else []
    del lines


def test_replayer_mixes_feed_and_feed_batch(real_log):
    events = read_events(open(real_log))
    cfg = config(detector={"mode": "learned"})
    ref_actions, got_actions = [], []
    ref = Replayer(Engine(cfg), on_actions=ref_actions.extend)
    for ev in events:
        ref.feed(ev)
    ref.advance_to(events[-1].mono + DAY)
    mixed = Replayer(Engine(cfg), on_actions=got_actions.extend)
    feed_batch(mixed, EventBatch.from_events(events[:1000]))
    for ev in events[1000:1100]:
        mixed.feed(ev)
    feed_batch(mixed, EventBatch.from_events(events[1100:]), until_mono=events[-1].mono + DAY)
    assert got_actions == ref_actions
    assert (mixed.stats.events, mixed.stats.first_local, mixed.stats.last_local) == (
        ref.stats.events, ref.stats.first_local, ref.stats.last_local)
    assert [a["id"] for a in mixed.stats.alerts] == [a["id"] for a in ref.stats.alerts]
    assert_same_engine(mixed.engine, ref.engine)


@pytest.mark.parametrize("text, code", [("", 2), ("time,sensor,kind,value\n", 0), ("\n\n", 2),
                                        ("time,sensor,kind,value\r\n \r\n", 0)])
def test_cli_on_empty_logs(tmp_path, capsys, text, code):
    """A header alone is an empty log; no header at all is an error naming line 1."""
    path = tmp_path / "e.csv"
    path.write_bytes(text.encode())
    for extra in ([], ["--json"], ["--until", "2020-01-01T00:00:00"]):
        fast, ref = _both(capsys, str(path), *extra)
        assert fast == ref and fast[0] == code
        assert code == 0 or fast[2].startswith("error: line 1: ")


def test_cli_reads_stdin(real_log, capsys, monkeypatch):
    text = open(real_log).read()
    outs = []
    for mode in ([], ["--per-event"]):
        monkeypatch.setattr("sys.stdin", io.StringIO(text))
        assert cli.main(["replay", "-", "--json", *mode]) == 0
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1] and outs[0]


def test_a_fresh_start_watched_by_the_safety_net_in_bulk_as_per_event():
    """After ``start_fresh`` only the (autonomous) fridge reports for two days: the safety net's
    alarm falls due between its readings, at the tick ``Engine.timers`` names, in bulk as per event."""
    c = config(sensors=ROLES)
    t0 = 1_700_000_000.0
    events = [Event(t0 + 600.0 * i, t0 + 600.0 * i, "fridge", Kind.APPLIANCE, 80.0) for i in range(1, 300)]
    events.append(Event(t0 + 600.0 * 300, t0 + 600.0 * 300, "hall", Kind.MOTION, 1.0))
    ref, eng = Engine(c), Engine(c)
    ref.start_fresh(t0, t0)
    eng.start_fresh(t0, t0)
    expected = per_event(ref, events, last=Event(t0, t0, "fridge", Kind.APPLIANCE, 80.0))
    got = handle_batch(eng, EventBatch.from_events(events), last=Event(t0, t0, "fridge", Kind.APPLIANCE, 80.0))
    raised = [a for a in expected if type(a).__name__ == "AlertChanged"]
    assert raised and got == expected
    assert_same_engine(eng, ref)
    assert eng.watching_since is None
