#!/usr/bin/env python3
"""Convert public single-resident smart-home sensor logs to the hub's event CSV.

Usage::

    python benchmarks/data/convert.py FORMAT RAW_PATH... -o OUT.csv [--start T] [--end T]

Formats (one reader function each, see README.md in this directory for sources):

``ordonez``
    UCI "Activities of Daily Living (ADLs) Recognition Using Binary Sensors"
    (Ordonez et al. 2013), file ``OrdonezA_Sensors.txt`` or ``OrdonezB_Sensors.txt``:
    whitespace-separated ``start-date start-time end-date end-time Location Type Place``
    after a header line (and, in A, a line of dashes).
``kasteren-a`` / ``kasteren-b``
    van Kasteren houses A and B in the three-column ``.sensors`` form
    ``epoch duration id`` (the epoch is the *local* wall-clock time written as if it
    were UTC).  The id numbering is the one of the transfer-learning release
    (``houseA.sensors``/``houseB.sensors``); the id -> name/kind tables are below.
``mit``
    MIT House_n (Munguia Tapia 2004) subject 1 or 2 in the same three-column form
    (``houseD.sensors``/``houseE.sensors``), followed by its ``.sensor_names`` file
    (``id<TAB>Room,Object``).  Give the entrance sensor with ``--entrance ID``.

Output: header ``time,sensor,kind,value``; naive local ISO times; one row per state
change, ``1`` when an interval starts and ``0`` when it ends, sorted by time.  Overlapping
intervals of one sensor are merged so that its rows alternate 1, 0, 1, 0, ...
Intervals that start outside ``[--start, --end)`` are dropped; an interval that starts
inside but ends after ``--end`` keeps its ``1`` and loses its ``0``.

Standard library only.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta

EPOCH = datetime(1970, 1, 1)
KINDS = ("motion", "presence", "door", "entrance", "appliance", "button")


@dataclass(frozen=True)
class Interval:
    start: datetime
    end: datetime
    sensor: str
    kind: str


def snake(text: str) -> str:
    """'Office/study,Sink faucet - hot' -> 'office_study_sink_faucet_hot'."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def local_epoch(seconds: int) -> datetime:
    """The ``.sensors`` epochs are local wall-clock times encoded as UTC seconds."""
    return EPOCH + timedelta(seconds=seconds)


# --------------------------------------------------------------------------- Ordonez (UCI)
ORDONEZ_KIND = {"pir": "motion", "pressure": "presence", "magnetic": "door", "flush": "door", "electric": "door"}

# Rows of OrdonezB_Sensors.txt whose start time is evidently mistyped: each stands out of the
# file's time order and, as written, contradicts the sensor's neighbouring rows.
#   Seat 2012-11-30 12:41:45 -> 2012-12-01 00:04:58 would overlap the seat's own intervals
#   12:56-14:34, 15:21-17:29, 17:52-20:23 and 20:27-22:11 of that day; it is written between
#   rows of 22:40:00 and 00:05:46, so the start is taken as 22:41:45 (hour 12 -> 22).
ORDONEZ_FIXES = {
    ("2012-11-30 12:41:45", "2012-12-01 00:04:58", "Seat"): ("2012-11-30 22:41:45", "2012-12-01 00:04:58"),
}


def read_ordonez(paths: list[str]) -> list[Interval]:
    out: list[Interval] = []
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) < 6 or not re.fullmatch(r"\d{4}-\d\d-\d\d", parts[0]):
                    continue  # header, dashes, blank
                start_s, end_s = f"{parts[0]} {parts[1]}", f"{parts[2]} {parts[3]}"
                location, type_ = parts[4], parts[5]
                place = parts[6] if len(parts) > 6 else ""
                start_s, end_s = ORDONEZ_FIXES.get((start_s, end_s, location), (start_s, end_s))
                start, end = datetime.fromisoformat(start_s), datetime.fromisoformat(end_s)
                if location.lower() == "maindoor":
                    kind = "entrance"
                else:
                    kind = ORDONEZ_KIND[type_.lower()]
                out.append(Interval(start, end, snake(f"{place} {location} {type_}"), kind))
    return out


# --------------------------------------------------------------------------- van Kasteren
# id -> (name, kind).  House A: names as in ../shared/data/kasteren_house_a.csv.
KASTEREN_A = {
    1: ("microwave", "door"), 4: ("cups_cupboard", "door"), 5: ("hall_toilet_door", "door"),
    6: ("hall_bathroom_door", "door"), 8: ("fridge", "door"), 9: ("plates_cupboard", "door"),
    12: ("frontdoor", "entrance"), 13: ("dishwasher", "door"), 14: ("toiletflush", "door"),
    17: ("freezer", "door"), 18: ("pans_cupboard", "door"), 20: ("washingmachine", "door"),
    23: ("groceries_cupboard", "door"), 24: ("hall_bedroom_door", "door"),
}
# House B: reed switches, mercury ("kwik") switches, a float, pressure mats and PIRs.
# Id 23 has no name in the release (2 rows) and is left out.
KASTEREN_B = {
    1: ("toilet_door", "door"), 3: ("fridge", "door"), 4: ("frontdoor", "entrance"),
    5: ("groceries_cupboard", "door"), 6: ("toilet_flush", "door"), 9: ("plates_cupboard", "door"),
    10: ("bedroom_door", "door"), 12: ("bed_mat_right", "presence"), 13: ("bed_mat_left", "presence"),
    14: ("cutlery_drawer_mercury", "door"), 15: ("stove_lid_mercury", "door"), 16: ("bedroom_pir", "motion"),
    18: ("dresser_mercury", "door"), 19: ("bathroom_pir", "motion"), 20: ("office_chair_mat", "presence"),
    21: ("sink_float", "door"), 22: ("server_corner_chair_mat", "presence"), 24: ("balcony_door", "door"),
    25: ("window", "door"), 26: ("toaster", "door"), 27: ("microwave", "door"), 28: ("kitchen_pir", "motion"),
}
# House B default window (local): before it the network was still being installed (only
# 4 of 22 sensors, a 24 h hole on 21/22 Jul); from its end on, several mats, doors and the
# bathroom PIR stay "on" for 10-11 days and only 3 sensors still report (see README.md).
KASTEREN_B_WINDOW = ("2009-07-23T13:00:00", "2009-08-05T16:20:27")


