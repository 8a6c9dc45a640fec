"""Soak (CI variant): twelve simulated days of a resident's life, two collapses, through the
production daemon with the real SmsService on the pty modem emulator, at full speed.
``benchmarks/soak.py`` runs the full 30 days (both detector modes) in a fresh process.

Checked: memory flat after warm-up, no fd or thread leak, the events table held to its
retention (and the state directory with it), and alerts exactly where the collapses are:
one each, at the configured limit after the last movement, texted to the office, and
none anywhere else.
"""

from __future__ import annotations

import re

import pytest

from hubsim.modem import ModemEmulator

from soakrun import DAY, misplaced_alerts, run_soak

DAYS = 12
LIMIT_H = 8.0
RETENTION = 3


def test_twelve_days_with_two_collapses(tmp_path):
    with ModemEmulator("ec25", seed=4) as emulator:
        result = run_soak(str(tmp_path / "state"), DAYS, seed=3, limit_hours=LIMIT_H, retention_days=RETENTION,
                          emulator=emulator)
    life, samples = result.life, result.samples
    assert len(life.collapses) == 2 and len(samples) == DAYS
    assert life.longest_away < LIMIT_H * 3600  # so an alert can only come from a collapse

    assert misplaced_alerts(result, LIMIT_H) == []
    # raised at the deadline itself and texted after the 3-minute pre-alarm, to the minute: simulated
    # time never runs on while the hub works (tests/faketime.py), whatever the machine's load
    resident = [a for a in result.alerts if a["category"] == "resident"]
    assert [a["raised_local"] - a["since_local"] for a in resident] == \
        [pytest.approx(a["limit"], abs=1.0) for a in resident]  # a skipped tick would be 60 s off
    alarms = [text for _, text in result.sms if "no activity for" in text]
    first = {re.search(r"Alert (\d+)", text).group(1): text for text in reversed(alarms)}
    assert len(first) == 2 and all("no activity for 8h03m." in text for text in first.values()), first  # then reminders

    warm = samples[2]
    assert samples[-1].rss_kb - warm.rss_kb < 5 * 1024, [s.rss_kb for s in samples]
    assert {s.fds for s in samples} == {samples[0].fds}, [s.fds for s in samples]
    threads = [s.threads for s in samples]
    assert max(threads) <= min(threads) + 1, threads  # +1: the LED blinker while an alarm is on

    per_day = result.events / DAYS
    assert max(s.event_rows for s in samples) <= (RETENTION + 1.5) * per_day * 1.5
    settled = samples[RETENTION + 1].disk_bytes
    assert samples[-1].disk_bytes <= settled + 256 * 1024, [s.disk_bytes for s in samples]
