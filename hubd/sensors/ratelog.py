"""A log that says each kind of problem once, then at most once per interval, counting the rest.

A sensor that fails every poll, or a meter that sends garbage every second, must not fill
the SD card with one line per reading.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any


class RateLimitedLog:
    """Logs the first message of each key, then at most one per ``interval_s``, counting the rest."""

    def __init__(self, logger: logging.Logger, interval_s: float):
        self.logger = logger
        self.interval_s = interval_s
        self._last: dict[Any, float] = {}
        self._suppressed: Counter = Counter()

    def log(self, now: float, key: Any, level: int, message: str) -> bool:
        last = self._last.get(key)
        if last is not None and now - last < self.interval_s:
            self._suppressed[key] += 1
            return False
        suppressed = self._suppressed.pop(key, 0)
        if suppressed:
            message += f" ({suppressed} similar message{'s' if suppressed > 1 else ''} suppressed)"
        self._last[key] = now
        self.logger.log(level, message)
        return True
