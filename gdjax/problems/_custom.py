"""Your own problem: any JAX loss on any pytree of data, :func:`custom`.

Everything a user passes is checked here, in Python, before any tracing, and each error names
the argument: the loss at the initial parameters is evaluated once (a compile of the loss
alone), so a non-scalar, integer, complex or NaN loss is refused before a sweep is built.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gdjax import checks
from gdjax.problems.losses.custom import (
    CURVATURE_MAX_PARAMS,
    CustomLoss,
    GivenOptimum,
    ReferenceCurvature,
    ReferenceOptimum,
)
from gdjax.problems.problem import Problem

__all__ = ["F_STAR_MODES", "custom"]

#: What ``f_star`` may say besides a number.
F_STAR_MODES = ("reference", "best")


def custom(
    loss: Callable,
    data,
    *,
    init,
    f_star: float | str = "reference",
    name: str = "custom",
) -> Problem:
    """A problem from your own loss and data: any JAX function, any pytree of rows.

    Every step's gradient is ``jax.grad(loss)`` over that step's rows, as for the shipped
    losses; the whole sweep still compiles once per shape.

    Args:
        loss: ``loss(params, batch) -> scalar``, the mean loss over the rows of ``batch``, in
            JAX; ``params`` any pytree of float arrays.
        data: a pytree of arrays sharing their leading (row) axis, e.g. ``(X, y)`` or
            ``{"x": X, "y": y}``; a step's ``batch`` has the same structure with that step's
            rows. Floating leaves run in JAX's default float (float32, float64 under
            :func:`gdjax.x64`); integer leaves (labels) are kept.
        init: the initial parameters: a pytree of float arrays, or a function
            ``key -> pytree`` called once per seed with ``jax.random.key(seed)``, so that each
            seed differs in its start as well as in its rows (results give parameters in
            ``init``'s structure). With a function, lanes start at different losses: the
            levels of relative suboptimality are taken from the largest f(w0) over the
            sweep's seeds (every lane starts at or below relative suboptimality 1), while each
            lane is booked at step 0 from its own f(w0).
        f_star: the optimum the targets are relative to: a number (you know it); "reference"
            (default): solved on the host in float64 by L-BFGS from the start (seed 0's draw)
            to a gradient norm of 1e-9 x max(1, |grad f(w0)|)
            (:mod:`gdjax.problems.losses.reference`: method, gradient norm reached and time
            in ``problem.f_star_source``; a stationary point of a non-convex loss, a run may
            go below it); or "best": the lowest full-data loss any lane of the run reached,
            labelled "best found" (not an optimum: see :func:`gdjax.build` for how counts
            against it are read).
        name: a label for reports.

    Returns:
        A :class:`~gdjax.problems.Problem` (``problem.data == (data,)``). With a reference f*
        and at most :data:`~gdjax.problems.losses.custom.CURVATURE_MAX_PARAMS` parameters it
        offers its curvature (``problem.curvature()``, by Lanczos at the reference solution),
        and with it the theory of :mod:`gdjax.theory`.

    Raises:
        TypeError, ValueError: naming the argument: ``loss`` not callable, or returning a
            non-scalar, an integer or complex value, or NaN at the initial parameters;
            ``data`` with no leaves, leaves that are not arrays of numbers, disagree on their
            rows or have none; ``init`` not float arrays, not finite, or of another structure
            for another seed; ``f_star`` neither a finite number nor "reference" or "best".

    Example:
        >>> import gdjax, jax.numpy as jnp, numpy as np
        >>> X = np.random.default_rng(0).standard_normal((64, 3))
        >>> data = {"x": X, "y": X @ np.array([1.0, -2.0, 0.5])}
        >>> def loss(params, batch):
        ...     return jnp.mean((batch["x"] @ params["w"] - batch["y"]) ** 2)
        >>> p = gdjax.problems.custom(loss, data, init={"w": np.zeros(3)})
        >>> p.f_star_source.method, round(p.optimum()[1], 12)
        ('L-BFGS (float64)', 0.0)
        >>> gdjax.run(p, lr=0.2, epochs=30).status
        'converged'
    """
    if not callable(loss):
        raise TypeError(f"loss must be callable, got {type(loss).__name__}")
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty str, got {name!r}")
    mode, f_star_value = _f_star(f_star)
    dtype = checks.float_dtype(None)
    data = _data(data, dtype)
    start, per_seed = _start(init, dtype)
    params = start(jax.random.key(0))
    _check_loss(loss, params, data)
    num_params = sum(int(np.size(a)) for a in jax.tree.leaves(params))
    common = dict(fn=loss, dtype=dtype, start=start, per_seed=per_seed)
    if mode == "given":
        spec = GivenOptimum(**common, f_star=f_star_value)
    elif mode == "reference" and num_params <= CURVATURE_MAX_PARAMS:
        spec = ReferenceCurvature(**common)
    elif mode == "reference":
        spec = ReferenceOptimum(**common)
    else:
        spec = CustomLoss(**common)
    spec.init(0, dtype)  # seed 0's draw, the one later draws are compared with
    return Problem(name, spec, (data,))


def _f_star(f_star) -> tuple[str, float | None]:
    if isinstance(f_star, str):
        if f_star not in F_STAR_MODES:
            raise ValueError(f"f_star must be a number, 'reference' or 'best', got {f_star!r}")
        return f_star, None
    if isinstance(f_star, (bool, np.bool_)) or not checks.is_real(f_star):
        raise TypeError(
            f"f_star must be a number, 'reference' or 'best', got {type(f_star).__name__}"
        )
    value = float(f_star)
    if not math.isfinite(value):
        raise ValueError(f"f_star must be finite, got {value}")
    return "given", value


def _data(data, dtype):
    """The data as NumPy arrays: floating leaves in ``dtype``, others as given."""
    paths = jax.tree_util.tree_flatten_with_path(data)[0]
    if not paths:
        raise ValueError("data must be a pytree of arrays with at least one leaf, got none")
    rows = None
    out = []
    for path, leaf in paths:
        arg = f"data{jax.tree_util.keystr(path)}"
        if isinstance(leaf, (str, bytes)) or leaf is None:
            raise TypeError(f"{arg} must be an array of numbers, got {type(leaf).__name__}")
        a = checks.numeric_array(leaf, arg)
        if a.ndim == 0:
            raise ValueError(f"{arg} must have a leading axis of rows, got a scalar")
        if rows is None:
            rows, first = a.shape[0], arg
        elif a.shape[0] != rows:
            raise ValueError(
                f"data leaves disagree on their rows: {first} has {rows}, {arg} has {a.shape[0]}"
            )
        if np.issubdtype(a.dtype, np.floating):
            if not np.all(np.isfinite(a)):
                raise ValueError(f"{arg} contains NaN or inf")
            a = np.asarray(checks.in_dtype(a, dtype, arg))
        out.append(a)
    if rows == 0:
        raise ValueError(f"data must have at least one row, {first} has none")
    return jax.tree.unflatten(jax.tree.structure(data), out)


def _start(init, dtype) -> tuple[Callable, bool]:
    """``key -> params`` (checked, in ``dtype``) and whether it is the user's function."""
    if callable(init):

        def draw(key):
            return _params(init(key), dtype, "init(key)")

        return draw, True
    params = _params(init, dtype, "init")
    return (lambda key: params), False


def _params(tree, dtype, arg: str) -> Any:
    paths = jax.tree_util.tree_flatten_with_path(tree)[0]
    if not paths:
        raise ValueError(f"{arg} must be a pytree of float arrays with at least one leaf")
    out = []
    for path, leaf in paths:
        where = f"{arg}{jax.tree_util.keystr(path)}"
        a = checks.numeric_array(leaf, where) if not isinstance(leaf, str) else None
        if a is None or not np.issubdtype(a.dtype, np.floating):
            what = type(leaf).__name__ if a is None else a.dtype
            raise TypeError(f"{where} must be a float array (the parameters), got {what}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{where} contains NaN or inf")
        out.append(np.asarray(checks.in_dtype(a, dtype, where)))
    return jax.tree.unflatten(jax.tree.structure(tree), out)


def _check_loss(loss, params, data) -> None:
    """The loss at the initial parameters: a finite real scalar (one compile of the loss)."""
    try:
        out = jax.eval_shape(loss, params, data)
    except Exception as e:  # whatever the user's code raised, said with the argument's name
        raise TypeError(
            f"loss(params, batch) failed at the initial parameters: {type(e).__name__}: {e}"
        ) from e
    leaves = jax.tree.leaves(out)
    if len(leaves) != 1 or not hasattr(leaves[0], "shape"):
        raise ValueError(f"loss must return a scalar array, got {jax.tree.structure(out)}")
    value = leaves[0]
    if value.shape != ():
        raise ValueError(f"loss must return a scalar, got shape {value.shape}")
    if jnp.issubdtype(value.dtype, jnp.complexfloating):
        raise TypeError(f"loss must return a real float, got dtype {value.dtype}")
    if not jnp.issubdtype(value.dtype, jnp.floating):
        raise TypeError(
            f"loss must return a float (its gradient is taken), got dtype {value.dtype}"
        )
    f0 = float(jax.jit(loss)(params, data))
    if not math.isfinite(f0):
        raise ValueError(
            f"loss is {f0} at the initial parameters (init) on the full data: it must be finite"
        )
