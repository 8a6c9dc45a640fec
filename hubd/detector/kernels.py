"""Numba kernels of the learned detector: pure functions of arrays and scalars.

Everything the detector decides is computed here, once, so that the daemon (one event
at a time), ``hubd replay`` (all events in one call) and the backtest take exactly the
same decisions. No globals but the state layout (``SV_*``, ``SE_*``: ints numba folds);
parameters arrive as arguments; state lives in the arrays the caller owns (and persists). Each kernel has a slow, obvious reference in
``tests/test_kernels.py`` that it must match.

Conventions
-----------
* An integer or boolean constant that reaches another kernel's argument is written
  ``np.int64(0)`` / ``np.bool_(False)``: numba compiles a callee once more for a literal
  argument type (``Literal[int](0)``), also for a counter that starts at a constant and is
  passed on in a loop (its first inferred type is the literal). That doubled
  ``step_event``'s compile in ``scan``.
* Times: ``mono`` seconds measure durations; ``local`` seconds (since 1970, local wall
  time) tell the time of day. Inside a gap, local time advances with mono from the
  activity that opened the gap.
* Kind codes follow ``hubd.events.Kind``: 0 motion, 1 presence, 2 door, 3 entrance,
  4 appliance, 5 button.
* Parameter vector ``pv``: the order of ``params.KERNEL_LAYOUT`` (read by
  :func:`unpack_params`; ``step_event`` reads pv[0], pv[12], pv[24], pv[25] directly; later parameters
  are read through named indices such as ``P_APP_VARY_WATTS``).
* Scalar state ``sv`` (float64[34], indexed by the ``SV_*`` constants below); NaN means "none":
   0 started, 1 last activity mono (the gap's origin), 2 its local time, 3 current
   local day index, 4 mono up to which home time is accounted, 5 pending (entrance
   seen, no inside activity since), 6 first entrance of the pending run, 7 last
   entrance, 8 run confirmed away, 9 start of the run's last entrance cluster,
   10 number of presence sensors held, 11 learned days, 12 inactivity due (mono),
   13 its threshold, 14 its rule, 15 inactivity latched since (mono), 16 absence
   limit, 17 not_returned due, 18 not_returned latched since, 19 absence limit
   learned (0/1), 20 days finalised, 21-22 absence limit and learned flag when
   not_returned latched, 23 returning (an entrance event at least the confirmation window
   after the previous one while out: probably back home, no inside activity yet),
   24-27 not_returned limit and learned flag of an absence begun on a weekday / a weekend
   day, 28 local day the current absence began (its day type sets its limit), 29 the last
   sign of life other than an appliance in use (mono; how long a screen alone may stand for
   the resident counts from it), 30 quiet origin (the pulse sensor whose event began the silence,
   -1: none), 31-32 the stray (an uncorroborated inside event while out: sensor or -1, mono),
   33 came in (1: back through an entrance that still reads open; its closing is part of the return),
   34 sensors reading inverted (the checks of holds against activity elsewhere run only while
   something is held or inverted).
* Per-sensor table ``sens`` (float64[n_sensors, len(SENS_FIELDS)], columns ``SE_*``): 0 held since, 1 stayed due,
  2 hold limit, 3 stayed latched since, 4 hold limit learned (0/1), 5 appliance
  standby baseline, 6 appliance on (0/1), 7 last appliance reading mono, 8 its watts,
  9 today's longest completed hold (learned at the day's end), 10-11 hold limit and
  learned flag when stayed_in_place latched, 12 appliance session start (mono; NaN: off),
  13 how far into that session use counts, 14 learned in-use watts, 15 mask of the clock
  hours it ended a plain cycle in today, 16 that local day, 17 the previous day's mask, 18
  first reading (mono), 19 varying readings in the current session, 20 its floor (the
  standby when it began: the session lasts until the draw falls back near it). A power
  sensor's row of ``held_hist`` holds its session lengths. Sensor trust: 21 raw ON since
  (presence), 22 today's longest ON (NaN: none), 23-24 decayed days with an ON / with an ON >=
  a pulse, 25 pulses (0/1), 26 fault (0 trusted, 1 stuck, 2 inverted), 27 fault since, 28 fault
  decided (mono), 29-31 first other contact used during the hold, its sensor, a second contact
  seen (0/1), 32 entrance reading open since, 33 when it last read ON with the resident away
  (mono; 40: the time before, restored if that was a radio-order race), 34 its current
  raw ON contradicted while it reads inverted (0/1), 35 uncontradicted ONs in a row since it was
  found inverted, 36-39 first motion elsewhere during the hold, its sensor, a second motion
  sensor, a third seen (0/1). For a pulse sensor, ``longest_hold_today`` and its
  ``held_hist`` row hold the longest silence after its events.
* ``cur`` (float64[4, slots]): today's maximum at-home inactivity per slot (row 0),
  today's at-home seconds per slot (1), and the longest silence *remaining* from each
  slot of yesterday (2) and of today (3) (NaN: no silence at home seen there).
  ``hist`` (4 slots x bins): decayed histograms of the daily per-slot maxima of the
  elapsed silence (rows 0..slots-1) and of the remaining silence (rows slots..2 slots-1),
  then the population prior's pseudo-days for both (rows 2 slots..; fixed, see
  :func:`learned_limits`); ``abs_hist`` (4 x bins): absence durations of absences begun on
  weekdays (row 0) and weekends (1), then the prior's (2, 3); ``held_hist`` per sensor;
  all over ``edges``.
  ``thr`` (4 x slots): elapsed-silence threshold seconds and rule per slot (rows 0, 1;
  rule 0 learned, 1 cold_start, 2 safety_net), remaining-silence limits and rules
  (rows 2, 3).
  ``acto`` (days x slots): activity counts of the last days (ring by day index).
* Episode records ``out`` (rows of 7): type (0 inactivity, 1 not_returned,
  2 stayed_in_place, 3 away interval in hindsight, 4 sensor_fault), sensor id or -1,
  since, limit, start, end, rule (for 4: the fault code).

Two learned rules judge a silence; the earlier one fires. *Elapsed*: the silence so far
against the longest silence normally still running at this time of day. *Remaining*:
a silence running at a slot (or begun in it) must normally end within that slot's
learned remaining silence after it; this one knows that a silence begun at 20:00 is
not yet sleep, which the elapsed rule cannot tell until the morning. The remaining
silence of a slot is known only once the silence ends, so each day is learned one day
late.

A finding *latches*: once its due time has passed it holds until the event that ends
it (activity, return, release), with the limit it fell due under, even if a later day's
learning moves the limit.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .params import KERNEL_LAYOUT

# ------------------------------------------------------------------- state layout
# Field names of the scalar state ``sv`` and the per-sensor table ``sens`` (see the docstring), and
# their indices as module-level ints, which numba folds into the kernels as constants.
SV_FIELDS = (
    "started", "last_mono", "last_local", "day", "accounted_mono", "pending", "run_first_mono", "run_last_mono",
    "run_confirmed", "run_cluster_mono", "n_held", "learned_days", "inactivity_due", "inactivity_limit",
    "inactivity_rule", "inactivity_latched", "absence_limit", "absence_due", "absence_latched", "absence_learned",
    "days", "absence_latched_limit", "absence_latched_learned", "returning",
    "absence_limit_weekday", "absence_learned_weekday", "absence_limit_weekend", "absence_learned_weekend",
    "absence_day", "attended_mono",
    "quiet_origin", "stray_sensor", "stray_mono", "came_in", "n_inverted",
)
SENS_FIELDS = (
    "held_since", "held_due", "held_limit", "held_latched", "held_learned", "standby_watts", "appliance_on",
    "last_reading_mono", "last_reading_watts", "longest_hold_today", "held_latched_limit", "held_latched_learned",
    "app_session_start", "app_session_limit", "app_use_watts", "app_hours_mask", "app_hours_day", "app_hours_prev",
    "app_first_mono", "app_session_varied", "app_session_floor",
    "on_since", "longest_on_today", "on_days", "long_days", "pulses", "fault", "fault_since", "fault_start",
    "other_first", "other_sensor", "other_two", "open_since", "away_on_mono", "on_contradicted", "good_ons",
    "move_first", "move_a", "move_b", "move_three", "away_on_prev",
)
(SV_STARTED, SV_LAST_MONO, SV_LAST_LOCAL, SV_DAY, SV_ACCOUNTED_MONO, SV_PENDING, SV_RUN_FIRST_MONO,
    SV_RUN_LAST_MONO, SV_RUN_CONFIRMED, SV_RUN_CLUSTER_MONO, SV_N_HELD, SV_LEARNED_DAYS, SV_INACTIVITY_DUE,
    SV_INACTIVITY_LIMIT, SV_INACTIVITY_RULE, SV_INACTIVITY_LATCHED, SV_ABSENCE_LIMIT, SV_ABSENCE_DUE,
    SV_ABSENCE_LATCHED, SV_ABSENCE_LEARNED, SV_DAYS, SV_ABSENCE_LATCHED_LIMIT, SV_ABSENCE_LATCHED_LEARNED,
    SV_RETURNING, SV_ABSENCE_LIMIT_WEEKDAY, SV_ABSENCE_LEARNED_WEEKDAY, SV_ABSENCE_LIMIT_WEEKEND,
    SV_ABSENCE_LEARNED_WEEKEND, SV_ABSENCE_DAY, SV_ATTENDED_MONO, SV_QUIET_ORIGIN, SV_STRAY_SENSOR,
    SV_STRAY_MONO, SV_CAME_IN, SV_N_INVERTED) = range(len(SV_FIELDS))
(SE_HELD_SINCE, SE_HELD_DUE, SE_HELD_LIMIT, SE_HELD_LATCHED, SE_HELD_LEARNED, SE_STANDBY_WATTS,
    SE_APPLIANCE_ON, SE_LAST_READING_MONO, SE_LAST_READING_WATTS, SE_LONGEST_HOLD_TODAY, SE_HELD_LATCHED_LIMIT,
    SE_HELD_LATCHED_LEARNED, SE_APP_SESSION_START, SE_APP_SESSION_LIMIT, SE_APP_USE_WATTS, SE_APP_HOURS_MASK,
    SE_APP_HOURS_DAY, SE_APP_HOURS_PREV, SE_APP_FIRST_MONO, SE_APP_SESSION_VARIED,
    SE_APP_SESSION_FLOOR, SE_ON_SINCE, SE_LONGEST_ON_TODAY, SE_ON_DAYS, SE_LONG_DAYS, SE_PULSES, SE_FAULT,
    SE_FAULT_SINCE, SE_FAULT_START, SE_OTHER_FIRST, SE_OTHER_SENSOR, SE_OTHER_TWO, SE_OPEN_SINCE, SE_AWAY_ON_MONO,
    SE_ON_CONTRADICTED, SE_GOOD_ONS, SE_MOVE_FIRST, SE_MOVE_A, SE_MOVE_B, SE_MOVE_THREE,
    SE_AWAY_ON_PREV) = range(len(SENS_FIELDS))
FAULT_STUCK, FAULT_INVERTED = 1.0, 2.0  # SE_FAULT codes (0: trusted); model.FAULT_REASONS names them
# A fault is shown this long after it was decided: a mat's release that reaches the hub just
# after the door event (same second, radio order) is no fault to report.
FAULT_SHOW_AFTER_S = 60.0

# parameters of the sensor-trust rules, read by name (``params.KERNEL_LAYOUT``)
P_SAFETY = KERNEL_LAYOUT.index("safety_seconds")
P_PULSE_MAX = KERNEL_LAYOUT.index("pulse_max_seconds")
P_PULSE_MIN_DAYS = KERNEL_LAYOUT.index("pulse_min_days")
P_STUCK_MIN_HOLD = KERNEL_LAYOUT.index("stuck_min_hold_seconds")
P_STUCK_OTHER = KERNEL_LAYOUT.index("stuck_other_seconds")
P_CORROBORATE = KERNEL_LAYOUT.index("corroborate_seconds")
P_INVERTED_WINDOW = KERNEL_LAYOUT.index("inverted_window_seconds")
P_INVERTED_TRUST = KERNEL_LAYOUT.index("inverted_trust_ons")


# --------------------------------------------------------------------------- parameters
@njit(cache=True)
def unpack_params(pv):
    """The parameter vector as a tuple, in the order of ``params.KERNEL_LAYOUT``."""
    return (
        pv[0], pv[1], pv[2], pv[3], pv[4], pv[5], pv[6], pv[7], pv[8], pv[9], pv[10], pv[11], pv[12],
        pv[13], pv[14], pv[15], pv[16], pv[17], pv[18], pv[19], pv[20], pv[21], pv[22], pv[23], pv[24],
        pv[25], pv[26], pv[27], pv[28],
    )


# parameters appended to params.KERNEL_LAYOUT after the 29 unpacked above, read by name
P_PRIOR_DECAY = KERNEL_LAYOUT.index("prior_decay")


# ------------------------------------------------------------------- robust quantiles
@njit(cache=True)
def bin_index(x, edges):
    """Index b of the histogram bin holding ``x``: edges[b] <= x < edges[b+1], clamped."""
    nb = edges.shape[0] - 1
    if not x >= edges[1]:  # below the first positive edge (or NaN)
        return 0
    if x >= edges[nb - 1]:
        return nb - 1
    lo, hi = 1, nb - 1  # invariant: edges[lo] <= x < edges[hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if edges[mid] <= x:
            lo = mid
        else:
            hi = mid
    return lo


@njit(cache=True)
def hist_quantile(row, edges, q):
    """The q-quantile of a weighted histogram, linear inside the bin; NaN when empty."""
    total = 0.0
    for b in range(row.shape[0]):
        total += row[b]
    if not total > 0.0:
        return np.nan
    target = q * total
    cum = 0.0
    for b in range(row.shape[0]):
        w = row[b]
        if w > 0.0 and cum + w >= target:
            frac = (target - cum) / w
            return edges[b] + frac * (edges[b + 1] - edges[b])
        cum += w
    return edges[row.shape[0]]


@njit(cache=True)
def robust_level(total, q, robust):
    """The quantile level actually used: q, but never so high that the top ``robust``
    days' worth of observations could set it (a single odd day never sets a limit)."""
    if total <= 0.0:
        return q
    return min(q, 1.0 - robust / total)


