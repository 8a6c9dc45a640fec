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


RESOLVED = sorted(k.split(":", 1)[1] for k in TEMPLATES["en"] if k.startswith("resolved:"))
SYSTEM_TYPES = ("sensor_silent", "sensor_fault", "uplink_down", "monitoring_paused_too_long")


def test_every_alert_that_can_end_has_its_own_resolved_wording():
    notices = ("hub_restarted", "store_reset", "store_replaced")  # one-shot notices: never open, never resolved
    alerts = {k for k in TEMPLATES["en"] if ":" not in k} - {"resolved", "heartbeat", "test", *notices}
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
    from hubd.alerts import AlertPolicy
    from hubd.config import AlertsConfig
    from hubd.detector.base import SYSTEM, Finding

    policy = AlertPolicy(AlertsConfig(system_grace_minutes=0.0), ["+8100000001"], "FLAT-1", "en")
    fault = Finding("sensor_fault", SYSTEM, 100.0, 0.0, key="kettle")
    raised = [a for a in policy.update([fault], 100.0, 1000.0) if getattr(a, "purpose", None) == "system"]
    assert len(raised) == 1 and "kettle faulty" in raised[0].text
    [resolved] = [a for a in policy.update([], 4000.0, 4900.0) if getattr(a, "purpose", None) == "resolved"]
    assert resolved.text == "hubd FLAT-1: alert 1 resolved, sensor kettle working again after 1h05m"
