"""Numba kernels of sensor health: every rule of :class:`~hubd.core.health.SensorHealth`, once.

``SensorHealth.observe`` / ``check`` / ``next_check`` call these one event at a time; the
bulk replay (``hubd.replay.bulk_kernels.run_calls``) calls the same kernels for a whole log. The
plain-Python reference they must match lives only in the tests
(``tests/health_reference.py``, held to these by ``tests/test_health_cache.py``).

No globals beyond the layout below; the state lives in arrays the caller owns. Every
float expression is written in the order the reference evaluates it, so results agree
to the bit.

State layout (one row per sensor, in the order sensors were first seen; a row may be
allocated before its sensor exists, ``hi[s, I_EXISTS] == 0``):

* ``hf`` float64[S, NF] (NaN: none): first seen, last seen, watched from, blind seconds
  (hub downtime or a whole-flat absence since its last event: not silence), silent since
  (latched), the limit it latched under, rate fault since, device fault since (earliest
  reason), device fault cleared at; then what the history implies (refreshed when it
  changes): silence limit (NaN: not watched), rate limit, expected longest gap, and the
  silence due time (inf: none).
* ``hi`` int64[S, NI]: exists, role (index in ``ROLES``), events, day ring head and
  count, window ring head and length, learned (0/1), the last check's fault and silent
  flags (what ``check`` returns), watched from the first input (a configured sensor).
* ``days`` float64[S, history_days, ND]: per day of the sensor's own timeline its start,
  longest gap ended that day, busiest rate window, chatter (0/1); a ring.
* ``win`` float64[S, WINDOW]: the times of the events in the current rate window; a ring.
* ``hg`` float64[NG]: origin, last time seen, last event, resume from (set by a load:
  the downtime ends at the next input), earliest silence due, number of rate-faulted
  sensors, number with device faults, the row observed since the last check (-1 none,
  -2 several), 1 if the bulk replay observed the engine's next event already.
* ``hp`` float64[NP]: the settings (``HealthSettings`` in the order of ``P_*``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

DAY = 86400.0
WINDOW = 10_000  # events kept per rate window: a flooding sensor cannot grow memory without bound

F_FIRST, F_LAST, F_WATCHED, F_BLIND, F_SSINCE, F_SLIMIT, F_RATE, F_DEV, F_DEVCLR = 0, 1, 2, 3, 4, 5, 6, 7, 8
F_CLIMIT, F_CRATE, F_CEXP, F_DUE = 9, 10, 11, 12
NF = 13
I_EXISTS, I_ROLE, I_EVENTS, I_DHEAD, I_DCOUNT, I_WHEAD, I_WLEN, I_LEARNED, I_FFAULT, I_FSILENT, I_ONORIGIN = range(11)
NI = 11
D_START, D_GAP, D_RATE, D_CHAT = 0, 1, 2, 3
ND = 4
G_ORIGIN, G_LASTMONO, G_LASTEVENT, G_RESUME, G_MINDUE, G_NRATE, G_NDEV, G_OBSERVED, G_SKIP = range(9)
NG = 9
P_FLOOR, P_NFLOOR, P_DCAP, P_NCAP, P_RCAP, P_FACTOR, P_MARGIN, P_Q, P_HDAYS, P_MINDAYS, P_MINEV = range(11)
P_LIFE, P_ABSENCE, P_RATEWIN, P_RATEFLOOR, P_RATEFACTOR, P_HOLD, P_CHATMIN = 11, 12, 13, 14, 15, 16, 17
NP = 18
ROLE_DAILY, ROLE_NORMAL, ROLE_RARE, ROLE_AUTONOMOUS = 0, 1, 2, 3  # health.ROLES
APPLIANCE = 4  # events.Kind.APPLIANCE

_MARGIN_ABS = 1e-3  # seconds: far above the rounding of any time expression here


# ------------------------------------------------------------------ learning
@njit(cache=True)
def _quantile(vals, n, q):
    """The ceil(q*n)-th smallest of vals[:n] (n >= 1; positive values, no NaN).

    Insertion sort of a copy: n is at most ``history_days`` (14 by default), and numba's ``np.sort``
    cost ~0.8 s of every cold compile (its quicksort is built for this one call).
    """
    v = vals[:n].copy()
    for i in range(1, n):
        x = v[i]
        j = i - 1
        while j >= 0 and v[j] > x:
            v[j + 1] = v[j]
            j -= 1
        v[j + 1] = x
    k = math.ceil(q * n) - 1
    if k < 0:
        k = 0
    return v[k]


@njit(cache=True)
def refresh_limits(s, hf, hi, days, hp):
    """What sensor ``s``'s history implies: expected gap, learned, silence limit and rate limit."""
    H = days.shape[1]
    n = hi[s, I_DCOUNT]
    head = hi[s, I_DHEAD]
    gaps = np.empty(H)
    rates = np.empty(H)
    ng = np.int64(0)  # not literal 0s: they reach _quantile (see detector.kernels' Conventions)
    nr = np.int64(0)
    for j in range(n):
        d = days[s, (head + j) % H]
        if d[D_GAP] > 0:
            gaps[ng] = d[D_GAP]
            ng += 1
        if d[D_RATE] > 0 and d[D_CHAT] == 0:
            rates[nr] = d[D_RATE]
            nr += 1
    q = hp[P_Q]
    expected = _quantile(gaps, ng, q) if ng > 0 else np.nan
    hf[s, F_CEXP] = expected
    first, last = hf[s, F_FIRST], hf[s, F_LAST]
    learned = False
    if not math.isnan(first) and not math.isnan(last):
        learned = last - first >= hp[P_MINDAYS] * DAY and hi[s, I_EVENTS] >= hp[P_MINEV] and ng > 0
    hi[s, I_LEARNED] = 1 if learned else 0
    if not learned or nr == 0:
        hf[s, F_CRATE] = hp[P_RATEFLOOR]
    else:
        hf[s, F_CRATE] = max(hp[P_RATEFLOOR], hp[P_RATEFACTOR] * _quantile(rates, nr, q))
    role = hi[s, I_ROLE]
    cap = hp[P_DCAP] if role == ROLE_DAILY else (hp[P_RCAP] if role == ROLE_RARE else hp[P_NCAP])
    if math.isnan(cap):
        limit = np.nan
    elif not learned:
        limit = cap if role == ROLE_DAILY else np.nan
    else:
        floor = hp[P_FLOOR] if role == ROLE_DAILY else max(hp[P_FLOOR], hp[P_NFLOOR])
        limit = min(cap, max(floor, expected * hp[P_FACTOR] + hp[P_MARGIN]))
    hf[s, F_CLIMIT] = limit


