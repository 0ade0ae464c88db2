"""Access-log ingestion: counts, peak seconds, malformed lines, gzip, time zones, logged-in split."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayescap.errors import InputError
from bayescap.ingest.accesslog import aggregate_access_logs, logged_in_rule, parse_clf_time
from bayescap.ingest.synthetic import write_synthetic_access_log

SEED = 20261126


def _line(ts: str, path: str = "/", status: int = 200, extra: str = ' "-" "curl/8.0"') -> str:
    return f'127.0.0.1 - - [{ts}] "GET {path} HTTP/1.1" {status} 512{extra}\n'


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("logs")
    log = write_synthetic_access_log(
        root / "access.log", days=9, mean_daily_requests=1500, files=3, malformed_share=0.002, seed=SEED
    )
    return root, log


def test_synthetic_log_is_counted_exactly_across_rotated_and_gzipped_files(synthetic):
    root, log = synthetic
    assert any(p.suffix == ".gz" for p in log.paths)
    result = aggregate_access_logs([str(root / "access.log*")], logged_in_cookie="session")
    truth = log.truth
    assert result.tz == "+0100"
    pd.testing.assert_series_equal(result.daily["date"], truth["date"], check_names=False)
    np.testing.assert_array_equal(result.daily["count"], truth["count"])
    np.testing.assert_array_equal(result.daily["peak_rps"], truth["peak_rps"])
    np.testing.assert_array_equal(result.daily["count_logged_in"], truth["count_logged_in"])
    assert result.malformed == log.malformed > 0
    assert result.parsed == truth["count"].sum()
    # hourly and per-minute tables add up to the daily counts
    assert result.hourly["count"].sum() == result.per_minute["count"].sum() == truth["count"].sum()
    assert result.hourly["timestamp"].diff().dropna().eq(pd.Timedelta(hours=1)).all()
    # the sale day's peak second is the busiest and falls in the burst after 10:00
    sale = result.daily.loc[truth["event_sale"] == 1]
    assert (sale["peak_time"].dt.hour == 10).all()


def test_malformed_examples_point_at_the_bad_lines(synthetic):
    root, _ = synthetic
    result = aggregate_access_logs(sorted(root.glob("access.log*")), max_examples=3)
    assert len(result.malformed_examples) == 3
    for ex in result.malformed_examples:
        opener = gzip.open if ex.path.endswith(".gz") else open
        with opener(ex.path, "rt", errors="replace") as fh:
            text = fh.read().splitlines()[ex.line - 1]
        assert text.startswith("garbage line")
        assert "?" in ex.text  # the control character is shown safely


def test_path_rule_gives_the_same_split_as_the_cookie_rule(synthetic):
    root, log = synthetic
    by_path = aggregate_access_logs([str(root / "access.log*")], logged_in_path=r"^/(account|cart)")
    np.testing.assert_array_equal(by_path.daily["count_logged_in"], log.truth["count_logged_in"])
    split = by_path.tier_split()
    assert list(split["tier"]) == ["logged_in", "anonymous"]
    assert split["share"].sum() == pytest.approx(1.0)
    assert split["share"].iloc[0] == pytest.approx(log.truth["count_logged_in"].sum() / log.truth["count"].sum())


def test_peak_second_per_day_and_out_of_order_lines(tmp_path: Path):
    lines = [_line("10/Oct/2026:00:10:00 +0000")]
    lines += [_line("10/Oct/2026:12:00:01 +0000")] * 3
    lines += [_line("10/Oct/2026:12:00:02 +0000")] * 2
    lines += [_line("10/Oct/2026:12:00:01 +0000")] * 2  # late lines for 12:00:01 (slow requests): 5 in that second
    lines += [_line("10/Oct/2026:23:59:59 +0000")]
    lines += [_line("11/Oct/2026:00:00:30 +0000")] * 2
    lines += [_line("11/Oct/2026:23:50:00 +0000")]
    path = tmp_path / "access.log"
    path.write_text("".join(lines))
    result = aggregate_access_logs([path])
    d = result.daily
    assert list(d["date"].dt.strftime("%Y-%m-%d")) == ["2026-10-10", "2026-10-11"]
    assert list(d["count"]) == [9, 3]
    assert list(d["peak_rps"]) == [5, 2]
    assert d["peak_time"].iloc[0] == pd.Timestamp("2026-10-10 12:00:01")
    assert result.malformed == 0 and result.late_lines == 0


def test_logs_of_several_servers_add_up_in_each_second(tmp_path: Path):
    day = "10/Oct/2026"
    a = [_line(f"{day}:00:00:05 +0000")] + [_line(f"{day}:12:00:01 +0000")] * 3 + [_line(f"{day}:23:59:00 +0000")]
    b = [_line(f"{day}:00:10:00 +0000")] + [_line(f"{day}:12:00:01 +0000")] * 4 + [_line(f"{day}:12:00:02 +0000")] * 5
    (tmp_path / "web1.log").write_text("".join(a))
    with gzip.open(tmp_path / "web2.log.gz", "wt") as fh:
        fh.write("".join(b) + _line(f"{day}:23:30:00 +0000"))
    result = aggregate_access_logs([tmp_path / "web2.log.gz", tmp_path / "web1.log"])
    assert list(result.daily["count"]) == [16]
    assert list(result.daily["peak_rps"]) == [7]  # 3 + 4 requests in 12:00:01, not max(3, 5)
    assert result.late_lines == 0


def test_timezones_are_converted_to_one_zone(tmp_path: Path):
    # the same instant written with two offsets; then a later request in another offset
    path = tmp_path / "access.log"
    path.write_text(
        _line("10/Oct/2026:23:30:00 +0000")
        + _line("11/Oct/2026:01:30:00 +0200")
        + _line("11/Oct/2026:03:00:00 +0200")
    )
    default = aggregate_access_logs([path], keep_partial_days=True)
    assert default.tz == "+0000"
    assert list(default.daily["count"]) == [2, 1]  # 23:30 UTC twice on the 10th, 01:00 UTC on the 11th
    plus2 = aggregate_access_logs([path], tz="+0200", keep_partial_days=True)
    assert list(plus2.daily["date"].dt.day) == [11]
    assert list(plus2.daily["count"]) == [3]
    berlin = aggregate_access_logs([path], tz="Europe/Berlin", keep_partial_days=True)
    busy = berlin.per_minute[berlin.per_minute["count"] > 0]
    assert busy["timestamp"].iloc[0] == pd.Timestamp("2026-10-11 01:30:00")  # CEST = UTC+2
    assert len(berlin.per_minute) == 1440  # quiet minutes of a kept day are zero rows, not gaps
    with pytest.raises(InputError, match="--tz"):
        aggregate_access_logs([path], tz="Mars/Olympus")


def test_dst_change_keeps_every_request_in_the_local_day(tmp_path: Path):
    # Europe/Berlin leaves summer time on 2026-10-25 at 03:00 CEST -> 02:00 CET (the 02:xx hour happens twice)
    path = tmp_path / "access.log"
    path.write_text(
        _line("25/Oct/2026:00:30:00 +0000")  # 02:30 CEST
        + _line("25/Oct/2026:01:30:00 +0000")  # 02:30 CET
        + _line("25/Oct/2026:12:00:00 +0000")
    )
    result = aggregate_access_logs([path], tz="Europe/Berlin", keep_partial_days=True)
    assert list(result.daily["count"]) == [3]
    hour = result.hourly.set_index("timestamp")["count"]
    assert hour[pd.Timestamp("2026-10-25 02:00")] == 2  # the repeated wall-clock hour is summed


def test_partial_edge_days_are_dropped_unless_asked(tmp_path: Path):
    path = tmp_path / "access.log"
    path.write_text(
        _line("10/Oct/2026:15:00:00 +0000")
        + _line("11/Oct/2026:00:20:00 +0000")
        + _line("11/Oct/2026:23:40:00 +0000")
        + _line("12/Oct/2026:08:00:00 +0000")
    )
    result = aggregate_access_logs([path])
    assert list(result.daily["date"].dt.day) == [11]
    assert result.dropped_partial_days == (dt.date(2026, 10, 10), dt.date(2026, 10, 12))
    assert len(aggregate_access_logs([path], keep_partial_days=True).daily) == 3


def test_common_format_apache_escapes_vhost_and_crlf_are_parsed(tmp_path: Path):
    path = tmp_path / "access_log"
    text = (
        '127.0.0.1 - frank [10/Oct/2026:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326\r\n'
        'www.example.com:443 10.0.0.1 - - [10/Oct/2026:13:55:37 -0700] "GET /a HTTP/1.1" 304 - "-" "UA"\n'
        '10.0.0.2 - - [10/Oct/2026:13:55:38 -0700] "GET /q?x=\\"y\\" HTTP/1.1" 200 10 "-" "UA \\"quoted\\""\n'
        '10.0.0.3 - - [10/Oct/2026:13:55:38 -0700] "\\x16\\x03\\x01" 400 157 "-" "-"\n'
        "\n"
        '10.0.0.4 - - [10/Foo/2026:13:55:39 -0700] "GET / HTTP/1.1" 200 1 "-" "-"\n'
        '10.0.0.5 - - [10/Oct/2026:13:55:39 -0700] "GET / HTTP/1.1" 2000 1 "-" "-"\n'
    )
    path.write_text(text, newline="")
    result = aggregate_access_logs([path], keep_partial_days=True)
    assert result.parsed == 4
    assert result.malformed == 2  # unknown month, 4-digit status; the blank line is not counted
    assert [ex.line for ex in result.malformed_examples] == [6, 7]
    assert result.status_counts == {"200": 2, "304": 1, "400": 1}


def test_gzip_is_detected_by_content_not_name(tmp_path: Path):
    path = tmp_path / "access.log.1"  # gzip content without .gz
    with gzip.open(path, "wb") as fh:
        fh.write(_line("10/Oct/2026:13:55:36 +0000").encode() * 4)
    assert aggregate_access_logs([path], keep_partial_days=True).parsed == 4


def test_cookie_rule_matches_only_a_set_cookie():
    rule = logged_in_rule(cookie="session")
    assert rule(b"GET / HTTP/1.1", b' "-" "UA" "theme=dark; session=abc123"')
    assert rule(b"GET / HTTP/1.1", b' "-" "UA" "session=abc"')
    assert not rule(b"GET / HTTP/1.1", b' "-" "UA" "-"')
    assert not rule(b"GET / HTTP/1.1", b' "-" "UA" "session=; theme=dark"')
    assert not rule(b"GET / HTTP/1.1", b' "-" "UA" "session=-"')
    assert not rule(b"GET / HTTP/1.1", b' "-" "UA" "xsession=abc"')
    assert not rule(b"GET / HTTP/1.1", b' "https://x/?session=abc" "UA" "-"')
    path_rule = logged_in_rule(path_regex=r"^/account")
    assert path_rule(b"GET /account/orders HTTP/1.1", b"")
    assert not path_rule(b"GET /products?next=/account HTTP/1.1", b"")
    with pytest.raises(InputError, match="one rule"):
        logged_in_rule(cookie="session", path_regex="^/a")
    with pytest.raises(InputError, match="regular expression"):
        logged_in_rule(path_regex="(")


def test_unusable_inputs_raise_input_errors(tmp_path: Path):
    junk = tmp_path / "junk.log"
    junk.write_text("this is not\nan access log\n")
    with pytest.raises(InputError, match="no line in common or combined log format"):
        aggregate_access_logs([junk])
    with pytest.raises(InputError, match="no file matches"):
        aggregate_access_logs([str(tmp_path / "nothing*.log")])
    with pytest.raises(InputError, match="not found"):
        aggregate_access_logs([tmp_path / "missing.log"])
    one_hour = tmp_path / "short.log"
    one_hour.write_text(_line("10/Oct/2026:13:00:00 +0000") + _line("10/Oct/2026:14:00:00 +0000"))
    with pytest.raises(InputError, match="less than one whole day"):
        aggregate_access_logs([one_hour])


def test_parse_clf_time_matches_datetime():
    ts = b"10/Oct/2026:13:55:36 -0700"
    expected = dt.datetime(2026, 10, 10, 20, 55, 36, tzinfo=dt.UTC).timestamp()
    assert parse_clf_time(ts) == expected
    with pytest.raises(ValueError):
        parse_clf_time(b"31/Feb/2026:13:55:36 +0000")
