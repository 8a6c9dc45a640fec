import os
import sqlite3

import numpy as np
import pytest

from hubd.events import Event, Kind
from hubd.store import Store, StoreError


def test_wal_mode_and_batched_events(tmp_path):
    store = Store(str(tmp_path))
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.add_event(Event(1.0, 100.0, "hall", Kind.MOTION, 1))
    assert store.events() == []  # not written until flushed
    store.flush({"a": 1})
    assert [e.sensor for e in store.events()] == ["hall"]
    assert store.load_snapshot() == {"a": 1}


def test_snapshot_keeps_numpy_arrays_exactly(tmp_path):
    store = Store(str(tmp_path))
    arr = np.linspace(0, 1, 48).reshape(2, 24)
    store.flush({"detector": {"thresholds": arr, "n": np.int64(3)}})
    again = Store(str(tmp_path)).load_snapshot()
    assert np.array_equal(again["detector"]["thresholds"], arr)
    assert again["detector"]["thresholds"].dtype == arr.dtype
    assert again["detector"]["n"] == 3


def test_unchanged_snapshot_is_not_rewritten(tmp_path):
    store = Store(str(tmp_path))
    store.flush({"x": 1})
    before = store.db.total_changes
    store.flush({"x": 1})
    assert store.db.total_changes == before


def test_alerts_audit_and_retention(tmp_path):
    store = Store(str(tmp_path))
    rec = {"id": 3, "type": "inactivity", "category": "resident", "key": "", "stage": "alarm",
           "raised_local": 50.0, "ended_local": None}
    store.record_alert(rec)
    store.audit(60.0, "tech", "mode_away", {"hours": 2})
    assert store.alerts(open_only=True)[0]["id"] == 3
    assert store.audit_log()[0]["detail"] == {"hours": 2}
    for t in (10.0, 20.0, 30.0):
        store.add_event(Event(t, t, "s", Kind.DOOR, 1))
    store.flush()
    assert store.prune_events(25.0) == 2
    assert [e.local for e in store.events()] == [30.0]
    assert store.integrity_ok()


def test_open_alerts_are_those_the_policy_still_holds_settling_included(tmp_path):
    store = Store(str(tmp_path))
    stages = ("prealarm", "pending", "alarm", "settling", "resolved", "cancelled", "notified")
    for i, stage in enumerate(stages, 1):
        store.record_alert({"id": i, "type": "sensor_fault", "category": "system", "key": "s", "stage": stage,
                            "raised_local": 50.0, "ended_local": None})
    assert sorted(a["stage"] for a in store.alerts(open_only=True)) == ["alarm", "pending", "prealarm", "settling"]
    assert len(store.alerts(limit=5)) == 5


def test_read_only_state_dir_is_a_clear_error(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root ignores directory permissions")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    with pytest.raises(StoreError, match="cannot open state"):
        Store(str(ro))


def test_write_failure_is_store_error_and_loses_nothing_buffered(tmp_path):
    store = Store(str(tmp_path))
    store.add_event(Event(1.0, 1.0, "s", Kind.DOOR, 1))
    store.db.execute("PRAGMA query_only=ON")  # stands in for a read-only or full disk
    with pytest.raises(StoreError, match="state write failed"):
        store.flush({"x": 1})
    assert store.pending_events == 1  # still buffered for the next attempt
    store.db.execute("PRAGMA query_only=OFF")
    store.flush({"x": 1})
    assert len(store.events()) == 1
