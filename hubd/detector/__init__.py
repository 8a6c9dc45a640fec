"""Learned activity rhythm: numba kernels, model and rhythm metrics."""
