"""The I2C seam: one small bus interface, its smbus2 implementation, and errors a technician can read.

Drivers talk to an :class:`I2CBus` (the smbus2 method names), never to ``/dev/i2c-*``
directly, so the same driver code runs on a Pi (:class:`SMBusBus`) and in tests over
the byte-level simulator (``hubsim.i2c.SimBus``). Nothing here opens a device at
import or construction: the bus number is injected and the file is opened on first use,
so a hub with I2C disabled still starts and reports the fault instead of crashing.

INA219/INA226/ADS1115 registers are 16-bit and sent MSB first, while SMBus *word*
transfers are little-endian: :func:`read_u16`/:func:`write_u16` therefore use 2-byte
block transfers and decode big-endian (hardware.md §4).
"""

from __future__ import annotations

import errno as _errno
import threading
from typing import Any, Callable, Optional, Protocol, Sequence, runtime_checkable

# errno -> what it means on a Raspberry Pi I2C bus (hardware.md §6).
ERRNO_MEANINGS: dict[int, str] = {
    _errno.EREMOTEIO: "NACK: no device acknowledged (check address, wiring, pull-ups, power to the sensor)",
    _errno.ETIMEDOUT: "transfer timed out (bus held low or device stretching the clock)",
    _errno.EIO: "bus error (stuck bus, clock-stretch timeout or noise on long wires)",
    _errno.EBUSY: "address is owned by a kernel driver (remove the i2c-sensor overlay)",
    _errno.ENOENT: "I2C bus device not found (enable I2C: raspi-config nonint do_i2c 0)",
    _errno.EACCES: "permission denied (add the service user to group i2c)",
    _errno.EPERM: "permission denied (add the service user to group i2c)",
    _errno.ENODEV: "I2C adapter vanished (bus device disappeared)",
    _errno.ENXIO: "no such device or address",
    _errno.EBADF: "bus file is closed",
    _errno.EOPNOTSUPP: "operation not supported by this I2C adapter",
}

#: Errors worth an immediate retry: the next transfer may well succeed.
TRANSIENT_ERRNOS = frozenset({_errno.EREMOTEIO, _errno.ETIMEDOUT, _errno.EIO})
#: Errors after which the bus file must be reopened before anything can work.
REOPEN_ERRNOS = frozenset({_errno.ENODEV, _errno.EBADF, _errno.ENOENT})

SMBUS_BLOCK_MAX = 32


def describe_errno(code: Optional[int]) -> str:
    """A technician's reading of an errno seen on an I2C transfer."""
    if code is None:
        return "unknown I2C failure"
    return ERRNO_MEANINGS.get(code, _errno.errorcode.get(code, f"errno {code}"))


class I2CError(OSError):
    """An I2C transfer failed; ``errno`` is kept and ``meaning`` says what to check."""

    def __init__(self, code: int, *, addr: Optional[int] = None, reg: Optional[int] = None,
                 bus: Optional[int] = None, detail: str = ""):
        self.meaning = describe_errno(code)
        self.addr = addr
        self.reg = reg
        self.bus = bus
        where = []
        if addr is not None:
            where.append(f"device 0x{addr:02x}")
        if reg is not None:
            where.append(f"register 0x{reg:02x}")
        if bus is not None:
            where.append(f"i2c-{bus}")
        text = f"I2C {self.meaning}"
        if where:
            text += f" [{', '.join(where)}]"
        if detail:
            text += f": {detail}"
        super().__init__(code, text)

    @classmethod
    def wrap(cls, exc: OSError, *, addr: Optional[int] = None, reg: Optional[int] = None,
             bus: Optional[int] = None) -> "I2CError":
        """An I2CError for ``exc``, keeping context it already carries."""
        if isinstance(exc, I2CError):
            if (exc.addr is None and addr is not None) or (exc.reg is None and reg is not None):
                return cls(exc.errno, addr=exc.addr if exc.addr is not None else addr,
                           reg=exc.reg if exc.reg is not None else reg,
                           bus=exc.bus if exc.bus is not None else bus)
            return exc
        code = exc.errno if exc.errno is not None else _errno.EIO
        detail = "" if exc.errno is not None else str(exc)
        return cls(code, addr=addr, reg=reg, bus=bus, detail=detail)


