"""Text pictures of the learned rhythm for ``hubctl profile`` (80 columns).

Two views a technician can read at a glance: when would the hub raise an inactivity
alarm at each time of day (a bar chart of the learned thresholds), and what did the
last weeks look like (an actogram: one row per day, one column per half hour); then what
each appliance's use is worth as presence. The words go through ``say`` (an English
template to the reader's language: ``hubctl`` passes its Japanese), the pictures are ASCII.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable

import numpy as np

Say = Callable[[str], str]  # an English template -> the template in the reader's language


def english(template: str) -> str:
    return template

RULE_MARK = {"learned": "#", "cold_start": "c", "safety_net": "S"}
_EPOCH = datetime(1970, 1, 1)


def _hour_axis(n: int, width: int) -> list[str]:
    """A time-of-day axis under ``n`` columns that start at column ``width``."""
    per_hour = n / 24.0
    ticks = [" "] * n
    labels = [" "] * (n + 2)
    for h in range(0, 25, 4):
        col = int(round(h * per_hour))
        if col < n:
            ticks[col] = "|"
        for i, ch in enumerate(f"{h:02d}"):
            if col + i < len(labels):
                labels[col + i] = ch
    return [" " * (width - 1) + "+" + "".join(ticks), " " * width + "".join(labels).rstrip()]


def threshold_chart(thresholds_s: np.ndarray, rules: list[str], height: int = 6, say: Say = english) -> list[str]:
    """Vertical bars, one column per slot: how many hours of silence the hub accepts then.

    Marks: ``#`` learned, ``c`` cold start, ``S`` capped by the safety net.
    """
    hours = np.asarray(thresholds_s, dtype=float) / 3600.0
    n = hours.size
    top = max(1.0, float(np.ceil(np.nanmax(hours)))) if n else 1.0
    lines = [say("alarm after h of silence  (# learned, c cold start, S safety net)")]
    for row in range(height, 0, -1):
        level = top * row / height
        half = top * (row - 0.5) / height
        cells = []
        for h, rule in zip(hours, rules):
            mark = RULE_MARK.get(rule, "#")
            cells.append(mark if h >= level - 1e-9 else ("." if h >= half else " "))
        lines.append(f"{level:5.1f} " + "".join(cells))
    lines += _hour_axis(n, 6)
    return lines


def threshold_table(thresholds_s: np.ndarray, rules: list[str]) -> list[str]:
    """The same as numbers: one entry per hour (the longer of its slots), four per line."""
    hours = np.asarray(thresholds_s, dtype=float) / 3600.0
    per_hour = max(1, hours.size // 24)
    items = []
    for h in range(24):
        part = hours[h * per_hour:(h + 1) * per_hour]
        rule = rules[h * per_hour + int(np.argmax(part))]
        items.append(f"{h:02d}h {part.max():4.1f}{RULE_MARK.get(rule, '#')}")
    return ["  ".join(items[i:i + 6]) for i in range(0, 24, 6)]


def actogram(first_day: int, counts: np.ndarray, width: int = 80, say: Say = english) -> list[str]:
    """One row per local day (oldest first), one column per slot; darker = more activity.

    `` `` none, ``.`` 1 event, ``:`` 2-3, ``+`` 4-9, ``#`` 10 or more.
    """
    counts = np.asarray(counts, dtype=float)
    if counts.size == 0:
        return [say("actogram: no activity recorded yet")]
    n = counts.shape[1]
    lines = [say("activity by day ( . 1  : 2-3  + 4-9  # 10+ events per slot)")]
    for i, row in enumerate(counts):
        day = _EPOCH + timedelta(days=first_day + i)
        label = f"{day:%m-%d} {say(f'{day:%a}')}"
        cells = "".join(" " if c <= 0 else "." if c < 2 else ":" if c < 4 else "+" if c < 10 else "#" for c in row)
        lines.append(f"{label:{9 - _wide(label)}} {cells}"[:width])
    lines += _hour_axis(n, 10)
    return lines


def _wide(text: str) -> int:
    """How many of ``text``'s characters take two columns (a Japanese weekday does)."""
    return sum(1 for c in text if ord(c) > 0x2E7F)


def render(thresholds_s: np.ndarray, rules: list[str], first_day: int, counts: np.ndarray, learned_days: int,
           cold_start: bool, now_local: float | None = None, appliances: list[dict[str, Any]] = (),
           say: Say = english) -> str:
    """The whole ``hubctl profile`` text."""
    head = say("learned days: {n}").format(n=learned_days) + (
        say("  (cold start: fixed thresholds until learned)") if cold_start else "")
    lines = [head, ""]
    lines += threshold_chart(thresholds_s, rules, say=say)
    lines += [""] + threshold_table(thresholds_s, rules) + [""]
    lines += actogram(first_day, counts, say=say)
    if now_local is not None and np.asarray(thresholds_s).size:
        n = len(thresholds_s)
        slot = int((now_local % 86400.0) // (86400.0 / n))
        lines += ["", say("now {hhmm}: alarm after {hours} h of silence ({rule})").format(
            hhmm=f"{int(now_local % 86400 // 3600):02d}:{int(now_local % 3600 // 60):02d}",
            hours=f"{thresholds_s[slot] / 3600:.1f}", rule=say(rules[slot].replace("_", " ")))]
    lines += appliance_lines(list(appliances), say)
    return "\n".join(line.rstrip() for line in lines)


def appliance_lines(appliances: list[dict[str, Any]], say: Say = english) -> list[str]:
    """One line per power sensor: what its use is worth as presence."""
    if not appliances:
        return []
    lines = ["", say("appliances (use counts as presence while its draw varies):")]
    for a in appliances:
        use = "-" if a["in_use_watts"] is None else f"{a['in_use_watts']:.0f} W"
        if a["cycles_by_itself"]:
            worth = say("cycles by itself: never counts")
        else:
            worth = say("counts, alone, for up to {hours} h").format(hours=f"{a['counts_for_hours']:.1f}") + (
                "" if a["sessions_learned"] else say(" (not learned)"))
        lines.append(say("  {sensor} standby {standby} W, in use {use}; {worth}").format(
            sensor=f"{a['sensor'][:16]:16}", standby=f"{a['standby_watts']:.0f}", use=use, worth=worth)[:80])
    return lines
