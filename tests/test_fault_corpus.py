"""The fault corpus (issue 15): every development home replayed as it is and with each sensor
fault of ``hubsim.quirks`` injected (the variants ``benchmarks/bench_detector.py --results``
scores). Each log is normal life, so every resident alert on it is a false alarm.

The bounds are the counts measured when this test was written (default parameters, no
population prior): they catch regressions. The target (issue 15: at most 0.025 false
alarms a day) is 0 on each of these logs (27.8 and 13.0 days), and is not met yet.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hubd.detector.model import LearnedDetector
from hubsim import quirks
from test_backtest import load_bench

RESIDENT = ("inactivity", "stayed_in_place", "not_returned")
# home -> false alarms today (target 0 on every one of them: <= 0.025/day over 27.8 or 13.0 days)
TODAY = {
    "kasteren_a": 4,  # 4 not_returned: nights after closing the front door look like long absences
    "kasteren_a+stuck_mat": 5,  # + stayed_in_place on the stuck mat
    "kasteren_a+inverted_reed": 4,
    "kasteren_a+chatter_pir": 5,  # + inactivity
    "kasteren_a+missed_door": 4,
    "kasteren_a+stray_pulses": 5,  # + inactivity: the pulses ended an inferred absence
    "kasteren_b": 6,  # 4 stayed_in_place on mats held for a day or more, 1 inactivity, 1 not_returned
    "kasteren_b+stuck_mat": 7,  # + stayed_in_place on the stuck mat
    "kasteren_b+pulse_seat": 6,
    "kasteren_b+inverted_reed": 6,
    "kasteren_b+chatter_pir": 6,
    "kasteren_b+missed_door": 6,
    "kasteren_b+stray_pulses": 6,
}
TARGET = 0
# the fault the detector should name, and why (reasons in the sensor_fault finding's detail)
REASONS = {"stuck_mat": ("stuck_presence", "stuck"), "inverted_reed": ("inverted_entrance", "inverted"),
           "chatter_pir": ("chattering_pir", "chatter")}

BENCH = load_bench()
if not Path("/work/shared/data/kasteren_house_a.csv").exists():  # pragma: no cover
    pytest.skip("shared data not mounted", allow_module_level=True)
HOMES = {h.name: h for h in BENCH.real_homes()}


@pytest.fixture(scope="module")
def replays():
    return {name: LearnedDetector().replay(h.batch) for name, h in HOMES.items()}


def test_the_corpus_has_every_dev_home_and_each_fault_that_applies():
    assert set(HOMES) == set(TODAY)  # house A has no seat mat: no pulse-only variant
    assert {h.base for h in HOMES.values()} == {"kasteren_a", "kasteren_b"}
    assert not any("activity_only" in name or "mit_" in name for name in HOMES)


@pytest.mark.parametrize("name", sorted(TODAY))
def test_false_alarms_stay_within_todays_count(replays, name):
    alarms = [e for e in replays[name].episodes if e.finding.type in RESIDENT]
    assert len(alarms) <= TODAY[name], [(e.finding.type, e.finding.key) for e in alarms]
    if len(alarms) < TODAY[name]:  # better than when measured: lower the bound above (target: TARGET)
        print(f"{name}: {len(alarms)} false alarms, bound {TODAY[name]}, target {TARGET}")


@pytest.mark.xfail(strict=False, reason="sensor trust rules (h-trust) not merged yet")
@pytest.mark.parametrize("fault", sorted(REASONS))
@pytest.mark.parametrize("base", ["kasteren_a", "kasteren_b"])
def test_the_faulty_sensor_is_reported_with_its_reason(replays, base, fault):
    home = HOMES[f"{base}+{fault}"]
    quirk, reason = REASONS[fault]
    sensor = quirks.target_sensor(quirk, HOMES[base].batch, BENCH.fault_seed(fault))
    faults = [e.finding for e in replays[home.name].episodes if e.finding.type == "sensor_fault"]
    named = [f for f in faults if f.key == sensor and reason in f.detail.get("reasons", ())]
    assert named, f"no sensor_fault ({reason}) on {sensor}: {[(f.key, f.detail) for f in faults]}"
