"""Duty escalation, as a hub escalates to the office (docs/office.md): the first duty number
at once, the next after the ACK timeout, round after round, then stop repeating (the alert
stays open). Pure: state in, state and numbers to text out.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DutyState:
    round: int = 0  # 1-based round of the last text; 0 = nothing sent yet
    index: int = -1  # position in the duty list of the last text
    next_at: float | None = None  # when the next step is due; None = nothing more to do
    stage: str = "not sent"


def start(now: float) -> DutyState:
    """A new alert for duty: the first text is due now."""
    return DutyState(next_at=now)


def step(state: DutyState, numbers: tuple[str, ...], timeout_s: float, rounds: int,
         now: float) -> tuple[DutyState, list[str]]:
    """Advance when due: (new state, numbers to text now)."""
    if state.next_at is None or now < state.next_at:
        return state, []
    if not numbers:
        return DutyState(state.round, state.index, None, "no duty numbers configured"), []
    index, rnd = state.index + 1, max(state.round, 1)
    if index >= len(numbers):
        index, rnd = 0, rnd + 1
    if rnd > rounds:
        return DutyState(state.round, state.index, None,
                         f"no ACK after {rounds} round(s); not repeated (alert stays open)"), []
    number = numbers[index]
    return DutyState(rnd, index, now + timeout_s, f"sent to {number} (round {rnd})"), [number]


def acknowledged(state: DutyState, by: str) -> DutyState:
    return DutyState(state.round, state.index, None, f"acknowledged by {by}")
