"""Valid inputs are read exactly: real data, the example, handled quirks, scenario resolution and the calendar."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayescap.errors import InputError
from bayescap.inputs.loadtest import read_loadtest
from bayescap.inputs.prices import lookup_instance, read_prices
from bayescap.inputs.scenario import forecast_start, future_calendar, read_scenarios
from bayescap.inputs.traffic import read_intraday, read_prophet_holidays, read_traffic

REPO = Path(__file__).resolve().parents[1]
VALID = REPO / "tests" / "fixtures" / "bad" / "valid"
REAL = REPO / "data" / "real"
PRICES = REPO / "data" / "prices" / "aws_ec2_ondemand_us_east_1.csv"
EXAMPLE = REPO / "data" / "example"


def _write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return p


def _daily(n: int = 70, start: str = "2026-01-01", extra: str = "") -> list[str]:
    days = pd.date_range(start, periods=n, freq="D")
    return [f"{d:%Y-%m-%d},{1000 + i}{extra}" for i, d in enumerate(days)]


# ---------------------------------------------------------------- real and shipped files


def test_real_price_table():
    prices = read_prices(PRICES)
    assert prices.index.name == "instance_type"
    assert len(prices) == 60 and prices.index.is_unique
    assert prices.loc["c6i.large", "vcpus"] == 2
    assert prices.loc["c6i.large", "usd_per_hour"] == pytest.approx(0.085)
    assert prices["vcpus"].dtype == np.int64 and (prices["usd_per_hour"] > 0).all()
    assert lookup_instance(prices, "c6i.xlarge")["usd_per_hour"] == pytest.approx(0.17)


def test_lookup_unknown_instance_names_closest():
    prices = read_prices(PRICES)
    with pytest.raises(InputError) as info:
        lookup_instance(prices, "c6i.lrage", "scenarios.toml")
    msg = str(info.value)
    assert msg.startswith("scenarios.toml: unknown instance type 'c6i.lrage'; known: ")
    assert "(did you mean 'c6i.large'?)" in msg


def test_real_wikipedia_history(tmp_path):
    """The real Peyton Manning page views, as a traffic file: gaps kept and reported, extra columns ignored."""
    raw = pd.read_csv(REAL / "traffic" / "traffic_wikipedia_peyton_manning.csv")
    renamed = raw.rename(columns={"views": "count", "is_playoff_game": "event_playoff", "is_superbowl": "event_superbowl"})
    path = _write(tmp_path, "wiki.csv", renamed.to_csv(index=False))
    df = read_traffic(path)
    assert len(df) == len(raw)
    assert df.attrs["event_types"] == ["playoff", "superbowl"]
    assert df["count"].sum() == raw["views"].sum()
    assert int(df["event_playoff"].sum()) == int(raw["is_playoff_game"].sum())
    assert (df["competitor_event"] == 0).all()
    span = (pd.Timestamp(raw["date"].max()) - pd.Timestamp(raw["date"].min())).days + 1
    notes = " ".join(df.attrs["notes"])
    assert f"{span - len(raw)} missing day(s)" in notes
    assert "ignored columns log_views, is_day_after_playoff_game" in notes
    # the ignored 0/1 column is named with the event column it would need; log_views is not a flag
    assert df.attrs["ignored_flag_columns"] == {"is_day_after_playoff_game": "event_day_after_playoff_game"}
    assert "is_day_after_playoff_game hold only 0 and 1" in notes


def test_event_flags_under_other_names_are_named_when_a_scenario_needs_an_event_type(tmp_path):
    """A history whose event flags are not called event_<type> (the raw Peyton Manning export): a scenario's event
    type is unknown, and the message says which columns look like flags and what to call them."""
    raw = pd.read_csv(REAL / "traffic" / "traffic_wikipedia_peyton_manning.csv").rename(columns={"views": "count"})
    traffic = read_traffic(_write(tmp_path, "wiki.csv", raw.to_csv(index=False)))
    assert traffic.attrs["event_types"] == []
    with pytest.raises(InputError) as err:
        read_scenarios(EXAMPLE / "scenarios.toml", traffic=traffic)
    msg = str(err.value)
    assert "known: none" in msg
    assert "is_playoff_game, is_superbowl, is_day_after_playoff_game in wiki.csv hold only 0 and 1" in msg
    assert "'is_playoff_game' -> 'event_playoff_game'" in msg


def test_real_elb_intraday(tmp_path):
    """The real 5-minute AWS ELB request counts read as intraday data."""
    raw = pd.read_csv(REAL / "traffic" / "traffic_aws_elb_request_count_5min.csv")
    path = _write(tmp_path, "elb.csv", raw.rename(columns={"request_count": "count"}).to_csv(index=False))
    df = read_intraday(path)
    assert len(df) == len(raw)
    assert df["timestamp"].is_monotonic_increasing and df["timestamp"].is_unique
    assert df["count"].sum() == raw["request_count"].sum()
    assert df["timestamp"].diff().median() == pd.Timedelta(minutes=5)


def test_real_usl_tables_as_loadtests(tmp_path):
    """The real scaling tables (NGINX, SPEC SDM91) in the load-test contract."""
    nginx = pd.read_csv(REAL / "scaling" / "nginx_webserver_rps_vs_cpus.csv")
    rows = nginx[(nginx.metric == "requests_per_sec")]
    lt = pd.DataFrame(
        {
            "tier": "static",
            "config": rows.protocol + "-" + rows.response_size_kb.astype(str) + "kb",
            "n": rows.cpus,
            "throughput": rows.value,
        }
    )
    sdm = pd.read_csv(REAL / "scaling" / "usl_specsdm91.csv")
    lt = pd.concat(
        [lt, pd.DataFrame({"tier": "sdm", "config": "sparc", "n": sdm.load_users, "throughput": sdm.iloc[:, 1]})]
    )
    df = read_loadtest(_write(tmp_path, "lt.csv", lt.to_csv(index=False)))
    assert len(df) == len(lt)
    assert set(df["level"]) == {"node"} and (df["repeat"] == 0).all()
    np.testing.assert_allclose(df["throughput"].to_numpy(), lt["throughput"].to_numpy())


@pytest.mark.skipif(not (EXAMPLE / "scenarios.toml").exists(), reason="the example is not written yet")
def test_example_inputs_pass():
    from bayescap.inputs.bundle import read_inputs

    inputs = read_inputs(
        scenario=EXAMPLE / "scenarios.toml",
        traffic=EXAMPLE / "traffic.csv",
        intraday=EXAMPLE / "traffic_hourly.csv",
        loadtest=EXAMPLE / "loadtest.csv",
        prices=PRICES,
    )
    assert inputs.scenarios[0].name and len({s.name for s in inputs.scenarios}) == len(inputs.scenarios)
    assert "sale" in inputs.traffic.attrs["event_types"]
    assert not any("outside the traffic history" in n for n in inputs.notes)
    # the static tier has no cluster rows, the app tier has: only the static tier's scale-out is the prior's
    assert [n for n in inputs.notes if "no cluster rows" in n] == [
        "loadtest.csv: tier 'static' has no cluster rows (several servers behind the load balancer), so its fleets of "
        "more than one server will rest on the prior of how throughput grows with servers"]


@pytest.mark.skipif(not (EXAMPLE / "scenarios.toml").exists(), reason="the example is not written yet")
def test_intraday_days_outside_the_traffic_history_are_named_in_a_note(tmp_path):
    from bayescap.inputs.bundle import read_inputs

    hourly = pd.read_csv(EXAMPLE / "traffic_hourly.csv")
    hourly["timestamp"] = (pd.to_datetime(hourly["timestamp"]) + pd.Timedelta(days=400)).dt.strftime("%Y-%m-%d %H:%M:%S")
    path = tmp_path / "later.csv"
    hourly.to_csv(path, index=False)
    inputs = read_inputs(scenario=EXAMPLE / "scenarios.toml", traffic=EXAMPLE / "traffic.csv", intraday=path,
                         loadtest=EXAMPLE / "loadtest.csv", prices=PRICES)
    (note,) = [n for n in inputs.notes if "outside the traffic history" in n]
    assert note.startswith("later.csv: 56 of its 56 days (2027-10-11..2027-12-05) fall outside the traffic history")


# ---------------------------------------------------------------- handled quirks


def test_bom_and_crlf_accepted(tmp_path):
    text = "date,count\r\n" + "\r\n".join(_daily()) + "\r\n"
    plain = read_traffic(_write(tmp_path, "plain.csv", text.replace("\r\n", "\n")))
    for name, data in {
        "bom_crlf.csv": b"\xef\xbb\xbf" + text.encode(),
        "cr.csv": text.replace("\r\n", "\r").encode(),
    }.items():
        df = read_traffic(_write(tmp_path, name, data))
        pd.testing.assert_frame_equal(df, plain)
    assert list(plain.columns) == ["date", "count", "competitor_event"]
    assert plain["date"].dtype == "datetime64[ns]" and plain["count"].dtype == float


def test_bom_line_numbers(tmp_path):
    """With a BOM and CRLF the line named in a message is still the editor's line."""
    rows = _daily()
    rows[9] = rows[9].split(",")[0] + ",-1"
    data = b"\xef\xbb\xbf" + ("date,count\r\n" + "\r\n".join(rows)).encode()
    with pytest.raises(InputError, match=r"line 11, column 'count'"):
        read_traffic(_write(tmp_path, "t.csv", data))


