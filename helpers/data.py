"""One way to load prices for every notebook, whatever the source.

>>> prices = load_prices(["SPY", "TLT"], start="2015-01-01")   # dates x tickers
>>> print(banner(prices))                                      # the one-line "Data:" banner

Sources (``source=`` argument, else the ``QN_DATA_SOURCE`` environment variable, else
``"synthetic"``):

* ``"synthetic"`` (or ``"synthetic:SEED"``): the built-in simulated market, offline and
  identical on every machine (see :mod:`helpers.synthetic`).
* ``"yfinance"``: live Yahoo prices via ``yfinance.download(auto_adjust=True)``, cached per
  ticker as parquet under ``data/cache/`` (``QN_CACHE_DIR`` overrides). ``"yfinance:refresh"``
  downloads again even when cached. Each request waits at most ``QN_YF_TIMEOUT`` seconds
  (default 10, yfinance's own ``timeout``) and one call at most ``QN_YF_TOTAL_TIMEOUT``
  (default 120) in all; a DataError then names the tickers not fetched.
* a directory path: ``TICKER.csv`` files in Yahoo's export format.

``refresh=True``, the source ``"yfinance:refresh"`` or the environment variable
``QN_REFRESH_DATA=1`` download cached tickers again (``python -m helpers.run --refresh-data``
sets it for every notebook of a run, to the run's start time: a ticker cached after that, by
an earlier notebook of the same run, is not fetched twice). A cached file that cannot be read
or has the wrong shape is reported and fetched again.

In every source "Close" is the split- and dividend-adjusted close (as yfinance's
``auto_adjust=True``). Tickers come back with NaN before their first price: nothing is
forward-filled.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import time
import warnings
from pathlib import Path

import pandas as pd

from helpers.catalogue import DATA_DIR, known_tickers, load_universe  # noqa: F401 (DATA_DIR: helpers.run)
from helpers.files import atomic_write, content_hash
from helpers.source import DataError, DataSource, Provenance, UnknownTickerError, cache_dir
from helpers.synthetic import simulate_market

FIELDS = ("Open", "High", "Low", "Close", "Volume")
ENV_REFRESH = "QN_REFRESH_DATA"
ENV_YF_TIMEOUT = "QN_YF_TIMEOUT"
ENV_YF_TOTAL = "QN_YF_TOTAL_TIMEOUT"
PRICE_FIELDS = ("Open", "High", "Low", "Close")


def resolve_source(source: str | os.PathLike | None = None) -> str:
    """:meth:`DataSource.parse`'s string form: ``"synthetic"``, ``"synthetic:SEED"``,
    ``"yfinance"``, ``"yfinance:refresh"`` or the absolute path of a directory (DataError otherwise)."""
    return DataSource.parse(source).text


def source_of(frame: pd.DataFrame) -> DataSource:
    """The :class:`~helpers.source.DataSource` a loaded frame came from (from its provenance)."""
    return DataSource.from_label(provenance(frame).source)


def provenance(frame: pd.DataFrame) -> Provenance:
    """The provenance attached to a frame returned by :func:`load_prices` / :func:`load_ohlcv`."""
    prov = frame.attrs.get("provenance")
    if prov is None:
        raise DataError("This frame carries no provenance: load it with helpers.data.load_prices.")
    return Provenance(**{**prov, "tickers": tuple(prov["tickers"]), "notes": tuple(prov["notes"])})


def banner(frame: pd.DataFrame) -> str:
    """The one-line ``Data:`` banner of a loaded frame."""
    return provenance(frame).banner()


def _warn(message: str) -> None:
    """Warn with the first stack frame outside this module as the location."""
    level, frame = 2, sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        level += 1
        frame = frame.f_back
    warnings.warn(message, UserWarning, stacklevel=level)


# --------------------------------------------------------------------------- validation


def _normalize_tickers(tickers) -> list[str]:
    if isinstance(tickers, str):
        tickers = [tickers]
    tickers = [str(t).strip().upper() for t in tickers]
    if not tickers or any(not t for t in tickers):
        raise DataError("Give at least one non-empty ticker, e.g. ['SPY', 'TLT'].")
    dupes = sorted({t for t in tickers if tickers.count(t) > 1})
    if dupes:
        raise DataError(f"Duplicate ticker(s): {', '.join(dupes)}.")
    return tickers


def _parse_dates(start, end) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    try:
        s = pd.Timestamp(start) if start is not None else None
        e = pd.Timestamp(end) if end is not None else None
    except (ValueError, TypeError) as exc:
        raise DataError(f"Dates must look like 'YYYY-MM-DD': got start={start!r}, end={end!r}.") from exc
    if s is not None and e is not None and s > e:
        raise DataError(f"start {s.date()} is after end {e.date()} (start={start!r}, end={end!r}): "
                        f"swap them or change one.")
    return s, e


def _history_start(start: pd.Timestamp | None, lookback) -> pd.Timestamp | None:
    """Where loading begins: ``lookback`` before ``start`` (days, a Timedelta or ``"all"``)."""
    if start is None or lookback is None:
        return start
    if isinstance(lookback, str) and lookback.lower() in ("all", "max"):
        return None
    try:
        delta = pd.Timedelta(days=lookback) if isinstance(lookback, int | float) else pd.Timedelta(lookback)
    except (ValueError, TypeError) as exc:
        raise DataError(f"lookback must be a number of days, a Timedelta or 'all'; got {lookback!r}.") from exc
    if delta < pd.Timedelta(0):
        raise DataError(f"lookback must not be negative; got {lookback!r}.")
    return start - delta


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


# --------------------------------------------------------------------------- sources


def _from_synthetic(tickers: list[str], seed: int) -> tuple[dict[str, pd.DataFrame], list[str]]:
    known = set(known_tickers())
    unknown = [t for t in tickers if t not in known]
    market = simulate_market(seed)
    found = [t for t in tickers if t in known]
    per_ticker = {t: pd.DataFrame({f: market[f][t] for f in FIELDS}) for t in found}
    return per_ticker, unknown


def read_yahoo_csv(path: Path) -> pd.DataFrame:
    """One Yahoo-format CSV as Open/High/Low/Close/Volume with the adjusted close as Close.

    Accepts ``Date,Open,High,Low,Close,Adj Close,Volume``, adjusted OHLCV without ``Adj Close``,
    or ``Date,Adj Close`` alone. Where ``Adj Close`` exists it becomes ``Close`` and
    Open/High/Low are scaled by the same factor; missing fields are NaN.
    """
    try:
        raw = pd.read_csv(path)
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path.name}: the file is empty (expected a 'Date,...,Close' header and "
                        f"one row per day) in {path.parent}.") from exc
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"{path.name}: cannot be read as CSV ({exc}).") from exc
    if "Date" not in raw.columns or not ({"Close", "Adj Close"} & set(raw.columns)):
        raise DataError(f"{path.name}: needs a 'Date' column and 'Close' or 'Adj Close'; "
                        f"has {', '.join(map(str, raw.columns))}.")
    if raw.empty:
        raise DataError(f"{path.name}: has a header ({', '.join(map(str, raw.columns))}) but no rows "
                        f"of prices, in {path.parent}.")
    try:
        index = pd.DatetimeIndex(pd.to_datetime(raw.pop("Date"), format="ISO8601"), name="Date")
    except (ValueError, TypeError) as exc:
        raise DataError(f"{path.name}: 'Date' has values that are not dates ({exc}).") from exc
    raw.index = index
    for col in raw.columns:
        if not pd.api.types.is_numeric_dtype(raw[col]):
            converted = pd.to_numeric(raw[col], errors="coerce")
            bad = raw[col][converted.isna() & raw[col].notna()]
            if len(bad):
                raise DataError(f"{path.name}: non-numeric value {bad.iloc[0]!r} in column "
                                f"{col!r} on {bad.index[0].date()}.")
            raw[col] = converted
    check_frame(raw, path.name)
    check_prices(raw, path.name, close="Adj Close" if "Adj Close" in raw else "Close")
    out = pd.DataFrame(index=raw.index, columns=list(FIELDS), dtype=float)
    close = raw["Adj Close"] if "Adj Close" in raw else raw["Close"]
    factor = close / raw["Close"] if ("Adj Close" in raw and "Close" in raw) else 1.0
    out["Close"] = close.astype(float)
    for f in ("Open", "High", "Low"):
        if f in raw:
            out[f] = raw[f] * factor
    if "Volume" in raw:
        out["Volume"] = raw["Volume"].astype(float)
    return out


def _from_directory(tickers: list[str], directory: str) -> tuple[dict[str, pd.DataFrame], list[str], list[str]]:
    root = Path(directory)
    per_ticker, unknown, notes = {}, [], []
    uni = load_universe().set_index("ticker")
    for t in tickers:
        path = root / f"{t}.csv"
        if not path.exists():
            proxy = uni["proxy_for_fit"].get(t, "") if t in uni.index else ""
            if proxy and (root / f"{proxy}.csv").exists():
                msg = f"{t}: no {t}.csv in {root.name}/, using {proxy}.csv as its proxy"
                _warn(msg)
                notes.append(msg)
                path = root / f"{proxy}.csv"
            else:
                unknown.append(t)
                continue
        per_ticker[t] = read_yahoo_csv(path)
    return per_ticker, unknown, notes


def normalize_yfinance(raw: pd.DataFrame, tickers: list[str]) -> dict[str, pd.DataFrame]:
    """Split ``yfinance.download`` output (columns (Price, Ticker)) into OHLCV per ticker.

    Tickers whose columns are missing or entirely NaN are left out.
    """
    out = {}
    if raw is None or raw.empty:
        return out
    cols = raw.columns
    if not isinstance(cols, pd.MultiIndex):  # a single ticker with flat columns
        cols = pd.MultiIndex.from_product([cols, tickers[:1]])
        raw = raw.set_axis(cols, axis=1)
    level = 0 if set(FIELDS) & set(cols.get_level_values(0)) else 1
    for t in tickers:
        try:
            part = raw.xs(t, axis=1, level=1 - level)
        except KeyError:
            continue
        if "Close" not in part or part["Close"].isna().all():
            continue
        frame = part.reindex(columns=list(FIELDS)).astype(float)
        frame.index = pd.DatetimeIndex(frame.index.tz_localize(None) if frame.index.tz else frame.index,
                                       name="Date").normalize()
        out[t] = frame.dropna(how="all")
    return out


def _env_seconds(name: str, default: float) -> float:
    text = os.environ.get(name, "")
    try:
        value = float(text) if text.strip() else default
    except ValueError as exc:
        raise DataError(f"${name} must be a number of seconds; got {text!r}.") from exc
    if not value > 0:
        raise DataError(f"${name} must be > 0 seconds; got {text!r}.")
    return value


def refresh_cutoff(refresh: bool = False) -> float | None:
    """Cached files modified before this Unix time are fetched again; None: use the cache.

    ``refresh=True`` refetches everything; else ``$QN_REFRESH_DATA``: ``1``/``true``/``yes``
    refetches everything, a Unix time refetches what was cached before it (the runner's
    ``--refresh-data`` sets its start time), empty/``0``/``false``/``no`` uses the cache.
    """
    if refresh:
        return float("inf")
    text = os.environ.get(ENV_REFRESH, "").strip().lower()
    if text in ("", "0", "false", "no"):
        return None
    if text in ("1", "true", "yes"):
        return float("inf")
    try:
        return float(text)
    except ValueError as exc:
        raise DataError(f"${ENV_REFRESH} must be 1, 0 or a Unix time; got {text!r}.") from exc


def _read_cached(path: Path, ticker: str) -> tuple[pd.DataFrame | None, str]:
    """A cached ticker frame, or None and what is wrong with the file."""
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ...; any of them means "unreadable"
        return None, f"cannot be read ({type(exc).__name__}: {str(exc)[:200]})"
    if not isinstance(frame.index, pd.DatetimeIndex):
        return None, f"has a {type(frame.index).__name__} index instead of dates"
    missing = [f for f in FIELDS if f not in frame.columns]
    if missing:
        return None, f"lacks column(s) {', '.join(missing)} (has {', '.join(map(str, frame.columns)) or 'none'})"
    frame = frame[list(FIELDS)]
    try:
        check_frame(frame, path.name)
        check_prices(frame, path.name)
    except DataError as exc:
        return None, str(exc).removeprefix(f"{path.name}: ")
    return frame.astype(float), ""


class _YfLogCapture(logging.Filter):
    """Keeps yfinance's log messages from our download threads out of the output, for our errors.

    yfinance logs ``possibly delisted; no timezone found`` when Yahoo did not answer at all;
    passing that on would name the wrong cause.
    """

    messages: dict[str, list[str]] = {}  # thread name -> messages, while its caller waits

    def filter(self, record: logging.LogRecord) -> bool:
        name = threading.current_thread().name
        if not name.startswith(_YF_THREAD):
            return True
        if name in self.messages:  # an abandoned thread's later messages are dropped
            self.messages[name].append(record.getMessage())
        return False


_YF_THREAD = "qn-yfinance-"
_YF_FILTER = _YfLogCapture()


def _clean_yf_message(text: str) -> str:
    """yfinance's error text without its guess 'possibly delisted' and without curl's URL advice."""
    text = re.sub(r"possibly delisted;\s*", "", text)
    text = re.sub(r"\s*See https?://\S+ first for more details\.?", "", text)
    return " ".join(text.split())[:300]


def _download_one(ticker: str, timeout: float, attempts: int = 3) -> pd.DataFrame:
    """``yfinance.download`` of one ticker, retrying Yahoo's rate limit."""
    import yfinance as yf

    # yfinance's own use of pandas' deprecated inplace= would show in every notebook that downloads
    warnings.filterwarnings("ignore", message="The inplace keyword", module="yfinance")
    for attempt in range(attempts):
        try:
            return yf.download([ticker], period="max", auto_adjust=True, progress=False,
                               group_by="column", threads=False, timeout=timeout)
        except Exception as exc:  # yfinance raises its own YFRateLimitError
            if type(exc).__name__ != "YFRateLimitError" or attempt == attempts - 1:
                raise
            time.sleep(5 * 2**attempt)
    raise AssertionError("unreachable")


