"""Data-driven choice of the yearly Fourier order (option ``fourier_order="auto"``), from the fit's own history only.

Rule: a rolling-origin cross-validation *inside* the training history, scored with the model's numpy Gaussian
approximation (:func:`bayescap.models.traffic_whiten.whiten`) instead of sampling.

For each candidate order (those >= ``weekday_yearly_order``) the design is built on the whole training history, so
every fold has the structure of the final fit. Every block of ``FOLD_DAYS`` days that has at least ``MIN_FIT_DAYS``
days (a year) before it is held out in turn, at most ``MAX_FOLDS`` blocks ending at the history's end (13 blocks
cover the second year of a 730-day history). Each block is forecast from the days *before* it only, as in a
backtest:

- hyperparameters (noise scales, AR coefficient, walk scale, lift spreads): one :func:`whiten` per order on the days
  before the earliest held-out block (so no held-out day informs them);
- per block, the linear block's Gaussian posterior at those hyperparameters given the days before it (covariance from
  the Student-t Fisher information as in ``whiten``; mean by Student-t IRLS, the robust weights of the days added
  since the previous block re-estimated twice);
- a held-out day t, h days after the block's last fitted day t0, gets the predictive Student-t (``NU_APPROX`` df)
  with mean  x_t b + phi^h (y_t0 - x_t0 b)  and squared scale  c' Sigma c + sum_j phi^(2(h-j)) sigma_j^2,
  c = x_t - phi^h x_t0 (the linear block's uncertainty, then the AR(1) noise accumulated over the h days, event
  days with the event-day scale). Occurrences in the block draw their lifts from their type's population.

The score of an order is the mean log predictive density per held-out observed day (all blocks pooled); the order
with the highest score is chosen (a tie goes to the smaller order). Evaluated on the Peyton Manning series before
the backtest's test days (docs/traffic_model.md): pooling the whole second year of blocks matters. With only the
last 3 or 6 blocks the choice was no better than chance, and the Laplace marginal likelihood picked orders 2 or 4
almost always (the random walk absorbs the yearly shape in-sample) and forecast worse than order 8.

Deterministic, and never looks at any day after the history it is given. A history without room for one block
after a year (< 393 days) gets the smallest candidate. Cost for a 730-day history: one whitening pass per candidate
plus small updates, 0.3-0.8 s.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
from scipy import linalg
from scipy.special import gammaln
from threadpoolctl import threadpool_limits

from bayescap.errors import ModelError
from bayescap.models.traffic_after import is_after_type, with_after_events
from bayescap.models.traffic_design import (
    WEEKDAY_YEARLY_MIN_DAYS,
    TrafficDesign,
    build_design,
    event_types_of,
    noncentred_walk,
)
from bayescap.models.traffic_priors import merge_options, merge_priors
from bayescap.models.traffic_whiten import NU_APPROX, _ar_filter, _columns, _prior, block_layout, whiten

CANDIDATES = (2, 4, 6, 8, 10)  # the largest is traffic_priors.FOURIER_ORDER_MAX_AUTO
FOLD_DAYS = 28  # the backtest's forecast window
MIN_FIT_DAYS = 365  # a held-out block needs a year of history before it (to have seen its season once)
MAX_FOLDS = 13  # at most the last 13 blocks (364 days): bounds the cost for long histories
FIRST_IRLS_PASSES = 3


def design_for_order(history_df: pd.DataFrame, opt: dict, order: int) -> TrafficDesign:
    """The traffic design of ``history_df`` with yearly Fourier order ``order`` (other settings from ``opt``), the
    event after-days of ``opt["event_after_days"]`` derived first (traffic_after.py)."""
    types = [t for t in event_types_of(history_df) if not is_after_type(t)]
    history_df, _ = with_after_events(history_df, types, opt.get("event_after_days", 0))
    return build_design(
        history_df,
        competitor_events=str(opt["competitor_events"]),
        knot_spacing=int(opt["knot_spacing"]),
        fourier_order=int(order),
        weekday_yearly_order=int(opt["weekday_yearly_order"]),
        single_day_lifts=str(opt.get("single_day_lifts", "pooled")),
    )


def choose_fourier_order(
    history_df: pd.DataFrame,
    priors: dict | None = None,
    options: dict | None = None,
    *,
    candidates: tuple[int, ...] = CANDIDATES,
    fold_days: int = FOLD_DAYS,
    max_folds: int = MAX_FOLDS,
) -> tuple[int, dict[int, float]]:
    """The yearly Fourier order for ``history_df`` and each candidate's score (mean held-out log density per day).

    ``options["fourier_order"]`` is ignored (this is what "auto" resolves); candidates below
    ``options["weekday_yearly_order"]`` are skipped where the history is long enough for the weekday x yearly terms
    (``WEEKDAY_YEARLY_MIN_DAYS``). A history too short for yearly terms (< 365 days) has none:
    ``(0, {})``; one too short for a held-out block gets the smallest candidate and no scores.
    """
    pri = merge_priors(priors)
    opt = merge_options({**(options or {}), "fourier_order": "auto"})
    wyo = int(opt["weekday_yearly_order"])
    dates = pd.to_datetime(history_df["date"])
    if (dates.max() - dates.min()).days + 1 < WEEKDAY_YEARLY_MIN_DAYS:
        wyo = 0  # the weekday x yearly terms need two years; a shorter history has none to keep the order above
    cands = sorted({int(c) for c in candidates if int(c) >= max(wyo, 1)})
    if not cands:
        raise ModelError(f"no Fourier order candidate >= weekday_yearly_order {wyo} among {tuple(candidates)}")
    first = design_for_order(history_df, opt, cands[0])
    if first.fourier_order == 0:
        return 0, {}
    n = len(first.dates)
    folds = min(int(max_folds), (n - MIN_FIT_DAYS) // int(fold_days))
    if folds < 1:
        return cands[0], {}
    starts = [n - k * int(fold_days) for k in range(folds, 0, -1)]
    noncentred = noncentred_walk(str(opt["level_param"]))
    scores = {}
    # single-threaded BLAS for these small products: with threads, a busy 2-core machine made the selection 2-10x
    # slower (threads wait on each other)
    with threadpool_limits(limits=1, user_api="blas"):
        for c in cands:
            design = first if c == cands[0] else design_for_order(history_df, opt, c)
            scores[c] = holdout_score(design, pri, starts, int(fold_days), ar1=bool(opt["ar1"]), noncentred=noncentred)
    best = max(scores.values())
    return min(c for c in cands if scores[c] >= best), scores


def scores_json(scores: dict[int, float]) -> str:
    """Candidate scores as JSON (keys are the orders as strings), for ``idata.attrs``."""
    return json.dumps({str(k): round(float(v), 6) for k, v in sorted(scores.items())})


def _masked(design: TrafficDesign, keep: np.ndarray) -> TrafficDesign:
    """The same design with only the days in ``keep`` in the likelihood."""
    data = dict(design.data)
    mask = (design.data["mask"] > 0) & keep
    data["mask"] = mask.astype(float)
    data["prev_mask"] = np.concatenate([[0.0], mask[:-1].astype(float)])
    return dataclasses.replace(design, data=data)


def _t_logpdf(x: np.ndarray, scale: np.ndarray, nu: float) -> np.ndarray:
    z = x / scale
    return (gammaln((nu + 1) / 2) - gammaln(nu / 2) - 0.5 * np.log(nu * np.pi) - np.log(scale)
            - (nu + 1) / 2 * np.log1p(z * z / nu))


def holdout_score(
    design: TrafficDesign, pri: dict, starts: list[int], horizon: int, *, ar1: bool, noncentred: bool
) -> float:
    """Mean log predictive density per observed held-out day: each block [s, s + horizon) forecast from the days
    before s (see the module docstring). Hyperparameters come from the days before ``min(starts)``."""
    preds = holdout_predictive(design, pri, starts, horizon, ar1=ar1, noncentred=noncentred)
    return float(np.mean(np.concatenate([p["logpdf"] for p in preds])))


def holdout_predictive(
    design: TrafficDesign, pri: dict, starts: list[int], horizon: int, *, ar1: bool, noncentred: bool,
    hyper: dict | None = None,
) -> list[dict[str, np.ndarray]]:
    """Per held-out block (``starts`` ascending): observed ``days``, centred log counts ``y``, predictive ``mean`` and
    ``scale`` (Student-t, ``NU_APPROX`` df) and ``logpdf``. ``hyper`` (as ``LinearBlock.hyper``) skips their estimate."""
    starts = sorted(int(s) for s in starts)
    d = design.data
    n = len(design.dates)
    observed = d["mask"] > 0
    if hyper is None:
        hyper = whiten(_masked(design, np.arange(n) < starts[0]), pri, ar1=ar1, noncentred=noncentred).hyper
    hyper = {k: (np.asarray(v) if isinstance(v, list) else v) for k, v in hyper.items()}
    layout = block_layout(design, noncentred=noncentred)
    X = _columns(design, pri, layout, hyper, noncentred)
    m0, P0 = _prior(design, pri, layout, hyper)
    phi = float(hyper["phi"]) if ar1 else 0.0
    sigma = np.where(d["is_event"] > 0, hyper["sigma_event"], hyper["sigma_normal"])
    y = d["y"] - float(d["y_center"]) + hyper["competitor"] * d["competitor"] * float(d["competitor_weight"])
    # AR(1)-filtered rows: row t only involves days t and t - 1, so the rows before s are those of a fit on days < s
    A_X = _ar_filter(X, phi, d["prev_mask"])
    A_y = _ar_filter(y, phi, d["prev_mask"])
    info_w = np.where(observed, (NU_APPROX + 1.0) / (NU_APPROX + 3.0), 0.0) / sigma**2
    robust = np.where(observed, 1.0, 0.0) / sigma**2  # IRLS weights / sigma^2, 0 on unobserved days

    def gram(rows: slice, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return A_X[rows].T @ (w[rows, None] * A_X[rows]), A_X[rows].T @ (w[rows] * A_y[rows])

    def reweight(rows: slice, b: np.ndarray) -> None:
        e = A_y[rows] - A_X[rows] @ b
        robust[rows] = np.where(observed[rows], (NU_APPROX + 1.0) / (NU_APPROX + e**2 / sigma[rows] ** 2), 0.0) / sigma[rows] ** 2

    P_info = P0.copy()
    G, r = P0.copy(), P0 @ m0
    done = 0
    out: list[dict[str, np.ndarray]] = []
    for s in starts:
        new = slice(done, s)
        P_info += gram(new, info_w)[0]
        # robust weights of the days added since the previous block: from scratch for the first block, then two
        # re-estimates of the new days' weights only (the earlier days' weights hardly move)
        for _ in range(FIRST_IRLS_PASSES if done == 0 else 2):
            g, v = gram(new, robust)
            reweight(new, linalg.solve(G + g, r + v, assume_a="pos"))
        g, v = gram(new, robust)
        G, r = G + g, r + v
        b = linalg.solve(G, r, assume_a="pos")
        done = s
        R = linalg.cholesky(P_info, lower=True)
        fitted = np.flatnonzero(observed[:s])
        t0 = int(fitted[-1])
        days = np.arange(s, min(s + horizon, n))
        decay = phi ** (days - t0)
        C = X[days] - decay[:, None] * X[t0][None, :]
        mean = X[days] @ b + decay * (y[t0] - X[t0] @ b)
        var_lin = np.sum(linalg.solve_triangular(R, C.T, lower=True) ** 2, axis=0)
        # AR(1) noise accumulated from t0 + 1 to each held-out day, with each day's own scale
        var_noise = np.empty(len(days))
        acc = 0.0
        for day in range(t0 + 1, int(days[-1]) + 1):
            acc = phi**2 * acc + sigma[day] ** 2
            if day >= s:
                var_noise[day - s] = acc
        keep = observed[days]
        scale = np.sqrt(var_lin + var_noise)[keep]
        out.append({"days": days[keep], "y": y[days][keep], "mean": mean[keep], "scale": scale,
                    "logpdf": _t_logpdf(y[days][keep] - mean[keep], scale, NU_APPROX)})
    return out