def test_blank_lines_keep_line_numbers(tmp_path):
    rows = _daily()
    rows[20] = rows[20].split(",")[0] + ",x"
    text = "date,count\n\n" + "\n".join(rows[:5]) + "\n\n" + "\n".join(rows[5:]) + "\n"
    with pytest.raises(InputError, match=r"line 24, column 'count'"):
        read_traffic(_write(tmp_path, "t.csv", text))


def test_header_case_and_spaces(tmp_path):
    df = read_traffic(_write(tmp_path, "t.csv", " Date , COUNT ,Event_Sale\n" + "\n".join(_daily(extra=",0")) + "\n"))
    assert df.attrs["event_types"] == ["sale"]


def test_unsorted_rows_sorted_and_reported(tmp_path):
    rows = _daily()
    rows[10], rows[11] = rows[11], rows[10]
    df = read_traffic(_write(tmp_path, "t.csv", "date,count\n" + "\n".join(rows) + "\n"))
    assert df["date"].is_monotonic_increasing
    assert df["count"].iloc[10] == 1010.0  # the values travel with their dates
    assert any("not in date order (first at line 13)" in n for n in df.attrs["notes"])


def test_gaps_kept_and_reported(tmp_path):
    rows = _daily(80)
    kept = rows[:30] + rows[33:60] + rows[61:]
    df = read_traffic(_write(tmp_path, "t.csv", "date,count\n" + "\n".join(kept) + "\n"))
    assert len(df) == 76  # not filled
    assert any("4 missing day(s)" in n and "largest gap 3 day(s)" in n for n in df.attrs["notes"])


