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

from bayescap.models.traffic_design import DAYS_PER_YEAR, TrafficDesign

# priors that enter the PyMC graph (the peak-factor priors are used by traffic_peak.py)
GRAPH_PRIORS = (
    "level_sd",
    "drift_per_year_sd",
    "rw_sd_per_knot",
    "weekday_sd",
    "weekday_yearly_sd",
    "yearly_sd",
    "lift_mean_mu",
    "lift_mean_sd",
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
    "knot_matrix",
    "weekday_matrix",
    "fourier",
    "weekday_yearly",
    "occ_matrix",
    "type_matrix",
    "slot_type_matrix",
    "slot_free",
    "is_event",
    "competitor",
    "competitor_weight",
    "y_center",
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


def build_model(design: TrafficDesign, priors: dict[str, float], *, ar1: bool, noncentred: bool = False) -> pm.Model:
    """The traffic model for ``design`` (formulas in docs/traffic_model.md).

    log count_t = level_t + weekday_t + yearly_t + sum of occurrence lifts_t - competitor_t + r_t, with
    r_t = phi * r_{t-1} + e_t and e_t ~ StudentT(nu >= nu_min, 0, sigma_normal or sigma_event).
    All coefficients are non-centred; every array is ``pm.Data`` so one compiled model serves any
    history of the same structure. Derived quantities (knots, lifts) are computed afterwards in numpy.
    """
    n_types = max(len(design.event_types), 1)
    with pm.Model() as model:
        d = {name: pm.Data(name, design.data[name]) for name in GRAPH_DATA}
        p = {name: pm.Data(f"prior_{name}", np.asarray(float(priors[name]))) for name in GRAPH_PRIORS}

        # level: Gaussian random walk with drift on knots, linearly interpolated to days. Centred when the data
        # pin each knot down (a level that moves: the non-centred form then mixes badly, ESS < 50 in trials),
        # non-centred when the level barely moves (the centred form then sits in a funnel at rw_sd -> 0).
        drift = pm.Normal("drift_raw", 0.0, 1.0)
        # zero-avoiding Gamma(2) prior with mean rw_sd_per_knot
        rw_sd = pm.Gamma("rw_sd", alpha=2.0, beta=2.0 / p["rw_sd_per_knot"])
        step_mean = p["drift_per_year_sd"] * drift * (design.knot_spacing / DAYS_PER_YEAR)
        if noncentred:
            level0 = pm.Normal("level0_raw", 0.0, 1.0)
            z_rw = pm.Normal("z_rw", 0.0, 1.0, shape=design.n_knots - 1)
            walk = pt.concatenate([pt.zeros(1), pt.cumsum(step_mean + rw_sd * z_rw)])
            knots = d["y_center"] + p["level_sd"] * level0 + walk
        else:
            knots = d["y_center"] + pm.Flat("knots_dev", shape=design.n_knots)  # starts at the median log count
            pm.Potential("level_start", pm.logp(pm.Normal.dist(d["y_center"], p["level_sd"]), knots[0]))
            pm.Potential("level_walk", pm.logp(pm.Normal.dist(step_mean, rw_sd), knots[1:] - knots[:-1]).sum())
        mu = pt.dot(d["knot_matrix"], knots)

        # seasonality: 6 free weekday effects (Sunday = minus their sum) and yearly Fourier terms
        weekday_raw = pm.Normal("weekday_raw", 0.0, 1.0, shape=6)
        mu = mu + p["weekday_sd"] * pt.dot(d["weekday_matrix"], weekday_raw)
        if design.fourier_order > 0:
            yearly_raw = pm.Normal("yearly_raw", 0.0, 1.0, shape=2 * design.fourier_order)
            mu = mu + p["yearly_sd"] * pt.dot(d["fourier"], yearly_raw)
        if design.weekday_yearly_order > 0:
            wy_raw = pm.Normal("weekday_yearly_raw", 0.0, 1.0, shape=12 * design.weekday_yearly_order)
            mu = mu + p["weekday_yearly_sd"] * pt.dot(d["weekday_yearly"], wy_raw)

        # events: occurrence lift = lift_mean[type] + lift_sd[type] * z (partial pooling within a type)
        lift_mean = pm.Normal("lift_mean", p["lift_mean_mu"], p["lift_mean_sd"], shape=n_types)
        lift_sd = pm.HalfNormal("lift_sd", sigma=p["lift_sd_scale"], shape=n_types)
        z_occ = pm.Normal("z_occ", 0.0, 1.0, shape=design.n_slots)
        mu = mu + pt.dot(d["type_matrix"], lift_mean)
        # slot_free = 0 for single-day occurrences (option single_day_lifts="noise"): their lift is the type's
        # lift_mean and their spread is the event-day noise (the data cannot tell the two apart)
        mu = mu + pt.dot(d["occ_matrix"], pt.dot(d["slot_type_matrix"], lift_sd) * z_occ * d["slot_free"])

        # always in the graph (one compiled model for both options); with no competitor day in the likelihood
        # it is prior-only and left out of the posterior
        comp = pm.HalfNormal("competitor_effect", sigma=p["competitor_effect_scale"])
        mu = mu - comp * d["competitor"] * d["competitor_weight"]

        # noise: Student-t with nu >= nu_min (bounded tails), own scale on event days, AR(1) persistence
        sigma_normal = pm.HalfNormal("sigma_normal", sigma=p["sigma_normal_scale"])
        # event days diverge more: their scale is the normal-day scale plus a non-negative excess (this also
        # keeps single-day occurrences, whose lift and noise the data cannot tell apart, out of a funnel)
        sigma_excess = pm.HalfNormal("sigma_event_excess", sigma=p["sigma_event_scale"])
        sigma_event = sigma_normal + sigma_excess
        nu_excess = pm.Exponential("nu_excess", scale=p["nu_excess_mean"])
        nu = p["nu_min"] + nu_excess
        sigma_day = sigma_normal + (sigma_event - sigma_normal) * d["is_event"]
        resid = d["y"] - mu
        if ar1:
            phi_raw = pm.Normal("phi_raw", 0.0, 1.0)
            phi = pt.sigmoid(p["ar_logit_mean"] + p["ar_logit_sd"] * phi_raw)
            prev = pt.concatenate([pt.zeros(1), resid[:-1]]) * d["prev_mask"]
            resid = resid - phi * prev
        pm.Potential("loglik", (student_t_logp(resid, nu, sigma_day) * d["mask"]).sum())
    return model


def compiled_model(design: TrafficDesign, priors: dict[str, float], *, ar1: bool, noncentred: bool = False):
    """A nutpie-compiled model for ``design``'s structure, loaded with ``design``'s data and ``priors``."""
    import nutpie

    key = (*design.key, bool(ar1), bool(noncentred))
    with _LOCK:
        compiled = _CACHE.get(key)
        if compiled is None:
            model = build_model(design, priors, ar1=ar1, noncentred=noncentred)
            compiled = nutpie.compile_pymc_model(model, backend="numba")
            _CACHE[key] = compiled
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
        else:
            _CACHE.move_to_end(key)
    updates = {name: design.data[name] for name in GRAPH_DATA}
    updates.update({f"prior_{name}": np.asarray(float(priors[name])) for name in GRAPH_PRIORS})
    known = {var.name for var in compiled.shared_var_keys}
    return compiled.with_data(**{name: value for name, value in updates.items() if name in known})


def clear_compile_cache() -> None:
    """Forget compiled models (benchmarks use it to time a fit that includes compilation)."""
    with _LOCK:
        _CACHE.clear()


