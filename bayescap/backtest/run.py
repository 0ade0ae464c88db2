"""Run the rolling-origin backtest for bayescap and the baselines and pool the metrics."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from bayescap.backtest.baselines import holidays_frame, prophet_available, prophet_draws, seasonal_naive_draws
from bayescap.backtest.metrics import daily_scores, pooled_metrics, score_breakdown
from bayescap.backtest.protocol import N_WINDOWS, TRAIN_DAYS, WINDOW_DAYS, origins
from bayescap.backtest.uncertainty import BLOCK_DAYS, LEVEL, paired_difference, rel_crps_interval

METHODS = ("bayescap", "seasonal_naive", "prophet_raw", "prophet_log")
NOT_METHODS = ("protocol", "notes", "comparisons", "compared_to")  # the other keys of run_backtest's result


def method_results(result: dict) -> dict[str, dict]:
    """The per-method entries of a :func:`run_backtest` result (or of its JSON), in run order."""
    return {k: v for k, v in result.items() if k not in NOT_METHODS}


def run_backtest(
    history: pd.DataFrame,
    *,
    seed: int,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    methods: tuple[str, ...] = METHODS,
    options: dict | None = None,
    priors: dict | None = None,
    n_windows: int = N_WINDOWS,
    window_days: int = WINDOW_DAYS,
    train_days: int = TRAIN_DAYS,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Backtest on ``history`` (the ``read_traffic`` contract) and return ``{method: metrics}``.

    Each method's entry holds ``rel_crps``, ``cov80``, ``cov95``, ``mape``, ``seconds`` (mean fit+forecast
    seconds per origin) and ``n_days``, plus ``windows`` (the same metrics per test window) and ``top_days`` (the
    days with the largest CRPS and their share of the method's summed CRPS; see
    :func:`bayescap.backtest.metrics.score_breakdown`); bayescap's entry adds ``origins`` (per-origin diagnostics
    and times).
    ``draws`` is per chain: the predictive draws per day are ``draws * chains`` for bayescap and the
    same number for the baselines. Prophet methods are skipped with a note when Prophet is not installed.
    """
    from bayescap.models.traffic import diagnostics, fit_traffic, forecast_traffic

    say = progress or (lambda _msg: None)
    n_pred = draws * chains
    splits = origins(history, n_windows=n_windows, window_days=window_days, train_days=train_days)
    notes: list[str] = []
    methods = tuple(methods)
    if not prophet_available() and any(m.startswith("prophet") for m in methods):
        notes.append("Prophet is not installed (pip install 'bayescap[bench]'): Prophet baselines skipped")
        methods = tuple(m for m in methods if not m.startswith("prophet"))
    draws_by: dict[str, list[np.ndarray]] = {m: [] for m in methods}
    seconds: dict[str, list[float]] = {m: [] for m in methods}
    actuals: list[np.ndarray] = []
    origin_info: list[dict] = []
    all_holidays = holidays_frame(history)
    for o in splits:
        y = o.test["count"].astype(float).to_numpy()
        actuals.append(y)
        say(f"origin {o.index + 1}/{len(splits)}: train {o.train['date'].iloc[0].date()}..{o.train['date'].iloc[-1].date()}, "
            f"test {o.test_dates[0].date()}..{o.test_dates[-1].date()}")
        for method in methods:
            t0 = time.perf_counter()
            s = seed + 1000 * o.index
            if method == "bayescap":
                idata = fit_traffic(o.train, options=options, priors=priors, draws=draws, tune=tune, chains=chains, seed=s)
                fc = forecast_traffic(idata, o.train, o.calendar, seed=s + 1)
                d = fc["visits"].sel(date=o.test_dates).values
                elapsed = time.perf_counter() - t0
                diag = diagnostics(idata)
                origin_info.append(
                    {
                        "origin": o.index,
                        "test_start": str(o.test_dates[0].date()),
                        "test_end": str(o.test_dates[-1].date()),
                        **diag,
                        "compile_seconds": float(idata.attrs["compile_seconds"]),
                        "sampling_seconds": float(idata.attrs["sampling_seconds"]),
                        "fourier_order": int(idata.attrs["fourier_order"]),
                        # median chance that a forecast normal day is a news day (models/traffic_news.py); 0 when off
                        "news_day_share": float(idata["posterior"]["news_day_prob"].median())
                        if "news_day_prob" in idata["posterior"] else 0.0,
                        "seconds": elapsed,
                    }
                )
                say(f"  bayescap: {elapsed:.1f}s, divergences {diag['divergences']}, max r_hat {diag['max_r_hat']:.3f}")
            elif method == "seasonal_naive":
                d = seasonal_naive_draws(o.train, o.test_dates, n_draws=n_pred, seed=s)
                elapsed = time.perf_counter() - t0
            else:
                d = prophet_draws(o.train, o.test_dates, holidays=all_holidays, log=method == "prophet_log", n_draws=n_pred, seed=s)
                elapsed = time.perf_counter() - t0
            draws_by[method].append(d)
            seconds[method].append(elapsed)
    result: dict = {}
    window_dates = [o.test_dates for o in splits]
    boot_seed = seed + 7  # one set of resampled days for every method, so their intervals are comparable
    for method in methods:
        m = pooled_metrics(draws_by[method], actuals)
        m["seconds"] = float(np.mean(seconds[method]))
        m["days"] = daily_scores(draws_by[method], actuals, window_dates)
        m.update(score_breakdown(draws_by[method], actuals, window_dates, days=m["days"]))
        m["rel_crps_interval"] = rel_crps_interval(m["days"]["crps"], m["days"]["actual"], seed=boot_seed)
        result[method] = m
    if "bayescap" in result:
        result["bayescap"]["origins"] = origin_info
        result["comparisons"] = {
            other: compare_methods(result["bayescap"], result[other], seed=boot_seed)
            for other in methods if other != "bayescap"
        }
    result["protocol"] = {
        "n_windows": n_windows,
        "window_days": window_days,
        "train_days": train_days,
        "predictive_draws": n_pred,
        "seed": seed,
        "first_test_day": str(splits[0].test_dates[0].date()),
        "last_test_day": str(splits[-1].test_dates[-1].date()),
        "interval_level": LEVEL,
        "bootstrap_block_days": BLOCK_DAYS,
    }
    result["notes"] = notes
    return result


def compare_methods(a: dict, b: dict, *, seed: int) -> dict:
    """Method A against method B on the days both scored (two methods of one backtest, or one method in two runs
    of the same protocol): :func:`bayescap.backtest.uncertainty.paired_difference` of their relCRPS, plus
    ``windows_a_better`` (test windows in which A's relCRPS is the lower) and ``n_windows``.

    Raises ValueError when the two were not scored on the same days.
    """
    da, db = a["days"], b["days"]
    if da["date"] != db["date"]:
        raise ValueError("the two were not scored on the same days")
    out = paired_difference(da["crps"], db["crps"], da["actual"], seed=seed)
    pairs = [(wa.get("rel_crps"), wb.get("rel_crps")) for wa, wb in zip(a["windows"], b["windows"])]
    pairs = [(x, y) for x, y in pairs if x is not None and y is not None]
    out["windows_a_better"] = sum(x < y for x, y in pairs)
    out["n_windows"] = len(pairs)
    return out
