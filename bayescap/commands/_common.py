"""Options shared by several sub-commands."""

from __future__ import annotations

import argparse
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = REPO_ROOT / "data"
EXAMPLE_DIR = DATA_DIR / "example"

DEFAULT_INPUTS = {
    "scenario": EXAMPLE_DIR / "scenarios.toml",
    "traffic": EXAMPLE_DIR / "traffic.csv",
    "intraday": EXAMPLE_DIR / "traffic_hourly.csv",
    "loadtest": EXAMPLE_DIR / "loadtest.csv",
    "prices": DATA_DIR / "prices" / "aws_ec2_ondemand_us_east_1.csv",
}


def add_input_options(parser: argparse.ArgumentParser) -> None:
    """--scenario/--traffic/--intraday/--loadtest/--prices, defaulting to the example in data/."""
    g = parser.add_argument_group("inputs (default: the example in data/)")
    g.add_argument("--scenario", type=Path, default=DEFAULT_INPUTS["scenario"], help="scenario TOML file")
    g.add_argument("--traffic", type=Path, default=DEFAULT_INPUTS["traffic"], help="daily traffic history CSV")
    g.add_argument(
        "--intraday",
        type=Path,
        default=None,
        help="hourly or finer traffic CSV (timestamp,count) for the intraday peak factor "
        "(default: the example's file when --traffic is the example; 'none' to use the prior)",
    )
    g.add_argument("--loadtest", type=Path, default=DEFAULT_INPUTS["loadtest"], help="load-test CSV")
    g.add_argument("--prices", type=Path, default=DEFAULT_INPUTS["prices"], help="instance price CSV")


def resolve_intraday(args: argparse.Namespace) -> Path | None:
    """The intraday file to use: explicit, 'none', or the example's when the example traffic is used."""
    if args.intraday is not None:
        return None if str(args.intraday).lower() == "none" else args.intraday
    if Path(args.traffic).resolve() == DEFAULT_INPUTS["traffic"].resolve():
        return DEFAULT_INPUTS["intraday"]
    return None


def _days(text: str) -> int:
    """``--history-days``: 0 (all the history) or at least the traffic reader's minimum history (8 weeks)."""
    from bayescap.inputs.traffic import MIN_HISTORY_DAYS

    try:
        value = int(text)
    except ValueError:
        value = -1
    if value != 0 and value < MIN_HISTORY_DAYS:
        raise argparse.ArgumentTypeError(
            f"0 (all the history) or a whole number of days >= {MIN_HISTORY_DAYS} (8 weeks, to separate weekdays "
            f"from events), got {text!r}")
    return value


def whole_number(least: int, most: int | None = None):
    """An argparse type: a whole number from ``least`` (to ``most``), named in the error. Sampler settings and seeds
    are checked here: ``--tune -1`` used to be reported from inside the capacity fit, doubled ("tune=-2"), and a
    negative seed failed inside nutpie with a traceback."""
    expected = f"a whole number >= {least}" if most is None else f"a whole number from {least} to {most}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = least - 1
        if value < least or (most is not None and value > most):
            raise argparse.ArgumentTypeError(f"{expected}, got {text!r}")
        return value

    return parse


SEED_MAX = 2**32 - 1
"""The largest seed: the scenario file's ``seed`` has the same bounds (nutpie takes an unsigned seed)."""
seed_arg = whole_number(0, SEED_MAX)


def add_history_days_option(parser: argparse.ArgumentParser) -> None:
    """``--history-days``: how many of the most recent days the traffic model is fitted on (forecast and check)."""
    parser.add_argument(
        "--history-days",
        type=_days,
        default=730,
        help="the traffic model is fitted on the most recent N days of the history (default 730; 0 = all)",
    )


def add_sampling_options(parser: argparse.ArgumentParser, *, draws: int = 1000, tune: int = 1000, chains: int = 2) -> None:
    g = parser.add_argument_group("sampling")
    g.add_argument("--seed", type=seed_arg, default=None,
                   help="random seed (default: the scenario file's seed, else 20261126)")
    g.add_argument("--draws", type=whole_number(1), default=draws, help=f"posterior draws per chain (default {draws})")
    g.add_argument("--tune", type=whole_number(0), default=tune, help=f"tuning steps per chain (default {tune})")
    g.add_argument("--chains", type=whole_number(1), default=chains, help=f"chains (default {chains})")


def add_json_option(parser: argparse.ArgumentParser, what: str) -> None:
    """--json FILE (written atomically; NaN and infinity as null) and --force (replace an existing FILE)."""
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help=f"also write {what} as JSON to FILE")
    parser.add_argument("--force", action="store_true", help="replace --json FILE if it exists (refused otherwise)")


def check_json_target(args: argparse.Namespace) -> None:
    """Refuse an existing --json FILE without --force, before any work is done."""
    if args.json is not None:
        from bayescap.ingest._files import refuse_overwrite

        refuse_overwrite(args.json, args.force, "--json file")


def write_json_output(args: argparse.Namespace, payload: dict) -> None:
    """Write ``payload`` to --json FILE, if given, and say where."""
    if args.json is not None:
        from bayescap.runstore import write_json

        write_json(args.json, payload)
        print(f"wrote {args.json}")
