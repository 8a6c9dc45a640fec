"""A scripted resident: deterministic days of one person's life as hub sensor events.

Why: the detector, the replay and the benchmarks need realistic homes that we can
make go wrong on purpose (a collapse, a long stay in bed, a holiday, a dead PIR) and
whose ground truth we know. Life is planned as *stays* (where the person is and what
they do), rendered into *primitives* (motion spells, contacts held, appliance runs)
and only then into events, so a scenario that cuts life short can tell a person's
action from its consequence (a PIR falling after its hold time, a kettle that
switches itself off) — see :func:`collapse`.

Profiles (``PROFILES``): early_riser, late_sleeper, irregular, busy and screen_bound (a
withdrawn resident asleep through the day, at a PC on a power sensor through the night;
its flat, ``flat_for``, has the PC). Scenarios: collapse, stays_in_bed, holiday,
day_night_reversal, pir_dies, modem_loses_network, less_active, and the sensor quirks of
``quirks_devices`` (mat_stuck, mat_pulses, reed_inverted, mat_inverted, pir_chatters, door_missed,
stray_pulses), re-exported here.

Times are local wall seconds since 1970 (naive local time), whole seconds, so the
events survive the CSV round trip exactly; ``Event.mono == Event.local``. Every
random draw comes from a ``random.Random`` seeded from ``(seed, what, when)``: the
same seed gives the same days, and a scenario never changes what happened before it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from operator import itemgetter
from typing import Iterable, Optional, Sequence, Union

from hubd.events import Event, Kind, write_events

from .quirks_devices import (QUIRK_TYPES, DeviceQuirk, QuirkContext, apply_quirks, door_missed, mat_pulses,  # noqa: F401
                             mat_inverted, mat_stuck, pir_chatters, reed_inverted, stray_pulses)
from .simtime import DAY, HOUR, MINUTE, TimeLike, to_local
from .simtime import positive as _positive

_INF = math.inf


# --------------------------------------------------------------------------- the flat


@dataclass(frozen=True)
class FlatSensor:
    """One sensor of the flat and what it watches.

    ``place`` tells the resident which life it sees: a room for a PIR (hall, kitchen,
    bathroom, living, bedroom); bed or sofa for a presence mat; fridge or toilet for a
    door contact; entrance for the front door; kettle, microwave, tv or fridge for an
    appliance. A sensor whose place the resident never uses stays silent (an
    appliance with role ``autonomous`` cycles on its own). ``pin`` is a suggested GPIO
    (BCM) for the GPIO kinds.
    """

    id: str
    kind: Kind
    place: str
    role: str = "normal"
    label: str = ""
    pin: Optional[int] = None


DEFAULT_FLAT: tuple[FlatSensor, ...] = (
    FlatSensor("hall_pir", Kind.MOTION, "hall", "daily_route", "hall PIR", pin=17),
    FlatSensor("kitchen_pir", Kind.MOTION, "kitchen", "normal", "kitchen PIR", pin=27),
    FlatSensor("bathroom_pir", Kind.MOTION, "bathroom", "normal", "washroom and toilet PIR", pin=22),
    FlatSensor("front_door", Kind.ENTRANCE, "entrance", "normal", "front door contact", pin=5),
    FlatSensor("bed", Kind.PRESENCE, "bed", "normal", "bed mat", pin=6),
    FlatSensor("sofa", Kind.PRESENCE, "sofa", "normal", "sofa seat mat", pin=13),
    FlatSensor("fridge_door", Kind.DOOR, "fridge", "normal", "fridge door contact", pin=19),
    FlatSensor("toilet_door", Kind.DOOR, "toilet", "normal", "toilet door contact", pin=26),
    FlatSensor("kettle", Kind.APPLIANCE, "kettle", "normal", "electric kettle"),
    FlatSensor("microwave", Kind.APPLIANCE, "microwave", "normal", "microwave oven"),
    FlatSensor("tv", Kind.APPLIANCE, "tv", "normal", "television"),
    FlatSensor("fridge", Kind.APPLIANCE, "fridge", "autonomous", "fridge compressor"),
)


def suggested_pins(sensors: Iterable[FlatSensor] = DEFAULT_FLAT) -> dict[str, int]:
    """``{sensor_id: BCM pin}`` for the flat's GPIO sensors (appliances are on I2C)."""
    return {s.id: s.pin for s in sensors if s.pin is not None and s.kind is not Kind.APPLIANCE}


_PLACE_WORDS = (  # (word in id/label, place for kinds) — first match wins
    ("bedroom", {Kind.MOTION: "bedroom"}),
    ("bed", {Kind.PRESENCE: "bed"}),
    ("sofa", {Kind.PRESENCE: "sofa"}), ("seat", {Kind.PRESENCE: "sofa"}), ("couch", {Kind.PRESENCE: "sofa"}),
    ("fridge", {Kind.DOOR: "fridge", Kind.APPLIANCE: "fridge"}),
    ("toilet", {Kind.DOOR: "toilet", Kind.MOTION: "bathroom"}),
    ("kettle", {Kind.APPLIANCE: "kettle"}), ("pot", {Kind.APPLIANCE: "kettle"}),
    ("microwave", {Kind.APPLIANCE: "microwave", Kind.DOOR: "microwave"}),
    ("tv", {Kind.APPLIANCE: "tv"}),
    ("pc", {Kind.APPLIANCE: "pc"}), ("computer", {Kind.APPLIANCE: "pc"}), ("desktop", {Kind.APPLIANCE: "pc"}),
    ("kitchen", {Kind.MOTION: "kitchen"}),
    ("hall", {Kind.MOTION: "hall"}), ("corridor", {Kind.MOTION: "hall"}), ("entrance", {Kind.MOTION: "hall"}),
    ("bath", {Kind.MOTION: "bathroom"}), ("wash", {Kind.MOTION: "bathroom"}),
    ("living", {Kind.MOTION: "living"}), ("lounge", {Kind.MOTION: "living"}),
)


def flat_from_config(sensors: Iterable) -> tuple[FlatSensor, ...]:
    """A flat from hubd ``SensorConfig``s, guessing each place from its id and label."""
    flat = []
    for s in sensors:
        kind = Kind.parse(s.kind)
        text = f"{s.id} {s.label}".lower()
        place = "entrance" if kind is Kind.ENTRANCE else ""
        for word, places in _PLACE_WORDS:
            if not place and word in text and kind in places:
                place = places[kind]
        flat.append(FlatSensor(s.id, kind, place, s.role, s.label, s.pin))
    return tuple(flat)


@dataclass(frozen=True)
class ApplianceModel:
    """Rated watts (the flat's unit is drawn once in this range), standby watts, and how
    long it runs unattended before switching itself off (None: until someone does).
    ``vary_s``: while someone uses it the draw moves to a new level in ``watts`` every
    (lo, hi) seconds (a PC), and once nobody does it settles at a steady idle draw."""

    watts: tuple[float, float]
    standby: float
    auto_off_s: Optional[float] = None
    vary_s: Optional[tuple[float, float]] = None


