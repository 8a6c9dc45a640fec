"""SMS PDU codec (3GPP TS 23.040 TPDUs as AT+CMGS/+CMGR/+CMT/+CDS carry them).

The hub's alerts must leave even when the text holds a resident's name in
kanji or an emoji, so encoding picks GSM7 or UCS2 itself and splits long texts
into concatenated parts that never cut an escape or surrogate pair. Decoding
faces whatever a modem prints, so every malformed input raises
:class:`PduError` naming what broke and where, and nothing else escapes.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Union

from hubd.modem import gsm7

__all__ = [
    "PduError",
    "SubmitPart",
    "Concat",
    "Ports",
    "UserDataHeader",
    "Submit",
    "Deliver",
    "StatusReport",
    "IncompleteMessage",
    "Reassembler",
    "encode_submit",
    "encode_deliver",
    "encode_status_report",
    "count_parts",
    "decode",
    "decode_submit",
    "encode_semi_octets",
    "decode_semi_octets",
    "encode_scts",
    "decode_scts",
    "encode_relative_validity",
    "decode_relative_validity",
]

GSM7_SINGLE_SEPTETS = 160
GSM7_PART_SEPTETS = 153
UCS2_SINGLE_UNITS = 70
UCS2_PART_UNITS = 67
MAX_PARTS = 255
MAX_ADDRESS_DIGITS = 20
MAX_SMSC_OCTETS = 11  # TOA + 10 octets of digits
MAX_UD_OCTETS = 140

TOA_INTERNATIONAL = 0x91
TOA_NATIONAL = 0x81
TOA_ALPHANUMERIC = 0xD0
_TON_INTERNATIONAL = 1
_TON_ALPHANUMERIC = 5

_MTI_DELIVER = 0
_MTI_SUBMIT = 1
_MTI_STATUS_REPORT = 2

_NUMBER = re.compile(r"\+?[0-9]{1,20}")
_SEMI_OCTET_DIGITS = "0123456789*#abc"
_FILLER = 0xF
_YEAR_PIVOT = 90  # YY >= 90 is 19YY: SMS began in the 1990s; vector D8 is from 1998


class PduError(ValueError):
    """A PDU that cannot be decoded; ``offset`` is the octet where it broke."""

    def __init__(self, reason: str, offset: int | None = None):
        self.reason = reason
        self.offset = offset
        where = "" if offset is None else f" at octet {offset}"
        super().__init__(f"{reason}{where}")


# --------------------------------------------------------------------------
# Semi-octets, timestamps, validity periods


def encode_semi_octets(digits: str) -> bytes:
    """Digits as swapped nibbles, F-padded: ``15125551234`` -> ``51 21 55 15 32 F4``."""
    nibbles = []
    for position, char in enumerate(digits):
        index = _SEMI_OCTET_DIGITS.find(char)
        if index < 0:
            raise ValueError(f"{char!r} at position {position} is not a semi-octet digit")
        nibbles.append(index)
    if len(nibbles) % 2:
        nibbles.append(_FILLER)
    return bytes(nibbles[i] | (nibbles[i + 1] << 4) for i in range(0, len(nibbles), 2))


def decode_semi_octets(data: bytes, digit_count: int | None = None) -> str:
    """Swapped nibbles to digits; an F is allowed only as the final filler."""
    nibbles = []
    for octet in data:
        nibbles.extend((octet & 0x0F, octet >> 4))
    if digit_count is None:
        digit_count = len(nibbles) - 1 if nibbles and nibbles[-1] == _FILLER else len(nibbles)
    if digit_count > len(nibbles):
        raise PduError(f"{digit_count} digits announced but only {len(nibbles)} present")
    digits = []
    for position, nibble in enumerate(nibbles):
        if position < digit_count:
            if nibble == _FILLER:
                raise PduError(f"filler nibble F inside the number at digit {position}")
            digits.append(_SEMI_OCTET_DIGITS[nibble])
        elif nibble != _FILLER:
            raise PduError(f"digit after the announced {digit_count} digits (expected filler F)")
    return "".join(digits)


def _bcd_pair(value: int) -> int:
    return (value % 10) << 4 | (value // 10)


def encode_scts(moment: datetime) -> bytes:
    """A timezone-aware moment as a 7-octet TP-SCTS (also absolute TP-VP)."""
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError("SCTS needs a timezone-aware datetime")
    quarters, remainder = divmod(abs(offset), timedelta(minutes=15))
    if remainder or quarters > 79:
        raise ValueError(f"UTC offset {offset} is not a whole number of quarter hours up to 19:45")
    if not 1900 + _YEAR_PIVOT <= moment.year < 2000 + _YEAR_PIVOT:
        raise ValueError(f"year {moment.year} outside {1900 + _YEAR_PIVOT}..{1999 + _YEAR_PIVOT}")
    fields = (moment.year % 100, moment.month, moment.day, moment.hour, moment.minute, moment.second)
    zone = _bcd_pair(quarters) | (0x08 if offset < timedelta(0) else 0)
    return bytes(_bcd_pair(value) for value in fields) + bytes([zone])


def _swapped_decimals(data: bytes) -> list[int]:
    """Octets holding two swapped decimal digits each (``21`` is 12)."""
    values = []
    for index, octet in enumerate(data):
        tens, units = octet & 0x0F, octet >> 4
        if tens > 9 or units > 9:
            raise PduError(f"octet {index} ({octet:02X}) is not two decimal digits")
        values.append(tens * 10 + units)
    return values


def decode_scts(data: bytes) -> datetime:
    """7 octets of TP-SCTS to an aware datetime (zone in quarter hours, sign in bit 3)."""
    if len(data) != 7:
        raise PduError(f"a timestamp is 7 octets, got {len(data)}")
    values = _swapped_decimals(data[:6])
    zone = data[6]
    tens, units, negative = zone & 0x07, zone >> 4, bool(zone & 0x08)
    if units > 9:
        raise PduError(f"timezone octet {zone:02X} is not decimal")
    offset = timedelta(minutes=15 * (tens * 10 + units))
    year = values[0] + (1900 if values[0] >= _YEAR_PIVOT else 2000)
    try:
        return datetime(year, *values[1:], tzinfo=timezone(-offset if negative else offset))
    except ValueError as error:
        raise PduError(f"impossible timestamp {data.hex().upper()}: {error}") from None


_FIVE_MINUTES = timedelta(minutes=5)
_HALF_HOUR = timedelta(minutes=30)
_HALF_DAY = timedelta(hours=12)
_DAY = timedelta(days=1)
_WEEK = timedelta(weeks=1)


def decode_relative_validity(code: int) -> timedelta:
    """TP-VP relative format (TS 23.040 §9.2.3.12.1) to a duration."""
    if not 0 <= code <= 255:
        raise ValueError(f"relative validity code must be 0..255, got {code}")
    if code <= 143:
        return (code + 1) * _FIVE_MINUTES
    if code <= 167:
        return _HALF_DAY + (code - 143) * _HALF_HOUR
    if code <= 196:
        return (code - 166) * _DAY
    return (code - 192) * _WEEK


def _ceil_div(period: timedelta, unit: timedelta) -> int:
    return -(-period // unit)


def encode_relative_validity(period: timedelta) -> int:
    """The shortest relative TP-VP that is at least ``period``.

    Rounding up keeps an alert alive at the SMSC for no less than was asked.
    """
    if period <= timedelta(0) or period > 63 * _WEEK:
        raise ValueError(f"validity must be above 0 and at most 63 weeks, got {period}")
    if period <= _HALF_DAY:
        return max(_ceil_div(period, _FIVE_MINUTES) - 1, 0)
    if period <= _DAY:
        return 143 + _ceil_div(period - _HALF_DAY, _HALF_HOUR)
    if period <= 30 * _DAY:
        return 166 + _ceil_div(period, _DAY)
    return 192 + _ceil_div(period, _WEEK)


# --------------------------------------------------------------------------
# Decoded data


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        return int(seconds) if seconds.is_integer() else seconds
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex().upper()
    if dataclasses.is_dataclass(value):
        return value.as_dict()
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return value


def _fields_as_dict(record: Any) -> dict[str, Any]:
    return {field.name: _jsonable(getattr(record, field.name)) for field in dataclasses.fields(record)}


@dataclass(frozen=True)
class SubmitPart:
    """One SMS-SUBMIT to send: ``AT+CMGS=<tpdu_length>`` then ``pdu``."""

    pdu: str
    tpdu_length: int


@dataclass(frozen=True)
class Concat:
    """Concatenation IE: part ``seq`` of ``total`` of message ``ref``."""

    ref: int
    total: int
    seq: int
    ref_bits: int = 8

    def as_dict(self) -> dict[str, Any]:
        return _fields_as_dict(self)


@dataclass(frozen=True)
class Ports:
    """Application port addressing IE (WAP push and the like)."""

    destination: int
    origin: int
    bits: int

    def as_dict(self) -> dict[str, Any]:
        return _fields_as_dict(self)


@dataclass(frozen=True)
class UserDataHeader:
    elements: tuple[tuple[int, bytes], ...]
    concat: Concat | None = None
    ports: Ports | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "elements": [{"iei": iei, "data": data.hex().upper()} for iei, data in self.elements],
            "concat": _jsonable(self.concat),
            "ports": _jsonable(self.ports),
        }


class _HasUserData:
    udh: UserDataHeader | None

    @property
    def concat(self) -> Concat | None:
        return self.udh.concat if self.udh else None


@dataclass(frozen=True)
class Deliver(_HasUserData):
    """An SMS-DELIVER: a message the hub received."""

    smsc: str | None
    sender: str
    sender_toa: int
    timestamp: datetime
    pid: int
    dcs: int
    encoding: str
    text: str
    message_class: int | None = None
    udh: UserDataHeader | None = None
    binary: bytes | None = None
    more_messages: bool = False
    reply_path: bool = False
    status_report_indication: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"type": "deliver", **_fields_as_dict(self)}


Validity = Union[timedelta, datetime, None]


@dataclass(frozen=True)
class Submit(_HasUserData):
    """An SMS-SUBMIT, as the hub sends it (decoded by the modem emulator)."""

    smsc: str | None
    recipient: str
    recipient_toa: int
    message_ref: int
    pid: int
    dcs: int
    encoding: str
    text: str
    validity: Validity = None
    message_class: int | None = None
    udh: UserDataHeader | None = None
    binary: bytes | None = None
    status_report_request: bool = False
    reject_duplicates: bool = False
    reply_path: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"type": "submit", **_fields_as_dict(self)}


@dataclass(frozen=True)
class StatusReport(_HasUserData):
    """An SMS-STATUS-REPORT: what became of the message with ``message_ref``."""

    smsc: str | None
    message_ref: int
    recipient: str
    recipient_toa: int
    timestamp: datetime
    discharge_time: datetime
    status: int
    more_messages: bool = False
    for_command: bool = False
    pid: int | None = None
    dcs: int | None = None
    encoding: str | None = None
    text: str = ""
    udh: UserDataHeader | None = None
    binary: bytes | None = None

    @property
    def outcome(self) -> str:
        """TS 23.040 §9.2.3.15 status class: does the SMSC still try?"""
        if self.status <= 0x1F:
            return "delivered"
        if self.status <= 0x3F:
            return "retrying"
        if self.status <= 0x5F:
            return "failed"
        if self.status <= 0x7F:
            return "gave_up"
        return "reserved"

    @property
    def delivered(self) -> bool:
        return self.status == 0x00

    def as_dict(self) -> dict[str, Any]:
        return {"type": "status_report", **_fields_as_dict(self), "outcome": self.outcome}


# --------------------------------------------------------------------------
# Encoding


def _encode_number(number: str) -> tuple[int, str]:
    if not _NUMBER.fullmatch(number):
        raise ValueError(f"not a phone number (digits with optional leading +, at most 20): {number!r}")
    if number.startswith("+"):
        return TOA_INTERNATIONAL, number[1:]
    return TOA_NATIONAL, number


def _encode_address(number: str) -> bytes:
    """TP-DA/TP-OA: length in digits, TOA, digits."""
    toa, digits = _encode_number(number)
    return bytes([len(digits), toa]) + encode_semi_octets(digits)


def _encode_alphanumeric_address(name: str) -> bytes:
    septets = gsm7.encode(name)
    useful_semi_octets = -(-7 * len(septets) // 4)
    if useful_semi_octets > MAX_ADDRESS_DIGITS:
        raise ValueError(f"alphanumeric address {name!r} is longer than 11 septets")
    return bytes([useful_semi_octets, TOA_ALPHANUMERIC]) + gsm7.pack(septets)


def _encode_smsc(smsc: str | None) -> bytes:
    """SCA: length in octets including the TOA; 00 = the modem's stored SMSC."""
    if smsc is None:
        return b"\x00"
    toa, digits = _encode_number(smsc)
    body = bytes([toa]) + encode_semi_octets(digits)
    return bytes([len(body)]) + body


