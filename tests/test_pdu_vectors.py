"""Public PDU vectors (reference/modem.md §9) and example-based codec behaviour."""

import json
from datetime import datetime, timedelta, timezone

import pytest

from hubd.modem import pdu
from hubd.modem.pdu import (
    Deliver,
    PduError,
    Reassembler,
    StatusReport,
    Submit,
    SubmitPart,
    count_parts,
    decode,
    decode_submit,
    encode_submit,
)


def tz(hours=0, minutes=0):
    return timezone(timedelta(hours=hours, minutes=minutes))


# --------------------------------------------------------------------------
# DELIVER vectors

D1 = "07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07"
D2 = "07914306073011F0040B914316709807F2000880604290224080084E2D5174901A8BAF"
D3 = (
    "07915892000000F0040B915892214365F700007040213252242331493A283D0795C3F33C88FE06C9CB6132885E"
    "C6D341EDF27C1E3E97E7207B3A0C0A5241E377BB1D7693E72E"
)
D4 = "06917228195339040B917228214365F70000313062315352800A800D8A5E98D337A910"
D5 = (
    "0591721891F1400781721881F800003160526104848059050003C30101916536FB1DCABEEB2074D85E064941B1"
    "9CAB060319A5C522289C96D3D3ED32286C0FA7D96131BBEC024941B19CAB0603DDD36C36A88C87A7E565D0DB0D"
    "82C55EB0DB4B068BCD5C20"
)
D6A = (
    "07912160130320F5440B916171056429F5000021405291650569A00500034C0201A9E8F41C949E83C2207B599E"
    "07B1DFEE33885E9ED341E4F23C7D7697C920FA1B54C697E5E3F4BC0C6AD7D9F434081E96D341E3303C2C4EB3D3"
    "F4BC0B94A483E6E8779D4D06CDD1EF3BA80E0785E7A0B7BB0C6A97E7F3F0B9CC02B9DF7450780EA2DFDF2C5078"
    "0EA2A3CBA0BA9B5C96B3F369F71954768FDFE4B4FB0C9297E1F2F2BCECA6CF41"
)
D6B = (
    "07912160130320F6440B916171056429F5000021405291651569320500034C0202E9E8301D44479741F0B09C3E"
    "0785E56590BCCC0ED3CB6410FD0D7ABBCBA0B0FB4D4797E52E10"
)
D7 = "07919730071111F10414D04937BD2C7797E9D3E614000811309291024061080442043504410442"
D8 = "07916407058099F9040B916407950303F100008921222140140004D4E2940A"
S1 = "0791538375000075061805810531F1019082416500400190824165004000"
S3 = "0006D60B911326880736F4111011719551401110117195714000"


def test_d1_gsm7_deliver():
    message = decode(D1)
    assert isinstance(message, Deliver)
    assert message.sender == "+31641600986"
    assert message.sender_toa == 0x91
    assert message.smsc == "+31624000000"
    assert message.timestamp == datetime(2002, 8, 26, 19, 37, 41, tzinfo=timezone.utc)
    assert message.timestamp.utcoffset() == timedelta(0)
    assert message.text == "How are you?"
    assert message.encoding == "gsm7"
    assert message.concat is None
    assert not message.more_messages  # TP-MMS set: nothing more waiting


def test_d2_ucs2_deliver():
    message = decode(D2)
    assert message.sender == "+34610789702"
    assert message.encoding == "ucs2" and message.dcs == 0x08
    assert message.text == "中兴通讯"


def test_d3_timezone_plus_eight():
    message = decode(D3)
    assert message.sender == "+85291234567"
    assert message.timestamp == datetime(2007, 4, 12, 23, 25, 42, tzinfo=tz(8))
    assert message.timestamp.utcoffset() == timedelta(hours=8)
    assert message.text == "It is easy to read text messages via AT commands."


def test_d4_escapes_inside_udl():
    message = decode(D4)
    assert message.text == "@{tést}!"
    assert message.smsc == "+2782913593"


