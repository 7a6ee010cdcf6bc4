"""Real data sets: the small ones bundled inside scikit-learn, and numeric CSV files.

:func:`load` turns a data set that scikit-learn ships on disk into a
:class:`~gdjax.problems.Problem` without touching the network: ``"diabetes"`` (least squares),
``"breast_cancer"`` (logistic regression) and ``"digits"`` (10-class softmax regression). It needs
the optional dependency: ``pip install 'gdjax[datasets]'``.

:func:`load_csv` reads any numeric CSV file with the standard library, one column being the target
and the others the features, and builds the problem of the kind asked for.

Features are standardised to zero mean and unit variance by default for the bundled sets: raw
features on wildly different scales make the condition number, not the optimiser, the subject of
a benchmark.

Example:
    >>> import gdjax
    >>> p = gdjax.datasets.load("diabetes")
    >>> (p.name, p.n, p.d)
    ('diabetes', 442, 10)
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import numpy as np

from gdjax import checks, problems
from gdjax.problems import Problem

__all__ = ["NAMES", "load", "load_csv"]

#: The data sets :func:`load` knows, in the order they are listed in error messages.
NAMES = ("diabetes", "breast_cancer", "digits")

_KINDS = {"linear": problems.linear, "logistic": problems.logistic, "softmax": problems.softmax}


def load(name: str, *, standardize: bool = True, dtype=None) -> Problem:
    """A data set bundled inside scikit-learn, as a problem of the matching kind.

    ============== ====== === =====================================================
    name           n      d   problem
    ============== ====== === =====================================================
    diabetes       442    10  :func:`~gdjax.problems.linear` (disease progression)
    breast_cancer  569    30  :func:`~gdjax.problems.logistic` (malignant or not)
    digits         1797   64  :func:`~gdjax.problems.softmax` (10 classes, 8x8 pixels)
    ============== ====== === =====================================================

    The files come with scikit-learn itself, so nothing is downloaded.

    Args:
        name: one of :data:`NAMES`.
        standardize: scale every feature to zero mean and unit variance (a constant column, such
            as the always-blank corner pixels of digits, becomes all zeros). For diabetes the
            target is standardised too, so that losses are O(1) instead of O(10^4).
        dtype: floating dtype of the data (default: JAX's default float).

    Returns:
        A :class:`~gdjax.problems.Problem` named after the data set, with the constructors'
        default intercept and L2 penalty.

    Raises:
        ValueError: ``name`` is not one of :data:`NAMES`.
        ImportError: scikit-learn is not installed.

    Example:
        >>> p = load("digits")
        >>> p.init_params()["w"].shape
        (64, 10)
    """
    if name not in NAMES:
        raise ValueError(f"load: unknown data set name={name!r}; choose one of {', '.join(NAMES)}")
    dt = checks.float_dtype(dtype)
    try:
        # lazily: scikit-learn is an optional dependency and slow to import
        from sklearn import datasets as skd
    except ImportError as e:
        raise ImportError(
            f"load({name!r}) needs scikit-learn: pip install 'gdjax[datasets]'"
        ) from e

    if name == "diabetes":
        # scaled=False: the default pre-scales by std * sqrt(n), which we would only undo
        X, y = skd.load_diabetes(return_X_y=True, scaled=False)
        y = np.asarray(y, np.float64)
        if standardize:
            X = _standardize(X)
            y = (y - y.mean()) / y.std()
        return problems.linear(np.asarray(X, dt), np.asarray(y, dt), name=name)

    if name == "breast_cancer":
        X, y = skd.load_breast_cancer(return_X_y=True)
        X = _standardize(X) if standardize else np.asarray(X, np.float64)
        return problems.logistic(np.asarray(X, dt), y, name=name)

    X, y = skd.load_digits(return_X_y=True)
    X = _standardize(X) if standardize else np.asarray(X, np.float64)
    # num_classes explicit: a subset of the data need not contain a 9 to be a 10-class problem
    return problems.softmax(np.asarray(X, dt), y, num_classes=10, name=name)


def load_csv(
    path: str | os.PathLike,
    *,
    target: str | int,
    kind: str = "linear",
    header: bool | None = None,
    delimiter: str = ",",
    standardize: bool = False,
    dtype=None,
    **problem_kwargs,
) -> Problem:
    """A problem from a numeric CSV file: one column is the target, the others are the features.

    The file is read with the standard library :mod:`csv` module; every cell outside the header
    must parse as a finite number. Blank lines are skipped but still counted, so the line numbers
    in error messages are those an editor shows.

    Args:
        path: the CSV file.
        target: the target column, by name (needs a header) or by integer index (negative counts
            from the end).
        kind: ``"linear"``, ``"logistic"`` (targets 0 or 1) or ``"softmax"`` (integer classes).
        header: ``True`` if the first row holds column names, ``False`` if it is data, ``None`` to
            decide from the file: the first row is a header iff one of its cells is not a number.
        delimiter: the field separator.
        standardize: scale every feature column to zero mean and unit variance (a constant column
            becomes all zeros). The target is never changed.
        dtype: floating dtype of the features (default: JAX's default float).
        **problem_kwargs: passed on to the constructor of ``kind``, for example ``intercept``,
            ``l2`` or ``num_classes``; ``name`` defaults to the file name without its suffix.

    Returns:
        A :class:`~gdjax.problems.Problem` made by :func:`~gdjax.problems.linear`,
        :func:`~gdjax.problems.logistic` or :func:`~gdjax.problems.softmax`.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: an empty file, no data rows, a ragged row, a cell that is not a finite number
            (with its line number and column), an unknown target column or ``kind``, or labels
            the constructor rejects.

    Example:
        >>> import pathlib, tempfile
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "toy.csv"
        >>> _ = f.write_text("x1,x2,y\\n0,1,1.5\\n1,0,2.5\\n2,2,6.0\\n")
        >>> p = load_csv(f, target="y")
        >>> (p.name, p.n, p.d)
        ('toy', 3, 2)
    """
    if kind not in _KINDS:
        raise ValueError(f"load_csv: kind must be one of {', '.join(_KINDS)}, got {kind!r}")
    if isinstance(target, bool) or not isinstance(target, (str, int, np.integer)):
        raise TypeError(
            f"load_csv: target must be a column name (str) or index (int), "
            f"got {type(target).__name__}"
        )
    if header is not None and not isinstance(header, bool):
        raise TypeError(f"load_csv: header must be True, False or None, got {header!r}")
    dt = checks.float_dtype(dtype)

    columns, data = _read_csv(path, header=header, delimiter=delimiter)
    ncol = data.shape[1]
    if ncol < 2:
        raise ValueError(f"{path}: need at least 2 columns (features and a target), got {ncol}")
    j = _target_index(path, target, columns, ncol)

    y = data[:, j]
    X = np.delete(data, j, axis=1)
    if standardize:
        X = _standardize(X)
    problem_kwargs.setdefault("name", Path(path).stem)
    return _KINDS[kind](np.asarray(X, dt), y, **problem_kwargs)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _standardize(X) -> np.ndarray:
    """Columns to zero mean and unit variance in float64; constant columns to exact zeros."""
    X = np.asarray(X, np.float64)
    mean = X.mean(axis=0)
    std = X.std(axis=0)
    # max == min, not std == 0: the rounded mean of a constant column need not equal the constant,
    # and the leftover ~1e-17 would be blown up to +-1 by the division
    const = X.max(axis=0) == X.min(axis=0)
    Z = (X - mean) / np.where(const, 1.0, std)
    Z[:, const] = 0.0
    return Z


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _read_csv(path, *, header, delimiter):
    """``(column names or None, float64 array (rows, columns))`` of a numeric CSV file."""
    try:
        # utf-8-sig: spreadsheet exports often start with a byte-order mark, which would
        # otherwise glue itself onto the first column name
        f = open(path, newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise FileNotFoundError(f"load_csv: no such file: {path}") from None
    with f:
        reader = csv.reader(f, delimiter=delimiter)
        columns = None
        rows = []
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            # reader.line_num, not a row count: it counts blank lines and quoted newlines
            line = reader.line_num
            if columns is None and not rows:
                first = header if header is not None else not all(_is_number(c) for c in row)
                if first:
                    columns = [c.strip() for c in row]
                    width = len(columns)
                    continue
                width = len(row)
            if len(row) != width:
                raise ValueError(f"{path} line {line}: expected {width} columns, got {len(row)}")
            rows.append([_parse(path, line, c, k, columns) for k, c in enumerate(row)])
    if columns is None and not rows:
        raise ValueError(f"{path}: the file is empty")
    if not rows:
        raise ValueError(f"{path}: no data rows after the header")
    return columns, np.array(rows, np.float64)


def _parse(path, line, cell, k, columns):
    try:
        v = float(cell)
    except ValueError:
        v = None
    if v is None or not math.isfinite(v):
        where = f"column {columns[k]!r}" if columns is not None else f"column index {k}"
        what = "a number" if v is None else "a finite number"
        raise ValueError(f"{path} line {line}, {where}: {cell!r} is not {what}")
    return v


def _target_index(path, target, columns, ncol) -> int:
    if isinstance(target, str):
        if columns is None:
            raise ValueError(
                f"{path}: target={target!r} is a column name but the file has no header; "
                f"pass an integer column index instead"
            )
        hits = [k for k, c in enumerate(columns) if c == target]
        if not hits:
            raise ValueError(
                f"{path}: no column named target={target!r}; the columns are "
                f"{', '.join(repr(c) for c in columns)}"
            )
        if len(hits) > 1:
            raise ValueError(f"{path}: target={target!r} names {len(hits)} columns; use an index")
        return hits[0]
    if not -ncol <= target < ncol:
        raise ValueError(f"{path}: target={target} out of range for {ncol} columns")
    return int(target) % ncol
