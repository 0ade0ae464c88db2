"""Universal Scalability Law kernels (numpy only; safe to import from plotting).

X(N) = lam * N / (1 + sigma * (N - 1) + kappa * N * (N - 1))

All functions broadcast over numpy arrays or xarray objects.
"""

from __future__ import annotations

import numpy as np


def throughput(n, sigma, kappa, lam):
    """USL throughput at concurrency/cores/nodes ``n``."""
    return lam * n / (1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0))


def relative_capacity(n, sigma, kappa):
    """C(N) = X(N) / X(1): how many single units N units are worth."""
    return n / (1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0))


def peak_n(sigma, kappa):
    """N* = sqrt((1 - sigma) / kappa); infinite when kappa == 0 (pure contention)."""
    sigma = np.asarray(sigma, dtype=float)
    kappa = np.asarray(kappa, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.sqrt(np.clip(1.0 - sigma, 0.0, None) / kappa)
    return np.where(kappa > 0, out, np.inf)


def max_throughput(sigma, kappa, lam):
    """Throughput at N* (the Amdahl asymptote lam / sigma when kappa == 0)."""
    n_star = peak_n(sigma, kappa)
    finite = np.isfinite(n_star)
    with np.errstate(divide="ignore", invalid="ignore"):
        at_peak = throughput(np.where(finite, n_star, 1.0), sigma, kappa, lam)
        asymptote = np.where(np.asarray(sigma) > 0, lam / np.asarray(sigma), np.inf)
    return np.where(finite, at_peak, asymptote)


def efficiency(n, sigma, kappa):
    """X(N) / (N * X(1))."""
    return 1.0 / (1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0))


def linear_overpromise(n, sigma, kappa):
    """How much linear extrapolation N * X(1) over-states X(N), as a fraction (0.25 = 25%)."""
    return 1.0 / efficiency(n, sigma, kappa) - 1.0
