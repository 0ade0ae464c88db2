"""How aggressive can the sales be? One scenario simulated at several event intensities.

The scenario file's ``[sweep]`` names a scenario and a list of intensities. Each intensity gives a
copy of that scenario whose swept events have that intensity; the copies are simulated like any
scenario, from the same posterior draws and the same random numbers, so draw i of every point is
the same future with a more or less aggressive sale, and differences between points are computed
draw by draw. :func:`summarise_sweep` turns the simulation into summary.json's ``sweep`` block:

* each point's key metrics (visitors by the funding date, valuation, monthly cost, runway, busiest
  event-day peak, servers on the busiest day), its recommended fleet per tier, and the probability
  that runway stays at or above ``min_runway_months`` (a draw whose runway is undefined, because no
  fleet of the chosen instance types can serve some day, counts as falling short);
* the per-draw differences from the first (least aggressive) point;
* the answer: the most aggressive intensity tried whose overload target a fleet of the chosen
  instance types meets on every tier and, when a floor is given, whose runway stays at or above it
  with at least 90% probability;
* plain-language statements of the above, every number from the draws.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import xarray as xr

from bayescap.dims import SCENARIO
from bayescap.inputs.scenario_types import IntensitySweep, Scenario
from bayescap.simulate.fmt import and_list, fmt_num, fmt_pct, fmt_range, fmt_usd
from bayescap.simulate.summary import draws_of, summarise

POINT_PREFIX = "sweep-"
RUNWAY_PROBABILITY = 0.9  # the answer keeps the runway floor with at least this probability
INTERVAL = (0.05, 0.95)
COST_BASIS = {"static": "a static fleet sized for each future's busiest day", "autoscale": "the autoscaled fleet"}
ANSWER_OPENINGS = ("No intensity tried", "At every intensity tried", "The most aggressive intensity tried at which")
KEY_METRICS = ("visitors_by_funding", "visitors_horizon", "valuation", "monthly_cost", "runway", "peak_rps_event")


def swept_types(spec: IntensitySweep, scenario: Scenario) -> tuple[str, ...]:
    """The event types the sweep varies: the given ones, else every type of the scenario's events."""
    return spec.event_types or tuple(dict.fromkeys(e.type for e in scenario.events))


def sweep_scenarios(spec: IntensitySweep, scenarios: Sequence[Scenario]) -> list[Scenario]:
    """One copy of the swept scenario per intensity, named ``sweep-0``, ``sweep-1``, ..."""
    base = next(sc for sc in scenarios if sc.name == spec.scenario)
    types = swept_types(spec, base)
    out = []
    for i, k in enumerate(spec.intensities):
        events = tuple(dataclasses.replace(e, intensity=k) if e.type in types else e for e in base.events)
        out.append(dataclasses.replace(
            base, name=f"{POINT_PREFIX}{i}", events=events,
            description=f"{base.name} with {', '.join(types)} intensity {k:g}",
        ))
    return out


def _interval(draws: np.ndarray) -> tuple[float, float, float] | None:
    v = draws[np.isfinite(draws)]
    if v.size == 0:
        return None
    lo, hi = np.quantile(v, INTERVAL)
    return float(np.median(v)), float(lo), float(hi)


def _fleet_cost(fleet: dict) -> float | None:
    costs = [f.get("monthly_cost_usd") for f in fleet.values()]
    return None if any(c is None for c in costs) or any(f.get("servers") is None for f in fleet.values()) else float(sum(costs))


def summarise_sweep(sim: xr.Dataset, spec: IntensitySweep, points: Sequence[Scenario]) -> dict:
    """summary.json's ``sweep`` block from the simulation of :func:`sweep_scenarios` (see the module docstring)."""
    summ = summarise(sim, points)
    types = swept_types(spec, points[0])
    floor = spec.min_runway_months
    out_points = []
    for k, sc, scen in zip(spec.intensities, summ["scenarios"], points, strict=True):
        runway = draws_of(sim, "runway_months", scen.name)
        metrics = {mid: m for mid, m in sc["metrics"].items() if mid in KEY_METRICS or mid.startswith("servers_")}
        fleet = {tier: {key: f.get(key) for key in ("instance_type", "servers", "monthly_cost_usd",
                                                       "p_overload_any_event_day", "infeasible_share")}
                 for tier, f in sc["fleet"].items()}
        out_points.append({
            "intensity": k,
            "scenario": scen.name,
            "metrics": metrics,
            "fleet": fleet,
            "fleet_monthly_cost_usd": _fleet_cost(fleet),
            "fleet_meets_target": all(f["servers"] is not None for f in fleet.values()),
            "p_runway_at_least_floor": None if floor is None else float(np.mean(np.nan_to_num(runway, nan=-np.inf) >= floor)),
        })
    diffs = [{"intensity": k, "vs_intensity": spec.intensities[0],
              "metrics": {mid: m for mid, m in d["metrics"].items() if mid in KEY_METRICS}}
             for k, d in zip(spec.intensities[1:], summ["differences"], strict=True)]
    ok = [p for p in out_points if p["fleet_meets_target"]
          and (floor is None or p["p_runway_at_least_floor"] >= RUNWAY_PROBABILITY)]
    answer = {"max_intensity": ok[-1]["intensity"] if ok else None,
              "rule": "a fleet of the chosen instance types meets the overload target on every tier"
              + ("" if floor is None else f", and runway stays at or above {floor:g} months with at least "
                 f"{RUNWAY_PROBABILITY:.0%} probability")}
    policy = str(sim["policy"].sel({SCENARIO: points[0].name}).values)
    block = {"scenario": spec.scenario, "event_types": list(types), "intensities": list(spec.intensities), "policy": policy,
             "min_runway_months": floor, "points": out_points, "differences": diffs, "answer": answer}
    block["statements"] = sweep_statements(sim, block, points)
    answer["text"] = next(t for t in block["statements"] if t.startswith(ANSWER_OPENINGS))
    return block


