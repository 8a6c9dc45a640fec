"""Fault matrix, storage rows: the state directory fills up or turns read-only.

Faithful where the machine allows it (root with mount rights, as in the project's CI
container): a 4 MiB tmpfs really runs out of space, a loop-mounted ext4 with
``errors=remount-ro`` really turns read-only after an ext4 error (what a failing SD card
does on a Pi), and a read-only mount is what ``hubd run`` finds at start-up. Without mount
rights the read-only rows fall back to stand-ins (``PRAGMA query_only``; a state path under
a regular file) and the disk-full row is skipped: no stand-in fills a database faithfully.

What the hub must do: say clearly what failed and where (the log names the database and
SQLite's reason), raise the local alarm (buzzer/LED ``fault`` through the ``storage``
sensor_fault alert), keep watching, keep unflushed events in memory, and recover by itself
when space comes back.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys

import sqlite3

import pytest

from hubd.clock import FakeClock
from hubd.control.commands import Commands
from hubd.daemon import STORAGE_CALM_S
from hubd.modem.outbox import Outbox
from hubd.modem.service import NoModem
from hubd.store import RESERVE_BYTES, Store, StoreError
from hubsim.modem import ModemEmulator

from faultrig import HOUR, MIN, OFFICE, Rig, run


def _mount(*args: str) -> bool:
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


def _umount(path: str) -> None:
    subprocess.run(["umount", "-l", path], capture_output=True)


@pytest.fixture
def tiny_fs(tmp_path):
    """A 4 MiB tmpfs (the database, its WAL and the 512 KiB outbox reserve fit), or None where mounting
    is not allowed."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if not _mount("-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)):
        yield None
        return
    try:
        yield str(mnt)
    finally:
        _umount(str(mnt))


