"""The simulator's modem served on a real pseudo-terminal.

The hub opens the pty's slave path with pyserial exactly as it opens
``/dev/ttyUSB2``. :class:`ModemEmulator` is only the transport: its own thread
moves bytes between the pty and an :class:`~hubsim.at_modem.AtModem` (the AT
protocol and state, with no I/O), runs the model's delayed answers on time, and
posts every scripting call (``fail_next``, ``inject_sms``, ``reboot`` …) to that
thread so the model is only ever touched by one thread.

The port path is a symlink to the current pty, so "the USB port disappears and
comes back" keeps the path, as udev's by-id links do.
"""

from __future__ import annotations

import functools
import logging
import os
import queue
import select
import shutil
import tempfile
import threading
import time
import tty
from typing import Any, Callable

from hubsim.at_modem import PROFILES, AtModem, Profile

__all__ = ["Profile", "PROFILES", "ModemEmulator", "AtModem"]

log = logging.getLogger("hubsim.modem")

#: scripting calls of the model that the transport posts to its thread
_POSTED = ("fail_next", "fail_to", "swallow_next_cmgs", "override", "set_cmgs_delay", "set_registration",
           "set_signal", "set_silent", "reboot", "power_down", "power_on", "inject_garbage", "inject_urc",
           "inject_sms", "inject_pdu")


class ModemEmulator:
    """A modem on a pty. ``with ModemEmulator("ec25") as emu: hub opens emu.port``.

    Keyword arguments other than ``link_dir`` configure the :class:`AtModem` (``emu.model``);
    its scripting methods are called here from any thread and run on the emulator's.
    """

    def __init__(self, profile: str | Profile = "sim800", *, link_dir: str | None = None, **model: Any):
        self.model = AtModem(profile, **model)
        self.profile = self.model.profile
        self._calls: queue.Queue[Callable[[], None]] = queue.Queue()
        self._master: int | None = None
        self._slave: int | None = None
        self._own_dir = link_dir is None
        self._dir = link_dir or tempfile.mkdtemp(prefix="hubsim-modem-")
        self.port = os.path.join(self._dir, f"tty{self.profile.name.upper()}")
        self._wake_r, self._wake_w = os.pipe()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"modem-emulator {self.profile.name}", daemon=True)
        for name in _POSTED:
            setattr(self, name, self._posting(getattr(self.model, name)))

    def _posting(self, method: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(method)
        def post(*args: Any, **kwargs: Any) -> None:
            self._post(lambda: method(*args, **kwargs))
        return post

    # -- lifecycle ---------------------------------------------------------------
    def start(self) -> "ModemEmulator":
        self._open_pty()
        self.model.attach()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        os.write(self._wake_w, b"x")
        self._thread.join(timeout=5)
        self._close_pty()
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        if self._own_dir:
            shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> "ModemEmulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def vanish(self) -> None:
        """The USB device disappears: the pty closes and the path is gone."""
        self._post(self._vanish)

    def reappear(self, boot: bool = True) -> None:
        """The device is back under the same path, freshly booted (as after USB re-enumeration)."""
        def apply() -> None:
            self._open_pty()
            self.model.replugged(boot)
        self._post(apply)

    # -- observation (the model's, read under its lock) ------------------------------------
    @property
    def lock(self) -> threading.Condition:
        return self.model.lock

    @property
    def delivered(self) -> list[tuple[str, str]]:
        return self.model.delivered

    @property
    def submits(self) -> list:
        return self.model.submits

    @property
    def commands(self) -> list[str]:
        return self.model.commands

    @property
    def pin_attempts(self) -> list[str]:
        return self.model.pin_attempts

    @property
    def boots(self) -> int:
        return self.model.boots

    @property
    def storage_size(self) -> int:
        return self.model.storage_size

    @property
    def powered(self) -> bool:
        """False while rebooting or powered down."""
        return self.model.powered

    def wait_until(self, predicate: Callable[["ModemEmulator"], bool], timeout: float) -> bool:
        """Block the calling thread until ``predicate(self)`` holds (checked on every change)."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.lock.wait(left)
            return True

    def wait_delivered(self, count: int, timeout: float) -> bool:
        return self.wait_until(lambda emu: len(emu.delivered) >= count, timeout)

    def stored_count(self) -> int:
        return self.model.stored_count()

    def stored_pdus(self) -> list[str]:
        """The PDUs in the emulated SIM storage, by index (what ``AT+CMGL=4`` would list)."""
        return self.model.stored_pdus()

    def snapshot(self) -> dict:
        return self.model.snapshot()

    # -- thread --------------------------------------------------------------------------
    def _post(self, call: Callable[[], None]) -> None:
        self._calls.put(call)
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass

    def _run(self) -> None:
        model = self.model
        while not self._stop.is_set():
            due = model.next_due()
            timeout = None if due is None else max(0.0, due - model.now())
            watched = [self._wake_r] + ([self._master] if self._master is not None else [])
            try:
                readable, _, _ = select.select(watched, [], [], timeout)
            except (OSError, ValueError):
                readable = []
            if self._wake_r in readable:
                os.read(self._wake_r, 4096)
            while True:
                try:
                    call = self._calls.get_nowait()
                except queue.Empty:
                    break
                self._guarded(call)
            self._guarded(model.run_due)
            if self._master is not None and self._master in readable:
                try:
                    data = os.read(self._master, 4096)
                except OSError:
                    data = b""
                if data:
                    self._guarded(lambda: model.feed(data))
            self._flush()

    def _guarded(self, call: Callable[[], None]) -> None:
        try:
            call()
        except Exception:  # noqa: BLE001 - the emulator must survive its own bugs to report them
            log.exception("modem emulator step failed")
        with self.lock:
            self.lock.notify_all()

    # -- pty -------------------------------------------------------------------------------
    def _open_pty(self) -> None:
        self._close_pty()
        master, slave = os.openpty()
        tty.setraw(slave)  # no line discipline echo before the hub configures the port
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        link = self.port + ".new"
        try:
            os.unlink(link)
        except FileNotFoundError:
            pass
        os.symlink(os.ttyname(slave), link)
        os.replace(link, self.port)

    def _close_pty(self) -> None:
        for fd in (self._master, self._slave):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._master = self._slave = None

    def _vanish(self) -> None:
        try:
            os.unlink(self.port)
        except FileNotFoundError:
            pass
        self._close_pty()
        self.model.unplugged()

    def _flush(self) -> None:
        data = self.model.take_output()
        if not data or self._master is None:
            return
        try:
            os.write(self._master, data)
        except (BlockingIOError, OSError) as exc:
            log.debug("modem output dropped (%s): %r", exc, data[:40])
