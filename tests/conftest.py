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
