"""Test doubles for the daemon's seams (the real ones have their own tests)."""

from __future__ import annotations

import asyncio

from hubd.events import Event, Kind
from hubd.seams import Uplink


def ev(t, sensor="pir_hall", kind=Kind.MOTION, value=1.0, offset=0.0) -> Event:
    """One event at monotonic ``t``, local time ``t + offset``: by default the hall PIR seeing motion."""
    return Event(float(t), float(t) + offset, sensor, kind, float(value))


class RecordingUplink(Uplink):
    def __init__(self):
        self.sent: list[tuple[str, str, str, int | None]] = []
        self.labels: list = []  # the tag label of each sent text (the real outbox appends the tag)
        self.conditions = None
        self.inbound = None

    def submit(self, to, text, purpose, alert_id, label=None):
        self.sent.append((to, text, purpose, alert_id))
        self.labels.append(label)
        return len(self.sent)

    async def run(self, conditions, inbound):
        self.conditions, self.inbound = conditions, inbound
        await asyncio.Event().wait()


def build_hub(config, clock, *, hardware=None, uplink=None, store=None, boot_id="test", **options):
    """The one way the tests assemble a daemon: the config's state directory, no hardware and a
    recording uplink unless a test brings its own (``options`` go to ``Daemon``)."""
    from hubd.daemon import Daemon
    from hubd.seams import NoHardware
    from hubd.store import Store

    return Daemon(config, clock, hardware if hardware is not None else NoHardware(),
                  uplink if uplink is not None else RecordingUplink(),
                  store if store is not None else Store(config.hub.state_dir), boot_id=boot_id, **options)


def health_dump(h) -> dict:
    """Everything a ``SensorHealth`` keeps (more than ``state()``: windows, faults, order), in the
    shape of ``health_reference.reference_dump``, to compare two of them whole."""
    import math

    from hubd.core import health_kernels as hk
    from hubd.core.health import ROLES

    def opt(x):
        return None if math.isnan(x) else float(x)

    st = h.st
    sensors = {}
    for sid in h.sensors:
        r = h.ids.index(sid)
        hf, hi = st.hf[r], st.hi[r]
        head, wlen = int(hi[hk.I_WHEAD]), int(hi[hk.I_WLEN])
        sensors[sid] = {
            "role": ROLES[int(hi[hk.I_ROLE])], "first_seen": opt(hf[hk.F_FIRST]), "last_seen": opt(hf[hk.F_LAST]),
            "watched_from": float(hf[hk.F_WATCHED]), "events": int(hi[hk.I_EVENTS]), "blind_s": float(hf[hk.F_BLIND]),
            "days": [dict(zip(("start", "max_gap", "max_rate", "chatter"), d)) for d in h._days(r)],
            "silent_since": opt(hf[hk.F_SSINCE]), "silent_limit": float(hf[hk.F_SLIMIT]),
            "window": [float(st.win[r, (head + j) % hk.WINDOW]) for j in range(wlen)],
            "rate_fault_since": opt(hf[hk.F_RATE]),
            "device_faults": dict(h._device.get(r, {})) if not math.isnan(hf[hk.F_DEV]) else {},
            "device_cleared_at": opt(hf[hk.F_DEVCLR]),
        }
    hg = st.hg
    return {"origin": opt(hg[hk.G_ORIGIN]), "last_mono": opt(hg[hk.G_LASTMONO]),
            "last_event": opt(hg[hk.G_LASTEVENT]), "resume_from": opt(hg[hk.G_RESUME]), "sensors": sensors}
