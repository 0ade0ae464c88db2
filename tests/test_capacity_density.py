"""The hand-written capacity density (capacity_density.c) is the PyMC graph's exact twin, and its callbacks behave."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytensor
import pytest
import xarray as xr

from bayescap.errors import ModelError
from bayescap.inputs import read_loadtest
from bayescap.models import capacity_density as cd
from bayescap.models.capacity import fit_capacity, merge_priors
from bayescap.models.capacity_build import build_model
from bayescap.models.capacity_data import build_design
from tests.conftest import assert_density_matches_graph, call_expand_callback, call_logp_callback

SEED = 20261126
EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "example" / "loadtest.csv"


def _frame(kind: str) -> pd.DataFrame:
    df = read_loadtest(EXAMPLE)
    if kind == "lone config":  # the static tier keeps one config: it takes the tier mean's prior directly
        return df[~((df["tier"] == "static") & (df["config"] == "c6i.2xlarge"))].reset_index(drop=True)
    if kind == "lone config, two levels":  # too few levels for sigma's v coordinates: z, with the lam shear
        lone = df[~((df["tier"] == "static") & (df["config"] == "c6i.2xlarge"))]
        return lone[~((lone["tier"] == "static") & (lone["n"] > 2))].reset_index(drop=True)
    if kind == "cluster-only tier":  # a proxy tier measured only as a cluster: its node level is prior-only
        proxy = df[(df["tier"] == "app") & (df["level"] == "cluster")].assign(tier="proxy", config="haproxy")
        return pd.concat([df, proxy], ignore_index=True)
    return df


CASES = [
    ("example", "student_t", {}),
    ("example", "normal", {"noise_power": 0.5}),
    ("example", "lognormal", {}),
    ("lone config", "student_t", {"noise_power": 1.0}),
    ("lone config, two levels", "normal", {}),
    ("cluster-only tier", "student_t", {}),
]


@pytest.mark.parametrize(("kind", "likelihood", "overrides"), CASES)
def test_density_and_gradient_equal_the_pymc_graph(kind, likelihood, overrides):
    """At random unconstrained points the C log density and gradient equal PyMC's (Jacobians included)."""
    pri = merge_priors(overrides)
    design = build_design(_frame(kind), pri)
    model = build_model(design, pri, likelihood)
    layout = cd.parameter_layout(len(design.tiers), len(design.configs), likelihood)
    value_names = [name + cd.VALUE_SUFFIX[tr] for name, _, tr in layout]
    assert sorted(value_names) == sorted(v.name for v in model.value_vars), "the layout must cover every model variable"
    value_vars = [model[name] for name, _, _ in layout]
    with pytensor.config.change_flags(mode="FAST_COMPILE"):  # a few evaluations: not worth compiling C
        logp_fn = model.compile_logp(jacobian=True)
        dlogp_fn = model.compile_dlogp(vars=value_vars, jacobian=True)
    args = cd.density_inputs(design, pri, likelihood, cd.cluster_stretch(design))
    points = [(value_name, size, var.ndim > 0)
              for (_, size, _), value_name, var in zip(layout, value_names, value_vars, strict=True)]
    assert_density_matches_graph(cd.logp_and_grad, args, points, logp_fn, dlogp_fn, rng=np.random.default_rng(SEED),
                                 draws=4, spread=0.8, rtol=1e-7)


