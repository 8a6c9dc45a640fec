"""Findings: the conditions a watcher reports, the words the detector, sensor health, the alert
policy, the modem service and the board share.

A watcher (the detector, sensor health, the board's own checks) reports the conditions that
hold right now; the alert policy turns a condition's start and end into episodes. ``RESIDENT``
findings are about the person, ``SYSTEM`` ones about the hub itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

RESIDENT = "resident"
SYSTEM = "system"


@dataclass(frozen=True)
class Finding:
    """A condition that holds now: ``type`` since ``since_mono``, past a limit of ``limit`` seconds."""

    type: str
    category: str
    since_mono: float
    limit: float
    key: str = ""
    detail: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def ident(self) -> tuple[str, str]:
        return (self.type, self.key)
