"""Loaded before any test or doctest imports gdjax: the session never uses a persistent
compilation cache, and never the user's.

The library caches its compiles in ``~/.cache/gdjax/xla`` (:mod:`gdjax._kernel.cache`). In the
tests it is off (``GDJAX_NO_CACHE=1``), so that every compile a test counts is a real one: a
cache left by an earlier test, or an earlier session, would turn a "compiles once" assertion
into one that cannot fail. Its folder is a temporary one, for the tests that turn it on (in
fresh processes, with their own folders) and in case one forgets to.
"""

import os
import shutil
import tempfile

_FOLDER = tempfile.mkdtemp(prefix="gdjax-test-cache-")
os.environ["GDJAX_NO_CACHE"] = "1"
os.environ["GDJAX_CACHE_DIR"] = _FOLDER


def pytest_unconfigure(config):
    del config
    shutil.rmtree(_FOLDER, ignore_errors=True)
