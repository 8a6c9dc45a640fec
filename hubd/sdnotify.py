"""systemd's notify protocol (READY=1, WATCHDOG=1, STATUS=…) over its unix datagram socket.

Written here rather than depended on: it is a dozen lines, and the hub must not need
systemd's Python bindings on the Pi.
"""

from __future__ import annotations

import os
import socket


class Notifier:
    def __init__(self, address: str | None = None, watchdog_usec: str | None = None):
        self.address = address if address is not None else os.environ.get("NOTIFY_SOCKET", "")
        usec = watchdog_usec if watchdog_usec is not None else os.environ.get("WATCHDOG_USEC", "")
        self.watchdog_interval = int(usec) / 1e6 if usec.isdigit() and int(usec) > 0 else None
        self._sock: socket.socket | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def notify(self, *lines: str) -> bool:
        """Send ``KEY=value`` lines; False (never an exception) when there is no systemd to tell."""
        if not self.address:
            return False
        target = self.address
        if target.startswith("@"):
            target = "\0" + target[1:]
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto("\n".join(lines).encode(), target)
            return True
        except OSError:
            return False

    def ready(self, status: str = "") -> bool:
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
