"""``summarise``: the ``scenarios`` and ``differences`` parts of summary.json, from the draws.

Every number is a quantile of a per-draw quantity (or a share of draws). Differences
between a scenario and the baseline are computed draw by draw first and summarised
afterwards: with common random numbers, the difference of medians is not the median
of the difference, and only the latter says how sure we are about the change.

Metric ids (documented with their meaning in docs/scenario_engine.md):

===============================  ===========  =============================================
id                               unit         per draw
===============================  ===========  =============================================
``peak_rps_event``               req/s        highest site-wide peak over the event days
``peak_rps_event_<type>``        req/s        the same over days of one event type (>1 types)
``peak_rps_normal``              req/s        highest site-wide peak over normal days
``servers_<tier>``               servers      static fleet needed for the horizon's busiest day
``monthly_cost``                 USD/month    infrastructure cost (all tiers, fleet policy)
``monthly_cost_<tier>``          USD/month    the same for one tier
``runway``                       months       cash / (burn + infrastructure + ads)
``visitors_horizon``             visitors     visitors over the horizon
``visitors_by_funding``          visitors     visitors before the funding date
``valuation``                    USD          visitors_by_funding x value per visitor
``ad_spend``                     USD          ad spend for the extra visitors over baseline
===============================  ===========  =============================================

Each metric carries ``label``, ``unit``, the quantiles ``q025, q05, q10, median, q90,
q95, q975`` and ``undefined_share``: the share of draws where the quantity is not
defined (an infeasible fleet, so no cost and no runway); quantiles are over the
other draws; where every draw is a whole number (servers) they are values the draws take (numpy's
``inverted_cdf``), elsewhere numpy's default interpolation. A scenario's own metrics also name their draws in
simulation.nc:
``source`` (the variable) and, where it has one, ``tier`` or ``event_type``, so anyone
can recompute the quantiles from the saved draws.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr

from bayescap.dims import DRAW, EVENT_TYPE, SCENARIO, TIER
from bayescap.errors import InputError
from bayescap.inputs.scenario_types import Scenario
from bayescap.simulate.engine import split_types

QUANTILES = {"q025": 0.025, "q05": 0.05, "q10": 0.10, "median": 0.5, "q90": 0.90, "q95": 0.95, "q975": 0.975}


@dataclass(frozen=True)
class Metric:
    """One per-draw quantity of one scenario, with the words a table needs."""

    id: str
    label: str
    unit: str
    draws: np.ndarray
    source: str  # the simulation variable the draws come from
    where: dict  # its coordinates besides the scenario, e.g. {"tier": "app"}


def json_number(x) -> float | int | None:
    """A plain JSON number (NaN and inf become None)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def quantile_method(finite: np.ndarray) -> str:
    """numpy's quantile method for a metric's draws: ``inverted_cdf`` (a value the draws take) when every draw is a
    whole number (servers, and differences in servers), so that an interval reads "0–17 servers" rather than an
    interpolated "0–17.1"; ``linear`` otherwise."""
    return "inverted_cdf" if finite.size and bool(np.all(finite == np.round(finite))) else "linear"


def quantile_summary(draws) -> dict[str, float | None]:
    """The summary.json quantiles of a 1-d array of draws, over its finite values (see :func:`quantile_method`)."""
    v = np.asarray(draws, dtype=float).ravel()
    finite = v[np.isfinite(v)]
    if finite.size == 0:
        out = dict.fromkeys(QUANTILES)
    else:
        qs = np.quantile(finite, list(QUANTILES.values()), method=quantile_method(finite))
        out = {k: float(q) for k, q in zip(QUANTILES, qs, strict=True)}
    out["undefined_share"] = float(1.0 - finite.size / v.size) if v.size else None
    return out


def draws_of(sim: xr.Dataset, name: str, scenario: str, **more) -> np.ndarray:
    """Values of ``sim[name]`` for one scenario (and e.g. one tier), draws on the first axis, as float."""
    return np.asarray(sim[name].sel({SCENARIO: scenario, **more}).transpose(DRAW, ...).values, dtype=float)


