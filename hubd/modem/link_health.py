"""Why a direction of the uplink is failing, since when, and whether that has been said.

The sender and the inbound reader each keep one: sending failing is ``uplink_down``,
inbound failing is ``uplink_degraded``; both are raised once per episode.
"""

from __future__ import annotations


class LinkHealth:
    """Problems by reason (with a detail text), the time the first began, and what was reported."""

    def __init__(self) -> None:
        self.reasons: dict[str, str] = {}
        self.immediate: set[str] = set()
        self.since: float | None = None
        self.reported: frozenset[str] | None = None

    def problem(self, reason: str, detail: str, now: float, immediate: bool = False) -> None:
        if not self.reasons:
            self.since = now
        self.reasons[reason] = detail
        if immediate:
            self.immediate.add(reason)

    def clear(self, *reasons: str) -> None:
        for reason in reasons:
            self.reasons.pop(reason, None)
            self.immediate.discard(reason)
        if not self.reasons:
            self.since = None

    def due(self, down_after: float) -> float | None:
        """Monotonic time at which the condition must be raised (None: nothing to raise)."""
        if self.since is None:
            return None
        return self.since if self.immediate else self.since + down_after
