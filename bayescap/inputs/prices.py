"""Read and validate the instance price table.

Contract (docs/architecture.md): a DataFrame indexed by ``instance_type`` with
``vcpus`` (int > 0) and ``usd_per_hour`` (float > 0). The shared public table's
``usd_per_hour_linux_ondemand`` is accepted as ``usd_per_hour``; other columns
(family, per-vCPU price, ...) are ignored.

A zero price is an error, not "free": it would make any fleet cost nothing and
every cost interval silently wrong.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from bayescap.errors import InputError
from bayescap.inputs.csvfile import did_you_mean, numeric_column, read_table, require_columns, text_column, where

KIND = "price CSV"
INSTANCE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:+-]{0,63}")
_ALIASES = {"usd_per_hour_linux_ondemand": "usd_per_hour"}


def read_prices(path: str | Path) -> pd.DataFrame:
    """Read the price CSV.

    Parameters
    ----------
    path : CSV with ``instance_type``, ``vcpus`` and ``usd_per_hour`` (or
        ``usd_per_hour_linux_ondemand``).

    Returns
    -------
    DataFrame indexed by ``instance_type`` (str), columns ``vcpus`` (int) and
    ``usd_per_hour`` (float), in file order; ``attrs["path"]``.

    Raises
    ------
    InputError
        missing columns, blank or malformed instance types, duplicates,
        non-positive or fractional vCPUs, non-positive prices.
    """
    df = read_table(path, KIND, aliases=_ALIASES)
    path_s = df.attrs["path"]
    require_columns(df, ["instance_type", "vcpus", "usd_per_hour"], KIND)
    names = text_column(df, "instance_type", what="an instance type")
    for line, value in names.items():
        if not INSTANCE_RE.fullmatch(value):
            raise InputError(
                path_s,
                where(line, "instance_type"),
                f"an instance type of letters, digits and '_.:+-', got {value!r}",
            )
    dup = names.duplicated(keep=False)
    if dup.any():
        lines = list(names.index[dup])
        same = [ln for ln in lines if names[ln] == names[lines[0]]]
        raise InputError(
            path_s,
            where(same[1], "instance_type"),
            f"each instance type once, got '{names[same[0]]}' again (also on line {same[0]})",
        )
    vcpus = numeric_column(df, "vcpus", what="a whole number of vCPUs >= 1", integer=True, minimum=1)
    price = numeric_column(df, "usd_per_hour", what="a positive price in USD per hour", exclusive_minimum=0)
    out = pd.DataFrame(
        {"vcpus": vcpus.astype(int).to_numpy(), "usd_per_hour": price.to_numpy()},
        index=pd.Index(names.to_numpy(dtype=str), name="instance_type"),
    )
    out.attrs = {"path": path_s}
    return out


def lookup_instance(prices: pd.DataFrame, name: str, path: str | Path | None = None) -> pd.Series:
    """The price row of one instance type, or an InputError listing the known ones.

    Parameters
    ----------
    prices : from :func:`read_prices`
    name : instance type, e.g. ``"c6i.large"``
    path : the file that named the instance type (e.g. the scenario file), for
        the message; defaults to the price file.

    Returns
    -------
    Series with ``vcpus`` and ``usd_per_hour``.
    """
    if name in prices.index:
        return prices.loc[name]
    known = list(prices.index)
    shown = ", ".join(known[:12]) + (f", ... ({len(known)} in all)" if len(known) > 12 else "")
    hint = did_you_mean(name, known, cutoff=0.5)
    raise InputError(
        path if path is not None else prices.attrs.get("path"),
        None,
        f"unknown instance type '{name}'; known: {shown}{hint}",
    )
