"""File helpers shared by the ingest readers: path expansion, gzip-aware opening, atomic writes.

Why atomic writes: an ingest step is often re-run on a schedule; a crash or a full
disk half-way through must leave the analyst's previous CSV intact, never a
truncated one that a later forecast would read as real data.
"""

from __future__ import annotations

import contextlib
import io
import glob
import gzip
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO

import pandas as pd

from bayescap.errors import InputError, OutputError

_GZIP_MAGIC = b"\x1f\x8b"


def expand_paths(patterns: Iterable[str | Path]) -> list[Path]:
    """Expand shell-style globs (``access.log*``) that the shell did not expand.

    A pattern that matches nothing is an error: a silent empty match would
    produce a traffic file without the days the user meant to include.
    """
    out: list[Path] = []
    seen: set[Path] = set()
    for pattern in patterns:
        text = str(pattern)
        if any(ch in text for ch in "*?["):
            matches = sorted(Path(p) for p in glob.glob(text))
            if not matches:
                raise InputError(text, None, "no file matches this pattern")
        else:
            matches = [Path(text)]
        for path in matches:
            if not path.is_file():
                raise InputError(path, None, "file not found (or not a regular file)")
            key = path.resolve()
            if key not in seen:
                seen.add(key)
                out.append(path)
    if not out:
        raise InputError(None, None, "no input files given")
    return out


def open_binary(path: Path) -> IO[bytes]:
    """Open a plain or gzip-compressed file for binary reading (detected by its magic bytes, not its name)."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == _GZIP_MAGIC:
        return gzip.open(path, "rb")
    return open(path, "rb")


def read_text(path: Path) -> str:
    """Whole text of a (possibly gzipped) small file, UTF-8 with a BOM dropped; errors name the file."""
    try:
        with open_binary(path) as fh:
            raw = fh.read()
    except OSError as exc:
        raise InputError(path, None, f"cannot be read ({exc.strerror or exc})") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(path, f"byte {exc.start}", "the file must be UTF-8 text") from exc


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` via a temporary file in the same directory and an atomic rename."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=directory)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write here ({exc.strerror or exc})") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise OutputError(f"{path}: could not be written ({exc.strerror or exc}); the previous file is unchanged") from exc
    return path


def atomic_write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a DataFrame as CSV (no index, ``\\n`` line ends) atomically."""
    return atomic_write_text(path, df.to_csv(index=False, lineterminator="\n"))


def refuse_overwrite(path: str | Path, force: bool, what: str = "file") -> None:
    """Raise unless ``path`` is absent or ``force`` is set: a user's file is never replaced silently."""
    path = Path(path)
    if path.exists() and not force:
        raise OutputError(f"{path}: {what} exists; pass --force to replace it (the old file is kept otherwise)")


def read_csv_text(path: Path, text: str, usecols: Sequence[str] | None = None) -> pd.DataFrame:
    """A CSV's text as strings (nothing guessed), headers stripped; ``usecols`` must be present. Errors name the file."""
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(path, None, f"a CSV file ({exc})") from exc
    df.columns = [c.strip() for c in df.columns]
    if usecols:
        missing = [c for c in usecols if c not in df.columns]
        if missing:
            raise InputError(path, "header", f"columns {missing} (found {list(df.columns)})")
    return df
