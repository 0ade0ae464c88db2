"""Plain-language risk statements whose every number is computed from the draws.

One function per statement type; each returns ``{id, scenario, text, values}`` (or
None when it does not apply). ``values`` keeps the exact numbers, the text shows them
rounded for reading (:mod:`bayescap.simulate.fmt`). Types:

* ``peak_rps_event`` / ``peak_rps_event_<type>`` -- 90% upper bound on the busiest
  event-day peak of the horizon (per event type when there are several);
* ``peak_rps_normal`` -- the same for normal days;
* ``fleet_<tier>`` -- the recommended static fleet and its P(overload on any event day);
* ``infeasible_<tier>`` -- when some draws need more than any fleet of the instance type;
* ``fleet_cost`` -- what the recommended static fleets of all tiers cost a month (static fleet policy only);
* ``monthly_cost`` -- 90% interval of the monthly infrastructure cost;
* ``runway`` -- median and 90% interval of the runway; for alternatives, the change
  from the baseline with the per-draw 90% interval of that change;
* ``visitors_funding``, ``valuation``, ``ad_spend`` -- when the finance settings ask.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from bayescap.dims import DATE, EVENT_TYPE, SCENARIO, TIER
from bayescap.inputs.scenario_types import WEEKDAYS, Scenario
from bayescap.simulate.engine import split_types
from bayescap.simulate.fmt import and_list, fmt_month, fmt_num, fmt_pct, fmt_range, fmt_signed, fmt_usd, plural, range_sig
from bayescap.simulate.summary import draws_of, event_types_of, present_tiers, scenario_order

PROB = 0.90  # one-sided bounds
INTERVAL = (0.05, 0.95)  # two-sided 90% intervals


def _finite(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float).ravel()
    return x[np.isfinite(x)]


def _undefined_note(share: float, what: str) -> str:
    if share <= 0:
        return ""
    return f" In {fmt_pct(share)} of draws {what}; those draws are left out of this range."


def _statement(sid: str, scenario: str, text: str, values: dict) -> dict:
    return {"id": sid, "scenario": scenario, "text": text, "values": values}


def _event_days(sim: xr.Dataset, scenario: str, event_type: str | None) -> pd.DatetimeIndex:
    labels = np.asarray(sim["event_of_day"].sel({SCENARIO: scenario}).values).astype(str)
    mask = labels != "" if event_type is None else np.array([event_type in split_types(x) for x in labels], dtype=bool)
    return pd.DatetimeIndex(sim[DATE].values[mask])


def _weekday_note(days: pd.DatetimeIndex) -> tuple[str, str | None]:
    wd = sorted(set(days.day_of_week.tolist()))
    if len(wd) == 1:
        name = WEEKDAYS[wd[0]].capitalize()
        return f" ({name}s)", name
    return "", None


# ------------------------------------------------------------------------- statement types


def peak_event_statement(sim: xr.Dataset, scenario: str, event_type: str | None = None) -> dict | None:
    """90% upper bound on the busiest peak over all event days (or days of one type)."""
    days = _event_days(sim, scenario, event_type)
    if days.size == 0:
        return None
    draws = (draws_of(sim, "site_peak_event_max", scenario) if event_type is None
             else draws_of(sim, "site_peak_type_max", scenario, **{EVENT_TYPE: event_type}))
    v = _finite(draws)
    q = float(np.quantile(v, PROB))
    note, weekday = _weekday_note(days)
    types = event_types_of(sim, scenario)
    named = event_type if event_type is not None else (types[0] if len(types) == 1 else None)
    what = "every event day" if named is None else f"every {named} day"
    n = days.size
    text = (f"With {PROB:.0%} probability the peak on {what}{note} stays below {fmt_num(q, mode='up')} req/s "
            f"({n} {plural(n, 'day')} in the horizon, all tiers together).")
    sid = "peak_rps_event" if event_type is None else f"peak_rps_event_{event_type}"
    return _statement(sid, scenario, text, {"q90": q, "probability": PROB, "event_type": named,
                                            "days": int(n), "weekday": weekday})


def peak_normal_statement(sim: xr.Dataset, scenario: str) -> dict | None:
    """90% upper bound on the busiest normal-day peak."""
    v = _finite(draws_of(sim, "site_peak_normal_max", scenario))
    if v.size == 0:
        return None
    q = float(np.quantile(v, PROB))
    text = f"With {PROB:.0%} probability peaks on normal days stay below {fmt_num(q, mode='up')} req/s."
    return _statement("peak_rps_normal", scenario, text, {"q90": q, "probability": PROB})


def fleet_statement(sim: xr.Dataset, scenario: str, tier: str) -> dict:
    """The smallest static fleet meeting the overload target, or why none does."""
    at = {TIER: tier, SCENARIO: scenario}
    itype = str(sim["instance_type"].sel(at).values)
    target = float(sim["overload_target"].sel({SCENARIO: scenario}).values)
    basis = str(sim["fleet_basis"].sel({SCENARIO: scenario}).values)
    types = event_types_of(sim, scenario)
    where = (f"any {types[0]} day" if len(types) == 1 else "any event day") if basis == "event days" else "any day"
    m = float(sim["fleet_recommended"].sel(at).values)
    p_name = "fleet_p_overload_any_event_day" if basis == "event days" else "fleet_p_overload_any_day"
    infeasible = float(sim["infeasible_share"].sel(at).values)
    values = {"tier": tier, "instance_type": itype, "target": target, "basis": basis,
              "infeasible_share": infeasible}
    if np.isfinite(m):
        p = float(sim[p_name].sel(at).values)
        n = int(m)
        text = (f"{n} {tier} {plural(n, 'server')} ({itype}) keep the chance of overload on {where} "
                f"at or below {fmt_pct(target)} (it is {fmt_pct(p)}).")
        values.update(servers=n, p_overload=p)
    else:
        best = float(sim["fleet_best"].sel(at).values)
        best_p = float(sim["fleet_best_p_overload"].sel(at).values)
        text = (f"No number of {tier} servers ({itype}) keeps the chance of overload on {where} at or below "
                f"{fmt_pct(target)}: the best, {int(best)} {plural(best, 'server')}, still overloads in "
                f"{fmt_pct(best_p)} of draws.")
        if infeasible > 0:
            text += (f" In {fmt_pct(infeasible)} of draws the peak exceeds the most any fleet of this type "
                     "can deliver.")
        values.update(servers=None, best_servers=int(best), best_p_overload=best_p)
    return _statement(f"fleet_{tier}", scenario, text, values)


def infeasible_statement(sim: xr.Dataset, scenario: str, tier: str) -> dict | None:
    """Said only when some draws need more than any fleet of the tier's instance type can give."""
    at = {TIER: tier, SCENARIO: scenario}
    share = float(sim["infeasible_share"].sel(at).values)
    if not share > 0:
        return None
    itype = str(sim["instance_type"].sel(at).values)
    bad = np.asarray(sim["infeasible_any_day"].sel(at).values, dtype=bool)
    n_star = _finite(np.asarray(sim["n_star"].sel(at).values)[bad])
    text = (f"In {fmt_pct(share)} of draws the {tier} peak on some day exceeds the most that any number of "
            f"{itype} servers can deliver")
    values = {"tier": tier, "instance_type": itype, "share": share, "n_star_median": None}
    if n_star.size:
        med = float(np.median(n_star))
        text += f" (in those draws throughput stops growing at about {fmt_num(med, 2)} servers)"
        values["n_star_median"] = med
    text += ": no fleet of this type is enough there; a larger instance type or less work per request is needed."
    return _statement(f"infeasible_{tier}", scenario, text, values)


