"""ADS1115 driver and the CT-clamp RMS meter against the register model and independent numpy maths."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hubd.clock import FakeClock
from hubd.sensors.ads1115 import (ADS1115, MUX_AIN0, MUX_AIN0_AIN1, ADS1115Config, CTClamp, RmsWindow, WindowDropped,
                                  ct_full_scale_volts)
from hubd.sensors.i2c import DeviceError, DeviceResetError
from hubsim.i2c import ADS1115Sim, SimBus
from hubsim.loads import ConstantLoad, MainsCT

SPS = 860
PI_READ_SECONDS = 1 / 820  # Python on a Pi reads about 820 conversions a second (hardware.md §5)


class ScheduledClock(FakeClock):
    """A FakeClock that runs callbacks when virtual time passes given instants."""

    def __init__(self, mono=0.0):
        super().__init__(mono=mono)
        self.actions = []

    def at(self, when, action):
        self.actions.append((when, action))

    def advance(self, seconds):
        super().advance(seconds)
        due = [a for a in self.actions if a[0] <= self.monotonic()]
        self.actions = [a for a in self.actions if a[0] > self.monotonic()]
        for _, action in due:
            action()


def adc_rig(inputs=(0.0, 0.0, 0.0, 0.0), transfer=0.0, clock=None, **driver):
    clock = clock or FakeClock(mono=0.0)
    bus = SimBus(clock, transfer_seconds=transfer)
    chip = bus.attach(0x48, ADS1115Sim(clock.monotonic, list(inputs)))
    return clock, bus, chip, ADS1115(bus, 0x48, **driver)


def ct_rig(amps, *, mains_volts=230.0, noise=0.0, harmonics=None, clock=None, transfer=PI_READ_SECONDS,
           full_scale_volts=2.048, **clamp):
    clock = clock or FakeClock(mono=0.0)
    ct = MainsCT(ConstantLoad("load", amps * mains_volts), mains_volts=mains_volts, noise_amps=noise,
                 harmonics=harmonics, seed=3)
    clock_, bus, chip, adc = adc_rig([ct.volts, ct.reference, 0.0, 0.0], transfer=transfer, clock=clock,
                                     full_scale_volts=full_scale_volts, data_rate=SPS)
    meter = CTClamp(adc, burden_ohms=22.0, mains_volts=mains_volts, monotonic=clock.monotonic, **clamp)
    meter.init()
    return clock, bus, chip, meter


# -- the chip -----------------------------------------------------------------------------------------

def test_power_on_config_decodes_as_the_datasheet_says():
    c = ADS1115Config.decode(0x8583)
    assert (c.mux, c.pga, c.single_shot, c.samples_per_second, c.comparator) == (0, 2, True, 128, 0b00011)
    assert c.full_scale_volts == 2.048
    assert c.encode(start=True) == 0x8583


@given(st.builds(ADS1115Config, st.integers(0, 7), st.integers(0, 7), st.booleans(), st.integers(0, 7),
                 st.integers(0, 31)))
def test_config_encode_decode_round_trip(config):
    assert ADS1115Config.decode(config.encode()) == config
    assert ADS1115Config.decode(config.encode(start=True)) == config


@given(st.integers(0, 0x7FFF))
def test_config_register_round_trip(raw):
    assert ADS1115Config.decode(raw).encode() == raw


def test_single_shot_is_busy_until_one_over_the_data_rate():
    clock, bus, chip, adc = adc_rig([1.0, 0.0, 0.0, 0.0], mux=MUX_AIN0, full_scale_volts=4.096, data_rate=128,
                                    continuous=False)
    adc.init()
    adc.start_conversion()
    assert not adc.conversion_ready()
    clock.advance(0.5 / 128)
    assert not adc.conversion_ready()
    clock.advance(0.6 / 128)
    assert adc.conversion_ready()
    assert adc.read_raw() == 8000  # 1.0 V / 125 µV
    assert adc.read_volts() == pytest.approx(1.0)


def test_read_single_polls_until_done_on_a_paced_bus():
    clock, bus, chip, adc = adc_rig([0.0, 0.5, 0.0, 0.0], transfer=0.001, mux=MUX_AIN0_AIN1, continuous=False,
                                    data_rate=128)
    adc.init()
    assert adc.read_single() == pytest.approx(-0.5)
    assert bus.calls["read_i2c_block_data"] >= 8  # polled OS for ~7.8 ms


def test_single_shot_needs_a_single_shot_driver():
    clock, bus, chip, adc = adc_rig(continuous=True)
    with pytest.raises(ValueError, match="continuous"):
        adc.start_conversion()


def test_read_single_gives_up_when_the_chip_never_finishes():
    clock, bus, chip, adc = adc_rig(continuous=False, data_rate=8)
    adc.init()
    with pytest.raises(DeviceError, match="not ready"):
        adc.read_single(max_polls=5)  # no transfer time: the clock never moves


def test_continuous_conversions_update_every_period():
    clock, bus, chip, adc = adc_rig([lambda t: t, 0.0, 0.0, 0.0], mux=MUX_AIN0, full_scale_volts=4.096,
                                    data_rate=250)
    adc.init()
    clock.advance(0.5 / 250)
    assert adc.read_raw() == 0  # first conversion not finished
    clock.advance(1.0 / 250)
    assert adc.read_volts() == pytest.approx(1 / 250, abs=2e-4)  # sampled at t = 1/250
    clock.advance(0.1)
    assert adc.read_volts() == pytest.approx(0.104, abs=2e-4)


def test_pga_clips_at_full_scale_and_rails_clip_inputs():
    clock, bus, chip, adc = adc_rig([3.0, 0.0, 0.0, -1.0], mux=MUX_AIN0, full_scale_volts=2.048, data_rate=860)
    adc.init()
    clock.advance(0.01)
    assert adc.read_raw() == 32767
    adc = ADS1115(bus, 0x48, mux=7, full_scale_volts=0.256)
    adc.init()
    clock.advance(0.01)
    assert adc.read_raw() == -32768  # -0.3 V rail clamp, still beyond -0.256 V


def test_bad_settings_are_refused():
    bus = SimBus()
    with pytest.raises(ValueError, match="full_scale_volts"):
        ADS1115(bus, 0x48, full_scale_volts=3.3)
    with pytest.raises(ValueError, match="data_rate"):
        ADS1115(bus, 0x48, data_rate=1000)
    with pytest.raises(ValueError, match="mux"):
        ADS1115(bus, 0x48, mux=9)


def test_init_detects_a_chip_that_does_not_keep_its_config():
    clock, bus, chip, adc = adc_rig()
    chip.write_register = lambda reg, value: None  # a device that ignores writes
    with pytest.raises(DeviceError, match="does not read back"):
        adc.init()


# -- RMS ------------------------------------------------------------------------------------------------

@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 2000), offset=st.floats(-20000, 20000),
       amplitude=st.floats(0, 20000))
def test_rms_window_matches_numpy(seed, n, offset, amplitude):
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.uniform(0.0005, 0.002, n))
    x = offset + amplitude * np.sin(2 * np.pi * 50 * t + rng.uniform(0, 6.3)) + rng.normal(0, 30, n)
    window = RmsWindow()
    for ti, xi in zip(t, x):
        window.add(float(ti), float(xi))
    expected = np.sqrt(np.mean((x - x.mean()) ** 2))
    assert window.rms == pytest.approx(expected, rel=1e-9, abs=1e-6)
    assert window.mean == pytest.approx(x.mean(), rel=1e-9, abs=1e-6)
    assert window.span == pytest.approx(t[-1] - t[0])
    assert window.max_gap == pytest.approx(np.diff(t).max())


def test_rms_window_refuses_time_going_back():
    window = RmsWindow()
    window.add(1.0, 0.0)
    with pytest.raises(ValueError, match="monotonic"):
        window.add(0.5, 0.0)


def test_ct_waveform_rms_matches_numpy_on_the_same_samples():
    """The load model's waveform, sampled at a Pi's read rate, has the RMS numpy computes and the amps asked for."""
    ct = MainsCT(ConstantLoad("kettle", 2300.0), mains_volts=230.0, noise_amps=0.0, harmonics={3: 0.2, 5: 0.1})
    times = np.arange(0.0, 0.5, PI_READ_SECONDS)
    volts = ct.sample(times)
    rms_volts = np.sqrt(np.mean((volts - volts.mean()) ** 2))
    assert rms_volts / 22.0 * 2000 == pytest.approx(10.0, rel=0.01)
    window = RmsWindow()
    for t, v in zip(times, volts):
        window.add(float(t), float(v))
    assert window.rms == pytest.approx(rms_volts, rel=1e-9)


# -- the CT clamp over the simulated chip ---------------------------------------------------------------------

@pytest.mark.parametrize("amps", [0.5, 2.0, 10.0, 40.0])
def test_ct_clamp_measures_rms_current_and_watts(amps):
    clock, bus, chip, meter = ct_rig(amps, noise=0.02)
    r = meter.measure()
    assert r.amps_rms == pytest.approx(amps, rel=0.03, abs=0.03)
    assert r.watts == pytest.approx(amps * 230.0, rel=0.03, abs=7)
    assert r.seconds >= 0.5 and r.samples >= 400
    assert abs(r.offset_volts) < 0.002  # the bias was removed
    assert not r.clipped and not r.below_floor


def test_ct_clamp_rms_includes_harmonics():
    clock, bus, chip, meter = ct_rig(5.0, harmonics={3: 0.3})
    assert meter.measure().amps_rms == pytest.approx(5.0, rel=0.03)


def test_ct_clamp_agrees_with_numpy_on_the_samples_it_read():
    clock, bus, chip, meter = ct_rig(1500 / 230, noise=0.05)
    codes = []
    read_raw = meter.adc.read_raw

    def recording():
        code = read_raw()
        codes.append(code)
        return code

    meter.adc.read_raw = recording
    r = meter.measure()
    window = np.array(codes[-r.samples:], dtype=float)  # the first reads were the settling ones
    expected_amps = np.sqrt(np.mean((window - window.mean()) ** 2)) * (2.048 / 32768) * 2000 / 22.0
    assert r.amps_rms == pytest.approx(expected_amps, rel=1e-9)
    assert r.watts == pytest.approx(expected_amps * 230.0, rel=1e-9)
    assert r.amps_rms == pytest.approx(1500 / 230, rel=0.03)


def test_below_a_quarter_amp_is_off_not_a_small_load():
    clock, bus, chip, meter = ct_rig(0.1, noise=0.02)
    r = meter.measure()
    assert r.below_floor and r.watts == 0.0
    assert r.amps_rms < 0.25


def test_clipping_is_flagged_as_overflow():
    clock, bus, chip, meter = ct_rig(60.0, full_scale_volts=1.024)  # 60 A * √2 / 2000 * 22 Ω = 0.93 V peak
    assert not meter.measure().overflow
    clock, bus, chip, meter = ct_rig(80.0, full_scale_volts=1.024)  # 1.24 V peak: beyond ±1.024 V
    r = meter.measure()
    assert r.overflow and r.clipped
    assert r.amps_rms < 80.0


def test_window_with_a_pause_is_dropped():
    clock, bus, chip, meter = ct_rig(5.0)
    start = clock.monotonic()
    bumped = []

    def stalling():
        now = clock.monotonic()
        if now - start > 0.2 and not bumped:
            bumped.append(now)
            clock.advance(0.1)  # the process was descheduled for 100 ms
        return clock.monotonic()

    meter.monotonic = stalling
    with pytest.raises(WindowDropped, match="pause"):
        meter.measure()


def test_window_with_too_few_samples_is_dropped():
    clock, bus, chip, meter = ct_rig(5.0, transfer=0.04, max_gap_s=0.1)
    with pytest.raises(WindowDropped, match="samples"):
        meter.measure()


def test_reset_during_the_window_drops_it_and_reinitialises():
    clock = ScheduledClock()
    clock_, bus, chip, meter = ct_rig(5.0, clock=clock)
    clock.at(clock.monotonic() + 0.25, lambda: bus.brown_out(0x48))
    with pytest.raises(DeviceResetError, match="re-initialised"):
        meter.measure()
    assert meter.adc.config_intact()
    assert meter.measure().amps_rms == pytest.approx(5.0, rel=0.03)


def test_a_clock_that_does_not_move_cannot_hang_the_meter():
    clock, bus, chip, meter = ct_rig(5.0, transfer=0.0)
    with pytest.raises(DeviceError, match="without"):
        meter.measure()


def test_each_window_rewrites_the_config_so_clamps_can_share_an_adc():
    clock = FakeClock(mono=0.0)
    bus = SimBus(clock, transfer_seconds=PI_READ_SECONDS)
    a = MainsCT(ConstantLoad("a", 460.0), mains_volts=230.0, noise_amps=0.0)
    b = MainsCT(ConstantLoad("b", 1150.0), mains_volts=230.0, noise_amps=0.0, phase=1.0)
    bus.attach(0x48, ADS1115Sim(clock.monotonic, [a.volts, a.reference, b.volts, b.reference]))
    first = CTClamp(ADS1115(bus, 0x48, mux=0), burden_ohms=22.0, mains_volts=230.0, monotonic=clock.monotonic)
    second = CTClamp(ADS1115(bus, 0x48, mux=3), burden_ohms=22.0, mains_volts=230.0, monotonic=clock.monotonic)
    first.init()
    second.init()
    assert first.measure().amps_rms == pytest.approx(2.0, rel=0.03)
    assert second.measure().amps_rms == pytest.approx(5.0, rel=0.03)
    assert first.measure().amps_rms == pytest.approx(2.0, rel=0.03)


def test_ct_clamp_settings_are_checked():
    clock, bus, chip, adc = adc_rig()
    with pytest.raises(ValueError, match="0.5 s"):
        CTClamp(adc, burden_ohms=22, mains_volts=230, monotonic=clock.monotonic, window_s=0.2)
    with pytest.raises(ValueError, match="continuous"):
        CTClamp(ADS1115(bus, 0x48, continuous=False), burden_ohms=22, mains_volts=230, monotonic=clock.monotonic)
    with pytest.raises(ValueError, match="burden"):
        CTClamp(adc, burden_ohms=0, mains_volts=230, monotonic=clock.monotonic)


def test_full_scale_follows_the_largest_current():
    assert ct_full_scale_volts(100.0, 2000, 22.0) == 2.048  # 1.56 V peak
    assert ct_full_scale_volts(30.0, 2000, 22.0) == 0.512  # 0.47 V peak
    assert ct_full_scale_volts(100.0, 2000, 33.0) == 4.096
    with pytest.raises(ValueError, match="burden"):
        ct_full_scale_volts(100.0, 2000, 200.0)


def test_ct_sample_model_is_a_scaled_sine():
    ct = MainsCT(ConstantLoad("x", 230.0), mains_volts=230.0, noise_amps=0.0, bias_volts=1.65)
    t = 0.005  # a quarter cycle at 50 Hz: the peak
    assert ct.volts(t) == pytest.approx(1.65 + math.sqrt(2) * 1.0 / 2000 * 22)
