"""The population prior: a first week that already watches, absences by day type, the
prior file's codec and its failure, and the prior surviving a restart.

The first-week tests score each development home with a prior built *without* that home
(leave-one-home-out), as the benchmark does.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hubd.detector import model
from hubd.detector.model import STATE_VERSION, LearnedDetector
from hubd.detector.params import DetectorParams
from hubd.detector.population import build_prior
from hubd.detector.prior import DEFAULT_PATH, Prior, PriorError, default_prior
from hubd.events import EventBatch, Kind

from fakes import ev

ROOT = Path(__file__).resolve().parents[1]
H, M, DAY = 3600.0, 60.0, 86400.0
T0 = 1_704_067_200.0  # 2024-01-01 00:00 local, a Monday
P = DetectorParams()
RESIDENT_ALERTS = ("inactivity", "not_returned", "stayed_in_place")
def days_of(wake, bed, days, out=None, start_day=0):
    """Motion every 10 min from ``wake`` to ``bed`` (hours; bed may pass midnight); ``out(d)`` gives
    (leave h, back h) of the day's absence through the front door, or None."""
    events = []
    for d in range(start_day, start_day + days):
        trip = out(d) if out else None
        t, end = T0 + d * DAY + wake * H, T0 + d * DAY + bed * H
        while t <= end:
            if not (trip and T0 + d * DAY + trip[0] * H <= t <= T0 + d * DAY + trip[1] * H + 60):
                events.append(ev(t, "pir_kitchen" if int(t // 600) % 2 else "pir_hall"))
            t += 600
        if trip:
            leave, back = T0 + d * DAY + trip[0] * H, T0 + d * DAY + trip[1] * H
            events += [ev(leave, "front", Kind.ENTRANCE), ev(back, "front", Kind.ENTRANCE), ev(back + 30)]
    return sorted(events, key=lambda e: e.mono)


@pytest.fixture(scope="module")
def dev_homes(real_log):  # (the real logs: missing data fails loudly)
    return dict(_benchmark("bench_detector").prior_homes())


def _benchmark(name: str):
    """A module of benchmarks/ (the prior's development homes and builder live there, not in hubd)."""
    path = ROOT / "benchmarks" / f"{name}.py"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def loho(homes: dict, name: str) -> Prior:
    """The prior of every development home but ``name``."""
    return build_prior([b for n, b in homes.items() if n != name], P, names=[n for n in homes if n != name])


def first_days(batch: EventBatch, days: float) -> EventBatch:
    return batch.head(int(np.searchsorted(batch.mono, batch.mono[0] + days * DAY)))


# ------------------------------------------------------------------ the first week
@pytest.mark.parametrize("home", ["kasteren_a", "kasteren_b"])
def test_first_week_thresholds_come_from_the_prior_and_fall_below_12_h(dev_homes, home):
    """Day 1 is watched by the prior's time-of-day shape (no flat cold start, night slots below
    12 h; a day sleeper in the population keeps its day slots at the safety net), and from the
    third day of the first week the prior blended with the home's days puts every slot below 12 h."""
    prior, batch = loho(dev_homes, home), dev_homes[home]
    det = LearnedDetector(P, prior=prior)
    thr, rules = det.thresholds()
    has_data = prior.elapsed.sum(axis=1) > 0
    assert has_data.all() and "cold_start" not in rules
    # 22:00-04:00: the population's screen-bound day sleeper, shifted 3 h later, sleeps until ~21:00
    night = [k for k in range(P.slots_per_day) if k >= 44 or k < 8]
    assert max(thr[night]) < 12 * H
    cold = LearnedDetector(P, prior=False)
    assert set(cold.thresholds()[1]) == {"cold_start"}  # what the prior replaces
    for day in (3, 5, 7):
        det = LearnedDetector(P, prior=prior)
        det.replay(first_days(batch, day))
        thr, rules = det.thresholds()
        assert max(thr) < 12 * H and set(rules) == {"learned"}, (day, thr.max() / H)
        assert max(det.alarm_delays()) < 12 * H


@pytest.mark.parametrize("home", [
    pytest.param("kasteren_a", marks=pytest.mark.xfail(strict=True, reason=(
        "not met since the population gained the screen-bound resident and the sensor-trust rules: "
        "night 4 (28-29 Feb, 23:25 to 08:03, 8.6 h asleep) passes the 8.4 h limit its first three "
        "nights and the fading prior give it"))),
    "kasteren_b"])
def test_no_false_alarm_in_the_first_week_of_the_development_homes(dev_homes, home):
    """Leave-one-home-out: no inactivity alarm in the first week, no not_returned on any absence
    the 24 h maximum would not catch anyway. (House B's bed mat held for 23 h is a sensor fault,
    not this rule's: stayed_in_place is left to the sensor-trust rules.)"""
    batch = dev_homes[home]
    result = LearnedDetector(P, prior=loho(dev_homes, home)).replay(batch)
    week = [e for e in result.episodes if e.start_mono < batch.mono[0] + 7 * DAY]
    assert [e for e in week if e.finding.type == "inactivity"] == []
    for e in week:
        if e.finding.type == "not_returned":
            back = e.end_mono if e.end_mono is not None else math.inf
            assert back - e.finding.since_mono > P.absence_max_hours * H  # a trip: it fires at 24 h anyway


def test_the_prior_shortens_the_first_week_on_house_b(dev_homes):
    """The point of the prior: a collapse in the first week is found sooner than by the 12 h timer."""
    batch = first_days(dev_homes["kasteren_b"], 3)
    det = LearnedDetector(P, prior=loho(dev_homes, "kasteren_b"))
    det.replay(batch)
    assert np.median(det.alarm_delays()) < 8 * H


def test_the_homes_own_longer_nights_pull_the_prior_up():
    """A resident sleeping 22:00-09:30 under a prior of 00:00-06:00 sleepers: the morning limits
    start short (the prior's) and grow with the home's own nights."""
    short_sleepers = EventBatch.from_events(days_of(6.0, 24.0, 28))
    prior = build_prior([short_sleepers], P)
    home = days_of(9.5, 22.0, 15)
    morning = [2 * h for h in (6, 7, 8)]  # 06:00..08:00 slots
    limits = []
    for days in (0, 2, 5, 14):
        det = LearnedDetector(P, prior=prior)
        for e in home:
            if e.mono < T0 + days * DAY:
                det.observe(e)
        limits.append(det.thresholds()[0][morning].min())
    # (on day 2 the home's two long nights are the top 1.5 days' worth a limit never rests on alone)
    assert limits[0] < 9 * H < limits[2] <= limits[3]
    assert limits[3] >= 11.5 * H  # 11.5 h nights (capped by the 12 h safety net), not the prior's 6 h


def test_without_data_the_prior_weight_fades_by_learned_days():
    det = LearnedDetector(P)
    pv = P.kernel_vector()
    from hubd.detector import kernels

    assert kernels.prior_weight(pv, 0.0) == 1.0
    assert kernels.prior_weight(pv, 7.0) == pytest.approx(0.5 ** (7 / P.prior_half_life_days))
    assert det.prior_note.startswith("population of")


# ------------------------------------------------------------------ absences
def _weekday(d):
    return (d % 7) < 5  # T0 is a Monday


def test_absence_limits_are_learned_per_day_type():
    """Out 08:00-17:30 on weekdays, 14:00-15:30 at weekends: each day type gets its own limit."""
    events = days_of(6.5, 23.0, 35, out=lambda d: (8.0, 17.5) if _weekday(d) else (14.0, 15.5))
    det = LearnedDetector(P, prior=False)
    for e in events:
        det.observe(e)
    weekday, weekend = det.absence_limits()
    assert 9.5 * 1.5 * H <= weekday <= 11 * 1.5 * H
    assert 1.5 * 1.5 * H <= weekend <= 2.5 * 1.5 * H
    # a Saturday outing is held to the weekend's limit, a Monday's to the weekday's
    for day, limit in ((35 + 5, weekend), (35 + 7, weekday)):
        leave = T0 + day * DAY + 10 * H
        for e in days_of(6.5, 9.9, 1, start_day=day) + [ev(leave, "front", Kind.ENTRANCE)]:
            det.observe(e)
        assert det.next_check(leave) == pytest.approx(leave + limit)
        det.observe(ev(leave + H, "front", Kind.ENTRANCE))
        det.observe(ev(leave + H + 30))


def test_a_long_working_day_never_alarms_even_where_absences_are_short():
    """The floor comes from the population prior, not from a fixed 8 h: a home whose own outings
    are 1 h still may spend 11 h out, on any day type, without a not_returned."""
    events = days_of(6.5, 23.0, 21, out=lambda d: (10.0, 11.0))
    det = LearnedDetector(P)  # the shipped prior
    for e in events:
        det.observe(e)
    assert min(det.absence_limits()) >= 11.5 * H
    assert max(det.absence_limits()) <= P.absence_max_hours * H
    for day in (21 + 2, 21 + 5):  # a Wednesday and a Saturday
        leave = T0 + day * DAY + 7.5 * H
        for e in days_of(6.5, 7.4, 1, start_day=day) + [ev(leave, "front", Kind.ENTRANCE)]:
            det.observe(e)
        assert det.check(leave + 11 * H, leave + 11 * H) == []
        det.observe(ev(leave + 11 * H, "front", Kind.ENTRANCE))
        det.observe(ev(leave + 11 * H + 30))
    without = LearnedDetector(P, prior=False)
    for e in events:
        without.observe(e)
    assert without.absence_limits()[0] < 4 * H  # the home alone would alarm on that weekday


def test_absences_keep_the_24_h_maximum():
    prior = Prior(P.slot_minutes, np.zeros((48, P.hist_bins)), np.zeros((48, P.hist_bins)),
                  np.tile(np.eye(P.hist_bins)[-1], (2, 1)))  # a population out for days on end
    det = LearnedDetector(P, prior=prior)
    assert det.absence_limits() == (P.absence_max_hours * H, P.absence_max_hours * H)


# ------------------------------------------------------------------ the file
def _random_prior(draw_rows, slot_minutes, bins, homes):
    n = 1440 // slot_minutes
    rows = np.array(draw_rows).reshape(2 * n + 2, bins)
    return Prior(slot_minutes, rows[:n], rows[n:2 * n], rows[2 * n:], tuple(homes))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([60, 120, 240]), st.integers(2, 12), st.data())
def test_save_load_round_trip(slot_minutes, bins, data):
    n = 1440 // slot_minutes
    weights = st.floats(0.0, 1e6, allow_nan=False, allow_infinity=False)
    rows = data.draw(st.lists(weights, min_size=(2 * n + 2) * bins, max_size=(2 * n + 2) * bins))
    homes = data.draw(st.lists(st.text(min_size=0, max_size=12), max_size=4))
    prior = _random_prior(rows, slot_minutes, bins, homes)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.npz"
        prior.save(path)
        back = Prior.load(path)
    assert back.slot_minutes == prior.slot_minutes and back.homes == prior.homes
    for name in ("elapsed", "remaining", "absence"):
        np.testing.assert_array_equal(getattr(back, name), getattr(prior, name))


def test_the_shipped_prior_is_package_data_and_fits_the_defaults():
    prior = default_prior()
    assert DEFAULT_PATH.exists() and prior.fits(P) is None
    assert "kasteren_a" in prior.homes and "kasteren_b" in prior.homes
    assert np.allclose(prior.elapsed.sum(axis=1), 1.0) and np.allclose(prior.absence.sum(axis=1), 1.0)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "wrong_shape", "negative"])
