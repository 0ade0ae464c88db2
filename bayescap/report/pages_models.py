"""Pages 2 and 3: the traffic forecast and the capacity curves.

The charts are drawn from the saved draws (``posteriors.nc``, ``simulation.nc``); the sentences
under them quote ``summary.json``. When a variable the chart needs is absent, the page says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from bayescap import usl
from bayescap.checks import traffic_ppc
from bayescap.dims import CHAIN, CONFIG, DATE, DRAW, EVENT_TYPE, OBS, SCENARIO
from bayescap.report import figures, layout, style
from bayescap.report.formatting import fmt_pct, fmt_sig, fmt_value, median_range, median_with_range
from bayescap.report.layout import Column, Doc, Page
from bayescap.report.run_files import RunFiles

VISITS_VARS = ("visits", "daily_visits", "count")
HISTORY_DAYS_SHOWN = 182


def sample_matrix(da: xr.DataArray, keep: tuple[str, ...]) -> np.ndarray:
    """Values as (sample, *keep): chain and draw (whichever exist) stacked into one leading axis."""
    sample_dims = [d for d in (CHAIN, DRAW) if d in da.dims]
    other = [d for d in da.dims if d not in sample_dims and d not in keep]
    if other:
        da = da.isel({d: 0 for d in other})
    da = da.transpose(*sample_dims, *keep)
    return np.asarray(da.values, dtype=float).reshape((-1,) + tuple(da.sizes[k] for k in keep))


def first_var(ds: xr.Dataset | None, names) -> xr.DataArray | None:
    if ds is None:
        return None
    for n in names:
        if n in ds.data_vars:
            return ds[n]
    return None


def event_mask(obj: xr.Dataset | xr.DataArray, scenario: str | None = None) -> np.ndarray | None:
    """The ``is_event`` flag along ``date`` (a coordinate or a variable, per scenario if it has one)."""
    for src in (obj.coords, getattr(obj, "data_vars", {})):
        if "is_event" in src:
            flag = obj["is_event"]
            if SCENARIO in flag.dims:
                flag = flag.sel({SCENARIO: scenario}) if scenario is not None else flag.isel({SCENARIO: 0})
            return np.asarray(flag.values, dtype=bool)
    return None


def _history(files: RunFiles):
    obs = files.group("traffic", "observed_data")
    if obs is None:
        return None
    da = first_var(obs, VISITS_VARS)
    if da is None:
        da = next((obs[v] for v in obs.data_vars if DATE in obs[v].dims), None)
    if da is None or DATE not in da.dims:
        return None
    return da


def _history_events(files: RunFiles, hist: xr.DataArray) -> np.ndarray | None:
    """Event flags of the history's days: the traffic fit keeps them in ``constant_data`` (``is_event``)."""
    flags = event_mask(hist)
    if flags is not None:
        return flags
    const = files.group("traffic", "constant_data")
    if const is None or "is_event" not in const or DATE not in const["is_event"].dims:
        return None
    flag = const["is_event"].reindex({DATE: hist[DATE].values}, fill_value=False)
    return np.asarray(flag.values, dtype=bool)


