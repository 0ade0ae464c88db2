"""Overload probabilities of a fleet size, and the smallest fleet that meets a risk target.

Fleet ``m`` overloads on a day when that day's peak load exceeds ``X(m) * u``. With
the per-day interval ``[lo, hi]`` of sufficient fleets (see
:mod:`bayescap.simulate.servers`), that is ``m < lo or m > hi``; an infeasible day
has ``lo = hi = inf`` and overloads every fleet.

* *Per day* (``p_overload_event_day``, ``p_overload_normal_day``): the share of
  (draw, day) pairs of that regime on which ``m`` overloads. From histograms of
  ``lo`` and ``hi``: ``#{lo > m} + #{hi < m}``, both read off cumulative sums, so
  every ``m`` costs O(1) after one pass over the draws.
* *Any event day in the horizon* (``p_overload_any_event_day``): the share of draws
  in which ``m`` overloads on at least one event day. A single fleet survives all
  event days of a draw exactly when ``max lo <= m <= min hi`` over those days, so
  only the per-draw bounds are needed: ``1 - #{draws with lo_d <= m <= hi_d} / D``,
  from two sorted arrays and ``searchsorted``.

The recommended static fleet is the smallest ``m >= min_servers`` whose
P(overload on any event day) is at or below the target. That probability only
drops at values of ``lo_d``, so the candidates are exactly those values: the answer
is exact, not a grid search.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Probabilities are ratios of counts; equality with the target must not fail on the
# last bit (e.g. 1 - 95/100 = 0.050000000000000044 > 0.05).
_P_TOL = 1e-12


def _clean_bounds(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Draws with no single sufficient fleet get ``lo = hi = inf`` (never OK, never double counted)."""
    lo = np.asarray(lo, dtype=float)
    hi = np.asarray(hi, dtype=float)
    bad = ~(lo <= hi)
    return np.sort(np.where(bad, np.inf, lo)), np.sort(np.where(bad, np.inf, hi))


def p_overload_any(lo: np.ndarray, hi: np.ndarray, nodes) -> np.ndarray:
    """P(fleet overloads on at least one day of a set) for each fleet size in ``nodes``.

    Parameters
    ----------
    lo, hi : numpy.ndarray, shape (draws,)
        Per draw, the largest ``lo`` and smallest ``hi`` over the days in the set.
    nodes : array_like of int
    """
    lo_s, hi_s = _clean_bounds(lo, hi)
    m = np.asarray(nodes, dtype=float)
    ok = np.searchsorted(lo_s, m, side="right") - np.searchsorted(hi_s, m, side="left")
    return (lo_s.size - ok) / lo_s.size  # not 1 - ok/n: 1 - 228/240 is 0.050000000000000044


@dataclass(frozen=True)
class FleetChoice:
    """The recommended fleet of one tier in one scenario.

    ``servers`` is NaN when no fleet size meets the target; ``best_servers`` and
    ``best_p`` then say how close the best fleet gets (they equal ``servers`` and
    ``p_overload`` when the target is met).
    """

    servers: float
    p_overload: float
    best_servers: float
    best_p: float


def smallest_fleet(lo: np.ndarray, hi: np.ndarray, target: float, min_servers: int) -> FleetChoice:
    """Smallest ``m >= min_servers`` with P(overload on any day of the set) <= ``target`` (exact)."""
    lo_s, _ = _clean_bounds(lo, hi)
    finite = lo_s[np.isfinite(lo_s)]
    candidates = np.unique(np.concatenate([[float(min_servers)], np.maximum(finite, float(min_servers))]))
    p = p_overload_any(lo, hi, candidates)
    meets = np.flatnonzero(p <= target + _P_TOL)
    best = int(np.argmin(p))
    if meets.size:
        i = int(meets[0])
        return FleetChoice(float(candidates[i]), float(p[i]), float(candidates[i]), float(p[i]))
    return FleetChoice(np.nan, np.nan, float(candidates[best]), float(p[best]))


def p_overload_per_day(hist_lo: np.ndarray, hist_hi: np.ndarray, nodes) -> np.ndarray:
    """Share of (draw, day) pairs on which each fleet size in ``nodes`` overloads.

    Parameters
    ----------
    hist_lo, hist_hi : numpy.ndarray, shape (max_nodes + 2,)
        Counts of ``min(lo, max_nodes + 1)`` and ``min(hi, max_nodes + 1)`` over the
        (draw, day) pairs of one regime.
    nodes : array_like of int
        Fleet sizes; those above ``max_nodes`` (or with no days) get NaN.
    """
    width = hist_lo.size
    total = hist_lo.sum()
    m = np.asarray(nodes, dtype=np.int64)
    valid = (m >= 1) & (m <= width - 2)
    mc = np.clip(m, 1, width - 2)
    cum_lo = np.cumsum(hist_lo)
    cum_hi = np.cumsum(hist_hi)
    over = (total - cum_lo[mc]) + cum_hi[mc - 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        p = over / total
    return np.where(valid & (total > 0), p, np.nan)
