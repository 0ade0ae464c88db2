"""Closed-form fleet sizing on the two-level USL curve (numpy kernels, no xarray).

A cluster of ``m`` nodes delivers

    X(m) = lam * m / (1 + s (m - 1) + k m (m - 1))

where ``lam`` is the throughput of one node and ``s``, ``k`` are the cluster-level
contention and coherency (``sigma_cluster``, ``kappa_cluster``). A fleet serves a
peak demand ``D`` at target utilisation ``u`` when ``X(m) * u >= D``; multiplying
out the (positive) denominator gives a quadratic inequality in ``m``::

    a m^2 + b m + c <= 0,   a = D k,   b = D (s - k) - lam u,   c = D (1 - s)

Because ``X`` rises to its peak at ``N* = sqrt((1 - s) / k)`` and then falls, the
fleets that suffice form an interval ``[m_lo, m_hi]`` between the two roots. We
solve for both roots in closed form (no search over ``m``), with the numerically
stable form ``q = (sqrt(b^2 - 4ac) - b) / 2``, ``m_lo = c / q``, ``m_hi = q / a``
(``m_hi = inf`` when ``k = 0``: a pure-contention curve never turns down). When no
integer lies in the interval, demand exceeds ``max_m X(m) * u``: the draw is
*infeasible* for this instance type, and we say so rather than return a huge count.

Why whole intervals and not just ``m_lo``: beyond ``N*`` adding nodes lowers
throughput, so a fleet can overload because it is too *large*. The overload
probabilities of a given fleet use both ends.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

# Relative slack on the integer rounding of the roots. Without it a demand that is
# exactly X(5) * u (a hand-calculation case) can come out as 5.000000000001 and
# round up to 6 servers. One part in 1e9 is far below any meaningful demand change.
ROUND_SLACK = 1e-9


def fleet_bounds(demand, lam, sigma, kappa, utilisation):
    """Integer bounds ``(lo, hi)`` of the fleets that serve ``demand``.

    Every integer ``m`` with ``lo <= m <= hi`` satisfies ``X(m) * u >= demand``; no
    other ``m >= 1`` does. Where no fleet suffices (or the demand is not a finite
    number), both bounds are ``+inf``: then ``m < lo`` for every ``m``, so every
    fleet overloads, and ``m > hi`` never double-counts it.

    Parameters
    ----------
    demand : array_like
        Peak load in req/s at the load-tested per-request cost (>= 0).
    lam, sigma, kappa : array_like
        Node throughput (req/s) and cluster USL coefficients, broadcastable to ``demand``.
    utilisation : float or array_like
        Target utilisation ``u`` in (0, 1].

    Returns
    -------
    lo, hi : numpy.ndarray of float64
        ``lo >= 1``; ``hi`` may be ``inf`` (no retrograde limit).
    """
    return bounds(np.asarray(demand, dtype=np.float64), curve(lam, sigma, kappa, utilisation))


def servers_for(demand, lam, sigma, kappa, utilisation, min_servers=1):
    """Smallest fleet ``m >= min_servers`` with ``X(m) * u >= demand``; NaN where none exists.

    A convenience over :func:`fleet_bounds` for callers that only need the count.
    """
    lo, hi = fleet_bounds(demand, lam, sigma, kappa, utilisation)
    m = np.maximum(lo, float(min_servers))
    return np.where(np.isfinite(m) & (m <= hi), m, np.nan)


class Curve(NamedTuple):
    """Demand-independent coefficients of the sizing quadratic, per (draw, tier).

    Computing them once lets the kernel solve the same capacity curve against many
    demands (every day, and every hour of an autoscaled fleet) with a dozen in-place
    array operations each.
    """

    s_minus_k: np.ndarray  # sigma - kappa
    cap: np.ndarray  # lam * u
    four_k_oms: np.ndarray  # 4 kappa (1 - sigma)
    oms: np.ndarray  # 1 - sigma
    n_star_sq: np.ndarray  # (1 - sigma) / kappa = product of the roots; inf when kappa == 0


def curve(lam, sigma, kappa, utilisation) -> Curve:
    lam = np.asarray(lam, dtype=np.float64)
    sigma = np.asarray(sigma, dtype=np.float64)
    kappa = np.asarray(kappa, dtype=np.float64)
    with np.errstate(divide="ignore"):
        n_star_sq = np.where(kappa > 0, (1.0 - sigma) / np.where(kappa > 0, kappa, 1.0), np.inf)
    return Curve(sigma - kappa, lam * utilisation, 4.0 * kappa * (1.0 - sigma), 1.0 - sigma, n_star_sq)


def lower_root(d: np.ndarray, c: Curve) -> np.ndarray:
    """The smaller root ``m_lo`` (real-valued). NaN, inf or <= 0 where no fleet suffices.

    Stable form ``q = (sqrt(b^2 - 4ac) - b) / 2``, ``m_lo = c / q``: with ``b < 0`` (the
    only feasible case) there is no cancellation. Where ``b >= 0``, ``q <= 0`` and the
    result is <= 0 or inf; where the discriminant is negative, NaN. Callers detect
    both through :func:`bounds`.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        b = d * c.s_minus_k
        b -= c.cap
        q = d * d
        q *= c.four_k_oms
        np.subtract(b * b, q, out=q)
        np.sqrt(q, out=q)
        q -= b
        q *= 0.5
        m = d * c.oms
        m /= q
    return m


def bounds(d: np.ndarray, c: Curve) -> tuple[np.ndarray, np.ndarray]:
    """``(lo, hi)`` integer bounds for demand array ``d`` on curve ``c`` (see :func:`fleet_bounds`)."""
    m_lo = lower_root(d, c)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        hi = np.divide(c.n_star_sq, m_lo)  # product of the roots is (1 - sigma) / kappa
        hi *= 1.0 + ROUND_SLACK
        np.floor(hi, out=hi)
        m_lo *= 1.0 - ROUND_SLACK
        lo = np.ceil(m_lo, out=m_lo)
        np.maximum(lo, 1.0, out=lo)  # NaN stays NaN
        infeasible = ~(lo <= hi)  # NaN, lo = inf (hi NaN) and negative roots (hi < 0)
    np.copyto(lo, np.inf, where=infeasible)
    np.copyto(hi, np.inf, where=infeasible)
    return lo, hi


def lower_servers(d: np.ndarray, c: Curve, min_servers: float) -> np.ndarray:
    """``max(ceil(m_lo), min_servers, 1)`` without feasibility checks (caller masks infeasible days).

    Used for the off-peak hours of an autoscaled fleet: if the day's peak hour is
    feasible, every lighter hour is too (the feasible demands form an interval
    starting at zero).
    """
    m = lower_root(d, c)
    m *= 1.0 - ROUND_SLACK
    np.ceil(m, out=m)
    np.maximum(m, max(1.0, float(min_servers)), out=m)
    return m
