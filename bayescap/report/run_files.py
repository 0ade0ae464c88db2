"""Read a saved run directory for the report (files only: never a model, never PyMC).

Why tolerant here and strict elsewhere: ``summary.json`` is required (it holds every number
the PDF states), while the posteriors and the simulation only feed the charts. A run whose
``simulation.nc`` lacks a variable still gets a report, whose page says what is missing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xarray as xr

from bayescap.errors import InputError, OutputError

SUMMARY_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class RunFiles:
    """Everything the report reads from one run directory."""

    run_dir: Path
    summary: dict
    manifest: dict | None
    posteriors: xr.DataTree | None
    simulation: xr.Dataset | None
    missing: tuple[str, ...] = field(default_factory=tuple)

    @property
    def final_dir(self) -> Path:
        """Where the run lives once complete: ``bayescap forecast`` builds the report inside a staging directory that
        it then renames to the manifest's ``run_name``, so the report must name that one."""
        name = (self.manifest or {}).get("run_name")
        return self.run_dir.parent / name if name else self.run_dir

    def group(self, model: str, group: str) -> xr.Dataset | None:
        """``posteriors.nc``'s ``/<model>/<group>`` as a Dataset, or None when absent."""
        if self.posteriors is None or model not in self.posteriors.children:
            return None
        node = self.posteriors[model]
        if group not in node.children:
            return None
        return node[group].to_dataset()

    def model_attrs(self, model: str) -> dict:
        if self.posteriors is None or model not in self.posteriors.children:
            return {}
        return dict(self.posteriors[model].attrs)

    def model_options(self, model: str) -> dict:
        """Every option a model was fitted with (its ``options`` attribute: defaults and the scenario file's choices
        together), or {} where the run saved none."""
        options = self.model_attrs(model).get("options")
        if isinstance(options, str):
            try:
                options = json.loads(options)
            except json.JSONDecodeError:
                return {}
        return options if isinstance(options, dict) else {}


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(path, f"line {exc.lineno}", f"valid JSON ({exc.msg})") from None


def read_summary(run_dir: str | Path) -> dict:
    """A run directory's ``summary.json``, checked: the directory exists, the file is JSON of a known schema.

    Raises
    ------
    OutputError
        ``run_dir`` is not a directory or has no ``summary.json``.
    InputError
        ``summary.json`` is not JSON, or has a schema version this version does not know.
    """
    run = Path(run_dir)
    if not run.is_dir():
        raise OutputError(f"{run}: not a run directory (expected a folder written by 'bayescap forecast')")
    summary_path = run / "summary.json"
    if not summary_path.exists():
        raise OutputError(f"{run}: no summary.json; the report needs a completed run directory")
    summary = _read_json(summary_path)
    if not isinstance(summary, dict) or summary.get("schema_version") != SUMMARY_SCHEMA_VERSION:
        got = summary.get("schema_version") if isinstance(summary, dict) else type(summary).__name__
        raise InputError(summary_path, "key schema_version", f"{SUMMARY_SCHEMA_VERSION}, got {got!r}")
    return summary


def read_run(run_dir: str | Path) -> RunFiles:
    """Load ``summary.json`` (required, checked by :func:`read_summary`, whose errors it raises), ``manifest.json``,
    ``posteriors.nc`` and ``simulation.nc``."""
    run = Path(run_dir)
    summary = read_summary(run)
    missing: list[str] = []
    manifest = None
    if (run / "manifest.json").exists():
        manifest = _read_json(run / "manifest.json")
    else:
        missing.append("manifest.json")
    posteriors = None
    if (run / "posteriors.nc").exists():
        posteriors = xr.open_datatree(run / "posteriors.nc", engine="h5netcdf").load()
        posteriors = _decode_json_attrs(posteriors)
    else:
        missing.append("posteriors.nc")
    simulation = None
    if (run / "simulation.nc").exists():
        with xr.open_dataset(run / "simulation.nc", engine="h5netcdf") as ds:
            simulation = ds.load()
    else:
        missing.append("simulation.nc")
    return RunFiles(run, summary, manifest, posteriors, simulation, tuple(missing))


def _decode_json_attrs(tree: xr.DataTree) -> xr.DataTree:
    """netCDF stores dict attrs (priors, config) as JSON text; turn them back into dicts."""
    tree = tree.copy()
    for node in tree.subtree:
        attrs = {}
        for k, v in node.attrs.items():
            if isinstance(v, str) and v[:1] in "{[":
                try:
                    attrs[k] = json.loads(v)
                    continue
                except json.JSONDecodeError:
                    pass
            attrs[k] = v
        node.attrs = attrs
    return tree
