"""The learned activity-rhythm detector: the thin Python shell around ``kernels``.

It learns, per half-hour of the day, how long this resident is normally inactive at
home, and reports ``inactivity`` when the silence in the flat outlasts that (never
later than the safety net). It infers "out" from the entrance door and reports
``not_returned`` after a learned absence, and ``stayed_in_place`` when a bed or seat
mat is held far past its learned duration.

All decisions are taken by :func:`kernels.step_event`; :meth:`LearnedDetector.observe`
feeds it one event, :meth:`LearnedDetector.replay` feeds it a whole log in numba.
``check``/``next_check`` only read the due times the kernel keeps, so the daemon and
``hubd replay`` agree to the second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from ..events import Event, EventBatch
from . import kernels
from .kernels import SENS_FIELDS, SV_FIELDS
from .base import Detector
from ..findings import RESIDENT, Finding
from .params import DetectorParams

TYPES = ("inactivity", "not_returned", "stayed_in_place")
RULES = ("learned", "cold_start", "safety_net")
ACTO_DAYS = 28  # days of per-slot activity counts kept for `hubctl profile`
STATE_VERSION = 2  # 2: remaining-silence rows added to cur, hist and thr (1 is upgraded on load)

_SV = {name: i for i, name in enumerate(SV_FIELDS)}
_SE = {name: i for i, name in enumerate(SENS_FIELDS)}
_MONO_SV = [_SV[n] for n in ("last_mono", "accounted_mono", "run_first_mono", "run_last_mono", "run_cluster_mono",
                             "inactivity_due", "inactivity_latched", "absence_due", "absence_latched")]
_MONO_SENS = [_SE[n] for n in ("held_since", "held_due", "held_latched", "last_reading_mono")]
# what the kernel learns (by local day and time of day): kept unchanged while the wall clock is not set
_LEARNED_SV = [_SV[n] for n in ("day", "learned_days", "absence_limit", "absence_learned", "days")]
_LEARNED_SENS = [_SE[n] for n in ("held_limit", "held_learned", "longest_hold_today")]
_BULK_ROWS = 4096


class IncompatibleState(ValueError):
    """Stored learned state does not fit the configured detector (e.g. slot size changed)."""


@dataclass(frozen=True)
class Episode:
    """A finding from the moment ``check`` first returns it until it stops (None: still holds)."""

    finding: Finding
    start_mono: float
    end_mono: float | None


@dataclass(frozen=True)
class ReplayResult:
    episodes: list[Episode]
    away: np.ndarray  # rows (start, end) of inferred absences in hindsight (first entrance .. return; inf: open)


class LearnedDetector(Detector):
    """Learned inactivity thresholds by time of day, away inference, held presence."""

    def __init__(self, params: DetectorParams | None = None):
        self.params = params or DetectorParams()
        p = self.params
        self._pv = p.kernel_vector()
        self._edges = p.bin_edges()
        n, nb = p.slots_per_day, p.hist_bins
        self._sv = np.full(len(SV_FIELDS), np.nan)
        for name in ("started", "pending", "run_confirmed", "n_held", "learned_days", "absence_learned", "days",
                     "returning"):
            self._sv[_SV[name]] = 0.0
        self._sv[_SV["absence_limit"]] = p.absence_max_hours * 3600.0
        self._cur = np.zeros((4, n))
        self._cur[2:] = np.nan
        self._hist = np.zeros((2 * n, nb))
        self._thr = self._cold_thresholds()
        self._abs_hist = np.zeros(nb)
        self._held_hist = np.zeros((0, nb))
        self._sens = np.zeros((0, len(SENS_FIELDS)))
        self._acto = np.zeros((ACTO_DAYS, n))
        self.sensors: list[str] = []
        self._ids: dict[str, int] = {}
        self._out = np.empty((8, 7))
        self.learning = True
        self._day_unset = False  # the local day was first taken from an unset wall clock

    def _cold_thresholds(self) -> np.ndarray:
        """Both rules' per-slot limits before anything is learned (the cold start)."""
        p = self.params
        thr = np.zeros((4, p.slots_per_day))
        empty = np.zeros((p.slots_per_day, p.hist_bins))
        for rows, margin in ((slice(0, 2), p.margin_minutes), (slice(2, 4), p.residual_margin_minutes)):
            kernels.slot_thresholds(empty, self._edges, p.quantile, p.robust_days, p.slot_min_weight,
                                    p.sparse_pool_slots, p.drift_slots, p.margin_factor, margin * 60,
                                    p.min_threshold_minutes * 60, p.cold_start_hours * 3600,
                                    p.max_inactivity_hours * 3600, False, thr[rows])
        return thr

    # ------------------------------------------------------------------ sensors
    def _new_sensor_row(self) -> np.ndarray:
        row = np.full(len(SENS_FIELDS), np.nan)
        row[_SE["held_limit"]] = self.params.held_max_hours * 3600.0
        row[_SE["held_learned"]] = 0.0
        row[_SE["appliance_on"]] = 0.0
        row[_SE["longest_hold_today"]] = 0.0
        return row

    def sensor_id(self, name: str) -> int:
        """The kernel's index of a sensor, registering it on first sight."""
        sid = self._ids.get(name)
        if sid is None:
            sid = len(self.sensors)
            self._ids[name] = sid
            self.sensors.append(name)
            self._sens = np.vstack([self._sens, self._new_sensor_row()[None, :]])
            self._held_hist = np.vstack([self._held_hist, np.zeros((1, self.params.hist_bins))])
            self._out = np.empty((len(self.sensors) + 8, 7))
        return sid

    # --------------------------------------------------------------- per event
    def observe(self, event: Event) -> None:
        sid = self.sensor_id(event.sensor)
        if not self.learning:
            self._observe_unlearned(sid, event)
            return
        kernels.step_event(float(event.mono), float(event.local), int(event.kind), sid, float(event.value),
                           self._pv, self._edges, self._sv, self._sens, self._cur, self._hist, self._thr,
                           self._abs_hist, self._held_hist, self._acto, self._out, 0)

    def _observe_unlearned(self, sid: int, event: Event) -> None:
        """Watch the event (activity, absence, holds) but learn nothing from it: what the kernel
        learned is put back, and due times follow the limits as they were."""
        arrays = (self._cur, self._hist, self._thr, self._abs_hist, self._held_hist, self._acto)
        kept = [a.copy() for a in arrays]
        kept_sv, kept_sens = self._sv[_LEARNED_SV].copy(), self._sens[sid, _LEARNED_SENS].copy()
        kernels.step_event(float(event.mono), float(event.local), int(event.kind), sid, float(event.value),
                           self._pv, self._edges, self._sv, self._sens, self._cur, self._hist, self._thr,
                           self._abs_hist, self._held_hist, self._acto, self._out, 0)
        rolled = not np.array_equal(self._sv[_LEARNED_SV], kept_sv, equal_nan=True)
        for array, before in zip(arrays, kept):
            array[...] = before
        if math.isnan(kept_sv[0]):  # the first event ever: its day comes from the unset clock
            self._day_unset = True
            kept_sv[0] = self._sv[_SV["day"]]
        self._sv[_LEARNED_SV] = kept_sv
        self._sens[sid, _LEARNED_SENS] = kept_sens
        if rolled:
            kernels.refresh_dues(self._pv, self._sv, self._sens, self._thr)

    def hold_learning(self, hold: bool) -> None:
        self.learning = not hold

    def wall_clock_set(self, jump: float, since_mono: float, mono: float) -> None:
        """Stamps since ``since_mono`` move by ``jump``; nothing before ``mono`` is learned (it was
        seen on the unset clock); a day first taken from that clock is today's."""
        sv = self._sv
        if not self.started:
            return
        if sv[_SV["last_mono"]] >= since_mono:
            sv[_SV["last_local"]] += jump
        if self._day_unset:
            sv[_SV["day"]] = math.floor((sv[_SV["last_local"]] + (mono - sv[_SV["last_mono"]])) / 86400.0)
            self._day_unset = False
        self.skip_unobserved(mono)
        kernels.refresh_dues(self._pv, self._sv, self._sens, self._thr)

    def check(self, mono: float, local: float) -> list[Finding]:
        sv, found = self._sv, []
        if sv[_SV["started"]] <= 0:
            return found
        pending = sv[_SV["pending"]] > 0
        if (not pending or sv[_SV["returning"]] > 0) and sv[_SV["n_held"]] == 0:
            if _holds(sv[_SV["inactivity_latched"]], sv[_SV["inactivity_due"]], mono):
                limit = float(sv[_SV["inactivity_limit"]])
                found.append(Finding("inactivity", RESIDENT, float(sv[_SV["last_mono"]]), limit,
                                     detail={"threshold": limit, "rule": RULES[int(sv[_SV["inactivity_rule"]])]}))
        if pending and _holds(sv[_SV["absence_latched"]], sv[_SV["absence_due"]], mono):
            latched = not math.isnan(sv[_SV["absence_latched"]])
            limit = sv[_SV["absence_latched_limit" if latched else "absence_limit"]]
            learned = sv[_SV["absence_latched_learned" if latched else "absence_learned"]]
            found.append(Finding("not_returned", RESIDENT, float(sv[_SV["run_first_mono"]]), float(limit),
                                 detail={"rule": _limit_rule(learned)}))
        for sid, row in enumerate(self._sens):
            if not math.isnan(row[_SE["held_since"]]) and _holds(row[_SE["held_latched"]], row[_SE["held_due"]], mono):
                latched = not math.isnan(row[_SE["held_latched"]])
                limit = row[_SE["held_latched_limit" if latched else "held_limit"]]
                learned = row[_SE["held_latched_learned" if latched else "held_learned"]]
                found.append(Finding("stayed_in_place", RESIDENT, float(row[_SE["held_since"]]), float(limit),
                                     key=self.sensors[sid], detail={"rule": _limit_rule(learned)}))
        return found

    def next_check(self, mono: float) -> float | None:
        """Earliest due time after ``mono`` of a finding not yet holding (exact, from the kernel)."""
        sv, dues = self._sv, []
        if sv[_SV["started"]] <= 0:
            return None
        pending = sv[_SV["pending"]] > 0
        watched = not pending or sv[_SV["returning"]] > 0
        if watched and sv[_SV["n_held"]] == 0 and math.isnan(sv[_SV["inactivity_latched"]]):
            dues.append(sv[_SV["inactivity_due"]])
        if pending and math.isnan(sv[_SV["absence_latched"]]):
            dues.append(sv[_SV["absence_due"]])
        for row in self._sens:
            if not math.isnan(row[_SE["held_since"]]) and math.isnan(row[_SE["held_latched"]]):
                dues.append(row[_SE["held_due"]])
        later = [float(d) for d in dues if d > mono and math.isfinite(d)]
        return min(later) if later else None

    # -------------------------------------------------------------------- bulk
    def replay(self, batch: EventBatch, until_mono: float | None = None) -> ReplayResult:
        """Feed a whole log in numba; the episodes ``check`` would have shown, with start and end.

        Equivalent to calling :meth:`observe` for every event and :meth:`check` at every
        :meth:`next_check` time and after every event (a finding due exactly at the time
        of the event that ends it is not shown). With ``until_mono``, findings falling due
        after the last event up to that time are included (still open).
        """
        remap = np.array([self.sensor_id(name) for name in batch.sensors], dtype=np.int64)
        sensor = remap[batch.sensor] if len(batch) else batch.sensor.astype(np.int64)
        kind = np.ascontiguousarray(batch.kind, dtype=np.int64)
        mono = np.ascontiguousarray(batch.mono, dtype=np.float64)
        local = np.ascontiguousarray(batch.local, dtype=np.float64)
        value = np.ascontiguousarray(batch.value, dtype=np.float64)
        out = np.empty((_BULK_ROWS + len(self.sensors) + 8, 7))
        episodes: list[Episode] = []
        away: list[tuple[float, float]] = []
        i = 0
        while i < len(mono):
            i, n_out = kernels.scan(mono, local, kind, sensor, value, i, self._pv, self._edges, self._sv, self._sens,
                                    self._cur, self._hist, self._thr, self._abs_hist, self._held_hist, self._acto, out)
            for row in out[:n_out]:
                if int(row[0]) == 3:
                    away.append((float(row[4]), float(row[5])))
                else:
                    episodes.append(self._episode(row))
        horizon = until_mono if until_mono is not None else (float(mono[-1]) if len(mono) else -math.inf)
        if self._sv[_SV["pending"]] > 0:  # still out (or leaving) when the log ends
            away.append((float(self._sv[_SV["run_first_mono"]]), math.inf))
        for finding in self.check(horizon, math.nan):
            episodes.append(Episode(finding, self._start_of(finding), None))
        episodes.sort(key=lambda e: (e.start_mono, TYPES.index(e.finding.type), e.finding.key))
        return ReplayResult(episodes, np.array(away, dtype=np.float64).reshape(-1, 2))

    def _episode(self, row: np.ndarray) -> Episode:
        typ, key, since, limit, start, end, rule = row
        typ = int(typ)
        if typ == 0:
            finding = Finding("inactivity", RESIDENT, float(since), float(limit),
                              detail={"threshold": float(limit), "rule": RULES[int(rule)]})
        elif typ == 1:
            finding = Finding("not_returned", RESIDENT, float(since), float(limit), detail={"rule": _limit_rule(rule)})
        else:
            finding = Finding("stayed_in_place", RESIDENT, float(since), float(limit), key=self.sensors[int(key)],
                              detail={"rule": _limit_rule(rule)})
        return Episode(finding, float(start), float(end))

    def _start_of(self, finding: Finding) -> float:
        """When a currently holding finding started holding (latched time or due time)."""
        sv = self._sv
        if finding.type == "inactivity":
            latched, due = sv[_SV["inactivity_latched"]], sv[_SV["inactivity_due"]]
        elif finding.type == "not_returned":
            latched, due = sv[_SV["absence_latched"]], sv[_SV["absence_due"]]
        else:
            row = self._sens[self._ids[finding.key]]
            latched, due = row[_SE["held_latched"]], row[_SE["held_due"]]
        return float(due if math.isnan(latched) else latched)

    # ------------------------------------------------------------------ views
    @property
    def started(self) -> bool:
        return bool(self._sv[_SV["started"]] > 0)

    @property
    def learned_days(self) -> int:
        return int(self._sv[_SV["learned_days"]])

    def thresholds(self) -> tuple[np.ndarray, list[str]]:
        """The threshold per time-of-day slot (seconds) and the rule that set it."""
        return self._thr[0].copy(), [RULES[int(r)] for r in self._thr[1]]

    def threshold_at(self, local: float) -> tuple[float, str]:
        slot = int((local % 86400.0) // (self.params.slot_minutes * 60.0))
        return float(self._thr[0, slot]), RULES[int(self._thr[1, slot])]

    def alarm_delays(self) -> list[float]:
        """Per slot: seconds until the alarm for a silence that begins at the slot's start,
        by both rules (what a technician asks: "if she fell at 20:00, when would we know?")."""
        slot_s = self.params.slot_minutes * 60.0
        return [float(kernels.inactivity_due(0.0, k * slot_s, self._thr, slot_s)[0])
                for k in range(self.params.slots_per_day)]

    def actogram(self) -> tuple[int, np.ndarray]:
        """(index of the first local day, activity counts [days, slots]) for the kept days, oldest first."""
        if not self.started:
            return 0, np.zeros((0, self.params.slots_per_day))
        today = int(self._sv[_SV["day"]])
        days = min(ACTO_DAYS, int(self._sv[_SV["days"]]) + 1)
        first = today - days + 1
        rows = [self._acto[d % ACTO_DAYS] for d in range(first, today + 1)]
        return first, np.array(rows)

    def profile(self, mono: float, local: float) -> dict[str, Any]:
        """The learned rhythm as data (``hubctl profile --json``)."""
        thr, rules = self.thresholds()
        first, counts = self.actogram()
        return {
            "slot_minutes": self.params.slot_minutes,
            "threshold_hours": [round(float(x) / 3600.0, 3) for x in thr],
            "alarm_after_hours_by_start": [round(x / 3600.0, 3) for x in self.alarm_delays()],
            "rules": rules,
            "learned_days": self.learned_days,
            "cold_start": self.learned_days < self.params.min_learn_days,
            "actogram_first_day_local": first * 86400.0,
            "actogram": counts.astype(int).tolist(),
        }

    def profile_text(self, mono: float, local: float) -> str:
        """The learned rhythm drawn for an 80-column terminal (``hubctl profile``)."""
        from .profile import render

        thr, rules = self.thresholds()
        first, counts = self.actogram()
        return render(thr, rules, first, counts, self.learned_days, self.learned_days < self.params.min_learn_days,
                      now_local=local if math.isfinite(local) else None)

    def status(self, mono: float, local: float) -> dict[str, Any]:
        sv = self._sv
        started = self.started
        returning = sv[_SV["returning"]] > 0  # the door after a while out: taken as back home
        pending = sv[_SV["pending"]] > 0 and not returning
        held = [self.sensors[i] for i, row in enumerate(self._sens) if not math.isnan(row[_SE["held_since"]])]
        away = pending and mono - sv[_SV["run_last_mono"]] >= self.params.away_confirm_minutes * 60.0
        home_free = started and not pending and not held
        threshold, rule = self.threshold_at(local)
        due = sv[_SV["inactivity_due"]]
        return {
            "last_activity_local": float(sv[_SV["last_local"]]) if started else None,
            "inactive_seconds": max(0.0, mono - float(sv[_SV["last_mono"]])) if home_free else (0.0 if held else None),
            "threshold_seconds": threshold,
            "threshold_rule": rule,
            "alarm_due_in_seconds": float(due - mono) if home_free and math.isfinite(due) else None,
            "inferred": "away" if away else "home",
            "leaving": bool(pending and not away),
            "away_since_local": (float(sv[_SV["last_local"]] - (sv[_SV["last_mono"]] - sv[_SV["run_first_mono"]]))
                                 if pending else None),
            "absence_limit_seconds": float(sv[_SV["absence_limit"]]),
            "held": held,
            "learned_days": self.learned_days,
            "cold_start": self.learned_days < self.params.min_learn_days,
        }

    # ------------------------------------------------------------- persistence
    def state(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "sensors": list(self.sensors),
            "sv": self._sv.copy(),
            "sens": self._sens.copy(),
            "cur": self._cur.copy(),
            "hist": self._hist.copy(),
            "thr": self._thr.copy(),
            "abs_hist": self._abs_hist.copy(),
            "held_hist": self._held_hist.copy(),
            "acto": self._acto.copy(),
        }

    def load(self, state: dict[str, Any], rebase: Callable[[float], float]) -> None:
        """Restore learned state; monotonic times go through ``rebase``; due times are recomputed."""
        if state.get("version") == 1:
            state = self._upgrade_v1(state)
        if state.get("version") != STATE_VERSION:
            raise IncompatibleState(f"detector state version {state.get('version')!r}, expected {STATE_VERSION}")
        hist = np.asarray(state["hist"], dtype=np.float64)
        if hist.shape != self._hist.shape:
            raise IncompatibleState(
                f"stored detector state has {hist.shape[0] // 2} slots x {hist.shape[1]} bins, the config "
                f"{self._hist.shape[0] // 2} x {self._hist.shape[1]} (slot_minutes or hist_bins changed)"
            )
        sensors = list(state["sensors"])
        sv = np.array(state["sv"], dtype=np.float64)
        sens = np.array(state["sens"], dtype=np.float64).reshape(len(sensors), len(SENS_FIELDS))
        for i in _MONO_SV:
            sv[i] = _rebased(sv[i], rebase)
        for row in sens:
            for i in _MONO_SENS:
                row[i] = _rebased(row[i], rebase)
        self.sensors = sensors
        self._ids = {name: i for i, name in enumerate(sensors)}
        self._sv, self._sens = sv, sens
        self._cur = np.array(state["cur"], dtype=np.float64)
        self._hist = hist.copy()
        self._thr = np.array(state["thr"], dtype=np.float64)
        self._abs_hist = np.array(state["abs_hist"], dtype=np.float64)
        self._held_hist = np.array(state["held_hist"], dtype=np.float64).reshape(len(sensors), self.params.hist_bins)
        self._acto = np.array(state["acto"], dtype=np.float64)
        self._out = np.empty((len(sensors) + 8, 7))
        kernels.refresh_dues(self._pv, self._sv, self._sens, self._thr)

    def _upgrade_v1(self, state: dict[str, Any]) -> dict[str, Any]:
        """Version 1 had only the elapsed-silence rule: keep all it learned; the
        remaining-silence rule starts from the cold start and learns from now on."""
        hist = np.asarray(state["hist"], dtype=np.float64)
        if hist.shape != (self._hist.shape[0] // 2, self._hist.shape[1]):
            return state  # the shape check below explains the mismatch
        cur = np.full((4, hist.shape[0]), np.nan)
        cur[:2] = np.asarray(state["cur"], dtype=np.float64)
        thr = self._cold_thresholds()
        thr[:2] = np.asarray(state["thr"], dtype=np.float64)
        return {**state, "version": STATE_VERSION, "cur": cur, "hist": np.vstack([hist, np.zeros_like(hist)]),
                "thr": thr}

    def skip_unobserved(self, mono: float) -> None:
        """Do not learn the time up to ``mono`` as inactivity (the hub was down: unknown, not
        inactive). The inactivity alarm still counts from the real last activity."""
        i = _SV["accounted_mono"]
        if self.started and not mono <= self._sv[i]:
            self._sv[i] = float(mono)


def _holds(latched: float, due: float, mono: float) -> bool:
    return not math.isnan(latched) or due <= mono


def _limit_rule(flag: float) -> str:
    return "learned" if flag > 0 else "configured"


def _rebased(value: float, rebase: Callable[[float], float]) -> float:
    return value if math.isnan(value) or math.isinf(value) else float(rebase(float(value)))


def feed(detector: Detector, events: Sequence[Event], until_mono: float | None = None) -> list[Episode]:
    """Drive a detector per event exactly as the engine does; the episodes it shows.

    ``check`` runs at every ``next_check`` time before the next event and right after
    each event. Used to prove that :meth:`LearnedDetector.replay` is the same thing.
    """
    open_: dict[tuple[str, str], tuple[Finding, float]] = {}
    done: list[Episode] = []

    def record(now: float) -> None:
        current = {f.ident: f for f in detector.check(now, math.nan)}
        for ident in list(open_):
            if ident not in current:
                finding, start = open_.pop(ident)
                done.append(Episode(finding, start, now))
        for ident, finding in current.items():
            if ident not in open_:
                open_[ident] = (finding, now)

    now = -math.inf

    def advance(limit: float, inclusive: bool) -> None:
        nonlocal now
        while True:
            nc = detector.next_check(now)
            if nc is None or nc <= now or nc > limit or (nc == limit and not inclusive):
                return  # (a due time not after now already showed in the last check)
            now = nc
            record(now)

    for ev in events:
        advance(ev.mono, inclusive=False)
        detector.observe(ev)
        now = ev.mono
        record(now)
    if until_mono is not None:
        advance(until_mono, inclusive=True)
    for finding, start in open_.values():
        done.append(Episode(finding, start, None))
    done.sort(key=lambda e: (e.start_mono, TYPES.index(e.finding.type), e.finding.key))
    return done
