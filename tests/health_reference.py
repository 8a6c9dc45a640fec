"""The plain-Python reference of sensor health: every rule of ``hubd.core.health``, slowly.

``hubd.core.health.SensorHealth`` runs its rules as numba kernels
(``hubd/core/health_kernels.py``), the same ones the bulk replay runs; this is the
obvious version they are held to (``test_health_cache.py``): every limit recomputed from
the history and every sensor scanned on every call. It lives only in the tests.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any, Callable, Mapping, Optional

from hubd.detector.base import Detector

from hubd.findings import SYSTEM, Finding
from hubd.events import Event, Kind
from hubd.core.health import DAY, FAULT, LEARNING, OK, ROLES, SILENT, UNWATCHED, HealthSettings

_MAX_WINDOW_EVENTS = 10_000

@dataclass
class _Day:
    start: float
    max_gap: float = 0.0
    max_rate: int = 0
    chatter: bool = False  # a rate fault fired: this day's rate says nothing of the usual


class _Sensor:
    """What health knows about one sensor."""

    def __init__(self, role: str, origin: float):
        self.role = role
        self.first_seen: Optional[float] = None
        self.last_seen: Optional[float] = None
        self.watched_from = origin  # silence of a sensor never seen counts from here
        self.events = 0
        self.blind_s = 0.0  # hub downtime since the last event: not silence
        self.days: deque[_Day] = deque()
        self.silent_since: Optional[float] = None  # latched until the sensor reports
        self.silent_limit = 0.0
        self.window: deque[float] = deque(maxlen=_MAX_WINDOW_EVENTS)
        self.rate_fault_since: Optional[float] = None
        self.device_faults: dict[str, float] = {}  # reason -> since; kept fault_hold_s after clearing
        self.device_cleared_at: Optional[float] = None
        self._c_ok = False  # cache of what the history implies (see SensorHealth._cached)
        self._c_expected: Optional[float] = None
        self._c_learned = False
        self._c_limit: Optional[float] = None
        self._c_rate = 0.0

    @property
    def reference(self) -> float:
        return self.watched_from if self.last_seen is None else self.last_seen


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


class ReferenceHealth(Detector):
    """Findings ``sensor_silent`` and ``sensor_fault`` (category system, key = sensor id)."""

    def __init__(self, roles: Mapping[str, str] | None = None, settings: HealthSettings | None = None,
                 cache: bool = False):
        self.settings = settings or HealthSettings()
        self.cache = cache
        self._due_min: Optional[float] = None  # earliest silence due of any sensor (None: recompute)
        self.roles = dict(roles or {})
        for sensor_id, role in self.roles.items():
            if role not in ROLES:
                raise ValueError(f"sensor {sensor_id!r}: unknown role {role!r} (expected one of {', '.join(ROLES)})")
        self.sensors: dict[str, _Sensor] = {}
        self._origin: Optional[float] = None
        self._last_mono: Optional[float] = None
        self._last_event: Optional[float] = None
        self._resume_from: Optional[float] = None  # set by load: the last time seen before the save

    # ------------------------------------------------------------------ inputs
    def observe(self, event: Event) -> None:
        mono = event.mono
        self._touch(mono)
        self._exclude_absence(mono)
        sensor = self._sensor(event.sensor, event.kind)
        if sensor.last_seen is not None and mono < sensor.last_seen:
            sensor.events += 1  # out of order: alive, but no gap to learn
            return
        today = sensor.days[-1] if sensor.days else None
        day = self._day(sensor, mono)
        changed = day is not today or not sensor._c_learned
        if sensor.last_seen is not None and sensor.blind_s == 0.0 and mono - sensor.last_seen > day.max_gap:
            day.max_gap = mono - sensor.last_seen
            changed = True
        if sensor.first_seen is None:
            sensor.first_seen = mono
        sensor.last_seen = mono
        sensor.blind_s = 0.0
        sensor.events += 1
        sensor.silent_since = None
        self._due_min = None
        if event.kind is Kind.APPLIANCE:
            if changed:
                sensor._c_ok = False
            return  # a power meter reports on its own schedule: chatter is a property of switches
        count = self._window_count(sensor, mono, add=True)
        if count > day.max_rate:
            day.max_rate = count
            changed = True
        if changed:
            sensor._c_ok = False
        if count > self._rate_limit(sensor):
            if sensor.rate_fault_since is None:
                sensor.rate_fault_since = mono
        if sensor.rate_fault_since is not None:  # chatter never becomes the norm, nor its ramp
            if not day.chatter:
                day.chatter = True
                sensor._c_ok = False
            if sensor.window[0] < day.start and len(sensor.days) > 1 and not sensor.days[-2].chatter:
                sensor.days[-2].chatter = True
                sensor._c_ok = False

    def report_fault(self, sensor_id: str, reason: Optional[str], mono: float) -> None:
        """A fault seen by the device itself (e.g. GPIO chatter); ``reason`` None clears it."""
        self._touch(mono)
        sensor = self._sensor(sensor_id)
        if reason is None:
            if sensor.device_faults and sensor.device_cleared_at is None:
                sensor.device_cleared_at = mono
            return
        sensor.device_faults.setdefault(reason, mono)
        sensor.device_cleared_at = None

    # ------------------------------------------------------------------ findings
    def _quiet_until(self) -> float:
        """Before this time no sensor can fall silent, and nothing else changes while none is faulted."""
        if self._due_min is None:
            dues = [self._due(sensor) for sensor in self.sensors.values()]
            self._due_min = min((d for d in dues if d is not None), default=math.inf)
        due = self._due_min
        return due if due == math.inf else due - (1e-3 + 1e-12 * abs(due))

    def _due(self, sensor: _Sensor) -> Optional[float]:
        limit = self._silence_limit(sensor)
        if limit is None or sensor.silent_since is not None:
            return None
        return sensor.reference + sensor.blind_s + limit

    def _quiet(self) -> bool:
        return self.cache and not any(s.rate_fault_since is not None or s.device_faults or s.device_cleared_at
                                      is not None for s in self.sensors.values())

    def check(self, mono: float, local: float | None = None) -> list[Finding]:
        self._touch(mono)
        if self._quiet() and mono < self._quiet_until():
            return [self._silent_finding(sensor_id, sensor, mono) for sensor_id, sensor in self.sensors.items()
                    if sensor.silent_since is not None]
        self._due_min = None
        found = []
        for sensor_id, sensor in self.sensors.items():
            fault = self._fault_finding(sensor_id, sensor, mono)
            if fault is not None:
                found.append(fault)
            silent = self._silent_finding(sensor_id, sensor, mono)
            if silent is not None:
                found.append(silent)
        return found

    def next_check(self, mono: float) -> float | None:
        self._touch(mono)
        if self._quiet():
            self._quiet_until()
            if self._due_min > mono:
                return None if self._due_min == math.inf else self._due_min
        candidates = []
        for sensor in self.sensors.values():
            limit = self._silence_limit(sensor)
            if limit is not None and sensor.silent_since is None:
                candidates.append(sensor.reference + sensor.blind_s + limit)
            if sensor.rate_fault_since is not None and sensor.window:
                candidates.append(sensor.window[0] + self.settings.rate_window_s)
            if sensor.device_cleared_at is not None:
                candidates.append(sensor.device_cleared_at + self.settings.fault_hold_s)
        future = [c for c in candidates if c > mono]
        return min(future) if future else None

    def _silent_finding(self, sensor_id: str, sensor: _Sensor, mono: float) -> Optional[Finding]:
        if sensor.silent_since is None:
            limit = self._silence_limit(sensor)
            if limit is None or self._faulted(sensor, mono):
                return None
            silent_for = mono - sensor.reference - sensor.blind_s
            if silent_for <= limit or not self._others_alive(sensor_id, mono):
                return None
            sensor.silent_since, sensor.silent_limit = sensor.reference, limit
        return Finding(
            "sensor_silent", SYSTEM, sensor.silent_since, sensor.silent_limit, key=sensor_id,
            detail={
                "role": sensor.role,
                "silent_seconds": mono - sensor.silent_since,
                "expected_max_gap_seconds": self._expected_gap(sensor),
                "learned": self._learned(sensor, mono),
                "never_seen": sensor.last_seen is None,
            },
        )  # fmt: skip

    def _fault_finding(self, sensor_id: str, sensor: _Sensor, mono: float) -> Optional[Finding]:
        reasons: dict[str, float] = {}
        if sensor.rate_fault_since is not None:
            count = self._window_count(sensor, mono)
            if count * 2 <= self._rate_limit(sensor):
                sensor.rate_fault_since = None  # hysteresis: half the limit to clear
            elif mono >= sensor.rate_fault_since + self.settings.chatter_min_s:  # a busy half hour is use
                reasons["chatter"] = sensor.rate_fault_since
        if sensor.device_cleared_at is not None and mono >= sensor.device_cleared_at + self.settings.fault_hold_s:
            sensor.device_faults.clear()
            sensor.device_cleared_at = None
        for reason, since in sensor.device_faults.items():  # a device's chatter and a rate fault: one reason
            reasons[reason] = min(since, reasons.get(reason, since))
        if not reasons:
            return None
        return Finding(
            "sensor_fault", SYSTEM, min(reasons.values()), 0.0, key=sensor_id,
            detail={
                "reasons": sorted(reasons),
                "events_in_window": len(sensor.window),
                "window_seconds": self.settings.rate_window_s,
                "rate_limit": self._rate_limit(sensor),
            },
        )  # fmt: skip

    # ------------------------------------------------------------------ learning
    def _sensor(self, sensor_id: str, kind: Kind | None = None) -> _Sensor:
        sensor = self.sensors.get(sensor_id)
        if sensor is None:
            # Not configured (a replayed log): without a technician's role only a motion sensor has a
            # rhythm to expect; a cupboard, appliance door or the OK button is used when it is needed.
            role = self.roles.get(sensor_id, "normal" if kind is Kind.MOTION else "rare")
            origin = self._origin if self._origin is not None else 0.0
            sensor = self.sensors[sensor_id] = _Sensor(role, origin)
            self._due_min = None
        return sensor

    def _exclude_absence(self, mono: float) -> None:
        """After a whole-flat silence (the resident away), no sensor was expected to report."""
        last, self._last_event = self._last_event, mono
        if last is None or mono - last <= self.settings.absence_s:
            return
        lifeless = mono - last - self.settings.life_window_s
        for sensor in self.sensors.values():
            sensor.blind_s += lifeless
        self._due_min = None

    def _touch(self, mono: float) -> None:
        """Every input carries the time: the first one starts the watch, or ends a downtime."""
        if self._origin is None:
            self._origin = mono
            for sensor_id in self.roles:
                self._sensor(sensor_id).watched_from = mono
            self._due_min = None
        if self._resume_from is not None:
            down = max(0.0, mono - self._resume_from)
            for sensor in self.sensors.values():
                sensor.blind_s += down
            self._resume_from = None
            self._due_min = None
            if self._last_event is not None:
                self._last_event = max(self._last_event, mono)  # the downtime is already excluded
        if self._last_mono is None or mono > self._last_mono:
            self._last_mono = mono

    def _day(self, sensor: _Sensor, mono: float) -> _Day:
        if not sensor.days:
            sensor.days.append(_Day(mono))
        current = sensor.days[-1]
        if mono >= current.start + DAY:
            current = _Day(current.start + DAY * math.floor((mono - current.start) / DAY))
            sensor.days.append(current)
            while len(sensor.days) > self.settings.history_days:
                sensor.days.popleft()
        return current

    def _window_count(self, sensor: _Sensor, mono: float, add: bool = False) -> int:
        if add:
            sensor.window.append(mono)
        while sensor.window and sensor.window[0] <= mono - self.settings.rate_window_s:
            sensor.window.popleft()
        return len(sensor.window)

    def _cached(self, sensor: _Sensor) -> _Sensor:
        """Fill the sensor's cache of what its history implies (kept until observe changes it)."""
        if not sensor._c_ok:
            sensor._c_expected = self._expected_gap_now(sensor)
            sensor._c_learned = self._learned_now(sensor)
            sensor._c_limit = self._silence_limit_now(sensor)
            sensor._c_rate = self._rate_limit_now(sensor)
            sensor._c_ok = self.cache
        return sensor

    def _learned(self, sensor: _Sensor, mono: float | None = None) -> bool:
        return self._cached(sensor)._c_learned if self.cache else self._learned_now(sensor)

    def _expected_gap(self, sensor: _Sensor) -> Optional[float]:
        return self._cached(sensor)._c_expected if self.cache else self._expected_gap_now(sensor)

    def _silence_limit(self, sensor: _Sensor) -> Optional[float]:
        return self._cached(sensor)._c_limit if self.cache else self._silence_limit_now(sensor)

    def _rate_limit(self, sensor: _Sensor) -> float:
        return self._cached(sensor)._c_rate if self.cache else self._rate_limit_now(sensor)

    def _learned_now(self, sensor: _Sensor, mono: float | None = None) -> bool:
        s = self.settings
        if sensor.first_seen is None or sensor.last_seen is None:
            return False
        span = sensor.last_seen - sensor.first_seen
        return span >= s.min_days * DAY and sensor.events >= s.min_events and self._expected_gap_now(sensor) is not None

    def _expected_gap_now(self, sensor: _Sensor) -> Optional[float]:
        gaps = [day.max_gap for day in sensor.days if day.max_gap > 0]
        return _quantile(gaps, self.settings.quantile) if gaps else None

    def _cap(self, sensor: _Sensor) -> Optional[float]:
        s = self.settings
        if sensor.role == "daily_route":
            return s.daily_cap_s
        if sensor.role == "rare":
            return s.rare_cap_s
        return s.normal_cap_s

    def _silence_limit_now(self, sensor: _Sensor) -> Optional[float]:
        """Seconds of silence past which this sensor is suspect; None: not watched (yet)."""
        cap = self._cap(sensor)
        if cap is None:
            return None
        if not self._learned_now(sensor):
            return cap if sensor.role == "daily_route" else None
        expected = self._expected_gap_now(sensor) or 0.0
        s = self.settings
        floor = s.floor_s if sensor.role == "daily_route" else max(s.floor_s, s.normal_floor_s)
        return min(cap, max(floor, expected * s.factor + s.margin_s))

    def _rate_limit_now(self, sensor: _Sensor) -> float:
        s = self.settings
        rates = [day.max_rate for day in sensor.days if day.max_rate > 0 and not day.chatter]
        if not self._learned_now(sensor) or not rates:
            return float(s.rate_floor)
        return max(float(s.rate_floor), s.rate_factor * _quantile(rates, s.quantile))

    def _faulted(self, sensor: _Sensor, mono: float) -> bool:
        return sensor.rate_fault_since is not None or bool(sensor.device_faults)

    def _others_alive(self, sensor_id: str, mono: float) -> bool:
        since = mono - self.settings.life_window_s
        for other_id, other in self.sensors.items():
            if other_id == sensor_id or other.role == "autonomous" or other.last_seen is None:
                continue
            if other.last_seen >= since and not self._faulted(other, mono):
                return True
        return False

    # ------------------------------------------------------------------ reading
    def status(self, mono: float, local: float | None = None) -> dict[str, Any]:
        self._touch(mono)
        rows = []
        for sensor_id, sensor in sorted(self.sensors.items()):
            limit = self._silence_limit(sensor)
            if self._faulted(sensor, mono):
                state = FAULT
            elif sensor.silent_since is not None:
                state = SILENT
            elif limit is None and self._cap(sensor) is None:
                state = UNWATCHED
            elif not self._learned(sensor):
                state = LEARNING
            else:
                state = OK
            rows.append({
                "id": sensor_id,
                "role": sensor.role,
                "state": state,
                "last_seen_mono": sensor.last_seen,
                "silent_seconds": max(0.0, mono - sensor.reference - sensor.blind_s),
                "expected_max_gap_seconds": self._expected_gap(sensor),
                "silence_limit_seconds": limit,
                "events": sensor.events,
                "history_days": len(sensor.days),
            })  # fmt: skip
        return {"watcher": "sensor_health", "sensors": rows}

    # ------------------------------------------------------------------ persistence
    def state(self) -> dict[str, Any]:
        return {
            "version": 1,
            "origin": self._origin,
            "last_mono": self._last_mono,
            "last_event": self._last_event,
            "sensors": {
                sensor_id: {
                    "role": sensor.role,
                    "first_seen": sensor.first_seen,
                    "last_seen": sensor.last_seen,
                    "watched_from": sensor.watched_from,
                    "events": sensor.events,
                    "blind_s": sensor.blind_s,
                    "days": [[d.start, d.max_gap, d.max_rate, d.chatter] for d in sensor.days],
                    "silent_since": sensor.silent_since,
                    "silent_limit": sensor.silent_limit,
                }
                for sensor_id, sensor in self.sensors.items()
            },
        }

    def load(self, state: dict[str, Any], rebase: Callable[[float], float]) -> None:
        """Restore learned history and latched silences; configured roles win over stored ones."""
        if not state:
            return

        def opt(value: Any) -> Optional[float]:
            return None if value is None else rebase(float(value))

        self._origin = opt(state.get("origin"))
        last = opt(state.get("last_mono"))
        self._last_mono = last
        self._last_event = opt(state.get("last_event"))
        self._resume_from = last
        self.sensors = {}
        for sensor_id, raw in (state.get("sensors") or {}).items():
            role = self.roles.get(sensor_id, raw.get("role", "normal"))
            sensor = _Sensor(role if role in ROLES else "normal", opt(raw.get("watched_from")) or 0.0)
            sensor.first_seen = opt(raw.get("first_seen"))
            sensor.last_seen = opt(raw.get("last_seen"))
            sensor.events = int(raw.get("events", 0))
            sensor.blind_s = float(raw.get("blind_s", 0.0))
            days = raw.get("days") or []
            sensor.days = deque(
                _Day(rebase(float(d[0])), float(d[1]), int(d[2]), bool(d[3]) if len(d) > 3 else False)
                for d in days[-self.settings.history_days:]
            )
            sensor.silent_since = opt(raw.get("silent_since"))
            sensor.silent_limit = float(raw.get("silent_limit", 0.0))
            self.sensors[sensor_id] = sensor
        # Sensors new in the config are watched from the save (plus the downtime: from the restart).
        start = last if last is not None else (self._origin or 0.0)
        for sensor_id in self.roles:
            if sensor_id not in self.sensors:
                self.sensors[sensor_id] = _Sensor(self.roles[sensor_id], start)
        self._invalidate()

    def _invalidate(self) -> None:
        """Forget every cache (after the state was replaced wholesale)."""
        for sensor in self.sensors.values():
            sensor._c_ok = False
        self._due_min = None


def reference_dump(h: ReferenceHealth) -> dict:
    """Everything the reference keeps (more than ``state()``: windows, faults, order)."""
    sensors = {}
    for sid, s in h.sensors.items():
        d = {k: v for k, v in vars(s).items() if not k.startswith("_c")}
        d["days"] = [asdict(x) for x in s.days]
        d["window"] = list(s.window)
        sensors[sid] = d
    return {"origin": h._origin, "last_mono": h._last_mono, "last_event": h._last_event,
            "resume_from": h._resume_from, "sensors": sensors}
