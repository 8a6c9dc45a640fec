"""The control protocol and the daemon's control socket, spoken to with raw sockets."""

from __future__ import annotations

import json
import math
import os
import socket
import stat
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hubd.control import protocol as p
from hubd.control.client import ControlClient
from hubd.control.server import ControlServer, ControlSocketError, attach
from hubd.events import Kind

from control_harness import TIMEOUT, RunningHub, SimHardware

SENSORS = [{"id": "hall", "kind": "motion", "pin": 17, "label": "Hall PIR"},
           {"id": "bath", "kind": "door", "pin": 27}]


@pytest.fixture
def hub_config(make_config, tmp_path):
    return make_config(sensors=SENSORS, hub={"socket": str(tmp_path / "c.sock")})


@pytest.fixture
def hub(hub_config, clock, tmp_path):
    with RunningHub(hub_config, clock, tmp_path / "c.sock") as running:
        yield running


def exchange(path, payload: bytes, expect: int = 1, hang_up: bool = True) -> tuple[list[dict], bool]:
    """Send ``payload``, read ``expect`` reply lines, then see whether the connection is closed.

    With ``hang_up=False`` the client keeps its side open, so a closed connection means the daemon closed it.
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(TIMEOUT)
    sock.connect(str(path))
    sender = threading.Thread(target=_send_quietly, args=(sock, payload))
    sender.start()
    reader = sock.makefile("rb")
    replies = [json.loads(reader.readline()) for _ in range(expect)]
    sender.join(TIMEOUT)
    try:
        if hang_up:
            sock.shutdown(socket.SHUT_WR)
        closed_by_daemon = reader.readline() == b""
    except ConnectionResetError:  # closed with our unread request bytes still queued
        closed_by_daemon = True
    sock.close()
    return replies, closed_by_daemon


def _send_quietly(sock: socket.socket, payload: bytes) -> None:
    try:
        sock.sendall(payload)
    except OSError:  # the daemon may close first (oversized request): its reply is still readable
        pass


def request(cmd, args=None, request_id=1) -> bytes:
    return json.dumps({"v": 1, "id": request_id, "cmd": cmd, "args": args or {}}).encode() + b"\n"


def assert_status_works(hub) -> None:
    (reply,), _ = exchange(hub.path, request("status", request_id=99))
    assert reply["ok"] and reply["id"] == 99 and reply["data"]["flat_id"] == "T-1"
    assert hub.running


# -- the protocol on its own ------------------------------------------------------------------


def test_request_round_trip_fills_defaults():
    line = p.encode_request(5, "events", {"since": "6h"})
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert p.decode_request(line) == p.Request(5, "events", {"since": "6h", "limit": 50})


@pytest.mark.parametrize("line, code", [
    (b"{not json\n", p.BAD_JSON),
    (b"\xff\xfe\n", p.BAD_JSON),
    (b'{"v":1,"id":1,"cmd":"status","args":{},"x":NaN}\n', p.BAD_JSON),
    (b"[1,2]\n", p.BAD_REQUEST),
    (b'{"id":1,"cmd":"status"}\n', p.BAD_VERSION),
    (b'{"v":2,"id":1,"cmd":"status"}\n', p.BAD_VERSION),
    (b'{"v":true,"id":1,"cmd":"status"}\n', p.BAD_VERSION),
    (b'{"v":1,"cmd":"status"}\n', p.BAD_REQUEST),
    (b'{"v":1,"id":-1,"cmd":"status"}\n', p.BAD_REQUEST),
    (b'{"v":1,"id":1,"cmd":"status","extra":1}\n', p.BAD_REQUEST),
    (b'{"v":1,"id":1,"cmd":7}\n', p.BAD_REQUEST),
    (b'{"v":1,"id":1,"cmd":"reboot"}\n', p.UNKNOWN_COMMAND),
    (b'{"v":1,"id":1,"cmd":"status","args":[]}\n', p.BAD_ARGS),
    (b'{"v":1,"id":1,"cmd":"status","args":{"x":1}}\n', p.BAD_ARGS),
    (b'{"v":1,"id":1,"cmd":"away","args":{}}\n', p.BAD_ARGS),
    (b'{"v":1,"id":1,"cmd":"away","args":{"hours":"12"}}\n', p.BAD_ARGS),
    (b'{"v":1,"id":1,"cmd":"away","args":{"hours":true}}\n', p.BAD_ARGS),
    (b'{"v":1,"id":1,"cmd":"ack","args":{"id":1.5}}\n', p.BAD_ARGS),
    (b'{"v":1,"id":1,"cmd":"ack","args":{"id":0}}\n', p.BAD_ARGS),
    (b'{"v":1,"id":1,"cmd":"alerts","args":{"open":1}}\n', p.BAD_ARGS),
    (b'{"v":1,"id":1,"cmd":"alerts","args":{"limit":501}}\n', p.BAD_ARGS),
    (b'{"v":1,"id":1,"cmd":"test-alert","args":{"to":"' + b"1" * 30 + b'"}}\n', p.BAD_ARGS),
    (b'{"v":1,"id":1,"cmd":"events","args":{"since":"' + b"1" * 37 + b'd"}}\n', p.BAD_ARGS),  # overflowed format_local
    (b'{"v":1,"id":1,"cmd":"export","args":{"since":"3651d"}}\n', p.BAD_ARGS),
    ('{"v":1,"id":1,"cmd":"events","args":{"since":"\u0661d"}}\n'.encode(), p.BAD_ARGS),  # an Arabic-Indic 1
    (b'{"v":1,"id":1,"cmd":"events","args":{"since":"2024-05-01T08:00+09:00"}}\n', p.BAD_ARGS),
    (b'{"v":1,"id":1,"cmd":"\\ud800"}\n', p.BAD_JSON),  # a lone surrogate: no reply could be encoded
    (b'{"v":1,"id":1,"cmd":"status","args":{"\\udfff":1}}\n', p.BAD_JSON),
])
def test_bad_requests_name_their_problem(line, code):
    with pytest.raises(p.ProtocolError) as caught:
        p.decode_request(line)
    assert caught.value.code == code
    assert caught.value.message


@pytest.mark.parametrize("text, expected", [
    ("90m", ("age", 5400.0)), (" 6 h ", ("age", 21600.0)), ("1.5d", ("age", 129600.0)),
    ("3650d", ("age", 3650 * 86400.0)), ("0s", ("age", 0.0)),
    ("2024-05-01", ("local", 1714521600.0)), ("2024-05-01T08:00", ("local", 1714550400.0)),
])
def test_since_forms(text, expected):
    assert p.parse_since(text) == expected


@pytest.mark.parametrize("text, words", [
    ("1" * 37 + "d", "at most 3650 days"), ("87601h", "at most 3650 days"), ("3650.01d", "at most 3650 days"),
    ("\u0661d", "give the hub's local time"), ("1e3d", "give the hub's local time"),
    ("2024-05-01T08:00Z", "no offset"), ("", "an age (90m, 6h, 7d)"),
])
def test_since_out_of_range_or_malformed_names_the_rule(text, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        p.parse_since(text)
    with pytest.raises(p.ProtocolError) as caught:
        p.encode_request(1, "events", {"since": text})  # hubctl refuses it before connecting
    assert caught.value.code == p.BAD_ARGS and words in caught.value.message


def test_the_events_handler_applies_the_since_rule_itself():
    """Even called without the protocol's check (a future caller), a 37-digit age is a refusal, not an overflow."""
    from types import SimpleNamespace

    from hubd.clock import FakeClock
    from hubd.control.commands import Commands

    commands = Commands(SimpleNamespace(clock=FakeClock()))
    with pytest.raises(p.ProtocolError) as caught:
        commands.events({"since": "1" * 37 + "d", "limit": 5}, "tech")
    assert caught.value.code == p.BAD_ARGS and "at most 3650 days" in caught.value.message