def _check_octet(value: int, name: str) -> None:
    if not 0 <= value <= 0xFF:
        raise ValueError(f"{name} must be 0..255, got {value}")


def _utf16_units(char: str) -> int:
    return 2 if ord(char) > 0xFFFF else 1


def _split(text: str, cost: Callable[[str], int], single: int, per_part: int) -> list[str]:
    """Cut ``text`` between characters, so pairs (escape, surrogate) stay whole."""
    if sum(cost(char) for char in text) <= single:
        return [text]
    chunks: list[str] = []
    start, used = 0, 0
    for index, char in enumerate(text):
        if used + cost(char) > per_part:
            chunks.append(text[start:index])
            start, used = index, 0
        used += cost(char)
    chunks.append(text[start:])
    return chunks


def split_text(text: str) -> tuple[str, list[str]]:
    """('gsm7' | 'ucs2', the text of each SMS part): one part when it fits, else concatenated parts."""
    if gsm7.is_gsm7(text):
        return "gsm7", _split(text, gsm7.char_septets, GSM7_SINGLE_SEPTETS, GSM7_PART_SEPTETS)
    return "ucs2", _split(text, _utf16_units, UCS2_SINGLE_UNITS, UCS2_PART_UNITS)


def count_parts(text: str) -> tuple[str, int]:
    """('gsm7' | 'ucs2', how many SMS ``text`` costs)."""
    encoding, chunks = split_text(text)
    return encoding, len(chunks)


