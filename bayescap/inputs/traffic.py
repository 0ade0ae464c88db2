"""Read and validate the traffic history (daily), intraday counts and Prophet holidays.

Contract (docs/architecture.md): ``read_traffic`` returns ``date`` (datetime64[ns],
midnight, sorted, unique), ``count`` (float > 0), one int 0/1 column
``event_<type>`` per event type and ``competitor_event`` (0/1, zeros when the
file has none). ``attrs``: ``path``, ``event_types`` (list of str) and ``notes``
(list of str: what was done to the data, for the pipeline to print).

Choices, and why:

* Unsorted rows are sorted (and reported): row order carries no information.
* Missing days (gaps) are kept as gaps, not filled: an unknown count is not a
  zero, and the traffic model needs no regular grid. Their number is reported.
* Zero and negative counts are errors: the traffic model is on the log scale,
  and a zero day is almost always an outage or a broken export, not demand.
* A history shorter than 8 weeks is an error: weekday effects and an event lift
  cannot be told apart with fewer weeks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from bayescap.errors import InputError
from bayescap.inputs.csvfile import (
    closest,
    duration,
    flag_column,
    numeric_column,
    parse_number,
    read_table,
    require_columns,
    text_column,
    timestamp_column,
    where,
)
from bayescap.inputs.event_weekdays import describe, weekday_bound_events
from bayescap.inputs.names import EVENT_TYPE_RE

KIND = "traffic CSV"
INTRADAY_KIND = "intraday traffic CSV"
HOLIDAYS_KIND = "Prophet holidays CSV"
MIN_HISTORY_DAYS = 56
EVENT_PREFIX = "event_"
COMPETITOR = "competitor_event"
_ALIASES = {"ds": "date", "y": "count"}
_INTRADAY_ALIASES = {"ds": "timestamp", "y": "count"}


_COUNT_WORDS = ("count", "views", "visit", "request", "hits", "sessions", "users", "traffic")
"""Words in the header of a column that probably holds the counts under another name (``views``, ``request_count``)."""


def _count_hint(present: list[str]) -> str:
    """A hint for a missing ``count`` column: the first present column whose name says it counts something."""
    for col in present:
        if not col.startswith(("log", "is_", EVENT_PREFIX)) and any(word in col for word in _COUNT_WORDS):
            return f" (if '{col}' holds the counts, rename it to 'count')"
    return ""


def _daily_date_hint(present: list[str]) -> str:
    """A hint for a daily history without ``date`` but with ``timestamp``: an intraday file in the wrong place."""
    if "timestamp" in present:
        return (" (a 'timestamp' column is for hourly or finer counts: give that file as the intraday CSV "
                "(--intraday); the daily history has a 'date' column, one row per day)")
    return ""


def _flag_columns(df: pd.DataFrame, columns: list[str]) -> dict[str, str]:
    """Ignored columns that hold only 0 and 1 (event flags under another name), each with the event column name
    it would need: ``is_playoff_game`` -> ``event_playoff_game``."""
    found = {}
    for col in columns:
        values = [parse_number(v) for v in df[col]]
        if values and all(v in (0.0, 1.0) for v in values) and any(v == 1.0 for v in values):
            stem = re.sub(r"^(is|has|flag)_|_(flag|day|days)$", "", col) or col
            stem = re.sub(r"[^a-z0-9_]", "_", stem.lower())[:48]
            found[col] = EVENT_PREFIX + stem if EVENT_TYPE_RE.fullmatch(stem) else EVENT_PREFIX + "<type>"
    return found


def _event_type_of(column: str) -> str | None:
    """The event type named by a header (``event`` -> ``event``; ``event_sale`` -> ``sale``)."""
    if column == "event":
        return "event"
    if column.startswith(EVENT_PREFIX):
        return column[len(EVENT_PREFIX) :]
    return None


def _check_duplicates(dates: pd.Series, path: str | None, column: str) -> None:
    dup = dates.duplicated(keep=False)
    if dup.any():
        lines = list(dates.index[dup])
        first_value = dates[lines[0]]
        same = [ln for ln in lines if dates[ln] == first_value]
        stamp = first_value.strftime("%Y-%m-%d") if column == "date" else str(first_value)
        raise InputError(
            path,
            where(same[1], column),
            f"one row per {'date' if column == 'date' else 'timestamp'}, got {stamp} again "
            f"(also on line {same[0]}); sum or remove the duplicate rows",
        )


_DOT_GROUPED = re.compile(r"\d{1,3}(?:\.\d{3})+")
_WHOLE = re.compile(r"\d+")


def _reject_dot_grouping(cells: pd.Series, path: str) -> None:
    """Catch ``1.234`` meaning 1234 (a dot as thousands separator) in a column of whole counts.

    ``1.234`` is a valid decimal, so it cannot be rejected on its own; but when
    the other counts are whole numbers and only values like ``1.234`` or
    ``12.345.678`` carry a dot, the dot is a thousands separator and reading it
    as a decimal point would silently divide that day by 1000.
    """
    dotted = cells.str.fullmatch(_DOT_GROUPED.pattern)
    whole = cells.str.fullmatch(_WHOLE.pattern)
    if dotted.any() and whole.any() and (dotted | whole).all():
        line = int(cells.index[dotted.to_numpy()][0])
        value = cells[line]
        raise InputError(
            path,
            where(line, "count"),
            f"a plain count, got '{value}': the other counts are whole numbers, so this looks like "
            f"{value.replace('.', '')} with a dot as thousands separator; write {value.replace('.', '')}",
        )


def read_traffic(path: str | Path) -> pd.DataFrame:
    """Read the daily traffic history CSV.

    Parameters
    ----------
    path : CSV with ``date`` and ``count`` (or Prophet's ``ds`` and ``y``), optional
        0/1 columns ``event`` / ``event_<type>`` and ``competitor_event``. Other
        columns are ignored and listed in ``attrs["notes"]``.

    Returns
    -------
    DataFrame with ``date``, ``count``, ``event_<type>``..., ``competitor_event``
    and ``attrs`` ``path``, ``event_types``, ``notes``. The caller's file is the
    only input; nothing is cached.

    Raises
    ------
    InputError
        for every problem in the file, naming the file, the line (header = line
        1) and column, and what was expected.
    """
    df = read_table(path, KIND, aliases=_ALIASES)
    path_s = df.attrs["path"]
    header_line = df.attrs["header_line"]
    require_columns(df, ["date", "count"], KIND, hints={"date": _daily_date_hint, "count": _count_hint})
    notes: list[str] = []

    event_columns: dict[str, str] = {}  # output column -> input column
    ignored: list[str] = []
    for col in df.columns:
        if col in ("date", "count", COMPETITOR):
            continue
        etype = _event_type_of(col)
        if etype is not None:
            if not EVENT_TYPE_RE.fullmatch(etype):
                raise InputError(
                    path_s,
                    f"line {header_line}, column '{col}'",
                    "an event column named event_<type> with a type of lower-case letters, digits and '_' "
                    f"(at most 48 characters), got type {etype!r}",
                )
            out = EVENT_PREFIX + etype
            if out in event_columns:
                raise InputError(
                    path_s,
                    f"line {header_line}, column '{col}'",
                    f"one column per event type, got '{event_columns[out]}' and '{col}' for type '{etype}'",
                )
            event_columns[out] = col
            continue
        near = closest(col, ["date", "count", "event", COMPETITOR, "event_sale"], cutoff=0.75)
        if near is not None or col.startswith("event") or col.startswith("competitor"):
            hint = {"event_sale": "event_<type>"}.get(near or "", near or "event_<type> / competitor_event")
            raise InputError(
                path_s,
                f"line {header_line}, column '{col}'",
                f"a known column name, got '{col}' (did you mean '{hint}'?)",
            )
        ignored.append(col)
    flags = _flag_columns(df, ignored)
    if ignored:
        notes.append(f"{Path(path_s).name}: ignored columns {', '.join(ignored)}")
    if flags:
        first, name = next(iter(flags.items()))
        notes.append(f"{Path(path_s).name}: {', '.join(flags)} hold only 0 and 1; to use such a column as event days, "
                     f"name it event_<type> (e.g. '{first}' -> '{name}')")

    dates = timestamp_column(df, "date", daily=True)
    counts = numeric_column(df, "count", what="a positive count (visits or requests per day)", exclusive_minimum=0)
    _reject_dot_grouping(df["count"], path_s)
    out = pd.DataFrame({"date": dates, "count": counts})
    for name, col in sorted(event_columns.items()):
        out[name] = flag_column(df, col)
    out[COMPETITOR] = flag_column(df, COMPETITOR) if COMPETITOR in df.columns else np.zeros(len(df), np.int64)
    _check_duplicates(out["date"], path_s, "date")

    if not out["date"].is_monotonic_increasing:
        unsorted_at = int(np.argmax(np.diff(out["date"].to_numpy()) < np.timedelta64(0, "ns")))
        line = int(out.index[unsorted_at + 1])
        out = out.sort_values("date", kind="stable")
        notes.append(f"{Path(path_s).name}: rows were not in date order (first at line {line}); sorted by date")

    if len(out) < MIN_HISTORY_DAYS:
        raise InputError(
            path_s,
            None,
            f"at least {MIN_HISTORY_DAYS} days of history (8 weeks, to separate weekdays from events), got {len(out)}",
        )
    span = (out["date"].iloc[-1] - out["date"].iloc[0]).days + 1
    missing = span - len(out)
    if missing:
        gaps = np.diff(out["date"].to_numpy()).astype("timedelta64[D]").astype(int)
        largest = int(gaps.max()) - 1
        notes.append(
            f"{Path(path_s).name}: {missing} missing day(s) between {out['date'].iloc[0]:%Y-%m-%d} and "
            f"{out['date'].iloc[-1]:%Y-%m-%d} (largest gap {largest} day(s)); left out, not filled"
        )

    for name in event_columns:
        if out[name].sum() == 0:
            notes.append(f"{Path(path_s).name}: event type '{name[len(EVENT_PREFIX):]}' has no event days")
    both = (out[list(event_columns)].sum(axis=1) > 0) & (out[COMPETITOR] == 1) if event_columns else None
    if both is not None and both.any():
        notes.append(f"{Path(path_s).name}: {int(both.sum())} day(s) are both an event and a competitor event")

    out = out.reset_index(drop=True)
    out.attrs = {
        "path": path_s,
        "event_types": [name[len(EVENT_PREFIX) :] for name in sorted(event_columns)],
        "ignored_flag_columns": flags,
        "notes": notes,
    }
    # after attrs: weekday_bound_events reads the event types from them
    out.attrs["notes"] = [*notes, *(f"{Path(path_s).name}: {describe(bound)}" for bound in weekday_bound_events(out))]
    return out


def read_intraday(path: str | Path) -> pd.DataFrame:
    """Read hourly (or finer) counts for the intraday peak factor.

    Parameters
    ----------
    path : CSV with ``timestamp`` and ``count`` (or ``ds`` and ``y``); counts >= 0
        (a quiet 5-minute bucket at night may be zero). Timestamps are local
        time without an offset, ISO 8601.

    Returns
    -------
    DataFrame ``timestamp`` (datetime64[ns], sorted, unique), ``count`` (float)
    with ``attrs`` ``path`` and ``notes``.

    Raises
    ------
    InputError
        as for :func:`read_traffic`; also when the rows are a day or more apart
        (daily data given as intraday) or cover less than one day.
    """
    df = read_table(path, INTRADAY_KIND, aliases=_INTRADAY_ALIASES)
    path_s = df.attrs["path"]
    if "timestamp" not in df.columns and "date" in df.columns:
        require_columns(df, ["count"], INTRADAY_KIND, hints={"count": _count_hint})  # names the file's own columns
        df = df.rename(columns={"date": "timestamp"})
    require_columns(df, ["timestamp", "count"], INTRADAY_KIND, hints={"count": _count_hint})
    notes: list[str] = []
    stamps = timestamp_column(df, "timestamp", daily=False)
    counts = numeric_column(df, "count", what="a count >= 0 (requests or visits per interval)", minimum=0)
    out = pd.DataFrame({"timestamp": stamps, "count": counts})
    _check_duplicates(out["timestamp"], path_s, "timestamp")
    if not out["timestamp"].is_monotonic_increasing:
        out = out.sort_values("timestamp", kind="stable")
        notes.append(f"{Path(path_s).name}: rows were not in time order; sorted by timestamp")
    if len(out) < 2:
        raise InputError(path_s, None, "at least one day of hourly or finer counts, got a single row")
    step = pd.Series(np.diff(out["timestamp"].to_numpy())).median()
    if step > pd.Timedelta(hours=1):
        raise InputError(
            path_s,
            "column 'timestamp'",
            f"hourly or finer counts, got rows {duration(step)} apart (daily data belongs in the --traffic file)",
        )
    covered = out["timestamp"].iloc[-1] - out["timestamp"].iloc[0] + step
    if covered < pd.Timedelta(days=1):
        raise InputError(path_s, None, f"at least one whole day of counts, got {duration(covered)}")
    if out["count"].sum() <= 0:
        raise InputError(path_s, "column 'count'", "some non-zero counts, got only zeros")
    ignored = [c for c in df.columns if c not in ("timestamp", "count")]
    if ignored:
        notes.append(f"{Path(path_s).name}: ignored columns {', '.join(ignored)}")
    out = out.reset_index(drop=True)
    out.attrs = {"path": path_s, "notes": notes}
    return out


def _holiday_type(name: str) -> str:
    """A Prophet holiday name as an event type: lower-case, non-alphanumerics -> '_'."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def read_prophet_holidays(path: str | Path, dates: Sequence | pd.Series | pd.DatetimeIndex) -> pd.DataFrame:
    """Turn a Prophet holidays CSV into ``event_<holiday>`` columns on the given dates.

    Parameters
    ----------
    path : CSV with ``holiday``, ``ds`` and optional integer ``lower_window``
        (<= 0) and ``upper_window`` (>= 0), as Prophet's ``holidays=`` frame.
    dates : the days to flag (e.g. a traffic history's ``date`` column).

    Returns
    -------
    DataFrame with ``date`` (the given dates, in the given order) and one 0/1
    column ``event_<type>`` per holiday name (name lower-cased, other characters
    replaced by ``_``). A day within ``[ds + lower_window, ds + upper_window]`` is
    flagged, as Prophet does. ``attrs["event_types"]`` lists the types.

    Raises
    ------
    InputError
        bad names, dates or windows, naming the line.
    """
    df = read_table(path, HOLIDAYS_KIND)
    path_s = df.attrs["path"]
    require_columns(df, ["holiday", "ds"], HOLIDAYS_KIND)
    names = text_column(df, "holiday", what="a holiday name")
    days = timestamp_column(df, "ds", daily=True)
    lower = (
        numeric_column(df, "lower_window", what="a whole number of days <= 0", integer=True)
        if "lower_window" in df.columns
        else pd.Series(0.0, index=df.index)
    )
    upper = (
        numeric_column(df, "upper_window", what="a whole number of days >= 0", integer=True, minimum=0)
        if "upper_window" in df.columns
        else pd.Series(0.0, index=df.index)
    )
    for line, lo in lower.items():
        if lo > 0:
            raise InputError(path_s, where(line, "lower_window"), f"a whole number of days <= 0, got {lo:g}")
    target = pd.DatetimeIndex(pd.to_datetime(pd.Series(list(dates)))).normalize()
    out = pd.DataFrame({"date": target.astype("datetime64[ns]")})
    types: list[str] = []
    for line, name in names.items():
        etype = _holiday_type(name)
        if not EVENT_TYPE_RE.fullmatch(etype):
            raise InputError(
                path_s, where(line, "holiday"), f"a holiday name with letters or digits, got {name!r}"
            )
        col = EVENT_PREFIX + etype
        if col not in out:
            out[col] = np.zeros(len(out), dtype=np.int64)
            types.append(etype)
        start = days[line] + pd.Timedelta(days=int(lower[line]))
        stop = days[line] + pd.Timedelta(days=int(upper[line]))
        hit = (out["date"] >= start) & (out["date"] <= stop)
        out.loc[hit, col] = 1
    out.attrs = {"path": path_s, "event_types": types}
    return out
