"""Every numba kernel against a slow, obvious Python reference (random and real inputs).

The references live here, not in hubd: they restate the detector's rules in the plainest
code (lists, dicts, brute-force loops over every slot) so that a kernel bug cannot hide
behind a shared helper. ``RefDetector`` is the whole event step written that way.
"""

from __future__ import annotations

import copy
import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hubd.detector import kernels
from hubd.detector.base import FixedTimerDetector
from hubd.detector.model import SENS_FIELDS, SV_FIELDS, LearnedDetector, feed
from hubd.detector.params import KERNEL_LAYOUT, DetectorParams
from hubd.detector.prior import Prior, PriorError, default_prior
from hubd.events import Event, EventBatch, Kind, read_events

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DAY = 86400.0
NAN = math.nan

# Small, fast-learning parameters so random streams of a few days exercise every rule.
FAST = DetectorParams(slot_minutes=60, min_learn_days=1, learn_day_min_home_hours=1.0, slot_min_weight=0.5,
                      sparse_pool_slots=3, drift_slots=1, hist_bins=16, absence_min_count=1, held_min_count=1,
                      min_threshold_minutes=20.0, away_confirm_minutes=5.0, absence_min_hours=1.0,
                      held_min_hours=0.5, half_life_days=3.0, appliance_autonomous_hours=2,
                      appliance_session_min_count=1, pulse_min_days=1.0)


# ============================================================== slow references
def ref_bin_index(x, edges):
    nb = len(edges) - 1
    best = 0
    for b in range(nb):
        if edges[b] <= x:
            best = b
    return best


def ref_hist_quantile(row, edges, q):
    total = sum(row)
    if not total > 0:
        return NAN
    target, cum = q * total, 0.0
    for b, w in enumerate(row):
        if w > 0 and cum + w >= target:
            return edges[b] + (target - cum) / w * (edges[b + 1] - edges[b])
        cum += w
    return edges[len(row)]


def ref_level(total, q, robust):
    """q, lowered so that at least ``robust`` days of weight lie above the quantile."""
    return q if total <= 0 else min(q, 1 - robust / total)


def ref_slot_thresholds(hist, edges, q, robust, min_w, pool, drift, factor, margin, floor, cold, safety, learned):
    n = len(hist)
    quant = [NAN] * n
    if learned:
        for k in range(n):
            rows = [k]  # the slot itself, then its neighbours pair by pair until enough days
            for j in range(0, pool + 1):
                if j > 0:
                    rows += [(k - j) % n, (k + j) % n]
                weight = 0.0
                for r in rows:
                    weight += sum(hist[r])
                if weight >= min_w:
                    pooled = [0.0] * len(hist[k])
                    for r in rows:
                        pooled = [x + y for x, y in zip(pooled, hist[r])]
                    quant[k] = ref_hist_quantile(pooled, edges, ref_level(weight, q, robust))
                    break
    values, rules = [], []
    for k in range(n):
        if math.isnan(quant[k]):
            v, r = cold, 1
        else:
            near = [quant[(k + j) % n] for j in range(-drift, drift + 1)]
            m = max(x for x in near if not math.isnan(x))
            v, r = max(floor, m * factor + margin), 0
        if v > safety:
            v, r = safety, 2
        values.append(v)
        rules.append(r)
    return values, rules


def ref_duration_limit(row, edges, q, robust, factor, margin, min_count, lo, hi):
    if sum(row) < min_count:
        return hi, 0.0
    return min(hi, max(lo, ref_hist_quantile(row, edges, ref_level(sum(row), q, robust)) * factor + margin)), 1.0


def ref_day_type(day):
    """0 weekday, 1 weekend: 1970-01-01 (day 0) was a Thursday."""
    return 1 if (math.floor(day) + 3) % 7 in (5, 6) else 0


def ref_absence_limit(home, prior, w, edges, p):
    """The home's absences plus w x the prior's, never below the prior's own quantile x margin."""
    blend = [h + w * x for h, x in zip(home, prior)]
    limit, learned = ref_duration_limit(blend, edges, p.absence_quantile, p.robust_days, p.absence_margin_factor,
                                        0.0, p.absence_min_count, p.absence_min_hours * 3600,
                                        p.absence_max_hours * 3600)
    if sum(prior) > 0:
        floor = ref_hist_quantile(prior, edges, p.absence_quantile) * p.absence_margin_factor
        limit = min(p.absence_max_hours * 3600, max(limit, floor))
    return limit, learned


def ref_prior(p: DetectorParams) -> Prior:
    """The prior a detector built with ``p`` and no explicit prior uses: the shipped one if it fits."""
    try:
        prior = default_prior()
    except PriorError:
        return Prior.none(p)
    return prior if prior.fits(p) is None and p.prior_days > 0 else Prior.none(p)


def ref_accumulate(cur_max, cur_home, day_start, a, b, origin, zero, slot):
    """Brute force: every slot of the day against the interval."""
    for k in range(len(cur_max)):
        ss, se = day_start + k * slot, day_start + (k + 1) * slot
        lo, hi = max(a, ss, day_start), min(b, se, day_start + DAY)
        if hi > lo:
            cur_home[k] += hi - lo
            elapsed = 0.0 if zero else hi - origin
            cur_max[k] = max(cur_max[k], elapsed)


def ref_first_crossing(origin_mono, origin_local, thr, slot):
    """Walk the slots from the origin's; the first moment the elapsed time reaches the slot's threshold."""
    n = len(thr)
    start_slot = math.floor(origin_local / slot)
    for i in range(4 * n + 1):
        ks = start_slot + i
        ss, se = ks * slot, (ks + 1) * slot
        # silences e with origin + e inside this slot and e >= its threshold; the smallest one
        e = max(thr[ks % n], ss - origin_local)
        if origin_local + e < se:
            return origin_mono + e, ks % n
    return math.inf, -1


def ref_remaining_deadline(origin_mono, origin_local, limits, slot):
    """Every slot from the origin's, one day on: the earliest deadline; ties to the first."""
    n = len(limits)
    first = math.floor(origin_local / slot)
    best, best_k = math.inf, -1
    for i in range(n + 1):
        start = max(origin_local, (first + i) * slot)
        elapsed = start - origin_local + limits[(first + i) % n]
        if elapsed < best:
            best, best_k = elapsed, (first + i) % n
    return origin_mono + best, best_k


class RefAppliance:
    def __init__(self):
        self.base = NAN
        self.on = False
        self.last_t = NAN
        self.last_w = NAN
        # appliances as presence
        self.first_t = NAN
        self.session_start = NAN
        self.session_limit = NAN
        self.use_w = NAN
        self.day = NAN
        self.varied = NAN  # varying readings in the current session
        self.floor = NAN  # the standby it began at
        self.hours: set[int] = set()  # clock hours it ended a plain cycle in, today
        self.prev_hours: set[int] = set()  # and on the day before

    def reading(self, t, w, margin, tau):
        if math.isnan(self.base):
            self.base = w
        else:
            if self.last_w > self.base and t > self.last_t:
                self.base = self.base + (self.last_w - self.base) * (1 - math.exp(-(t - self.last_t) / tau))
            self.base = min(self.base, w)
        used = False
        if self.on:
            if w < self.base + margin / 2:
                self.on = False
        elif w > self.base + margin:
            self.on, used = True, True
        self.last_t, self.last_w = t, w
        return used


