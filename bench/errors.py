"""The harness's user errors: what the person at the command line can fix.

The CLI turns these (and ``bench.run.suites.SuiteError``) into one line on stderr and exit status 2.
Every other exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class UserError(ValueError):
    """An input the user can fix: a bad flag value, a suite name, a path, a run folder.

    It subclasses ValueError so library callers that catch ValueError keep working; the CLI
    catches this class only, never ValueError in general.

    Examples:
        >>> isinstance(UserError("--repeats must be >= 1"), ValueError)
        True
    """


class RunFolderError(UserError):
    """A run folder that cannot be read or continued: its message names the file at fault."""


class NoRunError(RunFolderError, FileNotFoundError):
    """No complete run where one was looked for (also a FileNotFoundError)."""
