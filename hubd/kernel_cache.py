"""Where numba keeps the compiled kernels: one folder per version of the kernels' sources.

numba checks only the stamp of the file that defines a cached kernel. A kernel that calls
kernels of another file (bulk replay's ``run_calls`` calls sensor health's ``check``) keeps
the machine code of the old callee after that other file changes: a working tree, or a hub
patched file by file, then runs yesterday's rule in bulk and today's per event. Naming the
cache folder by a digest of every kernel source makes any change a fresh compile. (The
installer also empties the cache on an upgrade.)
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
KERNEL_SOURCES = ("core/health_kernels.py", "detector/fixed_kernels.py", "detector/kernels.py",
                  "replay/bulk_kernels.py")


def sources_digest(root: Path = PACKAGE) -> str:
    """12 hex digits that change whenever any kernel source does."""
    h = hashlib.sha256()
    for name in KERNEL_SOURCES:
        h.update(name.encode() + b"\0" + (root / name).read_bytes() + b"\0")
    return h.hexdigest()[:12]


def default_base(environ=os.environ) -> Path:
    cache_home = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache_home) / "hubd" / "numba"


def cache_folder(environ=os.environ) -> Path:
    """``<NUMBA_CACHE_DIR or ~/.cache/hubd/numba>/<digest>``; a setting that already ends in the
    digest (a child process inheriting it) is kept."""
    digest = sources_digest()
    given = environ.get("NUMBA_CACHE_DIR")
    base = Path(given) if given else default_base(environ)
    return base if base.name == digest else base / digest


def use_versioned_cache() -> Path:
    """Point this process's numba (and its children) at :func:`cache_folder`."""
    folder = cache_folder()
    os.environ["NUMBA_CACHE_DIR"] = str(folder)
    numba_config = sys.modules.get("numba.core.config")
    if numba_config is not None:  # numba read the environment already
        numba_config.CACHE_DIR = str(folder)
    return folder
