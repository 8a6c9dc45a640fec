"""A resident's days as events, small and exact, for the rhythm record and drift tests."""

from __future__ import annotations

from hubd.events import Event, Kind

DAY, HOUR, MIN = 86400.0, 3600.0, 60.0
DAY0 = 19723  # 2024-01-01


def day_events(day: int, *, wake: float = 7.0, bed: float = 23.0, out: tuple[float, float] | None = (10.0, 12.0),
               step_min: int = 10, night: int = 0, every: int = 1) -> list[Event]:
    """Motion every ``step_min`` minutes from ``wake`` to ``bed`` (hours, may exceed 24) but outside
    the outing (front door at both ends), ``night`` extra minutes of motion from 01:00; ``every``:
    keep one active minute in ``every`` (thinning)."""
    base = day * DAY
    evs = []
    t, k = wake * HOUR, 0
    while t < bed * HOUR:
        if out is None or not (out[0] * HOUR <= t < out[1] * HOUR):
            if k % every == 0:
                evs.append(Event(base + t, base + t, "hall_pir", Kind.MOTION, 1.0))
            k += 1
        t += step_min * MIN
    if out is not None:
        for h in out:
            evs.append(Event(base + h * HOUR, base + h * HOUR, "front_door", Kind.ENTRANCE, 1.0))
    for m in range(night):
        t = HOUR + m * 2 * MIN
        evs.append(Event(base + t, base + t, "hall_pir", Kind.MOTION, 1.0))
    return sorted(evs, key=lambda e: e.mono)


def life(days: int, first: int = DAY0, per_day=None) -> list[Event]:
    """``days`` days; ``per_day(i)``: the :func:`day_events` keywords of day ``i`` (ordinary by default)."""
    evs = []
    for i in range(days):
        evs += day_events(first + i, **(per_day(i) if per_day else {}))
    return evs
