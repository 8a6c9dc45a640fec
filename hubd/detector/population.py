"""Building a population prior: replay other homes and pool what their detectors learned.

Apart from :mod:`hubd.detector.prior` (the prior as data: what the detector reads at start)
because building needs the detector itself: this module sits above ``model``, the prior
below it. The shipped prior is built by ``benchmarks/build_prior.py`` from the development
homes; the benchmark builds the same recipe without the home it scores.

    .venv/bin/python -m hubd.detector.population [PRIOR.npz]   # the day-1 limits a prior gives
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

import numpy as np

from ..events import EventBatch
from .kernels import N_DAY_TYPES
from .model import LearnedDetector
from .params import DetectorParams
from .prior import DEFAULT_PATH, Prior, PriorError

PHASE_SHIFT_HOURS = 3.0  # a new resident may live this much earlier or later than any home of the population


def _normalised(rows: np.ndarray) -> np.ndarray:
    """Each row scaled to weight 1 (rows without weight stay zero)."""
    total = rows.sum(axis=1, keepdims=True)
    return np.divide(rows, total, out=np.zeros_like(rows), where=total > 0)


def _pool(per_home: list[np.ndarray]) -> np.ndarray:
    """Row by row, the mean of the homes' distributions, over the homes that have data there."""
    stack = np.stack([_normalised(r) for r in per_home])
    have = (stack.sum(axis=2, keepdims=True) > 0).sum(axis=0)
    return np.divide(stack.sum(axis=0), have, out=np.zeros(stack.shape[1:]), where=have > 0)


def _shifted(rows: np.ndarray, shift_slots: int) -> np.ndarray:
    """A home's slot rows as if it lived up to ``shift_slots`` earlier or later (the mean of
    its rows within +-shift of each slot, wrapping midnight): residents differ in phase."""
    norm = _normalised(rows)
    out = np.zeros_like(norm)
    for s in range(-shift_slots, shift_slots + 1):
        out += np.roll(norm, s, axis=0)
    return _normalised(out)


def _envelope(per_home: list[np.ndarray], shift_slots: int) -> np.ndarray:
    """Row by row, the distribution of the largest of the homes' values (the product of
    their CDFs, over the homes that have data there), each home phase-shifted (see
    :func:`_shifted`): in each slot the silence normal for the quietest home at about that
    time of day, so that no home of the population would alarm there."""
    stack = np.stack([_shifted(r, shift_slots) for r in per_home])
    have = stack.sum(axis=2) > 0  # [homes, rows]
    cdf = np.clip(np.cumsum(stack, axis=2), 0.0, 1.0)
    cdf[~have] = 1.0  # a home without data in a row does not bound it
    pmf = np.clip(np.diff(np.prod(cdf, axis=0), axis=1, prepend=0.0), 0.0, None)
    pmf[~have.any(axis=0)] = 0.0
    return pmf


def build_prior(batches: Sequence[EventBatch], params: DetectorParams | None = None,
                names: Sequence[str] = ()) -> Prior:
    """Replay each home's log with the detector (no prior) and pool what it learned, each home weighted equally."""
    p = params or DetectorParams()
    if not batches:
        raise ValueError("build_prior needs at least one home's log")
    n = p.slots_per_day
    elapsed, remaining, absence = [], [], []
    for batch in batches:
        det = LearnedDetector(p, prior=False)
        det.replay(batch)
        hist, abs_hist = det.learned_histograms()
        elapsed.append(hist[:n])
        remaining.append(hist[n:2 * n])
        absence.append(abs_hist[:N_DAY_TYPES])
    shift = int(round(PHASE_SHIFT_HOURS * 60 / p.slot_minutes))
    return Prior(p.slot_minutes, _envelope(elapsed, shift), _envelope(remaining, shift), _pool(absence), tuple(names))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m hubd.detector.population [PATH]``: the day-1 limits a prior gives (the shipped one by default)."""
    ap = argparse.ArgumentParser(prog="python -m hubd.detector.population", description=main.__doc__)
    ap.add_argument("path", nargs="?", default=str(DEFAULT_PATH))
    args = ap.parse_args(argv)
    try:
        print(describe(Prior.load(args.path)))
    except PriorError as exc:
        print(f"prior: {exc}", file=sys.stderr)
        return 1
    return 0


def describe(prior: Prior, params: DetectorParams | None = None) -> str:
    """The limits a new home starts from under this prior, in hours."""
    det = LearnedDetector(params or DetectorParams(), prior=prior)
    delays = det.alarm_delays()
    slot_h = det.params.slot_minutes / 60
    lines = [f"prior of {len(prior.homes)} homes: {', '.join(prior.homes)}",
             "day 1: alarm after (h) a silence begun at (h):"]
    for k in range(0, len(delays), 4):
        lines.append("  " + "  ".join(f"{(k + j) * slot_h:05.1f} {delays[k + j] / 3600:4.1f}" for j in range(4)))
    wd, we = det.absence_limits()
    lines.append(f"day-1 not_returned limit: weekday {wd / 3600:.1f} h, weekend {we / 3600:.1f} h")
    return "\n".join(lines)


if __name__ == "__main__":  # run the package's module, not this __main__ copy (one Prior class)
    from hubd.detector.population import main as _main

    sys.exit(_main())
