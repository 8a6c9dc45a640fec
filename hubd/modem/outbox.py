"""The SMS outbox (and inbox) in the hub's SQLite database.

Every SMS is committed as ``queued`` before a single byte goes to the modem,
and every step after that is committed before the next one starts, so a
``kill -9`` or a power cut at any moment leaves a row that says what to do:

    queued -> sending -> sent -> delivered
                 |  \\-> queued (retry later)
                 \\----> failed

A message found ``sending`` at start-up was interrupted mid-send: whether it
left is unknown, exactly like a ``+CMGS`` timeout. Such *ambiguous* outcomes
are counted; a message is resent after at most one of them, so the office may
get a duplicate but never a flood, and never nothing without being told.

Retry times are stored as wall-clock seconds so they survive a restart, and
clamped on reading to the longest back-off, so a wall clock that jumps (a Pi
has no RTC) can delay a retry by at most that much.

Inbound SMS are kept too: each part is committed before it is deleted from
the SIM, and handed to the daemon once its message is complete.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass
from typing import Any, Iterable

from hubd.clock import Clock
from hubd.store import Store, StoreError

__all__ = ["Outbox", "OutboxMessage", "Inbox", "InboxPart", "STATES", "ACTIVE_STATES"]

log = logging.getLogger("hubd.modem.outbox")

STATES = ("queued", "sending", "sent", "delivered", "failed")
ACTIVE_STATES = ("queued", "sending")

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    recipient TEXT NOT NULL,
    text TEXT NOT NULL,
    purpose TEXT NOT NULL,
    alert_id INTEGER,
    state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    ambiguous INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    parts_total INTEGER NOT NULL,
    parts_sent INTEGER NOT NULL DEFAULT 0,
    message_refs TEXT NOT NULL DEFAULT '[]',
    reports TEXT NOT NULL DEFAULT '{}',
    created_local REAL NOT NULL,
    updated_local REAL NOT NULL,
    next_attempt_local REAL NOT NULL,
    sent_local REAL,
    delivered_local REAL);
CREATE INDEX IF NOT EXISTS outbox_state ON outbox(state, id);
CREATE TABLE IF NOT EXISTS sms_inbox (
    id INTEGER PRIMARY KEY,
    received_local REAL NOT NULL,
    pdu TEXT NOT NULL,
    sender TEXT,
    state TEXT NOT NULL CHECK (state IN ('part', 'done', 'malformed', 'expired', 'ignored')),
    error TEXT);
CREATE INDEX IF NOT EXISTS sms_inbox_state ON sms_inbox(state, id);
"""


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    recipient: str
    text: str
    purpose: str
    alert_id: int | None
    state: str
    attempts: int
    ambiguous: int
    last_error: str | None
    parts_total: int
    parts_sent: int
    message_refs: tuple[int | None, ...]
    reports: dict[str, int]
    created_local: float
    updated_local: float
    next_attempt_local: float
    sent_local: float | None
    delivered_local: float | None

    @property
    def concat_ref(self) -> int:
        """The concatenation reference of this message's parts: the same on every resend."""
        return self.id % 256

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["message_refs"] = list(self.message_refs)
        return out


_COLUMNS = ("id, recipient, text, purpose, alert_id, state, attempts, ambiguous, last_error, parts_total, "
            "parts_sent, message_refs, reports, created_local, updated_local, next_attempt_local, sent_local, "
            "delivered_local")


def _row_to_message(row: tuple) -> OutboxMessage:
    values = list(row)
    values[11] = tuple(json.loads(values[11]))
    values[12] = json.loads(values[12])
    return OutboxMessage(*values)


class _Table:
    """Shared helpers: one transaction at a time on the Store's connection, errors as StoreError."""

    def __init__(self, store: Store, clock: Clock):
        self.store = store
        self.clock = clock
        with store.lock:
            try:
                store.db.executescript(SCHEMA)
            except sqlite3.Error as exc:
                raise StoreError(f"cannot create the SMS tables in {store.path}: {exc}") from exc

    def _transaction(self, statements: Iterable[tuple[str, tuple]]) -> int | None:
        """Run statements in one committed transaction (or the caller's, see Store.transaction);
        returns the last insert's row id."""
        db = self.store.db
        last = None
        with self.store.transaction("SMS state"):
            for sql, args in statements:
                cursor = db.execute(sql, args)
                if sql.lstrip().upper().startswith("INSERT"):
                    last = cursor.lastrowid
        return last

    def _query(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self.store.lock:
            try:
                return self.store.db.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"SMS state read failed in {self.store.path}: {exc}") from exc


