"""Alert texts fit one SMS part (70 UCS2 / 160 GSM characters) and carry the flat and alert id."""

import pytest

import re

from hubd.core.messages import TEMPLATES, WORDS, clock_time, duration, heartbeat, render, status_reply
from hubd.core.engine import AWAY, HOME, PAUSED
from hubd.modem.pdu import count_parts

WORST = dict(flat="ABCDEFGHIJKLMNOP", id=99999, key="bathroom_pir_2f_", silence_s=99 * 3600 + 59 * 60,
             detail={"reasons": ["stuck", "inverted", "chatter", "nack"]})
REPORTS = ("heartbeat", "status")  # built from facts by heartbeat() / status_reply(), tested below
DEC_31_23_59 = 365 * 86400.0 - 60  # 1970-12-31 23:59 local


@pytest.mark.parametrize("language", ["en", "ja"])
@pytest.mark.parametrize("kind", sorted(set(TEMPLATES["en"]) - set(REPORTS)))
def test_every_message_is_one_part_even_in_the_worst_case(language, kind):
    text = render(kind, language, **WORST)
    encoding, parts = count_parts(text)
    assert parts == 1, f"{language}/{kind} needs {parts} parts ({encoding}): {text}"
    assert WORST["flat"] in text
    assert str(WORST["id"]) in text


MODES = (HOME, AWAY, PAUSED)


def _worst_reports(language):
    for mode in MODES:
        for signal in (4, None):
            yield heartbeat(language, WORST["flat"], DEC_31_23_59, mode, 10**6, signal, 10**6)
        yield heartbeat(language, WORST["flat"], None, mode, 0, 0, 0)
        yield status_reply(language, WORST["flat"], mode, 9999 * 3600 + 59 * 60, 72 * 3600.0, 10**6)
        yield status_reply(language, WORST["flat"], mode, None, None, 0)


@pytest.mark.parametrize("language", ["en", "ja"])
def test_heartbeat_and_status_reply_are_one_part_in_the_worst_case(language):
    for text in _worst_reports(language):
        encoding, parts = count_parts(text)
        assert parts == 1, f"{language} needs {parts} parts ({encoding}): {text}"
        assert WORST["flat"] in text
        assert str(10**6) not in text  # a huge count is shown as 99+, never cut short


def test_japanese_heartbeat_and_status_reply_hold_no_english():
    texts = list(_worst_reports("ja"))
    texts = [t.replace("hubd " + WORST["flat"], "") for t in texts]
    assert texts and all(not re.search(r"[A-Za-z]", t) for t in texts), texts


def test_heartbeat_reads_as_documented():
    assert heartbeat("en", "A-101", DEC_31_23_59, "home", 0, 3, 2) == (
        "hubd A-101: alive. Last activity Dec 31 23:59. Mode watching. Open alerts 0. Signal 3/4. Unsent SMS 2")
    assert heartbeat("ja", "A-101", DEC_31_23_59, "paused", 1, None, 0) == (
        "hubd A-101: 稼働中。最終活動12/31 23:59。停止中。警報1件。電波不明。未送信0件")
    assert heartbeat("en", "A-101", None, "away", 120, 0, 0).count("99+") == 1
    assert clock_time(None, "ja") == "なし" and clock_time(None, "en") == "none"


def test_status_reply_reads_as_documented():
    assert status_reply("en", "A-101", "home", 65 * 60, 2 * 3600.0, 1) == (
        "hubd A-101: watching. No activity for 1h05m (limit 2h00m). Open alerts 1")
    assert status_reply("ja", "A-101", "away", 65 * 60, 2 * 3600.0, 0) == (
        "hubd A-101: 外出中。無活動1時間5分(上限2時間0分)。警報0件")


def test_every_mode_has_words_in_every_language():
    assert set(WORDS["en"]) == set(WORDS["ja"]) >= set(MODES)


def test_languages_have_the_same_messages():
    assert set(TEMPLATES["ja"]) == set(TEMPLATES["en"])


def test_english_alerts_stay_in_the_gsm_alphabet():
    for kind in set(TEMPLATES["en"]) - set(REPORTS):
        assert count_parts(render(kind, "en", **WORST))[0] == "gsm7"
    assert all(count_parts(text)[0] == "gsm7" for text in _worst_reports("en"))


def test_durations_read_naturally():
    assert duration(125 * 60) == "2h05m"
    assert duration(59) == "0min"
    assert duration(3 * 3600, "ja") == "3時間0分"
    assert duration(None) == "?"


RESOLVED = sorted(k.split(":", 1)[1] for k in TEMPLATES["en"] if k.startswith("resolved:"))
SYSTEM_TYPES = ("sensor_silent", "sensor_fault", "uplink_down", "uplink_degraded", "monitoring_paused_too_long")


