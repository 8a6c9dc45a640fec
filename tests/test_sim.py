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
    assert len(sms) == 1 and "no activity" in sms[0] and "SIM-1" in sms[0]
    assert out.index("collapses") < out.index("pattern 'prealarm'") < out.index("received SMS")
