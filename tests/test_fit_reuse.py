"""Which changes invalidate an earlier run's posteriors (bayescap.fit_reuse), and the netCDF round trip
that reusing them relies on. The end-to-end reuse (same numbers as a refit) is in test_forecast_e2e.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from bayescap.fit_reuse import find_run_with_key
from bayescap.pipeline import RunOptions, _recent, fit_settings, load_inputs, software_versions
from bayescap.runstore import read_datatree, write_datatree
from tests.conftest import REPO

EXAMPLE = REPO / "data" / "example"


@pytest.fixture()
def example(tmp_path: Path) -> Path:
    for name in ("scenarios.toml", "traffic.csv", "loadtest.csv", "traffic_hourly.csv"):
        shutil.copy(EXAMPLE / name, tmp_path / name)
    return tmp_path


def example_options(folder: Path, **changes) -> RunOptions:
    return RunOptions(scenario=folder / "scenarios.toml", traffic=folder / "traffic.csv",
                      loadtest=folder / "loadtest.csv", prices=REPO / "data" / "prices" / "aws_ec2_ondemand_us_east_1.csv",
                      intraday=folder / "traffic_hourly.csv", out=folder / "reports", **changes)


def key_of(folder: Path, **changes) -> str:
    from bayescap.fit_reuse import fit_key

    opts = example_options(folder, **{k: v for k, v in changes.items() if k != "seed"})
    inputs = load_inputs(opts)
    seed = changes.get("seed", 20261126)
    return fit_key(loadtest=inputs["loadtest"], history=_recent(inputs["traffic"], opts.history_days),
                   intraday=inputs["intraday"], settings=fit_settings(inputs, opts, seed),
                   versions=software_versions())


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_scenario_changes_keep_the_key_data_and_settings_change_it(example: Path):
    base = key_of(example)
    assert key_of(example) == base
    # scenarios: the sale's intensity, the fleet policy, a tier's instance type -> the same posteriors
    edit(example / "scenarios.toml", "intensity = 1.0", "intensity = 1.5")
    edit(example / "scenarios.toml", 'fleet = { policy = "autoscale"', 'fleet = { policy = "static"')
    assert key_of(example) == base
    # the traffic history before the last 730 days is not fitted
    lines = (example / "traffic.csv").read_text().splitlines()
    first = lines[1].split(",")
    first[1] = str(int(float(first[1])) + 1)
    (example / "traffic.csv").write_text("\n".join([lines[0], ",".join(first), *lines[2:]]) + "\n")
    assert key_of(example) == base
    changed = {
        "seed": key_of(example, seed=1),
        "draws": key_of(example, draws=999),
        "history": key_of(example, history_days=365),
    }
    assert base not in changed.values() and len(set(changed.values())) == 3
    # the last day of the history, a load-test row, a prior
    last = lines[-1].split(",")
    last[1] = str(int(float(last[1])) + 1)
    (example / "traffic.csv").write_text("\n".join([lines[0], *lines[1:-1], ",".join(last)]) + "\n")
    assert key_of(example) != base
    shutil.copy(EXAMPLE / "traffic.csv", example / "traffic.csv")
    assert key_of(example) == base
    lt = (example / "loadtest.csv").read_text().splitlines()
    row = lt[1].split(",")
    row[4] = str(float(row[4]) * 1.01)
    (example / "loadtest.csv").write_text("\n".join([lt[0], ",".join(row), *lt[2:]]) + "\n")
    assert key_of(example) != base
    shutil.copy(EXAMPLE / "loadtest.csv", example / "loadtest.csv")
    edit(example / "scenarios.toml", 'competitor_events = "effect"', 'competitor_events = "exclude"')
    exclude = key_of(example)
    assert exclude != base
    # a traffic-model option from the scenario file ([traffic] model) is a fit setting too
    edit(example / "scenarios.toml", 'competitor_events = "exclude"',
         'competitor_events = "exclude"\nmodel = { knot_spacing = 14 }')
    assert key_of(example) not in (base, exclude)
    from bayescap.pipeline import traffic_options

    inputs = load_inputs(example_options(example))
    assert traffic_options(inputs["scenarios"][0]) == {"competitor_events": "exclude", "knot_spacing": 14}


def test_find_run_with_key_takes_the_newest_finished_run(tmp_path: Path):
    def run(name: str, key: str, created: str, posteriors: bool = True) -> Path:
        d = tmp_path / name
        d.mkdir()
        (d / "manifest.json").write_text(json.dumps({"fit_key": key, "created": created}))
        if posteriors:
            (d / "posteriors.nc").write_bytes(b"x")
        return d

    assert find_run_with_key(tmp_path / "missing", "k") is None
    run("a", "k", "2026-11-27T10:00:00")
    newest = run("b", "k", "2026-11-27T11:00:00")
    run("c", "other", "2026-11-27T12:00:00")
    run("d", "k", "2026-11-27T13:00:00", posteriors=False)  # incomplete: no posteriors
    run(".partial-e", "k", "2026-11-27T14:00:00")  # a run still being written
    bad = tmp_path / "f"
    bad.mkdir()
    (bad / "manifest.json").write_text("{not json")
    assert find_run_with_key(tmp_path, "k") == newest
    assert find_run_with_key(tmp_path, "none") is None


def test_read_datatree_restores_the_attrs_write_datatree_encoded(tmp_path: Path):
    ds = xr.Dataset({"x": ("draw", np.arange(3.0))})
    tree = xr.DataTree.from_dict({"/traffic/posterior": ds})
    node = tree["traffic"]
    node.attrs = {"priors": json.dumps({"a": 1}), "scores": {"2": 0.5}, "flag": False, "none": None,
                  "orders": [2, 4], "n": 3, "name": "centred"}
    write_datatree(tmp_path / "t.nc", tree)
    back = read_datatree(tmp_path / "t.nc")
    assert back["traffic"].attrs == node.attrs  # JSON text stays text; dicts, booleans, None, lists come back
    xr.testing.assert_identical(back["traffic/posterior"].to_dataset(), ds)


def test_an_unreadable_earlier_posterior_is_refitted_not_fatal(example: Path, monkeypatch):
    from bayescap import pipeline

    opts = example_options(example)
    inputs = load_inputs(opts)
    sampled = {"capacity": "sampled", "traffic": "sampled", "history": None}
    monkeypatch.setattr(pipeline, "fit_models", lambda *a, **k: sampled)
    fits, key, source = pipeline.fit_or_reuse(inputs, opts, 20261126, log=lambda _: None)
    assert fits is sampled and source is None
    old = opts.out / "baseline-20261127-101010"
    old.mkdir(parents=True)
    (old / "manifest.json").write_text(json.dumps({"fit_key": key, "created": "2026-11-27T10:10:10"}))
    (old / "posteriors.nc").write_bytes(b"truncated")
    said: list[str] = []
    fits, _, source = pipeline.fit_or_reuse(inputs, opts, 20261126, log=said.append)
    assert fits is sampled and source is None
    assert any("not reusing the posteriors of baseline-20261127-101010" in line for line in said)
    # a readable file with the right key is reused ...
    tree = xr.DataTree.from_dict({"/capacity/posterior": xr.Dataset({"sigma": ("draw", [0.1])}),
                                  "/traffic/posterior": xr.Dataset({"nu": ("draw", [9.0])})})
    write_datatree(old / "posteriors.nc", tree)
    fits, _, source = pipeline.fit_or_reuse(inputs, opts, 20261126, log=said.append)
    assert source == old and float(fits["capacity"]["posterior"]["sigma"][0]) == 0.1
    # ... unless --refit
    fits, _, source = pipeline.fit_or_reuse(inputs, example_options(example, refit=True), 20261126, log=said.append)
    assert fits is sampled and source is None


def test_the_c_densities_and_the_compiler_are_part_of_the_key(monkeypatch, tmp_path: Path):
    """A change to a C density (or a header it includes) or another C compiler gives other numbers: a refit."""
    from bayescap import fit_reuse
    from bayescap.models import c_build

    folder = tmp_path / "models"
    folder.mkdir()
    for name in ("model.py", "density.c", "common.h"):
        (folder / name).write_text(f"// {name}\n")
    monkeypatch.setattr(fit_reuse, "MODELS_DIR", folder)
    digests = [fit_reuse.models_source_digest()]
    for name in ("density.c", "common.h", "model.py"):
        (folder / name).write_text(f"// {name}, edited\n")
        digests.append(fit_reuse.models_source_digest())
    assert len(set(digests)) == 4
    assert software_versions()["C compiler"] == c_build.compiler_version() != ""
    monkeypatch.setenv("CC", "/nonexistent/cc")
    assert software_versions()["C compiler"].startswith("none")


def _finished_run(folder: Path, key: str, created: str, **manifest) -> Path:
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"fit_key": key, "created": created, **manifest}))
    (folder / "posteriors.nc").write_bytes(b"x")
    return folder


def test_find_run_with_key_looks_in_each_folder_in_turn(tmp_path: Path):
    """--out first, then each --reuse-from: a folder of runs or a run directory itself."""
    out, shared = tmp_path / "out", tmp_path / "shared"
    out.mkdir()
    in_shared = _finished_run(shared / "baseline-20261127-100000", "k", "2026-11-27T10:00:00")
    named = _finished_run(tmp_path / "elsewhere" / "run-a", "k", "2026-11-28T10:00:00")
    assert find_run_with_key([out, shared], "k") == in_shared
    assert find_run_with_key([out, named], "k") == named  # a run directory named directly
    assert find_run_with_key([out, shared, named], "k") == in_shared  # the first folder with a match wins
    in_out = _finished_run(out / "baseline-20261129-100000", "k", "2026-11-26T10:00:00")
    assert find_run_with_key([out, shared, named], "k") == in_out  # even when older: --out comes first
    assert find_run_with_key([out, shared, named], "other") is None


def test_why_not_reused_names_what_differs(tmp_path: Path):
    from bayescap import __version__
    from bayescap.fit_reuse import why_not_reused

    inputs = {"loadtest": {"sha256": "L"}, "traffic": {"sha256": "T"}, "intraday": {"sha256": "I"}}
    options = {"draws": 1000, "tune": 1000, "chains": 2, "history_days": 730}
    run = _finished_run(tmp_path / "run", "k", "2026-11-27T10:00:00", seed=7, inputs=inputs, options=options,
                        versions={"bayescap": __version__})
    now = {"seed": 7, "draws": 1000, "tune": 1000, "chains": 2, "history_days": 730, "bayescap": __version__,
           "inputs": {"loadtest": "L", "traffic": "T", "intraday": "I"}}
    assert "its fit key differs" in why_not_reused(run, now)  # the same files and settings: priors or code differ
    why = why_not_reused(run, {**now, "seed": 8, "draws": 500, "inputs": {"loadtest": "L2", "traffic": "T"}})
    assert why == ("it differs in the load-test file; the intraday file; the seed (7 there, 8 here); "
                   "--draws (1000 there, 500 here)")
    (run / "posteriors.nc").unlink()
    assert why_not_reused(run, now) == "it has no posteriors.nc"
    (run / "manifest.json").write_text("{not json")
    assert why_not_reused(run, now) == "its manifest.json cannot be read"


def test_reuse_from_another_folder_and_the_notes_when_nothing_matches(example: Path, monkeypatch):
    from bayescap import pipeline

    sampled = {"capacity": "sampled", "traffic": "sampled", "history": None}
    monkeypatch.setattr(pipeline, "fit_models", lambda *a, **k: sampled)
    opts = example_options(example)
    inputs = load_inputs(opts)
    key = pipeline.fit_or_reuse(inputs, opts, 20261126, log=lambda _: None)[1]
    tree = xr.DataTree.from_dict({"/capacity/posterior": xr.Dataset({"sigma": ("draw", [0.1])}),
                                  "/traffic/posterior": xr.Dataset({"nu": ("draw", [9.0])})})
    team = example / "team-runs"
    other = team / "baseline-20261120-090000"
    other.mkdir(parents=True)
    write_datatree(other / "posteriors.nc", tree)
    (other / "manifest.json").write_text(json.dumps({"fit_key": key, "created": "2026-11-20T09:00:00"}))
    said: list[str] = []
    fits, _, source = pipeline.fit_or_reuse(inputs, example_options(example, reuse_from=(team,)), 20261126,
                                            log=said.append)
    assert source == other and float(fits["capacity"]["posterior"]["sigma"][0]) == 0.1
    assert pipeline.run_label(source, opts.out) == str(other)  # outside --out: the report names its path
    assert any(str(other) in line and "reusing the posteriors" in line for line in said)
    # another seed: nothing to reuse, and the console says why for a named run, and that a folder had none
    said.clear()
    fits, _, source = pipeline.fit_or_reuse(inputs, example_options(example, reuse_from=(team, other)), 5,
                                            log=said.append)
    assert fits is sampled and source is None
    assert f"note: no run in {team} was fitted to the same data, priors, seed, sampler settings and code" in said
    named = [line for line in said if line.startswith(f"note: not reusing the posteriors of {other}")]
    assert len(named) == 1 and "it differs in" in named[0] and "the load-test file" in named[0], said


def test_reuse_from_a_missing_folder_is_refused_before_any_work(example: Path, capsys, monkeypatch):
    import bayescap.cli as cli
    from bayescap import pipeline

    monkeypatch.setattr(pipeline, "load_inputs", lambda *_: pytest.fail("inputs read before the check"))
    missing = example / "no-such-runs"
    code = cli.main(["forecast", "--reuse-from", str(missing), "--out", str(example / "reports")])
    err = capsys.readouterr().err
    assert code == 2
    expected = "an existing run directory (reports/<run>) or a folder of runs"
    assert err.strip() == f"error: {missing}: --reuse-from: {expected}"
    assert not (example / "reports").exists()
