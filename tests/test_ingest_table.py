"""Tables of measurements (spreadsheets, published benchmarks) -> the load-test CSV.

The real tables in data/real/scaling are the reference: each must turn into
exactly the (n, throughput) points that bench/capacity.py builds from it by
hand, in requests per second, and the result must pass the load-test reader.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayescap.errors import InputError
from bayescap.ingest.loadtest_csv import rows_from_files, write_loadtest
from bayescap.ingest.table import TableOptions, unit_from_name
from bayescap.ingest.tools import detect_tool, read_tool_output
from bayescap.inputs.loadtest import read_loadtest

REPO = Path(__file__).resolve().parents[1]
SCALING = REPO / "data" / "real" / "scaling"
sys.path.insert(0, str(REPO))
from bench.capacity import nginx_frame, usl_benchmarks_frame  # noqa: E402
from test_ingest_tools import cli  # noqa: E402  (the ingest command through argparse)


def write(tmp_path: Path, text: str, name: str = "table.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("name", "fname", "per_second"),
    [("specsdm91", "usl_specsdm91.csv", 1 / 3600), ("raytracer", "usl_raytracer.csv", 1.0),
     ("cisco", "usl_cisco_schwartz.csv", 1.0)],
)
def test_real_usl_tables_are_detected_and_read_in_requests_per_second(name: str, fname: str, per_second: float):
    path = SCALING / fname
    assert detect_tool(path) == "table"
    points, rows = rows_from_files([path], tier=name, config=name)
    expected = usl_benchmarks_frame(SCALING).query("tier == @name")
    np.testing.assert_array_equal(rows["n"].to_numpy(), expected["n"].to_numpy())
    np.testing.assert_allclose(rows["throughput"].to_numpy(), expected["throughput"].to_numpy() * per_second, rtol=1e-12)
    assert (rows["tier"] == name).all() and (rows["repeat"] == 0).all()
    assert set(points["unit"]) == {"hour" if per_second != 1.0 else "second"}


def test_nginx_table_needs_a_choice_then_gives_one_config_per_response_size(tmp_path: Path):
    path = SCALING / "nginx_webserver_rps_vs_cpus.csv"
    with pytest.raises(InputError) as err:
        rows_from_files([path], tier="nginx", config="nginx")
    message = str(err.value)
    for column in ("protocol", "metric", "response_size_kb"):
        assert repr(column) in message
    assert "--where" in message and "nginx_webserver_rps_vs_cpus.csv" in message

    out = tmp_path / "loadtest.csv"
    argv = ["ingest", "loadtest", "--tool", "table", "--tier", "nginx-http", "--config", "nginx-http-{response_size_kb}kb",
            "--where", "protocol=http", "--where", "metric=requests_per_sec", str(path), "--out", str(out)]
    assert cli(argv) == 0
    written = read_loadtest(out)
    expected = nginx_frame(SCALING, "http")
    assert list(written["config"]) == list(expected["config"])
    np.testing.assert_array_equal(written["n"].to_numpy(float), expected["n"].to_numpy())
    np.testing.assert_array_equal(written["throughput"].to_numpy(float), expected["throughput"].to_numpy())
    # the same command again: the same measurements become repeat 1, nothing is overwritten
    assert cli(argv) == 0
    again = pd.read_csv(out)
    assert len(again) == 2 * len(expected) and sorted(again["repeat"].unique()) == [0, 1]


def test_numeric_where_named_columns_and_per_row_readings(tmp_path: Path):
    path = write(tmp_path, "size_kb,workers,rate,p99_ms,date\n1.0,1,100,5.1,2026-01-01\n1,2,190,5.3,2026-01-02\n"
                 "2,1,80,9.0,2026-01-03\n1,1,105,6.2,2026-01-04\n")
    opts = TableOptions(n_column="workers", throughput_column="rate", where=("size_kb=1",))
    _, rows = rows_from_files([path], tier="app", config="c-{size_kb}", tool="table", table=opts)
    assert list(rows["config"]) == ["c-1", "c-1", "c-1"]
    assert list(rows["throughput"]) == [100.0, 190.0, 105.0]
    assert list(rows["repeat"]) == [0, 0, 1]  # the latency and the date are readings, not set-ups


def test_a_label_column_with_one_level_measured_twice_is_a_mix(tmp_path: Path):
    path = write(tmp_path, "n,throughput,host\n1,100,a\n2,190,a\n1,90,b\n2,170,b\n")
    with pytest.raises(InputError, match="'host' has a, b"):
        rows_from_files([path], tier="app", config="c")
    _, rows = rows_from_files([path], tier="app", config="c", table=TableOptions(ignore_columns=("host",)))
    assert list(rows["repeat"]) == [0, 0, 1, 1]
    _, rows = rows_from_files([path], tier="app", config="c-{host}")
    assert list(rows["config"]) == ["c-a", "c-a", "c-b", "c-b"] and list(rows["repeat"]) == [0, 0, 0, 0]


def test_repeat_labels_and_units(tmp_path: Path):
    path = write(tmp_path, "users,requests_per_minute,run\n4,600,1\n4,660,2\n8,1200,1\n")
    points, rows = rows_from_files([path], tier="app", config="c")
    assert list(rows["throughput"]) == [10.0, 11.0, 20.0]
    assert list(rows["repeat"]) == [0, 1, 0]
    assert points["unit"].iloc[0] == "minute"
    _, rows = rows_from_files([path], tier="app", config="c", table=TableOptions(throughput_unit="second"))
    assert list(rows["throughput"]) == [600.0, 660.0, 1200.0]
    assert unit_from_name("throughput_scripts_per_hour") == "hour"
    assert unit_from_name("throughput_ops_per_sec") == "second"
    assert unit_from_name("rps") == "second"
    assert unit_from_name("value") is None


@pytest.mark.parametrize(
    ("text", "options", "where", "expected"),
    [
        ("n,throughput\n1,100\n2,abc\n", {}, "row 3, column 'throughput'", "a number, got 'abc'"),
        ("n,throughput\n1,100\n2.5,150\n", {}, "row 3, column 'n'", "whole number >= 1"),
        ("n,throughput\n1,100\n2,0\n", {}, "row 3, column 'throughput'", "throughput > 0"),
        ("n,throughput\n1,100\n2,\n", {}, "row 3, column 'throughput'", "a number, got ''"),
        ("users,threads,throughput\n1,1,100\n", {}, "header", "could each be it: name it with --n-column"),
        ("size,throughput\n1,100\n", {}, "header", "load-level (n) column"),
        ("n,throughput\n1,100\n", {"n_column": "cpus"}, "header", "a column 'cpus' (--n-column)"),
        ("n,throughput,proto\n1,100,http\n", {"where": ("proto=https",)}, "column 'proto'", "the rows have ['http']"),
        ("n,throughput\n1,100\n", {"where": ("proto=http",)}, "header", "a column 'proto' (--where proto=http)"),
    ],
)
def test_bad_tables_name_the_file_row_and_column(tmp_path: Path, text: str, options: dict, where: str, expected: str):
    path = write(tmp_path, text)
    with pytest.raises(InputError) as err:
        rows_from_files([path], tier="app", config="c", tool="table", table=TableOptions(**options))
    assert err.value.path == str(path)
    assert err.value.where == where
    assert expected in err.value.expected


def test_table_options_that_do_not_fit_are_refused(tmp_path: Path):
    table = write(tmp_path, "n,throughput\n1,100\n")
    with pytest.raises(InputError, match="no --n"):
        rows_from_files([table], tier="app", config="c", tool="table", n=4)
    with pytest.raises(InputError, match=r"\{size\} is not one of"):
        rows_from_files([table], tier="app", config="c-{size}", tool="table")
    wrk = REPO / "tests" / "fixtures" / "tools" / "wrk_runs.txt"
    with pytest.raises(InputError, match="placeholders are for tables"):
        rows_from_files([wrk], tier="app", config="c-{size}")
    with pytest.raises(InputError, match="table of measurements"):
        read_tool_output(table, "table")
    # a CSV that is neither a tool output nor a table says how to read it
    notes = write(tmp_path, "when,what\nmonday,x\n", "notes.csv")
    with pytest.raises(InputError, match="--tool table with --n-column"):
        detect_tool(notes)


def test_tables_and_tool_outputs_merge_into_one_file(tmp_path: Path):
    out = tmp_path / "loadtest.csv"
    table = write(tmp_path, "n,throughput\n8,12500\n32,20000\n")
    wrk = REPO / "tests" / "fixtures" / "tools" / "wrk_runs.txt"
    _, rows = rows_from_files([wrk, table], tier="app", config="c6i.large")
    write_loadtest(rows, out)
    got = read_loadtest(out)
    assert list(got["n"]) == [8, 16, 8, 32]
    assert list(got["repeat"]) == [0, 0, 1, 0]
