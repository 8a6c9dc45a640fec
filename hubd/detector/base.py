"""The seam between the detector and the alert policy.

A detector watches the event stream and reports *conditions* (findings) that hold
right now; the alert policy turns a condition's start and end into episodes. Keeping
the detector level-based makes it easy to test and to replay in bulk.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, Callable, Sequence

import numpy as np

from ..events import Event, Kind
from ..findings import RESIDENT, Finding
from . import fixed_kernels as fk


def is_activity(event: Event, appliance_on_watts: float = 0.0, appliance_was_on: bool = False) -> bool:
    """Whether an event shows someone moving inside (the rule: ``fixed_kernels.is_activity``).

    (The learned detector judges an appliance's use by its own rule.)"""
    return fk.is_activity(int(event.kind), float(event.value), float(appliance_on_watts), bool(appliance_was_on))


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

    The state lives in arrays stepped by ``fixed_kernels.observe``, the kernel bulk replay
    runs too; this class names the sensor rows and reads findings off the arrays.
    """

    def __init__(self, limit_seconds: float, appliance_on_watts: float = 0.0,
                 held_limit_seconds: float | None = None):
        if limit_seconds <= 0:
            raise ValueError("limit must be positive")
        if held_limit_seconds is not None and held_limit_seconds <= 0:
            raise ValueError("held limit must be positive")
        self.limit = float(limit_seconds)
        self.appliance_on_watts = float(appliance_on_watts)
        self.held_limit = None if held_limit_seconds is None else float(held_limit_seconds)
        self._clear()

    def _clear(self) -> None:
        self.st = np.array([math.nan, math.nan, 0.0, 0.0])
        self.names: list[str] = []
        self._row: dict[str, int] = {}
        self.held_since = np.zeros(0)
        self.held_seq = np.zeros(0)
        self.app_on = np.zeros(0)

    def rows(self, sensor_ids: Sequence[str]) -> np.ndarray:
        """The state rows of these sensors, added (not held, appliance off) where new."""
        new = [s for s in dict.fromkeys(sensor_ids) if s not in self._row]
        if new:
            for sensor in new:
                self._row[sensor] = len(self.names)
                self.names.append(sensor)
            k = len(new)
            self.held_since = np.concatenate((self.held_since, np.full(k, math.nan)))
            self.held_seq = np.concatenate((self.held_seq, np.full(k, -1.0)))
            self.app_on = np.concatenate((self.app_on, np.zeros(k)))
        return np.array([self._row[s] for s in sensor_ids], dtype=np.int64)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The kernel state (``st``, ``held_since``, ``held_seq``, ``app_on``), for bulk replay."""
        return self.st, self.held_since, self.held_seq, self.app_on

    def observe(self, event: Event) -> None:
        r = self._row.get(event.sensor)
        if r is None:
            r = int(self.rows([event.sensor])[0])
        fk.observe(self.st, self.held_since, self.held_seq, self.app_on, int(event.kind), r,
                   float(event.value), float(event.mono), float(event.local), self.appliance_on_watts)

    @property
    def last_activity_mono(self) -> float | None:
        return _opt(self.st[fk.F_LAST_MONO])

    @property
    def last_activity_local(self) -> float | None:
        return _opt(self.st[fk.F_LAST_LOCAL])

    def _held_rows(self) -> list[int]:
        """Rows of the held sensors, in the order their holds began."""
        return sorted(np.flatnonzero(self.held_seq >= 0.0).tolist(), key=lambda r: self.held_seq[r])

    def wall_clock_set(self, jump: float, since_mono: float, mono: float) -> None:
        st = self.st
        if not math.isnan(st[fk.F_LAST_LOCAL]) and st[fk.F_LAST_MONO] >= since_mono:
            st[fk.F_LAST_LOCAL] += jump

    def _since(self) -> float | None:
        """Where the stopwatch counts from: None while a presence is held or before any activity."""
        return None if self.st[fk.F_HELD] > 0 else self.last_activity_mono

    def deadlines(self) -> list[tuple[float, float]]:
        """(since, limit) of each finding that will hold once its time has run: the stopwatch
        and each known hold under ``held_limit``."""
        since = self._since()
        due = [] if since is None else [(since, self.limit)]
        if self.held_limit is not None:
            due += [(held_from, self.held_limit) for held_from in self._held_since().values()]
        return due

    def check(self, mono: float, local: float) -> list[Finding]:
        found = []
        since = self._since()
        if since is not None and mono - since >= self.limit:
            found.append(Finding("inactivity", RESIDENT, since, self.limit, detail={"rule": "fixed_timer"}))
        if self.held_limit is not None:
            for sensor, held_from in sorted(self._held_since().items()):
                if mono - held_from >= self.held_limit:
                    found.append(Finding("stayed_in_place", RESIDENT, held_from, self.held_limit, key=sensor,
                                         detail={"rule": "fixed_timer"}))
        return found

    def next_check(self, mono: float) -> float | None:
        due = [since + limit for since, limit in self.deadlines()]
        return min(due) if due else None

    def _held_since(self) -> dict[str, float]:
        return {self.names[r]: float(self.held_since[r]) for r in self._held_rows()
                if not math.isnan(self.held_since[r])}

    def held(self) -> list[str]:
        return sorted(self.names[r] for r in self._held_rows())

    def status(self, mono: float, local: float) -> dict[str, Any]:
        since = self._since()
        return {
            "last_activity_local": self.last_activity_local,
            "inactive_seconds": None if since is None else max(0.0, mono - since),
            "threshold_seconds": self.limit,
            "held": self.held(),
            "inferred": "home",
        }

    def state(self) -> dict[str, Any]:
        return {
            "last_activity_mono": self.last_activity_mono,
            "last_activity_local": self.last_activity_local,
            "held": self.held(),
            "held_since": self._held_since(),
            "appliances_on": sorted(self.names[r] for r in np.flatnonzero(self.app_on > 0.0)),
        }

    def load(self, state: dict[str, Any], rebase: Callable[[float], float]) -> None:
        self._clear()
        mono = state.get("last_activity_mono")
        local = state.get("last_activity_local")
        self.st[fk.F_LAST_MONO] = math.nan if mono is None else rebase(mono)
        self.st[fk.F_LAST_LOCAL] = math.nan if local is None else local
        held = list(state.get("held", ()))
        since = state.get("held_since")
        if since is None:  # saved before hold times were kept: the hold began by the last activity at the latest
            since = {} if mono is None else {sensor: mono for sensor in held}
        order = [s for s in since if s in held] + [s for s in held if s not in since]
        rows = self.rows(order)
        for seq, (sensor, r) in enumerate(zip(order, rows)):
            self.held_seq[r] = seq
            if sensor in since:
                self.held_since[r] = rebase(float(since[sensor]))
        self.st[fk.F_NEXT_SEQ] = self.st[fk.F_HELD] = len(order)
        on = list(state.get("appliances_on", ()))  # older state: the next reading counts once
        rows = self.rows(on)  # (before indexing: adding rows replaces the arrays)
        self.app_on[rows] = 1.0


def _opt(x: float) -> float | None:
    return None if math.isnan(x) else float(x)
