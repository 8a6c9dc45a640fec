"""Issue 4's acceptance: the daemon learns for 10 simulated days, restarts, and keeps the
same learned thresholds (both rules) and the same next alarm time."""

import asyncio

import numpy as np
import pytest

from hubd.clock import FakeClock
from hubd.events import Kind

from fakes import build_hub

H, M, DAY = 3600.0, 60.0, 86400.0
MIDNIGHT = 19_700 * DAY  # local midnight, naive


async def settle(rounds=10):
    for _ in range(rounds):
        await asyncio.sleep(0)


def day_times(d):
    """Motion every 20 min from 07:00 to 23:00 on day d (local seconds)."""
    return [MIDNIGHT + d * DAY + 7 * H + i * 20 * M for i in range(49)]


def run_days(config, clock, days, boot_id):
    daemon = build_hub(config, clock, boot_id=boot_id)

    async def scenario():
        task = asyncio.ensure_future(daemon.run())
        await settle()
        for d in days:
            for t in day_times(d):
                clock.advance(t - clock.local())
                daemon.sink("pir_hall" if int(t // (20 * M)) % 2 else "pir_kitchen", Kind.MOTION, 1.0,
                            clock.monotonic())
                await settle()
        daemon.request_stop()
        await task

    asyncio.run(scenario())
    return daemon


def test_learned_thresholds_survive_a_daemon_restart(make_config):
    config = make_config(detector={"mode": "learned", "max_inactivity_hours": 12.0})
    clock = FakeClock(mono=5000.0, local=MIDNIGHT + 6 * H)
    first = run_days(config, clock, range(11), "boot-1")  # day 10 closes the 10th learned day
    det = first.engine.detector
    assert det.learned_days == 10 and not det.status(clock.monotonic(), clock.local())["cold_start"]
    thr, rules = det.thresholds()
    assert set(rules) == {"learned"} and thr.min() < 2 * H < 8 * H < thr.max()  # short days, long nights
    state_before = det.state()
    due_before = det.next_check(clock.monotonic())

    # a new boot: the monotonic clock starts elsewhere, the wall clock goes on
    reboot = FakeClock(mono=10.0, local=clock.local() + 60.0)
    second = build_hub(config, reboot, boot_id="boot-2")

    async def start_and_stop():
        task = asyncio.ensure_future(second.run())
        await settle()
        second.request_stop()
        await task

    asyncio.run(start_and_stop())
    restored = second.engine.detector
    assert restored.learned_days == 10
    np.testing.assert_array_equal(restored.thresholds()[0], thr)
    np.testing.assert_array_equal(restored.state()["thr"], state_before["thr"])  # both rules' limits
    np.testing.assert_array_equal(restored.state()["hist"], state_before["hist"])
    # the silence since the last motion is still counted from the real last activity
    shift = reboot.monotonic() - 60.0 - clock.monotonic()
    assert restored.next_check(reboot.monotonic()) == pytest.approx(due_before + shift, abs=1.0)


def test_nothing_is_learned_while_the_wall_clock_is_unset():
    """Events seen on an unset clock (5 h behind) are watched but never learned at a shifted time
    of day; once the clock is set their stamps are corrected and learning goes on."""
    from hubd.detector.model import LearnedDetector
    from hubd.detector.params import DetectorParams
    from hubd.events import Event

    det = LearnedDetector(DetectorParams(max_inactivity_hours=12.0))
    mono_of = lambda t: 5000.0 + (t - MIDNIGHT)  # noqa: E731

    def feed(days, error=0.0):
        for d in days:
            for t in day_times(d):
                det.observe(Event(mono_of(t), t + error, "pir_hall", Kind.MOTION, 1.0))
    feed(range(11))
    before = det.state()
    det.hold_learning(True)
    stale_from = mono_of(day_times(11)[0])
    feed(range(11, 13), error=-5 * H)
    after = det.state()
    for key in ("cur", "hist", "thr", "abs_hist", "held_hist", "acto"):
        np.testing.assert_array_equal(after[key], before[key], err_msg=key)
    assert det.learned_days == 10
    last = day_times(12)[-1]
    assert det.status(mono_of(last) + 60.0, last + 60.0)["inactive_seconds"] == pytest.approx(60.0)  # still watching
    assert det.status(mono_of(last), last)["last_activity_local"] == last - 5 * H
    det.wall_clock_set(5 * H, stale_from, mono_of(last) + 60.0)
    det.hold_learning(False)
    assert det.status(mono_of(last), last)["last_activity_local"] == last
    feed([13])
    assert det.learned_days > 10  # the days since are closed on the right clock
