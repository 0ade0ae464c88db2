"""`bayescap diagnose RUN_DIR`: the analyst's convergence table and trace, rank and PPC plots."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

MAX_PLOT_VARS = 6
MAX_ELEMENTS_PER_VAR = 12


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "diagnose",
        help="print sampler diagnostics and write trace, rank and PPC plots of a saved run",
        description=(
            "For each model of a saved run (posteriors.nc: capacity, traffic), print divergences, the worst "
            "R-hat and the smallest bulk/tail effective sample size per variable, and the verdict of the "
            "model checks (R-hat <= 1.01, bulk ESS >= 400, no divergences). Writes trace, rank and posterior "
            "predictive plots (PNG, ArviZ) into RUN_DIR/diagnostics-<YYYYMMDD-HHMMSS>/."
        ),
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run directory written by 'bayescap forecast'")
    p.add_argument("--no-plots", action="store_true", help="print the table only")
    p.set_defaults(func=run)


def diagnostics_table(name: str, diag: dict) -> str:
    """The diagnostics of one model as fixed-width text."""
    from bayescap.report.formatting import fmt_int, fmt_r_hat

    lines = [
        f"{name}: divergences {fmt_int(diag.get('divergences'))}, chains {diag.get('chains')}, "
        f"draws per chain {diag.get('draws')}"
    ]
    lines.append(f"  {'variable':<28} {'max r_hat':>10} {'ess_bulk':>10} {'ess_tail':>10}")
    for var, v in (diag.get("variables") or {}).items():
        lines.append(
            f"  {var:<28} {fmt_r_hat(v.get('max_r_hat')):>10} {fmt_int(v.get('min_ess_bulk')):>10} "
            f"{fmt_int(v.get('min_ess_tail')):>10}"
        )
    return "\n".join(lines)


def ppc_lines(node) -> list[str]:
    """The traffic model's posterior predictive check (``bayescap.checks.traffic_ppc_of``) as text: per statistic, the
    observed value, the replicated histories' 95% interval and the posterior predictive p-value."""
    from bayescap.checks import traffic_ppc_of

    check = traffic_ppc_of(node)
    if check is None:
        return []
    lines = [f"  posterior predictive check of daily {check['variable']} (replicated histories, "
             f"{check['level']:.0%} interval): {'passed' if check['ok'] else 'FAILED'}"]
    for key, st in check["statistics"].items():
        lines.append(f"    {key:<8} (quantile {st['quantile']:g}): observed {st['observed']:,.0f}, replicated "
                     f"{st['lo']:,.0f}..{st['hi']:,.0f}, p(replicated >= observed) = {st['p_replicated_above']:.3f}")
    if check.get("outliers"):
        lines.append(f"    {check['days_outside']} days outside all {check['draws']:,} replicas of the day (a model "
                     f"that fits leaves about {check['outliers_by_chance']:.1f} there by chance); the furthest:")
    for o in check.get("outliers") or []:
        lines.append(f"      {o['date']}: observed {o['observed']:,.0f}, {o['side']} them "
                     f"(their median {o['replicated_median']:,.0f})")
    return lines


def load_test_lines(node) -> list[str]:
    """The capacity model's load-test check (``bayescap.checks.capacity_ppc_of``), as ``bayescap capacity`` prints it."""
    from bayescap.checks import capacity_ppc_of
    from bayescap.commands.capacity import format_ppc

    names = ("observed_data", "posterior_predictive", "constant_data")
    groups = {g: node[g].to_dataset() for g in names if g in node.children}
    line = format_ppc(capacity_ppc_of(*(groups.get(g) for g in names)))
    return [] if line is None else [f"  {line}"]


def _plot_vars(post) -> list[str]:
    from bayescap.dims import CHAIN, DRAW

    out = []
    for name, da in post.data_vars.items():
        n = 1
        for d, size in da.sizes.items():
            if d not in (CHAIN, DRAW):
                n *= size
        if n <= MAX_ELEMENTS_PER_VAR:
            out.append(name)
    return out[:MAX_PLOT_VARS]


