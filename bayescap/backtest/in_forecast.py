"""The backtest a forecast run adds to its report (``bayescap forecast --backtest``): the issue-4 protocol on the
run's own traffic history, so the report shows how well the traffic model forecast this site's last 16 weeks.

The protocol is :mod:`bayescap.backtest.protocol`'s (4 consecutive 28-day windows at the end of the history, a refit
before each, flagged event days known), with the training window the forecast itself uses (the last
``history_days``, 730 by default) or, where the history is shorter, every day before the first window. Methods:
bayescap and the seasonal naive baseline (Prophet stays a bench dependency: a report must not depend on whether it
happens to be installed).

The coverage ranges stored with the result are what chance allows a calibrated forecast over the backtest's number of
days (the binomial's ``p +- 1.96 sd``), not the fixed ranges of the Peyton Manning benchmark: 112 days cannot pin an
80% coverage down to +-0.05.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pandas as pd

from bayescap.backtest.protocol import N_WINDOWS, TRAIN_DAYS, WINDOW_DAYS
from bayescap.errors import InputError

FORECAST_METHODS = ("bayescap", "seasonal_naive")
MIN_TRAIN_DAYS = 182  # half a year before the first test window: weekday effects, level and noise are estimable
Z95 = 1.959963984540054


def history_span_days(history: pd.DataFrame) -> int:
    dates = pd.to_datetime(history["date"])
    return int((dates.max() - dates.min()).days) + 1


def backtest_train_days(history: pd.DataFrame, history_days: int | None) -> int:
    """Training days per origin: the forecast's own window, or all the days before the first test window.

    Raises InputError (naming the traffic file) when fewer than :data:`MIN_TRAIN_DAYS` days precede it; a forecast
    then runs without its backtest and says why (``pipeline.run_forecast``).
    """
    test_days = N_WINDOWS * WINDOW_DAYS
    before = history_span_days(history) - test_days
    if before < MIN_TRAIN_DAYS:
        raise InputError(
            history.attrs.get("path"), None,
            f"a traffic history of at least {test_days + MIN_TRAIN_DAYS} days for --backtest ({N_WINDOWS} test windows "
            f"of {WINDOW_DAYS} days after {MIN_TRAIN_DAYS} training days); this one spans {before + test_days} days",
        )
    return min(int(history_days or TRAIN_DAYS), before)


def coverage_ranges_for(n_days: int) -> dict[str, list[float]]:
    """cov80 and cov95 ranges a calibrated forecast stays within with about 95% probability over ``n_days`` days
    (days counted as independent; news bursts make neighbouring days agree, so the true spread is a little wider)."""
    out = {}
    for key, p in (("cov80", 0.80), ("cov95", 0.95)):
        half = Z95 * math.sqrt(p * (1.0 - p) / max(int(n_days), 1))
        out[key] = [round(max(0.0, p - half), 3), round(min(1.0, p + half), 3)]
    return out


TIMING_KEYS = ("seconds", "compile_seconds", "sampling_seconds")
LEFT_OUT = (*TIMING_KEYS, "days")  # per-day scores serve --compare-to; a report states the pooled ones


def _for_summary(metrics: dict) -> dict:
    out = {k: v for k, v in metrics.items() if k not in LEFT_OUT}
    if "origins" in out:
        out["origins"] = [{k: v for k, v in o.items() if k not in TIMING_KEYS} for o in out["origins"]]
    return out


def forecast_backtest(
    history: pd.DataFrame,
    *,
    history_days: int | None,
    options: dict | None,
    priors: dict | None,
    seed: int,
    draws: int,
    tune: int,
    chains: int,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Run the backtest on a forecast's traffic history; the result is what ``summary.json["backtest"]`` holds.

    ``{"methods": {method: metrics}, "protocol": {...}, "coverage_ranges": {...}, "comparisons": {...},
    "notes": [...]}``, with the metrics of :func:`bayescap.backtest.run.run_backtest` (bayescap's include its
    per-origin diagnostics; the per-day scores are left out) and its paired comparison of bayescap with the seasonal
    naive forecast.
    """
    from bayescap.backtest.run import run_backtest

    train_days = backtest_train_days(history, history_days)
    result = run_backtest(
        history, seed=seed, draws=draws, tune=tune, chains=chains, methods=FORECAST_METHODS, options=options,
        priors=priors, train_days=train_days, progress=progress,
    )
    # timings stay out: the same inputs and seed must give the same summary.json, and seconds are the machine's
    methods = {m: _for_summary(result[m]) for m in FORECAST_METHODS if m in result}
    n_days = int(methods["bayescap"]["n_days"])
    protocol = {**result["protocol"], "test_days": N_WINDOWS * WINDOW_DAYS}
    return {
        "methods": methods,
        "protocol": protocol,
        "coverage_ranges": coverage_ranges_for(n_days),
        "comparisons": result.get("comparisons", {}),
        "notes": list(result.get("notes", [])),
    }
