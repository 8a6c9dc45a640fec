"""PowerSensor supervision: every fault kind, back-off, reopen/re-init, health transitions, logging."""

from __future__ import annotations

import logging
import math
import threading

import pytest

from hubd.clock import FakeClock
from hubd.sensors.ads1115 import CTClamp
from hubd.sensors.i2c import BusPool, WrongDeviceError
from hubd.sensors.ina219 import INA219
from hubd.sensors.ina226 import INA226
from hubd.sensors.power import Health, PowerSensor, RateLimitedLog, make_classifier, make_power_meter
from hubsim.i2c import ADS1115Sim, INA219Sim, SimBus
from hubsim.loads import ConstantLoad, MainsCT

POLL = 10.0


class Rig:
    """An INA219 with 1.5 A at 12 V (18 W) behind a PowerSensor, polled every 10 s of virtual time."""

    def __init__(self, **sensor):
        self.clock = FakeClock(mono=0.0)
        self.bus = SimBus(self.clock, transfer_seconds=0.0005)
        self.chip = self.bus.attach(0x40, INA219Sim(self.clock.monotonic, 0.1, current=1.5, bus_volts=12.0))
        self.meter = INA219(self.bus, 0x40, shunt_ohms=0.1, max_current=3.2)
        sensor.setdefault("logger", logging.getLogger("test.power"))
        self.sensor = PowerSensor("kettle", self.meter, **sensor)

    def poll(self):
        sample = self.sensor.poll(self.clock.monotonic())
        self.clock.advance(POLL)
        return sample

    def polls(self, n):
        return [self.poll() for _ in range(n)]


def test_healthy_chip_gives_watts_samples():
    rig = Rig()
    sample = rig.poll()
    assert sample is not None
    assert sample.sensor == "kettle" and sample.watts == pytest.approx(18.0) and not sample.overflow
    assert sample.mono == 0.0
    assert rig.sensor.health is Health.OK
    assert rig.sensor.take_health_changes() == []
    assert rig.sensor.stats.inits == 1 and rig.sensor.stats.samples == 1


def test_a_single_nack_is_retried_within_the_poll():
    rig = Rig()
    rig.poll()
    rig.bus.nack(0x40, count=1)
    assert rig.poll().watts == pytest.approx(18.0)
    assert rig.sensor.stats.retries == 1
    assert rig.sensor.health is Health.OK and rig.sensor.take_health_changes() == []


def test_timeouts_degrade_then_fail_after_the_configured_time_then_clear():
    rig = Rig(fail_after_s=60.0)
    rig.poll()
    rig.bus.timeout(0x40)
    start = rig.clock.monotonic()
    samples = rig.polls(7)
    assert samples == [None] * 7
    changes = rig.sensor.take_health_changes()
    assert [(c.old, c.new) for c in changes] == [(Health.OK, Health.DEGRADED), (Health.DEGRADED, Health.FAILED)]
    degraded, failed = changes
    assert degraded.mono == start and not degraded.raises_alert
    assert failed.mono == pytest.approx(start + 60.0, abs=0.1)  # transfers take a little virtual time
    assert failed.raises_alert and failed.alert_type == "sensor_fault" and failed.category == "system"
    assert failed.sensor == "kettle"
    assert "timed out" in failed.reason and "errno" not in failed.reason.split(":")[0]
    assert rig.sensor.status()["health"] == "failed"

    rig.bus.clear_faults(0x40)
    results = rig.polls(7)  # back-off may skip a poll or two; then it reads again
    assert results[-1] is not None and results[-1].watts == pytest.approx(18.0)
    (recovered,) = rig.sensor.take_health_changes()
    assert recovered.old is Health.FAILED and recovered.new is Health.OK and recovered.clears_alert
    assert rig.sensor.health is Health.OK


def test_a_chip_that_never_answered_fails_at_its_first_failed_poll():
    """Missing or miswired from the start (issue 16: it looked healthy for 2 minutes); the poll's
    own retry still covers a single NACK, and the first good reading clears it."""
    rig = Rig()
    rig.bus.nack(0x40)
    assert rig.poll() is None
    (change,) = rig.sensor.take_health_changes()
    assert (change.old, change.new) == (Health.OK, Health.FAILED) and change.raises_alert
    assert change.reason.startswith("no reading since the hub started: ")
    rig.bus.clear_faults(0x40)
    samples = rig.polls(4)  # after the back-off it reads again
    assert samples[-1] is not None and rig.sensor.health is Health.OK


def test_default_failure_time_is_two_minutes():
    rig = Rig()
    rig.poll()  # it has answered once: later failures get the two minutes
    rig.bus.nack(0x40)
    for _ in range(12):
        rig.poll()
    assert rig.sensor.health is Health.DEGRADED
    rig.poll()  # t = 120 s
    assert rig.sensor.health is Health.FAILED


