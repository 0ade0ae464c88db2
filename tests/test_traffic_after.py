"""Event after-days (option ``event_after_days``, bayescap/models/traffic_after.py): which days become derived event
days, in the history and in a forecast calendar, and that a fit recovers a known after-day lift and forecasts it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayescap.errors import ModelError
from bayescap.models.traffic_after import calendar_with_after_events, is_after_type, with_after_events
from bayescap.models.traffic_priors import merge_options

SEED = 20261126


def frame(n: int, events: dict[str, list[int]], missing: tuple[int, ...] = ()) -> pd.DataFrame:
    dates = pd.date_range("2025-01-01", periods=n, freq="D")
    df = pd.DataFrame({"date": dates, "count": 100.0})
    for typ, days in events.items():
        df[f"event_{typ}"] = 0
        df.loc[days, f"event_{typ}"] = 1
    df.loc[list(missing), "count"] = np.nan
    df.attrs["event_types"] = list(events)
    return df


def days_of(df: pd.DataFrame, typ: str) -> list[int]:
    return [int(i) for i in np.flatnonzero(df[f"event_{typ}"].to_numpy() > 0)]


def test_after_days_follow_each_occurrence_and_stop_at_the_next_event():
    df = frame(40, {"sale": [5, 6, 20, 30], "launch": [32]})
    out, derived = with_after_events(df, ["sale", "launch"], 2)
    assert derived == ["after1:sale", "after2:sale", "after1:launch", "after2:launch"]
    assert days_of(out, "after1:sale") == [7, 21, 31]  # after the last day of the two-day sale (5-6)
    assert days_of(out, "after2:sale") == [8, 22]  # day 32 is a launch: the sale's run of after-days stops there
    assert days_of(out, "after1:launch") == [33] and days_of(out, "after2:launch") == [34]
    assert out.attrs["event_types"] == ["sale", "launch", *derived]
    assert days_of(out, "sale") == days_of(df, "sale")  # the flagged events are left as they are
    assert with_after_events(df, ["sale", "launch"], 0) == (df, [])
    assert is_after_type("after2:day_after")
    assert not any(is_after_type(t) for t in ("after2_day_after", "afterparty", "sale"))  # input types never are


def test_a_derived_type_with_no_observed_day_is_not_added():
    """Its lift would be the prior's alone (the day after is missing in the data)."""
    df = frame(30, {"launch": [10]}, missing=(11,))
    out, derived = with_after_events(df, ["launch"], 2)
    assert derived == ["after2:launch"] and days_of(out, "after2:launch") == [12]


def test_the_forecast_calendar_gets_after_days_with_the_intensity_they_follow():
    history = frame(30, {"sale": [29]})  # a sale on the last history day
    future = pd.DataFrame({"date": pd.date_range("2025-01-31", periods=8, freq="D"),
                           "event_sale": [0, 0, 0, 1, 0, 0, 0, 0], "intensity_sale": 3.0})
    cal = calendar_with_after_events(history, future, ["sale"], ["after1:sale", "after2:sale"], 2)
    assert cal["event_after1:sale"].tolist() == [1, 0, 0, 0, 1, 0, 0, 0]
    assert cal["event_after2:sale"].tolist() == [0, 1, 0, 0, 0, 1, 0, 0]
    # the history's sale has intensity 1; the scenario's sale on day 3 gives its after-days its intensity 3
    assert cal["intensity_after1:sale"].tolist()[:5] == [1.0, 1.0, 1.0, 1.0, 3.0]
    assert cal["intensity_after2:sale"].tolist()[5] == 3.0


@pytest.mark.parametrize("bad", [-1, 8, 1.5, True, "2"])
def test_the_option_takes_a_whole_number_of_days_up_to_seven(bad):
    with pytest.raises(ModelError, match="event_after_days must be .auto. or a whole number of days from 0 to 7"):
        merge_options({"event_after_days": bad})
    assert merge_options({"event_after_days": 2.0})["event_after_days"] == 2


def test_a_known_after_day_lift_is_recovered_and_forecast():
    from bayescap.models.traffic import fit_traffic, forecast_traffic
    from bayescap.models.traffic_synthetic import EventSpec, SyntheticTruth, simulate_history

    truth = SyntheticTruth(events={"launch": EventSpec(weekday=1, every_weeks=3, lift_mean=1.0, lift_sd=0.1)},
                           rw_sd_per_week=0.03, yearly_amplitude=0.0)
    df, _ = simulate_history(364, truth=truth, seed=SEED)
    launch = np.flatnonzero(df["event_launch"].to_numpy() > 0)
    after = launch + 1
    after = after[after < len(df)]
    df.loc[after, "count"] = np.round(df.loc[after, "count"] * np.exp(0.7))  # the true after-day lift: x2.0
    idata = fit_traffic(df, options={"event_after_days": 1}, draws=300, tune=400, chains=2, seed=SEED)
    lift = idata["posterior"]["lift_mean"].sel(event_type="after1:launch").values.ravel()
    lo, hi = np.quantile(lift, [0.05, 0.95])
    assert lo < 0.7 < hi and lo > 0.3, (lo, hi)
    # a launch in the forecast: the day after it is forecast about twice a plain Wednesday of the next week
    start = df["date"].iloc[-1] + pd.Timedelta(days=1)
    dates = pd.date_range(start, periods=21, freq="D")
    tuesday = int(np.flatnonzero(dates.day_of_week == 1)[0])
    cal = pd.DataFrame({"date": dates, "event_launch": (np.arange(21) == tuesday).astype(int)})
    visits = forecast_traffic(idata, df, cal, seed=SEED)["visits"].median("draw").values
    ratio = visits[tuesday + 1] / visits[tuesday + 8]
    assert 1.6 < ratio < 2.5, ratio


def test_auto_gives_after_days_to_rare_event_types_only():
    """"auto": two after-days for a type with at most one occurrence a month; none for a weekly sale, whose after-days
    would fall on the same weekdays every week (the weekday effects' place)."""
    n = 364
    weekly = [d for d in range(n) if d % 7 == 3]
    rare = [40, 130, 250]
    out, derived = with_after_events(frame(n, {"sale": weekly, "launch": rare}), ["sale", "launch"], "auto")
    assert derived == ["after1:launch", "after2:launch"]
    assert days_of(out, "after1:launch") == [41, 131, 251]
    assert merge_options({"event_after_days": "auto"})["event_after_days"] == "auto"


def test_after_days_keep_the_noise_of_normal_days():
    """An after-day has a lift of its own but stays in the normal-day regime: the event days' own noise scale, which
    sizes event-day fleets, is estimated from flagged events only."""
    from bayescap.models.traffic_order import design_for_order
    from bayescap.models.traffic_priors import check_option

    df = frame(120, {"launch": [20, 60, 100]})
    design = design_for_order(df, merge_options({"event_after_days": 2}), 2)
    assert list(design.event_types) == ["launch", "after1:launch", "after2:launch"]
    assert np.flatnonzero(design.data["is_event"]).tolist() == [20, 60, 100]
    type_days = design.data["type_matrix"]  # day x type: the lifts still reach the after-days
    assert np.flatnonzero(type_days[:, 1]).tolist() == [21, 61, 101]
    assert check_option("event_after_days", "auto") == "auto"
