"""Strict CSV reading shared by every input reader.

Why not ``pd.read_csv`` directly: pandas guesses. It silently turns "1,234" into
a string column, "1.234" into 1.234, blank cells into NaN and a second date
format into whatever ``dateutil`` thinks it means. An analyst feeding exports
from other tools at night must instead get one message that names the file, the
line as the editor shows it (header = line 1) and what was expected.

So the file is decoded and split here with the standard library, every cell is
kept as text, and the typed parsing functions below convert one column at a
time with explicit rules:

* the file must be UTF-8 (the byte offset of the first bad byte is reported);
  a UTF-8 byte-order mark is dropped; Windows (CRLF) and old Mac line endings are
  accepted;
* header names are compared case-insensitively, surrounding spaces ignored;
* numbers are plain decimals (``1234``, ``1234.5``, ``1.2e3``): thousands
  separators (``1,234``, ``1.234,5``, ``1 234``) and decimal commas are rejected
  because they cannot be told apart from each other safely;
* dates are ISO 8601 (``YYYY-MM-DD``) only: ``03/04/2025`` is ambiguous, and a
  file that mixes formats is reported as such;
* time-zone offsets are rejected: a daily count is a count per local day.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from bayescap.errors import InputError

LINE = "line"  # name of the index: the line number in the file as an editor shows it

_BOM = "\ufeff"
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:([,. '\u00a0\u202f])\d{3})+(?:[.,]\d+)?")
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")
_NAN_WORDS = {"nan", "na", "n/a", "null", "none", "-", "#n/a", "nat", "missing", "?"}
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_ISO_DATETIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?")
_TZ_SUFFIX = re.compile(r"(?:Z|z|UTC|GMT|[+-]\d{2}:?\d{2}|[+-]\d{2})$")
_OTHER_DATE_FORMATS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\d{1,2}/\d{1,2}/\d{2,4}(?:[T ].*)?"), "DD/MM/YYYY or MM/DD/YYYY"),
    (re.compile(r"\d{1,2}\.\d{1,2}\.\d{2,4}(?:[T ].*)?"), "DD.MM.YYYY"),
    (re.compile(r"\d{1,2}-\d{1,2}-\d{2,4}(?:[T ].*)?"), "DD-MM-YYYY"),
    (re.compile(r"\d{4}/\d{1,2}/\d{1,2}(?:[T ].*)?"), "YYYY/MM/DD"),
    (re.compile(r"\d{8}"), "YYYYMMDD"),
    (re.compile(r"\d{4}-\d{1,2}-\d{1,2}(?:[T ].*)?"), "YYYY-M-D without leading zeros"),
    (re.compile(r"[A-Za-z]{3,9},? \d{1,2},? \d{4}.*|\d{1,2} [A-Za-z]{3,9},? \d{4}.*"), "a written-out month"),
)


def cell_repr(value: str) -> str:
    """A cell as it should appear in a message: quoted, shortened, blank made visible."""
    if value == "":
        return "a blank cell"
    text = value if len(value) <= 40 else value[:37] + "..."
    return repr(text)


def duration(td: pd.Timedelta) -> str:
    """A time span in words for messages: ``2 hours``, ``1 day``, ``5 minutes``."""
    seconds = int(pd.Timedelta(td).total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} seconds"


def where(line: int, column: str | None = None) -> str:
    """The ``where`` part of an InputError for a cell: ``line 14, column 'count'``."""
    return f"line {line}" if column is None else f"line {line}, column '{column}'"


def closest(name: str, candidates: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The candidate most similar to ``name`` (difflib), or None when nothing is close."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=cutoff)
    return matches[0] if matches else None


def did_you_mean(name: str, candidates: Iterable[str], cutoff: float = 0.6, *, otherwise: str = "") -> str:
    """An error message's hint: `` (did you mean 'x'?)`` for the closest candidate, else ``otherwise``."""
    guess = closest(name, candidates, cutoff)
    return f" (did you mean '{guess}'?)" if guess else otherwise


