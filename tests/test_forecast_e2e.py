"""End to end: `bayescap forecast` on the example with tiny draws (DRAFT expected), reproducibility,
and summary.json agreeing with the saved draws and with the PDF."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bayescap.dims import DRAW, SCENARIO, TIER
from tests.conftest import REPO

TINY = ["--draws", "10", "--tune", "10", "--chains", "2"]


def _forecast(out, *extra, env=None):
    cmd = [sys.executable, "-m", "bayescap", "forecast", "--out", str(out), *TINY, *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=900, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    runs = sorted(p for p in out.iterdir() if not p.name.startswith("."))
    return proc, runs


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    # the first run compiles both models' log densities into empty caches, the second loads the machine code the
    # first cached: a machine's first run and its later runs must give the same numbers (with PyTensor's default
    # fast-math they did not, when the capacity model was sampled through its PyMC graph; compile_numba.py)
    out = tmp_path_factory.mktemp("reports")
    caches = tmp_path_factory.mktemp("compile-caches")
    flags = ",".join(f for f in (os.environ.get("PYTENSOR_FLAGS", ""), f"base_compiledir={caches / 'pytensor'}") if f)
    env = {**os.environ, "PYTENSOR_FLAGS": flags, "BAYESCAP_CACHE_DIR": str(caches / "c")}
    first, _ = _forecast(out, "--backtest", env=env)
    cached = sorted(p.name.split("-")[0] for p in (caches / "c").glob("*.so"))
    assert cached == ["capacity_density", "traffic_density"], cached
    # --refit: the second run samples again (by default it would reuse the first run's posteriors)
    second, runs = _forecast(out, "--refit", "--backtest", env=env)
    assert len(runs) == 2, "the second run must not overwrite the first"
    assert "reusing" not in second.stdout
    return first, runs


@pytest.fixture(scope="module")
def reused_run(two_runs):
    """A third run with the same inputs, without --refit: it loads the newest matching run's posteriors."""
    _, runs = two_runs
    proc, all_runs = _forecast(runs[0].parent, "--backtest")
    (third,) = [r for r in all_runs if r not in runs]
    return proc, third


def test_a_run_with_unchanged_data_reuses_the_posteriors_and_gives_the_same_numbers(two_runs, reused_run):
    _, runs = two_runs
    proc, third = reused_run
    assert f"reusing the posteriors of {runs[1].name}" in proc.stdout
    assert "model fitted in" not in proc.stdout
    fresh, reused = (json.loads((r / "summary.json").read_text()) for r in (runs[1], third))
    assert reused["run"].pop("fits_reused_from") == runs[1].name
    assert fresh["run"].pop("fits_reused_from") is None
    assert reused == fresh, "every number equals the refitted run's"
    a = xr.open_datatree(runs[1] / "posteriors.nc", engine="h5netcdf")
    b = xr.open_datatree(third / "posteriors.nc", engine="h5netcdf")
    xr.testing.assert_identical(a["traffic/posterior"].to_dataset(), b["traffic/posterior"].to_dataset())
    xr.testing.assert_identical(a["capacity/posterior"].to_dataset(), b["capacity/posterior"].to_dataset())
    from pypdf import PdfReader

    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(third / "report.pdf").pages)
    assert f"posteriors reused from run {runs[1].name}" in text


def test_backtest_on_the_runs_own_history_is_in_the_summary_and_the_report(two_runs, reused_run):
    """--backtest: the last 112 days of the example's history in 4 windows, refitted on the 679 days before the
    first (the history spans 791 days), scored against the seasonal naive forecast; reused with the fits."""
    from pypdf import PdfReader

    first, runs = two_runs
    bt = json.loads((runs[0] / "summary.json").read_text())["backtest"]
    assert set(bt["methods"]) == {"bayescap", "seasonal_naive"}
    assert bt["protocol"]["train_days"] == 679 and bt["protocol"]["test_days"] == 112
    assert bt["protocol"]["first_test_day"] == "2026-07-12" and bt["protocol"]["last_test_day"] == "2026-10-31"
    own = bt["methods"]["bayescap"]
    assert own["n_days"] == 112 and len(own["origins"]) == 4 and 0 < own["rel_crps"] < 1
    assert bt["coverage_ranges"] == {"cov80": [0.726, 0.874], "cov95": [0.91, 0.99]}
    assert "days" not in own and len(own["rel_crps_interval"]) == 2  # per-day scores stay out of the summary
    naive = bt["comparisons"]["seasonal_naive"]
    assert naive["difference"] == pytest.approx(own["rel_crps"] - bt["methods"]["seasonal_naive"]["rel_crps"], rel=1e-4)
    assert "backtest origin 4/4: train 2024-11-24..2026-10-03, test 2026-10-04..2026-10-31" in first.stdout
    proc, third = reused_run
    assert f"backtest: reusing that of {runs[1].name}" in proc.stdout and "backtest bayescap" not in proc.stdout
    pages = [" ".join(p.extract_text().split()) for p in PdfReader(runs[0] / "report.pdf").pages]
    assert "How good the traffic forecast was: forecasting the last 112 days of the history" in pages[0]
    assert any("refitted on the 679 days before it" in p and "seasonal naive" in p for p in pages)
    assert any("How sure these scores are: resampling the test days in blocks of 14 days" in p for p in pages)


