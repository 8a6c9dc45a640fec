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

Faults of the medium (issue 13):

- **A full disk must not stop an alarm.** A file of ``reserve_bytes`` is kept beside the
  database. When an *essential* write (the SMS outbox) finds the disk full, the outbox
  releases it and writes into the space it frees; from then on every other write is refused
  until the filesystem has room for the reserve again, so the events and snapshots of a
  full disk cannot eat the outbox's space. A file rather than SQLite's own free pages:
  a WAL database grows its ``-wal`` file on every commit, which free pages inside the
  database file do not help, and a plain file's blocks are freed by one ``unlink``.
- **A damaged file must not silence the hub.** Opening checks the database
  (``PRAGMA quick_check``, bounded in time) and moves a damaged or zero-length file aside
  with its ``-wal``/``-shm`` (kept for inspection, ``set_aside`` says where and why), then
  starts a fresh one. Damage met later (SQLITE_CORRUPT/NOTADB from any table) is noted in
  ``damage`` and the caller replaces the file at its next safe moment
  (``replace_damaged``): the daemon keeps its engine in memory and writes it anew.
  Every SQLite error leaves this module as a ``StoreError``.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import os
import sqlite3
import threading
import time
import zlib
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from .core.alerts import NOT_OVER
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


log = logging.getLogger("hubd.store")

