"""The traffic fit on kinds of history a user brings that the Peyton Manning page and the recovery study do not cover:
a level that barely moves, four years, many missing days, a x10 sale every Thursday, news spikes, steady growth, no
events. Each must sample cleanly at the fit's defaults (slow: about a minute; `make test-all`).

Before the random walk was always centred, six of these gave 1-150 divergences and 1,460 days took 132 s
(docs/traffic_model.md, "Level").
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayescap.models.traffic import diagnostics, fit_traffic

SEED = 20261126


def history(n: int, *, seed: int = 7, growth: float = 0.0, walk: float = 0.01, lift: float = 0.8,
            sale: str = "thursday", missing: float = 0.0, jump: float = 0.0, spikes: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2023-01-01", periods=n, freq="D")
    t = np.arange(n)
    level = 9.0 + growth * t / 365 + np.cumsum(rng.normal(0.0, walk, n)) + np.where(t >= 0.7 * n, jump, 0.0)
    weekday = 0.15 * np.sin(2 * np.pi * dates.day_of_week.to_numpy() / 7)
    is_sale = dates.day_of_week.to_numpy() == 3 if sale == "thursday" else np.zeros(n, dtype=bool)
    y = level + weekday + lift * is_sale + rng.normal(0.0, 0.12, n)
    if spikes:
        y[rng.choice(n, spikes, replace=False)] += rng.uniform(1.0, 2.5, spikes)
    df = pd.DataFrame({"date": dates, "count": np.round(np.exp(y)), "event_sale": is_sale.astype(int), "competitor_event": 0})
    if missing:
        df = df.drop(index=rng.choice(n, int(missing * n), replace=False)).reset_index(drop=True)
    df.attrs["event_types"] = ["sale"]
    return df


CASES = {
    "level that does not move, 730 days": {"n": 730, "walk": 0.0},
    "1,460 days": {"n": 1460},
    "120 days, 30% missing": {"n": 120, "missing": 0.3},
    "x10 sale every Thursday": {"n": 730, "lift": float(np.log(10))},
    "15 news spikes": {"n": 730, "walk": 0.03, "spikes": 15},
    "growth x3 a year, 400 days": {"n": 400, "growth": float(np.log(3))},
    "level jumps x3": {"n": 500, "jump": float(np.log(3))},
    "no events, 200 days": {"n": 200, "sale": "none"},
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_the_fit_samples_cleanly_on_other_kinds_of_history(case):
    fit = fit_traffic(history(**CASES[case]), seed=1)
    checks = diagnostics(fit)
    assert checks["divergences"] == 0, case
    assert checks["max_r_hat"] <= 1.01, case
