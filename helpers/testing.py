"""Guards that the project's rules hold, for tests: no decision uses data from after its date.

:func:`assert_no_lookahead` perturbs every input row strictly after a cut-off date t and checks
that every output row dated at or before t is unchanged. Apply it to anything that sizes a
position: weights, betas, leverage, forecasts, features and labels.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd


def perturb_after(frame: pd.DataFrame | pd.Series, t, seed: int = 0, scale: float = 0.5):
    """A copy of ``frame`` whose numeric rows strictly after date ``t`` are scaled by random
    factors in [1 - scale, 1 + scale] (positive values stay positive: prices remain prices)."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    after = out.index > pd.Timestamp(t)
    shape = (int(after.sum()),) + out.shape[1:]
    factors = 1.0 + scale * rng.uniform(-1.0, 1.0, size=shape)
    if isinstance(out, pd.Series):
        out.loc[after] = out.loc[after].to_numpy() * factors
    else:
        num = out.select_dtypes("number").columns
        out.loc[after, num] = out.loc[after, num].to_numpy() * factors[:, : len(num)]
    return out


def _as_frames(result) -> dict[str, pd.DataFrame]:
    """Outputs as named frames: a frame, a series, or a dict / tuple of them."""
    if isinstance(result, dict):
        items = result.items()
    elif isinstance(result, tuple | list):
        items = enumerate(result)
    else:
        items = [("output", result)]
    out = {}
    for k, v in items:
        if isinstance(v, pd.Series):
            v = v.to_frame()
        if isinstance(v, pd.DataFrame):
            out[str(k)] = v
        elif hasattr(v, "__dict__") and not isinstance(v, np.ndarray):  # a results dataclass
            out.update({f"{k}.{a}": f for a, f in _as_frames(dict(vars(v))).items()})
    return out


def assert_no_lookahead(fn: Callable, data, cutoffs=None, n_cutoffs: int = 3, seed: int = 0,
                        rtol: float = 1e-9, atol: float = 1e-12, decided_at: Callable | None = None) -> None:
    """Assert that ``fn(data)`` dated at or before t does not change when data after t changes.

    Parameters
    ----------
    fn : callable(data) -> frame, series, or a dict / tuple / dataclass of them, indexed by date
    data : DataFrame or Series indexed by date (prices or returns), or a dict of them
        (each perturbed after t).
    cutoffs : dates t to test; default ``n_cutoffs`` dates spread over the middle of the index.
    decided_at : callable(index) -> index, optional
        The date at which each output row was decided, when it differs from the row's label
        (e.g. a return earned on day t+1 by a position decided at t: ``lambda i: i - 1 day``).
        Rows decided at or before t must be unchanged.

    Raises
    ------
    AssertionError naming the output, the cut-off and the first row that moved.
    """
    frames = data if isinstance(data, dict) else {"data": data}
    index = next(iter(frames.values())).index
    if cutoffs is None:
        pos = np.linspace(0.3, 0.8, n_cutoffs) * (len(index) - 1)
        cutoffs = [index[int(p)] for p in pos]
    base = _as_frames(fn(data))
    for i, t in enumerate(cutoffs):
        t = pd.Timestamp(t)
        moved = {k: perturb_after(v, t, seed + i) for k, v in frames.items()}
        pert = _as_frames(fn(moved if isinstance(data, dict) else moved["data"]))
        for name, a in base.items():
            b = pert[name]
            when = a.index if decided_at is None else decided_at(a.index)
            rows = a.index[np.asarray(when <= t)]
            if len(rows) == 0:
                continue
            x = a.loc[rows].to_numpy(dtype=float)
            y = b.reindex(index=rows, columns=a.columns).to_numpy(dtype=float)
            same = np.isclose(x, y, rtol=rtol, atol=atol, equal_nan=True)
            if not same.all():
                r, c = np.argwhere(~same)[0]
                raise AssertionError(
                    f"look-ahead in {name!r}: row {rows[r]} column {a.columns[c]!r} decided by {t.date()} "
                    f"changed from {x[r, c]!r} to {y[r, c]!r} when only data after {t.date()} changed")
