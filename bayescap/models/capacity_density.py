"""The capacity model's log density and its gradient, written out in numba: the PyMC graph's fast twin.

Why by hand: nutpie samples a PyMC model through numba code that PyTensor generates from the graph, and numba
compiles that code afresh in every process: 25 s for the example's two tiers on 2 cores, every ``make forecast``,
and again for every new structure (number of tiers, configs or points) in a session. The hierarchical USL is a
few dozen scalars and one loop over the load-test points, so it is written out here once, with its gradient, and
numba caches the machine code on disk (``cache=True``): the first fit on a new machine compiles it, every later
process loads it in a fraction of a second, and a gradient of the example costs about 3 µs (a leapfrog step through
the generated code cost about 9).

:func:`bayescap.models.capacity_build.build_model` stays the model's definition. ``tests/test_capacity_density.py``
checks that this density and its gradient equal PyMC's (``model.compile_logp`` / ``compile_dlogp``, Jacobians
included) at random points for each likelihood, with pooled and lone configs, cluster rows and a tier without them,
and that the posterior variables built from x are the graph's; a slow test samples both ways and compares the
posteriors (``sampler_backend="pymc"`` samples the graph itself).

Unconstrained parameter vector ``x``, in the order of :func:`parameter_layout` (the order in which nutpie stores the
graph's free variables):
T values per tier and C per config; the spreads (``*_tau``), ``noise``, ``noise_cluster`` and ``nu`` are sampled as
logs, ``kappa_scaled_config`` and ``kappa_cluster_raw`` in the KinkStretch coordinates, ``sigma_logit_v`` and ``loglam_v``
(a lone config's sigma and lam) in those of :mod:`bayescap.models.usl_coordinates`.
"""

from __future__ import annotations

import functools
import math

import numba
import numpy as np
import xarray as xr
from scipy.special import expit

from bayescap import dims
from bayescap.models import kink_math, numba_kernels, usl_coordinates
from bayescap.models.numba_kernels import digamma, fm, fv, iv, pointer_table, report_logp

LIKELIHOOD_CODES = {"student_t": 0, "normal": 1, "lognormal": 2}
PRIOR_ORDER = (
    "loglam_mu_sd", "loglam_tau_mean", "sigma_logit_mu", "sigma_logit_mu_sd", "sigma_logit_tau_mean",
    "kappa_scaled_mu", "kappa_scaled_mu_sd", "kappa_scaled_tau_mean", "tau_shape", "noise_rel_sd", "noise_power",
    "nu_alpha", "nu_beta", "sigma_cluster_logit_mu", "sigma_cluster_logit_sd", "kappa_cluster_scaled_mu",
    "kappa_cluster_scaled_sd", "loglam_cluster_sd",
)  # then the KinkStretch width and the log density's constant
# (name, per "tier" / "config" / "scalar", sampler transform "" / "log" / "kink"), in nutpie's order of the graph's
# free variables (untransformed ones first)
_BLOCKS = (
    ("loglam_mu", "tier", ""), ("loglam_v", "config", ""), ("sigma_logit_mu", "tier", ""),
    ("sigma_logit_v", "config", ""), ("kappa_scaled_mu", "tier", ""), ("sigma_cluster_logit", "tier", ""),
    ("loglam_cluster", "tier", ""), ("loglam_tau", "tier", "log"), ("sigma_logit_tau", "tier", "log"),
    ("kappa_scaled_tau", "tier", "log"), ("kappa_scaled_config", "config", "kink"), ("kappa_cluster_raw", "tier", "kink"),
    ("noise", "config", "log"), ("noise_cluster", "tier", "log"), ("nu", "scalar", "log"),
)
VALUE_SUFFIX = {"": "", "log": "_log__", "kink": "_kinkstretch__"}


