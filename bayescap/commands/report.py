"""`bayescap report RUN_DIR`: rebuild the PDF of a saved run without refitting anything."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "report",
        help="rebuild the PDF report of a saved run (no refitting)",
        description=(
            "Rebuild the PDF report of a saved run directory from its files (summary.json, posteriors.nc, "
            "simulation.nc, manifest.json), without refitting any model. The new PDF is written next to the "
            "old one as report-<YYYYMMDD-HHMMSS>.pdf; an existing report is never overwritten."
        ),
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run directory written by 'bayescap forecast'")
    p.add_argument("--out", type=Path, default=None, help="write the PDF here instead (refused if the file exists)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bayescap.errors import OutputError
    from bayescap.report import build_report, timestamped_report_path
    from bayescap.report.run_files import read_run

    files = read_run(args.run_dir)  # fail early, with a clear message, before choosing a name
    if args.out is not None:
        if Path(args.out).exists():
            raise OutputError(f"{args.out}: already exists; choose another --out (reports are never overwritten)")
        target = Path(args.out)
    else:
        target = timestamped_report_path(files.run_dir)
    path = build_report(files.run_dir, out=target)
    print(path)
    return 0
