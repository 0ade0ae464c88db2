"""`bayescap forecast`: inputs -> models -> simulation -> run directory -> report.

Each stage hands data to the next (DataFrames, DataTrees, xarray Datasets);
nothing is cached on objects. The run directory is written under a temporary name
and renamed only when the report is complete (see ``bayescap.runstore``).
"""

from __future__ import annotations

import datetime as dt
import json
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
from bayescap.dims import CHAIN, DATE, DRAW, SCENARIO
from bayescap.errors import InputError, OutputError
from bayescap.capacity_caveats import Fleet, capacity_caveats
from bayescap.caveats import report_caveats
from bayescap.models import c_build
from bayescap.runstore import sha256_file, staged_run_dir, write_datatree, write_json

DEFAULT_SEED = 20261126
# summary.json keeps 6 significant digits: far more than the PDF prints, and few enough that the
# last-bit noise of multi-threaded floating point never changes a stored number between runs.
SUMMARY_DIGITS = 6
HOURS_PER_MONTH = 730.0
PACKAGES = ("pymc", "pytensor", "nutpie", "numba", "arviz", "arviz-base", "arviz-stats", "numpy", "pandas", "xarray", "matplotlib")


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
    refit: bool = False  # sample even when an earlier run in ``out`` has the same fit key
    backtest: bool = False  # backtest the traffic model on the history's last 16 weeks (bayescap.backtest.in_forecast)
    reuse_from: tuple[Path, ...] = ()  # more places to look for a run with the same fit key (run dirs, folders of runs)