APPLIANCES = {
    "kettle": ApplianceModel((2000.0, 3000.0), 0.0),
    "microwave": ApplianceModel((950.0, 1300.0), 1.5),
    "tv": ApplianceModel((70.0, 140.0), 0.3, auto_off_s=3 * HOUR),  # Japanese TVs: off after 3 h untouched
    "fridge": ApplianceModel((70.0, 110.0), 1.0),
    "pc": ApplianceModel((60.0, 140.0), 2.0, vary_s=(2 * MINUTE, 7 * MINUTE)),  # desktop PC and screen
}
PC_IDLE_SHARE = 0.8  # left on with nobody at it: a steady draw at this share of its lowest in-use level
PC = FlatSensor("pc", Kind.APPLIANCE, "pc", "normal", "desktop PC (power sensor)")
_OTHER_APPLIANCE = ApplianceModel((40.0, 120.0), 0.5)


# --------------------------------------------------------------------------- profiles


@dataclass(frozen=True)
class Profile:
    """How one person lives. Hours are clock hours; rates are per day unless named."""

    name: str
    wake_h: float  # mean weekday wake-up
    wake_sd_h: float  # day-to-day jitter of the wake-up
    sleep_h: float  # mean night in bed
    sleep_sd_h: float
    weekend_delay_h: float  # later wake-up on Saturday and Sunday
    night_visits: float  # mean night toilet visits
    outings: float  # mean outings on a weekday
    weekend_outings: float
    outing_median_min: float
    visit_p: float  # chance of a visitor on a weekday
    weekend_visit_p: float
    tv_evening_p: float
    tv_daytime_p: float  # chance that sitting in the living room in the day means the TV is on
    naps: float  # mean daytime naps in bed
    skip_breakfast_p: float
    errands: float  # room changes: 1 = an ordinary pace, more = more trips between rooms
    mobility: float  # how often a person in a room moves: 1 = ordinary, more = restless
    pir_hold_s: float = 8.0  # the PIR's output hold after the last motion (installer setting)
    pir_block_s: float = 2.5  # HC-SR501 blind time after its output falls
    power_report_s: Optional[float] = None  # a running appliance's watts re-reported every N s
    pc_p: float = 0.0  # chance that sitting down in free time means a session at the PC
    pc_session_h: float = 0.0  # median PC session (short trips to the kitchen or toilet inside it)
    meal_skip_p: float = 0.0  # chance a lunch or dinner is only a snack
    meal_jitter_h: float = 0.0  # lunch and dinner move this much (sd) from day to day


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile("early_riser", wake_h=5.75, wake_sd_h=0.35, sleep_h=7.75, sleep_sd_h=0.5, weekend_delay_h=0.3,
                night_visits=1.2, outings=1.5, weekend_outings=1.3, outing_median_min=70, visit_p=0.1,
                weekend_visit_p=0.3, tv_evening_p=0.85, tv_daytime_p=0.35, naps=0.3, skip_breakfast_p=0.02, errands=1.0, mobility=1.0),
        Profile("late_sleeper", wake_h=9.0, wake_sd_h=0.6, sleep_h=8.5, sleep_sd_h=0.6, weekend_delay_h=1.0,
                night_visits=0.4, outings=1.3, weekend_outings=1.6, outing_median_min=90, visit_p=0.1,
                weekend_visit_p=0.25, tv_evening_p=0.7, tv_daytime_p=0.2, naps=0.1, skip_breakfast_p=0.3, errands=1.0, mobility=1.0),
        # hikikomori-like: late, drifting, fragmented sleep, rare short outings (the konbini at night)
        Profile("irregular", wake_h=13.0, wake_sd_h=2.0, sleep_h=7.0, sleep_sd_h=1.8, weekend_delay_h=0.0,
                night_visits=0.8, outings=0.35, weekend_outings=0.35, outing_median_min=20, visit_p=0.02,
                weekend_visit_p=0.02, tv_evening_p=0.5, tv_daytime_p=0.4, naps=1.2, skip_breakfast_p=0.7, errands=0.6, mobility=0.7),
        # a busy home for benchmarks (>= 8000 events a day): always on the move between rooms,
        # the TV on as background, AM312-type PIRs (2 s hold, short blind time) and power
        # meters re-reporting every 5 s — most of its volume is those meter reports
        Profile("busy", wake_h=6.5, wake_sd_h=0.4, sleep_h=7.0, sleep_sd_h=0.4, weekend_delay_h=0.5,
                night_visits=0.5, outings=1.0, weekend_outings=1.2, outing_median_min=40, visit_p=0.3,
                weekend_visit_p=0.5, tv_evening_p=1.0, tv_daytime_p=0.9, naps=0.0, skip_breakfast_p=0.0,
                errands=6.0, mobility=1.0, pir_hold_s=2.0, pir_block_s=1.0, power_report_s=5.0),
        # withdrawn and screen-bound: asleep through the day (~08:00-16:00), the night at a PC on a power
        # sensor (few PIR events meanwhile), out every few days for a short trip, mostly at night to a
        # convenience store; meals when hungry. Its flat has the PC (flat_for)
        Profile("screen_bound", wake_h=16.0, wake_sd_h=1.0, sleep_h=8.0, sleep_sd_h=0.9, weekend_delay_h=0.0,
                night_visits=0.5, outings=0.3, weekend_outings=0.3, outing_median_min=20, visit_p=0.01,
                weekend_visit_p=0.01, tv_evening_p=0.0, tv_daytime_p=0.05, naps=0.0, skip_breakfast_p=0.6,
                errands=0.5, mobility=0.6, pc_p=0.9, pc_session_h=3.0, meal_skip_p=0.4, meal_jitter_h=1.5),
    )
}
EARLY_RISER, LATE_SLEEPER, IRREGULAR, BUSY, SCREEN_BOUND = (
    PROFILES[n] for n in ("early_riser", "late_sleeper", "irregular", "busy", "screen_bound"))


def flat_for(profile: Union["Profile", str]) -> tuple[FlatSensor, ...]:
    """The default flat, with the PC on a power sensor for a profile that sits at one."""
    profile = PROFILES[profile] if isinstance(profile, str) else profile
    return DEFAULT_FLAT + (PC,) if profile.pc_p > 0 else DEFAULT_FLAT


# --------------------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class Collapse:
    at: float
    on_floor: bool = False


@dataclass(frozen=True)
class StaysInBed:
    start: float
    hours: float


@dataclass(frozen=True)
class Holiday:
    start: float
    days: float


@dataclass(frozen=True)
class DayNightReversal:
    over_days: float
    start: Optional[float] = None
    shift_hours: float = 8.0


