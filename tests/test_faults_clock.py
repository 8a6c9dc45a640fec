"""Fault matrix, clock rows: the wall clock jumps under the running daemon (a Pi has no RTC:
it boots in 1970 and jumps to now when NTP or the modem sets it; NTP also corrects by an
hour when a bad time was set). Durations come from the monotonic clock only, so the alarm
comes exactly ``max_inactivity_hours`` after the last movement and its text says so."""

from __future__ import annotations

import pytest

from hubd.clock import FakeClock
from hubd.control.commands import Commands
from hubd.hubctl import show_status
from hubd.core.messages import duration
from hubd.store import Store

from faultrig import DAY0, HOUR, MIN, OFFICE, Rig, run

LIMIT_H = 2.0
NOW_2026 = DAY0 + 8 * HOUR
BOOT_1970 = 3 * MIN  # a Pi without RTC: the epoch plus the boot time


@pytest.mark.parametrize("mode", ["fixed", "learned"])
@pytest.mark.parametrize("start, jump, synced", [
    (NOW_2026, +HOUR, True),
    (NOW_2026, -HOUR, True),
    (BOOT_1970, NOW_2026 - BOOT_1970, False),  # NTP sync: 1970 -> 2026 in one step
], ids=["plus_1h", "minus_1h", "1970_to_now"])
def test_wall_clock_jumps_do_not_change_how_long_the_silence_was(tmp_path, mode, start, jump, synced):
    clock = FakeClock(mono=50.0, local=start, synced=synced)
    rig = Rig(tmp_path, clock=clock, detector={"mode": mode, "max_inactivity_hours": LIMIT_H})

    async def body(rig):
        await rig.motion("kitchen_pir")
        moved = clock.monotonic() - 10.0  # the PIR episode ended; its start was the last activity
        await rig.run_for(30 * MIN)
        clock.jump_wall(jump, synced=True)
        await rig.run_for(LIMIT_H * HOUR - 30 * MIN - 5 * MIN - 10)
        assert rig.open_alerts() == [], "the jump shortened the silence"
        await rig.run_for(10 * MIN)
        [alert] = rig.open_alerts()
        assert alert.type == "inactivity" and alert.stage == "alarm"
        assert alert.raised_mono - (moved - 5.0) == pytest.approx(LIMIT_H * HOUR, abs=60)
        status = rig.daemon.engine.detector.status(clock.monotonic(), clock.local())
        assert status["inactive_seconds"] == pytest.approx(clock.monotonic() - (moved - 5.0), abs=60)

    run(rig, body)
    alarm = [text for _, text, purpose, _ in rig.sent() if purpose == "alarm"][0]
    assert "no activity for 2h0" in alarm  # 2h00m..2h09m, never 1h or 3h or 56 years


# -- a power cut on a Pi without RTC: the clock comes back near the time of the cut ---------------------
CUT_H = 5.0
SILENT_BEFORE = 30 * MIN
STALE_AHEAD = 2 * MIN  # the unset clock after the boot: a little after the last save (fake-hwclock)


def _killed(rig: Rig) -> None:
    """No final flush, as kill -9 or a power cut: what is on disk is the last periodic save."""
    rig.daemon._shutdown = rig.hardware.close


def _silent_then_cut(tmp_path, mode: str) -> tuple[float, float, str]:
    """The resident moves, is silent 30 min, the power goes. Returns (local of the movement,
    local of the cut, the state directory); the last save may be older than the cut."""
    rig = Rig(tmp_path, clock=FakeClock(mono=50.0, local=NOW_2026),
              detector={"mode": mode, "max_inactivity_hours": LIMIT_H})
    _killed(rig)
    moved = []

    async def body(rig):
        await rig.motion("kitchen_pir")
        moved.append(rig.clock.local() - 15.0)
        await rig.run_for(SILENT_BEFORE)
        assert rig.open_alerts() == []

    run(rig, body)
    return moved[0], rig.clock.local(), rig.state_dir


def _reboot(tmp_path, state_dir: str, mode: str, local: float, synced: bool) -> Rig:
    rig = Rig(tmp_path, clock=FakeClock(mono=20.0, local=local, synced=synced), state_dir=state_dir,
              detector={"mode": mode, "max_inactivity_hours": LIMIT_H})
    rig.daemon.boot_id = "boot-2"  # a new boot: the monotonic clock started again
    return rig


