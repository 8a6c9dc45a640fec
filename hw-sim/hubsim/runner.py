"""``hubd sim``: the real daemon on simulated hardware, with a scripted resident on a fast clock.

Everything below the seams is simulated — gpiozero's MockFactory pins driven by the
resident's script, INA226 register models on a simulated I2C bus, a modem emulator on
a real pty — and everything above them is the production daemon. The hub first learns
from a few days of the resident's past (replayed through the same engine), then lives
one morning in which the resident collapses; the run ends when the office's phone
receives the alarm SMS.
"""

from __future__ import annotations

import argparse
import asyncio
import grp
import os
import sys
import tempfile
import time
from datetime import datetime

from hubd.board import HubHardware
from hubd.clock import ScaledClock
from hubd.config import Config, parse_config
from hubd.daemon import Daemon, setup_logging
from hubd.core.engine import Engine
from hubd.events import Event, Kind, format_local
from hubd.modem.service import SmsService, SmsTiming
from hubd.replay.per_event import replay
from hubd.store import Store

from .gpio_driver import ApplianceLoadFeed, GpioScript
from .i2c.bus import SimBus
from .i2c.ina226 import INA226Sim
from .modem import ModemEmulator
from .interactive import REACT_WALL_S
from .pacing import PacedClock, drive_due, pace_hub
from .quirks_devices import PRESETS
from .resident import DEFAULT_FLAT, PROFILES, FlatSensor, Resident, collapse, flat_for, suggested_pins

DAY, HOUR = 86400.0, 3600.0
OFFICE = "+81300000001"
DC_VOLTS = 24.0  # simulated appliances sit on a 24 V DC supply seen by INA226 shunt monitors
SIM_APPLIANCES = {"kettle": 0x40, "fridge": 0x41, "pc": 0x42}  # the PC only in a flat that has one

def sim_sensors(poll_seconds: float = 30.0, labels: bool = True,
                flat: tuple[FlatSensor, ...] = DEFAULT_FLAT) -> list[dict]:
    """The ``[[sensors]]`` of the simulated flat: PIRs, contacts and mats on the suggested pins,
    the appliances on INA226 chips of the simulated bus (one list for `hubd sim` and the tests)."""
    pins = suggested_pins()
    sensors = []
    for s in flat:
        if s.id in pins:
            entry = {"id": s.id, "kind": s.kind.label, "pin": pins[s.id], "role": s.role, "warmup_s": 0.0}
        elif s.id in SIM_APPLIANCES:
            entry = {"id": s.id, "kind": "appliance", "chip": "ina226", "address": SIM_APPLIANCES[s.id],
                     "shunt_ohms": 0.0005, "max_current_a": 100.0, "role": s.role, "poll_seconds": poll_seconds}
        else:
            continue
        if labels:
            entry["label"] = s.label
        sensors.append(entry)
    return sensors


def sim_config(state_dir: str, modem_port: str, args: argparse.Namespace, flat_id: str = "SIM-1",
               office: str = OFFICE) -> Config:
    """The simulated flat's config; ``args.profile`` (default: the early riser) picks the flat."""
    sensors = sim_sensors(flat=flat_for(getattr(args, "profile", "early_riser")))
    data = {
        "hub": {"flat_id": flat_id, "language": args.language, "state_dir": state_dir,
                "socket": os.path.join(state_dir, "control.sock"), "flush_seconds": 600.0, "tick_seconds": 60.0,
                "technician_group": grp.getgrgid(os.getgid()).gr_name},  # you run it: your group may use hubctl
        "detector": {"mode": args.detector},
        "alerts": {"prealarm_minutes": 5.0},
        "modem": {"port": modem_port, "recipients": [office], "authorised": [office]},
        "outputs": {"buzzer_pin": 18, "led_pin": 23, "button_pin": 24},
        "sensors": sensors,
    }
    return parse_config(data, "(hubd sim)")


