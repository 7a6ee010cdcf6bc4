"""The problem tables of a suite file: each source's own fields (:data:`SOURCES`), the fields
every problem table has (:data:`PROBLEM_FIELDS`), and :func:`problem_builder`, which turns a
checked table into its :class:`~gdjax.problems.Problem`. The fields' checks are those of
:mod:`bench.run.suite_schema`.

Example:
    >>> sorted(SOURCES["quadratic"])
    ['a', 'b', 'c']
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from collections.abc import Callable
from pathlib import Path

import gdjax
from bench.run.suite_schema import (
    BOOL,
    LABEL_DOC,
    Field,
    choice,
    int_field,
    label,
    names_list,
    string,
)
from gdjax import checks
from gdjax.problems import Problem

_SEED = Field("an int in [0, 2**32)", checks.seed, default=0)


def _delimiter(v) -> str:
    if not isinstance(v, str) or len(v) != 1 or v in '"\r\n':
        raise ValueError(v)
    return v


def _column(v):
    return v if isinstance(v, str) else checks.integer(v, "features", lo=-(2**31), hi=2**31 - 1)


def _features(v) -> list:
    if not isinstance(v, list) or not v:
        raise TypeError(v)
    cols = [_column(c) for c in v]
    if len(set(cols)) != len(cols):  # a column twice would be a feature twice
        raise ValueError(v)
    return cols


_L2 = Field("a number >= 0", lambda v: checks.real(v, "l2", lo=0.0), default=1e-2)
_SIZE = Field("an int >= 1", int_field("size", 1))
# None: isotropic data; K: the make_* function conditions the problem to K (n >= d + 1 is
# checked when validate builds the problem)
_COND = Field(
    "a number >= 1 (condition number)", lambda v: checks.real(v, "cond", lo=1.0), default=None
)
#: Each source's own fields (on top of PROBLEM_FIELDS and RUN_FIELDS).
SOURCES: dict[str, dict[str, Field]] = {
    "linear": {
        "n": _SIZE,
        "d": _SIZE,
        "noise": Field("a number >= 0", lambda v: checks.real(v, "noise", lo=0.0), default=0.1),
        "seed": _SEED,
        "intercept": BOOL,
        "cond": _COND,
    },
    "logistic": {
        "n": _SIZE,
        "d": _SIZE,
        "seed": _SEED,
        "intercept": BOOL,
        "l2": _L2,
        "cond": _COND,
    },
    "softmax": {
        "n": _SIZE,
        "d": _SIZE,
        "classes": Field(
            f"an int in [2, {gdjax.problems.MAX_CLASSES}]",
            int_field("classes", 2, gdjax.problems.MAX_CLASSES),
            default=3,
        ),
        "seed": _SEED,
        "intercept": BOOL,
        "l2": _L2,
        "cond": _COND,
    },
    "dataset": {
        "dataset": Field(
            "a data set name", choice("dataset", gdjax.datasets.NAMES), own_message=True
        ),
        "standardize": BOOL,
    },
    "csv": {
        "path": Field("a file path (relative to the suite file)", string),
        "target": Field(
            "a column name (string) or index (int)",
            lambda v: v if isinstance(v, str) else checks.integer(v, "target", lo=-(2**31)),
        ),
        "kind": Field(
            "linear, logistic or softmax",
            choice("kind", ("linear", "logistic", "softmax")),
            default="linear",
            own_message=True,
        ),
        "standardize": dataclasses.replace(BOOL, default=False),
        "encoding": Field("a text encoding name (utf-8, latin-1, ...)", string, default="utf-8"),
        "delimiter": Field(
            "one character other than a quote or a line break", _delimiter, default=","
        ),
        "intercept": BOOL,
        "features": Field(
            "a non-empty list of distinct column names (strings) or indices (ints)",
            _features,
            default=None,
        ),
    },
    "textbook": {
        "setup": Field(
            "a textbook setup", choice("textbook setup", gdjax.problems.TEXTBOOK), own_message=True
        ),
        "seed": _SEED,
    },
    # every other field of a python problem is a keyword argument of its factory
    "python": {
        "factory": Field(
            '"package.module:function", importable, returning a gdjax Problem',
            lambda v: factory(v),
            own_message=True,
        ),
    },
    "quadratic": {
        "a": Field("a number > 0", lambda v: checks.real(v, "a", lo=0.0, strict=True)),
        "b": Field("a number", lambda v: checks.real(v, "b", lo=-math.inf)),
        "c": Field("a number", lambda v: checks.real(v, "c", lo=-math.inf)),
    },
}

PROBLEM_FIELDS: dict[str, Field] = {
    "name": Field(LABEL_DOC, label),
    "source": Field("a source", choice("source", tuple(SOURCES)), own_message=True),
    "variants": Field(
        "a non-empty list of distinct variant names", names_list("variants", label), default=None
    ),
    "dtype": Field('"float32" or "float64"', choice("dtype", ("float32", "float64")), default=None),
}


def factory(path) -> Callable[..., Problem]:
    """The function a python problem's ``factory = "package.module:function"`` names, imported.

    Raises:
        TypeError, ValueError: not such a string, a module that does not import, or no such
            callable in it; each message names ``factory`` and the path.

    Example:
        >>> factory("bench.examples.mlp:digits_mlp").__name__
        'digits_mlp'
    """
    if not isinstance(path, str) or path.count(":") != 1 or not all(path.split(":")):
        raise TypeError(f'factory must be a "package.module:function" string, got {path!r}')
    module_name, function = path.split(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as e:  # whatever importing a user's module raises, on one line
        raise ValueError(
            f"factory {path!r}: module {module_name!r} does not import: {type(e).__name__}: {e}"
        ) from None
    fn = getattr(module, function, None)
    if not callable(fn):
        raise ValueError(f"factory {path!r}: module {module_name!r} has no function {function!r}")
    return fn


def _from_factory(make, kwargs: dict) -> Problem:
    """Call a python problem's factory; refuse what is not a Problem."""
    name = f"{make.__module__}:{make.__qualname__}"
    try:
        prob = make(**kwargs)
    except TypeError as e:  # a keyword it does not take, most likely
        raise TypeError(f"factory {name!r}: {e}") from None
    if not isinstance(prob, Problem):
        raise TypeError(
            f"factory {name!r} returned {type(prob).__name__}, not a gdjax Problem "
            "(gdjax.problems.custom(...) makes one)"
        )
    return prob


