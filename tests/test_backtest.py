"""Backtest: CRPS against its closed form, seasonal naive, protocol windows, the runner and the CLI table."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from bayescap.backtest.baselines import prophet_available, seasonal_naive_draws
from bayescap.backtest.data import peyton_manning_history
from bayescap.backtest.metrics import crps_from_draws, crps_normal, interval_hits, pooled_metrics, score_breakdown
from bayescap.backtest.protocol import origins
from bayescap.commands._common import REPO_ROOT
from bayescap.errors import InputError
from bayescap.models.traffic_synthetic import SyntheticTruth, simulate_history

PEYTON = REPO_ROOT / "data" / "real" / "traffic" / "traffic_wikipedia_peyton_manning.csv"


def test_crps_from_draws_matches_normal_closed_form():
    rng = np.random.default_rng(0)
    mu, sigma = 3.0, 2.0
    y = np.array([-1.0, 2.5, 3.0, 6.0, 12.0])
    draws = rng.normal(mu, sigma, size=(200_000, 1)) * np.ones((1, y.size))
    got = crps_from_draws(draws, y)
    want = crps_normal(mu, sigma, y)
    np.testing.assert_allclose(got, want, rtol=0.01)


def test_crps_of_a_point_forecast_is_absolute_error():
    draws = np.full((50, 3), 10.0)
    np.testing.assert_allclose(crps_from_draws(draws, np.array([7.0, 10.0, 14.0])), [3.0, 0.0, 4.0])


def test_pooled_metrics_leave_missing_days_out():
    rng = np.random.default_rng(1)
    draws = rng.normal(100.0, 10.0, size=(4000, 400))
    y = rng.normal(100.0, 10.0, size=400)
    y_missing = y.copy()
    y_missing[::4] = np.nan
    m = pooled_metrics([draws], [y_missing])
    assert m["n_days"] == 300
    assert 0.74 < m["cov80"] < 0.86 and 0.91 < m["cov95"] < 0.98
    assert interval_hits(draws, y, 0.8).shape == (400,)


def test_daily_scores_keep_each_observed_day_with_its_pit():
    """Per-day scores (for paired comparisons and calibration): missing days left out, the PIT is the share of draws
    below the actual."""
    from bayescap.backtest.metrics import daily_scores

    draws = np.tile(np.arange(1000.0)[:, None], (1, 3))
    days = daily_scores([draws], [np.array([250.5, np.nan, 2000.0])], [pd.date_range("2024-03-01", periods=3)])
    assert days["date"] == ["2024-03-01", "2024-03-03"] and days["window"] == [0, 0]
    assert days["pit"] == [pytest.approx(0.251), 1.0]
    assert days["crps"] == pytest.approx(list(crps_from_draws(draws[:, [0, 2]], np.array([250.5, 2000.0]))))


def test_score_breakdown_finds_the_days_that_carry_the_score():
    """Per-window metrics are each window's own; a spike day's share of the summed CRPS is reported, missing days
    are left out."""
    rng = np.random.default_rng(3)
    dates = [pd.date_range("2024-01-01", periods=7), pd.date_range("2024-01-08", periods=7)]
    draws = [rng.normal(100.0, 10.0, size=(2000, 7)) for _ in dates]
    y1 = np.full(7, 100.0)
    y2 = np.array([100.0, 100.0, 1000.0, np.nan, 100.0, 100.0, 100.0])  # a spike on 2024-01-10, a missing day
    out = score_breakdown(draws, [y1, y2], dates, top=3)
    assert [w["test_start"] for w in out["windows"]] == ["2024-01-01", "2024-01-08"]
    for w, d, y in zip(out["windows"], draws, [y1, y2]):
        assert w["rel_crps"] == pytest.approx(pooled_metrics([d], [y])["rel_crps"])
    assert out["windows"][1]["n_days"] == 6
    spike = out["top_days"][0]
    assert spike["date"] == "2024-01-10" and spike["actual"] == 1000.0
    c_all = np.concatenate([crps_from_draws(draws[0], y1), crps_from_draws(draws[1][:, [0, 1, 2, 4, 5, 6]], y2[[0, 1, 2, 4, 5, 6]])])
    assert spike["share"] == pytest.approx(crps_from_draws(draws[1][:, [2]], y2[[2]])[0] / c_all.sum())
    assert spike["share"] > 0.8 and abs(spike["median"] - 100.0) < 2.0
    assert len(out["top_days"]) == 3 and all("2024-01-11" != d["date"] for d in out["top_days"])


def test_seasonal_naive_repeats_a_weekly_series():
    dates = pd.date_range("2024-01-01", periods=70, freq="D")
    pattern = np.array([100.0, 120, 130, 125, 110, 60, 50])
    train = pd.DataFrame({"date": dates, "count": pattern[dates.day_of_week]})
    test = pd.date_range(dates[-1] + pd.Timedelta(days=1), periods=14, freq="D")
    draws = seasonal_naive_draws(train, test, n_draws=100, seed=1)
    np.testing.assert_allclose(draws, np.broadcast_to(pattern[test.day_of_week], draws.shape))


def test_seasonal_naive_spread_comes_from_weekly_log_changes():
    rng = np.random.default_rng(2)
    dates = pd.date_range("2024-01-01", periods=400, freq="D")
    train = pd.DataFrame({"date": dates, "count": np.exp(8 + rng.normal(0, 0.2, 400))})
    test = pd.date_range(dates[-1] + pd.Timedelta(days=1), periods=7, freq="D")
    draws = seasonal_naive_draws(train, test, n_draws=4000, seed=3)
    # a week-on-week log-change of iid N(0, 0.2) noise has sd 0.2 * sqrt(2)
    assert np.log(draws).std(axis=0).mean() == pytest.approx(0.2 * np.sqrt(2), rel=0.15)


def test_origins_are_consecutive_windows_after_730_training_days():
    df, _ = simulate_history(730 + 112, seed=4)
    df = df.drop(index=[800, 801]).reset_index(drop=True)  # two missing test days
    splits = origins(df)
    assert len(splits) == 4
    last = df["date"].iloc[-1]
    assert splits[-1].test_dates[-1] == last
    for k, o in enumerate(splits):
        assert len(o.test_dates) == 28
        assert (o.test_dates[0] - o.train["date"].iloc[-1]).days == 1
        assert (o.test_dates[0] - o.train["date"].iloc[0]).days == 730
        if k:
            assert (o.test_dates[0] - splits[k - 1].test_dates[-1]).days == 1
    assert int(sum(o.test["count"].isna().sum() for o in splits)) == 2
    assert list(splits[0].calendar.columns) == ["date", "event_sale", "competitor_event"]


def test_a_windows_competitor_days_are_known_to_its_forecast_like_its_event_days():
    df, _ = simulate_history(730 + 112, seed=4)
    df["competitor_event"] = 0  # the simulated history has the column, all zeros
    df.loc[df.index[-3], "competitor_event"] = 1  # a rival's sale in the last window
    cal = origins(df)[-1].calendar
    assert list(cal.columns) == ["date", "event_sale", "competitor_event"]
    assert cal.loc[cal["competitor_event"] == 1, "date"].tolist() == [df["date"].iloc[-3]]


def test_origins_need_enough_history():
    df, _ = simulate_history(500, seed=5)
    with pytest.raises(InputError, match="at least 842 days"):
        origins(df)


def test_validation_period_is_the_history_as_it_stood_earlier():
    """--before DAYS: the protocol's last test day moves DAYS days back and nothing after it is seen."""
    from bayescap.backtest.protocol import history_before

    df = peyton_manning_history(PEYTON)
    last = df["date"].max()
    early = history_before(df, 112)
    assert early["date"].max() == last - pd.Timedelta(days=112)
    assert early.attrs == df.attrs
    splits = origins(early)
    assert splits[-1].test_dates[-1] == last - pd.Timedelta(days=112)
    assert splits[0].test_dates[0] == last - pd.Timedelta(days=223)
    assert all(o.train["date"].max() < o.test_dates[0] for o in splits)
    assert history_before(df, 0).equals(df)
    with pytest.raises(InputError, match="--before.*>= 0, got -1"):
        history_before(df, -1)