@njit(cache=True)
def _due(s, hf, hi):
    """When sensor ``s`` would be silent too long; inf: not watched, or latched already."""
    if hi[s, I_EXISTS] == 0:
        return np.inf
    limit = hf[s, F_CLIMIT]
    if math.isnan(limit) or not math.isnan(hf[s, F_SSINCE]):
        return np.inf
    last = hf[s, F_LAST]
    ref = hf[s, F_WATCHED] if math.isnan(last) else last
    return ref + hf[s, F_BLIND] + limit


@njit(cache=True)
def _min_due(hf, hg):
    m = np.inf
    for s in range(hf.shape[0]):
        if hf[s, F_DUE] < m:
            m = hf[s, F_DUE]
    hg[G_MINDUE] = m


@njit(cache=True)
def refresh_all(hf, hi, days, hg, hp):
    """Every sensor's limits and due time afresh (after a load, or a change to all of them)."""
    for s in range(hf.shape[0]):
        if hi[s, I_EXISTS] == 1:
            refresh_limits(s, hf, hi, days, hp)
        hf[s, F_DUE] = _due(s, hf, hi)
    _min_due(hf, hg)


@njit(cache=True)
def _all_dues(hf, hi, hg):
    for s in range(hf.shape[0]):
        hf[s, F_DUE] = _due(s, hf, hi)
    _min_due(hf, hg)


