"""The future event calendar of a scenario, and where a forecast starts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from bayescap.errors import InputError
from bayescap.inputs.scenario_types import Scenario


def as_date(value: Any) -> dt.date:
    """A calendar date from the date-like values pandas, numpy and TOML hand around."""
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).date()
    if isinstance(value, str):
        return dt.date.fromisoformat(value)
    raise TypeError(f"expected a date, got {type(value).__name__}")


def forecast_start(scenario: Scenario, history: pd.DataFrame) -> dt.date:
    """The first forecast day: the scenario's ``start``, else the day after the history.

    Raises
    ------
    InputError
        when ``start`` is on or before the last history date: forecasting days
        that were observed would mix the forecast with the data it was fitted on.
    """
    last = as_date(history["date"].max())
    if scenario.start is None:
        return last + dt.timedelta(days=1)
    if scenario.start <= last:
        raise InputError(
            None,
            f"scenario '{scenario.name}', key start",
            f"a start after the last history date {last} (of {history.attrs.get('path', 'the traffic history')}), "
            f"got {scenario.start}; leave 'start' out to begin the day after the history",
        )
    return scenario.start


def future_calendar(
    scenario: Scenario,
    start: dt.date | pd.Timestamp | str,
    event_types: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The forecast days with each event type's 0/1 flag and intensity.

    Parameters
    ----------
    scenario : a resolved scenario
    start : first forecast day (see :func:`forecast_start`)
    event_types : the history's event types (``traffic_df.attrs["event_types"]``);
        every one gets columns, so the forecast sees the same types as the fit.
        Default: the types named by the scenario's events.

    Returns
    -------
    DataFrame with ``scenario.horizon_days`` rows: ``date`` (datetime64[ns]),
    ``event_<type>`` (int 0/1) and ``intensity_<type>`` (float; 0.0 on days
    without that event). A weekly rule fires on its weekday from its ``start``
    (default: the forecast start) every ``every_weeks`` weeks up to its ``end``;
    one-off ``dates`` inside the horizon fire too. When several rules of a type
    hit the same day the highest intensity wins. ``attrs`` ``scenario``,
    ``event_types``.

    Raises
    ------
    InputError
        when a rule's type is not among ``event_types``.
    """
    first = as_date(start)
    n = scenario.horizon_days
    last = first + dt.timedelta(days=n - 1)
    days = pd.date_range(first, periods=n, freq="D")
    types = list(event_types) if event_types is not None else list(dict.fromkeys(e.type for e in scenario.events))
    flags = {t: np.zeros(n, dtype=np.int64) for t in types}
    intensity = {t: np.zeros(n, dtype=float) for t in types}
    for i, rule in enumerate(scenario.events):
        if rule.type not in flags:
            raise InputError(
                None,
                f"scenario '{scenario.name}', key events[{i}].type",
                f"an event type of the traffic history ({', '.join(types) or 'none'}), got '{rule.type}'",
            )
        hits: list[dt.date] = []
        if rule.weekday is not None:
            rule_start = rule.start or first
            rule_end = min(rule.end or last, last)
            day = rule_start + dt.timedelta(days=(rule.weekday - rule_start.weekday()) % 7)
            step = dt.timedelta(weeks=rule.every_weeks)
            while day <= rule_end:
                if day >= first:
                    hits.append(day)
                day += step
        hits.extend(d for d in rule.dates if first <= d <= last)
        for d in hits:
            k = (d - first).days
            flags[rule.type][k] = 1
            intensity[rule.type][k] = max(intensity[rule.type][k], rule.intensity)
    out = pd.DataFrame({"date": days.astype("datetime64[ns]")})
    for t in types:
        out[f"event_{t}"] = flags[t]
        out[f"intensity_{t}"] = intensity[t]
    out.attrs = {"scenario": scenario.name, "event_types": types}
    return out
