"""What the board reads and does (the interface in notes/desk_spec.md): plain data, no HTML.

Reads come from the per-flat summary table that intake keeps current, never from an
aggregate over all messages, so the first page stays fast with millions of texts.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import flats
from .db import Database


class DeskError(Exception):
    """A refused staff action; the message is for a person."""


@dataclass(frozen=True)
class FlatSummary:
    flat: str
    state: str
    urgency: int
    since: float | None
    last_heartbeat: float | None
    last_message: float | None
    open_alerts: int
    missed: int
    headline: str


@dataclass(frozen=True)
class AlertView:
    ref: int
    flat: str
    type: str
    category: str
    hub_alert_id: int | None
    opened: float
    closed: float | None
    acked_by: str | None
    acked_at: float | None
    duty_stage: str
    text: str


@dataclass(frozen=True)
class TimelineEntry:
    at: float
    what: str
    text: str
    by: str | None


@dataclass(frozen=True)
class FlatDetail:
    summary: FlatSummary
    alerts: list[AlertView]
    timeline: list[TimelineEntry]
    missed_seq: list[int]


@dataclass(frozen=True)
class RejectView:
    at: float
    sender: str
    text: str
    reason: str


_SUMMARY = ("SELECT flat, state, urgency, since, last_heartbeat, last_message, open_alerts, missed, headline "
            "FROM desk_flats")
_ALERT = ("SELECT id, flat, type, category, hub_alert_id, opened, closed, acked_by, acked_at, duty_stage, text "
          "FROM desk_alerts")
RECENT_CLOSED = 20


def _summary(row: tuple) -> FlatSummary:
    return FlatSummary(row[0], row[1], int(row[2]), row[3], row[4], row[5], int(row[6]), int(row[7]), row[8])


def _alert(row: tuple) -> AlertView:
    return AlertView(int(row[0]), row[1], row[2], row[3], None if row[4] is None else int(row[4]), row[5], row[6],
                     row[7], row[8], row[9], row[10])


def flats_by_urgency(db: Database, now: float, limit: int = 100, offset: int = 0) -> list[FlatSummary]:
    """Most urgent first; within a state, the oldest problem first (flats with none by name)."""
    rows = db.query(f"{_SUMMARY} ORDER BY urgency, since IS NULL, since, flat LIMIT ? OFFSET ?",
                    (int(limit), int(offset)))
    return [_summary(r) for r in rows]


def state_counts(db: Database, now: float) -> dict[str, int]:
    counts = {"alarm": 0, "silent": 0, "fault": 0, "ok": 0}
    for state, n in db.query("SELECT state, COUNT(*) FROM desk_flats GROUP BY state"):
        counts[state] = int(n)
    return counts


def flat_detail(db: Database, flat: str, now: float, limit: int = 200) -> FlatDetail | None:
    rows = db.query(f"{_SUMMARY} WHERE flat = ?", (flat,))
    if not rows:
        return None
    open_ = [_alert(r) for r in db.query(f"{_ALERT} WHERE flat = ? AND closed IS NULL ORDER BY opened DESC", (flat,))]
    closed = [_alert(r) for r in db.query(f"{_ALERT} WHERE flat = ? AND closed IS NOT NULL ORDER BY closed DESC LIMIT ?",
                                          (flat, RECENT_CLOSED))]
    timeline = [TimelineEntry(at, what, text, by) for at, what, text, by in db.query(
        "SELECT at, what, text, by FROM desk_timeline WHERE flat = ? ORDER BY at DESC, id DESC LIMIT ?",
        (flat, int(limit)))]
    missed = [int(r[0]) for r in db.query("SELECT seq FROM desk_missed WHERE flat = ? ORDER BY seq", (flat,))]
    return FlatDetail(_summary(rows[0]), open_ + closed, timeline, missed)


def rejects(db: Database, limit: int = 100) -> list[RejectView]:
    return [RejectView(at, sender, text, reason) for at, sender, text, reason in db.query(
        "SELECT at, sender, text, reason FROM desk_rejects ORDER BY at DESC, id DESC LIMIT ?", (int(limit),))]


def ack(db: Database, ref: int, user: str, now: float) -> AlertView:
    """Acknowledge desk alert ``ref`` as ``user``: duty texts stop and, for a hub alarm, the hub
    is texted ``ACK n``. Raises :class:`DeskError` (no such alert, already acknowledged)."""
    if not user or not user.strip():
        raise DeskError("an acknowledgement needs the name of who gives it")
    with db.transaction():
        try:
            acked = flats.acknowledge(db, int(ref), user.strip(), now)
        except flats.AckRefused as exc:
            raise DeskError(str(exc)) from None
        flats.refresh_summary(db, acked.flat)
        return _alert(db.query(f"{_ALERT} WHERE id = ?", (int(ref),))[0])


MAX_NOTE = 2000


def add_note(db: Database, flat: str, user: str, text: str, now: float) -> None:
    """A staff note on the flat's timeline. Raises :class:`DeskError` (empty, too long, unknown flat)."""
    text = (text or "").strip()
    if not text:
        raise DeskError("the note is empty")
    if len(text) > MAX_NOTE:
        raise DeskError(f"the note is {len(text)} characters; at most {MAX_NOTE}")
    with db.transaction():
        if not db.query("SELECT 1 FROM desk_flats WHERE flat = ?", (flat,)):
            raise DeskError(f"there is no flat {flat!r}")
        flats.add_timeline(db, [(flat, now, "note", text, user)])
