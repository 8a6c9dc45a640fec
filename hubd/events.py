"""Sensor events and the event-log CSV that replay, export, the simulator and tests share.

Format (DESIGN.md): ``time,sensor,kind,value``. A time with an offset is absolute;
without one it is the hub's local time. The first line is that header (what ``hubd
export``, the simulator and the benchmark logs write): a file without it, or with another
one, is an error naming line 1, not a silent "0 events". Rows must be in time order; a bad
row, or bytes that are not UTF-8, is an error naming its line.
"""

from __future__ import annotations

import csv
import enum
import io
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import IO, Iterable, Iterator

HEADER = ("time", "sensor", "kind", "value")
_EPOCH = datetime(1970, 1, 1)


class Kind(enum.IntEnum):
    MOTION = 0
    PRESENCE = 1
    DOOR = 2
    ENTRANCE = 3
    APPLIANCE = 4
    BUTTON = 5

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> "Kind":
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown kind {text!r} (expected one of {', '.join(k.label for k in cls)})") from None


LONG_PRESS = 2.0
"""The BUTTON value of a long press of the OK button ("going out"): the board sends it, the engine acts on it."""

OK_BUTTON = "ok_button"
"""The sensor id of the resident's OK button (the board's, and a technician's ``hubctl ack`` of a pre-alarm)."""


@dataclass(frozen=True, slots=True)
class Event:
    """One observation. ``mono`` orders and measures; ``local`` tells the time of day."""

    mono: float
    local: float
    sensor: str
    kind: Kind
    value: float

    @property
    def on(self) -> bool:
        return self.value > 0


class EventCsvError(ValueError):
    def __init__(self, line: int, message: str):
        super().__init__(f"line {line}: {message}")
        self.line = line


def header_error(row: list[str] | None) -> EventCsvError | None:
    """The error for a first CSV row (``None``: the input is empty) that is not the header."""
    expected = ",".join(HEADER)
    if row is None:
        return EventCsvError(1, f"the input is empty: an event CSV starts with the header {expected}")
    if [c.strip() for c in row] == list(HEADER):
        return None
    got = ",".join(row)
    shown = "an empty line" if not got else repr(got if len(got) <= 60 else got[:57] + "...")
    bom = " (a byte-order mark: save as UTF-8 without BOM)" if got.startswith("\ufeff") else ""
    return EventCsvError(1, f"expected the header {expected}, got {shown}{bom}")


def _check_text(row: list[str], line: int) -> None:
    """A row read with ``errors="surrogateescape"`` holds a surrogate where the bytes were not UTF-8."""
    for cell in row:
        if not cell.isascii():
            try:
                cell.encode("utf-8")
            except UnicodeEncodeError as exc:
                code = ord(cell[exc.start])
                what = f"byte 0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"U+{code:04X}"
                raise EventCsvError(line, f"not UTF-8 text ({what})") from None


@dataclass(frozen=True, slots=True)
class Stamp:
    """A parsed CSV time: local seconds, absolute seconds, and the offset it was written with."""

    local: float
    mono: float
    offset: float | None


def parse_time(text: str) -> Stamp:
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        local = (dt - _EPOCH).total_seconds()
        return Stamp(local, local, None)
    offset = dt.utcoffset().total_seconds()
    absolute = dt.timestamp()
    return Stamp(absolute + offset, absolute, offset)


def format_local(local: float, offset: float | None = None) -> str:
    """Inverse of :func:`parse_time` in the convention of the input (naive or with offset)."""
    dt = _EPOCH + timedelta(seconds=round(local, 6))
    if offset is None:
        return dt.isoformat(timespec="seconds")
    return dt.replace(tzinfo=timezone(timedelta(seconds=offset))).isoformat(timespec="seconds")


