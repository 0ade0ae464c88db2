"""How sure a backtest is: the block bootstrap's resamples, its intervals' coverage on simulated dependent days, the
paired comparison of two methods, and ``bayescap backtest --compare-to`` (bayescap.backtest.uncertainty, .against)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bayescap.backtest.against import check_same_days, read_earlier_backtest
from bayescap.backtest.run import compare_methods
from bayescap.backtest.uncertainty import (
    BLOCK_DAYS,
    block_resample_indices,
    expanded_tail,
    paired_difference,
    rel_crps_interval,
)
from bayescap.commands._common import REPO_ROOT
from bayescap.errors import InputError

PEYTON = REPO_ROOT / "data" / "real" / "traffic" / "traffic_wikipedia_peyton_manning.csv"


def test_resamples_are_whole_blocks_of_consecutive_days():
    idx = block_resample_indices(30, rng=np.random.default_rng(1), block=7, n_resamples=50)
    assert idx.shape == (50, 30) and idx.min() >= 0 and idx.max() < 30
    for row in idx:
        for start in range(0, 28, 7):  # each block steps by one day, wrapping after the last
            block = row[start:start + 7]
            assert np.all(np.diff(block) % 30 == 1)


def test_expanded_interval_is_wider_with_fewer_blocks():
    assert expanded_tail(0.9, 8) < expanded_tail(0.9, 16) < expanded_tail(0.9, 150) < 0.05
    assert expanded_tail(0.9, 150) == pytest.approx(0.05, abs=0.002)


def _ar(n: int, rng: np.random.Generator, phi: float) -> np.ndarray:
    e = rng.standard_normal(n + 100)
    x = np.zeros(n + 100)
    for t in range(1, n + 100):
        x[t] = phi * x[t - 1] + np.sqrt(1.0 - phi**2) * e[t]
    return x[100:]


def _days(n: int, rng: np.random.Generator, phi_level: float = 0.6, phi_score: float = 0.45):
    """Daily actuals with a persistent level and two methods' CRPS, B's 10% worse on average, both dependent from day
    to day like the Peyton Manning test days' (lag-1 correlation of log CRPS / actual about 0.45)."""
    y = np.exp(8.0 + 0.3 * _ar(n, rng, phi_level))
    a = y * np.exp(-2.0 + 0.6 * _ar(n, rng, phi_score))
    b = a * np.exp(0.1 + 0.3 * _ar(n, rng, phi_score))
    return a, b, y


def _coverage(block: int, reps: int = 200) -> tuple[float, float]:
    a_all, b_all, y_all = _days(1_000_000, np.random.default_rng(0))
    true_rel = a_all.mean() / y_all.mean()
    true_diff = (a_all.mean() - b_all.mean()) / y_all.mean()
    hit_rel = hit_diff = 0
    for r in range(reps):
        a, b, y = _days(112, np.random.default_rng(100 + r))
        lo, hi = rel_crps_interval(a, y, seed=r, block=block, n_resamples=500)
        hit_rel += lo <= true_rel <= hi
        lo, hi = paired_difference(a, b, y, seed=r, block=block, n_resamples=500)["interval"]
        hit_diff += lo <= true_diff <= hi
    return hit_rel / reps, hit_diff / reps


def test_intervals_cover_about_as_claimed_on_dependent_days():
    """90% intervals over 112 dependent days hold the long-run relCRPS and the long-run difference about 90% of the
    time (200 simulated tests: a coverage under 0.82 would be a real shortfall), and resampling single days instead
    of blocks, which ignores the dependence, holds them clearly less often."""
    rel, diff = _coverage(BLOCK_DAYS)
    assert 0.82 <= rel <= 0.97
    assert 0.80 <= diff <= 0.97
    rel_days, diff_days = _coverage(1)
    assert rel_days < rel - 0.08 and diff_days < diff - 0.08


def test_paired_difference_of_a_method_with_itself_is_zero():
    a, _, y = _days(112, np.random.default_rng(3))
    out = paired_difference(a, a, y, seed=1)
    assert out["difference"] == 0.0 and out["interval"] == [0.0, 0.0] and out["share_a_better"] == 0.0


