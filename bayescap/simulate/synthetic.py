"""Seeded synthetic inputs with the shapes of the real model outputs (for tests and benchmarks).

Why: the simulation must be built, tested and timed without fitting any model. These
functions produce xarray Datasets that follow the contracts in docs/architecture.md
(traffic: scenario x draw x date with ``visits``, ``peak_factor``, ``is_event``,
``event_type``; capacity: scenario x draw x tier with ``node_throughput``,
``sigma_cluster``, ``kappa_cluster``) from a simple made-up world. They are not a
forecast of anything.

Scenarios share common random numbers: the same seed gives the same draw of the
level, growth, lifts and daily noise for every scenario, and a scenario changes only
what its settings change (an event calendar with higher intensity lifts event days
and leaves normal days exactly as they were).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from bayescap.dims import DATE, DRAW, SCENARIO, TIER
from bayescap.inputs.scenario_types import EventRule, Finance, FleetPolicy, Scenario, TierSpec

DEFAULT_START = dt.date(2026, 11, 2)
WEEKDAY_EFFECT = np.array([1.0, 0.98, 0.97, 1.0, 1.04, 1.08, 1.06])  # Monday first
DEFAULT_NODE_THROUGHPUT = {"static": 800.0, "app": 200.0, "api": 300.0}


def synthetic_prices() -> pd.DataFrame:
    """A small price table (index ``instance_type``; ``vcpus``, ``usd_per_hour``), us-east-1-like."""
    rows = {
        "c6i.large": (2, 0.085),
        "c6i.xlarge": (4, 0.17),
        "c6i.2xlarge": (8, 0.34),
        "c6i.4xlarge": (16, 0.68),
        "m6i.large": (2, 0.096),
        "m6i.xlarge": (4, 0.192),
    }
    df = pd.DataFrame.from_dict(rows, orient="index", columns=["vcpus", "usd_per_hour"])
    df.index.name = "instance_type"
    return df


def synthetic_scenario(
    name: str = "baseline",
    *,
    horizon_days: int = 91,
    start: dt.date | None = DEFAULT_START,
    tiers: Sequence[TierSpec] | None = None,
    events: Sequence[EventRule] | None = None,
    fleet: FleetPolicy | None = None,
    finance: Finance | None = None,
    requests_per_visit: float = 40.0,
    growth_pct_per_month: float | None = None,
) -> Scenario:
    """A plausible scenario: a sale every Thursday, a static and an app tier."""
    if tiers is None:
        tiers = (TierSpec("static", 0.75, "c6i.large"), TierSpec("app", 0.25, "c6i.2xlarge"))
    if events is None:
        events = (EventRule("sale", weekday=3),)
    return Scenario(
        name=name,
        horizon_days=horizon_days,
        requests_per_visit=requests_per_visit,
        tiers=tuple(tiers),
        finance=finance or Finance(cash_usd=3_000_000.0, monthly_burn_usd=180_000.0),
        fleet=fleet or FleetPolicy(),
        events=tuple(events),
        start=start,
        growth_pct_per_month=growth_pct_per_month,
    )


def event_calendar(scenario: Scenario, dates: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """Event type (``""`` for none) and intensity per date from the scenario's event rules.

    A simplified reading of the calendar rules, enough for synthetic data: weekday
    recurrences every ``every_weeks`` weeks from the rule's start (or the first
    date), within [start, end], plus one-off ``dates``. Later rules win on clashes.
    """
    etype = np.full(dates.size, "", dtype=object)
    intensity = np.ones(dates.size)
    first = dates[0]
    for rule in scenario.events:
        lo = pd.Timestamp(rule.start) if rule.start else first
        hi = pd.Timestamp(rule.end) if rule.end else dates[-1]
        mask = np.zeros(dates.size, dtype=bool)
        if rule.weekday is not None:
            weeks = ((dates - lo).days // 7).to_numpy()
            mask |= np.asarray((dates.day_of_week == rule.weekday) & (dates >= lo) & (dates <= hi)) & (
                weeks % max(1, rule.every_weeks) == 0)
        for d in rule.dates:
            mask |= np.asarray(dates == pd.Timestamp(d))
        etype[mask] = rule.type
        intensity[mask] = rule.intensity
    return etype.astype(str), intensity


def _dates(scenarios: Sequence[Scenario]) -> pd.DatetimeIndex:
    starts = [pd.Timestamp(s.start or DEFAULT_START) for s in scenarios]
    first = min(starts)
    last = max(st + pd.Timedelta(days=s.horizon_days - 1) for st, s in zip(starts, scenarios, strict=True))
    return pd.date_range(first, last, freq="D")


def _traffic_block(scenarios, dates, draws, rng, *, base_visits, growth_pct_per_month, event_lift,
                   peak_factor_normal, peak_factor_event, noise_sd):
    """visits, peak_factor (scenario x draw x date) and event types (scenario x date) for one block of draws."""
    n_t = dates.size
    months = (np.arange(n_t) + 1) / (365.25 / 12)
    level = base_visits * np.exp(rng.normal(0.0, 0.1, draws))
    growth = np.exp(rng.normal(np.log1p(growth_pct_per_month / 100), 0.005, draws))
    z = rng.standard_normal((draws, n_t))
    z_pf = rng.standard_normal((draws, n_t))
    pf_level = np.exp(rng.normal(0.0, 0.05, draws))
    types = sorted({r.type for s in scenarios for r in s.events})
    lifts = {}
    for t in types:
        centre = event_lift[t] if isinstance(event_lift, Mapping) else event_lift
        lifts[t] = np.exp(rng.normal(np.log(centre), 0.1, draws))
    visits = np.empty((len(scenarios), draws, n_t))
    peak = np.empty_like(visits)
    etypes = np.empty((len(scenarios), n_t), dtype=object)
    weekday = WEEKDAY_EFFECT[dates.day_of_week.to_numpy()]
    for i, sc in enumerate(scenarios):
        etype, intensity = event_calendar(sc, dates)
        ev = etype != ""
        g = growth if sc.growth_pct_per_month is None else np.full(draws, 1.0 + sc.growth_pct_per_month / 100)
        mean = level[:, None] * weekday[None, :] * g[:, None] ** months[None, :]
        lift = np.ones((draws, n_t))
        for t in types:
            cols = etype == t
            lift[:, cols] = 1.0 + intensity[cols][None, :] * (lifts[t][:, None] - 1.0)
        sd = np.where(ev, 1.8 * noise_sd, noise_sd)
        visits[i] = mean * lift * np.exp(sd[None, :] * z)
        pf_centre = np.where(ev, peak_factor_event, peak_factor_normal)
        peak[i] = pf_centre[None, :] * pf_level[:, None] * np.exp(0.03 * z_pf)
        etypes[i] = etype
    return visits, peak, etypes.astype(str)


def synthetic_traffic(
    scenarios: Sequence[Scenario],
    *,
    draws: int = 200,
    seed: int = 0,
    base_visits: float = 1_500_000.0,
    growth_pct_per_month: float = 1.0,
    event_lift: float | Mapping[str, float] = 2.5,
    peak_factor_normal: float = 1.8,
    peak_factor_event: float = 2.4,
    noise_sd: float = 0.08,
    chunks: int | None = None,
    lazy: bool = False,
) -> xr.Dataset:
    """Traffic forecast draws (scenario x draw x date) for ``scenarios``.

    ``visits = level_d * weekday * growth_d ** months * exp(noise_dt) * lift'`` where on
    event days ``lift' = 1 + intensity * (lift_d - 1)`` (the contract's intensity
    rule). A scenario's ``growth_pct_per_month``, when set, replaces the drawn
    growth (the override the traffic model applies).

    ``chunks`` makes the arrays dask-backed with that many draws per chunk. With
    ``lazy=True`` (needs ``chunks``) nothing is generated until a chunk is computed:
    each chunk draws from its own seed ``(seed, chunk index)``, so grids far larger
    than memory can be streamed (the draws then differ from the eager ones).
    """
    dates = _dates(scenarios)
    params = dict(base_visits=base_visits, growth_pct_per_month=growth_pct_per_month, event_lift=event_lift,
                  peak_factor_normal=peak_factor_normal, peak_factor_event=peak_factor_event, noise_sd=noise_sd)
    if lazy:
        if not chunks:
            raise ValueError("lazy=True needs chunks (draws per chunk)")
        import dask
        import dask.array as da

        sizes = [min(chunks, draws - i) for i in range(0, draws, chunks)]
        shape = (len(scenarios), None, dates.size)
        parts_v, parts_p = [], []
        for b, n in enumerate(sizes):
            block = dask.delayed(_traffic_block, nout=3, pure=True)(
                scenarios, dates, n, np.random.default_rng([seed, b]), **params)
            parts_v.append(da.from_delayed(block[0], shape=(shape[0], n, shape[2]), dtype=float))
            parts_p.append(da.from_delayed(block[1], shape=(shape[0], n, shape[2]), dtype=float))
        visits = da.concatenate(parts_v, axis=1)
        peak = da.concatenate(parts_p, axis=1)
        etypes = np.stack([event_calendar(sc, dates)[0] for sc in scenarios])
    else:
        visits, peak, etypes = _traffic_block(scenarios, dates, draws, np.random.default_rng(seed), **params)
    ds = xr.Dataset(
        {
            "visits": ((SCENARIO, DRAW, DATE), visits),
            "peak_factor": ((SCENARIO, DRAW, DATE), peak),
        },
        coords={
            SCENARIO: [s.name for s in scenarios],
            DRAW: np.arange(draws),
            DATE: dates,
            "is_event": ((SCENARIO, DATE), etypes != ""),
            "event_type": ((SCENARIO, DATE), etypes),
        },
        attrs={"synthetic": "made-up traffic for tests and benchmarks"},
    )
    return ds.chunk({DRAW: chunks}) if chunks and not lazy else ds


def synthetic_capacity(
    scenarios: Sequence[Scenario],
    *,
    draws: int = 200,
    seed: int = 1,
    node_throughput: Mapping[str, float] | None = None,
    sigma: float = 0.02,
    kappa: float = 2e-4,
    spread: float = 0.08,
    chunks: int | None = None,
) -> xr.Dataset:
    """Capacity draws (scenario x draw x tier): node throughput and cluster USL coefficients.

    Node throughput is lognormal around ``node_throughput[tier]`` (default
    :data:`DEFAULT_NODE_THROUGHPUT`, 300 req/s for unknown tiers) with sd ``spread``;
    ``sigma_cluster`` and ``kappa_cluster`` are lognormal around ``sigma``, ``kappa``
    (exactly 0 when given 0: a linear-scaling cluster). The same draws serve every
    scenario (same instance types assumed).
    """
    rng = np.random.default_rng(seed)
    tiers: list[str] = []
    for s in scenarios:
        for t in s.tiers:
            if t.name not in tiers:
                tiers.append(t.name)
    centres = {**DEFAULT_NODE_THROUGHPUT, **(node_throughput or {})}
    lam = np.array([centres.get(t, 300.0) for t in tiers])[None, :] * np.exp(rng.normal(0, spread, (draws, len(tiers))))
    sig = sigma * np.exp(rng.normal(0, 0.3, (draws, len(tiers))))
    kap = kappa * np.exp(rng.normal(0, 0.3, (draws, len(tiers))))
    n_s = len(scenarios)

    def tile(a):
        return np.broadcast_to(a[None], (n_s,) + a.shape).copy()

    ds = xr.Dataset(
        {
            "node_throughput": ((SCENARIO, DRAW, TIER), tile(lam)),
            "sigma_cluster": ((SCENARIO, DRAW, TIER), tile(np.clip(sig, 0.0, 0.95))),
            "kappa_cluster": ((SCENARIO, DRAW, TIER), tile(kap)),
        },
        coords={SCENARIO: [s.name for s in scenarios], DRAW: np.arange(draws), TIER: tiers},
        attrs={"synthetic": "made-up capacity draws for tests and benchmarks"},
    )
    return ds.chunk({DRAW: chunks}) if chunks else ds