def test_a_damaged_prior_file_is_a_clear_error_and_the_detector_cold_starts(tmp_path, monkeypatch, caplog, damage):
    path = tmp_path / "prior.npz"
    good = default_prior()
    if damage == "garbage":
        path.write_bytes(b"not a prior at all")
    elif damage == "truncated":
        good.save(path)
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:
        bad = good.elapsed[:, :-1] if damage == "wrong_shape" else -good.elapsed
        np.savez(path, format=np.int64(1), slot_minutes=np.int64(30), elapsed=bad, remaining=good.remaining,
                 absence=good.absence, homes=np.array([], dtype=str))
    with pytest.raises(PriorError, match="prior"):
        Prior.load(path)
    monkeypatch.setattr(model, "default_prior", lambda: Prior.load(path))
    with caplog.at_level(logging.WARNING, logger="hubd.detector.model"):
        det = LearnedDetector(P)
    assert "population prior not used, cold start" in caplog.text
    assert det.prior.empty and det.status(T0, T0)["prior"].startswith("none: ")
    assert set(det.thresholds()[1]) == {"cold_start"}
    det.observe(ev(T0))
    assert det.next_check(T0) == pytest.approx(T0 + P.cold_start_hours * H)


def test_a_prior_for_other_slots_is_refused_or_skipped(caplog):
    coarse = DetectorParams(slot_minutes=60)
    with pytest.raises(PriorError, match="slot"):
        LearnedDetector(coarse, prior=default_prior())  # explicit: the caller made a mistake
    with caplog.at_level(logging.WARNING, logger="hubd.detector.model"):
        det = LearnedDetector(coarse)  # the shipped one does not fit this config: cold start, said so
    assert det.prior.empty and "slot" in caplog.text


