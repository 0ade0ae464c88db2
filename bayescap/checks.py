"""Model checks: turn sampler diagnostics and the backtest into a pass/fail verdict with reasons.

Why this is its own module: the PDF must say "DRAFT — model checks failed: ..." whenever a
posterior cannot be trusted, and the same rules must apply in the pipeline, in
``bayescap report`` (which re-checks a saved ``summary.json``) and in ``bayescap diagnose``.
The thresholds are the usual modern ones (Vehtari et al. 2021): rank-normalised split
R-hat at most 1.01, bulk effective sample size at least 400, and no divergent transitions.

numpy / arviz only; never imports PyMC.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

R_HAT_MAX = 1.01
ESS_BULK_MIN = 400
DEFAULT_COVERAGE_RANGES: dict[str, tuple[float, float]] = {"cov80": (0.75, 0.85), "cov95": (0.91, 0.98)}
"""Stated ranges for the backtest's interval coverage (issue 4): outside them the intervals are not honest."""
OWN_METHOD = "bayescap"


def _finite(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _fmt_r_hat(v: float) -> str:
    return f"{v:.3f}"


def _fmt_int(v: float) -> str:
    return f"{int(round(v)):,}"


def model_checks(diagnostics: Mapping[str, Mapping[str, Any]], backtest: Mapping[str, Any] | None) -> dict:
    """Decide whether the fitted models can be reported as final.

    Parameters
    ----------
    diagnostics
        ``{model name: {"divergences": int, "max_r_hat": float, "min_ess_bulk": float, ...}}``,
        as returned per model by :func:`diagnostics_from_idata` (extra keys are ignored).
        A missing or non-finite value is itself a problem: a check that could not be made
        has not passed.
    backtest
        ``None`` (no backtest in this run) or the backtest result: ``{method: {"cov80", "cov95", ...}}``
        or ``{"methods": {...}, "coverage_ranges": {"cov80": [lo, hi], ...}}``. Only the
        ``"bayescap"`` method is checked; baselines are there for comparison.

    Returns
    -------
    dict
        ``{"ok": bool, "problems": [str, ...]}``; each problem is one plain sentence naming the
        model and the value, e.g. ``"capacity: R-hat 1.020 > 1.01"``.
    """
    problems: list[str] = []
    for model in sorted(diagnostics):
        d = diagnostics[model] or {}
        div = _finite(d.get("divergences"))
        if div is None:
            problems.append(f"{model}: divergences not recorded")
        elif div > 0:
            problems.append(f"{model}: {_fmt_int(div)} divergent transitions")
        r_hat = _finite(d.get("max_r_hat"))
        chains = _finite(d.get("chains"))
        if r_hat is None and chains is not None and chains < 2:
            problems.append(f"{model}: R-hat needs at least 2 chains")
        elif r_hat is None:
            problems.append(f"{model}: R-hat could not be computed")
        elif r_hat > R_HAT_MAX:
            problems.append(f"{model}: R-hat {_fmt_r_hat(r_hat)} > {R_HAT_MAX}")
        ess = _finite(d.get("min_ess_bulk"))
        if ess is None:
            problems.append(f"{model}: effective sample size could not be computed")
        elif ess < ESS_BULK_MIN:
            problems.append(f"{model}: effective sample size {_fmt_int(ess)} < {ESS_BULK_MIN}")
    problems.extend(_backtest_problems(backtest))
    return {"ok": not problems, "problems": problems}


def backtest_methods(backtest: Mapping[str, Any] | None) -> dict[str, dict]:
    """The ``{method: metrics}`` part of a backtest result, whichever of the two layouts it uses."""
    if not backtest:
        return {}
    methods = backtest.get("methods")
    if isinstance(methods, Mapping):
        return {str(k): dict(v) for k, v in methods.items() if isinstance(v, Mapping)}
    return {
        str(k): dict(v)
        for k, v in backtest.items()
        if isinstance(v, Mapping) and k not in ("coverage_ranges", "protocol")
    }


def coverage_ranges(backtest: Mapping[str, Any] | None) -> dict[str, tuple[float, float]]:
    """Stated coverage ranges: the backtest's own ``coverage_ranges`` or the defaults of issue 4."""
    ranges = dict(DEFAULT_COVERAGE_RANGES)
    if backtest and isinstance(backtest.get("coverage_ranges"), Mapping):
        for k, v in backtest["coverage_ranges"].items():
            lo, hi = v
            ranges[str(k)] = (float(lo), float(hi))
    return ranges


def _backtest_problems(backtest: Mapping[str, Any] | None) -> list[str]:
    """Coverage of bayescap's intervals outside the stated ranges: the investor statements' intervals are then not
    honest, so the run is a DRAFT. (The refits' own convergence is :func:`backtest_origin_problems`.)"""
    if not backtest:
        return []
    methods = backtest_methods(backtest)
    own = methods.get(OWN_METHOD)
    if own is None:
        return [f"backtest: no '{OWN_METHOD}' result"]
    problems = []
    for key, (lo, hi) in coverage_ranges(backtest).items():
        v = _finite(own.get(key))
        if v is None:
            problems.append(f"backtest: {key} missing")
        elif not lo <= v <= hi:
            problems.append(f"backtest: {key} {v:.2f} outside {lo:.2f}-{hi:.2f}")
    return problems


def backtest_origin_problems(backtest: Mapping[str, Any] | None) -> list[str]:
    """Backtest refits with divergences or R-hat above the limit, one sentence each.

    Said next to the backtest's table, not a DRAFT: those refits give the backtest's scores, no investor statement,
    and a refit that mixed less well makes its window's score less certain, not the forecast's posterior wrong.
    """
    own = backtest_methods(backtest).get(OWN_METHOD) or {}
    origins = own.get("diagnostics") or own.get("origins") or []
    if isinstance(origins, Mapping):
        origins = list(origins.values())
    problems = []
    for i, o in enumerate(origins):
        if not isinstance(o, Mapping):
            continue
        div = _finite(o.get("divergences"))
        r_hat = _finite(o.get("max_r_hat"))
        if div is not None and div > 0:
            problems.append(f"backtest origin {i + 1}: {_fmt_int(div)} divergent transitions")
        if r_hat is not None and r_hat > R_HAT_MAX:
            problems.append(f"backtest origin {i + 1}: R-hat {_fmt_r_hat(r_hat)} > {R_HAT_MAX}")
    return problems


def diagnostics_from_idata(idata, *, var_names: Sequence[str] | None = None) -> dict:
    """Convergence diagnostics of one fitted model, as plain JSON-able numbers.

    Uses ArviZ 1.x (``arviz_stats.rhat`` / ``arviz_stats.ess``: rank-normalised split R-hat,
    bulk and tail ESS) on the ``posterior`` group and counts divergent transitions in
    ``sample_stats.diverging``.

    Parameters
    ----------
    idata : xarray.DataTree
        A fitted model in arviz layout (``posterior``, ``sample_stats``).
    var_names
        The reported variables; default every posterior variable. Variables whose draws are
        all identical (constants) have no defined R-hat and are skipped.

    Returns
    -------
    dict
        ``{"divergences": int, "max_r_hat": float, "min_ess_bulk": float, "min_ess_tail": float,
        "chains": int, "draws": int, "variables": {name: {"max_r_hat", "min_ess_bulk", "min_ess_tail"}},
        "skipped": [names]}``. ``var_names`` defaults to ``idata.attrs["diagnostic_vars"]`` when a model
        sets it (e.g. to check a free parameter instead of a derived one with a point mass), else every
        posterior variable.
        Non-finite values are ``None`` (``model_checks`` treats them as failures).
    """
    import arviz_stats as azs

    from bayescap.dims import CHAIN, DRAW

    post = idata["posterior"].to_dataset()
    if var_names is None:
        var_names = _attr_list(idata.attrs.get("diagnostic_vars"))
    names = list(var_names) if var_names is not None else list(post.data_vars)
    post = post[names]
    chains = int(post.sizes.get(CHAIN, 1))
    draws = int(post.sizes.get(DRAW, 0))
    variables: dict[str, dict] = {}
    # constants, and variables with a point mass (e.g. kappa exactly 0 in many draws), have no meaningful
    # rank-based R-hat or ESS; they are listed as skipped so a reader knows they were not checked
    varying = [n for n in names if _varies(post[n].values) and not _point_mass(post[n], (CHAIN, DRAW))]
    skipped = [n for n in names if n not in varying]
    if varying and draws >= 4:
        post = post[varying]
        r_hat = azs.rhat(post) if chains >= 2 else None
        ess_bulk = azs.ess(post, method="bulk")
        ess_tail = azs.ess(post, method="tail")
        for name in varying:
            variables[name] = {
                "max_r_hat": None if r_hat is None else _worst(r_hat[name].values, max),
                "min_ess_bulk": _worst(ess_bulk[name].values, min),
                "min_ess_tail": _worst(ess_tail[name].values, min),
            }

    def _agg(key, fn):
        vals = [v[key] for v in variables.values() if v[key] is not None]
        return _nan_to_none(fn(vals)) if vals else None

    divergences = None
    if "sample_stats" in idata.children and "diverging" in idata["sample_stats"].data_vars:
        divergences = int(np.asarray(idata["sample_stats"]["diverging"].values).astype(bool).sum())
    elif "sample_stats" in idata.children:
        divergences = 0  # a sampler without a divergence flag (e.g. not HMC) has none to report
    if "divergences" in idata.attrs:  # a thinned fit records its count over every iteration, kept or not
        divergences = int(idata.attrs["divergences"])
    return {
        "divergences": divergences,
        "max_r_hat": _agg("max_r_hat", max),
        "min_ess_bulk": _agg("min_ess_bulk", min),
        "min_ess_tail": _agg("min_ess_tail", min),
        "chains": chains,
        "draws": draws,
        "variables": variables,
        "skipped": skipped,
    }


def _attr_list(value) -> list[str] | None:
    """``attrs["diagnostic_vars"]``: the variables a model says are meaningful to diagnose (list or JSON text)."""
    if value is None:
        return None
    if isinstance(value, str):
        import json

        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            value = [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


def _point_mass(da, sample_dims, share: float = 0.1) -> bool:
    """True when some element of ``da`` takes one exact value in more than ``share`` of the draws of *every* chain.

    That is a point mass of the model (e.g. kappa exactly 0 under a rectified prior). A chain stuck at
    one value is not: its repeated value does not recur in the other chains, so it is still checked
    (and fails).
    """
    chain_dim = sample_dims[0]
    other_sample = [d for d in sample_dims[1:] if d in da.dims]
    keep = [d for d in da.dims if d not in sample_dims]
    if chain_dim not in da.dims:
        da = da.expand_dims(chain_dim)
    v = np.asarray(da.transpose(chain_dim, *other_sample, *keep).values, dtype=float)
    v = v.reshape(v.shape[0], -1 if not other_sample else int(np.prod([da.sizes[d] for d in other_sample])), -1)
    for j in range(v.shape[2]):
        col = v[:, :, j]
        if np.ptp(col) == 0:
            continue
        values, counts = np.unique(col, return_counts=True)
        mode = values[np.argmax(counts)]
        if counts.max() > share * col.size and all(np.mean(c == mode) > share / 2 for c in col):
            return True
    return False


def _varies(values) -> bool:
    v = np.asarray(values, dtype=float).reshape(-1)
    return v.size > 0 and bool(np.nanmax(v) > np.nanmin(v))


def _worst(values, fn) -> float | None:
    """The worst finite element (``fn`` = max for R-hat, min for ESS); None when none is finite."""
    v = np.asarray(values, dtype=float).reshape(-1)
    v = v[np.isfinite(v)]
    return float(fn(v)) if v.size else None


def _nan_to_none(x) -> float | None:
    v = float(x)
    return v if math.isfinite(v) else None


# --- prior-data conflict -------------------------------------------------------------------------
BOUND_SHARE_MAX = 0.5  # more than half of the draws ...
BOUND_CLOSE = 0.002  # ... within 0.2% (of the bounded range, or of max(|bound|, 1) when one-sided) of a bound


def bound_conflicts(
    posterior: Mapping[str, Any], bounds: Mapping[str, tuple[float | None, float | None]], *, model: str
) -> list[str]:
    """Prior-data conflicts: parameters whose posterior piles up against a bound the model imposes.

    A posterior pressed against a hard bound (contention sigma at 0 when the data look super-linear,
    the Student-t degrees of freedom at their lower bound when the data have heavier tails than the
    model allows) means the data want something the model rules out: the numbers built on it are
    not trustworthy, so this is reported like non-convergence.

    Parameters
    ----------
    posterior
        Mapping (e.g. an xarray Dataset) of variable name -> draws (any shape; every element is checked).
    bounds
        ``{variable: (lower, upper)}``; ``None`` for an open side. Missing variables are skipped.
    model
        Model name used in the messages.
    """
    problems = []
    for name, (lo, hi) in bounds.items():
        if name not in posterior:
            continue
        draws = np.asarray(posterior[name], dtype=float)
        draws = draws.reshape(draws.shape[0] * draws.shape[1], -1) if draws.ndim >= 2 else draws.reshape(-1, 1)
        width = (hi - lo) if lo is not None and hi is not None else None
        for side, bound in (("lower", lo), ("upper", hi)):
            if bound is None:
                continue
            tol = BOUND_CLOSE * (width if width is not None else max(abs(bound), 1.0))
            near = np.abs(draws - bound) <= tol
            share = near.mean(axis=0)
            worst = int(np.argmax(share))
            if share[worst] > BOUND_SHARE_MAX:
                which = f"{name}[{worst}]" if draws.shape[1] > 1 else name
                problems.append(
                    f"{model}: prior-data conflict: {share[worst]:.0%} of the draws of {which} sit at its "
                    f"{side} bound {bound:g} (the data push against what the model allows)"
                )
    return problems


#: The traffic posterior predictive check's statistics: the quantile of daily visits each one reads.
PPC_STATISTICS = {"typical": 0.5, "busy": 0.95}


def traffic_ppc(observed: np.ndarray, replicated: np.ndarray, *, level: float = 0.95, dates=None,
                n_outliers: int = 5) -> dict:
    """Do histories simulated by the traffic model look like the real one on its typical and its busy days?

    ``observed``: the history's daily visits (NaN on missing days); ``replicated``: (draws, days) replicated
    histories of the same days (the fit's ``posterior_predictive``). For each statistic of
    :data:`PPC_STATISTICS` (the median and the 95th percentile of daily visits over the days observed), the
    replicated histories' values give a central ``level`` interval; the check passes when the observed value lies
    inside every interval. Returns ``{"ok": bool, "level": level, "statistics": {name: {"quantile", "observed",
    "lo", "hi", "p_replicated_above"}}}``; ``p_replicated_above`` is the share of replicated histories whose value
    is at least the observed one (a posterior predictive p-value).

    ``outliers``: the days (up to ``n_outliers``, with ``dates`` given) that the replicated histories explain least:
    the observed count above every replica of its day, or below every one, ranked by how far outside (the log of
    observed over the nearest replica), as ``{"date", "observed", "replicated_median", "side"}`` ("above" /
    "below"); ``days_outside``, how many days are outside all replicas; ``outliers_by_chance``, how many days a
    model that fits would leave there (2 / (draws + 1) per day). These are the days to look at first: unflagged
    events or news, or bad data.
    """
    obs = np.asarray(observed, dtype=float)
    rep = np.asarray(replicated, dtype=float)
    if rep.ndim != 2 or rep.shape[1] != obs.size:
        raise ValueError(f"replicated must be (draws, {obs.size} days), got shape {rep.shape}")
    seen = np.isfinite(obs)
    obs, rep = obs[seen], rep[:, seen]
    stats = {}
    for name, q in PPC_STATISTICS.items():
        value = float(np.quantile(obs, q))
        per_draw = np.nanquantile(rep, q, axis=1)
        lo, hi = (float(v) for v in np.quantile(per_draw, [(1 - level) / 2, (1 + level) / 2]))
        stats[name] = {"quantile": q, "observed": value, "lo": lo, "hi": hi,
                       "p_replicated_above": float(np.mean(per_draw >= value))}
    ok = all(s["lo"] <= s["observed"] <= s["hi"] for s in stats.values())
    out = {"ok": bool(ok), "level": level, "draws": int(rep.shape[0]), "statistics": stats}
    if dates is not None:
        days = np.asarray(dates)[seen]
        top, bottom, median = np.nanmax(rep, axis=0), np.nanmin(rep, axis=0), np.nanmedian(rep, axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            above = np.log(obs / top)
            below = np.log(bottom / obs)
        excess = np.where(above > 0, above, np.where(below > 0, below, 0.0))
        order = [i for i in np.argsort(-excess, kind="stable")[:n_outliers] if excess[i] > 0]
        out["days_outside"] = int((excess > 0).sum())
        out["outliers_by_chance"] = 2.0 * days.size / (rep.shape[0] + 1)
        out["outliers"] = [{"date": str(np.datetime_as_string(np.datetime64(days[i], "D"))),
                            "observed": float(obs[i]), "replicated_median": float(median[i]),
                            "side": "above" if above[i] > 0 else "below"} for i in order]
    return out


def traffic_ppc_of(node) -> dict | None:
    """:func:`traffic_ppc` of a fitted traffic model's DataTree (its ``observed_data`` and ``posterior_predictive``
    of daily visits, dims chain, draw, date); None where the tree saved no replicated history. Adds ``variable``."""
    from bayescap.dims import CHAIN, DATE, DRAW

    if "observed_data" not in node.children or "posterior_predictive" not in node.children:
        return None
    obs, rep = node["observed_data"].to_dataset(), node["posterior_predictive"].to_dataset()
    name = next((v for v in obs.data_vars if v in rep.data_vars and DATE in obs[v].dims), None)
    if name is None:
        return None
    replicated = rep[name].transpose(CHAIN, DRAW, DATE).values.reshape(-1, rep.sizes[DATE])
    observed = obs[name].reindex({DATE: rep[DATE].values}) if DATE in rep.coords else obs[name]
    return {"variable": str(name), **traffic_ppc(observed.values, replicated, dates=observed[DATE].values)}


def load_test_row_labels(obs) -> np.ndarray:
    """Each load-test row's configuration as the capacity fit writes it (``obs_config``; a cluster row is labelled
    ``<config> cluster``); ``all`` when the rows carry no configuration. ``obs``: the fit's ``observed_data``."""
    n = next(iter(obs.data_vars.values())).size if obs.data_vars else 0
    if "obs_config" not in obs.coords:
        return np.array(["all"] * n)
    labels = np.asarray(obs["obs_config"].values).astype(str)
    if "obs_level" in obs.coords:
        cluster = np.asarray(obs["obs_level"].values).astype(str) == "cluster"
        labels = np.where(cluster, np.char.add(labels, " cluster"), labels)
    return labels


def repeat_spread(values: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """The pooled relative spread of repeated measurements of one level, over the last axis of ``values``:
    sqrt(sum over levels and their rows of (y / level mean - 1)^2 / sum over levels of (rows - 1)), levels with two or
    more rows only; NaN where no level is repeated."""
    v = np.asarray(values, dtype=float)
    levels = np.asarray(levels)
    ss, dof = np.zeros(v.shape[:-1]), 0
    for lv in np.unique(levels):
        rows = levels == lv
        if rows.sum() < 2:
            continue
        x = v[..., rows]
        ss = ss + np.sum((x / np.mean(x, axis=-1, keepdims=True) - 1.0) ** 2, axis=-1)
        dof += int(rows.sum()) - 1
    return np.sqrt(ss / dof) if dof else np.full(v.shape[:-1], np.nan)


#: The repeats check flags a configuration only when the model's replicas spread at least this much (relative): a
#: curve that misses its levels by less moves server counts by less than the rest of the forecast's uncertainty.
MATERIAL_SPREAD = 0.10


def capacity_ppc(observed: np.ndarray, replicated: np.ndarray, labels: Sequence[str], *, levels=None,
                 level: float = 0.9, alpha: float = 0.01, material: float = MATERIAL_SPREAD) -> dict:
    """Do the capacity model's replicated load tests look like the measured one?

    ``replicated``: (draws, rows) posterior predictive draws of the rows of ``observed``; ``labels``: each row's
    configuration; ``levels``: each row's n (cores, workers or nodes). Two checks:

    - *coverage*: a row is inside when its measurement lies in the central ``level`` interval of its replicas. A
      model that fits leaves about ``level`` of the rows inside; too few are inside when fewer than chance allows at
      ``alpha`` (the ``alpha`` quantile of Binomial(rows, level): ``min_inside``);
    - *repeats* (with ``levels``, per configuration with a repeated level): the relative spread of repeated
      measurements of the same level (:func:`repeat_spread`) against the same spread in the replicas. A curve that
      misses the levels makes the model stretch its noise to reach them, and its replicas then spread far more than
      the repeats do: the check fails when at most ``alpha`` of the replicas spread as little as the measurements
      (``p``, a posterior predictive p-value) and the replicas' median spread is at least ``material`` (10%: a
      smaller miss is within the forecast's other uncertainties).

    Returns ``{"ok", "level", "alpha", "material", "rows", "inside", "min_inside", "outside": {label: [outside,
    rows]}, "repeats": {label: {"observed", "replicated", "p", "fails"}}}``: ``outside`` the labels with a row
    outside, most outside first; ``repeats`` the observed spread, the replicas' median spread, ``p`` and whether that
    configuration fails, smallest ``p`` first.
    """
    from scipy.stats import binom

    y = np.asarray(observed, dtype=float)
    rep = np.asarray(replicated, dtype=float)
    if rep.ndim != 2 or rep.shape[1] != y.size:
        raise ValueError(f"replicated must be (draws, {y.size} rows), got shape {rep.shape}")
    lo, hi = np.nanquantile(rep, [(1 - level) / 2, (1 + level) / 2], axis=0)
    inside = (y >= lo) & (y <= hi)
    labels = np.asarray(labels).astype(str)
    outside = {str(c): [int((~inside[labels == c]).sum()), int((labels == c).sum())] for c in dict.fromkeys(labels)}
    outside = dict(sorted(((c, v) for c, v in outside.items() if v[0]), key=lambda kv: -kv[1][0] / kv[1][1]))
    min_inside = int(binom.ppf(alpha, y.size, level))
    repeats = {}
    for c in dict.fromkeys(labels) if levels is not None else ():
        rows = labels == c
        lv = np.asarray(levels)[rows]
        t_obs = float(repeat_spread(y[rows], lv))
        if not np.isfinite(t_obs):
            continue
        t_rep = repeat_spread(rep[:, rows], lv)
        repeats[str(c)] = {"observed": t_obs, "replicated": float(np.nanmedian(t_rep)), "p": float(np.mean(t_rep <= t_obs))}
    repeats = dict(sorted(repeats.items(), key=lambda kv: kv[1]["p"]))
    for r in repeats.values():
        r["fails"] = bool(r["p"] <= alpha and r["replicated"] >= material)
    ok = inside.sum() >= min_inside and not any(r["fails"] for r in repeats.values())
    return {"ok": bool(ok), "level": level, "alpha": alpha, "material": material, "rows": int(y.size),
            "inside": int(inside.sum()), "min_inside": min_inside, "outside": outside, "repeats": repeats}


def capacity_ppc_of(observed_data, posterior_predictive, constant_data=None) -> dict | None:
    """:func:`capacity_ppc` of a capacity fit's ``observed_data``, ``posterior_predictive`` and (for the repeats
    check: each row's ``n``) ``constant_data`` Datasets, the load test's rows on ``obs``; None where the fit saved no
    replicated load test."""
    from bayescap.dims import CHAIN, DRAW, OBS

    if observed_data is None or posterior_predictive is None or not observed_data.data_vars:
        return None
    name = next(iter(observed_data.data_vars))
    if name not in posterior_predictive.data_vars or OBS not in posterior_predictive[name].dims:
        return None
    rep = posterior_predictive[name]
    rep = rep.stack(_s=[d for d in (CHAIN, DRAW) if d in rep.dims]).transpose("_s", OBS).values
    levels = constant_data["n"].values if constant_data is not None and "n" in constant_data else None
    return capacity_ppc(observed_data[name].values, rep, load_test_row_labels(observed_data), levels=levels)
