"""The board's routes: a request in, a response out, no sockets (``server.py`` does HTTP).

Every page but ``/login`` needs a session; every POST carries the session's CSRF token (the
log-in form a token bound to a short-lived cookie of its own). The database is used under one
lock, so a connection that is not thread-safe is safe here.
"""

from __future__ import annotations

import math
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Callable
from urllib.parse import quote, unquote

from . import auth, pages, style

SESSION_COOKIE = "desk_session"
LOGIN_COOKIE = "desk_login"  # binds the log-in form's CSRF token to this browser
PAGE_SIZE = 100
MAX_NOTE = 2000


@dataclass
class Request:
    method: str
    path: str  # without the query
    query: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = "text/html; charset=utf-8"


class BadRequest(Exception):
    """Input the board cannot use; the message is shown to the person."""


def _html(status: int, text: str, headers=()) -> Response:
    return Response(status, text.encode("utf-8"), list(headers))


def _redirect(location: str, headers=()) -> Response:
    return Response(303, b"", [("Location", location), *headers])


def _safe_next(path: str | None) -> str:
    """Only a path on this board: never ``//host`` or a scheme, so log-in cannot send people away."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    if any(ord(c) < 0x21 for c in path):
        return "/"
    return path


class Board:
    """The board over one desk database. ``api`` is ``hubdesk.board_api`` (tests may pass a fake)."""

    def __init__(self, db, *, api=None, clock: Callable[[], float] = time.time, tz: tzinfo | None = None,
                 refresh: int = 30, secure_cookies: bool = False):
        if api is None:
            from hubdesk import board_api as api
        self.db, self.api, self.clock, self.tz = db, api, clock, tz
        self.refresh, self.secure = refresh, secure_cookies
        self.lock = threading.Lock()
        with self.lock:
            auth.create_board_tables(db)

    # --- cookies ---------------------------------------------------------------------------
    def _cookie(self, name: str, value: str, max_age: int) -> tuple[str, str]:
        secure = "; Secure" if self.secure else ""
        return ("Set-Cookie", f"{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")

    # --- dispatch ----------------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        if req.path == style.PATH:
            return Response(200, style.CSS.encode(), [("Cache-Control", "public, max-age=86400")],
                            "text/css; charset=utf-8")
        with self.lock:
            now = self.clock()
            try:
                if req.path == "/login":
                    return self._login(req, now)
                session = auth.session_for(self.db, req.cookies.get(SESSION_COOKIE), now)
                if session is None:
                    if req.method == "GET":
                        return _redirect("/login?next=" + quote(req.path + _query(req), safe="/"))
                    return _redirect("/login")
                if req.method == "POST" and not auth.csrf_ok(session.csrf, req.form.get("csrf")):
                    return _html(403, pages.error_page(
                        "Form expired", "This form was out of date. Go back, reload the page and try again.",
                        user=session.name, csrf=session.csrf))
                return self._route(req, session, now)
            except BadRequest as e:
                return _html(400, pages.error_page("Cannot do that", str(e)))

    def _route(self, req: Request, session: auth.Session, now: float) -> Response:
        m = re.fullmatch(r"/flat/([^/]+)(/ack|/note)?", req.path)
        get = req.method == "GET"
        if req.path == "/" and get:
            return self._board(req, session, now)
        if req.path == "/rejects" and get:
            rows = self.api.rejects(self.db, limit=200)
            return _html(200, pages.rejects_page(rows, now=now, tz=self.tz, user=session.name,
                                                 csrf=session.csrf, refresh=self.refresh))
        if req.path == "/logout":
            if get:
                return _html(200, pages.logout_page(user=session.name, csrf=session.csrf))
            if req.method == "POST":
                auth.log_out(self.db, req.cookies.get(SESSION_COOKIE))
                return _redirect("/login", [self._cookie(SESSION_COOKIE, "", 0)])
        if m:
            flat, tail = unquote(m.group(1)), m.group(2)
            if tail is None and get:
                return self._flat(flat, session, now)
            if tail == "/ack" and req.method == "POST":
                return self._ack(flat, req, session, now)
            if tail == "/note" and get:
                return self._note_form(flat, session, now)
            if tail == "/note" and req.method == "POST":
                return self._note(flat, req, session, now)
        if req.path in ("/", "/rejects", "/logout") or m:
            return _html(405, pages.error_page("Not allowed", f"{req.method} is not used on this page.",
                                               user=session.name, csrf=session.csrf), [("Allow", "GET, POST")])
        return _html(404, pages.error_page("Not found", f"There is no page {req.path}.",
                                           user=session.name, csrf=session.csrf))

    # --- pages -------------------------------------------------------------------------------
    def _board(self, req: Request, session: auth.Session, now: float) -> Response:
        raw = req.query.get("page", "1")
        if not raw.isascii() or not raw.isdigit() or int(raw) < 1 or len(raw) > 9:
            raise BadRequest("The page number must be a whole number from 1.")
        page = int(raw)
        counts = self.api.state_counts(self.db, now)
        pages_total = max(1, math.ceil(sum(counts.values()) / PAGE_SIZE))
        if page > pages_total:
            return _redirect(f"/?page={pages_total}")
        flats = self.api.flats_by_urgency(self.db, now, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        return _html(200, pages.board_page(flats, counts, page=page, pages=pages_total, now=now, tz=self.tz,
                                           user=session.name, csrf=session.csrf, refresh=self.refresh))

    def _flat(self, flat: str, session, now: float, status: int = 200, error: str | None = None,
              done: str | None = None) -> Response:
        detail = self.api.flat_detail(self.db, flat, now)
        if detail is None:
            return _html(404, pages.error_page("No such flat", f"The desk knows no flat named {flat}.",
                                               user=session.name, csrf=session.csrf))
        return _html(status, pages.flat_page(detail, now=now, tz=self.tz, user=session.name, csrf=session.csrf,
                                             refresh=self.refresh, error=error, done=done))

    def _ack(self, flat: str, req: Request, session, now: float) -> Response:
        raw = req.form.get("ref", "")
        if not raw.isascii() or not raw.isdigit() or len(raw) > 12:
            raise BadRequest("The alert number must be a whole number.")
        try:
            view = self.api.ack(self.db, int(raw), session.name, now)
        except self.api.DeskError as e:
            return self._flat(flat, session, now, status=409, error=f"Alert {raw} was not acknowledged: {e}")
        return _redirect(pages.flat_url(view.flat) + f"#alert-{int(view.ref)}")

    def _note_form(self, flat: str, session, now: float) -> Response:
        if self.api.flat_detail(self.db, flat, now, limit=1) is None:
            return _html(404, pages.error_page("No such flat", f"The desk knows no flat named {flat}.",
                                               user=session.name, csrf=session.csrf))
        return _html(200, pages.note_page(flat, user=session.name, csrf=session.csrf))

    def _note(self, flat: str, req: Request, session, now: float) -> Response:
        text = req.form.get("text", "").strip()
        error = None
        if not text:
            error = "The note is empty."
        elif len(text) > MAX_NOTE:
            error = f"The note is longer than {MAX_NOTE} characters."
        else:
            try:
                self.api.add_note(self.db, flat, session.name, text, now)
            except self.api.DeskError as e:
                error = f"The note was not saved: {e}"
        if error:
            return _html(400, pages.note_page(flat, user=session.name, csrf=session.csrf, text=text, error=error))
        return _redirect(pages.flat_url(flat) + "#timeline")

    # --- log-in ------------------------------------------------------------------------------
    def _login(self, req: Request, now: float) -> Response:
        if req.method == "GET":
            if auth.session_for(self.db, req.cookies.get(SESSION_COOKIE), now):
                return _redirect(_safe_next(req.query.get("next")))
            return self._login_form(req, _safe_next(req.query.get("next")))
        if req.method != "POST":
            return _html(405, pages.error_page("Not allowed", f"{req.method} is not used on this page."),
                         [("Allow", "GET, POST")])
        next_path = _safe_next(req.form.get("next"))
        name = req.form.get("name", "")
        if not auth.csrf_ok(req.cookies.get(LOGIN_COOKIE), req.form.get("csrf")):
            return self._login_form(req, next_path, name=name, status=403,
                                    error="The log-in form had expired. Please try again.")
        try:
            token, _ = auth.log_in(self.db, name, req.form.get("password", ""), now)
        except auth.LoginRefused as e:
            return self._login_form(req, next_path, name=name, status=401, error=str(e))
        return _redirect(next_path, [self._cookie(SESSION_COOKIE, token, auth.SESSION_SECONDS),
                                     self._cookie(LOGIN_COOKIE, "", 0)])

    def _login_form(self, req: Request, next_path: str, *, name: str = "", status: int = 200,
                    error: str | None = None) -> Response:
        token = req.cookies.get(LOGIN_COOKIE)
        if not token or not re.fullmatch(r"[A-Za-z0-9_\-]{20,100}", token):
            token = secrets.token_urlsafe(32)
        return _html(status, pages.login_page(token, name=name, next_path=next_path, error=error),
                     [self._cookie(LOGIN_COOKIE, token, 3600)])


def _query(req: Request) -> str:
    return "?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in req.query.items()) if req.query else ""
