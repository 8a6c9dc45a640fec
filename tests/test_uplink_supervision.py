"""The uplink never dies quietly (issue 13, item 6): whatever fails inside the modem worker,
the task goes on, says so (``uplink_down`` once the office has been unreachable for
``down_after``), backs off, and sends again once the fault is gone."""

from __future__ import annotations

import time

import pytest

from hubd.modem.modem import Modem
from hubd.modem.outbox import Outbox
from hubd.modem.service import SmsService

from smshub import TO, emulator, hub_on, in_thread, run  # noqa: F401


class Breaker:
    """Makes one method raise while ``broken``; records when it did."""

    def __init__(self, monkeypatch, owner, name: str, exc: Exception):
        self.broken = True
        self.raised: list[float] = []
        original = getattr(owner, name)
        breaker = self

        if name.startswith("_") and not hasattr(original, "__code__"):
            raise AssertionError(f"{owner.__name__}.{name} is not a function")
        is_async = original.__code__.co_flags & 0x80  # CO_COROUTINE

        def check() -> None:
            if breaker.broken:
                breaker.raised.append(time.monotonic())
                raise exc

        if is_async:
            async def patched(self, *args, **kwargs):
                check()
                return await original(self, *args, **kwargs)
        else:
            def patched(self, *args, **kwargs):
                check()
                return original(self, *args, **kwargs)
        monkeypatch.setattr(owner, name, patched)


POINTS = [
    pytest.param(SmsService, "_send_due", id="sending"),
    pytest.param(SmsService, "_wait", id="waiting"),
    pytest.param(SmsService, "_check_health", id="health-check"),
    pytest.param(Modem, "initialise", id="modem-set-up"),
    pytest.param(Modem, "reset", id="modem-reset"),
    pytest.param(Outbox, "recover_interrupted", id="start-up-recovery"),
    pytest.param(SmsService, "_report_health", id="reporting-health"),
]


@pytest.mark.parametrize("owner, name", POINTS)
def test_an_exception_anywhere_in_the_worker_is_survived_reported_and_backed_off(emulator, tmp_path, monkeypatch,
                                                                                 owner, name):
    emu = emulator("sim800")
    if name == "reset":  # reached only after repeated set-up failures: make set-up fail
        emu.override("AT+CMGF", ["ERROR"])
    breaker = Breaker(monkeypatch, owner, name, RuntimeError(f"injected failure in {name}"))

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            message_id = hub.service.submit(TO, "through a failing worker", "alarm", 1)
            await hub.until(lambda: len(breaker.raised) >= 7, 10.0, "repeated failures")
            assert not hub.task.done(), "the uplink task ended"
            if name != "_report_health":  # the one point that cannot report itself
                await hub.until(lambda: hub.down, 5.0, "uplink_down")
                assert "internal" in hub.conditions[-1][1].detail["reasons"]
            breaker.broken = False
            emu.override("AT+CMGF", None)
            await hub.sent(message_id, 10.0)
            await hub.until(lambda: not hub.down, 5.0, "uplink_down cleared")
            return breaker.raised

    raised = run(body(), timeout=40.0)
    assert emu.delivered == [(TO, "through a failing worker")]
    gaps = [b - a for a, b in zip(raised, raised[1:])]
    assert max(gaps) >= 0.15  # backed off (FAST: 0.05 s doubling to 0.2 s), not a hot loop


def test_a_set_up_refused_until_the_reset_on_a_closed_port_no_longer_ends_the_uplink(emulator, tmp_path):
    """The sequence of the issue: set-up refused (+CME ERROR: 11 to ATE0) three times, then the
    recovery resets the modem on the port the failure had closed: ChannelClosed escaped
    SmsService._init_failed, the task ended and uplink_down was never raised."""
    emu = emulator("ec25")
    emu.override("ATE0", ["+CME ERROR: 11"])

    async def body():
        async with hub_on(emu, tmp_path) as hub:
            message_id = hub.service.submit(TO, "after the refusals", "alarm", 1)
            assert await in_thread(emu.wait_until, lambda e: e.commands.count("ATE0") >= 4, 5.0)
            await hub.until(lambda: hub.down, 5.0, "uplink_down")
            assert not hub.task.done(), "the uplink task ended"
            emu.override("ATE0", None)
            await hub.sent(message_id, 10.0)
            await hub.until(lambda: not hub.down, 5.0, "uplink_down cleared")

    run(body(), timeout=30.0)
    assert emu.delivered == [(TO, "after the refusals")]
