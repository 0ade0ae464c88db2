"""A table of measurements (a spreadsheet export, a published benchmark) -> load-test points.

Many load tests never leave a tool's raw output behind: what is left is a
table, one row per measurement, with a load-level column (concurrency, users,
CPUs, processors, nodes) and a throughput column, and often more columns that
tell measurements apart (protocol, response size, metric). This module reads
such a CSV:

* the load-level and throughput columns are found by name (``n``, ``cpus``,
  ``processors``, ``concurrency``, ``load_users`` ...; ``throughput...``,
  ``requests_per_sec``, ``rps``, ``value`` ...) or named by the user;
* the throughput unit comes from the column's name (``..._per_hour``,
  ``..._per_minute``; anything else is taken as per second) or from the user,
  and is converted to per second, the unit of the traffic forecast;
* ``where`` keeps the rows whose column equals a value;
* the tier and config names may be templates with ``{column}`` placeholders,
  so that one table gives one config per value of a column;
* no other column may tell set-ups apart in the rows kept (one load level
  measured under several values of it, as with a protocol or a response
  size): otherwise the table mixes measurements of different systems, and the
  reader says which columns and how to choose, rather than fitting one curve
  through them. Per-row readings (a latency, a timestamp) are left alone.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bayescap.errors import InputError
from bayescap.ingest._files import read_csv_text, read_text

UNIT_SECONDS = {"second": 1.0, "minute": 60.0, "hour": 3600.0}
# Columns that label repeated measurements of one system, not different systems.
REPEAT_LABELS = ("repeat", "run", "trial", "iteration")

_N_WORDS = ("n", "concurrency", "cpus", "cpu", "cores", "vcpus", "processors", "procs", "threads", "users",
            "vus", "connections", "conns", "clients", "nodes", "servers", "workers", "load")
_THROUGHPUT_WORDS = ("throughput", "rps", "tps", "qps", "x", "value", "rate", "ops")
_PER_TIME = re.compile(r"(^|_)per_(s|sec|second|min|minute|h|hr|hour)($|_)")
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


@dataclass(frozen=True)
class TableOptions:
    """How to read a measurement table (each field has a CLI flag of ``bayescap ingest loadtest``)."""

    n_column: str | None = None
    throughput_column: str | None = None
    throughput_unit: str = "auto"  # auto (from the column name), second, minute or hour
    where: Sequence[str] = field(default_factory=tuple)  # "column=value"
    ignore_columns: Sequence[str] = field(default_factory=tuple)


def _tokens(name: str) -> list[str]:
    return [t for t in re.split(r"[^a-z0-9]+", name.lower()) if t]


def _normalised(name: str) -> str:
    return "_".join(_tokens(name))


def _find_column(path: Path, columns: Sequence[str], given: str | None, words: Sequence[str], what: str,
                 flag: str) -> str:
    """The user's column, else the one column whose name is one of ``words``, else the one that contains one."""
    if given is not None:
        if given not in columns:
            raise InputError(path, "header", f"a column {given!r} ({flag}); the columns are {list(columns)}")
        return given
    exact = [c for c in columns if _normalised(c) in words]
    if len(exact) == 1:
        return exact[0]
    if not exact:
        per_time = words is _THROUGHPUT_WORDS
        exact = [c for c in columns if any(w in _tokens(c) for w in words)
                 or (per_time and _PER_TIME.search(_normalised(c)))]
        if len(exact) == 1:
            return exact[0]
    if not exact:
        raise InputError(path, "header", f"a {what} column (such as {', '.join(words[:6])}); none of "
                         f"{list(columns)} is one: name it with {flag}")
    raise InputError(path, "header", f"one {what} column, but {exact} could each be it: name it with {flag}")


