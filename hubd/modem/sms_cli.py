"""Offline helpers behind ``hubctl sms encode`` and ``hubctl sms decode``.

Installers and the office use them to check what the hub would send and what a
modem printed, without a daemon or a modem. Errors are :class:`SmsCliError`
with a message fit to print as is (hubctl exits 2 on them).
"""

from __future__ import annotations

import json

from hubd.modem.pdu import PduError, decode, encode_submit

__all__ = ["SmsCliError", "encode_lines", "decode_json"]


class SmsCliError(ValueError):
    """Bad input for ``hubctl sms``: the message says what and why."""


def encode_lines(to: str, text: str, smsc: str | None = None, status_report: bool = False) -> list[str]:
    """One SMS-SUBMIT PDU in hex per part (SCA included, as ``AT+CMGS`` takes it after the prompt)."""
    if not text:
        raise SmsCliError("nothing to encode: the text is empty")
    try:
        return [part.pdu for part in encode_submit(to, text, smsc=smsc, status_report=status_report)]
    except ValueError as exc:
        raise SmsCliError(f"cannot encode an SMS to {to!r}: {exc}") from None


def decode_json(pdu: str) -> str:
    """The decoded fields of a PDU (DELIVER, SUBMIT or STATUS-REPORT, SCA first) as one JSON object."""
    text = "".join(pdu.split())
    try:
        message = decode(text)
    except PduError as exc:
        raise SmsCliError(f"cannot decode PDU: {exc}") from None
    return json.dumps(message.as_dict(), ensure_ascii=False)
