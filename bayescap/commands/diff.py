"""`bayescap diff RUN_A RUN_B`: what changed between two saved runs, and what it did to the headline numbers."""

from __future__ import annotations

import argparse
from pathlib import Path

from bayescap.commands._common import add_json_option, check_json_target, write_json_output

EPILOG = """\
Example: bayescap diff reports/baseline-20261101-090000 reports/baseline-20261129-090000

Reads each run's summary.json (no model is loaded). RUN_A is the earlier run, RUN_B the new one. Where the two have
the same posteriors and seed, draw k of each is the same simulated future, and each metric's change is also given
draw by draw from their simulation.nc files.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "diff",
        help="compare two saved runs: what went in differently and how the headline numbers moved",
        description=(
            "Compare two run directories written by 'bayescap forecast': the input files (by SHA-256), seed, "
            "sampler settings, fitted history and software versions that differ, whether the posteriors are the "
            "same, the model checks, and per scenario in both runs the median and 90% interval of cost, runway, "
            "peaks, visitors and valuation, with each tier's recommended fleet."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run_a", type=Path, metavar="RUN_A", help="the earlier run directory")
    p.add_argument("run_b", type=Path, metavar="RUN_B", help="the later run directory")
    add_json_option(p, "the comparison")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bayescap.report.run_files import read_summary
    from bayescap.run_diff import diff_runs

    check_json_target(args)
    a, b = read_summary(args.run_a), read_summary(args.run_b)
    with SimulationDraws(args.run_a, args.run_b) as draws:
        result = diff_runs(a, b, name_a=str(args.run_a), name_b=str(args.run_b),
                           draws=draws if draws.available else None)
    for line in diff_lines(result):
        print(line)
    write_json_output(args, result)
    return 0


class SimulationDraws:
    """The two runs' simulation.nc (opened without reading their arrays; only the compared metrics' draws are read);
    ``draws(side, variable, scenario, selection)`` for run_diff. ``available`` is False when either run lacks a
    readable simulation.nc: the comparison is then by medians only."""

    def __init__(self, run_a: Path, run_b: Path):
        import xarray as xr

        self.sims = {}
        for side, run in (("a", run_a), ("b", run_b)):
            path = Path(run) / "simulation.nc"
            try:
                self.sims[side] = xr.open_dataset(path, engine="h5netcdf")
            except (OSError, ValueError):
                self.sims[side] = None
        self.available = all(v is not None for v in self.sims.values())

    def __call__(self, side: str, variable: str, scenario: str, selection: dict):
        from bayescap.simulate.summary import draws_of

        return draws_of(self.sims[side], variable, scenario, **selection)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for ds in self.sims.values():
            if ds is not None:
                ds.close()


def _value_with_range(side: dict, unit: str | None) -> str:
    from bayescap.report.formatting import median_range

    median, interval = median_range(side, unit)
    return f"{median} (90%: {interval})"


def diff_lines(result: dict) -> list[str]:
    """The comparison as console lines (A -> B)."""
    from bayescap.report.formatting import fmt_int, fmt_pct, fmt_usd, unit_label

    runs = result["runs"]
    out = [f"A: {runs['a']}", f"B: {runs['b']}", ""]
    changed = result["inputs_changed"]
    out.append("What went in differently:" if changed else "What went in: the same inputs, settings and versions.")
    out += [f"  - {line}" for line in changed]
    out.append(f"Posteriors: {result['fits']}.")
    for side in ("a", "b"):
        c = result["checks"][side]
        verdict = "passed" if c["ok"] else "FAILED (the report is a DRAFT): " + "; ".join(c["problems"])
        out.append(f"Model checks of {side.upper()}: {verdict}")
    if result["scenarios_only_in_a"]:
        out.append("Scenarios only in A: " + ", ".join(result["scenarios_only_in_a"]))
    if result["scenarios_only_in_b"]:
        out.append("Scenarios only in B: " + ", ".join(result["scenarios_only_in_b"]))
    for name, sc in result["scenarios"].items():
        out += ["", f"Scenario {name} (A -> B; median and 90% interval):"]
        if sc["description"]["a"] != sc["description"]["b"]:
            out.append(f"  its definition changed: {sc['description']['a']} -> {sc['description']['b']}")
        for m in sc["metrics"].values():
            unit = m["unit"]
            label = m["label"] + (f" ({unit_label(unit)})" if unit_label(unit) else "")
            if m["a"] == m["b"]:
                out.append(f"  {label}: {_value_with_range(m['a'], unit)} (unchanged)")
                continue
            rel = m["relative_change"]
            change = "" if rel is None else f", median {'+' if rel >= 0 else '−'}{abs(100 * rel):.1f}%"
            mark = "" if m["inside_a_interval"] is None else (
                "; inside A's 90% interval" if m["inside_a_interval"] else "; outside A's 90% interval")
            out.append(f"  {label}: {_value_with_range(m['a'], unit)} -> {_value_with_range(m['b'], unit)}"
                       f"{change}{mark}")
            if m.get("paired") and m["paired"]["median"] is not None:
                out.append(f"    {_paired_text(m['paired'], unit)}")
        for tier, f in sc["fleet"].items():
            fa, fb = f["a"], f["b"]
            same = fa == fb
            text = (f"{fmt_int(fa['servers'])} × {fa['instance_type']} ({fmt_usd(fa['monthly_cost_usd'])}/month, "
                    f"chance of overload on any event day {fmt_pct(fa['p_overload_any_event_day'])})")
            if not same:
                text += (f" -> {fmt_int(fb['servers'])} × {fb['instance_type']} ({fmt_usd(fb['monthly_cost_usd'])}"
                         f"/month, {fmt_pct(fb['p_overload_any_event_day'])})")
            out.append(f"  recommended {tier} fleet: {text}" + (" (unchanged)" if same else ""))
    if result["scenarios"] and result.get("draws_paired"):
        out += ["", "Draw k of each run is the same simulated future (the same posteriors and seed), so the changes are "
                "also given draw by draw: B minus A, its median and 90% interval over the draws."]
    elif result["scenarios"]:
        out += ["", "The two runs' draws are not paired, so a change of a median is not computed draw by draw; a new "
                "median inside the old 90% interval is within the first forecast's own uncertainty."]
    return out


def _paired_text(p: dict, unit: str | None) -> str:
    """"draw by draw: −0.42 months (90%: −0.61 to −0.25); B higher in 0% of draws"."""
    from bayescap.report.formatting import fmt_pct, fmt_value, range_sig

    sig = range_sig(p["q05"], p["q95"], unit)
    lo, med, hi = (("+" if p[k] > 0 else "") + fmt_value(p[k], unit, sig) for k in ("q05", "median", "q95"))
    if p["q05"] == p["q95"] == 0:
        return "draw by draw: no change in any draw"
    text = f"draw by draw: {med} (90%: {lo} to {hi}); B higher in {fmt_pct(p['share_b_higher'])} of draws"
    if p.get("undefined_share"):
        text += f" ({fmt_pct(p['undefined_share'])} of draws left out: some day beyond any fleet in a run)"
    return text
