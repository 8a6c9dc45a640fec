"""A restart across a power cut with the wall clock unset (a Pi has no RTC): the outage is
unknown until the clock is set; then the stored silence is exactly as old as it really is.
Pure core only (``Engine.restore`` / ``Engine.wall_clock_set``); the daemon's side is in
``test_faults_clock``."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hubd.core.actions import Audit, SendSms
from hubd.config import parse_config
from hubd.core.engine import Engine
from hubd.events import Event, Kind

from conftest import BASE, merge

H, MIN = 3600.0, 60.0
LIMIT = 2 * H
SAVED_LOCAL = 20458 * 86400.0 + 9 * H  # 2026-01-05 09:00
NEW_BOOT = 20.0  # the monotonic clock of the new boot


def _config(**alerts):
    """The engine reads no file: the config's state directory is never touched."""
    return parse_config(merge(BASE, {"detector": {"mode": "fixed", "max_inactivity_hours": LIMIT / H},
                                     "alerts": {"prealarm_minutes": 0.0, **alerts}}), "test.toml")


def _snapshot(config, silence: float, **extra) -> dict:
    """The resident moved ``silence`` seconds before the last save of the first boot."""
    engine = Engine(config)
    first = 5000.0
    engine.handle(Event(first, SAVED_LOCAL - silence, "hall", Kind.MOTION, 1.0))
    mono = first + silence
    _drive(engine, first, mono, lambda m: SAVED_LOCAL - silence + (m - first))
    return engine.snapshot(mono, SAVED_LOCAL, boot_id="boot-1")


def _drive(engine, start, end, local_at, sync_at=None, true_local_at=None) -> list[tuple[float, object]]:
    """Tick the engine at each deadline up to ``end`` (as the daemon does); at ``sync_at`` the
    clock is set and from then on reads ``true_local_at``. Returns (mono, action) pairs."""
    out, mono = [], start
    while True:
        if sync_at is not None and mono >= sync_at:
            local_at, sync_at = true_local_at, None
            out += [(mono, a) for a in engine.wall_clock_set(mono, local_at(mono))]
        out += [(mono, a) for a in engine.tick(mono, local_at(mono))]
        if mono >= end:
            return out
        due = [d for d in (engine.next_deadline(mono), sync_at) if d is not None and d > mono]
        mono = min(due + [end])


def _first_alarm(actions) -> float | None:
    return next((m for m, a in actions if isinstance(a, SendSms) and a.purpose == "alarm"), None)


def _reboot(config, snap, outage, stale_error, sync_after, horizon=20 * H):
    """Restart ``outage`` seconds after the save; the unset clock reads ``stale_error`` after the
    save (None: the clock is right from the start); it is set ``sync_after`` seconds later (None: never)."""
    engine = Engine(config)
    true_local = lambda m: SAVED_LOCAL + outage + (m - NEW_BOOT)  # noqa: E731
    if stale_error is None:
        actions = engine.restore(snap, NEW_BOOT, true_local(NEW_BOOT), "boot-2", synced=True)
        return engine, [(NEW_BOOT, a) for a in actions] + _drive(engine, NEW_BOOT, NEW_BOOT + horizon, true_local)
    stale_local = lambda m: SAVED_LOCAL + stale_error + (m - NEW_BOOT)  # noqa: E731
    actions = engine.restore(snap, NEW_BOOT, stale_local(NEW_BOOT), "boot-2", synced=False)
    sync_at = None if sync_after is None else NEW_BOOT + sync_after
    return engine, [(NEW_BOOT, a) for a in actions] + _drive(engine, NEW_BOOT, NEW_BOOT + horizon, stale_local,
                                                               sync_at, true_local)


@settings(max_examples=80, deadline=None)
@given(silence=st.floats(0, 4 * H), outage=st.floats(0, 12 * H), lag=st.floats(0, 1),
       sync_after=st.floats(0, 8 * H))
