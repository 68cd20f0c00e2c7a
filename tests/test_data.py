"""The data layer: simulated market, CSV directories, yfinance (mocked at its boundary)."""

from __future__ import annotations

import sys
import types

import numpy as np
import pandas as pd
import pytest

from helpers import data, synthetic
from helpers.data import DataError, UnknownTickerError, load_ohlcv, load_prices

# --------------------------------------------------------------------------- synthetic


def test_synthetic_is_identical_on_every_call():
    a = load_prices(["SPY", "SPXL", "TLT"], source="synthetic")
    synthetic.clear_cache()
    b = load_prices(["SPY", "SPXL", "TLT"], source="synthetic")
    pd.testing.assert_frame_equal(a, b)
    six = np.char.mod("%.6g", a.to_numpy())
    assert (six == np.char.mod("%.6g", b.to_numpy())).all()
    assert data.provenance(a).content_hash == data.provenance(b).content_hash


def test_synthetic_seed_changes_the_market():
    a = load_prices("SPY", source="synthetic")
    b = load_prices("SPY", source="synthetic:1")
    assert not np.allclose(a.to_numpy(), b.to_numpy())


def test_spxl_is_a_daily_three_times_spy_with_drag_and_small_tracking_error():
    p = load_prices(["SPY", "SPXL"], source="synthetic")
    assert p["SPXL"].first_valid_index().strftime("%Y-%m") == "2008-11"
    r = p.pct_change(fill_method=None).dropna()
    gap = r["SPXL"] - 3 * r["SPY"]
    assert -0.12 < gap.mean() * 252 < 0.0          # fees and financing drag
    assert gap.std() * np.sqrt(252) < 0.06         # small tracking error
    assert np.corrcoef(r["SPXL"], r["SPY"])[0, 1] > 0.99


def test_nan_before_inception_is_not_forward_filled():
    p = load_prices(["SPY", "LABU"], source="synthetic")
    first = p["LABU"].first_valid_index()
    assert first == pd.Timestamp("2015-05-28")
    assert p["LABU"].loc[:first].isna().sum() == len(p.loc[:first]) - 1
    assert p["SPY"].notna().all()


def test_calendar_is_nyse():
    idx = load_prices("SPY", source="synthetic").index
    assert pd.Timestamp("2012-10-29") not in idx          # hurricane Sandy closure
    assert pd.Timestamp("2025-07-04") not in idx
    assert pd.Timestamp("2025-07-03") in idx
    assert idx[0] < pd.Timestamp("2008-01-01") and idx[-1] == pd.Timestamp("2025-12-31")


def test_volume_levels_and_persistence():
    v = load_prices(["SPY", "AAPL"], field="Volume", source="synthetic").dropna()
    logv = np.log(v["SPY"])
    assert 1e7 < v["SPY"].median() < 1e9
    assert logv.autocorr(1) > 0.3


def test_ohlc_is_consistent():
    o = load_ohlcv("QQQ", source="synthetic")
    hi, lo = o["High"]["QQQ"], o["Low"]["QQQ"]
    assert (hi >= o["Close"]["QQQ"]).all() and (lo <= o["Close"]["QQQ"]).all()
    assert (hi >= o["Open"]["QQQ"]).all() and (lo <= o["Open"]["QQQ"]).all()


def test_pairs_spread_mean_reverts():
    p = np.log(load_prices(["EEM", "IEMG"], source="synthetic").dropna())
    spread = p["IEMG"] - p["EEM"]
    spread = spread - spread.mean()
    # an AR(1) on the spread with a half-life of days, not years
    phi = spread.autocorr(1)
    assert 0.5 < phi < 0.99


# --------------------------------------------------------------------------- errors


def test_unknown_ticker_is_named():
    with pytest.raises(UnknownTickerError, match="DXY"):
        load_prices(["SPY", "DXY"], source="synthetic")


def test_drop_failed_warns_and_keeps_the_rest():
    with pytest.warns(UserWarning, match="DXY"):
        p = load_prices(["SPY", "DXY"], source="synthetic", drop_failed=True)
    assert list(p.columns) == ["SPY"]
    assert "DXY" in data.banner(p)


@pytest.mark.parametrize("kwargs, message", [
    ({"start": "2020-01-01", "end": "2019-01-01"}, "after end"),
    ({"start": "2030-01-01"}, "No prices"),
    ({"start": "not a date"}, "YYYY-MM-DD"),
    ({"field": "Adj Close"}, "field must be one of"),
])
def test_bad_ranges_and_fields(kwargs, message):
    with pytest.raises(DataError, match=message):
        load_prices("SPY", source="synthetic", **kwargs)