def test_every_alert_that_can_end_has_its_own_resolved_wording():
    notices = ("hub_restarted", "hub_restarted_clock_unset", "hub_outage_measured", "store_reset",
               "store_replaced")  # one-shot notices: never open, never resolved
    alerts = {k for k in TEMPLATES["en"] if ":" not in k} - {"resolved", "test", "commission_test", "test_confirmed",
                                                             *REPORTS, *notices}
    assert set(RESOLVED) == alerts


@pytest.mark.parametrize("language", ["en", "ja"])
@pytest.mark.parametrize("alert_type", RESOLVED + ["unknown_type"])
def test_resolved_texts_fit_one_part_and_carry_flat_and_id(language, alert_type):
    text = render("resolved", language, alert_type=alert_type, **WORST)
    encoding, parts = count_parts(text)
    assert parts == 1, f"{language}/resolved:{alert_type} needs {parts} parts ({encoding}): {text}"
    assert WORST["flat"] in text and str(WORST["id"]) in text
    if alert_type in ("stayed_in_place", "sensor_silent", "sensor_fault"):
        assert WORST["key"] in text


@pytest.mark.parametrize("language, activity", [("en", "activity"), ("ja", "活動")])
def test_only_a_silence_ending_says_there_was_activity(language, activity):
    assert activity in render("resolved", language, alert_type="inactivity", **WORST)
    for alert_type in SYSTEM_TYPES + ("unknown_type",):
        assert activity not in render("resolved", language, alert_type=alert_type, **WORST)
    assert activity not in render("resolved", language, **WORST)  # no type given: claims nothing


def test_a_cleared_sensor_fault_is_texted_as_the_sensor_working_again():
    from hubd.core.alerts import AlertPolicy
    from hubd.config import AlertsConfig
    from hubd.findings import SYSTEM, Finding

    policy = AlertPolicy(AlertsConfig(system_grace_minutes=0.0), ["+8100000001"], "FLAT-1", "en")
    fault = Finding("sensor_fault", SYSTEM, 100.0, 0.0, key="kettle")
    raised = [a for a in policy.update([fault], 100.0, 1000.0) if getattr(a, "purpose", None) == "system"]
    assert len(raised) == 1 and "kettle faulty" in raised[0].text
    [resolved] = [a for a in policy.update([], 4000.0, 4900.0) if getattr(a, "purpose", None) == "resolved"]
    assert resolved.text == "hubd FLAT-1: alert 1 resolved, sensor kettle working again after 1h05m"


def test_a_settled_sensor_fault_gives_the_length_of_its_fault_not_of_the_settling():
    from hubd.core.alerts import AlertPolicy
    from hubd.config import AlertsConfig
    from hubd.findings import SYSTEM, Finding

    policy = AlertPolicy(AlertsConfig(system_grace_minutes=0.0), ["+8100000001"], "FLAT-1", "en")
    policy.update([Finding("sensor_fault", SYSTEM, 100.0, 0.0, key="kettle")], 100.0, 1000.0)
    policy.update([], 200.0, 1100.0)  # a first fault: resolved when it clears
    again = 200.0 + 6 * 3600.0  # back within sensor_settle_hours: a sensor that comes and goes
    policy.update([Finding("sensor_fault", SYSTEM, again, 0.0, key="kettle")], again, again + 900.0)
    assert [a for a in policy.update([], again + 3900.0, again + 4800.0) if getattr(a, "purpose", None) == "resolved"] == []
    settled = again + 3900.0 + policy.config.sensor_settle_hours * 3600.0
    [resolved] = [a for a in policy.tick(settled, settled + 900.0) if getattr(a, "purpose", None) == "resolved"]
    assert resolved.text == "hubd FLAT-1: alert 2 resolved, sensor kettle working again after 1h05m"


def test_the_office_guide_shows_the_texts_as_the_hub_writes_them():
    """docs/office.md explains each field on an example; the example must be what the hub sends."""
    guide = open("docs/office.md", encoding="utf-8").read()
    local = 1_700_000_000.0  # Nov 14 22:13
    for language in ("en", "ja"):
        assert "    " + heartbeat(language, "A-101", local, "home", 1, 3, 0) + "\n" in guide
        assert "    " + status_reply(language, "A-101", "home", 65 * 60, 2 * 3600.0, 1) + "\n" in guide
        assert render("test", language, flat="A-101", id="T12345") in guide
        for word in WORDS[language].values():
            assert f"`{word}`" in guide


def test_the_office_guide_explains_every_message_type():
    guide = open("docs/office.md", encoding="utf-8").read()
    kinds = {k for k in TEMPLATES["en"] if ":" not in k} - {"resolved"}
    assert [k for k in sorted(kinds) if f"`{k}`" not in guide] == []