def read_text(path: str | Path, kind: str) -> str:
    """Read a whole file as UTF-8 text, without a byte-order mark.

    Parameters
    ----------
    path : the file
    kind : what the file should be, for messages ("traffic CSV", "scenario TOML")

    Raises
    ------
    InputError
        when the file is missing, a directory, unreadable, or not UTF-8 (the byte
        offset of the first undecodable byte is named so it can be found with a
        hex editor: exports from spreadsheet programs are often Latin-1/CP-1252).
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise InputError(path, None, f"file not found (expected a {kind})") from None
    except IsADirectoryError:
        raise InputError(path, None, f"is a directory (expected a {kind} file)") from None
    except PermissionError:
        raise InputError(path, None, f"permission denied while reading the {kind}") from None
    except OSError as exc:
        raise InputError(path, None, f"could not read the {kind}: {exc.strerror or exc}") from None
    if raw.startswith(b"\xff\xfe") or raw.startswith(b"\xfe\xff"):
        raise InputError(path, "byte 0", f"a UTF-8 {kind}, got a UTF-16 file (save it as UTF-8)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        bad = raw[exc.start : exc.start + 1].hex()
        raise InputError(
            path,
            f"byte {exc.start} (line {line})",
            f"a UTF-8 {kind}, got the byte 0x{bad} which is not UTF-8 "
            "(re-save the file as UTF-8, e.g. from a spreadsheet 'CSV UTF-8')",
        ) from None
    if text.startswith(_BOM):
        text = text[1:]
    if "\x00" in text:
        offset = text.index("\x00")
        raise InputError(path, f"character {offset}", f"a text {kind}, got a NUL byte (is this a binary file?)")
    return text


def read_table(
    path: str | Path,
    kind: str,
    *,
    aliases: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Read a CSV into a DataFrame of stripped strings indexed by file line number.

    Parameters
    ----------
    path : the CSV file
    kind : what the file is, for messages ("traffic CSV")
    aliases : header names to rename (lower-case), e.g. ``{"ds": "date"}``; an alias
        is only applied when the canonical name is absent.

    Returns
    -------
    DataFrame of ``str`` cells (never NaN; blank cells are ``""``), columns named by
    the lower-cased header, index named ``line`` holding each row's line number in
    the file (header = line 1). ``attrs["path"]`` is the path as given.

    Raises
    ------
    InputError
        empty file, a header without rows, blank or duplicate header names, a
        row with more or fewer cells than the header, unbalanced quotes.
    """
    text = read_text(path, kind)
    if not text.strip():
        raise InputError(path, None, f"a {kind} with a header line and data rows, got an empty file")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[list[str]] = []
    lines: list[int] = []
    header: list[str] | None = None
    header_line = 0
    try:
        start = 1
        for fields in reader:
            end = reader.line_num
            first_line = start
            start = end + 1
            if not fields or all(f.strip() == "" for f in fields):
                continue  # blank line (or a line of only commas): not data
            if header is None:
                header = [f.strip().lower() for f in fields]
                header_line = first_line
                continue
            rows.append([f.strip() for f in fields])
            lines.append(first_line)
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise InputError(
                path, f"line {start}", "well-formed CSV: a quote (\") opened on this line is never closed"
            ) from None
        raise InputError(path, f"line {reader.line_num}", f"well-formed CSV: {exc}") from None
    assert header is not None  # the file is not blank, so one row was read
    for i, name in enumerate(header):
        if name == "":
            raise InputError(path, f"line {header_line}, column {i + 1}", "a column name, got a blank header cell")
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        if name in seen:
            raise InputError(
                path,
                f"line {header_line}",
                f"unique column names, got '{name}' twice (columns {seen[name] + 1} and {i + 1})",
            )
        seen[name] = i
    if not rows:
        raise InputError(
            path, None, f"data rows after the header line, got a header only ({', '.join(header)})"
        )
    for fields, line in zip(rows, lines):
        if len(fields) != len(header):
            extra = ""
            if len(fields) > len(header):
                extra = " (an unquoted comma inside a cell, e.g. a thousands separator as in 1,234, splits it in two)"
            raise InputError(
                path,
                f"line {line}",
                f"{len(header)} cells like the header ({', '.join(header)}), got {len(fields)}{extra}",
            )
    df = pd.DataFrame(rows, columns=header, index=pd.Index(lines, name=LINE), dtype=object)
    if aliases:
        rename = {a: c for a, c in aliases.items() if a in df.columns and c not in df.columns}
        both = [(a, c) for a, c in aliases.items() if a in df.columns and c in df.columns]
        if both:
            a, c = both[0]
            raise InputError(
                path, f"line {header_line}", f"either a '{c}' or a '{a}' column, got both (remove one)"
            )
        df = df.rename(columns=rename)
    df.attrs["path"] = str(path)
    df.attrs["header_line"] = header_line
    return df


