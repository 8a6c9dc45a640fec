"""Intake on SQLite: the flat's state, duty texts, ACKs, hub_silent, bad input, long texts, retention."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deskrig import DUTY1, DUTY2, HUB_A, HUB_B, MODEM, DeskRig, desk_config, hub_text, rig, sqlite_db  # noqa: F401 (fixtures)
from hubd.modem.gsm7 import is_gsm7, septet_length
from hubdesk import board_api, gammu
from hubdesk.board_api import DeskError
from hubdesk.db import Database
from hubdesk.desk import prune

ALARM = "no activity for 2h05m. Alert 12. Reply ACK 12"


def test_heartbeat_and_status_update_the_flat(rig):
    rig.send(HUB_A, hub_text("A-101", "heartbeat", 1, words="alive"))
    rig.clock.advance(60)
    rig.send(HUB_A, hub_text("A-101", "status", 2, words="watching. No activity for 1h05m"))
    assert rig.run() == 2
    flat = rig.flat("A-101")
    assert flat["last_heartbeat"] == rig.clock() - 60 and flat["last_message"] == rig.clock()
    assert flat["last_status"] == "hubd A-101: watching. No activity for 1h05m"
    assert flat["state"] == "ok" and rig.unprocessed() == 0


def test_alarm_texts_duty_escalates_and_sms_ack_is_forwarded_to_the_hub(rig):
    rig.send(HUB_A, hub_text("A-101", "inactivity", 1, 12, ALARM))
    rig.run()
    assert rig.flat("A-101")["state"] == "alarm"
    assert [(n, t.endswith("Reply ACK 1")) for n, t, _ in rig.outbox()] == [(DUTY1, True)]
    rig.clock.advance(1799)
    rig.run()
    assert len(rig.outbox()) == 1
    rig.clock.advance(1)
    rig.run()
    assert [n for n, _, _ in rig.outbox()] == [DUTY1, DUTY2]
    rig.send(DUTY2, "ack 1")
    rig.run()
    assert rig.outbox()[-1] == (HUB_A, "ACK 12", MODEM)  # from the modem the hub texted: a number it obeys
    rig.clock.advance(7200)
    rig.run()
    assert [n for n, t, _ in rig.outbox() if "alert 1 " in t] == [DUTY1, DUTY2]  # duty stopped
    detail = board_api.flat_detail(rig.db, "A-101", rig.clock())
    assert detail.alerts[0].acked_by == DUTY2 and detail.alerts[0].duty_stage == f"acknowledged by {DUTY2}"
    assert detail.summary.state == "alarm"  # acknowledged, still open until the hub resolves it
    rig.send(HUB_A, hub_text("A-101", "resolved:inactivity", 2, 12, "alert 12 resolved, activity again after 2h"))
    rig.run()
    assert rig.flat("A-101")["state"] == "ok"
    over = [(n, t) for n, t, _ in rig.outbox() if "alert 1 inactivity over" in t]
    assert over == [(n, "desk alert 1 inactivity over: hubd A-101: alert 12 resolved, activity again after 2h")
                    for n in (DUTY1, DUTY2)]  # both had been texted
    assert board_api.flat_detail(rig.db, "A-101", rig.clock()).alerts[0].closed == rig.clock()


def test_duty_stops_after_rounds(rig):
    rig.send(HUB_A, hub_text("A-101", "inactivity", 1, 12, ALARM))
    for _ in range(8):
        rig.run()
        rig.clock.advance(1800)
    assert [n for n, t, _ in rig.outbox() if "alert 1 " in t] == [DUTY1, DUTY2, DUTY1, DUTY2]
    assert "not repeated" in board_api.flat_detail(rig.db, "A-101", rig.clock()).alerts[0].duty_stage


def test_board_ack_forwards_and_refuses_twice(rig):
    rig.send(HUB_A, hub_text("A-101", "stayed_in_place", 1, 7, "bed occupied for 14h. Alert 7. Reply ACK 7"))
    rig.run()
    view = board_api.ack(rig.db, 1, "sato", rig.clock())
    assert view.acked_by == "sato" and view.hub_alert_id == 7
    assert rig.outbox()[-1] == (HUB_A, "ACK 7", MODEM)
    with pytest.raises(DeskError, match="already acknowledged by sato"):
        board_api.ack(rig.db, 1, "suzuki", rig.clock())
    with pytest.raises(DeskError, match="no alert 99"):
        board_api.ack(rig.db, 99, "sato", rig.clock())
    timeline = board_api.flat_detail(rig.db, "A-101", rig.clock()).timeline
    assert [e.what for e in timeline[:2]] == ["duty_sms", "ack"] and timeline[1].by == "sato"


def test_national_sender_numbers_are_the_same_hub_and_duty_phone(rig):
    rig.send("0" + HUB_A[3:], hub_text("A-101", "inactivity", 1, 12, ALARM))  # 09011110001
    rig.run()
    assert rig.flat("A-101")["state"] == "alarm" and rig.rejects() == []
    rig.send(DUTY1[3:], "ACK 1")  # 9099990001, the national significant number
    rig.run()
    assert rig.outbox()[-1] == (HUB_A, "ACK 12", MODEM) and rig.rejects() == []


def test_ack_from_unknown_number_or_bad_command_is_rejected(rig):
    rig.send(HUB_A, hub_text("A-101", "inactivity", 1, 12, ALARM))
    rig.run()
    rig.send("+819055555555", "ACK 1")
    rig.send(DUTY1, "ACK one")
    rig.send(DUTY1, "ACK 44")
    rig.run()
    reasons = [r for _, _, r in rig.rejects()]
    assert "no hub tag" in reasons[0] and "not a command" in reasons[1] and "no alert 44" in reasons[2]
    assert all(n != HUB_A for n, _, _ in rig.outbox())


def test_hub_silent_after_interval_plus_grace_and_ended_by_a_message(rig):
    rig.send(HUB_B, hub_text("B-202", "heartbeat", 1))
    rig.run()
    rig.clock.advance(1.5 * 3600 - 1)
    rig.desk._next_silence = 0
    rig.run()
    assert rig.flat("B-202")["state"] == "ok"
    rig.clock.advance(1)
    rig.desk._next_silence = 0
    rig.run()
    flat = rig.flat("B-202")
    assert flat["state"] == "silent" and flat["since"] == rig.clock()
    assert any(n == DUTY1 and "hub_silent" in t for n, t, _ in rig.outbox())
    assert board_api.flats_by_urgency(rig.db, rig.clock())[0].flat == "B-202"
    rig.send(HUB_B, hub_text("B-202", "heartbeat", 2))
    rig.run()
    assert rig.flat("B-202")["state"] == "ok"
    assert [n for n, t, _ in rig.outbox() if "hub_silent over" in t] == [DUTY1]  # only DUTY1 had been texted
    assert board_api.state_counts(rig.db, rig.clock()) == {"alarm": 0, "silent": 0, "fault": 0, "ok": 2}


def test_daily_heartbeat_silent_at_26_hours_not_before(rig):
    rig.send(HUB_A, hub_text("A-101", "heartbeat", 1))
    rig.run()
    last = rig.clock()
    rig.clock.t = last + 26 * 3600 - 1
    assert "A-101" not in rig.desk.check_silence(rig.clock())
    rig.clock.t = last + 26 * 3600
    assert "A-101" in rig.desk.check_silence(rig.clock())
    assert rig.desk.check_silence(rig.clock() + 60) == []  # raised once, not again while it lasts
    rig.desk.escalate(rig.clock())
    assert any(n == DUTY1 and "hub_silent" in t and "A-101" in t for n, t, _ in rig.outbox())


def test_no_hub_silent_while_a_backlog_is_being_taken_in(sqlite_db):
    rig = DeskRig(sqlite_db, desk_config(desk={"intake_batch": 2}))
    rig.clock.advance(3600)
    rig.send(HUB_A, hub_text("A-101", "heartbeat", 1))
    rig.send(HUB_A, hub_text("A-101", "heartbeat", 2))
    rig.send(HUB_B, hub_text("B-202", "status", 1))  # B-202's text, received before it was due
    rig.clock.advance(3600)  # the desk was down: now past B-202's 1.5 h
    rig.desk.step()  # a full batch: a backlog
    assert rig.flat("B-202")["state"] == "ok"
    rig.desk.step()  # caught up: B-202's last text was an hour ago, within its 1.5 h
    assert rig.flat("B-202")["state"] == "ok" and rig.unprocessed() == 0
    rig.clock.advance(1800)
    rig.desk._next_silence = 0
    rig.desk.step()
    assert rig.flat("B-202")["state"] == "silent"


def test_system_fault_told_to_duty_only_when_open_too_long(rig):
    rig.send(HUB_A, hub_text("A-101", "sensor_silent", 1, 2, "sensor hall silent for 30h. Alert 2"))
    rig.send(HUB_A, hub_text("A-101", "resolved:sensor_silent", 2, 2, "alert 2 resolved"))
    rig.send(HUB_A, hub_text("A-101", "sensor_fault", 3, 3, "sensor bed faulty (stuck). Alert 3"))
    rig.run()
    assert rig.flat("A-101")["state"] == "fault" and rig.outbox() == []  # nobody told of a fault over quickly
    rig.clock.advance(3600)
    rig.run()
    assert [n for n, _, _ in rig.outbox()] == [DUTY1]


@pytest.mark.parametrize("sender, text, reason", [
    ("+819012345678", "hello, is this the office?", "no hub tag"),
    (HUB_A, "hubd A-101: alive #A-101.zz.5", "unknown message code"),
    (HUB_A, hub_text("Z-999", "heartbeat", 1), "unknown flat 'Z-999'"),
    (HUB_B, hub_text("A-101", "heartbeat", 1), "not from its hub"),
])
def test_bad_input_is_recorded_and_shown(rig, sender, text, reason):
    rig.send(sender, text)
    assert rig.run() == 1 and rig.unprocessed() == 0
    shown = board_api.rejects(rig.db)
    assert len(shown) == 1 and reason in shown[0].reason and shown[0].sender == sender and shown[0].text == text


def test_resend_counted_once_replay_rejected_gap_shown(rig):
    for seq in (1, 2, 2, 5, 2, 4):
        rig.send(HUB_A, hub_text("A-101", "heartbeat", seq))
    rig.run()
    reasons = [r for _, _, r in rig.rejects()]
    assert len(reasons) == 2 and "resend" in reasons[0] and "replay" in reasons[1]
    messages = rig.db.query("SELECT COUNT(*) FROM desk_timeline WHERE flat = 'A-101' AND what = 'message'")[0][0]
    assert messages == 4  # 1, 2, 5, then 4 arriving late
    detail = board_api.flat_detail(rig.db, "A-101", rig.clock())
    assert detail.missed_seq == [3] and detail.summary.missed == 1 and detail.summary.state == "fault"


def test_long_text_parts_joined_in_any_order_and_incomplete_ones_rejected_later(rig):
    text = hub_text("A-101", "heartbeat", 1, words="alive " + "x" * 200)
    a, b = text[:153], text[153:]
    rig.send(HUB_A, b, udh="0500030A0202")
    rig.send(HUB_A, a, udh="0500030A0201")
    rig.send(HUB_A, "orphan part", udh="0608040B0B0201")
    assert rig.run() == 1
    assert rig.flat("A-101")["last_heartbeat"] == rig.clock() and rig.unprocessed() == 1
    rig.clock.advance(25 * 3600)
    rig.run()
    assert rig.unprocessed() == 0 and "1 of 2 parts" in rig.rejects()[-1][2]


def test_parts_stored_gammu_smsd_style_whole_text_in_the_first(rig):
    text = hub_text("A-101", "heartbeat", 1, words="alive " + "y" * 200)
    rig.send(HUB_A, text, udh="0500030C0201")
    rig.send(HUB_A, "", udh="0500030C0202")
    assert rig.run() == 1 and rig.rejects() == []
    assert rig.flat("A-101")["last_heartbeat"] == rig.clock()


def test_outgoing_long_and_japanese_texts(rig):
    long_id = gammu.queue_sms(rig.db, DUTY1, "x" * 200, reference=5)
    ja_id = gammu.queue_sms(rig.db, DUTY1, "警報" * 40)
    rows = [(i, c, str(m).lower(), u) for i, c, m, u in  # MultiPart: text on SQLite, boolean on PostgreSQL
            rig.db.query('SELECT "ID", "Coding", "MultiPart", "UDH" FROM outbox ORDER BY "ID"')]
    assert rows[0][1:] == ("Default_No_Compression", "true", "050003050201")
    assert rows[1][1:3] == ("Unicode_No_Compression", "true")
    parts = rig.db.query('SELECT "ID", "SequencePosition", "TextDecoded" FROM outbox_multipart ORDER BY "ID"')
    assert [(p[0], p[1]) for p in parts] == [(long_id, 2), (ja_id, 2)]
    first = rig.db.query('SELECT "TextDecoded" FROM outbox WHERE "ID" = ?', (long_id,))[0][0]
    assert first + parts[0][2] == "x" * 200 and len(first) == 153


def test_sent_status_is_none_while_queued(rig):
    assert gammu.sent_status(rig.db, gammu.queue_sms(rig.db, DUTY1, "hello")) is None


@given(st.text(alphabet=st.sampled_from("abc XYZ09€[]^{}警報ｱ😀\n"), max_size=700))
def test_split_for_sms_rejoins_and_every_part_fits(text):
    coding, parts = gammu.split_for_sms(text)
    assert "".join(parts) == text
    if len(parts) > 1:
        for part in parts:
            if coding == "Default_No_Compression":
                assert septet_length(part) <= 153
            else:
                assert len(part.encode("utf-16-be")) <= 67 * 2
    else:
        assert septet_length(text) <= 160 if is_gsm7(text) else len(text.encode("utf-16-be")) <= 140
    assert coding == ("Default_No_Compression" if is_gsm7(text) else "Unicode_No_Compression")


@given(st.text(alphabet="0123456789ABCDEFabcdefXZ", max_size=20))
def test_concat_header_parser_accepts_only_sane_headers(udh):
    info = gammu.concat_info(udh)
    if info is not None:
        ref, total, index = info
        assert 1 <= index <= total and udh[:6].upper() in ("050003", "060804")


def test_a_text_the_desk_fails_on_is_set_aside_and_intake_goes_on(rig, monkeypatch):
    from hubdesk import rules
    real = rules.on_message

    def fails_on_seq_2(view, sender, recipient, human, tag):
        if tag.seq == 2:
            raise KeyError("a fault in the desk")
        return real(view, sender, recipient, human, tag)
    monkeypatch.setattr(rules, "on_message", fails_on_seq_2)
    for seq in (1, 2, 3):
        rig.send(HUB_A, hub_text("A-101", "heartbeat", seq))
    for _ in range(6):
        rig.desk.step()
    assert rig.unprocessed() == 0
    assert [(t.endswith(".2"), "the desk failed on this text: KeyError" in r) for _, t, r in rig.rejects()] == [(True, True)]
    assert rig.db.query("SELECT COUNT(*) FROM desk_timeline WHERE what = 'message'")[0][0] == 2


def test_database_errors_are_not_mistaken_for_poison_texts(rig, monkeypatch):
    import sqlite3
    from hubdesk import intake

    def broken(*args, **kw):
        raise sqlite3.OperationalError("disk I/O error")
    monkeypatch.setattr(intake, "intake_batch", broken)
    rig.send(HUB_A, hub_text("A-101", "heartbeat", 1))
    with pytest.raises(sqlite3.OperationalError):
        rig.desk.step()
    assert rig.unprocessed() == 1 and rig.rejects() == []


def test_without_gammu_installed_the_minimal_schema_carries_the_same_flow(tmp_path, monkeypatch):
    monkeypatch.setattr(gammu, "SCHEMA_DIR", str(tmp_path / "no-gammu-here"))
    db = Database.open_sqlite(str(tmp_path / "demo.db"))
    rig = DeskRig(db)
    assert db.query("SELECT COUNT(*) FROM sqlite_master WHERE name = 'phones'") == [(0,)]  # not gammu's schema
    rig.send(HUB_A, hub_text("A-101", "inactivity", 1, 12, ALARM))
    rig.run()
    board_api.ack(db, 1, "sato", rig.clock())
    assert [n for n, _, _ in rig.outbox()] == [DUTY1, HUB_A]
    gammu.queue_sms(db, DUTY1, "警報" * 40)
    assert db.query('SELECT COUNT(*) FROM outbox_multipart')[0][0] == 1
    # what the demo's stand-in for gammu-smsd does, on this schema too
    sent = gammu.take_outbox(db, MODEM)
    assert [n for n, _ in sent] == [DUTY1, HUB_A, DUTY1] and sent[2][1] == "警報" * 40
    assert db.query('SELECT COUNT(*) FROM outbox') == [(0,)] and db.query('SELECT COUNT(*) FROM sentitems') == [(4,)]
    gammu.store_received(db, HUB_B, "警報" * 40, rig.clock(), MODEM, reference=7)
    assert db.query('SELECT "UDH", "TextDecoded" FROM inbox WHERE "SenderNumber" = ?', (HUB_B,)) == [
        ("0500030702" "01", "警報" * 40), ("0500030702" "02", "")]  # as gammu-smsd 1.42 stores a long text
    prune(db, 4e9)  # far beyond every stamp: the gateway's processed and sent copies go too
    assert db.query('SELECT COUNT(*) FROM sentitems') == [(0,)]
    assert db.query('SELECT COUNT(*) FROM inbox') == [(2,)]  # the two parts not yet taken in stay
    db.close()


def test_notes(rig):
    board_api.add_note(rig.db, "A-101", "sato", "  called the resident, fine  ", rig.clock())
    entry = board_api.flat_detail(rig.db, "A-101", rig.clock()).timeline[0]
    assert (entry.what, entry.text, entry.by) == ("note", "called the resident, fine", "sato")
    with pytest.raises(DeskError, match="empty"):
        board_api.add_note(rig.db, "A-101", "sato", " ", rig.clock())
    with pytest.raises(DeskError, match="no flat"):
        board_api.add_note(rig.db, "Z-9", "sato", "hi", rig.clock())


def test_retention_prunes_old_history_and_closed_alerts(rig):
    rig.send(HUB_A, hub_text("A-101", "inactivity", 1, 12, ALARM))
    rig.send(HUB_A, hub_text("A-101", "resolved:inactivity", 3, 12, "resolved"))
    rig.send("+81900", "junk")
    rig.run()
    assert rig.flat("A-101")["missed"] == 1
    rig.clock.advance(401 * 86400)
    rig.send(HUB_A, hub_text("A-101", "heartbeat", 4))
    # timeline: 2 texts, alert, gap, resolved; 1 reject, 1 closed alert, 1 missed number; the 3
    # texts taken in from gammu's inbox (the new heartbeat, not yet taken in, stays)
    assert prune(rig.db, rig.clock() - 400 * 86400) == 11
    assert rig.db.query('SELECT "TextDecoded" FROM inbox') == [(hub_text("A-101", "heartbeat", 4),)]
    rig.db.execute("DELETE FROM desk_timeline")  # prove the desk's own hourly pruning too
    rig.send(HUB_A, hub_text("A-101", "inactivity", 5, 13, ALARM))
    rig.send(HUB_A, hub_text("A-101", "resolved:inactivity", 6, 13, "resolved"))
    rig.run()
    rig.clock.advance(401 * 86400)
    rig.send(HUB_A, hub_text("A-101", "heartbeat", 7))
    rig.run()
    assert board_api.rejects(rig.db) == []
    detail = board_api.flat_detail(rig.db, "A-101", rig.clock())
    assert [e.what for e in detail.timeline] == ["message"] and detail.alerts == []
    assert detail.summary.missed == 0 and detail.summary.state == "ok"


def test_registration_follows_the_config(sqlite_db):
    rig = DeskRig(sqlite_db)
    rig.clock.advance(2 * 3600)
    rig.run()
    assert rig.flat("B-202")["state"] == "silent"
    again = DeskRig(sqlite_db, desk_config(flats=[{"id": "A-101", "phone": HUB_B}]))
    assert sqlite_db.query("SELECT flat, phone FROM desk_flats") == [("A-101", HUB_B)]
    assert sqlite_db.query("SELECT duty_stage FROM desk_alerts WHERE flat = 'B-202'") == [("flat unregistered",)]
    again.clock.advance(3 * 3600)
    again.run()
    assert not any("B-202" in t for _, t, _ in again.outbox()[1:])  # no more duty texts about it


SENDERS = st.sampled_from([HUB_A, HUB_B, DUTY1, "+819000000000", "", "Office"])
TAGGY = st.builds(lambda flat, code, alert, seq: f"x #{flat}.{code}{alert}.{seq}",
                  st.sampled_from(["A-101", "B-202", "Z-1", "A-101 "]), st.sampled_from(["hb", "in", "rin", "zz", "st"]),
                  st.sampled_from(["", "1", "12"]), st.integers(min_value=0, max_value=12))
TEXTS = st.one_of(st.text(max_size=80), TAGGY, st.sampled_from(["ACK 1", "ack 99", "ACK", "STATUS"]))
UDHS = st.one_of(st.just(""), st.just(""), st.sampled_from(["050003010201", "050003010202", "0608040001030303", "zz"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(SENDERS, TEXTS, UDHS), max_size=25))
def test_fuzz_intake_never_crashes_and_accounts_for_every_text(tmp_path_factory, texts):
    db = Database.open_sqlite(str(tmp_path_factory.mktemp("fuzz") / "smsd.db"))
    rig = DeskRig(db)
    for sender, text, udh in texts:
        rig.send(sender, text, udh=udh)
    rig.run()
    rig.clock.advance(30 * 3600)
    rig.run()
    assert rig.unprocessed() == 0
    accepted = db.query("SELECT COUNT(*) FROM desk_timeline WHERE what IN ('message', 'ack')")[0][0]
    rejected = db.query("SELECT COUNT(*) FROM desk_rejects")[0][0]
    joined_away = sum(1 for _, _, u in texts if u) - 0
    assert accepted + rejected <= len(texts) and accepted + rejected >= len(texts) - joined_away
    db.close()
