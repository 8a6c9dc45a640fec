"""Simulated time for the scripted resident and its scenarios: naive local wall seconds.

Why a module of its own: the resident (``resident.py``) and the sensor quirks
(``quirks_devices.py``) take times the same way, and neither may import the other's
internals to get them.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Union

DAY = 86400.0
HOUR = 3600.0
MINUTE = 60.0
_EPOCH = datetime(1970, 1, 1)

TimeLike = Union[float, int, datetime, str]


def to_local(when: TimeLike) -> float:
    """Local wall seconds from seconds, a naive ``datetime`` or naive ISO text."""
    if isinstance(when, str):
        when = datetime.fromisoformat(when)
    if isinstance(when, datetime):
        if when.tzinfo is not None:
            raise ValueError(f"{when.isoformat()} has an offset; the resident lives in naive local time")
        return (when - _EPOCH).total_seconds()
    return float(when)


def positive(name: str, value: float) -> float:
    """``value`` as a finite positive float, or a ValueError naming ``name``."""
    value = float(value)
    if not value > 0 or not math.isfinite(value):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return value
