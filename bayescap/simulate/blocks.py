"""Running the kernel over blocks of draws: threads for numpy inputs, delayed tasks for dask inputs."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import xarray as xr

from bayescap.dims import DATE, DRAW, SCENARIO
from bayescap.errors import InputError
from bayescap.simulate.kernel import FULL_OUTPUTS, simulate_block

BLOCK_ELEMENTS = 1_500_000  # draws x dates x tiers per numpy block: bounds the kernel's temporaries

# kernel outputs: name -> (kind, dtype). kinds: "dtk" draw x date x tier, "dt" draw x date,
# "dk" draw x tier, "d" draw, "de" draw x event type, "hist" regime x tier x fleet size (summed)
_OUTPUTS = {
    "peak_rps": ("dtk", np.float32),
    "servers_needed": ("dtk", np.float32),
    "infeasible": ("dtk", np.bool_),
    "server_hours": ("dtk", np.float32),
    "site_peak_rps": ("dt", np.float32),
    "visits": ("dt", np.float32),
    "lo_event": ("dk", np.float64),
    "hi_event": ("dk", np.float64),
    "lo_normal": ("dk", np.float64),
    "hi_normal": ("dk", np.float64),
    "fleet_needed": ("dk", np.float64),
    "server_hours_mean": ("dk", np.float64),
    "site_peak_event_max": ("d", np.float64),
    "site_peak_normal_max": ("d", np.float64),
    "visits_total": ("d", np.float64),
    "visits_by_funding": ("d", np.float64),
    "site_peak_type_max": ("de", np.float64),
    "hist_lo": ("hist", np.int64),
    "hist_hi": ("hist", np.int64),
}
_FULL_KINDS = ("dtk", "dt")


def select_scenario(da: xr.DataArray, name: str, what: str) -> xr.DataArray:
    """The scenario's slice of ``da`` (``da`` itself when it has no scenario dim)."""
    if SCENARIO not in da.dims:
        return da
    if name not in da[SCENARIO].values:
        raise InputError(None, f"{what} coordinate '{SCENARIO}'", f"an entry for scenario '{name}'")
    return da.sel({SCENARIO: name})


def block_ranges(n_draws: int, per_block: int) -> list[tuple[int, int]]:
    return [(i, min(i + per_block, n_draws)) for i in range(0, n_draws, per_block)]


def trailing_shape(kind: str, n_dates: int, n_tiers: int, n_types: int, width: int) -> tuple[int, ...]:
    return {"dtk": (n_dates, n_tiers), "dt": (n_dates,), "dk": (n_tiers,), "d": (), "de": (n_types,),
            "hist": (2, n_tiers, width)}[kind]


