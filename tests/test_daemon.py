"""The daemon shell on a fake clock: events in, actions executed, state persisted."""

import asyncio
import json
import os
import select
import signal
import subprocess
import sys
import time

import pytest

from hubd.daemon import STORAGE_CALM_S, JournalFormatter
from hubd.events import Kind
from hubd.seams import NoHardware
from hubd.store import Store

from fakes import RecordingUplink, build_hub
from hubd.sms_tag import Tag

H = 3600.0


async def settle(rounds=20):
    for _ in range(rounds):
        await asyncio.sleep(0)


def make_daemon(config, clock, hardware=None, uplink=None):
    return build_hub(config, clock, hardware=hardware, uplink=uplink, boot_id="b1")


async def advance(clock, seconds, step=60.0):
    """Move the fake clock in steps, letting the daemon's loop run at each."""
    end = clock.monotonic() + seconds
    while clock.monotonic() < end:
        clock.advance(min(step, end - clock.monotonic()))
        await settle()


def test_silence_reaches_outputs_and_uplink(make_config, clock):
    config = make_config()
    hw, up = NoHardware(), RecordingUplink()
    daemon = make_daemon(config, clock, hw, up)

    async def scenario():
        task = asyncio.ensure_future(daemon.run())
        await settle()
        daemon.sink("hall", Kind.MOTION, 1.0, clock.monotonic())
        await settle()
        await advance(clock, 2 * H + 30)
        assert hw.pattern == "prealarm" and up.sent == []
        await advance(clock, 4 * 60)
        assert [(to, purpose) for to, _, purpose, _ in up.sent] == [("+8100000001", "alarm")]
        assert up.labels == [Tag(config.hub.flat_id, "inactivity", up.sent[0][3], 0)]  # the outbox numbers it
        assert hw.pattern == "alarm"
        daemon.request_stop()
        await task

    asyncio.run(scenario())
    assert hw.pattern == "off"  # shutdown turns outputs off
    store = Store(config.hub.state_dir)
    assert [e.sensor for e in store.events()] == ["hall"]
    assert store.alerts()[0]["stage"] == "alarm"
    assert store.load_snapshot()["detector"]["last_activity_local"] is not None


def test_events_from_another_thread_are_handed_over(make_config, clock):
    import threading
    daemon = make_daemon(make_config(), clock)

    async def scenario():
        task = asyncio.ensure_future(daemon.run())
        await settle()
        t = threading.Thread(target=daemon.sink, args=("door", Kind.DOOR, 1.0, clock.monotonic()))
        t.start()
        t.join()
        for _ in range(100):
            await asyncio.sleep(0.001)
            if daemon.engine.last_event is not None:
                break
        assert daemon.engine.last_event.sensor == "door"
        daemon.request_stop()
        await task

    asyncio.run(scenario())


def test_inbound_sms_commands_only_from_authorised_numbers(make_config, clock):
    config = make_config(alerts={"prealarm_minutes": 0})
    up = RecordingUplink()
    daemon = make_daemon(config, clock, uplink=up)

    async def scenario():
        task = asyncio.ensure_future(daemon.run())
        await settle()
        daemon.sink("hall", Kind.MOTION, 1.0, clock.monotonic())
        await advance(clock, 2 * H + 60)
        assert len(up.sent) == 1
        alert_id = up.sent[0][3]
        up.inbound("+8199999999", f"ACK {alert_id}", True)  # stranger: ignored, no reply
        up.inbound("+8100000009", "STATUS", True)
        assert up.sent[-1][0] == "+8100000009" and up.sent[-1][2] == "reply"
        up.inbound("+8100000009", f"ACK {alert_id}", True)
        await advance(clock, 2 * H)
        assert [p for _, _, p, _ in up.sent].count("alarm") == 1  # ACK stopped escalation
        daemon.request_stop()
        await task
        audit = [a["action"] for a in daemon.store.audit_log(100)]
        assert "sms_ignored" in audit and "ack" in audit

    asyncio.run(scenario())


def test_storage_failure_is_reported_locally(make_config, clock):
    config = make_config()
    hw = NoHardware()
    daemon = make_daemon(config, clock, hw)

    async def scenario():
        task = asyncio.ensure_future(daemon.run())
        await settle()
        daemon.store.db.execute("PRAGMA query_only=ON")  # stands in for a full or read-only disk
        daemon.sink("hall", Kind.MOTION, 1.0, clock.monotonic())
        await advance(clock, config.hub.flush_seconds + 1)
        assert hw.pattern == "fault"
        assert not daemon.storage_ok
        daemon.store.db.execute("PRAGMA query_only=OFF")
        await advance(clock, config.hub.flush_seconds + 1)
        assert not daemon.storage_ok  # working again only after a calm spell: one alert per episode
        await advance(clock, STORAGE_CALM_S)
        assert daemon.storage_ok and hw.pattern == "off"
        daemon.request_stop()
        await task

    asyncio.run(scenario())


def test_sighup_reload_keeps_state_and_refuses_bad_config(tmp_path, clock):
    from hubd.config import load_config
    path = tmp_path / "c.toml"
    path.write_text(f'[hub]\nstate_dir = "{tmp_path}/s"\n[detector]\nmode = "fixed"\nmax_inactivity_hours = 2\n'
                    '[modem]\nrecipients = ["+8100000001"]\n')  # a reload, like hubd run, needs someone to text
    daemon = make_daemon(load_config(path), clock)

    async def scenario():
        task = asyncio.ensure_future(daemon.run())
        await settle()
        daemon.sink("hall", Kind.MOTION, 1.0, clock.monotonic())
        await settle()
        path.write_text(path.read_text().replace("max_inactivity_hours = 2", "max_inactivity_hours = 3"))
        daemon.request_reload()
        await settle()
        assert daemon.config.detector.max_inactivity_hours == 3
        assert daemon.engine.detector.last_activity_local is not None
        path.write_text("[hub]\nbogus = 1\n")
        daemon.request_reload()
        await settle()
        assert daemon.config.detector.max_inactivity_hours == 3  # the bad file was refused
        daemon.request_stop()
        await task
        assert "reload_failed" in [a["action"] for a in daemon.store.audit_log()]

    asyncio.run(scenario())