def test_bad_source_and_empty_tickers():
    with pytest.raises(DataError, match="neither"):
        load_prices("SPY", source="/no/such/dir")
    with pytest.raises(DataError, match="at least one"):
        load_prices([], source="synthetic")
    with pytest.raises(DataError, match="Duplicate"):
        load_prices(["SPY", "spy"], source="synthetic")


def test_environment_variable_chooses_source_and_argument_wins(monkeypatch, tmp_path):
    _write(tmp_path / "SPY.csv", "Date,Close\n2020-01-02,1\n2020-01-03,2\n")
    monkeypatch.setenv("QN_DATA_SOURCE", str(tmp_path))
    assert load_prices("SPY")["SPY"].tolist() == [1.0, 2.0]
    assert len(load_prices("SPY", source="synthetic")) > 1000


# --------------------------------------------------------------------------- CSV directory


def _write(path, text):
    path.write_text(text)
    return path


def test_adj_close_becomes_close_and_scales_ohlc(tmp_path):
    _write(tmp_path / "AAA.csv", "Date,Open,High,Low,Close,Adj Close,Volume\n"
           "2020-01-02,10,12,9,11,5.5,100\n2020-01-03,11,11,10,10,5,200\n")
    o = load_ohlcv("AAA", source=tmp_path)
    assert o["Close"]["AAA"].tolist() == [5.5, 5.0]
    assert o["Open"]["AAA"].tolist() == [5.0, 5.5]
    assert o["High"]["AAA"].tolist() == [6.0, 5.5]
    assert o["Volume"]["AAA"].tolist() == [100.0, 200.0]


def test_close_only_and_adjusted_ohlcv_files(tmp_path):
    _write(tmp_path / "BBB.csv", "Date,Adj Close\n2020-01-02,3\n2020-01-03,4\n")
    _write(tmp_path / "CCC.csv", "Date,Open,High,Low,Close,Volume\n2020-01-02,1,2,1,2,10\n2020-01-03,2,3,2,3,11\n")
    o = load_ohlcv(["BBB", "CCC"], source=tmp_path)
    assert o["Close"]["BBB"].tolist() == [3.0, 4.0]
    assert o["Open"]["BBB"].isna().all()
    assert o["Close"]["CCC"].tolist() == [2.0, 3.0]


@pytest.mark.parametrize("text, message", [
    ("Date,Open\n2020-01-02,1\n", "needs a 'Date' column and 'Close'"),
    ("Date,Close\n2020-01-02,abc\n", "non-numeric value 'abc'"),
    ("Date,Close\n2020-01-02,1\n2020-01-02,2\n", "duplicate dates"),
    ("Date,Close\n2020-01-03,1\n2020-01-02,2\n", "not sorted"),
    ("Date,Close\nyesterday,1\n", "not dates"),
])
def test_bad_files_are_named(tmp_path, text, message):
    _write(tmp_path / "BAD.csv", text)
    with pytest.raises(DataError, match=message) as err:
        load_prices("BAD", source=tmp_path)
    assert "BAD.csv" in str(err.value)


def test_files_ending_on_different_dates_warn(tmp_path):
    _write(tmp_path / "A.csv", "Date,Close\n2020-01-02,1\n2020-01-03,2\n")
    _write(tmp_path / "B.csv", "Date,Close\n2020-01-02,1\n")
    with pytest.warns(UserWarning, match="different dates"):
        p = load_prices(["A", "B"], source=tmp_path)
    assert np.isnan(p.loc["2020-01-03", "B"])


def test_missing_file_is_named(tmp_path):
    _write(tmp_path / "A.csv", "Date,Close\n2020-01-02,1\n")
    with pytest.raises(UnknownTickerError, match="ZZZ"):
        load_prices(["A", "ZZZ"], source=tmp_path)


def test_real_folder_returns_real_prices(real_data):
    p = load_prices(["SPY", "SPXL", "TLT"], source=real_data)
    raw = pd.read_csv(real_data / "SPXL.csv", index_col="Date", parse_dates=True)
    pd.testing.assert_series_equal(p["SPXL"].dropna(), raw["Adj Close"].astype(float), check_names=False,
                                   check_freq=False)
    assert p["SPXL"].first_valid_index() == pd.Timestamp("2008-11-05")