def test_d5_udh_one_of_one_national_sender():
    message = decode(D5)
    assert message.sender == "2781188"
    assert message.sender_toa == 0x81
    assert message.concat == pdu.Concat(ref=0xC3, total=1, seq=1)
    assert message.text == (
        "Hello!You have R 19.50 FREE airtime available. R 19.50 will expire on 01/07/2013. "
    )
    assert message.more_messages  # TP-MMS clear


def test_d6_two_parts_from_different_smscs_reassemble():
    first, second = decode(D6A), decode(D6B)
    assert first.smsc != second.smsc
    assert first.concat == pdu.Concat(ref=0x4C, total=2, seq=1)
    assert second.concat == pdu.Concat(ref=0x4C, total=2, seq=2)
    assert first.timestamp.utcoffset() == timedelta(hours=-4)
    assert second.text == "that the parts are related to one another. "
    reassembler = Reassembler()
    assert reassembler.add(second, now=0.0) is None
    assert reassembler.add(first, now=1.0) == (
        "This is a very long test designed to exercise multi part capability. It should show up "
        "as one message, not as two, as the underlying encoding represents "
        "that the parts are related to one another. "
    )
    assert len(reassembler) == 0


def test_d7_alphanumeric_sender_ucs2():
    message = decode(D7)
    assert message.sender == "InternetSMS"
    assert message.sender_toa == 0xD0
    assert message.text == "тест"


def test_d8_nineties_timestamp():
    message = decode(D8)
    assert message.sender == "+46705930301"
    assert message.text == "TEST"
    assert message.timestamp == datetime(1998, 12, 22, 12, 4, 41, tzinfo=timezone.utc)


def test_s1_status_report():
    report = decode(S1)
    assert isinstance(report, StatusReport)
    assert report.message_ref == 24
    assert report.recipient == "50131"
    assert report.status == 0 and report.delivered and report.outcome == "delivered"
    assert report.smsc == "+353857000057"
    assert report.timestamp == datetime(2010, 9, 28, 14, 56, 0, tzinfo=tz(1))


def test_s3_status_report_without_smsc():
    report = decode(S3)
    assert report.smsc is None
    assert report.message_ref == 214
    assert report.recipient == "+31628870634"
    assert report.delivered
    assert report.discharge_time == datetime(2011, 1, 11, 17, 59, 17, tzinfo=tz(1))


@pytest.mark.parametrize("vector", [D1, D2, D3, D4, D5, D6A, D6B, D7, D8, S1, S3])
def test_as_dict_is_json(vector):
    data = json.loads(json.dumps(decode(vector).as_dict()))
    assert data["type"] in ("deliver", "status_report")
    assert datetime.fromisoformat(data["timestamp"]).tzinfo is not None


def test_as_dict_content():
    data = decode(D6A).as_dict()
    assert data["type"] == "deliver"
    assert data["timestamp"] == "2012-04-25T19:56:50-04:00"
    assert data["udh"]["concat"] == {"ref": 0x4C, "total": 2, "seq": 1, "ref_bits": 8}
    assert data["udh"]["elements"] == [{"iei": 0, "data": "4C0201"}]
    report = decode(S1).as_dict()
    assert report["outcome"] == "delivered" and report["message_ref"] == 24


def test_lowercase_and_surrounding_whitespace_accepted():
    assert decode(" " + D1.lower() + "\r\n").text == "How are you?"
    assert decode(D1.encode("ascii")).text == "How are you?"


# --------------------------------------------------------------------------
# SUBMIT vectors


SUBMIT_VECTORS = {
    "E1": ("0011000B916407281553F80000AA0AE8329BFD4697D9EC37",
           dict(to="+46708251358", text="hellohello", validity=timedelta(days=4))),
    "E2": ("0001000B914316565811F9000004E8373B0C", dict(to="+34616585119", text="hola")),
    "E3": ("07914346466554F601000B914316565811F9000004E8373B0C",
           dict(to="+34616585119", text="hola", smsc="+34646456456")),
    "E4": ("0021000B914356143254F6000006E8721E947F03",
           dict(to="+34654123456", text="hey yo", status_report=True)),
    "E5": ("0001000B914356143254F6000009C2AD341104EDFB00", dict(to="+34654123456", text="BÄRÇA äñ@")),
    "E6": ("07914346466554F601000B914316565811F9000806304253F68449",
           dict(to="+34616585119", text="あ叶葉", smsc="+34646456456")),
    "E7": ("001100098156355476F80008AA0E0420044304410441043A04380439",
           dict(to="655345678", text="Русский", validity=timedelta(days=4))),
    "E8": ("07919130079229F011000B915155551532F400000036C834888E2ECBCB2E978B5A2F8362373A1AA40CBB413258"
           "4C0682D57433982B8603C1DB20D4B1495DC552200804028100",
           dict(to="+15555551234", smsc="+19037029920", validity=timedelta(minutes=5),
                text="Hi there...Tue 17th Jan 2012 05:30.18 pm (GMT+1) ΔΔΔΔΔ")),
    "E10": ("0001000B915155661632F400001954747A0E4ACF41F27298CDCE83C6EF371B0481402010",
            dict(to="+15556661234", text="This is really cool ΔΔΔΔΔ")),
}


