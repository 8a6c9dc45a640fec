"""The AT line reader: every line lands in the right class, and no byte sequence crashes it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hubd.modem import errors
from hubd.modem.lines import (
    FinalResult,
    LineKind,
    LineReader,
    Pending,
    classify,
    is_registration_urc,
    parse_final,
    reply_prefix,
    split_fields,
)

F, P, E, R, U = LineKind.FINAL, LineKind.PROMPT, LineKind.ECHO, LineKind.REPLY, LineKind.URC

CLASSIFICATION = [
    # (line, pending command, raw?, expected)
    ("OK", None, False, F),
    ("OK", "AT+CSQ", False, F),
    ("ERROR", "AT", False, F),
    ("+CME ERROR: 10", "AT+CPIN?", False, F),
    ("+CME ERROR: SIM PIN required", "AT+CPIN?", False, F),
    ("+CMS ERROR: 500", "AT+CMGS=23", False, F),
    ("+CMS ERROR: unknown error", "AT+CMGS=23", False, F),
    ("NO CARRIER", None, False, F),
    ("COMMAND NOT SUPPORT", "AT^CURC=0", False, F),
    ("+CSQ: 20,99", "AT+CSQ", False, R),
    ("+CSQ: 20,99", None, False, U),
    ("+CSQ: 20,99", "AT+COPS?", False, U),
    ("+CMGS: 12", "AT+CMGS=23", False, R),
    ("+CMTI: \"SM\",3", "AT+CMGS=23", False, U),
    ("+CMTI: \"ME\",1", None, False, U),
    ("+CDSI: \"SR\",8", "AT+CSQ", False, U),
    ("+CREG: 0,1", "AT+CREG?", False, R),
    ("+CREG: 1", "AT+CREG?", False, U),
    ("+CREG: 1,\"00C3\",\"0A2B\"", "AT+CREG?", False, U),
    ("+CREG: 2,1,\"00C3\",\"0A2B\"", "AT+CREG?", False, R),
    ("+CREG: 1,\"00C3\",\"0A2B\",7", "AT+CREG?", False, U),
    ("+CEREG: 0,5", "AT+CEREG?", False, R),
    ("+CEREG: 2", "AT+CEREG?", False, U),
    ("+CEREG: 2", "AT+CREG?", False, U),
    ("+CPIN: READY", "AT+CPIN?", False, R),
    ("+CPIN: READY", None, False, U),
    ("+CPIN: NOT INSERTED", "AT+CSQ", False, U),
    ("RING", "AT+CSQ", False, U),
    ("RDY", None, False, U),
    ("SMS Ready", "AT", False, U),
    ("Call Ready", "ATI", True, U),
    ("^RSSI: 18", "AT+CSQ", False, U),
    ("UNDER-VOLTAGE WARNNING", "ATI", True, U),
    ("NORMAL POWER DOWN", None, False, U),
    ("+QIND: SMS DONE", "AT+CPMS?", False, U),
    ("Quectel", "ATI", True, R),
    ("Revision: EC25EFAR06A09M4G", "ATI", True, R),
    ("860000000000001", "AT+CGSN", True, R),
    ("Quectel", "AT+CSQ", False, U),
    ("AT+CSQ", "AT+CSQ", False, E),
    ("at+csq", "AT+CSQ", False, E),
    ("SIM800 R14.18", None, False, U),
    ("\ufffd\ufffdgarbage", "AT+CSQ", False, U),
]


@pytest.mark.parametrize("text, command, raw, expected", CLASSIFICATION)
def test_classification_table(text, command, raw, expected):
    pending = Pending.for_command(command, raw=raw) if command else None
    assert classify(text, pending) is expected


@pytest.mark.parametrize("text, expected", [
    ("OK", FinalResult(True, "OK")),
    ("ERROR", FinalResult(False, "ERROR")),
    ("+CMS ERROR: 331", FinalResult(False, "CMS", 331, "331")),
    ("+CMS ERROR:500", FinalResult(False, "CMS", 500, "500")),
    ("+CMS ERROR: unknown error", FinalResult(False, "CMS", 500, "unknown error")),
    ("+CME ERROR: incorrect password", FinalResult(False, "CME", 16, "incorrect password")),
    ("+CME ERROR: something new", FinalResult(False, "CME", None, "something new")),
    ("COMMAND NOT SUPPORT", FinalResult(False, "COMMAND NOT SUPPORT")),
    ("NO CARRIER", FinalResult(False, "NO CARRIER")),
    ("+CMGS: 3", None),
    ("OKAY", None),
])
def test_final_results(text, expected):
    assert parse_final(text) == expected


def test_reply_prefix():
    assert reply_prefix("AT+CMGS=23") == "+CMGS"
    assert reply_prefix("AT+CPIN?") == "+CPIN"
    assert reply_prefix("at^sysinfo") == "^SYSINFO"
    assert reply_prefix("ATI") is None
    assert reply_prefix("ATE0") is None


def test_fields_tolerate_broken_quotes():
    assert split_fields('0,0,"NTT DOCOMO",7') == ["0", "0", "NTT DOCOMO", "7"]
    assert split_fields('"a,b",1') == ["a,b", "1"]
    assert split_fields('2,1,"00C3,"0A2B"') == ["2", "1", "00C3", "0A2B"]
    assert split_fields('1,"unterminated, still') == ["1", "unterminated, still"]
    assert split_fields("") == []


def test_registration_urc_counts_fields():
    assert is_registration_urc("+CREG: 5")
    assert is_registration_urc('+CEREG: 1,"1A2B","01C2D3E4",7')
    assert not is_registration_urc("+CEREG: 0,1")
    assert not is_registration_urc('+CREG: 2,5,"00C3","0A2B",7')
    assert not is_registration_urc("+CSQ: 1")


def lines_of(reader: LineReader, data: bytes):
    return [(line.kind, line.text, line.pdu) for line in reader.feed(data)]


def test_urc_inside_a_reply_is_routed_apart():
    reader = LineReader()
    reader.pending = Pending.for_command("AT+CSQ")
    got = lines_of(reader, b'\r\n+CMTI: "SM",2\r\n\r\n+CSQ: 21,99\r\n\r\n+CEREG: 1\r\n\r\nOK\r\n')
    assert got == [(U, '+CMTI: "SM",2', None), (R, "+CSQ: 21,99", None), (U, "+CEREG: 1", None), (F, "OK", None)]


def test_prompt_without_line_end_and_split_across_reads():
    reader = LineReader()
    reader.pending = Pending.for_command("AT+CMGS=17")
    assert lines_of(reader, b"AT+CMGS=17\r\r\n>") == [(E, "AT+CMGS=17", None)]
    assert lines_of(reader, b" ") == [(P, "> ", None)]
    got = lines_of(reader, b'\r\n+CMTI: "SM",4\r\n\r\n+CMGS: 9\r\n\r\nOK\r\n')
    assert got == [(U, '+CMTI: "SM",4', None), (R, "+CMGS: 9", None), (F, "OK", None)]


def test_cmgr_reply_carries_its_pdu_even_after_stray_line_ends():
    reader = LineReader()
    reader.pending = Pending.for_command("AT+CMGR=3")
    got = lines_of(reader, b"\r\n+CMGR: 0,,24\r\n\r\n\r\n0791AB\r\n\r\nOK\r\n")
    assert got == [(R, "+CMGR: 0,,24", "0791AB"), (F, "OK", None)]


def test_a_corrupt_pdu_line_still_belongs_to_its_header():
    reader = LineReader()
    reader.pending = Pending.for_command("AT+CMGR=3")
    got = lines_of(reader, b"\r\n+CMGR: 0,,24\r\n07\xff91ZZ\r\n\r\nOK\r\n")
    assert got == [(R, "+CMGR: 0,,24", "07\ufffd91ZZ"), (F, "OK", None)]


def test_a_urc_between_header_and_pdu_is_not_taken_for_the_pdu():
    reader = LineReader()
    reader.pending = Pending.for_command("AT+CMGR=3")
    got = lines_of(reader, b'\r\n+CMGR: 0,,24\r\n+CMTI: "SM",4\r\nOK\r\n')
    assert got == [(R, "+CMGR: 0,,24", None), (U, '+CMTI: "SM",4', None), (F, "OK", None)]


def test_empty_cmgr_slot_gives_header_without_pdu():
    reader = LineReader()
    reader.pending = Pending.for_command("AT+CMGR=9")
    assert lines_of(reader, b"\r\n+CMGR: 0,,0\r\n\r\nOK\r\n") == [(R, "+CMGR: 0,,0", None), (F, "OK", None)]


def test_cmt_and_cds_urcs_carry_their_pdu():
    reader = LineReader()
    got = lines_of(reader, b"\r\n+CMT: ,24\r\n07912143\r\n\r\n+CDS: 25\r\r\n0006D6\r\n")
    assert got == [(U, "+CMT: ,24", "07912143"), (U, "+CDS: 25", "0006D6")]


def test_cmt_urc_inside_a_command_keeps_its_pdu_out_of_the_reply():
    reader = LineReader()
    reader.pending = Pending.for_command("AT+COPS?")
    got = lines_of(reader, b'\r\n+CMT: ,24\r\n0791AA\r\n+COPS: 0,0,"X",7\r\nOK\r\n')
    assert got == [(U, "+CMT: ,24", "0791AA"), (R, '+COPS: 0,0,"X",7', None), (F, "OK", None)]


def test_double_cr_and_non_utf8_bytes():
    reader = LineReader()
    reader.pending = Pending.for_command("AT")
    got = lines_of(reader, b"\r\r\n\xff\xfe\x80junk\r\r\nOK\r\r\n")
    assert [kind for kind, _, _ in got] == [U, F]
    assert "junk" in got[0][1]


def test_echo_of_a_pdu_with_ctrl_z():
    reader = LineReader()
    reader.pending = Pending.for_command("AT+CMGS=17")
    reader.sent("AT+CMGS=17")
    reader.sent("0011000B916407281553F80000AA0AE8329BFD4697D9EC37")
    got = lines_of(reader, b"0011000B916407281553F80000AA0AE8329BFD4697D9EC37\x1a\r\n+CMGS: 4\r\n\r\nOK\r\n")
    assert got == [(E, "0011000B916407281553F80000AA0AE8329BFD4697D9EC37\x1a", None), (R, "+CMGS: 4", None),
                   (F, "OK", None)]


def test_endless_garbage_is_cut_into_lines():
    reader = LineReader(max_line=64)
    out = reader.feed(b"x" * 200)
    assert len(out) == 3 and all(line.kind is U for line in out)


def test_line_name_and_fields():
    reader = LineReader()
    (line,) = reader.feed(b'+CMTI: "SM",12\r\n')
    assert line.name == "+CMTI" and line.fields == ["SM", "12"]


@pytest.mark.parametrize("kind, code, expected", [
    ("CMS", 331, errors.ErrorClass.TRANSIENT),
    ("CMS", 0xC0, errors.ErrorClass.TRANSIENT),
    ("CMS", 512, errors.ErrorClass.TRANSIENT),
    ("CMS", 535, errors.ErrorClass.TRANSIENT),
    ("CMS", 21, errors.ErrorClass.DESTINATION),
    ("CMS", 0xC7, errors.ErrorClass.DESTINATION),
    ("CMS", 304, errors.ErrorClass.PDU),
    ("CMS", 140, errors.ErrorClass.PDU),
    ("CMS", 520, errors.ErrorClass.PDU),
    ("CMS", 0xC5, errors.ErrorClass.ALREADY_SENT),
    ("CMS", 330, errors.ErrorClass.CONFIG),
    ("CMS", 322, errors.ErrorClass.STORAGE),
    ("CMS", 0xD0, errors.ErrorClass.STORAGE),
    ("CMS", 316, errors.ErrorClass.SIM),
    ("CMS", 300, errors.ErrorClass.ME_FAILURE),
    ("CMS", 500, errors.ErrorClass.AMBIGUOUS),
    ("CMS", 9999, errors.ErrorClass.UNKNOWN),
    ("CME", 14, errors.ErrorClass.TRANSIENT),
    ("CME", 515, errors.ErrorClass.TRANSIENT),
    ("CME", 133, errors.ErrorClass.DESTINATION),
    ("CME", 25, errors.ErrorClass.PDU),
    ("CME", 4, errors.ErrorClass.CONFIG),
    ("CME", 22, errors.ErrorClass.STORAGE),
    ("CME", 12, errors.ErrorClass.SIM),
    ("CME", 44, errors.ErrorClass.SIM),
    ("ERROR", None, errors.ErrorClass.UNKNOWN),
    ("NO CARRIER", None, errors.ErrorClass.TRANSIENT),
])
def test_error_classes(kind, code, expected):
    assert errors.classify(kind, code) is expected


def test_retry_policies():
    assert errors.policy_for("CMS", 21).fail_message and not errors.policy_for("CMS", 21).retry
    assert errors.policy_for("CMS", 331).retry and errors.policy_for("CMS", 331).max_attempts is None
    assert errors.policy_for("CMS", 27).max_attempts == 3
    assert errors.policy_for("CMS", 500).max_attempts == 3
    assert errors.policy_for("CME", 100).max_attempts == 2
    assert errors.policy_for("CMS", 0xC5).mark_sent
    assert errors.policy_for("CMS", 330).reinit
    assert errors.policy_for("CMS", 311).link_problem
    assert errors.describe("CMS", 331) == "+CMS ERROR: 331 (transient)"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=20),
       st.sampled_from([None, "AT+CMGS=23", "AT+CMGR=1", "ATI", "AT+CREG?"]))
def test_fuzz_random_bytes_never_raise(chunks, command):
    reader = LineReader(max_line=128)
    reader.pending = Pending.for_command(command, raw=command == "ATI") if command else None
    for chunk in chunks:
        for line in reader.feed(chunk):
            assert isinstance(line.kind, LineKind)
            line.name, line.fields  # noqa: B018 - must not raise either
    reader.flush()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([b"OK", b"ERROR", b"+CMTI: \"SM\",1", b"+CMT: ,5", b"0791", b"> ", b"\r", b"\n",
                                 b"+CMS ERROR: ", b"\xff", b"\"", b",", b"+CREG: ", b"1"]), max_size=60))
def test_fuzz_modem_like_tokens_never_raise(tokens):
    reader = LineReader()
    reader.pending = Pending.for_command("AT+CMGR=1")
    for line in reader.feed(b"".join(tokens)):
        parse_final(line.text)
        line.fields  # noqa: B018