def traffic_page(doc: Doc, files: RunFiles, base: str) -> Page:
    s = files.summary
    page = doc.new_page(
        "Traffic: history and forecast",
        "Daily visitors: what was measured, and the range of futures the traffic model simulates.",
    )
    sim = files.simulation
    fc = first_var(sim, VISITS_VARS)
    hist = _history(files)
    page, (ax,) = layout.axes_block(doc, page, 3.4)
    if fc is None:
        ax.set_axis_off()
        page = layout.missing_note(
            doc, page, "simulation.nc has no daily visits variable (visits), so no forecast fan."
        )
    else:
        fc_s = fc.sel({SCENARIO: base}) if SCENARIO in fc.dims else fc
        draws = sample_matrix(fc_s, (DATE,))
        if hist is not None:
            hist = hist.isel({DATE: slice(-HISTORY_DAYS_SHOWN, None)})
        figures.fan_chart(
            ax,
            None if hist is None else pd.DatetimeIndex(hist[DATE].values),
            None if hist is None else hist.values,
            pd.DatetimeIndex(fc_s[DATE].values),
            draws,
            hist_events=None if hist is None else _history_events(files, hist),
            fc_events=event_mask(sim, base),
            ylabel="visitors per day",
            forecast_label=f"{base} forecast",
        )
        ax.set_title(
            f"Visitors per day: the last half year measured, then the \u201c{base}\u201d forecast",
            fontsize=style.FONT_BODY,
        )
        ax.legend(loc="upper left", ncols=3, fontsize=style.FONT_TINY)
        page = layout.note(
            doc,
            page,
            "Orange dots: past event days; orange ticks along the bottom: planned event "
            "days. Bands: the middle 50%, 80% and 95% of simulated futures.",
        )
        lo0, hi0 = np.nanquantile(draws[:, 0], [0.1, 0.9])
        lo1, hi1 = np.nanquantile(draws[:, -1], [0.1, 0.9])
        med0, med1 = np.nanmedian(draws[:, 0]), np.nanmedian(draws[:, -1])
        widens = (hi1 - lo1) / med1 > (hi0 - lo0) / med0
        page = layout.takeaway(
            doc,
            page,
            (
                "Takeaway: event days stand far above normal days, and the range of possible futures "
                + ("widens the further ahead we look." if widens else "stays about as wide over the horizon.")
            ),
        )

    lifts = (s.get("traffic") or {}).get("event_lift") or {}
    page, (ax_l, ax_p) = layout.axes_block(doc, page, 2.9, ncols=2, left_in=0.7, wspace_in=0.9)
    if lifts:
        types = list(lifts)
        post = files.group("traffic", "posterior")
        draws = None
        if post is not None and "new_event_lift" in post.data_vars:  # a new event's lift, as summary.json states
            m = sample_matrix(post["new_event_lift"], (EVENT_TYPE,))
            coord = [str(c) for c in post[EVENT_TYPE].values]
            if all(t in coord for t in types):
                draws = [m[:, coord.index(t)] for t in types]
        figures.interval_forest(
            ax_l,
            types,
            [lifts[t].get("median") for t in types],
            [lifts[t].get("q05") for t in types],
            [lifts[t].get("q95") for t in types],
            xlabel="visitors on an event day ÷ a normal day (ratio)",
            draws=draws,
            reference=1.0,
        )
        ax_l.set_title("Event lift by event type", fontsize=style.FONT_BODY)
    else:
        ax_l.set_axis_off()
    ppc_ok = _traffic_ppc(ax_p, files)
    ax_p.set_title("Model check: simulated vs real history", fontsize=style.FONT_BODY)
    if lifts:
        top = max(lifts, key=lambda t: lifts[t].get("median") or 0)
        v = lifts[top]
        med, rng = median_range(v, "ratio")
        page = layout.takeaway(
            doc,
            page,
            f"Takeaway: a \u201c{top}\u201d day brings {med} times the visitors of a normal day (90% interval {rng}).",
        )
    else:
        page = layout.missing_note(doc, page, "summary.json has no event lifts (traffic.event_lift).")
    on_page_one = any(c.get("kind") == "traffic_ppc_mismatch" for c in s.get("caveats") or [])
    page = layout.paragraph(doc, page, _ppc_sentence(ppc_ok, on_page_one), weight="bold", after_in=0.1)
    pf = (s.get("traffic") or {}).get("peak_factor") or {}
    if pf:
        parts = [
            f"{regime} days {median_with_range(v, '')}"
            for regime, v in pf.items()
            if isinstance(v, dict) and v.get("median") is not None
        ]
        if parts:
            page = layout.paragraph(
                doc,
                page,
                "Peak factor (busiest second of a day ÷ its average second; median and "
                "90% interval): " + "; ".join(parts) + ".",
                size=style.FONT_SMALL,
            )
    facts = []
    for key, words, unit in TRAFFIC_FACTS:
        v = (s.get("traffic") or {}).get(key)
        if isinstance(v, dict) and v.get("median") is not None:
            med, rng = median_range(v, unit)
            pct = "%" if unit == "pct" else ""
            facts.append(f"{words} {med}{pct} ({rng}{pct})")
    if facts:
        page = layout.paragraph(
            doc, page, "Traffic model, median (90% interval): " + "; ".join(facts) + ".", size=style.FONT_SMALL
        )
    return page


