"""The simulator's modem: a sans-IO AT model (``hubsim.at_modem``) behind a pty transport.

The model is tested here without a pty or a thread: bytes in, bytes out, its delayed
answers on a fake clock. The transport must hand the hub the model's bytes unchanged.

The emulator builds inbound PDUs with hubd's own encoder, byte for byte as before.
The expected hex strings below were produced by the emulator's former private
SMS-DELIVER / STATUS-REPORT encoder before it was replaced by
``hubd.modem.pdu.encode_deliver`` / ``encode_status_report``: the emulator must
keep handing the hub exactly these bytes.
"""

from __future__ import annotations

import ast
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import hubsim.at_modem
import hubsim.modem
from hubd.modem.pdu import decode, encode_status_report, encode_submit
from hubsim.at_modem import AtModem
from hubsim.modem import ModemEmulator

JST = timezone(timedelta(hours=9))
OFFICE = "+819000000009"
LONG_JA = "【見守り警報】山田花子様のお部屋で長い時間動きがありません。😀至急ご確認ください。" * 2

INBOUND = [
    pytest.param(OFFICE, "STATUS", datetime(2024, 3, 15, 9, 30, tzinfo=JST), 0x42,
                 ["00040C9118090000009000004230519003006306536A905A9D02"], id="gsm7-single"),
    pytest.param(
        "0901234567", "ACK 12 [ok] {x} ~ | \\ ^ € " * 8,
        datetime(2024, 3, 15, 9, 30, tzinfo=timezone(timedelta(hours=-3, minutes=-30))), 7,
        ["00440A819010325476000042305190030049A005000307020182C3252826036D78EFF5C607DAA0F09B1468D3036D80A0CD0BB4A1"
         "8036655070B804C564A00DEFBDDEF8401B147E93026D7AA00D10B479813614D0A60C0A0E97A0980CB4E1BDD71B1F6883C26F52A0"
         "4D0FB40182362FD08602DA9441C1E11214938136BCF77AE3036D50F84D0AB4E9813640D0E605DA50409B3228385C826232D086F7"
         "5E6F7C",
         "00440A81901032547600004230519003004986050003070202401B147E93026D7AA00D10B479813614D0A60C0A0E97A0980CB4E1"
         "BDD71B1F6883C26F52A04D0FB40182362FD08602DA9441C1E11214938136BCF77AE3036D50F84D0AB4E9813640D0E605DA50409B"
         "3228385C826232D086F75E6F7CA00D0ABF4981363DD00608DABC401B0A68530601"],
        id="gsm7-escapes-concatenated-national-negative-zone"),
    pytest.param(OFFICE, "見守り 確認しました",
                 datetime(2031, 12, 31, 23, 59, 58, tzinfo=timezone(timedelta(hours=5, minutes=45))), 0,
                 ["00040C9118090000009000081321133295853214898B5B88308A002078BA8A8D3057307E3057305F"],
                 id="ucs2-single-quarter-hour-zone"),
    pytest.param(
        OFFICE, LONG_JA, datetime(2024, 3, 15, 9, 30, tzinfo=JST), 255,
        ["00440C911809000000900008423051900300638C050003FF02013010898B5B88308A8B66583130115C71753082B15B5069D8306E"
         "304A90E85C4B3067957730446642959352D5304D304C3042308A307E305B30933002D83DDE0081F36025305478BA8A8D304F3060"
         "3055304430023010898B5B88308A8B66583130115C71753082B15B5069D8306E304A90E85C4B3067957730446642959352D5304D"
         "304C3042",
         "00440C9118090000009000084230519003006328050003FF0202308A307E305B30933002D83DDE0081F36025305478BA8A8D304F"
         "3060305530443002"],
        id="ucs2-concatenated-with-surrogate-pair"),
]