def test_cli_before_needs_enough_history(tmp_path, capsys):
    from bayescap.cli import main

    assert main(["backtest", str(PEYTON), "--before", "2200", "--methods", "seasonal_naive"]) == 2
    assert "at least 842 days" in capsys.readouterr().err


def test_cli_train_days_fits_a_shorter_history(tmp_path, capsys):
    """--train-days: a history of 294-841 days can be backtested with fewer training days; below 182 is refused."""
    from bayescap.cli import main

    out = tmp_path / "bt.json"
    args = ["backtest", str(PEYTON), "--before", "2200", "--methods", "seasonal_naive"]
    assert main([*args, "--train-days", "300", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["protocol"]["train_days"] == 300 and result["seasonal_naive"]["n_days"] > 100
    capsys.readouterr()
    assert main([*args, "--train-days", "100"]) == 2
    assert "--train-days" in capsys.readouterr().err


def test_cli_windows_scores_that_many_consecutive_windows(tmp_path, capsys):
    """--windows N: N windows of 28 days ending on the (validation) history's last day, each one scored."""
    from bayescap.cli import main

    out = tmp_path / "bt.json"
    args = ["backtest", str(PEYTON), "--before", "1500", "--methods", "seasonal_naive", "--windows", "6"]
    assert main([*args, "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    last = peyton_manning_history(PEYTON)["date"].max() - pd.Timedelta(days=1500)
    assert result["protocol"]["n_windows"] == 6 and len(result["seasonal_naive"]["windows"]) == 6
    assert result["protocol"]["last_test_day"] == str(last.date())
    assert result["protocol"]["first_test_day"] == str((last - pd.Timedelta(days=6 * 28 - 1)).date())
    assert result["seasonal_naive"]["n_days"] == sum(w["n_days"] for w in result["seasonal_naive"]["windows"])
    capsys.readouterr()
    assert main([*args[:-1], "0"]) == 2
    assert "--windows: at least 1 window, got 0" in capsys.readouterr().err


def test_cli_prior_and_option_reach_the_traffic_model(monkeypatch, capsys):
    """--prior/--option: parsed as TOML values and handed to every refit (and recorded in the JSON's protocol)."""
    import bayescap.backtest.run as run_module
    from bayescap.cli import main

    seen = {}

    def fake_run_backtest(history, **kwargs):
        seen.update(kwargs)
        return {"protocol": {}, "notes": []}

    monkeypatch.setattr(run_module, "run_backtest", fake_run_backtest)
    args = ["backtest", str(PEYTON), "--prior", "rw_sd_per_knot=0.05", "--prior", "nu_min=8",
            "--option", "knot_spacing=14", "--option", "ar1=false", "--option", "fourier_order=auto",
            "--competitor-events", "exclude", "--windows", "5"]
    assert main(args) == 0
    assert seen["priors"] == {"rw_sd_per_knot": 0.05, "nu_min": 8}
    assert seen["options"] == {"competitor_events": "exclude", "knot_spacing": 14, "ar1": False, "fourier_order": "auto"}
    assert seen["n_windows"] == 5
    assert "settings changed: rw_sd_per_knot=0.05, nu_min=8, knot_spacing=14, ar1=False" in capsys.readouterr().out


@pytest.mark.parametrize(
    "setting, message",
    [
        (["--prior", "rw_sd_per_knt=0.05"], "--prior rw_sd_per_knt: a traffic-model prior name, got 'rw_sd_per_knt' (did you mean 'rw_sd_per_knot'?)"),
        (["--prior", "sigma_normal_scale=-1"], "--prior sigma_normal_scale: traffic prior 'sigma_normal_scale' must be positive"),
        (["--prior", "nu_min=two"], "--prior nu_min: a number, got 'two'"),
        (["--option", "knot_spacing=3.5"], "--option knot_spacing: option knot_spacing must be a whole number, got 3.5"),
        (["--option", "knot_spacing=0"], "--option knot_spacing: option knot_spacing must be >= 1"),
        (["--option", "ar1=yes"], "--option ar1: option ar1 must be true or false, got 'yes'"),
        (["--option", "adaptation=full"], "--option adaptation: option adaptation must be 'diag' or 'low_rank'"),
        (["--option", "competitor_events=exclude"], "--competitor-events effect|exclude"),
        (["--option", "thin"], "--option: KEY=VALUE, got 'thin'"),
    ],
)
def test_cli_bad_model_setting_names_the_flag_and_key(setting, message, capsys):
    """A bad --prior/--option is refused before any fitting, with the flag, the key and what was expected."""
    from bayescap.cli import main

    assert main(["backtest", str(PEYTON), "--methods", "seasonal_naive", *setting]) == 2
    assert message in capsys.readouterr().err


def test_peyton_manning_converter():
    df = peyton_manning_history(PEYTON)
    assert list(df.columns) == ["date", "count", "event_playoff", "event_superbowl", "event_day_after", "competitor_event"]
    assert df.attrs["event_types"] == ["playoff", "superbowl", "day_after"]
    assert df["event_superbowl"].sum() == 2 and df["count"].max() == 379552


def test_run_backtest_on_a_short_series(idata_structure_history):
    """The runner end to end with tiny draws, on a series whose training windows reuse the session's compiled model."""
    from bayescap.backtest.run import run_backtest
    from bayescap.commands.backtest import format_table

    df = idata_structure_history
    result = run_backtest(
        df, seed=7, draws=100, tune=200, chains=2, methods=("bayescap", "seasonal_naive"),
        n_windows=2, window_days=7, train_days=140,
    )
    for method in ("bayescap", "seasonal_naive"):
        m = result[method]
        assert set(m) >= {"rel_crps", "cov80", "cov95", "mape", "seconds"}
        assert m["n_days"] == 14
        assert 0 < m["rel_crps"] < 1
        assert [w["n_days"] for w in m["windows"]] == [7, 7]
        assert 0 < sum(d["share"] for d in m["top_days"]) <= 1
    origins_info = result["bayescap"]["origins"]
    assert [o["origin"] for o in origins_info] == [0, 1]
    assert all("max_r_hat" in o and "divergences" in o for o in origins_info)
    assert all(0 <= o["news_day_share"] < 0.5 for o in origins_info)  # how often each origin's forecast has news days
    json.dumps(result)  # the --json payload is plain JSON
    for method in ("bayescap", "seasonal_naive"):  # per-day scores for --compare-to, and how sure the score is
        m = result[method]
        assert len(m["days"]["crps"]) == 14 and sum(m["days"]["crps"]) / sum(m["days"]["actual"]) == pytest.approx(m["rel_crps"])
        lo, hi = m["rel_crps_interval"]
        assert 0 < lo < hi
    paired = result["comparisons"]["seasonal_naive"]
    assert paired["n_windows"] == 2 and paired["interval"][0] <= paired["interval"][1]
    assert paired["difference"] == pytest.approx(result["bayescap"]["rel_crps"] - result["seasonal_naive"]["rel_crps"])
    table = format_table(result)
    assert "bayescap" in table and "seasonal_naive" in table
    assert "relCRPS per test window" in table and result["bayescap"]["top_days"][0]["date"] in table
    assert "bayescap against each baseline on the same days" in table
    assert "% of normal days" in table


@pytest.fixture(scope="module")
def idata_structure_history():
    truth = SyntheticTruth(competitor_drop=0.4, competitor_every_days=14)
    df, _ = simulate_history(140 + 14, truth=truth, seed=8)
    return df


def test_cli_rejects_unknown_method(tmp_path):
    from bayescap.cli import main

    path = tmp_path / "t.csv"
    path.write_text("date,count\n2024-01-01,5\n")
    assert main(["backtest", str(path), "--methods", "arima"]) == 2


def test_cli_names_the_method_meant(tmp_path, capsys):
    """A misspelt method gets the known one it is close to; an option's error starts with the option, not a file."""
    from bayescap.cli import main

    path = tmp_path / "t.csv"
    path.write_text("date,count\n2024-01-01,5\n")
    assert main(["backtest", str(path), "--methods", "bayescap,naive"]) == 2
    err = capsys.readouterr().err
    assert "error: --methods: methods from bayescap, seasonal_naive" in err
    assert "got 'naive' (did you mean 'seasonal_naive'?)" in err


@pytest.mark.parametrize("command", ["backtest", "capacity"])
def test_cli_keeps_an_existing_json_file(tmp_path, capsys, command):
    """--json FILE never replaces a user's file silently: refused (before any fitting) unless --force."""
    from bayescap.cli import main

    data = tmp_path / "in.csv"
    data.write_text("date,count\n2024-01-01,5\n")
    out = tmp_path / "mine.json"
    out.write_text('{"kept": true}\n')
    assert main([command, str(data), "--json", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(out) in err and "--force" in err
    assert json.loads(out.read_text()) == {"kept": True}


def test_json_output_is_atomic_strict_json(tmp_path, capsys):
    """NaN and infinity become null (strict JSON), and no temporary file is left next to FILE."""
    import argparse

    from bayescap.commands._common import write_json_output

    out = tmp_path / "r.json"
    write_json_output(argparse.Namespace(json=out), {"prophet_log": {"rel_crps": float("nan"), "cov80": float("inf"), "mape": 0.5}})
    assert json.loads(out.read_text(), parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}")) == {
        "prophet_log": {"rel_crps": None, "cov80": None, "mape": 0.5}
    }
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
    assert f"wrote {out}" in capsys.readouterr().out


@pytest.mark.skipif(not prophet_available(), reason="Prophet is an optional bench dependency (pip install '.[bench]')")
def test_prophet_baseline_prints_nothing_of_its_own():
    # Prophet logs an error at import without plotly, and cmdstanpy sets up its own INFO logging at the
    # first fit; neither belongs in the backtest's output. A fresh process, so the import happens here.
    code = (
        "import numpy as np, pandas as pd\n"
        "from bayescap.backtest.baselines import prophet_draws\n"
        "d = pd.date_range('2024-01-01', periods=120)\n"
        "y = 1000 + 200 * np.sin(np.arange(120) * 2 * np.pi / 7)\n"
        "x = prophet_draws(pd.DataFrame({'date': d, 'count': y}), pd.date_range('2024-04-30', periods=7),\n"
        "                  holidays=None, log=True, n_draws=50, seed=1)\n"
        "assert x.shape == (50, 7) and np.isfinite(x).all()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "" and out.stderr == ""


@pytest.mark.skipif(not prophet_available(), reason="Prophet is an optional bench dependency (pip install '.[bench]')")
def test_prophet_baseline_has_yearly_seasonality_in_a_730_day_window(monkeypatch):
    """The backtest's 730-day windows span 729 days, under the 730 Prophet's "auto" asks for yearly terms; the
    baseline turns them on itself, so it forecasts a yearly swing that Prophet's default would miss."""
    import bayescap.backtest.baselines as baselines

    rng = np.random.default_rng(3)
    dates = pd.date_range("2022-01-01", periods=730 + 28)
    t = np.arange(len(dates))
    # the yearly peak falls 20 days before the history ends: the next four weeks go down the slope
    log_y = 8.0 + 0.8 * np.cos(2 * np.pi * (t - 710) / 365.25) + 0.05 * rng.standard_normal(len(t))
    train = pd.DataFrame({"date": dates[:730], "count": np.exp(log_y[:730])})
    truth = log_y[730:]

    def median_log_error() -> float:
        x = baselines.prophet_draws(train, dates[730:], holidays=None, log=True, n_draws=200, seed=1)
        return float(np.mean(np.abs(np.log(np.median(x, axis=0)) - truth)))

    with_yearly = median_log_error()
    monkeypatch.setattr(baselines, "PROPHET_YEARLY_MIN_DAYS", 10**6)  # Prophet's default behaviour here
    without = median_log_error()
    assert with_yearly < 0.1 < without, (with_yearly, without)
