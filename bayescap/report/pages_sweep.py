"""The intensity sweep page: how aggressive can the sales be? (summary.json's ``sweep`` block only)."""

from __future__ import annotations

import numpy as np

from bayescap.report import figures, layout, style
from bayescap.report.formatting import NA, fmt_int, fmt_pct, fmt_usd, fmt_value, median_with_range
from bayescap.report.layout import Column, Doc, Page
from bayescap.report.run_files import RunFiles

TITLE = "How aggressive can the sales be?"


def _metric(point: dict, *ids: str) -> tuple[str, dict] | None:
    for mid in ids:
        if mid in point["metrics"]:
            return mid, point["metrics"][mid]
    return None


def _band(ax, x: np.ndarray, points: list[dict], ids: tuple[str, ...], *, colour: str, label: str) -> None:
    """Median line with the 80% band (shaded) and the 90% interval (error bars) of a metric over the points."""
    rows = [(_metric(p, *ids) or (None, {}))[1] for p in points]

    def col(key: str) -> np.ndarray:
        return np.array([np.nan if r.get(key) is None else float(r[key]) for r in rows])

    med = col("median")
    ax.fill_between(x, col("q10"), col("q90"), color=colour, alpha=0.18, lw=0)
    ax.errorbar(x, med, yerr=[med - col("q05"), col("q95") - med], fmt="o-", color=colour, ms=4, lw=1.4,
                capsize=2.5, label=label)


def sweep_page(doc: Doc, files: RunFiles) -> Page | None:
    """The page, when the run has a sweep; None otherwise."""
    sweep = files.summary.get("sweep")
    if not sweep or not sweep.get("points"):
        return None
    points = sweep["points"]
    types = " and ".join(sweep.get("event_types") or ["event"])
    page = doc.new_page(
        TITLE,
        f"The \u201c{sweep['scenario']}\u201d scenario simulated at each {types} intensity (1 = as strong as past "
        "events) from the same posterior draws: what the extra visitors bring, and what the servers cost.",
    )
    swept = set(sweep.get("event_types") or [])
    for caveat in files.summary.get("caveats") or []:
        if caveat.get("event_type") in swept or caveat.get("sweep_fleets"):
            page = layout.paragraph(doc, page, "Caveat: " + str(caveat.get("text", "")), weight="bold")
    x = np.array([float(p["intensity"]) for p in points])
    page, (left, right) = layout.axes_block(doc, page, 2.7, ncols=2, top_pad_in=0.35)
    gain = ("visitors_by_funding", "visitors_horizon")
    when = "by the funding date" if _metric(points[0], "visitors_by_funding") else "over the horizon"
    _band(left, x, points, gain, colour=style.FAN, label="visitors")
    left.set_title(f"Visitors {when}", fontsize=style.FONT_BODY)
    left.set_xlabel(f"{types} intensity")
    figures.thousands(left)
    _band(right, x, points, ("monthly_cost",), colour=style.scenario_colour(1), label="per draw: median, 80%, 90%")
    fleet_cost = np.array([np.nan if p.get("fleet_monthly_cost_usd") is None else p["fleet_monthly_cost_usd"]
                           for p in points])
    right.plot(x, fleet_cost, "s--", color=style.INK, ms=4, lw=1, label="recommended static fleet")
    right.set_title("Monthly infrastructure cost ($)", fontsize=style.FONT_BODY)
    right.set_xlabel(f"{types} intensity")
    right.legend(fontsize=style.FONT_TINY, loc="upper left")
    figures.thousands(right)
    for ax in (left, right):
        ax.set_xticks(x, [f"{v:g}" for v in x])
    statements = list(sweep.get("statements") or [])
    answer = (sweep.get("answer") or {}).get("text")
    if answer:
        page = layout.takeaway(doc, page, "Takeaway: " + answer)
    page = layout.note(
        doc,
        page,
        "Left: median, middle 80% (shaded) and 90% (bars) of the simulated visitors. Right: the same for the monthly "
        + ("cost of the autoscaled fleet" if sweep.get("policy") == "autoscale"
           else "cost of a static fleet sized, draw by draw, for that future's busiest day")
        + "; squares: the one static fleet per tier that keeps the chance of overload on some event day within the "
        "overload target (missing where no fleet of the chosen instance types can).",
    )
    page = _table(doc, page, sweep)
    page = layout.heading(doc, page, "In words")
    for text in statements:
        page = layout.paragraph(doc, page, text, bullet="\u2022", after_in=0.03)
    return page


def _table(doc: Doc, page: Page, sweep: dict) -> Page:
    points = sweep["points"]
    tiers = list(points[0]["fleet"])
    floor = sweep.get("min_runway_months")
    columns = [Column("intensity", 0.1, "right"), Column("visitors (median, 90%)", 0.2, "right")]
    columns += [Column(f"{t} servers", 0.09, "right") for t in tiers]
    columns += [Column("fleet $ per month", 0.12, "right"), Column("runway, months (median, 90%)", 0.2, "right")]
    if floor is not None:
        columns.append(Column(f"P(runway \u2265 {floor:g})", 0.11, "right"))
    columns.append(Column("no fleet suffices", 0.1, "right"))
    widths = sum(c.width for c in columns)
    columns = [Column(c.header, c.width / widths, c.align) for c in columns]
    rows = []
    for p in points:
        gain = _metric(p, "visitors_by_funding", "visitors_horizon")
        runway = _metric(p, "runway")
        row = [f"{p['intensity']:g}", median_with_range(gain[1], "visitors") if gain else NA]
        row += [fmt_int(p["fleet"][t]["servers"]) if p["fleet"][t]["servers"] is not None else "none" for t in tiers]
        row.append(fmt_usd(p["fleet_monthly_cost_usd"]) if p.get("fleet_monthly_cost_usd") is not None else "none")
        row.append(median_with_range(runway[1], "months") if runway else NA)
        if floor is not None:
            row.append(fmt_pct(p.get("p_runway_at_least_floor")))
        shares = [p["fleet"][t].get("infeasible_share") or 0.0 for t in tiers]
        row.append(fmt_value(max(shares), "probability") if shares else NA)
        rows.append(row)
    page = layout.table(doc, page, columns, rows)
    return layout.note(
        doc,
        page,
        "Servers and fleet cost: the recommended static fleet per tier (\u201cnone\u201d: no number of servers of "
        "that instance type meets the overload target). No fleet suffices: the share of draws in which some day's "
        "peak exceeds what any number of servers of a tier's instance type can deliver (the largest over tiers)."
        + ("" if floor is None else " A draw with no runway (no fleet suffices) counts as falling short of the floor."),
    )
