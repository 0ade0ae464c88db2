"""News days (bayescap/models/traffic_news.py): the forecast's upper tail beyond the bounded Student-t, from the
history's own innovations."""

import numpy as np
import pytest
from scipy import stats

from bayescap.errors import ModelError
from bayescap.models.traffic_news import news_tail, with_news_days
from bayescap.models.traffic_priors import merge_options


def _tail(resid, nu=5.0, sigma=0.2, q=0.05, phi=None):
    S, n = resid.shape
    return news_tail(resid, None if phi is None else np.full(S, phi), np.full(S, sigma), np.full(S, nu),
                     normal=np.ones(n, bool), mask=np.ones(n), prev_mask=np.r_[0.0, np.ones(n - 1)], q=q)


def test_student_t_history_has_almost_no_news_days():
    """Residuals that are the model's own Student-t noise leave (almost) nothing for the news tail."""
    rng = np.random.default_rng(1)
    resid = 0.2 * rng.standard_t(5.0, size=(50, 4000))
    tail = _tail(resid)
    assert np.mean(tail.p) < 0.005
    assert np.all(tail.p >= 0)


def test_news_share_is_recovered_and_the_mixture_matches_the_history_beyond_the_cut():
    """8% of days get a news jump of +0.6 to +2.0 on the log scale: the draws' news probability is about the share of
    those jumps beyond the cut, and the mixture forecast exceeds the cut on the history's share of days."""
    rng = np.random.default_rng(2)
    S, n = 40, 6000
    resid = 0.2 * rng.standard_t(5.0, size=(S, n))
    jump = rng.random((S, n)) < 0.08
    resid = resid + jump * rng.uniform(0.6, 2.0, size=(S, n))
    q = 0.05
    tail = _tail(resid, q=q)
    cut = stats.t.ppf(1 - q, 5.0)
    share = np.mean(resid / 0.2 > cut, axis=1)
    assert tail.p == pytest.approx((share - q) / (1 - q))
    assert 0.06 < np.mean(tail.p) < 0.085
    t = rng.standard_t(5.0, size=(S, 20000))
    mixed = with_news_days(t, np.ones(20000, bool), tail, rng.random((S, 20000)), rng.random((S, 20000)))
    assert np.mean(mixed > cut) == pytest.approx(np.mean(share), abs=0.004)
    changed = mixed != t
    assert np.isin(mixed[changed], tail.pool).all()  # news days are innovations the history holds: bounded by its largest
    # below the bulk: the Student-t's tail, with the weight 1 - p that is left to it
    assert np.mean(mixed < -cut) == pytest.approx(np.mean((1 - tail.p[:, None]) * (t < -cut)), abs=0.001)


def test_ar1_innovations_not_residuals_define_news():
    """With AR(1), a news day's carry-over to the next day is not a second news day: innovations are residual minus
    phi times the day before."""
    rng = np.random.default_rng(3)
    S, n, phi = 20, 3000, 0.6
    e = 0.2 * rng.standard_t(5.0, size=(S, n))
    e[:, ::25] += 1.5  # one news day in 25 (4%)
    r = np.zeros_like(e)
    for t in range(n):
        r[:, t] = (phi * r[:, t - 1] if t else 0.0) + e[:, t]
    with_ar = _tail(r, phi=phi)
    without = _tail(r)
    assert np.mean(with_ar.p) == pytest.approx(0.04, abs=0.01)  # (a - q) / (1 - q) with a = 0.04 + 0.96 q
    assert np.mean(without.p) > np.mean(with_ar.p) + 0.02  # residuals count the carry-over days too


def test_only_normal_days_get_news_and_each_draw_uses_its_own_innovations():
    resid = np.zeros((2, 100))
    resid[0, :10] = 2.0  # draw 0: 10% of days at 10 sd
    resid[1, :10] = 3.0  # draw 1: 10% of days at 15 sd
    tail = _tail(resid)
    t = np.zeros((2, 6))
    normal = np.array([True, True, True, False, True, True])
    out = with_news_days(t, normal, tail, np.zeros((2, 6)), np.full((2, 6), 0.5))
    assert np.all(out[0, normal] == 10.0) and np.all(out[1, normal] == 15.0)
    assert np.all(out[:, 3] == 0.0)
    assert np.all(t == 0.0)  # the input is not changed


@pytest.mark.parametrize("bad", [0.5, -0.1, "0.05", True])
def test_option_is_checked(bad):
    with pytest.raises(ModelError, match="news_tail_share"):
        merge_options({"news_tail_share": bad})


