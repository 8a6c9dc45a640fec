"""Shared pieces of the ``hubd run`` benchmarks: a config for the simulated flat, the modem
emulator, a NOTIFY_SOCKET to time READY=1, and per-process/per-thread CPU and memory from
/proc. Not a benchmark itself."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from hubsim.resident import DEFAULT_FLAT, suggested_pins

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
LAUNCHER = os.path.join(HERE, "hubd_with_resident.py")
OFFICE = "+81300000001"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, {platform.machine()}"


def write_config(workdir: str, modem_port: str, *, detector: str = "learned", extra: str = "") -> str:
    """GPIO sensors of the simulated flat on their suggested pins, outputs, the modem; shipped defaults else."""
    pins = suggested_pins()
    lines = [f'[hub]\nflat_id = "BENCH-1"\nlanguage = "en"\nstate_dir = "{workdir}/state"\n'
             f'socket = "{workdir}/ctl.sock"\n',
             f'[detector]\nmode = "{detector}"\n',
             f'[modem]\nport = "{modem_port}"\nrecipients = ["{OFFICE}"]\n',
             "[outputs]\nbuzzer_pin = 18\nled_pin = 23\nbutton_pin = 24\n", extra]
    for s in DEFAULT_FLAT:
        if s.id in pins:
            lines.append(f'[[sensors]]\nid = "{s.id}"\nkind = "{s.kind.label}"\npin = {pins[s.id]}\n'
                         f'role = "{s.role}"\n')
    path = os.path.join(workdir, "hubd.toml")
    with open(path, "w") as fh:
        fh.write("\n".join(lines))
    return path


class Notify:
    """Our own NOTIFY_SOCKET: the daemon's READY=1 arrives here."""

    def __init__(self, workdir: str):
        self.path = os.path.join(workdir, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)

    def wait_ready(self, timeout: float) -> float | None:
        """time.monotonic() when READY=1 arrived, or None."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                return None
            if b"READY=1" in data.split(b"\n"):
                return time.monotonic()

    def close(self) -> None:
        self.sock.close()


@dataclass
class Hub:
    proc: subprocess.Popen
    started: float  # time.monotonic() just before the process was started
    notify: Notify
    log_path: str

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.notify.close()
        return self.proc.returncode


def start_hub(workdir: str, config: str, *, launcher_args: list[str] | None = None, env: dict | None = None,
              plain: bool = False) -> Hub:
    """``hubd run`` (``plain``) or the resident launcher, with our NOTIFY_SOCKET."""
    notify = Notify(workdir)
    environment = dict(os.environ, GPIOZERO_PIN_FACTORY="mock", NOTIFY_SOCKET=notify.path, **(env or {}))
    if plain:
        argv = [sys.executable, "-m", "hubd", "run", "--config", config]
    else:
        argv = [sys.executable, LAUNCHER, config, *(launcher_args or [])]
    log_path = os.path.join(workdir, "hubd.log")
    with open(log_path, "w") as log:
        started = time.monotonic()
        proc = subprocess.Popen(argv, env=environment, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    return Hub(proc, started, notify, log_path)


def cpu_seconds(pid: int, skip_threads: tuple[str, ...] = ()) -> float:
    """CPU time of every thread of ``pid`` except those whose comm is in ``skip_threads``:
    nanoseconds from /proc/PID/task/TID/schedstat, clock ticks from .../stat without it."""
    total = 0.0
    for tid in os.listdir(f"/proc/{pid}/task"):
        base = f"/proc/{pid}/task/{tid}"
        try:
            with open(f"{base}/comm") as fh:
                if fh.read().strip() in skip_threads:
                    continue
            try:
                with open(f"{base}/schedstat") as fh:
                    total += int(fh.read().split()[0]) / 1e9
                    continue
            except OSError:
                pass
            with open(f"{base}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime
        except OSError:
            continue  # a thread that ended meanwhile
    return total


def status_kb(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def measure_cpu(pid: int, seconds: float, skip_threads: tuple[str, ...] = ()) -> float:
    """Percent of one core used by ``pid`` over ``seconds`` of wall time."""
    before, t0 = cpu_seconds(pid, skip_threads), time.monotonic()
    time.sleep(seconds)  # the measurement window itself
    after, t1 = cpu_seconds(pid, skip_threads), time.monotonic()
    return 100.0 * (after - before) / (t1 - t0)


def tempdir(prefix: str) -> str:
    return tempfile.mkdtemp(prefix=prefix)