def test_prophet_columns(tmp_path):
    df = read_traffic(_write(tmp_path, "p.csv", "ds,y\n" + "\n".join(_daily()) + "\n"))
    assert list(df.columns) == ["date", "count", "competitor_event"]
    assert df.attrs["event_types"] == [] and (df["competitor_event"] == 0).all()


def test_plain_event_column(tmp_path):
    rows = [r + ("," + str(i % 7 == 0)) for i, r in enumerate(_daily())]
    rows = [r.replace("True", "1").replace("False", "0") for r in rows]
    df = read_traffic(_write(tmp_path, "e.csv", "date,count,event\n" + "\n".join(rows) + "\n"))
    assert df.attrs["event_types"] == ["event"]
    assert df["event_event"].sum() == 10 and df["event_event"].dtype == np.int64


def test_prophet_holidays(tmp_path):
    path = _write(
        tmp_path,
        "holidays.csv",
        "holiday,ds,lower_window,upper_window\n"
        "Black Friday,2026-11-27,0,1\n"
        "Black Friday,2025-11-28,0,1\n"
        "christmas,2026-12-25,-1,0\n",
    )
    dates = pd.date_range("2026-11-20", "2026-12-31", freq="D")
    cal = read_prophet_holidays(path, dates)
    assert cal.attrs["event_types"] == ["black_friday", "christmas"]
    flagged = cal.loc[cal["event_black_friday"] == 1, "date"].dt.strftime("%m-%d").tolist()
    assert flagged == ["11-27", "11-28"]
    assert cal.loc[cal["event_christmas"] == 1, "date"].dt.day.tolist() == [24, 25]
    bad = _write(tmp_path, "bad.csv", "holiday,ds,lower_window\nx,2026-01-01,2\n")
    with pytest.raises(InputError, match=r"bad.csv: line 2, column 'lower_window'"):
        read_prophet_holidays(bad, dates)


