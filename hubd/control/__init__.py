"""The control socket: hubctl's line to the running daemon.

``protocol`` (the wire format, declared once and used by both sides), ``server`` (the
daemon's unix-socket listener), ``commands`` (what each command does on the daemon's
loop) and ``client`` (the blocking client hubctl uses).
"""

from .protocol import PROTOCOL

__all__ = ["PROTOCOL"]
