"""The data layer: simulated market, CSV directories, yfinance (mocked at its boundary)."""

from __future__ import annotations

import logging
import re
import socket
import sys
import threading
import time
import types
import warnings

import numpy as np
import pandas as pd
import pytest

from helpers import data, synthetic, validation, yahoo
from helpers.data import DataError, UnknownTickerError, load_ohlcv, load_prices
from helpers.source import DataSource, cache_dir

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
    ({"start": "2030-01-01"}, "start=.2030-01-01. is after the data.s last date"),
    ({"start": "not a date"}, "YYYY-MM-DD"),
    ({"field": "Adj Close"}, "field must be one of"),
])
def test_bad_ranges_and_fields(kwargs, message):
    with pytest.raises(DataError, match=message):
        load_prices("SPY", source="synthetic", **kwargs)


def test_start_after_end_names_the_dates_the_user_typed():
    with pytest.raises(DataError, match=r"start 2024-01-01 is after end 2023-06-01 \(start='2024-01-01', "
                                        r"end='2023-06-01'\)"):
        load_ohlcv("SPY", start="2024-01-01", end="2023-06-01", lookback=365, source="synthetic")


def test_lookback_loads_history_before_the_users_start():
    p = load_prices("SPY", start="2022-01-03", end="2022-06-30", lookback=365, source="synthetic")
    assert p.index[0] == pd.Timestamp("2021-01-04") and p.index[-1] == pd.Timestamp("2022-06-30")
    everything = load_prices("SPY", start="2022-01-03", lookback="all", source="synthetic")
    assert everything.index[0] == load_prices("SPY", source="synthetic").index[0]
    with pytest.raises(DataError, match=r"the data \(synthetic\) runs from .* to 2025-12-31"):
        load_prices("SPY", start="2030-01-01", lookback=365, source="synthetic")
    with pytest.raises(DataError, match="lookback"):
        load_prices("SPY", start="2022-01-03", lookback="soon", source="synthetic")


@pytest.mark.parametrize("source", ["synthetic:abc", "synthetic:", "synthetic:-1", "synthetic:1.5"])
def test_synthetic_seed_is_validated(source):
    with pytest.raises(DataError, match="whole number"):
        load_prices("SPY", source=source)


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
    ("", "the file is empty"),
    ("\n\n", "the file is empty"),
    ("Date,Close\n", "has a header (Date, Close) but no rows"),
    ("Date,Open,High,Low,Close,Adj Close,Volume\n", "has a header (Date, Open"),
    ("Date,Close\n2020-01-02,1\n2020-01-03,0\n", "non-positive price 0 in 'Close' on 2020-01-03"),
    ("Date,Close,Adj Close\n2020-01-02,1,-2\n", "non-positive price -2 in 'Adj Close' on 2020-01-02"),
    ("Date,Open,Close\n2020-01-02,-1,1\n", "non-positive price -1 in 'Open'"),
    ("Date,Close\n2020-01-02,\n2020-01-03,\n", "no prices"),
])
def test_bad_files_are_named(tmp_path, text, message):
    _write(tmp_path / "BAD.csv", text)
    with pytest.raises(DataError, match=re.escape(message)) as err:
        load_prices("BAD", source=tmp_path)
    assert "BAD.csv" in str(err.value)


def test_zero_volume_is_fine(tmp_path):
    _write(tmp_path / "V.csv", "Date,Close,Volume\n2020-01-02,1,0\n")
    assert load_ohlcv("V", source=tmp_path)["Volume"]["V"].tolist() == [0.0]


def test_files_ending_on_different_dates_warn(tmp_path):
    _write(tmp_path / "A.csv", "Date,Close\n2020-01-02,1\n2020-01-03,2\n")
    _write(tmp_path / "B.csv", "Date,Close\n2020-01-02,1\n")
    with pytest.warns(UserWarning, match="different dates"):
        p = load_prices(["A", "B"], source=tmp_path)
    assert np.isnan(p.loc["2020-01-03", "B"])
    with warnings.catch_warnings():  # a window ending before the gap has no gap to warn about
        warnings.simplefilter("error")
        assert load_prices(["A", "B"], source=tmp_path, end="2020-01-02").notna().all(axis=None)


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
        if t in tickers:
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
        frame = yf_frame(list(tickers), ["2024-01-02", "2024-01-03"], state["unknown"])
        if state.get("zero"):
            frame.iloc[1, 0] = 0.0
        return frame

    module = types.SimpleNamespace(download=download)
    monkeypatch.setitem(sys.modules, "yfinance", module)
    return calls, state


