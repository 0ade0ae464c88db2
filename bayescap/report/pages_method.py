"""Page 6 (method and assumptions) and the appendix (diagnostics, checks, backtest, versions).

The method page quotes inputs and priors (from ``manifest.json`` and the posteriors' attrs; tagged
``config``), the appendix quotes the diagnostics in ``summary.json`` (tagged ``stated``).
"""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import FuncFormatter, NullFormatter

from bayescap.checks import (
    ESS_BULK_MIN,
    R_HAT_MAX,
    backtest_methods,
    backtest_origin_problems,
    capacity_ppc_of,
    coverage_ranges,
    load_test_row_labels,
)
from bayescap.dims import OBS
from bayescap.report import layout, style
from bayescap.report.formatting import fmt_int, fmt_pct, fmt_r_hat, fmt_sig, fmt_usd, fmt_value
from bayescap.report.layout import Column, Doc, Page
from bayescap.report.pages_models import sample_matrix
from bayescap.report.run_files import RunFiles

FORMULAS = (
    (
        "Throughput of one node with N cores (Universal Scalability Law):",
        r"$X(N) = \dfrac{\lambda\, N}{1 + \sigma\,(N-1) + \kappa\, N\,(N-1)}, \qquad N^{*} = \sqrt{(1-\sigma)/\kappa}$",
    ),
    (
        "Daily visitors on day t (log scale): trend, weekday, season, event lifts, competitor days, and noise that "
        "carries over from day to day (\u03b5: Student-t on normal days, normal with a larger scale on event days):",
        r"$\log y_t = \ell_t + w_{\mathrm{weekday}(t)} + s_t + \sum_k \beta_k\, e_{t,k} - \gamma\, c_t + r_t, "
        r"\qquad r_t = \phi\, r_{t-1} + \varepsilon_t$",
    ),
    (
        "Peak demand on tier k (requests per second):",
        r"$\mathrm{peak}_{t,k} = y_t \times \mathrm{requests\ per\ visit} \times \mathrm{peak\ factor} \times "
        r"\mathrm{share}_k \times \mathrm{cost\ multiplier}_k \;/\; 86{,}400$",
    ),
    (
        "Servers needed (u = target utilisation; m nodes behind a load balancer):",
        r"$m_{t,k} = \min\,\{\, m : X_{\mathrm{cluster}}(m)\cdot u \geq \mathrm{peak}_{t,k} \,\}$",
    ),
)

MODEL_WORDS = (
    "Capacity. Each load-tested configuration gets its own contention σ (work that must queue), coherency κ "
    "(cost of keeping workers in sync) and single-core throughput λ; configurations of one tier share tier-level "
    "priors, so a sparsely tested configuration borrows strength from its siblings. The same law, with its own "
    "σ′ and κ′, describes adding nodes behind a load balancer. Because κ > 0 makes throughput fall past N*, a "
    "demand beyond the best fleet of an instance type is reported as \u201cno fleet suffices\u201d rather than "
    "as a huge server count.",
    "Traffic. Daily visitors follow a slowly moving level with weekday and yearly patterns. Event days (for example "
    "a weekly sale) get a lift per event type, partially pooled across events of that type, and their own, larger "
    "noise; competitor-event days get an estimated dip. Unannounced news the noise model's bounded tail cannot "
    "hold enters the forecast as news days: as often as the history's own day-to-day changes went beyond that tail, "
    "a forecast normal day takes one of those changes. The busiest second of a day is the day's average second "
    "times a peak factor, estimated separately for event and normal days.",
    "Decisions. For every posterior draw, day, tier and scenario the simulation turns traffic into peak demand, "
    "peak demand into servers needed, and servers into cost and runway. Probabilities are shares of draws; intervals "
    "are quantiles of draws; differences between scenarios are taken draw by draw.",
)


def _flatten(d, prefix: str = "") -> list[tuple[str, object]]:
    out = []
    if isinstance(d, dict):
        for k, v in d.items():
            out.extend(_flatten(v, f"{prefix}{k}." if isinstance(v, dict) else f"{prefix}{k}"))
        return out
    return [(prefix.rstrip("."), d)]


