"""One injected clock for the whole hub.

Durations come only from ``monotonic()``: a Pi has no RTC and its wall clock jumps
at NTP sync. ``local()`` is the local wall time as epoch-like seconds (time of day
is ``local() % 86400``); it is used for time-of-day questions only.
Tests never sleep: they advance a :class:`FakeClock`.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import os
import time
from abc import ABC, abstractmethod

DAY = 86400.0
SYNC_FLAG = "/run/systemd/timesync/synchronized"


def system_local_seconds(epoch: float) -> float:
    """Local wall seconds for a UTC epoch, honouring the zone's offset at that moment."""
    return epoch + time.localtime(epoch).tm_gmtoff


class Clock(ABC):
    @abstractmethod
    def monotonic(self) -> float:
        """Seconds on a clock that never jumps."""

    @abstractmethod
    def local(self) -> float:
        """Local wall time as seconds since 1970-01-01T00:00 local."""

    def synced(self) -> bool:
        """Whether the wall clock is trustworthy (NTP or modem time)."""
        return True

    @abstractmethod
    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""

    async def sleep_until(self, mono_deadline: float) -> None:
        await self.sleep(max(0.0, mono_deadline - self.monotonic()))


class SystemClock(Clock):
    """The real clock. ``synced`` follows systemd-timesyncd's flag file; without network time,
    a time offered by the modem (``AT+CCLK?`` network time) sets the wall clock for the hub."""

    def __init__(self, sync_flag: str = SYNC_FLAG, wall=time.time):
        self._sync_flag = sync_flag
        self._wall = wall
        self._modem_offset: float | None = None  # modem UTC - system UTC, once offered

    def monotonic(self) -> float:
        return time.monotonic()

    def _ntp(self) -> bool:
        return os.path.exists(self._sync_flag)

    def local(self) -> float:
        now = self._wall()
        if self._modem_offset is not None and not self._ntp():  # NTP, once there, has set the system clock
            now += self._modem_offset
        return system_local_seconds(now)

    def synced(self) -> bool:
        return self._modem_offset is not None or self._ntp()

    def offer_time(self, utc_epoch: float) -> None:
        """Accept an external UTC time (the modem's network time) while the system clock is unsynced."""
        if not self._ntp():
            self._modem_offset = float(utc_epoch) - self._wall()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ScaledClock(Clock):
    """Real time sped up by ``speed``: the simulator's accelerated day."""

    def __init__(self, speed: float, start_local: float, base=time.monotonic, start_mono: float = 0.0):
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._base = base
        self._t0 = base()
        self._start_local = start_local
        self._start_mono = start_mono

    def monotonic(self) -> float:
        return self._start_mono + (self._base() - self._t0) * self.speed

    def local(self) -> float:
        return self._start_local + (self.monotonic() - self._start_mono)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)

    def set_speed(self, speed: float) -> None:
        """Run at ``speed`` from now on; time stays continuous (the interactive simulator)."""
        if speed <= 0:
            raise ValueError("speed must be positive")
        mono, local = self.monotonic(), self.local()
        self._t0, self._start_mono, self._start_local, self.speed = self._base(), mono, local, float(speed)


class FakeClock(Clock):
    """A clock that moves only when told; sleepers wake as time is advanced past them."""

    def __init__(self, mono: float = 1000.0, local: float = 1_700_000_000.0, synced: bool = True):
        self._mono = float(mono)
        self._local_offset = float(local) - float(mono)
        self._synced = synced
        self._sleepers: list[tuple[float, int, asyncio.Future]] = []
        self._seq = itertools.count()

    def monotonic(self) -> float:
        return self._mono

    def local(self) -> float:
        return self._mono + self._local_offset

    def synced(self) -> bool:
        return self._synced

    def jump_wall(self, seconds: float, synced: bool | None = None) -> None:
        """Move only the wall clock, as NTP or a user does; durations are unaffected."""
        self._local_offset += seconds
        if synced is not None:
            self._synced = synced

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a monotonic clock cannot go back")
        self._mono += seconds
        while self._sleepers and self._sleepers[0][0] <= self._mono:
            _, _, fut = heapq.heappop(self._sleepers)
            if not fut.done():
                fut.set_result(None)

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._mono + seconds, next(self._seq), fut))
        await fut

    def next_wake(self) -> float | None:
        """The earliest monotonic time something still sleeps until (None: nothing sleeps):
        where a harness may move time to without jumping over anyone's deadline."""
        return min((deadline for deadline, _, fut in self._sleepers if not fut.done()), default=None)