def test_yfinance_normalizes_and_caches(fake_yf, tmp_path):
    calls, _ = fake_yf
    p = load_prices(["SPY", "TLT"], source="yfinance")
    assert list(p.columns) == ["SPY", "TLT"] and len(p) == 2
    assert calls[0][1]["auto_adjust"] is True
    assert (tmp_path / "cache" / "SPY.parquet").exists()
    assert [c[0] for c in calls] == [["SPY"], ["TLT"]]        # one bounded request per ticker
    assert calls[0][1]["timeout"] == 10 and calls[0][1]["threads"] is False
    again = load_prices(["SPY", "TLT"], source="yfinance")
    assert len(calls) == 2  # served from the cache
    pd.testing.assert_frame_equal(p, again)
    load_prices(["SPY"], source="yfinance", refresh=True)
    assert len(calls) == 3


def test_refresh_from_the_environment_and_the_source_name(fake_yf, monkeypatch, tmp_path):
    calls, _ = fake_yf
    load_prices(["SPY"], source="yfinance")
    monkeypatch.setenv("QN_REFRESH_DATA", "1")
    load_prices(["SPY"], source="yfinance")
    assert len(calls) == 2
    monkeypatch.setenv("QN_REFRESH_DATA", "0")
    p = load_prices(["SPY"], source="yfinance:refresh")
    assert len(calls) == 3 and data.provenance(p).source == "yfinance"
    # the runner's --refresh-data: files cached since the run started are not fetched again
    monkeypatch.setenv("QN_REFRESH_DATA", f"{time.time() - 60:.0f}")
    load_prices(["SPY"], source="yfinance")
    assert len(calls) == 3
    monkeypatch.setenv("QN_REFRESH_DATA", f"{time.time() + 60:.0f}")
    load_prices(["SPY"], source="yfinance")
    assert len(calls) == 4
    monkeypatch.setenv("QN_REFRESH_DATA", "sometimes")
    with pytest.raises(DataError, match="QN_REFRESH_DATA"):
        load_prices(["SPY"], source="yfinance")


@pytest.mark.parametrize("damage, problem", [
    (lambda path: path.write_bytes(b"not parquet at all"), "cannot be read"),
    (lambda path: path.write_bytes(path.read_bytes()[:40]), "cannot be read"),
    (lambda path: path.write_bytes(b""), "cannot be read"),
    (lambda path: pd.DataFrame({f: [np.nan, np.nan] for f in validation.FIELDS},
                               index=pd.DatetimeIndex(["2024-01-02", "2024-01-03"])).to_parquet(path), "no prices"),
    (lambda path: pd.DataFrame({"Close": [1.0, 2.0]}).to_parquet(path), "has a RangeIndex index instead of dates"),
    (lambda path: pd.DataFrame({"Price": [1.0]}, index=pd.DatetimeIndex(["2024-01-02"])).to_parquet(path),
     "lacks column(s) Open, High, Low, Close, Volume"),
])
def test_a_bad_cache_file_is_reported_and_fetched_again(fake_yf, tmp_path, damage, problem):
    calls, _ = fake_yf
    good = load_prices(["SPY"], source="yfinance")
    path = tmp_path / "cache" / "SPY.parquet"
    damage(path)
    with pytest.warns(UserWarning, match=rf"cached SPY is not usable: .*SPY.parquet {re.escape(problem)}"):
        again = load_prices(["SPY"], source="yfinance")
    assert len(calls) == 2
    pd.testing.assert_frame_equal(good, again)
    assert len(load_prices(["SPY"], source="yfinance")) == 2 and len(calls) == 2   # repaired


