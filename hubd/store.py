"""Durable state in one SQLite database (WAL): events, the engine snapshot, alerts, audit.

Events are batched (the SD card wears with every commit); alerts and audit entries
are committed at once, because they are what must never be lost. Losing the newest
unflushed events on a power cut only makes the silence look longer: the safe side.

The engine snapshot is stored zlib-compressed (a learned detector's ~100 kB of arrays is a
few kB: one page instead of thirty per flush). A snapshot is written with the events it
follows; without new events (only time-driven bookkeeping changed, or only its timestamp)
at most every ``SNAPSHOT_REFRESH_S``. Alerts, SMS and commands do not wait for any of
this: the daemon commits them with their snapshot at once (``dated=True``).

``transaction()`` groups writes into one commit (nested, a savepoint of the outer one):
the daemon commits an alert, the SMS it queues and the engine snapshot that produced
them together, so a power cut never leaves the restored engine behind what it already
told the office.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import sqlite3
import threading
import zlib
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from .events import Event, Kind

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, mono REAL NOT NULL, local REAL NOT NULL,
    sensor TEXT NOT NULL, kind INTEGER NOT NULL, value REAL NOT NULL);
CREATE INDEX IF NOT EXISTS events_local ON events(local);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY, type TEXT NOT NULL, category TEXT NOT NULL, key TEXT NOT NULL,
    stage TEXT NOT NULL, raised_local REAL NOT NULL, ended_local REAL, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY, local REAL NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, detail TEXT NOT NULL);
"""


PACKED = "z:"  # a kv value that is base64 of zlib-compressed JSON (JSON never starts with "z")
SNAPSHOT_REFRESH_S = 3600.0  # an unchanged snapshot is rewritten this often, only to date it
_SNAPSHOT_TIMES = ("saved_mono", "saved_local")


def pack(text: str) -> str:
    return PACKED + base64.b64encode(zlib.compress(text.encode("utf-8"), 6)).decode("ascii")


def unpack(value: str) -> str:
    """A kv value as JSON text, packed or not (snapshots written before packing are plain)."""
    if value.startswith(PACKED):
        return zlib.decompress(base64.b64decode(value[len(PACKED):])).decode("utf-8")
    return value


def _snapshot_identity(snapshot: dict[str, Any]) -> str:
    """The snapshot without its own timestamp: what must be saved when it changes."""
    return dumps({k: v for k, v in snapshot.items() if k not in _SNAPSHOT_TIMES})


class StoreError(RuntimeError):
    """The state directory cannot be written (disk full, read-only, permissions)."""


def _encode(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        buf = io.BytesIO()
        np.save(buf, obj, allow_pickle=False)
        return {"__ndarray__": base64.b64encode(buf.getvalue()).decode("ascii")}
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"cannot store {type(obj).__name__}")


def _decode(obj: dict) -> Any:
    if "__ndarray__" in obj and len(obj) == 1:
        return np.load(io.BytesIO(base64.b64decode(obj["__ndarray__"])), allow_pickle=False)
    return obj


def dumps(value: Any) -> str:
    return json.dumps(value, default=_encode, separators=(",", ":"))


def loads(text: str) -> Any:
    return json.loads(text, object_hook=_decode)


