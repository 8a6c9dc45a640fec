"""Power chips are read in the hub's one I/O thread, not on the daemon's loop.

A slow chip (an ADS1115 CT window takes half a second) must not hold up the loop: the
daemon keeps handling GPIO events and other coroutines keep running while a read is in
progress. The read's result, and any I2C error raised in the thread, come back to the loop,
where PowerSensor's supervision (retry, back-off, DEGRADED, FAILED) and the alerts happen.

The bus here holds a transfer at a gate the test opens; nothing sleeps, simulated time
moves only when the test advances the fake clock.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from gpiozero.pins.mock import MockFactory

from faultrig import CHIPS, DC_VOLTS, Rig, run
from hubd.board import HubHardware
from hubd.clock import FakeClock
from hubd.config import parse_config
from hubd.events import Kind
from hubsim.i2c.bus import SimBus
from hubsim.i2c.ina226 import INA226Sim
from hubsim.loads import HOUR, SessionLoad

POLL = 10.0  # poll_seconds of both chips in the rig
FAIL_AFTER = 120.0  # PowerSensor default


class GatedBus(SimBus):
    """A SimBus whose transfers wait at a gate while it is closed, and which notes every thread
    that used it."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.gate.set()
        self.held = threading.Event()  # a transfer is waiting at the closed gate
        self.threads: set[str] = set()

    def _device(self, method, addr):
        self.threads.add(threading.current_thread().name)
        if not self.gate.is_set():
            self.held.set()
            self.gate.wait(30.0)  # bounded: a broken test fails instead of hanging
            self.held.clear()
        return super()._device(method, addr)


async def in_thread(wait, *args):
    return await asyncio.get_running_loop().run_in_executor(None, wait, *args)


def health(rig, sensor):
    return next(p for p in rig.hardware.readings()["power"] if p["id"] == sensor)["health"]


def test_the_loop_keeps_serving_while_a_chip_read_is_in_progress(tmp_path):
    bus = GatedBus()
    rig = Rig(tmp_path, bus=bus)
    seen = []
    rig.daemon.listeners.append(seen.append)

    async def body(rig):
        await rig.run_for(60)
        assert health(rig, "kettle")["stats"]["samples"] > 0
        rig.watts["kettle"] = 2200.0
        bus.gate.clear()
        rig.clock.advance(POLL)  # the next poll is due: its read starts and is held at the gate
        assert await in_thread(bus.held.wait, 10.0), "no read reached the bus"
        polls_before = health(rig, "kettle")["stats"]["polls"] + health(rig, "fridge")["stats"]["polls"]

        ticks = 0

        async def other():  # any other coroutine on the loop (the uplink, the control socket)
            nonlocal ticks
            for _ in range(200):
                ticks += 1
                await asyncio.sleep(0)

        await asyncio.wait_for(other(), 10.0)
        assert ticks == 200 and bus.held.is_set()  # it ran to the end while the read was still held

        rig.set("hall_pir", True)  # and the daemon still takes a sensor event and handles it
        for _ in range(30):
            await asyncio.sleep(0)
        assert [e.sensor for e in seen][-1:] == ["hall_pir"] and bus.held.is_set()

        rig.clock.advance(3 * POLL)  # time goes on: no second read of a chip while one is in flight
        for _ in range(30):
            await asyncio.sleep(0)
        assert bus.held.is_set()
        assert health(rig, "kettle")["stats"]["polls"] + health(rig, "fridge")["stats"]["polls"] == polls_before

        bus.gate.set()
        assert await rig.hardware.reads_done()
        await rig.settle()
        watts = {p["id"]: p["watts"] for p in rig.hardware.readings()["power"]}
        assert watts["kettle"] == pytest.approx(2200, rel=0.02)
        assert bus.threads == {"hubd-i2c_0"}  # every transfer in the one I/O thread, none on the loop
        rig.set("hall_pir", False)

    run(rig, body)


