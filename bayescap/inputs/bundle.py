"""Read all the inputs of one run and check them against each other.

The per-file readers check one file each; this is where the files meet: the
scenario's tiers and configs must be in the load-test file, its instance types in
the price table, its event types in the traffic history, and its start after the
history. ``bayescap check`` and the forecast pipeline both call it, so a file
that passes ``check`` is read identically by ``forecast``.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pandas as pd

from bayescap.inputs.loadtest import read_loadtest
from bayescap.inputs.prices import read_prices
from bayescap.inputs.scenario import forecast_start, read_scenario_file
from bayescap.inputs.scenario_types import IntensitySweep, Scenario
from bayescap.inputs.traffic import read_intraday, read_traffic


class Inputs(NamedTuple):
    """The validated inputs of one run (plain data; nothing is fitted here)."""

    traffic: pd.DataFrame
    intraday: pd.DataFrame | None
    loadtest: pd.DataFrame
    prices: pd.DataFrame
    scenarios: list[Scenario]
    notes: list[str]
    sweep: IntensitySweep | None = None  # the scenario file's [sweep], if any


def read_inputs(
    *,
    scenario: str | Path,
    traffic: str | Path,
    loadtest: str | Path,
    prices: str | Path,
    intraday: str | Path | None = None,
) -> Inputs:
    """Read every input file and cross-validate them.

    Parameters
    ----------
    scenario, traffic, loadtest, prices : the input files
    intraday : hourly or finer counts, or None (the peak factor then comes from
        its prior)

    Returns
    -------
    :class:`Inputs`; ``notes`` collects what the readers did to the data
    (sorted rows, gaps left out, ignored columns) for the caller to print.

    Raises
    ------
    InputError
        the first problem found, naming the file, the line or key, and what was
        expected.
    """
    traffic_df = read_traffic(traffic)
    intraday_df = read_intraday(intraday) if intraday is not None else None
    loadtest_df = read_loadtest(loadtest)
    prices_df = read_prices(prices)
    scenarios, sweep = read_scenario_file(scenario, loadtest=loadtest_df, prices=prices_df, traffic=traffic_df)
    for sc in scenarios:
        forecast_start(sc, traffic_df)
    notes = list(traffic_df.attrs.get("notes", []))
    if intraday_df is not None:
        notes += intraday_df.attrs.get("notes", [])
        notes += _intraday_outside_history(intraday_df, traffic_df)
    notes += loadtest_df.attrs.get("notes", [])
    cluster_configs = sorted(set(loadtest_df.loc[loadtest_df["level"] == "cluster", "config"]))
    unpriced = [c for c in cluster_configs if c not in prices_df.index]
    if unpriced:
        notes.append(
            f"{Path(str(loadtest)).name}: cluster rows use configs not in the price table ({', '.join(unpriced)}); "
            "they are treated as set-up names, not instance types"
        )
    notes += _tiers_without_cluster_rows(loadtest_df, scenarios, Path(str(loadtest)).name)
    return Inputs(traffic_df, intraday_df, loadtest_df, prices_df, scenarios, notes, sweep)


def _tiers_without_cluster_rows(loadtest: pd.DataFrame, scenarios: list[Scenario], name: str) -> list[str]:
    """A note per scenario tier with no cluster rows: a fleet of it larger than one server will rest on the prior of
    the scale-out curve (the report's caveat ``scale_out_prior``, ``bayescap.capacity_caveats``, says how much)."""
    with_rows = set(loadtest.loc[loadtest["level"] == "cluster", "tier"])
    used = dict.fromkeys(t.name for sc in scenarios for t in sc.tiers)
    return [f"{name}: tier '{t}' has no cluster rows (several servers behind the load balancer), so its fleets of more "
            f"than one server will rest on the prior of how throughput grows with servers" for t in used if t not in with_rows]


def _intraday_outside_history(intraday: pd.DataFrame, traffic: pd.DataFrame) -> list[str]:
    """A note when intraday days fall outside the daily history: their regime (event or normal day) is unknown, so
    the traffic model leaves them out of the peak factor (``bayescap.models.traffic_peak.daily_bucket_factors``)."""
    days = pd.to_datetime(intraday["timestamp"]).dt.normalize().drop_duplicates()
    first, last = pd.to_datetime(traffic["date"]).min(), pd.to_datetime(traffic["date"]).max()
    outside = days[(days < first) | (days > last)]
    if outside.empty:
        return []
    name = Path(str(intraday.attrs.get("path", "intraday"))).name
    return [f"{name}: {len(outside)} of its {len(days)} days ({outside.min():%Y-%m-%d}..{outside.max():%Y-%m-%d}) fall "
            f"outside the traffic history ({first:%Y-%m-%d}..{last:%Y-%m-%d}); whether they were event days is unknown, "
            f"so they are left out of the peak factor"]


def unfitted_event_notes(traffic: pd.DataFrame, scenarios: list[Scenario], history_days: int | None) -> list[str]:
    """A note per event type that a scenario schedules (intensity above 0) but that has no day in the part of the
    history the traffic model is fitted on (the most recent ``history_days``; None or 0: all of it). Such a type's
    lift is the prior's (``bayescap.caveats.unseen_event_caveats`` puts the same warning on the report's page 1)."""
    dates = pd.to_datetime(traffic["date"])
    last = dates.max()
    window = dates >= last - pd.Timedelta(days=history_days - 1) if history_days else pd.Series(True, index=dates.index)
    name = Path(str(traffic.attrs.get("path", "traffic"))).name
    notes = []
    for typ in traffic.attrs.get("event_types", []):
        users = [sc.name for sc in scenarios if any(e.type == typ and e.intensity > 0 for e in sc.events)]
        days = traffic["event_" + typ].astype(bool)
        if not users or (days & window).any():
            continue
        who = f"scheduled by {', '.join(users)}"
        if not days.any():
            notes.append(f"{name}: event type '{typ}' is {who} but has no day in the history: its lift will come "
                         f"from the prior (a wide range; the report's first page says so)")
            continue
        latest = dates[days].max()
        need = (last - latest).days + 1
        notes.append(f"{name}: event type '{typ}' is {who} but none of its {int(days.sum())} days (the last "
                     f"{latest:%Y-%m-%d}) is in the {history_days} days the traffic model is fitted on: its lift will "
                     f"come from the prior; `bayescap forecast --history-days {need}` or more would include them")
    return notes
