"""Event types that take up (almost) every day of a weekday: their lift and that weekday's effect are one number.

A sale held every Thursday is seen only as "Thursday with a sale"; how much of that is the sale and how much is
Thursday, the history cannot say, so the model's prior splits it. A forecast at the past intensity does not care (it
needs only the sum), but a scenario that makes the sale more aggressive scales the sale's part, which is then mostly
prior. The tool says so instead of printing a confident number (docs/traffic_model.md, "Known limitations").

pandas only; used by the traffic reader (a note) and the pipeline (a caveat in the report, on the fitted days).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

MIN_FREE_WEEKDAYS = 4
"""Fewer days than this of a weekday without the event, and the event's lift rests on the prior."""

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class WeekdayBoundEvent:
    """An event type whose days cover (almost) every ``weekday`` of the history: ``free_days`` of them without it."""

    event_type: str
    weekday: str
    event_days: int
    free_days: int

    @property
    def which(self) -> str:
        """"every Thursday" or "all but 2 of the Thursdays"."""
        return f"every {self.weekday}" if self.free_days == 0 else f"all but {self.free_days} of the {self.weekday}s"


def weekday_bound_events(history: pd.DataFrame) -> list[WeekdayBoundEvent]:
    """Event types of ``history`` (the ``read_traffic`` contract) confounded with a weekday, in type order.

    A type is listed for each weekday on which it falls when fewer than :data:`MIN_FREE_WEEKDAYS` observed days of
    that weekday lack it (a Thursday-and-Friday sale every week is listed twice). Days with a missing count do not
    count either way. A type with fewer than two event days is left out: one day identifies nothing anyway.
    """
    if history.empty:
        return []
    observed = history[pd.to_numeric(history["count"], errors="coerce").notna()] if "count" in history else history
    weekday = pd.to_datetime(observed["date"]).dt.day_of_week.to_numpy()
    types = history.attrs.get("event_types")
    if types is None:
        types = [c[len("event_"):] for c in history.columns if c.startswith("event_")]
    out = []
    for typ in types:
        col = f"event_{typ}"
        if col not in observed.columns:
            continue
        flags = pd.to_numeric(observed[col], errors="coerce").fillna(0).to_numpy(dtype=float) > 0
        if flags.sum() < 2:
            continue
        for wd in np.unique(weekday[flags]):
            on_day = weekday == wd
            free = int((on_day & ~flags).sum())
            if free < MIN_FREE_WEEKDAYS:
                out.append(WeekdayBoundEvent(str(typ), WEEKDAY_NAMES[int(wd)], int((on_day & flags).sum()), free))
    return out


def describe(bound: WeekdayBoundEvent) -> str:
    """The reader's note: what is confounded and what to do about it (no posterior numbers)."""
    return (f"event type '{bound.event_type}' falls on {bound.which} in the history: its lift cannot be told apart from the "
            f"{bound.weekday} effect, so a scenario that changes its intensity scales a lift that mostly comes from "
            f"the prior (forecasts at the past intensity are not affected). {bound.weekday}s without a "
            f"{bound.event_type} would pin it down.")