def test_c_callback_reads_the_model_arrays_and_flags_non_finite_values():
    """The callback nutpie calls, through the table of array addresses the model holds, gives the numbers of a call
    with freshly built arrays and reports a non-finite density with a non-zero code (nutpie then treats the step as
    divergent); the expand callback hands the sampler's coordinates back unchanged."""
    pri = merge_priors(None)
    design = build_design(_frame("example"), pri)
    compiled = cd.nutpie_model(design, pri, "student_t")
    logp_cfunc, _ = cd.callbacks()
    x = compiled.initial_point_func(SEED)
    assert x.shape == (compiled.n_dim,) and np.isfinite(x).all()
    code, lp, grad = call_logp_callback(logp_cfunc, x, compiled.user_data)
    expected = np.empty_like(x)
    assert code == 0
    assert lp == cd.logp_and_grad(x, expected, *cd.density_inputs(design, pri, "student_t", cd.cluster_stretch(design)))
    np.testing.assert_array_equal(grad, expected)
    names, slices, _ = compiled.shape_info
    bad = x.copy()
    bad[slices[names.index("noise")]] = 800.0  # log noise: exp(800) = inf
    assert call_logp_callback(logp_cfunc, bad, compiled.user_data)[0] != 0
    code, out = call_expand_callback(cd.callbacks()[1], x, compiled.n_dim, compiled.user_data)
    assert code == 0
    np.testing.assert_array_equal(out, x)


@pytest.mark.parametrize("kind", ["cluster-only tier", "lone config", "lone config, two levels"])
def test_posterior_variables_equal_the_pymc_graphs(kind):
    """Draws of x become the PyMC graph's posterior: every free variable on its own scale and every deterministic,
    with the graph's names, dims and values (evaluated by PyMC at the same points)."""
    pri = merge_priors(None)
    design = build_design(_frame(kind), pri)
    model = build_model(design, pri, "student_t")
    layout = cd.parameter_layout(len(design.tiers), len(design.configs), "student_t")
    names = [rv.name for rv in model.free_RVs] + [det.name for det in model.deterministics]
    with pytensor.config.change_flags(mode="FAST_COMPILE"):
        fn = model.compile_fn(model.replace_rvs_by_values([model[n] for n in names]), inputs=model.value_vars)
    rng = np.random.default_rng(SEED)
    draws = 3
    xs = rng.normal(0.0, 0.8, (draws, sum(size for _, size, _ in layout)))
    raw, i = {}, 0
    for name, size, _ in layout:  # as nutpie stores them: (chain, draw, block)
        raw[name] = xr.DataArray(xs[None, :, i : i + size], dims=("chain", "draw", f"{name}_dim_0"))
        i += size
    post = cd.posterior_dataset(xr.Dataset(raw).assign_coords(chain=[0], draw=np.arange(draws)), design, pri, "student_t")
    assert sorted(post.data_vars) == sorted(names)
    for d in range(draws):
        point, i = {}, 0
        for name, size, tr in layout:
            point[name + cd.VALUE_SUFFIX[tr]] = xs[d, i : i + size] if model[name].ndim else xs[d, i]
            i += size
        for name, expected in zip(names, fn(point), strict=True):
            assert post[name].dims[2:] == tuple(model.named_vars_to_dims.get(name, ())), name
            np.testing.assert_allclose(post[name].values[0, d], expected, rtol=1e-12, atol=1e-14, err_msg=name)


def test_sampler_backend_is_validated():
    with pytest.raises(ModelError, match="sampler_backend"):
        fit_capacity(_frame("example"), sampler_backend="stan")


@pytest.mark.slow
def test_both_sampler_backends_give_the_same_posterior():
    """Sampling the PyMC graph and its C twin gives the same posterior: the medians agree within a third of a
    posterior sd (the Monte Carlo error of the difference is about a tenth of one here)."""
    df = _frame("example")
    fits = {b: fit_capacity(df, draws=1000, tune=1000, chains=2, seed=SEED, sampler_backend=b) for b in ("c", "pymc")}
    post = {b: fits[b]["posterior"] for b in fits}
    for name in ("lam", "sigma", "kappa", "lam_cluster", "sigma_cluster", "kappa_cluster", "noise", "nu"):
        a, b = (post[k][name].values.reshape(2000, -1) for k in ("c", "pymc"))
        sd = np.sqrt(0.5 * (a.var(axis=0) + b.var(axis=0)))
        diff = np.abs(np.median(a, axis=0) - np.median(b, axis=0))
        assert np.all(diff <= 0.34 * sd + 1e-12), (name, diff / np.maximum(sd, 1e-300))
