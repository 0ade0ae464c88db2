"""Intraday peak factor: busiest second of a day over the day's mean second, per regime (normal / event).

What the data can show: with buckets of ``b`` seconds (hourly, 5-minute, ...), the busiest bucket's mean
rate over the day's mean rate. That is a *lower bound* of the per-second factor (a bucket averages over
its own bursts), so the per-second factor is the bucket factor times a burst factor with a documented
prior (``burst_hourly_median`` for hourly buckets, shrinking to 1 at 1-second buckets on a log scale of
the bucket length, log-sd ``burst_sd``).

Per day d of regime r: ``x_d = log(bucket_factor_d - 1) ~ Normal(m_r, s_r)``, with the conjugate
Normal-Inverse-Gamma prior ``s_r^2 ~ InvGamma(peak_a0, peak_b0)``, ``m_r | s_r ~ Normal(peak_m0, s_r^2/peak_kappa0)``.
The posterior is exact, so draws come straight from it (no sampler, no compilation). When the intraday
data has no event day, the event regime is the normal regime shifted by a prior
(``peak_event_shift_mean``, ``peak_event_shift_sd``); without intraday data both regimes are prior draws.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayescap.errors import InputError

HOURLY_SECONDS = 3600.0
MIN_COVERAGE = 0.9  # a day is used only if at least this share of its buckets is present


def bucket_seconds(timestamps: pd.Series) -> float:
    """Bucket length of an intraday series: the median spacing of its timestamps, in seconds."""
    ts = pd.to_datetime(timestamps).sort_values()
    diffs = ts.diff().dt.total_seconds().dropna()
    diffs = diffs[diffs > 0]
    if diffs.empty:
        raise InputError(None, "column 'timestamp'", "at least two distinct intraday timestamps")
    return float(diffs.median())


def daily_bucket_factors(
    intraday: pd.DataFrame,
    event_dates: set[pd.Timestamp] | None = None,
    span: tuple[pd.Timestamp, pd.Timestamp] | None = None,
) -> pd.DataFrame:
    """One row per complete day: ``date``, ``factor`` (busiest bucket / mean bucket), ``regime``.

    Days with fewer than 90% of their buckets are left out (a partial day has no honest mean), and so are days
    outside ``span`` (first, last day of the daily history whose ``event_dates`` give the regimes): whether such a
    day was an event day is unknown, and calling it normal would mix sale-day peaks into the normal days' factor.
    ``attrs["days_outside"]`` counts them.
    """
    for col in ("timestamp", "count"):
        if col not in intraday.columns:
            raise InputError(intraday.attrs.get("path"), f"column '{col}'", "intraday data with columns timestamp, count")
    b = bucket_seconds(intraday["timestamp"])
    df = pd.DataFrame({"timestamp": pd.to_datetime(intraday["timestamp"]), "count": intraday["count"].astype(float)})
    df = df.dropna()
    df["date"] = df["timestamp"].dt.normalize()
    per_day = df.groupby("date")["count"].agg(["max", "mean", "size"])
    expected = 86400.0 / b
    per_day = per_day[(per_day["size"] >= MIN_COVERAGE * expected) & (per_day["mean"] > 0)]
    days_outside = 0
    if span is not None:
        inside = (per_day.index >= pd.Timestamp(span[0]).normalize()) & (per_day.index <= pd.Timestamp(span[1]).normalize())
        days_outside = int((~inside).sum())
        per_day = per_day[inside]
    factor = (per_day["max"] / per_day["mean"]).clip(lower=1.0 + 1e-6)
    events = event_dates or set()
    out = pd.DataFrame(
        {
            "date": per_day.index,
            "factor": factor.to_numpy(),
            "regime": ["event" if d in events else "normal" for d in per_day.index],
        }
    ).reset_index(drop=True)
    out.attrs["bucket_seconds"] = b
    out.attrs["days_outside"] = days_outside
    return out


def burst_log_median(bucket_s: float, priors: dict[str, float]) -> float:
    """log median burst factor for buckets of ``bucket_s`` seconds (0 at 1 s, log(burst_hourly_median) at 1 h)."""
    frac = np.log(max(bucket_s, 1.0)) / np.log(HOURLY_SECONDS)
    return float(np.log(priors["burst_hourly_median"]) * frac)


def _nig_draws(x: np.ndarray, priors: dict[str, float], n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Exact posterior draws (m, s) of a Normal model with the conjugate Normal-Inverse-Gamma prior."""
    m0, k0, a0, b0 = priors["peak_m0"], priors["peak_kappa0"], priors["peak_a0"], priors["peak_b0"]
    k = len(x)
    xbar = float(np.mean(x)) if k else 0.0
    ss = float(np.sum((x - xbar) ** 2)) if k else 0.0
    kn = k0 + k
    mn = (k0 * m0 + k * xbar) / kn
    an = a0 + k / 2.0
    bn = b0 + 0.5 * ss + k0 * k * (xbar - m0) ** 2 / (2.0 * kn)
    s2 = bn / rng.gamma(an, 1.0, size=n)
    m = rng.normal(mn, np.sqrt(s2 / kn))
    return m, np.sqrt(s2)


def peak_posterior(
    table: pd.DataFrame | None, priors: dict[str, float], n_draws: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Draws of ``peak_m`` (n, 2), ``peak_s`` (n, 2) (regimes in ``dims.REGIMES`` order) and ``burst_factor`` (n,)."""
    if table is None or table.empty:
        x_normal = np.empty(0)
        x_event = np.empty(0)
        b = HOURLY_SECONDS
    else:
        x = np.log(table["factor"].to_numpy() - 1.0)
        x_normal = x[(table["regime"] == "normal").to_numpy()]
        x_event = x[(table["regime"] == "event").to_numpy()]
        b = float(table.attrs.get("bucket_seconds", HOURLY_SECONDS))
    m_n, s_n = _nig_draws(x_normal, priors, n_draws, rng)
    if len(x_event) and len(x_normal):
        m_e, s_e = _nig_draws(x_event, priors, n_draws, rng)
    elif len(x_event):  # only event days observed: normal regime is the event regime shifted back
        m_e, s_e = _nig_draws(x_event, priors, n_draws, rng)
        m_n = m_e - rng.normal(priors["peak_event_shift_mean"], priors["peak_event_shift_sd"], size=n_draws)
        s_n = s_e
    else:
        m_e = m_n + rng.normal(priors["peak_event_shift_mean"], priors["peak_event_shift_sd"], size=n_draws)
        s_e = s_n
    burst = np.exp(rng.normal(burst_log_median(b, priors), priors["burst_sd"], size=n_draws))
    return {
        "peak_m": np.stack([m_n, m_e], axis=1),
        "peak_s": np.stack([s_n, s_e], axis=1),
        "burst_factor": burst,
        "bucket_seconds": np.asarray(b),
        "n_days": np.asarray([len(x_normal), len(x_event)]),
    }


def peak_factor_draws(m: np.ndarray, s: np.ndarray, burst: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Per-second peak factor of a day: (1 + exp(m + s*z)) * burst, broadcasting ``z`` (a standard normal)."""
    return (1.0 + np.exp(m + s * z)) * burst