def test_stuck_bus_backs_off_exponentially_and_recovers_with_reinit():
    rig = Rig(backoff_initial_s=10.0, backoff_max_s=40.0, fail_after_s=1000.0)
    rig.poll()
    inits = rig.sensor.stats.inits
    rig.bus.stick()
    attempts = []
    for i in range(20):
        before = rig.bus.transfers
        rig.poll()
        if rig.bus.transfers > before:
            attempts.append(i * POLL)
    gaps = [b - a for a, b in zip(attempts, attempts[1:])]
    assert gaps[:4] == [10.0, 20.0, 40.0, 40.0]  # doubling, capped
    assert rig.sensor.health is Health.DEGRADED
    rig.bus.unstick()
    results = rig.polls(5)
    assert any(r is not None for r in results)
    assert rig.sensor.stats.inits > inits  # config + calibration rewritten after the errors
    assert rig.sensor.stats.reopens >= 1
    assert rig.sensor.health is Health.OK


def test_brown_out_costs_one_sample_and_the_chip_is_recalibrated():
    rig = Rig()
    rig.poll()
    rig.bus.brown_out(0x40)
    assert rig.poll() is None
    assert rig.chip.calibration == rig.meter.calibration
    assert rig.poll().watts == pytest.approx(18.0)
    assert rig.sensor.stats.resets == 1
    assert rig.sensor.health is Health.OK and rig.sensor.take_health_changes() == []


def test_repeated_resets_degrade_health():
    rig = Rig(fail_after_s=30.0)
    rig.poll()
    for _ in range(4):
        rig.bus.brown_out(0x40)
        assert rig.poll() is None
    news = [c.new for c in rig.sensor.take_health_changes()]
    assert news == [Health.DEGRADED, Health.FAILED]


def test_vanished_device_is_reopened_and_reinitialised_when_it_returns():
    rig = Rig(reopen_after=2)
    rig.poll()
    rig.bus.vanish(0x40)
    rig.polls(6)
    assert rig.bus.reopens >= 1
    assert rig.sensor.stats.last_error and "NACK" in rig.sensor.stats.last_error
    rig.bus.reappear(0x40)  # powered up again: calibration 0
    assert rig.chip.calibration == 0
    results = rig.polls(7)
    assert results[-1].watts == pytest.approx(18.0)
    assert rig.chip.calibration == rig.meter.calibration
    assert rig.sensor.health is Health.OK


def test_adapter_gone_reopens_at_once_and_recovers_after_replug():
    rig = Rig()
    rig.poll()
    rig.bus.unplug()
    rig.polls(3)
    assert "vanished" in rig.sensor.stats.last_error
    assert rig.sensor.stats.reopens >= 1
    rig.bus.replug()
    results = rig.polls(6)
    assert results[-1] is not None
    assert rig.bus.reopens >= 1 and rig.bus.is_open


def test_smbus_bus_over_a_simulated_adapter_recovers_after_replug():
    """The production bus class (SMBusBus via BusPool) driven over SimBus.handle, through an unplug."""
    clock = FakeClock(mono=0.0)
    sim = SimBus(clock, transfer_seconds=0.0005)
    chip = sim.attach(0x40, INA219Sim(clock.monotonic, 0.1, current=1.5, bus_volts=12.0))
    bus = BusPool(sim.handle).get(1)
    sensor = PowerSensor("kettle", make_power_meter("ina219", bus, 0x40, shunt_ohms=0.1, max_current_a=3.2))
    assert sensor.poll(clock.monotonic()).watts == pytest.approx(18.0)
    sim.unplug()
    for _ in range(3):
        clock.advance(POLL)
        assert sensor.poll(clock.monotonic()) is None
    assert "vanished" in sensor.stats.last_error and "i2c-1" in sensor.stats.last_error
    sim.replug()
    sim.brown_out(0x40)  # the sensor lost power with the adapter
    samples = []
    for _ in range(6):
        clock.advance(POLL)
        samples.append(sensor.poll(clock.monotonic()))
    assert samples[-1] is not None and samples[-1].watts == pytest.approx(18.0)
    assert sim.opens >= 2 and chip.calibration == 4096
    assert sensor.health is Health.OK


def test_polls_during_back_off_do_not_touch_the_bus():
    rig = Rig(backoff_initial_s=25.0, backoff_max_s=25.0)
    rig.bus.nack(0x40)
    rig.poll()
    before = rig.bus.transfers
    rig.poll()
    rig.poll()
    assert rig.bus.transfers == before
    rig.poll()
    assert rig.bus.transfers > before


