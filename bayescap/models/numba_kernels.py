"""Small numba kernels of the capacity model's hand-written log density (``capacity_density``), and the nutpie glue
shared with the traffic model's C density (``traffic_density.c``).

Special functions (digamma, log densities with their derivatives) and the views that let a C callback read numpy
arrays through a table of raw addresses (:func:`pointer_table`), so that nutpie can call cached machine code with no
Python in between.

Every function is compiled with ``cache=True``. numba's cache does not notice when a function in *another* file that
a cached function calls has changed, so after editing this module clear the ``__pycache__`` of ``bayescap/models``
(an installed release never changes under its cache).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba.core import cgutils
from numba.extending import intrinsic

HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
LOG_2 = math.log(2.0)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def digamma(x: float) -> float:
    """psi(x) for x > 0: recurrence up to x >= 6, then the asymptotic series (error < 1e-12)."""
    acc = 0.0
    while x < 6.0:
        acc -= 1.0 / x
        x += 1.0
    inv = 1.0 / x
    inv2 = inv * inv
    series = inv2 * (1.0 / 12 - inv2 * (1.0 / 120 - inv2 * (1.0 / 252 - inv2 * (1.0 / 240 - inv2 * (1.0 / 132)))))
    return acc + math.log(x) - 0.5 * inv - series


@numba.njit(cache=True, nogil=True, error_model="numpy")
def half_normal(u: float, scale: float) -> tuple[float, float]:
    """log density of exp(u) ~ HalfNormal(scale), with the log transform's Jacobian, and its derivative in u."""
    r = math.exp(u) / scale
    return LOG_2 - HALF_LOG_2PI - math.log(scale) - 0.5 * r * r + u, 1.0 - r * r


@intrinsic
def _void_pointer(typingctx, address):
    """The integer ``address`` as a void pointer."""

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return numba.types.voidptr(address), codegen


@numba.njit(cache=True, nogil=True, error_model="numpy")
def fv(address, size):
    """The float64 vector of ``size`` at ``address``."""
    return numba.carray(_void_pointer(address), (size,), dtype=np.float64)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def iv(address, size):
    """The int64 vector of ``size`` at ``address``."""
    return numba.carray(_void_pointer(address), (size,), dtype=np.int64)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def fm(address, rows, cols):
    """The C-ordered float64 matrix of ``rows`` x ``cols`` at ``address``."""
    return numba.carray(_void_pointer(address), (rows, cols), dtype=np.float64)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def report_logp(lp, grad, out) -> int:
    """Write the log density to ``out[0]``; the callback's return code: 0, or 3 / 4 for a non-finite gradient /
    density (nutpie then treats the step as divergent instead of moving to a NaN)."""
    out[0] = lp
    for k in range(grad.shape[0]):
        if not np.isfinite(grad[k]):
            return 3
    if not np.isfinite(lp):
        return 4
    return 0


def pointer_table(arrays: list[np.ndarray]) -> np.ndarray:
    """(address, rows, cols) of each array, flat, as the callbacks read them (1-D arrays have cols 1).

    The arrays must stay alive as long as the table is used (keep them in the model's ``shared_data``).
    """
    table = np.zeros(3 * len(arrays), dtype=np.int64)
    for k, value in enumerate(arrays):
        if not value.flags.c_contiguous:
            raise ValueError("pointer_table needs C-contiguous arrays")
        rows, cols = value.shape if value.ndim == 2 else (value.shape[0], 1)
        table[3 * k : 3 * k + 3] = (value.ctypes.data, rows, cols)
    return table


LOGP_SIG = numba.types.int64(numba.types.uint64, numba.types.CPointer(numba.types.double),
                             numba.types.CPointer(numba.types.double), numba.types.CPointer(numba.types.double),
                             numba.types.voidptr)
"""nutpie's log density callback: (dim, x, gradient out, logp out, user data) -> 0, or an error code."""
EXPAND_SIG = numba.types.int64(numba.types.uint64, numba.types.uint64, numba.types.CPointer(numba.types.double),
                               numba.types.CPointer(numba.types.double), numba.types.voidptr)
"""nutpie's expand callback: (dim, n_expanded, x, values out, user data) -> 0."""


def nutpie_model(callbacks, blocks: list[tuple[str, tuple[int, ...]]], centre: dict, shared: dict, table: np.ndarray):
    """nutpie's container for a compiled model around the C ``callbacks`` (logp, expand), with no code generated.

    ``blocks``: (name, shape) of each block of x, in order (the expand callback returns x in the same layout);
    chains start at ``centre`` (a value per block name, 0 where missing) jittered by uniform(-1, 1), as PyMC's do;
    ``shared``: the arrays ``table`` points to, kept alive by the model.
    """
    from nutpie.compile_pymc import CompiledPyMCModel

    sizes = [int(np.prod(shape, dtype=np.int64)) for _, shape in blocks]
    ndim = sum(sizes)
    names = [name for name, _ in blocks]
    shapes = [shape for _, shape in blocks]
    ends = np.cumsum(sizes)
    slices = [slice(int(end - size), int(end)) for end, size in zip(ends, sizes)]

    def initial_point(seed):
        rng = np.random.default_rng(int(seed))
        parts = [np.broadcast_to(centre.get(name, 0.0), (size,)) + rng.uniform(-1.0, 1.0, size)
                 for name, size in zip(names, sizes)]
        return np.concatenate(parts) if parts else np.zeros(0)

    logp_cfunc, expand_cfunc = callbacks
    # nutpie's container for a compiled model (its fields are nutpie's; nutpie is pinned in pyproject.toml)
    return CompiledPyMCModel(
        _n_dim=ndim,
        dims={},
        _coords={},
        _shapes=dict(zip(names, shapes)),
        compiled_logp_func=logp_cfunc,
        compiled_expand_func=expand_cfunc,
        initial_point_func=initial_point,
        shared_data=shared,
        shared_var_keys={},
        user_data=table,
        n_expanded=ndim,
        shape_info=(names, slices, shapes),
        logp_func=None,
        expand_func=None,
    )
