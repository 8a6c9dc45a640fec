"""Turn a modem's byte stream into classified lines.

A modem mixes four things on one wire: the answer to the command we sent
(intermediate lines, then one final result code), the echo of what we typed,
the ``> `` prompt of ``AT+CMGS`` (which has no line end), and unsolicited
result codes (URCs: new SMS, registration changes, boot banners) that may
arrive at any moment, even inside an answer. The reader sorts every line into
one of these so a ``+CMTI`` in the middle of ``+CMGS`` is never lost nor taken
for the reply. Learned from ModemManager's serial parsers, written afresh.

Bad bytes never raise: lines are decoded with ``errors="replace"`` and
over-long garbage is cut into lines of its own.
"""

from __future__ import annotations

import enum
import re
from collections import deque
from dataclasses import dataclass
from typing import Iterable

from hubd.modem import errors

__all__ = [
    "LineKind",
    "Line",
    "FinalResult",
    "Pending",
    "LineReader",
    "parse_final",
    "classify",
    "reply_prefix",
    "split_fields",
    "is_registration_urc",
    "PROMPT",
]

PROMPT = b"> "
MAX_LINE = 4096

_PDU_AFTER_REPLY = frozenset({"+CMGR", "+CMGL"})
_PDU_AFTER_URC = frozenset({"+CMT", "+CDS"})
REGISTRATION_NAMES = frozenset({"+CREG", "+CGREG", "+CEREG", "+C5GREG"})

_HEX = re.compile(r"[0-9A-Fa-f]+")
_PREFIXED = re.compile(r"^([+^*#$%][A-Za-z0-9_]+)\s*:")
_COMMAND_PREFIX = re.compile(r"^AT([+^*#$%][A-Za-z0-9_]+)", re.IGNORECASE)
_ERROR_LINE = re.compile(r"^\+(CM[ES]) ERROR\s*:?\s*(.*)$", re.IGNORECASE)
_FINAL_WORDS = {
    "OK": True,
    "ERROR": False,
    "NO CARRIER": False,
    "COMMAND NOT SUPPORT": False,
    "NO DIALTONE": False,
    "BUSY": False,
    "NO ANSWER": False,
}
# Unprefixed lines that are always unsolicited (boot and power banners, calls).
_BANNERS = ("RDY", "SMS READY", "CALL READY", "RING", "NORMAL POWER DOWN", "POWERED DOWN")
_BANNER_PREFIXES = ("UNDER-VOLTAGE", "OVER-VOLTAGE")


class LineKind(str, enum.Enum):
    FINAL = "final"  # ends the pending command
    PROMPT = "prompt"  # "> ": AT+CMGS waits for the PDU
    ECHO = "echo"  # what we typed, coming back
    REPLY = "reply"  # intermediate response to the pending command
    URC = "urc"  # everything else: unsolicited


@dataclass(frozen=True)
class Line:
    """One classified line; ``pdu`` is the hex line that followed ``+CMGR``/``+CMGL``/``+CMT``/``+CDS``."""

    kind: LineKind
    text: str
    pdu: str | None = None

    @property
    def name(self) -> str:
        """``+CMTI`` for ``+CMTI: "SM",3``; the whole line, upper-cased, when it has no prefix."""
        match = _PREFIXED.match(self.text)
        return match.group(1).upper() if match else self.text.strip().upper()

    @property
    def value(self) -> str:
        """The part after ``NAME:`` (empty for lines without a prefix)."""
        match = _PREFIXED.match(self.text)
        return self.text[match.end():].strip() if match else ""

    @property
    def fields(self) -> list[str]:
        return split_fields(self.value)


@dataclass(frozen=True)
class FinalResult:
    """A final result code: ``kind`` is OK, ERROR, CMS, CME or the word itself (NO CARRIER …)."""

    ok: bool
    kind: str
    code: int | None = None
    text: str = ""

    def describe(self) -> str:
        return errors.describe(self.kind, self.code, self.text)


def parse_final(text: str) -> FinalResult | None:
    """The final result code in ``text``, or None if the line is not one."""
    stripped = text.strip()
    upper = stripped.upper()
    if upper in _FINAL_WORDS:
        return FinalResult(_FINAL_WORDS[upper], upper)
    match = _ERROR_LINE.match(stripped)
    if match:
        kind, detail = match.group(1).upper(), match.group(2).strip()
        return FinalResult(False, kind, errors.code_from_text(kind, detail), detail)
    return None


def _fields_with_quotes(value: str) -> list[tuple[str, bool]]:
    """Comma-separated fields; quotes protect commas.

    A closing quote a modem forgot is assumed where ``,"`` starts the next
    quoted field; otherwise an unclosed quote runs to the end.
    """
    fields: list[tuple[str, bool]] = []
    current: list[str] = []
    quoted = in_quotes = False
    for index, char in enumerate(value):
        if char == '"':
            in_quotes = not in_quotes
            quoted = True
        elif char == "," and (not in_quotes or value[index + 1 : index + 2] == '"'):
            in_quotes = False
            fields.append(("".join(current).strip(), quoted))
            current, quoted = [], False
        else:
            current.append(char)
    fields.append(("".join(current).strip(), quoted))
    return fields


