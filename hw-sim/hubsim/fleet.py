"""A fleet of simulated hubs texting one housing office, for the office desk's demo and tests.

Each hub is the hub's own core: its engine and alert policy, its office commands (an ``ACK n``
from the office stops its escalation), its heartbeat text and its outbox's tag numbering,
living a scripted resident (``hubsim.resident``) that it has learned for a week. The fleet runs
them on one clock that the caller advances, and hands back the texts that left the hubs. What
goes wrong is chosen per hub (``FATES``): a resident collapses, a hub dies, a modem loses the
network for a day and a half, a text is lost on the way. No daemon, no modem, no threads: a
fleet of dozens runs in seconds.
"""

from __future__ import annotations

import argparse
import os
import random
from dataclasses import dataclass
from datetime import datetime

from hubd.clock import FakeClock
from hubd.core.actions import Report, SendSms
from hubd.core.engine import Engine
from hubd.core.office import OfficeCommands, report_text
from hubd.events import Event
from hubd.findings import SYSTEM, Finding
from hubd.modem.outbox import Outbox
from hubd.seams import UPLINK_DOWN
from hubd.sms_tag import TagError, label
from hubd.store import Store

from .resident import PROFILES, Resident, collapse
from .runner import learned_engine, sim_config

HOUR, DAY = 3600.0, 86400.0
FATES = ("well", "collapse", "dies", "modem_lost", "loses_texts")
TICK_S = 60.0  # the hub's engine tick
MODEM_LOST_H = 30.0  # longer than a heartbeat interval and its grace: the desk must notice
SIGNAL = {"signal": {"rssi": -71, "bars": 3}}


@dataclass(frozen=True)
class Text:
    """An SMS that left a hub (``at``: the hub's local time, seconds since the epoch)."""

    at: float
    sender: str
    to: str
    text: str


