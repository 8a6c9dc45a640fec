"""The real single-resident logs in benchmarks/data/ load with the hub's reader and are sane.

See benchmarks/data/README.md for what each file is (and which ones are activity-only).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hubd.events import HEADER, Kind, read_events

DATA = Path(__file__).resolve().parent.parent / "benchmarks" / "data"
LOGS = sorted(DATA.rglob("*.csv"))
NAIVE_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
SNAKE = re.compile(r"[a-z0-9]+(_[a-z0-9]+)*")
BINARY_KINDS = {Kind.MOTION, Kind.PRESENCE, Kind.DOOR, Kind.ENTRANCE}


def test_there_are_logs():
    assert LOGS, f"no CSV under {DATA}"


@pytest.mark.parametrize("path", LOGS, ids=lambda p: str(p.relative_to(DATA)))
def test_real_log_invariants(path: Path):
    with path.open(encoding="utf-8", newline="") as fh:
        first = fh.readline().rstrip("\r\n")
        assert tuple(first.split(",")) == HEADER
        fh.seek(0)
        events = read_events(fh)  # raises on bad rows and on rows out of time order
    assert events

    with path.open(encoding="utf-8") as fh:
        next(fh)
        times = [line.split(",", 1)[0] for line in fh if line.strip()]
    assert len(times) == len(events)
    assert all(NAIVE_ISO.fullmatch(t) for t in times), "times must be naive local YYYY-MM-DDTHH:MM:SS"

    locals_ = [e.local for e in events]
    assert locals_ == sorted(locals_)
    assert (locals_[-1] - locals_[0]) / 86400 >= 7.0

    kind_of: dict[str, Kind] = {}
    state: dict[str, float] = {}
    for e in events:
        assert e.kind in BINARY_KINDS, f"{e.sensor}: unexpected kind {e.kind.label}"
        assert e.value in (0.0, 1.0), f"{e.sensor}: value {e.value}"
        assert SNAKE.fullmatch(e.sensor), f"sensor name {e.sensor!r} is not lower_snake_case"
        assert kind_of.setdefault(e.sensor, e.kind) == e.kind, f"{e.sensor} changes kind"
        # intervals were merged: each sensor goes 1, 0, 1, 0, ... starting with 1
        assert e.value != state.get(e.sensor, 0.0), f"{e.sensor}: repeated value {e.value:g}"
        state[e.sensor] = e.value

    assert list(kind_of.values()).count(Kind.ENTRANCE) == 1, "exactly one entrance sensor"
