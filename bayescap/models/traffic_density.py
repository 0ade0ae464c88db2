"""The traffic model's log density and its gradient, written out in numba: the PyMC graph's fast twin.

Why by hand: nutpie samples a PyMC model through numba code that PyTensor generates from the graph, and numba
compiles that code afresh in every new process (11-15 s for the traffic graph, 4 s for a three-parameter toy),
while sampling a 730-day history takes 3-5 s. The traffic model's density is a few dense matrix-vector products
and a Student-t sum (:func:`bayescap.models.traffic_model.build_model`), so it is written out here once, with its
gradient, and numba caches the machine code on disk (``cache=True``): the first fit on a new machine compiles it
in about 4 s, every later process loads it in 0.2 s.

:func:`build_model` stays the model's definition. ``tests/test_traffic_density.py`` checks that this density and
its gradient equal PyMC's (``model.compile_logp`` / ``compile_dlogp``, Jacobians included) at random points, for
every variant (centred and non-centred walk, with and without AR(1), competitor days estimated or excluded, missing
days, no events), and the option ``sampler_backend = "pymc"`` samples the PyMC graph itself.

Unconstrained parameter vector ``x`` (the order of :func:`parameter_layout`): the whitened linear block z_lin, then
log lift_sd (one per type), log competitor_effect, log sigma_normal, log sigma_event_excess, log nu_excess,
phi_raw (with AR(1)) and log rw_var (the walk's innovation variance) -- PyMC's log transforms of its positive variables.
"""

from __future__ import annotations

import functools
import math

import numba
import numpy as np
from scipy import sparse

from bayescap.models import numba_kernels
from bayescap.models.numba_kernels import HALF_LOG_2PI, digamma, fm, fv, half_normal, iv, pointer_table, report_logp
from bayescap.models.traffic_priors import RW_MEDIAN_GAMMA, RW_SHAPE
from bayescap.models.traffic_whiten import _columns, _cumulative_steps, _prior_diag, _slice_of, _walk_steps

# fast-math without "no NaN / no Inf" (a non-finite density must stay visible to the callback's check): reassociation
# lets LLVM vectorise the reductions
_FAST = {"reassoc", "contract", "nsz", "arcp"}


@numba.njit(cache=True, nogil=True, fastmath=_FAST, error_model="numpy")
def _mv(A, v):
    """A @ v. Plain loops over the full rows, which LLVM vectorises (a triangular loop, half the work, took three
    times as long); no BLAS call, whose threads would compete with the chains."""
    out = np.empty(A.shape[0])
    for i in range(A.shape[0]):
        acc = 0.0
        for j in range(A.shape[1]):
            acc += A[i, j] * v[j]
        out[i] = acc
    return out


