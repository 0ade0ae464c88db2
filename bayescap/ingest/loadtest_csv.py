"""Build rows of the load-test CSV (``tier,config,level,n,throughput,repeat``) and merge them into a file.

Why merging and not overwriting: an analyst collects load tests over days
(one tier today, another config tomorrow); each ingest adds rows. Existing
rows are kept byte for byte (as text); a new measurement at a (tier, config,
level, n) that is already in the file becomes the next ``repeat``, which is
exactly how the capacity model wants repeated runs. ``force`` replaces the
file with the new rows only. The file is always written atomically.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from bayescap.errors import InputError
from bayescap.ingest._files import atomic_write_text, read_text
from bayescap.ingest.table import TableOptions, read_table_file, template_columns
from bayescap.ingest.tools import detect_tool, n_from_name, read_tool_output

LOADTEST_COLUMNS = ["tier", "config", "level", "n", "throughput", "repeat"]
LEVELS = ("node", "cluster")


def points_to_rows(
    points: pd.DataFrame,
    *,
    tier: str,
    config: str,
    level: str = "node",
    n: float | None = None,
    n_pattern: str | None = None,
) -> pd.DataFrame:
    """Load-test rows from tool points (see :func:`bayescap.ingest.tools.read_tool_output`).

    ``n`` resolution, per point: the user's ``n`` (only allowed when each file
    gave one point: one n cannot label several measured levels), else the
    tool's own concurrency, else a number in the file name (``n_pattern``).
    Points that carry their own ``tier``/``config`` (a table's filled
    templates) keep them.
    Repeats are numbered 0, 1, ... per (tier, config, level, n) in input order.
    """
    if not tier.strip() or not config.strip():
        raise InputError(None, "--tier/--config", "non-empty names")
    if level not in LEVELS:
        raise InputError(None, "--level", f"'node' or 'cluster', got {level!r}")
    if points.empty:
        raise InputError(None, None, "no load-test points to write")
    pts = points.copy()
    if n is not None:
        if not (n >= 1 and float(n).is_integer()):
            raise InputError(None, "--n", f"a whole number >= 1, got {n}")
        per_file = pts.groupby("source").size()
        if (per_file > 1).any():
            src = per_file[per_file > 1].index[0]
            raise InputError(
                src, None, f"this file holds {per_file[src]} load levels, each with its own concurrency; "
                "drop --n so that each level keeps the n the tool recorded"
            )
        pts["n"] = float(n)
    else:
        for idx in pts.index[pts["n"].isna()]:
            guess = n_from_name(pts.at[idx, "source"], n_pattern)
            if guess is None:
                raise InputError(
                    pts.at[idx, "source"],
                    None,
                    f"the {pts.at[idx, 'tool']} output does not record the concurrency and the file name has no "
                    "number like 'c64', 'users-32' or '8vus'; give --n (or --n-pattern)",
                )
            pts.at[idx, "n"] = guess
    bad = pts[~((pts["n"] >= 1) & (np.mod(pts["n"], 1) == 0))]
    if len(bad):
        raise InputError(bad["source"].iloc[0], None, f"concurrency n must be a whole number >= 1, got {bad['n'].iloc[0]}")
    rows = pd.DataFrame(
        {
            "tier": pts["tier"].to_numpy() if "tier" in pts else tier.strip(),
            "config": pts["config"].to_numpy() if "config" in pts else config.strip(),
            "level": level,
            "n": pts["n"].astype(float).to_numpy(),
            "throughput": pts["throughput"].astype(float).to_numpy(),
        }
    )
    rows["repeat"] = rows.groupby(["tier", "config", "level", "n"], sort=False).cumcount().astype(int)
    return rows


def _fmt_number(x: float) -> str:
    if float(x).is_integer():
        return str(int(x))
    return f"{x:.7g}"


def _read_existing(path: Path) -> pd.DataFrame:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, None, f"an existing load-test CSV that can be read ({exc})") from exc
    if not text.strip():
        return pd.DataFrame(columns=LOADTEST_COLUMNS, dtype=str)
    df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    df.columns = [c.strip() for c in df.columns]
    missing = [c for c in ("tier", "config", "n", "throughput") if c not in df.columns]
    if missing:
        raise InputError(path, "header", f"a load-test CSV with columns tier,config,n,throughput (missing {missing}); "
                         "use another --out or --force to replace it")
    return df


def merge_rows(existing: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Existing rows (text, unchanged) followed by the new ones, with new repeats after the existing ones.

    The result keeps every column of the existing file; missing ``level`` /
    ``repeat`` columns of an old file are added with their contract defaults
    (``node``, ``0``), which is what a reader assumes for them anyway.
    """
    old = existing.copy()
    if "level" not in old:
        old["level"] = "node"
    old["level"] = old["level"].replace("", "node")
    if "repeat" not in old:
        old["repeat"] = "0"
    old_rep = pd.to_numeric(old["repeat"].replace("", "0"), errors="coerce").fillna(0)
    old_n = pd.to_numeric(old["n"], errors="coerce")
    taken: dict[tuple, float] = {}
    for tier, config, level, n, rep in zip(old["tier"].str.strip(), old["config"].str.strip(), old["level"].str.strip(),
                                           old_n, old_rep, strict=True):
        if n == n:
            key = (tier, config, level.lower(), float(n))
            taken[key] = max(taken.get(key, -1), float(rep))
    add = new.copy()
    offsets = [taken.get((t, c, lv, float(n)), -1) + 1 for t, c, lv, n in
               zip(add["tier"], add["config"], add["level"], add["n"], strict=True)]
    add["repeat"] = add["repeat"].to_numpy() + np.array(offsets, dtype=int)
    add_text = pd.DataFrame(
        {
            "tier": add["tier"],
            "config": add["config"],
            "level": add["level"],
            "n": [_fmt_number(v) for v in add["n"]],
            "throughput": [_fmt_number(v) for v in add["throughput"]],
            "repeat": add["repeat"].astype(int).astype(str),
        }
    )
    columns = list(old.columns) + [c for c in LOADTEST_COLUMNS if c not in old.columns]
    out = pd.concat([old.reindex(columns=columns), add_text.reindex(columns=columns)], ignore_index=True)
    return out.fillna("")


