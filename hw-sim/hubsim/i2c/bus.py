"""SimBus: the I2CBus methods at the wire-byte level, with devices by address and fault injection.

A transfer is modelled as the bytes on the wire. ``read_i2c_block_data(addr, reg, n)``
is a write of the pointer byte then a read of ``n`` bytes, in wire order.
``read_word_data``/``write_word_data`` are SMBus words: **little-endian**, the first wire
byte is the low byte. A driver that reads an MSB-first chip register with a word call
gets the bytes swapped here exactly as on a real Pi (hardware.md §4).

Faults (each raises ``OSError(errno)`` like the Linux i2c-dev ioctl does):

* per device or whole bus, for N transfers or until cleared: :meth:`SimBus.fail`,
  :meth:`nack` (121), :meth:`timeout` (110), :meth:`stick` (5 EIO until :meth:`unstick`);
* a device reset / brown-out: :meth:`brown_out` (calibration 0, config at POR);
* a device that vanishes (NACKs) and later returns powered-up fresh: :meth:`vanish` /
  :meth:`reappear`;
* the adapter itself gone (19 ENODEV, also on :meth:`reopen`) until :meth:`replug`.

With a ``clock`` (anything with ``monotonic()`` and ``advance(seconds)``, e.g. hubd's
FakeClock) every transfer advances virtual time by ``transfer_seconds``, so a driver's
read loop paces itself the way the real bus paces it.
"""

from __future__ import annotations

import errno as _errno
import os
from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Optional, Protocol, Sequence


class VirtualClock(Protocol):
    def monotonic(self) -> float: ...

    def advance(self, seconds: float) -> None: ...


class I2CDevice(ABC):
    """A device as seen on the wire: write transactions and read transactions."""

    @abstractmethod
    def write(self, data: bytes) -> None:
        """A write transaction; ``data[0]`` is the register pointer for pointer-based chips."""

    @abstractmethod
    def read(self, length: int) -> bytes:
        """A read transaction of ``length`` bytes from the current pointer."""

    @abstractmethod
    def power_on_reset(self) -> None:
        """Return every register to its power-on value (brown-out, power cycle)."""


