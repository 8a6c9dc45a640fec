"""Desk intake rate from gammu-smsd's inbox, on SQLite and PostgreSQL (issue 17: >= 1,000 texts/s).

What is measured, exactly:
1. Prefill (not timed as intake): 10,000 flats with a year of texts, as if the desk had taken
   them in: the gateway's ``inbox`` holds every text (Processed), and the desk's tables hold
   their history (``desk_timeline``), closed alerts, sequence numbers and flat rows. A flat sends
   a daily heartbeat, and every 12th day an inactivity alarm and its resolution
   (about 4.26 M texts).
2. The next ``--final-days`` days of the same traffic are put into ``inbox`` unprocessed, then
   timed: the desk's real intake (``intake.intake_batch`` in a loop, batches of 500, one
   transaction each: parse tags, rules, sequence checks, alerts opened/closed with their duty
   texts queued, summaries, Processed flags) until the inbox is empty.
3. Baseline in the same run: the same rows marked unprocessed again and taken by a bare loop
   that, per batch of 500, selects them, inserts one timeline row each, updates each flat's
   last_message and sets Processed - the minimum any intake must write, with no parsing or rules.

Run: ``python benchmarks/bench_desk_intake.py [--backend sqlite|postgres|both] [--flats N] [--days N]``.
PostgreSQL is started in a temp dir from Debian's binaries (as tests/desk do).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "desk"))

from hubd.sms_tag import Tag, tagged  # noqa: E402
from hubdesk import intake  # noqa: E402
from hubdesk.gammu import stamp  # noqa: E402
from hubdesk.config import parse  # noqa: E402
from hubdesk.db import Database  # noqa: E402
from hubdesk.desk import prepare  # noqa: E402

T0 = 1_767_225_600.0  # 2026-01-01 00:00 UTC
DAY = 86400.0
ALARM_EVERY = 12
MODEM = "office1"
CHUNK = 100_000


def phone(f: int) -> str:
    return f"+8190{f:08d}"


def flat_id(f: int) -> str:
    return f"F-{f:05d}"


def traffic(flats: int, first_day: int, days: int, seqs: list[int], alert_ids: list[int]):
    """(flat index, time, kind, text) of every text in order; advances seqs/alert_ids."""
    for d in range(first_day, first_day + days):
        for f in range(flats):
            at = T0 + d * DAY + 36000 + f  # 10:00 plus a second per flat
            fid = flat_id(f)
            seqs[f] += 1
            yield f, at, "heartbeat", tagged(f"hubd {fid}: alive. Last activity Nov 14 22:13. Mode watching. "
                                             f"Open alerts 0. Signal 3/4. Unsent SMS 0", Tag(fid, "heartbeat", None, seqs[f]))
            if (d * 7 + f) % ALARM_EVERY == 0:
                alert_ids[f] += 1
                a = alert_ids[f]
                seqs[f] += 1
                yield f, at + 3600, "inactivity", tagged(f"hubd {fid}: no activity for 2h05m. Alert {a}. Reply ACK {a}",
                                                         Tag(fid, "inactivity", a, seqs[f]))
                seqs[f] += 1
                yield f, at + 4000, "resolved:inactivity", tagged(
                    f"hubd {fid}: alert {a} resolved, activity again after 2h12m", Tag(fid, "resolved:inactivity", a, seqs[f]))




INBOX_COLS = '"ReceivingDateTime", "Text", "SenderNumber", "Coding", "UDH", "TextDecoded", "RecipientID", "Processed"'
TIMELINE_COLS = "flat, at, what, text, by"


def bulk(db: Database, table: str, cols: str, rows: list[tuple]) -> None:
    if not rows:
        return
    if db.backend == "postgres":
        with db._conn.cursor() as cur:
            with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as cp:
                for r in rows:
                    cp.write_row(r)
    else:
        marks = ",".join("?" * len(rows[0]))
        with db.transaction():
            db.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)


def prefill(db: Database, flats: int, days: int) -> tuple[int, list[int], list[int]]:
    seqs, alert_ids = [0] * flats, [0] * flats
    inbox, timeline, alerts = [], [], []
    last_hb = [None] * flats
    n = 0
    processed = "true"
    for f, at, kind, text in traffic(flats, 0, days, seqs, alert_ids):
        n += 1
        inbox.append((stamp(at), "", phone(f), "Default_No_Compression", "", text, MODEM, processed))
        human = text[:text.rindex(" #")]
        timeline.append((flat_id(f), at, "message", human, None))
        if kind == "heartbeat":
            last_hb[f] = at
        elif kind == "inactivity":
            alerts.append((flat_id(f), "inactivity", "resident", alert_ids[f], MODEM, at, at + 400, human, "+819099990001",
                           at + 300, "acknowledged by +819099990001"))
        if len(inbox) >= CHUNK:
            bulk(db, "inbox", INBOX_COLS, inbox)
            bulk(db, "desk_timeline", TIMELINE_COLS, timeline)
            inbox, timeline = [], []
    bulk(db, "inbox", INBOX_COLS, inbox)
    bulk(db, "desk_timeline", TIMELINE_COLS, timeline)
    bulk(db, "desk_alerts", "flat, type, category, hub_alert_id, recipient, opened, closed, text, acked_by, acked_at, "
                            "duty_stage", alerts)
    with db.transaction():
        db.executemany("INSERT INTO desk_seq (flat, recipient, last_seq) VALUES (?, ?, ?)",
                       [(flat_id(f), MODEM, seqs[f]) for f in range(flats)])
        db.executemany("UPDATE desk_flats SET last_heartbeat = ?, last_message = ? WHERE flat = ?",
                       [(last_hb[f], last_hb[f], flat_id(f)) for f in range(flats)])
    return n, seqs, alert_ids


def queue_final(db: Database, flats: int, first_day: int, days: int, seqs, alert_ids) -> int:
    rows = [(stamp(at), "", phone(f), "Default_No_Compression", "", text, MODEM, "false")
            for f, at, kind, text in traffic(flats, first_day, days, seqs, alert_ids)]
    for i in range(0, len(rows), CHUNK):
        bulk(db, "inbox", INBOX_COLS, rows[i:i + CHUNK])
    return len(rows)


def time_desk_intake(db: Database, cfg, now: float) -> tuple[int, float]:
    taken, start = 0, time.perf_counter()
    while True:
        r = intake.intake_batch(db, cfg, now)
        if r.taken == 0:
            return taken, time.perf_counter() - start
        taken += r.taken


def time_baseline(db: Database, batch: int) -> tuple[int, float]:
    taken, start = 0, time.perf_counter()
    while True:
        with db.transaction():
            rows = db.query('SELECT "ID", "ReceivingDateTime", "SenderNumber", "TextDecoded" FROM inbox '
                            "WHERE \"Processed\" = 'false' AND \"UDH\" = '' ORDER BY \"ID\" LIMIT ?", (batch,))
            if not rows:
                return taken, time.perf_counter() - start
            flats = [r[3][r[3].rindex("#") + 1:].split(".")[0] for r in rows]
            db.executemany("INSERT INTO desk_timeline (flat, at, what, text, by) VALUES (?, ?, 'message', ?, NULL)",
                           [(f, T0, r[3]) for f, r in zip(flats, rows)])
            db.executemany("UPDATE desk_flats SET last_message = ? WHERE flat = ?", [(T0, f) for f in flats])
            db.executemany("UPDATE inbox SET \"Processed\" = 'true' WHERE \"ID\" = ?", [(r[0],) for r in rows])
        taken += len(rows)


def size_of(db: Database, path: str | None) -> str:
    if db.backend == "postgres":
        return f"{db.query('SELECT pg_database_size(current_database())')[0][0] / 1e9:.2f} GB"
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return f"{os.path.getsize(path) / 1e9:.2f} GB"


def run(backend: str, flats: int, days: int, final_days: int) -> dict:
    tmp = tempfile.mkdtemp(prefix="bench-desk-")
    server = None
    path = None
    if backend == "postgres":
        from pg_server import PostgresServer
        server = PostgresServer().start()
        db = Database.open_postgres(server.create_database("smsd"))
    else:
        path = os.path.join(tmp, "smsd.db")
        db = Database.open_sqlite(path)
    try:
        table = {"flats": [{"id": flat_id(f), "phone": phone(f)} for f in range(flats)],
                 "duty": {"numbers": ["+819099990001", "+819099990002"]}}
        cfg = parse(table)
        t = time.perf_counter()
        prepare(db, cfg, T0)
        year, seqs, alert_ids = prefill(db, flats, days)
        if backend == "postgres":
            db.execute("ANALYZE")
        prefill_s = time.perf_counter() - t
        final = queue_final(db, flats, days, final_days, seqs, alert_ids)
        now = T0 + (days + final_days) * DAY
        taken, desk_s = time_desk_intake(db, cfg, now)
        assert taken == final, (taken, final)
        rejects = db.query("SELECT COUNT(*) FROM desk_rejects")[0][0]
        assert rejects == 0, f"{rejects} rejects in a clean benchmark"
        db.execute("UPDATE inbox SET \"Processed\" = 'false' WHERE \"ID\" > (SELECT MAX(\"ID\") FROM inbox) - ?", (final,))
        base_taken, base_s = time_baseline(db, cfg.desk.intake_batch)
        assert base_taken == final
        result = {"backend": backend, "flats": flats, "year_texts": year, "final_texts": final,
                  "prefill_s": prefill_s, "desk_rate": final / desk_s, "desk_s": desk_s,
                  "baseline_rate": final / base_s, "baseline_s": base_s, "size": size_of(db, path)}
        return result
    finally:
        db.close()
        if server:
            server.stop()
        if path:
            for suffix in ("", "-wal", "-shm"):
                try:
                    os.remove(path + suffix)
                except FileNotFoundError:
                    pass


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--flats", type=int, default=10_000)
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--final-days", type=int, default=10)
    args = p.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    for backend in backends:
        r = run(backend, args.flats, args.days, args.final_days)
        print(f"{r['backend']:8s} {r['flats']} flats, year prefilled: {r['year_texts']:,} texts in {r['prefill_s']:.0f} s; "
              f"database {r['size']}")
        print(f"{'':8s} desk intake of {r['final_texts']:,} texts from inbox: {r['desk_rate']:,.0f} texts/s "
              f"({r['desk_s']:.1f} s)")
        print(f"{'':8s} baseline bare INSERT/UPDATE loop, same rows: {r['baseline_rate']:,.0f} texts/s "
              f"({r['baseline_s']:.1f} s); desk/baseline = {r['desk_rate'] / r['baseline_rate']:.2f}", flush=True)


if __name__ == "__main__":
    main()
