"""The gateway side: gammu-smsd's tables (``inbox``, ``outbox``, ``outbox_multipart``, ``sentitems``).

The desk never talks to a modem: gammu-smsd stores what it receives in ``inbox`` and sends
what the desk puts in ``outbox``. Column names are gammu's (quoted, so that one SQL text
works on SQLite and PostgreSQL, whose gammu schema keeps their case).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from typing import Any, Iterable

from hubd.modem.pdu import split_text

from .db import Database

SCHEMA_DIR = "/usr/share/doc/gammu-smsd/examples"
CREATOR = "hubdesk"
MAX_PARTS = 255

# The columns the desk uses, for machines without gammu (the demo, a laptop): gammu-smsd's
# own schema (SCHEMA_DIR) is used whenever it is installed.
MINIMAL_SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox (
  "ID" {pk},
  "ReceivingDateTime" {ts} NOT NULL DEFAULT {now},
  "Text" TEXT NOT NULL DEFAULT '',
  "SenderNumber" TEXT NOT NULL DEFAULT '',
  "Coding" TEXT NOT NULL DEFAULT 'Default_No_Compression',
  "UDH" TEXT NOT NULL DEFAULT '',
  "TextDecoded" TEXT NOT NULL DEFAULT '',
  "RecipientID" TEXT NOT NULL DEFAULT '',
  "Processed" {bool} NOT NULL DEFAULT 'false'
);
CREATE TABLE IF NOT EXISTS outbox (
  "ID" {pk},
  "SendingDateTime" {ts} NOT NULL DEFAULT {now},
  "DestinationNumber" TEXT NOT NULL DEFAULT '',
  "Coding" TEXT NOT NULL DEFAULT 'Default_No_Compression',
  "UDH" TEXT,
  "TextDecoded" TEXT NOT NULL DEFAULT '',
  "MultiPart" TEXT NOT NULL DEFAULT 'false',
  "SenderID" TEXT,
  "CreatorID" TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox_multipart (
  "ID" INTEGER,
  "Coding" TEXT NOT NULL DEFAULT 'Default_No_Compression',
  "UDH" TEXT,
  "TextDecoded" TEXT DEFAULT NULL,
  "SequencePosition" INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY ("ID", "SequencePosition")
);
CREATE TABLE IF NOT EXISTS sentitems (
  "ID" INTEGER,
  "SequencePosition" INTEGER NOT NULL DEFAULT 1,
  "SendingDateTime" {ts} NOT NULL DEFAULT {now},
  "DestinationNumber" TEXT NOT NULL DEFAULT '',
  "Text" TEXT NOT NULL DEFAULT '',
  "UDH" TEXT NOT NULL DEFAULT '',
  "Coding" TEXT NOT NULL DEFAULT 'Default_No_Compression',
  "TextDecoded" TEXT NOT NULL DEFAULT '',
  "Status" TEXT NOT NULL DEFAULT 'SendingOK',
  "SenderID" TEXT NOT NULL DEFAULT '',
  "CreatorID" TEXT NOT NULL DEFAULT '',
  PRIMARY KEY ("ID", "SequencePosition")
);
"""

# gammu's schema has no index on Processed: without one, every poll scans the whole inbox.
INTAKE_INDEX = 'CREATE INDEX IF NOT EXISTS desk_inbox_unprocessed ON inbox ("Processed", "ID")'


def create_gateway_tables(db: Database, schema_dir: str | None = None) -> str:
    """gammu-smsd's tables, if missing; which schema was used ('gammu', 'minimal' or 'existing')."""
    if not db.table_exists("inbox"):
        name = "pgsql.sql" if db.backend == "postgres" else "sqlite.sql"
        path = os.path.join(schema_dir or SCHEMA_DIR, name)
        if os.path.exists(path):
            with open(path, encoding="utf-8") as fh:
                sql = fh.read()
            if db.backend == "postgres":
                # plpgsql is built in since PostgreSQL 9.0; the file's CREATE LANGUAGE fails there
                sql = re.sub(r"(?im)^\s*CREATE\s+LANGUAGE\s+plpgsql\s*;", "", sql)
            db.script(sql)
            used = "gammu"
        else:
            pg = db.backend == "postgres"
            db.script(MINIMAL_SCHEMA.format(
                pk="SERIAL PRIMARY KEY" if pg else "INTEGER PRIMARY KEY AUTOINCREMENT",
                ts="TIMESTAMP(0)" if pg else "NUMERIC",
                now="LOCALTIMESTAMP(0)" if pg else "(datetime('now'))",
                bool="BOOLEAN" if pg else "TEXT"))
            used = "minimal"
    else:
        used = "existing"
    db.execute(INTAKE_INDEX)
    return used


# -- inbound ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class InboxRow:
    id: int
    received: float  # epoch seconds (UTC)
    sender: str
    recipient: str  # the receiving gammu-smsd's PhoneID (which office modem)
    text: str
    coding: str
    udh: str