@pytest.fixture(scope="module")
def news_fit():
    """A simulated history with news days: 6% of normal days carry a jump of x2 to x5 (the model's Student-t, whose
    degrees of freedom are bounded at 5, cannot hold them)."""
    import pandas as pd

    from bayescap.models.traffic import fit_traffic
    from bayescap.models.traffic_synthetic import simulate_history

    df, _ = simulate_history(364, seed=11)
    rng = np.random.default_rng(12)
    normal = df["event_sale"].to_numpy() == 0
    news = normal & (rng.random(len(df)) < 0.06)
    df.loc[news, "count"] = np.round(df.loc[news, "count"] * np.exp(rng.uniform(np.log(2), np.log(5), news.sum())))
    idata = fit_traffic(df, draws=300, tune=400, chains=2, seed=13)
    start = df["date"].iloc[-1] + pd.Timedelta(days=1)
    dates = pd.date_range(start, periods=28, freq="D")
    cal = pd.DataFrame({"date": dates, "event_sale": (dates.day_of_week == 3).astype(int)})
    return df, idata, cal


def test_forecast_news_days_widen_only_the_upper_tail_of_normal_days(news_fit):
    """The same posterior and seed with and without news days: event days and every draw that is not a news day are
    unchanged; normal days' upper quantiles rise; the share of news days is the draws' news probability."""
    from bayescap.models.traffic import forecast_traffic

    df, idata, cal = news_fit
    off = forecast_traffic(idata, df, cal, news_tail_share=0.0, seed=3)["visits"]
    on = forecast_traffic(idata, df, cal, news_tail_share=0.025, seed=3)
    ev = on["is_event"].values
    differs = on["visits"].values != off.values
    touched = differs.any(axis=1)
    first = np.argmax(differs, axis=1)[touched]  # a draw's first news day (the AR(1) carries it to the days after)
    assert not ev[first].any()  # never an event day
    assert 0.2 < touched.mean() < 0.95  # 6% news days in the history: some draws have one in 20 normal days, not all
    hi_on = np.quantile(on["visits"].values[:, ~ev], 0.975, axis=0)
    hi_off = np.quantile(off.values[:, ~ev], 0.975, axis=0)
    assert np.median(hi_on / hi_off) > 1.15
    med_ratio = np.median(on["visits"].values[:, ~ev], axis=0) / np.median(off.values[:, ~ev], axis=0)
    assert np.all(np.abs(med_ratio - 1) < 0.05)  # the bulk stays where it was
    assert float(on["visits"].max()) < 20.0 * float(df["count"].max())  # still bounded
    default = forecast_traffic(idata, df, cal, seed=3)["visits"]
    from bayescap.models.traffic_priors import DEFAULT_OPTIONS

    expect = on["visits"] if DEFAULT_OPTIONS["news_tail_share"] == 0.025 else off
    np.testing.assert_array_equal(default.values, expect.values)  # the fit's option is the default


def test_the_news_day_share_is_saved_with_the_posterior_and_summarised(news_fit):
    """summary.json (and the report's model page) say how often a forecast normal day is a news day: about the
    history's rate of news beyond the noise model's tail (6% injected, some of them small enough to pass for noise)."""
    from bayescap.models.traffic import summarise_traffic

    _, idata, _ = news_fit
    share = summarise_traffic(idata)["news_day_share"]
    assert 0.02 < share["median"] < 0.07
    assert idata["posterior"]["news_day_prob"].dims == ("chain", "draw")


def test_news_days_without_ar1_and_with_missing_days(news_fit):
    """Without the AR(1) the innovations are the residuals themselves, and missing days are left out of them: the
    forecast still gets news days, and only on normal days."""
    from bayescap.models.traffic import fit_traffic, forecast_traffic

    df, _, cal = news_fit
    gappy = df.copy()
    gappy.loc[np.random.default_rng(5).random(len(gappy)) < 0.1, "count"] = np.nan
    idata = fit_traffic(gappy, options={"ar1": False}, draws=200, tune=300, chains=2, seed=14)
    share = float(idata["posterior"]["news_day_prob"].median())
    assert 0.01 < share < 0.1
    on = forecast_traffic(idata, gappy, cal, seed=4)
    off = forecast_traffic(idata, gappy, cal, news_tail_share=0.0, seed=4)["visits"].values
    ev = on["is_event"].values
    changed = on["visits"].values != off
    assert changed[:, ~ev].mean() == pytest.approx(share, abs=0.02)  # without AR(1) a news day changes only itself
    assert not changed[:, ev].any()
