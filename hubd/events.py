"""Sensor events and the event-log CSV that replay, export, the simulator and tests share.

Format (DESIGN.md): ``time,sensor,kind,value``. A time with an offset is absolute;
without one it is the hub's local time. Rows must be in time order; a bad row is an
error naming its line.
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
    """Iterates events from a CSV stream, remembering the input's time convention."""

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
                return
            except csv.Error as exc:
                raise EventCsvError(reader.line_num or 1, f"unreadable CSV: {exc}") from None
            index += 1
            line = reader.line_num
            if index == 0 and [c.strip() for c in row] == list(HEADER):
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