def _ppc_tree(node):
    """Observed and replicated data for the PPC plot, on the log scale where the data are positive and span
    more than a factor of 10 (daily visits with event days: on the raw scale the event days are a flat tail)."""
    import numpy as np
    import xarray as xr

    obs = node["observed_data"].to_dataset()
    rep = node["posterior_predictive"].to_dataset()
    logged = {}
    for name in set(obs.data_vars) & set(rep.data_vars):
        v = np.asarray(obs[name].values, dtype=float)
        v = v[np.isfinite(v)]
        if v.size and v.min() > 0 and v.max() > 10 * v.min():
            logged[name] = f"log {name}"
    if not logged:
        return node
    with np.errstate(divide="ignore", invalid="ignore"):
        obs = obs.assign({n: np.log(obs[n]) for n in logged}).rename(logged)
        rep = rep.assign({n: np.log(rep[n]) for n in logged}).rename(logged)
    return xr.DataTree.from_dict({"posterior_predictive": rep, "observed_data": obs})


def write_plots(tree, out_dir: Path) -> list[Path]:
    """Trace, rank and PPC plots per model as PNG files; returns the files written."""
    import arviz_plots as azp
    import matplotlib.pyplot as plt

    written = []
    for model in tree.children:
        node = tree[model]
        if "posterior" not in node.children:
            continue
        names = _plot_vars(node["posterior"].to_dataset())
        jobs = []
        if names:
            jobs += [
                ("trace", lambda n=node, v=names: azp.plot_trace_dist(n, var_names=v, backend="matplotlib")),
                ("rank", lambda n=node, v=names: azp.plot_rank(n, var_names=v, backend="matplotlib")),
            ]
        if "posterior_predictive" in node.children and "observed_data" in node.children:
            jobs.append(("ppc", lambda n=node: azp.plot_ppc_dist(
                _ppc_tree(n), backend="matplotlib", num_samples=50, figure_kwargs={"figsize": (8, 4)})))
        for kind, make in jobs:
            before = set(plt.get_fignums())
            try:
                pc = make()
                path = out_dir / f"{model}-{kind}.png"
                pc.savefig(path, dpi=100, bbox_inches="tight")
                written.append(path)
            finally:
                for num in set(plt.get_fignums()) - before:
                    plt.close(num)
    return written


def run(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from bayescap.checks import diagnostics_from_idata, model_checks
    from bayescap.errors import OutputError
    from bayescap.report.run_files import read_run

    files = read_run(args.run_dir)
    if files.posteriors is None:
        raise OutputError(f"{files.run_dir}: no posteriors.nc, nothing to diagnose")
    diags = {}
    for model in files.posteriors.children:
        node = files.posteriors[model]
        if "posterior" not in node.children:
            continue
        diags[model] = diagnostics_from_idata(node)
        print(diagnostics_table(model, diags[model]))
        for line in ppc_lines(node) if model == "traffic" else load_test_lines(node) if model == "capacity" else []:
            print(line)
        print()
    verdict = model_checks(diags, files.summary.get("backtest"))
    print("model checks: " + ("passed" if verdict["ok"] else "FAILED: " + "; ".join(verdict["problems"])))
    if not args.no_plots:
        out_dir = files.run_dir / f"diagnostics-{dt.datetime.now():%Y%m%d-%H%M%S}"
        i = 1
        while out_dir.exists():
            out_dir = out_dir.with_name(out_dir.name.split("~")[0] + f"~{i}")
            i += 1
        try:
            out_dir.mkdir(parents=True)
        except OSError as exc:
            raise OutputError(f"{out_dir}: cannot create the plot folder ({exc.strerror})") from None
        for path in write_plots(files.posteriors, out_dir):
            print(path)
    return 0
