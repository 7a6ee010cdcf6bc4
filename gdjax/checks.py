"""Argument checks shared by the library API and the suite loader.

Every check runs in Python before anything is traced, so a bad value gets a ``TypeError`` or
``ValueError`` that names the argument, not a tracer dump. Values are checked in the dtype they
will run in: a learning rate that is fine in float64 may overflow, or round to 0, in float32.
This module imports nothing above it (it takes a params template, not a Problem).

Example:
    >>> real(0.5, "tol", lo=0.0, hi=1.0)
    0.5
    >>> integer(np.int64(3), "epochs", lo=1)
    3
    >>> real(True, "tol", lo=0.0)
    Traceback (most recent call last):
    ...
    TypeError: tol must be a real number, got bool True
"""

from __future__ import annotations

import math
import os

import jax
import jax.numpy as jnp
import numpy as np

INT32_MAX = 2**31 - 1


def is_int(v) -> bool:
    """A Python or NumPy integer, or a 0-d integer array; never a bool."""
    if isinstance(v, (np.ndarray, jax.Array)) and v.ndim == 0:
        return np.issubdtype(v.dtype, np.integer)
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def is_real(v) -> bool:
    """A Python or NumPy real number, or a 0-d real array; never a bool."""
    if isinstance(v, (np.ndarray, jax.Array)) and v.ndim == 0:
        return np.issubdtype(v.dtype, np.integer) or np.issubdtype(v.dtype, np.floating)
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(
        v, (bool, np.bool_)
    )


def integer(v, arg: str, *, lo: int, hi: int | None = None) -> int:
    """``v`` as a Python int in [lo, hi].

    Raises:
        TypeError: not an integer (a bool is not one).
        ValueError: out of range.
    """
    if not is_int(v):
        raise TypeError(f"{arg} must be an int, got {type(v).__name__} {v!r}")
    v = int(v)
    if v < lo:
        raise ValueError(f"{arg} must be >= {lo}, got {v}")
    if hi is not None and v > hi:
        raise ValueError(f"{arg} must be <= {hi}, got {v}")
    return v


def real(
    v, arg: str, *, lo: float, hi: float | None = None, strict: bool = False, hi_strict=False
) -> float:
    """``v`` as a finite Python float with ``lo <= v`` (``<`` when strict) and ``v <= hi``.

    Raises:
        TypeError: not a real number.
        ValueError: not finite, or out of range.
    """
    if not is_real(v):
        raise TypeError(f"{arg} must be a real number, got {type(v).__name__} {v!r}")
    v = float(v)
    bad_lo = v < lo or (strict and v == lo)
    bad_hi = hi is not None and (v > hi or (hi_strict and v == hi))
    if not math.isfinite(v) or bad_lo or bad_hi:
        low = f"{'>' if strict else '>='} {lo:g}"
        high = "" if hi is None else f" and {'<' if hi_strict else '<='} {hi:g}"
        raise ValueError(f"{arg} must be finite and {low}{high}, got {v}")
    return v


def boolean(v, arg: str) -> bool:
    """``v`` if it is a bool (a NumPy bool too); anything else is a TypeError."""
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{arg} must be a bool (True or False), got {type(v).__name__} {v!r}")
    return bool(v)


def float_dtype(dtype) -> np.dtype:
    """The requested floating dtype, or JAX's default float (float64 only with x64 on)."""
    if dtype is None:
        return np.dtype(jnp.asarray(0.0).dtype)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be a floating dtype, got {dtype!r}") from None
    if not np.issubdtype(dt, np.floating):
        raise TypeError(f"dtype must be a floating dtype, got {dt}")
    if jax.dtypes.canonicalize_dtype(dt) != dt:
        raise ValueError(
            f"dtype {dt} needs JAX's 64-bit mode: set JAX_ENABLE_X64=1 "
            "(or run inside gdjax.x64(), or bench run --x64)"
        )
    return dt


