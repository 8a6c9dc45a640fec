"""The hubctl <-> hubd wire format, declared once and validated on both sides.

Newline-delimited JSON over a unix stream socket, one object per line (UTF-8)::

    request  {"v": 1, "id": 7, "cmd": "away", "args": {"hours": 12}}
    reply    {"v": 1, "id": 7, "ok": true, "data": {...}}
    error    {"v": 1, "id": 7, "ok": false, "error": {"code": "refused", "message": "..."}}

A streaming command (``watch``, ``walktest``, ``export``) answers with any number of
``{"v": 1, "id": 7, "ok": true, "more": true, "data": ...}`` lines and then one final
reply without ``more`` (or an error). The client ends a stream early by closing the
connection or sending any line.

The server answers every request it cannot use with an error reply naming the code:
a line longer than :data:`MAX_REQUEST_BYTES` (and then closes the connection: it cannot
find the next request boundary), invalid JSON, a wrong version, an unknown command, an
argument of the wrong type or range. Nothing a client sends may crash the daemon, and
no reply can fail to encode: a ``\\ud800`` escape (a lone surrogate, not a character) is
refused as bad JSON, and replies are encoded so that one could never stop the answer.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ..config import ID_PATTERN
from ..events import parse_time

PROTOCOL = 1
MAX_REQUEST_BYTES = 64 * 1024
MAX_REPLY_BYTES = 8 * 1024 * 1024  # the client's line limit; streamed chunks stay far below
MAX_REQUEST_ID = 2**53 - 1  # what every JSON implementation holds exactly

# error codes (``error.code``); the message is for people, the code for scripts
BAD_JSON = "bad_json"
BAD_REQUEST = "bad_request"
BAD_VERSION = "bad_version"
UNKNOWN_COMMAND = "unknown_command"
BAD_ARGS = "bad_args"
TOO_LARGE = "too_large"
FORBIDDEN = "forbidden"
REFUSED = "refused"  # the engine said no (CommandError), e.g. no alarm with that id
NOT_AVAILABLE = "not_available"
BUSY = "busy"
TIMEOUT = "timeout"
INTERNAL = "internal"
ERROR_CODES = (BAD_JSON, BAD_REQUEST, BAD_VERSION, UNKNOWN_COMMAND, BAD_ARGS, TOO_LARGE, FORBIDDEN,
               REFUSED, NOT_AVAILABLE, BUSY, TIMEOUT, INTERNAL)


class ProtocolError(Exception):
    """A request or reply that breaks the protocol; becomes an error reply with ``code``."""

    def __init__(self, code: str, message: str, request_id: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id


@dataclass(frozen=True)
class Arg:
    """One command argument: its JSON type, whether it must be given, its default and bounds."""

    type: type  # int, float, str or bool
    required: bool = False
    default: Any = None
    min: float | None = None
    max: float | None = None
    max_len: int = 64
    check: Callable[[Any], None] | None = None  # a further rule; raises ValueError with the reason
    help: str = ""
    metavar: str | None = None  # how hubctl's usage names the value


@dataclass(frozen=True)
class Command:
    """One command: hubctl builds its options from ``args`` and the server validates by them."""

    name: str
    help: str
    args: Mapping[str, Arg] = field(default_factory=dict)
    streams: bool = False


# -- --since: a hub local time or an age ------------------------------------------------------

MAX_SINCE_AGE_DAYS = 3650  # the longest event retention (hub.event_retention_days): nothing older exists
_AGE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([smhd])", re.ASCII)  # ASCII digits only: "١d" is not an age
_AGE_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
SINCE_FORMS = "the hub's local time (2024-05-01 or 2024-05-01T08:00, no offset) or an age (90m, 6h, 7d)"


def parse_since(text: str) -> tuple[str, float]:
    """``("age", seconds)`` or ``("local", hub local seconds)``; ValueError names the rule broken."""
    text = text.strip()
    age = _AGE.fullmatch(text)
    if age:
        seconds = float(age.group(1)) * _AGE_SECONDS[age.group(2)]
        if seconds > MAX_SINCE_AGE_DAYS * 86400.0:
            raise ValueError(f"since {text[:40]!r}: an age is at most {MAX_SINCE_AGE_DAYS} days "
                             "(no event is kept longer)")
        return "age", seconds
    try:
        stamp = parse_time(text)
    except ValueError:
        stamp = None
    if stamp is None or stamp.offset is not None:
        raise ValueError(f"since {text[:40]!r}: give {SINCE_FORMS}")
    return "local", stamp.local


# the installation checklist (hubctl commission): its step names, results, and what a resident is told
STEP_RESULTS = ("ok", "failed")
FIXED_STEPS = ("config", "button", "outputs", "power", "modem", "office")
TOLD_ITEMS = ("watching", "privacy", "ok_button", "away", "contact")


def check_step_name(step: str) -> None:
    if step in FIXED_STEPS:
        return
    kind, _, sensor = step.partition(":")
    if kind != "sensor" or not re.fullmatch(ID_PATTERN, sensor, re.ASCII):
        raise ValueError(f"not a checklist step: one of {', '.join(FIXED_STEPS)} or sensor:<id>")


def check_step_result(result: str) -> None:
    if result not in STEP_RESULTS:
        raise ValueError(f"must be {' or '.join(STEP_RESULTS)}")


def check_told(items: str) -> None:
    unknown = [i for i in items.split(",") if i.strip() not in TOLD_ITEMS]
    if unknown:
        raise ValueError(f"unknown item {unknown[0].strip()!r}: the items are {', '.join(TOLD_ITEMS)}")


def check_consent_subject(subject: str) -> None:
    from ..core.consent import SUBJECTS

    if subject not in SUBJECTS:
        raise ValueError(f"one of {', '.join(SUBJECTS)}")


_SINCE = Arg(str, max_len=40, check=parse_since, metavar="WHEN",
             help="hub local time (2024-05-01 or 2024-05-01T08:00) or an age: 90m, 6h, 7d")
_HOURS = Arg(float, required=True, metavar="N", help="how long, in hours; modes always expire")

COMMANDS: dict[str, Command] = {c.name: c for c in (
    Command("status", "monitoring state, mode, activity, alerts, sensors, modem"),
    Command("sensors", "configured sensors with health and live readings"),
    Command("watch", "stream sensor events as they are handled", streams=True,
            args={"seconds": Arg(float, default=3600.0, min=0.01, max=86400.0, metavar="S",
                                 help="stop watching after this long"),
                  "ready": Arg(bool, default=False, help="first say {\"phase\": \"watching\"} once nothing can be missed")}),
    Command("walktest", "guided check: stream each trigger, mark sensors seen / not seen", streams=True,
            args={"seconds": Arg(float, default=600.0, min=0.01, max=3600.0, metavar="S",
                                 help="give up after this long")}),
    Command("test-alert", "a real end-to-end SMS, recorded as a test",
            args={"to": Arg(str, max_len=24, metavar="NUMBER", help="number to text (default: the first recipient)"),
                  "confirm": Arg(bool, default=False,
                                 help="an installation test: the office confirms it by replying OK <id>")}),
    Command("commission-state", "the installation checklist's state: config problems, steps done, sensors to check",
            args={"restart": Arg(bool, default=False, help="forget the steps done and start the checklist again")}),
    Command("commission-step", "record one checklist step's result (hubctl commission does this)",
            args={"step": Arg(str, required=True, max_len=40, check=check_step_name, metavar="STEP",
                              help="config, sensor:<id>, button, outputs, power, modem, office"),
                  "result": Arg(str, required=True, max_len=8, check=check_step_result, metavar="RESULT",
                                help="ok or failed"),
                  "note": Arg(str, max_len=200, metavar="TEXT", help="what was seen")}),
    Command("outputs-test", "sound the buzzer and blink the LED for a while (the pre-alarm pattern)",
            args={"seconds": Arg(float, default=5.0, min=1.0, max=60.0, metavar="S", help="how long")}),
    Command("handover", "save the handover record once every checklist step is ok",
            args={"told": Arg(str, required=True, max_len=200, check=check_told, metavar="ITEMS",
                              help="what the resident was told, comma-separated: " + ", ".join(TOLD_ITEMS)),
                  "technician": Arg(str, required=True, max_len=40, metavar="NAME", help="who installed"),
                  "note": Arg(str, max_len=200, metavar="TEXT", help="anything else")}),
    Command("away", "resident away: resident alerts off until the expiry", args={"hours": _HOURS}),
    Command("pause", "monitoring paused until the expiry", args={"hours": _HOURS}),
    Command("resume", "back to home mode now"),
    Command("alerts", "recent alerts, newest first",
            args={"limit": Arg(int, default=20, min=1, max=500, metavar="N", help="at most this many"),
                  "open": Arg(bool, default=False, help="only open alerts")}),
    Command("ack", "acknowledge an alarm (a pre-alarm: cancel it, as the OK button)",
            args={"id": Arg(int, required=True, min=1, max=MAX_REQUEST_ID, metavar="ID", help="the alert's id")}),
    Command("events", "recent sensor events, oldest first",
            args={"since": _SINCE, "limit": Arg(int, default=50, min=1, max=1000, metavar="N", help="at most this many")}),
    Command("audit", "the audit log, newest first",
            args={"limit": Arg(int, default=20, min=1, max=500, metavar="N", help="at most this many")}),
    Command("profile", "the learned daily rhythm"),
    Command("rhythm", "the daily rhythm records, their trend and the drift reports (kept in the flat)",
            args={"days": Arg(int, default=14, min=1, max=400, metavar="N", help="how many recent days")}),
    Command("consent-list", "who the resident agreed may receive rhythm reports (revoked ones too)"),
    Command("consent-add", "record the resident's consent: NUMBER may receive rhythm reports",
            args={"number": Arg(str, required=True, max_len=24, metavar="NUMBER", help="who may receive them"),
                  "name": Arg(str, max_len=40, metavar="TEXT", help="who that is (e.g. daughter)"),
                  "for": Arg(str, max_len=40, check=check_consent_subject, metavar="WHAT",
                             help="rhythm_drift (every kind, the default) or rhythm_drift:activity|sleep|outings|nights"),
                  "by": Arg(str, required=True, max_len=40, metavar="NAME", help="who records it, in the flat")}),
    Command("consent-revoke", "revoke a consent: nothing more is sent under it",
            args={"id": Arg(int, required=True, min=1, max=MAX_REQUEST_ID, metavar="ID", help="the consent's id"),
                  "by": Arg(str, required=True, max_len=40, metavar="NAME", help="who revokes it")}),
    Command("modem", "modem, network, signal and outbox"),
    Command("export", "event CSV (time,sensor,kind,value) for backtesting", streams=True, args={"since": _SINCE}),
)}


@dataclass(frozen=True)
class Request:
    id: int
    cmd: str
    args: dict[str, Any]


@dataclass(frozen=True)
class Reply:
    id: int | None
    ok: bool
    data: Any = None
    more: bool = False
    error_code: str = ""
    error_message: str = ""


# -- values ---------------------------------------------------------------------------------


def to_jsonable(value: Any) -> Any:
    """Plain JSON values from what the core and the drivers report (numpy, enums, sets, NaN)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, enum.Enum):
        return value.name.lower()
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return [to_jsonable(v) for v in sorted(value, key=repr)]
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    tolist = getattr(value, "tolist", None)  # numpy arrays and scalars, without importing numpy
    if callable(tolist):
        return to_jsonable(tolist())
    return str(value)


