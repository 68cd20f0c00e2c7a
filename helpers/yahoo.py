"""yfinance as a price source: bounded downloads, a parquet cache per ticker, named failures.

:func:`from_yfinance` is what :func:`helpers.data.load_ohlcv` calls for ``source="yfinance"``;
``yfinance.download`` is the one boundary the tests replace.
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

from helpers.files import atomic_write
from helpers.source import DataError, cache_dir
from helpers.validation import FIELDS, check_frame, check_prices, warn

ENV_REFRESH = "QN_REFRESH_DATA"
ENV_YF_TIMEOUT = "QN_YF_TIMEOUT"
ENV_YF_TOTAL = "QN_YF_TOTAL_TIMEOUT"


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


def from_yfinance(tickers: list[str], refresh: bool) -> tuple[dict[str, pd.DataFrame], list[str]]:
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
            warn(f"cached {t} is not usable: {path} {problem}; fetching it again")
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
