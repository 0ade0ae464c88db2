"""Capacity caveats: page 1 says when a fleet rests on the scalability curve beyond what was load-tested."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from bayescap.capacity_caveats import Fleet, capacity_caveats, scale_out_caveats, scale_up_caveats, most_servers_tested
from bayescap.dims import CHAIN, CONFIG, DRAW, SCENARIO, TIER
from bayescap.pipeline import stated_fleets

N = 200  # draws per chain


def capacity(*, app_cluster_nodes=(1, 2, 4, 6)) -> xr.DataTree:
    """Tier 'static' (c6i.xlarge, 4 cores tested, no cluster rows) and 'app' (c6i.2xlarge, 8 cores, cluster rows).

    sigma' runs evenly over [0.02, 0.10] in the draws and kappa' is 0, so C(m) = m / (1 + sigma' (m - 1)) is known.
    """
    sig_c = np.linspace(0.02, 0.10, 2 * N).reshape(2, N)
    post = xr.Dataset(
        {
            "sigma_cluster": ((CHAIN, DRAW, TIER), np.stack([sig_c, sig_c], axis=-1)),
            "kappa_cluster": ((CHAIN, DRAW, TIER), np.zeros((2, N, 2))),
            "sigma": ((CHAIN, DRAW, CONFIG), np.full((2, N, 2), 0.05)),
            "kappa": ((CHAIN, DRAW, CONFIG), np.zeros((2, N, 2))),
            "lam": ((CHAIN, DRAW, CONFIG), np.stack([np.full((2, N), 1000.0), np.linspace(90.0, 110.0, 2 * N).reshape(2, N)], -1)),
        },
        coords={TIER: ["static", "app"], CONFIG: ["c6i.xlarge", "c6i.2xlarge"], "config_name": (CONFIG, ["c6i.xlarge", "c6i.2xlarge"])},
    )
    node_n = [1, 2, 4, 1, 2, 4, 8]
    n = [*node_n, *app_cluster_nodes]
    level = ["node"] * len(node_n) + ["cluster"] * len(app_cluster_nodes)
    tier = ["static"] * 3 + ["app"] * 4 + ["app"] * len(app_cluster_nodes)
    const = xr.Dataset(
        {"n": ("obs", np.array(n, float)), "cfg_n_max": (CONFIG, [4.0, 8.0])},
        coords={"obs_level": ("obs", level), "obs_tier": ("obs", tier), CONFIG: ["c6i.xlarge", "c6i.2xlarge"]},
    )
    return xr.DataTree.from_dict({"posterior": post, "constant_data": const})


def relative(m: float) -> float:
    """The median of C(m) over the draws above (sigma' = 0.06 at the median)."""
    return m / (1.0 + 0.06 * (m - 1.0))


def test_the_most_servers_tested_together_is_read_per_tier():
    assert most_servers_tested(capacity()) == {"app": 6}
    assert most_servers_tested(capacity(app_cluster_nodes=())) == {}


def test_a_fleet_of_one_tier_without_cluster_rows_rests_on_the_prior():
    fleets = [Fleet("baseline", "static", 2), Fleet("aggressive", "static", 4), Fleet("baseline", "app", 6),
              Fleet("aggressive", "app", 6), Fleet("2", "static", 20, in_sweep=True)]
    (c,) = scale_out_caveats(capacity(), fleets)  # the app's 6 servers were load-tested together: nothing to say
    assert c["kind"] == "scale_out_prior" and c["tier"] == "static" and c["servers"] == 20
    assert c["relative_capacity"]["4"]["median"] == pytest.approx(relative(4), rel=1e-3)
    assert c["relative_capacity"]["20"]["median"] == pytest.approx(relative(20), rel=1e-3)
    assert c["relative_capacity"]["20"]["q05"] < c["relative_capacity"]["20"]["median"] < c["relative_capacity"]["20"]["q95"]
    assert "No load test ran several 'static' servers together" in c["text"] and "prior's assumption" in c["text"]
    assert "4 servers in aggressive, 20 at sweep intensity 2" in c["text"] and c["sweep_fleets"]
    assert f"4 servers are worth {relative(4):.1f} (90%: " in c["text"] and f"20 are worth {relative(20):.1f}" in c["text"]
    # one server needs no scale-out curve; a sweep no larger than the scenarios adds nothing
    assert scale_out_caveats(capacity(), [Fleet("baseline", "static", 1)]) == []
    (c,) = scale_out_caveats(capacity(), [Fleet("a", "static", 3), Fleet("1", "static", 3, in_sweep=True)])
    assert "sweep" not in c["text"] and list(c["relative_capacity"]) == ["3"] and not c["sweep_fleets"]


def test_a_fleet_beyond_the_servers_tested_together_is_an_extrapolation():
    fleets = [Fleet("baseline", "app", 6), Fleet("aggressive", "app", 11), Fleet("autoscale", "app", 11),
              Fleet("3", "app", 20, in_sweep=True), Fleet("4", "app", None, in_sweep=True)]
    (c,) = scale_out_caveats(capacity(), fleets)
    assert c["kind"] == "scale_out_extrapolated" and (c["servers"], c["tested_servers"]) == (20, 6)
    assert c["relative_capacity_tested"]["median"] == pytest.approx(relative(6), rel=1e-3)
    assert c["relative_capacity"]["11"]["median"] == pytest.approx(relative(11), rel=1e-3)
    assert "11 servers in aggressive and autoscale, 20 at sweep intensity 3" in c["text"]
    assert "exceed the 6 servers load-tested together" in c["text"] and "up to 20 servers" in c["text"]
    assert f"against {relative(6):.1f} (90%: " in c["text"] and "measured at 6" in c["text"]
    assert scale_out_caveats(capacity(), fleets[:1]) == []  # 6 of 6: measured
    assert scale_out_caveats(capacity(app_cluster_nodes=(1, 2, 4, 8, 12, 20)), fleets) == []


def draws(vcpus: dict[str, float]) -> xr.Dataset:
    """The simulation's capacity draws, stacked over scenarios as the pipeline stacks them: a coord that is the same
    in every scenario (here the config) stays on ``tier``, one that differs (vCPUs, instance type) gets ``scenario``."""
    parts = [
        xr.Dataset(
            {"node_throughput": ((DRAW, TIER), np.ones((4, 2)))},
            coords={TIER: ["static", "app"], CONFIG: (TIER, ["c6i.xlarge", "c6i.2xlarge"]),
                    "instance_type": (TIER, ["c6i.xlarge", f"c6i.{v // 4:g}xlarge"]), "vcpus": (TIER, [4.0, float(v)])},
        )
        for v in vcpus.values()
    ]
    return xr.concat(parts, dim=SCENARIO, join="outer").assign_coords({SCENARIO: list(vcpus)})


def test_an_instance_with_more_cores_than_its_curve_was_measured_at_is_an_extrapolation():
    assert scale_up_caveats(capacity(), draws({"baseline": 8})) == []
    (c,) = scale_up_caveats(capacity(), draws({"baseline": 8, "big": 32, "bigger": 32}))
    assert c["kind"] == "scale_up_extrapolated" and c["tier"] == "app" and c["scenarios"] == ["big", "bigger"]
    assert (c["vcpus"], c["tested_cores"], c["instance_type"]) == (32.0, 8.0, "c6i.8xlarge")
    usl_32 = 100.0 * 32 / (1 + 0.05 * 31)  # lam 100 at the median, sigma 0.05, kappa 0
    assert c["node_throughput"]["median"] == pytest.approx(usl_32, rel=1e-3)
    assert c["node_throughput_tested"]["median"] == pytest.approx(100.0 * 8 / (1 + 0.05 * 7), rel=1e-3)
    assert "the load test of c6i.2xlarge" in c["text"] and "measured up to 8 cores" in c["text"]
    assert "in big and bigger" in c["text"]


def test_capacity_caveats_put_one_server_before_several():
    kinds = [c["kind"] for c in capacity_caveats(capacity(), draws({"big": 32}),
                                                 [Fleet("big", "static", 4), Fleet("big", "app", 11)])]
    assert kinds == ["scale_up_extrapolated", "scale_out_prior", "scale_out_extrapolated"]


def test_the_stated_fleets_are_the_scenarios_and_the_sweeps():
    summary = {
        "scenarios": [{"name": "baseline", "fleet": {"app": {"servers": 6}, "static": {"servers": 2}}}],
        "sweep": {"points": [{"intensity": 1.5, "fleet": {"app": {"servers": 8}}},
                             {"intensity": 4.0, "fleet": {"app": {"servers": None}}}]},
    }
    assert stated_fleets(summary) == [Fleet("baseline", "app", 6), Fleet("baseline", "static", 2),
                                      Fleet("1.5", "app", 8, in_sweep=True), Fleet("4", "app", None, in_sweep=True)]
    assert stated_fleets({"scenarios": summary["scenarios"], "sweep": None}) == stated_fleets(summary)[:2]


def test_a_caveat_that_names_sweep_fleets_is_repeated_on_the_sweep_page_and_its_numbers_check(tmp_path):
    import json

    import matplotlib

    matplotlib.use("Agg")
    from bayescap.report import render_pages
    from bayescap.report.run_files import read_run
    from bayescap.report.synthetic_run import write_synthetic_run
    from bayescap.report.verify import config_sources_of, page_texts, unverified_numbers

    run = write_synthetic_run(tmp_path / "run", seed=3, draws=200)
    summary = json.loads((run / "summary.json").read_text())
    fleets = [Fleet("baseline", "static", 4), Fleet("6", "static", 20, in_sweep=True), Fleet("baseline", "app", 11)]
    summary["caveats"] = scale_out_caveats(capacity(), fleets)
    assert [c["sweep_fleets"] for c in summary["caveats"]] == [True, False]
    (run / "summary.json").write_text(json.dumps(summary))
    files = read_run(run)
    figs, _ = render_pages(files)
    pages = [" ".join(" ".join(t for _, t in page_texts(f)).split()) for f in figs]
    prior, beyond = "Caveat: No load test ran several 'static' servers", "Caveat: The 'app' fleets (11 servers"
    assert prior in pages[0] and beyond in pages[0]
    assert sum(prior in p for p in pages) == 2 and sum(beyond in p for p in pages) == 1  # and the sweep's page
    assert unverified_numbers(figs, files.summary, config_sources=config_sources_of(run)) == []


def test_the_load_test_check_fails_only_when_fewer_rows_are_inside_than_chance_allows():
    from scipy.stats import binom

    from bayescap.checks import capacity_ppc

    rng = np.random.default_rng(0)
    y = np.linspace(100.0, 1000.0, 50)
    rep = y[None, :] * (1.0 + 0.05 * rng.standard_normal((4000, 50)))  # replicas centred on every measurement
    labels = ["a"] * 20 + ["b"] * 30
    fit = capacity_ppc(y, rep, labels)
    assert fit["ok"] and fit["inside"] == 50 and fit["outside"] == {}
    assert fit["min_inside"] == int(binom.ppf(0.01, 50, 0.9)) == 40
    missed = y.copy()
    missed[20:31] *= 1.5  # 11 of config b's 30 rows far above their replicas: 39 inside, one fewer than chance allows
    check = capacity_ppc(missed, rep, labels)
    assert not check["ok"] and check["inside"] == 39 and check["outside"] == {"b": [11, 30]}
    missed[30] = y[30]  # 10 outside: 40 inside, what chance allows
    assert capacity_ppc(missed, rep, labels)["ok"]


def test_curves_that_miss_the_load_test_are_a_caveat_naming_the_worst_configurations():
    y = np.linspace(100.0, 1000.0, 12)
    rep = y[None, None, :] * (1.0 + 0.05 * np.random.default_rng(1).standard_normal((2, 500, 12)))
    observed = y.copy()
    observed[:5] *= 2.0  # c6i.xlarge's 4 node rows and one of c6i.2xlarge's: far above the model
    obs_coords = {"obs_config": ("obs", ["c6i.xlarge"] * 4 + ["c6i.2xlarge"] * 8),
                  "obs_level": ("obs", ["node"] * 10 + ["cluster"] * 2)}
    tree = xr.DataTree.from_dict({
        "observed_data": xr.Dataset({"throughput": ("obs", observed)}, coords=obs_coords),
        "posterior_predictive": xr.Dataset({"throughput": ((CHAIN, DRAW, "obs"), rep)}, coords=obs_coords),
    })
    from bayescap.capacity_caveats import ppc_caveats

    (c,) = ppc_caveats(tree)
    assert c["kind"] == "capacity_ppc_mismatch" and (c["inside"], c["rows"]) == (7, 12)
    assert list(c["outside"]) == ["c6i.xlarge", "c6i.2xlarge"]  # cluster rows are their own label
    assert "only 7 of its 12 measurements" in c["text"] and "c6i.xlarge (4 of 4 outside) and c6i.2xlarge (1 of 6 outside)" in c["text"]
    tree["observed_data"] = xr.Dataset({"throughput": ("obs", y)}, coords=obs_coords)
    assert ppc_caveats(tree) == []


def test_the_capacity_command_prints_the_load_test_check_and_warns_when_it_fails():
    from bayescap.commands.capacity import format_ppc

    ok = {"ok": True, "level": 0.9, "rows": 50, "inside": 48, "min_inside": 40, "outside": {"a": [2, 20]},
          "repeats": {"a": {"observed": 0.025, "replicated": 0.031, "p": 0.21, "fails": False}}}
    assert format_ppc(ok) == ("load-test check: 48 of 50 measurements inside the model's 90% prediction ranges "
                              "(a model that fits: at least 40); repeated runs spread a 2.5% (replicas 3.1%, p 0.210)")
    bad = {**ok, "ok": False, "inside": 30, "outside": {"b cluster": [8, 10], "a": [12, 40]}, "repeats": {}}
    line = format_ppc(bad)
    assert line.startswith("warning: the curves miss the load test: 30 of 50") and "most outside: b cluster 8 of 10, a 12 of 40" in line
    tight = {**ok, "ok": False, "repeats": {"a": {"observed": 0.025, "replicated": 0.31, "p": 0.0, "fails": True}}}
    assert format_ppc(tight).endswith("p 0.000); repeats far closer than the model's noise: a. Look for a ceiling that "
                                      "is not the servers' (network, database, load generator), a change of behaviour "
                                      "between levels, or broken runs")
    assert format_ppc(None) is None


def test_repeats_that_agree_far_more_closely_than_the_replicas_fail_the_check():
    from bayescap.checks import capacity_ppc, repeat_spread

    levels = np.repeat([1, 2, 4, 8], 2)
    # two levels off by 1% each way, two exact: sqrt((4 x 0.01^2) / 4 degrees of freedom)
    assert repeat_spread(np.array([99.0, 101, 198, 202, 400, 400, 800, 800]), levels) == pytest.approx(0.01)
    assert np.isnan(repeat_spread(np.arange(1.0, 5.0), np.arange(4)))  # no level measured twice
    rng = np.random.default_rng(2)
    curve = 100.0 * levels / (1 + 0.05 * (levels - 1))
    y = curve * (1 + 0.03 * rng.standard_normal(8))
    labels = ["a"] * 8
    fits = curve * (1 + 0.03 * rng.standard_normal((4000, 8)))  # replicas as noisy as the repeats
    check = capacity_ppc(y, fits, labels, levels=levels)
    assert check["ok"] and 0.01 < check["repeats"]["a"]["p"] < 0.99
    # the same measurements, replicas from a model that stretched its noise to 15% to reach a curve it misses
    stretched = curve * (1 + 0.15 * rng.standard_normal((4000, 8)))
    check = capacity_ppc(y, stretched, labels, levels=levels)
    assert check["inside"] == 8 and not check["ok"]  # every row inside: coverage alone would pass it
    r = check["repeats"]["a"]
    assert r["p"] <= 0.01 and r["replicated"] > 3 * r["observed"]
    assert capacity_ppc(y, stretched, labels)["ok"]  # without levels, no repeats check
    # repeats 1% apart, replicas 5%: a miss, but too small to move server counts
    small = capacity_ppc(curve * (1 + 0.01 * rng.standard_normal(8)), curve * (1 + 0.05 * rng.standard_normal((4000, 8))),
                         labels, levels=levels)
    assert small["repeats"]["a"]["p"] <= 0.01 and not small["repeats"]["a"]["fails"] and small["ok"]


def test_a_curve_that_misses_repeated_levels_is_a_page_one_caveat():
    from bayescap.capacity_caveats import ppc_caveats

    levels = np.repeat([1.0, 2, 4, 8, 12, 16], 2)
    y = 100.0 * levels / (1 + 0.05 * (levels - 1)) * (1 + 0.01 * np.tile([1, -1], 6))  # repeats within 1%
    rep = y[None, None, :] * (1 + 0.2 * np.random.default_rng(3).standard_normal((2, 1000, 12)))
    coords = {"obs_config": ("obs", ["c6i.4xlarge"] * 12), "obs_level": ("obs", ["node"] * 12)}
    tree = xr.DataTree.from_dict({
        "observed_data": xr.Dataset({"throughput": ("obs", y)}, coords=coords),
        "posterior_predictive": xr.Dataset({"throughput": ((CHAIN, DRAW, "obs"), rep)}, coords=coords),
        "constant_data": xr.Dataset({"n": ("obs", levels)}, coords=coords),
    })
    (c,) = ppc_caveats(tree)
    assert c["inside"] == 12 and "measurements lie inside" not in c["text"]
    assert "repeated runs of one level agree far more closely than the model's replicated load tests" in c["text"]
    assert "(c6i.4xlarge: repeats 1.4% apart, the model's replicas 19%; as close in under 1% of the replicas)" in c["text"]
    assert "stretches its noise" in c["text"] and "Throughputs, server counts and costs rest on curves" in c["text"]
    # no scenario runs on it: the caveat says so instead of putting every server count on it
    (unused,) = ppc_caveats(tree, in_use={"c6i.2xlarge"})
    assert not unused["in_use"] and "No scenario runs on c6i.4xlarge, but it shares the priors of its tier" in unused["text"]
    assert "Throughputs, server counts" not in unused["text"]
    assert ppc_caveats(tree, in_use={"c6i.4xlarge"})[0]["in_use"]


def test_the_appendix_load_test_verdict_follows_the_check(tmp_path):
    import json

    import matplotlib

    matplotlib.use("Agg")
    from bayescap.report import render_pages
    from bayescap.report.run_files import read_run
    from bayescap.report.synthetic_run import write_synthetic_run
    from bayescap.report.verify import page_texts

    def verdict(run) -> str:
        figs, _ = render_pages(read_run(run))
        text = " ".join(" ".join(" ".join(t for _, t in page_texts(f)) for f in figs).split())
        return text[text.index("Check: ", text.index("Posterior predictive check: load tests")):][:120]

    run = write_synthetic_run(tmp_path / "run", seed=3, draws=200)
    assert verdict(run).startswith("Check: most measured points lie inside the model's 90% prediction ranges")
    tree = xr.open_datatree(run / "posteriors.nc").load()
    obs = tree["capacity/observed_data"].to_dataset()
    name = next(iter(obs.data_vars))
    tree["capacity/observed_data"] = obs.assign({name: obs[name] * 3.0})  # every measurement far above the model
    (run / "posteriors.nc").unlink()
    tree.to_netcdf(run / "posteriors.nc", engine="h5netcdf")
    # a run written before the check (no caveat in its summary.json) does not point to page 1
    assert verdict(run).startswith("Check: the model's replicated load tests do not look like the measured one (bars")
    summary = json.loads((run / "summary.json").read_text())
    summary["caveats"] = [{"kind": "capacity_ppc_mismatch", "text": "The capacity model does not fit the load test."}]
    (run / "summary.json").write_text(json.dumps(summary))
    assert verdict(run).startswith("Check: the model's replicated load tests do not look like the measured one (see "
                                   "page 1's caveat)")
