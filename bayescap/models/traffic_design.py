"""Turn a traffic history DataFrame into the fixed-shape arrays the traffic model is compiled for.

The traffic model is compiled once per *structure* (number of calendar days, knots, event types,
occurrence slots, options) and re-used with new data, so every array here has a shape that depends
only on that structure. Missing days stay on the calendar with ``mask = 0`` (left out of the
likelihood, never filled); occurrence slots beyond the real occurrences are padding that only the
prior touches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayescap.errors import InputError, ModelError
from bayescap.models.traffic_after import is_after_type

DAYS_PER_YEAR = 365.25
YEARLY_MIN_DAYS = 365
WEEKDAY_YEARLY_MIN_DAYS = 700  # about two years (a backtest window of 730 days qualifies even if its first days are missing)
EPOCH = pd.Timestamp("1970-01-01")


def event_types_of(df: pd.DataFrame) -> list[str]:
    """Event types of a history or calendar frame: ``attrs["event_types"]`` or its ``event_<type>`` columns."""
    types = df.attrs.get("event_types")
    if types is None:
        types = [c[len("event_") :] for c in df.columns if c.startswith("event_")]
    return list(types)


def fourier_features(dates: pd.DatetimeIndex | pd.Series, order: int) -> np.ndarray:
    """Yearly Fourier terms (n, 2*order) on absolute time, so features agree between fit and forecast."""
    t = (pd.DatetimeIndex(dates) - EPOCH).days.to_numpy(dtype=float) / DAYS_PER_YEAR
    k = np.arange(1, order + 1)
    arg = 2.0 * np.pi * t[:, None] * k[None, :]
    return np.concatenate([np.sin(arg), np.cos(arg)], axis=1)


def weekday_matrix_of(dates: pd.DatetimeIndex) -> np.ndarray:
    """Sum-to-zero weekday coding (n, 6): Monday..Saturday columns, Sunday = -1 in every column."""
    weekday = pd.DatetimeIndex(dates).day_of_week.to_numpy()
    out = np.zeros((len(weekday), 6))
    rows = np.flatnonzero(weekday < 6)
    out[rows, weekday[rows]] = 1.0
    out[weekday == 6, :] = -1.0
    return out


def weekday_yearly_features(dates: pd.DatetimeIndex, order: int) -> np.ndarray:
    """Weekday x yearly interaction (n, 6 * 2 * order): the weekly pattern may change over the year
    (e.g. a sports page peaks on Mondays only in the season). Empty (n, 0) when ``order`` is 0."""
    n = len(dates)
    if order <= 0:
        return np.zeros((n, 0))
    f = fourier_features(dates, order)
    w = weekday_matrix_of(dates)
    return (w[:, :, None] * f[:, None, :]).reshape(n, 6 * 2 * order)


def occurrence_runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) day index of each run of consecutive flagged days: one run = one event occurrence."""
    runs: list[tuple[int, int]] = []
    start = None
    for i, f in enumerate(flags):
        if f and start is None:
            start = i
        elif not f and start is not None:
            runs.append((start, i - 1))
            start = None
    if start is not None:
        runs.append((start, len(flags) - 1))
    return runs


SINGLE_DAY_NOISE_MIN = 20


def _single_day_noise(option: str, occ_days: list[int], occ_type: list[int]) -> bool:
    """Whether single-day occurrences get no lift of their own (option "noise", or "auto" with a type that has
    more than SINGLE_DAY_NOISE_MIN of them: each adds a dimension to the ridge between occurrence lifts and
    event-day noise, and sampling degrades; a few, as on the Peyton Manning page, are fine pooled)."""
    if option != "auto":
        return option == "noise"
    counts: dict[int, int] = {}
    for days, typ in zip(occ_days, occ_type):
        if days == 1:
            counts[typ] = counts.get(typ, 0) + 1
    return max(counts.values(), default=0) > SINGLE_DAY_NOISE_MIN


def padded_slots(n: int) -> int:
    """Occurrence slots to compile for: a power of two >= n (at least 8), so similar histories share a compiled model."""
    slots = 8
    while slots < n:
        slots *= 2
    return slots


