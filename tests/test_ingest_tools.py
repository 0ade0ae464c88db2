"""Load-test tool outputs -> (n, throughput) points -> the load-test CSV (merge, repeats, atomic writes)."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pandas as pd
import pytest

from bayescap.commands import ingest as ingest_cmd
from bayescap.errors import BayescapError, InputError, OutputError
from bayescap.ingest.loadtest_csv import merge_rows, points_to_rows, rows_from_files, write_loadtest
from bayescap.ingest.tools import detect_tool, n_from_name, read_tool_output
from bayescap.inputs.loadtest import read_loadtest

FIXTURES = Path(__file__).parent / "fixtures" / "tools"

# (file, detected tool, [(n, throughput), ...]) — see tests/fixtures/tools/make_fixtures.py
EXPECTED = [
    ("k6_summary_export_vus10.json", "k6", [(10, 396.0)]),
    ("k6_handle_summary.json", "k6", [(20, 700.0)]),
    ("k6_stepped.csv", "k6-csv", [(2, 20.0), (4, 35.0)]),
    ("locust_users-25_stats.csv", "locust", [(None, 99.0)]),
    ("locust_stats_history.csv", "locust-history", [(10, 50.0), (20, 90.0)]),
    ("wrk_runs.txt", "wrk", [(8, 12000.0), (16, 19900.0)]),
    ("jmeter_results.jtl", "jmeter", [(4, 10.0), (8, 14.0)]),
]


def cli(argv: list[str]) -> int:
    """The ingest sub-command through argparse, with the CLI's error handling."""
    parser = argparse.ArgumentParser(prog="bayescap")
    ingest_cmd.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except BayescapError:
        return 2


@pytest.mark.parametrize(("name", "tool", "points"), EXPECTED, ids=[e[0] for e in EXPECTED])
def test_each_tool_format_gives_the_right_points(name: str, tool: str, points: list):
    path = FIXTURES / name
    assert detect_tool(path) == tool
    df = read_tool_output(path)
    assert list(df["tool"].unique()) == [tool]
    assert len(df) == len(points)
    for (n, x), row in zip(points, df.itertuples(index=False), strict=True):
        if n is None:
            assert pd.isna(row.n)
        else:
            assert row.n == n
        assert row.throughput == pytest.approx(x, rel=1e-9)


def test_failures_are_not_throughput():
    wrk = read_tool_output(FIXTURES / "wrk_runs.txt")
    assert list(wrk["failed"]) == [0, 1000]
    jm = read_tool_output(FIXTURES / "jmeter_results.jtl")
    assert jm["failed"].iloc[1] / jm["requests"].iloc[1] == pytest.approx(2 / 16)


def test_n_from_file_names():
    assert n_from_name("results/wrk_c64.txt") == 64
    assert n_from_name("k6-32vus.json") == 32
    assert n_from_name("locust_users-25_stats.csv") == 25
    assert n_from_name("run_n8.json") == 8
    assert n_from_name("threads=16.jtl") == 16
    assert n_from_name("summary.json") is None
    assert n_from_name("load_L12_run.txt", r"L(\d+)") == 12
    with pytest.raises(InputError, match="--n-pattern"):
        n_from_name("x.txt", "(")


def test_n_resolution_user_then_data_then_name(tmp_path: Path):
    # locust stats has no user count: the file name gives n=25
    _, rows = rows_from_files([FIXTURES / "locust_users-25_stats.csv"], tier="app", config="c6i.large")
    assert list(rows["n"]) == [25]
    # --n overrides the tool's record for a one-level file
    _, rows = rows_from_files([FIXTURES / "k6_summary_export_vus10.json"], tier="app", config="c6i.large", n=12)
    assert list(rows["n"]) == [12]
    # but cannot label a file with several levels
    with pytest.raises(InputError, match="drop --n"):
        rows_from_files([FIXTURES / "wrk_runs.txt"], tier="app", config="c6i.large", n=8)
    # no n anywhere -> a message that says what to do
    nameless = tmp_path / "stats.csv"
    shutil.copy(FIXTURES / "locust_users-25_stats.csv", nameless)
    with pytest.raises(InputError, match="give --n"):
        rows_from_files([nameless], tier="app", config="c6i.large")