def _fmt_config(v) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, (int, float)):
        if float(v).is_integer():
            return fmt_int(v)
        text = fmt_sig(v, 4)  # a setting as written: 0.1, not 0.1000
        return text.rstrip("0").rstrip(".") if "." in text else text
    if isinstance(v, (list, tuple)):
        return ", ".join(_fmt_config(x) for x in v)
    return str(v)


def method_page(doc: Doc, files: RunFiles) -> Page:
    page = doc.new_page("Method and assumptions", "How the numbers are made, from which data, under which assumptions.")
    for text in MODEL_WORDS:
        page = layout.paragraph(doc, page, text, gid=layout.STATED)
    sweep = files.summary.get("sweep")
    if sweep:
        page = layout.paragraph(
            doc, page,
            f"Sweep. The \u201c{sweep.get('scenario')}\u201d scenario is simulated again at each intensity of its "
            f"{' and '.join(sweep.get('event_types') or ['event'])} days, from the same posterior draws and random "
            "numbers, so the points differ only by that intensity; the answer is the most aggressive intensity that "
            "meets the stated rule.",
            gid=layout.STATED,
        )
    page = layout.heading(doc, page, "What is measured and what is simulated")
    synthetic = files.summary.get("synthetic") or (files.manifest or {}).get("synthetic")
    for text in (
        "Measured: the traffic history (daily visitors, event days), the load tests (throughput at each number of "
        "cores or nodes) and the instance prices, from the files listed at the end of this section.",
        "Simulated: everything about the future. Traffic, peak demand, servers, overload risk, cost and runway are "
        "computed for each posterior draw; the scenario levers (event calendar and intensity, traffic split, "
        "per-request cost, instance type, fleet policy, cash and burn) are assumptions, not measurements.",
    ) + (("This run's inputs are synthetic (made up for testing), not measurements.",) if synthetic else ()):
        page = layout.paragraph(doc, page, text, bullet="\u2022", gid=layout.STATED)
    page = layout.heading(doc, page, "The models in formulas", min_after_in=1.0)
    w, h = style.PAGE_SIZE_IN
    for words, formula in FORMULAS:
        page = layout.paragraph(
            doc, page, words, size=style.FONT_SMALL, color=style.MUTED, after_in=0.0, gid=layout.STRUCTURAL
        )
        page = doc.ensure(page, 0.45)
        t = page.fig.text(
            (style.MARGIN_IN + 0.25) / w,
            1 - (page.y + 0.05) / h,
            formula,
            fontsize=style.FONT_BODY + 1,
            va="top",
            gid=layout.FORMULA,
        )
        page.y += 0.05 + layout.text_height_in(t) + 0.06
    page = _assumptions(doc, page, files)
    page = _priors(doc, page, files)
    page = _sources(doc, page, files)
    return page


def _assumptions(doc: Doc, page: Page, files: RunFiles) -> Page:
    scenarios = (files.manifest or {}).get("scenarios") or []
    if not scenarios:
        return page
    page = layout.heading(doc, page, "Scenario assumptions (from the scenario file)", min_after_in=0.8)
    rows = []
    for sc in scenarios:
        fleet = sc.get("fleet") or {}
        fin = sc.get("finance") or {}
        rows.append(
            [
                str(sc.get("name", "?")),
                _fmt_config(sc.get("horizon_days")),
                _fmt_config(sc.get("requests_per_visit")),
                str(fleet.get("policy", "")),
                _fmt_config(fleet.get("target_utilisation")),
                _fmt_config(fleet.get("overload_target")),
                fmt_usd(fin.get("cash_usd")),
                fmt_usd(fin.get("monthly_burn_usd")),
            ]
        )
    cols = [
        Column("scenario", 0.18),
        Column("horizon (days)", 0.1, "right"),
        Column("requests per visit", 0.1, "right"),
        Column("fleet policy", 0.12),
        Column("target utilisation", 0.12, "right"),
        Column("overload target", 0.12, "right"),
        Column("cash", 0.13, "right"),
        Column("burn per month", 0.13, "right"),
    ]
    return layout.table(doc, page, cols, rows, gid=layout.CONFIG)