def fleet_cost_statement(sim: xr.Dataset, scenario: str) -> dict | None:
    """The monthly cost of buying the recommended static fleets, next to the cost range of fleets sized per draw.

    The two answer different questions: the range is what a fleet sized for each simulated future's busiest day
    would cost; the recommended fleet is one decision, sized so that overload stays within the target across the
    futures, and it costs what it costs. Not said for an autoscaled fleet, or when some tier has no fleet that
    meets the target (its fleet statement says so).
    """
    if str(sim["policy"].sel({SCENARIO: scenario}).values) == "autoscale":
        return None
    parts, total, servers = [], 0.0, {}
    for tier in present_tiers(sim, scenario):
        at = {TIER: tier, SCENARIO: scenario}
        m = float(sim["fleet_recommended"].sel(at).values)
        cost = float(sim["fleet_cost_monthly_usd"].sel(at).values)
        if not (np.isfinite(m) and np.isfinite(cost)):
            return None
        n = int(m)
        parts.append(f"{n} {tier}")
        servers[tier] = n
        total += cost
    if not parts:
        return None
    fleet = and_list(parts)
    n_all = sum(servers.values())
    text = (f"Buying the recommended fleet ({fleet} {plural(n_all, 'server')}) costs {fmt_usd(total)} per month; "
            "the range below is what a fleet sized for each simulated future's busiest day would cost.")
    return _statement("fleet_cost", scenario, text, {"monthly_cost_usd": total, "servers": servers})


