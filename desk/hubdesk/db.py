"""One database for the desk and the gateway: SQLite (embedded default) or PostgreSQL.

The desk's tables live in gammu-smsd's own database, so that taking a message in (desk rows
written, the inbox row marked ``Processed``) is one transaction: a desk killed at any moment
has either done both or neither, and restarts from the gateway's database.

SQL is written once with ``?`` placeholders; :class:`Database` translates for psycopg.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import threading
from typing import Any, Iterator, Sequence

from .config import DatabaseConfig

BUSY_TIMEOUT_S = 30.0  # gammu-smsd holds short write locks on the same SQLite file


class DatabaseError(RuntimeError):
    """The database cannot be opened or used; the message says which and why."""


class Database:
    """A connection with ``query``/``execute``/``transaction`` alike on both backends.

    Thread-safe by a lock (the board serves requests from threads); a transaction holds the
    lock until it ends, so nothing from another thread slips into it."""

    def __init__(self, conn: Any, backend: str):
        self._conn = conn
        self.backend = backend  # 'sqlite' | 'postgres'
        self._lock = threading.RLock()
        self._depth = 0

    # -- opening -------------------------------------------------------------------------
    @classmethod
    def open(cls, cfg: DatabaseConfig) -> "Database":
        if cfg.postgres:
            return cls.open_postgres(cfg.postgres)
        return cls.open_sqlite(cfg.sqlite)

    @classmethod
    def open_sqlite(cls, path: str) -> "Database":
        try:
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as exc:
            raise DatabaseError(f"cannot open SQLite database {path!r}: {exc}") from None
        return cls(conn, "sqlite")

    @classmethod
    def open_postgres(cls, dsn: str) -> "Database":
        try:
            import psycopg
        except ImportError:
            raise DatabaseError("PostgreSQL needs psycopg 3: pip install 'hubdesk[postgres]'") from None
        try:
            conn = psycopg.connect(dsn, autocommit=True)
        except psycopg.Error as exc:
            raise DatabaseError(f"cannot connect to PostgreSQL ({dsn!r}): {exc}") from None
        return cls(conn, "postgres")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- statements ----------------------------------------------------------------------
    def _sql(self, sql: str) -> str:
        if self.backend == "postgres":
            return _to_pyformat(sql)
        return sql

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        with self._lock:
            cur = self._conn.execute(self._sql(sql), tuple(args))
            rows = cur.fetchall()
            return [tuple(r) for r in rows]

    def execute(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Run one statement; the number of rows it changed."""
        with self._lock:
            cur = self._conn.execute(self._sql(sql), tuple(args))
            return cur.rowcount

    def insert(self, sql: str, args: Sequence[Any] = (), key: str = "id") -> int:
        """Run an INSERT into a table with an integer key column ``key``; the new row's key."""
        with self._lock:
            if self.backend == "postgres":
                cur = self._conn.execute(self._sql(f"{sql} RETURNING {key}"), tuple(args))
                return int(cur.fetchone()[0])
            cur = self._conn.execute(sql, tuple(args))
            return int(cur.lastrowid)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        with self._lock:
            if self.backend == "postgres":
                with self._conn.cursor() as cur:
                    cur.executemany(self._sql(sql), [tuple(r) for r in rows])
            else:
                self._conn.executemany(sql, [tuple(r) for r in rows])

    def script(self, sql: str) -> None:
        """Run several statements (schema files); outside any transaction of ours."""
        with self._lock:
            if self.backend == "postgres":
                self._conn.execute(sql)
            else:
                self._conn.executescript(sql)

    @contextlib.contextmanager
    def transaction(self) -> Iterator["Database"]:
        """All or nothing; nested uses join the outer transaction."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            self._depth = 1
            try:
                if self.backend == "postgres":
                    with self._conn.transaction():
                        yield self
                else:
                    self._conn.execute("BEGIN IMMEDIATE")
                    try:
                        yield self
                    except BaseException:
                        self._conn.execute("ROLLBACK")
                        raise
                    self._conn.execute("COMMIT")
            finally:
                self._depth = 0

    def table_exists(self, name: str) -> bool:
        if self.backend == "postgres":
            return bool(self.query("SELECT 1 FROM information_schema.tables WHERE table_name = ?", (name,)))
        return bool(self.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)))


_PLACEHOLDER = re.compile(r"'(?:[^']|'')*'|\?|%")


def _to_pyformat(sql: str) -> str:
    """``?`` → ``%s`` and ``%`` → ``%%``, leaving quoted literals alone."""
    def swap(m: re.Match) -> str:
        tok = m.group(0)
        if tok == "?":
            return "%s"
        if tok == "%":
            return "%%"
        return tok.replace("%", "%%")
    return _PLACEHOLDER.sub(swap, sql)


# -- the desk's own tables -----------------------------------------------------------------
# Times are epoch seconds (UTC) as DOUBLE PRECISION; {pk} is the backend's integer key.
DESK_TABLES = """
CREATE TABLE IF NOT EXISTS desk_flats (
  flat TEXT PRIMARY KEY,
  phone TEXT NOT NULL,
  interval_s DOUBLE PRECISION NOT NULL,
  grace_s DOUBLE PRECISION NOT NULL,
  registered DOUBLE PRECISION NOT NULL,
  state TEXT NOT NULL DEFAULT 'ok',
  urgency INTEGER NOT NULL DEFAULT 3,
  since DOUBLE PRECISION,
  last_heartbeat DOUBLE PRECISION,
  last_message DOUBLE PRECISION,
  last_status TEXT,
  open_alerts INTEGER NOT NULL DEFAULT 0,
  open_faults INTEGER NOT NULL DEFAULT 0,
  missed INTEGER NOT NULL DEFAULT 0,
  silent_ref BIGINT,
  headline TEXT NOT NULL DEFAULT 'all fine'
);
CREATE INDEX IF NOT EXISTS desk_flats_urgency ON desk_flats (urgency, since);
CREATE TABLE IF NOT EXISTS desk_seq (
  flat TEXT NOT NULL,
  recipient TEXT NOT NULL,
  last_seq BIGINT NOT NULL,
  PRIMARY KEY (flat, recipient)
);
CREATE TABLE IF NOT EXISTS desk_missed (
  flat TEXT NOT NULL,
  recipient TEXT NOT NULL,
  seq BIGINT NOT NULL,
  noticed DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (flat, recipient, seq)
);
CREATE TABLE IF NOT EXISTS desk_alerts (
  id {pk},
  flat TEXT NOT NULL,
  type TEXT NOT NULL,
  category TEXT NOT NULL,
  hub_alert_id BIGINT,
  recipient TEXT,
  opened DOUBLE PRECISION NOT NULL,
  closed DOUBLE PRECISION,
  text TEXT NOT NULL,
  acked_by TEXT,
  acked_at DOUBLE PRECISION,
  duty_round INTEGER NOT NULL DEFAULT 0,
  duty_index INTEGER NOT NULL DEFAULT -1,
  duty_next DOUBLE PRECISION,
  duty_stage TEXT NOT NULL DEFAULT 'not sent'
);
CREATE INDEX IF NOT EXISTS desk_alerts_open ON desk_alerts (flat, closed);
CREATE INDEX IF NOT EXISTS desk_alerts_duty ON desk_alerts (duty_next);
CREATE TABLE IF NOT EXISTS desk_timeline (
  id {pk},
  flat TEXT NOT NULL,
  at DOUBLE PRECISION NOT NULL,
  what TEXT NOT NULL,
  text TEXT NOT NULL,
  by TEXT
);
CREATE INDEX IF NOT EXISTS desk_timeline_flat ON desk_timeline (flat, at);
CREATE INDEX IF NOT EXISTS desk_timeline_at ON desk_timeline (at);
CREATE TABLE IF NOT EXISTS desk_rejects (
  id {pk},
  at DOUBLE PRECISION NOT NULL,
  sender TEXT NOT NULL,
  text TEXT NOT NULL,
  reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS desk_rejects_at ON desk_rejects (at);
"""


def create_desk_tables(db: Database) -> None:
    pk = "BIGSERIAL PRIMARY KEY" if db.backend == "postgres" else "INTEGER PRIMARY KEY AUTOINCREMENT"
    db.script(DESK_TABLES.replace("{pk}", pk))