def unit_from_name(column: str) -> str | None:
    """``hour``/``minute``/``second`` when the column's name states the unit, else None."""
    name = _normalised(column)
    if re.search(r"(per_h(ou)?r|_ph$|per_hour|hourly)", name):
        return "hour"
    if re.search(r"(per_min(ute)?|rpm$|_pm$)", name):
        return "minute"
    if re.search(r"(per_s(ec(ond)?)?$|per_s(ec(ond)?)?_|_ps$|^rps$|^tps$|^qps$)", name):
        return "second"
    return None


def _number_text(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _matches(values: pd.Series, wanted: str) -> pd.Series:
    text = values.str.strip()
    hit = text == wanted.strip()
    try:
        target = float(wanted)
    except ValueError:
        return hit
    numbers = pd.to_numeric(text, errors="coerce")
    return hit | (numbers == target)


def _parse_where(path: Path, df: pd.DataFrame, where: Sequence[str]) -> pd.Series:
    keep = pd.Series(True, index=df.index)
    for item in where:
        column, sep, value = item.partition("=")
        column = column.strip()
        if not sep or not column:
            raise InputError(None, "--where", f"COLUMN=VALUE, got {item!r}")
        if column not in df.columns:
            raise InputError(path, "header", f"a column {column!r} (--where {item}); the columns are {list(df.columns)}")
        hit = _matches(df[column], value)
        if not (keep & hit).any():
            seen = sorted(set(df.loc[keep, column].str.strip()))
            raise InputError(path, f"column {column!r}", f"a row with {column} = {value.strip()!r} (--where); "
                             f"the rows have {seen[:12]}")
        keep &= hit
    return keep


def template_columns(template: str) -> list[str]:
    """The ``{column}`` placeholders of a tier/config template, in order."""
    return _PLACEHOLDER.findall(template)


def _fill(template: str, row: pd.Series) -> str:
    def value(m: re.Match) -> str:
        text = str(row[m.group(1)]).strip()
        try:
            return _number_text(float(text))
        except ValueError:
            return text

    return _PLACEHOLDER.sub(value, template).strip()


def _tells_setups_apart(rows: pd.DataFrame, n_col: str, column: str) -> bool:
    """Whether ``column`` labels different set-ups in ``rows``.

    It does when one load level was measured under different values of it (the
    same n under protocol http and https) and its values repeat (a label, not
    a per-row reading such as a latency or a timestamp).
    """
    values = rows[column].str.strip()
    if values.nunique() < 2 or values.nunique() == len(values):
        return False
    return bool((values.groupby(rows[n_col].str.strip()).nunique() > 1).any())


def read_table_points(path: str | Path, df: pd.DataFrame, options: TableOptions, *,
                      tier: str, config: str) -> pd.DataFrame:
    """Points of a measurement table ``df`` (read as text) read from ``path``.

    Returns the tool reader's point columns (``n, throughput, requests, failed,
    seconds``; the counts unknown, NaN) plus ``tier``, ``config`` (templates
    filled per row), ``row`` (the line in the file) and ``unit`` (the unit the
    throughput was read in).
    """
    path = Path(path)
    columns = list(df.columns)
    n_col = _find_column(path, columns, options.n_column, _N_WORDS, "load-level (n)", "--n-column")
    rest = [c for c in columns if c != n_col]
    y_col = _find_column(path, rest, options.throughput_column, _THROUGHPUT_WORDS, "throughput", "--throughput-column")
    if options.throughput_unit not in ("auto", *UNIT_SECONDS):
        raise InputError(None, "--throughput-unit", f"one of auto, second, minute, hour; got {options.throughput_unit!r}")
    if options.throughput_unit != "auto":
        unit, unit_from = options.throughput_unit, "--throughput-unit"
    elif unit_from_name(y_col) is not None:
        unit, unit_from = unit_from_name(y_col), f"column name {y_col!r}"
    else:
        unit, unit_from = "second", f"assumed: column name {y_col!r} states no unit"

    placeholders = template_columns(tier) + template_columns(config)
    for name in placeholders:
        if name not in columns:
            raise InputError(None, "--tier/--config", f"placeholders that name columns of {path}; {{{name}}} is "
                             f"not one of {columns}")
    for name in options.ignore_columns:
        if name not in columns:
            raise InputError(path, "header", f"a column {name!r} (--ignore-column); the columns are {columns}")

    kept = df[_parse_where(path, df, options.where)]
    labels = {c for c in columns if _normalised(c) in REPEAT_LABELS}
    free = [c for c in columns if c not in {n_col, y_col, *placeholders, *options.ignore_columns, *labels}]
    mixed = {c: sorted(set(kept[c].str.strip())) for c in free if _tells_setups_apart(kept, n_col, c)}
    if mixed:
        listed = "; ".join(f"{c!r} has {', '.join(seen[:6])}{' ...' if len(seen) > 6 else ''}" for c, seen in mixed.items())
        c = next(iter(mixed))
        raise InputError(
            path, "columns " + ", ".join(repr(c) for c in mixed),
            f"a single set-up in the rows used, but the same load level was measured under several values ({listed}): "
                f"the table mixes measurements of different set-ups. "
            f"Pick rows with --where COLUMN=VALUE (e.g. --where {c}={mixed[c][0]}), make one config per value with "
            f"a placeholder (--config '...{{{c}}}...'), or --ignore-column COLUMN if it only labels repeated runs",
        )

    rows = []
    for idx, row in kept.iterrows():
        line = int(idx) + 2  # header is line 1
        values = []
        for col in (n_col, y_col):
            raw = str(row[col]).strip()
            try:
                x = float(raw)
            except ValueError:
                x = math.nan
            if not math.isfinite(x):
                raise InputError(path, f"row {line}, column {col!r}", f"a number, got {raw!r}")
            values.append(x)
        n, y = values
        if not (n >= 1 and n.is_integer()):
            raise InputError(path, f"row {line}, column {n_col!r}",
                             f"a whole number >= 1 (the load level), got {_number_text(n)}")
        if not y > 0:
            raise InputError(path, f"row {line}, column {y_col!r}", f"a throughput > 0, got {_number_text(y)}")
        tier_name, config_name = _fill(tier, row), _fill(config, row)
        if not tier_name or not config_name:
            raise InputError(path, f"row {line}", "non-empty tier and config names from --tier/--config")
        rows.append((n, y / UNIT_SECONDS[unit], math.nan, math.nan, math.nan, tier_name, config_name, line))
    out = pd.DataFrame(rows, columns=["n", "throughput", "requests", "failed", "seconds", "tier", "config", "row"])
    return out.assign(unit=unit, unit_from=unit_from)


def read_table_file(path: str | Path, options: TableOptions, *, tier: str, config: str,
                    text: str | None = None) -> pd.DataFrame:
    """:func:`read_table_points` of one CSV file, with the tool readers' ``source`` and ``tool`` columns.

    ``text``: the file's text when the caller has read it already."""
    path = Path(path)
    df = read_csv_text(path, read_text(path) if text is None else text)
    if df.empty:
        raise InputError(path, None, "a table with at least one row of measurements")
    points = read_table_points(path, df, options, tier=tier, config=config)
    return points.assign(source=str(path), tool="table")


def looks_like_table(columns: Sequence[str]) -> bool:
    """Whether a CSV header has exactly one recognisable load-level column and one throughput column."""
    try:
        n_col = _find_column(Path("."), list(columns), None, _N_WORDS, "n", "-")
        _find_column(Path("."), [c for c in columns if c != n_col], None, _THROUGHPUT_WORDS, "y", "-")
    except InputError:
        return False
    return True


def describe_units(points: pd.DataFrame) -> list[str]:
    """One line per table file: the throughput unit it was read in, and why."""
    if "unit" not in points:
        return []
    lines = []
    for (source, unit, why), _ in points.dropna(subset=["unit"]).groupby(["source", "unit", "unit_from"], sort=False):
        converted = "" if unit == "second" else f", converted to per second (÷ {UNIT_SECONDS[unit]:g})"
        lines.append(f"  {source}: throughput per {unit} ({why}){converted}")
    return lines