# ---------------------------------------------------------------- scenarios


def _scenarios(tmp_path: Path, extra: str = "") -> list:
    text = (VALID / "scenarios.toml").read_text() + extra
    return read_scenarios(_write(tmp_path, "s.toml", text))


def test_scenario_values_and_defaults(tmp_path):
    base, big = _scenarios(tmp_path)
    assert base.name == "baseline" and base.seed == 7 and base.horizon_days == 28 and base.start is None
    assert base.requests_per_visit == 30.0 and base.growth_pct_per_month is None
    assert [t.name for t in base.tiers] == ["static", "app"]
    assert base.tiers[0].config is None and base.tiers[1].config == "c6i.xlarge"
    assert base.fleet.min_servers == 1 and base.fleet.overload_target == 0.05
    assert base.finance.cash_usd == 1_000_000 and base.finance.funding_date is None
    assert base.events[0].weekday == 3 and base.events[0].intensity == 1.0
    assert big.events[0].intensity == 2.0 and big.tiers == base.tiers and big.seed == 7


def test_override_merging(tmp_path):
    extra = """
[[scenarios]]
name = "leaner"
description = "app 20% cheaper per request, a new search tier"
tiers = [{ name = "app", cost_multiplier = 0.8 }, { name = "search", share = 0.1, instance_type = "m6i.large" }]
fleet = { target_utilisation = 0.6 }
traffic = { growth_pct_per_month = 5.0 }
events = [{ type = "promo", dates = ["2026-05-01"] }]
"""
    base, _, lean = _scenarios(tmp_path, extra)
    app = lean.tier("app")
    assert app.cost_multiplier == 0.8 and app.share == 0.3 and app.instance_type == "c6i.xlarge"
    assert [t.name for t in lean.tiers] == ["static", "app", "search"]
    assert lean.fleet.target_utilisation == 0.6 and lean.fleet.policy == "static"
    assert lean.growth_pct_per_month == 5.0 and lean.requests_per_visit == 30.0
    assert sorted(e.type for e in lean.events) == ["promo", "sale"]  # other types kept
    assert lean.priors == base.priors == {}
    assert lean.description.startswith("app 20%") and base.description == ""


@pytest.mark.parametrize(
    "override, key, expected",
    [
        ("priors = { capacity = { noise_rel_sd = 0.2 } }", "scenarios[1].priors", "no priors of its own"),
        ('traffic = { competitor_events = "exclude" }', "scenarios[1].traffic.competitor_events",
         "the base scenario's 'effect'"),
        ("seed = 5", "scenarios[1].seed", "no seed of its own"),
        ("traffic = { model = { knot_spacing = 14 } }", "scenarios[1].traffic.model",
         "the base scenario's traffic-model options"),
    ],
)
def test_an_override_cannot_change_what_the_scenarios_share(tmp_path, override, key, expected):
    """The models are fitted once from the base scenario's priors and competitor option, and one seed drives every
    scenario: an override that changes one would be read and then ignored, so it is refused, naming the key."""
    with pytest.raises(InputError) as err:
        _scenarios(tmp_path, f'\n[[scenarios]]\nname = "other"\n{override}\n')
    assert f"key {key}: {expected}" in str(err.value)
    same = _scenarios(tmp_path, '\n[[scenarios]]\nname = "same"\ntraffic = { competitor_events = "effect" }\n')
    assert same[-1].competitor_events == same[0].competitor_events == "effect"  # restating the base's value is fine


