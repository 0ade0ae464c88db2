"""Sampler coordinates for the USL curve of a configuration alone in its tier: an exact change of variables.

A load test of one configuration pins its curve X(N) = lam N / D(N), D(N) = 1 + sigma (N - 1) + kappa N (N - 1),
at the tested levels, not lam, sigma and kappa apart. Its posterior lies along two ridges:

* sigma against kappa: where the data allow kappa > 0, sigma falls as kappa rises, sigma + alpha k = constant
  (k = kappa n_max^2, the model's scaled kappa), while where k < 0 (kappa = 0) sigma alone is pinned within a few
  thousandths. In the model's coordinates (sigma's logit, k) the two parts point in different directions and have
  different widths, and one mass matrix fits neither;
* lam against sigma and kappa: the data pin the throughput where it was measured best, X(n_ref) = lam n_ref /
  D(n_ref), so log lam moves with log D(n_ref) (on the SPEC SDM91 benchmark, measured at N = 1 and then from 18 on,
  log lam ranges over 1.8 along a bent curve in sigma).

On small single-configuration load tests most fits did not converge (docs/capacity_model.md, "Mixing"). The sampler
therefore moves in (v, u, l):

    odds(sigma) = sigma / (1 - sigma) = c softplus(v + v_0 - gamma max(k, 0)),   gamma = alpha / c
    k = KinkStretch(u)                                                    (as for every config)
    log(lam / s) = l + log D(n_ref)

* v stays put along the first ridge while k moves (v_0 puts v = 0 at the prior's centre, where the chains start);
  the odds are linear in v above the knee c and logarithmic below it (sigma > 0 always). alpha comes from the design alone: the least-squares slope of N (N - 1) / n_max^2 on N - 1
  over the tested N, the trade-off that leaves D(N) (with sigma small) unchanged up to the scale lam.
* l = log(X(n_ref) / (n_ref s)), with n_ref the tested level of the highest mean throughput (with additive noise,
  the best-measured point relative to its size).

Given k, v -> sigma is one-to-one, and both shears have a unit Jacobian, so the log-Jacobian is that of v -> z alone,
where z is the standard normal the model puts on sigma's logit (logit sigma = mu + sd z); it is added to the density.
The model and its posterior are unchanged: only the coordinates the sampler moves in differ. A configuration that
shares its tier with others keeps the non-centred z and log lam itself (gamma = 0, n_ref = 0); a lone configuration
tested at fewer than ``MIN_LEVELS_FOR_ODDS`` levels keeps z (but gets the lam shear).

numpy only (the PyMC graph and the C density write the same formulas in their own terms).
"""

from __future__ import annotations

import math

import numpy as np

KNEE = 0.003
"""c: odds(sigma) below which v acts on the log scale. Over 16 small single-configuration fits each, c = 0.003 and
0.001 converged alike and c = 0.03 did not (docs/capacity_model.md, "Mixing")."""
LOG_KNEE = math.log(KNEE)
MIN_LEVELS_FOR_ODDS = 3
"""A lone config tested at fewer levels keeps sigma's logit (z) as its coordinate: with one or two levels the data do
not shape sigma, whose posterior is then about its prior, a normal in z but skewed in v (max R-hat 1.055 and 1.071
with v, 1.015 and 1.012 with z, on a config tested at N = 1 only and at N = 1, 2)."""


def sigma_shear(n: np.ndarray, n_max: float) -> float:
    """gamma of one configuration: alpha / c from its tested levels ``n`` (node rows); 0 with fewer than two levels."""
    levels = np.unique(np.asarray(n, dtype=float))
    if levels.size < 2:
        return 0.0
    q = levels * (levels - 1.0) / float(n_max) ** 2
    slope = np.polyfit(levels - 1.0, q, 1)[0]
    return float(slope) / KNEE


def reference_level(n: np.ndarray, y: np.ndarray) -> float:
    """n_ref of one configuration: the tested level whose mean throughput is highest (node rows ``n``, ``y``)."""
    n = np.asarray(n, dtype=float)
    y = np.asarray(y, dtype=float)
    levels = np.unique(n)
    means = np.array([y[n == level].mean() for level in levels])
    return float(levels[int(np.argmax(means))])


def log_denominator(sigma, kappa, n_ref):
    """log D(n_ref) = log(1 + sigma (n_ref - 1) + kappa n_ref (n_ref - 1)); 0 where n_ref = 0 (no shear)."""
    n_ref = np.asarray(n_ref, dtype=float)
    den = 1.0 + sigma * (n_ref - 1.0) + kappa * n_ref * (n_ref - 1.0)
    return np.where(n_ref > 0, np.log(np.where(n_ref > 0, den, 1.0)), 0.0)


def _softplus(w):
    return np.logaddexp(0.0, w)


def sigma_offset(gamma, mu: float, k_centre: float):
    """v_0: the shift that makes v = 0 the prior's centre (z = 0 at k = k_centre)."""
    return np.log(np.expm1(math.exp(mu - LOG_KNEE))) + np.asarray(gamma) * max(k_centre, 0.0)


def z_of(v, ramp, gamma, offset, mu: float, sd: float):
    """v -> z (the standard normal of sigma's logit) given max(k, 0) = ``ramp``."""
    return (LOG_KNEE + np.log(_softplus(np.asarray(v) + offset - gamma * ramp)) - mu) / sd


def v_of(z, ramp, gamma, offset, mu: float, sd: float):
    """z -> v, the inverse of :func:`z_of`."""
    odds_over_knee = np.exp(mu + sd * np.asarray(z, dtype=float) - LOG_KNEE)
    return np.log(np.expm1(odds_over_knee)) + gamma * ramp - offset


def log_jacobian(v, ramp, gamma, offset, sd: float):
    """log dz/dv = log sigmoid(w) - log softplus(w) - log sd, w = v + offset - gamma ramp."""
    w = np.asarray(v) + offset - gamma * ramp
    return -_softplus(-w) - np.log(_softplus(w)) - math.log(sd)
