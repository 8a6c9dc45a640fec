"""The pure rules: sequence numbers, alerts opened and resolved, silence, the board's summary."""

from hubd.sms_tag import Tag
from hubdesk import rules
from hubdesk.rules import FlatView, OpenAlert, on_message

PHONE = "+819011110001"


def view(**kw):
    return FlatView("A-101", PHONE, **kw)


def msg(v, kind, seq, alert=None, sender=PHONE, recipient="m1"):
    return on_message(v, sender, recipient, "words", Tag("A-101", kind, alert, seq))


def test_wrong_sender_is_rejected():
    d = msg(view(), "heartbeat", 1, sender="+819000000000")
    assert d.reject and "not from its hub" in d.reject


def test_gap_is_missed_resend_and_replay_rejected_late_arrival_fills():
    v = view(last_seq={"m1": 3})
    d = msg(v, "heartbeat", 6)
    assert d.seq == ("m1", 6) and d.missed_new == (4, 5) and d.heartbeat
    assert "resend" in msg(view(last_seq={"m1": 6}), "heartbeat", 6).reject
    assert "replay" in msg(view(last_seq={"m1": 6}), "heartbeat", 2).reject
    late = msg(view(last_seq={"m1": 6}, missed=frozenset({("m1", 4)})), "heartbeat", 4)
    assert late.reject is None and late.missed_filled == 4 and late.seq is None


def test_sequences_are_per_receiving_modem():
    d = msg(view(last_seq={"m1": 9}), "heartbeat", 1, recipient="m2")
    assert d.reject is None and d.seq == ("m2", 1) and d.missed_new == ()


def test_seq_one_after_higher_is_a_new_sequence_not_a_replay():
    d = msg(view(last_seq={"m1": 40}), "heartbeat", 1)
    assert d.reject is None and d.seq == ("m1", 1)


def test_huge_jump_is_counted_not_listed():
    d = msg(view(last_seq={"m1": 1}), "heartbeat", 100_000)
    assert len(d.missed_new) == rules.MAX_STORED_GAP
    assert d.missed_uncounted == 100_000 - 2 - rules.MAX_STORED_GAP


def test_alarm_opens_once_and_resolved_closes_it():
    d = msg(view(), "inactivity", 1, alert=12)
    assert d.open_alert == ("inactivity", "resident", 12)
    open_ = (OpenAlert(7, "inactivity", "resident", 12, 0.0),)
    again = msg(view(last_seq={"m1": 1}, open_alerts=open_), "inactivity", 2, alert=12)
    assert again.open_alert is None  # the hub's escalation to a second number: same alert
    done = msg(view(last_seq={"m1": 2}, open_alerts=open_), "resolved:inactivity", 3, alert=12)
    assert done.close_refs == (7,)


def test_faults_open_system_alerts_notices_do_not():
    assert msg(view(), "sensor_fault", 1, alert=3).open_alert == ("sensor_fault", "system", 3)
    assert msg(view(), "hub_restarted", 1, alert=4).open_alert is None


def test_any_message_ends_hub_silent():
    silent = (OpenAlert(9, rules.HUB_SILENT, "desk", None, 0.0),)
    d = msg(view(open_alerts=silent), "status", 1)
    assert d.close_refs == (9,) and d.status == "words"


def test_silence_due_counts_from_last_text_or_registration():
    assert rules.silence_due(None, 100.0, 3600.0, 600.0) == 4300.0
    assert rules.silence_due(1000.0, 100.0, 3600.0, 600.0) == 5200.0


def test_summary_orders_alarm_silent_fault_ok():
    alarm = OpenAlert(1, "inactivity", "resident", 1, 50.0, "no activity")
    silent = OpenAlert(2, rules.HUB_SILENT, "desk", None, 40.0, "silent")
    fault = OpenAlert(3, "sensor_fault", "system", 2, 30.0, "sensor")
    assert rules.summarize([fault, silent, alarm], 0, None)[:3] == ("alarm", 0, 50.0)
    assert rules.summarize([fault, silent], 0, None)[:3] == ("silent", 1, 40.0)
    assert rules.summarize([fault], 0, None)[:3] == ("fault", 2, 30.0)
    state, urgency, since, headline = rules.summarize([], 2, 20.0)
    assert (state, urgency, since) == ("fault", 2, 20.0) and "2 text(s) missing" in headline
    assert rules.summarize([], 0, None) == ("ok", 3, None, "all fine")
