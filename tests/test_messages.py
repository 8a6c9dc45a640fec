"""Alert texts fit one SMS part (70 UCS2 / 160 GSM characters) and carry the flat and alert id."""

import pytest

from hubd.messages import TEMPLATES, duration, render
from hubd.modem.pdu import count_parts

WORST = dict(flat="ABCDEFGHIJKLMNOP", id=99999, key="bathroom_pir_2f_", silence_s=99 * 3600 + 59 * 60,
             last="12-31 23:59", status="paused A12 S5 Q99")


@pytest.mark.parametrize("language", ["en", "ja"])
@pytest.mark.parametrize("kind", sorted(TEMPLATES["en"]))
def test_every_message_is_one_part_even_in_the_worst_case(language, kind):
    text = render(kind, language, **WORST)
    encoding, parts = count_parts(text)
    assert parts == 1, f"{language}/{kind} needs {parts} parts ({encoding}): {text}"
    assert WORST["flat"] in text
    if kind not in ("heartbeat",):
        assert str(WORST["id"]) in text


def test_languages_have_the_same_messages():
    assert set(TEMPLATES["ja"]) == set(TEMPLATES["en"])


def test_english_alerts_stay_in_the_gsm_alphabet():
    for kind in TEMPLATES["en"]:
        assert count_parts(render(kind, "en", **WORST))[0] == "gsm7"


def test_durations_read_naturally():
    assert duration(125 * 60) == "2h05m"
    assert duration(59) == "0min"
    assert duration(3 * 3600, "ja") == "3時間0分"
    assert duration(None) == "?"
