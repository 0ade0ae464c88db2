"""Pages 4 and 5: servers, overload risk and cost; runway.

Charts come from the simulation's draws; every quoted number comes from ``summary.json``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayescap.dims import DATE, NODES, SCENARIO, TIER
from bayescap.report import figures, layout, style
from bayescap.report.formatting import fmt_int, fmt_pct, fmt_range, fmt_usd, fmt_value, median_range, unit_label
from bayescap.report.layout import Column, Doc, Page
from bayescap.report.pages_models import event_mask, first_var, sample_matrix
from bayescap.report.pages_summary import scenario_names
from bayescap.report.run_files import RunFiles

SERVERS_VARS = ("servers_needed",)
COST_VARS = ("monthly_cost_usd", "monthly_cost", "infra_cost_monthly_usd")
RUNWAY_VARS = ("runway_months", "runway")
CURVE_VAR = "p_overload_any_event_day"  # (nodes, tier, scenario) in the simulation, when it provides the curve


def _metric(summary: dict, scenario: str, metric_id: str) -> tuple[str, dict] | None:
    """The metric ``metric_id`` of a scenario in summary.json (exact id first, else the first id containing it)."""
    for sc in summary.get("scenarios") or []:
        if sc.get("name") == scenario:
            metrics = sc.get("metrics") or {}
            if metric_id in metrics:
                return metric_id, metrics[metric_id]
            for mid, m in metrics.items():
                if metric_id in mid:
                    return mid, m
    return None


def _sim_scenarios(files: RunFiles) -> list[str]:
    names = scenario_names(files.summary)
    sim = files.simulation
    if sim is not None and SCENARIO in sim.coords:
        present = [str(s) for s in sim[SCENARIO].values]
        return [n for n in names if n in present] or present
    return names


def _event_days(sim, scenario: str, dates) -> np.ndarray:
    """Whether each of ``dates`` is an event day of ``scenario`` (the simulation's ``event_of_day``)."""
    if sim is None or "event_of_day" not in sim:
        return np.zeros(len(dates), dtype=bool)
    label = sim["event_of_day"]
    if SCENARIO in label.dims:
        label = label.sel({SCENARIO: scenario})
    label = label.sel({DATE: dates}) if DATE in label.dims else label
    return np.asarray(label.values).astype(str) != ""


def servers_page(doc: Doc, files: RunFiles) -> Page:
    s = files.summary
    page = doc.new_page(
        "Servers and overload risk",
        "How many servers each day of the horizon needs, and the chance that a fleet of a given size "
        "is overloaded on some event day.",
    )
    sim = files.simulation
    servers = first_var(sim, SERVERS_VARS)
    names = _sim_scenarios(files)
    if servers is None:
        page = layout.missing_note(doc, page, "simulation.nc has no servers_needed variable.")
    else:
        tiers = [str(t) for t in servers[TIER].values] if TIER in servers.dims else [None]
        for tier in tiers:
            page, (ax,) = layout.axes_block(doc, page, 2.6, top_pad_in=0.55)
            finite_top = 1.0
            infeasible = first_var(sim, ("infeasible",))
            for i, sc in enumerate(names):
                da = servers.sel({SCENARIO: sc}) if SCENARIO in servers.dims else servers
                da = da.sel({TIER: tier}) if tier is not None else da
                m = sample_matrix(da, (DATE,))
                if np.isfinite(m).any():  # the top of the dotted 95% band, not the single largest draw
                    upper = np.nanquantile(np.where(np.isfinite(m), m, np.nan), 0.975, axis=0)
                    finite_top = max(finite_top, float(np.nanmax(upper)))
                if infeasible is not None:  # no fleet suffices: an unbounded need, drawn off the top
                    inf = infeasible.sel({SCENARIO: sc}) if SCENARIO in infeasible.dims else infeasible
                    inf = inf.sel({TIER: tier}) if tier is not None and TIER in inf.dims else inf
                    m = np.where(sample_matrix(inf, (DATE,)) > 0, 1e12, m)
                events = _event_days(sim, sc, da[DATE].values)
                offset = (i - (len(names) - 1) / 2) * min(1.2, 5.0 / max(len(names), 1))
                figures.event_day_intervals(
                    ax, pd.DatetimeIndex(da[DATE].values), m, events, colour=style.scenario_colour(i), label=sc,
                    offset_days=offset,
                )
            ax.set_ylabel("servers needed")
            ax.set_title(
                f"Tier \u201c{tier}\u201d: servers needed per day (event days: median, 80% and 95% bars)"
                if tier
                else "Servers needed per day",
                fontsize=style.FONT_BODY,
                pad=16,
            )
            ax.set_ylim(0, finite_top * 1.1 + 0.5)
            ax.legend(
                loc="lower left",
                bbox_to_anchor=(0.0, 1.0),
                ncols=min(6, len(names)),
                fontsize=style.FONT_TINY,
                borderaxespad=0.1,
            )
            m = _metric(s, names[0], f"servers_{tier}") if tier and names else None
            if m:
                page = layout.takeaway(
                    doc,
                    page,
                    (
                        f"Takeaway ({tier}): on its busiest day the \u201c{names[0]}\u201d plan needs "
                        f"{fmt_value(m[1].get('median'), 'servers')} "
                        f"{'server' if m[1].get('median') == 1 else 'servers'} "
                        + ("(the same in at least 90% of the simulated futures)."
                           if m[1].get("q05") == m[1].get("q95") == m[1].get("median") else
                           f"(90% interval {fmt_range(m[1].get('q05'), m[1].get('q95'), 'servers')}).")
                    ),
                )
    page = layout.heading(doc, page, "Recommended fleet per scenario", min_after_in=0.8)
    return fleet_table(doc, page, s)


def fleet_table(doc: Doc, page: Page, summary: dict) -> Page:
    rows = []
    notes: list[str] = []
    for sc in summary.get("scenarios") or []:
        for tier, f in (sc.get("fleet") or {}).items():
            infeasible = f.get("infeasible_share")
            servers = fmt_int(f.get("servers")) if f.get("servers") is not None else "none"
            if f.get("servers") is None:
                note = f"{sc.get('name', '?')}, {tier}: no fleet of {f.get('instance_type', 'this type')} meets the "
                note += "overload target"
                if f.get("best_servers") is not None:
                    note += (
                        f"; the best, {fmt_int(f['best_servers'])} servers, still has a "
                        f"{fmt_pct(f.get('best_p_overload'))} chance of overload on some event day"
                    )
                notes.append(note + ".")
            rows.append(
                [
                    sc.get("name", "?"),
                    tier,
                    str(f.get("instance_type", "")),
                    servers,
                    fmt_pct(f.get("p_overload_any_event_day")),
                    fmt_pct(f.get("p_overload_event_day")),
                    fmt_pct(f.get("p_overload_normal_day")),
                    fmt_usd(f.get("monthly_cost_usd")),
                    fmt_pct(infeasible) if infeasible is not None else "n/a",
                ]
            )
    if not rows:
        return layout.missing_note(doc, page, "summary.json has no fleet recommendation.")
    page = layout.note(
        doc,
        page,
        "The smallest fleet per tier that keeps the chance of overload on any event "
        "day of the horizon at or below the scenario's target; overload means peak demand above "
        "the fleet's capacity at the target utilisation.",
        keep_with_in=layout.TABLE_START_IN,
    )
    cols = [
        Column("scenario", 0.15),
        Column("tier", 0.07),
        Column("instance", 0.12),
        Column("servers", 0.08, "right"),
        Column("chance of overload: any event day", 0.13, "right"),
        Column("per event day", 0.12, "right"),
        Column("per normal day", 0.12, "right"),
        Column("$ per month", 0.1, "right"),
        Column("no fleet suffices", 0.11, "right"),
    ]
    page = layout.table(doc, page, cols, rows)
    for note in notes:
        page = layout.paragraph(doc, page, note, bullet="\u2022", color=style.DRAFT_RED, size=style.FONT_SMALL)
    return page


def _overload_charts(doc: Doc, page: Page, files: RunFiles, servers, names: list[str]) -> Page:
    tiers = [str(t) for t in servers[TIER].values] if TIER in servers.dims else []
    if not tiers:
        return page
    sim = files.simulation
    fleet_by = {sc.get("name"): sc.get("fleet") or {} for sc in files.summary.get("scenarios") or []}
    for t_start in range(0, len(tiers), 2):
        row = tiers[t_start : t_start + 2]
        page, axes = layout.axes_block(doc, page, 3.2, ncols=2, left_in=0.7, wspace_in=0.8, bottom_pad_in=0.95)
        for ax, tier in zip(axes, row + [None] * (2 - len(row)), strict=True):
            if tier is None:
                ax.set_axis_off()
                continue
            top = 1
            curve_var = first_var(sim, (CURVE_VAR,))
            for i, sc in enumerate(names):
                if curve_var is not None and NODES in curve_var.dims:
                    # the simulation's own curve (it knows the fleet policy and the infeasible days)
                    c = curve_var.sel({TIER: tier, SCENARIO: sc}) if SCENARIO in curve_var.dims else curve_var
                    sizes = np.asarray(c[NODES].values, dtype=float)
                    p = np.asarray(c.values, dtype=float)
                    ok = np.isfinite(p)
                    sizes, p = sizes[ok], p[ok]
                    if not sizes.size:
                        continue
                    zero = np.nonzero(p <= 0)[0]
                    top = max(top, int(sizes[zero[0]]) + 2 if zero.size else int(sizes[-1]))
                else:
                    ev = event_mask(sim, sc)
                    da = (
                        servers.sel({TIER: tier, SCENARIO: sc})
                        if SCENARIO in servers.dims
                        else servers.sel({TIER: tier})
                    )
                    m = sample_matrix(da, (DATE,))
                    if ev is not None and ev.any():
                        m = m[:, ev]
                    finite = m[np.isfinite(m)]
                    top = max(top, int(np.nanmax(finite)) + 2 if finite.size else 2)
                    sizes = np.arange(0, top + 1)
                    p = figures.p_overload_by_fleet(m, sizes)
                figures.overload_curve(ax, sizes, p, colour=style.scenario_colour(i), label=sc)
                f = fleet_by.get(sc, {}).get(tier)
                if f and f.get("servers") is not None and f.get("p_overload_any_event_day") is not None:
                    ax.plot(f["servers"], f["p_overload_any_event_day"], "o", color=style.scenario_colour(i), ms=5)
            ax.set_xlim(0, top)
            ax.set_xlabel(f"servers in the {tier} fleet")
            ax.set_ylabel("chance of overload on any event day")
            ax.set_title(f"\u201c{tier}\u201d: overload risk by fleet size", fontsize=style.FONT_BODY)
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2, fontsize=style.FONT_TINY)
        page = layout.note(
            doc,
            page,
            "Dots: the recommended fleet of each scenario (table above). Where a curve stays above zero or "
            "rises again, adding servers of that instance type no longer helps: the peak demand is beyond what "
            "the best cluster of that type can serve.",
        )
    base = names[0] if names else None
    parts = [
        f"{fmt_int(f['servers'])} {tier} servers ({fmt_pct(f.get('p_overload_any_event_day'))} chance of overload on "
        "some event day)"
        for tier, f in fleet_by.get(base, {}).items()
        if f.get("servers") is not None
    ]
    if parts:
        page = layout.takeaway(doc, page, f"Takeaway: the \u201c{base}\u201d plan needs " + " and ".join(parts) + ".")
    return page


