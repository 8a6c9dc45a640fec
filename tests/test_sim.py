"""`hubd sim`: the real daemon on simulated hardware shows an alarm reaching the modem as an SMS."""

import pytest

from hubd import cli


def test_hubd_sim_delivers_the_alarm_sms(capsys, tmp_path):
    code = cli.main(["sim", "--speed", "20000", "--quiet", "--detector", "fixed", "--state", str(tmp_path),
                     "--wall-limit", "60"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "collapses" in out
    assert "pattern 'prealarm'" in out and "pattern 'alarm'" in out
    sms = [line for line in out.splitlines() if "received SMS" in line]
    alarms = [line for line in sms if "no activity" in line]
    assert len(alarms) == 1 and "SIM-1" in alarms[0]
    assert all("no activity" in line or "alive" in line for line in sms)  # alarm, and the daily heartbeat
    assert out.index("collapses") < out.index("pattern 'prealarm'") < out.index(alarms[0])


def test_hubd_sim_plays_the_screen_bound_resident_with_sensor_quirks(capsys, tmp_path):
    code = cli.main(["sim", "--speed", "20000", "--quiet", "--detector", "fixed", "--state", str(tmp_path),
                     "--wall-limit", "60", "--profile", "screen_bound", "--quirk", "seat-pulses",
                     "--quirk", "stray-pulses"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "11 sensors" in out and "resident screen_bound" in out  # the flat gains the PC on its power chip
    assert "sensor quirk seat-pulses" in out and "sensor quirk stray-pulses" in out
    assert any("no activity" in line for line in out.splitlines() if "received SMS" in line)


@pytest.mark.parametrize("option", [["--profile", "night_owl"], ["--quirk", "mat-melts"]])
def test_hubd_sim_refuses_an_unknown_profile_or_quirk(capsys, option):
    with pytest.raises(SystemExit) as exc:
        cli.main(["sim", *option])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_sim_config_gives_a_screen_bound_residents_flat_its_pc(tmp_path):
    from types import SimpleNamespace

    from hubsim.runner import sim_config

    plain = sim_config(str(tmp_path), "", SimpleNamespace(language="en", detector="fixed"))
    screen = sim_config(str(tmp_path), "", SimpleNamespace(language="en", detector="fixed", profile="screen_bound"))
    assert plain.sensor("pc") is None
    pc = screen.sensor("pc")
    assert pc.kind == "appliance" and pc.chip == "ina226" and pc.address == 0x42
    assert [s.id for s in screen.sensors if s.id != "pc"] == [s.id for s in plain.sensors]


def test_hubd_sim_says_why_a_quirk_cannot_be_placed(capsys, tmp_path):
    # seed 2's screen-bound resident stays in for the two days: there is no return for the door to miss
    code = cli.main(["sim", "--profile", "screen_bound", "--seed", "2", "--history-days", "1",
                     "--quirk", "door-missed", "--state", str(tmp_path)])
    assert code == 2
    assert "never comes home" in capsys.readouterr().err


def test_hubd_sim_learned_hub_hears_the_return_at_full_speed(capsys, tmp_path):
    """The default (learned) morning: out 08:45-09:41, sofa 10:23, collapse 10:30. At x20000 each
    20 ms of the live loop spans 400 simulated seconds; every door edge must still reach the hub,
    or it takes the 09:41 return for a departure and texts `not_returned` past midnight."""
    import sqlite3

    code = cli.main(["sim", "--speed", "20000", "--quiet", "--state", str(tmp_path), "--wall-limit", "60"])
    out = capsys.readouterr().out
    assert code == 0, out
    alarms = [line for line in out.splitlines() if "received SMS" in line and "ACK" in line]
    # the clock waits for the hub's decisions (hubsim.pacing): exact even when the hub is starved of CPU
    assert len(alarms) == 1 and "no activity for 1h35m" in alarms[0], out
    db = sqlite3.connect(tmp_path / "hubd.sqlite3")
    try:
        doors = db.execute("SELECT value FROM events WHERE sensor = 'front_door' ORDER BY mono").fetchall()
    finally:
        db.close()
    assert [v for (v,) in doors] == [1.0, 0.0, 1.0, 0.0]