@pytest.mark.parametrize("name", sorted(SUBMIT_VECTORS))
def test_submit_vector_byte_for_byte(name):
    expected, arguments = SUBMIT_VECTORS[name]
    arguments = dict(arguments)
    parts = encode_submit(arguments.pop("to"), arguments.pop("text"), **arguments)
    sca_octets = int(expected[:2], 16) + 1
    assert parts == [SubmitPart(pdu=expected, tpdu_length=len(expected) // 2 - sca_octets)]


@pytest.mark.parametrize("name", sorted(SUBMIT_VECTORS))
def test_submit_vector_decodes_to_its_parameters(name):
    expected, arguments = SUBMIT_VECTORS[name]
    message = decode_submit(expected)
    assert isinstance(message, Submit)
    assert message.recipient == arguments["to"]
    assert message.text == arguments["text"]
    assert message.smsc == arguments.get("smsc")
    assert message.validity == arguments.get("validity")
    assert message.status_report_request == arguments.get("status_report", False)
    json.dumps(message.as_dict())


def test_e3_cmgs_length_is_17():
    (part,) = encode_submit("+34616585119", "hola", smsc="+34646456456")
    assert part.tpdu_length == 17


def test_e7_national_number_type():
    assert decode_submit(SUBMIT_VECTORS["E7"][0]).recipient_toa == 0x81


def test_e10_counts_25_septets():
    assert SUBMIT_VECTORS["E10"][0][26:28] == "19"


def test_message_ref_is_written():
    (part,) = encode_submit("+34616585119", "hola", message_ref=0x42)
    assert part.pdu[4:6] == "42"
    assert decode_submit(part.pdu).message_ref == 0x42


def test_decode_submit_refuses_a_deliver():
    with pytest.raises(PduError, match="not an SMS-SUBMIT"):
        decode_submit(D1)


# --------------------------------------------------------------------------
# Unit vectors


def test_semi_octets():
    assert pdu.encode_semi_octets("15125551234") == bytes.fromhex("51215515 32F4")
    assert pdu.decode_semi_octets(bytes.fromhex("5121551532F4")) == "15125551234"
    assert pdu.decode_semi_octets(bytes.fromhex("5121551532F4"), 11) == "15125551234"
    assert pdu.encode_semi_octets("*#") == bytes([0xBA])


def test_semi_octets_reject_misplaced_filler():
    with pytest.raises(PduError, match="filler"):
        pdu.decode_semi_octets(bytes.fromhex("F1"), 2)
    with pytest.raises(PduError, match="after the announced"):
        pdu.decode_semi_octets(bytes.fromhex("21"), 1)
    with pytest.raises(ValueError):
        pdu.encode_semi_octets("12a+")


@pytest.mark.parametrize(
    "octets, moment",
    [
        ("51117200000080", datetime(2015, 11, 27, 0, 0, 0, tzinfo=tz(2))),
        ("7040213252242B", datetime(2007, 4, 12, 23, 25, 42, tzinfo=tz(-8))),
        ("99202150750321", datetime(1999, 2, 12, 5, 57, 30, tzinfo=tz(3))),  # absolute VP
    ],
)
def test_scts(octets, moment):
    decoded = pdu.decode_scts(bytes.fromhex(octets))
    assert decoded == moment and decoded.utcoffset() == moment.utcoffset()
    assert pdu.encode_scts(moment).hex().upper() == octets


def test_scts_quarter_hour_zone():
    moment = datetime(2024, 1, 2, 3, 4, 5, tzinfo=tz(5, 45))  # Nepal: 23 quarters
    assert pdu.encode_scts(moment)[6] == 0x32
    assert pdu.decode_scts(pdu.encode_scts(moment)).utcoffset() == timedelta(hours=5, minutes=45)


def test_scts_rejects_bad_input():
    with pytest.raises(ValueError, match="aware"):
        pdu.encode_scts(datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="quarter"):
        pdu.encode_scts(datetime(2024, 1, 1, tzinfo=tz(0, 10)))
    with pytest.raises(ValueError, match="year"):
        pdu.encode_scts(datetime(2095, 1, 1, tzinfo=tz()))
    with pytest.raises(PduError, match="impossible"):
        pdu.decode_scts(bytes.fromhex("51317200000080"))  # month 13
    with pytest.raises(PduError, match="decimal"):
        pdu.decode_scts(bytes.fromhex("5A117200000080"))
    with pytest.raises(PduError, match="7 octets"):
        pdu.decode_scts(b"\x00")


@pytest.mark.parametrize(
    "period, code",
    [
        (timedelta(minutes=5), 0),
        (timedelta(minutes=30), 5),
        (timedelta(hours=12), 143),
        (timedelta(hours=16), 151),
        (timedelta(hours=24), 167),
        (timedelta(days=2), 168),
        (timedelta(days=3), 169),
        (timedelta(days=4), 0xAA),
        (timedelta(days=30), 196),
        (timedelta(weeks=5), 197),
        (timedelta(weeks=63), 255),
    ],
)
def test_relative_validity(period, code):
    assert pdu.encode_relative_validity(period) == code
    assert pdu.decode_relative_validity(code) == period


def test_relative_validity_rounds_up():
    assert pdu.encode_relative_validity(timedelta(minutes=31)) == 6  # 35 minutes
    assert pdu.encode_relative_validity(timedelta(seconds=1)) == 0  # 5 minutes
    assert pdu.encode_relative_validity(timedelta(hours=36)) == 168  # 2 days
    assert pdu.encode_relative_validity(timedelta(days=31)) == 197  # 5 weeks


def test_relative_validity_limits():
    for bad in (timedelta(0), timedelta(minutes=-5), timedelta(weeks=63, seconds=1)):
        with pytest.raises(ValueError):
            pdu.encode_relative_validity(bad)
    with pytest.raises(ValueError):
        pdu.decode_relative_validity(256)


def _deliver_with_udh(udh_hex: str, body: bytes = b"", dcs: int = 0x04) -> str:
    """An 8-bit SMS-DELIVER carrying the given information elements."""
    header = bytes.fromhex(udh_hex)
    user_data = bytes([len(header)]) + header + body
    return (
        "00" + "44" + "0B915155661632F4" + "00" + f"{dcs:02X}" + "51117200000080"
        + f"{len(user_data):02X}" + user_data.hex()
    )


def test_udh_8bit_concat():
    message = decode(_deliver_with_udh("0003170301"))
    assert message.concat == pdu.Concat(ref=23, total=3, seq=1, ref_bits=8)


def test_udh_16bit_concat():
    message = decode(_deliver_with_udh("080401800402"))
    assert message.concat == pdu.Concat(ref=384, total=4, seq=2, ref_bits=16)


def test_udh_ports():
    assert decode(_deliver_with_udh("04026432")).udh.ports == pdu.Ports(0x64, 0x32, 8)
    message = decode(_deliver_with_udh("050404D21466", b"\x01\x02"))
    assert message.udh.ports == pdu.Ports(1234, 5222, 16)
    assert message.binary == b"\x01\x02" and message.encoding == "8bit" and message.text == ""


def test_udh_keeps_unknown_elements_and_combines_known_ones():
    message = decode(_deliver_with_udh("24010100031703020A00"))
    assert message.udh.elements == ((0x24, b"\x01"), (0x00, b"\x17\x03\x02"), (0x0A, b""))
    assert message.concat.seq == 2


@pytest.mark.parametrize("element", ["0003170001", "0003170300", "0003170304"])
def test_impossible_concat_numbers_are_ignored(element):
    # TS 23.040 §9.2.3.24.1: zero total, zero seq or seq > total -> ignore the element
    assert decode(_deliver_with_udh(element)).concat is None


def test_udh_element_with_wrong_length_is_an_error():
    with pytest.raises(PduError, match="must be 3 octets"):
        decode(_deliver_with_udh("00021703"))


def test_udh_element_running_past_the_header_is_an_error():
    with pytest.raises(PduError, match="claims 5 octets"):
        decode(_deliver_with_udh("000517"))


# --------------------------------------------------------------------------
# Part counts and splitting


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a" * 160, ("gsm7", 1)),
        ("a" * 161, ("gsm7", 2)),
        ("a" * 306, ("gsm7", 2)),
        ("a" * 307, ("gsm7", 3)),
        ("€" * 80, ("gsm7", 1)),
        ("€" * 79 + "a", ("gsm7", 1)),
        ("€" * 153, ("gsm7", 3)),
        ("中" * 70, ("ucs2", 1)),
        ("中" * 71, ("ucs2", 2)),
        ("中" * 134, ("ucs2", 2)),
        ("中" * 135, ("ucs2", 3)),
        ("", ("gsm7", 1)),
        ("😀" * 35, ("ucs2", 1)),
        ("😀" * 35 + "a", ("ucs2", 2)),
    ],
)
def test_count_parts(text, expected):
    assert count_parts(text) == expected
    assert len(encode_submit("+15556661234", text)) == expected[1]


