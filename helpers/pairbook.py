"""A dollar trading book for pair trades (notebook 02).

Sizing, as a trader would hold it: each trade puts a fixed gross notional ``notional`` (dollars)
into the two legs in the training hedge ratio ``beta`` of the log spread log A - beta log B:
$1/(1 + beta) of A against $beta/(1 + beta) of B per dollar of gross. Long the spread is long A,
short B; short the spread the reverse. Share counts are fixed at entry (the legs drift with
prices) and the trade is closed after ``holding_period`` days. Trades in a pair never overlap:
a signal while a trade is open is ignored, so each pair needs at most ``notional`` of gross
exposure, and each pair is a sub-account with ``capital`` dollars; the book is their sum.

Accounting is the project's one :class:`~helpers.backtest.CashConvention`, in the same order as
the shared engine (``run_backtest``): each day, yesterday's cash earns the cash rate (pays the
rate plus ``financing_spread`` when negative) and short legs pay ``borrow_fee`` on their
notional at yesterday's close; then prices move; then trades at the close pay ``cost_bps`` per
side on the notional traded in each leg (|shares| x price, at entry and at exit). Short sale
proceeds are held as cash. Decisions at t's close use data through t and trade at that close.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers import accounting, metrics
from helpers.backtest import CashConvention
from helpers.metrics import TRADING_DAYS


def leg_weights(beta: float) -> np.ndarray:
    """Dollars of (A, B) per $1 of gross notional for a long-spread position: (1, -beta) / (1 + |beta|)."""
    return np.array([1.0, -beta]) / (1.0 + abs(beta))


def plan_trades(z: pd.Series, go: pd.Series, entry_z: float, holding_period: int) -> pd.DataFrame:
    """Non-overlapping trades on the dates of ``z``.

    A trade opens at the close of date t when ``go[t]`` and |z_t| > ``entry_z`` and no trade of
    the pair is open; it bets on reversion (side -1, short the spread, when z_t > 0; +1 when
    z_t < 0) and closes ``holding_period`` rows later (or on the last date). The next trade can
    open the day after the close. Columns: entry, exit (dates), side, z.
    """
    if holding_period < 1:
        raise ValueError(f"holding_period must be at least 1; got {holding_period}")
    zz = z.to_numpy(dtype=float)
    ok = go.reindex(z.index).fillna(False).to_numpy(dtype=bool)
    rows, i, n = [], 0, len(zz)
    while i < n - 1:
        if ok[i] and abs(zz[i]) > entry_z:
            j = min(i + holding_period, n - 1)
            rows.append({"entry": z.index[i], "exit": z.index[j], "side": -int(np.sign(zz[i])), "z": zz[i]})
            i = j + 1
        else:
            i += 1
    return pd.DataFrame(rows, columns=["entry", "exit", "side", "z"]).astype(
        {"entry": "datetime64[ns]", "exit": "datetime64[ns]", "side": int, "z": float})


@dataclass
class PairBook:
    """Daily account of one pair and its trades, in dollars.

    daily : DataFrame (n_days,) equity, cash, shares_a, shares_b, gross (|shares| x price),
            traded (notional traded), costs, interest, borrow
    trades : DataFrame, one row per trade: entry, exit, side, z, shares_a, shares_b, dollars_a,
             dollars_b (leg values at entry), gross (price P/L, the trade's gross edge), costs
             (trading costs at entry and exit), borrow (fees while open), pnl (gross - costs -
             borrow; excludes interest)
    capital : float, the sub-account's starting dollars
    legs : (ticker A, ticker B)
    """

    daily: pd.DataFrame
    trades: pd.DataFrame
    capital: float
    legs: tuple = ("A", "B")


def run_pair(prices: pd.DataFrame, trades: pd.DataFrame, beta: float, notional: float, capital: float,
             convention: CashConvention) -> PairBook:
    """Simulate one pair's trades in shares and dollars.

    prices : DataFrame (n_days, 2), closes of A and B (in that order) on the book's dates
    trades : from :func:`plan_trades` (entry and exit dates in ``prices.index``)
    beta : hedge ratio; notional : gross dollars per trade; capital : starting dollars
    """
    P = prices.to_numpy(dtype=float)
    if np.isnan(P).any() or (P <= 0).any():
        raise ValueError("prices must be positive and complete on the book's dates")
    idx = prices.index
    w = leg_weights(beta)
    C = convention.daily_cash(idx).to_numpy()
    rates = convention.daily_rates()
    entry_at = dict(zip(idx.get_indexer(trades["entry"]), range(len(trades))))
    exit_at = dict(zip(idx.get_indexer(trades["exit"]), range(len(trades))))
    if -1 in entry_at or -1 in exit_at:
        raise ValueError("trade dates must be in the price index")
    e, x = idx.get_indexer(trades["entry"]), idx.get_indexer(trades["exit"])
    if (x <= e).any() or (e[1:] <= x[:-1]).any():
        raise ValueError("trades must exit after they enter and must not overlap")
    n = len(idx)
    cols = ["equity", "cash", "shares_a", "shares_b", "gross", "traded", "costs", "interest", "borrow"]
    out = np.zeros((n, len(cols)))
    shares, cash = np.zeros(2), float(capital)
    gross, costs, fees = np.zeros(len(trades)), np.zeros(len(trades)), np.zeros(len(trades))
    held, value = np.zeros((len(trades), 2)), np.zeros((len(trades), 2))
    open_trade = None
    for t in range(n):
        interest = borrow = 0.0
        if t > 0:
            short = shares * P[t - 1]
            interest, borrow = accounting.carry(cash, -short[short < 0].sum(), C[t], rates)
            cash += interest - borrow
            if open_trade is not None:
                gross[open_trade] += shares @ (P[t] - P[t - 1])
                fees[open_trade] += borrow
        target = shares
        if t in exit_at:
            target, open_trade = np.zeros(2), None
        if t in entry_at:
            k = entry_at[t]
            target = trades["side"].iat[k] * notional * w / P[t]
            open_trade, held[k], value[k] = k, target, target * P[t]
        delta = target - shares
        traded = np.abs(delta) @ P[t]
        cost = accounting.trading_cost(traded, rates)
        cash -= delta @ P[t] + cost
        if t in exit_at:
            costs[exit_at[t]] += accounting.trading_cost(np.abs(shares) @ P[t], rates)
        if t in entry_at:
            costs[entry_at[t]] += accounting.trading_cost(np.abs(target) @ P[t], rates)
        shares = target
        out[t] = [cash + shares @ P[t], cash, shares[0], shares[1], np.abs(shares) @ P[t], traded, cost,
                  interest, borrow]
    daily = pd.DataFrame(out, index=idx, columns=cols)
    table = trades.assign(shares_a=held[:, 0], shares_b=held[:, 1], dollars_a=value[:, 0], dollars_b=value[:, 1],
                          gross=gross, costs=costs, borrow=fees, pnl=gross - costs - fees)
    return PairBook(daily, table, float(capital), tuple(prices.columns))


@dataclass
class Book:
    """The sum of the pairs' sub-accounts.

    equity, returns, excess : Series (n_days,), dollars and daily returns on capital (excess of
    the cash rate); pairs : the PairBooks; capital : dollars; convention : the CashConvention.
    """

    pairs: dict[str, PairBook]
    equity: pd.Series
    returns: pd.Series
    excess: pd.Series
    capital: float
    convention: CashConvention


def _returns(equity: pd.Series, capital: float) -> pd.Series:
    prev = np.concatenate([[capital], equity.to_numpy()[:-1]])
    return pd.Series(equity.to_numpy() / prev - 1.0, index=equity.index, name="returns")


def run_book(pair_books: dict[str, PairBook], index: pd.DatetimeIndex, convention: CashConvention,
             cash_capital: float = 0.0) -> Book:
    """Add the pairs' accounts on ``index`` (a pair's equity is flat before its first day and after its last).

    With no pair (none passed the stationarity test) the book is ``cash_capital`` in cash.
    """
    if pair_books:
        eq = pd.DataFrame({k: b.daily["equity"] for k, b in pair_books.items()}).reindex(index)
        eq = eq.ffill().fillna(pd.Series({k: b.capital for k, b in pair_books.items()}))
        equity, capital = eq.sum(axis=1), sum(b.capital for b in pair_books.values())
    else:
        capital = float(cash_capital)
        cash = convention.daily_cash(index)
        equity = capital * (1 + cash.where(cash.index > index[0], 0.0)).cumprod()  # earns from day 2 on
    equity = equity.rename("equity")
    returns = _returns(equity, capital)
    return Book(pair_books, equity, returns, convention.excess(returns), capital, convention)


def account_summary(daily: pd.DataFrame, capital: float, n_trades: int, wins: float,
                    convention: CashConvention) -> dict:
    """Dollars and ratios of one account (a pair or the book)."""
    equity = daily["equity"]
    r = _returns(equity, capital)
    cash = convention.daily_cash(equity.index)
    years = len(equity) / TRADING_DAYS
    return {"trades": n_trades, "win rate": wins, "P/L $": float(equity.iloc[-1] - capital),
            "over cash $": float(equity.iloc[-1] - capital * (1 + cash.iloc[1:]).prod()),
            "costs $": float(daily["costs"].sum()), "borrow $": float(daily["borrow"].sum()),
            "return": float(equity.iloc[-1] / capital - 1), "Sharpe": metrics.sharpe_ratio(r, cash),
            "max DD": metrics.max_drawdown(r), "turnover / yr": float(daily["traded"].sum() / 2 / capital / years)}


def book_summary(book: Book) -> pd.DataFrame:
    """Per pair and for the whole book: trades, win rate, P/L, P/L over cash, costs, borrow, return on
    capital, Sharpe in excess of cash, maximum drawdown (negative fraction), one-way turnover a year
    (multiples of capital)."""
    rows = {}
    for name, pb in book.pairs.items():
        t = pb.trades
        rows[name] = account_summary(pb.daily, pb.capital, len(t), float((t["pnl"] > 0).mean()) if len(t) else np.nan,
                                     book.convention)
    cols = ["equity", "traded", "costs", "borrow"]
    if book.pairs:
        daily = sum(pb.daily[cols].reindex(book.equity.index).fillna(0.0) for pb in book.pairs.values())
        daily["equity"] = book.equity
    else:
        daily = pd.DataFrame({"equity": book.equity, "traded": 0.0, "costs": 0.0, "borrow": 0.0})
    all_trades = pd.concat([pb.trades for pb in book.pairs.values()]) if book.pairs else pd.DataFrame({"pnl": []})
    rows["book"] = account_summary(daily, book.capital, len(all_trades),
                                   float((all_trades["pnl"] > 0).mean()) if len(all_trades) else np.nan,
                                   book.convention)
    return pd.DataFrame(rows).T.astype({"trades": int})


def trade_book(prices: pd.DataFrame, pairs: dict, go: dict[str, pd.Series], entry_z: float, holding_period: int,
               notional: float, convention: CashConvention) -> Book:
    """One book over ``pairs`` (name -> :class:`helpers.pairs.PairData`), each pair trading on the dates
    of its ``go`` Series (bool: the filter allows a trade), with capital ``notional`` per pair."""
    books = {}
    for name, pair in pairs.items():
        dates = go[name].index
        z = pair.raw["z_score"].reindex(dates)
        trades = plan_trades(z, go[name], entry_z, holding_period)
        books[name] = run_pair(prices.loc[dates, [pair.a, pair.b]], trades, pair.checks.beta, notional,
                               notional, convention)
    index = prices.index[(prices.index >= min(g.index[0] for g in go.values()))
                         & (prices.index <= max(g.index[-1] for g in go.values()))]
    return run_book(books, index, convention, cash_capital=notional)


def trade_books(prices: pd.DataFrame, pairs: dict, go: dict[str, dict[str, pd.Series]], entry_z: float,
                holding_period: int, notional: float, convention: CashConvention) -> dict[str, Book]:
    """One :func:`trade_book` per filter: ``go`` is {filter name: {pair name: bool Series}} (it may hold
    more pairs than ``pairs``; only those in ``pairs`` trade). Empty when ``pairs`` is empty."""
    if not pairs:
        return {}
    return {m: trade_book(prices, pairs, {n: g[n] for n in pairs}, entry_z, holding_period, notional, convention)
            for m, g in go.items()}


def trade_economics(book: Book) -> dict:
    """A book's story per trade: how much each trade earns before costs against what it pays.

    Returns
    -------
    dict with "trades" (count), "edge_per_trade_bps" (price P/L before costs and borrow, per dollar
    of gross notional at entry, in basis points: total gross / total notional x 1e4),
    "cost_per_trade_bps" (trading costs at entry and exit plus borrow fees while open, same
    units), "pnl_per_trade" (dollars, after costs: mean of the trades' pnl) and "notional_per_trade"
    (dollars, mean gross at entry). NaN ratios when the book has no trade.
    """
    frames = [pb.trades for pb in book.pairs.values() if len(pb.trades)]
    if not frames:
        nan = float("nan")
        return {"trades": 0, "edge_per_trade_bps": nan, "cost_per_trade_bps": nan, "pnl_per_trade": nan,
                "notional_per_trade": nan}
    t = pd.concat(frames)
    notional = float((t["dollars_a"].abs() + t["dollars_b"].abs()).sum())
    return {"trades": len(t), "edge_per_trade_bps": float(t["gross"].sum() / notional * 1e4),
            "cost_per_trade_bps": float((t["costs"] + t["borrow"]).sum() / notional * 1e4),
            "pnl_per_trade": float(t["pnl"].mean()), "notional_per_trade": notional / len(t)}


def book_period(book: Book) -> str:
    """The book's first and last dates: ``"2020-01-02 to 2024-12-23"``."""
    return f"{book.equity.index[0].date()} to {book.equity.index[-1].date()}"
