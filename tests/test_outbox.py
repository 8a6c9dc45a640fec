"""The persistent outbox: committed before sending, every step durable, ambiguity bounded."""

from __future__ import annotations

import dataclasses
import sqlite3

import pytest

from hubd.clock import FakeClock
from hubd.modem.outbox import RETRY_HELD_S, Inbox, Outbox
from hubd.store import Store

TO = "+819012345678"


@pytest.fixture
def store(tmp_path):
    store = Store(str(tmp_path / "state"))
    yield store
    store.close()


@pytest.fixture
def outbox(store, clock):
    return Outbox(store, clock)


def other_connection(store: Store) -> sqlite3.Connection:
    """A second connection sees only what was committed."""
    return sqlite3.connect(store.path)


def test_a_new_message_is_committed_as_queued(store, outbox):
    message_id = outbox.add(TO, "hello", "alarm", 3, 1)
    row = other_connection(store).execute("SELECT recipient, text, purpose, alert_id, state, attempts FROM outbox"
                                          " WHERE id = ?", (message_id,)).fetchone()
    assert row == (TO, "hello", "alarm", 3, "queued", 0)


def test_the_attempt_is_counted_and_the_pdu_committed_before_it_goes(store, outbox):
    """Until a part's PDU may go the row stays queued (a kill there loses nothing and is no
    ambiguity); pdu_going commits 'sending' first; a part that went leaves it queued for the next."""
    message_id = outbox.add(TO, "hello", "alarm", None, 2)
    message = outbox.begin_attempt(message_id)
    assert (message.state, message.attempts) == ("queued", 1)
    outbox.pdu_going(message_id)
    assert other_connection(store).execute("SELECT state FROM outbox").fetchone() == ("sending",)
    outbox.part_sent(message_id, 0, 17)
    assert other_connection(store).execute("SELECT state, parts_sent FROM outbox").fetchone() == ("queued", 1)


def test_parts_and_references_then_sent(outbox, clock):
    message_id = outbox.add(TO, "x" * 200, "alarm", None, 2)
    outbox.begin_attempt(message_id)
    outbox.part_sent(message_id, 0, 17)
    assert outbox.get(message_id).parts_sent == 1
    outbox.part_sent(message_id, 1, 18)
    outbox.finish_sent(message_id)
    message = outbox.get(message_id)
    assert (message.state, message.message_refs, message.parts_sent) == ("sent", (17, 18), 2)
    assert message.sent_local == clock.local()


def test_head_is_the_oldest_unsent(outbox):
    first = outbox.add(TO, "one", "alarm", None, 1)
    second = outbox.add(TO, "two", "alarm", None, 1)
    assert outbox.head().id == first
    outbox.begin_attempt(first)
    outbox.finish_sent(first)
    assert outbox.head().id == second
    outbox.fail(second, "permanent")
    assert outbox.head() is None
    assert outbox.counts() == {"queued": 0, "sending": 0, "sent": 1, "delivered": 0, "failed": 1, "held": 0}


def test_retry_time_survives_restart_and_is_clamped_when_the_wall_clock_jumps(store, clock):
    outbox = Outbox(store, clock)
    message_id = outbox.add(TO, "hello", "alarm", None, 1)
    outbox.retry_later(message_id, "+CMS ERROR: 331", 120.0)
    reopened = Outbox(store, clock)
    message = reopened.get(message_id)
    assert (message.state, message.last_error) == ("queued", "+CMS ERROR: 331")
    assert reopened.due_in(message, 900.0) == pytest.approx(120.0)
    clock.jump_wall(-365 * 86400.0)  # the Pi booted without its clock
    assert reopened.due_in(message, 900.0) == 900.0
    clock.jump_wall(+366 * 86400.0)
    assert reopened.due_in(message, 900.0) == 0.0


def test_an_ambiguous_outcome_allows_one_resend_only(outbox):
    message_id = outbox.add(TO, "hello", "alarm", None, 1)
    outbox.begin_attempt(message_id)
    assert outbox.ambiguous_outcome(message_id, "AT+CMGS=18: no final answer") is True
    message = outbox.get(message_id)
    assert (message.state, message.ambiguous) == ("queued", 1)
    outbox.begin_attempt(message_id)
    assert outbox.ambiguous_outcome(message_id, "AT+CMGS=18: no final answer") is False
    message = outbox.get(message_id)
    assert (message.state, message.ambiguous, message.attempts) == ("failed", 2, 2)
    assert "not resent" in message.last_error