class RefDetector:
    """The detector's rules, spelled out event by event in plain Python."""

    def __init__(self, p: DetectorParams, sensors: list[str], prior: Prior | None = None):
        self.p = p
        self.slot = p.slot_minutes * 60.0
        self.n = p.slots_per_day
        self.edges = list(p.bin_edges())
        nb = p.hist_bins
        self.sensors = sensors
        self.hist = [[0.0] * nb for _ in range(self.n)]
        self.abs_hist = [[0.0] * nb, [0.0] * nb]  # weekday, weekend
        prior = ref_prior(p) if prior is None else prior
        self.prior_hist = [[x * p.prior_days for x in row] for row in prior.elapsed]
        self.prior_rhist = [[x * p.prior_days for x in row] for row in prior.remaining]
        self.prior_abs = [[x * p.prior_days for x in row] for row in prior.absence]
        self.held_hist = {s: [0.0] * nb for s in range(len(sensors))}
        self.started = False
        self.last = self.last_loc = self.mark = NAN
        self.day = NAN
        self.pending, self.run_first, self.run_last, self.run_conf, self.run_cluster = False, NAN, NAN, False, NAN
        self.returning = False
        self.attended = NAN
        self.held: dict[int, float] = {}
        self.held_latched: dict[int, float] = {}
        self.held_latched_as: dict[int, tuple] = {}
        self.held_limit = {s: p.held_max_hours * 3600 for s in range(len(sensors))}
        self.held_learned = {s: 0.0 for s in range(len(sensors))}
        self.longest = {s: 0.0 for s in range(len(sensors))}
        self.appliances = {s: RefAppliance() for s in range(len(sensors))}
        self.learned_days = 0.0
        self.days = 0.0
        self.inact_latched = NAN
        self.abs_latched = NAN
        self.run_day = NAN
        self.today_max = [0.0] * self.n
        self.today_home = [0.0] * self.n
        self.rhist = [[0.0] * nb for _ in range(self.n)]
        self.rest_yesterday = [NAN] * self.n  # longest silence remaining from each slot
        self.rest_today = [NAN] * self.n
        self.refresh_limits()
        self.abs_limit, self.abs_learned = self.abs_limits[0]
        self.acto = [[0.0] * self.n for _ in range(28)]
        self.records: list[tuple] = []
        # sensors judged by behaviour: raw ON, daily longest ON, days with ONs / with an ON >= a pulse
        n_s = len(sensors)
        self.on_since = [NAN] * n_s
        self.open_since = [NAN] * n_s  # an entrance contact reading 1 since
        self.longest_on = [NAN] * n_s
        self.on_days = [0.0] * n_s
        self.long_days = [0.0] * n_s
        self.pulses = [False] * n_s
        self.fault = [0] * n_s  # 0 trusted, 1 stuck, 2 inverted
        self.fault_since = [NAN] * n_s
        self.fault_start = [NAN] * n_s
        self.others: dict[int, list] = {}  # watched sensor -> [first other contact used, its sensor, a second seen]
        self.moves: dict[int, list] = {}  # watched sensor -> [first motion elsewhere, its sensor, a second, a third seen]
        self.away_on = [NAN] * n_s  # when it last read ON while the resident was away
        self.away_on_prev = [NAN] * n_s  # the time before that
        self.contradicted = [False] * n_s  # an inverted presence: its current ON held nobody
        self.good_ons = [0] * n_s  # an inverted presence: uncontradicted ONs in a row
        self.quiet_origin = -1  # a pulse sensor whose event began the silence
        self.stray = (-1, NAN)  # while out: an uncorroborated inside event (sensor, time)
        self.came_in = False  # back through an entrance still open: its closing is no leaving

    # the rules -------------------------------------------------------------
    def home_free(self):
        """Watching the silence: at home, or back through the door after a while out."""
        return self.started and (not self.pending or self.returning) and not self.held

    def inactivity(self):
        """(due, limit, rule) of the current gap, or NaNs when not watching inactivity."""
        if not self.home_free():
            return NAN, NAN, NAN
        due, k = ref_first_crossing(self.last, self.last_loc, self.thr, self.slot)
        due_r, k_r = ref_remaining_deadline(self.last, self.last_loc, self.rthr, self.slot)
        if due_r < due:
            due, limit, rule = due_r, due_r - self.last, float(self.rrule[k_r])
        else:
            limit, rule = self.thr[k], float(self.rule[k])
        q = self.quiet_origin
        if q >= 0 and self.pulses[q] and self.held_learned[q] > 0:  # someone sat down by a pulse sensor
            stay = min(self.held_limit[q], self.p.max_inactivity_hours * 3600)
            if self.last + stay > due:
                return self.last + stay, stay, 2.0 if stay >= self.p.max_inactivity_hours * 3600 else 0.0
        return due, limit, rule

    def record_remaining(self, a, b, zero):
        """Brute force: every slot of yesterday and today against the silence [a, b)."""
        for row, day in ((self.rest_yesterday, self.day - 1), (self.rest_today, self.day)):
            for k in range(self.n):
                ss = day * DAY + k * self.slot
                if ss + self.slot > a and ss < b:
                    r = 0.0 if zero else b - max(a, ss)
                    if math.isnan(row[k]) or r > row[k]:
                        row[k] = r

    def refresh_limits(self):
        """Thresholds and absence limits from the home's histograms plus the prior's pseudo-days."""
        p = self.p
        w = (0.5 ** (1 / p.prior_half_life_days)) ** self.learned_days
        has_prior = any(x > 0 for rows in (self.prior_hist, self.prior_rhist) for row in rows for x in row)
        learned = self.learned_days >= p.min_learn_days or has_prior
        factor = p.margin_factor * (1.0 + p.early_margin / max(1.0, self.learned_days))
        for rows, prior, margin, name in ((self.hist, self.prior_hist, p.margin_minutes, "thr"),
                                          (self.rhist, self.prior_rhist, p.residual_margin_minutes, "rthr")):
            blend = [[h + w * x for h, x in zip(hr, pr)] for hr, pr in zip(rows, prior)]
            values, rules = ref_slot_thresholds(
                blend, self.edges, p.quantile, p.robust_days, p.slot_min_weight, p.sparse_pool_slots, p.drift_slots,
                factor, margin * 60, p.min_threshold_minutes * 60, p.cold_start_hours * 3600,
                p.max_inactivity_hours * 3600, learned)
            if name == "thr":
                self.thr, self.rule = values, rules
            else:
                self.rthr, self.rrule = values, rules
        decay = 0.5 ** (1 / p.prior_half_life_days)  # absences: the prior fades per absence of the type seen
        self.abs_limits = [ref_absence_limit(self.abs_hist[t], self.prior_abs[t], decay ** sum(self.abs_hist[t]),
                                             self.edges, p) for t in (0, 1)]

    def close_day(self):
        lam = 0.5 ** (1 / self.p.half_life_days)
        self.hist = [[w * lam for w in row] for row in self.hist]
        self.rhist = [[w * lam for w in row] for row in self.rhist]
        for k in range(self.n):
            if not math.isnan(self.rest_yesterday[k]):
                self.rhist[k][ref_bin_index(self.rest_yesterday[k], self.edges)] += 1.0
        self.rest_yesterday, self.rest_today = self.rest_today, [NAN] * self.n
        self.abs_hist = [[w * lam for w in row] for row in self.abs_hist]
        self.held_hist = {s: [w * lam for w in row] for s, row in self.held_hist.items()}
        home = 0.0
        for k in range(self.n):
            if self.today_home[k] > 0:
                self.hist[k][ref_bin_index(self.today_max[k], self.edges)] += min(1.0, self.today_home[k] / self.slot)
                home += self.today_home[k]
        self.today_max = [0.0] * self.n
        self.today_home = [0.0] * self.n
        if home >= self.p.learn_day_min_home_hours * 3600:
            self.learned_days += 1
        p = self.p
        self.refresh_limits()
        for s in self.held_hist:  # does it hold for a stay, or only pulse?
            self.on_days[s] *= lam
            self.long_days[s] *= lam
            if not math.isnan(self.longest_on[s]):
                self.on_days[s] += 1.0
                if self.longest_on[s] >= p.pulse_max_seconds:
                    self.long_days[s] += 1.0
            self.longest_on[s] = NAN
            if self.on_days[s] >= p.pulse_min_days:
                pulses = 2.0 * self.long_days[s] < self.on_days[s]
                if pulses != self.pulses[s]:  # a change of class: its stays are learned afresh
                    self.pulses[s] = pulses
                    self.held_hist[s] = [0.0] * len(self.held_hist[s])
                    self.longest[s] = 0.0
        for s in self.held_hist:
            if self.longest[s] >= p.pulse_max_seconds:
                self.held_hist[s][ref_bin_index(self.longest[s], self.edges)] += 1.0
            self.longest[s] = 0.0
            self.held_limit[s], self.held_learned[s] = ref_duration_limit(
                self.held_hist[s], self.edges, p.held_quantile, p.robust_days, p.held_margin_factor,
                p.held_margin_minutes * 60,
                p.held_min_count, p.held_min_hours * 3600, p.held_max_hours * 3600)
        self.days += 1

    def next_day(self):
        self.close_day()
        self.day += 1
        self.acto[int(self.day) % 28] = [0.0] * self.n

    def event(self, t, loc, kind, s, v):
        p = self.p
        due, _, _ = self.inactivity()
        if math.isnan(self.inact_latched) and due < t:
            self.inact_latched = due
        if self.pending and math.isnan(self.abs_latched) and self.run_first + self.abs_limit < t:
            self.latch_absence(self.run_first + self.abs_limit)
        for h, since in self.held.items():
            if h not in self.held_latched and since + self.held_limit[h] < t:
                self.latch_hold(h, since + self.held_limit[h])

        shown = None
        if kind in (Kind.MOTION, Kind.BUTTON):
            active = v > 0
        elif kind == Kind.APPLIANCE:
            shown = self.appliance_sign_of_life(t, loc, s, v)
            active = shown is not None
        else:
            active = True
        if active:
            if shown != "in use":
                self.attended = t  # the last sign of life that was not a screen alone
            self.activity(t, loc, kind, s, v)
        # whatever is due at this very moment holds from now on
        due, _, _ = self.inactivity()
        if math.isnan(self.inact_latched) and due <= t:
            self.inact_latched = t
        if self.pending and math.isnan(self.abs_latched) and self.run_first + self.abs_limit <= t:
            self.latch_absence(t)
        for h, since in self.held.items():
            if h not in self.held_latched and since + self.held_limit[h] <= t:
                self.latch_hold(h, t)

    def activity(self, t, loc, kind, s, v):
        p = self.p

        if not self.started:
            self.started = True
            self.day = float(math.floor(loc / DAY))
        else:
            off = self.last_loc - self.last
            a, b = self.mark + off, t + off
            day_before = self.day
            while True:
                day_start = self.day * DAY
                if not self.pending:
                    ref_accumulate(self.today_max, self.today_home, day_start, a, min(b, day_start + DAY),
                                   self.last_loc, bool(self.held), self.slot)
                if b < day_start + DAY:
                    break
                self.next_day()
                a = day_start + DAY
            while math.floor(loc / DAY) > self.day:
                self.next_day()
            if self.day != day_before:  # the limit in force: of the absence's first day, else of today
                self.abs_limit, self.abs_learned = self.abs_limits[ref_day_type(self.run_day if self.pending
                                                                                else self.day)]
            if not self.pending:
                self.record_remaining(self.last_loc, t + off, bool(self.held))

        q = self.quiet_origin
        if q >= 0 and not self.pending and self.pulses[q]:
            self.longest[q] = max(self.longest[q], t - self.last)
        self.acto[int(self.day) % 28][min(self.n - 1, int((loc % DAY) // self.slot))] += 1
        confirm = p.away_confirm_minutes * 60
        if kind == Kind.ENTRANCE:
            back = self.pending and t - self.run_last >= confirm
            since = self.open_since[s]
            if back and since > self.run_first:  # closed in a blip at leaving, then open all the time out
                if self.fault[s] == 0:
                    self.fault[s], self.fault_since[s], self.fault_start[s] = 2, since, t
            elif back and math.isnan(since) and self.fault[s] == 2:  # read closed all the time out
                self.trust_again(s, t)
            if v > 0:
                if math.isnan(since):
                    self.open_since[s] = t
            else:
                self.open_since[s] = NAN
            stuck_on = self.stuck_on()  # (before this door makes more of them)
            for h in self.watched():  # nobody opens the front door from a bed
                if t - self.watched_since(h) >= p.stuck_min_hold_minutes * 60:
                    self.distrust(h, t, away=True)
            for j in stuck_on:  # still reading ON: that counts too
                if t - self.on_since[j] >= p.stuck_min_hold_minutes * 60:
                    self.read_on_away(j, t)
            self.elsewhere(s, t)
            came_in, self.came_in = self.came_in and v <= 0, False
            if not self.pending and came_in:
                pass
            elif not self.pending:
                self.pending, self.run_first, self.run_conf, self.run_cluster = True, t, False, t
                self.abs_latched, self.returning = NAN, False
                self.run_day = self.day
                self.abs_limit, self.abs_learned = self.abs_limits[ref_day_type(self.day)]
                self.stray = (-1, NAN)
            elif t - self.run_last >= confirm:
                self.run_conf, self.run_cluster, self.returning = True, t, True
            self.run_last = t
        else:
            returned = True
            if self.pending and not self.returning and t - self.run_last >= confirm:
                stuck_on = self.stuck_on()
                for h in self.watched():  # the flat was empty while it held (its own release: it behaved)
                    if not (h == s and kind == Kind.PRESENCE and v <= 0):
                        self.distrust(h, t, away=True)
                for j in stuck_on:
                    if not (j == s and kind == Kind.PRESENCE and v <= 0):
                        self.read_on_away(j, t)
                prev, when = self.stray
                returned = prev >= 0 and prev != s and t - when <= p.corroborate_minutes * 60
                if not returned:
                    self.stray = (s, t)
            if self.pending and returned:
                if t - self.run_last >= confirm:
                    self.run_conf, away_end = True, t
                else:
                    away_end = self.run_cluster
                if not math.isnan(self.abs_latched):
                    limit, learned = self.abs_latched_as
                    self.records.append((1, -1, self.run_first, limit, self.abs_latched, t, learned))
                if self.run_conf:
                    self.abs_hist[ref_day_type(self.run_day)][ref_bin_index(t - self.run_first, self.edges)] += 1.0
                    self.records.append((3, -1, self.run_first, 0.0, self.run_first, away_end, 0.0))
                self.came_in = self.returning and any(
                    not math.isnan(self.open_since[j]) and self.fault[j] != 2 for j in range(len(self.sensors)))
                self.pending, self.abs_latched, self.returning = False, NAN, False
                for j in range(len(self.sensors)):  # ON while the flat looked empty: held from now
                    if not math.isnan(self.on_since[j]) and j not in self.held and self.holds_a_stay(j):
                        self.start_hold(j, t)
            if kind == Kind.PRESENCE:
                raced = v <= 0 and t - self.away_on[s] < 60.0  # got up to open the door: no evidence
                if raced:
                    self.away_on[s], self.away_on_prev[s] = self.away_on_prev[s], NAN
                self.judge_inverted_on(s, t, v)
                since = self.on_since[s]
                if v > 0 and math.isnan(since):
                    self.on_since[s] = t
                elif v <= 0 and not math.isnan(since):
                    if self.fault[s] == 0:
                        self.longest_on[s] = max(t - since, 0.0 if math.isnan(self.longest_on[s]) else
                                                 self.longest_on[s])
                    self.on_since[s] = NAN
                if v > 0 and returned and s not in self.held and self.holds_a_stay(s):
                    self.start_hold(s, t)
                elif v <= 0 and s in self.held:
                    since = self.held.pop(s)
                    self.longest[s] = max(self.longest[s], t - since)
                    if s in self.held_latched:
                        limit, learned = self.held_latched_as[s]
                        self.records.append((2, s, since, limit, self.held_latched.pop(s), t, learned))
                elif v <= 0 and (self.fault[s] == 1 or (raced and t - self.fault_start[s] < 60.0)):
                    self.trust_again(s, t)
            elif kind == Kind.DOOR and returned:
                self.elsewhere(s, t)
            elif kind == Kind.MOTION and returned:
                self.moved(s, t)
        if not math.isnan(self.inact_latched):
            _, limit, rule = self.inactivity_before
            self.records.append((0, -1, self.last, limit, self.inact_latched, t, rule))
            self.inact_latched = NAN
        self.last, self.last_loc, self.mark = t, loc, t
        self.quiet_origin = s if kind == Kind.PRESENCE and self.pulses[s] else -1

    def holds_a_stay(self, s):
        return not self.pulses[s] and self.fault[s] == 0

    def start_hold(self, s, t):
        self.held[s] = t
        self.held_latched.pop(s, None)
        self.others[s], self.moves[s] = [NAN, -1, False], [NAN, -1, -1, False]

    def watched(self):
        """Sensors whose ON is judged: the holds, and the inverted presences that are ON."""
        return sorted(set(self.held) | {j for j in range(len(self.sensors))
                                        if self.fault[j] == 2 and not math.isnan(self.on_since[j])})

    def read_on_away(self, j, t):
        self.away_on_prev[j], self.away_on[j] = self.away_on[j], t

    def stuck_on(self):
        """Stuck presences still reading ON."""
        return [j for j in range(len(self.sensors)) if self.fault[j] == 1 and not math.isnan(self.on_since[j])]

    def watched_since(self, h):
        return self.held[h] if h in self.held else self.on_since[h]

    def distrust(self, h, t, away=False):
        """A hold that holds nobody: it no longer counts; its stayed_in_place ends now. Twice
        within the window while the resident was away: inverted. An inverted presence's ON:
        contradicted."""
        window = self.p.inverted_window_hours * 3600
        away_before = self.away_on[h]
        if away:
            self.read_on_away(h, t)
        self.contradicted[h] = True
        if h not in self.held:
            return
        since = self.held.pop(h)
        if h in self.held_latched:
            limit, learned = self.held_latched_as[h]
            self.records.append((2, h, since, limit, self.held_latched.pop(h), t, learned))
        self.fault[h] = 2 if t - away_before <= window else 1
        self.fault_since[h], self.fault_start[h] = since, t
        self.good_ons[h] = 0

    def judge_inverted_on(self, s, t, v):
        """An inverted presence is trusted again after enough uncontradicted ONs in a row, and
        none contradicted for the window."""
        if self.fault[s] != 2:
            return
        since = self.on_since[s]
        if v > 0 and math.isnan(since):
            self.contradicted[s] = False
            self.others[s], self.moves[s] = [NAN, -1, False], [NAN, -1, -1, False]
        elif v <= 0 and not math.isnan(since):
            if self.contradicted[s]:
                self.good_ons[s] = 0
            elif t - since >= self.p.stuck_other_minutes * 60:
                self.good_ons[s] += 1
                if (self.good_ons[s] >= self.p.inverted_trust_ons
                        and t - self.away_on[s] > self.p.inverted_window_hours * 3600):
                    self.good_ons[s] = 0
                    self.trust_again(s, t)

    def trust_again(self, s, t):
        shown = self.fault_start[s] + 60.0  # a fault is shown a minute after it was decided
        if shown < t:
            self.records.append((4, s, self.fault_since[s], 0.0, shown, t, float(self.fault[s])))
        self.fault[s], self.fault_since[s], self.fault_start[s] = 0, NAN, NAN

    def elsewhere(self, s, t):
        """Two other contacts used over stuck_other_minutes of a hold: it holds nobody."""
        for h in self.watched():
            if h == s:
                continue
            o = self.others[h]
            if math.isnan(o[0]):
                o[0], o[1] = t, s
            elif o[1] != s:
                o[2] = True
            if o[2] and t - o[0] >= self.p.stuck_other_minutes * 60:
                self.distrust(h, t)

    def moved(self, s, t):
        """Three motion sensors seeing someone over stuck_other_minutes of a hold: it holds nobody."""
        for h in self.watched():
            m = self.moves[h]
            if math.isnan(m[0]):
                m[0], m[1] = t, s
            elif m[1] != s:
                if m[2] < 0:
                    m[2] = s
                elif m[2] != s:
                    m[3] = True
            if m[3] and t - m[0] >= self.p.stuck_other_minutes * 60:
                self.distrust(h, t)

    def appliance_sign_of_life(self, t, loc, s, w):
        """"switched on" counts; so does "in use": inside a session (from a switch-on until the draw
        is back within half the margin of the standby it began at) a reading that changes like a
        person using the appliance, at home, after a day of watching, while the appliance has not
        stood alone for longer than its session limit (since switch-on or the last other sign of
        life, the later); None from a device that ended plain on/off cycles in many clock hours of
        one day (today or yesterday)."""
        p, app = self.p, self.appliances[s]
        prev_t, prev_w = app.last_t, app.last_w
        switched_on = app.reading(t, w, p.appliance_margin_watts, p.appliance_standby_tau_hours * 3600)
        if math.isnan(app.first_t):
            app.first_t = t
        start = app.session_start
        varying = plain_end = False
        if not math.isnan(start):
            if w > app.floor + p.appliance_margin_watts / 2:
                varying = abs(w - prev_w) > max(p.appliance_vary_watts, p.appliance_vary_fraction * app.use_w)
                app.varied += varying
                if t > prev_t:
                    app.use_w += (w - app.use_w) * (1 - math.exp(-(t - prev_t) / (p.appliance_level_tau_minutes * 60)))
            else:
                self.held_hist[s][ref_bin_index(t - start, self.edges)] += 1.0
                plain_end = app.varied <= 1
                app.session_start = NAN
        if switched_on and math.isnan(app.session_start):
            app.session_start, app.floor, app.varied = t, app.base, 0
            limit, learned = ref_duration_limit(
                self.held_hist[s], self.edges, p.appliance_session_quantile, p.robust_days,
                p.appliance_session_margin_factor, 0.0, p.appliance_session_min_count,
                p.appliance_session_min_hours * 3600, p.appliance_session_max_hours * 3600)
            app.session_limit = limit if learned else p.appliance_session_cold_hours * 3600
            if math.isnan(app.use_w):
                app.use_w = w
        day = math.floor(loc / DAY)
        if app.day != day:
            app.prev_hours = app.hours if app.day == day - 1 else set()
            app.hours, app.day = set(), day
        if plain_end:  # a cycle that was only on and off (a start-up surge at most)
            app.hours.add(int((loc - day * DAY) // 3600))
        if max(len(app.hours), len(app.prev_hours)) >= p.appliance_autonomous_hours:
            return None
        if switched_on:
            return "switched on"
        home = not self.pending or self.returning
        alone_since = max(start, self.attended) if not math.isnan(self.attended) else start
        if varying and home and t - app.first_t >= DAY and t - alone_since <= app.session_limit:
            return "in use"
        return None

    def latch_absence(self, when):
        """not_returned holds from ``when`` under the limit of that moment."""
        self.abs_latched, self.abs_latched_as = when, (self.abs_limit, self.abs_learned)

    def latch_hold(self, h, when):
        self.held_latched[h] = when
        self.held_latched_as[h] = (self.held_limit[h], self.held_learned[h])

    def feed(self, t, loc, kind, s, v):
        # the inactivity limit/rule of a gap are those of its start (thresholds change only at activity)
        self.inactivity_before = self.inactivity() if self.home_free() else (NAN, NAN, NAN)
        self.event(t, loc, Kind(kind), s, v)

    def first_finding(self, t0):
        best = math.inf
        if self.home_free():
            due = self.inact_latched if not math.isnan(self.inact_latched) else self.inactivity()[0]
            best = min(best, max(t0, due))
        if self.pending:
            due = self.abs_latched if not math.isnan(self.abs_latched) else self.run_first + self.abs_limit
            best = min(best, max(t0, due))
        for h, since in self.held.items():
            best = min(best, max(t0, self.held_latched.get(h, since + self.held_limit[h])))
        return best


# ============================================================== helpers
def fresh_arrays(p: DetectorParams, n_sensors: int, prior: Prior | None = None):
    det = LearnedDetector(p, prior=prior)
    for i in range(n_sensors):
        det.sensor_id(f"s{i}")
    return det.state()


def run_kernel(p, batch, prior=None):
    s = fresh_arrays(p, len(batch.sensors), prior)
    out = np.empty((len(batch) * 2 + len(batch.sensors) + 8, 7))
    nxt, n_out = kernels.scan(batch.mono, batch.local, batch.kind, batch.sensor, batch.value, 0, p.kernel_vector(),
                              p.bin_edges(), s["sv"], s["sens"], s["cur"], s["hist"], s["thr"], s["abs_hist"],
                              s["held_hist"], s["acto"], out)
    assert nxt == len(batch)
    return s, out[:n_out]


def run_reference(p, batch, prior=None):
    ref = RefDetector(p, list(batch.sensors), prior)
    for t, lc, k, s, v in zip(batch.mono, batch.local, batch.kind, batch.sensor, batch.value):
        ref.feed(float(t), float(lc), int(k), int(s), float(v))
    return ref


def assert_same(state, records, ref: RefDetector):
    sv = dict(zip(SV_FIELDS, state["sv"]))
    got = [tuple(r) for r in records]
    want = [tuple(float(x) for x in r) for r in ref.records]
    assert len(got) == len(want), (got, want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-6, equal_nan=True)
    np.testing.assert_allclose(state["thr"][0], ref.thr, rtol=1e-12)
    np.testing.assert_array_equal(state["thr"][1], ref.rule)
    np.testing.assert_allclose(state["hist"][:len(ref.hist)], ref.hist, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(state["abs_hist"], ref.abs_hist + ref.prior_abs, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(state["cur"][0], ref.today_max, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(state["cur"][1], ref.today_home, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(state["cur"][2], ref.rest_yesterday, rtol=1e-12, atol=1e-9, equal_nan=True)
    np.testing.assert_allclose(state["cur"][3], ref.rest_today, rtol=1e-12, atol=1e-9, equal_nan=True)
    n = len(ref.rhist)
    np.testing.assert_allclose(state["hist"][n:2 * n], ref.rhist, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(state["hist"][2 * n:], ref.prior_hist + ref.prior_rhist, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(state["thr"][2], ref.rthr, rtol=1e-12)
    np.testing.assert_array_equal(state["thr"][3], ref.rrule)
    np.testing.assert_allclose(state["acto"], ref.acto)
    assert bool(sv["started"]) == ref.started
    if ref.started:
        assert sv["last_mono"] == ref.last and sv["day"] == ref.day
        np.testing.assert_equal(sv["attended_mono"], ref.attended)
        assert bool(sv["pending"]) == ref.pending
        assert bool(sv["returning"]) == ref.returning
        assert sv["learned_days"] == ref.learned_days and sv["days"] == ref.days
        assert sv["n_held"] == len(ref.held)
        np.testing.assert_allclose(sv["absence_limit"], ref.abs_limit, rtol=1e-12)
        np.testing.assert_allclose([sv["absence_limit_weekday"], sv["absence_limit_weekend"]],
                                   [ref.abs_limits[0][0], ref.abs_limits[1][0]], rtol=1e-12)
        due, limit, rule = ref.inactivity()
        np.testing.assert_allclose([sv["inactivity_due"], sv["inactivity_limit"], sv["inactivity_rule"]],
                                   [due, limit, rule], rtol=1e-12, equal_nan=True)
        np.testing.assert_allclose(sv["inactivity_latched"], ref.inact_latched, equal_nan=True)
        np.testing.assert_allclose(sv["absence_latched"], ref.abs_latched, equal_nan=True)
    sens = state["sens"]
    i = {n: j for j, n in enumerate(SENS_FIELDS)}
    for s in range(sens.shape[0]):
        assert (not math.isnan(sens[s, i["held_since"]])) == (s in ref.held)
        np.testing.assert_allclose(sens[s, i["held_limit"]], ref.held_limit[s], rtol=1e-12)
        np.testing.assert_allclose(sens[s, i["held_latched"]], ref.held_latched.get(s, NAN), equal_nan=True)
        app = ref.appliances[s]
        np.testing.assert_allclose(sens[s, i["standby_watts"]], app.base, rtol=1e-12, equal_nan=True)
        np.testing.assert_allclose([sens[s, i["app_session_start"]], sens[s, i["app_use_watts"]],
                                    sens[s, i["app_session_varied"]]],
                                   [app.session_start, app.use_w, app.varied], rtol=1e-12, equal_nan=True)
        if not math.isnan(app.session_start):
            np.testing.assert_allclose(sens[s, i["app_session_limit"]], app.session_limit, rtol=1e-12)
        np.testing.assert_allclose(state["held_hist"][s], ref.held_hist[s], rtol=1e-12, atol=1e-300)
        assert sens[s, i["fault"]] == ref.fault[s] and bool(sens[s, i["pulses"]]) == ref.pulses[s]
        np.testing.assert_allclose(sens[s, i["on_days"]], ref.on_days[s], rtol=1e-12)
        np.testing.assert_allclose(sens[s, i["fault_since"]], ref.fault_since[s], equal_nan=True)
    if ref.started:
        assert sv["stray_sensor"] == ref.stray[0] and sv["quiet_origin"] == ref.quiet_origin
        assert bool(sv["came_in"]) == ref.came_in


# ============================================================== random inputs
SENSOR_KINDS = [Kind.MOTION, Kind.MOTION, Kind.PRESENCE, Kind.DOOR, Kind.ENTRANCE, Kind.APPLIANCE, Kind.BUTTON,
                Kind.PRESENCE]


@st.composite
def streams(draw, max_events=120):
    """Random event logs over a few days: bursts, long silences, clock jumps, all kinds."""
    n = draw(st.integers(0, max_events))
    gaps = draw(st.lists(st.one_of(st.floats(0, 120), st.floats(60, 7200), st.floats(3600, 30 * 3600)),
                         min_size=n, max_size=n))
    which = draw(st.lists(st.integers(0, len(SENSOR_KINDS) - 1), min_size=n, max_size=n))
    values = draw(st.lists(st.sampled_from([0.0, 1.0, 0.5, 3.0, 80.0, 2000.0]), min_size=n, max_size=n))
    jumps = draw(st.lists(st.sampled_from([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3600.0, -3600.0, 86400.0]),
                          min_size=n, max_size=n))
    start = draw(st.floats(1.6e9, 1.7e9))
    offset = draw(st.sampled_from([0.0, 3600.0, -5 * 3600.0]))
    mono, local, kind, sensor, value = [], [], [], [], []
    t = start
    for g, w, v, j in zip(gaps, which, values, jumps):
        t += g
        offset += j
        k = SENSOR_KINDS[w]
        if k in (Kind.MOTION, Kind.PRESENCE, Kind.DOOR, Kind.ENTRANCE):
            v = 1.0 if v >= 1.0 else 0.0
        mono.append(t)
        local.append(t + offset)
        kind.append(int(k))
        sensor.append(w)
        value.append(v)
    return EventBatch(np.array(mono, dtype=float), np.array(local, dtype=float), np.array(kind, dtype=np.int64),
                      np.array(sensor, dtype=np.int64), np.array(value, dtype=float),
                      tuple(f"s{i}_{k.label}" for i, k in enumerate(SENSOR_KINDS)))


def kasteren(path: str) -> EventBatch:
    with open(path) as fh:
        return EventBatch.from_events(read_events(fh))


# ============================================================== small kernels
def test_kernel_vector_follows_layout():
    p = DetectorParams()
    pv = p.kernel_vector()
    assert len(pv) == len(KERNEL_LAYOUT)
    named = dict(zip(KERNEL_LAYOUT, pv))
    assert named["slot_seconds"] == 1800 and named["safety_seconds"] == 12 * 3600
    assert named["away_confirm_seconds"] == p.away_confirm_minutes * 60
    assert named["appliance_margin_watts"] == p.appliance_margin_watts  # read as pv[24] by step_event
    assert KERNEL_LAYOUT.index("away_confirm_seconds") == 12 and KERNEL_LAYOUT.index("appliance_tau_seconds") == 25
    unpacked = list(kernels.unpack_params(pv))  # the first parameters; later ones are read by named index
    assert unpacked == list(pv[:len(unpacked)])
    assert named["prior_decay"] == pv[kernels.P_PRIOR_DECAY] == 0.5 ** (1 / p.prior_half_life_days)
    assert pv[kernels.P_APP_VARY_WATTS] == p.appliance_vary_watts
    assert pv[kernels.P_APP_SESSION_COLD] == p.appliance_session_cold_hours * 3600


def test_kind_codes_match_events():
    assert [int(Kind.MOTION), int(Kind.PRESENCE), int(Kind.DOOR), int(Kind.ENTRANCE), int(Kind.APPLIANCE),
            int(Kind.BUTTON)] == [0, 1, 2, 3, 4, 5]


@SETTINGS
@given(st.lists(st.floats(-10, 1e6, allow_nan=False), min_size=1, max_size=30), st.integers(16, 40))
def test_bin_index(xs, bins):
    edges = DetectorParams(hist_bins=bins).bin_edges()
    for x in list(xs) + list(edges) + [math.nan, 1e12]:
        assert kernels.bin_index(x, edges) == ref_bin_index(x, edges)


@SETTINGS
@given(st.lists(st.sampled_from([0.0, 0.0, 0.3, 1.0, 2.5]), min_size=16, max_size=16), st.floats(0.0, 1.0))
def test_hist_quantile(row, q):
    edges = DetectorParams(hist_bins=16).bin_edges()
    got = kernels.hist_quantile(np.array(row), edges, q)
    np.testing.assert_allclose(got, ref_hist_quantile(row, edges, q), rtol=1e-12, equal_nan=True)


hist_rows = st.lists(st.lists(st.sampled_from([0.0, 0.0, 0.0, 0.2, 1.0, 3.0]), min_size=16, max_size=16),
                     min_size=24, max_size=24)


@SETTINGS
@given(hist_rows, st.floats(0.5, 0.99), st.floats(0.0, 3.0), st.floats(0.5, 8.0), st.integers(0, 13),
       st.integers(0, 3), st.booleans())
def test_slot_thresholds(hist, q, robust, min_w, pool, drift, learned):
    p = DetectorParams(hist_bins=16, slot_minutes=60)
    edges = p.bin_edges()
    thr = np.zeros((2, 24))
    args = (q, robust, min_w, pool, drift, 1.2, 600.0, 1800.0, 9 * 3600.0, 10 * 3600.0)
    kernels.slot_thresholds(np.array(hist), edges, *args, learned, thr)
    values, rules = ref_slot_thresholds(hist, edges, *args, learned)
    np.testing.assert_allclose(thr[0], values, rtol=1e-12)
    np.testing.assert_array_equal(thr[1], rules)


@SETTINGS
@given(st.lists(st.sampled_from([0.0, 0.5, 1.0]), min_size=16, max_size=16), st.floats(0.5, 0.99),
       st.floats(0.0, 6.0), st.floats(0.0, 3.0))
def test_duration_limit(row, q, min_count, robust):
    edges = DetectorParams(hist_bins=16).bin_edges()
    got = kernels.duration_limit(np.array(row), edges, q, robust, 1.5, 600.0, min_count, 3600.0, 30 * 3600.0)
    want = ref_duration_limit(row, edges, q, robust, 1.5, 600.0, min_count, 3600.0, 30 * 3600.0)
    np.testing.assert_allclose(got, want, rtol=1e-12)


@SETTINGS
@given(st.floats(-3 * DAY, 2 * DAY), st.floats(0, 3 * DAY), st.floats(0, 2 * DAY), st.booleans(),
       st.sampled_from([600.0, 1800.0, 3600.0]))
def test_accumulate_home(a_rel, length, back, zero, slot):
    day_start = 19000 * DAY
    n = int(DAY // slot)
    a = day_start + a_rel
    b = a + length
    origin = a - back
    cur = np.zeros((2, n))
    cur[0, :] = np.linspace(0, 5000, n)
    ref_max, ref_home = list(cur[0]), list(cur[1])
    kernels.accumulate_home(cur, day_start, a, b, origin, zero, slot)
    ref_accumulate(ref_max, ref_home, day_start, a, b, origin, zero, slot)
    np.testing.assert_allclose(cur[0], ref_max, rtol=1e-12)
    np.testing.assert_allclose(cur[1], ref_home, rtol=1e-12, atol=1e-9)


DAY_LIMITS = st.lists(st.floats(60.0, 30 * 3600.0), min_size=24, max_size=24)


@pytest.mark.parametrize("kernel, reference", [(kernels.first_crossing, ref_first_crossing),
                                               (kernels.remaining_deadline, ref_remaining_deadline)])
@SETTINGS
@given(DAY_LIMITS, st.floats(1.6e9, 1.7e9), st.floats(-7200, 7200))
def test_deadline_kernels_match_their_references(kernel, reference, limits, origin_local, offset):
    origin_mono = origin_local + offset
    due, k = kernel(origin_mono, origin_local, np.array(limits), 3600.0)
    want_due, want_k = reference(origin_mono, origin_local, list(limits), 3600.0)
    assert k == want_k
    np.testing.assert_allclose(due, want_due, rtol=1e-15)
    # both wait at least the smallest limit; the remaining rule never longer than the origin slot's
    assert due - origin_mono >= min(limits) - 1e-6
    if kernel is kernels.remaining_deadline:
        assert due - origin_mono <= limits[int((origin_local // 3600.0) % 24)] + 1e-6


@SETTINGS
@given(st.floats(0, 3 * DAY), st.floats(0, 30 * 3600.0), st.booleans(), st.sampled_from([1800.0, 3600.0]))
def test_record_remaining(a_rel, length, zero, slot):
    day = 19_700.0
    n = int(DAY // slot)
    a = (day - 1.5) * DAY + a_rel  # from half a day before yesterday to past today
    b = a + length
    cur = np.full((4, n), np.nan)
    cur[2, ::3] = 1000.0  # some silences seen already
    ref = RefDetector(DetectorParams(slot_minutes=int(slot // 60)), [])
    ref.day = day
    ref.rest_yesterday, ref.rest_today = list(cur[2]), list(cur[3])
    kernels.record_remaining(cur, day, a, b, zero, slot)
    ref.record_remaining(a, b, zero)
    np.testing.assert_allclose(cur[2], ref.rest_yesterday, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(cur[3], ref.rest_today, rtol=1e-12, equal_nan=True)
    assert np.all(np.isnan(cur[:2]))  # rows of the elapsed rule untouched


def test_remaining_rule_decides_some_alarms_on_real_and_random_logs(real_log):
    """Not vacuous: the remaining-silence rule is the earlier one for some silences."""
    def remaining_wins(p, batch):
        ref, wins = RefDetector(p, list(batch.sensors)), 0
        for t, lc, k, s, v in zip(batch.mono, batch.local, batch.kind, batch.sensor, batch.value):
            ref.feed(float(t), float(lc), int(k), int(s), float(v))
            if ref.home_free():
                due, _ = ref_first_crossing(ref.last, ref.last_loc, ref.thr, ref.slot)
                wins += ref.inactivity()[0] < due
        return wins
    assert remaining_wins(DetectorParams(), kasteren(real_log)) > 100
    assert sum(remaining_wins(FAST, _stream(np.random.default_rng(seed))) for seed in range(5)) > 0


@SETTINGS
@given(DAY_LIMITS, st.floats(1.6e9, 1.7e9), st.floats(-7200, 7200))
def test_first_crossing_is_the_first_moment_over_the_threshold(thr, origin_local, offset):
    slot = 3600.0
    thr = np.array(thr)
    origin_mono = origin_local + offset
    due, _ = kernels.first_crossing(origin_mono, origin_local, thr, slot)
    # the defining property: at `due` the silence reaches the threshold of that moment's slot,
    # and at no earlier sampled moment did it
    def over(t, tol):
        local = origin_local + (t - origin_mono)
        return t - origin_mono >= thr[int((local // slot) % 24)] - tol
    assert over(due, 1e-6)  # float rounding of mono + elapsed
    for t in np.linspace(origin_mono, due, 400)[:-1]:
        assert not over(t, -1e-6) or t >= due - 1e-6


@SETTINGS
@given(st.lists(st.tuples(st.floats(0, 7200), st.sampled_from([0.0, 0.4, 1.0, 6.0, 40.0, 90.0, 2000.0])),
                min_size=1, max_size=40))
def test_appliance_active(readings):
    sens = np.full((1, len(SENS_FIELDS)), np.nan)
    sens[0, SENS_FIELDS.index("appliance_on")] = 0.0
    ref = RefAppliance()
    t = 1.7e9
    for gap, w in readings:
        t += gap
        assert kernels.appliance_active(sens, 0, t, w, 15.0, 3600.0) == ref.reading(t, w, 15.0, 3600.0)
        np.testing.assert_allclose(sens[0, 5], ref.base, rtol=1e-12)


@SETTINGS
@given(st.lists(st.floats(0, 5e4), max_size=60), st.floats(0, 1000), st.sampled_from([60.0, 3600.0]),
       st.integers(1, 30))
def test_bin_counts(times, t0, width, n):
    times = np.sort(np.array(times, dtype=float))
    want = [0.0] * n
    for x in times:
        for b in range(n):
            if t0 + b * width <= x < t0 + (b + 1) * width:
                want[b] += 1
    np.testing.assert_array_equal(kernels.bin_counts(times, t0, width, n), want)


@SETTINGS
@given(st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0]), min_size=4, max_size=48), st.integers(1, 10),
       st.booleans())
def test_cyclic_extreme_window(profile, width, lowest):
    width = min(width, len(profile))
    doubled = list(profile) + list(profile)  # the cyclic profile, as pyActigraphy concatenates it
    sums = [sum(doubled[i:i + width]) for i in range(len(profile))]
    pick = min(sums) if lowest else max(sums)
    start = sums.index(pick)
    got_start, got_mean = kernels.cyclic_extreme_window(np.array(profile), width, lowest)
    assert got_start == start
    np.testing.assert_allclose(got_mean, pick / width, rtol=1e-12)


# ============================================================== the event step
@SETTINGS
@given(streams())
def test_scan_matches_reference_on_random_streams(batch):
    state, records = run_kernel(FAST, batch)
    assert_same(state, records, run_reference(FAST, batch))


@st.composite
def priors(draw, p=FAST):
    """Random population priors for ``p``: sparse rows (slots or day types without data), any shape."""
    n, nb = p.slots_per_day, p.hist_bins
    weights = st.lists(st.sampled_from([0.0, 0.0, 0.0, 0.1, 1.0, 3.0]), min_size=nb, max_size=nb)
    rows = [draw(weights) for _ in range(2 * n + 2)]
    return Prior(p.slot_minutes, np.array(rows[:n]), np.array(rows[n:2 * n]), np.array(rows[2 * n:]), ("random",))


@SETTINGS
@given(streams(), priors())
def test_scan_matches_reference_with_a_prior(batch, prior):
    """The prior's pseudo-days, their fading and the absence floor, as the reference spells them out."""
    state, records = run_kernel(FAST, batch, prior)
    assert_same(state, records, run_reference(FAST, batch, prior))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams(max_events=60))
def test_scan_matches_reference_with_default_params(batch):
    p = DetectorParams()
    state, records = run_kernel(p, batch)
    assert_same(state, records, run_reference(p, batch))


@pytest.mark.parametrize("params", [DetectorParams(), FAST], ids=["default", "fast"])
def test_scan_matches_reference_on_real_log(params, real_log):
    batch = kasteren(real_log)
    state, records = run_kernel(params, batch)
    ref = run_reference(params, batch)
    assert_same(state, records, ref)
    assert len(ref.records) > 10  # the real month has absences and alarms to compare


def test_scan_matches_reference_on_the_mat_home():
    """House B: flickering and stuck bed mats, pulse-only chair mats, stray PIRs while out."""
    batch = kasteren(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                  "benchmarks", "data", "kasteren_b.csv"))
    state, records = run_kernel(DetectorParams(), batch)
    ref = run_reference(DetectorParams(), batch)
    assert_same(state, records, ref)
    assert 4 in {r[0] for r in ref.records} and any(ref.pulses)  # stuck mats reported, a chair mat pulses


@SETTINGS
@given(streams())
def test_scan_resumes_when_output_is_full(batch):
    """The bulk path fills a small output buffer, returns, and continues where it stopped."""
    whole_state, whole = run_kernel(FAST, batch)
    s = fresh_arrays(FAST, len(batch.sensors))
    out = np.empty((len(batch.sensors) + 5, 7))
    i, parts = 0, []
    while i < len(batch):
        i, n = kernels.scan(batch.mono, batch.local, batch.kind, batch.sensor, batch.value, i, FAST.kernel_vector(),
                            FAST.bin_edges(), s["sv"], s["sens"], s["cur"], s["hist"], s["thr"], s["abs_hist"],
                            s["held_hist"], s["acto"], out)
        parts.extend(out[:n].copy())
    np.testing.assert_array_equal(np.array(parts).reshape(-1, 7), whole)
    np.testing.assert_array_equal(s["sv"], whole_state["sv"])


@SETTINGS
@given(streams())
def test_refresh_dues_recomputes_what_the_step_stored(batch):
    state, _ = run_kernel(FAST, batch)
    sv, sens = state["sv"].copy(), state["sens"].copy()
    for i in ("inactivity_due", "absence_due"):
        sv[SV_FIELDS.index(i)] = -1.0  # garbage that refresh must overwrite
    sens[:, SENS_FIELDS.index("held_due")] = -1.0
    kernels.refresh_dues(FAST.kernel_vector(), sv, sens, state["thr"])
    for name in ("inactivity_due", "inactivity_limit", "inactivity_rule"):
        i = SV_FIELDS.index(name)
        np.testing.assert_allclose(sv[i], state["sv"][i], equal_nan=True)
    j = SENS_FIELDS.index("held_due")
    np.testing.assert_allclose(sens[:, j], state["sens"][:, j], equal_nan=True)
    i = SV_FIELDS.index("absence_due")
    np.testing.assert_allclose(sv[i], state["sv"][i], equal_nan=True)


# ============================================================== backtest kernels
def ref_cut_detections(p, batch, cuts, fixed):
    """Replay to each cut with the reference, release held sensors at the cut, read the first finding."""
    out = []
    for t0 in cuts:
        ref = RefDetector(p, list(batch.sensors))
        for t, lc, k, s, v in zip(batch.mono, batch.local, batch.kind, batch.sensor, batch.value):
            if t > t0:
                break
            ref.feed(float(t), float(lc), int(k), int(s), float(v))
        if not ref.started:
            out.append([math.inf] * (1 + len(fixed)))
            continue
        held = bool(ref.held)
        row = [0.0] + [t0 + f if held else max(t0, ref.last + f) for f in fixed]
        loc0 = ref.last_loc + (t0 - ref.last)
        for s in sorted(ref.held):
            ref.feed(t0, loc0, int(Kind.PRESENCE), s, 0.0)
        row[0] = ref.first_finding(t0)
        out.append(row)
    return np.array(out).reshape(-1, 1 + len(fixed))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams(max_events=80), st.lists(st.floats(0, 1), min_size=1, max_size=6))
def test_cut_detections_match_reference(batch, fractions):
    if len(batch) == 0:
        return
    lo, hi = batch.mono[0] - 100, batch.mono[-1] + 3600
    cuts = np.sort(lo + np.array(fractions) * (hi - lo))
    fixed = np.array([6 * 3600.0, 12 * 3600.0])
    s = fresh_arrays(FAST, len(batch.sensors))
    got = kernels.cut_detections(batch.mono, batch.local, batch.kind, batch.sensor, batch.value,
                                 FAST.kernel_vector(), FAST.bin_edges(), s["sv"], s["sens"], s["cur"], s["hist"],
                                 s["thr"], s["abs_hist"], s["held_hist"], s["acto"], cuts, fixed)
    np.testing.assert_allclose(got, ref_cut_detections(FAST, batch, cuts, fixed), rtol=1e-12)


def test_cut_detections_match_reference_on_real_log(real_log):
    batch = kasteren(real_log)
    cuts = np.sort(np.random.default_rng(3).uniform(batch.mono[0] + 8 * DAY, batch.mono[-1], 12))
    fixed = np.array([12 * 3600.0])
    p = DetectorParams()
    s = fresh_arrays(p, len(batch.sensors))
    got = kernels.cut_detections(batch.mono, batch.local, batch.kind, batch.sensor, batch.value,
                                 p.kernel_vector(), p.bin_edges(), s["sv"], s["sens"], s["cur"], s["hist"],
                                 s["thr"], s["abs_hist"], s["held_hist"], s["acto"], cuts, fixed)
    np.testing.assert_allclose(got, ref_cut_detections(p, batch, cuts, fixed), rtol=1e-12)


@SETTINGS
@given(streams())
def test_classify_events(batch):
    active, held_after = kernels.classify_events(batch.kind, batch.sensor, batch.value, batch.mono,
                                                 len(batch.sensors), 15.0, 3600.0)
    apps = {}
    held = set()
    for i, (t, k, s, v) in enumerate(zip(batch.mono, batch.kind, batch.sensor, batch.value)):
        k = Kind(int(k))
        if k in (Kind.MOTION, Kind.BUTTON):
            want = v > 0
        elif k == Kind.APPLIANCE:
            want = apps.setdefault(s, RefAppliance()).reading(t, v, 15.0, 3600.0)
        else:
            want = True
        if k == Kind.PRESENCE:
            (held.add if v > 0 else held.discard)(s)
        assert active[i] == want
        assert held_after[i] == len(held)


@SETTINGS
@given(streams(), st.sampled_from([3600.0, 6 * 3600.0, 12 * 3600.0]))
def test_fixed_timer_episodes_match_the_fixed_timer_detector(batch, limit):
    """The kernel against hubd's own FixedTimerDetector driven event by event (no appliances:
    the base detector knows no learned standby)."""
    keep = batch.kind != int(Kind.APPLIANCE)
    batch = EventBatch(batch.mono[keep], batch.local[keep], batch.kind[keep], batch.sensor[keep],
                       batch.value[keep], batch.sensors)
    active, held_after = kernels.classify_events(batch.kind, batch.sensor, batch.value, batch.mono,
                                                 len(batch.sensors), 15.0, 3600.0)
    got = kernels.fixed_timer_episodes(batch.mono, active, held_after, limit)
    eps = feed(FixedTimerDetector(limit), batch.events())
    want = np.array([[e.start_mono, math.nan if e.end_mono is None else e.end_mono] for e in eps]).reshape(-1, 2)
    np.testing.assert_allclose(got, want, equal_nan=True)


def test_references_are_not_vacuous():
    """Busy random streams do reach alarms, not_returned, stayed_in_place and absences."""
    kinds = {r[0] for seed in range(10) for r in run_reference(FAST, _stream(np.random.default_rng(seed))).records}
    assert {0, 1, 2, 3, 4} <= kinds


def test_appliance_references_are_not_vacuous():
    """Busy random streams reach the appliance rules: use that counts while the appliance stays on,
    and switch-ons that do not count because the device switched on around the clock."""
    class Counting(RefDetector):
        used = suppressed = 0

        def appliance_sign_of_life(self, t, loc, s, w):
            was_on = self.appliances[s].on
            counted = super().appliance_sign_of_life(t, loc, s, w)
            Counting.used += counted == "in use"
            Counting.suppressed += counted is None and self.appliances[s].on and not was_on
            return counted

    for seed in range(10):
        batch = _stream(np.random.default_rng(seed))
        ref = Counting(FAST, list(batch.sensors))
        for t, lc, k, s, v in zip(batch.mono, batch.local, batch.kind, batch.sensor, batch.value):
            ref.feed(float(t), float(lc), int(k), int(s), float(v))
    assert Counting.used > 0 and Counting.suppressed > 0


def _stream(rng) -> EventBatch:
    """A deterministic busy random stream (used to show the references reach every rule)."""
    n = 400
    gaps = rng.choice([5.0, 300.0, 3000.0, 4 * 3600.0, 14 * 3600.0], n, p=[0.4, 0.3, 0.15, 0.1, 0.05])
    mono = 1.7e9 + np.cumsum(gaps)
    which = rng.integers(0, len(SENSOR_KINDS), n)
    kind = np.array([int(SENSOR_KINDS[w]) for w in which])
    value = np.where(rng.random(n) < 0.5, 1.0, 0.0)
    value[kind == int(Kind.APPLIANCE)] = rng.choice([0.5, 80.0, 2000.0], int(np.sum(kind == int(Kind.APPLIANCE))))
    return EventBatch(mono, mono.copy(), kind, which.astype(np.int64), value,
                      tuple(f"s{i}" for i in range(len(SENSOR_KINDS))))