def test_paired_difference_finds_a_method_better_on_every_day():
    a, _, y = _days(112, np.random.default_rng(4))
    out = paired_difference(0.8 * a, a, y, seed=1)
    assert out["difference"] == pytest.approx(-0.2 * a.sum() / y.sum())
    assert out["interval"][1] < 0 and out["share_a_better"] == 1.0 and out["relative"] == pytest.approx(-0.2)
    with pytest.raises(ValueError, match="same days"):
        paired_difference(a[:-1], a, y, seed=1)


def _method(days: list[str], crps: list[float], windows: list[float]) -> dict:
    return {"days": {"date": days, "actual": [100.0] * len(days), "crps": crps},
            "windows": [{"rel_crps": w} for w in windows]}


def test_compare_methods_counts_windows_and_refuses_other_days():
    days = ["2024-01-01", "2024-01-02", "2024-01-03"]
    a, b = _method(days, [1.0, 2.0, 3.0], [0.1, 0.5]), _method(days, [2.0, 2.0, 2.0], [0.2, 0.4])
    out = compare_methods(a, b, seed=1)
    assert (out["windows_a_better"], out["n_windows"]) == (1, 2)
    assert out["difference"] == pytest.approx(0.0)
    with pytest.raises(ValueError, match="same days"):
        compare_methods(a, _method(["2024-01-01", "2024-01-02", "2024-01-04"], [1.0, 1.0, 1.0], [0.1, 0.1]), seed=1)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "an existing backtest JSON file"),
        ("not json {", "a backtest JSON file"),
        ('{"bayescap": {"rel_crps": 0.5}}', "protocol: a backtest JSON file"),
        ('{"protocol": {}, "bayescap": {"rel_crps": 0.5}}', "days: per-day scores"),
    ],
)
def test_an_unusable_earlier_backtest_is_refused_naming_the_file(tmp_path, content, message):
    path = tmp_path / "earlier.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputError, match=message) as err:
        read_earlier_backtest(path)
    assert str(path) in str(err.value)


def test_an_earlier_backtest_of_other_days_or_methods_is_refused(tmp_path):
    path = tmp_path / "earlier.json"
    path.write_text(json.dumps({"protocol": {"seed": 1}, "seasonal_naive": _method(["2024-01-01", "2024-01-02"], [1, 2], [0.1])}))
    earlier = read_earlier_backtest(path)
    with pytest.raises(InputError, match=r"scored 2024-01-01\.\.2024-01-02, 2 observed days"):
        check_same_days(earlier, ["2024-01-02", "2024-01-03"], ("seasonal_naive",))
    with pytest.raises(InputError, match="scores of one of this run's methods"):
        check_same_days(earlier, ["2024-01-01", "2024-01-02"], ("bayescap",))
    check_same_days(earlier, ["2024-01-01", "2024-01-02"], ("bayescap", "seasonal_naive"))


def test_cli_compare_to_an_earlier_backtest(tmp_path, capsys):
    """The same run again compares to a change of exactly 0; another seed's draws to a small change with an interval
    around it; another validation period is refused before any fitting, naming the file."""
    from bayescap.cli import main

    args = ["backtest", str(PEYTON), "--before", "1500", "--methods", "seasonal_naive"]
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    assert main([*args, "--json", str(first)]) == 0
    assert main([*args, "--compare-to", str(first), "--json", str(second)]) == 0
    same = json.loads(second.read_text())["compared_to"]["methods"]["seasonal_naive"]
    assert same["difference"] == 0.0 and same["interval"] == [0.0, 0.0]
    capsys.readouterr()
    assert main([*args, "--seed", "5", "--compare-to", str(first)]) == 0
    out = capsys.readouterr().out
    assert f"this run against {first} (seed 20261126; default settings)" in out
    assert "seasonal_naive: relCRPS " in out and "of resamples" in out
    assert main(["backtest", str(PEYTON), "--before", "1400", "--methods", "seasonal_naive", "--compare-to", str(first)]) == 2
    err = capsys.readouterr().err
    assert str(first) in err and "the same test days as this run" in err
