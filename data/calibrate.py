"""Fit the simulated market's figures on the real prices in ``../shared/market-data``.

Writes two small tables of *aggregate* figures (no row of real data is stored):

* ``data/factors.csv``: one row per simulated factor (annual volatility).
* ``data/universe.csv``: the catalogue of known tickers: asset class, inception, leverage,
  factor loadings, drift, idiosyncratic volatility, volume level and persistence, ...

and, after simulating the market with those figures, ``data/sim_vs_real.csv``: a table comparing
simulated with real statistics per ticker (annual volatility, beta and correlation to SPY,
max drawdown).

Run from the project root: ``python data/calibrate.py [--market-data DIR]``.
Without the real folder it prints a message and exits 0 (the committed figures stay).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DEFAULT_DIR = HERE.parent.parent / "shared" / "market-data"
FIRST_DAY = "2005-01-03"
LAST_DAY = "2025-12-31"

# Factor -> (proxy ticker, factors its proxy is orthogonalised against). Order matters.
FACTORS: dict[str, tuple[str, list[str]]] = {
    "MKT": ("SPY", []),
    "SIZE": ("IWM", ["MKT"]),
    "TECH": ("QQQ", ["MKT"]),
    "SEMI": ("SOXX", ["MKT", "TECH"]),
    "FIN": ("XLF", ["MKT"]),
    "BIO": ("XBI", ["MKT", "SIZE"]),
    "INTL": ("EFA", ["MKT"]),
    "EM": ("EEM", ["MKT", "INTL"]),
    "INNOV": ("ARKK", ["MKT", "TECH", "SIZE"]),
    "RATES": ("IEF", ["MKT"]),
    "CREDIT": ("LQD", ["MKT", "RATES"]),
    "GOLD": ("GLD", ["MKT"]),
    "COMMOD": ("DBC", ["MKT"]),
    "USD": ("UUP", ["MKT"]),
    "YEN": ("FXY", ["MKT", "USD"]),
}

# ticker: (name, asset class, factors | ("pair", leader) | ("lev", underlying, multiple))
UNIVERSE: dict[str, tuple] = {
    "SPY": ("SPDR S&P 500 ETF", "US equity", ["MKT"]),
    "QQQ": ("Invesco QQQ (Nasdaq-100)", "US equity", ["MKT", "TECH"]),
    "IWM": ("iShares Russell 2000", "US equity", ["MKT", "SIZE"]),
    "DIA": ("SPDR Dow Jones Industrial Average", "US equity", ["MKT"]),
    "SOXX": ("iShares Semiconductor", "US equity sector", ["MKT", "TECH", "SEMI"]),
    "XLF": ("Financial Select Sector SPDR", "US equity sector", ["MKT", "FIN"]),
    "XBI": ("SPDR S&P Biotech", "US equity sector", ["MKT", "SIZE", "BIO"]),
    "ITA": ("iShares US Aerospace & Defense", "US equity sector", ["MKT", "FIN"]),
    "ARKK": ("ARK Innovation", "US equity thematic", ["MKT", "TECH", "SIZE", "INNOV"]),
    "ARKW": ("ARK Next Generation Internet", "US equity thematic", ("pair", "ARKK")),
    "EFA": ("iShares MSCI EAFE", "International equity", ["MKT", "INTL"]),
    "EEM": ("iShares MSCI Emerging Markets", "International equity", ["MKT", "INTL", "EM"]),
    "IEMG": ("iShares Core MSCI Emerging Markets", "International equity", ("pair", "EEM")),
    "TLT": ("iShares 20+ Year Treasury", "Treasuries", ["MKT", "RATES"]),
    "SPTL": ("SPDR Long Term Treasury", "Treasuries", ("pair", "TLT")),
    "IEF": ("iShares 7-10 Year Treasury", "Treasuries", ["MKT", "RATES"]),
    "SHY": ("iShares 1-3 Year Treasury", "Treasuries", ["MKT", "RATES"]),
    "VGSH": ("Vanguard Short-Term Treasury", "Treasuries", ("pair", "SHY")),
    "SHV": ("iShares Short Treasury", "Treasuries", ["RATES"]),
    "LQD": ("iShares iBoxx IG Corporate Bond", "Credit", ["MKT", "RATES", "CREDIT"]),
    "GLD": ("SPDR Gold Shares", "Commodities", ["MKT", "GOLD"]),
    "DBC": ("Invesco DB Commodity Index", "Commodities", ["MKT", "COMMOD"]),
    "FXY": ("Invesco CurrencyShares Japanese Yen", "Currencies", ["MKT", "YEN", "USD"]),
    "UUP": ("Invesco DB US Dollar Index Bullish", "Currencies", ["MKT", "USD"]),
    "DX-Y.NYB": ("ICE US Dollar Index", "Currencies", ["MKT", "USD"]),
    "AAPL": ("Apple", "US single stock", ["MKT", "TECH"]),
    "MSFT": ("Microsoft", "US single stock", ["MKT", "TECH"]),
    "AMZN": ("Amazon", "US single stock", ["MKT", "TECH"]),
    "NVDA": ("NVIDIA", "US single stock", ["MKT", "TECH", "SEMI"]),
    "GOOG": ("Alphabet (class C)", "US single stock", ["MKT", "TECH"]),
    "META": ("Meta Platforms", "US single stock", ["MKT", "TECH"]),
    "TSLA": ("Tesla", "US single stock", ["MKT", "TECH"]),
    "SPXL": ("Direxion Daily S&P 500 Bull 3x", "Leveraged ETF", ("lev", "SPY", 3)),
    "SOXL": ("Direxion Daily Semiconductor Bull 3x", "Leveraged ETF", ("lev", "SOXX", 3)),
    "TNA": ("Direxion Daily Small Cap Bull 3x", "Leveraged ETF", ("lev", "IWM", 3)),
    "TQQQ": ("ProShares UltraPro QQQ", "Leveraged ETF", ("lev", "QQQ", 3)),
    "UDOW": ("ProShares UltraPro Dow30", "Leveraged ETF", ("lev", "DIA", 3)),
    "LABU": ("Direxion Daily S&P Biotech Bull 3x", "Leveraged ETF", ("lev", "XBI", 3)),
    "FAS": ("Direxion Daily Financial Bull 3x", "Leveraged ETF", ("lev", "XLF", 3)),
}
# The dollar index has no file in the real folder: its figures are fitted on this proxy.
PROXIES = {"DX-Y.NYB": "UUP"}
START_PRICE = {"DX-Y.NYB": 81.0}  # an index level, not the ETF proxy's price
SPREAD_HALFLIFE = {"IEMG": 5.0, "SPTL": 5.0, "VGSH": 5.0, "ARKW": 40.0}  # trading days


def read_real(directory: Path, ticker: str) -> pd.DataFrame:
    """Adjusted close and volume of one real file (Adj Close wins over Close)."""
    df = pd.read_csv(directory / f"{ticker}.csv", index_col="Date", parse_dates=True)
    close = df["Adj Close"] if "Adj Close" in df else df["Close"]
    out = pd.DataFrame({"close": close.astype(float)})
    if "Volume" in df:
        out["volume"] = df["Volume"].astype(float)
    return out.loc[FIRST_DAY:LAST_DAY]


def ols(y: pd.Series, x: pd.DataFrame) -> tuple[float, np.ndarray, pd.Series]:
    """Intercept, slopes and residuals of y on x (rows with a NaN dropped)."""
    j = pd.concat([y.rename("_y"), x], axis=1, sort=True).dropna()
    design = np.column_stack([np.ones(len(j)), j[x.columns].to_numpy()])
    coef, *_ = np.linalg.lstsq(design, j["_y"].to_numpy(), rcond=None)
    resid = j["_y"] - design @ coef
    return float(coef[0]), coef[1:], resid


def volume_figures(volume: pd.Series) -> dict[str, float]:
    """Level (median of the last 3 years), AR(1) persistence and shock size of log volume."""
    v = np.log(volume[volume > 0]).dropna()
    if len(v) < 500:
        return {"volume_level": np.nan, "volume_ar": np.nan, "volume_vol": np.nan}
    dev = (v - v.rolling(250, min_periods=50).mean()).dropna()
    phi = float(dev.autocorr(1))
    shock = float((dev - phi * dev.shift(1)).dropna().std())
    level = float(np.exp(v.iloc[-756:].median()))
    return {"volume_level": round(level, -2), "volume_ar": round(phi, 3), "volume_vol": round(shock, 3)}


def fit(directory: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fitted factor and ticker tables."""
    real = {t: read_real(directory, PROXIES.get(t, t)) for t in UNIVERSE}
    rets = {t: real[t]["close"].pct_change().dropna() for t in UNIVERSE}

    factor_rets: dict[str, pd.Series] = {}
    factor_rows = []
    for name, (proxy, parents) in FACTORS.items():
        y = rets[proxy]
        if parents:
            _, _, resid = ols(y, pd.DataFrame({p: factor_rets[p] for p in parents}))
            f = resid
        else:
            f = y - y.mean()
        factor_rets[name] = f
        factor_rows.append({"factor": name, "proxy": proxy, "annual_vol": round(f.std() * np.sqrt(252), 4)})
    factors = pd.DataFrame(factor_rows)

    rows = []
    for ticker, (name, klass, spec) in UNIVERSE.items():
        r = rets[ticker]
        row = {"ticker": ticker, "name": name, "asset_class": klass,
               "inception": (real[ticker]["close"].first_valid_index().date().isoformat()
                             if ticker not in PROXIES else FIRST_DAY),
               "proxy_for_fit": PROXIES.get(ticker, ""),
               "start_price": START_PRICE.get(ticker, float(f"{real[ticker]['close'].dropna().iloc[0]:.3g}")),
               "underlying": "", "leverage": np.nan, "pair_leader": "", "spread_halflife": np.nan}
        if isinstance(spec, tuple) and spec[0] == "lev":
            _, under, mult = spec
            j = pd.concat([r, rets[under]], axis=1, keys=["l", "u"], sort=True).dropna()
            diff = j["l"] - mult * j["u"]
            row.update(underlying=under, leverage=mult, drift=round(diff.mean() * 252, 4),
                       idio_vol=round(diff.std() * np.sqrt(252), 4))
        elif isinstance(spec, tuple) and spec[0] == "pair":
            leader = spec[1]
            j = pd.concat([r, rets[leader]], axis=1, keys=["b", "a"], sort=True).dropna()
            diff = j["b"] - j["a"]
            hl = SPREAD_HALFLIFE[ticker]
            phi = 0.5 ** (1 / hl)
            # an OU spread s with stationary sd S has daily increments of sd S*sqrt(2(1-phi))
            row.update(pair_leader=leader, spread_halflife=hl, drift=round(diff.mean() * 252, 4),
                       idio_vol=round(diff.std() / np.sqrt(2 * (1 - phi)), 4))
        else:
            x = pd.DataFrame({f: factor_rets[f] for f in spec})
            alpha, betas, resid = ols(r, x)
            for f, b in zip(spec, betas):
                row[f"b_{f}"] = round(float(b), 4)
            # factors have mean zero, so the intercept carries the ticker's whole mean return
            row.update(drift=round(alpha * 252, 4),
                       idio_vol=round(resid.std() * np.sqrt(252), 4))
        if "volume" in real[ticker]:
            row.update(volume_figures(real[ticker]["volume"]))
        rows.append(row)
    uni = pd.DataFrame(rows)
    for f in FACTORS:
        col = f"b_{f}"
        if col not in uni:
            uni[col] = np.nan
        uni[col] = uni[col].fillna(0.0)
    # Files without volume (close-only sources): a typical level for their class.
    uni["volume_level"] = uni["volume_level"].fillna(1_000_000.0)
    uni["volume_ar"] = uni["volume_ar"].fillna(uni["volume_ar"].median()).round(3)
    uni["volume_vol"] = uni["volume_vol"].fillna(uni["volume_vol"].median()).round(3)
    return factors, uni


