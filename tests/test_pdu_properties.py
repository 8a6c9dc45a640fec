"""Properties of the PDU codec, and a cross-check against python-messaging.

python-messaging (GPL, test-only) is an oracle for SUBMIT encoding of BMP text.
It is not one for:
- non-BMP text (emoji): it writes corrupt PDUs, so such text is left out;
- the empty text: it picks UCS2, we pick GSM7 (every character of "" is in the
  default alphabet; both are valid PDUs), and its SmsDeliver cannot decode an
  empty user data (TypeError), which TS 23.040 allows (TP-UDL 0);
- TP-MR of parts 2..n: it repeats the first part's MR, we add one per part as
  TS 23.040 §9.2.3.6 asks ("the MS increments TP-MR by 1 for each SMS-SUBMIT"),
  and modem manuals require for concatenated segments (Quectel EC25 AT+QCMGS);
- GSM7 texts where a 153-septet cut falls inside an escape pair: it cuts the
  pair (its check compares an int from ``bytes`` with the str "\\x1b", so it never
  fires). TS 23.038 §6.2.1.1 makes an extension character the two-septet pair
  ESC + code, and a receiver decoding each part shows a lone ESC as a space and
  the orphaned code as its basic character ("e" for "€"). We keep pairs whole;
  ``test_oracle_splits_escape_pairs_and_corrupts_text`` shows the difference;
- UCS2 texts holding a literal U+001B: that same escape check does fire on
  ``str`` chunks, so it ends a UCS2 part early when the 67th character is
  U+001B. In UCS2 that code is an ordinary character; we fill parts to 67 units
  (``test_oracle_shortens_ucs2_parts_ending_in_u001b``).
"""

import json
import random
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from messaging.sms import SmsDeliver, SmsSubmit

from hubd.modem import gsm7, pdu
from hubd.modem.pdu import Reassembler, count_parts, decode, decode_submit, encode_submit

FAST = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

GSM7_CHARS = sorted(gsm7.BASIC_CHARACTERS | gsm7.EXTENSION_CHARACTERS)
EXTENSION_CHARS = sorted(gsm7.EXTENSION_CHARACTERS)
CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
KANA = st.characters(min_codepoint=0x3041, max_codepoint=0x30FF)
EMOJI = st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF)
ANY_CHAR = st.characters(blacklist_categories=("Cs",))



def with_long_variants(text_strategy):
    """Hypothesis favours short texts; repeating a snippet reaches multipart lengths too."""
    repeated = st.tuples(text_strategy.filter(bool), st.integers(2, 60)).map(lambda pair: pair[0] * pair[1])
    return st.one_of(text_strategy, repeated, repeated)


gsm7_text = st.text(st.sampled_from(GSM7_CHARS), max_size=40)
extension_heavy_text = st.text(st.one_of(st.sampled_from(EXTENSION_CHARS), st.sampled_from("abc ")), max_size=40)
mixed_text = st.text(st.one_of(st.sampled_from(GSM7_CHARS), CJK, KANA, EMOJI, ANY_CHAR), max_size=40)
bmp_only_text = st.text(
    st.one_of(st.sampled_from(GSM7_CHARS), CJK, KANA, st.characters(max_codepoint=0xFFFF, blacklist_categories=("Cs",))),
    max_size=40,
)
any_text = with_long_variants(st.one_of(gsm7_text, extension_heavy_text, mixed_text))
bmp_text = with_long_variants(st.one_of(gsm7_text, extension_heavy_text, bmp_only_text))
numbers = st.from_regex(r"\+?[0-9]{3,20}", fullmatch=True)
maybe_smsc = st.one_of(st.none(), numbers)
validity_codes = st.integers(0, 255)


def _parts_text(parts):
    decoded = [decode_submit(part.pdu) for part in parts]
    if len(decoded) > 1:
        assert [message.concat.seq for message in decoded] == list(range(1, len(decoded) + 1))
    return "".join(message.text for message in decoded), decoded


def _user_data(pdu_hex):
    """(DCS, UDL, UD octets) of an SMS-SUBMIT, parsed independently of the codec."""
    octets = bytes.fromhex(pdu_hex)
    index = octets[0] + 1
    first_octet = octets[index]
    index += 2  # FO, MR
    index += 2 + (octets[index] + 1) // 2  # DA
    dcs = octets[index + 1]
    index += 2  # PID, DCS
    index += {0b00: 0, 0b10: 1}.get((first_octet >> 3) & 3, 7)
    return dcs, octets[index], octets[index + 1 :]


# --------------------------------------------------------------------------
# Round trips


@FAST
@given(any_text, numbers, maybe_smsc, st.integers(0, 255), st.integers(0, 255))
def test_submit_round_trip(text, to, smsc, concat_ref, message_ref):
    parts = encode_submit(to, text, smsc=smsc, concat_ref=concat_ref, message_ref=message_ref)
    joined, decoded = _parts_text(parts)
    assert joined == text
    encoding, count = count_parts(text)
    assert len(parts) == count
    for index, (part, message) in enumerate(zip(parts, decoded)):
        assert part.pdu == part.pdu.upper()
        sca_octets = int(part.pdu[:2], 16) + 1
        assert part.tpdu_length == len(part.pdu) // 2 - sca_octets
        assert message.recipient == to and message.smsc == smsc
        assert message.encoding == encoding
        assert message.message_ref == (message_ref + index) % 256
        if count > 1:
            assert message.concat == pdu.Concat(concat_ref, count, index + 1)
        else:
            assert message.udh is None


