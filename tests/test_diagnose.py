"""The analyst's commands on saved runs: `bayescap diagnose` and `bayescap compare` (synthetic runs, no fitting)."""

from __future__ import annotations

import re
import types

import pytest

from bayescap.commands import compare as compare_cmd
from bayescap.commands import diagnose as diagnose_cmd
from bayescap.errors import InputError, ModelError
from bayescap.report.synthetic_run import write_synthetic_run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def runs(tmp_path_factory, seed):
    root = tmp_path_factory.mktemp("analyst")
    a = write_synthetic_run(root / "with-event-noise", seed=seed, draws=100, n_scenarios=1)
    b = write_synthetic_run(root / "without-event-noise", seed=seed + 1, draws=100, n_scenarios=1)
    return a, b


def test_diagnose_prints_the_table_and_writes_trace_rank_and_ppc_plots(runs, capsys):
    run = runs[0]
    assert diagnose_cmd.run(types.SimpleNamespace(run_dir=run, no_plots=False)) == 0
    out = capsys.readouterr().out
    assert "capacity: divergences 0, chains 2, draws per chain 50" in out
    assert "traffic: divergences 0" in out
    for var in ("sigma", "kappa", "lam", "new_event_lift"):
        assert f"  {var} " in out
    # the traffic model's posterior predictive check, with its numbers (the report's page 1 uses the same check)
    ppc = [line for line in out.splitlines() if "posterior predictive check of daily" in line]
    assert len(ppc) == 1 and "(replicated histories, 95% interval): " in ppc[0]
    assert re.search(r"\n    typical  \(quantile 0\.5\): observed [\d,]+, replicated [\d,]+\.\.[\d,]+, "
                     r"p\(replicated >= observed\) = [01]\.\d{3}\n", out)
    assert re.search(r"\n    busy     \(quantile 0\.95\): observed ", out)
    outside = re.search(r"\n    (\d+) days outside all (\d+) replicas of the day \(a model that fits leaves about "
                        r"(\d+\.\d) there by chance\); the furthest:\n      \d{4}-\d\d-\d\d: observed [\d,]+, "
                        r"(above|below) them \(their median [\d,]+\)\n", out)
    from bayescap.checks import traffic_ppc_of
    from bayescap.report.run_files import read_run

    check = traffic_ppc_of(read_run(run).posteriors["traffic"])
    if check["days_outside"]:  # listed only when some day is outside every replica
        assert outside is not None and int(outside.group(1)) == check["days_outside"]
        assert f"      {check['outliers'][0]['date']}: observed " in outside.group(0)
    else:
        assert outside is None and "days outside all" not in out
    # the capacity model's load-test check, as `bayescap capacity` prints it
    from bayescap.checks import capacity_ppc_of

    cap = read_run(run).posteriors["capacity"]
    load = capacity_ppc_of(*(cap[g].to_dataset() for g in ("observed_data", "posterior_predictive", "constant_data")))
    assert load["ok"] and load["repeats"]  # the synthetic load test repeats its levels
    first = next(label for label in load["repeats"])
    assert (f"\n  load-test check: {load['inside']} of {load['rows']} measurements inside the model's 90% prediction "
            f"ranges (a model that fits: at least {load['min_inside']}); repeated runs spread {first} ") in out
    assert "model checks:" in out
    folders = list(run.glob("diagnostics-*"))
    assert len(folders) == 1
    pngs = sorted(p.name for p in folders[0].glob("*.png"))
    assert pngs == sorted(f"{m}-{k}.png" for m in ("capacity", "traffic") for k in ("trace", "rank", "ppc"))
    for p in folders[0].glob("*.png"):
        assert p.read_bytes()[:8] == PNG_MAGIC and p.stat().st_size > 5_000


def test_diagnose_table_only_and_its_verdict_uses_the_thresholds(runs, capsys):
    # 100 synthetic draws cannot reach a bulk ESS of 400: the verdict must say so
    assert diagnose_cmd.run(types.SimpleNamespace(run_dir=runs[1], no_plots=True)) == 0
    out = capsys.readouterr().out
    assert "model checks: FAILED" in out and "< 400" in out
    assert not list(runs[1].glob("diagnostics-*"))


def test_compare_ranks_variants_by_loo(runs, capsys):
    a, b = runs
    args = types.SimpleNamespace(paths=[a, b / "posteriors.nc"], group="traffic", names=None)
    assert compare_cmd.run(args) == 0
    out = capsys.readouterr().out
    assert "LOO comparison of the traffic model (2 variants; best first)" in out
    assert "with-event-noise" in out and "without-event-noise" in out
    assert "elpd" in out and "weight" in out


def test_compare_needs_log_likelihood_and_two_variants(runs):
    a, b = runs
    with pytest.raises(InputError, match="log_likelihood"):
        compare_cmd.run(types.SimpleNamespace(paths=[a, b], group="capacity", names=None))
    with pytest.raises(ModelError, match="at least two"):
        compare_cmd.run(types.SimpleNamespace(paths=[a], group="traffic", names=None))
    with pytest.raises(InputError, match="2 names"):
        compare_cmd.run(types.SimpleNamespace(paths=[a, b], group="traffic", names="only-one"))


def test_ppc_uses_the_log_scale_for_positive_data_spanning_decades():
    import numpy as np
    import xarray as xr

    rng = np.random.default_rng(0)
    visits = np.exp(rng.normal(8, 1, 200))  # a factor of e**6 between the quietest and the busiest day
    flat = rng.uniform(90, 110, 200)
    obs = xr.Dataset({"count": ("day", visits), "load": ("day", flat)})
    rep = xr.Dataset({"count": (("chain", "draw", "day"), np.broadcast_to(visits, (2, 5, 200))),
                      "load": (("chain", "draw", "day"), np.broadcast_to(flat, (2, 5, 200)))})
    node = xr.DataTree.from_dict({"observed_data": obs, "posterior_predictive": rep})
    out = diagnose_cmd._ppc_tree(node)
    assert sorted(out["observed_data"].data_vars) == ["load", "log count"]
    assert np.allclose(out["posterior_predictive"]["log count"].values[1, 4], np.log(visits))
    assert np.allclose(out["observed_data"]["load"].values, flat)
