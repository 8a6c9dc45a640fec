"""The AT channel on a real pty: replies, URCs mid-command, prompt, timeouts, ESC, re-sync, port loss."""

from __future__ import annotations

import asyncio
import os
import select
import threading
import tty
from typing import Callable

import pytest

from hubd.modem.channel import ESC, AtChannel, AtError, AtTimeout, ChannelClosed
from hubd.modem.errors import ErrorClass


class ScriptedPty:
    """The far end of a pty that answers each line (ended by CR or Ctrl-Z) with ``respond(line)``.

    A reply is bytes, or a list of (delay, bytes) played by this thread — a
    slow modem does not read while it is busy either.
    """

    def __init__(self, respond: Callable[[str], object]):
        self.respond = respond
        master, slave = os.openpty()
        tty.setraw(slave)
        self.master, self.slave = master, slave
        self.path = os.ttyname(slave)
        self.received = bytearray()
        self.lines: list[str] = []
        self._arrived = threading.Condition()
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        pending = bytearray()
        while not self._stop.is_set():
            readable, _, _ = select.select([self.master, self._wake_r], [], [])
            if self._wake_r in readable:  # closing is done here: a close() from another thread would
                os.close(self.master)     # not end a read blocked on the fd, and the pty would not hang up
                return
            try:
                data = os.read(self.master, 1024)
            except OSError:
                return
            if not data:
                return
            with self._arrived:
                self.received += data
                self._arrived.notify_all()
            for byte in data:
                if byte in (0x0D, 0x1A):
                    line = pending.decode("latin-1").strip().lstrip("\x1b")
                    pending.clear()
                    self.lines.append(line)
                    self._play(self.respond(line))
                elif byte != 0x1B and byte != 0x0A:
                    pending.append(byte)

    def _play(self, reply: object) -> None:
        if reply is None:
            return
        steps = [(0.0, reply)] if isinstance(reply, bytes) else reply
        for delay, data in steps:
            if delay and self._stop.wait(delay):
                return
            self.send(data)

    def wait_received(self, suffix: bytes, timeout: float = 2.0) -> bool:
        """Block until what the hub wrote ends with ``suffix``."""
        with self._arrived:
            return self._arrived.wait_for(lambda: self.received.endswith(suffix), timeout)

    def send(self, data: bytes) -> None:
        try:
            os.write(self.master, data)
        except OSError:
            pass

    def close_master(self) -> None:
        """The device vanishes."""
        os.write(self._wake_w, b"x")
        self._thread.join(2.0)

    def close(self) -> None:
        if self._thread.is_alive():
            self.close_master()
        self._stop.set()
        for fd in (self.slave, self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass


def simple_modem(extra: dict[str, object] | None = None, echo: bool = False) -> Callable[[str], object]:
    answers = {"AT": b"\r\nOK\r\n", "ATE0": b"\r\nOK\r\n", "AT+CMEE=1": b"\r\nOK\r\n",
               "AT+CSQ": b"\r\n+CSQ: 21,99\r\n\r\nOK\r\n"}
    answers.update(extra or {})

    def respond(line: str) -> object:
        reply = answers.get(line, b"\r\nERROR\r\n")
        reply = reply(line) if callable(reply) else reply
        if echo and isinstance(reply, bytes):
            return line.encode() + b"\r" + reply
        return reply
    return respond


def run(coro, timeout: float = 10.0):
    return asyncio.run(asyncio.wait_for(coro, timeout))


@pytest.fixture
def make_pty():
    made: list[ScriptedPty] = []

    def build(respond: Callable[[str], object]) -> ScriptedPty:
        made.append(ScriptedPty(respond))
        return made[-1]
    yield build
    for pty in made:
        pty.close()


def channel_for(pty: ScriptedPty, **kwargs) -> AtChannel:
    options = dict(command_timeout=0.5, cmgs_timeout=0.5, settle=0.05)
    options.update(kwargs)
    return AtChannel(pty.path, **options)


def commands_on(pty: ScriptedPty, *commands: str, **options) -> tuple[list, list[str]]:
    """Open a channel on ``pty``, send ``commands`` in turn, close: (their responses, URC texts)."""
    async def body():
        channel = channel_for(pty, **options)
        urcs: list[str] = []
        channel.add_urc_handler(lambda line: urcs.append(line.text))
        await channel.open()
        responses = [await channel.command(command) for command in commands]
        channel.close()
        return responses, urcs

    return run(body())


def test_reply_lines_exclude_urcs_that_arrive_mid_command(make_pty):
    pty = make_pty(simple_modem({"AT+CSQ": b'\r\n+CMTI: "SM",2\r\n\r\n+CSQ: 21,99\r\n\r\n+CREG: 1\r\n\r\nOK\r\n'}))
    (response,), urcs = commands_on(pty, "AT+CSQ")
    assert response.texts() == ["+CSQ: 21,99"]
    assert urcs == ['+CMTI: "SM",2', "+CREG: 1"]


def test_answers_left_unread_by_an_earlier_process_are_not_taken_for_ours(make_pty):
    """A hub killed mid-send leaves ``+CMGS: 7`` / ``OK`` in the port. The next hub must not take
    that OK for the answer to its first AT: with a modem slower than the settle pause, every
    answer after it would be one behind (here AT+CSQ would get a bare OK). pyserial's open
    discards the unread input; this holds any other port factory to the same."""
    slow = {line: [(0.2, answer)] for line, answer in
            {"AT": b"\r\nOK\r\n", "ATE0": b"\r\nOK\r\n", "AT+CMEE=1": b"\r\nOK\r\n",
             "AT+CSQ": b"\r\n+CSQ: 21,99\r\n\r\nOK\r\n"}.items()}
    pty = make_pty(simple_modem(slow))
    pty.send(b"\r\n+CMGS: 7\r\n\r\nOK\r\n")  # the earlier process's answer, never read
    (response,), late = commands_on(pty, "AT+CSQ", settle=0.05, sync_timeout=1.0, command_timeout=1.0)
    assert response.texts() == ["+CSQ: 21,99"]
    assert "+CMGS: 7" not in late  # not credited to a send of this process either


def test_a_late_send_answer_mid_command_keeps_its_ok_to_itself(make_pty):
    """``+CMGS: 7`` / ``OK`` of a send that timed out (or of an earlier process's, still on
    its way when this one opened) arrives while AT+CSQ waits. That OK closes the late send,
    not AT+CSQ: taken for AT+CSQ's answer it would leave every answer after it one behind."""
    pty = make_pty(simple_modem({"AT+CSQ": [(0.0, b"\r\n+CMGS: 7\r\n\r\nOK\r\n"),
                                            (0.05, b"\r\n+CSQ: 21,99\r\n\r\nOK\r\n")]}))
    (csq, after), late = commands_on(pty, "AT+CSQ", "AT")  # AT gets its own OK, not CSQ's
    assert csq.texts() == ["+CSQ: 21,99"] and after.final.ok
    assert late == ["+CMGS: 7"]  # still reported: that SMS did go
    assert pty.lines[-2:] == ["AT+CSQ", "AT"]


def test_a_late_send_answer_before_the_prompt_is_not_this_sends(make_pty):
    """The same answer arriving after AT+CMGS but before its prompt: our PDU has not gone, so
    neither the ``+CMGS: 7`` nor its OK is ours; the send goes on to the prompt and its own answer."""
    pty = make_pty(simple_modem({"AT+CMGS=5": [(0.0, b"\r\n+CMGS: 7\r\n\r\nOK\r\n"), (0.05, b"\r\n> ")],
                                 "0011AABBCC": b"\r\n+CMGS: 8\r\n\r\nOK\r\n"}))

    async def body():
        channel = channel_for(pty)
        late: list[str] = []
        channel.add_urc_handler(lambda line: late.append(line.text))
        await channel.open()
        response = await channel.send_pdu(5, "0011AABBCC")
        channel.close()
        return response, late

    response, late = run(body())
    assert response.texts() == ["+CMGS: 8"] and late == ["+CMGS: 7"]


def test_the_caller_commits_between_the_prompt_and_the_pdu(make_pty):
    """before_pdu runs once the prompt has come and before any PDU byte is written (the outbox
    marks the row 'sending' there); if it fails the prompt is aborted with ESC and nothing goes."""
    pty = make_pty(simple_modem({"AT+CMGS=5": b"\r\n> ", "0011AABBCC": b"\r\n+CMGS: 8\r\n\r\nOK\r\n"}))
    seen_at_commit: list[bytes] = []

    def commit() -> None:
        seen_at_commit.append(bytes(pty.received))

    def refuse() -> None:
        raise OSError("disk full")

    async def body():
        channel = channel_for(pty)
        await channel.open()
        response = await channel.send_pdu(5, "0011AABBCC", before_pdu=commit)
        with pytest.raises(OSError):
            await channel.send_pdu(5, "0011AABBCC", before_pdu=refuse)
        channel.close()
        return response

    response = run(body())
    assert response.texts() == ["+CMGS: 8"]
    assert seen_at_commit[0].endswith(b"AT+CMGS=5\r") and b"0011AABBCC" not in seen_at_commit[0]
    assert pty.lines.count("0011AABBCC") == 1  # the refused commit wrote no PDU
    assert pty.wait_received(ESC)  # the reader thread may not have read it yet


def test_open_wakes_with_esc_retries_at_and_turns_echo_off(make_pty):
    calls = {"AT": 0}

    def sleepy_at(line: str) -> object:
        calls["AT"] += 1
        return None if calls["AT"] <= 2 else b"\r\n\xfe\xffjunk\r\nAT\r\r\nOK\r\n"

    pty = make_pty(simple_modem({"AT": sleepy_at}, echo=True))

    async def body():
        channel = channel_for(pty, sync_timeout=0.1)
        await channel.open()
        response = await channel.command("AT+CSQ")
        channel.close()
        return response

    response = run(body())
    assert pty.received.startswith(ESC)
    assert pty.lines[:3] == ["AT", "AT", "AT"]
    assert "ATE0" in pty.lines and "AT+CMEE=1" in pty.lines
    assert response.texts() == ["+CSQ: 21,99"]


def test_cmgs_sends_the_pdu_after_the_prompt_with_urcs_interleaved(make_pty):
    pdu = "0001000B914316565811F9000004E8373B0C"
    pty = make_pty(simple_modem({
        "AT+CMGS=17": b'\r\n> \r\n+CMTI: "SM",1\r\n',
        pdu: b'\r\n+CDSI: "SR",3\r\n\r\n+CMGS: 42\r\n\r\n+CEREG: 1\r\n\r\nOK\r\n',
    }))

    async def body():
        channel = channel_for(pty)
        urcs: list[str] = []
        channel.add_urc_handler(lambda line: urcs.append(line.text))
        await channel.open()
        response = await channel.send_pdu(17, pdu)
        channel.close()
        return response, urcs

    response, urcs = run(body())
    assert response.texts() == ["+CMGS: 42"]
    assert urcs == ['+CMTI: "SM",1', '+CDSI: "SR",3', "+CEREG: 1"]
    assert (pdu.encode() + b"\x1a") in pty.received


@pytest.mark.parametrize("answer, kind, code, error_class", [
    (b"\r\n+CMS ERROR: 500\r\n", "CMS", 500, ErrorClass.AMBIGUOUS),
    (b"\r\n+CMS ERROR: 21\r\n", "CMS", 21, ErrorClass.DESTINATION),
    (b"\r\n+CME ERROR: SIM PIN required\r\n", "CME", 11, ErrorClass.SIM),
    (b"\r\nERROR\r\n", "ERROR", None, ErrorClass.UNKNOWN),
])
def test_error_results_raise_at_error(make_pty, answer, kind, code, error_class):
    pty = make_pty(simple_modem({"AT+CMGS=17": answer}))

    async def body():
        channel = channel_for(pty)
        await channel.open()
        with pytest.raises(AtError) as caught:
            await channel.send_pdu(17, "00")
        channel.close()
        return caught.value

    error = run(body())
    assert (error.kind, error.code, error.error_class) == (kind, code, error_class)


def test_a_late_answer_after_a_timeout_never_becomes_the_next_reply(make_pty):
    pty = make_pty(simple_modem({
        "AT+COPS?": [(0.3, b'\r\n+COPS: 0,0,"LATE",7\r\n\r\nOK\r\n')],
        "AT+CSQ": b"\r\n+CSQ: 9,99\r\n\r\nOK\r\n",
    }))

    async def body():
        channel = channel_for(pty, command_timeout=0.1, sync_timeout=0.5)
        urcs: list[str] = []
        channel.add_urc_handler(lambda line: urcs.append(line.text))
        await channel.open()
        with pytest.raises(AtTimeout):
            await channel.command("AT+COPS?")
        assert not channel.synced
        response = await channel.command("AT+CSQ")
        channel.close()
        return response, urcs

    response, urcs = run(body())
    assert response.texts() == ["+CSQ: 9,99"]
    assert urcs == ['+COPS: 0,0,"LATE",7']  # the stale reply went to the URC side, not into +CSQ


def test_a_missing_prompt_is_aborted_with_esc_and_nothing_was_sent(make_pty):
    pty = make_pty(simple_modem({"AT+CMGS=17": None}))

    async def body():
        channel = channel_for(pty, prompt_timeout=0.1)
        await channel.open()
        with pytest.raises(AtTimeout) as caught:
            await channel.send_pdu(17, "0001000B914316565811F9000004E8373B0C")
        channel.close()
        return caught.value

    error = run(body())
    assert (error.stage, error.pdu_written) == ("prompt", False)
    assert pty.wait_received(b"AT+CMGS=17\r" + ESC)


def test_a_cmgs_timeout_after_the_pdu_is_ambiguous_and_escaped(make_pty):
    pdu = "0001000B914316565811F9000004E8373B0C"
    pty = make_pty(simple_modem({"AT+CMGS=17": b"\r\n> ", pdu: None}))

    async def body():
        channel = channel_for(pty, cmgs_timeout=0.15)
        await channel.open()
        with pytest.raises(AtTimeout) as caught:
            await channel.send_pdu(17, pdu)
        channel.close()
        return caught.value

    error = run(body())
    assert error.pdu_written and error.stage == "final"
    assert pty.wait_received(pdu.encode() + b"\x1a" + ESC)


def test_the_port_vanishing_fails_the_pending_command(make_pty):
    pty = make_pty(simple_modem({"AT+COPS?": None}))

    async def body():
        channel = channel_for(pty, command_timeout=5.0)
        closed: list[str] = []
        await channel.open()
        channel.on_closed = closed.append
        pending = asyncio.ensure_future(channel.command("AT+COPS?"))
        await asyncio.sleep(0)  # let the command go out
        pty.close_master()
        with pytest.raises(ChannelClosed):
            await pending
        return channel, closed

    channel, closed = run(body())
    assert not channel.is_open and closed and "read failed" in closed[0]


def test_a_missing_port_is_a_clear_error():
    async def body():
        with pytest.raises(ChannelClosed, match="cannot open /nonexistent/ttyUSB9"):
            await AtChannel("/nonexistent/ttyUSB9").open()

    run(body())


def test_url_ports_without_a_file_descriptor_are_read_by_a_thread():
    async def body():
        channel = AtChannel("loop://", command_timeout=0.2)
        seen = asyncio.Event()
        lines: list[str] = []

        def handler(line):
            lines.append(line.text)
            seen.set()
        channel.add_urc_handler(handler)
        await channel.open(sync=False)
        channel._serial.write(b'\r\n+CMTI: "SM",5\r\n')  # loop:// hands our bytes back as the modem's
        await asyncio.wait_for(seen.wait(), 2.0)
        channel.close()
        return lines

    assert run(body()) == ['+CMTI: "SM",5']


def test_bad_bytes_and_double_cr_inside_a_reply(make_pty):
    pty = make_pty(simple_modem({"AT+CSQ": b"\r\r\n\xff\xfe\x00\r\r\n+CSQ: 5,99\r\r\n\r\r\nOK\r\r\n"}))

    async def body():
        channel = channel_for(pty)
        await channel.open()
        response = await channel.command("AT+CSQ")
        channel.close()
        return response

    assert run(body()).texts() == ["+CSQ: 5,99"]


def test_concurrent_commands_take_turns(make_pty):
    pty = make_pty(simple_modem({
        "AT+CGMM": [(0.05, b"\r\nEC25\r\n\r\nOK\r\n")],
        "AT+CSQ": b"\r\n+CSQ: 7,99\r\n\r\nOK\r\n",
    }))

    async def body():
        channel = channel_for(pty)
        await channel.open()
        model, signal = await asyncio.gather(channel.command("AT+CGMM", raw=True), channel.command("AT+CSQ"))
        channel.close()
        return model, signal

    model, signal = run(body())
    assert model.texts() == ["EC25"] and signal.texts() == ["+CSQ: 7,99"]


def test_a_failing_urc_handler_does_not_stop_the_reader(make_pty):
    pty = make_pty(simple_modem({"AT+CSQ": b"\r\nRING\r\n\r\n+CSQ: 1,99\r\n\r\nOK\r\n"}))

    async def body():
        channel = channel_for(pty)
        channel.add_urc_handler(lambda line: 1 / 0)
        await channel.open()
        response = await channel.command("AT+CSQ")
        channel.close()
        return response

    assert run(body()).texts() == ["+CSQ: 1,99"]


def test_after_a_long_idle_a_throwaway_at_goes_first(make_pty):
    pty = make_pty(simple_modem())

    async def body():
        channel = channel_for(pty, wake_after_idle=0.0)
        await channel.open()
        before = len(pty.lines)
        response = await channel.command("AT+CSQ")
        channel.close()
        return response, pty.lines[before:]

    response, lines = run(body())
    assert lines == ["AT", "AT+CSQ"] and response.texts() == ["+CSQ: 21,99"]


def test_in_flight_is_the_pending_answer_and_none_when_idle(make_pty):
    gate = threading.Event()
    # the modem answers only once the test opens the gate
    pty = make_pty(simple_modem({"AT+CGMM": lambda line: b"\r\nEC25\r\n\r\nOK\r\n" if gate.wait(5) else b""}))

    async def body():
        channel = channel_for(pty, command_timeout=5.0)
        await channel.open()
        idle_before = channel.in_flight
        task = asyncio.ensure_future(channel.command("AT+CGMM", raw=True))
        while channel.in_flight is None:
            await asyncio.sleep(0)
        pending = channel.in_flight
        waiting = not pending.done()
        gate.set()  # the modem answers
        result = await task
        idle_after = channel.in_flight
        channel.close()
        return idle_before, waiting, pending.done(), result.texts(), idle_after

    idle_before, waiting, done, texts, idle_after = run(body())
    assert idle_before is None and waiting and done and texts == ["EC25"] and idle_after is None
