"""Traffic from web-server access logs (nginx/Apache *combined* and *common* log format).

The logs are streamed line by line as bytes (plain or gzip, several files), so
millions of lines never sit in memory. Per-second counts are kept only in a
sliding window of a few minutes (the log is written in time order, give or take
the duration of slow requests) and folded into per-minute counts and a per-day
maximum as the window moves; minutes, hours and days are then small tables.

Why bytes and one compiled regex: decoding every line and parsing every
timestamp with ``datetime.strptime`` costs several microseconds a line; here a
line costs one regex match (C code) and one dict lookup, because the epoch
second of a timestamp string is cached (a busy second repeats the same string
hundreds of times).

Time zones: log timestamps carry their own UTC offset (``[10/Oct/2026:13:55:36
-0700]``). Every request is converted to one zone: the offset of the first
valid line of the earliest file, unless ``tz`` names another (``"+0100"`` or an
IANA name such as ``"Europe/Berlin"``). Days, hours and minutes are local wall
clock times of that zone, written without an offset (the traffic contract
counts per local day).

Formats (see docs/ingest.md):
``%h %l %u %t "%r" %>s %b`` (common) optionally followed by
``"%{Referer}i" "%{User-agent}i"`` (combined) and any further fields (for
example ``"$http_cookie"``); an optional leading virtual-host field
(Apache ``vhost_combined``) is accepted.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from bayescap.errors import InputError
from bayescap.ingest._files import expand_paths, open_binary

# host ident user [time] "request" status bytes rest
_LINE_RE = re.compile(
    rb"^[^\[]*"  # (vhost) host ident user; an Apache user name may contain spaces
    rb"\[(\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] "
    rb'"([^"\\]*(?:\\.[^"\\]*)*)" '  # request line; Apache escapes quotes as \", nginx as \x22
    rb"(\d{3}) (\d+|-)(?=[ \r]|$)"  # status, bytes; referer, user agent and further fields follow
)
_MONTHS = {
    m.encode(): i
    for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)
}
_OFFSET_RE = re.compile(r"^([+-])(\d\d):?(\d\d)$")

WINDOW_SECONDS = 600  # lines later than this behind the newest one split their second's count (documented)
_WINDOW_MAX_KEYS = 4096
_CACHE_MAX = 200_000
_EDGE_SLACK_SECONDS = 3600  # an edge day is complete when the log starts/ends within an hour of midnight


@dataclass(frozen=True)
class MalformedLine:
    """One example of a line that is not in common/combined log format."""

    path: str
    line: int
    text: str


@dataclass(frozen=True)
class LogTraffic:
    """What :func:`aggregate_access_logs` measured.

    Attributes
    ----------
    daily : ``date`` (local midnight), ``count`` (requests that day), ``peak_rps``
        (requests in the day's busiest second), ``peak_time`` (that second, local);
        with a logged-in rule also ``count_logged_in`` and ``count_anonymous``.
    hourly, per_minute : ``timestamp`` (local wall time, start of the bucket), ``count``.
    tz : the zone every timestamp was converted to (``"+0100"`` or an IANA name).
    lines, parsed, malformed : line counts over all files.
    malformed_examples : the first few malformed lines with file and line number.
    dropped_partial_days : edge days left out because the log covers them only partly.
    missing_days : days inside the covered span without a single request (log gap?).
    logged_in : requests the logged-in rule matched (None without a rule).
    late_lines : lines logged more than ``WINDOW_SECONDS`` after newer ones (their
        second's count may be split, so that day's peak may be slightly low).
    status_counts : requests per HTTP status code.
    """

    daily: pd.DataFrame
    hourly: pd.DataFrame
    per_minute: pd.DataFrame
    tz: str
    files: tuple[str, ...]
    lines: int
    parsed: int
    malformed: int
    malformed_examples: tuple[MalformedLine, ...]
    dropped_partial_days: tuple[dt.date, ...] = ()
    missing_days: tuple[dt.date, ...] = ()
    logged_in: int | None = None
    late_lines: int = 0
    status_counts: dict[str, int] = field(default_factory=dict)

    def tier_split(self) -> pd.DataFrame:
        """Share of requests per tier (``logged_in`` / ``anonymous``) over the kept days.

        Shares are of all requests, so they add up to one; a scenario's tier
        ``share`` is exactly this number when the tier serves that part of the traffic.
        """
        if self.logged_in is None or "count_logged_in" not in self.daily:
            raise InputError(None, None, "no logged-in rule was given, so there is no tier split")
        li = float(self.daily["count_logged_in"].sum())
        total = float(self.daily["count"].sum())
        anon = total - li
        return pd.DataFrame(
            {
                "tier": ["logged_in", "anonymous"],
                "requests": [int(li), int(anon)],
                "share": [li / total if total else 0.0, anon / total if total else 0.0],
            }
        )


@lru_cache(maxsize=4096)
def _day_epoch(year: int, month: int, day: int) -> int:
    return (dt.date(year, month, day) - dt.date(1970, 1, 1)).days * 86400


def parse_clf_time(ts: bytes) -> int:
    """Epoch seconds (UTC) of a CLF timestamp ``b"10/Oct/2026:13:55:36 -0700"``; ValueError if invalid."""
    month = _MONTHS.get(ts[3:6])
    if month is None:
        raise ValueError("unknown month")
    h, m, s = int(ts[12:14]), int(ts[15:17]), int(ts[18:20])
    if h > 23 or m > 59 or s > 60:
        raise ValueError("time out of range")
    off = int(ts[22:24]) * 3600 + int(ts[24:26]) * 60
    if ts[21:22] == b"-":
        off = -off
    return _day_epoch(int(ts[7:11]), month, int(ts[0:2])) + h * 3600 + m * 60 + min(s, 59) - off


class _Zone:
    """UTC offset lookup for a fixed offset or an IANA zone (cached per UTC hour; zones change on hours)."""

    def __init__(self, spec: str):
        self.name = spec
        match = _OFFSET_RE.match(spec.strip())
        if match:
            sign = -1 if match.group(1) == "-" else 1
            self.fixed: int | None = sign * (int(match.group(2)) * 3600 + int(match.group(3)) * 60)
            self.zone = None
            self.name = f"{match.group(1)}{match.group(2)}{match.group(3)}"
        else:
            try:
                self.zone = ZoneInfo(spec)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise InputError(
                    None, "--tz", f"a UTC offset like +0100 or an IANA zone like Europe/Berlin, got {spec!r}"
                ) from exc
            self.fixed = None
        self._cache: dict[int, int] = {}

    def offset(self, sec: int) -> int:
        if self.fixed is not None:
            return self.fixed
        hour = sec // 3600
        off = self._cache.get(hour)
        if off is None:
            when = dt.datetime.fromtimestamp(hour * 3600, tz=dt.UTC).astimezone(self.zone)
            off = int(when.utcoffset().total_seconds())
            self._cache[hour] = off
        return off

    def offsets(self, secs: np.ndarray) -> np.ndarray:
        if self.fixed is not None:
            return np.full(secs.shape, self.fixed, dtype=np.int64)
        return np.array([self.offset(int(s)) for s in secs], dtype=np.int64)


def _path_rule(regex: str) -> Callable[[bytes, bytes], bool]:
    try:
        pattern = re.compile(regex.encode())
    except re.error as exc:
        raise InputError(None, "--logged-in-path", f"a valid regular expression, got {regex!r} ({exc})") from exc

    def rule(request: bytes, rest: bytes) -> bool:
        parts = request.split(b" ")
        target = parts[1] if len(parts) > 1 else parts[0]
        return pattern.search(target) is not None

    return rule


def _cookie_rule(name: str) -> Callable[[bytes, bytes], bool]:
    if not name or not re.fullmatch(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+", name):
        raise InputError(None, "--logged-in-cookie", f"a cookie name (token characters only), got {name!r}")
    needle = name.encode() + b"="
    width = len(needle)

    def rule(request: bytes, rest: bytes) -> bool:
        # NAME=value with a non-empty value other than '-', starting a field or after '; '.
        # bytes.find is far faster than a regex search that starts with an alternation.
        i = rest.find(needle)
        while i >= 0:
            if i == 0 or rest[i - 1 : i] in b' \t";':
                value = rest[i + width : i + width + 2]
                if value[:1] not in b'; \t"' and not (value[:1] == b"-" and value[1:2] in b'; \t"'):
                    return True
            i = rest.find(needle, i + 1)
        return False

    return rule


def logged_in_rule(cookie: str | None = None, path_regex: str | None = None) -> Callable[[bytes, bytes], bool] | None:
    """The predicate telling a logged-in request from an anonymous one, or None without a rule.

    ``cookie``: the request carries the cookie ``NAME=value`` (non-empty) in a
    logged field after the status (log ``"$http_cookie"`` in nginx, ``"%{Cookie}i"``
    in Apache). ``path_regex``: the request path matches (``re.search``), e.g.
    ``^/(account|cart|checkout)``. Giving both is an error: the split must have one meaning.
    """
    if cookie and path_regex:
        raise InputError(None, "--logged-in-cookie/--logged-in-path", "one rule, not both")
    if cookie:
        return _cookie_rule(cookie)
    if path_regex:
        return _path_rule(path_regex)
    return None


_CHUNK_BYTES = 1 << 22


def _blocks(fh: IO[bytes]) -> Iterator[list[bytes]]:
    """Lists of lines without their ``\\n``, read in 4 MiB blocks (much faster than readline on gzip)."""
    rest = b""
    while True:
        block = fh.read(_CHUNK_BYTES)
        if not block:
            if rest:
                yield [rest]
            return
        parts = (rest + block).split(b"\n")
        rest = parts.pop()
        yield parts


def _first_stamp(path: Path, max_lines: int = 1000) -> tuple[int, str] | None:
    """(epoch second, UTC offset like '+0200') of the first parseable line within ``max_lines``, or None."""
    with open_binary(path) as fh:
        for i, line in enumerate(fh):
            if i >= max_lines:
                break
            m = _LINE_RE.match(line)
            if m:
                try:
                    return parse_clf_time(m.group(1)), m.group(1)[21:26].decode()
                except ValueError:
                    continue
    return None


@dataclass
class _Accumulator:
    """Mutable running totals of one ingest call (internal; never returned)."""

    zone: _Zone
    minute: dict[int, int] = field(default_factory=dict)
    minute_li: dict[int, int] = field(default_factory=dict)
    day_peak: dict[int, tuple[int, int]] = field(default_factory=dict)  # local day -> (count, utc second)
    late: int = 0
    flushed_upto: int = -(2**62)

    def flush(self, window: dict[int, int], window_li: dict[int, int] | None, keep_after: int | None) -> None:
        """Fold seconds <= keep_after (all when None) from the window into minutes and day peaks."""
        minute, day_peak, offset = self.minute, self.day_peak, self.zone.offset
        done = [s for s in window if keep_after is None or s <= keep_after]
        for sec in done:
            c = window.pop(sec)
            if sec <= self.flushed_upto:
                self.late += c
            key = sec // 60
            minute[key] = minute.get(key, 0) + c
            day = (sec + offset(sec)) // 86400
            best = day_peak.get(day)
            if best is None or c > best[0]:
                day_peak[day] = (c, sec)
        if window_li is not None:
            for sec in [s for s in window_li if keep_after is None or s <= keep_after]:
                c = window_li.pop(sec)
                key = sec // 60
                self.minute_li[key] = self.minute_li.get(key, 0) + c
        if done:
            self.flushed_upto = max(self.flushed_upto, max(done))


@dataclass
class _ScanStats:
    """Line counts shared by the per-file scanners of one ingest call (internal)."""

    max_examples: int
    lines: int = 0
    parsed: int = 0
    malformed: int = 0
    examples: list[MalformedLine] = field(default_factory=list)
    statuses: dict[bytes, int] = field(default_factory=dict)

    def bad(self, path: Path, line_no: int, line: bytes) -> None:
        self.malformed += 1
        if len(self.examples) < self.max_examples:
            self.examples.append(MalformedLine(str(path), line_no, _show(line)))


def _scan_file(
    path: Path,
    window: dict[int, int],
    window_li: dict[int, int] | None,
    rule: Callable[[bytes, bytes], bool] | None,
    stats: _ScanStats,
) -> Iterator[int]:
    """Add one file's requests to the shared per-second window; yield the newest second after each block.

    This is the hot loop: one regex match, one dict lookup for the second
    (cached per timestamp string, with a per-minute cache behind it) and one
    dict update per line.
    """
    match = _LINE_RE.match
    cache: dict[bytes, int] = {}
    minute_cache: dict[bytes, int] = {}
    statuses = stats.statuses
    newest = -(2**62)
    line_no = parsed = reported = 0
    with open_binary(path) as fh:
        for block in _blocks(fh):
            for line in block:
                line_no += 1
                m = match(line)
                if m is None:
                    if line.strip():
                        stats.bad(path, line_no, line)
                    continue
                ts, status = m.group(1, 3)
                sec = cache.get(ts)
                if sec is None:
                    try:
                        # a new second: the minute's epoch is usually known already
                        key = ts[:18] + ts[20:]
                        base = minute_cache.get(key)
                        if base is None:
                            base = parse_clf_time(ts[:18] + b"00" + ts[20:])
                            minute_cache[key] = base
                        s_of_min = int(ts[18:20])
                        if s_of_min > 60:
                            raise ValueError("second out of range")
                        sec = base + min(s_of_min, 59)  # a leap second counts in the second before it
                    except ValueError:
                        stats.bad(path, line_no, line)
                        continue
                    if len(cache) > _CACHE_MAX:
                        cache.clear()
                        minute_cache.clear()
                    cache[ts] = sec
                    if sec > newest:
                        newest = sec
                window[sec] = window.get(sec, 0) + 1
                statuses[status] = statuses.get(status, 0) + 1
                if rule is not None and rule(m.group(2), line[m.end() :]):
                    window_li[sec] = window_li.get(sec, 0) + 1
                parsed += 1
            stats.lines += line_no - reported
            stats.parsed += parsed
            reported, parsed = line_no, 0
            yield newest


def aggregate_access_logs(
    paths: Sequence[str | Path],
    *,
    tz: str | None = None,
    logged_in_cookie: str | None = None,
    logged_in_path: str | None = None,
    keep_partial_days: bool = False,
    max_examples: int = 5,
) -> LogTraffic:
    """Stream access logs and aggregate requests per second, minute, hour and day.

    Parameters
    ----------
    paths : files or glob patterns (plain or gzip), read in time order: rotated
        logs may be given in any order, and logs of several servers covering the
        same hours are merged (their requests add up in each second).
    tz : zone for days and hours (``"+0100"`` or ``"Europe/Berlin"``); default the
        UTC offset of the first valid line.
    logged_in_cookie, logged_in_path : rule telling logged-in requests apart
        (see :func:`logged_in_rule`); adds ``count_logged_in``/``count_anonymous``.
    keep_partial_days : keep the first/last day even if the log starts after 01:00
        or ends before 23:00 local time (a partial day looks like a traffic drop).
    max_examples : how many malformed lines to keep as examples.

    Returns
    -------
    LogTraffic
        Small tables only; per-second counts survive only as each day's maximum.
    """
    files = expand_paths(paths)
    rule = logged_in_rule(logged_in_cookie, logged_in_path)
    stamps = {p: _first_stamp(p) for p in files}
    firsts = {p: (st[0] if st else None) for p, st in stamps.items()}
    ordered = sorted(files, key=lambda p: (firsts[p] is None, firsts[p] or 0, str(p)))
    if tz is None:
        tz = next((stamps[p][1] for p in ordered if stamps[p] is not None and stamps[p][1]), "+0000")
    acc = _Accumulator(zone=_Zone(tz))

    stats = _ScanStats(max_examples=max_examples)
    window: dict[int, int] = {}
    window_li: dict[int, int] | None = {} if rule is not None else None
    # Files are read block by block, always advancing the one that is furthest behind in
    # time: rotated logs are read one after the other, while logs of several servers
    # covering the same hours are read side by side, so their requests add up in the
    # same per-second window (the peak second of the whole site, not of one server).
    scanners = {p: _scan_file(p, window, window_li, rule, stats) for p in ordered}
    position = {p: firsts[p] if firsts[p] is not None else -(2**62) for p in ordered}
    while scanners:
        path = min(scanners, key=lambda q: (position[q], ordered.index(q)))
        try:
            position[path] = max(position[path], next(scanners[path]))
        except StopIteration:
            del scanners[path]
        if scanners:
            if len(window) > _WINDOW_MAX_KEYS:
                acc.flush(window, window_li, min(position[q] for q in scanners) - WINDOW_SECONDS)
        else:
            acc.flush(window, window_li, None)
    lines, parsed, malformed, examples = stats.lines, stats.parsed, stats.malformed, stats.examples
    statuses = stats.statuses

    if parsed == 0:
        raise InputError(
            ", ".join(str(p) for p in files),
            None,
            "no line in common or combined log format was found "
            + (f"(first bad line {examples[0].line}: {examples[0].text!r})" if examples else "(the files are empty)"),
        )
    return _tables(
        acc,
        files=tuple(str(p) for p in ordered),
        lines=lines,
        parsed=parsed,
        malformed=malformed,
        examples=tuple(examples),
        with_split=rule is not None,
        keep_partial_days=keep_partial_days,
        statuses={k.decode(): v for k, v in sorted(statuses.items())},
    )


def _show(line: bytes, limit: int = 200) -> str:
    text = line.rstrip(b"\r\n").decode("utf-8", errors="replace")
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= limit else text[:limit] + "..."


def _local_frame(counts: dict[int, int], zone: _Zone, unit_seconds: int) -> pd.DataFrame:
    """Per-minute UTC buckets -> local wall-clock timestamps (repeated DST hour summed)."""
    keys = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
    vals = np.fromiter(counts.values(), dtype=np.int64, count=len(counts))
    secs = keys * unit_seconds
    local = secs + zone.offsets(secs)
    return pd.DataFrame({"local": local, "count": vals})


def _to_timestamps(local_seconds: pd.Series) -> pd.Series:
    return pd.to_datetime(local_seconds.to_numpy(dtype=np.int64), unit="s").as_unit("ns")


def _tables(
    acc: _Accumulator,
    *,
    files: tuple[str, ...],
    lines: int,
    parsed: int,
    malformed: int,
    examples: tuple[MalformedLine, ...],
    with_split: bool,
    keep_partial_days: bool,
    statuses: dict[str, int],
) -> LogTraffic:
    zone = acc.zone
    minutes = _local_frame(acc.minute, zone, 60)
    minutes["bucket"] = minutes["local"] // 60 * 60
    per_minute = minutes.groupby("bucket", sort=True)["count"].sum()
    first_local, last_local = int(per_minute.index.min()), int(per_minute.index.max()) + 59

    hourly = per_minute.groupby(per_minute.index // 3600 * 3600).sum()
    daily = per_minute.groupby(per_minute.index // 86400).sum()
    days = daily.index.to_numpy()

    li_daily = None
    if with_split:
        if acc.minute_li:
            li = _local_frame(acc.minute_li, zone, 60)
            li_daily = li.groupby(li["local"] // 86400)["count"].sum().reindex(days, fill_value=0)
        else:
            li_daily = pd.Series(0, index=days)

    keep = np.ones(len(days), dtype=bool)
    dropped: list[dt.date] = []
    if not keep_partial_days:
        if first_local - days[0] * 86400 > _EDGE_SLACK_SECONDS:
            keep[0] = False
        if (days[-1] + 1) * 86400 - 1 - last_local > _EDGE_SLACK_SECONDS:
            keep[-1] = False
        dropped = [_epoch_day(d) for d in days[~keep]]
        if not keep.any():
            raise InputError(
                files[0] if len(files) == 1 else None,
                None,
                "the log covers less than one whole day (it starts after 01:00 and ends before 23:00 of the same "
                "day); give a longer log or --keep-partial-days",
            )
    kept_days = days[keep]
    peaks = [acc.day_peak.get(int(d), (0, 0)) for d in kept_days]
    out = pd.DataFrame(
        {
            "date": pd.to_datetime(kept_days * 86400, unit="s").as_unit("ns"),
            "count": daily.to_numpy()[keep].astype(np.int64),
            "peak_rps": np.array([p[0] for p in peaks], dtype=np.int64),
            "peak_time": _to_timestamps(pd.Series([p[1] + zone.offset(p[1]) for p in peaks], dtype=np.int64)),
        }
    )
    if li_daily is not None:
        li_vals = li_daily.to_numpy()[keep].astype(np.int64)
        out["count_logged_in"] = li_vals
        out["count_anonymous"] = out["count"].to_numpy() - li_vals
    span = np.arange(kept_days.min(), kept_days.max() + 1) if len(kept_days) else np.array([], dtype=np.int64)
    missing = tuple(_epoch_day(d) for d in np.setdiff1d(span, kept_days))

    # every hour/minute of a kept day gets a row: a quiet night hour is a zero count, not a gap
    hourly = hourly.reindex(_day_buckets(kept_days, 3600), fill_value=0)
    per_minute = per_minute.reindex(_day_buckets(kept_days, 60), fill_value=0)
    return LogTraffic(
        daily=out,
        hourly=pd.DataFrame({"timestamp": _to_timestamps(hourly.index.to_series()), "count": hourly.to_numpy()}),
        per_minute=pd.DataFrame(
            {"timestamp": _to_timestamps(per_minute.index.to_series()), "count": per_minute.to_numpy()}
        ),
        tz=zone.name,
        files=files,
        lines=lines,
        parsed=parsed,
        malformed=malformed,
        malformed_examples=examples,
        dropped_partial_days=tuple(dropped),
        missing_days=missing,
        logged_in=int(out["count_logged_in"].sum()) if li_daily is not None else None,
        late_lines=acc.late,
        status_counts=statuses,
    )


def _day_buckets(days: np.ndarray, step: int) -> np.ndarray:
    """Start (local seconds) of every ``step``-second bucket of the given local days."""
    offsets = np.arange(0, 86400, step, dtype=np.int64)
    return (np.asarray(days, dtype=np.int64)[:, None] * 86400 + offsets[None, :]).ravel()


def _epoch_day(day: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=int(day))


def traffic_csv_frame(result: LogTraffic, events: pd.DataFrame | None = None) -> pd.DataFrame:
    """The daily table in the traffic CSV contract: ``date,count,peak_rps`` (+ split and event columns).

    ``events`` (optional) has ``date`` and one ``event_<type>``/``competitor_event``
    0/1 column per type (see :func:`bayescap.ingest.prophet.event_columns`).
    """
    out = result.daily.drop(columns=["peak_time"]).copy()
    out["date"] = out["date"].dt.strftime("%Y-%m-%d")
    if events is not None and len(events.columns) > 1:
        ev = events.copy()
        ev["date"] = pd.to_datetime(ev["date"]).dt.strftime("%Y-%m-%d")
        out = out.merge(ev, on="date", how="left")
        for col in ev.columns:
            if col != "date":
                out[col] = out[col].fillna(0).astype(np.int64)
    return out


def timestamp_csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``timestamp,count`` with ISO wall-clock timestamps (what ``read_intraday`` reads)."""
    return pd.DataFrame(
        {"timestamp": frame["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S"), "count": frame["count"].astype(np.int64)}
    )


def iter_malformed_report(result: LogTraffic) -> Iterable[str]:
    """Human-readable lines about malformed input, for the CLI."""
    if result.malformed:
        share = result.malformed / max(result.lines, 1)
        yield f"{result.malformed} malformed line(s) of {result.lines} ({share:.2%}) were skipped; first examples:"
        for ex in result.malformed_examples:
            yield f"  {ex.path}:{ex.line}: {ex.text}"