def test_repeats_are_numbered_and_merged_after_existing_rows(tmp_path: Path):
    out = tmp_path / "loadtest.csv"
    out.write_text("tier,config,n,throughput,note\napp,c6i.large,8,11000,first run\nweb,c6i.large,8,900,\n")
    original = out.read_text()
    _, rows = rows_from_files(
        [FIXTURES / "wrk_runs.txt", FIXTURES / "wrk_runs.txt"], tier="app", config="c6i.large"
    )
    assert list(rows["repeat"]) == [0, 0, 1, 1]
    table = write_loadtest(rows, out)
    text = out.read_text().splitlines()
    assert text[0] == "tier,config,n,throughput,note,level,repeat"
    assert text[1].startswith("app,c6i.large,8,11000,first run")  # the user's rows are kept
    df = read_loadtest(out)
    app8 = df[(df["tier"] == "app") & (df["n"] == 8)]
    assert sorted(app8["repeat"]) == [0, 1, 2]
    assert sorted(app8["throughput"]) == [11000, 12000, 12000]
    assert len(table) == 6
    # --force replaces the file with the new rows only
    write_loadtest(rows, out, force=True)
    assert len(read_loadtest(out)) == 4
    assert out.read_text() != original


def test_merge_rows_is_pure():
    existing = pd.DataFrame({"tier": ["app"], "config": ["c"], "n": ["4"], "throughput": ["10"]})
    new = points_to_rows(
        pd.DataFrame({"n": [4.0], "throughput": [12.5], "requests": [1.0], "failed": [0.0], "seconds": [1.0],
                      "source": ["x"], "tool": ["wrk"]}),
        tier="app",
        config="c",
    )
    before = existing.copy()
    merged = merge_rows(existing, new)
    pd.testing.assert_frame_equal(existing, before)
    assert list(merged["repeat"]) == ["0", "1"]
    assert merged["throughput"].iloc[1] == "12.5"


def test_cli_appends_and_keeps_the_file_on_errors(tmp_path: Path):
    out = tmp_path / "loadtest.csv"
    assert cli(["ingest", "loadtest", "--tier", "app", "--config", "c6i.large", str(FIXTURES / "wrk_runs.txt"),
                "--out", str(out)]) == 0
    assert cli(["ingest", "loadtest", "--tier", "app", "--config", "c6i.large",
                str(FIXTURES / "jmeter_results.jtl"), str(FIXTURES / "k6_stepped.csv"), "--out", str(out)]) == 0
    df = read_loadtest(out)
    assert sorted(df["n"]) == [2, 4, 4, 8, 8, 16]
    assert df.loc[df["n"] == 4, "repeat"].tolist() == [0, 1]
    before = out.read_text()
    junk = tmp_path / "junk.txt"
    junk.write_text("hello\n")
    assert cli(["ingest", "loadtest", "--tier", "app", "--config", "c6i.large", str(junk), "--out", str(out)]) == 2
    assert out.read_text() == before


def test_bad_tool_outputs_are_input_errors(tmp_path: Path):
    bad_json = tmp_path / "summary.json"
    bad_json.write_text('{"metrics": {"vus": {"value": 3}}}')
    with pytest.raises(InputError, match="http_reqs"):
        read_tool_output(bad_json)
    broken = tmp_path / "broken.json"
    broken.write_text("{ not json")
    with pytest.raises(InputError, match="valid JSON"):
        read_tool_output(broken, "k6")
    notes = tmp_path / "notes.txt"
    notes.write_text("we ran the test at 8 connections and it was fine\n")
    with pytest.raises(InputError, match="not a recognised load-test output"):
        detect_tool(notes)
    all_failed = tmp_path / "wrk_c4.txt"
    all_failed.write_text(
        "Running 1s test @ http://127.0.0.1/\n  1 threads and 4 connections\n"
        "  100 requests in 1.00s, 1KB read\n  Non-2xx or 3xx responses: 100\nRequests/sec: 100.00\n"
    )
    with pytest.raises(InputError, match="no successful request"):
        read_tool_output(all_failed)


def test_write_refuses_a_file_that_is_not_a_loadtest_csv(tmp_path: Path):
    out = tmp_path / "traffic.csv"
    out.write_text("date,count\n2026-01-01,5\n")
    _, rows = rows_from_files([FIXTURES / "wrk_runs.txt"], tier="app", config="c6i.large")
    with pytest.raises(InputError, match="load-test CSV"):
        write_loadtest(rows, out)
    assert out.read_text() == "date,count\n2026-01-01,5\n"
    with pytest.raises(OutputError):
        write_loadtest(rows, tmp_path / "traffic.csv" / "sub.csv")
