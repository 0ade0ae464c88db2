"""The intensity sweep (bayescap.simulate.sweep): one scenario at several event intensities, from the same draws."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest

from bayescap.inputs.scenario_types import EventRule, Finance, IntensitySweep
from bayescap.simulate import simulate
from bayescap.simulate.fmt import fmt_num
from bayescap.simulate.summary import draws_of
from bayescap.simulate.sweep import summarise_sweep, sweep_scenarios
from bayescap.simulate.synthetic import synthetic_capacity, synthetic_prices, synthetic_scenario, synthetic_traffic

DRAWS = 240
INTENSITIES = (1.0, 1.25, 1.5, 20.0)


@pytest.fixture(scope="module")
def swept():
    base = synthetic_scenario(
        "baseline", horizon_days=56,
        events=(EventRule("sale", weekday=3), EventRule("launch", dates=(dt.date(2026, 12, 1),), intensity=1.5)),
        finance=Finance(cash_usd=3_000_000.0, monthly_burn_usd=180_000.0, funding_date=dt.date(2026, 12, 20),
                        value_per_visitor_usd=0.4),
    )
    other = dataclasses.replace(base, name="other")
    spec = IntensitySweep(scenario="baseline", intensities=INTENSITIES, event_types=("sale",), min_runway_months=16.0)
    points = sweep_scenarios(spec, [base, other])
    traffic = synthetic_traffic(points, draws=DRAWS, seed=5, event_lift={"sale": 2.5, "launch": 1.8})
    capacity = synthetic_capacity(points, draws=DRAWS, seed=6)
    sim = simulate(traffic, capacity, points, synthetic_prices())
    return base, spec, points, sim, summarise_sweep(sim, spec, points)


def test_points_vary_only_the_swept_events(swept):
    base, _, points, _, _ = swept
    assert [p.name for p in points] == [f"sweep-{i}" for i in range(len(INTENSITIES))]
    for k, p in zip(INTENSITIES, points, strict=True):
        assert [e.intensity for e in p.events if e.type == "sale"] == [k]
        assert [e.intensity for e in p.events if e.type == "launch"] == [1.5]  # not swept
        assert dataclasses.replace(p, name=base.name, events=base.events, description="") == base


def test_more_aggressive_sales_bring_more_visitors_in_every_draw(swept):
    _, _, points, sim, block = swept
    visitors = np.array([draws_of(sim, "visitors_by_funding", p.name) for p in points])
    assert (np.diff(visitors, axis=0) > 0).all(), "same draws and seed: each draw gains from a stronger sale"
    for tier in ("static", "app"):
        servers = [p["fleet"][tier]["servers"] for p in block["points"] if p["fleet"][tier]["servers"] is not None]
        assert servers == sorted(servers)
    gain = np.median(visitors[-1] - visitors[0])
    assert f"brings {fmt_num(gain, 2)} more visitors" in block["statements"][0]


def test_runway_probability_and_answer_follow_their_rule(swept):
    _, spec, points, sim, block = swept
    passing = []
    for k, p, point in zip(INTENSITIES, points, block["points"], strict=True):
        runway = draws_of(sim, "runway_months", p.name)
        expected = np.mean(np.where(np.isfinite(runway), runway, -np.inf) >= spec.min_runway_months)
        assert point["p_runway_at_least_floor"] == pytest.approx(expected)
        assert point["intensity"] == k
        if point["fleet_meets_target"] and expected >= 0.9:
            passing.append(k)
    assert block["answer"]["max_intensity"] == (passing[-1] if passing else None)
    # at 20 times the sale's extra visitors the app tier outgrows what any number of its servers can deliver
    last = block["points"][-1]
    assert last["fleet"]["app"]["servers"] is None and last["fleet_monthly_cost_usd"] is None
    assert last["fleet"]["app"]["infeasible_share"] > 0.05
    assert 20.0 not in passing and len(passing) >= 2, "a milder sale passes, the wildest does not"
    assert any("no fleet of the chosen instance types" in s for s in block["statements"])
    assert block["differences"][0]["vs_intensity"] == 1.0 and len(block["differences"]) == len(INTENSITIES) - 1


def test_an_autoscaled_scenario_says_what_its_cost_is(swept):
    base, spec, _, _, _ = swept
    auto = dataclasses.replace(base, fleet=dataclasses.replace(base.fleet, policy="autoscale"))
    spec = dataclasses.replace(spec, intensities=(1.0, 1.25), min_runway_months=None)
    points = sweep_scenarios(spec, [auto])
    sim = simulate(synthetic_traffic(points, draws=80, seed=5), synthetic_capacity(points, draws=80, seed=6), points,
                   synthetic_prices())
    block = summarise_sweep(sim, spec, points)
    assert block["policy"] == "autoscale"
    assert any("the monthly cost of the autoscaled fleet rises by" in s for s in block["statements"])
    assert block["answer"]["text"] in block["statements"] and "runway" not in block["answer"]["rule"]
