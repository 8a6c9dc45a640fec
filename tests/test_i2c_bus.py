"""The I2C seam: SMBusBus over a fake smbus2, SimBus wire semantics, faults, and the word byte-order trap."""

from __future__ import annotations

import errno
import subprocess
import sys
import textwrap
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hubd.clock import FakeClock
from hubd.sensors import i2c
from hubd.sensors.ads1115 import ADS1115, CTClamp
from hubd.sensors.i2c import (BusPool, I2CBus, I2CError, SMBusBus, describe_errno, from_signed16, read_s16, read_u16,
                              to_signed16, write_u16)
from hubd.sensors.ina219 import INA219
from hubd.sensors.ina226 import INA226
from hubsim.i2c import ADS1115Sim, INA219Sim, INA226Sim, RegisterDevice, SimBus


class ScratchRegisters(RegisterDevice):
    """A pointer chip with 256 plain 16-bit registers."""

    def __init__(self):
        super().__init__()
        self.regs = [0] * 256

    def read_register(self, reg):
        return self.regs[reg]

    def write_register(self, reg, value):
        self.regs[reg] = value

    def power_on_reset(self):
        self.regs = [0] * 256


class FakeSMBus:
    """Stands in for smbus2.SMBus: records calls, raises what it is told, checks the bus lock."""

    def __init__(self, number, owner=None, fail=None):
        self.number = number
        self.owner = owner
        self.fail = fail
        self.closed = False
        self.calls = []

    def _do(self, name, *args):
        if self.owner is not None:
            assert self.owner.lock.locked(), "transfer outside the bus lock"
        self.calls.append((name, *args))
        if self.fail is not None:
            raise self.fail
        return [0x12, 0x34] if name == "read_i2c_block_data" else 0x42

    def read_i2c_block_data(self, addr, reg, length):
        return self._do("read_i2c_block_data", addr, reg, length)[:length]

    def write_i2c_block_data(self, addr, reg, data):
        self._do("write_i2c_block_data", addr, reg, list(data))

    def read_word_data(self, addr, reg):
        return self._do("read_word_data", addr, reg)

    def write_word_data(self, addr, reg, value):
        self._do("write_word_data", addr, reg, value)

    def read_byte(self, addr):
        return self._do("read_byte", addr)

    def write_byte(self, addr, value):
        self._do("write_byte", addr, value)

    def close(self):
        self.closed = True


def make_smbus_bus(fail=None):
    made = []

    def factory(number):
        fake = FakeSMBus(number, fail=fail)
        made.append(fake)
        return fake

    bus = SMBusBus(1, factory=factory)
    return bus, made


# -- SMBusBus ---------------------------------------------------------------------------------------

def test_smbus_bus_opens_lazily_and_passes_transfers_through():
    bus, made = make_smbus_bus()
    assert made == []  # constructing opens nothing
    assert isinstance(bus, I2CBus)
    assert bus.read_i2c_block_data(0x40, 0x01, 2) == [0x12, 0x34]
    bus.write_i2c_block_data(0x40, 0x05, [0x10, 0x00])
    assert bus.read_byte(0x40) == 0x42
    bus.write_byte(0x40, 7)
    assert bus.read_word_data(0x40, 2) == 0x42
    bus.write_word_data(0x40, 2, 0x1234)
    assert len(made) == 1 and made[0].number == 1
    assert [c[0] for c in made[0].calls] == ["read_i2c_block_data", "write_i2c_block_data", "read_byte",
                                             "write_byte", "read_word_data", "write_word_data"]
    assert made[0].calls[1] == ("write_i2c_block_data", 0x40, 0x05, [0x10, 0x00])


def test_smbus_bus_holds_its_lock_during_every_transfer():
    made = []

    def factory(number):
        made.append(FakeSMBus(number, owner=bus))
        return made[-1]

    bus = SMBusBus(1, factory=factory)
    errors = []

    def worker():
        try:
            for _ in range(200):
                bus.read_i2c_block_data(0x40, 1, 2)
                bus.write_i2c_block_data(0x40, 5, [1, 2])
        except AssertionError as exc:  # pragma: no cover - only on failure
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(made[0].calls) == 4 * 400
    assert not bus.lock.locked()


