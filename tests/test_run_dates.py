"""A date outside the data: one named error for every notebook (helpers.data.check_date_range)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from tiny_notebooks import SAFETY_NET

from helpers.data import DataError, DateRangeError, check_date_range, load_prices

ROOT = Path(__file__).resolve().parent.parent
DATES = pd.bdate_range("2020-01-01", "2020-12-31")


def test_a_start_after_the_last_date_or_an_end_before_the_first_is_named():
    with pytest.raises(DateRangeError, match=re.escape(
            "start='2021-06-01' is after the data's last date: the data runs from 2020-01-01 to 2020-12-31. "
            "Choose a start on or before 2020-12-31.")):
        check_date_range(DATES, start="2021-06-01")
    with pytest.raises(DateRangeError, match=re.escape(
            "test_end='2019-01-31' is before the data's first date: the data (csv:prices) runs from 2020-01-01")):
        check_date_range(DATES, end=pd.Timestamp("2019-01-31"), source="csv:prices", names=("test_start", "test_end"))
    for start, end in (("2020-12-31", None), (None, "2020-01-01"), ("2019-01-01", "2030-01-01"), (None, None)):
        check_date_range(DATES, start=start, end=end)                    # inside, or around, the data: fine
    assert issubclass(DateRangeError, DataError)


def test_a_frame_counts_its_rows_with_data_and_names_its_source():
    frame = pd.DataFrame({"A": 1.0, "B": 2.0}, index=DATES)
    frame.loc["2020-07-01":, :] = float("nan")                           # the data ends on 2020-06-30
    frame.attrs["provenance"] = {"source": "synthetic"}
    with pytest.raises(DateRangeError, match=re.escape("the data (synthetic) runs from 2020-01-01 to 2020-06-30")):
        check_date_range(frame, start="2020-08-01")
    with pytest.raises(DataError, match="no data"):
        check_date_range(frame.iloc[:0], start="2020-08-01")


def test_a_ticker_that_ends_before_start_or_begins_after_end_is_named():
    # ragged real data: B ends in June, C begins in March; the data as a whole spans the year
    frame = pd.DataFrame({"A": 1.0, "B": 2.0, "C": 3.0}, index=DATES)
    frame.loc["2020-07-01":, "B"] = float("nan")
    frame.loc[:"2020-02-28", "C"] = float("nan")
    with pytest.raises(DateRangeError, match=re.escape(
            "start='2020-08-01' is after the last date of B (2020-06-30): every ticker needs prices after start. "
            "Choose a start on or before 2020-06-30, or leave that ticker out.")):
        check_date_range(frame, start="2020-08-01")
    with pytest.raises(DateRangeError, match=re.escape("end='2020-02-01' is before the first date of C (2020-03-02)")):
        check_date_range(frame, end="2020-02-01")
    ohlcv = pd.concat({"Close": frame, "Volume": frame * 0}, axis=1)        # (field, ticker) columns: Close counts
    with pytest.raises(DateRangeError, match=r"last date of B \(2020-06-30\)"):
        check_date_range(ohlcv, start="2020-08-01")
    check_date_range(frame, start="2020-06-30", end="2020-03-02")         # every ticker has a price: fine


def test_the_loaders_check_the_dates_they_are_given():
    with pytest.raises(DateRangeError, match=r"start='2100-01-01' is after the data's last date: the data "
                                             r"\(synthetic\) runs from \d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d"):
        load_prices(["SPY"], start="2100-01-01", source="synthetic")
    with pytest.raises(DateRangeError, match=r"end='1900-01-01' is before the data's first date"):
        load_prices(["SPY"], end="1900-01-01", source="synthetic")
    with pytest.raises(DateRangeError, match=r"start='2100-01-01'"):          # with history before start too
        load_prices(["SPY"], start="2100-01-01", source="synthetic", lookback=400)


@pytest.mark.integration
def test_every_notebook_names_a_start_after_the_data_its_date_and_the_data_range(tmp_path):
    """The analyses with a start date (03, 04, 05) stop with the same named error, at their first use of it."""
    out = tmp_path / "r"
    env = {k: v for k, v in os.environ.items() if k not in ("QN_DATA_SOURCE", "CI")}
    done = subprocess.run([sys.executable, "-m", "helpers.run", "--only", "03", "04", "05", "-p", "start", "2100-01-01",
                           "--data-source", "synthetic", "--output-dir", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=SAFETY_NET)
    assert done.returncode == 1, done.stderr[-3000:]
    sets = json.loads((out / "runs.json").read_text())
    assert len(sets) == 3 and all(m["status"] == "failed" for m in sets)
    for meta in sets:
        assert re.search(r"DateRangeError: start='2100-01-01' is after the data's last date: the data "
                         r"\(synthetic\) runs from \d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d\.", meta["error"]), meta["error"]
        assert meta["report"] in done.stdout                             # the failed set's notebook, linked