def write_loadtest(rows: pd.DataFrame, out: str | Path, *, force: bool = False) -> pd.DataFrame:
    """Append (merge) ``rows`` into the load-test CSV ``out``; ``force`` replaces the file. Atomic.

    Returns the full table written (as text).
    """
    out = Path(out)
    existing = _read_existing(out) if out.exists() and not force else pd.DataFrame(columns=LOADTEST_COLUMNS, dtype=str)
    table = merge_rows(existing, rows)
    atomic_write_text(out, table.to_csv(index=False, lineterminator="\n"))
    return table


def summarise_points(points: pd.DataFrame) -> list[str]:
    """One line per point for the CLI (n, throughput, share failed, seconds, file)."""
    lines = []
    for row in points.itertuples(index=False):
        where = f"{row.tier}/{row.config} " if "tier" in points else ""
        if math.isnan(row.requests):  # a table: no request counts, the row's line instead
            detail = f" (line {int(row.row)})" if "row" in points and row.row == row.row else ""
        else:
            failed = row.failed / row.requests if row.requests else 0.0
            secs = "" if math.isnan(row.seconds) else f", {row.seconds:.1f} s"
            detail = f" ({failed:.1%} failed{secs})"
        rate = f"{row.throughput:.1f}" if row.throughput >= 100 else f"{row.throughput:.4g}"
        lines.append(f"  {where}n={row.n:g}: {rate} req/s{detail} from {row.source}")
    return lines


def rows_from_files(
    paths: Sequence[str | Path],
    *,
    tier: str,
    config: str,
    tool: str = "auto",
    level: str = "node",
    n: float | None = None,
    n_pattern: str | None = None,
    min_plateau_seconds: float = 3.0,
    table: TableOptions | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read several tool outputs or measurement tables and return (points, load-test rows).

    A table (``tool="table"``, or detected) is read with ``table`` options
    (:class:`bayescap.ingest.table.TableOptions`); ``tier`` and ``config`` may
    then hold ``{column}`` placeholders, filled per row.
    """
    table = TableOptions() if table is None else table
    frames = []
    for path in paths:
        text = read_text(Path(path))  # once: detection and reading share it
        kind = detect_tool(path, text) if tool == "auto" else tool
        if kind == "table":
            if n is not None:
                raise InputError(path, None, "no --n: a table's load-level column gives each row's n")
            frames.append(read_table_file(path, table, tier=tier, config=config, text=text))
        else:
            if template_columns(tier) or template_columns(config):
                raise InputError(path, None, "plain --tier/--config names: {column} placeholders are for tables")
            frames.append(read_tool_output(path, kind, min_plateau_seconds=min_plateau_seconds, text=text))
    points = pd.concat(frames, ignore_index=True)
    if "tier" in points:
        points["tier"] = points["tier"].fillna(tier.strip())
        points["config"] = points["config"].fillna(config.strip())
    rows = points_to_rows(points, tier=tier, config=config, level=level, n=n, n_pattern=n_pattern)
    points = points.assign(n=rows["n"].to_numpy())
    return points, rows
