"""Assembly: from the kernel's per-draw arrays to the fleet choice, overload curves, money and the Dataset.

Everything here works on small arrays (draw x tier x scenario at most); the full-size
arrays are passed through untouched (lazy for dask inputs).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from bayescap import usl
from bayescap.dims import DATE, DRAW, EVENT_TYPE, NODES, SCENARIO, TIER
from bayescap.errors import InputError
from bayescap.simulate.fleet import p_overload_any, p_overload_per_day, smallest_fleet
from bayescap.simulate.kernel import EVENT, NORMAL, OUTSIDE

HOURS_PER_MONTH = 730.0
DAYS_PER_MONTH = 365.25 / 12.0


_MAX_RUNWAY_DAYS = 100 * 365.25  # beyond a century the date is meaningless (and overflows datetime64[ns])


def _cash_out_dates(starts: np.ndarray, runway_months: np.ndarray) -> np.ndarray:
    """Start of the horizon + runway; NaT where the runway is undefined or unbounded."""
    days = runway_months * DAYS_PER_MONTH
    ok = np.isfinite(days) & (days < _MAX_RUNWAY_DAYS)
    offset = np.round(np.where(ok, days, 0.0) * 86_400.0).astype("int64").astype("timedelta64[s]")
    dates = starts[None, :] + offset.astype("timedelta64[ns]")
    return np.where(ok, dates, np.datetime64("NaT", "ns"))


def _default_nodes(choices, fleet_needed, max_nodes: int) -> np.ndarray:
    top = [c.best_servers for c in choices if np.isfinite(c.best_servers)]
    finite = fleet_needed[np.isfinite(fleet_needed)]
    if finite.size:
        top.append(float(np.quantile(finite, 0.99)))
    g = int(np.ceil(1.5 * max(top, default=1.0)))
    return np.arange(1, min(max_nodes, max(10, g)) + 1)


def assemble(res, traffic, scenarios, tiers, event_types, calendars, dates, price, present, instance,
              cap_arrays, profile, nodes, max_nodes) -> xr.Dataset:
    n_tiers, n_scen = len(tiers), len(scenarios)
    n_draws = res["fleet_needed"].shape[0]

    # ---- recommended fleet per (tier, scenario)
    has_events = np.array([np.any(cal[0] == EVENT) for cal in calendars])
    choices = []
    fleet_rec = np.full((n_tiers, n_scen), np.nan)
    p_rec = {k: np.full((n_tiers, n_scen), np.nan) for k in ("any_event", "any_day", "event", "normal")}
    best = np.full((n_tiers, n_scen), np.nan)
    best_p = np.full((n_tiers, n_scen), np.nan)
    for s, sc in enumerate(scenarios):
        for k in range(n_tiers):
            if not present[k, s]:
                continue
            lo_ev, hi_ev = res["lo_event"][:, k, s], res["hi_event"][:, k, s]
            lo_all = np.fmax(lo_ev, res["lo_normal"][:, k, s])  # fmax: NaN means "no such days"
            hi_all = np.fmin(hi_ev, res["hi_normal"][:, k, s])
            lo, hi = (lo_ev, hi_ev) if has_events[s] else (lo_all, hi_all)
            c = smallest_fleet(lo, hi, sc.fleet.overload_target, sc.fleet.min_servers)
            choices.append(c)
            fleet_rec[k, s], best[k, s], best_p[k, s] = c.servers, c.best_servers, c.best_p
            if np.isfinite(c.servers):
                m = [c.servers]
                p_rec["any_event"][k, s] = p_overload_any(lo_ev, hi_ev, m)[0] if has_events[s] else np.nan
                p_rec["any_day"][k, s] = p_overload_any(lo_all, hi_all, m)[0]
                p_rec["event"][k, s] = p_overload_per_day(res["hist_lo"][EVENT, k, :, s], res["hist_hi"][EVENT, k, :, s], m)[0]
                p_rec["normal"][k, s] = p_overload_per_day(res["hist_lo"][NORMAL, k, :, s], res["hist_hi"][NORMAL, k, :, s], m)[0]

    # ---- overload curves over fleet sizes
    node_grid = (np.asarray(nodes, dtype=np.int64) if nodes is not None
                 else _default_nodes(choices, res["fleet_needed"][:, present], max_nodes))
    if node_grid.ndim != 1 or node_grid.size == 0 or np.any(node_grid < 1):
        raise InputError(None, "nodes", "a non-empty list of fleet sizes >= 1")
    curves = {k: np.full((node_grid.size, n_tiers, n_scen), np.nan) for k in ("any_event", "any_day", "event", "normal")}
    for s in range(n_scen):
        for k in range(n_tiers):
            if not present[k, s]:
                continue
            lo_ev, hi_ev = res["lo_event"][:, k, s], res["hi_event"][:, k, s]
            if has_events[s]:
                curves["any_event"][:, k, s] = p_overload_any(lo_ev, hi_ev, node_grid)
            curves["any_day"][:, k, s] = p_overload_any(
                np.fmax(lo_ev, res["lo_normal"][:, k, s]), np.fmin(hi_ev, res["hi_normal"][:, k, s]), node_grid)
            curves["event"][:, k, s] = p_overload_per_day(res["hist_lo"][EVENT, k, :, s], res["hist_hi"][EVENT, k, :, s], node_grid)
            curves["normal"][:, k, s] = p_overload_per_day(res["hist_lo"][NORMAL, k, :, s], res["hist_hi"][NORMAL, k, :, s], node_grid)

    # ---- money and time
    fleet_needed = res["fleet_needed"]
    infeasible_any = np.isnan(fleet_needed) & present[None, :, :]
    cost_tier = res["server_hours_mean"] * price[None, :, :] * (HOURS_PER_MONTH / 24.0)
    cost = cost_tier.sum(axis=1)
    horizon_months = np.array([sc.horizon_days / DAYS_PER_MONTH for sc in scenarios])
    visits_total = res["visits_total"]
    ad_spend = np.full((n_draws, n_scen), np.nan)
    for s, sc in enumerate(scenarios):
        rate = sc.finance.ad_spend_per_extra_visitor_usd
        if s > 0 and rate is not None and rate > 0:
            ad_spend[:, s] = np.maximum(visits_total[:, s] - visits_total[:, 0], 0.0) * rate
    ad_monthly = np.nan_to_num(ad_spend, nan=0.0) / horizon_months[None, :]
    cash = np.array([sc.finance.cash_usd for sc in scenarios], dtype=float)
    burn = np.array([sc.finance.monthly_burn_usd for sc in scenarios], dtype=float)
    outflow = burn[None, :] + cost + ad_monthly
    with np.errstate(divide="ignore", invalid="ignore"):
        runway = np.where(outflow > 0, cash[None, :] / outflow, np.inf)
    runway = np.where(np.isnan(cost), np.nan, runway)
    starts = np.array([cal[2] for cal in calendars], dtype="datetime64[ns]")
    cash_out = _cash_out_dates(starts, runway)
    value = np.array([np.nan if sc.finance.value_per_visitor_usd is None else sc.finance.value_per_visitor_usd
                      for sc in scenarios])
    valuation = res["visits_by_funding"] * value[None, :]
    n_star = np.stack([usl.peak_n(c["sigma_cluster"], c["kappa_cluster"]) for c in cap_arrays], axis=-1)
    n_star = np.where(present[None, :, :], n_star, np.nan)

    # ---- dataset
    dtk = (DRAW, DATE, TIER, SCENARIO)
    dk = (DRAW, TIER, SCENARIO)
    ks = (TIER, SCENARIO)
    nks = (NODES, TIER, SCENARIO)

    def var(dims, data, label, unit, **extra):
        attrs = {"long_name": label, **({"units": unit} if unit else {}), **extra}  # datetimes: netCDF sets units
        return xr.Variable(dims, data, attrs=attrs)

    data_vars = {
        "peak_rps": var(dtk, res["peak_rps"], "Peak load per tier (req/s at the load-tested cost per request)", "req/s"),
        "servers_needed": var(dtk, res["servers_needed"], "Servers needed on the day (NaN: infeasible or outside horizon)", "servers"),
        "infeasible": var(dtk, res["infeasible"], "No fleet of this instance type serves the day's peak", "1"),
        "server_hours": var(dtk, res["server_hours"], "Server-hours used on the day under the fleet policy", "server-hours"),
        "site_peak_rps": var((DRAW, DATE, SCENARIO), res["site_peak_rps"], "Site-wide peak req/s (all tiers)", "req/s"),
        "visits": var((DRAW, DATE, SCENARIO), res["visits"], "Daily visits", "visits"),
        "fleet_needed": var(dk, fleet_needed, "Static fleet this draw needs for its whole horizon", "servers"),
        "infeasible_any_day": var(dk, infeasible_any, "Some day of the horizon is infeasible", "1"),
        "server_hours_daily_mean": var(dk, res["server_hours_mean"], "Mean server-hours per day", "server-hours"),
        "n_star": var(dk, n_star, "Cluster size of peak throughput N*' (inf: no peak)", "servers"),
        "monthly_cost_tier_usd": var(dk, cost_tier, "Monthly infrastructure cost per tier", "USD/month"),
        "monthly_cost_usd": var((DRAW, SCENARIO), cost, "Monthly infrastructure cost", "USD/month"),
        "runway_months": var((DRAW, SCENARIO), runway, "Runway", "months"),
        "cash_out_date": var((DRAW, SCENARIO), cash_out, "Date the cash runs out", ""),
        "visitors_horizon": var((DRAW, SCENARIO), visits_total, "Visitors over the horizon", "visitors"),
        "visitors_by_funding": var((DRAW, SCENARIO), res["visits_by_funding"], "Visitors before the funding date", "visitors"),
        "valuation_usd": var((DRAW, SCENARIO), valuation, "Implied valuation (visitors x value per visitor)", "USD"),
        "ad_spend_usd": var((DRAW, SCENARIO), ad_spend, "Ad spend for the extra visitors over the baseline", "USD"),
        "site_peak_event_max": var((DRAW, SCENARIO), res["site_peak_event_max"], "Highest event-day peak (all tiers)", "req/s"),
        "site_peak_normal_max": var((DRAW, SCENARIO), res["site_peak_normal_max"], "Highest normal-day peak (all tiers)", "req/s"),
        "site_peak_type_max": var((DRAW, EVENT_TYPE, SCENARIO), res["site_peak_type_max"], "Highest peak on days of each event type", "req/s"),
        "fleet_recommended": var(ks, fleet_rec, "Smallest static fleet meeting the overload target (NaN: none)", "servers"),
        "fleet_best": var(ks, best, "Fleet with the lowest P(overload on any event day)", "servers"),
        "fleet_best_p_overload": var(ks, best_p, "P(overload on any event day) of fleet_best", "1"),
        "fleet_p_overload_any_event_day": var(ks, p_rec["any_event"], "P(overload on any event day) at the recommended fleet", "1"),
        "fleet_p_overload_any_day": var(ks, p_rec["any_day"], "P(overload on any day) at the recommended fleet", "1"),
        "fleet_p_overload_event_day": var(ks, p_rec["event"], "P(overload on an event day) at the recommended fleet", "1"),
        "fleet_p_overload_normal_day": var(ks, p_rec["normal"], "P(overload on a normal day) at the recommended fleet", "1"),
        "fleet_cost_monthly_usd": var(ks, fleet_rec * price * HOURS_PER_MONTH, "Monthly cost of the recommended static fleet", "USD/month"),
        "infeasible_share": var(ks, np.where(present, infeasible_any.mean(axis=0), np.nan), "Share of draws with an infeasible day", "1"),
        "p_overload_event_day": var(nks, curves["event"], "P(overload on an event day | fleet)", "1"),
        "p_overload_normal_day": var(nks, curves["normal"], "P(overload on a normal day | fleet)", "1"),
        "p_overload_any_event_day": var(nks, curves["any_event"], "P(overload on any event day of the horizon | fleet)", "1"),
        "p_overload_any_day": var(nks, curves["any_day"], "P(overload on any day of the horizon | fleet)", "1"),
    }
    regimes = np.stack([cal[0] for cal in calendars], axis=0)
    etypes = np.stack([cal[1] for cal in calendars], axis=0)
    coords = {
        DRAW: traffic[DRAW].values,
        DATE: dates,
        TIER: tiers,
        SCENARIO: [sc.name for sc in scenarios],
        NODES: node_grid,
        EVENT_TYPE: np.array(event_types, dtype=str) if event_types else np.array([], dtype=str),
        "is_event": ((SCENARIO, DATE), regimes == EVENT),
        "in_horizon": ((SCENARIO, DATE), regimes != OUTSIDE),
        "event_of_day": ((SCENARIO, DATE), etypes.astype(str)),
        "tier_present": (ks, present),
        "instance_type": (ks, instance.astype(str)),
        "usd_per_hour": (ks, price),
        "horizon_start": (SCENARIO, starts),
        "horizon_days": (SCENARIO, np.array([sc.horizon_days for sc in scenarios])),
        "policy": (SCENARIO, np.array([sc.fleet.policy for sc in scenarios], dtype=str)),
        "target_utilisation": (SCENARIO, np.array([sc.fleet.target_utilisation for sc in scenarios])),
        "overload_target": (SCENARIO, np.array([sc.fleet.overload_target for sc in scenarios])),
        "min_servers": (SCENARIO, np.array([sc.fleet.min_servers for sc in scenarios])),
        "fleet_basis": (SCENARIO, np.where(has_events, "event days", "all days").astype(str)),
    }
    ds = xr.Dataset(data_vars, coords=coords)
    ds.attrs = {
        "hours_per_month": HOURS_PER_MONTH,
        "days_per_month": DAYS_PER_MONTH,
        "hourly_profile": profile.tolist(),
        "max_nodes": max_nodes,
        "baseline": scenarios[0].name,
        "description": "bayescap scenario simulation (see docs/scenario_engine.md)",
    }
    return ds
