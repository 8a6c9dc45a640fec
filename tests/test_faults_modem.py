"""Fault matrix, modem rows: the resident collapses while the modem misbehaves, under the
running daemon (SmsService on the pty modem emulator, the daemon on a fake clock).

In every row the alarm reaches the office's phone exactly once when the fault allows it,
and while it cannot, the hub says so (an ``uplink_down`` alert: buzzer/LED, hubctl, and a
text once the link is back). What the phone received is read from the emulator's log.
"""

from __future__ import annotations

import asyncio

import pytest

from hubsim.modem import ModemEmulator

from faultrig import HOUR, MIN, OFFICE, OFFICE2, Rig, run

LIMIT = HOUR  # detector.max_inactivity_hours in the rig
DOWN_AFTER = 120.0  # SmsTiming.down_after in the rig


@pytest.fixture
def emulator():
    emu = ModemEmulator("ec25", seed=5).start()
    yield emu
    emu.stop()


def alarms(rig, to=None):
    return [text for number, text in rig.phone() if "no activity" in text and (to is None or number == to)]


async def collapse(rig, before_alarm=None):
    """The resident moves once, then nothing; ``before_alarm()`` breaks something first."""
    assert await rig.until(lambda: rig.uplink.modem.ready, 30), "the modem never became ready"
    await rig.motion("kitchen_pir")
    if before_alarm is not None:
        before_alarm()
    await rig.run_for(LIMIT - 3 * MIN)
    assert await rig.until(lambda: rig.open_alerts("inactivity"), 10 * MIN), "no inactivity alarm"


async def drained(rig) -> None:
    assert await rig.until(lambda: rig.uplink.outbox.head() is None, 10 * MIN), "the outbox never emptied"


def uplink_down(rig) -> bool:
    return bool(rig.open_alerts("uplink_down"))


def test_modem_not_answering(tmp_path, emulator):
    rig = Rig(tmp_path, emulator)

    async def body(rig):
        await collapse(rig, lambda: emulator.set_silent(True))
        assert await rig.until(lambda: uplink_down(rig), DOWN_AFTER + 5 * MIN), "uplink_down never raised"
        assert alarms(rig) == [] and rig.hardware.pattern == "alarm"
        emulator.set_silent(False)
        assert await rig.until(lambda: alarms(rig) and not uplink_down(rig), 10 * MIN)
        await drained(rig)  # anything still to send goes now

    run(rig, body)
    assert len(alarms(rig, OFFICE)) == 1
    assert [text for _, text in rig.phone() if "office link failing" in text]  # told once it could be


def test_modem_rebooting_while_the_alarm_is_sent(tmp_path, emulator):
    """The PDU went, then the modem browned out before answering +CMGS: the documented
    ambiguous case. The hub resends once after the modem is back: the office may get the
    alarm twice, never not at all, never more."""
    rig = Rig(tmp_path, emulator)

    def sends():
        return sum(1 for c in emulator.snapshot()["commands"] if c.startswith("AT+CMGS"))

    async def body(rig):
        emulator.set_cmgs_delay(5.0)  # the answer to +CMGS would come late...
        await collapse(rig)
        assert await rig.until(lambda: sends() >= 1, 2 * MIN)
        assert await asyncio.to_thread(emulator.wait_delivered, 1, 5.0)
        emulator.set_cmgs_delay(0.0)
        emulator.reboot(down_for=0.2)  # ... and the modem reboots before giving it
        assert await rig.until(lambda: len(alarms(rig)) == 2, 10 * MIN)
        await drained(rig)
        [message] = [m for m in rig.uplink.outbox.messages() if m.purpose == "alarm"]
        assert message.ambiguous == 1 and message.state in ("sent", "delivered")

    run(rig, body)
    assert len(alarms(rig, OFFICE)) == 2
    assert emulator.boots >= 2


def test_modem_answering_with_garbage_and_noise(tmp_path):
    with ModemEmulator("sim800", seed=9, garbage=0.3, urc_noise=True) as emulator:
        rig = Rig(tmp_path, emulator)

        async def body(rig):
            await collapse(rig, lambda: emulator.inject_garbage(b"\r\n\xff\xfe\x00garbage\r\n"))
            assert await rig.until(lambda: alarms(rig), 10 * MIN)
            await drained(rig)

        run(rig, body)
        assert len(alarms(rig, OFFICE)) == 1


def test_network_lost_during_the_alarm(tmp_path, emulator):
    rig = Rig(tmp_path, emulator)

    async def body(rig):
        await collapse(rig, lambda: emulator.set_registration(2))  # searching: no network
        assert await rig.until(lambda: uplink_down(rig), DOWN_AFTER + 5 * MIN), "uplink_down never raised"
        outbox = rig.uplink.outbox.counts()
        assert outbox["queued"] >= 1 and outbox["failed"] == 0  # held, not given up
        assert alarms(rig) == []
        emulator.set_registration(1)
        assert await rig.until(lambda: alarms(rig) and not uplink_down(rig), 10 * MIN)
        await drained(rig)

    run(rig, body)
    assert len(alarms(rig, OFFICE)) == 1


def test_permanent_error_for_the_first_number(tmp_path, emulator):
    rig = Rig(tmp_path, emulator)

    async def body(rig):
        await collapse(rig, lambda: emulator.fail_to(OFFICE, 21))  # "short message transfer rejected"
        assert await rig.until(lambda: uplink_down(rig), 2 * MIN), "a failed alarm must be said at once"
        assert rig.uplink.outbox.counts()["failed"] >= 1
        # the escalation goes on: the second number gets the alarm after the ACK timeout
        await rig.run_for(30 * MIN - 3 * MIN)
        assert await rig.until(lambda: alarms(rig, OFFICE2), 10 * MIN)
        await drained(rig)

    run(rig, body)
    assert alarms(rig, OFFICE) == [] and len(alarms(rig, OFFICE2)) == 1
    attempts = [c for c in emulator.snapshot()["commands"] if c.startswith("AT+CMGS")]
    assert len(attempts) < 10  # refused messages are not hammered at the modem


def test_modem_refusing_its_set_up_with_an_alarm_due(tmp_path, emulator):
    """The issue's sequence under the daemon: set-up refused (+CME ERROR: 11 to ATE0) until the
    recovery reset the modem on a closed port and the uplink task ended, mute. Now the hub says
    the link is down, and the alarm arrives once the modem accepts its set-up."""
    rig = Rig(tmp_path, emulator)

    async def body(rig):
        await collapse(rig, lambda: (emulator.override("ATE0", ["+CME ERROR: 11"]), emulator.reboot(0.05)))
        assert await rig.until(lambda: uplink_down(rig), DOWN_AFTER + 10 * MIN), "uplink_down never raised"
        assert alarms(rig) == []
        emulator.override("ATE0", None)
        assert await rig.until(lambda: alarms(rig) and not uplink_down(rig), 30 * MIN)
        await drained(rig)

    run(rig, body)
    assert len(alarms(rig, OFFICE)) == 1
