"""Page 1: the executive summary (scenario comparison, risk statements, model-check status).

Written for a reader with no statistics: intervals are explained once in plain words, the
model checks are one sentence, and every number is a value from ``summary.json``.
"""

from __future__ import annotations

from bayescap.checks import ESS_BULK_MIN, R_HAT_MAX, backtest_methods, model_checks
from bayescap.report import layout, style
from bayescap.report.formatting import fmt_pct, interval_cells, median_range, unit_label
from bayescap.report.layout import Column, Doc, Page
from bayescap.report.run_files import RunFiles

METRIC_ORDER = ("monthly_cost", "runway", "peak_rps_event", "peak_rps")
"""Metrics an executive reads first; the rest follow in the order of summary.json."""
SCENARIOS_PER_TABLE = 4

INTERVAL_EXPLAINER = (
    "How to read the ranges: each number is the median (the middle value: the outcome is equally likely to be "
    "higher or lower). A \u201c90% interval\u201d is a range that, given our data and models, contains the true "
    "value with 90% probability; the 80% and 95% intervals read the same way. Wider ranges mean more uncertainty."
)
CHECKS_EXPLAINER = (
    "These checks test whether the statistical fitting worked: that independent runs of the fitting algorithm agree, "
    "that it produced enough independent samples, and that it never got stuck."
)


def _backtest_summary(doc: Doc, page: Page, backtest: dict | None) -> Page:
    """One sentence on how well the traffic model forecast the run's own recent history (when the run has a backtest)."""
    methods = backtest_methods(backtest)
    own, naive = methods.get("bayescap"), methods.get("seasonal_naive")
    protocol = (backtest or {}).get("protocol") or {}
    if not own or own.get("rel_crps") is None or protocol.get("test_days") is None:
        return page
    text = (f"How good the traffic forecast was: forecasting the last {protocol['test_days']} days of the history from "
            f"the days before them, its average error was {fmt_pct(own['rel_crps'])} of the mean daily visits")
    if naive and naive.get("rel_crps") is not None:
        text += f" (repeating the week before: {fmt_pct(naive['rel_crps'])})"
    text += (f", and its 80% ranges held {fmt_pct(own.get('cov80'))} of the days (95% ranges: "
             f"{fmt_pct(own.get('cov95'))}). The backtest is in the appendix.")
    return layout.paragraph(doc, page, text, size=style.FONT_SMALL)


def check_status(files: RunFiles) -> dict:
    """Problems stated in summary.json plus any the thresholds find again in its diagnostics.

    Recomputing here means a summary.json that says ``ok`` but holds failing diagnostics is still
    reported as a draft.
    """
    checks = files.summary.get("checks") or {}
    problems = list(checks.get("problems") or [])
    models = checks.get("models") or {}
    if not models:
        problems.append("no model diagnostics were recorded")
    again = model_checks(models, files.summary.get("backtest")) if models else {"problems": []}
    for p in again["problems"]:
        if p not in problems:
            problems.append(p)
    ok = bool(checks.get("ok", False)) and not problems
    return {"ok": ok, "problems": problems}


def ordered_metrics(metrics: dict) -> list[str]:
    first = [m for m in METRIC_ORDER if m in metrics]
    return first + [m for m in metrics if m not in first]


def scenario_names(summary: dict) -> list[str]:
    return [s.get("name", f"scenario {i + 1}") for i, s in enumerate(summary.get("scenarios") or [])]


def summary_page(doc: Doc, files: RunFiles, status: dict) -> Page:
    s = files.summary
    names = scenario_names(s)
    run = s.get("run") or {}
    sub = [f"Run {(files.manifest or {}).get('run_name', files.run_dir.name)}"]
    if run.get("start") and run.get("end"):
        sub.append(f"forecast {run['start']} to {run['end']}")
    if names:
        sub.append("scenarios: " + ", ".join(names))
    page = doc.new_page("Capacity and cost forecast: executive summary", " · ".join(sub))
    label = run.get("label") or (files.manifest or {}).get("synthetic")
    if s.get("synthetic") or label:
        page = layout.paragraph(
            doc, page, f"Note: {label or 'synthetic data'}.", color=style.DRAFT_RED, weight="bold", gid=layout.STATED
        )

    if status["ok"]:
        extra = ", and the backtest's interval coverage is within its stated range" if s.get("backtest") else ""
        page = layout.paragraph(
            doc,
            page,
            "Model checks passed: the fitting diagnostics found no problem" + extra + ".",
            color=style.OK_GREEN,
            weight="bold",
            gid=layout.STATED,
            after_in=0.0,
        )
        page = layout.paragraph(doc, page, CHECKS_EXPLAINER, color=style.OK_GREEN, gid=layout.STATED)
    else:
        page = layout.paragraph(
            doc,
            page,
            "DRAFT \u2014 model checks failed: " + "; ".join(status["problems"]) + ".",
            color=style.DRAFT_RED,
            weight="bold",
            gid=layout.STATED,
        )
        page = layout.paragraph(
            doc,
            page,
            CHECKS_EXPLAINER + f" R-hat above {R_HAT_MAX} means independent runs disagree; an effective sample size "
            f"below {ESS_BULK_MIN} means too few independent samples; divergent transitions mean the algorithm got "
            "stuck. Until these are fixed (usually with more draws), treat every number below as provisional.",
            color=style.DRAFT_RED,
            gid=layout.STATED,
        )
    page = _backtest_summary(doc, page, s.get("backtest"))
    for caveat in s.get("caveats") or []:
        page = layout.paragraph(doc, page, "Caveat: " + str(caveat.get("text", "")), weight="bold")
    page = layout.paragraph(doc, page, INTERVAL_EXPLAINER, size=style.FONT_SMALL, color=style.MUTED)

    statements = s.get("statements") or []
    base = names[0] if names else None
    first = [st for st in statements if st.get("scenario") in (None, base)]
    page = layout.heading(doc, page, f"What the forecast says ({base})" if base else "What the forecast says")
    if not statements:
        page = layout.missing_note(doc, page, "summary.json has no risk statements.")
    for st in first:
        page = layout.paragraph(doc, page, str(st.get("text", "")), bullet="\u2022", after_in=0.03)
    sweep = s.get("sweep") or {}
    answer = (sweep.get("answer") or {}).get("text")
    if answer:
        page = layout.paragraph(
            doc, page, f"How aggressive can the sales be? {answer} See the page of that title.",
            bullet="\u2022", after_in=0.03, weight="bold",
        )

    page = layout.heading(doc, page, "Scenarios side by side (key numbers)", min_after_in=1.2)
    page = comparison_tables(doc, page, s, key_only=True)
    page = differences_table(doc, page, s, key_only=True)
    others = [n for n in names[1:] if any(st.get("scenario") == n for st in statements)]
    for name in others:
        page = layout.heading(doc, page, f"What the forecast says: {name}")
        for st in statements:
            if st.get("scenario") == name:
                page = layout.paragraph(doc, page, str(st.get("text", "")), bullet="\u2022", after_in=0.03)
    return page


