"""``hubdesk``: run the desk, check its config (``user add`` and ``demo`` plug in here too).

Exit status as on the hub: 0 ok, 1 failure, 2 usage or config error; a message, never a
traceback, for a bad config or an unreachable database.
"""

from __future__ import annotations

import argparse
import logging
import sys

from .config import ConfigError, load

DEFAULT_CONFIG = "/etc/hubdesk/config.toml"
PLUGINS = {"user": "hubdesk.board.users", "demo": "hubdesk.demo"}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hubdesk", description="The housing office's desk for hubd.")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the desk (intake, hub_silent, duty texts)")
    run.add_argument("--config", default=DEFAULT_CONFIG)
    check = sub.add_parser("check-config", help="validate the config and exit")
    check.add_argument("config", nargs="?", default=DEFAULT_CONFIG)
    for name, helptext in (("user", "manage board users (user add NAME)"), ("demo", "run the demo")):
        extra = sub.add_parser(name, help=helptext)
        extra.add_argument("args", nargs=argparse.REMAINDER)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in PLUGINS:  # their options are their own (argparse's REMAINDER drops a leading --option)
        return _plugin(argv[0], argv[1:])
    args = _parser().parse_args(argv)
    if args.command == "check-config":
        try:
            cfg = load(args.config)
        except ConfigError as exc:
            print(f"hubdesk: {exc}", file=sys.stderr)
            return 2
        print(f"{args.config}: ok ({len(cfg.flats)} flats, {len(cfg.duty.numbers)} duty numbers)")
        return 0
    if args.command == "run":
        return _run(args.config)
    return _plugin(args.command, args.args)


def _run(path: str) -> int:
    import time

    from .db import Database, DatabaseError
    from .desk import Desk, prepare
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        cfg = load(path)
    except ConfigError as exc:
        print(f"hubdesk: {exc}", file=sys.stderr)
        return 2
    try:
        db = Database.open(cfg.database)
        prepare(db, cfg, time.time())
    except DatabaseError as exc:
        print(f"hubdesk: {exc}", file=sys.stderr)
        return 1
    board = _start_board(db, cfg)
    try:
        Desk(db, cfg).run()
    except KeyboardInterrupt:
        return 0
    finally:
        if board is not None:
            board()
    return 0


def _start_board(db, cfg):
    """Start the board (hubdesk.board, built beside the desk) if present; a function that stops it."""
    try:
        from .board import server  # noqa: F401
    except ImportError:
        return None
    start = getattr(server, "start", None)
    return start(db, cfg) if start else None


def _plugin(command: str, rest: list[str]) -> int:
    """``user`` and ``demo`` live in their own modules (board, demo); absent ones say so."""
    module = PLUGINS[command]
    try:
        mod = __import__(module, fromlist=["main"])
    except ImportError:
        print(f"hubdesk: {command} is not available in this build ({module} missing)", file=sys.stderr)
        return 1
    return int(mod.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
