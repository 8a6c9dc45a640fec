"""The pure core: a threshold crossing becomes a pre-alarm, then SMS, then a resolved SMS."""

import pytest

from hubd.core.actions import AlertChanged, Audit, SendSms, SetOutputs
from hubd.core.engine import CommandError, Engine
from hubd.events import Event, Kind

H = 3600.0


class Flat:
    """Drives an engine on a simulated clock, ticking exactly at its deadlines."""

    def __init__(self, config, start=1000.0, local=1_700_000_000.0):
        self.engine = Engine(config)
        self.mono, self.local0 = start, local - start
        self.actions = []

    @property
    def local(self):
        return self.local0 + self.mono

    def event(self, sensor="hall", kind=Kind.MOTION, value=1.0):
        self.actions += self.engine.handle(Event(self.mono, self.local, sensor, kind, value))

    def run_for(self, seconds):
        end = self.mono + seconds
        while (d := self.engine.next_deadline(self.mono)) is not None and d <= end:
            self.mono = d
            self.actions += self.engine.tick(self.mono, self.local)
        self.mono = end
        self.actions += self.engine.tick(self.mono, self.local)

    def sms(self, purpose=None):
        return [a for a in self.actions if isinstance(a, SendSms) and (purpose is None or a.purpose == purpose)]

    def outputs(self):
        return [a.pattern for a in self.actions if isinstance(a, SetOutputs)]

    def audits(self, action=None):
        return [a for a in self.actions if isinstance(a, Audit) and (action is None or a.action == action)]


@pytest.fixture
def flat(make_config):
    return Flat(make_config())


def test_silence_gives_prealarm_then_one_sms_then_resolved(flat):
    flat.event()
    flat.run_for(2 * H - 1)
    assert flat.outputs() == [] and flat.sms() == []
    flat.run_for(2)
    assert flat.outputs() == ["prealarm"]
    assert flat.sms() == []
    flat.run_for(3 * 60)
    alarms = flat.sms("alarm")
    assert [s.to for s in alarms] == ["+8100000001"]
    assert "T-1" in alarms[0].text and "Alert 1" in alarms[0].text
    assert flat.outputs()[-1] == "alarm"
    flat.run_for(10)
    flat.event()
    resolved = flat.sms("resolved")
    assert [s.to for s in resolved] == ["+8100000001"] and "resolved" in resolved[0].text
    assert flat.outputs()[-1] == "off"


def test_ok_button_cancels_prealarm_and_nothing_is_sent(flat):
    flat.event()
    flat.run_for(2 * H + 60)
    assert flat.outputs() == ["prealarm"]
    flat.event("ok_button", Kind.BUTTON, 1)
    flat.run_for(H)
    assert flat.sms() == []
    assert flat.outputs() == ["prealarm", "off"]
    assert flat.audits("alert_cancelled")


def test_inside_activity_cancels_prealarm(flat):
    flat.event()
    flat.run_for(2 * H + 60)
    flat.event("kitchen", Kind.DOOR, 1)
    flat.run_for(H)
    assert flat.sms() == []


def test_escalates_in_order_until_ack_and_respects_repeat_limit(flat):
    flat.event()
    flat.run_for(2 * H + 3 * 60 + 1)
    flat.run_for(30 * 60)
    assert [s.to for s in flat.sms("alarm")] == ["+8100000001", "+8100000002"]
    alert_id = flat.sms("alarm")[0].alert_id
    flat.actions += flat.engine.ack(alert_id, "tech", flat.mono, flat.local)
    flat.run_for(5 * H)
    assert len(flat.sms("alarm")) == 2


def test_repeat_limit_caps_the_number_of_alarm_sms(flat):
    flat.event()
    flat.run_for(20 * H)
    # 2 recipients x repeat_limit 2 = 4 messages, never more, one episode
    assert [s.to for s in flat.sms("alarm")] == ["+8100000001", "+8100000002"] * 2
    raised = [a for a in flat.actions if isinstance(a, AlertChanged) and a.raised]
    assert len(raised) == 1


def test_ack_of_unknown_alert_is_refused(flat):
    with pytest.raises(CommandError):
        flat.engine.ack(99, "tech", flat.mono, flat.local)


def test_held_presence_is_not_inactivity(flat):
    flat.event("bed", Kind.PRESENCE, 1)
    flat.run_for(5 * H)
    assert flat.outputs() == []
    flat.event("bed", Kind.PRESENCE, 0)
    flat.run_for(2 * H + 1)
    assert flat.outputs() == ["prealarm"]


