"""Every kernel is compiled for one signature in a ``hubd replay``: a second one (a literal
constant passed on, an int where a float was meant) adds its whole call tree to the cold
compile (issue 14's target: no longer than before). See ``detector.kernels``' Conventions."""

from __future__ import annotations

import os
import subprocess
import sys

CODE = """
import contextlib, io, sys
from numba.core.registry import CPUDispatcher
from hubd.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    main(['replay', sys.argv[1]])
from hubd.core import health_kernels
from hubd.detector import fixed_kernels, kernels
from hubd.replay import bulk_kernels
for module in (kernels, health_kernels, bulk_kernels, fixed_kernels):
    for name, f in vars(module).items():
        if isinstance(f, CPUDispatcher) and f.__module__ == module.__name__ and len(f.signatures) > 1:
            print(module.__name__, name, [str(s) for s in f.signatures])
"""


def test_replay_compiles_each_kernel_once(real_log, tmp_path):
    """In a cold cache: a warm one loads each caller's machine code, callees and all, and
    shows no callee's signatures. Unoptimised (NUMBA_OPT=0): the types are the same, the
    compile is faster."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba"), NUMBA_OPT="0")
    done = subprocess.run([sys.executable, "-c", CODE, real_log], capture_output=True, text=True, timeout=600,
                          env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