def run_numpy(jobs, n_draws, shapes, n_scen, n_workers):
    """Run the kernel per (scenario, block) on threads, writing the full-size outputs in place.

    Full-size arrays are allocated scenario-major (scenario, draw, date, tier) so that
    each block writes one contiguous slab; the dataset sees them through a transposed
    view (draw, date, tier, scenario) without a copy.
    """
    out = {}
    for name, (kind, dtype) in _OUTPUTS.items():
        if kind in _FULL_KINDS:
            out[name] = np.empty((n_scen, n_draws) + shapes[kind], dtype=dtype)
        elif kind == "hist":
            out[name] = np.zeros(shapes[kind] + (n_scen,), dtype=dtype)
        else:
            out[name] = np.empty((n_draws,) + shapes[kind] + (n_scen,), dtype=dtype)

    def run(job):
        s, d0, d1, args = job
        views = {name: out[name][s, d0:d1] for name in FULL_OUTPUTS}
        return s, d0, d1, simulate_block(*args, out=views)

    workers = max(1, min(n_workers, len(jobs)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for s, d0, d1, res in pool.map(run, jobs):
            for name, (kind, _) in _OUTPUTS.items():
                if kind == "hist":
                    out[name][..., s] += res[name]
                elif kind not in _FULL_KINDS:
                    out[name][d0:d1, ..., s] = res[name]
    for name in FULL_OUTPUTS:
        out[name] = np.moveaxis(out[name], 0, -1)
    return out


def run_dask(jobs, n_draws, shapes, n_scen):
    """Delayed kernel calls: one reductions-only pass computed now, full-size arrays left lazy.

    The per-draw results and histograms are computed in a single ``dask.compute``
    with ``full=False`` kernels, one task per block of draws covering every scenario,
    so memory holds about one block per worker at a time. The full-size variables come
    from separate per-(scenario, block) ``full=True`` calls that run only if the caller
    computes them.
    """
    import dask
    import dask.array as da

    kernel = dask.delayed(simulate_block, pure=True)
    group = dask.delayed(_reduce_block, pure=True)
    full_calls = [[] for _ in range(n_scen)]
    by_block: dict[tuple[int, int], list] = {}
    for s, d0, d1, args in jobs:
        full_calls[s].append((d1 - d0, kernel(*args, full=True)))
        by_block.setdefault((d0, d1), []).append((s, args))
    # one task per block of draws runs every scenario, so each block of traffic draws is
    # consumed as soon as it exists (per-scenario tasks let the scheduler hoard input blocks)
    small_calls = [[] for _ in range(n_scen)]
    for members in by_block.values():
        results = group([args for _, args in members])
        for i, (s, _) in enumerate(members):
            small_calls[s].append(results[i])
    out = {}
    for name, (kind, dtype) in _OUTPUTS.items():
        if kind in _FULL_KINDS:
            stacks = [da.concatenate([da.from_delayed(res[name], shape=(n,) + shapes[kind], dtype=dtype)
                                      for n, res in calls], axis=0) for calls in full_calls]
            out[name] = da.stack(stacks, axis=-1)
    wanted = {}
    for name, (kind, _) in _OUTPUTS.items():
        if kind == "hist":  # pairwise sums, so that no more than a few block histograms are alive at once
            wanted[name] = [_tree_sum([res[name] for res in calls]) for calls in small_calls]
        elif kind not in _FULL_KINDS:
            wanted[name] = [[res[name] for res in calls] for calls in small_calls]
    (computed,) = dask.compute(wanted)
    for name, per in computed.items():
        if _OUTPUTS[name][0] == "hist":
            out[name] = np.stack(per, axis=-1)
        else:
            out[name] = np.stack([np.concatenate(blocks, axis=0) for blocks in per], axis=-1)
    return out


def _reduce_block(arg_list: list) -> list[dict]:
    """Reductions-only kernel runs of one block of draws for several scenarios."""
    return [simulate_block(*args, full=False) for args in arg_list]


def _tree_sum(items: list):
    import dask

    add = dask.delayed(np.add, pure=True)
    while len(items) > 1:
        items = [add(items[i], items[i + 1]) if i + 1 < len(items) else items[i] for i in range(0, len(items), 2)]
    return items[0]


def traffic_blocks(traffic: xr.Dataset, name: str, ranges, lazy: bool):
    v = select_scenario(traffic["visits"], name, "traffic").transpose(DRAW, DATE)
    pf = select_scenario(traffic["peak_factor"], name, "traffic").transpose(DRAW, DATE)
    if not lazy:
        v_np, pf_np = np.asarray(v.values), np.asarray(pf.values)
        return [(v_np[d0:d1], pf_np[d0:d1]) for d0, d1 in ranges]
    import dask.array as da

    v_d = v.data if hasattr(v.data, "dask") else da.from_array(np.asarray(v.values))
    pf_d = pf.data if hasattr(pf.data, "dask") else da.from_array(np.asarray(pf.values))
    chunks = (tuple(d1 - d0 for d0, d1 in ranges), (v_d.shape[1],))
    v_blocks = v_d.rechunk(chunks).to_delayed(optimize_graph=False).ravel()
    pf_blocks = pf_d.rechunk(chunks).to_delayed(optimize_graph=False).ravel()
    return list(zip(v_blocks, pf_blocks, strict=True))


def dask_ranges(traffic: xr.Dataset, n_dates: int, n_tiers: int) -> list[tuple[int, int]]:
    chunks = traffic["visits"].chunksizes.get(DRAW)
    if chunks:
        edges = np.concatenate([[0], np.cumsum(chunks)])
        return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    return block_ranges(traffic.sizes[DRAW], max(1, BLOCK_ELEMENTS // max(1, n_dates * n_tiers)))


