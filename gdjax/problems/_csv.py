"""Reading a numeric CSV file for :func:`gdjax.problems.datasets.load_csv`: decoding, comments,
pandas' parse, and errors that name the file, line and column of a bad cell.
"""

from __future__ import annotations

import codecs
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["column_index", "column_name", "numbers", "read_csv"]


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _is_number(cell: str) -> bool:
    """A cell pandas parses as a number ("nan" and "inf" included; "1_000" is not one)."""
    if "_" in cell or not cell.isascii():
        return False
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _decode(path, encoding: str) -> str:
    """The file's text; a byte it cannot decode is one ValueError with its line."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"load_csv: no such file: {path}") from None
    except IsADirectoryError:
        raise ValueError(f"load_csv: {path} is a directory, not a CSV file") from None
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ValueError(f"load_csv: unknown encoding={encoding!r}") from None
    # utf-8-sig: spreadsheet exports often start with a byte-order mark, which would
    # otherwise glue itself onto the first column name
    codec = "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ValueError(
            f"{path} line {line}: byte {raw[e.start : e.start + 1]!r} cannot be decoded as "
            f"{encoding} ({e.reason}); pass the file's encoding, e.g. encoding='latin-1' or "
            f"encoding='cp1252'"
        ) from None
    return text.removeprefix("\ufeff")


def _record_lines(text: str, table: pd.DataFrame) -> list[int]:
    """The line (1-based, as an editor counts) on which each parsed record starts."""
    lines = _LINE_BREAK.split(text)
    # pandas skips lines of spaces and tabs only
    nonblank = [i + 1 for i, line in enumerate(lines) if line.strip(" \t")]
    if '"' not in text:  # no quoted line breaks: one record per non-blank line
        return nonblank[: len(table)]
    breaks = table.apply(lambda c: c.str.count(_LINE_BREAK.pattern)).sum(axis=1).tolist()
    out, i = [], 0
    for extra in breaks:
        while i < len(lines) and not lines[i].strip(" \t"):
            i += 1
        out.append(i + 1)
        i += 1 + int(extra)
    return out


def _blank_comments(text: str) -> str:
    """``text`` with every comment line emptied, its line break kept: pandas then skips it as
    a blank line, and every line keeps its number. A ``#`` inside a quoted cell that spans lines
    starts no comment."""
    parts = re.split(f"({_LINE_BREAK.pattern})", text)  # lines at even places, breaks between
    quoted = False
    for i in range(0, len(parts), 2):
        if not quoted and parts[i].lstrip(" \t").startswith("#"):
            parts[i] = ""
        quoted ^= parts[i].count('"') % 2 == 1  # "" inside a quoted cell counts twice
    return "".join(parts)


def read_csv(path, *, header, delimiter, encoding):
    """``(column names or None, data rows as strings (DataFrame), line of each row, text)``."""
    text = _blank_comments(_decode(path, encoding))
    try:
        # every cell as a string, nothing turned into NaN: numbers says which cell is not a
        # number, and where, which pandas' own conversion would not
        table = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=True,
            skipinitialspace=True,  # 1, "2" is two numbers: a quote may follow a space
            engine="c",
        )
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path}: the file is empty") from None
    except pd.errors.ParserError as e:  # a row longer than the first
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(e))
        if m is None:
            raise ValueError(f"{path}: not a CSV file pandas can parse: {e}") from None
        width, line, got = m.groups()
        raise ValueError(f"{path} line {line}: expected {width} columns, got {got}") from None
    table = table.apply(lambda c: c.str.strip(" \t"))
    record_lines = _record_lines(text, table)
    columns = None
    first = header if header is not None else not all(_is_number(c) for c in table.iloc[0])
    if first:
        columns = list(table.iloc[0])
        table, record_lines = table.iloc[1:], record_lines[1:]
    if not len(table):
        raise ValueError(f"{path}: no data rows after the header")
    return columns, table, record_lines, text


def numbers(path, text, table, record_lines, columns, delimiter, used) -> np.ndarray:
    """The columns ``used`` of ``table`` as float64 (rows, len(used)); the first cell that is
    not a finite number, in the file's order, is one ValueError with its line and column."""
    values = table.iloc[:, used].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        order = np.argsort(used)  # row by row, left to right as in the file
        r = int(np.argwhere(bad.any(axis=1))[0][0])
        k = next(used[i] for i in order if bad[r, i])
        cells = table.to_numpy()
        _cell_error(path, text, record_lines[r], cells[r, k], k, columns, delimiter, len(cells[r]))
    return values


def column_name(k: int, columns) -> str:
    return f"column {columns[k]!r}" if columns is not None else f"column index {k}"


def _cell_error(path, text, line, cell, k, columns, delimiter, width):
    """Raise the ValueError for one cell that is not a finite number."""
    raw = _LINE_BREAK.split(text)[line - 1]
    # pandas pads a short row with empty cells: tell a short row from an empty cell by the
    # line itself (when no quotes make counting delimiters wrong)
    if cell == "" and '"' not in raw and raw.count(delimiter) + 1 < width:
        got = raw.count(delimiter) + 1
        raise ValueError(f"{path} line {line}: expected {width} columns, got {got}")
    where = column_name(k, columns)
    what = "a finite number" if _is_number(cell) else "a number"
    raise ValueError(f"{path} line {line}, {where}: {cell!r} is not {what}")


def column_index(path, col, arg: str, columns, ncol) -> int:
    """The index of the column ``col`` names (``arg``: target or features, for messages)."""
    what = f"target={col!r}" if arg == "target" else f"features column {col!r}"
    if isinstance(col, str):
        if columns is None:
            raise ValueError(
                f"{path}: {what} is a column name but the file has no header; "
                f"pass an integer column index instead"
            )
        hits = [k for k, c in enumerate(columns) if c == col]
        if not hits:
            raise ValueError(
                f"{path}: no column named {what}; the columns are "
                f"{', '.join(repr(c) for c in columns)}"
            )
        if len(hits) > 1:
            raise ValueError(f"{path}: {what} names {len(hits)} columns; use an index")
        return hits[0]
    if not -ncol <= col < ncol:
        raise ValueError(f"{path}: {what} out of range for {ncol} columns")
    return int(col) % ncol
