"""hubctl's side of the control socket: blocking, one connection per command.

Connection failures become :class:`DaemonUnavailable` with a hint for each cause (no
socket, nobody listening, permission denied, no answer); protocol and daemon-side
errors become :class:`~hubd.control.protocol.ProtocolError` with the daemon's code.
"""

from __future__ import annotations

import errno
import socket
from typing import Any, Iterator

from . import protocol as p


class DaemonUnavailable(Exception):
    """hubctl cannot talk to the daemon; ``reason`` is missing, refused, denied, timeout or closed."""

    def __init__(self, reason: str, message: str, hint: str, **values: str):
        """``message`` and ``hint`` are templates (hubctl says them in the hub's language) over ``values``."""
        super().__init__(message.format(**values))
        self.reason = reason
        self.templates = (message, hint)
        self.values = values
        self.message = message.format(**values)
        self.hint = hint.format(**values)


def _unavailable(exc: OSError, path: str, group: str) -> DaemonUnavailable:
    if isinstance(exc, FileNotFoundError) or exc.errno == errno.ENOTDIR:
        return DaemonUnavailable("missing", "hubd is not running: no control socket at {path}",
                                 "start it with: sudo systemctl start hubd (or point --socket/--config elsewhere)",
                                 path=path)
    if isinstance(exc, ConnectionRefusedError):
        return DaemonUnavailable("refused", "hubd is not running: nothing listens on {path}",
                                 "see why with: systemctl status hubd; journalctl -u hubd -e", path=path)
    if isinstance(exc, PermissionError):
        return DaemonUnavailable("denied", "permission denied on {path}",
                                 "run as root, or join group {group}: sudo usermod -aG {group} $USER, log in again",
                                 path=path, group=group)
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return DaemonUnavailable("timeout", "hubd did not answer on {path} in time",
                                 "it may be hung: systemctl status hubd; journalctl -u hubd -e", path=path)
    return DaemonUnavailable("closed", "lost the connection to hubd on {path}: {why}", "see: systemctl status hubd",
                             path=path, why=str(exc.strerror or exc))


class ControlClient:
    def __init__(self, path: str, timeout: float = 10.0, technician_group: str = "hubd-tech"):
        self.path = path
        self.timeout = timeout
        self.group = technician_group
        self._next_id = 1

    def call(self, cmd: str, **args: Any) -> Any:
        """One request, one reply: the reply's data, or a ProtocolError."""
        for more, data in self.stream(cmd, **args):
            if not more:
                return data
        raise AssertionError("a stream always ends with a final reply")  # pragma: no cover

    def stream(self, cmd: str, **args: Any) -> Iterator[tuple[bool, Any]]:
        """(more, data) pairs until the final reply; closing the iterator ends a stream on the daemon too."""
        request_id = self._next_id
        self._next_id += 1
        line = p.encode_request(request_id, cmd, args)  # bad arguments fail here, before connecting
        streams = p.COMMANDS[cmd].streams
        sock = self._connect()
        try:
            try:
                sock.sendall(line)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the daemon may have answered (and closed) already, e.g. a refusal: read it
            if streams:
                sock.settimeout(None)  # a watch may be quiet for long; the daemon enforces its time limit
            reader = sock.makefile("rb")
            while True:
                reply = p.decode_reply(self._read_line(reader), request_id)
                if not reply.ok:
                    raise p.ProtocolError(reply.error_code, reply.error_message, reply.id)
                yield reply.more, reply.data
                if not reply.more:
                    return
        except OSError as exc:
            raise _unavailable(exc, self.path, self.group) from None
        finally:
            sock.close()

    def _connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except OSError as exc:
            sock.close()
            raise _unavailable(exc, self.path, self.group) from None
        return sock

    def _read_line(self, reader: Any) -> bytes:
        line = reader.readline(p.MAX_REPLY_BYTES + 1)
        if not line:
            raise DaemonUnavailable("closed", "hubd closed the connection on {path} without answering",
                                    "see: journalctl -u hubd -e", path=self.path)
        if not line.endswith(b"\n"):
            raise p.ProtocolError(p.TOO_LARGE, f"the daemon's reply is longer than {p.MAX_REPLY_BYTES} bytes"
                                  if len(line) > p.MAX_REPLY_BYTES else "the daemon's reply was cut off")
        return line
