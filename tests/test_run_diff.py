"""`bayescap diff RUN_A RUN_B` (bayescap.run_diff): what went in differently between two runs and how the headline
numbers moved, on copies of the frozen run in tests/fixtures/runs/ with known edits."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from bayescap.commands.diff import diff_lines
from bayescap.run_diff import diff_runs
from tests.conftest import REPO

FROZEN = REPO / "tests" / "fixtures" / "runs" / "run-701cfbb"


def _copy(tmp_path: Path, name: str) -> Path:
    run = tmp_path / name
    shutil.copytree(FROZEN, run)
    return run


def _summary(run: Path) -> dict:
    return json.loads((run / "summary.json").read_text())


def _edit(run: Path, change) -> dict:
    summary = _summary(run)
    change(summary)
    (run / "summary.json").write_text(json.dumps(summary))
    return summary


def test_a_run_against_itself_changes_nothing(tmp_path: Path):
    run = _copy(tmp_path, "a")
    result = diff_runs(_summary(run), _summary(run))
    assert result["inputs_changed"] == [] and result["scenarios_only_in_a"] == []
    assert result["fits"].startswith("the same posteriors")
    lines = diff_lines(result)
    assert "What went in: the same inputs, settings and versions." in lines
    metric_lines = [line for line in lines if line.startswith("  ") and ":" in line and "fleet" not in line]
    assert metric_lines and all(line.endswith("(unchanged)") for line in metric_lines)


def test_the_changes_and_the_moved_numbers_are_named(tmp_path: Path):
    a, b = _copy(tmp_path, "a"), _copy(tmp_path, "b")

    def change(s: dict) -> None:
        s["run"]["seed"] = 5
        s["run"]["inputs"]["traffic"]["sha256"] = "0" * 64
        s["run"]["fit_key"] = "another"
        s["run"]["fits_reused_from"] = None
        s["checks"] = {"ok": True, "problems": [], "models": {}}
        base = s["scenarios"][0]
        cost = base["metrics"]["monthly_cost"]
        for q in ("median", "q05", "q95"):
            cost[q] *= 2.0  # far outside the first run's 90% interval
        runway = base["metrics"]["runway"]
        runway["median"] = (runway["q05"] + runway["median"]) / 2  # moved, but inside
        base["fleet"]["app"]["servers"] += 3
        s["scenarios"] = s["scenarios"][:-1]

    sb = _edit(b, change)
    sa = _summary(a)
    result = diff_runs(sa, sb, name_a=str(a), name_b=str(b))
    assert "the traffic history: content differs" in result["inputs_changed"]
    assert f"seed: {sa['run']['seed']} -> 5" in result["inputs_changed"]
    assert result["fits"].startswith("other posteriors")
    assert result["checks"]["a"]["ok"] is False and result["checks"]["b"]["ok"] is True
    assert result["scenarios_only_in_a"] == [sa["scenarios"][-1]["name"]]
    base = result["scenarios"][sa["scenarios"][0]["name"]]
    cost, runway = base["metrics"]["monthly_cost"], base["metrics"]["runway"]
    assert cost["relative_change"] == pytest.approx(1.0) and cost["inside_a_interval"] is False
    assert runway["inside_a_interval"] is True and runway["relative_change"] < 0
    assert base["fleet"]["app"]["b"]["servers"] == base["fleet"]["app"]["a"]["servers"] + 3
    text = "\n".join(diff_lines(result))
    assert "median +100.0%; outside A's 90% interval" in text
    assert "inside A's 90% interval" in text
    assert f"Model checks of A: FAILED (the report is a DRAFT): {sa['checks']['problems'][0]}" in text
    assert "Model checks of B: passed" in text
    assert f"Scenarios only in A: {sa['scenarios'][-1]['name']}" in text


def test_the_command_writes_json_and_refuses_what_is_not_a_run(tmp_path: Path, capsys):
    import bayescap.cli as cli

    a, b = _copy(tmp_path, "a"), _copy(tmp_path, "b")
    out = tmp_path / "diff.json"
    assert cli.main(["diff", str(a), str(b), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"A: {a}\nB: {b}\n")
    assert json.loads(out.read_text())["runs"] == {"a": str(a), "b": str(b)}
    assert cli.main(["diff", str(a), str(b), "--json", str(out)]) == 2  # an existing --json file: refused
    assert "--force" in capsys.readouterr().err
    assert cli.main(["diff", str(a), str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip()
    expected = "not a run directory (expected a folder written by 'bayescap forecast')"
    assert err == f"error: {tmp_path / 'missing'}: {expected}"


def test_paired_change_is_b_minus_a_draw_by_draw():
    from bayescap.run_diff import paired_change

    rng = np.random.default_rng(1)
    a = rng.normal(14.0, 1.0, 4000)  # the forecast's own spread is wide ...
    b = a + 0.2 + rng.normal(0.0, 0.05, 4000)  # ... the change between the runs is small and sure
    out = paired_change(a, b)
    assert out["median"] == pytest.approx(0.2, abs=0.01)
    assert 0.1 < out["q05"] < out["q95"] < 0.3 and out["share_b_higher"] > 0.99 and out["undefined_share"] == 0.0
    b[:400] = np.nan  # draws where some day is beyond any fleet are left out, and counted
    assert paired_change(a, b)["undefined_share"] == pytest.approx(0.1)
    with pytest.raises(ValueError, match="4000 and 10 draws"):
        paired_change(a, b[:10])


def test_runs_with_the_same_posteriors_and_seed_are_compared_draw_by_draw(tmp_path: Path, capsys):
    """A second run of the same fits and seed whose runway is 0.5 months longer in half of the draws (a scenario
    change): the medians barely move, the draw-by-draw change says exactly what happened. Another seed: no pairing."""
    import xarray as xr

    import bayescap.cli as cli

    a, b = _copy(tmp_path, "a"), _copy(tmp_path, "b")
    name = _summary(a)["scenarios"][0]["name"]
    with xr.open_dataset(a / "simulation.nc", engine="h5netcdf") as ds:
        sim = ds.load()
    shift = np.where(sim["draw"].values % 2 == 0, 0.5, 0.0)
    sim["runway_months"].loc[{"scenario": name}] = sim["runway_months"].sel(scenario=name) + shift
    sim.to_netcdf(b / "simulation.nc", engine="h5netcdf")

    def nudge(s: dict) -> None:
        s["scenarios"][0]["metrics"]["runway"]["median"] += 0.25

    _edit(b, nudge)
    assert cli.main(["diff", str(a), str(b), "--json", str(tmp_path / "d.json")]) == 0
    printed = capsys.readouterr().out
    result = json.loads((tmp_path / "d.json").read_text())
    assert result["draws_paired"] is True
    paired = result["scenarios"][name]["metrics"]["runway"]["paired"]
    assert paired["q05"] == 0.0 and paired["q95"] == pytest.approx(0.5) and paired["share_b_higher"] == pytest.approx(0.5)
    assert "draw by draw: " in printed and "B higher in 50% of draws" in printed
    assert "Draw k of each run is the same simulated future" in printed

    _edit(b, lambda s: s["run"].update(seed=5))
    result = diff_runs(_summary(a), _summary(b), draws=lambda *args: pytest.fail("other seeds are not paired"))
    assert result["draws_paired"] is False and "paired" not in result["scenarios"][name]["metrics"]["runway"]


def test_output_piped_into_a_reader_that_stops_early_ends_quietly(tmp_path: Path):
    """`bayescap diff A B | head`: when the reader closes the pipe, the command stops without a traceback."""
    import subprocess
    import sys

    script = ("import bayescap.commands.diff as d, bayescap.cli as c\n"
              "d.diff_lines = lambda result: ['line'] * 200_000\n"
              f"raise SystemExit(c.main(['diff', {str(FROZEN)!r}, {str(FROZEN)!r}]))\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=REPO)
    assert proc.stdout.readline() == b"line\n"
    proc.stdout.close()  # the reader stops, as `head -1` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 1
    assert "Traceback" not in err and "BrokenPipeError" not in err