def _dumps(obj: dict[str, Any]) -> bytes:
    """One line of UTF-8 JSON. A lone surrogate in a string (it cannot be UTF-8) is written as its
    ``\\udXXX`` escape, which is what it was in JSON: encoding a reply never fails."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n"
    return text.encode("utf-8", "backslashreplace")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _load_object(line: bytes, what: str) -> dict[str, Any]:
    """One JSON object from a line: strict UTF-8, no NaN/Infinity, no lone surrogates;
    ``what`` names it in the error."""
    try:
        obj = json.loads(line.decode("utf-8"), parse_constant=_reject_constant)
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError both are
        raise ProtocolError(BAD_JSON, f"{what} is not valid JSON: {str(exc)[:80]}") from None
    if not isinstance(obj, dict):
        raise ProtocolError(BAD_REQUEST, f"{what} is not a JSON object")
    if b"\\u" in line:  # only an escape can make a surrogate out of valid UTF-8
        try:
            json.dumps(obj, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ProtocolError(BAD_JSON, f"{what} is not valid JSON text: it escapes a lone surrogate "
                                f"(U+{ord(exc.object[exc.start]):04X}), which is not a character",
                                _request_id(obj)) from None
    return obj


def _request_id(obj: dict[str, Any]) -> int | None:
    """The request's id if it is a usable one, so that even an error reply can carry it."""
    raw = obj.get("id")
    return raw if _is_int(raw) and 0 <= raw <= MAX_REQUEST_ID else None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _type_word(tp: type) -> str:
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}[tp]


