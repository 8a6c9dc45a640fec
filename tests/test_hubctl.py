"""hubctl against a running daemon on simulated hardware: every command, human and --json."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import threading

import pytest

from hubd import hubctl
from hubd.events import Kind, read_events
from hubd.modem.pdu import decode

from control_harness import TIMEOUT, RunningHub, SimHardware, WaitingUplink

H = 3600.0
SENSORS = [{"id": "hall", "kind": "motion", "pin": 17, "label": "Hall PIR"},
           {"id": "bath", "kind": "door", "pin": 27}]
MODEM = {"port": "/dev/ttyUSB2", "connected": True, "sim": "ready", "operator": "NTT DOCOMO",
         "registration": {"creg": 1, "cereg": None, "registered": True, "text": "home"},
         "signal": {"rssi": 19, "dbm": -75, "bars": 3, "quality": "Good"}, "last_error": None,
         "uplink_down": False, "problems": {}}
ME = __import__("pwd").getpwuid(os.getuid()).pw_name


@pytest.fixture
def hub(make_config, clock, tmp_path):
    config = make_config(sensors=SENSORS, alerts={"prealarm_minutes": 0},
                         hub={"socket": str(tmp_path / "c.sock")})
    hardware = SimHardware(readings={  # the shape HubHardware reports
        "gpio": [{"id": "hall", "kind": "motion", "pin": "GPIO17", "level": 0, "reported": 0, "warming_up": False,
                  "fault": None}],
        "power": [], "outputs": "off"})
    with RunningHub(config, clock, tmp_path / "c.sock", hardware=hardware, uplink=WaitingUplink(MODEM)) as running:
        yield running


def run(hub, *argv):
    """hubctl's main() in-process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        code = hubctl.main(["--socket", hub.path, *argv] if hub is not None else list(argv))
    finally:
        sys.stdout, sys.stderr = saved
    return code, out.getvalue(), err.getvalue()


