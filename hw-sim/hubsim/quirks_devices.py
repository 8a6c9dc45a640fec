"""Sensor quirks of real flats: devices that report something other than what the person did.

Why: the hub was fooled in a real home it had never seen by a bed mat held ON all day, a
seat mat that only sends ~1 s pulses, stray pulses while nobody was home (issue 15). The
scripted resident must be able to live with the same devices so the detector's answers to
them can be tested and benchmarked with the ground truth known.

Each quirk is a scenario object passed to ``Resident.days()`` like ``pir_dies``. It
rewrites what *one* sensor reports, and only inside its span: the person's life (and every
other sensor) is untouched, and the same seed gives the same events. It works on the
sensor's on-intervals (``[start, end]``, end None = held), after the day is rendered (and
after a collapse cut it) and before a dead sensor is silenced. The resident adds a marker
``sensor_quirk`` over the span, detail ``"<reason>:<sensor>"``:

====================  =========  ===============================================================
constructor           reason     what the sensor reports
====================  =========  ===============================================================
``mat_stuck``         stuck      ON throughout the span, whatever happens (a stuck mat or contact)
``mat_pulses``        pulses     a ~1 s pulse when the person sits down and now and then while
                                 seated; nothing while they sit still (a pulse-only seat mat)
``reed_inverted``     inverted   1 while the door is shut, 0 while it is open, from a time on
``mat_inverted``      inverted   ON while nobody is on the mat, OFF while someone is, from a time on
``pir_chatters``      chatter    bursts of rapid 1 s toggles on top of what it sees
``door_missed``       missed     the return at the end of one absence is not recorded
``stray_pulses``      stray      a few pulses while nobody is home (one absence)
====================  =========  ===============================================================
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import ClassVar, Optional, Sequence, Union

from hubd.events import Kind, format_local

from .simtime import DAY, HOUR, TimeLike, positive, to_local

_INF = math.inf
BINARY = frozenset({Kind.MOTION, Kind.PRESENCE, Kind.DOOR, Kind.ENTRANCE})
Span = tuple[float, float]  # [start, end); end inf: to the end of the run


@dataclass(frozen=True)
class QuirkContext:
    """What a quirk may know about the run: the seed, the rendered span, the person's
    absences (time-ordered ``(left, back)``), when a collapse stopped the person (inf: never),
    how long the flat's PIRs hold their output and each sensor's kind."""

    seed: int
    horizon: Span
    absences: tuple[Span, ...] = ()
    person_stops: float = _INF
    pir_hold_s: float = 8.0
    kinds: dict = field(default_factory=dict, hash=False, compare=False)


class _Quirk:
    """Base of the quirks: which sensor kinds it fits, its span, and the rewrite."""

    reason: ClassVar[str] = ""
    kinds: ClassVar[frozenset] = BINARY
    sensor: str

    def check(self, kinds: dict[str, Kind]) -> None:
        kind = kinds.get(self.sensor)
        if kind is None:
            raise ValueError(f"{self.reason}: no sensor {self.sensor!r} in this flat")
        if kind not in self.kinds:
            fits = ", ".join(sorted(k.label for k in self.kinds))
            raise ValueError(f"{self.reason}: {self.sensor!r} is a {kind.label} sensor; this quirk fits {fits}")

    def span(self, ctx: QuirkContext) -> Span:
        raise NotImplementedError

    def apply(self, intervals: list[list], span: Span, ctx: QuirkContext) -> list[list]:
        """The sensor's merged on-intervals rewritten inside ``span`` (the caller merges again)."""
        raise NotImplementedError

    def rng(self, ctx: QuirkContext, span: Span) -> random.Random:
        return random.Random(f"{ctx.seed}/quirk/{self.reason}/{self.sensor}/{int(span[0])}")


def _open_span(start: Optional[float], hours: Optional[float], ctx: QuirkContext) -> Span:
    a = ctx.horizon[0] if start is None else start
    return a, (_INF if hours is None else a + hours * HOUR)


