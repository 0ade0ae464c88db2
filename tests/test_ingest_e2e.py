"""End to end: a generated multi-week access log and a loopback load test -> CSVs the input readers accept.

The module-scoped fixture ``ingested_inputs`` is meant to be reused by a
forecast step (it returns the paths of traffic.csv, traffic_hourly.csv,
loadtest.csv and the tier split).
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from bayescap.commands import ingest as ingest_cmd
from bayescap.commands import loadtest as loadtest_cmd
from bayescap.errors import BayescapError
from bayescap.ingest.loopback import serve_loopback
from bayescap.ingest.synthetic import write_sale_holidays, write_synthetic_access_log
from bayescap.inputs.loadtest import read_loadtest
from bayescap.inputs.traffic import read_intraday, read_traffic

SEED = 20261126
WEEKS = 9


def run_cli(argv: list[str]) -> int:
    """The ingest and loadtest sub-commands through argparse, with the CLI's error handling."""
    parser = argparse.ArgumentParser(prog="bayescap")
    sub = parser.add_subparsers()
    ingest_cmd.register(sub)
    loadtest_cmd.register(sub)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except BayescapError as exc:
        raise AssertionError(f"CLI error: {exc}") from exc


@pytest.fixture(scope="module")
def ingested_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("e2e")
    log = write_synthetic_access_log(
        root / "logs" / "access.log",
        start="2026-08-03",
        days=7 * WEEKS,
        mean_daily_requests=600,
        sale_weekday=3,
        sale_lift=2.5,
        files=3,
        malformed_share=0.001,
        seed=SEED,
    )
    holidays = write_sale_holidays(root / "sales.csv", log)
    paths = {
        "traffic": root / "traffic.csv",
        "intraday": root / "traffic_hourly.csv",
        "tiers": root / "tiers.json",
        "loadtest": root / "loadtest.csv",
    }
    assert run_cli(["ingest", "logs", str(root / "logs" / "access.log*"), "--out", str(paths["traffic"]),
                    "--hourly", str(paths["intraday"]), "--logged-in-cookie", "session",
                    "--tier-split", str(paths["tiers"]), "--events", str(holidays)]) == 0
    with serve_loopback(service_seconds=0.004, max_requests=50_000) as server:
        for tier in ("static", "app"):
            assert run_cli(["loadtest", server.url(f"/{tier}"), "--tier", tier, "--config", "c6i.large",
                            "--levels", "1,2,4", "--seconds", "0.6", "--warmup", "0.1", "--generator", "python",
                            "--out", str(paths["loadtest"])]) == 0
        assert set(server.hits) == {"/static", "/app"}
    return {"paths": paths, "log": log}


def test_ingested_traffic_passes_the_traffic_reader(ingested_inputs: dict):
    paths, log = ingested_inputs["paths"], ingested_inputs["log"]
    df = read_traffic(paths["traffic"])
    assert len(df) == 7 * WEEKS
    assert df.attrs["event_types"] == ["sale"]
    np.testing.assert_array_equal(df["count"].to_numpy(), log.truth["count"].to_numpy())
    np.testing.assert_array_equal(df["event_sale"].to_numpy(), log.truth["event_sale"].to_numpy())
    # the sale lift is visible in the ingested data
    sale = df.loc[df["event_sale"] == 1, "count"].mean()
    wednesdays = df.loc[df["date"].dt.day_of_week == 2, "count"].mean()
    assert sale > 2 * wednesdays


def test_ingested_hourly_file_passes_the_intraday_reader(ingested_inputs: dict):
    hourly = read_intraday(ingested_inputs["paths"]["intraday"])
    assert len(hourly) == 24 * 7 * WEEKS
    assert hourly["count"].sum() == ingested_inputs["log"].truth["count"].sum()


def test_tier_split_matches_the_generated_share(ingested_inputs: dict):
    split = json.loads(ingested_inputs["paths"]["tiers"].read_text())
    truth = ingested_inputs["log"].truth
    expected = truth["count_logged_in"].sum() / truth["count"].sum()
    assert split["tiers"]["logged_in"]["share"] == pytest.approx(expected, abs=1e-6)
    assert split["tiers"]["logged_in"]["share"] + split["tiers"]["anonymous"]["share"] == pytest.approx(1.0)


def test_loopback_loadtest_passes_the_loadtest_reader(ingested_inputs: dict):
    df = read_loadtest(ingested_inputs["paths"]["loadtest"])
    assert sorted(df["tier"].unique()) == ["app", "static"]
    assert sorted(df["n"].unique()) == [1, 2, 4]
    assert (df["throughput"] > 0).all()
    # 4 ms service time: more concurrency serves more requests per second
    for _, tier in df.groupby("tier"):
        x = tier.set_index("n")["throughput"]
        assert x[4] > 1.5 * x[1]


def test_forecast_runs_on_ingested_logs_and_loopback_load_test(ingested_inputs: dict, tmp_path):
    """The whole user path: access logs + a loopback load test -> `bayescap forecast` -> a report."""
    import subprocess
    import sys

    from tests.conftest import DATA, REPO

    paths = ingested_inputs["paths"]
    split = json.loads(paths["tiers"].read_text())
    rows = split if isinstance(split, list) else split.get("tiers", split)
    shares = {r["tier"]: r["share"] for r in rows} if isinstance(rows, list) else {}
    anon = shares.get("anonymous", 0.8)
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(
        f"""schema_version = 1
name = "from-logs"
horizon_days = 28
[traffic]
requests_per_visit = 1   # the ingested daily count is requests
[[events]]
type = "sale"
weekday = "thursday"
[[tiers]]
name = "static"
share = {max(anon, 0.01):.4f}
instance_type = "c6i.large"
[[tiers]]
name = "app"
share = {max(1 - anon, 0.01):.4f}
instance_type = "c6i.large"
[finance]
cash_usd = 100000
monthly_burn_usd = 10000
"""
    )
    out = tmp_path / "reports"
    cmd = [sys.executable, "-m", "bayescap", "forecast", "--scenario", str(scenario), "--traffic", str(paths["traffic"]),
           "--intraday", str(paths["intraday"]), "--loadtest", str(paths["loadtest"]),
           "--prices", str(DATA / "prices" / "aws_ec2_ondemand_us_east_1.csv"), "--out", str(out),
           "--draws", "10", "--tune", "10", "--history-days", "0"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = [p for p in out.iterdir() if p.name.startswith("from-logs-")]
    assert len(runs) == 1
    summary = json.loads((runs[0] / "summary.json").read_text())
    assert [s["name"] for s in summary["scenarios"]] == ["from-logs"]
    assert (runs[0] / "report.pdf").stat().st_size > 10_000
