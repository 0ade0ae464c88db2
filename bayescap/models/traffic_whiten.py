"""Whitening of the traffic model's linear block, so that a diagonal mass matrix samples it well.

Given the noise scales, the AR coefficient, the random-walk scale and the lift spreads (the *hyperparameters*),
the mean log count is linear in the level knots, the drift, the seasonal coefficients and the event lifts (the
*linear block* beta), and beta has a Gaussian prior. Its posterior is then close to Gaussian with a dense
covariance: the level knots trade off against the yearly terms, the drift against the knots, a lift against the
level around it. NUTS with a diagonal mass matrix mixes badly on such a posterior (max r-hat 1.07 on the Peyton
Manning series) and nutpie's low-rank adaptation, which does mix, spends 20 s of tuning on it.

So before sampling we compute, in numpy, a Gaussian approximation N(b0, P^-1) of beta's posterior at rough
hyperparameter estimates (a few iteratively reweighted least-squares passes), and the model samples z with
``beta = b0 + L z``, L L' = P^-1. This is an exact reparameterisation (a fixed affine map, constant Jacobian): the
approximation only decides how round the posterior of z is, never what the posterior is. The hyperparameters
stay free parameters of the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

from bayescap.models.traffic_design import DAYS_PER_YEAR, TrafficDesign

IRLS_ITERATIONS = 6
NU_APPROX = 6.0  # Student-t degrees of freedom assumed by the approximation
PHI_MAX = 0.95


@dataclass(frozen=True)
class LinearBlock:
    """``beta = shift + chol @ w`` with ``w = walk_h * (lam_hat - lam) / q + z / sqrt(q)``, ``q = walk_a + walk_k * lam``
    and lam = 1 / rw_var (see :meth:`coordinates`).

    ``layout`` names beta's consecutive pieces (raw model variables). In the centred walk the coordinates w are the
    eigenvectors of the walk's prior precision in the whitened space, and their Gaussian-approximation precision and
    mean follow the sampled walk variance (``walk_a + walk_k * lam`` and ``walk_h * (lam_hat - lam) / precision``), so
    that z stays round whatever the walk's scale (no funnel between the scale and the knots). At lam = lam_hat,
    w = z. In the non-centred walk walk_k = walk_h = 0 and w = z.
    """

    layout: tuple[tuple[str, int], ...]
    shift: np.ndarray
    chol: np.ndarray
    hyper: dict[str, float]
    walk_a: np.ndarray
    walk_k: np.ndarray
    walk_h: np.ndarray
    lam_hat: float

    @property
    def size(self) -> int:
        return int(self.shift.shape[0])

    def coordinates(self, z: np.ndarray, rw_var) -> np.ndarray:
        """w for sampled z of shape (..., p) and walk variances rw_var of shape (...)."""
        lam = 1.0 / np.asarray(rw_var, dtype=float)[..., None]
        prec = self.walk_a + self.walk_k * lam
        return self.walk_h * (self.lam_hat - lam) / prec + z / np.sqrt(prec)

    def split(self, z: np.ndarray, rw_var) -> dict[str, np.ndarray]:
        """Named pieces of beta for sampled z of shape (..., p) and rw_var of shape (...)."""
        beta = self.shift + self.coordinates(z, rw_var) @ self.chol.T
        return split_block(beta, self.layout)


def split_block(beta, layout) -> dict:
    """Slice beta (numpy or pytensor, last axis) into the named pieces of ``layout``."""
    out, i = {}, 0
    for name, size in layout:
        out[name] = beta[..., i : i + size]
        i += size
    return out


def block_layout(design: TrafficDesign, *, noncentred: bool) -> tuple[tuple[str, int], ...]:
    """Order and sizes of the linear block's pieces (depends only on the compiled structure)."""
    level = (("level0_raw", 1), ("drift_raw", 1), ("z_rw", design.n_knots - 1)) if noncentred else (
        ("knots_dev", design.n_knots), ("drift_raw", 1))
    rest = [("weekday_raw", 6)]
    if design.fourier_order > 0:
        rest.append(("yearly_raw", 2 * design.fourier_order))
    if design.weekday_yearly_order > 0:
        rest.append(("weekday_yearly_raw", 12 * design.weekday_yearly_order))
    rest += [("lift_mean", max(len(design.event_types), 1)), ("z_occ", design.n_slots)]
    return (*level, *rest)