def test_a_history_too_short_for_the_backtest_still_gets_its_forecast(tmp_path):
    """`make forecast ARGS="--traffic short.csv"` passes --backtest: a history under 294 days skips it with a note
    (console, summary.json, the report's backtest section) instead of refusing the forecast."""
    from pypdf import PdfReader

    lines = (REPO / "data" / "example" / "traffic.csv").read_text().splitlines()
    short = tmp_path / "short.csv"
    short.write_text("\n".join([lines[0], *lines[-250:]]) + "\n")
    out = tmp_path / "reports"
    out.mkdir()
    proc, (run,) = _forecast(out, "--traffic", str(short), "--backtest")
    assert "note: no backtest: it needs a traffic history of at least 294 days for --backtest" in proc.stdout
    summary = json.loads((run / "summary.json").read_text())
    assert summary["backtest"] is None and "this one spans 251 days" in summary["run"]["backtest_skipped"]
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(run / "report.pdf").pages)
    assert "no backtest: it needs a traffic history of at least 294 days" in text


def test_run_directory_is_complete(two_runs):
    _, runs = two_runs
    for run in runs:
        for name in ("report.pdf", "summary.json", "posteriors.nc", "simulation.nc", "manifest.json"):
            assert (run / name).stat().st_size > 0, name
    assert not [p for p in runs[0].parent.iterdir() if p.name.startswith(".")], "no partial directory left"


def test_tiny_draws_give_a_draft_report(two_runs):
    from pypdf import PdfReader

    proc, runs = two_runs
    summary = json.loads((runs[0] / "summary.json").read_text())
    assert summary["checks"]["ok"] is False
    assert summary["checks"]["problems"]
    # the report's diagnostics table has every column filled (the capacity model samples twice the chains and draws,
    # and, its 20 draws per chain failing the checks without divergences, was sampled again with 40)
    for model, chains, draws in (("capacity", 4, 40), ("traffic", 2, 10)):
        d = summary["checks"]["models"][model]
        assert d["chains"] == chains and d["draws"] == draws and d["min_ess_tail"] is not None
    used = summary["run"]["capacity_sampler"]
    assert used["draws"] == 40 and used["resampled_after"] and all(p.startswith("capacity: ") for p in used["resampled_after"])
    assert "capacity model: " in proc.stdout and "sampling again with 40" in proc.stdout
    assert "DRAFT" in proc.stdout
    pages = [p.extract_text() for p in PdfReader(runs[0] / "report.pdf").pages]
    assert "DRAFT" in pages[0] and "model checks failed" in pages[0]
    assert all("DRAFT" in text for text in pages), "every page carries the banner"
    # the report names the finished run directory, not the staging one it was built in
    text = " ".join(" ".join(t.split()) for t in pages)
    assert f"bayescap report {runs[0]}" in text.replace("\n", " ") and ".partial-" not in text
    # the appendix states each model's own sampler settings
    assert "traffic model 2 chains × 10 draws after 10 tuning steps" in text
    assert "capacity model 4 chains × 40 draws after 20 tuning steps" in text
    # and the NUTS target acceptance the capacity fit kept (0.9, or 0.98 after a divergence at 0.9)
    assert used["target_accept"] in (0.9, 0.98)
    assert f"capacity model 4 chains × 40 draws after 20 tuning steps, target acceptance {used['target_accept']:g}" in text
    assert "the capacity model was sampled again with twice the draws after its first run failed the checks" in text
    # the example's [sweep]: the baseline at six sale intensities, its own page
    sweep = summary["sweep"]
    assert [p["intensity"] for p in sweep["points"]] == [1.0, 1.5, 2.0, 3.0, 4.0, 6.0]
    assert sweep["answer"]["max_intensity"] in [*sweep["intensities"], None]
    assert "How aggressive can the sales be?" in text and sweep["statements"][0] in text


def test_same_seed_and_inputs_give_identical_summary(two_runs):
    _, runs = two_runs
    a, b = ((r / "summary.json").read_text() for r in runs)
    assert a == b