def test_a_message_left_sending_is_recovered_as_ambiguous(store, clock):
    outbox = Outbox(store, clock)
    once = outbox.add(TO, "cut off once", "alarm", None, 1)
    twice = outbox.add(TO, "cut off twice", "alarm", None, 1)
    untouched = outbox.add(TO, "never tried", "alarm", None, 1)
    before_pdu = outbox.add(TO, "cut off before its PDU went", "alarm", None, 1)
    for message_id in (once, twice, before_pdu):
        outbox.begin_attempt(message_id)
    outbox.pdu_going(once)
    outbox.pdu_going(twice)
    outbox.ambiguous_outcome(twice, "timeout")
    outbox.begin_attempt(twice)
    outbox.pdu_going(twice)
    restarted = Outbox(store, clock)
    assert restarted.recover_interrupted() == [once, twice]
    # killed between AT+CMGS and its PDU: nothing left, so it is simply sent again, no ambiguity
    assert (restarted.get(before_pdu).state, restarted.get(before_pdu).ambiguous) == ("queued", 0)
    assert (restarted.get(once).state, restarted.get(once).ambiguous) == ("queued", 1)
    # a modem timeout and then a power cut: cut off by a restart, it still goes again
    assert (restarted.get(twice).state, restarted.get(twice).ambiguous) == ("queued", 2)
    assert restarted.get(untouched).state == "queued" and restarted.get(untouched).ambiguous == 0


def test_a_message_cut_off_by_restarts_is_resent_three_times_then_given_up(store, clock):
    """A failing supply cuts the hub again and again: a message cut off twice has most likely never
    left, so it goes again; after three resends it is given up (a send that itself browns the Pi
    out must not loop for ever)."""
    message_id = Outbox(store, clock).add(TO, "cut off", "alarm", None, 1)
    for cut in range(1, 5):
        outbox = Outbox(store, clock)
        outbox.begin_attempt(message_id)
        outbox.pdu_going(message_id)
        restarted = Outbox(store, clock)
        assert restarted.recover_interrupted() == [message_id]
        message = restarted.get(message_id)
        assert (message.state, message.ambiguous) == (("queued", cut) if cut <= 3 else ("failed", 4))
    assert "not resent" in message.last_error


def test_a_modem_timeout_after_restart_resends_is_not_resent_again(store, clock):
    outbox = Outbox(store, clock)
    message_id = outbox.add(TO, "cut off", "alarm", None, 1)
    outbox.begin_attempt(message_id)
    outbox.pdu_going(message_id)
    restarted = Outbox(store, clock)
    restarted.recover_interrupted()
    restarted.begin_attempt(message_id)
    assert restarted.ambiguous_outcome(message_id, "AT+CMGS: no final answer") is False
    assert restarted.get(message_id).state == "failed"


def test_a_late_cmgs_resolves_the_ambiguity(outbox):
    message_id = outbox.add(TO, "x" * 200, "alarm", None, 2)
    outbox.begin_attempt(message_id)
    outbox.part_sent(message_id, 0, 5)
    outbox.ambiguous_outcome(message_id, "timeout")
    message = outbox.resolve_late_submit(message_id, 1, 6)
    assert (message.state, message.ambiguous, message.message_refs) == ("sent", 0, (5, 6))


def test_delivery_reports_match_by_reference_and_number(outbox):
    single = outbox.add(TO, "one", "alarm", None, 1)
    double = outbox.add(TO, "two" * 60, "alarm", None, 2)
    other = outbox.add("+819099999999", "three", "alarm", None, 1)
    for message_id, refs in ((single, [10]), (double, [11, 12]), (other, [11])):
        outbox.begin_attempt(message_id)
        for index, ref in enumerate(refs):
            outbox.part_sent(message_id, index, ref)
        outbox.finish_sent(message_id)
    assert outbox.apply_report(10, "09012345678", 0x00).state == "delivered"  # national form of the same phone
    assert outbox.apply_report(11, TO, 0x00).state == "sent"  # one part of two
    assert outbox.apply_report(12, TO, 0x00).state == "delivered"
    assert outbox.apply_report(11, "+819099999999", 0x41).state == "failed"
    assert "0x41" in outbox.get(other).last_error
    assert outbox.apply_report(99, TO, 0) is None


def test_a_temporary_report_keeps_the_message_sent(outbox):
    message_id = outbox.add(TO, "one", "alarm", None, 1)
    outbox.begin_attempt(message_id)
    outbox.part_sent(message_id, 0, 7)
    outbox.finish_sent(message_id)
    assert outbox.apply_report(7, TO, 0x21).state == "sent"


def test_concat_reference_is_stable(outbox):
    message_id = outbox.add(TO, "x" * 400, "alarm", None, 3)
    assert outbox.get(message_id).concat_ref == message_id % 256


def test_a_message_that_cannot_be_encoded_is_kept_as_failed(outbox):
    message_id = outbox.add("not a number", "hello", "alarm", None, 0, failed_because="bad number")
    assert (outbox.get(message_id).state, outbox.get(message_id).last_error) == ("failed", "bad number")


def test_inbox_keeps_parts_until_done(store, clock):
    inbox = Inbox(store, clock)
    first = inbox.add("00AA", "+8190")
    bad = inbox.add("ZZ", None, "malformed", "not hex")
    assert [part.id for part in inbox.waiting_parts()] == [first]
    inbox.mark([first], "done")
    assert inbox.waiting_parts() == []
    assert {part.id: part.state for part in Inbox(store, clock).parts()} == {first: "done", bad: "malformed"}


