"""Chart functions: data in, drawing on a given matplotlib Axes out.

Why data-in functions: the report, the README picture and an analyst's notebook can all draw
the same charts from arrays without any model object. None of these functions writes a
number into the chart's text (titles, annotations): numbers a reader is meant to take away
come from ``summary.json`` and are written by the page code; only the axes' tick labels are
computed here, by matplotlib.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, MaxNLocator

from bayescap.report import style

FAN_LEVELS = (0.95, 0.80, 0.50)


def thousands(ax: Axes, axis: str = "y") -> None:
    """Tick labels with thousands separators; k from 10,000, M from a million (one style per axis)."""
    target = ax.yaxis if axis == "y" else ax.xaxis

    def fmt(v, _pos):
        if v == 0:
            return "0"
        top = max(abs(x) for x in target.get_view_interval())
        if top >= 1e6:
            return f"{v / 1e6:g}M"
        if top >= 1e4:
            return f"{v / 1e3:g}k"
        return f"{v:,.0f}" if float(v).is_integer() else f"{v:g}"

    target.set_major_formatter(FuncFormatter(fmt))


def date_axis(ax: Axes) -> None:
    loc = mdates.AutoDateLocator(minticks=4, maxticks=8)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc, show_offset=False))


def fan_chart(
    ax: Axes,
    hist_dates,
    hist_values,
    fc_dates,
    fc_draws: np.ndarray,
    *,
    hist_events=None,
    fc_events=None,
    ylabel: str,
    forecast_label: str = "forecast",
) -> None:
    """History line and a forecast fan (median, 50/80/95% central bands) with event days marked.

    ``fc_draws`` has shape (draw, date). Event days are marked by orange dots on the history and
    orange ticks along the bottom of the forecast.
    """
    if hist_dates is not None and len(hist_dates):
        ax.plot(hist_dates, hist_values, color=style.HISTORY, lw=0.8, label="history (measured)")
        if hist_events is not None and np.any(hist_events):
            ev = np.asarray(hist_events, dtype=bool)
            ax.plot(
                np.asarray(hist_dates)[ev],
                np.asarray(hist_values)[ev],
                "o",
                ms=2.2,
                color=style.EVENT,
                label="event day",
            )
    for level in FAN_LEVELS:
        lo, hi = np.nanquantile(fc_draws, [(1 - level) / 2, (1 + level) / 2], axis=0)
        ax.fill_between(
            fc_dates, lo, hi, color=style.FAN, alpha=style.BAND_ALPHAS[level], lw=0, label=f"{int(level * 100)}% band"
        )
    ax.plot(fc_dates, np.nanmedian(fc_draws, axis=0), color=style.FAN, lw=1.2, label=f"{forecast_label} median")
    if fc_events is not None and np.any(fc_events):
        ev_dates = np.asarray(fc_dates)[np.asarray(fc_events, dtype=bool)]
        ax.plot(
            ev_dates,
            np.zeros(len(ev_dates)),
            "|",
            color=style.EVENT,
            ms=8,
            mew=1.4,
            transform=ax.get_xaxis_transform(),
            clip_on=False,
        )
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, ax.get_ylim()[1] * 1.3)  # headroom for the legend above the data
    thousands(ax)
    date_axis(ax)


def interval_forest(
    ax: Axes, labels: Sequence[str], medians, lo, hi, *, xlabel: str, draws=None, reference: float | None = None
) -> None:
    """One row per item: median dot and 90% interval line, over a density of the draws when given."""
    y = np.arange(len(labels))[::-1]
    if draws is not None:
        for yi, d in zip(y, draws, strict=True):
            d = np.asarray(d, dtype=float)
            d = d[np.isfinite(d)]
            if d.size > 1 and np.ptp(d) > 0:
                vp = ax.violinplot(d, positions=[yi], orientation="horizontal", widths=0.7, showextrema=False)
                for body in vp["bodies"]:
                    body.set_facecolor(style.FAN)
                    body.set_alpha(0.25)
                    body.set_edgecolor("none")
    ax.hlines(y, lo, hi, color=style.FAN, lw=2.2)
    ax.plot(medians, y, "o", color=style.FAN, ms=5)
    if reference is not None:
        ax.axvline(reference, color=style.MUTED, lw=0.8, ls=":")
    ax.set_yticks(y, labels)
    ax.set_xlabel(xlabel)
    ax.grid(axis="y", visible=False)


def ppc_histograms(
    ax: Axes,
    observed: np.ndarray,
    replicated: np.ndarray,
    *,
    xlabel: str,
    log: bool = True,
    n_lines: int = 40,
    seed: int = 0,
) -> None:
    """Posterior predictive check: histograms of replicated data sets (light) against the observed one (dark)."""
    obs = np.asarray(observed, dtype=float)
    rep = np.asarray(replicated, dtype=float).reshape(-1, obs.size)
    tf = np.log10 if log else (lambda a: a)
    finite = np.concatenate([obs[np.isfinite(obs) & (obs > 0 if log else True)]])
    lo, hi = np.nanquantile(tf(finite), [0.0, 1.0])
    span = hi - lo if hi > lo else 1.0
    bins = np.linspace(lo - 0.15 * span, hi + 0.15 * span, 40)
    rng = np.random.default_rng(seed)
    pick = rng.choice(rep.shape[0], size=min(n_lines, rep.shape[0]), replace=False)
    centers = 0.5 * (bins[1:] + bins[:-1])
    for i in pick:
        r = rep[i]
        r = r[np.isfinite(r) & ((r > 0) if log else True)]
        h, _ = np.histogram(tf(r), bins=bins, density=True)
        ax.step(centers, h, where="mid", color=style.FAN, alpha=0.12, lw=0.8)
    h, _ = np.histogram(tf(finite), bins=bins, density=True)
    ax.step(centers, h, where="mid", color=style.HISTORY, lw=1.5, label="observed")
    ax.plot([], [], color=style.FAN, alpha=0.5, label="replicated by the model")
    if log:
        nice = [m * 10.0**k for k in range(0, 12) for m in (1, 2, 5)]
        ticks = [np.log10(v) for v in nice if bins[0] <= np.log10(v) <= bins[-1]]
        if len(ticks) < 3:
            nice = [m * 10.0**k for k in range(0, 12) for m in (1, 1.5, 2, 3, 5, 7)]
            ticks = [np.log10(v) for v in nice if bins[0] <= np.log10(v) <= bins[-1]]
        elif len(ticks) > 7:  # a wide range (news spikes): 1-2-5 labels would overlap; decades, or 1-3 per decade
            decades = [np.log10(m * 10.0**k) for k in range(0, 12) for m in (1, 3)]
            ticks = [t for t in decades if bins[0] <= t <= bins[-1]]
            if len(ticks) > 7:
                ticks = [t for t in ticks if abs(t - round(t)) < 1e-9]
        ax.set_xticks(ticks)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: _short(10**v)))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.set_yticks([])
    ax.set_ylim(0, ax.get_ylim()[1] * 1.25)  # room for the legend above the histograms
    ax.legend(loc="upper right")


def _short(v: float) -> str:
    if v >= 1e6:
        return f"{v / 1e6:.3g}M"
    if v >= 1e3:
        return f"{v / 1e3:.3g}k"
    return f"{v:.3g}"


def capacity_curves(
    ax: Axes,
    n_grid: np.ndarray,
    curves: np.ndarray,
    *,
    n_obs=None,
    x_obs=None,
    linear=None,
    n_star: float | None = None,
    colour: str = style.FAN,
    label: str = "",
) -> None:
    """USL throughput against units (cores/nodes): measured points, posterior median with 50% and 90%
    bands, the linear extrapolation (dashed) and the peak N* (dotted vertical line)."""
    lo90, lo50, med, hi50, hi90 = np.nanquantile(curves, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
    ax.fill_between(n_grid, lo90, hi90, color=colour, alpha=0.15, lw=0)
    ax.fill_between(n_grid, lo50, hi50, color=colour, alpha=0.3, lw=0)
    ax.plot(n_grid, med, color=colour, lw=1.4, label=label)
    if linear is not None:
        ax.plot(n_grid, linear, color=colour, lw=0.9, ls="--", alpha=0.8)
    if n_obs is not None and len(n_obs):
        ax.plot(n_obs, x_obs, "o", ms=3.2, mfc="white", mec=colour, mew=1.0)
    if n_star is not None and np.isfinite(n_star) and n_grid[0] <= n_star <= n_grid[-1]:
        ax.axvline(n_star, color=colour, lw=0.9, ls=":")


def event_day_intervals(
    ax: Axes, dates, draws: np.ndarray, is_event: np.ndarray, *, colour: str, label: str, offset_days: float = 0.0
) -> None:
    """Servers-style daily draws (draw, date): a median step line over normal days, and on event days a dot
    (median) with a thick bar (middle 80%) and a thin one (middle 95%), shifted by ``offset_days`` so that
    several scenarios stand side by side instead of on top of each other."""
    d = np.where(np.isfinite(draws), draws, np.nan)
    med = np.nanmedian(d, axis=0)
    q = np.nanquantile(d, [0.025, 0.1, 0.9, 0.975], axis=0)
    ev = np.asarray(is_event, dtype=bool)
    dates = pd.DatetimeIndex(dates)
    ax.step(dates, np.where(ev, np.nan, med), where="mid", color=colour, lw=1.0, label=label)
    x = dates[ev] + pd.to_timedelta(offset_days, unit="D")
    ax.vlines(x, q[0][ev], q[3][ev], color=colour, lw=0.6)
    ax.vlines(x, q[1][ev], q[2][ev], color=colour, lw=2.2)
    ax.plot(x, med[ev], "o", color=colour, ms=2.6, mec="white", mew=0.4)
    date_axis(ax)


TAIL_SHARE = 0.005
"""The share of each scenario's draws, at each end, that :func:`tail_limits` may leave off a distribution chart."""


