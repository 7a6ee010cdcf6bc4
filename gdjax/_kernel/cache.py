"""JAX's persistent compilation cache for the library's own compiles.

A new Python process that calls :func:`gdjax.sweep` would otherwise compile its kernel cold
every time. Each compile the library makes (:meth:`gdjax.kernel.Kernel.call`, hence every
``sweep``, ``run`` and ``Kernel.execute()``, and :meth:`~gdjax.kernel.Kernel.compile`) runs
inside :func:`persistent_cache`, which keeps the executable in :data:`CACHE_DIR`
(``~/.cache/gdjax/xla``, the folder ``bench run`` uses too; ``GDJAX_CACHE_DIR`` moves it) and
reads it back in the next process.

It stays out of the way of the user's own settings:

- ``GDJAX_NO_CACHE=1`` in the environment turns it off (read at every compile);
- a cache the user configured (``jax_compilation_cache_dir`` set, e.g. by
  ``JAX_COMPILATION_CACHE_DIR``) is used as it is, with the user's thresholds;
- with JAX's cache turned off (``jax_enable_compilation_cache`` False) nothing is cached;
- the settings hold for the library's compile only: the cache is set up on entry and put back
  as it was (unset) on exit, so the user's own programs are never written to gdjax's folder.

The cache is trusted code, as JAX's guide says: it must not be a folder that others can write.

Example:
    >>> import os
    >>> with persistent_cache() as folder:
    ...     on = folder is not None
    >>> on == (os.environ.get("GDJAX_NO_CACHE", "") in ("", "0"))
    True
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import jax
from jax.experimental.compilation_cache import compilation_cache as cc

__all__ = ["CACHE_DIR", "cache_dir", "persistent_cache"]

#: The default folder of the library's persistent compilation cache.
CACHE_DIR = Path.home() / ".cache" / "gdjax" / "xla"


def cache_dir() -> Path | None:
    """The folder the library would cache into now: None when ``GDJAX_NO_CACHE`` is set (to
    anything but "" or "0"), when JAX's cache is turned off, or when the user configured JAX's
    own (which is then used as it is)."""
    if os.environ.get("GDJAX_NO_CACHE", "") not in ("", "0"):
        return None
    if not jax.config.jax_enable_compilation_cache or jax.config.jax_compilation_cache_dir:
        return None
    return Path(os.environ.get("GDJAX_CACHE_DIR") or CACHE_DIR)


@contextlib.contextmanager
def persistent_cache():
    """Compile inside the block with the library's persistent cache (see the module docstring).

    Yields:
        The folder in use, or None where the library leaves the cache as it is.
    """
    folder = cache_dir()
    try:
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
    except OSError:  # a home that cannot be written: compile as if there were no cache
        folder = None
    if folder is None:
        yield None
        return
    names = ("jax_compilation_cache_dir", "jax_persistent_cache_min_compile_time_secs")
    before = {k: getattr(jax.config, k) for k in names}
    # JAX sets its cache up once, at its first use, from the settings of that moment: reset it
    # on entry (so it opens this folder) and on exit (so that later compiles see no folder).
    # A kernel compiles in well under JAX's default threshold of 1 s: store every one.
    cc.reset_cache()
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    try:
        yield folder
    finally:
        for k, v in before.items():
            jax.config.update(k, v)
        cc.reset_cache()
