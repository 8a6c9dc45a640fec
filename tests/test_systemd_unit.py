"""The unit file is a contract with systemd: check what the hub relies on."""

from collections import defaultdict

UNIT = "systemd/hubd.service"


def parse_unit(path):
    sections, current = defaultdict(lambda: defaultdict(list)), None
    for raw in open(path, encoding="utf-8"):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        sections[current][key.strip()].append(value.strip())
    return sections


def test_notify_watchdog_restart():
    svc = parse_unit(UNIT)["Service"]
    assert svc["Type"] == ["notify"]
    assert int(svc["WatchdogSec"][0].rstrip("s")) <= 60
    assert svc["Restart"] == ["on-failure"]
    assert svc["ExecReload"][0].endswith("-HUP $MAINPID")


def test_directories_and_numba_cache():
    svc = parse_unit(UNIT)["Service"]
    assert svc["StateDirectory"] == ["hubd"] and svc["CacheDirectory"] == ["hubd"]
    assert svc["RuntimeDirectory"] == ["hubd"]
    env = dict(e.split("=", 1) for e in svc["Environment"])
    assert env["NUMBA_CACHE_DIR"].startswith("/var/cache/hubd")
    assert env["LG_WD"] == svc["WorkingDirectory"][0] == "/run/hubd"


def test_user_groups_and_device_access():
    svc = parse_unit(UNIT)["Service"]
    assert svc["User"] == ["hubd"]
    assert set(svc["SupplementaryGroups"][0].split()) == {"gpio", "i2c", "dialout", "hubd-tech"}
    assert svc["RuntimeDirectoryMode"] == ["0751"]  # technicians can reach the socket
    allowed = {d.split()[0] for d in svc["DeviceAllow"]}
    assert {"char-gpiochip", "char-i2c", "char-ttyUSB", "char-ttyAMA", "char-ttyS"} <= allowed


def test_hardening_keeps_privacy_and_jit_working():
    svc = parse_unit(UNIT)["Service"]
    assert svc["RestrictAddressFamilies"] == ["AF_UNIX"]  # nothing leaves the flat over IP
    assert svc["IPAddressDeny"] == ["any"]
    assert svc["MemoryDenyWriteExecute"] == ["no"]  # numba JIT needs it
    assert svc["ProtectSystem"] == ["strict"]
