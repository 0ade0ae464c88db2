"""Build, compile and sample the hierarchical USL model (the only PyMC code of the capacity model).

Model (per configuration j of tier t, node level; see docs/capacity_model.md)::

    X_j(N)          = lam_j N / (1 + sigma_j (N - 1) + kappa_j N (N - 1))
    log(lam_j/s_t)  ~ N(a_t, tau_a,t)                  (centred)
    logit(sigma_j)  = b_t + tau_b,t * z_j              (non-centred)
    k_j             ~ N(c_t, tau_c,t);   kappa_j = max(k_j, 0) / n_max,j^2   (centred, sampled as u: KinkStretch)
    tau ~ Gamma(tau_shape, tau_shape / mean); a lone config in its tier takes the tier mean's prior directly
    (and its sigma and lam are sampled in the coordinates of ``usl_coordinates``: an exact change of variables)
    y_i ~ StudentT(nu, X_j(N_i), eps_j * ybar_j * (X_j(N_i) / ybar_j)^p)

and per tier at the cluster level, with nodes m behind a proxy,
``X(m) = lam'_t m / (1 + sigma'_t (m - 1) + kappa'_t m (m - 1))``.

Every number that comes from the data is a ``pm.Data`` container, so one
compiled model can be re-used for new data of the same shape
(``compiled.with_data(**design.arrays)``).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import xarray as xr
from scipy import stats

from bayescap import dims, usl
from bayescap.errors import ModelError
from bayescap.models import usl_coordinates
from bayescap.models.capacity_data import CapacityDesign
from bayescap.models.compile_numba import compile_for_nutpie

LIKELIHOODS = ("student_t", "normal", "lognormal")
DEFAULT_LIKELIHOOD = "student_t"
OBSERVED = "throughput"


def build_model(design: CapacityDesign, priors: dict[str, float], likelihood: str = DEFAULT_LIKELIHOOD):
    """Return the ``pm.Model`` of the hierarchical USL for this design (nothing is compiled)."""
    import pymc as pm
    import pytensor.tensor as pt

    from bayescap.models.kink_stretch import DEFAULT_STRETCH, KinkStretch

    if likelihood not in LIKELIHOODS:
        raise ModelError(f"unknown capacity likelihood {likelihood!r}; choose one of {LIKELIHOODS}")
    p = priors
    coords = {dims.TIER: list(design.tiers), dims.CONFIG: list(design.configs), dims.OBS: np.arange(design.n_obs)}
    with pm.Model(coords=coords) as model:
        d = {k: pm.Data(k, v) for k, v in design.arrays.items()}
        ct = d["cfg_tier_idx"]
        # Partial pooling: a config's parameter ~ Normal(tier mean, tier spread). lam and kappa are pinned
        # well by load tests, so they are centred: the non-centred form (mean + tau * z, with the sum fixed
        # by the data) is a thin curved ridge that NUTS crosses with 2^8-step trees. sigma is often weakly
        # identified (near 0, little curvature before the peak), so it is non-centred: the centred form
        # then has a funnel and diverges (tried on the NGINX table). A lone config in its tier (pool = 0)
        # has no spread to learn: it takes the marginal prior of the tier mean (tau and z drop out), and its sigma
        # and lam are sampled in the coordinates of usl_coordinates, which straighten the ridges of one curve.
        pool = d["cfg_pooled"]

        # k below 0 is flat in the likelihood (kappa = 0) and wide; above 0 the data push back within ~0.1.
        # KinkStretch samples k in coordinates that compress the flat side (an exact change of variables).
        loc, scale = tier_prior(p, "kappa_scaled", p["kappa_scaled_mu"], p["kappa_scaled_mu_sd"],
                                p["kappa_scaled_tau_mean"], pool, ct)
        kappa_k = pm.Normal("kappa_scaled_config", loc, scale, dims=dims.CONFIG, transform=KinkStretch())
        kappa_scaled = pm.Deterministic("kappa_scaled", pt.maximum(kappa_k, 0.0), dims=dims.CONFIG)
        kappa = pm.Deterministic("kappa", kappa_scaled / d["cfg_n_max"] ** 2, dims=dims.CONFIG)
        sigma_logit = sigma_level(
            p, pool, ct, kappa_scaled, d["cfg_sigma_odds"], d["cfg_sigma_shear"], d["cfg_sigma_offset"]
        )
        sigma = pm.Deterministic("sigma", pm.math.invlogit(sigma_logit), dims=dims.CONFIG)
        loglam = lam_level(p, pool, ct, sigma, kappa, d["cfg_lam_ref"])
        lam = pm.Deterministic("lam", pt.exp(d["cfg_log_scale"] + loglam), dims=dims.CONFIG)

        sc_logit = pm.Normal("sigma_cluster_logit", p["sigma_cluster_logit_mu"], p["sigma_cluster_logit_sd"], dims=dims.TIER)
        sigma_cluster = pm.Deterministic("sigma_cluster", pm.math.invlogit(sc_logit), dims=dims.TIER)
        # the same coordinates where cluster rows reach k'; a prior-only k' is a plain Normal (stretch 1 = identity)
        cluster_stretch = np.where(design.tier_has_cluster_rows, DEFAULT_STRETCH, 1.0)
        kc_raw = pm.Normal(
            "kappa_cluster_raw",
            p["kappa_cluster_scaled_mu"],
            p["kappa_cluster_scaled_sd"],
            dims=dims.TIER,
            transform=KinkStretch(cluster_stretch),
        )
        kappa_cluster = pm.Deterministic("kappa_cluster", pt.maximum(kc_raw, 0.0) / d["cluster_n_ref"] ** 2, dims=dims.TIER)
        loglam_cluster = pm.Normal("loglam_cluster", 0.0, p["loglam_cluster_sd"], dims=dims.TIER)
        lam_cluster = pm.Deterministic("lam_cluster", pt.exp(d["cluster_log_scale"] + loglam_cluster), dims=dims.TIER)

        eps = pm.HalfNormal("noise", p["noise_rel_sd"], dims=dims.CONFIG)
        eps_cluster = pm.HalfNormal("noise_cluster", p["noise_rel_sd"], dims=dims.TIER)

        cl = d["is_cluster"]
        ci, ti, n = d["cfg_idx"], d["tier_idx"], d["n"]
        s_pt = pt.switch(cl, sigma_cluster[ti], sigma[ci])
        k_pt = pt.switch(cl, kappa_cluster[ti], kappa[ci])
        l_pt = pt.switch(cl, lam_cluster[ti], lam[ci])
        e_pt = pt.switch(cl, eps_cluster[ti], eps[ci])
        mu = l_pt * n / (1.0 + s_pt * (n - 1.0) + k_pt * n * (n - 1.0))
        if likelihood == "lognormal":
            pm.LogNormal(OBSERVED, mu=pt.log(mu), sigma=e_pt, observed=d["y"], dims=dims.OBS)
        else:
            ref = d["noise_ref"]
            scale = e_pt * ref * (mu / ref) ** p["noise_power"]
            if likelihood == "normal":
                pm.Normal(OBSERVED, mu=mu, sigma=scale, observed=d["y"], dims=dims.OBS)
            else:
                nu = pm.Gamma("nu", p["nu_alpha"], p["nu_beta"])
                pm.StudentT(OBSERVED, nu=nu, mu=mu, sigma=scale, observed=d["y"], dims=dims.OBS)
    return model


def tier_prior(p: dict[str, float], name: str, centre: float, mu_sd: float, tau_mean: float, pool, ct):
    """The tier mean ``<name>_mu`` ~ Normal(centre, mu_sd) and spread ``<name>_tau`` ~ Gamma(tau_shape, tau_shape /
    tau_mean); returns each config's (loc, scale): its tier's for a pooled config, the tier mean's prior for a lone one."""
    import pymc as pm
    import pytensor.tensor as pt

    mu = pm.Normal(f"{name}_mu", centre, mu_sd, dims=dims.TIER)
    tau = pm.Gamma(f"{name}_tau", alpha=p["tau_shape"], beta=p["tau_shape"] / tau_mean, dims=dims.TIER)
    return pt.switch(pool, mu[ct], centre), pt.switch(pool, tau[ct], mu_sd)


