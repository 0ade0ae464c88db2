"""Shared test fixtures. One named seed for the whole suite."""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

SEED = 20261126
REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
EXAMPLE = DATA / "example"
REAL = DATA / "real"

# keep the suite light on a 2-core machine
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def seed() -> int:
    return SEED


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


def call_logp_callback(cfunc, x: np.ndarray, table: np.ndarray):
    """Call a hand-written density's C log density callback as nutpie does: (return code, log density, gradient)."""
    grad = np.zeros_like(x)
    out = np.zeros(1)
    ptr = ctypes.POINTER(ctypes.c_double)
    call = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_uint64, ptr, ptr, ptr, ctypes.c_void_p)(cfunc.address)
    code = call(x.size, x.ctypes.data_as(ptr), grad.ctypes.data_as(ptr), out.ctypes.data_as(ptr),
                ctypes.c_void_p(table.ctypes.data))
    return code, out[0], grad


def call_expand_callback(cfunc, x: np.ndarray, n_expanded: int, table: np.ndarray):
    """Call a hand-written density's C expand callback as nutpie does: (return code, the model's values)."""
    out = np.zeros(n_expanded)
    ptr = ctypes.POINTER(ctypes.c_double)
    call = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_uint64, ctypes.c_uint64, ptr, ptr, ctypes.c_void_p)(cfunc.address)
    code = call(x.size, out.size, x.ctypes.data_as(ptr), out.ctypes.data_as(ptr), ctypes.c_void_p(table.ctypes.data))
    return code, out


def assert_density_matches_graph(logp_and_grad, args, points, logp_fn, dlogp_fn, *, rng, draws: int, spread: float,
                                 rtol: float):
    """At ``draws`` random unconstrained points (Normal(0, spread) per coordinate) a hand-written log density and its
    gradient equal the PyMC graph's compiled ones. ``points`` lists ``(value variable name, size, is a vector)`` in the
    density's coordinate order."""
    import pytest

    dim = sum(size for _, size, _ in points)
    for _ in range(draws):
        x = rng.normal(0.0, spread, dim)
        point, i = {}, 0
        for value_name, size, vector in points:
            point[value_name] = x[i : i + size] if vector else x[i]
            i += size
        grad = np.empty(dim)
        lp = logp_and_grad(x, grad, *args)
        assert lp == pytest.approx(float(logp_fn(point)), rel=1e-10, abs=1e-7)
        np.testing.assert_allclose(grad, dlogp_fn(point), rtol=rtol, atol=rtol)
