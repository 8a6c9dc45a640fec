import json
import subprocess
import sys
import time

import pytest

from hubd import cli



def test_replay_json_lines_follow_design(capsys, real_log):
    assert cli.main(["replay", real_log, "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out, "a month of real life with a 2-day absence must raise something"
    lines = [json.loads(line) for line in out]
    for line in lines:
        assert list(line)[:3] == ["time", "type", "category"]
        assert line["category"] in ("resident", "system")
        assert len(line["time"]) == 19 and "+" not in line["time"]  # naive input, naive output
    assert [l["time"] for l in lines] == sorted(l["time"] for l in lines)


def test_replay_until_extends_past_last_event(tmp_path, capsys):
    csv = tmp_path / "e.csv"
    csv.write_text("time,sensor,kind,value\n2020-01-01T08:00:00+09:00,hall,motion,1\n")
    cfg = tmp_path / "c.toml"
    cfg.write_text('[detector]\nmode = "fixed"\nmax_inactivity_hours = 2\n')
    assert cli.main(["replay", str(csv), "--config", str(cfg), "--json"]) == 0
    assert capsys.readouterr().out == ""  # ends at the last event
    assert cli.main(["replay", str(csv), "--config", str(cfg), "--json", "--until", "2020-01-01T12:00:00+09:00"]) == 0
    (line,) = [json.loads(l) for l in capsys.readouterr().out.splitlines()]
    assert line["time"] == "2020-01-01T10:00:00+09:00" and line["type"] == "inactivity"


def test_replay_bad_row_exits_2_with_line(tmp_path, capsys):
    csv = tmp_path / "e.csv"
    csv.write_text("time,sensor,kind,value\n2020-01-01T08:00:00,hall,motion,1\n2020-01-01T07:00:00,hall,motion,1\n")
    assert cli.main(["replay", str(csv)]) == 2
    assert "line 3" in capsys.readouterr().err


def test_replay_of_a_month_takes_seconds(real_log):
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "hubd", "replay", real_log, "--json"], capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    assert result.returncode == 0, result.stderr
    assert elapsed < 20, f"replay took {elapsed:.1f} s"


def _both_modes(capsys, path):
    for mode in ([], ["--per-event"]):
        code = cli.main(["replay", str(path), *mode])
        yield code, capsys.readouterr().err


def test_replay_of_bytes_that_are_not_utf8_is_one_line_with_its_number(tmp_path, capsys):
    """Was a UnicodeDecodeError traceback (issue 13, item 7), in both the bulk and the per-event path."""
    csv = tmp_path / "e.csv"
    csv.write_bytes(b"time,sensor,kind,value\n2020-01-01T08:00:00,hall,motion,1\n2020-01-01T09:00:00,h\xe4ll,motion,1\n")
    for code, err in _both_modes(capsys, csv):
        assert code == 2 and err == "error: line 3: not UTF-8 text (byte 0xe4)\n"


def test_replay_of_a_csv_without_its_header_is_refused(tmp_path, capsys):
    """Was 'N events' or 0 events and exit 0: the header is the contract (DESIGN.md)."""
    csv = tmp_path / "e.csv"
    csv.write_text("2020-01-01T08:00:00,hall,motion,1\n2020-01-01T09:00:00,hall,motion,1\n")
    for code, err in _both_modes(capsys, csv):
        assert code == 2 and err.count("\n") == 1
        assert err.startswith("error: line 1: expected the header time,sensor,kind,value, got '2020-01-01T08:00:00")


def test_replay_reads_stdin_as_bytes(tmp_path, capsys, monkeypatch):
    import io

    data = b"time,sensor,kind,value\n2020-01-01T08:00:00,\xff,motion,1\n"
    for mode in ([], ["--per-event"]):
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
        assert cli.main(["replay", "-", *mode]) == 2
        assert capsys.readouterr().err == "error: line 2: not UTF-8 text (byte 0xff)\n"


def test_a_terminal_is_told_when_the_kernels_compile_and_a_pipe_is_not(tmp_path):
    """Issue 16: the first `hubd replay` was silent for 11.6 s while numba compiled. On a terminal
    one line says so, once; a pipe (scripts, --json consumers) gets nothing."""
    import os
    import pty

    from numba import njit
    from numba.core import event

    master, slave = pty.openpty()
    terminal = os.fdopen(slave, "w")
    notice = cli.say_when_compiling(terminal)
    try:
        assert notice is not None

        @njit(cache=False)
        def fresh(x):  # never compiled before: a compile event
            return x * 3

        @njit(cache=False)
        def another(x):
            return x - 1

        assert fresh(2) == 6 and another(2) == 1
        told = os.read(master, 4096).decode()
    finally:
        event.unregister("numba:compile", notice)
        terminal.close()
        os.close(master)
    assert told.count("compiling the detector's kernels") == 1 and "cached afterwards" in told
    with open(tmp_path / "pipe.txt", "w") as not_a_terminal:
        assert cli.say_when_compiling(not_a_terminal) is None