def _priors(doc: Doc, page: Page, files: RunFiles) -> Page:
    page = layout.heading(doc, page, "Priors and traffic-model options used (saved with the run)", min_after_in=0.6)
    rows = []
    for model in ("capacity", "traffic"):
        priors = files.model_attrs(model).get("priors")
        if isinstance(priors, str):
            rows.append([model, "(as saved)", priors])
            continue
        for key, value in _flatten(priors or {}):
            rows.append([model, key, _fmt_config(value)])
    # every option the traffic model was fitted with, as saved with its posterior (a run before options were saved
    # there shows the scenario file's choices), so a report says which model made it even after a default changes
    options = files.model_options("traffic") or (files.summary.get("run") or {}).get("traffic_options") or {}
    for key, value in options.items():
        rows.append(["traffic", f"option {key}", _fmt_config(value)])
    chosen = files.model_attrs("traffic").get("fourier_order")
    if options.get("fourier_order") == "auto" and chosen is not None:
        rows.append(["traffic", "yearly order chosen", _fmt_config(int(chosen))])
    if not rows:
        return layout.missing_note(doc, page, "posteriors.nc records no priors (attrs 'priors').")
    half = (len(rows) + 1) // 2  # two rows of priors per table line: short lists, half the height
    two_up = [rows[i] + (rows[i + half] if i + half < len(rows) else ["", "", ""]) for i in range(half)]
    cols = [Column("model", 0.09), Column("prior or option", 0.23), Column("value", 0.18)] * 2
    return layout.table(doc, page, cols, two_up, gid=layout.CONFIG)


def _sources(doc: Doc, page: Page, files: RunFiles) -> Page:
    run = files.summary.get("run") or {}
    inputs = run.get("inputs") or (files.manifest or {}).get("inputs") or {}
    page = layout.heading(doc, page, "Data sources (files and their SHA-256 fingerprints)", min_after_in=0.6)
    if not inputs:
        return layout.missing_note(doc, page, "no input files are recorded in summary.json or manifest.json.")
    rows = [[k, str(v.get("path", "")), str(v.get("sha256", ""))] for k, v in inputs.items() if isinstance(v, dict)]
    page = layout.table(
        doc,
        page,
        [Column("input", 0.1), Column("file", 0.36), Column("sha256", 0.54, mono=True)],
        rows,
        size=style.FONT_TINY,
    )
    dates = [
        (label, run.get(key))
        for key, label in (
            ("history_start", "history from"),
            ("history_end", "history to"),
            ("start", "forecast from"),
            ("end", "forecast to"),
            ("created", "run created"),
        )
    ]
    dates = [f"{label} {v}" for label, v in dates if v]
    if dates:
        page = layout.paragraph(doc, page, "Dates: " + "; ".join(dates) + ".", size=style.FONT_SMALL)
    return page


