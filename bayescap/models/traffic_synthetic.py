"""Histories simulated from the traffic model's own generative story, with the true parameters.

Used by the tests (recovery, regimes, options) and the benchmark (cost vs history length). numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class EventSpec:
    """A recurring event type: every ``every_weeks`` weeks on ``weekday`` (0 = Monday), lasting ``days`` days."""

    weekday: int
    every_weeks: int = 2  # every week on one weekday would be indistinguishable from a weekday effect
    days: int = 1
    lift_mean: float = 0.7  # log lift of the type's typical occurrence
    lift_sd: float = 0.2  # spread of occurrences' log lifts
    offset_weeks: int = 0


@dataclass(frozen=True)
class SyntheticTruth:
    """True parameters of a simulated history (log scale unless named otherwise)."""

    level: float = float(np.log(5000.0))
    rw_sd_per_week: float = 0.08
    weekday: tuple[float, ...] = (0.10, 0.12, 0.08, 0.05, 0.0, -0.15, -0.20)
    yearly_amplitude: float = 0.15
    sigma_normal: float = 0.10
    sigma_event: float = 0.30
    nu: float = 30.0
    phi: float = 0.3
    competitor_drop: float = 0.0  # log drop on competitor days
    competitor_every_days: int = 0  # 0 = no competitor days
    events: dict[str, EventSpec] = field(default_factory=lambda: {"sale": EventSpec(weekday=3, days=2)})
    peak_m: tuple[float, float] = (0.0, 0.5)  # normal, event: mean of log(hourly peak factor - 1)
    peak_s: float = 0.2
    # level: 0 = a daily random walk (a history the model only approximates); k = a walk on knots every k days,
    # linearly interpolated between them, as the model's level (knot_spacing 7), for recovery studies
    knot_spacing: int = 0


def simulate_history(
    n_days: int, *, truth: SyntheticTruth | None = None, start: str = "2024-01-01", seed: int
) -> tuple[pd.DataFrame, dict]:
    """A daily history in the ``read_traffic`` contract and the realised truth (occurrence lifts, ...)."""
    truth = truth or SyntheticTruth()
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=n_days, freq="D")
    t = np.arange(n_days)
    if truth.knot_spacing > 0:
        k = int(truth.knot_spacing)
        steps = rng.normal(0.0, truth.rw_sd_per_week * np.sqrt(k / 7.0), n_days // k + 1)
        knots = truth.level + np.concatenate([[0.0], np.cumsum(steps)])
        w = (t % k) / k
        level = knots[t // k] * (1.0 - w) + knots[t // k + 1] * w
    else:
        level = truth.level + np.cumsum(rng.normal(0.0, truth.rw_sd_per_week / np.sqrt(7.0), n_days))
    doy = dates.day_of_year.to_numpy()
    mu = level + np.asarray(truth.weekday)[dates.day_of_week] + truth.yearly_amplitude * np.sin(2 * np.pi * doy / 365.25)
    df = pd.DataFrame({"date": dates})
    is_event = np.zeros(n_days, dtype=bool)
    occ_lifts: dict[str, list[float]] = {}
    for typ, spec in truth.events.items():
        flags = np.zeros(n_days, dtype=int)
        lifts = []
        first_days = np.flatnonzero(dates.day_of_week == spec.weekday)
        for k, d0 in enumerate(first_days):
            if (k - spec.offset_weeks) % spec.every_weeks != 0 or k < spec.offset_weeks:
                continue
            lift = rng.normal(spec.lift_mean, spec.lift_sd)
            days = np.arange(d0, min(d0 + spec.days, n_days))
            if np.any(flags[days]) or np.any(is_event[days]):
                continue
            flags[days] = 1
            mu[days] += lift
            lifts.append(lift)
        is_event |= flags.astype(bool)
        df[f"event_{typ}"] = flags
        occ_lifts[typ] = lifts
    competitor = np.zeros(n_days, dtype=int)
    if truth.competitor_every_days:
        competitor[(t % truth.competitor_every_days == 5) & ~is_event] = 1
        mu = mu - truth.competitor_drop * competitor
    scale = np.where(is_event, truth.sigma_event, truth.sigma_normal)
    t_noise = rng.standard_t(truth.nu, n_days)
    eps = np.where(is_event, rng.standard_normal(n_days), t_noise) * scale  # as the model: Gaussian on event days
    r = np.empty(n_days)
    prev = 0.0
    for i in range(n_days):
        prev = truth.phi * prev + eps[i]
        r[i] = prev
    df["count"] = np.round(np.exp(mu + r))
    df["competitor_event"] = competitor
    df = df[["date", "count", *[f"event_{k}" for k in truth.events], "competitor_event"]]
    df.attrs["event_types"] = list(truth.events)
    df.attrs["path"] = "<synthetic>"
    return df, {"occurrence_lifts": occ_lifts, "is_event": is_event, "truth": truth}


def simulate_intraday(
    history: pd.DataFrame, *, truth: SyntheticTruth | None = None, days: int = 28, seed: int
) -> pd.DataFrame:
    """Hourly counts for the last ``days`` days of ``history`` whose busiest hour / mean hour follows the truth.

    Each day's hourly factor f = 1 + exp(m_regime + s*z) is made exact: 23 equal hours and one peak hour.
    """
    truth = truth or SyntheticTruth()
    rng = np.random.default_rng(seed)
    tail = history.tail(days)
    event_cols = [c for c in history.columns if c.startswith("event_")]
    rows = []
    for _, row in tail.iterrows():
        regime = int(any(row[c] > 0 for c in event_cols))
        f = 1.0 + np.exp(truth.peak_m[regime] + truth.peak_s * rng.standard_normal())
        f = min(f, 20.0)
        base = row["count"] * (24.0 - f) / (23.0 * 24.0)
        peak = row["count"] * f / 24.0
        hours = np.full(24, base)
        hours[19] = peak
        stamps = pd.date_range(row["date"], periods=24, freq="h")
        rows.append(pd.DataFrame({"timestamp": stamps, "count": hours}))
    return pd.concat(rows, ignore_index=True)