def sweep_statements(sim: xr.Dataset, block: dict, points: Sequence[Scenario]) -> list[str]:
    """Plain-language sentences about the sweep; every number comes from the draws."""
    first, last = block["points"][0], block["points"][-1]
    k0, k1 = first["intensity"], last["intensity"]
    what = " and ".join(block["event_types"])
    lines = []
    gain_id = "visitors_by_funding" if "visitors_by_funding" in last["metrics"] else "visitors_horizon"
    gain = _interval(draws_of(sim, gain_id, points[-1].name) - draws_of(sim, gain_id, points[0].name))
    when = "by the funding date" if gain_id == "visitors_by_funding" else "over the horizon"
    if gain is not None:
        med, lo, hi = gain
        text = (f"Raising the {what} intensity from {k0:g} to {k1:g} brings {fmt_num(med, 2)} more visitors {when} "
                f"(90%: {fmt_range(lo, hi, 'num', 2)})")
        val = _interval(draws_of(sim, "valuation_usd", points[-1].name) - draws_of(sim, "valuation_usd", points[0].name)) \
            if "valuation" in last["metrics"] else None
        text += "." if val is None else f", an implied valuation {fmt_usd(val[0])} higher (90%: {fmt_range(val[1], val[2], 'usd', 2)})."
        lines.append(text)
    served = [p for p in block["points"] if p["fleet_monthly_cost_usd"] is not None]
    unserved = [p["intensity"] for p in block["points"] if p["fleet_monthly_cost_usd"] is None]
    parts = []
    if len(served) > 1:
        parts.append(f"The recommended fleet costs {fmt_usd(served[-1]['fleet_monthly_cost_usd'])} per month at "
                     f"intensity {served[-1]['intensity']:g} against {fmt_usd(served[0]['fleet_monthly_cost_usd'])} "
                     f"at {served[0]['intensity']:g}")
    if unserved:
        parts.append(f"at {and_list([f'{k:g}' for k in unserved])} no fleet of the chosen instance types meets the "
                     "overload target on every tier")
    cost0 = draws_of(sim, "monthly_cost_usd", points[0].name)
    for point, scen in reversed(list(zip(block["points"][1:], points[1:], strict=True))):
        cost = _interval(draws_of(sim, "monthly_cost_usd", scen.name) - cost0)
        if cost is not None:  # the most aggressive point with a cost in some draw
            parts.append(f"draw by draw, the monthly cost of {COST_BASIS[block['policy']]} rises by "
                         f"{fmt_usd(cost[0])} from {k0:g} to {point['intensity']:g} "
                         f"(90%: {fmt_range(cost[1], cost[2], 'usd', 2)})")
            break
    if parts:
        text = "; ".join(parts) + "."
        lines.append(text[0].upper() + text[1:])
    for tier in last["fleet"]:
        shares = [(p["intensity"], p["fleet"].get(tier, {}).get("infeasible_share") or 0.0) for p in block["points"]]
        hit = [(k, s) for k, s in shares if s > 0]
        if hit:
            k, s = hit[0]
            itype = last["fleet"][tier]["instance_type"]
            at_last = "" if k == k1 else f" ({fmt_pct(shares[-1][1])} at {k1:g})"
            lines.append(f"From intensity {k:g}, in {fmt_pct(s)} of draws{at_last} the {tier} peak "
                         f"on some day exceeds what any number of {itype} servers can deliver.")
    best = block["answer"]["max_intensity"]
    floor = block["min_runway_months"]
    rule = block["answer"]["rule"]
    if best is None:
        lines.append(f"{ANSWER_OPENINGS[0]} ({k0:g} to {k1:g}) passes the rule: {rule}.")
    elif best == k1:
        lines.append(f"{ANSWER_OPENINGS[1]}, up to {k1:g}, {rule}.")
    else:
        lines.append(f"{ANSWER_OPENINGS[2]} {rule} is {best:g}.")
    if floor is not None:
        probs = ", ".join(f"{p['intensity']:g}: {fmt_pct(p['p_runway_at_least_floor'])}" for p in block["points"])
        lines.append(f"Probability that runway stays at or above {floor:g} months, by intensity: {probs}.")
    return lines
