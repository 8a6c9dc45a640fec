"""``hubd replay`` throughput: the bulk path against the per-event path, in the same run.

    .venv/bin/python benchmarks/bench_replay.py            # real month + busy year (about 6 min)
    .venv/bin/python benchmarks/bench_replay.py --quick    # per-event baseline of the year on its first 30 days

For the real month (``../shared/data/kasteren_house_a.csv``) and a synthetic busy year
(``bench_detector.simulate(BUSY, 365)``, written as an event CSV, 4.4 M events), prints
events/s for

  (a) loading the CSV: ``replay.loader.load_event_log`` (vectorised scanner) vs ``events.read_events``
      (the strict per-row reader, building Event objects);
  (b) the engine: ``replay.bulk.handle_batch`` on the loaded columns vs ``replay.per_event.Replayer``
      feeding one Event at a time (default config: learned detector, sensor health, policy);
      the action lists are compared for equality;
  (c) ``hubd replay FILE --json`` end to end in a fresh process (interpreter start, imports,
      numba cache load, read, replay, print) vs ``hubd replay FILE --json --per-event``;
      the two outputs are compared byte for byte; peak RSS of each.

Timings are the best of ``--repeat`` runs; the numba cache is warmed first. One core:
nothing here runs in parallel.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from hubd.config import parse_config  # noqa: E402
from hubd.core.engine import Engine  # noqa: E402
from hubd.events import read_events  # noqa: E402
from hubd.replay.per_event import Replayer  # noqa: E402
from hubd.replay.bulk import handle_batch  # noqa: E402
from hubd.replay.loader import load_event_log  # noqa: E402

KINDS = np.array(["motion", "presence", "door", "entrance", "appliance", "button"])


def real_month() -> Path:
    for p in (ROOT.parent / "shared" / "data" / "kasteren_house_a.csv", Path("/work/shared/data/kasteren_house_a.csv")):
        if p.exists():
            return p
    raise SystemExit("the real month (../shared/data/kasteren_house_a.csv) is missing")


def write_busy_year(path: Path, days: int = 365) -> int:
    """The synthetic busy home of bench_detector as an event CSV (whole seconds, naive local time)."""
    from bench_detector import BUSY, simulate

    b = simulate(BUSY, days, seed=0)
    stamps = np.datetime_as_string(np.floor(b.local).astype(np.int64).astype("datetime64[s]"), unit="s")
    names = np.array(b.sensors)[b.sensor]
    whole = b.value == np.floor(b.value)
    values = np.where(whole, np.char.mod("%d", b.value.astype(np.int64)), "")
    if (~whole).any():  # events.format_value: repr of the float
        values[~whole] = [repr(float(v)) for v in b.value[~whole]]
    rows = np.char.add(np.char.add(np.char.add(np.char.add(np.char.add(np.char.add(stamps, ","), names), ","),
                                               KINDS[b.kind]), ","), values)
    with open(path, "w") as fh:
        fh.write("time,sensor,kind,value\n")
        fh.write("\n".join(rows.tolist()))
        fh.write("\n")
    return len(b)


def best(fn, repeat: int) -> tuple[float, object]:
    out, t_best = None, float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        t_best = min(t_best, time.perf_counter() - t)
    return t_best, out


def per_event(events, config) -> list:
    actions: list = []
    runner = Replayer(Engine(config), on_actions=actions.extend)
    for ev in events:
        runner.feed(ev)
    return actions


def fresh_process(path: Path, extra: list[str], env: dict) -> tuple[float, bytes, int]:
    """Wall time of ``hubd replay`` in a new interpreter, its stdout, and its peak RSS in kB."""
    code = ("import sys\nfrom hubd.cli import main\nrc = main(sys.argv[1:])\nsys.stdout.flush()\n"
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
            "sys.stderr.write('maxrss %s\\n' % hwm)\nsys.exit(rc)\n")
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, "replay", str(path), "--json", *extra], env=env,
                          capture_output=True, cwd=str(ROOT))
    wall = time.perf_counter() - t
    if done.returncode:
        raise RuntimeError(done.stderr.decode())
    rss = int(done.stderr.decode().split("maxrss")[-1].split()[0])
    return wall, done.stdout, rss


def head_bytes(data: bytes, rows: int) -> bytes:
    """The header and the first ``rows`` rows."""
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    return data[:int(ends[rows]) + 1] if rows < len(ends) else data


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds / 1e6:6.3f} M events/s" if n / seconds >= 1e5 else f"{n / seconds / 1e3:7.1f} k events/s"


def bench(name: str, path: Path, config, repeat: int, baseline_events: int | None, env: dict) -> dict:
    data = path.read_bytes()
    n_rows = data.count(b"\n") - 1
    print(f"\n== {name}: {path.name}, {len(data) / 1e6:.1f} MB, {n_rows:,} rows")
    res: dict = {"name": name, "rows": n_rows}

    # (a) load
    t_load, log = best(lambda: load_event_log(data), repeat)
    n = len(log)
    base_rows = n if baseline_events is None else min(n, baseline_events)
    if base_rows == n:
        t_strict, events = best(lambda: read_events(open(path, newline="", encoding="utf-8")), 1)
    else:  # the strict reader on the first rows only (memory: 4 M Event objects are ~1.5 GB)
        head = head_bytes(data, base_rows).decode()
        import io

        t_strict, events = best(lambda: read_events(io.StringIO(head)), 1)
    assert events == log.events()[:len(events)] if base_rows <= 500_000 else len(events) == base_rows
    res["load"] = (n / t_load, len(events) / t_strict)
    print(f"(a) load CSV        bulk {rate(n, t_load)}  ({t_load:.3f} s)   strict reader "
          f"{rate(len(events), t_strict)} on {len(events):,} rows   ratio {t_strict / len(events) * n / t_load:6.1f}x")

    # (b) engine
    batch = log.batch()
    t_bulk, actions = best(lambda: handle_batch(Engine(config), batch), repeat)
    t_pe, ref_actions = best(lambda: per_event(events, config), 1)
    if len(events) == n:
        assert actions == ref_actions, "bulk and per-event actions differ"
        same = "identical actions"
    else:
        head_actions = handle_batch(Engine(config), log.batch(len(events)))
        assert head_actions == ref_actions, "bulk and per-event actions differ"
        same = f"identical actions on the first {len(events):,}"
    res["engine"] = (n / t_bulk, len(events) / t_pe)
    print(f"(b) engine          bulk {rate(n, t_bulk)}  ({t_bulk:.3f} s)   per-event {rate(len(events), t_pe)} "
          f"({t_pe:.1f} s)   ratio {t_pe / len(events) * n / t_bulk:6.1f}x   {same}, {len(actions)} actions")
    del events, ref_actions

    # (c) end to end, fresh process
    walls = [fresh_process(path, [], env) for _ in range(repeat)]
    wall, out, rss = min(walls, key=lambda w: w[0])
    if baseline_events is None or baseline_events >= n:
        ref_path, ref_n = path, n
    else:
        ref_path = Path(env["BENCH_TMP"]) / f"{name}-head.csv"
        ref_path.write_bytes(head_bytes(data, base_rows))
        ref_n = base_rows
    pe_wall, pe_out, pe_rss = fresh_process(ref_path, ["--per-event"], env)
    if ref_path == path:
        assert out == pe_out, "hubd replay output differs from --per-event"
        same = "byte-identical output"
    else:
        head_out = fresh_process(ref_path, [], env)[1]
        assert head_out == pe_out, "hubd replay output differs from --per-event"
        same = f"byte-identical output on the first {ref_n:,}"
    res["e2e"] = (n / wall, ref_n / pe_wall)
    print(f"(c) hubd replay     bulk {rate(n, wall)}  ({wall:.2f} s, {rss / 1024:.0f} MB)   per-event "
          f"{rate(ref_n, pe_wall)} ({pe_wall:.1f} s, {pe_rss / 1024:.0f} MB)   ratio {pe_wall / ref_n * n / wall:6.1f}x   "
          f"{same}, {out.count(b'{')} alerts")
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="per-event baseline of the year on its first 30 days only")
    ap.add_argument("--days", type=int, default=365, help="days of the synthetic busy home (default 365)")
    args = ap.parse_args()
    import numba

    print(f"python {sys.version.split()[0]}, numba {numba.__version__}, numpy {np.__version__}, one core "
          f"(nproc {os.cpu_count()}); default config (learned detector, sensor health, alert policy)")
    config = parse_config({}, "(defaults)")
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, PYTHONPATH=str(ROOT), BENCH_TMP=tmp)
        env.pop("NUMBA_DISABLE_JIT", None)
        year = Path(tmp) / "busy_year.csv"
        t = time.perf_counter()
        n_year = write_busy_year(year, args.days)
        print(f"busy home, {args.days} days: {n_year:,} events written in {time.perf_counter() - t:.1f} s")
        month = real_month()
        fresh_process(month, [], env)  # warm the numba cache (compiles nothing if it is warm already)
        warm = load_event_log(month.read_bytes())  # and load the kernels into this process
        handle_batch(Engine(config), warm.batch())
        bench("real month", month, config, args.repeat, None, env)
        bench("busy year", year, config, args.repeat, 340_000 if args.quick else None, env)
    print(f"\npeak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB "
          "(the per-event baseline holds every Event object)")


if __name__ == "__main__":
    main()