def test_escape_pair_moves_whole_to_the_next_part():
    parts = encode_submit("+15556661234", "a" * 152 + "€" + "b" * 10)
    first, second = (decode_submit(part.pdu) for part in parts)
    assert first.text == "a" * 152
    assert second.text == "€" + "b" * 10


def test_surrogate_pair_moves_whole_to_the_next_part():
    parts = encode_submit("+15556661234", "a" * 66 + "😀" + "b" * 10)
    first, second = (decode_submit(part.pdu) for part in parts)
    assert first.text == "a" * 66
    assert second.text == "😀" + "b" * 10


def test_multipart_gsm7_layout():
    parts = encode_submit("+15556661234", "x" * 200, concat_ref=0x2A, message_ref=7)
    assert [part.pdu[2:4] for part in parts] == ["41", "41"]  # UDHI + SUBMIT
    assert [part.pdu[4:6] for part in parts] == ["07", "08"]  # one TP-MR per SUBMIT
    first = decode_submit(parts[0].pdu)
    assert first.udh.elements == ((0x00, bytes([0x2A, 2, 1])),)
    assert first.text == "x" * 153
    # UDL: 7 septets of header and fill, then the text
    assert parts[0].pdu.index("0500032A0201") == 28
    assert int(parts[0].pdu[26:28], 16) == 160
    assert parts[0].tpdu_length == 13 + 140
    assert all(part.tpdu_length <= 13 + 140 for part in parts)


