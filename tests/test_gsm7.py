"""GSM 03.38 alphabet and septet packing (3GPP TS 23.038 §6.1.2, §6.2.1)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hubd.modem import gsm7

ALL_GSM7 = sorted(gsm7.BASIC_CHARACTERS | gsm7.EXTENSION_CHARACTERS)
gsm7_text = st.text(alphabet=st.sampled_from(ALL_GSM7), max_size=200)


def test_alphabet_sizes():
    assert len(gsm7.BASIC_CHARACTERS) == 127  # 128 codes minus the escape
    assert len(gsm7.EXTENSION_CHARACTERS) == 10
    assert not gsm7.BASIC_CHARACTERS & gsm7.EXTENSION_CHARACTERS


@pytest.mark.parametrize(
    "char, code",
    [
        ("@", 0x00), ("£", 0x01), ("$", 0x02), ("¥", 0x03), ("Ç", 0x09), ("\n", 0x0A),
        ("\r", 0x0D), ("Δ", 0x10), ("_", 0x11), ("Ξ", 0x1A), ("É", 0x1F), (" ", 0x20),
        ("¤", 0x24), ("¡", 0x40), ("A", 0x41), ("Ä", 0x5B), ("§", 0x5F), ("¿", 0x60),
        ("a", 0x61), ("ä", 0x7B), ("à", 0x7F),
    ],
)
def test_basic_codes(char, code):
    assert gsm7.encode(char) == [code]
    assert gsm7.decode([code]) == char


@pytest.mark.parametrize(
    "char, code",
    [("\f", 0x0A), ("^", 0x14), ("{", 0x28), ("}", 0x29), ("\\", 0x2F),
     ("[", 0x3C), ("~", 0x3D), ("]", 0x3E), ("|", 0x40), ("€", 0x65)],
)
def test_extension_codes_are_escape_pairs(char, code):
    assert gsm7.encode(char) == [gsm7.ESCAPE, code]
    assert gsm7.decode([gsm7.ESCAPE, code]) == char
    assert gsm7.septet_length(char) == 2


@pytest.mark.parametrize(
    "text, expected",
    [("hello", True), ("", True), ("€[]{}", True), ("BÄRÇA äñ@", True),
     ("ç", False), ("中", False), ("😀", False), ("\x1b", False), ("\t", False), ("`", False)],
)
def test_is_gsm7(text, expected):
    assert gsm7.is_gsm7(text) is expected


def test_septet_length_counts_escapes_twice():
    assert gsm7.septet_length("hello") == 5
    assert gsm7.septet_length("{a}") == 5
    assert gsm7.septet_length("€" * 80) == 160


def test_char_septets():
    assert [gsm7.char_septets(c) for c in "a€中"] == [1, 2, 0]


def test_encoding_a_foreign_character_names_its_position():
    with pytest.raises(gsm7.NotGsm7Error, match="position 2"):
        gsm7.encode("ab中")


def test_unknown_extension_code_shows_basic_character():
    # TS 23.038: an undefined extension shows the default-table character
    assert gsm7.decode([gsm7.ESCAPE, 0x41]) == "A"


def test_reserved_double_escape_and_dangling_escape_show_space():
    assert gsm7.decode([gsm7.ESCAPE, gsm7.ESCAPE, 0x41]) == " A"
    assert gsm7.decode([0x41, gsm7.ESCAPE]) == "A "


def test_pack_reference_hellohello():
    assert gsm7.pack(gsm7.encode("hellohello")).hex().upper() == "E8329BFD4697D9EC37"


def test_pack_hola_and_unpack_back():
    packed = gsm7.pack(gsm7.encode("hola"))
    assert packed.hex().upper() == "E8373B0C"
    assert gsm7.decode(gsm7.unpack(packed, 4)) == "hola"


def test_fill_bits_shift_the_stream():
    assert gsm7.pack([0x41], fill_bits=1) == bytes([0x82])
    assert gsm7.unpack(bytes([0x82]), 1, fill_bits=1) == [0x41]
    # after a 6-octet concatenation header, one fill bit aligns text to septet 7
    assert gsm7.pack([0x7F] * 9, fill_bits=1) == bytes([0xFE] + [0xFF] * 7)


def test_seven_septets_fill_seven_octets_with_zero_spare_bits():
    packed = gsm7.pack([0x7F] * 7)
    assert packed == bytes([0xFF] * 6 + [0x01])


def test_packed_length():
    assert gsm7.packed_length(0) == 0
    assert gsm7.packed_length(8) == 7
    assert gsm7.packed_length(160) == 140
    assert gsm7.packed_length(153, fill_bits=1) == 134


def test_pack_rejects_bad_input():
    with pytest.raises(ValueError):
        gsm7.pack([0x80])
    with pytest.raises(ValueError):
        gsm7.pack([1], fill_bits=7)


def test_unpack_rejects_short_data():
    with pytest.raises(ValueError, match="need"):
        gsm7.unpack(b"\x00", 2)


@settings(max_examples=300)
@given(st.lists(st.integers(0, 0x7F), max_size=170), st.integers(0, 6))
def test_pack_unpack_round_trip(septets, fill_bits):
    packed = gsm7.pack(septets, fill_bits)
    assert len(packed) == gsm7.packed_length(len(septets), fill_bits)
    assert gsm7.unpack(packed, len(septets), fill_bits) == septets
    if packed:  # the fill bits are zero, so a header can be written over them
        assert packed[0] & ((1 << fill_bits) - 1) == 0


@settings(max_examples=300)
@given(gsm7_text)
def test_text_round_trip(text):
    septets = gsm7.encode(text)
    assert len(septets) == gsm7.septet_length(text)
    assert gsm7.decode(septets) == text


@settings(max_examples=200)
@given(st.lists(st.integers(0, 0x7F), max_size=50))
def test_decode_never_fails(septets):
    assert isinstance(gsm7.decode(septets), str)
