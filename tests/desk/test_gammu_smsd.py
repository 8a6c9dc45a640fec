"""A real gammu-smsd (Debian's, dummy phone driver, SQLite backend) and the desk on one database:
a hub's text dropped into the dummy phone reaches the desk; the desk's duty text and its
forwarded ACK come out in gammu's ``sentitems``.

Also pins down gammu-smsd 1.42's ``DBI error -6`` with SQLite: it follows only the outbox
poll that found nothing to send (libdbi's "no such row"), so it is noise, not a fault.
"""

from __future__ import annotations

import time

import pytest

from deskrig import DUTY1, HUB_A, desk_config, hub_text
from gammu_rig import DummyPhoneGateway, until
from hubdesk import gammu
from hubdesk.config import parse
from hubdesk.db import Database
from hubdesk.desk import Desk, prepare

OUTBOX_POLL = "Execute SQL: SELECT ID, InsertIntoDB, SendingDateTime, SenderID FROM outbox"


@pytest.fixture
def gateway(tmp_path):
    dbdir = tmp_path / "db"
    dbdir.mkdir()
    gw = DummyPhoneGateway.sqlite(tmp_path, dbdir, debug=True)
    db = Database.open_sqlite(str(dbdir / "smsd.db"))
    cfg = parse(desk_config(flats=[{"id": "A-101", "phone": HUB_A}]))
    assert prepare(db, cfg, time.time()) == "gammu"  # gammu's own schema, from the package
    gw.start()
    yield db, cfg, gw
    gw.stop()
    db.close()


def test_hub_text_reaches_desk_and_duty_texts_leave_through_gammu(gateway):
    db, cfg, gw = gateway
    desk = Desk(db, cfg)
    gw.drop(HUB_A, hub_text("A-101", "inactivity", 1, 12, "2時間5分活動なし。警報12"))

    def alarm_on_desk():
        """the hub's alarm on the desk"""
        return db.query("SELECT state FROM desk_flats WHERE flat = 'A-101'") == [("alarm",)]
    until(alarm_on_desk, tick=desk.step)
    assert db.query('SELECT "RecipientID", "Coding" FROM inbox') == [("office1", "Unicode_No_Compression")]

    def duty_sent():
        """the duty text in gammu's sentitems"""
        return db.query('SELECT "Status", "TextDecoded", "ID" FROM sentitems WHERE "DestinationNumber" = ?', (DUTY1,))
    status, text, outbox_id = until(duty_sent)[0]
    assert status == "SendingOKNoReport" and "活動なし" in text and text.endswith("Reply ACK 1")
    assert gammu.sent_status(db, outbox_id) == "SendingOKNoReport"

    gw.drop(DUTY1, "ACK 1")

    def ack_forwarded():
        """ACK 12 sent to the hub"""
        return db.query('SELECT "Status", "SenderID" FROM sentitems WHERE "DestinationNumber" = ? AND "TextDecoded" = ?',
                        (HUB_A, "ACK 12"))
    assert until(ack_forwarded, tick=desk.step)[0] == ("SendingOKNoReport", "office1")

    # a long text in two parts: gammu-smsd 1.42 stores one inbox row per part, the whole text in
    # the first part's TextDecoded and nothing in the second's; the desk joins them by header
    long_text = hub_text("A-101", "heartbeat", 2, words="alive. Last activity Nov 14 22:13. " + "x" * 120)
    gw.drop(HUB_A, long_text[:67], "0500030A0201")
    gw.drop(HUB_A, long_text[67:], "0500030A0202")

    def long_text_taken():
        """the two-part heartbeat taken in as one text"""
        return db.query("SELECT text FROM desk_timeline WHERE what = 'message' AND text LIKE '%xxxx%'")
    assert until(long_text_taken, tick=desk.step) == [(long_text[:long_text.rindex(" #")],)]
    assert db.query('SELECT COUNT(*) FROM inbox WHERE "UDH" <> \'\'') == [(2,)]
    assert db.query("SELECT COUNT(*) FROM desk_rejects") == [(0,)]

    # DBI error -6 only ever follows the outbox poll (an empty result), never a read or write of a message
    lines = [line for line in gw.log.read_text(errors="replace").splitlines() if line.strip()]
    errors = [i for i, line in enumerate(lines) if "DBI error -6" in line and i > 0]
    assert errors, "expected gammu-smsd 1.42's DBI error -6 with SQLite; has gammu changed?"
    previous_sql = []
    for i in errors:
        sql = next((lines[j] for j in range(i - 1, -1, -1) if "Execute SQL" in lines[j]), "")
        previous_sql.append(OUTBOX_POLL in sql)
    assert all(previous_sql)


def test_gammu_smsd_on_postgresql_with_the_desk(tmp_path):
    """Production's pairing: gammu-smsd's native PostgreSQL driver and the desk on one database
    (no DBI error there: native_pgsql does not go through libdbi)."""
    from pg_server import PostgresMissing, PostgresServer
    try:
        server = PostgresServer().start()
    except PostgresMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    gw = DummyPhoneGateway(tmp_path, f"driver = native_pgsql\nhost = {server.socket}\nuser = {server.user}\n"
                                     "password =\ndatabase = smsd")
    db = Database.open_postgres(server.create_database("smsd"))
    try:
        cfg = parse(desk_config(flats=[{"id": "A-101", "phone": HUB_A}]))
        assert prepare(db, cfg, time.time()) == "gammu"
        desk = Desk(db, cfg)
        gw.start()
        gw.drop(HUB_A, hub_text("A-101", "inactivity", 1, 4, "no activity"))

        def alarm_on_desk():
            """the hub's alarm on the desk (PostgreSQL)"""
            return db.query("SELECT state FROM desk_flats WHERE flat = 'A-101'") == [("alarm",)]
        until(alarm_on_desk, tick=desk.step)

        def duty_sent():
            """the duty text in gammu's sentitems (PostgreSQL)"""
            return db.query('SELECT "Status" FROM sentitems WHERE "DestinationNumber" = ?', (DUTY1,))
        assert until(duty_sent)[0] == ("SendingOKNoReport",)
        assert "DBI error" not in gw.log.read_text(errors="replace")
    finally:
        gw.stop()
        db.close()
        server.stop()
