"""Text pictures of the learned rhythm for ``hubctl profile`` (80 columns, plain ASCII).

Two views a technician can read at a glance: when would the hub raise an inactivity
alarm at each time of day (a bar chart of the learned thresholds), and what did the
last weeks look like (an actogram: one row per day, one column per half hour).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

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


def threshold_chart(thresholds_s: np.ndarray, rules: list[str], height: int = 6) -> list[str]:
    """Vertical bars, one column per slot: how many hours of silence the hub accepts then.

    Marks: ``#`` learned, ``c`` cold start, ``S`` capped by the safety net.
    """
    hours = np.asarray(thresholds_s, dtype=float) / 3600.0
    n = hours.size
    top = max(1.0, float(np.ceil(np.nanmax(hours)))) if n else 1.0
    lines = ["alarm after h of silence  (# learned, c cold start, S safety net)"]
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


def actogram(first_day: int, counts: np.ndarray, width: int = 80) -> list[str]:
    """One row per local day (oldest first), one column per slot; darker = more activity.

    `` `` none, ``.`` 1 event, ``:`` 2-3, ``+`` 4-9, ``#`` 10 or more.
    """
    counts = np.asarray(counts, dtype=float)
    if counts.size == 0:
        return ["actogram: no activity recorded yet"]
    n = counts.shape[1]
    lines = ["activity by day ( . 1  : 2-3  + 4-9  # 10+ events per slot)"]
    for i, row in enumerate(counts):
        day = _EPOCH + timedelta(days=first_day + i)
        label = day.strftime("%m-%d %a")[:9]
        cells = "".join(" " if c <= 0 else "." if c < 2 else ":" if c < 4 else "+" if c < 10 else "#" for c in row)
        lines.append(f"{label:9} {cells}"[:width])
    lines += _hour_axis(n, 10)
    return lines


def render(thresholds_s: np.ndarray, rules: list[str], first_day: int, counts: np.ndarray, learned_days: int,
           cold_start: bool, now_local: float | None = None) -> str:
    """The whole ``hubctl profile`` text."""
    head = f"learned days: {learned_days}" + ("  (cold start: fixed thresholds until learned)" if cold_start else "")
    lines = [head, ""]
    lines += threshold_chart(thresholds_s, rules)
    lines += [""] + threshold_table(thresholds_s, rules) + [""]
    lines += actogram(first_day, counts)
    if now_local is not None and np.asarray(thresholds_s).size:
        n = len(thresholds_s)
        slot = int((now_local % 86400.0) // (86400.0 / n))
        lines += ["", f"now {int(now_local % 86400 // 3600):02d}:{int(now_local % 3600 // 60):02d}: alarm after "
                      f"{thresholds_s[slot] / 3600:.1f} h of silence ({rules[slot].replace('_', ' ')})"]
    return "\n".join(line.rstrip() for line in lines)