def appendix_pages(doc: Doc, files: RunFiles, status: dict) -> Page:
    s = files.summary
    page = doc.new_page(
        "Appendix: model checks and reproducibility",
        "For the analyst: sampler diagnostics, posterior predictive checks, the backtest, versions.",
    )
    page = layout.paragraph(
        doc,
        page,
        f"R-hat compares independent chains (should be at most {R_HAT_MAX}); effective sample size (ESS) counts "
        f"independent draws (bulk ESS should be at least {ESS_BULK_MIN}); divergent transitions flag regions the "
        "sampler could not explore (should be none). Computed with ArviZ (arviz-stats).",
        size=style.FONT_SMALL,
    )
    models = (s.get("checks") or {}).get("models") or {}
    rows = []
    for model, d in models.items():
        bad = [p for p in status["problems"] if p.startswith(f"{model}:")]
        chains, draws = d.get("chains"), d.get("draws")
        rows.append(
            [
                model,
                fmt_int(d.get("divergences")),
                fmt_r_hat(d.get("max_r_hat")),
                fmt_value(d.get("min_ess_bulk"), "count"),
                fmt_value(d.get("min_ess_tail"), "count"),
                f"{fmt_int(chains)} × {fmt_int(draws)}" if chains is not None and draws is not None else "n/a",
                "FAILED" if bad else "passed",
            ]
        )
    page = layout.heading(doc, page, "Diagnostics per model", min_after_in=0.6)
    if rows:
        page = layout.table(
            doc,
            page,
            [
                Column("model", 0.16),
                Column("divergences", 0.13, "right"),
                Column("max R-hat", 0.13, "right"),
                Column("min bulk ESS", 0.14, "right"),
                Column("min tail ESS", 0.14, "right"),
                Column("chains × draws", 0.16, "right"),
                Column("status", 0.14),
            ],
            rows,
        )
    else:
        page = layout.missing_note(doc, page, "summary.json records no diagnostics.")
    var_rows = []
    for model, d in models.items():
        for var, v in (d.get("variables") or {}).items():
            var_rows.append(
                [
                    model,
                    var,
                    fmt_r_hat(v.get("max_r_hat")),
                    fmt_value(v.get("min_ess_bulk"), "count"),
                    fmt_value(v.get("min_ess_tail"), "count"),
                ]
            )
    if var_rows:
        page = layout.heading(doc, page, "Diagnostics per variable (worst element)", min_after_in=0.6)
        page = layout.table(
            doc,
            page,
            [
                Column("model", 0.2),
                Column("variable", 0.35),
                Column("max R-hat", 0.15, "right"),
                Column("min bulk ESS", 0.15, "right"),
                Column("min tail ESS", 0.15, "right"),
            ],
            var_rows,
        )
    skipped = [f"{model}: {', '.join(d['skipped'])}" for model, d in models.items() if d.get("skipped")]
    if skipped:
        page = layout.note(
            doc,
            page,
            "Not checked (constant, or a point mass of the model such as a parameter "
            "that is exactly zero in many draws, where rank diagnostics mean nothing): " + "; ".join(skipped) + ".",
        )
    if status["problems"]:
        page = layout.heading(doc, page, "Problems found")
        for p in status["problems"]:
            page = layout.paragraph(doc, page, p, bullet="\u2022", color=style.DRAFT_RED, after_in=0.0)
        page.y += 0.1
    page = _capacity_ppc(doc, page, files)
    page = _backtest(doc, page, s)
    return _versions(doc, page, files)


def all_metrics_pages(doc: Doc, files: RunFiles) -> Page | None:
    """Every metric of summary.json (page 1 shows only the key ones); no page when page 1 already shows them all."""
    from bayescap.report.pages_summary import comparison_tables, differences_table, is_key_metric

    summary = files.summary
    ids = {m for sc in summary.get("scenarios") or [] for m in (sc.get("metrics") or {})}
    if all(is_key_metric(m) for m in ids):
        return None
    page = doc.new_page(
        "Appendix: all metrics per scenario",
        "Median, 80% and 95% intervals of every metric in "
        "summary.json, and the per-draw differences from the baseline (median, 90% interval).",
    )
    page = comparison_tables(doc, page, summary)
    return differences_table(doc, page, summary)


def _capacity_ppc(doc: Doc, page: Page, files: RunFiles) -> Page:
    obs = files.group("capacity", "observed_data")
    pp = files.group("capacity", "posterior_predictive")
    page = layout.heading(doc, page, "Posterior predictive check: load tests", min_after_in=3.0)
    if obs is None or pp is None or not obs.data_vars:
        return layout.missing_note(doc, page, "posteriors.nc has no capacity posterior predictive draws.")
    name = next(iter(obs.data_vars))
    if name not in pp.data_vars:
        return layout.missing_note(doc, page, f"capacity posterior_predictive lacks '{name}'.")
    measured = np.asarray(obs[name].values, dtype=float)
    rep = sample_matrix(pp[name], (OBS,)) if OBS in pp[name].dims else None
    if rep is None:
        return layout.missing_note(doc, page, "capacity posterior_predictive has no 'obs' dimension.")
    lo, med, hi = np.nanquantile(rep, [0.05, 0.5, 0.95], axis=0)
    page, (ax,) = layout.axes_block(doc, page, 2.7, left_in=2.0, right_in=2.0)
    configs = load_test_row_labels(obs)
    for i, cfg in enumerate(dict.fromkeys(configs)):
        sel = configs == cfg
        ax.errorbar(
            measured[sel],
            med[sel],
            yerr=[med[sel] - lo[sel], hi[sel] - med[sel]],
            fmt="o",
            ms=3,
            color=style.scenario_colour(i),
            elinewidth=0.8,
            label=cfg,
        )
    top = float(np.nanmax([measured.max(), hi.max()])) * 1.3
    bottom = float(np.nanmin([measured[measured > 0].min(), lo[lo > 0].min()])) / 1.3
    ax.plot([bottom, top], [bottom, top], color=style.MUTED, lw=0.8, ls="--")
    ax.set_xscale("log")
    ax.set_yscale("log")  # load tests span orders of magnitude across tiers
    ax.set_xlim(bottom, top)
    ax.set_ylim(bottom, top)
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f}" if v < 1e4 else f"{v / 1e3:,.0f}k"))
        axis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("measured throughput (req/s, log scale)")
    ax.set_ylabel("model's prediction (req/s, log scale)")
    ax.legend(loc="upper left", fontsize=style.FONT_TINY)
    # the same check as page 1's caveat (bayescap.capacity_caveats)
    check = capacity_ppc_of(obs, pp, files.group("capacity", "constant_data"))
    on_page_one = any(c.get("kind") == "capacity_ppc_mismatch" for c in files.summary.get("caveats") or [])
    verdict = (
        "most measured points lie inside the model's 90% prediction ranges"
        if check is None or check["ok"]
        else "the model's replicated load tests do not look like the measured one"
        + (" (see page 1's caveat)" if on_page_one else "")
    )
    return layout.takeaway(doc, page, f"Check: {verdict} (bars: 90% ranges; dashed: perfect agreement).")


