"""Drive the core engine over an event log on a simulated clock, as the daemon would have.

Between events the engine is ticked exactly at the deadlines it names, so a month
replays in well under a second and no alert moment is rounded to a poll interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np

from ..core.actions import AlertChanged
from ..config import Config
from ..core.engine import Engine
from ..events import Event, Kind, format_local


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

    ``on_actions`` (optional) sees every non-empty list of actions the engine returns.
    """

    def __init__(self, engine: Engine, on_alert: Callable[[dict[str, Any]], None] | None = None,
                 on_actions: Callable[[list], None] | None = None):
        self.engine = engine
        self.on_alert = on_alert
        self.on_actions = on_actions
        self.stats = ReplayStats()
        self._last: Event | None = None

    def _collect(self, actions: list) -> None:
        if actions and self.on_actions is not None:
            self.on_actions(actions)
        for action in actions:
            if isinstance(action, AlertChanged) and action.raised:
                self.stats.alerts.append(action.record)
                if self.on_alert:
                    self.on_alert(action.record)

    def _local_at(self, mono: float) -> float:
        assert self._last is not None
        return self._last.local + (mono - self._last.mono)

    def advance_to(self, mono: float) -> None:
        """Tick at every deadline up to ``mono`` (inclusive)."""
        if self._last is None:
            return
        while True:
            deadline = self.engine.next_deadline(self._last.mono)
            if deadline is None or deadline > mono:
                break
            self._collect(self.engine.tick(deadline, self._local_at(deadline)))

    def feed_batch(self, batch, until_mono: float | None = None) -> None:
        """Feed a columnar batch in bulk (``replay_bulk.handle_batch``), exactly as :meth:`feed` for
        each of its events (then :meth:`advance_to` ``until_mono``) would; mixes with ``feed``."""
        from .bulk import handle_batch  # numba: loaded only when bulk is used

        n = len(batch)
        if until_mono is not None and n:
            n = int(np.searchsorted(batch.mono, until_mono, side="right"))
        handle_batch(self.engine, batch, until_mono=until_mono, last=self._last,
                     on_actions=lambda actions, index: self._collect(actions))
        if n:
            i = n - 1
            self._last = Event(float(batch.mono[i]), float(batch.local[i]), batch.sensors[int(batch.sensor[i])],
                               Kind(int(batch.kind[i])), float(batch.value[i]))
            self.stats.events += n
            if self.stats.first_local is None:
                self.stats.first_local = float(batch.local[0])
            self.stats.last_local = float(batch.local[i])

    def feed(self, event: Event) -> None:
        self.advance_to(event.mono)
        self._collect(self.engine.handle(event))
        self._last = event
        self.stats.events += 1
        if self.stats.first_local is None:
            self.stats.first_local = event.local
        self.stats.last_local = event.local


def replay(events: Iterable[Event], config: Config, until_mono: float | None = None,
           on_alert: Callable[[dict[str, Any]], None] | None = None, engine: Engine | None = None) -> ReplayStats:
    engine = engine or Engine(config)
    runner = Replayer(engine, on_alert)
    for event in events:
        if until_mono is not None and event.mono > until_mono:
            break
        runner.feed(event)
    if until_mono is not None:
        runner.advance_to(until_mono)
    return runner.stats


def replay_log(log, config: Config, until_mono: float | None = None,
               on_alert: Callable[[dict[str, Any], float | None], None] | None = None,
               engine: Engine | None = None) -> ReplayStats:
    """``hubd replay`` on a loaded :class:`~hubd.events.EventLog`, in bulk (``replay_bulk.handle_batch``).

    Behaves as :func:`replay` over the streaming :class:`~hubd.events.EventReader`: events
    after ``until_mono`` are not fed (nor is anything after them read: a bad row there is
    never seen); a bad row before is raised (``log.error``) after the rows before it
    were replayed, without ticking on to ``until_mono``. ``on_alert(record, offset)``
    gets each alert raised, with the UTC offset of the input row the streaming reader
    had read when the alert was raised (the convention the output is printed in).
    """
    from .bulk import handle_batch  # numba: loaded only when bulk is used

    engine = engine or Engine(config)
    stats = ReplayStats()
    n = len(log)
    fed = n
    if until_mono is not None and n:
        fed = int(np.searchsorted(log.mono, until_mono, side="right"))
    cut = fed < n  # the reader stopped at row ``fed`` (after until): it never reached the bad row
    last_read = fed if cut else n - 1

    def collect(actions: list, index: int) -> None:
        for action in actions:
            if isinstance(action, AlertChanged) and action.raised:
                stats.alerts.append(action.record)
                if on_alert:
                    on_alert(action.record, log.offset_of(min(index, last_read)) if n else None)

    error = None if cut else log.error
    handle_batch(engine, log.batch(fed), until_mono=None if error is not None else until_mono, on_actions=collect)
    stats.events = fed
    if fed:
        stats.first_local, stats.last_local = float(log.local[0]), float(log.local[fed - 1])
    if error is not None:
        raise error
    return stats
