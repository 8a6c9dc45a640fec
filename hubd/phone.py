"""Phone numbers in one form: international (``+`` country code, number; E.164).

Office numbers may be written in national form (``0312345678``) in the config and arrive
in either form from the network; comparing strings would let an alphanumeric sender ID
that *spells* a national number pass as the office. Every number is therefore turned into
the international form once, with the configured country code, and only that is compared.

Digits are ASCII only: the patterns use ``[0-9]``, never ``\\d`` or ``str.isdigit`` (which
accept ``²``, ``١``, full-width digits), and nothing here calls ``int()``.
"""

from __future__ import annotations

import re

COUNTRY_CODE_PATTERN = r"[1-9][0-9]{0,2}"
# E.164: at most 15 digits; no real number (country code included) is shorter than 7
INTERNATIONAL_PATTERN = r"\+[1-9][0-9]{6,14}"
_INTERNATIONAL = re.compile(INTERNATIONAL_PATTERN)
_NATIONAL = re.compile(r"0[1-9][0-9]*")
FORM_RULE = ("must be an international number (+, country code, number: 7 to 15 digits) "
             "or a national one starting with a single 0")


def international(number: str, country_code: str) -> str:
    """A configured number in international form; ValueError (with the rule) if it is not a number."""
    if _NATIONAL.fullmatch(number):
        candidate = f"+{country_code}{number[1:]}"
    else:
        candidate = number
    if not _INTERNATIONAL.fullmatch(candidate):
        raise ValueError(FORM_RULE if candidate == number else f"{FORM_RULE} (as +{country_code}…: {candidate})")
    return candidate


def sender_international(sender: str, numeric: bool, country_code: str) -> str | None:
    """The sender of an inbound SMS in international form, or None if it can never be a number.

    ``numeric`` says the network gave it an international or national type of address: an
    alphanumeric sender ID is never a number, whatever characters it holds. A national
    sender may come with the trunk 0 (``0312345678``) or without it (``312345678``, the
    national significant number): both mean ``+81312345678`` with country code 81.
    """
    if not numeric or not sender:
        return None
    if sender.startswith("+"):
        candidate = sender
    elif sender.startswith("0"):
        candidate = f"+{country_code}{sender[1:]}"
    else:
        candidate = f"+{country_code}{sender}"
    return candidate if _INTERNATIONAL.fullmatch(candidate) else None
