"""The maths of the KinkStretch coordinates in numpy (no PyMC): see :mod:`bayescap.models.kink_stretch`.

k(u) = a u + b (sqrt(u^2 + e^2) - e) with a = (1 + c) / 2, b = (1 - c) / 2: slope c far below the kink, 1 above it.
"""

from __future__ import annotations

import numpy as np

DEFAULT_STRETCH = 10.0
"""c: the flat side's sd (about 1.2) over the wall's width (about 0.1) on the example's static tier."""
DEFAULT_WIDTH = 0.05
"""e: the width (in k) over which the slope changes; smooth on the scale of the wall."""


def backward(u, stretch, width: float = DEFAULT_WIDTH):
    """u -> k (sampler coordinates to the model's value)."""
    c = np.asarray(stretch, dtype=float)
    return (1.0 + c) / 2.0 * u + (1.0 - c) / 2.0 * (np.sqrt(np.square(u) + width**2) - width)


def forward(k, stretch, width: float = DEFAULT_WIDTH):
    """k -> u, the inverse of :func:`backward`."""
    c = np.asarray(stretch, dtype=float)
    a, b = (1.0 + c) / 2.0, (1.0 - c) / 2.0
    kk = k + b * width
    return (a * kk - b * np.sqrt(np.square(kk) + c * width**2)) / c