def test_multipart_ucs2_layout():
    parts = encode_submit("+15556661234", "中" * 100, concat_ref=0xFF)
    first = decode_submit(parts[0].pdu)
    assert first.concat == pdu.Concat(ref=0xFF, total=2, seq=1)
    assert int(parts[0].pdu[26:28], 16) == 6 + 134
    assert first.text == "中" * 67


def test_message_ref_wraps():
    parts = encode_submit("+15556661234", "x" * 200, message_ref=255)
    assert [decode_submit(part.pdu).message_ref for part in parts] == [255, 0]


def test_japanese_70_is_one_part_71_is_two_and_they_reassemble():
    base = "見守りセンサーが長時間反応していません。至急ご確認ください。住所：東京都新宿区西新宿二丁目八番一号"
    for count, expected_parts in ((70, 1), (71, 2)):
        text = (base * 2)[:count]
        assert len(text) == count
        parts = encode_submit("+819012345678", text)
        assert len(parts) == expected_parts
        assert all(decode_submit(part.pdu).encoding == "ucs2" for part in parts)
        inbound = pdu.encode_deliver(
            "+819012345678", text, timestamp=datetime(2026, 3, 1, 9, 0, tzinfo=tz(9)), concat_ref=9
        )
        assert len(inbound) == expected_parts
        reassembler = Reassembler()
        results = [reassembler.add(decode(part), now=float(i)) for i, part in enumerate(inbound)]
        assert results[-1] == text
        assert results[:-1] == [None] * (expected_parts - 1)
        submitted = "".join(decode_submit(part.pdu).text for part in parts)
        assert submitted == text


