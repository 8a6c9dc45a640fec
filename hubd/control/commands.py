"""What each control command does, on the daemon's loop thread.

Every state change goes through the engine (``set_mode``, ``resume``, ``ack``,
``test_alert``) and its actions through the daemon's executor, so an away mode set
by hubctl is audited, persisted and expires exactly like one set any other way; the
engine's refusals (CommandError) become ``refused`` replies in the server.
Replies are plain JSON "views" with hub-local ISO times; ``docs/hubctl.md`` documents
the ``status`` view field by field.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import sqlite3
from dataclasses import asdict
from pathlib import Path
from typing import Any, Awaitable, Callable

from .. import __version__
from ..core.actions import Audit
from ..phone import international
from ..core.engine import HOME
from ..core.alerts import PREALARM
from ..events import OK_BUTTON, Event, Kind, events_to_csv, format_local
from ..store import StoreError
from ..hubctl_text import tr_in
from .commissioning import CommissioningCommands
from .protocol import BAD_ARGS, NOT_AVAILABLE, PROTOCOL, ProtocolError, to_jsonable
from .protocol import parse_since as parse_since_text

log = logging.getLogger("hubd.control")

Emit = Callable[[Any], Awaitable[None]]
BLIP_SECONDS = 1.0  # how long the walktest blip shows before the policy's pattern is put back
READING_RECHECK_S = 1.0  # how often the walktest looks for a good reading of an autonomous appliance
EXPORT_PAGE = 5000  # events per streamed CSV chunk
WATCH_QUEUE = 1000  # events buffered for a slow watcher before they are dropped (and counted)


def iso(local: float | None) -> str | None:
    """Hub local time as ISO 8601 without an offset (the event CSV's convention)."""
    return None if local is None else format_local(local)


def parse_since(text: str | None, now_local: float) -> float | None:
    """``--since``: hub local time (date or date-time, no offset) or an age such as 90m, 6h, 7d
    (the rule is the protocol's: the argument was checked against it before this runs)."""
    if text is None:
        return None
    try:
        form, value = parse_since_text(text)
    except ValueError as exc:
        raise ProtocolError(BAD_ARGS, str(exc)) from None
    return now_local - value if form == "age" else value


def event_view(event: Event, now_local: float | None = None) -> dict[str, Any]:
    view = {"time": iso(event.local), "sensor": event.sensor, "kind": event.kind.label, "value": event.value}
    if now_local is not None:
        view["seconds_ago"] = max(0.0, now_local - event.local)
    return view


def alert_view(rec: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": rec["id"], "type": rec["type"], "category": rec["category"], "key": rec.get("key", ""),
        "stage": rec["stage"], "since": iso(rec.get("since_local")), "raised": iso(rec.get("raised_local")),
        "ended": iso(rec.get("ended_local")), "limit_seconds": rec.get("limit"),
        "acked_by": rec.get("acked_by"), "notified": list(rec.get("notified") or []),
        "detail": to_jsonable(rec.get("detail") or {}),
    }


def mode_view(mode: dict[str, Any], mono: float) -> dict[str, Any]:
    until = mode.get("until_mono")
    return {
        "name": mode["name"], "set_by": mode.get("actor") or None,
        "since": iso(mode.get("since_local")), "until": iso(mode.get("until_local")),
        "remaining_seconds": None if until is None else max(0.0, until - mono),
    }


def _modem_view(raw: dict[str, Any]) -> dict[str, Any]:
    """The few modem facts ``status`` shows; ``hubctl modem`` has the rest."""
    if not raw:
        return {"reported": False}
    signal = raw.get("signal") or {}
    registration = raw.get("registration") or {}
    return {
        "reported": True, "port": raw.get("port"), "connected": raw.get("connected"),
        "registered": registration.get("registered"), "operator": raw.get("operator"),
        "signal_bars": signal.get("bars"), "signal_dbm": signal.get("dbm"), "signal_quality": signal.get("quality"),
        "uplink_down": raw.get("uplink_down"), "last_error": raw.get("last_error"),
    }


def restart_view(restart: dict[str, Any] | None) -> dict[str, Any] | None:
    """The last restart's outage: unknown (null) until the wall clock is set after a cut."""
    if restart is None:
        return None
    return {"outage_known": restart["outage_seconds"] is not None, **restart}


def _sensor_states(status: dict[str, Any], open_alerts: list[dict[str, Any]]) -> dict[str, str]:
    """Per-sensor health from the sensor-health watcher, overridden by open sensor alerts."""
    states: dict[str, str] = {}
    for watcher in status.get("watchers") or []:
        if isinstance(watcher, dict) and watcher.get("watcher") == "sensor_health":
            for row in watcher.get("sensors") or []:
                states[row["id"]] = row["state"]
    for alert in open_alerts:
        if alert["type"] in ("sensor_silent", "sensor_fault") and alert["key"]:
            states[alert["key"]] = "fault" if alert["type"] == "sensor_fault" else "silent"
    return states


def _local_times_as_iso(detail: Any) -> Any:
    """Audit details keep hub-local times as seconds (``until_local``); people and scripts read ISO."""
    if not isinstance(detail, dict):
        return detail
    return {k: iso(v) if k.endswith("_local") and isinstance(v, (int, float)) and not isinstance(v, bool) else v
            for k, v in detail.items()}


def readings_by_sensor(raw: dict[str, Any], sensor_ids: set[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split the hardware's readings into (per sensor id, the rest).

    Drivers report either ``{sensor_id: reading}`` or groups of rows that carry their id
    (``{"gpio": [{"id": "hall", ...}], "power": [...], "outputs": "off"}``).
    """
    per_sensor: dict[str, Any] = {}
    others: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, list) and value and all(isinstance(r, dict) and "id" in r for r in value):
            for reading in value:
                fields = {k: v for k, v in reading.items() if k != "id"}
                per_sensor[str(reading["id"])] = {**per_sensor.get(str(reading["id"]), {}), **fields}
        elif key in sensor_ids:
            per_sensor[key] = value
        else:
            others[key] = value
    return per_sensor, others


class Commands(CommissioningCommands):
    """The handlers; one instance per control server, fed every event it handles."""

    def __init__(self, daemon: Any):
        self.daemon = daemon
        self.last_events: dict[str, Event] = {}

    def on_event(self, event: Event) -> None:
        """A daemon listener: remembers each sensor's last event for ``sensors``."""
        self.last_events[event.sensor] = event

    # -- plumbing ----------------------------------------------------------------------------
    def _now(self) -> tuple[float, float]:
        return self.daemon.clock.monotonic(), self.daemon.clock.local()

    def _apply(self, actions: list, local: float) -> list[int]:
        """Execute engine actions now and have the daemon re-plan and persist at once (the outbox
        ids of the SMS queued)."""
        return self.daemon.apply(actions, local)

    def _audit(self, actor: str, action: str, detail: dict[str, Any]) -> None:
        self.daemon.apply([Audit(actor, action, detail)], self.daemon.clock.local())

    def _says(self, template: str, **values: Any) -> str:
        """A refusal in the hub's language."""
        return tr_in(self.daemon.config.hub.language, template, **values)

    def _flush_events(self) -> None:
        """Write batched events so reads see them; a failing disk is reported by the daemon, not here."""
        try:
            self.daemon.store.flush()
        except StoreError as exc:
            log.warning("events not flushed before a read: %s", exc)

    # -- reading -----------------------------------------------------------------------------
    def status(self, args: dict, actor: str) -> dict[str, Any]:
        daemon = self.daemon
        mono, local = self._now()
        status = daemon.engine.status(mono, local)
        det = status["detector"]
        open_alerts = [alert_view(a) for a in status["open_alerts"]]
        states = _sensor_states(status, open_alerts)
        by_state: dict[str, int] = {}
        for sensor in daemon.config.sensors:
            state = states.get(sensor.id, "unknown")
            by_state[state] = by_state.get(state, 0) + 1
        mode = mode_view(status["mode"], mono)
        system_trouble = any(a["category"] == "system" and a["stage"] in ("prealarm", "alarm") for a in open_alerts)
        if mode["name"] != HOME:
            monitoring = mode["name"]
        elif system_trouble or not daemon.storage_ok:
            monitoring = "degraded"
        else:
            monitoring = "watching"
        uplink = to_jsonable(daemon.uplink.status() or {})
        return {
            "protocol": PROTOCOL, "version": __version__, "flat_id": daemon.config.hub.flat_id,
            "now": iso(local), "clock_synced": daemon.clock.synced(),
            "monitoring": monitoring, "mode": mode,
            "activity": {
                "last": iso(det.get("last_activity_local")),
                "inactive_seconds": det.get("inactive_seconds"),
                "threshold_seconds": det.get("threshold_seconds"),
                "threshold_rule": det.get("threshold_rule"),
                "alarm_due_in_seconds": det.get("alarm_due_in_seconds"),
                "inferred": det.get("inferred"),
                "held": list(det.get("held") or []),
                "learned_days": det.get("learned_days"),
                "cold_start": det.get("cold_start"),
            },
            "detector": {"kind": type(daemon.engine.detector).__name__, "mode": daemon.config.detector.mode,
                         "max_inactivity_hours": daemon.config.detector.max_inactivity_hours},
            "alerts": {"open": open_alerts, "outputs": status["outputs"]},
            "sensors": {"configured": len(daemon.config.sensors), "by_state": by_state,
                        "problems": [{"id": sid, "state": st} for sid, st in sorted(states.items())
                                     if st in ("silent", "fault")]},
            "modem": _modem_view(uplink),
            "outbox": uplink.get("outbox") or {},
            "storage_ok": daemon.storage_ok,
            "restart": restart_view(status["clock"]["restart"]),
        }

    def sensors(self, args: dict, actor: str) -> dict[str, Any]:
        daemon = self.daemon
        mono, local = self._now()
        status = daemon.engine.status(mono, local)
        states = _sensor_states(status, [alert_view(a) for a in status["open_alerts"]])
        configured = {s.id for s in daemon.config.sensors}
        readings, others = readings_by_sensor(to_jsonable(daemon.hardware.readings() or {}), configured)
        rows = []
        for s in daemon.config.sensors:
            last = self.last_events.get(s.id)
            where = f"GPIO {s.pin}" if s.pin is not None else f"{s.chip} bus {s.bus} 0x{s.address:02x}"
            rows.append({
                "id": s.id, "kind": s.kind, "label": s.label, "role": s.role, "where": where,
                "health": states.get(s.id, "unknown"), "reading": readings.get(s.id),
                "last_event": None if last is None else event_view(last, local),
            })
        return {"now": iso(local), "sensors": rows, "other_readings": others, "outputs": status["outputs"]}

    def alerts(self, args: dict, actor: str) -> dict[str, Any]:
        records = self.daemon.store.alerts(limit=args["limit"], open_only=args["open"])
        return {"alerts": [alert_view(r) for r in records]}

    def events(self, args: dict, actor: str) -> dict[str, Any]:
        _, local = self._now()
        since = parse_since(args["since"], local)
        self._flush_events()
        events = self.daemon.store.events(since_local=since, limit=args["limit"])
        return {"since": iso(since), "events": [event_view(e) for e in events]}

    def audit(self, args: dict, actor: str) -> dict[str, Any]:
        rows = self.daemon.store.audit_log(limit=args["limit"])
        return {"entries": [{"time": iso(r["local"]), "actor": r["actor"], "action": r["action"],
                             "detail": _local_times_as_iso(to_jsonable(r["detail"]))} for r in rows]}

    def profile(self, args: dict, actor: str) -> dict[str, Any]:
        """The detector's own picture of the rhythm, if it has one (``profile_text`` / ``profile``)."""
        detector = self.daemon.engine.detector
        mono, local = self._now()
        text = _call_with_time(getattr(detector, "profile_text", None), mono, local)
        data = _call_with_time(getattr(detector, "profile", None), mono, local)
        if text is None and data is None:
            raise ProtocolError(NOT_AVAILABLE, self._says(
                "no profile: the {detector} detector (detector.mode = {mode}) has no learned rhythm to show",
                detector=type(detector).__name__, mode=repr(self.daemon.config.detector.mode)))
        return {"detector": type(detector).__name__, "now": iso(local), "text": text, "data": to_jsonable(data)}

    def rhythm(self, args: dict, actor: str) -> dict[str, Any]:
        """The daily records and the drift reports; consents are counted, their numbers not shown here."""
        view = self.daemon.engine.wellbeing.view(args["days"])
        in_force = [e for e in view["consents"] if e["revoked_local"] is None]
        return {"now": iso(self._now()[1]), "days": view["days"], "reports": view["reports"],
                "consents_in_force": len(in_force)}

    def consent_list(self, args: dict, actor: str) -> dict[str, Any]:
        return {"consents": [_consent_view(e) for e in self.daemon.engine.wellbeing.consents.entries]}

    def consent_add(self, args: dict, actor: str) -> dict[str, Any]:
        try:
            number = international(args["number"], self.daemon.config.modem.country_code)
        except ValueError as exc:
            raise ProtocolError(BAD_ARGS, self._says("consent: {to} is not a phone number: {why}",
                                                     to=repr(args["number"]), why=exc)) from None
        local = self._now()[1]
        actions = self.daemon.engine.consent(number, args["name"] or "", args["for"] or "rhythm_drift",
                                             f"{args['by']} ({actor})", local)
        self._apply(actions, local)
        return {"consent": _consent_view(actions[0].detail)}

    def consent_revoke(self, args: dict, actor: str) -> dict[str, Any]:
        local = self._now()[1]
        actions = self.daemon.engine.revoke_consent(args["id"], f"{args['by']} ({actor})", local)
        self._apply(actions, local)
        return {"consent": _consent_view(actions[0].detail)}

    def modem(self, args: dict, actor: str) -> dict[str, Any]:
        return {"modem": to_jsonable(self.daemon.uplink.status() or {})}

    # -- changing ----------------------------------------------------------------------------
    def away(self, args: dict, actor: str) -> dict[str, Any]:
        return self._set_mode("away", args["hours"], actor)

    def pause(self, args: dict, actor: str) -> dict[str, Any]:
        answer = self._set_mode("paused", args["hours"], actor)
        limit_h = self.daemon.config.alerts.max_pause_hours
        if args["hours"] > limit_h:  # allowed, but the office will hear of it: say so now
            mode = self.daemon.engine.mode
            alert_local = mode.since_local + limit_h * 3600.0 if mode.since_local is not None else None
            answer["note"] = (f"longer than alerts.max_pause_hours ({limit_h:g} h): at {iso(alert_local)} the hub "
                              f"raises monitoring_paused_too_long and texts the office")
        return answer

    def _set_mode(self, name: str, hours: float, actor: str) -> dict[str, Any]:
        mono, local = self._now()
        self._apply(self.daemon.engine.set_mode(name, hours, actor, mono, local), local)
        return {"mode": mode_view(asdict(self.daemon.engine.mode), mono)}

    def resume(self, args: dict, actor: str) -> dict[str, Any]:
        mono, local = self._now()
        self._apply(self.daemon.engine.resume(actor, mono, local), local)
        return {"mode": mode_view(asdict(self.daemon.engine.mode), mono)}

    def ack(self, args: dict, actor: str) -> dict[str, Any]:
        mono, local = self._now()
        alert = self.daemon.engine.policy.alerts.get(args["id"])
        if alert is not None and alert.stage == PREALARM:
            # A technician in the flat answers the pre-alarm as the resident would: the OK button's
            # event (stored, so a replay of the log agrees), which cancels it and is a sign of life.
            self._audit(actor, "prealarm_cancelled", {"alert": args["id"]})
            self.daemon.handle_now(OK_BUTTON, Kind.BUTTON, 1.0)
            return {"id": args["id"], "cancelled_by": actor}
        self._apply(self.daemon.engine.ack(args["id"], actor, mono, local), local)
        return {"id": args["id"], "acked_by": actor}

    def test_alert(self, args: dict, actor: str) -> dict[str, Any]:
        to = args["to"]
        if to is not None:  # compared and shown as the office's numbers are: in international form
            try:
                to = international(to, self.daemon.config.modem.country_code)
            except ValueError as exc:
                raise ProtocolError(BAD_ARGS, self._says("test-alert: {to} is not a phone number: {why}",
                                                         to=repr(to), why=exc)) from None
        mono, local = self._now()
        actions = self.daemon.engine.test_alert(to, actor, mono, local, confirm=bool(args.get("confirm")))
        submitted = self._apply(actions, local)
        detail = next((a.detail for a in actions if isinstance(a, Audit)), {})
        recipients = list(detail.get("to") or [])
        return {"id": detail.get("id"), "to": recipients, **_queued_view(self.daemon.uplink, submitted, recipients)}

    # -- streams -----------------------------------------------------------------------------
    def _subscribe(self) -> tuple[asyncio.Queue, Callable[[], int], Callable[[], None]]:
        """A bounded queue fed by a daemon listener: (queue, dropped count, unsubscribe)."""
        queue: asyncio.Queue = asyncio.Queue(maxsize=WATCH_QUEUE)
        dropped = 0

        def listener(event: Event) -> None:
            nonlocal dropped
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                dropped += 1

        self.daemon.listeners.append(listener)
        return queue, (lambda: dropped), (lambda: self.daemon.listeners.remove(listener))

    async def watch(self, args: dict, actor: str, emit: Emit) -> dict[str, Any]:
        queue, dropped, unsubscribe = self._subscribe()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + args["seconds"]
        count = 0
        try:
            if args["ready"]:  # subscribed: a prompt shown from now on cannot be answered unseen
                await emit({"phase": "watching"})
            while True:
                event = await _get_before(queue, deadline, loop)
                if event is None:
                    break
                await emit(event_view(event))
                count += 1
        finally:
            unsubscribe()
        return {"events": count, "dropped": dropped(), "reason": "time_limit"}

    async def walktest(self, args: dict, actor: str, emit: Emit) -> dict[str, Any]:
        """Guided check: every configured sensor must report once; each trigger blips the LED/buzzer.

        An autonomous appliance (a fridge) never reports as a person would: its chip giving a
        good reading is its check."""
        sensors = list(self.daemon.config.sensors)
        if not sensors:
            raise ProtocolError(NOT_AVAILABLE, self._says("no sensors are configured: nothing to walk-test"))
        ids = [s.id for s in sensors]
        by_reading = [s.id for s in sensors if s.kind == "appliance" and s.role == "autonomous"]
        queue, _, unsubscribe = self._subscribe()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + args["seconds"]
        seen: dict[str, str | None] = {}
        blip = _Blip(self.daemon, loop)
        reason = "time_limit"
        self._audit(actor, "walktest_started", {"sensors": ids})
        try:
            await emit({"phase": "start", "seconds": args["seconds"],
                        "sensors": [{"id": s.id, "kind": s.kind, "label": s.label,
                                     "check": "reading" if s.id in by_reading else "trigger"} for s in sensors]})
            while True:
                for sensor_id, watts in self._good_readings(s for s in by_reading if s not in seen):
                    seen[sensor_id] = iso(self.daemon.clock.local())
                    await emit({"phase": "reading", "sensor": sensor_id, "watts": watts,
                                "seen": len(seen), "total": len(ids)})
                if len(seen) == len(ids):
                    reason = "all_seen"
                    break
                event = await _get_before(queue, min(deadline, loop.time() + READING_RECHECK_S), loop)
                if event is None:
                    if loop.time() >= deadline:
                        break
                    continue
                configured = event.sensor in ids and event.sensor not in by_reading
                first = configured and event.sensor not in seen
                if configured:
                    blip.show()
                    seen.setdefault(event.sensor, iso(event.local))
                await emit({"phase": "trigger", **event_view(event), "configured": configured, "first": first,
                            "seen": len(seen), "total": len(ids)})
        except (asyncio.CancelledError, ConnectionError):  # the technician hung up
            reason = "cancelled"
            raise
        finally:
            unsubscribe()
            blip.restore()
            not_seen = [i for i in ids if i not in seen]
            self._audit(actor, "walktest", {"seen": list(seen), "not_seen": not_seen, "reason": reason})
        return {"phase": "done", "complete": not not_seen, "reason": reason,
                "seen": [{"id": i, "first": seen[i]} for i in ids if i in seen], "not_seen": not_seen}

    def _good_readings(self, sensor_ids) -> list[tuple[str, float]]:
        """(id, watts) of these power sensors whose chip reads now and is healthy."""
        wanted = set(sensor_ids)
        if not wanted:
            return []
        power = (self.daemon.hardware.readings() or {}).get("power", [])
        return [(p["id"], float(p["watts"])) for p in power if p.get("id") in wanted and p.get("watts") is not None
                and (p.get("health") or {}).get("health") == "ok"]

    async def export(self, args: dict, actor: str, emit: Emit) -> dict[str, Any]:
        """Stream the event CSV in chunks, read on a worker thread through its own read-only connection."""
        _, local = self._now()
        since = parse_since(args["since"], local)
        self._flush_events()
        loop = asyncio.get_running_loop()
        pages = _EventPages(self.daemon.store.path, since)
        count = 0
        try:
            while True:
                page = await loop.run_in_executor(None, pages.next)
                if not page:
                    break
                text = events_to_csv(page)
                await emit({"csv": text if count == 0 else text.split("\n", 1)[1]})
                count += len(page)
        finally:
            await loop.run_in_executor(None, pages.close)
            self._audit(actor, "export", {"since": iso(since), "events": count})
        if count == 0:
            await emit({"csv": events_to_csv([])})
        return {"events": count, "since": iso(since)}


class _Blip:
    """The walktest's LED/buzzer confirmation; the policy's own pattern comes back after it."""

    def __init__(self, daemon: Any, loop: asyncio.AbstractEventLoop):
        self.daemon = daemon
        self.loop = loop
        self._restore_at: asyncio.TimerHandle | None = None

    def show(self) -> None:
        self._set("walktest")
        if self._restore_at is not None:
            self._restore_at.cancel()
        self._restore_at = self.loop.call_later(BLIP_SECONDS, self.restore)

    def restore(self) -> None:
        if self._restore_at is not None:
            self._restore_at.cancel()
            self._restore_at = None
            self._set(self.daemon.engine.policy.outputs_pattern())

    def _set(self, pattern: str) -> None:
        try:
            self.daemon.hardware.set_outputs(pattern)
        except Exception as exc:  # a blip is a courtesy; the walktest goes on without it
            log.warning("walktest outputs %s failed: %s", pattern, exc)


def _consent_view(entry: dict[str, Any]) -> dict[str, Any]:
    return {**entry, "given": iso(entry["given_local"]), "revoked": iso(entry["revoked_local"])}


def _queued_view(uplink: Any, submitted: list[int], recipients: list[str]) -> dict[str, Any]:
    """``queued`` only for SMS committed to the outbox on disk; ``held``: kept in memory (the disk
    refused them) and sent all the same, but lost if the hub restarts first; neither: not taken."""
    held = [message_id for message_id in submitted if not uplink.on_disk(message_id)]
    view: dict[str, Any] = {"queued": len(submitted) == len(recipients) and not held, "held": bool(held),
                            "sms": submitted}
    if held:
        view["note"] = "the disk refused it: held in memory and being sent, lost if the hub restarts first"
    elif len(submitted) < len(recipients):
        view["note"] = "not queued: the outbox refused it (see the storage fault in hubctl status)"
    return view


class _EventPages:
    """Pages of stored events in insertion order, on a connection of its own (WAL: readers never block the daemon)."""

    def __init__(self, path: str, since_local: float | None):
        self.db = sqlite3.connect(Path(path).as_uri() + "?mode=ro", uri=True, check_same_thread=False)
        self.since = -float("inf") if since_local is None else since_local
        self.after_id = 0

    def next(self) -> list[Event]:
        rows = self.db.execute("SELECT id, mono, local, sensor, kind, value FROM events"
                               " WHERE id > ? AND local >= ? ORDER BY id LIMIT ?",
                               (self.after_id, self.since, EXPORT_PAGE)).fetchall()
        if rows:
            self.after_id = rows[-1][0]
        return [Event(m, l, s, Kind(k), v) for _, m, l, s, k, v in rows]

    def close(self) -> None:
        self.db.close()


async def _get_before(queue: asyncio.Queue, deadline: float, loop: asyncio.AbstractEventLoop) -> Event | None:
    """The next queued event, or None once ``deadline`` (loop time) has passed."""
    remaining = deadline - loop.time()
    if remaining <= 0:
        return None
    try:
        return await asyncio.wait_for(queue.get(), remaining)
    except asyncio.TimeoutError:
        return None


def _call_with_time(method: Callable | None, mono: float, local: float) -> Any:
    """Call ``method()`` or ``method(mono, local)``, whichever its signature takes; None if absent."""
    if method is None:
        return None
    try:
        inspect.signature(method).bind(mono, local)
    except TypeError:
        return method()
    return method(mono, local)
