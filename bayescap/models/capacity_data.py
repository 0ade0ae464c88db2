"""Turn a load-test frame into the numeric design the capacity model consumes (no PyMC).

The design is split in two: ``structure`` (names and sizes: tiers, configurations,
number of points) fixes the compiled model; ``arrays`` (every number that comes
from the data) can be swapped into an already-compiled model, which is how the
recovery study refits hundreds of datasets without recompiling.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayescap.errors import InputError, ModelError
from bayescap.models import usl_coordinates

REQUIRED_COLUMNS = ("tier", "config", "n", "throughput")
LEVELS = ("node", "cluster")


@dataclass(frozen=True)
class CapacityDesign:
    """Names of the model's coordinates plus the data arrays (all numpy).

    ``arrays`` keys match the ``pm.Data`` containers of the model, so they can be
    passed to ``nutpie``'s ``CompiledModel.with_data(**arrays)``.
    """

    tiers: tuple[str, ...]
    configs: tuple[str, ...]  # unique labels: the config name, or "tier/config" if the name is in several tiers
    config_tier: tuple[str, ...]
    config_name: tuple[str, ...]  # the config as written in the load test
    obs_config: tuple[str, ...]  # config name of each row (cluster rows too)
    obs_level: tuple[str, ...]
    obs_repeat: np.ndarray
    arrays: dict[str, np.ndarray]

    @property
    def n_obs(self) -> int:
        return int(self.arrays["y"].shape[0])

    @property
    def tier_has_cluster_rows(self) -> np.ndarray:
        """Per tier: does the load test have cluster rows (else its cluster-level parameters are prior-only)?"""
        a = self.arrays
        return np.bincount(a["tier_idx"][a["is_cluster"] == 1], minlength=len(self.tiers)) > 0


def _clean(df: pd.DataFrame) -> pd.DataFrame:
    """Check columns and values, add defaults for level/repeat; never mutates ``df``."""
    if not isinstance(df, pd.DataFrame):
        raise ModelError(f"fit_capacity needs a pandas DataFrame, got {type(df).__name__}")
    path = df.attrs.get("path")
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(path, "columns", f"load-test columns {list(REQUIRED_COLUMNS)}; missing {missing}")
    out = df.copy()
    if "level" not in out.columns:
        out["level"] = "node"
    out["repeat"] = out["repeat"].fillna(0).astype(int) if "repeat" in out.columns else 0
    out["tier"] = out["tier"].astype(str)
    out["config"] = out["config"].astype(str)
    # a blank level means a node row, as in read_loadtest
    out["level"] = out["level"].where(out["level"].notna() & (out["level"].astype(str).str.strip() != ""), "node")
    out["level"] = out["level"].astype(str).str.strip().str.lower()
    for col in ("n", "throughput"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
    bad_level = ~out["level"].isin(LEVELS)
    if bad_level.any():
        i = int(np.flatnonzero(bad_level.to_numpy())[0])
        raise InputError(path, f"row {i}, column 'level'", f"'node' or 'cluster', got {out['level'].iloc[i]!r}")
    bad_n = ~(np.isfinite(out["n"]) & (out["n"] >= 1))
    if bad_n.any():
        i = int(np.flatnonzero(bad_n.to_numpy())[0])
        raise InputError(path, f"row {i}, column 'n'", f"a number >= 1, got {df['n'].iloc[i]!r}")
    bad_y = ~(np.isfinite(out["throughput"]) & (out["throughput"] > 0))
    if bad_y.any():
        i = int(np.flatnonzero(bad_y.to_numpy())[0])
        raise InputError(path, f"row {i}, column 'throughput'", f"a number > 0, got {df['throughput'].iloc[i]!r}")
    if not (out["level"] == "node").any():
        raise ModelError("the load test has no node-level rows; at least one configuration needs a per-core (node) curve")
    return out.reset_index(drop=True)


def build_design(df: pd.DataFrame, priors: dict[str, float]) -> CapacityDesign:
    """Index the rows and compute the unit-free reference scales (see ``capacity_priors``).

    Configurations are those with node-level rows, ordered by tier then first
    appearance; every tier of the file is a tier of the model (cluster-only tiers
    keep prior-only node hyperparameters).
    """
    data = _clean(df)
    tiers = tuple(dict.fromkeys(data["tier"]))
    node = data[data["level"] == "node"]
    pairs = list(dict.fromkeys(zip(node["tier"], node["config"])))
    names = [c for _, c in pairs]
    # config labels must be unique: a name tested in several tiers (the same instance type serving
    # two tiers) is labelled "tier/config"; a name used in one tier keeps its plain name
    configs = tuple(c if names.count(c) == 1 else f"{t}/{c}" for t, c in pairs)
    config_tier = tuple(t for t, _ in pairs)
    tier_pos = {t: i for i, t in enumerate(tiers)}
    cfg_pos = {pair: i for i, pair in enumerate(pairs)}

    y = data["throughput"].to_numpy(float)
    n = data["n"].to_numpy(float)
    is_cluster = (data["level"] == "cluster").to_numpy()
    tier_idx = data["tier"].map(tier_pos).to_numpy(np.int64)
    cfg_idx = np.array(
        [0 if cl else cfg_pos[(t, c)] for t, c, cl in zip(data["tier"], data["config"], is_cluster)], np.int64
    )

    # noise reference: mean throughput of the row's group (node rows of a config, cluster rows of a tier)
    group = np.where(is_cluster, "cluster|" + data["tier"], "node|" + data["tier"] + "|" + data["config"])
    noise_ref = pd.Series(y).groupby(group).transform("mean").to_numpy(float)

    per_unit = pd.Series(y / n)
    node_rows = data[~is_cluster]
    best_per_unit = per_unit[~is_cluster].groupby([node_rows["tier"], node_rows["config"]]).max()
    n_max = node_rows.groupby(["tier", "config"])["n"].max()
    tier_log_scale = np.zeros(len(tiers))
    for t, i in tier_pos.items():
        members = [pair for pair in pairs if pair[0] == t]
        if members:
            tier_log_scale[i] = float(np.mean(np.log([best_per_unit[pair] for pair in members])))
    cfg_log_scale = np.array([tier_log_scale[tier_pos[t]] for t in config_tier])
    cfg_n_max = np.array([n_max[pair] for pair in pairs], float)

    cluster_n_ref = np.full(len(tiers), priors["cluster_nodes_ref"])
    cluster_log_scale = tier_log_scale.copy()
    for t, i in tier_pos.items():
        rows = is_cluster & (data["tier"] == t).to_numpy()
        if rows.any():
            cluster_n_ref[i] = float(n[rows].max())
            cluster_log_scale[i] = float(np.log((y[rows] / n[rows]).max()))
    # a single unit cannot show any scaling: n_max = 1 would make kappa unidentified *and* divide by 1
    cfg_n_max = np.maximum(cfg_n_max, 2.0)
    cluster_n_ref = np.maximum(cluster_n_ref, 2.0)

    # a lone config's sampler coordinates (usl_coordinates): the slope of its sigma-kappa ridge and its reference level
    cfg_pooled = np.array([float(config_tier.count(t) > 1) for t in config_tier])
    cfg_sigma_shear = np.zeros(len(pairs))
    cfg_lam_ref = np.zeros(len(pairs))
    cfg_sigma_offset = np.zeros(len(pairs))
    cfg_sigma_odds = np.zeros(len(pairs))
    for j in np.flatnonzero(cfg_pooled == 0):
        rows = (cfg_idx == j) & ~is_cluster
        cfg_lam_ref[j] = usl_coordinates.reference_level(n[rows], y[rows])
        if np.unique(n[rows]).size < usl_coordinates.MIN_LEVELS_FOR_ODDS:
            continue  # sigma is the prior's there: its logit is the better coordinate
        cfg_sigma_odds[j] = 1.0
        cfg_sigma_shear[j] = usl_coordinates.sigma_shear(n[rows], cfg_n_max[j])
        cfg_sigma_offset[j] = usl_coordinates.sigma_offset(
            cfg_sigma_shear[j], priors["sigma_logit_mu"], priors["kappa_scaled_mu"])

    arrays = {
        "y": y,
        "n": n,
        "cfg_idx": cfg_idx,
        "tier_idx": tier_idx,
        "is_cluster": is_cluster.astype(np.int64),
        "noise_ref": noise_ref,
        "cfg_tier_idx": np.array([tier_pos[t] for t in config_tier], np.int64),
        "cfg_pooled": cfg_pooled,
        "cfg_sigma_odds": cfg_sigma_odds,
        "cfg_sigma_shear": cfg_sigma_shear,
        "cfg_sigma_offset": cfg_sigma_offset,
        "cfg_lam_ref": cfg_lam_ref,
        "cfg_log_scale": cfg_log_scale,
        "cfg_n_max": cfg_n_max,
        "cluster_n_ref": cluster_n_ref,
        "cluster_log_scale": cluster_log_scale,
    }
    return CapacityDesign(
        tiers=tiers,
        configs=configs,
        config_tier=config_tier,
        config_name=tuple(names),
        obs_config=tuple(
            c if cl else configs[cfg_pos[(t, c)]] for t, c, cl in zip(data["tier"], data["config"], is_cluster)
        ),
        obs_level=tuple(data["level"]),
        obs_repeat=data["repeat"].to_numpy(),
        arrays=arrays,
    )


def detect_ceiling(df: pd.DataFrame, *, rel_tol: float = 0.02, min_points: int = 3, min_span: float = 4.0) -> pd.DataFrame:
    """Find node-level series that hit a flat ceiling (e.g. a saturated network link).

    A USL curve bends smoothly; a hard external limit shows as a run of points
    whose throughput stays within ``rel_tol`` of each other while N grows by at
    least ``min_span`` times.  For such a series, sigma and kappa describe the
    ceiling, not CPU contention, and extrapolating them to other instance sizes
    would mislead.  Returns one row per flagged config: ``tier``, ``config``,
    ``ceiling`` (mean throughput on the plateau), ``n_from`` (first N on it).
    """
    data = _clean(df)
    rows = []
    for (tier, config), g in data[data["level"] == "node"].groupby(["tier", "config"], sort=False):
        curve = g.groupby("n")["throughput"].mean().sort_index()
        if len(curve) < min_points:
            continue
        top = curve.max()
        on_plateau = curve >= top * (1.0 - rel_tol)
        # the plateau is the trailing run of points near the maximum
        run = 0
        for flag in on_plateau.to_numpy()[::-1]:
            if not flag:
                break
            run += 1
        if run >= min_points:
            plateau = curve.iloc[-run:]
            if plateau.index[-1] / plateau.index[0] >= min_span:
                rows.append({"tier": tier, "config": config, "ceiling": float(plateau.mean()), "n_from": float(plateau.index[0])})
    return pd.DataFrame(rows, columns=["tier", "config", "ceiling", "n_from"])


def exclude_ceiling_points(df: pd.DataFrame, ceilings: pd.DataFrame) -> pd.DataFrame:
    """Drop the plateau points past the first one of each flagged config (returns a copy).

    The first point on the plateau is kept: it is the last one that the CPU
    curve can still explain, and it bounds X_max from below.
    """
    keep = np.ones(len(df), bool)
    for _, c in ceilings.iterrows():
        sel = (df["config"].astype(str) == c["config"]) & (df["tier"].astype(str) == c["tier"])
        if "level" in df.columns:
            sel &= df["level"].astype(str).str.lower() != "cluster"
        keep &= ~(sel & (df["n"].astype(float) > c["n_from"])).to_numpy()
    return df.loc[keep].reset_index(drop=True)