def parameter_layout(n_tiers: int, n_configs: int, likelihood: str) -> list[tuple[str, int, str]]:
    """(name, size, transform) of each block of x, in order (``nu`` only with the Student-t likelihood)."""
    size = {"tier": n_tiers, "config": n_configs, "scalar": 1}
    return [(name, size[per], tr) for name, per, tr in _BLOCKS if name != "nu" or likelihood == "student_t"]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _kink(u: float, c: float, e: float) -> tuple[float, float, float, float]:
    """k(u), dk/du, log dk/du and its derivative in u (see ``kink_math``)."""
    a = 0.5 * (1.0 + c)
    b = 0.5 * (1.0 - c)
    r = math.sqrt(u * u + e * e)
    jac = a + b * u / r
    return a * u + b * (r - e), jac, math.log(jac), b * e * e / (r * r * r) / jac


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _invlogit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _sq_normal(x: float, mean: float, inv_sd: float) -> tuple[float, float]:
    """-z^2 / 2 of a Normal with a fixed sd (its constant is in :func:`log_density_constant`) and d/dx."""
    z = (x - mean) * inv_sd
    return -0.5 * z * z, -z * inv_sd


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _pooled(x: float, mean: float, log_tau: float) -> tuple[float, float, float]:
    """log Normal(x | mean, exp(log_tau)) less its -log(2 pi)/2, and its derivatives in x and in log_tau."""
    inv = math.exp(-log_tau)
    z = (x - mean) * inv
    return -log_tau - 0.5 * z * z, -z * inv, z * z - 1.0


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _half_normal_log(u: float, inv_sd: float) -> tuple[float, float, float]:
    """exp(u) ~ HalfNormal: the log density less its constant, with the log transform's Jacobian; d/du; and exp(u)."""
    e = math.exp(u)
    r = e * inv_sd
    return u - 0.5 * r * r, 1.0 - r * r, e


