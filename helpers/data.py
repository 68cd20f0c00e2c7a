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

import os
from pathlib import Path

import pandas as pd

from helpers.catalogue import known_tickers, load_universe
from helpers.files import content_hash
from helpers.source import DataError, DataSource, Provenance, UnknownTickerError
from helpers.synthetic import simulate_market
from helpers.validation import FIELDS, check_frame, check_prices, warn
from helpers.yahoo import from_yfinance


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
                warn(msg)
                notes.append(msg)
                path = root / f"{proxy}.csv"
            else:
                unknown.append(t)
                continue
        per_ticker[t] = read_yahoo_csv(path)
    return per_ticker, unknown, notes


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
        per_ticker, unknown = from_yfinance(tickers, refresh or ds.refresh)
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
        warn(msg)
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
            warn(msg)
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
    spans = _spans(dates)
    if not spans:
        raise DataError(f"no data{f' in {source}' if source else ''} to check {names[0]}/{names[1]} against")
    first, last = min(f for f, _ in spans.values()), max(la for _, la in spans.values())
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
    ended = {t: la for t, (_, la) in spans.items() if start is not None and pd.Timestamp(start) > la}
    if ended:
        cut = min(ended.values())
        raise DateRangeError(f"{names[0]}={start_text} is after the last date of "
                             + ", ".join(f"{t} ({d.date()})" for t, d in sorted(ended.items()))
                             + f"{where}: every ticker needs prices after {names[0]}. Choose a {names[0]} on "
                             f"or before {cut.date()}, or leave {'that ticker' if len(ended) == 1 else 'those tickers'} out.")
    unborn = {t: f for t, (f, _) in spans.items() if end is not None and pd.Timestamp(end) < f}
    if unborn:
        cut = max(unborn.values())
        raise DateRangeError(f"{names[1]}={end_text} is before the first date of "
                             + ", ".join(f"{t} ({d.date()})" for t, d in sorted(unborn.items()))
                             + f"{where}: every ticker needs prices before {names[1]}. Choose an {names[1]} on "
                             f"or after {cut.date()}, or leave {'that ticker' if len(unborn) == 1 else 'those tickers'} out.")


def _spans(dates) -> dict[str, tuple[pd.Timestamp, pd.Timestamp]]:
    """Each series' first and last date with a value: per ticker for a frame (its ``Close`` field
    when the columns are (field, ticker)), one ``"data"`` entry for an index or a series."""
    if isinstance(dates, pd.DataFrame):
        frame = dates["Close"] if isinstance(dates.columns, pd.MultiIndex) and "Close" in dates.columns.get_level_values(0) \
            else dates
        out = {}
        for col in frame.columns:
            valid = frame[col].dropna().index
            if len(valid):
                out[str(col)] = (pd.Timestamp(valid.min()), pd.Timestamp(valid.max()))
        return out
    index = dates.dropna().index if isinstance(dates, pd.Series) else pd.DatetimeIndex(dates)
    return {"data": (pd.Timestamp(index.min()), pd.Timestamp(index.max()))} if len(index) else {}
