"""`bayescap backtest TRAFFIC.csv`: rolling-origin backtest of the traffic model against baselines."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pandas as pd

from bayescap.backtest.protocol import N_WINDOWS, WINDOW_DAYS
from bayescap.backtest.uncertainty import BLOCK_DAYS
from bayescap.commands._common import add_json_option, check_json_target, seed_arg, whole_number, write_json_output
from bayescap.errors import InputError, ModelError
from bayescap.inputs.csvfile import did_you_mean

DEFAULT_SEED = 20261126

EPILOG = """\
example:
  bayescap backtest data/real/traffic/traffic_wikipedia_peyton_manning.csv --json backtest.json

Protocol: the last 112 days form 4 consecutive 28-day test windows; before each window
the traffic model is refitted on the 730 days just before it, and flagged event days
(and competitor-event days) inside the window count as known future events. Metrics are pooled over all test days
(missing days left out): relCRPS = mean CRPS of the predictive draws / mean actual
(lower is better), cov80 / cov95 = share of actuals inside the central 80% / 95%
intervals (ideal 0.80 / 0.95), MAPE of the predictive median, and seconds per origin
(fit + forecast; on a new machine the first origin includes compiling the log density).
Baselines in the same run: seasonal naive (same weekday one week earlier, spread from
the empirical weekly log-changes) and Prophet (MAP, raw and log counts, event days as
holidays; skipped with a note when Prophet is not installed).
--before DAYS runs the same protocol on the history as it stood DAYS days earlier: compare
settings (priors, options) on such validation periods and run the last days once, at the end.
--train-days DAYS backtests a history shorter than 842 days with fewer training days (at least 182).
--windows N scores N windows of 28 days instead of 4 (more days, a steadier comparison of settings).
Each relCRPS comes with a 90% interval from resampling the test days in blocks of two weeks, and bayescap is compared
with each baseline on the same resampled days: how much of a score, or of a lead, is which days happened to be tested.
--compare-to EARLIER.json compares this run with an earlier --json of the same days in the same way, e.g.
  bayescap backtest PEYTON.csv --before 112 --windows 75 --methods bayescap --json defaults.json
  bayescap backtest PEYTON.csv --before 112 --windows 75 --methods bayescap --option knot_spacing=3 \\
      --compare-to defaults.json
--prior KEY=VALUE and --option KEY=VALUE (each repeatable) change one of the traffic model's priors or
options (docs/traffic_model.md, "Priors"), e.g. to compare a setting on a validation period:
  bayescap backtest PEYTON.csv --before 112 --windows 75 --methods bayescap --option knot_spacing=3

TRAFFIC.csv is a traffic history (date,count,event_<type>...). Prophet's Peyton Manning
example layout (date,views,log_views,is_playoff_game,...) is also accepted.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "backtest",
        help="backtest the traffic model (4 x 28-day windows) against seasonal naive and Prophet",
        description="Rolling-origin backtest of the Bayesian traffic model on a daily history, with "
        "relCRPS, interval coverage, MAPE and time per origin, next to seasonal-naive and Prophet baselines.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("traffic", type=Path, metavar="TRAFFIC.csv", help="daily traffic history CSV")
    add_json_option(parser, "{method: metrics}")
    parser.add_argument("--seed", type=seed_arg, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument(
        "--draws", type=whole_number(1), default=1000,
        help="posterior draws per chain (default 1000; x 2 chains = 2000 predictive draws)",
    )
    parser.add_argument("--tune", type=whole_number(1), default=1000, help="tuning steps per chain (default 1000)")
    parser.add_argument("--chains", type=whole_number(1), default=2, help="chains (default 2)")
    parser.add_argument(
        "--competitor-events",
        choices=("effect", "exclude"),
        default="effect",
        help="competitor-event days: estimate a drop ('effect', default) or leave them out of the likelihood",
    )
    parser.add_argument(
        "--before",
        type=int,
        default=0,
        metavar="DAYS",
        help="run the protocol on the history as it stood DAYS days before its last day (a validation period: "
        "compare settings there and keep the last days for one final test; default 0)",
    )
    parser.add_argument(
        "--train-days",
        type=int,
        default=730,
        metavar="DAYS",
        help="training days before each window (default 730, the protocol's; fewer for a shorter history, "
        "at least 182)",
    )
    parser.add_argument(
        "--windows",
        type=int,
        default=N_WINDOWS,
        metavar="N",
        help=f"consecutive {WINDOW_DAYS}-day test windows (default {N_WINDOWS}, the protocol's)",
    )
    parser.add_argument(
        "--prior",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a traffic-model prior (repeatable), e.g. rw_sd_per_knot=0.05",
    )
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a traffic-model option (repeatable), e.g. knot_spacing=14, ar1=false, fourier_order=6",
    )
    parser.add_argument(
        "--compare-to",
        type=Path,
        default=None,
        metavar="EARLIER.json",
        help="an earlier backtest's --json file of the same days: each method is compared with its earlier self day "
        "by day, with an interval for the change (is a changed setting's gain more than which days were tested?)",
    )
    parser.add_argument(
        "--methods",
        default="bayescap,seasonal_naive,prophet_raw,prophet_log",
        help="comma-separated methods to run (default: all four)",
    )
    parser.set_defaults(func=run)


