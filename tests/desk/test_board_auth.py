"""The board's log-in: hashed passwords, sessions, CSRF, rate limits, nothing public."""

from __future__ import annotations

import hashlib

import pytest
from board_helpers import NOW, PASSWORD, Client, FakeApi, Running, memory_db

from hubdesk.board import auth


@pytest.fixture
def board():
    api = FakeApi()
    api.add_flat("A-101")
    run = Running(memory_db(), api=api)
    yield run
    run.stop()


def test_password_is_stored_as_salted_scrypt_never_in_clear():
    db = memory_db()
    auth.add_user(db, "bob", PASSWORD, now=NOW)
    (alice,), (bob,) = db.query("SELECT password FROM desk_users ORDER BY name")
    assert PASSWORD not in alice and alice.startswith("scrypt$")
    assert alice.split("$")[4] != bob.split("$")[4], "each user has a salt of their own"
    assert alice.split("$")[5] != bob.split("$")[5]
    assert auth.verify_password(PASSWORD, alice) and not auth.verify_password(PASSWORD + "x", alice)
    assert not auth.verify_password(PASSWORD, "garbage")


def test_add_user_refuses_bad_input_with_clear_words():
    db = memory_db()
    with pytest.raises(auth.AuthError, match="exists already"):
        auth.add_user(db, "ALICE", PASSWORD)  # names compare case-blind
    with pytest.raises(auth.AuthError, match="at least 10"):
        auth.add_user(db, "carol", "short")
    with pytest.raises(auth.AuthError, match="empty"):
        auth.add_user(db, "  ", PASSWORD)
    with pytest.raises(auth.AuthError, match="only letters"):
        auth.add_user(db, "ca rol", PASSWORD)


def test_session_token_is_stored_only_as_its_hash():
    db = memory_db()
    token, session = auth.log_in(db, "alice", PASSWORD, NOW)
    stored = [r[0] for r in db.query("SELECT token_hash FROM desk_sessions")]
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]
    assert auth.session_for(db, token, NOW + 10).name == "alice"
    assert auth.session_for(db, token, session.expires + 1) is None, "a session expires"
    assert auth.session_for(db, "forged", NOW) is None


def test_every_page_but_login_needs_a_session(board):
    c = Client(board.port)
    for path in ("/", "/flat/A-101", "/rejects", "/flat/A-101/note", "/logout", "/nowhere"):
        r = c.get(path)
        assert r.status == 303 and r.location.startswith("/login"), path
        assert "A-101" not in r.body
    r = c.post("/flat/A-101/ack", {"ref": "1", "csrf": "x"})
    assert r.status == 303 and r.location == "/login"
    assert c.get("/login").status == 200


def test_login_sets_a_strict_httponly_expiring_cookie_and_lands_on_next(board):
    c = Client(board.port)
    form = c.get("/login?next=/flat/A-101")
    assert 'value="/flat/A-101"' in form.body
    r = c.post("/login", {"csrf": form.csrf(), "name": "Alice", "password": PASSWORD, "next": "/flat/A-101"})
    assert r.status == 303 and r.location == "/flat/A-101"
    cookie = [h for h in c.set_cookie_headers if h.startswith("desk_session=")][-1]
    for part in ("HttpOnly", "SameSite=Strict", f"Max-Age={auth.SESSION_SECONDS}", "Path=/"):
        assert part in cookie
    assert c.get("/").status == 200


def test_login_never_redirects_off_the_board(board):
    c = Client(board.port)
    form = c.get("/login")
    r = c.post("/login", {"csrf": form.csrf(), "name": "alice", "password": PASSWORD, "next": "//evil.example/x"})
    assert r.location == "/"


def test_failed_login_says_the_same_for_a_wrong_name_and_a_wrong_password(board):
    c = Client(board.port)
    csrf = c.get("/login").csrf()
    wrong_pw = c.post("/login", {"csrf": csrf, "name": "alice", "password": "nope nope nope"})
    wrong_name = c.post("/login", {"csrf": csrf, "name": "mallory", "password": PASSWORD})
    assert wrong_pw.status == wrong_name.status == 401
    assert auth.WRONG in wrong_pw.body and auth.WRONG in wrong_name.body
    strip = lambda body: body.replace('value="alice"', "").replace('value="mallory"', "")  # noqa: E731
    assert strip(wrong_pw.body) == strip(wrong_name.body)
    assert "desk_session" not in c.cookies


def test_failed_logins_are_limited_per_user_name(board):
    c = Client(board.port)
    csrf = c.get("/login").csrf()
    for _ in range(auth.MAX_FAILURES):
        assert c.post("/login", {"csrf": csrf, "name": "alice", "password": "wrong wrong"}).status == 401
    r = c.post("/login", {"csrf": csrf, "name": "alice", "password": PASSWORD})
    assert r.status == 401 and auth.THROTTLED in r.body, "the right password waits too"
    other = Client(board.port)
    other.log_in("alice", PASSWORD)  # still refused: the limit is per name, not per browser
    assert "desk_session" not in other.cookies
    # an unknown name is limited alike, so the limit tells nothing about which names exist
    for _ in range(auth.MAX_FAILURES):
        c.post("/login", {"csrf": csrf, "name": "ghost", "password": "wrong wrong"})
    assert auth.THROTTLED in c.post("/login", {"csrf": csrf, "name": "ghost", "password": "x"}).body


def test_the_limit_ends_after_its_window():
    db = memory_db()
    for _ in range(auth.MAX_FAILURES):
        with pytest.raises(auth.LoginRefused):
            auth.log_in(db, "alice", "wrong wrong", NOW)
    with pytest.raises(auth.LoginRefused, match="Too many"):
        auth.log_in(db, "alice", PASSWORD, NOW + 60)
    token, _ = auth.log_in(db, "alice", PASSWORD, NOW + auth.FAILURE_WINDOW + 1)
    assert auth.session_for(db, token, NOW + auth.FAILURE_WINDOW + 2).name == "alice"


def test_login_post_needs_the_forms_csrf_token(board):
    c = Client(board.port)
    c.get("/login")
    r = c.post("/login", {"csrf": "forged-token-forged-token", "name": "alice", "password": PASSWORD})
    assert r.status == 403 and "expired" in r.body
    assert "desk_session" not in c.cookies
    bare = Client(board.port)  # no log-in cookie at all (a cross-site form)
    assert bare.post("/login", {"csrf": "", "name": "alice", "password": PASSWORD}).status == 403


def test_every_post_needs_the_session_csrf_token(board):
    c = Client(board.port)
    c.log_in()
    for path, form in (("/flat/A-101/note", {"text": "hello"}), ("/flat/A-101/ack", {"ref": "1"}),
                       ("/logout", {})):
        assert c.post(path, {**form, "csrf": "wrong"}).status == 403, path
        assert c.post(path, form).status == 403, path
    assert c.get("/").status == 200, "still logged in: the forged logout did nothing"


def test_logout_ends_the_session_on_the_server(board):
    c = Client(board.port)
    c.log_in()
    token = c.cookies["desk_session"]
    csrf = c.get("/").csrf()
    r = c.post("/logout", {"csrf": csrf})
    assert r.status == 303 and r.location == "/login"
    assert "desk_session" not in c.cookies
    c.cookies["desk_session"] = token  # a copied cookie opens nothing any more
    assert c.get("/").status == 303
