"""The board on PostgreSQL, the production database: its own tables and log-in, and its pages
over the real desk, against a real server started for this module (Debian's postgresql)."""

from __future__ import annotations

import re

import pytest
from board_helpers import NOW, PASSWORD, Client, Running, real_desk

from hubdesk.board import auth
from pg_fixtures import pg_db, pg_server  # noqa: F401 (fixtures)


def test_accounts_sessions_and_the_failure_limit_on_postgres(pg_db):
    auth.add_user(pg_db, "alice", PASSWORD, now=NOW)
    auth.create_board_tables(pg_db)  # again: harmless
    with pytest.raises(auth.AuthError, match="exists already"):
        auth.add_user(pg_db, "Alice", PASSWORD)
    token, session = auth.log_in(pg_db, "alice", PASSWORD, NOW)
    assert auth.session_for(pg_db, token, NOW + 1) == session
    auth.log_out(pg_db, token)
    assert auth.session_for(pg_db, token, NOW + 2) is None
    for _ in range(auth.MAX_FAILURES):
        with pytest.raises(auth.LoginRefused, match="Wrong"):
            auth.log_in(pg_db, "alice", "wrong wrong", NOW)
    with pytest.raises(auth.LoginRefused, match="Too many"):
        auth.log_in(pg_db, "alice", PASSWORD, NOW + 10)


def test_board_pages_ack_and_note_on_postgres(pg_db):
    db, clock, _ = real_desk(pg_db)
    run = Running(db, api=None, clock=clock)
    try:
        c = Client(run.port)
        assert c.log_in().status == 303
        assert re.findall(r'data-flat="([^"]+)"', c.get("/").body)[:3] == ["A-101", "A-102", "B-201"]
        page = c.get("/flat/A-102")
        assert "2時間5分活動なし" in page.body
        ref = re.search(r'name="ref" value="(\d+)"', page.body).group(1)
        assert c.post("/flat/A-102/ack", {"csrf": page.csrf(), "ref": ref}).status == 303
        assert c.post("/flat/A-102/note", {"csrf": page.csrf(), "text": "電話済み 100%"}).status == 303
        body = c.get("/flat/A-102").body
        assert "ACK by alice" in body and "電話済み 100%" in body
        assert "&lt;b&gt;back" in c.get("/rejects").body
    finally:
        run.stop()
