"""Store start-up check: a damaged or zero-length file is moved aside whole, a sound one is kept,
and the check is bounded in time (a big file on a slow card is used unchecked, not refused)."""

from __future__ import annotations

import logging
import os

import pytest

from hubd.store import Store, StoreError

from test_faults_store_damage import damage, populated


def test_a_sound_file_is_kept(tmp_path):
    path = populated(str(tmp_path))
    store = Store(str(tmp_path))
    assert store.set_aside is None and store.path == path and len(store.events()) == 3000


def test_a_zero_length_file_is_moved_aside_and_a_fresh_one_started(tmp_path):
    path = str(tmp_path / "hubd.sqlite3")
    open(path, "wb").close()
    store = Store(str(tmp_path))
    assert store.set_aside["reason"] == "the database file is empty (zero length)"
    assert os.path.getsize(store.set_aside["moved_to"]) == 0 and store.integrity_ok()


def test_the_damaged_file_moves_with_its_wal_and_shm(tmp_path):
    path = populated(str(tmp_path))
    damage(path, "kv")
    for suffix in ("-wal", "-shm"):  # as a power cut leaves them
        with open(path + suffix, "wb") as fh:
            fh.write(b"left by a power cut")
    store = Store(str(tmp_path))
    moved = store.set_aside["moved_to"]
    assert "quick_check" in store.set_aside["reason"]
    for suffix in ("", "-wal", "-shm"):
        assert os.path.exists(moved + suffix)
    assert store.get_value("snapshot") is None and store.events() == []


def test_the_check_is_bounded_in_time(tmp_path, caplog):
    populated(str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="hubd.store"):
        store = Store(str(tmp_path), check_seconds=-1.0)  # the time is up at the first progress call
    assert store.set_aside is None and len(store.events()) == 3000
    assert any("not finished" in r.getMessage() for r in caplog.records)


def test_damage_met_later_is_a_store_error_noted_for_replacement(tmp_path):
    path = populated(str(tmp_path))
    store = Store(str(tmp_path))
    damage(path, "audit")
    store.db.execute("PRAGMA shrink_memory")
    with pytest.raises(StoreError) as caught:
        store.audit_log()
    assert caught.value.damaged and store.damage
    info = store.replace_damaged()
    assert info["moved_to"].startswith(path + ".damaged-") and store.damage is None
    store.audit(1.0, "hub", "fresh", {})
    assert [a["action"] for a in store.audit_log()] == ["fresh"]
