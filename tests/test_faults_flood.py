"""Fault matrix, flood row: 1,000 inbound SMS while an alarm comes due.

The office's own number asks for STATUS a thousand times; the network hands the texts over as
fast as the SIM has room for them (an SMSC retries while the SIM is full). The resident falls
silent meanwhile. From the moment the alarm is queued until it is on the office's phone, at
most one other text may go out (the one already in flight): resident alarms go before system
alerts before replies, inbound is read in small batches between sends, and replies are limited
per sender. Every request read is accounted for in the audit log and deleted from the SIM; none is lost.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from hubd.modem.inbound import INBOUND_BATCH
from hubsim.modem import ModemEmulator

from faultrig import HOUR, MIN, OFFICE, Rig, run

FLOOD = 1000
ANSWERED = ("status_request", "reply_dropped")  # the audit entry of each STATUS request read
SENT = datetime(2026, 1, 5, 8, 50, tzinfo=timezone(timedelta(hours=9)))


@pytest.fixture
def emulator():
    emu = ModemEmulator("ec25", seed=11).start()
    yield emu
    emu.stop()


def test_a_flood_of_a_thousand_sms_delays_an_alarm_by_at_most_one_send(tmp_path, emulator):
    rig = Rig(tmp_path, emulator, hold_modem=True)
    injected, flooding = [0], [True]

    def network() -> None:
        """The SMSC delivers the rest of the flood whenever the SIM has room. Texts handed to the
        emulator and not yet accounted for by the hub take room; one slot is kept free because the
        hub accounts for a text just before it deletes it (so none is dropped for want of room)."""
        room = emulator.storage_size - 1 - (injected[0] - handled()) if flooding[0] else 0
        for _ in range(min(room, FLOOD - injected[0])):
            # a second apart: the same sender, text and time stamp is one message delivered twice
            emulator.inject_sms(OFFICE, "STATUS", timestamp=SENT + timedelta(seconds=injected[0]))
            injected[0] += 1

    def handled() -> int:
        rows = rig.store.audit_log(limit=5 * FLOOD)
        return sum(1 for row in rows if row["action"] in ANSWERED)

    def alarm_on_phone() -> bool:
        network()
        return any("no activity" in text for _, text in rig.phone())

    async def body(rig):
        assert await rig.until(lambda: rig.uplink.modem.ready, 30), "the modem never became ready"
        await rig.motion("kitchen_pir")
        await rig.run_for(HOUR - 5 * MIN)
        assert await rig.until(alarm_on_phone, 40 * MIN, step=1.0), "the alarm never reached the office"
        # and the hub works through the rest
        assert await rig.until(lambda: network() or handled() >= FLOOD, HOUR, step=5.0), f"{handled()} read"
        flooding[0] = False  # the network stops handing texts over; the one in flight lands
        await rig.until(lambda: handled() + emulator.stored_count() == injected[0], 10 * MIN, step=5.0)
        result.update(handled=handled(), stored=emulator.stored_count(),
                      actions=[row["action"] for row in reversed(rig.store.audit_log(limit=5 * FLOOD))])  # oldest first

    result: dict[str, int] = {}
    run(rig, body, timeout=240.0)
    # where the alarm was raised in the modem's command log: after the requests read before it
    actions = result["actions"]
    read_before = sum(1 for a in actions[:actions.index("alert_raised")] if a in ANSWERED)
    commands = emulator.snapshot()["commands"]
    reads = [i for i, c in enumerate(commands) if c.startswith("AT+CMGR")]
    sends = [i for i, c in enumerate(commands) if c.startswith("AT+CMGS")]  # none fails here: one per text
    texts = [text for _, text in rig.phone()]
    assert len(sends) == len(texts)
    raised = reads[read_before - 1] if read_before else 0
    sent = sends[next(i for i, text in enumerate(texts) if "no activity" in text)]
    between = commands[raised + 1:sent]
    assert sum(c.startswith("AT+CMGS") for c in between) <= 1, between  # at most the one in flight
    assert sum(c.startswith("AT+CMGR") for c in between) <= INBOUND_BATCH + 1, between
    # nothing lost: every text the network handed over is read and accounted for, or still in the SIM
    assert result["handled"] + result["stored"] == injected[0] == FLOOD
    replies = [text for text in texts if "No activity for" in text]
    assert 1 <= len(replies) <= 4  # modem.replies_per_hour within the hour of the flood