class Store:
    volatile = ""  # why the state is only in memory ("" = it is on disk)

    def __init__(self, state_dir: str, filename: str = "hubd.sqlite3"):
        try:
            os.makedirs(state_dir, exist_ok=True)
            self.path = os.path.join(state_dir, filename)
            self._open()
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open state in {state_dir}: {exc}") from exc

    @classmethod
    def in_memory(cls, why: str) -> "Store":
        """State in RAM only, for a hub whose state directory cannot be written: it still
        watches and texts, and says why nothing will survive a restart."""
        store = cls.__new__(cls)
        store.path = ":memory:"
        store.volatile = why
        store._open()
        return store

    def _open(self) -> None:
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)
        self.lock = threading.RLock()  # one writer; hubctl readers use their own connection
        self._pending: list[tuple] = []
        self._last_snapshot: str | None = None
        self._last_snapshot_mono = float("-inf")
        self._on_commit: list[Callable[[], None]] = []

    # -- writes ------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self, what: str = "state") -> Iterator[None]:
        """Everything written inside commits at once or not at all; nested, it is a savepoint."""
        with self.lock:
            db = self.db
            try:
                if db.in_transaction:
                    db.execute("SAVEPOINT nested")
                    pending_calls = len(self._on_commit)
                    try:
                        yield
                    except BaseException:
                        del self._on_commit[pending_calls:]
                        db.execute("ROLLBACK TO nested")
                        db.execute("RELEASE nested")
                        raise
                    db.execute("RELEASE nested")
                    return
                db.execute("BEGIN IMMEDIATE")
                try:
                    yield
                    db.execute("COMMIT")
                except BaseException:
                    self._on_commit.clear()
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise StoreError(f"{what} write failed in {self.path}: {exc}") from exc
            done, self._on_commit = self._on_commit, []
            for call in done:
                call()

    def _after_commit(self, call: Callable[[], None]) -> None:
        """Run ``call`` once what was just written is committed (at once outside a transaction)."""
        if self.db.in_transaction:
            self._on_commit.append(call)
        else:
            call()

    def _write(self, statements: Iterable[tuple[str, Any]]) -> None:
        with self.transaction():
            for sql, args in statements:
                if args and isinstance(args, list):
                    self.db.executemany(sql, args)
                else:
                    self.db.execute(sql, args or ())

    def add_event(self, ev: Event) -> None:
        self._pending.append((ev.mono, ev.local, ev.sensor, int(ev.kind), ev.value))

    @property
    def pending_events(self) -> int:
        return len(self._pending)

    def flush(self, snapshot: dict[str, Any] | None = None, dated: bool = False) -> None:
        """Write batched events and the snapshot in one transaction (skipped when nothing changed;
        ``dated``: write the snapshot even if only its timestamp changed, e.g. at shutdown)."""
        statements: list[tuple[str, Any]] = []
        if self._pending:
            statements.append(("INSERT INTO events(mono, local, sensor, kind, value) VALUES (?,?,?,?,?)",
                               list(self._pending)))
        identity = None
        saved = float((snapshot or {}).get("saved_mono") or 0.0)
        if snapshot is not None:
            identity = _snapshot_identity(snapshot)
            due = saved - self._last_snapshot_mono >= SNAPSHOT_REFRESH_S
            # with no events to write, a changed snapshot is only time-driven bookkeeping (day
            # statistics, due times): it waits for the next events or the hourly refresh
            if dated or due or (identity != self._last_snapshot and self._pending):
                statements.append(("INSERT OR REPLACE INTO kv(key, value) VALUES ('snapshot', ?)",
                                   (pack(dumps(snapshot)),)))
            else:
                identity = None
        if not statements:
            return
        written = len(self._pending)
        with self.lock:
            self._write(statements)

            def committed() -> None:
                del self._pending[:written]
                if identity is not None:
                    self._last_snapshot, self._last_snapshot_mono = identity, saved
            self._after_commit(committed)

    def record_alert(self, rec: dict[str, Any]) -> None:
        self._write([("INSERT OR REPLACE INTO alerts(id, type, category, key, stage, raised_local, ended_local, record)"
                      " VALUES (?,?,?,?,?,?,?,?)",
                      (rec["id"], rec["type"], rec["category"], rec["key"], rec["stage"],
                       rec["raised_local"], rec.get("ended_local"), dumps(rec)))])

    def audit(self, local: float, actor: str, action: str, detail: dict[str, Any]) -> None:
        self._write([("INSERT INTO audit(local, actor, action, detail) VALUES (?,?,?,?)",
                      (local, actor, action, dumps(detail)))])

    def set_value(self, key: str, value: Any) -> None:
        self._write([("INSERT OR REPLACE INTO kv(key, value) VALUES (?, ?)", (key, dumps(value)))])

    def prune_events(self, before_local: float) -> int:
        with self.lock:
            cur = self.db.execute("DELETE FROM events WHERE local < ?", (before_local,))
            return cur.rowcount

    # -- reads -------------------------------------------------------------------
    def get_value(self, key: str) -> Any:
        with self.lock:
            row = self.db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return None if row is None else loads(unpack(row[0]))

    def load_snapshot(self) -> dict[str, Any] | None:
        snap = self.get_value("snapshot")
        if snap is not None:
            self._last_snapshot = _snapshot_identity(snap)
            self._last_snapshot_mono = float(snap.get("saved_mono") or 0.0)
        return snap

    def events(self, since_local: float | None = None, limit: int | None = None) -> list[Event]:
        sql = "SELECT mono, local, sensor, kind, value FROM events"
        args: list[Any] = []
        if since_local is not None:
            sql += " WHERE local >= ?"
            args.append(since_local)
        sql += " ORDER BY id DESC" if limit else " ORDER BY id"
        if limit:
            sql += " LIMIT ?"
            args.append(limit)
        with self.lock:
            rows = self.db.execute(sql, args).fetchall()
        if limit:
            rows.reverse()
        return [Event(m, l, s, Kind(k), v) for m, l, s, k, v in rows]

    def alerts(self, limit: int = 50, open_only: bool = False) -> list[dict[str, Any]]:
        sql = "SELECT record FROM alerts"
        if open_only:
            sql += " WHERE stage IN ('prealarm', 'alarm')"
        sql += " ORDER BY id DESC LIMIT ?"
        with self.lock:
            return [loads(r[0]) for r in self.db.execute(sql, (limit,)).fetchall()]

    def audit_log(self, limit: int = 50) -> list[dict[str, Any]]:
        with self.lock:
            rows = self.db.execute("SELECT local, actor, action, detail FROM audit ORDER BY id DESC LIMIT ?",
                                   (limit,)).fetchall()
        return [{"local": l, "actor": a, "action": act, "detail": loads(d)} for l, a, act, d in rows]

    def integrity_ok(self) -> bool:
        with self.lock:
            return self.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    def close(self) -> None:
        with self.lock:
            self.db.close()
