"""kill -9 at random moments, restart, and nothing acknowledged is lost (DESIGN.md principle 5).

The loop itself is in ``powercut_harness.py`` (the parent: modem emulator, kills, checks) and
``powercut_child.py`` (one life of the production daemon on simulated hardware). CI runs a
short loop; ``benchmarks/powercut.py`` runs 200 and more.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from hubsim.modem import ModemEmulator

from powercut_harness import CHILD, HERE, Acked, check_state, copy_state, run_loop

CI_KILLS = int(os.environ.get("HUBD_POWERCUT_KILLS", "30"))


def test_power_cut_loop_loses_nothing_and_delivers_every_sms(tmp_path):
    result = run_loop(str(tmp_path), CI_KILLS, seed=11)
    print(result.summary())
    assert result.problems == []
    assert sum(result.kills.values()) == CI_KILLS
    assert result.messages >= CI_KILLS // 2  # the hub was really texting while it was being killed
    assert result.delivered >= result.messages


def _life(tmp_path, emulator, epoch, *extra, wait_ready=True):
    args = [sys.executable, CHILD, str(tmp_path / "state"), emulator.port, str(tmp_path / "ack.log"),
            "--epoch", repr(epoch), *extra]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=HERE)
    try:
        if wait_ready:
            assert proc.stdout.readline().strip() == "READY"
            proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL


def test_kill_between_an_alert_and_its_snapshot_does_not_reuse_the_alert_id(tmp_path):
    """Regression: the hub used to commit an alert record, then its SMS, then (later) the engine
    snapshot. Killed in between, it restarted from the older snapshot and gave the next alert the
    same id, overwriting the record the office had been texted about."""
    with ModemEmulator("ec25", seed=3) as emulator:
        epoch = time.monotonic()
        _life(tmp_path, emulator, epoch)  # first start: state saved
        # second start: restart notice = alert 1; die as the next transaction begins
        _life(tmp_path, emulator, epoch, "--die-in", "after-alert", "--die-at", "1", wait_ready=False)
        _life(tmp_path, emulator, epoch)  # third start: another restart notice
    acked = Acked()
    acked.read(str(tmp_path / "ack.log"))
    assert acked.overwritten == []
    assert len(acked.alerts) == 2  # two restart notices, two ids
    assert check_state(copy_state(str(tmp_path / "state"), str(tmp_path / "check")), acked) == []
