"""Reuse the posteriors of an earlier run when nothing the fits depend on has changed.

An analyst changes scenarios far more often than data: a more aggressive sale, another instance
type, an autoscaled fleet. None of that changes the posteriors, which depend only on

* the data as read (the load-test rows, the traffic history's last ``history_days`` days with its
  event columns, the intraday counts),
* the fit's settings (priors and the competitor option of the scenario file's base scenario, the
  seed, draws, tuning steps and chains of each model),
* the code that fits them (bayescap's version, the source of ``bayescap/models`` and the versions
  of the sampling libraries).

``fit_key`` hashes exactly these. Each run records its key in ``manifest.json``; a new run whose
key matches a finished run's in the same output folder (or in a ``--reuse-from`` folder: a run
directory, or a folder of runs) loads that run's ``posteriors.nc`` instead of sampling again
(``--refit`` samples anyway). Same key, same seed: the same posterior draws a
refit would give, so every number downstream is the same (tests/test_forecast_e2e.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from bayescap import __version__
from bayescap.errors import InputError

KEY_SCHEMA = 1
MODELS_DIR = Path(__file__).parent / "models"


def _frame_bytes(frame: pd.DataFrame | None) -> bytes:
    if frame is None:
        return b"<none>"
    attrs = {k: v for k, v in frame.attrs.items() if k in ("event_types",)}
    return json.dumps(attrs, sort_keys=True, default=str).encode() + frame.to_csv(index=False).encode()


def models_source_digest() -> str:
    """SHA-256 over the source files of ``bayescap/models``, the C densities included (a code change invalidates
    every key)."""
    digest = hashlib.sha256()
    for path in sorted(p for pattern in ("*.py", "*.c", "*.h") for p in MODELS_DIR.glob(pattern)):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def fit_key(
    *,
    loadtest: pd.DataFrame,
    history: pd.DataFrame,
    intraday: pd.DataFrame | None,
    settings: dict,
    versions: dict[str, str],
) -> str:
    """Hex digest of everything the two fits depend on (see the module docstring).

    ``settings`` holds the priors, options, seed and sampler settings as plain JSON values.
    """
    digest = hashlib.sha256()
    header = {"schema": KEY_SCHEMA, "bayescap": __version__, "models": models_source_digest(),
              "versions": versions, "settings": settings}
    digest.update(json.dumps(header, sort_keys=True, default=str).encode())
    for frame in (loadtest, history, intraday):
        digest.update(b"\0\0" + _frame_bytes(frame))
    return digest.hexdigest()


def backtest_key(fit_key: str, history: pd.DataFrame) -> str:
    """Hex digest of what a forecast's backtest depends on beyond the fits' key: the whole traffic history (its
    training windows reach before the fitted days) and the backtest's own code."""
    digest = hashlib.sha256(fit_key.encode())
    for path in sorted((Path(__file__).parent / "backtest").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    digest.update(b"\0\0" + _frame_bytes(history))
    return digest.hexdigest()


def _manifest(run: Path) -> dict | None:
    try:
        manifest = json.loads((run / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def is_run_dir(path: Path) -> bool:
    """A run directory (it has a ``manifest.json``), as opposed to a folder of runs."""
    return (Path(path) / "manifest.json").is_file()


def _runs_in(folder: Path) -> list[Path]:
    """``folder`` itself when it is a run directory, else the run directories inside it (a folder of runs)."""
    if is_run_dir(folder):
        return [folder]
    if not folder.is_dir():
        return []
    return [run for run in folder.iterdir() if run.is_dir() and not run.name.startswith(".")]


def find_run_with_key(folders: str | Path | Sequence[str | Path], key: str) -> Path | None:
    """The newest finished run whose manifest records ``key`` (or None), in the first of ``folders`` that has one.

    Each folder is a folder of runs (``--out``) or a run directory itself (``--reuse-from``). Partial (staging)
    directories, unreadable manifests and runs without ``posteriors.nc`` are skipped.
    """
    if isinstance(folders, (str, Path)):
        folders = [folders]
    for folder in folders:
        found: list[tuple[str, Path]] = []
        for run in _runs_in(Path(folder)):
            manifest = _manifest(run)
            if manifest is not None and manifest.get("fit_key") == key and (run / "posteriors.nc").is_file():
                found.append((str(manifest.get("created", "")), run))
        if found:
            return max(found)[1]
    return None


FILE_WORDS = {"loadtest": "load-test file", "traffic": "traffic history file", "intraday": "intraday file"}


def why_not_reused(run: Path, now: dict) -> str:
    """Why the run directory ``run`` does not hold this run's posteriors, in words (for a ``--reuse-from`` naming it).

    ``now`` holds this run's ``seed``, ``draws``, ``tune``, ``chains``, ``history_days``, ``inputs`` (``{name:
    sha256}`` of the fitted files present: ``loadtest``, ``traffic``, ``intraday``) and ``bayescap`` version,
    compared with what ``run``'s manifest records. When none of them differ, the fit key still may: the priors, the
    traffic-model options of the scenario file, the model code or the sampling libraries.
    """
    manifest = _manifest(run)
    if manifest is None:
        return "its manifest.json cannot be read"
    if not (run / "posteriors.nc").is_file():
        return "it has no posteriors.nc"
    was_opts = manifest.get("options") or {}
    was_inputs = manifest.get("inputs") or {}
    differs = [f"the {words}" for name, words in FILE_WORDS.items()
               if (was_inputs.get(name) or {}).get("sha256") != now["inputs"].get(name)]
    if manifest.get("seed") != now["seed"]:
        differs.append(f"the seed ({manifest.get('seed')} there, {now['seed']} here)")
    for name in ("draws", "tune", "chains", "history_days"):
        if was_opts.get(name) != now[name]:
            differs.append(f"--{name.replace('_', '-')} ({was_opts.get(name)} there, {now[name]} here)")
    if (manifest.get("versions") or {}).get("bayescap") != now["bayescap"]:
        differs.append("the bayescap version")
    if not differs:
        return ("it was fitted with other priors, traffic-model options, model code or sampling libraries "
                "(its fit key differs)")
    return "it differs in " + "; ".join(differs)


def check_reuse_folders(folders: Sequence[Path]) -> None:
    """Refuse a ``--reuse-from`` that is not an existing folder, before any work is done."""
    for folder in folders:
        if not Path(folder).is_dir():
            raise InputError(folder, "--reuse-from", "an existing run directory (reports/<run>) or a folder of runs")