@dataclass(frozen=True)
class Inbound:
    """One whole text: a single SMS or the joined parts of a long one."""
    ids: tuple[int, ...]
    received: float
    sender: str
    recipient: str
    text: str
    coding: str


_COLUMNS = '"ID", "ReceivingDateTime", "SenderNumber", "RecipientID", "TextDecoded", "Coding", "UDH"'


def read_unprocessed(db: Database, limit: int, part_limit: int = 2000) -> list[InboxRow]:
    """The oldest unprocessed rows: up to ``limit`` single texts and the waiting parts of long
    ones (read apart, so that parts still waiting for their last piece cannot starve the rest)."""
    singles = db.query(f"SELECT {_COLUMNS} FROM inbox WHERE \"Processed\" = 'false' AND \"UDH\" = '' "
                       f"ORDER BY \"ID\" LIMIT ?", (limit,))
    parts = db.query(f"SELECT {_COLUMNS} FROM inbox WHERE \"Processed\" = 'false' AND \"UDH\" <> '' "
                     f"ORDER BY \"ID\" LIMIT ?", (part_limit,))
    rows = [InboxRow(int(r[0]), to_epoch(r[1]), r[2] or "", r[3] or "", r[4] or "", r[5] or "", r[6] or "")
            for r in singles + parts]
    rows.sort(key=lambda r: r.id)
    return rows


def mark_processed(db: Database, ids: Iterable[int]) -> None:
    db.executemany("UPDATE inbox SET \"Processed\" = 'true' WHERE \"ID\" = ?", [(i,) for i in ids])


def to_epoch(value: Any) -> float:
    """gammu's timestamps (text on SQLite, timestamp on PostgreSQL) as UTC epoch seconds.

    gammu-smsd writes them without a zone; the desk reads them as UTC (run gammu-smsd with
    TZ=UTC, docs/desk.md). Unreadable → 0, which the caller replaces by its own clock."""
    if isinstance(value, dt.datetime):
        stamp = value
    elif isinstance(value, (int, float)):
        return float(value)
    else:
        try:
            stamp = dt.datetime.fromisoformat(str(value).strip())
        except ValueError:
            return 0.0
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.timezone.utc)
    return stamp.timestamp()


_UDH8 = re.compile(r"050003([0-9A-F]{2})([0-9A-F]{2})([0-9A-F]{2})", re.I)
_UDH16 = re.compile(r"060804([0-9A-F]{4})([0-9A-F]{2})([0-9A-F]{2})", re.I)


def concat_info(udh: str) -> tuple[int, int, int] | None:
    """(reference, total, index) of a concatenated part's header, or None."""
    m = _UDH8.match(udh) or _UDH16.match(udh)
    if not m:
        return None
    ref, total, index = (int(g, 16) for g in m.groups())
    if total < 1 or not 1 <= index <= total:
        return None
    return ref, total, index


def join_parts(rows: list[InboxRow], now: float, wait_s: float) -> tuple[list[Inbound], list[tuple[InboxRow, str]]]:
    """Whole texts ready for intake, and rows to reject with a reason.

    Parts are grouped by sender, receiving modem and header reference; an incomplete group
    waits (its rows stay unprocessed) until ``wait_s`` after its first part, then is rejected."""
    whole: list[Inbound] = []
    rejected: list[tuple[InboxRow, str]] = []
    groups: dict[tuple, list[InboxRow]] = {}
    for row in rows:
        if not row.udh:
            whole.append(Inbound((row.id,), row.received, row.sender, row.recipient, row.text, row.coding))
            continue
        info = concat_info(row.udh)
        if info is None:
            rejected.append((row, f"user data header {row.udh[:20]!r} is not a concatenation header"))
            continue
        groups.setdefault((row.sender, row.recipient, info[0], info[1]), []).append(row)
    for (sender, recipient, _ref, total), parts in groups.items():
        by_index: dict[int, InboxRow] = {}
        for part in parts:
            index = concat_info(part.udh)[2]
            if index in by_index:
                rejected.append((part, f"part {index} of {total} received twice"))
                continue
            by_index[index] = part
        if len(by_index) == total:
            ordered = [by_index[i] for i in range(1, total + 1)]
            whole.append(Inbound(tuple(p.id for p in ordered), min(p.received for p in ordered), sender, recipient,
                                 "".join(p.text for p in ordered), ordered[0].coding))
        elif now - min(p.received for p in by_index.values()) > wait_s:
            for part in by_index.values():
                rejected.append((part, f"long text incomplete: {len(by_index)} of {total} parts arrived"))
    whole.sort(key=lambda m: m.ids[0])
    return whole, rejected


# -- outbound --------------------------------------------------------------------------------
def split_for_sms(text: str) -> tuple[str, list[str]]:
    """(gammu Coding, parts): the hub's own rule for where a text is cut (``hubd.modem.pdu``)."""
    encoding, parts = split_text(text)
    return ("Default_No_Compression" if encoding == "gsm7" else "Unicode_No_Compression"), parts


