"""The fault corpus (issue 15): every development home replayed as it is and with each sensor
fault of ``hubsim.quirks`` injected (the variants ``benchmarks/bench_detector.py --results``
scores). Each log is normal life, so every resident alert on it is a false alarm.

The bounds are the counts measured with the merged detector (default parameters, the shipped
population prior, which includes these homes: a regression check, not a score; the score is
``bench_detector.py --results``, leave-one-home-out). The target (issue 15: at most 0.025 false
alarms a day) is 0 on each of these logs (27.8 and 13.0 days), and is not met on house A.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hubd.detector.model import LearnedDetector
from hubd.core.health import SensorHealth
from hubsim import quirks
from conftest import REAL_LOG
from test_backtest import load_bench

RESIDENT = ("inactivity", "stayed_in_place", "not_returned")
# home -> false alarms today (target 0 on every one of them: <= 0.025/day over 27.8 or 13.0 days)
TODAY = {
    "kasteren_a": 4,  # 4 not_returned: nights after closing the front door look like long absences
    "kasteren_a+stuck_mat": 4,  # the stuck mat is a sensor_fault, not a stayed_in_place (was 5)
    "kasteren_a+inverted_reed": 4,
    "kasteren_a+chatter_pir": 5,  # + inactivity
    "kasteren_a+missed_door": 4,
    "kasteren_a+stray_pulses": 4,  # the stray pulses no longer end an inferred absence (was 5)
    "kasteren_b": 1,  # 1 not_returned (was 6: 4 stayed_in_place on mats held a day or more, 1 inactivity)
    "kasteren_b+stuck_mat": 1,
    "kasteren_b+pulse_seat": 1,
    "kasteren_b+inverted_reed": 1,
    "kasteren_b+chatter_pir": 1,
    "kasteren_b+missed_door": 1,
    "kasteren_b+stray_pulses": 1,
    # the right bed mat inverted: a sensor_fault from day 3, never a stay; + 1 inactivity at dawn
    # (2 also before inverted mats were recognised; the left mat inverted gave 3 stayed_in_place then)
    "kasteren_b+inverted_mat": 2,
}
TARGET = 0
# the fault the detector should name, and why (reasons in the sensor_fault finding's detail)
REASONS = {"stuck_mat": ("stuck_presence", "stuck"), "inverted_reed": ("inverted_entrance", "inverted"),
           "chatter_pir": ("chattering_pir", "chatter"), "inverted_mat": ("inverted_presence", "inverted")}

BENCH = load_bench()
if not Path(REAL_LOG).exists():  # pragma: no cover
    pytest.fail(f"{REAL_LOG} is missing: clone the repository next to shared/", pytrace=False)
HOMES = {h.name: h for h in BENCH.real_homes()}


@pytest.fixture(scope="module")
def replays():
    return {name: LearnedDetector().replay(h.batch) for name, h in HOMES.items()}


def test_the_corpus_has_every_dev_home_and_each_fault_that_applies():
    assert set(HOMES) == set(TODAY)  # house A has no mats: no pulse-only seat, no inverted mat
    assert {h.base for h in HOMES.values()} == {"kasteren_a", "kasteren_b"}
    assert not any("activity_only" in name or "mit_" in name for name in HOMES)


@pytest.mark.parametrize("name", sorted(TODAY))
def test_false_alarms_stay_within_todays_count(replays, name):
    alarms = [e for e in replays[name].episodes if e.finding.type in RESIDENT]
    assert len(alarms) <= TODAY[name], [(e.finding.type, e.finding.key) for e in alarms]
    if len(alarms) < TODAY[name]:  # better than when measured: lower the bound above (target: TARGET)
        print(f"{name}: {len(alarms)} false alarms, bound {TODAY[name]}, target {TARGET}")


@pytest.mark.parametrize("base, fault", [(base, fault) for base in ("kasteren_a", "kasteren_b")
                                         for fault in sorted(REASONS) if f"{base}+{fault}" in TODAY])
def test_the_faulty_sensor_is_reported_with_its_reason(replays, base, fault):
    """Stuck and inverted are judged by the detector (it knows the resident's whereabouts);
    chatter by the sensor-health watcher (a rate far above the sensor's own)."""
    home = HOMES[f"{base}+{fault}"]
    quirk, reason = REASONS[fault]
    sensor = quirks.target_sensor(quirk, HOMES[base].batch, BENCH.fault_seed(fault))
    if reason == "chatter":
        faults = _health_faults(home.batch)
    else:
        faults = [e.finding for e in replays[home.name].episodes if e.finding.type == "sensor_fault"]
    named = [f for f in faults if f.key == sensor and reason in f.detail.get("reasons", ())]
    assert named, f"no sensor_fault ({reason}) on {sensor}: {[(f.key, f.detail) for f in faults]}"
    others = {f.key for f in faults if reason in f.detail.get("reasons", ()) and f.key != sensor}
    assert others <= _health_keys_before(HOMES[base].batch, reason)  # nothing new blamed on a healthy sensor


def _health_faults(batch) -> list:
    """Every sensor_fault the sensor-health watcher raises over the log (checked at each event)."""
    health, seen = SensorHealth(), {}
    for e in batch.events():
        health.observe(e)
        for f in health.check(e.mono):
            if f.type == "sensor_fault":
                seen.setdefault((f.key, tuple(f.detail.get("reasons", ()))), f)
    return list(seen.values())


def _health_keys_before(batch, reason: str) -> set:
    """The sensors the real log itself already has faults of this reason on (house B's dresser
    mercury switch chatters, its mats stick): a variant may name them too."""
    if reason == "chatter":
        return {f.key for f in _health_faults(batch) if reason in f.detail.get("reasons", ())}
    found = LearnedDetector().replay(batch).episodes
    return {e.finding.key for e in found if e.finding.type == "sensor_fault" and reason in e.finding.detail["reasons"]}
