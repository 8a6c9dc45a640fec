"""An SMS is never sent twice without the outbox saying it may have been (issue 13, item 7).

A kill -9 loop saw one SMS go out twice unmarked. The gap: an attempt cut off after its PDU had
gone to the modem, by anything but a kill -9 (the hub stopping cancels the uplink; a commit
failing after the part went), was re-queued as plain ``queued`` and sent again as new. Each test
cuts the attempt at that exact point, then lets a hub start on the same state directory.
"""

from __future__ import annotations

import pytest

from hubd.modem.outbox import Outbox
from hubd.store import StoreError

from smshub import FAST, TO, emulator, hub_on, in_thread, run  # noqa: F401

PATIENT = FAST.__class__(**{**FAST.__dict__, "command_timeout": 5.0, "cmgs_timeout": 30.0})


def test_stopped_after_the_pdu_went_before_cmgs_it_is_marked_ambiguous(emulator, tmp_path):
    emu = emulator("sim800")
    emu.swallow_next_cmgs(1)  # the phone gets it; the modem's +CMGS never comes

    async def body():
        async with hub_on(emu, tmp_path, timing=PATIENT) as hub:
            await hub.ready()
            message_id = hub.service.submit(TO, "cut off by a stop", "alarm", 1)
            assert await in_thread(emu.wait_delivered, 1, 5.0)
            assert hub.state(message_id) == "sending"
        # the hub stopped (its task cancelled) right there; it starts again
        async with hub_on(emu, tmp_path) as hub:
            await hub.sent(message_id)
            return hub.service.outbox.get(message_id)

    message = run(body())
    assert message.ambiguous == 1  # was 0: "sent twice without the outbox having marked it"
    assert emu.delivered == [(TO, "cut off by a stop")] * 2


def test_stopped_while_waiting_for_the_prompt_nothing_went_and_it_is_sent_once(emulator, tmp_path):
    emu = emulator("sim800")
    emu.override("AT+CMGS", [])  # no prompt: the PDU never goes

    async def body():
        async with hub_on(emu, tmp_path, timing=PATIENT) as hub:
            await hub.ready()
            message_id = hub.service.submit(TO, "stopped before it went", "alarm", 1)
            assert await in_thread(emu.wait_until, lambda e: any(c.startswith("AT+CMGS") for c in e.commands), 5.0)
        emu.override("AT+CMGS", None)
        async with hub_on(emu, tmp_path) as hub:
            await hub.sent(message_id)
            return hub.service.outbox.get(message_id)

    message = run(body())
    assert message.ambiguous == 0 and emu.delivered == [(TO, "stopped before it went")]


def test_a_commit_failing_after_the_part_went_makes_it_ambiguous_not_new(emulator, tmp_path, monkeypatch):
    emu = emulator("sim800")
    original = Outbox.part_sent
    failures = []

    def part_sent_once_failing(self, message_id, index, message_ref):
        if not failures:
            failures.append(message_id)
            raise StoreError("SMS state write failed: disk I/O error")
        return original(self, message_id, index, message_ref)

    monkeypatch.setattr(Outbox, "part_sent", part_sent_once_failing)

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            await hub.ready()
            message_id = hub.service.submit(TO, "went, not recorded", "alarm", 1)
            await hub.sent(message_id)
            return hub.service.outbox.get(message_id)

    message = run(body())
    assert failures and message.ambiguous == 1
    assert emu.delivered == [(TO, "went, not recorded")] * 2


@pytest.mark.parametrize("parts_text", ["x" * 200], ids=["two-parts"])
def test_a_multipart_sms_stopped_after_its_first_part_resends_only_the_rest(emulator, tmp_path, parts_text):
    """Part 1 went and was committed, part 2 had gone unanswered when the hub stopped: only part 2
    is resent (the phone joins one message), and the outbox says it was in doubt."""
    emu = emulator("sim800")

    async def body():
        async with hub_on(emu, tmp_path, timing=PATIENT) as hub:
            await hub.ready()
            model = emu.model
            original = model._cmd_CMGS
            calls = []

            def second_swallowed(args):
                calls.append(args)
                if len(calls) == 2:
                    model._swallow += 1  # emulator thread: the second part is delivered, not answered
                return original(args)
            model._cmd_CMGS = second_swallowed
            message_id = hub.service.submit(TO, parts_text, "alarm", 1)
            assert await in_thread(emu.wait_delivered, 1, 5.0)
        async with hub_on(emu, tmp_path) as hub:
            await hub.sent(message_id)
            return hub.service.outbox.get(message_id)

    message = run(body())
    assert message.parts_total == 2 and message.ambiguous == 1
    assert [submit.concat.seq for submit in emu.submits] == [1, 2, 2]
    assert emu.delivered == [(TO, parts_text)]
