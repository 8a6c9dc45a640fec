"""Sensor faults injected into a normal-life log: the test corpus of issue 15.

Each quirk is a pure, seeded function ``EventBatch -> EventBatch``: the same log and seed
give the same faulty log. Every quirk keeps the events in time order and keeps each binary
sensor's values alternating 1, 0, 1, ... (a faulty sensor still reports changes of state;
it reports the wrong ones). The faults are the ones met in real homes (issue 15):

* :func:`stuck_presence` — a presence mat stuck ON for a day (a mat that "held" all day while
  the front door showed the resident out). A home without a mat gets one that is stuck.
* :func:`pulse_only_seat` — a seat mat that only pulses: each held interval becomes a ~1 s
  pulse at its start, plus one pulse at a random moment while sitting.
* :func:`inverted_entrance` — the entrance reed wired the wrong way round: every value flipped.
* :func:`inverted_presence` — a mat wired the wrong way round from installation (a bed mat by
  preference): "held" from getting up until lying down, every day, the time out included.
* :func:`chattering_pir` — a PIR that chatters: bursts of rapid toggles lasting hours. A
  home without a PIR gets one that only chatters.
* :func:`missed_return_door` — the door events of the return from one absence are lost.
* :func:`stray_pulses` — two stray pulses (a presence, else motion, else contact sensor)
  minutes apart inside an absence.

:func:`target_sensor` names the sensor a quirk acts on (tests and the fault corpus use it
to ask for the right ``sensor_fault``); :func:`absences` is the absence inference the last
two quirks rely on (entrance, then at least ``min_minutes`` with no inside activity, then
the entrance again).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from hubd.events import EventBatch, Kind

HOUR, DAY, MIN = 3600.0, 86400.0, 60.0
MOTION, PRESENCE, DOOR, ENTRANCE = int(Kind.MOTION), int(Kind.PRESENCE), int(Kind.DOOR), int(Kind.ENTRANCE)
SEAT_WORDS = ("seat", "chair", "couch", "sofa")
ADDED = {"stuck_presence": "stuck_mat", "chattering_pir": "chatter_pir", "stray_pulses": "stray_pir"}


class QuirkNotApplicable(ValueError):
    """The log has nothing this quirk can act on (e.g. no seat mat to turn pulse-only)."""


@dataclass(frozen=True)
class Absence:
    leave: float  # last entrance event of the leaving
    back: float  # first entrance event of the return
    returned_at: float  # first inside activity after the return
    return_events: tuple[int, ...]  # row indices of the return's entrance events


# ----------------------------------------------------------------------------- the quirks
def stuck_presence(batch: EventBatch, seed: int = 0, hours: float = 24.0, sensor: str | None = None) -> EventBatch:
    """A presence mat stuck ON for ``hours`` from a random moment after day 3."""
    rng = np.random.default_rng(seed)
    name = sensor or target_sensor("stuck_presence", batch, seed)
    lo, hi = batch.mono[0] + 3 * DAY, batch.mono[-1] - hours * HOUR
    a = rng.uniform(lo, max(lo, hi))
    return _override(batch, name, PRESENCE, a, a + hours * HOUR, np.array([a]), start_value=1.0)


def pulse_only_seat(batch: EventBatch, seed: int = 0, pulse_s: float = 1.0, sensor: str | None = None) -> EventBatch:
    """Each held interval of a seat mat becomes a pulse at its start and one at random while sitting."""
    rng = np.random.default_rng(seed)
    name = sensor or target_sensor("pulse_only_seat", batch, seed)
    sid = batch.sensors.index(name)
    rows = np.flatnonzero(batch.sensor == sid)
    times, values = batch.mono[rows], batch.value[rows]
    starts = np.flatnonzero(values > 0)
    pulses = []
    for k in starts:
        on = times[k]
        off = times[k + 1] if k + 1 < len(times) else batch.mono[-1]
        pulses.append(on)
        if off - on > 4 * pulse_s + 2.0:
            pulses.append(rng.uniform(on + 2 * pulse_s + 1.0, off - 2 * pulse_s - 1.0))
    pulses = _spaced(np.sort(np.array(pulses, dtype=np.float64)), 2 * pulse_s)  # each pulse ends before the next
    keep = batch.sensor != sid
    add_t = np.concatenate([pulses, pulses + pulse_s])
    add_v = np.concatenate([np.ones(pulses.size), np.zeros(pulses.size)])
    return _rebuild(batch, keep, add_t, np.full(add_t.size, sid), np.full(add_t.size, PRESENCE), add_v, batch.sensors)


def inverted_entrance(batch: EventBatch, sensor: str | None = None) -> EventBatch:
    """The entrance reed reads the wrong way round: every value of it flipped."""
    return _flipped(batch, sensor or target_sensor("inverted_entrance", batch))


def _flipped(batch: EventBatch, name: str) -> EventBatch:
    """``batch`` with every value of binary sensor ``name`` flipped."""
    sid = batch.sensors.index(name)
    value = batch.value.copy()
    mine = batch.sensor == sid
    value[mine] = np.where(value[mine] > 0, 0.0, 1.0)
    return EventBatch(batch.mono.copy(), batch.local.copy(), batch.kind.copy(), batch.sensor.copy(), value,
                      batch.sensors)


def inverted_presence(batch: EventBatch, seed: int = 0, sensor: str | None = None) -> EventBatch:
    """A presence mat that reads the wrong way round from the start: every value of it flipped."""
    return _flipped(batch, sensor or target_sensor("inverted_presence", batch, seed))


def chattering_pir(batch: EventBatch, seed: int = 0, bursts: int = 3, hours: tuple[float, float] = (2.0, 4.0),
                   mean_gap_s: float = 5.0, sensor: str | None = None) -> EventBatch:
    """``bursts`` spells of rapid toggles (mean ``mean_gap_s`` apart), each lasting ``hours``,
    on different days after day 3."""
    rng = np.random.default_rng(seed)
    name = sensor or target_sensor("chattering_pir", batch, seed)
    first_day, last_day = 3, max(3, int((batch.mono[-1] - batch.mono[0] - max(hours) * HOUR) // DAY))
    days = rng.choice(np.arange(first_day, last_day + 1), size=min(bursts, last_day - first_day + 1), replace=False)
    out = batch
    for d in np.sort(days):
        a = batch.mono[0] + d * DAY + rng.uniform(0, DAY - max(hours) * HOUR)
        b = a + rng.uniform(*hours) * HOUR
        toggles = a + np.cumsum(rng.exponential(mean_gap_s, int(3 * (b - a) / mean_gap_s) + 10))
        out = _override(out, name, MOTION, a, b, toggles[toggles < b], start_value=None)
    return out


def missed_return_door(batch: EventBatch, seed: int = 0) -> EventBatch:
    """The entrance events of the return from one absence (chosen at random) are lost."""
    rng = np.random.default_rng(seed)
    found = [a for a in absences(batch) if len(a.return_events) % 2 == 0]
    if not found:
        raise QuirkNotApplicable("no absence with a whole return (open and close) through the entrance")
    chosen = found[int(rng.integers(len(found)))]
    keep = np.ones(len(batch), dtype=bool)
    keep[list(chosen.return_events)] = False
    return _rebuild(batch, keep, *_nothing(), batch.sensors)


def stray_pulses(batch: EventBatch, seed: int = 0, n: int = 2, pulse_s: float = 1.0) -> EventBatch:
    """``n`` pulses of one inside sensor, 1-5 min apart, inside an absence of at least 2 h."""
    rng = np.random.default_rng(seed)
    found = [a for a in absences(batch) if a.back - a.leave >= 2 * HOUR]
    if not found:
        raise QuirkNotApplicable("no absence of 2 h or more")
    chosen = found[int(rng.integers(len(found)))]
    t1 = rng.uniform(chosen.leave + 20 * MIN, chosen.back - 40 * MIN)
    times = t1 + np.concatenate([[0.0], np.cumsum(rng.uniform(1, 5, n - 1) * MIN)])
    name = target_sensor("stray_pulses", batch, seed, at=(times[0], times[-1] + pulse_s))
    names = batch.sensors if name in batch.sensors else batch.sensors + (name,)
    sid = names.index(name)
    kind = int(batch.kind[batch.sensor == sid][0]) if name in batch.sensors else MOTION
    add_t = np.concatenate([times, times + pulse_s])
    add_v = np.concatenate([np.ones(n), np.zeros(n)])
    return _rebuild(batch, np.ones(len(batch), dtype=bool), add_t, np.full(add_t.size, sid),
                    np.full(add_t.size, kind), add_v, names)


QUIRKS: dict[str, Callable[..., EventBatch]] = {
    "stuck_mat": stuck_presence,
    "pulse_seat": pulse_only_seat,
    "inverted_reed": inverted_entrance,
    "inverted_mat": inverted_presence,
    "chatter_pir": chattering_pir,
    "missed_door": missed_return_door,
    "stray_pulses": stray_pulses,
}


def apply(name: str, batch: EventBatch, seed: int = 0) -> EventBatch:
    """Apply the quirk called ``name`` in :data:`QUIRKS` (raises QuirkNotApplicable)."""
    fn = QUIRKS[name]
    return fn(batch) if fn is inverted_entrance else fn(batch, seed=seed)


# ----------------------------------------------------------------------------- choices
def target_sensor(quirk: str, batch: EventBatch, seed: int = 0, at: tuple[float, float] | None = None) -> str:
    """The sensor a quirk acts on (a name that may be new to the log for the ones that add a sensor)."""
    rng = np.random.default_rng(seed)
    kinds = {s: int(batch.kind[np.argmax(batch.sensor == i)]) for i, s in enumerate(batch.sensors)
             if np.any(batch.sensor == i)}
    of = lambda k: sorted(s for s, kd in kinds.items() if kd == k)  # noqa: E731
    if quirk == "stuck_presence":
        mats = of(PRESENCE)
        return mats[int(rng.integers(len(mats)))] if mats else ADDED[quirk]
    if quirk == "inverted_presence":
        mats = of(PRESENCE)
        if not mats:
            raise QuirkNotApplicable("no presence mat")
        beds = [s for s in mats if "bed" in s.lower()]
        return (beds or mats)[int(rng.integers(len(beds or mats)))]
    if quirk == "pulse_only_seat":
        seats = [s for s in of(PRESENCE) if any(w in s.lower() for w in SEAT_WORDS)]
        if not seats:
            raise QuirkNotApplicable("no seat mat (a presence sensor named seat/chair/couch/sofa)")
        return seats[0]
    if quirk == "inverted_entrance":
        doors = of(ENTRANCE)
        if not doors:
            raise QuirkNotApplicable("no entrance sensor")
        return doors[0]
    if quirk == "chattering_pir":
        pirs = of(MOTION)
        return pirs[int(rng.integers(len(pirs)))] if pirs else ADDED[quirk]
    if quirk == "stray_pulses":
        for k in (PRESENCE, MOTION, DOOR):
            free = [s for s in of(k) if at is None or _state_at(batch, s, at[0]) == 0 == _state_at(batch, s, at[1])]
            if free:
                return free[0]
        return ADDED[quirk]
    raise KeyError(quirk)


def absences(batch: EventBatch, min_minutes: float = 30.0, cluster_minutes: float = 10.0) -> list[Absence]:
    """Absences in hindsight: entrance events, then at least ``min_minutes`` with no inside
    activity (an inside event other than a motion or presence release), then entrance events
    again (the return) before the next inside activity."""
    entrance = np.isin(batch.kind, [ENTRANCE])
    release = np.isin(batch.kind, [MOTION, PRESENCE]) & (batch.value <= 0)
    inside = np.flatnonzero(~entrance & ~release & (batch.kind != int(Kind.APPLIANCE)))
    out = []
    doors = np.flatnonzero(entrance)
    if doors.size == 0:
        return out
    ins_t = batch.mono[inside]
    k = 0
    while k < doors.size:
        t = batch.mono[doors[k]]
        nxt = np.searchsorted(ins_t, t, side="right")
        u = ins_t[nxt] if nxt < ins_t.size else np.inf
        group = doors[(batch.mono[doors] >= t) & (batch.mono[doors] < u)]
        k = int(np.searchsorted(doors, group[-1], side="right"))
        if not np.isfinite(u) or u - t < min_minutes * MIN:
            continue
        gt = batch.mono[group]
        leave_n = int(np.count_nonzero(gt <= t + cluster_minutes * MIN))
        back = group[leave_n:]
        if back.size and batch.mono[back[0]] - gt[leave_n - 1] >= min_minutes * MIN:
            out.append(Absence(float(gt[leave_n - 1]), float(batch.mono[back[0]]), float(u),
                               tuple(int(i) for i in back)))
    return out


# ----------------------------------------------------------------------------- plumbing
def _state_at(batch: EventBatch, name: str, t: float) -> float:
    """A binary sensor's value after its last event at or before ``t`` (0 before any)."""
    if name not in batch.sensors:
        return 0.0
    rows = np.flatnonzero(batch.sensor == batch.sensors.index(name))
    k = np.searchsorted(batch.mono[rows], t, side="right") - 1
    return float(batch.value[rows[k]] > 0) if k >= 0 else 0.0