def require_columns(
    df: pd.DataFrame, required: Sequence[str], kind: str, *, hints: Mapping[str, Callable[[list[str]], str]] | None = None
) -> None:
    """Raise InputError naming the first missing column and the closest present one.

    ``hints`` maps a required name to a function of the present column names that returns a hint for the message
    (used when no present name is close in spelling, e.g. a daily count exported as ``views``), or "".
    """
    path = df.attrs.get("path")
    present = list(df.columns)
    for name in required:
        if name not in df.columns:
            guess = closest(name, present, cutoff=0.5)
            hint = f" (closest: '{guess}'; rename it)" if guess else ""
            if not guess and hints and name in hints:
                hint = hints[name](present)
            raise InputError(
                path,
                f"line {df.attrs.get('header_line', 1)}",
                f"a column '{name}' in the {kind}, got columns {', '.join(present)}{hint}",
            )


def parse_number(value: str) -> float | None:
    """A plain decimal number, or None when ``value`` is not one (no locale guessing)."""
    if _NUMBER.fullmatch(value):
        return float(value)
    return None


def number_problem(value: str) -> str:
    """Why ``value`` is not a plain number, in words for the message."""
    if value == "":
        return "got a blank cell"
    low = value.lower()
    if low in _NAN_WORDS:
        return f"got {cell_repr(value)} (a missing value)"
    if low in {"inf", "-inf", "+inf", "infinity", "-infinity"}:
        return f"got {cell_repr(value)} (infinite)"
    if _THOUSANDS.fullmatch(value):
        return (
            f"got {cell_repr(value)}: remove the thousands separators (write {_plain(value)}; "
            "numbers use a decimal point and no grouping)"
        )
    if _DECIMAL_COMMA.fullmatch(value):
        return f"got {cell_repr(value)}: use a decimal point, not a comma (write {value.replace(',', '.')})"
    if "_" in value and _NUMBER.fullmatch(value.replace("_", "")):
        return f"got {cell_repr(value)}: remove the underscores (write {value.replace('_', '')})"
    if value.endswith("%"):
        return f"got {cell_repr(value)}: write the number without a percent sign"
    return f"got {cell_repr(value)}"


def _plain(value: str) -> str:
    """``1,234.5`` -> ``1234.5``; ``1.234,5`` -> ``1234.5``; ``1 234`` -> ``1234`` (message hint only)."""
    digits = re.sub(r"[ '\u00a0\u202f]", "", value)
    if "," in digits and "." in digits:
        if digits.rfind(",") > digits.rfind("."):  # 1.234,5 (European)
            return digits.replace(".", "").replace(",", ".")
        return digits.replace(",", "")
    if "," in digits:
        return digits.replace(",", "")
    return digits.replace(".", "")


def numeric_column(
    df: pd.DataFrame,
    column: str,
    *,
    what: str = "a number",
    integer: bool = False,
    minimum: float | None = None,
    exclusive_minimum: float | None = None,
) -> pd.Series:
    """Parse a column of plain decimal numbers to float, checking each cell.

    Parameters
    ----------
    df : table from :func:`read_table`
    column : column name
    what : the expected value in words ("a positive count")
    integer : whole numbers only (``3`` or ``3.0``)
    minimum, exclusive_minimum : bounds (``>=`` and ``>``)

    Raises
    ------
    InputError
        naming the line, the column, the expected value and the offending cell.
    """
    path = df.attrs.get("path")
    out = np.empty(len(df), dtype=float)
    for i, (line, value) in enumerate(df[column].items()):
        x = parse_number(value)
        if x is None:
            raise InputError(path, where(line, column), f"{what}, {number_problem(value)}")
        if not np.isfinite(x):
            raise InputError(path, where(line, column), f"{what}, got {cell_repr(value)} (not finite)")
        if integer and x != np.floor(x):
            raise InputError(path, where(line, column), f"{what}, got {cell_repr(value)} (not a whole number)")
        if minimum is not None and x < minimum:
            raise InputError(path, where(line, column), f"{what}, got {cell_repr(value)} (below {minimum:g})")
        if exclusive_minimum is not None and x <= exclusive_minimum:
            raise InputError(
                path, where(line, column), f"{what}, got {cell_repr(value)} (must be above {exclusive_minimum:g})"
            )
        out[i] = x
    return pd.Series(out, index=df.index, name=column)


def flag_column(df: pd.DataFrame, column: str) -> pd.Series:
    """Parse a 0/1 indicator column (``0``, ``1``, ``0.0``, ``1.0``) to int.

    ``true``/``yes``/``2``/blank are rejected: a flag that is not exactly 0 or 1
    usually means the wrong column was exported (e.g. a count of events).
    """
    path = df.attrs.get("path")
    out = np.empty(len(df), dtype=np.int64)
    for i, (line, value) in enumerate(df[column].items()):
        x = parse_number(value)
        if x is None or x not in (0.0, 1.0):
            raise InputError(path, where(line, column), f"an event flag 0 or 1, got {cell_repr(value)}")
        out[i] = int(x)
    return pd.Series(out, index=df.index, name=column)