def queue_sms(db: Database, number: str, text: str, sender_id: str | None = None, reference: int = 0) -> int:
    """Put a text in gammu-smsd's outbox (``outbox_multipart`` for its further parts); its outbox ID.

    ``sender_id`` picks the gammu-smsd (PhoneID) that sends it, None: any of them.
    ``reference`` is the concatenation reference (0-255) of a long text."""
    coding, parts = split_for_sms(text)
    if len(parts) > MAX_PARTS:
        raise ValueError(f"text of {len(text)} characters needs more than {MAX_PARTS} parts")
    with db.transaction():
        if len(parts) == 1:
            return db.insert('INSERT INTO outbox ("DestinationNumber", "TextDecoded", "Coding", "CreatorID", '
                             '"SenderID", "MultiPart") VALUES (?, ?, ?, ?, ?, \'false\')',
                             (number, text, coding, CREATOR, sender_id), key='"ID"')
        total = len(parts)
        udh = [f"050003{reference & 0xFF:02X}{total:02X}{i:02X}" for i in range(1, total + 1)]
        outbox_id = db.insert('INSERT INTO outbox ("DestinationNumber", "TextDecoded", "Coding", "CreatorID", '
                              '"SenderID", "MultiPart", "UDH") VALUES (?, ?, ?, ?, ?, \'true\', ?)',
                              (number, parts[0], coding, CREATOR, sender_id, udh[0]), key='"ID"')
        db.executemany('INSERT INTO outbox_multipart ("ID", "SequencePosition", "TextDecoded", "Coding", "UDH") '
                       'VALUES (?, ?, ?, ?, ?)',
                       [(outbox_id, i + 1, parts[i], coding, udh[i]) for i in range(1, total)])
        return outbox_id


def sent_status(db: Database, outbox_id: int) -> str | None:
    """gammu's status of a sent text (``SendingOKNoReport``, ``SendingError``…); None while queued."""
    rows = db.query('SELECT "Status" FROM sentitems WHERE "ID" = ? ORDER BY "SequencePosition"', (outbox_id,))
    if not rows:
        return None
    bad = [r[0] for r in rows if r[0] in ("SendingError", "Error", "DeliveryFailed")]
    return bad[0] if bad else rows[-1][0]


# -- gammu-smsd's own side, for a desk without a modem (the demo) and the tests ---------------------
def stamp(at: float) -> str:
    """A time as gammu-smsd writes it (run it with TZ=UTC: docs/desk.md)."""
    return dt.datetime.fromtimestamp(at, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def store_received(db: Database, sender: str, text: str, at: float, recipient: str, reference: int = 0) -> None:
    """What gammu-smsd 1.42 does with a received text: one unprocessed ``inbox`` row per part, a
    long text's parts carrying their concatenation header (``reference`` 0-255), the whole text
    decoded into the first part's row and nothing into the others' (seen with its dummy phone)."""
    coding, parts = split_for_sms(text)
    total = len(parts)
    rows = [(stamp(at), "", sender, coding, f"050003{reference & 0xFF:02X}{total:02X}{i + 1:02X}" if total > 1 else "",
             text if i == 0 else "", recipient) for i in range(total)]
    db.executemany('INSERT INTO inbox ("ReceivingDateTime", "Text", "SenderNumber", "Coding", "UDH", "TextDecoded", '
                   '"RecipientID") VALUES (?, ?, ?, ?, ?, ?, ?)', rows)


def take_outbox(db: Database, phone_id: str) -> list[tuple[str, str]]:
    """What gammu-smsd does with the outbox: each text moved to ``sentitems`` as sent (no delivery
    report); (number, whole text) of each, for the phone it was for."""
    sent = []
    with db.transaction():
        for outbox_id, number, first, coding, udh in db.query(
                'SELECT "ID", "DestinationNumber", "TextDecoded", "Coding", "UDH" FROM outbox ORDER BY "ID"'):
            rest = db.query('SELECT "TextDecoded", "Coding", "UDH" FROM outbox_multipart WHERE "ID" = ? '
                            'ORDER BY "SequencePosition"', (outbox_id,))
            parts = [(first, coding, udh)] + [tuple(r) for r in rest]
            db.executemany('INSERT INTO sentitems ("ID", "SequencePosition", "DestinationNumber", "Text", "UDH", '
                           '"Coding", "TextDecoded", "Status", "SenderID", "CreatorID") '
                           'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
                           [(outbox_id, i + 1, number, "", part_udh or "", part_coding, part, "SendingOKNoReport",
                             phone_id, CREATOR) for i, (part, part_coding, part_udh) in enumerate(parts)])
            db.execute('DELETE FROM outbox_multipart WHERE "ID" = ?', (outbox_id,))
            db.execute('DELETE FROM outbox WHERE "ID" = ?', (outbox_id,))
            sent.append((number, "".join(p[0] for p in parts)))
    return sent
