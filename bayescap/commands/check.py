"""`bayescap check`: validate the input files only (fast; no model is built, PyMC is not imported)."""

from __future__ import annotations

import argparse
from pathlib import Path

from bayescap.commands._common import add_history_days_option, add_input_options, resolve_intraday


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check",
        help="validate the input files and print what was read (no fitting)",
        description=(
            "Read and cross-check the traffic history, intraday counts, load tests, price table and "
            "scenario file, and print a short summary of each. Any problem is reported as one line "
            "naming the file, the line or key, and what was expected (exit code 2). Runs in about a "
            "second: use it before `bayescap forecast`. Defaults to the example in data/."
        ),
    )
    add_input_options(p)
    add_history_days_option(p)
    p.set_defaults(func=run)


def _date(value) -> str:
    return f"{value:%Y-%m-%d}"


def summary_lines(inputs) -> list[str]:
    """Human-readable lines describing validated inputs (one block per file).

    Parameters
    ----------
    inputs : :class:`bayescap.inputs.bundle.Inputs`
    """
    from bayescap.inputs.calendar import forecast_start

    t = inputs.traffic
    lines = [
        f"traffic   {t.attrs['path']}: {len(t)} days, {_date(t['date'].iloc[0])} .. {_date(t['date'].iloc[-1])}, "
        f"count {t['count'].min():,.0f} .. {t['count'].max():,.0f}",
    ]
    for etype in t.attrs["event_types"]:
        lines.append(f"          event type '{etype}': {int(t['event_' + etype].sum())} days")
    lines.append(f"          competitor events: {int(t['competitor_event'].sum())} days")
    if inputs.intraday is not None:
        i = inputs.intraday
        step = (i["timestamp"].diff().median()).total_seconds() / 60
        lines.append(
            f"intraday  {i.attrs['path']}: {len(i)} rows every {step:g} min, "
            f"{i['timestamp'].iloc[0]} .. {i['timestamp'].iloc[-1]}"
        )
    else:
        lines.append("intraday  none (the peak factor comes from its prior)")
    lt = inputs.loadtest
    lines.append(f"loadtest  {lt.attrs['path']}: {len(lt)} rows")
    for (tier, config, level), g in lt.groupby(["tier", "config", "level"], sort=True):
        lines.append(
            f"          {tier:<10} {config:<16} {level:<7} n {g['n'].min():g}..{g['n'].max():g}, "
            f"{len(g)} rows, max {g['throughput'].max():,.0f} req/s"
        )
    p = inputs.prices
    lines.append(f"prices    {p.attrs['path']}: {len(p)} instance types")
    for sc in inputs.scenarios:
        start = forecast_start(sc, t)
        tiers = ", ".join(
            f"{ti.name} {ti.share:g} on {ti.instance_type}"
            + (f" (cost x{ti.cost_multiplier:g})" if ti.cost_multiplier != 1 else "")
            for ti in sc.tiers
        )
        events = ", ".join(sorted({e.type for e in sc.events})) or "none"
        lines.append(
            f"scenario  {sc.name}: {start} + {sc.horizon_days} days; tiers {tiers}; events {events}; "
            f"fleet {sc.fleet.policy} at u={sc.fleet.target_utilisation:g}"
        )
    sw = inputs.sweep
    if sw is not None:
        floor = "" if sw.min_runway_months is None else f"; runway floor {sw.min_runway_months:g} months"
        types = ", ".join(sw.event_types) or "all its event types"
        lines.append(f"sweep     {sw.scenario}: {types} at intensities "
                     f"{', '.join(f'{k:g}' for k in sw.intensities)}{floor}")
    for note in inputs.notes:
        lines.append(f"note      {note}")
    return lines


def run(args: argparse.Namespace) -> int:
    """Read every input (raising InputError on the first problem) and print the summary."""
    from bayescap.inputs.bundle import read_inputs, unfitted_event_notes

    inputs = read_inputs(
        scenario=Path(args.scenario),
        traffic=Path(args.traffic),
        loadtest=Path(args.loadtest),
        prices=Path(args.prices),
        intraday=resolve_intraday(args),
    )
    notes = unfitted_event_notes(inputs.traffic, inputs.scenarios, args.history_days or None)
    for line in summary_lines(inputs._replace(notes=[*inputs.notes, *notes])):
        print(line)
    print(f"ok: {len(inputs.scenarios)} scenario(s) ready for `bayescap forecast`")
    return 0