def software_versions() -> dict[str, str]:
    out = {"bayescap": __version__, "python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    out["C compiler"] = c_build.compiler_version()  # builds the models' densities: part of what gives the numbers
    return out


def _input_record(paths: dict[str, Path | None]) -> dict:
    return {k: {"path": str(p), "sha256": sha256_file(p)} for k, p in paths.items() if p is not None}


def load_inputs(opts: RunOptions) -> dict:
    """Read and cross-validate every input, exactly as `bayescap check` does (raises InputError)."""
    from bayescap.inputs.bundle import read_inputs

    got = read_inputs(
        scenario=opts.scenario, traffic=opts.traffic, loadtest=opts.loadtest, prices=opts.prices, intraday=opts.intraday
    )
    return got._asdict()


def _recent(history, days: int | None):
    if not days:
        return history
    cutoff = history["date"].max() - np.timedelta64(days - 1, "D")
    recent = history[history["date"] >= cutoff].reset_index(drop=True)
    recent.attrs = dict(history.attrs)
    return recent


def run_sweep(inputs: dict, fits: dict, sweep, seed: int, log=print) -> dict:
    """summary.json's ``sweep`` block: the swept scenario at each intensity, from the same draws and seed."""
    from bayescap.simulate import simulate
    from bayescap.simulate.sweep import summarise_sweep, sweep_scenarios

    t0 = time.perf_counter()
    points = sweep_scenarios(sweep, inputs["scenarios"])
    traffic_draws, capacity_draws = scenario_draws({**inputs, "scenarios": points}, fits, seed)
    block = summarise_sweep(simulate(traffic_draws, capacity_draws, points, inputs["prices"]), sweep, points)
    log(f"  intensity sweep of {sweep.scenario} ({len(points)} intensities) in {time.perf_counter() - t0:.1f} s")
    return block


def capacity_sampler_settings(opts: RunOptions) -> dict[str, int]:
    """Draws, tune and chains of the capacity fit: twice the traffic model's each.

    The capacity model is cheap to sample, but its kappa posterior sits against a boundary at 0 (pure
    contention) and its tier spreads are barely identified by two to five configs, so its hyperparameters
    mix slowly. Its draws are thinned to the traffic model's afterwards. On the example, seeds 20261126, 1,
    2, 3: max R-hat 1.020 and 1.011 at the first two with 1,000 draws per chain, 1.004-1.007 at all four
    with 2,000 (docs/capacity_model.md, "Mixing").
    """
    return {"draws": 2 * opts.draws, "tune": 2 * opts.tune, "chains": 2 * opts.chains}


def fit_settings(inputs: dict, opts: RunOptions, seed: int) -> dict:
    """What the fits depend on besides the data: the base scenario's priors and options, seeds, samplers."""
    base = inputs["scenarios"][0]
    return {
        "priors": base.priors or {},
        "competitor_events": base.competitor_events,
        "traffic_model": base.traffic_model,
        "history_days": opts.history_days,
        "seed": seed,
        "traffic_sampler": {"draws": opts.draws, "tune": opts.tune, "chains": opts.chains},
        "capacity_sampler": capacity_sampler_settings(opts),
        # fit_capacity_checked's rule: it decides which draws a fit keeps, so a run saved under another rule differs
        "capacity_rerun": "twice the draws, once, after failed R-hat or ESS checks without divergences",
        "capacity_nuts": capacity_nuts_rule(),
    }


def traffic_options(base) -> dict:
    """The traffic model's options for a run: the base scenario's competitor choice and its ``[traffic] model``."""
    return {"competitor_events": base.competitor_events, **base.traffic_model}


def capacity_nuts_rule() -> dict:
    """fit_capacity's NUTS settings: the mass-matrix adaptation and the target_accept ladder (part of the fit key)."""
    from bayescap.models.capacity import TARGET_ACCEPT_LADDER
    from bayescap.models.capacity_build import ADAPTATION

    return {"adaptation": ADAPTATION, "target_accept": list(TARGET_ACCEPT_LADDER),
            "retry": "at the next target_accept after a divergent transition"}


def fit_or_reuse(inputs: dict, opts: RunOptions, seed: int, log=print) -> tuple[dict, str, Path | None]:
    """The fits, their key and the run they were reused from (None when sampled now).

    See ``bayescap.fit_reuse``: a finished run in ``opts.out`` (or, failing that, in ``opts.reuse_from``) with the
    same key has the posteriors a refit would sample, so they are loaded instead, unless ``opts.refit``.
    """
    from bayescap.fit_reuse import find_run_with_key, fit_key
    from bayescap.runstore import read_datatree

    history = _recent(inputs["traffic"], opts.history_days)
    versions = {k: v for k, v in software_versions().items() if k != "matplotlib"}
    key = fit_key(loadtest=inputs["loadtest"], history=history, intraday=inputs["intraday"],
                  settings=fit_settings(inputs, opts, seed), versions=versions)
    source = None if opts.refit else find_run_with_key([opts.out, *opts.reuse_from], key)
    if source is None and not opts.refit:
        say_why_not_reused(inputs, opts, seed, log)
    tree = None
    if source is not None:
        try:
            tree = read_datatree(source / "posteriors.nc")
            if not {"capacity", "traffic"} <= set(tree.children):
                raise OutputError(f"{source / 'posteriors.nc'}: no /capacity and /traffic posteriors")
        except OutputError as exc:
            tree = None
            log(f"note: not reusing the posteriors of {run_label(source, opts.out)}: {exc}")
    if tree is None:
        return fit_models(inputs, opts, seed, log=log), key, None
    log(f"  models: reusing the posteriors of {run_label(source, opts.out)} (same data, priors, seed, sampler "
        "settings and code; --refit samples again)")
    return {"capacity": tree["capacity"].copy(), "traffic": tree["traffic"].copy(), "history": history}, key, source


def say_why_not_reused(inputs: dict, opts: RunOptions, seed: int, log=print) -> None:
    """A note for each ``--reuse-from`` that gave no posteriors: why a named run does not fit this one (what differs),
    or that a folder of runs holds none fitted to the same data and settings."""
    from bayescap.fit_reuse import is_run_dir, why_not_reused

    if not opts.reuse_from:
        return
    files = {"loadtest": opts.loadtest, "traffic": opts.traffic, "intraday": opts.intraday}
    now = {"seed": seed, "draws": opts.draws, "tune": opts.tune, "chains": opts.chains,
           "history_days": opts.history_days, "bayescap": __version__,
           "inputs": {name: sha256_file(path) for name, path in files.items() if path is not None}}
    for folder in opts.reuse_from:
        if is_run_dir(folder):
            log(f"note: not reusing the posteriors of {folder}: {why_not_reused(Path(folder), now)}")
        else:
            log(f"note: no run in {folder} was fitted to the same data, priors, seed, sampler settings and code")


def run_label(run: Path, out: Path) -> str:
    """A reused run as the report names it: its directory name inside ``--out``, its path elsewhere."""
    return run.name if Path(run).parent.resolve() == Path(out).resolve() else str(run)


def backtest_or_reuse(inputs: dict, opts: RunOptions, seed: int, fit_key: str, reused_from: Path | None,
                      log=print) -> dict:
    """summary.json's ``backtest``: the traffic model's backtest on this run's history, or, when the fits were
    reused from an earlier run whose backtest has the same key (``fit_reuse.backtest_key``: the fits' key, the whole
    traffic history and the backtest's code), that run's."""
    from bayescap.backtest.in_forecast import forecast_backtest
    from bayescap.checks import backtest_origin_problems
    from bayescap.fit_reuse import backtest_key

    key = backtest_key(fit_key, inputs["traffic"])
    if reused_from is not None:
        try:
            earlier = json.loads((reused_from / "summary.json").read_text()).get("backtest")
        except (OSError, ValueError):
            earlier = None
        if isinstance(earlier, dict) and earlier.get("key") == key:
            log(f"  backtest: reusing that of {run_label(reused_from, opts.out)}")
            return earlier
    base = inputs["scenarios"][0]
    t0 = time.perf_counter()
    result = forecast_backtest(
        inputs["traffic"],
        history_days=opts.history_days,
        options=traffic_options(base),
        priors=(base.priors or {}).get("traffic"),
        seed=seed + 2,
        draws=opts.draws,
        tune=opts.tune,
        chains=opts.chains,
        progress=lambda msg: log(f"  backtest {msg.strip()}"),
    )
    own, naive = result["methods"]["bayescap"], result["methods"]["seasonal_naive"]
    log(f"  backtest in {time.perf_counter() - t0:.1f} s: relCRPS {own['rel_crps']:.3f} (seasonal naive "
        f"{naive['rel_crps']:.3f}), 80% intervals cover {own['cov80']:.2f}, 95% intervals {own['cov95']:.2f}")
    for problem in backtest_origin_problems(result):
        log(f"  note: {problem}")
    return {**result, "key": key}


def capacity_not_converged(idata: xr.DataTree) -> list[str]:
    """The report's R-hat and ESS problems of a capacity fit, when it has no divergent transitions (else ``[]``: more
    draws would not remove them, and the report says DRAFT)."""
    from bayescap.checks import model_checks
    from bayescap.fit_reuse import check_reuse_folders
    from bayescap.models.capacity import diagnostics as capacity_diagnostics

    diag = with_reported_ess(capacity_diagnostics(idata), idata, "capacity")
    if diag.get("divergences"):
        return []
    return model_checks({"capacity": diag}, None)["problems"]


def fit_capacity_checked(loadtest, *, priors: dict | None, seed: int, draws: int, tune: int, chains: int,
                         log=print, target_accept: float | str = "auto") -> xr.DataTree:
    """``fit_capacity``, sampled once more with twice the draws per chain when the fit fails the report's R-hat or ESS
    check without divergences: the usual remedy for chains that agree too little or draws that are too few
    (docs/capacity_model.md, "Mixing"). Longer chains do not remove divergences; those stay a DRAFT. The second fit's
    ``attrs["resampled_after"]`` (JSON) lists the first fit's problems."""
    from bayescap.models.capacity import fit_capacity

    tree = fit_capacity(loadtest, priors=priors, seed=seed, draws=draws, tune=tune, chains=chains,
                        target_accept=target_accept)
    problems = capacity_not_converged(tree)
    if not problems:
        return tree
    log(f"  capacity model: {'; '.join(problems)} with {draws:,} draws per chain; sampling again with {2 * draws:,}")
    tree = fit_capacity(loadtest, priors=priors, seed=seed, draws=2 * draws, tune=tune, chains=chains,
                        target_accept=target_accept)
    tree.attrs["resampled_after"] = json.dumps(problems)
    return tree


def capacity_sampler_used(fits: dict, opts: RunOptions) -> dict:
    """The capacity sampler's settings as run: the draws per chain it kept, the NUTS target acceptance of the kept fit
    (and the divergences that made it retry at a higher one, ``divergences_before_retry``), and, when it was run
    again with more draws, the problems of the first run (``resampled_after``)."""
    used = dict(capacity_sampler_settings(opts))
    used["draws"] = int(fits["capacity"]["posterior"].sizes[DRAW])
    used.update(sampler_record(fits["capacity"]))
    return used


def sampler_record(capacity: xr.DataTree) -> dict:
    """How a capacity fit was sampled, from its attrs: ``target_accept`` of the kept fit, the divergences that made
    it retry at a higher one (``divergences_before_retry``), and the checks that made ``fit_capacity_checked`` run it
    again with twice the draws (``resampled_after``); keys only where they apply."""
    attrs = capacity.attrs
    out: dict = {}
    if attrs.get("target_accept") is not None:
        out["target_accept"] = float(attrs["target_accept"])
    if attrs.get("divergences_before_retry") is not None:
        out["divergences_before_retry"] = int(attrs["divergences_before_retry"])
    after = attrs.get("resampled_after")
    if after:
        out["resampled_after"] = json.loads(after) if isinstance(after, str) else list(after)
    return out


def fit_models(inputs: dict, opts: RunOptions, seed: int, log=print) -> dict:
    from bayescap.models.traffic import fit_traffic

    base = inputs["scenarios"][0]
    priors = base.priors or {}
    t0 = time.perf_counter()
    capacity = fit_capacity_checked(inputs["loadtest"], priors=priors.get("capacity"), seed=seed,
                                    log=log, **capacity_sampler_settings(opts))
    log(f"  capacity model fitted in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    history = _recent(inputs["traffic"], opts.history_days)
    traffic = fit_traffic(
        history,
        intraday=inputs["intraday"],
        options=traffic_options(base),
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
    traffic = xr.concat([_thin(t, n) for t in traffic_list], dim=SCENARIO, join="outer")
    capacity = xr.concat([_thin(c, n) for c in capacity_list], dim=SCENARIO, join="outer")
    traffic = traffic.assign_coords({SCENARIO: names})
    capacity = capacity.assign_coords({SCENARIO: names})
    return traffic, capacity


# Posterior quantities the report states (directly or through derived numbers). Divergences and
# R-hat are checked over every sampled parameter; the ESS threshold applies to these, as the report
# promises ("ESS_bulk < 400 on a reported quantity"). The ESS of every sampled parameter is kept too.
REPORTED_VARS = {
    "capacity": ("sigma", "lam", "sigma_cluster", "lam_cluster"),
    "traffic": ("lift_mean", "event_lift", "new_event_lift", "sigma_normal", "sigma_event", "nu", "phi", "competitor_effect", "drift"),
}


def with_reported_ess(diag: dict, idata: xr.DataTree, model: str) -> dict:
    """``diag`` with the ESS of the quantities the report states (``REPORTED_VARS``), as the run's checks use it."""
    from arviz_stats import ess

    post = idata["posterior"].to_dataset()
    names = [v for v in REPORTED_VARS[model] if v in post and post[v].size > 0]
    out = dict(diag)
    out["min_ess_bulk_all_sampled"] = diag.get("min_ess_bulk")
    out["chains"], out["draws"] = int(post.sizes[CHAIN]), int(post.sizes[DRAW])  # kept draws per chain
    if names:
        for method in ("bulk", "tail"):
            e = ess(post[names], method=method)
            out[f"min_ess_{method}"] = float(np.nanmin([float(e[v].min(skipna=True)) for v in names]))
        out["ess_vars"] = names
    return out


def scale_cost_rows(capacity: xr.DataTree, scenario, prices) -> list[dict]:
    """Scale up or out? Posterior cost per 1,000 req/s (USD/month) of 4 small vs 1 large node, per tier.

    Both options have the same vCPUs (4 x <family>.large vs 1 x <family>.2xlarge of the tier's
    instance family); the small fleet pays the scale-out contention (sigma', kappa'), the large node
    the scale-up contention of its cores.
    """
    from bayescap.models.capacity import scale_up_vs_out

    rows = []
    for tier in scenario.tiers:
        family = tier.instance_type.split(".")[0]
        options = ((f"{family}.large", 4), (f"{family}.2xlarge", 1))
        if any(name not in prices.index for name, _ in options):
            continue
        ds = scale_up_vs_out(capacity, prices, tier=tier.name, options=options, config=tier.config)
        per_month = ds["usd_per_hour_per_1000_rps"] * HOURS_PER_MONTH
        labels = {0: "4 small nodes (scale out)", 1: "1 node 4x larger (scale up)"}
        for i, (name, nodes) in enumerate(options):
            v = per_month.isel(option=i).values.ravel()
            rows.append(
                {
                    "tier": tier.name,
                    "option": f"{labels[i]}: {nodes} x {name}",
                    "unit": "USD/month",
                    "usd_per_1000_rps": {
                        "median": float(np.median(v)),
                        "q05": float(np.quantile(v, 0.05)),
                        "q95": float(np.quantile(v, 0.95)),
                    },
                    "p_cheapest": float(ds["is_cheapest"].isel(option=i).mean()),
                    # no cluster rows for the tier: the scale-out option's contention is the prior's
                    "scale_out_prior": bool(ds.attrs["cluster_prior_only"]),
                }
            )
    return rows


def prior_data_conflicts(fits: dict) -> list[str]:
    """Posteriors piled against a bound the models impose (see ``bayescap.checks.bound_conflicts``).

    Capacity: contention sigma and sigma' live in [0, 1] (kappa = 0 is a modelled possibility, not a
    conflict). Traffic: the Student-t degrees of freedom have a lower bound ``nu_min`` (bounded tails).
    """
    import json

    from bayescap.checks import bound_conflicts

    out = bound_conflicts(
        fits["capacity"]["posterior"].to_dataset(),
        {"sigma": (0.0, 1.0), "sigma_cluster": (0.0, 1.0)},
        model="capacity",
    )
    traffic = fits["traffic"]
    priors = traffic.attrs.get("priors", {})
    priors = json.loads(priors) if isinstance(priors, str) else priors
    if "nu_min" in priors:
        out += bound_conflicts(traffic["posterior"].to_dataset(), {"nu": (float(priors["nu_min"]), None)}, model="traffic")
    return out


def stated_fleets(summary: dict) -> list[Fleet]:
    """The fleets the report states: each scenario's recommended fleet per tier, and each intensity sweep point's."""
    out = [Fleet(sc["name"], tier, f["servers"]) for sc in summary["scenarios"] for tier, f in sc["fleet"].items()]
    for point in (summary.get("sweep") or {}).get("points", []):
        out += [Fleet(f"{point['intensity']:g}", tier, f["servers"], in_sweep=True)
                for tier, f in (point.get("fleet") or {}).items()]
    return out


def _thin(ds: xr.Dataset, n: int) -> xr.Dataset:
    """Keep ``n`` evenly spaced draws (from every chain alike), renumbered 0..n-1.

    The two posteriors are independent, so pairing traffic draw i with capacity draw i is a valid
    joint draw; thinning evenly keeps every chain represented.
    """
    idx = np.linspace(0, ds.sizes[DRAW] - 1, n).round().astype(int)
    return ds.isel({DRAW: idx}).assign_coords({DRAW: np.arange(n)})


def run_forecast(opts: RunOptions, *, argv: list[str] | None = None, log=print) -> Path:
    """Run the whole job; returns the completed run directory."""
    from bayescap.checks import model_checks
    from bayescap.fit_reuse import check_reuse_folders
    from bayescap.models.capacity import diagnostics as capacity_diagnostics
    from bayescap.models.capacity import summarise_capacity
    from bayescap.models.traffic import diagnostics as traffic_diagnostics
    from bayescap.models.traffic import summarise_traffic
    from bayescap.report import build_report
    from bayescap.simulate import risk_statements, simulate, summarise

    t_start = time.perf_counter()
    check_reuse_folders(opts.reuse_from)
    inputs = load_inputs(opts)
    for note in inputs["notes"]:
        log(f"note: {note}")
    scenarios = inputs["scenarios"]
    seed = opts.seed if opts.seed is not None else (scenarios[0].seed or DEFAULT_SEED)
    log(f"bayescap {__version__}: {len(scenarios)} scenario(s), seed {seed}, {opts.chains}x{opts.draws} draws")

    backtest_skipped = None
    if opts.backtest:  # the backtest is evidence next to the forecast: a history too short for it skips it, said
        from bayescap.backtest.in_forecast import backtest_train_days

        try:
            backtest_train_days(inputs["traffic"], opts.history_days)
        except InputError as exc:
            backtest_skipped = f"no backtest: it needs {exc.expected}"
            log(f"note: {backtest_skipped}")
    fits, key, reused_from = fit_or_reuse(inputs, opts, seed, log=log)
    backtest = None
    if opts.backtest and backtest_skipped is None:
        backtest = backtest_or_reuse(inputs, opts, seed, key, reused_from, log=log)
    traffic_draws, capacity_draws = scenario_draws(inputs, fits, seed)
    sim = simulate(traffic_draws, capacity_draws, scenarios, inputs["prices"])

    diagnostics = {
        # each model knows which of its quantities are sampled (and which are exact or pinned at a bound)
        "capacity": with_reported_ess(capacity_diagnostics(fits["capacity"]), fits["capacity"], "capacity"),
        "traffic": with_reported_ess(traffic_diagnostics(fits["traffic"]), fits["traffic"], "traffic"),
    }
    checks = model_checks(diagnostics, backtest)
    conflicts = prior_data_conflicts(fits)
    if conflicts:
        checks = {"ok": False, "problems": [*checks["problems"], *conflicts]}
    summary = summarise(sim, scenarios)
    summary["schema_version"] = 1
    summary["statements"] = risk_statements(sim, scenarios)
    summary["checks"] = {**checks, "models": diagnostics}
    summary["capacity"] = summarise_capacity(fits["capacity"])
    summary["traffic"] = summarise_traffic(fits["traffic"])
    summary["scale_cost"] = scale_cost_rows(fits["capacity"], scenarios[0], inputs["prices"])
    summary["backtest"] = backtest
    sweep = inputs.get("sweep")
    if sweep is not None:
        summary["sweep"] = run_sweep(inputs, fits, sweep, seed, log=log)
    summary["caveats"] = [
        *report_caveats(fits["history"], fits["traffic"], scenarios),
        *capacity_caveats(fits["capacity"], capacity_draws, stated_fleets(summary)),
    ]
    for caveat in summary["caveats"]:
        log(f"caveat: {caveat['text']}")
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
        "capacity_sampler": capacity_sampler_used(fits, opts),
        "history_days": opts.history_days,
        "traffic_options": traffic_options(scenarios[0]),  # the choices the scenario file made, not the defaults
        "backtest_skipped": backtest_skipped,
        "fit_key": key,
        "fits_reused_from": None if reused_from is None else run_label(reused_from, opts.out),
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
        "fit_key": key,
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(opts).items()},
        "inputs": summary["run"]["inputs"],
        "versions": summary["run"]["versions"],
        "scenarios": [asdict(s) for s in scenarios],
    }

    with staged_run_dir(opts.out, scenarios[0].name) as (tmp, final):
        (tmp / "inputs").mkdir()
        for key, path in input_paths.items():
            if path is not None:
                shutil.copy2(path, tmp / "inputs" / f"{key}{Path(path).suffix}")
        posteriors = xr.DataTree.from_dict({"/capacity": fits["capacity"], "/traffic": fits["traffic"]})
        posteriors.attrs = {"seed": seed, "bayescap_version": __version__}
        write_datatree(tmp / "posteriors.nc", posteriors)
        write_datatree(tmp / "simulation.nc", xr.DataTree(sim))
        write_json(tmp / "summary.json", round_significant(summary, SUMMARY_DIGITS))
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


def round_significant(obj, digits: int):
    """A copy of ``obj`` (nested dicts/lists) with every float rounded to ``digits`` significant digits."""
    if isinstance(obj, float):
        if not np.isfinite(obj) or obj == 0.0:
            return obj
        return float(f"{obj:.{digits}g}")
    if isinstance(obj, dict):
        return {k: round_significant(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [round_significant(v, digits) for v in obj]
    return obj
