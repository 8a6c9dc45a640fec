"""Whole days through the simulated flat: the production daemon on MockFactory pins, INA226
models and the pty modem emulator, on a fake clock. What the office receives is read from
the emulator's "delivered to phone" log — the same place a newcomer sees it in `hubd sim`."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from hubd.clock import FakeClock
from hubd.detector.base import is_activity
from hubsim.modem import ModemEmulator
from hubsim.resident import Resident, collapse, holiday, pir_dies, stays_in_bed
from hubsim.runner import SimFlat, learned_engine, sim_config

from fakes import build_hub
from faketime import drive, settle

DAY, HOUR, MIN = 86400.0, 3600.0, 60.0
DAY0 = 20458 * DAY  # 2026-01-05, a Monday, local midnight
HISTORY_DAYS = 8
LIVE = DAY0 + HISTORY_DAYS * DAY + 6 * HOUR  # the live part begins at 06:00


class Scenario:
    def __init__(self, tmp_path, scenarios=(), days=3, detector="fixed", seed=11, timing=None, profile="early_riser",
                 **emulator_options):
        self.resident = Resident(seed, profile=profile)
        events = self.resident.days(DAY0, HISTORY_DAYS + days, scenarios=list(scenarios))
        history = [e for e in events if e.local < LIVE]
        self.live_events = [e for e in events if e.local >= LIVE]
        self.emulator = ModemEmulator("ec25", seed=seed, **emulator_options).start()
        args = SimpleNamespace(language="en", detector=detector, profile=profile)
        self.config = sim_config(str(tmp_path / "state"), self.emulator.port, args)
        engine = learned_engine(self.config, history)
        self.clock = FakeClock(mono=LIVE, local=LIVE)
        self.flat = SimFlat(self.config, self.clock, self.live_events, self.resident, self.emulator, engine,
                            timing=timing)
        self.daemon = self.flat.daemon
        self.task = None

    async def start(self):
        self.task = asyncio.ensure_future(self.daemon.run())
        await self.settle()  # the modem handshake is real pty I/O: simulated time waits for it
        assert self.flat.uplink.status().get("initialised"), "the simulated modem never came up"

    async def settle(self):
        """Let the daemon and the uplink run; simulated time stands still while the uplink waits for
        the modem, or the hub reads a power chip in its I/O thread (tests/faketime.py). The modem
        answers in real time (the emulator's thread, the channel's reader thread), and on a Pi an
        AT exchange takes milliseconds of the hub's time: were simulated time to run on meanwhile,
        when the hub learns what the modem says would depend on thread scheduling, not on the scenario."""
        await settle(self.daemon, self.task)

    async def modem_change(self, change, seen, real_timeout: float = 10.0):
        """Change the emulated modem (``change()``) and hold simulated time until the hub's uplink has
        seen it (``seen()``): a URC travels over the pty in real time, and at once on a Pi."""
        change()
        assert await self.flat.uplink.wait_until(seen, real_timeout), "the hub never saw the modem's change"
        await self.settle()

    async def live_until(self, local_end: float, step: float = 5 * MIN):
        """Advance simulated time, driving each of the resident's edges at its own moment and
        waking the daemon at each of its own deadlines (as on a real Pi)."""
        await self._drive(local_end - self.clock.local(), step)

    async def deliveries(self, alarms: int = 0, matching: str = "", sim_limit: float = 15 * MIN):
        """The office phone's log once it holds ``alarms`` alarm texts (or one containing
        ``matching``), or after ``sim_limit`` of simulated time (the uplink paces itself on the hub's
        clock: a retry, a back-off)."""
        def enough():
            log = list(self.emulator.delivered)
            if matching:
                return any(matching in text for _, text in log)
            return len(self.alarms(log)) >= alarms

        await self._drive(sim_limit, MIN, stop=enough)
        return list(self.emulator.delivered)

    async def _drive(self, seconds: float, step: float, stop=None):
        to_mono = self.clock.monotonic() - self.clock.local()

        def next_edge():
            due = self.flat.script.next_due()
            return None if due is None else due + to_mono

        await drive(self.daemon, self.clock, self.clock.monotonic() + seconds, task=self.task, step=step,
                    edges=next_edge, at_edge=lambda mono: self.flat.script.advance_to(mono - to_mono), stop=stop)

    async def quiet_deliveries(self) -> list[tuple[str, str]]:
        """The log once the uplink has sent all it could by now (nothing is in flight)."""
        await self.settle()
        return list(self.emulator.delivered)

    async def stop(self):
        self.daemon.request_stop()
        await self.task

    def close(self):
        self.emulator.stop()
        self.flat.close()

    def last_activity_before(self, when: float) -> float:
        """When the timer really starts: the resident's last movement before ``when``."""
        autonomous = {s.id for s in self.config.sensors if s.role == "autonomous"}
        return max(e.local for e in self.live_events
                   if e.local <= when and e.sensor not in autonomous and is_activity(e))

    def alarms(self, log):
        return [text for _, text in log if "no activity" in text or "not back" in text or "occupied" in text]


