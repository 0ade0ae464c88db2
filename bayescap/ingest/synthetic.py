"""A realistic synthetic access log with known truth, for tests, benchmarks and demos.

Why: an end-to-end check of ingest -> forecast needs a log whose daily counts,
weekly pattern, sale-day lift and peak seconds are known exactly, without
shipping megabytes of someone's real (personal-data-laden) logs.

The log has a weekly rhythm (quieter weekends), slow growth, a weekly sale day
with a lift and a burst when the sale opens, a diurnal curve, a share of
logged-in requests (cookie ``session=...`` and paths under ``/account``/``/cart``),
and optionally malformed lines. Lines are nginx ``combined`` plus a
``"$http_cookie"`` field.
"""

from __future__ import annotations

import datetime as dt
import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ANON_PATHS = ("/", "/products", "/products/42", "/search?q=shoes", "/static/app.js", "/static/site.css", "/about")
_LI_PATHS = ("/account", "/account/orders", "/cart", "/cart/checkout")
_AGENTS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
)
# relative request rate per local hour 0..23 (quiet night, lunch and evening peaks)
_DIURNAL = np.array(
    [0.25, 0.18, 0.14, 0.12, 0.12, 0.16, 0.3, 0.55, 0.8, 0.95, 1.0, 1.05,
     1.15, 1.1, 1.0, 0.95, 0.95, 1.0, 1.1, 1.25, 1.35, 1.2, 0.85, 0.5]
)  # fmt: skip
_WEEKDAY = np.array([1.0, 1.02, 1.03, 1.0, 0.97, 0.75, 0.7])  # Monday .. Sunday


@dataclass(frozen=True)
class SyntheticLog:
    """The files written and the truth to compare an ingest against.

    ``truth`` has ``date``, ``count``, ``count_logged_in``, ``peak_rps`` and
    ``event_sale`` (0/1), in the log's local time zone ``utc_offset``.
    """

    paths: tuple[Path, ...]
    truth: pd.DataFrame
    utc_offset: str
    lines: int
    malformed: int