def _columns(design: TrafficDesign, pri: dict[str, float], layout, hyper: dict, noncentred: bool) -> np.ndarray:
    """X with mean log count = y_center + X beta - competitor term, at the hyperparameters ``hyper``."""
    d = design.data
    n = len(design.dates)
    step_c = pri["drift_per_year_sd"] * design.knot_spacing / DAYS_PER_YEAR
    blocks = []
    for name, size in layout:
        if name == "knots_dev":
            blocks.append(d["knot_matrix"])
        elif name == "drift_raw":
            if noncentred:  # knots = ... + cumsum(step_c * drift + ...): knot k gets k * step_c * drift
                blocks.append(d["knot_matrix"] @ (step_c * np.arange(design.n_knots))[:, None])
            else:  # drift enters only the random walk's prior
                blocks.append(np.zeros((n, 1)))
        elif name == "level0_raw":
            blocks.append(np.full((n, 1), pri["level_sd"]))
        elif name == "z_rw":
            blocks.append(d["knot_matrix"] @ (hyper["rw_sd"] * _cumulative_steps(design.n_knots)))
        elif name == "weekday_raw":
            blocks.append(pri["weekday_sd"] * d["weekday_matrix"])
        elif name == "yearly_raw":
            blocks.append(pri["yearly_sd"] * d["fourier"])
        elif name == "weekday_yearly_raw":
            blocks.append(pri["weekday_yearly_sd"] * d["weekday_yearly"])
        elif name == "lift_mean":
            blocks.append(d["type_matrix"])
        elif name == "z_occ":
            spread = d["slot_type_matrix"] @ hyper["lift_sd"] * d["slot_free"]
            blocks.append(d["occ_matrix"] * spread[None, :])
        else:  # pragma: no cover - layout and columns are written together
            raise AssertionError(name)
        assert blocks[-1].shape[1] == size, name
    return np.concatenate(blocks, axis=1)


def _prior_diag(pri: dict[str, float], layout) -> tuple[np.ndarray, np.ndarray]:
    """Prior mean and diagonal precision of beta, except the walk's steps (see :func:`_walk_steps`): standard normal
    raw coefficients and drift, Normal(lift_mean_mu, lift_mean_sd) lift means, the first knot ~ Normal(0, level_sd)."""
    p = p_size(layout)
    m0, prec = np.zeros(p), np.ones(p)
    for name, _ in layout:
        s = _slice_of(layout, name)
        if name == "knots_dev":
            prec[s] = 0.0
            prec[s.start] = 1.0 / pri["level_sd"] ** 2
        elif name == "lift_mean":
            prec[s] = 1.0 / pri["lift_mean_sd"] ** 2
            m0[s] = pri["lift_mean_mu"]
    return m0, prec


def _walk_steps(design: TrafficDesign, pri: dict[str, float], layout) -> np.ndarray:
    """D with D beta = the centred walk's steps minus their drift: knots_dev[k+1] - knots_dev[k] - step_c * drift."""
    k = _slice_of(layout, "knots_dev")
    D = np.diff(np.eye(p_size(layout))[k], axis=0)
    D[:, _slice_of(layout, "drift_raw").start] = -pri["drift_per_year_sd"] * design.knot_spacing / DAYS_PER_YEAR
    return D


def _cumulative_steps(n_knots: int) -> np.ndarray:
    """(n_knots, n_knots - 1): knot k = the sum of the walk's first k steps."""
    return np.tril(np.ones((n_knots, n_knots - 1)), k=-1)


def _prior(design: TrafficDesign, pri: dict[str, float], layout, hyper: dict) -> tuple[np.ndarray, np.ndarray]:
    """Prior mean and precision of beta at ``hyper`` (only the random walk's depends on it)."""
    m0, prec = _prior_diag(pri, layout)
    P0 = np.diag(prec)
    if any(name == "knots_dev" for name, _ in layout):
        D = _walk_steps(design, pri, layout)
        P0 += D.T @ D / hyper["rw_sd"] ** 2
    return m0, P0


def p_size(layout) -> int:
    return sum(size for _, size in layout)


def _slice_of(layout, wanted: str) -> slice:
    i = 0
    for name, size in layout:
        if name == wanted:
            return slice(i, i + size)
        i += size
    raise KeyError(wanted)


