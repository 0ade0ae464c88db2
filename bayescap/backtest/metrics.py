"""Forecast metrics computed from predictive draws (numpy only).

CRPS uses the energy form, CRPS(F, y) = E|X - y| - 0.5 E|X - X'|, evaluated exactly for the empirical
distribution of the draws with sorted draws (O(m log m) per day):
E|X - X'| = 2/m^2 * sum_i (2i - m - 1) x_(i).
"""

from __future__ import annotations

import numpy as np


def crps_from_draws(draws: np.ndarray, y: np.ndarray) -> np.ndarray:
    """CRPS of each column's empirical predictive distribution against its observation.

    Parameters
    ----------
    draws : (m, n) predictive draws for n days.
    y : (n,) observations.
    """
    x = np.sort(np.asarray(draws, dtype=float), axis=0)
    y = np.asarray(y, dtype=float)
    m = x.shape[0]
    abs_err = np.mean(np.abs(x - y[None, :]), axis=0)
    weights = (2.0 * np.arange(1, m + 1) - m - 1.0)[:, None]
    spread = 2.0 / m**2 * np.sum(weights * x, axis=0)
    return abs_err - 0.5 * spread


def crps_normal(mu: np.ndarray | float, sigma: np.ndarray | float, y: np.ndarray | float) -> np.ndarray:
    """Closed-form CRPS of a Normal(mu, sigma) forecast (Gneiting & Raftery 2007), used to check the draw version."""
    from scipy.stats import norm

    z = (np.asarray(y) - mu) / sigma
    return sigma * (z * (2.0 * norm.cdf(z) - 1.0) + 2.0 * norm.pdf(z) - 1.0 / np.sqrt(np.pi))


def interval_hits(draws: np.ndarray, y: np.ndarray, prob: float) -> np.ndarray:
    """Whether each observation lies in the central ``prob`` interval of its draws (bool per day)."""
    lo, hi = np.quantile(draws, [(1 - prob) / 2, (1 + prob) / 2], axis=0)
    return (y >= lo) & (y <= hi)


def pooled_metrics(draws: list[np.ndarray], actuals: list[np.ndarray]) -> dict[str, float]:
    """relCRPS (mean CRPS / mean actual), cov80, cov95 and MAPE of the median, pooled over all test days, with the
    number of days scored and of days inside the 80% and 95% intervals.

    Days whose actual is missing (NaN) are left out.
    """
    crps, y_all, h80, h95, ape = [], [], [], [], []
    for d, y in zip(draws, actuals):
        y = np.asarray(y, dtype=float)
        keep = np.isfinite(y)
        d, y = np.asarray(d)[:, keep], y[keep]
        if y.size == 0:
            continue
        crps.append(crps_from_draws(d, y))
        y_all.append(y)
        h80.append(interval_hits(d, y, 0.80))
        h95.append(interval_hits(d, y, 0.95))
        ape.append(np.abs(np.median(d, axis=0) - y) / y)
    if not y_all:
        raise ValueError("no observed test days to score")
    y_cat = np.concatenate(y_all)
    return {
        "rel_crps": float(np.mean(np.concatenate(crps)) / np.mean(y_cat)),
        "cov80": float(np.mean(np.concatenate(h80))),
        "cov95": float(np.mean(np.concatenate(h95))),
        "mape": float(np.mean(np.concatenate(ape))),
        "n_days": int(y_cat.size),
        "days_inside80": int(np.sum(np.concatenate(h80))),
        "days_inside95": int(np.sum(np.concatenate(h95))),
    }


def daily_scores(draws: list[np.ndarray], actuals: list[np.ndarray], dates: list) -> dict[str, list]:
    """Each observed test day's ``date`` (YYYY-MM-DD), ``actual``, ``crps``, the predictive ``median`` and ``pit``
    (the share of draws below the actual: a calibrated forecast's PITs are uniform), in date order, with the
    ``window`` it belongs to (0-based). Missing days are left out, as in :func:`pooled_metrics`.

    The days a paired comparison of two methods (or of two runs of one method) resamples:
    :mod:`bayescap.backtest.uncertainty`.
    """
    out: dict[str, list] = {"date": [], "actual": [], "crps": [], "median": [], "pit": [], "window": []}
    for k, (d, y, when) in enumerate(zip(draws, actuals, dates)):
        y = np.asarray(y, dtype=float)
        when = np.asarray(when, dtype="datetime64[D]")  # str() of a day is YYYY-MM-DD
        keep = np.isfinite(y)
        if not keep.any():
            continue
        dk = np.asarray(d)[:, keep]
        out["date"] += [str(t) for t in when[keep]]
        out["actual"] += [float(v) for v in y[keep]]
        out["crps"] += [float(v) for v in crps_from_draws(dk, y[keep])]
        out["median"] += [float(v) for v in np.median(dk, axis=0)]
        out["pit"] += [float(v) for v in np.mean(dk < y[keep][None, :], axis=0)]
        out["window"] += [k] * int(keep.sum())
    return out


def score_breakdown(
    draws: list[np.ndarray], actuals: list[np.ndarray], dates: list, *, top: int = 5, days: dict | None = None
) -> dict[str, list[dict]]:
    """Where a pooled score comes from: metrics per window and the days that weigh most in the pooled CRPS.

    ``windows``: :func:`pooled_metrics` of each window alone (its relCRPS divides by that window's own mean
    actual), with its first and last date. ``top_days``: the ``top`` observed days with the largest CRPS, each with
    its actual, the predictive median and its ``share`` of the summed CRPS of all observed days (a news spike can
    carry a third of a method's score). Missing days are left out, as in :func:`pooled_metrics`. ``days``: the
    :func:`daily_scores` of the same draws, where the caller has them already.
    """
    windows = []
    for d, y, when in zip(draws, actuals, dates):
        y = np.asarray(y, dtype=float)
        when = np.asarray(when, dtype="datetime64[D]")
        entry = {"test_start": str(when[0]), "test_end": str(when[-1])}
        if np.isfinite(y).any():
            entry.update(pooled_metrics([d], [y]))
        else:
            entry["n_days"] = 0
        windows.append(entry)
    days = days if days is not None else daily_scores(draws, actuals, dates)
    total = float(sum(days["crps"]))
    ranked = sorted(zip(days["crps"], days["date"], days["actual"], days["median"]), key=lambda r: -r[0])[: int(top)]
    top_days = [
        {"date": t, "actual": yi, "median": mi, "crps": ci, "share": ci / total if total > 0 else float("nan")}
        for ci, t, yi, mi in ranked
    ]
    return {"windows": windows, "top_days": top_days}