def run(scenario: Scenario, body):
    async def main():
        await scenario.start()
        try:
            await body(scenario)
        finally:
            await scenario.stop()
    try:
        asyncio.run(main())
    finally:
        scenario.close()


def audit_actions(scenario: Scenario) -> list[str]:
    return [row["action"] for row in reversed(scenario.daemon.store.audit_log(1000))]


def test_collapse_brings_one_alarm_sms_then_escalation(tmp_path):
    when = LIVE + 4.5 * HOUR  # 10:30
    sc = Scenario(tmp_path, [collapse(when, on_floor=True)], days=2)

    async def body(sc):
        crossing = sc.last_activity_before(when) + 12 * HOUR
        await sc.live_until(crossing - 10 * MIN)
        assert sc.flat.hardware.pattern == "off"
        await sc.live_until(crossing + 4 * MIN)
        assert sc.alarms(await sc.quiet_deliveries()) == []  # still in the 5-minute pre-alarm window
        assert sc.flat.hardware.pattern == "prealarm"
        await sc.live_until(crossing + 6 * MIN, step=MIN)
        log = await sc.deliveries(alarms=1)
        assert len(sc.alarms(log)) == 1 and log[-1][0] == "+81300000001"
        assert sc.flat.hardware.pattern == "alarm"
        await sc.live_until(crossing + 20 * MIN)
        assert len(sc.alarms(await sc.quiet_deliveries())) == 1  # one alarm per step, no storm
        await sc.live_until(crossing + 40 * MIN)  # no ACK within 30 min: the next step goes out
        log = await sc.deliveries(alarms=2)
        assert len(sc.alarms(log)) == 2

    run(sc, body)


def test_ok_button_cancels_the_prealarm_and_nothing_reaches_the_office(tmp_path):
    when = LIVE + 4.5 * HOUR
    sc = Scenario(tmp_path, [collapse(when, on_floor=True)], days=2)

    async def body(sc):
        crossing = sc.last_activity_before(when) + 12 * HOUR
        await sc.live_until(crossing + 2 * MIN, step=MIN)
        assert sc.flat.hardware.pattern == "prealarm"
        sc.flat.press_button()
        await sc.settle()
        await sc.live_until(crossing + 30 * MIN)
        assert sc.alarms(await sc.quiet_deliveries()) == []
        assert sc.flat.hardware.pattern in ("off", "prealarm")  # a new silence may begin, but no SMS
        assert "alert_cancelled" in audit_actions(sc)

    run(sc, body)


def test_holiday_with_away_by_long_press_is_quiet_and_ends_on_return(tmp_path):
    leave = LIVE + 3 * HOUR  # 09:00
    sc = Scenario(tmp_path, [holiday(leave, 2)], days=4)

    async def body(sc):
        await sc.live_until(leave - 2 * MIN)
        sc.flat.press_button(hold=True)  # "going out" — sets away for button_away_hours (12 h)
        await sc.settle()
        assert sc.daemon.engine.mode.name == "away"
        # the resident tells the technician it will be two days: a longer away, with an expiry
        sc.daemon.apply(sc.daemon.engine.set_mode("away", 60, "technician", sc.clock.monotonic(), sc.clock.local()),
                        sc.clock.local())
        await sc.live_until(leave + 2 * DAY + 6 * HOUR)
        assert sc.alarms(await sc.quiet_deliveries()) == []
        assert sc.daemon.engine.mode.name == "home"  # back inside: away ended by activity
        assert "away_ended" in audit_actions(sc)

    run(sc, body)


