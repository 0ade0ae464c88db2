"""Event after-days: the days just after an event, with lifts of their own (option ``event_after_days``).

Interest in an event outlasts its flagged days: on the Peyton Manning page the second and third days after a playoff
game (the first is flagged ``day_after``) still had 2.9 and 1.6 times the views of the weeks before (ten games,
2008-2015); after a retail sale, demand pulled forward can leave a dip. Prophet models this with a holiday's
``upper_window``: each day after the holiday gets an effect of its own. Here, with ``event_after_days = K``, the k-th
day (k = 1..K) after the last day of each occurrence of type ``t`` becomes a day of the derived event type
``after<k>:<t>``, unless an event of any type is flagged on it or on a day between (the run of after-days stops at
the next event day). A derived type has a lift like an event type (the same prior; its occurrences are single days,
so with ``single_day_lifts = "noise"`` one lift per type) but its days stay in the normal-day regime: normal-day
noise, not the event days' own scale, which sizes event-day fleets and would otherwise be shrunk by days that are not
events (an early version did that: on the Peyton Manning page the event-day scale fell from 0.98 to 0.39). In a
forecast, after-days are derived the same way from the future calendar (and the history's last days), so they are
known in advance exactly as the events they follow. A derived day inherits the intensity of the occurrence it
follows. Only derived types with at least one day in the fitted history are added: a lift is never the prior's alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

AFTER_DAYS_MAX = 7
AUTO_DAYS = 2  # "auto": two after-days for each rare type ...
AUTO_MAX_PER_YEAR = 12.0  # ... a type with at most one occurrence a month on average in the history


def days_by_type(flags: dict[str, np.ndarray], days: int | str) -> dict[str, int]:
    """After-days per event type: ``days`` for every type, or with ``"auto"`` :data:`AUTO_DAYS` for the rare types
    (at most :data:`AUTO_MAX_PER_YEAR` occurrences a year) and none for frequent ones. A weekly or fortnightly sale's
    after-days fall on the same weekdays week after week, where the weekday effects already are; a launch, a playoff
    game or a holiday is rare enough for its after-days to be told apart."""
    if days != "auto":
        return {typ: int(days) for typ in flags}
    out = {}
    for typ, f in flags.items():
        runs = int(np.sum(f & ~np.append(False, f[:-1])))
        per_year = runs * 365.25 / max(len(f), 1)
        out[typ] = AUTO_DAYS if 0 < per_year <= AUTO_MAX_PER_YEAR else 0
    return out


def max_after_days(days: int | str) -> int:
    return AUTO_DAYS if days == "auto" else int(days)


def after_type(k: int, typ: str) -> str:
    """``after<k>:<type>``: a colon, which an input's event type cannot hold, so no user type is taken for one."""
    return f"after{k}:{typ}"


def is_after_type(typ: str) -> bool:
    head, sep, rest = typ.partition(":")
    return bool(sep) and head.startswith("after") and head[5:].isdigit() and bool(rest)