@dataclass(frozen=True)
class SensorDies:
    sensor: str
    at: float


@dataclass(frozen=True)
class ModemLosesNetwork:
    at: float
    hours: float


@dataclass(frozen=True)
class LessActive:
    start: float
    factor: float
    over_days: float = 28.0


Scenario = Union[Collapse, StaysInBed, Holiday, DayNightReversal, SensorDies, ModemLosesNetwork, LessActive,
                 DeviceQuirk]  # the quirks: quirks_devices.py


def collapse(at: TimeLike, on_floor: bool = False) -> Collapse:
    """The person stops at ``at``: nothing they do happens after it.

    Releases that still follow (consequences, not actions): a PIR that was high falls
    one hold time later; a kettle or microwave that was running finishes its cycle; a
    TV left on keeps drawing power until its auto-off (3 h). Doors stay as they were.
    A bed or sofa mat they were on stays ON (collapsed in bed or seat) unless
    ``on_floor``: then it goes OFF at ``at`` (they got up and fell).
    """
    return Collapse(to_local(at), bool(on_floor))


def stays_in_bed(start: TimeLike, hours: float) -> StaysInBed:
    """From ``start`` the person lies in bed for ``hours`` (bed mat held ON, nothing else), then life resumes."""
    return StaysInBed(to_local(start), _positive("hours", hours))


def holiday(start: TimeLike, days: float) -> Holiday:
    """Leaves through the front door at ``start``, comes back ``days`` later; only autonomous appliances meanwhile."""
    return Holiday(to_local(start), _positive("days", days))


def day_night_reversal(over_days: float, start: Optional[TimeLike] = None, shift_hours: float = 8.0) -> DayNightReversal:
    """Sleep (and the whole day with it) drifts ``shift_hours`` later, evenly over ``over_days``
    from ``start`` (default: the first day), and outings thin out: social withdrawal."""
    return DayNightReversal(_positive("over_days", over_days), None if start is None else to_local(start),
                            _positive("shift_hours", shift_hours))


def pir_dies(sensor: str, at: TimeLike) -> SensorDies:
    """``sensor`` (any id, usually a PIR) never reports again from ``at``; a PIR high then falls at ``at``."""
    return SensorDies(sensor, to_local(at))


def modem_loses_network(at: TimeLike, hours: float) -> ModemLosesNetwork:
    """A marker only (``network_lost``): the modem emulator reads it and drops the network."""
    return ModemLosesNetwork(to_local(at), _positive("hours", hours))


def less_active(start: TimeLike, factor: float, over_days: float = 28.0) -> LessActive:
    """Activity falls linearly from ``start`` to ``factor`` (0 < factor <= 1) of normal
    over ``over_days``: fewer outings and visitors, fewer trips between rooms, more stillness."""
    factor = float(factor)
    if not 0 < factor <= 1:
        raise ValueError(f"factor must be in (0, 1], got {factor!r}")
    return LessActive(to_local(start), factor, _positive("over_days", over_days))


# --------------------------------------------------------------------------- ground truth


@dataclass(frozen=True)
class Marker:
    """Ground truth. kinds: sleep, night_up, away, holiday, visit, in_bed, collapse
    (end None; detail in_bed/floor/out), sensor_dead (end None; detail = sensor id),
    network_lost, sensor_quirk (detail ``reason:sensor``, e.g. ``stuck:bed``; end None =
    to the end of the run)."""

    kind: str
    start: float
    end: Optional[float] = None
    detail: str = ""

    def covers(self, t: float) -> bool:
        return self.start <= t < (_INF if self.end is None else self.end)


# --------------------------------------------------------------------------- the plan


@dataclass
class Stay:
    """The person is in ``room`` doing ``what`` over [start, end). ``night`` groups a night's stays."""

    start: float
    end: float
    what: str
    room: str
    night: Optional[int] = None
    tag: str = ""


@dataclass
class Use:
    """An appliance left running across stays (the TV through an evening)."""

    start: float
    end: float
    place: str


ROOM = {"sleep": "bedroom", "nap": "bedroom", "in_bed": "bedroom", "toilet": "bathroom", "wash": "bathroom",
        "breakfast": "kitchen", "cook": "kitchen", "snack": "kitchen", "living": "living", "tv": "living",
        "out": "outside", "visit": "living", "chores": "kitchen", "eat": "kitchen", "pc": "living"}
_LDK = frozenset({"kitchen", "living"})  # one open room: no hall between them


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _ramp(t: float, start: float, span: float) -> float:
    return min(1.0, max(0.0, (t - start) / span))


class _Planner:
    """Days of stays for one profile; each day's draws come from its own seeded stream."""

    def __init__(self, seed: int, profile: Profile, scenarios: Sequence[Scenario], first_local: float):
        self.seed = seed
        self.p = profile
        self.reversals = [s if s.start is not None else replace(s, start=first_local)
                          for s in scenarios if isinstance(s, DayNightReversal)]
        self.slowdowns = [s for s in scenarios if isinstance(s, LessActive)]

    # -- slow changes
    def shift_h(self, t: float) -> float:
        return sum(r.shift_hours * _ramp(t, r.start, r.over_days * DAY) for r in self.reversals)

    def withdrawal(self, t: float) -> float:
        return math.prod(1.0 - 0.7 * _ramp(t, r.start, r.over_days * DAY) for r in self.reversals)

    def activity(self, t: float) -> float:
        return math.prod(1.0 - (1.0 - s.factor) * _ramp(t, s.start, s.over_days * DAY) for s in self.slowdowns)

    # -- the chain of wake-ups and bedtimes
    def anchors(self, k0: int, k1: int) -> tuple[dict[int, float], dict[int, float]]:
        """Wake-up of days k0..k1 and the bedtime that ends each of them."""
        p = self.p
        wake, night_len = {}, {}
        for k in range(k0, k1 + 2):
            rng = random.Random(f"{self.seed}/anchor/{k}")
            weekend = (k + 3) % 7 >= 5  # 1970-01-01 was a Thursday
            hour = p.wake_h + (p.weekend_delay_h if weekend else 0.0) + self.shift_h(k * DAY) + rng.gauss(0, p.wake_sd_h)
            wake[k] = k * DAY + hour * HOUR
            night_len[k] = min(max(rng.gauss(p.sleep_h, p.sleep_sd_h), p.sleep_h - 3.0, 3.0), p.sleep_h + 3.0) * HOUR
        bed = {}
        for k in range(k0, k1 + 1):
            b = wake[k + 1] - night_len[k + 1]
            b = min(max(b, wake[k] + 8 * HOUR), wake[k] + 22 * HOUR)
            wake[k + 1] = max(wake[k + 1], b + 3 * HOUR)
            bed[k] = b
        return wake, bed

    def plan(self, k0: int, k1: int) -> tuple[list[Stay], list[Use]]:
        wake, bed = self.anchors(k0 - 1, k1)
        stays: list[Stay] = []
        uses: list[Use] = []
        for k in range(k0, k1 + 1):
            self._night(k, bed[k - 1], wake[k], stays)
            _Day(self, k, wake[k], bed[k], stays, uses).plan()
        for here, nxt in zip(stays, stays[1:]):  # a crowded short day never overlaps the night
            here.end = min(here.end, nxt.start)
        return [s for s in stays if s.end - s.start >= 1], uses

    def _night(self, k: int, b: float, w: float, stays: list[Stay]) -> None:
        rng = random.Random(f"{self.seed}/night/{k}")
        visits = min(_poisson(rng, self.p.night_visits), 3)
        lo, hi = b + 40 * MINUTE, w - 30 * MINUTE
        times = sorted(rng.uniform(lo, hi) for _ in range(visits)) if hi > lo + 10 * MINUTE else []
        t = b
        for up in times:
            if up < t + 20 * MINUTE:
                continue
            back = up + rng.uniform(2, 5) * MINUTE
            stays.append(Stay(t, up, "sleep", "bedroom", night=k))
            stays.append(Stay(up, back, "toilet", "bathroom", night=k))
            t = back
        stays.append(Stay(t, w, "sleep", "bedroom", night=k))


