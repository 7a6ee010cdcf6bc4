"""Declarative benchmark suites: TOML files of problems x variants x settings.

A suite file (see ``bench/README.md`` for the full schema)::

    name = "smoke"
    [defaults]                 # run settings for every entry
    seeds = [0, 1]
    tol = 1e-3
    [[problems]]
    name = "linear-512x8"
    source = "linear"          # linear | logistic | softmax | dataset | csv | textbook | quadratic
    n = 512
    d = 8
    [[variants]]
    name = "minibatch-32"
    batch_size = 32            # "all" (batch GD), 1 (stochastic) or b (mini-batch)
    epochs = 5
    lrs = { geomspace = [1e-3, 1.0, 8] }

Run settings may sit in ``[defaults]``, in a variant or in a problem; a problem's own settings win
(defaults < variant < problem), so a textbook setup can pin its learning rates. Every (problem,
variant, optimizer) is one *entry*: one compiled kernel over every (learning rate, seed) lane.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import numpy as np

import gdjax
from gdjax.problems import Problem

SUITES_DIR = Path(__file__).parent / "suites"

RUN_KEYS = {
    "lrs": "learning rates: a list, or {geomspace = [lo, hi, count]}",
    "seeds": "list of sampling seeds",
    "epochs": "passes over the data",
    "tol": "relative suboptimality that counts as converged",
    "optimizer": "sgd | momentum | nesterov | adam, or a list of them",
    "shuffle": "new permutation every epoch (false: row order)",
    "init": "initial parameters: a number that fills them all",
    "eval_every": "steps between full-loss evaluations",
    "divergence_factor": "relative suboptimality that counts as diverged",
    "early_stop": "stop a lane at convergence and the kernel when all are done",
    "repeats": "timed repeats of each kernel (median, min, max)",
    "baselines": "speed baselines beside gdjax: numpy, torch, jax-loop, single",
    "baseline_lanes": "lanes each baseline times (its per-lane time scales to all lanes)",
}
SOURCES: dict[str, dict[str, Any]] = {
    # source -> {argument: default (None = required)}
    "linear": {"n": None, "d": None, "noise": 0.1, "seed": 0, "intercept": True},
    "logistic": {"n": None, "d": None, "seed": 0, "intercept": True, "l2": 1e-2},
    "softmax": {"n": None, "d": None, "classes": 3, "seed": 0, "intercept": True, "l2": 1e-2},
    "dataset": {"dataset": None, "standardize": True},
    "csv": {"path": None, "target": None, "kind": "linear", "standardize": False},
    "textbook": {"setup": None, "seed": 0},
    "quadratic": {"a": None, "b": None, "c": None},
}
BASELINES = ("numpy", "torch", "jax-loop", "single")  # implemented in bench.baselines
PROBLEM_KEYS = {"name", "source", "variants", "dtype"}
VARIANT_KEYS = {"name", "batch_size"}
SUITE_KEYS = {"name", "description", "defaults", "problems", "variants"}
DEFAULT_SETTINGS = {
    "seeds": [0],
    "tol": 1e-3,
    "optimizer": "sgd",
    "shuffle": True,
    "init": None,
    "eval_every": None,
    "divergence_factor": 1e4,
    "early_stop": True,
    "repeats": 5,
    "baselines": [],
    "baseline_lanes": 4,
}


NAME_RE = re.compile(r"[A-Za-z0-9._-]+")  # names become file names


class SuiteError(ValueError):
    """A suite that cannot run: unknown name, field or value, malformed TOML."""


@dataclasses.dataclass(frozen=True)
class Entry:
    """One kernel of a suite: a problem, a variant and an optimizer over a lane grid."""

    suite: str
    problem: str
    variant: str
    batch_size: int | None  # None: every row (batch GD)
    optimizer: str
    settings: dict  # lrs (list), seeds, epochs, tol, shuffle, init, eval_every, ...
    problem_def: dict = dataclasses.field(default_factory=dict)  # the problem's suite table

    @property
    def key(self) -> str:
        """A stable id, also the file name of the entry's saved part."""
        return f"{self.problem}__{self.variant}__{self.optimizer}"

    @property
    def kind(self) -> str:
        """ "batch", "stochastic" or "mini-batch"."""
        if self.batch_size is None:
            return "batch"
        return "stochastic" if self.batch_size == 1 else "mini-batch"

    def kernel(self, problem: Problem, *, lrs=None, seeds=None, sharding=None):
        """The entry's ``gdjax.build`` kernel on ``problem`` (optionally other lanes).

        Args:
            problem: the entry's problem, built by the suite's builder.
            lrs: learning rates instead of the entry's (a baseline times single lanes).
            seeds: seeds instead of the entry's.
            sharding: a lane sharding (``gdjax.devices.lane_sharding``).

        Returns:
            A ``gdjax.train.Kernel``.
        """
        s = self.settings
        return gdjax.build(
            problem,
            lrs=s["lrs"] if lrs is None else lrs,
            seeds=s["seeds"] if seeds is None else seeds,
            batch_size=self.batch_size,
            epochs=s["epochs"],
            shuffle=s["shuffle"],
            init=s["init"],
            optimizer=self.optimizer,
            tol=s["tol"],
            eval_every=s["eval_every"],
            divergence_factor=s["divergence_factor"],
            early_stop=s["early_stop"],
            sharding=sharding,
        )

    def fingerprint(self) -> str:
        """Hash of the entry's problem table, variant and settings: a resumed run never keeps a
        part made from another definition."""
        blob = json.dumps(dataclasses.asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclasses.dataclass(frozen=True)
class Suite:
    """A parsed suite: its entries and how to build each problem."""

    name: str
    description: str
    entries: list[Entry]
    builders: dict[str, Callable[[], Problem]]
    path: Path


def available() -> list[str]:
    """Names of the suites shipped in bench/suites."""
    return sorted(p.stem for p in SUITES_DIR.glob("*.toml"))


def resolve(name_or_path: str) -> Path:
    """The file of a suite given by name (bench/suites/NAME.toml) or by path."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        if not p.is_file():
            raise SuiteError(f"suite file not found: {p}")
        return p
    cand = SUITES_DIR / f"{name_or_path}.toml"
    if not cand.is_file():
        raise SuiteError(f"unknown suite {name_or_path!r}; available: {', '.join(available())}")
    return cand


def load(name_or_path: str) -> Suite:
    """Parse and validate a suite.

    Args:
        name_or_path: a shipped suite name (``smoke``, ``default``, ...) or a TOML file path.

    Returns:
        A :class:`Suite`.

    Raises:
        SuiteError: with a one-line message naming the field at fault.
    """
    path = resolve(name_or_path)
    try:
        doc = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise SuiteError(f"{path}: malformed TOML: {e}") from None
    _unknown(doc, SUITE_KEYS, f"{path.name}")
    name = doc.get("name", path.stem)
    defaults = doc.get("defaults", {})
    _unknown(defaults, set(RUN_KEYS), f"{name}: [defaults]")
    variants = doc.get("variants", [])
    problems = doc.get("problems", [])
    if not problems:
        raise SuiteError(f"{name}: no [[problems]]")
    vnames = []
    if not isinstance(problems, list) or not isinstance(variants, list):
        raise SuiteError(f"{name}: [[problems]] and [[variants]] must be arrays of tables")
    for i, v in enumerate(variants):
        where = f"{name}: variants[{i}]"
        _unknown(v, VARIANT_KEYS | set(RUN_KEYS), where)
        vnames.append(_required(v, "name", where))
        if not isinstance(vnames[-1], str) or not NAME_RE.fullmatch(vnames[-1]):
            raise SuiteError(f"{where}: name must be letters, digits, '.', '_' or '-'")
        _batch_size(v.get("batch_size", "all"), where)
    if len(set(vnames)) != len(vnames):
        raise SuiteError(f"{name}: duplicate variant names")

    entries, builders = [], {}
    for i, p in enumerate(problems):
        where = f"{name}: problems[{i}]"
        pname = _required(p, "name", where)
        if not isinstance(pname, str) or not NAME_RE.fullmatch(pname):
            raise SuiteError(
                f"{where}: name must be letters, digits, '.', '_' or '-', got {pname!r}"
            )
        if pname in builders:
            raise SuiteError(f"{where}: duplicate problem name {pname!r}")
        source = _required(p, "source", where)
        if source not in SOURCES:
            raise SuiteError(f"{where}: unknown source {source!r}; choose one of {list(SOURCES)}")
        _unknown(p, PROBLEM_KEYS | set(RUN_KEYS) | set(SOURCES[source]), f"{where} ({source})")
        builders[pname] = _builder(source, p, pname, where, path.parent)
        chosen = p.get("variants", vnames)
        for v in chosen:
            if v not in vnames:
                raise SuiteError(f"{where}: unknown variant {v!r}; suite has {vnames}")
        for v in (variants[vnames.index(v)] for v in chosen):
            settings = {**DEFAULT_SETTINGS, **defaults}
            settings.update({k: v[k] for k in RUN_KEYS if k in v})
            settings.update({k: p[k] for k in RUN_KEYS if k in p})
            ewhere = f"{where} x variant {v['name']!r}"
            settings = _check_settings(settings, ewhere)
            opts = settings.pop("optimizer")
            for opt in opts:
                entries.append(
                    Entry(
                        suite=name,
                        problem=pname,
                        variant=v["name"],
                        batch_size=_batch_size(v.get("batch_size", "all"), ewhere),
                        optimizer=opt,
                        settings=settings,
                        problem_def=dict(p),
                    )
                )
    if not entries:
        raise SuiteError(f"{name}: no entries (no variants?)")
    return Suite(name, doc.get("description", ""), entries, builders, path)


def _unknown(table, known, where):
    if not isinstance(table, dict):
        raise SuiteError(f"{where}: expected a table, got {type(table).__name__}")
    extra = sorted(set(table) - set(known))
    if extra:
        raise SuiteError(f"{where}: unknown field {extra[0]!r} (known: {', '.join(sorted(known))})")


def _required(table, key, where):
    if key not in table:
        raise SuiteError(f"{where}: missing field {key!r}")
    return table[key]


def _batch_size(v, where):
    if v == "all":
        return None
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise SuiteError(f'{where}: batch_size must be "all" or an int >= 1, got {v!r}')
    return v


def _check_settings(s, where):
    s = dict(s)
    if "lrs" not in s or "epochs" not in s:
        raise SuiteError(f"{where}: needs lrs and epochs (in defaults, problem or variant)")
    lrs = s["lrs"]
    if isinstance(lrs, dict):
        _unknown(lrs, {"geomspace"}, f"{where}: lrs")
        g = lrs.get("geomspace")
        if not (
            isinstance(g, list)
            and len(g) == 3
            and all(_is_number(x) for x in g[:2])
            and _is_int(g[2])
            and g[2] >= 1
        ):
            raise SuiteError(f"{where}: lrs.geomspace must be [lo, hi, count]")
        if not (g[0] > 0 and g[1] > 0):
            raise SuiteError(f"{where}: lrs.geomspace bounds must be > 0")
        lrs = [float(x) for x in np.geomspace(g[0], g[1], g[2])]
    if not isinstance(lrs, list) or not lrs:
        raise SuiteError(f"{where}: lrs must be a non-empty list or {{geomspace = [...]}}")
    for x in lrs:
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not x > 0:
            raise SuiteError(f"{where}: every learning rate must be a number > 0, got {x!r}")
    s["lrs"] = [float(x) for x in lrs]
    opts = s["optimizer"]
    opts = [opts] if isinstance(opts, str) else opts
    if not isinstance(opts, list):
        raise SuiteError(f"{where}: optimizer must be a name or a list of names")
    for o in opts:
        if o not in gdjax.optimizers.OPTIMIZERS:
            raise SuiteError(
                f"{where}: unknown optimizer {o!r}; "
                f"choose from {sorted(gdjax.optimizers.OPTIMIZERS)}"
            )
    s["optimizer"] = list(opts)
    if not isinstance(s["baselines"], list):
        raise SuiteError(f"{where}: baselines must be a list")
    if s["baselines"] and s["early_stop"]:
        # a baseline runs every step; gdjax must too, or the final losses cannot be compared
        raise SuiteError(f"{where}: baselines need early_stop = false")
    for b in s["baselines"]:
        if b not in BASELINES:
            raise SuiteError(f"{where}: unknown baseline {b!r}; choose from {', '.join(BASELINES)}")
    for key in ("epochs", "repeats", "baseline_lanes"):
        if not _is_int(s[key]) or s[key] < 1:
            raise SuiteError(f"{where}: {key} must be an int >= 1, got {s[key]!r}")
    if s["eval_every"] is not None and (not _is_int(s["eval_every"]) or s["eval_every"] < 1):
        raise SuiteError(f"{where}: eval_every must be an int >= 1, got {s['eval_every']!r}")
    seeds = s["seeds"]
    if not isinstance(seeds, list) or not seeds or not all(_is_int(x) and x >= 0 for x in seeds):
        raise SuiteError(f"{where}: seeds must be a non-empty list of ints >= 0, got {seeds!r}")
    for key in ("shuffle", "early_stop"):
        if not isinstance(s[key], bool):
            raise SuiteError(f"{where}: {key} must be true or false, got {s[key]!r}")
    for key, strict in (("tol", False), ("divergence_factor", True)):
        v = s[key]
        if not _is_number(v) or not math.isfinite(v) or v < 0 or (strict and v == 0):
            raise SuiteError(f"{where}: {key} must be a number {'>' if strict else '>='} 0")
    if s["init"] is not None and not (_is_number(s["init"]) and math.isfinite(s["init"])):
        raise SuiteError(f"{where}: init must be a number, got {s['init']!r}")
    return s


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


ARG_TYPES = {  # what each source field must be: checked when the suite loads, not mid-run
    "n": "int",
    "d": "int",
    "classes": "int",
    "seed": "int",
    "noise": "number",
    "l2": "number",
    "a": "number",
    "b": "number",
    "c": "number",
    "intercept": "bool",
    "standardize": "bool",
    "dataset": "str",
    "path": "str",
    "setup": "str",
    "kind": "str",
    "target": "str or int",
}


def _builder(source, p, pname, where, base):
    args = {}
    for k, default in SOURCES[source].items():
        if default is None and k not in p:
            raise SuiteError(f"{where}: source {source!r} needs field {k!r}")
        args[k] = v = p.get(k, default)
        kind = ARG_TYPES[k]
        ok = {
            "int": _is_int(v),
            "number": _is_number(v),
            "bool": isinstance(v, bool),
            "str": isinstance(v, str),
            "str or int": isinstance(v, str) or _is_int(v),
        }[kind]
        if not ok:
            raise SuiteError(
                f"{where}: {k} must be {'an' if kind == 'int' else 'a'} {kind}, got {v!r}"
            )
    dtype = p.get("dtype")
    if dtype not in (None, "float32", "float64"):
        raise SuiteError(f'{where}: dtype must be "float32" or "float64", got {dtype!r}')
    if dtype == "float64" and not jax.config.jax_enable_x64:
        raise SuiteError(f'{where}: dtype "float64" needs 64-bit mode: bench run --x64')

    def build() -> Problem:
        if source == "linear":
            prob = gdjax.problems.make_linear(
                args["n"],
                args["d"],
                noise=args["noise"],
                seed=args["seed"],
                intercept=args["intercept"],
                dtype=dtype,
            )
        elif source == "logistic":
            prob = gdjax.problems.make_logistic(
                args["n"],
                args["d"],
                seed=args["seed"],
                intercept=args["intercept"],
                l2=args["l2"],
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
                dtype=dtype,
            )
        elif source == "dataset":
            prob = gdjax.datasets.load(
                args["dataset"], standardize=args["standardize"], dtype=dtype
            )
        elif source == "csv":
            path = Path(args["path"])
            prob = gdjax.datasets.load_csv(
                path if path.is_absolute() else base / path,
                target=args["target"],
                kind=args["kind"],
                standardize=args["standardize"],
                dtype=dtype,
            )
        elif source == "textbook":
            prob = gdjax.problems.textbook(args["setup"], seed=args["seed"], dtype=dtype)
        else:
            prob = gdjax.problems.quadratic(args["a"], args["b"], args["c"], dtype=dtype)
        return dataclasses.replace(prob, name=pname)

    return build