class DeviceError(Exception):
    """The device answered but not as the chip it should be (wrong ID, bad read-back)."""


class WrongDeviceError(DeviceError):
    """The ID registers name another chip: wrong address or wrong part fitted."""


class ReadingSkipped(Exception):
    """No trustworthy reading this time, though the device answered (the next one may be fine)."""


class DeviceResetError(DeviceError, ReadingSkipped):
    """The chip lost its configuration (brown-out or reset); it has been re-initialised."""


@runtime_checkable
class I2CBus(Protocol):
    """The smbus2 subset the drivers use; implemented by :class:`SMBusBus` and ``hubsim``'s SimBus."""

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int) -> list[int]: ...

    def write_i2c_block_data(self, i2c_addr: int, register: int, data: Sequence[int]) -> None: ...

    def read_word_data(self, i2c_addr: int, register: int) -> int: ...

    def write_word_data(self, i2c_addr: int, register: int, value: int) -> None: ...

    def read_byte(self, i2c_addr: int) -> int: ...

    def write_byte(self, i2c_addr: int, value: int) -> None: ...

    def close(self) -> None: ...


def check_address(addr: int) -> int:
    if not isinstance(addr, int) or not 0x03 <= addr <= 0x77:
        raise ValueError(f"I2C address {addr!r} is not a 7-bit device address (0x03-0x77)")
    return addr


def _check_byte(value: int, what: str) -> int:
    if not isinstance(value, int) or not 0 <= value <= 0xFF:
        raise ValueError(f"{what} {value!r} is not a byte (0-255)")
    return value


def _default_smbus_factory(bus_number: int) -> Any:
    import smbus2  # imported lazily: nothing opens /dev/i2c-* at import

    return smbus2.SMBus(bus_number)


class SMBusBus:
    """One Linux I2C bus through smbus2: opened lazily, every transfer under ``lock``, reopenable.

    Keep one instance per bus number (see :class:`BusPool`); several drivers share it.
    Failures surface as :class:`I2CError` naming the errno's meaning.
    """

    def __init__(self, bus_number: int, *, factory: Callable[[int], Any] = _default_smbus_factory):
        if not isinstance(bus_number, int) or bus_number < 0:
            raise ValueError(f"I2C bus number {bus_number!r} must be a non-negative integer")
        self.bus_number = bus_number
        self.lock = threading.Lock()
        self._factory = factory
        self._smbus: Any = None
        self.opens = 0

    def __repr__(self) -> str:
        state = "open" if self._smbus is not None else "closed"
        return f"SMBusBus(i2c-{self.bus_number}, {state})"

    def _open_locked(self) -> Any:
        if self._smbus is None:
            try:
                self._smbus = self._factory(self.bus_number)
            except OSError as exc:
                raise I2CError.wrap(exc, bus=self.bus_number) from exc
            self.opens += 1
        return self._smbus

    def _close_locked(self) -> None:
        smbus, self._smbus = self._smbus, None
        if smbus is not None:
            try:
                smbus.close()
            except OSError:
                pass  # closing a dead fd must not hide the error that led here

    def open(self) -> None:
        with self.lock:
            self._open_locked()

    def reopen(self) -> None:
        """Close and reopen the bus file: the recovery step after an adapter or fd failure."""
        with self.lock:
            self._close_locked()
            self._open_locked()

    def close(self) -> None:
        with self.lock:
            self._close_locked()

    def _call(self, name: str, addr: int, reg: Optional[int], *args: Any) -> Any:
        check_address(addr)
        if reg is not None:
            _check_byte(reg, "register")
        with self.lock:
            smbus = self._open_locked()
            try:
                if reg is None:
                    return getattr(smbus, name)(addr, *args)
                return getattr(smbus, name)(addr, reg, *args)
            except OSError as exc:
                raise I2CError.wrap(exc, addr=addr, reg=reg, bus=self.bus_number) from exc

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int) -> list[int]:
        if not isinstance(length, int) or not 1 <= length <= SMBUS_BLOCK_MAX:
            raise ValueError(f"block length {length!r} must be 1-{SMBUS_BLOCK_MAX}")
        return list(self._call("read_i2c_block_data", i2c_addr, register, length))

    def write_i2c_block_data(self, i2c_addr: int, register: int, data: Sequence[int]) -> None:
        data = [_check_byte(b, "data byte") for b in data]
        if len(data) > SMBUS_BLOCK_MAX:
            raise ValueError(f"block of {len(data)} bytes exceeds {SMBUS_BLOCK_MAX}")
        self._call("write_i2c_block_data", i2c_addr, register, data)

    def read_word_data(self, i2c_addr: int, register: int) -> int:
        return self._call("read_word_data", i2c_addr, register)

    def write_word_data(self, i2c_addr: int, register: int, value: int) -> None:
        if not isinstance(value, int) or not 0 <= value <= 0xFFFF:
            raise ValueError(f"word {value!r} is not 0-0xFFFF")
        self._call("write_word_data", i2c_addr, register, value)

    def read_byte(self, i2c_addr: int) -> int:
        return self._call("read_byte", i2c_addr, None)

    def write_byte(self, i2c_addr: int, value: int) -> None:
        self._call("write_byte", i2c_addr, None, _check_byte(value, "byte"))