METHOD_NAMES = {
    "bayescap": "bayescap",
    "seasonal_naive": "seasonal naive",
    "prophet_log": "Prophet, log counts",
    "prophet_raw": "Prophet, raw counts",
}


def _backtest(doc: Doc, page: Page, summary: dict) -> Page:
    bt = summary.get("backtest")
    page = layout.heading(doc, page, "Backtest of the traffic forecast", min_after_in=0.6)
    methods = backtest_methods(bt)
    if not methods:
        skipped = (summary.get("run") or {}).get("backtest_skipped")
        return layout.missing_note(
            doc, page, f"{skipped}." if skipped else "this run has no backtest ('bayescap forecast --backtest' adds one)."
        )
    protocol = bt.get("protocol") or {}
    if protocol.get("train_days") is not None:
        page = layout.paragraph(
            doc,
            page,
            f"The last {protocol.get('n_windows')} windows of {protocol.get('window_days')} days of the traffic "
            f"history ({protocol.get('first_test_day')} to {protocol.get('last_test_day')}) were forecast as if they "
            f"were the future: before each window the traffic model was refitted on the {protocol.get('train_days')} "
            "days before it, with the window's event days known, and its predictive draws were scored against what "
            "happened. The seasonal naive forecast repeats the same weekday of the week before.",
            size=style.FONT_SMALL,
        )
    timed = any(m.get("seconds") is not None for m in methods.values())  # a forecast's own backtest keeps no times
    rows = []
    for name, m in methods.items():
        row = [METHOD_NAMES.get(name, name), *(fmt_sig(m.get(k)) for k in ("rel_crps", "cov80", "cov95", "mape"))]
        rows.append([*row, fmt_sig(m.get("seconds"))] if timed else row)
    cols = [
        Column("method", 0.3),
        Column("relCRPS (lower is better)", 0.16, "right"),
        Column("80% coverage", 0.13, "right"),
        Column("95% coverage", 0.13, "right"),
        Column("MAPE", 0.13, "right"),
    ]
    page = layout.table(doc, page, [*cols, Column("seconds", 0.15, "right")] if timed else cols, rows)
    ranges = coverage_ranges(bt)
    text = "; ".join(f"{k} within {fmt_sig(lo)}\u2013{fmt_sig(hi)}" for k, (lo, hi) in ranges.items())
    page = layout.paragraph(
        doc,
        page,
        f"Stated coverage ranges for bayescap's intervals: {text}. relCRPS: the average "
        "forecast error over the whole predictive distribution, relative to the mean actual.",
        size=style.FONT_SMALL,
        gid=layout.CONFIG,
    )
    sure = _backtest_sureness(methods, bt.get("comparisons") or {}, protocol)
    if sure:
        page = layout.paragraph(doc, page, sure, size=style.FONT_SMALL)
    problems = backtest_origin_problems(bt)
    if problems:
        page = layout.paragraph(
            doc,
            page,
            "Refits that mixed less well (their windows' scores are less certain; the forecast's own fit is checked "
            "above): " + "; ".join(problems) + ".",
            size=style.FONT_SMALL,
            color=style.DRAFT_RED,
        )
    return page