def sigma_level(p: dict[str, float], pool, ct, kappa_scaled, odds, gamma, offset):
    """logit(sigma_j) = b_t + tau_b,t z_j (non-centred); a lone config, b and tau fixed at the prior's, is sampled in the
    coordinates of :mod:`bayescap.models.usl_coordinates` where ``odds`` (free variable ``sigma_logit_v``; elsewhere v = z)."""
    import pymc as pm
    import pytensor.tensor as pt

    centre, mu_sd = p["sigma_logit_mu"], p["sigma_logit_mu_sd"]
    loc, scale = tier_prior(p, "sigma_logit", centre, mu_sd, p["sigma_logit_tau_mean"], pool, ct)
    v = pm.Flat("sigma_logit_v", dims=dims.CONFIG)
    w = v + offset - gamma * kappa_scaled
    z_lone = (usl_coordinates.LOG_KNEE + pt.log(pt.softplus(w)) - centre) / mu_sd
    log_jac = -pt.softplus(-w) - pt.log(pt.softplus(w)) - np.log(mu_sd)
    z = pm.Deterministic("sigma_logit_z", pt.switch(odds, z_lone, v), dims=dims.CONFIG)
    log_prior = -0.5 * pt.sqr(z) - 0.5 * np.log(2.0 * np.pi) + pt.switch(odds, log_jac, 0.0)
    pm.Potential("sigma_logit_z_prior", pt.sum(log_prior))
    return pm.Deterministic("sigma_logit_config", loc + scale * z, dims=dims.CONFIG)


