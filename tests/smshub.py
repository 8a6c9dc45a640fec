"""The SMS uplink on the pty modem emulator, for tests: one SmsService run as a task with
recording callbacks, millisecond timing, and bounded waits (never a sleep)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta, timezone

import pytest

from hubd.clock import SystemClock
from hubd.modem.service import SmsService, SmsTiming
from hubd.store import Store
from hubsim.modem import ModemEmulator

TO = "+819012345678"
OFFICE = "+819000000009"
STRANGER = "+819055555555"
JST = timezone(timedelta(hours=9))
FAST = SmsTiming(command_timeout=0.3, cmgs_timeout=0.4, settle=0.02, reconnect_interval=0.05, health_interval=30.0,
                 unregistered_poll=0.1, backoff_base=0.02, backoff_max=0.2, down_after=0.3, failures_before_reset=3,
                 sim_retry_interval=0.1)
JAPANESE = ("【見守り警報】山田花子様のお部屋で長い時間動きがありません。至急ご確認ください。"
            "東京都新宿区西新宿二丁目八番一号　都営住宅三〇一号室")


def japanese(length: int) -> str:
    text = (JAPANESE * 3)[:length]
    assert len(text) == length
    return text


def run(coro, timeout: float = 20.0):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def in_thread(call, *args):
    return await asyncio.to_thread(call, *args)


class Hub:
    """One SmsService with recording callbacks, run as a task."""

    def __init__(self, emu: ModemEmulator | None, state_dir: str, **options):
        self.store = Store(state_dir)
        self.conditions: list[tuple[tuple[str, str], object]] = []
        self.inbound: list[tuple[str, str]] = []
        self.numeric: list[tuple[str, bool]] = []  # (sender, numeric) as handed over
        self.offered: list[float] = []
        port = emu.port if emu is not None else "/nonexistent/ttyUSB2"
        options.setdefault("timing", FAST)
        options.setdefault("time_source", self.offered.append)
        self.service = SmsService(port, 115200, self.store, SystemClock(), **options)
        self.task: asyncio.Task | None = None

    def start(self) -> "Hub":
        self.task = asyncio.ensure_future(self.service.run(self._condition, self._inbound))
        return self

    def _condition(self, ident, finding) -> None:
        self.conditions.append((ident, finding))

    def _inbound(self, sender: str, text: str, numeric: bool) -> None:
        self.inbound.append((sender, text))
        self.numeric.append((sender, numeric))

    @property
    def down(self) -> bool:
        return bool(self.conditions) and self.conditions[-1][1] is not None

    async def until(self, predicate, timeout: float = 5.0, what: str = "condition") -> None:
        assert await self.service.wait_until(predicate, timeout), f"timed out waiting for {what}"

    async def ready(self) -> None:
        await self.until(lambda: self.service.modem.ready, what="modem ready")

    def state(self, message_id: int) -> str:
        return self.service.outbox.get(message_id).state

    async def sent(self, message_id: int, timeout: float = 5.0) -> None:
        await self.until(lambda: self.state(message_id) in ("sent", "delivered"), timeout, f"SMS {message_id} sent")

    async def stop(self) -> None:
        """Cancel once, as the daemon does; the uplink must stop promptly."""
        if self.task is not None:
            self.task.cancel()
            done, _ = await asyncio.wait({self.task}, timeout=2.0)
            assert self.task in done, "the uplink did not stop when cancelled"
            assert self.task.cancelled()
        self.store.close()


@contextlib.asynccontextmanager
async def hub_on(emu: ModemEmulator | None, state_dir, **options):
    hub = Hub(emu, str(state_dir), **options).start()
    try:
        yield hub
    finally:
        await hub.stop()


@pytest.fixture
def emulator():
    made: list[ModemEmulator] = []

    def build(profile: str = "sim800", **options) -> ModemEmulator:
        options.setdefault("seed", 7)
        made.append(ModemEmulator(profile, **options).start())
        return made[-1]
    yield build
    for emu in made:
        emu.stop()
