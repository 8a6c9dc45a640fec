"""CPU and memory of ``hubd run`` on simulated sensors at realistic rates.

    .venv/bin/python benchmarks/bench_hub.py [--seconds 120] [--warmup 15] [--detector learned|fixed|both]

A real ``hubd run`` subprocess (via benchmarks/hubd_with_resident.py: MockFactory pins the
``busy`` resident drives in real time from 08:00, the modem on the pty emulator this script
starts, the shipped defaults otherwise) is left to settle, then measured over a window:
CPU of all its threads except the one that plays the resident (percent of one core,
target < 1 %), RSS at the end and its peak (target <= 160 MB). Same-run baselines: an
idle ``python -c "import time; time.sleep(N)"`` (the floor) and the same hub with nobody
moving (``--still``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hubrun import machine, measure_cpu, start_hub, status_kb, tempdir, write_config  # noqa: E402
from hubsim.modem import ModemEmulator  # noqa: E402


def hub_figures(detector: str, seconds: float, warmup: float, still: bool) -> dict:
    workdir = tempdir("hubd-bench-")
    count = os.path.join(workdir, "edges")
    with ModemEmulator("ec25", seed=1) as emulator:
        config = write_config(workdir, emulator.port, detector=detector)
        args = ["--profile", "busy", "--count-file", count] + (["--still"] if still else [])
        hub = start_hub(workdir, config, launcher_args=args)
        try:
            ready = hub.notify.wait_ready(180)
            if ready is None:
                raise SystemExit(f"hubd never became ready; see {hub.log_path}")
            time.sleep(warmup)  # let start-up work (first SMS, modem set-up) finish before measuring
            edges_before = read_count(count)
            cpu = measure_cpu(hub.proc.pid, seconds, skip_threads=("resident",))
            edges = read_count(count) - edges_before
            rss, hwm = status_kb(hub.proc.pid, "VmRSS"), status_kb(hub.proc.pid, "VmHWM")
            threads = len(os.listdir(f"/proc/{hub.proc.pid}/task"))
        finally:
            code = hub.stop()
    return {"cpu": cpu, "rss_mb": rss / 1024, "hwm_mb": hwm / 1024, "edges": edges, "threads": threads,
            "ready_s": ready - hub.started, "exit": code}


def read_count(path: str) -> int:
    try:
        with open(path) as fh:
            return int(fh.read() or 0)
    except FileNotFoundError:
        return 0


def baseline(seconds: float) -> dict:
    proc = subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({seconds + 5})"])
    try:
        time.sleep(1.0)  # past the interpreter's start-up
        cpu = measure_cpu(proc.pid, seconds)
        rss = status_kb(proc.pid, "VmRSS")
    finally:
        proc.kill()
        proc.wait()
    return {"cpu": cpu, "rss_mb": rss / 1024}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=120.0, help="measurement window")
    p.add_argument("--warmup", type=float, default=65.0, help="settling time after READY (PIRs warm up for 60 s)")
    p.add_argument("--detector", choices=("learned", "fixed", "both"), default="both")
    args = p.parse_args()
    print(f"hubd run, CPU and RSS: {machine()}; window {args.seconds:g} s after {args.warmup:g} s", flush=True)
    floor = baseline(args.seconds)
    print(f"baseline  python sleeping: CPU {floor['cpu']:.3f} % of a core, RSS {floor['rss_mb']:.1f} MB", flush=True)
    ok = True
    for detector in (("learned", "fixed") if args.detector == "both" else (args.detector,)):
        for still in (True, False):
            f = hub_figures(detector, args.seconds, args.warmup, still)
            who = "nobody moving" if still else f"busy resident, {f['edges']} GPIO edges in the window"
            print(f"hubd run ({detector}, {who}): CPU {f['cpu']:.3f} % of a core "
                  f"(target < 1 %; {f['cpu'] - floor['cpu']:+.3f} points over the sleeping baseline), "
                  f"RSS {f['rss_mb']:.1f} MB, peak {f['hwm_mb']:.1f} MB (target <= 160 MB; "
                  f"x{f['rss_mb'] / floor['rss_mb']:.1f} the baseline), {f['threads']} threads, "
                  f"READY after {f['ready_s']:.2f} s, exit {f['exit']}", flush=True)
            ok = ok and f["cpu"] < 1.0 and f["hwm_mb"] <= 160.0 and f["exit"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