def write_synthetic_access_log(
    path: str | Path,
    *,
    start: str | dt.date = "2026-09-07",
    days: int = 28,
    mean_daily_requests: float = 20_000.0,
    sale_weekday: int = 3,
    sale_lift: float = 2.5,
    growth_pct_per_month: float = 3.0,
    utc_offset: str = "+0100",
    logged_in_share: float = 0.2,
    malformed_share: float = 0.0,
    files: int = 1,
    gzip_rotated: bool = True,
    seed: int = 20261126,
) -> SyntheticLog:
    """Write ``days`` whole local days of access log starting at local midnight of ``start``.

    Parameters
    ----------
    path : the newest log file (``access.log``); with ``files > 1`` older days go to
        ``access.log.1``, ``access.log.2.gz``, ... as logrotate names them.
    sale_weekday : 0 = Monday; every such day is a sale with ``sale_lift`` times the
        visitors and a burst when the sale opens at 10:00.
    malformed_share : fraction of extra garbage lines mixed in (not counted in truth).
    seed : everything random comes from ``numpy.random.default_rng(seed)``.
    """
    rng = np.random.default_rng(seed)
    path = Path(path)
    start = dt.date.fromisoformat(str(start))

    dates = [start + dt.timedelta(days=i) for i in range(days)]
    weekday = np.array([d.weekday() for d in dates])
    sale = (weekday == sale_weekday).astype(int)
    growth = (1 + growth_pct_per_month / 100.0) ** (np.arange(days) / 30.4)
    mean = mean_daily_requests * _WEEKDAY[weekday] * growth * np.where(sale == 1, sale_lift, 1.0)
    counts = rng.poisson(mean)

    day_secs: list[np.ndarray] = []
    for i, n in enumerate(counts):
        weights = _DIURNAL / _DIURNAL.sum()
        if sale[i]:
            n_burst = int(n * 0.08)
            n_rest = n - n_burst
            burst = 10 * 3600 + np.minimum(rng.exponential(300.0, n_burst), 3599).astype(np.int64)
        else:
            n_rest, burst = n, np.empty(0, dtype=np.int64)
        hours = rng.choice(24, size=n_rest, p=weights)
        secs = hours * 3600 + rng.integers(0, 3600, size=n_rest)
        day_secs.append(np.sort(np.concatenate([secs, burst])))

    truth_rows = []
    chunks_by_day: list[list[str]] = []
    garbage = 0
    for i, secs in enumerate(day_secs):
        d = dates[i]
        logged_in = rng.random(secs.size) < logged_in_share
        peak = int(np.bincount(secs, minlength=86400).max()) if secs.size else 0
        truth_rows.append((pd.Timestamp(d), int(secs.size), int(logged_in.sum()), peak, int(sale[i])))
        prefix = f"{d.day:02d}/{_MONTH_NAMES[d.month - 1]}/{d.year}:"
        ips = rng.integers(1, 255, size=(secs.size, 2))
        anon_path = rng.integers(0, len(_ANON_PATHS), size=secs.size)
        li_path = rng.integers(0, len(_LI_PATHS), size=secs.size)
        agent = rng.integers(0, len(_AGENTS), size=secs.size)
        size = rng.integers(200, 50_000, size=secs.size)
        status = np.where(rng.random(secs.size) < 0.01, 404, 200)
        lines = []
        ts_cache: dict[int, str] = {}
        for j in range(secs.size):
            s = int(secs[j])
            ts = ts_cache.get(s)
            if ts is None:
                ts = f"{prefix}{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d} {utc_offset}"
                ts_cache[s] = ts
            if logged_in[j]:
                target, cookie = _LI_PATHS[li_path[j]], f"session=u{ips[j, 0]}x{ips[j, 1]}; theme=dark"
            else:
                target, cookie = _ANON_PATHS[anon_path[j]], "-"
            lines.append(
                f'10.{ips[j, 0]}.{ips[j, 1]}.7 - - [{ts}] "GET {target} HTTP/1.1" {status[j]} {size[j]} '
                f'"https://shop.example/" "{_AGENTS[agent[j]]}" "{cookie}"\n'
            )
        if malformed_share > 0 and lines:
            n_bad = rng.binomial(len(lines), malformed_share)
            for pos in np.sort(rng.integers(0, len(lines), size=n_bad))[::-1]:
                lines.insert(int(pos), f"garbage line {pos} <<binary junk \x01>>\n")
            garbage += n_bad
        chunks_by_day.append(lines)

    paths = _write_rotated(path, chunks_by_day, files=files, gzip_rotated=gzip_rotated)
    truth = pd.DataFrame(truth_rows, columns=["date", "count", "count_logged_in", "peak_rps", "event_sale"])
    truth["date"] = truth["date"].astype("datetime64[ns]")
    n_lines = int(sum(len(c) for c in chunks_by_day))
    return SyntheticLog(paths=paths, truth=truth, utc_offset=utc_offset, lines=n_lines, malformed=garbage)


def write_sale_holidays(path: str | Path, log: SyntheticLog, *, holiday: str = "sale") -> Path:
    """A Prophet-style holidays CSV (``holiday,ds,lower_window,upper_window``) of the log's sale days.

    Feed it to ``bayescap ingest logs --events`` to get the ``event_sale`` column.
    """
    days = log.truth.loc[log.truth["event_sale"] == 1, "date"]
    frame = pd.DataFrame({"holiday": holiday, "ds": days.dt.strftime("%Y-%m-%d"), "lower_window": 0, "upper_window": 0})
    path = Path(path)
    frame.to_csv(path, index=False, lineterminator="\n")
    return path


def _write_rotated(path: Path, chunks_by_day: list[list[str]], *, files: int, gzip_rotated: bool) -> tuple[Path, ...]:
    files = max(1, min(files, len(chunks_by_day)))
    bounds = np.linspace(0, len(chunks_by_day), files + 1).round().astype(int)
    written = []
    for k in range(files):  # k = 0 is the oldest part
        age = files - 1 - k  # logrotate: access.log (newest), access.log.1, access.log.2.gz ...
        if age == 0:
            target = path
        elif age == 1 or not gzip_rotated:
            target = path.with_name(f"{path.name}.{age}")
        else:
            target = path.with_name(f"{path.name}.{age}.gz")
        text = "".join(line for day in chunks_by_day[bounds[k] : bounds[k + 1]] for line in day).encode()
        path.parent.mkdir(parents=True, exist_ok=True)
        if target.suffix == ".gz":
            with gzip.open(target, "wb", compresslevel=1) as fh:
                fh.write(text)
        else:
            target.write_bytes(text)
        written.append(target)
    return tuple(written)
