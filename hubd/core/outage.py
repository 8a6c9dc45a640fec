"""What a restart knows of the time the hub was down, and what it must fix once the time is known.

Stored monotonic times are mapped onto a new boot across the outage, and only wall time
measures an outage across a reboot. A Pi has no RTC: after a power cut without network it
boots near the time of the cut, so its wall clock says the outage was short. Until the clock
is synchronised the outage is *unknown*: the hub bridges it with a lower bound (the wall
difference if both ends were trusted, else 0) and remembers exactly which times it restored,
so that when the clock is set it can move just those back by what the bound missed. Times of
this boot (events, alerts raised since) are measured on the monotonic clock and stay.

Pure: no clock reads, no I/O.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable


class Rebase:
    """``stored mono -> this boot's mono`` by a fixed shift; remembers every time it produced."""

    def __init__(self, shift: float = 0.0):
        self.shift = shift
        self.produced: set[float] = set()

    def __call__(self, mono: float) -> float:
        value = float(mono) + self.shift
        self.produced.add(value)
        return value


@dataclass
class PendingOutage:
    """A reboot's outage not measured yet: the stored times were bridged with ``lower_bound``."""

    saved_local: float  # the wall time of the last save (trusted: the clock was synchronised then)
    restore_mono: float
    lower_bound: float
    restored: list[float] = field(default_factory=list)  # the times restored with the bound
    reported: bool = False  # the office was told "outage unknown": a follow-up gives the figure
    heartbeat: float | None = None  # the next heartbeat as restored (on the unset clock's wall time)


@dataclass
class UnknownWall:
    """The wall clock is not synchronised: its stamps are off by an unknown, constant amount."""

    stale_offset: float  # local - mono of this boot's unsynchronised clock
    since_mono: float  # wall stamps from here on are stale
    outage: PendingOutage | None = None

    def jump(self, mono: float, local: float) -> float:
        """How far the wall clock moved when it was set: stale stamps are this much behind."""
        return (local - mono) - self.stale_offset

    def state(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "UnknownWall":
        outage = state.get("outage")
        return cls(float(state["stale_offset"]), float(state["since_mono"]),
                   None if outage is None else PendingOutage(**outage))


@dataclass
class Bridge:
    """How a snapshot's times reach this boot."""

    rebase: Rebase
    outage: float | None  # None: unknown (the wall clock was not trusted at one end)
    lower_bound: float  # what the stored times were bridged with
    same_boot: bool
    measurable: bool  # the save's wall time was trusted: setting the clock will measure the outage


def bridge(snap: dict[str, Any], mono: float, local: float, boot_id: str, synced: bool) -> Bridge:
    """Same boot: the monotonic clock ran on and measures the outage exactly. A new boot: wall
    time, trusted only if it was synchronised both when saved and now; otherwise the bound is
    the wall difference if the save was trusted (an unset clock lags, it does not run ahead),
    else 0.
    """
    saved_mono = float(snap.get("saved_mono", mono))
    if boot_id and boot_id == snap.get("boot_id"):
        down = max(0.0, mono - saved_mono)
        return Bridge(Rebase(), down, down, True, True)
    saved_known = bool((snap.get("clock") or {}).get("known", True))  # older snapshots did not say
    wall = max(0.0, local - float(snap.get("saved_local", local)))
    bound = wall if saved_known else 0.0
    return Bridge(Rebase(mono - bound - saved_mono), wall if synced and saved_known else None, bound, False,
                  saved_known and "saved_local" in snap)


def corrector(restored: list[float], missed: float) -> Callable[[float], float]:
    """Move the restored times ``missed`` seconds back; leave this boot's own times alone."""
    moved = set(restored)
    return lambda mono: mono - missed if mono in moved else mono