def lam_level(p: dict[str, float], pool, ct, sigma, kappa, n_ref):
    """log(lam_j / s_t) ~ Normal(a_t, tau_a,t) (centred; a lone config: the tier mean's prior), sampled as
    ``loglam_v`` = log(lam / s) - log D(n_ref) (:mod:`bayescap.models.usl_coordinates`; pooled configs: n_ref = 0,
    so loglam_v = log(lam / s))."""
    import pymc as pm
    import pytensor.tensor as pt

    loc, scale = tier_prior(p, "loglam", 0.0, p["loglam_mu_sd"], p["loglam_tau_mean"], pool, ct)
    v = pm.Flat("loglam_v", dims=dims.CONFIG)
    den = 1.0 + sigma * (n_ref - 1.0) + kappa * n_ref * (n_ref - 1.0)
    loglam = pm.Deterministic(
        "loglam_config", v + pt.switch(n_ref > 0, pt.log(pt.switch(n_ref > 0, den, 1.0)), 0.0), dims=dims.CONFIG
    )
    prior = pm.logp(pm.Normal.dist(loc, scale), loglam)
    pm.Potential("loglam_prior", pt.sum(prior))
    return loglam


#: nutpie's mass-matrix adaptation for the capacity model (see :func:`sample_nutpie`).
ADAPTATION = "diag"


def compile_model(model) -> Any:
    """Compile with nutpie's numba backend (seconds); the result can take new data via ``with_data``."""
    return compile_for_nutpie(model)


def sample_compiled(
    compiled: Any,
    design: CapacityDesign,
    *,
    draws: int,
    tune: int,
    chains: int,
    seed: int,
    target_accept: float = 0.98,
) -> xr.DataTree:
    """Swap the design's arrays into a compiled PyMC graph and sample it; returns nutpie's raw DataTree."""
    # a container the likelihood does not use (noise_ref under lognormal) is not part of the compiled graph
    known = {var.name for var in compiled.shared_var_keys}
    model = compiled.with_data(**{k: v for k, v in design.arrays.items() if k in known})
    return sample_nutpie(model, draws=draws, tune=tune, chains=chains, seed=seed, target_accept=target_accept)


