"""What changed between two saved runs, and what it did to the numbers (``bayescap diff RUN_A RUN_B``).

The question an analyst gets after a re-run: "last month the runway was 14.9 months, now it is 14.2: why?". This
compares two runs' ``summary.json`` files (numpy and dicts only; no model is loaded):

* **what went in**: the input files (by SHA-256), the seed and sampler settings, the fitted history's span, the
  software versions, the scenarios present, and whether the second run sampled its own posteriors;
* **what came out**: per scenario present in both, each headline metric's median and 90% interval, and each tier's
  recommended fleet; a metric whose new median lies inside the old 90% interval is marked as such.

Where the two runs have the same posteriors (the same fit key) and the same seed, draw k of one run and draw k of the
other are the same simulated future (the same posterior draw and the same random numbers; only the scenario, prices
or policy differ), so each metric's change is also computed draw by draw from the two ``simulation.nc`` files
(:func:`paired_change`), as the report does between the scenarios of one run. Otherwise the draws are not paired
(other fits), a change in a median is not a draw-by-draw difference, and the mark says whether it is larger than the
forecast's own uncertainty.
"""

from __future__ import annotations

from typing import Any

import numpy as np

INPUT_WORDS = {"traffic": "traffic history", "intraday": "intraday counts", "loadtest": "load test",
               "prices": "price table", "scenario": "scenario file"}
SETTINGS = ("seed", "draws", "tune", "chains", "history_days", "history_start", "history_end", "start", "end")
VERSIONS = ("bayescap", "pymc", "nutpie", "numpy", "C compiler")
HEADLINE = ("monthly_cost", "runway", "peak_rps_event", "peak_rps_normal", "visitors_by_funding", "valuation")


def _run(summary: dict) -> dict:
    return summary.get("run") or {}


def input_changes(a: dict, b: dict) -> list[str]:
    """The inputs, settings and software that differ between runs ``a`` and ``b`` (their summaries), in words."""
    ra, rb = _run(a), _run(b)
    out: list[str] = []
    ia, ib = ra.get("inputs") or {}, rb.get("inputs") or {}
    for name, words in INPUT_WORDS.items():
        da, db = (ia.get(name) or {}).get("sha256"), (ib.get(name) or {}).get("sha256")
        if da != db:
            out.append(f"the {words}: " + ("added" if da is None else "removed" if db is None else "content differs"))
    for name in SETTINGS:
        if ra.get(name) != rb.get(name):
            out.append(f"{name.replace('_', ' ')}: {ra.get(name)} -> {rb.get(name)}")
    va, vb = ra.get("versions") or {}, rb.get("versions") or {}
    for name in VERSIONS:
        if va.get(name) != vb.get(name):
            out.append(f"{name} version: {va.get(name)} -> {vb.get(name)}")
    if ra.get("traffic_options") != rb.get("traffic_options"):
        out.append(f"traffic-model options: {ra.get('traffic_options')} -> {rb.get('traffic_options')}")
    return out


def fits_relation(a: dict, b: dict) -> str:
    """Whether the two runs have the same posteriors (the same fit key: sampled alike, or one reused) or not."""
    ka, kb = _run(a).get("fit_key"), _run(b).get("fit_key")
    if ka is not None and ka == kb:
        return ("the same posteriors (the same fit key): the numbers differ only through the scenarios, prices "
                "and simulation")
    return ("other posteriors (the fit key differs: other fitted data, priors, sampler settings, model code or "
            "sampling libraries): the models were fitted again")


def draws_paired(a: dict, b: dict) -> bool:
    """Whether draw k of run ``a`` and draw k of run ``b`` are the same simulated future: the same posteriors (fit key,
    which covers the data, priors, sampler settings and code) and the same seed (the simulation's random numbers)."""
    ra, rb = _run(a), _run(b)
    return ra.get("fit_key") is not None and ra.get("fit_key") == rb.get("fit_key") and ra.get("seed") == rb.get("seed")


def metric_source(metric: dict) -> tuple[str, dict] | None:
    """Where a scenario metric's draws live in simulation.nc: ``(variable, selection)`` from its summary entry."""
    source = metric.get("source")
    if not source:
        return None
    return str(source), {k: metric[k] for k in ("tier", "event_type") if k in metric}