def test_events_override_replaces_same_type_only(tmp_path):
    extra = """
[[scenarios]]
name = "no-sales"
events = [{ type = "sale", dates = [] , weekday = "monday", start = "2030-01-01", end = "2030-01-02"}]
"""
    scenarios = _scenarios(tmp_path, extra)
    assert len(scenarios[2].events) == 1 and scenarios[2].events[0].weekday == 0


def test_empty_events_override_removes_all(tmp_path):
    scenarios = _scenarios(tmp_path, '\n[[scenarios]]\nname = "quiet"\nevents = []\n')
    assert scenarios[2].events == () and len(scenarios[0].events) == 1
    cal = future_calendar(scenarios[2], dt.date(2026, 4, 1), ["sale"])
    assert cal["event_sale"].sum() == 0


def test_future_calendar(tmp_path):
    extra = """
[[scenarios]]
name = "fortnightly"
events = [
  { type = "sale", weekday = "thu", every_weeks = 2, start = "2026-04-06", end = "2026-04-30", intensity = 1.5 },
  { type = "sale", dates = ["2026-04-27", "2027-01-01"], intensity = 3.0 },
]
"""
    sc = _scenarios(tmp_path, extra)[2]
    cal = future_calendar(sc, dt.date(2026, 4, 1), ["sale", "launch"])
    assert len(cal) == 28 and cal["date"].iloc[0] == pd.Timestamp("2026-04-01")
    assert cal["date"].dtype == "datetime64[ns]"
    on = cal.loc[cal["event_sale"] == 1, "date"].dt.strftime("%m-%d").tolist()
    assert on == ["04-09", "04-23", "04-27"]
    assert cal.loc[cal["event_sale"] == 1, "intensity_sale"].tolist() == [1.5, 1.5, 3.0]
    assert (cal.loc[cal["event_sale"] == 0, "intensity_sale"] == 0).all()
    assert (cal["event_launch"] == 0).all() and "intensity_launch" in cal
    with pytest.raises(InputError, match="an event type of the traffic history"):
        future_calendar(sc, dt.date(2026, 4, 1), ["launch"])


def test_forecast_start(tmp_path):
    base = _scenarios(tmp_path)[0]
    history = read_traffic(VALID / "traffic.csv")
    assert forecast_start(base, history) == dt.date(2026, 3, 30)
    later = dataclasses.replace(base, start=dt.date(2026, 4, 6))
    assert forecast_start(later, history) == dt.date(2026, 4, 6)
    early = dataclasses.replace(base, start=dt.date(2026, 3, 29))
    with pytest.raises(InputError, match="a start after the last history date 2026-03-29"):
        forecast_start(early, history)


def test_scenario_cross_checks_pass_with_frames(tmp_path):
    scenarios = read_scenarios(
        VALID / "scenarios.toml",
        loadtest=read_loadtest(VALID / "loadtest.csv"),
        prices=read_prices(PRICES),
        traffic=read_traffic(VALID / "traffic.csv"),
    )
    assert [s.name for s in scenarios] == ["baseline", "bigger-sales"]


def test_scenario_toml_is_data_only(tmp_path):
    """A scenario file cannot run code: strings that look like Python are just (invalid) values."""
    text = (VALID / "scenarios.toml").read_text().replace('name = "baseline"', 'name = "__import__(\'os\')"')
    with pytest.raises(InputError, match="directory name"):
        read_scenarios(_write(tmp_path, "s.toml", text))


def test_loadtest_defaults_and_notes():
    df = read_loadtest(VALID / "loadtest.csv")
    assert list(df.columns) == ["tier", "config", "level", "n", "throughput", "repeat"]
    assert df["n"].dtype == float and df["repeat"].dtype == int
    assert (df.loc[df["level"] == "cluster", "config"] == "c6i.xlarge").all()
    assert df.attrs["notes"] == ["loadtest.csv: config 'c6i.xlarge' was tested in tiers app, static; each tier gets its own curve"]


@pytest.mark.skipif(not (EXAMPLE / "scenarios.toml").exists(), reason="the example is not written yet")
def test_check_defaults_to_example(monkeypatch, capsys):
    import bayescap.cli as cli

    monkeypatch.setattr(cli, "COMMANDS", ("check",))
    assert cli.main(["check"]) == 0
    out = capsys.readouterr().out
    assert "traffic   " in out and "loadtest  " in out and "scenario  baseline" in out
    assert "sweep     baseline: sale at intensities 1, 1.5, 2, 3, 4, 6; runway floor 14.5 months" in out
    assert out.strip().splitlines()[-1].startswith("ok: ")