class RegisterDevice(I2CDevice):
    """A pointer-addressed chip with 16-bit registers sent MSB first (INA2xx, ADS1115)."""

    def __init__(self) -> None:
        self.pointer = 0

    @abstractmethod
    def read_register(self, reg: int) -> int: ...

    @abstractmethod
    def write_register(self, reg: int, value: int) -> None: ...

    def write(self, data: bytes) -> None:
        if not data:
            return  # a quick-write probe: address ACKed, nothing latched
        self.pointer = data[0]
        if len(data) >= 3:
            self.write_register(self.pointer, (data[1] << 8) | data[2])
        # two bytes (pointer + half a register) are ignored, as the chips discard them

    def read(self, length: int) -> bytes:
        value = self.read_register(self.pointer)
        word = bytes(((value >> 8) & 0xFF, value & 0xFF))
        return (word * (length // 2 + 1))[:length]


@dataclass
class _Fault:
    errno: int
    remaining: Optional[int]  # None = until cleared

    def fire(self) -> bool:
        if self.remaining is None:
            return True
        if self.remaining > 0:
            self.remaining -= 1
            return True
        return False


def _oserror(code: int) -> OSError:
    return OSError(code, os.strerror(code))


class SimBus:
    """An in-memory I2C bus implementing hubd's ``I2CBus`` at the wire-byte level."""

    def __init__(self, clock: Optional[VirtualClock] = None, transfer_seconds: float = 0.0, bus_number: int = 1):
        if transfer_seconds < 0:
            raise ValueError("transfer_seconds cannot be negative")
        self.clock = clock
        self.transfer_seconds = transfer_seconds
        self.bus_number = bus_number
        self.devices: dict[int, I2CDevice] = {}
        self._vanished: dict[int, I2CDevice] = {}
        self._faults: dict[Optional[int], list[_Fault]] = {}
        self.adapter_present = True
        self.is_open = True
        self.calls: Counter[str] = Counter()
        self.transfers = 0
        self.failures = 0
        self.reopens = 0
        self.opens = 0

    # -- wiring -----------------------------------------------------------------------------
    def attach(self, address: int, device: I2CDevice) -> I2CDevice:
        if address in self.devices or address in self._vanished:
            raise ValueError(f"address 0x{address:02x} already has a device")
        self.devices[address] = device
        return device

    def detach(self, address: int) -> I2CDevice:
        return self.devices.pop(address)

    # -- faults -----------------------------------------------------------------------------
    def fail(self, code: int, address: Optional[int] = None, count: Optional[int] = None) -> None:
        """Make transfers to ``address`` (None = any address) raise ``OSError(code)``."""
        self._faults.setdefault(address, []).append(_Fault(code, count))

    def nack(self, address: Optional[int] = None, count: Optional[int] = None) -> None:
        self.fail(_errno.EREMOTEIO, address, count)

    def timeout(self, address: Optional[int] = None, count: Optional[int] = None) -> None:
        self.fail(_errno.ETIMEDOUT, address, count)

    def stick(self) -> None:
        """SDA held low: every transfer fails with EIO until :meth:`unstick`."""
        self.fail(_errno.EIO, None, None)

    def unstick(self) -> None:
        self.clear_faults(None, _errno.EIO)

    def clear_faults(self, address: Optional[int] = None, code: Optional[int] = None) -> None:
        faults = self._faults.get(address, [])
        self._faults[address] = [f for f in faults if code is not None and f.errno != code]

    def brown_out(self, address: int) -> None:
        """The device at ``address`` resets: calibration 0, config back to power-on values."""
        self.devices[address].power_on_reset()

    def vanish(self, address: int) -> None:
        """The device stops answering (unplugged, unpowered): NACK until :meth:`reappear`."""
        self._vanished[address] = self.devices.pop(address)

    def reappear(self, address: int, power_cycled: bool = True) -> None:
        device = self._vanished.pop(address)
        if power_cycled:
            device.power_on_reset()
        self.devices[address] = device

    def unplug(self) -> None:
        """The adapter disappears (``/dev/i2c-N`` gone): ENODEV, also on reopen."""
        self.adapter_present = False

    def replug(self) -> None:
        self.adapter_present = True

    # -- the I2CBus methods --------------------------------------------------------------------
    def _device(self, method: str, addr: int) -> I2CDevice:
        self.calls[method] += 1
        self.transfers += 1
        if self.clock is not None and self.transfer_seconds:
            self.clock.advance(self.transfer_seconds)
        try:
            return self._check(addr)
        except OSError:
            self.failures += 1
            raise

    def _check(self, addr: int) -> I2CDevice:
        if not self.adapter_present:
            raise _oserror(_errno.ENODEV)
        if not self.is_open:
            raise _oserror(_errno.EBADF)
        for key in (None, addr):
            for fault in self._faults.get(key, ()):
                if fault.fire():
                    raise _oserror(fault.errno)
        device = self.devices.get(addr)
        if device is None:
            raise _oserror(_errno.EREMOTEIO)
        return device

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int, force: Optional[bool] = None) -> list[int]:
        if not 1 <= length <= 32:
            raise ValueError(f"block length {length} must be 1-32")
        device = self._device("read_i2c_block_data", i2c_addr)
        device.write(bytes((register,)))
        return list(device.read(length))

    def write_i2c_block_data(self, i2c_addr: int, register: int, data: Sequence[int], force: Optional[bool] = None) -> None:
        payload = bytes((register, *data))  # bytes() rejects values outside 0-255
        if len(payload) > 33:
            raise ValueError("block writes carry at most 32 data bytes")
        self._device("write_i2c_block_data", i2c_addr).write(payload)

    def read_word_data(self, i2c_addr: int, register: int, force: Optional[bool] = None) -> int:
        device = self._device("read_word_data", i2c_addr)
        device.write(bytes((register,)))
        low, high = device.read(2)
        return low | (high << 8)  # SMBus words are little-endian: first wire byte is the low byte

    def write_word_data(self, i2c_addr: int, register: int, value: int, force: Optional[bool] = None) -> None:
        if not 0 <= value <= 0xFFFF:
            raise ValueError(f"word {value!r} is not 0-0xFFFF")
        self._device("write_word_data", i2c_addr).write(bytes((register, value & 0xFF, value >> 8)))

    def read_byte(self, i2c_addr: int, force: Optional[bool] = None) -> int:
        return self._device("read_byte", i2c_addr).read(1)[0]

    def write_byte(self, i2c_addr: int, value: int, force: Optional[bool] = None) -> None:
        self._device("write_byte", i2c_addr).write(bytes((value,)))

    def close(self) -> None:
        self.is_open = False

    def handle(self, bus_number: Optional[int] = None) -> "SimBus":
        """A factory for hubd's ``SMBusBus``/``BusPool``: each call opens this bus afresh, like
        ``smbus2.SMBus(n)`` opens a new fd (ENODEV while unplugged). Use ``BusPool(sim.handle)``,
        not ``lambda n: sim``: after ``SMBusBus.reopen`` closed it, the lambda would hand back a
        closed bus."""
        if not self.adapter_present:
            raise _oserror(_errno.ENODEV)
        self.is_open = True
        self.opens += 1
        return self

    def reopen(self) -> None:
        self.is_open = False
        if not self.adapter_present:
            raise _oserror(_errno.ENODEV)
        self.is_open = True
        self.reopens += 1


def value_at(signal: "float | Callable[[float], float]", t: float) -> float:
    """The value of a physical input (constant or function of time) at time ``t``."""
    return float(signal(t)) if callable(signal) else float(signal)


def clamp(value: int, low: int, high: int) -> tuple[int, bool]:
    """``value`` limited to ``low..high``, and whether it had to be limited."""
    if value < low:
        return low, True
    if value > high:
        return high, True
    return value, False
