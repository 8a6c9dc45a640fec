"""The daemon's control socket: a unix stream socket on the daemon's own asyncio loop.

Access is checked twice: the socket file is mode 0660 (owner = the service user, group =
the technician group), and every peer's credentials are read with SO_PEERCRED and must
be root, the service user, or a member of an allowed group. A refused peer gets an error
reply and an audit entry. There is never a TCP listener: the hub has no IP sockets.

Slots: at most ``max_clients`` sessions. Only a request that decodes counts as activity;
blank lines or garbage do not, so a session with no real request for ``idle_timeout`` is
closed whatever it sends. Root and the service user always get a slot: when every slot is
taken, the technician session idle longest is closed to make room (eviction rather than a
reserved slot: a reserved slot is one more slot that one privileged session can fill, while
eviction lets every privileged peer in, and a session closed that way was idle, or
is the technician's oldest request, and gets a reply saying why).
"""

from __future__ import annotations

import asyncio
import grp
import logging
import os
import pwd
import socket
import stat
import struct
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..core.actions import Audit
from ..clock import Clock, SystemClock
from ..core.engine import CommandError
from ..hubctl_text import tr_in
from . import protocol as p
from .commands import Commands

log = logging.getLogger("hubd.control")

SOCKET_MODE = 0o660
MAX_CLIENTS = 8
IDLE_TIMEOUT = 120.0  # seconds a connection may go without a real request


class ControlSocketError(OSError):
    """The control socket cannot be opened; the daemon keeps watching without it."""


@dataclass(frozen=True)
class Peer:
    """Who is on the other end, as the kernel says (SO_PEERCRED), not as the client claims."""

    pid: int
    uid: int
    gid: int
    user: str
    groups: tuple[int, ...]


@dataclass(eq=False)
class Session:
    """One admitted connection: who, since when it last made a real request, whether it is
    being answered now, and why it was closed from outside (eviction)."""

    peer: Peer
    privileged: bool
    last_request: float  # the server clock's time of the last request that decoded (or of admission)
    seq: int  # admission order, for a stable choice among equals
    answering: bool = False
    evicted_by: str | None = None
    task: asyncio.Task | None = field(default=None, repr=False)


def peer_of(sock: socket.socket) -> Peer:
    pid, uid, gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
    try:
        user = pwd.getpwuid(uid).pw_name
        groups = tuple(os.getgrouplist(user, gid))
    except KeyError:  # a uid without a passwd entry: only its primary group is known
        user, groups = f"uid {uid}", (gid,)
    return Peer(pid, uid, gid, user, groups)


