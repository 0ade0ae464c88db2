"""The capacity model's log density and its gradient, written out in C: the PyMC graph's fast twin.

Why by hand: nutpie samples a PyMC model through numba code that PyTensor generates from the graph, and numba
compiles that code afresh in every process: 25 s for the example's two tiers on 2 cores, every ``make forecast``,
and again for every new structure (number of tiers, configs or points) in a session. The hierarchical USL is a
few dozen scalars and one loop over the load-test points, so it is written out once, with its gradient, in
``capacity_density.c`` (this module builds its arrays and turns the draws into the model's variables): the system's
C compiler builds it on the first fit on a machine (``c_build.py``; numba, used until 2026-11-28, took several
seconds), every later process loads it from the cache in milliseconds, and a gradient of the example costs about 3 µs
(a leapfrog step through the generated code cost about 9).

:func:`bayescap.models.capacity_build.build_model` stays the model's definition. ``tests/test_capacity_density.py``
checks that this density and its gradient equal PyMC's (``model.compile_logp`` / ``compile_dlogp``, Jacobians
included) at random points for each likelihood, with pooled and lone configs, cluster rows and a tier without them,
and that the posterior variables built from x are the graph's; a slow test samples both ways and compares the
posteriors (``sampler_backend="pymc"`` samples the graph itself; it is also the fallback where no C compiler works).

Unconstrained parameter vector ``x``, in the order of :func:`parameter_layout` (the order in which nutpie stores the
graph's free variables):
T values per tier and C per config; the spreads (``*_tau``), ``noise``, ``noise_cluster`` and ``nu`` are sampled as
logs, ``kappa_scaled_config`` and ``kappa_cluster_raw`` in the KinkStretch coordinates, ``sigma_logit_v`` and ``loglam_v``
(a lone config's sigma and lam) in those of :mod:`bayescap.models.usl_coordinates`.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import xarray as xr
from scipy.special import expit

from bayescap import dims
from bayescap.models import c_build, kink_math, nutpie_glue, usl_coordinates
from bayescap.models.nutpie_glue import pointer_table

SOURCE = Path(__file__).with_name("capacity_density.c")

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


@functools.cache
def callbacks() -> tuple[c_build.CFunction, c_build.CFunction]:
    """The C callbacks (logp and gradient, expand), compiled on first use on a machine or loaded from the cache.

    Raises :class:`bayescap.models.c_build.CompilerUnavailable` where no C compiler works.
    """
    library = c_build.load(SOURCE)
    return c_build.function(library, "bayescap_capacity_logp"), c_build.function(library, "bayescap_capacity_expand")


def _table_arrays(lik, obs_f, obs_i, cfg_f, cfg_i, tier_f, pri) -> list[np.ndarray]:
    """The arrays in the order ``capacity_density.c`` reads them (``lik`` as a 1-vector)."""
    return [np.array([int(lik)], dtype=np.int64), obs_f, obs_i, cfg_f, cfg_i, tier_f, pri]


def logp_and_grad(x: np.ndarray, grad: np.ndarray, lik, obs_f, obs_i, cfg_f, cfg_i, tier_f, pri) -> float:
    """Log density at x (unconstrained, :func:`parameter_layout` order) and its gradient, written into ``grad``.

    obs_f rows: throughput y, n, noise reference and its log; obs_i rows: config index, tier index, is_cluster;
    cfg_f rows: pooled, log scale, n_max, stretch, and gamma, n_ref, v_0 and the v flag of usl_coordinates; cfg_i: the config's
    tier; tier_f rows: cluster n_ref, cluster log scale, stretch; pri: the priors in ``PRIOR_ORDER``, the KinkStretch
    width, the density's constant (:func:`log_density_constant`) and usl_coordinates' log knee. ``lik``: 0 Student-t,
    1 normal, 2 lognormal.
    """
    return nutpie_glue.call_logp(callbacks()[0], x, grad, _table_arrays(lik, obs_f, obs_i, cfg_f, cfg_i, tier_f, pri))


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
    keep = _table_arrays(*density_inputs(design, priors, likelihood, stretch))
    blocks = [(name, (size,)) for name, size, _ in parameter_layout(len(design.tiers), len(design.configs), likelihood)]
    return nutpie_glue.nutpie_model(callbacks(), blocks, _centres(design, priors, stretch),
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