@pytest.mark.parametrize("code, words", [
    (errno.EREMOTEIO, "NACK"), (errno.ETIMEDOUT, "timed out"), (errno.EIO, "bus error"),
    (errno.EBUSY, "kernel driver"), (errno.ENODEV, "vanished"),
])
def test_smbus_bus_wraps_oserrors_with_errno_meaning_and_place(code, words):
    bus, _ = make_smbus_bus(fail=OSError(code, "ioctl failed"))
    with pytest.raises(I2CError) as info:
        bus.read_i2c_block_data(0x41, 0x02, 2)
    exc = info.value
    assert isinstance(exc, OSError)
    assert exc.errno == code
    assert words in exc.meaning and words in str(exc)
    assert "0x41" in str(exc) and "0x02" in str(exc) and "i2c-1" in str(exc)


def test_bus_that_cannot_be_opened_says_what_to_do():
    def missing(number):
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", f"/dev/i2c-{number}")

    def forbidden(number):
        raise PermissionError(errno.EACCES, "Permission denied")

    with pytest.raises(I2CError) as info:
        SMBusBus(1, factory=missing).read_byte(0x40)
    assert info.value.errno == errno.ENOENT and "do_i2c" in str(info.value)
    with pytest.raises(I2CError) as info:
        SMBusBus(1, factory=forbidden).read_byte(0x40)
    assert info.value.errno == errno.EACCES and "group i2c" in str(info.value)


def test_reopen_closes_the_old_handle_and_opens_a_new_one():
    bus, made = make_smbus_bus()
    bus.read_byte(0x40)
    bus.reopen()
    assert len(made) == 2 and made[0].closed and not made[1].closed
    assert bus.opens == 2
    bus.close()
    assert made[1].closed


def test_bad_arguments_are_refused_before_touching_the_bus():
    bus, made = make_smbus_bus()
    with pytest.raises(ValueError, match="7-bit"):
        bus.read_byte(0x90)
    with pytest.raises(ValueError, match="block length"):
        bus.read_i2c_block_data(0x40, 0, 33)
    with pytest.raises(ValueError, match="not a byte"):
        bus.write_i2c_block_data(0x40, 0, [256])
    with pytest.raises(ValueError, match="register"):
        bus.read_i2c_block_data(0x40, 300, 2)
    with pytest.raises(ValueError):
        SMBusBus(-1)
    assert made == []


def test_bus_pool_hands_out_one_bus_per_number():
    pool = BusPool(factory=lambda n: FakeSMBus(n))
    assert pool.get(1) is pool.get(1)
    assert pool.get(1) is not pool.get(0)
    pool.get(1).read_byte(0x40)
    pool.close_all()
    assert pool.get(1) is not None


