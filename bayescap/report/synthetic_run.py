"""A complete, SYNTHETIC run directory for testing the report (tests only; not a forecast).

Why: the report must be built and checked without fitting any model, and before the models
and the simulation exist. This module writes a run directory that follows the contracts of
``docs/architecture.md`` (``summary.json`` schema v1, ``posteriors.nc`` with ``/capacity`` and
``/traffic`` arviz groups, ``simulation.nc`` with dims draw x date x tier x scenario,
``manifest.json``), from seeded random draws of a simple made-up world. Its summary numbers
are quantiles of its own simulated draws, like a real run's, so the report's charts and
tables agree with each other. Every file says ``SYNTHETIC`` in its metadata.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from bayescap import usl
from bayescap.checks import model_checks
from bayescap.dims import CHAIN, CONFIG, DATE, DRAW, EVENT_TYPE, NODES, OBS, SCENARIO, TIER

SYNTHETIC_LABEL = "SYNTHETIC test run (made-up data, not a forecast)"
QUANTILES = {"q025": 0.025, "q05": 0.05, "q10": 0.10, "median": 0.5, "q90": 0.90, "q95": 0.95, "q975": 0.975}
HOURS_PER_MONTH = 730.0

_TIERS = {
    # tier: (share, instance type, usd/hour, configs {name: (sigma, kappa, lam)}, node cores)
    "static": (
        0.65,
        "c6i.xlarge",
        0.17,
        {"c6i.xlarge": (0.03, 0.0004, 1400.0), "c6i.2xlarge": (0.05, 0.0006, 1350.0)},
        4,
    ),
    "app": (0.35, "c6i.2xlarge", 0.34, {"c6i.4xlarge": (0.08, 0.002, 40.0), "m6i.2xlarge": (0.10, 0.003, 36.0)}, 8),
}
_SCENARIOS = (
    ("baseline", "The plan as it stands: a sale every Thursday.", 1.0, 1.0),
    ("aggressive-sales", "Sales twice as aggressive: twice the extra visitors on every sale day.", 2.0, 1.0),
    ("lighter-app", "Aggressive sales, and 20% less app CPU per request.", 2.0, 0.8),
    ("autoscale", "Aggressive sales on an autoscaled fleet.", 2.0, 1.0),
    ("marketing-push", "Aggressive sales plus a marketing push.", 2.2, 1.0),
    ("bigger-cache", "A bigger cache in front of the app tier.", 2.0, 0.7),
)


def _q(values: np.ndarray, axis: int | None = None) -> dict[str, float]:
    return {k: float(np.quantile(values, p, axis=axis)) for k, p in QUANTILES.items()}


def _q90(values: np.ndarray) -> dict[str, float]:
    return {k: float(np.quantile(values, p)) for k, p in (("median", 0.5), ("q05", 0.05), ("q95", 0.95))}


def _synthetic_sweep(rng: np.random.Generator, n_draws: int, tiers: list[str]) -> dict:
    """summary.json's ``sweep`` block (schema of ``bayescap.simulate.sweep``) from made-up draws: the sale's
    intensity at 1, 2, 3 and 4; at 4 the app tier has no fleet that meets the overload target."""
    intensities = [1.0, 2.0, 3.0, 4.0]
    visitors0 = rng.normal(1.2e8, 1.0e7, n_draws)
    extra = rng.normal(2.5e7, 4.0e6, n_draws)
    cost_noise = np.exp(rng.normal(0, 0.25, n_draws))
    points, diffs = [], []
    for i, k in enumerate(intensities):
        visitors = visitors0 + (k - 1) * extra
        cost = 1200.0 * (1 + 0.9 * (k - 1)) * cost_noise
        runway = 2_400_000 / (160_000 + cost)
        infeasible = 0.0 if k < 3 else 0.02 * (k - 2) ** 2
        runway = np.where(rng.random(n_draws) < infeasible, np.nan, runway)
        fleet = {t: {"instance_type": "c6i.xlarge" if t != "app" else "c6i.2xlarge",
                     "servers": None if (t == "app" and k >= 4) else int(2 + 3 * (k - 1) * (t == "app") + (k > 2)),
                     "monthly_cost_usd": None if (t == "app" and k >= 4) else float(248.2 * (2 + 3 * (k - 1))),
                     "p_overload_any_event_day": 0.04, "infeasible_share": infeasible if t == "app" else 0.0}
                 for t in tiers}
        costs = [f["monthly_cost_usd"] for f in fleet.values()]
        finite = runway[np.isfinite(runway)]
        points.append({
            "intensity": k, "scenario": f"sweep-{i}",
            "metrics": {"visitors_by_funding": {"label": "Visitors by the funding date", "unit": "visitors", **_q(visitors)},
                        "monthly_cost": {"label": "Monthly infrastructure cost", "unit": "USD/month", **_q(cost)},
                        "runway": {"label": "Runway", "unit": "months", **_q(finite)}},
            "fleet": fleet,
            "fleet_monthly_cost_usd": None if None in costs else float(sum(costs)),
            "fleet_meets_target": None not in costs,
            "p_runway_at_least_floor": float(np.mean(np.nan_to_num(runway, nan=-np.inf) >= 14.9)),
        })
        if i:
            diffs.append({"intensity": k, "vs_intensity": 1.0, "metrics": {
                "visitors_by_funding": {"label": "Visitors by the funding date", "unit": "visitors",
                                        **_q(visitors - visitors0)}}})
    ok = [p["intensity"] for p in points if p["fleet_meets_target"] and p["p_runway_at_least_floor"] >= 0.9]
    best = ok[-1] if ok else None
    rule = ("a fleet of the chosen instance types meets the overload target on every tier, and runway stays at "
            "or above 14.9 months with at least 90% probability")
    gain = _q90(3 * extra)
    statements = [
        f"Raising the sale intensity from 1 to 4 brings {gain['median'] / 1e6:.0f} million more visitors by the "
        f"funding date (90%: {gain['q05'] / 1e6:.0f}\u2013{gain['q95'] / 1e6:.0f} million).",
        f"From intensity 3, in {points[2]['fleet']['app']['infeasible_share']:.0%} of draws the app peak on some day "
        "exceeds what any number of c6i.2xlarge servers can deliver.",
        (f"The most aggressive intensity tried at which {rule} is {best:g}." if best is not None
         else f"No intensity tried (1 to 4) passes the rule: {rule}."),
    ]
    return {"scenario": "baseline", "event_types": ["sale"], "intensities": intensities, "policy": "static",
            "min_runway_months": 14.9,
            "points": points, "differences": diffs, "answer": {"max_intensity": best, "rule": rule, "text": statements[-1]},
            "statements": statements}


def write_synthetic_run(
    run_dir: str | Path,
    *,
    seed: int = 20261126,
    checks_fail: bool = False,
    n_scenarios: int = 4,
    draws: int = 400,
    horizon_days: int = 91,
    backtest: bool = True,
    scale_cost: bool = True,
    sweep: bool = True,
    drop: tuple[str, ...] = (),
) -> Path:
    """Write a synthetic run directory and return its path.

    Parameters
    ----------
    run_dir
        Folder to create (must not exist yet or be empty).
    checks_fail
        Give the capacity model 3 divergences and R-hat 1.02, so the report must be a DRAFT.
    n_scenarios
        1 to 6 scenarios (the first is the baseline).
    draws
        Simulation draws (posterior draws are ``2 x draws // 2``).
    backtest, scale_cost, sweep
        Include the optional ``backtest``, ``scale_cost`` and ``sweep`` sections of summary.json.
    drop
        Names of simulation variables or posterior groups (``"traffic/posterior_predictive"``) to leave
        out, to test that the report says what is missing instead of crashing.
    """
    if not 1 <= n_scenarios <= len(_SCENARIOS):
        raise ValueError(f"n_scenarios must be 1..{len(_SCENARIOS)}")
    rng = np.random.default_rng(seed)
    run = Path(run_dir)
    run.mkdir(parents=True, exist_ok=True)
    scenarios = _SCENARIOS[:n_scenarios]
    chains, per_chain = 2, draws // 2
    n_draws = chains * per_chain

    # ---------------- traffic history and forecast ----------------
    start = pd.Timestamp("2026-11-01")
    hist_dates = pd.date_range(start - pd.Timedelta(days=364), periods=364, freq="D")
    fut_dates = pd.date_range(start, periods=horizon_days, freq="D")
    is_sale_hist = hist_dates.day_of_week == 3
    is_sale_fut = fut_dates.day_of_week == 3
    base_level = 1_500_000.0
    weekday = np.array([1.0, 0.97, 0.95, 1.0, 1.05, 1.1, 1.08])
    lift_draws = np.exp(rng.normal(np.log(2.6), 0.06, n_draws))
    lift_draws_launch = np.exp(rng.normal(np.log(1.6), 0.15, n_draws))
    growth = np.exp(rng.normal(0.01, 0.004, n_draws))  # per month
    t_hist = np.arange(364) / 30.4
    hist_mean = base_level * weekday[hist_dates.day_of_week] * np.exp(0.01 * (t_hist - t_hist[-1]))
    hist_mean = hist_mean * np.where(is_sale_hist, 2.6, 1.0)
    history = hist_mean * np.exp(rng.normal(0, np.where(is_sale_hist, 0.12, 0.05)))
    t_fut = (np.arange(horizon_days) + 1) / 30.4
    base_fut = base_level * weekday[fut_dates.day_of_week][None, :] * growth[:, None] ** t_fut[None, :]
    noise = rng.normal(0, np.where(is_sale_fut, 0.12, 0.05)[None, :], (n_draws, horizon_days))
    peak_factor = np.where(is_sale_fut, 2.1, 1.6)[None, :] * np.exp(rng.normal(0, 0.05, (n_draws, 1)))
    requests_per_visit = 40.0

    # ---------------- capacity posterior ----------------
    cfg_names, cfg_tiers, true = [], [], []
    for tier, (_, _, _, cfgs, _) in _TIERS.items():
        for name, params in cfgs.items():
            cfg_names.append(name)
            cfg_tiers.append(tier)
            true.append(params)
    true = np.array(true)
    sig = np.clip(true[:, 0][None, :] * np.exp(rng.normal(0, 0.1, (n_draws, len(cfg_names)))), 1e-4, 0.9)
    kap = np.clip(true[:, 1][None, :] * np.exp(rng.normal(0, 0.15, (n_draws, len(cfg_names)))), 1e-6, 0.1)
    lam = true[:, 2][None, :] * np.exp(rng.normal(0, 0.03, (n_draws, len(cfg_names))))
    sig_cl = np.clip(rng.normal(0.01, 0.003, (n_draws, len(_TIERS))), 1e-4, None)
    kap_cl = np.clip(rng.normal(0.00002, 0.000005, (n_draws, len(_TIERS))), 1e-7, None)

    # load-test observations
    obs_cfg, obs_n, obs_x = [], [], []
    for j, name in enumerate(cfg_names):
        for n in (1, 2, 4, 8, 16, 24, 32):
            for _ in range(2):
                x = usl.throughput(n, true[j, 0], true[j, 1], true[j, 2]) * np.exp(rng.normal(0, 0.03))
                obs_cfg.append(name)
                obs_n.append(float(n))
                obs_x.append(float(x))
    obs_cfg_a, obs_n_a, obs_x_a = np.array(obs_cfg), np.array(obs_n), np.array(obs_x)
    cfg_index = np.array([cfg_names.index(c) for c in obs_cfg])
    pp_x = usl.throughput(obs_n_a[None, :], sig[:, cfg_index], kap[:, cfg_index], lam[:, cfg_index])
    pp_x = pp_x * np.exp(rng.normal(0, 0.03, pp_x.shape))

    # ---------------- simulation ----------------
    tiers = list(_TIERS)
    n_sc = len(scenarios)
    visits = np.empty((n_draws, horizon_days, n_sc))
    for s, (_, _, intensity, _) in enumerate(scenarios):
        lift = 1.0 + intensity * (lift_draws - 1.0)
        visits[:, :, s] = base_fut * np.exp(noise) * np.where(is_sale_fut[None, :], lift[:, None], 1.0)
    peak_rps = np.empty((n_draws, horizon_days, len(tiers), n_sc))
    servers = np.empty_like(peak_rps)
    m_grid = np.arange(1, 301, dtype=float)
    node_x = np.empty((n_draws, len(tiers)))
    for k, tier in enumerate(tiers):
        share, _, _, cfgs, cores = _TIERS[tier]
        j = cfg_names.index(next(iter(cfgs)))
        node_x[:, k] = usl.throughput(cores, sig[:, j], kap[:, j], lam[:, j])
        cluster = (
            usl.throughput(m_grid[None, :], sig_cl[:, k : k + 1], kap_cl[:, k : k + 1], node_x[:, k : k + 1]) * 0.7
        )
        best = np.maximum.accumulate(cluster, axis=1)
        for s, (_, _, _, mult) in enumerate(scenarios):
            mult_k = mult if tier == "app" else 1.0
            demand = visits[:, :, s] * requests_per_visit * peak_factor / 86_400.0 * share * mult_k
            peak_rps[:, :, k, s] = demand
            idx = np.array([np.searchsorted(best[d], demand[d]) for d in range(n_draws)])
            servers[:, :, k, s] = np.where(idx < m_grid.size, idx + 1.0, np.nan)
    prices = np.array([_TIERS[t][2] for t in tiers])
    peak_servers = np.nanmax(np.where(is_sale_fut[None, :, None, None], servers, 0.0), axis=1)  # draw, tier, scenario
    monthly_cost = np.einsum("dks,k->ds", peak_servers, prices) * HOURS_PER_MONTH
    cash, burn = 2_400_000.0, 160_000.0
    nodes = np.arange(0, 121)
    busiest = np.nanmax(np.where(is_sale_fut[None, :, None, None], np.nan_to_num(servers, nan=1e9), 0.0), axis=1)
    p_curve = (busiest[None, :, :, :] > nodes[:, None, None, None]).mean(axis=1)  # nodes, tier, scenario
    runway = cash / (burn + monthly_cost)

    # ---------------- summary.json ----------------
    metrics_by_sc, fleet_by_sc = [], []
    for s, (name, desc, _, _) in enumerate(scenarios):
        event_peak = np.max(np.where(is_sale_fut[None, :], peak_rps[:, :, :, s].sum(axis=2), 0.0), axis=1)
        metrics = {
            "peak_rps_event": {"label": "Busiest sale-day peak (all tiers)", "unit": "req/s", **_q(event_peak)},
            "monthly_cost": {"label": "Monthly infrastructure cost", "unit": "USD/month", **_q(monthly_cost[:, s])},
            "runway": {"label": "Runway", "unit": "months", **_q(runway[:, s])},
            "visitors_horizon": {
                "label": "Visitors over the horizon",
                "unit": "visitors",
                **_q(visits[:, :, s].sum(axis=1)),
            },
        }
        for k, tier in enumerate(tiers):
            metrics[f"servers_{tier}"] = {
                "label": f"Servers needed on the busiest day ({tier})",
                "unit": "servers",
                **_q(np.nan_to_num(peak_servers[:, k, s], nan=m_grid.size)),
            }
        fleet = {}
        for k, tier in enumerate(tiers):
            need = np.nan_to_num(np.nanmax(np.where(is_sale_fut[None, :], servers[:, :, k, s], 0), axis=1), nan=1e9)
            p_any = np.array([np.mean(need > m) for m in m_grid])
            m_ok = int(m_grid[np.argmax(p_any <= 0.05)])
            ev = servers[:, is_sale_fut, k, s]
            nm = servers[:, ~is_sale_fut, k, s]
            fleet[tier] = {
                "instance_type": _TIERS[tier][1],
                "servers": m_ok,
                "p_overload_any_event_day": float(np.mean(need > m_ok)),
                "p_overload_event_day": float(np.mean(np.nan_to_num(ev, nan=1e9) > m_ok)),
                "p_overload_normal_day": float(np.mean(np.nan_to_num(nm, nan=1e9) > m_ok)),
                "monthly_cost_usd": float(m_ok * _TIERS[tier][2] * HOURS_PER_MONTH),
                "infeasible_share": float(np.mean(np.isnan(servers[:, :, k, s]).any(axis=1))),
            }
        metrics_by_sc.append({"name": name, "description": desc, "metrics": metrics, "fleet": fleet})
        fleet_by_sc.append(fleet)

    differences = []
    for s in range(1, n_sc):
        d_cost = monthly_cost[:, s] - monthly_cost[:, 0]
        d_run = runway[:, s] - runway[:, 0]
        differences.append(
            {
                "scenario": scenarios[s][0],
                "vs": scenarios[0][0],
                "metrics": {
                    "monthly_cost": {"label": "Monthly infrastructure cost", "unit": "USD/month", **_q90(d_cost)},
                    "runway": {"label": "Runway", "unit": "months", **_q90(d_run)},
                },
            }
        )

    base = metrics_by_sc[0]
    statements = [
        {
            "id": "peak_rps_event",
            "scenario": scenarios[0][0],
            "text": "With 90% probability the busiest sale-day peak stays below "
            f"{base['metrics']['peak_rps_event']['q90']:,.0f} req/s.",
            "values": {"q90": round(base["metrics"]["peak_rps_event"]["q90"])},
        },
    ]
    for tier, f in fleet_by_sc[0].items():
        statements.append(
            {
                "id": f"fleet_{tier}",
                "scenario": scenarios[0][0],
                "text": f"{f['servers']} {tier} servers ({f['instance_type']}) keep the chance of overload on any "
                f"sale day at {100 * f['p_overload_any_event_day']:.1f}%.",
                "values": {"servers": f["servers"], "p": round(100 * f["p_overload_any_event_day"], 1)},
            }
        )
    mc = base["metrics"]["monthly_cost"]
    statements.append(
        {
            "id": "monthly_cost",
            "scenario": scenarios[0][0],
            "text": f"Monthly infrastructure cost is ${mc['q05']:,.0f}–${mc['q95']:,.0f} (90% interval).",
            "values": {"q05": round(mc["q05"]), "q95": round(mc["q95"])},
        }
    )

    capacity_summary = {}
    for j, name in enumerate(cfg_names):
        n_star = usl.peak_n(sig[:, j], kap[:, j])
        capacity_summary[name] = {
            "tier": cfg_tiers[j],
            "sigma": _q90(sig[:, j]),
            "kappa": _q90(kap[:, j]),
            "lam": _q90(lam[:, j]),
            "n_star": _q90(n_star),
            "x_max": _q90(usl.max_throughput(sig[:, j], kap[:, j], lam[:, j])),
        }
    traffic_summary = {
        "event_lift": {"sale": _q90(lift_draws), "launch": _q90(lift_draws_launch)},
        "peak_factor": {"normal": _q90(peak_factor[:, 0] / 2.1 * 1.6), "event": _q90(peak_factor[:, 0])},
    }

    diag_ok = {
        "divergences": 0,
        "max_r_hat": 1.004,
        "min_ess_bulk": 812.0,
        "min_ess_tail": 640.0,
        "chains": chains,
        "draws": per_chain,
        "variables": {
            "sigma": {"max_r_hat": 1.004, "min_ess_bulk": 812.0, "min_ess_tail": 640.0},
            "kappa": {"max_r_hat": 1.003, "min_ess_bulk": 905.0, "min_ess_tail": 700.0},
        },
    }
    diag_traffic = {
        "divergences": 0,
        "max_r_hat": 1.002,
        "min_ess_bulk": 1210.0,
        "min_ess_tail": 980.0,
        "chains": chains,
        "draws": per_chain,
        "variables": {"event_lift": {"max_r_hat": 1.002, "min_ess_bulk": 1210.0, "min_ess_tail": 980.0}},
    }
    diag_cap = dict(diag_ok)
    if checks_fail:
        diag_cap.update({"divergences": 3, "max_r_hat": 1.02, "min_ess_bulk": 310.0})
    models = {"capacity": diag_cap, "traffic": diag_traffic}
    backtest_result = None
    if backtest:
        backtest_result = {
            "bayescap": {"rel_crps": 0.51, "cov80": 0.79, "cov95": 0.93, "mape": 0.142, "seconds": 4.2},
            "seasonal_naive": {"rel_crps": 0.6, "cov80": 0.87, "cov95": 0.95, "mape": 0.19, "seconds": 0.01},
            "prophet_log": {"rel_crps": 0.575, "cov80": 0.69, "cov95": 0.86, "mape": 0.16, "seconds": 2.5},
        }
    checks = model_checks(models, backtest_result)

    inputs = {}
    inputs_dir = run / "inputs"
    inputs_dir.mkdir(exist_ok=True)
    hist_csv = "date,count,event_sale\n" + "".join(
        f"{d:%Y-%m-%d},{c:.0f},{int(e)}\n" for d, c, e in zip(hist_dates, history, is_sale_hist, strict=True)
    )
    for key, text in {"traffic": hist_csv, "loadtest": "tier,config,n,throughput\n"}.items():
        p = inputs_dir / f"{key}.csv"
        p.write_text(text)
        inputs[key] = {"path": str(p), "sha256": hashlib.sha256(text.encode()).hexdigest()}
    versions = {"bayescap": "0.1.0", "python": "3.13", "pymc": "6.4.0", "arviz-stats": "1.3.3", "numpy": "2.5"}
    summary = {
        "schema_version": 1,
        "synthetic": True,
        "run": {
            "seed": seed,
            "created": "2026-11-26T05:00:00",
            "draws": per_chain,
            "chains": chains,
            "tune": per_chain,
            "versions": versions,
            "inputs": inputs,
            "label": SYNTHETIC_LABEL,
            "start": f"{fut_dates[0]:%Y-%m-%d}",
            "end": f"{fut_dates[-1]:%Y-%m-%d}",
            "history_start": f"{hist_dates[0]:%Y-%m-%d}",
            "history_end": f"{hist_dates[-1]:%Y-%m-%d}",
            "scenario_names": [s[0] for s in scenarios],
        },
        "checks": {**checks, "models": models},
        "scenarios": metrics_by_sc,
        "differences": differences,
        "statements": statements,
        "capacity": capacity_summary,
        "traffic": traffic_summary,
        "backtest": backtest_result,
    }
    if scale_cost:
        rows = []
        for tier, (_, itype, price, _cfgs, _cores) in _TIERS.items():
            k = tiers.index(tier)
            for label, m, per_node_price, node in (
                ("1 node, 4 times larger (scale up)", 1, price * 4, node_x[:, k] * 3.2),
                (f"4 × {itype} (scale out)", 4, price, node_x[:, k]),
            ):
                x = usl.throughput(m, sig_cl[:, k], kap_cl[:, k], node)
                cost = m * per_node_price * HOURS_PER_MONTH / (x / 1000.0)
                rows.append(
                    {"tier": tier, "option": label, "nodes": m, "usd_per_1000_rps": _q90(cost), "unit": "USD/month"}
                )
        summary["scale_cost"] = rows
    if sweep:
        summary["sweep"] = _synthetic_sweep(rng, n_draws, list(_TIERS))

    # ---------------- posteriors.nc ----------------
    def chained(a: np.ndarray) -> np.ndarray:
        return a.reshape((chains, per_chain) + a.shape[1:])

    cap_post = xr.Dataset(
        {
            "sigma": ((CHAIN, DRAW, CONFIG), chained(sig)),
            "kappa": ((CHAIN, DRAW, CONFIG), chained(kap)),
            "lam": ((CHAIN, DRAW, CONFIG), chained(lam)),
            "sigma_cluster": ((CHAIN, DRAW, TIER), chained(sig_cl)),
            "kappa_cluster": ((CHAIN, DRAW, TIER), chained(kap_cl)),
        },
        coords={CONFIG: cfg_names, TIER: tiers, "config_tier": (CONFIG, cfg_tiers)},
    )
    diverging = np.zeros((chains, per_chain), dtype=bool)
    if checks_fail:
        diverging.reshape(-1)[rng.choice(diverging.size, 3, replace=False)] = True
    # as the capacity fit writes them: each row's configuration and level (node or cluster)
    obs_coords = {OBS: np.arange(obs_x_a.size), "obs_config": (OBS, obs_cfg_a), "obs_level": (OBS, ["node"] * obs_x_a.size)}
    cap_groups = {
        "posterior": cap_post,
        "sample_stats": xr.Dataset({"diverging": ((CHAIN, DRAW), diverging)}),
        "observed_data": xr.Dataset({"throughput": ((OBS,), obs_x_a)}, coords=obs_coords),
        "constant_data": xr.Dataset({"n": ((OBS,), obs_n_a)}, coords=obs_coords),
        "posterior_predictive": xr.Dataset({"throughput": ((CHAIN, DRAW, OBS), chained(pp_x))}, coords=obs_coords),
    }
    hist_index = pd.DatetimeIndex(hist_dates)
    pp_count = hist_mean[None, :] * np.exp(rng.normal(0, np.where(is_sale_hist, 0.12, 0.05)[None, :], (n_draws, 364)))
    traffic_post = xr.Dataset(
        {
            "new_event_lift": ((CHAIN, DRAW, EVENT_TYPE), chained(np.stack([lift_draws, lift_draws_launch], axis=1))),
            "sigma_normal": ((CHAIN, DRAW), chained(np.abs(rng.normal(0.05, 0.003, n_draws)))),
            "sigma_event": ((CHAIN, DRAW), chained(np.abs(rng.normal(0.12, 0.01, n_draws)))),
        },
        coords={EVENT_TYPE: ["sale", "launch"]},
    )
    date_coords = {DATE: hist_index}
    tr_groups = {
        "posterior": traffic_post,
        "sample_stats": xr.Dataset({"diverging": ((CHAIN, DRAW), np.zeros((chains, per_chain), dtype=bool))}),
        "observed_data": xr.Dataset({"count": ((DATE,), history)}, coords=date_coords),
        # as the traffic fit writes it: the day flags in constant_data
        "constant_data": xr.Dataset(
            {"is_event": ((DATE,), is_sale_hist), "in_likelihood": ((DATE,), np.ones(len(hist_index), dtype=bool))},
            coords=date_coords,
        ),
        "posterior_predictive": xr.Dataset({"count": ((CHAIN, DRAW, DATE), chained(pp_count))}, coords=date_coords),
        "log_likelihood": xr.Dataset(
            {
                "count": (
                    (CHAIN, DRAW, DATE),
                    chained(-0.5 * ((np.log(pp_count) - np.log(history)[None, :]) / 0.07) ** 2),
                )
            },
            coords=date_coords,
        ),
    }
    priors = {
        "capacity": {"sigma_alpha": 2.0, "sigma_beta": 20.0, "kappa_scale": 0.01, "log_lam_sd": 1.0},
        "traffic": {"lift_log_mu_sd": 1.0, "sigma_event_scale": 0.3, "sigma_normal_scale": 0.1},
    }
    tree = {}
    for model, groups in (("capacity", cap_groups), ("traffic", tr_groups)):
        for gname, ds in groups.items():
            if f"{model}/{gname}" in drop:
                continue
            tree[f"/{model}/{gname}"] = ds
    post_tree = xr.DataTree.from_dict(tree)
    for model in ("capacity", "traffic"):
        post_tree[model].attrs = {"priors": json.dumps(priors[model]), "synthetic": SYNTHETIC_LABEL}
    post_tree.attrs = {"seed": seed, "synthetic": SYNTHETIC_LABEL}
    post_tree.to_netcdf(run / "posteriors.nc", engine="h5netcdf")

    fut_index = pd.DatetimeIndex(fut_dates)
    sim = xr.Dataset(
        {
            "visits": ((DRAW, DATE, SCENARIO), visits),
            "peak_rps": ((DRAW, DATE, TIER, SCENARIO), peak_rps),
            "servers_needed": ((DRAW, DATE, TIER, SCENARIO), servers),
            "monthly_cost_usd": ((DRAW, SCENARIO), monthly_cost),
            "runway_months": ((DRAW, SCENARIO), runway),
            "p_overload_any_event_day": ((NODES, TIER, SCENARIO), p_curve),
        },
        coords={
            DRAW: np.arange(n_draws),
            DATE: fut_index,
            TIER: tiers,
            SCENARIO: [s[0] for s in scenarios],
            NODES: nodes,
            "is_event": (DATE, is_sale_fut),
            "event_type": (DATE, np.where(is_sale_fut, "sale", "")),
        },
        attrs={"synthetic": SYNTHETIC_LABEL},
    )
    sim = sim.drop_vars([v for v in drop if v in sim.data_vars])
    sim.to_netcdf(run / "simulation.nc", engine="h5netcdf")

    manifest = {
        "created": "2026-11-26T05:00:00",
        "synthetic": SYNTHETIC_LABEL,
        "command": ["synthetic"],
        "seed": seed,
        "inputs": inputs,
        "versions": versions,
        "scenarios": [
            {
                "name": s[0],
                "description": s[1],
                "horizon_days": horizon_days,
                "requests_per_visit": requests_per_visit,
                "fleet": {"policy": "static", "target_utilisation": 0.7, "overload_target": 0.05},
                "finance": {"cash_usd": cash, "monthly_burn_usd": burn},
            }
            for s in scenarios
        ],
    }
    (run / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    (run / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return run