def test_away_suspends_and_expires_back_to_watching(flat):
    flat.event()
    flat.actions += flat.engine.set_mode("away", 4, "tech", flat.mono, flat.local)
    flat.run_for(4 * H - 1)
    assert flat.outputs() == []
    flat.run_for(2)
    assert flat.audits("away_expired")
    assert flat.audits("away_expired")[0].detail["set_by"] == "tech"
    assert flat.outputs() == ["prealarm"]  # silence since before away: watching again at once


def test_modes_always_expire_and_are_capped(flat):
    with pytest.raises(CommandError):
        flat.engine.set_mode("away", 0, "tech", flat.mono, flat.local)
    with pytest.raises(CommandError):
        flat.engine.set_mode("away", 15 * 24, "tech", flat.mono, flat.local)


def test_pause_beyond_maximum_raises_system_alert_and_sms(make_config):
    flat = Flat(make_config(alerts={"max_pause_hours": 1.0}))
    flat.event()
    flat.actions += flat.engine.set_mode("paused", 6, "tech", flat.mono, flat.local)
    flat.run_for(H - 1)
    assert flat.sms() == []
    flat.run_for(2)
    system = flat.sms("system")
    assert len(system) == 1 and "paused" in system[0].text
    flat.actions += flat.engine.resume("tech", flat.mono, flat.local)
    assert flat.sms("resolved")


def test_autonomous_sensor_is_not_a_person(make_config):
    flat = Flat(make_config(sensors=[{"id": "fridge", "kind": "appliance", "chip": "ina219", "role": "autonomous"}]))
    flat.event()
    for _ in range(8):
        flat.run_for(20 * 60)
        flat.event("fridge", Kind.APPLIANCE, 120)
    assert "prealarm" in flat.outputs()


def _fault(flat, key="kitchen_pir", on=True):
    from hubd.findings import Finding
    f = Finding("sensor_fault", "system", flat.mono, 0.0, key=key)
    flat.actions += flat.engine.report_condition(f if on else None, f.ident, flat.mono, flat.local)


def test_system_fault_is_texted_after_its_grace_period(flat):
    _fault(flat)
    assert flat.sms() == [] and flat.outputs() == ["fault"]
    flat.run_for(2 * 60 + 1)
    system = flat.sms("system")
    assert len(system) == 1 and "kitchen_pir" in system[0].text
    flat.run_for(60)
    _fault(flat, on=False)
    assert flat.outputs() == ["fault", "off"] and len(flat.sms("resolved")) == 1


