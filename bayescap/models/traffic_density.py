"""The traffic model's log density and its gradient, written out in C: the PyMC graph's fast twin.

Why by hand: nutpie samples a PyMC model through numba code that PyTensor generates from the graph, and numba
compiles that code afresh in every new process (11-15 s for the traffic graph, 4 s for a three-parameter toy),
while sampling a 730-day history takes 3-5 s. The traffic model's density is a few dense matrix-vector products
and a Student-t sum (:func:`bayescap.models.traffic_model.build_model`), so it is written out once, with its
gradient, in ``traffic_density.c``: the system's C compiler builds it on the first fit on a machine (about 1 s;
numba took 4-8 s for the same loops), and later processes load the library from the cache (``c_build.py``).

:func:`build_model` stays the model's definition. ``tests/test_traffic_density.py`` checks that this density and
its gradient equal PyMC's (``model.compile_logp`` / ``compile_dlogp``, Jacobians included) at random points, for
every variant (centred and non-centred walk, with and without AR(1), competitor days estimated or excluded, missing
days, no events), and the option ``sampler_backend = "pymc"`` samples the PyMC graph itself (also the fallback
where no C compiler is installed).

Unconstrained parameter vector ``x`` (the order of :func:`parameter_layout`): the whitened linear block z_lin, then
log lift_sd (one per type), log competitor_effect, log sigma_normal, log sigma_event_excess, log nu_excess,
phi_raw (with AR(1)) and log rw_var (the walk's innovation variance) -- PyMC's log transforms of its positive variables.

The density (``bayescap_traffic_logp`` in the C file). ``flags`` = (p, n_types, ar1, noncentred, first index of z_occ
in beta, first dense column of X); ``consts`` = (lift_sd_scale, competitor_effect_scale, sigma_normal_scale,
sigma_event_scale, nu_min, nu_excess_mean, ar_logit_mean, ar_logit_sd, rw_b, rw_shape, competitor_weight, number of
walk steps, lam_hat). The linear block is beta = shift + u with u = chol @ w, w = walk_h (lam_hat - lam) / q +
z / sqrt(q), q = walk_a + walk_k / rw_var; X (mean; its dense seasonal columns apart, in ``x_dense``), D (centred
walk's steps), W (non-centred walk) and O (occurrence days x slots) are sparse, in CSR form, and X, D, W act on u.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from scipy import sparse

from bayescap.models import c_build, nutpie_glue
from bayescap.models.nutpie_glue import pointer_table
from bayescap.models.traffic_priors import RW_MEDIAN_GAMMA, RW_SHAPE
from bayescap.models.traffic_whiten import _columns, _cumulative_steps, _prior_diag, _slice_of, _walk_steps

SOURCE = Path(__file__).with_name("traffic_density.c")


def parameter_layout(p: int, n_types: int, *, ar1: bool, noncentred: bool) -> list[tuple[str, int, bool]]:
    """(model variable, size, log-transformed) in the order of the unconstrained vector."""
    out = [("z_lin", p, False), ("lift_sd", n_types, True), ("competitor_effect", 1, True), ("sigma_normal", 1, True),
           ("sigma_event_excess", 1, True), ("nu_excess", 1, True)]
    if ar1:
        out.append(("phi_raw", 1, False))
    out.append(("rw_var", 1, True))
    return out


GRAPH_CONSTS = ("lift_sd_scale", "competitor_effect_scale", "sigma_normal_scale", "sigma_event_scale", "nu_min",
                "nu_excess_mean", "ar_logit_mean", "ar_logit_sd")
# the density's arrays (traffic_density.c reads them through the table in this order), in order; CSR matrices take three (data, indices, indptr)
INPUTS = ("flags", "consts", "y", "mask", "prev_mask", "is_event", "competitor", "slot_type_matrix", "slot_free",
          "chol", "mean_shift", "x_dense", "x_data", "x_ind", "x_ptr", "prior_shift", "prior_prec", "walk_shift", "d_data",
          "d_ind", "d_ptr", "rw_shift", "w_data", "w_ind", "w_ptr", "occ_shift", "o_data", "o_ind", "o_ptr", "walk_a", "walk_k",
          "walk_h")
_INTEGER = frozenset({"flags", "x_ind", "x_ptr", "d_ind", "d_ptr", "w_ind", "w_ptr", "o_ind", "o_ptr"})


def _csr(A: np.ndarray, prefix: str, col_offset: int = 0) -> dict[str, np.ndarray]:
    """``A``'s CSR arrays (column indices shifted by ``col_offset``) under the names the density takes."""
    m = sparse.csr_array(A)
    return {f"{prefix}_data": m.data, f"{prefix}_ind": m.indices.astype(np.int64) + col_offset, f"{prefix}_ptr": m.indptr}