_NETWORK = re.compile(r"timeout|timed out|curl: \(|connect|resolve host|ssl|proxy|network|reset by peer",
                      re.IGNORECASE)


def _fetch_yfinance(tickers: list[str]) -> tuple[dict[str, pd.DataFrame], dict[str, tuple[str, str]]]:
    """Download tickers one by one within bounded time: (frames, {ticker: (kind, why)}).

    ``kind`` is ``"network"`` (no answer, a connection error), ``"error"`` (yfinance raised
    something else), ``"bad"`` (data that fails the checks) or ``"none"`` (Yahoo answered with
    no prices: an unknown symbol).

    Each ticker runs in a daemon thread that is waited for at most three request timeouts
    (yfinance makes a few requests per ticker, and some of them ignore ``timeout``) and never
    past the total limit. A ticker that gets no answer stops the rest: the network is down.
    """
    timeout = _env_seconds(ENV_YF_TIMEOUT, 10.0)
    total = _env_seconds(ENV_YF_TOTAL, 120.0)
    yf_logger = logging.getLogger("yfinance")
    if _YF_FILTER not in yf_logger.filters:
        yf_logger.addFilter(_YF_FILTER)
    deadline = time.monotonic() + total
    got: dict[str, pd.DataFrame] = {}
    failed: dict[str, tuple[str, str]] = {}
    verbose = len(tickers) >= 3  # progress per ticker for longer downloads
    if verbose:
        print(f"yfinance: fetching {len(tickers)} tickers (at most {timeout:g} s per request, "
              f"{total:g} s in all)", file=sys.stderr, flush=True)
    for i, ticker in enumerate(tickers):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            failed.update({t: ("network", f"not fetched: the {total:g} s limit for the download ran out")
                           for t in tickers[i:]})
            break
        wait = min(remaining, 3 * timeout)
        outcome: dict = {}
        name = f"{_YF_THREAD}{ticker}-{time.monotonic_ns()}"

        def work(ticker=ticker, outcome=outcome):
            try:
                outcome["frame"] = _download_one(ticker, timeout)
            except BaseException as error:  # noqa: BLE001 - handed to the waiting thread
                outcome["error"] = error

        started = time.monotonic()
        _YfLogCapture.messages[name] = []
        thread = threading.Thread(target=work, name=name, daemon=True)
        thread.start()
        thread.join(wait)
        logged = [_clean_yf_message(m) for m in _YfLogCapture.messages.pop(name, [])]
        logged = [m for m in logged if m and not m.endswith("Failed download:")]
        if thread.is_alive() and wait < 3 * timeout:
            failed.update({t: ("network", f"not fetched: the {total:g} s limit for the download ran out")
                           for t in tickers[i:]})
            break
        if thread.is_alive():
            failed[ticker] = ("network", f"no answer from Yahoo within {wait:.0f} s")
            failed.update({t: ("network", f"not tried after {ticker} got no answer") for t in tickers[i + 1:]})
            if verbose:
                print(f"yfinance: {ticker} ({i + 1}/{len(tickers)}) no answer within {wait:.0f} s",
                      file=sys.stderr, flush=True)
            break
        if "error" in outcome:
            exc = outcome["error"]
            text = _clean_yf_message(f"{type(exc).__name__}: {exc}")
            network = isinstance(exc, OSError | TimeoutError) or bool(_NETWORK.search(text))
            failed[ticker] = ("network" if network else "error", text)
        else:
            frames = normalize_yfinance(outcome.get("frame"), [ticker])
            if ticker in frames:
                try:
                    check_frame(frames[ticker], f"yfinance {ticker}")
                    check_prices(frames[ticker], f"yfinance {ticker}")
                    got[ticker] = frames[ticker]
                except DataError as exc:
                    failed[ticker] = ("bad", str(exc))
            else:
                why = "; ".join(dict.fromkeys(logged))
                network = bool(_NETWORK.search(why))
                failed[ticker] = (("network", why) if network else
                                  ("none", "Yahoo returned no prices" + (f" ({why})" if why else "")))
        if verbose:
            status = f"{len(got[ticker])} days" if ticker in got else f"failed: {failed[ticker][1]}"
            print(f"yfinance: {ticker} ({i + 1}/{len(tickers)}) {status}, "
                  f"{time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
    return got, failed


def _from_yfinance(tickers: list[str], refresh: bool) -> tuple[dict[str, pd.DataFrame], list[str]]:
    cdir = cache_dir()
    cutoff = refresh_cutoff(refresh)
    per_ticker: dict[str, pd.DataFrame] = {}
    missing: list[str] = []
    bad_cache: dict[str, str] = {}
    for t in tickers:
        path = cdir / f"{t}.parquet"
        if not path.exists() or (cutoff is not None and path.stat().st_mtime < cutoff):
            missing.append(t)
            continue
        frame, problem = _read_cached(path, t)
        if frame is None:
            bad_cache[t] = f"{path} {problem}"
            _warn(f"cached {t} is not usable: {path} {problem}; fetching it again")
            missing.append(t)
        else:
            per_ticker[t] = frame
    if not missing:
        return per_ticker, []
    got, failed = _fetch_yfinance(missing)
    for t, frame in got.items():
        atomic_write(cdir / f"{t}.parquet", frame.to_parquet)
        per_ticker[t] = frame
    fatal = {t: why for t, (kind, why) in failed.items() if kind != "none"}
    if fatal:
        details = "; ".join(f"{t}: {why}" for t, why in fatal.items())
        stale = [t for t in bad_cache if t in failed]
        hint = ("".join(f" The cached {bad_cache[t]}." for t in stale)
                + f" Clear {'it' if len(stale) == 1 else 'them'} with: rm "
                + " ".join(str(cdir / f"{t}.parquet") for t in stale) + "." if stale else "")
        offline = any(kind == "network" for kind, _ in failed.values())
        raise DataError(f"yfinance could not fetch {', '.join(fatal)} ({details})."
                        + (f" Offline, or Yahoo not answering? Fetched: {', '.join(got) or 'none'}."
                           f" Use source='synthetic' for the built-in simulated market." if offline else "")
                        + hint)
    unknown = [t for t in tickers if t not in per_ticker]
    if unknown and len(unknown) == len(tickers):
        raise DataError(f"yfinance returned no data for {', '.join(unknown)} "
                        f"({'; '.join(f'{t}: {failed[t][1]}' for t in unknown)}). Unknown to Yahoo? "
                        f"Use source='synthetic' for the built-in simulated market.")
    return per_ticker, unknown


# --------------------------------------------------------------------------- public API


def load_ohlcv(tickers, start=None, end=None, source=None, drop_failed: bool = False,
               refresh: bool = False, lookback=None) -> pd.DataFrame:
    """Daily Open/High/Low/Close/Volume for ``tickers``: columns (field, ticker), rows dates.

    Parameters
    ----------
    tickers : str or list of str
    start, end : date-like, optional
        Inclusive range, as the user gave it; None means from the first / to the last
        available date. ``start`` after ``end`` is a DataError naming both.
    source : str, optional
        ``"synthetic"``, ``"synthetic:SEED"``, ``"yfinance"``, ``"yfinance:refresh"`` or a
        directory of CSV files.
    drop_failed : bool
        Drop tickers that cannot be loaded with a warning naming them, instead of raising.
    refresh : bool
        yfinance only: download again even when cached (also ``$QN_REFRESH_DATA``).
    lookback : int, Timedelta or "all", optional
        History to return before ``start`` as well (days, a Timedelta, or everything), for
        warm-up windows, so that ``start`` stays the date the user typed.

    Returns
    -------
    DataFrame of shape (n_dates, 5 * n_tickers) with ``attrs["provenance"]``.
    ``frame["Close"]`` is dates x tickers.
    """
    tickers = _normalize_tickers(tickers)
    s, e = _parse_dates(start, end)
    load_from = _history_start(s, lookback)
    ds = DataSource.parse(source)
    src = ds.path if ds.kind == "csv" else ds.label  # where, in error messages
    notes: list[str] = []
    if ds.kind == "yfinance":
        per_ticker, unknown = _from_yfinance(tickers, refresh or ds.refresh)
        hint = "Yahoo returned nothing for them (is the symbol right? the dollar index is DX-Y.NYB)."
    elif ds.kind == "synthetic":
        per_ticker, unknown = _from_synthetic(tickers, ds.seed)
        hint = f"The simulated market knows: {', '.join(known_tickers())}."
    else:
        per_ticker, unknown, notes = _from_directory(tickers, src)
        hint = f"No TICKER.csv for them in {src}."
    if unknown:
        if not drop_failed:
            raise UnknownTickerError(unknown, ds.name, hint)
        msg = f"Dropped ticker(s) that could not be loaded: {', '.join(unknown)}"
        _warn(msg)
        notes.append(msg)
    kept = [t for t in tickers if t in per_ticker]
    if not kept:
        raise DataError(f"None of {', '.join(tickers)} could be loaded from {src}.")

    for t in kept:
        check_prices(per_ticker[t], f"{t} ({ds.name})")
    ends = {t: per_ticker[t]["Close"].last_valid_index() for t in kept}
    if len({d for d in ends.values()}) > 1:
        latest = max(ends.values())
        short = {t: d.date().isoformat() for t, d in ends.items() if d < latest}
        msg = f"series end on different dates (latest {latest.date()}): {short}"
        if e is None or min(ends.values()) < e:  # a warning only when the gap is inside the window
            _warn(msg)
        notes.append(msg)

    frame = pd.concat({t: per_ticker[t] for t in kept}, axis=1, sort=True)
    frame = frame.swaplevel(0, 1, axis=1).reindex(columns=pd.MultiIndex.from_product([FIELDS, kept]))
    frame.columns.names = ["Field", "Ticker"]
    check_date_range(frame, start, end, src if not Path(src).is_dir() else f"csv:{Path(src).name}")
    if s is not None and not (frame.loc[s:e].notna().any(axis=None)):
        last = frame.dropna(how="all").index[-1].date()
        raise DataError(f"No prices for {', '.join(kept)} between {start} and {end} in {src} "
                        f"(the data ends on {last}).")
    frame = frame.loc[load_from:e] if (load_from is not None or e is not None) else frame
    frame = frame.dropna(how="all")
    if frame.empty:
        raise DataError(f"No prices for {', '.join(kept)} between {start} and {end} in {src}.")
    frame.attrs["provenance"] = Provenance(
        source=ds.label, tickers=tuple(kept), first_date=frame.index[0].date().isoformat(),
        last_date=frame.index[-1].date().isoformat(), content_hash=content_hash(frame),
        notes=tuple(notes)).as_dict()
    return frame


def load_prices(tickers, start=None, end=None, field: str = "Close", source=None,
                drop_failed: bool = False, refresh: bool = False, lookback=None) -> pd.DataFrame:
    """One field (default the adjusted ``Close``) as a dates x tickers frame, with provenance.

    Same arguments as :func:`load_ohlcv`; ``field`` is one of Open, High, Low, Close, Volume.
    Rows where every ticker is NaN are dropped; NaN before a ticker's first price is kept.
    """
    if field not in FIELDS:
        raise DataError(f"field must be one of {', '.join(FIELDS)}; got {field!r}.")
    ohlcv = load_ohlcv(tickers, start, end, source, drop_failed, refresh, lookback)
    out = ohlcv[field].dropna(how="all")
    out.columns.name = None
    prov = dict(ohlcv.attrs["provenance"])
    prov["content_hash"] = content_hash(out)
    out.attrs["provenance"] = prov
    return out


# --------------------------------------------------------------------------- requested dates against the data


class DateRangeError(DataError):
    """A date parameter outside the data: names the parameter, the date asked for and the data's range."""


def check_date_range(dates, start=None, end=None, source: str | None = None,
                     names: tuple[str, str] = ("start", "end")) -> None:
    """Raise :class:`DateRangeError` when ``start`` is after the last of ``dates`` or ``end`` before the first.

    The one check of requested dates against the data, for every notebook: the loaders call it
    on the whole range of the data they read, before cutting it to the dates asked for.

    Parameters
    ----------
    dates : DatetimeIndex, or a DataFrame / Series indexed by dates
        The data's dates (rows where every value is NaN are not counted).
    start, end : date-like or None
        The dates the user asked for (None: from the first / to the last date).
    source : str, optional
        Where the data came from, for the message (e.g. ``"synthetic"``, a folder's name);
        default: a frame's provenance.
    names : (str, str)
        The parameters' names, for the message.

    Examples
    --------
    >>> check_date_range(pd.bdate_range("2020-01-01", "2020-12-31"), start="2021-06-01")
    Traceback (most recent call last):
    ...
    helpers.data.DateRangeError: start='2021-06-01' is after the data's last date: the data runs from 2020-01-01 to 2020-12-31. Choose a start on or before 2020-12-31.
    """
    if isinstance(dates, pd.DataFrame | pd.Series):
        source = source or (dates.attrs.get("provenance") or {}).get("source")
        dates = dates.dropna(how="all").index if isinstance(dates, pd.DataFrame) else dates.dropna().index
    if len(dates) == 0:
        raise DataError(f"no data{f' in {source}' if source else ''} to check {names[0]}/{names[1]} against")
    first, last = pd.Timestamp(dates.min()), pd.Timestamp(dates.max())
    start_text, end_text = (repr(v if isinstance(v, str) else str(pd.Timestamp(v).date())) if v is not None
                            else None for v in (start, end))
    where = f" ({source})" if source else ""
    span = f"the data{where} runs from {first.date()} to {last.date()}"
    if start is not None and pd.Timestamp(start) > last:
        raise DateRangeError(f"{names[0]}={start_text} is after the data's last date: {span}. "
                             f"Choose a {names[0]} on or before {last.date()}.")
    if end is not None and pd.Timestamp(end) < first:
        raise DateRangeError(f"{names[1]}={end_text} is before the data's first date: {span}. "
                             f"Choose an {names[1]} on or after {first.date()}.")
