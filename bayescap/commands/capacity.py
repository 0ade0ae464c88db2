"""`bayescap capacity LOADTEST.csv`: fit the hierarchical USL and print per-config intervals."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from bayescap.commands._common import add_json_option, add_sampling_options, check_json_target, write_json_output

DEFAULT_SEED = 20261126

EPILOG = """\
example:
  bayescap capacity data/example/loadtest.csv --json capacity.json

The CSV has columns tier,config,n,throughput (optional level = node|cluster and
repeat). Each config gets its own Universal Scalability Law curve
X(N) = lam N / (1 + sigma (N-1) + kappa N (N-1)); configs of one tier share
hyperpriors. Printed per config: posterior median [5%, 95%] of sigma
(contention), kappa (coherency), lam (throughput of one unit), N* (the N of
peak throughput; 'none' when kappa = 0 is plausible) and X_max, then the
sampler diagnostics (divergences, max r_hat, min bulk ESS). The sampler settings
default to the forecast's capacity fit (4 chains x 2,000 draws after 2,000 tuning
steps), so the numbers agree with a forecast's. As in a forecast, a fit that fails
the R-hat or ESS check without divergences is sampled once more with twice the
draws; one that still fails the checks (divergences, R-hat > 1.01, bulk ESS < 400
for sigma and lambda) ends with a warning naming them: rerun with more --draws and
--tune before using it. NUTS samples at target acceptance 0.9 and, only after a
divergent transition, again at 0.98 (the "sampler:" line says which was kept);
--target-accept 0.99 samples once with smaller steps, for a fit that still
diverges.
"""

PARAMS = (("sigma", "sigma"), ("kappa", "kappa"), ("lam", "lambda"), ("n_star", "N*"), ("x_max", "X_max"))


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "capacity",
        help="fit the capacity model to a load-test CSV and print sigma, kappa, lambda, N*, X_max",
        description="Fit the hierarchical Bayesian Universal Scalability Law to a load test and print, "
        "per configuration, the posterior median and 90% interval of sigma, kappa, lambda, N* and X_max.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("loadtest", type=Path, metavar="LOADTEST.csv", help="load-test CSV (tier,config,n,throughput)")
    add_json_option(parser, "the summary")
    add_sampling_options(parser, draws=2000, tune=2000, chains=4)  # the forecast's capacity fit
    parser.add_argument("--target-accept", type=_target_accept, default="auto", metavar="P",
                        help="NUTS target acceptance: 'auto' (default: 0.9, then 0.98 after a divergence) or a "
                        "number between 0 and 1 (sampled once)")
    parser.set_defaults(func=run)


def _target_accept(text: str) -> str | float:
    if text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected 'auto' or a number between 0 and 1, got {text!r}")
    return value


def _fmt(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "none"
    return f"{x:.4g}"


def format_ppc(check: dict | None) -> str | None:
    """The load-test check's line (:func:`bayescap.checks.capacity_ppc`), a warning when it fails."""
    if check is None:
        return None
    line = (f"{check['inside']} of {check['rows']} measurements inside the model's {check['level']:.0%} prediction "
            f"ranges (a model that fits: at least {check['min_inside']})")
    repeats = check.get("repeats") or {}
    if repeats:
        line += "; repeated runs spread " + ", ".join(
            f"{label} {r['observed']:.1%} (replicas {r['replicated']:.1%}, p {r['p']:.3f})" for label, r in repeats.items())
    if check["ok"]:
        return f"load-test check: {line}"
    failed = []
    if check["inside"] < check["min_inside"]:
        failed.append("most outside: " + ", ".join(f"{label} {k} of {n}" for label, (k, n) in list(check["outside"].items())[:3]))
    tight = [label for label, r in repeats.items() if r.get("fails")]
    if tight:
        failed.append(f"repeats far closer than the model's noise: {', '.join(tight)}")
    return (f"warning: the curves miss the load test: {line}; {'; '.join(failed)}. Look for a ceiling that is not "
            "the servers' (network, database, load generator), a change of behaviour between levels, or broken runs")


def format_summary(summary: dict, diag: dict) -> str:
    """The table the command prints (kept separate so it can be tested without a fit)."""
    lines = []
    for config, entry in summary.items():
        lines.append(f"{config}:")
        for key, label in PARAMS:
            v = entry[key]
            lines.append(f"  {label:<6} {_fmt(v['median']):>10}  [{_fmt(v['q05'])}, {_fmt(v['q95'])}]")
        if entry.get("p_kappa_zero", 0.0) > 0.05:
            lines.append(f"  P(kappa = 0, no peak) = {entry['p_kappa_zero']:.2f}")
        c = entry.get("ceiling")
        if c:
            lines.append(
                f"  warning: flat at about {c['value']:.4g} from N = {c['n_from']:g}: an external ceiling "
                "(e.g. the network), not CPU scaling; sigma/kappa describe that ceiling, do not extrapolate them"
            )
    of = f" (of {', '.join(diag['ess_vars'])})" if diag.get("ess_vars") else ""
    lines.append(
        f"diagnostics: divergences {diag['divergences']}, max r_hat {diag['max_r_hat']:.3f}, "
        f"min ess_bulk {diag['min_ess_bulk']:.0f}{of}"
    )
    sampler = diag.get("sampler") or {}
    if sampler.get("target_accept") is not None:
        line = f"sampler: NUTS target acceptance {sampler['target_accept']:g}"
        if sampler.get("divergences_before_retry"):
            line += f", sampled again after {sampler['divergences_before_retry']} divergent transition(s) at a lower one"
        if sampler.get("resampled_after"):
            line += ", and again with twice the draws after: " + "; ".join(sampler["resampled_after"])
        lines.append(line)
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from bayescap.checks import capacity_ppc_of, model_checks
    from bayescap.inputs.loadtest import read_loadtest
    from bayescap.models.capacity import diagnostics, summarise_capacity
    from bayescap.pipeline import fit_capacity_checked, sampler_record, with_reported_ess

    check_json_target(args)
    df = read_loadtest(args.loadtest)
    seed = DEFAULT_SEED if args.seed is None else args.seed
    tree = fit_capacity_checked(df, priors=None, draws=args.draws, tune=args.tune, chains=args.chains, seed=seed,
                                target_accept=args.target_accept)
    summary = summarise_capacity(tree)
    diag = with_reported_ess(diagnostics(tree), tree, "capacity")  # as a forecast's checks see the fit
    diag["sampler"] = sampler_record(tree)
    checks = model_checks({"capacity": diag}, None)
    ppc = capacity_ppc_of(*(tree[g].to_dataset() for g in ("observed_data", "posterior_predictive", "constant_data")))
    print(format_summary(summary, diag))
    if (line := format_ppc(ppc)) is not None:
        print(line)
    if not checks["ok"]:
        print("warning: the fit failed its checks (" + "; ".join(checks["problems"]) + "): do not use these numbers "
              "yet; rerun with more --draws and --tune")
    write_json_output(args, {**summary, "diagnostics": diag, "checks": checks, "load_test_check": ppc})
    return 0
