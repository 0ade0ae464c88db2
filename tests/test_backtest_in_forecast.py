"""The backtest a forecast adds to its report: training window, the history it needs, the coverage ranges it states."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayescap.backtest.in_forecast import backtest_train_days, coverage_ranges_for
from bayescap.errors import InputError


def _history(days: int) -> pd.DataFrame:
    df = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=days), "count": np.full(days, 1000.0)})
    df.attrs["path"] = Path("site/traffic.csv")
    return df


def test_training_window_is_the_forecasts_own_or_all_the_days_before_the_test_windows():
    assert backtest_train_days(_history(1000), 730) == 730
    assert backtest_train_days(_history(1000), None) == 730  # "all days" forecasts: the protocol's 730
    assert backtest_train_days(_history(791), 730) == 679  # the example: 791 days, 112 of them tested
    assert backtest_train_days(_history(112 + 182), 730) == 182


def test_a_history_too_short_for_a_backtest_is_an_input_error_naming_the_file():
    with pytest.raises(InputError) as err:
        backtest_train_days(_history(112 + 181), 730)
    text = str(err.value)
    assert "traffic.csv" in text and "at least 294 days for --backtest" in text and "spans 293 days" in text


def test_coverage_ranges_are_what_chance_allows_a_calibrated_forecast():
    r = coverage_ranges_for(112)
    assert r == {"cov80": [0.726, 0.874], "cov95": [0.91, 0.99]}
    # over many days the ranges close in on the nominal levels, over few they widen (never past 0 or 1)
    wide, narrow = coverage_ranges_for(20), coverage_ranges_for(10_000)
    assert narrow["cov80"][1] - narrow["cov80"][0] < 0.02 and wide["cov95"][1] == 1.0
    # a calibrated forecast lands inside them about 95% of the time (binomial, days independent)
    rng = np.random.default_rng(1)
    hits = rng.binomial(112, 0.8, size=20_000) / 112
    inside = np.mean((hits >= r["cov80"][0]) & (hits <= r["cov80"][1]))
    assert 0.93 < inside < 0.97


def test_a_forecasts_backtest_is_reused_only_for_the_same_whole_history():
    """Its training windows reach before the fitted days, which the fits' key does not hash: a change there (or in
    the fits' key) makes a new backtest key."""
    from bayescap.fit_reuse import backtest_key

    a, b = _history(800), _history(800)
    assert backtest_key("fits", a) == backtest_key("fits", b)
    b.loc[0, "count"] = 999.0  # the first day: outside a 730-day fitted window, inside the backtest's training
    assert backtest_key("fits", a) != backtest_key("fits", b)
    assert backtest_key("fits", a) != backtest_key("other fits", a)
