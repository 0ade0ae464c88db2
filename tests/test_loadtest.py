"""`bayescap loadtest URL` against servers the tests start on 127.0.0.1 only (bounded time and requests)."""

from __future__ import annotations

import argparse
import shutil
import socket
import sys
import time
from pathlib import Path

import pytest

from bayescap.commands import loadtest as loadtest_cmd
from bayescap.errors import BayescapError, InputError
from bayescap.ingest.loadgen import choose_generator, parse_url, python_level, run_levels
from bayescap.ingest.loopback import serve_loopback
from bayescap.inputs.loadtest import read_loadtest


def cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bayescap")
    loadtest_cmd.register(parser.add_subparsers())
    args = parser.parse_args(["loadtest", *argv])
    try:
        return args.func(args)
    except BayescapError:
        return 2


def test_python_generator_scales_with_concurrency_and_hits_only_the_url():
    # 10 ms service time: one closed-loop user gets < 100 req/s, four users about four times that
    with serve_loopback(service_seconds=0.01, max_requests=20_000) as server:
        points = run_levels(server.url("/slow"), [1, 4], seconds=1.0, warmup=0.2, generator="python", pause=0.0)
        total_after = server.total()
        time.sleep(0.2)
        assert server.total() == total_after  # every user stopped at its deadline
        assert set(server.hits) == {"/slow"}
    x1, x4 = points["throughput"].tolist()
    assert 20 < x1 < 100
    assert x4 > 2.5 * x1
    assert points["failed"].sum() == 0
    assert list(points["n"]) == [1, 4]
    # counted requests are only those completed inside the measured second
    assert points["requests"].sum() < total_after


def test_failed_responses_are_not_throughput():
    with serve_loopback(status_for={"/down": 503}) as server:
        _, x, requests, failed, _ = python_level(server.url("/down"), 2, 0.3, warmup=0.0)
    assert x == 0 and requests == failed > 0


def test_unreachable_server_counts_failures_and_stops(tmp_path: Path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: connection refused
    started = time.perf_counter()
    out = tmp_path / "lt.csv"
    rc = cli([f"http://127.0.0.1:{port}/", "--tier", "app", "--config", "local", "--levels", "1",
              "--seconds", "0.3", "--warmup", "0", "--generator", "python", "--out", str(out)])
    assert rc == 2
    assert not out.exists()
    assert time.perf_counter() - started < 5


def test_cli_writes_a_loadtest_csv_that_the_reader_accepts(tmp_path: Path):
    out = tmp_path / "loadtest.csv"
    with serve_loopback(service_seconds=0.005, max_requests=20_000) as server:
        argv = [server.url("/"), "--tier", "app", "--config", "local", "--levels", "1,2", "--seconds", "0.5",
                "--warmup", "0.1", "--generator", "python", "--out", str(out)]
        assert cli(argv) == 0
        assert cli(argv) == 0  # a second run becomes repeat 1
    df = read_loadtest(out)
    assert sorted(df["n"]) == [1, 1, 2, 2]
    assert sorted(df["repeat"]) == [0, 0, 1, 1]
    assert (df["throughput"] > 0).all()
    assert set(df["level"]) == {"node"}


def test_bad_arguments_are_reported():
    with pytest.raises(InputError, match="^ftp://127.0.0.1/: an http:// or https:// URL with a host"):
        parse_url("ftp://127.0.0.1/")
    with pytest.raises(InputError, match="--seconds"):
        run_levels("http://127.0.0.1:9/", [1], seconds=0)
    with pytest.raises(InputError, match="--levels"):
        run_levels("http://127.0.0.1:9/", [0])
    with pytest.raises(SystemExit):
        cli(["http://127.0.0.1:9/", "--tier", "a", "--config", "b", "--levels", "1,x", "--out", "x.csv"])


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)")
def test_wrk_generator_against_loopback():
    assert choose_generator("auto") == "wrk"
    with serve_loopback(max_requests=200_000) as server:
        points = run_levels(server.url("/w"), [2], seconds=1, generator="wrk")
        assert set(server.hits) == {"/w"}
    assert points["tool"].iloc[0] == "wrk"
    assert points["n"].iloc[0] == 2
    assert points["throughput"].iloc[0] > 0


def test_k6_driver_passes_levels_and_target_and_reads_the_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # a stand-in k6 that records its arguments and writes a summary export as k6 does
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "k6"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        "a = sys.argv[1:]\n"
        "vus = int(a[a.index('--vus') + 1]); secs = int(a[a.index('--duration') + 1].rstrip('s'))\n"
        "target = a[a.index('-e') + 1].split('=', 1)[1]\n"
        f"open({str(tmp_path / 'calls.txt')!r}, 'a').write(f'{{vus}} {{secs}} {{target}}\\n')\n"
        "m = {'http_reqs': {'count': 100 * vus * secs, 'rate': 100.0 * vus},\n"
        "     'http_req_failed': {'passes': 0, 'fails': 1, 'value': 0.0}, 'vus_max': {'min': vus, 'max': vus, 'value': vus}}\n"
        "json.dump({'metrics': m}, open(a[a.index('--summary-export') + 1], 'w'))\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}")
    url = "http://127.0.0.1:9/k6"
    points = run_levels(url, [3, 1], seconds=1.5, generator="k6", pause=0.0)
    assert list(points["n"]) == [1, 3]
    assert list(points["throughput"]) == [100.0, 300.0]
    assert (tmp_path / "calls.txt").read_text().splitlines() == [f"1 2 {url}", f"3 2 {url}"]


def test_wrk_driver_builds_the_command_and_parses_its_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "wrk"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        "a = sys.argv[1:]\n"
        "c = int(a[a.index('-c') + 1]); t = int(a[a.index('-t') + 1]); d = a[a.index('-d') + 1]\n"
        f"open({str(tmp_path / 'calls.txt')!r}, 'a').write(' '.join(a) + '\\n')\n"
        "print(f'Running {d} test @ {a[-1]}')\n"
        "print(f'  {t} threads and {c} connections')\n"
        "print(f'  {c * 1000} requests in 2.00s, 1.00MB read')\n"
        "print(f'Requests/sec: {c * 500:.2f}')\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}")
    url = "http://127.0.0.1:9/w"
    points = run_levels(url, [2, 64], seconds=2, generator="wrk", pause=0.0)
    assert list(points["throughput"]) == [1000.0, 32000.0]
    calls = (tmp_path / "calls.txt").read_text().splitlines()
    assert all(call.endswith(url) and "-d 2s" in call for call in calls)
    assert "-c 64" in calls[1]
