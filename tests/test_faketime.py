"""The fake-time driver (tests/faketime.py): simulated time holds while the hub works in real time.

The soak test failed on a loaded machine (alarm texts said 8h25m where 8h03m was due): its
harness moved time on while the daemon had not yet gone back to sleep and while the modem
emulator answered in real time, so the daemon's deadlines were jumped over. These tests pin
the rule itself, with the modem made slow on purpose.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from hubd.clock import FakeClock
from hubsim.modem import ModemEmulator

from faketime import Stuck, busy, drive, settle
from faultrig import OFFICE, Rig, run

MIN = 60.0


def test_next_wake_names_the_earliest_deadline_still_asleep():
    clock = FakeClock(mono=100.0)

    async def body():
        empty = clock.next_wake()
        late = asyncio.ensure_future(clock.sleep(50.0))
        early = asyncio.ensure_future(clock.sleep(20.0))
        await asyncio.sleep(0)
        both = clock.next_wake()
        early.cancel()
        await asyncio.sleep(0)
        after_cancel = clock.next_wake()
        clock.advance(50.0)
        await late
        return empty, both, after_cancel, clock.next_wake()

    assert asyncio.run(body()) == (None, 120.0, 150.0, None)


def test_settle_says_what_it_waited_for_when_the_hub_never_goes_idle():
    daemon = SimpleNamespace(hardware=SimpleNamespace(), uplink=SimpleNamespace(idle=False), idle=True)

    async def body():
        await settle(daemon, real_limit=0.05)

    with pytest.raises(Stuck, match="the uplink never finished"):
        asyncio.run(body())


def test_an_sms_the_modem_takes_its_time_over_leaves_at_the_moment_it_was_queued(tmp_path):
    # the modem answers AT+CMGS after 0.3 s of real time; the hub sleeps 30 s at a time:
    # the old harnesses jumped simulated time on meanwhile, so the SMS left "minutes" later
    with ModemEmulator("ec25", seed=2, cmgs_delay=0.3) as emulator:
        rig = Rig(tmp_path, emulator=emulator, hold_modem=True)
        seen = {}

        async def body(rig):
            await drive(rig.daemon, rig.clock, rig.clock.monotonic() + 2 * MIN, task=rig.task)
            assert rig.uplink.modem.ready
            queued_at = rig.clock.local()
            message_id = rig.uplink.submit(OFFICE, "hubd RIG-1: test", "test", None)
            moves = await drive(rig.daemon, rig.clock, rig.clock.monotonic() + 10 * MIN, task=rig.task)
            seen.update(queued_at=queued_at, message=rig.uplink.outbox.get(message_id), moves=moves,
                        phone=rig.phone(), busy=busy(rig.daemon, rig.task))

        run(rig, body)
    assert seen["message"].state in ("sent", "delivered")
    assert seen["message"].sent_local == seen["queued_at"]  # not one simulated second went by
    assert seen["phone"] == [(OFFICE, "hubd RIG-1: test")]
    assert seen["moves"] >= 10 * MIN / 30 and seen["busy"] is None  # woken at every tick, then idle


def test_the_uplink_is_idle_only_when_asleep_with_nothing_in_flight(tmp_path):
    with ModemEmulator("ec25", seed=2, cmgs_delay=0.3) as emulator:
        rig = Rig(tmp_path, emulator=emulator, hold_modem=True)
        seen = {}

        async def body(rig):
            await drive(rig.daemon, rig.clock, rig.clock.monotonic() + MIN, task=rig.task)
            seen["idle_before"] = rig.uplink.idle
            rig.uplink.submit(OFFICE, "hubd RIG-1: test", "test", None)
            seen["idle_once_queued"] = rig.uplink.idle  # woken: not idle until it has sent it
            while rig.uplink.modem.channel.in_flight is None:
                await asyncio.sleep(0)
            seen["idle_while_sending"] = rig.uplink.idle
            await settle(rig.daemon, rig.task)
            seen["idle_after"] = rig.uplink.idle
            seen["phone"] = rig.phone()

        run(rig, body)
    assert (seen["idle_before"], seen["idle_once_queued"], seen["idle_while_sending"], seen["idle_after"]) == \
        (True, False, False, True)
    assert seen["phone"] == [(OFFICE, "hubd RIG-1: test")]
