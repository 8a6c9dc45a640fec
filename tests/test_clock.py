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
