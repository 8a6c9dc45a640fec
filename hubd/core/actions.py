"""What the pure core asks the outside world to do. The shells execute these; tests read them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SetOutputs:
    """Buzzer/LED pattern: off, prealarm, alarm, fault, walktest."""

    pattern: str


@dataclass(frozen=True)
class SendSms:
    to: str
    text: str
    purpose: str  # alarm, resolved, system, heartbeat, test, reply
    alert_id: int | None = None
    kind: str = ""  # the message type for the SMS tag (sms_tag.CODES), e.g. "inactivity", "resolved:inactivity"


@dataclass(frozen=True)
class AlertChanged:
    """An alert was raised or moved stage; ``record`` is the alert's full JSON-able state."""

    record: dict[str, Any]
    raised: bool = False


@dataclass(frozen=True)
class Audit:
    actor: str
    action: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Log:
    level: str
    message: str


@dataclass(frozen=True)
class Report:
    """A status report for the office (heartbeat); the shell adds what only it knows (signal, outbox)."""

    kind: str
    facts: dict[str, Any] = field(default_factory=dict)
