"""The project's own error types. Each message names the file, the place and what was expected."""

from __future__ import annotations

from pathlib import Path


class BayescapError(Exception):
    """Base class for every error bayescap reports to the user (CLI exit code 2, no traceback)."""


class InputError(BayescapError):
    """A bad input file.

    Parameters
    ----------
    path : file the problem is in (or None for in-memory data)
    where : the row, column or key, e.g. ``"row 14, column 'count'"`` or ``"key tiers[1].share"``
    expected : what was expected, in plain words (``"a positive number, got '-3'"``)
    """

    def __init__(self, path: str | Path | None, where: str | None, expected: str):
        self.path = None if path is None else str(path)
        self.where = where
        self.expected = expected
        # a command-line option names itself ("--methods: ..."); other in-memory data is "<input>"
        parts = [self.path] if self.path else ([] if where and where.startswith("--") else ["<input>"])
        if where:
            parts.append(where)
        super().__init__(": ".join(parts) + ": " + expected)


class ModelError(BayescapError):
    """A model could not be built or fitted with the given data/options."""


class OutputError(BayescapError):
    """A report or run directory could not be written (unwritable, disk full, ...)."""


class BayescapWarning(RuntimeWarning):
    """Something the user should know that does not stop the run (e.g. no C compiler: the slower PyMC graph is
    sampled). The command line prints it as one ``warning:`` line."""
