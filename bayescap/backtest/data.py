"""Small converters from public example series to the traffic input contract (``date, count, event_<type>``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bayescap.errors import InputError

PEYTON_COLUMNS = {
    "views": "count",
    "is_playoff_game": "event_playoff",
    "is_superbowl": "event_superbowl",
    "is_day_after_playoff_game": "event_day_after",
}
PEYTON_EVENT_TYPES = ["playoff", "superbowl", "day_after"]


def is_peyton_manning_layout(columns) -> bool:
    """True for the layout of Prophet's Peyton Manning example (date, views, log_views, is_* flags)."""
    return {"date", *PEYTON_COLUMNS}.issubset(set(columns))


def peyton_manning_history(path: str | Path) -> pd.DataFrame:
    """Read ``traffic_wikipedia_peyton_manning.csv`` into the ``read_traffic`` contract.

    ``views`` becomes ``count``; the three flags become ``event_playoff``, ``event_superbowl`` and
    ``event_day_after``; ``competitor_event`` is all zeros. The file itself is left as it is.
    """
    raw = pd.read_csv(path)
    if not is_peyton_manning_layout(raw.columns):
        raise InputError(path, "header", "columns date, views, is_playoff_game, is_superbowl, is_day_after_playoff_game")
    df = raw.rename(columns=PEYTON_COLUMNS)[["date", "count", *[f"event_{t}" for t in PEYTON_EVENT_TYPES]]].copy()
    df["date"] = pd.to_datetime(df["date"])
    df["count"] = df["count"].astype(float)
    for t in PEYTON_EVENT_TYPES:
        df[f"event_{t}"] = df[f"event_{t}"].astype(int)
    df["competitor_event"] = 0
    df = df.sort_values("date").reset_index(drop=True)
    df.attrs["event_types"] = list(PEYTON_EVENT_TYPES)
    df.attrs["path"] = str(path)
    return df
