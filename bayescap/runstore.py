"""Run directories: written under a temporary name and renamed only when complete.

A run directory never overwrites an earlier one: names carry a timestamp and,
when two runs start in the same second, a counter. Nothing here imports PyMC.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import xarray as xr

from bayescap.errors import OutputError

_SAFE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PARTIAL_PREFIX = ".partial-"


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _check_name(name: str) -> str:
    if not _SAFE_NAME.match(name):
        raise OutputError(
            f"scenario name {name!r} cannot be used in a report directory name: "
            "use 1-64 letters, digits, '-' or '_'"
        )
    return name


def new_run_name(scenario_name: str, *, now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now()
    return f"{_check_name(scenario_name)}-{now:%Y%m%d-%H%M%S}"


def _explain_oserror(exc: OSError, where: Path) -> OutputError:
    if exc.errno == errno.ENOSPC:
        return OutputError(f"{where}: the disk is full; free some space or pass --out to another folder")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return OutputError(f"{where}: cannot write here ({exc.strerror}); pass --out to a writable folder")
    return OutputError(f"{where}: could not write ({exc.strerror or exc})")


@contextlib.contextmanager
def staged_run_dir(reports_dir: str | Path, scenario_name: str) -> Iterator[tuple[Path, list[Path]]]:
    """Yield ``(tmp_dir, [final_dir])``; on success the temp dir is renamed to its final, unique name.

    The final name is chosen up front (``final_dir`` is known inside the block, so the report can
    name its run) and is ``<scenario>-<YYYYMMDD-HHMMSS>`` with ``-1``, ``-2``... when taken; it never
    replaces an existing run. On any exception (including KeyboardInterrupt) the partial directory
    is removed, so no half-written run ever looks complete.
    """
    reports = Path(reports_dir)
    try:
        reports.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=PARTIAL_PREFIX + _check_name(scenario_name) + "-", dir=reports))
    except OSError as exc:
        raise _explain_oserror(exc, reports) from None
    base = new_run_name(scenario_name)
    taken = {p.name for p in reports.iterdir()}
    final = next(reports / n for n in (base, *(f"{base}-{i}" for i in range(1, 1000))) if n not in taken)
    planned = [final]
    try:
        yield tmp, planned
        for i in range(1000):
            target = final if i == 0 else reports / f"{final.name}-{i}"
            if target.exists():
                continue
            try:
                os.rename(tmp, target)  # onto a non-existent name: never replaces an existing run
            except OSError as exc:
                if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
                    continue
                raise _explain_oserror(exc, target) from None
            planned[0] = target
            break
        else:  # pragma: no cover - 1000 runs in one second
            raise OutputError(f"{reports}: could not find a free run directory name for {base}")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _json_default(obj):
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return None if not np.isfinite(obj) else float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (dt.date, dt.datetime)):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _clean_floats(obj):
    """NaN/inf are not JSON: write them as null."""
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean_floats(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean_floats(v) for v in obj]
    return obj


def write_json(path: str | Path, data) -> None:
    """Atomic JSON write (temp file + os.replace), stable key order for reproducibility."""
    path = Path(path)
    text = json.dumps(_clean_floats(data), indent=2, sort_keys=True, default=_json_default, allow_nan=False)
    atomic_write_bytes(path, (text + "\n").encode("utf-8"))


def atomic_write_bytes(path: str | Path, payload: bytes) -> None:
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise _explain_oserror(exc, path) from None


JSON_ATTRS = "_bayescap_json_attrs"  # which attrs of a node write_datatree stored as JSON text


def _netcdf_safe(tree: xr.DataTree) -> xr.DataTree:
    """Copy of ``tree`` whose attrs and object variables netCDF can store (dict attrs -> JSON text).

    The names of the attrs turned into JSON are recorded in the node's ``_bayescap_json_attrs``, so
    that :func:`read_datatree` restores exactly those (an attr that was JSON text already stays text).
    """
    tree = tree.copy()
    for node in tree.subtree:
        attrs, encoded = {}, []
        for k, v in node.attrs.items():
            if isinstance(v, (dict, list, tuple)) or v is None or isinstance(v, bool):
                attrs[k] = json.dumps(_clean_floats(v), default=_json_default)
                encoded.append(k)
            else:
                attrs[k] = v
        if encoded:
            attrs[JSON_ATTRS] = json.dumps(encoded)
        node.attrs = attrs
        ds = node.to_dataset(inherit=False)
        changed = False
        for name, var in list(ds.variables.items()):
            if var.dtype == object:
                ds[name] = var.astype(str)
                changed = True
        if changed:
            node.dataset = ds
    return tree


def write_datatree(path: str | Path, tree: xr.DataTree) -> None:
    path = Path(path)
    tmp = path.with_name(".tmp-" + path.name)
    try:
        _netcdf_safe(tree).to_netcdf(tmp, engine="h5netcdf")
        os.replace(tmp, path)
    except OSError as exc:
        raise _explain_oserror(exc, path) from None


def read_datatree(path: str | Path) -> xr.DataTree:
    """A DataTree written by :func:`write_datatree`, loaded into memory with its attrs as they were.

    Attrs that ``write_datatree`` stored as JSON text (dicts, lists, None, booleans) come back as
    Python objects; every other attr and every variable is netCDF's own round trip.
    """
    path = Path(path)
    try:
        tree = xr.open_datatree(path, engine="h5netcdf").load()
    except (OSError, ValueError) as exc:
        raise OutputError(f"{path}: cannot be read as a bayescap netCDF file ({exc})") from None
    for node in tree.subtree:
        attrs = dict(node.attrs)
        encoded = json.loads(attrs.pop(JSON_ATTRS, "[]"))
        for key in encoded:
            attrs[key] = json.loads(attrs[key])
        node.attrs = attrs
    return tree


def load_run(run_dir: str | Path) -> xr.DataTree:
    """Load a saved run as one DataTree with children ``capacity``, ``traffic`` and ``simulation``.

    >>> import bayescap
    >>> tree = bayescap.load_run("reports/baseline-20261126-101500")   # doctest: +SKIP
    >>> tree["capacity/posterior"]["sigma"]                               # doctest: +SKIP
    """
    run = Path(run_dir)
    post = run / "posteriors.nc"
    sim = run / "simulation.nc"
    for f in (post, sim):
        if not f.exists():
            raise OutputError(f"{run}: not a complete bayescap run directory ({f.name} is missing)")
    tree = read_datatree(post)  # attrs as the fit wrote them (dicts and booleans, not their JSON text)
    children = {name: tree[name].copy() for name in tree.children}
    with xr.open_dataset(sim, engine="h5netcdf") as ds:
        children["simulation"] = xr.DataTree(ds.load())
    manifest = run / "manifest.json"
    attrs = json.loads(manifest.read_text()) if manifest.exists() else {}
    out = xr.DataTree.from_dict({f"/{k}": v for k, v in children.items()})
    out.attrs = {"run_dir": str(run), "manifest": json.dumps(attrs)}
    return out
