"""Scenario engine: every number checked against an independent recomputation from the draws."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bayescap import usl
from bayescap.dims import DATE, DRAW, NODES, SCENARIO, TIER
from bayescap.errors import InputError
from bayescap.inputs.scenario_types import EventRule, Finance, FleetPolicy, TierSpec
from bayescap.simulate import simulate, summarise
from bayescap.simulate.engine import DAYS_PER_MONTH, HOURS_PER_MONTH
from bayescap.simulate.profile import cosine_profile, lagged_hour_weights
from bayescap.simulate.servers import fleet_bounds, servers_for
from bayescap.simulate.synthetic import (
    synthetic_capacity,
    synthetic_prices,
    synthetic_scenario,
    synthetic_traffic,
)

SEED = 20261126
DRAWS = 240
HORIZON = 56
PRICES = synthetic_prices()


def _scenarios():
    base = synthetic_scenario("baseline", horizon_days=HORIZON)
    aggressive = dataclasses.replace(base, name="aggressive", events=(EventRule("sale", weekday=3, intensity=1.6),))
    lighter = dataclasses.replace(
        base, name="lighter-app",
        tiers=(base.tiers[0], dataclasses.replace(base.tiers[1], cost_multiplier=0.8)))
    auto = dataclasses.replace(base, name="autoscale", fleet=FleetPolicy(policy="autoscale", provisioning_lag_hours=2))
    return [base, aggressive, lighter, auto]


@pytest.fixture(scope="module")
def world():
    scenarios = _scenarios()
    traffic = synthetic_traffic(scenarios, draws=DRAWS, seed=SEED)
    capacity = synthetic_capacity(scenarios, draws=DRAWS, seed=SEED + 1)
    sim = simulate(traffic, capacity, scenarios, PRICES)
    return scenarios, traffic, capacity, sim


def _demand(traffic, capacity_unused, scenario, tier):
    """Tier load recomputed in float64 straight from the traffic draws (draw x date)."""
    t = scenario.tier(tier)
    v = traffic["visits"].sel({SCENARIO: scenario.name}).transpose(DRAW, DATE).values
    pf = traffic["peak_factor"].sel({SCENARIO: scenario.name}).transpose(DRAW, DATE).values
    return v * scenario.requests_per_visit * pf / 86_400.0 * t.share * t.cost_multiplier


def _cluster(capacity, scenario, tier, m):
    """X_cluster(m) * u per draw, straight from bayescap.usl."""
    c = capacity.sel({SCENARIO: scenario.name, TIER: tier})
    x = usl.throughput(np.asarray(m, float)[None, :], c["sigma_cluster"].values[:, None],
                       c["kappa_cluster"].values[:, None], c["node_throughput"].values[:, None])
    return x * scenario.fleet.target_utilisation  # draw x m


# ----------------------------------------------------------------------------- closed form


def test_closed_form_bounds_match_brute_force_search_including_retrograde_curves():
    rng = np.random.default_rng(SEED)
    n = 4000
    demand = rng.uniform(0, 2000, n)
    lam = rng.uniform(50, 600, n)
    sigma = rng.uniform(0, 0.2, n)
    kappa = np.where(rng.random(n) < 0.25, 0.0, rng.uniform(0, 0.01, n))
    lo, hi = fleet_bounds(demand, lam, sigma, kappa, 0.7)
    m = np.arange(1, 5001, dtype=float)[None, :]
    ok = usl.throughput(m, sigma[:, None], kappa[:, None], lam[:, None]) * 0.7 >= demand[:, None]
    first = np.where(ok.any(1), ok.argmax(1) + 1.0, np.inf)
    last = np.where(ok.any(1), m.size - ok[:, ::-1].argmax(1), np.inf)
    inside = lo < m.size  # the brute force only sees fleets up to 5000
    assert inside.mean() > 0.4 and np.isinf(lo).mean() > 0.02  # both regimes exercised
    np.testing.assert_array_equal(lo[inside | np.isinf(first)], first[inside | np.isinf(first)])
    retro = np.isfinite(hi) & (hi < m.size)
    assert retro.sum() > 100
    np.testing.assert_array_equal(hi[retro], last[retro])
    # servers_for never returns a huge count: NaN exactly where no fleet suffices
    s = servers_for(demand, lam, sigma, kappa, 0.7)
    assert np.array_equal(np.isnan(s), np.isinf(lo))


# ----------------------------------------------------------------------------- overload risk


def test_overload_probabilities_match_direct_count_from_the_draws(world):
    scenarios, traffic, capacity, sim = world
    nodes = sim[NODES].values
    for sc in scenarios[:2]:
        ev = sim["is_event"].sel({SCENARIO: sc.name}).values
        for tier in ("static", "app"):
            d = _demand(traffic, capacity, sc, tier)
            cap = _cluster(capacity, sc, tier, nodes)  # draw x m
            over = d[:, :, None] > cap[:, None, :]  # draw x date x m
            at = {SCENARIO: sc.name, TIER: tier}
            np.testing.assert_allclose(sim["p_overload_event_day"].sel(at).values, over[:, ev].mean(axis=(0, 1)), atol=1e-12)
            np.testing.assert_allclose(sim["p_overload_normal_day"].sel(at).values, over[:, ~ev].mean(axis=(0, 1)), atol=1e-12)
            np.testing.assert_allclose(sim["p_overload_any_event_day"].sel(at).values, over[:, ev].any(axis=1).mean(axis=0), atol=1e-12)
            # the recommended fleet: smallest m >= min_servers meeting the target, by brute force over m
            grid = np.arange(1, 400)
            p_any = (d[:, ev][:, :, None] > _cluster(capacity, sc, tier, grid)[:, None, :]).any(axis=1).mean(axis=0)
            meets = np.flatnonzero((p_any <= sc.fleet.overload_target + 1e-12) & (grid >= sc.fleet.min_servers))
            rec = sim["fleet_recommended"].sel(at).item()
            assert rec == grid[meets[0]]
            assert sim["fleet_p_overload_any_event_day"].sel(at).item() == pytest.approx(p_any[meets[0]], abs=1e-12)
            assert sim["fleet_p_overload_any_event_day"].sel(at).item() <= sc.fleet.overload_target
            assert sim["fleet_cost_monthly_usd"].sel(at).item() == pytest.approx(
                rec * PRICES.loc[sc.tier(tier).instance_type, "usd_per_hour"] * HOURS_PER_MONTH)


def test_servers_needed_is_the_smallest_sufficient_fleet_every_day(world):
    scenarios, traffic, capacity, sim = world
    sc = scenarios[0]
    d = _demand(traffic, capacity, sc, "app")
    servers = sim["servers_needed"].sel({SCENARIO: sc.name, TIER: "app"}).transpose(DRAW, DATE).values
    ok = ~np.isnan(servers)
    assert ok.mean() > 0.9
    s = servers[ok].astype(int)
    c = capacity.sel({SCENARIO: sc.name, TIER: "app"})
    args = [np.broadcast_to(c[v].values[:, None], d.shape)[ok] for v in ("sigma_cluster", "kappa_cluster", "node_throughput")]
    u = sc.fleet.target_utilisation
    assert np.all(usl.throughput(s, *args) * u >= d[ok])
    smaller = s - 1
    assert np.all((smaller < sc.fleet.min_servers) | (usl.throughput(np.maximum(smaller, 1), *args) * u < d[ok]))
    np.testing.assert_allclose(sim["peak_rps"].sel({SCENARIO: sc.name, TIER: "app"}).transpose(DRAW, DATE).values, d, rtol=1e-6)


# ----------------------------------------------------------------------------- scenario levers


def test_lower_cost_per_request_never_needs_more_servers_in_any_draw(world):
    _, _, _, sim = world
    base = sim.sel({SCENARIO: "baseline", TIER: "app"})
    light = sim.sel({SCENARIO: "lighter-app", TIER: "app"})
    both = ~np.isnan(base["servers_needed"].values)
    assert np.all(light["servers_needed"].values[both] <= base["servers_needed"].values[both])
    assert np.all(~np.isnan(light["servers_needed"].values[both]))  # never infeasible where the baseline was fine
    assert np.mean(light["servers_needed"].values[both] < base["servers_needed"].values[both]) > 0.3
    fb, fl = base["fleet_needed"].values, light["fleet_needed"].values
    assert np.all(fl[~np.isnan(fb)] <= fb[~np.isnan(fb)])
    assert light["fleet_recommended"].item() <= base["fleet_recommended"].item()
    # the static tier is untouched
    np.testing.assert_array_equal(sim["servers_needed"].sel({SCENARIO: "lighter-app", TIER: "static"}).values,
                                  sim["servers_needed"].sel({SCENARIO: "baseline", TIER: "static"}).values)


def test_aggressive_events_raise_event_day_peaks_and_leave_normal_days_unchanged(world):
    _, _, _, sim = world
    ev = sim["is_event"].sel({SCENARIO: "baseline"}).values
    assert np.array_equal(ev, sim["is_event"].sel({SCENARIO: "aggressive"}).values) and ev.sum() == 8
    base = sim["site_peak_rps"].sel({SCENARIO: "baseline"}).transpose(DRAW, DATE).values
    aggr = sim["site_peak_rps"].sel({SCENARIO: "aggressive"}).transpose(DRAW, DATE).values
    assert np.all(aggr[:, ev] > base[:, ev])
    np.testing.assert_array_equal(aggr[:, ~ev], base[:, ~ev])
    for tier in ("static", "app"):
        b = sim["servers_needed"].sel({SCENARIO: "baseline", TIER: tier}).transpose(DRAW, DATE).values
        a = sim["servers_needed"].sel({SCENARIO: "aggressive", TIER: tier}).transpose(DRAW, DATE).values
        np.testing.assert_array_equal(a[:, ~ev], b[:, ~ev])
    assert np.all(sim["site_peak_event_max"].sel({SCENARIO: "aggressive"}).values
                  > sim["site_peak_event_max"].sel({SCENARIO: "baseline"}).values)


def test_autoscaling_costs_no_more_than_the_static_fleet_and_lag_costs_more(world):
    scenarios, traffic, capacity, sim = world
    static = sim["monthly_cost_usd"].sel({SCENARIO: "baseline"}).values
    auto = sim["monthly_cost_usd"].sel({SCENARIO: "autoscale"}).values
    ok = np.isfinite(static) & np.isfinite(auto)
    assert np.all(auto[ok] <= static[ok] + 1e-9)
    assert np.median(auto[ok] / static[ok]) < 0.8
    # a longer provisioning lag never lowers the cost
    base = scenarios[0]
    lags = [dataclasses.replace(base, name=f"lag{n}", fleet=FleetPolicy(policy="autoscale", provisioning_lag_hours=n))
            for n in (0, 4)]
    sub = simulate(traffic.sel({SCENARIO: ["baseline"] * 2}).assign_coords({SCENARIO: ["lag0", "lag4"]}),
                   capacity.sel({SCENARIO: ["baseline"] * 2}).assign_coords({SCENARIO: ["lag0", "lag4"]}), lags, PRICES)
    c0, c4 = (sub["monthly_cost_usd"].sel({SCENARIO: n}).values for n in ("lag0", "lag4"))
    ok = np.isfinite(c0)
    assert np.all(c4[ok] >= c0[ok]) and np.mean(c4[ok] > c0[ok]) > 0.5


# ----------------------------------------------------------------------------- hand calculations


def _flat_world(*, visits=86_400.0, peak_factor=2.0, draws=3, days=10, kappa=0.0, sigma=0.0, node=100.0):
    """Constant traffic and linear-scaling capacity: numbers a person can check on paper."""
    tiers = (TierSpec("static", 0.75, "c6i.large"), TierSpec("app", 0.25, "c6i.2xlarge"))
    sc = synthetic_scenario(
        "flat", horizon_days=days, tiers=tiers, events=(EventRule("sale", weekday=3),),
        fleet=FleetPolicy(target_utilisation=0.5, overload_target=0.05, min_servers=1),
        finance=Finance(cash_usd=1_000_000.0, monthly_burn_usd=50_000.0, funding_date=dt.date(2026, 11, 7),
                        value_per_visitor_usd=2.0),
        requests_per_visit=25.0)
    dates = pd.date_range(sc.start, periods=days, freq="D")
    is_event = np.asarray(dates.day_of_week == 3)
    traffic = xr.Dataset(
        {"visits": ((DRAW, DATE), np.full((draws, days), visits)),
         "peak_factor": ((DRAW, DATE), np.full((draws, days), peak_factor))},
        coords={DRAW: np.arange(draws), DATE: dates, "is_event": (DATE, is_event),
                "event_type": (DATE, np.where(is_event, "sale", ""))})
    capacity = xr.Dataset(
        {"node_throughput": ((DRAW, TIER), np.array([[4 * node, node]] * draws)),
         "sigma_cluster": ((DRAW, TIER), np.full((draws, 2), sigma)),
         "kappa_cluster": ((DRAW, TIER), np.full((draws, 2), kappa))},
        coords={DRAW: np.arange(draws), TIER: ["static", "app"]})
    return sc, traffic, capacity


def test_linear_scaling_reproduces_the_hand_calculation():
    sc, traffic, capacity = _flat_world(visits=20 * 86_400.0)
    sim = simulate(traffic, capacity, [sc], PRICES)
    # site peak = 20 x 86,400 x 25 x 2 / 86,400 = 1,000 req/s
    assert np.allclose(sim["site_peak_rps"].values, 1000.0)
    # app: 1,000 x 0.25 = 250 req/s; one node gives 100 x u = 50 => exactly 5 servers (boundary case)
    # static: 750 req/s; one node gives 400 x 0.5 = 200 => 3.75 -> 4 servers
    assert np.all(sim["servers_needed"].sel({TIER: "app"}).values == 5)
    assert np.all(sim["servers_needed"].sel({TIER: "static"}).values == 4)
    assert sim["fleet_recommended"].sel({TIER: "app"}).item() == 5
    assert sim["fleet_recommended"].sel({TIER: "static"}).item() == 4
    p_app = sim["p_overload_event_day"].sel({TIER: "app", SCENARIO: "flat"})
    assert p_app.sel({NODES: 4}).item() == 1.0 and p_app.sel({NODES: 5}).item() == 0.0
    # monthly cost: (4 x $0.085 + 5 x $0.34) x 730 h = $1,489.20
    cost = (4 * 0.085 + 5 * 0.34) * 730.0
    np.testing.assert_allclose(sim["monthly_cost_usd"].values, cost)
    # runway: $1,000,000 / ($50,000 + $1,489.20) = 19.4216 months
    runway = 1_000_000.0 / (50_000.0 + cost)
    np.testing.assert_allclose(sim["runway_months"].values, runway)
    expected_date = pd.Timestamp(sc.start) + pd.Timedelta(days=runway * DAYS_PER_MONTH)
    got = pd.Timestamp(sim["cash_out_date"].values[0, 0])
    assert abs((got - expected_date).total_seconds()) < 1.0
    # funding 2026-11-07, start 2026-11-02: five days of 1,728,000 visitors; valuation at $2/visitor
    np.testing.assert_allclose(sim["visitors_by_funding"].values, 5 * 20 * 86_400.0)
    np.testing.assert_allclose(sim["valuation_usd"].values, 2.0 * 5 * 20 * 86_400.0)


def test_linear_scaling_autoscale_follows_the_hourly_profile_by_hand():
    sc, traffic, capacity = _flat_world(visits=20 * 86_400.0)
    sc = dataclasses.replace(sc, fleet=FleetPolicy(policy="autoscale", target_utilisation=0.5, provisioning_lag_hours=0))
    sim = simulate(traffic, capacity, [sc], PRICES)
    p = cosine_profile()
    share = p / p.max()
    app = sum(max(1, int(np.ceil(5.0 * s - 1e-9))) for s in share)  # 250 req/s x share / 50 per server
    static = sum(max(1, int(np.ceil(3.75 * s - 1e-9))) for s in share)
    assert np.all(sim["server_hours"].sel({TIER: "app"}).values == app)
    assert np.all(sim["server_hours"].sel({TIER: "static"}).values == static)
    assert app < 24 * 5 and static < 24 * 4  # hours below the peak need fewer servers
    np.testing.assert_allclose(sim["monthly_cost_usd"].values, (app * 0.34 + static * 0.085) * 730.0 / 24.0)
    # with a lag the fleet covers the busiest of the next hours: weights sum to 24 and never fall below the profile
    fractions, hours = lagged_hour_weights(p, 3)
    assert hours.sum() == 24 and fractions.max() == 1.0 and fractions.min() >= share.min()


def test_runway_hand_calculation_with_ad_spend_over_the_baseline():
    sc, traffic, capacity = _flat_world(visits=20 * 86_400.0)
    push = dataclasses.replace(sc, name="push", finance=dataclasses.replace(sc.finance, ad_spend_per_extra_visitor_usd=0.5))
    tr = xr.concat([traffic, traffic.assign(visits=traffic["visits"] * 1.1)], dim=SCENARIO)
    tr = tr.assign_coords({SCENARIO: ["flat", "push"]})
    sim = simulate(tr, capacity, [sc, push], PRICES)
    extra = 0.1 * 20 * 86_400.0 * 10  # 10% more visitors for 10 days
    np.testing.assert_allclose(sim["ad_spend_usd"].sel({SCENARIO: "push"}).values, 0.5 * extra)
    assert np.all(np.isnan(sim["ad_spend_usd"].sel({SCENARIO: "flat"}).values))
    infra = sim["monthly_cost_usd"].sel({SCENARIO: "push"}).values
    months = 10 / DAYS_PER_MONTH
    np.testing.assert_allclose(sim["runway_months"].sel({SCENARIO: "push"}).values,
                               1_000_000.0 / (50_000.0 + infra + 0.5 * extra / months))


# ----------------------------------------------------------------------------- infeasible demand


def test_demand_beyond_the_peak_of_the_usl_curve_is_flagged_not_sized():
    # kappa' = 0.01, sigma' = 0: N* = 10 nodes and X(10) = 100 x 10 / (1 + 0.01 x 90) = 526 req/s, 263 at u = 0.5.
    # With 60x the visits the site peak is 3,000 req/s: app 750 req/s > 263, static 2,250 > 4 x 263. No fleet of
    # any size serves it, so the engine must say "infeasible" instead of returning a huge count.
    sc, traffic, capacity = _flat_world(visits=60 * 86_400.0, kappa=0.01)
    sim = simulate(traffic, capacity, [sc], PRICES)
    app = sim.sel({TIER: "app", SCENARIO: "flat"})
    assert 750.0 > usl.max_throughput(0.0, 0.01, 100.0) * 0.5
    assert np.all(np.isnan(app["servers_needed"].values)) and np.all(app["infeasible"].values)
    assert np.isnan(app["fleet_recommended"].item()) and app["infeasible_share"].item() == 1.0
    assert np.all(np.isnan(sim["monthly_cost_usd"].values)) and np.all(np.isnan(sim["runway_months"].values))
    assert np.all(app["p_overload_any_event_day"].values == 1.0)
    summary = summarise(sim, [sc])
    assert summary["scenarios"][0]["fleet"]["app"]["servers"] is None
    assert summary["scenarios"][0]["metrics"]["monthly_cost"]["undefined_share"] == 1.0


def test_infeasible_share_matches_a_brute_force_maximum_over_fleet_sizes(world):
    scenarios, traffic, capacity, _ = world
    heavy = synthetic_capacity(scenarios, draws=DRAWS, seed=SEED + 1, kappa=2e-3)
    sim = simulate(traffic, heavy, scenarios[:1], PRICES)
    sc = scenarios[0]
    for tier in ("static", "app"):
        d = _demand(traffic, heavy, sc, tier)
        x_max = _cluster(heavy, sc, tier, np.arange(1, 2000)).max(axis=1)
        bad_day = d > x_max[:, None]
        got = sim["infeasible"].sel({SCENARIO: sc.name, TIER: tier}).transpose(DRAW, DATE).values
        np.testing.assert_array_equal(got, bad_day)
        assert sim["infeasible_share"].sel({SCENARIO: sc.name, TIER: tier}).item() == pytest.approx(bad_day.any(1).mean())
    assert 0 < sim["infeasible_share"].sel({SCENARIO: sc.name, TIER: "app"}).item() < 1
    fleet = sim["fleet_needed"].sel({SCENARIO: sc.name}).values
    assert np.nanmax(fleet) < 2000  # never a huge count


# ----------------------------------------------------------------------------- dask and inputs


def test_dask_backed_inputs_give_the_same_result_as_numpy(world):
    scenarios, traffic, capacity, sim = world
    lazy = simulate(traffic.chunk({DRAW: 64}), capacity.chunk({DRAW: 64}), scenarios, PRICES)
    assert hasattr(lazy["peak_rps"].data, "dask") and not hasattr(lazy["runway_months"].data, "dask")
    xr.testing.assert_identical(lazy.compute(), sim)


def test_traffic_without_a_scenario_dim_is_shared_and_horizons_are_masked():
    short = synthetic_scenario("short", horizon_days=20)
    long = synthetic_scenario("long", horizon_days=30)
    traffic = synthetic_traffic([long], draws=50, seed=1).isel({SCENARIO: 0}, drop=True)
    capacity = synthetic_capacity([long], draws=50, seed=2).isel({SCENARIO: 0}, drop=True)
    sim = simulate(traffic, capacity, [long, short], PRICES)
    inh = sim["in_horizon"].sel({SCENARIO: "short"}).values
    assert inh.sum() == 20 and sim["in_horizon"].sel({SCENARIO: "long"}).values.all()
    assert np.all(np.isnan(sim["peak_rps"].sel({SCENARIO: "short"}).values[:, ~inh]))
    assert not sim["infeasible"].sel({SCENARIO: "short"}).values[:, ~inh].any()
    v = traffic["visits"].values
    np.testing.assert_allclose(sim["visitors_horizon"].sel({SCENARIO: "short"}).values, v[:, :20].sum(1))


def test_bad_inputs_raise_input_errors_that_say_what_is_wrong(world):
    scenarios, traffic, capacity, _ = world
    with pytest.raises(InputError, match="peak_factor"):
        simulate(traffic.drop_vars("peak_factor"), capacity, scenarios, PRICES)
    with pytest.raises(InputError, match="as many draws"):
        simulate(traffic, capacity.isel({DRAW: slice(0, 10)}), scenarios, PRICES)
    with pytest.raises(InputError, match="instance type of the price table"):
        simulate(traffic, capacity, scenarios, PRICES.drop(index="c6i.2xlarge"))
    bad = traffic.copy(deep=True)
    bad["visits"][0, 3, 5] = np.nan
    with pytest.raises(InputError, match="finite daily visits"):
        simulate(bad, capacity, scenarios, PRICES)
    with pytest.raises(InputError, match="sigma_cluster"):
        simulate(traffic, capacity.assign(sigma_cluster=capacity["sigma_cluster"] + 1.0), scenarios, PRICES)
    long = dataclasses.replace(scenarios[0], horizon_days=HORIZON + 5)
    with pytest.raises(InputError, match="one forecast day"):
        simulate(traffic, capacity, [long], PRICES)
    with pytest.raises(InputError, match="an entry for every scenario"):
        simulate(traffic, capacity, [dataclasses.replace(scenarios[0], name="nope")], PRICES)


def test_days_with_two_event_types_count_for_both():
    sc, traffic, capacity = _flat_world(visits=20 * 86_400.0)
    labels = traffic["event_type"].values.astype(object)
    labels[2] = "launch"
    labels[3] = "sale+launch"  # the traffic model's label for a day with both types
    traffic = traffic.assign_coords(event_type=(DATE, labels.astype(str)),
                                    is_event=(DATE, np.array([lab != "" for lab in labels])))
    traffic["visits"][:, 3] *= 2.0
    sim = simulate(traffic, capacity, [sc], PRICES)
    assert sorted(sim["event_type"].values.tolist()) == ["launch", "sale"]
    peaks = sim["site_peak_type_max"].sel({SCENARIO: "flat"})
    np.testing.assert_allclose(peaks.sel(event_type="launch").values, 2000.0)
    np.testing.assert_allclose(peaks.sel(event_type="sale").values, 2000.0)


def test_simulation_round_trips_through_netcdf(world, tmp_path):
    *_, sim = world
    path = tmp_path / "simulation.nc"
    xr.DataTree(sim).to_netcdf(path, engine="h5netcdf")
    back = xr.open_datatree(path, engine="h5netcdf").to_dataset().load()
    for name in ("servers_needed", "infeasible", "runway_months", "cash_out_date", "p_overload_any_event_day"):
        np.testing.assert_array_equal(back[name].values, sim[name].values)
    assert back["instance_type"].values.tolist() == sim["instance_type"].values.tolist()


def test_hourly_profile_from_intraday_logs_and_its_checks(repo):
    from bayescap.simulate.profile import hourly_profile_from_intraday

    raw = pd.read_csv(repo / "data" / "real" / "traffic" / "traffic_aws_elb_request_count_5min.csv")
    df = pd.DataFrame({"timestamp": pd.to_datetime(raw["timestamp"]), "count": raw["request_count"]})
    p = hourly_profile_from_intraday(df)
    assert p.shape == (24,) and p.mean() == pytest.approx(1.0)
    assert 17 <= int(np.argmax(p)) <= 20 and p.min() / p.max() == pytest.approx(0.44, abs=0.03)
    # the default cosine shape was chosen to resemble this series
    d = cosine_profile()
    assert d.min() / d.max() == pytest.approx(p.min() / p.max(), abs=0.03)
    with pytest.raises(InputError, match="every hour"):
        hourly_profile_from_intraday(df[df["timestamp"].dt.hour != 3])
    with pytest.raises(InputError, match="24 positive"):
        simulate(*_flat_world()[1:], [_flat_world()[0]], PRICES, hourly_profile=np.ones(12))


def test_a_minimum_fleet_beyond_the_retrograde_upper_root_is_infeasible():
    # kappa' = 0.01: app needs 100m / (1 + 0.01 m (m-1)) x 0.5 >= 250, i.e. m^2 - 21m + 100 <= 0: m in [8, 13];
    # static needs m^2 - 27.67m + 100 <= 0: m in [5, 23]. A minimum of 20 servers is too many for the app tier.
    sc, traffic, capacity = _flat_world(visits=20 * 86_400.0, kappa=0.01)
    sim = simulate(traffic, capacity, [sc], PRICES, nodes=np.arange(1, 31))
    assert sim[NODES].values.tolist() == list(range(1, 31))
    assert np.all(sim["servers_needed"].sel({TIER: "app"}).values == 8)
    assert np.all(sim["servers_needed"].sel({TIER: "static"}).values == 5)
    p = sim["p_overload_normal_day"].sel({TIER: "app", SCENARIO: "flat"})
    assert p.sel({NODES: 13}).item() == 0.0 and p.sel({NODES: 14}).item() == 1.0  # too many nodes overload too
    for minimum, app, static in ((10, 10.0, 10.0), (20, np.nan, 20.0)):
        s = dataclasses.replace(sc, fleet=dataclasses.replace(sc.fleet, min_servers=minimum))
        out = simulate(traffic, capacity, [s], PRICES)
        np.testing.assert_array_equal(out["servers_needed"].sel({TIER: "app"}).values, app)
        np.testing.assert_array_equal(out["servers_needed"].sel({TIER: "static"}).values, static)
        assert out["infeasible"].sel({TIER: "app"}).values.all() == bool(np.isnan(app))
