"""Small plotting helpers shared by the notebooks (matplotlib / seaborn)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns


def scatter_by_group(frame: pd.DataFrame, x: str, y: str, hue: str, ax=None, title: str = "",
                     xlabel: str = "", ylabel: str = ""):
    """Scatter of two columns coloured by a group column."""
    ax = ax or plt.subplots(figsize=(7, 4.5))[1]
    sns.scatterplot(data=frame, x=x, y=y, hue=hue, ax=ax, s=25, alpha=0.8)
    ax.set(title=title, xlabel=xlabel or x, ylabel=ylabel or y)
    ax.grid(alpha=0.3)
    return ax


def line_panels(frame: pd.DataFrame, panels: list[list[str]], titles: list[str], logy=(), figsize=(11, 6)):
    """Stacked line plots sharing the date axis, one panel per list of columns."""
    fig, axes = plt.subplots(len(panels), 1, figsize=figsize, sharex=True, squeeze=False)
    for ax, cols, title in zip(axes[:, 0], panels, titles):
        frame[cols].plot(ax=ax, lw=1)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        if title in logy:
            ax.set_yscale("log")
    fig.tight_layout()
    return fig


def heatmap(table: pd.DataFrame, title: str, fmt: str = ".2f", ax=None, cmap="RdYlGn", center=None):
    """Annotated heatmap of a small table."""
    ax = ax or plt.subplots(figsize=(7, 5))[1]
    sns.heatmap(table, annot=True, fmt=fmt, cmap=cmap, center=center, ax=ax, cbar=True)
    ax.set_title(title)
    return ax


def spread_with_points(spread: pd.Series, flagged: pd.Series, title: str, ax=None):
    """A spread over time with the dates a model flagged (boolean Series) as dots."""
    ax = ax or plt.subplots(figsize=(11, 3))[1]
    ax.plot(spread.index, spread.to_numpy(), color="black", lw=0.8, label="spread")
    hits = spread.loc[flagged[flagged].index]
    ax.scatter(hits.index, hits.to_numpy(), s=8, color="tab:green", label="predicted reversion", zorder=3)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    return ax