def test_away_left_on_expires_and_the_silence_is_reported(tmp_path):
    leave = LIVE + 3 * HOUR
    # the resident goes "out" and never comes back (a holiday that does not end: hospital, or worse)
    sc = Scenario(tmp_path, [holiday(leave, 10)], days=3)

    async def body(sc):
        await sc.live_until(leave + 30 * MIN)
        sc.daemon.apply(sc.daemon.engine.set_mode("away", 24, "technician", sc.clock.monotonic(), sc.clock.local()),
                        sc.clock.local())
        await sc.live_until(leave + 24 * HOUR + 40 * MIN)
        assert "away_expired" in audit_actions(sc)
        log = await sc.deliveries(alarms=1)
        assert len(sc.alarms(log)) == 1  # watching again: the long silence reaches the office

    run(sc, body)


def test_dead_pir_is_named_to_the_office(tmp_path):
    dies = LIVE + 2 * HOUR
    sc = Scenario(tmp_path, [pir_dies("hall_pir", dies)], days=3)

    async def body(sc):
        await sc.live_until(dies + 30 * HOUR, step=15 * MIN)  # the first text, before its 24 h reminder
        log = await sc.deliveries(matching="silent")
        texts = [t for _, t in log if "silent" in t]
        assert len(texts) == 1 and "hall_pir" in texts[0]  # one text, no escalation storm for a fault
        assert sc.alarms(log) == []  # the resident is fine: no resident alarm

    run(sc, body)


def test_modem_without_network_during_alarm_delivers_exactly_once_when_back(tmp_path):
    when = LIVE + 4.5 * HOUR
    sc = Scenario(tmp_path, [collapse(when, on_floor=True)], days=2)

    async def body(sc):
        crossing = sc.last_activity_before(when) + 12 * HOUR
        await sc.live_until(crossing - HOUR)
        await sc.modem_change(lambda: sc.emulator.set_registration(2),  # searching: no network
                              lambda: sc.flat.uplink.modem.state.registered is False)
        await sc.live_until(crossing + 25 * MIN)
        assert sc.alarms(await sc.quiet_deliveries()) == []
        await sc.modem_change(lambda: sc.emulator.set_registration(1),
                              lambda: sc.flat.uplink.modem.state.registered is True)
        await sc.live_until(crossing + 28 * MIN, step=MIN)
        log = await sc.deliveries(alarms=1)
        await sc.live_until(crossing + 29 * MIN, step=MIN)
        assert len(sc.alarms(await sc.quiet_deliveries())) == len(sc.alarms(log))
        assert sc.alarms(log)[0].count("no activity") == 1

    run(sc, body)


def test_out_and_not_back_is_reported_as_not_returned(tmp_path):
    leave = LIVE + 3 * HOUR
    sc = Scenario(tmp_path, [holiday(leave, 10)], days=3, detector="learned")  # gone, without a word

    async def body(sc):
        await sc.live_until(leave + 25 * HOUR, step=15 * MIN)
        log = await sc.deliveries(matching="not back")
        texts = [t for _, t in log if "not back" in t]
        assert texts and "SIM-1" in texts[0]
        assert len(texts) == sc.config.alerts.repeat_limit  # one episode: its escalation steps, never more
        assert not any("no activity" in t for _, t in log)  # out is not inactivity at home

    run(sc, body)


def test_still_in_bed_long_past_the_usual_is_stayed_in_place(tmp_path):
    start = LIVE + 0.5 * HOUR  # 06:30: lies down and stays, bed mat held
    sc = Scenario(tmp_path, [stays_in_bed(start, 30)], days=3, detector="learned")

    async def body(sc):
        await sc.live_until(start + 20 * HOUR, step=15 * MIN)
        log = await sc.deliveries(matching="occupied")
        texts = [t for _, t in log if "occupied" in t]
        assert len(texts) >= 1 and "bed" in texts[0]

    run(sc, body)


