"""The office's way back: inbound SMS and delivery reports, read from the modem.

:class:`InboundReader` is the half of the uplink that reads. The sender
(:class:`hubd.modem.service.SmsService`) calls :meth:`InboundReader.work` after each
send, so a flood of stored messages never holds up an alarm: a bounded batch at a
time. Its failures (a phone that cannot list or read stored SMS, a full storage)
degrade inbound only and are reported as ``uplink_degraded``, never as the sending
side's ``uplink_down``. Every PDU is committed to the inbox before it is deleted from
the modem; a sender is flagged as a phone number only when its type of number says so.
"""

from __future__ import annotations

import collections
import logging
import re
from typing import Callable

from hubd.clock import Clock
from hubd.findings import SYSTEM, Finding
from hubd.modem.channel import AtError
from hubd.modem.link_health import LinkHealth
from hubd.modem.modem import Modem, ModemEvent
from hubd.modem.outbox import Inbox, Outbox, OutboxMessage
from hubd.modem.pdu import Deliver, PduError, Reassembler, StatusReport, decode
from hubd.seams import ConditionSink, InboundSink

log = logging.getLogger("hubd.modem")

UPLINK_DEGRADED = ("uplink_degraded", "")  # sending works, inbound SMS (office commands) do not
INBOUND_BATCH = 5  # stored SMS read per worker step: between two sends, never a whole flood
INBOUND_KINDS = ("sms_stored", "report_stored", "sms", "report")  # modem events this reader takes
_NUMERIC_TONS = (0, 1, 2)  # unknown, international, national (TS 23.040 9.1.2.5)
_ASCII_DIGITS = re.compile(r"[0-9]+")


def numeric_sender(address: str, toa: int) -> bool:
    """True only if the sender is a phone number: TON unknown/international/national, ASCII digits.

    An alphanumeric sender ID (TON 5) is free text any bulk sender can set, even to
    ``0312345678``: it must never be mistaken for the office's number.
    """
    if (toa >> 4) & 0x07 not in _NUMERIC_TONS:
        return False
    digits = address[1:] if address.startswith("+") else address
    return _ASCII_DIGITS.fullmatch(digits) is not None