def _check_arg(command: str, name: str, spec: Arg, value: Any) -> Any:
    where = f"{command}: argument {name!r}"
    if spec.type is bool:
        ok = isinstance(value, bool)
    elif spec.type is int:
        ok = _is_int(value)
    elif spec.type is float:
        ok = (_is_int(value) or isinstance(value, float)) and math.isfinite(value)
        value = float(value) if ok else value
    else:
        ok = isinstance(value, str)
    if not ok:
        raise ProtocolError(BAD_ARGS, f"{where} must be {_type_word(spec.type)}, not {_short(value)}")
    if spec.type in (int, float):
        if spec.min is not None and value < spec.min:
            raise ProtocolError(BAD_ARGS, f"{where} must be at least {spec.min:g}, not {value:g}")
        if spec.max is not None and value > spec.max:
            raise ProtocolError(BAD_ARGS, f"{where} must be at most {spec.max:g}, not {value:g}")
    if spec.type is str and len(value) > spec.max_len:
        raise ProtocolError(BAD_ARGS, f"{where} is longer than {spec.max_len} characters")
    if spec.check is not None:
        try:
            spec.check(value)
        except ValueError as exc:
            raise ProtocolError(BAD_ARGS, f"{command}: {exc}") from None
    return value


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, float) or math.isfinite(value) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def arg_from_text(cmd: str, name: str, text: str) -> Any:
    """A command-line word as argument ``name`` of ``cmd``, checked by the rule the server applies."""
    spec = COMMANDS[cmd].args[name]
    try:
        value = spec.type(text)
    except ValueError:
        raise ProtocolError(BAD_ARGS, f"{cmd}: argument {name!r} must be {_type_word(spec.type)}, "
                            f"not {_short(text)}") from None
    return _check_arg(cmd, name, spec, value)