def event_types_of(sim: xr.Dataset, scenario: str) -> list[str]:
    """Event types with at least one day in the scenario's horizon, in the dataset's order."""
    days = {t for label in np.asarray(sim["event_of_day"].sel({SCENARIO: scenario}).values).tolist()
            for t in split_types(label)}
    return [str(t) for t in sim[EVENT_TYPE].values if str(t) in days]


def present_tiers(sim: xr.Dataset, scenario: str) -> list[str]:
    mask = np.asarray(sim["tier_present"].sel({SCENARIO: scenario}).values)
    return [str(t) for t, p in zip(sim[TIER].values, mask, strict=True) if p]


def scenario_metrics(sim: xr.Dataset, scenario: str) -> dict[str, Metric]:
    """All per-draw metrics of one scenario, keyed by metric id (see the module docstring)."""
    m: dict[str, Metric] = {}

    def add(mid: str, label: str, unit: str, source: str, *, optional: bool = False, **where) -> None:
        draws = draws_of(sim, source, scenario, **where)
        if optional and not np.any(np.isfinite(draws)):
            return
        m[mid] = Metric(mid, label, unit, draws, source, where)

    types = event_types_of(sim, scenario)
    if types:
        add("peak_rps_event", "Busiest event-day peak (all tiers)", "req/s", "site_peak_event_max")
    if len(types) > 1:
        for t in types:
            add(f"peak_rps_event_{t}", f"Busiest {t}-day peak (all tiers)", "req/s", "site_peak_type_max",
                **{EVENT_TYPE: t})
    add("peak_rps_normal", "Busiest normal-day peak (all tiers)", "req/s", "site_peak_normal_max", optional=True)
    for tier in present_tiers(sim, scenario):
        itype = str(sim["instance_type"].sel({TIER: tier, SCENARIO: scenario}).values)
        add(f"servers_{tier}", f"Servers needed on the busiest day, {tier} ({itype})", "servers", "fleet_needed",
            **{TIER: tier})
    add("monthly_cost", "Monthly infrastructure cost", "USD/month", "monthly_cost_usd")
    for tier in present_tiers(sim, scenario):
        add(f"monthly_cost_{tier}", f"Monthly infrastructure cost, {tier}", "USD/month", "monthly_cost_tier_usd",
            **{TIER: tier})
    add("runway", "Runway", "months", "runway_months")
    add("visitors_horizon", "Visitors over the horizon", "visitors", "visitors_horizon")
    add("visitors_by_funding", "Visitors by the funding date", "visitors", "visitors_by_funding", optional=True)
    add("valuation", "Implied valuation at the funding date", "USD", "valuation_usd", optional=True)
    add("ad_spend", "Ad spend for the extra visitors", "USD", "ad_spend_usd", optional=True)
    return m


def _metric_json(metric: Metric, draws: np.ndarray | None = None) -> dict:
    """Label, unit, quantiles; for a scenario's own metric also where its draws live in simulation.nc."""
    out = {"label": metric.label, "unit": metric.unit, **quantile_summary(metric.draws if draws is None else draws)}
    if draws is None:
        out["source"] = metric.source
        out.update(metric.where)
    return out


def describe(scenario: Scenario) -> str:
    """The scenario's own description if it has one, else one line saying what it assumes."""
    own = getattr(scenario, "description", "")
    if own:
        return own
    f = scenario.fleet
    parts = [f"{scenario.horizon_days} days"]
    if scenario.events:
        ev = []
        for r in scenario.events:
            when = "one-off" if r.weekday is None else ("weekly" if r.every_weeks == 1 else f"every {r.every_weeks} weeks")
            ev.append(f"{r.type} ({when}, intensity {r.intensity:g})")
        parts.append("events: " + ", ".join(ev))
    tiers = []
    for t in scenario.tiers:
        extra = f", cost x{t.cost_multiplier:g}" if t.cost_multiplier != 1 else ""
        tiers.append(f"{t.name} {t.share:.0%} on {t.instance_type}{extra}")
    parts.append("tiers: " + "; ".join(tiers))
    fleet = f"{f.policy} fleet at {f.target_utilisation:.0%} utilisation, overload target {f.overload_target:.0%}"
    if f.policy == "autoscale":
        fleet += f", {f.provisioning_lag_hours} h provisioning lag, min {f.min_servers}"
    parts.append(fleet)
    if scenario.growth_pct_per_month is not None:
        parts.append(f"growth override {scenario.growth_pct_per_month:g}%/month")
    return "; ".join(parts)


