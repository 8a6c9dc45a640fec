import asyncio

import pytest

from hubd.clock import FakeClock, ScaledClock


def test_fake_clock_wakes_sleepers_in_order():
    clock = FakeClock(mono=0.0, local=0.0)
    woke = []

    async def sleeper(name, seconds):
        await clock.sleep(seconds)
        woke.append((name, clock.monotonic()))

    async def main():
        tasks = [asyncio.ensure_future(sleeper("b", 20)), asyncio.ensure_future(sleeper("a", 10))]
        await asyncio.sleep(0)
        clock.advance(15)
        await asyncio.sleep(0)
        assert woke == [("a", 15.0)]
        clock.advance(5)
        await asyncio.gather(*tasks)

    asyncio.run(main())
    assert woke == [("a", 15.0), ("b", 20.0)]


def test_wall_jump_never_changes_durations():
    clock = FakeClock(mono=100.0, local=1000.0)
    clock.jump_wall(-3600, synced=False)
    assert clock.monotonic() == 100.0 and clock.local() == 1000.0 - 3600
    assert not clock.synced()
    clock.jump_wall(+50 * 365 * 86400, synced=True)  # 1970 -> now at NTP sync
    assert clock.monotonic() == 100.0 and clock.synced()


def test_fake_clock_refuses_to_go_back():
    with pytest.raises(ValueError):
        FakeClock().advance(-1)


def test_scaled_clock_runs_fast(monkeypatch):
    real = [50.0]
    clock = ScaledClock(speed=3600.0, start_local=7200.0, base=lambda: real[0])
    real[0] += 0.01
    assert clock.monotonic() == pytest.approx(36.0)
    assert clock.local() == pytest.approx(7236.0)
    asked = []

    async def fake_sleep(seconds):
        asked.append(seconds)

    monkeypatch.setattr("hubd.clock.asyncio.sleep", fake_sleep)
    asyncio.run(clock.sleep(36.0))
    assert asked == [pytest.approx(0.01)]


def test_system_clock_is_synced_by_timesyncd_flag_or_modem_time(tmp_path):
    from hubd.clock import SystemClock, system_local_seconds

    flag = tmp_path / "synchronized"
    wall = [1_000_000.0]  # a Pi without RTC after a cut: 1970
    clock = SystemClock(str(flag), wall=lambda: wall[0])
    assert not clock.synced() and clock.local() == system_local_seconds(1_000_000.0)
    true_utc = 1_767_600_000.0
    clock.offer_time(true_utc)  # the modem's network time after registration
    assert clock.synced() and clock.local() == pytest.approx(system_local_seconds(true_utc))
    wall[0] += 10.0
    assert clock.local() == pytest.approx(system_local_seconds(true_utc + 10.0))
    wall[0] = true_utc + 20.0  # NTP arrives and sets the system clock: the modem's offset no longer applies
    flag.write_text("")
    assert clock.synced() and clock.local() == pytest.approx(system_local_seconds(true_utc + 20.0))
    clock.offer_time(0.0)  # ignored once the system clock is synchronised
    assert clock.local() == pytest.approx(system_local_seconds(true_utc + 20.0))


def test_modem_time_equal_to_the_system_time_still_counts_as_synced(tmp_path):
    from hubd.clock import SystemClock

    clock = SystemClock(str(tmp_path / "absent"), wall=lambda: 1_767_600_000.0)
    clock.offer_time(1_767_600_000.0)
    assert clock.synced()


def test_a_scaled_clock_changes_speed_without_a_jump():
    """The interactive simulator slows its clock while the buzzer sounds: time goes on from where it was."""
    from hubd.clock import ScaledClock

    wall = [100.0]
    clock = ScaledClock(1200.0, start_local=1_700_000_000.0, base=lambda: wall[0], start_mono=5000.0)
    wall[0] += 1.0
    assert clock.monotonic() == 5000.0 + 1200.0
    clock.set_speed(60.0)
    assert clock.monotonic() == 5000.0 + 1200.0 and clock.local() == 1_700_000_000.0 + 1200.0
    wall[0] += 2.0
    assert clock.monotonic() == 5000.0 + 1200.0 + 120.0
    assert clock.local() - clock.monotonic() == 1_700_000_000.0 - 5000.0
    with pytest.raises(ValueError):
        clock.set_speed(0.0)
