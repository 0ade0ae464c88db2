"""Load-test tool outputs -> (n, throughput) points.

Supported outputs (each in the tool's documented format, see docs/ingest.md):

* **k6** end-of-test JSON (``--summary-export`` and the ``handleSummary`` data
  shape) and granular CSV (``--out csv=file.csv``);
* **Locust** ``--csv`` files: ``*_stats.csv`` and ``*_stats_history.csv``;
* **wrk** text output (one run, or several runs appended to one file);
* **Apache JMeter** JTL CSV results.

Mapping rule (the same for every tool): one point is one steady concurrency
level; ``n`` is the tool's concurrency (k6 VUs, Locust users, wrk connections,
JMeter active threads), and ``throughput`` is *successful* requests per second
(failed/non-2xx-3xx responses are not capacity). Time-series outputs (k6 CSV,
Locust history, JMeter JTL) are cut into plateaus of constant concurrency, so a
stepped ramp gives one point per step; the first and last interval of every
plateau are left out, because they contain the ramp between levels.

When the output does not carry the concurrency (Locust ``_stats.csv``, a k6 CSV
without the ``vus`` metric) ``n`` is NaN here and comes from the user or the
file name (:func:`n_from_name`).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from bayescap.errors import InputError
from bayescap.ingest._files import read_csv_text, read_text
from bayescap.ingest.table import looks_like_table

TOOLS = ("k6", "k6-csv", "locust", "locust-history", "wrk", "jmeter")
POINT_COLUMNS = ["n", "throughput", "requests", "failed", "seconds", "source", "tool"]
MIN_PLATEAU_SECONDS = 3.0

_N_NAME_RE = re.compile(
    r"(?:(?<![a-z])(?:n|c|vus?|users?|conns?|connections?|threads?|concurrency)[-_=]?(\d+)(?!\d))"
    r"|(?:(?<!\d)(\d+)[-_]?(?:vus?|users?|conns?|connections?|threads?|c)(?![a-z]))",
    re.IGNORECASE,
)


def n_from_name(path: str | Path, pattern: str | None = None) -> float | None:
    """Concurrency written in a file name: ``wrk_c64.txt``, ``k6-32vus.json``, ``users=8_stats.csv``.

    ``pattern`` (a regex with one group) replaces the default rule. Only the
    file name is searched, never the directories.
    """
    name = Path(path).name
    if pattern is not None:
        try:
            m = re.search(pattern, name)
        except re.error as exc:
            raise InputError(None, "--n-pattern", f"a valid regular expression, got {pattern!r} ({exc})") from exc
        if m is None:
            return None
        try:
            return float(m.group(1))
        except (IndexError, ValueError) as exc:
            raise InputError(None, "--n-pattern", "a regex whose first group captures a number") from exc
    m = _N_NAME_RE.search(name)
    if m is None:
        return None
    return float(m.group(1) or m.group(2))


def detect_tool(path: str | Path, text: str | None = None) -> str:
    """Which tool wrote ``path``, from its content (not its name)."""
    text = read_text(Path(path)) if text is None else text
    head = text.lstrip()[:4000]
    if head.startswith("{"):
        return "k6"
    first = head.splitlines()[0] if head else ""
    cols = {c.strip().strip('"').lower() for c in first.split(",")}
    if "metric_name" in cols and "metric_value" in cols:
        return "k6-csv"
    if "user count" in cols and "total request count" in cols:
        return "locust-history"
    if ("request count" in cols or "# requests" in cols) and "requests/s" in cols:
        return "locust"
    if "timestamp" in cols and "elapsed" in cols:
        return "jmeter"
    if re.search(r"(?m)^\s*Requests/sec:\s+[\d.]+", text):
        return "wrk"
    if looks_like_table([c.strip().strip('"') for c in first.split(",")]):
        return "table"
    raise InputError(
        path, None, "not a recognised load-test output (k6 JSON/CSV, Locust stats CSV, wrk text, JMeter JTL CSV) "
        "nor a table with one load-level column and one throughput column; give --tool to say which "
        "(--tool table with --n-column and --throughput-column for a table)"
    )


def read_tool_output(
    path: str | Path, tool: str = "auto", *, min_plateau_seconds: float = MIN_PLATEAU_SECONDS, text: str | None = None
) -> pd.DataFrame:
    """Points of one tool output file: columns ``n, throughput, requests, failed, seconds, source, tool``.

    ``n`` may be NaN when the file does not record the concurrency. ``text``: the file's text when the
    caller has read it already (a JTL file can be large).
    """
    path = Path(path)
    text = read_text(path) if text is None else text
    if tool == "auto":
        tool = detect_tool(path, text)
    readers = {
        "k6": _k6_summary,
        "k6-csv": lambda p, t: _k6_csv(p, t, min_plateau_seconds),
        "locust": _locust_stats,
        "locust-history": lambda p, t: _locust_history(p, t, min_plateau_seconds),
        "wrk": _wrk,
        "jmeter": lambda p, t: _jmeter(p, t, min_plateau_seconds),
    }
    if tool == "table":
        raise InputError(path, None, "a tool output, but this is a table of measurements: read it with "
                         "bayescap.ingest.loadtest_csv.rows_from_files (bayescap ingest loadtest --tool table)")
    if tool not in readers:
        raise InputError(None, "--tool", f"one of auto, {', '.join(TOOLS)}, table; got {tool!r}")
    points = readers[tool](path, text)
    if not points:
        raise InputError(path, None, f"no load level found in this {tool} output")
    df = pd.DataFrame(points, columns=POINT_COLUMNS[:5])
    df["source"] = str(path)
    df["tool"] = tool
    bad = df[~(df["throughput"] > 0)]
    if len(bad):
        raise InputError(path, None, f"{tool}: a level with no successful request (n={bad['n'].iloc[0]}); "
                         "a throughput must be > 0")
    return df.reset_index(drop=True)


# ---------------------------------------------------------------- k6

def _k6_metric(metrics: dict, name: str) -> dict:
    """A k6 metric's numbers in either JSON shape (summary-export: flat; handleSummary: under 'values')."""
    m = metrics.get(name)
    if not isinstance(m, dict):
        return {}
    values = m.get("values")
    return values if isinstance(values, dict) else m