def numeric_array(a, arg: str) -> np.ndarray:
    """``a`` as a real NumPy array (bools allowed); TypeError for anything else."""
    try:
        out = np.asarray(a)
    except Exception as e:  # ragged lists and the like
        raise TypeError(f"{arg} must be an array of numbers: {e}") from None
    if out.dtype == object or not (
        np.issubdtype(out.dtype, np.number) or np.issubdtype(out.dtype, np.bool_)
    ):
        raise TypeError(f"{arg} must be an array of numbers, got dtype {out.dtype}")
    if np.iscomplexobj(out):
        raise TypeError(f"{arg} must be real, got dtype {out.dtype}")
    return out


def data(X, y) -> tuple[jax.Array, jax.Array]:
    """Validate X (n, d) and y (n,) before any tracing; return JAX arrays (X floating)."""
    Xn = numeric_array(X, "X")
    yn = numeric_array(y, "y")
    if Xn.ndim != 2:
        raise ValueError(f"X must be 2-D (n, d), got shape {Xn.shape}")
    if yn.ndim != 1:
        raise ValueError(f"y must be 1-D (n,), got shape {yn.shape}")
    if Xn.shape[0] != yn.shape[0]:
        raise ValueError(f"X and y disagree on n: X has {Xn.shape[0]} rows, y has {yn.shape[0]}")
    if Xn.shape[0] == 0 or Xn.shape[1] == 0:
        raise ValueError(f"X must have at least one row and one column, got shape {Xn.shape}")
    for arg, a in (("X", Xn), ("y", yn)):
        if not np.all(np.isfinite(a)):
            bad = np.argwhere(~np.isfinite(a))[0]
            raise ValueError(
                f"{arg} contains NaN or inf (first at index {tuple(int(i) for i in bad)})"
            )
    dt = Xn.dtype if np.issubdtype(Xn.dtype, np.floating) else np.float64
    dt = jax.dtypes.canonicalize_dtype(dt)
    Xd = Xn.astype(dt)
    if not np.all(np.isfinite(Xd)):  # float64 values beyond float32's range, x64 off
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(Xd))[0])
        raise ValueError(f"X value {Xn[bad]:g} at index {bad} overflows {np.dtype(dt)}")
    return jnp.asarray(Xd), jnp.asarray(yn)


def l2(v, where: str) -> float:
    """An L2 penalty strength: finite and >= 0."""
    return real(v, f"{where}: l2", lo=0.0)


def size(v, arg: str) -> int:
    """A size (rows, features, classes): an int >= 1."""
    return integer(v, arg, lo=1)


def seed(v, arg: str = "seed") -> int:
    """A sampling or data seed: an int in [0, 2**32)."""
    return integer(v, arg, lo=0, hi=2**32 - 1)


def lrs(values) -> np.ndarray:
    """Learning rates: a non-empty 1-D sequence of finite numbers > 0, as float64."""
    if isinstance(values, (str, bytes)):
        raise TypeError("lrs must be a sequence of numbers, got a string")
    arr = np.asarray(values, dtype=object if isinstance(values, (list, tuple)) else None)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"lrs must be a non-empty 1-D sequence, got shape {arr.shape}")
    for v in arr:
        real(v, "lr", lo=0.0, strict=True)
    return arr.astype(np.float64)


def seeds(values) -> np.ndarray:
    """Sampling seeds: one int or a non-empty sequence of ints in [0, 2**32)."""
    if is_int(values):
        values = [values]
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"seeds must be a sequence of ints, got {type(values).__name__}")
    out = [seed(s) for s in np.asarray(values, dtype=object).ravel()]
    if not out:
        raise ValueError("seeds must not be empty")
    return np.asarray(out, np.int64)


def init_params(init, template):
    """Initial parameters like ``template``: None (the template), a number, or a pytree."""
    if init is None:
        return template
    if isinstance(init, (np.ndarray, jax.Array)) and np.ndim(init) == 0:
        init = init.item()  # a 0-d array is a number
    if isinstance(init, (complex, np.complexfloating)) or np.iscomplexobj(init):
        raise TypeError(f"init must be real, got {type(init).__name__}")
    if is_real(init):
        if not math.isfinite(init):
            raise ValueError(f"init must be finite, got {init}")
        return jax.tree.map(lambda t: jnp.full_like(t, init), template)
    try:
        leaves = jax.tree.map(lambda t, v: np.asarray(v), template, init)
    except (ValueError, TypeError) as e:
        raise ValueError(
            f"init must be a float or a pytree like problem.init_params() "
            f"({jax.tree.structure(template)}): {e}"
        ) from None
    out = {}
    for k, t in template.items():
        v = leaves[k]
        if v.shape != t.shape:
            raise ValueError(f"init[{k!r}] must have shape {t.shape}, got {v.shape}")
        if not np.all(np.isfinite(v)):
            raise ValueError(f"init[{k!r}] contains NaN or inf")
        out[k] = jnp.asarray(v, t.dtype)
    return out


