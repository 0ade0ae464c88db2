"""`bayescap compare A B ...`: rank model variants by PSIS-LOO (ArviZ 1.x ``compare``).

Typical use: fit the traffic model with and without the event-day noise regime (two forecast
runs with different traffic options), then ``bayescap compare runA runB --group traffic``.
The ranking needs each model's pointwise ``log_likelihood`` group and the same observations.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "compare",
        help="rank model variants by leave-one-out cross-validation (LOO)",
        description=(
            "Rank saved model variants by their expected log predictive density estimated with PSIS-LOO "
            "(arviz-stats compare). Each argument is a run directory (its posteriors.nc is read) or a "
            "posteriors .nc file; --group picks the model inside it (traffic or capacity). Every variant "
            "must have a log_likelihood group over the same observations. Highest elpd first; elpd_diff "
            "and dse say how far behind each variant is, and whether the gap is larger than its noise."
        ),
    )
    p.add_argument(
        "paths",
        type=Path,
        nargs="+",
        metavar="RUN_DIR_OR_NC",
        help="two or more run directories or posteriors .nc files",
    )
    p.add_argument("--group", default="traffic", help="model to compare: traffic (default) or capacity")
    p.add_argument(
        "--names",
        default=None,
        help="comma-separated names for the variants (default: the run directory or file names)",
    )
    p.set_defaults(func=run)


def load_variant(path: Path, group: str):
    """The ``group`` model (a DataTree with log_likelihood) of a run directory or a posteriors file."""
    import xarray as xr

    from bayescap.errors import InputError

    path = Path(path)
    nc = path / "posteriors.nc" if path.is_dir() else path
    if not nc.exists():
        raise InputError(nc, None, "a posteriors .nc file (or a run directory containing posteriors.nc)")
    try:
        tree = xr.open_datatree(nc, engine="h5netcdf").load()
    except (OSError, ValueError) as exc:
        raise InputError(nc, None, f"a netCDF DataTree written by bayescap ({exc})") from None
    if group in tree.children:
        node = tree[group]
    elif "posterior" in tree.children:
        node = tree  # a single-model file
    else:
        raise InputError(nc, f"group /{group}", f"a model group; found {sorted(tree.children)}")
    if "log_likelihood" not in node.children:
        raise InputError(
            nc,
            f"group /{group}/log_likelihood",
            "pointwise log-likelihood draws (fit the model with log-likelihood saved)",
        )
    return node.copy()


def compare_variants(variants: dict):
    """``arviz_stats.compare`` on ``{name: DataTree}``; returns ``(DataFrame best first, warnings)``.

    ArviZ's warnings (e.g. Pareto k above its threshold: PSIS-LOO may be unreliable for some
    observations) are returned as plain sentences, for the command to print after the table.
    """
    import warnings

    import arviz_stats as azs

    from bayescap.errors import ModelError

    if len(variants) < 2:
        raise ModelError("compare needs at least two model variants")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            table = azs.compare(variants)
        except (ValueError, TypeError, KeyError) as exc:
            raise ModelError(f"the variants cannot be compared by LOO: {exc}") from None
    notes = list(dict.fromkeys(str(w.message).split(". ")[0] for w in caught if issubclass(w.category, UserWarning)))
    return table, notes


def run(args: argparse.Namespace) -> int:
    from bayescap.errors import InputError

    names = [n.strip() for n in args.names.split(",")] if args.names else []
    if names and len(names) != len(args.paths):
        raise InputError(None, "--names", f"{len(args.paths)} names, got {len(names)}")
    variants = {}
    for i, path in enumerate(args.paths):
        p = Path(path)
        default = p.name if p.is_dir() else (p.parent.name if p.stem == "posteriors" else p.stem)
        name = names[i] if names else default
        while name in variants:
            name = f"{name}#{i + 1}"
        variants[name] = load_variant(path, args.group)
    table, notes = compare_variants(variants)
    print(f"LOO comparison of the {args.group} model ({len(variants)} variants; best first):")
    print(table.to_string())
    for note in notes:
        print(f"warning: {note} (see the diag_elpd column; PSIS-LOO may be unreliable for those observations)")
    return 0
