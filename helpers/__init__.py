"""Quant Notebooks helpers: data layer, metrics and the analyses' building blocks."""

__version__ = "0.1.0"
