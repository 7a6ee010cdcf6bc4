"""Run-folder files: atomic writes, meta.json, entry markers, checked tables (bench.runs)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

from bench.errors import RunFolderError

NAME_RE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")  # no leading ".", no separator
META_KEYS = ("suite", "env", "complete")
# the table of a lane-scaling folder (``bench scaling --lanes``): kind "scaling", axis "lanes"
LANE_SCALING = "lane_scaling.csv"
# the columns that name an entry; Entry.key is problem__variant__optimizer
ENTRY_COLUMNS = ["suite", "problem", "variant", "batch_size", "optimizer"]
# what the report needs of every lane
REPORT_COLUMNS = [*ENTRY_COLUMNS, "kind", "n", "d", "lr", "seed", "status", "tol", "f0"]
REPORT_COLUMNS += ["f_star", "final_subopt", "compile_s", "run_s"]
# what decides a lane's numbers, recorded since the backends issue (24): a lanes table written
# before has none of them, and reads them as missing (NA)
PROVENANCE_COLUMNS = ("precision", "chunk", "unroll", "xla_flags", "jax_flags")
# columns that hold numbers wherever a table has them (a hand-edited "0.1x" is refused on read)
NUMBER_COLUMNS = ("batch_size", "n", "d", "lr", "seed", "tol", "f0", "f_star", "target")
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


# ---------------------------------------------------------------------------------- reading


def read_json(path: Path):
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
    meta = read_json(path)
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
    except (OSError, ValueError, EOFError, UnicodeDecodeError, *arrow_errors()) as e:
        raise RunFolderError(f"{path}: unreadable ({first_line(e)})") from None
    return check_table(df, path, columns)


def check_table(df: pd.DataFrame, path: Path, columns: Iterable[str] = ()) -> pd.DataFrame:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise RunFolderError(f"{path}: missing columns {missing}")
    if df.empty:
        raise RunFolderError(f"{path}: no rows")
    for c in NUMBER_COLUMNS:
        if c in df.columns and not pd.api.types.is_numeric_dtype(df[c]):
            bad = df[c][pd.to_numeric(df[c], errors="coerce").isna() & df[c].notna()]
            if len(bad):
                raise RunFolderError(f"{path}: column {c!r} holds {bad.iloc[0]!r}, not a number")
            df[c] = pd.to_numeric(df[c])  # numbers written as text ("0.1") are numbers
    return df


def arrow_errors() -> tuple:
    try:
        import pyarrow
    except ImportError:
        return ()
    return (pyarrow.ArrowException,)


def first_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text[:200]


# ---------------------------------------------------------------------------------- markers


def markers(run_dir: Path) -> dict[str, dict]:
    """The done entries of a run folder: key -> marker.

    Raises:
        RunFolderError: a marker that is not a JSON object with key and fingerprint.
    """
    out = {}
    for path in sorted((Path(run_dir) / "parts").glob("*.json")):
        m = read_json(path)
        if not isinstance(m, dict) or not {"key", "fingerprint"} <= set(m):
            raise RunFolderError(
                f"{path}: not an entry marker (a JSON object with key, fingerprint)"
            )
        out[m["key"]] = m
    return out


def committed_curves_bytes(run_dir: Path) -> int:
    return max((int(m.get("curves_bytes", 0)) for m in markers(run_dir).values()), default=0)


def marked_parts(
    run_dir: Path, table: str, keys: list[str] | None = None, *, optional: bool = False
) -> dict:
    """key -> the part table of each marked entry, in ``keys`` order (default: marker order).

    ``optional``: skip marked entries that have no such part (hits, which older runs lack).
    """
    done = markers(run_dir)
    order = [k for k in keys if k in done] if keys is not None else list(done)
    paths = {k: Path(run_dir) / "parts" / f"{k}.{table}.parquet" for k in order}
    return {k: read_table(p) for k, p in paths.items() if not optional or p.is_file()}


def concat_parts(frames: dict) -> pd.DataFrame:
    return pd.concat(frames.values(), ignore_index=True) if frames else pd.DataFrame()


def entry_keys(df: pd.DataFrame) -> pd.Series:
    """Each row's entry key, problem__variant__optimizer (as ``Entry.key``); a lane of a
    hyperparameter grid is labelled ``optimizer[keyword=value,...]``, its entry ``optimizer``."""
    return (
        df["problem"].astype(str)
        + "__"
        + df["variant"].astype(str)
        + "__"
        + df["optimizer"].astype(str).str.replace(r"\[[^\]]*\]$", "", regex=True)
    )
