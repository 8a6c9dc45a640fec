"""The engine over a whole batch of events at once: :func:`handle_batch`, a shell that drives the core.

The reference is the per-event path, ``replay.Replayer``: for every event, tick the
engine at each deadline it names up to the event's time (inclusive), then
``Engine.handle(event)``; with ``until``, tick on up to it. This module makes the same
sequence of engine calls, but only the calls in which something besides the sensor
health watcher and the detector's learning happens go through the Python engine:

* the learned detector learns in bulk (``LearnedDetector.replay``; the fixed timer
  in ``bulk_kernels.fixed_advance``) between those calls;
* the sensor-health watcher runs in numba (``bulk_kernels.run_calls``), which also
  reproduces the engine's tick schedule (the deadlines of the alert policy, the mode,
  the heartbeat, the detector and the watcher itself, with the engine's own float
  arithmetic) and stops at every call the engine must make itself: a change in the
  watcher's findings, an alert or mode deadline, a heartbeat, a button, an away mode
  ending, and every call near a change in the detector's findings;
* at such a call the real ``Engine.handle``/``Engine.tick`` runs — the same mode,
  heartbeat and ``AlertPolicy`` code as the daemon — with the detector and the watcher
  answering from their bulk state. So the actions are exactly the per-event ones.

Where the detector may change, it is found out ahead: the detector learns a segment
speculatively (with a "check" inserted before each event that could end a finding, so a
finding due at exactly an event's time shows, as the engine's inclusive tick shows it);
if anything would change in that segment, the detector goes back to a snapshot and the
calls around the change are made one by one with the detector fed per event.

After the batch the engine, its detector and its watcher are in the state per-event
feeding leaves them in (``tests/test_replay_bulk.py`` proves it on the real month,
simulated residents and random streams), so a daemon can catch up in bulk and go on
per event. Engines with other detectors or watchers, and unsorted batches, go through
the per-event path.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, Callable, Optional, Sequence

import numpy as np

from . import bulk_kernels as bk
from .actions import AlertChanged
from .detector.base import SYSTEM, FixedTimerDetector, Finding
from .events import Event, Kind

HOUR = 3600.0
INF = math.inf
SEGMENT_EVENTS = 1 << 18  # longest speculative detector segment without a heartbeat to aim at


def _identity(x: float) -> float:
    return x


def _opt(x: float) -> Optional[float]:
    x = float(x)
    return None if x != x else x


def _nan(x: Optional[float]) -> float:
    return math.nan if x is None else float(x)


# ---------------------------------------------------------------------------- the health watcher
class HealthArrays:
    """``SensorHealth`` state as the arrays of ``bulk_kernels`` (rows in the watcher's dict order)."""

    def __init__(self, health, names: Sequence[str], first_kind: np.ndarray, appends: np.ndarray):
        from .sensors.health import ROLES, _MAX_WINDOW_EVENTS, SensorHealth

        off = health is None
        if off:  # no watcher: the kernel's health part is switched off
            health = SensorHealth({})
        self.health = health
        st = health.settings
        existing = list(health.sensors)
        rows = list(existing)
        on_origin = []
        if health._origin is None:
            on_origin = [sid for sid in health.roles if sid not in health.sensors]
            rows += on_origin
        row_of = {sid: i for i, sid in enumerate(rows)}
        for name in names:
            if name not in row_of:
                row_of[name] = len(rows)
                rows.append(name)
        self.rows = rows
        self.slot = np.array([row_of[name] for name in names], dtype=np.int64)  # batch sensor id -> row
        S, H = len(rows), st.history_days
        self.hf = np.full((S, bk.NF), np.nan)
        self.hi = np.zeros((S, bk.NI), dtype=np.int64)
        self.dstart = np.zeros((S, H))
        self.dgap = np.zeros((S, H))
        self.drate = np.zeros((S, H))
        self.dchat = np.zeros((S, H), dtype=np.int64)
        self.role_new = np.zeros(S, dtype=np.int64)
        extra = np.zeros(S, dtype=np.int64)
        extra[self.slot] = appends
        caps = np.zeros(S, dtype=np.int64)
        for i, sid in enumerate(rows):
            have = len(health.sensors[sid].window) if sid in health.sensors else 0
            caps[i] = max(1, min(_MAX_WINDOW_EVENTS, have + int(extra[i])))
        offsets = np.concatenate(([0], np.cumsum(caps)[:-1])).astype(np.int64)
        self.wbuf = np.zeros(int(caps.sum()))
        self.hi[:, bk.I_WOFF] = offsets
        self.hi[:, bk.I_WCAP] = caps
        for i, name in enumerate(names):
            r = row_of[name]
            if name not in health.sensors and name not in on_origin:
                kind = Kind(int(first_kind[i]))
                role = health.roles.get(name, "normal" if kind is Kind.MOTION else "rare")
                self.role_new[r] = ROLES.index(role)
        for sid in on_origin:
            r = row_of[sid]
            self.hi[r, bk.I_ONORIGIN] = 1
            self.hi[r, bk.I_ROLE] = ROLES.index(health.roles[sid])
            self.role_new[r] = self.hi[r, bk.I_ROLE]
        self.device = {}
        n_rate = n_dev = 0
        for sid in existing:
            r = row_of[sid]
            s = health.sensors[sid]
            self.hi[r, bk.I_EXISTS] = 1
            self.hi[r, bk.I_ROLE] = ROLES.index(s.role)
            hf = self.hf[r]
            hf[bk.F_FIRST], hf[bk.F_LAST], hf[bk.F_WATCHED] = _nan(s.first_seen), _nan(s.last_seen), s.watched_from
            hf[bk.F_BLIND], hf[bk.F_SSINCE], hf[bk.F_SLIMIT] = s.blind_s, _nan(s.silent_since), s.silent_limit
            hf[bk.F_RATE] = _nan(s.rate_fault_since)
            hf[bk.F_DEV] = min(s.device_faults.values()) if s.device_faults else math.nan
            hf[bk.F_DEVCLR] = _nan(s.device_cleared_at)
            self.device[r] = dict(s.device_faults)
            n_rate += s.rate_fault_since is not None
            n_dev += bool(s.device_faults)
            self.hi[r, bk.I_EVENTS] = s.events
            self.hi[r, bk.I_DHEAD] = 0
            self.hi[r, bk.I_DCOUNT] = len(s.days)
            for j, d in enumerate(s.days):
                self.dstart[r, j], self.dgap[r, j], self.drate[r, j], self.dchat[r, j] = d.start, d.max_gap, d.max_rate, d.chatter
            w = list(s.window)
            self.wbuf[offsets[r]:offsets[r] + len(w)] = w
            self.hi[r, bk.I_WHEAD] = 0
            self.hi[r, bk.I_WLEN] = len(w)
        self.hg = np.array([_nan(health._origin), _nan(health._last_mono), _nan(health._last_event),
                            _nan(health._resume_from), INF, n_rate, n_dev, 1.0 if off else 0.0], dtype=np.float64)
        self.hp = np.array([st.floor_s, st.normal_floor_s, st.daily_cap_s, st.normal_cap_s, _nan(st.rare_cap_s),
                            st.factor, st.margin_s, st.quantile, st.history_days, st.min_days, st.min_events,
                            st.life_window_s, st.absence_s, st.rate_window_s, st.rate_floor, st.rate_factor,
                            st.fault_hold_s], dtype=np.float64)
        bk.health_init(self.hf, self.hi, self.dgap, self.drate, self.dchat, self.hg, self.hp)

    def findings(self, mono: float) -> list[Finding]:
        """What ``SensorHealth.check`` returned at the current call (computed by the kernel)."""
        from .sensors.health import ROLES

        hf, hi = self.hf, self.hi
        found: list[Finding] = []
        rw = float(self.hp[bk.P_RATEWIN])
        for r in np.flatnonzero(hi[:, bk.I_FFAULT] | hi[:, bk.I_FSILENT]):
            r = int(r)
            sid = self.rows[r]
            if hi[r, bk.I_FFAULT]:
                reasons: dict[str, float] = {}
                if hf[r, bk.F_RATE] == hf[r, bk.F_RATE]:
                    reasons["rate"] = float(hf[r, bk.F_RATE])
                if hf[r, bk.F_DEV] == hf[r, bk.F_DEV]:
                    reasons.update(self.device.get(r, {}))
                found.append(Finding("sensor_fault", SYSTEM, min(reasons.values()), 0.0, key=sid, detail={
                    "reasons": sorted(reasons), "events_in_window": int(hi[r, bk.I_WLEN]),
                    "window_seconds": rw, "rate_limit": float(hf[r, bk.F_CRATE])}))
            if hi[r, bk.I_FSILENT]:
                since = float(hf[r, bk.F_SSINCE])
                found.append(Finding("sensor_silent", SYSTEM, since, float(hf[r, bk.F_SLIMIT]), key=sid, detail={
                    "role": ROLES[int(hi[r, bk.I_ROLE])], "silent_seconds": mono - since,
                    "expected_max_gap_seconds": _opt(hf[r, bk.F_CEXP]), "learned": bool(hi[r, bk.I_LEARNED]),
                    "never_seen": hf[r, bk.F_LAST] != hf[r, bk.F_LAST]}))
        return found

    def write_back(self) -> None:
        """Put the kernel's state back into the ``SensorHealth`` object."""
        from .sensors.health import ROLES, _MAX_WINDOW_EVENTS, _Day, _Sensor

        health, hf, hi = self.health, self.hf, self.hi
        sensors = {}
        H = self.dstart.shape[1]
        for r, sid in enumerate(self.rows):
            if not hi[r, bk.I_EXISTS]:
                continue
            s = _Sensor(ROLES[int(hi[r, bk.I_ROLE])], float(hf[r, bk.F_WATCHED]))
            s.first_seen, s.last_seen = _opt(hf[r, bk.F_FIRST]), _opt(hf[r, bk.F_LAST])
            s.events, s.blind_s = int(hi[r, bk.I_EVENTS]), float(hf[r, bk.F_BLIND])
            head, count = int(hi[r, bk.I_DHEAD]), int(hi[r, bk.I_DCOUNT])
            days = deque()
            for j in range(count):
                x = (head + j) % H
                days.append(_Day(float(self.dstart[r, x]), float(self.dgap[r, x]), int(self.drate[r, x]),
                                 bool(self.dchat[r, x])))
            s.days = days
            s.silent_since, s.silent_limit = _opt(hf[r, bk.F_SSINCE]), float(hf[r, bk.F_SLIMIT])
            off, cap = int(hi[r, bk.I_WOFF]), int(hi[r, bk.I_WCAP])
            wh, wl = int(hi[r, bk.I_WHEAD]), int(hi[r, bk.I_WLEN])
            idx = (wh + np.arange(wl)) % cap + off
            s.window = deque((float(x) for x in self.wbuf[idx]), maxlen=_MAX_WINDOW_EVENTS)
            s.rate_fault_since = _opt(hf[r, bk.F_RATE])
            s.device_faults = dict(self.device.get(r, {})) if hf[r, bk.F_DEV] == hf[r, bk.F_DEV] else {}
            s.device_cleared_at = _opt(hf[r, bk.F_DEVCLR])
            sensors[sid] = s
        health.sensors = sensors
        hg = self.hg
        health._origin, health._last_mono = _opt(hg[bk.G_ORIGIN]), _opt(hg[bk.G_LASTMONO])
        health._last_event, health._resume_from = _opt(hg[bk.G_LASTEVENT]), _opt(hg[bk.G_RESUME])
        invalidate = getattr(health, "_invalidate", None)
        if invalidate is not None:
            invalidate()


class _HealthProxy:
    """Stands in for ``SensorHealth`` in the engine during a batch: answers from the kernel."""

    def __init__(self, arrays: HealthArrays):
        self.arrays = arrays

    def observe(self, event: Event) -> None:  # the kernel observed it
        pass

    def check(self, mono: float, local: float | None = None) -> list[Finding]:
        return self.arrays.findings(mono)

    def next_check(self, mono: float) -> float | None:  # the kernel schedules the ticks
        raise AssertionError("not used during a batch")

    def status(self, mono: float, local: float | None = None) -> dict[str, Any]:
        raise AssertionError("not used during a batch")


# ---------------------------------------------------------------------------- the detector
class _Driver:
    """Feeds the detector the batch's inside events in bulk; ``pos`` = batch events fed so far."""

    def __init__(self, run: "BulkRun"):
        self.run = run
        self.pos = 0
        self._snap: tuple[int, Any] | None = None

    def snapshot(self) -> None:
        self._snap = (self.pos, self._save())

    def restore(self) -> None:
        pos, state = self._snap
        self._load(state)
        self.pos = pos

    def position(self, target: int) -> None:
        """Bring the detector to exactly ``target`` batch events fed (back to the snapshot if needed)."""
        if target < self.pos:
            self.restore()
        if target > self.pos:
            self.advance(target, phantoms=False, t_last=-INF)

    # subclasses: _save, _load, advance(target, phantoms, t_last) -> first event index to watch or -1


class _LearnedDriver(_Driver):
    def __init__(self, run: "BulkRun"):
        super().__init__(run)
        self.det = run.detector
        inside = run.inside
        self.ins_before = np.concatenate(([0], np.cumsum(inside))).astype(np.int64)  # batch index -> inside index
        if inside.all():
            mono, local, kind, ids, value = run.mono, run.local, run.kind, run.sensor, run.value
        else:
            idx = np.flatnonzero(inside)
            mono, local, kind, ids, value = run.mono[idx], run.local[idx], run.kind[idx], run.sensor[idx], run.value[idx]
        # the detector's sensor ids: inside sensors in order of first appearance (as per-event feeding registers them)
        sensor, order, _ = bk.first_appearance(ids, max(1, len(run.names)))
        self.sensors = tuple(run.names[int(i)] for i in order)
        self.inside_arrays = (mono, local, kind, sensor, value)
        if self.sensors:
            # Register the batch's sensors now, in the order feeding them would (an empty replay):
            # LearnedDetector.load cannot restore a state without sensors (held_hist reshape).
            from .detector.model import EventBatch

            empty = np.zeros(0)
            self.det.replay(EventBatch(empty, empty, empty.astype(np.int64), empty.astype(np.int64), empty,
                                       self.sensors))

    def _save(self):
        return self.det.state()

    def _load(self, state) -> None:
        if not state["sensors"]:  # never fed anything (no inside events at all): nothing to undo
            return
        self.det.load(state, _identity)

    def advance(self, target: int, phantoms: bool, t_last: float) -> int:
        from .detector.model import EventBatch

        a, b = int(self.ins_before[self.pos]), int(self.ins_before[target])
        self.pos = target
        first = INF
        if b > a:
            cols = [x[a:b] for x in self.inside_arrays]
            if phantoms:  # a check just before each event that could end a finding due exactly at its time
                cols = bk.with_checks(*cols)[:5]
            batch = EventBatch(*cols, self.sensors)
            for ep in self.det.replay(batch).episodes:
                if ep.start_mono >= t_last and ep.start_mono < first:
                    first = ep.start_mono
                if ep.end_mono is not None and ep.end_mono < first:
                    first = ep.end_mono
        if target > 0 and phantoms:
            # after the segment's last inside event only outside events (autonomous sensors) may
            # come: a finding falling due among them is a change too (a due not after the last
            # inside event is latched, so this is the first due after it)
            due = self.det.next_check(t_last)
            if due is not None and due <= float(self.run.mono[target - 1]) and due < first:
                first = due
        if first == INF:
            return -1
        return int(np.searchsorted(self.run.mono, first, side="left"))


class _FixedDriver(_Driver):
    def __init__(self, run: "BulkRun"):
        super().__init__(run)
        det = self.det = run.detector
        idx = np.flatnonzero(run.inside)
        self.idx = idx
        self.ins_before = np.concatenate(([0], np.cumsum(run.inside))).astype(np.int64)
        self.sensor, order, _ = bk.first_appearance(run.sensor[idx], max(1, len(run.names)))
        names = [run.names[int(i)] for i in order]
        for nm in det.held_since:
            if nm not in names:
                names.append(nm)
        self.names = names
        self.arrays = (run.mono[idx], run.local[idx], run.kind[idx], self.sensor, run.value[idx])
        self.limit = float(det.limit)
        self.held_limit = _nan(det.held_limit)
        self.appliance_on = float(det.appliance_on_watts)

    def _save(self):
        return self.det.state()

    def _load(self, state) -> None:
        self.det.load(state, _identity)

    def advance(self, target: int, phantoms: bool, t_last: float) -> int:
        det = self.det
        a, b = int(self.ins_before[self.pos]), int(self.ins_before[target])
        self.pos = target
        if b > a:
            n = len(self.names)
            held_since = np.full(n, np.nan)
            held_seq = np.zeros(n)
            for i, (nm, t) in enumerate(det.held_since.items()):
                held_since[self.names.index(nm)] = t
                held_seq[self.names.index(nm)] = i
            st = np.array([_nan(det.last_activity_mono), _nan(det.last_activity_local), len(det.held_since),
                           len(det.held_since)], dtype=np.float64)
            mono, local, kind, sensor, value = self.arrays
            first = bk.fixed_advance(mono, local, kind, sensor, value, a, b, st, held_since, held_seq, self.limit,
                                     self.held_limit, self.appliance_on, t_last)
            det.last_activity_mono, det.last_activity_local = _opt(st[0]), _opt(st[1])
            held = [j for j in range(n) if held_since[j] == held_since[j]]
            held.sort(key=lambda j: held_seq[j])
            det.held = {self.names[j] for j in held}
            det.held_since = {self.names[j]: float(held_since[j]) for j in held}
            if first < INF:
                return int(np.searchsorted(self.run.mono, first, side="left"))
        if target == 0 or not phantoms:
            return -1
        # a finding shown for the first time after the last inside event, among outside
        # (autonomous) events only, up to the segment's last event
        tail = float(self.run.mono[target - 1])
        dues = [] if det.held or det.last_activity_mono is None else [(det.last_activity_mono, self.limit)]
        if det.held_limit is not None:
            dues += [(t, det.held_limit) for t in det.held_since.values()]
        first_t = INF
        for since, limit in dues:
            due = since + limit
            vis = bk.first_visible(since, limit, due)
            if min(due, vis) <= tail and max(due, vis) >= t_last:
                first_t = min(first_t, due, vis)
        if first_t < INF:
            return int(np.searchsorted(self.run.mono, first_t, side="left"))
        return -1


class _DetectorProxy:
    """Stands in for the detector in the engine during a batch.

    ``live``: the detector is exactly where the engine's call needs it; everything is
    forwarded. Otherwise (inside a certified segment, where the detector has already
    learned further ahead) ``check`` answers the findings that hold throughout the
    segment and ``status`` brings the detector back to the call's position first.
    """

    def __init__(self, run: "BulkRun"):
        self.run = run
        self.live = True
        self.frozen: list[Finding] = []

    def observe(self, event: Event) -> None:
        if self.live:
            self.run.detector.observe(event)

    def check(self, mono: float, local: float) -> list[Finding]:
        if self.live:
            return self.run.detector.check(mono, local)
        return list(self.frozen)

    def status(self, mono: float, local: float) -> dict[str, Any]:
        if self.live:
            return self.run.detector.status(mono, local)
        driver = self.run.driver
        back = driver.pos
        driver.position(self.run.call_pos)
        try:
            return self.run.detector.status(mono, local)
        finally:
            driver.position(back)

    def next_check(self, mono: float) -> float | None:
        return self.run.detector.next_check(mono)


# ---------------------------------------------------------------------------- the run
def bulk_supported(engine) -> bool:
    from .detector.model import LearnedDetector
    from .sensors.health import SensorHealth

    det_ok = isinstance(engine.detector, LearnedDetector) or type(engine.detector) is FixedTimerDetector
    watchers_ok = all(type(w) is SensorHealth for w in engine.watchers) and len(engine.watchers) <= 1
    return det_ok and watchers_ok


class BulkRun:
    def __init__(self, engine, mono, local, kind, sensor, value, names: Sequence[str],
                 until_mono: float | None, last: Event | None,
                 on_actions: Callable[[list, int], None] | None):
        from .detector.model import LearnedDetector

        self.engine = engine
        self.detector = engine.detector
        self.names = list(names)
        self.mono = np.ascontiguousarray(mono, dtype=np.float64)
        self.local = np.ascontiguousarray(local, dtype=np.float64)
        self.kind = np.ascontiguousarray(kind, dtype=np.int64)
        self.sensor = np.ascontiguousarray(sensor, dtype=np.int64)
        self.value = np.ascontiguousarray(value, dtype=np.float64)
        self.n = len(self.mono)
        self.until = until_mono
        self.on_actions = on_actions
        self.actions: list = []
        autonomous = np.array([nm in engine.autonomous for nm in self.names], dtype=bool)
        self.inside = ~autonomous[self.sensor] if self.n else np.zeros(0, dtype=bool)
        self.driver = _LearnedDriver(self) if isinstance(self.detector, LearnedDetector) else _FixedDriver(self)
        # the health watcher (or none)
        self.health = engine.watchers[0] if engine.watchers else None
        first_kind = np.zeros(len(self.names), dtype=np.int64)
        appends = np.zeros(len(self.names), dtype=np.int64)
        if self.n:
            _, _, first = bk.first_appearance(self.sensor, len(self.names))
            seen = first >= 0
            first_kind[seen] = self.kind[first[seen]]
            appends = np.bincount(self.sensor[self.kind != int(Kind.APPLIANCE)], minlength=len(self.names))
        self.harr = HealthArrays(self.health, self.names, first_kind, appends)
        self.sc = np.array([_nan(engine.now), _nan(engine.now_local), math.nan, math.nan, 0.0, 0.0, 0.0, 0.0])
        if last is not None:
            self.sc[bk.S_LEM], self.sc[bk.S_LEL], self.sc[bk.S_HAVE] = last.mono, last.local, 1.0
        self.last = last
        self.rp = np.full(bk.NR, np.nan)
        # The batch's first call goes through the engine: what the watcher (a device fault the
        # shell reported), the detector or the conditions say may not have reached the policy yet.
        # (The watcher's flags start at zero: its findings at that call count as news.)
        self.rp[bk.R_FIRST] = 1.0
        self.engine_calls = 0  # calls made through the Python engine (the rest ran in the kernel)
        self.call_pos = 0
        self.det_proxy = _DetectorProxy(self)
        self.health_proxy = _HealthProxy(self.harr) if self.health is not None else None

    # -- engine state the kernel needs ------------------------------------------------
    def _refresh(self) -> None:
        from .engine import AWAY, PAUSED

        e, rp = self.engine, self.rp
        a = e.config.alerts
        nd = e.policy.next_deadline()
        rp[bk.R_POLICY] = INF if nd is None else nd
        rp[bk.R_MODE_UNTIL] = INF if e.mode.until_mono is None else e.mode.until_mono
        paused = e.mode.name == PAUSED and not e.pause_alerted and e.mode.since_mono is not None
        rp[bk.R_PAUSE_CAND] = e.mode.since_mono + a.max_pause_hours * HOUR if paused else INF
        rp[bk.R_PAUSE_SINCE] = e.mode.since_mono if paused else math.nan
        rp[bk.R_PAUSE_LIMIT] = a.max_pause_hours * HOUR if paused else math.nan
        rp[bk.R_HB] = _nan(e.next_heartbeat_local)
        away = e.mode.name == AWAY and e.mode.since_mono is not None
        rp[bk.R_AWAY_SINCE] = e.mode.since_mono if away else math.nan
        rp[bk.R_AWAY_RET] = a.away_return_minutes * 60.0
        rp[bk.R_HBINIT] = 1.0 if (e.next_heartbeat_local is None and a.heartbeat_hours > 0) else 0.0
        rp[bk.R_UNTIL] = _nan(self.until)

    def _set_trailing(self, h: int) -> None:
        """Detector candidate for the ticks after event h-1 (the detector has learned events < h)."""
        rp = self.rp
        if h > 0:
            lem = float(self.mono[h - 1])
        elif self.last is not None:
            lem = self.last.mono
        else:
            rp[bk.R_DET_CAND] = rp[bk.R_DET_STOP] = INF
            return
        c = self.detector.next_check(lem)
        rp[bk.R_DET_CAND] = INF if c is None else c
        rp[bk.R_DET_STOP] = rp[bk.R_DET_CAND]

    # -- kernel calls -----------------------------------------------------------------
    def _kernel(self) -> int:
        h = self.harr
        return bk.run_calls(self.mono, self.local, self.kind, self._slots, self.value,
                            self.inside, h.role_new, self.sc, self.rp, h.hf, h.hi, h.dstart, h.dgap, h.drate, h.dchat,
                            h.wbuf, h.hg, h.hp)

    def _segment(self, h: int, step: bool, frozen: list[Finding] | None) -> None:
        """Run the calls up to event h (its ticks included) in the kernel, stopping for the engine."""
        self.rp[bk.R_SEGEND] = h
        self.rp[bk.R_STEP] = 1.0 if step else 0.0
        if not step:  # the detector has learned events < h already
            self._set_trailing(h)
        while True:
            code = self._kernel()
            if code == bk.DONE:
                return
            pos = int(self.sc[bk.S_POS])
            self.call_pos = pos
            if code == bk.STOP_EVENT:
                i = pos - 1
                self.det_proxy.live = step
                self.det_proxy.frozen = frozen or []
                ev = Event(float(self.mono[i]), float(self.local[i]), self.names[int(self.sensor[i])],
                           Kind(int(self.kind[i])), float(self.value[i]))
                actions = self.engine.handle(ev)
                if step:
                    self.driver.pos = pos
                ctx = i
            else:
                self.det_proxy.live = step or pos == h
                self.det_proxy.frozen = frozen or []
                actions = self.engine.tick(float(self.sc[bk.S_T]), float(self.sc[bk.S_L]))
                ctx = pos
            self.rp[bk.R_FIRST] = 0.0
            self.engine_calls += 1
            self._emit(actions, ctx)
            self._refresh()
            if code == bk.STOP_EVENT and pos == h:
                self._set_trailing(h)

    def _emit(self, actions: list, ctx: int) -> None:
        if actions:
            self.actions.extend(actions)
            if self.on_actions is not None:
                self.on_actions(actions, ctx)

    def _group_end(self, k: int) -> int:
        return int(np.searchsorted(self.mono, self.mono[k], side="right"))

    def _segment_end(self, pos: int) -> int:
        n = self.n
        h = min(n, pos + SEGMENT_EVENTS)
        hb = self.engine.next_heartbeat_local
        if hb is not None:
            ref = pos - 1 if pos > 0 else 0
            t_est = hb - (float(self.local[ref]) - float(self.mono[ref]))
            i = int(np.searchsorted(self.mono, t_est, side="left"))
            if pos < i < h:
                h = i
        if h < n:
            while h > pos and self.mono[h] == self.mono[h - 1]:
                h -= 1
            if h == pos:
                h = self._group_end(pos)
        return h

    def _frozen_findings(self) -> list[Finding]:
        now = self.sc[bk.S_NOW]
        if now != now:
            return []
        return list(self.detector.check(float(now), float(self.sc[bk.S_NOWL])))

    def run(self) -> list:
        engine = self.engine
        saved = engine.detector, engine.watchers
        engine.detector = self.det_proxy
        engine.watchers = [self.health_proxy] if self.health_proxy is not None else []
        self._slots = self.harr.slot[self.sensor] if self.n else np.zeros(0, dtype=np.int64)
        try:
            self._refresh()
            if self.sc[bk.S_HAVE] > 0:  # continuing: the ticks before the first event (or up to until)
                self._segment(0, step=False, frozen=[])
            while True:
                pos = int(self.sc[bk.S_POS])
                if pos >= self.n:
                    break
                if self.sc[bk.S_NOW] != self.sc[bk.S_NOW] or self.rp[bk.R_HBINIT] > 0:
                    self._segment(self._group_end(pos), step=True, frozen=None)  # the engine's first call
                    continue
                h = self._segment_end(pos)
                t_last = float(self.sc[bk.S_NOW])
                frozen = self._frozen_findings()
                self.driver.snapshot()
                k = self.driver.advance(h, phantoms=True, t_last=t_last)
                if k < 0:
                    self._segment(h, step=False, frozen=frozen)
                    continue
                self.driver.restore()
                k = max(k, pos)
                if k > pos:
                    self.driver.position(k)  # (the snapshot at pos stays: status may need to go back)
                    self._segment(k, step=False, frozen=frozen)
                self._segment(self._group_end(k), step=True, frozen=None)
            self.driver.position(self.n)
        finally:
            engine.detector, engine.watchers = saved
            if self.health is not None:
                self.harr.write_back()
        if not math.isnan(self.sc[bk.S_NOW]):
            engine.now, engine.now_local = float(self.sc[bk.S_NOW]), float(self.sc[bk.S_NOWL])
        if self.n:
            i = self.n - 1
            engine.last_event = Event(float(self.mono[i]), float(self.local[i]), self.names[int(self.sensor[i])],
                                      Kind(int(self.kind[i])), float(self.value[i]))
        return self.actions


def handle_batch(engine, batch, until_mono: float | None = None, last: Event | None = None,
                 on_actions: Callable[[list, int], None] | None = None) -> list:
    """A whole batch of events through ``engine``, as ``replay.Replayer`` feeding them one by one would.

    ``batch``: a columnar :class:`~hubd.events.EventBatch` in time order. Before each event
    the engine is ticked at every deadline up to its time (inclusive); events after
    ``until_mono`` are left out and the ticks go on up to it. ``last``: the event fed before
    this batch (ticks before the first event start from it; None: no ticks before the first
    event, as a fresh ``Replayer``). Returns the actions, in order, that the per-event calls
    return; ``on_actions(actions, index)`` sees each call's non-empty list with the index of
    its event (for a tick: of the next event). The engine, detector and watchers are left in
    the state per-event feeding leaves them in; engines this module cannot run in bulk go
    per event (see the module docstring).
    """
    mono = np.asarray(batch.mono, dtype=np.float64)
    n = len(mono)
    if until_mono is not None and n:
        n = int(np.searchsorted(mono, until_mono, side="right")) if _sorted(mono) else n
    cut = slice(0, n)
    names = list(batch.sensors)
    ok = bulk_supported(engine) and _sorted(mono) and bool(np.all(np.isfinite(mono[cut])))
    if ok and last is not None and n and mono[0] < last.mono:
        ok = False
    if not ok:
        return _per_event(engine, batch, until_mono, last, on_actions)
    run = BulkRun(engine, mono[cut], batch.local[cut], batch.kind[cut], batch.sensor[cut], batch.value[cut], names,
                  until_mono, last, on_actions)
    return run.run()


def _sorted(mono: np.ndarray) -> bool:
    return bool(len(mono) < 2 or np.all(mono[1:] >= mono[:-1]))


def _per_event(engine, batch, until_mono, last, on_actions) -> list:
    """The reference path (an engine this module cannot run in bulk, or an unsorted batch)."""
    from .replay import Replayer

    out: list = []
    ctx = [0]

    def collect(actions):
        if actions:
            out.extend(actions)
            if on_actions is not None:
                on_actions(actions, ctx[0])

    runner = Replayer(engine, on_actions=collect)
    runner._last = last
    events = batch.events() if hasattr(batch, "events") else list(batch)
    for i, ev in enumerate(events):
        if until_mono is not None and ev.mono > until_mono:
            break
        ctx[0] = i
        runner.feed(ev)
    if until_mono is not None:
        ctx[0] = len(events)
        runner.advance_to(until_mono)
    return out