@numba.njit(cache=True, nogil=True, error_model="numpy")
def logp_and_grad(x, grad, lik, obs_f, obs_i, cfg_f, cfg_i, tier_f, pri):
    """Log density at x (unconstrained, :func:`parameter_layout` order) and its gradient, written into ``grad``.

    obs_f rows: throughput y, n, noise reference and its log; obs_i rows: config index, tier index, is_cluster;
    cfg_f rows: pooled, log scale, n_max, stretch, and gamma, n_ref, v_0 and the v flag of usl_coordinates; cfg_i: the config's
    tier; tier_f rows: cluster n_ref, cluster log scale, stretch; pri: the priors in ``PRIOR_ORDER``, the KinkStretch
    width, the density's constant (:func:`log_density_constant`) and usl_coordinates' log knee. ``lik``: 0 Student-t,
    1 normal, 2 lognormal.
    """
    n_t = tier_f.shape[1]
    n_c = cfg_f.shape[1]
    o_lcfg = n_t
    o_smu = n_t + n_c
    o_sz = 2 * n_t + n_c
    o_kmu = 2 * n_t + 2 * n_c
    o_scl, o_llc, o_ltau, o_stau, o_ktau = o_kmu + n_t, o_kmu + 2 * n_t, o_kmu + 3 * n_t, o_kmu + 4 * n_t, o_kmu + 5 * n_t
    o_kcfg = o_kmu + 6 * n_t
    o_kcl = o_kcfg + n_c
    o_noise = o_kcl + n_t
    o_ncl = o_noise + n_c
    o_nu = o_ncl + n_t
    for k in range(grad.shape[0]):
        grad[k] = 0.0
    shape, width = pri[8], pri[18]
    inv_noise_sd = 1.0 / pri[9]
    lp = pri[19]
    # rows: lam, sigma, kappa, eps, log eps, d kappa / d u, the sigma logit's scale (d logit / d its coordinate), then
    # d logp / d (lam, sigma, kappa, eps) summed over the points; per tier (its cluster level) and per config; a
    # config's rows 11-13: d w / d u of the sigma shear, d (log lam's prior) / d log lam, and D(n_ref)
    clus = np.zeros((11, n_t))
    node = np.zeros((14, n_c))

    for t in range(n_t):
        v, d = _sq_normal(x[t], 0.0, 1.0 / pri[0])
        lp += v
        grad[t] += d
        for o, mean in ((o_ltau, pri[1]), (o_stau, pri[4]), (o_ktau, pri[7])):
            e = math.exp(x[o + t])
            lp += shape * x[o + t] - shape / mean * e
            grad[o + t] += shape - shape / mean * e
        v, d = _sq_normal(x[o_smu + t], pri[2], 1.0 / pri[3])
        lp += v
        grad[o_smu + t] += d
        v, d = _sq_normal(x[o_kmu + t], pri[5], 1.0 / pri[6])
        lp += v
        grad[o_kmu + t] += d
        v, d = _sq_normal(x[o_scl + t], pri[13], 1.0 / pri[14])
        lp += v
        grad[o_scl + t] += d
        k, jac, log_jac, dlog_jac = _kink(x[o_kcl + t], tier_f[2, t], width)
        v, d = _sq_normal(k, pri[15], 1.0 / pri[16])
        lp += v + log_jac
        grad[o_kcl + t] += d * jac + dlog_jac
        v, d = _sq_normal(x[o_llc + t], 0.0, 1.0 / pri[17])
        lp += v
        grad[o_llc + t] += d
        log_eps = x[o_ncl + t]
        v, d, eps = _half_normal_log(log_eps, inv_noise_sd)
        lp += v
        grad[o_ncl + t] += d
        ref2 = tier_f[0, t] * tier_f[0, t]
        clus[0, t] = math.exp(tier_f[1, t] + x[o_llc + t])
        clus[1, t] = _invlogit(x[o_scl + t])
        clus[2, t] = k / ref2 if k > 0.0 else 0.0
        clus[3, t] = eps
        clus[4, t] = log_eps
        clus[5, t] = jac / ref2 if k > 0.0 else 0.0

    for j in range(n_c):
        t = cfg_i[j]
        pooled = cfg_f[0, j] > 0.0
        # k, centred, in KinkStretch coordinates
        k, jac, log_jac, dlog_jac = _kink(x[o_kcfg + j], cfg_f[3, j], width)
        if pooled:
            v, d, d_log_tau = _pooled(k, x[o_kmu + t], x[o_ktau + t])
            grad[o_kmu + t] -= d
            grad[o_ktau + t] += d_log_tau
        else:
            v, d = _sq_normal(k, pri[5], 1.0 / pri[6])
        lp += v + log_jac
        grad[o_kcfg + j] += d * jac + dlog_jac
        # logit sigma = mean + scale z, z ~ N(0, 1): z is sampled (non-centred), or for a lone config v (usl_coordinates) with
        # w = v + v_0 - gamma max(k, 0), logit sigma = log c + log softplus(w), and log dz/dv added
        node[11, j] = 0.0
        if cfg_f[7, j] == 0.0:  # z itself (pooled configs, and lone ones with too few levels for v)
            z = x[o_sz + j]
            lp -= 0.5 * z * z
            grad[o_sz + j] -= z
            if pooled:
                node[6, j] = math.exp(x[o_stau + t])
                logit = x[o_smu + t] + node[6, j] * z
            else:
                node[6, j] = pri[3]
                logit = pri[2] + pri[3] * z
        else:
            gamma = cfg_f[4, j]
            w = x[o_sz + j] + cfg_f[6, j] - (gamma * k if k > 0.0 else 0.0)
            dw_du = -gamma * jac if k > 0.0 else 0.0
            sp_pos = w + math.log1p(math.exp(-w)) if w > 0.0 else math.log1p(math.exp(w))  # softplus(w)
            sp_neg = sp_pos - w  # softplus(-w)
            sg = math.exp(-sp_neg)  # sigmoid(w)
            logit = pri[20] + math.log(sp_pos)
            z = (logit - pri[2]) / pri[3]
            lp += -0.5 * z * z - sp_neg - math.log(sp_pos)
            g_w = -z * sg / (sp_pos * pri[3]) + (1.0 - sg) - sg / sp_pos
            grad[o_sz + j] += g_w
            grad[o_kcfg + j] += g_w * dw_du
            node[6, j] = sg / sp_pos  # d logit / d v
            node[11, j] = dw_du
        # log lam, centred; sampled as log lam - log D(n_ref) where n_ref > 0 (log of X(n_ref) / n_ref)
        sig_j = _invlogit(logit)
        kap_j = k / (cfg_f[2, j] * cfg_f[2, j]) if k > 0.0 else 0.0
        n_ref = cfg_f[5, j]
        log_lam = x[o_lcfg + j]
        node[13, j] = 0.0
        if n_ref > 0.0:
            d_ref = 1.0 + sig_j * (n_ref - 1.0) + kap_j * n_ref * (n_ref - 1.0)
            log_lam += math.log(d_ref)
            node[13, j] = d_ref
        if pooled:
            v, d, d_log_tau = _pooled(log_lam, x[t], x[o_ltau + t])
            grad[t] -= d
            grad[o_ltau + t] += d_log_tau
        else:
            v, d = _sq_normal(log_lam, 0.0, 1.0 / pri[0])
        lp += v
        node[12, j] = d
        log_eps = x[o_noise + j]
        v, d, eps = _half_normal_log(log_eps, inv_noise_sd)
        lp += v
        grad[o_noise + j] += d
        nmax2 = cfg_f[2, j] * cfg_f[2, j]
        node[0, j] = math.exp(cfg_f[1, j] + log_lam)
        node[1, j] = sig_j
        node[2, j] = kap_j
        node[3, j] = eps
        node[4, j] = log_eps
        node[5, j] = jac / nmax2 if k > 0.0 else 0.0

    nu = 1.0
    const = 0.0
    dconst = 0.0
    if lik == 0:
        nu = math.exp(x[o_nu])
        lp += pri[11] * x[o_nu] - pri[12] * nu
        grad[o_nu] += pri[11] - pri[12] * nu
        const = math.lgamma(0.5 * (nu + 1.0)) - math.lgamma(0.5 * nu) - 0.5 * math.log(math.pi * nu)
        dconst = 0.5 * (digamma(0.5 * (nu + 1.0)) - digamma(0.5 * nu)) - 0.5 / nu

    # the load-test points
    g_nu = 0.0
    power = pri[10]
    for i in range(obs_f.shape[1]):
        y, n, ref, log_ref = obs_f[0, i], obs_f[1, i], obs_f[2, i], obs_f[3, i]
        m = obs_i[1, i] if obs_i[2, i] != 0 else obs_i[0, i]
        work = clus if obs_i[2, i] != 0 else node
        lam, sig, kap, eps, log_eps = work[0, m], work[1, m], work[2, m], work[3, m], work[4, m]
        den = 1.0 + sig * (n - 1.0) + kap * n * (n - 1.0)
        mu = lam * n / den
        if lik == 2:
            r = (math.log(y) - math.log(mu)) / eps
            lp += -log_eps - 0.5 * r * r
            g_mu = r / (eps * mu)
            g_eps = (r * r - 1.0) / eps
        else:
            if power == 0.0:
                scale = eps * ref
                log_scale = log_eps + log_ref
            else:
                log_scale = log_eps + log_ref + power * (math.log(mu) - log_ref)
                scale = math.exp(log_scale)
            r = (y - mu) / scale
            if lik == 1:
                lp += -log_scale - 0.5 * r * r
                g_direct = r / scale
                g_scale = (r * r - 1.0) / scale
            else:
                q = nu + r * r
                log_term = math.log1p(r * r / nu)
                lp += const - log_scale - 0.5 * (nu + 1.0) * log_term
                w = (nu + 1.0) * r / q
                g_direct = w / scale
                g_scale = (w * r - 1.0) / scale
                g_nu += dconst - 0.5 * log_term + 0.5 * w * r / nu
            g_mu = g_direct + g_scale * power * scale / mu
            g_eps = g_scale * scale / eps
        g_den = g_mu * mu / den
        work[7, m] += g_mu * n / den
        work[8, m] -= g_den * (n - 1.0)
        work[9, m] -= g_den * n * (n - 1.0)
        work[10, m] += g_eps

    # chain rule back to the sampler's coordinates
    for t in range(n_t):
        grad[o_llc + t] += clus[7, t] * clus[0, t]
        grad[o_scl + t] += clus[8, t] * clus[1, t] * (1.0 - clus[1, t])
        grad[o_kcl + t] += clus[9, t] * clus[5, t]
        grad[o_ncl + t] += clus[10, t] * clus[3, t]
    for j in range(n_c):
        t = cfg_i[j]
        g_loglam = node[12, j] + node[7, j] * node[0, j]
        grad[o_lcfg + j] += g_loglam
        n_ref = cfg_f[5, j]
        if n_ref > 0.0:
            node[8, j] += g_loglam * (n_ref - 1.0) / node[13, j]
            node[9, j] += g_loglam * n_ref * (n_ref - 1.0) / node[13, j]
        g_logit = node[8, j] * node[1, j] * (1.0 - node[1, j])
        grad[o_sz + j] += g_logit * node[6, j]
        grad[o_kcfg + j] += g_logit * node[6, j] * node[11, j]
        if cfg_f[0, j] > 0.0:
            grad[o_smu + t] += g_logit
            grad[o_stau + t] += g_logit * x[o_sz + j] * node[6, j]
        grad[o_kcfg + j] += node[9, j] * node[5, j]
        grad[o_noise + j] += node[10, j] * node[3, j]
    if lik == 0:
        grad[o_nu] += g_nu * nu
    return lp


