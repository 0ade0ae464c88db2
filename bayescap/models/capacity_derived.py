"""Quantities derived from the capacity posterior (numpy/xarray only; no PyMC).

Every function takes the fitted DataTree explicitly and returns new objects;
nothing is cached on the tree.  Each derived number is computed per posterior
draw and only then summarised, so its interval is a real posterior interval.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from bayescap import dims, usl
from bayescap.errors import InputError, ModelError

SUMMARY_PARAMS = ("sigma", "kappa", "lam", "n_star", "x_max")
OPTION = "option"  # dim of scale_up_vs_out's alternatives (not in bayescap.dims: only used here)
_FREE_VARS = (
    "loglam_mu", "loglam_tau", "loglam_v", "loglam_config", "sigma_logit_mu", "sigma_logit_tau", "sigma_logit_v", "sigma_logit_z", "sigma_logit_config",
    "kappa_scaled_mu", "kappa_scaled_tau", "kappa_scaled_config", "sigma_cluster_logit", "kappa_cluster_raw", "loglam_cluster", "noise", "noise_cluster", "nu",
)  # fmt: skip


def _posterior(idata: xr.DataTree) -> xr.Dataset:
    if "posterior" not in idata.children:
        raise ModelError("this DataTree has no posterior group; pass the result of fit_capacity()")
    post = idata["posterior"].to_dataset()
    missing = [v for v in ("sigma", "kappa", "lam") if v not in post]
    if missing:
        raise ModelError(f"the posterior lacks {missing}; pass the result of fit_capacity()")
    return post


def _interval(values: np.ndarray) -> dict[str, float | None]:
    """median, q05, q95 of a 1-d sample; infinite quantiles (no peak) become None for JSON."""
    big = np.finfo(float).max
    finite = np.nan_to_num(np.asarray(values, float), posinf=big)  # inf - inf in the interpolation is nan
    q = np.quantile(finite, [0.5, 0.05, 0.95])
    return {k: (float(v) if v < 1e300 else None) for k, v in zip(("median", "q05", "q95"), q)}


def _flat(da: xr.DataArray) -> xr.DataArray:
    """Stack (chain, draw) into one ``draw`` dim numbered 0..S-1 (the simulation's convention)."""
    flat = da.stack(_sample=(dims.CHAIN, dims.DRAW)).drop_vars([dims.CHAIN, dims.DRAW, "_sample"])
    flat = flat.rename(_sample=dims.DRAW)
    return flat.assign_coords({dims.DRAW: np.arange(flat.sizes[dims.DRAW])})


def derived_quantities(idata: xr.DataTree) -> xr.Dataset:
    """Per-draw N* (inf when kappa = 0), X_max, and whether kappa is exactly 0, on ``config``."""
    post = _posterior(idata)
    n_star = xr.apply_ufunc(usl.peak_n, post["sigma"], post["kappa"])
    x_max = xr.apply_ufunc(usl.max_throughput, post["sigma"], post["kappa"], post["lam"])
    return xr.Dataset({"n_star": n_star, "x_max": x_max, "kappa_is_zero": post["kappa"] == 0})


def summarise_capacity(idata: xr.DataTree) -> dict[str, dict[str, dict[str, float | None]]]:
    """``{config: {param: {median, q05, q95}}}`` for sigma, kappa, lam, n_star, x_max.

    ``n_star`` quantiles are ``None`` where they are infinite (kappa = 0 in at
    least that share of draws: no peak, throughput approaches lam/sigma).
    Each config also gets ``p_kappa_zero``, the posterior probability of pure
    contention, so a ``None`` upper bound is explained, and ``ceiling``: None, or
    ``{value, n_from}`` when its series is flat at an external limit (see
    ``capacity_data.detect_ceiling``; its sigma/kappa then describe that limit).
    """
    post = _posterior(idata)
    ceilings = {c["config"]: {"value": c["ceiling"], "n_from": c["n_from"]} for c in json.loads(idata.attrs.get("ceilings", "[]"))}
    der = derived_quantities(idata)
    both = xr.merge([post[["sigma", "kappa", "lam"]], der])
    out: dict[str, dict] = {}
    for config in post[dims.CONFIG].values.tolist():
        sel = both.sel({dims.CONFIG: config})
        entry = {p: _interval(sel[p].values.ravel()) for p in SUMMARY_PARAMS}
        entry["p_kappa_zero"] = float(sel["kappa_is_zero"].mean())
        entry["ceiling"] = ceilings.get(str(config))
        out[str(config)] = entry
    return out


def diagnostics(idata: xr.DataTree) -> dict[str, float | int]:
    """Divergences, the largest rank-normalised R-hat and the smallest bulk ESS.

    R-hat and ESS are taken over the sampled (free) parameters and over sigma and
    lam; kappa itself is skipped because its exact zeros (rectified prior) make
    rank statistics meaningless, while its underlying free parameter is included.
    """
    from arviz_stats import ess, rhat

    post = _posterior(idata)
    names = [v for v in (*_FREE_VARS, "sigma", "lam") if v in post]
    sub = post[names]
    r = rhat(sub)
    e = ess(sub, method="bulk")
    r_max = max(float(np.nanmax(r[v].values)) for v in names)
    e_min = min(float(np.nanmin(e[v].values)) for v in names)
    div = int(idata["sample_stats"]["diverging"].sum()) if "sample_stats" in idata.children else 0
    return {"divergences": div, "max_r_hat": r_max, "min_ess_bulk": e_min}


def efficiency(idata: xr.DataTree, n: float | Sequence[float]) -> xr.DataArray:
    """Per-draw efficiency X(N) / (N X(1)) at ``n`` (scalar or sequence), dims (chain, draw, config[, n])."""
    post = _posterior(idata)
    if np.ndim(n):
        values = np.atleast_1d(np.asarray(n, float))
        nn: xr.DataArray | float = xr.DataArray(values, dims="n", coords={"n": values})
    else:
        nn = float(n)
    return usl.efficiency(nn, post["sigma"], post["kappa"])


def linear_overpromise(idata: xr.DataTree, n: float = 32.0) -> dict[str, dict[str, float | None]]:
    """How much ``N * X(1)`` over-states X(N), per config: ``{config: {median, q05, q95}}`` as fractions.

    ("linear thinking over-promises by 80% at 32 cores" = median 0.8.)
    """
    post = _posterior(idata)
    over = usl.linear_overpromise(float(n), post["sigma"], post["kappa"])
    return {str(c): _interval(over.sel({dims.CONFIG: c}).values.ravel()) for c in post[dims.CONFIG].values}


def _cluster_throughput(node_x, m, sigma_c, kappa_c):
    return node_x * usl.relative_capacity(m, sigma_c, kappa_c)


def fleet_throughput(idata: xr.DataTree, *, config: str, units_per_node: float, nodes: int) -> xr.DataArray:
    """Per-draw throughput of ``nodes`` nodes with ``units_per_node`` cores each, running ``config``.

    Scale-up follows the config's (sigma, kappa, lam) to ``units_per_node``;
    scale-out follows the config's tier's (sigma', kappa').  Dims (chain, draw).
    """
    post = _posterior(idata)
    if config not in post[dims.CONFIG].values:
        raise ModelError(f"config {config!r} was not in the load test; fitted configs: {post[dims.CONFIG].values.tolist()}")
    one = post.sel({dims.CONFIG: config})
    tier = str(one["config_tier"].values)
    node_x = usl.throughput(float(units_per_node), one["sigma"], one["kappa"], one["lam"])
    cl = post[["sigma_cluster", "kappa_cluster"]].sel({dims.TIER: tier})
    return _cluster_throughput(node_x, float(nodes), cl["sigma_cluster"], cl["kappa_cluster"]).drop_vars(
        [dims.CONFIG, dims.TIER, "config_tier", "config_name"], errors="ignore"
    )


def _best_covered(idata: xr.DataTree, post: xr.Dataset, tier: str, preferred: Iterable[str | None]) -> str:
    """The config label to use for ``tier``: the first preferred name tested in that tier, else the
    tier's config with the most node-level points (ties: the first in the file)."""
    in_tier = post["config_tier"].values == tier
    labels = post[dims.CONFIG].values[in_tier].tolist()
    if not labels:
        raise ModelError(f"tier {tier!r} has no node-level load-test rows, so its per-node throughput is unknown")
    names = post["config_name"].values[in_tier].tolist() if "config_name" in post.coords else labels
    for w in preferred:
        if w is not None and w in names:
            return labels[names.index(w)]
        if w is not None and w in labels:
            return w
    if "observed_data" in idata.children:
        obs = idata["observed_data"].to_dataset()
        counts = pd.Series(obs["obs_config"].values[obs["obs_level"].values == "node"]).value_counts()
        return max(labels, key=lambda c: (int(counts.get(c, 0)), -labels.index(c)))
    return labels[0]


def _price_row(prices: pd.DataFrame, instance_type: str) -> tuple[float, float]:
    if instance_type not in prices.index:
        raise InputError(prices.attrs.get("path"), f"instance_type {instance_type!r}", "a row in the price table")
    row = prices.loc[instance_type]
    return float(row["vcpus"]), float(row["usd_per_hour"])


def node_capacity_draws(idata: xr.DataTree, tiers: Sequence, prices: pd.DataFrame) -> xr.Dataset:
    """Per-draw capacity of one node of each tier's instance type, for the simulation.

    Parameters
    ----------
    idata : DataTree from :func:`fit_capacity`.
    tiers : sequence of ``TierSpec`` (name, instance_type, optional config).
    prices : price table indexed by ``instance_type`` with ``vcpus`` and ``usd_per_hour``.

    Returns
    -------
    Dataset with dims (draw, tier), draw = chain x draw flattened: ``node_throughput``
    (req/s of one node = X_config(vcpus)), ``sigma_cluster``, ``kappa_cluster``; coords
    on tier: ``config`` (the load-test config whose curve is used), ``instance_type``,
    ``vcpus``; ``attrs["configs"]`` is the same tier -> config map as JSON.

    Notes
    -----
    The config is the TierSpec's ``config`` if given, else the instance type if it
    was load-tested, else the tier's config with the most measured points.
    A node's N is its vCPU count, so the load test's ``n`` must count cores or
    workers for this to be meaningful (documented in docs/capacity_model.md).
    """
    post = _posterior(idata)
    fitted_tiers = post[dims.TIER].values.tolist()
    parts, used = [], {}
    names, itypes, vcpus_all = [], [], []
    for spec in tiers:
        if spec.name not in fitted_tiers:
            raise ModelError(f"scenario tier {spec.name!r} is not a tier of the load test ({fitted_tiers})")
        config = _best_covered(idata, post, spec.name, (spec.config, spec.instance_type))
        if spec.config is not None and spec.config not in (config, str(post["config_name"].sel({dims.CONFIG: config}).values)):
            raise ModelError(f"tier {spec.name!r}: config {spec.config!r} was not load-tested in that tier")
        vcpus, _ = _price_row(prices, spec.instance_type)
        one = post.sel({dims.CONFIG: config})
        x = usl.throughput(vcpus, one["sigma"], one["kappa"], one["lam"])
        cl = post.sel({dims.TIER: spec.name})
        ds = xr.Dataset(
            {
                "node_throughput": _flat(x.drop_vars([dims.CONFIG, "config_tier", "config_name"], errors="ignore")),
                "sigma_cluster": _flat(cl["sigma_cluster"].drop_vars(dims.TIER)),
                "kappa_cluster": _flat(cl["kappa_cluster"].drop_vars(dims.TIER)),
            }
        )
        parts.append(ds.drop_vars([c for c in ds.coords if c != dims.DRAW]))
        used[spec.name] = config
        names.append(spec.name)
        itypes.append(spec.instance_type)
        vcpus_all.append(vcpus)
    out = xr.concat(parts, dim=dims.TIER).transpose(dims.DRAW, dims.TIER)
    out = out.assign_coords(
        {
            dims.TIER: names,
            dims.CONFIG: (dims.TIER, [used[n] for n in names]),
            "instance_type": (dims.TIER, itypes),
            "vcpus": (dims.TIER, vcpus_all),
        }
    )
    out.attrs["configs"] = json.dumps(used)
    return out


def scale_up_vs_out(
    idata: xr.DataTree,
    prices: pd.DataFrame,
    *,
    tier: str,
    options: Sequence[tuple[str, int]] = (("c6i.large", 4), ("c6i.2xlarge", 1)),
    config: str | None = None,
) -> xr.Dataset:
    """Posterior cost per 1,000 req/s of fleets ``(instance_type, nodes)``, e.g. 4 x 2-vCPU vs 1 x 8-vCPU.

    Scale-up uses the config's per-core curve to the instance's vCPUs; scale-out
    uses the tier's cluster (sigma', kappa'), which is prior-only (small contention)
    when the load test has no cluster rows for the tier -- say so when you quote it.

    Returns a Dataset with dims (chain, draw, option): ``throughput`` (req/s),
    ``usd_per_hour`` and ``usd_per_hour_per_1000_rps``; and ``is_cheapest``
    (chain, draw, option), the per-draw indicator that the option is the cheapest
    per unit of throughput (its mean over draws is the posterior probability).
    Differences between options are taken per draw, so they are meaningful.
    """
    post = _posterior(idata)
    if tier not in post[dims.TIER].values:
        raise ModelError(f"tier {tier!r} is not a tier of the load test ({post[dims.TIER].values.tolist()})")
    used = _best_covered(idata, post, tier, (config,))
    if config is not None and config not in (used, str(post["config_name"].sel({dims.CONFIG: used}).values)):
        raise ModelError(f"config {config!r} was not load-tested in tier {tier!r}")
    thr, cost, labels = [], [], []
    for instance_type, nodes in options:
        if int(nodes) < 1:
            raise ModelError(f"an option needs >= 1 node, got {nodes} x {instance_type}")
        vcpus, usd = _price_row(prices, instance_type)
        thr.append(fleet_throughput(idata, config=used, units_per_node=vcpus, nodes=int(nodes)))
        cost.append(usd * int(nodes))
        labels.append(f"{int(nodes)} x {instance_type}")
    x = xr.concat(thr, dim=OPTION).assign_coords({OPTION: labels})
    usd_h = xr.DataArray(cost, dims=OPTION, coords={OPTION: labels})
    per_k = usd_h / (x / 1000.0)
    cheapest = per_k == per_k.min(OPTION)
    out = xr.Dataset({"throughput": x, "usd_per_hour": usd_h, "usd_per_hour_per_1000_rps": per_k, "is_cheapest": cheapest})
    out.attrs.update({"tier": tier, "config": used, "cluster_prior_only": not _has_cluster_rows(idata, tier)})
    return out


def _has_cluster_rows(idata: xr.DataTree, tier: str) -> bool:
    if "constant_data" not in idata.children:
        return False
    const = idata["constant_data"].to_dataset()
    return bool(const["has_cluster_rows"].sel({dims.TIER: tier}).values)


def capacity_curve(idata: xr.DataTree, config: str, n_grid: Sequence[float] | None = None) -> dict:
    """Everything the report's capacity figure needs for one config, computed (not drawn).

    Returns a dict with ``n`` (grid), ``median``, ``q05``, ``q25``, ``q75``, ``q95``
    of X(N), ``linear`` (median of N * X(1), the linear-thinking line),
    ``n_star`` (median; None if infinite), ``points_n`` and ``points_y``
    (the measured node-level points of the config).
    """
    post = _posterior(idata)
    if config not in post[dims.CONFIG].values:
        raise ModelError(f"config {config!r} was not in the load test")
    one = post.sel({dims.CONFIG: config})
    obs = idata["observed_data"].to_dataset()
    const = idata["constant_data"].to_dataset()
    sel = (obs["obs_config"].values == config) & (obs["obs_level"].values == "node")
    pts_n = const["n"].values[sel]
    if n_grid is None:
        n_grid = np.unique(np.concatenate([np.linspace(1.0, 1.5 * pts_n.max(), 60), pts_n]))
    grid = xr.DataArray(np.asarray(n_grid, float), dims="n")
    x = usl.throughput(grid, one["sigma"], one["kappa"], one["lam"]).stack(_s=(dims.CHAIN, dims.DRAW))
    q = x.quantile([0.05, 0.25, 0.5, 0.75, 0.95], dim="_s").values
    n_star = float(np.median(usl.peak_n(one["sigma"].values, one["kappa"].values)))
    return {
        "config": config,
        "n": grid.values.tolist(),
        "q05": q[0].tolist(),
        "q25": q[1].tolist(),
        "median": q[2].tolist(),
        "q75": q[3].tolist(),
        "q95": q[4].tolist(),
        "linear": (grid.values * float(one["lam"].median())).tolist(),
        "n_star": n_star if math.isfinite(n_star) else None,
        "points_n": pts_n.tolist(),
        "points_y": obs["throughput"].values[sel].tolist(),
    }
