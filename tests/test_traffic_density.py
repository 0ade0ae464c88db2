"""The hand-written log density (traffic_density.c) is the PyMC graph's exact twin, and its C callbacks behave."""

from __future__ import annotations

import numpy as np
import pytest

from bayescap.errors import ModelError
from bayescap.models import traffic_density as td
from bayescap.models.traffic_design import build_design
from bayescap.models.traffic_model import build_model
from bayescap.models.traffic_priors import merge_options, merge_priors
from bayescap.models.traffic_synthetic import EventSpec, SyntheticTruth, simulate_history
from bayescap.models.traffic_whiten import whiten
from tests.conftest import assert_density_matches_graph, call_expand_callback, call_logp_callback

SEED = 20261126


def _history(kind: str):
    if kind == "events+competitor+gaps":
        truth = SyntheticTruth(competitor_drop=0.4, competitor_every_days=11,
                               events={"sale": EventSpec(weekday=3, days=2), "launch": EventSpec(weekday=1, every_weeks=5)})
        df, _ = simulate_history(150, truth=truth, seed=SEED)
        df = df.drop(index=[20, 21, 60, 97]).reset_index(drop=True)  # missing days: left out of the likelihood
        return df
    df, _ = simulate_history(120, truth=SyntheticTruth(events={}), seed=SEED)
    return df


CASES = [
    # (history, competitor_events, ar1, noncentred)
    ("events+competitor+gaps", "effect", True, False),
    ("events+competitor+gaps", "effect", True, True),
    ("events+competitor+gaps", "exclude", False, False),
    ("events+competitor+gaps", "effect", False, True),
    ("no events", "effect", True, False),
]


def _setup(kind, competitor_events, ar1, noncentred):
    design = build_design(_history(kind), competitor_events=competitor_events, knot_spacing=7, fourier_order=3,
                          weekday_yearly_order=1, single_day_lifts="pooled")
    pri = merge_priors({"nu_min": 4.0, "ar_logit_mean": 0.4})
    block = whiten(design, pri, ar1=ar1, noncentred=noncentred)
    return design, pri, block


@pytest.mark.parametrize(("kind", "competitor_events", "ar1", "noncentred"), CASES)
def test_density_and_gradient_equal_the_pymc_graph(kind, competitor_events, ar1, noncentred):
    """At random unconstrained points the C log density and gradient equal PyMC's (Jacobians included)."""
    design, pri, block = _setup(kind, competitor_events, ar1, noncentred)
    n_types = max(len(design.event_types), 1)
    model = build_model(design, pri, block, ar1=ar1, noncentred=noncentred)
    layout = td.parameter_layout(block.size, n_types, ar1=ar1, noncentred=noncentred)
    value_names = [name + ("_log__" if logged else "") for name, _, logged in layout]
    assert sorted(value_names) == sorted(v.name for v in model.value_vars), "the layout must cover every model variable"
    logp_fn = model.compile_logp(jacobian=True)
    dlogp_fn = model.compile_dlogp(vars=[model[name] for name, _, _ in layout], jacobian=True)
    args = td.density_inputs(design, pri, block, ar1=ar1, noncentred=noncentred)
    points = [(value_name, size, model[name].ndim > 0) for (name, size, _), value_name in zip(layout, value_names)]
    assert_density_matches_graph(td.logp_and_grad, args, points, logp_fn, dlogp_fn, rng=np.random.default_rng(SEED),
                                 draws=3, spread=0.7, rtol=1e-8)


def test_c_callbacks_read_the_model_arrays_and_flag_non_finite_values():
    """The callbacks nutpie calls, through the table of array addresses the model holds, give the same numbers as a
    call with freshly built arrays, report a non-finite density with a
    non-zero code (nutpie then treats the step as divergent), and the expand callback undoes the log transforms."""
    design, pri, block = _setup("events+competitor+gaps", "effect", True, False)
    compiled = td.nutpie_model(design, pri, block, ar1=True, noncentred=False)
    logp_cfunc, expand_cfunc = td.callbacks()
    table = compiled.user_data
    x = compiled.initial_point_func(SEED)
    assert x.shape == (compiled.n_dim,) and np.isfinite(x).all()
    code, lp, grad = call_logp_callback(logp_cfunc, x, table)
    expected = np.empty_like(x)
    assert code == 0
    assert lp == td.logp_and_grad(x, expected, *td.density_inputs(design, pri, block, ar1=True, noncentred=False))
    np.testing.assert_array_equal(grad, expected)
    bad = x.copy()
    bad[block.size + len(design.event_types)] = 800.0  # log competitor effect: exp(800) = inf
    assert call_logp_callback(logp_cfunc, bad, table)[0] != 0

    code, out = call_expand_callback(expand_cfunc, x, compiled.n_dim, table)
    assert code == 0
    names, slices, _ = compiled.shape_info
    np.testing.assert_array_equal(out[slices[names.index("z_lin")]], x[slices[names.index("z_lin")]])
    np.testing.assert_allclose(out[slices[names.index("sigma_normal")]], np.exp(x[slices[names.index("sigma_normal")]]))


def test_sampler_backend_option_is_validated():
    assert merge_options({"sampler_backend": "pymc"})["sampler_backend"] == "pymc"
    with pytest.raises(ModelError, match="sampler_backend"):
        merge_options({"sampler_backend": "stan"})