def log_density_constant(design, priors: dict, likelihood: str) -> float:
    """The terms of the log density that no parameter moves (normalising constants), added once per evaluation."""
    p = priors
    n_t, n_c = len(design.tiers), len(design.configs)
    h = 0.5 * math.log(2.0 * math.pi)
    shape = p["tau_shape"]
    per_tier = (
        -h - math.log(p["loglam_mu_sd"]) - h - math.log(p["sigma_logit_mu_sd"]) - h - math.log(p["kappa_scaled_mu_sd"])
        - h - math.log(p["sigma_cluster_logit_sd"]) - h - math.log(p["kappa_cluster_scaled_sd"])
        - h - math.log(p["loglam_cluster_sd"]) + math.log(2.0) - h - math.log(p["noise_rel_sd"])
        + sum(shape * math.log(shape / p[key]) - math.lgamma(shape)
              for key in ("loglam_tau_mean", "sigma_logit_tau_mean", "kappa_scaled_tau_mean"))
    )
    pooled = design.arrays["cfg_pooled"] > 0
    per_config = np.where(pooled, -h, -h - math.log(p["loglam_mu_sd"]))  # log lam
    odds = design.arrays["cfg_sigma_odds"] > 0
    per_config = per_config - h - np.where(odds, math.log(p["sigma_logit_mu_sd"]), 0.0)  # z, and log dz/dv's constant
    per_config = per_config + np.where(pooled, -h, -h - math.log(p["kappa_scaled_mu_sd"]))  # k
    per_config = per_config + math.log(2.0) - h - math.log(p["noise_rel_sd"])
    total = n_t * per_tier + float(per_config.sum())
    if likelihood == "student_t":
        total += p["nu_alpha"] * math.log(p["nu_beta"]) - math.lgamma(p["nu_alpha"])
    elif likelihood == "normal":
        total -= h * design.n_obs
    else:
        total -= h * design.n_obs + float(np.log(design.arrays["y"]).sum())
    return float(total)


