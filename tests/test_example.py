"""The example generator: reproducible, and its data show what it documents."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayescap import example, usl
from tests.conftest import EXAMPLE


def test_committed_example_is_what_the_generator_writes(tmp_path):
    example.write_example(tmp_path)
    for name in ("traffic.csv", "traffic_hourly.csv", "loadtest.csv"):
        assert (tmp_path / name).read_bytes() == (EXAMPLE / name).read_bytes(), name


def test_sale_days_are_thursdays_with_about_threefold_traffic():
    daily, _ = example.generate_traffic()
    daily["date"] = pd.to_datetime(daily["date"])
    sale = daily[daily.event_sale == 1]
    assert set(sale.date.dt.day_of_week) == {3}
    # compare each sale with the Wednesday before it (same level, small weekday difference)
    by_date = daily.set_index("date")["count"]
    before = by_date.reindex(sale.date - pd.Timedelta(days=1)).to_numpy()
    ratio = np.nanmedian(sale["count"].to_numpy() / before)
    assert 2.5 < ratio < 3.6


def test_missing_days_are_left_out_not_filled():
    daily, _ = example.generate_traffic()
    dates = pd.to_datetime(daily["date"])
    full = pd.date_range(dates.min(), dates.max(), freq="D")
    assert len(full) - len(dates) == example.TrafficTruth().missing_days


def test_hourly_peak_factor_matches_truth():
    _, hourly = example.generate_traffic()
    hourly["timestamp"] = pd.to_datetime(hourly["timestamp"])
    day = hourly.groupby(hourly.timestamp.dt.date)["count"]
    pf = (day.max() / day.mean()).to_numpy()
    truth = example.TrafficTruth()
    assert np.isclose(np.median(pf[pf < 2.4]), truth.normal_peak_factor, rtol=0.05)
    assert np.isclose(np.median(pf[pf > 2.4]), truth.event_peak_factor, rtol=0.05)


def test_loadtest_points_follow_the_usl_truth():
    load = example.generate_loadtest()
    for c in example.LoadTestTruth().configs:
        if c.level != "node":
            continue
        rows = load[(load.tier == c.tier) & (load.config == c.config) & (load.level == "node")]
        expected = usl.throughput(rows.n.to_numpy(), c.sigma, c.kappa, c.lam)
        rel = rows.throughput.to_numpy() / expected - 1
        assert np.abs(rel).max() < 5 * c.noise_cv
