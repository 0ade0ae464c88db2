"""fourier_order="auto": the yearly Fourier order chosen from the training history (bayescap/models/traffic_order.py).

No sampling here: the rule runs on the numpy Gaussian approximation (about 1-2 s per 730-day history).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bayescap.errors import ModelError
from bayescap.models.traffic import _design_for
from bayescap.models.traffic_order import (
    CANDIDATES,
    FOLD_DAYS,
    choose_fourier_order,
    design_for_order,
    holdout_predictive,
    scores_json,
)
from bayescap.models.traffic_priors import DEFAULT_OPTIONS, FOURIER_ORDER_MAX_AUTO, merge_options, merge_priors
from bayescap.models.traffic_synthetic import SyntheticTruth, simulate_history

N_DAYS = 730


def _with_yearly_shape(df: pd.DataFrame, harmonics: tuple[int, ...], amplitude: float) -> pd.DataFrame:
    """``df`` with counts multiplied by exp(sum of yearly sines of the given harmonics) (on absolute time)."""
    t = (pd.to_datetime(df["date"]) - pd.Timestamp("1970-01-01")).dt.days.to_numpy() / 365.25
    shape = sum(amplitude * np.sin(2 * np.pi * k * t) for k in harmonics)
    out = df.copy()
    out["count"] = np.round(df["count"].to_numpy() * np.exp(shape))
    out.attrs = dict(df.attrs)
    return out


@pytest.fixture(scope="module")
def flat() -> pd.DataFrame:
    """Two years with no yearly seasonality at all (weekday pattern, level walk, events, AR(1) noise only)."""
    df, _ = simulate_history(N_DAYS, truth=SyntheticTruth(yearly_amplitude=0.0), seed=3)
    return df


@pytest.fixture(scope="module")
def peaky(flat) -> pd.DataFrame:
    """The same history with a strong yearly shape that needs order 9: harmonics 1, 3, 5, 7, 9 of 0.15 each."""
    return _with_yearly_shape(flat, (1, 3, 5, 7, 9), 0.15)


def test_strong_high_order_yearly_shape_gets_a_high_order(peaky):
    order, scores = choose_fourier_order(peaky)
    assert order == 10
    assert set(scores) == {c for c in CANDIDATES if c >= DEFAULT_OPTIONS["weekday_yearly_order"]}
    assert scores[10] > scores[8] > min(scores.values())


def test_no_yearly_seasonality_gets_a_low_order(flat):
    order, scores = choose_fourier_order(flat)
    assert order <= 4
    assert scores[order] > scores[10]


def test_choice_is_deterministic(flat):
    assert choose_fourier_order(flat) == choose_fourier_order(flat)


def test_candidates_respect_weekday_yearly_order(peaky):
    order, scores = choose_fourier_order(peaky, options={"weekday_yearly_order": 6})
    assert min(scores) == 6 and order >= 6
    # a history under two years has no weekday x yearly terms, so every candidate order is open to it
    short = peaky.head(600).copy()
    short.attrs = dict(peaky.attrs)
    _, scores = choose_fourier_order(short, options={"weekday_yearly_order": 6})
    assert set(scores) == set(CANDIDATES)


def test_short_histories():
    short, _ = simulate_history(300, seed=1)
    assert choose_fourier_order(short) == (0, {})  # no yearly terms below 365 days
    year, _ = simulate_history(380, seed=1)
    assert choose_fourier_order(year) == (min(CANDIDATES), {})  # no room for a held-out block after a year


def test_held_out_blocks_never_see_later_days(peaky):
    """A block's forecast depends only on the days before it: changing the last block's counts changes no forecast."""
    opt, pri = merge_options({"fourier_order": "auto"}), merge_priors(None)
    design = design_for_order(peaky, opt, 6)
    n = len(design.dates)
    starts = [n - k * FOLD_DAYS for k in range(4, 0, -1)]
    before = holdout_predictive(design, pri, starts, FOLD_DAYS, ar1=True, noncentred=False)
    design.data["y"][starts[-1]:] += 1.0  # (a copy per call of design_for_order, so this is local)
    after = holdout_predictive(design, pri, starts, FOLD_DAYS, ar1=True, noncentred=False)
    for b, a in zip(before, after):
        np.testing.assert_array_equal(b["mean"], a["mean"])
        np.testing.assert_array_equal(b["scale"], a["scale"])
    assert not np.array_equal(before[-1]["logpdf"], after[-1]["logpdf"])


@pytest.mark.parametrize("bad", ["bogus", "6", 0, -2, 2.5, True, None, float("nan")])
def test_bad_fourier_order_is_a_model_error(bad):
    with pytest.raises(ModelError, match="fourier_order"):
        merge_options({"fourier_order": bad})


def test_option_values_accepted():
    assert merge_options({"fourier_order": "auto"})["fourier_order"] == "auto"
    assert merge_options({"fourier_order": 8.0})["fourier_order"] == 8
    assert merge_options({"fourier_order": np.int64(4)})["fourier_order"] == 4
    assert merge_options(None)["fourier_order"] == DEFAULT_OPTIONS["fourier_order"]
    assert max(CANDIDATES) == FOURIER_ORDER_MAX_AUTO
    with pytest.raises(ModelError, match="weekday_yearly_order"):
        merge_options({"fourier_order": "auto", "weekday_yearly_order": FOURIER_ORDER_MAX_AUTO + 1})
    with pytest.raises(ModelError, match="weekday_yearly_order"):
        merge_options({"fourier_order": 2, "weekday_yearly_order": 3})


@pytest.mark.parametrize(
    "bad, message",
    [({"ar1": "false"}, "ar1 must be true or false"), ({"adaptation": "full"}, "adaptation must be 'diag' or 'low_rank'"),
     ({"target_accept": 1.0}, "target_accept must be between 0 and 1"), ({"eigval_cutoff": 0.5}, "eigval_cutoff must be above 1")],
)
def test_sampler_options_are_checked(bad, message):
    """A string 'false' would have turned the AR(1) on (it is truthy); such values are refused before any fitting."""
    with pytest.raises(ModelError, match=message):
        merge_options(bad)
    assert merge_options({"ar1": np.bool_(False), "adaptation": "low_rank", "target_accept": 0.95})["ar1"] == False  # noqa: E712


def test_forecast_rebuilds_the_design_with_the_chosen_order(flat):
    """forecast_traffic's design comes from attrs["fourier_order"] (the order chosen at the fit), not from "auto"."""
    opt = merge_options({"fourier_order": "auto"})
    tree = xr.DataTree()
    tree.attrs.update(
        priors=json.dumps(merge_priors(None)), options=json.dumps(opt), fourier_order=8,
        fourier_order_scores=scores_json({8: -0.1}),
        first_date=str(pd.Timestamp(flat["date"].iloc[0]).date()), last_date=str(pd.Timestamp(flat["date"].iloc[-1]).date()),
    )
    design, _, _ = _design_for(tree, flat)
    assert design.fourier_order == 8 and design.data["fourier"].shape[1] == 16
    assert json.loads(tree.attrs["fourier_order_scores"]) == {"8": -0.1}