@njit(cache=True)
def slot_thresholds(hist, edges, q, robust, min_weight, pool, drift, margin_factor, margin_s, floor_s, cold_s,
                    safety_s, learned, thr):
    """Per-slot inactivity thresholds from the learned histograms (writes ``thr``).

    Until ``learned``, every slot takes the cold-start value. A learned slot takes the
    q-quantile of its daily maxima (see :func:`robust_level`); a slot with less than ``min_weight`` effective days
    borrows the neighbouring slots (+-1, +-2, ... up to +-``pool``) until it has enough,
    else it keeps the cold start. Then each slot takes the max over +-``drift``
    neighbours (phase drift, wrapping midnight), times the margin factor plus the margin,
    at least ``floor_s``. Nothing exceeds the safety net.
    """
    n, nb = hist.shape[0], hist.shape[1]
    weight = np.zeros(n)
    for k in range(n):
        for b in range(nb):
            weight[k] += hist[k, b]
    quant = np.full(n, np.nan)
    pooled = np.empty(nb)
    if learned:
        for k in range(n):
            if weight[k] >= min_weight:
                quant[k] = hist_quantile(hist[k], edges, robust_level(weight[k], q, robust))
                continue
            total = weight[k]
            for b in range(nb):
                pooled[b] = hist[k, b]
            for j in range(1, int(pool) + 1):
                for kk in ((k - j) % n, (k + j) % n):
                    total += weight[kk]
                    for b in range(nb):
                        pooled[b] += hist[kk, b]
                if total >= min_weight:
                    quant[k] = hist_quantile(pooled, edges, robust_level(total, q, robust))
                    break
    d = int(drift)
    for k in range(n):
        if math.isnan(quant[k]):
            value, rule = cold_s, 1.0
        else:
            m = quant[k]
            for j in range(1, d + 1):
                if quant[(k - j) % n] > m:
                    m = quant[(k - j) % n]
                if quant[(k + j) % n] > m:
                    m = quant[(k + j) % n]
            value, rule = max(floor_s, m * margin_factor + margin_s), 0.0
        if value > safety_s:
            value, rule = safety_s, 2.0
        thr[0, k] = value
        thr[1, k] = rule


@njit(cache=True)
def duration_limit(row, edges, q, robust, factor, margin_s, min_count, min_s, max_s):
    """A learned limit on a duration (absence, hold): (limit, learned?).

    Before ``min_count`` effective observations the configured maximum applies.
    """
    total = 0.0
    for b in range(row.shape[0]):
        total += row[b]
    if total < min_count:
        return max_s, 0.0
    value = hist_quantile(row, edges, robust_level(total, q, robust)) * factor + margin_s
    return min(max_s, max(min_s, value)), 1.0


