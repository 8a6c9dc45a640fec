"""Taking gammu-smsd's received texts in: one transaction per batch.

The batch's desk rows and its inbox rows' ``Processed`` flags commit together, so a desk
killed at any instant has taken each text in exactly once or not at all. Nothing a sender
writes can stop intake: a text that is not a well-formed hub message of a registered flat
from its hub, nor a duty command, becomes a row in ``desk_rejects`` with the reason.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from hubd.core.office import BadCommand, parse_command
from hubd.phone import sender_international
from hubd.sms_tag import TagError, parse

from . import flats, gammu, rules
from .config import DeskConfig
from .db import Database

MAX_KEPT_TEXT = 1000  # characters of a rejected text kept for the board


@dataclass(frozen=True)
class IntakeResult:
    taken: int = 0  # whole texts processed (accepted + rejected)
    accepted: int = 0
    rejected: int = 0


def intake_batch(db: Database, cfg: DeskConfig, now: float, limit: int | None = None,
                 with_parts: bool = True) -> IntakeResult:
    """Take in up to ``limit`` (default ``cfg.desk.intake_batch``) unprocessed texts, and the
    waiting parts of long ones unless ``with_parts`` is false; what was done."""
    with db.transaction():
        rows = gammu.read_unprocessed(db, limit or cfg.desk.intake_batch, part_limit=2000 if with_parts else 0)
        if not rows:
            return IntakeResult()
        whole, broken = gammu.join_parts(rows, now, cfg.desk.multipart_wait_hours * 3600.0)
        batch = _Batch(db, cfg, now)
        for row, reason in broken:
            batch.reject(row.received, row.sender, row.text, reason)
        processed = [row.id for row, _ in broken]
        duty = set(cfg.duty.numbers)
        tagged, commands = [], []
        for msg in whole:
            processed.extend(msg.ids)
            msg = _international(msg, cfg.desk.country_code)
            at = msg.received if 0 < msg.received <= now else now
            if msg.coding == "8bit":
                batch.reject(at, msg.sender, "(8-bit data)", "binary SMS, not a text")
            elif msg.sender in duty:
                commands.append((msg, at))
            else:
                try:
                    human, tag = parse(msg.text)
                except TagError as exc:
                    batch.reject(at, msg.sender, msg.text, str(exc))
                    continue
                tagged.append((msg, at, human, tag))
        batch.load({tag.flat for _, _, _, tag in tagged})
        for msg, at, human, tag in tagged:
            batch.message(msg, at, human, tag)
        batch.write()
        for msg, at in commands:
            batch.command(msg, at)
        batch.write_rejects()
        gammu.mark_processed(db, processed)
        return IntakeResult(len(whole) + len(broken), batch.accepted, len(batch.rejects))


def quarantine_oldest(db: Database, now: float, reason: str) -> IntakeResult:
    """Set the oldest unprocessed single text aside as a reject: the last resort when taking it
    in fails (a fault in the desk), so that one text cannot stop every hub's being heard."""
    with db.transaction():
        rows = [r for r in gammu.read_unprocessed(db, 1, part_limit=0) if not r.udh]
        if not rows:
            return IntakeResult()
        row = rows[0]
        db.execute("INSERT INTO desk_rejects (at, sender, text, reason) VALUES (?, ?, ?, ?)",
                   (now, row.sender, row.text[:MAX_KEPT_TEXT], f"the desk failed on this text: {reason}"))
        gammu.mark_processed(db, [row.id])
        return IntakeResult(1, 0, 1)


def _international(msg: gammu.Inbound, country_code: str) -> gammu.Inbound:
    """The sender in the form the config uses (+81…): networks also deliver 090… and 90…."""
    number = sender_international(msg.sender, True, country_code)
    return msg if number is None or number == msg.sender else dataclasses.replace(msg, sender=number)