def _override(batch: EventBatch, name: str, kind: int, a: float, b: float, toggles: np.ndarray,
              start_value: float | None) -> EventBatch:
    """Replace ``name``'s events in [a, b] by changes of state at ``toggles`` (alternating from
    the state before ``a``; ``start_value`` 1.0 = the first toggle switches ON and it stays ON),
    then return to the state the sensor had at ``b``, so alternation holds throughout."""
    names = batch.sensors if name in batch.sensors else batch.sensors + (name,)
    sid = names.index(name)
    before, after = _state_at(batch, name, a - 1e-9), _state_at(batch, name, b)
    keep = ~((batch.sensor == sid) & (batch.mono >= a) & (batch.mono <= b)) if name in batch.sensors \
        else np.ones(len(batch), dtype=bool)
    if start_value is not None:  # one change to start_value at a (if not already there), held to b
        toggles = toggles[:0] if before == start_value else toggles[:1]
        state = start_value
    else:
        state = (before + len(toggles)) % 2
    values = (before + 1 + np.arange(len(toggles))) % 2 if start_value is None else np.full(len(toggles), start_value)
    t_add, v_add = list(toggles), list(values)
    if state != after:
        t_add.append(b)
        v_add.append(after)
    t_add = np.array(t_add, dtype=np.float64)
    return _rebuild(batch, keep, t_add, np.full(t_add.size, sid), np.full(t_add.size, kind),
                    np.array(v_add, dtype=np.float64), names)


