"""Argument checks shared by the library API and the suite loader.

Every check runs in Python before anything is traced, so a bad value gets a ``TypeError`` or
``ValueError`` that names the argument, not a tracer dump. Values are checked in the dtype they
will run in: a learning rate that is fine in float64 may overflow, or round to 0, in float32;
an int64 label past int32 would wrap around silently when JAX stores it without x64.
This module imports nothing above it. A sweep's starting parameters are checked in
:mod:`gdjax._kernel.plan`, and sizes against the machine's memory in :mod:`gdjax.memory`.

The scalar checks (:func:`real`, :func:`integer`, :func:`boolean`, :func:`float_dtype`, ...)
live in :mod:`gdjax.numbers` and are re-exported here.

Example:
    >>> lrs([0.1, 0.01])
    array([0.1 , 0.01])
    >>> tol(0.0)
    Traceback (most recent call last):
    ...
    ValueError: tol must be finite and > 0 and < 1, got 0.0
"""

import jax
import jax.numpy as jnp
import numpy as np

from gdjax.numbers import (
    INT32_MAX,
    boolean,
    float_dtype,
    integer,
    is_int,
    is_real,
    is_real_dtype,
    l2,
    real,
    seed,
    size,
)

__all__ = [
    "INT32_MAX",
    "MEASURES",
    "SCHEDULES",
    "boolean",
    "data",
    "fits_dtype",
    "float_dtype",
    "in_dtype",
    "integer",
    "is_int",
    "is_real",
    "is_real_dtype",
    "l2",
    "lrs",
    "numeric_array",
    "real",
    "schedule",
    "seed",
    "seeds",
    "size",
    "steps",
    "targets",
    "tol",
]

# what counts as a sequence of values: ordered, and not a string
_SEQUENCES = (list, tuple, range, np.ndarray, jax.Array)

#: The learning-rate schedules the kernel knows (optax schedules scaled by each lane's lr).
SCHEDULES = ("constant", "inverse_time", "cosine")
#: What a sweep's targets may measure (:func:`gdjax.sweep`'s ``measure``).
MEASURES = ("loss", "grad_norm")


def numeric_array(a, arg: str) -> np.ndarray:
    """``a`` as a real NumPy array (bools, ints, floats); TypeError for anything else.

    Example:
        >>> numeric_array([1, 2], "y").dtype.kind
        'i'
    """
    try:
        out = np.asarray(a)
    except Exception as e:  # ragged lists and the like
        raise TypeError(f"{arg} must be an array of numbers: {e}") from None
    if np.iscomplexobj(out):
        raise TypeError(f"{arg} must be real, got dtype {out.dtype}")
    # by kind: timedelta64 counts as a NumPy "number" but is no data
    if out.dtype.kind not in "biuf":
        raise TypeError(f"{arg} must be an array of numbers, got dtype {out.dtype}")
    return out


def _first_bad(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0])


def data(X, y, *, labels: tuple | None = None) -> tuple[jax.Array, jax.Array]:
    """Validate X (n, d) and y (n,) before any tracing; return both in X's floating dtype.

    Both are converted to the float dtype they will run in (X's own float dtype, float64 for
    integer X, canonicalised: float32 with x64 off) and checked there: a float64 value beyond
    float32's range is an error, not an inf. ``y`` is converted in NumPy, never through a JAX
    int32, so an int64 target past 2**31 cannot wrap around.

    Args:
        X: features, shape (n, d), finite real numbers.
        y: targets, shape (n,), finite real numbers.
        labels: the values ``y`` may take (``(0, 1)`` for logistic regression), checked before
            the conversion: 1e-300 is not a 0 label even though float32 rounds it to 0.

    Returns:
        ``(X, y)`` as JAX arrays of the same floating dtype.

    Raises:
        TypeError: not arrays of real numbers.
        ValueError: wrong shapes, NaN or inf, or a value that overflows the dtype.

    Example:
        >>> X, y = data([[1, 2], [3, 4]], [0, 1])
        >>> X.dtype == y.dtype, X.shape
        (True, (2, 2))
    """
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
            bad = _first_bad(~np.isfinite(a))
            raise ValueError(f"{arg} contains NaN or inf (first at index {bad})")
    if labels is not None and not np.all(np.isin(yn, labels)):
        bad = yn[~np.isin(yn, labels)][0].item()
        raise ValueError(f"labels y must be {' or '.join(map(str, labels))}, found {bad}")
    dt = Xn.dtype if np.issubdtype(Xn.dtype, np.floating) else np.float64
    dt = np.dtype(jax.dtypes.canonicalize_dtype(dt))
    return in_dtype(Xn, dt, "X"), in_dtype(yn, dt, "y")


