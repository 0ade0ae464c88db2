"""Parameter recovery on data simulated from the prior (slow: about 100 fits; run with `make test-all`)."""

from __future__ import annotations

import pytest

from bench.capacity import recovery


@pytest.mark.slow
def test_90_intervals_cover_the_truth_85_to_95_percent(seed):
    res = recovery(n_datasets=100, seed=seed)
    assert res["n_intervals"] == 300
    for param, share in res["coverage"].items():
        assert 0.85 <= share <= 0.95, (param, share)