def text_column(df: pd.DataFrame, column: str, *, what: str) -> pd.Series:
    """A column of non-blank strings (missing-value words rejected)."""
    path = df.attrs.get("path")
    for line, value in df[column].items():
        if value == "" or value.lower() in _NAN_WORDS:
            raise InputError(path, where(line, column), f"{what}, got {cell_repr(value)}")
    return df[column].astype(str)


def _date_format_name(value: str) -> str | None:
    """Which known non-ISO format a cell seems to be in (for messages)."""
    for pattern, name in _OTHER_DATE_FORMATS:
        if pattern.fullmatch(value):
            return name
    return None


def _timestamp_kind(value: str) -> str | None:
    """'date' for YYYY-MM-DD, 'datetime' for YYYY-MM-DD[ T]HH:MM[:SS[.f]], else None."""
    if _ISO_DATE.fullmatch(value):
        return "date"
    if _ISO_DATETIME.fullmatch(value):
        return "datetime"
    return None


def timestamp_column(df: pd.DataFrame, column: str, *, daily: bool) -> pd.Series:
    """Parse an ISO 8601 date or timestamp column to ``datetime64[ns]``.

    Parameters
    ----------
    daily : True for a date per row (``YYYY-MM-DD``, or a midnight timestamp);
        False for timestamps (``YYYY-MM-DD HH:MM[:SS]``, ``T`` separator allowed).

    Raises
    ------
    InputError
        blank cells, a time-zone offset, a non-ISO or ambiguous format (and a
        file mixing formats), impossible dates such as 2025-02-30, a time of day
        in a daily file.
    """
    path = df.attrs.get("path")
    first_line: int | None = None
    first_kind: str | None = None
    values: list[str] = []
    for line, value in df[column].items():
        what = "a date as YYYY-MM-DD" if daily else "a timestamp as YYYY-MM-DD HH:MM:SS"
        if value == "" or value.lower() in _NAN_WORDS:
            raise InputError(path, where(line, column), f"{what}, got {cell_repr(value)}")
        kind = _timestamp_kind(value)
        if kind is None:
            base = _TZ_SUFFIX.sub("", value).rstrip()
            if base != value and _timestamp_kind(base) is not None:
                raise InputError(
                    path,
                    where(line, column),
                    f"{what} without a time-zone offset, got {cell_repr(value)} "
                    "(convert to the site's local time and drop the offset: days and weekdays are local)",
                )
            fmt = _date_format_name(value)
            if fmt is not None and first_kind is not None:
                raise InputError(
                    path,
                    where(line, column),
                    f"{what} like line {first_line}, got {cell_repr(value)} "
                    f"({fmt}): the file mixes date formats",
                )
            if fmt is not None:
                raise InputError(
                    path,
                    where(line, column),
                    f"{what} (ISO 8601), got {cell_repr(value)} ({fmt}, which can be ambiguous): "
                    "convert the column to YYYY-MM-DD",
                )
            raise InputError(path, where(line, column), f"{what}, got {cell_repr(value)}")
        if first_kind is None:
            first_kind, first_line = kind, line
        elif kind != first_kind and not daily:
            raise InputError(
                path,
                where(line, column),
                f"{what} like line {first_line}, got {cell_repr(value)}: the file mixes dates and timestamps",
            )
        if daily and kind == "datetime":
            m = _ISO_DATETIME.fullmatch(value)
            assert m is not None
            if any(g is not None and int(g) != 0 for g in m.groups()[3:]):
                raise InputError(
                    path,
                    where(line, column),
                    f"a date (one row per day), got the time of day {cell_repr(value)} "
                    "(hourly data belongs in the --intraday file)",
                )
            value = value[:10]
        try:
            if daily or kind == "date":
                parsed = dt.date.fromisoformat(value[:10])
            else:
                parsed = dt.datetime.fromisoformat(value.replace(" ", "T"))
        except ValueError:
            raise InputError(path, where(line, column), f"a real calendar date, got {cell_repr(value)}") from None
        values.append(parsed.isoformat())
    series = pd.Series(pd.to_datetime(values, format="ISO8601"), index=df.index, name=column)
    return series.astype("datetime64[ns]")
