"""Command-line interface: `bayescap <command> ...` (also `python -m bayescap`).

Each sub-command lives in ``bayescap/commands/<name>.py`` and exposes
``register(subparsers)``, which adds its parser and sets ``func=run``.
Errors of the project's own types are printed as one line, exit code 2; its warnings (``BayescapWarning``) as one
``warning:`` line each.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import sys
import warnings

from bayescap import __version__
from bayescap.errors import BayescapError, BayescapWarning

COMMANDS = (
    "forecast",
    "check",
    "capacity",
    "backtest",
    "report",
    "diagnose",
    "diff",
    "compare",
    "ingest",
    "loadtest",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bayescap",
        description=(
            "Bayesian capacity and cost forecasting for web services: load tests + traffic "
            "history -> servers needed, overload risk, monthly cost and runway, with credible intervals."
        ),
    )
    parser.add_argument("--version", action="version", version=f"bayescap {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"bayescap.commands.{name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        with warnings.catch_warnings():  # restores the default display afterwards (tests call main in-process)
            warnings.showwarning = functools.partial(_show_warning, warnings.showwarning)
            return int(args.func(args) or 0)
    except BayescapError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing was written to reports/ for this run", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader of a pipe (`bayescap diff A B | head`) stopped reading: stop quietly, as Python's docs advise
        # ("Note on SIGPIPE"), rather than with a traceback; stdout goes to devnull so the exit flush cannot fail
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def _show_warning(default, message, category, filename, lineno, file=None, line=None):
    """bayescap's own warnings as one plain line; other libraries' as ``default`` shows them."""
    if issubclass(category, BayescapWarning):
        print(f"warning: {message}", file=sys.stderr)
    else:
        default(message, category, filename, lineno, file, line)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
