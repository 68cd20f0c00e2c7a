"""Shared fixtures: where the real prices live (tests that need them skip without them)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REAL_DATA = Path(os.environ.get("QN_REAL_DATA", ROOT.parent / "shared" / "market-data"))


@pytest.fixture
def real_data() -> Path:
    """The folder of real Yahoo-format CSVs; skips the test when it is absent."""
    if not (REAL_DATA / "SPY.csv").exists():
        pytest.skip(f"real market data not found at {REAL_DATA}")
    return REAL_DATA


@pytest.fixture(autouse=True)
def _no_source_env(monkeypatch, tmp_path):
    """Tests start from the default source and a private yfinance cache."""
    monkeypatch.delenv("QN_DATA_SOURCE", raising=False)
    monkeypatch.setenv("QN_CACHE_DIR", str(tmp_path / "cache"))


def pytest_configure(config):
    import matplotlib

    matplotlib.use("Agg")  # headless plotting in unit tests
