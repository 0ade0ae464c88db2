"""Prophet-style ds,y history + holidays frame -> traffic CSV with event columns."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayescap.commands import ingest as ingest_cmd
from bayescap.errors import BayescapError, InputError
from bayescap.ingest.prophet import prophet_to_traffic
from bayescap.inputs.traffic import read_traffic

SEED = 20261126


def cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bayescap")
    ingest_cmd.register(parser.add_subparsers())
    args = parser.parse_args(["ingest", *argv])
    try:
        return args.func(args)
    except BayescapError:
        return 2


@pytest.fixture
def prophet_files(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(SEED)
    days = pd.date_range("2026-01-05", periods=70, freq="D")
    history = pd.DataFrame({"ds": days.strftime("%Y-%m-%d"), "y": rng.poisson(5000, size=days.size)})
    hist_path = tmp_path / "history.csv"
    history.to_csv(hist_path, index=False)
    holidays = pd.DataFrame(
        {
            "holiday": ["Black Friday", "Black Friday", "superbowl", "rival launch"],
            "ds": ["2026-01-16", "2026-02-20", "2026-02-08", "2026-03-02"],
            "lower_window": [0, -1, 0, 0],
            "upper_window": [1, 0, 0, 2],
        }
    )
    hol_path = tmp_path / "holidays.csv"
    holidays.to_csv(hol_path, index=False)
    return hist_path, hol_path


def test_holiday_windows_become_event_columns(prophet_files):
    hist, hol = prophet_files
    df = prophet_to_traffic(hist, hol, competitor=["rival launch"])
    assert list(df.columns) == ["date", "count", "competitor_event", "event_black_friday", "event_superbowl"]
    flagged = lambda col: list(df.loc[df[col] == 1, "date"].dt.strftime("%m-%d"))  # noqa: E731
    assert flagged("event_black_friday") == ["01-16", "01-17", "02-19", "02-20"]  # windows [0,+1] and [-1,0]
    assert flagged("event_superbowl") == ["02-08"]
    assert flagged("competitor_event") == ["03-02", "03-03", "03-04"]
    assert df["count"].sum() == pd.read_csv(hist)["y"].sum()


def test_cli_output_passes_the_traffic_reader(prophet_files, tmp_path: Path):
    hist, hol = prophet_files
    out = tmp_path / "traffic.csv"
    assert cli(["prophet", "--history", str(hist), "--holidays", str(hol), "--competitor", "rival launch",
                "--out", str(out)]) == 0
    df = read_traffic(out)
    assert df.attrs["event_types"] == ["black_friday", "superbowl"]
    assert df["competitor_event"].sum() == 3
    assert out.read_text().splitlines()[1].startswith("2026-01-05,")
    # never overwritten silently
    before = out.read_text()
    assert cli(["prophet", "--history", str(hist), "--out", str(out)]) == 2
    assert out.read_text() == before
    assert cli(["prophet", "--history", str(hist), "--out", str(out), "--force"]) == 0
    assert "event_" not in out.read_text().splitlines()[0]


def test_unknown_competitor_holiday_is_an_input_error(prophet_files):
    hist, hol = prophet_files
    with pytest.raises(InputError, match="--competitor"):
        prophet_to_traffic(hist, hol, competitor=["not a holiday"])
    with pytest.raises(InputError, match="--competitor"):
        prophet_to_traffic(hist, None, competitor=["superbowl"])
