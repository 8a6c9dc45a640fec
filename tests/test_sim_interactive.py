"""`hubd sim --interactive` played from a terminal (a pty), as a person would: trigger a sensor,
hear the pre-alarm, cancel it with the OK button; stay silent, the alarm reaches the office,
the office's `ACK` stops the escalation, moving again resolves it."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time

WAIT = 60.0  # wall seconds any one step may take on a loaded machine (12 simulated hours are 6 s)


class Terminal:
    """The simulator on a pty: what it printed so far, and a way to type."""

    def __init__(self, argv: list[str], cwd: str):
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, close_fds=True)
        os.close(slave)
        self.text = ""

    def expect(self, pattern: str, after: int = 0, timeout: float = WAIT) -> re.Match:
        """Wait for ``pattern`` in the output from offset ``after``."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while True:
            found = rx.search(self.text, after)
            if found:
                return found
            left = deadline - time.monotonic()
            assert left > 0, f"no {pattern!r} within {timeout} s; the terminal shows:\n{self.text[-3000:]}"
            ready, _, _ = select.select([self.master], [], [], min(left, 1.0))
            if ready:
                try:
                    data = os.read(self.master, 65536)
                except OSError:  # the child closed the terminal
                    data = b""
                assert data or self.proc.poll() is None, f"the simulator ended:\n{self.text[-3000:]}"
                self.text += data.decode("utf-8", "replace").replace("\r\n", "\n")

    def type(self, line: str) -> int:
        """Type a line; returns the output offset at that moment (what follows answers it)."""
        mark = len(self.text)
        os.write(self.master, (line + "\n").encode())
        return mark

    def close(self) -> int:
        try:
            return self.proc.wait(30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            os.close(self.master)


def alerts(sock: str) -> list[dict]:
    """``hubctl alerts`` on the simulator's socket, as a technician in another terminal would."""
    out = subprocess.run([sys.executable, "-m", "hubd.hubctl", "--socket", sock, "alerts", "--json"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["alerts"]


def test_a_person_plays_resident_and_office_in_the_interactive_simulator(tmp_path):
    term = Terminal([sys.executable, "-m", "hubd", "sim", "--interactive", "--react-seconds", "10",
                     "--detector", "fixed", "--speed", "7200",
                     "--quiet", "--history-days", "2", "--state", str(tmp_path / "state")], cwd=str(tmp_path))
    try:
        sock = term.expect(r"control socket (\S+):").group(1)
        term.expect(r"type help")
        mark = term.type("trigger hall_pir")
        # 12 silent hours later (fixed timer): the pre-alarm; the clock slows to x60 while it sounds
        pre = term.expect(r"pattern 'prealarm'", mark).end()
        mark = term.type("press")
        term.expect(r"pattern 'off'", mark)
        assert "no activity" not in term.text[pre:]  # nothing went to the office
        # silence again: pre-alarm, then the alarm reaches the office
        term.expect(r"pattern 'prealarm'", mark)
        sms = term.expect(r"received SMS: [^\n]*no activity[^\n]*ACK (\d+)", mark)
        alert_id = int(sms.group(1))
        mark = term.type(f"sms ACK {alert_id}")
        term.expect(r"office \+\d+ sent SMS: ACK", mark)
        deadline = time.monotonic() + WAIT
        while True:  # the hub takes the SMS on its next look at the modem
            (open_alert,) = [a for a in alerts(sock) if a["id"] == alert_id]
            if open_alert.get("acked_by"):
                break
            assert time.monotonic() < deadline, open_alert
            time.sleep(0.2)
        assert open_alert["acked_by"].startswith("sms +") and open_alert["stage"] == "alarm"
        mark = term.type("trigger kitchen_pir")  # the resident moves: resolved, and the office is told
        term.expect(r"received SMS: [^\n]*(resolved|activity again|解除)", mark)
        mark = term.type("quit")
        term.expect(r"bye\. State kept in", mark)
    finally:
        code = term.close()
    assert code == 0


def test_a_walktest_from_another_terminal_sees_every_sensor_the_player_triggers(tmp_path):
    """Issue 16: `hubctl walktest` against the simulator ended 'seen 0, NOT SEEN 10'. Now the person
    at the simulator triggers each sensor (PIRs, contacts, mats, and the appliances switched on)."""
    term = Terminal([sys.executable, "-m", "hubd", "sim", "--interactive", "--speed", "1200", "--quiet",
                     "--history-days", "2", "--state", str(tmp_path / "state")], cwd=str(tmp_path))
    walk = None
    try:
        sock = term.expect(r"control socket (\S+):").group(1)
        sensors = term.expect(r"\(sensors: ([^)]+)\)").group(1).replace("\n", " ").split(",")
        sensors = [s.strip() for s in sensors if s.strip()]
        assert {"hall_pir", "front_door", "bed", "kettle", "fridge"} <= set(sensors)
        walk = subprocess.Popen([sys.executable, "-m", "hubd.hubctl", "--socket", sock, "walktest", "--seconds", "60",
                                 "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert walk.stdout.readline()  # the walk test has started: its first line
        for sensor in sensors:
            term.type(f"trigger {sensor}")
        out, err = walk.communicate(timeout=WAIT)
        final = json.loads(out.strip().splitlines()[-1])
        assert walk.returncode == 0 and final["complete"] and final["not_seen"] == [], (out, err)
        assert {s["id"] for s in final["seen"]} == set(sensors)
        term.type("quit")
        term.expect(r"bye\. State kept in")
    finally:
        if walk is not None and walk.poll() is None:
            walk.kill()
            walk.wait()
        code = term.close()
    assert code == 0
