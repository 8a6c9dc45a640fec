"""Sensor health: is each sensor still able to see what it should?

A broken PIR passed its last inspection and nobody noticed (detection.md §3): a sensor
silent far beyond its own history while *other* sensors show life is a system fault.
When the whole flat is silent that is the inactivity detector's business, not a sensor
fault. A sensor far above its usual event rate is a suspected fault (chatter, §6).

Pure: no I/O, no clock reads; times are passed in. Shaped like a detector
(``observe`` / ``check`` / ``status`` / ``state`` / ``load``) so the engine runs it as a
watcher and it survives restarts.

Per sensor it keeps, for each of the last ``history_days`` days of its own timeline,
the longest gap between its events that ended that day and its busiest
``rate_window_s``. The expected longest gap is a high quantile of those daily maxima;
the silence limit is ``expected * factor + margin``, kept within ``[floor, cap]``.
Roles (config ``sensors.role``):

- ``daily_route``: on the resident's daily route. Watched from the first day at the cap
  (36 h by default), at the learned limit once it has history.
- ``normal``: watched once learned, capped at ``normal_cap_s``.
- ``rare``: not watched for silence unless ``rare_cap_s`` is set.
- ``autonomous``: runs by itself (e.g. a fridge), watched like ``normal`` but never
  taken as a sign that someone is moving about.

Time the hub was down is not silence: after ``load`` the gap between the last time seen
before the save and the first time seen after it is not counted against any sensor,
and gaps spanning it are not learned.

Every rule is a numba kernel in :mod:`.health_kernels` acting on this object's state
arrays, the same kernels the bulk replay runs over a whole log (``hubd.replay.bulk_kernels``):
each rule is written once. This class names the sensors, turns the kernels' flags into
findings and keeps what is not a number (device fault reasons). Each sensor's learned
limits are kept until its history changes, and the earliest moment any sensor can fall
silent; while no sensor is faulted and that moment is ahead, ``check`` only restates the
latched silences. The plain-Python reference is ``tests/health_reference.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np

from ..detector.base import Detector
from ..events import Event, Kind
from ..findings import SYSTEM, Finding
from . import health_kernels as hk

DAY = 86400.0
HOUR = 3600.0
ROLES = ("daily_route", "normal", "rare", "autonomous")
OK, SILENT, FAULT, LEARNING, UNWATCHED = "ok", "silent", "fault", "learning", "unwatched"


@dataclass(frozen=True)
class HealthSettings:
    floor_s: float = 6 * HOUR  # never call a learned sensor silent sooner than this
    normal_floor_s: float = 3 * DAY  # cupboards and doors go unused for days in normal life
    daily_cap_s: float = 36 * HOUR
    normal_cap_s: float = 7 * DAY
    rare_cap_s: Optional[float] = None  # None: rare sensors are not watched for silence
    factor: float = 1.5
    margin_s: float = 1 * HOUR
    quantile: float = 0.9  # of the daily longest gaps: one odd day does not set the norm
    history_days: int = 14
    min_days: float = 7.0  # history needed before the learned limit is trusted
    min_events: int = 20
    life_window_s: float = 3 * HOUR  # "other sensors show life": one of them reported this recently
    absence_s: float = 12 * HOUR  # the whole flat silent this long (away, holiday) is nobody's sensor silence
    rate_window_s: float = 600.0
    rate_floor: int = 60  # events per window never called chatter, learned or not
    rate_factor: float = 4.0
    fault_hold_s: float = 600.0  # a device-reported fault stays this long after it clears
    chatter_min_s: float = 1800.0  # a rate above the limit this long is chatter; shorter is a busy spell of use

    def __post_init__(self) -> None:
        if not 0 < self.floor_s <= min(self.daily_cap_s, self.normal_cap_s):
            raise ValueError("need 0 < floor_s <= daily_cap_s and normal_cap_s")
        if self.rare_cap_s is not None and self.rare_cap_s < self.floor_s:
            raise ValueError("rare_cap_s must be at least floor_s")
        if not 0 < self.quantile <= 1 or self.factor < 1 or self.margin_s < 0:
            raise ValueError("need 0 < quantile <= 1, factor >= 1, margin_s >= 0")
        if self.history_days < 1 or self.min_days < 0 or self.min_events < 0:
            raise ValueError("need history_days >= 1, min_days >= 0, min_events >= 0")
        if self.life_window_s <= 0 or self.rate_window_s <= 0 or self.rate_floor < 1 or self.rate_factor < 1:
            raise ValueError("need positive windows, rate_floor >= 1 and rate_factor >= 1")
        if self.fault_hold_s < 0 or self.chatter_min_s < 0:
            raise ValueError("fault_hold_s and chatter_min_s must be >= 0")


def _opt(x: float) -> Optional[float]:
    return None if math.isnan(x) else float(x)


def _nan(x: Optional[float]) -> float:
    return math.nan if x is None else float(x)


def _params(s: HealthSettings) -> np.ndarray:
    """The settings as the kernels' ``hp`` (order of ``health_kernels.P_*``)."""
    return np.array([s.floor_s, s.normal_floor_s, s.daily_cap_s, s.normal_cap_s, _nan(s.rare_cap_s), s.factor,
                     s.margin_s, s.quantile, s.history_days, s.min_days, s.min_events, s.life_window_s, s.absence_s,
                     s.rate_window_s, s.rate_floor, s.rate_factor, s.fault_hold_s, s.chatter_min_s], dtype=np.float64)


