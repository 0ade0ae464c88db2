"""The per-scenario numpy kernel: one block of draws in, every per-draw quantity out.

:func:`simulate_block` takes the traffic draws of one scenario (a block of draws x all
dates) and the matching capacity draws, and returns

* the full-size arrays (draw x date x tier): peak load, servers needed, the
  infeasible flag, server-hours used under the fleet policy; and (draw x date)
  the site-wide peak req/s and visits;
* per-draw reductions (draw x tier, or draw): the fleet bounds over event and normal
  days, the static fleet this draw needs, mean daily server-hours, busiest peaks,
  visitors;
* histograms (regime x tier x fleet size) of the smallest and largest sufficient
  fleet on each day, summed over the block's draws and days. They give the
  per-day overload probability of *every* fleet size without a loop over sizes
  (see :mod:`bayescap.simulate.fleet`).

Per-draw fleet bounds need no pass over the full arrays: the smallest sufficient
fleet rises and the largest falls with demand, so the bounds over a set of days are
those of that set's busiest day, whose demand is ``share x cost multiplier x`` the
busiest site-wide peak.

Everything is vectorised over draws, dates and tiers; the only Python loops are over
event types and the (at most 24) distinct hourly demand levels of an autoscaled
fleet. Blocks are independent, so the engine can run them on threads or as dask
tasks and simply add the histograms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayescap.errors import InputError
from bayescap.simulate.servers import bounds, curve, lower_servers

SECONDS_PER_DAY = 86_400.0
HOURS_PER_DAY = 24.0
NORMAL, EVENT, OUTSIDE = 0, 1, 2  # day regimes; OUTSIDE = not in this scenario's horizon
FULL_OUTPUTS = ("peak_rps", "servers_needed", "infeasible", "server_hours", "site_peak_rps", "visits")


@dataclass(frozen=True)
class BlockSpec:
    """Everything about one scenario that the kernel needs (plain arrays, no Scenario object).

    ``factor`` is share x cost multiplier per tier: it turns site-wide peak req/s into
    the tier's load in load-tested-request equivalents. ``regime`` codes each date
    NORMAL / EVENT / OUTSIDE the scenario's horizon.
    """

    scenario: str
    requests_per_visit: float
    factor: np.ndarray  # (K,)
    present: np.ndarray  # (K,) bool: tier exists in this scenario
    utilisation: float
    min_servers: int
    autoscale: bool
    hour_fractions: np.ndarray  # distinct fractions of the day's peak an autoscaler covers
    hour_counts: np.ndarray  # hours at each fraction (sum 24)
    regime: np.ndarray  # (T,) int8
    type_masks: np.ndarray  # (E, T) bool, one row per event type
    funding_mask: np.ndarray | None  # (T,) bool: days before the funding date, or None
    max_nodes: int


def _check_traffic(visits: np.ndarray, peak_factor: np.ndarray, in_h: np.ndarray, scenario: str) -> None:
    """Reject NaN, inf and negative traffic inside the horizon (min/max: no temporary arrays)."""
    v = visits if in_h.all() else visits[:, in_h]
    pf = peak_factor if in_h.all() else peak_factor[:, in_h]
    if v.size and not (v.min() >= 0 and v.max() < np.inf):
        raise InputError(None, f"traffic 'visits', scenario '{scenario}'",
                         "finite daily visits >= 0 on every day of the scenario's horizon (found NaN, inf or < 0)")
    if pf.size and not (pf.min() > 0 and pf.max() < np.inf):
        raise InputError(None, f"traffic 'peak_factor', scenario '{scenario}'",
                         "finite peak factors > 0 on every day of the scenario's horizon (found NaN, inf or <= 0)")


def _masked_max(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Max over axis 1 (dates) of the days in ``mask``; NaN where the mask is empty."""
    if not mask.any():
        return np.full(x.shape[0], np.nan)
    if mask.all():
        return x.max(axis=1)
    return x[:, mask].max(axis=1)


def _day_mean(x: np.ndarray, in_h: np.ndarray) -> np.ndarray:
    return x.mean(axis=1) if in_h.all() else x[:, in_h].mean(axis=1)