def paired_change(draws_a: np.ndarray, draws_b: np.ndarray) -> dict[str, Any]:
    """B minus A draw by draw (draws where both are finite): median, 90% interval, the share of draws in which B is
    the higher, and the share of draws left out (some day beyond any fleet in one run)."""
    a, b = np.asarray(draws_a, dtype=float).ravel(), np.asarray(draws_b, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"the runs have {a.size} and {b.size} draws")
    keep = np.isfinite(a) & np.isfinite(b)
    d = b[keep] - a[keep]
    if d.size == 0:
        return {"median": None, "q05": None, "q95": None, "share_b_higher": None, "undefined_share": 1.0}
    q05, median, q95 = (float(v) for v in np.quantile(d, [0.05, 0.5, 0.95]))
    return {"median": median, "q05": q05, "q95": q95, "share_b_higher": float(np.mean(d > 0)),
            "share_equal": float(np.mean(d == 0)), "undefined_share": float(1.0 - d.size / a.size)}


def _scenarios(summary: dict) -> dict[str, dict]:
    return {s.get("name"): s for s in summary.get("scenarios") or [] if isinstance(s, dict)}


def metric_change(ma: dict, mb: dict) -> dict[str, Any]:
    """One metric in two runs: medians, 90% intervals, relative change and whether the new median is inside the old
    90% interval."""
    a, b = ma.get("median"), mb.get("median")
    lo, hi = ma.get("q05"), ma.get("q95")
    inside = None if None in (b, lo, hi) else bool(lo <= b <= hi)
    rel = None if a in (None, 0) or b is None else (b - a) / abs(a)
    return {"label": mb.get("label") or ma.get("label"), "unit": mb.get("unit") or ma.get("unit"),
            "a": {"median": a, "q05": lo, "q95": hi}, "b": {"median": b, "q05": mb.get("q05"), "q95": mb.get("q95")},
            "relative_change": rel, "inside_a_interval": inside}


def fleet_change(fa: dict, fb: dict) -> dict[str, Any]:
    keys = ("servers", "instance_type", "monthly_cost_usd", "p_overload_any_event_day")
    return {"a": {k: fa.get(k) for k in keys}, "b": {k: fb.get(k) for k in keys}}


def diff_runs(a: dict, b: dict, *, name_a: str = "", name_b: str = "", draws=None) -> dict[str, Any]:
    """Everything :mod:`bayescap.run_diff` compares, as plain JSON values (``bayescap diff --json``).

    ``draws(side, variable, scenario, selection)`` returns a metric's draws from run ``side``'s simulation.nc
    ("a" or "b"); given, and where :func:`draws_paired`, each metric gets its ``paired`` change draw by draw.
    """
    sa, sb = _scenarios(a), _scenarios(b)
    paired = draws is not None and draws_paired(a, b)
    common = [name for name in sa if name in sb]
    scenarios = {}
    for name in common:
        ma, mb = sa[name].get("metrics") or {}, sb[name].get("metrics") or {}
        fa, fb = sa[name].get("fleet") or {}, sb[name].get("fleet") or {}
        metrics = {k: metric_change(ma[k], mb[k]) for k in HEADLINE if k in ma and k in mb}
        for k, m in metrics.items():
            src_a, src_b = metric_source(ma[k]), metric_source(mb[k])
            if paired and src_a is not None and src_a == src_b:
                m["paired"] = paired_change(draws("a", src_a[0], name, src_a[1]), draws("b", src_b[0], name, src_b[1]))
        scenarios[name] = {
            "metrics": metrics,
            "fleet": {t: fleet_change(fa[t], fb[t]) for t in fa if t in fb},
            "description": {"a": sa[name].get("description"), "b": sb[name].get("description")},
        }
    checks = {}
    for side, summary in (("a", a), ("b", b)):
        verdict = summary.get("checks") or {}
        checks[side] = {"ok": bool(verdict.get("ok")), "problems": list(verdict.get("problems") or [])}
    return {
        "runs": {"a": name_a, "b": name_b},
        "inputs_changed": input_changes(a, b),
        "fits": fits_relation(a, b),
        "draws_paired": bool(paired),
        "checks": checks,
        "scenarios_only_in_a": [n for n in sa if n not in sb],
        "scenarios_only_in_b": [n for n in sb if n not in sa],
        "scenarios": scenarios,
    }
