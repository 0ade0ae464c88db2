"""`bayescap loadtest URL`: measure one tier's throughput curve with a real HTTP load generator."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bayescap.errors import BayescapError, InputError

EPILOG = """\
example:
  bayescap loadtest http://10.0.0.5:8080/api/health --tier app --config c6i.large \\
      --levels 1,2,4,8,16,32 --seconds 5 --out loadtest.csv

Each level keeps N requests in flight (N connections, closed loop) for --seconds
and records successful responses per second. Only the given URL is requested.
wrk or k6 is used when installed (apt-get install wrk), otherwise a Python
generator, which tops out at a few thousand requests/s: point it at something
slower than that, or install wrk. Rows are appended to --out (a repeated n gets
the next 'repeat' number); --force replaces the file.
"""


def _levels(text: str) -> list[int]:
    try:
        values = [float(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"comma-separated whole numbers, got {text!r}") from exc
    if not values or any(v < 1 or not v.is_integer() for v in values):
        raise argparse.ArgumentTypeError(f"comma-separated whole numbers >= 1, got {text!r}")
    return [int(v) for v in values]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "loadtest",
        help="measure a URL's throughput at increasing concurrency and write the load-test CSV",
        description="Drive wrk, k6 or a built-in Python generator against one URL at increasing "
        "concurrency levels, for a short bounded time each, and append the results to the load-test CSV.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("url", help="the one http(s) URL to request")
    parser.add_argument("--tier", required=True, help="tier of the server under test (e.g. app)")
    parser.add_argument("--config", required=True, help="its configuration (instance type, e.g. c6i.large)")
    parser.add_argument("--level", default="node", choices=["node", "cluster"],
                        help="node: the URL is one server; cluster: n is the number of nodes (default node)")
    parser.add_argument("--levels", type=_levels, default=[1, 2, 4, 8, 16],
                        help="concurrency levels, comma-separated (default 1,2,4,8,16)")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per level (default 5, max 600)")
    parser.add_argument("--warmup", type=float, default=0.5,
                        help="seconds per level before counting starts (Python generator; default 0.5)")
    parser.add_argument("--generator", default="auto", choices=["auto", "wrk", "k6", "python"],
                        help="load generator (default auto: wrk, then k6, then python)")
    parser.add_argument("--timeout", type=float, default=5.0, help="per-request timeout in seconds (default 5)")
    parser.add_argument("--out", type=Path, required=True, help="load-test CSV to append to")
    parser.add_argument("--force", action="store_true", help="replace --out with only the new rows")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bayescap.ingest.loadgen import run_levels
    from bayescap.ingest.loadtest_csv import points_to_rows, write_loadtest

    if args.timeout <= 0:
        raise InputError(None, "--timeout", f"a positive number of seconds, got {args.timeout}")
    print(f"load test of {args.url}: levels {','.join(map(str, args.levels))}, {args.seconds:g} s each",
          file=sys.stderr)
    points = run_levels(
        args.url,
        args.levels,
        seconds=args.seconds,
        generator=args.generator,
        warmup=args.warmup,
        timeout=args.timeout,
        progress=lambda line: print(line, file=sys.stderr),
    )
    failed_levels = points[~(points["throughput"] > 0)]
    if len(failed_levels) == len(points):
        raise BayescapError(f"{args.url}: no successful response at any level; is the server up and the URL right?")
    for n in failed_levels["n"]:
        print(f"warning: no successful response at n={n:g}; that level is not written", file=sys.stderr)
    points = points[points["throughput"] > 0].reset_index(drop=True)
    rows = points_to_rows(points, tier=args.tier, config=args.config, level=args.level)
    table = write_loadtest(rows, args.out, force=args.force)
    print(f"wrote {args.out}: {len(table)} rows ({len(rows)} new)", file=sys.stderr)
    return 0
