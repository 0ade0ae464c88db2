"""Traffic benchmark: the Peyton Manning backtest against the baselines, fit time, cost vs history length, and the
recovery study's interval coverage (``--replicates N``, default 40; ``--skip-recovery``).

Prints ``BENCH <name> <value> <unit>`` lines (``make bench`` calls :func:`main`). Run alone with
``python -m bench.traffic``; it takes a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from bayescap.backtest.data import peyton_manning_history
from bayescap.backtest.run import method_results, run_backtest
from bayescap.commands._common import REPO_ROOT
from bayescap.models.traffic import diagnostics, fit_traffic
from bayescap.models.traffic_recovery import coverage_table, recovery_study
from bayescap.models.traffic_synthetic import simulate_history

PEYTON = REPO_ROOT / "data" / "real" / "traffic" / "traffic_wikipedia_peyton_manning.csv"
SEED = 20261126
LENGTHS = (365, 730, 1095, 1460)


def bench(name: str, value: float, unit: str) -> None:
    print(f"BENCH {name} {value:.4g} {unit}", flush=True)


def backtest() -> None:
    """The issue's protocol on the real Peyton Manning series (4 x 28 days, 730-day training windows)."""
    result = run_backtest(peyton_manning_history(PEYTON), seed=SEED, draws=1000, tune=1000, chains=2)
    for method, m in method_results(result).items():
        bench(f"traffic_backtest_relcrps_{method}", m["rel_crps"], "ratio")
        bench(f"traffic_backtest_cov80_{method}", m["cov80"], "share")
        bench(f"traffic_backtest_cov95_{method}", m["cov95"], "share")
        bench(f"traffic_backtest_mape_{method}", m["mape"], "ratio")
        bench(f"traffic_backtest_seconds_{method}", m["seconds"], "s/origin")
        top2 = sum(d["share"] for d in m["top_days"][:2])
        bench(f"traffic_backtest_top2_days_crps_share_{method}", top2, "share (the two days with the largest CRPS)")
        lo, hi = m["rel_crps_interval"]
        bench(f"traffic_backtest_relcrps_{method}_lo90", lo, "ratio (block bootstrap over the test days)")
        bench(f"traffic_backtest_relcrps_{method}_hi90", hi, "ratio")
    for other, c in result.get("comparisons", {}).items():
        bench(f"traffic_backtest_relcrps_bayescap_minus_{other}", c["difference"], "ratio")
        bench(f"traffic_backtest_relcrps_bayescap_minus_{other}_lo90", c["interval"][0], "ratio (paired block bootstrap)")
        bench(f"traffic_backtest_relcrps_bayescap_minus_{other}_hi90", c["interval"][1], "ratio")
        bench(f"traffic_backtest_bayescap_better_than_{other}_share", c["share_a_better"], "share of resamples")
    origins = result["bayescap"]["origins"]
    bench("traffic_backtest_first_origin_seconds", origins[0]["seconds"], "s (fit + forecast; compiles only on a new machine)")
    bench("traffic_backtest_origin_seconds_max", max(o["seconds"] for o in origins), "s (fit + forecast)")
    bench("traffic_backtest_sampling_seconds_max", max(o["sampling_seconds"] for o in origins), "s")
    bench("traffic_backtest_divergences_max", max(o["divergences"] for o in origins), "count")
    bench("traffic_backtest_rhat_max", max(o["max_r_hat"] for o in origins), "ratio")
    bench("traffic_backtest_ess_bulk_min", min(o["min_ess_bulk"] for o in origins), "draws")
    for note in result["notes"]:
        print(f"# {note}")


FRESH_PROCESS_FIT = """
import json, time
t0 = time.perf_counter()
from bayescap.models.traffic import fit_traffic
from bayescap.models.traffic_recovery import coverage_table, recovery_study
from bayescap.models.traffic_synthetic import simulate_history
t1 = time.perf_counter()
df, _ = simulate_history({n_max}, seed={seed})
hist = df.head({n}).copy()
hist.attrs = dict(df.attrs)
t2 = time.perf_counter()
idata = fit_traffic(hist, seed={seed}, draws=1000, tune=1000, chains=2)
t3 = time.perf_counter()
print(json.dumps({{"import": t1 - t0, "fit": t3 - t2, "setup": idata.attrs["compile_seconds"]}}))
"""


