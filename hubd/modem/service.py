"""The SMS uplink: the hub's way to the housing office, and the office's way back.

:class:`SmsService` owns one modem and one worker coroutine. ``submit`` only
commits the message to the outbox and wakes the worker; the worker connects,
sets the modem up, sends the outbox in order, lets its
:class:`~hubd.modem.inbound.InboundReader` read inbound SMS and delivery reports
after each send, polls health and recovers (re-sync, re-initialise, ``AT+CFUN=1,1``,
re-open the port). Whenever the office cannot be reached for longer than
``down_after`` (no modem, SIM trouble, no network, sends failing) or a
message is given up on, it raises the ``uplink_down`` system condition, and
clears it when messages flow again: silence must never look like health.

:class:`NoModem` is the uplink of a hub without a modem: it still keeps every
message and says plainly that nothing can leave.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable

from hubd.clock import Clock
from hubd.sms_tag import Tag
from hubd.findings import SYSTEM, Finding
from hubd.modem.channel import AtChannel, AtError, AtTimeout, ChannelClosed
from hubd.modem.errors import ErrorClass
from hubd.modem.modem import CNMI_OPTIONS, Modem, ModemEvent, PinMemory, SimError
from hubd.modem.inbound import INBOUND_KINDS, InboundReader
from hubd.modem.link_health import LinkHealth
from hubd.modem.outbox import Inbox, Outbox, OutboxMessage
from hubd.modem.pdu import encode_submit
from hubd.seams import UPLINK_DOWN, ConditionSink, InboundSink, Uplink
from hubd.store import Store, StoreError

__all__ = ["SmsService", "NoModem", "SmsTiming", "UPLINK_DOWN"]

log = logging.getLogger("hubd.modem")


@dataclass(frozen=True)
class SmsTiming:
    """Every wait of the uplink, so tests can run it in milliseconds.

    ``command_timeout``/``cmgs_timeout``/``settle`` are real seconds of serial
    I/O; the rest are seconds of the injected clock.
    """

    command_timeout: float = 5.0
    cmgs_timeout: float = 120.0
    settle: float = 0.1
    reconnect_interval: float = 10.0
    health_interval: float = 60.0
    unregistered_poll: float = 10.0
    backoff_base: float = 15.0
    backoff_max: float = 900.0
    down_after: float = 300.0
    failures_before_reset: int = 3
    sim_retry_interval: float = 300.0
    reassembly_timeout: float = 600.0
    network_time_interval: float = 6 * 3600.0


def _count_parts(to: str, text: str) -> tuple[int, str | None]:
    """(parts, None), or (0, why) for a message that can never be encoded."""
    try:
        return len(encode_submit(to, text)), None
    except ValueError as exc:
        return 0, f"cannot be encoded: {exc}"


class SmsService(Uplink):
    """SMS over a serial AT modem, with a persistent outbox. See the module docstring."""

    def __init__(self, port: str, baudrate: int, store: Store, clock: Clock, *, sim_pin: str = "", smsc: str = "",
                 status_reports: bool = True, validity: timedelta | None = None,
                 cnmi_options: tuple[str, ...] = CNMI_OPTIONS, init_commands: tuple[str, ...] = (),
                 timing: SmsTiming = SmsTiming(), time_source: Callable[[float], None] | None = None,
                 channel_factory: Callable[..., AtChannel] | None = None):
        self.port = port
        self.store = store
        self.clock = clock
        self.smsc = smsc or None
        self.status_reports = status_reports
        self.validity = validity
        self.timing = timing
        self.outbox = Outbox(store, clock)
        if time_source is None:
            time_source = getattr(clock, "offer_time", None)
        self.modem = Modem(port, baudrate, sim_pin=sim_pin, pin_memory=PinMemory(store), cnmi_options=cnmi_options,
                           init_commands=init_commands, time_source=time_source,
                           command_timeout=timing.command_timeout, cmgs_timeout=timing.cmgs_timeout,
                           settle=timing.settle, channel_factory=channel_factory, on_event=self._on_modem_event)
        self.health = LinkHealth()
        self.inbox = Inbox(store, clock)
        self.reader = InboundReader(self.modem, self.inbox, self.outbox, clock,
                                    reassembly_timeout=timing.reassembly_timeout, backoff=self._backoff,
                                    note_failed=self._note_failed)
        self._events: collections.deque[ModemEvent] = collections.deque()
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._conditions: ConditionSink | None = None
        self._failures = 0
        self._next_connect = 0.0
        self._next_health = 0.0
        self._next_time_read = 0.0
        self._was_registered = False
        self._next_sim_check = 0.0
        self._hold_until = 0.0  # after a refused set-up: leave the modem alone until then
        self._step_waiters: list[asyncio.Future] = []
        self._recovered = False  # interrupted sends and inbox parts of the last run taken up
        self._internal_clears_at = 0.0
        self._last_error: str | None = None
        self.sent_count = 0
        self.waiting = False  # asleep in _wait (see idle)

    # -- Uplink ------------------------------------------------------------------------
    def submit(self, to: str, text: str, purpose: str, alert_id: int | None, label: Tag | None = None) -> int:
        """Commit the SMS to the outbox (before anything else) and wake the sender."""
        text = self.outbox.compose(to, text, label)
        parts, reason = _count_parts(to, text)
        message_id = self.outbox.add(to, text, purpose, alert_id, parts, failed_because=reason)
        if reason:
            log.error("SMS %d to %s %s", message_id, to, reason)
            self._last_error = f"SMS {message_id} {reason}"
            self.health.problem("message_failed", f"SMS {message_id} {reason}", self.clock.monotonic(), immediate=True)
        else:
            log.info("SMS %d queued for %s (%s, %d part%s)", message_id, to, purpose, parts, "s" * (parts > 1))
        self._poke()
        return message_id

    async def run(self, conditions: ConditionSink, inbound: InboundSink) -> None:
        self._conditions = conditions
        self.reader.sink = inbound
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        crashes = 0
        try:
            while True:
                try:
                    if not self._recovered:
                        self._recover_after_restart()
                    await self._step()
                    crashes = 0
                except Exception as exc:  # noqa: BLE001 - nothing may end the only way to the office
                    crashes += 1
                    await self._worker_crashed(exc, crashes)
        finally:
            self.modem.close("uplink stopped")

    def _recover_after_restart(self) -> None:
        for message_id in self.outbox.recover_interrupted():
            message = self.outbox.get(message_id)
            if message is not None and message.state == "failed":  # cut off mid-send twice: never silently
                self._note_failed(message, message.last_error or "interrupted while sending, twice")
        self.reader.reload()
        self._recovered = True

    async def _worker_crashed(self, exc: Exception, crashes: int) -> None:
        """Any failure of the worker (a bug, a recovery step that fails in turn): log it, count it
        towards ``uplink_down``, drop the port and start over after a growing pause."""
        delay = min(self.timing.backoff_max, self.timing.reconnect_interval * 2 ** min(crashes - 1, 16))
        log.error("SMS uplink worker failed (%d in a row): %r; closing the port, starting over in %g s",
                  crashes, exc, delay, exc_info=exc)
        self._last_error = f"internal error: {exc!r}"
        now = self.clock.monotonic()
        self.health.problem("internal", self._last_error, now)
        self._internal_clears_at = now + 2 * delay  # a step after the pause alone proves nothing yet
        self._next_connect = now + delay
        self._hold_until = now + delay
        try:
            self.modem.close("uplink worker restarting")
        except Exception:  # noqa: BLE001 - a port that cannot even close is dropped all the same
            log.exception("closing the modem port failed")
            self.modem.channel = None
        try:
            self._report_health()
        except Exception:  # noqa: BLE001 - the condition is retried after the pause
            log.exception("reporting the uplink's health failed")
        self._stepped()
        await self.clock.sleep(delay)

    def close(self) -> None:
        self.modem.close("uplink closed")

    def on_disk(self, message_id: int) -> bool:
        return self.outbox.on_disk(message_id)

    def status(self) -> dict[str, Any]:
        """For ``hubctl modem``: signal, registration, operator, SIM, outbox by state, last error."""
        state = self.modem.state.as_dict()
        return {
            **state,
            "outbox": self.outbox.counts(),
            "uplink_down": self.health.reported is not None,
            "problems": dict(self.health.reasons),
            "last_error": self._last_error or state["last_error"],
            "sent_this_run": self.sent_count,
        }

    # -- the worker ------------------------------------------------------------------------
    async def _step(self) -> None:
        try:
            await self._advance()
        except ChannelClosed as exc:
            self._port_lost(str(exc))
        except AtTimeout as exc:
            await self._unresponsive(exc)
        except AtError as exc:
            await self._init_failed(exc)
        except StoreError as exc:  # the daemon reports storage trouble; keep the modem side alive
            log.error("%s", exc)
            self._last_error = str(exc)
            self._hold_until = self.clock.monotonic() + self.timing.reconnect_interval
        # anything else (a bug, or a recovery above failing in turn) goes to run()'s supervisor
        if "internal" in self.health.reasons and self.clock.monotonic() >= self._internal_clears_at:
            self.health.clear("internal")  # the worker ran on well past its last failure's pause
        self._report_health()
        self._stepped()
        await self._wait()

    def _stepped(self) -> None:
        waiters, self._step_waiters = self._step_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Await (for tests and ``hubd sim``) until ``predicate()`` holds after a worker step."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            left = deadline - loop.time()
            if left <= 0:
                return False
            waiter = loop.create_future()
            self._step_waiters.append(waiter)
            await asyncio.wait({waiter}, timeout=left)
        return True

    async def _advance(self) -> None:
        now = self.clock.monotonic()
        if now < self._hold_until:
            return
        if not self.modem.connected:
            if now < self._next_connect:
                return
            await self._connect()
        if self.modem.needs_init:
            if self.modem.state.sim != "READY" and now < self._next_sim_check and self._sim_blocked():
                return
            await self._initialise()
        if not self.modem.ready:
            return
        self._handle_events()
        if self.clock.monotonic() >= self._next_health:
            await self._check_health()
        await self._read_network_time()
        await self._send_due()  # then one message, then inbound gets its turn: it never holds up an alarm
        await self.reader.work()

    async def _connect(self) -> None:
        log.info("opening modem port %s", self.port)
        self._next_connect = self.clock.monotonic() + self.timing.reconnect_interval
        try:
            await self.modem.connect()
        except SimError as exc:
            self._sim_problem(exc)
            return
        self._initialised_ok()

    async def _initialise(self) -> None:
        try:
            await self.modem.initialise()
        except SimError as exc:
            self._sim_problem(exc)
            return
        if not self.modem.needs_init:
            self._initialised_ok()

    def _initialised_ok(self) -> None:
        self._failures = 0
        self.health.clear("modem", "sim")
        self.reader.sweep_needed = True
        self._next_health = self.clock.monotonic()
        self._registration_changed()

    def _sim_blocked(self) -> bool:
        return "sim" in self.health.reasons

    def _sim_problem(self, exc: SimError) -> None:
        now = self.clock.monotonic()
        self._last_error = str(exc)
        log.error("%s", exc)
        self.health.problem("sim", exc.detail, now, immediate=exc.permanent)
        self._next_sim_check = now + (self.timing.sim_retry_interval if exc.permanent else self.timing.reconnect_interval)

    def _port_lost(self, reason: str) -> None:
        self.modem.close(reason)
        self._last_error = f"modem port: {reason}"
        self.health.problem("modem", self._last_error, self.clock.monotonic())
        self._next_connect = self.clock.monotonic() + self.timing.reconnect_interval
        log.warning("modem port lost (%s): re-opening in %g s", reason, self.timing.reconnect_interval)

    async def _unresponsive(self, exc: AtTimeout) -> None:
        """No answer: close the port and start afresh (open, sync, set-up); at once the first time."""
        self._failures += 1
        self._last_error = f"modem not answering: {exc}"
        self.health.problem("modem", self._last_error, self.clock.monotonic())
        log.warning("%s (failure %d)", self._last_error, self._failures)
        self.modem.close("no answer")
        self._next_connect = self.clock.monotonic() + (0 if self._failures == 1 else self.timing.reconnect_interval)

    async def _init_failed(self, exc: AtError) -> None:
        """The modem answers but refuses its set-up: retry, and reset it after repeated failures."""
        self._failures += 1
        self._last_error = f"modem set-up failed: {exc}"
        self.health.problem("modem", self._last_error, self.clock.monotonic())
        log.warning("%s (failure %d)", self._last_error, self._failures)
        if self._failures >= self.timing.failures_before_reset:
            self._failures = 0
            try:
                await self.modem.reset()
            except (AtError, AtTimeout, ChannelClosed) as reset_error:  # the port may be closed already
                log.error("modem reset refused: %s", reset_error)
                self.modem.close("reset failed")
        self.modem.needs_init = True
        self._hold_until = self.clock.monotonic() + self.timing.reconnect_interval

    # -- health -------------------------------------------------------------------------------
    async def _check_health(self) -> None:
        await self.modem.refresh()
        now = self.clock.monotonic()
        self.reader.sweep_needed = True  # indications can be lost: look in the storage now and then
        usage = await self.modem.storage_usage()
        if usage is not None and usage[1] > 0 and usage[0] >= usage[1]:
            self.reader.storage_full(f"message storage full ({usage[0]} of {usage[1]})")
        self.reader.expire()
        registered = self.modem.state.registered is not False
        self._next_health = now + (self.timing.health_interval if registered else self.timing.unregistered_poll)
        self._registration_changed()

    async def _read_network_time(self) -> None:
        """``AT+CCLK?`` once registered: at once when registration is (re)gained (after a power cut
        without network the clock learns the time from it), then every 6 h. A modem default
        (2004, 2080 …) is never offered; until a real time comes it is asked again each minute."""
        now = self.clock.monotonic()
        if not self.modem.state.registered or now < self._next_time_read:
            return
        epoch = await self.modem.read_network_time()
        self._next_time_read = now + (self.timing.network_time_interval if epoch is not None
                                      else min(self.timing.health_interval, self.timing.network_time_interval))

    def _registration_changed(self) -> None:
        now = self.clock.monotonic()
        registered = self.modem.state.registered
        if registered and not self._was_registered:
            self._next_time_read = now  # just registered: the network's time may be there now
        self._was_registered = bool(registered)
        if registered is False:
            self.health.problem("network", f"not registered ({self.modem.state.registration_text})", now)
            self._next_health = min(self._next_health, now + self.timing.unregistered_poll)
        else:
            self.health.clear("network")

    def _report_health(self) -> None:
        if self._conditions is None:
            return
        self.reader.report(self._conditions, self.timing.down_after, self.port)
        now = self.clock.monotonic()
        due = self.health.due(self.timing.down_after)
        if due is not None and now >= due:
            reasons = frozenset(self.health.reasons)
            if reasons != self.health.reported:
                self.health.reported = reasons
                limit = 0.0 if self.health.immediate else self.timing.down_after
                detail = {"reasons": dict(self.health.reasons), "port": self.port,
                          "queued": self.outbox.counts()["queued"]}
                log.error("uplink down: %s", "; ".join(f"{k}: {v}" for k, v in self.health.reasons.items()))
                self._conditions(UPLINK_DOWN, Finding("uplink_down", SYSTEM, self.health.since or now, limit,
                                                      detail=detail))
        elif due is None and self.health.reported is not None:
            self.health.reported = None
            log.info("uplink recovered")
            self._conditions(UPLINK_DOWN, None)

    # -- sending ---------------------------------------------------------------------------------
    def _backoff(self, attempts: int) -> float:
        return min(self.timing.backoff_max, self.timing.backoff_base * 2 ** max(0, attempts - 1))

    async def _send_due(self) -> None:
        """One due message (the outbox's head); the worker's next step follows at once for the next."""
        message = self.outbox.head()
        if message is None or self.outbox.due_in(message, self.timing.backoff_max) > 0:
            return
        if self.modem.state.registered is False:
            return
        await self._send(message)

    async def _send(self, message: OutboxMessage) -> bool:
        """One attempt at one message; True if it left completely (so the next may follow)."""
        try:
            parts = encode_submit(message.recipient, message.text, smsc=self.smsc, status_report=self.status_reports,
                                  validity=self.validity, concat_ref=message.concat_ref)
        except ValueError as exc:
            self._give_up(message, f"cannot be encoded: {exc}")
            return False
        if message.state == "sending":  # an attempt of this run whose outcome could not be recorded
            if not self._interrupted_before(message):
                return False
        message = self.outbox.begin_attempt(message.id)
        index = message.parts_sent
        phase = ""  # "send": the part is on its way; "record": it went, not yet committed
        try:
            while index < len(parts):
                phase = "send"
                try:
                    reference = await self.modem.send(parts[index],
                                                      before_pdu=lambda: self.outbox.pdu_going(message.id))
                except AtError as exc:
                    phase = ""
                    if exc.policy.mark_sent:
                        log.info("SMS %d part %d: %s: the SMSC already has it", message.id, index + 1, exc)
                        self.outbox.part_sent(message.id, index, None)
                        index += 1
                        continue
                    self._send_refused(message, exc)
                    return False
                phase = "record"
                self.outbox.part_sent(message.id, index, reference)
                phase = ""
                index += 1
        except AtTimeout as exc:
            if exc.pdu_written:
                await self._ambiguous(message, index, str(exc))
                return False
            self.outbox.retry_later(message.id, str(exc), 0.0)
            raise
        except ChannelClosed as exc:
            if exc.pdu_written:
                self.outbox.ambiguous_outcome(message.id, f"port lost after the PDU went: {exc}")
            else:
                self.outbox.retry_later(message.id, str(exc), 0.0)
            raise
        except BaseException:  # the hub stopping (cancelled), or a failure after the part went
            maybe_went = phase == "record" or (phase == "send" and self.modem.pdu_maybe_sent)
            self._attempt_interrupted(message, index, maybe_went)
            raise
        self.outbox.finish_sent(message.id)
        self.sent_count += 1
        self._failures = 0
        self.health.clear("send", "message_failed")
        log.info("SMS %d sent to %s (%d part%s, attempt %d)", message.id, message.recipient, len(parts),
                 "s" * (len(parts) > 1), message.attempts)
        return True

    def _attempt_interrupted(self, message: OutboxMessage, index: int, maybe_went: bool) -> None:
        """Cut off mid-attempt (the hub stopping): if the part may have left, it counts as ambiguous
        exactly as after a kill -9 (resent up to the restart limit; the office may get it more than
        once); otherwise it simply waits. Re-queuing a part that had gone as plain ``queued`` sent
        it again unmarked and uncounted."""
        try:
            current = self.outbox.get(message.id)
            if current is None or current.state != "sending":
                return
            if maybe_went:
                if not self.outbox.ambiguous_outcome(message.id, f"attempt cut off after part {index + 1} went",
                                                     restarted=True):
                    self._note_failed(message, "cut off mid-send; already resent as often as allowed")
            else:
                self.outbox.retry_later(message.id, "attempt interrupted before the PDU went", 0.0)
        except Exception:  # noqa: BLE001 - unwinding already; the row stays 'sending', i.e. in doubt
            log.exception("SMS %d: recording the interrupted attempt failed", message.id)

    def _interrupted_before(self, message: OutboxMessage) -> bool:
        """A row left ``sending`` in this run (its outcome could not be committed): in doubt, like a
        row found ``sending`` at start-up. True if it may be resent."""
        resend = self.outbox.ambiguous_outcome(message.id, "outcome of the last attempt unknown (not recorded)")
        if not resend:
            self._note_failed(message, "outcome unknown twice; not resent again")
        return resend

    def _send_refused(self, message: OutboxMessage, exc: AtError) -> None:
        policy = exc.policy
        text = str(exc)
        self._last_error = text
        exhausted = policy.max_attempts is not None and message.attempts >= policy.max_attempts
        if policy.fail_message and (not policy.retry or exhausted):
            self._give_up(message, text)
            return
        delay = self._backoff(message.attempts)
        self.outbox.retry_later(message.id, text, delay)
        log.warning("SMS %d refused (%s): retrying in %.0f s", message.id, text, delay)
        now = self.clock.monotonic()
        if policy.link_problem:
            self.health.problem("send", text, now)
        if exc.error_class is ErrorClass.SIM:
            self.health.problem("sim", text, now)
        if policy.reinit:
            self.modem.needs_init = True
        if exc.error_class is ErrorClass.ME_FAILURE:
            self._failures += 1
        if policy.wait_for_network:
            self._next_health = now

    def _give_up(self, message: OutboxMessage, reason: str) -> None:
        self.outbox.fail(message.id, reason)
        self._note_failed(message, reason)

    def _note_failed(self, message: OutboxMessage, reason: str) -> None:
        self._last_error = f"SMS {message.id} failed: {reason}"
        log.error("SMS %d to %s failed for good: %s", message.id, message.recipient, reason)
        self.health.problem("message_failed", self._last_error, self.clock.monotonic(), immediate=True)

    async def _ambiguous(self, message: OutboxMessage, index: int, error: str) -> None:
        """A +CMGS timeout: record it, re-sync; a late +CMGS settles it, else resend at most once."""
        resend = self.outbox.ambiguous_outcome(message.id, error)
        log.warning("SMS %d part %d: %s: it may have gone; %s", message.id, index + 1, error,
                    "resending once after re-sync" if resend else "not resending again")
        if not resend:
            self._note_failed(message, f"{error}; already resent once")
        await self.modem.resync()
        late = self.modem.take_late_refs()
        if late:
            self.outbox.resolve_late_submit(message.id, index, late[-1])
            if not resend:
                self.health.clear("message_failed")

    # -- modem events -------------------------------------------------------------------------------
    def _on_modem_event(self, event: ModemEvent) -> None:
        """Called by the reader in the loop: queue and wake, nothing more."""
        if event.kind in INBOUND_KINDS:
            self.reader.queue(event)
        else:
            self._events.append(event)
        self._poke()

    def _handle_events(self) -> None:
        """Link events (no I/O): registration changes, reboots, a full storage."""
        while self._events:
            event = self._events.popleft()
            if event.kind == "registration":
                self._registration_changed()
            elif event.kind == "reboot":
                self.reader.sweep_needed = True
            elif event.kind == "storage_full":
                self.reader.storage_full(event.text)

    # -- waiting -------------------------------------------------------------------------------------
    def _poke(self) -> None:
        wake, loop = self._wake, self._loop
        if wake is None or loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wake.set()
        else:
            loop.call_soon_threadsafe(wake.set)

    @property
    def idle(self) -> bool:
        """Asleep until its next deadline with nothing to do: no AT command, no SMS on its way,
        no modem event unhandled. A harness on a fake clock may move time on only then (the
        modem works in real time; on a Pi an exchange takes milliseconds of the hub's time)."""
        return self.waiting and self._wake is not None and not self._wake.is_set() and not self._events

    def _next_deadline(self) -> float | None:
        now = self.clock.monotonic()
        candidates: list[float | None] = [self.health.due(self.timing.down_after) if self.health.reported is None
                                          else None]
        if not self.modem.connected:
            candidates.append(self._next_connect)
        elif self.modem.needs_init:
            candidates.append(self._next_sim_check if self._sim_blocked() else now)
        else:
            candidates.append(self._next_health)
            head = self.outbox.head()
            if head is not None and self.modem.state.registered is not False:
                candidates.append(now + self.outbox.due_in(head, self.timing.backoff_max))
        if self._events and self.modem.ready:
            candidates.append(now)
        if self.modem.ready:
            candidates.append(self.reader.due())
        if "internal" in self.health.reasons:
            candidates.append(self._internal_clears_at)
        future = [c for c in candidates if c is not None]
        if future and self._hold_until > now:
            return max(min(future), self._hold_until)
        return min(future) if future else None

    async def _wait(self) -> None:
        assert self._wake is not None
        deadline = self._next_deadline()
        now = self.clock.monotonic()
        if deadline is not None and deadline <= now:
            await asyncio.sleep(0)
            return
        if self._wake.is_set():
            self._wake.clear()
            return
        waker = asyncio.ensure_future(self._wake.wait())
        waiters = {waker}
        if deadline is not None:
            waiters.add(asyncio.ensure_future(self.clock.sleep(deadline - now)))
        try:
            await asyncio.sleep(0)  # both have started: the clock knows this deadline before we say idle
            self.waiting = True
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.waiting = False
            for task in waiters:
                task.cancel()
            self._wake.clear()



class NoModem(Uplink):
    """``modem.port = ""``: messages are still kept, and the hub says nothing can leave."""

    def __init__(self, store: Store, clock: Clock):
        self.clock = clock
        self.outbox = Outbox(store, clock)

    def submit(self, to: str, text: str, purpose: str, alert_id: int | None, label: Tag | None = None) -> int:
        text = self.outbox.compose(to, text, label)
        parts, reason = _count_parts(to, text)
        message_id = self.outbox.add(to, text, purpose, alert_id, parts, failed_because=reason)
        log.warning("no modem configured: SMS %d to %s kept in the outbox, not sent", message_id, to)
        return message_id

    def on_disk(self, message_id: int) -> bool:
        return self.outbox.on_disk(message_id)

    async def run(self, conditions: ConditionSink, inbound: InboundSink) -> None:
        conditions(UPLINK_DOWN, Finding("uplink_down", SYSTEM, self.clock.monotonic(), 0.0,
                                        detail={"reason": "no modem configured"}))
        await asyncio.Event().wait()

    def status(self) -> dict[str, Any]:
        return {"port": "", "connected": False, "uplink_down": True, "problems": {"modem": "no modem configured"},
                "outbox": self.outbox.counts(), "last_error": "no modem configured"}

