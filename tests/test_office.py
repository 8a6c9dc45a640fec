"""Only the office commands the hub (issue 13, items 4, 5, 7, 8): the rules in hubd.core.office on
the real engine, then through the daemon (inbound SMS in, actions executed), then the
heartbeat against the real SmsService.status() and on the modem emulator's office phone."""

from __future__ import annotations

import asyncio
import re

import pytest
from hypothesis import given, settings, strategies as st

from hubd.core.actions import Audit, Report, SendSms
from hubd.core.engine import Engine
from hubd.events import Event, Kind
from hubd.modem.modem import signal_from_csq
from hubd.modem.pdu import count_parts
from hubd.modem.service import SmsService
from hubd.clock import FakeClock
from hubd.core.office import BadCommand, OfficeCommands, parse_command, report_text
from hubd.store import Store

from fakes import RecordingUplink, build_hub

H = 3600.0
OFFICE_NATIONAL, OFFICE = "0312345678", "+81312345678"
OTHER = "+819012345678"


class Hub:
    """The engine with one alarm waiting for ACK, and the office rules in front of it."""

    def __init__(self, make_config, **sections):
        sections.setdefault("alerts", {"prealarm_minutes": 0})
        sections.setdefault("modem", {"recipients": [OFFICE_NATIONAL, OTHER], "authorised": []})
        self.config = make_config(**sections)
        self.engine = Engine(self.config)
        self.office = OfficeCommands(self.config)
        self.mono, self.local = 1000.0, 1_700_000_000.0
        self.engine.handle(Event(self.mono, self.local, "hall", Kind.MOTION, 1.0))
        self.advance(2 * H + 60)
        [self.alert] = self.engine.policy.open_alerts()

    def advance(self, seconds):
        self.mono += seconds
        self.local += seconds
        return self.engine.tick(self.mono, self.local)

    def sms(self, sender, text, numeric=True):
        return self.office.on_sms(sender, text, numeric, self.engine, self.mono, self.local)

    @property
    def acked(self):
        return self.alert.acked_by is not None


def audits(actions, action=None):
    return [a for a in actions if isinstance(a, Audit) and (action is None or a.action == action)]


def texts(actions, purpose=None):
    return [a for a in actions if isinstance(a, SendSms) and (purpose is None or a.purpose == purpose)]


# -- who may command the hub -------------------------------------------------------------------
def test_an_alphanumeric_sender_spelling_a_national_office_number_is_ignored_and_audited(make_config):
    hub = Hub(make_config)
    assert hub.config.modem.recipients[0] == OFFICE  # written 0312345678, kept as +81312345678
    for text in (f"ACK {hub.alert.id}", "TEST", "STATUS"):
        actions = hub.sms(OFFICE_NATIONAL, text, numeric=False)
        [audit] = actions
        assert audit.action == "sms_ignored" and audit.detail["reason"] == "sender is a name, not a number"
    assert not hub.acked
    assert [s.purpose for s in texts(hub.advance(30 * 60 + 1))] == ["alarm"]  # the escalation goes on


@pytest.mark.parametrize("sender", [OFFICE_NATIONAL, OFFICE, "312345678"])
def test_the_office_number_in_national_or_international_form_is_honoured(make_config, sender):
    hub = Hub(make_config)
    actions = hub.sms(sender, f"ACK {hub.alert.id}")
    assert audits(actions, "ack") and audits(actions, "ack")[0].actor == f"sms {OFFICE}"
    assert hub.acked and texts(hub.advance(2 * H)) == []  # ACK stopped the escalation
    [reply] = texts(hub.sms(sender, "status"), "reply")
    assert reply.to == OFFICE  # answered in the one form the outbox sends to


@pytest.mark.parametrize("sender, numeric, reason", [
    ("+81399999999", True, "unknown sender"),
    ("", True, "sender is not a valid number"),
    ("110", True, "sender is not a valid number"),
    ("+8131234567*", True, "sender is not a valid number"),
    ("+81３12345678", True, "sender is not a valid number"),
    ("OFFICE", False, "sender is a name, not a number"),
])
def test_strangers_are_ignored_and_audited(make_config, sender, numeric, reason):
    hub = Hub(make_config)
    [audit] = hub.sms(sender, f"ACK {hub.alert.id}", numeric)
    assert audit.action == "sms_ignored" and audit.detail["reason"] == reason
    assert not hub.acked


def test_authorised_numbers_besides_the_recipients_may_command(make_config):
    hub = Hub(make_config, modem={"recipients": [OFFICE], "authorised": ["08011112222"]})
    assert audits(hub.sms("+818011112222", f"ACK {hub.alert.id}"), "ack")


# -- digits are ASCII ----------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["ACK ²", "ACK ١", "ACK １", "ACK 1²", "ACK", "ACK -1", "ACK 1 please",
                                  "ACK 9999999999999", "ACK 1" + "0" * 5000])
def test_an_ack_without_ascii_digits_is_refused_and_audited(make_config, text):
    hub = Hub(make_config)
    [audit] = hub.sms(OFFICE, text)
    assert audit.action == "command_refused" and "ASCII" in audit.detail["why"]
    assert not hub.acked


