"""Caveats: the report says where its numbers rest on a prior (an event type never seen, no intraday counts)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr

from bayescap.caveats import peak_factor_caveats, report_caveats, unseen_event_caveats
from bayescap.dims import CHAIN, DATE, DRAW, EVENT, EVENT_TYPE, REGIME


def scenario(name: str, *events: tuple[str, float]):
    return SimpleNamespace(name=name, events=tuple(SimpleNamespace(type=t, intensity=i) for t, i in events))


def traffic(*, seen=("sale",), peak_days=(56, 12)) -> xr.DataTree:
    """A posterior with two event types, 'sale' seen in the history and 'launch' not, and a peak factor."""
    n = 400
    launch = np.linspace(0.2, 20.0, n)  # a new launch day's ratio of visits: x0.2 .. x20 (the prior's width)
    sale = np.linspace(2.8, 3.4, n)
    ratio = np.stack([launch, sale], axis=-1).reshape(2, n // 2, 2)
    factor = np.stack([np.linspace(2.0, 3.0, n), np.linspace(2.5, 4.5, n)], axis=-1).reshape(2, n // 2, 2)
    post = xr.Dataset(
        {
            "lift_mean": ((CHAIN, DRAW, EVENT_TYPE), np.log(ratio)),
            "new_event_lift": ((CHAIN, DRAW, EVENT_TYPE), ratio),
            "peak_factor": ((CHAIN, DRAW, REGIME), factor),
        },
        coords={EVENT_TYPE: ["launch", "sale"], REGIME: ["normal", "event"],
                "event_type_of_event": ((EVENT,), np.array([t for t in seen for _ in range(3)], dtype=str))},
        attrs={"peak_days_normal": peak_days[0], "peak_days_event": peak_days[1]},
    )
    return xr.DataTree.from_dict({"posterior": post})


def test_an_event_type_scheduled_but_never_seen_gets_a_caveat_with_its_prior_lift():
    scenarios = [scenario("baseline", ("sale", 1.0)), scenario("launch-day", ("sale", 1.0), ("launch", 1.0)),
                 scenario("launch-off", ("launch", 0.0))]
    caveats = unseen_event_caveats(traffic(), scenarios)
    assert [c["event_type"] for c in caveats] == ["launch"]  # the sale is seen; intensity 0 adds no lift
    c = caveats[0]
    assert c["kind"] == "event_type_unseen" and c["scenarios"] == ["launch-day"]
    assert c["lift_ratio"]["q05"] == pytest.approx(1.19, abs=0.01) and c["lift_ratio"]["q95"] == pytest.approx(19.0, abs=0.01)
    assert "No launch day is in the fitted history" in c["text"] and "\u00d71.2 to \u00d719" in c["text"]
    assert "(launch-day)" in c["text"] and "lift_mean_mu" in c["text"]
    assert unseen_event_caveats(traffic(seen=("sale", "launch")), scenarios) == []
    assert unseen_event_caveats(traffic(), scenarios[:1]) == []  # nobody schedules a launch


def test_no_intraday_counts_means_a_peak_factor_caveat_with_the_priors_range():
    with_events, without = [scenario("baseline", ("sale", 1.0))], [scenario("quiet")]
    (c,) = peak_factor_caveats(traffic(peak_days=(0, 0)), with_events)
    assert c["kind"] == "peak_factor_prior" and c["regimes"] == ["normal", "event"]
    assert "No intraday counts were given" in c["text"]
    assert "\u00d72.0 to \u00d73.0 on normal days and \u00d72.6 to \u00d74.4 on event days" in c["text"]
    (c,) = peak_factor_caveats(traffic(peak_days=(0, 0)), without)
    assert "on event days" not in c["text"]
    outside = traffic(peak_days=(0, 0))
    outside["posterior"].attrs["peak_days_outside"] = 56  # counts given, but for days the fit cannot place
    (c,) = peak_factor_caveats(outside, with_events)
    assert c["text"].startswith("The intraday counts' 56 days all fall outside the fitted history")
    assert c["intraday_days"]["outside"] == 56
    (c,) = peak_factor_caveats(traffic(peak_days=(56, 0)), with_events)  # intraday counts, but no event day in them
    assert c["regimes"] == ["event"] and "no event day" in c["text"] and "56 days" in c["text"]
    assert c["intraday_days"] == {"normal": 56, "event": 0}  # the number the text states, for the report's check
    assert peak_factor_caveats(traffic(peak_days=(56, 0)), without) == []  # no event days ahead: nothing rests on it
    assert peak_factor_caveats(traffic(peak_days=(56, 12)), with_events) == []


def test_report_caveats_lists_each_kind_once():
    import pandas as pd

    history = pd.DataFrame({"date": pd.date_range("2025-01-01", periods=60), "count": 100.0, "event_sale": 0})
    kinds = [c["kind"] for c in report_caveats(history, traffic(peak_days=(0, 0)),
                                               [scenario("b", ("sale", 1.0), ("launch", 2.0))])]
    assert kinds == ["event_type_unseen", "peak_factor_prior"]


def _fitted(observed: np.ndarray, replicated: np.ndarray) -> xr.DataTree:
    dates = np.datetime64("2024-01-01") + np.arange(observed.size)
    return xr.DataTree.from_dict({
        "observed_data": xr.Dataset({"count": ((DATE,), observed)}, coords={DATE: dates}),
        "posterior_predictive": xr.Dataset({"count": ((CHAIN, DRAW, DATE), replicated.reshape(2, -1, observed.size))},
                                           coords={DATE: dates}),
    })


def test_a_model_that_misses_the_busy_days_gets_a_caveat_saying_the_peaks_may_be_too_low():
    from bayescap.caveats import ppc_caveats

    rng = np.random.default_rng(5)
    observed = np.exp(rng.normal(12.0, 0.25, 730))
    replicated = np.exp(rng.normal(12.0, 0.25, (400, 730)))
    assert ppc_caveats(_fitted(observed, replicated)) == []
    (c,) = ppc_caveats(_fitted(observed / 3.0, replicated))  # every day a third: typical (and busy) days come out busier
    assert "Typical and busy days come out busier than they were, so peaks, server counts and costs may be too high" in c["text"]
    assert "flag the ones" not in c["text"]
    above = np.flatnonzero(observed > np.median(observed))  # spikes on busy days leave the median day as it was
    observed[rng.choice(above, 60, replace=False)] *= 5.0  # news spikes that no event column flags
    (c,) = ppc_caveats(_fitted(observed, replicated))
    busy = c["statistics"]["busy"]
    assert c["kind"] == "traffic_ppc_mismatch" and busy["observed"] > busy["hi"]
    assert "typical" not in c["text"]  # the median day is still matched: only the busy days are named
    assert "Busy days (95th percentile of daily visits): " in c["text"] and " visits in the history, " in c["text"]
    assert "Busy days come out less busy than they were, so peaks, server counts and costs may be too low" in c["text"]
    assert "flag the ones that will recur as events" in c["text"]
    furthest = [o["date"] for o in c["outliers"] if o["side"] == "above"][:3]
    assert len(furthest) == 3 and f"The days furthest above the model: {', '.join(furthest)}." in c["text"]
    assert ppc_caveats(xr.DataTree.from_dict({"posterior": xr.Dataset()})) == []  # no replicated history saved
