"""The PyMC graph of the traffic model, its compile cache, and the numpy twin of its mean.

Why a compile cache: numba compilation of the log-density costs several seconds, while sampling a
730-day history takes a few. The graph therefore takes every array (data *and* prior scales) as
``pm.Data``, has shapes that depend only on :attr:`TrafficDesign.key`, and the compiled nutpie model
is re-used with ``with_data`` for any history of the same structure (all backtest origins, all
scenarios). The cache holds compiled functions only, never fit results.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from bayescap.models.compile_numba import compile_for_nutpie
from bayescap.models.traffic_design import TrafficDesign
from bayescap.models.traffic_priors import RW_MEDIAN_GAMMA, RW_SHAPE
from bayescap.models.traffic_whiten import LinearBlock, graph_arrays

# priors that enter the PyMC graph as scalars (the others are folded into the arrays of traffic_whiten.graph_arrays;
# the peak-factor priors are used by traffic_peak.py)
GRAPH_PRIORS = (
    "rw_sd_per_knot",
    "lift_sd_scale",
    "competitor_effect_scale",
    "sigma_normal_scale",
    "sigma_event_scale",
    "nu_min",
    "nu_excess_mean",
    "ar_logit_mean",
    "ar_logit_sd",
)
GRAPH_DATA = (
    "y",
    "mask",
    "prev_mask",
    "occ_matrix",
    "slot_type_matrix",
    "slot_free",
    "is_event",
    "competitor",
    "competitor_weight",
)

_CACHE: OrderedDict[tuple, object] = OrderedDict()
_CACHE_SIZE = 8
_LOCK = threading.Lock()


def student_t_logp(x, nu, sigma):
    """Student-t log density (location 0) written out, without PyMC's parameter checks (fewer ops to compile)."""
    z = x / sigma
    return (
        pt.gammaln((nu + 1.0) / 2.0)
        - pt.gammaln(nu / 2.0)
        - 0.5 * pt.log(nu * np.pi)
        - pt.log(sigma)
        - (nu + 1.0) / 2.0 * pt.log1p(z * z / nu)
    )


