"""What the daemon needs from the outside world, as small interfaces.

The daemon talks to devices and to the office only through these, so the same
daemon runs on a Pi, on simulated hardware and inside tests.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable

from .sms_tag import Tag
from .findings import Finding
from .events import Kind

EventSink = Callable[[str, Kind, float, float], None]
"""(sensor_id, kind, value, mono) — called from any thread; must only hand the event over."""

ConditionSink = Callable[[tuple[str, str], "Finding | None"], None]
"""(ident, finding or None to clear) — a system condition seen by a shell (I2C fault, modem down)."""

InboundSink = Callable[[str, str, bool], None]
"""(sender, text, numeric) — an inbound SMS. ``numeric`` is True only for a sender whose type of
address is international or national/unknown and whose address is ASCII digits: only such a
sender can be a phone number; an alphanumeric sender ID (which anyone can choose) never is."""


class Hardware(ABC):
    @abstractmethod
    def start(self, sink: EventSink, conditions: ConditionSink) -> None:
        """Open devices, read initial states, begin reporting."""

    @abstractmethod
    def set_outputs(self, pattern: str) -> None:
        """Buzzer/LED pattern: off, prealarm, alarm, fault, walktest."""

    def service(self, mono: float) -> float | None:
        """Periodic work (debounce settling, I2C polls); returns when it next wants to run."""
        return None

    def readings(self) -> dict[str, Any]:
        """Live per-sensor readings for hubctl sensors / walktest."""
        return {}

    @abstractmethod
    def close(self) -> None:
        """Outputs off, devices released: gpiozero's atexit does not run on SIGTERM."""


class NoHardware(Hardware):
    """A hub with nothing attached: for tests and for replaying on a desk."""

    def __init__(self) -> None:
        self.pattern = "off"
        self.patterns: list[str] = []

    def start(self, sink: EventSink, conditions: ConditionSink) -> None:
        self.sink = sink

    def set_outputs(self, pattern: str) -> None:
        self.pattern = pattern
        self.patterns.append(pattern)

    def close(self) -> None:
        self.set_outputs("off")


UPLINK_DOWN = ("uplink_down", "")
"""The condition an uplink reports when nothing can reach the office (the daemon raises it too
when the uplink's task itself dies)."""


class Uplink(ABC):
    """The way to the housing office. ``submit`` keeps the message before it returns: committed,
    or, while the disk refuses, held in memory and sent all the same (``on_disk`` is False then);
    kept even if the caller's transaction rolls back."""

    @abstractmethod
    def submit(self, to: str, text: str, purpose: str, alert_id: int | None, label: Tag | None = None) -> int:
        """Queue an SMS; returns its outbox id. ``label`` (its ``seq`` unset) is completed with the
        next sequence number for ``to`` and appended as the text's tag (``sms_tag``)."""

    def on_disk(self, message_id: int) -> bool:
        """False while a submitted message is held in memory only (it would not survive a restart)."""
        return True

    @abstractmethod
    async def run(self, conditions: ConditionSink, inbound: InboundSink) -> None:
        """Deliver queued messages until cancelled; report link health and inbound texts."""

    def status(self) -> dict[str, Any]:
        return {}

    @property
    def idle(self) -> bool:
        """Nothing in flight that runs in real time (an AT command, an SMS on its way): a
        harness on a fake clock holds simulated time until it is."""
        return True

    def close(self) -> None:
        pass
