"""Runs written by earlier versions of bayescap stay readable: the report rebuilds, the analyst's ``load_run`` and
``bayescap diagnose`` work, and the posteriors can be reused.

The frozen run in ``tests/fixtures/runs/`` was written by an earlier commit (see the README there) and is never
regenerated: when the run format changes, a new frozen run is added beside it and this file tests both.
"""

from __future__ import annotations

import json
import shutil
import types
from pathlib import Path

import pytest

from tests.conftest import REPO

FROZEN = sorted((REPO / "tests" / "fixtures" / "runs").glob("run-*"))


@pytest.fixture(params=FROZEN, ids=[p.name for p in FROZEN])
def old_run(request, tmp_path: Path) -> Path:
    run = tmp_path / request.param.name
    shutil.copytree(request.param, run)  # the command writes next to the run: never into the fixture
    return run


def test_there_is_a_frozen_run():
    assert FROZEN, "tests/fixtures/runs/ has no frozen run"


def test_the_report_of_an_old_run_rebuilds_with_every_number_traced(old_run: Path, capsys):
    from pypdf import PdfReader

    from bayescap.commands import report as report_cmd
    from bayescap.report.verify import check_run_report

    assert report_cmd.run(types.SimpleNamespace(run_dir=old_run, out=None)) == 0
    pdf = Path(capsys.readouterr().out.split()[-1])
    pages = PdfReader(pdf).pages
    assert len(pages) >= 12
    first = pages[0].extract_text()
    summary = json.loads((old_run / "summary.json").read_text())
    # the old run's own verdict is what page 1 says: its tiny draws failed the checks, so it is a DRAFT
    assert summary["checks"]["ok"] is False and "DRAFT" in first
    assert check_run_report(old_run) == []
    # the method page lists the options the old run was fitted with, not today's defaults (weekday x yearly order
    # was 2 until 2026-11-29, 3 since), and the yearly order its fit chose
    text = " ".join(" ".join(p.extract_text().split()) for p in pages)
    assert "option weekday_yearly_order 2" in text
    assert "yearly order chosen 2" in text


def test_load_run_and_the_fit_reuse_read_an_old_run(old_run: Path):
    import bayescap
    from bayescap.runstore import read_datatree

    tree = bayescap.load_run(old_run)
    assert {"capacity", "traffic", "simulation"} <= set(tree.children)
    assert {"sigma", "kappa", "lam"} <= set(tree["capacity/posterior"].data_vars)
    assert "servers_needed" in tree["simulation"].data_vars
    post = read_datatree(old_run / "posteriors.nc")
    assert {"capacity", "traffic"} <= set(post.children)  # what fit_or_reuse loads


def test_diagnose_reads_an_old_run(old_run: Path, capsys):
    from bayescap.commands import diagnose

    assert diagnose.run(types.SimpleNamespace(run_dir=old_run, no_plots=True)) == 0
    out = capsys.readouterr().out
    assert "model checks: FAILED" in out and "capacity" in out and "traffic" in out