@pytest.mark.parametrize("text", ["ＡＣＫ 1", "ACK\u30001", "ＳＴＡＴＵＳ", "hello", "", "\ud800", "STATUS please"])
def test_other_texts_are_no_command(make_config, text):
    hub = Hub(make_config)
    [audit] = hub.sms(OFFICE, text)
    assert audit.action == "sms_ignored" and audit.detail["reason"] == "unknown command"
    assert not hub.acked


def test_an_ack_for_no_waiting_alarm_is_refused(make_config):
    hub = Hub(make_config)
    [audit] = hub.sms(OFFICE, "ACK 77")
    assert audit.action == "command_refused" and "no alarm with id 77" in audit.detail["why"]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30) | st.sampled_from(["ACK ", "ack 1", "TEST", "Status", " ACK\t", "OK T", "ok t1234"]).flatmap(
    lambda head: st.text(max_size=6).map(lambda tail: head + tail)))
def test_any_text_is_a_command_in_ascii_no_command_or_a_refused_ack(text):
    try:
        command = parse_command(text)
    except BadCommand:
        assert text.strip()[:3].upper() == "ACK"
        return
    if command is None:
        return
    words = text.strip()
    assert words.isascii()
    if command.name == "ack":
        digits = words[3:].strip()
        assert re.fullmatch(r"[0-9]{1,9}", digits) and command.alert_id == int(digits)
    elif command.name == "confirm":
        assert re.fullmatch(r"OK\s+T[0-9]{5}", words, re.IGNORECASE) and command.test_id == words[-6:].upper()
    else:
        assert words.upper() == command.name.upper()


# -- the installation test's confirmation ------------------------------------------------------------
def test_the_office_confirms_an_installation_test_once_and_is_thanked(make_config):
    hub = Hub(make_config)
    sent = hub.engine.test_alert(None, "technician", hub.mono, hub.local, confirm=True)
    [test] = [a.detail["id"] for a in audits(sent, "test_alert")]
    assert "reply OK " + test in texts(sent, "test")[0].text
    stranger = hub.sms(OTHER.replace("+81", "0"), f"ok {test.lower()}")  # a recipient, but not texted
    assert audits(stranger, "command_refused") and hub.engine.tests_confirmed == {}
    done = hub.sms(OFFICE_NATIONAL, f"OK {test}")
    assert audits(done, "test_confirmed")[0].detail == {"id": test, "by": OFFICE}
    assert hub.engine.tests_confirmed[test] == {"by": OFFICE, "local": hub.local}
    assert "confirmed" in texts(done, "reply")[0].text
    again = hub.sms(OFFICE_NATIONAL, f"OK {test}")
    assert audits(again, "command_refused") and not texts(again)


def test_a_plain_test_asks_for_no_confirmation(make_config):
    hub = Hub(make_config)
    sent = hub.engine.test_alert(None, "technician", hub.mono, hub.local)
    [test] = [a.detail["id"] for a in audits(sent, "test_alert")]
    assert "OK" not in texts(sent, "test")[0].text
    assert audits(hub.sms(OFFICE_NATIONAL, f"OK {test}"), "command_refused")


# -- replies are rate-limited per sender -----------------------------------------------------------
def test_sixty_status_requests_get_at_most_the_hourly_limit_of_replies(make_config):
    hub = Hub(make_config, modem={"recipients": [OFFICE, OTHER], "replies_per_hour": 4})
    actions = []
    for _ in range(60):
        actions += hub.sms(OFFICE, "STATUS")
        hub.mono += 1.0
    assert len(texts(actions, "reply")) == 4
    assert len(audits(actions, "reply_dropped")) == 56 and len(audits(actions, "status_request")) == 4
    assert len(texts(hub.sms(OFFICE, "TEST"))) == 0  # TEST shares the budget
    assert len(texts(hub.sms(OTHER, "STATUS"), "reply")) == 1  # the budget is per sender
    assert audits(hub.sms(OFFICE, f"ACK {hub.alert.id}"), "ack")  # an ACK is never limited
    hub.mono += H  # an hour after the first replies: the sender may ask again
    assert len(texts(hub.sms(OFFICE, "TEST"), "test")) == 1


def test_a_reload_keeps_the_reply_history(make_config):
    hub = Hub(make_config, modem={"recipients": [OFFICE], "replies_per_hour": 1})
    assert texts(hub.sms(OFFICE, "STATUS"))
    hub.office = hub.office.reconfigured(hub.config)
    assert not texts(hub.sms(OFFICE, "STATUS"))


# -- the STATUS reply in the resident's language --------------------------------------------------
@pytest.mark.parametrize("language, words", [("en", "No activity for"), ("ja", "無活動")])
def test_the_status_reply_is_in_the_configured_language_and_one_part(make_config, language, words):
    hub = Hub(make_config, hub={"language": language})
    [reply] = texts(hub.sms(OFFICE, "STATUS"), "reply")
    assert words in reply.text and count_parts(reply.text)[1] == 1
    if language == "ja":
        assert "No activity" not in reply.text and "mode" not in reply.text