def test_wrong_chip_is_reported_clearly_and_fails():
    clock = FakeClock(mono=0.0)
    bus = SimBus(clock)
    bus.attach(0x40, INA219Sim(clock.monotonic))
    sensor = PowerSensor("dc_pump", INA226(bus, 0x40), fail_after_s=30.0)
    for i in range(5):
        assert sensor.poll(i * POLL) is None
    assert sensor.health is Health.FAILED
    assert "not an INA226" in sensor.stats.last_error and WrongDeviceError.__name__ in sensor.stats.last_error


class Broken:
    """A meter with a bug or nonsense readings: the supervisor must contain it."""

    chip = "broken"

    def __init__(self, result):
        self.result = result
        self.bus = SimBus()

    def describe(self):
        return "broken meter"

    def init(self):
        pass

    def measure(self):
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


class Reading:
    def __init__(self, watts, overflow=False):
        self.watts = watts
        self.overflow = overflow


@pytest.mark.parametrize("result", [RuntimeError("driver bug"), KeyError("x"), Reading(math.nan)])
def test_poll_never_raises(result):
    sensor = PowerSensor("x", Broken(result), fail_after_s=20.0)
    for i in range(4):
        assert sensor.poll(i * POLL) is None
    assert sensor.health is Health.FAILED
    assert sensor.stats.faults >= 1


def test_overflow_reading_is_a_flagged_sample_and_logged(caplog):
    sensor = PowerSensor("heater", Broken(Reading(3000.0, overflow=True)))
    with caplog.at_level(logging.WARNING):
        sample = sensor.poll(0.0)
    assert sample.overflow and sample.watts == 3000.0
    assert sensor.stats.overflows == 1
    assert "beyond the chip's range" in caplog.text


def test_error_logs_are_rate_limited(caplog):
    rig = Rig(backoff_initial_s=1.0, backoff_max_s=1.0, fail_after_s=10_000.0, log_interval_s=300.0)
    rig.bus.nack(0x40)
    with caplog.at_level(logging.ERROR, logger="test.power"):
        rig.polls(60)  # ten minutes of failures
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert 2 <= len(errors) <= 3
    assert "NACK" in errors[0].getMessage() and "'kettle'" in errors[0].getMessage()
    assert "suppressed" in errors[-1].getMessage()


def test_rate_limited_log_counts_what_it_drops(caplog):
    limiter = RateLimitedLog(logging.getLogger("test.limit"), 60.0)
    with caplog.at_level(logging.INFO, logger="test.limit"):
        assert limiter.log(0.0, "a", logging.INFO, "first")
        assert not limiter.log(10.0, "a", logging.INFO, "again")
        assert limiter.log(10.0, "b", logging.INFO, "other key")
        assert limiter.log(61.0, "a", logging.INFO, "later")
    assert [r.getMessage() for r in caplog.records] == ["first", "other key",
                                                        "later (1 similar message suppressed)"]


def test_status_reports_for_technicians():
    rig = Rig()
    rig.poll()
    status = rig.sensor.status()
    assert status["sensor"] == "kettle" and status["health"] == "ok"
    assert status["device"] == "INA219 at 0x40"
    assert status["last_watts"] == pytest.approx(18.0)
    assert status["stats"]["samples"] == 1


def test_settings_are_checked():
    meter = Broken(Reading(1.0))
    with pytest.raises(ValueError):
        PowerSensor("x", meter, fail_after_s=0)
    with pytest.raises(ValueError):
        PowerSensor("x", meter, backoff_initial_s=10, backoff_max_s=5)
    with pytest.raises(ValueError):
        PowerSensor("x", meter, reopen_after=0)


def test_make_power_meter_builds_each_chip_from_config_values():
    clock = FakeClock(mono=0.0)
    bus = SimBus(clock)
    ina = make_power_meter("ina219", bus, 0x40, shunt_ohms=0.1, max_current_a=3.2)
    assert isinstance(ina, INA219) and ina.calibration == 4096
    ina226 = make_power_meter("INA226", bus, 0x41, shunt_ohms=0.002, max_current_a=10.0, averages=64)
    assert isinstance(ina226, INA226) and ina226.config.avg == 3
    ct = make_power_meter("ads1115", bus, 0x48, burden_ohms=22.0, ct_ratio=2000.0, mains_volts=100.0,
                          monotonic=clock.monotonic)
    assert isinstance(ct, CTClamp) and ct.mains_volts == 100.0 and ct.adc.config.full_scale_volts == 2.048
    with pytest.raises(ValueError, match="monotonic"):
        make_power_meter("ads1115", bus, 0x48)
    with pytest.raises(ValueError, match="ina219, ina226, ads1115"):
        make_power_meter("hx711", bus, 0x40)


