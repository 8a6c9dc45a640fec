"""Helpers of the desk tests: a config, a clock, a desk on a database, and a way to put texts into
gammu's inbox as gammu-smsd would. (Not named conftest: the hub's tests import theirs by that name.)"""

from __future__ import annotations

import pytest

from hubd.sms_tag import Tag, tagged
from hubdesk.config import parse
from hubdesk.db import Database
from hubdesk.desk import Desk, prepare

T0 = 1_800_000_000.0  # 2027-01-15, a fixed start for every test clock
HUB_A = "+819011110001"
HUB_B = "+819011110002"
DUTY1 = "+819099990001"
DUTY2 = "+819099990002"
MODEM = "office1"  # the receiving gammu-smsd's PhoneID


def desk_config(**extra) -> dict:
    table = {
        "flats": [{"id": "A-101", "phone": HUB_A}, {"id": "B-202", "phone": HUB_B, "heartbeat_hours": 1.0,
                                                      "grace_hours": 0.5}],
        "duty": {"numbers": [DUTY1, DUTY2], "ack_timeout_minutes": 30, "rounds": 2, "fault_open_minutes": 60},
    }
    for key, value in extra.items():
        table[key] = value
    return table


class Clock:
    def __init__(self, t: float = T0):
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> float:
        self.t += seconds
        return self.t


def put_inbox(db: Database, sender: str, text: str, at: float, recipient: str = MODEM, udh: str = "",
              coding: str = "Default_No_Compression") -> None:
    """One raw ``inbox`` row, as written (a part, a damaged header…); whole texts: gammu.store_received."""
    from hubdesk.gammu import stamp
    db.execute('INSERT INTO inbox ("ReceivingDateTime", "Text", "SenderNumber", "Coding", "UDH", "TextDecoded", '
               '"RecipientID") VALUES (?, ?, ?, ?, ?, ?, ?)', (stamp(at), "", sender, coding, udh, text, recipient))


def hub_text(flat: str, kind: str, seq: int, alert_id: int | None = None, words: str = "hubd text") -> str:
    return tagged(f"hubd {flat}: {words}", Tag(flat, kind, alert_id, seq))


class DeskRig:
    """A desk on a fresh database with a fake clock."""

    def __init__(self, db: Database, table: dict | None = None):
        self.db = db
        self.clock = Clock()
        self.cfg = parse(table or desk_config())
        prepare(db, self.cfg, self.clock())
        self.desk = Desk(db, self.cfg, self.clock)

    def send(self, sender: str, text: str, recipient: str = MODEM, **kw) -> None:
        put_inbox(self.db, sender, text, self.clock(), recipient, **kw)

    def run(self):
        """Intake until the inbox is empty, then what is due; total texts taken."""
        taken = 0
        while True:
            r = self.desk.step()
            taken += r.taken
            if r.taken == 0:
                return taken

    def flat(self, flat: str) -> dict:
        cols = ["state", "urgency", "since", "last_heartbeat", "last_message", "open_alerts", "missed", "headline",
                "silent_ref", "last_status"]
        row = self.db.query(f"SELECT {', '.join(cols)} FROM desk_flats WHERE flat = ?", (flat,))[0]
        return dict(zip(cols, row))

    def outbox(self) -> list[tuple]:
        return self.db.query('SELECT "DestinationNumber", "TextDecoded", "SenderID" FROM outbox ORDER BY "ID"')

    def rejects(self) -> list[tuple]:
        return self.db.query("SELECT sender, text, reason FROM desk_rejects ORDER BY id")

    def unprocessed(self) -> int:
        return self.db.query("SELECT COUNT(*) FROM inbox WHERE \"Processed\" = 'false'")[0][0]


# Fixtures: imported by name into the test modules that use them. (A conftest.py here would
# take the module name ``conftest`` from the hub's tests/conftest.py, which they import.)
@pytest.fixture
def sqlite_db(tmp_path):
    db = Database.open_sqlite(str(tmp_path / "smsd.db"))
    yield db
    db.close()


@pytest.fixture
def rig(sqlite_db):
    return DeskRig(sqlite_db)
