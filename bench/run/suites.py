"""Declarative benchmark suites: TOML files of problems x variants x settings.

A suite file (see ``bench/README.md`` for the full schema)::

    name = "smoke"
    [defaults]                 # run settings for every entry
    seeds = [0, 1]
    tol = 1e-3
    [[problems]]
    name = "linear-512x8"
    source = "linear"  # linear|logistic|softmax|dataset|csv|textbook|quadratic|python
    n = 512
    d = 8
    [[variants]]
    name = "minibatch-32"
    batch_size = 32            # "all" (batch GD), 1 (stochastic) or b (mini-batch)
    epochs = 5
    lrs = { geomspace = [1e-3, 1.0, 8] }

Run settings may sit in ``[defaults]``, in a variant or in a problem; a problem's own settings win
(defaults < variant < problem), so a textbook setup can pin its learning rates. Every (problem,
variant, optimizer) is one *entry*: one compiled kernel over every (learning rate, seed) lane,
and every combination of ``hyperparams = { keyword = [values] }`` where the optimizer's keywords
are swept (``optimizer = "rmsprop"`` or ``optimizer = { name = "rmsprop", decay = 0.9 }``).

The file is described once, as a schema (:mod:`bench.run.suite_schema`: ``SUITE_FIELDS``,
``RUN_FIELDS``, ``VARIANT_FIELDS``; :mod:`bench.run.sources`: ``PROBLEM_FIELDS``, ``SOURCES``)
mapping every field to a ``Field`` (what it must be, in words, and the ``gdjax.checks`` call
that decides it). The rules themselves live in ``gdjax.checks``, shared with the library API.
Every error is a :class:`SuiteError` naming the file, the table and the field::

    default.toml: problems[2] (logistic-4096x32): l2 must be a number >= 0, got -1

Two steps, so that ``bench list`` stays fast and a run never stops halfway on a bad entry:

- :func:`load` checks the document: fields, types, ranges, names (no data is built);
- :meth:`Suite.validate` builds every problem's data once and checks what needs it: CSV paths
  and cells, dataset names, batch size against n, the step count against int32, learning rates
  and ``init`` in the problem's dtype, and every array's memory: what ``gdjax.build`` would
  refuse, by the same function (``gdjax.check``). The runner calls it before the
  first entry runs.

Example:
    >>> s = load("smoke")
    >>> s.validate()
    >>> s.entries[0].key
    'linear-512x8__batch__sgd'
"""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

import jax

from bench.errors import UserError
from bench.run.sources import PROBLEM_FIELDS, SOURCES, problem_builder
from bench.run.suite_model import (
    DEFAULT_SETTINGS,
    Entry,
    Suite,
    SuiteError,
    one_line,
)
from bench.run.suite_schema import (  # noqa: F401 (BASELINES, label: public names of this module)
    BASELINES,
    KEY_SEPARATOR,
    REQUIRED,
    RUN_FIELDS,
    SUITE_FIELDS,
    VARIANT_FIELDS,
    Field,
    label,
    optimizer_label,
)
from gdjax._kernel import hyperparams as grids
from gdjax._kernel import optimizers as gdjax_optimizers

SUITES_DIR = Path(__file__).parent.parent / "suites"


def select(suite: Suite, only: str | None) -> list[Entry]:
    """The entries of ``suite`` that ``--only PATTERN`` names, in suite order.

    A pattern names whole fields, never parts of one: it is one field or several consecutive
    ones joined by ``__`` (problem, variant, optimizer, as in ``Entry.key``), each matched whole,
    with ``*`` and ``?`` as wildcards. So ``sgd`` is every entry whose problem, variant or
    optimizer is ``sgd`` (not every key that ends in ``__sgd``), ``linear-*`` every problem whose
    name starts so, ``batch__sgd`` the variant ``batch`` with the optimizer ``sgd``, and
    ``p__batch__sgd`` one entry.

    Args:
        suite: from :func:`load`.
        only: the pattern; None selects every entry.

    Returns:
        The matching entries.

    Raises:
        UserError: a pattern that matches no entry (the message says how patterns match).

    Example:
        >>> [e.key for e in select(load("smoke"), "parabola")]
        ['parabola__batch__sgd']
    """
    if only is None:
        return list(suite.entries)
    chosen = [e for e in suite.entries if matches(e, only)]
    if not chosen:
        raise UserError(
            f"no entry of suite {suite.name!r} matches --only {only!r} (it names whole fields: "
            "a problem, variant or optimizer, or consecutive ones joined by '__'; "
            "* and ? are wildcards, e.g. 'linear-*')"
        )
    return chosen


def matches(entry: Entry, only: str) -> bool:
    """Whether the ``--only`` pattern ``only`` names ``entry`` (see :func:`select`).

    Example:
        >>> e = load("smoke").entries[0]
        >>> matches(e, "sgd"), matches(e, "gd"), matches(e, "linear-*__batch")
        (True, False, True)
    """
    parts = only.split(KEY_SEPARATOR)
    fields = (entry.problem, entry.variant, entry.optimizer)
    return any(
        all(fnmatch.fnmatchcase(f, p) for f, p in zip(fields[i:], parts, strict=False))
        for i in range(len(fields) - len(parts) + 1)
    )


