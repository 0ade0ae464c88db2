"""Traffic benchmark: the Peyton Manning backtest against the baselines, fit time, and cost vs history length.

Prints ``BENCH <name> <value> <unit>`` lines (``make bench`` calls :func:`main`). Run alone with
``python -m bench.traffic``; it takes a few minutes on 2 cores.
"""

from __future__ import annotations

import time

from bayescap.backtest.data import peyton_manning_history
from bayescap.backtest.run import run_backtest
from bayescap.commands._common import REPO_ROOT
from bayescap.models.traffic import diagnostics, fit_traffic
from bayescap.models.traffic_model import clear_compile_cache
from bayescap.models.traffic_synthetic import simulate_history

PEYTON = REPO_ROOT / "data" / "real" / "traffic" / "traffic_wikipedia_peyton_manning.csv"
SEED = 20261126
LENGTHS = (365, 730, 1095, 1460)


def bench(name: str, value: float, unit: str) -> None:
    print(f"BENCH {name} {value:.4g} {unit}", flush=True)


def backtest() -> None:
    """The issue's protocol on the real Peyton Manning series (4 x 28 days, 730-day training windows)."""
    result = run_backtest(peyton_manning_history(PEYTON), seed=SEED, draws=1000, tune=1000, chains=2)
    for method, m in result.items():
        if method in ("protocol", "notes"):
            continue
        bench(f"traffic_backtest_relcrps_{method}", m["rel_crps"], "ratio")
        bench(f"traffic_backtest_cov80_{method}", m["cov80"], "share")
        bench(f"traffic_backtest_cov95_{method}", m["cov95"], "share")
        bench(f"traffic_backtest_mape_{method}", m["mape"], "ratio")
        bench(f"traffic_backtest_seconds_{method}", m["seconds"], "s/origin")
    origins = result["bayescap"]["origins"]
    bench("traffic_backtest_first_origin_seconds_with_compile", origins[0]["seconds"], "s (fit + forecast)")
    later = origins[1:] or origins
    bench("traffic_backtest_fit_seconds_after_compile_max", max(o["seconds"] for o in later), "s (fit + forecast)")
    bench("traffic_backtest_sampling_seconds_max", max(o["sampling_seconds"] for o in origins), "s")
    bench("traffic_backtest_divergences_max", max(o["divergences"] for o in origins), "count")
    bench("traffic_backtest_rhat_max", max(o["max_r_hat"] for o in origins), "ratio")
    bench("traffic_backtest_ess_bulk_min", min(o["min_ess_bulk"] for o in origins), "draws")
    for note in result["notes"]:
        print(f"# {note}")


def fit_cost() -> None:
    """730-day fit including compilation, then after it; then sampling cost at 365 .. 1,460 days."""
    df, _ = simulate_history(max(LENGTHS), seed=SEED)
    for n in LENGTHS:
        hist = df.head(n).copy()
        hist.attrs = dict(df.attrs)
        clear_compile_cache()
        t0 = time.perf_counter()
        first = fit_traffic(hist, seed=SEED, draws=1000, tune=1000, chains=2)
        with_compile = time.perf_counter() - t0
        t0 = time.perf_counter()
        second = fit_traffic(hist, seed=SEED + 1, draws=1000, tune=1000, chains=2)
        warm = time.perf_counter() - t0
        diag = diagnostics(second)
        if n == 730:
            bench("traffic_fit730_with_compile_seconds", with_compile, "s")
            bench("traffic_fit730_seconds", warm, "s")
            bench("traffic_fit730_compile_seconds", float(first.attrs["compile_seconds"]), "s")
            bench("traffic_fit730_tree_steps", diag["mean_tree_steps"], "steps/iteration")
            bench("traffic_fit730_max_r_hat", diag["max_r_hat"], "ratio")
            bench("traffic_fit730_min_ess_bulk", diag["min_ess_bulk"], "draws")
        bench(f"traffic_fit_seconds_{n}d", warm, "s")
        bench(f"traffic_compile_seconds_{n}d", float(first.attrs["compile_seconds"]), "s")


def main() -> None:
    fit_cost()
    backtest()


if __name__ == "__main__":
    main()
