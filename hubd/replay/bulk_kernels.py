"""Numba kernels of the bulk replay path: pure functions of arrays and scalars.

The engine's per-event path (``Engine.handle`` / ``Engine.tick`` driven by
``replay.per_event.Replayer``) is the reference; these kernels do the same work for the calls
in which nothing but the sensor-health watcher changes, so that only the few calls
that matter (alerts, heartbeats, buttons, mode changes, detector findings) go
through the Python engine. Each kernel has a slow, obvious reference that it must
match in the tests: the engine (per event) for :func:`run_calls`, which runs sensor
health through its own kernels (``core.health_kernels``) and asks the engine for its
deadlines (``Engine.timers``); ``FixedTimerDetector`` (whose kernel it runs) for :func:`fixed_advance`,
``events.EventReader`` for :func:`parse_csv` (``tests/test_bulk_kernels.py``,
``tests/test_replay_bulk.py``).

No globals beyond the layout constants below; state lives in arrays the caller owns.
Every float expression is written in the order the Python reference evaluates it,
so results agree to the bit.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..core import health_kernels as hk
from ..detector import fixed_kernels as fk

# scheduler state ``sc``
S_NOW, S_NOWL, S_LEM, S_LEL, S_HAVE, S_POS, S_T, S_L = 0, 1, 2, 3, 4, 5, 6, 7
NS = 8
# run parameters ``rp`` (set by the Python driver from ``Engine.timers`` before each call of run_calls)
R_HB, R_AWAY_SINCE, R_AWAY_RET, R_EVERY, R_DET_CAND, R_DET_STOP, R_UNTIL, R_SEGEND, R_STEP = range(9)
R_FIRST = 9  # the next call goes to the engine whatever it is (the batch's first call)
R_WATCH = 10  # the engine has the sensor-health watcher
NR = 11
# run_calls results
DONE, STOP_EVENT, STOP_TICK = 0, 1, 2


# ------------------------------------------------------------------ the engine's calls
@njit(cache=True)
def _engine_due(t, loc, rp, tm):
    """Whether the engine does something at a call at (t, loc) beyond the detector and the watcher."""
    if rp[R_FIRST] > 0.0 or rp[R_EVERY] > 0.0:
        return True
    for k in range(tm.shape[0]):
        if t - tm[k, 0] >= tm[k, 1] or t >= tm[k, 0] + tm[k, 1]:
            return True
    hb = rp[R_HB]
    return not math.isnan(hb) and loc >= hb


@njit(cache=True)
def run_calls(mono, local, kind, slot, value, inside, sc, rp, tm, hf, hi, days, win, hg, hp):
    """Drive the engine's call sequence (``Replayer.feed`` / ``advance_to``) for the health watcher.

    From ``sc[S_POS]``: the ticks before that event (at the engine's deadlines, inclusive),
    then the event, and so on until the segment end ``rp[R_SEGEND]`` (the ticks before
    it included) or, at the end of the events, the ticks up to ``rp[R_UNTIL]``. Every call
    runs the health watcher's kernels as ``SensorHealth`` does (``observe`` for an event, then
    ``check``; before each tick ``next_check`` of the last event's time). The run stops after
    the watcher's part of a call that the engine must make itself (returns STOP_EVENT, the
    event observed and marked so, or STOP_TICK, its time in ``sc[S_T]``, ``sc[S_L]``): the
    watcher's findings changed, one of the engine's own deadlines (``tm``: ``Engine.timers``),
    a heartbeat, a button, the end of an away mode, or a call in the window where the
    detector may change. Returns DONE at the segment end.
    """
    n = mono.shape[0]
    h = int(rp[R_SEGEND])
    step = rp[R_STEP] > 0.0
    watch = rp[R_WATCH] > 0.0
    while True:
        pos = int(sc[S_POS])
        # ---- the next call: a tick at the engine's next deadline up to event ``pos`` (inclusive), or the event
        is_tick = False
        t = np.nan
        loc = np.nan
        if sc[S_HAVE] > 0.0:
            if pos < n:
                bound = mono[pos]
            else:
                bound = rp[R_UNTIL] if not math.isnan(rp[R_UNTIL]) else -np.inf
            lem = sc[S_LEM]
            now, now_l = sc[S_NOW], sc[S_NOWL]
            floor = lem if math.isnan(now) else max(lem, now)
            best = np.inf
            for k in range(tm.shape[0]):
                c = tm[k, 0] + tm[k, 1]
                if c > floor and c < best:
                    best = c
            c = rp[R_DET_CAND] if pos == h else np.inf
            if c > floor and c < best:
                best = c
            hb = rp[R_HB]
            if not math.isnan(hb) and not math.isnan(now) and not math.isnan(now_l):
                c = now + (hb - now_l)
                if c > floor and c < best:
                    best = c
            if watch:
                c = hk.next_check(lem, hf, hi, days, win, hg, hp)
                if c > floor and c < best:
                    best = c
            if best < np.inf and best <= bound:
                is_tick = True
                t = best
                loc = sc[S_LEL] + (t - lem)
        if not is_tick:
            if pos >= h or pos >= n:
                return DONE
            t, loc = mono[pos], local[pos]
        sc[S_NOW], sc[S_NOWL] = t, loc
        changed = False
        if watch:
            if not is_tick:
                hk.observe(t, slot[pos], kind[pos], hf, hi, days, win, hg, hp)
            changed = hk.check(t, hf, hi, days, win, hg, hp)
        # ---- what the engine does at this call besides the watcher
        if is_tick:
            if changed or t >= rp[R_DET_STOP] and pos == h or _engine_due(t, loc, rp, tm):
                sc[S_T], sc[S_L] = t, loc
                return STOP_TICK
            continue
        sc[S_LEM], sc[S_LEL] = t, loc
        sc[S_HAVE] = 1.0
        sc[S_POS] = pos + 1
        stop = step or changed or _engine_due(t, loc, rp, tm)
        if not stop and kind[pos] == 5 and value[pos] > 0.0:
            stop = True  # the OK button
        away = rp[R_AWAY_SINCE]
        if not stop and not math.isnan(away) and inside[pos] and kind[pos] != 3 and kind[pos] != fk.APPLIANCE \
                and fk.is_activity(kind[pos], value[pos], 0.0, np.bool_(False)):
            stop = not (t - away < rp[R_AWAY_RET])  # inside activity may end an away mode
        if stop:
            if watch:
                hg[hk.G_SKIP] = 1.0  # SensorHealth.observe: the engine's call finds this event observed
            return STOP_EVENT


# ------------------------------------------------------------------ fixed timer
@njit(cache=True)
def first_visible(since, limit, due):
    """The earliest time t (a double) with ``t - since >= limit``: when ``check`` first shows it.

    ``t - since`` never falls as t grows, so the answer is found by bracketing it from
    ``due = since + limit`` (usually one double away) and bisecting: a walk one double at a
    time would not end near zero (a hold since before this boot, rebased to -limit, has
    ``due`` at 0.0, with ~10^18 doubles below it that all still pass)."""
    if not (math.isfinite(due) and math.isfinite(since)):
        return due
    if due - since >= limit:
        hi = due
        lo = np.nextafter(due, -np.inf)
        step = due - lo
        while lo - since >= limit:
            hi = lo
            step *= 2.0
            lo = due - step
    else:
        lo = due
        hi = np.nextafter(due, np.inf)
        step = hi - due
        while not (hi - since >= limit):
            lo = hi
            step *= 2.0
            hi = due + step
    while True:  # lo is not shown, hi is
        mid = lo + (hi - lo) * 0.5
        if not (lo < mid < hi):
            mid = np.nextafter(lo, np.inf)
            if mid >= hi:
                return hi
        if mid - since >= limit:
            hi = mid
        else:
            lo = mid


@njit(cache=True)
def first_appearance(ids, n_ids):
    """Renumber ids (0 <= id < n_ids) in order of first appearance: (new ids, old id of each new id,
    index of each old id's first appearance or -1)."""
    first = np.full(n_ids, -1, dtype=np.int64)
    order = np.empty(n_ids, dtype=np.int64)
    remap = np.full(n_ids, -1, dtype=np.int64)
    k = 0
    for i in range(ids.shape[0]):
        x = ids[i]
        if first[x] < 0:
            first[x] = i
            order[k] = x
            remap[x] = k
            k += 1
    out = np.empty(ids.shape[0], dtype=np.int64)
    for i in range(ids.shape[0]):
        out[i] = remap[ids[i]]
    return out, order[:k], first


@njit(cache=True)
def with_checks(mono, local, kind, sensor, value):
    """The detector's events with a non-activity event (motion 0 of the same sensor) just before
    the first event at each time that could end a finding: a finding due exactly then is
    latched by it, as the engine's tick at that time shows it. Returns the five arrays and,
    for each event j, the index of its inserted check (or of itself when it has none)."""
    n = mono.shape[0]
    extra = 0
    for j in range(n):
        if (j == 0 or mono[j] != mono[j - 1]) and (kind[j] != 0 and kind[j] != 5 or value[j] > 0.0):
            extra += 1
    m = n + extra
    am, al, av = np.empty(m), np.empty(m), np.empty(m)
    ak, asn = np.empty(m, dtype=np.int64), np.empty(m, dtype=np.int64)
    start = np.empty(n + 1, dtype=np.int64)
    k = 0
    for j in range(n):
        start[j] = k
        if (j == 0 or mono[j] != mono[j - 1]) and (kind[j] != 0 and kind[j] != 5 or value[j] > 0.0):
            am[k], al[k], ak[k], asn[k], av[k] = mono[j], local[j], 0, sensor[j], 0.0
            k += 1
        am[k], al[k], ak[k], asn[k], av[k] = mono[j], local[j], kind[j], sensor[j], value[j]
        k += 1
    start[n] = k
    return am, al, ak, asn, av, start


@njit(cache=True)
def fixed_advance(mono, local, kind, sensor, value, a, b, st, held_since, held_seq, app_on, limit, held_limit,
                  appliance_on, t_last):
    """``FixedTimerDetector`` fed events [a, b) (``fixed_kernels.observe`` on its own state
    arrays; ``sensor`` holds its rows); returns the earliest time at which what ``check``
    shows may change (inf: none in these events): a finding falling due (or the engine's
    tick at its due time), or the event that ends a finding shown.

    A finding due before ``t_last`` (the last call) is already shown; it matters again
    only when the event that ends it comes.
    """
    first = np.inf
    for k in range(a, b):
        tk = mono[k]
        if first == np.inf:
            last = st[fk.F_LAST_MONO]
            if st[fk.F_HELD] == 0 and not math.isnan(last):
                due = last + limit
                vis = first_visible(last, limit, due)
                if min(due, vis) <= tk:
                    if max(due, vis) >= t_last:
                        first = min(due, vis)
                    elif fk.is_activity(kind[k], value[k], appliance_on, app_on[sensor[k]] > 0.0):
                        first = tk
            if st[fk.F_HELD] > 0 and not math.isnan(held_limit):
                for j in range(held_since.shape[0]):
                    since = held_since[j]
                    if math.isnan(since):
                        continue
                    due = since + held_limit
                    vis = first_visible(since, held_limit, due)
                    if min(due, vis) <= tk:
                        if max(due, vis) >= t_last:
                            first = min(first, due, vis)
                        elif kind[k] == fk.PRESENCE and sensor[k] == j and not value[k] > 0.0:
                            first = min(first, tk)
        fk.observe(st, held_since, held_seq, app_on, kind[k], sensor[k], value[k], tk, local[k], appliance_on)
    return first


# ------------------------------------------------------------------ event CSV
MAX_LINE = 100_000  # longer lines go to the csv module (its field size limit)
CSV_OK, CSV_STRICT = 0, 1


@njit(cache=True)
def _days_from_civil(y, m, d):
    y -= 1 if m <= 2 else 0
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = (m + 9) % 12
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@njit(cache=True)
def _strict_or_blank(buf, a, n):
    """Scan a line the canonical parser did not take: (end, code, line end without CR).

    code: 0 a row for the strict parser, 1 blank (skipped, as the csv module skips it),
    2 the text needs the csv module (a quote, a NUL, a carriage return not before a line
    feed, a line too long for its field limit)."""
    i = a
    commas = 0
    all_space = True
    while i < n and buf[i] != 10:
        c = buf[i]
        if c == 34 or c == 0:
            return i, 2, i
        if c == 13 and not (i + 1 < n and buf[i + 1] == 10):
            return i, 2, i
        if c == 44:
            commas += 1
        if c != 32 and c != 13:
            all_space = False
        i += 1
    b = i
    if b > a and buf[b - 1] == 13:
        b -= 1
    if b - a > MAX_LINE:
        return i, 2, b
    if b == a or (commas == 0 and all_space):
        return i, 1, b
    return i, 0, b


@njit(cache=True)
def parse_csv(buf, n_lines, kinds, kind_len, header):
    """One pass over the bytes of an event CSV.

    Returns (status, mono, local, offset, value, kind, sensor, line, flag, start, end,
    sensor_start, sensor_len); ``start``/``end``: the byte range of each flagged row, in order. Status CSV_STRICT: the text needs the csv module (a quote,
    a lone carriage return, a NUL, a very long line). Otherwise one entry per line that is
    not blank, in file order: the parsed row (offset NaN: a naive time) and flag 0 when
    the row is in the canonical form ``YYYY-MM-DDTHH:MM:SS[.f{1,6}][Z|+HH:MM]``, a sensor
    id without outer blanks, a lowercase kind and a plain decimal value; flag 1 and the
    line's byte range for every other row, which the strict row parser decides (line 1
    unless it is exactly the header). Sensor ids are numbered in order of first
    appearance; ``sensor_start``/``sensor_len`` locate each one's first occurrence.
    """
    n = buf.shape[0]
    e0 = np.empty(0)
    i0 = np.empty(0, dtype=np.int64)
    b0 = np.empty(0, dtype=np.int8)
    mono_a = np.empty(n_lines)
    local_a = np.empty(n_lines)
    off_a = np.empty(n_lines)
    val_a = np.empty(n_lines)
    kind_a = np.empty(n_lines, dtype=np.int64)
    sid_a = np.empty(n_lines, dtype=np.int64)
    line_a = np.empty(n_lines, dtype=np.int64)
    flag_a = np.empty(n_lines, dtype=np.int8)
    start_a = np.empty(16, dtype=np.int64)  # byte range of each row left to the strict parser
    end_a = np.empty(16, dtype=np.int64)
    n_strict = 0
    pow10 = np.ones(23)
    for k in range(1, 23):
        pow10[k] = pow10[k - 1] * 10.0
    cap = 64
    table = np.full(cap, -1, dtype=np.int64)
    s_start = np.empty(16, dtype=np.int64)
    s_len = np.empty(16, dtype=np.int64)
    s_hash = np.empty(16, dtype=np.int64)
    n_s = 0
    r = 0
    line = 0
    i = np.int64(0)  # not a literal: see detector.kernels' Conventions
    while i < n:
        a = i
        line += 1
        ok = line > 1
        # ---- time: YYYY-MM-DDTHH:MM:SS at fixed places
        if ok and a + 20 <= n:
            ok = (buf[a + 4] == 45 and buf[a + 7] == 45 and buf[a + 10] == 84 and buf[a + 13] == 58
                  and buf[a + 16] == 58)
        else:
            ok = False
        if ok:
            for j in range(19):
                if j == 4 or j == 7 or j == 10 or j == 13 or j == 16:
                    continue
                c = int(buf[a + j])
                if c < 48 or c > 57:
                    ok = False
                    break
        if ok:
            y = (int(buf[a]) - 48) * 1000 + (int(buf[a + 1]) - 48) * 100 + (int(buf[a + 2]) - 48) * 10 + int(buf[a + 3]) - 48
            mo = (int(buf[a + 5]) - 48) * 10 + int(buf[a + 6]) - 48
            d = (int(buf[a + 8]) - 48) * 10 + int(buf[a + 9]) - 48
            hh = (int(buf[a + 11]) - 48) * 10 + int(buf[a + 12]) - 48
            mi = (int(buf[a + 14]) - 48) * 10 + int(buf[a + 15]) - 48
            ss = (int(buf[a + 17]) - 48) * 10 + int(buf[a + 18]) - 48
            ok = 1900 <= y <= 2200 and 1 <= mo <= 12 and d >= 1 and hh <= 23 and mi <= 59 and ss <= 59
            if ok:
                dim = 31
                if mo == 2:
                    dim = 29 if ((y % 4 == 0 and y % 100 != 0) or y % 400 == 0) else 28
                elif mo == 4 or mo == 6 or mo == 9 or mo == 11:
                    dim = 30
                ok = d <= dim
        p = a + 19
        us = 0
        off = 0
        aware = False
        if ok and p < n and buf[p] == 46:  # fraction of a second, 1..6 digits
            q = p + 1
            while q < n and 48 <= buf[q] <= 57 and q - p <= 7:
                us = us * 10 + int(buf[q]) - 48
                q += 1
            nd = q - p - 1
            if nd < 1 or nd > 6:
                ok = False
            else:
                for _ in range(6 - nd):
                    us *= 10
            p = q
        if ok and p < n:
            c = buf[p]
            if c == 90:  # Z
                aware = True
                p += 1
            elif c == 43 or c == 45:
                if p + 6 <= n and buf[p + 3] == 58:
                    digits = True
                    for j in (1, 2, 4, 5):
                        if not 48 <= buf[p + j] <= 57:
                            digits = False
                    if digits:
                        oh = (int(buf[p + 1]) - 48) * 10 + int(buf[p + 2]) - 48
                        om = (int(buf[p + 4]) - 48) * 10 + int(buf[p + 5]) - 48
                        ok = oh <= 23 and om <= 59
                        off = oh * 3600 + om * 60
                        if c == 45:
                            off = -off
                        aware = True
                        p += 6
                    else:
                        ok = False
                else:
                    ok = False
        if ok:
            ok = p < n and buf[p] == 44
        # ---- sensor: up to the next comma, hashed on the way
        sa = p + 1
        h = 0
        if ok:
            q = sa
            while q < n:
                c = buf[q]
                if c == 44:
                    break
                if c < 32 or c == 34 or c == 127:
                    ok = False
                    break
                h = ((h * 1099511628211) ^ int(c)) & 0x3FFFFFFFFFFFFFFF
                q += 1
            sb = q
            if ok:
                ok = (q < n and sb > sa and buf[sa] != 32 and buf[sb - 1] != 32 and buf[sa] < 128
                      and buf[sb - 1] < 128)
            p = q
        # ---- kind
        kind = -1
        if ok:
            ka = p + 1
            q = ka
            while q < n and buf[q] != 44 and buf[q] != 10 and q - ka <= 12:
                q += 1
            if q < n and buf[q] == 44:
                for k in range(kinds.shape[0]):
                    L = kind_len[k]
                    if q - ka == L:
                        same = True
                        for j in range(L):
                            if buf[ka + j] != kinds[k, j]:
                                same = False
                                break
                        if same:
                            kind = k
                            break
            ok = kind >= 0
            p = q
        # ---- value: -?digits(.digits)? with an exact mantissa, then the end of the line
        value = 0.0
        if ok:
            q = p + 1
            neg = False
            if q < n and buf[q] == 45:
                neg = True
                q += 1
            m = 0
            nd = 0
            nf = 0
            dot = False
            while q < n:
                c = int(buf[q])
                if 48 <= c <= 57:
                    m = m * 10 + c - 48
                    nd += 1
                    if dot:
                        nf += 1
                elif c == 46 and not dot and nd > 0:
                    dot = True
                else:
                    break
                q += 1
            ok = nd > 0 and nd <= 17 and not (dot and nf == 0) and m < 9007199254740992
            if ok:
                if q < n and buf[q] == 13:
                    ok = q + 1 < n and buf[q + 1] == 10
                    b = q
                    q += 1
                else:
                    b = q
                    ok = q == n or buf[q] == 10
            if ok and b - a > MAX_LINE:
                ok = False
            if ok:
                value = float(m)
                if nf > 0:
                    value = value / pow10[nf]
                if neg:
                    value = -value
                i = q + 1  # past the line feed
        if not ok:
            # ---- not canonical: find the line's end; a blank line is skipped, the rest is Python's
            q, code, b = _strict_or_blank(buf, a, n)
            i = q + 1
            if code == 2:
                return (CSV_STRICT, e0, e0, e0, e0, i0, i0, i0, b0, i0, i0, i0, i0)
            if code == 1:
                continue
            if line == 1 and b - a == header.shape[0]:
                same = True
                for j in range(b - a):
                    if buf[a + j] != header[j]:
                        same = False
                        break
                if same:
                    continue
            if n_strict == start_a.shape[0]:
                start_a = np.concatenate((start_a, np.empty(n_strict, dtype=np.int64)))
                end_a = np.concatenate((end_a, np.empty(n_strict, dtype=np.int64)))
            start_a[n_strict], end_a[n_strict] = a, b
            n_strict += 1
            kind_a[r], sid_a[r], line_a[r], flag_a[r] = -1, -1, line, 1
            r += 1
            continue
        # ---- the canonical row
        days = _days_from_civil(y, mo, d)
        local_us = ((days * 86400 + hh * 3600 + mi * 60 + ss) * 1_000_000) + us
        if aware:
            absolute = float(local_us - off * 1_000_000) / 1e6
            offset = float(off)
            local_a[r] = absolute + offset
            mono_a[r] = absolute
            off_a[r] = offset
        else:
            lt = float(local_us) / 1e6
            local_a[r] = lt
            mono_a[r] = lt
            off_a[r] = np.nan
        slot = h & (cap - 1)
        sid = -1
        while True:
            e = table[slot]
            if e < 0:
                break
            if s_hash[e] == h and s_len[e] == sb - sa:
                same = True
                st0 = s_start[e]
                for j in range(sb - sa):
                    if buf[st0 + j] != buf[sa + j]:
                        same = False
                        break
                if same:
                    sid = e
                    break
            slot = (slot + 1) & (cap - 1)
        if sid < 0:
            sid = n_s
            if n_s == s_start.shape[0]:
                s_start = np.concatenate((s_start, np.empty(n_s, dtype=np.int64)))
                s_len = np.concatenate((s_len, np.empty(n_s, dtype=np.int64)))
                s_hash = np.concatenate((s_hash, np.empty(n_s, dtype=np.int64)))
            s_start[sid], s_len[sid], s_hash[sid] = sa, sb - sa, h
            n_s += 1
            table[slot] = sid
            if n_s * 2 > cap:  # grow and rehash
                cap *= 2
                table = np.full(cap, -1, dtype=np.int64)
                for e in range(n_s):
                    sl = s_hash[e] & (cap - 1)
                    while table[sl] >= 0:
                        sl = (sl + 1) & (cap - 1)
                    table[sl] = e
        val_a[r], kind_a[r], sid_a[r], line_a[r], flag_a[r] = value, kind, sid, line, 0
        r += 1
    return (CSV_OK, mono_a[:r], local_a[:r], off_a[:r], val_a[:r], kind_a[:r], sid_a[:r], line_a[:r], flag_a[:r],
            start_a[:n_strict], end_a[:n_strict], s_start[:n_s], s_len[:n_s])