def _spaced(times: np.ndarray, gap: float) -> np.ndarray:
    """The sorted ``times`` without those closer than ``gap`` to the last one kept."""
    kept, last = [], -np.inf
    for t in times:
        if t - last >= gap:
            kept.append(t)
            last = t
    return np.array(kept, dtype=np.float64)


def _nothing():
    z = np.zeros(0)
    return z, z.astype(np.int64), z.astype(np.int64), z


def _rebuild(batch: EventBatch, keep: np.ndarray, add_t, add_s, add_k, add_v, names: tuple[str, ...]) -> EventBatch:
    """The kept rows plus the added ones, in time order (a kept row before an added one at the
    same time); an added row's local time is that of the last kept row before it, advanced."""
    mono = np.concatenate([batch.mono[keep], np.asarray(add_t, dtype=np.float64)])
    idx = np.clip(np.searchsorted(batch.mono, add_t, side="right") - 1, 0, len(batch) - 1)
    add_local = batch.local[idx] + (np.asarray(add_t, dtype=np.float64) - batch.mono[idx])
    local = np.concatenate([batch.local[keep], add_local])
    kind = np.concatenate([batch.kind[keep], np.asarray(add_k, dtype=np.int64)])
    sensor = np.concatenate([batch.sensor[keep], np.asarray(add_s, dtype=np.int64)])
    value = np.concatenate([batch.value[keep], np.asarray(add_v, dtype=np.float64)])
    order = np.argsort(mono, kind="stable")
    return EventBatch(mono[order], local[order], kind[order].astype(np.int64), sensor[order].astype(np.int64),
                      value[order], tuple(names))