class BusPool:
    """Hands out one shared :class:`SMBusBus` per bus number (hardware.md §6: one SMBus per bus)."""

    def __init__(self, factory: Callable[[int], Any] = _default_smbus_factory):
        self._factory = factory
        self._buses: dict[int, SMBusBus] = {}
        self._lock = threading.Lock()

    def get(self, bus_number: int) -> SMBusBus:
        with self._lock:
            bus = self._buses.get(bus_number)
            if bus is None:
                bus = self._buses[bus_number] = SMBusBus(bus_number, factory=self._factory)
            return bus

    def close_all(self) -> None:
        with self._lock:
            buses, self._buses = list(self._buses.values()), {}
        for bus in buses:
            bus.close()


# -- 16-bit big-endian registers over block transfers -------------------------------------

def to_signed16(raw: int) -> int:
    """Two's-complement reading of a 16-bit register value."""
    raw &= 0xFFFF
    return raw - 0x10000 if raw & 0x8000 else raw


def from_signed16(value: int) -> int:
    """16-bit two's-complement register value for ``value`` (-32768..32767)."""
    if not -0x8000 <= value <= 0x7FFF:
        raise ValueError(f"{value} does not fit a signed 16-bit register")
    return value & 0xFFFF


def read_u16(bus: I2CBus, addr: int, reg: int) -> int:
    """Read a 16-bit register sent MSB first (block read: SMBus words would swap the bytes)."""
    try:
        data = bus.read_i2c_block_data(addr, reg, 2)
    except I2CError:
        raise
    except OSError as exc:
        raise I2CError.wrap(exc, addr=addr, reg=reg) from exc
    if len(data) != 2 or not (0 <= data[0] <= 0xFF and 0 <= data[1] <= 0xFF):
        raise I2CError(_errno.EIO, addr=addr, reg=reg, detail=f"short or malformed read {list(data)!r}")
    return (data[0] << 8) | data[1]


def read_s16(bus: I2CBus, addr: int, reg: int) -> int:
    return to_signed16(read_u16(bus, addr, reg))


def write_u16(bus: I2CBus, addr: int, reg: int, value: int) -> None:
    """Write a 16-bit register MSB first."""
    if not isinstance(value, int) or not 0 <= value <= 0xFFFF:
        raise ValueError(f"register value {value!r} is not 0-0xFFFF")
    try:
        bus.write_i2c_block_data(addr, reg, [value >> 8, value & 0xFF])
    except I2CError:
        raise
    except OSError as exc:
        raise I2CError.wrap(exc, addr=addr, reg=reg) from exc
