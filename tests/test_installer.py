"""systemd/install.sh against a throw-away root: files and modes, idempotency, upgrade, uninstall.

No real systemctl, useradd or chown: ``HUBD_INSTALL_DRYRUN_CMDS`` records them. Between runs
the test plays the system's part for what the first run asked (the user appears in
/etc/passwd, the unit's wants-link appears, chown happens), so the second run can show that it
sees all of it done and asks for nothing again. The pip install into the venv is real and
offline: hubd from a copy of this checkout, its dependencies from a local wheel dir made of
the distributions this test run itself has installed. So the config check and the numba
warm-up run for real too.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
SERVICE_UID = SERVICE_GID = 995  # what the played system gives the hubd user

# The tail of Raspberry Pi OS Bookworm's /boot/firmware/config.txt: I2C commented out, and a
# [cm5] section last, so a line appended without [all] would only apply to a CM5.
CONFIG_TXT = """# Uncomment some or all of these to enable the optional hardware interfaces
#dtparam=i2c_arm=on
#dtparam=spi=on

[cm5]
dtoverlay=dwc2,dr_mode=host
"""


def _offline_python() -> str | None:
    """A Python that can make a venv with pip and build hubd without network (setuptools + wheel)."""
    for candidate in ("/usr/bin/python3", shutil.which("python3")):
        if candidate and subprocess.run([candidate, "-c", "import venv, ensurepip, setuptools, wheel"],
                                        capture_output=True).returncode == 0:
            return candidate
    return None


PYTHON = _offline_python()
pytestmark = [
    pytest.mark.skipif(shutil.which("bash") is None, reason="systemd/install.sh is a bash script; bash is missing"),
    pytest.mark.skipif(PYTHON is None, reason="no python3 with venv, ensurepip, setuptools and wheel "
                                              "(Debian: python3-venv python3-wheel) to build hubd offline"),
]


def dependency_names(project: str = "hubd") -> set[str]:
    """hubd's run-time dependencies, transitively, as installed here (no extras)."""
    found, todo = set(), [project]
    while todo:
        for text in metadata.requires(todo.pop()) or []:
            req = Requirement(text)
            if (req.marker is None or req.marker.evaluate({"extra": ""})) and req.name not in found:
                found.add(req.name)
                todo.append(req.name)
    return found


def wheel_of_installed(name: str, dest: Path) -> Path:
    """A wheel rebuilt from an installed distribution's RECORD (pip recreates the scripts)."""
    dist = metadata.distribution(name)
    site = Path(dist.locate_file(""))
    tags = [line.split(": ", 1)[1].split("-") for line in dist.read_text("WHEEL").splitlines()
            if line.startswith("Tag: ")]
    tag = "-".join(".".join(sorted({t[i] for t in tags})) for i in range(3))
    path = dest / f"{dist.metadata['Name'].replace('-', '_')}-{dist.version}-{tag}.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as whl:
        for rel in dist.files:
            if "__pycache__" in rel.parts or ".." in rel.parts or not (site / rel).is_file():
                continue
            whl.write(site / rel, str(rel))
    return path


def copy_checkout(dest: Path) -> Path:
    """The parts of the checkout the installer reads; a copy so that an upgrade can be faked."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("pyproject.toml", "README.md", "config.example.toml"):
        shutil.copy2(REPO / name, dest / name)
    for name in ("hubd", "systemd"):
        shutil.copytree(REPO / name, dest / name, ignore=ignore)
    return dest


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under root: type, mode, owner, mtime and content hash (or link target)."""
    found = {}
    for top, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(top, name)
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                what = ("link", os.readlink(path))
            elif stat.S_ISREG(st.st_mode):
                what = ("file", hashlib.sha256(path.read_bytes()).hexdigest())
            else:
                what = ("dir",)
            found[str(path.relative_to(root))] = (*what, st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns)
    return found


