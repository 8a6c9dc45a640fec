"""INA226 driver against the register model: the datasheet example, identification, CVRF/OVF, resets."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hubd.clock import FakeClock
from hubd.sensors.i2c import DeviceResetError, WrongDeviceError, read_u16
from hubd.sensors.ina226 import INA226, INA226Config
from hubsim.i2c import INA219Sim, INA226Sim, SimBus


def rig(current=0.0, bus_volts=12.0, shunt_ohms=0.002, chip_kwargs=None, **driver):
    clock = FakeClock(mono=0.0)
    bus = SimBus(clock)
    chip = bus.attach(0x40, INA226Sim(clock.monotonic, shunt_ohms=shunt_ohms, current=current, bus_volts=bus_volts,
                                      **(chip_kwargs or {})))
    driver.setdefault("shunt_ohms", shunt_ohms)
    return clock, bus, chip, INA226(bus, 0x40, **driver)


def test_datasheet_example_registers_and_values():
    """SBOS547 Table 1: 10 A through 2 mΩ at 12 V, current LSB 1 mA, default config 4127h."""
    clock, bus, chip, ina = rig(current=10.0, bus_volts=11.98, max_current=10.0, current_lsb=1e-3, averages=1)
    assert ina.config.encode() == 0x4127
    assert ina.calibration == 0x0A00 == 2560
    assert ina.power_lsb == pytest.approx(0.025)
    ina.init()
    clock.advance(0.01)
    assert read_u16(bus, 0x40, 0x01) == 0x1F40
    assert read_u16(bus, 0x40, 0x02) == 0x2570 == 9584
    assert read_u16(bus, 0x40, 0x04) == 0x2710
    assert read_u16(bus, 0x40, 0x03) == 0x12B8 == 4792
    r = ina.read()
    assert r.shunt_volts == pytest.approx(0.020)
    assert r.bus_volts == pytest.approx(11.98)
    assert r.current_amps == pytest.approx(10.0)
    assert r.power_watts == pytest.approx(119.8)
    assert not r.overflow


def test_default_scaling_for_10_a():
    _, _, _, ina = rig(max_current=10.0)
    assert ina.current_lsb == 4e-4
    assert ina.calibration == 6400
    assert ina.power_lsb == pytest.approx(0.01)


def test_identification_accepts_die_revisions():
    clock, bus, chip, ina = rig(current=1.0, chip_kwargs={"die_id": 0x2261})
    ina.init()
    clock.advance(0.1)
    assert ina.read().current_amps == pytest.approx(1.0)


def test_wrong_manufacturer_is_a_clear_error():
    clock, bus, chip, ina = rig(chip_kwargs={"manufacturer_id": 0x1234})
    with pytest.raises(WrongDeviceError, match="not an INA226: manufacturer ID 0x1234"):
        ina.init()
    assert chip.calibration == 0  # nothing was written to the wrong chip


def test_an_ina219_at_the_address_is_named():
    clock = FakeClock(mono=0.0)
    bus = SimBus(clock)
    bus.attach(0x40, INA219Sim(clock.monotonic))
    with pytest.raises(WrongDeviceError, match="ina219"):
        INA226(bus, 0x40).init()


def test_averaging_and_conversion_times_set_the_config():
    _, _, _, ina = rig(averages=1024, bus_conversion_us=8244, shunt_conversion_us=140)
    assert ina.config == INA226Config(avg=7, vbusct=7, vshct=0)
    assert ina.config.update_seconds == pytest.approx((8244 + 140) * 1024e-6)
    with pytest.raises(ValueError, match="averages"):
        rig(averages=10)
    with pytest.raises(ValueError, match="bus_conversion_us"):
        rig(bus_conversion_us=1000)
    with pytest.raises(ValueError, match="81.92 mV"):
        rig(shunt_ohms=0.01, max_current=10.0)


def test_conversion_ready_flag_clears_when_mask_enable_is_read():
    clock, bus, chip, ina = rig(current=2.0, averages=16)
    ina.init()
    assert not read_u16(bus, 0x40, 0x06) & 0x0008
    clock.advance(ina.config.update_seconds * 1.01)
    assert read_u16(bus, 0x40, 0x06) & 0x0008
    assert not read_u16(bus, 0x40, 0x06) & 0x0008  # cleared by the read
    clock.advance(ina.config.update_seconds)
    r = ina.read()
    assert r.conversion_ready and r.current_amps == pytest.approx(2.0)
    assert not ina.read().conversion_ready


def test_math_overflow_flag_uses_the_shunt_voltage():
    # 60 mV is inside the ±81.92 mV shunt range, but 24000 * 5120 / 2048 = 60000 overflows the Current register
    clock, bus, chip, ina = rig(current=30.0, bus_volts=12.0, max_current=10.0, current_lsb=5e-4)
    ina.init()
    clock.advance(0.1)
    assert read_u16(bus, 0x40, 0x06) & 0x0004
    clock.advance(0.1)
    r = ina.read()
    assert r.overflow
    assert r.current_amps == pytest.approx(30.0)
    assert r.watts == pytest.approx(360.0)


def test_brown_out_is_detected_and_repaired():
    clock, bus, chip, ina = rig(current=5.0)
    ina.init()
    clock.advance(0.1)
    assert ina.read().current_amps == pytest.approx(5.0)
    bus.brown_out(0x40)
    clock.advance(0.1)
    with pytest.raises(DeviceResetError, match="brown-out"):
        ina.read()
    assert chip.calibration == ina.calibration
    clock.advance(0.1)
    assert ina.read().current_amps == pytest.approx(5.0)


def test_config_reads_back_with_bit_14_set():
    clock, bus, chip, ina = rig()
    ina.init()
    assert read_u16(bus, 0x40, 0x00) & 0x4000
    ina.reset()
    assert read_u16(bus, 0x40, 0x00) == 0x4127 and chip.calibration == 0


@given(st.builds(INA226Config, st.integers(0, 7), st.integers(0, 7), st.integers(0, 7), st.integers(0, 7)))
def test_config_encode_decode_round_trip(config):
    assert INA226Config.decode(config.encode()) == config
    assert config.encode() & 0x4000


@settings(max_examples=60, deadline=None)
@given(current=st.floats(-20.0, 20.0), volts=st.floats(0.0, 36.0))
def test_decoded_values_are_within_one_lsb_of_the_physics(current, volts):
    clock, bus, chip, ina = rig(current=current, bus_volts=volts, max_current=20.0)
    ina.init()
    clock.advance(0.1)
    r = ina.read()
    assert not r.overflow
    assert abs(r.shunt_volts - current * 0.002) <= 2.5e-6
    assert abs(r.bus_volts - volts) <= 1.25e-3
    # shunt quantisation (half an LSB, in amps) + current truncation (one LSB) + calibration truncation
    tol_i = 2.5e-6 / 0.002 / 2 + ina.current_lsb + abs(current) / ina.calibration
    assert abs(r.current_amps - current) <= tol_i
    assert abs(r.power_watts - abs(current) * volts) <= ina.power_lsb + tol_i * volts + abs(current) * 1.25e-3