def test_error_replies_keep_the_request_id_when_it_was_readable():
    with pytest.raises(p.ProtocolError) as caught:
        p.decode_request(b'{"v":1,"id":42,"cmd":"nope"}\n')
    assert caught.value.request_id == 42


def test_the_client_validates_what_it_sends():
    with pytest.raises(p.ProtocolError) as caught:
        p.encode_request(1, "away", {"hours": math.nan})
    assert caught.value.code == p.BAD_ARGS
    with pytest.raises(p.ProtocolError):
        p.encode_request(1, "no-such-command")


def test_reply_validation():
    ok = p.decode_reply(p.encode_reply(3, {"a": 1}, more=True), 3)
    assert (ok.ok, ok.more, ok.data) == (True, True, {"a": 1})
    err = p.decode_reply(p.encode_error(None, p.FORBIDDEN, "no"), 3)
    assert (err.ok, err.error_code, err.error_message) == (False, p.FORBIDDEN, "no")
    for bad in (b'{"v":2,"id":3,"ok":true,"data":1}', b'{"v":1,"id":4,"ok":true,"data":1}',
                b'{"v":1,"id":3,"ok":true}', b'{"v":1,"id":3,"ok":false,"error":"x"}', b"nope",
                b'{"v":1,"id":3,"ok":true,"data":1,"more":"yes"}', b'{"v":1,"id":3,"data":1}'):
        with pytest.raises(p.ProtocolError):
            p.decode_reply(bad, 3)


