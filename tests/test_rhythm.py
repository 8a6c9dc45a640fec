"""Rhythm metrics against values computed by hand on tiny series (pyActigraphy conventions:
binarised minutes, hourly sums anchored at the first timestamp, n-1 variances, cyclic L5/M10)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hubd.events import EventBatch
from hubd.detector.rhythm import (
    active_minutes_per_day, activity_local_times, interdaily_stability, intradaily_variability, minute_series,
    rhythm_drift, rhythm_metrics, weekly_metrics,
)
from hubd.events import Kind

DAY0 = 19723 * 86400.0  # 2024-01-01 00:00 local
H = 3600.0


def minutes_active(days, spans, step=60.0, day0=DAY0):
    """One event per ``step`` seconds inside each (start h, end h) span of each day (spans may wrap)."""
    out = []
    for d in range(days):
        for a, b in spans:
            if b < a:
                b += 24
            out.extend(day0 + d * 86400 + np.arange(a * H, b * H, step))
    return np.sort(np.array(out))


def test_identical_days_give_is_47_over_46_not_1():
    # active 08:00-20:00 on two identical days: textbook IS = 1; with n-1 variances it is
    # (sum/23) / (2 sum/47) = 47/46
    m = rhythm_metrics(minutes_active(2, [(8, 20)]), DAY0, DAY0 + 2 * 86400)
    assert m.IS == pytest.approx(47 / 46)
    # IV: 4 steps of 60 between hours, mean over 47 differences, divided by 48*900/47
    assert m.IV == pytest.approx((4 * 3600 / 47) / (48 * 900 / 47))  # = 1/3 (textbook: 0.3404)


def test_alternating_hours_are_maximally_fragmented():
    hourly = np.array([60.0, 0.0] * 24)
    assert intradaily_variability(hourly) == pytest.approx(3600 / (48 * 900 / 47))  # 47/12
    assert interdaily_stability(hourly) == pytest.approx(47 / 46)


def test_hourly_sums_are_anchored_at_the_first_timestamp():
    # the same days, but starting at 00:30: hours 07:30 and 19:30 hold 30 active minutes each,
    # so a day has four steps of 30 instead of two of 60
    m = rhythm_metrics(minutes_active(3, [(8, 20)]), DAY0 + 0.5 * H, DAY0 + 0.5 * H + 2 * 86400)
    assert m.IV == pytest.approx((8 * 900 / 47) / (2 * 11 * 2 * 900 / 47))  # 2/11
    assert rhythm_metrics(minutes_active(3, [(8, 20)]), DAY0, DAY0 + 2 * 86400).IV == pytest.approx(1 / 3)


def test_a_partial_last_hour_enters_only_when_asked_as_pyactigraphy_does():
    # two days active 08:00-20:00 plus 30 active minutes of a third day's 08:00 hour
    times = minutes_active(3, [(8, 20)])
    end = DAY0 + 2 * 86400 + 8.5 * H
    whole = rhythm_metrics(times, DAY0, end)
    partial = rhythm_metrics(times, DAY0, end, partial_last_hour=True)
    assert whole.IS == pytest.approx(rhythm_metrics(times, DAY0, DAY0 + 2 * 86400 + 8 * H).IS)  # ignored
    # by hand: 57 hourly sums, hours 8..19 of days 1-2 = 60, the 57th (08:00, day 3) = 30
    hourly = np.zeros(57)
    for d in range(2):
        hourly[d * 24 + 8: d * 24 + 20] = 60.0
    hourly[56] = 30.0
    mean = hourly.mean()
    var = ((hourly - mean) ** 2).sum() / 56
    profile = np.array([hourly[h::24].mean() for h in range(24)])
    assert partial.IS == pytest.approx(profile.var(ddof=1) / var)
    assert partial.IV == pytest.approx((np.diff(hourly) ** 2).mean() / var)
    assert partial.IS != pytest.approx(whole.IS)
    assert (partial.RA, partial.L5, partial.M10) == (whole.RA, whole.L5, whole.M10)  # minutes, not hours


def test_binarisation_counts_a_minute_once_above_the_threshold():
    times = DAY0 + np.array([10.0, 20.0, 30.0, 70.0])  # 3 events in minute 0, 1 in minute 1
    assert list(minute_series(times, DAY0, DAY0 + 180)) == [1, 1, 0]
    assert list(minute_series(times, DAY0, DAY0 + 180, threshold=1)) == [1, 0, 0]


def test_l5_m10_ra_on_a_day_worker():
    m = rhythm_metrics(minutes_active(2, [(8, 18)]), DAY0, DAY0 + 2 * 86400)
    assert (m.M10, m.M10_onset_hours) == (1.0, 8.0)
    assert (m.L5, m.L5_onset_hours) == (0.0, 0.0)  # first all-quiet 5 h window
    assert m.RA == 1.0


def test_l5_m10_windows_wrap_midnight():
    m = rhythm_metrics(minutes_active(3, [(22, 8)], day0=DAY0 - 86400), DAY0, DAY0 + 2 * 86400)
    assert (m.M10, m.M10_onset_hours) == (1.0, 22.0)
    assert (m.L5, m.L5_onset_hours) == (0.0, 8.0)


def test_ra_with_a_restless_night():
    # every other minute active 00:00-05:00, every minute the rest of the day
    times = np.concatenate([minutes_active(2, [(0, 5)], step=120.0), minutes_active(2, [(5, 24)])])
    m = rhythm_metrics(times, DAY0, DAY0 + 2 * 86400)
    assert (m.L5, m.L5_onset_hours) == (0.5, 0.0)
    assert (m.M10, m.M10_onset_hours) == (1.0, 5.0)
    assert m.RA == pytest.approx(0.5 / 1.5)
    assert m.active_minutes_per_day == pytest.approx(150 + 19 * 60)


def test_short_or_flat_series_give_nan_not_nonsense():
    assert math.isnan(rhythm_metrics(np.zeros(0), DAY0, DAY0 + 3 * 86400).IS)
    assert math.isnan(rhythm_metrics(minutes_active(1, [(8, 9)]), DAY0, DAY0 + 20 * H).L5)


def test_weekly_windows_and_daily_activity():
    times = minutes_active(22, [(8, 20)])
    weeks = weekly_metrics(times, DAY0, DAY0 + 22 * 86400)
    assert [w.start_local for w in weeks] == [DAY0, DAY0 + 7 * 86400, DAY0 + 14 * 86400]
    assert all(w.IS == pytest.approx(167 / 161) for w in weeks)  # see the test below
    per_day = active_minutes_per_day(times, DAY0 + 5 * H, DAY0 + 3 * 86400)
    assert list(per_day) == [720, 720, 720]


def test_weekly_is_of_identical_days_by_hand():
    # n = 168 hours, p = 24: IS = (S/23) / (7 S/167) = 167/161
    m = rhythm_metrics(minutes_active(7, [(8, 20)]), DAY0, DAY0 + 7 * 86400)
    assert m.IS == pytest.approx(167 / 161)


def test_activity_times_use_the_detectors_definition_of_activity():
    batch = EventBatch(np.array([DAY0, DAY0 + 60, DAY0 + 120, DAY0 + 180]),
                       np.array([DAY0, DAY0 + 60, DAY0 + 120, DAY0 + 180]),
                       np.array([int(Kind.MOTION), int(Kind.MOTION), int(Kind.APPLIANCE), int(Kind.APPLIANCE)]),
                       np.array([0, 0, 1, 1]), np.array([1.0, 0.0, 0.5, 2000.0]), ("pir", "kettle"))
    assert list(activity_local_times(batch)) == [DAY0, DAY0 + 180]


def test_drift_reports_halved_activity():
    times = np.concatenate([minutes_active(7, [(8, 20)]), minutes_active(7, [(8, 14)], day0=DAY0 + 14 * 86400)])
    (report,) = [r for r in rhythm_drift(times, DAY0 + 21 * 86400) if r.metric == "activity"]
    assert report.type == "rhythm_drift"
    assert (report.before, report.after) == (720, 360) and report.change == pytest.approx(-0.5)


def test_drift_reports_sleep_moving_later():
    # quiet 02-07 then, two weeks later, 06-11: the quietest 5 h start 4 h later
    times = np.concatenate([minutes_active(7, [(7, 2)]), minutes_active(7, [(11, 6)], day0=DAY0 + 14 * 86400)])
    reports = {r.metric: r for r in rhythm_drift(times, DAY0 + 21 * 86400)}
    assert reports["l5_onset"].change == pytest.approx(4.0)
    assert "later" in reports["l5_onset"].message
    assert "activity" not in reports


def test_drift_reports_falling_stability_and_nothing_when_stable():
    rng = np.random.default_rng(0)
    regular = minutes_active(21, [(8, 20)])
    assert rhythm_drift(regular, DAY0 + 21 * 86400) == []
    chaotic = np.concatenate([minutes_active(7, [(8, 20)]),
                              DAY0 + 14 * 86400 + np.sort(rng.uniform(0, 7 * 86400, 5000))])
    assert "interdaily_stability" in {r.metric for r in rhythm_drift(chaotic, DAY0 + 21 * 86400)}
