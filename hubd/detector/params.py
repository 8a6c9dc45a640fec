"""Tunables of the learned detector, one frozen dataclass.

Every field becomes a ``[detector]`` config key of the same name; its metadata gives
the valid range (``min``/``max``, inclusive) and a one-line help text, so the config
layer can validate and document it without knowing the detector. Cross-field rules
(e.g. the minimum threshold must outlast the away-confirmation window) are checked
in ``__post_init__`` so a bad combination stops start-up with the key and the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np


def _p(default, lo, hi, help_text):
    return field(default=default, metadata={"min": lo, "max": hi, "help": help_text})


HIST_LOW_SECONDS = 60.0  # first histogram edge above zero (1 min)
HIST_HIGH_SECONDS = 72 * 3600.0  # last histogram edge (longer durations land in the last bin)


@dataclass(frozen=True)
class DetectorParams:
    # --- time-of-day inactivity thresholds -------------------------------------------
    slot_minutes: int = _p(30, 10, 120, "minutes per time-of-day slot; 10..120, must divide 1440")
    quantile: float = _p(0.95, 0.5, 0.999, "quantile of daily per-slot inactivity the threshold covers; 0.5..0.999")
    robust_days: float = _p(1.5, 0.0, 10.0, "the top this many days' worth of a slot's history never set its limit (outliers); 0..10")
    half_life_days: float = _p(30.0, 2.0, 365.0, "forgetting: a day's weight halves after this many days; 2..365")
    min_learn_days: int = _p(7, 1, 60, "without a population prior: days learned before learned thresholds replace the cold start; 1..60")
    learn_day_min_home_hours: float = _p(6.0, 0.0, 24.0, "hours at home for a day to count as learned; 0..24")
    slot_min_weight: float = _p(3.0, 0.5, 60.0, "count floor: effective days a slot needs before it is learned; 0.5..60")
    sparse_pool_slots: int = _p(8, 0, 24, "a slot short of data borrows up to +-this many neighbouring slots; 0..24")
    drift_slots: int = _p(2, 0, 12, "phase-drift tolerance: a slot takes the max over +-this many neighbours; 0..12")
    margin_factor: float = _p(1.3, 1.0, 3.0, "multiplicative margin on the learned quantile; 1..3")
    margin_minutes: float = _p(60.0, 0.0, 360.0, "additive margin on the learned quantile, minutes; 0..360")
    residual_margin_minutes: float = _p(180.0, 0.0, 720.0, "additive margin on the learned silence remaining after each time of day (the rule that judges a silence by when it began), minutes; 0..720")
    min_threshold_minutes: float = _p(90.0, 15.0, 720.0, "floor of any learned threshold, minutes; 15..720")
    cold_start_hours: float = _p(12.0, 1.0, 72.0, "threshold of a slot with no data (without a prior: of every slot until min_learn_days are learned), hours; 1..72")
    max_inactivity_hours: float = _p(12.0, 1.0, 72.0, "safety net: no threshold ever exceeds this, hours; 1..72")
    # --- away inference ----------------------------------------------------------------
    away_confirm_minutes: float = _p(10.0, 1.0, 120.0, "entrance then no inside activity this long = out, minutes; 1..120")
    absence_quantile: float = _p(0.9, 0.5, 0.999, "quantile of past absences the learned limit covers; 0.5..0.999")
    absence_margin_factor: float = _p(1.5, 1.0, 5.0, "multiplicative margin on the learned absence quantile; 1..5")
    absence_min_count: int = _p(5, 1, 100, "absences seen before the learned limit is used; 1..100")
    absence_min_hours: float = _p(2.0, 1.0, 168.0, "not_returned never fires before this absence, hours (a bound only: the floor that covers a long day out comes from the population prior); 1..168")
    absence_max_hours: float = _p(24.0, 1.0, 336.0, "not_returned always fires by this absence (also cold start), hours; 1..336")
    # --- held presence (bed / seat mats) -------------------------------------------------
    held_quantile: float = _p(0.9, 0.5, 0.999, "quantile of past days' longest hold per sensor the limit covers; 0.5..0.999")
    held_margin_factor: float = _p(1.25, 1.0, 5.0, "multiplicative margin on the learned hold quantile; 1..5")
    held_margin_minutes: float = _p(60.0, 0.0, 720.0, "additive margin on the learned hold quantile, minutes; 0..720")
    held_min_count: int = _p(5, 1, 100, "days with a hold per sensor before its learned limit is used; 1..100")
    held_min_hours: float = _p(2.0, 0.25, 48.0, "stayed_in_place never fires before this hold, hours; 0.25..48")
    held_max_hours: float = _p(14.0, 0.5, 72.0, "stayed_in_place always fires by this hold (also cold start), hours; 0.5..72")
    # --- appliance power -----------------------------------------------------------------
    appliance_margin_watts: float = _p(15.0, 0.5, 5000.0, "power above the learned standby that counts as use, W; 0.5..5000")
    appliance_standby_tau_hours: float = _p(24.0, 0.1, 720.0, "time constant of the standby baseline creeping up, hours; 0.1..720")
    # --- resolution ------------------------------------------------------------------------
    hist_bins: int = _p(128, 16, 1024, "log-spaced duration bins (1 min..72 h) of the learned histograms; 16..1024")
    # --- population prior (hubd/detector/prior.py) ----------------------------------------
    prior_days: float = _p(30.0, 0.0, 365.0, "weight of the population prior on the first day, in pseudo-days (0: no prior, cold start); 0..365")
    prior_half_life_days: float = _p(1.0, 0.5, 365.0, "the prior's weight halves with every this many days the home has learned (absences: absences of that day type seen); 0.5..365")
    early_margin: float = _p(0.0, 0.0, 2.0, "while few days are learned, the inactivity limits' margin factor is raised by this divided by the learned days (a few nights say little of the longest normal one); 0..2")
    # --- appliances as presence (a screen or console in use) --------------------------------
    appliance_vary_watts: float = _p(5.0, 0.5, 500.0, "while an appliance is on, a reading that differs from the previous one by more than this (or the fraction below of its in-use level) is a person using it, W; 0.5..500")
    appliance_vary_fraction: float = _p(0.1, 0.0, 1.0, "the same as a fraction of the appliance's learned in-use level; 0..1")
    appliance_level_tau_minutes: float = _p(60.0, 1.0, 1440.0, "time constant of the learned in-use level, minutes; 1..1440")
    appliance_session_quantile: float = _p(0.9, 0.5, 0.999, "quantile of past sessions (switch-on to off) per appliance the usual session covers; 0.5..0.999")
    appliance_session_margin_factor: float = _p(1.5, 1.0, 5.0, "a session this many times its usual length no longer counts as presence; 1..5")
    appliance_session_min_count: int = _p(3, 1, 100, "sessions seen before an appliance's usual session is learned; 1..100")
    appliance_session_min_hours: float = _p(1.0, 0.25, 24.0, "use counts as presence at least this far into a session, hours; 0.25..24")
    appliance_session_max_hours: float = _p(12.0, 0.5, 24.0, "use never counts as presence past this far into a session, hours; 0.5..24")
    appliance_session_cold_hours: float = _p(6.0, 0.5, 24.0, "how far into a session use counts while the usual session is not learned, hours; 0.5..24")
    appliance_autonomous_hours: int = _p(12, 2, 24, "an appliance that ended a plain on/off cycle (no varying draw) in at least this many different clock hours of one day (today or yesterday) cycles by itself (fridge, freezer, pump) and never counts; 2..24")
    # --- sensors judged by behaviour, corroboration --------------------------------------------
    pulse_max_seconds: float = _p(60.0, 1.0, 3600.0, "a presence sensor whose longest ON is below this on most days pulses (never held), seconds; 1..3600")
    pulse_min_days: float = _p(3.0, 1.0, 60.0, "effective days with ONs before a presence sensor is judged to pulse; 1..60")
    stuck_min_hold_minutes: float = _p(10.0, 1.0, 240.0, "a presence held this long when the front door is used is stuck (nobody opens it from a bed), minutes; 1..240")
    stuck_other_minutes: float = _p(30.0, 5.0, 720.0, "a presence held while 2 other contacts or 3 motion sensors are active over this long is stuck, minutes; 5..720")
    corroborate_minutes: float = _p(5.0, 0.5, 60.0, "while out, one sensor ends the absence only with a second sensor within this, minutes; 0.5..60")
    inverted_window_hours: float = _p(72.0, 1.0, 720.0, "a presence found holding nobody within this of reading ON while the resident was out reads inverted, hours; 1..720")
    inverted_trust_ons: int = _p(2, 1, 30, "an inverted presence is trusted again after this many uncontradicted ONs in a row; 1..30")

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(f.default, int) and not isinstance(value, (int, np.integer)) or isinstance(value, bool):
                raise ValueError(f"detector.{f.name} = {value!r}: must be an integer")
            if not isinstance(value, (int, float, np.integer, np.floating)) or not math.isfinite(value):
                raise ValueError(f"detector.{f.name} = {value!r}: must be a finite number")
            lo, hi = f.metadata["min"], f.metadata["max"]
            if not lo <= value <= hi:
                raise ValueError(f"detector.{f.name} = {value!r}: must be within {lo}..{hi} ({f.metadata['help']})")
        if 1440 % self.slot_minutes:
            raise ValueError(f"detector.slot_minutes = {self.slot_minutes}: must divide 1440 (a whole day)")
        if self.min_threshold_minutes <= self.away_confirm_minutes:
            raise ValueError(
                f"detector.min_threshold_minutes = {self.min_threshold_minutes}: must exceed "
                f"away_confirm_minutes ({self.away_confirm_minutes}), or a person leaving could look inactive"
            )
        if 60 * self.max_inactivity_hours <= self.away_confirm_minutes:
            raise ValueError(
                f"detector.max_inactivity_hours = {self.max_inactivity_hours}: must exceed away_confirm_minutes "
                f"({self.away_confirm_minutes}), or a person leaving could look inactive"
            )
        # a floor above the safety net is fine: the safety net caps every limit
        if self.absence_min_hours > self.absence_max_hours:
            raise ValueError("detector.absence_min_hours: must not exceed absence_max_hours")
        if self.held_min_hours > self.held_max_hours:
            raise ValueError("detector.held_min_hours: must not exceed held_max_hours")
        if not self.appliance_session_min_hours <= self.appliance_session_cold_hours <= self.appliance_session_max_hours:
            raise ValueError("detector.appliance_session_cold_hours: must lie within appliance_session_min_hours.."
                             "appliance_session_max_hours")

    # --- derived values for the kernels ---------------------------------------------------
    @property
    def slots_per_day(self) -> int:
        return 1440 // self.slot_minutes

    def bin_edges(self) -> np.ndarray:
        """Histogram edges: [0, 1 min, ..., 72 h] (hist_bins + 1 values, log-spaced above 1 min)."""
        edges = np.empty(self.hist_bins + 1)
        edges[0] = 0.0
        edges[1:] = np.geomspace(HIST_LOW_SECONDS, HIST_HIGH_SECONDS, self.hist_bins)
        return edges

    def kernel_vector(self) -> np.ndarray:
        """The parameters in seconds/fractions, in the order of :data:`KERNEL_LAYOUT`."""
        h, m = 3600.0, 60.0
        values = {
            "slot_seconds": self.slot_minutes * m,
            "quantile": self.quantile,
            "day_decay": 0.5 ** (1.0 / self.half_life_days),
            "min_learn_days": float(self.min_learn_days),
            "learn_day_min_home_seconds": self.learn_day_min_home_hours * h,
            "slot_min_weight": self.slot_min_weight,
            "drift_slots": float(self.drift_slots),
            "margin_factor": self.margin_factor,
            "margin_seconds": self.margin_minutes * m,
            "min_threshold_seconds": self.min_threshold_minutes * m,
            "cold_start_seconds": self.cold_start_hours * h,
            "safety_seconds": self.max_inactivity_hours * h,
            "away_confirm_seconds": self.away_confirm_minutes * m,
            "absence_quantile": self.absence_quantile,
            "absence_margin_factor": self.absence_margin_factor,
            "absence_min_count": float(self.absence_min_count),
            "absence_min_seconds": self.absence_min_hours * h,
            "absence_max_seconds": self.absence_max_hours * h,
            "held_quantile": self.held_quantile,
            "held_margin_factor": self.held_margin_factor,
            "held_margin_seconds": self.held_margin_minutes * m,
            "held_min_count": float(self.held_min_count),
            "held_min_seconds": self.held_min_hours * h,
            "held_max_seconds": self.held_max_hours * h,
            "appliance_margin_watts": self.appliance_margin_watts,
            "appliance_tau_seconds": self.appliance_standby_tau_hours * h,
            "sparse_pool_slots": float(self.sparse_pool_slots),
            "robust_days": self.robust_days,
            "residual_margin_seconds": self.residual_margin_minutes * m,
            "prior_decay": 0.5 ** (1.0 / self.prior_half_life_days),
            "early_margin": self.early_margin,
            "appliance_vary_watts": self.appliance_vary_watts,
            "appliance_vary_fraction": self.appliance_vary_fraction,
            "appliance_level_tau_seconds": self.appliance_level_tau_minutes * m,
            "appliance_session_quantile": self.appliance_session_quantile,
            "appliance_session_margin_factor": self.appliance_session_margin_factor,
            "appliance_session_min_count": float(self.appliance_session_min_count),
            "appliance_session_min_seconds": self.appliance_session_min_hours * h,
            "appliance_session_max_seconds": self.appliance_session_max_hours * h,
            "appliance_session_cold_seconds": self.appliance_session_cold_hours * h,
            "appliance_autonomous_hours": float(self.appliance_autonomous_hours),
            "pulse_max_seconds": self.pulse_max_seconds,
            "pulse_min_days": self.pulse_min_days,
            "stuck_min_hold_seconds": self.stuck_min_hold_minutes * m,
            "stuck_other_seconds": self.stuck_other_minutes * m,
            "corroborate_seconds": self.corroborate_minutes * m,
            "inverted_window_seconds": self.inverted_window_hours * h,
            "inverted_trust_ons": float(self.inverted_trust_ons),
        }
        return np.array([values[name] for name in KERNEL_LAYOUT], dtype=np.float64)


#: Order of :meth:`DetectorParams.kernel_vector`; ``kernels.unpack_params`` reads it in this order.
KERNEL_LAYOUT = (
    "slot_seconds",
    "quantile",
    "day_decay",
    "min_learn_days",
    "learn_day_min_home_seconds",
    "slot_min_weight",
    "drift_slots",
    "margin_factor",
    "margin_seconds",
    "min_threshold_seconds",
    "cold_start_seconds",
    "safety_seconds",
    "away_confirm_seconds",
    "absence_quantile",
    "absence_margin_factor",
    "absence_min_count",
    "absence_min_seconds",
    "absence_max_seconds",
    "held_quantile",
    "held_margin_factor",
    "held_margin_seconds",
    "held_min_count",
    "held_min_seconds",
    "held_max_seconds",
    "appliance_margin_watts",
    "appliance_tau_seconds",
    "sparse_pool_slots",
    "robust_days",
    "residual_margin_seconds",
    "prior_decay",
    "early_margin",
    "appliance_vary_watts",
    "appliance_vary_fraction",
    "appliance_level_tau_seconds",
    "appliance_session_quantile",
    "appliance_session_margin_factor",
    "appliance_session_min_count",
    "appliance_session_min_seconds",
    "appliance_session_max_seconds",
    "appliance_session_cold_seconds",
    "appliance_autonomous_hours",
    "pulse_max_seconds",
    "pulse_min_days",
    "stuck_min_hold_seconds",
    "stuck_other_seconds",
    "corroborate_seconds",
    "inverted_window_seconds",
    "inverted_trust_ons",
)