def fresh_process_fit(n: int, cache: str) -> dict[str, float]:
    """A 730-day fit in a new Python process whose compiled-density cache is ``cache`` (empty = a new machine)."""
    script = FRESH_PROCESS_FIT.format(n=n, n_max=max(LENGTHS), seed=SEED)
    env = {**os.environ, "BAYESCAP_CACHE_DIR": cache}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def fit_cost() -> None:
    """730-day fit on a new machine (empty caches: compiles the C log density) and in a new process (loads it from
    the cache); then the in-process cost at 365 .. 1,460 days."""
    with tempfile.TemporaryDirectory() as cache:
        cold = fresh_process_fit(730, cache)
        warm = fresh_process_fit(730, cache)
    bench("traffic_fit730_first_compile_seconds", cold["fit"], "s (fit incl. compiling the log density, new machine)")
    bench("traffic_fit730_first_compile_setup_seconds", cold["setup"], "s (of which: whitening + compilation)")
    bench("traffic_fit730_new_process_seconds", warm["fit"], "s (fit, log density loaded from the cache)")
    bench("traffic_import_seconds", warm["import"], "s (import bayescap.models.traffic)")
    df, _ = simulate_history(max(LENGTHS), seed=SEED)
    # a first, untimed fit: the process's first fit also imports nutpie (and ArviZ) and loads the compiled density, which
    # would otherwise be charged to the shortest history
    warmup = df.head(min(LENGTHS)).copy()
    warmup.attrs = dict(df.attrs)
    fit_traffic(warmup, seed=SEED, draws=50, tune=50, chains=2)
    for n in LENGTHS:
        hist = df.head(n).copy()
        hist.attrs = dict(df.attrs)
        t0 = time.perf_counter()
        idata = fit_traffic(hist, seed=SEED + 1, draws=1000, tune=1000, chains=2)
        seconds = time.perf_counter() - t0
        diag = diagnostics(idata)
        if n == 730:
            bench("traffic_fit730_seconds", seconds, "s")
            bench("traffic_fit730_tree_steps", diag["mean_tree_steps"], "steps/iteration")
            bench("traffic_fit730_max_r_hat", diag["max_r_hat"], "ratio")
            bench("traffic_fit730_min_ess_bulk", diag["min_ess_bulk"], "draws")
        bench(f"traffic_fit_seconds_{n}d", seconds, "s")
        bench(f"traffic_sampling_seconds_{n}d", float(idata.attrs["sampling_seconds"]), "s")
        bench(f"traffic_tree_steps_{n}d", diag["mean_tree_steps"], "steps/iteration")


def recovery(replicates: int) -> None:
    """Coverage of the 50% and 90% intervals over ``replicates`` histories simulated with known parameters."""
    study = recovery_study(replicates)
    table = coverage_table(study)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    for row in table.itertuples():
        bench(f"traffic_recovery_cov90_{row.parameter}", row.cov90, f"share (se {row.se90:.3f}, n {row.n})")
        bench(f"traffic_recovery_cov50_{row.parameter}", row.cov50, "share")
    fits = study.drop_duplicates("replicate")
    bench("traffic_recovery_cov90_overall", float(table["cov90"].mean()), f"share ({replicates} replicates)")
    bench("traffic_recovery_divergent_fits", int((fits["divergences"] > 0).sum()), "count")
    bench("traffic_recovery_max_r_hat", float(fits["max_r_hat"].max()), "ratio")
    bench("traffic_recovery_fit_seconds_median", float(fits["seconds"].median()), "s (365 days, 2 x 1,000 draws)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.traffic", description=__doc__)
    parser.add_argument("--replicates", type=int, default=40, help="recovery replicates (default 40)")
    parser.add_argument("--skip-recovery", action="store_true")
    args, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    fit_cost()
    backtest()
    if not args.skip_recovery:
        recovery(args.replicates)


if __name__ == "__main__":
    main()