def sample_nutpie(
    model: Any,
    *,
    draws: int,
    tune: int,
    chains: int,
    seed: int,
    target_accept: float = 0.98,
    adaptation: str | None = None,
) -> xr.DataTree:
    """Sample a nutpie model (the PyMC graph's or the C twin's) with the capacity model's sampler settings.

    ``fit_design`` chooses target_accept: 0.9 first, 0.98 again after a divergence; 0.98 here is the safe value
    for direct calls. nutpie's diagonal mass matrix: on the example it gave more effective draws than the low-rank
    one (used until 2026-11-28) in half the time, and on NGINX twice the effective draws per second
    (docs/capacity_model.md, "Speed").
    """
    import nutpie

    if draws < 1 or tune < 0 or chains < 1:
        raise ModelError(f"need draws >= 1, tune >= 0, chains >= 1; got draws={draws}, tune={tune}, chains={chains}")
    return nutpie.sample(
        model,
        adaptation=adaptation or ADAPTATION,
        draws=int(draws),
        tune=int(tune),
        chains=int(chains),
        cores=int(chains),
        seed=int(seed),
        progress_bar=False,
        save_warmup=False,
        target_accept=target_accept,
    )


def _per_point(posterior: xr.Dataset, node_var: str, cluster_var: str, design: CapacityDesign) -> np.ndarray:
    """A config-level (node rows) or tier-level (cluster rows) posterior variable at every point, (chain, draw, obs)."""
    a = design.arrays
    node = posterior[node_var].transpose(dims.CHAIN, dims.DRAW, dims.CONFIG).values[..., a["cfg_idx"]]
    cluster = posterior[cluster_var].transpose(dims.CHAIN, dims.DRAW, dims.TIER).values[..., a["tier_idx"]]
    return np.where(a["is_cluster"].astype(bool), cluster, node)


def _usl_mean(posterior: xr.Dataset, design: CapacityDesign) -> np.ndarray:
    """The USL mean at every point, (chain, draw, obs)."""
    return usl.throughput(design.arrays["n"], _per_point(posterior, "sigma", "sigma_cluster", design),
                          _per_point(posterior, "kappa", "kappa_cluster", design),
                          _per_point(posterior, "lam", "lam_cluster", design))


def _mean_and_scale(
    posterior: xr.Dataset, design: CapacityDesign, priors: dict[str, float], likelihood: str
) -> tuple[np.ndarray, np.ndarray]:
    """The USL mean at every point and the noise model's scale there (log scale for "lognormal"), (chain, draw, obs)."""
    a = design.arrays
    mu = _usl_mean(posterior, design)
    eps = _per_point(posterior, "noise", "noise_cluster", design)
    if likelihood == "lognormal":
        return mu, eps
    ref = a["noise_ref"]
    return mu, eps * ref * (mu / ref) ** priors["noise_power"]


def _draw_coords(posterior: xr.Dataset) -> dict:
    return {dims.CHAIN: posterior[dims.CHAIN].values, dims.DRAW: posterior[dims.DRAW].values}


def pointwise_log_likelihood(
    posterior: xr.Dataset, design: CapacityDesign, priors: dict[str, float], likelihood: str,
    *, mean_and_scale: tuple[np.ndarray, np.ndarray] | None = None,
) -> xr.DataArray:
    """log p(y_i | theta) per draw and point, the same density as the PyMC model (for LOO).

    ``mean_and_scale``: :func:`_mean_and_scale`'s arrays when the caller has them already."""
    mu, scale = mean_and_scale or _mean_and_scale(posterior, design, priors, likelihood)
    y = design.arrays["y"]
    if likelihood == "lognormal":
        ll = stats.norm.logpdf(np.log(y), loc=np.log(mu), scale=scale) - np.log(y)
    elif likelihood == "normal":
        ll = stats.norm.logpdf(y, loc=mu, scale=scale)
    else:
        nu = posterior["nu"].transpose(dims.CHAIN, dims.DRAW).values[..., None]
        ll = stats.t.logpdf(y, df=nu, loc=mu, scale=scale)
    return xr.DataArray(ll, dims=(dims.CHAIN, dims.DRAW, dims.OBS), coords=_draw_coords(posterior))