# ------------------------------------------------------------------ restart
def test_the_prior_survives_a_restart():
    prior = build_prior([EventBatch.from_events(days_of(6.0, 24.0, 10))], P)
    det = LearnedDetector(P, prior=prior)
    events = days_of(7.0, 23.0, 3)
    for e in events:
        det.observe(e)
    restarted = LearnedDetector(P, prior=False)  # whatever prior is configured now, the state's wins
    restarted.load(det.state(), lambda m: m)
    np.testing.assert_array_equal(restarted.thresholds()[0], det.thresholds()[0])
    assert restarted.absence_limits() == det.absence_limits()
    more = days_of(7.0, 23.0, 2, start_day=3)
    for e in more:
        det.observe(e)
        restarted.observe(e)
    np.testing.assert_array_equal(restarted.thresholds()[0], det.thresholds()[0])
    assert restarted.next_check(more[-1].mono) == det.next_check(more[-1].mono)


def test_a_version_2_state_is_upgraded_with_the_prior_and_profile_still_works():
    old = LearnedDetector(P, prior=False)
    events = days_of(7.0, 23.0, 10, out=lambda d: (10.0, 12.0))
    for e in events:
        old.observe(e)
    s = old.state()
    n = P.slots_per_day
    v2 = {**s, "version": 2, "sv": s["sv"][:24], "hist": s["hist"][:2 * n], "abs_hist": s["abs_hist"][0],
          "sens": s["sens"][:, :12]}
    det = LearnedDetector(P)
    det.load(v2, lambda m: m)
    assert det.state()["version"] == STATE_VERSION == 3
    np.testing.assert_array_equal(det.thresholds()[0], old.thresholds()[0])  # kept until the day ends
    assert det.absence_limits() == (s["sv"][16], s["sv"][16])  # the one limit learned so far, both day types
    np.testing.assert_array_equal(det.state()["hist"][2 * n:], LearnedDetector(P).state()["hist"][2 * n:])
    last = events[-1].mono
    assert "learned days: 9" in det.profile_text(last, last)  # the tenth day is not over
    data = det.profile(last, last)
    assert data["prior"].startswith("population of") and data["cold_start"] is False
    assert data["absence_limit_hours"] == {"weekday": round(s["sv"][16] / H, 3), "weekend": round(s["sv"][16] / H, 3)}
    det.observe(ev(last + DAY))  # the next day is learned with the prior's rows, which an established home outweighs
    assert set(det.thresholds()[1]) == {"learned"}


def test_the_builder_command_writes_a_prior_that_loads(tmp_path, capsys, real_log):
    from hubd.detector.population import main as show

    out = tmp_path / "p.npz"
    assert _benchmark("build_prior").main(["-o", str(out), "--without", "kasteren_b"]) == 0
    built = Prior.load(out)
    assert "kasteren_b" not in built.homes and "kasteren_a" in built.homes and built.fits(P) is None
    assert _benchmark("build_prior").main(["-o", str(out), "--without", "no_such_home"]) == 2
    assert show([str(out)]) == 0
    text = capsys.readouterr().out
    assert "alarm after" in text and "not_returned limit: weekday" in text
    (tmp_path / "bad.npz").write_bytes(b"not a prior")
    assert show([str(tmp_path / "bad.npz")]) == 1