def in_dtype(values, dtype, arg: str) -> jax.Array:
    """Finite ``values`` converted to ``dtype``, refusing any that overflow to inf there
    (float64 values beyond float32's range with x64 off).

    Raises:
        ValueError: naming the first value that overflows, and its index.

    Example:
        >>> in_dtype([1.0, 1e39], np.float32, "y")
        Traceback (most recent call last):
        ...
        ValueError: y value 1e+39 at index (1,) overflows float32
    """
    a = np.asarray(values)
    dt = np.dtype(dtype)
    with np.errstate(over="ignore"):  # the overflow is reported below, with its value
        ad = a.astype(dt)
    if not np.all(np.isfinite(ad)):
        bad = _first_bad(~np.isfinite(ad))
        raise ValueError(f"{arg} value {a[bad]:g} at index {bad} overflows {dt}")
    return jnp.asarray(ad)


def lrs(values) -> np.ndarray:
    """Learning rates: one number or a non-empty 1-D sequence of finite numbers > 0.

    Args:
        values: a number, a list or tuple, or a 1-D NumPy or JAX array.

    Returns:
        A 1-D float64 NumPy array.

    Raises:
        TypeError: a string, or an element that is not a real number.
        ValueError: empty, not 1-D, or an element not finite and > 0.

    Example:
        >>> lrs(np.geomspace(0.01, 1.0, 3)).tolist()
        [0.01, 0.1, 1.0]
    """
    if isinstance(values, (str, bytes)):
        raise TypeError("lrs must be a sequence of numbers, got a string")
    arr = np.asarray(values, dtype=object if isinstance(values, (list, tuple)) else None)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"lrs must be a non-empty 1-D sequence, got shape {arr.shape}")
    return np.array([real(v, "lr", lo=0.0, strict=True) for v in arr], np.float64)


def seeds(values) -> np.ndarray:
    """Sampling seeds: one int or a non-empty 1-D sequence of ints in [0, 2**32).

    Args:
        values: an int, a 0-d integer array, a list or tuple, or a 1-D NumPy or JAX integer
            array.

    Returns:
        A 1-D int64 NumPy array.

    Raises:
        TypeError: not ints (floats, strings and bools are refused).
        ValueError: empty, not 1-D, or out of range.

    Example:
        >>> seeds(jnp.arange(3)).tolist()
        [0, 1, 2]
    """
    if is_int(values):
        values = [values]
    # a sequence, so the order is the user's: a set or a generator has none to keep
    if not isinstance(values, _SEQUENCES):
        raise TypeError(f"seeds must be a sequence of ints, got {type(values).__name__}")
    if isinstance(values, (np.ndarray, jax.Array)):
        if values.ndim != 1:
            raise ValueError(f"seeds must be 1-D, got shape {values.shape}")
        values = list(np.asarray(values))  # NumPy scalars keep their dtype: no float slips in
    out = [seed(s) for s in values]
    if not out:
        raise ValueError("seeds must not be empty")
    return np.asarray(out, np.int64)


def fits_dtype(values: np.ndarray, arg: str, dtype) -> None:
    """Positive values that must survive conversion to ``dtype``: no overflow, no underflow.

    A value below the dtype's smallest normal number counts as underflow: it is 0 or a
    subnormal there, and XLA on CPU flushes subnormals to 0, so a learning rate of 1e-40 in
    float32 would silently never move.

    Args:
        values: finite numbers (``lrs`` output, say).
        arg: the argument's name, for the message.
        dtype: the floating dtype they will run in.

    Raises:
        ValueError: naming the first value that overflows or underflows.

    Example:
        >>> fits_dtype(np.array([1e-3, 1.0]), "lr", np.float32)
        >>> fits_dtype(np.array([1e-50]), "lr", np.float32)
        Traceback (most recent call last):
        ...
        ValueError: lr 1e-50 underflows the problem's dtype float32 (smallest normal 1.17549e-38)
    """
    info = np.finfo(dtype)
    for v in np.ravel(values):
        if abs(v) > float(info.max):
            raise ValueError(f"{arg} {v:g} overflows the problem's dtype {np.dtype(dtype)}")
        if v != 0 and abs(v) < float(info.smallest_normal):
            raise ValueError(
                f"{arg} {v:g} underflows the problem's dtype {np.dtype(dtype)} "
                f"(smallest normal {float(info.smallest_normal):g})"
            )


