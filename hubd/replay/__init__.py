"""Replay: the core driven over an event log on a simulated clock.

``per_event`` is the reference (every event through ``Engine.handle``, a tick at every
deadline); ``bulk`` makes the same engine calls over a whole batch with the kernels in
``bulk_kernels``. Importing this package loads nothing: ``per_event`` needs no numba.
"""
