"""Checks every price frame passes, whatever its source, and the data layer's warnings."""

from __future__ import annotations

import sys
import warnings

import pandas as pd

from helpers.source import DataError

FIELDS = ("Open", "High", "Low", "Close", "Volume")
PRICE_FIELDS = ("Open", "High", "Low", "Close")
_DATA_MODULES = ("helpers.data", "helpers.yahoo", __name__)


def warn(message: str) -> None:
    """Warn with the first stack frame outside the data layer as the location."""
    level, frame = 2, sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") in _DATA_MODULES:
        level += 1
        frame = frame.f_back
    warnings.warn(message, UserWarning, stacklevel=level)


def check_frame(frame: pd.DataFrame, what: str) -> None:
    """Raise DataError on duplicate or unsorted dates or non-numeric columns."""
    if frame.index.has_duplicates:
        dupes = frame.index[frame.index.duplicated()].unique()[:3]
        raise DataError(f"{what}: duplicate dates, e.g. {', '.join(str(d.date()) for d in dupes)}.")
    if not frame.index.is_monotonic_increasing:
        raise DataError(f"{what}: dates are not sorted ascending.")
    bad = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if bad:
        raise DataError(f"{what}: non-numeric values in column(s) {', '.join(map(str, bad))}.")


def check_prices(frame: pd.DataFrame, what: str, close: str = "Close") -> None:
    """Raise DataError naming ``what`` when ``close`` has no value or a price is zero or negative.

    Checks Open, High, Low, Close and Adj Close where present (Volume may be 0).
    """
    if close not in frame.columns or frame[close].notna().sum() == 0:
        raise DataError(f"{what}: no prices (the {close!r} column is missing or has no values).")
    for col in (*PRICE_FIELDS, "Adj Close"):
        if col not in frame.columns:
            continue
        bad = frame[col][frame[col] <= 0]
        if len(bad):
            raise DataError(f"{what}: non-positive price {bad.iloc[0]:g} in {col!r} on "
                            f"{bad.index[0].date()} ({len(bad)} such value(s)); prices must be > 0.")
