"""Baseline forecasters for the backtest, each returning predictive draws (n_draws, n_test_days).

- :func:`seasonal_naive_draws`: same weekday one week earlier (the latest observed one), with the spread of
  the empirical log-changes over the same number of weeks in the training data.
- :func:`prophet_draws`: Prophet (MAP) on raw or log counts, flagged event days as holidays, yearly seasonality
  from a year of history (as bayescap's yearly terms). Prophet is an optional dependency (``pip install bayescap[bench]``); :func:`prophet_available` says whether it is installed.
"""

from __future__ import annotations

import importlib.util
import logging
import math

import numpy as np
import pandas as pd

from bayescap.errors import ModelError

# Prophet's own "auto" turns yearly seasonality on only when the history spans 730 days or more; the backtest's
# 730-day training windows span 729, so "auto" would leave it off and handicap the baseline (relCRPS 0.677 against
# 0.596 with it on, on the Peyton Manning test days; docs/traffic_model.md, "Backtest"). The baseline gets yearly
# terms from the same history length as bayescap's model (traffic_design.YEARLY_MIN_DAYS).
PROPHET_YEARLY_MIN_DAYS = 365


def seasonal_naive_draws(
    train: pd.DataFrame, test_dates: pd.DatetimeIndex, *, n_draws: int = 1000, seed: int
) -> np.ndarray:
    """Seasonal-naive predictive draws for ``test_dates`` from a ``date, count`` training frame.

    Day d at horizon h (days after the last training day) takes k = ceil(h / 7) weeks back: the base is the
    count on d - 7k (or further back by whole weeks if that day is missing), and the draws are
    base * exp(delta) with delta resampled from the training data's observed k-week log-changes.
    """
    rng = np.random.default_rng(seed)
    s = pd.Series(np.log(train["count"].astype(float).to_numpy()), index=pd.to_datetime(train["date"]).dt.normalize())
    s = s[np.isfinite(s)]
    s = s.reindex(pd.date_range(s.index[0], s.index[-1], freq="D"))
    last = s.index[-1]
    out = np.empty((n_draws, len(test_dates)))
    changes: dict[int, np.ndarray] = {}
    for i, d in enumerate(test_dates):
        h = (d - last).days
        if h < 1:
            raise ModelError(f"test date {d.date()} is not after the last training date {last.date()}")
        k = math.ceil(h / 7)
        base_day = d - pd.Timedelta(weeks=k)
        while base_day >= s.index[0] and not np.isfinite(s.get(base_day, np.nan)):
            base_day -= pd.Timedelta(weeks=1)
        if base_day < s.index[0]:
            raise ModelError(f"no observed training day on the weekday of {d.date()}")
        if k not in changes:
            diff = (s - s.shift(7 * k)).to_numpy()
            diff = diff[np.isfinite(diff)]
            if diff.size == 0:
                raise ModelError(f"the training data has no pair of observed days {7 * k} days apart")
            changes[k] = diff
        out[:, i] = np.exp(s[base_day] + rng.choice(changes[k], size=n_draws, replace=True))
    return out


def prophet_available() -> bool:
    """Whether the optional Prophet dependency is installed."""
    return importlib.util.find_spec("prophet") is not None


def holidays_frame(history: pd.DataFrame) -> pd.DataFrame | None:
    """Prophet holidays (``holiday``, ``ds``) from the ``event_<type>`` flags of a frame with all known event days."""
    rows = []
    for col in [c for c in history.columns if c.startswith("event_")]:
        days = pd.to_datetime(history.loc[history[col].fillna(0).astype(float) > 0, "date"])
        rows.append(pd.DataFrame({"holiday": col[len("event_") :], "ds": days}))
    if not rows:
        return None
    frame = pd.concat(rows, ignore_index=True)
    return frame if len(frame) else None


def _quiet_prophet_logs() -> None:
    """Keep Prophet's chatter out of the backtest's output (its errors still raise).

    Prophet logs an error at import when plotly (interactive plots, unused here) is missing, and cmdstanpy
    configures its own logger at the first fit unless a handler already exists; a NullHandler stops that.
    """
    logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)
    for name in ("cmdstanpy", "prophet"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.ERROR)
        if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
            logger.addHandler(logging.NullHandler())


def prophet_draws(
    train: pd.DataFrame,
    test_dates: pd.DatetimeIndex,
    *,
    holidays: pd.DataFrame | None,
    log: bool,
    n_draws: int = 1000,
    seed: int,
) -> np.ndarray:
    """Prophet (MAP fit) predictive draws for ``test_dates``; ``log=True`` fits log counts and exponentiates.

    Yearly seasonality is on when the training days span at least :data:`PROPHET_YEARLY_MIN_DAYS` (Prophet's
    default would need 730 and leave it off in the backtest's 730-day windows); the rest is Prophet's defaults.

    Prophet draws its predictive samples from numpy's *global* random state; the state is seeded for the call
    and restored afterwards, so the caller's global state is left as it was.
    """
    _quiet_prophet_logs()
    from prophet import Prophet

    y = train["count"].astype(float)
    df = pd.DataFrame({"ds": pd.to_datetime(train["date"]), "y": np.log(y) if log else y}).dropna()
    span_days = int((df["ds"].max() - df["ds"].min()).days) + 1 if len(df) else 0
    model = Prophet(holidays=holidays, uncertainty_samples=n_draws, yearly_seasonality=span_days >= PROPHET_YEARLY_MIN_DAYS)
    model.fit(df)
    state = np.random.get_state()
    try:
        np.random.seed(seed % (2**32))
        samples = model.predictive_samples(pd.DataFrame({"ds": test_dates}))["yhat"]
    finally:
        np.random.set_state(state)
    draws = np.asarray(samples, dtype=float).T  # (n_draws, n_days)
    return np.exp(draws) if log else draws
