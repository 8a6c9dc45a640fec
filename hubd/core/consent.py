"""Who the resident agreed may hear about their rhythm: nobody unless a consent says so.

A drift report stays in the flat (``hubctl rhythm``, ``hubctl report``) by default. A consent
entry names one number (and who it is), what it may receive (every rhythm drift, or one kind),
when it was given and who recorded it; it is audited and can be revoked. The housing office's
alert recipients get nothing by being recipients: they need a consent like anyone else.
A consenting number gets at most one rhythm SMS per ``sms_interval_days``; a report due
sooner stays in the flat (it is still shown there).
"""

from __future__ import annotations

from typing import Any

from .drift import KINDS

ALL = "rhythm_drift"
SUBJECTS = (ALL,) + tuple(f"{ALL}:{k}" for k in KINDS)
DAY = 86400.0


class ConsentError(ValueError):
    """A consent that cannot be recorded or revoked, with the reason."""


class Consents:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.sent: dict[str, float] = {}  # number -> local time of its last rhythm SMS

    def add(self, number: str, name: str, subject: str, recorded_by: str, local: float) -> dict[str, Any]:
        if subject not in SUBJECTS:
            raise ConsentError(f"consent for {subject!r}: one of {', '.join(SUBJECTS)}")
        if not recorded_by.strip():
            raise ConsentError("a consent needs who recorded it")
        if any(e["number"] == number and e["subject"] == subject for e in self.active()):
            raise ConsentError(f"{number} already has consent for {subject}")
        entry = {"id": 1 + max((e["id"] for e in self.entries), default=0), "number": number, "name": name,
                 "subject": subject, "given_local": local, "recorded_by": recorded_by,
                 "revoked_local": None, "revoked_by": None}
        self.entries.append(entry)
        return entry

    def revoke(self, entry_id: int, by: str, local: float) -> dict[str, Any]:
        for e in self.entries:
            if e["id"] == entry_id and e["revoked_local"] is None:
                e["revoked_local"], e["revoked_by"] = local, by
                return e
        raise ConsentError(f"no consent {entry_id} in force")

    def active(self) -> list[dict[str, Any]]:
        return [e for e in self.entries if e["revoked_local"] is None]

    def recipients(self, kind: str, local: float, interval_days: float) -> list[str]:
        """Numbers that consented to this drift kind and had no rhythm SMS within the interval;
        the caller sends to each and calls :meth:`mark_sent`."""
        wanted = {ALL, f"{ALL}:{kind}"}
        numbers = dict.fromkeys(e["number"] for e in self.active() if e["subject"] in wanted)
        return [n for n in numbers if local - self.sent.get(n, float("-inf")) >= interval_days * DAY]

    def mark_sent(self, number: str, local: float) -> None:
        self.sent[number] = local

    def state(self) -> dict[str, Any]:
        return {"entries": [dict(e) for e in self.entries], "sent": dict(self.sent)}

    def load(self, state: dict[str, Any] | None) -> None:
        state = state or {}
        self.entries = [dict(e) for e in state.get("entries") or []]
        self.sent = {str(k): float(v) for k, v in (state.get("sent") or {}).items()}
