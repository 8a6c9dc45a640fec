"""The fixed timer written plainly, as the slow reference for ``detector.fixed_kernels``.

``FixedTimerDetector`` keeps its state in arrays stepped by a numba kernel; this is the
rule as sets and dicts, the way a person would write it, and the tests hold the kernel to it.
"""

from __future__ import annotations

from hubd.events import Event, Kind


class ReferenceFixedTimer:
    def __init__(self, appliance_on_watts: float = 0.0):
        self.appliance_on_watts = appliance_on_watts
        self.last_activity_mono: float | None = None
        self.last_activity_local: float | None = None
        self.held_since: dict[str, float] = {}  # insertion order = the order holds began
        self.appliances_on: set[str] = set()

    @staticmethod
    def is_activity(event: Event, appliance_on_watts: float, was_on: bool) -> bool:
        if event.kind in (Kind.MOTION, Kind.BUTTON):
            return event.value > 0
        if event.kind is Kind.APPLIANCE:
            return event.value > appliance_on_watts and not was_on
        return True

    def observe(self, event: Event) -> None:
        if event.kind is Kind.PRESENCE:
            if event.value > 0:
                self.held_since.setdefault(event.sensor, event.mono)
            else:
                self.held_since.pop(event.sensor, None)
        was_on = event.sensor in self.appliances_on
        if event.kind is Kind.APPLIANCE:
            (self.appliances_on.add if event.value > self.appliance_on_watts else self.appliances_on.discard)(event.sensor)
        if self.is_activity(event, self.appliance_on_watts, was_on):
            self.last_activity_mono, self.last_activity_local = event.mono, event.local
