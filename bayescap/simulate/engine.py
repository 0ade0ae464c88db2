"""``simulate``: posterior draws of traffic and capacity -> servers, overload risk, cost, runway.

Data flow (see docs/scenario_engine.md for the maths):

1. check the inputs against the contracts in docs/architecture.md;
2. per scenario, turn the Scenario dataclass into plain arrays (:class:`BlockSpec`);
3. run the numpy kernel (:func:`bayescap.simulate.kernel.simulate_block`) on blocks of
   draws: on a thread pool for numpy inputs, as dask tasks for dask-backed inputs
   (the full-size arrays then stay lazy and only the per-draw reductions are computed,
   in one pass);
4. from the small per-draw arrays: the recommended fleet, the overload curves over
   fleet sizes, cost, runway, visitors and valuation.

Nothing loops over draws in Python; loops are over scenarios and blocks of draws.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from bayescap.dims import DATE, DRAW, SCENARIO, TIER
from bayescap.errors import InputError
from bayescap.inputs.scenario_types import Scenario
from bayescap.simulate.assemble import DAYS_PER_MONTH, HOURS_PER_MONTH, assemble
from bayescap.simulate.blocks import (
    BLOCK_ELEMENTS,
    block_ranges,
    dask_ranges,
    run_dask,
    run_numpy,
    select_scenario,
    traffic_blocks,
    trailing_shape,
)
from bayescap.simulate.kernel import EVENT, NORMAL, OUTSIDE, BlockSpec
from bayescap.simulate.profile import cosine_profile, lagged_hour_weights, validate_profile

__all__ = ["DAYS_PER_MONTH", "HOURS_PER_MONTH", "simulate", "split_types"]

DEFAULT_MAX_NODES = 4096

TRAFFIC_VARS = ("visits", "peak_factor")
CAPACITY_VARS = ("node_throughput", "sigma_cluster", "kappa_cluster")

# ----------------------------------------------------------------------------- checks


def _require(ds: xr.Dataset, names: Sequence[str], what: str) -> None:
    if not isinstance(ds, xr.Dataset):
        raise InputError(None, what, f"an xarray.Dataset, got {type(ds).__name__}")
    missing = [n for n in names if n not in ds.data_vars]
    if missing:
        raise InputError(None, what, f"variables {list(names)}; missing {missing}")


def _check_dims(da: xr.DataArray, required: tuple[str, ...], what: str) -> None:
    allowed = set(required) | {SCENARIO}
    if not set(required) <= set(da.dims) or not set(da.dims) <= allowed:
        raise InputError(None, what, f"dims {required} (plus optionally '{SCENARIO}'), got {da.dims}")


def _check_scenarios(scenarios: Sequence[Scenario]) -> list[Scenario]:
    scenarios = list(scenarios)
    if not scenarios:
        raise InputError(None, "scenarios", "at least one scenario")
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        raise InputError(None, "scenarios", f"unique scenario names, got {names}")
    for s in scenarios:
        f = s.fleet
        if f.policy not in ("static", "autoscale"):
            raise InputError(None, f"scenario '{s.name}' fleet.policy", f"'static' or 'autoscale', got {f.policy!r}")
        if not 0.0 < f.target_utilisation <= 1.0:
            raise InputError(None, f"scenario '{s.name}' fleet.target_utilisation", "a number in (0, 1]")
        if not 0.0 <= f.overload_target < 1.0:
            raise InputError(None, f"scenario '{s.name}' fleet.overload_target", "a probability in [0, 1)")
        if f.min_servers < 0:
            raise InputError(None, f"scenario '{s.name}' fleet.min_servers", "a whole number >= 0")
        if not s.tiers:
            raise InputError(None, f"scenario '{s.name}' tiers", "at least one tier")
    return scenarios


def _prices_for(prices: pd.DataFrame, scenario: Scenario, tiers: list[str]) -> np.ndarray:
    if "usd_per_hour" not in getattr(prices, "columns", []):
        raise InputError(prices.attrs.get("path") if hasattr(prices, "attrs") else None, "column 'usd_per_hour'",
                         "a price table indexed by instance_type with a usd_per_hour column")
    out = np.zeros(len(tiers))
    for t in scenario.tiers:
        if t.instance_type not in prices.index:
            raise InputError(prices.attrs.get("path"), f"scenario '{scenario.name}' tier '{t.name}' instance_type",
                             f"an instance type of the price table, got {t.instance_type!r}")
        out[tiers.index(t.name)] = float(prices.loc[t.instance_type, "usd_per_hour"])
    return out


# ----------------------------------------------------------------------------- calendar


def split_types(label: str) -> list[str]:
    """Event types of one day's label: ``""`` -> [], ``"sale"`` -> [sale], ``"sale+launch"`` -> both.

    The traffic model joins the types of a day that has several with ``+``; such a day
    counts as a day of each of them.
    """
    return [t for t in str(label).split("+") if t]


def _date_coord_values(traffic: xr.Dataset, name: str, scenario: str, n_dates: int, fill):
    if name not in traffic.coords:
        return np.full(n_dates, fill, dtype=object)
    coord = traffic.coords[name]
    if SCENARIO in coord.dims:
        coord = coord.sel({SCENARIO: scenario})
    if coord.dims != (DATE,):
        raise InputError(None, f"traffic coordinate '{name}'", f"dims ('{DATE}',) or ('{SCENARIO}', '{DATE}'), got {coord.dims}")
    return np.asarray(coord.values, dtype=object)


def _calendar(traffic: xr.Dataset, scenario: Scenario, dates: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray, pd.Timestamp]:
    """Regime code per date (normal / event / outside the horizon), event type per date, start."""
    n = dates.size
    start = pd.Timestamp(scenario.start) if scenario.start is not None else dates[0]
    end = start + pd.Timedelta(days=scenario.horizon_days)  # exclusive
    in_h = np.asarray((dates >= start) & (dates < end))
    if int(in_h.sum()) != scenario.horizon_days:
        raise InputError(None, f"traffic dates, scenario '{scenario.name}'",
                         f"one forecast day for each of the {scenario.horizon_days} days from {start:%Y-%m-%d}; "
                         f"the traffic covers {dates[0]:%Y-%m-%d} to {dates[-1]:%Y-%m-%d}")
    is_event = _date_coord_values(traffic, "is_event", scenario.name, n, False)
    is_event = np.array([bool(v) if v is not None and not (isinstance(v, float) and np.isnan(v)) else False
                         for v in is_event])
    etype = _date_coord_values(traffic, "event_type", scenario.name, n, "")
    etype = np.array([v if isinstance(v, str) else "" for v in etype], dtype=object)
    etype = np.where(is_event & (etype == ""), "event", etype)
    etype = np.where(is_event, etype, "")
    regime = np.where(in_h, np.where(is_event, EVENT, NORMAL), OUTSIDE).astype(np.int8)
    etype = np.where(in_h, etype, "")
    return regime, etype.astype(str), start


# ----------------------------------------------------------------------------- main


def simulate(
    traffic: xr.Dataset,
    capacity: xr.Dataset,
    scenarios: Sequence[Scenario],
    prices: pd.DataFrame,
    *,
    hourly_profile=None,
    nodes=None,
    max_nodes: int = DEFAULT_MAX_NODES,
    n_workers: int | None = None,
) -> xr.Dataset:
    """Turn posterior draws of traffic and capacity into servers, overload risk, cost and runway.

    Parameters
    ----------
    traffic : xarray.Dataset
        Dims (scenario, draw, date) -- ``scenario`` optional, then shared by all
        scenarios: ``visits`` (daily visits) and ``peak_factor`` (busiest second over
        the mean second); coords ``is_event`` (bool) and ``event_type`` (str) on
        ``date`` or (scenario, date). May be dask-backed (chunk along ``draw``).
    capacity : xarray.Dataset
        Dims (scenario, draw, tier) -- ``scenario`` optional: ``node_throughput``
        (req/s of one node of the tier's instance type), ``sigma_cluster``,
        ``kappa_cluster``. Draws are paired with traffic draws by position.
    scenarios : sequence of Scenario
        The first is the baseline for per-draw differences.
    prices : pandas.DataFrame
        Indexed by ``instance_type`` with a ``usd_per_hour`` column.
    hourly_profile : array_like of 24 floats, optional
        Daily traffic shape for autoscaled fleets (default: :func:`cosine_profile`).
    nodes : array_like of int, optional
        Fleet sizes for the overload curves (default ``1..G``, ``G`` about 1.5 x the
        largest recommended fleet).
    max_nodes : int
        Largest fleet size the per-day overload curves can resolve.
    n_workers : int, optional
        Threads for numpy inputs (default: CPU count, at most 4).

    Returns
    -------
    xarray.Dataset
        Dims (draw, date, tier, scenario), plus ``nodes`` for the overload curves and
        ``event_type`` for per-type peaks. Variables and their meaning are listed in
        docs/scenario_engine.md. For dask inputs the draw x date variables are lazy;
        everything else is computed.
    """
    scenarios = _check_scenarios(scenarios)
    _require(traffic, TRAFFIC_VARS, "traffic")
    _require(capacity, CAPACITY_VARS, "capacity")
    for v in TRAFFIC_VARS:
        _check_dims(traffic[v], (DRAW, DATE), f"traffic '{v}'")
    for v in CAPACITY_VARS:
        _check_dims(capacity[v], (DRAW, TIER), f"capacity '{v}'")
    for ds, what in ((traffic, "traffic"), (capacity, "capacity")):
        if SCENARIO in ds.dims:
            have = {str(x) for x in ds[SCENARIO].values}
            lacking = [sc.name for sc in scenarios if sc.name not in have]
            if lacking:
                raise InputError(None, f"{what} coordinate '{SCENARIO}'", f"an entry for every scenario; none for {lacking}")
    n_draws = traffic.sizes[DRAW]
    if capacity.sizes[DRAW] != n_draws:
        raise InputError(None, f"capacity dim '{DRAW}'",
                         f"as many draws as the traffic forecast ({n_draws}), got {capacity.sizes[DRAW]}; "
                         "thin or resample one of them")
    if int(max_nodes) < 1:
        raise InputError(None, "max_nodes", "a whole number >= 1")
    max_nodes = int(max_nodes)
    width = max_nodes + 2
    dates = pd.DatetimeIndex(traffic[DATE].values)
    n_dates = dates.size
    profile = validate_profile(cosine_profile() if hourly_profile is None else hourly_profile)

    tiers: list[str] = []
    for sc in scenarios:
        for t in sc.tiers:
            if t.name not in tiers:
                tiers.append(t.name)
    cap_tiers = [str(t) for t in capacity[TIER].values]
    n_tiers, n_scen = len(tiers), len(scenarios)

    calendars = [_calendar(traffic, sc, dates) for sc in scenarios]
    event_types: list[str] = []
    for _, etype, _ in calendars:
        for label in etype:
            for e in split_types(label):
                if e not in event_types:
                    event_types.append(e)
    n_types = len(event_types)

    lazy = any(hasattr(traffic[v].data, "dask") for v in TRAFFIC_VARS)
    ranges = (dask_ranges(traffic, n_dates, n_tiers) if lazy
              else block_ranges(n_draws, max(1, BLOCK_ELEMENTS // max(1, n_dates * n_tiers))))

    price = np.zeros((n_tiers, n_scen))
    present = np.zeros((n_tiers, n_scen), dtype=bool)
    instance = np.full((n_tiers, n_scen), "", dtype=object)
    cap_arrays = []
    jobs = []
    for s, sc in enumerate(scenarios):
        regime, etype, start = calendars[s]
        price[:, s] = _prices_for(prices, sc, tiers)
        factor = np.zeros(n_tiers)
        for t in sc.tiers:
            k = tiers.index(t.name)
            if t.name not in cap_tiers:
                raise InputError(None, f"capacity coordinate '{TIER}'", f"tier '{t.name}' of scenario '{sc.name}'")
            if not (t.share > 0 and t.cost_multiplier > 0):
                raise InputError(None, f"scenario '{sc.name}' tier '{t.name}'", "share > 0 and cost_multiplier > 0")
            factor[k] = t.share * t.cost_multiplier
            present[k, s] = True
            instance[k, s] = t.instance_type
        cap = {}
        for v in CAPACITY_VARS:
            da_v = select_scenario(capacity[v], sc.name, "capacity").reindex({TIER: tiers})
            cap[v] = np.asarray(da_v.transpose(DRAW, TIER).values, dtype=np.float64)
        _check_capacity(cap, present[:, s], tiers, sc.name)
        cap_arrays.append(cap)
        fractions, counts = lagged_hour_weights(profile, sc.fleet.provisioning_lag_hours)
        funding = sc.finance.funding_date
        funding_mask = None
        if funding is not None:
            f_ts = pd.Timestamp(funding)
            in_h = regime != OUTSIDE
            if start < f_ts <= start + pd.Timedelta(days=sc.horizon_days):
                funding_mask = np.asarray(dates < f_ts) & in_h
        spec = BlockSpec(
            scenario=sc.name,
            requests_per_visit=float(sc.requests_per_visit),
            factor=factor,
            present=present[:, s].copy(),
            utilisation=float(sc.fleet.target_utilisation),
            min_servers=int(sc.fleet.min_servers),
            autoscale=sc.fleet.policy == "autoscale",
            hour_fractions=fractions,
            hour_counts=counts,
            regime=regime,
            type_masks=np.array([[e in split_types(label) for label in etype] for e in event_types],
                                dtype=bool).reshape(n_types, n_dates),
            funding_mask=funding_mask,
            max_nodes=max_nodes,
        )
        blocks = traffic_blocks(traffic, sc.name, ranges, lazy)
        for (d0, d1), (vb, pb) in zip(ranges, blocks, strict=True):
            args = (vb, pb, cap["node_throughput"][d0:d1], cap["sigma_cluster"][d0:d1], cap["kappa_cluster"][d0:d1], spec)
            jobs.append((s, d0, d1, args))

    shapes = {kind: trailing_shape(kind, n_dates, n_tiers, n_types, width) for kind in ("dtk", "dt", "dk", "d", "de", "hist")}
    if lazy:
        res = run_dask(jobs, n_draws, shapes, n_scen)
    else:
        workers = n_workers if n_workers is not None else min(4, os.cpu_count() or 1)
        res = run_numpy(jobs, n_draws, shapes, n_scen, workers)

    return assemble(res, traffic, scenarios, tiers, event_types, calendars, dates, price, present, instance,
                     cap_arrays, profile, nodes, max_nodes)


def _check_capacity(cap: dict, present: np.ndarray, tiers: list[str], scenario: str) -> None:
    lam = cap["node_throughput"][:, present]
    sig = cap["sigma_cluster"][:, present]
    kap = cap["kappa_cluster"][:, present]
    where = f"capacity, scenario '{scenario}'"
    if not (np.all(np.isfinite(lam)) and np.all(lam > 0)):
        raise InputError(None, where, "finite node_throughput > 0 in every draw of every tier")
    if not (np.all(np.isfinite(sig)) and np.all((sig >= 0) & (sig < 1))):
        raise InputError(None, where, "sigma_cluster in [0, 1) in every draw")
    if not (np.all(np.isfinite(kap)) and np.all(kap >= 0)):
        raise InputError(None, where, "kappa_cluster >= 0 in every draw")


