"""The board over the real desk (A's board API, intake and tables on SQLite), and how the desk
starts it: ``server.start`` from ``hubdesk run`` and ``hubdesk user add``."""

from __future__ import annotations

import io
import re

import pytest
from board_helpers import PASSWORD, Client, Running, real_desk

from hubdesk.board import auth, server, users
from hubdesk.cli import main as hubdesk_main
from hubdesk.config import parse
from hubdesk.db import Database


@pytest.fixture
def desk(tmp_path):
    db, clock, _ = real_desk(str(tmp_path / "smsd.db"))
    run = Running(db, api=None, clock=clock)
    c = Client(run.port)
    c.log_in()
    yield db, c
    run.stop()
    db.close()


def test_real_desk_board_order_and_counts(desk):
    _, c = desk
    body = c.get("/").body
    assert re.findall(r'data-flat="([^"]+)"', body)[:5] == ["A-101", "A-102", "B-201", "C-301", "D-401"]
    assert re.search(r'id="count-fault"><span class="n">2</span>', body)


def test_real_ack_twice_is_refused_with_the_desks_words(desk):
    db, c = desk
    page = c.get("/flat/A-101")
    ref = re.search(r'name="ref" value="(\d+)"', page.body).group(1)
    assert c.post("/flat/A-101/ack", {"csrf": page.csrf(), "ref": ref}).status == 303
    again = c.post("/flat/A-101/ack", {"csrf": page.csrf(), "ref": ref})
    assert again.status == 409 and "was not acknowledged" in again.body
    assert db.query("SELECT acked_by FROM desk_alerts WHERE id = ?", (int(ref),)) == [("alice",)]
    missing = c.post("/flat/A-101/ack", {"csrf": page.csrf(), "ref": "99999"})
    assert missing.status == 409


def test_real_note_is_on_the_timeline_with_the_staff_name(desk):
    db, c = desk
    csrf = c.get("/flat/B-201/note").csrf()
    assert c.post("/flat/B-201/note", {"csrf": csrf, "text": "Technician sent, 15:00"}).status == 303
    assert db.query("SELECT by, text FROM desk_timeline WHERE what = 'note'") == [("alice", "Technician sent, 15:00")]
    assert "Technician sent, 15:00" in c.get("/flat/B-201").body


def test_real_rejects_are_shown_escaped(desk):
    _, c = desk
    body = c.get("/rejects").body
    assert "Please call me &lt;b&gt;back&lt;/b&gt;" in body and "<b>back</b>" not in body
    assert "+819012345678" in body and "no hub tag" in body


def test_missed_sequence_numbers_on_the_flat_page(desk):
    _, c = desk
    assert 'id="missed">2–3<' in c.get("/flat/D-401").body


def test_start_serves_on_the_configured_address_and_stops(tmp_path):
    db = Database.open_sqlite(str(tmp_path / "smsd.db"))
    cfg = parse({"board": {"listen": "127.0.0.1:0"}})
    stop = server.start(db, cfg, api=object())  # only /login is asked for: it needs no api
    port = int(stop.url.rsplit(":", 1)[1])
    try:
        assert Client(port).get("/login").status == 200
        assert db.query("SELECT COUNT(*) FROM desk_users") == [(0,)], "the board's tables were made"
    finally:
        stop()
    with pytest.raises(ConnectionError):
        Client(port).get("/login")


def test_parse_listen():
    assert server.parse_listen("0.0.0.0:8080") == ("0.0.0.0", 8080)
    assert server.parse_listen("[::1]:9000") == ("::1", 9000)
    for bad in ("8080", "host:x", "host:70000"):
        with pytest.raises(ValueError, match="host:port"):
            server.parse_listen(bad)


def test_hubdesk_user_add_reads_the_password_from_stdin(tmp_path, monkeypatch, capsys):
    path = tmp_path / "desk.toml"
    path.write_text(f'[database]\nsqlite = "{tmp_path / "smsd.db"}"\n')
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert hubdesk_main(["user", "add", "Bob", "--config", str(path)]) == 0
    assert "user bob added" in capsys.readouterr().out
    db = Database.open_sqlite(str(tmp_path / "smsd.db"))
    stored = db.query("SELECT password FROM desk_users WHERE name = 'bob'")[0][0]
    assert auth.verify_password(PASSWORD, stored)
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert users.main(["add", "carol", "--config", str(path)]) == 2
    assert "at least 10" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert users.main(["add", "carol", "--config", str(path)]) == 2
    assert "no password" in capsys.readouterr().err


def test_start_shows_times_in_the_configured_zone(tmp_path):
    from types import SimpleNamespace

    db, clock, _ = real_desk(str(tmp_path / "smsd.db"))
    cfg = SimpleNamespace(board=SimpleNamespace(listen="127.0.0.1:0", timezone="Asia/Tokyo"))
    stop = server.start(db, cfg, clock=clock)
    try:
        c = Client(int(stop.url.rsplit(":", 1)[1]))
        c.log_in()
        assert "Shown at 01-16 20:30 (JST)" in c.get("/").body  # 11:30 UTC
    finally:
        stop()
    with pytest.raises(ValueError, match="board.timezone"):
        server.start(db, SimpleNamespace(board=SimpleNamespace(listen="127.0.0.1:0", timezone="Nowhere/X")))
