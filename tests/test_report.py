"""`hubctl report`: the picture of the month is drawn from what the hub knows, on a local file."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from hubd import hubctl, report
from hubd.events import Event, Kind, format_local

from livesim import Hub

DAY, HOUR = 86400.0, 3600.0
T0 = 1_704_067_200.0  # 2024-01-01 00:00 local


def days_of_motion(days: int, every: float, start_day: int = 0, wake: float = 7.0, bed: float = 22.0) -> list[Event]:
    out = []
    for d in range(start_day, start_day + days):
        t = T0 + d * DAY + wake * HOUR
        while t < T0 + d * DAY + bed * HOUR:
            out.append(Event(t, t, "hall_pir", Kind.MOTION, 1.0))
            t += every
    return out


def test_the_summary_counts_each_day_and_slot_and_sees_activity_halve():
    # three weeks of motion every 10 min, then a week with every other motion gone
    events = days_of_motion(21, 600.0) + days_of_motion(7, 1200.0, start_day=21)
    alerts = [{"type": "inactivity", "category": "resident", "stage": "alarm", "key": "",
               "raised": format_local(T0 + 22 * DAY + 14 * HOUR)},
              {"type": "sensor_fault", "category": "system", "stage": "ended", "key": "bed",
               "raised": format_local(T0 - 3 * DAY)}]  # before the window: not shown
    summary = report.summarise(events, T0, T0 + 28 * DAY, alerts)
    assert summary["days"] == 28 and summary["events"] == len(events)
    grid = summary["actogram"]
    assert grid.shape == (28, 48) and grid.sum() == len(events)
    assert grid[0, 14] == 3 and grid[0, 13] == 0  # 07:00-07:30 holds 07:00, 07:10, 07:20
    assert grid[27, 14] == 2  # 07:00 and 07:20 in the thinned week
    assert [a["type"] for a in summary["alerts"]] == ["inactivity"]
    assert any(m.startswith("activity down") for m in summary["drift"]), summary["drift"]
    lines = report.text_lines(summary)
    assert any(line.startswith("rhythm: IS ") for line in lines)
    assert "alerts: 1 inactivity" in lines


def test_a_short_window_says_drift_needs_three_weeks():
    summary = report.summarise(days_of_motion(5, 600.0), T0, T0 + 5 * DAY, [])
    assert summary["drift"] == [] and "drift: needs 21 whole days" in report.text_lines(summary)


def test_hubctl_report_draws_the_flats_month_from_the_running_hub(tmp_path, capsys):
    hub = Hub(tmp_path / "hub", history_days=30, detector="learned")
    try:
        html_out, png_out = tmp_path / "report.html", tmp_path / "report.png"
        sock = hub.config.hub.socket
        assert hubctl.main(["--socket", sock, "report", "--out", str(html_out)]) == 0
        out = capsys.readouterr().out
        match = re.search(r"report of (\d+) days \((\d+) events, (\d+) alerts\) written to", out)
        assert match and 30 <= int(match.group(1)) <= 32 and int(match.group(2)) > 1000, out
        page = html_out.read_text(encoding="utf-8")
        assert "<img alt='the month' src='data:image/png;base64," in page and "hubd SIM-1" in page
        assert "Nothing in it has been sent anywhere" in page and "rhythm: IS " in page
        assert hubctl.main(["--socket", sock, "--json", "report", "--since", "14d", "--out", str(png_out)]) == 0
        assert png_out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert json.loads(capsys.readouterr().out)["days"] == 15  # 14 d back from 10:00: 15 calendar days
    finally:
        hub.close()


def test_without_matplotlib_the_report_says_how_to_get_it(monkeypatch, tmp_path):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    summary = report.summarise([], T0, T0 + DAY, [])
    with pytest.raises(report.ReportUnavailable, match=r"pip install 'hubd\[report\]'"):
        report.write(str(tmp_path / "r.html"), summary, None, "A-1", T0 + DAY)
    assert not (tmp_path / "r.html").exists()
    assert np.asarray(summary["active_minutes_per_day"]).sum() == 0


def test_a_japanese_report_is_labelled_in_japanese_where_a_font_can_draw_it(tmp_path, monkeypatch):
    from hubd import hubctl_text

    summary = report.summarise(days_of_motion(7, 600.0), T0, T0 + 7 * DAY, [])
    hubctl_text.set_language("ja")
    try:
        monkeypatch.setattr(report, "japanese_font", lambda: None)
        assert report.picture_language() == ("en", None)  # no font: English labels, never boxes
        report.write(str(tmp_path / "en.html"), summary, None, "A-1", T0 + 7 * DAY)
        page = (tmp_path / "en.html").read_text(encoding="utf-8")
        assert "どこにも送信されていません" in page and "<html lang='ja'>" in page  # the page itself is text
        monkeypatch.undo()
        font = report.japanese_font()
        if font is None:
            pytest.skip("no Japanese font here (.ci/run installs fonts-ipaexfont-gothic)")
        assert report.picture_language() == ("ja", font)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("error")  # matplotlib warns of every glyph its font lacks
            png = report.draw(summary, None, "A-1", T0 + 7 * DAY)
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        hubctl_text.set_language("en")
    assert hubctl_text.language() == "en"
