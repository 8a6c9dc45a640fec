"""``hubdesk demo``, as a person runs it: within a minute the board shows a resident alarm and a
silent hub, and the duty phones get their texts."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time

from board_helpers import Client

DEADLINE_S = 90.0


def test_the_demo_brings_the_board_alive_within_a_minute(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "hubdesk.cli", "demo", "--hubs", "6", "--speed", "7200",
                             "--listen", "127.0.0.1:0", "--state", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()

    def seen(pattern: str) -> re.Match | None:
        end = time.monotonic() + DEADLINE_S
        while time.monotonic() < end and proc.poll() is None:
            for line in list(lines):
                found = re.search(pattern, line)
                if found:
                    return found
            time.sleep(0.1)
        raise AssertionError(f"no {pattern!r} within {DEADLINE_S} s:\n" + "".join(lines))

    try:
        board = seen(r"board: http://127\.0\.0\.1:(\d+)\s+\(log in as demo / (\S+)\)")
        wall0 = time.monotonic()
        seen(r"duty phone \+\d+ gets: desk alert \d+ (inactivity|not_returned|stayed_in_place)")
        seen(r"duty phone \+\d+ gets: desk alert \d+ hub_silent")
        assert time.monotonic() - wall0 < 60.0, "the board should come alive within a minute"
        client = Client(int(board.group(1)))
        assert client.log_in("demo", board.group(2)).status == 303
        page = client.get("/").body
        rows = dict(re.findall(r'<tr class="(\w+)" data-flat="([^"]+)"', page))
        assert {"alarm", "silent"} <= set(rows), rows  # a collapsed resident, a dead hub
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0
    assert "hubdesk demo: ended" in "".join(lines)