def density_inputs(design, priors: dict, likelihood: str, cluster_stretch: np.ndarray) -> tuple:
    """The arrays :func:`logp_and_grad` takes after ``x, grad``, from a :class:`CapacityDesign`."""
    a = design.arrays
    obs_f = np.ascontiguousarray(np.vstack([a["y"], a["n"], a["noise_ref"], np.log(a["noise_ref"])]), dtype=np.float64)
    obs_i = np.ascontiguousarray(np.vstack([a["cfg_idx"], a["tier_idx"], a["is_cluster"]]), dtype=np.int64)
    n_c = len(design.configs)
    cfg_f = np.ascontiguousarray(
        np.vstack([a["cfg_pooled"], a["cfg_log_scale"], a["cfg_n_max"], np.full(n_c, kink_math.DEFAULT_STRETCH),
                   a["cfg_sigma_shear"], a["cfg_lam_ref"], a["cfg_sigma_offset"], a["cfg_sigma_odds"]]).reshape(8, n_c),
        dtype=np.float64,
    )
    cfg_i = np.ascontiguousarray(a["cfg_tier_idx"], dtype=np.int64)
    tier_f = np.ascontiguousarray(np.vstack([a["cluster_n_ref"], a["cluster_log_scale"], cluster_stretch]), dtype=np.float64)
    constant = log_density_constant(design, priors, likelihood)
    pri = np.array([float(priors[k]) for k in PRIOR_ORDER] + [kink_math.DEFAULT_WIDTH, constant, usl_coordinates.LOG_KNEE],
                   dtype=np.float64)
    return (np.int64(LIKELIHOOD_CODES[likelihood]), obs_f, obs_i, cfg_f, cfg_i, tier_f, pri)


