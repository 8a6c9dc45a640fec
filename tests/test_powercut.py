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

from powercut_harness import CHILD, HERE, Acked, check_delivery, check_state, copy_state, run_loop

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
    restarts = [alert_id for alert_id, (kind, _, _) in acked.alerts.items() if kind == "hub_restarted"]
    assert len(restarts) == 2  # two restart notices, two ids
    # nobody moves in these lives: on a slow machine more than the hour's safety net passes on the
    # ×1200 clock and the hub rightly alarms too (a fresh hub that sees no one); with its own id
    assert {kind for kind, _, _ in acked.alerts.values()} <= {"hub_restarted", "inactivity"}
    assert check_state(copy_state(str(tmp_path / "state"), str(tmp_path / "check")), acked) == []


def test_away_ended_by_the_resident_coming_home_is_on_disk_at_once(tmp_path):
    """With events batched for 15 minutes, a power cut right after the resident came home must
    not bring the hub back believing they are away (it would not watch the silence)."""
    import asyncio

    from hubd.store import Store

    from faultrig import MIN, Rig, run

    rig = Rig(tmp_path)

    async def body(rig):
        await rig.motion("kitchen_pir")
        now = (rig.clock.monotonic(), rig.clock.local())
        rig.daemon.apply(rig.daemon.engine.set_mode("away", 12, "technician", *now), now[1])
        await rig.run_for(30 * MIN)
        await rig.motion("kitchen_pir")  # back home: activity inside ends the away
        assert rig.daemon.engine.mode.name == "home"
        on_disk = await asyncio.to_thread(lambda: Store(rig.state_dir).load_snapshot())
        assert on_disk["mode"]["name"] == "home"

    run(rig, body)


def test_a_message_cut_off_mid_send_four_times_is_given_up_loudly(tmp_path):
    """Killed while sending, resent (the ambiguous case), killed while sending again, three times:
    the message is not resent a fourth time — and the hub says so (uplink_down at once), instead
    of leaving a failed row nobody hears about."""
    import asyncio

    from hubd.clock import SystemClock
    from hubd.modem.service import UPLINK_DOWN, SmsService, SmsTiming
    from hubd.store import Store

    store = Store(str(tmp_path / "state"))
    service = SmsService("/nonexistent", 115200, store, SystemClock())
    first = service.outbox.add("+81300000001", "alarm", "alarm", 1, 1)
    service.outbox.begin_attempt(first)
    service.outbox.pdu_going(first)  # killed once its PDU may have gone
    for _ in range(service.outbox.max_resends_after_restart):
        service.outbox.recover_interrupted()  # a restart: ambiguous, resent
        service.outbox.begin_attempt(first)
        service.outbox.pdu_going(first)  # ... and killed mid-send again
    conditions = []

    async def restart():
        again = SmsService("/nonexistent", 115200, store, SystemClock(), timing=SmsTiming(reconnect_interval=60.0))
        task = asyncio.ensure_future(again.run(lambda ident, f: conditions.append((ident, f)), lambda s, t: None))
        ok = await again.wait_until(lambda: any(i == UPLINK_DOWN and f is not None for i, f in conditions), 5.0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return ok, again.outbox.get(first)

    told, message = asyncio.run(restart())
    assert message.state == "failed" and message.ambiguous == 4
    assert told and "SMS" in str(conditions[-1][1].detail["reasons"])


@pytest.mark.parametrize("ambiguous, state, copies, lost", [
    (0, "sent", 1, False), (0, "sent", 2, True),  # a clean send arrives once
    (3, "sent", 4, False), (3, "sent", 5, True),  # three sends that may have gone, then the last
    (4, "failed", 1, False), (4, "failed", 0, True),  # given up: fine only if one of them arrived
])
def test_the_loop_allows_one_more_copy_for_each_send_that_may_have_gone(tmp_path, ambiguous, state, copies, lost):
    import sqlite3

    path = str(tmp_path / "outbox.sqlite3")
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE outbox (id INTEGER, recipient TEXT, text TEXT, state TEXT, ambiguous INTEGER, "
               "attempts INTEGER, last_error TEXT)")
    db.execute("INSERT INTO outbox VALUES (1, '+81300000001', 'alarm', ?, ?, ?, '')", (state, ambiguous, ambiguous + 1))
    db.commit()
    db.close()
    problems, stats = check_delivery(path, [("+81300000001", "alarm")] * copies, Acked())
    assert bool(problems) == lost, problems
    assert stats["duplicates"] == copies - 1
