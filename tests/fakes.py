"""Test doubles for the daemon's seams (the real ones have their own tests)."""

from __future__ import annotations

import asyncio
from dataclasses import asdict

from hubd.seams import Uplink


class RecordingUplink(Uplink):
    def __init__(self):
        self.sent: list[tuple[str, str, str, int | None]] = []
        self.conditions = None
        self.inbound = None

    def submit(self, to, text, purpose, alert_id):
        self.sent.append((to, text, purpose, alert_id))
        return len(self.sent)

    async def run(self, conditions, inbound):
        self.conditions, self.inbound = conditions, inbound
        await asyncio.Event().wait()


def health_dump(h) -> dict:
    """Everything a ``SensorHealth`` keeps (more than ``state()``: windows, faults, order), to
    compare two of them whole; the ``_c*`` fields are its caches, not its state."""
    sensors = {}
    for sid, s in h.sensors.items():
        d = {k: v for k, v in vars(s).items() if not k.startswith("_c")}
        d["days"] = [asdict(x) for x in s.days]
        d["window"] = list(s.window)
        sensors[sid] = d
    return {"origin": h._origin, "last_mono": h._last_mono, "last_event": h._last_event,
            "resume_from": h._resume_from, "sensors": sensors}
