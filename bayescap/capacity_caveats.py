"""summary.json's capacity ``caveats``: where the server counts rest on the scalability model beyond the load tests.

The load tests measure one server at up to ``n_max`` cores (node rows) and, where given, up to ``M`` servers behind the
load balancer (cluster rows). The simulation sizes fleets with the fitted curves wherever the scenario takes them, so
three situations put a decision on an assumption rather than on a measurement, and a fourth, curves that miss the
measurements, puts every number on them; each gets a caveat with the numbers behind it (same dict shape as
:mod:`bayescap.caveats`: ``kind``, ``text``, the figures):

- ``scale_out_prior``: a fleet of 2 or more servers in a tier with no cluster rows: how throughput grows with the
  number of servers (contention σ', coherency κ') is the prior's;
- ``scale_out_extrapolated``: a fleet larger than the most servers load-tested together: the cluster curve is
  extrapolated from 1..M servers;
- ``scale_up_extrapolated``: an instance type with more vCPUs than the cores its per-core curve was measured at;
- ``capacity_ppc_mismatch``: the fitted curves miss the load test's measurements (more outside the model's 90%
  prediction ranges than chance allows, or repeated runs far closer together than the model's noise), whatever the
  fleet.

Each extrapolation caveat gives the posterior (prior, for ``scale_out_prior``) 90% interval of what the extrapolated
curve says, so the reader sees how much rests on it. numpy, xarray, :mod:`bayescap.usl` and :mod:`bayescap.checks` only: no model code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import xarray as xr

from bayescap import usl
from bayescap.checks import capacity_ppc_of
from bayescap.dims import CONFIG, SCENARIO, TIER
from bayescap.simulate.fmt import and_list


class Fleet(NamedTuple):
    """A fleet the report states: where (a scenario's name, or an intensity of the sweep), tier and servers."""

    where: str
    tier: str
    servers: float | None
    in_sweep: bool = False


def _q(values) -> dict[str, float]:
    q05, q50, q95 = (float(v) for v in np.quantile(np.asarray(values, float).ravel(), [0.05, 0.5, 0.95]))
    return {"q05": q05, "median": q50, "q95": q95}


def _times(q: dict[str, float]) -> str:
    return f"{q['median']:.1f} (90%: {q['q05']:.1f}–{q['q95']:.1f})"


def _rps(q: dict[str, float]) -> str:
    return f"{q['median']:,.0f} req/s (90%: {q['q05']:,.0f}–{q['q95']:,.0f})"


def most_servers_tested(capacity: xr.DataTree) -> dict[str, int]:
    """Per tier, the most servers load-tested together (cluster rows); tiers without cluster rows are left out."""
    if "constant_data" not in capacity.children:
        return {}
    const = capacity["constant_data"].to_dataset()
    if "obs_level" not in const.coords or "obs_tier" not in const.coords:
        return {}
    cluster = np.asarray(const["obs_level"].values, dtype=str) == "cluster"
    tiers = np.asarray(const["obs_tier"].values, dtype=str)
    n = np.asarray(const["n"].values, float)
    return {str(t): int(n[cluster & (tiers == t)].max()) for t in np.unique(tiers[cluster])}


def _relative_capacity(capacity: xr.DataTree, tier: str, servers: float) -> dict[str, float]:
    """How many single servers ``servers`` servers of ``tier`` are worth, per draw of (σ', κ'), summarised."""
    post = capacity["posterior"]
    sigma = post["sigma_cluster"].sel({TIER: tier}).values
    kappa = post["kappa_cluster"].sel({TIER: tier}).values
    return _q(usl.relative_capacity(float(servers), sigma, kappa))


def _largest(fleets: Sequence[Fleet]) -> tuple[int, str]:
    """The largest fleet and where it is stated (0 and "" when there is none)."""
    if not fleets:
        return 0, ""
    top = max(f.servers for f in fleets)
    return int(top), and_list([f.where for f in fleets if f.servers == top])


def _reach(fleets: Sequence[Fleet], above: int) -> list[tuple[int, str, bool]]:
    """The stated fleets larger than ``above`` servers, as (servers, words, from the sweep): the scenarios' largest,
    then the intensity sweep's where it is larger still."""
    m_s, in_s = _largest([f for f in fleets if not f.in_sweep])
    m_w, in_w = _largest([f for f in fleets if f.in_sweep])
    out = [(m_s, f"{m_s} servers in {in_s}", False)] if m_s > above else []
    if m_w > max(m_s, above):
        out.append((m_w, f"{m_w} at sweep intensity {in_w}", True))
    return out


def _worth(capacity: xr.DataTree, tier: str, sizes: Sequence[int]) -> tuple[dict, str]:
    """The relative capacity of each fleet size (by size) and its words."""
    rel = {m: _relative_capacity(capacity, tier, m) for m in sizes}
    words = [f"{m} servers are worth {_times(rel[m])} single ones" if i == 0 else f"{m} are worth {_times(rel[m])}"
             for i, m in enumerate(sizes)]
    return {str(m): q for m, q in rel.items()}, ", ".join(words)


def scale_out_caveats(capacity: xr.DataTree, fleets: Sequence[Fleet]) -> list[dict]:
    """``scale_out_prior`` and ``scale_out_extrapolated``, one per tier at most."""
    tested = most_servers_tested(capacity)
    out = []
    for tier in dict.fromkeys(f.tier for f in fleets):
        sizes = [f for f in fleets if f.tier == tier and f.servers is not None and np.isfinite(f.servers)]
        top = tested.get(tier, 1)
        reach = _reach(sizes, above=top)
        if not reach:
            continue
        m = max(r[0] for r in reach)
        sweep = any(r[2] for r in reach)  # a sweep fleet is named: the sweep's page repeats the caveat
        rel, worth = _worth(capacity, tier, [r[0] for r in reach])
        stated = ", ".join(r[1] for r in reach)
        if tier not in tested:
            text = (f"No load test ran several '{tier}' servers together, so how that tier's throughput grows with "
                    f"servers is the prior's assumption: {worth}. Its fleets ({stated}) rest on it; a load test of 2, "
                    f"4 and 8 servers behind the load balancer (level 'cluster') would measure it.")
            out.append({"kind": "scale_out_prior", "tier": tier, "servers": m, "relative_capacity": rel,
                        "sweep_fleets": sweep, "text": text})
        else:
            rel_top = _relative_capacity(capacity, tier, top)
            text = (f"The '{tier}' fleets ({stated}) exceed the {top} servers load-tested together, so the "
                    f"scalability law is extrapolated there: {worth}, against {_times(rel_top)} measured at {top}. A "
                    f"cluster load test up to {m} servers would check it.")
            out.append({"kind": "scale_out_extrapolated", "tier": tier, "servers": m, "tested_servers": top,
                        "relative_capacity": rel, "relative_capacity_tested": rel_top, "sweep_fleets": sweep,
                        "text": text})
    return out


def _pairs(capacity_draws: xr.Dataset):
    """(scenario, tier, instance type, config label, vCPUs) of every scenario's tier in the simulation's draws."""
    scenarios = capacity_draws[SCENARIO].values.tolist() if SCENARIO in capacity_draws.dims else [None]

    def at(name: str, s, t):
        coord = capacity_draws[name]
        return coord.sel({k: v for k, v in ((SCENARIO, s), (TIER, t)) if k in coord.dims}).values.item()

    for s in scenarios:
        for t in capacity_draws[TIER].values.tolist():
            yield s, str(t), str(at("instance_type", s, t)), str(at("config", s, t)), float(at("vcpus", s, t))


def scale_up_caveats(capacity: xr.DataTree, capacity_draws: xr.Dataset) -> list[dict]:
    """``scale_up_extrapolated``: one per (tier, instance type, config) whose vCPUs exceed the config's tested cores."""
    const = capacity["constant_data"].to_dataset() if "constant_data" in capacity.children else xr.Dataset()
    if "cfg_n_max" not in const or not {"config", "vcpus", "instance_type"} <= set(capacity_draws.coords):
        return []
    post = capacity["posterior"]
    seen: dict[tuple[str, str, str], list[str]] = {}
    vcpus_of: dict[tuple[str, str, str], float] = {}
    for s, tier, itype, config, vcpus in _pairs(capacity_draws):
        n_max = float(const["cfg_n_max"].sel({CONFIG: config}).values)
        if vcpus > n_max:
            key = (tier, itype, config)
            seen.setdefault(key, []).append("" if s is None else str(s))
            vcpus_of[key] = vcpus
    out = []
    for (tier, itype, config), where in seen.items():
        one = post.sel({CONFIG: config})
        n_max = float(const["cfg_n_max"].sel({CONFIG: config}).values)
        vcpus = vcpus_of[(tier, itype, config)]
        at_v = _q(usl.throughput(vcpus, one["sigma"].values, one["kappa"].values, one["lam"].values))
        at_top = _q(usl.throughput(n_max, one["sigma"].values, one["kappa"].values, one["lam"].values))
        name = str(post["config_name"].sel({CONFIG: config}).values) if "config_name" in post.coords else config
        curve = "its own load test" if name == itype else f"the load test of {name}"
        scen = and_list([w for w in where if w])
        text = (f"Tier '{tier}' runs {itype} ({vcpus:g} vCPUs){f' in {scen}' if scen else ''}, but the per-core "
                f"curve it uses ({curve}) was measured up to {n_max:g} cores, so one server's throughput is "
                f"extrapolated: {_rps(at_v)}, against {_rps(at_top)} at {n_max:g} cores. A load test of {itype} "
                f"at all its cores would measure it.")
        out.append({"kind": "scale_up_extrapolated", "tier": tier, "instance_type": itype, "config": config,
                    "vcpus": vcpus, "tested_cores": n_max, "scenarios": [w for w in where if w],
                    "node_throughput": at_v, "node_throughput_tested": at_top, "text": text})
    return out


def _pct(x: float) -> str:
    return f"{x:.1%}" if x < 0.1 else f"{x:.0%}"


def ppc_caveats(capacity: xr.DataTree, in_use: set[str] | None = None) -> list[dict]:
    """``capacity_ppc_mismatch``: the capacity model's replicated load tests do not look like the measured one
    (:func:`bayescap.checks.capacity_ppc`, the check the report's appendix draws): fewer measurements inside the
    model's 90% prediction ranges than chance allows, or repeated runs that agree far more closely than the model's
    replicas (a curve that misses the levels, its noise stretched to reach them).

    ``in_use``: the configurations whose curves the scenarios run on (labels as in the capacity fit). When every
    configuration that fails is a node configuration outside it, the caveat says so: those curves size no fleet, but
    they share their tier's priors with the ones that do."""
    groups = ("observed_data", "posterior_predictive", "constant_data")
    group = {g: capacity[g].to_dataset() for g in groups if g in capacity.children}
    check = capacity_ppc_of(group.get("observed_data"), group.get("posterior_predictive"), group.get("constant_data"))
    if check is None or check["ok"]:
        return []
    found, failing = [], []
    if check["inside"] < check["min_inside"]:
        failing += list(check["outside"])[:3]
        worst = [f"{label} ({k} of {n} outside)" for label, (k, n) in list(check["outside"].items())[:3]]
        found.append(f"only {check['inside']} of its {check['rows']} measurements lie inside the model's "
                     f"{check['level']:.0%} prediction ranges, where a model that fits leaves at least "
                     f"{check['min_inside']} inside by chance (most outside: {and_list(worst)})")
    tight = [(label, r) for label, r in check["repeats"].items() if r["fails"]]
    failing += [label for label, _ in tight]
    if tight:
        said = [f"{label}: repeats {_pct(r['observed'])} apart, the model's replicas {_pct(r['replicated'])}"
                for label, r in tight[:3]]
        found.append(f"repeated runs of one level agree far more closely than the model's replicated load tests "
                     f"({and_list(said)}; as close in under {check['alpha']:.0%} of the replicas): the model stretches "
                     f"its noise to reach measurements its curve misses")
    unused = in_use is not None and all(not f.endswith(" cluster") and f not in in_use for f in failing)
    they, share, tiers, them = ("they", "share", "their tiers", "them") if len(set(failing)) > 1 else ("it", "shares", "its tier", "it")
    rests = (f"No scenario runs on {and_list(failing)}, but {they} {share} the priors of {tiers} with the curves that "
             f"size the fleets, so check {them} before trusting those"
             if unused else "Throughputs, server counts and costs rest on curves that miss those measurements")
    text = (f"The capacity model does not fit the load test: {'; and '.join(found)}. {rests}: look for a ceiling that "
            f"is not the servers' (the network, a database, the load generator), a change of behaviour between "
            f"levels, or broken runs.")
    return [{"kind": "capacity_ppc_mismatch", **check, "in_use": bool(not unused), "text": text}]


def capacity_caveats(capacity: xr.DataTree, capacity_draws: xr.Dataset, fleets: Sequence[Fleet]) -> list[dict]:
    """Every capacity caveat of a run: the fit's check first, then scale-up (one server), then scale-out."""
    in_use = {str(c) for c in np.ravel(capacity_draws["config"].values)} if "config" in capacity_draws.coords else None
    return [*ppc_caveats(capacity, in_use), *scale_up_caveats(capacity, capacity_draws),
            *scale_out_caveats(capacity, fleets)]