def test_traffic_model_options_in_the_scenario_file(tmp_path):
    """[traffic] model = {...}: the traffic model's options, checked by the model's own names, types and bounds."""
    text = (VALID / "scenarios.toml").read_text()
    assert 'competitor_events = "effect"\n' in text
    good = text.replace('competitor_events = "effect"\n',
                        'competitor_events = "effect"\nmodel = { knot_spacing = 14, ar1 = false, fourier_order = 6 }\n')
    base = read_scenarios(_write(tmp_path, "good.toml", good))[0]
    assert base.traffic_model == {"knot_spacing": 14, "ar1": False, "fourier_order": 6}
    assert read_scenarios(_write(tmp_path, "plain.toml", text))[0].traffic_model == {}
    for table, expected in [
        ("{ knot_spacng = 14 }", "key traffic.model.knot_spacng: a traffic-model option, got 'knot_spacng' "
                                 "(did you mean 'knot_spacing'?)"),
        ("{ knot_spacing = 1.5 }", "key traffic.model.knot_spacing: option knot_spacing must be a whole number"),
        ('{ ar1 = "no" }', "key traffic.model.ar1: option ar1 must be true or false"),
        ("{ knot_spacing = 0 }", "key traffic.model.knot_spacing: option knot_spacing must be >= 1"),
        ('{ competitor_events = "exclude" }', "competitor_events in [traffic] itself"),
        ("3", "key traffic.model: a table of traffic-model options"),
    ]:
        bad = text.replace('competitor_events = "effect"\n', f'competitor_events = "effect"\nmodel = {table}\n')
        with pytest.raises(InputError) as err:
            read_scenarios(_write(tmp_path, "bad.toml", bad))
        assert expected in str(err.value)


@pytest.mark.skipif(not (EXAMPLE / "scenarios.toml").exists(), reason="the example is not written yet")
def test_check_notes_a_scheduled_event_type_with_no_day_in_the_fitted_window(tmp_path, monkeypatch, capsys):
    """A launch flagged only in the history's first weeks is outside the 730 days the forecast fits: `bayescap
    check` says its lift will be the prior's and how many days would include it; --history-days 0 silences it."""
    import bayescap.cli as cli

    traffic = pd.read_csv(EXAMPLE / "traffic.csv")
    traffic["event_launch"] = 0
    traffic.loc[[3, 10], "event_launch"] = 1  # 2024-09-04 and 2024-09-11; the history ends 2026-10-31
    traffic.to_csv(tmp_path / "traffic.csv", index=False)
    text = (EXAMPLE / "scenarios.toml").read_text()
    text = text.replace('[[events]]\ntype = "sale"', '[[events]]\ntype = "launch"\ndates = ["2026-12-03"]\n\n'
                        '[[events]]\ntype = "sale"', 1)
    (tmp_path / "scenarios.toml").write_text(text)
    args = ["check", "--scenario", str(tmp_path / "scenarios.toml"), "--traffic", str(tmp_path / "traffic.csv"),
            "--intraday", str(EXAMPLE / "traffic_hourly.csv"), "--loadtest", str(EXAMPLE / "loadtest.csv"),
            "--prices", str(PRICES)]
    monkeypatch.setattr(cli, "COMMANDS", ("check",))
    assert cli.main(args) == 0
    notes = [line for line in capsys.readouterr().out.splitlines() if line.startswith("note") and "'launch'" in line]
    assert notes == [
        "note      traffic.csv: event type 'launch' is scheduled by baseline, aggressive-sales, lighter-app, autoscale but none of "
        "its 2 days (the last 2024-09-11) is in the 730 days the traffic model is fitted on: its lift will come from "
        "the prior; `bayescap forecast --history-days 781` or more would include them"]
    assert cli.main([*args, "--history-days", "781"]) == 0
    assert "'launch' is scheduled" not in capsys.readouterr().out
    assert cli.main([*args, "--history-days", "780"]) == 0
    assert "'launch' is scheduled" in capsys.readouterr().out
    traffic["event_launch"] = 0  # never flagged: the lift is the prior's whatever the window
    traffic.to_csv(tmp_path / "traffic.csv", index=False)
    assert cli.main([*args, "--history-days", "0"]) == 0
    assert "event type 'launch' is scheduled by baseline, aggressive-sales, lighter-app, autoscale but has no day in the history" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["check", "forecast"])
