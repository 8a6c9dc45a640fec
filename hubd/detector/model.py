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

import logging
import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from ..events import Event, EventBatch
from . import kernels
from .kernels import SENS_FIELDS, SV_FIELDS
from ..findings import RESIDENT, SYSTEM, Finding
from .base import Detector
from .params import DetectorParams
from .prior import Prior, PriorError, default_prior

log = logging.getLogger(__name__)

TYPES = ("inactivity", "not_returned", "stayed_in_place", "sensor_fault")
FAULT_REASONS = {1: "stuck", 2: "inverted"}  # kernels.FAULT_STUCK, FAULT_INVERTED
RULES = ("learned", "cold_start", "safety_net")
ACTO_DAYS = 28  # days of per-slot activity counts kept for `hubctl profile`
STATE_VERSION = 3  # 2: remaining-silence rows in cur, hist, thr; 3: prior rows in hist/abs_hist, absences by
#                   day type, appliance columns in sens, attended_mono in sv, sensor behaviour and trust
N_DAY_TYPES = kernels.N_DAY_TYPES

_SV = {name: i for i, name in enumerate(SV_FIELDS)}
_SE = {name: i for i, name in enumerate(SENS_FIELDS)}
_MONO_SV = [_SV[n] for n in ("last_mono", "accounted_mono", "run_first_mono", "run_last_mono", "run_cluster_mono",
                             "inactivity_due", "inactivity_latched", "absence_due", "absence_latched",
                             "attended_mono", "stray_mono")]
_MONO_SENS = [_SE[n] for n in ("held_since", "held_due", "held_latched", "last_reading_mono", "app_session_start",
                               "app_first_mono", "on_since", "fault_since", "fault_start", "other_first",
                               "open_since", "away_on_mono", "move_first", "away_on_prev")]
# what the kernel learns (by local day and time of day): kept unchanged while the wall clock is not set
_LEARNED_SV = [_SV[n] for n in ("day", "learned_days", "days", "absence_limit_weekday", "absence_learned_weekday",
                                 "absence_limit_weekend", "absence_learned_weekend")]
_KEPT_DAY = _LEARNED_SV.index(_SV["day"])
_LEARNED_SENS = [_SE[n] for n in ("held_limit", "held_learned", "longest_hold_today", "app_hours_mask",
                                   "app_hours_day", "app_hours_prev", "longest_on_today", "on_days", "long_days",
                                   "pulses")]
_SENS_V2 = 12  # columns of a sensor's row in state version <= 2 (the appliance columns came after)
# what version 3 added for sensor trust, and the values a sensor or a detector starts with
_SV_V3 = {"quiet_origin": -1.0, "stray_sensor": -1.0, "stray_mono": math.nan, "came_in": 0.0, "n_inverted": 0.0}
_SV_V3_LATER = ("came_in", "n_inverted")  # appended to version 3's vector after it shipped: a shorter one gets their start values
_SENS_V3 = {"on_since": math.nan, "longest_on_today": math.nan, "on_days": 0.0, "long_days": 0.0, "pulses": 0.0,
            "fault": 0.0, "fault_since": math.nan, "fault_start": math.nan, "other_first": math.nan,
            "other_sensor": -1.0, "other_two": 0.0, "open_since": math.nan, "away_on_mono": math.nan,
            "on_contradicted": 0.0, "good_ons": 0.0, "move_first": math.nan, "move_a": -1.0, "move_b": -1.0,
            "move_three": 0.0, "away_on_prev": math.nan}