def parse_row(row: list[str], line: int) -> tuple[Stamp, str, Kind, float]:
    if len(row) != 4:
        raise EventCsvError(line, f"expected 4 fields time,sensor,kind,value, got {len(row)}")
    time_text, sensor, kind_text, value_text = row
    try:
        stamp = parse_time(time_text)
    except ValueError:
        raise EventCsvError(line, f"time {time_text!r} is not ISO 8601") from None
    sensor = sensor.strip()
    if not sensor:
        raise EventCsvError(line, "sensor id is empty")
    try:
        kind = Kind.parse(kind_text)
    except ValueError as exc:
        raise EventCsvError(line, str(exc)) from None
    try:
        value = float(value_text)
    except ValueError:
        raise EventCsvError(line, f"value {value_text!r} is not a number") from None
    if not math.isfinite(value):
        raise EventCsvError(line, f"value {value_text!r} is not finite")
    return stamp, sensor, kind, value


class EventReader:
    """Iterates events from a CSV stream, remembering the input's time convention.

    Open files with ``newline=""`` and ``errors="surrogateescape"``: bytes that are not
    UTF-8 then become an error naming their line instead of a UnicodeDecodeError."""

    def __init__(self, stream: IO[str]):
        self._stream = stream
        self.offset: float | None = None  # offset of the last row read (None = naive local)

    def __iter__(self) -> Iterator[Event]:
        reader = csv.reader(self._stream)
        last_mono = -math.inf
        index = -1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                if index < 0:
                    raise header_error(None) from None
                return
            except csv.Error as exc:
                raise EventCsvError(reader.line_num or 1, f"unreadable CSV: {exc}") from None
            index += 1
            line = reader.line_num
            _check_text(row, line)
            if index == 0:
                error = header_error(row)
                if error is not None:
                    raise error
                continue
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            stamp, sensor, kind, value = parse_row(row, line)
            if stamp.mono < last_mono:
                raise EventCsvError(line, "row is out of time order")
            last_mono = stamp.mono
            self.offset = stamp.offset
            yield Event(stamp.mono, stamp.local, sensor, kind, value)


def read_events(stream: IO[str]) -> list[Event]:
    return list(EventReader(stream))


def format_value(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def write_events(events: Iterable[Event], stream: IO[str], offset: float | None = None) -> int:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(HEADER)
    count = 0
    for ev in events:
        writer.writerow((format_local(ev.local, offset), ev.sensor, ev.kind.label, format_value(ev.value)))
        count += 1
    return count


def events_to_csv(events: Iterable[Event], offset: float | None = None) -> str:
    buf = io.StringIO()
    write_events(events, buf, offset)
    return buf.getvalue()


@dataclass(frozen=True)
class EventBatch:
    """A run of events as columns, for the bulk paths (detector, replay, backtest). ``sensor`` indexes ``sensors``."""

    mono: "np.ndarray"
    local: "np.ndarray"
    kind: "np.ndarray"
    sensor: "np.ndarray"
    value: "np.ndarray"
    sensors: tuple[str, ...]

    @classmethod
    def from_events(cls, events: Iterable[Event]) -> "EventBatch":
        import numpy as np

        names: dict[str, int] = {}
        rows = [(e.mono, e.local, int(e.kind), names.setdefault(e.sensor, len(names)), e.value) for e in events]
        arr = np.array(rows, dtype=np.float64).reshape(-1, 5)
        return cls(
            mono=arr[:, 0].copy(), local=arr[:, 1].copy(), kind=arr[:, 2].astype(np.int64),
            sensor=arr[:, 3].astype(np.int64), value=arr[:, 4].copy(), sensors=tuple(names),
        )

    def __len__(self) -> int:
        return int(self.mono.shape[0])

    def head(self, n: int) -> "EventBatch":
        return EventBatch(self.mono[:n], self.local[:n], self.kind[:n], self.sensor[:n], self.value[:n], self.sensors)

    def events(self) -> list[Event]:
        """Back to Event objects (for the per-event path and tests)."""
        return [
            Event(float(m), float(lc), self.sensors[int(s)], Kind(int(k)), float(v))
            for m, lc, k, s, v in zip(self.mono, self.local, self.kind, self.sensor, self.value)
        ]
