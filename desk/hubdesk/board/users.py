"""``hubdesk user add NAME``: a board account for a member of the office staff.

The password is asked twice on a terminal, or read as one line from standard input (for
scripts: ``printf '%s\n' "$PW" | hubdesk user add alice``), never taken from the command line,
where other users of the machine could read it.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from .auth import AuthError, add_user


def main(argv: list[str] | None = None) -> int:
    from hubdesk.cli import DEFAULT_CONFIG
    from hubdesk.config import ConfigError, load
    from hubdesk.db import Database, DatabaseError

    p = argparse.ArgumentParser(prog="hubdesk user", description="Manage the board's staff accounts.")
    sub = p.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="add a staff account (the password is asked, or read from stdin)")
    add.add_argument("name")
    add.add_argument("--config", default=DEFAULT_CONFIG)
    args = p.parse_args(argv)
    try:
        password = _password()
    except (EOFError, KeyboardInterrupt):
        print("hubdesk user: no password given", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"hubdesk user: {exc}", file=sys.stderr)
        return 2
    try:
        db = Database.open(load(args.config).database)
    except (ConfigError, DatabaseError) as exc:
        print(f"hubdesk user: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ConfigError) else 1
    try:
        name = add_user(db, args.name, password)
    except AuthError as exc:
        print(f"hubdesk user: {exc}", file=sys.stderr)
        return 2
    finally:
        db.close()
    print(f"user {name} added")
    return 0


def _password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            raise ValueError("the two passwords differ")
        return first
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line.rstrip("\r\n")
