"""The seam between the detector and the alert policy.

A detector watches the event stream and reports *conditions* (findings) that hold
right now; the alert policy turns a condition's start and end into episodes. Keeping
the detector level-based makes it easy to test and to replay in bulk.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable

from ..events import Event, Kind
from ..findings import RESIDENT, Finding


def is_activity(event: Event, appliance_on_watts: float = 0.0, appliance_was_on: bool = False) -> bool:
    """Whether an event shows someone moving inside (presence OFF is a movement too).

    An appliance counts when it is switched on (``appliance_was_on``: it was on before this
    event); the level events it sends while on (``hubd.sensors.appliance``) are no hand: a
    device left running may vary by itself. (The learned detector judges use by its own rule.)"""
    kind = event.kind
    if kind is Kind.MOTION or kind is Kind.BUTTON:
        return event.value > 0
    if kind is Kind.APPLIANCE:
        return event.value > appliance_on_watts and not appliance_was_on
    return True  # door, entrance, presence: any change is a hand or a body


class Detector(ABC):
    """Fed every event in time order; asked at any moment which conditions hold."""

    @abstractmethod
    def observe(self, event: Event) -> None: ...

    @abstractmethod
    def check(self, mono: float, local: float) -> list[Finding]: ...

    @abstractmethod
    def status(self, mono: float, local: float) -> dict[str, Any]:
        """For `hubctl status`: last activity, inactivity now vs the threshold now, inferred mode."""

    @abstractmethod
    def state(self) -> dict[str, Any]:
        """What must survive a restart (JSON-able, or numpy arrays for the store)."""

    @abstractmethod
    def load(self, state: dict[str, Any], rebase: Callable[[float], float]) -> None:
        """Restore ``state``; ``rebase`` maps a stored monotonic time onto this boot's clock."""

    def next_check(self, mono: float) -> float | None:
        """The earliest monotonic time a new finding could appear (None: only on events)."""
        return None

    def hold_learning(self, hold: bool) -> None:
        """While the wall clock is not set, learn nothing by time of day (its stamps are off)."""

    def wall_clock_set(self, jump: float, since_mono: float, mono: float) -> None:
        """The wall clock was set: wall stamps of events since ``since_mono`` were ``jump`` behind."""


class FixedTimerDetector(Detector):
    """The industry baseline and the always-on safety net: any activity resets a stopwatch.

    A presence sensor held ON is someone there, so it holds off the timer; the
    stopwatch restarts when it is released. With ``held_limit_seconds`` a presence held
    that long is itself a finding (``stayed_in_place``): a bed or seat mat held ON, by a
    person who cannot get up or by a stuck mat, must not hold the timer off forever.
    """

    def __init__(self, limit_seconds: float, appliance_on_watts: float = 0.0,
                 held_limit_seconds: float | None = None):
        if limit_seconds <= 0:
            raise ValueError("limit must be positive")
        if held_limit_seconds is not None and held_limit_seconds <= 0:
            raise ValueError("held limit must be positive")
        self.limit = float(limit_seconds)
        self.appliance_on_watts = appliance_on_watts
        self.held_limit = None if held_limit_seconds is None else float(held_limit_seconds)
        self.last_activity_mono: float | None = None
        self.last_activity_local: float | None = None
        self.held: set[str] = set()
        self.held_since: dict[str, float] = {}  # mono each held sensor went ON
        self.appliances_on: set[str] = set()  # appliances whose last reading was above appliance_on_watts

    def observe(self, event: Event) -> None:
        if event.kind is Kind.PRESENCE:
            if event.value > 0:
                self.held.add(event.sensor)
                self.held_since.setdefault(event.sensor, event.mono)
            else:
                self.held.discard(event.sensor)
                self.held_since.pop(event.sensor, None)
        was_on = event.sensor in self.appliances_on
        if event.kind is Kind.APPLIANCE:
            if event.value > self.appliance_on_watts:
                self.appliances_on.add(event.sensor)
            else:
                self.appliances_on.discard(event.sensor)
        if is_activity(event, self.appliance_on_watts, was_on):
            self.last_activity_mono = event.mono
            self.last_activity_local = event.local

    def wall_clock_set(self, jump: float, since_mono: float, mono: float) -> None:
        if self.last_activity_local is not None and self.last_activity_mono is not None \
                and self.last_activity_mono >= since_mono:
            self.last_activity_local += jump

    def _since(self, mono: float) -> float | None:
        if self.held or self.last_activity_mono is None:
            return None
        return self.last_activity_mono

    def check(self, mono: float, local: float) -> list[Finding]:
        found = []
        since = self._since(mono)
        if since is not None and mono - since >= self.limit:
            found.append(Finding("inactivity", RESIDENT, since, self.limit, detail={"rule": "fixed_timer"}))
        if self.held_limit is not None:
            for sensor, held_from in sorted(self.held_since.items()):
                if mono - held_from >= self.held_limit:
                    found.append(Finding("stayed_in_place", RESIDENT, held_from, self.held_limit, key=sensor,
                                         detail={"rule": "fixed_timer"}))
        return found

    def next_check(self, mono: float) -> float | None:
        since = self._since(mono)
        due = [] if since is None else [since + self.limit]
        if self.held_limit is not None:
            due += [held_from + self.held_limit for held_from in self.held_since.values()]
        return min(due) if due else None

    def status(self, mono: float, local: float) -> dict[str, Any]:
        since = self._since(mono)
        return {
            "last_activity_local": self.last_activity_local,
            "inactive_seconds": None if since is None else max(0.0, mono - since),
            "threshold_seconds": self.limit,
            "held": sorted(self.held),
            "inferred": "home",
        }

    def state(self) -> dict[str, Any]:
        return {
            "last_activity_mono": self.last_activity_mono,
            "last_activity_local": self.last_activity_local,
            "held": sorted(self.held),
            "held_since": dict(self.held_since),
            "appliances_on": sorted(self.appliances_on),
        }

    def load(self, state: dict[str, Any], rebase: Callable[[float], float]) -> None:
        mono = state.get("last_activity_mono")
        self.last_activity_mono = None if mono is None else rebase(mono)
        self.last_activity_local = state.get("last_activity_local")
        self.held = set(state.get("held", ()))
        since = state.get("held_since")
        if since is None:  # saved before hold times were kept: the hold began by the last activity at the latest
            since = {} if mono is None else {sensor: mono for sensor in self.held}
        self.held_since = {sensor: rebase(float(t)) for sensor, t in since.items() if sensor in self.held}
        self.appliances_on = set(state.get("appliances_on", ()))  # older state: the next reading counts once
