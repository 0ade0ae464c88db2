"""Run directories: atomic, never overwritten, no partial run that looks complete."""

from __future__ import annotations

import json
import os

import pytest

from bayescap.errors import OutputError
from bayescap.runstore import PARTIAL_PREFIX, staged_run_dir, write_json


def test_completed_run_is_renamed_and_never_overwritten(tmp_path):
    finals = []
    for _ in range(3):  # three runs within the same second get three directories
        with staged_run_dir(tmp_path, "baseline") as (tmp, final):
            (tmp / "summary.json").write_text("{}")
        finals.append(final[0])
    assert len({f.name for f in finals}) == 3
    assert all((f / "summary.json").exists() for f in finals)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(PARTIAL_PREFIX)]


@pytest.mark.parametrize("exc", [KeyboardInterrupt, RuntimeError])
def test_interrupted_run_leaves_nothing_that_looks_complete(tmp_path, exc):
    with pytest.raises(exc):
        with staged_run_dir(tmp_path, "baseline") as (tmp, _):
            (tmp / "posteriors.nc").write_text("half")
            raise exc()
    assert list(tmp_path.iterdir()) == []


def test_scenario_name_cannot_escape_reports(tmp_path):
    with pytest.raises(OutputError, match="cannot be used"):
        with staged_run_dir(tmp_path, "../../etc"):
            pass


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_reports_dir_gives_clear_error(tmp_path):  # pragma: no cover - CI runs as root
    tmp_path.chmod(0o500)
    with pytest.raises(OutputError, match="cannot write"):
        with staged_run_dir(tmp_path / "reports", "baseline"):
            pass


def test_reports_path_that_is_a_file_gives_clear_error(tmp_path):
    blocker = tmp_path / "reports"
    blocker.write_text("not a folder")
    with pytest.raises(OutputError, match="reports"):
        with staged_run_dir(blocker, "baseline"):
            pass


def test_full_disk_gives_clear_error(tmp_path, monkeypatch):
    import errno

    import bayescap.runstore as rs

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(rs.os, "fsync", full)
    with pytest.raises(OutputError, match="disk is full"):
        write_json(tmp_path / "summary.json", {"a": 1})
    assert not (tmp_path / "summary.json").exists()


def test_write_json_is_stable_and_nan_free(tmp_path):
    write_json(tmp_path / "a.json", {"b": float("nan"), "a": 1.5})
    text = (tmp_path / "a.json").read_text()
    assert json.loads(text) == {"a": 1.5, "b": None}
    assert text.index('"a"') < text.index('"b"')