def sysusers_effect(root: Path) -> None:
    """/etc/passwd and /etc/group as systemd-sysusers would leave them after hubd.sysusers."""
    members: dict[str, list[str]] = {}
    for line in (REPO / "systemd/hubd.sysusers").read_text().splitlines():
        words = line.split()
        if words[:1] == ["u"]:
            members.setdefault(words[1], [])
        elif words[:1] == ["g"]:
            members.setdefault(words[1], [])
        elif words[:1] == ["m"]:
            members.setdefault(words[2], []).append(words[1])
    gids = {name: SERVICE_GID if name == "hubd" else 900 + i for i, name in enumerate(members)}
    (root / "etc/passwd").write_text(f"hubd:x:{SERVICE_UID}:{SERVICE_GID}:hubd sensor hub:/var/lib/hubd:"
                                     "/usr/sbin/nologin\n")
    (root / "etc/group").write_text("".join(f"{g}:x:{gids[g]}:{','.join(m)}\n" for g, m in members.items()))


def play_system(root: Path, commands: list[str]) -> None:
    """What the recorded commands would have done on a real system."""
    for line in commands:
        words = line.split()
        if words[0] in ("systemd-sysusers", "useradd", "groupadd", "usermod"):
            sysusers_effect(root)
        elif words[:1] == ["systemctl"] and "enable" in words:
            wants = root / "etc/systemd/system/multi-user.target.wants"
            wants.mkdir(parents=True, exist_ok=True)
            (wants / "hubd.service").symlink_to("/etc/systemd/system/hubd.service")
        elif words[0] == "chown" and os.geteuid() == 0:
            user, group = words[1].split(":")
            ids = {"root": 0, "hubd": SERVICE_UID}
            os.chown(words[2], int(ids.get(user, user)), int(ids.get(group, group)))


class Installer:
    def __init__(self, base: Path):
        self.root = base / "root"
        self.log = base / "commands.log"
        (base / "checkout").mkdir()
        self.checkout = copy_checkout(base / "checkout")
        (self.root / "boot/firmware").mkdir(parents=True)
        (self.root / "boot/firmware/config.txt").write_text(CONFIG_TXT)

        self.wheels = base / "wheels"
        self.wheels.mkdir()
        for name in dependency_names():
            wheel_of_installed(name, self.wheels)

    def run(self, *args: str) -> tuple[subprocess.CompletedProcess, list[str]]:
        """One run of install.sh; returns its output and the commands it recorded."""
        start = len(self.log.read_text().splitlines()) if self.log.exists() else 0
        pip_offline = f"--no-index --find-links {self.wheels} --no-build-isolation"
        env = {**os.environ, "HUBD_INSTALL_DRYRUN_CMDS": str(self.log), "HUBD_INSTALL_PIP_ARGS": pip_offline}
        env.pop("HUBD_ROOT", None)
        proc = subprocess.run(["bash", str(self.checkout / "systemd/install.sh"), "--root", str(self.root),
                               "--python", PYTHON, *args],
                              env=env, capture_output=True, text=True, timeout=300)
        commands = self.log.read_text().splitlines()[start:] if self.log.exists() else []
        return proc, commands


class Runs:
    """The whole life of an installation, run once for the module: the tests read what happened."""