def check_args(cmd: str, args: Any) -> dict[str, Any]:
    """The arguments of ``cmd`` with defaults filled in; unknown, missing or mistyped ones are errors."""
    command = COMMANDS.get(cmd)
    if command is None:
        raise ProtocolError(UNKNOWN_COMMAND, f"unknown command {_short(cmd)} (known: {', '.join(COMMANDS)})")
    if not isinstance(args, dict):
        raise ProtocolError(BAD_ARGS, f"{cmd}: args must be an object, not {_short(args)}")
    for name in args:
        if name not in command.args:
            known = ", ".join(command.args) or "none"
            raise ProtocolError(BAD_ARGS, f"{cmd}: unknown argument {_short(name)} (known: {known})")
    checked: dict[str, Any] = {}
    for name, spec in command.args.items():
        if name in args and args[name] is not None:
            checked[name] = _check_arg(cmd, name, spec, args[name])
        elif spec.required:
            raise ProtocolError(BAD_ARGS, f"{cmd}: argument {name!r} is required")
        else:
            checked[name] = spec.default
    return checked


# -- requests ---------------------------------------------------------------------------------

_REQUEST_KEYS = {"v", "id", "cmd", "args"}


def encode_request(request_id: int, cmd: str, args: Mapping[str, Any] | None = None) -> bytes:
    """One request line; the client validates what it sends exactly as the server will."""
    args = {k: v for k, v in (args or {}).items() if v is not None}
    check_args(cmd, args)
    line = _dumps({"v": PROTOCOL, "id": request_id, "cmd": cmd, "args": args})
    if len(line) > MAX_REQUEST_BYTES:
        raise ProtocolError(TOO_LARGE, f"request is {len(line)} bytes, the limit is {MAX_REQUEST_BYTES}")
    return line


