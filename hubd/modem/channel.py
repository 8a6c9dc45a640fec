"""One AT conversation at a time over a serial port, without blocking the daemon's loop.

The port is opened through pyserial's ``serial_for_url`` (a device path or a URL
such as ``loop://``), always without flow control: many modem boards wire only
TX/RX/GND. Bytes are read by the event loop's reader on the port's file
descriptor (or by a small thread for URLs without one) and classified by
:class:`~hubd.modem.lines.LineReader`. Unsolicited lines go to the handlers at
once, even in the middle of a command; they never become part of a reply.

After any timeout the channel counts as out of step: before the next command
it sends ESC (aborting a prompt the modem may still wait in), ``AT`` until
``OK``, and discards whatever late answer trickles in.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import serial

from hubd.modem import errors
from hubd.modem.lines import FinalResult, Line, LineKind, LineReader, Pending, parse_final

__all__ = ["AtChannel", "AtError", "AtTimeout", "ChannelClosed", "Response", "ESC", "CTRL_Z"]

log = logging.getLogger("hubd.modem.at")

ESC = b"\x1b"
CTRL_Z = b"\x1a"


class AtError(Exception):
    """The modem answered with an error result (``+CMS ERROR: 500``, ``ERROR`` …)."""

    def __init__(self, code: int | None, kind: str, command: str = "", text: str = "",
                 lines: tuple[Line, ...] = ()):
        self.code = code
        self.kind = kind
        self.command = command
        self.text = text
        self.lines = lines
        super().__init__(f"{command}: {errors.describe(kind, code, text)}")

    @property
    def error_class(self) -> errors.ErrorClass:
        return errors.classify(self.kind, self.code)

    @property
    def policy(self) -> errors.RetryPolicy:
        return errors.policy_for(self.kind, self.code)


class AtTimeout(Exception):
    """No final result in time. ``pdu_written``: an SMS may have left (ambiguous)."""

    def __init__(self, command: str, timeout: float, lines: tuple[Line, ...] = (), pdu_written: bool = False,
                 stage: str = "final"):
        self.command = command
        self.timeout = timeout
        self.lines = lines
        self.pdu_written = pdu_written
        self.stage = stage
        super().__init__(f"{command}: no {stage} answer within {timeout:g} s")


class ChannelClosed(ConnectionError):
    """The port is gone (USB unplugged, pty closed) or was never open."""

    def __init__(self, reason: str, pdu_written: bool = False):
        self.reason = reason
        self.pdu_written = pdu_written
        super().__init__(reason)


@dataclass(frozen=True)
class Response:
    command: str
    lines: tuple[Line, ...]
    final: FinalResult

    def first(self, prefix: str | None = None) -> Line | None:
        for line in self.lines:
            if prefix is None or line.name == prefix.upper():
                return line
        return None

    def texts(self) -> list[str]:
        return [line.text for line in self.lines]


UrcHandler = Callable[[Line], None]


class _Exchange:
    """The command in flight: its lines, its final result and (for CMGS) its prompt."""

    def __init__(self, loop: asyncio.AbstractEventLoop, spec: Pending, want_prompt: bool):
        self.spec = spec
        self.lines: list[Line] = []
        self.done: asyncio.Future[FinalResult] = loop.create_future()
        self.prompt: asyncio.Future[None] | None = loop.create_future() if want_prompt else None

    def fail(self, exc: BaseException) -> None:
        for fut in (self.done, self.prompt):
            if fut is not None and not fut.done():
                fut.set_exception(exc)
                fut.exception()  # retrieved: no "never retrieved" warning if nobody awaits it


class AtChannel:
    """An AT command channel: ``await command("AT+CSQ")`` returns a :class:`Response`."""

    def __init__(self, port: str, baudrate: int = 115200, *, command_timeout: float = 5.0,
                 cmgs_timeout: float = 120.0, prompt_timeout: float | None = None, sync_attempts: int = 5,
                 sync_timeout: float | None = None, settle: float = 0.1, wake_after_idle: float = 60.0,
                 serial_factory: Callable[..., Any] | None = None):
        self.port = port
        self.baudrate = baudrate
        self.command_timeout = command_timeout
        self.cmgs_timeout = cmgs_timeout
        self.prompt_timeout = prompt_timeout if prompt_timeout is not None else command_timeout
        self.sync_attempts = sync_attempts
        self.sync_timeout = sync_timeout if sync_timeout is not None else min(1.0, command_timeout)
        self.settle = settle
        self.wake_after_idle = wake_after_idle
        self._serial_factory = serial_factory or serial.serial_for_url
        self._serial: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._fd: int | None = None
        self._thread: threading.Thread | None = None
        self._thread_stop = threading.Event()
        self._reader = LineReader()
        self._lock = asyncio.Lock()
        self._exchange: _Exchange | None = None
        self._handlers: list[UrcHandler] = []
        self._synced = False
        self._last_io = 0.0
        self.on_closed: Callable[[str], None] | None = None
        self.closed_reason: str | None = "not opened"
        self.pdu_unanswered = False  # a PDU went to the modem and its +CMGS/error has not come (yet)
        self._late_send_final = False  # a +CMGS came with no send waiting: its OK is next

    # -- lifecycle ---------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self._serial is not None

    @property
    def synced(self) -> bool:
        return self._synced

    @property
    def in_flight(self) -> "asyncio.Future[FinalResult] | None":
        """The future of the command waiting for its final result, or None when idle: lets a
        test harness hold simulated time until the modem has answered (no peeking inside)."""
        return self._exchange.done if self._exchange is not None else None

    def add_urc_handler(self, handler: UrcHandler) -> None:
        self._handlers.append(handler)

    async def open(self, *, sync: bool = True, configure: bool = True) -> None:
        """Open the port, start reading, then (by default) sync and configure (ATE0, AT+CMEE=1).

        The modem opens with ``configure=False``: its SIM comes first (see Modem.initialise)."""
        if self.is_open:
            return
        self._loop = asyncio.get_running_loop()
        try:
            port = await asyncio.to_thread(self._serial_factory, self.port, self.baudrate, timeout=0,
                                           rtscts=False, dsrdtr=False)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise ChannelClosed(f"cannot open {self.port}: {exc}") from exc
        self._serial = port
        self._reader.reset()
        self._late_send_final = False
        self._synced = False
        self.closed_reason = None
        self._last_io = time.monotonic()
        try:
            self._fd = port.fileno()
        except (AttributeError, OSError, ValueError, Exception):  # loop:// raises io.UnsupportedOperation
            self._fd = None
        if self._fd is not None:
            self._loop.add_reader(self._fd, self._readable)
        else:
            self._thread_stop.clear()
            self._thread = threading.Thread(target=self._read_thread, name=f"at-reader {self.port}", daemon=True)
            self._thread.start()
        log.info("modem port %s open", self.port)
        if sync:
            await self.sync()
            if configure:
                await self.configure()

    async def configure(self) -> None:
        """Echo off and numeric errors: needed again after every modem reboot."""
        await self.command("ATE0")
        await self.command("AT+CMEE=1")

    def close(self, reason: str = "closed") -> None:
        if self._serial is None:
            return
        port, self._serial = self._serial, None
        if self._fd is not None and self._loop is not None and not self._loop.is_closed():
            try:
                self._loop.remove_reader(self._fd)
            except (ValueError, OSError):
                pass
        self._fd = None
        self._thread_stop.set()
        try:
            port.close()
        except (serial.SerialException, OSError):
            pass
        self._synced = False
        self.closed_reason = reason
        if self._exchange is not None:
            self._exchange.fail(ChannelClosed(reason))
        log.warning("modem port %s closed: %s", self.port, reason)
        if self.on_closed is not None:
            self.on_closed(reason)

    # -- commands ----------------------------------------------------------------
    async def command(self, command: str, *, timeout: float | None = None, prefix: str | None = None,
                      raw: bool = False, check: bool = True) -> Response:
        """Send one command and return its answer; AtError on an error result (when ``check``)."""
        async with self._lock:
            await self._ready_locked()
            return await self._run(command, timeout or self.command_timeout, prefix, raw, check)

    async def sync(self) -> list[Line]:
        """ESC, then ``AT`` until ``OK``; late answers that arrive meanwhile are discarded."""
        async with self._lock:
            return await self._sync_locked()

    async def send_pdu(self, tpdu_length: int, pdu: str, *, timeout: float | None = None,
                       before_pdu: Callable[[], None] | None = None) -> Response:
        """``AT+CMGS=<tpdu_length>``, wait for ``> ``, send the PDU and Ctrl-Z, wait for ``+CMGS: <mr>``.

        ``before_pdu`` runs once the prompt has come, just before the PDU is written: the
        caller commits there that the SMS may leave from now on (if it raises, the prompt
        is aborted with ESC and nothing goes).

        A missing prompt is aborted with ESC and raises AtTimeout with
        ``pdu_written=False`` (nothing left). A missing final after the PDU is
        ambiguous: ESC, AtTimeout with ``pdu_written=True``.
        """
        command = f"AT+CMGS={tpdu_length}"
        self.pdu_unanswered = False
        async with self._lock:
            await self._ready_locked()
            exchange = self._begin(Pending.for_command(command), want_prompt=True)
            written = False
            try:
                self._write(command.encode("ascii") + b"\r")
                assert exchange.prompt is not None
                await asyncio.wait({exchange.prompt, exchange.done}, timeout=self.prompt_timeout,
                                   return_when=asyncio.FIRST_COMPLETED)
                if exchange.done.done():
                    final = exchange.done.result()  # an error before the prompt, or ChannelClosed
                    return self._finish(command, exchange, final, check=True, expect_prompt=True)
                if not exchange.prompt.done():
                    self._abort_prompt()
                    raise AtTimeout(command, self.prompt_timeout, tuple(exchange.lines), stage="prompt")
                exchange.prompt.result()
                if before_pdu is not None:
                    try:
                        before_pdu()
                    except BaseException:
                        self._abort_prompt()
                        raise
                self._reader.sent(pdu)
                self.pdu_unanswered = True  # before the write: a cancellation inside it is in doubt too
                self._write(pdu.encode("ascii") + CTRL_Z)
                written = True
                final = await self._await_final(exchange, command, timeout or self.cmgs_timeout, pdu_written=True)
                self.pdu_unanswered = False
                return self._finish(command, exchange, final, check=True)
            except ChannelClosed as exc:
                raise ChannelClosed(exc.reason, pdu_written=written) from None
            finally:
                self._end()

    # -- internals -----------------------------------------------------------------
    async def _ready_locked(self) -> None:
        if self._serial is None:
            raise ChannelClosed(self.closed_reason or "port not open")
        if self._synced and time.monotonic() - self._last_io > self.wake_after_idle:
            try:  # after a long idle the first command may be lost: spend a throwaway AT on it
                await self._run("AT", self.sync_timeout, None, False, False)
            except AtTimeout:
                log.info("no answer to the wake-up AT after %.0f s idle: re-syncing", self.wake_after_idle)
        if not self._synced:
            await self._sync_locked()

    async def _sync_locked(self) -> list[Line]:
        if self._serial is None:
            raise ChannelClosed(self.closed_reason or "port not open")
        self._synced = False
        self._write(ESC)
        for attempt in range(self.sync_attempts):
            try:
                await self._run("AT", self.sync_timeout, None, False, False)
                break
            except AtTimeout:
                log.debug("no answer to AT (attempt %d of %d)", attempt + 1, self.sync_attempts)
        else:
            raise AtTimeout("AT", self.sync_timeout * self.sync_attempts, stage="sync")
        await asyncio.sleep(self.settle)  # stale answers arrive with nobody waiting and are dropped
        response = await self._run("AT", self.sync_timeout, None, False, True)
        self._synced = True
        return list(response.lines)

    async def _run(self, command: str, timeout: float, prefix: str | None, raw: bool, check: bool) -> Response:
        exchange = self._begin(Pending.for_command(command, prefix, raw), want_prompt=False)
        try:
            self._write(command.encode("ascii", errors="replace") + b"\r")
            final = await self._await_final(exchange, command, timeout, pdu_written=False)
            return self._finish(command, exchange, final, check)
        finally:
            self._end()

    async def _await_final(self, exchange: _Exchange, command: str, timeout: float, pdu_written: bool) -> FinalResult:
        # asyncio.wait, not wait_for: on Python < 3.12 wait_for can swallow a cancellation that
        # races with the answer, and a daemon stopping would then wait for the uplink forever.
        await asyncio.wait({exchange.done}, timeout=timeout)
        if exchange.done.done():
            return exchange.done.result()
        self._synced = False
        if pdu_written:
            self._abort_prompt()
        raise AtTimeout(command, timeout, tuple(exchange.lines), pdu_written=pdu_written)

    def _finish(self, command: str, exchange: _Exchange, final: FinalResult, check: bool,
                expect_prompt: bool = False) -> Response:
        response = Response(command, tuple(exchange.lines), final)
        if check and (not final.ok or expect_prompt):
            raise AtError(final.code, final.kind, command, final.text or final.kind, response.lines)
        return response

    def _begin(self, spec: Pending, want_prompt: bool) -> _Exchange:
        assert self._loop is not None
        exchange = _Exchange(self._loop, spec, want_prompt)
        self._exchange = exchange
        self._reader.pending = spec
        self._reader.sent(spec.command)
        return exchange

    def _end(self) -> None:
        self._exchange = None
        self._reader.pending = None

    def _abort_prompt(self) -> None:
        self._synced = False
        try:
            self._write(ESC)
        except ChannelClosed:
            pass

    def _write(self, data: bytes) -> None:
        if self._serial is None:
            raise ChannelClosed(self.closed_reason or "port not open")
        log.debug("modem > %r", data)
        try:
            self._serial.write(data)
        except (serial.SerialException, OSError) as exc:
            self.close(f"write failed: {exc}")
            raise ChannelClosed(f"write to {self.port} failed: {exc}") from exc
        self._last_io = time.monotonic()

    # -- reading ---------------------------------------------------------------------
    def _readable(self) -> None:
        port = self._serial
        if port is None:
            return
        try:
            data = port.read(4096)
        except (serial.SerialException, OSError) as exc:
            self.close(f"read failed: {exc}")
            return
        if data:
            self._on_data(data)

    def _read_thread(self) -> None:
        """For ports without a file descriptor (loop://, rfc2217://): short blocking reads."""
        port = self._serial
        loop = self._loop
        assert loop is not None
        try:
            port.timeout = 0.05
        except (serial.SerialException, ValueError, OSError):
            pass
        while not self._thread_stop.is_set():
            try:
                data = port.read(max(1, getattr(port, "in_waiting", 0) or 1))
            except Exception as exc:  # noqa: BLE001 - any failure of the port ends the reader
                if not self._thread_stop.is_set():
                    loop.call_soon_threadsafe(self.close, f"read failed: {exc}")
                return
            if data:
                loop.call_soon_threadsafe(self._on_data, data)

    def _on_data(self, data: bytes) -> None:
        self._last_io = time.monotonic()
        for line in self._reader.feed(data):
            self._dispatch(line)

    def _dispatch(self, line: Line) -> None:
        log.debug("modem < %s %r%s", line.kind.value, line.text, f" + PDU {line.pdu}" if line.pdu else "")
        exchange = self._exchange
        late_send = line.text.lstrip().upper().startswith("+CMGS:") and (
            line.kind is LineKind.URC or exchange is None
            or (exchange.prompt is not None and not exchange.prompt.done()))  # before our PDU went: not ours
        if line.kind is LineKind.URC or (line.kind is LineKind.REPLY and exchange is None) or late_send:
            if late_send:
                self._late_send_final = True  # the final right behind it is that send's, not ours
            for handler in list(self._handlers):
                try:
                    handler(line)
                except Exception:  # noqa: BLE001 - a broken handler must not stop the reader
                    log.exception("URC handler failed on %r", line.text)
        elif line.kind is LineKind.REPLY:
            assert exchange is not None
            exchange.lines.append(line)
        elif line.kind is LineKind.PROMPT:
            if exchange is not None and exchange.prompt is not None and not exchange.prompt.done():
                exchange.prompt.set_result(None)
            else:
                log.debug("prompt with no PDU to send: ignored")
        elif line.kind is LineKind.FINAL:
            if self._late_send_final:
                self._late_send_final = False
                log.info("final result %r closes a late +CMGS: not the answer to %s", line.text,
                         exchange.spec.command if exchange is not None else "anything waiting")
            elif exchange is not None and not exchange.done.done():
                final = parse_final(line.text)
                assert final is not None
                exchange.done.set_result(final)
            else:
                log.info("late final result %r with no command waiting: dropped", line.text)
