"""Drive an HTTP load generator at increasing concurrency: wrk, k6, or a Python fallback.

Why a closed-loop generator at fixed concurrency levels: the capacity model
fits throughput X(N) against concurrency N (the Universal Scalability Law), so
each level keeps exactly N requests in flight (N connections, each sending its
next request when the previous response arrived) for a short, bounded time.

Safety: only the URL given is ever requested; every level stops at its
deadline (plus a short grace for the requests in flight), and the external
tools run under a hard subprocess timeout.

The Python generator uses one thread and one keep-alive ``http.client``
connection per concurrent user. It is honest but limited by the interpreter
(a few thousand requests per second on one core): when it cannot saturate the
server, the curve it measures is the generator's, not the server's. Install
``wrk`` (``apt-get install wrk``) or k6 for fast servers; ``auto`` prefers them.
"""

from __future__ import annotations

import http.client
import math
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bayescap.errors import BayescapError, InputError
from bayescap.ingest.tools import POINT_COLUMNS, _k6_summary, _wrk

GENERATORS = ("auto", "wrk", "k6", "python")
MAX_SECONDS = 600.0
MAX_PYTHON_CONCURRENCY = 512
_K6_SCRIPT = """import http from 'k6/http';
export default function () { http.get(__ENV.BAYESCAP_TARGET); }
"""


@dataclass(frozen=True)
class Target:
    """A parsed http(s) URL."""

    scheme: str
    host: str
    port: int
    path: str
    url: str