def _minutes(text: str) -> int:
    hours, minutes = text.split("for ")[1].split(".")[0].split("h")
    return int(hours) * 60 + int(minutes.rstrip("m"))


@pytest.mark.parametrize("mode", ["fixed", "learned"])
def test_stale_clock_after_a_power_cut_alarms_as_soon_as_the_time_is_known(tmp_path, mode):
    moved, cut, state_dir = _silent_then_cut(tmp_path, mode)
    saved_local = _saved_local(state_dir)
    rig = _reboot(tmp_path, state_dir, mode, cut + STALE_AHEAD, synced=False)

    async def body(rig):
        await rig.run_for(10 * MIN)
        assert rig.open_alerts("inactivity") == [], "an unknown outage must not be taken as a long one"
        clock = rig.daemon.engine.status(rig.clock.monotonic(), rig.clock.local())["clock"]
        assert clock["wall_known"] is False and clock["restart"]["outage_seconds"] is None
        status = Commands(rig.daemon).status({}, "tech")  # what hubctl status shows
        assert status["clock_synced"] is False and status["restart"]["outage_known"] is False
        assert any(line.startswith("restart") and "UNKNOWN" in line for line in show_status(status))
        assert [t for _, t, p, _ in rig.sent("system") if "outage unknown" in t]
        rig.clock.jump_wall(CUT_H * HOUR - STALE_AHEAD, synced=True)  # NTP or the modem sets the clock
        await rig.run_for(rig.config.hub.tick_seconds)
        [alert] = rig.open_alerts("inactivity")
        assert alert.stage == "alarm"
        restart = rig.daemon.engine.status(rig.clock.monotonic(), rig.clock.local())["clock"]["restart"]
        assert restart["outage_seconds"] == pytest.approx(CUT_H * HOUR + cut - saved_local)
        assert Commands(rig.daemon).status({}, "tech")["restart"]["outage_known"] is True

    run(rig, body)
    [alarm] = [text for to, text, purpose, _ in rig.sent("alarm") if to == OFFICE]
    silence = rig.clock.local() - moved
    assert abs(_minutes(alarm) - silence / MIN) <= 2, alarm  # the whole silence, cut included
    [report, follow_up] = [text for _, text, purpose, _ in rig.sent("system")]
    assert "outage unknown" in report
    assert f"was down {duration(CUT_H * HOUR + cut - saved_local)}" in follow_up  # from the last save


def _saved_local(state_dir: str) -> float:
    store = Store(state_dir)
    try:
        return store.load_snapshot()["saved_local"]
    finally:
        store.close()


@pytest.mark.parametrize("mode", ["fixed", "learned"])
def test_a_correct_clock_after_a_power_cut_alarms_at_once(tmp_path, mode):
    moved, cut, state_dir = _silent_then_cut(tmp_path, mode)
    saved_local = _saved_local(state_dir)
    rig = _reboot(tmp_path, state_dir, mode, cut + CUT_H * HOUR, synced=True)

    async def body(rig):
        await rig.run_for(1.0)
        [alert] = rig.open_alerts("inactivity")
        assert alert.stage == "alarm"

    run(rig, body)
    [report] = [text for _, text, purpose, _ in rig.sent("system")]
    assert f"was down {duration(CUT_H * HOUR + cut - saved_local)}" in report
    assert rig.sent("alarm")


@pytest.mark.parametrize("mode", ["fixed", "learned"])
def test_a_clock_never_set_still_alarms_within_the_safety_net_of_the_restart(tmp_path, mode):
    moved, cut, state_dir = _silent_then_cut(tmp_path, mode)
    rig = _reboot(tmp_path, state_dir, mode, cut + STALE_AHEAD, synced=False)
    started = rig.clock.monotonic()

    async def body(rig):
        await rig.run_for(LIMIT_H * HOUR + 1 * MIN)
        [alert] = rig.open_alerts("inactivity")
        assert 0 < alert.raised_mono - started <= LIMIT_H * HOUR
        assert rig.daemon.engine.unknown is not None

    run(rig, body)
    [report] = [text for _, text, purpose, _ in rig.sent("system")]
    assert "outage unknown" in report  # and no follow-up: the outage was never measured