def monthly_cost_statement(sim: xr.Dataset, scenario: str) -> dict | None:
    """90% interval of the monthly infrastructure cost under the scenario's fleet policy."""
    draws = draws_of(sim, "monthly_cost_usd", scenario)
    v = _finite(draws)
    policy = str(sim["policy"].sel({SCENARIO: scenario}).values)
    how = "an autoscaled fleet" if policy == "autoscale" else "a static fleet sized for the busiest day"
    undefined = float(1.0 - v.size / draws.size)
    if v.size == 0:
        text = "No monthly infrastructure cost can be given: in every draw some day exceeds what any fleet can serve."
        return _statement("monthly_cost", scenario, text, {"undefined_share": undefined})
    lo, hi = (float(x) for x in np.quantile(v, INTERVAL))
    med = float(np.median(v))
    text = (f"Monthly infrastructure cost is {fmt_range(lo, hi, "usd", 2)} "
            f"({INTERVAL[1] - INTERVAL[0]:.0%} interval, {how}).")
    text += _undefined_note(undefined, "some day exceeds what any fleet of the chosen instance types can serve")
    return _statement("monthly_cost", scenario, text,
                      {"q05": lo, "q95": hi, "median": med, "undefined_share": undefined})


def runway_statement(sim: xr.Dataset, scenario: str, baseline: str) -> dict | None:
    """Runway; for an alternative, the change from the baseline, with the per-draw interval of that change."""
    r = draws_of(sim, "runway_months", scenario)
    v = _finite(r)
    undefined = float(1.0 - v.size / r.size)
    if v.size == 0:
        text = "No runway can be given: in every draw some day exceeds what any fleet can serve."
        return _statement("runway", scenario, text, {"undefined_share": undefined})
    lo, hi = (float(x) for x in np.quantile(v, INTERVAL))
    med = float(np.median(v))
    dates = np.asarray(sim["cash_out_date"].sel({SCENARIO: scenario}).values)
    dates = dates[~np.isnat(dates)]
    cash_out = pd.Timestamp(np.sort(dates)[(dates.size - 1) // 2]) if dates.size else None
    values = {"median": med, "q05": lo, "q95": hi, "undefined_share": undefined,
              "cash_out_median": None if cash_out is None else f"{cash_out:%Y-%m-%d}"}
    rng = fmt_range(lo, hi)
    sig = range_sig(lo, hi)  # the median(s) with the interval's figures
    if scenario == baseline:
        text = f"Runway is {fmt_num(med, sig)} months (90%: {rng})"
        text += f": cash runs out around {fmt_month(cash_out)}." if cash_out is not None else "."
    else:
        b = draws_of(sim, "runway_months", baseline)
        d = r - b
        dv = _finite(d)
        b_med = float(np.median(_finite(b)))
        d_lo, d_hi = (float(x) for x in np.quantile(dv, INTERVAL))
        d_med = float(np.median(dv))
        a, c = fmt_num(b_med, sig), fmt_num(med, sig)
        verb = "stays at about" if a == c else ("falls from" if med < b_med else "rises from")
        head = f"Runway {verb} {a} months" if a == c else f"Runway {verb} {a} to {c} months"
        text = (f"{head} (90%: {rng}) compared with {baseline}; draw by draw the change is "
                f"{fmt_signed(d_med, 2)} months (90%: {fmt_signed(d_lo, 2)} to {fmt_signed(d_hi, 2)}).")
        values.update(baseline_median=b_med, diff_median=d_med, diff_q05=d_lo, diff_q95=d_hi)
    text += _undefined_note(undefined, "some day exceeds what any fleet can serve")
    return _statement("runway", scenario, text, values)


def visitors_statement(sim: xr.Dataset, scenario: Scenario) -> dict | None:
    """Visitors before the funding date (or why they cannot be given)."""
    funding = scenario.finance.funding_date
    if funding is None:
        return None
    v = _finite(draws_of(sim, "visitors_by_funding", scenario.name))
    if v.size == 0:
        start = pd.Timestamp(sim["horizon_start"].sel({SCENARIO: scenario.name}).values)
        end = start + pd.Timedelta(days=int(sim["horizon_days"].sel({SCENARIO: scenario.name}).values) - 1)
        text = (f"The funding date ({funding:%Y-%m-%d}) is outside the forecast horizon "
                f"({start:%Y-%m-%d} to {end:%Y-%m-%d}), so visitors by then are not estimated.")
        return _statement("visitors_funding", scenario.name, text,
                          {"funding_date": f"{funding:%Y-%m-%d}", "horizon_end": f"{end:%Y-%m-%d}"})
    lo, hi = (float(x) for x in np.quantile(v, INTERVAL))
    text = (f"Before the funding date ({funding:%Y-%m-%d}) the site gets {fmt_range(lo, hi, "num", 2)} "
            f"visitors (90% interval).")
    return _statement("visitors_funding", scenario.name, text,
                      {"q05": lo, "q95": hi, "median": float(np.median(v)), "funding_date": f"{funding:%Y-%m-%d}"})


def valuation_statement(sim: xr.Dataset, scenario: Scenario) -> dict | None:
    """Implied valuation = visitors by the funding date x value per visitor."""
    vpv = scenario.finance.value_per_visitor_usd
    if vpv is None or vpv <= 0:
        return None
    v = _finite(draws_of(sim, "valuation_usd", scenario.name))
    if v.size == 0:
        return None
    lo, hi = (float(x) for x in np.quantile(v, INTERVAL))
    text = (f"At {fmt_usd(vpv)} per visitor that implies a valuation of "
            f"{fmt_range(lo, hi, "usd", 2)} at the funding date (90% interval).")
    return _statement("valuation", scenario.name, text,
                      {"q05": lo, "q95": hi, "median": float(np.median(v)), "value_per_visitor_usd": vpv})


def ad_spend_statement(sim: xr.Dataset, scenario: Scenario, baseline: str) -> dict | None:
    """What the extra visitors over the baseline cost in ads."""
    spend = _finite(draws_of(sim, "ad_spend_usd", scenario.name))
    if spend.size == 0:
        return None
    extra = _finite(draws_of(sim, "visitors_horizon", scenario.name) - draws_of(sim, "visitors_horizon", baseline))
    e_lo, e_hi = (float(x) for x in np.quantile(extra, INTERVAL))
    s_lo, s_hi = (float(x) for x in np.quantile(spend, INTERVAL))
    text = (f"The extra {fmt_range(e_lo, e_hi, "num", 2)} visitors over {baseline} "
            f"cost {fmt_range(s_lo, s_hi, "usd", 2)} in ads (90% intervals), "
            "counted in the runway.")
    return _statement("ad_spend", scenario.name, text,
                      {"extra_q05": e_lo, "extra_q95": e_hi, "q05": s_lo, "q95": s_hi,
                       "usd_per_extra_visitor": scenario.finance.ad_spend_per_extra_visitor_usd})


# ------------------------------------------------------------------------- all of them


def risk_statements(sim: xr.Dataset, scenarios: Sequence[Scenario], *, baseline: str | None = None) -> list[dict]:
    """Every statement that applies, scenario by scenario (baseline first).

    Parameters
    ----------
    sim : xarray.Dataset
        The output of :func:`bayescap.simulate.simulate`.
    scenarios : sequence of Scenario
    baseline : str, optional
        Scenario that runway changes are measured from (default: the first simulated).

    Returns
    -------
    list of dict
        ``{"id", "scenario", "text", "values"}`` each.
    """
    names, by_name, base = scenario_order(sim, scenarios, baseline)
    out: list[dict | None] = []
    for name in [base] + [n for n in names if n != base]:
        sc = by_name[name]
        types = event_types_of(sim, name)
        out.append(peak_event_statement(sim, name))
        if len(types) > 1:
            out.extend(peak_event_statement(sim, name, t) for t in types)
        out.append(peak_normal_statement(sim, name))
        for tier in present_tiers(sim, name):
            out.append(fleet_statement(sim, name, tier))
            out.append(infeasible_statement(sim, name, tier))
        out.append(fleet_cost_statement(sim, name))
        out.append(monthly_cost_statement(sim, name))
        out.append(runway_statement(sim, name, base))
        out.append(visitors_statement(sim, sc))
        out.append(valuation_statement(sim, sc))
        out.append(ad_spend_statement(sim, sc, base))
    return [s for s in out if s is not None]
