"""Sampler coordinates for a rectified Normal parameter (the capacity model's kappa): an exact change of variables.

The capacity model writes kappa = max(k, 0) with a Normal k, so that kappa = 0 (pure contention)
has real probability. When the data say kappa is 0 or tiny (a tier that scales almost linearly
over the tested range), k's posterior has two very different sides:

* k < 0: the likelihood does not depend on k, so k spreads as wide as its prior (sd about 1.2
  on the example's static tier);
* k > 0: the data push back hard (a wall about 0.1 wide).

NUTS must use a step size small enough for the wall, and then needs hundreds of steps to cross
the flat side. :class:`KinkStretch` samples u instead of k, with

    k(u) = a u + b (sqrt(u^2 + e^2) - e),   a = (1 + c) / 2,  b = (1 - c) / 2,

whose slope dk/du runs smoothly from c (u << 0) to 1 (u >> 0): the flat side is compressed c
times, the data side is left as it is. It is a bijection with a closed-form inverse and its
log-Jacobian is added to the density, so the model and its posterior are unchanged; only the
coordinates the sampler moves in differ. ``c = 1`` is the identity (used where no data reach the
parameter, e.g. a tier without cluster rows, whose prior is already a plain Normal).

Imports PyMC: only the model builder uses it.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from pymc.distributions.transforms import Transform

from bayescap.models.kink_math import DEFAULT_STRETCH, DEFAULT_WIDTH

__all__ = ["DEFAULT_STRETCH", "DEFAULT_WIDTH", "KinkStretch"]


class KinkStretch(Transform):
    """k = a u + b (sqrt(u^2 + e^2) - e) with stretch c (a scalar or one value per element, each >= 1)."""

    name = "kinkstretch"  # the sampled variable is "<rv>_kinkstretch__"; PyMC's log-likelihood helper fails on a "_" in it
    ndim_supp = 0

    def __init__(self, stretch=DEFAULT_STRETCH, width: float = DEFAULT_WIDTH):
        c = np.asarray(stretch, dtype=float)
        if np.any(~np.isfinite(c)) or np.any(c < 1.0) or not width > 0:
            raise ValueError(f"KinkStretch needs stretch >= 1 and width > 0, got {stretch!r}, {width!r}")
        self.c = c
        self.a = (1.0 + c) / 2.0
        self.b = (1.0 - c) / 2.0
        self.e = float(width)

    def backward(self, value, *inputs):
        """u -> k."""
        return self.a * value + self.b * (pt.sqrt(value**2 + self.e**2) - self.e)

    def forward(self, value, *inputs):
        """k -> u: the root of the quadratic (a^2 - b^2) u^2 - 2 a K u + K^2 - b^2 e^2 = 0 with K = k + b e."""
        kk = value + self.b * self.e
        return (self.a * kk - self.b * pt.sqrt(kk**2 + self.c * self.e**2)) / self.c

    def log_jac_det(self, value, *inputs):
        """log dk/du = log(a + b u / sqrt(u^2 + e^2)), between log c and 0."""
        return pt.log(self.a + self.b * value / pt.sqrt(value**2 + self.e**2))