def _pulses(t: float, end: float, every_s: float, rng: random.Random, length: float = 1.0) -> list[list]:
    """Whole-second pulses from ``t`` until ``end``, about ``every_s`` apart and never touching."""
    out = []
    t = round(t)
    while t + length < end:
        out.append([t, t + length])
        t = round(t + length + 1 + rng.expovariate(1.0 / every_s))
    return out


def _split_at_span(intervals: list[list], span: Span) -> tuple[list[list], list[tuple[float, float]]]:
    """On-intervals cut at the span's edges: (the parts outside the span, and the (start, end)
    of each interval reaching into it, unclipped; end inf for one still on)."""
    a, b = span
    out, overlapping = [], []
    for s, e in intervals:
        end = _INF if e is None else e
        if end <= a or s >= b:
            out.append([s, e])
            continue
        if s < a:
            out.append([s, a])
        if end > b:
            out.append([b, e])
        overlapping.append((s, end))
    return out, overlapping


@dataclass(frozen=True)
class _ForHours(_Quirk):
    """A quirk that lasts ``hours`` from ``start``."""

    sensor: str
    start: float
    hours: float

    def span(self, ctx: QuirkContext) -> Span:
        return self.start, self.start + self.hours * HOUR


@dataclass(frozen=True)
class MatStuck(_ForHours):
    reason: ClassVar[str] = "stuck"

    def apply(self, intervals, span, ctx):
        return intervals + [[span[0], span[1]]]


@dataclass(frozen=True)
class MatPulses(_Quirk):
    reason: ClassVar[str] = "pulses"
    kinds: ClassVar[frozenset] = frozenset({Kind.PRESENCE})
    sensor: str
    start: Optional[float] = None
    hours: Optional[float] = None
    shift_every_min: float = 25.0

    def span(self, ctx: QuirkContext) -> Span:
        return _open_span(self.start, self.hours, ctx)

    def apply(self, intervals, span, ctx):
        """Inside the span a hold becomes its pulses; a hold running across an edge of the span is
        held outside it as before (it falls at the span's start, and is ON again at its end)."""
        a, b = span
        out, overlapping = _split_at_span(intervals, span)
        for s, end in overlapping:
            rng = random.Random(f"{ctx.seed}/quirk/pulses/{self.sensor}/{int(s)}")
            every = self.shift_every_min * 60.0
            seated_until = min(end, b, ctx.person_stops, ctx.horizon[1])  # a collapsed person does not shift
            if s >= a:
                out.append([s, s + 1])  # sitting down
            first = max(s + 1, a) + 1 + rng.expovariate(1.0 / every)
            out += _pulses(first, seated_until - 1, every, rng)  # shifting now and then
        return out


@dataclass(frozen=True)
class ReedInverted(_Quirk):
    reason: ClassVar[str] = "inverted"
    kinds: ClassVar[frozenset] = frozenset({Kind.ENTRANCE, Kind.DOOR})
    sensor: str
    start: float
    hours: Optional[float] = None

    def span(self, ctx: QuirkContext) -> Span:
        return _open_span(self.start, self.hours, ctx)

    def apply(self, intervals, span, ctx):
        a, b = span
        out, overlapping = _split_at_span(intervals, span)
        inside = [(max(s, a), min(end, b)) for s, end in overlapping]
        t = a
        for s, end in sorted(inside):
            if s > t:
                out.append([t, s])
            t = max(t, end)
        if t < b:
            out.append([t, None if b == _INF else b])
        return out


@dataclass(frozen=True)
class MatInverted(ReedInverted):
    """A mat wired the wrong way round: the same complement of its on-intervals as a reed's."""

    kinds: ClassVar[frozenset] = frozenset({Kind.PRESENCE})