def test_replies_are_plain_json_whatever_the_core_reports():
    import numpy as np

    line = p.encode_reply(1, {"a": np.float64(1.5), "b": np.arange(3), "c": {2, 1}, "d": math.inf,
                              "e": Kind.DOOR, "f": (1, 2), "g": np.int64(7), "h": np.bool_(True)})
    assert json.loads(line)["data"] == {"a": 1.5, "b": [0, 1, 2], "c": [1, 2], "d": None, "e": "door",
                                        "f": [1, 2], "g": 7, "h": True}


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_any_bytes_give_a_request_or_a_protocol_error(data):
    try:
        request_ = p.decode_request(data)
    except p.ProtocolError as exc:
        assert exc.code in p.ERROR_CODES
    else:
        assert request_.cmd in p.COMMANDS


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                        max_size=3), max_leaves=8)


@settings(max_examples=400, deadline=None)
@given(st.fixed_dictionaries({}, optional={"v": st.one_of(st.just(1), json_values),
                                           "id": st.one_of(st.integers(-2, 2**60), json_values),
                                           "cmd": st.one_of(st.sampled_from(sorted(p.COMMANDS)), json_values),
                                           "args": st.one_of(st.dictionaries(
                                               st.sampled_from(["hours", "id", "limit", "open", "since", "seconds",
                                                                "to", "x"]), json_values, max_size=3), json_values)}))
def test_fuzz_json_requests_are_validated_completely(obj):
    try:
        request_ = p.decode_request(json.dumps(obj).encode())
    except p.ProtocolError as exc:
        assert exc.code in p.ERROR_CODES
        return
    spec = p.COMMANDS[request_.cmd]
    assert set(request_.args) == set(spec.args)
    for name, arg in spec.args.items():
        value = request_.args[name]
        assert value is None and not arg.required or isinstance(value, arg.type)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_replies_never_crash_the_client(data):
    try:
        p.decode_reply(data, 1)
    except p.ProtocolError:
        pass


# -- the socket -------------------------------------------------------------------------------


def test_socket_is_a_unix_socket_with_mode_0660(hub):
    mode = os.stat(hub.path).st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o660
    (reply,), _ = exchange(hub.path, request("status"))
    assert reply["v"] == 1 and reply["ok"] is True


def test_a_10_mb_request_is_refused_and_the_daemon_keeps_running(hub):
    (reply,), closed = exchange(hub.path, b'{"v":1,"id":1,"cmd":"status","args":{"x":"' + b"a" * 10_000_000 + b'"}}\n',
                              hang_up=False)
    assert reply["ok"] is False and reply["error"]["code"] == p.TOO_LARGE
    assert closed  # no request boundary to resync on
    assert_status_works(hub)


def test_invalid_json_gets_an_error_and_the_connection_stays_usable(hub):
    replies, _ = exchange(hub.path, b"this is not json\n" + request("status", request_id=2), expect=2)
    assert replies[0]["ok"] is False and replies[0]["error"]["code"] == p.BAD_JSON and replies[0]["id"] is None
    assert replies[1]["ok"] is True and replies[1]["id"] == 2
    assert_status_works(hub)


def test_unknown_command_gets_an_error_and_the_daemon_keeps_running(hub):
    (reply,), _ = exchange(hub.path, request("self-destruct", request_id=7))
    assert reply == {"v": 1, "id": 7, "ok": False,
                     "error": {"code": p.UNKNOWN_COMMAND, "message": reply["error"]["message"]}}
    assert "self-destruct" in reply["error"]["message"]
    assert_status_works(hub)


