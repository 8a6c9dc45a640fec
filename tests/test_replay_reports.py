"""``hubd replay --reports``: drift reports as JSON lines beside the alerts; without it, alerts only."""

from __future__ import annotations

import json

from hubd import cli
from hubd.events import write_events

from rhythm_life import life

START = 50


def test_reports_are_lines_of_their_own_category_and_only_when_asked(tmp_path, capsys):
    csv = tmp_path / "withdrawal.csv"
    with open(csv, "w") as fh:
        write_events(life(70, per_day=lambda i: {"out": None} if i >= START else {}), fh)
    assert cli.main(["replay", str(csv), "--json"]) == 0
    plain = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert all(line["category"] != "report" for line in plain)
    assert cli.main(["replay", str(csv), "--json", "--reports"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    reports = [line for line in lines if line["category"] == "report"]
    assert [line for line in lines if line["category"] != "report"] == plain
    assert [(r["type"], r["kind"]) for r in reports] == [("rhythm_drift", "outings")]
    assert {"time", "before", "after", "change", "unit", "before_days", "after_days", "days_without"} <= set(reports[0])
    assert [line["time"] for line in lines] == sorted(line["time"] for line in lines)


def test_the_per_event_path_and_stdin_give_the_same_lines(tmp_path, capsys, monkeypatch):
    import io

    csv = tmp_path / "withdrawal.csv"
    with open(csv, "w") as fh:
        write_events(life(70, per_day=lambda i: {"out": None} if i >= START else {}), fh)
    assert cli.main(["replay", str(csv), "--json", "--reports"]) == 0
    bulk = capsys.readouterr().out
    assert cli.main(["replay", str(csv), "--json", "--reports", "--per-event"]) == 0
    assert capsys.readouterr().out == bulk
    monkeypatch.setattr("sys.stdin", io.StringIO(csv.read_text()))
    assert cli.main(["replay", "-", "--json", "--reports"]) == 0
    assert capsys.readouterr().out == bulk and '"category": "report"' in bulk
