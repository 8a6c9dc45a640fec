"""The pure core. ``handle(event)`` and ``tick(mono, local)`` take inputs and return actions.

No I/O, no threads, no clock reads: the daemon, the simulator and ``hubd replay``
drive this same object, so a replay behaves exactly as the daemon would have.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable

from .actions import Audit, Log, Report, SendSms, SetOutputs
from .alerts import AlertPolicy
from ..config import Config
from ..detector.base import Detector, FixedTimerDetector, is_activity
from ..findings import RESIDENT, SYSTEM, Finding
from ..events import LONG_PRESS, Event, Kind
from .messages import refusal, render
from .outage import Bridge, PendingOutage, UnknownWall, bridge, corrector
from .consent import ConsentError
from .wellbeing import Wellbeing

HOME, AWAY, PAUSED = "home", "away", "paused"
HOUR = 3600.0
DAY = 86400.0


@dataclass
class Mode:
    name: str = HOME
    actor: str = ""
    since_mono: float | None = None
    until_mono: float | None = None
    since_local: float | None = None
    until_local: float | None = None


@dataclass(frozen=True)
class Timers:
    """The engine's own deadlines, besides the detector's and the watchers' (``Engine.timers``).

    Until the earliest of them nothing but the detector and the watchers changes at a call,
    unless the call is an event that ends an away mode or presses the OK button.
    """

    due: tuple[tuple[float, float], ...]  # (since, limit): acts once mono - since >= limit; tick at since + limit
    heartbeat_local: float | None  # acts once local >= it; tick at now + (it - now_local)
    every_call: bool  # every call acts (the first call sets the heartbeat; a fresh start watches for activity)
    away: tuple[float, float] | None  # (since, limit): inside activity ends the away mode once mono - since >= limit


class CommandError(ValueError):
    """A control command the engine refuses, with a reason a technician can act on."""


def make_detector(config: Config) -> Detector:
    """The detector the config asks for; the learned one carries the fixed safety net inside."""
    if config.detector.mode == "fixed":
        return FixedTimerDetector(config.detector.max_inactivity_hours * HOUR,
                                  held_limit_seconds=config.detector.held_max_hours * HOUR)
    from ..config import detector_params
    from ..detector.model import LearnedDetector

    return LearnedDetector(detector_params(config.detector))


def make_watchers(config: Config) -> list[Detector]:
    """System-side watchers: sensor health, with each configured sensor's role."""
    from .health import SensorHealth

    return [SensorHealth({s.id: s.role for s in config.sensors})]


