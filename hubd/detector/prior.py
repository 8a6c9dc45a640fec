"""The population prior: what other homes' detectors learned, so a new home is watched from day 1.

A :class:`Prior` holds, per time-of-day slot, the distribution of the two silences the
detector learns (the day's longest silence elapsed in the slot, and the longest silence
remaining from it; the ``hist`` rows of ``kernels``), and the distribution of absence
durations per day type (weekday, weekend). Each row is a distribution (weight 1, or 0
where no home had data); the detector gives it ``DetectorParams.prior_days`` pseudo-days
(30: the 0.95 quantile is usable on day 1) whose weight halves with every
``prior_half_life_days`` day the home has learned (1: after a week the home's own days
outweigh it ~100 to 1; ``kernels.learned_limits``).

The prior is broad on purpose, since we know nothing of the new resident yet: each home
is phase-shifted by up to +-``population.PHASE_SHIFT_HOURS`` (later and earlier sleepers), and the
silence rows are the distribution of the *largest* of the homes' silences (no home of
the population would alarm on its first nights). Absences are the homes' mean
distribution per day type; its quantile times the absence margin is also a floor of
``not_returned`` (the population's long days out, e.g. a working day, never alarm).

:func:`hubd.detector.population.build_prior` replays each home with the detector (no
prior) and pools what it learned, every home weighted equally. The shipped prior (``prior.npz`` beside this
module) is built from the development homes by::

    .venv/bin/python benchmarks/build_prior.py -o hubd/detector/prior.npz
    .venv/bin/python -m hubd.detector.population      # the day-1 limits it gives

(van Kasteren house A and B, and the synthetic residents of ``benchmarks/bench_detector.py``
plus a resident working long weekdays; ``bench_detector.prior_homes``). The benchmark
builds the same recipe without the home it scores (leave-one-home-out).
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .kernels import N_DAY_TYPES
from .params import DetectorParams

log = logging.getLogger(__name__)

DEFAULT_PATH = Path(__file__).with_name("prior.npz")
FORMAT = 1  # version of the .npz layout


class PriorError(ValueError):
    """A prior file that cannot be used (missing, damaged, or built for other slots/bins)."""


@dataclass(frozen=True, eq=False)
class Prior:
    """Per-slot silence distributions and per-day-type absence distributions of a population."""

    slot_minutes: int
    elapsed: np.ndarray  # [slots, bins]: the day's longest silence elapsed in each slot
    remaining: np.ndarray  # [slots, bins]: the longest silence remaining from each slot
    absence: np.ndarray  # [N_DAY_TYPES, bins]: absence durations, weekday then weekend
    homes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("elapsed", "remaining", "absence"):
            a = np.array(getattr(self, name), dtype=np.float64)
            if a.ndim != 2 or not np.all(np.isfinite(a)) or np.any(a < 0):
                raise PriorError(f"prior.{name}: must be a 2-d array of finite, non-negative weights")
            a.setflags(write=False)
            object.__setattr__(self, name, a)
        n, nb = self.elapsed.shape
        if self.slot_minutes <= 0 or 1440 % self.slot_minutes or n != 1440 // self.slot_minutes:
            raise PriorError(f"prior: {n} slots do not fit slot_minutes = {self.slot_minutes}")
        if self.remaining.shape != (n, nb) or self.absence.shape != (N_DAY_TYPES, nb):
            raise PriorError(f"prior: shapes {self.elapsed.shape}, {self.remaining.shape}, {self.absence.shape} "
                             f"do not agree ({n} slots x {nb} bins, {N_DAY_TYPES} day types)")

    @property
    def hist_bins(self) -> int:
        return self.elapsed.shape[1]

    @classmethod
    def none(cls, params: DetectorParams | None = None) -> "Prior":
        """No prior at all (all weights zero): the detector cold-starts as without one."""
        p = params or DetectorParams()
        z = np.zeros((p.slots_per_day, p.hist_bins))
        return cls(p.slot_minutes, z, z, np.zeros((N_DAY_TYPES, p.hist_bins)))

    @property
    def empty(self) -> bool:
        return not (self.elapsed.any() or self.remaining.any() or self.absence.any())

    def fits(self, params: DetectorParams) -> str | None:
        """Why this prior cannot serve ``params`` (None: it can)."""
        if self.slot_minutes != params.slot_minutes or self.hist_bins != params.hist_bins:
            return (f"the prior has {self.slot_minutes}-minute slots x {self.hist_bins} bins, the detector "
                    f"{params.slot_minutes} x {params.hist_bins} (slot_minutes or hist_bins changed)")
        return None

    def kernel_rows(self, params: DetectorParams) -> tuple[np.ndarray, np.ndarray]:
        """The prior as the kernel's extra rows: (hist rows 2n..4n, abs_hist rows 2..3), in pseudo-days."""
        reason = self.fits(params)
        if reason:
            raise PriorError(reason)
        w = params.prior_days
        return np.vstack([self.elapsed, self.remaining]) * w, self.absence * w

    # ------------------------------------------------------------------ codec
    def save(self, path: str | Path) -> None:
        with open(path, "wb") as fh:
            np.savez_compressed(fh, format=np.int64(FORMAT), slot_minutes=np.int64(self.slot_minutes),
                                elapsed=self.elapsed, remaining=self.remaining, absence=self.absence,
                                homes=np.array(json.dumps(list(self.homes))))  # numpy's str arrays drop trailing NULs

    @classmethod
    def load(cls, path: str | Path) -> "Prior":
        """Read a prior file; :class:`PriorError` saying what is wrong if it cannot be used."""
        try:
            with np.load(path, allow_pickle=False) as z:
                if int(z["format"]) != FORMAT:
                    raise PriorError(f"prior file {path}: format {int(z['format'])}, expected {FORMAT}")
                homes = json.loads(str(z["homes"]))
                if not isinstance(homes, list) or not all(isinstance(h, str) for h in homes):
                    raise PriorError(f"prior file {path}: its list of homes is not a list of names")
                return cls(int(z["slot_minutes"]), z["elapsed"], z["remaining"], z["absence"], tuple(homes))
        except PriorError:
            raise
        except Exception as exc:  # zip, npy or key errors of a damaged or foreign file
            raise PriorError(f"prior file {path} is unreadable ({type(exc).__name__}: {exc})") from exc


@functools.lru_cache(maxsize=4)
def _load_cached(path: str) -> Prior:
    return Prior.load(path)


def default_prior(path: str | Path = DEFAULT_PATH) -> Prior:
    """The shipped population prior (read once). Raises :class:`PriorError` if it is unusable."""
    return _load_cached(str(path))
