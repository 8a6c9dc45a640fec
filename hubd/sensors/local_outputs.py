"""The hub's local outputs: the buzzer and LED patterns the resident sees and hears.

Apart from the inputs because they share nothing but gpiozero: a pattern is a named
intent (pre-alarm, alarm, fault, walk-test blip) shown on gpiozero's blink threads.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Optional, Union

from gpiozero import LED, Buzzer

log = logging.getLogger("hubd.sensors.gpio")

Pin = Union[int, str]  # a BCM number or a gpiozero pin name

@dataclass(frozen=True)
class Blink:
    """On ``on_s``, off ``off_s``, ``n`` times (None: until another pattern is shown)."""

    on_s: float
    off_s: float
    n: Optional[int] = None


Part = Union[bool, Blink]  # True steady on, False off, or a blink


@dataclass(frozen=True)
class Pattern:
    led: Part = False
    buzzer: Part = False

    @property
    def finite(self) -> bool:
        return any(isinstance(p, Blink) and p.n is not None for p in (self.led, self.buzzer))


PATTERNS: dict[str, Pattern] = {
    "off": Pattern(),
    # "Are you OK? Press the button": noticeable, not frightening.
    "prealarm": Pattern(led=Blink(0.5, 0.5), buzzer=Blink(0.2, 1.8)),
    # The office is being told: steady light, insistent beeps.
    "alarm": Pattern(led=True, buzzer=Blink(0.5, 0.5)),
    # The hub cannot watch: a slow LED wink; no sound that would wake the resident.
    "fault": Pattern(led=Blink(0.1, 4.9)),
    # A walk-test detection: one short blip, then dark and quiet.
    "walktest": Pattern(led=Blink(0.2, 0.0, n=1), buzzer=Blink(0.05, 0.0, n=1)),
}


class LocalOutputs:
    """Buzzer and LED showing named patterns on gpiozero's blink threads.

    Call :meth:`close` on SIGTERM: gpiozero's atexit cleanup does not run then, and a
    buzzer left on would sound until someone pulls the plug.
    """

    def __init__(
        self,
        buzzer_pin: Optional[Pin] = None,
        led_pin: Optional[Pin] = None,
        *,
        active_high: bool = True,
        patterns: Optional[dict[str, Pattern]] = None,
        pin_factory: Any = None,
    ):
        self._patterns = {**PATTERNS, **(patterns or {})}
        self._lock = threading.Lock()
        self._closed = False
        self.pattern = "off"
        self._buzzer = self._led = None
        try:
            if buzzer_pin is not None:
                self._buzzer = Buzzer(buzzer_pin, active_high=active_high, initial_value=False, pin_factory=pin_factory)
            if led_pin is not None:
                self._led = LED(led_pin, active_high=active_high, initial_value=False, pin_factory=pin_factory)
        except BaseException:
            self.close()
            raise

    @property
    def patterns(self) -> tuple[str, ...]:
        return tuple(self._patterns)

    def show(self, name: str) -> None:
        """Show pattern ``name``; showing the running endless pattern again changes nothing."""
        try:
            pattern = self._patterns[name]
        except KeyError:
            raise ValueError(f"unknown output pattern {name!r} (known: {', '.join(self._patterns)})") from None
        with self._lock:
            if self._closed or (name == self.pattern and not pattern.finite):
                return
            self.pattern = name
            self._apply(self._led, pattern.led)
            self._apply(self._buzzer, pattern.buzzer)

    @staticmethod
    def _apply(device: Any, part: Part) -> None:
        if device is None:
            return
        if isinstance(part, Blink):
            device.blink(on_time=part.on_s, off_time=part.off_s, n=part.n, background=True)
        elif part:
            device.on()
        else:
            device.off()

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                "pattern": self.pattern,
                "buzzer": None if self._buzzer is None or self._closed else bool(self._buzzer.value),
                "led": None if self._led is None or self._closed else bool(self._led.value),
                "closed": self._closed,
            }

    def close(self) -> None:
        """Everything off, blink threads stopped, pins released. Idempotent."""
        with self._lock:
            self._closed = True
            self.pattern = "off"
            for device in (self._buzzer, self._led):
                if device is None or device.closed:
                    continue
                try:
                    device.off()
                finally:
                    device.close()
