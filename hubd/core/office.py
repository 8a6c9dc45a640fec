"""The office's SMS commands, as core rules: who may command the hub, what each command does,
and whether a sender may have another reply now. Like the engine, no I/O and no clock reads:
the daemon hands over each inbound SMS (sender, text, numeric type of address) with the time
and executes the actions returned; replay and the simulator can drive the same rules.

- Only the office commands the hub: the sender, in international form (``hubd.phone``), must
  be a configured recipient or authorised number; an alphanumeric sender ID never is.
- Commands are ``ACK <alert id>``, ``STATUS``, ``TEST`` and ``OK <test id>`` (confirming an
  installation test, ``hubctl commission``), in ASCII (half-width), any case.
  ``ACK ²``, ``ACK １`` (full width) or ``ACK ١`` are refused, never read as digits.
- STATUS and TEST answer by SMS; each sender gets at most ``modem.replies_per_hour`` of them
  in any hour, so a flood of requests cannot bury an alarm under replies. ACK is never
  limited: it stops an escalation and costs no SMS.
- Every SMS that is not obeyed is audited with the reason.
"""

from __future__ import annotations

import collections
import re
from dataclasses import dataclass
from typing import Any

from .actions import Audit, Report, SendSms
from .engine import CommandError
from .messages import heartbeat, status_reply
from ..phone import sender_international

REPLY_WINDOW_SECONDS = 3600.0
REPLY = "reply"  # the purpose of a STATUS reply (hubd.core.actions.SendSms.purpose)
_ACK = re.compile(r"ACK\s+([0-9]{1,9})", re.ASCII | re.IGNORECASE)
_ACK_WORD = re.compile(r"ACK(\s.*)?", re.ASCII | re.IGNORECASE | re.DOTALL)
_OK = re.compile(r"OK\s+(T[0-9]{5})", re.ASCII | re.IGNORECASE)
_WORDS = {"STATUS": "status", "TEST": "test"}
_SHOWN = 40  # characters of an unknown text kept in the audit


@dataclass(frozen=True)
class Command:
    name: str  # ack, status, test, confirm
    alert_id: int | None = None
    test_id: str | None = None  # confirm: the installation test's id, T and five digits


class BadCommand(ValueError):
    """A text that names a command but cannot be obeyed as written (``ACK ²``)."""


def parse_command(text: str) -> Command | None:
    """The command an SMS text holds; None if it is no command; BadCommand if it is one, mis-written."""
    words = text.strip()
    found = _ACK.fullmatch(words)
    if found:
        return Command("ack", int(found.group(1)))  # ASCII digits only, at most 9: int() is safe here
    if _ACK_WORD.fullmatch(words):
        raise BadCommand("ACK needs the alert number in ASCII (half-width) digits, e.g. ACK 12")
    found = _OK.fullmatch(words)
    if found:
        return Command("confirm", test_id=found.group(1).upper())
    name = _WORDS.get(words.upper()) if words.isascii() else None
    return Command(name) if name else None


class OfficeCommands:
    """The office's commands for one hub; keeps, per sender, when replies were sent (in memory)."""

    def __init__(self, config: Any, replies: dict[str, collections.deque] | None = None):
        self.config = config
        modem = config.modem
        self.authorised = frozenset(modem.recipients) | frozenset(modem.authorised)
        self.replies: dict[str, collections.deque] = {} if replies is None else replies

    def reconfigured(self, config: Any) -> "OfficeCommands":
        """For a new config (SIGHUP): the same reply history, so a reload does not reset the limit."""
        return OfficeCommands(config, dict(self.replies))

    def on_sms(self, sender: str, text: str, numeric: bool, engine: Any, mono: float, local: float) -> list:
        number = sender_international(sender, numeric, self.config.modem.country_code)
        if number is None or number not in self.authorised:
            why = "unknown sender" if number is not None else (
                "sender is a name, not a number" if not numeric else "sender is not a valid number")
            return [Audit(f"sms {sender[:20]}", "sms_ignored", {"reason": why, "numeric": numeric, "length": len(text)})]
        actor = f"sms {number}"
        try:
            command = parse_command(text)
        except BadCommand as exc:
            return [Audit(actor, "command_refused", {"text": text[:_SHOWN], "why": str(exc)})]
        if command is None:
            return [Audit(actor, "sms_ignored", {"reason": "unknown command", "text": text[:_SHOWN]})]
        try:
            if command.name == "ack":
                return engine.ack(command.alert_id, actor, mono, local)
            if command.name == "confirm":  # answers once per test, so it needs no reply budget
                return engine.confirm_test(command.test_id, number, actor, mono, local)
            if not self._may_reply(number, mono):
                return [Audit(actor, "reply_dropped", {"command": command.name, "why": (
                    f"more than {self.config.modem.replies_per_hour} replies in an hour")})]
            if command.name == "test":
                return engine.test_alert(number, actor, mono, local)
            return [Audit(actor, "status_request", {}), SendSms(number, self.status_text(engine, mono, local), REPLY, kind="status")]
        except CommandError as exc:
            return [Audit(actor, "command_refused", {"text": text[:_SHOWN], "why": str(exc)})]

    def status_text(self, engine: Any, mono: float, local: float) -> str:
        status = engine.status(mono, local)
        det = status["detector"]
        hub = self.config.hub
        return status_reply(hub.language, hub.flat_id, status["mode"]["name"], det.get("inactive_seconds"),
                            det.get("threshold_seconds"), len(status["open_alerts"]))

    def _may_reply(self, number: str, mono: float) -> bool:
        """At most ``replies_per_hour`` in any hour; the reply counted is the one about to be sent."""
        sent = self.replies.setdefault(number, collections.deque())
        while sent and sent[0] <= mono - REPLY_WINDOW_SECONDS:
            sent.popleft()
        if len(sent) >= self.config.modem.replies_per_hour:
            return False
        sent.append(mono)
        return True


def report_text(report: Report, uplink: dict[str, Any], config: Any) -> str:
    """A heartbeat's text: the core's facts plus what only the uplink knows, in the shape of
    ``SmsService.status()``: ``{"signal": {"rssi", "bars", …}, "outbox": {state: count}}``.
    A signal never measured (rssi None: bars 0 means "unknown" there) is shown as unknown."""
    facts = report.facts
    signal = uplink.get("signal") or {}
    bars = signal.get("bars") if signal.get("rssi") is not None else None
    outbox = uplink.get("outbox") or {}
    unsent = int(outbox.get("queued") or 0) + int(outbox.get("sending") or 0)
    return heartbeat(config.hub.language, config.hub.flat_id, facts.get("last_activity_local"),
                     str(facts.get("mode")), int(facts.get("open_alerts") or 0), bars, unsent)
