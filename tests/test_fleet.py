"""The simulated fleet (hubsim.fleet) that feeds the office desk: real hub cores, real tags,
and each trouble showing as the desk must see it."""

import pytest

from hubd.sms_tag import parse
from hubsim.fleet import HOUR, MODEM_LOST_H, build_fleet, day_start

OFFICE = "+81300000001"
START = day_start(hour=9)
FATES = ["well", "collapse", "dies", "modem_lost", "loses_texts"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Five hubs, one of each fate, for 52 hours (three heartbeats); the office ACKs every resident alarm 5 min after it."""
    fleet = build_fleet(5, str(tmp_path_factory.mktemp("fleet")), OFFICE, START, fates=FATES)
    texts, now = [], START
    while now < START + 52 * HOUR:
        now += 600
        for text in fleet.advance(now):
            texts.append(text)
            words, tag = parse(text.text)
            if tag.kind in ("inactivity", "not_returned", "stayed_in_place"):
                texts += fleet.deliver(text.sender, OFFICE, f"ACK {tag.alert_id}", text.at + 300)
    return fleet, texts


def _by_fate(fleet, texts, fate):
    hub = next(h for h in fleet.hubs if h.fate == fate)
    return hub, [(t, parse(t.text)[1]) for t in texts if t.sender == hub.number]


def test_every_text_carries_its_hubs_tag_and_goes_to_the_office(run):
    fleet, texts = run
    assert texts
    for text in texts:
        words, tag = parse(text.text)
        assert text.to == OFFICE
        assert tag.flat == fleet.by_number[text.sender].flat and words.startswith(f"hubd {tag.flat}:")


@pytest.mark.parametrize("fate", ["well", "collapse", "dies", "modem_lost"])
def test_sequence_numbers_run_unbroken_from_one(run, fate):
    fleet, texts = run
    hub, sent = _by_fate(fleet, texts, fate)
    assert sorted(tag.seq for _, tag in sent) == list(range(1, len(sent) + 1))


def test_a_lost_text_leaves_a_gap(run):
    fleet, texts = run
    hub, sent = _by_fate(fleet, texts, "loses_texts")
    seqs = sorted(tag.seq for _, tag in sent)
    assert len(seqs) == seqs[-1] - 1 and seqs[0] == 1  # exactly one number missing


def test_a_dead_hub_says_nothing_after_it_died(run):
    fleet, texts = run
    hub, sent = _by_fate(fleet, texts, "dies")
    assert sent and all(t.at < hub.fate_at for t, _ in sent)
    well, others = _by_fate(fleet, texts, "well")
    assert [tag.kind for t, tag in others if t.at > hub.fate_at].count("heartbeat") >= 1


def test_a_collapse_raises_the_alarm_and_an_ack_stops_its_repeats(run):
    fleet, texts = run
    hub, sent = _by_fate(fleet, texts, "collapse")
    alarms = [(t, tag) for t, tag in sent if tag.kind == "inactivity" and t.at >= hub.fate_at]
    assert len(alarms) == 1, [tag for _, tag in alarms]  # ACKed 5 min later: no second round
    assert alarms[0][0].at - hub.fate_at < 8 * HOUR


def test_a_modem_without_network_sends_its_texts_late_with_uplink_down(run):
    fleet, texts = run
    hub, sent = _by_fate(fleet, texts, "modem_lost")
    back = hub.fate_at + MODEM_LOST_H * HOUR
    assert not [t for t, _ in sent if hub.fate_at <= t.at < back]
    late = [tag.kind for t, tag in sent if t.at >= back]
    assert "uplink_down" in late and "resolved:uplink_down" in late and "heartbeat" in late


def test_a_text_for_an_unknown_number_goes_nowhere(run):
    fleet, _ = run
    assert fleet.deliver("+819999999999", OFFICE, "STATUS", START) == []
