"""``bayescap backtest --compare-to EARLIER.json``: a backtest against an earlier one of the same days, paired day by
day, so that a changed prior or option is judged by how sure its gain is and not by its point score alone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from bayescap.backtest.protocol import origins
from bayescap.backtest.run import compare_methods, method_results
from bayescap.errors import InputError


def read_earlier_backtest(path: Path) -> dict:
    """The methods of a ``bayescap backtest --json`` file that carry per-day scores, with its protocol.

    Raises InputError naming the file when it is missing, not JSON, not a backtest, or written before backtests kept
    their per-day scores.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(path, None, "an existing backtest JSON file (written by 'bayescap backtest --json')") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(path, None, f"a backtest JSON file (written by 'bayescap backtest --json'): {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("protocol"), dict):
        raise InputError(path, "protocol", "a backtest JSON file (written by 'bayescap backtest --json')")
    methods = {m: v for m, v in method_results(data).items() if isinstance(v, dict)}
    if not methods:
        raise InputError(path, None, "a backtest JSON file with at least one method's scores")
    with_days = {m: v for m, v in methods.items() if isinstance(v.get("days"), dict) and v["days"].get("date")}
    if not with_days:
        raise InputError(path, "days", "per-day scores, which backtests keep since 2026-11-29; this file was written "
                         "before: run its backtest again with --json")
    return {"methods": with_days, "protocol": data["protocol"], "path": str(path)}


def observed_test_days(history: pd.DataFrame, *, n_windows: int, window_days: int, train_days: int) -> list[str]:
    """The test days a backtest of ``history`` will score (dates with an observed count, YYYY-MM-DD), before fitting."""
    days = []
    for o in origins(history, n_windows=n_windows, window_days=window_days, train_days=train_days):
        y = o.test["count"].astype(float).to_numpy()
        when = np.asarray(o.test_dates, dtype="datetime64[D]")
        days += [str(t) for t in when[np.isfinite(y)]]
    return days


def check_same_days(earlier: dict, days: list[str], methods: tuple[str, ...]) -> None:
    """Refuse, before any fitting, an earlier backtest that scored other days or none of this run's methods."""
    path = earlier["path"]
    common = [m for m in methods if m in earlier["methods"]]
    if not common:
        raise InputError(path, None, f"scores of one of this run's methods ({', '.join(methods)}); it has "
                         f"{', '.join(earlier['methods'])}")
    theirs = earlier["methods"][common[0]]["days"]["date"]
    if theirs != days:
        raise InputError(
            path, "days",
            f"the same test days as this run ({_span(days)}); it scored {_span(theirs)} (use the same --before, "
            "--windows and --train-days as the run that wrote it)",
        )


def _span(days: list[str]) -> str:
    return f"{days[0]}..{days[-1]}, {len(days)} observed days" if days else "no days"


def compare_with_earlier(result: dict, earlier: dict, *, seed: int) -> dict:
    """Each method of ``result`` that ``earlier`` also has, paired against it on the same days
    (:func:`bayescap.backtest.run.compare_methods`, this run as A): ``{"file", "protocol", "methods": {...}}``."""
    out = {}
    for method, m in method_results(result).items():
        if method in earlier["methods"]:
            out[method] = compare_methods(m, earlier["methods"][method], seed=seed)
    return {"file": earlier["path"], "protocol": earlier["protocol"], "methods": out}