def density_inputs(design, priors: dict, block, *, ar1: bool, noncentred: bool) -> tuple:
    """The arguments of :func:`logp_and_grad` after ``x`` and ``grad`` (contiguous float64 / int64 arrays).

    The same maps as :func:`bayescap.models.traffic_whiten.graph_arrays`, kept factored (beta = shift + chol z
    with the sparse design matrices acting on chol z). For a 730-day history with 214 parameters a gradient takes
    42 µs, of which the mean's design matrix 16 µs (sparse rest and dense seasonal block, both ways) against 39 µs as
    one dense product.
    """
    d = design.data
    layout, shift, chol = block.layout, block.shift, block.chol
    n_types = max(len(design.event_types), 1)
    p = block.size
    fixed = _columns(design, priors, layout, {"rw_sd": 0.0, "lift_sd": np.zeros(n_types)}, noncentred)
    m0, prec = _prior_diag(priors, layout)
    occ = _slice_of(layout, "z_occ")
    # the seasonal columns (weekday, yearly, weekday x yearly: adjacent in the layout) are dense: plain loops over
    # them vectorise, where a sparse product does not
    seasonal = [_slice_of(layout, name) for name, _ in layout if name in ("weekday_raw", "yearly_raw", "weekday_yearly_raw")]
    dense = slice(seasonal[0].start, seasonal[-1].stop)
    rest = fixed.copy()
    rest[:, dense] = 0.0
    walk_rows = 0
    out = {
        "y": d["y"], "mask": d["mask"], "prev_mask": d["prev_mask"], "is_event": d["is_event"],
        "competitor": d["competitor"], "slot_type_matrix": d["slot_type_matrix"], "slot_free": d["slot_free"],
        "chol": chol, "mean_shift": float(d["y_center"]) + fixed @ shift, "x_dense": fixed[:, dense],
        **_csr(rest, "x"),
        "prior_shift": shift - m0, "prior_prec": prec, "occ_shift": shift[occ], **_csr(d["occ_matrix"], "o"),
        "walk_a": block.walk_a, "walk_k": block.walk_k, "walk_h": block.walk_h,
    }
    if noncentred:
        rw = _slice_of(layout, "z_rw")
        W = d["knot_matrix"] @ _cumulative_steps(design.n_knots)
        out.update({"rw_shift": W @ shift[rw], **_csr(W, "w", rw.start)})
        out.update({"walk_shift": np.zeros(0), **_csr(np.zeros((0, p)), "d")})
    else:
        D = _walk_steps(design, priors, layout)
        walk_rows = D.shape[0]
        out.update({"walk_shift": D @ shift, **_csr(D, "d")})
        out.update({"rw_shift": np.zeros(0), **_csr(np.zeros((0, p)), "w")})
    out["flags"] = np.array([p, n_types, int(ar1), int(noncentred), occ.start, dense.start], dtype=np.int64)
    out["consts"] = np.array([float(priors[k]) for k in GRAPH_CONSTS] + [
        RW_MEDIAN_GAMMA * float(priors["rw_sd_per_knot"]) ** 2, RW_SHAPE, float(d["competitor_weight"]), walk_rows,
        block.lam_hat])
    return tuple(np.ascontiguousarray(out[k], dtype=np.int64 if k in _INTEGER else np.float64) for k in INPUTS)


# -- nutpie glue: C callbacks that read their arrays through one table of pointers (addresses, rows, cols), so that
# nothing is generated per dataset; the library is compiled, or loaded from the cache, on first use (importing this
# module costs nothing)

_TABLE = (*INPUTS, "logged")  # the table holds (address, rows, cols) of each, in this order (traffic_density.c)


@functools.cache
def callbacks() -> tuple[c_build.CFunction, c_build.CFunction]:
    """The C callbacks (logp and gradient, expand), compiled on first use on a machine or loaded from the cache.

    Raises :class:`bayescap.models.c_build.CompilerUnavailable` where no C compiler works.
    """
    assert len(_TABLE) == 33  # N_TABLE in traffic_density.c
    library = c_build.load(SOURCE)
    return c_build.function(library, "bayescap_traffic_logp"), c_build.function(library, "bayescap_traffic_expand")


def logp_and_grad(x: np.ndarray, grad: np.ndarray, *args: np.ndarray) -> float:
    """Log density at ``x`` (writes its gradient into ``grad``); ``args`` = :func:`density_inputs`. The C callback,
    called from Python (the expand callback's "logged" is not read)."""
    return nutpie_glue.call_logp(callbacks()[0], x, grad, [*args, np.zeros(np.size(x))])


def nutpie_model(design, priors: dict, block, *, ar1: bool, noncentred: bool):
    """A nutpie model sampling this density through the cached C callbacks (no code generation, no GIL).

    Chains start near the whitening's estimates: z_lin and phi_raw uniform in (-1, 1), the scales at the whitening's
    estimates times exp(uniform(-1, 1)) -- dispersed starts, as PyMC's jitter, around a sensible centre.
    """
    n_types = max(len(design.event_types), 1)
    args = density_inputs(design, priors, block, ar1=ar1, noncentred=noncentred)
    layout = parameter_layout(block.size, n_types, ar1=ar1, noncentred=noncentred)
    logged = np.concatenate([np.full(size, float(log)) for _, size, log in layout])
    keep = dict(zip(_TABLE, (*args, logged), strict=True))
    hyper = block.hyper
    sigma_n = float(hyper["sigma_normal"])
    centre = {
        "lift_sd": np.log(np.resize(np.asarray(hyper["lift_sd"], dtype=float), n_types)),
        "competitor_effect": np.log(max(float(hyper.get("competitor", 0.0)), 0.05)),
        "sigma_normal": np.log(sigma_n),
        "sigma_event_excess": np.log(max(float(hyper["sigma_event"]) - sigma_n, 0.05)),
        "nu_excess": np.log(float(priors["nu_excess_mean"])),
        "rw_var": 2.0 * np.log(float(hyper["rw_sd"])),
    }
    blocks = [(name, (size,) if name in ("z_lin", "lift_sd") else ()) for name, size, _ in layout]
    return nutpie_glue.nutpie_model(callbacks(), blocks, centre, keep, pointer_table([keep[name] for name in _TABLE]))