PACKED = "z:"  # a kv value that is base64 of zlib-compressed JSON (JSON never starts with "z")
SNAPSHOT_REFRESH_S = 3600.0  # an unchanged snapshot is rewritten this often, only to date it
_SNAPSHOT_TIMES = ("saved_mono", "saved_local")
RESERVE_BYTES = 512 * 1024  # room kept for the outbox: ~120 WAL frames, the whole life of ~10 SMS
CHECK_SECONDS = 10.0  # the start-up check gives up (and trusts the file) after this long
_DAMAGE_CODES = (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB
_FULL_CODE = 13  # SQLITE_FULL


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
    """The state directory cannot be written (disk full, read-only, permissions) or the
    database is damaged. ``full``: the disk is full (the outbox may spend the reserve)."""

    def __init__(self, message: str, full: bool = False, damaged: bool = False):
        super().__init__(message)
        self.full = full
        self.damaged = damaged


def _error_code(exc: BaseException) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def is_damage(exc: BaseException) -> bool:
    """The file itself is damaged (not a full or read-only disk)."""
    code = _error_code(exc)
    if code is not None:
        return code in _DAMAGE_CODES
    text = str(exc)
    return "malformed" in text or "not a database" in text


def _is_full(exc: BaseException) -> bool:
    code = _error_code(exc)
    return code == _FULL_CODE if code is not None else "disk is full" in str(exc)


def _file_size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


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

    def __init__(self, state_dir: str, filename: str = "hubd.sqlite3", *, reserve_bytes: int = RESERVE_BYTES,
                 check_seconds: float = CHECK_SECONDS):
        self._setup(reserve_bytes)
        try:
            os.makedirs(state_dir, exist_ok=True)
            self.path = os.path.join(state_dir, filename)
            damage = self._inspect(check_seconds)
            if damage:
                self.set_aside = self._move_aside(damage)
            self._connect()
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open state in {state_dir}: {exc}") from exc
        self.reserve_spent = not self._keep_reserve()

    @classmethod
    def in_memory(cls, why: str) -> "Store":
        """State in RAM only, for a hub whose state directory cannot be written: it still
        watches and texts, and says why nothing will survive a restart."""
        store = cls.__new__(cls)
        store._setup(0)
        store.path = ":memory:"
        store.volatile = why
        store._connect()
        return store

    def _setup(self, reserve_bytes: int) -> None:
        self.lock = threading.RLock()  # one writer; hubctl readers use their own connection
        self.reserve_bytes = reserve_bytes
        self.reserve_spent = False
        self.set_aside: dict[str, Any] | None = None  # a damaged file moved aside: where and why
        self.damage: str | None = None  # damage met since then: replace_damaged() at the next safe moment
        self._schemas = [SCHEMA]
        self._on_replaced: list[Callable[[], None]] = []
        self._pending: list[tuple] = []
        self._last_snapshot: str | None = None
        self._last_snapshot_mono = float("-inf")
        self._on_commit: list[Callable[[], None]] = []
        self._on_rollback: list[Callable[[], None]] = []

    def _connect(self) -> None:
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        for schema in self._schemas:
            self.db.executescript(schema)

    def add_schema(self, schema: str) -> None:
        """Tables another module keeps here (the SMS outbox): created now and in any fresh file."""
        with self.lock:
            try:
                self.db.executescript(schema)
            except sqlite3.Error as exc:
                raise self._failure("creating tables", exc) from exc
            self._schemas.append(schema)

    def on_replaced(self, call: Callable[[], None]) -> None:
        """``call()`` after a damaged file was replaced by a fresh one (to write what lives in memory)."""
        self._on_replaced.append(call)

    # -- damage ------------------------------------------------------------------
    def _inspect(self, seconds: float) -> str | None:
        """Why the file on disk cannot be used (None: it can, or there is none yet)."""
        if not os.path.exists(self.path):
            return None
        if _file_size(self.path) == 0 and _file_size(self.path + "-wal") == 0:
            return "the database file is empty (zero length)"
        # read-only: closing it neither checkpoints nor deletes a -wal kept for inspection
        db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None)
        try:
            db.execute("PRAGMA schema_version").fetchone()
        except sqlite3.OperationalError:  # no -shm to read with: the writer's way
            db.close()
            db = sqlite3.connect(self.path, isolation_level=None)
        except sqlite3.DatabaseError as exc:
            db.close()
            return f"quick_check: {exc}"
        deadline = time.monotonic() + seconds
        db.set_progress_handler(lambda: time.monotonic() > deadline, 10_000)
        try:
            rows = db.execute("PRAGMA quick_check(5)").fetchall()
        except sqlite3.OperationalError as exc:
            if "interrupt" in str(exc):  # a big file on a slow card: better watched unchecked than not at all
                log.warning("database check of %s not finished within %.0f s: using it unchecked", self.path, seconds)
                return None
            if is_damage(exc):
                return f"quick_check: {exc}"
            raise
        except sqlite3.DatabaseError as exc:
            return f"quick_check: {exc}"
        finally:
            db.close()
        found = [str(row[0]) for row in rows]
        return None if found == ["ok"] else "quick_check: " + "; ".join(found)[:400]

    def _move_aside(self, reason: str) -> dict[str, Any]:
        """Rename the file and its -wal/-shm to ``<name>.damaged-<UTC time>`` (kept for inspection)."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        target, n = f"{self.path}.damaged-{stamp}", 1
        while os.path.exists(target):
            n += 1
            target = f"{self.path}.damaged-{stamp}-{n}"
        for suffix in ("-wal", "-shm", ""):  # the main file last: a half-done move is retried whole next start
            if os.path.exists(self.path + suffix):
                os.replace(self.path + suffix, target + suffix)
        log.error("damaged state database %s moved aside to %s (%s); starting on a fresh one",
                  self.path, target, reason)
        return {"reason": reason, "moved_to": target}

    def replace_damaged(self, reason: str | None = None) -> dict[str, Any]:
        """Move the damaged file aside and go on with a fresh one (in memory if even that fails);
        what lives in memory (unflushed events, the outbox's live messages) is written anew."""
        with self.lock:
            reason = reason or self.damage or "damaged"
            with contextlib.suppress(sqlite3.Error):
                self.db.close()
            try:
                info = self._move_aside(reason)
                self._connect()
            except (OSError, sqlite3.Error) as exc:
                log.error("cannot replace the damaged database %s: %s; keeping the state in memory", self.path, exc)
                info = {"reason": reason, "moved_to": None}
                self.path = ":memory:"
                self.volatile = f"damaged state database could not be replaced: {exc}"
                self._connect()
            self.damage = None
            self.set_aside = info
            self._last_snapshot, self._last_snapshot_mono = None, float("-inf")
            self._on_commit = []
            for call in self._on_replaced:
                call()
        return info

    def _failure(self, action: str, exc: BaseException) -> StoreError:
        damaged = is_damage(exc)
        if damaged and self.damage is None:
            self.damage = f"{action}: {exc}"
        return StoreError(f"{action} failed in {self.path}: {exc}", full=_is_full(exc), damaged=damaged)

    # -- the outbox's reserve ----------------------------------------------------
    @property
    def _reserve_path(self) -> str:
        return self.path + ".reserve"

    def _free_bytes(self) -> int:
        st = os.statvfs(os.path.dirname(self.path))
        return st.f_bavail * st.f_frsize

    def _keep_reserve(self) -> bool:
        """Make sure the reserve exists: False while the disk has no room for it and as much again."""
        if self.volatile or not self.reserve_bytes:
            return True
        path = self._reserve_path
        if _file_size(path) >= self.reserve_bytes:
            return True
        try:
            if self._free_bytes() < 2 * self.reserve_bytes:
                return False
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                os.posix_fallocate(fd, 0, self.reserve_bytes)  # real blocks, not a sparse file
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            log.warning("cannot keep %d bytes in reserve at %s: %s", self.reserve_bytes, path, exc)
            with contextlib.suppress(OSError):
                os.unlink(path)
            return False
        return True

    def release_reserve(self) -> bool:
        """The disk is full and the outbox must write: free the reserve (True if there was one)."""
        try:
            os.unlink(self._reserve_path)
        except OSError:
            return False
        self.reserve_spent = True
        log.error("disk full under %s: reserve released for the SMS outbox; other writes wait for space",
                  self.path)
        return True

    def _may_write(self, what: str) -> None:
        """While the reserve is spent only essential writes go on (its space is the outbox's)."""
        if self.reserve_spent:
            if not self._keep_reserve():
                raise StoreError(f"{what} write refused in {self.path}: database or disk is full (the space "
                                 "left is kept for the SMS outbox)", full=True)
            self.reserve_spent = False
            log.info("space under %s again: reserve for the outbox restored", self.path)

    # -- writes ------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self, what: str = "state", essential: bool = False) -> Iterator[None]:
        """Everything written inside commits at once or not at all; nested, it is a savepoint.
        ``essential``: the SMS outbox's writes, which may use the disk's last space."""
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
                if not essential:
                    self._may_write(what)
                db.execute("BEGIN IMMEDIATE")
                try:
                    yield
                    db.execute("COMMIT")
                except BaseException:
                    self._on_commit.clear()
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    undone, self._on_rollback = self._on_rollback, []
                    for call in undone:
                        call()
                    raise
            except sqlite3.Error as exc:
                raise self._failure(f"{what} write", exc) from exc
            self._on_rollback = []
            done, self._on_commit = self._on_commit, []
            for call in done:
                call()

    def after_commit(self, call: Callable[[], None]) -> None:
        """Run ``call`` once what was just written is committed (at once outside a transaction);
        never if the transaction holding it rolls back."""
        if self.db.in_transaction:
            self._on_commit.append(call)
        else:
            call()

    def after_rollback(self, call: Callable[[], None]) -> None:
        """Run ``call`` (outside any transaction) if the outer transaction now open rolls back."""
        if self.db.in_transaction:
            self._on_rollback.append(call)

    def _write(self, statements: Iterable[tuple[str, Any]]) -> None:
        with self.transaction():
            for sql, args in statements:
                if args and isinstance(args, list):
                    self.db.executemany(sql, args)
                else:
                    self.db.execute(sql, args or ())

    def read(self, what: str, sql: str, args: Iterable[Any] = ()) -> list[tuple]:
        """Rows of a query; any SQLite error as a StoreError (damage noted)."""
        with self.lock:
            try:
                return self.db.execute(sql, tuple(args)).fetchall()
            except sqlite3.Error as exc:
                raise self._failure(f"{what} read", exc) from exc

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
            self.after_commit(committed)

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
            self._may_write("event pruning")
            try:
                cur = self.db.execute("DELETE FROM events WHERE local < ?", (before_local,))
            except sqlite3.Error as exc:
                raise self._failure("event pruning", exc) from exc
            return cur.rowcount

    # -- reads -------------------------------------------------------------------
    def get_value(self, key: str) -> Any:
        rows = self.read(f"{key!r}", "SELECT value FROM kv WHERE key = ?", (key,))
        return None if not rows else loads(unpack(rows[0][0]))

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
        rows = self.read("events", sql, args)
        if limit:
            rows.reverse()
        return [Event(m, l, s, Kind(k), v) for m, l, s, k, v in rows]

    def alerts(self, limit: int = 50, open_only: bool = False) -> list[dict[str, Any]]:
        sql, args = "SELECT record FROM alerts", ()
        if open_only:
            sql += f" WHERE stage IN ({', '.join('?' * len(NOT_OVER))})"
            args = NOT_OVER
        sql += " ORDER BY id DESC LIMIT ?"
        return [loads(r[0]) for r in self.read("alerts", sql, (*args, limit))]

    def audit_log(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = self.read("audit log", "SELECT local, actor, action, detail FROM audit ORDER BY id DESC LIMIT ?",
                          (limit,))
        return [{"local": l, "actor": a, "action": act, "detail": loads(d)} for l, a, act, d in rows]

    def integrity_ok(self) -> bool:
        return self.read("integrity", "PRAGMA integrity_check") == [("ok",)]

    def close(self) -> None:
        with self.lock:
            self.db.close()