def fleet_summary(sim: xr.Dataset, scenario: str) -> dict[str, dict]:
    """The summary.json ``fleet`` block: recommended static fleet per tier and its risks."""
    out = {}
    for tier in present_tiers(sim, scenario):
        at = {TIER: tier, SCENARIO: scenario}

        def val(name: str):
            return json_number(sim[name].sel(at).values)

        servers = val("fleet_recommended")
        out[tier] = {
            "instance_type": str(sim["instance_type"].sel(at).values),
            "servers": None if servers is None else int(servers),
            "p_overload_any_event_day": val("fleet_p_overload_any_event_day"),
            "p_overload_event_day": val("fleet_p_overload_event_day"),
            "p_overload_normal_day": val("fleet_p_overload_normal_day"),
            "monthly_cost_usd": val("fleet_cost_monthly_usd"),
            "infeasible_share": val("infeasible_share"),
            "p_overload_any_day": val("fleet_p_overload_any_day"),
            "best_servers": None if val("fleet_best") is None else int(val("fleet_best")),
            "best_p_overload": val("fleet_best_p_overload"),
            "policy": str(sim["policy"].sel({SCENARIO: scenario}).values),
            "basis": str(sim["fleet_basis"].sel({SCENARIO: scenario}).values),
        }
    return out


def scenario_order(sim: xr.Dataset, scenarios: Sequence[Scenario], baseline: str | None) -> tuple[list[str], dict[str, Scenario], str]:
    """The simulated scenario names, each name's Scenario, and the baseline (default: the first simulated).

    Raises InputError when a simulated scenario has no Scenario or the baseline was not simulated.
    """
    names = [str(s) for s in sim[SCENARIO].values]
    by_name = {s.name: s for s in scenarios}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise InputError(None, "scenarios", f"a Scenario for every simulated scenario; missing {missing}")
    base = baseline if baseline is not None else names[0]
    if base not in names:
        raise InputError(None, "baseline", f"one of the simulated scenarios {names}, got {base!r}")
    return names, by_name, base


def summarise(sim: xr.Dataset, scenarios: Sequence[Scenario], *, baseline: str | None = None) -> dict:
    """The ``scenarios`` and ``differences`` parts of summary.json (schema v1).

    Parameters
    ----------
    sim : xarray.Dataset
        The output of :func:`bayescap.simulate.simulate`.
    scenarios : sequence of Scenario
        The scenarios simulated (for the descriptions).
    baseline : str, optional
        Scenario the others are compared with, draw by draw (default: the first).

    Returns
    -------
    dict
        ``{"scenarios": [...], "differences": [...]}``; all numbers plain JSON (None
        for undefined).
    """
    names, by_name, base = scenario_order(sim, scenarios, baseline)
    metrics = {n: scenario_metrics(sim, n) for n in names}
    scen_out = [
        {
            "name": n,
            "description": describe(by_name[n]),
            "metrics": {mid: _metric_json(m) for mid, m in metrics[n].items()},
            "fleet": fleet_summary(sim, n),
        }
        for n in names
    ]
    diffs = []
    for n in names:
        if n == base:
            continue
        common = [mid for mid in metrics[n] if mid in metrics[base]]
        diffs.append({
            "scenario": n,
            "vs": base,
            "metrics": {
                mid: _metric_json(metrics[n][mid], metrics[n][mid].draws - metrics[base][mid].draws) for mid in common
            },
        })
    return {"scenarios": scen_out, "differences": diffs}
