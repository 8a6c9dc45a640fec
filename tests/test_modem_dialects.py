"""Modem dialects seen in the field, each on the pty emulator (issue 13, item 6), and what the
uplink hands the daemon about who wrote an inbound SMS."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hubd.modem.service import numeric_sender

from smshub import OFFICE, emulator, hub_on, run  # noqa: F401

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