@pytest.fixture(scope="module")
def life(tmp_path_factory) -> Runs:
    inst = Installer(tmp_path_factory.mktemp("installer"))
    r = Runs()
    r.root, r.checkout = inst.root, inst.checkout
    r.first, r.first_cmds = inst.run()
    assert r.first.returncode == 0, r.first.stdout + r.first.stderr
    # What the first run left, kept for the tests (the venv is probed now rather than copied).
    r.first_root = tmp_path_factory.mktemp("after_first") / "root"
    shutil.copytree(inst.root, r.first_root, symlinks=True, ignore=shutil.ignore_patterns("venv"))
    r.venv_probe = subprocess.run([str(inst.root / "opt/hubd/venv/bin/python"), "-c",
                                   "import hubd, importlib.metadata as m; print(m.version('hubd'), hubd.__file__)"],
                                  capture_output=True, text=True, cwd="/")
    play_system(inst.root, r.first_cmds)
    config = inst.root / "etc/hubd/config.toml"
    config.write_text(config.read_text() + "\n# site edit: flat A-101, wired 2026-01-05\n")
    r.before_second = snapshot(inst.root)
    r.second, r.second_cmds = inst.run()
    r.after_second = snapshot(inst.root)
    r.config_after_second = config.read_text()

    # The daemon has run for a while; then a new version is installed over it.
    state = inst.root / "var/lib/hubd"
    (state / "hub.sqlite").write_text("learned rhythm")
    (inst.root / "var/cache/hubd/numba/old_kernel.nbi").write_text("machine code of the old version")
    with open(inst.checkout / "hubd/__init__.py", "a") as fh:
        fh.write("# upgrade\n")
    r.upgrade, r.upgrade_cmds = inst.run()
    r.after_upgrade = snapshot(inst.root)
    r.config_after_upgrade = config.read_text()
    r.state_after_upgrade = (state / "hub.sqlite").read_text()
    [installed] = inst.root.glob("opt/hubd/venv/lib/python3*/site-packages/hubd/__init__.py")
    r.installed_init_after_upgrade = installed.read_text()

    r.uninstall, r.uninstall_cmds = inst.run("--uninstall")
    r.after_uninstall = snapshot(inst.root)
    r.config_after_uninstall = config.read_text()
    r.purge, r.purge_cmds = inst.run("--uninstall", "--purge")
    r.after_purge = snapshot(inst.root)
    return r


def mode(root: Path, rel: str) -> int:
    return stat.S_IMODE((root / rel).stat().st_mode)


def test_first_run_installs_files_with_their_modes(life):
    root = life.first_root
    assert mode(root, "etc/hubd/config.toml") == 0o640
    assert (root / "etc/hubd/config.toml").read_bytes() == (REPO / "config.example.toml").read_bytes()
    assert mode(root, "etc/systemd/system/hubd.service") == 0o644
    assert (root / "etc/systemd/system/hubd.service").read_bytes() == (REPO / "systemd/hubd.service").read_bytes()
    assert (root / "etc/sysusers.d/hubd.conf").read_bytes() == (REPO / "systemd/hubd.sysusers").read_bytes()
    assert mode(root, "etc/udev/rules.d/99-hubd-modem.rules") == 0o644
    watchdog = (root / "etc/systemd/system.conf.d/hubd-watchdog.conf").read_text()
    assert "RuntimeWatchdogSec=14s" in watchdog  # bcm2835_wdt allows at most 15 s
    assert (root / "etc/modules-load.d/hubd-i2c.conf").read_text() == "i2c-dev\n"
    assert mode(root, "var/lib/hubd") == 0o750
    assert (root / "var/cache/hubd/numba").is_dir()
    assert os.readlink(root / "usr/local/bin/hubctl") == "/opt/hubd/venv/bin/hubctl"
    assert "hubd: " in life.first.stdout and "change(s) made" in life.first.stdout


def test_pip_really_installed_the_project_into_the_venv(life):
    assert life.venv_probe.returncode == 0, life.venv_probe.stderr
    version, where = life.venv_probe.stdout.split()
    assert version == "0.1.0" and where.startswith(str(life.root / "opt/hubd/venv/lib"))
    # the config check ran through the venv's hubd, as the service user would
    assert "config.toml: ok" in life.first.stdout


def test_numba_cache_is_warmed_once_and_rebuilt_after_an_upgrade(life):
    if not (REPO / "hubd/detector/kernels.py").exists():
        pytest.skip("no numba kernels in this tree")
    cache = [k for k in life.before_second if k.startswith("var/cache/hubd/numba/") and k.endswith(".nbi")]
    assert cache, life.first.stdout  # one index per compiled kernel
    assert "numba kernels compiled into the cache as hubd" in life.first.stdout
    assert "numba cache already warm" in life.second.stdout
    assert "cleared the numba cache of the previous version" in life.upgrade.stdout
    assert "numba kernels compiled into the cache as hubd" in life.upgrade.stdout
    warm = [c for c in life.first_cmds if c.startswith("as hubd: ") and "Engine(config).restore" in c]
    assert warm and "NUMBA_CACHE_DIR=" + str(life.root) + "/var/cache/hubd/numba" in warm[0]


