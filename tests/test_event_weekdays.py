"""Event types confounded with a weekday: found in the history, said in the reader's notes, the run's summary and the
report (a sale on every Thursday has a lift the data cannot separate from the Thursday effect)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bayescap.dims import CHAIN, DRAW, EVENT_TYPE
from bayescap.inputs.event_weekdays import MIN_FREE_WEEKDAYS, describe, weekday_bound_events
from bayescap.inputs.traffic import read_traffic
from bayescap.caveats import event_weekday_caveats
from bayescap.report import render_pages
from bayescap.report.run_files import read_run
from bayescap.report.synthetic_run import write_synthetic_run
from bayescap.report.verify import config_sources_of, page_texts, unverified_numbers


def history(days: int = 140, **flags) -> pd.DataFrame:
    dates = pd.date_range("2025-01-06", periods=days, freq="D")  # a Monday
    df = pd.DataFrame({"date": dates, "count": 1000.0})
    for typ, rule in flags.items():
        df[f"event_{typ}"] = rule(dates).astype(int)
    df.attrs["event_types"] = list(flags)
    return df


def test_a_sale_on_every_thursday_is_found_and_one_on_some_thursdays_is_not():
    every = history(sale=lambda d: d.day_of_week == 3)
    assert [(b.event_type, b.weekday, b.event_days, b.free_days) for b in weekday_bound_events(every)] == [
        ("sale", "Thursday", 20, 0)
    ]
    # MIN_FREE_WEEKDAYS Thursdays without the sale identify the Thursday effect; one fewer does not
    for free, found in ((MIN_FREE_WEEKDAYS, False), (MIN_FREE_WEEKDAYS - 1, True)):
        df = every.copy()
        thursdays = np.flatnonzero(df["event_sale"].to_numpy())
        df.loc[thursdays[:free], "event_sale"] = 0
        assert bool(weekday_bound_events(df)) is found, free
    assert "falls on all but 3 of the Thursdays in the history" in describe(weekday_bound_events(df)[0])
    assert "falls on every Thursday in the history" in describe(weekday_bound_events(every)[0])


def test_two_day_sales_every_week_are_confounded_with_both_weekdays_and_random_days_with_none():
    rng = np.random.default_rng(3)
    df = history(sale=lambda d: d.day_of_week.isin([3, 4]), launch=lambda d: rng.random(len(d)) < 0.15)
    assert [(b.event_type, b.weekday) for b in weekday_bound_events(df)] == [("sale", "Thursday"), ("sale", "Friday")]


def test_days_with_a_missing_count_do_not_identify_the_weekday():
    df = history(sale=lambda d: d.day_of_week == 3)
    free = np.flatnonzero(df["date"].dt.day_of_week == 3)[:6]
    df.loc[free, "event_sale"] = 0
    assert not weekday_bound_events(df)
    df.loc[free, "count"] = np.nan  # those Thursdays were not observed after all
    assert weekday_bound_events(df)[0].free_days == 0


def test_the_example_history_is_not_confounded_and_a_cut_of_it_is_named_in_the_readers_notes(tmp_path):
    example = read_traffic("data/example/traffic.csv")  # 17 Thursdays before the weekly sale began
    assert not weekday_bound_events(example)
    assert not any("falls on every Thursday" in n for n in example.attrs["notes"])
    raw = pd.read_csv("data/example/traffic.csv")
    cut = tmp_path / "since_sales.csv"
    raw[raw["date"] >= "2025-01-01"].to_csv(cut, index=False)
    notes = read_traffic(cut).attrs["notes"]
    assert any("since_sales.csv: event type 'sale' falls on every Thursday" in n for n in notes)


def test_the_caveat_gives_the_posterior_of_the_lift_and_the_report_states_it(tmp_path, seed):
    df = history(sale=lambda d: d.day_of_week == 3)
    lift = np.log(np.linspace(1.5, 6.0, 400)).reshape(2, 200, 1)  # log lift draws: x1.5 .. x6
    post = xr.Dataset({"lift_mean": ((CHAIN, DRAW, EVENT_TYPE), lift)}, coords={EVENT_TYPE: ["sale"]})
    caveats = event_weekday_caveats(df, xr.DataTree.from_dict({"posterior": post}))
    assert len(caveats) == 1 and caveats[0]["event_type"] == "sale" and caveats[0]["weekday"] == "Thursday"
    ratio = caveats[0]["lift_ratio"]
    assert ratio["q05"] == pytest.approx(1.725, abs=0.01) and ratio["q95"] == pytest.approx(5.775, abs=0.01)
    assert "\u00d71.7 to \u00d75.8" in caveats[0]["text"]

    run = write_synthetic_run(tmp_path / "run", seed=seed, draws=200)  # its sweep is over the "sale" intensity
    summary = json.loads((run / "summary.json").read_text())
    summary["caveats"] = caveats
    (run / "summary.json").write_text(json.dumps(summary))
    files = read_run(run)
    figs, _ = render_pages(files)
    pages = [" ".join(t for _, t in page_texts(f)) for f in figs]
    stated = "Caveat: The sale falls on every Thursday of the fitted history"
    assert stated in pages[0].replace("\n", " ")
    assert sum(stated in p.replace("\n", " ") for p in pages) == 2  # page 1 and the intensity sweep's page
    assert unverified_numbers(figs, files.summary, config_sources=config_sources_of(run)) == []