@dataclass(frozen=True)
class TrafficDesign:
    """Arrays for one fit. ``key`` identifies the compiled structure; ``data`` holds the values that vary."""

    dates: pd.DatetimeIndex
    event_types: tuple[str, ...]
    knot_spacing: int
    n_knots: int
    fourier_order: int
    weekday_yearly_order: int
    n_slots: int
    n_occ: int
    occ_type: np.ndarray  # (n_occ,) type index of each real occurrence
    occ_first_date: tuple[pd.Timestamp, ...]
    competitor_effect: bool
    data: dict[str, np.ndarray]

    @property
    def key(self) -> tuple:
        return (
            len(self.dates),
            self.n_knots,
            self.knot_spacing,
            self.fourier_order,
            self.weekday_yearly_order,
            len(self.event_types),
            self.n_slots,
        )


def build_design(
    history: pd.DataFrame,
    *,
    competitor_events: str,
    knot_spacing: int,
    fourier_order: int,
    weekday_yearly_order: int = 0,
    single_day_lifts: str = "auto",
) -> TrafficDesign:
    """Arrays for :func:`bayescap.models.traffic.fit_traffic` from a history frame (input contract of ``read_traffic``).

    Missing days (absent rows or NaN counts) and, with ``competitor_events="exclude"``, competitor days
    are kept on the calendar but masked out of the likelihood.
    """
    if competitor_events not in ("effect", "exclude"):
        raise ModelError(f"competitor_events must be 'effect' or 'exclude', got {competitor_events!r}")
    path = history.attrs.get("path")
    for col in ("date", "count"):
        if col not in history.columns:
            raise InputError(path, f"column '{col}'", "a traffic history with columns date, count, event_<type>")
    hist = history.dropna(subset=["date"]).sort_values("date")
    dates_obs = pd.DatetimeIndex(pd.to_datetime(hist["date"])).normalize()
    if dates_obs.has_duplicates:
        raise InputError(path, "column 'date'", "unique dates (one row per day)")
    if len(dates_obs) < 28:
        raise ModelError(f"the traffic history has {len(dates_obs)} days; the model needs at least 28")
    dates = pd.date_range(dates_obs[0], dates_obs[-1], freq="D")
    n = len(dates)
    pos = dates.get_indexer(dates_obs)

    count = np.full(n, np.nan)
    count[pos] = pd.to_numeric(hist["count"], errors="coerce").to_numpy(dtype=float)
    if np.any(count[np.isfinite(count)] <= 0):
        raise InputError(path, "column 'count'", "positive daily counts (a zero-traffic day cannot be logged)")
    mask = np.isfinite(count)

    competitor = np.zeros(n)
    if "competitor_event" in hist.columns:
        competitor[pos] = hist["competitor_event"].fillna(0).to_numpy(dtype=float)
    use_competitor_effect = competitor_events == "effect" and competitor.any()
    if competitor_events == "exclude":
        mask &= competitor == 0
    if mask.sum() < 28:
        raise ModelError(f"only {int(mask.sum())} usable days remain after leaving out missing and excluded days")

    types = event_types_of(history)
    flags = np.zeros((n, len(types)), dtype=bool)
    for j, typ in enumerate(types):
        col = f"event_{typ}"
        if col not in hist.columns:
            raise InputError(path, f"column '{col}'", f"a 0/1 column for event type '{typ}'")
        flags[pos, j] = hist[col].fillna(0).to_numpy(dtype=float) > 0

    occ_type: list[int] = []
    occ_first: list[pd.Timestamp] = []
    runs_by_type = [occurrence_runs(flags[:, j]) for j in range(len(types))]
    n_occ = sum(len(r) for r in runs_by_type)
    slots = padded_slots(n_occ)
    # occ_idx[t, j] = slot of the occurrence of type j covering day t, or `slots` (a zero lift) if none
    occ_idx = np.full((n, max(len(types), 1)), slots, dtype=np.int64)
    k = 0
    for j, runs in enumerate(runs_by_type):
        for first, last in runs:
            occ_idx[first : last + 1, j] = k
            occ_type.append(j)
            occ_first.append(dates[first])
            k += 1
    slot_type = np.zeros(slots, dtype=np.int64)
    slot_type[:n_occ] = occ_type
    # 1 for occurrences spanning several days: only those can show an occurrence lift apart from day noise
    occ_days = [last - first + 1 for runs in runs_by_type for first, last in runs]
    slot_multiday = np.zeros(slots)
    slot_multiday[:n_occ] = np.asarray(occ_days, dtype=float) > 1 if n_occ else []

    # yearly terms only when the history can show them (like Prophet's "auto"): a yearly cycle needs a year,
    # a weekly pattern that changes over the year needs two
    fourier_order = fourier_order if n >= YEARLY_MIN_DAYS else 0
    weekday_yearly_order = min(weekday_yearly_order, fourier_order) if n >= WEEKDAY_YEARLY_MIN_DAYS else 0
    n_knots = (n - 1) // knot_spacing + 2
    t = np.arange(n)
    weekday = dates.day_of_week.to_numpy()
    y = np.where(mask, np.log(np.where(np.isfinite(count), count, 1.0)), 0.0)
    # Dense design matrices, so that the compiled log-density is a handful of matrix products (quick to
    # compile with numba, quick to differentiate); `knot_matrix` interpolates the level between knots.
    interp = np.zeros((n, n_knots))
    interp[t, t // knot_spacing] = 1.0 - (t % knot_spacing) / knot_spacing
    interp[t, t // knot_spacing + 1] += (t % knot_spacing) / knot_spacing
    # weekday effects with sum-to-zero coding: 6 free effects (Mon..Sat), Sunday = -(their sum)
    weekday_matrix = weekday_matrix_of(dates)
    occ_matrix = np.zeros((n, slots + 1))
    for j in range(occ_idx.shape[1]):
        occ_matrix[t, occ_idx[:, j]] += 1.0
    occ_matrix = occ_matrix[:, :slots]
    n_types = max(len(types), 1)
    slot_type_matrix = np.zeros((slots, n_types))
    slot_type_matrix[np.arange(slots), slot_type] = 1.0
    fourier = fourier_features(dates, fourier_order)
    data = {
        "y": y,
        "mask": mask.astype(float),
        "prev_mask": np.concatenate([[0.0], mask[:-1].astype(float)]),
        "knot_matrix": interp,
        "weekday_matrix": weekday_matrix,
        "fourier": fourier,
        "weekday_yearly": weekday_yearly_features(dates, weekday_yearly_order),
        "occ_matrix": occ_matrix,
        "type_matrix": occ_matrix @ slot_type_matrix,
        "slot_type_matrix": slot_type_matrix,
        "slot_free": slot_multiday if _single_day_noise(single_day_lifts, occ_days, occ_type) else np.ones(slots),
        # the event-day regime (own noise scale, Gaussian): flagged events only; an after-day (traffic_after.py) has a
        # lift of its own but the noise of a normal day
        "is_event": flags[:, [j for j, typ in enumerate(types) if not is_after_type(typ)]].any(axis=1).astype(float),
        "competitor": competitor,
        "competitor_weight": np.array(1.0 if use_competitor_effect else 0.0),
        "y_center": np.array(np.median(y[mask])),
        # for the numpy twin and the forecast (not used by the compiled graph)
        "knot_index": (t // knot_spacing).astype(np.int64),
        "knot_weight": (t % knot_spacing) / knot_spacing,
        "weekday_index": weekday.astype(np.int64),
        "occ_idx": occ_idx,
        "slot_type": slot_type,
    }
    return TrafficDesign(
        dates=dates,
        event_types=tuple(types),
        knot_spacing=knot_spacing,
        n_knots=n_knots,
        fourier_order=fourier_order,
        weekday_yearly_order=int(weekday_yearly_order),
        n_slots=slots,
        n_occ=n_occ,
        occ_type=np.asarray(occ_type, dtype=np.int64),
        occ_first_date=tuple(occ_first),
        competitor_effect=bool(use_competitor_effect),
        data=data,
    )


def noncentred_walk(level_param: str) -> bool:
    """Option ``level_param``: "centred" (default) or "noncentred" (steps = rw_sd × standard normal z).

    There was an "auto" rule (non-centred when the level barely moves). Since the centred walk samples in
    coordinates that follow its scale, it is the better one there too: on smooth synthetic levels the non-centred walk
    gave 6–150 divergences and 2–7 times the sampling time, the centred one none (docs/traffic_model.md, "Level").
    """
    return level_param == "noncentred"