_SENS_V3_LATER = ("away_on_mono", "on_contradicted", "good_ons", "move_first", "move_a", "move_b", "move_three",
                  "away_on_prev")  # appended to version 3's rows after it shipped
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
    """Learned inactivity thresholds by time of day, away inference, held presence.

    ``prior``: the population prior the first weeks lean on (:mod:`.prior`). None: the
    shipped one (if it is unusable the detector cold-starts and logs why); False: none
    (the cold start); or a :class:`Prior` (e.g. one built without the home being scored).
    """

    def __init__(self, params: DetectorParams | None = None, prior: Prior | bool | None = None):
        self.params = params or DetectorParams()
        p = self.params
        self._pv = p.kernel_vector()
        self._edges = p.bin_edges()
        n, nb = p.slots_per_day, p.hist_bins
        self.prior, self.prior_note = self._resolve_prior(prior)
        self._sv = np.full(len(SV_FIELDS), np.nan)
        for name in ("started", "pending", "run_confirmed", "n_held", "learned_days", "absence_learned", "days",
                     "returning"):
            self._sv[_SV[name]] = 0.0
        for name, value in _SV_V3.items():
            self._sv[_SV[name]] = value
        self._cur = np.zeros((4, n))
        self._cur[2:] = np.nan
        self._hist = np.zeros((4 * n, nb))
        self._abs_hist = np.zeros((2 * N_DAY_TYPES, nb))
        self._hist[2 * n:], self._abs_hist[N_DAY_TYPES:] = self.prior.kernel_rows(p)
        self._thr = np.zeros((4, n))
        kernels.learned_limits(self._hist, self._thr, self._abs_hist, self._pv, self._edges, 0.0, self._sv)
        self._sv[_SV["absence_limit"]], self._sv[_SV["absence_learned"]] = self.absence_limits_learned()[0]
        self._held_hist = np.zeros((0, nb))
        self._sens = np.zeros((0, len(SENS_FIELDS)))
        self._acto = np.zeros((ACTO_DAYS, n))
        self.sensors: list[str] = []
        self._ids: dict[str, int] = {}
        self._out = np.empty((8, 7))
        self.learning = True
        self._day_unset = False  # the local day was first taken from an unset wall clock

    def _resolve_prior(self, prior: Prior | bool | None) -> tuple[Prior, str]:
        """(the prior to use, what it is, for status and profile)."""
        p = self.params
        if prior is False or p.prior_days <= 0:
            return Prior.none(p), "none"
        if isinstance(prior, Prior):
            reason = prior.fits(p)
            if reason:
                raise PriorError(reason)
            return prior, f"population of {len(prior.homes)} homes" if not prior.empty else "none"
        try:
            shipped = default_prior()
            reason = shipped.fits(p)
            if reason:
                raise PriorError(reason)
        except PriorError as exc:
            log.warning("population prior not used, cold start (%s)", exc)
            return Prior.none(p), f"none: {exc}"
        return shipped, f"population of {len(shipped.homes)} homes"

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
        row[_SE["app_hours_mask"]] = 0.0
        row[_SE["app_hours_prev"]] = 0.0
        for name, value in _SENS_V3.items():
            row[_SE[name]] = value
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
        kept_sv, kept_sens = self._sv[_LEARNED_SV].copy(), self._sens[:, _LEARNED_SENS].copy()
        kernels.step_event(float(event.mono), float(event.local), int(event.kind), sid, float(event.value),
                           self._pv, self._edges, self._sv, self._sens, self._cur, self._hist, self._thr,
                           self._abs_hist, self._held_hist, self._acto, self._out, 0)
        rolled = not np.array_equal(self._sv[_LEARNED_SV], kept_sv, equal_nan=True)
        for array, before in zip(arrays, kept):
            array[...] = before
        if math.isnan(kept_sv[_KEPT_DAY]):  # the first event ever: its day comes from the unset clock
            self._day_unset = True
            kept_sv[_KEPT_DAY] = self._sv[_SV["day"]]
        self._sv[_LEARNED_SV] = kept_sv
        self._sens[:, _LEARNED_SENS] = kept_sens
        if rolled:
            sv = self._sv
            day = sv[_SV["absence_day"]] if sv[_SV["pending"]] > 0 else sv[_SV["day"]]
            sv[_SV["absence_limit"]], sv[_SV["absence_learned"]] = kernels.absence_limit_for(sv, day)
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
        for sid, row in enumerate(self._sens):
            if row[_SE["fault"]] > 0 and row[_SE["fault_start"]] + kernels.FAULT_SHOW_AFTER_S <= mono:
                found.append(_fault_finding(self.sensors[sid], row[_SE["fault"]], row[_SE["fault_since"]]))
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
            if row[_SE["fault"]] > 0:
                dues.append(row[_SE["fault_start"]] + kernels.FAULT_SHOW_AFTER_S)
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
        elif typ == 2:
            finding = Finding("stayed_in_place", RESIDENT, float(since), float(limit), key=self.sensors[int(key)],
                              detail={"rule": _limit_rule(rule)})
        else:
            finding = _fault_finding(self.sensors[int(key)], rule, since)
        return Episode(finding, float(start), float(end))

    def _start_of(self, finding: Finding) -> float:
        """When a currently holding finding started holding (latched time or due time)."""
        sv = self._sv
        if finding.type == "inactivity":
            latched, due = sv[_SV["inactivity_latched"]], sv[_SV["inactivity_due"]]
        elif finding.type == "not_returned":
            latched, due = sv[_SV["absence_latched"]], sv[_SV["absence_due"]]
        elif finding.type == "sensor_fault":
            return float(self._sens[self._ids[finding.key], _SE["fault_start"]] + kernels.FAULT_SHOW_AFTER_S)
        else:
            row = self._sens[self._ids[finding.key]]
            latched, due = row[_SE["held_latched"]], row[_SE["held_due"]]
        return float(due if math.isnan(latched) else latched)

    # ------------------------------------------------------------------ views
    @property
    def started(self) -> bool:
        return bool(self._sv[_SV["started"]] > 0)

    @property
    def cold_start(self) -> bool:
        """Still on the flat cold-start limit: no prior and fewer than ``min_learn_days`` learned."""
        return self.prior.empty and self.learned_days < self.params.min_learn_days

    @property
    def learned_days(self) -> int:
        return int(self._sv[_SV["learned_days"]])

    def thresholds(self) -> tuple[np.ndarray, list[str]]:
        """The threshold per time-of-day slot (seconds) and the rule that set it."""
        return self._thr[0].copy(), [RULES[int(r)] for r in self._thr[1]]

    def threshold_at(self, local: float) -> tuple[float, str]:
        slot = int((local % 86400.0) // (self.params.slot_minutes * 60.0))
        return float(self._thr[0, slot]), RULES[int(self._thr[1, slot])]

    def absence_limits_learned(self) -> list[tuple[float, float]]:
        """Per day type (weekday, weekend): (not_returned limit in seconds, learned flag)."""
        sv = self._sv
        return [(float(sv[_SV[f"absence_limit_{t}"]]), float(sv[_SV[f"absence_learned_{t}"]]))
                for t in ("weekday", "weekend")]

    def absence_limits(self) -> tuple[float, float]:
        """The not_returned limit (seconds) of an absence begun on a weekday and on a weekend day."""
        (wd, _), (we, _) = self.absence_limits_learned()
        return wd, we

    def learned_histograms(self) -> tuple[np.ndarray, np.ndarray]:
        """What this home taught the detector, without the prior: (silence rows [2 x slots, bins]:
        elapsed then remaining; absence rows [day types, bins])."""
        n = self.params.slots_per_day
        return self._hist[:2 * n].copy(), self._abs_hist[:N_DAY_TYPES].copy()

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

    def appliances(self) -> list[dict[str, Any]]:
        """Each power sensor's learned in-use signature, as of its last reading (``hubctl profile``)."""
        p, out = self.params, []
        for sid, row in enumerate(self._sens):
            if math.isnan(row[_SE["standby_watts"]]):
                continue  # not a power sensor (or no reading yet)
            sessions = self._held_hist[sid]
            limit = kernels.appliance_session_limit(sessions, self._edges, self._pv)
            hours = max(kernels.hours_covered(row[_SE["app_hours_mask"]]),
                        kernels.hours_covered(row[_SE["app_hours_prev"]]))
            use = row[_SE["app_use_watts"]]
            out.append({
                "sensor": self.sensors[sid],
                "standby_watts": round(float(row[_SE["standby_watts"]]), 1),
                "in_use_watts": None if math.isnan(use) else round(float(use), 1),
                "counts_for_hours": round(float(limit) / 3600.0, 2),
                "sessions_learned": bool(sessions.sum() >= p.appliance_session_min_count),
                "plain_cycle_hours": hours,
                "cycles_by_itself": hours >= p.appliance_autonomous_hours,
                "on": bool(row[_SE["appliance_on"]] > 0),
            })
        return out

    def profile(self, mono: float, local: float) -> dict[str, Any]:
        """The learned rhythm as data (``hubctl profile --json``)."""
        thr, rules = self.thresholds()
        first, counts = self.actogram()
        return {
            "appliances": self.appliances(),
            "slot_minutes": self.params.slot_minutes,
            "threshold_hours": [round(float(x) / 3600.0, 3) for x in thr],
            "alarm_after_hours_by_start": [round(x / 3600.0, 3) for x in self.alarm_delays()],
            "rules": rules,
            "learned_days": self.learned_days,
            "cold_start": self.cold_start,
            "prior": self.prior_note,
            "absence_limit_hours": dict(zip(("weekday", "weekend"),
                                            (round(x / 3600.0, 3) for x in self.absence_limits()))),
            "actogram_first_day_local": first * 86400.0,
            "actogram": counts.astype(int).tolist(),
        }

    def profile_text(self, mono: float, local: float) -> str:
        """The learned rhythm drawn for an 80-column terminal (``hubctl profile``)."""
        from .profile import render

        thr, rules = self.thresholds()
        first, counts = self.actogram()
        return render(thr, rules, first, counts, self.learned_days, self.cold_start,
                      now_local=local if math.isfinite(local) else None, appliances=self.appliances())

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
            "inactive_seconds": max(0.0, mono - float(sv[_SV["last_mono"]])) if home_free else None,  # held: not counting
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
            "cold_start": self.cold_start,
            "prior": self.prior_note,
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
        if state.get("version") == 2:
            state = self._upgrade_v2(state)
        if state.get("version") != STATE_VERSION:
            raise IncompatibleState(f"detector state version {state.get('version')!r}, expected {STATE_VERSION}")
        hist = np.asarray(state["hist"], dtype=np.float64)
        if hist.shape != self._hist.shape:
            raise IncompatibleState(
                f"stored detector state has {hist.shape[0] // 4} slots x {hist.shape[1]} bins, the config "
                f"{self._hist.shape[0] // 4} x {self._hist.shape[1]} (slot_minutes or hist_bins changed)"
            )
        sensors = list(state["sensors"])
        sv = np.array(state["sv"], dtype=np.float64)
        missing = len(SV_FIELDS) - sv.size
        if 0 < missing <= len(_SV_V3_LATER):
            sv = np.concatenate([sv, [_SV_V3[name] for name in _SV_V3_LATER[-missing:]]])
        if sv.shape != self._sv.shape:
            raise IncompatibleState(f"detector state has {sv.size} scalar fields, expected {self._sv.size}")
        sens = np.array(state["sens"], dtype=np.float64)
        if sensors and sens.size == len(sensors) * (len(SENS_FIELDS) - len(_SENS_V3_LATER)):
            sens = np.hstack([sens.reshape(len(sensors), -1),
                              np.tile([_SENS_V3[name] for name in _SENS_V3_LATER], (len(sensors), 1))])
        if sens.size != len(sensors) * len(SENS_FIELDS):
            raise IncompatibleState(f"detector state has {sens.size} per-sensor values for {len(sensors)} sensors, "
                                    f"expected {len(SENS_FIELDS)} each")
        sens = sens.reshape(len(sensors), len(SENS_FIELDS))
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
        self._abs_hist = np.array(state["abs_hist"], dtype=np.float64).reshape(2 * N_DAY_TYPES, self.params.hist_bins)
        self._held_hist = np.array(state["held_hist"], dtype=np.float64).reshape(len(sensors), self.params.hist_bins)
        self._acto = np.array(state["acto"], dtype=np.float64)
        self._out = np.empty((len(sensors) + 8, 7))
        kernels.refresh_dues(self._pv, self._sv, self._sens, self._thr)

    def _upgrade_v1(self, state: dict[str, Any]) -> dict[str, Any]:
        """Version 1 had only the elapsed-silence rule: keep all it learned; the
        remaining-silence rule starts from the cold start and learns from now on."""
        hist = np.asarray(state["hist"], dtype=np.float64)
        if hist.shape != (self.params.slots_per_day, self.params.hist_bins):
            return state  # the shape check below explains the mismatch
        cur = np.full((4, hist.shape[0]), np.nan)
        cur[:2] = np.asarray(state["cur"], dtype=np.float64)
        thr = self._cold_thresholds()
        thr[:2] = np.asarray(state["thr"], dtype=np.float64)
        return {**state, "version": 2, "cur": cur, "hist": np.vstack([hist, np.zeros_like(hist)]), "thr": thr}

    def _upgrade_v2(self, state: dict[str, Any]) -> dict[str, Any]:
        """Version 2 had no prior, one absence history and no appliance columns: the configured
        prior's rows are added (an established home has outweighed them already), the absences
        learned so far seed both day types (their limits start as the one limit learned so far),
        each sensor gets the appliance columns fresh (an appliance on now counts from its next
        switch-on, after its day of watching), and every sensor starts trusted and holding, as
        before, learning how it behaves from now on."""
        hist = np.asarray(state["hist"], dtype=np.float64)
        if hist.shape != (2 * self.params.slots_per_day, self.params.hist_bins):
            return state  # the shape check below explains the mismatch
        n = self.params.slots_per_day
        abs_old = np.asarray(state["abs_hist"], dtype=np.float64).reshape(1, -1)
        v2 = dict(zip(SV_FIELDS, np.asarray(state["sv"], dtype=np.float64)))
        extra = {"absence_limit_weekday": v2["absence_limit"], "absence_learned_weekday": v2["absence_learned"],
                 "absence_limit_weekend": v2["absence_limit"], "absence_learned_weekend": v2["absence_learned"],
                 "absence_day": v2["day"], "attended_mono": math.nan, **_SV_V3}
        sv = np.array([v2[name] if name in v2 else extra[name] for name in SV_FIELDS])
        k = len(state["sensors"])
        sens = np.array([self._new_sensor_row() for _ in range(k)]).reshape(k, len(SENS_FIELDS))
        sens[:, :_SENS_V2] = np.array(state["sens"], dtype=np.float64).reshape(k, _SENS_V2)
        sens[:, _SE["on_since"]] = sens[:, _SE["held_since"]]  # a held sensor is ON
        return {**state, "version": STATE_VERSION, "sv": sv, "sens": sens,
                "hist": np.vstack([hist, self._hist[2 * n:]]),
                "abs_hist": np.vstack([abs_old, abs_old, self._abs_hist[N_DAY_TYPES:]])}

    def skip_unobserved(self, mono: float) -> None:
        """Do not learn the time up to ``mono`` as inactivity (the hub was down: unknown, not
        inactive). The inactivity alarm still counts from the real last activity."""
        i = _SV["accounted_mono"]
        if self.started and not mono <= self._sv[i]:
            self._sv[i] = float(mono)


def _fault_finding(sensor: str, code: float, since: float) -> Finding:
    """The detector's ``sensor_fault``: a sensor judged by its behaviour (the rate fault, ``chatter``,
    is the sensor-health watcher's)."""
    return Finding("sensor_fault", SYSTEM, float(since), 0.0, key=sensor,
                   detail={"reasons": [FAULT_REASONS[int(code)]], "judged_by": "detector"})


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
