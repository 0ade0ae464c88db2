"""Prior-data conflict: a posterior piled against a model bound is reported."""

import numpy as np

from bayescap.checks import bound_conflicts

RNG = np.random.default_rng(20261126)


def test_posterior_piled_at_a_bound_is_a_conflict():
    nu = 5.0 + RNG.exponential(0.004, size=(2, 500))  # nu_min = 5: the data want heavier tails
    problems = bound_conflicts({"nu": nu}, {"nu": (5.0, None)}, model="traffic")
    assert len(problems) == 1
    assert "traffic" in problems[0] and "nu" in problems[0] and "lower bound 5" in problems[0]


def test_one_config_at_the_bound_is_named():
    sigma = np.stack([RNG.uniform(0.03, 0.08, (2, 400)), RNG.uniform(0.0, 0.003, (2, 400))], axis=-1)
    problems = bound_conflicts({"sigma": sigma}, {"sigma": (0.0, 1.0)}, model="capacity")
    assert problems == [p for p in problems if "sigma[1]" in p] and len(problems) == 1


def test_a_posterior_away_from_the_bounds_is_fine():
    posterior = {"sigma": RNG.uniform(0.03, 0.08, (2, 400)), "nu": 5.0 + RNG.exponential(30.0, (2, 400))}
    assert bound_conflicts(posterior, {"sigma": (0.0, 1.0), "nu": (5.0, None), "absent": (0, 1)}, model="m") == []


def test_pipeline_reports_a_capacity_sigma_pressed_against_zero():
    import json

    import xarray as xr

    from bayescap.pipeline import prior_data_conflicts

    def tree(post: dict, attrs=None):
        t = xr.DataTree.from_dict({"/posterior": xr.Dataset({k: (("chain", "draw", *d), v) for k, (d, v) in post.items()})})
        t.attrs = attrs or {}
        return t

    capacity = tree({"sigma": (("config",), RNG.uniform(0.0, 0.001, (2, 300, 1))),
                     "sigma_cluster": (("tier",), RNG.uniform(0.01, 0.05, (2, 300, 1)))})
    traffic = tree({"nu": ((), 5.0 + RNG.exponential(30.0, (2, 300)))}, {"priors": json.dumps({"nu_min": 5.0})})
    problems = prior_data_conflicts({"capacity": capacity, "traffic": traffic})
    assert len(problems) == 1 and problems[0].startswith("capacity: prior-data conflict") and "sigma" in problems[0]
