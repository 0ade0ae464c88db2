"""Benchmark of the scenario engine (issue 5).

1. In memory: 4,000 draws x 365 days x 3 tiers x 10 scenarios (8 static fleets, 2
   autoscaled) through :func:`bayescap.simulate.simulate`, on 2 cores. Target: <= 5 s
   and <= 2 GB. Run in a fresh subprocess pinned to 2 CPUs, so that the peak resident
   memory it reports (``getrusage`` maximum RSS, which includes the inputs and the
   interpreter) is that of this run alone.
2. Streamed: a dask-backed run whose full-size arrays would not fit in memory at
   once (default 40,000 draws x 1,460 days x 3 tiers x 10 scenarios, about 40 GB of
   inputs and outputs), generated lazily chunk by chunk and reduced to the per-draw
   and per-scenario results only. Prints its size, time and peak memory.

Prints ``BENCH <name> <value> <unit>`` lines. ``python -m bench.simulate --quick``
shrinks the streamed run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys
import textwrap

DRAWS, DAYS, SCENARIOS = 4_000, 365, 10
BIG_DRAWS, BIG_DAYS, BIG_CHUNK = 40_000, 1_460, 250


def scenarios(n: int, horizon_days: int):
    """``n`` scenarios over 3 tiers: variations of events, cost per request and fleet policy."""
    from bayescap.inputs.scenario_types import EventRule, FleetPolicy, TierSpec
    from bayescap.simulate.synthetic import synthetic_scenario

    tiers = (TierSpec("static", 0.7, "c6i.large"), TierSpec("app", 0.25, "c6i.2xlarge"), TierSpec("api", 0.1, "c6i.xlarge"))
    base = synthetic_scenario("baseline", horizon_days=horizon_days, tiers=tiers,
                              events=(EventRule("sale", weekday=3),
                                      EventRule("launch", dates=(dt.date(2026, 12, 1), dt.date(2027, 3, 16)))))
    out = [base]
    for i in range(1, n):
        kind = i % 5
        if kind == 1:
            sc = dataclasses.replace(base, events=(EventRule("sale", weekday=3, intensity=1.0 + 0.25 * i),))
        elif kind == 2:
            sc = dataclasses.replace(base, tiers=(tiers[0], dataclasses.replace(tiers[1], cost_multiplier=0.8), tiers[2]))
        elif kind == 3:
            sc = dataclasses.replace(base, fleet=FleetPolicy(policy="autoscale", provisioning_lag_hours=1 + i % 2))
        elif kind == 4:
            sc = dataclasses.replace(base, fleet=FleetPolicy(target_utilisation=0.6))
        else:
            sc = dataclasses.replace(base, growth_pct_per_month=3.0)
        out.append(dataclasses.replace(sc, name=f"s{i:02d}"))
    return out


_IN_MEMORY = textwrap.dedent(
    """
    import json, os, resource, time
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))[:2]
        os.sched_setaffinity(0, cpus)
    from bench.simulate import scenarios
    from bayescap.simulate import simulate, summarise, risk_statements
    from bayescap.simulate.synthetic import synthetic_capacity, synthetic_prices, synthetic_traffic
    n_draws, n_days, n_scen = {draws}, {days}, {scen}
    sc = scenarios(n_scen, n_days)
    traffic = synthetic_traffic(sc, draws=n_draws, seed=1)
    capacity = synthetic_capacity(sc, draws=n_draws, seed=2)
    prices = synthetic_prices()
    rss_inputs = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    simulate(traffic.isel(draw=slice(0, 50)), capacity.isel(draw=slice(0, 50)), sc, prices, n_workers=2)  # warm-up
    t0, c0 = time.perf_counter(), time.process_time()
    sim = simulate(traffic, capacity, sc, prices, n_workers=2)
    t_sim, cpu_sim = time.perf_counter() - t0, time.process_time() - c0
    t0 = time.perf_counter()
    summary = summarise(sim, sc)
    st = risk_statements(sim, sc)
    t_sum = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({{"seconds": t_sim, "cpu_seconds": cpu_sim, "summary_seconds": t_sum, "rss_mb": rss, "rss_inputs_mb": rss_inputs,
                      "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
                      "statements": len(st), "sim_mb": sim.nbytes / 2**20}}))
    """
)

_STREAMED = textwrap.dedent(
    """
    import json, os, resource, time
    import dask
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:2])
    from bench.simulate import scenarios
    from bayescap.simulate import simulate, summarise
    from bayescap.simulate.synthetic import synthetic_capacity, synthetic_prices, synthetic_traffic
    n_draws, n_days, n_scen, chunk = {draws}, {days}, {scen}, {chunk}
    sc = scenarios(n_scen, n_days)
    traffic = synthetic_traffic(sc, draws=n_draws, seed=1, chunks=chunk, lazy=True)
    capacity = synthetic_capacity(sc, draws=n_draws, seed=2)
    t0 = time.perf_counter()
    with dask.config.set(scheduler="threads", num_workers=2):
        sim = simulate(traffic, capacity, sc, synthetic_prices())
        summary = summarise(sim, sc)
    t = time.perf_counter() - t0
    full = sum(v.nbytes for v in sim.data_vars.values() if hasattr(v.data, "dask"))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({{"seconds": t, "rss_mb": rss, "lazy_output_gb": full / 2**30,
                      "input_gb": traffic.nbytes / 2**30, "cells": n_draws * n_days * 3 * n_scen,
                      "runway_median": summary["scenarios"][0]["metrics"]["runway"]["median"]}}))
    """
)


def _child(code: str) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, env=env, check=False)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "child failed")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    quick = "--quick" in argv
    r = _child(_IN_MEMORY.format(draws=DRAWS, days=DAYS, scen=SCENARIOS))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# machine load average before the run: {load:.1f} (wall times grow when other work shares the cores; "
          "cpu seconds do not)", flush=True)
    print(f"# in memory: {DRAWS} draws x {DAYS} days x 3 tiers x {SCENARIOS} scenarios "
          f"({DRAWS * DAYS * 3 * SCENARIOS / 1e6:.1f} M cells) on {r['cpus']} CPUs; "
          f"inputs alone {r['rss_inputs_mb']:.0f} MB; result dataset {r['sim_mb']:.0f} MB; "
          f"summary + {r['statements']} statements {r['summary_seconds']:.2f} s", flush=True)
    print(f"BENCH simulate_seconds {r['seconds']:.2f} s", flush=True)
    print(f"BENCH simulate_cpu_seconds {r['cpu_seconds']:.2f} s", flush=True)
    print(f"BENCH simulate_peak_rss_mb {r['rss_mb']:.0f} MB", flush=True)

    draws, days = (4_000, 730) if quick else (BIG_DRAWS, BIG_DAYS)
    s = _child(_STREAMED.format(draws=draws, days=days, scen=SCENARIOS, chunk=BIG_CHUNK))
    print(f"# streamed (dask, {BIG_CHUNK} draws per chunk): {draws} draws x {days} days x 3 tiers x {SCENARIOS} "
          f"scenarios = {s['cells'] / 1e9:.2f} G cells; lazy inputs {s['input_gb']:.1f} GB, lazy full-size "
          f"outputs {s['lazy_output_gb']:.1f} GB, never held at once", flush=True)
    print(f"BENCH simulate_streamed_cells {s['cells'] / 1e9:.2f} Gcells", flush=True)
    print(f"BENCH simulate_streamed_seconds {s['seconds']:.1f} s", flush=True)
    print(f"BENCH simulate_streamed_peak_rss_mb {s['rss_mb']:.0f} MB", flush=True)


if __name__ == "__main__":
    main()