def tol(v) -> float:
    """The convergence tolerance: relative suboptimality, a float in (0, 1).

    0 would never be reached by a float computation and 1 is reached at step 0.

    Args:
        v: a real number (a 0-d array counts as one).

    Returns:
        ``v`` as a Python float.

    Raises:
        TypeError: not a real number.
        ValueError: not in the open interval (0, 1).

    Example:
        >>> tol(1e-3)
        0.001
    """
    return real(v, "tol", lo=0.0, hi=1.0, strict=True, hi_strict=True)


def targets(values) -> np.ndarray:
    """The target ladder: relative suboptimalities, each in (0, 1), sorted descending.

    Args:
        values: a non-empty list, tuple or 1-D array of real numbers; no duplicates.

    Returns:
        A 1-D float64 NumPy array, largest target first.

    Raises:
        TypeError: a string, or an element that is not a real number.
        ValueError: empty, not 1-D, a value outside (0, 1), or a duplicate.

    Example:
        >>> targets([1e-3, 1e-1, 1e-2]).tolist()
        [0.1, 0.01, 0.001]
    """
    if isinstance(values, (str, bytes)):
        raise TypeError("targets must be a sequence of numbers, got a string")
    if is_real(values):
        values = [values]
    if not isinstance(values, _SEQUENCES):
        raise TypeError(f"targets must be a sequence of numbers, got {type(values).__name__}")
    arr = np.asarray(values, dtype=object if isinstance(values, (list, tuple)) else None)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"targets must be a non-empty 1-D sequence, got shape {arr.shape}")
    out = [real(v, "target", lo=0.0, hi=1.0, strict=True, hi_strict=True) for v in arr]
    dup = sorted({v for v in out if out.count(v) > 1})
    if dup:
        raise ValueError(f"targets must not repeat a value, got {dup[0]:g} twice")
    return np.array(sorted(out, reverse=True), np.float64)


def schedule(name) -> str:
    """A learning-rate schedule name: one of :data:`SCHEDULES`.

    Raises:
        TypeError: not a string.
        ValueError: an unknown name.

    Example:
        >>> schedule("cosine")
        'cosine'
    """
    if not isinstance(name, str):
        raise TypeError(f"schedule must be a string, got {type(name).__name__} {name!r}")
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; choose one of {', '.join(SCHEDULES)}")
    return name


def measure(name) -> str:
    """What a sweep's targets measure: one of :data:`MEASURES`.

    Raises:
        TypeError: not a string; ValueError: another string. Both name ``measure``.

    Example:
        >>> measure("grad_norm")
        'grad_norm'
        >>> measure("gradient")
        Traceback (most recent call last):
        ...
        ValueError: measure must be one of 'loss', 'grad_norm', got 'gradient'
    """
    if not isinstance(name, str):
        raise TypeError(f"measure must be a string, 'loss' or 'grad_norm', got {name!r}")
    if name not in MEASURES:
        raise ValueError(f"measure must be one of 'loss', 'grad_norm', got {name!r}")
    return name


def steps(epochs, steps_per_epoch) -> int:
    """The total step count ``epochs * steps_per_epoch``, which the kernel counts in int32.

    Args:
        epochs: an int >= 1.
        steps_per_epoch: an int >= 1 (``n // batch_size``).

    Returns:
        The total number of steps, a Python int.

    Raises:
        TypeError: not ints.
        ValueError: below 1, or a total past int32's 2**31 - 1 (the message names epochs).

    Example:
        >>> steps(3, 10)
        30
    """
    e = integer(epochs, "epochs", lo=1)
    spe = integer(steps_per_epoch, "steps_per_epoch", lo=1)
    total = e * spe
    if total > INT32_MAX:
        raise ValueError(
            f"epochs={e} x {spe} steps per epoch = {total} steps, past the int32 step counter's "
            f"{INT32_MAX}; use at most epochs={INT32_MAX // spe}"
        )
    return total