def cluster_stretch(design) -> np.ndarray:
    """KinkStretch's c of each tier's k': the default where cluster rows reach it, 1 (identity) where only the prior does."""
    return np.where(design.tier_has_cluster_rows, kink_math.DEFAULT_STRETCH, 1.0).astype(np.float64)


# -- nutpie glue (as in traffic_density): C callbacks reading their arrays through a table of pointers

_N_TABLE = 7  # lik (as a 1-vector), obs_f, obs_i, cfg_f, cfg_i, tier_f, pri


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _im(address, rows, cols):
    """The C-ordered int64 matrix of ``rows`` x ``cols`` at ``address``."""
    return iv(address, rows * cols).reshape((rows, cols))


def _logp_callback(dim, x_ptr, grad_ptr, logp_ptr, user_data):
    t = numba.carray(user_data, (3 * _N_TABLE,), dtype=np.int64)
    a, n, c = t[0::3], t[1::3], t[2::3]
    x = numba.carray(x_ptr, (dim,))
    grad = numba.carray(grad_ptr, (dim,))
    lik = iv(a[0], n[0])[0]
    lp = logp_and_grad(x, grad, lik, fm(a[1], n[1], c[1]), _im(a[2], n[2], c[2]), fm(a[3], n[3], c[3]), iv(a[4], n[4]),
                       fm(a[5], n[5], c[5]), fv(a[6], n[6]))
    return report_logp(lp, grad, numba.carray(logp_ptr, (1,)))


def _expand_callback(dim, n_expanded, x_ptr, out_ptr, user_data):
    # the sampler's coordinates as they are: posterior_dataset turns them into the model's variables afterwards
    x = numba.carray(x_ptr, (dim,))
    out = numba.carray(out_ptr, (n_expanded,))
    for k in range(dim):
        out[k] = x[k]
    return 0


@functools.cache
def callbacks():
    """The C callbacks (logp and gradient, expand), compiled on first use or loaded from numba's cache."""
    return (numba.cfunc(numba_kernels.LOGP_SIG, cache=True, error_model="numpy")(_logp_callback),
            numba.cfunc(numba_kernels.EXPAND_SIG, cache=True, error_model="numpy")(_expand_callback))


def _centres(design, priors: dict, stretch: np.ndarray) -> dict[str, np.ndarray]:
    """The prior's central point in the sampler's coordinates (PyMC's initial point before its jitter)."""
    n_t, n_c = len(design.tiers), len(design.configs)
    k_cfg = np.full(n_c, float(priors["kappa_scaled_mu"]))
    return {
        "sigma_logit_mu": np.full(n_t, float(priors["sigma_logit_mu"])),
        "kappa_scaled_mu": np.full(n_t, float(priors["kappa_scaled_mu"])),
        "sigma_cluster_logit": np.full(n_t, float(priors["sigma_cluster_logit_mu"])),
        "loglam_tau": np.full(n_t, np.log(float(priors["loglam_tau_mean"]))),
        "sigma_logit_tau": np.full(n_t, np.log(float(priors["sigma_logit_tau_mean"]))),
        "kappa_scaled_tau": np.full(n_t, np.log(float(priors["kappa_scaled_tau_mean"]))),
        "kappa_scaled_config": kink_math.forward(k_cfg, kink_math.DEFAULT_STRETCH),
        "kappa_cluster_raw": kink_math.forward(np.full(n_t, float(priors["kappa_cluster_scaled_mu"])), stretch),
        "noise": np.full(n_c, np.log(float(priors["noise_rel_sd"]))),
        "noise_cluster": np.full(n_t, np.log(float(priors["noise_rel_sd"]))),
        "nu": np.full(1, np.log(float(priors["nu_alpha"]) / float(priors["nu_beta"]))),
    }


