"""Duty escalation: first number at once, the next after the timeout, rounds, then stop."""

from hubdesk import duty

NUMBERS = ("+819000000001", "+819000000002")


def run(state, now):
    return duty.step(state, NUMBERS, 1800.0, 2, now)


def test_escalates_through_list_and_rounds_then_stops():
    state = duty.start(0.0)
    sent = []
    for now in (0.0, 1800.0, 3600.0, 5400.0, 7200.0):
        state, numbers = run(state, now)
        sent.append(numbers)
    assert sent == [[NUMBERS[0]], [NUMBERS[1]], [NUMBERS[0]], [NUMBERS[1]], []]
    assert state.next_at is None and "not repeated" in state.stage


def test_nothing_before_timeout():
    state, first = run(duty.start(0.0), 0.0)
    again, numbers = run(state, 1799.0)
    assert first == [NUMBERS[0]] and numbers == [] and again == state
    assert "round 1" in state.stage


def test_ack_stops():
    state, _ = run(duty.start(0.0), 0.0)
    state = duty.acknowledged(state, "+819000000001")
    assert run(state, 10_000.0)[1] == []
    assert state.stage == "acknowledged by +819000000001"


def test_no_numbers_says_so():
    state, numbers = duty.step(duty.start(0.0), (), 1800.0, 2, 0.0)
    assert numbers == [] and state.stage == "no duty numbers configured"