def test_a_bad_cache_file_offline_says_how_to_clear_it(fake_yf, tmp_path):
    _, state = fake_yf
    load_prices(["SPY"], source="yfinance")
    path = tmp_path / "cache" / "SPY.parquet"
    path.write_bytes(b"garbage")
    state["raise"] = ConnectionError("no network")
    with pytest.warns(UserWarning, match="not usable"), pytest.raises(DataError) as err:
        load_prices(["SPY"], source="yfinance")
    assert f"rm {path}" in str(err.value) and "cannot be read" in str(err.value)


def test_non_positive_yahoo_prices_are_named(fake_yf):
    _, state = fake_yf
    state["zero"] = True
    with pytest.raises(DataError, match=r"yfinance SPY: non-positive price 0 in 'Close' on 2024-01-03"):
        load_prices(["SPY"], source="yfinance")


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


def test_possibly_delisted_is_not_passed_on_as_the_cause(monkeypatch, capsys):
    """yfinance logs 'possibly delisted' when Yahoo did not answer; the error names the real cause."""
    def download(tickers, **kwargs):
        log = logging.getLogger("yfinance")
        log.error("Failed to get ticker '%s' reason: Failed to perform, curl: (28) Connection timed out "
                  "after 10002 milliseconds. See https://curl.se/libcurl/c/libcurl-errors.html first for more "
                  "details.", tickers[0])
        log.error("%s: YFTzMissingError('possibly delisted; no timezone found')", tickers)
        return pd.DataFrame()

    monkeypatch.setitem(sys.modules, "yfinance", types.SimpleNamespace(download=download))
    with pytest.raises(DataError) as err:
        load_prices(["SPY"], source="yfinance")
    text = str(err.value)
    assert "possibly delisted" not in text and "curl: (28) Connection timed out" in text
    assert "Offline, or Yahoo not answering?" in text
    assert "possibly delisted" not in capsys.readouterr().err


def test_a_hanging_download_is_bounded_and_names_the_tickers_not_fetched(monkeypatch, capsys):
    release = threading.Event()
    calls = []

    def download(tickers, **kwargs):
        calls.append(tickers)
        if tickers == ["QQQ"]:
            release.wait(30)   # Yahoo accepts and never answers
        return yf_frame(list(tickers), ["2024-01-02"])

    monkeypatch.setitem(sys.modules, "yfinance", types.SimpleNamespace(download=download))
    monkeypatch.setenv("QN_YF_TIMEOUT", "0.2")
    try:
        with pytest.raises(DataError) as err:
            load_prices(["SPY", "QQQ", "IWM", "EFA"], source="yfinance")
    finally:
        release.set()
    text = str(err.value)
    assert "could not fetch QQQ, IWM, EFA" in text and "QQQ: no answer from Yahoo within 1 s" in text
    assert "IWM: not tried after QQQ got no answer" in text and "Fetched: SPY" in text
    assert calls == [["SPY"], ["QQQ"]]
    progress = capsys.readouterr().err
    assert "yfinance: fetching 4 tickers" in progress and "SPY (1/4) 1 days" in progress
    assert "QQQ (2/4) no answer" in progress
    assert (cache_dir() / "SPY.parquet").exists()     # what was fetched is kept


def test_the_total_limit_stops_a_slow_download(monkeypatch):
    def download(tickers, **kwargs):
        time.sleep(0.3)
        return yf_frame(list(tickers), ["2024-01-02"])

    monkeypatch.setitem(sys.modules, "yfinance", types.SimpleNamespace(download=download))
    monkeypatch.setenv("QN_YF_TOTAL_TIMEOUT", "0.5")
    with pytest.raises(DataError, match=r"EFA: not fetched: the 0.5 s limit for the download ran out"):
        load_prices(["SPY", "QQQ", "IWM", "EFA"], source="yfinance")
    monkeypatch.setenv("QN_YF_TOTAL_TIMEOUT", "none")
    with pytest.raises(DataError, match="QN_YF_TOTAL_TIMEOUT must be a number"):
        load_prices(["QQQ"], source="yfinance")


