"""Issue 17's whole path: simulated hubs (``hubsim.fleet``: each the hub's own core) text a real
gammu-smsd (its dummy phone), the desk takes the texts from gammu's database, the duty phones'
texts and the ACK forwarded to a hub leave through gammu's ``sentitems``, and the board shows it
all in a real browser: an alarm first, a hub that died as silent, a lost text as a gap."""

from __future__ import annotations

import threading

import pytest

from board_helpers import PASSWORD, browser, log_in_browser  # noqa: F401 (browser: a fixture)
from gammu_rig import DummyPhoneGateway, until
from hubdesk.board import add_user, make_server
from hubdesk.config import parse
from hubdesk.db import Database
from hubdesk.desk import Desk, prepare
from hubsim.fleet import HOUR, build_fleet, day_start

OFFICE = "+81300000001"  # the desk's modem, the number every hub texts
DUTY1, DUTY2 = "+819099990001", "+819099990002"
START = day_start(hour=9)
FATES = ["well", "collapse", "dies", "modem_lost", "loses_texts"]


class Clock:
    def __init__(self, t: float):
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def world(tmp_path):
    fleet = build_fleet(5, str(tmp_path / "hubs"), OFFICE, START, fates=FATES)
    dbdir = tmp_path / "db"
    dbdir.mkdir()
    gateway = DummyPhoneGateway.sqlite(tmp_path, dbdir)
    db = Database.open_sqlite(str(dbdir / "smsd.db"))
    cfg = parse({"flats": [{"id": h.flat, "phone": h.number} for h in fleet.hubs],
                 "duty": {"numbers": [DUTY1, DUTY2], "ack_timeout_minutes": 30}})
    clock = Clock(START)
    assert prepare(db, cfg, START) == "gammu"
    gateway.start()
    yield fleet, gateway, db, Desk(db, cfg, clock=clock), clock
    gateway.stop()
    db.close()


def _sent_to(db, number):
    return db.query('SELECT "ID", "TextDecoded", "Status" FROM sentitems WHERE "DestinationNumber" = ? ORDER BY "ID"',
                    (number,))


def test_simulated_hubs_through_gammu_to_the_desk_duty_and_board(world, browser):
    fleet, gateway, db, desk, clock = world
    hub = {h.fate: h for h in fleet.hubs}
    forwarded: set[int] = set()

    def live_until(t):
        """the hubs live to ``t``; their texts go through gammu; the desk takes them in at ``t``;
        what the desk sent to a hub reaches it"""
        for text in fleet.advance(t):
            gateway.drop(text.sender, text.text, sent=text.at)
        until(gateway.inbox_empty)
        clock.t = t

        def all_taken():
            """the desk has taken in every text gammu stored"""
            desk.step()
            return db.query("SELECT COUNT(*) FROM inbox WHERE \"Processed\" = 'false'") == [(0,)]
        until(all_taken)
        for h in fleet.hubs:
            for sent_id, text, _ in _sent_to(db, h.number):
                if sent_id not in forwarded:
                    forwarded.add(sent_id)
                    fleet.deliver(h.number, OFFICE, text, t)

    def state(fate):
        return db.query("SELECT state FROM desk_flats WHERE flat = ?", (hub[fate].flat,))[0][0]

    live_until(START + 8 * HOUR)
    # gammu stamps each text with its network time: the desk counts from when the hub sent it
    first = db.query("SELECT MIN(last_heartbeat) FROM desk_flats")[0][0]
    assert first == START + HOUR  # the 10:00 heartbeats
    assert state("collapse") == "alarm"
    duty = until(lambda: _sent_to(db, DUTY1))
    assert duty[0][2] == "SendingOKNoReport" and hub["collapse"].flat in duty[0][1]

    # the duty phone acknowledges; the desk forwards the hub's own ACK n to the hub, which stops
    ref = int(duty[0][1].rsplit("ACK ", 1)[1])
    gateway.drop(DUTY1, f"ACK {ref}", sent=START + 8 * HOUR)
    live_until(START + 8 * HOUR + 60)

    def ack_sent():
        """the desk's ACK for the collapsed resident's hub in sentitems"""
        return [text for _, text, _ in _sent_to(db, hub["collapse"].number)]
    assert until(ack_sent)[0].startswith("ACK ")
    live_until(START + 9 * HOUR)
    assert any(a.acked_by for a in hub["collapse"].engine.policy.alerts.values())

    for hours in (24, 30):
        live_until(START + hours * HOUR)
    assert state("dies") == "silent" and state("well") == "ok"
    assert state("modem_lost") == "silent"  # its modem is still without network

    for hours in (40, 50):
        live_until(START + hours * HOUR)
    assert state("dies") == "silent"
    assert state("modem_lost") != "silent"  # back: its held texts arrived
    missed = db.query("SELECT missed FROM desk_flats WHERE flat = ?", (hub["loses_texts"].flat,))[0][0]
    assert missed == 1 and state("loses_texts") == "fault"
    silent_texts = [text for _, text, _ in _sent_to(db, DUTY1) if hub["dies"].flat in text]
    assert any("hub_silent" in text for text in silent_texts)
    assert db.query("SELECT COUNT(*) FROM desk_rejects") == [(0,)]  # every hub's tag came through gammu intact

    add_user(db, "alice", PASSWORD)
    server = make_server(db, "127.0.0.1", 0, clock=clock, refresh=600)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        rows = log_in_browser(browser, server.url)
        shown = {r.get_attribute("data-flat"): r.get_attribute("class") for r in rows}
        assert shown[hub["dies"].flat] == "silent"
        assert shown[hub["well"].flat] == "ok"
        urgency = ["alarm", "silent", "fault", "ok"]
        classes = [r.get_attribute("class") for r in rows]
        assert classes == sorted(classes, key=urgency.index)  # the most urgent first
    finally:
        server.shutdown()
        server.server_close()