class ControlServer:
    def __init__(self, daemon: Any, path: str, allowed_uids: Iterable[int], allowed_gids: Iterable[int], *,
                 socket_group: int | None = None, max_clients: int = MAX_CLIENTS,
                 idle_timeout: float = IDLE_TIMEOUT, clock: Clock | None = None):
        self.daemon = daemon
        self.path = os.fspath(path)
        self.allowed_uids = frozenset(allowed_uids)
        self.allowed_gids = frozenset(allowed_gids)
        self.socket_group = socket_group
        self.max_clients = max_clients
        self.idle_timeout = idle_timeout
        # real time, not the daemon's (accelerated in `hubd sim`): the idle limit is about people and programs
        self.clock: Clock = clock or SystemClock()
        self.commands = Commands(daemon)
        self._server: asyncio.AbstractServer | None = None
        self._inode: int | None = None
        self._clients: set[asyncio.Task] = set()  # every connection, admitted or not
        self._sessions: list[Session] = []  # the admitted ones, in admission order
        self._admitted = 0

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Bind, set mode and group, then listen: nobody can connect before the permissions are right."""
        sock = self._bind()
        try:
            self._server = await asyncio.start_unix_server(self._serve, sock=sock, limit=p.MAX_REQUEST_BYTES + 1)
        except BaseException:
            sock.close()
            self._unlink()
            raise
        self.daemon.listeners.append(self.commands.on_event)
        log.info("control socket %s ready", self.path)

    def _bind(self) -> socket.socket:
        parent = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(parent):
            raise ControlSocketError(f"control socket directory {parent} does not exist "
                                     "(systemd's RuntimeDirectory=hubd creates /run/hubd)")
        self._remove_stale()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(self.path)
            self._inode = os.stat(self.path).st_ino
            os.chmod(self.path, SOCKET_MODE)
            if self.socket_group is not None:
                try:
                    os.chown(self.path, -1, self.socket_group)
                except PermissionError:
                    log.warning("cannot give %s to group %d: technicians cannot connect "
                                "(add the group to the service's SupplementaryGroups=)", self.path, self.socket_group)
            sock.listen(self.max_clients)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            self._unlink()
            raise ControlSocketError(f"cannot open control socket {self.path}: {exc.strerror or exc}") from exc
        return sock

    def _remove_stale(self) -> None:
        """A socket left by a killed daemon is removed; a live one, or any other file, is not touched."""
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(st.st_mode):
            raise ControlSocketError(f"{self.path} exists and is not a socket: refusing to replace it")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(self.path)
        except ConnectionRefusedError:
            os.unlink(self.path)
            return
        except OSError as exc:
            raise ControlSocketError(f"cannot check the old socket {self.path}: {exc.strerror or exc}") from exc
        finally:
            probe.close()
        raise ControlSocketError(f"another daemon is listening on {self.path}")

    def close(self) -> None:
        """Stop listening, end open connections and remove the socket file (if it is still ours)."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._clients):
            task.cancel()
        if self.commands.on_event in self.daemon.listeners:
            self.daemon.listeners.remove(self.commands.on_event)
        self._unlink()

    async def wait_closed(self) -> None:
        await asyncio.gather(*self._clients, return_exceptions=True)

    def _unlink(self) -> None:
        try:
            if self._inode is not None and os.lstat(self.path).st_ino == self._inode:
                os.unlink(self.path)
        except FileNotFoundError:
            pass
        self._inode = None

    # -- access ------------------------------------------------------------------------------
    def allows(self, peer: Peer) -> bool:
        return peer.uid in self.allowed_uids or bool(self.allowed_gids.intersection((peer.gid, *peer.groups)))

    def privileged(self, peer: Peer) -> bool:
        """Root and the service user (the allowed uids): they always get a slot."""
        return peer.uid == 0 or peer.uid in self.allowed_uids

    def _admit(self, peer: Peer) -> Session | None:
        """A session for ``peer``, or None (busy). A privileged peer finding every slot taken
        closes the technician session idle longest (one answering a request counts as idle
        since that request began; among equals the oldest goes)."""
        privileged = self.privileged(peer)
        if len(self._sessions) >= self.max_clients:
            victims = [s for s in self._sessions if not s.privileged and s.evicted_by is None]
            if not privileged or not victims:
                return None
            victim = min(victims, key=lambda s: (s.answering, s.last_request, s.seq))
            self._evict(victim, peer)
        self._admitted += 1
        session = Session(peer, privileged, self.clock.monotonic(), self._admitted, task=asyncio.current_task())
        self._sessions.append(session)
        return session

    def _evict(self, victim: Session, by: Peer) -> None:
        log.warning("control socket: all %d slots taken; closed %s's session (idle %.0f s) for %s",
                    self.max_clients, victim.peer.user, self.clock.monotonic() - victim.last_request, by.user)
        victim.evicted_by = by.user
        self._sessions.remove(victim)
        if victim.task is not None:
            victim.task.cancel()

    def _refuse(self, peer: Peer) -> str:
        log.warning("control socket: refused %s (uid %d, gid %d, pid %d)", peer.user, peer.uid, peer.gid, peer.pid)
        self.daemon.apply([Audit(peer.user, "control_refused",
                                    {"uid": peer.uid, "gid": peer.gid, "pid": peer.pid})], self.daemon.clock.local())
        group = self.daemon.config.hub.technician_group
        return tr_in(self.daemon.config.hub.language,
                     "user {user} (uid {uid}) may not control this hub: run as root or join group {group}",
                     user=peer.user, uid=peer.uid, group=group)

    # -- connections -------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._clients.add(task)
        session: Session | None = None
        try:
            peer = peer_of(writer.get_extra_info("socket"))
            if not self.allows(peer):
                await _send(writer, p.encode_error(None, p.FORBIDDEN, self._refuse(peer)))
                return
            session = self._admit(peer)
            if session is None:
                await _send(writer, p.encode_error(None, p.BUSY, f"{self.max_clients} hubctl sessions are open "
                                                   "already; try again in a moment"))
            else:
                await self._converse(reader, writer, session)
        except asyncio.CancelledError:
            if session is not None and session.evicted_by is not None:  # say why, without waiting on the peer
                writer.write(p.encode_error(None, p.BUSY, f"session closed to make room for {session.evicted_by}: "
                                            f"all {self.max_clients} hubctl sessions were taken"))
        except ConnectionError:
            pass
        except Exception:  # a bug in a handler must never take the daemon down
            log.exception("control connection failed")
        finally:
            self._clients.discard(task)
            if session is not None and session in self._sessions:
                self._sessions.remove(session)
            writer.close()

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, session: Session) -> None:
        """Requests one line at a time until the client closes, goes without a real request for
        the idle limit (blank lines and garbage do not count), or sends too much."""
        while True:
            try:
                line = await self._read_line(reader, session.last_request + self.idle_timeout)
            except ValueError:  # the stream's limit: no newline within MAX_REQUEST_BYTES
                await _send(writer, p.encode_error(None, p.TOO_LARGE,
                                                   f"request longer than {p.MAX_REQUEST_BYTES} bytes; connection closed"))
                return
            if line is None:
                await _send(writer, p.encode_error(None, p.TIMEOUT, f"no request for {self.idle_timeout:g} s; "
                                                   "connection closed"))
                return
            if not line:
                return
            if not line.strip():
                continue
            if not await self._answer(line, reader, writer, session):
                return

    async def _read_line(self, reader: asyncio.StreamReader, deadline: float) -> bytes | None:
        """The next line, or None once the server clock reaches ``deadline`` (a line already
        there is still read: it may be the request that keeps the session)."""
        read = asyncio.ensure_future(reader.readline())
        timer = asyncio.ensure_future(self.clock.sleep_until(deadline))
        try:
            await asyncio.wait({read, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            if not read.done():
                read.cancel()
        return read.result() if read.done() and not read.cancelled() else None

    async def _answer(self, line: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                      session: Session) -> bool:
        """Answer one request; False when the connection should end (a stream the client broke off).
        A request that decodes is activity: the idle limit counts from the end of its answer."""
        request_id = None
        peer = session.peer
        try:
            request = p.decode_request(line)
            request_id = request.id
            session.last_request = self.clock.monotonic()  # while answering, eviction ranks by the start
            session.answering = True
            command = p.COMMANDS[request.cmd]
            handler = getattr(self.commands, request.cmd.replace("-", "_"))
            if command.streams:
                data = await self._stream(handler, request, reader, writer, peer)
                if data is _BROKEN_OFF:
                    return False
            else:
                data = handler(request.args, peer.user)
            reply = p.encode_reply(request_id, data)
        except p.ProtocolError as exc:
            reply = p.encode_error(exc.request_id if request_id is None else request_id, exc.code, exc.message)
        except CommandError as exc:
            reply = p.encode_error(request_id, p.REFUSED, str(exc))
        except ConnectionError:
            raise
        except Exception as exc:
            log.exception("control command failed: %r", line[:200])
            reply = p.encode_error(request_id, p.INTERNAL, f"internal error ({type(exc).__name__}); see the journal")
        finally:
            if session.answering:
                session.answering = False
                session.last_request = self.clock.monotonic()  # a day-long watch leaves the session fresh
        await _send(writer, reply)
        return True

    async def _stream(self, handler: Any, request: p.Request, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter, peer: Peer) -> Any:
        """Run a streaming handler until it returns, or until the client sends anything or hangs up."""

        async def emit(data: Any) -> None:
            await _send(writer, p.encode_reply(request.id, data, more=True))

        work = asyncio.ensure_future(handler(request.args, peer.user, emit))
        hangup = asyncio.ensure_future(reader.read(1))
        try:
            await asyncio.wait({work, hangup}, return_when=asyncio.FIRST_COMPLETED)
            if work.done():
                return work.result()
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)  # its cleanup (listeners, outputs, audit) runs now
            return _BROKEN_OFF
        finally:
            hangup.cancel()
            work.cancel()


_BROKEN_OFF = object()


async def _send(writer: asyncio.StreamWriter, line: bytes) -> None:
    writer.write(line)
    await writer.drain()


def attach(daemon: Any) -> ControlServer:
    """The daemon's control server from its config: root, the service user and the technician group."""
    hub = daemon.config.hub
    gids: set[int] = set()
    group_gid = None
    try:
        group_gid = grp.getgrnam(hub.technician_group).gr_gid
        gids.add(group_gid)
    except KeyError:
        log.warning("technician group %r does not exist: only root and the service user may use hubctl",
                    hub.technician_group)
    return ControlServer(daemon, hub.socket, {0, os.geteuid()}, gids, socket_group=group_gid)