def _ar_filter(r: np.ndarray, phi: float, prev_mask: np.ndarray) -> np.ndarray:
    """e_t = r_t - phi r_{t-1} (r_{t-1} taken as 0 after a missing day), along the first axis."""
    prev = np.concatenate([np.zeros((1,) + r.shape[1:]), r[:-1]], axis=0)
    return r - phi * prev * (prev_mask.reshape((-1,) + (1,) * (r.ndim - 1)))


def whiten(design: TrafficDesign, pri: dict[str, float], *, ar1: bool, noncentred: bool) -> LinearBlock:
    """The Gaussian approximation of the linear block and its whitening map (see the module docstring)."""
    d = design.data
    layout = block_layout(design, noncentred=noncentred)
    mask = d["mask"] > 0
    event = d["is_event"] > 0
    n_types = max(len(design.event_types), 1)
    y = d["y"] - float(d["y_center"])
    competitor = d["competitor"] * float(d["competitor_weight"])
    hyper = {
        "rw_sd": pri["rw_sd_per_knot"],
        "lift_sd": np.full(n_types, 0.5 * pri["lift_sd_scale"]),
        "sigma_normal": 0.5 * pri["sigma_normal_scale"],
        "sigma_event": 0.5 * pri["sigma_normal_scale"] + 0.5 * pri["sigma_event_scale"],
        "phi": 0.5 if ar1 else 0.0,
        "competitor": 0.0,
    }
    irls = np.ones(len(y))
    for it in range(IRLS_ITERATIONS):
        X = _columns(design, pri, layout, hyper, noncentred)
        m0, P0 = _prior(design, pri, layout, hyper)
        sigma = np.where(event, hyper["sigma_event"], hyper["sigma_normal"])
        fisher = (NU_APPROX + 1.0) / (NU_APPROX + 3.0)
        # precision uses the Student-t Fisher information, the mean the IRLS weights (robust to outlying days)
        A_X = _ar_filter(X, hyper["phi"], d["prev_mask"])
        A_y = _ar_filter(y + hyper["competitor"] * competitor, hyper["phi"], d["prev_mask"])
        w_info = np.where(mask, fisher / sigma**2, 0.0)
        w_mean = np.where(mask, irls / sigma**2, 0.0)
        P = P0 + A_X.T @ (w_info[:, None] * A_X)
        P_mean = P0 + A_X.T @ (w_mean[:, None] * A_X)
        b = linalg.solve(P_mean, P0 @ m0 + A_X.T @ (w_mean * A_y), assume_a="pos")
        if it == IRLS_ITERATIONS - 1:
            break
        # update the hyperparameters from the fit (rough estimates: only the whitening depends on them)
        r = y - X @ b + hyper["competitor"] * competitor
        if design.competitor_effect:
            on = mask & (competitor > 0)
            hyper["competitor"] = max(float(-np.mean(r[on])), 0.0) if on.any() else 0.0
            r = r - hyper["competitor"] * competitor
        pairs = mask & (d["prev_mask"] > 0)
        r_prev = np.concatenate([[0.0], r[:-1]])
        if ar1 and pairs.sum() > 10:
            phi = float(np.sum(r[pairs] * r_prev[pairs]) / max(np.sum(r_prev[pairs] ** 2), 1e-12))
            hyper["phi"] = float(np.clip(phi, 0.01, PHI_MAX))
        # EM-style updates (E[x^2] = mean^2 + posterior variance) of the noise scales, Student-t weighted
        cov = linalg.inv(P)
        e = _ar_filter(r, hyper["phi"], d["prev_mask"])
        A_X = _ar_filter(X, hyper["phi"], d["prev_mask"])
        e2 = e**2 + np.sum((A_X @ cov) * A_X, axis=1)  # diag(A_X cov A_X'), via BLAS
        sigma = np.where(event, hyper["sigma_event"], hyper["sigma_normal"])
        irls = (NU_APPROX + 1.0) / (NU_APPROX + e2 / sigma**2)
        for key, days in (("sigma_normal", mask & ~event), ("sigma_event", mask & event)):
            if days.sum() >= 3:
                hyper[key] = float(np.sqrt(np.sum(irls[days] * e2[days]) / days.sum()))
        hyper["sigma_normal"] = max(hyper["sigma_normal"], 1e-3)
        hyper["sigma_event"] = max(hyper["sigma_event"], hyper["sigma_normal"])
        # ... and of the random-walk scale and the lift spreads
        parts = split_block(b, layout)
        var = split_block(np.diag(cov), layout)
        if noncentred:
            second = hyper["rw_sd"] ** 2 * (parts["z_rw"] ** 2 + var["z_rw"])
        else:
            Dk = _walk_steps(design, pri, layout)
            second = (Dk @ b) ** 2 + np.sum((Dk @ cov) * Dk, axis=1)
        hyper["rw_sd"] = float(np.clip(np.sqrt(np.mean(second)), 0.1 * pri["rw_sd_per_knot"], 10.0 * pri["rw_sd_per_knot"]))
        slot_type = d["slot_type"][: design.n_occ]
        free = d["slot_free"][: design.n_occ] > 0
        z2 = (parts["z_occ"] ** 2 + var["z_occ"])[: design.n_occ]
        for j in range(n_types):
            mine = (slot_type == j) & free
            if mine.any():
                scale = hyper["lift_sd"][j] * np.sqrt(np.mean(z2[mine]))
                hyper["lift_sd"][j] = float(np.clip(scale, 0.02, 2.0 * pri["lift_sd_scale"]))
    R = linalg.cholesky(P, lower=True)  # P = R R'
    chol = linalg.solve_triangular(R, np.eye(P.shape[0]), lower=True).T  # chol chol' = P^-1
    p = P.shape[0]
    lam_hat = 1.0 / hyper["rw_sd"] ** 2
    walk_a, walk_k, walk_h = np.ones(p), np.zeros(p), np.zeros(p)
    if not noncentred:
        # P = A + lam_hat D'D. In the whitened space chol' P chol = I; rotate it so that the walk's part
        # G = (D chol)'(D chol) is diagonal (eigenvalues g): there the approximation's precision at walk variance 1/lam
        # is 1 - lam_hat g + lam g, and its mean moves by h (lam_hat - lam) / precision (h: the walk's pull at lam_hat)
        D = _walk_steps(design, pri, layout)
        DL = D @ chol
        g, U = linalg.eigh(DL.T @ DL)
        g = np.clip(g, 0.0, 1.0 / lam_hat)  # round-off: A = P - lam_hat D'D is positive semi-definite
        chol = chol @ U
        walk_k = g
        walk_a = 1.0 - lam_hat * g
        walk_h = U.T @ (DL.T @ (D @ b))
    out_hyper = {k: (v.tolist() if isinstance(v, np.ndarray) else float(v)) for k, v in hyper.items()}
    return LinearBlock(layout=layout, shift=b, chol=np.ascontiguousarray(chol), hyper=out_hyper, walk_a=walk_a,
                       walk_k=walk_k, walk_h=walk_h, lam_hat=float(lam_hat))


