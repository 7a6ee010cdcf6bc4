"""A user's own loss behind the loss protocol: the spec :func:`gdjax.problems.custom` makes.

A :class:`CustomLoss` holds the user's ``loss(params, batch)``, the dtype it runs in and how
to draw its initial parameters; it compares equal to another holding the same loss function
and dtype, so that problems of the same shapes share one compile (what it holds besides, the
start and f*, does not change the program and is left out of the comparison).

Its capabilities depend on what the user says about f* (``f_star``):

- a number: :class:`GivenOptimum`, whose ``optimum()`` is ``(None, f*)``: no parameters, so
  no curvature;
- ``"reference"``: :class:`ReferenceOptimum`, f* solved in float64 by L-BFGS from the start
  (:func:`gdjax.problems.losses.reference.lbfgs`), the solve's gradient norm, iterations and
  time recorded; with at most :data:`CURVATURE_MAX_PARAMS` parameters also the curvature,
  ``(L, mu)`` at the solve's parameters by Lanczos (:class:`ReferenceCurvature`);
- ``"best"``: :class:`CustomLoss` alone, no optimum: the run finds its own f*, the lowest
  full-data loss any of its lanes reaches (:func:`gdjax.build` says how), labelled "best found".

Every custom loss offers ``flops``: XLA's measured cost of a full-data check and of a step,
from which :func:`gdjax._kernel.cost.exact_affordable` decides its monitoring.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from typing import ClassVar

import jax
import numpy as np

from gdjax.config import x64
from gdjax.problems.losses import reference
from gdjax.problems.losses.base import FullPassMonitor

__all__ = [
    "CURVATURE_MAX_PARAMS",
    "CustomLoss",
    "GivenOptimum",
    "ReferenceCurvature",
    "ReferenceOptimum",
    "measured_flops",
]

#: Most parameters for which a custom loss with a reference f* offers its curvature: Lanczos
#: keeps ``LANCZOS_STEPS`` float64 vectors of this length, and each step is a Hessian-vector
#: product over the full data (about four passes).
CURVATURE_MAX_PARAMS = 100_000


@dataclasses.dataclass(frozen=True)
class CustomLoss(FullPassMonitor):
    """A user's loss: ``fn(params, batch) -> scalar``, the mean over the rows of ``batch``.

    Attributes:
        fn: the user's loss.
        dtype: the floating dtype of the parameters and the data's floating leaves.
        start: ``key -> params``: the initial parameters (a pytree the user gave, returned for
            every key, or the user's function of a key).
        per_seed: whether ``start`` is the user's function: each seed draws its own.
    """

    fn: Callable
    dtype: np.dtype
    start: Callable = dataclasses.field(compare=False, repr=False)
    per_seed: bool = dataclasses.field(compare=False, default=False)
    kind: ClassVar[str] = "custom"
    optimum_method: ClassVar[str] = "best found"
    cheap_monitor: ClassVar[bool] = False  # a pass over the data

    def loss(self, params, batch):
        return self.fn(params, batch)

    def init(self, d, dtype):
        """The start every seed shares, or seed 0's draw."""
        del d, dtype
        return self._drawn(0)

    def draw(self, seed: int):
        """The initial parameters of ``seed``: ``start(jax.random.key(seed))``, checked to
        have seed 0's structure, shapes and dtypes (ValueError naming ``init`` otherwise)."""
        if not self.per_seed:
            return self._drawn(0)
        return self._drawn(int(seed))

    def _drawn(self, seed: int):
        cache = self.__dict__.setdefault("_draws", {})  # frozen: the instance dict holds it
        if seed not in cache:
            params = self.start(jax.random.key(seed))
            if cache:  # compare with a draw made before (seed 0's, drawn at construction)
                _same_structure(cache[min(cache)], params, min(cache), seed)
            cache[seed] = params
        return cache[seed]

    def value(self, batch, params) -> float:
        """The loss over ``batch`` in float64 (under 64-bit mode for the call)."""
        with x64():
            fn = self.__dict__.setdefault("_jit_fn", jax.jit(self.fn))
            return float(fn(reference.as_float64(params), reference.as_float64(batch)))

    def flops(self, params, batch, batch_size: int):
        """See :func:`measured_flops`."""
        return measured_flops(self.fn, params, batch, batch_size)


@dataclasses.dataclass(frozen=True)
class GivenOptimum(CustomLoss):
    """A custom loss whose f* the user gave."""

    f_star: float = dataclasses.field(compare=False, default=math.nan)
    optimum_method: ClassVar[str] = "given"

    def optimum(self, batch):
        del batch
        return None, self.f_star


@dataclasses.dataclass(frozen=True)
class ReferenceOptimum(CustomLoss):
    """A custom loss whose f* is a float64 reference solve (L-BFGS from the start)."""

    optimum_method: ClassVar[str] = "L-BFGS (float64)"

    def solve(self, batch):
        """``(params, f*, FStarSource)``: :func:`gdjax.problems.losses.reference.lbfgs`."""
        return reference.lbfgs(self.fn, batch, self._drawn(0))

    def optimum(self, batch):
        return self.solve(batch)[:2]


@dataclasses.dataclass(frozen=True)
class ReferenceCurvature(ReferenceOptimum):
    """A reference-solved custom loss with at most :data:`CURVATURE_MAX_PARAMS` parameters."""

    def curvature(self, batch, opt_params):
        """``(L, mu)`` at the reference solution, by Lanczos on Hessian-vector products
        (:func:`gdjax.problems.losses.reference.lanczos`: exact up to its step count of
        parameters; beyond, L is accurate and mu an upper bound on the smallest eigenvalue)."""
        return reference.hvp_extremes(self.fn, batch, opt_params)


def measured_flops(fn, params, batch, batch_size: int) -> tuple[float, float] | None:
    """XLA's cost analysis of one lane's full-data loss and of one gradient on
    ``batch_size`` rows: ``(check, step)`` flops, or None where the backend reports none.

    Compiled from shapes alone (``jax.ShapeDtypeStruct``): no data is moved.

    Example:
        >>> import jax.numpy as jnp
        >>> fn = lambda p, d: jnp.mean((d["x"] @ p - d["y"]) ** 2)
        >>> d = {"x": np.zeros((100, 8), np.float32), "y": np.zeros(100, np.float32)}
        >>> check, step = measured_flops(fn, np.zeros(8, np.float32), d, 10)
        >>> check > 5 * step > 0
        True
    """

    def signature(tree):  # hashable: the structure, and each leaf's shape and dtype
        leaves, treedef = jax.tree.flatten(tree)
        return treedef, tuple((np.shape(a), np.result_type(a).str) for a in leaves)

    return _measured(fn, signature(params), signature(batch), int(batch_size))


@functools.lru_cache(maxsize=256)
def _measured(fn, params_sig, batch_sig, batch_size):
    """:func:`measured_flops` from shapes alone, cached: a new problem of the same loss and
    shapes compiles nothing more."""

    def shapes(sig, rows=None):
        treedef, leaves = sig
        structs = [
            jax.ShapeDtypeStruct(shape if rows is None else (rows, *shape[1:]), np.dtype(dt))
            for shape, dt in leaves
        ]
        return jax.tree.unflatten(treedef, structs)

    def cost(f, *args) -> float:
        try:
            c = jax.jit(f).lower(*args).compile().cost_analysis()
        except NotImplementedError:  # a backend without cost analysis
            return math.nan
        if isinstance(c, list):  # older jax: one dict per program
            c = c[0] if c else {}
        return float((c or {}).get("flops", math.nan))

    p = shapes(params_sig)
    check = cost(fn, p, shapes(batch_sig))
    step = cost(jax.grad(fn), p, shapes(batch_sig, batch_size))
    if not (check > 0 and step > 0):
        return None
    return check, step


def _same_structure(first, other, seed0: int, seed: int) -> None:
    """Refuse a draw of ``init`` whose structure, shapes or dtypes differ from another's."""
    t0, t1 = jax.tree.structure(first), jax.tree.structure(other)
    if t0 != t1:
        raise ValueError(
            f"init: the parameters drawn for seed {seed} have structure {t1}, those for seed "
            f"{seed0} {t0}: init must return the same pytree for every key"
        )
    for (path, a), b in zip(
        jax.tree_util.tree_flatten_with_path(first)[0], jax.tree.leaves(other), strict=True
    ):
        if np.shape(a) != np.shape(b) or np.result_type(a) != np.result_type(b):
            raise ValueError(
                f"init: init{jax.tree_util.keystr(path)} drawn for seed {seed} has shape "
                f"{np.shape(b)} and dtype {np.result_type(b)}, for seed {seed0} {np.shape(a)} "
                f"and {np.result_type(a)}: init must return the same shapes for every key"
            )