@FAST
@given(any_text)
def test_parts_never_split_an_escape_or_surrogate_pair(text):
    for part in encode_submit("+15556661234", text):
        dcs, udl, ud = _user_data(part.pdu)
        assert len(ud) <= pdu.MAX_UD_OCTETS
        has_header = int(part.pdu[2:4], 16) & 0x40
        if dcs == 0x00:
            header_septets = 7 if has_header else 0
            septets = gsm7.unpack(ud[6:] if has_header else ud, udl - header_septets, 1 if has_header else 0)
            assert udl <= 160
            trailing_escapes = len(septets) - len(bytes(septets).rstrip(b"\x1b"))
            assert trailing_escapes % 2 == 0, "part ends inside an escape pair"
        else:
            body = ud[6:] if has_header else ud
            last_unit = int.from_bytes(body[-2:], "big") if body else 0
            assert not 0xD800 <= last_unit <= 0xDBFF, "part ends inside a surrogate pair"
            first_unit = int.from_bytes(body[:2], "big") if body else 0
            assert not 0xDC00 <= first_unit <= 0xDFFF, "part starts inside a surrogate pair"


@FAST
@given(st.sampled_from(EXTENSION_CHARS + ["😀", "𠮷"]), st.integers(1, 40), st.data())
def test_pair_at_every_boundary_position(pair_char, suffix_length, data):
    if pair_char in gsm7.EXTENSION_CHARACTERS:  # cuts after 153 septets, one part up to 160
        filler, prefix_length = "a", data.draw(st.integers(145, 160))
    else:  # cuts after 67 and 134 UTF-16 units, one part up to 70
        filler, prefix_length = "中", data.draw(st.one_of(st.integers(60, 70), st.integers(128, 136)))
    text = filler * prefix_length + pair_char + "b" * suffix_length
    joined, decoded = _parts_text(encode_submit("+15556661234", text))
    assert joined == text
    assert sum(pair_char in message.text for message in decoded) == 1


@FAST
@given(any_text)
def test_parts_are_greedy_and_within_limits(text):
    encoding, count = count_parts(text)
    chunks = [decode_submit(part.pdu).text for part in encode_submit("+15556661234", text)]
    if encoding == "gsm7":
        cost, single, per_part = gsm7.septet_length, 160, 153
    else:
        cost, single, per_part = (lambda s: len(s.encode("utf-16-be")) // 2), 70, 67
    if cost(text) <= single:
        assert count == 1
        return
    assert all(cost(chunk) <= per_part for chunk in chunks)
    for chunk, following in zip(chunks, chunks[1:]):  # no part could have taken one more character
        assert cost(chunk + following[0]) > per_part


@FAST
@given(any_text, numbers, st.integers(0, 255), st.randoms(use_true_random=False))
def test_deliver_round_trip_through_reassembler_in_any_order(text, sender, ref, rng):
    stamp = datetime(2026, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=9)))
    inbound = [decode(p) for p in pdu.encode_deliver(sender, text, timestamp=stamp, concat_ref=ref)]
    rng.shuffle(inbound)
    reassembler = Reassembler()
    results = [reassembler.add(message, now=float(i)) for i, message in enumerate(inbound)]
    assert results[-1] == text
    assert all(result is None for result in results[:-1])
    assert len(reassembler) == 0
    assert all(message.sender == sender and message.timestamp == stamp for message in inbound)
    for message in inbound:
        json.dumps(message.as_dict())


@FAST
@given(st.text(st.sampled_from(GSM7_CHARS), min_size=1, max_size=11).filter(
    lambda name: gsm7.septet_length(name) <= 11 and not name.lstrip("+").isdigit()))
def test_alphanumeric_sender_round_trip(name):
    (encoded,) = pdu.encode_deliver(name, "x", timestamp=datetime(2020, 1, 1, tzinfo=timezone.utc))
    message = decode(encoded)
    assert message.sender_toa == pdu.TOA_ALPHANUMERIC
    assert message.sender == name  # the semi-octet count never implies an extra septet


# --------------------------------------------------------------------------
# Field helpers


@FAST
@given(st.text(st.sampled_from("0123456789*#abc"), max_size=20))
def test_semi_octet_round_trip(digits):
    assert pdu.decode_semi_octets(pdu.encode_semi_octets(digits), len(digits)) == digits
    assert pdu.decode_semi_octets(pdu.encode_semi_octets(digits)) == digits


@FAST
@given(
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2089, 12, 31, 23, 59, 59)),
    st.integers(-79, 79),
)
def test_scts_round_trip(moment, quarters):
    aware = moment.replace(microsecond=0, tzinfo=timezone(timedelta(minutes=15 * quarters)))
    decoded = pdu.decode_scts(pdu.encode_scts(aware))
    assert decoded == aware and decoded.utcoffset() == aware.utcoffset()