def _after_flags(flags: dict[str, np.ndarray], days: dict[str, int]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{derived type: (flags, index of the day of the occurrence it follows)}`` on one daily calendar, with
    ``days[type]`` after-days for each type."""
    any_event = np.zeros(len(next(iter(flags.values()))), dtype=bool) if flags else np.zeros(0, dtype=bool)
    for f in flags.values():
        any_event |= f
    n = len(any_event)
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for typ, f in flags.items():
        ends = np.flatnonzero(f & ~np.append(f[1:], False))  # last day of each run of this type
        for k in range(1, days.get(typ, 0) + 1):
            out[after_type(k, typ)] = (np.zeros(n, dtype=bool), np.full(n, -1))
        for end in ends:
            for k in range(1, days.get(typ, 0) + 1):
                day = end + k
                if day >= n or any_event[day]:
                    break
                derived, source = out[after_type(k, typ)]
                derived[day], source[day] = True, end
    return out


def _daily(frame: pd.DataFrame, types: list[str]) -> tuple[pd.DatetimeIndex, dict[str, np.ndarray]]:
    dates = pd.DatetimeIndex(pd.to_datetime(frame["date"])).normalize()
    calendar = pd.date_range(dates.min(), dates.max(), freq="D")
    pos = calendar.get_indexer(dates)
    flags = {}
    for typ in types:
        f = np.zeros(len(calendar), dtype=bool)
        col = f"event_{typ}"
        if col in frame.columns:
            f[pos] = pd.to_numeric(frame[col], errors="coerce").fillna(0).to_numpy() > 0
        flags[typ] = f
    return calendar, flags


def with_after_events(history: pd.DataFrame, types: list[str], days: int | str) -> tuple[pd.DataFrame, list[str]]:
    """``history`` with ``event_after<k>:<type>`` columns for the derived types that have a day in it, and those types.

    ``days``: after-days per occurrence for every type, or ``"auto"`` (:func:`days_by_type`). Missing days count as
    normal days for the derivation (an after-day is a calendar day, observed or not).
    """
    if days == 0 or not types or history.empty:
        return history, []
    calendar, flags = _daily(history, types)
    observed = history["count"].notna().to_numpy() if "count" in history.columns else np.ones(len(history), bool)
    pos = calendar.get_indexer(pd.DatetimeIndex(pd.to_datetime(history["date"])).normalize())
    after = _after_flags(flags, days_by_type(flags, days))
    derived = {name: f for name, (f, _) in after.items() if (f[pos] & observed).any()}
    if not derived:
        return history, []
    out = history.copy()
    for name, f in derived.items():
        out[f"event_{name}"] = f[pos].astype(int)
    out.attrs = dict(history.attrs)
    out.attrs["event_types"] = [*types, *derived]
    return out, list(derived)


def calendar_with_after_events(
    history: pd.DataFrame, calendar: pd.DataFrame, types: list[str], derived: list[str], days: int | str
) -> pd.DataFrame:
    """The future ``calendar`` with the derived after-day columns (``event_`` and ``intensity_``) of ``derived``.

    The derivation runs over the history's last ``days`` days and the calendar together, so an event on the last
    history day gives after-days at the start of the forecast; a derived day takes the intensity (``intensity_<t>``,
    default 1) of the occurrence it follows.
    """
    if not derived:
        return calendar
    tail = history.assign(date=pd.to_datetime(history["date"]).dt.normalize())
    tail = tail[tail["date"] > tail["date"].max() - pd.Timedelta(days=max_after_days(days))]
    cal = calendar.copy()
    cal["date"] = pd.to_datetime(cal["date"]).dt.normalize()
    cols = [f"event_{t}" for t in types]
    both = pd.concat([tail.reindex(columns=["date", *cols]), cal.reindex(columns=["date", *cols])], ignore_index=True)
    both[cols] = both[cols].fillna(0)
    days_index, flags = _daily(both, types)
    intensity = {}
    cal_pos = days_index.get_indexer(cal["date"])
    for typ in types:
        level = np.ones(len(days_index))
        icol = f"intensity_{typ}"
        if icol in cal.columns:
            level[cal_pos] = pd.to_numeric(cal[icol], errors="coerce").fillna(1.0).to_numpy()
        intensity[typ] = level
    after = _after_flags(flags, {typ: max_after_days(days) for typ in types})  # the fit decided which types have them
    for name in derived:
        f, source = after.get(name, (np.zeros(len(days_index), dtype=bool), np.full(len(days_index), -1)))
        typ = name.partition(":")[2]
        cal[f"event_{name}"] = f[cal_pos].astype(int)
        cal[f"intensity_{name}"] = np.where(source[cal_pos] >= 0, intensity[typ][np.maximum(source[cal_pos], 0)], 1.0)
    return cal
