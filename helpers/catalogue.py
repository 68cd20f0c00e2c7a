"""The catalogue of known tickers (``data/universe.csv``) and simulated factors."""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
CATALOGUE_FILES = ("universe.csv", "factors.csv")  # under DATA_DIR: what the simulated market is built from


@functools.lru_cache(maxsize=1)
def load_universe() -> pd.DataFrame:
    """The ticker catalogue: one row per ticker, fitted figures included.

    Columns include ``ticker``, ``name``, ``asset_class``, ``inception``, ``underlying`` and
    ``leverage`` (leveraged ETFs), ``pair_leader`` (close substitutes), ``drift`` and
    ``idio_vol`` (annual), factor loadings ``b_<FACTOR>`` and volume figures.
    """
    uni = pd.read_csv(DATA_DIR / CATALOGUE_FILES[0], keep_default_na=False, na_values=[""])
    for col in ("underlying", "pair_leader", "proxy_for_fit"):
        uni[col] = uni[col].fillna("").astype(str)
    return uni


@functools.lru_cache(maxsize=1)
def load_factors() -> pd.DataFrame:
    """Simulated factors with their annual volatility (``factor``, ``proxy``, ``annual_vol``)."""
    return pd.read_csv(DATA_DIR / CATALOGUE_FILES[1])


def known_tickers() -> list[str]:
    """Every ticker the catalogue (and so the simulated market) knows."""
    return list(load_universe()["ticker"])


def leverage_of(ticker: str) -> float | None:
    """The catalogue's daily multiple of a leveraged ETF, or None for a plain ticker."""
    row = load_universe().set_index("ticker").loc[ticker]
    return None if pd.isna(row["leverage"]) else float(row["leverage"])
