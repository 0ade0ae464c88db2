"""Read and validate the load-test CSV (throughput against cores, workers, users or nodes).

Contract (docs/architecture.md): ``tier`` (str), ``config`` (str), ``level``
(``"node"`` default | ``"cluster"``), ``n`` (float >= 1, a whole number),
``throughput`` (float > 0), ``repeat`` (int >= 0, default 0). Cluster rows:
``n`` = nodes, ``config`` = the instance type of each node, throughput = total.

Why ``n`` must be a whole number: it counts cores, workers, users, connections or
nodes; a fraction is a sign of a unit mix-up (e.g. CPU share instead of cores).
A repeated measurement must carry its own ``repeat`` number, so that an
accidentally pasted duplicate row is caught instead of counted twice.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bayescap.errors import InputError
from bayescap.inputs.csvfile import did_you_mean, numeric_column, read_table, require_columns, text_column, where
from bayescap.inputs.names import IDENTIFIER_RE

KIND = "load-test CSV"
LEVELS = ("node", "cluster")
_ALIASES = {"throughput_rps": "throughput", "rps": "throughput"}


def _names(df: pd.DataFrame, column: str, what: str) -> pd.Series:
    values = text_column(df, column, what=what)
    for line, value in values.items():
        if not IDENTIFIER_RE.fullmatch(value):
            raise InputError(
                df.attrs["path"],
                where(line, column),
                f"{what} of letters, digits and '_.:+-' (at most 64 characters), got {value!r}",
            )
    return values


def read_loadtest(path: str | Path) -> pd.DataFrame:
    """Read the load-test CSV.

    Parameters
    ----------
    path : CSV with ``tier``, ``config``, ``n``, ``throughput`` and optional
        ``level`` and ``repeat``.

    Returns
    -------
    DataFrame ``tier``, ``config``, ``level``, ``n`` (float), ``throughput``
    (float), ``repeat`` (int) in file order; ``attrs`` ``path`` and ``notes``.

    Raises
    ------
    InputError
        missing columns, blank tier/config, unknown level, n < 1 or not whole,
        non-positive throughput, a negative or fractional repeat, the same
        (tier, config, level, n, repeat) twice.
    """
    df = read_table(path, KIND, aliases=_ALIASES)
    path_s = df.attrs["path"]
    try:
        require_columns(df, ["tier", "config", "n", "throughput"], KIND)
    except InputError as exc:
        if "tier" in df.columns and "config" in df.columns:
            raise
        raise InputError(exc.path, exc.where, exc.expected + "; a table of measurements (load level, throughput) or "
                         "a load-test tool's output is converted with: bayescap ingest loadtest --tier NAME "
                         "--config NAME FILE --out loadtest.csv") from exc
    notes: list[str] = []
    out = pd.DataFrame(index=df.index)
    out["tier"] = _names(df, "tier", "a tier name")
    out["config"] = _names(df, "config", "a config name (instance type or set-up)")
    if "level" in df.columns:
        levels = df["level"].str.lower()
        for line, value in levels.items():
            if value == "":
                levels[line] = "node"
            elif value not in LEVELS:
                hint = did_you_mean(value, LEVELS)
                raise InputError(path_s, where(line, "level"), f"'node' or 'cluster', got {value!r}{hint}")
        out["level"] = levels.astype(str)
    else:
        out["level"] = "node"
    out["n"] = numeric_column(
        df, "n", what="n >= 1 (a whole number of cores, workers, users or nodes)", integer=True, minimum=1
    )
    out["throughput"] = numeric_column(df, "throughput", what="a positive throughput (req/s)", exclusive_minimum=0)
    if "repeat" in df.columns:
        out["repeat"] = numeric_column(
            df, "repeat", what="a repeat number (a whole number >= 0)", integer=True, minimum=0
        ).astype(int)
    else:
        out["repeat"] = 0
    key = ["tier", "config", "level", "n", "repeat"]
    dup = out.duplicated(subset=key, keep=False)
    if dup.any():
        lines = list(out.index[dup])
        first = out.loc[lines[0], key]
        same = [ln for ln in lines if (out.loc[ln, key] == first).all()]
        raise InputError(
            path_s,
            f"line {same[1]}",
            f"one row per tier, config, level, n and repeat, got the same as line {same[0]} "
            f"(tier {first['tier']}, config {first['config']}, n {first['n']:g}); "
            "give repeated measurements their own 'repeat' number",
        )
    configs_in_tiers = out.groupby("config")["tier"].nunique()
    shared = configs_in_tiers[configs_in_tiers > 1]
    for config in shared.index:
        if (out.loc[out["config"] == config, "level"] == "node").any():
            tiers = sorted(out.loc[out["config"] == config, "tier"].unique())
            notes.append(
                f"{Path(path_s).name}: config '{config}' was tested in tiers {', '.join(tiers)}; "
                "each tier gets its own curve"
            )
    for (tier, config, level), g in out.groupby(["tier", "config", "level"], sort=True):
        if g["n"].nunique() < 2:
            notes.append(
                f"{Path(path_s).name}: tier {tier}, config {config} ({level}) was tested at one n only; "
                "its curve comes from the tier's other configs and the priors"
            )
    node_tiers = set(out.loc[out["level"] == "node", "tier"])
    for tier in sorted(set(out["tier"]) - node_tiers):
        raise InputError(
            path_s,
            "column 'level'",
            f"node-level rows for every tier (a node's curve is needed before scaling out), got only "
            f"cluster rows for tier '{tier}'",
        )
    out = out.reset_index(drop=True)
    out.attrs = {"path": path_s, "notes": notes}
    return out