class _Day:
    """One waking day: morning routine, meals, free time with outings, evening, bedtime."""

    def __init__(self, planner: _Planner, k: int, wake: float, bed: float, stays: list[Stay], uses: list[Use]):
        self.p = planner.p
        self.rng = random.Random(f"{planner.seed}/day/{k}")
        self.k, self.wake, self.bed = k, wake, bed
        self.weekend = (k + 3) % 7 >= 5
        self.activity = planner.activity(k * DAY)
        self.withdrawal = planner.withdrawal(k * DAY)
        self.stays, self.uses = stays, uses
        self.last_toilet = wake

    def push(self, what: str, t: float, seconds: float, room: Optional[str] = None, tag: str = "") -> float:
        if seconds >= 1:
            self.stays.append(Stay(t, t + seconds, what, room or ROOM[what], tag=tag))
            if what == "toilet":
                self.last_toilet = t
        return t + max(seconds, 0.0)

    def minutes(self, lo: float, hi: float) -> float:
        return self.rng.uniform(lo, hi) * MINUTE

    def plan(self) -> None:
        p, rng, m = self.p, self.rng, self.minutes
        length = self.bed - self.wake
        t = self.push("toilet", self.wake, m(2, 5))
        t = self.push("wash", t, m(6, 15))
        if rng.random() >= p.skip_breakfast_p:
            t = self.push("breakfast", t, m(8, 15))
            t = self.push("eat", t, m(10, 25), rng.choice(("kitchen", "living")))
        routine = m(6, 12), m(2, 4)
        evening_end = self.bed - sum(routine)
        lunch = max(self.wake + 0.42 * length, t + 30 * MINUTE)
        dinner = max(self.bed - rng.uniform(4.0, 5.0) * HOUR, lunch + 2.5 * HOUR)
        blocks = self.blocks()
        morning_len, afternoon_len = max(lunch - t, 0.0), max(dinner - lunch - 40 * MINUTE, 0.0)
        morning, afternoon = [], []
        share = morning_len / max(morning_len + afternoon_len, 1.0)
        for block in blocks:
            (morning if block[0] != "visit" and rng.random() < share else afternoon).append(block)
        if p.meal_jitter_h:
            lunch = max(lunch + rng.gauss(0, p.meal_jitter_h) * HOUR, t + 30 * MINUTE)
            dinner = max(min(dinner + rng.gauss(0, p.meal_jitter_h) * HOUR, evening_end - HOUR), lunch + HOUR)
        self.window(t, lunch, morning)
        t = self.meal(lunch, (5, 12), (12, 25))
        self.window(t, dinner, afternoon)
        t = self.meal(dinner, (10, 25), (15, 30))
        self.evening(t, evening_end)
        t = self.push("wash", max(t, evening_end), routine[0])
        self.push("toilet", t, max(self.bed - t, 60.0))

    def meal(self, at: float, cook: tuple[float, float], eat: tuple[float, float]) -> float:
        """Cook and eat at ``at`` (or, some days for some people, only a snack)."""
        p, rng = self.p, self.rng
        if p.meal_skip_p and rng.random() < p.meal_skip_p:
            return self.push("snack", at, self.minutes(2, 7))
        t = self.push("cook", at, self.minutes(*cook))
        return self.push("eat", t, self.minutes(*eat), rng.choice(("kitchen", "living")))

    def blocks(self) -> list[tuple[str, float]]:
        """Outings, a visitor and naps: the day's fixed blocks, placed in free time."""
        p, rng = self.p, self.rng
        mean = (p.weekend_outings if self.weekend else p.outings) * self.activity * self.withdrawal
        blocks = [("out", min(max(rng.lognormvariate(math.log(p.outing_median_min), 0.6), 10.0), 360.0) * MINUTE)
                  for _ in range(min(_poisson(rng, mean), 4))]
        if rng.random() < (p.weekend_visit_p if self.weekend else p.visit_p) * self.activity * self.withdrawal:
            blocks.append(("visit", self.minutes(45, 150)))
        blocks += [("nap", self.minutes(20, 90)) for _ in range(min(_poisson(rng, p.naps), 3))]
        return blocks

    def window(self, a: float, b: float, blocks: list[tuple[str, float]]) -> None:
        """Blocks in random order with free time around them, shrunk to fit [a, b)."""
        span = b - a
        if span < 5 * MINUTE:
            return
        rng = self.rng
        total = sum(d for _, d in blocks)
        room_left = span - 10 * MINUTE * (len(blocks) + 1)
        scale = min(1.0, max(room_left, 0.0) / total) if total else 1.0
        rng.shuffle(blocks)
        weights = [rng.random() + 0.1 for _ in range(len(blocks) + 1)]
        free = span - total * scale
        t = a
        for (what, d), w in zip(blocks, weights):
            gap = free * w / sum(weights)
            self.fill(t, t + gap)
            t = self.push(what, t + gap, d * scale, tag=what)
        self.fill(t, b)

    def fill(self, a: float, b: float) -> None:
        """Free time at home: sitting, snacks, chores, toilet every few hours."""
        p, rng, m = self.p, self.rng, self.minutes
        pace = max(p.errands * self.activity, 0.05)
        t = a
        while b - t >= 60:
            if t - self.last_toilet > rng.uniform(2.0, 3.5) * HOUR:
                what, d, room = "toilet", m(2, 5), None
            else:
                r = rng.random() * (3.0 + 1.6 * pace)
                if r < 3.0:
                    what, d, room = "living", min(rng.expovariate(pace / (40 * MINUTE)), 3 * HOUR) + MINUTE, None
                elif r < 3.0 + pace:
                    what, d, room = "snack", m(2, 7), None
                else:
                    what, d, room = "chores", m(5, 25), rng.choice(("kitchen", "bathroom", "kitchen"))
            if what == "living" and p.pc_p and rng.random() < p.pc_p:
                t = self.pc_session(t, b)
                continue
            if what == "living" and rng.random() < p.tv_daytime_p:
                what = "tv"
                self.uses.append(Use(t, t + min(d, b - t), "tv"))
            t = self.push(what, t, min(d, b - t), room)
        if t < b and self.stays and self.stays[-1].end == t:
            self.stays[-1].end = b  # a leftover under a minute belongs to the last stay

    def pc_session(self, a: float, b: float) -> float:
        """Hours at the PC (on for the whole session), up now and then for the toilet or a snack."""
        rng, m = self.rng, self.minutes
        end = min(a + rng.lognormvariate(math.log(self.p.pc_session_h * HOUR), 0.5), b)
        self.uses.append(Use(a, end, "pc"))
        t = a
        while end - t >= 60:
            t = self.push("pc", t, min(rng.uniform(25, 90) * MINUTE, end - t))
            if end - t >= 6 * MINUTE:
                trip = "toilet" if t - self.last_toilet > 2.5 * HOUR or rng.random() < 0.3 else "snack"
                t = self.push(trip, t, m(2, 5))
        return max(t, end)

    def evening(self, a: float, b: float) -> None:
        """A TV evening on the sofa (the TV stays on through short trips), or free time."""
        rng, m = self.rng, self.minutes
        if b - a < 10 * MINUTE or rng.random() >= self.p.tv_evening_p:
            self.fill(a, b)
            return
        self.uses.append(Use(a, b, "tv"))
        t = a
        while b - t >= 60:
            t = self.push("tv", t, min(rng.uniform(20, 80) * MINUTE / max(self.p.errands ** 0.5, 1.0), b - t))
            if b - t >= 6 * MINUTE:
                trip = "toilet" if t - self.last_toilet > HOUR or rng.random() < 0.4 else "snack"
                t = self.push(trip, t, m(2, 5))


