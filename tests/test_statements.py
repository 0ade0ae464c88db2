"""Risk statements: every number in every sentence re-derived from the draws here, independently."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest
import xarray as xr

from bayescap import usl
from bayescap.dims import DATE, DRAW, SCENARIO, TIER
from bayescap.inputs.scenario_types import EventRule, Finance
from bayescap.simulate import risk_statements, simulate, statements
from bayescap.simulate.fmt import fmt_month, fmt_num, fmt_pct, fmt_range, fmt_signed, fmt_usd, range_sig, round_sig
from bayescap.simulate.statements import fleet_cost_statement, runway_statement
from bayescap.simulate.synthetic import synthetic_capacity, synthetic_prices, synthetic_scenario, synthetic_traffic

SEED = 20261126
PRICES = synthetic_prices()
DRAWS = 300


@pytest.fixture(scope="module")
def run():
    finance = Finance(cash_usd=2_500_000.0, monthly_burn_usd=160_000.0, funding_date=dt.date(2026, 12, 14),
                      value_per_visitor_usd=0.02)
    base = synthetic_scenario("baseline", horizon_days=63, finance=finance)
    aggressive = dataclasses.replace(
        base, name="aggressive", events=(EventRule("sale", weekday=3, intensity=2.2),),
        finance=dataclasses.replace(finance, ad_spend_per_extra_visitor_usd=0.01))
    late = dataclasses.replace(base, name="late-funding",
                               finance=dataclasses.replace(finance, funding_date=dt.date(2028, 1, 1)))
    scenarios = [base, aggressive, late]
    traffic = synthetic_traffic(scenarios, draws=DRAWS, seed=SEED)
    capacity = synthetic_capacity(scenarios, draws=DRAWS, seed=SEED + 1)
    sim = simulate(traffic, capacity, scenarios, PRICES)
    return scenarios, traffic, capacity, sim, risk_statements(sim, scenarios)


def _get(out, sid, scenario):
    found = [s for s in out if s["id"] == sid and s["scenario"] == scenario]
    assert len(found) == 1, (sid, scenario, [s["id"] for s in out if s["scenario"] == scenario])
    return found[0]


def _site_peaks(traffic, sc):
    v = (traffic["visits"] * traffic["peak_factor"]).sel({SCENARIO: sc.name}).transpose(DRAW, DATE).values
    return v * sc.requests_per_visit / 86_400.0


def test_every_statement_has_id_scenario_text_and_values(run):
    *_, out = run
    assert statements is risk_statements
    keys = set()
    for s in out:
        assert set(s) == {"id", "scenario", "text", "values"}
        assert s["text"].endswith(".") and len(s["text"]) < 400
        assert (s["id"], s["scenario"]) not in keys
        keys.add((s["id"], s["scenario"]))
    assert out[0]["scenario"] == "baseline"


def test_event_peak_statement_is_the_90th_percentile_of_the_busiest_sale_day(run):
    scenarios, traffic, _, sim, out = run
    for sc in scenarios[:2]:
        st = _get(out, "peak_rps_event", sc.name)
        ev = np.asarray(traffic["is_event"].sel({SCENARIO: sc.name}).values, bool)
        q90 = np.quantile(_site_peaks(traffic, sc)[:, ev].max(axis=1), 0.9)
        assert st["values"]["q90"] == pytest.approx(q90, rel=1e-9)
        shown = fmt_num(q90, mode="up")
        assert f"stays below {shown} req/s" in st["text"]
        assert float(shown.replace(",", "")) >= q90 and float(shown.replace(",", "")) <= q90 * 1.01
        assert "sale day (Thursdays)" in st["text"] and f"({ev.sum()} days" in st["text"]
    assert (_get(out, "peak_rps_event", "aggressive")["values"]["q90"]
            > _get(out, "peak_rps_event", "baseline")["values"]["q90"])
    normal = _get(out, "peak_rps_normal", "baseline")
    ev = np.asarray(traffic["is_event"].sel({SCENARIO: "baseline"}).values, bool)
    assert normal["values"]["q90"] == pytest.approx(np.quantile(_site_peaks(traffic, scenarios[0])[:, ~ev].max(1), 0.9))


def test_fleet_statement_numbers_come_from_a_brute_force_overload_count(run):
    scenarios, traffic, capacity, sim, out = run
    sc = scenarios[0]
    ev = np.asarray(traffic["is_event"].sel({SCENARIO: sc.name}).values, bool)
    for tier in ("static", "app"):
        t = sc.tier(tier)
        demand = _site_peaks(traffic, sc)[:, ev] * t.share * t.cost_multiplier
        c = capacity.sel({SCENARIO: sc.name, TIER: tier})
        m = np.arange(1, 300)
        x = usl.throughput(m[None, :], c["sigma_cluster"].values[:, None], c["kappa_cluster"].values[:, None],
                           c["node_throughput"].values[:, None]) * sc.fleet.target_utilisation
        p_any = (demand[:, :, None] > x[:, None, :]).any(axis=1).mean(axis=0)
        first = int(m[np.flatnonzero(p_any <= 0.05 + 1e-12)[0]])
        st = _get(out, f"fleet_{tier}", sc.name)
        assert st["values"]["servers"] == first
        assert st["values"]["p_overload"] == pytest.approx(p_any[first - 1], abs=1e-12)
        assert st["text"].startswith(f"{first} {tier} servers ({t.instance_type}) keep the chance of overload on any sale day")
        assert f"at or below 5% (it is {fmt_pct(p_any[first - 1])})" in st["text"]


def test_infeasible_draws_are_said_plainly(run):
    scenarios, traffic, capacity, sim, out = run
    sc = scenarios[1]  # aggressive sales push the app tier past what c6i.2xlarge fleets can serve in some draws
    t = sc.tier("app")
    demand = _site_peaks(traffic, sc) * t.share
    c = capacity.sel({SCENARIO: sc.name, TIER: "app"})
    x_max = usl.max_throughput(c["sigma_cluster"].values, c["kappa_cluster"].values, c["node_throughput"].values)
    m = np.arange(1, 2000)
    x_int = usl.throughput(m[None, :], c["sigma_cluster"].values[:, None], c["kappa_cluster"].values[:, None],
                           c["node_throughput"].values[:, None]).max(axis=1) * sc.fleet.target_utilisation
    share = float((demand.max(axis=1) > x_int).mean())
    assert 0 < share < 0.5 and np.all(x_int <= x_max * sc.fleet.target_utilisation + 1e-9)
    st = _get(out, "infeasible_app", sc.name)
    assert st["values"]["share"] == pytest.approx(share)
    assert st["text"].startswith(f"In {fmt_pct(share)} of draws the app peak on some day exceeds")
    assert "no fleet of this type is enough" in st["text"]
    cost = _get(out, "monthly_cost", sc.name)
    assert f"In {fmt_pct(cost['values']['undefined_share'])} of draws" in cost["text"]
    assert not [s for s in out if s["id"] == "infeasible_static" and s["scenario"] == "baseline"]


def test_cost_and_runway_statements_are_quantiles_of_the_per_draw_values(run):
    scenarios, traffic, _, sim, out = run
    cost = sim["monthly_cost_usd"]
    for sc in scenarios:
        c = cost.sel({SCENARIO: sc.name}).values
        c = c[np.isfinite(c)]
        st = _get(out, "monthly_cost", sc.name)
        lo, hi = np.quantile(c, [0.05, 0.95])
        assert st["values"]["q05"] == pytest.approx(lo) and st["values"]["q95"] == pytest.approx(hi)
        assert f"is {fmt_range(lo, hi, 'usd', 2)} (90% interval" in st["text"]
    base = sim["runway_months"].sel({SCENARIO: "baseline"}).values
    st = _get(out, "runway", "baseline")
    b = base[np.isfinite(base)]
    assert st["text"].startswith(f"Runway is {fmt_num(np.median(b))} months (90%: {fmt_range(*np.quantile(b, [0.05, 0.95]))})")
    dates = np.sort(sim["cash_out_date"].sel({SCENARIO: "baseline"}).values)
    assert f"cash runs out around {fmt_month(dates[(dates.size - 1) // 2])}" in st["text"]
    aggr = sim["runway_months"].sel({SCENARIO: "aggressive"}).values
    d = aggr - base
    d = d[np.isfinite(d)]
    st = _get(out, "runway", "aggressive")
    a = aggr[np.isfinite(aggr)]
    assert st["text"].startswith(f"Runway falls from {fmt_num(np.median(b))} to {fmt_num(np.median(a))} months")
    q05, q95 = np.quantile(d, [0.05, 0.95])
    assert st["values"]["diff_median"] == pytest.approx(np.median(d))
    assert f"the change is {fmt_signed(np.median(d), 2)} months (90%: {fmt_signed(q05, 2)} to {fmt_signed(q95, 2)})" in st["text"]


def test_finance_statements_recomputed_and_out_of_horizon_funding_is_explained(run):
    scenarios, traffic, _, sim, out = run
    v = traffic["visits"].sel({SCENARIO: "baseline"}).transpose(DRAW, DATE).values
    before = traffic[DATE].values < np.datetime64("2026-12-14")
    lo, hi = np.quantile(v[:, before].sum(axis=1), [0.05, 0.95])
    st = _get(out, "visitors_funding", "baseline")
    assert st["values"]["q05"] == pytest.approx(lo) and f"gets {fmt_range(lo, hi, 'num', 2)} visitors" in st["text"]
    val = _get(out, "valuation", "baseline")
    assert val["values"]["q95"] == pytest.approx(0.02 * hi)
    late = _get(out, "visitors_funding", "late-funding")
    assert "outside the forecast horizon" in late["text"]
    assert not [s for s in out if s["id"] == "valuation" and s["scenario"] == "late-funding"]
    ads = _get(out, "ad_spend", "aggressive")
    va = traffic["visits"].sel({SCENARIO: "aggressive"}).transpose(DRAW, DATE).values.sum(1)
    extra = va - v.sum(1)
    assert ads["values"]["q95"] == pytest.approx(0.01 * np.quantile(np.maximum(extra, 0), 0.95))


@pytest.mark.parametrize(
    ("value", "kwargs", "text"),
    [(14213.7, {"mode": "up"}, "14,300"), (14213.7, {}, "14,200"), (12.47, {}, "12.5"), (3.1e6, {}, "3.1 million"),
     (0.0312, {}, "0.0312"), (999.6, {}, "1,000"), (14.03, {}, "14")],
)
def test_numbers_are_rounded_for_reading(value, kwargs, text):
    assert fmt_num(value, **kwargs) == text


def test_rounding_helpers():
    assert round_sig(14200.000000001, 3, "up") == 14200
    assert fmt_pct(0.05) == "5%" and fmt_pct(0.032) == "3.2%" and fmt_pct(0.0004) == "<0.1%" and fmt_pct(0.0) == "0%"
    assert fmt_usd(3127.0, 2) == "$3,100" and fmt_range(3127.0, 4790.0, "usd", 2) == "$3,100–$4,800"
    assert fmt_range(2.41e6, 3.33e6, "usd", 2) == "$2.4–3.3 million"
    assert fmt_range(16.57, 16.61) == "16.57–16.61"  # more digits rather than a collapsed interval
    assert range_sig(16.57, 16.61) == 4 and range_sig(14.2, 16.6) == 3 and range_sig(5.0, 5.0) == 3
    assert fmt_range(14.925, 14.93) == "14.925–14.930" and fmt_num(14.8, 4) == "14.80"  # extra figures keep zeros
    assert fmt_signed(-1.53, 2) == "-1.5" and fmt_signed(0.25, 2) == "+0.25"


def test_a_narrow_runway_interval_and_its_medians_share_their_figures():
    rng = np.random.default_rng(3)
    base = 14.88 + 0.003 * rng.standard_normal(400)
    auto = 14.927 + 0.0015 * rng.standard_normal(400)
    cash = np.full((2, 400), np.datetime64("2028-01-15", "ns"))
    sim = xr.Dataset(
        {"runway_months": ((SCENARIO, DRAW), np.stack([base, auto])), "cash_out_date": ((SCENARIO, DRAW), cash)},
        coords={SCENARIO: ["baseline", "autoscale"]},
    )
    st = runway_statement(sim, "autoscale", "baseline")
    lo, hi = np.quantile(auto, [0.05, 0.95])
    sig = range_sig(lo, hi)
    assert sig > 3  # at 3 figures both ends would read 14.9
    assert st["text"].startswith(f"Runway rises from {fmt_num(np.median(base), sig)} to {fmt_num(np.median(auto), sig)} "
                                 f"months (90%: {fmt_range(lo, hi)})")
    assert round_sig(lo, sig) <= round_sig(np.median(auto), sig) <= round_sig(hi, sig)


def test_fleet_cost_statement_prices_the_recommended_fleets(run):
    """The recommended fleets' monthly cost, from the fleet statements' server counts and the price table, and only
    where the fleet is a static purchase that meets the target in every tier."""
    said = 0
    scenarios, _, _, sim, out = run
    for sc in scenarios:
        servers = {t.name: _get(out, f"fleet_{t.name}", sc.name)["values"]["servers"] for t in sc.tiers}
        if None in servers.values():  # a tier where no fleet meets the target: its fleet statement says so
            assert not [s for s in out if s["id"] == "fleet_cost" and s["scenario"] == sc.name]
            continue
        total = sum(servers[t.name] * PRICES.loc[t.instance_type, "usd_per_hour"] * 730.0 for t in sc.tiers)
        st = _get(out, "fleet_cost", sc.name)
        assert st["values"]["monthly_cost_usd"] == pytest.approx(total, rel=1e-9)
        assert st["values"]["servers"] == servers
        fleet = " and ".join(f"{servers[t.name]} {t.name}" for t in sc.tiers)
        assert st["text"].startswith(f"Buying the recommended fleet ({fleet} servers) costs {fmt_usd(total)} per month")
        # it comes just before the cost range it is contrasted with
        ids = [s["id"] for s in out if s["scenario"] == sc.name]
        assert ids.index("fleet_cost") + 1 == ids.index("monthly_cost")
        said += 1
    assert said >= 2
    autoscaled = sim.assign(policy=(SCENARIO, np.array(["autoscale"] * sim.sizes[SCENARIO])))
    assert fleet_cost_statement(autoscaled, "baseline") is None