def available() -> list[str]:
    """Names of the suites shipped in bench/suites."""
    return sorted(p.stem for p in SUITES_DIR.glob("*.toml"))


def resolve(name_or_path: str) -> Path:
    """The file of a suite given by name (bench/suites/NAME.toml) or by path.

    Raises:
        SuiteError: no such file, or no shipped suite of that name.
    """
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        if not p.is_file():
            raise SuiteError(f"suite file not found: {p}", p)
        return p
    cand = SUITES_DIR / f"{name_or_path}.toml"
    if not cand.is_file():
        raise SuiteError(f"unknown suite {name_or_path!r}; available: {', '.join(available())}")
    return cand


def load(name_or_path: str) -> Suite:
    """Parse a suite and check the document against the schema (no data is built).

    Call :meth:`Suite.validate` as well before running it: that builds the data.

    Args:
        name_or_path: a shipped suite name (``smoke``, ``default``, ...) or a TOML file path.

    Returns:
        A :class:`Suite`.

    Raises:
        SuiteError: with a one-line message naming the file, the table and the field.

    Example:
        >>> [e.descent for e in load("smoke").entries][:3]
        ['batch', 'stochastic', 'mini-batch']
    """
    path = resolve(name_or_path)
    return _Loader(path).suite()


class _Loader:
    """One suite file checked against the schema; every error names file, table and field."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, where: str, message: str):
        raise SuiteError(f"{self.path.name}: {where}{': ' if where else ''}{message}", self.path)

    def table(self, doc, fields: dict[str, Field], where: str, *, extra=(), partial=False):
        """The fields of one TOML table, each checked; unknown and missing fields refused.

        ``partial``: only the fields present (run settings, merged later); ``extra``: fields
        allowed here but checked by another call.
        """
        if not isinstance(doc, dict):
            self.fail(where, f"expected a table, got {type(doc).__name__} {doc!r}")
        known = set(fields) | set(extra)
        unknown = sorted(set(doc) - known)
        if unknown:
            self.fail(where, f"unknown field {unknown[0]!r} (known: {', '.join(sorted(known))})")
        out = {}
        for key, f in fields.items():
            if key not in doc:
                if partial:
                    continue
                if f.default is REQUIRED:
                    self.fail(where, f"missing field {key!r}")
                out[key] = f.default
                continue
            out[key] = self.value(doc[key], key, f, where)
        return out

    def value(self, v, key: str, f: Field, where: str):
        try:
            return f.check(v)
        except (TypeError, ValueError) as e:
            if f.own_message:
                self.fail(where, one_line(e))
            self.fail(where, f"{key} must be {f.doc}, got {v!r}")

    def suite(self) -> Suite:
        try:
            # utf-8-sig: editors on Windows save UTF-8 with a byte-order mark, which TOML's
            # parser would take for a stray character on line 1
            doc = tomllib.loads(self.path.read_text(encoding="utf-8-sig"))
        except tomllib.TOMLDecodeError as e:
            self.fail("", f"malformed TOML: {e}")
        except UnicodeDecodeError as e:
            self.fail("", f"not UTF-8 text (TOML files are UTF-8): {e.reason} at byte {e.start}")
        for key in ("problems", "variants"):
            if key in doc and not (
                isinstance(doc[key], list) and all(isinstance(t, dict) for t in doc[key])
            ):
                self.fail(
                    "",
                    f"[[problems]] and [[variants]] must be arrays of tables, "
                    f"got {key} = {doc[key]!r}",
                )
        top = self.table(doc, SUITE_FIELDS, "")
        name = (
            top["name"]
            if top["name"] is not None
            else self.value(
                self.path.stem, "name", SUITE_FIELDS["name"], "the file name (set name = ...)"
            )
        )
        defaults = self.table(top["defaults"], RUN_FIELDS, "[defaults]", partial=True)
        variants = self.variants(top["variants"])
        if not top["problems"]:
            self.fail("", "no [[problems]]")
        entries, builders, where = [], {}, {}
        for i, p in enumerate(top["problems"]):
            pwhere = f"problems[{i}]{_named(p)}"
            args, run, pdef = self.problem(p, pwhere)
            pname = pdef["name"]
            # names differing only in case would share a file on a case-insensitive disk
            same = [q for q in builders if q.casefold() == pname.casefold()]
            if same:
                self.fail(pwhere, f"duplicate problem name {pname!r} (as {same[0]!r})")
            where[pname] = pwhere
            builders[pname] = problem_builder(
                pdef["source"], args, pname, pdef["dtype"], self.path.parent
            )
            chosen = pdef["variants"] if pdef["variants"] is not None else list(variants)
            for v in chosen:
                if v not in variants:
                    self.fail(pwhere, f"unknown variant {v!r}; suite has {list(variants)}")
            for vname in chosen:
                vfields, vrun = variants[vname]
                settings = {**DEFAULT_SETTINGS, **defaults, **vrun, **run}
                ewhere = f"{pwhere} x variant {vname!r}"
                self.cross_check(settings, ewhere)
                opts = settings["optimizer"]
                for opt in [opts] if isinstance(opts, str) else opts:
                    own = {k: v for k, v in settings.items() if k != "optimizer"}
                    if isinstance(opt, dict):
                        own["optimizer_table"] = opt
                    self.check_hyperparams(opt, own["hyperparams"], ewhere)
                    entries.append(
                        Entry(
                            suite=name,
                            problem=pname,
                            variant=vname,
                            batch_size=vfields["batch_size"],
                            optimizer=optimizer_label(opt),
                            settings=own,
                            problem_def=dict(p),
                        )
                    )
        if not entries:
            self.fail("", "no entries (no [[variants]]?)")
        return Suite(name, top["description"], entries, builders, self.path, where)

    def variants(self, tables) -> dict[str, tuple[dict, dict]]:
        out = {}
        for j, v in enumerate(tables):
            vwhere = f"variants[{j}]{_named(v)}"
            fields = self.table(v, VARIANT_FIELDS, vwhere, extra=RUN_FIELDS)
            run = self.table(
                {k: v[k] for k in RUN_FIELDS if k in v}, RUN_FIELDS, vwhere, partial=True
            )
            same = [q for q in out if q.casefold() == fields["name"].casefold()]
            if same:
                self.fail(vwhere, f"duplicate variant name {fields['name']!r} (as {same[0]!r})")
            out[fields["name"]] = (fields, run)
        return out

    def problem(self, p, where) -> tuple[dict, dict, dict]:
        """``(source arguments, run settings, problem fields)`` of one [[problems]] table."""
        if not isinstance(p, dict):
            self.fail(where, f"expected a table, got {p!r}")
        base = {k: p[k] for k in ("name", "source") if k in p}
        self.table(base, {k: PROBLEM_FIELDS[k] for k in ("name", "source")}, where, extra=())
        source = p["source"]
        own = SOURCES[source]
        swhere = f"{where} (source {source!r})" if "(" not in where else where
        for key, f in own.items():
            if f.default is REQUIRED and key not in p:
                self.fail(swhere, f"source {source!r} needs field {key!r}")
        allowed = set(PROBLEM_FIELDS) | set(RUN_FIELDS) | set(own)
        unknown = sorted(set(p) - allowed)
        # a python problem's other fields are its factory's keyword arguments
        kwargs = {k: p[k] for k in unknown} if source == "python" else {}
        if source == "python" and p.get("dtype") is not None:
            self.fail(swhere, "dtype is the factory's own for source 'python' (run with --x64)")
        if unknown and source != "python":
            self.fail(
                swhere,
                f"unknown field {unknown[0]!r} for source {source!r} "
                f"(known: {', '.join(sorted(allowed))})",
            )
        pdef = self.table({k: p[k] for k in PROBLEM_FIELDS if k in p}, PROBLEM_FIELDS, where)
        if pdef["dtype"] == "float64" and not jax.config.jax_enable_x64:
            self.fail(where, 'dtype "float64" needs 64-bit mode: bench run --x64')
        args = self.table({k: p[k] for k in own if k in p}, own, where)
        if source == "python":
            args["kwargs"] = kwargs
        run = self.table(p, RUN_FIELDS, where, extra=allowed | set(kwargs), partial=True)
        return args, run, pdef

    def check_hyperparams(self, optimizer, grid, where: str) -> None:
        """The swept keywords against the entry's optimizer (the values, traced on the data,
        are probed by :meth:`Suite.validate`)."""
        if grid is None:
            return
        spec = optimizer if isinstance(optimizer, str) else dict(optimizer)
        if isinstance(spec, dict):
            spec.pop("label", None)
        try:
            grids.check(grid, gdjax_optimizers.check(spec))
        except (TypeError, ValueError) as e:
            self.fail(where, one_line(e))

    def cross_check(self, s: dict, where: str) -> None:
        """Rules between settings, once defaults, variant and problem are merged."""
        missing = [k for k in ("lrs", "epochs") if k not in s]
        if missing:
            self.fail(
                where, f"needs {' and '.join(missing)} (in [defaults], the problem or the variant)"
            )
        if s["baselines"] and s["early_stop"]:
            # a baseline runs every step; gdjax must too, or the final losses cannot be compared
            self.fail(where, "baselines need early_stop = false")
        if s["baselines"] and s.get("measure") == "grad_norm":
            # the baselines replay losses, not gradient norms: nothing to compare them with
            self.fail(where, 'baselines need measure = "loss" (they compare final losses)')


def _named(table) -> str:
    """`` (NAME)`` after a table's index in messages, when it has a valid name."""
    name = table.get("name") if isinstance(table, dict) else None
    try:
        return f" ({label(name)})"
    except (TypeError, ValueError):
        return ""