def _replace_span(stays: list[Stay], uses: list[Use], a: float, b: float, new: Stay) -> tuple[list[Stay], list[Use]]:
    """Life over [a, b) becomes ``new``; what was going on at a and b is cut there."""
    out: list[Stay] = []
    for s in stays:
        if s.end <= a or s.start >= b:
            out.append(s)
            continue
        if s.start < a:
            out.append(replace(s, end=a))
        if s.end > b:
            out.append(replace(s, start=b))
    out.append(new)
    out.sort(key=lambda s: s.start)
    kept = []
    for u in uses:
        if u.end <= a or u.start >= b:
            kept.append(u)
        elif u.start < a:
            kept.append(replace(u, end=a))
    return out, kept


def _clip(stays: list[Stay], uses: list[Use], a: float, b: float) -> tuple[list[Stay], list[Use]]:
    """Stays and uses inside [a, b), on whole seconds like the events they become."""
    stays = [replace(s, start=float(round(max(s.start, a))), end=float(round(min(s.end, b))))
             for s in stays if s.end > a and s.start < b]
    uses = [replace(u, start=float(round(max(u.start, a))), end=float(round(min(u.end, b))))
            for u in uses if u.end > a and u.start < b]
    return [s for s in stays if s.end > s.start], [u for u in uses if u.end > u.start]


# --------------------------------------------------------------------------- rendering


@dataclass
class _Run:
    start: float
    end: Optional[float]
    watts: float
    self_ending: bool  # switches itself off (kettle boiled, microwave timer): not the person's act
    attended_until: float = math.inf  # a collapse: nobody uses it from here (a PC idles)


# Motion in a room: (mean seconds of a movement, mean seconds still between movements).
LEAVE_LEAD_S = 45.0  # going out: they get up this long before the door shuts (the hall walk is 15-40 s)
_MOTION = {"active": (20.0, 15.0), "light": (5.0, 45.0), "still": (3.0, 240.0), "asleep": (2.0, 2400.0)}


