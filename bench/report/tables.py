"""Formatting for the report's tables: short numbers, plurals, markdown pipe tables."""

from __future__ import annotations

import math

import pandas as pd


def short(v, digits: int = 3) -> str:
    """Stable short float: ``digits`` significant digits, "-" for missing.

    Examples:
        >>> short(0.0123456), short(None), short(float("inf"))
        ('0.0123', '-', 'inf')
    """
    if v is None or pd.isna(v):
        return "-"
    v = float(v)
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:.{digits}g}"


def plural(k: int, word: str) -> str:
    """``k`` and the word, with an "s" unless k is 1.

    Examples:
        >>> plural(1, "seed"), plural(3, "seed")
        ('1 seed', '3 seeds')
    """
    return f"{k} {word}" + ("" if k == 1 else "s")


def md_table(header: list[str], rows: list[list[str]], right: set[int]) -> str:
    """A markdown pipe table; columns whose index is in ``right`` are right-aligned.

    Examples:
        >>> print(md_table(["a", "n"], [["x", "1"]], right={1}))
        | a | n |
        | --- | ---: |
        | x | 1 |
    """
    rule = ["---:" if i in right else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def number_text(v, fmt: str = ".3g") -> str:
    """A number in ``fmt``; "-" when missing or not finite.

    Example:
        >>> number_text(0.012345), number_text(float("inf")), number_text(12.0, ".0f")
        ('0.0123', '-', '12')
    """
    return "-" if v is None or pd.isna(v) or not math.isfinite(v) else format(v, fmt)


def ms(seconds) -> str:
    """Seconds as milliseconds, 3 significant digits ("-" when missing).

    Example:
        >>> ms(0.01234), ms(float("nan"))
        ('12.3', '-')
    """
    return "-" if pd.isna(seconds) else f"{seconds * 1e3:.3g}"


def times(ratio) -> str:
    """A ratio as "1.23x" ("-" when missing).

    Example:
        >>> times(1.2345), times(None)
        ('1.23x', '-')
    """
    return "-" if pd.isna(ratio) else f"{ratio:.3g}x"
