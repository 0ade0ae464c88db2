"""nutpie's side of the hand-written log densities (``traffic_density.c``, ``capacity_density.c``): the table of
array addresses their C callbacks read, and nutpie's container for a compiled model around those callbacks.
"""

from __future__ import annotations

import ctypes
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from bayescap.errors import BayescapWarning
from bayescap.models.c_build import CompilerUnavailable

# nutpie's log density callback: (dim, x, gradient out, logp out, table) -> 0, or an error code
_LOGP_C = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_uint64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                           ctypes.c_void_p)


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


def call_logp(callback, x: np.ndarray, grad: np.ndarray, arrays: list[np.ndarray]) -> float:
    """The log density at ``x`` (its gradient written into ``grad``) from a C ``callback`` reading ``arrays`` through
    their table, called from Python: for tests and diagnostics (the sampler calls the callback itself)."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    if grad.dtype != np.float64 or not grad.flags.c_contiguous or grad.shape != x.shape:
        raise ValueError("grad must be a contiguous float64 array shaped like x")
    out = np.empty(1)
    table = pointer_table(arrays)
    _LOGP_C(callback.address)(x.size, x.ctypes.data, grad.ctypes.data, out.ctypes.data, table.ctypes.data)
    return float(out[0])


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


def c_model_or_none(build: Callable[[], Any], *, model: str, compile_seconds: str) -> Any | None:
    """``build()``: a model's C density as a nutpie model; or ``None`` where no C compiler works, after a
    :class:`BayescapWarning` that says what to install (the caller then samples the model's PyMC graph)."""
    try:
        return build()
    except CompilerUnavailable as exc:
        warnings.warn(f"{model} model: {exc}. Sampling the model's PyMC graph instead: the same model, several times "
                      f"slower (it is compiled in every process, {compile_seconds}, and each step costs more).",
                      BayescapWarning, stacklevel=3)
        return None
