"""Rolling-origin protocol: the last ``n_windows * window_days`` days form consecutive test windows, and
each window's model is fitted on the ``train_days`` calendar days just before it."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from bayescap.errors import InputError

N_WINDOWS = 4
WINDOW_DAYS = 28
TRAIN_DAYS = 730


@dataclass(frozen=True)
class Origin:
    """One forecast origin: training history, test dates (all calendar days of the window) and actuals."""

    index: int
    train: pd.DataFrame
    test_dates: pd.DatetimeIndex
    test: pd.DataFrame  # one row per test date; count NaN where missing

    @property
    def calendar(self) -> pd.DataFrame:
        """The future calendar of the window: flagged event days count as known future events (intensity 1), and so
        do flagged competitor-event days (a rival's sale is announced, as the scenario calendars have them)."""
        flags = [c for c in self.test.columns if c.startswith("event_") or c == "competitor_event"]
        cols = ["date", *flags]
        cal = self.test[cols].copy()
        for c in cols[1:]:
            cal[c] = cal[c].fillna(0).astype(int)
        return cal


def history_before(history: pd.DataFrame, days: int) -> pd.DataFrame:
    """The history as it stood ``days`` days before its last day (rows after that dropped, attrs kept).

    A validation period: the same protocol run on it scores settings without looking at the last days, which
    stay the test (docs/traffic_model.md, "Backtest").
    """
    if days < 0:
        raise InputError(None, "--before", f"a whole number of days >= 0, got {days}")
    dates = pd.to_datetime(history["date"]).dt.normalize()
    out = history[dates <= dates.max() - pd.Timedelta(days=int(days))].reset_index(drop=True)
    out.attrs = dict(history.attrs)
    return out


def origins(
    history: pd.DataFrame,
    *,
    n_windows: int = N_WINDOWS,
    window_days: int = WINDOW_DAYS,
    train_days: int = TRAIN_DAYS,
) -> list[Origin]:
    """Split ``history`` (the ``read_traffic`` contract) into the backtest's origins, oldest first.

    Windows are calendar-based: missing days inside a test window stay missing (scored as left out), and
    a training history is the ``train_days`` calendar days before its window (fewer rows if days are missing).
    """
    hist = history.copy()
    hist["date"] = pd.to_datetime(hist["date"]).dt.normalize()
    hist = hist.sort_values("date").reset_index(drop=True)
    last = hist["date"].iloc[-1]
    first_test = last - pd.Timedelta(days=n_windows * window_days - 1)
    if (first_test - hist["date"].iloc[0]).days < train_days:
        need = n_windows * window_days + train_days
        span = (last - hist["date"].iloc[0]).days + 1
        raise InputError(
            history.attrs.get("path"), None,
            f"a history of at least {need} days for {n_windows} windows of {window_days} days after {train_days} "
            f"training days (this one spans {span} days)",
        )
    out = []
    indexed = hist.set_index("date")
    for k in range(n_windows):
        start = first_test + pd.Timedelta(days=k * window_days)
        test_dates = pd.date_range(start, periods=window_days, freq="D")
        train = hist[(hist["date"] < start) & (hist["date"] >= start - pd.Timedelta(days=train_days))].reset_index(drop=True)
        train.attrs = dict(history.attrs)
        test = indexed.reindex(test_dates).rename_axis("date").reset_index()
        test.attrs = dict(history.attrs)
        out.append(Origin(index=k, train=train, test_dates=test_dates, test=test))
    return out