def compare(directory: Path, seed: int = 0) -> pd.DataFrame:
    """Simulated vs real statistics per ticker over each real file's range within 2005-2025."""
    from helpers.metrics import max_drawdown
    from helpers.synthetic import simulate_market

    sim = simulate_market(seed)["Close"]
    rows = []
    real_spy = read_real(directory, "SPY")["close"].pct_change()
    sim_spy = sim["SPY"].pct_change()
    for ticker in UNIVERSE:
        if ticker in PROXIES:
            continue
        real_px = read_real(directory, ticker)["close"].dropna()
        sim_px = sim[ticker].loc[real_px.index[0]:real_px.index[-1]].dropna()
        row = {"ticker": ticker, "from": real_px.index[0].date(), "to": real_px.index[-1].date()}
        for label, px, spy in (("real", real_px, real_spy), ("sim", sim_px, sim_spy)):
            r = px.pct_change().dropna()
            j = pd.concat([r, spy], axis=1, sort=True).dropna()
            cov = np.cov(j.iloc[:, 0], j.iloc[:, 1])
            row[f"vol_{label}"] = round(r.std() * np.sqrt(252), 3)
            row[f"beta_spy_{label}"] = round(cov[0, 1] / cov[1, 1], 2)
            row[f"corr_spy_{label}"] = round(j.corr().iloc[0, 1], 2)
            row[f"maxdd_{label}"] = round(max_drawdown(r), 3)
        rows.append(row)
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--market-data", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--compare-only", action="store_true",
                        help="only rewrite sim_vs_real.csv from the committed figures")
    args = parser.parse_args(argv)
    if not (args.market_data / "SPY.csv").exists():
        print(f"No real market data at {args.market_data}: keeping the committed figures.")
        return 0
    if not args.compare_only:
        factors, uni = fit(args.market_data)
        factors.to_csv(HERE / "factors.csv", index=False)
        uni.to_csv(HERE / "universe.csv", index=False)
        print(f"wrote {HERE / 'factors.csv'} and {HERE / 'universe.csv'} ({len(uni)} tickers)")
        from helpers import synthetic
        synthetic.clear_cache()
    table = compare(args.market_data)
    table.to_csv(HERE / "sim_vs_real.csv", index=False)
    print(table.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
