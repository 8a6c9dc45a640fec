"""The simulated flat's daemon running on a thread of its own, for tests whose client blocks
(hubctl over the real control socket) as a technician's terminal does."""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace

from hubd.clock import ScaledClock
from hubd.control.client import ControlClient
from hubd.core.engine import Engine
from hubsim.modem import ModemEmulator
from hubsim.resident import Resident
from hubsim.runner import SimFlat, learned_engine, sim_config

DAY0 = 20458 * 86400.0  # 2026-01-05, a Monday, local midnight
START = DAY0 + 10 * 3600.0  # 10:00 on the first day, unless there is history


class Hub:
    """The simulated flat's daemon on a thread of its own."""

    def __init__(self, tmp_path, history_days: int = 0, detector: str = "fixed", scenarios=()):
        """``history_days``: the resident's days before now, learned by the engine and kept in the store."""
        self.emulator = ModemEmulator("ec25", seed=3).start()
        self.config = sim_config(str(tmp_path), self.emulator.port, SimpleNamespace(language="en", detector=detector))
        resident = Resident(3)
        start = START + history_days * 86400.0
        history = [e for e in resident.days(DAY0, history_days + 1, scenarios=list(scenarios))
                   if e.local < start] if history_days else []
        engine = learned_engine(self.config, history) if history else Engine(self.config)
        self.clock = ScaledClock(60.0, start_local=start, start_mono=start)
        self.flat = SimFlat(self.config, self.clock, [], resident, self.emulator, engine, control=True)
        for event in history:
            self.flat.store.add_event(event)
        self.flat.store.flush()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.client = ControlClient(self.config.hub.socket, timeout=10.0)
        deadline = time.monotonic() + 20.0
        while True:  # the socket is there once the daemon has started its control server
            try:
                self.client.call("status")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                self.emulator.wait_until(lambda e: False, 0.05)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.flat.daemon.run())

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.flat.daemon.request_stop)
        self.thread.join(20.0)
        self.loop.close()  # its self-pipe is a socket pair: left open, it is reported when collected
        self.flat.close()
        self.emulator.stop()


