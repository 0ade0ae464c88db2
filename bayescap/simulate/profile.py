"""The daily (hourly) traffic shape used to cost an autoscaled fleet.

The traffic model forecasts one number per day: visits and the day's peak factor
(busiest second over the mean second). An autoscaler follows demand hour by hour,
so its cost needs a shape within the day. We use a fixed 24-value profile ``p_h``
(mean 1 over the day) and assume the busiest second of hour ``h`` is
``peak_rps * p_h / max(p)``: the busiest hour holds the day's peak second and
lighter hours scale with their mean rate. So hours below the peak need fewer
servers, and the peak hour needs exactly the static answer for that day.

Default: ``p_h = 1 + 0.4 cos(2 pi (h - 18) / 24)``: evening peak at 18:00, trough
at 06:00, trough/peak = 0.43. That ratio and the evening peak match the hourly
means of the public AWS ELB request-count series in ``data/real/traffic``
(trough/peak 0.44, busiest hours 17-20). Give your own shape with
:func:`hourly_profile_from_intraday` when you have hourly logs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayescap.errors import InputError

HOURS = 24
DEFAULT_AMPLITUDE = 0.4
DEFAULT_PEAK_HOUR = 18


def cosine_profile(amplitude: float = DEFAULT_AMPLITUDE, peak_hour: float = DEFAULT_PEAK_HOUR) -> np.ndarray:
    """24 hourly rate multipliers (mean 1) of a one-harmonic daily cycle."""
    if not 0.0 <= amplitude < 1.0:
        raise InputError(None, "hourly profile amplitude", f"a number in [0, 1), got {amplitude!r}")
    h = np.arange(HOURS, dtype=float)
    return 1.0 + amplitude * np.cos(2.0 * np.pi * (h - peak_hour) / HOURS)


def hourly_profile_from_intraday(intraday: pd.DataFrame) -> np.ndarray:
    """Mean share of traffic per hour of day from an intraday table (``timestamp``, ``count``).

    Returns 24 multipliers with mean 1 (hour 0 first). Every hour of the day must
    appear at least once, otherwise the shape is unknown there.
    """
    for col in ("timestamp", "count"):
        if col not in intraday.columns:
            raise InputError(intraday.attrs.get("path"), f"column '{col}'", "an intraday table with timestamp,count")
    ts = pd.to_datetime(intraday["timestamp"])
    per_hour = intraday["count"].astype(float).groupby(ts.dt.hour).mean().reindex(range(HOURS))
    if per_hour.isna().any():
        missing = [int(h) for h in per_hour.index[per_hour.isna()]]
        raise InputError(intraday.attrs.get("path"), "column 'timestamp'", f"counts for every hour of the day; none for hours {missing}")
    return validate_profile(per_hour.to_numpy())


def validate_profile(profile) -> np.ndarray:
    """Check a 24-value profile (positive, finite) and rescale it to mean 1."""
    p = np.asarray(profile, dtype=float)
    if p.shape != (HOURS,) or not np.all(np.isfinite(p)) or np.any(p <= 0):
        raise InputError(None, "hourly profile", "24 positive finite numbers (hour 0 first)")
    return p / p.mean()


def lagged_hour_weights(profile, lag_hours: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct demand fractions of the hours an autoscaler must cover, and how many hours each.

    A new server takes ``lag_hours`` to come into service, so to serve hour ``h``
    it must be ordered by ``h - lag``: the fleet running in hour ``h`` must cover
    the busiest of hours ``h .. h + lag`` (scale-up starts early; scale-down happens
    as soon as the coming hours allow it). The profile is treated as periodic (the
    next morning looks like this one). Returns ``(fractions, hours)``: fractions of
    the day's peak demand (``<= 1``; exactly 1 for the peak) and the number of
    hours at each, summing to 24.
    """
    if lag_hours < 0:
        raise InputError(None, "fleet.provisioning_lag_hours", f"a whole number >= 0, got {lag_hours!r}")
    p = validate_profile(profile)
    s = p / p.max()
    window = np.stack([np.roll(s, -j) for j in range(min(int(lag_hours), HOURS - 1) + 1)])
    w = window.max(axis=0)
    fractions, hours = np.unique(np.round(w, 12), return_counts=True)
    return fractions, hours.astype(float)
