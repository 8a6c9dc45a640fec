"""The rhythm part of the core: days recorded, drift judged, and told only where consented.

The engine feeds it its inside events (while the wall clock is known) and its ticks; replay
and the benchmark drive the same object over a log (:func:`replay_reports`). A drift report
is audited and kept in the flat (the last :data:`MAX_REPORTS`); an SMS goes only to the numbers
with a consent in force (:mod:`hubd.core.consent`), at most once per ``sms_interval_days``.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Iterable, Iterator

from .actions import Audit, Log, SendSms
from .consent import Consents
from .drift import DriftWatch
from .messages import hour_of_day, rhythm_text
from .rhythm_record import RhythmDays, bed_sensors_of
from ..events import Event

MAX_REPORTS = 100


class Wellbeing:
    def __init__(self, config: Any):
        self.config = config
        self.days = RhythmDays(config.rhythm.outing_minutes, bed_sensors_of(config.sensors))
        self.drift = DriftWatch(config.rhythm)
        self.consents = Consents()
        self.reports: deque[dict[str, Any]] = deque(maxlen=MAX_REPORTS)

    def observe(self, event: Event) -> list:
        return self._judge(self.days.observe(event), event.local)

    def tick(self, local: float) -> list:
        return self._judge(self.days.roll(local), local)

    def skip_unobserved(self, local: float) -> list:
        """A restart: the days the hub was down are not recorded, nor judged against."""
        self.days.skip_unobserved(local)
        return []

    def _judge(self, closed: list[dict], local: float) -> list:
        actions: list = []
        for _ in closed:
            for report in self.drift.judge(self.days.records):
                actions += self._tell(report, local)
        return actions

    def _tell(self, report: dict[str, Any], local: float) -> list:
        rules = self.config.rhythm
        to = self.consents.recipients(report["kind"], local, rules.sms_interval_days)
        report = {**report, "sent_to": to}
        self.reports.append(report)
        actions: list = [Audit("hub", "rhythm_drift", report),
                         Log("info", f"rhythm drift ({report['kind']}): {report['before']} -> {report['after']} "
                                     f"{report['unit']}; {'sent to ' + ', '.join(to) if to else 'kept in the flat'}")]
        text = sms_text(report, self.config.hub.language, self.config.hub.flat_id)
        for number in to:
            self.consents.mark_sent(number, local)
            actions.append(SendSms(number, text, "report", kind="rhythm_drift"))
        return actions

    # -- consent commands (hubctl consent) ------------------------------------------
    def consent(self, number: str, name: str, subject: str, by: str, local: float) -> list:
        entry = self.consents.add(number, name, subject, by, local)
        return [Audit(by, "consent_given", entry)]

    def revoke(self, entry_id: int, by: str, local: float) -> list:
        entry = self.consents.revoke(entry_id, by, local)
        return [Audit(by, "consent_revoked", entry)]

    # -- reading and persistence -------------------------------------------------------
    def view(self, days: int) -> dict[str, Any]:
        return {"days": list(self.days.records)[-days:], "reports": list(self.reports),
                "consents": [dict(e) for e in self.consents.entries]}

    def state(self) -> dict[str, Any]:
        return {"days": self.days.state(), "drift": self.drift.state(), "consents": self.consents.state(),
                "reports": list(self.reports)}

    def load(self, state: dict[str, Any] | None) -> None:
        state = state or {}
        self.days.load(state.get("days") or {})
        self.drift.load(state.get("drift"))
        self.consents.load(state.get("consents"))
        self.reports.clear()
        self.reports.extend(state.get("reports") or [])


def sms_text(report: dict[str, Any], language: str, flat: str) -> str:
    """The text a consenting recipient gets, in the hub's language (``messages``)."""
    before, after = report["before"], report["after"]
    if report["kind"] == "sleep":
        before, after = hour_of_day(before), hour_of_day(after)
    elif report["kind"] == "outings":
        before, after = f"{before:.1f}", report.get("days_without", int(report["change"]))
    else:
        before, after = f"{before:.0f}", f"{after:.0f}"
    since = (report.get("after_days") or [""])[0][5:]
    return rhythm_text(report["kind"], language, flat=flat, before=before, after=after, since=since)


def report_line(report: dict[str, Any], offset: float | None = None) -> dict[str, Any]:
    """A report as a replay JSON line (``category: "report"``), at the end of the day it was judged."""
    from ..events import format_local
    from .rhythm_record import DAY

    line = {"time": format_local((report["day"] + 1) * DAY, offset), "type": "rhythm_drift", "category": "report"}
    return {**line, **{k: v for k, v in report.items() if k not in ("type", "day", "sent_to")}}


def replay_reports(events: Iterable[Event], config: Any) -> Iterator[dict[str, Any]]:
    """The drift reports the hub would make over a log (no consent: nothing is sent), in order."""
    watch = Wellbeing(config)
    for event in events:
        if (s := config.sensor(event.sensor)) is not None and s.role == "autonomous":
            continue
        for action in watch.observe(event):
            if isinstance(action, Audit) and action.action == "rhythm_drift":
                yield action.detail
