"""The whitened linear block: an exact reparameterisation of the traffic model, and a good preconditioner."""

from __future__ import annotations

import numpy as np
import pytest

from bayescap.models.traffic_design import build_design
from bayescap.models.traffic_model import build_model
from bayescap.models.traffic_priors import merge_priors
from bayescap.models.traffic_synthetic import SyntheticTruth, simulate_history
from bayescap.models.traffic_whiten import LinearBlock, whiten

SEED = 20261126


@pytest.fixture(scope="module")
def design():
    df, _ = simulate_history(140, truth=SyntheticTruth(competitor_drop=0.4, competitor_every_days=14), seed=SEED)
    return build_design(df, competitor_events="effect", knot_spacing=7, fourier_order=4, weekday_yearly_order=0)


def _logp_fn(design, pri, block, noncentred):
    model = build_model(design, pri, block, ar1=True, noncentred=noncentred)
    fn = model.compile_logp(jacobian=True)
    point = model.initial_point()
    return model, fn, point


@pytest.mark.parametrize("noncentred", [False, True])
def test_whitening_is_an_exact_reparameterisation(design, noncentred):
    """logp(z) under the whitened model equals logp(beta) under the plain model, up to the map's exact Jacobian."""
    pri = merge_priors(None)
    block = whiten(design, pri, ar1=True, noncentred=noncentred)
    p = block.size
    plain = LinearBlock(layout=block.layout, shift=np.zeros(p), chol=np.eye(p), hyper={}, walk_a=np.ones(p),
                        walk_k=np.zeros(p), walk_h=np.zeros(p), lam_hat=1.0)
    _, white_fn, point = _logp_fn(design, pri, block, noncentred)
    _, plain_fn, _ = _logp_fn(design, pri, plain, noncentred)
    rng = np.random.default_rng(SEED)
    diffs, walk_logdet = [], []
    for _ in range(4):
        z = rng.standard_normal(p)
        hyper = {k: v + 0.3 * rng.standard_normal(np.shape(v)) for k, v in point.items() if k != "z_lin"}
        rw_var = float(np.exp(hyper["rw_var_log__"]))
        beta = block.shift + block.chol @ block.coordinates(z, rw_var)
        diffs.append(white_fn({**hyper, "z_lin": z}) - plain_fn({**hyper, "z_lin": beta}))
        walk_logdet.append(-0.5 * np.sum(np.log(block.walk_a + block.walk_k / rw_var)))
    # the Jacobian of z -> beta is the only difference: log|det L| (constant) plus the walk coordinates' part
    rest = np.array(diffs) - np.array(walk_logdet)
    assert np.ptp(rest) < 1e-6 * max(1.0, abs(rest[0]))
    assert np.isfinite(diffs).all()
    if not noncentred:  # the walk coordinates do vary with the walk's scale (else this test would not test them)
        assert np.ptp(walk_logdet) > 1e-3