def test_journal_formatter_prefixes_priority():
    import logging
    rec = logging.LogRecord("hubd.modem", logging.WARNING, __file__, 1, "line one\nline two", None, None)
    assert JournalFormatter("%(message)s").format(rec) == "<4>hubd.modem: line one\n<4>hubd.modem: line two"


def test_log_lines_carry_priority_prefixes_only_for_the_journal(tmp_path):
    """Under systemd (JOURNAL_STREAM names stderr) journald reads ``<4>``; a technician running
    ``hubd run`` in a terminal gets the time and the level in words instead."""
    import logging

    from hubd.daemon import setup_logging

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        with open(tmp_path / "stderr.log", "w+") as stream:
            st = os.fstat(stream.fileno())
            for environ in ({"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}, {"JOURNAL_STREAM": "1:2"}, {}):
                setup_logging("info", stream=stream, environ=environ)
                logging.getLogger("hubd.modem").warning("modem gone")
            stream.seek(0)
            lines = stream.read().splitlines()
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
    assert lines[0] == "<4>hubd.modem: modem gone"
    for line in lines[1:]:  # another stream's JOURNAL_STREAM, or none: a terminal
        assert not line.startswith("<") and line.endswith(" WARNING hubd.modem: modem gone")
    assert len(lines) == 3


def test_kill_9_then_restart_keeps_last_activity_and_alert_state(tmp_path):
    state = str(tmp_path / "state")
    child = [sys.executable, os.path.join(os.path.dirname(__file__), "daemon_child.py")]
    proc = subprocess.Popen(child + ["run", state], stdout=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "child never raised its alarm"
        word, alerted_local = proc.stdout.readline().split()
        assert word == "ALERTED"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    out = subprocess.run(child + ["check", state], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    restored = json.loads(out.stdout.strip().splitlines()[-1])
    assert restored["open"] == [[1, "alarm"]]
    # silence = 1 h to the alarm + the 1.5 h between the alarm and the restart's wall clock
    assert restored["detector"]["inactive_seconds"] == pytest.approx(2.5 * H, abs=120)
    assert restored["detector"]["last_activity_local"] is not None
    sent = [(s[2], s[1]) for s in restored["sent"]]
    assert sent[0][0] == "system" and "restarted" in sent[0][1]  # the restart told the office
    # the escalation step that fell due while the hub was down is sent, not forgotten
    assert [purpose for purpose, _ in sent[1:]] == ["alarm"]


def test_heartbeat_report_goes_to_the_first_recipient(make_config):
    from hubd.clock import FakeClock
    # 09:59 local: the 10:00 heartbeat is a minute away
    clock = FakeClock(mono=0.0, local=20000 * 86400.0 + 9 * H + 59 * 60)
    config = make_config(alerts={"heartbeat_hours": 24, "heartbeat_time": "10:00"})
    up = RecordingUplink()
    daemon = make_daemon(config, clock, uplink=up)

    async def scenario():
        task = asyncio.ensure_future(daemon.run())
        await settle()
        daemon.sink("hall", Kind.MOTION, 1.0, clock.monotonic())
        await advance(clock, 120)
        daemon.request_stop()
        await task

    asyncio.run(scenario())
    beats = [s for s in up.sent if s[2] == "heartbeat"]
    assert len(beats) == 1 and beats[0][0] == "+8100000001"
    assert "alive" in beats[0][1] and "Mode watching. Open alerts 0." in beats[0][1]
    assert up.labels[up.sent.index(beats[0])] == Tag(config.hub.flat_id, "heartbeat", None, 0)


def test_a_text_of_a_type_without_a_tag_code_is_still_sent(make_config, clock, caplog):
    """The tag serves the desk; an alarm must never wait for it."""
    from hubd.core.actions import SendSms
    up = RecordingUplink()
    daemon = make_daemon(make_config(), clock, uplink=up)
    daemon.apply([SendSms("+8100000001", "hubd flat-1: something new", "system", 7, kind="brand_new")], clock.local())
    assert up.sent == [("+8100000001", "hubd flat-1: something new", "system", 7)] and up.labels == [None]
    assert "without its tag" in caplog.text


class CrashingUplink(RecordingUplink):
    """An uplink whose own supervision fails: its task raises twice, then runs."""

    def __init__(self, clock):
        super().__init__()
        self.clock, self.starts = clock, []

    async def run(self, conditions, inbound):
        self.starts.append(self.clock.monotonic())
        if len(self.starts) <= 2:
            raise RuntimeError("port vanished under the supervisor")
        await super().run(conditions, inbound)


def test_an_uplink_task_that_dies_is_reported_and_started_again(make_config, clock):
    config = make_config()
    up = CrashingUplink(clock)
    daemon = make_daemon(config, clock, uplink=up)

    async def scenario():
        task = asyncio.ensure_future(daemon.run())
        await settle()
        t0 = up.starts[0]
        await advance(clock, 5 * 60, step=5.0)
        assert [round(t - t0) for t in up.starts] == [0, 10, 30]  # back-off 10 s, then 20 s
        assert up.conditions is not None  # the third start runs
        texts = [text for _, text, purpose, _ in up.sent if purpose == "system"]
        assert len(texts) == 1 and "office link failing" in texts[0]
        daemon.request_stop()
        await task

    asyncio.run(scenario())
