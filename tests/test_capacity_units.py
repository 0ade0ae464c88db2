"""Capacity model pieces that need no sampling: priors, design, ceilings, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayescap.errors import InputError, ModelError
from bayescap.models.capacity_data import build_design, detect_ceiling, exclude_ceiling_points
from bayescap.models.capacity_priors import DEFAULT_PRIORS, merge_priors


def _frame(**over) -> pd.DataFrame:
    base = {"tier": ["web"] * 4, "config": ["a"] * 4, "n": [1.0, 2.0, 4.0, 8.0], "throughput": [100.0, 190.0, 350.0, 600.0]}
    base.update(over)
    return pd.DataFrame(base)


def test_merge_priors_overrides_without_mutating_defaults():
    merged = merge_priors({"noise_rel_sd": 0.2})
    assert merged["noise_rel_sd"] == 0.2
    assert DEFAULT_PRIORS["noise_rel_sd"] == 0.1
    assert set(merged) == set(DEFAULT_PRIORS)


@pytest.mark.parametrize(
    ("override", "match"),
    [({"sigma_alpha": 2.0}, "unknown capacity prior 'sigma_alpha'"), ({"noise_rel_sd": -1}, "must be > 0"), ({"noise_power": 2}, r"\[0, 1\]"), ({"loglam_mu_sd": "x"}, "must be a number")],
)
def test_bad_priors_are_refused(override, match):
    with pytest.raises(ModelError, match=match):
        merge_priors(override)


def test_design_scales_are_unit_free():
    p = merge_priors()
    small = build_design(_frame(), p)
    big = build_design(_frame(throughput=[1e6 * x for x in (100.0, 190.0, 350.0, 600.0)]), p)
    # everything but the log scale is identical when throughput is in other units
    assert np.isclose(big.arrays["cfg_log_scale"][0] - small.arrays["cfg_log_scale"][0], np.log(1e6))
    np.testing.assert_allclose(big.arrays["noise_ref"] / small.arrays["noise_ref"], 1e6)
    np.testing.assert_array_equal(big.arrays["cfg_n_max"], [8.0])


def test_design_does_not_mutate_input_and_indexes_cluster_rows():
    df = pd.concat([_frame(), pd.DataFrame({"tier": ["web"] * 3, "config": ["a"] * 3, "level": ["cluster"] * 3, "n": [1.0, 2.0, 4.0], "throughput": [600.0, 1150.0, 2200.0]})], ignore_index=True)
    before = df.copy()
    d = build_design(df, merge_priors())
    pd.testing.assert_frame_equal(df, before)
    assert d.arrays["is_cluster"].tolist() == [0, 0, 0, 0, 1, 1, 1]
    assert d.arrays["cluster_n_ref"].tolist() == [4.0]
    assert d.configs == ("a",)


@pytest.mark.parametrize(
    ("frame", "err", "match"),
    [
        (_frame(throughput=[100.0, -1.0, 350.0, 600.0]), InputError, "row 1, column 'throughput'"),
        (_frame(n=[0.5, 2.0, 4.0, 8.0]), InputError, "column 'n'"),
        (_frame().drop(columns="tier"), InputError, "missing \\['tier'\\]"),
        (_frame().assign(level="rack"), InputError, "'node' or 'cluster'"),
        (_frame().assign(level="cluster"), ModelError, "no node-level rows"),
    ],
)
def test_bad_loadtest_frames(frame, err, match):
    with pytest.raises(err, match=match):
        build_design(frame, merge_priors())


def test_detect_ceiling_only_flags_flat_tails():
    flat = _frame(n=[1.0, 2.0, 4.0, 8.0, 16.0, 32.0], throughput=[33.0, 62.0, 88.7, 91.6, 91.6, 91.7], tier=["t"] * 6, config=["c"] * 6)
    peak = _frame(n=[1.0, 2.0, 4.0, 8.0, 16.0, 32.0], throughput=[10.0, 19.0, 35.0, 60.0, 80.0, 70.0], tier=["t"] * 6, config=["d"] * 6)
    found = detect_ceiling(pd.concat([flat, peak], ignore_index=True))
    assert found["config"].tolist() == ["c"]
    assert found["n_from"].tolist() == [8.0]
    kept = exclude_ceiling_points(flat, found)
    assert kept["n"].tolist() == [1.0, 2.0, 4.0, 8.0]


def test_config_name_in_two_tiers_gets_a_tier_label():
    df = pd.concat([_frame(), _frame(tier=["api"] * 4), _frame(config=["b"] * 4)], ignore_index=True)
    d = build_design(df, merge_priors())
    assert d.configs == ("web/a", "api/a", "b")
    assert d.config_name == ("a", "a", "b")
    assert d.arrays["cfg_idx"].tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert d.obs_config[:5] == ("web/a",) * 4 + ("api/a",)
