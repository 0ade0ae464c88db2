"""Slow recovery study: data simulated from the model; do the 50% and 90% intervals cover the truth as often as
they claim?

40 replicates (about a minute): each draws its own true parameters and simulates a 365-day history from the model's
generative story (bayescap/models/traffic_recovery.py). Checked: the sale's mean log-lift and spread, the event-day
and normal-day noise scales, the AR coefficient and the peak-factor location of both regimes. With 40 replicates a
share's standard error is 0.047 at 90% and 0.079 at 50%; the bounds below sit about 3 of them from nominal, so a
model whose intervals are half as wide as they should be (about 0.59 and 0.26) fails. Run with ``make test-all``
(or ``pytest -m slow``); ``make bench ARGS=traffic`` prints the same table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayescap.models.traffic_recovery import CHECKED, coverage_table, recovery_study

REPLICATES = 40


@pytest.mark.slow
def test_recovery_coverage():
    table = coverage_table(recovery_study(REPLICATES)).set_index("parameter")
    print(table.to_string())
    assert set(table.index) == set(CHECKED)
    assert (table["n"] == REPLICATES).all()
    assert table["cov90"].between(0.75, 1.0).all(), table["cov90"]
    assert table["cov50"].between(0.25, 0.75).all(), table["cov50"]
    assert 0.85 <= table["cov90"].mean() <= 0.95


def test_coverage_table_counts_intervals_that_hold_the_truth():
    study = pd.DataFrame({
        "parameter": ["a", "a", "a", "a"], "truth": [0.0, 0.0, 0.0, 2.0],
        "q05": [-1.0, -1.0, 0.5, -1.0], "q25": [-0.5, 0.1, 0.6, -0.5], "q50": [0.0, 0.2, 0.7, 0.0],
        "q75": [0.5, 0.3, 0.8, 0.5], "q95": [1.0, 1.0, 0.9, 1.0],
    })
    row = coverage_table(study).iloc[0]
    assert row["n"] == 4
    assert row["cov90"] == 0.5 and row["cov50"] == 0.25
    assert np.isclose(row["bias"], (0.0 + 0.2 + 0.7 - 2.0) / 4)
    assert np.isclose(row["se90"], 0.25)