@pytest.mark.parametrize("fault", ["nack", "timeout"])
def test_i2c_errors_raised_in_the_io_thread_reach_the_supervision(tmp_path, fault):
    bus = GatedBus()
    rig = Rig(tmp_path, bus=bus)

    async def body(rig):
        await rig.run_for(60)
        getattr(rig.bus, fault)(CHIPS["kettle"], count=1)  # one transient error: retried at once
        # (until the next poll has read the chip, within a few poll intervals of simulated time:
        # a poll can land a little after its slot on a loaded machine; the counts are what matter)
        assert await rig.until(lambda: health(rig, "kettle")["stats"]["retries"] >= 1, 3 * POLL)
        kettle = health(rig, "kettle")
        assert kettle["health"] == "ok" and kettle["stats"]["retries"] == 1 and kettle["stats"]["faults"] == 0

        getattr(rig.bus, fault)(CHIPS["kettle"])  # every transfer fails from now on
        assert await rig.until(lambda: health(rig, "kettle")["stats"]["faults"] >= 1, 3 * POLL)
        kettle = health(rig, "kettle")
        assert kettle["health"] == "degraded" and kettle["stats"]["faults"] == 1
        assert str({"nack": 121, "timeout": 110}[fault]) in kettle["last_error"]
        faults = kettle["stats"]["faults"]
        assert await rig.until(lambda: health(rig, "kettle")["stats"]["faults"] >= faults + 3, 90.0)
        # backing off: after four failures in a row the next try waits longer than a poll interval
        # (the schedule itself, not a count of polls, which depends on when the harness looks)
        chip = next(ch.sensor for ch in rig.hardware.power if ch.sensor_id == "kettle")
        assert chip._next_attempt - rig.clock.monotonic() > POLL
        assert [a.key for a in rig.open_alerts("sensor_fault")] == []

        assert await rig.until(lambda: health(rig, "kettle")["health"] == "failed", FAIL_AFTER + 60.0)
        assert [a.key for a in rig.open_alerts("sensor_fault")] == ["kettle"]  # the alert names the chip
        assert health(rig, "fridge")["health"] == "ok"

        rig.bus.clear_faults(CHIPS["kettle"])
        # the next try comes within the longest back-off (60 s), then the chip is re-initialised
        assert await rig.until(lambda: health(rig, "kettle")["health"] == "ok", 150.0)
        assert await rig.until(lambda: rig.open_alerts("sensor_fault") == [], 60.0)
        assert bus.threads == {"hubd-i2c_0"}

    run(rig, body)


def test_a_pc_on_its_own_sensor_reaches_the_hub_as_on_level_and_off_events(tmp_path):
    """``metering = "device"`` from the config to the events: the board builds the classifier for the
    sensor, and its ON, level and OFF transitions come out as ``appliance`` events (watts, then 0).
    Driven by hand on a fake clock (no loop: each read happens in place)."""
    config = parse_config({"hub": {"state_dir": str(tmp_path)}, "sensors": [
        {"id": "pc", "kind": "appliance", "chip": "ina226", "address": 0x40, "shunt_ohms": 0.0005,
         "max_current_a": 100.0, "poll_seconds": 10.0, "metering": "device"}]})
    assert config.sensor("pc").metering == "device"
    clock = FakeClock(mono=0.0, local=0.0)
    pc = SessionLoad("pc", [(HOUR, 3 * HOUR)], standby=2.0, seed=3)
    bus = SimBus()
    bus.attach(0x40, INA226Sim(clock.monotonic, shunt_ohms=0.0005, bus_volts=DC_VOLTS,
                               current=lambda t: pc.watts(t) / DC_VOLTS))
    events = []
    hardware = HubHardware(config, clock, pin_factory=MockFactory(), bus_factory=bus.handle)
    hardware.start(lambda sensor, kind, value, mono: events.append((sensor, kind, value, mono)),
                   lambda ident, finding: None)
    try:
        while clock.monotonic() < 4 * HOUR:
            hardware.service(clock.monotonic())
            clock.advance(10.0)
    finally:
        hardware.close()
    assert {(sensor, kind) for sensor, kind, _, _ in events} == {("pc", Kind.APPLIANCE)}
    values = [value for _, _, value, _ in events]
    assert values[-1] == 0.0 and all(v > 0 for v in values[:-1])  # ON, levels, then OFF
    assert HOUR <= events[0][3] <= HOUR + 60 and 3 * HOUR <= events[-1][3] <= 3 * HOUR + 60
    assert 2 * 7 <= len(values) - 2 <= 2 * 15  # ~10 level events an hour of use
