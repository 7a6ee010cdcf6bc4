"""A sweep's initial parameters, checked: :func:`init_params` (what ``init=`` may be).

Example:
    >>> init_params(None, {"x": np.zeros(2, np.float32)})["x"].tolist()
    [0.0, 0.0]
"""

from __future__ import annotations

import math

import jax
import numpy as np

from gdjax import checks

__all__ = ["init_params"]


def _overflow(arr: np.ndarray, dtype) -> np.ndarray:
    """Where finite ``arr`` becomes inf in ``dtype``."""
    with np.errstate(over="ignore"):
        return ~np.isfinite(np.asarray(arr, np.float64).astype(dtype))


def init_params(init, template):
    """Initial parameters like ``template``: None (the template), a number, or a pytree.

    Values are checked after conversion to the template's dtype: a float64 init past float32's
    range is an error, not an inf.

    Args:
        init: None, a real number (a 0-d array counts as one) that fills every parameter, or a
            pytree with the template's structure and shapes.
        template: the problem's zero parameters (``problem.init_params()``).

    Returns:
        A pytree like ``template``, in its dtypes.

    Raises:
        TypeError: complex, or not a number nor a pytree of arrays.
        ValueError: not finite, overflows the dtype, or wrong structure or shapes.

    Example:
        >>> init_params(2.0, {"x": np.zeros((), np.float32)})["x"].item()
        2.0
    """
    if init is None:
        return template
    if isinstance(init, (np.ndarray, jax.Array)) and np.ndim(init) == 0:
        init = init.item()  # a 0-d array is a number
    if isinstance(init, (complex, np.complexfloating)):
        raise TypeError(f"init must be real, got {type(init).__name__}")
    if isinstance(init, (bool, np.bool_)):
        raise TypeError(f"init must be a real number or a pytree, got {type(init).__name__}")
    if checks.is_real(init):
        init = checks.real(init, "init", lo=-math.inf)
        for t in jax.tree.leaves(template):
            if _overflow(np.array(init), t.dtype).any():
                raise ValueError(f"init {init:g} overflows the parameters' dtype {t.dtype}")
        # NumPy: jnp.full_like would compile a broadcast for each shape
        return jax.tree.map(lambda t: np.full(np.shape(t), init, t.dtype), template)
    paths, treedef = jax.tree_util.tree_flatten_with_path(template)
    try:  # the structure first; each leaf of init may still be a nested list
        given = treedef.flatten_up_to(init)
    except (ValueError, TypeError) as e:
        raise ValueError(
            f"init must be a float or a pytree like problem.init_params() "
            f"({jax.tree.structure(template)}): {e}"
        ) from None
    out = []
    for (path, t), leaf in zip(paths, given, strict=True):
        name = f"init{jax.tree_util.keystr(path)}"  # init['w'], init[0]['b'], ...
        try:
            v = np.asarray(leaf)
        except Exception:  # ragged lists, bytes, objects: whatever NumPy cannot make an array of
            raise TypeError(f"{name} must be an array of real numbers") from None
        if v.dtype.kind == "c":
            raise TypeError(f"{name} must be real, got dtype {v.dtype}")
        if not checks.is_real_dtype(v.dtype):  # bfloat16 and the other ml_dtypes floats count
            raise TypeError(f"{name} must hold real numbers, got dtype {v.dtype}")
        if v.shape != t.shape:
            raise ValueError(f"{name} must have shape {t.shape}, got {v.shape}")
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{name} contains NaN or inf")
        if _overflow(v, t.dtype).any():
            raise ValueError(f"{name} has values that overflow the parameters' dtype {t.dtype}")
        out.append(np.asarray(v, t.dtype))
    return jax.tree.unflatten(treedef, out)
