"""The fixed timer's rule as numba kernels: what an event is, and what it does to the stopwatch.

``FixedTimerDetector`` calls :func:`observe` for each event and bulk replay
(``replay.bulk_kernels.fixed_advance``) calls it for a run of events, on the same state
arrays, so the rule is written once. The state, owned by the caller:

``st``: ``[F_LAST_MONO, F_LAST_LOCAL, F_NEXT_SEQ, F_HELD]`` — the last activity (NaN: none yet),
the next hold's insertion number and how many presence sensors are held;
per sensor row ``held_since`` (mono the hold began; NaN when not held or not known),
``held_seq`` (-1: not held; otherwise the order in which holds began) and ``app_on``
(1: the appliance's last reading was above the switch-on level).
"""

from __future__ import annotations

import numpy as np
from numba import njit

MOTION, PRESENCE, APPLIANCE, BUTTON = 0, 1, 4, 5  # events.Kind codes

F_LAST_MONO, F_LAST_LOCAL, F_NEXT_SEQ, F_HELD = 0, 1, 2, 3
NF = 4


@njit(cache=True)
def is_activity(kind, value, appliance_on, appliance_was_on):
    """Whether an event shows someone moving inside (presence OFF is a movement too).

    An appliance counts when it is switched on (``appliance_was_on``: it was on before
    this event): the level events it sends while on are no hand, a device left running
    may vary by itself. Door, entrance and presence: any change is a hand or a body."""
    if kind == MOTION or kind == BUTTON:
        return value > 0.0
    if kind == APPLIANCE:
        return value > appliance_on and not appliance_was_on
    return True


@njit(cache=True)
def observe(st, held_since, held_seq, app_on, kind, s, value, mono, local, appliance_on):
    """One event of sensor row ``s`` into the timer's state."""
    if kind == PRESENCE:
        if value > 0.0:
            if held_seq[s] < 0.0:
                held_seq[s] = st[F_NEXT_SEQ]
                st[F_NEXT_SEQ] += 1.0
                st[F_HELD] += 1.0
            if np.isnan(held_since[s]):
                held_since[s] = mono
        elif held_seq[s] >= 0.0:
            held_since[s] = np.nan
            held_seq[s] = -1.0
            st[F_HELD] -= 1.0
    was_on = app_on[s] > 0.0
    if kind == APPLIANCE:
        app_on[s] = 1.0 if value > appliance_on else 0.0
    if is_activity(kind, value, appliance_on, was_on):
        st[F_LAST_MONO] = mono
        st[F_LAST_LOCAL] = local