def test_summary_quantiles_equal_those_of_the_saved_draws(two_runs):
    _, runs = two_runs
    summary = json.loads((runs[0] / "summary.json").read_text())
    sim = xr.open_dataset(runs[0] / "simulation.nc", engine="h5netcdf")
    checked = 0
    for sc in summary["scenarios"]:
        for metric, q in sc["metrics"].items():
            source = q.get("source") or metric
            if source not in sim:
                continue
            da = sim[source].sel({SCENARIO: sc["name"]})
            if q.get(TIER) is not None:
                da = da.sel({TIER: q[TIER]})
            vals = da.values.ravel() if da.dims == (DRAW,) else None
            if vals is None:
                continue
            vals = vals[np.isfinite(vals)]
            method = "inverted_cdf" if np.all(vals == np.round(vals)) else "linear"  # servers: values the draws take
            for key, p in (("median", 0.5), ("q05", 0.05), ("q95", 0.95)):
                assert np.isclose(np.quantile(vals, p, method=method), q[key], rtol=1e-5), (sc["name"], metric, key)
            checked += 1
    assert checked >= 3 * len(summary["scenarios"])


def test_cli_prints_run_directory_and_key_numbers(two_runs):
    proc, runs = two_runs
    assert str(runs[0].name) in proc.stdout or str(runs[1].name) in proc.stdout
    assert re.search(r"\$[\d,]+", proc.stdout), "the key cost numbers are printed"


def test_load_run_returns_one_datatree(two_runs):
    import bayescap

    _, runs = two_runs
    tree = bayescap.load_run(runs[0])
    assert set(tree.children) >= {"capacity", "traffic", "simulation"}
    assert "sigma" in tree["capacity/posterior"].data_vars
    assert DRAW in tree["simulation"].dims


def test_report_reads_what_the_real_fit_writes(two_runs):
    # the report's tests mostly use a synthetic run; these are the parts whose layout only a real fit shows:
    # the history's event flags (traffic/constant_data) and each load-test row's configuration (obs_config)
    import matplotlib

    matplotlib.use("Agg")
    from bayescap.report import render_pages
    from bayescap.report.run_files import read_run

    _, runs = two_runs
    files = read_run(runs[0])
    figs, _ = render_pages(files)
    axes = [ax for fig in figs for ax in fig.axes]
    fan = next(ax for ax in axes if ax.get_ylabel() == "visitors per day")
    dots = [line for line in fan.get_lines() if line.get_label() == "event day"]
    assert len(dots) == 1 and len(dots[0].get_xdata()) > 10  # a sale every Thursday in the half year shown
    check = next(ax for ax in axes if ax.get_xlabel().startswith("measured throughput"))
    configs = {str(c) for c in files.group("capacity", "observed_data")["obs_config"].values}
    labels = {t.get_text().removesuffix(" cluster") for t in check.get_legend().get_texts()}
    assert labels == configs and len(configs) > 1
    # the capacity charts draw every measured node-level point, in its configuration's panel, and no cluster row
    loadtest = pd.read_csv(REPO / "data" / "example" / "loadtest.csv")
    node_rows = loadtest[loadtest["level"] == "node"]
    panels = [ax for ax in axes if ax.get_xlabel() == "cores (or workers) in use"]
    points = [line for ax in panels for line in ax.get_lines() if line.get_marker() == "o"]
    drawn = sorted(zip(np.concatenate([p.get_xdata() for p in points]), np.concatenate([p.get_ydata() for p in points])))
    assert drawn == sorted(zip(node_rows["n"].astype(float), node_rows["throughput"].astype(float)))
    # the event-lift chart draws the density of the very draws whose quantiles summary.json states
    forest = next(ax for ax in axes if ax.get_xlabel().startswith("visitors on an event day"))
    violins = [c for c in forest.collections if type(c).__name__ == "FillBetweenPolyCollection"]
    assert len(violins) == len(files.summary["traffic"]["event_lift"]) >= 1


def test_the_examples_static_fleets_rest_on_the_scale_out_prior_and_page_one_says_so(two_runs):
    # the example's load test has no run of several static servers together: every static fleet above one server
    # rests on the prior of sigma', kappa' (bayescap.capacity_caveats)
    from pypdf import PdfReader

    _, runs = two_runs
    summary = json.loads((runs[0] / "summary.json").read_text())
    (prior,) = [c for c in summary["caveats"] if c["kind"] == "scale_out_prior"]
    largest = max(p["fleet"]["static"]["servers"] or 0 for p in [*summary["scenarios"], *summary["sweep"]["points"]])
    assert prior["tier"] == "static" and prior["servers"] == largest >= 2
    assert all(c["tier"] == "app" for c in summary["caveats"] if c["kind"] == "scale_out_extrapolated")
    assert {r["tier"]: r["scale_out_prior"] for r in summary["scale_cost"]} == {"static": True, "app": False}
    page1 = " ".join(PdfReader(runs[0] / "report.pdf").pages[0].extract_text().split())
    assert "Caveat: No load test ran several 'static' servers together" in page1