def is_key_metric(metric_id: str) -> bool:
    """Metrics page 1 shows (the rest are in the appendix): cost, runway, the event peak, servers per tier."""
    return metric_id in METRIC_ORDER or metric_id.startswith("servers_")


def comparison_tables(doc: Doc, page: Page, summary: dict, *, key_only: bool = False) -> Page:
    """Scenario columns (four per table), one row per metric: median, 80% and 95% intervals."""
    scenarios = summary.get("scenarios") or []
    if not scenarios:
        return layout.missing_note(doc, page, "summary.json has no scenarios.")
    if key_only:
        descriptions = [f"{sc.get('name')}: {sc['description']}" for sc in scenarios if sc.get("description")]
        for d in descriptions:
            page = layout.paragraph(doc, page, d, size=style.FONT_SMALL, bullet="\u2022", after_in=0.0)
        page.y += 0.08
    metric_ids: list[str] = []
    for sc in scenarios:
        for m in ordered_metrics(sc.get("metrics") or {}):
            if m not in metric_ids and (is_key_metric(m) or not key_only):
                metric_ids.append(m)
    for start in range(0, len(scenarios), SCENARIOS_PER_TABLE):
        chunk = scenarios[start : start + SCENARIOS_PER_TABLE]
        label_w = 0.25
        cols = [Column("Quantity (unit)", label_w)] + [
            Column(sc.get("name", "?"), (1 - label_w) / len(chunk), "right") for sc in chunk
        ]
        rows = []
        for m in metric_ids:
            meta = next((sc["metrics"][m] for sc in chunk if m in (sc.get("metrics") or {})), None)
            if meta is None:
                continue
            unit = unit_label(meta.get("unit"))
            row = [f"{meta.get('label', m)}" + (f" ({unit})" if unit else "")]
            for sc in chunk:
                metric = (sc.get("metrics") or {}).get(m)
                if metric is None:
                    row.append("not computed")
                    continue
                med, i80, i95 = interval_cells(metric)
                cell = f"{med}\n80%: {i80}\n95%: {i95}"
                undefined = metric.get("undefined_share")
                if isinstance(undefined, (int, float)) and undefined > 0:
                    cell += f"\nundefined in {fmt_pct(undefined)} of futures (no fleet suffices)"
                row.append(cell)
            rows.append(row)
        page = layout.table(doc, page, cols, rows)
    return page


def differences_table(doc: Doc, page: Page, summary: dict, *, key_only: bool = False) -> Page:
    diffs = summary.get("differences") or []
    if not diffs:
        return page
    page = layout.note(
        doc,
        page,
        "Differences between scenarios, computed draw by draw (the same simulated futures under each scenario), "
        "so they are more certain than the gap between two medians suggests:",
        keep_with_in=layout.TABLE_START_IN,
    )
    cols = [
        Column("Scenario", 0.2),
        Column("compared with", 0.14),
        Column("Quantity (unit)", 0.3),
        Column("median difference", 0.14, "right"),
        Column("90% interval", 0.22, "right"),
    ]
    rows = []
    for d in diffs:
        for m in ordered_metrics(d.get("metrics") or {}):
            if key_only and not is_key_metric(m):
                continue
            v = d["metrics"][m]
            unit = v.get("unit")
            ul = unit_label(unit)
            rows.append(
                [
                    d.get("scenario", "?"),
                    d.get("vs", "?"),
                    v.get("label", m) + (f" ({ul})" if ul else ""),
                    *median_range(v, unit),
                ]
            )
    return layout.table(doc, page, cols, rows)