def graph_arrays(design: TrafficDesign, pri: dict[str, float], block: LinearBlock, *, noncentred: bool) -> dict[str, np.ndarray]:
    """The whitened model's arrays: every linear map from z to the mean, the priors and the walk, precomputed.

    With these the compiled log density is a handful of dense matrix-vector products (quick to compile with numba,
    a few seconds instead of twenty with a sliced and indexed graph). Only the pieces that multiply a sampled scale
    stay separate: occurrence z (times lift_sd) and, non-centred, the walk's z (times rw_sd).
    """
    d = design.data
    layout = block.layout
    L, shift = block.chol, block.shift
    fixed = _columns(design, pri, layout, {"rw_sd": 0.0, "lift_sd": np.zeros(max(len(design.event_types), 1))}, noncentred)
    occ = _slice_of(layout, "z_occ")
    m0, prec = _prior_diag(pri, layout)
    out = {
        "mean_shift": float(d["y_center"]) + fixed @ shift,
        "mean_mat": fixed @ L,
        "occ_shift": shift[occ],
        "occ_mat": L[occ],
        "prior_shift": shift - m0,
        "prior_prec": prec,
        "prior_mat": L,
        "walk_a": block.walk_a,
        "walk_k": block.walk_k,
        "walk_h": block.walk_h,
        "lam_hat": np.array([block.lam_hat]),
    }
    if noncentred:
        rw = _slice_of(layout, "z_rw")
        walk = d["knot_matrix"] @ _cumulative_steps(design.n_knots)
        out["rw_shift"] = walk @ shift[rw]
        out["rw_mat"] = walk @ L[rw]
    else:
        D = _walk_steps(design, pri, layout)
        out["walk_shift"] = D @ shift
        out["walk_mat"] = D @ L
    return {k: np.ascontiguousarray(v) for k, v in out.items()}