# -- through the daemon -------------------------------------------------------------------------
async def settle(rounds=20):
    for _ in range(rounds):
        await asyncio.sleep(0)


def test_the_daemon_carries_out_the_office_rules_and_audits_every_refusal(make_config, clock):
    config = make_config(alerts={"prealarm_minutes": 0}, modem={"recipients": [OFFICE_NATIONAL]})
    up = RecordingUplink()
    daemon = build_hub(config, clock, uplink=up, boot_id="b1")

    async def scenario():
        task = asyncio.ensure_future(daemon.run())
        await settle()
        daemon.sink("hall", Kind.MOTION, 1.0, clock.monotonic())
        while not up.sent:
            clock.advance(60.0)
            await settle()
        alert_id = up.sent[0][3]
        up.inbound(OFFICE_NATIONAL, f"ACK {alert_id}", False)  # the modem's sink before the numeric flag: not a number
        up.inbound(OFFICE, "ACK ²", True)
        up.inbound(OFFICE, "ACK ١", True)
        for _ in range(60):
            up.inbound(OFFICE_NATIONAL, "STATUS", True)
        up.inbound(OFFICE, f"ACK {alert_id}", True)
        daemon.request_stop()
        await task

    asyncio.run(scenario())
    assert [purpose for _, _, purpose, _ in up.sent].count("reply") == config.modem.replies_per_hour
    audit = [a["action"] for a in Store(config.hub.state_dir).audit_log(200)]
    assert audit.count("sms_ignored") == 1 and audit.count("command_refused") == 2
    assert audit.count("reply_dropped") == 60 - config.modem.replies_per_hour and audit.count("ack") == 1


# -- the heartbeat shows the signal the uplink really reports --------------------------------------
def _service_status(tmp_path, rssi):
    service = SmsService("/nonexistent/ttyUSB2", 115200, Store(str(tmp_path / "modem")), FakeClock())
    if rssi is not None:
        service.modem.state.signal = signal_from_csq(rssi)
    return service.status()


@pytest.mark.parametrize("rssi, shown", [(19, "Signal 3/4"), (31, "Signal 4/4"), (1, "Signal 0/4"),
                                         (None, "Signal unknown"), (99, "Signal unknown")])
def test_the_heartbeat_shows_the_signal_of_sms_service_status(make_config, tmp_path, rssi, shown):
    config = make_config()
    report = Report("heartbeat", {"last_activity_local": None, "mode": "home", "open_alerts": 0})
    text = report_text(report, _service_status(tmp_path, rssi), config)
    assert shown in text, text


def test_the_japanese_heartbeat_shows_the_signal_in_japanese(make_config, tmp_path):
    config = make_config(hub={"language": "ja"})
    report = Report("heartbeat", {"last_activity_local": 1_700_000_000.0, "mode": "home", "open_alerts": 2})
    text = report_text(report, _service_status(tmp_path, 19), config)
    assert text == "hubd T-1: 稼働中。最終活動11/14 22:13。見守り中。警報2件。電波3/4。未送信0件"
    assert count_parts(text)[1] == 1


def test_the_heartbeat_reaches_the_office_phone_with_the_modem_signal(tmp_path):
    """End to end: the real SmsService on the pty modem emulator; the phone gets the signal."""
    from faultrig import DAY0, HOUR, OFFICE as RIG_OFFICE, Rig, run
    from hubsim.modem import ModemEmulator

    emulator = ModemEmulator("ec25", seed=5).start()
    try:
        rig = Rig(tmp_path, emulator, start_local=DAY0 + 9 * HOUR + 58 * 60,
                  alerts={"heartbeat_hours": 24.0, "heartbeat_time": "10:00"})
        beats: list[str] = []

        async def body(rig):
            assert await rig.until(lambda: rig.uplink.modem.ready, 30), "the modem never became ready"
            bars = rig.uplink.status()["signal"]["bars"]
            assert await rig.until(lambda: beats.extend(
                t for n, t in rig.phone() if "alive" in t and t not in beats) or beats, 10 * 60)
            assert f"Signal {bars}/4" in beats[0] and "Signal unknown" not in beats[0]
            assert rig.sent("heartbeat")[0][0] == RIG_OFFICE

        run(rig, body)
    finally:
        emulator.stop()


def test_a_reload_that_would_leave_nobody_to_text_is_refused(tmp_path, clock):
    from hubd.config import load_config

    path = tmp_path / "hub.toml"
    state = tmp_path / "state"
    head = f'[hub]\nflat_id = "R-1"\nstate_dir = "{state}"\nsocket = "{tmp_path / "s.sock"}"\n[modem]\n'
    path.write_text(head + f'recipients = ["{OFFICE_NATIONAL}"]\n')
    daemon = build_hub(load_config(path), clock, boot_id="b1")
    path.write_text(head + 'recipients = ["+810000000001"]\n')  # the example's placeholder
    daemon._reload()
    path.write_text(head + "recipients = []\n")
    daemon._reload()
    assert daemon.config.modem.recipients == (OFFICE,) and daemon.engine.policy.recipients == [OFFICE]
    assert [a["action"] for a in daemon.store.audit_log(10)] == ["reload_failed", "reload_failed"]
