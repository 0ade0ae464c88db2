"""Model-check rules (bayescap.checks): what makes a report a DRAFT."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from bayescap.checks import diagnostics_from_idata, model_checks
from bayescap.dims import CHAIN, CONFIG, DRAW

GOOD = {"divergences": 0, "max_r_hat": 1.004, "min_ess_bulk": 812.0}


def test_clean_diagnostics_pass():
    out = model_checks({"capacity": GOOD, "traffic": GOOD}, None)
    assert out == {"ok": True, "problems": []}


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"max_r_hat": 1.02}, "R-hat 1.020 > 1.01"),
        ({"min_ess_bulk": 300.0}, "effective sample size 300 < 400"),
        ({"divergences": 3}, "3 divergent transitions"),
        ({"max_r_hat": None}, "R-hat could not be computed"),
        ({"min_ess_bulk": float("nan")}, "effective sample size could not be computed"),
    ],
)
def test_each_failing_threshold_is_a_named_problem(change, needle):
    out = model_checks({"capacity": {**GOOD, **change}, "traffic": GOOD}, None)
    assert not out["ok"]
    assert out["problems"] == [f"capacity: {needle}"]


def test_thresholds_are_inclusive_at_the_boundary():
    out = model_checks({"m": {"divergences": 0, "max_r_hat": 1.01, "min_ess_bulk": 400}}, None)
    assert out["ok"], out


def test_single_chain_cannot_pass_r_hat():
    out = model_checks({"m": {**GOOD, "max_r_hat": None, "chains": 1}}, None)
    assert out["problems"] == ["m: R-hat needs at least 2 chains"]


@pytest.mark.parametrize(
    ("bt", "expected"),
    [
        ({"bayescap": {"cov80": 0.80, "cov95": 0.93}}, []),
        ({"bayescap": {"cov80": 0.70, "cov95": 0.93}}, ["backtest: cov80 0.70 outside 0.75-0.85"]),
        ({"methods": {"bayescap": {"cov80": 0.80, "cov95": 0.99}}}, ["backtest: cov95 0.99 outside 0.91-0.98"]),
        (
            {"bayescap": {"cov80": 0.80, "cov95": 0.93}, "coverage_ranges": {"cov80": [0.81, 0.9]}},
            ["backtest: cov80 0.80 outside 0.81-0.90"],
        ),
        ({"seasonal_naive": {"cov80": 0.5, "cov95": 0.6}}, ["backtest: no 'bayescap' result"]),
    ],
)
def test_backtest_coverage_outside_its_range_fails(bt, expected):
    out = model_checks({"traffic": GOOD}, bt)
    assert out["problems"] == expected
    assert out["ok"] is (not expected)


def test_backtest_refits_that_mixed_badly_are_named_but_do_not_make_a_draft():
    from bayescap.checks import backtest_origin_problems

    bt = {
        "bayescap": {
            "cov80": 0.8,
            "cov95": 0.93,
            "origins": [{"divergences": 0, "max_r_hat": 1.0}, {"divergences": 2, "max_r_hat": 1.05}],
        }
    }
    assert model_checks({"traffic": GOOD}, bt) == {"ok": True, "problems": []}
    assert backtest_origin_problems(bt) == ["backtest origin 2: 2 divergent transitions", "backtest origin 2: R-hat 1.050 > 1.01"]
    assert backtest_origin_problems({"methods": bt}) == backtest_origin_problems(bt)
    assert backtest_origin_problems(None) == []


def _tree(post: xr.Dataset, diverging: np.ndarray) -> xr.DataTree:
    return xr.DataTree.from_dict(
        {"posterior": post, "sample_stats": xr.Dataset({"diverging": ((CHAIN, DRAW), diverging)})}
    )


def test_diagnostics_from_idata_on_well_mixed_chains(seed):
    rng = np.random.default_rng(seed)
    post = xr.Dataset(
        {
            "a": ((CHAIN, DRAW), rng.normal(size=(2, 1000))),
            "b": ((CHAIN, DRAW, CONFIG), rng.normal(size=(2, 1000, 3))),
            "const": ((CHAIN, DRAW), np.ones((2, 1000))),
        },
        coords={CONFIG: ["x", "y", "z"]},
    )
    div = np.zeros((2, 1000), dtype=bool)
    div[0, [3, 50]] = True
    d = diagnostics_from_idata(_tree(post, div))
    assert d["divergences"] == 2
    assert d["chains"] == 2 and d["draws"] == 1000
    assert d["max_r_hat"] < 1.01
    assert 1000 < d["min_ess_bulk"] < 2600  # iid draws: ESS near the 2000 draws
    assert set(d["variables"]) == {"a", "b"}  # the constant has no R-hat and is skipped
    verdict = model_checks({"m": d}, None)
    assert verdict["problems"] == ["m: 2 divergent transitions"]


def test_diagnostics_from_idata_flags_chains_that_disagree(seed):
    rng = np.random.default_rng(seed)
    stuck = np.stack([rng.normal(0.0, 1.0, 500), rng.normal(3.0, 1.0, 500)])  # two chains in different places
    post = xr.Dataset({"a": ((CHAIN, DRAW), stuck)})
    d = diagnostics_from_idata(_tree(post, np.zeros((2, 500), dtype=bool)))
    assert d["max_r_hat"] > 1.5
    problems = model_checks({"m": d}, None)["problems"]
    assert any("R-hat" in p for p in problems)
    assert any("effective sample size" in p for p in problems)


def test_diagnostics_without_sample_stats_is_not_a_pass(seed):
    rng = np.random.default_rng(seed)
    tree = xr.DataTree.from_dict({"posterior": xr.Dataset({"a": ((CHAIN, DRAW), rng.normal(size=(2, 500)))})})
    d = diagnostics_from_idata(tree)
    assert d["divergences"] is None
    assert "m: divergences not recorded" in model_checks({"m": d}, None)["problems"]


def test_point_mass_variables_are_skipped_not_failed(seed):
    """A kappa that is exactly 0 in half the draws (rectified prior) has no meaningful rank R-hat."""
    rng = np.random.default_rng(seed)
    kappa = np.where(rng.random((2, 800)) < 0.5, 0.0, rng.exponential(0.01, (2, 800)))
    post = xr.Dataset({"kappa": ((CHAIN, DRAW), kappa), "sigma": ((CHAIN, DRAW), rng.normal(size=(2, 800)))})
    d = diagnostics_from_idata(_tree(post, np.zeros((2, 800), dtype=bool)))
    assert d["skipped"] == ["kappa"]
    assert set(d["variables"]) == {"sigma"}


def test_a_model_can_name_its_diagnostic_variables(seed):
    rng = np.random.default_rng(seed)
    stuck = np.stack([rng.normal(0.0, 1.0, 400), rng.normal(3.0, 1.0, 400)])
    post = xr.Dataset({"derived": ((CHAIN, DRAW), stuck), "free": ((CHAIN, DRAW), rng.normal(size=(2, 400)))})
    tree = _tree(post, np.zeros((2, 400), dtype=bool))
    tree.attrs["diagnostic_vars"] = '["free"]'
    assert set(diagnostics_from_idata(tree)["variables"]) == {"free"}
    assert set(diagnostics_from_idata(tree, var_names=["derived", "free"])["variables"]) == {"derived", "free"}


def test_a_stuck_chain_is_not_mistaken_for_a_point_mass(seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(2, 600))
    a[1, 100:400] = a[1, 100]  # chain 2 stuck for half its draws
    d = diagnostics_from_idata(_tree(xr.Dataset({"a": ((CHAIN, DRAW), a)}), np.zeros((2, 600), dtype=bool)))
    assert d["skipped"] == []
    assert not model_checks({"m": d}, None)["ok"]


def test_traffic_ppc_passes_replicas_of_the_same_process_and_fails_missing_busy_days():
    from bayescap.checks import traffic_ppc

    rng = np.random.default_rng(3)
    days = 730
    observed = np.exp(rng.normal(8.0, 0.3, days))
    same = np.exp(rng.normal(8.0, 0.3, (400, days)))
    check = traffic_ppc(observed, same)
    assert check["ok"] and 0.05 < check["statistics"]["busy"]["p_replicated_above"] < 0.95
    spiky = observed.copy()
    above = np.flatnonzero(observed > np.median(observed))
    spiky[rng.choice(above, 60, replace=False)] *= 4.0  # 8% of days are news spikes the replicas never have
    check = traffic_ppc(spiky, same)
    busy = check["statistics"]["busy"]
    assert not check["ok"] and busy["observed"] > busy["hi"] and busy["p_replicated_above"] == 0.0
    assert check["statistics"]["typical"]["lo"] <= check["statistics"]["typical"]["observed"] <= check["statistics"]["typical"]["hi"]
    dates = np.datetime64("2024-01-01") + np.arange(days)
    news = observed.copy()
    news[[100, 400]] = observed[[100, 400]] * [40.0, 12.0]  # two news days far above anything the model replicates
    news[600] = observed[600] / 30.0  # an outage
    check = traffic_ppc(news, same, dates=dates, n_outliers=3)
    assert check["draws"] == 400 and check["days_outside"] >= 3
    assert [(o["date"], o["side"]) for o in check["outliers"]] == [
        ("2024-04-10", "above"), ("2025-08-23", "below"), ("2025-02-04", "above")]
    assert check["outliers"][0]["observed"] == pytest.approx(news[100])
    fits = traffic_ppc(observed, same, dates=dates, n_outliers=50)  # a model that fits: a few days by chance
    assert fits["outliers_by_chance"] == pytest.approx(2 * 730 / 401) and len(fits["outliers"]) <= 10
    gaps = observed.copy()
    gaps[::7] = np.nan  # missing days are left out of both sides, not counted as zero or as replicas
    assert traffic_ppc(gaps, same)["ok"]
    with pytest.raises(ValueError, match=r"replicated must be \(draws, 730 days\)"):
        traffic_ppc(observed, same[:, :100])