@dataclass(frozen=True)
class PirChatters(_ForHours):
    reason: ClassVar[str] = "chatter"
    bursts_per_hour: float = 6.0

    def apply(self, intervals, span, ctx):
        a, b = span
        rng = self.rng(ctx, span)
        out = list(intervals)
        t = a
        while True:
            t += rng.expovariate(self.bursts_per_hour / HOUR)
            length = rng.uniform(20.0, 120.0)
            if t + length >= b:
                return out
            out += _pulses(t, t + length, 1.0, rng)


def _absence(ctx: QuirkContext, after: float, ends: bool, min_s: float = 0.0) -> Span:
    for left, back in ctx.absences:
        if ends and after <= back < min(ctx.horizon[1], ctx.person_stops):
            return left, back
        if not ends and left >= after and back - left >= min_s:
            return left, back
    raise LookupError


@dataclass(frozen=True)
class DoorMissed(_Quirk):
    reason: ClassVar[str] = "missed"
    kinds: ClassVar[frozenset] = frozenset({Kind.ENTRANCE})
    sensor: str
    after: float
    window_s: ClassVar[float] = 60.0  # the door opens and shuts within this of the return

    def span(self, ctx: QuirkContext) -> Span:
        try:
            _, back = _absence(ctx, self.after, ends=True)
        except LookupError:
            raise ValueError(f"door_missed: the person never comes home after {format_local(self.after)}") from None
        return back - 1, back + self.window_s

    def apply(self, intervals, span, ctx):
        return [[s, e] for s, e in intervals if not span[0] <= s < span[1]]


@dataclass(frozen=True)
class StrayPulses(_Quirk):
    reason: ClassVar[str] = "stray"
    kinds: ClassVar[frozenset] = frozenset({Kind.PRESENCE, Kind.MOTION})
    sensor: str
    after: float
    n: int = 2
    min_absence_s: ClassVar[float] = 15 * 60.0

    def span(self, ctx: QuirkContext) -> Span:
        try:
            return _absence(ctx, self.after, ends=False, min_s=self.min_absence_s)
        except LookupError:
            raise ValueError(f"stray_pulses: no absence of 15 min or more starts after {format_local(self.after)}") from None

    def apply(self, intervals, span, ctx):
        left, back = span
        rng = self.rng(ctx, span)
        length = max(ctx.pir_hold_s, 1.0) if ctx.kinds.get(self.sensor) is Kind.MOTION else 1.0
        t = round(left + rng.uniform(0.25, 0.55) * (back - left))
        out = list(intervals)
        for _ in range(self.n):
            if t + length >= back - 60:
                break
            out.append([t, t + length])  # a PIR's stray trigger holds like any other
            t = round(t + length + rng.uniform(30.0, 300.0))
        return out


DeviceQuirk = Union[MatStuck, MatPulses, ReedInverted, MatInverted, PirChatters, DoorMissed, StrayPulses]
QUIRK_TYPES = (MatStuck, MatPulses, ReedInverted, MatInverted, PirChatters, DoorMissed, StrayPulses)


def _maybe(when: Optional[TimeLike]) -> Optional[float]:
    return None if when is None else to_local(when)


def mat_stuck(sensor: str, start: TimeLike, hours: float) -> MatStuck:
    """``sensor`` (a mat, or any contact) reads ON from ``start`` for ``hours``, whatever happens."""
    return MatStuck(sensor, to_local(start), positive("hours", hours))


def mat_pulses(sensor: str, start: Optional[TimeLike] = None, hours: Optional[float] = None,
               shift_every_min: float = 25.0) -> MatPulses:
    """The seat mat ``sensor`` only pulses (~1 s) when the person sits down and when they shift
    (about every ``shift_every_min`` while seated); sitting still sends nothing. From ``start``
    (default: the first day) for ``hours`` (default: to the end)."""
    return MatPulses(sensor, _maybe(start), None if hours is None else positive("hours", hours),
                     positive("shift_every_min", shift_every_min))