def test_once_the_clock_is_set_the_alarm_comes_when_a_correct_clock_gives_it(silence, outage, lag, sync_after):
    config = _config()
    snap = _snapshot(config, silence)
    stale_error = -2 * H + lag * (outage + 2 * H)  # an unset clock lags: up to the real time, or before the save
    _, right = _reboot(config, snap, outage, None, None)
    _, stale = _reboot(config, snap, outage, stale_error, sync_after)
    correct, got = _first_alarm(right), _first_alarm(stale)
    if correct is None:  # every step of the escalation went out before the cut
        assert got is None
        return
    assert got is not None
    assert got >= correct - 1e-6, "an unset clock made the alarm early"
    assert got <= max(correct, NEW_BOOT + sync_after) + 1e-6, "once the time is known the alarm waits no longer"
    if correct >= NEW_BOOT + sync_after:
        assert got == pytest.approx(correct, abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(silence=st.floats(0, LIMIT - 1), outage=st.floats(0, 12 * H), lag=st.floats(0, 1))
@example(silence=0.0, outage=0.000532, lag=1.0)  # a tiny outage: relative tolerance alone failed on rounding
def test_a_clock_never_set_alarms_within_the_safety_net_of_the_restart(silence, outage, lag):
    config = _config()
    snap = _snapshot(config, silence)
    engine, actions = _reboot(config, snap, outage, -2 * H + lag * (outage + 2 * H), None)
    got = _first_alarm(actions)
    assert got is not None and got <= NEW_BOOT + LIMIT + 1e-6
    assert engine.status(got, 0.0)["clock"] == {"wall_known": False, "restart": {
        "outage_seconds": None,  # (stamps near 1.7e9 s: their difference carries ~1e-7 s of rounding)
        "at_least_seconds": pytest.approx(max(0.0, -2 * H + lag * (outage + 2 * H)), abs=1e-6)}}


def test_the_restart_report_says_unknown_then_a_follow_up_gives_the_outage():
    config = _config()
    engine, actions = _reboot(config, _snapshot(config, 30 * MIN), 5 * H, -10 * MIN, 1 * H, horizon=2 * H)
    notices = [(m, a.text) for m, a in actions if isinstance(a, SendSms) and a.purpose == "system"]
    assert notices == [(NEW_BOOT, "hubd T-1: hub restarted, outage unknown (clock not set yet). Alert 1"),
                       (NEW_BOOT + H, "hubd T-1: clock set: before its restart the hub was down 5h00m. Alert 2")]
    measured = [a.detail for _, a in actions if isinstance(a, Audit) and a.action == "outage_measured"]
    assert measured == [{"down_seconds": 5 * H, "bridged_seconds": 0.0}]
    assert _first_alarm(actions) == NEW_BOOT + H  # 5 h 30 min of silence: over the limit the moment it is known
    assert engine.status(NEW_BOOT + H, 0.0)["clock"]["restart"]["outage_seconds"] == 5 * H


def test_a_save_made_with_the_clock_unset_leaves_the_outage_unknown_for_good():
    """The stored wall time was itself stale: no clock setting can measure the outage (no
    follow-up); the stored times are bridged with 0 and the safety net counts from the restart."""
    config = _config()
    snap = _snapshot(config, 30 * MIN)
    snap["clock"] = {"known": False, "restart": None, "unknown": None}
    engine, actions = _reboot(config, snap, 5 * H, 3 * H, 10 * MIN, horizon=3 * H)
    notices = [a.text for _, a in actions if isinstance(a, SendSms) and a.purpose == "system"]
    assert len(notices) == 1 and "outage unknown" in notices[0]
    assert _first_alarm(actions) == pytest.approx(NEW_BOOT + LIMIT - 30 * MIN)
    assert engine.unknown is None and engine.restart["outage_seconds"] is None


def test_a_crash_or_reload_before_the_clock_is_set_keeps_the_outage_to_measure():
    """Same boot, still unset: the pending outage and the restored times survive a daemon restart."""
    config = _config()
    engine, _ = _reboot(config, _snapshot(config, 30 * MIN), 5 * H, 0.0, None, horizon=10 * MIN)
    mono = NEW_BOOT + 10 * MIN
    for restarted in (True, False):  # systemd restarts it; SIGHUP reloads the config
        snap = engine.snapshot(mono, SAVED_LOCAL + 10 * MIN, boot_id="boot-2")
        engine = Engine(config)
        engine.restore(snap, mono, SAVED_LOCAL + 10 * MIN, "boot-2", restarted=restarted, synced=False)
        assert engine.unknown is not None and engine.unknown.outage is not None
    actions = engine.wall_clock_set(mono, SAVED_LOCAL + 5 * H + 10 * MIN)
    assert any(isinstance(a, SendSms) and a.purpose == "alarm" for a in actions)
    assert engine.status(mono, 0.0)["detector"]["inactive_seconds"] == pytest.approx(5 * H + 40 * MIN)


def test_away_and_alert_timers_bridged_across_the_cut_move_back_when_the_clock_is_set():
    config = _config()
    first = Engine(config)
    first.handle(Event(5000.0, SAVED_LOCAL, "hall", Kind.MOTION, 1.0))
    first.set_mode("away", 4.0, "tech", 5000.0, SAVED_LOCAL)
    snap = first.snapshot(5000.0, SAVED_LOCAL, boot_id="boot-1")
    engine = Engine(config)
    engine.restore(snap, NEW_BOOT, SAVED_LOCAL, "boot-2", synced=False)
    assert engine.mode.until_mono == NEW_BOOT + 4 * H  # bridged with 0: at most the away's own length
    engine.wall_clock_set(NEW_BOOT + MIN, SAVED_LOCAL + 5 * H + MIN)
    assert engine.mode.until_mono == NEW_BOOT - H  # it had ended during the cut
    actions = engine.tick(NEW_BOOT + MIN, SAVED_LOCAL + 5 * H + MIN)
    assert engine.mode.name == "home" and any(isinstance(a, Audit) and a.action == "away_expired" for a in actions)


def test_the_heartbeat_is_never_put_off_by_an_unset_clock():
    """A clock back in 1970 would put the next heartbeat 56 years away: it stays within one interval."""
    config = _config(heartbeat_hours=24.0, heartbeat_time="10:00")
    snap = _snapshot(config, 30 * MIN)
    engine = Engine(config)
    engine.restore(snap, NEW_BOOT, 3 * MIN, "boot-2", synced=False)  # 1970-01-01 00:03
    engine.tick(NEW_BOOT, 3 * MIN)
    due = engine.next_deadline(NEW_BOOT)
    assert due is not None and due == pytest.approx(NEW_BOOT + H)  # 10:00 was an hour after the save
    assert engine.next_heartbeat_local == pytest.approx(3 * MIN + H)
    # set at 15:00 (a 5 h cut): the 10:00 heartbeat was missed and goes at once, then daily at 10:00
    mono = NEW_BOOT + 10 * MIN
    engine.wall_clock_set(mono, SAVED_LOCAL + 6 * H)
    reports = [a for a in engine.tick(mono, SAVED_LOCAL + 6 * H) if a.__class__.__name__ == "Report"]
    assert len(reports) == 1 and engine.next_heartbeat_local == SAVED_LOCAL + 25 * H
