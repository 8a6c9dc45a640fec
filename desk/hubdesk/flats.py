"""The desk's records of each flat: registration, alerts, acknowledgements, the summary row.

Shared by intake, the service loop and the board's actions, so that an alert is opened,
acknowledged and summed up in one way whoever does it. Callers hold the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import gammu, rules
from .config import DeskConfig
from .db import Database


class AckRefused(ValueError):
    """An ACK that cannot be applied; the message is for a person."""


def register_flats(db: Database, cfg: DeskConfig, now: float) -> None:
    """Make desk_flats match the config: new flats start their heartbeat clock now; flats no
    longer registered leave the board (their history stays until retention removes it)."""
    with db.transaction():
        known = {r[0] for r in db.query("SELECT flat FROM desk_flats")}
        wanted = {f.id for f in cfg.flats}
        for flat in cfg.flats:
            if flat.id in known:
                db.execute("UPDATE desk_flats SET phone = ?, interval_s = ?, grace_s = ? WHERE flat = ?",
                           (flat.phone, flat.heartbeat_hours * 3600.0, cfg.grace_s(flat), flat.id))
            else:
                db.execute("INSERT INTO desk_flats (flat, phone, interval_s, grace_s, registered) VALUES (?, ?, ?, ?, ?)",
                           (flat.id, flat.phone, flat.heartbeat_hours * 3600.0, cfg.grace_s(flat), now))
        for gone in known - wanted:
            db.execute("DELETE FROM desk_flats WHERE flat = ?", (gone,))
            # nobody is to be texted about a flat the office no longer watches
            db.execute("UPDATE desk_alerts SET closed = ?, duty_next = NULL, duty_stage = 'flat unregistered' "
                       "WHERE flat = ? AND closed IS NULL", (now, gone))


def open_alerts(db: Database, flats: list[str]) -> dict[str, list[rules.OpenAlert]]:
    out: dict[str, list[rules.OpenAlert]] = {f: [] for f in flats}
    for chunk in _chunks(flats):
        marks = ",".join("?" * len(chunk))
        for ref, flat, type_, cat, hub_id, opened, text in db.query(
                f"SELECT id, flat, type, category, hub_alert_id, opened, text FROM desk_alerts "
                f"WHERE closed IS NULL AND flat IN ({marks})", chunk):
            out[flat].append(rules.OpenAlert(int(ref), type_, cat, None if hub_id is None else int(hub_id), opened, text))
    return out


def open_alert(db: Database, flat: str, type_: str, category: str, hub_alert_id: int | None, recipient: str | None,
               opened: float, text: str, duty_at: float | None) -> int:
    """A new desk alert; duty is texted from ``duty_at`` (None: never)."""
    ref = db.insert("INSERT INTO desk_alerts (flat, type, category, hub_alert_id, recipient, opened, text, duty_next) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (flat, type_, category, hub_alert_id, recipient, opened, text, duty_at))
    hub = f" (hub alert {hub_alert_id})" if hub_alert_id is not None else ""
    add_timeline(db, [(flat, opened, "alert", f"desk alert {ref}: {type_}{hub}", None)])
    return ref


def close_alerts(db: Database, refs: tuple[int, ...], at: float, why: str, duty_numbers: tuple[str, ...]) -> None:
    """Close desk alerts; every duty number that was texted about one is told it is over
    (as the hub tells every office number that got an alarm), so nobody drives out for nothing."""
    for ref in refs:
        rows = db.query("SELECT flat, type, duty_round, duty_index FROM desk_alerts WHERE id = ? AND closed IS NULL",
                        (ref,))
        if not rows:
            continue
        flat, type_, rnd, index = rows[0]
        db.execute("UPDATE desk_alerts SET closed = ?, duty_next = NULL WHERE id = ?", (at, ref))
        told = duty_numbers if rnd > 1 else duty_numbers[:index + 1] if rnd == 1 else ()
        text = f"desk alert {ref} {type_} over: {why}"
        for number in told:
            gammu.queue_sms(db, number, text)
            add_timeline(db, [(flat, at, "duty_sms", f"to {number}: {text}", None)])


def add_timeline(db: Database, rows: list[tuple]) -> None:
    """Rows of (flat, at, what, text, by)."""
    db.executemany("INSERT INTO desk_timeline (flat, at, what, text, by) VALUES (?, ?, ?, ?, ?)", rows)


def refresh_summary(db: Database, flat: str) -> None:
    """Recompute the flat's board row from its open alerts and missed texts."""
    alerts = open_alerts(db, [flat])[flat]
    row = db.query("SELECT missed FROM desk_flats WHERE flat = ?", (flat,))
    if not row:
        return
    missed = int(row[0][0])
    since = db.query("SELECT MIN(noticed) FROM desk_missed WHERE flat = ?", (flat,))[0][0]
    state, urgency, since_at, headline = rules.summarize(alerts, missed, since)
    silent = [a.ref for a in alerts if a.type == rules.HUB_SILENT]
    db.execute("UPDATE desk_flats SET state = ?, urgency = ?, since = ?, headline = ?, open_alerts = ?, "
               "open_faults = ?, silent_ref = ? WHERE flat = ?",
               (state, urgency, since_at, headline[:300], len(alerts),
                sum(1 for a in alerts if a.category == "system"), silent[0] if silent else None, flat))


@dataclass(frozen=True)
class Acked:
    ref: int
    flat: str
    forwarded: str | None  # "ACK n" queued to the hub, if the alert stands for a hub alarm


def acknowledge(db: Database, ref: int, by: str, now: float) -> Acked:
    """Record an ACK of desk alert ``ref``: duty stops, and a hub alarm's hub is told ``ACK n``
    (from the modem that received the alarm, a number the hub obeys)."""
    with db.transaction():
        rows = db.query("SELECT flat, category, hub_alert_id, recipient, closed, acked_by FROM desk_alerts WHERE id = ?",
                        (ref,))
        if not rows:
            raise AckRefused(f"there is no alert {ref}")
        flat, category, hub_id, recipient, closed, acked_by = rows[0]
        if acked_by is not None:
            raise AckRefused(f"alert {ref} was already acknowledged by {acked_by}")
        db.execute("UPDATE desk_alerts SET acked_by = ?, acked_at = ?, duty_next = NULL, duty_stage = ? WHERE id = ?",
                   (by, now, f"acknowledged by {by}", ref))
        add_timeline(db, [(flat, now, "ack", f"alert {ref} acknowledged", by)])
        forwarded = None
        if category == "resident" and hub_id is not None and closed is None:
            phone = db.query("SELECT phone FROM desk_flats WHERE flat = ?", (flat,))
            if phone:
                forwarded = f"ACK {int(hub_id)}"
                gammu.queue_sms(db, phone[0][0], forwarded, sender_id=recipient or None)
                add_timeline(db, [(flat, now, "duty_sms", f"{forwarded} forwarded to the hub {phone[0][0]}", by)])
        return Acked(ref, flat, forwarded)


def _chunks(items: list, size: int = 500):
    for i in range(0, len(items), size):
        yield items[i:i + size]
