"""Scalar checks: integers, reals, booleans and float dtypes, each checked in Python before
anything is traced, so that a bad value gets a ``TypeError`` or ``ValueError`` that names the
argument. :mod:`gdjax.checks` re-exports them beside its array and sweep checks.

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

import jax
import jax.numpy as jnp
import numpy as np

INT32_MAX = 2**31 - 1


def is_real_dtype(dtype, *, floats: bool = True) -> bool:
    """Whether ``dtype`` holds real numbers: NumPy's ints and floats, and ml_dtypes' (bfloat16,
    the float8 types, int4), never bool, complex or timedelta.

    ml_dtypes' types are kind ``"V"`` to NumPy, outside its number tree: JAX's dtype tree
    (``jnp.issubdtype``) places them under integer and floating.

    Args:
        dtype: anything ``np.dtype`` takes.
        floats: False to accept integer dtypes only.

    Returns:
        True for a real dtype.

    Example:
        >>> import ml_dtypes
        >>> is_real_dtype(ml_dtypes.bfloat16), is_real_dtype(np.bool_)
        (True, False)
        >>> is_real_dtype("f8", floats=False)
        False
    """
    dt = np.dtype(dtype)
    if dt.kind in ("iuf" if floats else "iu"):
        return True
    if dt.kind != "V" or dt.fields is not None:  # a structured dtype is no number either
        return False
    return bool(jnp.issubdtype(dt, jnp.integer) or (floats and jnp.issubdtype(dt, jnp.floating)))


def _scalar_dtype(v):
    """The dtype of a NumPy or ml_dtypes scalar or a 0-d array (NumPy or JAX); else None."""
    if isinstance(v, (np.ndarray, jax.Array, np.generic)) and np.ndim(v) == 0:
        return v.dtype
    return None


def is_int(v) -> bool:
    """A Python, NumPy or ml_dtypes integer, or a 0-d integer array (NumPy or JAX); never a
    bool."""
    dt = _scalar_dtype(v)
    if dt is not None:
        return is_real_dtype(dt, floats=False)
    return isinstance(v, int) and not isinstance(v, bool)


def is_real(v) -> bool:
    """A Python, NumPy or ml_dtypes (bfloat16, ...) real number, or a 0-d real array (NumPy or
    JAX); never a bool."""
    dt = _scalar_dtype(v)
    if dt is not None:
        return is_real_dtype(dt)
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def integer(v, arg: str, *, lo: int, hi: int | None = None) -> int:
    """``v`` as a Python int in [lo, hi].

    Args:
        v: an int, a NumPy integer or a 0-d integer array.
        arg: the argument's name, for the message.
        lo: smallest allowed value.
        hi: largest allowed value (None: no limit).

    Returns:
        ``v`` as a Python int.

    Raises:
        TypeError: not an integer (a bool is not one).
        ValueError: out of range.

    Example:
        >>> integer(np.array(4), "epochs", lo=1)
        4
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

    Args:
        v: a real number or a 0-d real array.
        arg: the argument's name, for the message.
        lo: lower bound (``-inf``: none).
        hi: upper bound (None: none).
        strict: exclude ``lo`` itself.
        hi_strict: exclude ``hi`` itself.

    Returns:
        ``v`` as a Python float.

    Raises:
        TypeError: not a real number.
        ValueError: not finite (a Python int too large for a float included), or out of range.

    Example:
        >>> real(np.float32(0.25), "l2", lo=0.0)
        0.25
        >>> real(jnp.asarray(0.5, jnp.bfloat16), "lr", lo=0.0)
        0.5
    """
    if not is_real(v):
        raise TypeError(f"{arg} must be a real number, got {type(v).__name__} {v!r}")
    try:
        v = float(v)
    except OverflowError:  # a Python int past 1.8e308
        v = math.inf
    bad_lo = v < lo or (strict and v == lo)
    bad_hi = hi is not None and (v > hi or (hi_strict and v == hi))
    if not math.isfinite(v) or bad_lo or bad_hi:
        low = f"{'>' if strict else '>='} {lo:g}"
        high = "" if hi is None else f" and {'<' if hi_strict else '<='} {hi:g}"
        raise ValueError(f"{arg} must be finite and {low}{high}, got {v}")
    return v


def boolean(v, arg: str) -> bool:
    """``v`` if it is a bool (a NumPy bool or a 0-d bool array too); 0 and 1 are not.

    Example:
        >>> boolean(np.bool_(True), "shuffle")
        True
    """
    if isinstance(v, (np.ndarray, jax.Array)) and v.ndim == 0 and v.dtype == np.bool_:
        return bool(v)
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{arg} must be a bool (True or False), got {type(v).__name__} {v!r}")
    return bool(v)


def float_dtype(dtype) -> np.dtype:
    """The requested floating dtype, or JAX's default float (float64 only with x64 on).

    Raises:
        TypeError: not a floating dtype.
        ValueError: float64 asked for with JAX's 64-bit mode off.
    """
    if dtype is None:
        return np.dtype(jnp.asarray(0.0).dtype)
    # a value, or a structured-dtype spec: NumPy would turn either into some dtype
    if isinstance(dtype, (np.ndarray, jax.Array, np.generic, list, tuple, dict)):
        raise TypeError(f"dtype must be a floating dtype, got a value {dtype!r}")
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError, SyntaxError):  # "," is parsed as a structured-dtype spec
        raise TypeError(f"dtype must be a floating dtype, got {dtype!r}") from None
    if not np.issubdtype(dt, np.floating):
        raise TypeError(f"dtype must be a floating dtype, got {dt}")
    if jax.dtypes.canonicalize_dtype(dt) != dt:
        raise ValueError(
            f"dtype {dt} needs JAX's 64-bit mode: set JAX_ENABLE_X64=1 "
            "(or run inside gdjax.x64(), or bench run --x64)"
        )
    return dt


def l2(v, where: str) -> float:
    """An L2 penalty strength: finite and >= 0."""
    return real(v, f"{where}: l2", lo=0.0)


def size(v, arg: str) -> int:
    """A size (rows, features, classes): an int >= 1."""
    return integer(v, arg, lo=1)


def seed(v, arg: str = "seed") -> int:
    """A sampling or data seed: an int in [0, 2**32)."""
    return integer(v, arg, lo=0, hi=2**32 - 1)