def test_tables_live_next_to_the_hubs_state(store, clock):
    Outbox(store, FakeClock())
    names = {row[0] for row in other_connection(store).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"outbox", "sms_inbox", "events", "alerts"} <= names


# -- alarms first (issue 13.5) ------------------------------------------------------------------
def test_an_alarm_queued_behind_forty_replies_is_the_head(outbox):
    replies = [outbox.add(TO, f"status {i}", "reply", None, 1) for i in range(40)]
    alarm = outbox.add(TO, "no activity", "alarm", 7, 1)
    assert outbox.head().id == alarm
    outbox.begin_attempt(alarm)
    outbox.finish_sent(alarm)
    assert outbox.head().id == replies[0]  # then the rest, oldest first


def test_send_order_is_alarm_then_system_and_ends_then_the_rest_each_oldest_first(outbox):
    order = ["reply", "heartbeat", "test", "system", "resolved", "alarm", "system", "alarm", "something new"]
    ids = {outbox.add(TO, purpose, purpose, None, 1): purpose for purpose in order}
    sent = []
    while (head := outbox.head()) is not None:
        sent.append(ids[head.id])
        outbox.begin_attempt(head.id)
        outbox.finish_sent(head.id)
    assert sent == ["alarm", "alarm", "system", "resolved", "system", "reply", "heartbeat", "test", "something new"]


# -- a disk that refuses (issue 13.1) ----------------------------------------------------------------
def test_a_message_the_disk_refuses_is_held_sent_and_written_once_the_disk_takes_it(store, clock):
    outbox = Outbox(store, clock)
    store.db.execute("PRAGMA query_only=ON")  # stands in for a read-only card
    message_id = outbox.add(TO, "no activity", "alarm", 3, 1)
    assert not outbox.on_disk(message_id) and outbox.counts()["held"] == 1
    assert outbox.head().id == message_id  # sent all the same
    outbox.begin_attempt(message_id)
    outbox.part_sent(message_id, 0, 42)
    outbox.finish_sent(message_id)
    assert outbox.get(message_id).state == "sent" and outbox.counts()["sent"] == 1
    store.db.execute("PRAGMA query_only=OFF")
    outbox.head()  # too soon: retried every RETRY_HELD_S, not on every look
    assert outbox.counts()["held"] == 1
    clock.advance(RETRY_HELD_S)
    assert outbox.head() is None and outbox.counts()["held"] == 0
    assert other_connection(store).execute("SELECT id, state, message_refs FROM outbox").fetchall() == [
        (message_id, "sent", "[42]")]


def test_a_held_message_keeps_its_id_and_ids_never_collide(store, clock):
    outbox = Outbox(store, clock)
    store.db.execute("PRAGMA query_only=ON")
    held = outbox.add(TO, "one", "alarm", None, 1)
    store.db.execute("PRAGMA query_only=OFF")
    written = outbox.add(TO, "two", "alarm", None, 1)
    clock.advance(RETRY_HELD_S)
    outbox.head()
    rows = other_connection(store).execute("SELECT id, text FROM outbox ORDER BY id").fetchall()
    assert rows == [(held, "one"), (written, "two")] and held < written


def test_a_damaged_outbox_table_does_not_stop_sending(store, clock):
    outbox = Outbox(store, clock)
    store.db.execute("DROP TABLE outbox")  # every read and write of the table fails from now on
    message_id = outbox.add(TO, "no activity", "alarm", 3, 1)
    assert outbox.head().id == message_id
    assert outbox.counts()["queued"] == 1 and [m.id for m in outbox.messages()] == [message_id]


# -- the tag's sequence numbers (hubd.sms_tag) -----------------------------------------------------
def test_tag_sequence_numbers_run_per_recipient_from_one(outbox):
    from hubd.sms_tag import Tag, parse
    label = Tag("A-101", "heartbeat", None, 0)
    texts = [outbox.compose(to, "hubd A-101: alive", label) for to in (TO, TO, "+819000000002", TO)]
    assert [parse(t)[1].seq for t in texts] == [1, 2, 1, 3]
    assert texts[0] == "hubd A-101: alive #A-101.hb.1"
    assert outbox.compose(TO, "untagged", None) == "untagged"


def test_tag_sequence_numbers_go_on_after_a_restart_and_from_held_messages(store, clock, tmp_path):
    """The counter is the texts themselves: the latest text on disk, or still held in memory."""
    from hubd.sms_tag import Tag, parse
    label = Tag("A-101", "inactivity", 4, 0)
    first = Outbox(store, clock)
    for _ in range(3):
        first.add(TO, first.compose(TO, "hubd A-101: x", label), "alarm", 4, 1)
    again = Outbox(store, clock)
    assert parse(again.compose(TO, "hubd A-101: x", label))[1].seq == 4
    held = Outbox(store, clock)
    held._live[99] = dataclasses.replace(held.get(3), id=99, text="hubd A-101: x #A-101.in4.17")
    assert parse(held.compose(TO, "hubd A-101: x", label))[1].seq == 18
    assert parse(held.compose("+819000000002", "hubd A-101: x", label))[1].seq == 1