@pytest.mark.parametrize("language, reasons, shown", [
    ("en", ["stuck"], " (stuck)"), ("ja", ["stuck"], "（固着）"), ("en", ["chatter", "storage"], " (chattering, storage)"),
    ("ja", ["inverted"], "（値が逆）"), ("en", [], ""),
])
def test_a_sensor_fault_says_why_for_the_technician(language, reasons, shown):
    text = render("sensor_fault", language, flat="A-101", id=7, key="bed_mat", detail={"reasons": reasons})
    assert shown in text and "bed_mat" in text and ("()" not in text and "（）" not in text)
    assert render("sensor_fault", language, flat="A-101", id=7, key="pir", detail={"reason": "chatter"}) == \
        render("sensor_fault", language, flat="A-101", id=7, key="pir", detail={"reasons": ["chatter"]})


def test_the_policy_texts_the_reason_the_finding_gave():
    from hubd.config import parse_config
    from hubd.core.alerts import AlertPolicy
    from hubd.core.actions import SendSms
    from hubd.findings import SYSTEM, Finding

    config = parse_config({"modem": {"recipients": ["+810000000001"]}, "alerts": {"prealarm_minutes": 0}})
    policy = AlertPolicy(config.alerts, ["+810000000001"], "A-101", "en")
    fault = Finding("sensor_fault", SYSTEM, 0.0, 0.0, key="bed_mat", detail={"reasons": ["stuck"]})
    texts = []
    for mono in (0.0, 600.0, 1200.0):
        texts += [a.text for a in policy.update([fault], mono, mono) + policy.tick(mono, mono) if isinstance(a, SendSms)]
    assert texts and all("sensor bed_mat faulty (stuck)" in t for t in texts)


@pytest.mark.parametrize("language", ["en", "ja"])
@pytest.mark.parametrize("kind", ["commission_test", "test_confirmed"])
def test_the_installation_test_texts_fit_one_part_and_name_the_test(language, kind):
    text = render(kind, language, flat=WORST["flat"], id="T12345")
    assert count_parts(text)[1] == 1, text
    assert WORST["flat"] in text and "T12345" in text
    if kind == "commission_test":
        assert "OK T12345" in text  # what the office types back, half-width


# -- with the tag (hubd.sms_tag) every text ends with ------------------------------------------
TAG_WORST = dict(alert=99999, seq=999_999_999)


def _tagged_worst(language):
    """Every text the hub sends, worst case, each with the longest tag it can carry."""
    from hubd.sms_tag import Tag, tagged
    for kind in sorted(set(TEMPLATES["en"]) - set(REPORTS) - {"resolved"}):
        if kind.startswith("resolved:"):
            text = render("resolved", language, alert_type=kind.split(":")[1], **WORST)
        else:
            text = render(kind, language, **WORST)
        yield kind, tagged(text, Tag(WORST["flat"], kind, TAG_WORST["alert"], TAG_WORST["seq"]))
    for text in _worst_reports(language):
        yield "heartbeat", tagged(text, Tag(WORST["flat"], "heartbeat", None, TAG_WORST["seq"]))


def test_english_texts_stay_one_part_with_their_tag_even_in_the_worst_case():
    for kind, text in _tagged_worst("en"):
        assert count_parts(text) == ("gsm7", 1), (kind, text)


def test_japanese_texts_take_at_most_two_parts_with_their_tag_in_the_worst_case():
    for kind, text in _tagged_worst("ja"):
        encoding, parts = count_parts(text)
        assert parts <= 2, (kind, parts, text)


def test_japanese_texts_of_an_ordinary_flat_stay_one_part_with_their_tag():
    """A flat id like A-1204, a sensor like bed_mat, alert numbers below 1000 and ten thousand texts
    to one number: every text but the damaged-store notice is one part (documented in office.md)."""
    from hubd.sms_tag import Tag, tagged
    flat, values = "A-1204", dict(flat="A-1204", id=999, key="bed_mat", silence_s=99 * 3600 + 59 * 60,
                                  detail={"reasons": ["stuck"]})
    two_parts = []
    for kind in sorted(set(TEMPLATES["ja"]) - set(REPORTS) - {"resolved"}):
        text = (render("resolved", "ja", alert_type=kind.split(":")[1], **values) if kind.startswith("resolved:")
                else render(kind, "ja", **values))
        if count_parts(tagged(text, Tag(flat, kind, 999, 9999)))[1] > 1:
            two_parts.append(kind)
    for mode in MODES:
        text = heartbeat("ja", flat, DEC_31_23_59, mode, 9, 4, 9)
        assert count_parts(tagged(text, Tag(flat, "heartbeat", None, 9999)))[1] == 1, text
        text = status_reply("ja", flat, mode, 99 * 3600 + 59 * 60, 72 * 3600.0, 9)
        assert count_parts(tagged(text, Tag(flat, "status", None, 9999)))[1] == 1, text
    assert two_parts == ["store_reset"]
