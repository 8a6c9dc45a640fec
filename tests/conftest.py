"""Shared fixtures: a fake clock, configs built from small dicts, a state directory."""

from __future__ import annotations

import copy
import os

import pytest

# Never let gpiozero guess a real pin factory in tests.
os.environ.setdefault("GPIOZERO_PIN_FACTORY", "mock")

from hubd.clock import FakeClock
from hubd.config import parse_config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REAL_LOG = os.path.join(os.path.dirname(REPO), "shared", "data", "kasteren_house_a.csv")


@pytest.fixture(scope="session")
def real_log() -> str:
    """The path of the real month in ../shared/data (CI clones the repo with shared/ beside it).

    Missing data fails the test that needs it, naming the path: a skip would hide that the
    tests on real data did not run."""
    if not os.path.exists(REAL_LOG):
        pytest.fail(f"{REAL_LOG} is missing: clone the repository next to shared/", pytrace=False)
    return REAL_LOG


BASE = {
    "hub": {"flat_id": "T-1", "language": "en"},
    "detector": {"mode": "fixed", "max_inactivity_hours": 2.0},
    "alerts": {"prealarm_minutes": 3.0, "ack_timeout_minutes": 30.0, "repeat_limit": 2},
    "modem": {"recipients": ["+8100000001", "+8100000002"], "authorised": ["+8100000009"]},
}


def merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


@pytest.fixture(scope="session", autouse=True)
def compiled_kernels():
    """The daemon's numba kernels compiled (or loaded from numba's cache) once per test process,
    before any test: a hub under test must not spend its first request compiling. On a cold
    cache and a loaded machine that took a control-socket status past its 10 s limit."""
    from hubd.core.engine import Engine
    from hubd.events import Event, Kind
    from hubd.replay.per_event import replay

    t0 = 1_700_000_000.0
    events = [Event(t0 + i * 600.0, t0 + i * 600.0, sensor, kind, float(i % 2))
              for i, (sensor, kind) in enumerate([("hall", Kind.MOTION), ("bed", Kind.PRESENCE),
                                                  ("front", Kind.ENTRANCE), ("kettle", Kind.APPLIANCE)] * 40)]
    for mode in ("fixed", "learned"):
        config = parse_config(merge(BASE, {"detector": {"mode": mode}}), "(kernel warm-up)")
        engine = Engine(config)
        replay(events, config, engine=engine)
        engine.status(events[-1].mono, events[-1].local)


@pytest.fixture
def make_config(tmp_path):
    def build(**sections):
        data = merge(BASE, sections)
        data.setdefault("hub", {}).setdefault("state_dir", str(tmp_path / "state"))
        data["hub"].setdefault("socket", str(tmp_path / "ctl.sock"))
        return parse_config(data, "test.toml")
    return build


@pytest.fixture
def clock():
    return FakeClock(mono=1000.0, local=1_700_000_000.0)
