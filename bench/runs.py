"""The run folder: the only code that reads or writes ``meta.json``, the parts, lanes and curves.

Layout of one run, ``OUT/<suite>__<backend>-<device>__<UTC stamp>[-K]/``::

    meta.json                     suite, suite_hash, machine, wall_s, entries; "complete" at the end
    parts/<key>.lanes.parquet     one entry's lanes  } written first (temp file, then rename)
    parts/<key>.curves.parquet    one entry's curves }
    lanes.csv                     every marked entry's lanes: a log, this entry's rows appended
    curves.csv.gz                 every marked entry's curves: one gzip member appended per entry
    parts/<key>.json              the entry's marker, written LAST: the entry is done
    lanes.parquet, curves.parquet written once, when a session ends (suite order)

Why this order: the marker is the commit. After a kill at any moment every marked entry is in
``lanes.csv`` and ``curves.csv.gz``; what follows the last commit (rows of the entry in progress,
a torn line or gzip member) is dropped by the readers here and cut off by ``--resume``. Each entry
appends once, so saving costs O(entry), not O(run) (the old combine rewrote all four tables after
every entry: quadratic). The marker records the length of ``curves.csv.gz`` after its member, so
a reader takes only the committed bytes; lanes rows are matched to marked entries by their key.

A new folder is made with ``mkdir(exist_ok=False)``: two runs started in the same second, or two
suite files that share a ``name``, get two folders (``...Z``, ``...Z-2``), never one. Only
``--resume`` continues a folder, and only one made by the same suite definition (``suite_hash``)
on the same machine and software.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import json
import os
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pandas as pd

from bench.errors import NoRunError, RunFolderError

NAME_RE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")  # no leading ".", no separator
META_KEYS = ("suite", "env", "complete")
# the columns that name an entry; Entry.key is problem__variant__optimizer
ENTRY_COLUMNS = ["suite", "problem", "variant", "batch_size", "optimizer"]
# what the report needs of every lane
REPORT_COLUMNS = [*ENTRY_COLUMNS, "kind", "n", "d", "lr", "seed", "status", "tol", "f0"]
REPORT_COLUMNS += ["f_star", "final_subopt", "compile_s", "run_s"]
# the software and machine a resumed run must share with the folder it continues
SAME_ENV = (
    "backend",
    "device_kind",
    "device_count",
    "host",
    "x64",
    "jax_version",
    "jaxlib_version",
    "optax_version",
)


# ---------------------------------------------------------------------------------- names


def slug(text: str) -> str:
    """File-name-safe form of a device kind.

    Examples:
        >>> slug("NVIDIA H100 80GB HBM3")
        'nvidia-h100-80gb-hbm3'
    """
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-").lower()


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
    return f"{check_name(suite)}__{env['backend']}-{slug(env['device_kind'])}"


def utc_stamp() -> str:
    """The stamp that ends a new folder's name (a function, so a test can pin the clock)."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def create(out: Path, prefix: str, *, parts: bool = True) -> Path:
    """Make a new, empty run folder ``out/<prefix>__<stamp>`` that no other run holds.

    The folder is created exclusively: when the name is taken (another run started in the same
    second), ``-2``, ``-3``, ... is appended, so no two runs ever share a folder.

    Returns:
        The new folder (with an empty ``parts/`` when ``parts``).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    base = f"{prefix}__{utc_stamp()}"
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


# ---------------------------------------------------------------------------------- writing


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same folder, then rename over ``path``."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json(path: Path, obj) -> None:
    """``obj`` as indented JSON, atomically."""
    atomic_write(path, lambda p: p.write_text(json.dumps(obj, indent=2, default=str) + "\n"))


def write_text(path: Path, text: str) -> None:
    """``text`` into ``path`` atomically (a reader never sees half a file)."""
    atomic_write(path, lambda p: p.write_text(text))


def write_meta(run_dir: Path, meta: dict) -> None:
    write_json(Path(run_dir) / "meta.json", meta)


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
    run_dir: Path, key: str, fingerprint: str, lanes: pd.DataFrame, curves: pd.DataFrame
) -> None:
    """Save one finished entry: its parts, then its rows in the combined tables, marker last.

    Args:
        run_dir: the run folder.
        key: ``Entry.key`` (also the rows' problem__variant__optimizer).
        fingerprint: ``Entry.fingerprint()``: a resumed run skips the entry only if it matches.
        lanes: the entry's lane rows.
        curves: the entry's curve rows.
    """
    run_dir = Path(run_dir)
    parts = run_dir / "parts"
    atomic_write(parts / f"{key}.lanes.parquet", partial(lanes.to_parquet, index=False))
    atomic_write(parts / f"{key}.curves.parquet", partial(curves.to_parquet, index=False))
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
        lanes = pd.concat([*_marked_parts(run_dir, "lanes").values(), lanes], ignore_index=True)
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
    lanes = _concat(_marked_parts(run_dir, "lanes", keys))
    if lanes.empty:
        return lanes
    curves = _concat(_marked_parts(run_dir, "curves", keys))
    atomic_write(run_dir / "lanes.csv", partial(lanes.to_csv, index=False))
    atomic_write(run_dir / "lanes.parquet", partial(lanes.to_parquet, index=False))
    atomic_write(run_dir / "curves.parquet", partial(curves.to_parquet, index=False))
    return lanes


def prepare_resume(run_dir: Path) -> None:
    """Bring a folder left by a killed or partial session back to exactly its marked entries.

    The parquet tables are dropped (rewritten when this session ends), lanes.csv is rebuilt from
    the marked parts and curves.csv.gz is cut back to its last committed byte.

    Raises:
        RunFolderError: curves.csv.gz is shorter than a marker says.
    """
    run_dir = Path(run_dir)
    for name in ("lanes.parquet", "curves.parquet"):
        (run_dir / name).unlink(missing_ok=True)
    lanes = _concat(_marked_parts(run_dir, "lanes"))
    if lanes.empty:
        (run_dir / "lanes.csv").unlink(missing_ok=True)
    else:
        atomic_write(run_dir / "lanes.csv", partial(lanes.to_csv, index=False))
    gz, committed = run_dir / "curves.csv.gz", _committed_curves_bytes(run_dir)
    size = gz.stat().st_size if gz.is_file() else 0
    if size < committed:
        raise RunFolderError(f"{gz}: {size} bytes, but its entries' markers committed {committed}")
    if size > committed:
        os.truncate(gz, committed)


# ---------------------------------------------------------------------------------- markers


def markers(run_dir: Path) -> dict[str, dict]:
    """The done entries of a run folder: key -> marker.

    Raises:
        RunFolderError: a marker that is not a JSON object with key and fingerprint.
    """
    out = {}
    for path in sorted((Path(run_dir) / "parts").glob("*.json")):
        m = _read_json(path)
        if not isinstance(m, dict) or not {"key", "fingerprint"} <= set(m):
            raise RunFolderError(
                f"{path}: not an entry marker (a JSON object with key, fingerprint)"
            )
        out[m["key"]] = m
    return out


def _committed_curves_bytes(run_dir: Path) -> int:
    return max((int(m.get("curves_bytes", 0)) for m in markers(run_dir).values()), default=0)


def _marked_parts(run_dir: Path, table: str, keys: list[str] | None = None) -> dict:
    """key -> the part table of each marked entry, in ``keys`` order (default: marker order)."""
    done = markers(run_dir)
    order = [k for k in keys if k in done] if keys is not None else list(done)
    return {k: read_table(Path(run_dir) / "parts" / f"{k}.{table}.parquet") for k in order}


def _concat(frames: dict) -> pd.DataFrame:
    return pd.concat(frames.values(), ignore_index=True) if frames else pd.DataFrame()


def entry_keys(df: pd.DataFrame) -> pd.Series:
    """Each row's entry key, problem__variant__optimizer (as ``Entry.key``)."""
    return (
        df["problem"].astype(str)
        + "__"
        + df["variant"].astype(str)
        + "__"
        + df["optimizer"].astype(str)
    )


# ---------------------------------------------------------------------------------- reading


def _read_json(path: Path):
    try:
        return json.loads(Path(path).read_text())
    except json.JSONDecodeError as e:
        raise RunFolderError(f"{path}: not JSON ({e.msg} at line {e.lineno})") from None
    except UnicodeDecodeError:
        raise RunFolderError(f"{path}: not UTF-8 text") from None


def read_meta(run_dir: Path) -> dict:
    """A run folder's ``meta.json``, checked.

    Raises:
        RunFolderError: missing, not JSON, not an object, or missing suite / env / complete.
    """
    path = Path(run_dir) / "meta.json"
    if not path.is_file():
        raise RunFolderError(f"{path}: missing: not a run folder")
    meta = _read_json(path)
    if not isinstance(meta, dict):
        raise RunFolderError(f"{path}: not a JSON object but {type(meta).__name__}")
    missing = [k for k in META_KEYS if k not in meta]
    if missing:
        raise RunFolderError(f"{path}: missing keys {missing}: not a gdjax run folder")
    if not isinstance(meta["env"], dict):
        raise RunFolderError(f"{path}: env is not an object")
    return meta


def read_table(path: Path, columns: Iterable[str] = ()) -> pd.DataFrame:
    """A parquet, csv or csv.gz table, with the ``columns`` it must have and at least one row.

    Raises:
        RunFolderError: unreadable (truncated, not that format), missing columns, or empty.
    """
    path = Path(path)
    try:
        df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except FileNotFoundError:
        raise RunFolderError(f"{path}: missing") from None
    except (OSError, ValueError, EOFError, UnicodeDecodeError, *_arrow_errors()) as e:
        raise RunFolderError(f"{path}: unreadable ({_first_line(e)})") from None
    return check_table(df, path, columns)


def check_table(df: pd.DataFrame, path: Path, columns: Iterable[str] = ()) -> pd.DataFrame:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise RunFolderError(f"{path}: missing columns {missing}")
    if df.empty:
        raise RunFolderError(f"{path}: no rows")
    return df


def _arrow_errors() -> tuple:
    try:
        import pyarrow
    except ImportError:
        return ()
    return (pyarrow.ArrowException,)


def _first_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text[:200]


def lanes_file(run_dir: Path) -> Path | None:
    """The folder's combined lanes table (parquet preferred), or None."""
    for name in ("lanes.parquet", "lanes.csv"):
        if (Path(run_dir) / name).is_file():
            return Path(run_dir) / name
    return None


def read_lanes(run_dir: Path, columns: Iterable[str] = ENTRY_COLUMNS) -> pd.DataFrame:
    """A run folder's lanes: every row of a complete run, only marked entries of another.

    Raises:
        RunFolderError: no lanes file, or one that is unreadable, lacks ``columns`` or is empty.
    """
    run_dir = Path(run_dir)
    meta = read_meta(run_dir)
    path = lanes_file(run_dir)
    if path is None:
        raise RunFolderError(f"{run_dir}: no lanes.parquet or lanes.csv")
    if path.suffix == ".csv" and not meta["complete"]:
        return _marked_rows(_read_csv_log(path), path, set(markers(run_dir)), columns)
    return read_table(path, columns)


def read_lanes_file(path: Path, columns: Iterable[str] = ENTRY_COLUMNS) -> pd.DataFrame:
    """A lanes file given by path: read as :func:`read_lanes` when it is its folder's own table
    (so an unfinished run gives only its marked entries), else as a loose table."""
    path, folder = Path(path), Path(path).parent
    if (folder / "meta.json").is_file() and lanes_file(folder) == path:
        return read_lanes(folder, columns)
    return read_table(path, columns)


def _read_csv_log(path: Path) -> pd.DataFrame:
    """A csv log that may end in a torn line (a kill mid-append): skip lines that do not parse."""
    try:
        return pd.read_csv(path, on_bad_lines="skip")
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise RunFolderError(f"{path}: unreadable ({_first_line(e)})") from None


def _marked_rows(df, path: Path, done: set[str], columns) -> pd.DataFrame:
    check_table(df, path, [*ENTRY_COLUMNS, *columns])
    return df[entry_keys(df).isin(done)].reset_index(drop=True)


def read_curves(run_dir: Path) -> pd.DataFrame | None:
    """A run folder's curves (parquet, else the committed part of csv.gz), or None if neither.

    Raises:
        RunFolderError: a curves file that is unreadable or empty.
    """
    run_dir = Path(run_dir)
    pq, gz = run_dir / "curves.parquet", run_dir / "curves.csv.gz"
    if pq.is_file():
        return read_table(pq, ENTRY_COLUMNS)
    if not gz.is_file():
        return None
    if read_meta(run_dir)["complete"]:
        return read_table(gz, ENTRY_COLUMNS)
    committed = _committed_curves_bytes(run_dir)
    try:
        text = gzip.decompress(gz.read_bytes()[:committed]) if committed else b""
    except (OSError, EOFError) as e:
        raise RunFolderError(f"{gz}: unreadable ({_first_line(e)})") from None
    if not text:
        return None
    return read_table_bytes(text, gz)


def read_table_bytes(text: bytes, path: Path) -> pd.DataFrame:
    try:
        return check_table(pd.read_csv(io.BytesIO(text)), path, ENTRY_COLUMNS)
    except (ValueError, UnicodeDecodeError) as e:
        raise RunFolderError(f"{path}: unreadable ({_first_line(e)})") from None


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


# ---------------------------------------------------------------------------------- discovery


@dataclasses.dataclass
class Run:
    """One run folder: its meta, its lanes and (loaded on demand) its curves.

    Attributes:
        path: the run folder.
        meta: ``meta.json``.
        lanes: one row per lane.
        plots: problem -> plot paths relative to the results folder (filled in by the report).
    """

    path: Path
    meta: dict
    lanes: pd.DataFrame
    plots: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    _curves: pd.DataFrame | None = dataclasses.field(default=None, repr=False)

    @property
    def env(self) -> dict:
        return self.meta.get("env", {})

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def stamp(self) -> str:
        """The UTC stamp at the end of the folder name (``suite__backend-device__STAMP``)."""
        return self.name.rsplit("__", 1)[-1]

    @property
    def machine(self) -> tuple[str, str, str, str]:
        """(suite, backend, device kind, host): one newest run is kept per key."""
        e = self.env
        return (
            str(self.meta.get("suite", "")),
            str(e.get("backend", "")),
            str(e.get("device_kind", "")),
            str(e.get("host", "")),
        )

    @property
    def device(self) -> str:
        """The CPU model on a CPU backend, else the device kind."""
        e = self.env
        if e.get("backend") == "cpu":
            return str(e.get("cpu") or e.get("device_kind", "cpu"))
        return str(e.get("device_kind", "unknown device"))

    @property
    def heading(self) -> str:
        count = int(self.env.get("device_count", 1))
        devices = f"{count} device" + ("" if count == 1 else "s")
        return f"{self.meta.get('suite')} on {self.device} ({self.env.get('backend')}, {devices})"

    def curves(self) -> pd.DataFrame | None:
        """The run's curves, or None when it has none."""
        if self._curves is None:
            self._curves = read_curves(self.path)
        return self._curves


def run_folders(runs_dir: Path) -> list[Path]:
    """``runs_dir`` itself if it holds ``meta.json``, else its sub-folders that do (sorted)."""
    runs_dir = Path(runs_dir)
    if (runs_dir / "meta.json").is_file():
        return [runs_dir]
    if not runs_dir.is_dir():
        return []
    return sorted(d for d in runs_dir.iterdir() if (d / "meta.json").is_file())


def is_scaling(meta: dict) -> bool:
    return meta.get("kind") == "scaling"


def discover(runs_dir: Path) -> list[Run]:
    """The newest complete run of each (suite, backend, device kind, host) under ``runs_dir``.

    Every folder with a meta.json is read: a corrupt one raises (naming its file) instead of
    being skipped, so the report never falls back silently to an older run of that machine.

    Raises:
        NoRunError: no complete run there.
        RunFolderError: a run folder that cannot be read.
    """
    newest: dict[tuple, Run] = {}
    for d in run_folders(runs_dir):
        meta = read_meta(d)
        if is_scaling(meta) or not meta["complete"]:
            continue
        run = Run(d, meta, read_lanes(d, REPORT_COLUMNS))
        old = newest.get(run.machine)
        if old is None or (run.stamp, run.name) > (old.stamp, old.name):
            newest[run.machine] = run
    if not newest:
        raise NoRunError(
            f"no complete run folder (meta.json with lanes) in {runs_dir}; "
            "make one with `python -m bench run --suite NAME`"
        )
    return [newest[k] for k in sorted(newest)]


def is_complete(run_dir: Path) -> bool:
    return bool(read_meta(run_dir)["complete"])


def folder_env(folder: Path) -> dict:
    """The env of the run folder holding a lanes file; {} for a loose lanes file."""
    return read_meta(folder)["env"] if (Path(folder) / "meta.json").is_file() else {}


# ---------------------------------------------------------------------------------- scaling


def write_scaling(out: Path, suite: str, env: dict, table: pd.DataFrame, meta: dict) -> Path:
    """A new folder ``scaling-<suite>__<machine>__<stamp>`` with scaling.csv and meta.json."""
    folder = create(out, f"scaling-{run_prefix(suite, env)}", parts=False)
    atomic_write(folder / "scaling.csv", partial(table.to_csv, index=False))
    write_meta(folder, {"kind": "scaling", "suite": suite, "env": env, **meta})
    return folder


def newest_scaling(runs_dir: Path, host: str) -> tuple[dict, pd.DataFrame] | None:
    """The newest complete scaling folder of ``host``: its meta and table."""
    best = None
    for d in run_folders(runs_dir):
        if not (d / "scaling.csv").is_file():
            continue
        meta = read_meta(d)
        if meta["complete"] and meta["env"].get("host") == host:
            if best is None or d.name > best[0].name:
                best = (d, meta)
    if best is None:
        return None
    return best[1], read_table(best[0] / "scaling.csv", ["problem", "devices", "run_s"])