TRAFFIC_FACTS = (
    ("growth_pct_per_month", "underlying growth per month", "pct"),
    ("competitor_drop", "traffic lost on a competitor's event day", "probability"),
    ("news_day_share", "forecast normal days that are news days (as often as in the history)", "probability"),
)


def _traffic_ppc(ax, files: RunFiles) -> bool | None:
    """Draw the traffic PPC; True/False = whether the replicated data cover the observed typical and busy days."""
    obs = _history(files)
    pp = files.group("traffic", "posterior_predictive")
    if obs is None or pp is None or obs.name not in pp.data_vars:
        ax.set_axis_off()
        ax.text(
            0.5,
            0.5,
            "no posterior predictive draws saved",
            ha="center",
            va="center",
            transform=ax.transAxes,
            color=style.MUTED,
            gid=layout.STRUCTURAL,
        )
        return None
    rep = sample_matrix(pp[obs.name], (DATE,))
    figures.ppc_histograms(ax, obs.values, rep, xlabel="visitors per day (log scale)")
    return traffic_ppc(np.asarray(obs.values, dtype=float), rep)["ok"]


def _ppc_sentence(ok: bool | None, on_page_one: bool = False) -> str:
    if ok is None:
        return "Posterior predictive check: not available (the run saved no replicated traffic)."
    if ok:
        return (
            "Check: histories simulated by the model (light lines) match the real one (dark line) in its "
            "typical and its busy days."
        )
    if on_page_one:
        return ("Warning: histories simulated by the model do not match the real one in its typical or its busy "
                "days; the first page says by how much and what it means for the forecast.")
    return (
        "Warning: histories simulated by the model do not match the real one in its typical or its busy days; "
        "treat the forecast with caution."
    )


def config_tiers(post: xr.Dataset, summary_capacity: dict) -> dict[str, str]:
    """Which tier each load-test configuration belongs to (a coordinate on ``config`` or summary.json)."""
    out = {}
    for name, c in post.coords.items():
        if name != CONFIG and c.dims == (CONFIG,) and "tier" in str(name):
            out = {str(k): str(v) for k, v in zip(post[CONFIG].values, c.values, strict=True)}
    for cfg, v in summary_capacity.items():
        if isinstance(v, dict) and v.get("tier") and cfg not in out:
            out[cfg] = str(v["tier"])
    return out


def capacity_page(doc: Doc, files: RunFiles) -> Page:
    s = files.summary
    cap = s.get("capacity") or {}
    page = doc.new_page(
        "Capacity: how throughput grows with cores",
        "Measured load tests (dots), what the capacity model infers from them (line and bands), and "
        "what naive linear scaling would promise (dashed).",
    )
    post = files.group("capacity", "posterior")
    if post is None or not {"sigma", "kappa", "lam"} <= set(post.data_vars):
        page = layout.missing_note(doc, page, "posteriors.nc has no capacity posterior (sigma, kappa, lam).")
    else:
        page = _capacity_charts(doc, page, files, post, cap)
    page = _capacity_table(doc, page, cap)
    return _scale_cost(doc, page, s)


def measured_node_points(obs: xr.Dataset | None, const: xr.Dataset | None) -> tuple:
    """The load tests' node-level points as the capacity fit stores them: (n, throughput, configuration), each one
    value per row; (None, None, None) when the run lacks them. Cluster rows (``obs_level`` "cluster": n = nodes, a
    tier's whole cluster) are left out, since the charts show one node."""
    if obs is None or const is None or "n" not in const.data_vars or not obs.data_vars:
        return None, None, None
    x = np.asarray(next(iter(obs.data_vars.values())).values, dtype=float)
    n = np.asarray(const["n"].values, dtype=float)
    label = next((c for c in ("obs_config", CONFIG) if c in obs.coords and obs[c].dims == (OBS,)), None)
    if label is None or n.shape != x.shape:
        return None, None, None
    cfg = np.asarray(obs[label].values).astype(str)
    node = np.ones(x.shape, dtype=bool)
    if "obs_level" in obs.coords:
        node = np.asarray(obs["obs_level"].values).astype(str) != "cluster"
    return n[node], x[node], cfg[node]