class InboundReader:
    """Reads, decodes, reassembles and hands over inbound SMS; applies delivery reports."""

    def __init__(self, modem: Modem, inbox: Inbox, outbox: Outbox, clock: Clock, *, reassembly_timeout: float,
                 backoff: Callable[[int], float], note_failed: Callable[[OutboxMessage, str], None]):
        self.modem = modem
        self.inbox = inbox
        self.outbox = outbox
        self.clock = clock
        self.reassembly_timeout = reassembly_timeout
        self._backoff = backoff
        self._note_failed = note_failed  # a delivery report saying an SMS never arrived
        self.health = LinkHealth()  # reported as uplink_degraded
        self.sink: InboundSink | None = None
        self.sweep_needed = True  # indications can be lost: look in the storage
        self._failures = 0
        self._retry_at = 0.0
        self._queue: collections.deque[ModemEvent] = collections.deque()
        self.reassembler = Reassembler(reassembly_timeout)
        self._groups: dict[tuple, list[int]] = {}

    # -- what the sender tells it -----------------------------------------------------------
    def queue(self, event: ModemEvent) -> None:
        """An inbound indication from the modem's reader (no I/O here)."""
        self._queue.append(event)

    def storage_full(self, detail: str) -> None:
        """Inbound SMS are being refused: read (commit) and delete what is stored, and say so."""
        self.health.problem("storage_full", detail, self.clock.monotonic(), immediate=True)
        self.sweep_needed = True
        self._retry_at = 0.0

    def due(self) -> float | None:
        """When :meth:`work` has something to do (None: nothing waits)."""
        if not (self._queue or self.sweep_needed):
            return None
        return max(self.clock.monotonic(), self._retry_at)

    # -- reading -----------------------------------------------------------------------------
    async def work(self) -> None:
        """A bounded batch of inbound reading, after sending. Its failures degrade inbound only:
        reported, retried with back-off."""
        if self.clock.monotonic() < self._retry_at or not (self._queue or self.sweep_needed):
            return
        try:
            for _ in range(INBOUND_BATCH):
                if not self._queue:
                    break
                event = self._queue.popleft()
                try:
                    await self._handle(event)
                except BaseException:
                    self._queue.appendleft(event)  # not lost: tried again after the back-off
                    raise
            if self.sweep_needed and not self._queue:
                await self._sweep_stored()
        except AtError as exc:
            self._failed(exc)
            return
        if self._failures or "storage_full" in self.health.reasons:
            await self._recovered()

    async def _handle(self, event: ModemEvent) -> None:
        if event.kind in ("sms_stored", "report_stored") and event.index is not None:
            await self._read_stored(event.index, event.storage)
        elif event.pdu:
            self.take_pdu(event.pdu)
        else:
            log.error("%s without its PDU line: nothing to decode", event.text)

    def _failed(self, exc: AtError) -> None:
        self._failures += 1
        now = self.clock.monotonic()
        delay = self._backoff(self._failures)
        self._retry_at = now + delay
        self.sweep_needed = True
        if exc.code == 322:  # memory full
            self.storage_full(str(exc))
            self._retry_at = now + delay
        self.health.problem("inbound", f"reading stored SMS failed: {exc}", now)
        log.warning("reading inbound SMS failed (%s, failure %d): retrying in %g s; sending goes on",
                    exc, self._failures, delay)

    async def _recovered(self) -> None:
        if "storage_full" in self.health.reasons:
            usage = await self.modem.storage_usage()
            if usage is not None and usage[0] >= usage[1] > 0:
                return  # still full: the next sweep goes on deleting
        self._failures = 0
        self._retry_at = 0.0
        self.health.clear("inbound", "storage_full")

    async def _read_stored(self, index: int, storage: str | None) -> None:
        pdu = await self.modem.read(index, storage)
        if pdu is not None:
            self.take_pdu(pdu)
        else:
            log.debug("stored SMS %s/%d is gone or empty (already swept)", storage or "?", index)
        await self.modem.delete(index, storage)

    async def _sweep_stored(self) -> None:
        """Read whatever waits in the modem's storage (indications lost while down or rebooting),
        a batch at a time: the rest waits for the next step, after the next send."""
        stored = await self.modem.list_stored()
        for index, pdu in stored[:INBOUND_BATCH]:
            if pdu is not None:
                self.take_pdu(pdu)
            else:
                log.error("stored SMS %d listed without a PDU; deleting it", index)
            await self.modem.delete(index)
        self.sweep_needed = len(stored) > INBOUND_BATCH

    # -- decoding and handing over -------------------------------------------------------------
    def take_pdu(self, pdu: str) -> None:
        """Decode and keep one inbound PDU; a bad one is logged and stored, never fatal. One already
        committed (its deletion from the SIM failed, or the hub stopped before it) is not taken twice."""
        if any(part.pdu == pdu for part in self.inbox.parts(limit=200)):
            log.info("inbound PDU already kept (deleted late from the modem's storage): not taken again")
            return
        try:
            message = decode(pdu)
        except PduError as exc:
            log.error("malformed inbound PDU kept in the inbox and ignored: %s (%s)", exc, pdu[:80])
            self.inbox.add(pdu, None, "malformed", str(exc))
            return
        if isinstance(message, StatusReport):
            updated = self.outbox.apply_report(message.message_ref, message.recipient, message.status)
            if updated is None:
                log.info("delivery report for unknown reference %d to %s", message.message_ref, message.recipient)
            elif updated.state == "failed" and message.outcome in ("failed", "gave_up"):
                self._note_failed(updated, updated.last_error or "not delivered")
            else:
                log.info("SMS %d: delivery report %s", updated.id, message.outcome)
            return
        if not isinstance(message, Deliver):
            log.warning("inbound PDU is a %s, not an SMS: ignored", type(message).__name__)
            self.inbox.add(pdu, None, "ignored", f"unexpected {type(message).__name__}")
            return
        part_id = self.inbox.add(pdu, message.sender)
        self._assemble(message, part_id)

    def _assemble(self, message: Deliver, part_id: int) -> None:
        concat = message.concat
        key = (message.sender, concat.ref_bits, concat.ref, concat.total) if concat and concat.total > 1 else None
        ids = self._groups.setdefault(key, []) if key else []
        ids.append(part_id)
        text = self.reassembler.add(message, self.clock.monotonic())
        if text is None:
            return
        if key:
            self._groups.pop(key, None)
        self._hand_over(message.sender, text, ids, numeric_sender(message.sender, message.sender_toa))

    def _hand_over(self, sender: str, text: str, part_ids: list[int], numeric: bool) -> None:
        log.info("SMS from %s%s (%d characters)", sender, "" if numeric else " (not a number)", len(text))
        try:
            if self.sink is not None:
                self.sink(sender, text, numeric)
        except Exception:  # noqa: BLE001 - a failing handler must not lose the modem loop
            log.exception("inbound SMS handler failed for a message from %s", sender)
        finally:
            self.inbox.mark(part_ids, "done")

    def reload(self) -> None:
        """Parts stored before a restart rejoin the reassembler (complete ones are handed over now)."""
        for part in self.inbox.waiting_parts():
            try:
                message = decode(part.pdu)
            except PduError as exc:
                self.inbox.mark([part.id], "malformed", str(exc))
                continue
            if isinstance(message, Deliver):
                self._assemble(message, part.id)

    def expire(self) -> None:
        """Drop multi-part SMS whose missing parts did not come within the reassembly timeout."""
        for incomplete in self.reassembler.expire(self.clock.monotonic()):
            key = next((k for k in self._groups if k and k[0] == incomplete.sender and k[2] == incomplete.ref
                        and k[3] == incomplete.total), None)
            ids = self._groups.pop(key, []) if key else []
            log.warning("incomplete SMS from %s dropped after %.0f s: parts %s of %d arrived",
                        incomplete.sender, self.reassembly_timeout, list(incomplete.received), incomplete.total)
            self.inbox.mark(ids, "expired", "parts missing")

    # -- reporting -------------------------------------------------------------------------------
    def report(self, conditions: ConditionSink, down_after: float, port: str) -> None:
        """One ``uplink_degraded`` per episode: raised when inbound has failed for ``down_after`` (at
        once for a full SIM), cleared when it works again."""
        health, now = self.health, self.clock.monotonic()
        due = health.due(down_after)
        if due is not None and now >= due and health.reported is None:
            health.reported = frozenset(health.reasons)
            log.error("inbound SMS failing (sending is not affected): %s",
                      "; ".join(f"{k}: {v}" for k, v in health.reasons.items()))
            conditions(UPLINK_DEGRADED, Finding("uplink_degraded", SYSTEM, health.since or now, 0.0,
                                                detail={"reasons": dict(health.reasons), "port": port}))
        elif due is None and health.reported is not None:
            health.reported = None
            log.info("inbound SMS working again")
            conditions(UPLINK_DEGRADED, None)