def fill(directory: str) -> None:
    """Write a ballast file until the filesystem says it is full."""
    fd = os.open(os.path.join(directory, "ballast"), os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == 28  # ENOSPC
    finally:
        os.close(fd)


def test_disk_full_is_a_clear_error_and_a_local_alarm_and_nothing_waits_lost(tmp_path, tiny_fs, caplog):
    if tiny_fs is None:  # SQLite's max_page_count is no stand-in: rows still fit in half-full pages
        pytest.skip("needs root to mount a 4 MiB tmpfs (the project's CI container has it)")
    state = os.path.join(tiny_fs, "state")
    rig = Rig(tmp_path, state_dir=state)
    store = rig.store

    async def body(rig):
        await rig.motion("kitchen_pir")
        await rig.run_for(2 * MIN)
        fill(tiny_fs)
        for sensor in ("hall_pir", "kitchen_pir", "hall_pir"):
            await rig.motion(sensor)
            await rig.run_for(2 * MIN)
        assert not rig.daemon.storage_ok
        [alert] = rig.open_alerts("sensor_fault")
        assert alert.key == "storage" and rig.hardware.pattern == "fault"
        assert "database or disk is full" in alert.detail["error"] and store.path in alert.detail["error"]
        assert store.pending_events >= 6  # kept in memory, not dropped
        await rig.run_for(2 * HOUR)  # the resident collapses meanwhile: the buzzer still sounds
        assert rig.hardware.pattern == "alarm" and rig.open_alerts("inactivity")
        os.unlink(os.path.join(tiny_fs, "ballast"))
        await rig.motion("hall_pir")
        await rig.run_for(2 * MIN)
        assert not rig.daemon.storage_ok  # told working again only after a calm spell
        await rig.run_for(STORAGE_CALM_S)
        assert rig.daemon.storage_ok and rig.open_alerts("sensor_fault") == []
        assert store.pending_events == 0 and store.integrity_ok()
        sensors = [e.sensor for e in store.events()]
        assert sensors.count("hall_pir") == 6 and sensors.count("kitchen_pir") == 4  # every edge kept

    with caplog.at_level(logging.ERROR, logger="hubd"):
        run(rig, body)
    assert any("database or disk is full" in r.getMessage() and state in r.getMessage() for r in caplog.records)


def on_disk(store: Store) -> dict[int, tuple]:
    """The outbox as another process would find it after a power cut."""
    db = sqlite3.connect(store.path)
    try:
        return {row[0]: row[1:] for row in db.execute("SELECT id, purpose, state FROM outbox")}
    finally:
        db.close()


@pytest.mark.parametrize("reserve", [RESERVE_BYTES, 0], ids=["reserve", "no-reserve"])
def test_disk_full_with_an_alarm_due_the_office_phone_gets_it_and_nothing_is_lost(tmp_path, tiny_fs, reserve):
    """Regression (issue 13.1): on a full disk queuing an SMS failed and the alarm was dropped; the
    office's first message was "storage working again". With the reserve the outbox's rows reach the
    disk; without it (spent, or a read-only card) they are held in memory and sent all the same."""
    if tiny_fs is None:
        pytest.skip("needs root to mount a 4 MiB tmpfs (the project's CI container has it)")
    state = os.path.join(tiny_fs, "state")
    with ModemEmulator("ec25", seed=5) as emulator:
        rig = Rig(tmp_path, emulator=emulator, store=Store(state, reserve_bytes=reserve), state_dir=state)
        store, outbox = rig.store, rig.uplink.outbox

        def texts(words: str) -> list[str]:
            return [text for number, text in rig.phone() if words in text]

        async def body(rig):
            assert await rig.until(lambda: rig.uplink.modem.ready, 30), "the modem never became ready"
            await rig.motion("kitchen_pir")
            fill(tiny_fs)
            await rig.run_for(2 * MIN)  # the next flush finds the disk full
            assert not rig.daemon.storage_ok
            assert await rig.until(lambda: texts("storage faulty"), 10 * MIN), "the office was not told"
            await rig.run_for(50 * MIN)
            assert await rig.until(lambda: texts("no activity"), 20 * MIN), "the alarm never left"
            assert rig.hardware.pattern == "alarm"
            assert await rig.until(lambda: outbox.head() is None, 5 * MIN)  # its "sent" recorded too
            held = outbox.counts()["held"]
            if reserve:  # the outbox wrote into the reserve: its rows are on disk, a power cut keeps them
                assert store.reserve_spent and held == 0
                assert ("alarm", "sent") in on_disk(store).values()
            else:  # nothing could be written: held in memory, sent all the same
                assert held >= 2 and "alarm" not in [purpose for purpose, _ in on_disk(store).values()]
            os.unlink(os.path.join(tiny_fs, "ballast"))
            await rig.motion("hall_pir")  # the resident is back
            assert await rig.until(lambda: texts("working again"), STORAGE_CALM_S + 10 * MIN, step=10.0)
            assert await rig.until(lambda: outbox.head() is None and outbox.counts()["held"] == 0, 5 * MIN)
            assert not store.reserve_spent  # space again: the reserve is back
            assert os.path.getsize(store.path + ".reserve") == reserve if reserve else True

        run(rig, body)
    storage = [text for _, text in rig.phone() if "storage" in text]
    assert len(storage) == 2 and "faulty" in storage[0] and "working again" in storage[1]  # one episode
    assert len(texts("no activity")) == 1
    rows = on_disk(store)
    assert {state for _, state in rows.values()} <= {"sent", "delivered"}  # nothing lost, all on disk
    assert {"alarm", "system", "resolved"} <= {purpose for purpose, _ in rows.values()}


@pytest.fixture
def failing_sd(tmp_path):
    """A loop-mounted ext4 with errors=remount-ro and a way to make it fail, or None."""
    image, mnt = tmp_path / "sd.img", tmp_path / "sd"
    mnt.mkdir()
    if os.geteuid() != 0 or not shutil.which("mkfs.ext4"):
        yield None
        return
    with open(image, "wb") as fh:
        fh.truncate(16 << 20)
    if subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], capture_output=True).returncode != 0 \
            or not _mount("-o", "loop,errors=remount-ro", str(image), str(mnt)):
        yield None
        return
    device = subprocess.run(["findmnt", "-n", "-o", "SOURCE", str(mnt)], capture_output=True,
                            text=True).stdout.strip()
    knob = f"/sys/fs/ext4/{os.path.basename(device)}/trigger_fs_error"

    def break_it():
        with open(knob, "w") as fh:
            fh.write("hubd test: SD card failing\n")
    try:
        yield (str(mnt), break_it) if os.path.exists(knob) else None
    finally:
        _umount(str(mnt))


def test_state_directory_turning_read_only_under_the_daemon_raises_the_local_alarm(tmp_path, failing_sd, caplog):
    state = os.path.join(failing_sd[0], "state") if failing_sd else str(tmp_path / "state")
    rig = Rig(tmp_path, state_dir=state)

    async def body(rig):
        await rig.motion("kitchen_pir")
        await rig.run_for(2 * MIN)
        if failing_sd:
            failing_sd[1]()  # an ext4 error: the kernel turns the filesystem read-only
        else:  # stand-in
            rig.store.db.execute("PRAGMA query_only=ON")
        await rig.motion("hall_pir")
        await rig.run_for(2 * MIN)
        [alert] = rig.open_alerts("sensor_fault")
        assert alert.key == "storage" and rig.hardware.pattern == "fault"
        assert rig.store.path in alert.detail["error"]
        await rig.run_for(2 * HOUR)
        assert rig.hardware.pattern == "alarm"  # still watching: the collapse is still signalled locally

    with caplog.at_level(logging.ERROR, logger="hubd"):
        run(rig, body)
    assert any(state in r.getMessage() and "write failed" in r.getMessage() for r in caplog.records)


