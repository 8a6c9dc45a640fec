"""The engine over a whole batch of events at once: :func:`handle_batch`, a shell that drives the core.

The reference is the per-event path, ``per_event.Replayer``: for every event, tick the
engine at each deadline it names up to the event's time (inclusive), then
``Engine.handle(event)``; with ``until``, tick on up to it. This module makes the same
sequence of engine calls, but only the calls in which something besides the sensor
health watcher and the detector's learning happens go through the Python engine:

* the learned detector learns in bulk (``LearnedDetector.replay``; the fixed timer
  in ``bulk_kernels.fixed_advance``) between those calls;
* the sensor-health watcher runs its own kernels (``core.health_kernels``, the ones
  ``SensorHealth`` calls per event) on its own state arrays, inside
  ``bulk_kernels.run_calls``, which also reproduces the engine's tick schedule (the
  engine's own deadlines from ``Engine.timers``, the detector's and the watcher's) and
  stops at every call the engine must make itself: a change in the watcher's findings,
  one of the engine's deadlines, a heartbeat, a button, an away mode ending, and every
  call near a change in the detector's findings;
* at such a call the real ``Engine.handle``/``Engine.tick`` runs — the same mode,
  heartbeat and ``AlertPolicy`` code as the daemon — with the watcher itself (the kernel
  has observed the event and marked it so; ``check`` at the same time finds the same) and
  the detector answering from its bulk state. So the actions are exactly the per-event ones.

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
from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..config import Config
from ..core import health_kernels as hk
from ..core.actions import AlertChanged
from ..core.engine import Engine
from ..detector.base import FixedTimerDetector
from ..events import Event, Kind
from ..findings import Finding
from . import bulk_kernels as bk
from .per_event import Replayer, ReplayStats

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
            from ..events import EventBatch

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
        from ..events import EventBatch

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
    """Runs ``FixedTimerDetector``'s own kernel state through ``bulk_kernels.fixed_advance``."""

    def __init__(self, run: "BulkRun"):
        super().__init__(run)
        det = self.det = run.detector
        idx = np.flatnonzero(run.inside)
        self.ins_before = np.concatenate(([0], np.cumsum(run.inside))).astype(np.int64)
        row_of = det.rows(run.names)
        self.arrays = (run.mono[idx], run.local[idx], run.kind[idx], row_of[run.sensor[idx]], run.value[idx])
        self.limit = float(det.limit)
        self.held_limit = _nan(det.held_limit)
        self.appliance_on = float(det.appliance_on_watts)

    def _save(self):
        return [x.copy() for x in self.det.arrays()]

    def _load(self, state) -> None:
        for x, saved in zip(self.det.arrays(), state):
            np.copyto(x, saved)

    def advance(self, target: int, phantoms: bool, t_last: float) -> int:
        det = self.det
        a, b = int(self.ins_before[self.pos]), int(self.ins_before[target])
        self.pos = target
        if b > a:
            first = bk.fixed_advance(*self.arrays, a, b, *det.arrays(), self.limit, self.held_limit,
                                     self.appliance_on, t_last)
            if first < INF:
                return int(np.searchsorted(self.run.mono, first, side="left"))
        if target == 0 or not phantoms:
            return -1
        # a finding shown for the first time after the last inside event, among outside
        # (autonomous) events only, up to the segment's last event
        tail = float(self.run.mono[target - 1])
        first_t = INF
        for since, limit in det.deadlines():
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
    from ..detector.model import LearnedDetector
    from ..core.health import SensorHealth

    det_ok = isinstance(engine.detector, LearnedDetector) or type(engine.detector) is FixedTimerDetector
    watchers_ok = all(type(w) is SensorHealth for w in engine.watchers) and len(engine.watchers) <= 1
    return det_ok and watchers_ok


