"""The SMS uplink against the emulated modem on a real pty.

Timing parameters are milliseconds so the whole file runs in seconds; no test
sleeps to wait for something: it awaits the service's steps or the emulator's
log, always with a bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta, timezone

import pytest

from hubd.clock import SystemClock
from hubd.findings import SYSTEM
from hubd.modem.modem import choose_storage, parse_cclk, parse_cpms_options, parse_registration, signal_from_csq
from hubd.modem.service import UPLINK_DOWN, NoModem, SmsService, SmsTiming
from hubd.store import Store
from hubsim.modem import ModemEmulator

from smshub import FAST, JAPANESE, JST, OFFICE, STRANGER, TO, emulator, in_thread, japanese, run, hub_on  # noqa: F401


# --------------------------------------------------------------------------- sending


@pytest.mark.parametrize("profile", ["sim800", "ec25"])
def test_an_alert_reaches_the_phone_and_its_delivery_report_is_matched(emulator, tmp_path, profile):
    emu = emulator(profile)

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            await hub.ready()
            started = time.monotonic()
            message_id = hub.service.submit(TO, "Flat T-1: no movement for 14 h. Alert 3", "alarm", 3)
            assert await in_thread(emu.wait_delivered, 1, 5.0)
            latency = time.monotonic() - started
            await hub.until(lambda: hub.state(message_id) == "delivered", what="delivery report")
            return hub.service.outbox.get(message_id), latency

    message, latency = run(body())
    assert emu.delivered == [(TO, "Flat T-1: no movement for 14 h. Alert 3")]
    assert message.attempts == 1 and message.message_refs[0] is not None and message.reports == {"0": 0}
    assert latency < 1.0


def test_an_alert_sent_while_the_modem_reboots_arrives_exactly_once(emulator, tmp_path):
    emu = emulator("sim800")

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            await hub.ready()
            emu.reboot(down_for=0.4)
            assert await in_thread(emu.wait_until, lambda e: not e.powered, 2.0)
            message_id = hub.service.submit(TO, "alert during a reboot", "alarm", 1)
            await hub.sent(message_id, 8.0)
            assert await in_thread(emu.wait_delivered, 1, 2.0)
            return hub.service.status()

    status = run(body())
    assert emu.delivered == [(TO, "alert during a reboot")]
    assert status["outbox"]["sent"] + status["outbox"]["delivered"] == 1 and emu.boots == 2
    assert emu.snapshot()["commands"].count("ATE0") >= 2  # set up again after the banners


@pytest.mark.parametrize("urc", [True, False], ids=["network-urc", "silent-loss-cms331"])
def test_an_alert_sent_while_the_network_is_down_arrives_exactly_once(emulator, tmp_path, urc):
    emu = emulator("ec25")

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            await hub.ready()
            emu.set_registration(2, urc=urc)
            if urc:
                await hub.until(lambda: hub.service.modem.state.registered is False, what="registration lost")
            message_id = hub.service.submit(TO, "alert while the network is down", "alarm", 1)
            await hub.until(lambda: hub.down, what="uplink_down")
            assert emu.delivered == []
            emu.set_registration(1, urc=urc)
            await hub.sent(message_id)
            await hub.until(lambda: not hub.down, what="uplink_down cleared")
            return hub.service.outbox.get(message_id), hub.conditions

    message, conditions = run(body())
    assert emu.delivered == [(TO, "alert while the network is down")]
    (ident, finding), (cleared_ident, cleared) = conditions
    assert ident == cleared_ident == UPLINK_DOWN and cleared is None
    assert finding.category == SYSTEM
    assert {"network", "send"} & set(finding.detail["reasons"])
    if not urc:
        assert "331" in (message.last_error or "")


def test_alerts_arrive_exactly_once_and_in_order_while_urcs_and_garbage_interleave(emulator, tmp_path):
    emu = emulator("ec25", urc_noise=True, garbage=0.3, seed=11)

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            await hub.ready()
            ids = [hub.service.submit(TO, f"alert {n}", "alarm", n) for n in range(3)]
            emu.inject_sms(OFFICE, "ACK 1")
            ids.append(hub.service.submit(TO, japanese(100), "alarm", 4))
            for message_id in ids:
                await hub.sent(message_id)
            await hub.until(lambda: hub.inbound, what="inbound SMS")
            return hub.inbound

    inbound = run(body())
    assert emu.delivered == [(TO, "alert 0"), (TO, "alert 1"), (TO, "alert 2"), (TO, japanese(100))]
    assert inbound == [(OFFICE, "ACK 1")]


def test_a_permanent_error_fails_the_message_and_raises_uplink_down_at_once(emulator, tmp_path):
    emu = emulator("sim800")

    async def body():
        async with hub_on(emu, tmp_path, timing=FAST.__class__(**{**FAST.__dict__, "down_after": 60.0})) as hub:
            await hub.ready()
            emu.fail_next(21)  # short message transfer rejected
            failed = hub.service.submit(TO, "to a number that refuses SMS", "alarm", 1)
            await hub.until(lambda: hub.down, what="uplink_down")
            assert hub.state(failed) == "failed"
            later = hub.service.submit(TO, "the next alert", "alarm", 2)
            await hub.sent(later)
            await hub.until(lambda: not hub.down, what="recovery")
            return hub.service.outbox.get(failed), hub.conditions

    message, conditions = run(body())
    assert "+CMS ERROR: 21 (destination)" in message.last_error and message.attempts == 1
    ident, finding = conditions[0]
    assert ident == ("uplink_down", "") and finding.type == "uplink_down" and finding.category == SYSTEM
    assert finding.limit == 0.0 and "message_failed" in finding.detail["reasons"]
    assert conditions[-1] == (UPLINK_DOWN, None)
    assert emu.delivered == [(TO, "the next alert")]


@pytest.mark.parametrize("failures, state, attempts", [(2, "sent", 3), (3, "failed", 3)])
def test_cms_500_is_retried_a_few_times(emulator, tmp_path, failures, state, attempts):
    emu = emulator("sim800")

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            await hub.ready()
            emu.fail_next(500, count=failures)
            message_id = hub.service.submit(TO, "unknown error test", "alarm", 1)
            await hub.until(lambda: hub.state(message_id) in ("sent", "delivered", "failed"))
            return hub.service.outbox.get(message_id)

    message = run(body())
    assert (message.state if message.state != "delivered" else "sent", message.attempts) == (state, attempts)
    assert len(emu.delivered) == (1 if state == "sent" else 0)


def test_a_transient_error_is_retried_after_a_back_off(emulator, tmp_path):
    emu = emulator("sim800")

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            await hub.ready()
            emu.fail_next(42)  # congestion
            message_id = hub.service.submit(TO, "congested", "alarm", 1)
            await hub.sent(message_id)
            return hub.service.outbox.get(message_id)

    message = run(body())
    assert message.attempts == 2 and "42" in message.last_error
    assert emu.delivered == [(TO, "congested")]


def test_a_cmgs_timeout_is_ambiguous_and_resent_once(emulator, tmp_path):
    emu = emulator("sim800")

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            await hub.ready()
            emu.swallow_next_cmgs(1)  # it reaches the phone, but the modem never says so
            message_id = hub.service.submit(TO, "did it go?", "alarm", 1)
            await hub.sent(message_id)
            return hub.service.outbox.get(message_id)

    message = run(body())
    assert (message.ambiguous, message.attempts) == (1, 2)
    assert emu.delivered == [(TO, "did it go?")] * 2  # the accepted cost: a duplicate, never a silence


def test_a_second_cmgs_timeout_is_not_resent_again(emulator, tmp_path):
    emu = emulator("sim800")

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            await hub.ready()
            emu.swallow_next_cmgs(5)
            message_id = hub.service.submit(TO, "did it go?", "alarm", 1)
            await hub.until(lambda: hub.state(message_id) == "failed", what="failed")
            await hub.until(lambda: hub.down, what="uplink_down")
            return hub.service.outbox.get(message_id)

    message = run(body())
    assert (message.ambiguous, message.attempts) == (2, 2)
    assert len(emu.delivered) == 2 and "not resent" in message.last_error


def test_a_late_cmgs_after_the_timeout_proves_it_went(emulator, tmp_path):
    emu = emulator("sim800", cmgs_delay=0.55)

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            await hub.ready()
            message_id = hub.service.submit(TO, "slow network", "alarm", 1)
            await hub.sent(message_id)
            return hub.service.outbox.get(message_id)

    message = run(body())
    assert message.attempts == 1 and message.ambiguous == 0 and message.message_refs[0] is not None
    assert emu.delivered == [(TO, "slow network")]


@pytest.mark.parametrize("length, parts", [(70, 1), (71, 2), (134, 2), (135, 3)])
def test_japanese_alerts_split_at_70_and_67_and_reassemble_exactly(emulator, tmp_path, length, parts):
    emu = emulator("ec25")
    text = japanese(length)

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            await hub.ready()
            message_id = hub.service.submit(TO, text, "alarm", 1)
            await hub.sent(message_id)
            assert await in_thread(emu.wait_delivered, 1, 2.0)
            return hub.service.outbox.get(message_id)

    message = run(body())
    assert message.parts_total == parts and len(emu.submits) == parts
    assert all(submit.encoding == "ucs2" for submit in emu.submits)
    assert emu.delivered == [(TO, text)]


# --------------------------------------------------------------------------- restarts


QUEUE_AND_WAIT = textwrap.dedent("""
    import sys
    from hubd.clock import SystemClock
    from hubd.modem.service import SmsService
    from hubd.store import Store
    service = SmsService(sys.argv[2], 115200, Store(sys.argv[1]), SystemClock())
    print(service.submit("+819012345678", "queued, then kill -9", "alarm", 7), flush=True)
    sys.stdin.read()
