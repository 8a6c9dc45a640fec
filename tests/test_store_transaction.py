"""Store.transaction: several writes (events, snapshot, alerts, outbox) commit together or not at all."""

from __future__ import annotations

import sqlite3

import pytest

from hubd.clock import FakeClock
from hubd.modem.outbox import Outbox
from hubd.store import Store, StoreError

from fakes import ev


def test_writes_inside_a_transaction_commit_together(tmp_path):
    store = Store(str(tmp_path))
    outbox = Outbox(store, FakeClock())
    store.add_event(ev(1.0))
    with store.transaction():
        store.record_alert({"id": 1, "type": "inactivity", "category": "resident", "key": "", "stage": "alarm",
                            "raised_local": 5.0})
        outbox.add("+8100000001", "alarm", "alarm", 1, 1)
        store.flush({"saved_mono": 1.0})
        other = sqlite3.connect(store.path)
        assert other.execute("SELECT count(*) FROM alerts").fetchone() == (0,)  # nothing visible yet
        assert store.pending_events == 1  # not committed: still pending
    assert store.pending_events == 0
    assert other.execute("SELECT count(*) FROM alerts").fetchone() == (1,)
    assert other.execute("SELECT count(*) FROM outbox").fetchone() == (1,)
    assert other.execute("SELECT count(*) FROM events").fetchone() == (1,)


def test_a_failed_transaction_keeps_nothing_but_the_sms_which_is_written_on_its_own(tmp_path):
    store = Store(str(tmp_path))
    outbox = Outbox(store, FakeClock())
    store.add_event(ev(1.0))
    with pytest.raises(RuntimeError):
        with store.transaction():
            message_id = outbox.add("+8100000001", "alarm", "alarm", 1, 1)
            store.flush({"saved_mono": 1.0})
            raise RuntimeError("power cut stand-in")
    # the SMS was decided: the outbox keeps it and writes it alone once the rollback is done
    other = sqlite3.connect(store.path)
    assert other.execute("SELECT id, state FROM outbox").fetchall() == [(message_id, "queued")]
    assert outbox.on_disk(message_id) and outbox.head().id == message_id
    assert store.load_snapshot() is None
    assert store.pending_events == 1
    store.flush({"saved_mono": 1.0})  # the same snapshot is written now: not skipped as unchanged
    assert store.load_snapshot() == {"saved_mono": 1.0} and len(store.events()) == 1


def test_a_failing_inner_write_rolls_back_only_itself_when_caught(tmp_path):
    store = Store(str(tmp_path))
    with store.transaction():
        store.audit(1.0, "hub", "kept", {})
        with pytest.raises(StoreError):
            store._write([("INSERT INTO nowhere VALUES (1)", ())])
        store.audit(2.0, "hub", "kept too", {})
    assert [a["action"] for a in store.audit_log()] == ["kept too", "kept"]


def test_a_read_only_database_is_a_store_error(tmp_path):
    store = Store(str(tmp_path))
    store.db.execute("PRAGMA query_only=ON")
    with pytest.raises(StoreError, match="state write failed"):
        with store.transaction():
            store.audit(1.0, "hub", "x", {})
    assert not store.db.in_transaction
