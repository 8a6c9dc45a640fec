"""The AT modem the simulator plays, without any I/O (sans-IO).

:class:`AtModem` is the protocol and state of one modem: bytes from the hub go in
through :meth:`AtModem.feed`, bytes for the hub come out of :meth:`AtModem.take_output`,
and delayed answers (a slow ``+CMGS``, a delivery report, a reboot's banners) wait in
its own timer queue until :meth:`AtModem.run_due` is called at or after
:meth:`AtModem.next_due`. It speaks the AT subset hubd uses, with SIM800 and Quectel
EC25 flavours (echo and banners at boot, CREG vs CEREG) and the dialects recorded from
real modems, and can be told to misbehave (``+CMS ERROR`` on chosen messages, slow or
missing ``+CMGS`` answers, URCs inside answers, garbage bytes, network loss, reboots).

What the hub sends is decoded with hubd's own PDU decoder and reassembled into
:attr:`AtModem.delivered`, the "phone" that tests read. Inbound SMS and status reports
are built with hubd's own encoder (``hubd.modem.pdu``); that codec is checked against
published vectors in ``tests/test_pdu_vectors.py``, so a decoder bug cannot hide behind
the same bug in the encoder.

The transport that serves it on a pseudo-terminal is :class:`hubsim.modem.ModemEmulator`
(as pyserial keeps protocol handlers apart from ports).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import re
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Callable

from hubd.modem.pdu import PduError, Submit, decode_submit, encode_deliver, encode_status_report

__all__ = ["Profile", "PROFILES", "AtModem"]

log = logging.getLogger("hubsim.modem")

CR, LF, CTRL_Z, ESC = 0x0D, 0x0A, 0x1A, 0x1B
REGISTERED = (1, 5)
_NOISE_URCS = ("^RSSI: 18", '+QIND: "csq",20,99', "+CSQN: 21,99", "+CIEV: 10,1")


# ---------------------------------------------------------------------------
# Profiles


@dataclass(frozen=True)
class Profile:
    """How one modem family behaves where hubd can tell the difference."""

    name: str
    manufacturer: str
    model: str
    revision: str
    boot_banners: tuple[str, ...]
    echo_at_boot: bool = True
    has_cereg: bool = True
    lte_only: bool = False  # CREG says "not registered" while CEREG says registered
    storages: tuple[str, ...] = ("SM", "ME")
    default_clock: str = "04/01/01,00:00:00+00"
    # dialects recorded from real modems (issue 13):
    pin_first: bool = False  # everything but AT and AT+CPIN gets +CME ERROR: 11 until the PIN is in
    cpms_options: str | None = None  # the AT+CPMS=? answer (None: three lists of ``storages``)
    cmgl: bool = True  # False: AT+CMGL answers ERROR (the phone cannot list stored messages)
    full_urc: str | None = None  # said when the SIM storage fills up (e.g. +CIEV: "SMSFULL",1)


PROFILES = {
    "sim800": Profile(
        name="sim800",
        manufacturer="SIMCOM_Ltd",
        model="SIMCOM_SIM800L",
        revision="Revision:1418B04SIM800L24",
        boot_banners=("RDY", "+CFUN: 1", "{cpin}", "Call Ready", "SMS Ready"),
        has_cereg=False,
        storages=("SM", "ME", "SM_P", "ME_P", "MT"),
    ),
    "ec25": Profile(
        name="ec25",
        manufacturer="Quectel",
        model="EC25",
        revision="Revision: EC25JFAR06A06M4G",
        boot_banners=("RDY", "+CFUN: 1", "{cpin}", "+QUSIM: 1", "+QIND: SMS DONE", "+QIND: PB DONE"),
        has_cereg=True,
        lte_only=True,
        storages=("SM", "ME", "MT"),
        default_clock="80/01/06,00:00:00+00",
    ),
}
PROFILES["pin-first"] = replace(PROFILES["ec25"], name="pin-first", pin_first=True)
PROFILES["nested-cpms"] = replace(PROFILES["sim800"], name="nested-cpms", storages=("SM", "BM", "SR"),
                                  cpms_options='(("SM","BM","SR"),("SM"))')
PROFILES["no-cmgl"] = replace(PROFILES["ec25"], name="no-cmgl", cmgl=False)
PROFILES["smsfull"] = replace(PROFILES["sim800"], name="smsfull", full_urc='+CIEV: "SMSFULL",1')


@dataclass
class _Stored:
    stat: int  # 0 received unread, 1 read
    pdu: str


@dataclass
class _Settings:
    """What a reboot resets."""

    echo: bool = True
    cmee: int = 0
    cmgf: int = 0
    cnmi: tuple[int, ...] = (0, 0, 0, 0, 0)
    creg_n: int = 0
    cereg_n: int = 0
    memory: str = "SM"


@dataclass
class _Fault:
    kind: str  # CMS / CME
    code: int


class AtModem:
    """One modem's AT protocol and state, fed bytes and drained of bytes; see the module docstring."""

    def __init__(self, profile: str | Profile = "sim800", *, seed: int = 0, sim_pin: str = "",
                 sim_state: str = "READY", registration: int = 1, register_delay: float = 0.0, rssi: int = 20,
                 operator: str = "NTT DOCOMO", network_time: datetime | None = None, cmgs_delay: float = 0.0,
                 urc_noise: bool = False, garbage: float = 0.0, delivery_reports: bool = True,
                 report_delay: float = 0.02, report_status: int = 0, boot_delay: float = 0.0, banner_gap: float = 0.0,
                 reject_cnmi: tuple[str, ...] = (), storage_size: int = 30, speed: float = 1.0,
                 booted: bool = True, now: Callable[[], float] = time.monotonic):
        self.profile = PROFILES[profile] if isinstance(profile, str) else profile
        self.rng = random.Random(seed)
        self.sim_pin = sim_pin
        self.sim_state = "SIM PIN" if sim_pin and sim_state == "READY" else sim_state
        self.pin_tries_left = 3
        self.network = registration  # where registration settles after boot
        self.registration = registration
        self.register_delay = register_delay
        self.rssi = rssi
        self.operator = operator
        self.network_time = network_time
        self.cmgs_delay = cmgs_delay
        self.urc_noise = urc_noise
        self.garbage = garbage
        self.delivery_reports = delivery_reports
        self.report_delay = report_delay
        self.report_status = report_status
        self.boot_delay = boot_delay
        self.banner_gap = banner_gap
        self.reject_cnmi = set(reject_cnmi)
        self.storage_size = storage_size
        self.speed = speed

        self.now = now  # seconds, for timers and the network clock (the transport's real time by default)

        # observation (read from other threads under self.lock)
        self.delivered: list[tuple[str, str]] = []
        self.submits: list[Submit] = []
        self.commands: list[str] = []
        self.pin_attempts: list[str] = []
        self.boots = 0

        self.lock = threading.Condition()  # held while observation lists change; notified after each step
        self._settings = _Settings(echo=self.profile.echo_at_boot)
        self._storage: dict[int, _Stored] = {}
        self._line = bytearray()
        self._pdu_entry: tuple[int, bytearray] | None = None  # (announced length, hex so far)
        self._busy = False
        self._backlog = bytearray()
        self._powered = booted
        self._silent = False
        self._faults: list[_Fault] = []
        self._faults_to: dict[str, _Fault] = {}
        self._overrides: dict[str, list[str]] = {}
        self._swallow = 0
        self._mr = self.rng.randrange(256)
        self._concat: dict[tuple[str, int, int], dict[int, str]] = {}
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._started_at = now()
        self._out = bytearray()

    # -- the transport's side ------------------------------------------------------------
    def attach(self) -> None:
        """The port is opened: a modem that is powered has booted (once)."""
        if self._powered:
            self._settings = _Settings(echo=self.profile.echo_at_boot)
            self.boots = 1

    def feed(self, data: bytes) -> None:
        """Bytes the hub wrote to the port."""
        self._input(data)

    def take_output(self) -> bytes:
        """Bytes for the hub, since the last call."""
        data, self._out = bytes(self._out), bytearray()
        return data

    def next_due(self) -> float | None:
        """When the earliest delayed answer is due (``now()`` seconds; None: nothing waits)."""
        return self._timers[0][0] if self._timers else None

    def run_due(self) -> None:
        """Run the delayed answers that are due by ``now()``."""
        now = self.now()
        while self._timers and self._timers[0][0] <= now:
            _, _, call = heapq.heappop(self._timers)
            call()

    def unplugged(self) -> None:
        """The USB device disappeared: what was not written yet is lost."""
        self._out.clear()

    def replugged(self, boot: bool = True) -> None:
        """The device is back (as after USB re-enumeration), freshly booted unless ``boot`` is False."""
        if boot:
            self._power_cycle(0.0)

    # -- scripting --------------------------------------------------------------------
    def fail_next(self, code: int, kind: str = "CMS", count: int = 1) -> None:
        """The next ``count`` AT+CMGS are answered with ``+<kind> ERROR: <code>`` (nothing delivered)."""
        self._faults.extend(_Fault(kind, code) for _ in range(count))

    def fail_to(self, number: str, code: int | None, kind: str = "CMS") -> None:
        """Every AT+CMGS to ``number`` fails with ``code`` (None: stop failing)."""
        if code is None:
            self._faults_to.pop(number, None)
        else:
            self._faults_to[number] = _Fault(kind, code)

    def swallow_next_cmgs(self, count: int = 1) -> None:
        """Deliver the next ``count`` SMS to the phone but never answer ``+CMGS``: the ambiguous case."""
        self._swallow += count

    def override(self, command: str, reply: list[str] | None) -> None:
        """Answer every command starting with ``command`` (e.g. ``AT+CPMS=``) with ``reply`` lines (None: undo)."""
        key = command.upper()[2:] if command.upper().startswith("AT") else command.upper()
        if reply is None:
            self._overrides.pop(key, None)
        else:
            self._overrides[key] = list(reply)

    def set_cmgs_delay(self, seconds: float) -> None:
        self.cmgs_delay = seconds

    def set_registration(self, stat: int, urc: bool = True) -> None:
        """1 home, 5 roaming, 2 searching, 3 denied, 0/4 not registered; URC if the hub enabled it."""
        self._register(stat, urc, settle=True)

    def set_signal(self, rssi: int) -> None:
        self.rssi = rssi

    def set_silent(self, silent: bool) -> None:
        """A hung modem: input is swallowed, nothing is answered."""
        self._silent = silent

    def reboot(self, down_for: float = 0.2) -> None:
        """Brown-out reset: silent for ``down_for`` seconds, then the boot banners and default settings."""
        self._power_cycle(down_for)

    def power_down(self, banner: str = "NORMAL POWER DOWN") -> None:
        self._power_down(banner)

    def power_on(self) -> None:
        self._boot()

    def inject_garbage(self, data: bytes | None = None) -> None:
        self._send_raw(data if data is not None else self._garbage_line())

    def inject_urc(self, text: str) -> None:
        self._urc(text)

    def inject_sms(self, sender: str, text: str, *, timestamp: datetime | None = None, ref: int | None = None,
                   direct: bool = False, alphanumeric: bool = False) -> None:
        """An SMS arrives: stored with ``+CMTI`` (or ``+CMT`` + PDU when ``direct``), one per part.
        ``alphanumeric``: the sender is a sender ID (TOA D0) even if it is all digits."""
        when = timestamp or datetime(2024, 3, 15, 9, 30, tzinfo=timezone(timedelta(hours=9)))
        ref = self.rng.randrange(256) if ref is None else ref
        for pdu in encode_deliver(sender, text, timestamp=when, concat_ref=ref, alphanumeric_sender=alphanumeric):
            self.inject_pdu(pdu, direct=direct)

    def inject_pdu(self, pdu: str, *, direct: bool = False) -> None:
        """A raw inbound PDU (possibly malformed) as the network would hand it to the modem."""
        self._receive(pdu, direct)

    # -- observation ------------------------------------------------------------------
    @property
    def powered(self) -> bool:
        """False while rebooting or powered down."""
        return self._powered

    def stored_count(self) -> int:
        with self.lock:
            return len(self._storage)

    def stored_pdus(self) -> list[str]:
        """The PDUs in the emulated SIM storage, by index (what ``AT+CMGL=4`` would list)."""
        with self.lock:
            return [stored.pdu for _, stored in sorted(self._storage.items())]

    def snapshot(self) -> dict:
        with self.lock:
            return {"delivered": list(self.delivered), "commands": list(self.commands),
                    "stored": len(self._storage), "boots": self.boots}

    # -- protocol ---------------------------------------------------------------------
    def _after(self, delay: float, call: Callable[[], None]) -> None:
        heapq.heappush(self._timers, (self.now() + delay / self.speed, next(self._seq), call))

    def _send_raw(self, data: bytes) -> None:
        self._out += data

    def _lines(self, *texts: str) -> None:
        for text in texts:
            self._send_raw(b"\r\n" + text.encode("utf-8") + b"\r\n")

    def _urc(self, text: str) -> None:
        if self._powered:
            self._lines(text)

    def _garbage_line(self) -> bytes:
        body = bytes(self.rng.randrange(0x80, 0x100) for _ in range(self.rng.randrange(3, 12)))
        return b"\r\n" + body + b"\r\n"

    def _maybe_garbage(self) -> None:
        if self.garbage and self.rng.random() < self.garbage:
            self._send_raw(self._garbage_line())

    def _maybe_noise(self) -> None:
        if self.urc_noise:
            self._lines(self.rng.choice(_NOISE_URCS))

    def _ok(self) -> None:
        self._lines("OK")

    def _error(self) -> None:
        self._lines("ERROR")

    def _cme(self, code: int) -> None:
        self._lines(f"+CME ERROR: {code}" if self._settings.cmee else "ERROR")

    def _cms(self, code: int) -> None:
        self._lines(f"+CMS ERROR: {code}" if self._settings.cmee else "ERROR")

    def _power_cycle(self, down_for: float) -> None:
        self._powered = False
        self._busy = False
        self._backlog.clear()
        self._pdu_entry = None
        self._timers = []  # answers and reports in flight die with the power
        self._after(down_for + self.boot_delay, self._boot)

    def _power_down(self, banner: str) -> None:
        self._lines(banner)
        self._powered = False
        self._pdu_entry = None

    def _boot(self) -> None:
        self._powered = True
        self.boots += 1
        self._settings = _Settings(echo=self.profile.echo_at_boot)
        self._line.clear()
        if self.sim_pin and self.sim_state == "READY":
            self.sim_state = "SIM PIN"
        self.registration = 2 if self.register_delay > 0 else self.network
        if self.register_delay > 0:
            self._after(self.register_delay, lambda: self._register(self.network, True))
        banners = [b.replace("{cpin}", f"+CPIN: {self._cpin_word()}") for b in self.profile.boot_banners]
        for index, banner in enumerate(banners):
            if index == 0 or not self.banner_gap:
                self._lines(banner)
            else:
                self._after(self.banner_gap * index, lambda b=banner: self._urc(b))

    def _cpin_word(self) -> str:
        return {"READY": "READY", "SIM PIN": "SIM PIN", "SIM PUK": "SIM PUK"}.get(self.sim_state, "NOT INSERTED")

    def _register(self, stat: int, urc: bool, settle: bool = False) -> None:
        if settle:
            self.network = stat
        self.registration = stat
        if not urc or not self._powered:
            return
        if self._settings.creg_n and not self.profile.lte_only:
            self._urc(f"+CREG: {stat}")
        if self.profile.has_cereg and self._settings.cereg_n:
            self._urc(f"+CEREG: {stat}")

    def _input(self, data: bytes) -> None:
        if not self._powered or self._silent:
            return
        if self._busy:
            self._backlog += data
            return
        for index, byte in enumerate(data):
            if self._busy or not self._powered:
                if self._busy:
                    self._backlog += data[index:]
                return
            if self._pdu_entry is not None:
                self._pdu_byte(byte)
            else:
                self._command_byte(byte)

    def _echo(self, byte: int) -> None:
        if self._settings.echo:
            self._send_raw(bytes([byte]))

    def _command_byte(self, byte: int) -> None:
        if byte == ESC:
            self._line.clear()
            return
        self._echo(byte)
        if byte == CR:
            raw, self._line = bytes(self._line), bytearray()
            self._execute(raw.decode("latin-1").strip())
        elif byte != LF and len(self._line) < 1024:
            self._line.append(byte)

    def _pdu_byte(self, byte: int) -> None:
        assert self._pdu_entry is not None
        if byte == ESC:
            self._pdu_entry = None
            self._ok()
            return
        self._echo(byte)
        if byte == CTRL_Z:
            length, hex_text = self._pdu_entry
            self._pdu_entry = None
            self._submit(length, hex_text.decode("latin-1").strip())
        elif byte not in (CR, LF):
            self._pdu_entry[1].append(byte)

    def _resume(self) -> None:
        self._busy = False
        backlog, self._backlog = bytes(self._backlog), bytearray()
        if backlog:
            self._input(backlog)

    def _execute(self, line: str) -> None:
        start = line.upper().find("AT")
        if start < 0:
            return
        line = line[start:]
        with self.lock:
            self.commands.append(line)
        body = line[2:]
        upper = body.upper()
        self._maybe_garbage()
        for prefix, reply in self._overrides.items():
            if upper.startswith(prefix):
                return self._lines(*reply)
        if upper == "":
            return self._ok()
        if self.profile.pin_first and self.sim_state != "READY" and not upper.startswith("+CPIN"):
            return self._lines("+CME ERROR: 11")  # whatever CMEE says: this dialect refuses it all
        if upper in ("E0", "E1"):
            self._settings.echo = upper == "E1"
            return self._ok()
        if upper in ("I", "+GMI", "+CGMI", "+GMM", "+CGMM", "+CGMR", "+GSN", "+CGSN", "+CIMI", "+CCID"):
            return self._identify(upper)
        handler = getattr(self, "_cmd_" + _handler_name(upper), None)
        if handler is None:
            if upper.startswith(("+CTZU", "+CLTS", "+QURCCFG", "^CURC", "&W", "+CSCS", "+CSMS", "V1", "Q0")):
                return self._ok()
            return self._error()
        handler(body[len(_command_name(upper)):])

    def _identify(self, upper: str) -> None:
        answers = {
            "I": [self.profile.manufacturer, self.profile.model, self.profile.revision],
            "+GMI": [self.profile.manufacturer], "+CGMI": [self.profile.manufacturer],
            "+GMM": [self.profile.model], "+CGMM": [self.profile.model],
            "+CGMR": [self.profile.revision], "+GSN": ["867000000000001"], "+CGSN": ["867000000000001"],
            "+CIMI": ["440100000000001"], "+CCID": ["8981100000000000001"],
        }[upper]
        if upper == "+CIMI" and self.sim_state != "READY":
            return self._cme(11)
        self._lines(*answers)
        self._ok()

    def _sim_blocks(self, sms: bool) -> bool:
        """Answer with the SIM's complaint if it is not ready; True if it blocked the command."""
        if self.sim_state == "READY":
            return False
        code = {"SIM PIN": (11, 311), "SIM PUK": (12, 316)}.get(self.sim_state, (10, 310))
        (self._cms if sms else self._cme)(code[1] if sms else code[0])
        return True

    def _cmd_CMEE(self, args: str) -> None:
        if args.startswith("="):
            self._settings.cmee = int(args[1:] or 0)
            return self._ok()
        self._lines(f"+CMEE: {self._settings.cmee}")
        self._ok()

    def _cmd_CPIN(self, args: str) -> None:
        if args == "?":
            if self.sim_state == "NOT INSERTED":
                return self._cme(10)
            self._lines(f"+CPIN: {self._cpin_word()}")
            return self._ok()
        if not args.startswith("="):
            return self._error()
        pin = args[1:].split(",")[0].strip().strip('"')
        with self.lock:
            self.pin_attempts.append(pin)
        if self.sim_state != "SIM PIN":
            return self._cme(3)
        if pin == self.sim_pin:
            self.sim_state = "READY"
            self._ok()
            self._after(0.0, lambda: self._urc("+CPIN: READY"))
            return None
        self.pin_tries_left -= 1
        if self.pin_tries_left <= 0:
            self.sim_state = "SIM PUK"
        return self._cme(16)

    def _cmd_CMGF(self, args: str) -> None:
        if args == "?":
            self._lines(f"+CMGF: {self._settings.cmgf}")
            return self._ok()
        self._settings.cmgf = int(args.lstrip("=") or 0)
        self._ok()

    def _cmd_CPMS(self, args: str) -> None:
        if self._sim_blocks(sms=True):
            return None
        stores = self.profile.storages
        if args == "=?":
            group = "(" + ",".join(f'"{s}"' for s in stores) + ")"
            self._lines(f"+CPMS: {self.profile.cpms_options or ','.join([group] * 3)}")
            return self._ok()
        used, total = len(self._storage), self.storage_size
        if args == "?":
            memory = self._settings.memory
            self._lines(f'+CPMS: "{memory}",{used},{total},"{memory}",{used},{total},"{memory}",{used},{total}')
            return self._ok()
        names = [name.strip().strip('"') for name in args.lstrip("=").split(",")]
        if not names or any(name not in stores + ("SR",) for name in names):  # SR: status reports
            return self._cms(302)
        if self.profile.cpms_options and len(names) > len(re.findall(r"\([^()]*\)", self.profile.cpms_options)):
            return self._cms(302)  # more memories than the modem has lists for
        self._settings.memory = names[0]
        self._lines(f"+CPMS: {used},{total},{used},{total},{used},{total}")
        self._ok()

    def _cmd_CNMI(self, args: str) -> None:
        if args == "?":
            self._lines("+CNMI: " + ",".join(map(str, self._settings.cnmi)))
            return self._ok()
        values = args.lstrip("=")
        if values in self.reject_cnmi:
            return self._cms(303)
        try:
            numbers = tuple(int(v) for v in values.split(","))
        except ValueError:
            return self._error()
        self._settings.cnmi = numbers + (0,) * (5 - len(numbers))
        self._ok()

    def _registration_cmd(self, name: str, args: str, attr: str, stat: int) -> None:
        if args == "?":
            self._lines(f"+{name}: {getattr(self._settings, attr)},{stat}")
            return self._ok()
        if args.startswith("="):
            setattr(self._settings, attr, int(args[1:] or 0))
            return self._ok()
        return self._error()

    def _cmd_CREG(self, args: str) -> None:
        stat = 0 if self.profile.lte_only else self.registration
        self._registration_cmd("CREG", args, "creg_n", stat)

    def _cmd_CEREG(self, args: str) -> None:
        if not self.profile.has_cereg:
            return self._error()
        self._registration_cmd("CEREG", args, "cereg_n", self.registration)

    def _cmd_CGREG(self, args: str) -> None:
        if args == "?":
            self._lines(f"+CGREG: 0,{self.registration}")
            return self._ok()
        self._ok()

    def _cmd_CSQ(self, args: str) -> None:
        self._lines(f"+CSQ: {self.rssi},99")
        self._ok()

    def _cmd_COPS(self, args: str) -> None:
        if args != "?":
            return self._ok()
        if self.sim_state != "READY" or self.registration not in REGISTERED:
            self._lines("+COPS: 0")
        else:
            act = 7 if self.profile.lte_only else 0
            self._lines(f'+COPS: 0,0,"{self.operator}",{act}')
        self._ok()

    def _cmd_CCLK(self, args: str) -> None:
        if args != "?":
            return self._ok()
        if self.network_time is None or self.registration not in REGISTERED:
            text = self.profile.default_clock
        else:
            now = self.network_time + timedelta(seconds=self.now() - self._started_at)
            offset = now.utcoffset() or timedelta(0)
            quarters = int(offset.total_seconds()) // 900
            text = now.strftime("%y/%m/%d,%H:%M:%S") + f"{quarters:+03d}"
        self._lines(f'+CCLK: "{text}"')
        self._ok()

    def _cmd_CFUN(self, args: str) -> None:
        if args == "?":
            self._lines("+CFUN: 1")
            return self._ok()
        self._ok()
        if args.replace(" ", "") in ("=1,1", "=1,1,0"):
            self._after(0.0, lambda: self._power_cycle(0.05))
        return None

    def _cmd_CSCA(self, args: str) -> None:
        if args == "?":
            self._lines('+CSCA: "+819012345678",145')
        self._ok()

    def _cmd_CMGS(self, args: str) -> None:
        if self._sim_blocks(sms=True):
            return None
        if self._settings.cmgf != 0:
            return self._cms(303)
        try:
            length = int(args.lstrip("="))
        except ValueError:
            return self._cms(304)
        self._pdu_entry = (length, bytearray())
        self._send_raw(b"\r\n> ")
        if self.urc_noise:
            self._maybe_noise()
        return None

    def _submit(self, length: int, hex_text: str) -> None:
        try:
            sca_octets = int(hex_text[:2], 16) + 1
            if len(hex_text) // 2 - sca_octets != length:
                raise PduError(f"AT+CMGS={length} but the TPDU has {len(hex_text) // 2 - sca_octets} octets")
            submit = decode_submit(hex_text)
        except (PduError, ValueError) as exc:
            log.info("emulator rejects PDU %s: %s", hex_text, exc)
            return self._cms(304)
        fault = self._faults_to.get(submit.recipient) or (self._faults.pop(0) if self._faults else None)
        if fault is not None:
            return (self._cms if fault.kind == "CMS" else self._cme)(fault.code)
        if self.registration not in REGISTERED:
            return self._cms(331)
        self._mr = (self._mr + 1) % 256
        mr = self._mr
        self._deliver(submit)
        if submit.status_report_request and self.delivery_reports:
            self._after(self.report_delay, lambda: self._status_report(submit.recipient, mr))
        if self._swallow:
            self._swallow -= 1
            return None

        def answer() -> None:
            if not self._powered:
                return
            self._maybe_noise()
            self._lines(f"+CMGS: {mr}")
            self._maybe_noise()
            self._ok()
            self._resume()

        if self.cmgs_delay:
            self._busy = True
            self._after(self.cmgs_delay, answer)
        else:
            answer()
        return None

    def _deliver(self, submit: Submit) -> None:
        with self.lock:
            self.submits.append(submit)
            concat = submit.concat
            if concat is None or concat.total == 1:
                self.delivered.append((submit.recipient, submit.text))
                return
            key = (submit.recipient, concat.ref, concat.total)
            parts = self._concat.setdefault(key, {})
            parts[concat.seq] = submit.text
            if len(parts) == concat.total:
                del self._concat[key]
                joined = "".join(parts[i] for i in range(1, concat.total + 1))
                self.delivered.append((submit.recipient, joined.encode("utf-16-be", "surrogatepass")
                                       .decode("utf-16-be", "surrogatepass")))

    def _status_report(self, recipient: str, mr: int) -> None:
        if not self._powered:
            return
        now = datetime.now(timezone.utc)
        pdu = encode_status_report(recipient, mr, self.report_status, timestamp=now, discharge_time=now)
        if self._settings.cnmi[3] == 1:
            self._send_raw(f"\r\n+CDS: {len(pdu) // 2 - 1}\r\n{pdu}\r\n".encode("ascii"))
        elif self._settings.cnmi[3] == 2:
            index = self._store(pdu)
            if index is not None:
                self._urc(f'+CDSI: "SR",{index}')

    def _store(self, pdu: str) -> int | None:
        for index in range(1, self.storage_size + 1):
            if index not in self._storage:
                self._storage[index] = _Stored(0, pdu)
                if len(self._storage) == self.storage_size and self.profile.full_urc:
                    self._after(0.0, lambda: self._urc(self.profile.full_urc or ""))
                return index
        return None

    def _receive(self, pdu: str, direct: bool) -> None:
        tpdu_octets = _tpdu_length(pdu)
        if direct or self._settings.cnmi[1] == 2:
            self._urc(f"+CMT: ,{tpdu_octets}\r\n{pdu}")
            return
        index = self._store(pdu)
        if index is None:
            log.warning("emulated SIM storage full: inbound SMS dropped")
            return
        if self._settings.cnmi[1] in (1, 3):
            self._urc(f'+CMTI: "{self._settings.memory}",{index}')

    def _cmd_CMGR(self, args: str) -> None:
        if self._sim_blocks(sms=True):
            return None
        try:
            index = int(args.lstrip("="))
        except ValueError:
            return self._cms(321)
        stored = self._storage.get(index)
        if stored is None:
            return self._cms(321)
        self._lines(f"+CMGR: {stored.stat},,{_tpdu_length(stored.pdu)}")
        self._send_raw(stored.pdu.encode("ascii") + b"\r\n")
        stored.stat = 1
        self._maybe_noise()
        self._ok()
        return None

    def _cmd_CMGL(self, args: str) -> None:
        if self._sim_blocks(sms=True):
            return None
        if not self.profile.cmgl:
            return self._error()
        wanted = args.lstrip("=").strip() or "0"
        for index, stored in sorted(self._storage.items()):
            if wanted == "4" or str(stored.stat) == wanted:
                self._lines(f"+CMGL: {index},{stored.stat},,{_tpdu_length(stored.pdu)}")
                self._send_raw(stored.pdu.encode("ascii") + b"\r\n")
                stored.stat = 1
        self._ok()
        return None

    def _cmd_CMGD(self, args: str) -> None:
        if self._sim_blocks(sms=True):
            return None
        fields = args.lstrip("=").split(",")
        try:
            index = int(fields[0])
            flag = int(fields[1]) if len(fields) > 1 else 0
        except ValueError:
            return self._cms(321)
        if flag == 4:
            self._storage.clear()
        elif flag == 0:
            self._storage.pop(index, None)
        self._ok()
        return None


def _command_name(upper: str) -> str:
    """``+CMGS=23`` -> ``+CMGS``."""
    for index, char in enumerate(upper):
        if char in "=?" and index:
            return upper[:index]
    return upper


def _handler_name(upper: str) -> str:
    return _command_name(upper).lstrip("+^").replace("&", "AMP")


def _tpdu_length(pdu: str) -> int:
    try:
        return len(pdu) // 2 - 1 - int(pdu[:2], 16)
    except ValueError:
        return len(pdu) // 2
