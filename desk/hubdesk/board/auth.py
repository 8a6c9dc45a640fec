"""Office staff accounts and sessions for the board: nothing on the board is public.

Passwords are kept as scrypt hashes with a salt per user; a session is a random token whose
SHA-256 only is stored (a copied database opens no session); every session carries its own
CSRF token. Failed log-ins are counted per name typed, whether or not that name exists, so the
limit says nothing about which names are real.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import unicodedata
from dataclasses import dataclass

# scrypt cost: 16 MiB and ~50 ms a check on a Pi-class core; stored with each hash so it can grow.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SESSION_SECONDS = 12 * 3600  # one office shift; a new log-in after that
MAX_FAILURES = 5  # failed log-ins per name ...
FAILURE_WINDOW = 15 * 60  # ... within this many seconds, then that name waits
MIN_PASSWORD = 10
MAX_NAME = 40
MAX_PASSWORD = 200

TABLES = (
    """CREATE TABLE IF NOT EXISTS desk_users (
        name TEXT PRIMARY KEY,
        password TEXT NOT NULL,
        created DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS desk_sessions (
        token_hash TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        csrf TEXT NOT NULL,
        expires DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS desk_login_failures (
        name TEXT NOT NULL,
        at DOUBLE PRECISION NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS desk_login_failures_name ON desk_login_failures (name, at)",
)


class AuthError(ValueError):
    """A refused account change (bad name or password), with words for the person."""


@dataclass(frozen=True)
class Session:
    name: str
    csrf: str
    expires: float


def create_board_tables(db) -> None:
    """The board's own tables (users, sessions, failed log-ins); safe to call again."""
    with db.transaction():
        for sql in TABLES:
            db.execute(sql, ())


def _norm_name(name: str) -> str:
    return unicodedata.normalize("NFKC", name).strip().casefold()


def check_name(name: str) -> str:
    """The stored form of a staff name, or AuthError saying what is wrong with it."""
    norm = _norm_name(name)
    if not norm:
        raise AuthError("the user name is empty")
    if len(norm) > MAX_NAME:
        raise AuthError(f"the user name is longer than {MAX_NAME} characters")
    if any(not (c.isalnum() or c in "._-") for c in norm):
        raise AuthError("the user name may hold only letters, digits, '.', '_' and '-'")
    return norm


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``scrypt$n$r$p$salt$hash`` (hex): the cost travels with the hash."""
    salt = secrets.token_bytes(16) if salt is None else salt
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                            maxmem=64 * 1024 * 1024, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a ``hash_password`` string (constant-time compare)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r),
                             p=int(p), maxmem=64 * 1024 * 1024, dklen=len(digest) // 2)
    except ValueError:
        return False
    return hmac.compare_digest(got.hex(), digest)


# checked against when the name is unknown, so an unknown name costs as long as a wrong password
_DUMMY = hash_password("not a password", salt=b"\0" * 16)


def add_user(db, name: str, password: str, now: float | None = None) -> str:
    """Add a staff account (``hubdesk user add``); returns the stored name. AuthError if the
    name is taken or bad, or the password is too short."""
    norm = check_name(name)
    if len(password) < MIN_PASSWORD:
        raise AuthError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AuthError(f"the password must have at most {MAX_PASSWORD} characters")
    create_board_tables(db)
    with db.transaction():
        if db.query("SELECT 1 FROM desk_users WHERE name = ?", (norm,)):
            raise AuthError(f"a user named {norm!r} exists already")
        db.execute("INSERT INTO desk_users (name, password, created) VALUES (?, ?, ?)",
                   (norm, hash_password(password), time.time() if now is None else now))
    return norm


class LoginRefused(Exception):
    """A log-in that did not succeed; its message is the same whatever part was wrong."""


WRONG = "Wrong user name or password."
THROTTLED = "Too many failed log-ins for this user name. Try again in a few minutes."


def log_in(db, name: str, password: str, now: float) -> tuple[str, Session]:
    """Check a log-in and open a session: (cookie token, session). LoginRefused otherwise."""
    norm = _norm_name(name)[:MAX_NAME] if name else ""
    with db.transaction():
        db.execute("DELETE FROM desk_login_failures WHERE at < ?", (now - FAILURE_WINDOW,))
        failures = db.query("SELECT COUNT(*) FROM desk_login_failures WHERE name = ?", (norm,))[0][0]
    if failures >= MAX_FAILURES:
        raise LoginRefused(THROTTLED)
    rows = db.query("SELECT password FROM desk_users WHERE name = ?", (norm,)) if norm else []
    ok = verify_password(password[:MAX_PASSWORD], rows[0][0] if rows else _DUMMY) and bool(rows)
    if not ok:
        with db.transaction():
            db.execute("INSERT INTO desk_login_failures (name, at) VALUES (?, ?)", (norm, now))
        raise LoginRefused(WRONG)
    with db.transaction():
        db.execute("DELETE FROM desk_login_failures WHERE name = ?", (norm,))
        db.execute("DELETE FROM desk_sessions WHERE expires < ?", (now,))
    return open_session(db, norm, now)


def open_session(db, name: str, now: float) -> tuple[str, Session]:
    token = secrets.token_urlsafe(32)
    session = Session(name=name, csrf=secrets.token_urlsafe(32), expires=now + SESSION_SECONDS)
    with db.transaction():
        db.execute("INSERT INTO desk_sessions (token_hash, name, csrf, expires) VALUES (?, ?, ?, ?)",
                   (_token_hash(token), session.name, session.csrf, session.expires))
    return token, session


def session_for(db, token: str | None, now: float) -> Session | None:
    """The live session of a cookie token, or None (missing, unknown, expired, user removed)."""
    if not token or len(token) > 100:
        return None
    rows = db.query(
        "SELECT s.name, s.csrf, s.expires FROM desk_sessions s JOIN desk_users u ON u.name = s.name"
        " WHERE s.token_hash = ?", (_token_hash(token),))
    if not rows or rows[0][2] <= now:
        return None
    return Session(name=rows[0][0], csrf=rows[0][1], expires=float(rows[0][2]))


def log_out(db, token: str | None) -> None:
    if token:
        with db.transaction():
            db.execute("DELETE FROM desk_sessions WHERE token_hash = ?", (_token_hash(token),))


def csrf_ok(expected: str | None, got: str | None) -> bool:
    return bool(expected) and bool(got) and hmac.compare_digest(expected.encode(), got.encode())


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