class _Renderer:
    """Stays into primitives: PIR motion spells, contacts held (doors, mats) and appliance runs."""

    def __init__(self, seed: int, sensors: Sequence[FlatSensor], profile: Profile, planner: _Planner):
        self.seed, self.p, self.planner = seed, profile, planner
        self.sensors = {s.id: s for s in sensors}
        self.by_place: dict[tuple[Kind, str], list[str]] = {}
        for s in sensors:
            if s.role != "autonomous":
                self.by_place.setdefault((s.kind, s.place), []).append(s.id)
        self.spells: dict[str, list[tuple[float, float]]] = {}
        self.contacts: dict[str, list[list]] = {}
        self.runs: dict[str, list[_Run]] = {}
        self.rated = {s.id: random.Random(f"{seed}/rated/{s.id}").uniform(*self.model(s.id).watts)
                      for s in sensors if s.kind is Kind.APPLIANCE}

    def model(self, sensor_id: str) -> ApplianceModel:
        return APPLIANCES.get(self.sensors[sensor_id].place, _OTHER_APPLIANCE)

    # -- primitives
    def motion(self, room: str, s: float, e: float, level: str, rng: random.Random, activity: float = 1.0) -> None:
        ids = self.by_place.get((Kind.MOTION, room))
        if not ids or e <= s:
            return
        move, still = _MOTION[level]
        rate = self.p.mobility * activity / still
        expo, unif = rng.expovariate, rng.uniform
        for sid in ids:
            out = self.spells.setdefault(sid, [])
            walk_in, walk_out = unif(2, 6), e - unif(2, 6)
            out.append((s, min(e, s + walk_in)))
            t = s + walk_in
            while True:
                t += expo(rate)
                if t >= walk_out:
                    break
                d = expo(1.0 / move)
                out.append((t, min(t + d, walk_out)))
                t += d
            out.append((max(s, walk_out), e))

    def spell(self, room: str, s: float, e: float) -> None:
        for sid in self.by_place.get((Kind.MOTION, room), ()):
            self.spells.setdefault(sid, []).append((s, max(e, s + 1)))

    def contact(self, kind: Kind, place: str, s: float, e: float) -> None:
        for sid in self.by_place.get((kind, place), ()):
            self.contacts.setdefault(sid, []).append([s, max(e, s + 1)])

    def run(self, place: str, s: float, seconds: float, self_ending: bool, rng: random.Random) -> None:
        for sid in self.by_place.get((Kind.APPLIANCE, place), ()):
            watts = round(self.rated[sid] * (1 + rng.gauss(0, 0.02)), 1)
            self.runs.setdefault(sid, []).append(_Run(s, s + seconds, watts, self_ending))

    def door_uses(self, place: str, s: float, e: float, n: int, rng: random.Random) -> None:
        """``n`` openings of a cupboard-like door (5–40 s each) inside [s, e)."""
        for _ in range(n):
            if e - s < 60:
                return
            at = rng.uniform(s + 10, e - 45)
            self.contact(Kind.DOOR, place, at, at + rng.uniform(5, 40))

    # -- stays
    def render(self, stays: list[Stay], uses: list[Use]) -> None:
        arrivals: dict[float, float] = {}
        for i, stay in enumerate(stays):
            rng = random.Random(f"{self.seed}/stay/{int(stay.start)}/{stay.what}")
            walk = self.transit(stays[i - 1], stay, rng) if i else 0.0
            if walk and stay.end - stay.start > 2 * walk:
                arrivals[stay.start] = walk
                stay = replace(stay, start=stay.start + walk)  # what they do starts on arrival
            leaving = i + 1 < len(stays) and stays[i + 1].room == "outside" and stay.room != "outside"
            if leaving and stay.end - stay.start > 2 * LEAVE_LEAD_S:
                stay = replace(stay, end=stay.end - LEAVE_LEAD_S)  # up from the sofa before the hall and the door
            getattr(self, f"_{stay.what}")(stay, rng)
        for use in uses:
            rng = random.Random(f"{self.seed}/use/{int(use.start)}")
            on = use.start + arrivals.get(use.start, 0.0) + rng.uniform(3, 10)  # seated, then the remote
            if use.end - on >= 30:
                self.run(use.place, on, use.end - on, False, rng)

    def transit(self, prev: Stay, nxt: Stay, rng: random.Random) -> float:
        """The walk from one stay's room to the next, starting at the boundary; returns its seconds."""
        a, b, t = prev.room, nxt.room, nxt.start
        if a == b or (a in _LDK and b in _LDK):
            return 0.0
        if a == "outside":  # home again: the door, shoes off in the hall
            walk = rng.uniform(15, 30)
            self.contact(Kind.ENTRANCE, "entrance", t, t + rng.uniform(3, 8))
            self.spell("hall", t + 1, t + walk)
            return walk
        if b == "outside":  # leaving: the hall, then the door closes behind them
            self.spell("hall", t - rng.uniform(15, 40), t - 1)
            self.contact(Kind.ENTRANCE, "entrance", t - rng.uniform(3, 8), t)
            return 0.0
        walk = rng.uniform(4, 10)  # across the hall
        self.spell("hall", t, t + walk)
        return walk

    def _act(self, stay: Stay) -> float:
        return self.planner.activity(stay.start)

    def _sleep(self, stay: Stay, rng: random.Random) -> None:
        self.contact(Kind.PRESENCE, "bed", stay.start, stay.end)
        self.motion("bedroom", stay.start, stay.end, "asleep", rng)

    _nap = _in_bed = _sleep

    def _toilet(self, stay: Stay, rng: random.Random) -> None:
        s, e = stay.start, stay.end
        self.motion("bathroom", s, e, "light", rng, self._act(stay))
        opened = s + rng.uniform(1, 3)
        self.contact(Kind.DOOR, "toilet", opened, opened + rng.uniform(2, 5))
        if e - s > 40:
            self.contact(Kind.DOOR, "toilet", e - rng.uniform(8, 12), e - rng.uniform(1, 4))

    def _wash(self, stay: Stay, rng: random.Random) -> None:
        self.motion("bathroom", stay.start, stay.end, "active", rng, self._act(stay))

    def _breakfast(self, stay: Stay, rng: random.Random) -> None:
        s, e = stay.start, stay.end
        self.motion("kitchen", s, e, "active", rng, self._act(stay))
        self.door_uses("fridge", s, e, rng.randint(1, 2), rng)
        if e - s > 4 * MINUTE:
            self.run("kettle", s + rng.uniform(20, 90), rng.uniform(150, 240), True, rng)

    def _cook(self, stay: Stay, rng: random.Random) -> None:
        s, e = stay.start, stay.end
        self.motion("kitchen", s, e, "active", rng, self._act(stay))
        self.door_uses("fridge", s, e, rng.randint(1, 3), rng)
        if e - s > 3 * MINUTE:
            self.run("microwave", s + rng.uniform(0.2, 0.5) * (e - s - 2 * MINUTE), rng.uniform(60, 300), True, rng)
        if e - s > 8 * MINUTE and rng.random() < 0.3:
            self.run("kettle", s + rng.uniform(30, 60), rng.uniform(150, 240), True, rng)

    def _snack(self, stay: Stay, rng: random.Random) -> None:
        s, e = stay.start, stay.end
        self.motion("kitchen", s, e, "active", rng, self._act(stay))
        if rng.random() < 0.8:
            self.door_uses("fridge", s, e, 1, rng)
        if e - s > 4 * MINUTE and rng.random() < 0.3:
            self.run("kettle", s + 20, rng.uniform(120, 200), True, rng)

    def _chores(self, stay: Stay, rng: random.Random) -> None:
        self.motion(stay.room, stay.start, stay.end, "active", rng, self._act(stay))

    def _eat(self, stay: Stay, rng: random.Random) -> None:
        if stay.room == "living":
            self.contact(Kind.PRESENCE, "sofa", stay.start, stay.end)
        self.motion(stay.room, stay.start, stay.end, "light" if stay.room == "kitchen" else "still", rng, self._act(stay))

    def _living(self, stay: Stay, rng: random.Random) -> None:
        if rng.random() < 0.6:
            self.contact(Kind.PRESENCE, "sofa", stay.start, stay.end)
        self.motion("living", stay.start, stay.end, "still", rng, self._act(stay))

    def _tv(self, stay: Stay, rng: random.Random) -> None:
        self.contact(Kind.PRESENCE, "sofa", stay.start, stay.end)
        self.motion("living", stay.start, stay.end, "still", rng, self._act(stay))

    def _pc(self, stay: Stay, rng: random.Random) -> None:
        self.motion("living", stay.start, stay.end, "still", rng, self._act(stay))  # at a desk, not on the sofa

    def _out(self, stay: Stay, rng: random.Random) -> None:
        pass

    def _visit(self, stay: Stay, rng: random.Random) -> None:
        """A visitor: at the door, tea, perhaps the toilet, then out through the door again."""
        s, e = stay.start, stay.end
        self.contact(Kind.ENTRANCE, "entrance", s, s + rng.uniform(5, 15))
        self.spell("hall", s + 2, s + rng.uniform(15, 30))
        self.contact(Kind.PRESENCE, "sofa", s + 60, e - 60)
        self.motion("living", s, e, "light", rng)
        tea = s + rng.uniform(5, 15) * MINUTE
        if tea < e - 10 * MINUTE:
            self.motion("kitchen", tea, tea + 5 * MINUTE, "active", rng)
            self.run("kettle", tea + 30, rng.uniform(150, 240), True, rng)
            self.door_uses("fridge", tea, tea + 5 * MINUTE, 1, rng)
        if rng.random() < 0.5 and e - s > 40 * MINUTE:
            loo = s + rng.uniform(0.4, 0.7) * (e - s)
            self.spell("hall", loo - 3, loo + 3)
            self._toilet(Stay(loo, loo + rng.uniform(2, 4) * MINUTE, "toilet", "bathroom"), rng)
        self.spell("hall", e - rng.uniform(25, 40), e - 5)
        self.contact(Kind.ENTRANCE, "entrance", e - rng.uniform(15, 25), e - rng.uniform(3, 8))

    # -- the person stops
    def cut(self, at: float, on_floor: bool) -> None:
        """Drop every action after ``at``; keep consequences of earlier ones (see :func:`collapse`)."""
        for sid, spells in self.spells.items():
            self.spells[sid] = [(a, min(b, at)) for a, b in spells if a <= at]
        for sid, held in self.contacts.items():
            mat = self.sensors[sid].kind is Kind.PRESENCE
            kept = []
            for s, e in held:
                if s > at:
                    continue
                if e is not None and e > at:
                    e = at if (mat and on_floor) else None
                kept.append([s, e])
            self.contacts[sid] = kept
        for sid, runs in self.runs.items():
            auto_off = self.model(sid).auto_off_s
            kept = []
            for r in runs:
                if r.start > at:
                    continue
                if r.end is not None and r.end > at and not r.self_ending:
                    r = replace(r, end=None if auto_off is None else at + auto_off, attended_until=at)
                kept.append(r)
            self.runs[sid] = kept


