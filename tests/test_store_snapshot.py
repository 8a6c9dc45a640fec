"""How the store writes the engine snapshot: compressed, with the events it follows, and
without new events at most hourly (SD wear: see docs/performance.md)."""

from __future__ import annotations

import numpy as np

from hubd.events import Event, Kind
from hubd.store import SNAPSHOT_REFRESH_S, Store, dumps


def writes(store: Store) -> int:
    return store.db.total_changes


def snap(mono: float, **state) -> dict:
    return {"saved_mono": mono, "saved_local": mono + 1e9, **state}


def test_the_snapshot_is_stored_compressed_and_reads_back_exactly(tmp_path):
    store = Store(str(tmp_path))
    arrays = {"hist": np.zeros((48, 128)), "sv": np.arange(24.0)}
    store.flush(snap(1.0, detector=arrays), dated=True)
    raw = store.db.execute("SELECT value FROM kv WHERE key = 'snapshot'").fetchone()[0]
    assert raw.startswith("z:") and len(raw) < len(dumps(arrays)) / 10
    back = Store(str(tmp_path)).load_snapshot()
    np.testing.assert_array_equal(back["detector"]["hist"], arrays["hist"])
    np.testing.assert_array_equal(back["detector"]["sv"], arrays["sv"])


def test_a_snapshot_written_before_compression_still_loads(tmp_path):
    store = Store(str(tmp_path))
    store.db.execute("INSERT INTO kv(key, value) VALUES ('snapshot', ?)", (dumps(snap(5.0, mode="home")),))
    assert Store(str(tmp_path)).load_snapshot()["mode"] == "home"


def test_without_events_the_snapshot_waits_for_the_hourly_refresh_unless_dated(tmp_path):
    store = Store(str(tmp_path))
    store.flush(snap(0.0, watchers=1), dated=True)
    before = writes(store)
    store.flush(snap(60.0, watchers=1))  # only its timestamp changed
    store.flush(snap(120.0, watchers=2))  # time-driven bookkeeping changed, no events
    assert writes(store) == before
    store.flush(snap(SNAPSHOT_REFRESH_S, watchers=2))
    assert writes(store) == before + 1
    assert store.load_snapshot()["watchers"] == 2
    store.flush(snap(SNAPSHOT_REFRESH_S + 1, watchers=3), dated=True)  # an alert, a command, shutdown
    assert store.load_snapshot()["watchers"] == 3


def test_with_events_a_changed_snapshot_is_written_with_them(tmp_path):
    store = Store(str(tmp_path))
    store.flush(snap(0.0, last=0), dated=True)
    store.add_event(Event(10.0, 10.0, "hall", Kind.MOTION, 1.0))
    store.flush(snap(60.0, last=10))
    assert store.load_snapshot()["last"] == 10 and len(store.events()) == 1