def _k6_summary(path: Path, text: str) -> list[tuple]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(path, f"line {exc.lineno}", f"valid JSON ({exc.msg})") from exc
    metrics = data.get("metrics") if isinstance(data, dict) else None
    if not isinstance(metrics, dict):
        raise InputError(path, "key metrics", "a k6 summary (--summary-export or handleSummary JSON)")
    reqs = _k6_metric(metrics, "http_reqs")
    if "count" not in reqs or "rate" not in reqs:
        raise InputError(path, "key metrics.http_reqs", "count and rate (was the test an HTTP test?)")
    count, rate = float(reqs["count"]), float(reqs["rate"])
    failed_rate = _k6_metric(metrics, "http_req_failed")
    # a k6 Rate metric: 'rate' (handleSummary) or 'value' (summary-export) is the share of failed requests
    share_failed = float(failed_rate.get("rate", failed_rate.get("value", 0.0)) or 0.0)
    vus = _k6_metric(metrics, "vus_max") or _k6_metric(metrics, "vus")
    n = float(vus.get("max", vus.get("value", math.nan))) if vus else math.nan
    seconds = count / rate if rate > 0 else math.nan
    failed = round(count * share_failed)
    return [(n, rate * (1.0 - share_failed), count, failed, seconds)]


def _parse_times(raw: pd.Series, path: Path, column: str) -> np.ndarray:
    """Seconds since the epoch from k6/JMeter/Locust time columns (unix s/ms/us/ns or RFC 3339)."""
    num = pd.to_numeric(raw, errors="coerce")
    if num.notna().all():
        values = num.to_numpy(dtype=float)
        scale = np.median(np.abs(values)) if len(values) else 0
        if scale > 1e17:
            return values / 1e9
        if scale > 1e14:
            return values / 1e6
        if scale > 1e11:
            return values / 1e3
        return values
    try:
        stamps = pd.to_datetime(raw, utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise InputError(path, f"column {column!r}", "unix times or RFC 3339 timestamps") from exc
    return (stamps - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds().to_numpy()


def _k6_csv(path: Path, text: str, min_seconds: float) -> list[tuple]:
    df = read_csv_text(path, text, ["metric_name", "timestamp", "metric_value"])
    reqs = df[df["metric_name"] == "http_reqs"]
    if reqs.empty:
        raise InputError(path, "column metric_name", "rows of the http_reqs metric")
    t = np.floor(_parse_times(reqs["timestamp"], path, "timestamp")).astype(np.int64)
    ok = _k6_ok(reqs)
    weight = pd.to_numeric(reqs["metric_value"], errors="coerce").fillna(1.0).to_numpy()
    vus = df[df["metric_name"] == "vus"]
    seconds = np.arange(t.min(), t.max() + 1)
    total = np.bincount(t - t.min(), weights=weight, minlength=seconds.size)
    good = np.bincount(t - t.min(), weights=weight * ok, minlength=seconds.size)
    if vus.empty:
        level = np.full(seconds.size, np.nan)
    else:
        vt = _parse_times(vus["timestamp"], path, "timestamp")
        vv = pd.to_numeric(vus["metric_value"], errors="coerce").to_numpy()
        order = np.argsort(vt, kind="stable")
        vt, vv = vt[order], vv[order]
        idx = np.searchsorted(vt, seconds + 0.999, side="right") - 1
        level = np.where(idx >= 0, vv[np.clip(idx, 0, None)], np.nan)
    return _plateaus(level, good, total, np.ones(seconds.size), min_seconds)


def _k6_ok(reqs: pd.DataFrame) -> np.ndarray:
    if "expected_response" in reqs and (reqs["expected_response"] != "").any():
        return (reqs["expected_response"].str.lower() == "true").to_numpy(dtype=float)
    if "status" in reqs:
        status = pd.to_numeric(reqs["status"], errors="coerce").to_numpy()
        return ((status >= 200) & (status < 400)).astype(float)
    return np.ones(len(reqs))


# ---------------------------------------------------------------- plateaus

def _plateaus(level: np.ndarray, good: np.ndarray, total: np.ndarray, dt: np.ndarray, min_seconds: float) -> list[tuple]:
    """Cut a per-interval series into runs of constant concurrency; one point per long-enough run.

    The first and last interval of each run are dropped (ramps, partial
    seconds). A run whose interior is shorter than ``min_seconds`` is ignored.
    Without any level information the whole series is one point with n = NaN.
    """
    points: list[tuple] = []
    if np.isnan(level).all():
        sl = slice(1, -1) if level.size > 2 else slice(None)
        secs = float(dt[sl].sum())
        if secs > 0:
            points.append((math.nan, float(good[sl].sum()) / secs, float(total[sl].sum()),
                           float(total[sl].sum() - good[sl].sum()), secs))
        return points
    start = 0
    for i in range(1, level.size + 1):
        if i == level.size or (level[i] != level[start] and not (np.isnan(level[i]) and np.isnan(level[start]))):
            n = level[start]
            sl = slice(start + 1, i - 1)
            secs = float(dt[sl].sum())
            if not np.isnan(n) and n >= 1 and secs >= min_seconds:
                g, tot = float(good[sl].sum()), float(total[sl].sum())
                points.append((float(n), g / secs, tot, tot - g, secs))
            start = i
    return points


# ---------------------------------------------------------------- Locust

def _col(df: pd.DataFrame, *names: str) -> str | None:
    lower = {c.lower(): c for c in df.columns}
    for name in names:
        if name.lower() in lower:
            return lower[name.lower()]
    return None


def _aggregated_rows(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    name = _col(df, "Name")
    if name is None:
        raise InputError(path, "header", "a Locust 'Name' column")
    agg = df[df[name].str.strip().str.lower().isin(["aggregated", "total"])]
    if agg.empty:
        raise InputError(path, "column Name", "an 'Aggregated' row (Locust --csv output)")
    return agg


def _locust_stats(path: Path, text: str) -> list[tuple]:
    df = read_csv_text(path, text)
    row = _aggregated_rows(df, path).iloc[-1]
    count_c = _col(df, "Request Count", "# requests")
    fail_c = _col(df, "Failure Count", "# failures")
    rps_c = _col(df, "Requests/s")
    fps_c = _col(df, "Failures/s")
    if count_c is None or rps_c is None:
        raise InputError(path, "header", "Locust stats columns 'Request Count' and 'Requests/s'")
    try:
        count, rps = float(row[count_c]), float(row[rps_c])
        failed = float(row[fail_c]) if fail_c else 0.0
        fps = float(row[fps_c]) if fps_c else (rps * failed / count if count else 0.0)
    except ValueError as exc:
        raise InputError(path, "row Aggregated", f"numbers ({exc})") from exc
    seconds = count / rps if rps > 0 else math.nan
    return [(math.nan, rps - fps, count, failed, seconds)]


def _locust_history(path: Path, text: str, min_seconds: float) -> list[tuple]:
    df = read_csv_text(path, text, ["Timestamp", "User Count", "Total Request Count"])
    agg = _aggregated_rows(df, path)
    t = _parse_times(agg["Timestamp"], path, "Timestamp")
    users = pd.to_numeric(agg["User Count"], errors="coerce").to_numpy()
    total = pd.to_numeric(agg["Total Request Count"], errors="coerce").to_numpy()
    fail_c = _col(agg, "Total Failure Count")
    failed = pd.to_numeric(agg[fail_c], errors="coerce").to_numpy() if fail_c else np.zeros(len(agg))
    keep = np.isfinite(t) & np.isfinite(total)
    t, users, total, failed = t[keep], users[keep], total[keep], np.nan_to_num(failed[keep])
    order = np.argsort(t, kind="stable")
    t, users, total, failed = t[order], users[order], total[order], failed[order]
    if t.size < 2:
        raise InputError(path, None, "at least two Aggregated history rows")
    # row i covers (t[i-1], t[i]]; its level is the user count at its end
    dt = np.diff(t)
    d_total = np.diff(total)
    d_good = d_total - np.diff(failed)
    level = users[1:].astype(float)
    valid = dt > 0
    return _plateaus(level[valid], d_good[valid], d_total[valid], dt[valid], min_seconds)


# ---------------------------------------------------------------- wrk

_WRK_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def _wrk(path: Path, text: str) -> list[tuple]:
    blocks = re.split(r"(?m)^(?=Running )", text)
    points = []
    for block in blocks:
        if "Requests/sec:" not in block:
            continue
        conns = re.search(r"(\d+)\s+threads?\s+and\s+(\d+)\s+connections?", block)
        done = re.search(r"(\d+)\s+requests in\s+([\d.]+)(us|ms|s|m|h)", block)
        rps = re.search(r"Requests/sec:\s+([\d.]+)", block)
        non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", block)
        n = float(conns.group(2)) if conns else math.nan
        bad = float(non2xx.group(1)) if non2xx else 0.0
        if done:
            count = float(done.group(1))
            seconds = float(done.group(2)) * _WRK_UNITS[done.group(3)]
            throughput = (count - bad) / seconds if seconds > 0 else float(rps.group(1))
        else:
            throughput = float(rps.group(1))
            seconds, count = math.nan, math.nan
        points.append((n, throughput, count, bad, seconds))
    if not points:
        raise InputError(path, None, "wrk output with a 'Requests/sec:' line")
    return points


# ---------------------------------------------------------------- JMeter

def _jmeter(path: Path, text: str, min_seconds: float) -> list[tuple]:
    df = read_csv_text(path, text, ["timeStamp", "elapsed"])
    t_ms = _parse_times(df["timeStamp"], path, "timeStamp") * 1000.0
    elapsed = pd.to_numeric(df["elapsed"], errors="coerce").fillna(0).to_numpy()
    end = (t_ms + elapsed) / 1000.0  # a sample counts when it completes
    ok = (df["success"].str.lower() == "true").to_numpy(dtype=float) if "success" in df else np.ones(len(df))
    threads_c = _col(df, "allThreads", "grpThreads")
    sec = np.floor(end).astype(np.int64)
    seconds = np.arange(sec.min(), sec.max() + 1)
    total = np.bincount(sec - sec.min(), minlength=seconds.size).astype(float)
    good = np.bincount(sec - sec.min(), weights=ok, minlength=seconds.size)
    if threads_c is None:
        level = np.full(seconds.size, np.nan)
    else:
        threads = pd.to_numeric(df[threads_c], errors="coerce").to_numpy()
        per_sec = pd.Series(threads).groupby(sec).max()
        level = per_sec.reindex(seconds).ffill().to_numpy(dtype=float)
    return _plateaus(level, good, total, np.ones(seconds.size), min_seconds)
