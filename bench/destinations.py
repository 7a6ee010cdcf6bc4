"""Where the commands write: a folder the user names, the scratch ``bench-out/`` by default, or,
with ``--publish`` only, the repository's published ``results/``.

Example:
    >>> destination(None, False, DEFAULT_OUT, "runs", "--out").as_posix()
    'bench-out/runs'
"""

from __future__ import annotations

from pathlib import Path

from bench.errors import UserError

__all__ = [
    "DEFAULT_OUT",
    "REPOSITORY",
    "SCRATCH",
    "destination",
    "folder_arg",
    "inside",
    "published",
]

#: Where a user's runs and reports go unless told otherwise (relative to the working folder;
#: the repository's .gitignore ignores it): runs under ``bench-out/runs``, the report beside them.
SCRATCH = Path("bench-out")
DEFAULT_OUT = SCRATCH / "runs"
#: The repository this ``bench`` comes from; its ``results/`` holds the published runs and
#: tables, written only with ``--publish``.
REPOSITORY = Path(__file__).resolve().parent.parent


def published() -> Path | None:
    """The repository's ``results/`` (published runs, tables and plots), or None when this
    ``bench`` is not run from a checkout (an installed copy has nothing to publish into)."""
    if (REPOSITORY / "pyproject.toml").is_file() and (REPOSITORY / "results").is_dir():
        return REPOSITORY / "results"
    return None


def inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or under it (links resolved)."""
    return path.resolve().is_relative_to(folder.resolve())


def destination(given: Path | None, publish: bool, scratch: Path, sub: str, flag: str) -> Path:
    """Where a command writes: ``given``, else the scratch default, else with ``--publish`` the
    repository's ``results/<sub>``; nothing lands in ``results/`` without ``--publish``.

    Args:
        given: the folder the user named with ``flag`` (None: not given).
        publish: ``--publish``.
        scratch: the default without ``--publish``.
        sub: the part of ``results/`` that ``--publish`` writes (``runs``, or ``""``).
        flag: the option's name, for messages.

    Returns:
        The folder (checked: not a file, nor under one).

    Raises:
        UserError: ``--publish`` with ``flag``, ``--publish`` outside a checkout, or ``given``
            inside the published ``results/`` without ``--publish``.

    Example:
        >>> destination(None, False, Path("bench-out/runs"), "runs", "--out").as_posix()
        'bench-out/runs'
    """
    results = published()
    if publish:
        if given is not None:
            raise UserError(f"--publish writes into the repository's results/: drop {flag}")
        if results is None:
            raise UserError(
                f"--publish writes into the repository's results/, and {REPOSITORY} is not a "
                "gdjax checkout: use --out / --results"
            )
        return folder_arg(results / sub, "--publish")
    if given is None:
        return folder_arg(scratch, flag)
    if results is not None and inside(given, results):
        raise UserError(
            f"{flag} {given} is inside the repository's published results/ ({results}); "
            "pass --publish (and no " + flag + ") to write there"
        )
    return folder_arg(given, flag)


def folder_arg(path: Path, flag: str) -> Path:
    """``path``, a folder to write into, checked: it and the folders above it are folders, not
    files (``mkdir`` would only say 'File exists').

    Raises:
        UserError: ``path`` or a folder above it is a file.

    Example:
        >>> folder_arg(Path("bench-out"), "--out").name
        'bench-out'
    """
    for p in [path, *path.parents]:
        if p.exists():
            if not p.is_dir():
                where = "is a file" if p == path else f"is under {p}, a file"
                raise UserError(f"{flag} {path} {where}, not a folder")
            break
    return path
