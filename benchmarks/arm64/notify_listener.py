"""A stand-in for systemd's notify socket: records every sd_notify datagram the daemon sends.

    python3 notify_listener.py SOCKET OUTFILE   # serve until killed; one datagram per line block
    python3 notify_listener.py --wait SOCKET    # return once SOCKET exists (at most 10 s)

It runs on the host, so the emulated daemon only has to send (an emulated program cannot
exec another arm64 program, but a datagram to a host process is fine).
"""

from __future__ import annotations

import os
import socket
import sys
import time


def serve(path: str, out: str) -> None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    with open(out, "a", encoding="utf-8") as fh:
        while True:
            data = sock.recv(65536)
            fh.write(data.decode(errors="replace") + "\n")
            fh.flush()


def wait_for(path: str, limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            sys.exit(f"notify socket {path} did not appear within {limit:g} s")
        time.sleep(0.05)


if __name__ == "__main__":
    if sys.argv[1] == "--wait":
        wait_for(sys.argv[2])
    else:
        serve(sys.argv[1], sys.argv[2])