def test_importing_and_constructing_never_opens_a_device():
    # A fresh interpreter, so the modules are imported for real with smbus2.SMBus booby-trapped.
    code = textwrap.dedent("""
        import smbus2
        def explode(*args, **kwargs):
            raise SystemExit("opened an I2C device")
        smbus2.SMBus = explode
        import hubd.sensors.i2c, hubd.sensors.ina219, hubd.sensors.ina226
        import hubd.sensors.ads1115, hubd.sensors.power, hubd.sensors.appliance
        from hubd.sensors.i2c import SMBusBus, BusPool
        SMBusBus(1)
        BusPool().get(1)
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr + result.stdout
    assert result.stdout.strip() == "ok"


def test_describe_errno_covers_the_pi_errors():
    for code in (121, 110, 5, 16, 2, 13, 19):
        assert describe_errno(code) != f"errno {code}"
    assert describe_errno(None) == "unknown I2C failure"
    assert "9999" in describe_errno(9999)


def test_i2c_error_wrap_keeps_existing_context():
    first = I2CError(121, addr=0x40, bus=1)
    again = I2CError.wrap(first, reg=5)
    assert again.addr == 0x40 and again.reg == 5 and again.bus == 1 and again.errno == 121
    assert I2CError.wrap(again, reg=7) is again
    nameless = I2CError.wrap(OSError("weird"))
    assert nameless.errno == errno.EIO and "weird" in str(nameless)


# -- register helpers ---------------------------------------------------------------------------------

@given(st.integers(-0x8000, 0x7FFF))
def test_signed16_round_trip(value):
    assert to_signed16(from_signed16(value)) == value


@given(st.integers(0, 0xFFFF))
def test_signed16_from_register_round_trip(raw):
    assert from_signed16(to_signed16(raw)) == raw


def test_signed16_rejects_out_of_range():
    with pytest.raises(ValueError):
        from_signed16(0x8000)


@given(st.integers(0, 0xFF), st.integers(0, 0xFFFF))
def test_u16_write_then_read_round_trips_over_the_wire(reg, value):
    bus = SimBus()
    chip = bus.attach(0x50, ScratchRegisters())
    write_u16(bus, 0x50, reg, value)
    assert chip.regs[reg] == value
    assert read_u16(bus, 0x50, reg) == value
    assert bus.calls["read_word_data"] == bus.calls["write_word_data"] == 0


def test_u16_helpers_refuse_bad_values_and_short_reads():
    bus = SimBus()
    bus.attach(0x50, ScratchRegisters())
    with pytest.raises(ValueError):
        write_u16(bus, 0x50, 0, 0x10000)

    class Short:
        def read_i2c_block_data(self, addr, reg, length):
            return [1]

    with pytest.raises(I2CError, match="short"):
        read_u16(Short(), 0x50, 0)


def test_u16_helpers_add_address_and_register_to_bus_errors():
    bus = SimBus()
    with pytest.raises(I2CError) as info:
        read_s16(bus, 0x44, 0x03)
    assert info.value.errno == errno.EREMOTEIO
    assert info.value.addr == 0x44 and info.value.reg == 0x03


# -- SimBus wire semantics ------------------------------------------------------------------------------

def test_block_transfers_are_wire_order_and_words_are_little_endian():
    bus = SimBus()
    chip = bus.attach(0x50, ScratchRegisters())
    bus.write_i2c_block_data(0x50, 5, [0x10, 0x00])
    assert chip.regs[5] == 0x1000
    assert bus.read_i2c_block_data(0x50, 5, 2) == [0x10, 0x00]
    assert bus.read_word_data(0x50, 5) == 0x0010  # SMBus word: first wire byte is the LSB
    bus.write_word_data(0x50, 6, 0x1000)
    assert chip.regs[6] == 0x0010  # swapped on the way in
    bus.write_byte(0x50, 5)  # pointer only
    assert bus.read_byte(0x50) == 0x10


def test_unknown_address_is_a_nack():
    bus = SimBus()
    assert isinstance(bus, I2CBus)
    with pytest.raises(OSError) as info:
        bus.read_i2c_block_data(0x40, 0, 2)
    assert info.value.errno == errno.EREMOTEIO


def test_word_byte_order_trap_breaks_a_naive_driver_but_not_ours():
    clock = FakeClock(mono=0.0)
    bus = SimBus(clock, transfer_seconds=0.0005)
    bus.attach(0x40, INA219Sim(clock.monotonic, shunt_ohms=0.1, current=1.5, bus_volts=12.0))
    ours = INA219(bus, 0x40, shunt_ohms=0.1, max_current=3.2)
    ours.init()
    clock.advance(0.01)
    assert ours.read().current_amps == pytest.approx(1.5)

    # The naive way: smbus word calls for MSB-first registers.
    bus.write_word_data(0x40, 0x05, ours.calibration)  # 0x1000 arrives as 0x0010
    assert bus.read_i2c_block_data(0x40, 0x05, 2) == [0x00, 0x10]
    naive_shunt = to_signed16(bus.read_word_data(0x40, 0x01))
    assert naive_shunt * 10e-6 != pytest.approx(0.15)  # 15000 = 0x3A98 read as 0x983A
    assert naive_shunt == to_signed16(0x983A)


def test_our_drivers_never_use_word_calls():
    clock = FakeClock(mono=0.0)
    bus = SimBus(clock, transfer_seconds=0.001)
    bus.attach(0x40, INA219Sim(clock.monotonic, 0.1, current=1.0))
    bus.attach(0x41, INA226Sim(clock.monotonic, 0.002, current=5.0))
    bus.attach(0x48, ADS1115Sim(clock.monotonic, [1.7, 1.65, 0.0, 0.0]))
    for driver in (INA219(bus, 0x40), INA226(bus, 0x41)):
        driver.init()
        clock.advance(0.1)
        driver.read()
    clamp = CTClamp(ADS1115(bus, 0x48), burden_ohms=22, mains_volts=230, monotonic=clock.monotonic)
    clamp.init()
    clamp.measure()
    assert bus.calls["read_word_data"] == 0 and bus.calls["write_word_data"] == 0
    assert bus.calls["read_i2c_block_data"] > 0 and bus.calls["write_i2c_block_data"] > 0


# -- SimBus faults ----------------------------------------------------------------------------------------

def sim_with_scratch():
    bus = SimBus()
    chip = bus.attach(0x50, ScratchRegisters())
    return bus, chip


def errno_of(fn):
    try:
        fn()
    except OSError as exc:
        return exc.errno
    return None


def test_nack_for_a_count_then_recovers():
    bus, _ = sim_with_scratch()
    bus.nack(0x50, count=2)
    read = lambda: bus.read_i2c_block_data(0x50, 0, 2)  # noqa: E731
    assert [errno_of(read) for _ in range(3)] == [errno.EREMOTEIO, errno.EREMOTEIO, None]
    assert bus.failures == 2


def test_timeout_on_the_whole_bus_until_cleared():
    bus, _ = sim_with_scratch()
    bus.attach(0x51, ScratchRegisters())
    bus.timeout()
    assert errno_of(lambda: bus.read_byte(0x50)) == errno.ETIMEDOUT
    assert errno_of(lambda: bus.read_byte(0x51)) == errno.ETIMEDOUT
    bus.clear_faults()
    assert errno_of(lambda: bus.read_byte(0x50)) is None


def test_stuck_bus_gives_eio_until_unstuck_even_across_reopen():
    bus, _ = sim_with_scratch()
    bus.stick()
    for _ in range(5):
        assert errno_of(lambda: bus.write_byte(0x50, 1)) == errno.EIO
    bus.reopen()
    assert errno_of(lambda: bus.write_byte(0x50, 1)) == errno.EIO
    bus.unstick()
    assert errno_of(lambda: bus.write_byte(0x50, 1)) is None


def test_fault_on_one_device_leaves_the_others_working():
    bus, _ = sim_with_scratch()
    bus.attach(0x51, ScratchRegisters())
    bus.fail(errno.EIO, 0x51)
    assert errno_of(lambda: bus.read_byte(0x50)) is None
    assert errno_of(lambda: bus.read_byte(0x51)) == errno.EIO
    bus.clear_faults(0x51, errno.EIO)
    assert errno_of(lambda: bus.read_byte(0x51)) is None


def test_vanished_device_nacks_and_returns_at_power_on_values():
    clock = FakeClock(mono=0.0)
    bus = SimBus()
    chip = bus.attach(0x40, INA219Sim(clock.monotonic))
    write_u16(bus, 0x40, 0x05, 0x1000)
    bus.vanish(0x40)
    assert errno_of(lambda: read_u16(bus, 0x40, 0x05)) == errno.EREMOTEIO
    bus.reappear(0x40)
    assert read_u16(bus, 0x40, 0x05) == 0 and chip.config == 0x399F
    write_u16(bus, 0x40, 0x05, 0x2000)
    bus.vanish(0x40)  # a loose wire this time, not a power cut: state kept
    bus.reappear(0x40, power_cycled=False)
    assert read_u16(bus, 0x40, 0x05) == 0x2000


def test_brown_out_clears_calibration_and_config():
    clock = FakeClock(mono=0.0)
    bus = SimBus()
    bus.attach(0x40, INA226Sim(clock.monotonic))
    write_u16(bus, 0x40, 0x05, 0x0A00)
    write_u16(bus, 0x40, 0x00, 0x4527)
    bus.brown_out(0x40)
    assert read_u16(bus, 0x40, 0x05) == 0
    assert read_u16(bus, 0x40, 0x00) == 0x4127


def test_unplugged_adapter_is_enodev_and_reopen_fails_until_replugged():
    bus, _ = sim_with_scratch()
    bus.unplug()
    assert errno_of(lambda: bus.read_byte(0x50)) == errno.ENODEV
    assert errno_of(bus.reopen) == errno.ENODEV
    bus.replug()
    assert errno_of(lambda: bus.read_byte(0x50)) == errno.EBADF  # still closed
    bus.reopen()
    assert errno_of(lambda: bus.read_byte(0x50)) is None
    assert bus.reopens == 1


def test_closed_bus_refuses_transfers():
    bus, _ = sim_with_scratch()
    bus.close()
    assert errno_of(lambda: bus.read_byte(0x50)) == errno.EBADF


def test_transfers_advance_the_virtual_clock():
    clock = FakeClock(mono=0.0)
    bus = SimBus(clock, transfer_seconds=0.001)
    bus.attach(0x50, ScratchRegisters())
    for _ in range(10):
        bus.read_i2c_block_data(0x50, 0, 2)
    assert clock.monotonic() == pytest.approx(0.01)
    assert bus.transfers == 10


def test_attach_refuses_a_taken_address():
    bus, _ = sim_with_scratch()
    with pytest.raises(ValueError):
        bus.attach(0x50, ScratchRegisters())


def test_i2c_module_has_no_side_effects_at_import():
    # The module exposes a bus class but holds no open handles.
    assert not any(isinstance(v, SMBusBus) for v in vars(i2c).values())
