"""The daily arithmetic of the one accounting convention, shared by every engine.

One day of a book, from the close of t-1 to the close of t, with every amount in currency (or
as a fraction of capital, when the balances are)::

    interest = cash * (c_t + spread if cash < 0 else c_t)   cash earns the cash rate; borrowed
                                                            cash pays it plus the financing spread
    borrow   = fee * short                                  shorts pay the borrow fee on their
                                                            notional at the close of t-1
    cost     = cost_rate * traded                           trades pay per side on the notional
                                                            actually traded

and the capital a book ties up is ``long + margin * short``: the long notional, paid in full,
plus ``margin`` per dollar of short notional posted from own money (Reg T: 0.5).

Every function works elementwise on numbers or numpy arrays that broadcast, so one call covers a
day of one book (:func:`helpers.backtest.run_backtest`, :func:`helpers.pairbook.run_pair`), of
many windows at once (:func:`helpers.letf.simulate_windows`), of many parameter sets
(:func:`helpers.overlay.simulate`), or a whole borrow-fee x cost grid
(:meth:`helpers.letf.HedgeTotals.pnl_at`). The per-day rates come from
:meth:`helpers.backtest.CashConvention.daily_rates`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DailyRates:
    """Per-day rates of a convention (fractions per trading day; ``cost`` per unit traded).

    Attributes
    ----------
    spread : float or array  financing spread over the cash return, paid on borrowed cash
    borrow : float or array  borrow fee per unit of short notional
    cost : float or array    trading cost per unit of notional traded (``cost_bps / 1e4``)

    Arrays broadcast against the balances (for example fees of shape (1, B, 1) and costs of
    shape (1, 1, K) give a (n, B, K) grid).
    """

    spread: float | np.ndarray
    borrow: float | np.ndarray
    cost: float | np.ndarray


def interest(cash, cash_return, rates: DailyRates):
    """Interest earned (+) or paid (-) on yesterday's cash balance over one day.

    Parameters
    ----------
    cash : float or array        cash balance at the close of t-1 (negative: borrowed)
    cash_return : float or array the day's cash return c_t (per day, not annual)
    rates : DailyRates           its ``spread`` applies where ``cash < 0``

    Returns ``cash * (c_t + spread)`` where cash is borrowed, else ``cash * c_t`` (broadcast shape).
    """
    return cash * (cash_return + rates.spread * (cash < 0))


def borrow_fee(short, rates: DailyRates):
    """Borrow fee paid (>= 0) over one day on ``short``, the short notional (>= 0) at the close of t-1."""
    return rates.borrow * short


def trading_cost(traded, rates: DailyRates):
    """Cost paid (>= 0) on ``traded``, the notional traded (>= 0, buys and sells added)."""
    return rates.cost * traded


def carry(cash, short, cash_return, rates: DailyRates):
    """One day's carry: ``(interest, borrow)`` of :func:`interest` and :func:`borrow_fee`; the book's
    cash changes by ``interest - borrow``."""
    return interest(cash, cash_return, rates), borrow_fee(short, rates)


def capital(long, short, margin):
    """Capital a book ties up: ``long + margin * short`` (notionals >= 0, margin per dollar short)."""
    return long + margin * short
