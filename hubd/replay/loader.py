"""The event CSV loaded as columns, fast: the loader of ``hubd replay`` and the backtest.

It reads exactly what the streaming :class:`~hubd.events.EventReader` reads (same rows, same
line-numbered error), with one numba pass (``bulk_kernels.parse_csv``) over the canonical rows.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from ..events import HEADER, Event, EventBatch, EventCsvError, EventReader, Kind, header_error, parse_row


@dataclass
class EventLog:
    """An event CSV loaded as columns (the fast path of ``hubd replay``).

    ``mono``/``local``/``value`` float64, ``kind``/``sensor`` int64 (``sensor`` indexes
    ``sensors``, ids in order of first appearance), ``offset`` float64 per row (NaN: a
    naive local time), ``line`` the row's line number. ``error`` is the first error the
    strict reader (:class:`EventReader`) would raise, and the rows are those it yields
    before raising it.
    """

    mono: "np.ndarray"
    local: "np.ndarray"
    kind: "np.ndarray"
    sensor: "np.ndarray"
    value: "np.ndarray"
    offset: "np.ndarray"
    line: "np.ndarray"
    sensors: tuple[str, ...]
    error: EventCsvError | None = None

    def __len__(self) -> int:
        return int(self.mono.shape[0])

    def offset_of(self, index: int) -> float | None:
        """``EventReader.offset`` once row ``index`` has been read."""
        x = float(self.offset[index])
        return None if math.isnan(x) else x

    def events(self) -> list[Event]:
        return self.batch().events()

    def batch(self, stop: int | None = None) -> EventBatch:
        """The rows [0, stop) as an :class:`EventBatch`."""
        stop = len(self) if stop is None else stop
        return EventBatch(self.mono[:stop], self.local[:stop], self.kind[:stop], self.sensor[:stop],
                          self.value[:stop], self.sensors)


def _log_from_events(rows: list, sensors: dict, error: EventCsvError | None) -> EventLog:
    import numpy as np

    arr = np.array([(m, lc, k, s, v, o, ln) for m, lc, k, s, v, o, ln in rows], dtype=np.float64).reshape(-1, 7)
    return EventLog(arr[:, 0].copy(), arr[:, 1].copy(), arr[:, 2].astype(np.int64), arr[:, 3].astype(np.int64),
                    arr[:, 4].copy(), arr[:, 5].copy(), arr[:, 6].astype(np.int64), tuple(sensors), error)


def _strict_log(text: str) -> EventLog:
    """The strict reader's result as columns (for text the fast scanner leaves to the csv module,
    and for bytes that are not UTF-8, decoded with ``surrogateescape``)."""
    rows: list = []
    names: dict[str, int] = {}
    reader = EventReader(io.StringIO(text, newline=""))
    csv_reader = iter(reader)
    error = None
    while True:
        try:
            ev = next(csv_reader)
        except StopIteration:
            break
        except EventCsvError as exc:
            error = exc
            break
        off = reader.offset
        rows.append((ev.mono, ev.local, int(ev.kind), names.setdefault(ev.sensor, len(names)), ev.value,
                     math.nan if off is None else off, 0))
    return _log_from_events(rows, names, error)


_KIND_TABLE = None


def _first_line_error(data: bytes) -> EventCsvError | None:
    """The header error for line 1, decided here when the line is plain (no quote, NUL or lone
    carriage return: those go to the csv module, which decides it in the strict reader)."""
    from .bulk_kernels import MAX_LINE

    if not data:
        return header_error(None)
    end = data.find(b"\n")
    first = data if end < 0 else data[:end]
    if first.endswith(b"\r"):
        first = first[:-1]
    if b'"' in first or b"\0" in first or b"\r" in first or len(first) > MAX_LINE:
        return None
    return header_error(first.decode("utf-8").split(",") if first else [])


def load_event_log(data: bytes | str) -> EventLog:
    """Load an event CSV into columns, exactly as :class:`EventReader` reads it.

    A numba scanner parses the canonical form (``YYYY-MM-DDTHH:MM:SS[.ffffff][Z|±HH:MM]``,
    lowercase kinds, plain decimal values) in one pass; every other row goes through
    :func:`parse_row`, so a malformed row gets the same line-numbered error; text that
    needs the csv module itself (quotes, lone carriage returns, NULs) is read with
    :class:`EventReader` as a whole. The rows returned are those the strict reader yields
    before its first error, which is in ``error`` (not raised: ``hubd replay`` prints the
    alerts of the rows before it first, as the streaming reader did).
    """
    import numpy as np

    from . import bulk_kernels as bk

    global _KIND_TABLE
    if isinstance(data, str):
        text = data
        try:
            data = data.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: the strict reader names its line
            return _strict_log(text)
    else:
        text = None
        if not data.isascii():
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:  # the strict reader names the line of the first bad byte (or an earlier error)
                return _strict_log(data.decode("utf-8", "surrogateescape"))
    error = _first_line_error(data)
    if error is not None:
        return _log_from_events([], {}, error)
    if _KIND_TABLE is None:
        names = np.zeros((len(Kind), 12), dtype=np.uint8)
        lens = np.zeros(len(Kind), dtype=np.int64)
        for k in Kind:
            raw = k.label.encode()
            names[int(k), :len(raw)] = np.frombuffer(raw, dtype=np.uint8)
            lens[int(k)] = len(raw)
        _KIND_TABLE = (names, lens, np.frombuffer(",".join(HEADER).encode(), dtype=np.uint8).copy())
    names, lens, header = _KIND_TABLE
    buf = np.frombuffer(data, dtype=np.uint8)
    n_lines = int(np.count_nonzero(buf == 10)) + 1
    (status, mono, local, offset, value, kind, sensor, line, flag, start, end, s_start, s_len) = bk.parse_csv(
        buf, n_lines, names, lens, header)
    if status != bk.CSV_OK:
        return _strict_log(text if text is not None else data.decode("utf-8"))
    sensor_names = [data[int(a):int(a) + int(n)].decode("utf-8") for a, n in zip(s_start, s_len)]
    index = {name: i for i, name in enumerate(sensor_names)}
    error: EventCsvError | None = None
    stop = len(mono)
    fallback = np.flatnonzero(flag)
    skipped = []
    for j, r in enumerate(fallback):
        r = int(r)
        ln = int(line[r])
        row = data[int(start[j]):int(end[j])].decode("utf-8").split(",")
        if ln == 1 or not row or (len(row) == 1 and not row[0].strip()):  # line 1 is the header (checked above)
            skipped.append(r)
            continue
        try:
            stamp, name, k, v = parse_row(row, ln)
        except EventCsvError as exc:
            error, stop = exc, r
            break
        mono[r], local[r], value[r], kind[r] = stamp.mono, stamp.local, v, int(k)
        offset[r] = math.nan if stamp.offset is None else stamp.offset
        sensor[r] = index.setdefault(name, len(index))
    cols = [mono, local, offset, value, kind, sensor, line]
    if skipped or stop < len(mono):
        keep = np.ones(len(mono), dtype=bool)
        keep[skipped] = False
        keep[stop:] = False
        cols = [c[keep] for c in cols]
    if len(cols[0]) > 1:  # the first row out of time order, if it comes before the first bad row
        m = cols[0]
        bad = np.flatnonzero(m[1:] < m[:-1])
        if len(bad):
            cut = int(bad[0]) + 1
            error = EventCsvError(int(cols[6][cut]), "row is out of time order")
            cols = [c[:cut] for c in cols]
    mono, local, offset, value, kind, sensor, line = cols
    names_all = list(index)
    if len(fallback) or len(sensor) < len(flag):  # rows the strict parser took may name sensors first
        sensor, order, _ = bk.first_appearance(sensor, len(names_all))
        sensors = tuple(names_all[int(i)] for i in order)
    else:
        sensors = tuple(names_all)
    return EventLog(mono, local, kind, sensor, value, offset, line, sensors, error)
