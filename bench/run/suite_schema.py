"""The suite file's schema: every field of every table, what it must be, and who decides.

Each field is a :class:`Field`: ``doc`` says in TOML words what the value must be (the error
message reads ``FIELD must be DOC, got V``), ``check`` decides, through ``gdjax.checks``, so the
rules are written once and shared with the library API. :mod:`bench.run.suites` walks a document
through these tables; ``bench/README.md`` documents the same fields for people. The problem
tables' own fields and their builder are in :mod:`bench.run.sources`.

Example:
    >>> RUN_FIELDS["tol"].check(1e-3)
    0.001
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np

import gdjax
from bench import entries
from gdjax import checks

# implemented in bench.perf.attach (the bare programs in bench.perf.baselines)
BASELINES = (*entries.LANE_BASELINES, *entries.SWEEP_BASELINES)
#: Longest learning-rate grid a geomspace may ask for: the grid is built when the file loads,
#: and a typo of 10**9 must not allocate gigabytes before anything else is checked.
MAX_GRID = 100_000
#: Longest name: names become file and folder names.
MAX_NAME = 100

_LABEL = re.compile(r"[A-Za-z0-9._-]+")
LABEL_DOC = (
    "letters, digits, '.', '_' or '-' (a label: no '/', '..' or '__', no leading '.', "
    "no leading or trailing '_')"
)
#: What joins a problem, a variant and an optimizer into an entry key (``Entry.key``): no label
#: holds it, so two entries never share a key.
KEY_SEPARATOR = "__"


#: Marks a field that has no default: it must be given.
REQUIRED = object()


@dataclasses.dataclass(frozen=True)
class Field:
    """One field of a suite table.

    Attributes:
        doc: what the value must be, in TOML words; the error says ``FIELD must be DOC, got V``.
        check: takes the TOML value, returns it normalised; raises TypeError or ValueError
            (a ``gdjax.checks`` call: the rules are written once, there).
        default: the value when absent; ``REQUIRED`` when it must be given.
        own_message: use the check's own message (it names the field and lists the choices,
            say ``unknown optimizer 'rmsprp': ... did you mean 'rmsprop'?``) instead of ``doc``.
    """

    doc: str
    check: Callable[[Any], Any]
    default: Any = REQUIRED
    own_message: bool = False


def label(v, arg: str = "name") -> str:
    """A name that becomes part of file names: letters, digits, '.', '_', '-'; no '..', no
    leading '.', no '__' (:data:`KEY_SEPARATOR`) and no '_' at either end (so the keys
    ``problem__variant__optimizer`` split one way only: unique by construction), at most
    :data:`MAX_NAME` characters.

    Raises:
        TypeError: not a string.
        ValueError: anything else a file name should not hold.

    Example:
        >>> label("minibatch-32")
        'minibatch-32'
    """
    if not isinstance(v, str):
        raise TypeError(f"{arg} must be a string, got {type(v).__name__}")
    if not _LABEL.fullmatch(v) or v.startswith(".") or ".." in v or len(v) > MAX_NAME:
        raise ValueError(f"{arg} {v!r} is not a label")
    if KEY_SEPARATOR in v or v.startswith("_") or v.endswith("_"):
        # 'a_' x 'b' and 'a' x '_b' would both be a___b: a name may not touch the separator
        raise ValueError(f"{arg} {v!r} holds or touches {KEY_SEPARATOR!r}, the key separator")
    return v


def string(v) -> str:
    if not isinstance(v, str):
        raise TypeError(type(v).__name__)
    return v


def choice(what: str, choices) -> Callable[[Any], str]:
    def check(v):
        if not isinstance(v, str) or v not in choices:
            raise ValueError(f"unknown {what} {v!r}; choose one of {', '.join(choices)}")
        return v

    return check


def names_list(what: str, check_one) -> Callable[[Any], list]:
    """A name or a non-empty list of distinct names, each passed through ``check_one``."""

    def check(v):
        v = [v] if isinstance(v, str) else v
        if not isinstance(v, list) or not v:
            raise TypeError(f"{what} must be a name or a non-empty list of names, got {v!r}")
        names = [check_one(x) for x in v]
        twice = [n for i, n in enumerate(names) if n in names[:i]]
        if twice:  # each name is one entry: the same one twice would be two entries, one key
            raise ValueError(f"{what} lists {twice[0]!r} twice, in {v!r}")
        return names

    return check


def optimizer_label(v) -> str:
    """The name an optimizer has in entry keys, tables and ``--only``: a name as it is; a table
    its ``label``, else its name and keywords (``rmsprop-decay0.9``), a label either way.

    Example:
        >>> optimizer_label({"name": "rmsprop", "decay": 0.9, "centered": True})
        'rmsprop-centeredTrue-decay0.9'
    """
    if isinstance(v, str):
        return v
    if "label" in v:
        return label(v["label"], "optimizer label")
    keywords = sorted((k, x) for k, x in v.items() if k != "name")
    words = (f"{k}{x:g}" if isinstance(x, float) else f"{k}{x}" for k, x in keywords)
    made = "-".join([v["name"], *words])
    try:
        return label(made, "optimizer")
    except ValueError:
        raise ValueError(
            f"optimizer {v!r} makes no label ({made!r}: {LABEL_DOC}); give it one, label = '...'"
        ) from None


def _optimizer(v) -> str | dict:
    """An optimizer name (built-in or optax's) or a table ``{ name = ..., keyword = value }``
    (fixed keywords; ``label`` optional), checked by gdjax's own normalisation."""
    if isinstance(v, dict):
        if not isinstance(v.get("name"), str):
            raise TypeError(f'an optimizer table needs name = "..." (a string), got {v!r}')
        optimizer_label(v)
        spec = {k: x for k, x in v.items() if k != "label"}
        gdjax._kernel.optimizers.check(spec)
        return dict(v)
    if not isinstance(v, str):
        raise TypeError(
            f"optimizer must be a name, a table {{ name = ..., keyword = value }} or a list of "
            f"them, got {v!r}"
        )
    gdjax._kernel.optimizers.check(v)
    return v


def _optimizers(v) -> list:
    """A name, a table or a non-empty list of them, each :func:`_optimizer`; labels distinct."""
    v = [v] if isinstance(v, (str, dict)) else v
    if not isinstance(v, list) or not v:
        raise TypeError(
            f"optimizer must be a name, a table {{ name = ..., keyword = value }} or a non-empty "
            f"list of them, got {v!r}"
        )
    out = [_optimizer(x) for x in v]
    labels = [optimizer_label(x) for x in out]
    twice = [n for i, n in enumerate(labels) if n in labels[:i]]
    if twice:  # each optimizer is one entry: the same one twice would be two entries, one key
        raise ValueError(f"optimizer lists {twice[0]!r} twice, in {v!r}")
    return out


def _hyperparams(v) -> dict:
    """``{ keyword = [values] }``: each a number or a non-empty list of finite numbers (which
    keywords the optimizer takes is checked once the entry's optimizer is known)."""
    if not isinstance(v, dict) or not v:
        raise TypeError(f"hyperparams must be a table {{ keyword = [numbers] }}, got {v!r}")
    out = {}
    for k, values in v.items():
        values = values if isinstance(values, list) else [values]
        if not values:
            raise ValueError(f"hyperparams.{k} must be a number or a non-empty list, got []")
        for x in values:
            if isinstance(x, bool) or not checks.is_real(x):
                raise TypeError(f"hyperparams.{k} must hold numbers, got {x!r}")
            checks.real(x, f"hyperparams.{k}", lo=-math.inf)
        out[k] = [float(x) for x in values]
    return out


def _lrs(v) -> list[float]:
    """A list of learning rates, or ``{geomspace = [lo, hi, count]}``."""
    if isinstance(v, dict):
        if set(v) != {"geomspace"}:
            raise ValueError(
                f"lrs.geomspace must be [lo, hi, count] (the only key of lrs = {{...}}), got {v!r}"
            )
        g = v["geomspace"]
        try:
            if not isinstance(g, list) or len(g) != 3:
                raise TypeError
            lo = checks.real(g[0], "lo", lo=0.0, strict=True)
            hi = checks.real(g[1], "hi", lo=0.0, strict=True)
            count = checks.integer(g[2], "count", lo=1, hi=MAX_GRID)
        except (TypeError, ValueError):
            raise ValueError(
                f"lrs.geomspace must be [lo, hi, count] with lo, hi numbers > 0 and count an int "
                f"in [1, {MAX_GRID}], got {g!r}"
            ) from None
        return [float(x) for x in np.geomspace(lo, hi, count)]
    if not isinstance(v, list) or not v:
        raise ValueError(
            f"lrs must be a non-empty list or {{geomspace = [lo, hi, count]}}, got {v!r}"
        )
    for x in v:
        try:
            checks.real(x, "lr", lo=0.0, strict=True)
        except (TypeError, ValueError):
            raise ValueError(f"lrs: every learning rate must be a number > 0, got {x!r}") from None
    return checks.lrs(v).tolist()


def _listed(check_all) -> Callable[[Any], list]:
    """A TOML list (not a lone value) through a ``gdjax.checks`` call on the whole list."""

    def check(v):
        if not isinstance(v, list):
            raise TypeError(type(v).__name__)
        return check_all(v).tolist()

    return check


def _baselines(v) -> list[str]:
    if not isinstance(v, list):
        raise TypeError(f"baselines must be a list of names ({', '.join(BASELINES)}), got {v!r}")
    return [choice("baseline", BASELINES)(x) for x in v]


RUN_FIELDS: dict[str, Field] = {
    "lrs": Field(
        "a non-empty list of numbers > 0, or {geomspace = [lo, hi, count]}", _lrs, own_message=True
    ),
    "seeds": Field("a non-empty list of ints in [0, 2**32)", _listed(checks.seeds)),
    "epochs": Field(
        "an int >= 1 (passes over the data)", lambda v: checks.integer(v, "epochs", lo=1)
    ),
    "tol": Field("a number in (0, 1) (relative suboptimality)", checks.tol),
    "optimizer": Field(
        "an optimizer name, a table { name = ..., keyword = value } or a list of them",
        _optimizers,
        own_message=True,
    ),
    "hyperparams": Field(
        "a table { keyword = [numbers] } (swept per lane)", _hyperparams, own_message=True
    ),
    "shuffle": Field("true or false", lambda v: checks.boolean(v, "shuffle")),
    "init": Field(
        "a number (it fills every parameter)", lambda v: checks.real(v, "init", lo=-math.inf)
    ),
    "eval_every": Field("an int >= 1 (steps)", lambda v: checks.integer(v, "eval_every", lo=1)),
    "divergence_factor": Field(
        "a number > 0", lambda v: checks.real(v, "divergence_factor", lo=0.0, strict=True)
    ),
    "early_stop": Field("true or false", lambda v: checks.boolean(v, "early_stop")),
    "repeats": Field("an int >= 1", lambda v: checks.integer(v, "repeats", lo=1)),
    "baselines": Field(
        f"a list of baseline names ({', '.join(BASELINES)})",
        _baselines,
        own_message=True,
    ),
    "baseline_lanes": Field("an int >= 1", lambda v: checks.integer(v, "baseline_lanes", lo=1)),
    "targets": Field("a non-empty list of distinct numbers in (0, 1)", _listed(checks.targets)),
    "schedule": Field(f"one of {', '.join(checks.SCHEDULES)}", checks.schedule, own_message=True),
    "measure": Field(
        f"one of {', '.join(checks.MEASURES)} (what tol and targets measure)", checks.measure
    ),
    # None (unset) and false alike: no trajectories (a resumed run's fingerprint unchanged)
    "trajectories": Field("true or false", lambda v: checks.boolean(v, "trajectories") or None),
}


def _batch_size(v):
    if v == "all":
        return None
    return checks.integer(v, "batch_size", lo=1)


VARIANT_FIELDS: dict[str, Field] = {
    "name": Field(LABEL_DOC, label),
    "batch_size": Field('"all" or an int >= 1', _batch_size, default=None),
}
SUITE_FIELDS: dict[str, Field] = {
    "name": Field(LABEL_DOC, label, default=None),
    "description": Field("a string", string, default=""),
    "defaults": Field("a table", lambda v: v, default={}),
    "problems": Field("an array of tables", lambda v: v),
    "variants": Field("an array of tables", lambda v: v, default=[]),
}


def int_field(arg, lo, hi=None):
    return lambda v: checks.integer(v, arg, lo=lo, hi=hi)


BOOL = Field("true or false", lambda v: checks.boolean(v, "flag"), default=True)