def _hist(values: np.ndarray, base: np.ndarray, n_keys: int, width: int) -> np.ndarray:
    """Counts of ``min(values, width - 1)`` per (regime, tier) key, regimes NORMAL and EVENT only."""
    idx = np.minimum(values, width - 1).astype(np.int64)
    idx += base
    counts = np.bincount(idx.ravel(), minlength=n_keys)
    k = base.shape[-1]
    return counts[: 2 * k * width].reshape(2, k, width)


def _buffers(out: dict | None, n_draws: int, n_dates: int, n_tiers: int) -> dict[str, np.ndarray]:
    if out is not None:
        return out
    shape = (n_draws, n_dates, n_tiers)
    return {
        "peak_rps": np.empty(shape, np.float32),
        "servers_needed": np.empty(shape, np.float32),
        "infeasible": np.empty(shape, np.bool_),
        "server_hours": np.empty(shape, np.float32),
        "site_peak_rps": np.empty(shape[:2], np.float32),
        "visits": np.empty(shape[:2], np.float32),
    }


def simulate_block(
    visits: np.ndarray,
    peak_factor: np.ndarray,
    lam: np.ndarray,
    sigma: np.ndarray,
    kappa: np.ndarray,
    spec: BlockSpec,
    out: dict[str, np.ndarray] | None = None,
    full: bool = True,
) -> dict[str, np.ndarray]:
    """Simulate one block of draws of one scenario.

    Parameters
    ----------
    visits, peak_factor : numpy.ndarray, shape (draws, dates)
    lam, sigma, kappa : numpy.ndarray, shape (draws, tiers)
        Node throughput (req/s) and cluster-level USL coefficients per tier.
    spec : BlockSpec
    out : dict, optional
        Preallocated C-contiguous arrays for the full-size outputs (names in
        :data:`FULL_OUTPUTS`; draws x dates x tiers or draws x dates), so that the
        engine's result arrays are written once, in place.
    full : bool
        False skips the full-size outputs entirely (a reductions-only pass over a
        grid too large to hold: the histograms and per-draw results are the same).

    Returns
    -------
    dict of numpy.ndarray
        See the module docstring; the engine names and assembles them.
    """
    visits = np.asarray(visits, dtype=np.float64)
    peak_factor = np.asarray(peak_factor, dtype=np.float64)
    n_draws, n_dates = visits.shape
    n_tiers = spec.present.size
    in_h = spec.regime != OUTSIDE
    ev = spec.regime == EVENT
    nr = spec.regime == NORMAL
    all_in = bool(in_h.all())
    _check_traffic(visits, peak_factor, in_h, spec.scenario)
    buf = _buffers(out, n_draws, n_dates, n_tiers) if full else None

    site = visits * (spec.requests_per_visit / SECONDS_PER_DAY)
    site *= peak_factor
    if not all_in:
        site[:, ~in_h] = np.nan
    if full:
        buf["site_peak_rps"][...] = site
        buf["visits"][...] = visits
        if not all_in:
            buf["visits"][:, ~in_h] = np.nan
    site_ev = _masked_max(site, ev)
    site_nr = _masked_max(site, nr)
    res: dict[str, np.ndarray] = {
        "site_peak_event_max": site_ev,
        "site_peak_normal_max": site_nr,
        "site_peak_type_max": np.stack([_masked_max(site, m) for m in spec.type_masks], axis=1)
        if len(spec.type_masks) else np.empty((n_draws, 0)),
        "visits_total": visits.sum(axis=1) if all_in else visits[:, in_h].sum(axis=1),
        "visits_by_funding": visits[:, spec.funding_mask].sum(axis=1)
        if spec.funding_mask is not None else np.full(n_draws, np.nan),
    }

    per_draw = {n: np.full((n_draws, n_tiers), np.nan) for n in ("lo_event", "hi_event", "lo_normal", "hi_normal")}
    fleet_out = np.zeros((n_draws, n_tiers))
    hours_mean_out = np.zeros((n_draws, n_tiers))
    width = spec.max_nodes + 2
    hist_lo = np.zeros((2, n_tiers, width), dtype=np.int64)
    hist_hi = np.zeros((2, n_tiers, width), dtype=np.int64)
    kp = np.flatnonzero(spec.present)
    absent = np.flatnonzero(~spec.present)
    if full:
        for name in ("peak_rps", "servers_needed", "server_hours"):
            buf[name][:, :, absent] = 0.0
        buf["infeasible"][:, :, absent] = False

    if kp.size:
        n_kp = kp.size
        factor = spec.factor[kp]
        c_full = curve(*(np.asarray(a, dtype=np.float64)[:, kp] for a in (lam, sigma, kappa)), spec.utilisation)
        c = type(c_full)(*(a[:, None, :] for a in c_full))  # broadcast over dates
        min_m = float(spec.min_servers)

        # per-draw bounds from the busiest event / normal day (bounds are monotone in demand)
        for (lo_name, hi_name), peak in ((("lo_event", "hi_event"), site_ev), (("lo_normal", "hi_normal"), site_nr)):
            if np.all(np.isnan(peak)):
                lo_d = np.full((n_draws, n_kp), -np.inf)
                hi_d = np.full((n_draws, n_kp), np.inf)
            else:
                lo_d, hi_d = bounds(peak[:, None] * factor[None, :], c_full)
            per_draw[lo_name][:, kp] = lo_d
            per_draw[hi_name][:, kp] = hi_d
        lo_all = np.maximum(per_draw["lo_event"][:, kp], per_draw["lo_normal"][:, kp])
        hi_all = np.minimum(per_draw["hi_event"][:, kp], per_draw["hi_normal"][:, kp])
        fleet = np.maximum(lo_all, min_m)
        fleet = np.where(np.isfinite(fleet) & (fleet <= hi_all), fleet, np.nan)
        for name in ("lo_event", "lo_normal"):  # no days of that regime: report NaN, not -inf
            per_draw[name][np.isneginf(per_draw[name])] = np.nan
        for name, lo_name in (("hi_event", "lo_event"), ("hi_normal", "lo_normal")):
            per_draw[name][np.isnan(per_draw[lo_name])] = np.nan

        # every day: servers needed and the per-day histograms
        demand = site[:, :, None] * factor[None, None, :]
        lo, hi = bounds(demand, c)
        servers = np.maximum(lo, min_m)
        enough = np.isfinite(servers)  # bounds() gives lo <= hi wherever lo is finite ...
        if min_m > 1:
            enough &= servers <= hi  # ... but a minimum fleet can overshoot a retrograde curve's upper root
        if full:
            buf["peak_rps"][:, :, kp] = demand
            # outside the horizon demand is NaN: not flagged as infeasible
            buf["infeasible"][:, :, kp] = ~enough if all_in else ~enough & np.isfinite(demand)
        servers[~enough] = np.nan
        if full:
            buf["servers_needed"][:, :, kp] = servers

        regime_code = spec.regime.astype(np.int64)
        base = (regime_code[None, :, None] * n_kp + np.arange(n_kp)[None, None, :]) * width
        n_keys = 3 * n_kp * width
        hist_lo[:, kp, :] = _hist(lo, base, n_keys, width)
        if np.min(hi, initial=np.inf) <= spec.max_nodes:
            hist_hi[:, kp, :] = _hist(hi, base, n_keys, width)
        del lo, hi

        if spec.autoscale:
            hours = np.zeros(demand.shape)
            for frac, count in zip(spec.hour_fractions, spec.hour_counts, strict=True):
                m = servers.copy() if frac >= 1.0 else lower_servers(demand * frac, c, min_m)
                m *= count
                hours += m
            hours[np.isnan(servers)] = np.nan
            if full:
                buf["server_hours"][:, :, kp] = hours
            hours_mean = _day_mean(hours, in_h)
        else:
            if full:
                buf["server_hours"][:, :, kp] = (HOURS_PER_DAY * fleet)[:, None, :]
                if not all_in:
                    buf["server_hours"][:, ~in_h, :] = np.nan
            hours_mean = HOURS_PER_DAY * fleet
        fleet_out[:, kp] = fleet
        hours_mean_out[:, kp] = hours_mean

    if full and not all_in:
        buf["peak_rps"][:, ~in_h, :] = np.nan
        buf["servers_needed"][:, ~in_h, :] = np.nan
    res.update(fleet_needed=fleet_out, server_hours_mean=hours_mean_out, hist_lo=hist_lo, hist_hi=hist_hi, **per_draw)
    if full and out is None:
        res.update(buf)
    return res