def read_tl_sensors(path: str) -> list[tuple[int, int, int]]:
    rows = []
    with open(path, encoding="ascii") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) == 3:
                rows.append((int(parts[0]), int(parts[1]), int(parts[2])))
    return rows


def read_kasteren(paths: list[str], table: dict[int, tuple[str, str]]) -> list[Interval]:
    out = []
    for path in paths:
        for start, dur, sid in read_tl_sensors(path):
            if sid not in table:
                continue
            name, kind = table[sid]
            out.append(Interval(local_epoch(start), local_epoch(start + dur), name, kind))
    return out


# --------------------------------------------------------------------------- MIT House_n
def read_mit(paths: list[str], entrance: int | None) -> list[Interval]:
    names_paths = [p for p in paths if p.endswith(".sensor_names")]
    data_paths = [p for p in paths if not p.endswith(".sensor_names")]
    if len(names_paths) != 1:
        raise SystemExit("mit: give exactly one .sensor_names file after the .sensors file")
    names: dict[int, str] = {}
    with open(names_paths[0], encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if "\t" in line:
                sid, text = line.rstrip("\r\n").split("\t", 1)
                names[int(sid)] = snake(text)
    rows: set[tuple[int, int, int]] = set()
    for path in data_paths:
        rows.update(read_tl_sensors(path))  # the release repeats rows; identical ones count once
    out = []
    for start, dur, sid in sorted(rows):
        kind = "entrance" if sid == entrance else "door"
        out.append(Interval(local_epoch(start), local_epoch(start + dur), names.get(sid, f"sensor_{sid}"), kind))
    return out


# --------------------------------------------------------------------------- common
def to_rows(intervals: list[Interval], start: datetime | None, end: datetime | None) -> list[tuple[datetime, str, str, int]]:
    by_sensor: dict[str, list[Interval]] = {}
    for iv in intervals:
        if iv.end < iv.start:
            raise SystemExit(f"interval ends before it starts: {iv}")
        if start is not None and iv.start < start:
            continue
        if end is not None and iv.start >= end:
            continue
        by_sensor.setdefault(iv.sensor, []).append(iv)
    kinds = {}
    streams: list[list[tuple[datetime, str, str, int]]] = []
    for sensor, ivs in by_sensor.items():
        kinds.setdefault(sensor, ivs[0].kind)
        if any(iv.kind != kinds[sensor] for iv in ivs):
            raise SystemExit(f"sensor {sensor} has two kinds")
        ivs.sort(key=lambda iv: (iv.start, iv.end))
        merged: list[list[datetime]] = []
        for iv in ivs:
            if merged and iv.start < merged[-1][1]:  # overlap: one longer interval
                merged[-1][1] = max(merged[-1][1], iv.end)
            else:
                merged.append([iv.start, iv.end])
        rows = []
        for s, e in merged:
            rows.append((s, sensor, kinds[sensor], 1))
            if end is None or e < end:
                rows.append((e, sensor, kinds[sensor], 0))
        streams.append(rows)
    # A stable sort by time keeps every sensor's own 1/0 order (touching and zero-length
    # intervals give two rows with the same second).
    order = sorted(
        ((row, i, j) for i, rows in enumerate(streams) for j, row in enumerate(rows)),
        key=lambda t: (t[0][0], t[1], t[2]),
    )
    return [row for row, _, _ in order]


def write_rows(rows, path: str) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(("time", "sensor", "kind", "value"))
        for t, sensor, kind, value in rows:
            w.writerow((t.isoformat(timespec="seconds"), sensor, kind, value))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("format", choices=("ordonez", "kasteren-a", "kasteren-b", "mit"))
    ap.add_argument("raw", nargs="+", help="raw file(s) of the source")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--start", help="local ISO time; drop intervals starting earlier")
    ap.add_argument("--end", help="local ISO time; drop intervals starting at or after it")
    ap.add_argument("--entrance", type=int, help="mit: id of the entrance (front) door sensor")
    ap.add_argument("--whole", action="store_true", help="kasteren-b: ignore the default window")
    args = ap.parse_args(argv)

    start = datetime.fromisoformat(args.start) if args.start else None
    end = datetime.fromisoformat(args.end) if args.end else None
    if args.format == "ordonez":
        intervals = read_ordonez(args.raw)
    elif args.format == "kasteren-a":
        intervals = read_kasteren(args.raw, KASTEREN_A)
    elif args.format == "kasteren-b":
        intervals = read_kasteren(args.raw, KASTEREN_B)
        if not args.whole:
            start = start or datetime.fromisoformat(KASTEREN_B_WINDOW[0])
            end = end or datetime.fromisoformat(KASTEREN_B_WINDOW[1])
    else:
        intervals = read_mit(args.raw, args.entrance)
    rows = to_rows(intervals, start, end)
    write_rows(rows, args.output)
    sensors = {r[1] for r in rows}
    if rows:
        span = (rows[-1][0] - rows[0][0]).total_seconds() / 86400
        print(f"{args.output}: {len(rows)} rows, {len(sensors)} sensors, "
              f"{rows[0][0].isoformat()} .. {rows[-1][0].isoformat()} ({span:.1f} days)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
