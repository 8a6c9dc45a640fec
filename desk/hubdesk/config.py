"""The desk's TOML config: database, registered flats, duty list, timings, retention, board.

Validated with the hub's declarative rules (``hubd.schema``): unknown keys and out-of-range
values stop start-up with the key, the value and the rule, as on the hub.
"""

from __future__ import annotations

import tomllib
import zoneinfo
from dataclasses import dataclass, field

from hubd.phone import COUNTRY_CODE_PATTERN
from hubd.phone import INTERNATIONAL_PATTERN as PHONE
from hubd.sms_tag import FLAT  # as the hub's hub.flat_id
from hubd.schema import ConfigError, build, rule

PHONE_SHAPE = "an international number like +819012345678"
DEFAULT_SQLITE = "/var/lib/hubdesk/smsd.db"

__all__ = ["ConfigError", "DeskConfig", "DatabaseConfig", "FlatConfig", "DutyConfig", "load", "parse"]


@dataclass(frozen=True)
class DatabaseConfig:
    sqlite: str = rule(DEFAULT_SQLITE, help="gammu-smsd's SQLite database file (the embedded default)", nonempty=True)
    postgres: str = rule("", help="libpq DSN of gammu-smsd's PostgreSQL database; when set, used instead of sqlite")


@dataclass(frozen=True)
class FlatConfig:
    id: str = rule(help="the hub's hub.flat_id", pattern=FLAT, shape="1-16 letters, digits, _ or -")
    phone: str = rule(help="the hub's SIM number: its texts must come from it", pattern=PHONE, shape=PHONE_SHAPE)
    heartbeat_hours: float = rule(24.0, help="the hub's alerts.heartbeat_hours", min=0.5, max=24 * 7)
    grace_hours: float | None = rule(None, help="this flat's grace; default desk.grace_hours", min=0.0, max=48.0)


@dataclass(frozen=True)
class DeskTimings:
    grace_hours: float = rule(2.0, help="a heartbeat is overdue after its interval plus this", min=0.0, max=48.0)
    country_code: str = rule("81", help="makes national senders (090…) international (+8190…), as the hub's "
                             "modem.country_code", pattern=COUNTRY_CODE_PATTERN, shape="1-3 digits, no + or leading 0")
    intake_batch: int = rule(500, help="inbox rows taken in per transaction", min=1, max=10000)
    poll_seconds: float = rule(2.0, help="how often the inbox is read when idle", min=0.1, max=60.0)
    multipart_wait_hours: float = rule(24.0, help="how long the parts of a long text are awaited", min=0.1, max=168.0)


@dataclass(frozen=True)
class DutyConfig:
    numbers: list[str] = rule(default_factory=tuple, help="the duty phones, in escalation order",
                              pattern=PHONE, shape=PHONE_SHAPE)
    ack_timeout_minutes: float = rule(30.0, help="no ACK within this: text the next duty number", min=1.0, max=24 * 60)
    rounds: int = rule(3, help="times through the duty list before the desk stops repeating", min=1, max=20)
    fault_open_minutes: float = rule(120.0, help="a system fault open this long is texted to duty", min=0.0, max=7 * 24 * 60)


@dataclass(frozen=True)
class RetentionConfig:
    days: int = rule(400, help="history, rejects and closed alerts older than this are deleted", min=1, max=3650)


@dataclass(frozen=True)
class BoardConfig:
    listen: str = rule("127.0.0.1:8080", help="host:port the board serves on",
                       pattern=r"[A-Za-z0-9.\-:\[\]]+:[0-9]{1,5}", shape="host:port")
    timezone: str = rule("", help="the office's time zone for times on the board, e.g. Asia/Tokyo; "
                         "empty: the machine's")


@dataclass(frozen=True)
class DeskConfig:
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    desk: DeskTimings = field(default_factory=DeskTimings)
    duty: DutyConfig = field(default_factory=DutyConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    board: BoardConfig = field(default_factory=BoardConfig)
    flats: list[FlatConfig] = field(default_factory=tuple)

    def grace_s(self, flat: FlatConfig) -> float:
        hours = self.desk.grace_hours if flat.grace_hours is None else flat.grace_hours
        return hours * 3600.0


MIN_OVERDUE_HOURS = 1.0  # interval + grace: the "configurable down to 1 h"


def parse(table: dict, source: str = "") -> DeskConfig:
    """A :class:`DeskConfig` from a TOML table; :class:`ConfigError` names what is wrong."""
    try:
        cfg = build(DeskConfig, table, "")
    except ConfigError as exc:
        if source and not exc.source:
            raise ConfigError(exc.key, exc.value, exc.rule, source) from None
        raise
    seen_ids: set[str] = set()
    seen_phones: dict[str, str] = {}
    for i, flat in enumerate(cfg.flats):
        key = f"flats[{i}]"
        if flat.id in seen_ids:
            raise ConfigError(f"{key}.id", flat.id, "is registered twice", source)
        seen_ids.add(flat.id)
        if flat.phone in seen_phones:
            raise ConfigError(f"{key}.phone", flat.phone, f"is already the hub of flat {seen_phones[flat.phone]}", source)
        seen_phones[flat.phone] = flat.id
        overdue = flat.heartbeat_hours + cfg.grace_s(flat) / 3600.0
        if overdue < MIN_OVERDUE_HOURS:
            raise ConfigError(f"{key}.heartbeat_hours", flat.heartbeat_hours,
                              f"with the grace, a heartbeat is overdue after {overdue:g} h: must be at least 1 h", source)
    if cfg.board.timezone:
        try:
            zoneinfo.ZoneInfo(cfg.board.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ConfigError("board.timezone", cfg.board.timezone, "is not a known time zone (e.g. Asia/Tokyo, UTC)",
                              source) from None
    duty = set(cfg.duty.numbers)
    if len(duty) != len(cfg.duty.numbers):
        raise ConfigError("duty.numbers", cfg.duty.numbers, "lists a number twice", source)
    for phone, flat_id in seen_phones.items():
        if phone in duty:
            raise ConfigError("duty.numbers", phone, f"is also the hub of flat {flat_id}", source)
    return cfg


def load(path: str) -> DeskConfig:
    try:
        with open(path, "rb") as fh:
            table = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError("(file)", path, f"cannot be read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("(file)", path, f"is not valid TOML: {exc}") from None
    return parse(table, path)
