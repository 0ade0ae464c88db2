"""Shared test fixtures. One named seed for the whole suite."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

SEED = 20261126
REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
EXAMPLE = DATA / "example"
REAL = DATA / "real"

# keep the suite light on a 2-core machine
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def seed() -> int:
    return SEED


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO
