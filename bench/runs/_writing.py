"""Making and filling run folders: names, exclusive creation, entries, resuming (bench.runs)."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pandas as pd

from bench.errors import RunFolderError

try:
    import fcntl
except ImportError:  # not POSIX: sessions are not locked
    fcntl = None
from bench.runs._files import (
    LANE_SCALING,
    NAME_RE,
    SAME_ENV,
    atomic_write,
    committed_curves_bytes,
    concat_parts,
    marked_parts,
    read_meta,
    write_json,
    write_meta,
)

# ---------------------------------------------------------------------------------- names


def slug(text: str) -> str:
    """File-name-safe form of a name (a problem, a suite, a device kind): the one rule for every
    file and folder name the harness derives from a name.

    Examples:
        >>> slug("a b/c"), slug("breast_cancer"), slug("NVIDIA H100 80GB HBM3")
        ('a-b-c', 'breast_cancer', 'NVIDIA-H100-80GB-HBM3')
    """
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-") or "x"


def check_name(name: str) -> str:
    """A suite name as a folder label: refuse anything that could be a path.

    Raises:
        RunFolderError: for ``/``, ``\\``, ``..``, a leading ``.``, or other characters.

    Examples:
        >>> check_name("smoke")
        'smoke'
        >>> check_name("../x")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        bench.errors.RunFolderError: suite name '../x' is not a label: ...
    """
    if not isinstance(name, str) or not NAME_RE.fullmatch(name) or ".." in name:
        raise RunFolderError(
            f"suite name {name!r} is not a label: use letters, digits, '.', '_' or '-', "
            "not starting with '.'"
        )
    return name


def run_prefix(suite: str, env: dict) -> str:
    """Leading part of a run folder name: suite, backend and device."""
    return f"{check_name(suite)}__{env['backend']}-{slug(env['device_kind']).lower()}"


def utc_stamp() -> str:
    """The stamp that ends a new folder's name (a function, so a test can pin the clock)."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def create(out: Path, prefix: str, *, parts: bool = True, stamp: str | None = None) -> Path:
    """Make a new, empty run folder ``out/<prefix>__<stamp>`` that no other run holds.

    The folder is created exclusively: when the name is taken (another run started in the same
    second), ``-2``, ``-3``, ... is appended, so no two runs ever share a folder.

    Args:
        out: the folder of run folders (made if missing).
        prefix: :func:`run_prefix`.
        parts: make the ``parts/`` sub-folder (a scaling folder has none).
        stamp: the name's stamp (default :func:`utc_stamp`, now).

    Returns:
        The new folder (with an empty ``parts/`` when ``parts``).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    base = f"{prefix}__{stamp or utc_stamp()}"
    for k in range(1, 10_000):
        path = out / (base if k == 1 else f"{base}-{k}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        if parts:
            (path / "parts").mkdir()
        return path
    raise RunFolderError(f"{out}: no free run folder name for {base}")


def suite_file_label(path: Path) -> str:
    """How meta.json names a suite file: relative to the working folder, else its file name
    (never the machine's absolute path)."""
    path = Path(path).resolve()
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.name


def suite_hash(fingerprints: Iterable[tuple[str, str]]) -> str:
    """One hash of a suite's definition: its entries' (key, fingerprint) pairs, in order.

    Examples:
        >>> suite_hash([("p__batch__sgd", "ab")]) == suite_hash([("p__batch__sgd", "ab")])
        True
        >>> suite_hash([("p__batch__sgd", "ab")]) == suite_hash([("p__batch__sgd", "cd")])
        False
    """
    blob = json.dumps([list(p) for p in fingerprints])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def save_entry(
    run_dir: Path,
    key: str,
    fingerprint: str,
    lanes: pd.DataFrame,
    curves: pd.DataFrame,
    hits: pd.DataFrame | None = None,
    params: pd.DataFrame | None = None,
) -> None:
    """Save one finished entry: its parts, then its rows in the combined tables, marker last.

    Args:
        run_dir: the run folder.
        key: ``Entry.key`` (also the rows' problem__variant__optimizer).
        fingerprint: ``Entry.fingerprint()``: a resumed run skips the entry only if it matches.
        lanes: the entry's lane rows.
        curves: the entry's curve rows.
        hits: the entry's steps to each target (one row per lane and target), if any.
        params: the entry's parameters along the run (one row per lane and point, the
            lane's final parameters last: ``bench.run.trajectory``), if recorded.
    """
    run_dir = Path(run_dir)
    parts = run_dir / "parts"
    atomic_write(parts / f"{key}.lanes.parquet", partial(lanes.to_parquet, index=False))
    atomic_write(parts / f"{key}.curves.parquet", partial(curves.to_parquet, index=False))
    if hits is not None:
        atomic_write(parts / f"{key}.hits.parquet", partial(hits.to_parquet, index=False))
    if params is not None:
        atomic_write(parts / f"{key}.params.parquet", partial(params.to_parquet, index=False))
    _append_lanes(run_dir, lanes)
    curves_bytes = _append_curves(run_dir / "curves.csv.gz", curves)
    write_json(
        parts / f"{key}.json",
        {"key": key, "fingerprint": fingerprint, "curves_bytes": curves_bytes},
    )


def _append_lanes(run_dir: Path, lanes: pd.DataFrame) -> None:
    """Append the rows to lanes.csv; when their columns differ from the file's (an entry with
    baselines after one without), rewrite it from the marked parts plus these rows instead."""
    path = run_dir / "lanes.csv"
    if path.is_file() and path.stat().st_size:
        header = list(pd.read_csv(path, nrows=0).columns)
        if header == [str(c) for c in lanes.columns]:
            with path.open("a") as f:
                lanes.to_csv(f, index=False, header=False)
            return
        lanes = pd.concat([*marked_parts(run_dir, "lanes").values(), lanes], ignore_index=True)
    atomic_write(path, partial(lanes.to_csv, index=False))


def _append_curves(path: Path, curves: pd.DataFrame) -> int:
    """Append one gzip member holding the rows (header only in the first); return the new size."""
    first = not path.is_file() or path.stat().st_size == 0
    member = gzip.compress(curves.to_csv(index=False, header=first).encode(), mtime=0)
    with path.open("ab") as f:
        f.write(member)
    return path.stat().st_size


def finish(run_dir: Path, keys: list[str]) -> pd.DataFrame:
    """Write the run's parquet tables (and lanes.csv in suite order) from the marked parts.

    Called once per session, when it ends. Returns the lanes (empty when nothing is marked).
    """
    run_dir = Path(run_dir)
    lanes = concat_parts(marked_parts(run_dir, "lanes", keys))
    if lanes.empty:
        return lanes
    curves = concat_parts(marked_parts(run_dir, "curves", keys))
    atomic_write(run_dir / "lanes.csv", partial(lanes.to_csv, index=False))
    atomic_write(run_dir / "lanes.parquet", partial(lanes.to_parquet, index=False))
    atomic_write(run_dir / "curves.parquet", partial(curves.to_parquet, index=False))
    hits = concat_parts(marked_parts(run_dir, "hits", keys, optional=True))
    if not hits.empty:  # small: combined once per session, like the parquet tables
        atomic_write(run_dir / "hits.parquet", partial(hits.to_parquet, index=False))
        atomic_write(run_dir / "hits.csv", partial(hits.to_csv, index=False))
    params = concat_parts(marked_parts(run_dir, "params", keys, optional=True))
    if not params.empty:  # entries without trajectories have no part: NaN in their columns
        atomic_write(run_dir / "params.parquet", partial(params.to_parquet, index=False))
    return lanes


def prepare_resume(run_dir: Path) -> None:
    """Bring a folder left by a killed or partial session back to exactly its marked entries.

    The parquet tables are dropped (rewritten when this session ends), lanes.csv is rebuilt from
    the marked parts and curves.csv.gz is cut back to its last committed byte.

    Raises:
        RunFolderError: curves.csv.gz is shorter than a marker says.
    """
    run_dir = Path(run_dir)
    for name in ("lanes.parquet", "curves.parquet", "hits.parquet", "hits.csv", "params.parquet"):
        (run_dir / name).unlink(missing_ok=True)
    lanes = concat_parts(marked_parts(run_dir, "lanes"))
    if lanes.empty:
        (run_dir / "lanes.csv").unlink(missing_ok=True)
    else:
        atomic_write(run_dir / "lanes.csv", partial(lanes.to_csv, index=False))
    gz, committed = run_dir / "curves.csv.gz", committed_curves_bytes(run_dir)
    size = gz.stat().st_size if gz.is_file() else 0
    if size < committed:
        raise RunFolderError(f"{gz}: {size} bytes, but its entries' markers committed {committed}")
    if size > committed:
        os.truncate(gz, committed)


# ---------------------------------------------------------------------------------- resuming


def check_resumable(old_meta: dict, suite: str, definition: str, env: dict, run_dir: Path) -> None:
    """Refuse to add to a run folder of another suite, suite definition, machine or software.

    Args:
        old_meta: the folder's meta.json.
        suite: the suite's name.
        definition: :func:`suite_hash` of the suite being run.
        env: ``bench.envinfo.describe()`` of this process.
        run_dir: the folder (for the message).

    Raises:
        RunFolderError: naming what differs.
    """
    if old_meta.get("suite") != suite:
        raise RunFolderError(
            f"--resume {run_dir}: a run of suite {old_meta.get('suite')!r}, not {suite!r}"
        )
    if old_meta.get("suite_hash") != definition:
        raise RunFolderError(
            f"--resume {run_dir}: made from another definition of suite {suite!r} "
            f"({old_meta.get('suite_file', 'an unknown file')}); start a new run without --resume"
        )
    old_env = old_meta.get("env", {})
    for k in SAME_ENV:
        if old_env.get(k) != env.get(k):
            raise RunFolderError(
                f"--resume {run_dir}: it ran with {k} = {old_env.get(k)!r}, this is "
                f"{env.get(k)!r}; its rows would not be comparable: start a new run"
            )


def find_resumable(out: Path, suite: str, env: dict) -> Path | None:
    """The newest unfinished run folder of this suite on this backend and device, if any."""
    prefix = run_prefix(suite, env) + "__"
    for d in sorted(Path(out).glob(prefix + "*"), reverse=True):
        if (d / "meta.json").is_file() and not read_meta(d)["complete"]:
            return d
    return None


# ---------------------------------------------------------------------------------- scaling


def write_scaling(out: Path, suite: str, env: dict, table: pd.DataFrame, meta: dict) -> Path:
    """A new folder ``scaling-<suite>__<machine>__<stamp>`` with scaling.csv and meta.json."""
    folder = create(out, f"scaling-{run_prefix(suite, env)}", parts=False)
    atomic_write(folder / "scaling.csv", partial(table.to_csv, index=False))
    write_meta(folder, {"kind": "scaling", "suite": suite, "env": env, **meta})
    return folder


def write_lane_scaling(out: Path, suite: str, env: dict, table: pd.DataFrame, meta: dict) -> Path:
    """A new folder ``lanes-<suite>__<machine>__<stamp>`` with lane_scaling.csv and meta.json
    (kind "scaling", so that no reader of runs takes it for one; axis "lanes")."""
    folder = create(out, f"lanes-{run_prefix(suite, env)}", parts=False)
    atomic_write(folder / LANE_SCALING, partial(table.to_csv, index=False))
    meta = {"kind": "scaling", "axis": "lanes", "suite": suite, "env": env, **meta}
    write_meta(folder, meta)
    return folder


@contextlib.contextmanager
def session_lock(run_dir: Path):
    """Hold an exclusive lock on a run folder while a session writes to it.

    ``flock`` on the folder's ``parts/`` directory (no extra file to clean up): the system drops
    it when the process ends, even by SIGKILL, so a killed run never leaves a stale lock, and two
    ``--resume`` sessions can never write one folder at once.

    Raises:
        RunFolderError: another process holds the folder.
    """
    parts = Path(run_dir) / "parts"
    parts.mkdir(exist_ok=True)
    fd = os.open(parts, os.O_RDONLY)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RunFolderError(
                    f"{run_dir}: another bench run is writing to this folder"
                ) from None
        yield
    finally:
        os.close(fd)
