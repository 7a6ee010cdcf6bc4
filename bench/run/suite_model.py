"""What a loaded suite is: its entries (one compiled kernel each), their settings and
fingerprints, and the validation that builds every problem's data once.

:mod:`bench.run.suites` reads a suite file into these (and re-exports them).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import gdjax
from bench.errors import UserError
from bench.run.suite_schema import KEY_SEPARATOR
from gdjax.problems import Problem

#: Settings an entry gets where the suite says nothing. ``targets``, ``schedule``,
#: ``hyperparams`` and ``measure`` at None mean the library's defaults (``gdjax.build``'s), and
#: are then not passed to it.
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
    "targets": None,
    "schedule": None,
    "hyperparams": None,
    "measure": None,
    "trajectories": None,
    # the kernel's own choices, set from the command line (``bench run --precision``, ...)
    "precision": None,
    "chunk": None,
    "unroll": None,
}
#: What the command line may set for every entry (:meth:`Suite.with_choices`); None: the
#: library's default (``gdjax.build``'s: "highest", and its per-backend chunk and unroll).
KERNEL_CHOICES = ("precision", "chunk", "unroll")


class SuiteError(UserError):
    """A suite that cannot run: unknown name, field or value, malformed TOML, bad data.

    Attributes:
        path: the suite file at fault (None when no file was found).
    """

    def __init__(self, message: str, path: Path | None = None):
        super().__init__(message)
        self.path = path


# --------------------------------------------------------------------------------------------
# Entries and suites
# --------------------------------------------------------------------------------------------

# settings added after runs were published: left out of the fingerprint while unset, so a
# resumed run of an unchanged suite keeps its finished entries. ``optimizer_table``: the
# optimizer's table (name and fixed keywords) where the suite gave one.
_NEW_SETTINGS = (
    "targets",
    "schedule",
    "hyperparams",
    "optimizer_table",
    "measure",
    "trajectories",
    *KERNEL_CHOICES,
)


@dataclasses.dataclass(frozen=True)
class Entry:
    """One kernel of a suite: a problem, a variant and an optimizer over a lane grid.

    ``optimizer`` is the optimizer's label (``suite_schema.optimizer_label``): its name, or for
    a table of fixed keywords its ``label`` (or name and keywords); the table itself is
    ``settings["optimizer_table"]``. ``settings["hyperparams"]`` is its swept grid, if any.
    """

    suite: str
    problem: str
    variant: str
    batch_size: int | None  # None: every row (batch GD)
    optimizer: str
    settings: dict  # lrs (list), seeds, epochs, tol, shuffle, init, eval_every, ...
    problem_def: dict = dataclasses.field(default_factory=dict)  # the problem's suite table

    @property
    def key(self) -> str:
        """A stable id, also the file name of the entry's saved part; unique in a suite, since
        no name holds the separator ``__`` (``suite_schema.label``)."""
        return KEY_SEPARATOR.join((self.problem, self.variant, self.optimizer))

    @property
    def descent(self) -> str:
        """Which gradient descent: "batch", "stochastic" or "mini-batch" (the lanes' ``kind``
        column: ``variant`` is the suite's own name for the entry)."""
        if self.batch_size is None:
            return "batch"
        return "stochastic" if self.batch_size == 1 else "mini-batch"

    def kernel(self, problem: Problem, *, lrs=None, seeds=None, sharding=None, exact=None):
        """The entry's ``gdjax.build`` kernel on ``problem`` (optionally other lanes).

        Args:
            problem: the entry's problem, built by the suite's builder.
            lrs: learning rates instead of the entry's (a baseline times single lanes).
            seeds: seeds instead of the entry's.
            sharding: a lane sharding (``gdjax.devices.lane_sharding``).
            exact: override the per-step monitoring (the perf suite times its cost).

        Returns:
            A ``gdjax.train.Kernel``.
        """
        args = self.sweep_args(lrs=lrs, seeds=seeds, exact=exact)
        return gdjax.build(problem, **args, sharding=sharding)

    def sweep_args(self, *, lrs=None, seeds=None, exact=None) -> dict:
        """The keyword arguments of ``gdjax.build`` and ``gdjax.check`` for this
        entry: one source for what is built and what is validated.

        Args:
            lrs: learning rates instead of the entry's.
            seeds: seeds instead of the entry's.
            exact: per-step monitoring instead of the library's default.

        Returns:
            A dict of keyword arguments (everything but the problem and the sharding).

        Example:
            >>> from bench.run.suites import load
            >>> load("smoke").entries[0].sweep_args(lrs=[0.1])["lrs"]
            [0.1]
        """
        s = self.settings
        # targets, schedule and hyperparams only when the suite sets them: None is the
        # library's default
        given = ("targets", "schedule", "hyperparams", "measure", *KERNEL_CHOICES)
        extra = {k: s[k] for k in given if s.get(k) is not None}
        return dict(
            lrs=s["lrs"] if lrs is None else lrs,
            seeds=s["seeds"] if seeds is None else seeds,
            batch_size=self.batch_size,
            epochs=s["epochs"],
            shuffle=s["shuffle"],
            init=s["init"],
            optimizer=self.gdjax_optimizer,
            tol=s["tol"],
            eval_every=s["eval_every"],
            divergence_factor=s["divergence_factor"],
            early_stop=s["early_stop"],
            exact=exact,
            **extra,
        )

    @property
    def gdjax_optimizer(self) -> str | dict:
        """What ``gdjax`` takes as ``optimizer=``: the name, or ``{"name": ..., keyword:
        value}`` (the suite's table without its ``label``)."""
        table = self.settings.get("optimizer_table")
        if table is None:
            return self.optimizer
        return {k: v for k, v in table.items() if k != "label"}

    @property
    def plain_sgd(self) -> bool:
        """Whether the entry runs the built-in ``sgd`` itself (``w - lr * g``): what the theory
        predicts and the NumPy baselines replay. Decided on what gdjax runs, not on the label
        (a table may be labelled anything).

        Example:
            >>> from bench.run.suites import load
            >>> load("smoke").entries[0].plain_sgd
            True
        """
        return self.gdjax_optimizer in ("sgd", {"name": "sgd"}) and not self.settings.get(
            "hyperparams"
        )

    def fingerprint(self) -> str:
        """Hash of the entry's problem table, variant and settings: a resumed run never keeps a
        part made from another definition."""
        d = dataclasses.asdict(self)
        for k in _NEW_SETTINGS:
            if d["settings"].get(k) is None:
                d["settings"].pop(k, None)
        blob = json.dumps(d, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclasses.dataclass(frozen=True)
class Suite:
    """A parsed suite: its entries and how to build each problem.

    Attributes:
        name: the suite's label.
        description: one line for the report.
        entries: every (problem, variant, optimizer).
        builders: problem name -> a function that builds it (data made on each call).
        path: the suite file.
        where: problem name -> its location in the file, ``problems[2] (name)``, for errors.
    """

    name: str
    description: str
    entries: list[Entry]
    builders: dict[str, Callable[[], Problem]]
    path: Path
    where: dict[str, str] = dataclasses.field(default_factory=dict)

    def with_choices(self, **choices) -> Suite:
        """This suite with the kernel choices (:data:`KERNEL_CHOICES`) given set on every entry;
        None leaves an entry's as it is. A choice is part of an entry's fingerprint: a run made
        with other choices is never resumed with these.

        Example:
            >>> from bench.run.suites import load
            >>> load("smoke").with_choices(precision="default").entries[0].settings["precision"]
            'default'
        """
        unknown = set(choices) - set(KERNEL_CHOICES)
        if unknown:
            raise TypeError(f"unknown kernel choices {sorted(unknown)}")
        given = {k: v for k, v in choices.items() if v is not None}
        if not given:
            return self
        entries = [dataclasses.replace(e, settings={**e.settings, **given}) for e in self.entries]
        return dataclasses.replace(self, entries=entries)

    def validate(self, unsupported: Callable[[Problem, str], str | None] | None = None) -> None:
        """Build every problem once and check each entry against its data, before any runs.

        Checks what :func:`load` cannot without the data: CSV paths and cells, dataset names
        (scikit-learn installed), the data itself (labels, values in the dtype), batch size
        against n, the total step count against int32, learning rates and ``init`` in the
        problem's dtype (no overflow, no underflow to 0), the memory of every array the sweep
        needs, and, from each problem's float64 optimum, the start and optimum in the dtype's
        range and every target and ``tol`` resolvable: all that ``gdjax.build`` checks, by its
        own ``gdjax.check(..., solve=True)``. Each problem is built once here and dropped (its
        optimum is solved again when it runs); nothing is compiled or run.

        Args:
            unsupported: ``unsupported(problem, baseline) -> str | None``, why a baseline the
                entry asks for cannot run on its problem (the CLI passes
                ``bench.perf.loops.unsupported``: this stage does not import the perf one);
                None: baselines are not checked here, and a run notes those that cannot run.

        Raises:
            SuiteError: ``FILE: problems[i] (NAME) [x variant 'V']: what is wrong``.

        Example:
            >>> from bench.run.suites import load
            >>> load("textbook").validate()
        """
        entries: dict[str, list[Entry]] = {}
        for e in self.entries:
            entries.setdefault(e.problem, []).append(e)
        for pname, build in self.builders.items():
            where = f"{self.path.name}: {self.where.get(pname, pname)}"
            try:
                problem = build()
            except (ValueError, TypeError, OSError, ImportError) as e:
                raise SuiteError(f"{where}: {one_line(e)}", self.path) from None
            for e in entries.get(pname, []):
                for name in e.settings["baselines"] if unsupported else ():
                    if (why := unsupported(problem, name)) is not None:
                        msg = f"{where} x variant {e.variant!r}: baseline {why}: remove it"
                        raise SuiteError(msg, self.path)
                try:
                    gdjax.check(problem, **e.sweep_args(), solve=True)
                except (ValueError, TypeError) as err:
                    msg = f"{where} x variant {e.variant!r}: {one_line(err)}"
                    raise SuiteError(msg, self.path) from None


def one_line(e: Exception) -> str:
    """An error's message on one line (a suite error is printed as one)."""
    return " ".join(str(e).split())