def _capacity_charts(doc: Doc, page: Page, files: RunFiles, post: xr.Dataset, cap: dict) -> Page:
    tiers_of = config_tiers(post, cap)
    configs = [str(c) for c in post[CONFIG].values]
    tiers = list(dict.fromkeys(tiers_of.get(c, "all") for c in configs))
    n_obs, x_obs, cfg_obs = measured_node_points(files.group("capacity", "observed_data"),
                                                 files.group("capacity", "constant_data"))
    rng = np.random.default_rng(0)
    for t_start in range(0, len(tiers), 2):
        row = tiers[t_start : t_start + 2]
        page, axes = layout.axes_block(doc, page, 3.3, ncols=2, left_in=0.7, wspace_in=0.8)
        for ax, tier in zip(axes, row + [None] * (2 - len(row)), strict=True):
            if tier is None:
                ax.set_axis_off()
                continue
            cfgs = [c for c in configs if tiers_of.get(c, "all") == tier]
            n_max = 32.0
            if n_obs is not None and cfg_obs is not None:
                sel = np.isin(cfg_obs, cfgs)
                if sel.any():
                    n_max = max(n_max, float(n_obs[sel].max()) * 1.5)
            n_grid = np.linspace(1, n_max, 120)
            curve_top = 1.0
            for i, cfg in enumerate(cfgs):
                colour = style.scenario_colour(i)
                sig = sample_matrix(post["sigma"].sel({CONFIG: cfg}), ())
                kap = sample_matrix(post["kappa"].sel({CONFIG: cfg}), ())
                lam = sample_matrix(post["lam"].sel({CONFIG: cfg}), ())
                pick = rng.choice(sig.size, size=min(sig.size, 400), replace=False)
                curves = usl.throughput(n_grid[None, :], sig[pick, None], kap[pick, None], lam[pick, None])
                curve_top = max(curve_top, float(np.nanquantile(curves, 0.95, axis=0).max()))
                n_star = (cap.get(cfg) or {}).get("n_star", {}).get("median")
                sel = None if cfg_obs is None else cfg_obs == cfg
                figures.capacity_curves(
                    ax,
                    n_grid,
                    curves,
                    n_obs=None if sel is None else n_obs[sel],
                    x_obs=None if sel is None else x_obs[sel],
                    linear=np.median(lam) * n_grid,
                    n_star=n_star,
                    colour=colour,
                    label=cfg,
                )
            ax.set_title(f"Tier \u201c{tier}\u201d: one node", fontsize=style.FONT_BODY)
            ax.set_xlabel("cores (or workers) in use")
            ax.set_ylabel("throughput (req/s)")
            figures.thousands(ax)
            ax.set_ylim(0, curve_top * 1.6)  # linear extrapolations run off the top: that is the point
            ax.legend(loc="upper left", fontsize=style.FONT_TINY)
        page = layout.note(
            doc,
            page,
            "Dots: measured. Line and bands: model median, middle 50% and 90%. "
            "Dashed: linear extrapolation (throughput of one core times the number of cores). "
            "Dotted vertical line: N*, the point beyond which more cores lower throughput.",
        )
    best = _capacity_takeaway(cap)
    if best:
        page = layout.takeaway(doc, page, best)
    return page


NO_PEAK = "no peak"


def n_star_text(ns: dict) -> tuple[str, str]:
    """(median, 90% interval) of N*, the cores at which throughput peaks. A missing quantile is a draw share whose
    throughput never stops growing (coherency κ = 0): it reads "no peak", never "n/a" (summary.json stores null)."""
    med, rng = median_range(ns, "")
    lo, hi = ns.get("q05"), ns.get("q95")
    if ns.get("median") is None:
        med = NO_PEAK
    if lo is None and hi is None:
        rng = NO_PEAK
    elif hi is None:
        rng = f"{fmt_sig(lo)} to {NO_PEAK}"
    return med, rng