class _Batch:
    """The desk rows of one intake transaction, gathered and written together."""

    def __init__(self, db: Database, cfg: DeskConfig, now: float):
        self.db, self.cfg, self.now = db, cfg, now
        self.views: dict[str, rules.FlatView] = {}
        self.timeline: list[tuple] = []
        self.rejects: list[tuple] = []
        self.seq: dict[tuple[str, str], int] = {}
        self.missed_new: list[tuple] = []
        self.missed_gone: list[tuple] = []
        self.flat_updates: dict[str, dict] = {}
        self.changed: set[str] = set()
        self.accepted = 0

    def load(self, names: set[str]) -> None:
        names_list = sorted(names)
        found: dict[str, str] = {}
        for chunk in flats._chunks(names_list):
            marks = ",".join("?" * len(chunk))
            found.update(self.db.query(f"SELECT flat, phone FROM desk_flats WHERE flat IN ({marks})", chunk))
        if not found:
            return
        known = sorted(found)
        alerts = flats.open_alerts(self.db, known)
        seqs: dict[str, dict[str, int]] = {f: {} for f in known}
        missed: dict[str, set] = {f: set() for f in known}
        for chunk in flats._chunks(known):
            marks = ",".join("?" * len(chunk))
            for flat, recipient, last in self.db.query(
                    f"SELECT flat, recipient, last_seq FROM desk_seq WHERE flat IN ({marks})", chunk):
                seqs[flat][recipient] = int(last)
            for flat, recipient, seq in self.db.query(
                    f"SELECT flat, recipient, seq FROM desk_missed WHERE flat IN ({marks})", chunk):
                missed[flat].add((recipient, int(seq)))
        for flat in known:
            self.views[flat] = rules.FlatView(flat, found[flat], tuple(alerts[flat]), seqs[flat], frozenset(missed[flat]))

    def reject(self, at: float, sender: str, text: str, reason: str) -> None:
        self.rejects.append((at, sender or "", (text or "")[:MAX_KEPT_TEXT], reason))

    def message(self, msg: gammu.Inbound, at: float, human: str, tag) -> None:
        view = self.views.get(tag.flat)
        if view is None:
            self.reject(at, msg.sender, msg.text, f"unknown flat {tag.flat!r} (not registered on the desk)")
            return
        d = rules.on_message(view, msg.sender, msg.recipient, human, tag)
        if d.reject:
            self.reject(at, msg.sender, msg.text, d.reject)
            return
        self.accepted += 1
        flat = tag.flat
        upd = self.flat_updates.setdefault(flat, {"missed": 0})
        upd["last_message"] = max(upd.get("last_message", at), at)
        if d.heartbeat:
            upd["last_heartbeat"] = max(upd.get("last_heartbeat", at), at)
        if d.status is not None:
            upd["last_status"] = d.status
        self.timeline.extend((flat, at, what, text, None) for what, text in d.timeline)
        last_seq, missed, alerts = dict(view.last_seq), set(view.missed), list(view.open_alerts)
        if d.seq is not None:
            last_seq[d.seq[0]] = d.seq[1]
            self.seq[(flat, d.seq[0])] = d.seq[1]
        if d.missed_new:
            self.missed_new.extend((flat, msg.recipient, s, at) for s in d.missed_new)
            missed.update((msg.recipient, s) for s in d.missed_new)
        if d.missed_new or d.missed_uncounted:
            upd["missed"] += len(d.missed_new) + d.missed_uncounted
            self.changed.add(flat)
        if d.missed_filled is not None:
            self.missed_gone.append((flat, msg.recipient, d.missed_filled))
            missed.discard((msg.recipient, d.missed_filled))
            upd["missed"] -= 1
            self.changed.add(flat)
        if d.close_refs:
            flats.close_alerts(self.db, d.close_refs, at, human, tuple(self.cfg.duty.numbers))
            alerts = [a for a in alerts if a.ref not in d.close_refs]
            self.changed.add(flat)
        if d.open_alert is not None:
            type_, category, hub_id = d.open_alert
            duty_at = self.now if category == "resident" else at + self.cfg.duty.fault_open_minutes * 60.0
            ref = flats.open_alert(self.db, flat, type_, category, hub_id, msg.recipient or None, at, human, duty_at)
            alerts.append(rules.OpenAlert(ref, type_, category, hub_id, at, human))
            self.changed.add(flat)
        self.views[flat] = dataclasses.replace(view, open_alerts=tuple(alerts), last_seq=last_seq,
                                               missed=frozenset(missed))

    def command(self, msg: gammu.Inbound, at: float) -> None:
        try:  # the hub's own reading of an ACK: duty phones and office phones are typed alike
            command = parse_command(msg.text)
        except BadCommand:
            command = None
        if command is None or command.name != "ack":
            self.reject(at, msg.sender, msg.text, "from a duty phone, but not a command (expected ACK n)")
            return
        try:
            acked = flats.acknowledge(self.db, command.alert_id, msg.sender, at)
        except flats.AckRefused as exc:
            self.reject(at, msg.sender, msg.text, f"ACK refused: {exc}")
            return
        self.accepted += 1
        flats.refresh_summary(self.db, acked.flat)

    def write(self) -> None:
        db = self.db
        flats.add_timeline(db, self.timeline)
        db.executemany("INSERT INTO desk_seq (flat, recipient, last_seq) VALUES (?, ?, ?) "
                       "ON CONFLICT (flat, recipient) DO UPDATE SET last_seq = excluded.last_seq",
                       [(f, r, s) for (f, r), s in self.seq.items()])
        db.executemany("INSERT INTO desk_missed (flat, recipient, seq, noticed) VALUES (?, ?, ?, ?) "
                       "ON CONFLICT DO NOTHING", self.missed_new)
        db.executemany("DELETE FROM desk_missed WHERE flat = ? AND recipient = ? AND seq = ?", self.missed_gone)
        rows = []
        for flat, u in self.flat_updates.items():
            rows.append((u.get("last_message"), u.get("last_heartbeat"), u.get("last_status"), u["missed"], flat))
        db.executemany(_FLAT_UPDATE[db.backend], [(r[0], r[0], r[1], r[1], r[1], r[2], r[3], r[4]) for r in rows])
        for flat in sorted(self.changed):
            flats.refresh_summary(db, flat)
        self.timeline, self.seq, self.missed_new, self.missed_gone, self.flat_updates, self.changed = [], {}, [], [], {}, set()

    def write_rejects(self) -> None:
        self.db.executemany("INSERT INTO desk_rejects (at, sender, text, reason) VALUES (?, ?, ?, ?)", self.rejects)


# last_message/last_heartbeat only move forward (a late text does not make a flat look older)
_FLAT_UPDATE = {
    "sqlite": "UPDATE desk_flats SET last_message = MAX(COALESCE(last_message, ?), ?), "
              "last_heartbeat = CASE WHEN ? IS NULL THEN last_heartbeat ELSE MAX(COALESCE(last_heartbeat, ?), ?) END, "
              "last_status = COALESCE(?, last_status), missed = missed + ? WHERE flat = ?",
    "postgres": "UPDATE desk_flats SET last_message = GREATEST(last_message, ?::double precision, ?::double precision), "
                "last_heartbeat = CASE WHEN ?::double precision IS NULL THEN last_heartbeat "
                "ELSE GREATEST(last_heartbeat, ?::double precision, ?::double precision) END, "
                "last_status = COALESCE(?, last_status), missed = missed + ? WHERE flat = ?",
}