def test_both_sampler_backends_give_the_same_posterior():
    """Sampling the PyMC graph (option sampler_backend="pymc") and its C twin gives the same posterior: means
    agree within half a posterior sd (the Monte Carlo error of the difference is about 0.15 sd here)."""
    from bayescap.models.traffic import fit_traffic

    truth = SyntheticTruth(competitor_drop=0.4, competitor_every_days=11)
    df, _ = simulate_history(140, truth=truth, seed=SEED)
    options = {"fourier_order": 2, "weekday_yearly_order": 0}
    fits = {backend: fit_traffic(df, options={**options, "sampler_backend": backend}, draws=300, tune=400, seed=SEED)
            for backend in ("c", "pymc")}
    for name in ("sigma_normal", "sigma_event", "lift_mean", "competitor_effect", "phi", "drift"):
        a, b = (fits[k]["posterior"][name].values.reshape(600, -1) for k in ("c", "pymc"))
        sd = np.sqrt(0.5 * (a.var(axis=0) + b.var(axis=0)))
        assert np.all(np.abs(a.mean(axis=0) - b.mean(axis=0)) < 0.5 * sd), name


def test_event_days_have_gaussian_noise_and_normal_days_student_t():
    """The log density is exactly quadratic in an event day's log count, with curvature -1/sigma_event^2 (Gaussian
    noise keeps a rare event type's forecast draws bounded); on a normal day it is the Student-t's, not quadratic."""
    import dataclasses

    design, pri, block = _setup("events+competitor+gaps", "effect", False, False)
    n_types = max(len(design.event_types), 1)
    layout = td.parameter_layout(block.size, n_types, ar1=False, noncentred=False)
    x = np.random.default_rng(SEED).normal(0.0, 0.5, sum(size for _, size, _ in layout))
    offset = {}
    i = 0
    for name, size, _ in layout:
        offset[name] = i
        i += size
    sigma_event = np.exp(x[offset["sigma_normal"]]) + np.exp(x[offset["sigma_event_excess"]])
    observed = design.data["mask"] > 0

    def lp_with_shift(day, delta):
        data = dict(design.data)
        data["y"] = data["y"].copy()
        data["y"][day] += delta
        moved = dataclasses.replace(design, data=data)
        return td.logp_and_grad(x, np.empty(x.size), *td.density_inputs(moved, pri, block, ar1=False, noncentred=False))

    def curvature(day, delta):
        return (lp_with_shift(day, delta) - 2 * lp_with_shift(day, 0.0) + lp_with_shift(day, -delta)) / delta**2

    event_day = int(np.flatnonzero((design.data["is_event"] > 0) & observed)[0])
    for delta in (0.05, 0.5, 2.0):
        assert curvature(event_day, delta) == pytest.approx(-1.0 / sigma_event**2, rel=1e-6)
    normal_day = int(np.flatnonzero((design.data["is_event"] == 0) & observed)[0])
    assert curvature(normal_day, 2.0) != pytest.approx(curvature(normal_day, 0.05), rel=1e-2)


@pytest.mark.parametrize(("kind", "competitor_events", "ar1", "noncentred"), CASES)
def test_pointwise_log_likelihood_adds_up_to_the_graphs_likelihood(kind, competitor_events, ar1, noncentred):
    """The log_likelihood group that `bayescap compare` ranks by (per day, on the count scale) sums, with the log
    counts added back, to the PyMC graph's likelihood term at the same point: same days, same densities."""
    import xarray as xr

    from bayescap.models import traffic

    design, pri, block = _setup(kind, competitor_events, ar1, noncentred)
    n_types = max(len(design.event_types), 1)
    model = build_model(design, pri, block, ar1=ar1, noncentred=noncentred)
    (loglik,) = model.replace_rvs_by_values([model["loglik"]])
    loglik_fn = model.compile_fn(loglik, inputs=model.value_vars, on_unused_input="ignore")
    layout = td.parameter_layout(block.size, n_types, ar1=ar1, noncentred=noncentred)
    opt = merge_options({"competitor_events": competitor_events, "ar1": ar1})
    mask = design.data["mask"] > 0
    rng = np.random.default_rng(SEED)
    for _ in range(3):
        point, raw = {}, {}
        for name, size, logged in layout:
            value = rng.normal(0.0, 0.5, size) if model[name].ndim else rng.normal(0.0, 0.5)
            point[name + ("_log__" if logged else "")] = value
            value = np.exp(value) if logged else value
            raw[name] = (("chain", "draw", f"{name}_dim"), np.reshape(value, (1, 1, -1))) if np.ndim(value) else (
                ("chain", "draw"), np.reshape(value, (1, 1)))
        posterior = traffic._posterior_dataset(xr.Dataset(raw), design, block, pri, opt, None, rng)
        step = traffic._one_step(traffic._post_arrays(posterior), design, opt)
        ll = traffic._log_likelihood(posterior, design, step)["count"]
        assert ll.sizes["date"] == int(mask.sum())
        total = float(ll.values.astype(float).sum()) + float(design.data["y"][mask].sum())
        assert total == pytest.approx(float(loglik_fn(point)), rel=1e-5)