def test_failing_power_chip_is_reported_as_sensor_fault_and_clears(tmp_path):
    sc = Scenario(tmp_path, days=2)

    async def body(sc):
        await sc.live_until(LIVE + HOUR)
        sc.flat.bus.nack(address=0x40)  # the kettle's INA226 stops acknowledging
        await sc.live_until(LIVE + 2 * HOUR, step=MIN)
        log = await sc.deliveries(matching="faulty")
        texts = [t for _, t in log if "faulty" in t]
        assert len(texts) == 1 and "kettle" in texts[0]
        sc.flat.bus.clear_faults(0x40)
        await sc.live_until(LIVE + 3 * HOUR, step=MIN)
        log = await sc.deliveries(matching="resolved")
        assert any("resolved" in t for _, t in log)

    run(sc, body)


def test_modem_refusing_messages_shows_uplink_down_locally(tmp_path):
    from hubd.modem.service import SmsTiming
    sc = Scenario(tmp_path, days=2, timing=SmsTiming(health_interval=5 * MIN, unregistered_poll=MIN))

    async def body(sc):
        await sc.live_until(LIVE + HOUR)
        sc.emulator.fail_next(42, count=1000)  # network congestion on every send: nothing gets out
        await sc.modem_change(lambda: sc.emulator.set_registration(3),  # and then registration denied
                              lambda: sc.flat.uplink.modem.state.registered is False)
        await sc.live_until(LIVE + 2 * HOUR, step=MIN)
        assert sc.flat.hardware.pattern == "fault"  # the flat shows that the office cannot be told
        assert any(a["type"] == "uplink_down" for a in sc.daemon.store.alerts(open_only=True))
        # ... from the moment the link has been down for down_after, not whenever threads got round to it
        assert [local - LIVE - HOUR for local, p in sc.flat.patterns if p == "fault"][:1] == [SmsTiming().down_after]

    run(sc, body)


def test_pause_beyond_its_maximum_is_reported(tmp_path):
    sc = Scenario(tmp_path, days=2)

    async def body(sc):
        await sc.live_until(LIVE + HOUR)
        sc.daemon.apply(sc.daemon.engine.set_mode("paused", 24, "technician", sc.clock.monotonic(), sc.clock.local()),
                        sc.clock.local())
        await sc.live_until(LIVE + 1 * HOUR + 8 * HOUR + 10 * MIN, step=MIN * 10)  # max_pause_hours = 8
        log = await sc.deliveries(matching="monitoring paused")  # not the heartbeat's "paused" mode
        texts = [t for _, t in log if "monitoring paused" in t]
        assert len(texts) == 1

    run(sc, body)


def test_restart_is_reported_to_the_office(tmp_path):
    sc = Scenario(tmp_path, days=2)

    async def body(sc):
        await sc.live_until(LIVE + HOUR)
        sc.daemon.request_stop()
        await sc.task
        # the same state directory, a new daemon, twenty minutes later (a power cut)
        sc.clock.advance(20 * MIN)
        from hubd.core.engine import Engine
        sc.daemon = build_hub(sc.config, sc.clock, hardware=sc.flat.hardware, uplink=sc.flat.uplink,
                             store=sc.flat.store, boot_id="sim-2", engine_factory=Engine, control=False)
        sc.task = asyncio.ensure_future(sc.daemon.run())
        await sc.settle()
        log = await sc.deliveries(matching="restarted")
        texts = [t for _, t in log if "restarted" in t]
        assert len(texts) == 1 and "20min" in texts[0]

    run(sc, body)


def test_the_screen_bound_residents_pc_is_read_through_its_power_chip(tmp_path):
    """The PC on its INA226 (0x42): the hub reads the resident's varying draw, and standby."""
    sc = Scenario(tmp_path, days=2, profile="screen_bound")
    assert sc.config.sensor("pc").chip == "ina226" and sc.config.sensor("pc").address == 0x42
    reads = []

    async def body(sc):
        for _ in range(48):
            await sc.live_until(sc.clock.local() + 5 * MIN, step=MIN)
            [pc] = [p for p in sc.flat.hardware.readings()["power"] if p["id"] == "pc"]
            reads.append((sc.clock.local(), pc["watts"]))

    run(sc, body)
    matches = [w is not None and abs(w - sc.flat.feed.watts_at("pc", t)) < 1.0 for t, w in reads]
    assert sum(matches) >= 0.8 * len(reads)  # read every 30 s; a level changes every 2-7 min
    levels = {round(w) for _, w in reads if w is not None and w > 10}
    assert len(levels) >= 5 and all(60 <= w <= 140 for w in levels)
    assert any(w is not None and w < 3 for _, w in reads)  # standby between sessions