class SimHub:
    """One flat: its resident's events, its hub's core, and what happens to it (``fate`` at ``fate_at``)."""

    def __init__(self, flat: str, number: str, office: str, events: list[Event], engine: Engine, store: Store,
                 fate: str, fate_at: float):
        self.flat, self.number, self.office = flat, number, office
        self.events, self.engine, self.store = events, engine, store
        self.commands = OfficeCommands(engine.config)
        self.outbox = Outbox(store, FakeClock())
        self.fate, self.fate_at = fate, fate_at
        self.now = events[0].local if events else fate_at
        self._next_event = 0
        self._held: list[Text] = []  # texts waiting for the network (modem_lost)
        self._link_down = False
        self._lost_one = False

    @property
    def dead(self) -> bool:
        return self.fate == "dies" and self.now >= self.fate_at

    def _network_down(self, t: float) -> bool:
        return self.fate == "modem_lost" and self.fate_at <= t < self.fate_at + MODEM_LOST_H * HOUR

    def advance(self, until: float) -> list[Text]:
        """Live up to ``until``: feed the resident's events, tick each minute; the texts that left."""
        out: list[Text] = []
        while self.now < until and not self.dead:
            tick = min(until, (self.now // TICK_S + 1) * TICK_S)
            if self.fate == "dies":
                tick = min(tick, self.fate_at)
            while self._next_event < len(self.events) and self.events[self._next_event].local <= tick:
                event = self.events[self._next_event]
                self._next_event += 1
                out += self._texts(self.engine.handle(event), event.local)
            self.now = tick
            out += self._link(tick)
            out += self._texts(self.engine.tick(tick, tick), tick)
        return out

    def receive(self, sender: str, text: str, at: float) -> list[Text]:
        """An SMS reaches this hub (an ``ACK n`` forwarded by the desk): what the hub answers."""
        if self.dead or self._network_down(at):
            return []
        return self._texts(self.commands.on_sms(sender, text, True, self.engine, at, at), at)

    def _link(self, t: float) -> list[Text]:
        """The modem's network, as the real uplink reports it to the engine; held texts go when it is back."""
        down = self._network_down(t)
        if down == self._link_down:
            return []
        self._link_down = down
        finding = Finding("uplink_down", SYSTEM, t, 0.0, detail={"reason": "no network"}) if down else None
        out = self._texts(self.engine.report_condition(finding, UPLINK_DOWN, t, t), t)
        if not down:
            released, self._held = self._held, []
            out = [Text(t, m.sender, m.to, m.text) for m in released] + out
        return out

    def _texts(self, actions: list, t: float) -> list[Text]:
        out = []
        for action in actions:
            if isinstance(action, SendSms):
                to, words, kind, alert_id = action.to, action.text, action.kind, action.alert_id
            elif isinstance(action, Report):
                to, kind, alert_id = self.office, action.kind, None
                words = report_text(action, dict(SIGNAL, outbox={"queued": len(self._held)}), self.engine.config)
            else:
                continue
            try:
                text = self.outbox.compose(to, words, label(self.flat, kind, alert_id))
            except TagError:
                text = words
            sms = Text(t, self.number, to, text)
            if self._network_down(t):
                self._held.append(sms)
            elif self.fate == "loses_texts" and not self._lost_one and t >= self.fate_at:
                self._lost_one = True  # this one never arrives: the desk sees a gap in the sequence
            else:
                out.append(sms)
        return out


class Fleet:
    """Many hubs on one clock. ``advance(until)`` runs them all and returns their texts in time order."""

    def __init__(self, hubs: list[SimHub]):
        self.hubs = hubs
        self.by_number = {h.number: h for h in hubs}

    def advance(self, until: float) -> list[Text]:
        texts = [t for hub in self.hubs for t in hub.advance(until)]
        return sorted(texts, key=lambda t: t.at)

    def deliver(self, to: str, sender: str, text: str, at: float) -> list[Text]:
        """An SMS for the hub whose number is ``to`` (unknown numbers go nowhere, as on a network)."""
        hub = self.by_number.get(to)
        return hub.receive(sender, text, at) if hub else []


def hub_number(i: int) -> str:
    return f"+8170{i:08d}"


def plan_fates(n: int, rng: random.Random) -> list[str]:
    """One of each trouble for the first hubs (so a small demo shows them all), the rest well."""
    troubles = [f for f in FATES if f != "well"]
    fates = [troubles[i] if i < len(troubles) else "well" for i in range(n)]
    rng.shuffle(fates)
    return fates


def build_fleet(n: int, state_dir: str, office: str, start_local: float, seed: int = 1, history_days: int = 7,
                live_days: int = 3, language: str = "en", fates: list[str] | None = None) -> Fleet:
    """``n`` hubs whose residents have lived ``history_days`` before ``start_local`` (learned by
    each hub) and go on for ``live_days``; troubles strike within the first live hours."""
    rng = random.Random(seed)
    fates = fates if fates is not None else plan_fates(n, rng)
    profiles = [p for p in PROFILES if p != "busy"]
    day0 = start_local - history_days * DAY
    hubs = []
    for i in range(n):
        flat = f"F-{101 + i}"
        profile = profiles[i % len(profiles)]
        fate = fates[i]
        fate_at = start_local + rng.uniform(1.0, 5.0) * HOUR
        args = argparse.Namespace(profile=profile, language=language, detector="learned")
        hub_dir = os.path.join(state_dir, flat)
        os.makedirs(hub_dir, exist_ok=True)
        config = sim_config(hub_dir, "", args, flat_id=flat, office=office)

        scenarios = [collapse(fate_at, on_floor=True)] if fate == "collapse" else []
        events = Resident(seed * 1000 + i, profile=profile).days(day0, history_days + live_days, scenarios=scenarios)
        engine = learned_engine(config, [e for e in events if e.local < start_local])
        store = Store(os.path.join(hub_dir, "outbox"))
        hubs.append(SimHub(flat, hub_number(i), office, [e for e in events if e.local >= start_local], engine,
                           store, fate, fate_at))
    return Fleet(hubs)


def day_start(year: int = 2026, month: int = 1, day: int = 12, hour: int = 0) -> float:
    """A local time as seconds since the epoch (the simulated hubs keep local time as UTC)."""
    return (datetime(year, month, day, hour) - datetime(1970, 1, 1)).total_seconds()