def overload_cost_page(doc: Doc, files: RunFiles) -> Page:
    page = doc.new_page(
        "Overload risk and monthly cost",
        "How the chance of overload falls as servers are added, and what the infrastructure costs.",
    )
    servers = first_var(files.simulation, SERVERS_VARS)
    names = _sim_scenarios(files)
    if servers is None:
        page = layout.missing_note(doc, page, "simulation.nc has no servers_needed variable.")
    else:
        page = _overload_charts(doc, page, files, servers, names)
    return _distribution_block(
        doc,
        page,
        files,
        COST_VARS,
        "monthly infrastructure cost",
        "monthly infrastructure cost ($ per month)",
        "monthly_cost",
        "USD/month",
    )


def runway_page(doc: Doc, files: RunFiles) -> Page:
    page = doc.new_page(
        "Runway",
        "Months until the cash runs out, under the monthly burn plus the infrastructure cost of each scenario.",
    )
    return _distribution_block(
        doc, page, files, RUNWAY_VARS, "runway", "runway (months until cash runs out)", "runway", "months"
    )


def _distribution_block(
    doc: Doc, page: Page, files: RunFiles, var_names, what: str, xlabel: str, key: str, unit: str
) -> Page:
    s = files.summary
    names = _sim_scenarios(files)
    colours = [style.scenario_colour(i) for i in range(len(names))]
    page = layout.heading(doc, page, what[0].upper() + what[1:] + " per scenario", min_after_in=2.8)
    da = first_var(files.simulation, var_names)
    samples = []
    for sc in names if da is not None else []:
        d = da.sel({SCENARIO: sc}) if SCENARIO in da.dims else da
        if TIER in d.dims:
            d = d.sum(TIER)
        samples.append(sample_matrix(d, ()).ravel())
    # a few extreme draws (the heavy upper tail of event-day peaks) would stretch the axis, squashing every shape
    xlim = figures.tail_limits(samples)
    page = layout.note(
        doc,
        page,
        "White dot: median; thick bar: middle 80%; thin bar: middle 95%; shape: "
        + ("the simulated outcomes, rarest ends cut off." if xlim else "where the simulated outcomes fall."),
    )
    if da is None:
        return layout.missing_note(doc, page, f"simulation.nc has no {var_names[0]} variable.")
    never = any(np.isinf(x).any() for x in samples)
    sentences = []
    for sc in names:
        m = _metric(s, sc, key)
        if m:
            v = m[1]
            med, rng = median_range(v, v.get("unit", unit))
            sentences.append(f"{sc}: {med} ({rng})")
    # what follows the chart, as (kind, text): composed first so that the chart can leave room for it
    after: list[tuple[str, str]] = []
    if sentences:
        after.append(("takeaway", f"Takeaway: {what}, median (90% interval): " + "; ".join(sentences) + "."))
    if never:
        after.append(("note", "Some simulated futures never run out (infinite values); they are not drawn."))
    diff = _diff_text(s, key)
    if diff:
        after.append(("small", diff))
    related = [st for st in s.get("statements") or [] if str(st.get("id", "")).startswith(key)]
    words = [(f"{st['scenario']}: " if st.get("scenario") else "") + str(st.get("text", "")) for st in related]
    page, (ax,) = layout.axes_block(doc, page, _chart_height(page, len(names), after, words), left_in=1.45)
    figures.distributions(ax, samples, names, xlabel=xlabel, colours=colours, xlim=xlim)
    if key == "monthly_cost":
        figures.thousands(ax, "x")
    for kind, text in after:
        if kind == "takeaway":
            page = layout.takeaway(doc, page, text)
        elif kind == "note":
            page = layout.note(doc, page, text)
        else:
            page = layout.paragraph(doc, page, text, size=style.FONT_SMALL)
    if words:
        page = layout.heading(doc, page, "In words")
        for text in words:
            page = layout.paragraph(doc, page, text, bullet="\u2022", after_in=0.03)
    return page


