"""Recovery study of the traffic model: fit histories simulated with known parameters, check the intervals.

Each replicate draws its own true parameters (noise scales, the sale's lift, the intraday peak-factor locations),
simulates a 365-day history with a two-day sale every other Thursday and 56 days of hourly counts
(:mod:`bayescap.models.traffic_synthetic`), fits it, and records the posterior quantiles of each checked parameter
next to its true value. Used by the slow test (``tests/test_traffic_recovery.py``, 40 replicates) and by
``make bench ARGS=traffic`` (more replicates, so that a coverage share means something).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from bayescap.models.traffic import diagnostics, fit_traffic
from bayescap.models.traffic_synthetic import EventSpec, SyntheticTruth, simulate_history, simulate_intraday

N_DAYS = 365
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)  # central 50% and 90% intervals and the median
# parameter -> (posterior variable, selection) ; the true value comes from the replicate's SyntheticTruth
CHECKED = {
    "lift_mean": ("lift_mean", {"event_type": "sale"}),
    "lift_sd": ("lift_sd", {"event_type": "sale"}),
    "sigma_event": ("sigma_event", {}),
    "sigma_normal": ("sigma_normal", {}),
    "phi": ("phi", {}),
    "peak_m_normal": ("peak_m", {"regime": "normal"}),
    "peak_m_event": ("peak_m", {"regime": "event"}),
}


def random_truth(rng: np.random.Generator) -> SyntheticTruth:
    """True parameters of one replicate, spread over plausible values."""
    return SyntheticTruth(
        sigma_normal=float(rng.uniform(0.06, 0.15)),
        sigma_event=float(rng.uniform(0.2, 0.4)),
        peak_m=(float(rng.normal(0.0, 0.3)), float(rng.normal(0.5, 0.3))),
        events={"sale": EventSpec(weekday=3, days=2, lift_mean=float(rng.uniform(0.3, 1.0)), lift_sd=0.2)},
        knot_spacing=7,  # the model's own level: a walk on weekly knots, linearly interpolated
    )


def _true_value(truth: SyntheticTruth, name: str) -> float:
    sale = truth.events["sale"]
    return {
        "lift_mean": sale.lift_mean, "lift_sd": sale.lift_sd, "sigma_event": truth.sigma_event,
        "sigma_normal": truth.sigma_normal, "phi": truth.phi, "peak_m_normal": truth.peak_m[0],
        "peak_m_event": truth.peak_m[1],
    }[name]


def recovery_study(replicates: int, *, seed: int = 20261126, draws: int = 1000, tune: int = 1000) -> pd.DataFrame:
    """One row per replicate and checked parameter: ``replicate``, ``parameter``, ``truth``, the posterior quantiles
    ``q05`` … ``q95``, and the fit's ``divergences``, ``max_r_hat`` and ``seconds``."""
    rows = []
    for rep in range(replicates):
        rng = np.random.default_rng([seed, rep])  # replicate rep is the same whatever the number of replicates
        truth = random_truth(rng)
        history_seed, intraday_seed, fit_seed = (int(v) for v in rng.integers(0, 2**31, size=3))
        df, _ = simulate_history(N_DAYS, truth=truth, seed=history_seed)
        intraday = simulate_intraday(df, truth=truth, days=56, seed=intraday_seed)
        t0 = time.perf_counter()
        idata = fit_traffic(df, intraday=intraday, draws=draws, tune=tune, chains=2, seed=fit_seed)
        seconds = time.perf_counter() - t0
        diag = diagnostics(idata)
        post = idata["posterior"]
        for name, (var, sel) in CHECKED.items():
            values = post[var].sel(sel).values.ravel()
            q = np.quantile(values, QUANTILES)
            rows.append({"replicate": rep, "parameter": name, "truth": _true_value(truth, name),
                         **{f"q{round(100 * p):02d}": float(v) for p, v in zip(QUANTILES, q)},
                         "divergences": diag["divergences"], "max_r_hat": diag["max_r_hat"], "seconds": seconds})
    return pd.DataFrame(rows)


def coverage_table(study: pd.DataFrame) -> pd.DataFrame:
    """Per parameter: the share of replicates whose central 50% and 90% intervals cover the truth, the binomial
    standard error of the 90% share, and the mean error of the posterior median (``bias``)."""
    s = study.assign(
        in50=(study["q25"] <= study["truth"]) & (study["truth"] <= study["q75"]),
        in90=(study["q05"] <= study["truth"]) & (study["truth"] <= study["q95"]),
        error=study["q50"] - study["truth"],
    )
    out = s.groupby("parameter", sort=False).agg(n=("in90", "size"), cov50=("in50", "mean"), cov90=("in90", "mean"),
                                                  bias=("error", "mean"))
    out["se90"] = np.sqrt(out["cov90"] * (1.0 - out["cov90"]) / out["n"])
    return out.reset_index()
