"""The installation checklist's records on the hub: which steps passed, and the handover.

Why on the hub and not in the technician's terminal: the checklist is resumable (a technician
who fetches a ladder, or whose SSH drops, goes on where they stopped, from any terminal), and the
handover record belongs with the flat (``hubctl audit`` shows it to whoever comes next). The
guided flow itself is ``hubd.commission``; these are the ``commission-state``, ``commission-step``,
``outputs-test`` and ``handover`` commands it calls.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ..config import placeholders
from ..store import StoreError
from ..events import format_local
from .protocol import NOT_AVAILABLE, REFUSED, TOLD_ITEMS, ProtocolError

log = logging.getLogger("hubd.control")

PROGRESS_KEY = "commission"
HANDOVER_KEY = "handover"


def checklist(config: Any) -> list[dict[str, Any]]:
    """The steps of this flat's checklist, in the order a technician walks them."""
    steps = [{"step": "config", "what": "the config names this flat, the office's numbers and every sensor"}]
    for s in config.sensors:
        if s.kind != "appliance":
            where = f"pin {s.pin}"
            steps.append({"step": f"sensor:{s.id}", "what": f"trigger {s.label or s.id}", "sensor": s.id,
                          "kind": s.kind, "label": s.label, "where": where})
    if any(s.kind == "appliance" for s in config.sensors):
        steps.append({"step": "power", "what": "every power sensor reads plausibly"})
    if config.outputs.button_pin is not None:
        steps.append({"step": "button", "what": "the resident's OK button", "where": f"pin {config.outputs.button_pin}"})
    if config.outputs.buzzer_pin is not None or config.outputs.led_pin is not None:
        steps.append({"step": "outputs", "what": "the buzzer sounds and the LED blinks"})
    steps.append({"step": "modem", "what": "the modem is registered with a usable signal"})
    steps.append({"step": "office", "what": "the office receives a test and confirms it by reply"})
    return steps


class CommissioningCommands:
    """Mixed into the control server's handlers (``hubd.control.commands.Commands``)."""

    daemon: Any
    _says: Any  # (Commands) a refusal in the hub's language

    def _progress(self) -> dict[str, Any]:
        try:
            saved = self.daemon.store.get_value(PROGRESS_KEY)
        except StoreError as exc:
            raise ProtocolError(NOT_AVAILABLE, self._says("the checklist cannot be read from the store: {why}",
                                                          why=exc)) from None
        return saved if isinstance(saved, dict) and isinstance(saved.get("steps"), dict) else {"steps": {}}

    def _save(self, key: str, value: Any) -> None:
        try:
            self.daemon.store.set_value(key, value)
        except StoreError as exc:  # the checklist is a record: say it was not kept
            raise ProtocolError(NOT_AVAILABLE, self._says("not saved, the store refuses writes: {why}", why=exc)) from None

    def commission_state(self, args: dict, actor: str) -> dict[str, Any]:
        config = self.daemon.config
        if args["restart"]:
            self._save(PROGRESS_KEY, {"steps": {}, "started": format_local(self.daemon.clock.local()), "by": actor})
            self._audit(actor, "commission_restarted", {})
        progress = self._progress()
        return {
            "flat_id": config.hub.flat_id, "language": config.hub.language,
            "config_problems": placeholders(config),
            "checklist": checklist(config), "steps": progress["steps"],
            "tests_confirmed": dict(self.daemon.engine.tests_confirmed),
            "handover": self._stored_handover(),
            "told_items": list(TOLD_ITEMS),
        }

    def _stored_handover(self) -> Any:
        try:
            return self.daemon.store.get_value(HANDOVER_KEY)
        except StoreError:
            return None

    def commission_step(self, args: dict, actor: str) -> dict[str, Any]:
        step = args["step"]
        names = [s["step"] for s in checklist(self.daemon.config)]
        if step not in names:
            raise ProtocolError(REFUSED, self._says("{step} is not on this flat's checklist ({names})", step=repr(step),
                                                    names=", ".join(names)))
        progress = self._progress()
        note = args["note"] or ""
        entry = {"result": args["result"], "at": format_local(self.daemon.clock.local()), "by": actor, "note": note}
        progress["steps"][step] = entry
        progress.setdefault("started", entry["at"])
        self._save(PROGRESS_KEY, progress)
        self._audit(actor, "commission_step", {"step": step, "result": args["result"], "note": note})
        return {"step": step, **entry}

    def outputs_test(self, args: dict, actor: str) -> dict[str, Any]:
        """The pre-alarm pattern for ``seconds`` of real time (the technician is listening), then
        the policy's own pattern again."""
        hardware = self.daemon.hardware

        def restore() -> None:
            try:
                hardware.set_outputs(self.daemon.engine.policy.outputs_pattern())
            except Exception as exc:  # noqa: BLE001 - the next pattern change puts it right
                log.warning("outputs not restored after the test: %s", exc)

        self._audit(actor, "outputs_test", {"seconds": args["seconds"]})
        try:
            hardware.set_outputs("prealarm")
        except Exception as exc:  # noqa: BLE001 - told to the technician, who is looking at it
            raise ProtocolError(NOT_AVAILABLE, self._says("the outputs could not be driven: {why}", why=exc)) from None
        asyncio.get_running_loop().call_later(args["seconds"], restore)
        return {"pattern": "prealarm", "seconds": args["seconds"]}

    def handover(self, args: dict, actor: str) -> dict[str, Any]:
        config = self.daemon.config
        progress = self._progress()
        steps = progress["steps"]
        missing = [s["step"] for s in checklist(config) if (steps.get(s["step"]) or {}).get("result") != "ok"]
        if missing:
            raise ProtocolError(REFUSED, self._says("not every step is done: {missing} (run hubctl commission)",
                                                    missing=", ".join(missing)))
        told = [item.strip() for item in args["told"].split(",")]
        not_told = [item for item in TOLD_ITEMS if item not in told]
        if not_told:
            raise ProtocolError(REFUSED, self._says("the resident has not been told: {items}", items=", ".join(not_told)))
        office = steps["office"]
        record = {
            "flat_id": config.hub.flat_id, "at": format_local(self.daemon.clock.local()), "technician": args["technician"],
            "by": actor, "started": progress.get("started"), "steps": steps,
            "office_confirmed": office.get("note"), "resident_told": told, "note": args["note"] or "",
            "sensors": [s.id for s in config.sensors],
        }
        self._save(HANDOVER_KEY, record)
        self._audit(actor, "handover", record)
        return record