@pytest.fixture
def read_only_dir(tmp_path):
    """A read-only mount holding an empty state directory, or a path no directory can be made at."""
    mnt = tmp_path / "ro"
    mnt.mkdir()
    if _mount("-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)):
        (mnt / "state").mkdir()
        if _mount("-o", "remount,ro", str(mnt)):
            yield str(mnt / "state")
            _umount(str(mnt))
            return
        _umount(str(mnt))
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    yield str(blocker / "state")  # ENOTDIR: the stand-in where mounting is not allowed


def test_hubd_run_on_a_read_only_state_directory_watches_and_texts_why(tmp_path, read_only_dir):
    """Regression: ``hubd run`` used to die with a traceback (and systemd to restart it for
    ever, watching nobody) when its state directory could not be opened."""
    sock = str(tmp_path / "ctl.sock")
    config = tmp_path / "hubd.toml"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(30)
    with ModemEmulator("ec25", seed=2) as emulator:
        config.write_text(f"""
[hub]
state_dir = "{read_only_dir}"
socket = "{sock}"
language = "en"
flat_id = "RO-1"
[detector]
mode = "fixed"
[alerts]
system_grace_minutes = 0
[modem]
port = "{emulator.port}"
recipients = ["{OFFICE}"]
[outputs]
led_pin = 23
[[sensors]]
id = "hall_pir"
kind = "motion"
pin = 17
""")
        env = dict(os.environ, GPIOZERO_PIN_FACTORY="mock", NOTIFY_SOCKET=str(tmp_path / "notify"))
        proc = subprocess.Popen([sys.executable, "-m", "hubd", "run", "--config", str(config)], env=env,
                                stderr=subprocess.PIPE, text=True)
        try:
            assert notify.recv(4096).startswith(b"READY=1")
            assert emulator.wait_until(lambda e: any("storage" in text for _, text in e.delivered), 30.0)
            status = subprocess.run([sys.executable, "-m", "hubd.hubctl", "--socket", sock, "--json", "status"],
                                    capture_output=True, text=True, timeout=30)
            assert status.returncode == 0, status.stderr
            shown = json.loads(status.stdout)
            assert any(a["key"] == "storage" for a in shown["alerts"]["open"])
            assert shown["alerts"]["outputs"] == "fault" and shown["storage_ok"] is False
            assert shown["monitoring"] == "degraded"
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=30)
            notify.close()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert f"cannot open state in {read_only_dir}" in err and "memory only" in err


def test_the_reserve_is_the_outboxs_alone_and_comes_back_with_space(tmp_path, tiny_fs):
    if tiny_fs is None:
        pytest.skip("needs root to mount a 4 MiB tmpfs (the project's CI container has it)")
    store = Store(os.path.join(tiny_fs, "state"))
    outbox = Outbox(store, FakeClock())
    assert os.path.getsize(store.path + ".reserve") == RESERVE_BYTES and not store.reserve_spent
    fill(tiny_fs)
    with pytest.raises(StoreError, match="database or disk is full"):
        for i in range(10_000):  # the WAL's own slack fills first
            store.audit(float(i), "hub", "padding", {"text": "x" * 500})
    message_id = outbox.add(OFFICE, "no activity", "alarm", 1, 1)
    assert outbox.on_disk(message_id) and store.reserve_spent and not os.path.exists(store.path + ".reserve")
    with pytest.raises(StoreError, match="kept for the SMS outbox"):  # nothing else may eat that space
        store.audit(0.0, "hub", "x", {})
    for step in ("sending", "sent"):  # the message's whole life fits too
        outbox.begin_attempt(message_id) if step == "sending" else outbox.finish_sent(message_id)
        assert outbox.on_disk(message_id)
    os.unlink(os.path.join(tiny_fs, "ballast"))
    store.audit(0.0, "hub", "space again", {})
    assert not store.reserve_spent and os.path.getsize(store.path + ".reserve") == RESERVE_BYTES
    store.close()


@pytest.mark.parametrize("reserve", [RESERVE_BYTES, 0], ids=["reserve", "no-reserve"])
def test_test_alert_on_a_full_disk_says_queued_only_for_a_message_on_disk(tmp_path, tiny_fs, reserve):
    """Regression (issue 13.1): ``hubctl test-alert`` answered ``queued: true`` for messages then lost."""
    if tiny_fs is None:
        pytest.skip("needs root to mount a 4 MiB tmpfs (the project's CI container has it)")
    state = os.path.join(tiny_fs, "state")
    rig = Rig(tmp_path, store=Store(state, reserve_bytes=reserve), state_dir=state)
    uplink = rig.daemon.uplink = NoModem(rig.store, rig.clock)
    try:
        fill(tiny_fs)
        reply = Commands(rig.daemon).test_alert({"to": None}, "tech")
        [message] = uplink.outbox.messages()
        assert message.purpose == "test" and message.state == "queued" and reply["sms"] == [message.id]
        if reserve:
            assert reply["queued"] is True and reply["held"] is False
        else:  # in memory only: being sent, but a restart would lose it, and the answer says so
            assert reply["queued"] is False and reply["held"] is True and "held in memory" in reply["note"]
    finally:
        rig.close()
