"""What a price source is: the :class:`DataSource` value, the :class:`Provenance` a loaded frame
carries, and the data layer's errors. :mod:`helpers.data` loads prices from a source.

A ``data_source`` string (a notebook parameter, ``--data-source`` or ``$QN_DATA_SOURCE``) is
parsed once into a :class:`DataSource`; every other module asks that value (its kind, its label
for people, whether its prices are real or simulated, what identifies its data for a cache)
instead of parsing the string again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from helpers.catalogue import CATALOGUE_FILES, DATA_DIR
from helpers.files import hash_files

ENV_SOURCE = "QN_DATA_SOURCE"
ENV_CACHE = "QN_CACHE_DIR"
DEFAULT_SOURCE = "synthetic"
SOURCE_KINDS = ("synthetic", "csv", "yfinance")


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


@dataclass(frozen=True)
class DataSource:
    """Where prices come from: parsed once from a ``data_source`` string, then asked, never re-parsed.

    Attributes
    ----------
    kind : str       ``"synthetic"`` (the built-in simulated market), ``"csv"`` (a folder of
                     Yahoo-format ``TICKER.csv`` files) or ``"yfinance"`` (live Yahoo prices)
    seed : int       the simulated market's seed (``"synthetic:7"``); 0 otherwise
    path : str       the CSV folder: absolute when parsed from input, possibly only its name when
                     read back from a recorded label (``"csv:NAME"``); empty otherwise
    refresh : bool   yfinance only: download again even when cached (``"yfinance:refresh"``)

    >>> DataSource.parse("synthetic:7").label
    'synthetic:7'
    """

    kind: str
    seed: int = 0
    path: str = ""
    refresh: bool = False

    def __post_init__(self):
        if self.kind not in SOURCE_KINDS:
            raise DataError(f"data source kind must be one of {', '.join(SOURCE_KINDS)}; got {self.kind!r}")

    @classmethod
    def parse(cls, source: str | os.PathLike | DataSource | None = None) -> DataSource:
        """The source to use: the argument, else ``$QN_DATA_SOURCE``, else ``"synthetic"``, checked.

        Accepts ``"synthetic"``, ``"synthetic:SEED"`` (SEED a whole number >= 0), ``"yfinance"``,
        ``"yfinance:refresh"`` or an existing directory (made absolute); anything else is a
        DataError naming the value and what would be valid.
        """
        if isinstance(source, DataSource):
            return source
        chosen = source if source not in (None, "") else os.environ.get(ENV_SOURCE) or DEFAULT_SOURCE
        chosen = str(chosen)
        if chosen in ("yfinance", "yfinance:refresh"):
            return cls("yfinance", refresh=chosen.endswith(":refresh"))
        if chosen == "synthetic":
            return cls("synthetic")
        if chosen.startswith("synthetic:"):
            seed = chosen.split(":", 1)[1]
            if not seed.isdigit():
                raise DataError(f"Data source {chosen!r}: the seed after 'synthetic:' must be a whole "
                                f"number >= 0, e.g. 'synthetic:7'; got {seed!r}.")
            return cls("synthetic", seed=int(seed))
        path = Path(chosen).expanduser()
        if not path.is_dir():
            raise DataError(f"Data source {chosen!r} is neither 'synthetic', 'synthetic:SEED', "
                            f"'yfinance', 'yfinance:refresh' nor an existing directory of TICKER.csv files.")
        return cls("csv", path=str(path.resolve()))

    @classmethod
    def from_label(cls, label: str) -> DataSource:
        """The source a recorded label names (a provenance's ``source``: ``"synthetic"``,
        ``"synthetic:7"``, ``"yfinance"``, ``"csv:NAME"`` or, from older runs, a folder's path).
        Nothing is checked on disk: the folder need not exist here."""
        label = str(label)
        if label.startswith("yfinance"):
            return cls("yfinance", refresh=label == "yfinance:refresh")
        if label == "synthetic" or (label.startswith("synthetic:") and label[10:].isdigit()):
            return cls("synthetic", seed=int(label[10:] or 0))
        return cls("csv", path=label.removeprefix("csv:"))

    @property
    def text(self) -> str:
        """The string form :meth:`parse` accepts back (a folder as its absolute path)."""
        if self.kind == "synthetic":
            return f"synthetic:{self.seed}" if self.seed else "synthetic"
        if self.kind == "yfinance":
            return "yfinance:refresh" if self.refresh else "yfinance"
        return self.path

    @property
    def label(self) -> str:
        """How provenance records the source: ``"synthetic[:SEED]"``, ``"yfinance"`` or ``"csv:NAME"``."""
        if self.kind == "csv":
            return f"csv:{self.name}"
        return "yfinance" if self.kind == "yfinance" else self.text

    @property
    def name(self) -> str:
        """A short name for people: the CSV folder's name, else the label."""
        return Path(self.path.rstrip("/")).name if self.kind == "csv" else self.label

    @property
    def is_simulated(self) -> bool:
        """True for the built-in simulated market (its numbers are not real prices)."""
        return self.kind == "synthetic"

    @property
    def is_real(self) -> bool:
        """True for real prices (a CSV folder or Yahoo)."""
        return not self.is_simulated

    def describe(self) -> str:
        """The source in words: ``"the simulated market (synthetic; not real prices)"``,
        ``"Yahoo Finance prices"`` or ``"prices from the CSV folder 'NAME'"``."""
        if self.is_simulated:
            return f"the simulated market ({self.label}; not real prices)"
        if self.kind == "yfinance":
            return "Yahoo Finance prices"
        return f"prices from the CSV folder '{self.name}'"

    def cache_identity(self) -> str | None:
        """What identifies the source's data before it is loaded, as a string; None when it cannot
        be known (``yfinance:refresh`` downloads again, so its data is never the same twice).

        synthetic: the seed and the catalogue files (the simulator is helper code); a CSV folder:
        every file in it, names and contents; yfinance: the files of its download cache.
        """
        if self.kind == "synthetic":
            return f"{self.text}|" + hash_files([DATA_DIR / f for f in CATALOGUE_FILES], DATA_DIR)
        if self.kind == "yfinance":
            if self.refresh:
                return None
            folder = cache_dir()
            return "yfinance|" + (hash_files(folder.iterdir(), folder) if folder.is_dir() else "empty")
        folder = Path(self.path)
        return "csv|" + hash_files([p for p in folder.iterdir() if not p.name.startswith(".")], folder)


def cache_dir() -> Path:
    """Where yfinance downloads are cached (``$QN_CACHE_DIR`` or ``data/cache``)."""
    return Path(os.environ.get(ENV_CACHE) or DATA_DIR / "cache")
