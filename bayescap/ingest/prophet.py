"""Prophet-style inputs (``ds``,``y`` history and a ``holidays`` frame) -> the traffic CSV contract.

The reading and validation is the input stage's (:func:`bayescap.inputs.traffic.read_traffic`
accepts ``ds``,``y``; :func:`bayescap.inputs.traffic.read_prophet_holidays` turns a
holidays frame into ``event_<type>`` columns on given dates, windows included).
This module only joins the two and names competitor events, so that a
Prophet user's files become one ``traffic.csv`` that every other command reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from bayescap.errors import InputError
from bayescap.inputs.traffic import read_prophet_holidays, read_traffic

COMPETITOR = "competitor_event"
EVENT_PREFIX = "event_"


def _type_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def event_columns(
    holidays_path: str | Path,
    dates: Sequence | pd.Series,
    *,
    competitor: Iterable[str] = (),
) -> pd.DataFrame:
    """``date`` + ``event_<type>`` 0/1 columns (+ ``competitor_event``) for ``dates`` from a Prophet holidays CSV.

    ``competitor`` names holidays (as written, or as their event type) that are a
    competitor's event: those days go to ``competitor_event`` (a negative effect
    in the traffic model) instead of an ``event_<type>`` column.
    """
    ev = read_prophet_holidays(holidays_path, dates)
    wanted = {_type_name(c) for c in competitor}
    unknown = wanted - {c[len(EVENT_PREFIX):] for c in ev.columns if c.startswith(EVENT_PREFIX)}
    if unknown:
        raise InputError(holidays_path, "column 'holiday'", f"holidays named {sorted(unknown)} for --competitor; "
                         f"found {sorted(c[len(EVENT_PREFIX):] for c in ev.columns if c != 'date')}")
    comp = np.zeros(len(ev), dtype=np.int64)
    for etype in sorted(wanted):
        col = EVENT_PREFIX + etype
        comp |= ev[col].to_numpy(dtype=np.int64)
        ev = ev.drop(columns=[col])
    if wanted:
        ev[COMPETITOR] = comp
    return ev


def prophet_to_traffic(
    history_path: str | Path,
    holidays_path: str | Path | None = None,
    *,
    competitor: Iterable[str] = (),
) -> pd.DataFrame:
    """The traffic CSV table (``date,count,event_<type>...,competitor_event``) from Prophet-style files.

    ``history_path`` has ``ds``,``y`` (or ``date``,``count``); its own event
    columns are kept, and holidays add their types (a holiday type that is
    already a column is OR-ed into it).
    """
    hist = read_traffic(history_path)
    out = pd.DataFrame({"date": hist["date"], "count": hist["count"]})
    for col in hist.columns:
        if col.startswith(EVENT_PREFIX) or col == COMPETITOR:
            out[col] = hist[col].astype(np.int64)
    if holidays_path is not None:
        ev = event_columns(holidays_path, hist["date"], competitor=competitor)
        for col in ev.columns:
            if col == "date":
                continue
            vals = ev[col].to_numpy(dtype=np.int64)
            out[col] = (out[col].to_numpy(dtype=np.int64) | vals) if col in out else vals
    elif competitor:
        raise InputError(None, "--competitor", "a --holidays file that names those holidays")
    if COMPETITOR in out and not out[COMPETITOR].any():
        out = out.drop(columns=[COMPETITOR])
    first = ["date", "count"]
    rest = sorted(c for c in out.columns if c not in first)
    return out[first + rest]


def traffic_frame_for_csv(df: pd.DataFrame) -> pd.DataFrame:
    """Dates as ``YYYY-MM-DD`` and whole counts written without ``.0``."""
    out = df.copy()
    out["date"] = pd.to_datetime(out["date"]).dt.strftime("%Y-%m-%d")
    counts = out["count"].to_numpy(dtype=float)
    if np.all(np.mod(counts, 1) == 0):
        out["count"] = counts.astype(np.int64)
    return out