@njit(cache=True)
def create(s, hf, hi, days, hg, hp, watched_from):
    """Sensor ``s`` (its row allocated with its role) exists from now, watched from ``watched_from``."""
    hi[s, I_EXISTS] = 1
    for f in (F_FIRST, F_LAST, F_SSINCE, F_RATE, F_DEV, F_DEVCLR):
        hf[s, f] = np.nan
    hf[s, F_WATCHED] = watched_from
    hf[s, F_BLIND] = 0.0
    hf[s, F_SLIMIT] = 0.0
    for i in (I_EVENTS, I_DHEAD, I_DCOUNT, I_WHEAD, I_WLEN, I_FFAULT, I_FSILENT):
        hi[s, i] = 0
    refresh_limits(s, hf, hi, days, hp)
    hf[s, F_DUE] = _due(s, hf, hi)
    if hf[s, F_DUE] < hg[G_MINDUE]:
        hg[G_MINDUE] = hf[s, F_DUE]


@njit(cache=True)
def touch(t, hf, hi, days, hg, hp):
    """Every input carries the time: the first one starts the watch, the first after a load ends a downtime."""
    if math.isnan(hg[G_ORIGIN]) or not math.isnan(hg[G_RESUME]):
        changed = False
        if math.isnan(hg[G_ORIGIN]):
            hg[G_ORIGIN] = t
            for s in range(hf.shape[0]):
                if hi[s, I_ONORIGIN] == 1:
                    if hi[s, I_EXISTS] == 0:
                        create(s, hf, hi, days, hg, hp, t)
                    hf[s, F_WATCHED] = t
            changed = True
        if not math.isnan(hg[G_RESUME]):
            down = max(0.0, t - hg[G_RESUME])
            for s in range(hf.shape[0]):
                if hi[s, I_EXISTS] == 1:
                    hf[s, F_BLIND] += down
            hg[G_RESUME] = np.nan
            if not math.isnan(hg[G_LASTEVENT]):
                hg[G_LASTEVENT] = max(hg[G_LASTEVENT], t)  # the downtime is already excluded
            changed = True
        if changed:
            _all_dues(hf, hi, hg)
    if math.isnan(hg[G_LASTMONO]) or t > hg[G_LASTMONO]:
        hg[G_LASTMONO] = t


# ------------------------------------------------------------------ inputs
@njit(cache=True)
def _note_observed(s, hg):
    o = hg[G_OBSERVED]
    hg[G_OBSERVED] = s if (o == -1 or o == s) else -2


@njit(cache=True)
def observe(t, s, kind, hf, hi, days, win, hg, hp):
    """An event of sensor ``s`` (its row allocated) at ``t``: learn its gap, day and rate window."""
    touch(t, hf, hi, days, hg, hp)
    last_ev = hg[G_LASTEVENT]
    hg[G_LASTEVENT] = t
    if not math.isnan(last_ev) and t - last_ev > hp[P_ABSENCE]:
        # after a whole-flat silence (the resident away) no sensor was expected to report
        lifeless = t - last_ev - hp[P_LIFE]
        for r in range(hf.shape[0]):
            if hi[r, I_EXISTS] == 1:
                hf[r, F_BLIND] += lifeless
        _all_dues(hf, hi, hg)
    if hi[s, I_EXISTS] == 0:
        create(s, hf, hi, days, hg, hp, hg[G_ORIGIN])
    last = hf[s, F_LAST]
    if not math.isnan(last) and t < last:
        hi[s, I_EVENTS] += 1  # out of order: alive, but no gap to learn
        refresh_limits(s, hf, hi, days, hp)
    else:
        _learn(t, s, kind, last, hf, hi, days, win, hg, hp)
    due = _due(s, hf, hi)
    old = hf[s, F_DUE]
    hf[s, F_DUE] = due
    if due < hg[G_MINDUE]:
        hg[G_MINDUE] = due
    elif old <= hg[G_MINDUE]:
        _min_due(hf, hg)


@njit(cache=True)
def _new_day(days, s, j, start):
    days[s, j, D_START] = start
    days[s, j, D_GAP] = 0.0
    days[s, j, D_RATE] = 0.0
    days[s, j, D_CHAT] = 0.0


