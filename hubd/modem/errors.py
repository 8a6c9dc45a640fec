"""What a ``+CMS ERROR`` / ``+CME ERROR`` means for the message and the link.

The numbers come from 3GPP TS 27.005 §3.2.5 (CMS), TS 27.007 §9.2 (CME) and
TS 24.011/23.040 cause values, grouped as in the project's modem reference
(§8, after gammu's atgen.c). The grouping decides whether an alert is retried,
given up on (and the office told another way), or waits for the link to heal.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "ErrorClass",
    "RetryPolicy",
    "classify",
    "policy_for",
    "code_from_text",
    "describe",
]


class ErrorClass(str, enum.Enum):
    TRANSIENT = "transient"  # network busy, no service, collisions: back off and retry
    DESTINATION = "destination"  # the number cannot receive it: permanent
    PDU = "pdu"  # our PDU is wrong: a bug, permanent
    ALREADY_SENT = "already_sent"  # SMSC says duplicate: it went
    CONFIG = "config"  # SMSC unknown, operation not allowed: re-initialise once
    STORAGE = "storage"  # message storage full or index invalid
    SIM = "sim"  # SIM missing, locked or failed: nothing goes until fixed
    ME_FAILURE = "me_failure"  # the modem itself: re-initialise, then reset
    AMBIGUOUS = "ambiguous"  # CMS 500 "unknown error": retry a few times
    UNKNOWN = "unknown"  # plain ERROR or a code we do not know: like ambiguous


def _codes(*items: int | range) -> frozenset[int]:
    out: set[int] = set()
    for item in items:
        out.update(item if isinstance(item, range) else (item,))
    return frozenset(out)


# TP-FCS values (C0..D4) arrive as decimal numbers in +CMS ERROR.
_CMS_TRANSIENT = _codes(38, 41, 42, 47, 111, 0xC0, 0xC2, 0xD4, 301, 314, 331, 332, 512, 535, 615, 616, 27, 28)
_CMS_DESTINATION = _codes(1, 8, 10, 21, 29, 30, 50, 69, 0xC1, 0xC3, 0xC4, 0xC6, 0xC7)
_CMS_PDU = _codes(range(95, 100), 127, range(128, 160), 304, 305, range(514, 555))
_CMS_ALREADY_SENT = _codes(0xC5)
_CMS_CONFIG = _codes(302, 303, 330)
_CMS_STORAGE = _codes(0xD0, 0xD3, 321, 322)
_CMS_SIM = _codes(range(310, 314), range(315, 319))
_CMS_ME = _codes(300, 320)
_CMS_AMBIGUOUS = _codes(500)
_CMS_FEW_TIMES = _codes(27, 28)  # destination out of service / unidentified subscriber

_CME_TRANSIENT = _codes(14, 515, 30, 31, 32, 134, 100)
_CME_DESTINATION = _codes(132, 133)
_CME_PDU = _codes(24, 25, 26, 27)
_CME_CONFIG = _codes(3, 4)
_CME_STORAGE = _codes(20, 21, 22, 23)
_CME_SIM = _codes(range(10, 14), range(15, 19), range(40, 48))
_CME_ONCE = _codes(100)  # "unknown": one more try

_TABLES = {
    "CMS": (
        (_CMS_TRANSIENT, ErrorClass.TRANSIENT),  # before PDU: 512 and 535 sit inside 514..554's neighbourhood
        (_CMS_DESTINATION, ErrorClass.DESTINATION),
        (_CMS_ALREADY_SENT, ErrorClass.ALREADY_SENT),
        (_CMS_CONFIG, ErrorClass.CONFIG),
        (_CMS_STORAGE, ErrorClass.STORAGE),
        (_CMS_SIM, ErrorClass.SIM),
        (_CMS_ME, ErrorClass.ME_FAILURE),
        (_CMS_AMBIGUOUS, ErrorClass.AMBIGUOUS),
        (_CMS_PDU, ErrorClass.PDU),
    ),
    "CME": (
        (_CME_TRANSIENT, ErrorClass.TRANSIENT),
        (_CME_DESTINATION, ErrorClass.DESTINATION),
        (_CME_PDU, ErrorClass.PDU),
        (_CME_CONFIG, ErrorClass.CONFIG),
        (_CME_STORAGE, ErrorClass.STORAGE),
        (_CME_SIM, ErrorClass.SIM),
    ),
}

# Verbose error texts (AT+CMEE=2, or modems that ignore CMEE=1) mapped back to numbers.
_CME_TEXT = {
    "phone failure": 0,
    "no connection to phone": 1,
    "operation not allowed": 3,
    "operation not supported": 4,
    "ph-sim pin required": 5,
    "sim not inserted": 10,
    "sim pin required": 11,
    "sim puk required": 12,
    "sim failure": 13,
    "sim busy": 14,
    "sim wrong": 15,
    "incorrect password": 16,
    "sim pin2 required": 17,
    "sim puk2 required": 18,
    "memory full": 20,
    "invalid index": 21,
    "not found": 22,
    "memory failure": 23,
    "text string too long": 24,
    "invalid characters in text string": 25,
    "dial string too long": 26,
    "invalid characters in dial string": 27,
    "no network service": 30,
    "network timeout": 31,
    "network not allowed - emergency calls only": 32,
    "unknown": 100,
}
_CMS_TEXT = {
    "me failure": 300,
    "sms service of me reserved": 301,
    "operation not allowed": 302,
    "operation not supported": 303,
    "invalid pdu mode parameter": 304,
    "invalid text mode parameter": 305,
    "sim not inserted": 310,
    "sim pin required": 311,
    "ph-sim pin required": 312,
    "sim failure": 313,
    "sim busy": 314,
    "sim wrong": 315,
    "sim puk required": 316,
    "sim pin2 required": 317,
    "sim puk2 required": 318,
    "memory failure": 320,
    "invalid memory index": 321,
    "memory full": 322,
    "smsc address unknown": 330,
    "no network service": 331,
    "network timeout": 332,
    "no +cnma acknowledgement expected": 340,
    "unknown error": 500,
}

SIM_PIN_REQUIRED = {"CME": 11, "CMS": 311}
SIM_PUK_REQUIRED = {"CME": 12, "CMS": 316}
WRONG_PASSWORD = {"CME": 16}


def code_from_text(kind: str, text: str) -> int | None:
    """The number for ``+CMS ERROR: <text>``: digits as they are, known phrases mapped, else None."""
    value = text.strip().strip('"').strip()
    if value.isdigit():
        return int(value)
    table = _CMS_TEXT if kind == "CMS" else _CME_TEXT
    return table.get(value.lower())


def classify(kind: str, code: int | None) -> ErrorClass:
    """Class of a final error result. ``kind`` is CMS, CME, ERROR or another final word."""
    if kind == "NO CARRIER":
        return ErrorClass.TRANSIENT
    if kind == "COMMAND NOT SUPPORT":
        return ErrorClass.CONFIG
    if code is None or kind not in _TABLES:
        return ErrorClass.UNKNOWN
    for codes, error_class in _TABLES[kind]:
        if code in codes:
            return error_class
    return ErrorClass.UNKNOWN


@dataclass(frozen=True)
class RetryPolicy:
    """What the outbox does with a message after an error of this class.

    ``max_attempts`` bounds the attempts of one message (None: keep trying as
    long as the message waits; the link is reported down meanwhile).
    """

    error_class: ErrorClass
    retry: bool
    max_attempts: int | None = None
    fail_message: bool = False  # mark failed (at once, or when attempts run out) and raise uplink_down
    mark_sent: bool = False
    reinit: bool = False  # re-run the modem set-up before the next try
    link_problem: bool = False  # the office is unreachable for every message, not just this one
    wait_for_network: bool = False


_POLICIES = {
    ErrorClass.TRANSIENT: RetryPolicy(ErrorClass.TRANSIENT, retry=True, wait_for_network=True, link_problem=True),
    ErrorClass.DESTINATION: RetryPolicy(ErrorClass.DESTINATION, retry=False, fail_message=True),
    ErrorClass.PDU: RetryPolicy(ErrorClass.PDU, retry=False, fail_message=True),
    ErrorClass.ALREADY_SENT: RetryPolicy(ErrorClass.ALREADY_SENT, retry=False, mark_sent=True),
    ErrorClass.CONFIG: RetryPolicy(ErrorClass.CONFIG, retry=True, reinit=True, link_problem=True),
    ErrorClass.STORAGE: RetryPolicy(ErrorClass.STORAGE, retry=True, reinit=True, link_problem=True),
    ErrorClass.SIM: RetryPolicy(ErrorClass.SIM, retry=True, reinit=True, link_problem=True),
    ErrorClass.ME_FAILURE: RetryPolicy(ErrorClass.ME_FAILURE, retry=True, reinit=True, link_problem=True),
    ErrorClass.AMBIGUOUS: RetryPolicy(ErrorClass.AMBIGUOUS, retry=True, max_attempts=3, fail_message=True),
    ErrorClass.UNKNOWN: RetryPolicy(ErrorClass.UNKNOWN, retry=True, max_attempts=3, fail_message=True),
}


def policy_for(kind: str, code: int | None) -> RetryPolicy:
    """Retry policy for one error; a few codes are retried only a bounded number of times."""
    error_class = classify(kind, code)
    policy = _POLICIES[error_class]
    if kind == "CMS" and code in _CMS_FEW_TIMES:
        return RetryPolicy(error_class, retry=True, max_attempts=3, fail_message=True, wait_for_network=True)
    if kind == "CME" and code in _CME_ONCE:
        return RetryPolicy(error_class, retry=True, max_attempts=2, fail_message=True)
    return policy


def describe(kind: str, code: int | None, text: str = "") -> str:
    """``+CMS ERROR: 331 (transient)`` for logs and ``hubctl modem``."""
    label = kind if kind not in _TABLES else f"+{kind} ERROR"
    shown = text if code is None else str(code)
    head = f"{label}: {shown}" if shown else label
    return f"{head} ({classify(kind, code).value})"