# ------------------------------------------------------------- at-home inactivity stats
@njit(cache=True)
def accumulate_home(cur, day_start, a, b, origin, zero_elapsed, slot_s):
    """Add the at-home interval [a, b) (local seconds) to today's per-slot statistics.

    Only the part inside [day_start, day_start + 1 day) counts. Per slot it adds the
    seconds at home and raises the maximum inactivity elapsed since ``origin`` seen in
    the slot (zero while a presence sensor is held).
    """
    lo = max(a, day_start)
    hi = min(b, day_start + 86400.0)
    if not hi > lo:
        return
    n = cur.shape[1]
    k = int((lo - day_start) // slot_s)
    while k < n:
        s_start = day_start + k * slot_s
        if s_start >= hi:
            break
        s_end = s_start + slot_s
        seg_end = min(hi, s_end)
        overlap = seg_end - max(lo, s_start)
        if overlap > 0.0:
            cur[1, k] += overlap
            elapsed = 0.0 if zero_elapsed else seg_end - origin
            if elapsed > cur[0, k]:
                cur[0, k] = elapsed
        k += 1


@njit(cache=True)
def add_observation(row, x, weight, edges):
    row[bin_index(x, edges)] += weight


@njit(cache=True)
def learn_day(cur, hist, thr, abs_hist, held_hist, sens, pv, edges, learned_days, sv):
    """Close a local day: forget a little, learn its per-slot maxima, refresh all limits.

    Only the home's rows of ``hist`` and ``abs_hist`` forget; the prior's rows are fixed
    (their weight falls with the learned days, see :func:`prior_weight`). Returns
    learned_days; the absence limits per day type are written to ``sv``.
    """
    (slot_s, q, day_decay, min_learn_days, learn_min_home, slot_min_w, drift, mfac, msec, floor_s, cold_s,
     safety_s, confirm_s, a_q, a_fac, a_minc, a_min_s, a_max_s, h_q, h_fac, h_msec, h_minc, h_min_s,
     h_max_s, app_margin, app_tau, pool, robust, resid_msec) = unpack_params(pv)
    n = cur.shape[1]
    for k in range(2 * n):
        for b in range(hist.shape[1]):
            hist[k, b] *= day_decay
    for t in range(N_DAY_TYPES):
        for b in range(abs_hist.shape[1]):
            abs_hist[t, b] *= day_decay
    for j in range(held_hist.shape[0]):
        for b in range(held_hist.shape[1]):
            held_hist[j, b] *= day_decay
    home = 0.0
    for k in range(n):
        if cur[1, k] > 0.0:
            add_observation(hist[k], cur[0, k], min(1.0, cur[1, k] / slot_s), edges)
            home += cur[1, k]
        cur[0, k] = 0.0
        cur[1, k] = 0.0
        if not math.isnan(cur[2, k]):  # yesterday's remaining silences are complete now
            add_observation(hist[n + k], cur[2, k], 1.0, edges)
        cur[2, k] = cur[3, k]
        cur[3, k] = np.nan
    if home >= learn_min_home:
        learned_days += 1.0
    learned_limits(hist, thr, abs_hist, pv, edges, learned_days, sv)
    learn_sensor_behaviour(sens, held_hist, day_decay, pv[P_PULSE_MAX], pv[P_PULSE_MIN_DAYS])
    for j in range(sens.shape[0]):
        if sens[j, SE_LONGEST_HOLD_TODAY] >= pv[P_PULSE_MAX]:  # a day of blips says nothing of a stay's length
            add_observation(held_hist[j], sens[j, SE_LONGEST_HOLD_TODAY], 1.0, edges)
        sens[j, SE_LONGEST_HOLD_TODAY] = 0.0
        limit, learned = duration_limit(held_hist[j], edges, h_q, robust, h_fac, h_msec, h_minc, h_min_s, h_max_s)
        sens[j, SE_HELD_LIMIT] = limit
        sens[j, SE_HELD_LEARNED] = learned
    return learned_days


# ------------------------------------------------------ population prior, day types
N_DAY_TYPES = 2  # absences are learned apart on weekdays (0) and weekends (1)


@njit(cache=True)
def day_type(day):
    """0 on a weekday, 1 on Saturday or Sunday, of a local day index (day 0, 1970-01-01, was a Thursday)."""
    return 1 if (math.floor(day) + 3) % 7 >= 5 else 0


@njit(cache=True)
def prior_weight(pv, seen):
    """Factor on the prior's pseudo-observations once the home has ``seen`` of its own."""
    return pv[P_PRIOR_DECAY] ** seen


@njit(cache=True)
def blend_prior(home, prior, w):
    """The home's histogram rows plus the prior's, weighted by ``w`` (a new array)."""
    out = np.empty_like(home)
    for k in range(home.shape[0]):
        for b in range(home.shape[1]):
            out[k, b] = home[k, b] + w * prior[k, b]
    return out


@njit(cache=True)
def absence_limit_of_type(home_row, prior_row, w, edges, q, robust, factor, min_count, min_s, max_s):
    """The not_returned limit of one day type: (limit, learned?).

    Learned from the home's absences blended with the prior's; never below the prior's
    own q-quantile times the margin (the population's long days out, e.g. a working
    day), whatever weight the prior has left. Without a prior: as :func:`duration_limit`.
    """
    nb = home_row.shape[0]
    blend = np.empty(nb)
    for b in range(nb):
        blend[b] = home_row[b] + w * prior_row[b]
    limit, learned = duration_limit(blend, edges, q, robust, factor, 0.0, min_count, min_s, max_s)
    floor = hist_quantile(prior_row, edges, q)
    if not math.isnan(floor):
        limit = min(max_s, max(limit, floor * factor))
    return limit, learned


P_EARLY_MARGIN = KERNEL_LAYOUT.index("early_margin")


@njit(cache=True)
def early_margin_factor(margin_factor, early, learned_days):
    """The inactivity margin factor while few days are learned: raised by ``early / days``
    (a home's first nights say little of its longest normal one), back to the factor as days come."""
    return margin_factor * (1.0 + early / max(1.0, learned_days))


@njit(cache=True)
def learned_limits(hist, thr, abs_hist, pv, edges, learned_days, sv):
    """Refresh every learned limit from the histograms: per-slot inactivity thresholds
    (``thr``) and the absence limit per day type (``sv``).

    ``hist`` rows 0..2n-1 are the home's (elapsed, remaining), rows 2n..4n-1 the prior's
    in the same order; ``abs_hist`` rows 0..1 the home's absences by day type, rows 2..3
    the prior's. The prior enters as pseudo-days whose weight halves with each day the
    home has learned (for absences: with each absence of that day type it has seen). With a prior the slots are learned from the first day (the cold start
    is kept only where neither has data); without one, after ``min_learn_days``.
    """
    (slot_s, q, day_decay, min_learn_days, learn_min_home, slot_min_w, drift, mfac, msec, floor_s, cold_s,
     safety_s, confirm_s, a_q, a_fac, a_minc, a_min_s, a_max_s, h_q, h_fac, h_msec, h_minc, h_min_s,
     h_max_s, app_margin, app_tau, pool, robust, resid_msec) = unpack_params(pv)
    n = thr.shape[1]
    w = prior_weight(pv, learned_days)
    has_prior = False
    for k in range(2 * n, 4 * n):
        for b in range(hist.shape[1]):
            if hist[k, b] > 0.0:
                has_prior = True
    blend = blend_prior(hist[:2 * n], hist[2 * n:], w)
    learned = learned_days >= min_learn_days or has_prior
    mfac = early_margin_factor(mfac, pv[P_EARLY_MARGIN], learned_days)
    slot_thresholds(blend[:n], edges, q, robust, slot_min_w, pool, drift, mfac, msec, floor_s, cold_s, safety_s,
                    learned, thr[0:2])
    slot_thresholds(blend[n:], edges, q, robust, slot_min_w, pool, drift, mfac, resid_msec, floor_s, cold_s,
                    safety_s, learned, thr[2:4])
    for t in range(N_DAY_TYPES):  # absences are rarer than days: their prior fades per absence of the type seen
        seen = 0.0
        for b in range(abs_hist.shape[1]):
            seen += abs_hist[t, b]
        limit, flag = absence_limit_of_type(abs_hist[t], abs_hist[N_DAY_TYPES + t], prior_weight(pv, seen), edges,
                                            a_q, robust, a_fac, a_minc, a_min_s, a_max_s)
        sv[SV_ABSENCE_LIMIT_WEEKDAY + 2 * t] = limit
        sv[SV_ABSENCE_LEARNED_WEEKDAY + 2 * t] = flag


@njit(cache=True)
def absence_limit_for(sv, day):
    """(limit, learned) of not_returned for an absence begun on local day ``day``."""
    t = day_type(day)
    return sv[SV_ABSENCE_LIMIT_WEEKDAY + 2 * t], sv[SV_ABSENCE_LEARNED_WEEKDAY + 2 * t]


# ----------------------------------------------------------------- threshold crossing
@njit(cache=True)
def first_crossing(origin_mono, origin_local, thr_seconds, slot_s):
    """First time t >= origin with (t - origin) >= threshold of the slot holding t.

    The threshold is a step function of the time of day, so within each slot the
    answer is max(slot start, origin + threshold) if that is before the slot's end.
    Returns (mono time, slot index); (inf, -1) if no slot within 4 days qualifies.
    """
    n = thr_seconds.shape[0]
    k_abs = math.floor(origin_local / slot_s)
    for _ in range(4 * n + 1):
        s_start = k_abs * slot_s
        k = int(k_abs % n)
        elapsed = max(thr_seconds[k], s_start - origin_local)  # the earliest silence this slot can judge
        if origin_local + elapsed < s_start + slot_s:
            return origin_mono + elapsed, k
        k_abs += 1
    return np.inf, -1


@njit(cache=True)
def remaining_deadline(origin_mono, origin_local, limits, slot_s):
    """Earliest deadline of the remaining-silence rule for a silence begun at origin.

    The silence is running at every slot from the origin's on; from each slot's start
    (from the origin itself in the first) it may last that slot's limit. Returns
    (mono time, slot index) of the earliest such deadline.
    """
    n = limits.shape[0]
    k_abs = math.floor(origin_local / slot_s)
    best, best_k = np.inf, -1
    for i in range(n + 1):
        s_start = (k_abs + i) * slot_s
        if s_start - origin_local >= best:
            break  # later slots start after the best deadline so far
        k = int((k_abs + i) % n)
        elapsed = max(origin_local, s_start) - origin_local + limits[k]
        if elapsed < best:
            best, best_k = elapsed, k
    return origin_mono + best, best_k


@njit(cache=True)
def inactivity_due(origin_mono, origin_local, thr, slot_s):
    """(due mono, limit, rule) of a silence begun at origin: the earlier of the two rules."""
    due, k = first_crossing(origin_mono, origin_local, thr[0], slot_s)
    due_r, k_r = remaining_deadline(origin_mono, origin_local, thr[2], slot_s)
    if due_r < due:
        return due_r, due_r - origin_mono, thr[3, k_r]
    if k < 0:
        return due, np.nan, np.nan
    return due, thr[0, k], thr[1, k]


@njit(cache=True)
def record_remaining(cur, day, a, b, zero, slot_s):
    """A silence at home [a, b) (local seconds) ended: per slot of yesterday and today,
    raise the longest silence remaining from the slot's start (from ``a`` in its first
    slot); zero while a presence sensor was held (someone was there)."""
    n = cur.shape[1]
    first = (day - 1.0) * n  # absolute index of yesterday's first slot
    k_abs = max(math.floor(a / slot_s), first)
    while k_abs < first + 2 * n:
        s_start = k_abs * slot_s
        if s_start >= b:
            break
        r = 0.0 if zero else b - max(a, s_start)
        row = 2 if k_abs < first + n else 3
        k = int(k_abs - first) % n
        if not cur[row, k] >= r:  # NaN (nothing yet) or shorter
            cur[row, k] = r
        k_abs += 1


# ------------------------------------------------------------------- appliance power
@njit(cache=True)
def appliance_active(sens, s, t, watts, margin, tau):
    """Whether a power reading is someone switching an appliance on (updates ``sens``).

    The standby baseline follows the lowest readings at once and creeps up towards a
    sustained level with time constant ``tau``; use = rising above baseline + margin,
    re-armed only after falling below baseline + margin/2 (hysteresis).
    """
    base = sens[s, SE_STANDBY_WATTS]
    if math.isnan(base):
        base = watts
    else:
        last_t, last_w = sens[s, SE_LAST_READING_MONO], sens[s, SE_LAST_READING_WATTS]
        if last_w > base and t > last_t:
            base += (last_w - base) * (1.0 - math.exp(-(t - last_t) / tau))
        if watts < base:
            base = watts
    active = False
    if sens[s, SE_APPLIANCE_ON] > 0.0:
        if watts < base + 0.5 * margin:
            sens[s, SE_APPLIANCE_ON] = 0.0
    elif watts > base + margin:
        sens[s, SE_APPLIANCE_ON] = 1.0
        active = True
    sens[s, SE_STANDBY_WATTS] = base
    sens[s, SE_LAST_READING_MONO] = t
    sens[s, SE_LAST_READING_WATTS] = watts
    return active


# ------------------------------------------------------- appliances as presence
# A screen, PC or console in use is someone there even when no PIR sees them: while an appliance
# is on, a reading that changes like a person using it is a sign of life. The inactivity limit
# then runs from the last such reading, so a device left on with a steady draw cannot hide a
# collapse. Never counted: use once the appliance has stood alone for the resident far past its
# usual session (a TV left running), readings while the resident is out (something left on), and
# devices that cycle by themselves (fridge, freezer, pump: plain on/off cycles around the clock).
APP_NONE, APP_SWITCHED_ON, APP_IN_USE = 0, 1, 2  # what a power reading showed
P_APP_VARY_WATTS = KERNEL_LAYOUT.index("appliance_vary_watts")
P_APP_VARY_FRACTION = KERNEL_LAYOUT.index("appliance_vary_fraction")
P_APP_LEVEL_TAU = KERNEL_LAYOUT.index("appliance_level_tau_seconds")
P_APP_SESSION_Q = KERNEL_LAYOUT.index("appliance_session_quantile")
P_APP_SESSION_FACTOR = KERNEL_LAYOUT.index("appliance_session_margin_factor")
P_APP_SESSION_MIN_COUNT = KERNEL_LAYOUT.index("appliance_session_min_count")
P_APP_SESSION_MIN = KERNEL_LAYOUT.index("appliance_session_min_seconds")
P_APP_SESSION_MAX = KERNEL_LAYOUT.index("appliance_session_max_seconds")
P_APP_SESSION_COLD = KERNEL_LAYOUT.index("appliance_session_cold_seconds")
P_APP_AUTONOMOUS_HOURS = KERNEL_LAYOUT.index("appliance_autonomous_hours")
P_APP_MARGIN = KERNEL_LAYOUT.index("appliance_margin_watts")
P_APP_STANDBY_TAU = KERNEL_LAYOUT.index("appliance_tau_seconds")
P_ROBUST = KERNEL_LAYOUT.index("robust_days")
APP_WATCH_SECONDS = 86400.0  # a new appliance is watched a whole day (is it a fridge?) before its use counts


@njit(cache=True)
def hours_covered(mask):
    """How many clock hours a 24-bit mask of hours holds."""
    m, n = int(mask), 0
    while m > 0:
        n += m & 1
        m >>= 1
    return n


@njit(cache=True)
def appliance_autonomous(sens, s, loc, plain_cycle_ended, min_hours):
    """Whether an appliance cycles by itself: it ended a *plain* cycle (a session whose
    draw did not vary beyond a start-up surge) in at least ``min_hours`` different clock
    hours of one local day, today or yesterday (updates ``sens``).

    A compressor or pump does nothing but switch on and off, around the clock, night
    included; a person switches a kettle on a few times a day, and a PC or TV in use
    varies (so a PC that flaps on and off in use never qualifies). Whole clock hours (a
    24-bit mask per day) keep the rule cheap and independent of the sampling rate; one
    day at a time (not two together) so that a kettle used at different hours on two
    days is not taken for a fridge.
    """
    day = math.floor(loc / 86400.0)
    if sens[s, SE_APP_HOURS_DAY] != day:  # a new local day (or the first reading: NaN)
        kept = sens[s, SE_APP_HOURS_MASK] if sens[s, SE_APP_HOURS_DAY] == day - 1.0 else 0.0
        sens[s, SE_APP_HOURS_PREV] = kept
        sens[s, SE_APP_HOURS_MASK] = 0.0
        sens[s, SE_APP_HOURS_DAY] = day
    if plain_cycle_ended:
        bit = 1 << int((loc - day * 86400.0) // 3600.0)
        sens[s, SE_APP_HOURS_MASK] = float(int(sens[s, SE_APP_HOURS_MASK]) | bit)
    return max(hours_covered(sens[s, SE_APP_HOURS_MASK]), hours_covered(sens[s, SE_APP_HOURS_PREV])) >= min_hours


@njit(cache=True)
def appliance_session_limit(row, edges, pv):
    """How far into a session use still counts: the usual session (a quantile of the
    appliance's past sessions) times a margin, within [min, max]; the cold value until
    enough sessions were seen."""
    limit, learned = duration_limit(row, edges, pv[P_APP_SESSION_Q], pv[P_ROBUST], pv[P_APP_SESSION_FACTOR], 0.0,
                                    pv[P_APP_SESSION_MIN_COUNT], pv[P_APP_SESSION_MIN], pv[P_APP_SESSION_MAX])
    return limit if learned > 0.0 else pv[P_APP_SESSION_COLD]


@njit(cache=True)
def appliance_sign_of_life(sens, session_hist, s, t, loc, watts, home, attended, pv, edges):
    """What a power reading shows: ``APP_SWITCHED_ON``, ``APP_IN_USE`` (a sign of life too)
    or ``APP_NONE``. Updates ``sens`` and ``session_hist``, the appliance's histogram of
    session lengths (its row of ``held_hist``, which a power sensor never uses for holds).

    Switching on counts, as it always did. A session runs from a switch-on until the draw
    falls back within half the margin of the standby it began at (the standby baseline
    creeps up under a long session, which would cut it into pieces). Within it, a reading
    that differs from the previous one by more than max(vary watts, vary fraction x learned
    in-use level) is a person using it and counts too, but only at home (``home``), after a
    day of watching, and while the appliance has not stood alone for the resident longer
    than its session limit: from the later of its switch-on and ``attended`` (the last other
    sign of life). A device that cycles by itself (:func:`appliance_autonomous`) never
    counts, not even switching on. A steady draw never counts.
    """
    prev_t, prev_w = sens[s, SE_LAST_READING_MONO], sens[s, SE_LAST_READING_WATTS]
    switched_on = appliance_active(sens, s, t, watts, pv[P_APP_MARGIN], pv[P_APP_STANDBY_TAU])
    if math.isnan(sens[s, SE_APP_FIRST_MONO]):
        sens[s, SE_APP_FIRST_MONO] = t
    start = sens[s, SE_APP_SESSION_START]
    varying = plain_end = False
    if not math.isnan(start):
        if watts > sens[s, SE_APP_SESSION_FLOOR] + 0.5 * pv[P_APP_MARGIN]:  # still on
            level = sens[s, SE_APP_USE_WATTS]
            varying = abs(watts - prev_w) > max(pv[P_APP_VARY_WATTS], pv[P_APP_VARY_FRACTION] * level)
            if varying:
                sens[s, SE_APP_SESSION_VARIED] += 1.0
            if t > prev_t:
                sens[s, SE_APP_USE_WATTS] = level + (watts - level) * (1.0 - math.exp(-(t - prev_t)
                                                                                       / pv[P_APP_LEVEL_TAU]))
        else:  # back near its standby: the session is over, and learned
            add_observation(session_hist, t - start, 1.0, edges)
            plain_end = sens[s, SE_APP_SESSION_VARIED] <= 1.0  # at most the start-up surge settling
            sens[s, SE_APP_SESSION_START] = np.nan
    if switched_on and math.isnan(sens[s, SE_APP_SESSION_START]):
        start = t
        sens[s, SE_APP_SESSION_START] = t
        sens[s, SE_APP_SESSION_FLOOR] = sens[s, SE_STANDBY_WATTS]
        sens[s, SE_APP_SESSION_LIMIT] = appliance_session_limit(session_hist, edges, pv)
        sens[s, SE_APP_SESSION_VARIED] = 0.0
        if math.isnan(sens[s, SE_APP_USE_WATTS]):
            sens[s, SE_APP_USE_WATTS] = watts
    autonomous = appliance_autonomous(sens, s, loc, plain_end, pv[P_APP_AUTONOMOUS_HOURS])
    if autonomous:
        return APP_NONE
    if switched_on:
        return APP_SWITCHED_ON
    alone_since = attended if attended > start else start  # (NaN attended: the switch-on)
    if (varying and home and t - sens[s, SE_APP_FIRST_MONO] >= APP_WATCH_SECONDS
            and t - alone_since <= sens[s, SE_APP_SESSION_LIMIT]):
        return APP_IN_USE
    return APP_NONE


# ------------------------------------------------------- sensors judged by behaviour
@njit(cache=True)
def learn_sensor_behaviour(sens, held_hist, day_decay, pulse_s, min_days):
    """Close a day of each presence sensor's ONs: does it hold for a stay, or only pulse?

    A sensor *pulses* when on most (decayed) days its longest ON was shorter than
    ``pulse_s``: a seat mat that sends a 1-s blip when sat on. Judged from ``min_days``
    effective days on; until then a presence sensor holds (as its kind says). A pulse
    sensor is never held; its stay limit (``held_hist``) measures instead the silence
    that follows its events (someone sitting still on it), so on a change of class the
    sensor's stay history starts afresh.
    """
    for j in range(sens.shape[0]):
        longest = sens[j, SE_LONGEST_ON_TODAY]
        sens[j, SE_ON_DAYS] *= day_decay
        sens[j, SE_LONG_DAYS] *= day_decay
        if not math.isnan(longest):
            sens[j, SE_ON_DAYS] += 1.0
            if longest >= pulse_s:
                sens[j, SE_LONG_DAYS] += 1.0
        sens[j, SE_LONGEST_ON_TODAY] = np.nan
        if sens[j, SE_ON_DAYS] >= min_days:
            pulses = 1.0 if 2.0 * sens[j, SE_LONG_DAYS] < sens[j, SE_ON_DAYS] else 0.0
            if pulses != sens[j, SE_PULSES]:
                sens[j, SE_PULSES] = pulses
                held_hist[j, :] = 0.0
                sens[j, SE_LONGEST_HOLD_TODAY] = 0.0


@njit(cache=True)
def holds_a_stay(sens, s):
    """Whether an ON of presence sensor ``s`` opens a hold: it holds for a stay and is trusted."""
    return sens[s, SE_PULSES] <= 0.0 and sens[s, SE_FAULT] <= 0.0


@njit(cache=True)
def presence_reading(sens, s, t, v):
    """Track a presence sensor's raw ON; a completed ON's length (not a stuck one's) is learned."""
    since = sens[s, SE_ON_SINCE]
    if v > 0.0:
        if math.isnan(since):
            sens[s, SE_ON_SINCE] = t
    elif not math.isnan(since):
        if sens[s, SE_FAULT] <= 0.0 and not sens[s, SE_LONGEST_ON_TODAY] >= t - since:
            sens[s, SE_LONGEST_ON_TODAY] = t - since
        sens[s, SE_ON_SINCE] = np.nan


@njit(cache=True)
def learn_pulse_quiet(sv, sens, t, at_home):
    """The silence begun by a pulse sensor's event ended at ``t``: how long one sat still by it today."""
    q = int(sv[SV_QUIET_ORIGIN])
    if q >= 0 and at_home and sens[q, SE_PULSES] > 0.0:
        d = t - sv[SV_LAST_MONO]
        if d > sens[q, SE_LONGEST_HOLD_TODAY]:
            sens[q, SE_LONGEST_HOLD_TODAY] = d


@njit(cache=True)
def pulse_stay_due(due, limit, rule, origin_mono, sv, sens, safety_s):
    """A silence begun by a pulse sensor's event is someone sitting still by it, not an empty
    flat: it is judged by that sensor's learned stay when that is longer (never past the safety net)."""
    q = int(sv[SV_QUIET_ORIGIN])
    if q < 0 or sens[q, SE_PULSES] <= 0.0 or sens[q, SE_HELD_LEARNED] <= 0.0:
        return due, limit, rule
    stay = min(sens[q, SE_HELD_LIMIT], safety_s)
    if not origin_mono + stay > due:
        return due, limit, rule
    return origin_mono + stay, stay, 2.0 if stay >= safety_s else 0.0


# ------------------------------------------------------------ distrust and trust again
@njit(cache=True)
def distrust_hold(sens, j, t, window_s, away, out, n_out):
    """Presence ``j``'s hold is no person: it stops counting as held from ``t``; a
    stayed_in_place it showed ends now. Found so within ``window_s`` of having read ON while
    the resident was away (the front door used, the flat found empty; ``away``: this time),
    it reads "held" when nobody is there, day after day (wired the wrong way round): inverted,
    trusted again only once it behaves (:func:`judge_inverted_on`). Else it is stuck, trusted
    again when it releases: activity elsewhere alone may be a visitor on the seat now and
    then. Returns n_out."""
    if not math.isnan(sens[j, SE_HELD_LATCHED]):
        n_out = _emit(out, n_out, 2.0, float(j), sens[j, SE_HELD_SINCE], sens[j, SE_HELD_LATCHED_LIMIT],
                      sens[j, SE_HELD_LATCHED], t, sens[j, SE_HELD_LATCHED_LEARNED])
    sens[j, SE_FAULT] = FAULT_INVERTED if t - sens[j, SE_AWAY_ON_MONO] <= window_s else FAULT_STUCK
    if away:
        _read_on_away(sens, j, t)
    sens[j, SE_FAULT_SINCE] = sens[j, SE_HELD_SINCE]
    sens[j, SE_FAULT_START] = t
    sens[j, SE_ON_CONTRADICTED], sens[j, SE_GOOD_ONS] = 1.0, 0.0  # the ON it is in was contradicted
    sens[j, SE_HELD_SINCE] = np.nan
    sens[j, SE_HELD_DUE] = np.nan
    sens[j, SE_HELD_LATCHED] = np.nan
    return n_out


@njit(cache=True)
def _reads_untrusted_on(sens, j):
    """Presence ``j`` is distrusted (stuck or inverted) and reads ON."""
    return sens[j, SE_FAULT] > 0.0 and not math.isnan(sens[j, SE_ON_SINCE])


@njit(cache=True)
def _reads_inverted_on(sens, j):
    """Presence ``j`` reads inverted and is ON: judged like a hold, but holding nothing."""
    return sens[j, SE_FAULT] == FAULT_INVERTED and not math.isnan(sens[j, SE_ON_SINCE])


@njit(cache=True)
def contradict_on(sens, j, t, away):
    """Distrusted (stuck or inverted) presence ``j``'s ON was contradicted: for an inverted one, it
    is no good ON; ``away`` (the resident out) counts towards inverted, as :func:`distrust_hold` has it."""
    sens[j, SE_ON_CONTRADICTED] = 1.0
    if away:
        _read_on_away(sens, j, t)


@njit(cache=True)
def _read_on_away(sens, j, t):
    sens[j, SE_AWAY_ON_PREV] = sens[j, SE_AWAY_ON_MONO]
    sens[j, SE_AWAY_ON_MONO] = t


@njit(cache=True)
def released_in_a_race(sens, s, t):
    """Presence ``s`` released within a minute of reading ON with the resident "away": the person
    got up to open the door (radio order put the door first). That was no evidence: forgotten.
    Returns whether it was such a race."""
    if not t - sens[s, SE_AWAY_ON_MONO] < FAULT_SHOW_AFTER_S:
        return False
    sens[s, SE_AWAY_ON_MONO] = sens[s, SE_AWAY_ON_PREV]
    sens[s, SE_AWAY_ON_PREV] = np.nan
    return True


@njit(cache=True)
def distrust_old_holds(sens, t, min_hold_s, skip, window_s, out, n_out):
    """Every hold older than ``min_hold_s`` (but sensor ``skip``'s) is no person: the front door
    was used, or the flat was found empty, while it held; nobody does either from a bed or a
    seat. (An inverted presence ON that long is contradicted.) Returns (count, n_out)."""
    n = 0
    for j in range(sens.shape[0]):
        if j == skip:
            continue
        if not math.isnan(sens[j, SE_HELD_SINCE]) and t - sens[j, SE_HELD_SINCE] >= min_hold_s:
            n_out = distrust_hold(sens, j, t, window_s, np.bool_(True), out, n_out)
            n += 1
        elif _reads_untrusted_on(sens, j) and t - sens[j, SE_ON_SINCE] >= min_hold_s:
            contradict_on(sens, j, t, np.bool_(True))
    return n, n_out


@njit(cache=True)
def seen_elsewhere(sens, s, t, span_s, window_s, first, a, b, enough, out, n_out):
    """Sensor ``s`` saw the resident: a hold during which enough different such sensors did, over
    ``span_s`` or more, holds no person (the person is up). Per hold, columns ``first`` (when the
    first was seen), ``a`` and ``b`` (the first different sensors; ``b`` < 0: two are enough, else
    three) and ``enough`` (0/1). An inverted presence's ON is judged the same way. Returns
    (holds ended, n_out)."""
    n = 0
    for j in range(sens.shape[0]):
        held = not math.isnan(sens[j, SE_HELD_SINCE])
        if j == s or not (held or _reads_inverted_on(sens, j)):
            continue
        if math.isnan(sens[j, first]):
            sens[j, first], sens[j, a] = t, float(s)
        elif sens[j, a] != float(s):
            if b >= 0 and sens[j, b] < 0.0:
                sens[j, b] = float(s)
            elif b < 0 or sens[j, b] != float(s):
                sens[j, enough] = 1.0
        if sens[j, enough] > 0.0 and t - sens[j, first] >= span_s:
            k, n_out = _held_by_nobody(sens, j, t, held, window_s, out, n_out)
            n += k
    return n, n_out


@njit(cache=True)
def activity_elsewhere(sens, s, t, span_s, window_s, out, n_out):
    """Contact ``s`` (a door, cupboard or the entrance: a hand on it) was used: two different
    contacts over ``span_s`` of a hold. Appliances are no such evidence (a TV runs while one
    sits), nor is one PIR, which sees the person in the bed or on the seat (:func:`motion_elsewhere`
    asks for three). Returns (holds ended, n_out)."""
    return seen_elsewhere(sens, s, t, span_s, window_s, np.int64(SE_OTHER_FIRST), np.int64(SE_OTHER_SENSOR),
                          np.int64(-1), np.int64(SE_OTHER_TWO), out, n_out)


@njit(cache=True)
def motion_elsewhere(sens, s, t, span_s, window_s, out, n_out):
    """Motion sensor ``s`` saw someone: three different motion sensors over ``span_s`` of a hold
    (one PIR may see the bed or the seat; three are other rooms). Returns (holds ended, n_out)."""
    return seen_elsewhere(sens, s, t, span_s, window_s, np.int64(SE_MOVE_FIRST), np.int64(SE_MOVE_A),
                          np.int64(SE_MOVE_B), np.int64(SE_MOVE_THREE), out, n_out)


@njit(cache=True)
def _held_by_nobody(sens, j, t, held, window_s, out, n_out):
    """Activity elsewhere contradicted ``j``'s hold (``held``) or its inverted ON (the resident
    is up, not away). Returns (holds ended, n_out)."""
    if held:
        return 1, distrust_hold(sens, j, t, window_s, np.bool_(False), out, n_out)
    contradict_on(sens, j, t, np.bool_(False))
    return 0, n_out


@njit(cache=True)
def _forget_elsewhere(sens, j):
    """A new hold (or inverted ON) of ``j``: no activity elsewhere seen during it yet."""
    sens[j, SE_OTHER_FIRST], sens[j, SE_OTHER_SENSOR], sens[j, SE_OTHER_TWO] = np.nan, -1.0, 0.0
    sens[j, SE_MOVE_FIRST], sens[j, SE_MOVE_A], sens[j, SE_MOVE_B], sens[j, SE_MOVE_THREE] = np.nan, -1.0, -1.0, 0.0


@njit(cache=True)
def count_inverted(sens):
    """How many sensors read inverted (entrances and mats)."""
    n = 0
    for j in range(sens.shape[0]):
        if sens[j, SE_FAULT] == FAULT_INVERTED:
            n += 1
    return float(n)


@njit(cache=True)
def judge_inverted_on(sens, s, t, v, min_on_s, trust_ons, window_s, out, n_out):
    """Presence ``s`` reads inverted: each of its ONs is judged as a hold would be. Once
    ``trust_ons`` ONs in a row of at least ``min_on_s`` passed uncontradicted (a rewired mat:
    nights in bed), and none was contradicted for ``window_s`` (what made it inverted), it is
    trusted again. Returns n_out."""
    if sens[s, SE_FAULT] != FAULT_INVERTED:
        return n_out
    since = sens[s, SE_ON_SINCE]
    if v > 0.0:
        if math.isnan(since):
            sens[s, SE_ON_CONTRADICTED] = 0.0
            _forget_elsewhere(sens, s)
        return n_out
    if math.isnan(since):
        return n_out
    if sens[s, SE_ON_CONTRADICTED] > 0.0:
        sens[s, SE_GOOD_ONS] = 0.0
    elif t - since >= min_on_s:
        sens[s, SE_GOOD_ONS] += 1.0
        if sens[s, SE_GOOD_ONS] >= trust_ons and t - sens[s, SE_AWAY_ON_MONO] > window_s:
            sens[s, SE_GOOD_ONS] = 0.0
            n_out = trust_again(sens, s, t, out, n_out)
    return n_out


@njit(cache=True)
def start_hold(sens, s, t):
    sens[s, SE_HELD_SINCE] = t
    sens[s, SE_HELD_DUE] = t + sens[s, SE_HELD_LIMIT]
    sens[s, SE_HELD_LATCHED] = np.nan
    _forget_elsewhere(sens, s)


@njit(cache=True)
def adopt_holds(sens, t):
    """Back home: a presence that went ON while the flat looked empty (no hold then) holds from now.
    Returns the number of holds opened."""
    n = 0
    for j in range(sens.shape[0]):
        if not math.isnan(sens[j, SE_ON_SINCE]) and math.isnan(sens[j, SE_HELD_SINCE]) and holds_a_stay(sens, j):
            start_hold(sens, j, t)
            n += 1
    return n


@njit(cache=True)
def trust_again(sens, s, t, out, n_out):
    """Sensor ``s``'s fault ends at ``t``: it behaved. Its episode is recorded if it was shown."""
    shown = sens[s, SE_FAULT_START] + FAULT_SHOW_AFTER_S
    if shown < t:
        n_out = _emit(out, n_out, 4.0, float(s), sens[s, SE_FAULT_SINCE], 0.0, shown, t, sens[s, SE_FAULT])
    sens[s, SE_FAULT] = 0.0
    sens[s, SE_FAULT_SINCE] = np.nan
    sens[s, SE_FAULT_START] = np.nan
    return n_out


@njit(cache=True)
def entrance_reading(sens, s, t, v, back, run_first, out, n_out):
    """An entrance event; ``back``: the door again after a while out (the end of an absence).

    A contact that closed in a blip as the resident left and then read "open" (1) through
    the whole time out is inverted (open is its resting state); one that read closed
    through an absence is trusted again. (A door left open as one leaves reads open from
    the first event of the leaving on: that is not called inverted.) Returns n_out.
    """
    since = sens[s, SE_OPEN_SINCE]
    if back:
        if since > run_first:
            if sens[s, SE_FAULT] <= 0.0:
                sens[s, SE_FAULT], sens[s, SE_FAULT_SINCE], sens[s, SE_FAULT_START] = FAULT_INVERTED, since, t
        elif math.isnan(since) and sens[s, SE_FAULT] == FAULT_INVERTED:
            n_out = trust_again(sens, s, t, out, n_out)
    if v > 0.0:
        if math.isnan(since):
            sens[s, SE_OPEN_SINCE] = t
    else:
        sens[s, SE_OPEN_SINCE] = np.nan
    return n_out


@njit(cache=True)
def entrance_open(sens):
    """Whether an entrance contact that is trusted reads open now."""
    for j in range(sens.shape[0]):
        if not math.isnan(sens[j, SE_OPEN_SINCE]) and sens[j, SE_FAULT] != FAULT_INVERTED:
            return True
    return False


# ------------------------------------------------------------------- corroboration
@njit(cache=True)
def corroborated(sv, s, t, window_s):
    """While out, an inside event is a return only if a different sensor fired within
    ``window_s`` before it (one stray pulse, or one sensor repeating, is no person);
    otherwise it is kept as the stray a next sensor may corroborate."""
    prev = int(sv[SV_STRAY_SENSOR])
    if prev >= 0 and prev != s and t - sv[SV_STRAY_MONO] <= window_s:
        return True
    sv[SV_STRAY_SENSOR], sv[SV_STRAY_MONO] = float(s), t
    return False


# ------------------------------------------------------------------ the event step
@njit(cache=True)
def _emit(out, n_out, typ, key, since, limit, start, end, rule):
    out[n_out, 0] = typ
    out[n_out, 1] = key
    out[n_out, 2] = since
    out[n_out, 3] = limit
    out[n_out, 4] = start
    out[n_out, 5] = end
    out[n_out, 6] = rule
    return n_out + 1


@njit(cache=True)
def step_event(t, loc, kd, s, v, pv, edges, sv, sens, cur, hist, thr, abs_hist, held_hist, acto, out, n_out):
    """Feed one event; returns the new number of episode records in ``out``.

    The caller guarantees ``n_sensors + 4`` free rows in ``out``.
    """
    slot_s = pv[0]
    confirm_s = pv[12]
    started = sv[SV_STARTED] > 0.0
    last, last_loc, day, mark = sv[SV_LAST_MONO], sv[SV_LAST_LOCAL], sv[SV_DAY], sv[SV_ACCOUNTED_MONO]
    pending = sv[SV_PENDING] > 0.0
    run_first = sv[SV_RUN_FIRST_MONO]
    run_last = sv[SV_RUN_LAST_MONO]
    run_conf = sv[SV_RUN_CONFIRMED] > 0.0
    run_cluster = sv[SV_RUN_CLUSTER_MONO]
    n_held = int(sv[SV_N_HELD])
    learned_days = sv[SV_LEARNED_DAYS]
    inact_due = sv[SV_INACTIVITY_DUE]
    inact_limit = sv[SV_INACTIVITY_LIMIT]
    inact_rule = sv[SV_INACTIVITY_RULE]
    inact_open = sv[SV_INACTIVITY_LATCHED]
    abs_limit = sv[SV_ABSENCE_LIMIT]
    abs_due = sv[SV_ABSENCE_DUE]
    abs_open = sv[SV_ABSENCE_LATCHED]
    abs_learned = sv[SV_ABSENCE_LEARNED]
    n_days = sv[SV_DAYS]
    abs_open_limit, abs_open_learned = sv[SV_ABSENCE_LATCHED_LIMIT], sv[SV_ABSENCE_LATCHED_LEARNED]
    returning = sv[SV_RETURNING] > 0.0

    # 1. latch findings that fell due before this event
    if math.isnan(inact_open) and inact_due < t:
        inact_open = inact_due
    if pending and math.isnan(abs_open) and abs_due < t:
        abs_open, abs_open_limit, abs_open_learned = abs_due, abs_limit, abs_learned
    if n_held > 0:
        for j in range(sens.shape[0]):
            if (not math.isnan(sens[j, SE_HELD_SINCE]) and math.isnan(sens[j, SE_HELD_LATCHED])
                    and sens[j, SE_HELD_DUE] < t):
                sens[j, SE_HELD_LATCHED] = sens[j, SE_HELD_DUE]
                sens[j, SE_HELD_LATCHED_LIMIT] = sens[j, SE_HELD_LIMIT]
                sens[j, SE_HELD_LATCHED_LEARNED] = sens[j, SE_HELD_LEARNED]

    # 2. is this a sign of life?
    watching = n_held > 0 or sv[SV_N_INVERTED] > 0.0  # a hold, or an inverted sensor's ON, to check
    fault_before = sens[s, SE_FAULT]
    shown = APP_NONE
    if kd == 0 or kd == 5:
        active = v > 0.0
    elif kd == 4:
        shown = appliance_sign_of_life(sens, held_hist[s], s, t, loc, v, not pending or returning,
                                       sv[SV_ATTENDED_MONO], pv, edges)
        active = shown != APP_NONE
    else:
        active = True

    if active:
        if shown != APP_IN_USE:
            sv[SV_ATTENDED_MONO] = t
        # 3. account home time since the last activity, closing finished local days
        if not started:
            started = True
            day = math.floor(loc / 86400.0)
        else:
            off = last_loc - last
            a, b = mark + off, t + off
            rolled = False
            while True:
                day_start = day * 86400.0
                day_end = day_start + 86400.0
                seg_end = min(b, day_end)
                if not pending:
                    accumulate_home(cur, day_start, a, seg_end, last_loc, n_held > 0, slot_s)
                if b < day_end:
                    break
                learned_days = learn_day(cur, hist, thr, abs_hist, held_hist, sens, pv, edges, learned_days, sv)
                n_days += 1.0
                day += 1.0
                acto[int(day) % acto.shape[0], :] = 0.0
                a = day_end
                rolled = True
            event_day = math.floor(loc / 86400.0)
            while event_day > day:  # the wall clock jumped forward
                learned_days = learn_day(cur, hist, thr, abs_hist, held_hist, sens, pv, edges, learned_days, sv)
                n_days += 1.0
                day += 1.0
                acto[int(day) % acto.shape[0], :] = 0.0
                rolled = True
            if rolled:
                abs_limit, abs_learned = absence_limit_for(sv, sv[SV_ABSENCE_DAY] if pending else day)
                if pending:
                    abs_due = run_first + abs_limit
                for j in range(sens.shape[0]):
                    if not math.isnan(sens[j, SE_HELD_SINCE]):
                        sens[j, SE_HELD_DUE] = sens[j, SE_HELD_SINCE] + sens[j, SE_HELD_LIMIT]
            if not pending:
                record_remaining(cur, day, last_loc, t + off, n_held > 0, slot_s)

        # 4. apply the activity
        learn_pulse_quiet(sv, sens, t, not pending)
        slot = int((loc % 86400.0) // slot_s)
        acto[int(day) % acto.shape[0], min(slot, acto.shape[1] - 1)] += 1.0
        if kd == 3:
            n_out = entrance_reading(sens, s, t, v, pending and t - run_last >= confirm_s, run_first, out, n_out)
            # nobody opens the front door from a bed or a seat
            k, n_out = distrust_old_holds(sens, t, pv[P_STUCK_MIN_HOLD], np.int64(-1), pv[P_INVERTED_WINDOW],
                                          out, n_out)
            n_held -= k
            k, n_out = activity_elsewhere(sens, s, t, pv[P_STUCK_OTHER], pv[P_INVERTED_WINDOW], out, n_out)
            n_held -= k
            came_in, sv[SV_CAME_IN] = sv[SV_CAME_IN] > 0.0 and v <= 0.0, 0.0
            if not pending and came_in:
                pass  # the door shut behind the resident who just came in: no leaving
            elif not pending:
                pending, returning = True, False
                run_first, run_conf, run_cluster = t, False, t
                sv[SV_ABSENCE_DAY] = day
                abs_limit, abs_learned = absence_limit_for(sv, day)
                abs_due, abs_open = t + abs_limit, np.nan
                sv[SV_STRAY_SENSOR] = -1.0
            elif t - run_last >= confirm_s:  # the door again after a while out: probably back
                run_conf, run_cluster, returning = True, t, True
            run_last = t
        else:
            returned = True  # (or never left)
            if pending and not returning and t - run_last >= confirm_s:  # out a while: is this a return?
                # a hold that outlived the leaving is no person (its own release: it behaved)
                k, n_out = distrust_old_holds(sens, t, 0.0, s if kd == 1 and v <= 0.0 else -1,
                                              pv[P_INVERTED_WINDOW], out, n_out)
                n_held -= k
                returned = corroborated(sv, s, t, pv[P_CORROBORATE])
            if pending and returned:
                if t - run_last >= confirm_s:
                    run_conf, away_end = True, t
                else:
                    away_end = run_cluster
                if not math.isnan(abs_open):
                    n_out = _emit(out, n_out, 1.0, -1.0, run_first, abs_open_limit, abs_open, t, abs_open_learned)
                if run_conf:
                    add_observation(abs_hist[day_type(sv[SV_ABSENCE_DAY])], t - run_first, 1.0, edges)
                    n_out = _emit(out, n_out, 3.0, -1.0, run_first, 0.0, run_first, away_end, 0.0)
                sv[SV_CAME_IN] = 1.0 if returning and entrance_open(sens) else 0.0
                pending, returning = False, False
                abs_due, abs_open = np.nan, np.nan
                n_held += adopt_holds(sens, t)
            if kd == 1:
                raced = v <= 0.0 and released_in_a_race(sens, s, t)
                n_out = judge_inverted_on(sens, s, t, v, pv[P_STUCK_OTHER], pv[P_INVERTED_TRUST],
                                          pv[P_INVERTED_WINDOW], out, n_out)
                presence_reading(sens, s, t, v)
                if v > 0.0:
                    if returned and math.isnan(sens[s, SE_HELD_SINCE]) and holds_a_stay(sens, s):
                        start_hold(sens, s, t)
                        n_held += 1
                elif not math.isnan(sens[s, SE_HELD_SINCE]):
                    sens[s, SE_LONGEST_HOLD_TODAY] = max(sens[s, SE_LONGEST_HOLD_TODAY], t - sens[s, SE_HELD_SINCE])
                    if not math.isnan(sens[s, SE_HELD_LATCHED]):
                        n_out = _emit(out, n_out, 2.0, float(s), sens[s, SE_HELD_SINCE], sens[s, SE_HELD_LATCHED_LIMIT],
                                      sens[s, SE_HELD_LATCHED], t, sens[s, SE_HELD_LATCHED_LEARNED])
                    sens[s, SE_HELD_SINCE] = np.nan
                    sens[s, SE_HELD_DUE] = np.nan
                    sens[s, SE_HELD_LATCHED] = np.nan
                    n_held -= 1
                elif sens[s, SE_FAULT] == FAULT_STUCK or (raced and t - sens[s, SE_FAULT_START] < FAULT_SHOW_AFTER_S):
                    n_out = trust_again(sens, s, t, out, n_out)  # released: it behaves (or was judged in a race)
            elif kd == 2 and returned and watching:
                k, n_out = activity_elsewhere(sens, s, t, pv[P_STUCK_OTHER], pv[P_INVERTED_WINDOW], out, n_out)
                n_held -= k
            elif kd == 0 and returned and watching:
                k, n_out = motion_elsewhere(sens, s, t, pv[P_STUCK_OTHER], pv[P_INVERTED_WINDOW], out, n_out)
                n_held -= k
        if watching or kd == 3 or fault_before != sens[s, SE_FAULT]:  # what can change a sensor's fault
            sv[SV_N_INVERTED] = count_inverted(sens)
        if not math.isnan(inact_open):
            n_out = _emit(out, n_out, 0.0, -1.0, last, inact_limit, inact_open, t, inact_rule)
            inact_open = np.nan
        last, last_loc, mark = t, loc, t
        sv[SV_QUIET_ORIGIN] = float(s) if kd == 1 and sens[s, SE_PULSES] > 0.0 else -1.0
        if (not pending or returning) and n_held == 0:  # a silence after coming back is watched too
            inact_due, inact_limit, inact_rule = inactivity_due(t, loc, thr, slot_s)
            inact_due, inact_limit, inact_rule = pulse_stay_due(inact_due, inact_limit, inact_rule, t, sv, sens,
                                                                pv[P_SAFETY])
        else:
            inact_due, inact_limit, inact_rule = np.nan, np.nan, np.nan


    # 5. latch what is due now: exactly at this event, or made due by it (a day's learning
    #    can shorten a limit); a check right after this event would show it from now on
    if math.isnan(inact_open) and inact_due <= t:
        inact_open = t
    if pending and math.isnan(abs_open) and abs_due <= t:
        abs_open, abs_open_limit, abs_open_learned = t, abs_limit, abs_learned
    if n_held > 0:
        for j in range(sens.shape[0]):
            if (not math.isnan(sens[j, SE_HELD_SINCE]) and math.isnan(sens[j, SE_HELD_LATCHED])
                    and sens[j, SE_HELD_DUE] <= t):
                sens[j, SE_HELD_LATCHED] = t
                sens[j, SE_HELD_LATCHED_LIMIT] = sens[j, SE_HELD_LIMIT]
                sens[j, SE_HELD_LATCHED_LEARNED] = sens[j, SE_HELD_LEARNED]

    sv[SV_STARTED] = 1.0 if started else 0.0
    sv[SV_LAST_MONO], sv[SV_LAST_LOCAL], sv[SV_DAY], sv[SV_ACCOUNTED_MONO] = last, last_loc, day, mark
    sv[SV_PENDING] = 1.0 if pending else 0.0
    sv[SV_RUN_FIRST_MONO] = run_first
    sv[SV_RUN_LAST_MONO] = run_last
    sv[SV_RUN_CONFIRMED] = 1.0 if run_conf else 0.0
    sv[SV_RUN_CLUSTER_MONO] = run_cluster
    sv[SV_N_HELD] = float(n_held)
    sv[SV_LEARNED_DAYS] = learned_days
    sv[SV_INACTIVITY_DUE] = inact_due
    sv[SV_INACTIVITY_LIMIT] = inact_limit
    sv[SV_INACTIVITY_RULE] = inact_rule
    sv[SV_INACTIVITY_LATCHED] = inact_open
    sv[SV_ABSENCE_LIMIT] = abs_limit
    sv[SV_ABSENCE_DUE] = abs_due
    sv[SV_ABSENCE_LATCHED] = abs_open
    sv[SV_ABSENCE_LEARNED] = abs_learned
    sv[SV_DAYS] = n_days
    sv[SV_ABSENCE_LATCHED_LIMIT], sv[SV_ABSENCE_LATCHED_LEARNED] = abs_open_limit, abs_open_learned
    sv[SV_RETURNING] = 1.0 if returning else 0.0
    return n_out


@njit(cache=True)
def scan(mono, local, kind, sensor, value, start, pv, edges, sv, sens, cur, hist, thr, abs_hist, held_hist,
         acto, out):
    """The bulk replay: feed events from ``start`` until done or ``out`` is nearly full.

    Returns (next event index, number of episode records written).
    """
    room = sens.shape[0] + 4
    n_out = np.int64(0)  # not a literal: see Conventions
    i = start
    n = mono.shape[0]
    while i < n and n_out + room <= out.shape[0]:
        n_out = step_event(mono[i], local[i], kind[i], sensor[i], value[i], pv, edges, sv, sens, cur, hist, thr,
                           abs_hist, held_hist, acto, out, n_out)
        i += 1
    return i, n_out


@njit(cache=True)
def refresh_dues(pv, sv, sens, thr):
    """Recompute due times from origins and limits (after a restart's rebase)."""
    sv[SV_N_INVERTED] = count_inverted(sens)
    if sv[SV_STARTED] > 0.0 and (sv[SV_PENDING] <= 0.0 or sv[SV_RETURNING] > 0.0) and int(sv[SV_N_HELD]) == 0:
        due, limit, rule = inactivity_due(sv[SV_LAST_MONO], sv[SV_LAST_LOCAL], thr, pv[0])
        sv[SV_INACTIVITY_DUE], sv[SV_INACTIVITY_LIMIT], sv[SV_INACTIVITY_RULE] = pulse_stay_due(
            due, limit, rule, sv[SV_LAST_MONO], sv, sens, pv[P_SAFETY])
    else:
        sv[SV_INACTIVITY_DUE], sv[SV_INACTIVITY_LIMIT], sv[SV_INACTIVITY_RULE] = np.nan, np.nan, np.nan
    sv[SV_ABSENCE_DUE] = sv[SV_RUN_FIRST_MONO] + sv[SV_ABSENCE_LIMIT] if sv[SV_PENDING] > 0.0 else np.nan
    for j in range(sens.shape[0]):
        since = sens[j, SE_HELD_SINCE]
        sens[j, SE_HELD_DUE] = np.nan if math.isnan(since) else since + sens[j, SE_HELD_LIMIT]


# ------------------------------------------------------------------------- backtest
@njit(cache=True)
def _first_resident_finding(t0, sv, sens):
    """Earliest time >= t0 at which a resident finding holds, given no further events."""
    best = np.inf
    pending = sv[SV_PENDING] > 0.0
    if (not pending or sv[SV_RETURNING] > 0.0) and int(sv[SV_N_HELD]) == 0:
        due = sv[SV_INACTIVITY_LATCHED] if not math.isnan(sv[SV_INACTIVITY_LATCHED]) else sv[SV_INACTIVITY_DUE]
        if not math.isnan(due):
            best = min(best, max(t0, due))
    if pending:
        due = sv[SV_ABSENCE_LATCHED] if not math.isnan(sv[SV_ABSENCE_LATCHED]) else sv[SV_ABSENCE_DUE]
        if not math.isnan(due):
            best = min(best, max(t0, due))
    for j in range(sens.shape[0]):
        if not math.isnan(sens[j, SE_HELD_SINCE]):
            due = sens[j, SE_HELD_LATCHED] if not math.isnan(sens[j, SE_HELD_LATCHED]) else sens[j, SE_HELD_DUE]
            best = min(best, max(t0, due))
    return best


@njit(cache=True)
def cut_detections(mono, local, kind, sensor, value, pv, edges, sv, sens, cur, hist, thr, abs_hist, held_hist,
                   acto, cuts, fixed_limits):
    """Simulated collapses: for each cut time t0 (sorted), the log is cut at t0 and
    every held presence sensor is released at t0. Returns, per cut, the first time a
    resident finding of the learned detector holds (column 0) and the first time each
    fixed timer fires (columns 1..), ``inf`` if never.

    The learned state arrays are advanced through the whole log (as ``scan`` would).
    """
    n = mono.shape[0]
    n_cuts = cuts.shape[0]
    n_fixed = fixed_limits.shape[0]
    det = np.full((n_cuts, 1 + n_fixed), np.inf)
    out = np.empty((sens.shape[0] + 8, 7))
    j = 0
    for i in range(n + 1):
        t_next = mono[i] if i < n else np.inf
        while j < n_cuts and cuts[j] < t_next:
            t0 = cuts[j]
            if sv[SV_STARTED] > 0.0:
                last = sv[SV_LAST_MONO]
                held = int(sv[SV_N_HELD]) > 0
                for f in range(n_fixed):
                    det[j, 1 + f] = t0 + fixed_limits[f] if held else max(t0, last + fixed_limits[f])
                if held:
                    sv2, sens2, cur2, hist2 = sv.copy(), sens.copy(), cur.copy(), hist.copy()
                    thr2, abs2, held2, acto2 = thr.copy(), abs_hist.copy(), held_hist.copy(), acto.copy()
                    loc0 = sv[SV_LAST_LOCAL] + (t0 - sv[SV_LAST_MONO])
                    for s in range(sens.shape[0]):
                        if not math.isnan(sens2[s, SE_HELD_SINCE]):
                            step_event(t0, loc0, 1, s, 0.0, pv, edges, sv2, sens2, cur2, hist2, thr2, abs2, held2,
                                       acto2, out, np.int64(0))
                    det[j, 0] = _first_resident_finding(t0, sv2, sens2)
                else:
                    det[j, 0] = _first_resident_finding(t0, sv, sens)
            j += 1
        if i < n:
            step_event(mono[i], local[i], kind[i], sensor[i], value[i], pv, edges, sv, sens, cur, hist, thr, abs_hist,
                       held_hist, acto, out, np.int64(0))
    return det


@njit(cache=True)
def classify_events(kind, sensor, value, mono, n_sensors, margin, tau):
    """Per event: is it activity, and how many presence sensors are held after it."""
    n = kind.shape[0]
    active = np.zeros(n, dtype=np.bool_)
    held_after = np.zeros(n, dtype=np.int64)
    sens = np.full((n_sensors, 10), np.nan)
    sens[:, SE_APPLIANCE_ON] = 0.0
    held = np.zeros(n_sensors, dtype=np.bool_)
    n_held = 0
    for i in range(n):
        kd, s, v = kind[i], sensor[i], value[i]
        if kd == 0 or kd == 5:
            active[i] = v > 0.0
        elif kd == 4:
            active[i] = appliance_active(sens, s, mono[i], v, margin, tau)
        else:
            active[i] = True
        if kd == 1:
            if v > 0.0 and not held[s]:
                held[s] = True
                n_held += 1
            elif v <= 0.0 and held[s]:
                held[s] = False
                n_held -= 1
        held_after[i] = n_held
    return active, held_after


@njit(cache=True)
def fixed_timer_episodes(mono, active, held_after, limit):
    """The fixed no-activity timer on a log: rows (start, end); end NaN = still firing
    at the last event. Any activity resets it; a held presence sensor holds it off."""
    n = mono.shape[0]
    out = np.empty((n + 1, 2))
    m = 0
    last = np.nan
    held = 0
    for i in range(n):
        if active[i]:
            if held == 0 and not math.isnan(last) and last + limit < mono[i]:
                out[m, 0] = last + limit
                out[m, 1] = mono[i]
                m += 1
            last = mono[i]
            held = held_after[i]
    if n > 0 and held == 0 and not math.isnan(last) and last + limit <= mono[n - 1]:
        out[m, 0] = last + limit
        out[m, 1] = np.nan
        m += 1
    return out[:m].copy()


# -------------------------------------------------------------------------- rhythm
@njit(cache=True)
def bin_counts(times, t0, bin_s, n_bins):
    """How many of ``times`` fall in each bin [t0 + i*bin_s, t0 + (i+1)*bin_s)."""
    counts = np.zeros(n_bins)
    for i in range(times.shape[0]):
        x = times[i] - t0
        if x >= 0.0:
            b = int(x // bin_s)
            if b < n_bins:
                counts[b] += 1.0
    return counts


@njit(cache=True)
def cyclic_extreme_window(profile, width, lowest):
    """(start index, mean) of the ``width``-bin window of a daily profile with the lowest
    (or highest) mean, windows wrapping midnight; ties go to the earliest start."""
    p = profile.shape[0]
    best, best_start = 0.0, -1
    for start in range(p):
        s = 0.0
        for i in range(width):
            s += profile[(start + i) % p]
        if best_start < 0 or (lowest and s < best) or (not lowest and s > best):
            best, best_start = s, start
    return best_start, best / width