def tail_limits(
    samples: Sequence[np.ndarray], *, share: float = TAIL_SHARE, slack: float = 1.5
) -> tuple[float, float] | None:
    """x-limits for :func:`distributions` that leave out each sample's rarest draws (``share`` at each end), or None.

    None when the full range is at most ``slack`` times the range that holds the rest: a few extreme draws (the
    heavy upper tail of event-day peaks) would otherwise stretch the axis and squash every violin against one end.
    """
    finite = [x[np.isfinite(x)] for x in (np.asarray(v, dtype=float) for v in samples)]
    finite = [x for x in finite if x.size]
    if not finite:
        return None
    lo = min(float(np.quantile(x, share)) for x in finite)
    hi = max(float(np.quantile(x, 1.0 - share)) for x in finite)
    full_lo, full_hi = min(float(x.min()) for x in finite), max(float(x.max()) for x in finite)
    if hi <= lo or full_hi - full_lo <= slack * (hi - lo):
        return None
    pad = 0.05 * (hi - lo)
    return max(full_lo, lo - pad), min(full_hi, hi + pad)


def distributions(
    ax: Axes, samples: Sequence[np.ndarray], labels: Sequence[str], *, xlabel: str, colours: Sequence[str],
    xlim: tuple[float, float] | None = None,
) -> None:
    """Horizontal violins, one per scenario, with the median (white dot) and 80%/95% ranges (bars).

    ``xlim`` (from :func:`tail_limits`): the axis range; the violins are drawn from the draws inside it, the median
    and the bars from all draws."""
    y = np.arange(len(samples))[::-1]
    for yi, s, c in zip(y, samples, colours, strict=True):
        s = np.asarray(s, dtype=float)
        s = s[np.isfinite(s)]
        if s.size == 0:
            continue
        q = np.quantile(s, [0.025, 0.1, 0.5, 0.9, 0.975])
        if xlim is not None:
            s = s[(s >= xlim[0]) & (s <= xlim[1])]
        if np.ptp(s) > 0:
            vp = ax.violinplot(s, positions=[yi], orientation="horizontal", widths=0.8, showextrema=False)
            for body in vp["bodies"]:
                body.set_facecolor(c)
                body.set_alpha(0.3)
                body.set_edgecolor("none")
        ax.hlines(yi, q[0], q[4], color=c, lw=1.0)
        ax.hlines(yi, q[1], q[3], color=c, lw=3.0)
        ax.plot(q[2], yi, "o", color="white", mec=c, ms=5, mew=1.4)
    if xlim is not None:
        ax.set_xlim(*xlim)
    ax.set_yticks(y, labels)
    ax.set_xlabel(xlabel)
    ax.grid(axis="y", visible=False)


def overload_curve(ax: Axes, fleet_sizes: np.ndarray, p_overload: np.ndarray, *, colour: str, label: str) -> None:
    """P(overload on any event day) against the number of servers (a step curve)."""
    ax.step(fleet_sizes, p_overload, where="post", color=colour, lw=1.3, label=label)
    ax.set_ylim(-0.02, 1.02)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v * 100:.0f}%"))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def p_overload_by_fleet(servers_needed: np.ndarray, fleet_sizes: np.ndarray) -> np.ndarray:
    """Share of draws whose busiest event day needs more than m servers, for each m.

    ``servers_needed`` is (draw, event day); NaN means no fleet of that type can serve the day
    (infeasible), which counts as an overload for every m.
    """
    need = np.where(np.isfinite(servers_needed), servers_needed, np.inf)
    busiest = need.max(axis=1) if need.ndim == 2 else need
    return (busiest[:, None] > np.asarray(fleet_sizes)[None, :]).mean(axis=0)