def run_json(hub, *argv):
    code, out, err = run(hub, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def in_background(hub, *argv):
    """Start a streaming hubctl command on a thread; ``.result()`` gives (code, stdout, stderr)."""
    box: dict = {}
    thread = threading.Thread(target=lambda: box.setdefault("result", run(hub, *argv)))
    thread.start()

    class Pending:
        @staticmethod
        def result():
            thread.join(TIMEOUT)
            assert not thread.is_alive(), "hubctl did not finish"
            return box["result"]

    return Pending


def last_audit(hub, n=1):
    return hub.on_loop(hub.daemon.store.audit_log, n)


def raise_alarm(hub):
    hub.trigger("hall")
    hub.advance(2 * H + 60)
    sent = hub.uplink.submitted.wait_for(lambda sent: any(purpose == "alarm" for _, _, purpose, _ in sent))
    return next(alert_id for _, _, purpose, alert_id in sent if purpose == "alarm")


# -- status ---------------------------------------------------------------------------------


def test_status_json_has_every_documented_field(hub):
    hub.trigger("hall")
    data = run_json(hub, "status")
    assert set(data) == {"protocol", "version", "flat_id", "now", "clock_synced", "monitoring", "mode", "activity",
                         "detector", "alerts", "sensors", "modem", "outbox", "storage_ok", "restart"}
    assert data["protocol"] == 1 and data["flat_id"] == "T-1" and data["monitoring"] == "watching"
    assert data["mode"] == {"name": "home", "set_by": None, "since": None, "until": None, "remaining_seconds": None}
    assert data["activity"]["last"] == data["now"] and data["activity"]["inactive_seconds"] == 0
    assert data["activity"]["threshold_seconds"] == 2 * H
    # the sensor-health watcher has only just started: both sensors are still being learned
    assert data["sensors"] == {"configured": 2, "by_state": {"learning": 2}, "problems": []}
    assert data["modem"]["registered"] is True and data["modem"]["signal_bars"] == 3
    assert data["alerts"] == {"open": [], "outputs": "off"}


def test_status_documentation_names_every_field():
    doc = open(os.path.join(os.path.dirname(__file__), "..", "docs", "hubctl.md"), encoding="utf-8").read()
    for field in ("protocol", "version", "flat_id", "now", "clock_synced", "monitoring", "mode.name", "mode.set_by",
                  "mode.until", "mode.remaining_seconds", "activity.last", "activity.inactive_seconds",
                  "activity.threshold_seconds", "activity.threshold_rule", "activity.alarm_due_in_seconds",
                  "alerts.open", "alerts.outputs", "sensors.by_state", "sensors.problems", "modem.signal_bars",
                  "modem.uplink_down", "outbox", "storage_ok", "restart.outage_known", "restart.outage_seconds"):
        assert f"`{field}`" in doc, field


def test_status_human_output_fits_a_phone(hub):
    hub.trigger("hall")
    hub.advance(600)
    code, out, _ = run(hub, "status")
    assert code == 0
    assert "WATCHING" in out and "10 min ago" in out and "registered, signal 3/4 -75 dBm" in out
    assert max(len(line) for line in out.splitlines()) <= 60


def test_status_shows_trouble_plainly(hub):
    alert_id = raise_alarm(hub)
    code, out, _ = run(hub, "status")
    assert code == 0
    assert f"#{alert_id} inactivity ALARM" in out and "1 open" in out


def test_status_while_a_mat_is_held_says_the_silence_is_not_counted(hub):
    """A held bed or seat mat is someone there: status shows no "0 s ago" (issue 16), and names the mat."""
    from hubd.hubctl import show_status

    hub.trigger("hall")
    data = run_json(hub, "status")
    data["activity"].update(inactive_seconds=None, held=["bed_mat"])  # what the detectors report while held
    text = "\n".join(show_status(data))
    assert "not counting while a sensor is held" in text and " ago" not in text.split("activity", 1)[1].splitlines()[0]
    assert "bed_mat" in text


# -- sensors, watch, walktest ---------------------------------------------------------------------


def test_sensors_lists_config_health_readings_and_last_event(hub):
    hub.trigger("hall")
    data = run_json(hub, "sensors")
    hall, bath = data["sensors"]
    assert (hall["id"], hall["where"], hall["label"]) == ("hall", "GPIO 17", "Hall PIR")
    assert hall["reading"]["level"] == 0 and hall["reading"]["kind"] == "motion" and bath["reading"] is None
    assert hall["last_event"]["value"] == 1 and bath["last_event"] is None
    assert data["other_readings"] == {"power": [], "outputs": "off"}
    code, out, _ = run(hub, "sensors")
    assert code == 0 and "hall" in out and "GPIO 27" in out and "level=0 reported=0 warming_up=False" in out
    assert max(len(line) for line in out.splitlines()) <= 60


def test_readings_keyed_by_sensor_or_grouped_in_rows():
    from hubd.control.commands import readings_by_sensor

    assert readings_by_sensor({"hall": {"level": 1}, "bus": "ok"}, {"hall"}) == ({"hall": {"level": 1}}, {"bus": "ok"})
    grouped = {"gpio": [{"id": "hall", "level": 1}], "power": [{"id": "tv", "watts": 80.0}, {"id": "hall", "x": 2}]}
    assert readings_by_sensor(grouped, {"hall"}) == ({"hall": {"level": 1, "x": 2}, "tv": {"watts": 80.0}}, {})
    assert hubctl.reading_summary({"watts": 80.0, "health": {"health": "ok"}}) == "watts=80 health=ok"


def test_sensors_watch_streams_events_as_json_lines(hub):
    pending = in_background(hub, "sensors", "--watch", "--seconds", "1", "--json")
    hub.wait_for_streams(1)
    hub.trigger("hall")
    hub.trigger("bath", Kind.DOOR, 0)
    code, out, _ = pending.result()
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [(e["sensor"], e["kind"], e["value"]) for e in lines[:2]] == [("hall", "motion", 1), ("bath", "door", 0)]
    assert lines[-1] == {"events": 2, "dropped": 0, "reason": "time_limit"}
    hub.wait_for_streams(0)


def test_sensors_watch_human(hub):
    pending = in_background(hub, "sensors", "--watch", "--seconds", "1")
    hub.wait_for_streams(1)
    hub.trigger("hall")
    code, out, err = pending.result()
    assert code == 0 and "hall" in out and "motion" in out and "1 events" in err


def test_walktest_marks_every_sensor_seen(hub):
    pending = in_background(hub, "walktest")
    hub.wait_for_streams(1)
    hub.trigger("hall")
    hub.trigger("button", Kind.BUTTON)  # not a configured sensor: shown, not counted
    hub.trigger("bath", Kind.DOOR)
    code, out, _ = pending.result()
    assert code == 0
    assert "[ ] hall" in out and "SEEN 1/2" in out and "(not configured)" in out and "SEEN 2/2" in out
    assert "all 2 sensors seen" in out
    assert hub.hardware.shown.wait_for(lambda shown: shown[-1] == "off").count("walktest") == 2


def test_walktest_names_the_sensors_not_seen_and_fails(hub):
    pending = in_background(hub, "walktest", "--seconds", "0.5", "--json")
    hub.wait_for_streams(1)
    hub.trigger("hall")
    code, out, _ = pending.result()
    final = json.loads(out.splitlines()[-1])
    assert code == 1
    assert final["not_seen"] == ["bath"] and final["reason"] == "time_limit" and not final["complete"]
    entry = last_audit(hub)[0]
    assert entry["action"] == "walktest" and entry["actor"] == ME and entry["detail"]["not_seen"] == ["bath"]


# -- commands that change state ------------------------------------------------------------------


def test_test_alert_sends_a_real_sms_recorded_as_a_test(hub):
    code, out, _ = run(hub, "test-alert", "--to", "+8100000077")
    assert code == 0 and "queued to +8100000077" in out
    sent = hub.uplink.submitted.wait_for(lambda sent: sent)
    assert sent[-1][0] == "+8100000077" and sent[-1][2] == "test"
    entry = last_audit(hub)[0]
    assert (entry["actor"], entry["action"]) == (ME, "test_alert")
    data = run_json(hub, "test-alert")
    assert data["to"] == ["+8100000001"] and data["id"].startswith("T")


def test_test_alert_confirm_sends_the_installation_test(hub):
    """`hubctl test-alert --confirm` (docs/hubctl.md) asks the office to reply OK <id>."""
    data = run_json(hub, "test-alert", "--confirm")
    text = hub.uplink.submitted.wait_for(lambda sent: sent)[-1][1]
    assert f"reply OK {data['id']}" in text
    assert last_audit(hub)[0]["detail"]["confirm"] is True


def test_test_alert_to_a_national_number_goes_to_its_international_form(hub):
    """The number typed on site is compared and texted as the office's numbers are."""
    data = run_json(hub, "test-alert", "--to", "0312345678")
    assert data["to"] == ["+81312345678"]
    assert hub.uplink.submitted.wait_for(lambda sent: sent)[-1][0] == "+81312345678"
    code, _, err = run(hub, "test-alert", "--to", "123")
    assert code == 2 and "7 to 15 digits" in err


def test_test_alert_to_a_bad_number_is_a_usage_error(hub):
    code, _, err = run(hub, "test-alert", "--to", "call-the-office")
    assert code == 2 and "not a phone number" in err
    assert hub.uplink.submitted.items == []


def test_away_pause_resume_are_audited_and_always_expire(hub):
    data = run_json(hub, "away", "--hours", "12")
    assert data["mode"]["name"] == "away" and data["mode"]["set_by"] == ME
    assert data["mode"]["remaining_seconds"] == 12 * H
    assert last_audit(hub)[0] == {**last_audit(hub)[0], "actor": ME, "action": "mode_away"}
    code, out, _ = run(hub, "pause", "--hours", "2")
    assert code == 0 and out.startswith("paused until") and f"set by {ME}" in out
    assert hub.on_loop(lambda: hub.daemon.engine.mode.name) == "paused"
    code, out, _ = run(hub, "resume")
    assert code == 0 and "home" in out
    assert [e["action"] for e in last_audit(hub, 3)] == ["mode_home", "mode_paused", "mode_away"]
    run(hub, "pause", "--hours", "1")
    hub.advance(H + 1)  # the engine enforces the expiry
    assert run_json(hub, "status")["mode"]["name"] == "home"


def test_a_pause_longer_than_allowed_says_when_the_office_will_be_texted(hub):
    """max_pause_hours (8 by default) is not a refusal: the pause is set, and the answer says at once
    that the office hears of it after 8 h (issue 16: accepted silently before)."""
    code, out, _ = run(hub, "pause", "--hours", "20")
    assert code == 0 and out.startswith("paused until")
    note = [line for line in out.splitlines() if line.startswith("note:")]
    assert len(note) == 1 and "max_pause_hours (8 h)" in note[0] and "texts the office" in note[0]
    run(hub, "resume")
    data = run_json(hub, "pause", "--hours", "8")  # within the limit: no note
    assert "note" not in data and data["mode"]["name"] == "paused"


@pytest.mark.parametrize("argv, code, message", [
    (("away", "--hours", "0"), 1, "positive duration"),
    (("away", "--hours", "100000"), 1, "longer than the maximum"),
    (("pause", "--hours", "nan"), 2, "must be a number"),
    (("pause",), 2, "--hours"),
])
def test_bad_mode_requests_change_nothing(hub, argv, code, message):
    status, _, err = run(hub, *argv)
    assert status == code and message in err and "Traceback" not in err
    assert hub.on_loop(lambda: hub.daemon.engine.mode.name) == "home"


def test_alerts_list_and_ack(hub):
    alert_id = raise_alarm(hub)
    listed = run_json(hub, "alerts", "--open")["alerts"]
    assert [(a["id"], a["type"], a["stage"]) for a in listed] == [(alert_id, "inactivity", "alarm")]
    code, out, _ = run(hub, "alerts")
    assert code == 0 and f"#{alert_id}" in out and "inactivity" in out
    code, out, _ = run(hub, "alerts", "ack", str(alert_id))
    assert code == 0 and f"alert {alert_id} acknowledged by {ME}" in out
    assert run_json(hub, "alerts")["alerts"][0]["acked_by"] == ME
    entry = last_audit(hub)[0]
    assert (entry["actor"], entry["action"], entry["detail"]) == (ME, "ack", {"alert": alert_id})


@pytest.fixture
def prealarm_hub(make_config, clock, tmp_path):
    config = make_config(sensors=SENSORS, alerts={"prealarm_minutes": 5}, hub={"socket": str(tmp_path / "p.sock")})
    with RunningHub(config, clock, tmp_path / "p.sock", uplink=WaitingUplink(MODEM)) as running:
        yield running


def test_a_technician_on_site_cancels_a_prealarm_with_ack(prealarm_hub):
    """Issue 16: during the pre-alarm `hubctl ack 1` said "no alarm with id 1 is waiting". Now it
    answers for the resident as the OK button does: cancelled, recorded, nothing sent, and the
    silence counts from the press."""
    hub = prealarm_hub
    hub.trigger("hall")
    hub.advance(2 * H + 60)
    (pre,) = run_json(hub, "alerts", "--open")["alerts"]
    assert (pre["type"], pre["stage"]) == ("inactivity", "prealarm")
    code, out, _ = run(hub, "ack", str(pre["id"]))
    assert code == 0 and f"pre-alarm {pre['id']} cancelled by {ME}" in out and "nothing goes to the office" in out
    assert run_json(hub, "alerts", "--open")["alerts"] == []
    assert run_json(hub, "alerts")["alerts"][0]["stage"] == "cancelled"
    assert [e["sensor"] for e in run_json(hub, "events", "--limit", "1")["events"]] == ["ok_button"]
    assert [(e["actor"], e["action"]) for e in last_audit(hub, 2)] == [("hub", "alert_cancelled"),
                                                                      (ME, "prealarm_cancelled")]
    hub.advance(30 * 60)  # past the pre-alarm's 5 minutes: nothing escalates
    assert run_json(hub, "alerts", "--open")["alerts"] == []
    assert hub.uplink.submitted.items == []


def test_ack_of_an_unknown_alert_is_refused(hub):
    code, _, err = run(hub, "ack", "999")
    assert code == 1 and "no alarm with id 999" in err
    code, out, _ = run(hub, "ack", "999", "--json")
    assert code == 1 and out == ""  # errors stay on stderr even with --json


# -- reading -----------------------------------------------------------------------------------


def test_events_recent_and_since(hub):
    hub.trigger("hall")
    hub.advance(2 * H)
    hub.trigger("bath", Kind.DOOR)
    recent = run_json(hub, "events")["events"]
    assert [(e["sensor"], e["kind"]) for e in recent] == [("hall", "motion"), ("bath", "door")]
    assert [e["sensor"] for e in run_json(hub, "events", "--since", "1h")["events"]] == ["bath"]
    code, out, _ = run(hub, "events", "--limit", "1")
    assert code == 0 and "bath" in out and "hall" not in out
    code, _, err = run(hub, "events", "--since", "yesterday-ish")
    assert code == 2 and "since" in err


def test_audit_lists_newest_first(hub):
    run(hub, "away", "--hours", "1")
    entries = run_json(hub, "audit", "--limit", "2")["entries"]
    assert entries[0]["action"] == "mode_away" and len(entries) == 2
    assert entries[0]["detail"]["until_local"] == run_json(hub, "status")["mode"]["until"]  # ISO, not seconds
    code, out, _ = run(hub, "audit")
    assert code == 0 and "mode_away" in out and "first_start" in out


def test_profile_not_available_on_the_fixed_timer(hub):
    code, _, err = run(hub, "profile")
    assert code == 1 and "no profile" in err and "FixedTimerDetector" in err


def test_profile_from_a_detector_that_has_one(hub):
    detector = hub.daemon.engine.detector
    detector.profile_text = lambda mono, local: "06-09 busy\n22-06 asleep"
    detector.profile = lambda: {"slots": [1, 2]}
    code, out, _ = run(hub, "profile")
    assert code == 0 and out.splitlines() == ["06-09 busy", "22-06 asleep"]
    assert run_json(hub, "profile")["data"] == {"slots": [1, 2]}


def test_modem(hub):
    data = run_json(hub, "modem")["modem"]
    assert data["operator"] == "NTT DOCOMO" and data["signal"]["bars"] == 3
    code, out, _ = run(hub, "modem")
    assert code == 0 and "3/4 Good, -75 dBm" in out and "home, NTT DOCOMO" in out


def test_export_is_the_event_csv(hub, tmp_path):
    hub.trigger("hall")
    hub.advance(3 * H)
    hub.trigger("bath", Kind.DOOR)
    code, out, _ = run(hub, "export")
    assert code == 0
    assert [(e.sensor, e.kind) for e in read_events(io.StringIO(out))] == [("hall", Kind.MOTION), ("bath", Kind.DOOR)]
    target = tmp_path / "out.csv"
    summary = run_json(hub, "export", "--since", "2h", "--output", str(target))
    assert summary["events"] == 1 and summary["output"] == str(target)
    assert [e.sensor for e in read_events(target.open())] == ["bath"]
    assert last_audit(hub)[0]["action"] == "export"


def test_export_of_nothing_is_a_header(hub):
    code, out, _ = run(hub, "export")
    assert code == 0 and out == "time,sensor,kind,value\n"


def test_export_json_needs_an_output_file(hub):
    code, _, err = run(hub, "export", "--json")
    assert code == 2 and "--output" in err


def test_socket_path_comes_from_the_config(hub, tmp_path):
    config = tmp_path / "hub.toml"
    config.write_text(f'[hub]\nsocket = "{hub.path}"\n')
    code, out, _ = run(None, "--config", str(config), "status", "--json")
    assert code == 0 and json.loads(out)["flat_id"] == "T-1"
    code, _, err = run(None, "status", "--config", str(tmp_path / "missing.toml"))
    assert code == 2 and "config file not found" in err


def test_the_console_script_in_a_subprocess(hub):
    script = shutil.which("hubctl", path=os.path.dirname(sys.executable))
    assert script, "hubctl console script not installed in this venv"
    done = subprocess.run([script, "--socket", hub.path, "status", "--json"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["monitoring"] == "watching"


# -- without a daemon ---------------------------------------------------------------------------


def test_daemon_not_running_no_socket(tmp_path):
    code, out, err = run(None, "--socket", str(tmp_path / "none.sock"), "status")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "hubd is not running: no control socket" in err and "systemctl start" in err


def test_daemon_not_running_stale_socket(tmp_path):
    stale = tmp_path / "stale.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(stale))
    s.close()
    code, _, err = run(None, "--socket", str(stale), "status", "--json")
    assert code == 1 and "nothing listens" in err and "journalctl" in err and "Traceback" not in err


def as_nobody(func):
    """Run ``func`` in a forked child that has dropped root (root would ignore the socket's mode)."""
    import pwd
    import select

    nobody = pwd.getpwnam("nobody")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            os.write(w, json.dumps(func()).encode())
        finally:
            os._exit(0)
    os.close(w)
    try:
        assert select.select([r], [], [], TIMEOUT)[0], "child did not answer"
        return json.loads(os.read(r, 65536))
    finally:
        os.close(r)
        os.waitpid(pid, 0)


def test_permission_denied_has_its_own_hint(hub):
    if os.geteuid() == 0:
        code, _, err = as_nobody(lambda: run(hub, "status"))
    else:
        os.chmod(hub.path, 0)
        code, _, err = run(hub, "status")
    assert code == 1
    assert "permission denied" in err and "usermod -aG hubd-tech" in err and "Traceback" not in err


def test_a_refused_peer_is_told_why(make_config, clock, tmp_path):
    config = make_config(sensors=SENSORS)
    with RunningHub(config, clock, tmp_path / "c.sock", allowed_uids={os.getuid() + 1}, allowed_gids={-5}) as hub:
        code, out, err = run(hub, "pause", "--hours", "1")
        assert code == 1 and out == "" and "may not control this hub" in err and "hubd-tech" in err
        assert hub.on_loop(lambda: hub.daemon.engine.mode.name) == "home"


def test_config_check_offline(tmp_path, make_config):
    good = tmp_path / "good.toml"
    good.write_text('[[sensors]]\nid = "hall"\nkind = "motion"\npin = 17\n')
    code, out, _ = run(None, "config", "check", str(good))
    assert code == 0 and "ok (1 sensor, " in out
    code, out, _ = run(None, "config", "check", str(good), "--json")
    assert code == 0 and json.loads(out)["sensors"] == 1
    bad = tmp_path / "bad.toml"
    bad.write_text('[hub]\ntick_seconds = 0\n')
    code, _, err = run(None, "config", "check", str(bad))
    assert code == 2 and "hub.tick_seconds" in err


def test_sms_encode_and_decode_offline():
    code, out, _ = run(None, "sms", "encode", "--to", "+819012345678", "hello")
    assert code == 0 and len(out.splitlines()) == 1
    code, decoded, _ = run(None, "sms", "decode", out.strip())
    assert code == 0 and json.loads(decoded)["text"] == "hello"
    code, out, _ = run(None, "sms", "encode", "--to", "+819012345678", "x" * 200, "--json")
    parts = json.loads(out)["pdus"]
    assert code == 0 and len(parts) == 2 and "".join(decode(p).text for p in parts) == "x" * 200
    code, _, err = run(None, "sms", "decode", "zz")
    assert code == 2 and "sms decode" in err


def test_sms_uses_the_modem_teams_helpers_when_present(monkeypatch):
    class FakeSmsCli:
        @staticmethod
        def encode_lines(to, text):
            return [f"PDU-{to}-{text}"]

        @staticmethod
        def decode_json(pdu):
            return json.dumps({"pdu": pdu})

    monkeypatch.setattr(hubctl, "_sms_cli", lambda: FakeSmsCli)
    assert run(None, "sms", "encode", "--to", "123", "hi")[1] == "PDU-123-hi\n"
    assert json.loads(run(None, "sms", "decode", "AB")[1]) == {"pdu": "AB"}


@pytest.mark.parametrize("argv", [(), ("frobnicate",), ("away", "--hours", "soon"), ("sms",)])
def test_usage_errors_exit_2(argv):
    assert run(None, *argv)[0] == 2


@pytest.mark.parametrize("argv, words", [
    (("events", "--since", "1" * 37 + "d"), "an age is at most 3650 days"),  # was an internal error in the daemon
    (("export", "--since", "99999999h"), "an age is at most 3650 days"),
    (("events", "--since", "\u0661d"), "or an age (90m, 6h, 7d)"),
    (("--timeout", "nan", "status"), "--timeout"),
    (("status", "--timeout", "-1"), "--timeout"),
    (("alerts", "--limit", "501"), "must be at most 500"),  # the protocol table's range, checked by hubctl
    (("sensors", "--watch", "--seconds", "0"), "must be at least 0.01"),
    (("ack", "0"), "must be at least 1"),
    (("pause", "--hours", "1e999"), "must be a number"),
])
def test_bad_arguments_are_refused_before_connecting(tmp_path, argv, words):
    """No socket exists: a refusal naming the rule (exit 2) shows hubctl checked before connecting."""
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        code = hubctl.main(["--socket", str(tmp_path / "none.sock"), *argv])
    finally:
        sys.stdout, sys.stderr = saved
    assert code == 2 and words in err.getvalue() and "Traceback" not in err.getvalue()
    assert "not running" not in err.getvalue()


def test_profile_from_the_real_learned_detector(hub):
    """The technician sees the learned thresholds and an actogram, within a phone-sized screen."""
    from hubd.detector.model import LearnedDetector
    from hubd.events import Event, Kind
    detector = LearnedDetector(prior=False)  # without the population prior: the cold start shows
    for day in range(3):
        for hour in (7, 8, 12, 19, 22):
            t = 1_700_000_000.0 - 1_700_000_000.0 % 86400 + day * 86400 + hour * 3600
            detector.observe(Event(t, t, "hall", Kind.MOTION, 1))
    hub.daemon.engine.detector = detector
    code, out, _ = run(hub, "profile")
    assert code == 0 and out.strip()
    assert max(len(line) for line in out.splitlines()) <= 80
    data = run_json(hub, "profile")["data"]
    assert len(data["threshold_hours"]) == 24 * 60 // data["slot_minutes"]
    assert data["cold_start"] is True and data["learned_days"] < 7  # three days are not enough to trust
    assert len(data["actogram"]) >= 3


def _subcommands(parser):
    """hubctl's subparsers by name (``alerts ack`` as ``alerts ack``)."""
    import argparse
    out = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out[name] = sub
                out.update({f"{name} {k}": v for k, v in _subcommands(sub).items()})
    return out


def test_the_parser_is_built_from_the_protocol_table():
    """Each protocol command's options in hubctl carry the table's name, help, metavar and default
    (said once, in control/protocol.py); an unset option stays None so the daemon fills the default."""
    from hubd.control import protocol as p
    subs = _subcommands(hubctl.build_parser())
    where = {"watch": "sensors", "ack": "alerts ack",  # hubctl's spelling of these
             "consent-list": "consent list", "consent-add": "consent add", "consent-revoke": "consent revoke"}
    for cmd in p.COMMANDS.values():
        sub = subs[where.get(cmd.name, cmd.name)]
        actions = {a.dest: a for a in sub._actions}
        if cmd.name not in where:
            assert sub.description == cmd.help
        for name, spec in cmd.args.items():
            action = actions[name]
            assert spec.help and spec.help in action.help
            if spec.type is not bool:
                assert action.metavar == spec.metavar and action.required == spec.required
                if spec.default is not None:
                    assert f"(default {spec.default:g})" in action.help
            assert action.default is None
    args = hubctl.build_parser().parse_args(["alerts"])
    assert (args.limit, args.open) == (None, None)  # sent as absent: the daemon applies the table's default
    assert p.check_args("alerts", {}) == {"limit": 20, "open": False}
