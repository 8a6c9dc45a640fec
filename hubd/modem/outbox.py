"""The SMS outbox (and inbox) in the hub's SQLite database.

Every SMS is committed as ``queued`` before a single byte goes to the modem,
and every step after that is committed before the next one starts, so a
``kill -9`` or a power cut at any moment leaves a row that says what to do:

    queued -> sending -> sent -> delivered
                 |  \\-> queued (retry later)
                 \\----> failed

A message found ``sending`` at start-up was interrupted mid-send: whether it
left is unknown, exactly like a ``+CMGS`` timeout. Such *ambiguous* outcomes
are counted. A modem that times out is resent to once (a modem that sends and
then times out every time would otherwise flood the office); a send cut off by
the hub's own restart is resent up to three times in all, because a failing
mains supply cuts power again and again, and a message given up after two cuts
has most likely never left. So the office may get a duplicate or three, never a
flood, and never nothing without being told.

Retry times are stored as wall-clock seconds so they survive a restart, and
clamped on reading to the longest back-off, so a wall clock that jumps (a Pi
has no RTC) can delay a retry by at most that much.

When the disk refuses (full, read-only, a damaged table) a message is never
dropped: the outbox keeps every message still to send in memory as well, and a
change that cannot be committed is *held* there (``held``) and sent all the
same, then retried to disk. A full disk first gives up the store's reserve
(see ``hubd.store``), so the outbox's rows still reach the disk. A held message
that is cut off by a power cut may be lost or sent twice: the price of sending
at all when the disk refuses.

Messages leave by urgency, then in order: resident alarms, then system alerts
and their ends, then everything else (test messages, reports, replies), so a
flood of replies never holds back an alarm (``PRIORITY``).

Inbound SMS are kept too: each part is committed before it is deleted from
the SIM, and handed to the daemon once its message is complete.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sqlite3
from dataclasses import dataclass
from typing import Any, Iterable

from hubd.clock import Clock
from hubd.sms_tag import Tag, TagError, tagged
from hubd.sms_tag import parse as parse_tag
from hubd.store import Store, StoreError

__all__ = ["Outbox", "OutboxMessage", "Inbox", "InboxPart", "STATES", "ACTIVE_STATES"]

log = logging.getLogger("hubd.modem.outbox")

STATES = ("queued", "sending", "sent", "delivered", "failed")
ACTIVE_STATES = ("queued", "sending")
# the order messages leave in, by ``SendSms.purpose``; unknown purposes go last
PRIORITY = {"alarm": 0, "system": 1, "resolved": 1}
LAST = 2
RETRY_HELD_S = 30.0  # held messages are retried to disk at most this often (monotonic seconds)

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


def _message_row(m: OutboxMessage) -> tuple:
    return (m.id, m.recipient, m.text, m.purpose, m.alert_id, m.state, m.attempts, m.ambiguous, m.last_error,
            m.parts_total, m.parts_sent, json.dumps(list(m.message_refs)), json.dumps(m.reports, sort_keys=True),
            m.created_local, m.updated_local, m.next_attempt_local, m.sent_local, m.delivered_local)


def urgency(message: OutboxMessage) -> tuple[int, int]:
    """Sort key of the send order: the purpose's class, then the order of queuing."""
    return PRIORITY.get(message.purpose, LAST), message.id


_SAVE = f"INSERT OR REPLACE INTO outbox({_COLUMNS}) VALUES ({','.join('?' * 18)})"


class _Table:
    """Shared helpers: one transaction at a time on the Store's connection, errors as StoreError."""

    def __init__(self, store: Store, clock: Clock):
        self.store = store
        self.clock = clock
        store.add_schema(SCHEMA)

    def _transaction(self, statements: Iterable[tuple[str, tuple]]) -> int | None:
        """Run statements in one committed transaction (or the caller's, see Store.transaction);
        returns the last insert's row id."""
        last = None
        with self.store.transaction("SMS state"):
            for sql, args in statements:
                cursor = self.store.db.execute(sql, args)
                if sql.lstrip().upper().startswith("INSERT"):
                    last = cursor.lastrowid
        return last

    def _query(self, sql: str, args: tuple = ()) -> list[tuple]:
        return self.store.read("SMS state", sql, args)