class HealthState:
    """The kernels' state arrays (layout in :mod:`.health_kernels`), grown a row at a time."""

    def __init__(self, history_days: int, rows: int = 8):
        self.hf = np.full((rows, hk.NF), np.nan)
        self.hi = np.zeros((rows, hk.NI), dtype=np.int64)
        self.days = np.zeros((rows, history_days, hk.ND))
        self.win = np.zeros((rows, hk.WINDOW))
        self.hg = np.array([math.nan] * 4 + [math.inf, 0.0, 0.0, -1.0, 0.0])

    def grow(self, rows: int) -> None:
        if rows <= self.hf.shape[0]:
            return
        n = max(rows, 2 * self.hf.shape[0])
        for name, fill in (("hf", math.nan), ("hi", 0), ("days", 0.0), ("win", 0.0)):
            old = getattr(self, name)
            new = np.full((n,) + old.shape[1:], fill, dtype=old.dtype)
            new[:old.shape[0]] = old
            setattr(self, name, new)

    def arrays(self) -> tuple[np.ndarray, ...]:
        """``hf, hi, days, win, hg`` in the kernels' argument order."""
        return self.hf, self.hi, self.days, self.win, self.hg


class SensorHealth(Detector):
    """Findings ``sensor_silent`` and ``sensor_fault`` (category system, key = sensor id)."""

    def __init__(self, roles: Mapping[str, str] | None = None, settings: HealthSettings | None = None):
        self.settings = settings or HealthSettings()
        self.roles = dict(roles or {})
        for sensor_id, role in self.roles.items():
            if role not in ROLES:
                raise ValueError(f"sensor {sensor_id!r}: unknown role {role!r} (expected one of {', '.join(ROLES)})")
        self.params = _params(self.settings)
        self._reset()
        for sensor_id, role in self.roles.items():
            self._add_row(sensor_id, role, on_origin=True)

    def _reset(self) -> None:
        self.st = HealthState(self.settings.history_days)
        self.ids: list[str] = []  # row -> sensor id (rows in the order sensors were first seen)
        self._rows: dict[str, int] = {}
        self._device: dict[int, dict[str, float]] = {}  # row -> device fault reason -> since

    def _add_row(self, sensor_id: str, role: str, on_origin: bool = False) -> int:
        r = len(self.ids)
        self.st.grow(r + 1)
        self.ids.append(sensor_id)
        self._rows[sensor_id] = r
        self.st.hi[r, hk.I_ROLE] = ROLES.index(role)
        self.st.hi[r, hk.I_ONORIGIN] = 1 if on_origin else 0
        return r

    def _role_of_new(self, sensor_id: str, kind: Kind | None) -> str:
        # Not configured (a replayed log): without a technician's role only a motion sensor has a
        # rhythm to expect; a cupboard, appliance door or the OK button is used when it is needed.
        return self.roles.get(sensor_id, "normal" if kind is Kind.MOTION else "rare")

    def rows(self, sensor_ids: Sequence[str], kinds: Sequence[Kind]) -> np.ndarray:
        """The row of each sensor, allocating rows (in the order given) for the ones not seen yet;
        ``kinds``: the kind of each one's first event. For callers running the kernels themselves."""
        for sensor_id, kind in zip(sensor_ids, kinds):
            if sensor_id not in self._rows:
                self._add_row(sensor_id, self._role_of_new(sensor_id, kind))
        return np.array([self._rows[sensor_id] for sensor_id in sensor_ids], dtype=np.int64)

    @property
    def sensors(self) -> list[str]:
        """The sensors known, in the order they were first seen."""
        return [sid for r, sid in enumerate(self.ids) if self.st.hi[r, hk.I_EXISTS]]

    # ------------------------------------------------------------------ inputs
    def observe(self, event: Event) -> None:
        st = self.st
        if st.hg[hk.G_SKIP]:  # the bulk replay observed this event already (see bulk_kernels.run_calls)
            st.hg[hk.G_SKIP] = 0.0
            return
        r = self._rows.get(event.sensor)
        if r is None:
            r = self._add_row(event.sensor, self._role_of_new(event.sensor, event.kind))
            st = self.st
        hk.observe(float(event.mono), r, int(event.kind), st.hf, st.hi, st.days, st.win, st.hg, self.params)

    def report_fault(self, sensor_id: str, reason: Optional[str], mono: float) -> None:
        """A fault seen by the device itself (e.g. GPIO chatter); ``reason`` None clears it."""
        hk.touch(float(mono), self.st.hf, self.st.hi, self.st.days, self.st.hg, self.params)
        r = self._rows.get(sensor_id)
        if r is None:
            r = self._add_row(sensor_id, self._role_of_new(sensor_id, None))
        st = self.st
        if not st.hi[r, hk.I_EXISTS]:
            hk.create(r, st.hf, st.hi, st.days, st.hg, self.params, st.hg[hk.G_ORIGIN] if not
                      math.isnan(st.hg[hk.G_ORIGIN]) else 0.0)
        hf = st.hf[r]
        faults = self._device.setdefault(r, {})
        if math.isnan(hf[hk.F_DEV]):
            faults.clear()  # the kernel let the last ones go
        if reason is None:
            if faults and math.isnan(hf[hk.F_DEVCLR]):
                hf[hk.F_DEVCLR] = mono
            return
        if not faults:
            st.hg[hk.G_NDEV] += 1
        faults.setdefault(reason, mono)
        hf[hk.F_DEV] = min(faults.values())
        hf[hk.F_DEVCLR] = math.nan

    # ------------------------------------------------------------------ findings
    def check(self, mono: float, local: float | None = None) -> list[Finding]:
        st = self.st
        hk.check(float(mono), st.hf, st.hi, st.days, st.win, st.hg, self.params)
        return self.findings(mono)

    def findings(self, mono: float) -> list[Finding]:
        """What the last ``check`` (here or in a bulk kernel) found, for a call at ``mono``."""
        hf, hi = self.st.hf, self.st.hi
        found: list[Finding] = []
        for r in np.flatnonzero(hi[:, hk.I_FFAULT] | hi[:, hk.I_FSILENT]):
            r = int(r)
            sensor_id = self.ids[r]
            if hi[r, hk.I_FFAULT]:
                reasons: dict[str, float] = {}
                if not math.isnan(hf[r, hk.F_DEV]):
                    reasons.update(self._device.get(r, {}))
                if hk.chattering(r, float(mono), hf, self.params):  # the same word as a device's
                    since = float(hf[r, hk.F_RATE])
                    reasons["chatter"] = min(since, reasons.get("chatter", since))
                found.append(Finding(
                    "sensor_fault", SYSTEM, min(reasons.values()), 0.0, key=sensor_id,
                    detail={
                        "reasons": sorted(reasons),
                        "events_in_window": int(hi[r, hk.I_WLEN]),
                        "window_seconds": self.settings.rate_window_s,
                        "rate_limit": float(hf[r, hk.F_CRATE]),
                    },
                ))  # fmt: skip
            if hi[r, hk.I_FSILENT]:
                since = float(hf[r, hk.F_SSINCE])
                found.append(Finding(
                    "sensor_silent", SYSTEM, since, float(hf[r, hk.F_SLIMIT]), key=sensor_id,
                    detail={
                        "role": ROLES[int(hi[r, hk.I_ROLE])],
                        "silent_seconds": mono - since,
                        "expected_max_gap_seconds": _opt(hf[r, hk.F_CEXP]),
                        "learned": bool(hi[r, hk.I_LEARNED]),
                        "never_seen": bool(math.isnan(hf[r, hk.F_LAST])),
                    },
                ))  # fmt: skip
        return found

    def next_check(self, mono: float) -> float | None:
        st = self.st
        due = hk.next_check(float(mono), st.hf, st.hi, st.days, st.win, st.hg, self.params)
        return None if due == math.inf else float(due)

    # ------------------------------------------------------------------ reading
    def status(self, mono: float, local: float | None = None) -> dict[str, Any]:
        st = self.st
        hk.touch(float(mono), st.hf, st.hi, st.days, st.hg, self.params)
        rows = []
        for sensor_id in sorted(self.sensors):
            r = self._rows[sensor_id]
            hf, hi = st.hf[r], st.hi[r]
            limit = _opt(hf[hk.F_CLIMIT])
            role = ROLES[int(hi[hk.I_ROLE])]
            if not math.isnan(hf[hk.F_RATE]) or not math.isnan(hf[hk.F_DEV]):
                state = FAULT
            elif not math.isnan(hf[hk.F_SSINCE]):
                state = SILENT
            elif limit is None and (role == "rare" and self.settings.rare_cap_s is None):
                state = UNWATCHED
            elif not hi[hk.I_LEARNED]:
                state = LEARNING
            else:
                state = OK
            last = _opt(hf[hk.F_LAST])
            reference = float(hf[hk.F_WATCHED]) if last is None else last
            rows.append({
                "id": sensor_id,
                "role": role,
                "state": state,
                "last_seen_mono": last,
                "silent_seconds": max(0.0, mono - reference - float(hf[hk.F_BLIND])),
                "expected_max_gap_seconds": _opt(hf[hk.F_CEXP]),
                "silence_limit_seconds": limit,
                "events": int(hi[hk.I_EVENTS]),
                "history_days": int(hi[hk.I_DCOUNT]),
            })  # fmt: skip
        return {"watcher": "sensor_health", "sensors": rows}

    # ------------------------------------------------------------------ persistence
    def _days(self, r: int) -> list[list]:
        days, hi = self.st.days, self.st.hi
        H = days.shape[1]
        out = []
        for j in range(int(hi[r, hk.I_DCOUNT])):
            d = days[r, (int(hi[r, hk.I_DHEAD]) + j) % H]
            out.append([float(d[hk.D_START]), float(d[hk.D_GAP]), int(d[hk.D_RATE]), bool(d[hk.D_CHAT])])
        return out

    def state(self) -> dict[str, Any]:
        hg = self.st.hg
        sensors = {}
        for sensor_id in self.sensors:
            r = self._rows[sensor_id]
            hf, hi = self.st.hf[r], self.st.hi[r]
            sensors[sensor_id] = {
                "role": ROLES[int(hi[hk.I_ROLE])],
                "first_seen": _opt(hf[hk.F_FIRST]),
                "last_seen": _opt(hf[hk.F_LAST]),
                "watched_from": float(hf[hk.F_WATCHED]),
                "events": int(hi[hk.I_EVENTS]),
                "blind_s": float(hf[hk.F_BLIND]),
                "days": self._days(r),
                "silent_since": _opt(hf[hk.F_SSINCE]),
                "silent_limit": float(hf[hk.F_SLIMIT]),
            }
        return {"version": 1, "origin": _opt(hg[hk.G_ORIGIN]), "last_mono": _opt(hg[hk.G_LASTMONO]),
                "last_event": _opt(hg[hk.G_LASTEVENT]), "sensors": sensors}

    def load(self, state: dict[str, Any], rebase: Callable[[float], float]) -> None:
        """Restore learned history and latched silences; configured roles win over stored ones."""
        if not state:
            return

        def opt(value: Any) -> Optional[float]:
            return None if value is None else rebase(float(value))

        self._reset()
        st = self.st
        origin = opt(state.get("origin"))
        last = opt(state.get("last_mono"))
        st.hg[hk.G_ORIGIN], st.hg[hk.G_LASTMONO] = _nan(origin), _nan(last)
        st.hg[hk.G_LASTEVENT], st.hg[hk.G_RESUME] = _nan(opt(state.get("last_event"))), _nan(last)
        H = self.settings.history_days
        for sensor_id, raw in (state.get("sensors") or {}).items():
            role = self.roles.get(sensor_id, raw.get("role", "normal"))
            r = self._add_row(sensor_id, role if role in ROLES else "normal", on_origin=sensor_id in self.roles)
            hf, hi = st.hf[r], st.hi[r]
            hi[hk.I_EXISTS] = 1
            hf[hk.F_FIRST], hf[hk.F_LAST] = _nan(opt(raw.get("first_seen"))), _nan(opt(raw.get("last_seen")))
            hf[hk.F_WATCHED] = opt(raw.get("watched_from")) or 0.0
            hi[hk.I_EVENTS] = int(raw.get("events", 0))
            hf[hk.F_BLIND] = float(raw.get("blind_s", 0.0))
            days = (raw.get("days") or [])[-H:]
            for j, d in enumerate(days):
                st.days[r, j] = (rebase(float(d[0])), float(d[1]), int(d[2]), bool(d[3]) if len(d) > 3 else False)
            hi[hk.I_DCOUNT] = len(days)
            hf[hk.F_SSINCE] = _nan(opt(raw.get("silent_since")))
            hi[hk.I_FSILENT] = 0 if math.isnan(hf[hk.F_SSINCE]) else 1  # a latched silence is found at once
            hf[hk.F_SLIMIT] = float(raw.get("silent_limit", 0.0))
        # Sensors new in the config are watched from the save (plus the downtime: from the restart).
        start = last if last is not None else (origin or 0.0)
        for sensor_id, role in self.roles.items():
            if sensor_id not in self._rows:
                r = self._add_row(sensor_id, role, on_origin=True)
                hk.create(r, st.hf, st.hi, st.days, st.hg, self.params, start)
        hk.refresh_all(st.hf, st.hi, st.days, st.hg, self.params)
