"""A running hub for control-socket tests: a Daemon on a FakeClock with simulated hardware,
a RecordingUplink and a real Store, serving a real unix socket from its own thread and loop.

Tests wait on conditions (threading.Condition) with bounded timeouts, never on sleeps.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from typing import Any, Callable

from hubd.control.server import ControlServer
from hubd.events import Kind
from hubd.sdnotify import Notifier
from hubd.seams import NoHardware

from fakes import RecordingUplink, build_hub

TIMEOUT = 10.0


class Waitable:
    """A list other threads append to, with a bounded wait for a condition on it."""

    def __init__(self) -> None:
        self.items: list = []
        self._cond = threading.Condition()

    def append(self, item: Any) -> None:
        with self._cond:
            self.items.append(item)
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[list], bool], timeout: float = TIMEOUT) -> list:
        with self._cond:
            if not self._cond.wait_for(lambda: predicate(self.items), timeout):
                raise AssertionError(f"condition not met within {timeout} s; have {self.items!r}")
            return list(self.items)


class Listeners(list):
    """``daemon.listeners`` that lets a test wait until a stream has subscribed."""

    def __init__(self, items=()):
        super().__init__(items)
        self._cond = threading.Condition()

    def append(self, item) -> None:
        with self._cond:
            super().append(item)
            self._cond.notify_all()

    def remove(self, item) -> None:
        with self._cond:
            super().remove(item)
            self._cond.notify_all()

    def wait_for_count(self, count: int, timeout: float = TIMEOUT) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self) == count, timeout):
                raise AssertionError(f"{len(self)} listeners, expected {count}")


class SimHardware(NoHardware):
    """NoHardware plus live readings, and every output pattern recorded for waiting on."""

    def __init__(self, readings: dict[str, Any] | None = None):
        super().__init__()
        self._readings = readings or {}
        self.shown = Waitable()
        self.serviced = Waitable()  # the monotonic time of every daemon step, for waiting on one

    def service(self, mono: float) -> float | None:
        self.serviced.append(mono)
        return None

    def readings(self) -> dict[str, Any]:
        return dict(self._readings)

    def set_outputs(self, pattern: str) -> None:
        super().set_outputs(pattern)
        self.shown.append(pattern)


class WaitingUplink(RecordingUplink):
    def __init__(self, status: dict[str, Any] | None = None):
        super().__init__()
        self.submitted = Waitable()
        self._status = status or {}

    def submit(self, to, text, purpose, alert_id, label=None):
        number = super().submit(to, text, purpose, alert_id, label)
        self.submitted.append((to, text, purpose, alert_id))
        return number

    def status(self) -> dict[str, Any]:
        return dict(self._status, outbox={"queued": len(self.sent), "sent": 0})


class ReadyNotifier(Notifier):
    def __init__(self) -> None:
        super().__init__(address="", watchdog_usec="")
        self.is_ready = threading.Event()

    def ready(self, status: str = "") -> bool:
        self.is_ready.set()
        return False


class RunningHub:
    """``with RunningHub(config, clock, path) as hub:`` — the daemon and its control server, started and stopped."""

    def __init__(self, config, clock, path: str, hardware=None, uplink=None,
                 allowed_uids=None, allowed_gids=(), **server_options):
        self.clock = clock
        self.path = str(path)
        self.hardware = hardware or SimHardware()
        self.uplink = uplink or WaitingUplink()
        self.notifier = ReadyNotifier()
        self.daemon = build_hub(config, clock, hardware=self.hardware, uplink=self.uplink,
                               notifier=self.notifier, boot_id="test-boot", control=False)
        self.seen = Waitable()  # every event the daemon handled
        self.daemon.listeners = Listeners([self.seen.append])
        uids = {os.getuid()} if allowed_uids is None else set(allowed_uids)
        self.server = ControlServer(self.daemon, self.path, uids, set(allowed_gids), **server_options)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="hubd-under-test", daemon=True)

    def _main(self) -> None:
        async def serve() -> None:
            self.loop = asyncio.get_running_loop()
            await self.server.start()
            try:
                await self.daemon.run()
            finally:
                self.server.close()
                await self.server.wait_closed()

        try:
            asyncio.run(serve())
        except BaseException as exc:  # reported to the test by __enter__/__exit__
            self.error = exc
            self.notifier.is_ready.set()

    def __enter__(self) -> "RunningHub":
        self._thread.start()
        assert self.notifier.is_ready.wait(TIMEOUT), "daemon never became ready"
        if self.error is not None:
            raise self.error
        return self

    def __exit__(self, *exc_info) -> None:
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.daemon.request_stop)
        self._thread.join(TIMEOUT)
        assert not self._thread.is_alive(), "daemon did not stop"
        if self.error is not None and exc_info[0] is None:
            raise self.error

    def wait_for_streams(self, count: int) -> None:
        """Until ``count`` watch/walktest streams are subscribed (beside the harness and the server)."""
        self.daemon.listeners.wait_for_count(2 + count)

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and self.error is None

    def on_loop(self, func: Callable[..., Any], *args: Any) -> Any:
        """Run ``func`` on the daemon's loop thread (the engine and the fake clock live there) and return its result."""
        assert self.loop is not None
        result: concurrent.futures.Future = concurrent.futures.Future()

        def run() -> None:
            try:
                result.set_result(func(*args))
            except BaseException as exc:
                result.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return result.result(TIMEOUT)

    def trigger(self, sensor: str, kind: Kind = Kind.MOTION, value: float = 1.0) -> None:
        """A hardware callback: hand an event over and wait until the daemon has handled it."""
        before = len(self.seen.items)
        self.daemon.sink(sensor, kind, value, self.clock.monotonic())
        self.seen.wait_for(lambda items: len(items) > before and items[-1].sensor == sensor)

    def advance(self, seconds: float) -> None:
        """Move the fake clock on the loop thread and wait until the daemon has stepped at the new time.

        The poke makes that step certain: a sleeper the daemon registers just after the advance would
        otherwise wait for a time that never comes.
        """
        def move() -> float:
            self.clock.advance(seconds)
            self.daemon._poke()
            return self.clock.monotonic()

        target = self.on_loop(move)
        self.hardware.serviced.wait_for(lambda steps: steps and steps[-1] >= target)
