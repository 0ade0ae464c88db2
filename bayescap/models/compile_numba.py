"""Compile a PyMC model for nutpie with PyTensor's numba backend, reproducibly.

Used where a model is sampled through its PyMC graph (``sampler_backend="pymc"`` of either model, or where no C
compiler works); by default both are sampled through their hand-written C densities (``capacity_density.c``,
``traffic_density.c``).

Why not PyTensor's default: with ``numba__fastmath`` on (its default), the machine code compiled in a process
and the same code loaded from PyTensor's on-disk cache round differently in the last bits (measured: the
capacity model's log density at one point, -344.29445775236223 against -344.2944577523623). NUTS amplifies
such a difference, so a fit with a fixed seed gave one posterior on a machine's first run and another on later
runs (the example's kappa median 0.0029 against 0.0049). Without fast-math the two are bit-identical and the
same seed gives the same posterior, first run or not (``tests/test_forecast_e2e.py``: its first forecast compiles
into empty caches, its second loads them).
"""

from __future__ import annotations

from typing import Any


def compile_for_nutpie(model) -> Any:
    """``nutpie.compile_pymc_model(model, backend="numba")`` with IEEE-strict arithmetic (no fast-math)."""
    import nutpie
    import pytensor

    with pytensor.config.change_flags(numba__fastmath=False):
        return nutpie.compile_pymc_model(model, backend="numba")
