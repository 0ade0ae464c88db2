"""`bayescap forecast`: inputs -> models -> simulation -> run directory -> report.

Each stage hands data to the next (DataFrames, DataTrees, xarray Datasets);
nothing is cached on objects. The run directory is written under a temporary name
and renamed only when the report is complete (see ``bayescap.runstore``).
"""

from __future__ import annotations

import datetime as dt
import platform
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import xarray as xr

from bayescap import __version__
from bayescap.dims import DATE, DRAW, SCENARIO
from bayescap.runstore import sha256_file, staged_run_dir, write_datatree, write_json

DEFAULT_SEED = 20261126
PACKAGES = ("pymc", "pytensor", "nutpie", "arviz", "arviz-base", "arviz-stats", "numpy", "pandas", "xarray", "matplotlib")


@dataclass(frozen=True)
class RunOptions:
    scenario: Path
    traffic: Path
    loadtest: Path
    prices: Path
    intraday: Path | None = None
    out: Path = Path("reports")
    seed: int | None = None
    draws: int = 1000
    tune: int = 1000
    chains: int = 2
    history_days: int | None = 730  # fit the traffic model on the most recent days only


def software_versions() -> dict[str, str]:
    out = {"bayescap": __version__, "python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _input_record(paths: dict[str, Path | None]) -> dict:
    return {k: {"path": str(p), "sha256": sha256_file(p)} for k, p in paths.items() if p is not None}


def load_inputs(opts: RunOptions) -> dict:
    """Read and cross-validate every input (raises InputError with file/row/expected)."""
    from bayescap.inputs.loadtest import read_loadtest
    from bayescap.inputs.prices import read_prices
    from bayescap.inputs.scenario import read_scenarios
    from bayescap.inputs.traffic import read_intraday, read_traffic

    traffic = read_traffic(opts.traffic)
    loadtest = read_loadtest(opts.loadtest)
    prices = read_prices(opts.prices)
    intraday = read_intraday(opts.intraday) if opts.intraday is not None else None
    scenarios = read_scenarios(opts.scenario, loadtest=loadtest, prices=prices, traffic=traffic)
    return {"traffic": traffic, "loadtest": loadtest, "prices": prices, "intraday": intraday, "scenarios": scenarios}


def _recent(history, days: int | None):
    if not days:
        return history
    cutoff = history["date"].max() - np.timedelta64(days - 1, "D")
    recent = history[history["date"] >= cutoff].reset_index(drop=True)
    recent.attrs = dict(history.attrs)
    return recent


def fit_models(inputs: dict, opts: RunOptions, seed: int, log=print) -> dict:
    from bayescap.models.capacity import fit_capacity
    from bayescap.models.traffic import fit_traffic

    base = inputs["scenarios"][0]
    priors = base.priors or {}
    t0 = time.perf_counter()
    capacity = fit_capacity(
        inputs["loadtest"], priors=priors.get("capacity"), draws=opts.draws, tune=opts.tune, chains=opts.chains, seed=seed
    )
    log(f"  capacity model fitted in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    history = _recent(inputs["traffic"], opts.history_days)
    traffic = fit_traffic(
        history,
        intraday=inputs["intraday"],
        options={"competitor_events": base.competitor_events},
        priors=priors.get("traffic"),
        draws=opts.draws,
        tune=opts.tune,
        chains=opts.chains,
        seed=seed + 1,
    )
    log(f"  traffic model fitted in {time.perf_counter() - t0:.1f} s")
    return {"capacity": capacity, "traffic": traffic, "history": history}


def scenario_draws(inputs: dict, fits: dict, seed: int) -> tuple[xr.Dataset, xr.Dataset]:
    """Traffic and capacity draws stacked over scenarios (same seed => common random numbers)."""
    from bayescap.inputs.scenario import forecast_start, future_calendar
    from bayescap.models.capacity import node_capacity_draws
    from bayescap.models.traffic import forecast_traffic

    history = fits["history"]
    event_types = list(history.attrs.get("event_types", []))
    traffic_list, capacity_list = [], []
    for sc in inputs["scenarios"]:
        start = forecast_start(sc, history)
        calendar = future_calendar(sc, start, event_types)
        tr = forecast_traffic(
            fits["traffic"], history, calendar, growth_pct_per_month=sc.growth_pct_per_month, seed=seed + 2
        )
        cap = node_capacity_draws(fits["capacity"], list(sc.tiers), inputs["prices"])
        traffic_list.append(tr)
        capacity_list.append(cap)
    names = [sc.name for sc in inputs["scenarios"]]
    n = min(t.sizes[DRAW] for t in traffic_list + capacity_list)
    traffic = xr.concat([t.isel({DRAW: slice(0, n)}) for t in traffic_list], dim=SCENARIO, join="outer")
    capacity = xr.concat([c.isel({DRAW: slice(0, n)}) for c in capacity_list], dim=SCENARIO, join="outer")
    traffic = traffic.assign_coords({SCENARIO: names})
    capacity = capacity.assign_coords({SCENARIO: names})
    return traffic, capacity


def run_forecast(opts: RunOptions, *, argv: list[str] | None = None, log=print) -> Path:
    """Run the whole job; returns the completed run directory."""
    from bayescap.checks import diagnostics_from_idata, model_checks
    from bayescap.models.capacity import summarise_capacity
    from bayescap.models.traffic import summarise_traffic
    from bayescap.report import build_report
    from bayescap.simulate import risk_statements, simulate, summarise

    t_start = time.perf_counter()
    inputs = load_inputs(opts)
    for note in inputs["traffic"].attrs.get("notes", []):
        log(f"note: {note}")
    scenarios = inputs["scenarios"]
    seed = opts.seed if opts.seed is not None else (scenarios[0].seed or DEFAULT_SEED)
    log(f"bayescap {__version__}: {len(scenarios)} scenario(s), seed {seed}, {opts.chains}x{opts.draws} draws")

    fits = fit_models(inputs, opts, seed, log=log)
    traffic_draws, capacity_draws = scenario_draws(inputs, fits, seed)
    sim = simulate(traffic_draws, capacity_draws, scenarios, inputs["prices"])

    diagnostics = {
        "capacity": diagnostics_from_idata(fits["capacity"]),
        "traffic": diagnostics_from_idata(fits["traffic"]),
    }
    checks = model_checks(diagnostics, None)
    summary = summarise(sim, scenarios)
    summary["schema_version"] = 1
    summary["statements"] = risk_statements(sim, scenarios)
    summary["checks"] = {**checks, "models": diagnostics}
    summary["capacity"] = summarise_capacity(fits["capacity"])
    summary["traffic"] = summarise_traffic(fits["traffic"])
    summary.setdefault("backtest", None)
    input_paths = {
        "traffic": opts.traffic,
        "intraday": opts.intraday,
        "loadtest": opts.loadtest,
        "prices": opts.prices,
        "scenario": opts.scenario,
    }
    summary["run"] = {
        "seed": seed,
        "draws": opts.draws,
        "tune": opts.tune,
        "chains": opts.chains,
        "history_days": opts.history_days,
        "versions": software_versions(),
        "inputs": _input_record(input_paths),
        "scenario_names": [s.name for s in scenarios],
        "history_start": f"{fits['history']['date'].min():%Y-%m-%d}",
        "history_end": f"{fits['history']['date'].max():%Y-%m-%d}",
        "start": str(np.datetime_as_string(traffic_draws[DATE].values.min(), unit="D")),
        "end": str(np.datetime_as_string(traffic_draws[DATE].values.max(), unit="D")),
    }
    manifest = {
        "created": dt.datetime.now().isoformat(timespec="seconds"),
        "command": argv if argv is not None else sys.argv,
        "platform": platform.platform(),
        "seed": seed,
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(opts).items()},
        "inputs": summary["run"]["inputs"],
        "versions": summary["run"]["versions"],
        "scenarios": [_scenario_dict(s) for s in scenarios],
    }

    with staged_run_dir(opts.out, scenarios[0].name) as (tmp, final):
        (tmp / "inputs").mkdir()
        for key, path in input_paths.items():
            if path is not None:
                shutil.copy2(path, tmp / "inputs" / f"{key}{Path(path).suffix}")
        posteriors = xr.DataTree.from_dict(
            {"/capacity": xr.DataTree(), "/traffic": xr.DataTree()}
        )
        posteriors["capacity"] = fits["capacity"]
        posteriors["traffic"] = fits["traffic"]
        posteriors.attrs = {"seed": seed, "bayescap_version": __version__}
        write_datatree(tmp / "posteriors.nc", posteriors)
        write_datatree(tmp / "simulation.nc", xr.DataTree(sim))
        write_json(tmp / "summary.json", summary)
        manifest["run_name"] = final[0].name
        write_json(tmp / "manifest.json", manifest)
        build_report(tmp)
    run_dir = final[0]
    log(f"run directory: {run_dir}")
    log(f"report: {run_dir / 'report.pdf'}  ({time.perf_counter() - t_start:.0f} s)")
    if not checks["ok"]:
        log("DRAFT: model checks failed: " + "; ".join(checks["problems"]))
    for st in summary["statements"]:
        log(f"- [{st['scenario']}] {st['text']}")
    return run_dir


def _scenario_dict(sc) -> dict:
    d = asdict(sc)
    return d
