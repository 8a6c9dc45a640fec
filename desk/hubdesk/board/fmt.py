"""Times and numbers as the board shows them: short, in the office's time zone, and escaped.

Every value that reaches HTML goes through ``esc`` (hub texts, notes, reject texts and flat
names are untrusted).
"""

from __future__ import annotations

import html
from datetime import datetime, tzinfo
from urllib.parse import quote


def esc(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def flat_url(flat: str, tail: str = "") -> str:
    """``/flat/<id>``: the id percent-encoded, so no flat name can leave its path segment."""
    return "/flat/" + quote(flat, safe="") + tail


def when(ts: float | None, now: float, tz: tzinfo | None) -> str:
    """``12-07 17:35`` (this year) or ``2025-12-07 17:35``; ``—`` for never."""
    if ts is None:
        return "—"
    at = datetime.fromtimestamp(ts, tz)
    year = datetime.fromtimestamp(now, tz).year
    return at.strftime("%m-%d %H:%M" if at.year == year else "%Y-%m-%d %H:%M")


def zone_name(now: float, tz: tzinfo | None) -> str:
    """``JST``, ``UTC``: said under every page, so nobody wonders which clock the times are on."""
    at = datetime.fromtimestamp(now, tz) if tz is not None else datetime.fromtimestamp(now).astimezone()
    return at.strftime("%Z") or "local time"


def timezone_named(name: str) -> tzinfo | None:
    """The board's zone from config (``Asia/Tokyo``); '' is the desk process's own. ValueError if unknown."""
    if not name:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"board.timezone {name!r}: not a known time zone (e.g. 'Asia/Tokyo', 'UTC')") from None


def span(seconds: float) -> str:
    """A duration for a person: ``45s``, ``12m``, ``3h 05m``, ``4d 2h``."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def ago(ts: float | None, now: float) -> str:
    if ts is None:
        return "never"
    return "in the future" if ts > now + 60 else span(now - ts) + " ago"


def ranges(numbers: list[int]) -> str:
    """``3, 7–9, 12``: missed sequence numbers, compactly."""
    out: list[str] = []
    nums = sorted(set(numbers))
    i = 0
    while i < len(nums):
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        out.append(str(nums[i]) if i == j else f"{nums[i]}–{nums[j]}")
        i = j + 1
    return ", ".join(out)


STATE_WORDS = {"alarm": "Alarm", "silent": "Silent", "fault": "Fault", "ok": "OK"}


def state_word(state: str) -> str:
    return STATE_WORDS.get(state, state)


def type_words(kind: str) -> str:
    """``hub_silent`` -> ``hub silent``; ``resolved:inactivity`` -> ``inactivity resolved``."""
    if kind.startswith("resolved:"):
        return kind[len("resolved:"):].replace("_", " ") + " resolved"
    return kind.replace("_", " ")
