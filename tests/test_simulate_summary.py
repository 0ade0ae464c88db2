"""summary.json parts: every quantile recomputed from the draws; differences taken draw by draw."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import numpy as np
import pytest

from bayescap.dims import DATE, DRAW, SCENARIO, TIER
from bayescap.errors import InputError
from bayescap.inputs.scenario_types import EventRule, Finance, TierSpec
from bayescap.simulate import simulate, summarise
from bayescap.simulate.summary import QUANTILES, quantile_summary
from bayescap.simulate.synthetic import synthetic_capacity, synthetic_prices, synthetic_scenario, synthetic_traffic

SEED = 20261126
PRICES = synthetic_prices()


@pytest.fixture(scope="module")
def run():
    finance = Finance(cash_usd=2_000_000.0, monthly_burn_usd=150_000.0, funding_date=dt.date(2026, 12, 1),
                      value_per_visitor_usd=0.01, ad_spend_per_extra_visitor_usd=None)
    tiers = (TierSpec("static", 0.7, "c6i.large"), TierSpec("app", 0.3, "c6i.2xlarge"))
    base = synthetic_scenario("baseline", horizon_days=42, tiers=tiers, finance=finance,
                              events=(EventRule("sale", weekday=3), EventRule("launch", dates=(dt.date(2026, 11, 20),))))
    push = dataclasses.replace(base, name="push", events=(EventRule("sale", weekday=3, intensity=1.5),
                                                           EventRule("launch", dates=(dt.date(2026, 11, 20),))),
                               finance=dataclasses.replace(finance, ad_spend_per_extra_visitor_usd=0.02))
    scenarios = [base, push]
    traffic = synthetic_traffic(scenarios, draws=300, seed=SEED)
    capacity = synthetic_capacity(scenarios, draws=300, seed=SEED + 1)
    sim = simulate(traffic, capacity, scenarios, PRICES)
    return scenarios, traffic, sim, summarise(sim, scenarios)


def _q(values):
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    method = "inverted_cdf" if np.all(v == np.round(v)) else "linear"  # whole-number draws: a value they take
    return {k: float(np.quantile(v, p, method=method)) for k, p in QUANTILES.items()}


def _check(metric: dict, draws) -> None:
    expected = _q(draws)
    for key, value in expected.items():
        assert metric[key] == pytest.approx(value, rel=1e-9, abs=1e-9), key
    assert set(QUANTILES) | {"label", "unit", "undefined_share"} <= set(metric)
    assert set(metric) - set(QUANTILES) - {"label", "unit", "undefined_share"} <= {"source", "tier", "event_type"}


def test_each_metric_names_the_saved_draws_it_summarises(run):
    _, _, sim, summary = run
    for sc in summary["scenarios"]:
        for mid, metric in sc["metrics"].items():
            da = sim[metric["source"]].sel({SCENARIO: sc["name"]})
            sel = {k: metric[k] for k in ("tier", "event_type") if k in metric}
            da = da.sel(sel)
            assert da.dims == (DRAW,), mid
            _check(metric, da.values)


def test_metric_quantiles_match_an_independent_recomputation_from_the_draws(run):
    scenarios, traffic, sim, summary = run
    for sc, out in zip(scenarios, summary["scenarios"], strict=True):
        s = {SCENARIO: sc.name}
        m = out["metrics"]
        site = (traffic["visits"] * traffic["peak_factor"]).sel(s).transpose(DRAW, DATE).values * sc.requests_per_visit / 86_400.0
        np.testing.assert_allclose(sim["site_peak_rps"].sel(s).transpose(DRAW, DATE).values, site, rtol=1e-6)  # float32 store
        labels = sim["event_of_day"].sel(s).values
        _check(m["peak_rps_event"], site[:, labels != ""].max(axis=1))
        _check(m["peak_rps_event_sale"], site[:, labels == "sale"].max(axis=1))
        _check(m["peak_rps_event_launch"], site[:, labels == "launch"].max(axis=1))
        _check(m["peak_rps_normal"], site[:, labels == ""].max(axis=1))
        for tier in ("static", "app"):
            servers = sim["servers_needed"].sel({**s, TIER: tier}).transpose(DRAW, DATE).values
            _check(m[f"servers_{tier}"], np.where(np.isnan(servers).any(1), np.nan, np.nanmax(servers, axis=1)))
        hours = sim["server_hours"].sel(s).transpose(DRAW, DATE, TIER).values
        price = np.array([PRICES.loc[sc.tier(t).instance_type, "usd_per_hour"] for t in ("static", "app")])
        cost = (hours.mean(axis=1) * price).sum(axis=1) * 730.0 / 24.0
        _check(m["monthly_cost"], cost)
        _check(m["runway"], sc.finance.cash_usd / (sc.finance.monthly_burn_usd + cost
                                                  + np.nan_to_num(sim["ad_spend_usd"].sel(s).values) / (42 / 30.4375)))
        visits = traffic["visits"].sel(s).transpose(DRAW, DATE).values
        _check(m["visitors_horizon"], visits.sum(axis=1))
        before = traffic[DATE].values < np.datetime64("2026-12-01")
        _check(m["visitors_by_funding"], visits[:, before].sum(axis=1))
        _check(m["valuation"], 0.01 * visits[:, before].sum(axis=1))
    assert "ad_spend" not in summary["scenarios"][0]["metrics"]
    assert "ad_spend" in summary["scenarios"][1]["metrics"]


def test_differences_are_per_draw_not_differences_of_medians(run):
    scenarios, _, sim, summary = run
    (diff,) = summary["differences"]
    assert diff["scenario"] == "push" and diff["vs"] == "baseline"
    peak = sim["site_peak_event_max"]
    d = peak.sel({SCENARIO: "push"}).values - peak.sel({SCENARIO: "baseline"}).values
    _check(diff["metrics"]["peak_rps_event"], d)
    r = sim["runway_months"]
    d_r = r.sel({SCENARIO: "push"}).values - r.sel({SCENARIO: "baseline"}).values
    _check(diff["metrics"]["runway"], d_r)
    med_of_diff = diff["metrics"]["runway"]["median"]
    diff_of_med = summary["scenarios"][1]["metrics"]["runway"]["median"] - summary["scenarios"][0]["metrics"]["runway"]["median"]
    assert med_of_diff != pytest.approx(diff_of_med, rel=1e-6)  # they genuinely differ
    # common random numbers: the per-draw difference is far tighter than either scenario's spread
    width_diff = diff["metrics"]["peak_rps_event"]["q95"] - diff["metrics"]["peak_rps_event"]["q05"]
    width_base = summary["scenarios"][0]["metrics"]["peak_rps_event"]["q95"] - summary["scenarios"][0]["metrics"]["peak_rps_event"]["q05"]
    assert width_diff < width_base
    assert "ad_spend" not in diff["metrics"]  # only in one of the two


def test_fleet_block_follows_the_summary_schema_and_is_plain_json(run):
    scenarios, _, sim, summary = run
    text = json.dumps(summary, allow_nan=False)  # no NaN or inf may leak into summary.json
    assert json.loads(text) == summary
    fleet = summary["scenarios"][0]["fleet"]["app"]
    for key in ("instance_type", "servers", "p_overload_any_event_day", "p_overload_event_day",
                "p_overload_normal_day", "monthly_cost_usd", "infeasible_share"):
        assert key in fleet
    at = {SCENARIO: "baseline", TIER: "app"}
    assert fleet["servers"] == int(sim["fleet_recommended"].sel(at).item())
    assert fleet["p_overload_any_event_day"] <= scenarios[0].fleet.overload_target
    assert fleet["monthly_cost_usd"] == pytest.approx(fleet["servers"] * 0.34 * 730.0)
    assert summary["scenarios"][0]["description"].startswith("42 days")


def test_quantile_summary_reports_the_share_of_undefined_draws():
    out = quantile_summary(np.array([1.0, 2.0, 3.0, np.nan]))
    assert out["undefined_share"] == 0.25 and out["median"] == 2.0
    assert quantile_summary(np.array([np.nan, np.nan]))["median"] is None


def test_unknown_baseline_or_missing_scenario_is_an_input_error(run):
    scenarios, _, sim, _ = run
    with pytest.raises(InputError, match="baseline"):
        summarise(sim, scenarios, baseline="nope")
    with pytest.raises(InputError, match="missing"):
        summarise(sim, scenarios[:1])
    flipped = summarise(sim, scenarios, baseline="push")
    assert flipped["differences"][0]["scenario"] == "baseline"


def test_whole_number_draws_get_whole_number_quantiles():
    """Servers are whole numbers: their interval reads 0-17, not the interpolated 0-17.05; other draws interpolate."""
    servers = np.array([0.0] * 90 + [17.0] * 5 + [18.0] * 5)
    out = quantile_summary(servers)
    assert out["q95"] == 17.0 and out["median"] == 0.0 and out["q975"] == 18.0
    assert np.quantile(servers, 0.95) == pytest.approx(17.05)  # what linear interpolation would have said
    cost = servers * 123.45 + 0.5
    assert quantile_summary(cost)["q95"] == pytest.approx(np.quantile(cost, 0.95))