def test_wrong_version_and_bad_args_get_error_replies(hub):
    replies, _ = exchange(hub.path, b'{"v":9,"id":1,"cmd":"status"}\n' + request("pause", {"hours": "two"}, 2)
                          + request("events", {"since": "last tuesday"}, 3), expect=3)
    assert [r["error"]["code"] for r in replies] == [p.BAD_VERSION, p.BAD_ARGS, p.BAD_ARGS]
    assert [r["id"] for r in replies] == [1, 2, 3]
    assert hub.daemon.engine.mode.name == "home"
    assert_status_works(hub)


def test_a_handler_that_fails_gets_an_internal_error_and_the_daemon_keeps_running(hub):
    def broken(args, actor):
        raise RuntimeError("bug")

    hub.server.commands.status = broken
    (reply,), _ = exchange(hub.path, request("status"))
    assert reply["error"]["code"] == p.INTERNAL
    del hub.server.commands.status
    assert_status_works(hub)


def test_a_peer_outside_the_allowed_users_and_groups_is_refused_and_audited(hub_config, clock, tmp_path):
    me = os.getuid()
    my_groups = set(os.getgroups()) | {os.getgid()}
    path = tmp_path / "c.sock"
    with RunningHub(hub_config, clock, path, allowed_uids={me + 4242}, allowed_gids={max(my_groups) + 4242}) as hub:
        (reply,), closed = exchange(path, request("pause", {"hours": 8}), hang_up=False)
        assert reply["ok"] is False and reply["error"]["code"] == p.FORBIDDEN
        assert "may not control this hub" in reply["error"]["message"]
        assert closed
        assert hub.daemon.engine.mode.name == "home"  # nothing was done
        audit = hub.on_loop(hub.daemon.store.audit_log, 5)
        assert audit[0]["action"] == "control_refused" and audit[0]["detail"]["uid"] == me
        assert hub.running


def test_a_member_of_an_allowed_group_is_let_in(hub_config, clock, tmp_path):
    path = tmp_path / "c.sock"
    with RunningHub(hub_config, clock, path, allowed_uids=set(), allowed_gids={os.getgid()}):
        (reply,), _ = exchange(path, request("status"))
        assert reply["ok"] is True


def test_too_many_sessions_are_told_busy(hub_config, clock, tmp_path):
    path = tmp_path / "c.sock"
    with RunningHub(hub_config, clock, path, max_clients=1):
        holder = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        holder.connect(str(path))
        holder.sendall(request("status"))
        holder.makefile("rb").readline()  # the first session is being served, and stays open
        (reply,), closed = exchange(path, request("status"), hang_up=False)
        assert reply["error"]["code"] == p.BUSY and closed
        holder.close()


def test_an_idle_connection_is_timed_out(hub_config, clock, tmp_path):
    path = tmp_path / "c.sock"
    hub = RunningHub(hub_config, clock, path)
    hub.server.clock = clock  # the server's time seam: no real waiting
    with hub:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(TIMEOUT)
        sock.connect(str(path))
        reader = sock.makefile("rb")
        sock.sendall(request("status"))
        assert json.loads(reader.readline())["ok"] is True
        hub.advance(121.0)
        assert json.loads(reader.readline())["error"]["code"] == p.TIMEOUT
        assert reader.readline() == b""
        sock.close()


def test_a_37_digit_age_over_the_socket_is_refused_and_the_daemon_keeps_running(hub):
    (reply,), _ = exchange(hub.path, request("events", {"since": "1" * 37 + "d"}, 4))
    assert reply["id"] == 4 and reply["error"]["code"] == p.BAD_ARGS and "3650 days" in reply["error"]["message"]
    assert_status_works(hub)


def test_a_stream_ends_when_the_client_hangs_up(hub):
    client = ControlClient(hub.path)
    stream = client.stream("watch", seconds=60)
    results = []

    def consume():
        for more, data in stream:
            results.append((more, data))
            break
        stream.close()

    reader = threading.Thread(target=consume)
    reader.start()
    hub.wait_for_streams(1)
    hub.trigger("hall")
    reader.join(TIMEOUT)
    assert results and results[0][0] is True and results[0][1]["sensor"] == "hall"
    hub.wait_for_streams(0)  # the daemon noticed and unsubscribed
    assert_status_works(hub)


def test_a_live_socket_is_not_stolen_and_a_stale_one_is_replaced(hub, hub_config, tmp_path):
    second = ControlServer(hub.daemon, hub.path, {os.getuid()}, set())
    with pytest.raises(ControlSocketError, match="another daemon"):
        second._bind()
    stale = tmp_path / "stale.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(stale))
    s.close()  # bound, never listening: what a kill -9 leaves
    third = ControlServer(hub.daemon, str(stale), {os.getuid()}, set())
    third._bind().close()
    assert stat.S_ISSOCK(os.stat(stale).st_mode)
    third._unlink()
    assert not stale.exists()