class Engine:
    def __init__(self, config: Config, detector: Detector | None = None,
                 watchers: Iterable[Detector] | None = None, recipients: Iterable[str] | None = None):
        self.config = config
        self.detector = detector if detector is not None else make_detector(config)
        self.watchers = make_watchers(config) if watchers is None else list(watchers)
        self.policy = AlertPolicy(config.alerts, config.modem.recipients if recipients is None else recipients,
                                  config.hub.flat_id, config.hub.language)
        self.mode = Mode()
        self.autonomous = {s.id for s in config.sensors if s.role == "autonomous"}
        self.last_event: Event | None = None
        self.pause_alerted = False
        # installation tests (hubctl commission): id -> numbers asked to reply OK; id -> who did, when.
        # In memory: a hub restarted meanwhile asks for a new test (the technician is on site).
        self.tests_awaiting: dict[str, list[str]] = {}
        self.tests_confirmed: dict[str, dict[str, Any]] = {}
        self.now: float | None = None  # the last monotonic time processed
        self.now_local: float | None = None
        self.next_heartbeat_local: float | None = None
        self.conditions: dict[tuple[str, str], Finding] = {}  # reported by the shells (uplink, I2C)
        self.unknown: UnknownWall | None = None  # the wall clock is not synchronised (see wall_clock_set)
        self.restart: dict[str, Any] | None = None  # the last restart's outage (None while unknown)
        # a fresh start (first install, a damaged store set aside): the silence counts from here until
        # the first sign of life, by the safety net; a hub that has seen nothing is not a quiet flat
        self.watching_since: float | None = None
        self.wellbeing = Wellbeing(config)  # the daily rhythm record and its drift reports

    # -- inputs ------------------------------------------------------------------
    def handle(self, event: Event) -> list:
        self._at(event.mono, event.local)
        actions = self._expire_mode(event.mono, event.local)
        inside = event.sensor not in self.autonomous
        if inside:
            self.detector.observe(event)
            if _a_person(event):
                self.watching_since = None
        for watcher in self.watchers:
            watcher.observe(event)
        self.last_event = event
        if event.kind is Kind.BUTTON and event.value >= LONG_PRESS:
            return actions + self.set_mode(AWAY, self.config.alerts.button_away_hours, "resident (long press)",
                                           event.mono, event.local)
        if event.kind is Kind.BUTTON and event.value > 0:
            actions += self.policy.cancel_prealarms(event.mono, event.local, actor="resident (OK button)")
        if inside and self.mode.name == AWAY and event.kind is not Kind.ENTRANCE and _a_person(event):
            actions += self._back_home(event)
        return actions + self._evaluate(event.mono, event.local) + self._heartbeat(event.mono, event.local)

    def observe_rhythm(self, event: Event) -> list:
        """An event for the daily rhythm record (the daemon's; replay runs ``wellbeing.replay_reports``):
        inside sensors only, and never while the wall clock is unset (its time of day is unknown)."""
        if event.sensor in self.autonomous or self.unknown is not None:
            return []
        return self.wellbeing.observe(event)

    def _at(self, mono: float, local: float) -> None:
        self.now, self.now_local = mono, local
        if self.next_heartbeat_local is None and self.config.alerts.heartbeat_hours > 0:
            self.next_heartbeat_local = first_heartbeat(local, self.config.alerts.heartbeat_time,
                                                        self.config.alerts.heartbeat_hours)

    def _back_home(self, event: Event) -> list:
        """An away left on while the resident is home is how people died unwatched: end it."""
        since = self.mode.since_mono
        if since is None or event.mono - since < self.config.alerts.away_return_minutes * 60.0:
            return []
        set_by = self.mode.actor
        self.mode = Mode()
        return [Audit("hub", "away_ended", {"reason": "activity inside", "sensor": event.sensor, "set_by": set_by})]

    def _heartbeat(self, mono: float, local: float) -> list:
        due = self.next_heartbeat_local
        if due is None or local < due:
            return []
        interval = self.config.alerts.heartbeat_hours * HOUR
        while self.next_heartbeat_local <= local:
            self.next_heartbeat_local += interval
        det = self.detector.status(mono, local)
        facts = {"last_activity_local": det.get("last_activity_local"), "mode": self.mode.name,
                 "open_alerts": len(self.policy.alerts), "inactive_seconds": det.get("inactive_seconds")}
        return [Report("heartbeat", facts)]

    def tick(self, mono: float, local: float) -> list:
        self._at(mono, local)
        actions = self._expire_mode(mono, local)
        actions += self._evaluate(mono, local)
        if self.unknown is None:
            actions += self.wellbeing.tick(local)
        return actions + self.policy.tick(mono, local) + self._heartbeat(mono, local)

    def report_condition(self, finding: Finding | None, ident: tuple[str, str], mono: float, local: float) -> list:
        """A system condition seen by a shell (modem link down, I2C chip failing); None clears it."""
        self.now = mono
        if finding is None:
            self.conditions.pop(ident, None)
        else:
            self.conditions[ident] = finding
        return self._evaluate(mono, local)

    def timers(self) -> Timers:
        """The engine's own deadlines (see :class:`Timers`): what a bulk replay that runs the
        detector and the watchers itself must stop for."""
        due = [(t, 0.0) for t in (self.policy.next_deadline(), self.mode.until_mono) if t is not None]
        if self.watching_since is not None:
            due.append((self.watching_since, self._safety_net))
        if self.mode.name == PAUSED and not self.pause_alerted and self.mode.since_mono is not None:
            due.append((self.mode.since_mono, self.config.alerts.max_pause_hours * HOUR))
        away = None
        if self.mode.name == AWAY and self.mode.since_mono is not None:
            away = (self.mode.since_mono, self.config.alerts.away_return_minutes * 60.0)
        first = self.next_heartbeat_local is None and self.config.alerts.heartbeat_hours > 0
        return Timers(tuple(due), self.next_heartbeat_local, first or self.watching_since is not None, away)

    def next_deadline(self, mono: float) -> float | None:
        """When the core next needs a tick even if no event arrives (always after the last time processed)."""
        timers = self.timers()
        candidates = [since + limit for since, limit in timers.due]
        if timers.heartbeat_local is not None and self.now is not None and self.now_local is not None:
            candidates.append(self.now + (timers.heartbeat_local - self.now_local))
        candidates.append(self.detector.next_check(mono))
        candidates += [w.next_check(mono) for w in self.watchers]
        floor = mono if self.now is None else max(mono, self.now)
        future = [c for c in candidates if c is not None and c > floor]
        return min(future) if future else None

    # -- commands from the technician, the resident or the office ----------------
    def _refuse(self, template: str, **values: Any) -> CommandError:
        """A refusal in the hub's language (``messages.REFUSALS_JA``)."""
        return CommandError(refusal(template, self.config.hub.language, **values))

    def set_mode(self, name: str, hours: float, actor: str, mono: float, local: float) -> list:
        if name not in (AWAY, PAUSED):
            raise self._refuse("unknown mode {name}", name=repr(name))
        if not hours or hours <= 0:
            raise self._refuse("a mode needs a positive duration: modes always expire")
        cap = self.config.alerts.max_away_days * 24 if name == AWAY else 7 * 24
        if hours > cap:
            raise self._refuse("{mode} for {hours} h is longer than the maximum {cap} h", mode=name,
                               hours=f"{hours:g}", cap=f"{cap:g}")
        self.mode = Mode(name, actor, mono, mono + hours * HOUR, local, local + hours * HOUR)
        self.pause_alerted = False
        detail = {"mode": name, "hours": hours, "until_local": self.mode.until_local}
        return [Audit(actor, f"mode_{name}", detail)] + self._evaluate(mono, local)

    def resume(self, actor: str, mono: float, local: float) -> list:
        previous = self.mode.name
        self.mode = Mode()
        self.pause_alerted = False
        return [Audit(actor, "mode_home", {"previous": previous})] + self._evaluate(mono, local)

    def ack(self, alert_id: int, actor: str, mono: float, local: float) -> list:
        ok, actions = self.policy.ack(alert_id, actor, mono, local)
        if not ok:
            raise self._refuse("no alarm with id {id} is waiting for acknowledgement", id=alert_id)
        return actions

    def test_alert(self, to: str | None, actor: str, mono: float, local: float, confirm: bool = False) -> list:
        """A real end-to-end SMS, recorded as a test, never as an alert. ``confirm``: the
        installation test, which asks the office to reply ``OK <id>`` (:meth:`confirm_test`)."""
        recipients = [to] if to else list(self.policy.recipients[:1])
        if not recipients:
            raise self._refuse("no recipient: give --to NUMBER or configure modem.recipients")
        test_id = f"T{int(local) % 100000:05d}"
        kind = "commission_test" if confirm else "test"
        text = render(kind, self.config.hub.language, flat=self.config.hub.flat_id, id=test_id)
        if confirm:
            self.tests_awaiting[test_id] = list(recipients)
        return [Audit(actor, "test_alert", {"to": recipients, "id": test_id, "confirm": confirm})] + [
            SendSms(r, text, "test", kind=kind) for r in recipients]

    def confirm_test(self, test_id: str, number: str, actor: str, mono: float, local: float) -> list:
        """The office's ``OK <id>`` to an installation test: who confirmed it and when is audited
        (and kept for ``hubctl commission``), and the office is thanked, so it knows it was heard."""
        if number not in self.tests_awaiting.get(test_id, ()):
            raise self._refuse("no installation test {id} sent to {number} awaits confirmation", id=test_id, number=number)
        del self.tests_awaiting[test_id]
        self.tests_confirmed[test_id] = {"by": number, "local": local}
        text = render("test_confirmed", self.config.hub.language, flat=self.config.hub.flat_id, id=test_id)
        return [Audit(actor, "test_confirmed", {"id": test_id, "by": number}), SendSms(number, text, "reply", kind="test_confirmed")]

    def consent(self, number: str, name: str, subject: str, actor: str, local: float) -> list:
        """The resident agreed that ``number`` may receive rhythm reports (``core.consent``)."""
        try:
            return self.wellbeing.consent(number, name, subject, actor, local)
        except ConsentError as exc:
            raise CommandError(str(exc)) from None

    def revoke_consent(self, entry_id: int, actor: str, local: float) -> list:
        try:
            return self.wellbeing.revoke(entry_id, actor, local)
        except ConsentError as exc:
            raise CommandError(str(exc)) from None

    # -- evaluation --------------------------------------------------------------
    def _expire_mode(self, mono: float, local: float) -> list:
        if self.mode.name == HOME or self.mode.until_mono is None or mono < self.mode.until_mono:
            return []
        expired = self.mode
        self.mode = Mode()
        self.pause_alerted = False
        return [Audit("hub", f"{expired.name}_expired", {"set_by": expired.actor, "since_local": expired.since_local})]

    def findings(self, mono: float, local: float) -> list[Finding]:
        found = list(self.detector.check(mono, local))
        if self.watching_since is not None and mono - self.watching_since >= self._safety_net:
            found.append(Finding("inactivity", RESIDENT, self.watching_since, self._safety_net,
                                 detail={"rule": "nothing_seen_since_start"}))
        for watcher in self.watchers:
            found += watcher.check(mono, local)
        found += self.conditions.values()
        if self.mode.name in (AWAY, PAUSED):
            found = [f for f in found if f.category != RESIDENT]
        if self.mode.name == PAUSED and self.mode.since_mono is not None:
            limit = self.config.alerts.max_pause_hours * HOUR
            if mono - self.mode.since_mono >= limit:
                found.append(Finding("monitoring_paused_too_long", SYSTEM, self.mode.since_mono, limit,
                                     detail={"set_by": self.mode.actor}))
        return found

    @property
    def _safety_net(self) -> float:
        return self.config.detector.max_inactivity_hours * HOUR

    def _evaluate(self, mono: float, local: float) -> list:
        found = self.findings(mono, local)
        if any(f.type == "monitoring_paused_too_long" for f in found):
            self.pause_alerted = True
        return self.policy.update(found, mono, local)

    # -- reading -----------------------------------------------------------------
    def status(self, mono: float, local: float) -> dict[str, Any]:
        det = self.detector.status(mono, local)
        return {
            "mode": asdict(self.mode),
            "detector": det,
            "open_alerts": [a.record() for a in self.policy.open_alerts()],
            "outputs": self.policy.outputs_pattern(),
            "watchers": [w.status(mono, local) for w in self.watchers],
            "clock": {"wall_known": self.unknown is None, "restart": self.restart},
        }

    # -- persistence -------------------------------------------------------------
    def snapshot(self, mono: float, local: float, boot_id: str = "") -> dict[str, Any]:
        return {
            "saved_mono": mono, "saved_local": local, "boot_id": boot_id,
            "mode": asdict(self.mode), "pause_alerted": self.pause_alerted,
            "next_heartbeat_local": self.next_heartbeat_local, "watching_since_mono": self.watching_since,
            "policy": self.policy.state(), "detector": self.detector.state(),
            "watchers": [w.state() for w in self.watchers], "rhythm": self.wellbeing.state(),
            "clock": {"known": self.unknown is None, "restart": self.restart,
                      "unknown": None if self.unknown is None else self.unknown.state()},
        }

    def restore(self, snap: dict[str, Any], mono: float, local: float, boot_id: str = "",
                restarted: bool = True, synced: bool = True) -> list:
        """Resume from a snapshot; a restart is reported, never silent (a config reload is not a restart).

        ``synced``: whether the wall clock is trusted now. Across a reboot with an unset clock the
        outage is unknown: it is bridged with a lower bound, said so, and measured by
        :meth:`wall_clock_set` once the clock is set (see :mod:`hubd.core.outage`).
        """
        bridged = bridge(snap, mono, local, boot_id, synced)
        rebase = bridged.rebase
        mode = snap.get("mode") or {}
        self.mode = Mode(**mode)
        for attr in ("since_mono", "until_mono"):
            value = getattr(self.mode, attr)
            if value is not None:
                setattr(self.mode, attr, rebase(value))
        self.pause_alerted = bool(snap.get("pause_alerted", False))
        since = snap.get("watching_since_mono")
        self.watching_since = None if since is None else rebase(float(since))
        self.policy.load(snap.get("policy") or {}, rebase)
        self.detector.load(snap.get("detector") or {}, rebase)
        skip = getattr(self.detector, "skip_unobserved", None)
        if skip is not None:  # the downtime was not watched: never learn it as the resident's inactivity
            skip(mono)
        for watcher, state in zip(self.watchers, snap.get("watchers") or []):
            watcher.load(state, rebase)
        self.wellbeing.load(snap.get("rhythm"))
        if restarted:
            self.wellbeing.skip_unobserved(local)
        saved_clock = snap.get("clock") or {}
        carried = saved_clock.get("unknown") if bridged.same_boot else None
        if carried is not None:  # the same unset clock as before this restart (a crash, a reload)
            self.unknown = UnknownWall.from_state(carried)
        elif not synced:
            self.unknown = UnknownWall(local - mono, mono)
            if bridged.measurable:
                self.unknown.outage = PendingOutage(float(snap["saved_local"]), mono, bridged.lower_bound,
                                                    sorted(rebase.produced), reported=restarted)
        else:
            self.unknown = None
        self.detector.hold_learning(self.unknown is not None)
        self.next_heartbeat_local = self._restored_heartbeat(snap, bridged, local)
        if self.unknown is not None and self.unknown.outage is not None and not bridged.same_boot:
            self.unknown.outage.heartbeat = self.next_heartbeat_local
        if not restarted:  # a reload: the last restart's figures still hold
            self.restart = saved_clock.get("restart")
            return [Audit("hub", "restored", {"restarted": False}), SetOutputs(self.policy.outputs_pattern())] + \
                self._evaluate(mono, local)
        outage = bridged.outage
        self.restart = {"outage_seconds": outage, "at_least_seconds": bridged.lower_bound}
        detail = {"down_seconds": outage, "same_boot": bridged.same_boot}
        actions: list = [Audit("hub", "restored", {"down_seconds": outage, "outage_known": outage is not None,
                                                   "at_least_seconds": bridged.lower_bound, "restarted": True})]
        if outage is None:
            actions.append(Log("warning", f"wall clock not synchronised: the outage before this restart is unknown "
                                          f"(at least {bridged.lower_bound:.0f} s); silences count from the stored "
                                          f"activity as if it were that long until the time is known"))
            notice = Finding("hub_restarted_clock_unset", SYSTEM, mono - bridged.lower_bound, 0.0,
                             detail={**detail, "at_least_seconds": bridged.lower_bound})
        else:
            notice = Finding("hub_restarted", SYSTEM, mono - outage, 0.0, detail=detail)
        actions += self.policy.notify(notice, mono, local)
        actions.append(SetOutputs(self.policy.outputs_pattern()))
        return actions + self._evaluate(mono, local)

    def _restored_heartbeat(self, snap: dict[str, Any], bridged: Bridge, local: float) -> float | None:
        """The next heartbeat on this clock's wall time: the same wait as if the outage were what was
        bridged (an unset clock's wall time is not the stored one's), never more than one interval."""
        due = snap.get("next_heartbeat_local")
        if due is None or self.config.alerts.heartbeat_hours <= 0:
            return None
        if not bridged.same_boot:
            due = local + (float(due) - float(snap.get("saved_local", local)) - bridged.lower_bound)
        return self._within_interval(float(due), local)

    def _within_interval(self, due: float, local: float) -> float:
        if due > local + self.config.alerts.heartbeat_hours * HOUR:
            return first_heartbeat(local, self.config.alerts.heartbeat_time, self.config.alerts.heartbeat_hours)
        return due

    def start_fresh(self, mono: float, local: float, synced: bool = True) -> list:
        """A first start (no stored state): nothing to bridge, but an unset clock's time of day is not learned."""
        self.unknown = None if synced else UnknownWall(local - mono, mono)
        self.detector.hold_learning(not synced)
        self.watching_since = mono
        return [Audit("hub", "first_start", {"clock_synced": synced})]

    def wall_clock_set(self, mono: float, local: float) -> list:
        """The wall clock is trusted now (NTP or the modem's network time): measure the outage the
        restart had to bridge, move the restored times back by what the bound missed, fix the
        stale wall stamps, learn again, and judge every silence at once."""
        unknown, self.unknown = self.unknown, None
        if unknown is None:
            return []
        jump = unknown.jump(mono, local)
        stale_from = unknown.since_mono + unknown.stale_offset
        actions: list = [Audit("hub", "clock_set", {"jump_seconds": jump, "stale_from_local": stale_from}),
                         Log("info", f"wall clock set: it moved {jump:+.0f} s; event times logged since the "
                                     f"unset clock read {stale_from:.0f} are that much off")]
        pending = unknown.outage
        heartbeat = self.next_heartbeat_local
        if heartbeat is not None:
            heartbeat += jump
        if pending is not None:
            outage = max(0.0, pending.restore_mono + (local - mono) - pending.saved_local)
            missed = max(0.0, outage - pending.lower_bound)  # the bound errs early, never late: keep it if over
            if missed > 0:
                self._move_back(corrector(pending.restored, missed))
                if heartbeat is not None and self.next_heartbeat_local == pending.heartbeat:
                    heartbeat -= missed  # still the one restored: due when it would have been
            self.restart = {"outage_seconds": outage, "at_least_seconds": pending.lower_bound}
            measured = {"down_seconds": outage, "bridged_seconds": pending.lower_bound}
            actions += [Audit("hub", "outage_measured", measured),
                        Log("warning", f"wall clock set: the outage before the restart was {outage:.0f} s "
                                       f"({missed:.0f} s more than bridged); silences recomputed")]
            if pending.reported:  # the office was told "unknown": the figure says how long nobody watched
                actions += self.policy.notify(Finding("hub_outage_measured", SYSTEM, mono - outage, 0.0,
                                                      detail={"down_seconds": outage}), mono, local)
        self.detector.wall_clock_set(jump, unknown.since_mono, mono)
        self.detector.hold_learning(False)
        if heartbeat is not None:
            self.next_heartbeat_local = self._within_interval(heartbeat, local)
        return actions + self._evaluate(mono, local)

    def _move_back(self, correct: Callable[[float], float]) -> None:
        """Re-restore each part's state through ``correct`` (the same path a restart takes)."""
        for attr in ("since_mono", "until_mono"):
            value = getattr(self.mode, attr)
            if value is not None:
                setattr(self.mode, attr, correct(value))
        if self.watching_since is not None:
            self.watching_since = correct(self.watching_since)
        self.policy.load(self.policy.state(), correct)
        self.detector.load(self.detector.state(), correct)


def _a_person(event: Event) -> bool:
    """Activity that only a person makes: an appliance alone neither ends an away mode nor proves
    the flat alive after a start (it may run, and its draw vary, by itself: a PC left on)."""
    return event.kind is not Kind.APPLIANCE and is_activity(event)


def first_heartbeat(local: float, time_of_day: str, interval_hours: float) -> float:
    """The first heartbeat at or after ``local``: at the configured time of day, every interval after."""
    hh, mm = (int(x) for x in time_of_day.split(":"))
    t = (local // DAY) * DAY + hh * HOUR + mm * 60.0
    step = min(interval_hours * HOUR, DAY)
    while t < local:
        t += step
    return t