def _concat_header(ref: int, total: int, seq: int) -> bytes:
    return bytes([0x05, 0x00, 0x03, ref, total, seq])


def _user_data(encoding: str, chunk: str, header: bytes) -> tuple[int, bytes]:
    """(TP-UDL, TP-UD) for one part; GSM7 text starts on a septet boundary after the header."""
    if encoding == "gsm7":
        header_septets = -(-8 * len(header) // 7)
        fill_bits = 7 * header_septets - 8 * len(header)
        septets = gsm7.encode(chunk)
        return header_septets + len(septets), header + gsm7.pack(septets, fill_bits)
    try:
        body = chunk.encode("utf-16-be")
    except UnicodeEncodeError as error:
        raise ValueError(f"text holds a lone surrogate at position {error.start}") from None
    return len(header) + len(body), header + body


def _encode_parts(text: str, concat_ref: int) -> tuple[int, list[tuple[int, bytes]]]:
    """(DCS, [(UDL, UD), ...]); more than one part means the UDHI bit is needed."""
    _check_octet(concat_ref, "concat_ref")
    encoding, chunks = split_text(text)
    if len(chunks) > MAX_PARTS:
        raise ValueError(f"text needs {len(chunks)} parts; at most {MAX_PARTS} fit one concatenated SMS")
    dcs = 0x00 if encoding == "gsm7" else 0x08
    if len(chunks) == 1:
        return dcs, [_user_data(encoding, chunks[0], b"")]
    total = len(chunks)
    return dcs, [
        _user_data(encoding, chunk, _concat_header(concat_ref, total, seq))
        for seq, chunk in enumerate(chunks, start=1)
    ]


def encode_submit(
    to: str,
    text: str,
    *,
    smsc: str | None = None,
    status_report: bool = False,
    validity: timedelta | None = None,
    concat_ref: int = 0,
    message_ref: int = 0,
) -> list[SubmitPart]:
    """SMS-SUBMIT PDUs for ``text``, one per part.

    Part ``n`` carries TP-MR ``message_ref + n - 1`` (mod 256): TS 23.040
    §9.2.3.6 wants a new MR per SUBMIT, and status reports are matched by it.
    """
    _check_octet(message_ref, "message_ref")
    sca = _encode_smsc(smsc)
    destination = _encode_address(to)
    validity_octets = b"" if validity is None else bytes([encode_relative_validity(validity)])
    dcs, user_data = _encode_parts(text, concat_ref)
    first_octet = (
        _MTI_SUBMIT
        | (0x10 if validity is not None else 0)
        | (0x20 if status_report else 0)
        | (0x40 if len(user_data) > 1 else 0)
    )
    parts = []
    for index, (udl, ud) in enumerate(user_data):
        tpdu = (
            bytes([first_octet, (message_ref + index) & 0xFF])
            + destination
            + bytes([0x00, dcs])
            + validity_octets
            + bytes([udl])
            + ud
        )
        parts.append(SubmitPart(pdu=(sca + tpdu).hex().upper(), tpdu_length=len(tpdu)))
    return parts


def encode_deliver(
    sender: str,
    text: str,
    *,
    timestamp: datetime,
    smsc: str | None = None,
    concat_ref: int = 0,
    alphanumeric_sender: bool = False,
) -> list[str]:
    """SMS-DELIVER PDUs (with SCA), one per part: what a modem shows for an inbound SMS.

    The hub never sends these; the modem emulator and tests need them. A
    ``sender`` that is not a number (or any sender, with ``alphanumeric_sender``:
    a sender ID of digits only) becomes an alphanumeric (TOA D0) address.
    """
    sca = _encode_smsc(smsc)
    if _NUMBER.fullmatch(sender) and not alphanumeric_sender:
        origin = _encode_address(sender)
    else:
        origin = _encode_alphanumeric_address(sender)
    dcs, user_data = _encode_parts(text, concat_ref)
    first_octet = _MTI_DELIVER | 0x04 | (0x40 if len(user_data) > 1 else 0)  # 0x04: no more messages
    scts = encode_scts(timestamp)
    return [
        (sca + bytes([first_octet]) + origin + bytes([0x00, dcs]) + scts + bytes([udl]) + ud).hex().upper()
        for udl, ud in user_data
    ]


def encode_status_report(
    recipient: str,
    message_ref: int,
    status: int,
    *,
    timestamp: datetime,
    discharge_time: datetime,
    smsc: str | None = None,
) -> str:
    """An SMS-STATUS-REPORT PDU (with SCA), as ``+CDS`` shows it; for the emulator and tests."""
    _check_octet(message_ref, "message_ref")
    _check_octet(status, "status")
    body = (
        bytes([0x06, message_ref])  # MTI 10, no more messages
        + _encode_address(recipient)
        + encode_scts(timestamp)
        + encode_scts(discharge_time)
        + bytes([status])
    )
    return (_encode_smsc(smsc) + body).hex().upper()


# --------------------------------------------------------------------------
# Decoding


class _Reader:
    """Octets consumed front to back; errors carry the offset where they broke."""

    def __init__(self, data: bytes):
        self.data = data
        self.offset = 0

    @property
    def remaining(self) -> int:
        return len(self.data) - self.offset

    def octet(self, what: str) -> int:
        return self.take(1, what)[0]

    def take(self, count: int, what: str) -> bytes:
        if count > self.remaining:
            raise PduError(f"{what}: needs {count} octets, only {self.remaining} left", self.offset)
        chunk = self.data[self.offset : self.offset + count]
        self.offset += count
        return chunk

    def guard(self, what: str, offset: int, decoder: Callable[[], Any]) -> Any:
        """Run ``decoder``, re-raising its complaint as a PduError located at ``offset``."""
        try:
            return decoder()
        except PduError as error:
            raise PduError(f"{what}: {error.reason}", offset) from None
        except ValueError as error:  # gsm7 unpacking
            raise PduError(f"{what}: {error}", offset) from None

    def expect_end(self, what: str) -> None:
        if self.remaining:
            raise PduError(f"{self.remaining} unexpected octets after the {what}", self.offset)


def _hex_to_octets(pdu_hex: str | bytes) -> bytes:
    if isinstance(pdu_hex, (bytes, bytearray)):
        try:
            pdu_hex = bytes(pdu_hex).decode("ascii")
        except UnicodeDecodeError as error:
            raise PduError(f"non-ASCII byte in PDU text at character {error.start}") from None
    if not isinstance(pdu_hex, str):
        raise PduError(f"PDU must be hex text, got {type(pdu_hex).__name__}")
    text = pdu_hex.strip()
    if not text:
        raise PduError("empty PDU")
    for position, char in enumerate(text):
        if char not in "0123456789abcdefABCDEF":
            raise PduError(f"{char!r} at character {position} is not hexadecimal")
    if len(text) % 2:
        raise PduError(f"odd number of hex digits ({len(text)})")
    return bytes.fromhex(text)


def _read_smsc(reader: _Reader) -> str | None:
    start = reader.offset
    length = reader.octet("SMSC address length")
    if length == 0:
        return None
    if length > MAX_SMSC_OCTETS:
        raise PduError(f"SMSC address length {length} exceeds {MAX_SMSC_OCTETS} octets", start)
    toa = reader.octet("SMSC type of address")
    digits = reader.take(length - 1, "SMSC address")
    number = reader.guard("SMSC address", start + 2, lambda: decode_semi_octets(digits))
    if not number:
        return None
    return "+" + number if (toa >> 4) & 0x07 == _TON_INTERNATIONAL else number


def _read_address(reader: _Reader, what: str) -> tuple[str, int]:
    """TP-OA/DA/RA: (number or alphanumeric name, TOA octet)."""
    start = reader.offset
    length = reader.octet(f"{what} length")
    if length > MAX_ADDRESS_DIGITS:
        raise PduError(f"{what} length {length} exceeds {MAX_ADDRESS_DIGITS} digits", start)
    toa = reader.octet(f"{what} type of address")
    raw = reader.take((length + 1) // 2, what)
    type_of_number = (toa >> 4) & 0x07
    if type_of_number == _TON_ALPHANUMERIC:
        name = reader.guard(what, start + 2, lambda: gsm7.decode(gsm7.unpack(raw, 4 * length // 7)))
        return name, toa
    number = reader.guard(what, start + 2, lambda: decode_semi_octets(raw, length))
    international = type_of_number == _TON_INTERNATIONAL and number
    return ("+" + number if international else number), toa


def _read_timestamp(reader: _Reader, what: str) -> datetime:
    start = reader.offset
    raw = reader.take(7, what)
    return reader.guard(what, start, lambda: decode_scts(raw))


def _read_validity(reader: _Reader, format_bits: int) -> Validity:
    if format_bits == 0b00:
        return None
    if format_bits == 0b10:
        return decode_relative_validity(reader.octet("TP-VP"))
    if format_bits == 0b11:
        return _read_timestamp(reader, "TP-VP (absolute)")
    return _read_enhanced_validity(reader)


def _read_enhanced_validity(reader: _Reader) -> Validity:
    """TS 23.040 §9.2.3.12.3: a functionality octet and six more."""
    start = reader.offset
    raw = reader.take(7, "TP-VP (enhanced)")
    form = raw[0] & 0x07
    if form == 0b000:
        return None
    if form == 0b001:
        return decode_relative_validity(raw[1])
    if form == 0b010:
        return timedelta(seconds=raw[1])
    if form == 0b011:
        hours, minutes, seconds = reader.guard(
            "TP-VP (enhanced)", start + 1, lambda: _swapped_decimals(raw[1:4])
        )
        return timedelta(hours=hours, minutes=minutes, seconds=seconds)
    raise PduError(f"reserved enhanced validity format {form}", start)


def _interpret_dcs(dcs: int) -> tuple[str, int | None]:
    """TS 23.038 §4: (alphabet, message class). Reserved codings mean GSM7, as the spec says."""
    group = dcs >> 4
    if group <= 0x7:  # general data coding, with or without automatic deletion
        message_class = dcs & 0x03 if dcs & 0x10 else None
        if dcs & 0x20:
            return "compressed", message_class
        return ("gsm7", "8bit", "ucs2", "gsm7")[(dcs >> 2) & 0x03], message_class
    if group == 0xE:  # message waiting indication, UCS2
        return "ucs2", None
    if group == 0xF:
        return ("8bit" if dcs & 0x04 else "gsm7"), dcs & 0x03
    return "gsm7", None  # reserved groups and message waiting indication, GSM7


def _parse_udh(data: bytes, start: int) -> UserDataHeader:
    """Information elements; a concatenation IE with impossible numbers is ignored (§9.2.3.24.1)."""
    elements = []
    concat = None
    ports = None
    index = 0
    while index < len(data):
        if index + 2 > len(data):
            raise PduError("UDH information element header cut short", start + index)
        iei, length = data[index], data[index + 1]
        body = data[index + 2 : index + 2 + length]
        if len(body) < length:
            raise PduError(f"UDH element {iei:02X} claims {length} octets, only {len(body)} left", start + index)
        expected = {0x00: 3, 0x08: 4, 0x04: 2, 0x05: 4}.get(iei)
        if expected is not None and length != expected:
            raise PduError(f"UDH element {iei:02X} must be {expected} octets, is {length}", start + index)
        if iei in (0x00, 0x08):
            ref = body[0] if iei == 0x00 else body[0] << 8 | body[1]
            total, seq = body[-2], body[-1]
            if total and 1 <= seq <= total:
                concat = Concat(ref=ref, total=total, seq=seq, ref_bits=8 if iei == 0x00 else 16)
        elif iei == 0x04:
            ports = Ports(destination=body[0], origin=body[1], bits=8)
        elif iei == 0x05:
            ports = Ports(destination=body[0] << 8 | body[1], origin=body[2] << 8 | body[3], bits=16)
        elements.append((iei, bytes(body)))
        index += 2 + length
    return UserDataHeader(elements=tuple(elements), concat=concat, ports=ports)


@dataclass(frozen=True)
class _UserData:
    text: str
    binary: bytes | None
    udh: UserDataHeader | None


def _read_user_data(reader: _Reader, encoding: str, has_header: bool) -> _UserData:
    udl_offset = reader.offset
    udl = reader.octet("TP-UDL")
    if encoding == "gsm7":
        if udl > GSM7_SINGLE_SEPTETS:
            raise PduError(f"TP-UDL {udl} exceeds {GSM7_SINGLE_SEPTETS} septets", udl_offset)
        octet_count = gsm7.packed_length(udl)
    else:
        if udl > MAX_UD_OCTETS:
            raise PduError(f"TP-UDL {udl} exceeds {MAX_UD_OCTETS} octets", udl_offset)
        octet_count = udl
    ud_offset = reader.offset
    ud = reader.take(octet_count, "TP-UD")

    header_length = 0
    udh = None
    if has_header:
        if not ud:
            raise PduError("UDHI set but the user data is empty", ud_offset)
        header_length = ud[0] + 1
        if header_length > len(ud):
            raise PduError(f"UDH length {ud[0]} runs past the user data", ud_offset)
        udh = _parse_udh(ud[1:header_length], ud_offset + 1)
    body = ud[header_length:]
    body_offset = ud_offset + header_length

    if encoding == "gsm7":
        header_septets = -(-8 * header_length // 7)
        if header_septets > udl:
            raise PduError(f"UDH of {header_length} octets does not fit TP-UDL {udl} septets", ud_offset)
        fill_bits = 7 * header_septets - 8 * header_length
        septets = reader.guard("TP-UD", body_offset, lambda: gsm7.unpack(body, udl - header_septets, fill_bits))
        return _UserData(gsm7.decode(septets), None, udh)
    if encoding == "ucs2":
        if len(body) % 2:
            raise PduError(f"UCS2 text of odd length {len(body)}", body_offset)
        return _UserData(body.decode("utf-16-be", "surrogatepass"), None, udh)
    return _UserData("", bytes(body), udh)


def _decode_deliver(reader: _Reader, smsc: str | None, first_octet: int) -> Deliver:
    sender, sender_toa = _read_address(reader, "TP-OA")
    pid = reader.octet("TP-PID")
    dcs = reader.octet("TP-DCS")
    encoding, message_class = _interpret_dcs(dcs)
    timestamp = _read_timestamp(reader, "TP-SCTS")
    user_data = _read_user_data(reader, encoding, bool(first_octet & 0x40))
    reader.expect_end("user data")
    return Deliver(
        smsc=smsc,
        sender=sender,
        sender_toa=sender_toa,
        timestamp=timestamp,
        pid=pid,
        dcs=dcs,
        encoding=encoding,
        text=user_data.text,
        message_class=message_class,
        udh=user_data.udh,
        binary=user_data.binary,
        more_messages=not first_octet & 0x04,
        reply_path=bool(first_octet & 0x80),
        status_report_indication=bool(first_octet & 0x20),
    )


def _decode_submit(reader: _Reader, smsc: str | None, first_octet: int) -> Submit:
    message_ref = reader.octet("TP-MR")
    recipient, recipient_toa = _read_address(reader, "TP-DA")
    pid = reader.octet("TP-PID")
    dcs = reader.octet("TP-DCS")
    encoding, message_class = _interpret_dcs(dcs)
    validity = _read_validity(reader, (first_octet >> 3) & 0x03)
    user_data = _read_user_data(reader, encoding, bool(first_octet & 0x40))
    reader.expect_end("user data")
    return Submit(
        smsc=smsc,
        recipient=recipient,
        recipient_toa=recipient_toa,
        message_ref=message_ref,
        pid=pid,
        dcs=dcs,
        encoding=encoding,
        text=user_data.text,
        validity=validity,
        message_class=message_class,
        udh=user_data.udh,
        binary=user_data.binary,
        status_report_request=bool(first_octet & 0x20),
        reject_duplicates=bool(first_octet & 0x04),
        reply_path=bool(first_octet & 0x80),
    )


def _decode_status_report(reader: _Reader, smsc: str | None, first_octet: int) -> StatusReport:
    message_ref = reader.octet("TP-MR")
    recipient, recipient_toa = _read_address(reader, "TP-RA")
    timestamp = _read_timestamp(reader, "TP-SCTS")
    discharge_time = _read_timestamp(reader, "TP-DT")
    status = reader.octet("TP-ST")
    optional: dict[str, Any] = {}
    if reader.remaining:  # TP-PI and what it announces (§9.2.3.27)
        indicator = reader.octet("TP-PI")
        extension = indicator
        while extension & 0x80:
            extension = reader.octet("TP-PI extension")
        if indicator & 0x01:
            optional["pid"] = reader.octet("TP-PID")
        if indicator & 0x02:
            optional["dcs"] = reader.octet("TP-DCS")
        if indicator & 0x04:
            encoding, _ = _interpret_dcs(optional.get("dcs", 0))
            user_data = _read_user_data(reader, encoding, bool(first_octet & 0x40))
            optional.update(encoding=encoding, text=user_data.text, udh=user_data.udh, binary=user_data.binary)
    reader.expect_end("status report")
    return StatusReport(
        smsc=smsc,
        message_ref=message_ref,
        recipient=recipient,
        recipient_toa=recipient_toa,
        timestamp=timestamp,
        discharge_time=discharge_time,
        status=status,
        more_messages=not first_octet & 0x04,
        for_command=bool(first_octet & 0x20),
        **optional,
    )


_DECODERS = {
    _MTI_DELIVER: _decode_deliver,
    _MTI_SUBMIT: _decode_submit,
    _MTI_STATUS_REPORT: _decode_status_report,
}


def decode(pdu_hex: str) -> Deliver | StatusReport | Submit:
    """Decode a PDU that starts with the SCA, as +CMGR/+CMT/+CDS print it.

    The message type comes from TP-MTI alone, read in the direction each type
    travels: 00 DELIVER, 01 SUBMIT, 10 STATUS-REPORT.
    """
    reader = _Reader(_hex_to_octets(pdu_hex))
    smsc = _read_smsc(reader)
    first_octet = reader.octet("first octet")
    kind = first_octet & 0x03
    if kind not in _DECODERS:
        raise PduError("reserved message type TP-MTI 11", reader.offset - 1)
    return _DECODERS[kind](reader, smsc, first_octet)


def decode_submit(pdu_hex: str) -> Submit:
    """Decode an SMS-SUBMIT (with SCA), refusing any other type."""
    message = decode(pdu_hex)
    if not isinstance(message, Submit):
        raise PduError(f"not an SMS-SUBMIT but a {type(message).__name__}")
    return message


# --------------------------------------------------------------------------
# Reassembly


@dataclass(frozen=True)
class IncompleteMessage:
    """A multipart message given up on: what arrived, for the log."""

    sender: str
    ref: int
    total: int
    received: tuple[int, ...]
    partial_text: str
    first_seen: float

    def as_dict(self) -> dict[str, Any]:
        return _fields_as_dict(self)


@dataclass
class _Group:
    first_seen: float
    parts: dict[int, str]


def _join_utf16(texts: list[str]) -> str:
    """Join parts, re-pairing a surrogate pair that a foreign sender split across them."""
    return "".join(texts).encode("utf-16-be", "surrogatepass").decode("utf-16-be", "surrogatepass")


class Reassembler:
    """Joins concatenated SMS by (sender, ref width, ref, total), whatever SMSC each part used.

    A group expires ``timeout`` seconds after its first part arrived. Time is
    passed in as a monotonic float so tests and replays drive it.
    """

    def __init__(self, timeout: float = 600.0):
        self.timeout = timeout
        self._groups: dict[tuple[str, int, int, int], _Group] = {}
        self._stale: list[IncompleteMessage] = []

    def __len__(self) -> int:
        return len(self._groups)

    def add(self, deliver: Deliver, now: float) -> str | None:
        """The whole text once the last missing part arrives, else None.

        A message without concatenation is complete at once. A repeated part
        is ignored. A group found stale here is set aside for :meth:`expire`.
        """
        concat = deliver.concat
        if concat is None or concat.total == 1:
            return deliver.text
        key = (deliver.sender, concat.ref_bits, concat.ref, concat.total)
        group = self._groups.get(key)
        if group is not None and now - group.first_seen > self.timeout:
            self._stale.append(self._incomplete(key, group))
            group = None
        if group is None:
            group = self._groups[key] = _Group(first_seen=now, parts={})
        group.parts.setdefault(concat.seq, deliver.text)
        if len(group.parts) < concat.total:
            return None
        del self._groups[key]
        return _join_utf16([group.parts[seq] for seq in range(1, concat.total + 1)])

    def expire(self, now: float) -> list[IncompleteMessage]:
        """Drop groups older than the timeout and return them (and any set aside by add)."""
        dropped, self._stale = self._stale, []
        for key, group in list(self._groups.items()):
            if now - group.first_seen > self.timeout:
                dropped.append(self._incomplete(key, group))
                del self._groups[key]
        return dropped

    @staticmethod
    def _incomplete(key: tuple[str, int, int, int], group: _Group) -> IncompleteMessage:
        sender, _, ref, total = key
        received = tuple(sorted(group.parts))
        return IncompleteMessage(
            sender=sender,
            ref=ref,
            total=total,
            received=received,
            partial_text=_join_utf16([group.parts[seq] for seq in received]),
            first_seen=group.first_seen,
        )