@pytest.mark.parametrize("code", range(256))
def test_every_relative_validity_code_round_trips(code):
    assert pdu.encode_relative_validity(pdu.decode_relative_validity(code)) == code


@FAST
@given(st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(weeks=63)))
def test_relative_validity_is_the_shortest_code_not_below_the_request(period):
    code = pdu.encode_relative_validity(period)
    assert pdu.decode_relative_validity(code) >= period
    assert code == 0 or pdu.decode_relative_validity(code - 1) < period


# --------------------------------------------------------------------------
# Cross-check against python-messaging


def _oracle_submit(to, text, smsc, validity, status_report, concat_ref, message_ref):
    sms = SmsSubmit(to, text)
    sms.ref = message_ref
    sms.rand_id = concat_ref
    sms.csca = smsc
    sms.validity = validity
    sms.request_status = status_report
    return [(part.pdu, int(part.length)) for part in sms.to_pdu()]


def _with_message_ref(pdu_hex, message_ref):
    index = 2 * (int(pdu_hex[:2], 16) + 2)
    return pdu_hex[:index] + f"{message_ref:02X}" + pdu_hex[index + 2 :]


def _oracle_cuts_an_escape_pair(text):
    septets = gsm7.encode(text)
    if len(septets) <= 160:
        return False
    return any(septets[cut - 1] == gsm7.ESCAPE for cut in range(153, len(septets), 153))


@FAST
@given(
    bmp_text.filter(bool),
    numbers,
    maybe_smsc,
    st.one_of(st.none(), validity_codes.map(pdu.decode_relative_validity)),
    st.booleans(),
    st.integers(0, 255),
    st.integers(0, 255),
)
def test_submit_matches_python_messaging(text, to, smsc, validity, status_report, concat_ref, message_ref):
    if gsm7.is_gsm7(text):
        assume(not _oracle_cuts_an_escape_pair(text))
    else:
        assume("\x1b" not in text)
    ours = encode_submit(
        to, text, smsc=smsc, validity=validity, status_report=status_report,
        concat_ref=concat_ref, message_ref=message_ref,
    )
    theirs = _oracle_submit(to, text, smsc, validity, status_report, concat_ref, message_ref)
    event(f"{count_parts(text)[0]}, {'multipart' if len(ours) > 1 else 'single part'}")
    assert [(_with_message_ref(part.pdu, message_ref), part.tpdu_length) for part in ours] == theirs


@FAST
@given(st.text(st.sampled_from(EXTENSION_CHARS + list("ab")), min_size=161, max_size=500))
def test_oracle_splits_escape_pairs_and_corrupts_text(text):
    assume(_oracle_cuts_an_escape_pair(text))
    theirs = _oracle_submit("+15556661234", text, None, None, False, 0, 0)
    their_text = "".join(decode_submit(pdu_hex).text for pdu_hex, _ in theirs)
    assert their_text != text
    assert _parts_text(encode_submit("+15556661234", text))[0] == text


def test_oracle_shortens_ucs2_parts_ending_in_u001b():
    text = "中" * 66 + "\x1b" + "中" * 10
    theirs = _oracle_submit("+15556661234", text, None, None, False, 0, 0)
    assert len(decode_submit(theirs[0][0]).text) == 66
    ours = encode_submit("+15556661234", text)
    assert decode_submit(ours[0].pdu).text == "中" * 66 + "\x1b"
    assert _parts_text(ours)[0] == text


def test_empty_text_divergence():
    (theirs, _), = _oracle_submit("+15556661234", "", None, None, False, 0, 0)
    assert decode_submit(theirs).encoding == "ucs2"
    assert decode_submit(encode_submit("+15556661234", "")[0].pdu).encoding == "gsm7"


@FAST
@given(bmp_text.filter(bool), numbers, maybe_smsc, st.integers(0, 255))
def test_python_messaging_decodes_our_delivers(text, sender, smsc, ref):
    stamp = datetime(2026, 3, 1, 9, 30, 15, tzinfo=timezone(timedelta(hours=9)))
    for index, pdu_hex in enumerate(pdu.encode_deliver(sender, text, timestamp=stamp, smsc=smsc, concat_ref=ref)):
        theirs = SmsDeliver(pdu_hex)
        ours = decode(pdu_hex)
        assert theirs.text == ours.text
        assert theirs.number == sender
        assert theirs.csca == smsc
        assert theirs.date == stamp.astimezone(timezone.utc).replace(tzinfo=None)
        if ours.concat is not None:
            concat = theirs.udh.concat
            assert (concat.ref, concat.cnt, concat.seq) == (ref, ours.concat.total, index + 1)


def test_encoding_is_deterministic():
    # encode_submit is a pure function: same input, same PDUs (no hidden random refs)
    text = "".join(random.Random(7).choice("abc€中") for _ in range(400))
    assert encode_submit("+1555", text) == encode_submit("+1555", text)