def reed_inverted(sensor: str, start: TimeLike, hours: Optional[float] = None) -> ReedInverted:
    """The door contact ``sensor`` reads 1 while shut and 0 while open from ``start`` (a magnet
    fitted the wrong way round, or a normally-closed reed on a normally-open input)."""
    return ReedInverted(sensor, to_local(start), None if hours is None else positive("hours", hours))


def mat_inverted(sensor: str, start: TimeLike, hours: Optional[float] = None) -> MatInverted:
    """The mat ``sensor`` reads ON while nobody is on it and OFF while someone is, from ``start``
    (wired to the wrong contact: the unseen mat home's bed mat, "held" from getting up to bedtime)."""
    return MatInverted(sensor, to_local(start), None if hours is None else positive("hours", hours))


def pir_chatters(sensor: str, start: TimeLike, hours: float, bursts_per_hour: float = 6.0) -> PirChatters:
    """``sensor`` chatters from ``start`` for ``hours``: bursts (20–120 s, about
    ``bursts_per_hour``) of 1 s pulses 1 s+ apart, on top of what it really sees."""
    return PirChatters(sensor, to_local(start), positive("hours", hours), positive("bursts_per_hour", bursts_per_hour))


def door_missed(sensor: str, after: TimeLike) -> DoorMissed:
    """The entrance ``sensor`` misses the return that ends the first absence ending after
    ``after``: the person is home again but the door never said so."""
    return DoorMissed(sensor, to_local(after))


def stray_pulses(sensor: str, after: TimeLike, n: int = 2) -> StrayPulses:
    """``n`` stray pulses of ``sensor`` (a mat, or a PIR for its hold time) while nobody is home:
    in the first absence of 15 min or more that starts after ``after``, from a quarter of
    the way into it, 30 s to 5 min apart."""
    if int(n) < 1:
        raise ValueError(f"n must be at least 1, got {n!r}")
    return StrayPulses(sensor, to_local(after), int(n))


# One of each quirk at a fixed moment of a run, by name (``hubd sim --quirk NAME``, benchmarks):
# name -> (what it does, maker(first_day, focus)) with local seconds: ``first_day`` the run's
# first midnight, ``focus`` the moment the run is about (``hubd sim``: its live morning, 06:00).
PRESETS = {
    "mat-stuck": ("the bed mat is stuck ON from the focus for 24 h",
                  lambda first_day, focus: mat_stuck("bed", focus, 24)),
    "seat-pulses": ("the sofa mat only pulses (sitting down, shifting), all along",
                    lambda first_day, focus: mat_pulses("sofa")),
    "reed-inverted": ("the front-door reed reads shut as open from day 3",
                      lambda first_day, focus: reed_inverted("front_door", first_day + 2 * DAY)),
    "mat-inverted": ("the bed mat reads empty as occupied from day 3",
                     lambda first_day, focus: mat_inverted("bed", first_day + 2 * DAY)),
    "pir-chatter": ("the kitchen PIR chatters for 3 h from the focus",
                    lambda first_day, focus: pir_chatters("kitchen_pir", focus, 3)),
    "door-missed": ("the front door misses the return from the first absence ending after day 1",
                    lambda first_day, focus: door_missed("front_door", first_day + DAY)),
    "stray-pulses": ("two stray sofa pulses in the first absence of 15 min+ after day 1",
                     lambda first_day, focus: stray_pulses("sofa", first_day + DAY)),
}


def apply_quirks(sensor: str, intervals: list[list], planned: Sequence[tuple[_Quirk, Span]],
                 ctx: QuirkContext, merge) -> list[list]:
    """``intervals`` of ``sensor`` with each of its quirks applied in turn (``merge`` tidies)."""
    for quirk, span in planned:
        if quirk.sensor == sensor:
            intervals = merge(quirk.apply(intervals, span, ctx))
    return intervals
