"""Hostile control-socket clients (issue 13, item 7): idle sessions that try to hold every
slot, root locked out, and request lines the decoder must answer whatever they hold.

Time is the fake clock, given to the server as its own clock: no test sleeps.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hubd.clock import FakeClock
from hubd.control import protocol as p
from hubd.control import server as server_module
from hubd.control.server import IDLE_TIMEOUT, MAX_CLIENTS, ControlServer, Peer, Session

from control_harness import TIMEOUT, RunningHub

TECH_GID = 5555  # the technician group in these tests
SERVICE_UID = 999_999  # the service user
TECH = Peer(101, 4242, TECH_GID, "tech", (TECH_GID,))
ROOT = Peer(102, 0, 0, "root", (0,))
SERVICE = Peer(103, SERVICE_UID, SERVICE_UID, "hubd", (SERVICE_UID,))


def request(cmd: str, request_id: int = 1, **args) -> bytes:
    return json.dumps({"v": 1, "id": request_id, "cmd": cmd, "args": args}).encode() + b"\n"


class Client:
    """One raw connection; every read is bounded by the harness TIMEOUT."""

    def __init__(self, path: str):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(path)
        self.reader = self.sock.makefile("rb")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def reply(self) -> dict:
        line = self.reader.readline()
        assert line, "the daemon closed the connection without a reply"
        return json.loads(line)

    def ask(self, data: bytes) -> dict:
        self.send(data)
        return self.reply()

    def closed_by_daemon(self) -> bool:
        try:
            return self.reader.readline() == b""
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def peers(monkeypatch):
    """The kernel's answer to SO_PEERCRED, one per connection in order: the tests are one uid,
    the server must see technicians, root and the service user."""
    queue: list[Peer] = []
    monkeypatch.setattr(server_module, "peer_of", lambda sock: queue.pop(0))
    return queue


@pytest.fixture
def hub(make_config, clock, tmp_path, peers):
    config = make_config(hub={"socket": str(tmp_path / "c.sock")})
    running = RunningHub(config, clock, tmp_path / "c.sock", allowed_uids={0, SERVICE_UID}, allowed_gids={TECH_GID})
    running.server.clock = clock  # the server's own time seam: the daemon's fake clock
    with running:
        yield running


def connect(hub, peers, peer: Peer, request_id: int = 1) -> Client:
    """A session that made one real request (so the server has admitted it by the time this returns)."""
    peers.append(peer)
    client = Client(hub.path)
    reply = client.ask(request("status", request_id))
    assert reply["ok"] is True, reply
    return client


# -- idle sessions cannot hold the slots -------------------------------------------------------


def test_blank_lines_and_garbage_do_not_keep_a_session_but_real_requests_do(hub, peers):
    """The reported attack: eight hubd-tech clients sending a blank line every 100 s held every
    slot for ever. Now only a request that decodes is activity; one client that keeps asking
    for status stays, the seven that only send blank lines are closed at the idle limit."""
    clients = [connect(hub, peers, TECH, i) for i in range(MAX_CLIENTS)]
    worker, idlers = clients[0], clients[1:]
    for _ in range(2):  # 2 x 100 s: past the 120 s limit counted from the last real request
        for c in idlers:
            # blank lines, then a line that is not a request: its error reply shows the server read them all
            assert c.ask(b"\n \n\t\r\nnot a request\n")["error"]["code"] == p.BAD_JSON
        assert worker.ask(request("status", 77))["ok"] is True
        hub.advance(100.0)
    for c in idlers:
        reply = c.reply()
        assert reply["error"]["code"] == p.TIMEOUT and f"{IDLE_TIMEOUT:g} s" in reply["error"]["message"]
        assert c.closed_by_daemon()
    assert worker.ask(request("status", 78))["ok"] is True  # asked 100 s ago: still within its limit
    fresh = connect(hub, peers, TECH, 90)  # the slots are free again
    for c in clients + [fresh]:
        c.close()


def test_a_session_that_never_sends_a_request_is_closed_at_the_idle_limit(hub, peers):
    peers.append(TECH)
    silent = Client(hub.path)
    other = connect(hub, peers, TECH)  # answered: the silent one, accepted before it, is admitted too
    hub.advance(IDLE_TIMEOUT - 1)
    assert other.ask(request("status", 2))["ok"] is True
    silent.sock.setblocking(False)
    with pytest.raises(BlockingIOError):  # nothing to read: not timed out yet
        silent.sock.recv(1)
    silent.sock.settimeout(TIMEOUT)
    hub.advance(2.0)
    assert silent.reply()["error"]["code"] == p.TIMEOUT  # now it is
    assert silent.closed_by_daemon()
    silent.close()
    other.close()


def test_a_line_trickled_without_a_newline_does_not_keep_a_session(hub, peers):
    trickler = connect(hub, peers, TECH)
    for _ in range(3):
        trickler.send(b'{"v":1,')
        hub.advance(50.0)
    assert trickler.reply()["error"]["code"] == p.TIMEOUT
    assert trickler.closed_by_daemon()
    trickler.close()


# -- root always gets a slot ---------------------------------------------------------------------


def test_root_and_the_service_user_get_a_slot_when_technicians_hold_them_all(hub, peers):
    clients = []
    for i in range(MAX_CLIENTS):  # each asks 10 s after the one before: client 0 has been idle longest
        clients.append(connect(hub, peers, TECH, i))
        hub.advance(10.0)
    peers.append(TECH)
    ninth = Client(hub.path)
    busy = ninth.reply()
    assert busy["error"]["code"] == p.BUSY and ninth.closed_by_daemon()  # a technician over the limit waits

    root = connect(hub, peers, ROOT, 100)  # root gets in...
    evicted = clients[0].reply()  # ...by closing the technician session idle longest, which is told why
    assert evicted["error"]["code"] == p.BUSY and "make room for root" in evicted["error"]["message"]
    assert clients[0].closed_by_daemon()
    assert clients[1].ask(request("status", 5))["ok"] is True  # the others are untouched

    service = connect(hub, peers, SERVICE, 101)  # the service user too: now client 2 is idle longest
    assert "make room for hubd" in clients[2].reply()["error"]["message"]
    assert clients[2].closed_by_daemon()
    assert root.ask(request("status", 102))["ok"] is True and service.ask(request("status", 103))["ok"] is True

    peers.append(TECH)
    tenth = Client(hub.path)
    assert tenth.reply()["error"]["code"] == p.BUSY  # still 8 sessions: technicians do not evict
    for c in clients + [ninth, tenth, root, service]:
        c.close()


def test_when_every_technician_is_answering_root_closes_the_oldest_request(hub, peers):
    """Eight technicians each watching a stream (a real request, up to a day long): root still gets in."""
    watchers = []
    for i in range(MAX_CLIENTS):
        peers.append(TECH)
        c = Client(hub.path)
        c.send(request("watch", i, seconds=86400.0))
        watchers.append(c)
        hub.wait_for_streams(i + 1)
        hub.advance(1.0)
    root = connect(hub, peers, ROOT, 100)
    assert "make room for root" in watchers[0].reply()["error"]["message"]
    hub.wait_for_streams(MAX_CLIENTS - 1)  # the evicted watch unsubscribed
    assert root.ask(request("status", 101))["ok"] is True
    for c in watchers + [root]:
        c.close()


def test_admission_rules_without_a_socket():
    server = ControlServer(SimpleNamespace(), "/nonexistent/c.sock", {SERVICE_UID}, {TECH_GID},
                           max_clients=2, clock=FakeClock())
    assert server.privileged(ROOT) and server.privileged(SERVICE) and not server.privileged(TECH)

    async def run() -> None:
        a, b = server._admit(ROOT), server._admit(ROOT)
        assert a and b
        assert server._admit(ROOT) is None  # every slot held by privileged sessions: nobody to evict
        assert server._admit(TECH) is None

    asyncio.run(run())


# -- the request decoder answers whatever it is sent ---------------------------------------------


def test_a_lone_surrogate_gets_a_protocol_error_and_the_session_stays(hub, peers):
    """The reported attack: {"cmd":"\\ud800"} closed the connection without a reply."""
    c = connect(hub, peers, TECH)
    reply = c.ask(b'{"v":1,"id":5,"cmd":"\\ud800"}\n')
    assert reply["ok"] is False and reply["error"]["code"] == p.BAD_JSON and reply["id"] == 5
    assert "lone surrogate (U+D800)" in reply["error"]["message"]
    reply = c.ask(b'{"v":1,"id":6,"cmd":"events","args":{"since":"\\udfff1d"}}\n')
    assert reply["error"]["code"] == p.BAD_JSON and reply["id"] == 6
    assert c.ask(request("status", 7))["ok"] is True
    assert hub.running
    c.close()


def test_replies_encode_whatever_text_they_carry():
    line = p.encode_error(1, p.BAD_ARGS, "bad \ud800 text")
    assert json.loads(line.decode("utf-8"))["error"]["message"] == "bad \ud800 text"
    line = p.encode_reply(2, {"sensor": "\udcff"})
    assert line.decode("utf-8").count("\n") == 1 and json.loads(line)["data"] == {"sensor": "\udcff"}
    with pytest.raises(p.ProtocolError) as caught:  # hubctl refuses it rather than print what it cannot
        p.decode_reply(line, 2)
    assert caught.value.code == p.BAD_JSON


class _Writer:
    def __init__(self) -> None:
        self.out = bytearray()

    def write(self, data: bytes) -> None:
        self.out += data

    async def drain(self) -> None:
        pass


class _Commands:
    """Every non-streaming command answers with its name."""

    def __getattr__(self, name: str):
        return lambda args, actor: {"cmd": name}


def _converse(data: bytes) -> bytes:
    server = ControlServer(SimpleNamespace(), "/nonexistent/c.sock", set(), set(), clock=FakeClock(mono=0.0))
    server.commands = _Commands()

    async def run() -> bytes:
        reader = asyncio.StreamReader(limit=p.MAX_REQUEST_BYTES + 1)
        reader.feed_data(data)
        reader.feed_eof()
        writer = _Writer()
        await server._converse(reader, writer, Session(TECH, False, 0.0, 1))
        return bytes(writer.out)

    return asyncio.run(run())


def test_the_idle_limit_counts_from_the_end_of_an_answer_not_its_start():
    """A stream longer than the idle limit (watch may run a day) leaves the session usable."""
    clock = FakeClock(mono=0.0)
    server = ControlServer(SimpleNamespace(), "/nonexistent/c.sock", set(), set(), clock=clock)

    class Streaming(_Commands):
        async def watch(self, args, actor, emit):
            await emit({"event": 1})
            clock.advance(3 * IDLE_TIMEOUT)  # the stream outlasts the idle limit
            return {"events": 1}

    server.commands = Streaming()

    async def run() -> list[dict]:
        reader = asyncio.StreamReader()
        writer = _Writer()
        reader.feed_data(request("watch", 1))
        talk = asyncio.ensure_future(server._converse(reader, writer, Session(TECH, False, 0.0, 1)))
        while writer.out.count(b"\n") < 2:  # the chunk and the final reply
            await asyncio.sleep(0)
        for _ in range(20):  # the server waits for the next request (an expired limit would fire now)
            await asyncio.sleep(0)
        reader.feed_data(request("status", 2))
        reader.feed_eof()
        await talk
        return [json.loads(line) for line in bytes(writer.out).splitlines()]

    replies = asyncio.run(run())
    assert [(r["id"], r.get("more", False), r["ok"]) for r in replies] == [(1, True, True), (1, False, True), (2, False, True)]


_text = st.text(max_size=6) | st.text(st.characters(categories=["Cs"]), max_size=3)
_value = st.recursive(st.none() | st.booleans() | st.integers() | _text,
                      lambda inner: st.lists(inner, max_size=2) | st.dictionaries(_text, inner, max_size=2),
                      max_leaves=5)
_quiet = sorted(name for name, c in p.COMMANDS.items() if not c.streams)
_requests = st.fixed_dictionaries({"v": st.just(1) | _value, "id": st.integers(0, 9) | _value},
                                  optional={"cmd": st.sampled_from(_quiet) | _text,
                                            "args": st.dictionaries(st.sampled_from(["since", "limit", "to"]) | _text,
                                                                    _value, max_size=2)})
_lines = st.one_of(
    st.binary(max_size=60).map(lambda b: b.replace(b"\n", b"")),
    _requests.map(lambda obj: json.dumps(obj).encode()),  # ensure_ascii: surrogates become \\udXXX escapes
    st.sampled_from([b"", b"   ", b"\t\r", b'{"v":1,"id":1,"cmd":"\\ud800"}', b'{"v":1,"id":1,"cmd":"status"}',
                     b"\xff\xfe", b'{"v":1,"id":1,"cmd":"events","args":{"since":"1111111111111111111111111111111111111d"}}']),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_lines, max_size=6), st.booleans())
def test_fuzz_every_request_line_gets_exactly_one_valid_reply(lines, final_newline):
    """Any bytes: one reply line per non-blank line, each valid UTF-8 JSON of the protocol,
    and the session ends only at the client's end of input (never a silent drop, never a traceback)."""
    data = b"\n".join(lines) + (b"\n" if final_newline else b"")
    handler = _Catch()
    log = logging.getLogger("hubd.control")
    log.addHandler(handler)
    try:
        out = _converse(data)
    finally:
        log.removeHandler(handler)
    assert handler.records == []
    expected = sum(1 for line in data.split(b"\n") if line.strip())
    replies = out.split(b"\n")
    assert replies[-1] == b"" and len(replies) - 1 == expected
    for line in replies[:-1]:
        reply = json.loads(line.decode("utf-8"))
        assert reply["v"] == 1 and isinstance(reply["ok"], bool)
        if not reply["ok"]:
            assert reply["error"]["code"] in p.ERROR_CODES and reply["error"]["message"]


class _Catch(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list = []

    def emit(self, record) -> None:
        self.records.append(record)
