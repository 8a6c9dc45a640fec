"""`hubd sim`: the real daemon on simulated hardware shows an alarm reaching the modem as an SMS."""

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