# --------------------------------------------------------------------------
# Encoding arguments


@pytest.mark.parametrize("number", ["", "+", "++81", "090-1234", "+81 90", "1" * 21, "abc"])
def test_bad_recipient(number):
    with pytest.raises(ValueError, match="phone number"):
        encode_submit(number, "hi")


def test_bad_smsc_and_refs():
    with pytest.raises(ValueError):
        encode_submit("+1555", "hi", smsc="x")
    with pytest.raises(ValueError, match="concat_ref"):
        encode_submit("+1555", "hi", concat_ref=256)
    with pytest.raises(ValueError, match="message_ref"):
        encode_submit("+1555", "hi", message_ref=-1)


def test_too_many_parts():
    with pytest.raises(ValueError, match="255"):
        encode_submit("+1555", "a" * (153 * 255 + 1))
    assert len(encode_submit("+1555", "a" * (153 * 255))) == 255


def test_lone_surrogate_is_refused():
    with pytest.raises(ValueError, match="surrogate"):
        encode_submit("+1555", "a\ud800")


def test_empty_text_is_one_empty_gsm7_part():
    (part,) = encode_submit("+1555", "")
    assert part.pdu.endswith("000000")
    assert decode_submit(part.pdu).text == ""


# --------------------------------------------------------------------------
# DELIVER and STATUS-REPORT encoders (for the emulator)


def test_encode_deliver_reproduces_d1_but_writes_utc_as_plus_zero():
    # D1 writes UTC as "-0" (zone octet 08); both mean UTC, the encoder writes 00
    (encoded,) = pdu.encode_deliver(
        "+31641600986",
        "How are you?",
        smsc="+31624000000",
        timestamp=datetime(2002, 8, 26, 19, 37, 41, tzinfo=timezone.utc),
    )
    assert encoded == D1[:50] + "00" + D1[52:]
    assert decode(D1).timestamp == decode(encoded).timestamp


def test_encode_deliver_reproduces_d7_alphanumeric():
    (encoded,) = pdu.encode_deliver(
        "InternetSMS", "тест", smsc="+79037011111",
        timestamp=datetime(2011, 3, 29, 19, 20, 4, tzinfo=tz(4)),
    )
    assert encoded == D7


def test_encode_deliver_refuses_long_alphanumeric_sender():
    with pytest.raises(ValueError, match="11 septets"):
        pdu.encode_deliver("TwelveLetter", "x", timestamp=datetime(2020, 1, 1, tzinfo=tz()))


def test_encode_status_report_reproduces_s1_and_s3():
    moment = datetime(2010, 9, 28, 14, 56, tzinfo=tz(1))
    assert pdu.encode_status_report(
        "50131", 24, 0, timestamp=moment, discharge_time=moment, smsc="+353857000057"
    ) == S1
    assert pdu.encode_status_report(
        "+31628870634", 214, 0,
        timestamp=datetime(2011, 1, 11, 17, 59, 15, tzinfo=tz(1)),
        discharge_time=datetime(2011, 1, 11, 17, 59, 17, tzinfo=tz(1)),
    ) == S3


@pytest.mark.parametrize(
    "status, outcome",
    [(0x00, "delivered"), (0x01, "delivered"), (0x20, "retrying"), (0x3F, "retrying"),
     (0x40, "failed"), (0x5F, "failed"), (0x60, "gave_up"), (0x7F, "gave_up"), (0x80, "reserved")],
)
def test_status_outcome(status, outcome):
    moment = datetime(2020, 1, 1, tzinfo=tz())
    report = decode(pdu.encode_status_report("+1555", 1, status, timestamp=moment, discharge_time=moment))
    assert report.outcome == outcome
    assert report.delivered is (status == 0)


