"""Fault matrix, clock rows: the wall clock jumps under the running daemon (a Pi has no RTC:
it boots in 1970 and jumps to now when NTP or the modem sets it; NTP also corrects by an
hour when a bad time was set). Durations come from the monotonic clock only, so the alarm
comes exactly ``max_inactivity_hours`` after the last movement and its text says so."""

from __future__ import annotations

import pytest

from hubd.clock import FakeClock

from faultrig import DAY0, HOUR, MIN, Rig, run

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