class BulkRun:
    def __init__(self, engine, mono, local, kind, sensor, value, names: Sequence[str],
                 until_mono: float | None, last: Event | None,
                 on_actions: Callable[[list, int], None] | None):
        from ..detector.model import LearnedDetector

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
        # the health watcher's state arrays (an empty watcher's when there is none: the kernel skips it)
        from ..core.health import SensorHealth

        self.health = engine.watchers[0] if engine.watchers else SensorHealth({})
        self._slots = np.zeros(0, dtype=np.int64)
        if self.n:  # rows for the batch's sensors in the order per-event feeding meets them
            _, order, first = bk.first_appearance(self.sensor, len(self.names))
            rows = self.health.rows([self.names[int(i)] for i in order], [Kind(int(self.kind[first[i]])) for i in order])
            slot_of = np.zeros(len(self.names), dtype=np.int64)
            slot_of[order] = rows
            self._slots = slot_of[self.sensor]
        self.sc = np.array([_nan(engine.now), _nan(engine.now_local), math.nan, math.nan, 0.0, 0.0, 0.0, 0.0])
        if last is not None:
            self.sc[bk.S_LEM], self.sc[bk.S_LEL], self.sc[bk.S_HAVE] = last.mono, last.local, 1.0
        self.last = last
        self.rp = np.full(bk.NR, np.nan)
        self.rp[bk.R_WATCH] = 1.0 if engine.watchers else 0.0
        self.tm = np.zeros((0, 2))
        # The batch's first call goes through the engine: what the watcher (a device fault the
        # shell reported), the detector or the conditions say may not have reached the policy yet.
        # (The watcher's flags start at zero: its findings at that call count as news.)
        self.rp[bk.R_FIRST] = 1.0
        self.call_pos = 0
        self.det_proxy = _DetectorProxy(self)

    # -- engine state the kernel needs ------------------------------------------------
    def _refresh(self) -> None:
        """The engine's own deadlines (``Engine.timers``) into the kernel's parameters."""
        timers, rp = self.engine.timers(), self.rp
        self.tm = np.array(timers.due, dtype=np.float64).reshape(-1, 2)
        rp[bk.R_HB] = _nan(timers.heartbeat_local)
        rp[bk.R_AWAY_SINCE], rp[bk.R_AWAY_RET] = timers.away if timers.away is not None else (math.nan, math.nan)
        rp[bk.R_EVERY] = 1.0 if timers.every_call else 0.0
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
        st = self.health.st
        return bk.run_calls(self.mono, self.local, self.kind, self._slots, self.value, self.inside, self.sc, self.rp,
                            self.tm, st.hf, st.hi, st.days, st.win, st.hg, self.health.params)

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
        saved = engine.detector
        engine.detector = self.det_proxy
        try:
            self._refresh()
            if self.sc[bk.S_HAVE] > 0:  # continuing: the ticks before the first event (or up to until)
                self._segment(0, step=False, frozen=[])
            while True:
                pos = int(self.sc[bk.S_POS])
                if pos >= self.n:
                    break
                if math.isnan(self.sc[bk.S_NOW]) or self.rp[bk.R_EVERY] > 0:
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
            engine.detector = saved
            self.health.st.hg[hk.G_SKIP] = 0.0  # (an engine call that failed may have left it)
        if not math.isnan(self.sc[bk.S_NOW]):
            engine.now, engine.now_local = float(self.sc[bk.S_NOW]), float(self.sc[bk.S_NOWL])
        if self.n:
            i = self.n - 1
            engine.last_event = Event(float(self.mono[i]), float(self.local[i]), self.names[int(self.sensor[i])],
                                      Kind(int(self.kind[i])), float(self.value[i]))
        return self.actions


def handle_batch(engine, batch, until_mono: float | None = None, last: Event | None = None,
                 on_actions: Callable[[list, int], None] | None = None) -> list:
    """A whole batch of events through ``engine``, as ``per_event.Replayer`` feeding them one by one would.

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
    out: list = []
    ctx = [0]

    def collect(actions):
        if actions:
            out.extend(actions)
            if on_actions is not None:
                on_actions(actions, ctx[0])

    runner = Replayer(engine, on_actions=collect, last=last)
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


def feed_batch(runner: Replayer, batch, until_mono: float | None = None) -> None:
    """Feed a columnar batch to ``runner`` in bulk (:func:`handle_batch`), exactly as ``runner.feed``
    for each of its events (then ``runner.advance_to(until_mono)``) would; mixes with ``feed``."""
    n = len(batch)
    if until_mono is not None and n:
        n = int(np.searchsorted(batch.mono, until_mono, side="right"))
    handle_batch(runner.engine, batch, until_mono=until_mono, last=runner.last,
                 on_actions=lambda actions, index: runner.collect(actions))
    if n:
        i = n - 1
        runner.last = Event(float(batch.mono[i]), float(batch.local[i]), batch.sensors[int(batch.sensor[i])],
                            Kind(int(batch.kind[i])), float(batch.value[i]))
        runner.stats.events += n
        if runner.stats.first_local is None:
            runner.stats.first_local = float(batch.local[0])
        runner.stats.last_local = float(batch.local[i])


def replay_log(log, config: Config, until_mono: float | None = None,
               on_alert: Callable[[dict[str, Any], float | None], None] | None = None,
               engine: Engine | None = None) -> ReplayStats:
    """``hubd replay`` on a loaded :class:`~hubd.replay.loader.EventLog`, in bulk (:func:`handle_batch`).

    Behaves as ``per_event.replay`` over the streaming :class:`~hubd.events.EventReader`: events
    after ``until_mono`` are not fed (nor is anything after them read: a bad row there is
    never seen); a bad row before is raised (``log.error``) after the rows before it
    were replayed, without ticking on to ``until_mono``. ``on_alert(record, offset)``
    gets each alert raised, with the UTC offset of the input row the streaming reader
    had read when the alert was raised (the convention the output is printed in).
    """
    engine = engine or Engine(config)
    stats = ReplayStats()
    n = len(log)
    fed = n
    if until_mono is not None and n:
        fed = int(np.searchsorted(log.mono, until_mono, side="right"))
    cut = fed < n  # the reader stopped at row ``fed`` (after until): it never reached the bad row
    last_read = fed if cut else n - 1

    def collect(actions: list, index: int) -> None:
        for action in actions:
            if isinstance(action, AlertChanged) and action.raised:
                stats.alerts.append(action.record)
                if on_alert:
                    on_alert(action.record, log.offset_of(min(index, last_read)) if n else None)

    error = None if cut else log.error
    handle_batch(engine, log.batch(fed), until_mono=None if error is not None else until_mono, on_actions=collect)
    stats.events = fed
    if fed:
        stats.first_local, stats.last_local = float(log.local[0]), float(log.local[fed - 1])
    if error is not None:
        raise error
    return stats