def build_model(
    design: TrafficDesign,
    priors: dict[str, float],
    block: LinearBlock,
    *,
    ar1: bool,
    noncentred: bool = False,
    arrays: dict[str, np.ndarray] | None = None,
) -> pm.Model:
    """The traffic model for ``design`` (formulas in docs/traffic_model.md).

    log count_t = level_t + weekday_t + yearly_t + sum of occurrence lifts_t - competitor_t + r_t, with
    r_t = phi * r_{t-1} + e_t, e_t ~ StudentT(nu >= nu_min, 0, sigma_normal) on normal days and Normal(0, sigma_event)
    on event days.
    The linear block beta (knots, drift, seasonal coefficients, lift means, occurrence z) is sampled whitened,
    ``beta = shift + chol @ z_lin`` (see :mod:`bayescap.models.traffic_whiten`): the mean, the Gaussian priors and
    the random walk's steps are dense linear maps of z_lin precomputed in numpy. Every array is ``pm.Data`` so one
    compiled model serves any history of the same structure. Derived quantities (knots, lifts) are computed
    afterwards in numpy from beta.
    """
    n_types = max(len(design.event_types), 1)
    if arrays is None:
        arrays = graph_arrays(design, priors, block, noncentred=noncentred)
    with pm.Model() as model:
        # static shapes (they are part of the compile-cache key): no shape checks in the compiled graph
        values = {**{name: design.data[name] for name in GRAPH_DATA}, **arrays}
        d = {name: pm.Data(name, value, shape=np.shape(value)) for name, value in values.items()}
        p = {name: float(priors[name]) for name in GRAPH_PRIORS}  # constants (part of the compile-cache key)

        z = pm.Flat("z_lin", shape=block.size)
        # the random walk's innovation variance rw_sd^2 ~ InverseGamma; the linear block is beta = shift + L w with
        # w = walk_h (lam_hat - lam) / q + z / sqrt(q), q = walk_a + walk_k lam, lam = 1 / rw_var: an exact
        # reparameterisation (Jacobian below) whose z stays round whatever the walk's scale (traffic_whiten.py)
        rw_b = RW_MEDIAN_GAMMA * pt.sqr(p["rw_sd_per_knot"])
        rw_var = pm.InverseGamma("rw_var", alpha=RW_SHAPE, beta=rw_b)
        lam = 1.0 / rw_var
        q = d["walk_a"] + d["walk_k"] * lam
        w = d["walk_h"] * (d["lam_hat"][0] - lam) / q + z / pt.sqrt(q)
        pm.Potential("walk_jacobian", -0.5 * pt.sum(pt.log(q)))
        # Gaussian priors of beta (standard normal raw coefficients, drift, first knot, lift means)
        b0 = d["prior_shift"] + pt.dot(d["prior_mat"], w)
        pm.Potential("linear_prior", -0.5 * pt.sum(d["prior_prec"] * pt.sqr(b0)))
        mu = d["mean_shift"] + pt.dot(d["mean_mat"], w)

        # level: Gaussian random walk with drift on knots (linear in beta, inside mean_mat)
        if noncentred:
            mu = mu + pt.sqrt(rw_var) * (d["rw_shift"] + pt.dot(d["rw_mat"], w))
        else:
            steps = d["walk_shift"] + pt.dot(d["walk_mat"], w)
            n_steps = design.n_knots - 1
            pm.Potential("level_walk", -0.5 * n_steps * pt.log(rw_var) - 0.5 * lam * pt.sum(pt.sqr(steps)))

        # events: occurrence lift = lift_mean[type] (inside mean_mat) + lift_sd[type] * z (partial pooling)
        lift_sd = pm.HalfNormal("lift_sd", sigma=p["lift_sd_scale"], shape=n_types)
        z_occ = d["occ_shift"] + pt.dot(d["occ_mat"], w)
        # slot_free = 0 for single-day occurrences (option single_day_lifts="noise"): their lift is the type's
        # lift_mean and their spread is the event-day noise (the data cannot tell the two apart)
        mu = mu + pt.dot(d["occ_matrix"], pt.dot(d["slot_type_matrix"], lift_sd) * z_occ * d["slot_free"])

        # always in the graph (one compiled model for both options); with no competitor day in the likelihood
        # it is prior-only and left out of the posterior
        comp = pm.HalfNormal("competitor_effect", sigma=p["competitor_effect_scale"])
        mu = mu - comp * d["competitor"] * d["competitor_weight"]

        # noise: Student-t with nu >= nu_min (bounded tails) on normal days, own scale on event days, AR(1) persistence
        sigma_normal = pm.HalfNormal("sigma_normal", sigma=p["sigma_normal_scale"])
        # event days diverge more: their scale is the normal-day scale plus a non-negative excess (this also
        # keeps single-day occurrences, whose lift and noise the data cannot tell apart, out of a funnel)
        sigma_excess = pm.HalfNormal("sigma_event_excess", sigma=p["sigma_event_scale"])
        nu_excess = pm.Exponential("nu_excess", scale=p["nu_excess_mean"])
        nu = p["nu_min"] + nu_excess
        sigma_day = sigma_normal + sigma_excess * d["is_event"]
        resid = d["y"] - mu
        if ar1:
            phi_raw = pm.Normal("phi_raw", 0.0, 1.0)
            phi = pt.sigmoid(p["ar_logit_mean"] + p["ar_logit_sd"] * phi_raw)
            prev = pt.concatenate([pt.zeros(1), resid[:-1]]) * d["prev_mask"]
            resid = resid - phi * prev
        # normal days: Student-t (news spikes); event days: Gaussian (the event is the known shock; its spread
        # across occurrences is in the lifts), so that a rare event type's draws stay bounded
        logp_t = student_t_logp(resid, nu, sigma_day)
        logp_n = -0.5 * np.log(2.0 * np.pi) - pt.log(sigma_day) - 0.5 * pt.sqr(resid / sigma_day)
        pm.Potential("loglik", ((logp_t * (1.0 - d["is_event"]) + logp_n * d["is_event"]) * d["mask"]).sum())
    return model


def compiled_model(design: TrafficDesign, priors: dict[str, float], block: LinearBlock, *, ar1: bool, noncentred: bool = False):
    """A nutpie-compiled model for ``design``'s structure, loaded with ``design``'s data, ``priors`` and ``block``."""
    key = (*design.key, bool(ar1), bool(noncentred), *(float(priors[name]) for name in GRAPH_PRIORS))
    arrays = graph_arrays(design, priors, block, noncentred=noncentred)
    with _LOCK:
        compiled = _CACHE.get(key)
        if compiled is None:
            model = build_model(design, priors, block, ar1=ar1, noncentred=noncentred, arrays=arrays)
            compiled = compile_for_nutpie(model)
            _CACHE[key] = compiled
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
        else:
            _CACHE.move_to_end(key)
    updates = {name: design.data[name] for name in GRAPH_DATA}
    updates.update(arrays)
    known = {var.name for var in compiled.shared_var_keys}
    return compiled.with_data(**{name: value for name, value in updates.items() if name in known})


def clear_compile_cache() -> None:
    """Forget compiled models (benchmarks use it to time a fit that includes compilation)."""
    with _LOCK:
        _CACHE.clear()