def split_fields(value: str) -> list[str]:
    """``0,0,"NTT DOCOMO",7`` -> ['0', '0', 'NTT DOCOMO', '7']; tolerant of broken quotes."""
    if not value.strip():
        return []
    return [text for text, _ in _fields_with_quotes(value)]


def is_registration_urc(text: str) -> bool:
    """Tell ``+CREG: <stat>[,"lac","ci"…]`` (URC) from ``+CREG: <n>,<stat>…`` (reply to ``AT+CREG?``).

    The reply always has a bare number second; the URC has one field or a quoted
    area code second.
    """
    match = _PREFIXED.match(text)
    if not match or match.group(1).upper() not in REGISTRATION_NAMES:
        return False
    fields = _fields_with_quotes(text[match.end():])
    if len(fields) < 2:
        return True
    second, quoted = fields[1]
    return quoted or not second.isdigit()


def reply_prefix(command: str) -> str | None:
    """``AT+CSQ`` -> ``+CSQ``, ``AT+CMGS=23`` -> ``+CMGS``; None for ``ATI``, ``ATE0``."""
    match = _COMMAND_PREFIX.match(command.strip())
    return match.group(1).upper() if match else None


def _is_unsolicited_shape(text: str) -> bool:
    upper = text.strip().upper()
    return bool(_PREFIXED.match(text)) or upper in _BANNERS or upper.startswith(_BANNER_PREFIXES)


@dataclass(frozen=True)
class Pending:
    """The command awaiting its answer: which lines belong to it."""

    command: str
    prefix: str | None = None
    raw: bool = False  # unprefixed lines are the answer (ATI, AT+CGSN, AT+CIMI)

    @classmethod
    def for_command(cls, command: str, prefix: str | None = None, raw: bool = False) -> "Pending":
        return cls(command, prefix if prefix is not None else reply_prefix(command), raw)


def _same_as_sent(text: str, sent: Iterable[str]) -> bool:
    bare = text.strip().strip("\x1a\x1b").strip().upper()
    return bool(bare) and any(bare == candidate.strip().upper() for candidate in sent)


def classify(text: str, pending: Pending | None, sent: Iterable[str] = ()) -> LineKind:
    """Kind of one complete line (not the prompt) given the pending command and what was sent."""
    if parse_final(text) is not None:
        return LineKind.FINAL
    candidates = list(sent) + ([pending.command] if pending else [])
    if _same_as_sent(text, candidates):
        return LineKind.ECHO
    if pending is not None:
        match = _PREFIXED.match(text)
        name = match.group(1).upper() if match else None
        if name is not None and pending.prefix and name == pending.prefix.upper():
            if name in REGISTRATION_NAMES and is_registration_urc(text):
                return LineKind.URC
            return LineKind.REPLY
        if pending.raw and not _is_unsolicited_shape(text):
            return LineKind.REPLY
    return LineKind.URC


class LineReader:
    """Feed bytes, get :class:`Line` objects; holds a partial line between feeds.

    The owner tells it which command is pending (:attr:`pending`) and what it
    wrote (:meth:`sent`) so echoes and replies are recognised.
    """

    def __init__(self, max_line: int = MAX_LINE):
        self.max_line = max_line
        self.pending: Pending | None = None
        self._sent: deque[str] = deque(maxlen=8)
        self._partial = bytearray()
        self._held: Line | None = None  # a header waiting for its PDU line

    def sent(self, text: str) -> None:
        """Remember a command or PDU we wrote, to recognise its echo."""
        self._sent.append(text)

    def feed(self, data: bytes) -> list[Line]:
        out: list[Line] = []
        for byte in data:
            if byte in (0x0D, 0x0A):
                if self._partial:
                    self._complete(bytes(self._partial), out)
                    self._partial.clear()
                continue
            self._partial.append(byte)
            if self._partial == PROMPT:
                self._release_held(out)
                out.append(Line(LineKind.PROMPT, "> "))
                self._partial.clear()
            elif len(self._partial) >= self.max_line:
                self._complete(bytes(self._partial), out)
                self._partial.clear()
        return out

    def flush(self) -> list[Line]:
        """Give out a header still waiting for a PDU (e.g. when the command ended)."""
        out: list[Line] = []
        self._release_held(out)
        return out

    def reset(self) -> None:
        """Forget partial input (after re-opening the port)."""
        self._partial.clear()
        self._held = None

    def _release_held(self, out: list[Line]) -> None:
        if self._held is not None:
            out.append(self._held)
            self._held = None

    def _complete(self, raw: bytes, out: list[Line]) -> None:
        text = raw.decode("utf-8", errors="replace").strip()
        if not text:
            return
        if self._held is not None:
            # The line after the header is its PDU: hex, or a corrupt PDU the decoder will name.
            # Only what is plainly something else (a final result, a URC) is not taken.
            sent = list(self._sent) + ([self.pending.command] if self.pending else [])
            if _HEX.fullmatch(text) or (parse_final(text) is None and not _is_unsolicited_shape(text)
                                        and not _same_as_sent(text, sent)):
                held, self._held = self._held, None
                out.append(Line(held.kind, held.text, text))
                return
            self._release_held(out)
        kind = classify(text, self.pending, self._sent)
        line = Line(kind, text)
        name = line.name
        if (kind is LineKind.REPLY and name in _PDU_AFTER_REPLY) or (kind is LineKind.URC and name in _PDU_AFTER_URC):
            self._held = line
            return
        out.append(line)