def decode_request(line: bytes) -> Request:
    """Parse and validate one request line (without checking who sent it)."""
    if len(line) > MAX_REQUEST_BYTES + 1:
        raise ProtocolError(TOO_LARGE, f"request longer than {MAX_REQUEST_BYTES} bytes")
    obj = _load_object(line, "the request")
    request_id = _request_id(obj)
    if "v" not in obj:
        raise ProtocolError(BAD_VERSION, f"request has no protocol version \"v\" (this hubd speaks {PROTOCOL})",
                            request_id)
    if not _is_int(obj["v"]) or obj["v"] != PROTOCOL:
        raise ProtocolError(BAD_VERSION, f"protocol version {_short(obj['v'])} is not supported "
                            f"(this hubd speaks {PROTOCOL}: update hubctl or hubd)", request_id)
    if request_id is None:
        raise ProtocolError(BAD_REQUEST, f"\"id\" must be an integer 0..{MAX_REQUEST_ID}")
    extra = sorted(set(obj) - _REQUEST_KEYS)
    if extra:
        raise ProtocolError(BAD_REQUEST, f"unknown request field(s): {', '.join(map(_short, extra))}", request_id)
    cmd = obj.get("cmd")
    if not isinstance(cmd, str):
        raise ProtocolError(BAD_REQUEST, "\"cmd\" must be a string", request_id)
    try:
        args = check_args(cmd, obj.get("args", {}))
    except ProtocolError as exc:
        exc.request_id = request_id
        raise
    return Request(request_id, cmd, args)


# -- replies ----------------------------------------------------------------------------------


def encode_reply(request_id: int, data: Any, more: bool = False) -> bytes:
    obj: dict[str, Any] = {"v": PROTOCOL, "id": request_id, "ok": True}
    if more:
        obj["more"] = True
    obj["data"] = to_jsonable(data)
    return _dumps(obj)


def encode_error(request_id: int | None, code: str, message: str) -> bytes:
    assert code in ERROR_CODES, code
    return _dumps({"v": PROTOCOL, "id": request_id, "ok": False, "error": {"code": code, "message": message}})


def decode_reply(line: bytes, expected_id: int) -> Reply:
    """Parse and validate one reply line to request ``expected_id``; anything else is a ProtocolError."""
    obj = _load_object(line, "the daemon's reply")
    if obj.get("v") != PROTOCOL or not _is_int(obj.get("v")):
        raise ProtocolError(BAD_VERSION, f"the daemon speaks protocol {_short(obj.get('v'))}, "
                            f"this hubctl speaks {PROTOCOL}: update hubctl or hubd")
    ok = obj.get("ok")
    if not isinstance(ok, bool):
        raise ProtocolError(BAD_REQUEST, "the daemon's reply has no \"ok\"")
    reply_id = obj.get("id")
    if reply_id != expected_id and not (reply_id is None and not ok):
        raise ProtocolError(BAD_REQUEST, f"reply to request {_short(reply_id)}, expected {expected_id}")
    if ok:
        if "data" not in obj or "error" in obj:
            raise ProtocolError(BAD_REQUEST, "a successful reply must carry \"data\" and no \"error\"")
        more = obj.get("more", False)
        if not isinstance(more, bool):
            raise ProtocolError(BAD_REQUEST, "\"more\" must be true or false")
        return Reply(reply_id, True, obj["data"], more)
    error = obj.get("error")
    if not (isinstance(error, dict) and isinstance(error.get("code"), str) and isinstance(error.get("message"), str)):
        raise ProtocolError(BAD_REQUEST, "an error reply must carry error.code and error.message")
    return Reply(reply_id, False, error_code=error["code"], error_message=error["message"])
