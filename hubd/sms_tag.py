"""The machine-readable tag at the end of every hub SMS: the contract between a hub and the
office desk (``docs/office.md``, "The tag").

A text reads ``hubd A-101: no activity for 2h05m. Alert 12. Reply ACK 12 #A-101.in12.345``:
the words are for a person, the last word is for the desk. Japanese texts carry it with no space
before the ``#`` (Japanese puts none between words, and a UCS-2 part holds only 70 characters). The tag names the flat, the message
type (a short code), the alert id where the text is about one, and the message's sequence number
among the texts this hub sent to that number. The desk reads only the tag, so a gap in the
sequence is a lost text and a number seen twice is a resend, never a second event.

Sequence numbers start at 1 for each number the hub texts. A hub whose store was reset starts
again at 1: the desk treats 1 as the start of a new sequence, not as a replay.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# message type -> code; the codes are the contract (types may grow, a code never changes meaning)
CODES = {
    "inactivity": "in",
    "not_returned": "nr",
    "stayed_in_place": "sp",
    "sensor_silent": "ss",
    "sensor_fault": "sf",
    "uplink_down": "ud",
    "uplink_degraded": "ug",
    "monitoring_paused_too_long": "mp",
    "hub_restarted": "hr",
    "hub_restarted_clock_unset": "hc",
    "hub_outage_measured": "ho",
    "store_reset": "sr",
    "store_replaced": "sx",
    "heartbeat": "hb",
    "status": "st",
    "test": "ts",
    "commission_test": "ct",
    "test_confirmed": "tc",
    "rhythm_drift": "rd",
}
RESOLVED_PREFIX = "r"  # an alert that ended: "r" + its type's code ("rin": inactivity resolved)
TYPES = {code: kind for kind, code in CODES.items()}
TYPES.update({RESOLVED_PREFIX + code: "resolved:" + kind for kind, code in CODES.items()})
RESOLVED_UNKNOWN = "rxx"  # an alert of a type without a code ended

FLAT = r"[A-Za-z0-9][A-Za-z0-9_\-]{0,15}"  # a flat id: hub.flat_id in the hub's config, a flat in the desk's
MAX_SEQ = 999_999_999
_TAG = re.compile(rf" ?#(?P<flat>{FLAT})\.(?P<code>[a-z]{{2,3}})(?P<alert>[0-9]{{0,9}})\.(?P<seq>[1-9][0-9]{{0,8}})\Z")


class TagError(ValueError):
    """A text that carries no well-formed tag (not from a hub, or damaged on its way)."""


@dataclass(frozen=True)
class Tag:
    flat: str
    kind: str  # a key of CODES, or "resolved:<type>"
    alert_id: int | None
    seq: int

    @property
    def code(self) -> str:
        return code_of(self.kind)

    def text(self, space: bool = True) -> str:
        """`` #A-101.in12.345``: appended to the human text, after a space unless ``space`` is False."""
        if not re.fullmatch(FLAT, self.flat):
            raise TagError(f"flat id {self.flat!r} cannot be tagged")
        if not 1 <= self.seq <= MAX_SEQ:
            raise TagError(f"sequence number {self.seq} outside 1..{MAX_SEQ}")
        if self.alert_id is not None and not 0 <= self.alert_id <= MAX_SEQ:
            raise TagError(f"alert id {self.alert_id} outside 0..{MAX_SEQ}")
        alert = "" if self.alert_id is None else str(self.alert_id)
        return f"{' ' * space}#{self.flat}.{self.code}{alert}.{self.seq}"


def code_of(kind: str) -> str:
    """The code of a message type; ``resolved:<type>`` is ``r`` + the type's code."""
    if kind.startswith("resolved:"):
        inner = CODES.get(kind.split(":", 1)[1])
        return RESOLVED_PREFIX + inner if inner else RESOLVED_UNKNOWN
    if kind == "resolved":
        return RESOLVED_UNKNOWN
    try:
        return CODES[kind]
    except KeyError:
        raise TagError(f"message type {kind!r} has no tag code") from None


def label(flat: str, kind: str, alert_id: int | None) -> Tag:
    """The tag of a text before its sequence number is known (the outbox gives it); TagError for
    a kind without a code."""
    code_of(kind)
    return Tag(flat, kind, alert_id, 0)


def tagged(text: str, tag: Tag) -> str:
    """``text`` with ``tag`` at its end; no space before it after Japanese (non-ASCII) text."""
    return text + tag.text(space=text.isascii())


def parse(text: str) -> tuple[str, Tag]:
    """(the human text, its tag) of a hub SMS; :class:`TagError` says why a text has none."""
    if not isinstance(text, str):
        raise TagError("not a text")
    found = _TAG.search(text)
    if found is None:
        raise TagError("no hub tag at the end of the text")
    code = found["code"]
    kind = TYPES.get(code) or ("resolved" if code == RESOLVED_UNKNOWN else None)
    if kind is None:
        raise TagError(f"unknown message code {code!r}")
    alert = int(found["alert"]) if found["alert"] else None
    return text[:found.start()], Tag(found["flat"], kind, alert, int(found["seq"]))
