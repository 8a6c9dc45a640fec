"""hubctl sms encode/decode helpers: offline, reference vectors, clear errors."""

from __future__ import annotations

import json

import pytest

from hubd.modem import pdu
from hubd.modem.sms_cli import SmsCliError, decode_json, encode_lines


def test_encode_matches_reference_vector_e2():
    assert encode_lines("+34616585119", "hola") == ["0001000B914316565811F9000004E8373B0C"]


def test_encode_with_smsc_matches_reference_vector_e3():
    assert encode_lines("+34616585119", "hola", smsc="+34646456456") == [
        "07914346466554F601000B914316565811F9000004E8373B0C"]


def test_encode_gives_one_line_per_part_that_decodes_back():
    lines = encode_lines("+819012345678", "見守り" * 30)  # 90 UCS2 characters: two parts
    assert len(lines) == 2
    decoded = [pdu.decode_submit(line) for line in lines]
    assert "".join(part.text for part in decoded) == "見守り" * 30
    assert [part.concat.seq for part in decoded] == [1, 2]


@pytest.mark.parametrize("to, text, why", [
    ("0901234567x", "hi", "not a phone number"),
    ("+819012345678", "", "empty"),
    ("+819012345678", "bad \ud800 surrogate", "surrogate"),
])
def test_encode_errors_are_clear(to, text, why):
    with pytest.raises(SmsCliError, match=why):
        encode_lines(to, text)


def test_decode_deliver_vector_d1_as_json():
    out = json.loads(decode_json("07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07"))
    assert out["type"] == "deliver"
    assert (out["sender"], out["smsc"], out["text"]) == ("+31641600986", "+31624000000", "How are you?")
    assert out["timestamp"] == "2002-08-26T19:37:41+00:00"


def test_decode_ucs2_keeps_japanese_readable():
    text = decode_json("07914346466554F601000B914316565811F9000806304253F68449")
    assert "あ叶葉" in text and json.loads(text)["type"] == "submit"


def test_decode_status_report_vector_s3():
    out = json.loads(decode_json("0006D60B911326880736F4111011719551401110117195714000"))
    assert (out["type"], out["message_ref"], out["recipient"], out["outcome"]) == (
        "status_report", 214, "+31628870634", "delivered")


def test_decode_tolerates_spaces_and_line_breaks():
    assert json.loads(decode_json("0001000B91 4316565811F9\n000004E8373B0C"))["text"] == "hola"


@pytest.mark.parametrize("bad", ["", "0G", "000", "0001000B914316565811F9000004E8"])
def test_decode_errors_are_clear(bad):
    with pytest.raises(SmsCliError, match="cannot decode PDU"):
        decode_json(bad)
