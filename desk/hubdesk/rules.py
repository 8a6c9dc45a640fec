"""What a hub's message or the passing of time means for a flat: pure decisions, no I/O.

:func:`on_message` takes a flat's state and one tagged text and returns a :class:`Decision`
(what to record, open, close); :func:`silence_due` says when a hub is overdue;
:func:`summarize` makes the board's one-line state. The database side applies decisions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from hubd.sms_tag import Tag

RESIDENT = frozenset({"inactivity", "not_returned", "stayed_in_place"})
# system alerts the hub later resolves: open on the desk until `resolved:<type>` arrives
FAULTS = frozenset({"sensor_silent", "sensor_fault", "uplink_down", "uplink_degraded", "monitoring_paused_too_long"})
# system notices: something happened and is over (no `resolved` follows)
NOTICES = frozenset({"hub_restarted", "hub_restarted_clock_unset", "hub_outage_measured", "store_reset",
                     "store_replaced"})
HUB_SILENT = "hub_silent"
MAX_STORED_GAP = 500  # missed numbers stored one by one; a larger jump is counted, not listed

URGENCY = {"alarm": 0, "silent": 1, "fault": 2, "ok": 3}


@dataclass(frozen=True)
class OpenAlert:
    ref: int
    type: str
    category: str  # 'resident' | 'system' | 'desk'
    hub_alert_id: int | None
    opened: float
    text: str = ""


@dataclass(frozen=True)
class FlatView:
    """What the rules need to know of a flat when one of its texts arrives."""
    flat: str
    phone: str
    open_alerts: tuple[OpenAlert, ...] = ()
    last_seq: dict[str, int] = field(default_factory=dict)  # receiving modem → highest seq seen
    missed: frozenset[tuple[str, int]] = frozenset()  # (receiving modem, seq) never received


@dataclass
class Decision:
    reject: str | None = None
    seq: tuple[str, int] | None = None  # new highest (recipient, seq)
    missed_new: tuple[int, ...] = ()  # numbers skipped, stored
    missed_uncounted: int = 0  # numbers skipped beyond MAX_STORED_GAP
    missed_filled: int | None = None  # a missed number that arrived late
    open_alert: tuple[str, str, int | None] | None = None  # (type, category, hub alert id)
    close_refs: tuple[int, ...] = ()
    heartbeat: bool = False
    status: str | None = None
    timeline: list[tuple[str, str]] = field(default_factory=list)  # (what, text)


def category_of(kind: str) -> str:
    if kind in RESIDENT:
        return "resident"
    if kind in FAULTS or kind in NOTICES:
        return "system"
    if kind.startswith("resolved"):
        return "resolved"
    return "report"


def on_message(view: FlatView, sender: str, recipient: str, human: str, tag: Tag) -> Decision:
    """The decision for one text whose tag names ``view.flat``."""
    if sender != view.phone:
        return Decision(reject=f"tag of flat {view.flat} from {sender or '(no number)'}, "
                               f"not from its hub {view.phone}")
    d = Decision()
    last = view.last_seq.get(recipient)
    if last is None or tag.seq > last:
        d.seq = (recipient, tag.seq)
        if last is not None:
            gap = tag.seq - last - 1
            d.missed_new = tuple(range(last + 1, last + 1 + min(gap, MAX_STORED_GAP)))
            d.missed_uncounted = max(0, gap - MAX_STORED_GAP)
            if gap:
                d.timeline.append(("gap", f"{gap} text(s) missing before number {tag.seq} (to {recipient})"))
    elif tag.seq == last:
        return Decision(reject=f"resend of text number {tag.seq} (counted once)")
    elif (recipient, tag.seq) in view.missed:
        d.missed_filled = tag.seq
    elif tag.seq == 1:
        # the hub started a new sequence (its store was reset), not a replay
        d.seq = (recipient, 1)
        d.timeline.append(("gap", f"hub restarted its numbering at 1 (was {last})"))
    else:
        return Decision(reject=f"replay of old text number {tag.seq} (highest seen {last})")

    d.timeline.append(("message", human))
    silent = [a for a in view.open_alerts if a.type == HUB_SILENT]
    if silent:
        d.close_refs += tuple(a.ref for a in silent)
        d.timeline.append(("silent", "hub heard from again: hub_silent over"))

    kind = tag.kind
    by_hub_id = {a.hub_alert_id: a for a in view.open_alerts if a.hub_alert_id is not None}
    if kind in RESIDENT or kind in FAULTS:
        if tag.alert_id is not None and tag.alert_id not in by_hub_id:
            d.open_alert = (kind, category_of(kind), tag.alert_id)
    elif kind.startswith("resolved"):
        ended = by_hub_id.get(tag.alert_id) if tag.alert_id is not None else None
        if ended is not None:
            d.close_refs += (ended.ref,)
            d.timeline.append(("resolved", f"alert {ended.ref} ({ended.type}) resolved by the hub"))
    elif kind == "heartbeat":
        d.heartbeat = True
    elif kind == "status":
        d.status = human
    return d


def silence_due(last_heard: float | None, registered: float, interval_s: float, grace_s: float) -> float:
    """When the flat's hub counts as silent: the last text heard from it (its heartbeat when
    all is well; its registration before the first) plus the heartbeat interval plus the grace."""
    base = last_heard if last_heard is not None else registered
    return base + interval_s + grace_s


def silent_text(flat: str, last_heartbeat: float | None, registered: float) -> str:
    if last_heartbeat is None:
        return f"desk {flat}: hub_silent, no heartbeat since registration {stamp(registered)}"
    return f"desk {flat}: hub_silent, no heartbeat since {stamp(last_heartbeat)}"


def stamp(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def summarize(open_alerts: list[OpenAlert], missed: int, missed_since: float | None) -> tuple[str, int, float | None, str]:
    """(state, urgency, since, headline) of a flat for the board's list."""
    resident = sorted((a for a in open_alerts if a.category == "resident"), key=lambda a: a.opened)
    silent = [a for a in open_alerts if a.type == HUB_SILENT]
    faults = sorted((a for a in open_alerts if a.category == "system"), key=lambda a: a.opened)
    if resident:
        a = resident[0]
        more = f" (+{len(resident) - 1} more)" if len(resident) > 1 else ""
        return "alarm", 0, a.opened, f"{a.type}: {a.text}{more}"
    if silent:
        return "silent", 1, silent[0].opened, silent[0].text
    if faults or missed:
        since_candidates = [a.opened for a in faults] + ([missed_since] if missed and missed_since else [])
        parts = [f"{a.type}: {a.text}" for a in faults[:1]]
        if missed:
            parts.append(f"{missed} text(s) missing")
        return "fault", 2, min(since_candidates) if since_candidates else None, "; ".join(parts)
    return "ok", 3, None, "all fine"