class Outbox(_Table):
    """Queue of SMS to send, every state change committed (or held in memory while the disk refuses)."""

    def __init__(self, store: Store, clock: Clock, max_resends_after_ambiguity: int = 1,
                 max_resends_after_restart: int = 3):
        super().__init__(store, clock)
        self.max_resends_after_ambiguity = max_resends_after_ambiguity
        self.max_resends_after_restart = max(max_resends_after_restart, max_resends_after_ambiguity)
        self._live: dict[int, OutboxMessage] = {}  # every message still to send, and any change not yet on disk
        self._held: set[int] = set()  # ids whose latest state is only in memory
        self._next_retry = float("-inf")
        self._last_seq: dict[str, int] = {}  # recipient -> the last tag sequence number given
        try:
            rows = self._query(f"SELECT {_COLUMNS} FROM outbox WHERE state IN ('queued', 'sending')")
            top = self._query("SELECT max(id) FROM outbox")[0][0] or 0
        except StoreError as exc:
            log.error("outbox unreadable, starting with nothing queued: %s", exc)
            rows, top = [], 0
        self._live = {m.id: m for m in map(_row_to_message, rows)}
        self._next_id = top + 1  # ids are given here, so a held message keeps its id when it reaches disk
        moved = (store.set_aside or {}).get("moved_to")
        if moved:
            self._salvage(moved)
        store.on_replaced(self._rewrite_all)

    # -- reading ---------------------------------------------------------------------
    def get(self, message_id: int) -> OutboxMessage | None:
        if message_id in self._live:
            return self._live[message_id]
        rows = self._query(f"SELECT {_COLUMNS} FROM outbox WHERE id = ?", (message_id,))
        return _row_to_message(rows[0]) if rows else None

    def head(self) -> OutboxMessage | None:
        """The message to send next: alarms, then system alerts, then the rest, each oldest first
        (read from memory, so a disk that refuses never stops sending; held ones are retried to disk)."""
        self._retry_held()
        waiting = [m for m in self._live.values() if m.state in ACTIVE_STATES]
        return min(waiting, key=urgency, default=None)

    def on_disk(self, message_id: int) -> bool:
        """False while the message's latest state is held in memory only."""
        return message_id not in self._held

    @property
    def held(self) -> int:
        return len(self._held)

    def messages(self, states: tuple[str, ...] = STATES, limit: int = 100) -> list[OutboxMessage]:
        marks = ",".join("?" * len(states))
        try:
            rows = self._query(f"SELECT {_COLUMNS} FROM outbox WHERE state IN ({marks}) ORDER BY id DESC LIMIT ?",
                               (*states, limit))
        except StoreError:  # what is in memory can still be shown
            rows = []
        found = {m.id: m for m in map(_row_to_message, rows)}
        found.update(self._live)
        chosen = sorted((m for m in found.values() if m.state in states), key=lambda m: m.id, reverse=True)
        return chosen[:limit]

    def counts(self) -> dict[str, int]:
        """Messages by state (held ones by their state in memory) and ``held``: how many are not on disk."""
        counts = {state: 0 for state in STATES}
        held = sorted(self._held)
        try:
            counts.update(dict(self._query(f"SELECT state, COUNT(*) FROM outbox WHERE id NOT IN"
                                           f" ({','.join('?' * len(held))}) GROUP BY state", tuple(held))))
            in_memory = [self._live[i] for i in held]
        except StoreError:
            in_memory = list(self._live.values())
        for message in in_memory:
            counts[message.state] += 1
        counts["held"] = len(held)
        return counts

    def due_in(self, message: OutboxMessage, longest_wait: float) -> float:
        """Seconds until ``message`` may be tried, never more than ``longest_wait`` (wall clock may jump)."""
        return min(max(0.0, message.next_attempt_local - self.clock.local()), longest_wait)

    # -- writing -----------------------------------------------------------------------
    def add(self, recipient: str, text: str, purpose: str, alert_id: int | None, parts_total: int,
            failed_because: str | None = None) -> int:
        """Keep a new message (``queued``, or ``failed`` at once if it can never be sent): committed,
        or held in memory if the disk refuses. Kept even if the caller's transaction rolls back."""
        now = self.clock.local()
        message = OutboxMessage(self._next_id, recipient, text, purpose, alert_id,
                                "failed" if failed_because else "queued", 0, 0, failed_because, parts_total, 0,
                                (), {}, now, now, now, None, None)
        self._next_id += 1
        self._save(message)
        return message.id

    def compose(self, recipient: str, text: str, label: Tag | None) -> str:
        """``text`` with its tag: ``label`` completed with the next sequence number for ``recipient``.
        Numbers are per recipient, so each office number sees an unbroken run and a gap is a loss."""
        if label is None:
            return text
        last = self._last_seq.get(recipient)
        if last is None:
            last = self._last_seq_on_record(recipient)
        self._last_seq[recipient] = last + 1
        return tagged(text, dataclasses.replace(label, seq=last + 1))

    def _last_seq_on_record(self, recipient: str) -> int:
        """The sequence number in the latest text to ``recipient`` (0 if none carries a tag): the
        counter is the texts themselves, so a salvaged or held message keeps it right."""
        texts = [m.text for m in self._live.values() if m.recipient == recipient]
        try:
            texts += [row[0] for row in self._query(
                "SELECT text FROM outbox WHERE recipient = ? ORDER BY id DESC LIMIT 1", (recipient,))]
        except StoreError as exc:
            log.error("last SMS to %s unreadable; its sequence numbers start again at 1: %s", recipient, exc)
        seqs = [0]
        for text in texts:
            try:
                seqs.append(parse_tag(text)[1].seq)
            except TagError:
                pass
        return max(seqs)

    def _update(self, message_id: int, **values: Any) -> None:
        message = self.get(message_id)
        assert message is not None
        values["updated_local"] = self.clock.local()
        self._save(dataclasses.replace(message, **values))

    def _save(self, message: OutboxMessage) -> None:
        self._live[message.id] = message
        self._held.add(message.id)
        self._write([message])

    def _write(self, messages: list[OutboxMessage]) -> bool:
        """Commit these rows (a full disk spends the store's reserve once); False: they stay held.
        Inside a caller's transaction that then rolls back, they are written on their own at once."""
        if self.store.db.in_transaction:
            self.store.after_rollback(self._retry_now)
        for spend_reserve in (True, False):
            try:
                with self.store.transaction("SMS state", essential=True):
                    self.store.db.executemany(_SAVE, [_message_row(m) for m in messages])
                    for message in messages:
                        self.store.after_commit(lambda m=message: self._written(m))
                return True
            except StoreError as exc:
                if spend_reserve and exc.full and self.store.release_reserve():
                    continue
                self._next_retry = self.clock.monotonic() + RETRY_HELD_S
                log.error("SMS %s held in memory (still sent; retried to disk every %.0f s): %s",
                          ", ".join(str(m.id) for m in messages), RETRY_HELD_S, exc)
                return False
        return False

    def _written(self, message: OutboxMessage) -> None:
        if self._live.get(message.id) is message:  # not changed again since
            self._held.discard(message.id)
            if message.state not in ACTIVE_STATES:
                del self._live[message.id]

    def _retry_held(self) -> None:
        if not self._held or self.store.db.in_transaction or self.clock.monotonic() < self._next_retry:
            return
        count = len(self._held)
        if self._write([self._live[i] for i in sorted(self._held)]):
            log.warning("%d held SMS state%s written to disk", count, "s" * (count > 1))

    def _retry_now(self) -> None:
        self._next_retry = float("-inf")
        self._retry_held()

    def _rewrite_all(self) -> None:
        """The store is a fresh file: everything still to send goes into it."""
        self._held.update(self._live)
        if self._live:
            self._write([self._live[i] for i in sorted(self._live)])

    def _salvage(self, path: str) -> None:
        """At start-up on a fresh store: take the messages still to send from the damaged file, if it lets us."""
        rows: list[tuple] = []
        for uri in (f"file:{path}?mode=ro", f"file:{path}?immutable=1"):
            try:
                db = sqlite3.connect(uri, uri=True)
                try:
                    rows = db.execute(f"SELECT {_COLUMNS} FROM outbox WHERE state IN ('queued', 'sending')"
                                      " ORDER BY id").fetchall()
                finally:
                    db.close()
                break
            except sqlite3.Error as exc:
                log.warning("queued SMS not readable from the damaged %s (%s): %s", path, uri.rsplit("?")[-1], exc)
        kept = []
        for row in rows:
            try:
                message = _row_to_message(row)
            except (ValueError, TypeError):
                continue
            kept.append(message)
            self._next_id = max(self._next_id, message.id + 1)
        for message in kept:
            self._save(message)
        if kept:
            log.warning("%d SMS still to send recovered from the damaged %s", len(kept), path)

    def begin_attempt(self, message_id: int) -> OutboxMessage:
        """Counted before the first byte of this attempt goes to the modem. The row stays
        ``queued``: until a part's PDU may go (:meth:`pdu_going`) nothing can have left."""
        message = self.get(message_id)
        assert message is not None
        self._update(message_id, attempts=message.attempts + 1)
        return self._live[message_id]

    def pdu_going(self, message_id: int) -> None:
        """Committed (or held) just before a part's PDU is written to the modem: from here until
        the part is recorded, a hub that dies leaves the row ``sending``, i.e. in doubt. A kill
        before this point leaves it ``queued``: sent again, not counted as ambiguous."""
        self._update(message_id, state="sending")

    def part_sent(self, message_id: int, index: int, message_ref: int | None) -> None:
        """The part went; the next part (if any) has not: the row is ``queued`` again until it may."""
        message = self.get(message_id)
        assert message is not None
        refs = list(message.message_refs) + [None] * (message.parts_total - len(message.message_refs))
        refs[index] = message_ref
        self._update(message_id, state="queued", message_refs=tuple(refs),
                     parts_sent=max(message.parts_sent, index + 1))

    def finish_sent(self, message_id: int) -> None:
        self._update(message_id, state="sent", sent_local=self.clock.local())

    def retry_later(self, message_id: int, error: str, delay: float) -> None:
        self._update(message_id, state="queued", last_error=error, next_attempt_local=self.clock.local() + delay)

    def fail(self, message_id: int, error: str) -> None:
        self._update(message_id, state="failed", last_error=error)

    def ambiguous_outcome(self, message_id: int, error: str, restarted: bool = False) -> bool:
        """The part in flight may or may not have gone. True: queued to be resent; False: failed.

        ``restarted``: the hub itself was cut off, which allows more resends (module docstring)."""
        message = self.get(message_id)
        assert message is not None
        count = message.ambiguous + 1
        allowed = self.max_resends_after_restart if restarted else self.max_resends_after_ambiguity
        if count <= allowed:
            self._update(message_id, state="queued", ambiguous=count, next_attempt_local=self.clock.local(),
                         last_error=f"{error} (ambiguous: resending, {count} of at most {allowed})")
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
        interrupted = sorted(m.id for m in self._live.values() if m.state == "sending")
        for message_id in interrupted:
            resend = self.ambiguous_outcome(message_id, "interrupted while sending (hub restarted)", restarted=True)
            log.warning("SMS %d was being sent when the hub stopped: %s", message_id,
                        "resending it" if resend else "not resent again")
        return interrupted

    def apply_report(self, message_ref: int, recipient: str, status: int) -> OutboxMessage | None:
        """Match a delivery report to the newest sent message with that reference and recipient."""
        done = ("sent", "delivered", "failed")
        rows = self._query(f"SELECT {_COLUMNS} FROM outbox WHERE state IN ('sent', 'delivered', 'failed')"
                           " AND message_refs != '[]' ORDER BY id DESC LIMIT 200")
        candidates = {m.id: m for m in map(_row_to_message, rows)}
        candidates.update(self._live)
        for message in sorted(candidates.values(), key=lambda m: m.id, reverse=True):
            if message.state not in done or message_ref not in message.message_refs \
                    or not _same_number(message.recipient, recipient):
                continue
            index = message.message_refs.index(message_ref)
            reports = dict(message.reports)
            reports[str(index)] = status
            values: dict[str, Any] = {"reports": reports}
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