def problem_builder(source, args, pname, dtype, base: Path) -> Callable[[], Problem]:
    """A function that builds a problem table's problem; called by validate and the runner.

    Args:
        source: the table's source, a key of :data:`SOURCES`.
        args: its fields, checked (defaults filled in); a python problem's also ``kwargs``,
            its factory's keyword arguments (the table's other fields, as TOML gave them).
        pname: the problem's name.
        dtype: "float32", "float64" or None (JAX's default).
        base: the suite file's folder: a relative CSV path is relative to it.

    Returns:
        A function of no arguments that makes the data each time it is called.

    Example:
        >>> coefficients = {"a": 2.0, "b": 0.0, "c": 1.0}
        >>> make = problem_builder("quadratic", coefficients, "q", None, Path("."))
        >>> make().name
        'q'
    """

    def build() -> Problem:
        if source == "linear":
            prob = gdjax.problems.make_linear(
                args["n"],
                args["d"],
                noise=args["noise"],
                seed=args["seed"],
                intercept=args["intercept"],
                cond=args["cond"],
                dtype=dtype,
            )
        elif source == "logistic":
            prob = gdjax.problems.make_logistic(
                args["n"],
                args["d"],
                seed=args["seed"],
                intercept=args["intercept"],
                l2=args["l2"],
                cond=args["cond"],
                dtype=dtype,
            )
        elif source == "softmax":
            prob = gdjax.problems.make_softmax(
                args["n"],
                args["d"],
                args["classes"],
                seed=args["seed"],
                intercept=args["intercept"],
                l2=args["l2"],
                cond=args["cond"],
                dtype=dtype,
            )
        elif source == "dataset":
            prob = gdjax.datasets.load(
                args["dataset"], standardize=args["standardize"], dtype=dtype
            )
        elif source == "csv":
            path = Path(args["path"])  # relative to the suite file, not to the working directory
            prob = gdjax.datasets.load_csv(
                path if path.is_absolute() else base / path,
                target=args["target"],
                features=args["features"],
                kind=args["kind"],
                delimiter=args["delimiter"],
                standardize=args["standardize"],
                dtype=dtype,
                encoding=args["encoding"],
                intercept=args["intercept"],
            )
        elif source == "python":
            prob = _from_factory(args["factory"], args["kwargs"])
        elif source == "textbook":
            prob = gdjax.problems.textbook(args["setup"], seed=args["seed"], dtype=dtype)
        else:
            prob = gdjax.problems.quadratic(args["a"], args["b"], args["c"], dtype=dtype)
        return dataclasses.replace(prob, name=pname)

    return build