def _chart_height(page: Page, n_rows: int, after: list[tuple[str, str]], words: list[str]) -> float:
    """The distribution chart's height: 0.45 in per row (at least 2.4 in), or down to 0.3 in per row (at least
    1.9 in) when that keeps the text below it on this page instead of a continuation page of a few lines."""
    full = max(2.4, 0.45 * n_rows + 1.2)
    least = max(1.9, 0.3 * n_rows + 0.9)
    text = sum(layout.paragraph_height(t, size=style.FONT_BODY if kind == "takeaway" else style.FONT_SMALL,
                                       weight="bold" if kind == "takeaway" else "normal",
                                       after_in=0.12 if kind == "takeaway" else 0.05) for kind, t in after)
    if words:
        text += layout.heading_height() + sum(layout.paragraph_height(t, bullet=True, after_in=0.03) for t in words)
    room = page.room()
    if room >= full + text or room < least + text:
        return full
    return room - text


def _diff_text(summary: dict, key: str) -> str | None:
    """"Per-draw differences, median (90% interval): ..." of one metric, or None when there are none."""
    parts = []
    for d in summary.get("differences") or []:
        for mid, v in (d.get("metrics") or {}).items():
            if mid == key:
                unit = v.get("unit")
                med, rng = median_range(v, unit)
                parts.append(f"{d.get('scenario')} vs {d.get('vs')}: {med} ({rng}) {unit_label(unit)}")
    return "Per-draw differences, median (90% interval): " + "; ".join(parts) + "." if parts else None