def _autonomous_runs(seed: int, sensor: FlatSensor, model: ApplianceModel, rated: float,
                     a: float, b: float) -> list[_Run]:
    """A compressor-like cycle: on 8–20 min, off 18–40 min, round the clock."""
    rng = random.Random(f"{seed}/auto/{sensor.id}/{int(a)}")
    runs = []
    t = a - rng.uniform(0, 50) * MINUTE
    while t < b:
        on = rng.uniform(8, 20) * MINUTE
        runs.append(_Run(t, t + on, round(rated * (1 + rng.gauss(0, 0.03)), 1), True))
        t += on + rng.uniform(18, 40) * MINUTE
    return runs


# --------------------------------------------------------------------------- events


def _merge_held(intervals: Iterable[Sequence], gap: float = 0.0) -> list[list]:
    """Whole-second on-intervals, overlapping or touching ones (within ``gap``) merged; end None = held."""
    out: list[list] = []
    for s, e in sorted(((round(s), None if e is None else round(e)) for s, e in intervals), key=itemgetter(0)):
        if e is not None and e <= s:
            e = s + 1
        if out and (out[-1][1] is None or s <= out[-1][1] + gap):
            if out[-1][1] is not None:
                out[-1][1] = None if e is None else max(out[-1][1], e)
            continue
        out.append([s, e])
    return out


def _varying_rows(rng: random.Random, model: ApplianceModel, s: float, e: float, attended_until: float,
                  a: float) -> list[tuple[float, float]]:
    """A new level every few minutes while someone uses it; once nobody does (a collapse), one
    steady idle draw 5-15 min later (the screen saver) until it is switched off, if ever."""
    rows = []
    t = round(s + rng.uniform(*model.vary_s))
    while t < min(e, attended_until):
        if t >= a:
            rows.append((t, round(rng.uniform(*model.watts), 1)))
        t = round(t + rng.uniform(*model.vary_s))
    if attended_until < e:
        idle = round(max(attended_until + rng.uniform(5, 15) * MINUTE, s + 1))
        if a <= idle < e:
            rows.append((idle, round(PC_IDLE_SHARE * model.watts[0], 1)))
    return rows


def _absences(stays: list[Stay]) -> tuple[tuple[float, float], ...]:
    """The person's absences, ``(left, back)`` in time order, back-to-back outings as one."""
    out: list[list[float]] = []
    for s in stays:
        if s.what == "out":
            if out and out[-1][1] == s.start:
                out[-1][1] = s.end
            else:
                out.append([s.start, s.end])
    return tuple((a, b) for a, b in out)


def _binary_rows(intervals: list[list], horizon: tuple[float, float]) -> list[tuple[float, float]]:
    a, b = horizon
    rows = []
    for s, e in intervals:
        if a <= s < b:
            rows.append((s, 1.0))
        if e is not None and a <= e < b and s < b:
            rows.append((e, 0.0))
    return rows