@pytest.mark.parametrize("bad", ["-3", "two", "10", "55"])
def test_history_days_must_be_all_or_at_least_eight_weeks(command, bad, capsys):
    """A window shorter than the traffic reader's 56 days used to fail only after the capacity fit, deep in the
    traffic model ("needs at least 28"), without naming the option."""
    import bayescap.cli as cli

    with pytest.raises(SystemExit) as exc:
        cli.main([command, "--history-days", bad])
    assert exc.value.code == 2
    assert (f"argument --history-days: 0 (all the history) or a whole number of days >= 56 (8 weeks, to separate "
            f"weekdays from events), got '{bad}'") in capsys.readouterr().err


@pytest.mark.parametrize("command", ["forecast", "capacity", "backtest"])
@pytest.mark.parametrize("bad", ["-3", "4294967296", "1.5", "x"])
def test_seed_must_be_a_whole_number_the_sampler_takes(command, bad, capsys):
    """A negative seed reached nutpie and failed there with a traceback ("can't convert negative int to unsigned");
    the bounds are the scenario file's (0 to 2**32 - 1)."""
    import bayescap.cli as cli

    with pytest.raises(SystemExit) as exc:
        cli.main([command, "--seed", bad] + (["data/example/traffic.csv"] if command == "backtest" else []))
    assert exc.value.code == 2
    assert f"argument --seed: a whole number from 0 to 4294967295, got '{bad}'" in capsys.readouterr().err


@pytest.mark.parametrize(("command", "flag", "bad", "expected"), [
    ("forecast", "--tune", "-1", "a whole number >= 0"),
    ("forecast", "--draws", "0", "a whole number >= 1"),
    ("capacity", "--chains", "x", "a whole number >= 1"),
    ("backtest", "--tune", "0", "a whole number >= 1"),
])
def test_sampler_settings_are_checked_by_the_command_line(command, flag, bad, expected, capsys):
    """``forecast --tune -1`` used to be reported from inside the capacity fit, with the doubled value "tune=-2"."""
    import bayescap.cli as cli

    with pytest.raises(SystemExit) as exc:
        cli.main([command, flag, bad] + (["data/example/traffic.csv"] if command == "backtest" else []))
    assert exc.value.code == 2
    assert f"argument {flag}: {expected}, got '{bad}'" in capsys.readouterr().err


def test_a_new_kind_of_event_is_refused_with_how_to_plan_it(tmp_path):
    """An event type the history has no column for: the message says how to plan it (a column of 0s), and with that
    column the scenario reads and the event type is known, with no day in the history."""
    scenario = _write(tmp_path, "plan.toml", (EXAMPLE / "scenarios.toml").read_text().replace(
        'dates = ["2026-11-27"]           # Black Friday: an extra sale day',
        'dates = ["2026-11-27"]\n\n[[events]]\ntype = "launch"\ndates = ["2027-02-10"]', 1))
    traffic = read_traffic(EXAMPLE / "traffic.csv")
    with pytest.raises(InputError) as err:
        read_scenarios(scenario, traffic=traffic)
    msg = str(err.value)
    assert "key events[1].type" in msg and "got 'launch'" in msg
    assert "add a column event_launch of 0s to traffic.csv: its lift then comes from the prior" in msg
    raw = pd.read_csv(EXAMPLE / "traffic.csv")
    raw["event_launch"] = 0
    traffic = read_traffic(_write(tmp_path, "traffic.csv", raw.to_csv(index=False)))
    assert set(traffic.attrs["event_types"]) == {"sale", "launch"}
    scenarios = read_scenarios(scenario, traffic=traffic)
    assert [e.type for e in scenarios[0].events] == ["sale", "launch"]
