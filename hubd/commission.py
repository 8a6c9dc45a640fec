"""``hubctl commission``: the installer's checklist, from a configured box to a handed-over flat.

Why a guided flow: telecare installers work from a checklist (every sensor triggered, the
resident's button, a test call confirmed by the receiving centre, a handover sheet). Here the
hub keeps the record (``hubd.control.commissioning``), so the flow can stop at any step and be
run again to go on from there; this module only walks the technician through it and says, for
each step that fails, what to check. It talks to the daemon through a ``ControlClient`` and to
the technician through ``say`` and ``ask``, so a test can play the technician.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterator

from .cli import EXIT_FAIL, EXIT_OK
from .events import OK_BUTTON
from .hubctl_text import duration, tr

HOW = {
    "motion": "walk past it, in its view",
    "door": "open it, then close it",
    "entrance": "open the front door, then close it",
    "presence": "sit or lie on it for a few seconds, then get up",
    "other": "make it report",
}
ADVICE = {
    "motion": "check its supply (does its own LED light as you move?), its signal wire on {where}, and that it "
              "looks into the room; a PIR needs up to 60 s after power-on. `hubctl sensors` shows its live level.",
    "door": "the magnet must pass within about 10 mm of the reed as the door closes; check the wires on {where}. "
            "`hubctl sensors` shows the level change as you move the door.",
    "entrance": "the magnet must pass within about 10 mm of the reed as the door closes; check the wires on "
                "{where}. `hubctl sensors` shows the level change as you move the door.",
    "presence": "check the mat's plug and its wires on {where}; under a thick mattress move the pad nearer the "
                "sleeper's hips. `hubctl sensors` shows the level change.",
}
# a mat that reports "empty" as the technician sits on it is wired the wrong way round: on the
# hub it would read occupied whenever the resident is up or out (the detector calls it inverted)
INVERTED_ADVICE = ("the mat reads occupied while nobody is on it: connect it to its normally-open (NO) contact, "
                   "not the normally-closed one, on {where}. `hubctl sensors` shows 0 with nobody on it once it "
                   "is right.")
TOLD = {
    "watching": "what the hub watches (movement, doors, the bed and appliances; no camera, no microphone)",
    "privacy": "that only alerts and status texts leave the flat, to the housing office",
    "ok_button": "that the OK button stops a warning beep before the office is texted",
    "away": "to tell the office before going away, so the hub is set to 'away'",
    "contact": "whom to call about the hub (the office's number)",
}
PLAUSIBLE_WATTS = (0.0, 4000.0)  # a flat's socket: a reading outside is a wrong shunt or a wrong chip


class Checklist:
    """One run of the checklist against a running hub."""

    def __init__(self, client: Any, say: Callable[[str], None], ask: Callable[[str], str],
                 sensor_seconds: float = 120.0, office_seconds: float = 900.0, poll_seconds: float = 5.0,
                 sleep: Callable[[float], None] = time.sleep, monotonic: Callable[[], float] = time.monotonic):
        self.client, self.say, self.ask = client, say, ask
        self.sensor_seconds, self.office_seconds, self.poll_seconds = sensor_seconds, office_seconds, poll_seconds
        self.sleep, self.monotonic = sleep, monotonic
        self.state: dict[str, Any] = {}

    # -- the run ---------------------------------------------------------------------------
    def run(self, restart: bool = False) -> tuple[int, dict[str, Any] | None]:
        """(exit status, the handover record or None). Stops at the first step that fails."""
        self.state = self.client.call("commission-state", restart=restart)
        steps = self.state["checklist"]
        self.say(tr("commissioning flat {flat}: {n} steps", flat=self.state["flat_id"], n=len(steps)))
        for number, step in enumerate(steps, 1):
            name = step["step"]
            done = self.state["steps"].get(name) or {}
            label = f"[{number}/{len(steps)}] {self._what(step)}"
            if done.get("result") == "ok":
                self.say(tr("{label}: done {at}", label=label, at=done["at"][:16].replace("T", " ")))
                continue
            self.say(f"{label}")
            ok, note, advice = self._check(step)
            self.client.call("commission-step", step=name, result="ok" if ok else "failed", note=note[:200])
            if not ok:
                self.say(tr("  FAILED: {note}", note=note))
                self.say(tr("  what to do: {advice}", advice=advice))
                self.say(tr("  then run `hubctl commission` again: it goes on from this step"))
                return EXIT_FAIL, None
            self.say(tr("  ok: {note}", note=note))
        return self._handover()

    @staticmethod
    def _what(step: dict[str, Any]) -> str:
        """The step's line: the hub says it in English; a sensor's is built from its label."""
        if "sensor" in step:
            return tr("trigger {what}", what=step.get("label") or step["sensor"])
        return tr(step["what"])

    def _check(self, step: dict[str, Any]) -> tuple[bool, str, str]:
        name = step["step"]
        if name.startswith("sensor:"):
            return self._sensor(step)
        return getattr(self, f"_{name}")(step)

    # -- the steps: (passed, what was seen, what to do if not) --------------------------------
    def _config(self, step: dict[str, Any]) -> tuple[bool, str, str]:
        problems = self.state["config_problems"]
        for problem in problems:
            self.say(tr("  - {problem}", problem=problem))
        if problems:
            return False, tr("{n} setting(s) still the example's or missing", n=len(problems)), tr(
                "edit /etc/hubd/config.toml, check it with `hubd config check /etc/hubd/config.toml`, then "
                "`sudo systemctl restart hubd`")
        return True, tr("flat id, office numbers and sensor labels set"), ""

    def _sensor(self, step: dict[str, Any]) -> tuple[bool, str, str]:
        sensor, kind, where = step["sensor"], step["kind"], step["where"]
        seconds = f"{self.sensor_seconds:.0f}"
        prompt = tr("  trigger {sensor}: {how} (waiting up to {seconds} s)", sensor=sensor,
                    how=tr(HOW.get(kind, HOW["other"])), seconds=seconds)
        event = self._wait_for(prompt, lambda e: e["sensor"] == sensor)
        if event is None:
            return False, tr("{sensor} sent nothing in {seconds} s", sensor=sensor, seconds=seconds), tr(
                ADVICE[kind], where=where)
        if kind == "presence" and not event.get("value", 1) > 0:
            return False, tr("{sensor} reported empty as it was sat on: it reads the wrong way round",
                             sensor=sensor), tr(INVERTED_ADVICE, where=where)
        return True, tr("{sensor} seen at {at}", sensor=sensor, at=event["time"][11:19]), ""

    def _button(self, step: dict[str, Any]) -> tuple[bool, str, str]:
        seconds = f"{self.sensor_seconds:.0f}"
        prompt = tr("  press the resident's OK button once (waiting up to {seconds} s)", seconds=seconds)
        event = self._wait_for(prompt, lambda e: e["sensor"] == OK_BUTTON)
        if event is None:
            return False, tr("no press in {seconds} s", seconds=seconds), tr(
                "the button joins {where} to GND when pressed: check both wires and the outputs.button_pin setting",
                where=step["where"])
        return True, tr("pressed at {at}", at=event["time"][11:19]), ""

    def _outputs(self, step: dict[str, Any]) -> tuple[bool, str, str]:
        self.client.call("outputs-test", seconds=5.0)
        answer = self.ask(tr("  the hub beeps and blinks for 5 s: did you hear the buzzer AND see the LED? [y/n] "))
        if answer.strip().lower() in ("y", "yes"):
            return True, tr("buzzer heard, LED seen"), ""
        return False, tr("the technician did not hear or see both"), tr(
            "check the buzzer's and the LED's wires on outputs.buzzer_pin / outputs.led_pin (+ to the GPIO, - to GND; an "
            "active buzzer beeps on its own when given 3.3 V)")

    def _power(self, step: dict[str, Any]) -> tuple[bool, str, str]:
        # a hub just started has not read every chip yet: wait for a first reading of each
        self._poll_until(lambda: all((s["reading"] or {}).get("watts") is not None for s in self._appliances()),
                         self.sensor_seconds)
        rows = self._appliances()
        bad = []
        for s in rows:
            reading = s["reading"] or {}
            watts = reading.get("watts")
            health = (reading.get("health") or {}).get("health") if isinstance(reading.get("health"), dict) \
                else reading.get("health")
            if watts is None or health not in (None, "ok") or not PLAUSIBLE_WATTS[0] <= watts <= PLAUSIBLE_WATTS[1]:
                bad.append(f"{s['id']} ({s['where']}): " + (tr("no reading") if watts is None else f"{watts:.0f} W")
                           + (f", {health}" if health not in (None, "ok") else ""))
            else:
                self.say(tr("  {sensor}: {watts} W", sensor=s["id"], watts=f"{watts:.0f}"))
        if bad:
            return False, "; ".join(bad), tr(
                "a chip that does not answer: check SDA/SCL/3.3 V/GND and its address (`i2cdetect -y 1` lists it); a "
                "reading far off: check the sensor's shunt_ohms and max_current_a in the config")
        return True, tr("{n} power sensor(s) read plausibly", n=len(rows)), ""

    def _appliances(self) -> list[dict[str, Any]]:
        return [s for s in self.client.call("sensors")["sensors"] if s["kind"] == "appliance"]

    def _poll_until(self, done: Callable[[], bool], seconds: float) -> bool:
        end = self.monotonic() + seconds
        while not done():
            if self.monotonic() >= end:
                return False
            self.sleep(self.poll_seconds)
        return True

    def _modem(self, step: dict[str, Any]) -> tuple[bool, str, str]:
        # the modem's first signal report may still be on its way
        self._poll_until(lambda: (self.client.call("status")["modem"].get("signal_bars") or 0) > 0, self.sensor_seconds)
        modem = self.client.call("status")["modem"]
        bars = modem.get("signal_bars")
        if modem.get("registered") and bars:
            return True, tr("registered, signal {bars}/4", bars=bars) + (
                f", {modem['operator']}" if modem.get("operator") else ""), ""
        seen = tr("no modem status yet" if not modem.get("reported") else
                  "not connected" if not modem.get("connected") else
                  "not registered" if not modem.get("registered") else "no usable signal")
        return False, seen + (f" ({modem['last_error']})" if modem.get("last_error") else ""), tr(
            "check the SIM (inserted, PIN set as modem.sim_pin, not expired), the antenna, and `hubctl modem`; in a weak "
            "spot move the antenna to a window")

    def _office(self, step: dict[str, Any]) -> tuple[bool, str, str]:
        sent = self.client.call("test-alert", confirm=True)
        test_id, numbers = sent["id"], ", ".join(sent["to"])
        self.say(tr("  sent installation test {id} to {numbers}: ask the office to reply  OK {id}", id=test_id,
                    numbers=numbers))
        self.say(tr("  (waiting up to {span} for the reply)", span=duration(self.office_seconds)))
        confirmations: dict[str, Any] = {}

        def confirmed() -> bool:
            confirmations.update(self.client.call("commission-state")["tests_confirmed"])
            return test_id in confirmations

        if self._poll_until(confirmed, self.office_seconds):
            return True, tr("{id} confirmed by {who}", id=test_id, who=confirmations[test_id]["by"]), ""
        return False, tr("no OK {id} from {numbers} in {span}", id=test_id, numbers=numbers,
                         span=duration(self.office_seconds)), tr(
            "phone the office: if the text did not arrive, check `hubctl modem` (signal, outbox) and the number in "
            "modem.recipients; if it did, the reply must come from that number, half-width: OK {id}", id=test_id)

    # -- handover -------------------------------------------------------------------------------
    def _handover(self) -> tuple[int, dict[str, Any] | None]:
        self.say(tr("every step passed: the handover"))
        told = []
        for item in self.state["told_items"]:
            answer = self.ask(tr("  have you told the resident {what}? [y/n] ", what=tr(TOLD.get(item, item))))
            if answer.strip().lower() in ("y", "yes"):
                told.append(item)
        missing = [i for i in self.state["told_items"] if i not in told]
        if missing:
            self.say(tr("  not handed over: tell the resident about {items}, then run it again",
                        items=", ".join(missing)))
            return EXIT_FAIL, None
        technician = self.ask(tr("  your name (for the record): ")).strip() or "unnamed"
        record = self.client.call("handover", told=",".join(told), technician=technician[:40])
        for line in handover_lines(record):
            self.say(line)
        return EXIT_OK, record

    def _wait_for(self, prompt: str, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
        """Show ``prompt`` once the hub is watching, then the first event ``wanted`` (None: time out)."""
        stream: Iterator = self.client.stream("watch", seconds=self.sensor_seconds, ready=True)
        try:
            for more, data in stream:
                if not more:
                    break
                if data.get("phase") == "watching":
                    self.say(prompt)
                elif wanted(data):
                    return data
        finally:
            stream.close()
        return None


def handover_lines(record: dict[str, Any]) -> list[str]:
    """The handover sheet, as printed at the end and shown again by ``hubctl commission``."""
    lines = [tr("handover of flat {flat} at {at} by {who}", flat=record["flat_id"],
                at=record["at"][:16].replace("T", " "), who=record["technician"])]
    for step, entry in record["steps"].items():
        lines.append(f"  {step:<22} {entry['result']:<6} {entry['note']}")
    lines.append(tr("  office test: {note}", note=record["office_confirmed"]))
    lines.append(tr("  resident told: {items}", items=", ".join(record["resident_told"])))
    return lines
