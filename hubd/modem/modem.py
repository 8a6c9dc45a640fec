"""Bring a modem up and keep an eye on it: SIM, SMS settings, registration, signal, time.

Everything here is one small exchange over :class:`~hubd.modem.channel.AtChannel`;
the decisions about when to retry, reset or give up live in the SMS service.
The modem also turns unsolicited lines into :class:`ModemEvent` objects: new
SMS, delivery reports, registration changes and boot banners (a modem that
printed ``RDY`` has forgotten echo-off, PDU mode and message indications, so
it must be set up again).

A wrong SIM PIN is never sent twice, not even across restarts: three wrong
tries lock the SIM behind its PUK, and a hub on a wall cannot fix that.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from hubd.modem.channel import AtChannel, AtError, AtTimeout, ChannelClosed
from hubd.modem.lines import Line, LineKind, split_fields
from hubd.modem.pdu import SubmitPart

__all__ = [
    "Modem",
    "ModemEvent",
    "ModemState",
    "Signal",
    "SimError",
    "PinMemory",
    "CNMI_OPTIONS",
    "REGISTRATION_TEXT",
    "signal_from_csq",
    "parse_registration",
    "parse_cclk",
    "parse_cops",
    "parse_cpms_options",
    "cpms_setting",
    "choose_storage",
]

log = logging.getLogger("hubd.modem")

# +CMTI for SMS, +CDS direct for reports; then ModemManager's fallbacks.
CNMI_OPTIONS = ("2,1,0,1,0", "2,1,2,1,0", "2,1,2,2,0", "2,1,2,0,0")
REGISTRATION_TEXT = {0: "not registered", 1: "home", 2: "searching", 3: "denied", 4: "unknown", 5: "roaming"}
REGISTERED = (1, 5)
_STORAGE_PREFERENCE = ("ME", "MT", "SM")
_BOOT_BANNERS = {"RDY", "SMS READY", "CALL READY", "+CFUN", "+QUSIM", "+PACSP"}
_BOOT_QIND = ("SMS DONE", "PB DONE")
_POWER_DOWN = ("NORMAL POWER DOWN", "UNDER-VOLTAGE POWER DOWN", "OVER-VOLTAGE POWER DOWN", "POWERED DOWN")
_EARLIEST_PLAUSIBLE = datetime(2024, 1, 1, tzinfo=timezone.utc)
_LATEST_PLAUSIBLE = datetime(2070, 1, 1, tzinfo=timezone.utc)
_CCLK = re.compile(r'"?(\d{2,4})/(\d{1,2})/(\d{1,2}),(\d{1,2}):(\d{1,2}):(\d{1,2})([+-]\d{1,2})?"?')


def _says_storage_full(name: str, value: str) -> bool:
    """``+CIEV: "SMSFULL",1`` (SIMCom), ``+QIND: "smsfull","SM"`` (Quectel), ``^SMMEMFULL`` (Huawei)."""
    upper = value.upper().replace(" ", "")
    if name == "+CIEV":
        return upper.startswith(('"SMSFULL",1', "SMSFULL,1"))
    if name == "+QIND":
        return upper.startswith(('"SMSFULL"', "SMSFULL"))
    return name == "^SMMEMFULL"


class SimError(Exception):
    """The SIM keeps SMS from going. ``permanent``: it will not heal by itself (PUK, wrong PIN, no SIM)."""

    def __init__(self, state: str, detail: str, permanent: bool = True):
        self.state = state
        self.detail = detail
        self.permanent = permanent
        super().__init__(f"SIM {state}: {detail}")


@dataclass(frozen=True)
class Signal:
    rssi: int | None
    dbm: int | None
    bars: int
    quality: str  # Good / Fair / Bad / unknown

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def signal_from_csq(rssi: int) -> Signal:
    """``+CSQ`` rssi (0..31, 99 unknown) to dBm (−113 + 2·rssi), 0–4 bars and a word for installers."""
    if not 0 <= rssi <= 31:
        return Signal(None, None, 0, "unknown")
    dbm = -113 + 2 * rssi
    bars = 0 if rssi < 2 else 1 if rssi < 10 else 2 if rssi < 15 else 3 if rssi < 20 else 4
    quality = "Good" if rssi >= 15 else "Fair" if rssi >= 10 else "Bad"
    return Signal(rssi, dbm, bars, quality)


def parse_registration(line: Line) -> int | None:
    """``<stat>`` from ``+CREG: <n>,<stat>…`` (a reply) or ``+CREG: <stat>…`` (a URC)."""
    fields = line.fields
    index = 1 if line.kind is LineKind.REPLY else 0
    if len(fields) <= index:
        return None
    try:
        return int(fields[index])
    except ValueError:
        return None


def parse_cclk(value: str) -> float | None:
    """``"24/03/15,09:30:00+36"`` (zone in quarter hours) to a UTC epoch; None if absent or implausible.

    Modems without network time report their firmware's epoch (2004, 2080 …),
    which must never be offered to the clock.
    """
    match = _CCLK.search(value)
    if not match:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    year += 2000 if year < 100 else 0
    quarters = int(match.group(7) or 0)
    try:
        moment = datetime(year, month, day, hour, minute, second,
                          tzinfo=timezone(timedelta(minutes=15 * quarters)))
    except ValueError:
        return None
    if not _EARLIEST_PLAUSIBLE <= moment < _LATEST_PLAUSIBLE:
        return None
    return moment.timestamp()


def parse_cops(line: Line | None) -> str | None:
    """Operator name from ``+COPS: 0,0,"NTT DOCOMO",7``; None when not registered."""
    if line is None:
        return None
    fields = line.fields
    return fields[2] if len(fields) >= 3 and fields[2] else None


def parse_cpms_options(value: str) -> list[list[str]]:
    """``("SM","ME"),("SM","ME"),("SM")`` to [['SM','ME'], ['SM','ME'], ['SM']].

    The innermost parentheses are the lists, however they are wrapped: some modems answer
    ``(("SM","BM","SR"),("SM"))``, one pair around the whole (once parsed as a storage ``(SM``).
    """
    groups = re.findall(r"\(([^()]*)\)", value)
    return [[name for name in split_fields(group) if name] for group in groups]


def cpms_setting(storage: str, options: list[list[str]]) -> str:
    """``AT+CPMS=`` arguments: ``storage`` for as many memories as the modem lists and allows it
    in (a modem with two lists refuses a third argument)."""
    count = 0
    for names in options[:3]:
        if storage not in names:
            break
        count += 1
    return ",".join([f'"{storage}"'] * max(1, count))


def choose_storage(options: list[list[str]]) -> str | None:
    """A storage usable for reading, deleting and receiving (mem1 and mem3), bigger ones first."""
    if not options:
        return None
    usable = set(options[0])
    if len(options) >= 3:
        usable &= set(options[2])
    for name in _STORAGE_PREFERENCE:
        if name in usable:
            return name
    return sorted(usable)[0] if usable else None


class PinMemory:
    """Remembers that a PIN was rejected, across restarts, so it is never tried again.

    Only a salted hash is kept; a different PIN in the secrets file is tried
    (once). Without a store it remembers for this process only.
    """

    KEY = "modem.rejected_pin"

    def __init__(self, store: Any = None):
        self.store = store
        self._local: dict[str, str] | None = None

    def _load(self) -> dict[str, str] | None:
        if self.store is None:
            return self._local
        value = self.store.get_value(self.KEY)
        return value if isinstance(value, dict) else None

    @staticmethod
    def _digest(pin: str, salt: str) -> str:
        return hashlib.sha256((salt + pin).encode()).hexdigest()

    def rejected(self, pin: str) -> bool:
        record = self._load()
        return bool(record) and self._digest(pin, record["salt"]) == record["hash"]

    def remember_rejected(self, pin: str) -> None:
        salt = os.urandom(8).hex()
        record = {"salt": salt, "hash": self._digest(pin, salt)}
        if self.store is None:
            self._local = record
        else:
            self.store.set_value(self.KEY, record)

    def forget(self) -> None:
        """The SIM was found unlocked: whatever was rejected is history."""
        if self.store is None:
            self._local = None
        elif self._load() is not None:
            self.store.set_value(self.KEY, None)


@dataclass(frozen=True)
class ModemEvent:
    """Something the modem said on its own: ``kind`` is one of
    sms_stored, sms, report, report_stored, registration, reboot, closed, power_warning, storage_full."""

    kind: str
    storage: str | None = None
    index: int | None = None
    pdu: str | None = None
    text: str = ""


@dataclass
class ModemState:
    """What ``hubctl modem`` shows."""

    port: str
    connected: bool = False
    initialised: bool = False
    model: str | None = None
    sim: str = "unknown"
    creg: int | None = None
    cereg: int | None = None
    signal: Signal = field(default_factory=lambda: Signal(None, None, 0, "unknown"))
    operator: str | None = None
    storage: str | None = None
    cnmi: str | None = None
    network_time: float | None = None
    reboots_seen: int = 0
    resets: int = 0
    last_error: str | None = None

    @property
    def registered(self) -> bool | None:
        """True if CREG or CEREG says home/roaming; None if the modem reported neither."""
        known = [stat for stat in (self.creg, self.cereg) if stat is not None]
        if not known:
            return None
        return any(stat in REGISTERED for stat in known)

    @property
    def registration_text(self) -> str:
        if self.registered:
            best = self.cereg if self.cereg in REGISTERED else self.creg
            return REGISTRATION_TEXT.get(best or 0, "unknown")
        known = [stat for stat in (self.cereg, self.creg) if stat is not None]
        return REGISTRATION_TEXT.get(known[0], "unknown") if known else "unknown"

    def as_dict(self) -> dict[str, Any]:
        return {
            "port": self.port,
            "connected": self.connected,
            "initialised": self.initialised,
            "model": self.model,
            "sim": self.sim,
            "registration": {"creg": self.creg, "cereg": self.cereg, "registered": self.registered,
                             "text": self.registration_text},
            "signal": self.signal.as_dict(),
            "operator": self.operator,
            "storage": self.storage,
            "cnmi": self.cnmi,
            "network_time": self.network_time,
            "reboots_seen": self.reboots_seen,
            "resets": self.resets,
            "last_error": self.last_error,
        }


class Modem:
    """One modem on one port. Call :meth:`connect`, then the queries; events go to ``on_event``."""

    def __init__(self, port: str, baudrate: int = 115200, *, sim_pin: str = "", pin_memory: PinMemory | None = None,
                 cnmi_options: tuple[str, ...] = CNMI_OPTIONS, init_commands: tuple[str, ...] = (),
                 time_source: Callable[[float], None] | None = None, command_timeout: float = 5.0,
                 cmgs_timeout: float = 120.0, settle: float = 0.1, pin_settle_polls: int = 10,
                 channel_factory: Callable[..., AtChannel] | None = None,
                 on_event: Callable[[ModemEvent], None] | None = None):
        self.port = port
        self.baudrate = baudrate
        self.sim_pin = sim_pin
        self.pin_memory = pin_memory or PinMemory()
        self.cnmi_options = cnmi_options
        self.init_commands = init_commands
        self.time_source = time_source
        self.command_timeout = command_timeout
        self.cmgs_timeout = cmgs_timeout
        self.settle = settle
        self.pin_settle_polls = pin_settle_polls
        self._channel_factory = channel_factory or AtChannel
        self.on_event = on_event
        self.channel: AtChannel | None = None
        self.state = ModemState(port)
        self.needs_init = True
        self._generation = 0  # bumped by every boot banner: a set-up that overlapped one must run again
        self._late_refs: list[int] = []
        self.pdu_maybe_sent = False

    # -- connection ----------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self.channel is not None and self.channel.is_open

    @property
    def ready(self) -> bool:
        return self.connected and not self.needs_init and self.state.sim == "READY"

    async def connect(self) -> None:
        """Open the port, sync, then :meth:`initialise` (SIM first, then echo off, numeric errors …)."""
        self.close("reconnecting")
        channel = self._channel_factory(self.port, self.baudrate, command_timeout=self.command_timeout,
                                        cmgs_timeout=self.cmgs_timeout, settle=self.settle)
        channel.add_urc_handler(self._on_urc)
        channel.on_closed = self._on_closed
        self.channel = channel
        self.needs_init = True
        try:
            await channel.open(configure=False)
        except (AtTimeout, AtError):
            self.close("no answer to AT")
            raise
        self.state.connected = True
        await self.initialise()

    def close(self, reason: str = "closed") -> None:
        channel, self.channel = self.channel, None
        self.state.connected = False
        self.state.initialised = False
        self.needs_init = True
        if channel is not None:
            channel.on_closed = None
            channel.close(reason)

    def _require(self) -> AtChannel:
        if self.channel is None or not self.channel.is_open:
            raise ChannelClosed(self.channel.closed_reason if self.channel else "modem not connected")
        return self.channel

    async def _at(self, command: str, **kwargs: Any):
        return await self._require().command(command, **kwargs)

    # -- set-up ------------------------------------------------------------------------
    async def initialise(self) -> None:
        """The set-up a boot erases: SIM, echo, errors, PDU mode, storage, indications, registration URCs.

        The SIM comes first: some modems refuse every other command, ``ATE0`` included, with
        ``+CME ERROR: 11`` until the PIN is entered."""
        channel = self._require()
        self.needs_init = True
        self.state.initialised = False
        generation = self._generation
        word, pin_entered = await self._unlock_sim()
        await channel.configure()
        await self._identify()
        await self.check_sim(word, pin_entered)
        await self._at("AT+CMGF=0")
        await self._choose_storage()
        await self._enable_indications()
        for command in ("AT+CREG=1", "AT+CEREG=1"):
            try:
                await self._at(command)
            except AtError:
                pass  # a 2G module has no CEREG; an LTE-only one may refuse CREG
        for command in self.init_commands:
            try:
                await self._at(command)
            except AtError as exc:
                log.warning("extra modem init command failed: %s", exc)
        await self.refresh()
        if generation != self._generation:
            log.info("the modem restarted during set-up: setting it up again")
            return
        self.needs_init = False
        self.state.initialised = True
        log.info("modem ready: %s, SIM %s, %s, signal %s", self.state.model or "unknown model", self.state.sim,
                 self.state.registration_text, self.state.signal.quality)

    async def _identify(self) -> None:
        try:
            response = await self._at("AT+CGMM", raw=True)
            texts = response.texts()
            self.state.model = texts[0] if texts else None
        except AtError:
            pass

    async def _unlock_sim(self) -> tuple[str | None, bool]:
        """``AT+CPIN?`` before any other set-up, and the PIN if asked: (the SIM's word, or None if
        the modem would not say before ``AT+CMEE=1``; whether the PIN was entered)."""
        word = await self._sim_word()
        if word != "SIM PIN":
            return (None if word.startswith("error ") else word), False
        await self._enter_pin()
        return await self._await_sim_ready(), True

    async def check_sim(self, word: str | None = None, pin_entered: bool = False) -> None:
        """``AT+CPIN?`` (unless ``word`` is known); enter the PIN once if asked. Raises
        :class:`SimError` when SMS cannot go."""
        if word is None:
            word = await self._sim_word()
        if word == "SIM PIN":
            if pin_entered:  # accepted, yet the SIM still asks: wait, never enter it twice
                self.state.sim = word
                raise SimError(word, "the SIM still asks for its PIN after accepting it", permanent=False)
            await self._enter_pin()
            word = await self._await_sim_ready()
        self.state.sim = word
        if word == "READY":
            self.pin_memory.forget()
            return
        if word in ("SIM PUK", "PH-SIM PUK"):
            raise SimError(word, "the SIM is locked behind its PUK: hubd will not touch it; replace or unlock it")
        if word == "NOT INSERTED":
            raise SimError(word, "no SIM card")
        if word == "BUSY":
            raise SimError(word, "SIM busy (modem still booting)", permanent=False)
        raise SimError(word, f"SIM asks for {word}; not supported")

    async def _sim_word(self) -> str:
        try:
            response = await self._at("AT+CPIN?")
            line = response.first("+CPIN")
        except AtTimeout as exc:  # Wavecom answers +CPIN without OK
            line = next((item for item in exc.lines if item.name == "+CPIN"), None)
            if line is None:
                raise
        except AtError as exc:
            return self._sim_word_from_error(exc)
        return line.value.strip().strip('"').upper() if line else "unknown"

    @staticmethod
    def _sim_word_from_error(exc: AtError) -> str:
        code = exc.code if exc.kind == "CME" else None
        if exc.kind == "CMS" and exc.code is not None:
            code = {310: 10, 311: 11, 313: 13, 314: 14, 316: 12}.get(exc.code)
        return {10: "NOT INSERTED", 11: "SIM PIN", 12: "SIM PUK", 13: "FAILURE", 14: "BUSY", 15: "WRONG"}.get(
            code, f"error {exc.kind} {exc.code}")

    async def _enter_pin(self) -> None:
        if not self.sim_pin:
            self.state.sim = "SIM PIN"
            raise SimError("SIM PIN", "the SIM asks for a PIN and none is configured (secrets sim_pin)")
        if self.pin_memory.rejected(self.sim_pin):
            self.state.sim = "PIN rejected"
            raise SimError("PIN rejected", "the configured PIN was rejected before; it is not tried again")
        log.info("entering the SIM PIN")
        try:
            await self._at(f'AT+CPIN="{self.sim_pin}"', timeout=max(self.command_timeout, 1.0))
        except AtError as exc:
            word = self._sim_word_from_error(exc)
            if word == "SIM PUK":
                self.state.sim = word
                raise SimError(word, "the SIM locked itself behind its PUK") from None
            self.pin_memory.remember_rejected(self.sim_pin)
            self.state.sim = "PIN rejected"
            raise SimError("PIN rejected", f"the SIM refused the configured PIN ({exc}); it will not be retried") \
                from None

    async def _await_sim_ready(self) -> str:
        word = "unknown"
        for _ in range(self.pin_settle_polls):
            word = await self._sim_word()
            if word != "BUSY" and word != "SIM PIN":
                return word
            await self._pause()
        return word

    async def _pause(self) -> None:
        await asyncio.sleep(self.settle)

    async def _choose_storage(self) -> None:
        try:
            response = await self._at("AT+CPMS=?")
            line = response.first("+CPMS")
            options = parse_cpms_options(line.value) if line else []
            storage = choose_storage(options)
        except AtError:
            storage = None
        if storage is None:
            self.state.storage = None
            return
        await self._at(f"AT+CPMS={cpms_setting(storage, options)}")
        self.state.storage = storage

    async def _enable_indications(self) -> None:
        for option in self.cnmi_options:
            try:
                await self._at(f"AT+CNMI={option}")
            except AtError as exc:
                log.info("AT+CNMI=%s refused (%s): trying the next setting", option, exc)
                continue
            self.state.cnmi = option
            return
        self.state.cnmi = None
        log.warning("modem accepts no new-message indication setting: stored SMS are found by polling only")

    # -- health ------------------------------------------------------------------------
    async def refresh(self) -> None:
        """Registration (CREG and CEREG), signal and operator."""
        self.state.creg = await self._registration("AT+CREG?", "+CREG")
        self.state.cereg = await self._registration("AT+CEREG?", "+CEREG")
        try:
            line = (await self._at("AT+CSQ")).first("+CSQ")
            fields = line.fields if line else []
            self.state.signal = signal_from_csq(int(fields[0])) if fields and fields[0].isdigit() else \
                signal_from_csq(99)
        except AtError:
            self.state.signal = signal_from_csq(99)
        try:
            self.state.operator = parse_cops((await self._at("AT+COPS?")).first("+COPS"))
        except AtError:
            self.state.operator = None

    async def _registration(self, command: str, name: str) -> int | None:
        try:
            line = (await self._at(command)).first(name)
        except AtError:
            return None
        return parse_registration(line) if line else None

    async def read_network_time(self) -> float | None:
        """``AT+CCLK?``; a plausible time is offered to the clock (it ignores it when NTP is synced)."""
        try:
            line = (await self._at("AT+CCLK?")).first("+CCLK")
        except AtError:
            return None
        epoch = parse_cclk(line.value) if line else None
        self.state.network_time = epoch
        if epoch is not None and self.time_source is not None:
            self.time_source(epoch)
        return epoch

    # -- recovery --------------------------------------------------------------------------
    async def resync(self) -> None:
        """ESC and ``AT`` until ``OK`` (after a timeout); late ``+CMGS`` answers are kept for the caller."""
        await self._require().sync()

    def take_late_refs(self) -> list[int]:
        """``+CMGS: <mr>`` lines that came after their command timed out: those SMS did go."""
        refs, self._late_refs = self._late_refs, []
        return refs

    async def reset(self) -> None:
        """``AT+CFUN=1,1``: a full modem restart; set-up follows its boot banners."""
        self.state.resets += 1
        self.needs_init = True
        log.warning("resetting the modem (AT+CFUN=1,1)")
        await self._at("AT+CFUN=1,1", timeout=max(self.command_timeout, 1.0))

    # -- messages ------------------------------------------------------------------------------
    async def send(self, part: SubmitPart, before_pdu: Callable[[], None] | None = None) -> int | None:
        """Send one SMS-SUBMIT; returns the message reference the network gave it.

        ``before_pdu``: see :meth:`AtChannel.send_pdu`. If anything else ends the send (a
        cancellation), ``pdu_maybe_sent`` says whether the PDU had gone to the modem
        unanswered: then the SMS may have left."""
        self._late_refs.clear()
        channel = self._require()
        self.pdu_maybe_sent = False
        try:
            response = await channel.send_pdu(part.tpdu_length, part.pdu, before_pdu=before_pdu)
        except BaseException:
            self.pdu_maybe_sent = channel.pdu_unanswered
            raise
        line = response.first("+CMGS")
        fields = line.fields if line else []
        return int(fields[0]) if fields and fields[0].isdigit() else None

    async def _with_storage(self, storage: str | None, command: str, **kwargs: Any):
        switch = storage is not None and self.state.storage is not None and storage != self.state.storage
        if switch:
            await self._at(f'AT+CPMS="{storage}"')
        try:
            return await self._at(command, **kwargs)
        finally:
            if switch:
                await self._at(f'AT+CPMS="{self.state.storage}"')

    async def read(self, index: int, storage: str | None = None) -> str | None:
        """The PDU stored at ``index`` (None: empty slot)."""
        try:
            response = await self._with_storage(storage, f"AT+CMGR={index}")
        except AtError as exc:
            if exc.code == 321:  # invalid index: already gone
                return None
            raise
        line = response.first("+CMGR")
        if line is None:
            return None
        if line.pdu is None:
            fields = line.fields
            if not fields or fields[-1] not in ("", "0"):
                log.error("stored SMS %d: %r came without its PDU line", index, line.text)
            return None
        return line.pdu

    async def delete(self, index: int, storage: str | None = None) -> None:
        await self._with_storage(storage, f"AT+CMGD={index}")

    async def storage_usage(self) -> tuple[int, int] | None:
        """(used, total) of the memory messages are read from (``AT+CPMS?``); None if not said."""
        try:
            line = (await self._at("AT+CPMS?")).first("+CPMS")
        except AtError:
            return None
        fields = line.fields if line else []
        if len(fields) >= 3 and fields[1].isdigit() and fields[2].isdigit():
            return int(fields[1]), int(fields[2])
        return None

    async def list_stored(self) -> list[tuple[int, str | None]]:
        """(index, PDU) of every stored message (``AT+CMGL=4``; read index by index on a phone
        that cannot list, as far as ``AT+CPMS?`` says messages are stored)."""
        try:
            response = await self._at("AT+CMGL=4")
        except AtError as exc:
            usage = await self.storage_usage()
            if usage is None:
                raise
            log.info("%s: reading the %d stored message(s) index by index", exc, usage[0])
            return await self._read_each(*usage)
        out = []
        for line in response.lines:
            fields = line.fields
            if line.name == "+CMGL" and fields and fields[0].isdigit():
                out.append((int(fields[0]), line.pdu))
        return out

    async def _read_each(self, used: int, total: int) -> list[tuple[int, str | None]]:
        out: list[tuple[int, str | None]] = []
        for index in range(0, total + 1):  # Quectel counts from 0, SIMCom from 1
            if len(out) >= used:
                break
            pdu = await self.read(index)
            if pdu is not None:
                out.append((index, pdu))
        return out

    # -- unsolicited ----------------------------------------------------------------------------
    def _emit(self, event: ModemEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def _mark_uninitialised(self) -> None:
        self._generation += 1
        self.needs_init = True
        self.state.initialised = False

    def _on_closed(self, reason: str) -> None:
        self.state.connected = False
        self.state.initialised = False
        self.needs_init = True
        self._emit(ModemEvent("closed", text=reason))

    def _on_urc(self, line: Line) -> None:
        name = line.name
        fields = line.fields
        if name == "+CMTI" or name == "+CDSI":
            if len(fields) >= 2 and fields[1].isdigit():
                kind = "sms_stored" if name == "+CMTI" else "report_stored"
                self._emit(ModemEvent(kind, storage=fields[0] or None, index=int(fields[1]), text=line.text))
            else:
                log.warning("unreadable %s: %r", name, line.text)
        elif _says_storage_full(name, line.value):
            log.warning("modem: %s: the message storage is full", line.text)
            self._emit(ModemEvent("storage_full", text=line.text))
        elif name == "+CMT":
            self._emit(ModemEvent("sms", pdu=line.pdu, text=line.text))
        elif name == "+CDS":
            self._emit(ModemEvent("report", pdu=line.pdu, text=line.text))
        elif name in ("+CREG", "+CEREG"):
            stat = parse_registration(line)
            if name == "+CREG":
                self.state.creg = stat
            else:
                self.state.cereg = stat
            self._emit(ModemEvent("registration", text=line.text))
        elif name == "+CMGS":
            if fields and fields[0].isdigit():
                log.info("late +CMGS: %s after the send timed out: that SMS did go", fields[0])
                self._late_refs.append(int(fields[0]))
        elif name == "+CPIN":
            word = line.value.strip().upper()
            if word != "READY":
                self.state.sim = word
                self._mark_uninitialised()
            self._emit(ModemEvent("registration", text=line.text))
        elif name.startswith(("UNDER-VOLTAGE", "OVER-VOLTAGE")) and "DOWN" not in name:
            log.warning("modem reports %s: check its power supply (2 A bursts)", line.text)
            self._emit(ModemEvent("power_warning", text=line.text))
        elif name in _BOOT_BANNERS or name in _POWER_DOWN or (name == "+QIND" and line.value.upper() in _BOOT_QIND):
            if name == "RDY" or name in _POWER_DOWN:
                self.state.reboots_seen += 1
                log.warning("modem %s: it restarted; setting it up again", line.text)
            self._mark_uninitialised()
            self._emit(ModemEvent("reboot", text=line.text))
        else:
            log.debug("unsolicited %r ignored", line.text)