@njit(cache=True)
def _learn(t, s, kind, last, hf, hi, days, win, hg, hp):
    """An event in order: the day of the sensor's own timeline, its longest gap, its rate window."""
    H = days.shape[1]
    n_days = hi[s, I_DCOUNT]
    if n_days == 0:
        _new_day(days, s, hi[s, I_DHEAD], t)
        hi[s, I_DCOUNT] = 1
        n_days = 1
    cur = (hi[s, I_DHEAD] + n_days - 1) % H
    refresh = hi[s, I_LEARNED] == 0
    start = days[s, cur, D_START]
    if t >= start + DAY:
        new_start = start + DAY * math.floor((t - start) / DAY)
        if n_days < H:
            cur = (hi[s, I_DHEAD] + n_days) % H
            hi[s, I_DCOUNT] = n_days + 1
        else:
            cur = hi[s, I_DHEAD]
            hi[s, I_DHEAD] = (cur + 1) % H
        _new_day(days, s, cur, new_start)
        refresh = True
    if not math.isnan(last) and hf[s, F_BLIND] == 0.0 and t - last > days[s, cur, D_GAP]:
        days[s, cur, D_GAP] = t - last
        refresh = True
    if math.isnan(hf[s, F_FIRST]):
        hf[s, F_FIRST] = t
    hf[s, F_LAST] = t
    hf[s, F_BLIND] = 0.0
    hi[s, I_EVENTS] += 1
    if not math.isnan(hf[s, F_SSINCE]):
        _note_observed(s, hg)
    hf[s, F_SSINCE] = np.nan
    if kind != APPLIANCE:  # a power meter reports on its own schedule: chatter is a property of switches
        wlen = hi[s, I_WLEN]
        if wlen == WINDOW:
            hi[s, I_WHEAD] = (hi[s, I_WHEAD] + 1) % WINDOW
            wlen -= 1
        win[s, (hi[s, I_WHEAD] + wlen) % WINDOW] = t
        hi[s, I_WLEN] = wlen + 1
        count = _prune(s, t, hi, win, hp)
        if count > days[s, cur, D_RATE]:
            days[s, cur, D_RATE] = count
            refresh = True
        if refresh:
            refresh_limits(s, hf, hi, days, hp)
            refresh = False
        if count > hf[s, F_CRATE] and math.isnan(hf[s, F_RATE]):
            hf[s, F_RATE] = t
            hg[G_NRATE] += 1
            _note_observed(s, hg)
        if not math.isnan(hf[s, F_RATE]):  # chatter never becomes the norm, nor its ramp
            refresh = days[s, cur, D_CHAT] == 0
            days[s, cur, D_CHAT] = 1.0
            n_days = hi[s, I_DCOUNT]
            if win[s, hi[s, I_WHEAD]] < days[s, cur, D_START] and n_days > 1:
                prev = (hi[s, I_DHEAD] + n_days - 2) % H
                if days[s, prev, D_CHAT] == 0:
                    refresh = True
                days[s, prev, D_CHAT] = 1.0
    if refresh:
        refresh_limits(s, hf, hi, days, hp)


@njit(cache=True)
def _prune(s, t, hi, win, hp):
    """Drop the events out of sensor ``s``'s rate window at ``t``; returns how many are left."""
    edge = t - hp[P_RATEWIN]
    head, wlen = hi[s, I_WHEAD], hi[s, I_WLEN]
    while wlen > 0 and win[s, head] <= edge:
        head = (head + 1) % WINDOW
        wlen -= 1
    hi[s, I_WHEAD], hi[s, I_WLEN] = head, wlen
    return wlen


# ------------------------------------------------------------------ findings
@njit(cache=True)
def _others_alive(s, t, hf, hi, hp):
    """Another sensor (not autonomous, not faulted) reported within the life window."""
    since = t - hp[P_LIFE]
    for r in range(hf.shape[0]):
        if r == s or hi[r, I_EXISTS] == 0 or hi[r, I_ROLE] == ROLE_AUTONOMOUS:
            continue
        last = hf[r, F_LAST]
        if not math.isnan(last) and last >= since and math.isnan(hf[r, F_RATE]) and math.isnan(hf[r, F_DEV]):
            return True
    return False


@njit(cache=True)
def chattering(s, t, hf, hp):
    """Sensor ``s`` has been above its rate limit for ``chatter_min_s`` at ``t``: a busy half hour
    is use; chatter goes on."""
    return not math.isnan(hf[s, F_RATE]) and t >= hf[s, F_RATE] + hp[P_CHATMIN]