def test_a_sensor_fault_that_comes_and_goes_is_one_fault(flat):
    """A chattering PIR, bad for an hour in every five for three days. The first time is a
    fault and its end; when it comes back it is one fault (one text and its 24 h reminder),
    over a day after its last bad hour. Before: a text and a resolved text for every bad
    hour more than system_repeat_hours after the last (14 and 14 here)."""
    for _ in range(3 * 24 // 5):
        _fault(flat)
        flat.run_for(H)
        _fault(flat, on=False)
        flat.run_for(4 * H)
    assert len(flat.sms("system")) == 3  # the first fault; the second, and its reminder (repeat_limit 2 here)
    assert len(flat.sms("resolved")) == 1 and flat.audits("alert_resumed") and flat.outputs()[-1] == "fault"
    flat.run_for(21 * H)
    assert len(flat.sms("resolved")) == 2 and flat.outputs()[-1] == "off"
    assert len(flat.sms("system")) == 3


def test_a_settling_sensor_fault_survives_a_restart(flat, make_config):
    for _ in range(2):  # the second time it comes back: it settles
        _fault(flat)
        flat.run_for(H)
        _fault(flat, on=False)
        flat.run_for(5 * H)
    state = flat.engine.policy.state()
    again = Flat(make_config())
    again.engine.policy.load(state, lambda m: m)
    assert [a.stage for a in again.engine.policy.open_alerts()] == ["settling"]
    assert again.engine.policy.next_deadline() == pytest.approx(flat.mono + 19 * H)


def test_flapping_fault_causes_no_sms_storm(flat):
    for _ in range(20):  # a chattering contact: fault for 30 s, fine for 30 s
        _fault(flat)
        flat.run_for(30)
        _fault(flat, on=False)
        flat.run_for(30)
    assert flat.sms() == []
    assert len(flat.audits("alert_cancelled")) == 20


def test_same_system_fault_again_is_shown_locally_but_not_texted_again(make_config):
    flat = Flat(make_config(alerts={"sensor_settle_hours": 0}))  # the repeat window, not the settling
    _fault(flat)
    flat.run_for(3 * 60)
    _fault(flat, on=False)
    flat.run_for(H)
    _fault(flat)
    flat.run_for(3 * 60)
    assert len(flat.sms("system")) == 1
    assert flat.audits("repeat_suppressed") and flat.outputs()[-1] == "fault"
    _fault(flat, on=False)
    flat.run_for(5 * H)
    _fault(flat)
    flat.run_for(3 * 60)
    assert len(flat.sms("system")) == 2  # after the repeat window it is news again


def test_heartbeat_reports_daily_at_the_configured_time(make_config):
    from hubd.core.actions import Report
    from hubd.events import format_local
    flat = Flat(make_config(alerts={"heartbeat_hours": 24, "heartbeat_time": "10:00"}))
    flat.event()
    for _ in range(3 * 24):
        flat.run_for(H)
        flat.event()  # life goes on: no alerts in the way
    reports = [a for a in flat.actions if isinstance(a, Report)]
    assert len(reports) == 3
    assert all(r.kind == "heartbeat" and r.facts["mode"] == "home" for r in reports)


def test_long_press_sets_away_and_inside_activity_later_ends_it(flat):
    flat.event()
    flat.event("ok_button", Kind.BUTTON, 2)
    assert flat.engine.mode.name == "away" and flat.engine.mode.actor == "resident (long press)"
    flat.event("front_door", Kind.ENTRANCE, 1)
    flat.run_for(3 * 60)
    flat.event("hall", Kind.MOTION, 1)  # still leaving: within the return window
    assert flat.engine.mode.name == "away"
    flat.run_for(5 * H)
    assert flat.outputs() == []  # away: no inactivity alarm
    flat.event("front_door", Kind.ENTRANCE, 1)
    assert flat.engine.mode.name == "away"  # the door alone is not someone inside
    flat.event("kitchen", Kind.DOOR, 1)
    assert flat.engine.mode.name == "home"
    assert flat.audits("away_ended")[0].detail["sensor"] == "kitchen"
    flat.run_for(2 * H + 1)
    assert flat.outputs() == ["prealarm"]  # watched again


def test_an_appliance_alone_never_ends_an_away_mode(flat):
    """A PC left on varies its draw by itself (level events while on): no sign of a person coming home."""
    flat.event()
    flat.event("ok_button", Kind.BUTTON, 2)
    flat.event("front_door", Kind.ENTRANCE, 1)
    flat.run_for(2 * H)
    for watts in (0.0, 95.0, 120.0, 88.0, 131.0):  # switched on by a timer, then varying
        flat.event("pc", Kind.APPLIANCE, watts)
        flat.run_for(10 * 60)
    assert flat.engine.mode.name == "away" and flat.audits("away_ended") == []
    flat.event("hall", Kind.MOTION, 1)
    assert flat.engine.mode.name == "home"


def test_the_fixed_timer_counts_an_appliance_switched_on_not_its_level_changes():
    from hubd.detector.base import FixedTimerDetector

    timer = FixedTimerDetector(3600.0)
    t = 1000.0
    for watts in (0.0, 90.0, 120.0, 95.0, 130.0):  # off, switched on, then only level events
        timer.observe(Event(t, t, "pc", Kind.APPLIANCE, watts))
        t += 20 * 60
    assert timer.last_activity_mono == 1000.0 + 20 * 60  # the switch-on
    assert [f.type for f in timer.check(1000.0 + 20 * 60 + 3600.0, 0.0)] == ["inactivity"]
    restored = FixedTimerDetector(3600.0)
    restored.load(timer.state(), lambda m: m)
    restored.observe(Event(t, t, "pc", Kind.APPLIANCE, 110.0))  # still on after a restart: no switch-on
    assert restored.last_activity_mono == 1000.0 + 20 * 60
    for watts in (0.0, 100.0):  # off and on again: a hand
        restored.observe(Event(t + 60, t + 60, "pc", Kind.APPLIANCE, watts))
        t += 60
    assert restored.last_activity_mono == t


def test_restart_keeps_last_activity_and_alert_state_and_reports_it(make_config):
    config = make_config()
    flat = Flat(config)
    flat.event()
    flat.run_for(2 * H + 4 * 60)  # alarm sent
    snap = flat.engine.snapshot(flat.mono, flat.local, boot_id="boot-a")
    # new boot: monotonic restarted near zero, wall clock moved on by 10 minutes
    fresh = Engine(config)
    actions = fresh.restore(snap, 50.0, flat.local + 600, boot_id="boot-b")
    status = fresh.status(50.0, flat.local + 600)
    assert status["detector"]["last_activity_local"] == flat.local0 + 1000.0
    assert status["detector"]["inactive_seconds"] == pytest.approx(2 * H + 4 * 60 + 600)
    assert [a["id"] for a in status["open_alerts"]] == [1]
    assert status["open_alerts"][0]["stage"] == "alarm"
    notices = [a for a in actions if isinstance(a, SendSms)]
    assert len(notices) == 1 and "restarted" in notices[0].text
    # activity after the restart resolves the stored alert
    resolved = fresh.handle(Event(60.0, flat.local + 610, "hall", Kind.MOTION, 1))
    assert any(isinstance(a, SendSms) and a.purpose == "resolved" for a in resolved)


def test_restore_on_same_boot_uses_monotonic_time(make_config):
    config = make_config()
    flat = Flat(config)
    flat.event()
    snap = flat.engine.snapshot(flat.mono, flat.local, boot_id="same")
    fresh = Engine(config)
    fresh.restore(snap, flat.mono + 30, flat.local - 3600, boot_id="same")  # wall jumped back an hour
    assert fresh.status(flat.mono + 30, flat.local)["detector"]["inactive_seconds"] == pytest.approx(30)


def test_test_alert_is_recorded_as_test(flat):
    actions = flat.engine.test_alert(None, "tech", flat.mono, flat.local)
    sms = [a for a in actions if isinstance(a, SendSms)]
    assert [s.purpose for s in sms] == ["test"] and sms[0].to == "+8100000001"
    assert any(isinstance(a, Audit) and a.action == "test_alert" for a in actions)


def test_without_prealarm_the_alert_is_raised_as_alarm(make_config):
    flat = Flat(make_config(alerts={"prealarm_minutes": 0}))
    flat.event()
    flat.run_for(2 * H + 1)
    raised = [a.record for a in flat.actions if isinstance(a, AlertChanged) and a.raised]
    assert [r["stage"] for r in raised] == ["alarm"]
    assert len(flat.sms("alarm")) == 1


def test_system_fault_goes_to_the_first_recipient_with_daily_reminders_only(flat):
    _fault(flat)
    flat.run_for(23 * H)
    assert [s.to for s in flat.sms("system")] == ["+8100000001"]  # no 30-minute escalation for a fault
    flat.run_for(2 * H)
    assert [s.to for s in flat.sms("system")] == ["+8100000001"] * 2  # the reminder a day later


@pytest.mark.parametrize("mode", ["fixed", "learned"])
def test_a_fresh_start_with_nothing_seen_alarms_by_the_safety_net(make_config, mode):
    """First install, or a damaged store set aside: a resident who fell before the hub started
    sends nothing. A hub that has seen no sign of life is not a quiet flat: the silence counts
    from the start, by the safety net, until the first activity."""
    config = make_config(detector={"mode": mode, "max_inactivity_hours": 2.0})
    flat = Flat(config)
    flat.actions += flat.engine.start_fresh(flat.mono, flat.local)
    flat.run_for(2 * H - 60)
    assert flat.sms() == []
    flat.run_for(4 * 60)  # the 3-minute pre-alarm, then the alarm
    [alarm] = flat.sms("alarm")
    assert "no activity for 2h0" in alarm.text
    flat.event()
    assert [a.text for a in flat.sms("resolved")] == [
        "hubd T-1: alert 1 resolved, activity again after 2h03m"]


def test_nothing_seen_since_start_survives_a_restart_and_ends_with_the_first_activity(make_config):
    config = make_config()
    flat = Flat(config)
    flat.engine.start_fresh(flat.mono, flat.local)
    flat.run_for(H)
    snap = flat.engine.snapshot(flat.mono, flat.local, "boot")
    restarted = Flat(config, start=flat.mono, local=flat.local)
    restarted.engine.restore(snap, restarted.mono, restarted.local, "boot")
    restarted.run_for(H + 4 * 60)
    assert len(restarted.sms("alarm")) == 1  # 2 h after the first start, not after the restart
    quiet = Flat(config)
    quiet.engine.start_fresh(quiet.mono, quiet.local)
    quiet.run_for(H)
    quiet.event()
    assert quiet.engine.watching_since is None
    assert quiet.engine.next_deadline(quiet.mono) == quiet.mono + 2 * H  # the motion's, as always
