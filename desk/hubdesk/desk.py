"""The desk service: intake, silence checks, duty texts and retention, on an injected clock.

:meth:`Desk.step` does one round of everything due at ``clock()``; :meth:`Desk.run` repeats
it, sleeping only when the inbox is empty. Tests drive ``step`` with a fake clock.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from typing import Callable

from . import duty, flats, gammu, intake, rules
from .config import DeskConfig
from .db import Database, create_desk_tables

log = logging.getLogger("hubdesk")
SILENCE_CHECK_S = 30.0
PRUNE_EVERY_S = 3600.0


def prepare(db: Database, cfg: DeskConfig, now: float) -> str:
    """Tables (gammu's and the desk's) and the registered flats; which gateway schema was used."""
    used = gammu.create_gateway_tables(db)
    create_desk_tables(db)
    flats.register_flats(db, cfg, now)
    return used


class Desk:
    def __init__(self, db: Database, cfg: DeskConfig, clock: Callable[[], float] = time.time):
        self.db, self.cfg, self.clock = db, cfg, clock
        self._next_silence = 0.0
        self._next_prune = 0.0
        self._one_by_one = 0  # after a failed batch: texts to take one at a time


    def step(self) -> intake.IntakeResult:
        """Take in one batch, then do what is due; what intake did."""
        result = self._intake()
        now = self.clock()
        # while a backlog is being taken in (a full batch), a hub's heartbeat may still be
        # waiting in the inbox: judge silence only once intake has caught up
        caught_up = result.taken < self.cfg.desk.intake_batch
        if caught_up and now >= self._next_silence:
            self.check_silence(now)
            self._next_silence = now + SILENCE_CHECK_S
        self.escalate(now)
        if now >= self._next_prune:
            prune(self.db, now - self.cfg.retention.days * 86400.0)
            self._next_prune = now + PRUNE_EVERY_S
        return result

    def _intake(self) -> intake.IntakeResult:
        """A batch; if it fails for a reason other than the database, single texts are retried
        one by one and the one that fails alone is set aside as a reject (a poison text must not
        stop intake: silence from every hub would follow). Database errors propagate."""
        single = self._one_by_one > 0
        try:
            if single:
                result = intake.intake_batch(self.db, self.cfg, self.clock(), limit=1, with_parts=False)
            else:
                result = intake.intake_batch(self.db, self.cfg, self.clock())
        except Exception as exc:
            if _is_database_error(exc):
                raise
            log.exception("intake failed")
            if not single:
                self._one_by_one = self.cfg.desk.intake_batch
                return intake.IntakeResult()
            self._one_by_one -= 1
            return intake.quarantine_oldest(self.db, self.clock(), f"{type(exc).__name__}: {exc}")
        if single:
            self._one_by_one = max(0, self._one_by_one - max(result.taken, 1))
        return result

    def check_silence(self, now: float) -> list[str]:
        """Raise hub_silent for every flat whose heartbeat is overdue; the flats raised."""
        raised = []
        with self.db.transaction():
            # any text shows the hub alive (the heartbeat is the one it sends when all is well),
            # so silence counts from the last text: a hub heard from again is not re-raised at once
            rows = self.db.query("SELECT flat, last_message, last_heartbeat, registered, interval_s, grace_s "
                                 "FROM desk_flats WHERE silent_ref IS NULL "
                                 "AND COALESCE(last_message, registered) + interval_s + grace_s <= ?", (now,))
            for flat, last_msg, last_hb, registered, interval_s, grace_s in rows:
                due = rules.silence_due(last_msg, registered, interval_s, grace_s)
                text = rules.silent_text(flat, last_hb, registered)
                flats.open_alert(self.db, flat, rules.HUB_SILENT, "desk", None, None, due, text, now)
                flats.add_timeline(self.db, [(flat, now, "silent", text, None)])
                flats.refresh_summary(self.db, flat)
                raised.append(flat)
        for flat in raised:
            log.warning("hub_silent: %s", flat)
        return raised

    def escalate(self, now: float) -> int:
        """Text duty for every alert whose next step is due; texts queued."""
        sent = 0
        d = self.cfg.duty
        with self.db.transaction():
            rows = self.db.query("SELECT id, flat, type, text, duty_round, duty_index, duty_next FROM desk_alerts "
                                 "WHERE duty_next IS NOT NULL AND duty_next <= ? AND closed IS NULL", (now,))
            for ref, flat, type_, text, rnd, index, next_at in rows:
                state = duty.DutyState(int(rnd), int(index), next_at)
                new, numbers = duty.step(state, tuple(d.numbers), d.ack_timeout_minutes * 60.0, d.rounds, now)
                for number in numbers:
                    message = duty_text(int(ref), type_, text)
                    gammu.queue_sms(self.db, number, message, reference=int(ref))
                    flats.add_timeline(self.db, [(flat, now, "duty_sms", f"to {number}: {message}", None)])
                    sent += 1
                self.db.execute("UPDATE desk_alerts SET duty_round = ?, duty_index = ?, duty_next = ?, duty_stage = ? "
                                "WHERE id = ?", (new.round, new.index, new.next_at, new.stage, ref))
        return sent

    def run(self, stop: Callable[[], bool] = lambda: False) -> None:
        while not stop():
            result = self.step()
            if result.taken == 0:
                time.sleep(self.cfg.desk.poll_seconds)


# the hub's own "reply ACK n" would name the hub's number, not the desk's: duty answers the desk
_HUB_ACK_HINT = re.compile(r"(\.?\s*Reply ACK [0-9]+|。?ACK [0-9]+で応答)\s*$")


def _is_database_error(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.Error):
        return True
    module = type(exc).__module__ or ""
    return module.startswith("psycopg")


def duty_text(ref: int, type_: str, text: str) -> str:
    """What a duty phone receives: the desk's alert number to ACK, and the hub's words."""
    words = _HUB_ACK_HINT.sub("", text.strip())
    return f"desk alert {ref} {type_}: {words}. Reply ACK {ref}"


def prune(db: Database, before: float) -> int:
    """Delete history, rejects and closed alerts older than ``before``, and the gateway's copies
    of the texts (processed ``inbox`` rows, ``sentitems``): nothing outlives the retention limit
    in the database the desk shares with gammu-smsd. Rows deleted."""
    cutoff = gammu.stamp(before)
    with db.transaction():
        n = db.execute("DELETE FROM desk_timeline WHERE at < ?", (before,))
        n += db.execute('DELETE FROM inbox WHERE "Processed" = \'true\' AND "ReceivingDateTime" < ?', (cutoff,))
        n += db.execute('DELETE FROM sentitems WHERE "SendingDateTime" < ?', (cutoff,))
        n += db.execute("DELETE FROM desk_rejects WHERE at < ?", (before,))
        n += db.execute("DELETE FROM desk_alerts WHERE closed IS NOT NULL AND closed < ?", (before,))
        # a text lost longer ago than the retention limit stops counting against its flat
        old = db.query("SELECT flat, COUNT(*) FROM desk_missed WHERE noticed < ? GROUP BY flat", (before,))
        n += db.execute("DELETE FROM desk_missed WHERE noticed < ?", (before,))
        for flat, count in old:
            db.execute("UPDATE desk_flats SET missed = CASE WHEN missed > ? THEN missed - ? ELSE 0 END WHERE flat = ?",
                       (count, count, flat))
            flats.refresh_summary(db, flat)
    return n