def test_first_run_asks_the_system_for_user_and_enable(life):
    cmds = life.first_cmds
    root = str(life.root)
    assert f"systemd-sysusers --root={root} {root}/etc/sysusers.d/hubd.conf" in cmds or \
        any(c.startswith("useradd ") for c in cmds)
    assert f"systemctl --root={root} enable hubd.service" in cmds
    assert f"chown root:hubd {root}/etc/hubd/config.toml" in cmds
    assert f"chown hubd:hubd {root}/var/cache/hubd/numba" in cmds
    as_hubd = [c for c in cmds if c.startswith("as hubd: ")]
    assert any("NUMBA_CACHE_DIR=" + root + "/var/cache/hubd/numba" in c and "config check" in c for c in as_hubd)
    # a staged root has no running systemd or live Pi to talk to
    assert not any(c.startswith(("systemctl daemon-reload", "systemctl try-restart", "raspi-config", "udevadm"))
                   for c in cmds)


def test_config_txt_gets_the_i2c_line_once(life):
    assert life.before_second["boot/firmware/config.txt"] == life.after_purge["boot/firmware/config.txt"]
    text = (life.root / "boot/firmware/config.txt").read_text()  # after install, reinstall, upgrade, purge
    lines = text.splitlines()
    assert lines.count("dtparam=i2c_arm=on") == 1
    assert "#dtparam=i2c_arm=on" in lines  # the stock comment is left alone
    # appended under [all], not inside the trailing [cm5] section
    assert lines.index("[all]") > lines.index("[cm5]") and lines.index("dtparam=i2c_arm=on") > lines.index("[all]")


def test_second_run_changes_no_file(life):
    before, after = life.before_second, life.after_second
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert changed == []
    assert "site edit: flat A-101" in life.config_after_second
    assert "nothing to do" in life.second.stdout
    assert life.second.returncode == 0, life.second.stderr


def test_second_run_asks_the_system_for_nothing_again(life):
    """Only the as-hubd runs (config check) repeat: no user, group, chown or enable command."""
    repeated = [c for c in life.second_cmds if not c.startswith("as hubd: ")]
    if os.geteuid() != 0:  # the test could not play chown, so the installer rightly asks again
        repeated = [c for c in repeated if not c.startswith("chown ")]
    assert repeated == []


def test_upgrade_reinstalls_code_and_keeps_config_and_state(life):
    out = life.upgrade.stdout
    assert life.upgrade.returncode == 0, life.upgrade.stderr
    assert "installed hubd 0.1.0" in out and "kept existing" in out
    assert life.installed_init_after_upgrade.endswith("# upgrade\n")
    assert "site edit: flat A-101" in life.config_after_upgrade
    assert life.state_after_upgrade == "learned rhythm"
    assert "var/cache/hubd/numba/old_kernel.nbi" not in life.after_upgrade  # compiled for the old code
    assert [c for c in life.upgrade_cmds if not c.startswith("as hubd: ")] == []


def test_uninstall_keeps_state_and_config(life):
    after, root = life.after_uninstall, str(life.root)
    assert life.uninstall.returncode == 0, life.uninstall.stderr
    for gone in ("etc/systemd/system/hubd.service", "opt/hubd", "var/cache/hubd", "usr/local/bin/hubctl",
                 "etc/udev/rules.d/99-hubd-modem.rules", "etc/systemd/system.conf.d/hubd-watchdog.conf"):
        assert gone not in after, gone
    assert "var/lib/hubd/hub.sqlite" in after
    assert "site edit: flat A-101" in life.config_after_uninstall
    assert f"systemctl --root={root} disable hubd.service" in life.uninstall_cmds
    assert not any(c.startswith("userdel") for c in life.uninstall_cmds)


def test_purge_removes_state_config_and_user(life):
    after = life.after_purge
    assert life.purge.returncode == 0, life.purge.stderr
    assert not any(k.startswith(("var/lib/hubd", "etc/hubd", "etc/sysusers.d/hubd.conf")) for k in after)
    assert f"userdel --prefix {life.root} hubd" in life.purge_cmds


def test_purge_needs_uninstall(tmp_path):
    proc = subprocess.run(["bash", str(REPO / "systemd/install.sh"), "--purge", "--root", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "--purge only goes with --uninstall" in proc.stderr