@numba.njit(cache=True, nogil=True, fastmath=_FAST, error_model="numpy")
def _vm(g, A):
    """g @ A."""
    out = np.zeros(A.shape[1])
    for i in range(A.shape[0]):
        gi = g[i]
        for j in range(A.shape[1]):
            out[j] += gi * A[i, j]
    return out


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _csr_affine(data, indices, indptr, v, shift):
    """shift + A @ v for A in CSR form."""
    out = np.empty(shift.shape[0])
    for i in range(shift.shape[0]):
        acc = shift[i]
        for k in range(indptr[i], indptr[i + 1]):
            acc += data[k] * v[indices[k]]
        out[i] = acc
    return out


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _csr_vm_add(data, indices, indptr, g, out, scale):
    """out += scale * (g @ A) for A in CSR form."""
    for i in range(indptr.shape[0] - 1):
        gi = scale * g[i]
        if gi != 0.0:
            for k in range(indptr[i], indptr[i + 1]):
                out[indices[k]] += gi * data[k]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def logp_and_grad(
    x, grad, flags, consts, y, mask, prev_mask, is_event, competitor, slot_type_matrix, slot_free,
    chol, mean_shift, x_dense, x_data, x_ind, x_ptr, prior_shift, prior_prec, walk_shift, d_data, d_ind, d_ptr,
    rw_shift, w_data, w_ind, w_ptr, occ_shift, o_data, o_ind, o_ptr, walk_a, walk_k, walk_h,
):  # fmt: skip
    """Log density at ``x``; writes its gradient into ``grad``.

    ``flags`` = (p, n_types, ar1, noncentred, first index of z_occ in beta, first dense column of X); ``consts`` = (lift_sd_scale,
    competitor_effect_scale, sigma_normal_scale, sigma_event_scale, nu_min, nu_excess_mean, ar_logit_mean,
    ar_logit_sd, rw_b, rw_shape, competitor_weight, number of walk steps, lam_hat). The linear block is
    beta = shift + u with u = chol @ w, w = walk_h (lam_hat - lam) / q + z / sqrt(q), q = walk_a + walk_k / rw_var
    ; X (mean; its dense seasonal columns apart, in ``x_dense``), D (centred walk's steps), W (non-centred walk) and O (occurrence days x
    slots) are sparse, in CSR form, and X, D, W act on u.
    """
    p, n_types, ar1, noncentred, occ_start, dense_start = flags[0], flags[1], flags[2], flags[3], flags[4], flags[5]
    lift_scale, comp_scale, sn_scale, se_scale = consts[0], consts[1], consts[2], consts[3]
    nu_min, nu_mean, ar_mean, ar_sd, rw_b, rw_shape, comp_weight = (
        consts[4], consts[5], consts[6], consts[7], consts[8], consts[9], consts[10])
    n_steps, lam_hat = consts[11], consts[12]
    n = y.shape[0]
    n_slots = slot_free.shape[0]
    for k in range(grad.shape[0]):
        grad[k] = 0.0
    lp = 0.0
    i = p
    # positive scales: HalfNormal priors on the log scale (Jacobian included)
    lift_sd = np.empty(n_types)
    for j in range(n_types):
        lift_sd[j] = math.exp(x[i + j])
        v, d = half_normal(x[i + j], lift_scale)
        lp += v
        grad[i + j] = d
    i_lift = i
    i += n_types
    comp = math.exp(x[i])
    v, d = half_normal(x[i], comp_scale)
    lp += v
    grad[i] = d
    i_comp = i
    sigma_n = math.exp(x[i + 1])
    v, d = half_normal(x[i + 1], sn_scale)
    lp += v
    grad[i + 1] = d
    sigma_e = math.exp(x[i + 2])
    v, d = half_normal(x[i + 2], se_scale)
    lp += v
    grad[i + 2] = d
    i_sig = i + 1
    # nu - nu_min ~ Exponential(mean nu_mean)
    nu_ex = math.exp(x[i + 3])
    lp += -math.log(nu_mean) - nu_ex / nu_mean + x[i + 3]
    grad[i + 3] = 1.0 - nu_ex / nu_mean
    i_nu = i + 3
    nu = nu_min + nu_ex
    i += 4
    phi = 0.0
    i_phi = -1
    if ar1:
        i_phi = i
        lp += -HALF_LOG_2PI - 0.5 * x[i] * x[i]
        grad[i] = -x[i]
        phi = 1.0 / (1.0 + math.exp(-(ar_mean + ar_sd * x[i])))
        i += 1
    # the walk's innovation variance rw_var ~ InverseGamma(rw_shape, rw_b)
    i_rw = i
    rw_var = math.exp(x[i])
    lp += rw_shape * math.log(rw_b) - math.lgamma(rw_shape) - rw_shape * x[i] - rw_b / rw_var
    grad[i] = -rw_shape + rw_b / rw_var
    rw_sd = math.sqrt(rw_var)
    lam = 1.0 / rw_var

    # w = walk_h (lam_hat - lam) / q + z / sqrt(q), q = walk_a + walk_k lam (traffic_whiten.LinearBlock); its
    # Jacobian -1/2 sum log q; dw/dx_rw (x_rw = log rw_var, dlam/dx_rw = -lam) kept for the gradient
    w = np.empty(p)
    w_scale = np.empty(p)
    w_dx = np.empty(p)
    jac = 0.0
    pull = lam_hat - lam
    for k in range(p):
        q = walk_a[k] + walk_k[k] * lam
        sc = 1.0 / math.sqrt(q)
        w[k] = walk_h[k] * pull / q + x[k] * sc
        w_scale[k] = sc
        w_dx[k] = walk_h[k] * lam * (q + pull * walk_k[k]) / (q * q) + x[k] * 0.5 * walk_k[k] * lam * sc / q
        lp -= 0.5 * math.log(q)
        jac += walk_k[k] / q
    grad[i_rw] += 0.5 * lam * jac

    u = _mv(chol, w)
    # Gaussian priors of the linear block
    g_u = np.empty(p)
    for k in range(p):
        b0 = prior_shift[k] + u[k]
        lp -= 0.5 * prior_prec[k] * b0 * b0
        g_u[k] = -prior_prec[k] * b0
    if not noncentred:  # the walk's steps ~ Normal(0, rw_var)
        steps = _csr_affine(d_data, d_ind, d_ptr, u, walk_shift)
        ss = 0.0
        for k in range(steps.shape[0]):
            ss += steps[k] * steps[k]
        lp += -0.5 * n_steps * x[i_rw] - 0.5 * lam * ss
        grad[i_rw] += -0.5 * n_steps + 0.5 * lam * ss
        _csr_vm_add(d_data, d_ind, d_ptr, steps, g_u, -lam)

    # mean log count
    mu = _csr_affine(x_data, x_ind, x_ptr, u, mean_shift)
    n_dense = x_dense.shape[1]
    u_dense = np.empty(n_dense)  # a contiguous copy: an offset index would keep the loops from vectorising
    for k in range(n_dense):
        u_dense[k] = u[dense_start + k]
    mu_dense = _mv(x_dense, u_dense)
    for t in range(n):
        mu[t] += mu_dense[t]
    rw_dev = np.zeros(0)
    if noncentred:
        rw_dev = _csr_affine(w_data, w_ind, w_ptr, u, rw_shift)
        for t in range(n):
            mu[t] += rw_sd * rw_dev[t]
    w_slot = np.empty(n_slots)
    occ_val = np.empty(n_slots)
    for k in range(n_slots):
        w = 0.0
        for j in range(n_types):
            w += slot_type_matrix[k, j] * lift_sd[j]
        w_slot[k] = w * slot_free[k]
        occ_val[k] = w_slot[k] * (occ_shift[k] + u[occ_start + k])
    occ_mu = _csr_affine(o_data, o_ind, o_ptr, occ_val, np.zeros(n))
    for t in range(n):
        mu[t] += occ_mu[t] - comp * competitor[t] * comp_weight

    # likelihood of the AR(1) innovations: Student-t on normal days, Gaussian with its own scale on event days
    half = 0.5 * (nu + 1.0)
    const = math.lgamma(half) - math.lgamma(0.5 * nu) - 0.5 * math.log(nu * math.pi)
    dconst = 0.5 * (digamma(half) - digamma(0.5 * nu)) - 0.5 / nu
    g_e = np.zeros(n)
    g_nu = 0.0
    g_sn = 0.0
    g_se = 0.0
    g_phi = 0.0
    r_prev = 0.0
    for t in range(n):
        r = y[t] - mu[t]
        prev = r_prev * prev_mask[t]
        e = r - phi * prev
        r_prev = r
        if mask[t] == 0.0:
            continue
        if is_event[t] > 0.0:  # event days: Gaussian noise with their own scale
            sig = sigma_n + sigma_e
            lp += mask[t] * (-HALF_LOG_2PI - math.log(sig) - 0.5 * e * e / (sig * sig))
            g_e[t] = -mask[t] * e / (sig * sig)
            gs = mask[t] * (-1.0 / sig + e * e / (sig * sig * sig))
            g_sn += gs
            g_se += gs
        else:  # normal days: Student-t noise
            sig = sigma_n
            q = e * e / (nu * sig * sig)
            lq = math.log1p(q)
            lp += mask[t] * (const - math.log(sig) - half * lq)
            g_e[t] = -mask[t] * (nu + 1.0) * e / (nu * sig * sig + e * e)
            g_sn += mask[t] * (-1.0 / sig + (nu + 1.0) * q / (sig * (1.0 + q)))
            g_nu += mask[t] * (dconst - 0.5 * lq + half * q / (nu * (1.0 + q)))
        g_phi -= g_e[t] * prev
    # d/dmu_t = -(d/dr_t); r_t enters e_t and (through prev) e_{t+1}
    g_mu = np.empty(n)
    for t in range(n):
        g = g_e[t]
        if t + 1 < n:
            g -= phi * prev_mask[t + 1] * g_e[t + 1]
        g_mu[t] = -g

    _csr_vm_add(x_data, x_ind, x_ptr, g_mu, g_u, 1.0)
    g_dense = _vm(g_mu, x_dense)
    for k in range(n_dense):
        g_u[dense_start + k] += g_dense[k]
    g_occ = np.zeros(n_slots)
    _csr_vm_add(o_data, o_ind, o_ptr, g_mu, g_occ, 1.0)
    for k in range(n_slots):
        g_u[occ_start + k] += g_occ[k] * w_slot[k]
        g_w = g_occ[k] * (occ_shift[k] + u[occ_start + k]) * slot_free[k]
        for j in range(n_types):
            grad[i_lift + j] += g_w * slot_type_matrix[k, j] * lift_sd[j]
    g_comp = 0.0
    for t in range(n):
        g_comp -= g_mu[t] * competitor[t] * comp_weight
    grad[i_comp] += g_comp * comp
    if noncentred:
        _csr_vm_add(w_data, w_ind, w_ptr, g_mu, g_u, rw_sd)
        # d rw_sd / d log rw_var = rw_sd / 2
        g_rw = 0.0
        for t in range(n):
            g_rw += g_mu[t] * rw_dev[t]
        grad[i_rw] += g_rw * 0.5 * rw_sd
    grad[i_sig] += g_sn * sigma_n
    grad[i_sig + 1] += g_se * sigma_e
    grad[i_nu] += g_nu * nu_ex
    if ar1:
        grad[i_phi] += g_phi * phi * (1.0 - phi) * ar_sd
    g_w = _vm(g_u, chol)
    g_rw = 0.0
    for k in range(p):
        grad[k] += g_w[k] * w_scale[k]
        g_rw += g_w[k] * w_dx[k]
    grad[i_rw] += g_rw
    return lp


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
# the arguments of logp_and_grad after x and grad, in order; CSR matrices take three (data, indices, indptr)
INPUTS = ("flags", "consts", "y", "mask", "prev_mask", "is_event", "competitor", "slot_type_matrix", "slot_free",
          "chol", "mean_shift", "x_dense", "x_data", "x_ind", "x_ptr", "prior_shift", "prior_prec", "walk_shift", "d_data",
          "d_ind", "d_ptr", "rw_shift", "w_data", "w_ind", "w_ptr", "occ_shift", "o_data", "o_ind", "o_ptr", "walk_a", "walk_k",
          "walk_h")
