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