def load_history(path: Path) -> pd.DataFrame:
    """A traffic history in the input contract; Prophet's Peyton Manning layout is converted on the fly."""
    from bayescap.backtest.data import is_peyton_manning_layout, peyton_manning_history

    try:
        header = pd.read_csv(path, nrows=0).columns
    except FileNotFoundError:
        raise InputError(path, None, "an existing traffic CSV file") from None
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputError(path, "header", f"a CSV file ({exc})") from None
    if is_peyton_manning_layout(header):
        return peyton_manning_history(path)
    from bayescap.inputs.traffic import read_traffic

    return read_traffic(path)


def parse_setting(text: str, flag: str) -> tuple[str, object]:
    """``KEY=VALUE`` from --prior/--option: the value as TOML reads it (3, 0.05, true), else as a plain word."""
    import tomllib

    key, sep, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    if not sep or not key or not raw:
        raise InputError(None, flag, f"KEY=VALUE, got '{text}'")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key, value


def model_settings(prior_args: list[str], option_args: list[str], competitor_events: str) -> tuple[dict, dict]:
    """The traffic model's ``(priors, options)`` overrides from the command line, each checked against the model's
    own names and bounds before any fitting; a bad one is an InputError naming the flag and the key."""
    from bayescap.models.traffic_priors import DEFAULT_OPTIONS, DEFAULT_PRIORS, check_option, merge_priors

    settings = {"--prior": ({}, DEFAULT_PRIORS, lambda k, v: merge_priors({k: v})),
                "--option": ({}, DEFAULT_OPTIONS, check_option)}
    for flag, texts in (("--prior", prior_args), ("--option", option_args)):
        out, known, check = settings[flag]
        for text in texts:
            key, value = parse_setting(text, flag)
            if key == "competitor_events":
                raise InputError(None, flag, "--competitor-events effect|exclude for competitor_events")
            if key not in known:
                hint = did_you_mean(key, known, otherwise=f"; known: {', '.join(sorted(known))}")
                raise InputError(None, f"{flag} {key}", f"a traffic-model {flag[2:]} name, got '{key}'{hint}")
            if flag == "--prior" and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise InputError(None, f"{flag} {key}", f"a number, got '{text.partition('=')[2].strip()}'")
            try:
                check(key, value)
            except (ModelError, TypeError, ValueError) as exc:
                raise InputError(None, f"{flag} {key}", str(exc)) from None
            out[key] = value
    priors, options = settings["--prior"][0], settings["--option"][0]
    return priors, {"competitor_events": competitor_events, **options}


def _fmt(x: float) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.3f}"


def _interval(pair) -> str:
    return "n/a" if not pair else f"{_fmt(pair[0])}-{_fmt(pair[1])}"


def format_comparison(name: str, c: dict, *, a: str = "bayescap") -> str:
    """One line of a paired comparison (:func:`bayescap.backtest.run.compare_methods`)."""
    lo, hi = c["interval"]
    return (f"  {name}: relCRPS {c['difference']:+.4f} ({100 * c['level']:.0f}%: {lo:+.4f} to {hi:+.4f}), summed CRPS "
            f"{100 * c['relative']:+.1f}%; {a} better in {100 * c['share_a_better']:.1f}% of resamples and in "
            f"{c['windows_a_better']} of {c['n_windows']} windows")


def _settings_text(protocol: dict) -> str:
    changed = {**(protocol.get("traffic_priors") or {}),
               **{k: v for k, v in (protocol.get("traffic_options") or {}).items() if k != "competitor_events"}}
    parts = [f"seed {protocol['seed']}"] if "seed" in protocol else []
    parts.append(", ".join(f"{k}={v}" for k, v in changed.items()) if changed else "default settings")
    return f" ({'; '.join(parts)})"