def test_ct_clamp_sensor_end_to_end_with_a_fault():
    clock = FakeClock(mono=0.0)
    bus = SimBus(clock, transfer_seconds=1 / 820)
    ct = MainsCT(ConstantLoad("kettle", 2000.0), mains_volts=100.0, noise_amps=0.02)
    bus.attach(0x48, ADS1115Sim(clock.monotonic, [ct.volts, ct.reference, 0.0, 0.0]))
    meter = make_power_meter("ads1115", bus, 0x48, burden_ohms=22.0, mains_volts=100.0, monotonic=clock.monotonic)
    sensor = PowerSensor("kettle", meter, fail_after_s=30.0)
    assert sensor.poll(clock.monotonic()).watts == pytest.approx(2000.0, rel=0.03)
    bus.stick()
    for _ in range(5):
        clock.advance(POLL)
        assert sensor.poll(clock.monotonic()) is None
    assert sensor.health is Health.FAILED
    bus.unstick()
    for _ in range(8):
        clock.advance(POLL)
        sample = sensor.poll(clock.monotonic())
    assert sample is not None and sample.watts == pytest.approx(2000.0, rel=0.03)
    assert [c.new for c in sensor.take_health_changes()] == [Health.DEGRADED, Health.FAILED, Health.OK]


# --------------------------------------------------------------------------- split for the I/O thread


def _script(rig, split):
    """A run of faults of every kind, polled whole or split as the daemon splits it."""
    def poll():
        now = rig.clock.monotonic()
        if split:
            plan = rig.sensor.begin(now)
            if plan is None:
                sample = None
            else:
                before = (dict(rig.sensor.stats.__dict__), rig.sensor.health, rig.sensor._needs_init)
                result = []
                worker = threading.Thread(target=lambda: result.append(rig.sensor.read(plan)), name="io")
                worker.start()
                worker.join()
                # the read only talked to the chip: counters, health and flags move in finish, on the loop
                assert (dict(rig.sensor.stats.__dict__), rig.sensor.health, rig.sensor._needs_init) == before
                sample = rig.sensor.finish(now, result[0])
        else:
            sample = rig.sensor.poll(now)
        rig.clock.advance(POLL)
        return None if sample is None else round(sample.watts, 3)

    out = [poll() for _ in range(2)]
    rig.bus.nack(0x40, count=1)  # retried at once
    out += [poll() for _ in range(2)]
    rig.bus.timeout(0x40)  # degraded, back-off, failed
    out += [poll() for _ in range(20)]
    rig.bus.clear_faults(0x40)
    out += [poll() for _ in range(10)]
    rig.bus.unplug()  # ENODEV: reopen
    out += [poll() for _ in range(5)]
    rig.bus.replug()
    rig.bus.brown_out(0x40)  # the chip forgot its calibration: re-initialised
    out += [poll() for _ in range(10)]
    changes = [(c.old, c.new, c.mono) for c in rig.sensor.take_health_changes()]
    return out, changes, dict(rig.sensor.stats.__dict__)


def test_begin_read_finish_supervise_exactly_as_poll_does():
    whole = _script(Rig(fail_after_s=60.0), split=False)
    split = _script(Rig(fail_after_s=60.0), split=True)
    assert split == whole
    samples, changes, stats = whole
    assert [c[:2] for c in changes] == [(Health.OK, Health.DEGRADED), (Health.DEGRADED, Health.FAILED),
                                        (Health.FAILED, Health.OK), (Health.OK, Health.DEGRADED),
                                        (Health.DEGRADED, Health.OK)]
    assert stats["retries"] > 0 and stats["reopens"] > 0 and stats["inits"] > 2


def test_a_driver_bug_in_the_thread_is_a_fault_of_the_chip_not_an_exception():
    rig = Rig()
    rig.poll()  # a chip that has answered: one fault degrades it
    rig.meter.measure = lambda: 1 / 0
    plan = rig.sensor.begin(rig.clock.monotonic())
    outcome = rig.sensor.read(plan)
    assert isinstance(outcome.error, ZeroDivisionError) and outcome.needs_init
    assert rig.sensor.finish(rig.clock.monotonic(), outcome) is None
    assert rig.sensor.health is Health.DEGRADED and "ZeroDivisionError" in rig.sensor.stats.last_error


def test_make_classifier_follows_the_sensor_config():
    """role autonomous reports nothing; metering device judges use against the device's own standby."""
    device = make_classifier("pc", role="normal", metering="device")
    assert device.device and not device.autonomous and device.name == "pc"
    shared = make_classifier("mains", role="daily_route")
    assert not shared.device and shared.config.role == "normal"
    fridge = make_classifier("fridge", role="autonomous", metering="device")
    assert fridge.autonomous
    for i in range(10):
        assert fridge.update(i * 10.0, 1.0) is None and device.update(i * 10.0, 1.0) is None
    for i in range(10, 20):
        assert fridge.update(i * 10.0, 60.0) is None
    assert [device.update(i * 10.0, 60.0) for i in range(10, 20)].count(None) == 9  # a 60 W PC: ON from day 1
    with pytest.raises(ValueError, match="metering"):
        make_classifier("x", metering="flat")
