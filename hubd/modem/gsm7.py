"""GSM 03.38 default alphabet and septet packing (3GPP TS 23.038 §6.1.2).

Texts that fit this alphabet travel as 7-bit septets (160 per SMS); anything
else forces UCS2 (70 per SMS), so knowing exactly which characters fit decides
how many SMS an alert costs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

ESCAPE = 0x1B

# Index = septet value. The escape slot (0x1B) holds a placeholder that no text
# can contain: escape is never a character of its own.
_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x00ÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
assert len(_BASIC) == 128

_EXTENSION = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}

_BASIC_CODE = {char: code for code, char in enumerate(_BASIC) if code != ESCAPE}
_EXTENSION_CODE = {char: code for code, char in _EXTENSION.items()}

BASIC_CHARACTERS = frozenset(_BASIC_CODE)
EXTENSION_CHARACTERS = frozenset(_EXTENSION_CODE)


class NotGsm7Error(ValueError):
    """A character has no GSM 7-bit encoding (the text must go as UCS2)."""


def is_gsm7(text: str) -> bool:
    return all(char in _BASIC_CODE or char in _EXTENSION_CODE for char in text)


def char_septets(char: str) -> int:
    """Septets one character costs: 1, or 2 for an escape pair; 0 if not GSM7."""
    if char in _BASIC_CODE:
        return 1
    if char in _EXTENSION_CODE:
        return 2
    return 0


def septet_length(text: str) -> int:
    """Septets ``text`` needs; extension characters count 2."""
    return len(encode(text))


def encode(text: str) -> list[int]:
    """Text to unpacked septet values, extension characters as ESC + code."""
    septets: list[int] = []
    for position, char in enumerate(text):
        code = _BASIC_CODE.get(char)
        if code is not None:
            septets.append(code)
            continue
        code = _EXTENSION_CODE.get(char)
        if code is None:
            raise NotGsm7Error(f"{char!r} at position {position} is not in the GSM 7-bit alphabet")
        septets.extend((ESCAPE, code))
    return septets


def decode(septets: Iterable[int]) -> str:
    """Septet values to text, never failing on any value 0..127.

    As TS 23.038 asks, an escape followed by a code the extension table lacks
    shows the basic character for that code; the reserved ESC ESC and a
    dangling escape at the end show as a space.
    """
    chars: list[str] = []
    escaped = False
    for value in septets:
        value &= 0x7F
        if escaped:
            escaped = False
            if value == ESCAPE:
                chars.append(" ")
            else:
                chars.append(_EXTENSION.get(value, _BASIC[value]))
        elif value == ESCAPE:
            escaped = True
        else:
            chars.append(_BASIC[value])
    if escaped:
        chars.append(" ")
    return "".join(chars)


def packed_length(septet_count: int, fill_bits: int = 0) -> int:
    """Octets that ``septet_count`` septets occupy after ``fill_bits`` fill bits."""
    return (fill_bits + 7 * septet_count + 7) // 8


def pack(septets: Sequence[int], fill_bits: int = 0) -> bytes:
    """Pack septets LSB-first, after ``fill_bits`` zero bits.

    The fill bits align text to a septet boundary after a user data header,
    which the caller writes over the first octets.
    """
    if not 0 <= fill_bits <= 6:
        raise ValueError(f"fill_bits must be 0..6, got {fill_bits}")
    stream = 0
    for index, value in enumerate(septets):
        if not 0 <= value <= 0x7F:
            raise ValueError(f"septet {index} out of range: {value}")
        stream |= value << (fill_bits + 7 * index)
    return stream.to_bytes(packed_length(len(septets), fill_bits), "little")


def unpack(data: bytes, count: int, fill_bits: int = 0) -> list[int]:
    """Take ``count`` septets from ``data``, skipping ``fill_bits`` leading bits."""
    if count < 0 or not 0 <= fill_bits <= 6:
        raise ValueError(f"bad septet count {count} or fill bits {fill_bits}")
    needed = packed_length(count, fill_bits)
    if len(data) < needed:
        raise ValueError(f"{count} septets need {needed} octets, got {len(data)}")
    stream = int.from_bytes(data[:needed], "little") >> fill_bits
    return [(stream >> (7 * index)) & 0x7F for index in range(count)]