def test_gaussian_approximation_centres_and_scales_the_posterior(design):
    """At the rough hyperparameters the approximate posterior of beta is where the data put it: the level
    knots follow the observed log counts and the noise estimates are close to the simulation's truth."""
    pri = merge_priors(None)
    block = whiten(design, pri, ar1=True, noncentred=False)
    truth = SyntheticTruth()
    assert 0.5 * truth.sigma_normal < block.hyper["sigma_normal"] < 2.0 * truth.sigma_normal
    assert block.hyper["sigma_event"] >= block.hyper["sigma_normal"]
    knots = float(design.data["y_center"]) + block.split(np.zeros(block.size), 1.0 / block.lam_hat)["knots_dev"]
    weekly_mean = np.array([design.data["y"][7 * k : 7 * k + 7].mean() for k in range(len(design.dates) // 7)])
    assert np.median(np.abs(knots[1 : len(weekly_mean) + 1] - weekly_mean)) < 0.3
    # L is a proper square root of a covariance: lower-triangular-free but full rank and finite
    assert np.all(np.isfinite(block.chol)) and np.linalg.matrix_rank(block.chol) == block.size


def test_thinning_keeps_divergences_of_discarded_iterations():
    """A divergence in an iteration that thinning drops is still counted and flags its kept draw."""
    import xarray as xr

    from bayescap.models.traffic import _thinned

    chains, iterations, thin = 2, 12, 3
    div = np.zeros((chains, iterations), dtype=bool)
    div[0, 4] = True  # dropped (kept draws are iterations 2, 5, 8, 11)
    div[1, 11] = True  # kept
    coords = {"chain": np.arange(chains), "draw": np.arange(iterations)}
    raw = xr.DataTree.from_dict({
        "posterior": xr.Dataset({"x": (("chain", "draw"), np.arange(24.0).reshape(2, 12))}, coords=coords),
        "sample_stats": xr.Dataset({"diverging": (("chain", "draw"), div),
                                    "n_steps": (("chain", "draw"), np.full((2, 12), 7.0))}, coords=coords),
    })
    post, stats, n_div = _thinned(raw, thin)
    assert n_div == 2
    assert post.sizes["draw"] == 4 and post["x"].values[0].tolist() == [2.0, 5.0, 8.0, 11.0]
    assert stats["diverging"].values.tolist() == [[False, True, False, False], [False, False, False, True]]
    assert np.all(stats["n_steps"].values == 7.0)


@pytest.mark.parametrize("seasonal_sd", [None, {"yearly_sd": 0.7, "weekday_yearly_sd": 0.45, "weekday_sd": 0.9}])
def test_named_posterior_quantities_reproduce_the_sampled_mean(seasonal_sd):
    """The knots, seasonal coefficients and lifts that traffic.py derives from the sampler's raw draws give back the
    mean the sampler saw (y_center + X beta - competitor term): the forecast and the report use the named ones."""
    import xarray as xr

    from bayescap.models.traffic import _log_mean, _post_arrays, _posterior_dataset
    from bayescap.models.traffic_whiten import _columns

    df, _ = simulate_history(400, truth=SyntheticTruth(competitor_drop=0.4, competitor_every_days=14), seed=SEED)
    design = build_design(df, competitor_events="effect", knot_spacing=7, fourier_order=5, weekday_yearly_order=2)
    pri = merge_priors(seasonal_sd)
    block = whiten(design, pri, ar1=True, noncentred=False)
    rng = np.random.default_rng(SEED)
    n_types = max(len(design.event_types), 1)
    draws = 3
    z = rng.standard_normal((draws, block.size))
    lift_sd = np.abs(rng.standard_normal((draws, n_types)))
    rw_var = np.array([0.002, 0.01, 0.05])  # around and far from the whitening's scale
    comp = np.abs(rng.standard_normal(draws))
    raw = xr.Dataset(
        {
            "z_lin": (("chain", "draw", "z_dim"), z[None]),
            "lift_sd": (("chain", "draw", "type_dim"), lift_sd[None]),
            "competitor_effect": (("chain", "draw"), comp[None]),
            "sigma_normal": (("chain", "draw"), np.full((1, draws), 0.2)),
            "sigma_event_excess": (("chain", "draw"), np.full((1, draws), 0.1)),
            "nu_excess": (("chain", "draw"), np.full((1, draws), 3.0)),
            "phi_raw": (("chain", "draw"), np.zeros((1, draws))),
            "rw_var": (("chain", "draw"), rw_var[None]),
        }
    )
    post = _posterior_dataset(raw, design, block, pri, {"ar1": True}, None, rng)
    named = _log_mean(_post_arrays(post), design)
    d = design.data
    for s in range(draws):
        X = _columns(design, pri, block.layout, {"rw_sd": 0.0, "lift_sd": lift_sd[s]}, False)
        sampled = float(d["y_center"]) + X @ (block.shift + block.chol @ block.coordinates(z[s], rw_var[s])) - comp[s] * d["competitor"] * d["competitor_weight"]
        np.testing.assert_allclose(named[s], sampled, rtol=0, atol=1e-9)
