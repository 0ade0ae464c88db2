"""summary.json's ``caveats``: where a forecast's numbers rest on a prior more than on the data, said in words.

Each caveat is a dict with ``kind``, ``text`` (printed on the report's first page and on the console) and the
numbers behind the text; one that concerns an event type has ``event_type`` (the intensity sweep's page repeats it
when it sweeps that type). Four kinds:

- ``event_weekday_confounded``: an event type on (almost) every day of one weekday (``bayescap.inputs.event_weekdays``);
- ``event_type_unseen``: a scenario schedules an event type with no occurrence in the fitted history, so its lift is
  the prior's;
- ``peak_factor_prior``: no intraday counts (or none on event days), so the peak factor is the prior's;
- ``traffic_ppc_mismatch``: histories simulated by the fitted traffic model do not look like the real one on its
  typical or its busy days (``bayescap.checks.traffic_ppc``), so the forecast's traffic is off in that direction.

The capacity side's caveats (fleets beyond the load tests) are in :mod:`bayescap.capacity_caveats`; the report prints
both lists, these first.

numpy and the posterior DataTree only: no model code.
"""

from __future__ import annotations

import numpy as np

from bayescap.checks import traffic_ppc_of
from bayescap.dims import EVENT_TYPE, REGIME, REGIMES
from bayescap.inputs.event_weekdays import weekday_bound_events


def ratio_text(x: float) -> str:
    return f"{x:.2f}" if x < 1 else f"{x:.1f}" if x < 10 else f"{x:,.0f}"


def _quantiles(values: np.ndarray) -> dict[str, float]:
    q05, q50, q95 = (float(v) for v in np.quantile(values, [0.05, 0.5, 0.95]))
    return {"q05": q05, "median": q50, "q95": q95}


def event_weekday_caveats(history, traffic) -> list[dict]:
    """Event types that take up (almost) every day of a weekday in the fitted history.

    Their lift is confounded with that weekday's effect (``bayescap.inputs.event_weekdays``), so the caveat gives the
    posterior of the visits of such a day over the same weekday without the event: the range the prior leaves open.
    """
    post = traffic["posterior"]
    out = []
    for bound in weekday_bound_events(history):
        if "lift_mean" not in post or bound.event_type not in post["lift_mean"].coords[EVENT_TYPE].values:
            continue
        q = _quantiles(np.exp(post["lift_mean"].sel({EVENT_TYPE: bound.event_type}).values.ravel()))
        typ, wd = bound.event_type, bound.weekday
        text = (f"The {typ} falls on {bound.which} of the fitted history, so its lift cannot be told apart from the {wd} "
                f"effect: a {wd} with a {typ} has ×{ratio_text(q['q05'])} to ×{ratio_text(q['q95'])} the visits of "
                f"one without (90% interval), a range the prior sets more than the data. Forecasts at the past "
                f"intensity are not affected; scenarios that change the {typ}'s intensity scale this lift, so their "
                f"numbers rest on that prior. {wd}s without a {typ} in the history would pin it down.")
        out.append({"kind": "event_weekday_confounded", "event_type": typ, "weekday": wd,
                    "event_days": bound.event_days, "free_days": bound.free_days, "lift_ratio": q, "text": text})
    return out


def unseen_event_caveats(traffic, scenarios) -> list[dict]:
    """Event types that a scenario schedules (at an intensity above 0) but that have no occurrence in the fitted
    history: a new day of such a type draws its lift from the prior of event lifts, whatever the other types show.

    The caveat gives that lift as a ratio of visits (a new occurrence's lift, 90% interval) and the scenarios it
    concerns, and says how to narrow it.
    """
    post = traffic["posterior"]
    if "lift_mean" not in post:
        return []
    types = [str(t) for t in post["lift_mean"].coords[EVENT_TYPE].values]
    seen = set(np.asarray(post.coords["event_type_of_event"].values, dtype=str)) if "event_type_of_event" in post.coords else set()
    # new_event_lift: a new occurrence's ratio of visits, exp(lift_mean + lift_sd z), drawn when the model was fitted
    ratios = post["new_event_lift"] if "new_event_lift" in post else np.exp(post["lift_mean"])
    out = []
    for typ in types:
        if typ in seen:
            continue
        users = [sc.name for sc in scenarios if any(e.type == typ and e.intensity > 0 for e in sc.events)]
        if not users:
            continue
        q = _quantiles(ratios.sel({EVENT_TYPE: typ}).values.ravel())
        names = ", ".join(users)
        text = (f"No {typ} day is in the fitted history, so the lift of a {typ} day is the prior's, not learnt from "
                f"data: ×{ratio_text(q['q05'])} to ×{ratio_text(q['q95'])} the visits of a day without it (90% "
                f"interval). The peaks, servers and costs of the scenarios with {typ} days ({names}) carry that "
                f"range. Flag past {typ} days in the history, or set the lift prior (lift_mean_mu, lift_mean_sd in "
                f"the scenario file's [priors] traffic) to what you expect.")
        out.append({"kind": "event_type_unseen", "event_type": typ, "scenarios": users, "lift_ratio": q, "text": text})
    return out