""")

SEND_AND_HANG = textwrap.dedent("""
    import asyncio, sys
    from hubd.clock import SystemClock
    from hubd.modem.outbox import Outbox
    from hubd.modem.service import SmsService, SmsTiming
    from hubd.store import Store
    begin = Outbox.begin_attempt
    def announce(self, message_id):
        message = begin(self, message_id)
        print("sending", message_id, flush=True)
        return message
    Outbox.begin_attempt = announce
    service = SmsService(sys.argv[2], 115200, Store(sys.argv[1]), SystemClock(),
                         timing=SmsTiming(command_timeout=0.5, cmgs_timeout=60.0, settle=0.02))
    service.submit("+819012345678", "killed mid-send", "alarm", 8)
    asyncio.run(service.run(lambda *a: None, lambda *a: None))
""")


async def run_child_until(script: str, state_dir, port: str, marker: str, then=None) -> str:
    """Start a hub process, wait for a line starting with ``marker`` (and ``then()``), then kill -9 it."""
    child = await asyncio.create_subprocess_exec(sys.executable, "-c", script, str(state_dir), port,
                                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        while True:
            line = (await asyncio.wait_for(child.stdout.readline(), 10.0)).decode()
            assert line, "the child hub exited early"
            if line.startswith(marker):
                if then is not None:
                    assert await then()
                return line
    finally:
        os.kill(child.pid, signal.SIGKILL)
        await child.wait()
        assert child.returncode == -signal.SIGKILL


def test_a_message_queued_before_kill_9_is_sent_after_restart(emulator, tmp_path):
    emu = emulator("sim800")
    state = tmp_path / "state"

    async def body():
        line = await run_child_until(QUEUE_AND_WAIT, state, emu.port, "")
        message_id = int(line)
        assert emu.delivered == [] and emu.snapshot()["commands"] == []  # not a byte went to the modem
        async with hub_on(emu, state) as hub:
            await hub.sent(message_id)
            return hub.service.outbox.get(message_id)

    message = run(body())
    assert emu.delivered == [(TO, "queued, then kill -9")]
    assert (message.alert_id, message.attempts, message.ambiguous) == (7, 1, 0)


def test_a_message_killed_mid_send_is_resent_once_as_ambiguous(emulator, tmp_path):
    emu = emulator("sim800")
    state = tmp_path / "state"
    emu.swallow_next_cmgs(1)

    async def body():
        # kill -9 once the SMS has reached the phone but before the modem answered +CMGS
        await run_child_until(SEND_AND_HANG, state, emu.port, "sending",
                              then=lambda: in_thread(emu.wait_delivered, 1, 5.0))
        async with hub_on(emu, state) as hub:
            await hub.until(lambda: hub.service.outbox.get(1).state in ("sent", "delivered"))
            return hub.service.outbox.get(1)

    message = run(body())
    assert (message.ambiguous, message.attempts) == (1, 2)
    assert emu.delivered == [(TO, "killed mid-send")] * 2


# --------------------------------------------------------------------------- inbound


def test_an_inbound_multipart_command_is_reassembled_and_deleted_from_the_sim(emulator, tmp_path):
    emu = emulator("sim800")
    long_command = "STATUS " + "please tell me how the resident is doing today " * 4

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            await hub.ready()
            emu.inject_sms(OFFICE, long_command)
            await hub.until(lambda: hub.inbound, what="inbound")
            await hub.until(lambda: emu.stored_count() == 0, what="deletion")
            return hub.inbound, hub.service.inbox.parts()

    inbound, parts = run(body())
    assert inbound == [(OFFICE, long_command)]
    assert len(parts) == 2 and {part.state for part in parts} == {"done"}


def test_every_sender_is_handed_to_the_daemon_which_does_the_authorisation(emulator, tmp_path):
    emu = emulator("ec25")

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            await hub.ready()
            emu.inject_sms(STRANGER, "ACK 3")
            emu.inject_sms(OFFICE, "TEST", direct=True)  # +CMT with the PDU, not stored
            await hub.until(lambda: len(hub.inbound) == 2, what="inbound")
            return hub.inbound

    assert sorted(run(body())) == sorted([(STRANGER, "ACK 3"), (OFFICE, "TEST")])


def test_sms_stored_while_the_hub_was_away_are_found_at_start(emulator, tmp_path):
    emu = emulator("sim800")
    emu.inject_sms(OFFICE, "STATUS")  # CNMI not set yet: stored without an indication

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            await hub.until(lambda: hub.inbound, what="inbound")
            return hub.inbound

    assert run(body()) == [(OFFICE, "STATUS")]


@pytest.mark.parametrize("bad_pdu", ["00040C9118092143658700", "07\x01ZZ-not-a-pdu"])
def test_a_malformed_inbound_pdu_is_logged_and_kept_not_fatal(emulator, tmp_path, caplog, bad_pdu):
    emu = emulator("sim800")

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            await hub.ready()
            emu.inject_pdu(bad_pdu)
            emu.inject_sms(OFFICE, "STATUS")
            await hub.until(lambda: hub.inbound, what="the good SMS after the bad one")
            message_id = hub.service.submit(TO, "still sending", "alarm", 1)
            await hub.sent(message_id)
            return hub.service.inbox.parts()

    with caplog.at_level(logging.ERROR, logger="hubd.modem"):
        parts = run(body())
    assert any("malformed inbound PDU" in record.getMessage() for record in caplog.records)
    assert [part.state for part in parts if part.state == "malformed"] == ["malformed"]
    assert emu.delivered == [(TO, "still sending")]


# --------------------------------------------------------------------------- recovery and health


def test_the_usb_port_vanishing_and_returning(emulator, tmp_path):
    emu = emulator("ec25")

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            await hub.ready()
            emu.vanish()
            await hub.until(lambda: hub.down, what="uplink_down while the port is gone")
            message_id = hub.service.submit(TO, "after the USB glitch", "alarm", 1)
            emu.reappear()
            await hub.sent(message_id)
            await hub.until(lambda: not hub.down, what="recovery")
            return hub.conditions

    conditions = run(body())
    assert emu.delivered == [(TO, "after the USB glitch")]
    assert "modem" in conditions[0][1].detail["reasons"]


def test_a_hung_modem_raises_uplink_down_and_recovers(emulator, tmp_path):
    emu = emulator("sim800")

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            await hub.ready()
            emu.set_silent(True)
            message_id = hub.service.submit(TO, "to a hung modem", "alarm", 1)
            await hub.until(lambda: hub.down, what="uplink_down")
            assert emu.delivered == []
            emu.set_silent(False)
            await hub.sent(message_id)
            await hub.until(lambda: not hub.down, what="recovery")

    run(body())
    assert emu.delivered == [(TO, "to a hung modem")]


def test_repeated_set_up_failures_reset_the_modem(emulator, tmp_path):
    emu = emulator("sim800")
    emu.override('AT+CPMS="', ["+CMS ERROR: 302"])

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            assert await in_thread(emu.wait_until, lambda e: "AT+CFUN=1,1" in e.commands, 5.0)
            emu.override('AT+CPMS="', None)
            await hub.ready()
            return hub.service.modem.state

    state = run(body())
    assert state.resets == 1 and emu.boots == 2


def test_a_reboot_banner_mid_session_sets_the_modem_up_again(emulator, tmp_path):
    emu = emulator("ec25")

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            await hub.ready()
            emu.reboot(down_for=0.05)
            await hub.until(lambda: hub.service.modem.state.reboots_seen == 1, what="banner seen")
            await hub.ready()
            emu.inject_sms(OFFICE, "STATUS")  # needs AT+CNMI again: a reboot cleared it
            await hub.until(lambda: hub.inbound, what="inbound after the reboot")

    run(body())
    assert emu.snapshot()["commands"].count("AT+CNMI=2,1,0,1,0") == 2


def test_cnmi_falls_back_like_modemmanager(emulator, tmp_path):
    emu = emulator("sim800", reject_cnmi=("2,1,0,1,0",))

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            await hub.ready()
            emu.inject_sms(OFFICE, "STATUS")
            await hub.until(lambda: hub.inbound)
            return hub.service.modem.state.cnmi

    assert run(body()) == "2,1,2,1,0"


# --------------------------------------------------------------------------- SIM


def test_the_sim_pin_is_entered(emulator, tmp_path):
    emu = emulator("sim800", sim_pin="1234")

    async def body():
        async with hub_on(emu, tmp_path, sim_pin="1234") as hub:
            await hub.ready()
            message_id = hub.service.submit(TO, "after the PIN", "alarm", 1)
            await hub.sent(message_id)

    run(body())
    assert emu.pin_attempts == ["1234"] and emu.delivered == [(TO, "after the PIN")]


def test_a_wrong_pin_is_never_retried_not_even_after_a_restart(emulator, tmp_path):
    emu = emulator("sim800", sim_pin="1234")

    def cpin_queries(e: ModemEmulator) -> int:
        return e.commands.count("AT+CPIN?")

    async def body():
        async with hub_on(emu, tmp_path, sim_pin="0000") as hub:
            await hub.until(lambda: hub.down, what="uplink_down")
            seen = cpin_queries(emu)
            assert await in_thread(emu.wait_until, lambda e: cpin_queries(e) >= seen + 2, 3.0)
            finding = hub.conditions[-1][1]
        async with hub_on(emu, tmp_path, sim_pin="0000") as hub:
            seen = cpin_queries(emu)
            assert await in_thread(emu.wait_until, lambda e: cpin_queries(e) >= seen + 2, 3.0)
            await hub.until(lambda: hub.down, what="uplink_down after restart")
            return finding, hub.service.status()

    finding, status = run(body())
    assert emu.pin_attempts == ["0000"]
    assert "sim" in finding.detail["reasons"] and finding.limit == 0.0
    assert status["sim"] == "PIN rejected"


def test_a_puk_locked_sim_is_left_alone_and_reported(emulator, tmp_path):
    emu = emulator("ec25", sim_state="SIM PUK")

    async def body():
        async with hub_on(emu, tmp_path, sim_pin="1234") as hub:
            await hub.until(lambda: hub.down, what="uplink_down")
            return hub.conditions[-1][1], hub.service.status()

    finding, status = run(body())
    assert emu.pin_attempts == [] and status["sim"] == "SIM PUK"
    assert "PUK" in finding.detail["reasons"]["sim"]


# --------------------------------------------------------------------------- status and time


def test_status_for_hubctl_modem(emulator, tmp_path):
    emu = emulator("ec25", rssi=12, operator="KDDI")

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            await hub.ready()
            hub.service.submit("not a number", "x", "alarm", None)
            return hub.service.status()

    status = run(body())
    assert status["signal"] == {"rssi": 12, "dbm": -89, "bars": 2, "quality": "Fair"}
    assert status["registration"] == {"creg": 0, "cereg": 1, "registered": True, "text": "home"}
    assert (status["operator"], status["sim"], status["model"]) == ("KDDI", "READY", "EC25")
    assert status["outbox"]["failed"] == 1 and "cannot be encoded" in status["last_error"]


def test_network_time_is_offered_to_the_clock(emulator, tmp_path):
    moment = datetime(2025, 5, 1, 12, 0, 0, tzinfo=JST)
    emu = emulator("ec25", network_time=moment)

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            await hub.until(lambda: hub.offered, what="network time")
            return hub.offered

    (offered,) = run(body())
    assert moment.timestamp() <= offered < moment.timestamp() + 5


def test_a_modem_without_network_time_offers_nothing(emulator, tmp_path):
    emu = emulator("sim800")  # answers its firmware epoch, 2004

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            await hub.until(lambda: "AT+CCLK?" in emu.commands, what="clock read")
            await hub.ready()
            return hub.offered, hub.service.modem.state.network_time

    assert run(body()) == ([], None)


# --------------------------------------------------------------------------- no modem


def test_no_modem_keeps_messages_and_says_the_uplink_is_down(tmp_path):
    async def body():
        store = Store(str(tmp_path))
        uplink = NoModem(store, SystemClock())
        conditions: list = []
        task = asyncio.ensure_future(uplink.run(lambda ident, finding: conditions.append((ident, finding)),
                                                lambda *a: None))
        await asyncio.sleep(0)
        message_id = uplink.submit(TO, "nobody will carry this", "alarm", 1)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return conditions, uplink.outbox.get(message_id), uplink.status()

    conditions, message, status = run(body())
    ((ident, finding),) = conditions
    assert ident == UPLINK_DOWN and finding.category == SYSTEM
    assert finding.detail == {"reason": "no modem configured"}
    assert message.state == "queued" and status["uplink_down"] is True


def test_reports_stored_in_sr_memory_are_read_from_there(emulator, tmp_path):
    emu = emulator("sim800", reject_cnmi=("2,1,0,1,0", "2,1,2,1,0"))  # leaves 2,1,2,2,0: +CDSI "SR"

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            await hub.ready()
            message_id = hub.service.submit(TO, "report via SR", "alarm", 1)
            await hub.until(lambda: hub.state(message_id) == "delivered", what="delivered via +CDSI")
            return hub.service.modem.state.cnmi

    assert run(body()) == "2,1,2,2,0"
    assert 'AT+CPMS="SR"' in emu.commands and emu.stored_count() == 0


def test_a_cpin_answer_without_ok_is_accepted(emulator, tmp_path):
    emu = emulator("sim800")
    emu.override("AT+CPIN?", ["+CPIN: READY"])  # Wavecom: no final result

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            await hub.ready()
            message_id = hub.service.submit(TO, "after a quirky CPIN", "alarm", 1)
            await hub.sent(message_id)

    run(body())
    assert emu.delivered == [(TO, "after a quirky CPIN")]


def test_the_emulator_is_deterministic_for_a_seed(emulator):
    first, second = emulator("ec25", seed=3).model, emulator("ec25", seed=3).model
    assert first._mr == second._mr and first.rng.random() == second.rng.random()


# --------------------------------------------------------------------------- parsers


@pytest.mark.parametrize("rssi, dbm, bars, quality", [
    (99, None, 0, "unknown"), (0, -113, 0, "Bad"), (1, -111, 0, "Bad"), (2, -109, 1, "Bad"), (9, -95, 1, "Bad"),
    (10, -93, 2, "Fair"), (14, -85, 2, "Fair"), (15, -83, 3, "Good"), (19, -75, 3, "Good"), (20, -73, 4, "Good"),
    (31, -51, 4, "Good"),
])
def test_csq_to_dbm_and_bars(rssi, dbm, bars, quality):
    signal = signal_from_csq(rssi)
    assert (signal.dbm, signal.bars, signal.quality) == (dbm, bars, quality)


@pytest.mark.parametrize("value, expected", [
    ('"24/03/15,09:30:00+36"', datetime(2024, 3, 15, 0, 30, tzinfo=timezone.utc).timestamp()),
    ('"25/12/31,23:59:59-20"', datetime(2026, 1, 1, 4, 59, 59, tzinfo=timezone.utc).timestamp()),
    ('"24/03/15,09:30:00"', datetime(2024, 3, 15, 9, 30, tzinfo=timezone.utc).timestamp()),
    ('"04/01/01,00:00:00+00"', None),  # SIM800 firmware epoch
    ('"80/01/06,00:12:53+00"', None),  # Quectel without NITZ
    ('"24/13/45,99:00:00+00"', None),
    ("garbage", None),
])
def test_cclk_parsing_rejects_firmware_epochs(value, expected):
    assert parse_cclk(value) == expected


def test_storage_choice_from_cpms_options():
    options = parse_cpms_options('("SM","ME","MT"),("SM","ME","MT"),("SM","ME")')
    assert options == [["SM", "ME", "MT"], ["SM", "ME", "MT"], ["SM", "ME"]]
    assert choose_storage(options) == "ME"
    assert choose_storage(parse_cpms_options('("SM"),("SM"),("SM")')) == "SM"
    assert choose_storage([]) is None


def test_registration_from_reply_and_urc():
    from hubd.modem.lines import Line, LineKind

    assert parse_registration(Line(LineKind.REPLY, "+CEREG: 0,5")) == 5
    assert parse_registration(Line(LineKind.URC, '+CREG: 3,"00C3","0A2B"')) == 3
    assert parse_registration(Line(LineKind.REPLY, "+CREG: 0")) is None


def test_a_failed_delivery_report_fails_the_message_and_raises_uplink_down(emulator, tmp_path):
    emu = emulator("ec25", report_status=0x41)  # SMSC: permanent error, incompatible destination

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            await hub.ready()
            message_id = hub.service.submit(TO, "never delivered", "alarm", 1)
            await hub.until(lambda: hub.down, what="uplink_down")
            return hub.service.outbox.get(message_id), hub.conditions[-1][1]

    message, finding = run(body())
    assert message.state == "failed" and "0x41" in message.last_error
    assert finding.limit == 0.0 and "message_failed" in finding.detail["reasons"]
