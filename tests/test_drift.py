"""Drift reports on injected logs, one per kind; consent decides who hears of them."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from hubd.config import parse_config
from hubd.core.actions import Audit, SendSms
from hubd.core.consent import ConsentError, Consents
from hubd.core.drift import circular_mean_hours, clock_shift
from hubd.core.engine import CommandError, Engine
from hubd.core.messages import RHYTHM_DRIFT
from hubd.core.wellbeing import replay_reports, sms_text
from hubd.modem.pdu import count_parts

from rhythm_life import DAY, DAY0, life

START = 50  # the drift begins on this day of the log
SENSORS = [{"id": "hall_pir", "kind": "motion", "pin": 5}, {"id": "front_door", "kind": "entrance", "pin": 6}]
OFFICE = "+81312345678"
FRIEND = "+819011112222"


def cfg(**rhythm):
    return parse_config({"sensors": SENSORS, "modem": {"recipients": [OFFICE]}, "rhythm": rhythm,
                         "hub": {"language": "en", "flat_id": "A-101"}})


def kinds(events, config=None):
    return [(r["kind"], r["day"] - DAY0) for r in replay_reports(events, config or cfg())]


def test_ordinary_life_reports_nothing():
    assert kinds(life(100)) == []


def test_activity_halved_over_two_weeks_is_reported_with_its_evidence():
    def day(i):  # one active minute in two kept from day START on, stepwise over 14 days
        return {"every": 2 if i >= START + 7 else 1, "step_min": 10}
    reports = [r for r in replay_reports(life(80, per_day=day), cfg()) if r["kind"] == "activity"]
    assert reports and START <= reports[0]["day"] - DAY0 <= START + 14
    r = reports[0]
    assert r["after"] <= cfg().rhythm.activity_ratio * r["before"]
    assert r["change"] == round(r["after"] / r["before"] - 1, 2)
    assert r["before_days"] and r["after_days"] and r["unit"] == "active minutes per hour at home"


def test_days_mostly_out_are_less_time_to_be_active_not_less_activity():
    """Three days out for 7 h instead of 2 h hold a third fewer active minutes, at the same pace."""
    def day(i):
        return {"out": (10.0, 17.0)} if START <= i < START + 3 else {}
    assert [d for k, d in kinds(life(80, per_day=day)) if k == "activity"] == []


def test_sleep_moving_later_is_reported_within_a_week_of_three_hours():
    def day(i):
        s = max(0, i - START) * 0.25  # 15 min a day
        return {"wake": 7.0 + s, "bed": 23.0 + s, "out": (10.0 + s, 12.0 + s)}
    found = [d for k, d in kinds(life(80, per_day=day)) if k == "sleep"]
    assert found and START + 12 <= found[0] + 1 <= START + 12 + 7


def test_one_very_late_night_in_three_is_no_sleep_drift():
    """One very late night in three (a party) moves the mean of three nights 3.4 h but is no
    drift: most nights must have moved."""
    def night(i):  # how much later than usual the night ending on day i is
        return (8.0, 2.0, 1.0)[i % 3] if i >= START else 0.0

    def day(i):
        return {"wake": 7.0 + night(i), "bed": 23.0 + night(i + 1), "out": (20.0, 21.0)}
    assert [d for k, d in kinds(life(80, per_day=day), cfg(sleep_spread_factor=0, sleep_days=3)) if k == "sleep"] == []
    moved = [d for k, d in kinds(life(80, per_day=lambda i: day(i) if i < START else {"wake": 11.0, "bed": 27.0}),
                                 cfg(sleep_spread_factor=0, sleep_days=3)) if k == "sleep"]
    assert moved and moved[0] - START <= 3


def test_no_outing_where_outings_were_usual_is_reported():
    found = [d for k, d in kinds(life(80, per_day=lambda i: {"out": None} if i >= START else {})) if k == "outings"]
    assert found and found[0] - START <= 6


def test_nights_becoming_active_are_reported():
    found = [d for k, d in kinds(life(80, per_day=lambda i: {"night": 60} if i >= START else {})) if k == "nights"]
    assert found and found[0] - START <= 8


def test_a_drift_is_one_report_not_one_a_day():
    """Once reported, a kind is quiet for cooldown_days (28 by default) however long it lasts."""
    found = kinds(life(START + 28, per_day=lambda i: {"out": None} if i >= START else {}))
    assert [k for k, _ in found].count("outings") == 1


def test_days_away_are_not_days_of_silence():
    """A trip (out for days) is neither an activity fall nor a withdrawal."""
    def day(i):
        return {"out": (9.0, 9.0 + 24 * 4)} if i == START else ({"out": None, "wake": 30, "bed": 0} if START < i < START + 4 else {})
    assert kinds(life(80, per_day=day)) == []


# -- consent ---------------------------------------------------------------------------------
def drive(engine, events):
    actions = []
    for e in events:
        actions += engine.observe_rhythm(e)
    return actions


WITHDRAWAL = life(80, per_day=lambda i: {"out": None} if i >= START else {})


def test_nothing_leaves_the_flat_without_consent_not_even_to_the_office():
    engine = Engine(cfg())
    actions = drive(engine, WITHDRAWAL)
    assert not [a for a in actions if isinstance(a, SendSms)]
    assert [a.detail["kind"] for a in actions if isinstance(a, Audit) and a.action == "rhythm_drift"] == ["outings"]
    assert engine.wellbeing.reports[-1]["sent_to"] == []


def test_exactly_the_consented_report_goes_to_the_consented_number():
    engine = Engine(cfg())
    given_at = DAY0 * DAY
    audit = engine.consent(FRIEND, "daughter", "rhythm_drift:outings", "support worker Sato", given_at)
    assert audit[0].action == "consent_given" and audit[0].detail["recorded_by"] == "support worker Sato"
    nights = life(80, per_day=lambda i: {"out": None, "night": 60} if i >= START else {})
    sms = [a for a in drive(engine, nights) if isinstance(a, SendSms)]
    assert [(a.to, a.kind, a.purpose) for a in sms] == [(FRIEND, "rhythm_drift", "report")]
    assert "no outing" in sms[0].text and "A-101" in sms[0].text
    sent = [r for r in engine.wellbeing.reports if r["sent_to"]]
    assert [r["kind"] for r in sent] == ["outings"]  # the nights report stays in the flat


def test_a_revoked_consent_sends_nothing_and_is_audited():
    engine = Engine(cfg())
    entry = engine.consent(FRIEND, "", "rhythm_drift", "technician", 0.0)[0].detail
    revoked = engine.revoke_consent(entry["id"], "technician", 1.0)
    assert revoked[0].action == "consent_revoked" and revoked[0].detail["revoked_by"] == "technician"
    assert not [a for a in drive(engine, WITHDRAWAL) if isinstance(a, SendSms)]
    with pytest.raises(CommandError):
        engine.revoke_consent(entry["id"], "technician", 2.0)


def test_at_most_one_rhythm_sms_a_week():
    c = Consents()
    c.add(FRIEND, "", "rhythm_drift", "tech", 0.0)
    assert c.recipients("sleep", 10 * DAY, 7) == [FRIEND]
    c.mark_sent(FRIEND, 10 * DAY)
    assert c.recipients("activity", 16.9 * DAY, 7) == []
    assert c.recipients("activity", 17 * DAY, 7) == [FRIEND]


@pytest.mark.parametrize("subject, by", [("everything", "tech"), ("rhythm_drift", " ")])
def test_a_consent_needs_a_known_subject_and_who_recorded_it(subject, by):
    with pytest.raises(ConsentError):
        Consents().add(FRIEND, "", subject, by, 0.0)


def test_consents_and_reports_survive_a_restart():
    engine = Engine(cfg())
    engine.consent(FRIEND, "", "rhythm_drift", "tech", 0.0)
    drive(engine, WITHDRAWAL[: len(WITHDRAWAL) * 3 // 4])
    last = WITHDRAWAL[len(WITHDRAWAL) * 3 // 4 - 1]
    again = Engine(cfg())
    again.restore(engine.snapshot(last.mono, last.local), last.mono + 60, last.local + 60, restarted=False)
    assert again.wellbeing.view(400) == engine.wellbeing.view(400)
    sms = [a for a in drive(again, WITHDRAWAL[len(WITHDRAWAL) * 3 // 4:]) if isinstance(a, SendSms)]
    assert len(sms) + len([r for r in engine.wellbeing.reports if r["sent_to"]]) == 1


@pytest.mark.parametrize("language", ["en", "ja"])
@pytest.mark.parametrize("kind", sorted(RHYTHM_DRIFT["en"]))
def test_rhythm_texts_are_one_part_in_the_worst_case(language, kind):
    report = {"kind": kind, "before": 1440.0, "after": 1439.0, "change": -0.5, "days_without": 365,
              "after_days": ["2024-12-31", "2025-01-01"]}
    if kind == "sleep":
        report.update(before=23.99, after=11.5)
    text = sms_text(report, language, "ABCDEFGHIJKLMNOP")
    assert count_parts(text)[1] == 1, text
    assert "ABCDEFGHIJKLMNOP" in text


@given(st.floats(0, 24, allow_nan=False), st.floats(-11.9, 11.9, allow_nan=False))
def test_a_clock_shift_is_found_back(a, d):
    assert clock_shift(a, (a + d) % 24) == pytest.approx(d, abs=1e-9)


@given(st.lists(st.floats(0, 24, allow_nan=False), min_size=1, max_size=20), st.floats(-12, 12, allow_nan=False))
def test_a_circular_mean_moves_with_its_hours(hours, d):
    m = circular_mean_hours(hours)
    moved = circular_mean_hours([(h + d) % 24 for h in hours])
    if m is not None and moved is not None:
        assert abs(clock_shift(m, moved) - (d if abs(d) < 12 else clock_shift(0, d))) < 1e-6 or abs(abs(d) - 12) < 1e-6


def test_the_month_report_shows_the_hubs_own_drift_reports():
    """``hubctl report`` shows the reports the hub made (one rule), those judged in its window."""
    from hubd import report

    reps = list(replay_reports(WITHDRAWAL, cfg()))
    assert reps
    last = WITHDRAWAL[-1].local
    summary = report.summarise(WITHDRAWAL[-500:], last - 30 * DAY, last, [], reps)
    assert len(summary["drift"]) == 1 and "outings" in summary["drift"][0]
    assert any(line.startswith("drift reported by the hub") and "outings" in line for line in report.text_lines(summary))
    assert report.summarise([], last - DAY, last, [], reps)["drift"] == []  # judged before the window