def test_a_regular_file_or_a_missing_directory_is_a_clear_error(hub, tmp_path):
    plain = tmp_path / "plain"
    plain.write_text("keep me")
    with pytest.raises(ControlSocketError, match="not a socket"):
        ControlServer(hub.daemon, str(plain), set(), set())._bind()
    assert plain.read_text() == "keep me"
    with pytest.raises(ControlSocketError, match="RuntimeDirectory"):
        ControlServer(hub.daemon, str(tmp_path / "nope" / "c.sock"), set(), set())._bind()


def test_the_socket_file_is_removed_on_close(hub_config, clock, tmp_path):
    path = tmp_path / "c.sock"
    with RunningHub(hub_config, clock, path):
        assert path.exists()
    assert not path.exists()


def test_attach_reads_socket_and_technician_group_from_the_config(make_config, clock, tmp_path):
    import grp

    group = grp.getgrgid(os.getgid()).gr_name
    config = make_config(hub={"socket": str(tmp_path / "x.sock"), "technician_group": group})
    hub = RunningHub(config, clock, tmp_path / "unused.sock")
    server = attach(hub.daemon)
    assert server.path == str(tmp_path / "x.sock")
    assert server.allowed_uids == {0, os.geteuid()}
    assert server.allowed_gids == {os.getgid()} and server.socket_group == os.getgid()
    lonely = attach(RunningHub(make_config(hub={"technician_group": "no-such-group-xyz"}), clock,
                               tmp_path / "u2.sock").daemon)
    assert lonely.allowed_gids == frozenset() and lonely.socket_group is None


def report_fault(hub, hw):
    """A system condition open on the hub: the policy's pattern is then ``fault``."""
    from hubd.findings import Finding

    finding = Finding("uplink_down", "system", hub.clock.monotonic(), 0.0)
    hub.on_loop(hub.daemon._apply_condition, ("uplink_down", ""), finding)
    hw.shown.wait_for(lambda shown: shown and shown[-1] == "fault")


def test_walktest_blips_and_restores_the_policy_pattern_at_the_end(hub_config, clock, tmp_path, monkeypatch):
    from hubd.control import commands

    monkeypatch.setattr(commands, "BLIP_SECONDS", 3600.0)  # only the end of the walktest can restore
    hw = SimHardware()
    with RunningHub(hub_config, clock, tmp_path / "c.sock", hardware=hw) as hub:
        report_fault(hub, hw)
        stream = ControlClient(hub.path).stream("walktest", seconds=60)
        start = next(stream)
        assert start[1]["phase"] == "start" and [s["id"] for s in start[1]["sensors"]] == ["hall", "bath"]
        hub.trigger("hall")
        assert next(stream)[1]["first"] is True
        assert hw.shown.items[-1] == "walktest"
        hub.trigger("bath", Kind.DOOR)
        assert next(stream)[1]["seen"] == 2
        more, final = next(stream)
        assert not more and final["complete"] and final["reason"] == "all_seen"
        assert hw.shown.items[-3:] == ["walktest", "walktest", "fault"]
        audit = hub.on_loop(hub.daemon.store.audit_log, 3)
        assert audit[0]["action"] == "walktest" and audit[0]["detail"]["not_seen"] == []


def test_walktest_blip_is_short(hub_config, clock, tmp_path, monkeypatch):
    from hubd.control import commands

    monkeypatch.setattr(commands, "BLIP_SECONDS", 0.05)
    hw = SimHardware()
    with RunningHub(hub_config, clock, tmp_path / "c.sock", hardware=hw) as hub:
        report_fault(hub, hw)
        stream = ControlClient(hub.path).stream("walktest", seconds=60)
        next(stream)
        hub.trigger("hall")
        next(stream)
        shown = hw.shown.wait_for(lambda shown: shown[-2:] == ["walktest", "fault"])  # while still walking
        assert shown.count("walktest") == 1
        stream.close()
        hub.wait_for_streams(0)
        audit = hub.on_loop(hub.daemon.store.audit_log, 1)
        assert audit[0]["detail"] == {"seen": ["hall"], "not_seen": ["bath"], "reason": "cancelled"}
