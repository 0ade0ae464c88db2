"""`bayescap ingest logs|loadtest|prophet`: convert what users already have into bayescap's input CSVs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bayescap.errors import InputError

MIN_HISTORY_DAYS = 56  # what the traffic reader requires to separate weekdays from events

LOGS_EPILOG = """\
examples:
  bayescap ingest logs /var/log/nginx/access.log* --out traffic.csv --hourly traffic_hourly.csv
  bayescap ingest logs 'logs/*.gz' --tz Europe/Berlin --logged-in-cookie session \\
      --tier-split tiers.csv --events sales_holidays.csv --out traffic.csv

The daily file has date,count,peak_rps (requests per local day and in its busiest
second); count is requests, so set requests_per_visit = 1 in the scenario when
you forecast from it. Edge days the log covers only partly are left out.
"""

LOADTEST_EPILOG = """\
examples:
  bayescap ingest loadtest --tool wrk --tier app --config c6i.large --n 8 wrk.txt --out loadtest.csv
  bayescap ingest loadtest --tier app --config c6i.large results/wrk_c*.txt --out loadtest.csv
  bayescap ingest loadtest --tier static --config c6i.xlarge k6_stepped.csv --out loadtest.csv
  bayescap ingest loadtest --tier app --config c6i.large measurements.csv --out loadtest.csv
  bayescap ingest loadtest --tool table --tier nginx --config 'nginx-{response_size_kb}kb' \\
      --where protocol=http --where metric=requests_per_sec nginx_rps_vs_cpus.csv --out loadtest.csv

n comes from --n, else from the tool's own record (k6 VUs, Locust users, wrk
connections, JMeter threads; a stepped run gives one row per step), else from
a number in the file name (c64, users-32, 8vus). Throughput counts successful
requests per second. Rows are appended to --out (a repeated n gets the next
'repeat' number); --force replaces the file.