class Outbox(_Table):
    """Durable queue of SMS to send, with every state change committed."""

    def __init__(self, store: Store, clock: Clock, max_resends_after_ambiguity: int = 1):
        super().__init__(store, clock)
        self.max_resends_after_ambiguity = max_resends_after_ambiguity

    # -- reading ---------------------------------------------------------------------
    def get(self, message_id: int) -> OutboxMessage | None:
        rows = self._query(f"SELECT {_COLUMNS} FROM outbox WHERE id = ?", (message_id,))
        return _row_to_message(rows[0]) if rows else None

    def head(self) -> OutboxMessage | None:
        """The oldest message still to send: messages leave in the order they were queued."""
        rows = self._query(f"SELECT {_COLUMNS} FROM outbox WHERE state IN ('queued', 'sending') ORDER BY id LIMIT 1")
        return _row_to_message(rows[0]) if rows else None

    def messages(self, states: tuple[str, ...] = STATES, limit: int = 100) -> list[OutboxMessage]:
        marks = ",".join("?" * len(states))
        rows = self._query(f"SELECT {_COLUMNS} FROM outbox WHERE state IN ({marks}) ORDER BY id DESC LIMIT ?",
                           (*states, limit))
        return [_row_to_message(row) for row in rows]

    def counts(self) -> dict[str, int]:
        counts = {state: 0 for state in STATES}
        counts.update(dict(self._query("SELECT state, COUNT(*) FROM outbox GROUP BY state")))
        return counts

    def due_in(self, message: OutboxMessage, longest_wait: float) -> float:
        """Seconds until ``message`` may be tried, never more than ``longest_wait`` (wall clock may jump)."""
        return min(max(0.0, message.next_attempt_local - self.clock.local()), longest_wait)

    # -- writing -----------------------------------------------------------------------
    def add(self, recipient: str, text: str, purpose: str, alert_id: int | None, parts_total: int,
            failed_because: str | None = None) -> int:
        """Commit a new message (``queued``, or ``failed`` at once if it can never be sent)."""
        now = self.clock.local()
        state = "failed" if failed_because else "queued"
        message_id = self._transaction([(
            "INSERT INTO outbox(recipient, text, purpose, alert_id, state, last_error, parts_total, created_local,"
            " updated_local, next_attempt_local) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (recipient, text, purpose, alert_id, state, failed_because, parts_total, now, now, now))])
        assert message_id is not None
        return message_id

    def _update(self, message_id: int, **values: Any) -> None:
        values["updated_local"] = self.clock.local()
        assignments = ", ".join(f"{name} = ?" for name in values)
        self._transaction([(f"UPDATE outbox SET {assignments} WHERE id = ?", (*values.values(), message_id))])

    def begin_attempt(self, message_id: int) -> OutboxMessage:
        """Committed before the first byte of this attempt goes to the modem."""
        self._transaction([("UPDATE outbox SET state = 'sending', attempts = attempts + 1, updated_local = ?"
                            " WHERE id = ?", (self.clock.local(), message_id))])
        message = self.get(message_id)
        assert message is not None
        return message

    def part_sent(self, message_id: int, index: int, message_ref: int | None) -> None:
        message = self.get(message_id)
        assert message is not None
        refs = list(message.message_refs) + [None] * (message.parts_total - len(message.message_refs))
        refs[index] = message_ref
        self._update(message_id, message_refs=json.dumps(refs), parts_sent=max(message.parts_sent, index + 1))

    def finish_sent(self, message_id: int) -> None:
        self._update(message_id, state="sent", sent_local=self.clock.local())

    def retry_later(self, message_id: int, error: str, delay: float) -> None:
        self._update(message_id, state="queued", last_error=error, next_attempt_local=self.clock.local() + delay)

    def fail(self, message_id: int, error: str) -> None:
        self._update(message_id, state="failed", last_error=error)

    def ambiguous_outcome(self, message_id: int, error: str) -> bool:
        """The part in flight may or may not have gone. True: queued for one resend; False: failed."""
        message = self.get(message_id)
        assert message is not None
        count = message.ambiguous + 1
        if count <= self.max_resends_after_ambiguity:
            self._update(message_id, state="queued", ambiguous=count, next_attempt_local=self.clock.local(),
                         last_error=f"{error} (ambiguous: resending once)")
            return True
        self._update(message_id, state="failed", ambiguous=count,
                     last_error=f"{error} (ambiguous again: not resent, it may or may not have arrived)")
        return False

    def resolve_late_submit(self, message_id: int, index: int, message_ref: int) -> OutboxMessage:
        """A late ``+CMGS`` proved the ambiguous part went: record it; sent if it was the last part."""
        message = self.get(message_id)
        assert message is not None
        self.part_sent(message_id, index, message_ref)
        values: dict[str, Any] = {"ambiguous": max(0, message.ambiguous - 1),
                                  "last_error": f"late +CMGS: {message_ref}: the part did go"}
        if index + 1 >= message.parts_total:
            values.update(state="sent", sent_local=self.clock.local())
        else:
            values.update(state="queued", next_attempt_local=self.clock.local())
        self._update(message_id, **values)
        result = self.get(message_id)
        assert result is not None
        return result

    def recover_interrupted(self) -> list[int]:
        """At start-up: a message left ``sending`` was cut off mid-send; treat it as ambiguous."""
        interrupted = [row[0] for row in self._query("SELECT id FROM outbox WHERE state = 'sending' ORDER BY id")]
        for message_id in interrupted:
            resend = self.ambiguous_outcome(message_id, "interrupted while sending (hub restarted)")
            log.warning("SMS %d was being sent when the hub stopped: %s", message_id,
                        "resending once" if resend else "not resent again")
        return interrupted

    def apply_report(self, message_ref: int, recipient: str, status: int) -> OutboxMessage | None:
        """Match a delivery report to the newest sent message with that reference and recipient."""
        candidates = self._query(f"SELECT {_COLUMNS} FROM outbox WHERE state IN ('sent', 'delivered', 'failed')"
                                 " AND message_refs != '[]' ORDER BY id DESC LIMIT 200")
        for row in candidates:
            message = _row_to_message(row)
            if message_ref not in message.message_refs or not _same_number(message.recipient, recipient):
                continue
            index = message.message_refs.index(message_ref)
            reports = dict(message.reports)
            reports[str(index)] = status
            values: dict[str, Any] = {"reports": json.dumps(reports, sort_keys=True)}
            if 0x40 <= status <= 0x7F:
                values.update(state="failed", last_error=f"delivery report: status 0x{status:02X} (not delivered)")
            elif all(reports.get(str(i)) is not None and reports[str(i)] <= 0x1F
                     for i in range(message.parts_total)) and message.state == "sent":
                values.update(state="delivered", delivered_local=self.clock.local())
            self._update(message.id, **values)
            return self.get(message.id)
        return None


def _same_number(a: str, b: str) -> bool:
    """+819012345678 and 09012345678 are one phone: compare the last 9 digits."""
    da, db = a.lstrip("+"), b.lstrip("+")
    return da[-9:] == db[-9:] if da and db else da == db


@dataclass(frozen=True)
class InboxPart:
    id: int
    received_local: float
    pdu: str
    sender: str | None
    state: str
    error: str | None


class Inbox(_Table):
    """Inbound SMS parts, committed before they are deleted from the SIM."""

    def add(self, pdu: str, sender: str | None, state: str = "part", error: str | None = None) -> int:
        part_id = self._transaction([("INSERT INTO sms_inbox(received_local, pdu, sender, state, error)"
                                      " VALUES (?,?,?,?,?)", (self.clock.local(), pdu, sender, state, error))])
        assert part_id is not None
        return part_id

    def mark(self, part_ids: Iterable[int], state: str, error: str | None = None) -> None:
        ids = list(part_ids)
        if ids:
            self._transaction([("UPDATE sms_inbox SET state = ?, error = COALESCE(?, error) WHERE id = ?",
                                (state, error, part_id)) for part_id in ids])

    def waiting_parts(self) -> list[InboxPart]:
        rows = self._query("SELECT id, received_local, pdu, sender, state, error FROM sms_inbox"
                           " WHERE state = 'part' ORDER BY id")
        return [InboxPart(*row) for row in rows]

    def parts(self, limit: int = 100) -> list[InboxPart]:
        rows = self._query("SELECT id, received_local, pdu, sender, state, error FROM sms_inbox"
                           " ORDER BY id DESC LIMIT ?", (limit,))
        return [InboxPart(*row) for row in rows]