_INTEGER = frozenset({"flags", "x_ind", "x_ptr", "d_ind", "d_ptr", "w_ind", "w_ptr", "o_ind", "o_ptr"})


def _csr(A: np.ndarray, prefix: str, col_offset: int = 0) -> dict[str, np.ndarray]:
    """``A``'s CSR arrays (column indices shifted by ``col_offset``) under the names ``logp_and_grad`` takes."""
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


# -- nutpie glue: C callbacks that read their arrays through one table of pointers, so that nothing is generated per
# dataset and numba's on-disk cache holds all the code the sampler calls (they are compiled, or loaded from the cache,
# on first use: importing this module costs nothing)

_TABLE = (*INPUTS, "logged")  # the table holds (address, rows, cols) of each


def _logp_callback(dim, x_ptr, grad_ptr, logp_ptr, user_data):
    t = numba.carray(user_data, (3 * 33,), dtype=np.int64)
    a, n, c = t[0::3], t[1::3], t[2::3]  # address, rows, cols of each array in the table (order: _TABLE)
    x = numba.carray(x_ptr, (dim,))
    grad = numba.carray(grad_ptr, (dim,))
    lp = logp_and_grad(
        x, grad, iv(a[0], n[0]), fv(a[1], n[1]), fv(a[2], n[2]), fv(a[3], n[3]), fv(a[4], n[4]),
        fv(a[5], n[5]), fv(a[6], n[6]), fm(a[7], n[7], c[7]), fv(a[8], n[8]), fm(a[9], n[9], c[9]),
        fv(a[10], n[10]), fm(a[11], n[11], c[11]), fv(a[12], n[12]), iv(a[13], n[13]), iv(a[14], n[14]),
        fv(a[15], n[15]), fv(a[16], n[16]), fv(a[17], n[17]), fv(a[18], n[18]), iv(a[19], n[19]),
        iv(a[20], n[20]), fv(a[21], n[21]), fv(a[22], n[22]), iv(a[23], n[23]), iv(a[24], n[24]),
        fv(a[25], n[25]), fv(a[26], n[26]), iv(a[27], n[27]), iv(a[28], n[28]), fv(a[29], n[29]),
        fv(a[30], n[30]), fv(a[31], n[31]),
    )
    return report_logp(lp, grad, numba.carray(logp_ptr, (1,)))


def _expand_callback(dim, n_expanded, x_ptr, out_ptr, user_data):
    t = numba.carray(user_data, (3 * 33,), dtype=np.int64)
    logged = fv(t[3 * 32], t[3 * 32 + 1])
    x = numba.carray(x_ptr, (dim,))
    out = numba.carray(out_ptr, (n_expanded,))
    for k in range(dim):
        out[k] = math.exp(x[k]) if logged[k] > 0 else x[k]
    return 0


@functools.cache
def callbacks():
    """The C callbacks (logp and gradient, expand), compiled on first use or loaded from numba's cache."""
    assert len(_TABLE) == 33
    return (numba.cfunc(numba_kernels.LOGP_SIG, cache=True, error_model="numpy")(_logp_callback),
            numba.cfunc(numba_kernels.EXPAND_SIG, cache=True, error_model="numpy")(_expand_callback))


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
    return numba_kernels.nutpie_model(callbacks(), blocks, centre, keep, pointer_table([keep[name] for name in _TABLE]))
