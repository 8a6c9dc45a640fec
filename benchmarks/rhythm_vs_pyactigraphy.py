"""Check hubd's rhythm metrics against pyActigraphy on pyActigraphy's own example recordings.

pyActigraphy is GPL-3 and hard to install (1.2.2 needs the ``accelerometer`` package,
which does not build on Python 3.11 here), so it is not a dependency of hubd or of
its tests; this script runs wherever it can be imported::

    python3 -m venv /tmp/pya && /tmp/pya/bin/pip install --no-deps pyActigraphy \
        && /tmp/pya/bin/pip install "pandas<2.3" numba scipy statsmodels lmfit joblib plotly \
           spm1d stochastic pyexcel pyexcel-ods3 pyexcel-xlsx
    # pyActigraphy imports accelerometer only for its BBA reader: give it an empty one
    /tmp/pya/bin/python benchmarks/rhythm_vs_pyactigraphy.py --stub-accelerometer

It reads each example AWD file with pyActigraphy, prints pyActigraphy's IS, IV, RA, L5
and M10 (threshold 4, its defaults) beside hubd's ``rhythm_metrics`` on the same minute
counts (each count becomes that many events in its minute), with and without
``partial_last_hour``, and exits 1 if any pair differs by more than 5e-5.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

METRICS = ("IS", "IV", "RA", "L5", "M10")


def stub_accelerometer() -> None:
    """An importable ``accelerometer`` with the two names pyActigraphy's BBA reader imports."""
    pkg = Path(tempfile.mkdtemp()) / "accelerometer"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "utils.py").write_text("def date_parser(*a, **k):\n    raise NotImplementedError\n")
    (pkg / "summarisation.py").write_text("def imputeMissing(*a, **k):\n    raise NotImplementedError\n")
    sys.path.insert(0, str(pkg.parent))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stub-accelerometer", action="store_true")
    args = ap.parse_args()
    if args.stub_accelerometer:
        stub_accelerometer()
    try:
        import pyActigraphy
        from pyActigraphy.io import read_raw_awd
    except ImportError as exc:
        print(f"pyActigraphy is not importable here ({exc}); see this script's docstring", file=sys.stderr)
        return 2
    from hubd.detector.rhythm import rhythm_metrics

    data_dir = Path(pyActigraphy.__file__).parent / "tests" / "data"
    files = sorted(p for p in data_dir.glob("example_0*.AWD") if "mask" not in p.name)
    print(f"pyActigraphy {pyActigraphy.__version__}; threshold 4; hubd whole hours / hubd partial last hour")
    print(f"{'file':16}{'metric':>7}{'pyActigraphy':>14}{'hubd':>10}{'hubd+partial':>14}")
    worst = 0.0
    for path in files:
        raw = read_raw_awd(str(path))
        counts = raw.data.fillna(0).to_numpy().astype(int)
        start = raw.data.index[0]
        s0 = (start.to_pydatetime() - datetime(1970, 1, 1)).total_seconds()  # naive local seconds
        times = np.repeat(s0 + np.arange(counts.size) * 60.0, np.maximum(counts, 0))
        end = s0 + counts.size * 60.0
        ours = rhythm_metrics(times, s0, end, threshold=4)
        exact = rhythm_metrics(times, s0, end, threshold=4, partial_last_hour=True)
        theirs = {"IS": raw.IS(), "IV": raw.IV(), "RA": raw.RA(), "L5": raw.L5(), "M10": raw.M10()}
        for name in METRICS:
            worst = max(worst, abs(getattr(exact, name) - theirs[name]))
            print(f"{path.name:16}{name:>7}{theirs[name]:>14.4f}{getattr(ours, name):>10.4f}"
                  f"{getattr(exact, name):>14.4f}")
    print(f"largest |pyActigraphy - hubd+partial|: {worst:.2e}")
    return 0 if worst <= 5e-5 else 1


if __name__ == "__main__":
    import warnings

    warnings.simplefilter("ignore")  # pandas deprecation noise from pyActigraphy
    sys.exit(main())