def _backtest_sureness(methods: dict, comparisons: dict, protocol: dict) -> str:
    """How much the backtest's scores owe to which days were tested (runs written since 2026-11-29; "" before)."""
    own = methods.get("bayescap") or {}
    interval = own.get("rel_crps_interval")
    if not interval:
        return ""
    level = fmt_pct(protocol.get("interval_level", 0.9))
    block = protocol.get("bootstrap_block_days")
    blocks = f"in blocks of {block} days" if block else "in blocks"
    text = (f"How sure these scores are: resampling the test days {blocks}, bayescap's relCRPS has the {level} "
            f"interval {fmt_sig(interval[0])}\u2013{fmt_sig(interval[1])}")
    naive = comparisons.get("seasonal_naive")
    if naive:
        lo, hi = naive["interval"]
        verdict = "lower" if naive["difference"] < 0 else "higher"
        text += (f"; on the same resampled days it is {fmt_sig(abs(naive['difference']))} {verdict} than the seasonal "
                 f"naive forecast's ({level} interval of bayescap minus seasonal naive: {fmt_sig(lo)} to "
                 f"{fmt_sig(hi)}), lower in {fmt_pct(naive['share_a_better'])} of resamples and in "
                 f"{naive['windows_a_better']} of {naive['n_windows']} windows")
    return text + "."


def _target_accept_text(capacity: dict) -> str:
    """", target acceptance 0.9", or the retry after divergences at the first value (summary.json's run record)."""
    accept = capacity.get("target_accept")
    if accept is None:
        return ""
    retried = capacity.get("divergences_before_retry")
    if retried:
        return (f", target acceptance {accept:g} (sampled again after {fmt_int(retried)} divergent "
                f"transition{'s' if retried != 1 else ''} at a lower target)")
    return f", target acceptance {accept:g}"


def _versions(doc: Doc, page: Page, files: RunFiles) -> Page:
    run = files.summary.get("run") or {}
    page = layout.heading(doc, page, "Reproducibility", min_after_in=0.6)

    def sampler(settings: dict) -> str:
        return (
            f"{fmt_int(settings.get('chains'))} chains × {fmt_int(settings.get('draws'))} draws after "
            f"{fmt_int(settings.get('tune'))} tuning steps"
        )

    capacity = run.get("capacity_sampler")
    facts = [
        f"seed {run.get('seed')}" if run.get("seed") is not None else None,
        None if run.get("draws") is None else ("traffic model " if capacity else "") + sampler(run),
        f"capacity model {sampler(capacity)}{_target_accept_text(capacity)}" if capacity else None,
        ("the capacity model was sampled again with twice the draws after its first run failed the checks ("
         + "; ".join(capacity["resampled_after"]) + ")") if capacity and capacity.get("resampled_after") else None,
    ]
    facts = [f for f in facts if f]
    if run.get("fits_reused_from"):
        facts.append(f"posteriors reused from run {run['fits_reused_from']}, which was fitted to the same data, "
                     "priors, seed, sampler settings and code (fit key " + str(run.get("fit_key", ""))[:12] + ")")
    if facts:
        page = layout.paragraph(doc, page, "Sampling: " + "; ".join(facts) + ".", size=style.FONT_SMALL)
    versions = run.get("versions") or (files.manifest or {}).get("versions") or {}
    if versions:
        items = sorted(versions.items())
        half = (len(items) + 1) // 2
        rows = []
        for i in range(half):
            right = items[i + half] if i + half < len(items) else ("", "")
            rows.append([items[i][0], str(items[i][1]), right[0], str(right[1])])
        page = layout.table(
            doc,
            page,
            [Column("package", 0.25), Column("version", 0.25), Column("package", 0.25), Column("version", 0.25)],
            rows,
            size=style.FONT_SMALL,
        )
    page = layout.paragraph(
        doc,
        page,
        f"Rebuild this PDF without refitting: bayescap report {files.final_dir}. "
        f"Diagnostic plots: bayescap diagnose {files.final_dir}.",
        size=style.FONT_SMALL,
        color=style.MUTED,
        gid=layout.STRUCTURAL,
    )
    return page