class Resident:
    """One person in one flat, living deterministic days from a seed.

    ``days()`` returns the events and leaves them in ``events``; ``markers`` holds the
    ground truth (sleep, outings, visits, collapse, …) of the same run.
    """

    def __init__(self, seed: int, sensors: Optional[Sequence[FlatSensor]] = None,
                 profile: Union[Profile, str] = EARLY_RISER):
        if isinstance(profile, str):
            try:
                profile = PROFILES[profile]
            except KeyError:
                raise ValueError(f"unknown profile {profile!r} (known: {', '.join(PROFILES)})") from None
        sensors = flat_for(profile) if sensors is None else sensors
        ids = [s.id for s in sensors]
        if len(ids) != len(set(ids)):
            raise ValueError("sensor ids must be unique")
        self.seed = int(seed)
        self.sensors = tuple(sensors)
        self.profile = profile
        self.events: list[Event] = []
        self.markers: list[Marker] = []

    def baseline_watts(self) -> dict[str, float]:
        """Standby watts of every appliance sensor: its draw before any event says otherwise."""
        return {s.id: APPLIANCES.get(s.place, _OTHER_APPLIANCE).standby for s in self.sensors if s.kind is Kind.APPLIANCE}

    def marked(self, kind: str) -> list[Marker]:
        return [m for m in self.markers if m.kind == kind]

    def days(self, start_local: TimeLike, n_days: int, scenarios: Iterable[Scenario] = ()) -> list[Event]:
        """Events of ``n_days`` from ``start_local`` (a local midnight is usual), time-ordered."""
        start = float(round(to_local(start_local)))
        if n_days <= 0:
            raise ValueError("n_days must be positive")
        end = start + n_days * DAY
        scenarios = list(scenarios)
        known = {s.id for s in self.sensors}
        for sc in scenarios:
            if isinstance(sc, SensorDies) and sc.sensor not in known:
                raise ValueError(f"pir_dies: no sensor {sc.sensor!r} in this flat")
        quirks = [sc for sc in scenarios if isinstance(sc, QUIRK_TYPES)]
        for q in quirks:
            q.check({s.id: s.kind for s in self.sensors})
        planner = _Planner(self.seed, self.profile, scenarios, start)
        stays, uses = planner.plan(int(start // DAY) - 1, int(end // DAY) + 1)
        for sc in scenarios:
            if isinstance(sc, Holiday):
                stays, uses = _replace_span(stays, uses, sc.start, sc.start + sc.days * DAY,
                                            Stay(sc.start, sc.start + sc.days * DAY, "out", "outside", tag="holiday"))
            elif isinstance(sc, StaysInBed):
                stays, uses = _replace_span(stays, uses, sc.start, sc.start + sc.hours * HOUR,
                                            Stay(sc.start, sc.start + sc.hours * HOUR, "in_bed", "bedroom", tag="in_bed"))
        stays, uses = _clip(stays, uses, start, end)
        renderer = _Renderer(self.seed, self.sensors, self.profile, planner)
        renderer.render(stays, uses)
        collapses = sorted((sc for sc in scenarios if isinstance(sc, Collapse)), key=lambda c: c.at)
        fall = collapses[0] if collapses and collapses[0].at < end else None
        if fall is not None:
            renderer.cut(fall.at, fall.on_floor)
        deaths = {}
        for sc in scenarios:
            if isinstance(sc, SensorDies):
                deaths[sc.sensor] = min(deaths.get(sc.sensor, _INF), sc.at)
        ctx = QuirkContext(self.seed, (start, end), _absences(stays), _INF if fall is None else fall.at,
                           self.profile.pir_hold_s, {s.id: s.kind for s in self.sensors})
        planned = [(q, q.span(ctx)) for q in quirks]
        self.events = self._emit(renderer, (start, end), deaths, planned, ctx)
        self.markers = self._markers(stays, scenarios, fall, deaths, (start, end))
        self.markers += [Marker("sensor_quirk", a, None if b == _INF else b, f"{q.reason}:{q.sensor}")
                         for q, (a, b) in planned]
        self.markers.sort(key=lambda m: (m.start, m.kind))
        return self.events

    def _emit(self, r: _Renderer, horizon: tuple[float, float], deaths: dict[str, float],
              planned: Sequence = (), ctx: Optional[QuirkContext] = None) -> list[Event]:
        p = self.profile

        def quirked(sid: str, intervals: list[list]) -> list[list]:
            return apply_quirks(sid, intervals, planned, ctx, _merge_held) if planned else intervals

        rows: list[tuple[float, str, Kind, float]] = []
        for sensor in self.sensors:
            sid, kind = sensor.id, sensor.kind
            if kind is Kind.MOTION:
                pulses = _merge_held(((a, b + p.pir_hold_s) for a, b in r.spells.get(sid, ())), gap=p.pir_block_s)
                values = _binary_rows(quirked(sid, pulses), horizon)
            elif kind is Kind.APPLIANCE:
                model = r.model(sid)
                if sensor.role == "autonomous":
                    runs = _autonomous_runs(self.seed, sensor, model, r.rated[sid], *horizon)
                else:
                    runs = r.runs.get(sid, [])
                values = self._power_rows(sid, runs, model, horizon)
            else:
                values = _binary_rows(quirked(sid, _merge_held(r.contacts.get(sid, ()))), horizon)
            dies = deaths.get(sid)
            if dies is not None:
                before = [v for v in values if v[0] < dies]
                if kind is Kind.MOTION and before and before[-1][1] > 0:
                    before.append((float(max(round(dies), before[-1][0] + 1)), 0.0))
                values = before
            rows.extend((float(t), sid, kind, v) for t, v in values)
        rows.sort(key=itemgetter(0))
        return [Event(t, t, sid, kind, v) for t, sid, kind, v in rows]

    def _power_rows(self, sid: str, runs: list[_Run], model: ApplianceModel, horizon: tuple[float, float]) -> list:
        """On at the run's watts, re-reported every ``power_report_s`` with a little wander (or, for
        an appliance whose draw varies in use, at a new level every few minutes), then standby."""
        a, b = horizon
        standby = model.standby
        every = self.profile.power_report_s
        rows: list[tuple[float, float]] = []
        last_end = -_INF
        for run in sorted(runs, key=lambda r: r.start):
            s = round(run.start)
            e = b if run.end is None else min(round(run.end), b)
            if s <= last_end or e <= s:
                continue
            if s >= a:
                rows.append((s, run.watts))
            if model.vary_s:
                rows += _varying_rows(random.Random(f"{self.seed}/power/{sid}/{s}"), model, s, e, run.attended_until, a)
            elif every:
                rng = random.Random(f"{self.seed}/power/{sid}/{s}")
                t = s + every
                while t < e:
                    if t >= a:
                        rows.append((t, round(run.watts * (1 + rng.gauss(0, 0.03)), 1)))
                    t += every
            if run.end is not None and a <= e < b:
                rows.append((e, standby))
            last_end = e
        return rows

    def _markers(self, stays: list[Stay], scenarios: list[Scenario], fall: Optional[Collapse],
                 deaths: dict[str, float], horizon: tuple[float, float]) -> list[Marker]:
        out: list[Marker] = []
        holidays: list[Marker] = []
        i = 0
        while i < len(stays):
            s = stays[i]
            if s.night is not None:
                j = i
                while j + 1 < len(stays) and stays[j + 1].night == s.night:
                    j += 1
                out.append(Marker("sleep", s.start, stays[j].end))
                out += [Marker("night_up", x.start, x.end) for x in stays[i:j + 1] if x.what != "sleep"]
                i = j + 1
                continue
            if s.what == "out":
                if out and out[-1].kind == "away" and out[-1].end == s.start:  # back-to-back: one absence
                    out[-1] = replace(out[-1], end=s.end)
                else:
                    out.append(Marker("away", s.start, s.end))
                if s.tag == "holiday":
                    holidays.append(Marker("holiday", s.start, s.end))
            elif s.what in ("visit", "in_bed"):
                out.append(Marker(s.what, s.start, s.end))
            i += 1
        out += holidays
        if fall is not None:
            at = fall.at
            out = [replace(m, end=min(m.end, at)) for m in out if m.start < at]
            where = next((s for s in stays if s.start <= at < s.end), None)
            detail = "out" if where is not None and where.what == "out" else "home"
            if where is not None and where.what in ("sleep", "nap", "in_bed"):
                detail = "floor" if fall.on_floor else "in_bed"
            out.append(Marker("collapse", at, None, detail))
        out += [Marker("sensor_dead", at, None, sid) for sid, at in deaths.items()]
        out += [Marker("network_lost", sc.at, sc.at + sc.hours * HOUR) for sc in scenarios
                if isinstance(sc, ModemLosesNetwork)]
        out.sort(key=lambda m: (m.start, m.kind))
        return out

    def to_csv(self, path) -> int:
        """Write the last generated events as the hub's event CSV; returns the row count."""
        if not self.events:
            raise ValueError("no events yet: call days() first")
        with open(path, "w", encoding="utf-8", newline="") as fh:
            return write_events(self.events, fh)
