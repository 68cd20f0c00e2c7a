"""One way to load prices for every notebook, whatever the source.

>>> prices = load_prices(["SPY", "TLT"], start="2015-01-01")   # dates x tickers
>>> print(banner(prices))                                      # the one-line "Data:" banner

Sources (``source=`` argument, else the ``QN_DATA_SOURCE`` environment variable, else
``"synthetic"``):

* ``"synthetic"`` (or ``"synthetic:SEED"``): the built-in simulated market, offline and
  identical on every machine (see :mod:`helpers.synthetic`).
* ``"yfinance"``: live Yahoo prices via ``yfinance.download(auto_adjust=True)``, cached per
  ticker as parquet under ``data/cache/`` (``QN_CACHE_DIR`` overrides).
* a directory path: ``TICKER.csv`` files in Yahoo's export format.

In every source "Close" is the split- and dividend-adjusted close (as yfinance's
``auto_adjust=True``). Tickers come back with NaN before their first price: nothing is
forward-filled.
"""

from __future__ import annotations

import hashlib
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.catalogue import DATA_DIR, known_tickers, load_universe
from helpers.reporting import atomic_write

FIELDS = ("Open", "High", "Low", "Close", "Volume")
ENV_SOURCE = "QN_DATA_SOURCE"
ENV_CACHE = "QN_CACHE_DIR"
DEFAULT_SOURCE = "synthetic"


class DataError(ValueError):
    """Bad input to the data layer, or data that cannot be loaded."""


class UnknownTickerError(DataError):
    """One or more tickers are not known to the chosen source."""

    def __init__(self, tickers: list[str], source: str, hint: str = ""):
        self.tickers = list(tickers)
        super().__init__(f"Unknown ticker(s) for source {source!r}: {', '.join(self.tickers)}. {hint}".strip())


@dataclass(frozen=True)
class Provenance:
    """Where a frame came from: source, tickers, first/last date and a content hash."""

    source: str
    tickers: tuple[str, ...]
    first_date: str
    last_date: str
    content_hash: str
    notes: tuple[str, ...] = ()

    def banner(self) -> str:
        """One line for reports: ``Data: <source> | n tickers | first..last | sha256 …``."""
        line = (f"Data: {self.source} | {len(self.tickers)} tickers | "
                f"{self.first_date}..{self.last_date} | sha256 {self.content_hash[:12]}")
        return line + "".join(f"\n  note: {n}" for n in self.notes)

    def as_dict(self) -> dict:
        """JSON-serializable form."""
        return {"source": self.source, "tickers": list(self.tickers), "first_date": self.first_date,
                "last_date": self.last_date, "content_hash": self.content_hash, "notes": list(self.notes)}


def resolve_source(source: str | os.PathLike | None = None) -> str:
    """The source to use: the argument, else ``$QN_DATA_SOURCE``, else ``"synthetic"``."""
    chosen = source if source not in (None, "") else os.environ.get(ENV_SOURCE) or DEFAULT_SOURCE
    chosen = str(chosen)
    if chosen == "yfinance" or chosen == "synthetic" or chosen.startswith("synthetic:"):
        return chosen
    path = Path(chosen).expanduser()
    if not path.is_dir():
        raise DataError(f"Data source {chosen!r} is neither 'synthetic', 'synthetic:SEED', "
                        f"'yfinance' nor an existing directory of TICKER.csv files.")
    return str(path.resolve())


def provenance(frame: pd.DataFrame) -> Provenance:
    """The provenance attached to a frame returned by :func:`load_prices` / :func:`load_ohlcv`."""
    prov = frame.attrs.get("provenance")
    if prov is None:
        raise DataError("This frame carries no provenance: load it with helpers.data.load_prices.")
    return Provenance(**{**prov, "tickers": tuple(prov["tickers"]), "notes": tuple(prov["notes"])})


def banner(frame: pd.DataFrame) -> str:
    """The one-line ``Data:`` banner of a loaded frame."""
    return provenance(frame).banner()


def content_hash(frame: pd.DataFrame) -> str:
    """SHA-256 of a frame's values (rounded to 6 significant digits), index and columns."""
    h = hashlib.sha256()
    h.update("|".join(map(str, frame.columns)).encode())
    h.update(np.asarray(frame.index.strftime("%Y-%m-%d")).astype(str).tobytes())
    values = np.asarray(frame.to_numpy(dtype=float))
    h.update(np.char.mod("%.6g", values).tobytes())
    return h.hexdigest()


def _warn(message: str) -> None:
    """Warn with the first stack frame outside this module as the location."""
    import sys

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
        raise DataError(f"start {s.date()} is after end {e.date()}.")
    return s, e


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


# --------------------------------------------------------------------------- sources


def _from_synthetic(tickers: list[str], source: str) -> tuple[dict[str, pd.DataFrame], list[str]]:
    from helpers.synthetic import simulate_market

    seed = int(source.split(":", 1)[1]) if ":" in source else 0
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
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"{path.name}: cannot be read as CSV ({exc}).") from exc
    if "Date" not in raw.columns or not ({"Close", "Adj Close"} & set(raw.columns)):
        raise DataError(f"{path.name}: needs a 'Date' column and 'Close' or 'Adj Close'; "
                        f"has {', '.join(map(str, raw.columns))}.")
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


def cache_dir() -> Path:
    """Where yfinance downloads are cached (``$QN_CACHE_DIR`` or ``data/cache``)."""
    return Path(os.environ.get(ENV_CACHE) or DATA_DIR / "cache")


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


