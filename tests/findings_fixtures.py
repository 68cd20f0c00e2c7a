"""Records of the shape ``reporting.conclude`` leaves, for the five notebooks, with long realistic values.

Used by the findings, dashboard and browser tests (the README block's word limit, the index's layout).
Headlines are at most 40 words; questions and verdicts as long as the notebooks' own.
"""

from __future__ import annotations

from helpers.comparison import Comparison

REAL = {"source": "/x/market-data", "content_hash": "bc2ae799051e" * 5}


def _data(tickers, first, last):
    return {**REAL, "tickers": tickers, "first_date": first, "last_date": last}


def _cmp(what, measure, est, low, high, unit="", halves=("no evidence", "no evidence"), **kw):
    return Comparison(what, measure, est, low, high, unit=unit, halves=halves, **kw).to_dict()


NOTEBOOKS = {
    "01_leveraged_etf_decay": dict(
        question="Does a long-underlying / short-3x book earn more than cash once borrow fees, financing "
                 "and trading costs are counted?",
        verdict="No pair beats cash (0 of 7)",
        headline="No pair's book beats cash after borrow and costs: SPY/SPXL excess return -0.23% a year "
                 "(95% CI -0.49% to +0.03%); break-even borrow fee 2.2% (95% CI 1.3% to 3.1%). "
                 "Holds in both halves.",
        period="2008-11-05 to 2026-07-31",
        comparisons=[_cmp(f"{p} book vs cash", "excess return", e, lo, hi, "% a year")
                     for p, e, lo, hi in (("SPY/SPXL", -0.23, -0.49, 0.03), ("SOXX/SOXL", 0.16, -0.46, 0.79),
                                          ("IWM/TNA", 0.11, -0.26, 0.63), ("QQQ/TQQQ", -0.07, -0.31, 0.18),
                                          ("DIA/UDOW", -0.20, -0.46, 0.04), ("XBI/LABU", 0.57, 0.02, 1.17),
                                          ("XLF/FAS", 0.21, -1.24, 1.94))],
        data=_data(["SPY", "SPXL", "SOXX", "SOXL", "IWM", "TNA", "QQQ", "TQQQ", "DIA", "UDOW", "XBI", "LABU",
                    "XLF", "FAS"], "1998-01-20", "2026-07-31"),
        breakeven_borrow_fee={"SPY/SPXL": 0.022, "SOXX/SOXL": 0.036, "QQQ/TQQQ": 0.027},
        breakeven_borrow_fee_ci={"SPY/SPXL": [0.013, 0.031], "SOXX/SOXL": [0.014, 0.059]},
        rehedges_per_year={"SPY/SPXL": 25.6, "SOXX/SOXL": 53.1},
    ),
    "02_pairs_lstm_mean_reversion": dict(
        question="Does an LSTM beat simple rules at predicting pair-spread mean reversion, as a classifier "
                 "and as a trading filter after costs?",
        verdict="No: LSTM trails the |z| rule on ROC AUC",
        headline="No: the LSTM trails the |z| rule on ROC AUC by 0.083 (95% CI -0.116 to -0.053), and no "
                 "book beats cash after costs: a round trip costs $100 against $4 of gross edge.",
        period="2020-01-02 to 2024-12-23",
        comparisons=[_cmp("LSTM vs |z| rule", "ROC AUC", -0.083, -0.116, -0.053, digits=3),
                     _cmp("LSTM vs |z| rule", "F1", 0.010, -0.010, 0.031, digits=3),
                     _cmp("LSTM vs logistic", "F1", 0.021, 0.009, 0.033, digits=3,
                          halves=("above zero", "no evidence")),
                     _cmp("LSTM book vs |z| book", "Sharpe ratio", 0.56, -0.29, 1.54)],
        data=_data(["IEMG", "EEM", "ARKK", "ARKW", "TLT", "SPTL", "SHY", "VGSH", "SOXX", "ITA"],
                   "2014-04-28", "2024-12-31"),
        edge_per_trade_bps={"LSTM": 3.9, "|z| rule": 2.1, "logistic": 1.4},
        cost_per_trade_bps={"LSTM": 98.0, "|z| rule": 101.0, "logistic": 99.5},
        pnl_lstm=-22030.4, sharpe_lstm=-7.22,
    ),
    "03_mag7_beta_hedge": dict(
        question="How much of a Mag-7 basket is QQQ beta, is alpha left after hedging, and does a "
                 "re-estimated hedge beat a static one?",
        verdict="Mostly beta; no alpha left after hedging",
        headline="Mostly QQQ beta (1.43, 84% of variance); no evidence of alpha after hedging and costs: "
                 "+7.7% a year (95% CI -7.8% to +23.1%) on capital including margin on the short.",
        period="2022-01-03 to 2025-09-19",
        comparisons=[_cmp("hedged book", "alpha", 7.7, -7.8, 23.1, "% a year", digits=1),
                     _cmp("dynamic hedge vs static hedge", "Sharpe ratio", -0.08, -0.31, 0.16)],
        data=_data(["AAPL", "MSFT", "AMZN", "NVDA", "GOOG", "META", "TSLA", "QQQ"], "2020-10-13", "2025-09-19"),
        static_beta=1.4, sharpe_static_hedge=0.543, alpha_hedged_annual=0.077, alpha_hedged_ci=[-0.078, 0.231],
    ),
    "04_multi_asset_allocation": dict(
        question="Do walk-forward ML signals beat equal weight, minimum variance and inverse volatility "
                 "out of sample after costs?",
        verdict="No ML strategy beats a benchmark",
        headline="No: no ML strategy beats any benchmark at the Holm-adjusted 5% level, and all four gaps "
                 "against equal weight and inverse volatility are negative; signal-weighted vs equal weight "
                 "-0.27 (95% CI -0.56 to +0.05).",
        period="2010-06-28 to 2026-05-01",
        comparisons=[_cmp(f"{a} vs {b}", "Sharpe ratio", e, lo, hi)
                     for a, b, e, lo, hi in (("signal-weighted", "equal weight", -0.27, -0.56, 0.05),
                                             ("signal-weighted", "min variance", 0.07, -0.41, 0.60),
                                             ("signal-weighted", "inverse volatility", -0.22, -0.56, 0.17),
                                             ("sector rotation", "equal weight", -0.35, -0.64, -0.07),
                                             ("sector rotation", "min variance", -0.01, -0.48, 0.47),
                                             ("sector rotation", "inverse volatility", -0.30, -0.58, 0.00))],
        data=_data(["SPY", "QQQ", "IWM", "TLT", "IEF", "SHV", "GLD", "DBC", "UUP", "FXY"], "2007-03-01",
                   "2026-05-01"),
        ic_cross_sectional={"estimate": 0.04, "low": -0.03, "high": 0.11},
        ic_time_series_mean=-0.0494,
        performance={s: {"sharpe": sh, "cagr": c, "volatility": v, "max_drawdown": m, "turnover": t}
                     for s, sh, c, v, m, t in (("equal weight", 0.794, 0.072, 0.073, -0.161, 0.167),
                                               ("inverse volatility", 0.744, 0.051, 0.05, -0.128, 0.152),
                                               ("min variance", 0.456, 0.027, 0.029, -0.063, 0.19),
                                               ("sector rotation", 0.444, 0.045, 0.074, -0.154, 4.68),
                                               ("signal-weighted", 0.526, 0.068, 0.109, -0.216, 4.36))},
        asset_volatility={"SPY": 0.171, "QQQ": 0.206, "IWM": 0.221, "TLT": 0.15, "IEF": 0.066, "SHV": 0.003,
                          "GLD": 0.165, "DBC": 0.172, "UUP": 0.073, "FXY": 0.094},
    ),
    "05_drawdown_aware_leverage": dict(
        question="Does a vol-targeting, drawdown-braking overlay improve risk-adjusted returns against the "
                 "base and matched constant leverage?",
        verdict="No evidence the overlay helps",
        headline="No evidence the overlay changes the Sharpe ratio: overlay vs base -0.06 (95% CI -0.31 to "
                 "+0.15); its drawdown is not distinguishable from the base's (-13.8 to +4.4 points). Holds "
                 "in both halves.",
        period="2011-01-31 to 2026-05-01",
        comparisons=[_cmp("overlay vs base", "Sharpe ratio", -0.06, -0.31, 0.15),
                     _cmp("overlay vs matched leverage", "Sharpe ratio", -0.02, -0.27, 0.20),
                     _cmp("overlay vs base", "max drawdown", 0.6, -13.8, 4.4, "points", digits=1),
                     _cmp("best cell vs base", "Sharpe ratio", 0.02, -0.21, 0.24)],
        data=_data(["SPY", "QQQ", "IWM", "EFA", "EEM", "TLT", "LQD", "GLD"], "2010-01-04", "2026-05-01"),
        sharpe_base=0.691, sharpe_dynamic=0.629, maxdd_dynamic=-0.247,
        sharpe_diff_ci={"vs_base": [-0.315, 0.154], "vs_matched": [-0.269, 0.203]},
        deflated_sharpe_best_cell=0.992, psr_best_cell_vs_base=0.57, cells_beating_base=3,
    ),
}


def records(stem: str) -> dict:
    """The full records of one notebook: its fields, ``deciding`` (the first comparison) and ``answer``."""
    rec = dict(NOTEBOOKS[stem])
    rec["deciding"] = rec["comparisons"][0]
    rec["answer"] = (f"On prices from the CSV folder 'market-data', {rec['period']}: **{rec['headline']}**\n\n"
                     "| Comparison | Measure | Difference |\n|---|---|---|\n| a vs b | Sharpe | +0.10 |\n\n"
                     "- Cash earns SHV's daily return; borrowing pays it plus 0.5%.")
    return rec


def all_runs() -> list[dict]:
    """One run per notebook, as :func:`helpers.findings.load_runs` returns them, with report links."""
    return [{"notebook": s, "records": records(s), "link": f"reports/real/runs/{s}/{s}.html"} for s in NOTEBOOKS]
