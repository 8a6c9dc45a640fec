"""``kill -9`` during intake: a child desk is killed again and again while taking in a few
thousand texts; afterwards every text was counted exactly once (a double count would show
as a resend, a loss as a missing sequence number)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

from deskrig import hub_text, put_inbox
from hubdesk.db import Database
from hubdesk.desk import prepare


FLATS = 30
PER_FLAT = 150  # 4,500 texts
KILLS = 12
DEADLINE_S = 60.0

CHILD = """
import sys
from hubdesk.config import load
from hubdesk.db import Database
from hubdesk.desk import Desk
cfg = load(sys.argv[1])
Desk(Database.open(cfg.database), cfg, clock=lambda: 1_800_000_000.0).run(stop=lambda: False)
"""


def _config(tmp_path, db_path) -> str:
    flats = "".join(f'[[flats]]\nid = "K-{i}"\nphone = "+8190{i:08d}"\n' for i in range(FLATS))
    path = tmp_path / "desk.toml"
    path.write_text(f'[database]\nsqlite = "{db_path}"\n[desk]\nintake_batch = 10\npoll_seconds = 0.1\n{flats}')
    return str(path)


def _unprocessed(db) -> int:
    return db.query("SELECT COUNT(*) FROM inbox WHERE \"Processed\" = 'false'")[0][0]


def test_kill_minus_nine_during_intake_loses_and_doubles_nothing(tmp_path):
    db_path = tmp_path / "smsd.db"
    config = _config(tmp_path, db_path)
    db = Database.open_sqlite(str(db_path))
    from hubdesk.config import load
    prepare(db, load(config), 1_800_000_000.0)
    with db.transaction():
        for seq in range(1, PER_FLAT + 1):
            for i in range(FLATS):
                put_inbox(db, f"+8190{i:08d}", hub_text(f"K-{i}", "heartbeat", seq), 1_800_000_000.0)
    total = FLATS * PER_FLAT
    rng = random.Random(17)
    kills_during_intake = 0
    end = time.monotonic() + DEADLINE_S
    while kills_during_intake < KILLS and time.monotonic() < end:
        before = _unprocessed(db)
        child = subprocess.Popen([sys.executable, "-c", CHILD, config])
        while _unprocessed(db) == before and child.poll() is None and time.monotonic() < end:
            time.sleep(0.002)  # wait until this child is taking texts in
        time.sleep(rng.uniform(0.0, 0.02))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        if 0 < _unprocessed(db) < before:
            kills_during_intake += 1
    child = subprocess.Popen([sys.executable, "-c", CHILD, config])  # the last life takes the rest in
    while _unprocessed(db) and time.monotonic() < end:
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert kills_during_intake == KILLS, f"only {kills_during_intake} kills landed during intake"
    assert _unprocessed(db) == 0
    counted = dict(db.query("SELECT flat, COUNT(*) FROM desk_timeline WHERE what = 'message' GROUP BY flat"))
    assert counted == {f"K-{i}": PER_FLAT for i in range(FLATS)}
    assert sum(counted.values()) == total
    assert db.query("SELECT COUNT(*) FROM desk_rejects")[0][0] == 0
    assert db.query("SELECT MIN(last_seq), MAX(last_seq) FROM desk_seq") == [(PER_FLAT, PER_FLAT)]
    assert db.query("SELECT SUM(missed) FROM desk_flats")[0][0] == 0
    assert db.query("SELECT COUNT(*) FROM desk_flats WHERE last_heartbeat IS NULL")[0][0] == 0
    db.close()