def _download(tickers: list[str], attempts: int = 3) -> pd.DataFrame:
    import yfinance as yf

    for attempt in range(attempts):
        try:
            return yf.download(tickers, period="max", auto_adjust=True, progress=False,
                               group_by="column", threads=True)
        except Exception as exc:  # yfinance raises its own YFRateLimitError
            if type(exc).__name__ != "YFRateLimitError" or attempt == attempts - 1:
                raise
            time.sleep(5 * 2**attempt)
    raise AssertionError("unreachable")


def _from_yfinance(tickers: list[str], refresh: bool) -> tuple[dict[str, pd.DataFrame], list[str]]:
    cdir = cache_dir()
    per_ticker = {}
    missing = []
    for t in tickers:
        path = cdir / f"{t}.parquet"
        if path.exists() and not refresh:
            per_ticker[t] = pd.read_parquet(path)
        else:
            missing.append(t)
    if missing:
        try:
            raw = _download(missing)
        except Exception as exc:
            raise DataError(f"yfinance could not download {', '.join(missing)} ({type(exc).__name__}: "
                            f"{exc}). Offline? Nothing is cached for them under {cdir}; use "
                            f"source='synthetic' for the built-in simulated market.") from exc
        got = normalize_yfinance(raw, missing)
        if not got and len(missing) == len(tickers):
            raise DataError(f"yfinance returned no data for {', '.join(missing)}. Offline, or unknown "
                            f"to Yahoo? Use source='synthetic' for the built-in simulated market.")
        for t, frame in got.items():
            atomic_write(cdir / f"{t}.parquet", frame.to_parquet)
            per_ticker[t] = frame
    unknown = [t for t in tickers if t not in per_ticker]
    return per_ticker, unknown


# --------------------------------------------------------------------------- public API


def load_ohlcv(tickers, start=None, end=None, source=None, drop_failed: bool = False,
               refresh: bool = False) -> pd.DataFrame:
    """Daily Open/High/Low/Close/Volume for ``tickers``: columns (field, ticker), rows dates.

    Parameters
    ----------
    tickers : str or list of str
    start, end : date-like, optional
        Inclusive range; None means from the first / to the last available date.
    source : str, optional
        ``"synthetic"``, ``"synthetic:SEED"``, ``"yfinance"`` or a directory of CSV files.
    drop_failed : bool
        Drop tickers that cannot be loaded with a warning naming them, instead of raising.
    refresh : bool
        yfinance only: download again even when cached.

    Returns
    -------
    DataFrame of shape (n_dates, 5 * n_tickers) with ``attrs["provenance"]``.
    ``frame["Close"]`` is dates x tickers.
    """
    tickers = _normalize_tickers(tickers)
    s, e = _parse_dates(start, end)
    src = resolve_source(source)
    notes: list[str] = []
    if src == "yfinance":
        per_ticker, unknown = _from_yfinance(tickers, refresh)
        hint = "Yahoo returned nothing for them (is the symbol right? the dollar index is DX-Y.NYB)."
    elif src.startswith("synthetic"):
        per_ticker, unknown = _from_synthetic(tickers, src)
        hint = f"The simulated market knows: {', '.join(known_tickers())}."
    else:
        per_ticker, unknown, notes = _from_directory(tickers, src)
        hint = f"No TICKER.csv for them in {src}."
    if unknown:
        if not drop_failed:
            raise UnknownTickerError(unknown, src if Path(src).name == src else Path(src).name, hint)
        msg = f"Dropped ticker(s) that could not be loaded: {', '.join(unknown)}"
        _warn(msg)
        notes.append(msg)
    kept = [t for t in tickers if t in per_ticker]
    if not kept:
        raise DataError(f"None of {', '.join(tickers)} could be loaded from {src}.")

    ends = {t: per_ticker[t]["Close"].last_valid_index() for t in kept}
    if len({d for d in ends.values()}) > 1:
        latest = max(ends.values())
        short = {t: d.date().isoformat() for t, d in ends.items() if d < latest}
        msg = f"series end on different dates (latest {latest.date()}): {short}"
        _warn(msg)
        notes.append(msg)

    frame = pd.concat({t: per_ticker[t] for t in kept}, axis=1, sort=True)
    frame = frame.swaplevel(0, 1, axis=1).reindex(columns=pd.MultiIndex.from_product([FIELDS, kept]))
    frame.columns.names = ["Field", "Ticker"]
    frame = frame.loc[s:e] if (s is not None or e is not None) else frame
    frame = frame.dropna(how="all")
    if frame.empty:
        raise DataError(f"No prices for {', '.join(kept)} between {start} and {end} in {src}.")
    label = src if not Path(src).is_dir() else f"csv:{Path(src).name}"
    frame.attrs["provenance"] = Provenance(
        source=label, tickers=tuple(kept), first_date=frame.index[0].date().isoformat(),
        last_date=frame.index[-1].date().isoformat(), content_hash=content_hash(frame),
        notes=tuple(notes)).as_dict()
    return frame


def load_prices(tickers, start=None, end=None, field: str = "Close", source=None,
                drop_failed: bool = False, refresh: bool = False) -> pd.DataFrame:
    """One field (default the adjusted ``Close``) as a dates x tickers frame, with provenance.

    Same arguments as :func:`load_ohlcv`; ``field`` is one of Open, High, Low, Close, Volume.
    Rows where every ticker is NaN are dropped; NaN before a ticker's first price is kept.
    """
    if field not in FIELDS:
        raise DataError(f"field must be one of {', '.join(FIELDS)}; got {field!r}.")
    ohlcv = load_ohlcv(tickers, start, end, source, drop_failed, refresh)
    out = ohlcv[field].dropna(how="all")
    out.columns.name = None
    prov = dict(ohlcv.attrs["provenance"])
    prov["content_hash"] = content_hash(out)
    out.attrs["provenance"] = prov
    return out
