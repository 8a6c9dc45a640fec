"""Whatever a modem prints, ``decode`` returns a message or raises PduError: nothing else.

A stray IndexError or UnicodeError from a garbled +CMT line would kill the
reader task that also carries alerts out, so this is a safety property.
"""

import json
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hubd.modem import pdu
from hubd.modem.pdu import Deliver, PduError, StatusReport, Submit, decode

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

STAMP = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=9)))

SEEDS = [
    "07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07",
    "07914306073011F0040B914316709807F2000880604290224080084E2D5174901A8BAF",
    "06917228195339040B917228214365F70000313062315352800A800D8A5E98D337A910",
    "07912160130320F6440B916171056429F5000021405291651569320500034C0202E9E8301D44479741F0B09C3E"
    "0785E56590BCCC0ED3CB6410FD0D7ABBCBA0B0FB4D4797E52E10",
    "07919730071111F10414D04937BD2C7797E9D3E614000811309291024061080442043504410442",
    "0791538375000075061805810531F1019082416500400190824165004000",
    "0006D60B911326880736F4111011719551401110117195714000",
    "0006D60B911326880736F411101171955140111011719571400007000004E8373B0C",
    "0011000B916407281553F80000AA0AE8329BFD4697D9EC37",
    "07914346466554F601000B914316565811F9000806304253F68449",
    "0019000B915155661632F4000099202150750321" + "04E8373B0C",
    "0009000B915155661632F400000310520300000004E8373B0C",
    "0044" + "0B915155661632F4" + "0004" + "51117200000080" + "0C" + "0B0003170301050404D21466",
    *[part.pdu for part in pdu.encode_submit("+819012345678", "見守り😀" * 30, concat_ref=3)],
    *[part.pdu for part in pdu.encode_submit("+15556661234", "{alert} €" * 40, validity=timedelta(hours=6))],
    *pdu.encode_deliver("InternetSMS", "test [ok]", timestamp=STAMP),
]


def assert_decodes_or_pdu_error(candidate):
    try:
        message = decode(candidate)
    except PduError as error:
        assert str(error)
        return
    assert isinstance(message, (Deliver, Submit, StatusReport))
    json.dumps(message.as_dict())  # whatever decodes can be printed by `hubctl sms decode`


@FUZZ
@given(st.binary(max_size=200))
def test_random_octets_as_hex(octets):
    assert_decodes_or_pdu_error(octets.hex())


@FUZZ
@given(st.binary(max_size=200))
def test_random_raw_bytes(raw):
    assert_decodes_or_pdu_error(raw)


@FUZZ
@given(st.text(max_size=200))
def test_random_text(text):
    assert_decodes_or_pdu_error(text)


@FUZZ
@given(st.text(alphabet="0123456789ABCDEFabcdef \r\n", max_size=300))
def test_random_hex_like_text(text):
    assert_decodes_or_pdu_error(text)


@FUZZ
@given(st.sampled_from(SEEDS), st.data())
def test_mutated_valid_pdus(seed, data):
    octets = bytearray.fromhex(seed)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, max(len(octets) - 1, 0)))
        mutation = data.draw(st.sampled_from(["set", "flip", "insert", "delete", "truncate", "extend"]))
        if mutation == "set" and octets:
            octets[position] = data.draw(st.integers(0, 255))
        elif mutation == "flip" and octets:
            octets[position] ^= 1 << data.draw(st.integers(0, 7))
        elif mutation == "insert":
            octets.insert(position, data.draw(st.integers(0, 255)))
        elif mutation == "delete" and octets:
            del octets[position]
        elif mutation == "truncate":
            del octets[position:]
        elif mutation == "extend":
            octets.extend(data.draw(st.binary(min_size=1, max_size=8)))
    assert_decodes_or_pdu_error(octets.hex())


@FUZZ
@given(
    st.integers(0, 12),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 255),
    st.binary(max_size=160),
)
def test_plausible_headers_with_random_bodies(sca_length, first_octet, address_length, dcs, body):
    """Realistic SCA and address framing, so random values reach the deeper fields."""
    sca = bytes([sca_length]) + bytes([0x91]) + b"\x11" * max(sca_length - 1, 0) if sca_length else b"\x00"
    address = bytes([address_length % 24, 0x91]) + b"\x21" * ((address_length % 24 + 1) // 2)
    middle = b"\x00" if first_octet & 3 == 1 else b""  # a SUBMIT has TP-MR before the address
    candidate = sca + bytes([first_octet]) + middle + address + bytes([0x00, dcs]) + body
    assert_decodes_or_pdu_error(candidate.hex())


def test_every_truncation_of_every_seed_is_a_pdu_error():
    for seed in SEEDS:
        for end in range(0, len(seed), 2):
            try:
                message = decode(seed[:end])
            except PduError:
                continue
            # a status report's parameters after TP-ST are optional: cutting them off is valid
            assert isinstance(message, StatusReport) and message.pid is None, seed[:end]