class SimFlat:
    """The production daemon assembled on simulated hardware: the one place `hubd sim` and the
    scenario tests build it, so what the tests prove is what a newcomer sees."""

    def __init__(self, config: Config, clock, events: list[Event], resident: Resident, emulator: ModemEmulator,
                 engine: Engine, timing: SmsTiming | None = None, control: bool = False):
        from gpiozero import Device
        from gpiozero.pins.mock import MockFactory

        self.clock = clock
        self.factory = MockFactory()
        Device.pin_factory = self.factory
        pins = {s.id: s.pin for s in config.sensors if s.pin is not None}
        self.script = GpioScript(self.factory, pins, events)
        self.feed = ApplianceLoadFeed(events, baseline=resident.baseline_watts())
        self.bus = SimBus()
        for sensor in config.sensors:
            if sensor.chip == "ina226":
                self.bus.attach(sensor.address, INA226Sim(clock.local, shunt_ohms=sensor.shunt_ohms, bus_volts=DC_VOLTS,
                                                          current=self._current(sensor.id)))
        self.store = Store(config.hub.state_dir)
        self.hardware = HubHardware(config, clock, pin_factory=self.factory, bus_factory=self.bus.handle)
        timing = timing or SmsTiming(health_interval=6 * HOUR, reconnect_interval=60.0, unregistered_poll=60.0)
        self.uplink = SmsService(emulator.port, 115200, self.store, clock, timing=timing)
        self.daemon = Daemon(config, clock, self.hardware, self.uplink, self.store, boot_id="sim",
                             engine_factory=lambda cfg: engine, control=control)
        self.emulator = emulator
        self.manual_watts: dict[str, float] = {}  # appliances switched by hand (the interactive sim)
        self.patterns: list[tuple[float, str]] = []  # every buzzer/LED change, as it happens
        self.pattern_listeners: list = []  # called at once with each change (the interactive player)
        show = self.hardware.set_outputs

        def recording(pattern: str) -> None:
            self.patterns.append((clock.local(), pattern))
            show(pattern)
            for listener in self.pattern_listeners:
                listener()

        self.hardware.set_outputs = recording

    def _current(self, sensor_id: str):
        def amps(t: float) -> float:
            watts = self.manual_watts.get(sensor_id)
            return (self.feed.watts_at(sensor_id, t) if watts is None else watts) / DC_VOLTS
        return amps

    def button(self, pressed: bool) -> None:
        """The resident's OK button (``outputs.button_pin``; active low): pressed, or let go."""
        pin = self.factory.pin(self.daemon.config.outputs.button_pin)
        if pressed:
            pin.drive_low()
        else:
            pin.drive_high()

    def press_button(self, hold: bool = False) -> None:
        """A short press, or a long one, on a clock that the caller moves (a fake clock)."""
        self.button(True)
        self.clock_advance(4.0 if hold else 0.2)
        self.button(False)

    def clock_advance(self, seconds: float) -> None:
        advance = getattr(self.clock, "advance", None)
        if advance is not None:
            advance(seconds)

    def close(self) -> None:
        from gpiozero import Device

        self.store.close()
        Device.pin_factory = None


def learned_engine(config: Config, history: list[Event]) -> Engine:
    """An engine that has lived through ``history`` (the hub has been installed for a while)."""
    engine = Engine(config)
    replay(history, config, engine=engine)
    return engine


def _stamp(local: float) -> str:
    return format_local(local).replace("T", " ")[:16]


class Console:
    """What a newcomer sees: the hub's view of the morning, condensed."""

    def __init__(self, clock: ScaledClock, quiet: bool):
        self.clock = clock
        self.quiet = quiet
        self.events = 0

    def say(self, text: str, when: float | None = None) -> None:
        print(f"[{_stamp(self.clock.local() if when is None else when)}] {text}", flush=True)

    def event(self, ev: Event) -> None:
        self.events += 1
        if self.quiet:
            return
        if ev.kind is Kind.MOTION and ev.value == 0:
            return  # motion ends are noise for a reader
        what = {Kind.MOTION: "motion", Kind.PRESENCE: "occupied" if ev.value else "left",
                Kind.DOOR: "opened" if ev.value else "closed", Kind.ENTRANCE: "opened" if ev.value else "closed",
                Kind.APPLIANCE: f"on {ev.value:.0f} W" if ev.value else "off", Kind.BUTTON: "pressed"}[ev.kind]
        print(f"[{_stamp(ev.local)}]   sensor {ev.sensor:<12} {what}", flush=True)


class Outputs:
    """Says what the hub did since the last look: buzzer/LED patterns, SMS the office phone got."""

    def __init__(self, flat: SimFlat, console: Console):
        self.flat, self.console = flat, console
        self.seen_sms = self.seen_patterns = 0

    def turn(self) -> list[str]:
        """Print what is new; returns the texts of the SMS that are new."""
        for when, pattern in self.flat.patterns[self.seen_patterns:]:
            self.console.say(f"hub outputs: buzzer/LED pattern '{pattern}'", when)
        self.seen_patterns = len(self.flat.patterns)
        with self.flat.emulator.lock:
            new = list(self.flat.emulator.delivered[self.seen_sms:])
        self.seen_sms += len(new)
        for to, text in new:
            self.console.say(f"office phone {to} received SMS: {text}")
        return [text for _, text in new]


def is_alarm(text: str) -> bool:
    return "ACK" in text or "警報" in text and "解除" not in text