def fits_dtype(values: np.ndarray, arg: str, dtype) -> None:
    """Positive values that must survive conversion to ``dtype``: no overflow, no underflow to 0.

    Raises:
        ValueError: naming the first value that overflows or rounds to zero.
    """
    info = jnp.finfo(dtype)
    for v in np.ravel(values):
        if abs(v) > float(info.max):
            raise ValueError(f"{arg} {v:g} overflows the problem's dtype {np.dtype(dtype)}")
        if v != 0 and np.asarray(v, dtype) == 0:
            raise ValueError(f"{arg} {v:g} rounds to 0 in the problem's dtype {np.dtype(dtype)}")


def memory(shape, dtype, what: str) -> None:
    """Refuse an allocation that could not fit in this machine's memory, saying its size.

    Raises:
        ValueError: ``what`` of ``shape`` needs more bytes than the machine has.
    """
    nbytes = math.prod(int(s) for s in shape) * np.dtype(dtype).itemsize
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not a POSIX system: no limit known
        return
    # several working copies are made (draws, float64 solves): half the memory is the limit
    if 2 * nbytes > total:
        raise ValueError(
            f"{what} of shape {tuple(shape)} needs {nbytes / 2**30:.1f} GiB in {np.dtype(dtype)}, "
            f"more than half of this machine's {total / 2**30:.1f} GiB"
        )


def tol(v) -> float:
    """The convergence tolerance: a relative suboptimality in (0, 1)."""
    return real(v, "tol", lo=0.0, hi=1.0, strict=True, hi_strict=True)


def targets(values) -> np.ndarray:
    """A target ladder: relative suboptimalities in (0, 1), distinct, sorted descending."""
    if isinstance(values, (str, bytes)) or is_real(values):
        values = [values] if is_real(values) else values
    if isinstance(values, (str, bytes)):
        raise TypeError("targets must be a sequence of numbers, got a string")
    arr = np.asarray(values, dtype=object).ravel()
    if arr.size == 0:
        raise ValueError("targets must not be empty")
    out = np.asarray([real(v, "target", lo=0.0, hi=1.0, strict=True, hi_strict=True) for v in arr])
    if len(set(out.tolist())) != len(out):
        raise ValueError(f"targets must be distinct, got {out.tolist()}")
    return np.sort(out)[::-1].copy()


def schedule(name) -> str:
    """A learning-rate schedule name: "constant", "inverse_time" or "cosine"."""
    names = ("constant", "inverse_time", "cosine")
    if not isinstance(name, str):
        raise TypeError(f"schedule must be a string, got {type(name).__name__}")
    if name not in names:
        raise ValueError(f"unknown schedule {name!r}; choose one of {list(names)}")
    return name


def steps(epochs: int, steps_per_epoch: int) -> int:
    """The total step count, which the kernel counts in int32."""
    total = epochs * steps_per_epoch
    if total > INT32_MAX:
        raise ValueError(
            f"epochs={epochs} x {steps_per_epoch} steps per epoch = {total} steps, more than the "
            f"kernel's int32 step counter holds ({INT32_MAX})"
        )
    return total


def lanes_memory(num_lanes: int, num_params: int, num_evals: int, dtype) -> None:
    """Refuse a sweep whose lane arrays (parameters, optimizer state, curves) cannot fit."""
    # params, up to two optimizer moments and the update: about 4 copies of the parameters
    memory((num_lanes, 4 * num_params + num_evals), dtype, f"a sweep of {num_lanes} lanes")
