"""Real data sets: the small ones bundled inside scikit-learn, and numeric CSV files.

:func:`load` turns a data set that scikit-learn ships on disk into a
:class:`~gdjax.problems.Problem` without touching the network: ``"diabetes"`` (least squares),
``"breast_cancer"`` (logistic regression) and ``"digits"`` (10-class softmax regression). It needs
the optional dependency: ``pip install 'gdjax[datasets]'``.

:func:`load_csv` reads any numeric CSV file with :func:`pandas.read_csv`, one column being the
target and the others the features, and builds the problem of the kind asked for.

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

import os
from pathlib import Path

import numpy as np

from gdjax import checks
from gdjax.problems import _csv
from gdjax.problems import constructors as problems
from gdjax.problems.problem import Problem

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
        TypeError: ``standardize`` is not a bool.
        ImportError: scikit-learn is not installed.

    Example:
        >>> p = load("digits")
        >>> p.init_params()["w"].shape
        (64, 10)
    """
    if name not in NAMES:
        raise ValueError(f"load: unknown data set name={name!r}; choose one of {', '.join(NAMES)}")
    standardize = checks.boolean(standardize, "load: standardize")  # 'no' is not False
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
    features=None,
    kind: str = "linear",
    header: bool | None = None,
    delimiter: str = ",",
    standardize: bool = False,
    dtype=None,
    encoding: str = "utf-8",
    **problem_kwargs,
) -> Problem:
    """A problem from a numeric CSV file: one column is the target, the others (or the ones
    ``features`` names) are the features.

    The file is parsed by :func:`pandas.read_csv`; every cell of the columns used, outside the
    header, must be a finite number (spaces around it are fine); other columns may hold text.
    Blank lines and comment lines (whose first character other than a space or a tab is ``#``,
    as :func:`numpy.loadtxt` takes them: a ``# x,y`` header of :func:`numpy.savetxt` is one) are
    skipped but still counted, so the line numbers in error messages are those an editor shows.
    Every error names the file.

    Args:
        path: the CSV file.
        target: the target column, by name (needs a header) or by integer index (negative counts
            from the end).
        features: the feature columns, a non-empty list of names (needs a header) or integer
            indices, in the order wanted; None for every column but the target.
        kind: ``"linear"``, ``"logistic"`` (targets 0 or 1) or ``"softmax"`` (integer classes).
        header: ``True`` if the first row holds column names, ``False`` if it is data, ``None`` to
            decide from the file: the first row is a header iff one of its cells is not a number.
        delimiter: the field separator, one character.
        standardize: scale every feature column to zero mean and unit variance (a constant column
            becomes all zeros). The target is never changed.
        dtype: floating dtype of the features (default: JAX's default float).
        encoding: the file's text encoding (a byte-order mark is tolerated); for example
            ``"latin-1"`` or ``"cp1252"`` for spreadsheet exports.
        **problem_kwargs: passed on to the constructor of ``kind``, for example ``intercept``,
            ``l2`` or ``num_classes``; ``name`` defaults to the file name without its suffix.

    Returns:
        A :class:`~gdjax.problems.Problem` made by :func:`~gdjax.problems.linear`,
        :func:`~gdjax.problems.logistic` or :func:`~gdjax.problems.softmax`.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        TypeError: an argument of the wrong type.
        ValueError: naming the file: bytes that do not decode (with the line, suggesting
            ``encoding=``), an empty file, no data rows, a ragged row, a cell that is not a finite
            number (with its line number and column), an unknown target or feature column or
            ``kind``, the target among the features, or data the constructor rejects.

    Example:
        >>> import pathlib, tempfile
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "toy.csv"
        >>> _ = f.write_text("x1,x2,y\\n0,1,1.5\\n1,0,2.5\\n2,2,6.0\\n")
        >>> p = load_csv(f, target="y")
        >>> (p.name, p.n, p.d)
        ('toy', 3, 2)
        >>> load_csv(f, target="y", features=["x2"]).d
        1
    """
    if not isinstance(kind, str) or kind not in _KINDS:
        raise ValueError(f"load_csv: kind must be one of {', '.join(_KINDS)}, got {kind!r}")
    if isinstance(target, (bool, np.bool_)) or not isinstance(target, (str, int, np.integer)):
        raise TypeError(
            f"load_csv: target must be a column name (str) or index (int), "
            f"got {type(target).__name__}"
        )
    if features is not None:
        if not isinstance(features, (list, tuple)) or not features:
            raise TypeError(
                f"load_csv: features must be a non-empty list of column names or indices, "
                f"got {features!r}"
            )
        for f in features:
            if isinstance(f, (bool, np.bool_)) or not isinstance(f, (str, int, np.integer)):
                raise TypeError(
                    f"load_csv: features must hold column names (str) or indices (int), "
                    f"got {type(f).__name__} {f!r}"
                )
    if header is not None and not isinstance(header, bool):
        raise TypeError(f"load_csv: header must be True, False or None, got {header!r}")
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '"\r\n':
        raise ValueError(
            f"load_csv: delimiter must be one character other than a quote or a line break, "
            f"got {delimiter!r}"
        )
    if not isinstance(encoding, str):
        raise TypeError(f"load_csv: encoding must be a str, got {type(encoding).__name__}")
    standardize = checks.boolean(standardize, "load_csv: standardize")
    dt = checks.float_dtype(dtype)

    columns, table, lines, text = _csv.read_csv(
        path, header=header, delimiter=delimiter, encoding=encoding
    )
    ncol = table.shape[1]
    if ncol < 2:
        raise ValueError(f"{path}: need at least 2 columns (features and a target), got {ncol}")
    j = _csv.column_index(path, target, "target", columns, ncol)
    if features is None:
        used = [k for k in range(ncol) if k != j]
    else:
        used = [_csv.column_index(path, f, "features", columns, ncol) for f in features]
        twice = [k for i, k in enumerate(used) if k in used[:i]]
        if twice:
            raise ValueError(f"{path}: features name {_csv.column_name(twice[0], columns)} twice")
        if j in used:
            raise ValueError(f"{path}: features include the target, {_csv.column_name(j, columns)}")
    used.append(j)  # the target last
    data = _csv.numbers(path, text, table, lines, columns, delimiter, used)
    y = data[:, -1]
    X = data[:, :-1]
    if standardize:
        X = _standardize(X)
    problem_kwargs.setdefault("name", Path(path).stem)
    # checked in the dtype it will run in, here where the line is known: 1e39 is fine in
    # float64 and inf in float32
    with np.errstate(over="ignore"):
        over = ~np.isfinite(np.column_stack([X, y]).astype(dt))
    if over.any():
        r, k = (int(i) for i in np.argwhere(over)[0])
        raise ValueError(
            f"{path} line {lines[r]}, {_csv.column_name(used[k], columns)}: {data[r, k]:g} "
            f"overflows {np.dtype(dt)}"
        )
    X = X.astype(dt)
    try:
        return _KINDS[kind](X, y, **problem_kwargs)
    except ValueError as e:  # the data's fault: say which file
        raise ValueError(f"{path}: {e}") from None


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


#: Line breaks as pandas' parser knows them (not str.splitlines, which also breaks at \\x0b).
