"""Hierarchical Bayesian Universal Scalability Law: fit load tests, return a DataTree.

Public entry points (see docs/capacity_model.md for the model and the evidence
behind its choices):

* :func:`fit_capacity` -- load-test frame -> posterior ``xarray.DataTree``.
* :func:`summarise_capacity`, :func:`diagnostics` -- the numbers the CLI and the
  report print.
* :func:`node_capacity_draws` -- per-tier node throughput draws for the simulation.
* :func:`scale_up_vs_out`, :func:`linear_overpromise`, :func:`efficiency`,
  :func:`fleet_throughput`, :func:`capacity_curve` -- derived quantities.
* :func:`detect_ceiling`, :func:`exclude_ceiling_points` -- honest handling of
  series that hit an external ceiling (a saturated network link).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import pandas as pd
import xarray as xr

from bayescap.errors import ModelError
from bayescap.models import capacity_density
from bayescap.models.nutpie_glue import c_model_or_none
from bayescap.models.capacity_build import (
    DEFAULT_LIKELIHOOD,
    LIKELIHOODS,
    build_model,
    compile_model,
    finalise,
    sample_compiled,
    sample_nutpie,
)
from bayescap.models.capacity_data import CapacityDesign, build_design, detect_ceiling, exclude_ceiling_points
from bayescap.models.capacity_derived import (
    capacity_curve,
    derived_quantities,
    diagnostics,
    efficiency,
    fleet_throughput,
    linear_overpromise,
    node_capacity_draws,
    scale_up_vs_out,
    summarise_capacity,
)
from bayescap.models.capacity_priors import DEFAULT_PRIORS, merge_priors

__all__ = [
    "SAMPLER_BACKENDS",
    "TARGET_ACCEPT_LADDER",
    "DEFAULT_LIKELIHOOD",
    "DEFAULT_PRIORS",
    "LIKELIHOODS",
    "capacity_curve",
    "compiled_for",
    "derived_quantities",
    "detect_ceiling",
    "diagnostics",
    "efficiency",
    "exclude_ceiling_points",
    "fit_capacity",
    "fit_design",
    "fleet_throughput",
    "linear_overpromise",
    "merge_priors",
    "node_capacity_draws",
    "scale_up_vs_out",
    "summarise_capacity",
]

DEFAULT_SEED = 20261126
SAMPLER_BACKENDS = ("c", "pymc")
"""How the posterior is sampled: "c" (default) through the hand-written density of ``capacity_density.c``, compiled
once per machine by the system's C compiler and cached on disk (where no C compiler works: the PyMC graph, with a
warning); "pymc" through the PyMC graph of ``capacity_build.build_model``, compiled per process. The same model."""
#: target_accept="auto": sample at the first value; only a fit with a divergent transition is sampled again at the
#: second (smaller steps). On the example 0.9 takes a third of 0.98's leapfrog steps for as many effective draws
#: (docs/capacity_model.md, "Speed").
TARGET_ACCEPT_LADDER = (0.9, 0.98)
_CACHE_SIZE = 8
# Compiled PyMC graphs by structure (likelihood, priors, shapes), for sampler_backend="pymc". A pure memo: a hit
# returns the same compiled log-density a rebuild would, so results never depend on it; it only saves the 5-25 s
# of numba compilation.
_COMPILED: OrderedDict[tuple, Any] = OrderedDict()


def _structure_key(design: CapacityDesign, priors: dict[str, float], likelihood: str) -> tuple:
    return (
        likelihood,
        tuple(sorted(priors.items())),
        len(design.tiers),
        len(design.configs),
        design.n_obs,
        tuple(design.tier_has_cluster_rows.tolist()),  # sets the sampler coordinates of kappa_cluster_raw
    )


def compiled_for(design: CapacityDesign, priors: dict[str, float], likelihood: str = DEFAULT_LIKELIHOOD) -> Any:
    """The compiled PyMC graph (nutpie model) for this design's structure, compiling only on the first request.

    Two designs with the same number of tiers, configs and points (and the same
    priors and likelihood) share one compiled model; their data are swapped in
    by :func:`bayescap.models.capacity_build.sample_compiled`.
    """
    key = _structure_key(design, priors, likelihood)
    if key in _COMPILED:
        _COMPILED.move_to_end(key)
        return _COMPILED[key]
    compiled = compile_model(build_model(design, priors, likelihood))
    _COMPILED[key] = compiled
    while len(_COMPILED) > _CACHE_SIZE:
        _COMPILED.popitem(last=False)
    return compiled


def fit_design(
    design: CapacityDesign,
    priors: dict[str, float],
    *,
    likelihood: str = DEFAULT_LIKELIHOOD,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    seed: int = DEFAULT_SEED,
    sampler_backend: str = "c",
    target_accept: float | str = "auto",
) -> xr.DataTree:
    """Sample a prepared design (used by :func:`fit_capacity` and the recovery study).

    ``target_accept="auto"`` samples at :data:`TARGET_ACCEPT_LADDER`'s first value and, when that fit has a
    divergent transition, once more at its second; ``attrs["target_accept"]`` is the value of the fit returned and
    ``attrs["divergences_before_retry"]`` the first fit's divergences when it was retried. A number samples once.
    """
    ladder = _target_accept_ladder(target_accept)
    if sampler_backend not in SAMPLER_BACKENDS:
        raise ModelError(f"unknown capacity sampler_backend {sampler_backend!r}; choose one of {SAMPLER_BACKENDS}")
    if likelihood not in LIKELIHOODS:
        raise ModelError(f"unknown capacity likelihood {likelihood!r}; choose one of {LIKELIHOODS}")
    model = None
    if sampler_backend == "c":
        model = c_model_or_none(lambda: capacity_density.nutpie_model(design, priors, likelihood), model="capacity",
                                compile_seconds="5-25 s")
    if model is None:  # asked for, or no C compiler: the same model through its PyMC graph (other draws)
        sampler_backend = "pymc"
        compiled = compiled_for(design, priors, likelihood)

        def sample(accept: float) -> xr.DataTree:
            return sample_compiled(compiled, design, draws=draws, tune=tune, chains=chains, seed=seed,
                                   target_accept=accept)
    else:
        def sample(accept: float) -> xr.DataTree:
            return sample_nutpie(model, draws=draws, tune=tune, chains=chains, seed=seed, target_accept=accept)

    divergences_before = None
    for i, accept in enumerate(ladder):
        raw = sample(accept)
        divergences = int(raw["sample_stats"]["diverging"].values.sum())
        if divergences == 0 or i == len(ladder) - 1:
            break
        divergences_before = divergences
    if sampler_backend == "c":
        posterior = capacity_density.posterior_dataset(raw["posterior"].to_dataset(), design, priors, likelihood)
        raw = xr.DataTree.from_dict({"posterior": posterior, "sample_stats": raw["sample_stats"].to_dataset()})
    tree = finalise(raw, design, priors, likelihood, seed=seed)
    tree.attrs["sampler_backend"] = sampler_backend  # "c", or "pymc" (asked for, or no C compiler)
    tree.attrs["target_accept"] = float(accept)
    if divergences_before is not None:
        tree.attrs["divergences_before_retry"] = divergences_before
    return tree


def _target_accept_ladder(target_accept: float | str) -> tuple[float, ...]:
    """``"auto"``: :data:`TARGET_ACCEPT_LADDER`; a number in (0, 1): that value alone."""
    if isinstance(target_accept, str):
        if target_accept == "auto":
            return TARGET_ACCEPT_LADDER
        raise ModelError(f"capacity target_accept must be 'auto' or a number in (0, 1); got {target_accept!r}")
    try:
        value = float(target_accept)
    except (TypeError, ValueError):
        value = float("nan")
    if not 0.0 < value < 1.0:
        raise ModelError(f"capacity target_accept must be 'auto' or a number in (0, 1); got {target_accept!r}")
    return (value,)


def fit_capacity(
    loadtest_df: pd.DataFrame,
    *,
    priors: Mapping[str, float] | None = None,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    seed: int = DEFAULT_SEED,
    likelihood: str = DEFAULT_LIKELIHOOD,
    sampler_backend: str = "c",
    target_accept: float | str = "auto",
) -> xr.DataTree:
    """Fit the hierarchical USL to a load-test frame.

    Parameters
    ----------
    loadtest_df : DataFrame
        Columns ``tier, config, n, throughput`` and optionally ``level``
        (``"node"``: n = cores/workers; ``"cluster"``: n = nodes, throughput =
        total) and ``repeat``; the contract of ``bayescap.inputs.read_loadtest``.
        Repeated points at the same n are kept as separate observations.
    priors : mapping, optional
        Overrides merged over :data:`DEFAULT_PRIORS` (unknown keys are an error).
    draws, tune, chains, seed
        Sampler settings; the same seed gives the same posterior.
    likelihood : {"student_t", "normal", "lognormal"}
        Observation model. The default, additive Student-t with a per-config
        scale, was chosen by LOO and posterior predictive checks on the real
        benchmarks (docs/capacity_model.md); the others are kept for that comparison.
    sampler_backend : {"c", "pymc"}
        The same model sampled through its hand-written C density (default: compiled once per machine, then
        loaded from the cache) or through the PyMC graph (compiled in each process); see :data:`SAMPLER_BACKENDS`.
    target_accept : "auto" or float
        NUTS's target acceptance rate. ``"auto"`` (default) samples at 0.9 and, only if that fit has a divergent
        transition, again at 0.98 (:data:`TARGET_ACCEPT_LADDER`); ``attrs["target_accept"]`` says which was kept.

    Returns
    -------
    DataTree
        Groups ``posterior`` (``sigma``, ``kappa``, ``lam`` on ``config`` with the
        non-index coord ``config_tier``; ``sigma_cluster``, ``kappa_cluster``,
        ``lam_cluster`` on ``tier``; plus the hyperparameters), ``sample_stats``,
        ``observed_data``, ``constant_data``, ``log_likelihood``; ``attrs["priors"]``
        is the JSON of the priors used and ``attrs["ceilings"]`` the JSON list of
        series that look capped by an external limit (see :func:`detect_ceiling`).
    """
    merged = merge_priors(priors)
    design = build_design(loadtest_df, merged)
    tree = fit_design(
        design, merged, likelihood=likelihood, draws=draws, tune=tune, chains=chains, seed=seed,
        sampler_backend=sampler_backend, target_accept=target_accept,
    )
    ceilings = detect_ceiling(loadtest_df)
    tree.attrs["ceilings"] = ceilings.to_json(orient="records")
    return tree
