"""`bayescap forecast`: the main job (what `make forecast` runs)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bayescap.commands._common import (
    REPO_ROOT,
    add_history_days_option,
    add_input_options,
    add_sampling_options,
    resolve_intraday,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "forecast",
        help="fit the models, simulate the scenarios and write the PDF report",
        description=(
            "Fit the capacity and traffic models, simulate every scenario of the scenario file draw by draw, "
            "and write reports/<scenario>-<YYYYMMDD-HHMMSS>/ with report.pdf, summary.json and the posteriors. "
            "Defaults to the example in data/."
        ),
    )
    add_input_options(p)
    add_sampling_options(p)
    p.add_argument("--out", type=Path, default=REPO_ROOT / "reports", help="folder for run directories (default reports/)")
    add_history_days_option(p)
    p.add_argument(
        "--refit",
        action="store_true",
        help="sample both models even when an earlier run in --out (or --reuse-from) was fitted to the same data, "
        "priors, seed and settings (by default its posteriors are reused, so changing only scenarios is fast)",
    )
    p.add_argument(
        "--reuse-from",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="also look here for posteriors to reuse (after --out): a run directory, or a folder of runs; may be "
        "given more than once. A run is reused only when fitted to the same data, priors, seed, sampler settings "
        "and code; for a named run that is not, the console says what differs",
    )
    p.add_argument(
        "--backtest",
        action="store_true",
        help="also backtest the traffic model on the history's last 16 weeks (4 x 28 days, a refit before each, "
        "against the seasonal naive forecast) and show it in the report; about 4 fits more (reused with the fits)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bayescap.pipeline import RunOptions, run_forecast

    opts = RunOptions(
        scenario=args.scenario,
        traffic=args.traffic,
        loadtest=args.loadtest,
        prices=args.prices,
        intraday=resolve_intraday(args),
        out=args.out,
        seed=args.seed,
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        history_days=args.history_days or None,
        refit=args.refit,
        backtest=args.backtest,
        reuse_from=tuple(args.reuse_from),
    )
    run_forecast(opts, argv=sys.argv)
    return 0
