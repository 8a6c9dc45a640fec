"""``hubctl rhythm`` and ``hubctl consent`` against a running daemon (fake clock, in-process)."""

from __future__ import annotations

import os

from test_hubctl import hub, last_audit, run, run_json  # noqa: F401  (hub: the fixture)

from rhythm_life import life

RECORD_FIELDS = {"date", "day", "active_minutes", "night_active_minutes", "outings", "out_minutes", "sleep_onset",
                 "wake", "sleep_mid", "sleep_minutes", "sleep_from", "w7", "w28"}
WINDOW_FIELDS = {"IS", "IV", "RA", "L5", "M10", "L5_onset", "M10_onset"}
REPORT_FIELDS = {"type", "kind", "before", "after", "change", "unit", "before_days", "after_days", "day", "date",
                 "sent_to"}


def lived(hub, days=60):  # noqa: F811
    """The flat's rhythm fed ``days`` days, the last ten without an outing."""
    events = life(days, per_day=lambda i: {"out": None} if i >= days - 10 else {})
    hub.on_loop(lambda: [hub.daemon.engine.observe_rhythm(e) for e in events])


def test_rhythm_json_has_every_documented_field(hub):  # noqa: F811
    lived(hub)
    data = run_json(hub, "rhythm", "--days", "5")
    assert set(data) == {"now", "days", "reports", "consents_in_force"}
    assert len(data["days"]) == 5 and all(set(d) >= RECORD_FIELDS for d in data["days"])
    assert set(data["days"][-1]["w7"]) == WINDOW_FIELDS and set(data["days"][-1]["w28"]) == WINDOW_FIELDS
    assert [r["kind"] for r in data["reports"]] == ["outings"] and set(data["reports"][0]) >= REPORT_FIELDS
    assert data["reports"][0]["sent_to"] == [] and data["consents_in_force"] == 0
    doc = open(os.path.join(os.path.dirname(__file__), "..", "docs", "hubctl.md"), encoding="utf-8").read()
    for field in sorted(RECORD_FIELDS | REPORT_FIELDS | {"consents_in_force"}) + [f"w7.{f}" for f in WINDOW_FIELDS]:
        assert f"`{field}`" in doc, field


def test_rhythm_human_has_the_table_the_chart_and_the_reports(hub):  # noqa: F811
    lived(hub)
    code, out, _ = run(hub, "rhythm", "--days", "3")
    lines = out.splitlines()
    assert code == 0 and lines[0].split()[:2] == ["date", "active"]
    assert sum("#" in line for line in lines) == 3
    assert any("outings" in line and "kept in the flat" in line for line in lines)
    code, out, _ = run(hub, "rhythm", "--lang", "ja")
    assert code == 0 and "住戸内で保管" in out


def test_an_empty_rhythm_says_when_a_record_comes(hub):  # noqa: F811
    code, out, _ = run(hub, "rhythm")
    assert code == 0 and "end of each local day" in out


def test_consent_is_recorded_audited_listed_and_revoked(hub):  # noqa: F811
    added = run_json(hub, "consent", "add", "--number", "09011112222", "--name", "daughter", "--by", "Sato")
    entry = added["consent"]
    assert entry["number"] == "+819011112222" and entry["subject"] == "rhythm_drift"
    assert entry["recorded_by"].startswith("Sato") and entry["given"]
    assert last_audit(hub)[0]["action"] == "consent_given"
    assert [e["id"] for e in run_json(hub, "consent", "list")["consents"]] == [entry["id"]]
    code, out, _ = run(hub, "consent")
    assert code == 0 and "daughter" in out and "in force" in out
    revoked = run_json(hub, "consent", "revoke", str(entry["id"]), "--by", "Sato")["consent"]
    assert revoked["revoked"] and last_audit(hub)[0]["action"] == "consent_revoked"
    code, _, err = run(hub, "consent", "revoke", str(entry["id"]), "--by", "Sato")
    assert code == 1 and "no consent" in err


def test_bad_consents_are_refused_with_the_rule(hub):  # noqa: F811
    code, _, err = run(hub, "consent", "add", "--number", "12", "--by", "Sato")
    assert code != 0 and "phone number" in err
    code, _, err = run(hub, "consent", "add", "--number", "09011112222", "--by", "Sato", "--for", "everything")
    assert code == 2 and "rhythm_drift" in err


def lived_through_the_daemon(hub, days=60):  # noqa: F811
    """``days`` days of sensor events (the last ten without an outing) through the daemon's own
    event path (stored, handled, recorded), stamped on from its clock's next day."""
    from hubd.events import Event

    clock = hub.daemon.clock
    mono, local = clock.monotonic(), clock.local()
    first = int(local // 86400.0) + 1
    events = [Event(e.local - local + mono, e.local, e.sensor, e.kind, e.value)
              for e in life(days, first=first, per_day=lambda i: {"out": None} if i >= days - 10 else {})]

    def feed():
        hub.daemon._inbox.extend(events)
        hub.daemon._drain()
    hub.on_loop(feed)


def reports_sent(hub):  # noqa: F811
    return [(to, text) for to, text, purpose, _ in hub.uplink.submitted.items if purpose == "report"]


def test_the_daemon_texts_no_drift_without_consent(hub):  # noqa: F811
    lived_through_the_daemon(hub)
    assert [r["kind"] for r in run_json(hub, "rhythm")["reports"]] == ["outings"]
    assert reports_sent(hub) == []


def test_the_daemon_texts_exactly_the_consented_report(hub):  # noqa: F811
    run_json(hub, "consent", "add", "--number", "+819011112222", "--by", "Sato", "--for", "rhythm_drift:outings")
    lived_through_the_daemon(hub)
    sent = reports_sent(hub)
    assert len(sent) == 1 and sent[0][0] == "+819011112222" and "no outing" in sent[0][1]
    assert run_json(hub, "rhythm")["reports"][0]["sent_to"] == ["+819011112222"]
