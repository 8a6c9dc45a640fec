"""Simulated household loads and the mains current-clamp waveform they produce.

Time ``t`` is virtual seconds; ``t = 0`` is local midnight of day 0, so ``t % DAY`` is the
time of day. Loads report watts at a time; :class:`Household` sums them;
:class:`MainsCT` turns the total into the voltage an SCT-013 produces across its burden
resistor (50/60 Hz sine scaled by the RMS current, optional harmonics, Gaussian noise,
biased to mid-rail), ready to wire to an ``ADS1115Sim`` input.

Every random choice comes from a seeded ``random.Random``: a scenario is reproducible.
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass, field
from typing import Iterable, Optional, Protocol, Sequence

import numpy as np

DAY = 86400.0
HOUR = 3600.0
MINUTE = 60.0


class Load(Protocol):
    name: str

    def watts(self, t: float) -> float: ...


@dataclass
class ConstantLoad:
    """Always-on standby: router, clock radio, chargers."""

    name: str
    power: float

    def watts(self, t: float) -> float:
        return self.power


@dataclass(frozen=True)
class Use:
    start: float
    duration: float
    power: float

    @property
    def end(self) -> float:
        return self.start + self.duration


class ScheduledLoad:
    """An appliance a person switches on: explicit uses (start, duration, watts)."""

    def __init__(self, name: str, uses: Iterable[Use]):
        self.name = name
        self.uses = sorted(uses, key=lambda u: u.start)
        for a, b in zip(self.uses, self.uses[1:]):
            if b.start < a.end:
                raise ValueError(f"{name}: uses at {a.start} and {b.start} overlap")
        self._starts = [u.start for u in self.uses]

    @classmethod
    def daily(cls, name: str, *, days: int, at: float, power: float, duration: float, jitter: float = 0.0,
              duration_jitter: float = 0.0, power_jitter: float = 0.0, seed: int = 0,
              skip_probability: float = 0.0) -> "ScheduledLoad":
        """One use a day at time-of-day ``at`` seconds (± ``jitter``), durations and power varied a little."""
        rng = random.Random(seed)
        uses = []
        for day in range(days):
            start = day * DAY + at + rng.uniform(-jitter, jitter)
            dur = max(1.0, duration + rng.uniform(-duration_jitter, duration_jitter))
            pw = power * (1 + rng.uniform(-power_jitter, power_jitter))
            if rng.random() >= skip_probability:
                uses.append(Use(start, dur, pw))
        return cls(name, uses)

    def watts(self, t: float) -> float:
        i = bisect.bisect_right(self._starts, t) - 1
        if i >= 0 and t < self.uses[i].end:
            return self.uses[i].power
        return 0.0

    def intervals(self) -> list[tuple[float, float]]:
        return [(u.start, u.end) for u in self.uses]


class CyclingLoad:
    """A thermostat-driven compressor (fridge/freezer): ON/OFF cycles with jitter, a start-up surge.

    ``period`` is a full ON+OFF cycle, ``duty`` the ON fraction; each cycle's durations
    vary by ±``jitter`` and its running power by ±``power_jitter``. Cycles are generated
    lazily, so any horizon works.
    """

    def __init__(self, name: str = "fridge", *, power: float = 100.0, period: float = 50 * MINUTE,
                 duty: float = 0.35, jitter: float = 0.2, power_jitter: float = 0.08, surge: float = 0.25,
                 surge_seconds: float = 120.0, seed: int = 0, phase: float = 0.0):
        if not 0 < duty < 1:
            raise ValueError("duty must be between 0 and 1")
        self.name = name
        self.power = power
        self.period = period
        self.duty = duty
        self.jitter = jitter
        self.power_jitter = power_jitter
        self.surge = surge
        self.surge_seconds = surge_seconds
        self._rng = random.Random(seed)
        self._starts: list[float] = []
        self._cycles: list[tuple[float, float, float]] = []  # (start, on_seconds, power)
        self._next = phase

    def _extend(self, t: float) -> None:
        while self._next <= t:
            on = self.period * self.duty * (1 + self._rng.uniform(-self.jitter, self.jitter))
            off = self.period * (1 - self.duty) * (1 + self._rng.uniform(-self.jitter, self.jitter))
            pw = self.power * (1 + self._rng.uniform(-self.power_jitter, self.power_jitter))
            self._starts.append(self._next)
            self._cycles.append((self._next, on, pw))
            self._next += on + off

    def watts(self, t: float) -> float:
        self._extend(t)
        i = bisect.bisect_right(self._starts, t) - 1
        if i < 0:
            return 0.0
        start, on, pw = self._cycles[i]
        if t - start >= on:
            return 0.0
        return pw * (1 + self.surge * math.exp(-(t - start) / self.surge_seconds))

    def intervals(self, until: float) -> list[tuple[float, float]]:
        self._extend(until)
        return [(s, s + on) for s, on, _ in self._cycles if s < until]


class SessionLoad:
    """A device a person uses (PC, game console): sessions during which the draw moves to a new
    level every few minutes, ``standby`` watts between sessions.

    ``sessions`` are (start, end) seconds; within one, the level is redrawn uniformly in
    ``levels`` every ``change_s`` (uniform range) seconds. A PC's load follows what is on the
    screen; a compressor's does not.
    """

    def __init__(self, name: str, sessions: Iterable[tuple[float, float]], *,
                 levels: tuple[float, float] = (60.0, 140.0), standby: float = 2.0,
                 change_s: tuple[float, float] = (2 * MINUTE, 7 * MINUTE), seed: int = 0):
        self.name = name
        self.standby = standby
        self.sessions = sorted(sessions)
        rng = random.Random(seed)
        self._times: list[float] = []
        self._watts: list[float] = []
        for a, b in self.sessions:
            if self._times and a < self._times[-1]:
                raise ValueError(f"{name}: sessions overlap at {a}")
            t = a
            while t < b:
                self._times.append(t)
                self._watts.append(rng.uniform(*levels))
                t += rng.uniform(*change_s)
            self._times.append(b)
            self._watts.append(standby)

    def watts(self, t: float) -> float:
        i = bisect.bisect_right(self._times, t) - 1
        return self._watts[i] if i >= 0 else self.standby

    def intervals(self) -> list[tuple[float, float]]:
        return list(self.sessions)


def pc(days: float, *, on_hours: tuple[float, float] = (1.0, 4.0), off_hours: tuple[float, float] = (0.5, 3.0),
       first: float = 0.0, seed: int = 4, **options) -> SessionLoad:
    """A PC used in sessions of 1-4 h with 0.5-3 h breaks, day and night (~14 h a day), 60-140 W."""
    rng = random.Random(seed)
    sessions, t = [], first
    while t < days * DAY:
        end = t + rng.uniform(*on_hours) * HOUR
        sessions.append((t, min(end, days * DAY)))
        t = end + rng.uniform(*off_hours) * HOUR
    return SessionLoad("pc", sessions, seed=seed, **options)


def kettle(days: int, *, at: float = 7.5 * HOUR, power: float = 2200.0, seed: int = 1) -> ScheduledLoad:
    """A kettle boiled at breakfast: 2–3 kW for about three minutes."""
    return ScheduledLoad.daily("kettle", days=days, at=at, power=power, duration=3 * MINUTE, jitter=20 * MINUTE,
                               duration_jitter=40.0, power_jitter=0.05, seed=seed)


def microwave(days: int, *, at: float = 12.5 * HOUR, power: float = 1100.0, seed: int = 2) -> ScheduledLoad:
    return ScheduledLoad.daily("microwave", days=days, at=at, power=power, duration=3 * MINUTE,
                               jitter=30 * MINUTE, duration_jitter=60.0, seed=seed)


def television(days: int, *, at: float = 19.5 * HOUR, power: float = 90.0, seed: int = 3) -> ScheduledLoad:
    return ScheduledLoad.daily("tv", days=days, at=at, power=power, duration=2.5 * HOUR, jitter=30 * MINUTE,
                               duration_jitter=40 * MINUTE, power_jitter=0.1, seed=seed)


def router(power: float = 8.0) -> ConstantLoad:
    return ConstantLoad("router", power)


@dataclass
class Household:
    """The loads on one mains cable: what a clamp around it sees."""

    loads: Sequence[Load] = field(default_factory=list)

    def watts(self, t: float) -> float:
        return sum(load.watts(t) for load in self.loads)


class MainsCT:
    """The burden voltage of an SCT-013 (``ct_ratio`` turns) around a cable carrying ``source``'s current.

    ``volts(t)`` is what the ADC input sees: ``bias + i_secondary(t)·R_burden + noise``.
    The current is ``watts/mains_volts`` RMS (unity power factor), shaped as a sine of
    ``frequency`` plus optional ``harmonics`` ``{order: fraction}``, normalised so the RMS
    is exact. The load envelope is re-evaluated every ``envelope_seconds`` (loads change
    on a scale of seconds, the waveform in milliseconds).
    """

    def __init__(self, source: Load | Household, *, mains_volts: float = 230.0, frequency: float = 50.0,
                 ct_ratio: float = 2000.0, burden_ohms: float = 22.0, bias_volts: float = 1.65,
                 noise_amps: float = 0.03, harmonics: Optional[dict[int, float]] = None, seed: int = 0,
                 envelope_seconds: float = 0.1, phase: float = 0.0):
        self.source = source
        self.mains_volts = mains_volts
        self.frequency = frequency
        self.ct_ratio = ct_ratio
        self.burden_ohms = burden_ohms
        self.bias_volts = bias_volts
        self.noise_amps = noise_amps
        self.harmonics = dict(harmonics or {})
        self.phase = phase
        self.envelope_seconds = envelope_seconds
        self._rng = random.Random(seed)
        self._norm = 1.0 / math.sqrt(1.0 + sum(h * h for h in self.harmonics.values()))
        self._gain = burden_ohms / ct_ratio  # primary amps -> burden volts
        self._slot: Optional[int] = None
        self._amps = 0.0

    def amps_rms(self, t: float) -> float:
        slot = int(t // self.envelope_seconds)
        if slot != self._slot:
            self._slot = slot
            self._amps = self.source.watts(t) / self.mains_volts
        return self._amps

    def _shape(self, t: float) -> float:
        w = 2.0 * math.pi * self.frequency * t + self.phase
        s = math.sin(w)
        for order, fraction in self.harmonics.items():
            s += fraction * math.sin(order * w)
        return s * self._norm

    def primary_amps(self, t: float) -> float:
        """Instantaneous primary current, without noise."""
        return math.sqrt(2.0) * self.amps_rms(t) * self._shape(t)

    def volts(self, t: float) -> float:
        noise = self._rng.gauss(0.0, self.noise_amps) if self.noise_amps else 0.0
        return self.bias_volts + (self.primary_amps(t) + noise) * self._gain

    def reference(self, t: float) -> float:
        """The mid-rail bias, for the ADC's negative input."""
        return self.bias_volts

    def sample(self, times: np.ndarray) -> np.ndarray:
        """Vectorised ``volts`` for analysis in tests (noise drawn from a seeded numpy generator)."""
        times = np.asarray(times, dtype=float)
        amps = np.array([self.source.watts(float(t)) for t in times]) / self.mains_volts
        w = 2.0 * np.pi * self.frequency * times + self.phase
        shape = np.sin(w)
        for order, fraction in self.harmonics.items():
            shape = shape + fraction * np.sin(order * w)
        noise = np.random.default_rng(self._rng.randrange(2**32)).normal(0.0, self.noise_amps, times.shape) \
            if self.noise_amps else 0.0
        return self.bias_volts + (np.sqrt(2.0) * amps * shape * self._norm + noise) * self._gain
