"""Modem dialects seen in the field, each on the pty emulator (issue 13, item 6), and what the
uplink hands the daemon about who wrote an inbound SMS."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hubd.modem.modem import choose_storage, cpms_setting, parse_cclk, parse_cpms_options
from hubd.modem.inbound import INBOUND_BATCH, UPLINK_DEGRADED, numeric_sender
from hubd.modem.service import UPLINK_DOWN
from smshub import FAST, JST, OFFICE, TO, emulator, hub_on, in_thread, run  # noqa: F401 (emulator: a fixture)

# --------------------------------------------------------------------------- sender type


@pytest.mark.parametrize("address, toa, numeric", [
    ("+819000000009", 0x91, True),  # international
    ("0312345678", 0x81, True),  # national/unknown, ISDN plan
    ("0312345678", 0xA1, True),  # national
    ("0312345678", 0xD0, False),  # alphanumeric sender ID that looks like a national number
    ("InternetSMS", 0xD0, False),
    ("12*34", 0x81, False),  # a semi-octet that is not a digit
    ("", 0x81, False),
    ("０３１２", 0x81, False),  # full-width digits are not ASCII digits
    ("0312345678", 0xB1, False),  # TON 3: network specific
    ("0312345678", 0xC1, False),  # TON 4: subscriber number, not a number the office is configured with
])
def test_only_number_types_with_ascii_digits_are_numeric(address, toa, numeric):
    assert numeric_sender(address, toa) is numeric


@given(st.text(max_size=20), st.integers(0, 255))
def test_a_numeric_sender_is_always_ascii_digits_of_a_number_type(address, toa):
    if numeric_sender(address, toa):
        assert (toa >> 4) & 7 in (0, 1, 2)
        assert address.lstrip("+").isascii() and address.lstrip("+").isdigit()


def test_the_daemon_is_told_which_senders_are_numbers(emulator, tmp_path):
    emu = emulator("ec25")

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            await hub.ready()
            emu.inject_sms(OFFICE, "ACK 1")
            emu.inject_sms("0312345678", "ACK 2")
            emu.inject_sms("0312345678", "ACK 3", alphanumeric=True)
            emu.inject_sms("BANK", "ACK 4")
            await hub.until(lambda: len(hub.numeric) == 4, what="four inbound SMS")
            return hub.inbound, hub.numeric

    inbound, numeric = run(body())
    by_text = dict((text, flag) for (_, text), (_, flag) in zip(inbound, numeric))
    assert by_text == {"ACK 1": True, "ACK 2": True, "ACK 3": False, "ACK 4": False}


# --------------------------------------------------------------------------- SIM first



def test_a_pin_first_modem_gets_its_pin_before_any_other_set_up(emulator, tmp_path):
    """This dialect answers +CME ERROR: 11 to everything, ATE0 included, until the PIN is in."""
    emu = emulator("pin-first", sim_pin="1234")

    async def body():
        async with hub_on(emu, tmp_path, sim_pin="1234") as hub:
            await hub.ready()
            message_id = hub.service.submit(TO, "after the PIN", "alarm", 1)
            await hub.sent(message_id)
            emu.reboot(down_for=0.05)  # the SIM locks again with every boot
            await hub.until(lambda: hub.service.modem.state.reboots_seen == 1, what="reboot seen")
            await hub.ready()
            second = hub.service.submit(TO, "after the PIN again", "alarm", 2)
            await hub.sent(second)

    run(body())
    commands = emu.snapshot()["commands"]
    first_setup = [c for c in commands if c != "AT"]
    assert first_setup[:2] == ["AT+CPIN?", 'AT+CPIN="1234"']
    assert emu.pin_attempts == ["1234", "1234"]
    assert emu.delivered == [(TO, "after the PIN"), (TO, "after the PIN again")]


def test_a_locked_pin_first_sim_without_a_configured_pin_is_reported_and_no_pin_is_guessed(emulator, tmp_path):
    emu = emulator("pin-first", sim_pin="1234")

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            hub.service.submit(TO, "cannot leave", "alarm", 1)
            await hub.until(lambda: hub.down, what="uplink_down")
            cpin = emu.snapshot()["commands"].count("AT+CPIN?")
            assert await in_thread(emu.wait_until, lambda e: e.commands.count("AT+CPIN?") >= cpin + 2, 3.0)
            assert not hub.task.done()
            return hub.conditions[-1][1], hub.service.status()

    finding, status = run(body())
    assert emu.pin_attempts == [] and status["sim"] == "SIM PIN"
    assert "none is configured" in finding.detail["reasons"]["sim"] and finding.limit == 0.0
    assert emu.delivered == []


def test_a_wrong_pin_on_a_pin_first_modem_is_entered_once_only(emulator, tmp_path):
    emu = emulator("pin-first", sim_pin="1234")

    async def body():
        for _ in range(2):  # and not again after a restart
            async with hub_on(emu, tmp_path, sim_pin="0000") as hub:
                await hub.until(lambda: hub.down, what="uplink_down")
                cpin = emu.snapshot()["commands"].count("AT+CPIN?")
                assert await in_thread(emu.wait_until, lambda e: e.commands.count("AT+CPIN?") >= cpin + 2, 3.0)
                status = hub.service.status()
        return status

    status = run(body())
    assert emu.pin_attempts == ["0000"] and status["sim"] == "PIN rejected"


# --------------------------------------------------------------------------- +CPMS option lists


NAMES = st.sampled_from(["SM", "ME", "MT", "BM", "SR", "TA", "SM_P", "ME_P"])
LISTS = st.lists(st.lists(NAMES, min_size=1, max_size=5, unique=True), min_size=1, max_size=3)


@given(LISTS, st.booleans(), st.booleans(), st.booleans())
def test_cpms_option_lists_parse_whatever_the_wrapping(lists, wrapped, spaced, quoted):
    """Shapes seen: ("SM","ME"),("SM","ME"),("SM") and (("SM","BM","SR"),("SM")); with or without
    blanks and quotes."""
    comma = ", " if spaced else ","
    groups = ["(" + comma.join(f'"{n}"' if quoted else n for n in names) + ")" for names in lists]
    value = comma.join(groups)
    if wrapped:
        value = "(" + value + ")"
    assert parse_cpms_options(value) == lists
    storage = choose_storage(lists)
    assert storage is None or (storage in lists[0] and "(" not in storage)


def test_nested_cpms_lists_choose_sm_for_the_two_memories_there_are():
    options = parse_cpms_options('(("SM","BM","SR"),("SM"))')
    assert options == [["SM", "BM", "SR"], ["SM"]]
    assert choose_storage(options) == "SM" and cpms_setting("SM", options) == '"SM","SM"'
    assert cpms_setting("ME", [["SM", "ME"], ["SM", "ME"], ["SM", "ME"]]) == '"ME","ME","ME"'


def test_a_modem_with_nested_cpms_lists_sets_up_and_reads_inbound(emulator, tmp_path):
    emu = emulator("nested-cpms")

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            await hub.ready()
            emu.inject_sms(OFFICE, "STATUS")
            await hub.until(lambda: hub.inbound, what="inbound")
            message_id = hub.service.submit(TO, "nested lists", "alarm", 1)
            await hub.sent(message_id)
            return hub.service.modem.state.storage, hub.inbound

    storage, inbound = run(body())
    assert storage == "SM" and inbound == [(OFFICE, "STATUS")]
    assert 'AT+CPMS="SM","SM"' in emu.commands and emu.stored_count() == 0
    assert emu.delivered == [(TO, "nested lists")]


# --------------------------------------------------------------------------- inbound degrades inbound only



def degraded_reports(hub) -> list:
    return [finding for ident, finding in hub.conditions if ident == UPLINK_DEGRADED]


def test_a_phone_that_cannot_list_stored_sms_reads_them_one_by_one_and_sends(emulator, tmp_path):
    emu = emulator("no-cmgl")
    emu.inject_sms(OFFICE, "STATUS")  # stored while the hub was away: only a listing finds it

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            message_id = hub.service.submit(TO, "the alarm", "alarm", 1)
            await hub.sent(message_id)
            await hub.until(lambda: hub.inbound, what="the stored SMS")
            await hub.until(lambda: emu.stored_count() == 0, what="deleted")
            return hub.inbound, hub.conditions

    inbound, conditions = run(body())
    assert emu.delivered == [(TO, "the alarm")] and inbound == [(OFFICE, "STATUS")]
    assert conditions == []


def test_inbound_failing_never_holds_up_sending_and_is_reported_once(emulator, tmp_path):
    emu = emulator("no-cmgl")
    emu.override("AT+CMGR", ["ERROR"])  # cannot read a single stored SMS either

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            await hub.ready()
            emu.inject_sms(OFFICE, "ACK 1")
            await hub.until(lambda: degraded_reports(hub), what="uplink_degraded")
            sent = [hub.service.submit(TO, f"alarm {n}", "alarm", n) for n in range(3)]
            for message_id in sent:
                await hub.sent(message_id)
            assert hub.inbound == []
            emu.override("AT+CMGR", None)
            await hub.until(lambda: hub.inbound, what="the SMS, once the phone reads again")
            await hub.until(lambda: degraded_reports(hub)[-1] is None, what="uplink_degraded cleared")
            return hub

    hub = run(body())
    raised, cleared = degraded_reports(hub)
    assert "inbound" in raised.detail["reasons"] and cleared is None
    assert not [ident for ident, _ in hub.conditions if ident == UPLINK_DOWN]
    assert emu.delivered == [(TO, f"alarm {n}") for n in range(3)] and hub.inbound == [(OFFICE, "ACK 1")]
    assert emu.stored_count() == 0


def test_a_full_sim_is_reported_and_cleared_by_reading_and_deleting(emulator, tmp_path):
    emu = emulator("smsfull", storage_size=3)
    emu.override("AT+CMGR", ["ERROR"])
    emu.override("AT+CMGL", ["ERROR"])

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            await hub.ready()
            for n in range(3):
                emu.inject_sms(OFFICE, f"STATUS {n}")
            await hub.until(lambda: degraded_reports(hub), what="uplink_degraded")
            assert "storage_full" in degraded_reports(hub)[0].detail["reasons"]
            emu.override("AT+CMGR", None)
            emu.override("AT+CMGL", None)
            await hub.until(lambda: len(hub.inbound) == 3, what="all three read")
            await hub.until(lambda: degraded_reports(hub)[-1] is None, what="cleared")
            return hub

    hub = run(body())
    assert len(degraded_reports(hub)) == 2 and emu.stored_count() == 0
    assert sorted(text for _, text in hub.inbound) == ["STATUS 0", "STATUS 1", "STATUS 2"]


def test_an_alarm_waits_for_at_most_one_batch_of_an_inbound_flood(emulator, tmp_path):
    """30 SMS piled up in the SIM while the modem was away, and an alarm queued: the alarm goes
    first (before, the whole storage was read and deleted before a single send)."""
    emu = emulator("sim800")  # no indications before set-up: the flood is found by listing
    for n in range(30):
        emu.inject_sms(OFFICE, f"STATUS {n}", ref=n)
    assert emu.wait_until(lambda e: e.stored_count() == 30, 5.0)

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            message_id = hub.service.submit(TO, "the alarm", "alarm", 1)
            await hub.sent(message_id)
            await hub.until(lambda: len(hub.inbound) == 30, 10.0, "the whole flood")
            await hub.until(lambda: emu.stored_count() == 0, what="all deleted")
            return emu.snapshot()["commands"]

    commands = run(body())
    first_send = next(i for i, c in enumerate(commands) if c.startswith("AT+CMGS"))
    assert sum(1 for c in commands[:first_send] if c.startswith("AT+CMGD")) <= INBOUND_BATCH


def test_an_sms_whose_deletion_failed_is_handed_over_once_only(emulator, tmp_path):
    """Committed, then the delete refused: read again later (as after a kill -9 between the two),
    it must not become a second ACK/STATUS/TEST."""
    emu = emulator("ec25")

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            await hub.ready()
            emu.override("AT+CMGD", ["ERROR"])
            emu.inject_sms(OFFICE, "TEST")
            await hub.until(lambda: hub.inbound, what="handed over")
            reads = emu.snapshot()["commands"].count("AT+CMGR=1")
            assert await in_thread(emu.wait_until, lambda e: e.commands.count("AT+CMGR=1") >= reads + 2, 5.0)
            emu.override("AT+CMGD", None)
            await hub.until(lambda: emu.stored_count() == 0, what="deleted at last")
            return hub.inbound

    assert run(body()) == [(OFFICE, "TEST")]


# --------------------------------------------------------------------------- network time





def test_network_time_is_read_as_soon_as_registration_is_gained(emulator, tmp_path):
    """After a power cut with no network the clock learns the time from the modem: at once when
    the modem registers, not at the next (slow) health poll."""
    moment = datetime(2026, 1, 5, 12, 0, 0, tzinfo=JST)
    emu = emulator("ec25", network_time=moment, registration=2)  # searching at first
    slow_polls = FAST.__class__(**{**FAST.__dict__, "unregistered_poll": 30.0, "health_interval": 30.0})

    async def body():
        async with hub_on(emu, tmp_path, timing=slow_polls) as hub:
            await hub.ready()
            assert hub.offered == []  # unregistered: the modem's clock is its default
            emu.set_registration(1)
            await hub.until(lambda: hub.offered, 3.0, "network time after registration")
            return hub.offered

    (offered,) = run(body())
    assert moment.timestamp() <= offered < moment.timestamp() + 5


@pytest.mark.parametrize("moment", [datetime(2000, 1, 1, tzinfo=JST), datetime(2023, 12, 31, 23, 0, tzinfo=JST)])
def test_an_implausible_modem_time_is_never_offered(emulator, tmp_path, moment):
    emu = emulator("ec25", network_time=moment)

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            await hub.ready()
            await hub.until(lambda: "AT+CCLK?" in emu.commands, what="clock read")
            return hub.offered

    assert run(body()) == []


@pytest.mark.parametrize("value", ['"00/01/01,00:00:00+00"', '"1980/01/06,00:00:00+00"', '"2004/01/01,00:00:00"',
                                   '"23/12/31,23:59:59+36"'])
def test_modem_default_times_are_implausible(value):
    assert parse_cclk(value) is None