def posterior_predictive(
    posterior: xr.Dataset, design: CapacityDesign, priors: dict[str, float], likelihood: str, *, seed: int,
    mean_and_scale: tuple[np.ndarray, np.ndarray] | None = None,
) -> xr.DataArray:
    """Replicated throughput per draw and point from the fitted noise model (for PPCs), dims (chain, draw, obs)."""
    rng = np.random.default_rng(seed)
    mu, scale = mean_and_scale or _mean_and_scale(posterior, design, priors, likelihood)
    if likelihood == "lognormal":
        rep = mu * np.exp(scale * rng.standard_normal(mu.shape))
    else:
        if likelihood == "normal":
            noise = rng.standard_normal(mu.shape)
        else:
            nu = posterior["nu"].transpose(dims.CHAIN, dims.DRAW).values[..., None]
            noise = rng.standard_t(np.broadcast_to(nu, mu.shape))
        rep = mu + scale * noise
    return xr.DataArray(rep, dims=(dims.CHAIN, dims.DRAW, dims.OBS), coords=_draw_coords(posterior))


def finalise(
    raw: xr.DataTree, design: CapacityDesign, priors: dict[str, float], likelihood: str, *, seed: int
) -> xr.DataTree:
    """Add observed_data, constant_data, log_likelihood and attrs to nutpie's DataTree (a new tree)."""
    posterior = raw["posterior"].to_dataset()
    # a compiled model may be re-used for another dataset of the same shape: label from this design
    posterior = posterior.assign_coords(
        {
            dims.CONFIG: list(design.configs),
            dims.TIER: list(design.tiers),
            "config_tier": (dims.CONFIG, list(design.config_tier)),
            "config_name": (dims.CONFIG, list(design.config_name)),
        }
    )
    obs_coords = {
        dims.OBS: np.arange(design.n_obs),
        "obs_config": (dims.OBS, list(design.obs_config)),
        "obs_level": (dims.OBS, list(design.obs_level)),
        "obs_tier": (dims.OBS, [design.tiers[i] for i in design.arrays["tier_idx"]]),
    }
    a = design.arrays
    observed = xr.Dataset({OBSERVED: (dims.OBS, a["y"])}, coords=obs_coords)
    constant = xr.Dataset(
        {
            "n": (dims.OBS, a["n"]),
            "repeat": (dims.OBS, np.asarray(design.obs_repeat)),
            "cfg_n_max": (dims.CONFIG, a["cfg_n_max"]),
            "cfg_log_scale": (dims.CONFIG, a["cfg_log_scale"]),
            "cluster_n_ref": (dims.TIER, a["cluster_n_ref"]),
            "has_cluster_rows": (dims.TIER, design.tier_has_cluster_rows),
        },
        coords={**obs_coords, dims.CONFIG: list(design.configs), dims.TIER: list(design.tiers), "config_tier": (dims.CONFIG, list(design.config_tier))},
    )
    points = _mean_and_scale(posterior, design, priors, likelihood)
    ll = pointwise_log_likelihood(posterior, design, priors, likelihood, mean_and_scale=points)
    log_lik = xr.Dataset({OBSERVED: ll}).assign_coords(obs_coords)
    rep = posterior_predictive(posterior, design, priors, likelihood, seed=seed + 1, mean_and_scale=points)
    stats_ds = raw["sample_stats"].to_dataset()
    # nutpie's per-draw divergence messages are Python objects, which netCDF cannot store
    stats_ds = stats_ds[[v for v in stats_ds.data_vars if stats_ds[v].dtype.kind in "biuf"]]
    groups = {
        "posterior": posterior,
        "posterior_predictive": xr.Dataset({OBSERVED: rep}).assign_coords(obs_coords),
        "sample_stats": stats_ds,
        "observed_data": observed,
        "constant_data": constant,
        "log_likelihood": log_lik,
    }
    tree = xr.DataTree.from_dict({k: xr.DataTree(v) for k, v in groups.items()})
    tree.attrs.update(
        {
            "model": "bayescap.capacity",
            "likelihood": likelihood,
            "priors": json.dumps(priors, sort_keys=True),
            "seed": int(seed),
        }
    )
    return tree
