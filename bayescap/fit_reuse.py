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
key matches a finished run's in the same output folder loads that run's ``posteriors.nc`` instead
of sampling again (``--refit`` samples anyway). Same key, same seed: the same posterior draws a
refit would give, so every number downstream is the same (tests/test_forecast_e2e.py).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

from bayescap import __version__

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


def find_run_with_key(out_dir: str | Path, key: str) -> Path | None:
    """The newest finished run directory under ``out_dir`` whose manifest records ``key`` (or None).

    Partial (staging) directories, unreadable manifests and runs without ``posteriors.nc`` are skipped.
    """
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return None
    found: list[tuple[str, Path]] = []
    for run in out_dir.iterdir():
        if run.name.startswith(".") or not run.is_dir():
            continue
        try:
            manifest = json.loads((run / "manifest.json").read_text())
        except (OSError, ValueError):
            continue
        if isinstance(manifest, dict) and manifest.get("fit_key") == key and (run / "posteriors.nc").is_file():
            found.append((str(manifest.get("created", "")), run))
    return max(found)[1] if found else None
