"""INA219 driver against the byte-level register model: datasheet examples, OVF, CNVR, resets."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hubd.clock import FakeClock
from hubd.sensors.i2c import DeviceError, DeviceResetError, read_u16
from hubd.sensors.ina219 import (INA219, INA219Config, calibration_value, decode_bus_register, nice_current_lsb)
from hubsim.i2c import ADS1115Sim, INA219Sim, SimBus


def rig(current=0.0, bus_volts=12.0, shunt_ohms=0.1, **driver):
    clock = FakeClock(mono=0.0)
    bus = SimBus(clock)
    chip = bus.attach(0x40, INA219Sim(clock.monotonic, shunt_ohms=shunt_ohms, current=current, bus_volts=bus_volts))
    driver.setdefault("shunt_ohms", shunt_ohms)
    ina = INA219(bus, 0x40, **driver)
    return clock, bus, chip, ina


def test_datasheet_example_registers_and_values():
    """SBOS448 Table 3: 10 A through 2 mΩ at 12 V, 16 V range, ±40 mV, current LSB 1 mA."""
    clock, bus, chip, ina = rig(current=10.0, bus_volts=11.98, shunt_ohms=0.002, max_current=10.0,
                                current_lsb=1e-3, bus_range_volts=16, shunt_range_volts=0.04)
    assert ina.config.encode() == 0x019F
    assert ina.calibration == 0x5000 == 20480
    assert ina.power_lsb == pytest.approx(0.020)
    ina.init()
    clock.advance(0.01)
    assert read_u16(bus, 0x40, 0x01) == 0x07D0
    assert read_u16(bus, 0x40, 0x02) >> 3 == 0x0BB3 == 2995
    assert read_u16(bus, 0x40, 0x04) == 0x2710
    assert read_u16(bus, 0x40, 0x03) == 0x1766
    reading = ina.read()
    assert reading.shunt_volts == pytest.approx(0.020)
    assert reading.bus_volts == pytest.approx(11.98)
    assert reading.current_amps == pytest.approx(10.0)
    assert reading.power_watts == pytest.approx(119.8)
    assert reading.watts == reading.power_watts
    assert not reading.overflow


def test_point_one_ohm_cal_4096_gives_0_1_ma_and_2_mw_per_lsb():
    clock, bus, chip, ina = rig(current=1.5, bus_volts=12.0, shunt_ohms=0.1, max_current=3.2)
    assert ina.current_lsb == 1e-4
    assert ina.calibration == 4096
    assert ina.power_lsb == pytest.approx(0.002)
    assert ina.shunt_range_volts == 0.32
    ina.init()
    clock.advance(0.01)
    r = ina.read()
    assert r.current_amps == pytest.approx(1.5)
    assert r.power_watts == pytest.approx(18.0)
    assert read_u16(bus, 0x40, 0x03) == 9000  # 18 W / 2 mW


def test_negative_current_decodes_signed():
    clock, bus, chip, ina = rig(current=-0.75, max_current=3.2)
    ina.init()
    clock.advance(0.01)
    r = ina.read()
    assert r.shunt_volts == pytest.approx(-0.075)
    assert r.current_amps == pytest.approx(-0.75)
    assert r.power_watts == pytest.approx(9.0)


def test_lsb_and_calibration_choices():
    assert nice_current_lsb(3.2) == 1e-4
    assert nice_current_lsb(10.0) == 4e-4
    assert nice_current_lsb(2.0) == 7e-5
    assert calibration_value(0.04096, 1e-4, 0.1) == 4096  # not 4095 from binary rounding
    with pytest.raises(ValueError):
        nice_current_lsb(0)


def test_pga_is_chosen_from_the_expected_shunt_drop():
    assert rig(max_current=0.3)[3].shunt_range_volts == 0.040
    assert rig(max_current=0.8)[3].shunt_range_volts == 0.080
    assert rig(max_current=1.5)[3].shunt_range_volts == 0.160
    with pytest.raises(ValueError, match="320 mV"):
        rig(max_current=4.0)


def test_bad_settings_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="bus_samples"):
        rig(bus_samples=3)
    with pytest.raises(ValueError, match="bus_range_volts"):
        rig(bus_range_volts=24)
    with pytest.raises(ValueError, match="too fine"):
        rig(shunt_ohms=0.1, current_lsb=1e-9)
    with pytest.raises(ValueError, match="shunt_ohms"):
        rig(shunt_ohms=0)
    with pytest.raises(ValueError, match="7-bit"):
        INA219(SimBus(), 0x80)


def test_tiny_currents_get_a_calibration_that_fits():
    _, _, _, ina = rig(shunt_ohms=0.01, max_current=0.01)
    assert 0 < ina.calibration <= 0xFFFE


def test_averaging_sets_the_adc_fields():
    _, _, _, ina = rig(bus_samples=8, shunt_samples=128)
    assert ina.config.bus_adc == 0b1011 and ina.config.shunt_adc == 0b1111


def test_calibration_trim_scales_the_register():
    _, _, _, ina = rig(max_current=3.2, calibration_trim=1.02)
    assert ina.calibration == 4176  # trunc(4096*1.02)=4177, bit 0 not implemented


def test_brown_out_is_detected_repaired_and_reported():
    clock, bus, chip, ina = rig(current=1.0, max_current=3.2)
    ina.init()
    clock.advance(0.01)
    assert ina.read().current_amps == pytest.approx(1.0)
    bus.brown_out(0x40)
    clock.advance(0.01)
    assert chip.calibration == 0
    with pytest.raises(DeviceResetError, match="calibration read 0x0000"):
        ina.read()
    assert chip.calibration == 4096 and chip.config == ina.config.encode()
    clock.advance(0.01)
    assert ina.read().current_amps == pytest.approx(1.0)


def test_overflow_by_shunt_clipping_gives_a_flagged_lower_bound():
    clock, bus, chip, ina = rig(current=3.0, max_current=1.5)  # ±160 mV range, 300 mV drop
    ina.init()
    clock.advance(0.01)
    r = ina.read()
    assert r.overflow
    assert r.current_amps == pytest.approx(1.6)
    assert r.watts == pytest.approx(1.6 * 12.0)
    assert r.watts <= 3.0 * 12.0


def test_overflow_of_the_current_arithmetic_uses_the_shunt_instead():
    clock, bus, chip, ina = rig(current=3.0, max_current=1.6, shunt_range_volts=0.32)
    assert ina.calibration == 8192
    ina.init()
    clock.advance(0.01)
    assert read_u16(bus, 0x40, 0x02) & 0x1  # OVF
    r = ina.read()
    assert r.overflow
    assert r.current_amps == pytest.approx(3.0)
    assert r.watts == pytest.approx(36.0)


def test_conversion_ready_sets_on_conversion_and_clears_on_power_read():
    clock, bus, chip, ina = rig(current=1.0, shunt_samples=128, bus_samples=128)
    ina.init()
    assert not decode_bus_register(read_u16(bus, 0x40, 0x02))[1]  # 2 x 68.1 ms not elapsed
    assert read_u16(bus, 0x40, 0x04) == 0  # results not there yet
    clock.advance(0.14)
    assert decode_bus_register(read_u16(bus, 0x40, 0x02))[1]
    first = ina.read()  # reads Power: clears CNVR
    assert first.conversion_ready and first.current_amps == pytest.approx(1.0)
    assert not ina.read().conversion_ready
    clock.advance(0.14)
    assert ina.read().conversion_ready


def test_results_follow_the_inputs_at_conversion_time():
    clock = FakeClock(mono=0.0)
    bus = SimBus(clock)
    bus.attach(0x40, INA219Sim(clock.monotonic, 0.1, current=lambda t: 0.5 if t < 1.0 else 2.0, bus_volts=5.0))
    ina = INA219(bus, 0x40, max_current=3.2)
    ina.init()
    clock.advance(0.5)
    assert ina.read().current_amps == pytest.approx(0.5)
    clock.advance(1.0)
    assert ina.read().current_amps == pytest.approx(2.0)
    assert ina.read().power_watts == pytest.approx(10.0)


def test_software_reset_returns_power_on_values():
    clock, bus, chip, ina = rig()
    ina.init()
    ina.reset()
    assert chip.config == 0x399F and chip.calibration == 0


def test_something_else_at_the_address_fails_the_read_back():
    clock = FakeClock(mono=0.0)
    bus = SimBus(clock)
    bus.attach(0x48, ADS1115Sim(clock.monotonic))
    with pytest.raises(DeviceError, match="not an INA219"):
        INA219(bus, 0x48).init()


def test_a_missing_chip_is_a_nack_naming_the_address():
    clock, bus, chip, ina = rig()
    bus.vanish(0x40)
    with pytest.raises(OSError) as info:
        ina.init()
    assert info.value.errno == 121 and "0x40" in str(info.value)


configs = st.builds(INA219Config, st.booleans(), st.integers(0, 3), st.integers(0, 15), st.integers(0, 15),
                    st.integers(0, 7))


@given(configs)
def test_config_encode_decode_round_trip(config):
    assert INA219Config.decode(config.encode()) == config


@given(st.integers(0, 0x3FFF))
def test_config_register_round_trip(raw):
    assert INA219Config.decode(raw).encode() == raw


@settings(max_examples=60, deadline=None)
@given(current=st.floats(-3.2, 3.2), volts=st.floats(0.0, 26.0))
def test_decoded_values_are_within_one_lsb_of_the_physics(current, volts):
    clock, bus, chip, ina = rig(current=current, bus_volts=volts, max_current=3.2)
    ina.init()
    clock.advance(0.01)
    r = ina.read()
    assert not r.overflow
    assert abs(r.shunt_volts - current * 0.1) <= 10e-6
    assert abs(r.bus_volts - volts) <= 4e-3
    # shunt quantisation (half an LSB, in amps) + current truncation (one LSB) + calibration truncation
    tol_i = 10e-6 / 0.1 / 2 + ina.current_lsb + abs(current) / ina.calibration
    assert abs(r.current_amps - current) <= tol_i
    assert abs(r.power_watts - abs(current) * volts) <= ina.power_lsb + tol_i * volts + abs(current) * 4e-3
