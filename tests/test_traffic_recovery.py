"""Slow recovery study: data simulated from the model; do 90% intervals cover the truth about 90% of the time?

Parameters checked per replicate: the event type's mean log-lift, the event-day and normal-day noise scales,
and the peak-factor location of both regimes. Run with ``make test-all`` (or ``pytest -m slow``).
"""

from __future__ import annotations

import numpy as np
import pytest

from bayescap.models.traffic import fit_traffic
from bayescap.models.traffic_synthetic import EventSpec, SyntheticTruth, simulate_history, simulate_intraday

REPLICATES = 8
N_DAYS = 365


@pytest.mark.slow
def test_recovery_coverage():
    hits: dict[str, list[bool]] = {}
    rng = np.random.default_rng(20261126)
    for rep in range(REPLICATES):
        truth = SyntheticTruth(
            sigma_normal=float(rng.uniform(0.06, 0.15)),
            sigma_event=float(rng.uniform(0.2, 0.4)),
            peak_m=(float(rng.normal(0.0, 0.3)), float(rng.normal(0.5, 0.3))),
            events={"sale": EventSpec(weekday=3, days=2, lift_mean=float(rng.uniform(0.3, 1.0)), lift_sd=0.2)},
        )
        df, _ = simulate_history(N_DAYS, truth=truth, seed=100 + rep)
        intraday = simulate_intraday(df, truth=truth, days=56, seed=200 + rep)
        idata = fit_traffic(df, intraday=intraday, draws=500, tune=700, chains=2, seed=300 + rep)
        post = idata["posterior"]
        checks = {
            "lift_mean": (post["lift_mean"].sel(event_type="sale"), truth.events["sale"].lift_mean),
            "sigma_event": (post["sigma_event"], truth.sigma_event),
            "sigma_normal": (post["sigma_normal"], truth.sigma_normal),
            "peak_m_normal": (post["peak_m"].sel(regime="normal"), truth.peak_m[0]),
            "peak_m_event": (post["peak_m"].sel(regime="event"), truth.peak_m[1]),
        }
        for name, (draws, value) in checks.items():
            lo, hi = np.quantile(draws.values.ravel(), [0.05, 0.95])
            hits.setdefault(name, []).append(bool(lo <= value <= hi))
    coverage = {name: float(np.mean(h)) for name, h in hits.items()}
    overall = float(np.mean([x for h in hits.values() for x in h]))
    print(f"90% interval coverage over {REPLICATES} replicates: {coverage}; overall {overall:.2f}")
    assert overall >= 0.75
    assert all(c >= 0.5 for c in coverage.values())