def test_status_report_optional_fields():
    base = S3[:-2] + "00"
    report = decode(base + "07" + "00" + "00" + "04" + "E8373B0C")  # PI: PID, DCS, UDL
    assert (report.pid, report.dcs, report.encoding, report.text) == (0, 0, "gsm7", "hola")
    assert decode(base + "00").text == ""
    with pytest.raises(PduError, match="TP-PID"):
        decode(base + "01")


# --------------------------------------------------------------------------
# Other DCS and validity formats


@pytest.mark.parametrize(
    "dcs, encoding, message_class",
    [
        (0x00, "gsm7", None), (0x04, "8bit", None), (0x08, "ucs2", None), (0x0C, "gsm7", None),
        (0x10, "gsm7", 0), (0x11, "gsm7", 1), (0x18, "ucs2", 0), (0x24, "compressed", None),
        (0x40, "gsm7", None), (0x48, "ucs2", None), (0x80, "gsm7", None), (0xC0, "gsm7", None),
        (0xD8, "gsm7", None), (0xE0, "ucs2", None), (0xF0, "gsm7", 0), (0xF6, "8bit", 2),
    ],
)
def test_dcs_interpretation(dcs, encoding, message_class):
    assert pdu._interpret_dcs(dcs) == (encoding, message_class)


def test_flash_sms_decodes_as_class_0():
    flash = D1[:36] + "10" + D1[38:]
    message = decode(flash)
    assert message.message_class == 0 and message.text == "How are you?"


def _submit_with_validity(first_octet: str, validity_hex: str) -> str:
    return "00" + first_octet + "00" + "0B915155661632F4" + "0000" + validity_hex + "04E8373B0C"


def test_absolute_validity():
    message = decode_submit(_submit_with_validity("19", "99202150750321"))
    assert message.validity == datetime(1999, 2, 12, 5, 57, 30, tzinfo=tz(3))
    assert decode(_submit_with_validity("19", "99202150750321")).as_dict()["validity"] == (
        "1999-02-12T05:57:30+03:00"
    )


@pytest.mark.parametrize(
    "enhanced, expected",
    [
        ("00000000000000", None),
        ("01AA0000000000", timedelta(days=4)),
        ("02280000000000", timedelta(seconds=40)),
        ("03105203000000", timedelta(hours=1, minutes=25, seconds=30)),
    ],
)
def test_enhanced_validity(enhanced, expected):
    assert decode_submit(_submit_with_validity("09", enhanced)).validity == expected


def test_reserved_enhanced_validity_is_an_error():
    with pytest.raises(PduError, match="reserved enhanced"):
        decode_submit(_submit_with_validity("09", "07000000000000"))


# --------------------------------------------------------------------------
# Malformed input: what and where


@pytest.mark.parametrize(
    "bad, message",
    [
        ("", "empty"),
        ("0G", "not hexadecimal"),
        ("000", "odd number"),
        (D1[:-2], "TP-UD: needs 11 octets, only 10 left at octet 27"),
        (D1 + "00", "1 unexpected octets after the user data at octet 38"),
        ("0003", "reserved message type"),
        ("0C91" + "11" * 11 + "04", "SMSC address length 12 exceeds 11 octets at octet 0"),
        ("0004159111", "TP-OA length 21 exceeds 20 digits at octet 2"),
        ("00040B91", "TP-OA: needs 6 octets, only 0 left at octet 4"),
        ("0004039121F30000" + "51317200000080" + "00", "impossible timestamp"),
        ("0004039121F30008" + "51117200000080" + "03" + "004100", "odd length 3 at octet 16"),
        ("0004039121F30000" + "51117200000080" + "A1" + "00" * 140, "TP-UDL 161 exceeds 160"),
        ("0004039121F30004" + "51117200000080" + "8D" + "00" * 141, "TP-UDL 141 exceeds 140"),
        ("0044039121F30004" + "51117200000080" + "00", "UDHI set but the user data is empty"),
        ("0044039121F30004" + "51117200000080" + "0103", "UDH length 3 runs past"),
        ("0044039121F30000" + "51117200000080" + "01" + "00", "does not fit TP-UDL 1 septets"),
        ("0004039121130000" + "51117200000080" + "00", "TP-OA: digit after the announced 3 digits"),
    ],
)
def test_malformed_pdus_say_what_and_where(bad, message):
    with pytest.raises(PduError) as caught:
        decode(bad)
    assert message in str(caught.value)


