"""News days: the upper tail that the bounded Student-t noise cannot carry, taken from the history itself.

Why: the normal-day noise is a Student-t whose degrees of freedom are bounded below (``nu_min`` 5) so that
predictive draws stay physically plausible (issue 4: a free nu went to 1.9 and single draws reached 1,000 times the
training maximum). A real series has news days that such a tail cannot reproduce: on the Peyton Manning series a
fit of 730 days ending 20 weeks before the test days has 5.6% of its normal days' innovations above the Student-t's
97.5% quantile (median over draws; 8.0% above the 95% one), and out of sample 6.5% of the days before the test lay
above the forecasts' 97.5% quantiles, at 1.8 to 26 times the forecast median (docs/traffic_model.md, "News days").

What: for each posterior draw, the normal days' one-step innovations of the history (the residual minus the AR(1)
carry-over of the day before), standardised by the draw's noise scale. Those above the draw's Student-t quantile at
``1 - q`` are the history's *news innovations*; their share ``a`` exceeds ``q`` by the news days the Student-t cannot
explain. The forecast's normal-day noise becomes a mixture: with probability ``p = (a - q) / (1 - q)`` (0 where ``a <=
q``) a day's standardised innovation is one of that draw's news innovations, drawn at random; otherwise the Student-t
as before. The mixture exceeds the quantile on a share ``a`` of days, as the history did, and its news days are
bounded by the largest innovation the history holds. Below the cut it is the Student-t with weight ``1 - p``.

Only normal days: event days are announced, with their own lifts and Gaussian noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class NewsTail:
    """Per posterior draw: the probability ``p`` that a forecast normal day is a news day, and the draw's news
    innovations (standardised) as one pool with ``start``/``count`` offsets per draw."""

    p: np.ndarray  # (draws,)
    pool: np.ndarray  # concatenated standardised news innovations
    start: np.ndarray  # (draws,) offset of each draw's innovations in pool
    count: np.ndarray  # (draws,)


def news_tail(resid: np.ndarray, phi: np.ndarray | None, sigma: np.ndarray, nu: np.ndarray, *,
              normal: np.ndarray, mask: np.ndarray, prev_mask: np.ndarray, q: float) -> NewsTail:
    """The news tail of each draw from its history residuals ``resid`` (draws, days) on the log scale.

    ``phi`` is the AR(1) coefficient per draw (None without AR(1)); ``sigma`` and ``nu`` the normal-day Student-t's
    scale and degrees of freedom per draw; ``normal``, ``mask`` and ``prev_mask`` flag normal days, observed days and
    days whose previous day is observed. ``q`` is the Student-t's upper tail share that defines a news innovation.
    """
    if not 0.0 < q < 0.5:
        raise ValueError(f"news tail share q must be between 0 and 0.5, got {q}")
    if phi is None:
        innov = resid
        use = normal & (mask > 0)
    else:
        prev = np.concatenate([np.zeros((resid.shape[0], 1)), resid[:, :-1]], axis=1)
        innov = resid - phi[:, None] * prev
        use = normal & (mask > 0) & (prev_mask > 0)
    u = innov[:, use] / sigma[:, None]
    n_days = u.shape[1]
    cut = stats.t.ppf(1.0 - q, nu)
    above = u > cut[:, None]
    count = above.sum(axis=1)
    share = count / max(n_days, 1)
    p = np.clip((share - q) / (1.0 - q), 0.0, 1.0)
    p = np.where(count > 0, p, 0.0)
    start = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    pool = u[above]  # row-major: each draw's innovations together, in draw order
    return NewsTail(p=p, pool=pool, start=start, count=count.astype(np.int64))


def with_news_days(t_draws: np.ndarray, normal_day: np.ndarray, tail: NewsTail, v: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``t_draws`` (draws, days: standardised Student-t noise) with each normal day replaced by one of its draw's news
    innovations where ``v < p`` of that draw; ``v`` and ``w`` are uniform random numbers of the same shape (``w``
    picks the innovation)."""
    news = (v < tail.p[:, None]) & normal_day[None, :] & (tail.count[:, None] > 0)
    if not news.any():
        return t_draws
    rows, cols = np.nonzero(news)
    pick = tail.start[rows] + np.minimum((w[rows, cols] * tail.count[rows]).astype(np.int64), tail.count[rows] - 1)
    out = t_draws.copy()
    out[rows, cols] = tail.pool[pick]
    return out