A table (a spreadsheet export, a published benchmark: one row per measurement)
gives n and throughput from its columns, found by name (n, concurrency, cpus,
processors, users ...; throughput, requests_per_sec, rps, value ...) or named
with --n-column/--throughput-column. A throughput column named ..._per_hour or
..._per_minute is converted to per second. A column under whose values one load
level was measured several times (a protocol, a response size) tells set-ups
apart: choose rows with --where, or make one config per value with a {column}
placeholder in --config (or --tier). See docs/ingest.md.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ingest",
        help="convert access logs, load-test tool outputs or Prophet files into bayescap CSVs",
        description="Convert what you already have into bayescap's input CSVs.",
    )
    sub = parser.add_subparsers(dest="ingest_command", metavar="SOURCE")
    parser.set_defaults(func=lambda args: _help(parser))

    logs = sub.add_parser(
        "logs",
        help="nginx/Apache access logs -> daily traffic CSV (+ hourly/per-minute, tier split)",
        description="Stream nginx/Apache access logs (common or combined format, plain or .gz, several "
        "files or globs) and write daily requests with the peak second of each day.",
        epilog=LOGS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    logs.add_argument("logs", nargs="+", help="log files or glob patterns (rotated logs in any order)")
    logs.add_argument("--out", type=Path, required=True, help="daily traffic CSV to write (date,count,peak_rps,...)")
    logs.add_argument("--hourly", type=Path, help="also write hourly counts (timestamp,count) for --intraday")
    logs.add_argument("--per-minute", type=Path, help="also write per-minute counts (timestamp,count)")
    logs.add_argument("--tz", help="zone for days and hours: +0100 or an IANA name (default: the first line's offset)")
    rule = logs.add_mutually_exclusive_group()
    rule.add_argument("--logged-in-cookie", metavar="NAME", help="a request is logged-in when it carries cookie NAME")
    rule.add_argument("--logged-in-path", metavar="REGEX", help="a request is logged-in when its path matches REGEX")
    logs.add_argument("--tier-split", type=Path, metavar="FILE",
                      help="write the logged-in/anonymous shares (.csv or .json) for the scenario's tier shares")
    logs.add_argument("--events", type=Path, metavar="HOLIDAYS_CSV",
                      help="Prophet-style holidays CSV (holiday,ds[,lower_window,upper_window]) -> event_<type> columns")
    logs.add_argument("--competitor", action="append", default=[], metavar="HOLIDAY",
                      help="a holiday in --events that is a competitor's event (repeatable)")
    logs.add_argument("--keep-partial-days", action="store_true",
                      help="keep a first/last day that the log covers only partly")
    logs.add_argument("--force", action="store_true", help="replace existing output files")
    logs.set_defaults(func=run_logs)

    lt = sub.add_parser(
        "loadtest",
        help="k6 / Locust / wrk / JMeter outputs -> load-test CSV rows",
        description="Read load-test tool outputs and append (n, throughput) rows to the load-test CSV.",
        epilog=LOADTEST_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    lt.add_argument("files", nargs="+", help="tool output files or glob patterns")
    lt.add_argument("--tool", default="auto",
                    choices=["auto", "k6", "k6-csv", "locust", "locust-history", "wrk", "jmeter", "table"],
                    help="which tool wrote the files, or 'table' for a CSV of measurements (default: detect "
                    "from the content)")
    lt.add_argument("--tier", required=True, help="tier the tested server belongs to (e.g. app, static)")
    lt.add_argument("--config", required=True, help="configuration tested (instance type, e.g. c6i.large)")
    lt.add_argument("--level", default="node", choices=["node", "cluster"],
                    help="node: n = concurrency on one node; cluster: n = nodes behind the proxy (default node)")
    lt.add_argument("--n", type=float, help="concurrency of every file (overrides the tool's record)")
    lt.add_argument("--n-pattern", metavar="REGEX", help="regex whose first group is n in the file name")
    lt.add_argument("--min-plateau", type=float, default=3.0, metavar="SECONDS",
                    help="shortest steady level kept from time series outputs (default 3 s)")
    tab = lt.add_argument_group("tables of measurements (--tool table)")
    tab.add_argument("--n-column", metavar="COLUMN", help="the load-level column (default: found by name)")
    tab.add_argument("--throughput-column", metavar="COLUMN", help="the throughput column (default: found by name)")
    tab.add_argument("--throughput-unit", default="auto", choices=["auto", "second", "minute", "hour"],
                     help="the throughput column's time unit (default: from its name, else per second)")
    tab.add_argument("--where", action="append", default=[], metavar="COLUMN=VALUE",
                     help="keep only rows where COLUMN equals VALUE (repeatable)")
    tab.add_argument("--ignore-column", action="append", default=[], metavar="COLUMN",
                     help="a column that only labels repeated runs, such as a run number (repeatable)")
    lt.add_argument("--out", type=Path, required=True, help="load-test CSV to append to")
    lt.add_argument("--force", action="store_true", help="replace --out with only the new rows")
    lt.set_defaults(func=run_loadtest_files)

    pr = sub.add_parser(
        "prophet",
        help="Prophet ds,y history + holidays frame -> traffic CSV",
        description="Convert a Prophet-style history (ds,y) and holidays frame "
        "(holiday,ds,lower_window,upper_window) into the traffic CSV with event_<holiday> columns.",
    )
    pr.add_argument("--history", type=Path, required=True, help="CSV with ds,y (daily)")
    pr.add_argument("--holidays", type=Path, help="Prophet holidays CSV")
    pr.add_argument("--competitor", action="append", default=[], metavar="HOLIDAY",
                    help="a holiday that is a competitor's event -> competitor_event (repeatable)")
    pr.add_argument("--out", type=Path, required=True, help="traffic CSV to write")
    pr.add_argument("--force", action="store_true", help="replace an existing --out")
    pr.set_defaults(func=run_prophet)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 1


def _say(text: str) -> None:
    print(text, file=sys.stderr)


def run_logs(args: argparse.Namespace) -> int:
    from bayescap.ingest._files import atomic_write_csv, atomic_write_text, refuse_overwrite
    from bayescap.ingest.accesslog import (
        aggregate_access_logs,
        iter_malformed_report,
        timestamp_csv_frame,
        traffic_csv_frame,
    )
    from bayescap.ingest.prophet import event_columns

    outputs = [p for p in (args.out, args.hourly, args.per_minute, args.tier_split) if p is not None]
    for path in outputs:
        refuse_overwrite(path, args.force)
    if args.tier_split is not None and not (args.logged_in_cookie or args.logged_in_path):
        raise InputError(None, "--tier-split", "a rule: --logged-in-cookie NAME or --logged-in-path REGEX")
    if args.competitor and args.events is None:
        raise InputError(None, "--competitor", "an --events holidays file that names those holidays")

    result = aggregate_access_logs(
        args.logs,
        tz=args.tz,
        logged_in_cookie=args.logged_in_cookie,
        logged_in_path=args.logged_in_path,
        keep_partial_days=args.keep_partial_days,
    )
    events = event_columns(args.events, result.daily["date"], competitor=args.competitor) if args.events else None
    atomic_write_csv(traffic_csv_frame(result, events), args.out)
    if args.hourly is not None:
        atomic_write_csv(timestamp_csv_frame(result.hourly), args.hourly)
    if args.per_minute is not None:
        atomic_write_csv(timestamp_csv_frame(result.per_minute), args.per_minute)
    if args.tier_split is not None:
        split = result.tier_split()
        if args.tier_split.suffix.lower() == ".json":
            payload = {
                "rule": {"cookie": args.logged_in_cookie} if args.logged_in_cookie else {"path": args.logged_in_path},
                "days": len(result.daily),
                "tiers": {r.tier: {"requests": int(r.requests), "share": round(float(r.share), 6)}
                          for r in split.itertuples(index=False)},
            }
            atomic_write_text(args.tier_split, json.dumps(payload, indent=2) + "\n")
        else:
            atomic_write_csv(split.round({"share": 6}), args.tier_split)

    d = result.daily
    zone = f"UTC{result.tz}" if result.tz[:1] in "+-" else result.tz
    _say(f"read {result.lines} lines from {len(result.files)} file(s); {result.parsed} requests parsed; "
         f"times in {zone}")
    for line in iter_malformed_report(result):
        _say(line)
    if result.dropped_partial_days:
        _say("left out partly covered day(s): " + ", ".join(str(x) for x in result.dropped_partial_days)
             + " (use --keep-partial-days to keep them)")
    if result.missing_days:
        _say(f"warning: {len(result.missing_days)} day(s) inside the span have no requests (missing log files?): "
             + ", ".join(str(x) for x in result.missing_days[:5]) + (" ..." if len(result.missing_days) > 5 else ""))
    if result.late_lines:
        _say(f"note: {result.late_lines} line(s) were logged more than 10 minutes out of time order")
    busiest = d.loc[d["peak_rps"].idxmax()]
    _say(f"wrote {args.out}: {len(d)} days {d['date'].min():%Y-%m-%d} .. {d['date'].max():%Y-%m-%d}, "
         f"median {d['count'].median():.0f} requests/day; busiest second {int(busiest['peak_rps'])} req/s "
         f"at {busiest['peak_time']}")
    if len(d) < MIN_HISTORY_DAYS:
        _say(f"note: {len(d)} days; a forecast needs at least {MIN_HISTORY_DAYS} days (8 weeks) of history")
    if result.logged_in is not None:
        split = result.tier_split()
        _say("tier split: " + ", ".join(f"{r.tier} {r.share:.1%}" for r in split.itertuples(index=False)))
    return 0


def run_loadtest_files(args: argparse.Namespace) -> int:
    from bayescap.ingest._files import expand_paths
    from bayescap.ingest.loadtest_csv import rows_from_files, summarise_points, write_loadtest
    from bayescap.ingest.table import TableOptions, describe_units

    files = expand_paths(args.files)
    options = TableOptions(n_column=args.n_column, throughput_column=args.throughput_column,
                           throughput_unit=args.throughput_unit, where=tuple(args.where),
                           ignore_columns=tuple(args.ignore_column))
    points, rows = rows_from_files(
        files, tier=args.tier, config=args.config, tool=args.tool, level=args.level, n=args.n,
        n_pattern=args.n_pattern, min_plateau_seconds=args.min_plateau, table=options,
    )
    table = write_loadtest(rows, args.out, force=args.force)
    _say(f"{len(rows)} load level(s) from {len(files)} file(s):")
    for line in summarise_points(points):
        _say(line)
    for line in describe_units(points):
        _say(line)
    _say(f"wrote {args.out}: {len(table)} rows ({len(rows)} new)")
    return 0


def run_prophet(args: argparse.Namespace) -> int:
    from bayescap.ingest._files import atomic_write_csv, refuse_overwrite
    from bayescap.ingest.prophet import prophet_to_traffic, traffic_frame_for_csv

    refuse_overwrite(args.out, args.force)
    df = prophet_to_traffic(args.history, args.holidays, competitor=args.competitor)
    atomic_write_csv(traffic_frame_for_csv(df), args.out)
    events = [c for c in df.columns if c.startswith("event_") or c == "competitor_event"]
    _say(f"wrote {args.out}: {len(df)} days, event columns: {', '.join(events) or 'none'}")
    return 0