async def live(flat: SimFlat, clock: PacedClock, console: Console, collapse_at: float, wall_limit: float) -> bool:
    """Play the resident's script onto the pins until the office phone gets the alarm."""
    daemon, script = flat.daemon, flat.script
    outputs = Outputs(flat, console)
    run = asyncio.ensure_future(daemon.run())
    started = time.monotonic()
    said_collapse = False
    ok = False
    try:
        while time.monotonic() - started < wall_limit:
            pace_hub(daemon.engine, clock)
            drive_due(script, clock)
            local = clock.local()
            if not said_collapse and local >= collapse_at:
                said_collapse = True
                console.say(">>> scenario: the resident collapses (no more activity from now on)")
            if any(is_alarm(text) for text in outputs.turn()):
                ok = True
                break
            await asyncio.sleep(0.02)
    finally:
        daemon.request_stop()
        await run
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hubd sim", description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, default=1200.0, help="simulated seconds per wall second")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--history-days", type=int, default=7, help="days the hub has already learned")
    parser.add_argument("--collapse", default="10:30", help="time of the collapse on the live morning (HH:MM)")
    parser.add_argument("--detector", choices=("learned", "fixed"), default="learned")
    parser.add_argument("--language", choices=("en", "ja"), default="en")
    parser.add_argument("--state", default=None, help="state directory (default: a temporary one)")
    parser.add_argument("--wall-limit", type=float, default=90.0, help="give up after this many real seconds")
    parser.add_argument("--interactive", action="store_true",
                        help="you are the resident and the office: commands on standard input (help lists them); "
                             "runs until quit, the alarm does not end it")
    parser.add_argument("--react-seconds", type=float, default=REACT_WALL_S,
                        help="interactive: real seconds a pre-alarm waits for you (press) before it may become an alarm")
    parser.add_argument("--quiet", action="store_true", help="do not print every sensor event")
    parser.add_argument("--log", default="warning", help="daemon log level")
    parser.add_argument("--profile", choices=tuple(PROFILES), default="early_riser",
                        help="how the resident lives (screen_bound adds a PC on a power sensor)")
    parser.add_argument("--quirk", action="append", choices=tuple(PRESETS), default=[], metavar="QUIRK",
                        help="a misbehaving sensor, repeatable (the focus is the live morning, 06:00; day 1 the first "
                             "day of history): " + "; ".join(
                            f"{name}: {text}" for name, (text, _) in PRESETS.items()))
    args = parser.parse_args(argv)
    os.environ.setdefault("GPIOZERO_PIN_FACTORY", "mock")
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory

    hh, mm = (int(x) for x in args.collapse.split(":"))
    day0 = float((datetime(2026, 1, 5) - datetime(1970, 1, 1)).total_seconds())
    live_day = day0 + args.history_days * DAY
    collapse_at = live_day + hh * HOUR + mm * 60
    live_start = live_day + 6 * HOUR

    resident = Resident(args.seed, profile=args.profile)
    quirks = [PRESETS[name][1](day0, live_start) for name in args.quirk]
    try:
        events = resident.days(day0, args.history_days + 1, scenarios=[collapse(collapse_at, on_floor=True), *quirks])
    except ValueError as exc:
        print(f"hubd sim: {exc}", file=sys.stderr)
        return 2
    history = [e for e in events if e.local < live_start]
    live_events = [] if args.interactive else [e for e in events if e.local >= live_start]  # interactive: you move

    state_dir = args.state or tempfile.mkdtemp(prefix="hubd-sim-")
    emulator = ModemEmulator("ec25", seed=args.seed).start()
    setup_logging(args.log)
    try:
        config = sim_config(state_dir, emulator.port, args)
        print(f"hubd sim: flat {config.hub.flat_id}, {len(config.sensors)} sensors, detector {config.detector.mode}, "
              f"modem emulator (EC25 profile) on {emulator.port}, clock x{args.speed:g}, resident {args.profile}",
              flush=True)
        for name in args.quirk:
            print(f"sensor quirk {name}: {PRESETS[name][0]}", flush=True)
        engine = Engine(config)
        stats = replay(history, config, engine=engine)
        print(f"learned from {args.history_days} days of history: {stats.events} events, "
              f"{len(stats.alerts)} alerts raised in that time", flush=True)
        clock = PacedClock(args.speed, start_local=live_start, start_mono=live_start)
        flat = SimFlat(config, clock, live_events, resident, emulator, engine, control=True)
        script, daemon = flat.script, flat.daemon
        console = Console(clock, args.quiet)
        daemon.listeners.append(console.event)
        sock = config.hub.socket
        print(f"control socket {sock}: in another terminal try  hubctl --socket {sock} status  "
              f"(alerts, sensors --watch, walktest, ack N, pause --hours N)", flush=True)
        if args.interactive:
            from .interactive import play, read_lines

            console.say("live morning begins; you are the resident (and the office): type help")
            outputs = Outputs(flat, console)
            asyncio.run(play(flat, clock, console, read_lines(sys.stdin), office=OFFICE, speed=args.speed,
                             react_wall_s=args.react_seconds, on_turn=outputs.turn))
            print(f"bye. State kept in {state_dir}", flush=True)
            return 0
        console.say(f"live morning begins; the resident will collapse at {args.collapse}")
        ok = asyncio.run(live(flat, clock, console, collapse_at, args.wall_limit))
    finally:
        emulator.stop()
        Device.pin_factory = None
    if ok:
        print(f"done: the alarm reached the office by SMS. State kept in {state_dir}", flush=True)
        return 0
    print(f"no alarm SMS within {args.wall_limit:g} s of wall time", file=sys.stderr)
    return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