@pytest.fixture
def silent_server():
    """A TCP server on 127.0.0.1 that accepts connections and never answers; closed at the end."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    server.settimeout(0.2)
    accepted, stop = [], threading.Event()

    def serve():
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except (TimeoutError, OSError):
                continue

    def close():
        stop.set()
        thread.join(5)
        server.close()
        for conn in accepted:
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted, close
    close()


@pytest.mark.integration
def test_real_yfinance_against_a_server_that_never_answers(silent_server, monkeypatch):
    """The network accepts and never answers: bounded, and the error names the tickers and the cause."""
    pytest.importorskip("yfinance")
    port, accepted, close = silent_server
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(var, f"http://127.0.0.1:{port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setenv("QN_YF_TIMEOUT", "1")
    monkeypatch.setenv("QN_YF_TOTAL_TIMEOUT", "20")
    outcome = {}

    def load():
        try:
            load_prices(["SPY", "QQQ", "IWM"], source="yfinance")
        except Exception as exc:  # noqa: BLE001
            outcome["error"] = exc

    caller = threading.Thread(target=load, daemon=True)
    caller.start()
    caller.join(120)  # bounds the test itself should the limits not work
    assert not caller.is_alive(), "load_prices did not return"
    assert accepted, "yfinance never reached the local server"
    err = outcome["error"]
    assert isinstance(err, DataError)
    text = str(err)
    assert "could not fetch SPY, QQQ, IWM" in text and "SPY: no answer from Yahoo within 3 s" in text
    assert "possibly delisted" not in text
    close()   # refused from now on: yfinance's abandoned thread ends before the proxy variables go
    for t in [t for t in threading.enumerate() if t.name.startswith("qn-yfinance-")]:
        t.join(60)


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
    monkeypatch.setattr(yahoo.time, "sleep", lambda s: None)
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


# --------------------------------------------------------------------------- the source value


@pytest.mark.parametrize("text, kind, label, simulated", [
    ("synthetic", "synthetic", "synthetic", True), ("synthetic:7", "synthetic", "synthetic:7", True),
    ("yfinance", "yfinance", "yfinance", False), ("yfinance:refresh", "yfinance", "yfinance", False)])
def test_source_value_parses_each_string_form_once(text, kind, label, simulated):
    ds = DataSource.parse(text)
    assert (ds.kind, ds.label, ds.is_simulated, ds.is_real) == (kind, label, simulated, not simulated)
    assert ds.text == text and DataSource.parse(ds.text) == ds  # the string form round-trips
    assert data.resolve_source(text) == text  # the old string interface is kept


def test_source_value_of_a_folder_and_of_recorded_labels(tmp_path):
    folder = tmp_path / "prices"
    folder.mkdir()
    ds = DataSource.parse(str(folder))
    assert (ds.kind, ds.path, ds.label, ds.name, ds.is_real) == ("csv", str(folder.resolve()), "csv:prices",
                                                                   "prices", True)
    assert ds.describe() == "prices from the CSV folder 'prices'"
    # labels recorded in provenance (the folder need not exist where they are read back)
    assert DataSource.from_label("csv:prices").name == "prices"
    assert DataSource.from_label("/old/run/path/prices").name == "prices"
    assert DataSource.from_label("synthetic:3").seed == 3
    assert DataSource.from_label("yfinance").describe() == "Yahoo Finance prices"
    with pytest.raises(DataError, match="neither 'synthetic'"):
        DataSource.parse(str(tmp_path / "missing"))


def test_a_loaded_frame_knows_its_source():
    prices = load_prices(["SPY"], start="2020-01-01", end="2020-02-01", source="synthetic:2")
    assert data.source_of(prices) == DataSource("synthetic", seed=2)


def test_cache_identity_follows_the_data(tmp_path):
    folder = tmp_path / "prices"
    folder.mkdir()
    (folder / "SPY.csv").write_text("Date,Close\n2020-01-02,1\n")
    ds = DataSource.parse(str(folder))
    before = ds.cache_identity()
    assert before == ds.cache_identity()
    (folder / "SPY.csv").write_text("Date,Close\n2020-01-02,2\n")
    assert ds.cache_identity() != before
    assert DataSource.parse("synthetic:1").cache_identity() != DataSource.parse("synthetic").cache_identity()
    assert DataSource.parse("yfinance:refresh").cache_identity() is None
