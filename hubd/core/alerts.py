"""Alert policy: turns conditions into episodes — ask the resident first, then tell
the office surely, escalate until someone acknowledges, and say when it is over.

Pure and synchronous: it is given findings and times, it returns actions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from .actions import AlertChanged, Audit, SendSms, SetOutputs
from ..config import AlertsConfig
from ..findings import RESIDENT, SYSTEM, Finding
from .messages import render

PREALARM, PENDING, ALARM = "prealarm", "pending", "alarm"
SETTLING = "settling"  # the fault of a sensor that comes and goes has cleared, not yet for long enough to be over
CANCELLED, RESOLVED, NOTIFIED = "cancelled", "resolved", "notified"
OPEN_STAGES = (PREALARM, PENDING, ALARM)
NOT_OVER = OPEN_STAGES + (SETTLING,)  # the stages of an alert the policy still holds (``hubctl alerts --open``)
SETTLES = ("sensor_fault", "sensor_silent")  # a sensor's own fault: one that comes and goes is one fault
HUB_PARTS = ("storage",)  # keys of the hub's own parts, whose owner (the daemon) judges when they are well


@dataclass
class Alert:
    id: int
    type: str
    category: str
    key: str
    since_mono: float
    since_local: float
    raised_mono: float
    raised_local: float
    limit: float
    stage: str
    detail: dict[str, Any] = field(default_factory=dict)
    step: int = 0
    next_mono: float | None = None
    notified: list[str] = field(default_factory=list)
    acked_by: str | None = None
    ended_local: float | None = None
    reminder_mono: float | None = None  # while settling: when the next reminder was due
    cleared_mono: float | None = None  # while settling: when the condition went

    @property
    def open(self) -> bool:
        return self.stage in OPEN_STAGES

    def record(self) -> dict[str, Any]:
        return asdict(self)


class AlertPolicy:
    def __init__(self, config: AlertsConfig, recipients: Iterable[str], flat_id: str, language: str):
        self.config = config
        self.recipients = list(recipients)
        self.flat_id = flat_id
        self.language = language
        self.alerts: dict[int, Alert] = {}  # open alerts only
        self.next_id = 1
        self.last_texted: dict[str, float] = {}  # "type/key" of system alerts -> mono their episode ended

    # -- reading -----------------------------------------------------------------
    def open_alerts(self) -> list[Alert]:
        return sorted(self.alerts.values(), key=lambda a: a.id)

    def next_deadline(self) -> float | None:
        times = [a.next_mono for a in self.alerts.values() if a.next_mono is not None]
        return min(times) if times else None

    def outputs_pattern(self) -> str:
        stages = {(a.category, a.stage) for a in self.alerts.values()}
        if any(stage == ALARM and cat == RESIDENT for cat, stage in stages):
            return "alarm"
        if any(stage == PREALARM for _, stage in stages):
            return "prealarm"
        if any(cat == SYSTEM for cat, _ in stages):
            return "fault"
        return "off"

    # -- changes -----------------------------------------------------------------
    def update(self, findings: list[Finding], mono: float, local: float) -> list:
        """Open an alert for each new condition; end alerts whose condition is gone."""
        actions: list = []
        before = self.outputs_pattern()
        current = {f.ident: f for f in findings}
        for alert in list(self.alerts.values()):
            gone = (alert.type, alert.key) not in current
            if gone and alert.stage != SETTLING:
                actions += self._settle(alert, mono, local)
            elif not gone and alert.stage == SETTLING:
                actions += self._resume(alert, mono)
        open_idents = {(a.type, a.key) for a in self.alerts.values()}
        for ident, finding in current.items():
            if ident not in open_idents:
                actions += self._raise(finding, mono, local)
        return actions + self._outputs_if_changed(before)

    def cancel_prealarms(self, mono: float, local: float, actor: str) -> list:
        """The OK button: the resident is fine; nothing goes to the office."""
        before = self.outputs_pattern()
        actions: list = []
        for alert in list(self.alerts.values()):
            if alert.stage == PREALARM:
                actions += self._end(alert, mono, local, reason=f"cancelled by {actor}")
        return actions + self._outputs_if_changed(before)

    def ack(self, alert_id: int, actor: str, mono: float, local: float) -> tuple[bool, list]:
        alert = self.alerts.get(alert_id)
        if alert is None or alert.stage != ALARM:
            return False, []
        alert.acked_by = actor
        alert.next_mono = None
        return True, [Audit(actor, "ack", {"alert": alert_id}), AlertChanged(alert.record())]

    def notify(self, finding: Finding, mono: float, local: float) -> list:
        """A one-shot system notice (hub restarted): one SMS to the first recipient, no episode."""
        since_local = local - (mono - finding.since_mono)
        alert = Alert(id=self.next_id, type=finding.type, category=finding.category, key=finding.key,
                      since_mono=finding.since_mono, since_local=since_local, raised_mono=mono,
                      raised_local=local, limit=finding.limit, stage=NOTIFIED, detail=dict(finding.detail),
                      ended_local=local)
        self.next_id += 1
        actions: list = [Audit("hub", "notice", {"alert": alert.id, "type": alert.type}),
                         AlertChanged(alert.record(), raised=True)]
        if self.recipients:
            alert.notified.append(self.recipients[0])
            text = render(alert.type, self.language, flat=self.flat_id, id=alert.id, key=alert.key,
                          silence_s=mono - finding.since_mono)
            actions.append(SendSms(self.recipients[0], text, "system", alert.id, kind=alert.type))
        return actions

    def tick(self, mono: float, local: float) -> list:
        before = self.outputs_pattern()
        actions: list = []
        for alert in list(self.alerts.values()):
            if alert.next_mono is None or alert.next_mono > mono:
                continue
            if alert.stage in (PREALARM, PENDING):
                actions += self._escalate_to_alarm(alert, mono, local)
            elif alert.stage == SETTLING:
                actions += self._end(alert, mono, local, reason="sensor behaved since it cleared")
            elif alert.stage == ALARM:
                actions += self._send_step(alert, mono, local)
        return actions + self._outputs_if_changed(before)

    # -- internals ---------------------------------------------------------------
    def _raise(self, finding: Finding, mono: float, local: float) -> list:
        since_local = local - (mono - finding.since_mono)
        alert = Alert(
            id=self.next_id, type=finding.type, category=finding.category, key=finding.key,
            since_mono=finding.since_mono, since_local=since_local, raised_mono=mono,
            raised_local=local, limit=finding.limit, stage=PREALARM, detail=dict(finding.detail),
        )
        self.next_id += 1
        self.alerts[alert.id] = alert
        prealarm_s = self.config.prealarm_minutes * 60.0
        actions: list = [Audit("hub", "alert_raised", {"alert": alert.id, "type": alert.type, "key": alert.key})]
        if finding.category == RESIDENT and prealarm_s > 0:
            alert.next_mono = mono + prealarm_s
            actions.append(AlertChanged(alert.record(), raised=True))
            return actions
        grace_s = self.config.system_grace_minutes * 60.0
        if finding.category == SYSTEM and finding.limit <= 0 and grace_s > 0:
            # a fault with no time threshold of its own must persist before the office hears of it
            alert.stage = PENDING
            alert.next_mono = mono + grace_s
            actions.append(AlertChanged(alert.record(), raised=True))
            return actions
        alert.stage = ALARM
        actions.append(AlertChanged(alert.record(), raised=True))
        return actions + self._send_step(alert, mono, local)

    def _escalate_to_alarm(self, alert: Alert, mono: float, local: float) -> list:
        announce = [Audit("hub", f"{alert.stage}_expired", {"alert": alert.id})]
        alert.stage = ALARM
        if alert.category == SYSTEM and self._recently_texted(alert, mono):
            alert.next_mono = None
            alert.detail["repeat_suppressed"] = True
            return announce + [Audit("hub", "repeat_suppressed", {"alert": alert.id, "type": alert.type}),
                               AlertChanged(alert.record())]
        return announce + self._send_step(alert, mono, local)

    def _recently_texted(self, alert: Alert, mono: float) -> bool:
        ended = self.last_texted.get(f"{alert.type}/{alert.key}")
        return ended is not None and mono - ended < self.config.system_repeat_hours * 3600.0

    def _send_step(self, alert: Alert, mono: float, local: float) -> list:
        """Send to the next recipient in escalation order; stop after the repeat limit.

        A resident alarm walks the escalation list every ACK timeout; a system fault goes to
        the first recipient and is only repeated as a slow reminder while it lasts.
        """
        system = alert.category == SYSTEM
        ladder = self.recipients[:1] if system else self.recipients
        total_steps = len(ladder) * self.config.repeat_limit
        if not ladder or alert.step >= total_steps:
            alert.next_mono = None
            return [AlertChanged(alert.record())]
        to = ladder[alert.step % len(ladder)]
        alert.step += 1
        wait = self.config.system_reminder_hours * 3600.0 if system else self.config.ack_timeout_minutes * 60.0
        alert.next_mono = mono + wait if alert.step < total_steps else None
        if to not in alert.notified:
            alert.notified.append(to)
        text = render(alert.type, self.language, flat=self.flat_id, id=alert.id, key=alert.key,
                      silence_s=mono - alert.since_mono, detail=alert.detail)
        return [SendSms(to, text, "system" if alert.category == SYSTEM else "alarm", alert.id, kind=alert.type),
                AlertChanged(alert.record())]

    def _settle(self, alert: Alert, mono: float, local: float) -> list:
        """A condition gone: the alert ends, except the fault of a sensor that comes and goes (the
        office was told of it, and of the same fault ended less than ``sensor_settle_hours``
        before this one began): that is over only once the sensor has behaved for
        ``sensor_settle_hours``; back within them, it is the same fault, not news (a chattering
        mat is one fault, not one a day). A one-off fault is resolved when it clears."""
        settle_s = self.config.sensor_settle_hours * 3600.0
        before = self.last_texted.get(f"{alert.type}/{alert.key}")
        comes_and_goes = before is not None and alert.raised_mono - before < settle_s
        if alert.type not in SETTLES or alert.key in HUB_PARTS or not alert.notified or not comes_and_goes:
            return self._end(alert, mono, local, reason="condition ended")
        alert.stage, alert.cleared_mono = SETTLING, mono
        alert.reminder_mono, alert.next_mono = alert.next_mono, mono + settle_s
        return [Audit("hub", "alert_settling", {"alert": alert.id}), AlertChanged(alert.record())]

    def _resume(self, alert: Alert, mono: float) -> list:
        """The sensor's fault is back while settling: the same alert goes on, nothing is texted."""
        alert.stage, alert.cleared_mono = ALARM, None
        alert.next_mono = None if alert.reminder_mono is None else max(alert.reminder_mono, mono)  # due: now
        return [Audit("hub", "alert_resumed", {"alert": alert.id}), AlertChanged(alert.record())]

    def _end(self, alert: Alert, mono: float, local: float, reason: str) -> list:
        del self.alerts[alert.id]
        alert.next_mono = None
        alert.ended_local = local
        actions: list = []
        if alert.stage in (PREALARM, PENDING):
            alert.stage = CANCELLED
        else:
            if alert.category == SYSTEM and alert.notified:
                self.last_texted[f"{alert.type}/{alert.key}"] = mono
            alert.stage = RESOLVED
            gone = alert.cleared_mono if alert.cleared_mono is not None else mono  # settled: since it went
            text = render("resolved", self.language, alert_type=alert.type, flat=self.flat_id, id=alert.id,
                          key=alert.key, silence_s=gone - alert.since_mono)
            actions += [SendSms(to, text, "resolved", alert.id, kind=f"resolved:{alert.type}") for to in alert.notified]
        actions.insert(0, Audit("hub", f"alert_{alert.stage}", {"alert": alert.id, "reason": reason}))
        actions.append(AlertChanged(alert.record()))
        return actions

    def _outputs_if_changed(self, before: str) -> list:
        after = self.outputs_pattern()
        return [SetOutputs(after)] if after != before else []

    # -- persistence -------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {"next_id": self.next_id, "open": [a.record() for a in self.open_alerts()],
                "last_texted": dict(self.last_texted)}

    def load(self, state: dict[str, Any], rebase) -> None:
        self.next_id = int(state.get("next_id", 1))
        self.last_texted = {k: rebase(v) for k, v in (state.get("last_texted") or {}).items()}
        self.alerts = {}
        for rec in state.get("open", []):
            alert = Alert(**rec)
            alert.since_mono = rebase(alert.since_mono)
            alert.raised_mono = rebase(alert.raised_mono)
            if alert.next_mono is not None:
                alert.next_mono = rebase(alert.next_mono)
            if alert.reminder_mono is not None:
                alert.reminder_mono = rebase(alert.reminder_mono)
            if alert.cleared_mono is not None:
                alert.cleared_mono = rebase(alert.cleared_mono)
            self.alerts[alert.id] = alert