@pytest.mark.parametrize("sender, text, when, ref, expected", INBOUND)
def test_injected_sms_reach_the_sim_storage_byte_for_byte_as_before(sender, text, when, ref, expected):
    with ModemEmulator("sim800") as emu:  # CNMI 0: stored without an indication
        emu.inject_sms(sender, text, timestamp=when, ref=ref)
        assert emu.wait_until(lambda e: e.stored_count() == len(expected), timeout=5)
        assert emu.stored_pdus() == expected
    assert "".join(decode(p).text for p in expected) == text


def test_status_report_encoder_matches_the_emulators_former_bytes():
    when = datetime(2024, 3, 15, 0, 30, 5, tzinfo=timezone.utc)
    assert (encode_status_report("+819012345678", 0x2A, 0, timestamp=when, discharge_time=when)
            == "00062A0C91180921436587423051000350004230510003500000")


def test_the_emulator_has_no_pdu_encoder_of_its_own():
    """One SMS encoder in the project: the emulator's former twin must not creep back."""
    defined = set()
    for module in (hubsim.modem, hubsim.at_modem):
        tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
        defined |= {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    assert not defined & {"build_deliver_pdus", "build_status_report_pdu", "_pack_septets", "_scts", "_address",
                          "_chunks", "_swap"}


# ------------------------------------------------------------------ the model without I/O
class _Now:
    """A hand-moved clock for the model's delayed answers."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _modem(**options) -> tuple[AtModem, _Now]:
    now = _Now()
    model = AtModem("sim800", now=now, **options)
    model.attach()
    return model, now


def test_the_model_answers_bytes_with_bytes_and_no_io():
    model, _ = _modem()
    model.feed(b"ATE0\r")
    assert model.take_output() == b"ATE0\r\r\nOK\r\n"  # echo is on at boot, off after the command
    model.feed(b"AT+CSQ\r")
    assert model.take_output() == b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n"
    assert model.take_output() == b""
    assert model.commands == ["ATE0", "AT+CSQ"]


def test_a_slow_cmgs_answer_waits_for_the_models_clock_and_holds_later_input_back():
    model, now = _modem(cmgs_delay=30.0)
    model.feed(b"ATE0\r")
    model.take_output()
    (part,) = encode_submit("+819000000009", "alarm")
    model.feed(f"AT+CMGS={part.tpdu_length}\r".encode())
    assert model.take_output() == b"\r\n> "
    model.feed(part.pdu.encode() + b"\x1a")
    model.feed(b"AT\r")  # the hub does not wait; the modem is busy and keeps it for later
    assert model.take_output() == b""
    assert model.delivered == [("+819000000009", "alarm")]
    assert model.next_due() == pytest.approx(130.0)
    now.t = 129.0
    model.run_due()
    assert b"+CMGS" not in model.take_output()
    now.t = 130.0
    model.run_due()
    out = model.take_output()
    assert out.startswith(b"\r\n+CMGS: ") and out.endswith(b"\r\nOK\r\n\r\nOK\r\n")  # then the held AT


def test_a_reboot_drops_answers_in_flight_and_boots_with_banners_on_time():
    model, now = _modem(report_delay=5.0)
    model.reboot(down_for=2.0)
    model.feed(b"AT\r")
    assert model.take_output() == b""  # powered off: nothing is answered
    assert not model.powered and model.next_due() == pytest.approx(102.0)
    now.t = 102.0
    model.run_due()
    assert model.powered and model.boots == 2
    assert model.take_output().startswith(b"\r\nRDY\r\n")


def test_the_transport_writes_the_models_bytes_to_the_pty_unchanged():
    import os
    import select

    with ModemEmulator("sim800") as emu:
        fd = os.open(emu.port, os.O_RDWR | os.O_NOCTTY)
        try:
            os.write(fd, b"AT+CGMI\r")
            got = b""
            while not got.endswith(b"OK\r\n"):
                ready, _, _ = select.select([fd], [], [], 5.0)
                assert ready, got
                got += os.read(fd, 4096)
        finally:
            os.close(fd)
    assert got == b"AT+CGMI\r\r\nSIMCOM_Ltd\r\n\r\nOK\r\n"