def test_real_dollar_index_uses_its_proxy_with_a_warning(real_data):
    with pytest.warns(UserWarning, match="UUP.csv as its proxy"):
        p = load_prices(["DX-Y.NYB"], source=real_data)
    assert "proxy" in data.banner(p)


# --------------------------------------------------------------------------- yfinance


def yf_frame(tickers, dates, unknown=()):
    """A frame shaped as yfinance 1.x returns it: columns (Price, Ticker), adjusted, no Adj Close."""
    fields = ["Close", "High", "Low", "Open", "Volume"]
    cols = pd.MultiIndex.from_product([fields, tickers], names=["Price", "Ticker"])
    idx = pd.DatetimeIndex(pd.to_datetime(dates), name="Date")
    values = np.arange(len(idx) * len(cols), dtype=float).reshape(len(idx), len(cols)) + 1
    frame = pd.DataFrame(values, index=idx, columns=cols)
    for t in unknown:
        frame.loc[:, (slice(None), t)] = np.nan
    return frame


@pytest.fixture
def fake_yf(monkeypatch):
    calls = []
    state = {"raise": None, "unknown": ()}

    def download(tickers, **kwargs):
        calls.append((list(tickers), kwargs))
        if state["raise"]:
            raise state["raise"]
        return yf_frame(list(tickers), ["2024-01-02", "2024-01-03"], state["unknown"])

    module = types.SimpleNamespace(download=download)
    monkeypatch.setitem(sys.modules, "yfinance", module)
    return calls, state


def test_yfinance_normalizes_and_caches(fake_yf, tmp_path):
    calls, _ = fake_yf
    p = load_prices(["SPY", "TLT"], source="yfinance")
    assert list(p.columns) == ["SPY", "TLT"] and len(p) == 2
    assert calls[0][1]["auto_adjust"] is True
    assert (tmp_path / "cache" / "SPY.parquet").exists()
    again = load_prices(["SPY", "TLT"], source="yfinance")
    assert len(calls) == 1  # served from the cache
    pd.testing.assert_frame_equal(p, again)
    load_prices(["SPY"], source="yfinance", refresh=True)
    assert len(calls) == 2


def test_yfinance_close_is_the_close_field(fake_yf):
    o = load_ohlcv(["SPY"], source="yfinance")
    raw = yf_frame(["SPY"], ["2024-01-02", "2024-01-03"])
    assert o["Close"]["SPY"].tolist() == raw[("Close", "SPY")].tolist()
    assert o["Volume"]["SPY"].tolist() == raw[("Volume", "SPY")].tolist()


def test_yfinance_unknown_symbol_is_named(fake_yf):
    _, state = fake_yf
    state["unknown"] = ("DXY",)
    with pytest.raises(UnknownTickerError, match="DXY"):
        load_prices(["SPY", "DXY"], source="yfinance")
    with pytest.warns(UserWarning, match="DXY"):
        assert list(load_prices(["SPY", "DXY"], source="yfinance", drop_failed=True).columns) == ["SPY"]


def test_yfinance_offline_error_suggests_synthetic(fake_yf):
    _, state = fake_yf
    state["raise"] = ConnectionError("no network")
    with pytest.raises(DataError, match="source='synthetic'") as err:
        load_prices(["SPY", "QQQ"], source="yfinance")
    assert "SPY, QQQ" in str(err.value)


def test_yfinance_rate_limit_is_retried(fake_yf, monkeypatch):
    calls, state = fake_yf
    rate_limited = type("YFRateLimitError", (Exception,), {})
    sequence = [rate_limited("slow down")]

    def flaky(tickers, **kwargs):
        calls.append(tickers)
        if sequence:
            raise sequence.pop()
        return yf_frame(list(tickers), ["2024-01-02"])

    monkeypatch.setitem(sys.modules, "yfinance", types.SimpleNamespace(download=flaky))
    monkeypatch.setattr(data.time, "sleep", lambda s: None)
    assert len(load_prices("SPY", source="yfinance")) == 1
    assert len(calls) == 2


def test_calibration_skips_cleanly_without_real_data(tmp_path, capsys):
    import importlib.util

    from helpers.catalogue import DATA_DIR

    spec = importlib.util.spec_from_file_location("calibrate", DATA_DIR / "calibrate.py")
    calibrate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(calibrate)
    before = (DATA_DIR / "universe.csv").read_bytes()
    assert calibrate.main(["--market-data", str(tmp_path / "absent")]) == 0
    assert "keeping the committed figures" in capsys.readouterr().out
    assert (DATA_DIR / "universe.csv").read_bytes() == before
