"""The pure edge logic of the GPIO inputs: PIR warm-up and retrigger merging, debounce
with chatter detection, and the OK button's long press.

Why apart from the devices: these filters know nothing of gpiozero, pins or threads. A
device (``hubd.sensors.gpio``) stamps each edge on the injected clock and feeds it here;
decisions that come due later are made in ``settle(now)``. So every rule is tested on a
fake clock without a pin factory, and the same rules serve every backend.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Optional

LEVEL, FAULT, HOLD = "level", "fault", "hold"
CHATTER = "chatter"
_EPS = 1e-6  # a microsecond of slack so float sums of the same durations compare as due


@dataclass(frozen=True, slots=True)
class FilterDecision:
    """One decision of a filter: a level to report, a fault raised/cleared, or a hold."""

    what: str
    mono: float
    value: float = 0.0
    reason: Optional[str] = None


def _due(now: float, deadline: float) -> bool:
    return now + _EPS >= deadline


# --------------------------------------------------------------------------- filters


class PirFilter:
    """Raw PIR levels to motion episodes: start (1) and end (0).

    Nothing is reported during warm-up (the HC-SR501 gives spurious highs for ~60 s
    after power-on); when it ends the current level counts, so motion already present
    is a start. A PIR held high is one start. A fall followed by a new rise within
    ``retrigger_s`` (the sensor's own hold/blind cycle) continues the same episode, so
    an end is decided only ``retrigger_s`` after the fall and is stamped at the fall.
    """

    def __init__(self, warmup_s: float = 60.0, retrigger_s: float = 5.0):
        if warmup_s < 0 or retrigger_s < 0:
            raise ValueError("warmup_s and retrigger_s must be >= 0")
        self.warmup_s = float(warmup_s)
        self.retrigger_s = float(retrigger_s)
        self.raw = False
        self.warm_until: Optional[float] = None
        self.motion = False  # an episode has been reported as started and not ended
        self.fell_at: Optional[float] = None  # the fall that may end the episode

    @property
    def warming_up(self) -> bool:
        return self.warm_until is not None

    @property
    def reported(self) -> bool:
        return self.motion

    def begin(self, level: bool, mono: float) -> list[FilterDecision]:
        self.raw = level
        if self.warmup_s > 0:
            self.warm_until = mono + self.warmup_s
            return []
        return self._start_if(level, mono)

    def edge(self, level: bool, mono: float) -> list[FilterDecision]:
        out = self.settle(mono)
        if level == self.raw:
            return out
        self.raw = level
        if self.warming_up:
            return out
        if level:
            if self.motion:
                self.fell_at = None  # retriggered within the hold: same episode
                return out
            return out + self._start_if(True, mono)
        if self.motion:
            self.fell_at = mono
        return out

    def settle(self, now: float, level: Optional[bool] = None) -> list[FilterDecision]:
        """Decide what is due at ``now``; ``level`` is a fresh read used when warm-up ends."""
        if self.warm_until is not None:
            if not _due(now, self.warm_until):
                return []
            self.warm_until = None
            if level is not None:
                self.raw = level
            return self._start_if(self.raw, now)
        if self.fell_at is not None and _due(now, self.fell_at + self.retrigger_s):
            fell_at, self.fell_at, self.motion = self.fell_at, None, False
            return [FilterDecision(LEVEL, fell_at, 0.0)]
        return []

    def next_due(self) -> Optional[float]:
        if self.warm_until is not None:
            return self.warm_until
        if self.fell_at is not None:
            return self.fell_at + self.retrigger_s
        return None

    def _start_if(self, level: bool, mono: float) -> list[FilterDecision]:
        if not level:
            return []
        self.motion = True
        self.fell_at = None
        return [FilterDecision(LEVEL, mono, 1.0)]


class Debouncer:
    """Raw switch levels to stable levels, and chatter to a suspected fault.

    A level is reported once it has been stable for ``debounce_s``, stamped with the
    edge that started it. Chatter is ``chatter_bursts`` separate bursts (a burst starts
    at an edge after a stable period) or ``chatter_edges`` raw edges within
    ``chatter_window_s``: faster than any hand, so a loose wire or failing contact.
    While chattering no levels are reported; after ``chatter_quiet_s`` of a stable
    line the fault clears and the final level is reported if it changed.
    """

    def __init__(
        self,
        debounce_s: float = 0.05,
        chatter_window_s: float = 2.0,
        chatter_bursts: int = 8,
        chatter_edges: int = 50,
        chatter_quiet_s: float = 2.0,
    ):
        if debounce_s < 0 or chatter_window_s <= 0 or chatter_quiet_s < debounce_s:
            raise ValueError("need debounce_s >= 0, chatter_window_s > 0, chatter_quiet_s >= debounce_s")
        if chatter_bursts < 2 or chatter_edges < 2:
            raise ValueError("chatter thresholds must be at least 2")
        self.debounce_s = float(debounce_s)
        self.chatter_window_s = float(chatter_window_s)
        self.chatter_bursts = int(chatter_bursts)
        self.chatter_edges = int(chatter_edges)
        self.chatter_quiet_s = float(chatter_quiet_s)
        self.level = False  # the last reported (stable) level
        self.raw = False
        self.raw_since = 0.0
        self.chattering = False
        self._edges: deque[float] = deque()
        self._bursts: deque[float] = deque()

    warming_up = False
    warm_until = None

    @property
    def reported(self) -> bool:
        return self.level

    def begin(self, level: bool, mono: float) -> list[FilterDecision]:
        self.level = self.raw = level
        self.raw_since = mono
        return []

    def edge(self, level: bool, mono: float) -> list[FilterDecision]:
        out = self.settle(mono)
        if level == self.raw:
            return out
        burst_start = _due(mono, self.raw_since + self.debounce_s)
        self.raw = level
        self.raw_since = mono
        if self.chattering:
            return out
        if self._count(self._edges, mono) >= self.chatter_edges or (
            burst_start and self._count(self._bursts, mono) >= self.chatter_bursts
        ):
            self.chattering = True
            self._edges.clear()
            self._bursts.clear()
            out.append(FilterDecision(FAULT, mono, reason=CHATTER))
        return out

    def _count(self, times: deque[float], mono: float) -> int:
        times.append(mono)
        while times and times[0] <= mono - self.chatter_window_s:
            times.popleft()
        return len(times)

    def settle(self, now: float, level: Optional[bool] = None) -> list[FilterDecision]:
        if self.chattering:
            if not _due(now, self.raw_since + self.chatter_quiet_s):
                return []
            self.chattering = False
            out = [FilterDecision(FAULT, now, reason=None)]
            if self.raw != self.level:
                self.level = self.raw
                out.append(FilterDecision(LEVEL, self.raw_since, float(self.raw)))
            return out
        if self.raw != self.level and _due(now, self.raw_since + self.debounce_s):
            self.level = self.raw
            return [FilterDecision(LEVEL, self.raw_since, float(self.raw))]
        return []

    def next_due(self) -> Optional[float]:
        if self.chattering:
            return self.raw_since + self.chatter_quiet_s
        if self.raw != self.level:
            return self.raw_since + self.debounce_s
        return None


class ButtonFilter:
    """A debounced button: a press is reported at once, a release is not; a press held
    for ``hold_s`` is a hold (reported once per press, stamped when it became one)."""

    def __init__(self, debouncer: Debouncer, hold_s: float = 2.0):
        if hold_s <= 0:
            raise ValueError("hold_s must be positive")
        self.debouncer = debouncer
        self.hold_s = float(hold_s)
        self.pressed_at: Optional[float] = None
        self.held = False

    warming_up = False
    warm_until = None

    @property
    def reported(self) -> bool:
        return self.debouncer.level

    def begin(self, level: bool, mono: float) -> list[FilterDecision]:
        # A button found pressed at start-up is stuck or leaned on, not a fresh press.
        return self.debouncer.begin(level, mono)

    def edge(self, level: bool, mono: float) -> list[FilterDecision]:
        return self._after(self.debouncer.edge(level, mono), mono)

    def settle(self, now: float, level: Optional[bool] = None) -> list[FilterDecision]:
        return self._after(self.debouncer.settle(now), now)

    def next_due(self) -> Optional[float]:
        due = self.debouncer.next_due()
        hold = self._hold_due()
        if hold is not None:
            due = hold if due is None else min(due, hold)
        return due

    def _hold_due(self) -> Optional[float]:
        if self.pressed_at is None or self.held:
            return None
        return self.pressed_at + self.hold_s

    def _after(self, reports: list[FilterDecision], now: float) -> list[FilterDecision]:
        out = []
        for report in reports:
            if report.what != LEVEL:
                out.append(report)
            elif report.value:
                self.pressed_at, self.held = report.mono, False
                out.append(report)
            else:  # released: a hold if it lasted long enough and was not yet reported
                hold_due = self._hold_due()
                if hold_due is not None and _due(report.mono, hold_due):
                    out.append(FilterDecision(HOLD, hold_due))
                self.pressed_at = None
        hold_due = self._hold_due()
        deb = self.debouncer
        if (
            hold_due is not None
            and _due(now, hold_due)
            and deb.level
            and not deb.chattering
            and (deb.raw or _due(deb.raw_since, hold_due))
        ):
            self.held = True
            out.append(FilterDecision(HOLD, hold_due))
        return out