def nutpie_model(design, priors: dict, likelihood: str):
    """A nutpie model sampling this density through the cached C callbacks (no code generation, no GIL).

    Chains start as PyMC's would: at the prior's centre, jittered by uniform(-1, 1) in the sampler's coordinates.
    """
    stretch = cluster_stretch(design)
    lik, *arrays = density_inputs(design, priors, likelihood, stretch)
    keep = [np.array([lik], dtype=np.int64), *arrays]
    blocks = [(name, (size,)) for name, size, _ in parameter_layout(len(design.tiers), len(design.configs), likelihood)]
    return numba_kernels.nutpie_model(callbacks(), blocks, _centres(design, priors, stretch),
                                      dict(enumerate(keep)), pointer_table(keep))


def posterior_dataset(raw: xr.Dataset, design, priors: dict, likelihood: str) -> xr.Dataset:
    """nutpie's draws of x (one variable per block) -> the PyMC graph's posterior variables, with the same names and dims.

    The free variables on their own scale, then the deterministics (``lam``, ``sigma_logit_config``, ``sigma``,
    ``kappa_scaled``, ``kappa``, ``sigma_cluster``, ``kappa_cluster``, ``lam_cluster``), as ``build_model`` defines them.
    """
    a = design.arrays
    sample = (dims.CHAIN, dims.DRAW)
    per_dim = {"tier": dims.TIER, "config": dims.CONFIG}
    kinds = {name: (per, tr) for name, per, tr in _BLOCKS}
    out: dict[str, xr.DataArray] = {}
    for name, _, tr in parameter_layout(len(design.tiers), len(design.configs), likelihood):
        per = kinds[name][0]
        value = raw[name]
        values = value.values.reshape(value.shape[0], value.shape[1], -1)
        if per == "scalar":
            values = values[..., 0]
        if tr == "log":
            values = np.exp(values)
        elif tr == "kink":
            stretch = kink_math.DEFAULT_STRETCH if per == "config" else cluster_stretch(design)
            values = kink_math.backward(values, stretch)
        out[name] = xr.DataArray(values, dims=sample if per == "scalar" else (*sample, per_dim[per]))
    coords = {dims.CHAIN: raw[dims.CHAIN].values, dims.DRAW: raw[dims.DRAW].values}
    ct = a["cfg_tier_idx"]
    pooled = a["cfg_pooled"] > 0
    cfg = (*sample, dims.CONFIG)
    tier = (*sample, dims.TIER)
    loc = np.where(pooled, out["sigma_logit_mu"].values[..., ct], priors["sigma_logit_mu"])
    scale = np.where(pooled, out["sigma_logit_tau"].values[..., ct], priors["sigma_logit_mu_sd"])
    kappa_scaled = np.maximum(out["kappa_scaled_config"].values, 0.0)
    v = out["sigma_logit_v"].values
    z_lone = usl_coordinates.z_of(v, kappa_scaled, a["cfg_sigma_shear"], a["cfg_sigma_offset"],
                                  priors["sigma_logit_mu"], priors["sigma_logit_mu_sd"])
    z = np.where(a["cfg_sigma_odds"] > 0, z_lone, v)
    sigma_logit = loc + scale * z
    loglam = out["loglam_v"].values + usl_coordinates.log_denominator(
        expit(sigma_logit), kappa_scaled / a["cfg_n_max"] ** 2, a["cfg_lam_ref"])
    kc = np.maximum(out["kappa_cluster_raw"].values, 0.0)
    out.update(
        {
            "loglam_config": xr.DataArray(loglam, dims=cfg),
            "lam": xr.DataArray(np.exp(a["cfg_log_scale"] + loglam), dims=cfg),
            "sigma_logit_z": xr.DataArray(z, dims=cfg),
            "sigma_logit_config": xr.DataArray(sigma_logit, dims=cfg),
            "sigma": xr.DataArray(expit(sigma_logit), dims=cfg),
            "kappa_scaled": xr.DataArray(kappa_scaled, dims=cfg),
            "kappa": xr.DataArray(kappa_scaled / a["cfg_n_max"] ** 2, dims=cfg),
            "sigma_cluster": xr.DataArray(expit(out["sigma_cluster_logit"].values), dims=tier),
            "kappa_cluster": xr.DataArray(kc / a["cluster_n_ref"] ** 2, dims=tier),
            "lam_cluster": xr.DataArray(np.exp(a["cluster_log_scale"] + out["loglam_cluster"].values), dims=tier),
        }
    )
    return xr.Dataset(out, coords=coords, attrs=dict(raw.attrs))
