"""Test doubles for the daemon's seams (the real ones have their own tests)."""

from __future__ import annotations

import asyncio

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