def _capacity_takeaway(cap: dict) -> str | None:
    rows = [(c, v) for c, v in cap.items() if isinstance(v, dict) and (v.get("n_star") or {}).get("median")]
    if not rows:
        return None
    cfg, v = min(rows, key=lambda r: r[1]["n_star"]["median"])
    ns, xm = v["n_star"], v.get("x_max") or {}
    med, rng = n_star_text(ns)
    text = f"Takeaway: servers do not scale linearly. {cfg} peaks at about {med} cores (90% interval {rng}"
    if ns.get("q95") is None and v.get("p_kappa_zero") is not None:
        text += f": in {fmt_pct(v['p_kappa_zero'])} of the draws its throughput never stops growing"
    text += ")"
    if xm.get("median") is not None:
        text += f", at most {fmt_sig(xm.get('median'))} req/s per node"
    return text + "; adding cores beyond that lowers throughput."


def _capacity_table(doc: Doc, page: Page, cap: dict) -> Page:
    rows = []
    for cfg, v in cap.items():
        if not isinstance(v, dict):
            continue
        cells = [cfg, str(v.get("tier", ""))]
        for key in ("lam", "sigma", "kappa", "n_star", "x_max"):
            p = v.get(key) or {}
            if key == "n_star" and p:
                med, rng = n_star_text(p)
                cells.append(f"{med}\n({rng})")
            else:
                cells.append(median_with_range(p, "", sep="\n") if p.get("median") is not None else "n/a")
        rows.append(cells)
    if not rows:
        return layout.missing_note(doc, page, "summary.json has no capacity parameters.")
    page = layout.heading(doc, page, "Capacity parameters (median and 90% interval)", min_after_in=0.8)
    cols = [
        Column("configuration", 0.17),
        Column("tier", 0.09),
        Column("λ: req/s of one core", 0.15, "right"),
        Column("σ: contention", 0.15, "right"),
        Column("κ: coherency", 0.15, "right"),
        Column("N*: best cores", 0.14, "right"),
        Column("max req/s", 0.15, "right"),
    ]
    return layout.table(doc, page, cols, rows)


def _scale_cost(doc: Doc, page: Page, summary: dict) -> Page:
    rows_in = summary.get("scale_cost") or []
    page = layout.heading(doc, page, "Scale up or scale out? Cost per 1,000 req/s", min_after_in=0.8)
    if not rows_in:
        return layout.missing_note(
            doc, page, "this run's summary.json has no scale-up vs scale-out comparison (scale_cost)."
        )
    rows = []
    for r in rows_in:
        v = r.get("usd_per_1000_rps") or {}
        unit = r.get("unit", "USD/month")
        rows.append(
            [
                str(r.get("tier", "")),
                str(r.get("option", "")),
                *median_range(v, unit),
            ]
        )
    per = (rows_in[0].get("unit") or "USD/month")[3:].lstrip("/ ") or "month"
    cols = [
        Column("tier", 0.15),
        Column("option", 0.45),
        Column(f"$ per {per} per 1,000 req/s", 0.2, "right"),
        Column("90% interval", 0.2, "right"),
    ]
    page = layout.table(doc, page, cols, rows)
    by_tier: dict[str, list] = {}
    for r in rows_in:
        by_tier.setdefault(str(r.get("tier", "")), []).append(r)
    for tier, rs in by_tier.items():
        rs = [r for r in rs if (r.get("usd_per_1000_rps") or {}).get("median") is not None]
        if len(rs) > 1:
            cheap = min(rs, key=lambda r: r["usd_per_1000_rps"]["median"])
            prior = (f" The scale-out option's contention between servers is the prior's: no load test ran several "
                     f"'{tier}' servers together." if any(r.get("scale_out_prior") for r in rs) else "")
            page = layout.paragraph(
                doc,
                page,
                f"Takeaway ({tier}): the cheapest option per unit of throughput is "
                f"{cheap.get('option')} ({fmt_value(cheap['usd_per_1000_rps']['median'], 'USD')} "
                f"per 1,000 req/s, median).{prior}",
                weight="bold",
                after_in=0.03,
            )
    return page