def peak_factor_caveats(traffic, scenarios) -> list[dict]:
    """No intraday counts: the peak factor (busiest second / mean second) of both regimes is the prior's; intraday
    counts without an event day: the event-day factor is the normal days' shifted by a prior. Either way the
    peaks, servers and costs rest on that assumption, so the caveat gives its range."""
    post = traffic["posterior"]
    if "peak_factor" not in post:
        return []
    n_normal = int(post.attrs.get("peak_days_normal", 0))
    n_event = int(post.attrs.get("peak_days_event", 0))
    has_events = any(e.intensity > 0 for sc in scenarios for e in sc.events)
    factor = {r: _quantiles(post["peak_factor"].sel({REGIME: r}).values.ravel()) for r in REGIMES}
    normal, event = factor["normal"], factor["event"]
    if n_normal == 0 and n_event == 0:
        outside = int(post.attrs.get("peak_days_outside", 0))
        regimes = (f"×{normal['q05']:.1f} to ×{normal['q95']:.1f} on normal days"
                   + (f" and ×{event['q05']:.1f} to ×{event['q95']:.1f} on event days" if has_events else ""))
        given = ("No intraday counts were given" if outside == 0 else
                 f"The intraday counts' {outside} days all fall outside the fitted history, where nothing says which "
                 f"were event days")
        text = (f"{given}, so the peak factor (a day's busiest second over its average second) is the prior's: "
                f"{regimes} (90% interval). Every peak, server count and cost carries that range. Hourly or 5-minute "
                f"counts (--intraday) of days in the history would estimate it from the site's own days.")
        return [{"kind": "peak_factor_prior", "regimes": ["normal", "event"], "peak_factor": factor,
                 "intraday_days": {"normal": 0, "event": 0, "outside": outside}, "text": text}]
    if n_event == 0 and has_events:
        text = (f"The intraday counts have no event day, so the event-day peak factor (a day's busiest second over "
                f"its average second) is the normal days' ({n_normal} days of intraday counts) shifted by a prior: "
                f"×{event['q05']:.1f} to ×{event['q95']:.1f} (90% interval). Event-day peaks and the fleets sized "
                f"for them carry that range. Intraday counts that include event days would estimate it.")
        return [{"kind": "peak_factor_prior", "regimes": ["event"], "peak_factor": factor,
                 "intraday_days": {"normal": n_normal, "event": 0}, "text": text}]
    return []


def count_text(x: float) -> str:
    """A count to 3 significant figures, thousands separated, millions as ``12.4M``."""
    if x >= 1e6:
        return f"{x / 1e6:.3g}M"
    return f"{float(f'{x:.3g}'):,.0f}" if x >= 100 else f"{x:.3g}"


_PPC_DAYS = {"typical": "typical day (median of daily visits)", "busy": "busy days (95th percentile of daily visits)"}


def ppc_caveats(traffic) -> list[dict]:
    """A caveat when histories replicated by the fitted traffic model miss the real one's typical or busy days.

    The replicated histories are the fit's ``posterior_predictive`` (each day given the days before it); the check
    is :func:`bayescap.checks.traffic_ppc`, the same one the report's traffic page draws.
    """
    check = traffic_ppc_of(traffic)
    if check is None or check["ok"]:
        return []
    parts, lower, higher = [], [], []
    for key, stat in check["statistics"].items():
        if stat["lo"] <= stat["observed"] <= stat["hi"]:
            continue
        (lower if stat["observed"] > stat["hi"] else higher).append(key)
        parts.append(f"{_PPC_DAYS[key]}: {count_text(stat['observed'])} visits in the history, "
                     f"{count_text(stat['lo'])} to {count_text(stat['hi'])} in the model's (95% interval)")
    direction = []
    if lower:
        direction.append(f"{' and '.join(lower)} days come out less busy than they were, so peaks, server counts "
                         f"and costs may be too low")
    if higher:
        direction.append(f"{' and '.join(higher)} days come out busier than they were, so peaks, server counts and "
                         f"costs may be too high")
    found, said = "; ".join(parts), "; ".join(direction)
    text = (f"Histories simulated by the traffic model do not look like the real one. {found[0].upper()}{found[1:]}. "
            f"{said[0].upper()}{said[1:]}.")
    outliers = check.get("outliers") or []
    if "busy" in lower:
        text += " Spikes that no event column flags (news) do this: flag the ones that will recur as events."
        above = [o["date"] for o in outliers if o["side"] == "above"][:3]
        if above:
            text += f" The days furthest above the model: {', '.join(above)}."
    return [{"kind": "traffic_ppc_mismatch", "statistics": check["statistics"], "level": check["level"],
             "outliers": outliers, "text": text}]


def report_caveats(history, traffic, scenarios) -> list[dict]:
    """Every caveat of a run, in the order the report prints them."""
    return [*event_weekday_caveats(history, traffic), *unseen_event_caveats(traffic, scenarios),
            *peak_factor_caveats(traffic, scenarios), *ppc_caveats(traffic)]
