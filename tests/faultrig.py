"""A small flat around the production daemon for the fault matrix, on a fake clock.

Below the seams everything is simulated and can be broken on purpose: MockFactory pins
the test drives (two PIRs, the front door, the fridge door, the bed mat, the OK button),
INA226 register models on a SimBus (the kettle and the autonomous fridge) and, when asked
for, the pty modem emulator behind the real SmsService. Above them: HubHardware, the real
Store in a temporary state directory, the Engine and the Daemon, unchanged.

Simulated time only moves when a test advances it (``run_for``, ``until``), and never while
the daemon has work in hand or a power chip is being read (tests/faketime.py). The modem
rows break the modem on purpose (silent for an hour of simulated time: every reconnect
waits seconds of real time for answers that never come), so the rig lets time run while
the uplink talks to the modem unless built with ``hold_modem=True``; what the modem does
arrives in real time, and ``until`` gives the uplink a bounded real wait for its next step.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Callable

from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from hubd.board import HubHardware
from hubd.clock import FakeClock
from hubd.config import parse_config
from hubd.modem.service import SmsService, SmsTiming
from hubd.store import Store
from hubsim.gpio_driver import SensorDrivenPin
from hubsim.i2c.bus import SimBus
from hubsim.i2c.ina226 import INA226Sim

from conftest import merge
from fakes import RecordingUplink, build_hub
from faketime import drive, settle

DAY, HOUR, MIN = 86400.0, 3600.0, 60.0
DAY0 = 20458 * DAY  # 2026-01-05, a Monday, local midnight
OFFICE, OFFICE2 = "+81300000001", "+81300000002"
PINS = {"hall_pir": 17, "kitchen_pir": 27, "front_door": 5, "fridge_door": 19, "bed": 6}
BUTTON_PIN = 24
CHIPS = {"kettle": 0x40, "fridge": 0x41}
DC_VOLTS = 24.0
# the pin level meaning "on" (motion / open / occupied), as hubsim.gpio_driver wires them
ACTIVE_HIGH = {"hall_pir": True, "kitchen_pir": True, "front_door": True, "fridge_door": True, "bed": False}
# modem timings in simulated seconds, short so a fault is seen within a few minutes of fake time
MODEM_TIMING = SmsTiming(command_timeout=0.5, cmgs_timeout=1.0, settle=0.02, reconnect_interval=5.0,
                         health_interval=60.0, unregistered_poll=5.0, backoff_base=5.0, backoff_max=60.0,
                         down_after=120.0, failures_before_reset=3, sim_retry_interval=30.0)


def rig_config(state_dir: str, port: str = "", **sections: Any):
    sensors = [
        {"id": "hall_pir", "kind": "motion", "pin": PINS["hall_pir"], "role": "daily_route", "warmup_s": 0.0},
        {"id": "kitchen_pir", "kind": "motion", "pin": PINS["kitchen_pir"], "warmup_s": 0.0},
        {"id": "front_door", "kind": "entrance", "pin": PINS["front_door"]},
        {"id": "fridge_door", "kind": "door", "pin": PINS["fridge_door"]},
        {"id": "bed", "kind": "presence", "pin": PINS["bed"]},
        {"id": "kettle", "kind": "appliance", "chip": "ina226", "address": CHIPS["kettle"], "shunt_ohms": 0.0005,
         "max_current_a": 100.0, "poll_seconds": 10.0},
        {"id": "fridge", "kind": "appliance", "chip": "ina226", "address": CHIPS["fridge"], "shunt_ohms": 0.0005,
         "max_current_a": 100.0, "poll_seconds": 10.0, "role": "autonomous"},
    ]
    data = merge({
        "hub": {"flat_id": "RIG-1", "language": "en", "state_dir": state_dir,
                "socket": os.path.join(state_dir, "ctl.sock"), "flush_seconds": 60.0, "tick_seconds": 30.0},
        "detector": {"mode": "fixed", "max_inactivity_hours": 1.0},
        "alerts": {"prealarm_minutes": 0.0, "ack_timeout_minutes": 30.0, "repeat_limit": 1,
                   "heartbeat_hours": 0.0, "system_grace_minutes": 2.0},
        "modem": {"port": port, "recipients": [OFFICE, OFFICE2], "authorised": [OFFICE]},
        "outputs": {"buzzer_pin": 18, "led_pin": 23, "button_pin": BUTTON_PIN},
        "sensors": sensors,
    }, sections)
    return parse_config(data, "(fault rig)")


class Rig:
    """The daemon on simulated hardware. ``uplink``: RecordingUplink, or SmsService on ``emulator``."""

    def __init__(self, tmp_path, emulator=None, start_local: float = DAY0 + 8 * HOUR, clock: FakeClock | None = None,
                 timing: SmsTiming = MODEM_TIMING, store: Store | None = None, state_dir: str | None = None,
                 bus: SimBus | None = None, hold_modem: bool = False, **sections: Any):
        self.state_dir = state_dir or str(tmp_path / "state")
        self.clock = clock or FakeClock(mono=1000.0, local=start_local)
        self.config = rig_config(self.state_dir, emulator.port if emulator else "", **sections)
        self.factory = MockFactory()
        Device.pin_factory = self.factory
        self.pins = {sid: self.factory.pin(pin, pin_class=SensorDrivenPin) for sid, pin in PINS.items()}
        self.button = self.factory.pin(BUTTON_PIN, pin_class=SensorDrivenPin)
        for sid in PINS:
            self.set(sid, False)
        self.button.drive_high()  # released (pull-up)
        self.watts = {"kettle": 0.0, "fridge": 1.0}
        self.bus = bus or SimBus()
        self.chips = {}
        for sid, address in CHIPS.items():
            self.chips[sid] = self.bus.attach(address, INA226Sim(
                self.clock.local, shunt_ohms=0.0005, bus_volts=DC_VOLTS,
                current=lambda t, s=sid: self.watts[s] / DC_VOLTS))
        self.store = store or Store(self.state_dir)
        self.hardware = HubHardware(self.config, self.clock, pin_factory=self.factory, bus_factory=self.bus.handle)
        self.emulator = emulator
        if emulator is not None:
            self.uplink = SmsService(emulator.port, 115200, self.store, self.clock, timing=timing)
        else:
            self.uplink = RecordingUplink()
        self.daemon = build_hub(self.config, self.clock, hardware=self.hardware, uplink=self.uplink, store=self.store,
                               boot_id="rig", control=False)
        self.task: asyncio.Task | None = None
        self.hold_modem = hold_modem  # simulated time stands still while the uplink talks to the modem

    # -- the flat ---------------------------------------------------------------------
    def set(self, sensor: str, on: bool) -> None:
        pin = self.pins[sensor]
        if on == ACTIVE_HIGH[sensor]:
            pin.drive_high()
        else:
            pin.drive_low()

    async def motion(self, sensor: str = "hall_pir", seconds: float = 5.0) -> None:
        self.set(sensor, True)
        await self.run_for(seconds, step=seconds)
        self.set(sensor, False)
        await self.run_for(10.0, step=10.0)  # the PIR's retrigger window closes the episode

    # -- time ---------------------------------------------------------------------------
    async def start(self) -> None:
        self.task = asyncio.ensure_future(self.daemon.run())
        await self.settle()

    async def settle(self) -> None:
        """Let the daemon run; simulated time stands still while it has work in hand, a power chip
        is read in the hub's I/O thread and (``hold_modem``) the uplink talks to the modem."""
        await settle(self.daemon, self.task, modem=self.hold_modem)

    async def run_for(self, seconds: float, step: float = 60.0, each: Callable[[], None] | None = None) -> None:
        """Advance simulated time by ``seconds``, waking the daemon exactly when it asked to be
        woken (as on a Pi), and at least every ``step`` seconds."""
        await drive(self.daemon, self.clock, self.clock.monotonic() + seconds, task=self.task, step=step, each=each,
                    modem=self.hold_modem)

    async def until(self, predicate: Callable[[], bool], sim_limit: float, step: float = 2.0,
                    real_step: float = 0.01) -> bool:
        """Advance simulated time until ``predicate()``, giving what the modem does on its own
        (a URC over the pty) a bounded real wait on the uplink's next step each time."""
        end = self.clock.monotonic() + sim_limit
        while not predicate():
            if self.clock.monotonic() >= end:
                return False
            self.clock.advance(step)
            await self.settle()
            if isinstance(self.uplink, SmsService):
                await self.uplink.wait_until(_after_one_step(predicate), real_step)
        return True

    async def stop(self) -> None:
        if self.task is not None:
            self.daemon.request_stop()
            await asyncio.wait_for(self.task, 10.0)
            self.task = None

    def close(self) -> None:
        self.store.close()
        Device.pin_factory = None

    # -- what the hub shows ----------------------------------------------------------------
    def open_alerts(self, kind: str | None = None) -> list:
        return [a for a in self.daemon.engine.policy.open_alerts() if kind is None or a.type == kind]

    def all_alerts(self, kind: str | None = None) -> list[dict]:
        return [a for a in self.store.alerts(limit=500) if kind is None or a["type"] == kind]

    def sent(self, purpose: str | None = None) -> list[tuple]:
        """SMS the daemon queued (RecordingUplink) or the outbox holds (SmsService)."""
        if isinstance(self.uplink, RecordingUplink):
            rows = self.uplink.sent
        else:
            rows = [(m.recipient, m.text, m.purpose, m.alert_id) for m in reversed(self.uplink.outbox.messages())]
        return [r for r in rows if purpose is None or r[2] == purpose]

    def phone(self) -> list[tuple[str, str]]:
        with self.emulator.lock:
            return list(self.emulator.delivered)


def _after_one_step(predicate: Callable[[], bool]) -> Callable[[], bool]:
    """True once ``predicate`` holds or the uplink has made one more step."""
    calls = [0]

    def check() -> bool:
        calls[0] += 1
        return calls[0] > 1 or predicate()
    return check


def run(rig: Rig, body, timeout: float = 60.0) -> None:
    async def main():
        await rig.start()
        try:
            await body(rig)
        finally:
            await rig.stop()

    try:
        asyncio.run(asyncio.wait_for(main(), timeout))
    finally:
        rig.close()
