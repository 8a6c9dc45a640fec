"""Drive the core engine over an event log on a simulated clock, as the daemon would have.

Between events the engine is ticked exactly at the deadlines it names, so a month
replays in well under a second and no alert moment is rounded to a poll interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from ..core.actions import AlertChanged
from ..config import Config
from ..core.engine import Engine
from ..events import Event, format_local


@dataclass
class ReplayStats:
    events: int = 0
    alerts: list[dict[str, Any]] = field(default_factory=list)
    first_local: float | None = None
    last_local: float | None = None


def alert_line(record: dict[str, Any], offset: float | None) -> dict[str, Any]:
    """The replay JSON object of DESIGN.md: time, type, category, then the details."""
    silence = record["raised_mono"] - record["since_mono"]
    line = {
        "time": format_local(record["raised_local"], offset),
        "type": record["type"],
        "category": record["category"],
        "id": record["id"],
        "since": format_local(record["since_local"], offset),
        "silence_s": round(silence, 1),
        "threshold_s": round(record["limit"], 1),
    }
    if record.get("key"):
        line["sensor"] = record["key"]
    rule = record.get("detail", {}).get("rule")
    if rule:
        line["rule"] = rule
    return line


class Replayer:
    """The per-event reference: every event, and a tick at every deadline the engine names.

    ``on_actions`` (optional) sees every non-empty list of actions the engine returns. ``last``:
    the event fed last (ticks start from it; None: no ticks before the first event).
    """

    def __init__(self, engine: Engine, on_alert: Callable[[dict[str, Any]], None] | None = None,
                 on_actions: Callable[[list], None] | None = None, last: Event | None = None):
        self.engine = engine
        self.on_alert = on_alert
        self.on_actions = on_actions
        self.stats = ReplayStats()
        self.last = last

    def collect(self, actions: list) -> None:
        """Count the alerts raised in ``actions`` and pass them on (``on_alert``, ``on_actions``)."""
        if actions and self.on_actions is not None:
            self.on_actions(actions)
        for action in actions:
            if isinstance(action, AlertChanged) and action.raised:
                self.stats.alerts.append(action.record)
                if self.on_alert:
                    self.on_alert(action.record)

    def _local_at(self, mono: float) -> float:
        assert self.last is not None
        return self.last.local + (mono - self.last.mono)

    def advance_to(self, mono: float) -> None:
        """Tick at every deadline up to ``mono`` (inclusive)."""
        if self.last is None:
            return
        while True:
            deadline = self.engine.next_deadline(self.last.mono)
            if deadline is None or deadline > mono:
                break
            self.collect(self.engine.tick(deadline, self._local_at(deadline)))

    def feed(self, event: Event) -> None:
        self.advance_to(event.mono)
        self.collect(self.engine.handle(event))
        self.last = event
        self.stats.events += 1
        if self.stats.first_local is None:
            self.stats.first_local = event.local
        self.stats.last_local = event.local


def replay(events: Iterable[Event], config: Config, until_mono: float | None = None,
           on_alert: Callable[[dict[str, Any]], None] | None = None, engine: Engine | None = None,
           on_actions: Callable[[list], None] | None = None, last: Event | None = None) -> ReplayStats:
    """Feed ``events`` (up to ``until_mono``) one at a time; ``on_actions``, ``last``: as for :class:`Replayer`."""
    engine = engine or Engine(config)
    runner = Replayer(engine, on_alert, on_actions=on_actions, last=last)
    for event in events:
        if until_mono is not None and event.mono > until_mono:
            break
        runner.feed(event)
    if until_mono is not None:
        runner.advance_to(until_mono)
    return runner.stats