def test_pdu_error_carries_the_offset():
    with pytest.raises(PduError) as caught:
        decode(D1[:-2])
    assert caught.value.offset == 27
    assert isinstance(caught.value, ValueError)


def test_empty_sender_has_no_plus():
    message = decode("00" + "04" + "0091" + "0000" + "51117200000080" + "00")
    assert message.sender == "" and message.text == ""


def test_non_text_input_is_a_pdu_error():
    with pytest.raises(PduError):
        decode(b"\xff\xfe")
    with pytest.raises(PduError):
        decode(12345)  # type: ignore[arg-type]


# --------------------------------------------------------------------------
# Reassembler


def _part(text, seq, total, ref=5, sender="+15556661234", smsc="+1999", ref_bits=8):
    udh = pdu.UserDataHeader(elements=(), concat=pdu.Concat(ref, total, seq, ref_bits))
    return Deliver(
        smsc=smsc, sender=sender, sender_toa=0x91, timestamp=datetime(2020, 1, 1, tzinfo=tz()),
        pid=0, dcs=0, encoding="gsm7", text=text, udh=udh,
    )


def test_single_message_passes_straight_through():
    assert Reassembler().add(decode(D1), now=0.0) == "How are you?"
    assert Reassembler().add(decode(D5), now=0.0) == decode(D5).text  # concat 1/1


def test_parts_in_any_order_with_duplicates():
    reassembler = Reassembler()
    assert reassembler.add(_part("c", 3, 3), 0.0) is None
    assert reassembler.add(_part("a", 1, 3), 1.0) is None
    assert reassembler.add(_part("a-again", 1, 3), 2.0) is None
    assert reassembler.add(_part("b", 2, 3, smsc="+1888"), 3.0) == "abc"
    assert len(reassembler) == 0


def test_groups_are_kept_apart_by_sender_ref_total_and_ref_width():
    reassembler = Reassembler()
    assert reassembler.add(_part("x1", 1, 2), 0.0) is None
    assert reassembler.add(_part("y2", 2, 2, sender="+1777"), 0.0) is None
    assert reassembler.add(_part("z2", 2, 3), 0.0) is None
    assert reassembler.add(_part("w2", 2, 2, ref=6), 0.0) is None
    assert reassembler.add(_part("v2", 2, 2, ref_bits=16), 0.0) is None
    assert reassembler.add(_part("x2", 2, 2), 0.0) == "x1x2"
    assert len(reassembler) == 4


def test_expire_drops_old_groups_and_reports_them():
    reassembler = Reassembler(timeout=600.0)
    reassembler.add(_part("a", 1, 3), now=100.0)
    reassembler.add(_part("c", 3, 3), now=200.0)
    reassembler.add(_part("new", 1, 2, ref=9), now=650.0)
    assert reassembler.expire(now=700.0) == []
    (dropped,) = reassembler.expire(now=700.5)
    assert dropped == pdu.IncompleteMessage(
        sender="+15556661234", ref=5, total=3, received=(1, 3), partial_text="ac", first_seen=100.0
    )
    json.dumps(dropped.as_dict())
    assert len(reassembler) == 1
    assert reassembler.add(_part("b", 2, 3), now=701.0) is None  # a fresh group now


def test_stale_group_met_by_add_is_reported_by_expire():
    reassembler = Reassembler(timeout=10.0)
    reassembler.add(_part("old", 1, 2), now=0.0)
    assert reassembler.add(_part("new2", 2, 2), now=50.0) is None  # not joined to the stale part
    (stale,) = reassembler.expire(now=51.0)
    assert stale.partial_text == "old"
    assert reassembler.add(_part("new1", 1, 2), now=52.0) == "new1new2"


def test_surrogate_pair_split_by_a_foreign_sender_is_rejoined():
    reassembler = Reassembler()
    reassembler.add(_part("a\ud83d", 1, 2), 0.0)
    assert reassembler.add(_part("\ude00b", 2, 2), 0.0) == "a😀b"
