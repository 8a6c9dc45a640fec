"""The SMS tag: the desk reads a hub's texts by it alone, so it must round-trip and refuse damage clearly."""

import pytest
from hypothesis import given, strategies as st

from hubd import sms_tag as tag
from hubd.core.messages import TEMPLATES
from hubd.sms_tag import CODES, Tag, TagError, parse, tagged

flats = st.from_regex(tag.FLAT, fullmatch=True)
kinds = st.sampled_from(sorted(CODES) + [f"resolved:{k}" for k in sorted(CODES)] + ["resolved"])
human = st.text(max_size=200)


@given(human, flats, kinds, st.none() | st.integers(0, tag.MAX_SEQ), st.integers(1, tag.MAX_SEQ))
def test_a_tag_round_trips_whatever_the_human_text(text, flat, kind, alert, seq):
    sent = tagged(text, Tag(flat, kind, alert, seq))
    words, got = parse(sent)
    assert words == text or (words == text[:-1] and text.endswith(" ") and not text.isascii())
    assert got == Tag(flat, kind, alert, seq)


@given(st.text(max_size=300))
def test_any_text_either_parses_or_is_refused_with_tag_error(text):
    try:
        words, got = parse(text)
    except TagError as exc:
        assert str(exc)
    else:
        assert text == words + got.text()


@pytest.mark.parametrize("text, why", [
    ("hubd A-101: alive", "no hub tag"),
    ("hubd A-101: alive #A-101.hb.0", "no hub tag"),  # sequence numbers start at 1
    ("hubd A-101: alive #A-101.zz.5", "unknown message code"),
    ("hubd A-101: alive #A-101.hb.5 ", "no hub tag"),  # anything after the tag: not ours
    ("hubd A-101: alive #A.101.hb.5x", "no hub tag"),
    ("hubd A-101: alive #A-101.hb.5 #", "no hub tag"),
])
def test_damaged_tags_are_refused_with_the_reason(text, why):
    with pytest.raises(TagError, match=why):
        parse(text)


def test_japanese_texts_carry_the_tag_without_a_space_and_english_ones_with_one():
    assert tagged("hubd A-101: 2時間5分活動なし。警報12。ACK 12で応答", Tag("A-101", "inactivity", 12, 3)).endswith(
        "で応答#A-101.in12.3")
    assert tagged("hubd A-101: alive", Tag("A-101", "heartbeat", None, 3)) == "hubd A-101: alive #A-101.hb.3"
    assert parse("hubd A-101: 稼働中#A-101.hb.3") == ("hubd A-101: 稼働中", Tag("A-101", "heartbeat", None, 3))


def test_the_documented_example_reads_as_documented():
    words, got = parse("hubd A-101: no activity for 2h05m. Alert 12. Reply ACK 12 #A-101.in12.345")
    assert words == "hubd A-101: no activity for 2h05m. Alert 12. Reply ACK 12"
    assert got == Tag("A-101", "inactivity", 12, 345)
    assert parse("x #B-7.rin12.3")[1].kind == "resolved:inactivity"
    assert parse("x #B-7.hb.3")[1].alert_id is None


def test_every_text_the_hub_sends_has_a_code_and_codes_are_unique():
    sent = {k.split(":")[1] if k.startswith("resolved:") else k for k in TEMPLATES["en"]} - {"resolved"}
    assert sent <= set(CODES), sent - set(CODES)
    assert len(set(CODES.values())) == len(CODES)
    assert all(len(c) == 2 for c in CODES.values())  # "r" + code stays within the tag's 3 letters


def test_a_tag_that_cannot_be_written_is_refused():
    for bad in (Tag("A.101", "heartbeat", None, 1), Tag("A-101", "heartbeat", None, 0),
                Tag("A-101", "heartbeat", -1, 1)):
        with pytest.raises(TagError):
            bad.text()
    with pytest.raises(TagError, match="no tag code"):
        Tag("A-101", "gossip", None, 1).text()