def parse_url(url: str) -> Target:
    """Check and split the target URL; only http and https are accepted."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(url, None, "an http:// or https:// URL with a host")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, parts.hostname, port, path, url)


def choose_generator(preferred: str = "auto") -> str:
    """``wrk`` or ``k6`` when installed (wrk first: lowest overhead per request), else ``python``."""
    if preferred not in GENERATORS:
        raise InputError(None, "--generator", f"one of {', '.join(GENERATORS)}, got {preferred!r}")
    if preferred == "auto":
        for tool in ("wrk", "k6"):
            if shutil.which(tool):
                return tool
        return "python"
    if preferred != "python" and not shutil.which(preferred):
        raise InputError(None, "--generator", f"{preferred} is not installed (not on PATH); use auto or python")
    return preferred


def _worker(
    target: Target,
    window: list[float],
    timeout: float,
    start: threading.Barrier,
    out: list[int],
    slot: int,
) -> None:
    """One closed-loop user: a keep-alive connection, one request in flight at a time.

    ``window`` = [count_from, deadline] is filled in by the caller before the
    barrier opens, so every user measures the same interval.
    """
    conn_cls = http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
    ok = failed = 0
    conn = None
    host = target.host if target.port in (80, 443) else f"{target.host}:{target.port}"
    headers = {"Host": host, "User-Agent": "bayescap-loadtest", "Connection": "keep-alive"}
    try:
        start.wait()
    except threading.BrokenBarrierError:
        return
    count_from, deadline = window
    while True:
        now = time.perf_counter()
        if now >= deadline:
            break
        try:
            if conn is None:
                conn = conn_cls(target.host, target.port, timeout=timeout)
            conn.request("GET", target.path, headers=headers)
            resp = conn.getresponse()
            resp.read()
            done = time.perf_counter()
            good = 200 <= resp.status < 400
            if resp.will_close:
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException):
            done = time.perf_counter()
            good = False
            if conn is not None:
                conn.close()
            conn = None
        if count_from <= done <= deadline:
            if good:
                ok += 1
            else:
                failed += 1
    if conn is not None:
        conn.close()
    out[2 * slot] = ok
    out[2 * slot + 1] = failed


def python_level(url: str, n: int, seconds: float, *, warmup: float = 0.5, timeout: float = 5.0) -> tuple:
    """Run ``n`` closed-loop users for ``warmup + seconds``; count responses completed in the last ``seconds``.

    Returns a point tuple ``(n, throughput, requests, failed, seconds)``;
    throughput counts 2xx/3xx responses only.
    """
    target = parse_url(url)
    if not 1 <= n <= MAX_PYTHON_CONCURRENCY:
        raise InputError(None, "--levels", f"Python generator levels from 1 to {MAX_PYTHON_CONCURRENCY}, got {n}")
    results = [0] * (2 * n)
    barrier = threading.Barrier(n + 1)
    window = [0.0, 0.0]
    workers = []
    for i in range(n):
        th = threading.Thread(target=_worker, args=(target, window, timeout, barrier, results, i), daemon=True)
        th.start()
        workers.append(th)
    begin = time.perf_counter()
    window[0] = begin + warmup
    window[1] = begin + warmup + seconds
    barrier.wait()
    for th in workers:
        th.join(timeout=max(window[1] - time.perf_counter(), 0) + timeout + 1.0)
    still = sum(th.is_alive() for th in workers)
    if still:
        raise BayescapError(f"{still} load-generator thread(s) did not stop within the request timeout of {timeout} s")
    ok = sum(results[0::2])
    failed = sum(results[1::2])
    return (float(n), ok / seconds, float(ok + failed), float(failed), float(seconds))


def wrk_level(url: str, n: int, seconds: float, *, warmup: float = 0.0, timeout: float = 5.0) -> tuple:
    """Run wrk with ``n`` connections for ``seconds`` (rounded up to whole seconds) and parse its output."""
    parse_url(url)
    secs = max(1, math.ceil(seconds))
    threads = max(1, min(n, os.cpu_count() or 1))
    cmd = ["wrk", "-t", str(threads), "-c", str(n), "-d", f"{secs}s", "--timeout", f"{max(1, math.ceil(timeout))}s", url]
    text = _run(cmd, secs + timeout + 30)
    points = _wrk(Path("wrk"), text)
    return points[0]


def k6_level(url: str, n: int, seconds: float, *, warmup: float = 0.0, timeout: float = 5.0) -> tuple:
    """Run k6 with ``n`` VUs for ``seconds`` and read its summary export."""
    parse_url(url)
    secs = max(1, math.ceil(seconds))
    with tempfile.TemporaryDirectory(prefix="bayescap-k6-") as tmp:
        script = Path(tmp) / "script.js"
        script.write_text(_K6_SCRIPT)
        summary = Path(tmp) / "summary.json"
        cmd = ["k6", "run", "--quiet", "--no-usage-report", "--vus", str(n), "--duration", f"{secs}s",
               "--summary-export", str(summary), "-e", f"BAYESCAP_TARGET={url}", str(script)]
        _run(cmd, secs + timeout + 60)
        return _k6_summary(summary, summary.read_text())[0]


def _run(cmd: list[str], limit: float) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=limit, check=False)
    except subprocess.TimeoutExpired as exc:
        raise BayescapError(f"{cmd[0]} did not finish within {limit:.0f} s; stopped it") from exc
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise BayescapError(f"{cmd[0]} failed (exit {proc.returncode}): {' | '.join(tail)}")
    return proc.stdout


LEVEL_RUNNERS: dict[str, Callable[..., tuple]] = {"python": python_level, "wrk": wrk_level, "k6": k6_level}


def run_levels(
    url: str,
    levels: Sequence[int],
    *,
    seconds: float = 5.0,
    generator: str = "auto",
    warmup: float = 0.5,
    pause: float = 0.2,
    timeout: float = 5.0,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Measure throughput at each concurrency level, lowest first. Returns points (see ``tools.POINT_COLUMNS``).

    Parameters
    ----------
    url : the only URL that is requested.
    levels : concurrency levels (whole numbers >= 1), run in increasing order.
    seconds : measured time per level (0 < seconds <= 600); the Python generator
        adds ``warmup`` seconds before it starts counting.
    generator : ``auto`` | ``wrk`` | ``k6`` | ``python``.
    pause : idle seconds between levels (lets the server drain its queues).
    """
    target = parse_url(url)
    if not levels:
        raise InputError(None, "--levels", "at least one concurrency level")
    if any(int(x) != x or x < 1 for x in levels):
        raise InputError(None, "--levels", f"whole numbers >= 1, got {list(levels)}")
    if not 0 < seconds <= MAX_SECONDS:
        raise InputError(None, "--seconds", f"a duration between 0 and {MAX_SECONDS:g} s per level, got {seconds}")
    if not 0 <= warmup <= MAX_SECONDS:
        raise InputError(None, "--warmup", f"between 0 and {MAX_SECONDS:g} s, got {warmup}")
    tool = choose_generator(generator)
    runner = LEVEL_RUNNERS[tool]
    points = []
    for i, n in enumerate(sorted({int(x) for x in levels})):
        if i and pause > 0:
            time.sleep(pause)
        point = runner(target.url, n, seconds, warmup=warmup, timeout=timeout)
        points.append(point)
        if progress is not None:
            progress(f"  n={n}: {point[1]:.1f} req/s ({int(point[3])} failed) [{tool}]")
    df = pd.DataFrame(points, columns=POINT_COLUMNS[:5])
    df["source"] = target.url
    df["tool"] = tool
    return df