@njit(cache=True)
def _before(t, due):
    """``t`` is so far before ``due`` that no rounding lets a silence measured at ``t`` pass its limit."""
    return due == np.inf or t < due - (_MARGIN_ABS + 1e-12 * abs(due))


@njit(cache=True)
def check(t, hf, hi, days, win, hg, hp):
    """The findings at ``t`` into the flags ``hi[:, I_FFAULT]``/``I_FSILENT``; returns whether any flag changed.

    While no sensor is faulted and no silence can be due, only the sensor observed since
    the last check can differ; otherwise every sensor is judged: a rate fault clears at half
    its limit and is a fault once it has lasted ``chatter_min_s`` (found at the first check
    after: a rate that high brings an event every few seconds), a device fault is held
    ``fault_hold_s`` after it clears, and a sensor silent
    past its limit latches while another one shows life.
    """
    touch(t, hf, hi, days, hg, hp)
    changed = False
    observed = int(hg[G_OBSERVED])
    hg[G_OBSERVED] = -1
    if hg[G_NRATE] == 0 and hg[G_NDEV] == 0 and observed != -2 and _before(t, hg[G_MINDUE]):
        if observed >= 0:
            sil = 0 if math.isnan(hf[observed, F_SSINCE]) else 1
            if sil != hi[observed, I_FSILENT] or hi[observed, I_FFAULT] != 0:
                hi[observed, I_FSILENT] = sil
                hi[observed, I_FFAULT] = 0
                changed = True
        return changed
    dues_changed = False
    for r in range(hf.shape[0]):
        if hi[r, I_EXISTS] == 0:
            continue
        fault = False
        if not math.isnan(hf[r, F_RATE]):
            if _prune(r, t, hi, win, hp) * 2 <= hf[r, F_CRATE]:
                hf[r, F_RATE] = np.nan  # hysteresis: half the limit to clear
                hg[G_NRATE] -= 1
            elif chattering(r, t, hf, hp):
                fault = True
        if not math.isnan(hf[r, F_DEVCLR]) and t >= hf[r, F_DEVCLR] + hp[P_HOLD]:
            hf[r, F_DEV] = np.nan
            hf[r, F_DEVCLR] = np.nan
            hg[G_NDEV] -= 1
        if not math.isnan(hf[r, F_DEV]):
            fault = True
        limit = hf[r, F_CLIMIT]
        if (math.isnan(hf[r, F_SSINCE]) and not math.isnan(limit) and math.isnan(hf[r, F_RATE])
                and math.isnan(hf[r, F_DEV]) and not _before(t, hf[r, F_DUE])):
            last = hf[r, F_LAST]
            ref = hf[r, F_WATCHED] if math.isnan(last) else last
            if t - ref - hf[r, F_BLIND] > limit and _others_alive(r, t, hf, hi, hp):
                hf[r, F_SSINCE] = ref
                hf[r, F_SLIMIT] = limit
                hf[r, F_DUE] = np.inf
                dues_changed = True
        sil = 0 if math.isnan(hf[r, F_SSINCE]) else 1
        f = 1 if fault else 0
        if f != hi[r, I_FFAULT] or sil != hi[r, I_FSILENT]:
            hi[r, I_FFAULT] = f
            hi[r, I_FSILENT] = sil
            changed = True
    if dues_changed:
        _min_due(hf, hg)
    return changed


@njit(cache=True)
def next_check(t, hf, hi, days, win, hg, hp):
    """The earliest time after ``t`` at which ``check`` may find something new; inf: none."""
    touch(t, hf, hi, days, hg, hp)
    if hg[G_NRATE] == 0 and hg[G_NDEV] == 0 and hg[G_MINDUE] > t:
        return hg[G_MINDUE]
    c = np.inf
    for r in range(hf.shape[0]):
        if hi[r, I_EXISTS] == 0:
            continue
        d = hf[r, F_DUE]
        if d > t and d < c:
            c = d
        if not math.isnan(hf[r, F_RATE]) and hi[r, I_WLEN] > 0:
            d = win[r, hi[r, I_WHEAD]] + hp[P_RATEWIN]
            if d > t and d < c:
                c = d
        if not math.isnan(hf[r, F_DEVCLR]):
            d = hf[r, F_DEVCLR] + hp[P_HOLD]
            if d > t and d < c:
                c = d
    return c