def format_table(result: dict) -> str:
    """The printed table (separate from the run so it can be tested without fitting)."""
    from bayescap.backtest.in_forecast import coverage_ranges_for
    from bayescap.backtest.run import method_results

    scored = list(method_results(result).items())
    level = (result.get("protocol") or {}).get("interval_level", 0.9)
    head = f"{100 * level:.0f}% interval"
    lines = [f"{'method':<16}{'relCRPS':>9}{head:>15}{'cov80':>8}{'cov95':>8}{'MAPE':>8}{'s/origin':>10}"]
    for method, m in scored:
        lines.append(
            f"{method:<16}{_fmt(m['rel_crps']):>9}{_interval(m.get('rel_crps_interval')):>15}{_fmt(m['cov80']):>8}"
            f"{_fmt(m['cov95']):>8}{_fmt(m['mape']):>8}{m['seconds']:>10.1f}"
        )
    if scored and "days_inside95" in scored[0][1]:
        n = scored[0][1]["n_days"]
        ranges = coverage_ranges_for(n)
        inside = ", ".join(f"{method} {m['days_inside80']} and {m['days_inside95']}" for method, m in scored)
        lines.append(f"days inside the 80% and 95% intervals, of {n}: {inside}; a calibrated forecast stays within "
                     f"cov80 {_interval(ranges['cov80'])} and cov95 {_interval(ranges['cov95'])} with 95% probability")
    tails = [(method, m["days"]["pit"]) for method, m in scored if "pit" in (m.get("days") or {})]
    if tails:
        text = ", ".join(f"{method} {sum(p < 0.025 for p in pits)} and {sum(p > 0.975 for p in pits)}"
                         for method, pits in tails)
        lines.append(f"days below the 2.5% and above the 97.5% quantile (a calibrated forecast: about "
                     f"{0.025 * len(tails[0][1]):.1f} each): {text}")
    if any("rel_crps_interval" in m for _, m in scored):
        block = (result.get("protocol") or {}).get("bootstrap_block_days", BLOCK_DAYS)
        lines.append(f"(relCRPS intervals: the test days resampled in blocks of {block} days; they say how much a score "
                     "owes to which days happened to be tested)")
    if result.get("comparisons"):
        lines.append("bayescap against each baseline on the same days (negative: bayescap forecast better):")
        lines += [format_comparison(other, c) for other, c in result["comparisons"].items()]
    if scored and all("windows" in m for _, m in scored):
        lines.append("relCRPS per test window:")
        for k, w in enumerate(scored[0][1]["windows"]):
            cells = "".join(f"{method} {_fmt(m['windows'][k].get('rel_crps', float('nan')))}  " for method, m in scored)
            lines.append(f"  {w['test_start']}..{w['test_end']}: {cells.rstrip()}")
        lines.append("days that weigh most in each method's score (share of its summed CRPS):")
        for method, m in scored:
            days = "; ".join(
                f"{d['date']} {100 * d['share']:.0f}% (actual {d['actual']:,.0f}, median {d['median']:,.0f})"
                for d in m["top_days"][:3]
            )
            lines.append(f"  {method}: {days}")
    against = result.get("compared_to")
    if against:
        settings = _settings_text(against.get("protocol") or {})
        lines.append(f"this run against {against['file']}{settings} on the same days (negative: this run forecast better):")
        lines += [format_comparison(method, c, a="this run") for method, c in against["methods"].items()]
    for o in result.get("bayescap", {}).get("origins", []):
        lines.append(
            f"  bayescap origin {o['origin'] + 1} ({o['test_start']}..{o['test_end']}): divergences {o['divergences']}, "
            f"max r_hat {o['max_r_hat']:.3f}, min ESS {o['min_ess_bulk']:.0f}, yearly order {o.get('fourier_order', '?')}, "
            f"news days {100 * o.get('news_day_share', 0.0):.1f}% of normal days, {o['seconds']:.1f}s"
        )
    for note in result.get("notes", []):
        lines.append(f"note: {note}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from bayescap.backtest.against import check_same_days, compare_with_earlier, observed_test_days, read_earlier_backtest
    from bayescap.backtest.in_forecast import MIN_TRAIN_DAYS
    from bayescap.backtest.protocol import history_before
    from bayescap.backtest.run import METHODS, run_backtest

    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise InputError(None, "--methods", f"methods from {', '.join(METHODS)}, got '{bad[0]}'"
                         + did_you_mean(bad[0], METHODS, cutoff=0.5))
    if args.train_days < MIN_TRAIN_DAYS:
        raise InputError(None, "--train-days", f"at least {MIN_TRAIN_DAYS} days, got {args.train_days}")
    if args.windows < 1:
        raise InputError(None, "--windows", f"at least 1 window, got {args.windows}")
    priors, options = model_settings(args.prior, args.option, args.competitor_events)
    check_json_target(args)
    earlier = read_earlier_backtest(args.compare_to) if args.compare_to is not None else None
    history = history_before(load_history(args.traffic), args.before)
    if earlier is not None:
        days = observed_test_days(history, n_windows=args.windows, window_days=WINDOW_DAYS, train_days=args.train_days)
        check_same_days(earlier, days, methods)
    if args.before:
        print(f"validation period: the history up to {history['date'].max().date()} ({args.before} days before its last day)")
    changed = {**priors, **{k: v for k, v in options.items() if k != "competitor_events"}}
    if changed:
        print("traffic model settings changed: " + ", ".join(f"{k}={v}" for k, v in changed.items()))
    result = run_backtest(
        history,
        seed=args.seed,
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        methods=methods,
        options=options,
        priors=priors or None,
        n_windows=args.windows,
        train_days=args.train_days,
        progress=lambda msg: print(msg, flush=True),
    )
    result["protocol"]["days_before_end"] = args.before
    result["protocol"]["traffic_priors"] = priors
    result["protocol"]["traffic_options"] = options
    if earlier is not None:
        result["compared_to"] = compare_with_earlier(result, earlier, seed=args.seed + 7)
    print(format_table(result))
    write_json_output(args, result)
    return 0
