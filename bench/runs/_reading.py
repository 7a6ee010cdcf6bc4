"""Reading run folders: lanes, curves, the newest complete run per machine (bench.runs)."""

from __future__ import annotations

import dataclasses
import gzip
import io
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from bench.errors import NoRunError, RunFolderError
from bench.runs._files import (
    ENTRY_COLUMNS,
    LANE_SCALING,
    PROVENANCE_COLUMNS,
    REPORT_COLUMNS,
    check_table,
    committed_curves_bytes,
    concat_parts,
    entry_keys,
    first_line,
    marked_parts,
    markers,
    read_meta,
    read_table,
)


def lanes_file(run_dir: Path) -> Path | None:
    """The folder's combined lanes table (parquet preferred), or None."""
    for name in ("lanes.parquet", "lanes.csv"):
        if (Path(run_dir) / name).is_file():
            return Path(run_dir) / name
    return None


def read_lanes(run_dir: Path, columns: Iterable[str] = ENTRY_COLUMNS) -> pd.DataFrame:
    """A run folder's lanes: every row of a complete run, only marked entries of another.
    Columns of :data:`PROVENANCE_COLUMNS` that an older run lacks are there, missing (NA).

    Raises:
        RunFolderError: no lanes file, or one that is unreadable, lacks ``columns`` or is empty.
    """
    return with_provenance(_read_lanes(run_dir, columns))


def with_provenance(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every column of :data:`PROVENANCE_COLUMNS` it lacks, missing (NA).

    Example:
        >>> bool(with_provenance(pd.DataFrame({"lr": [0.1]}))["precision"].isna().all())
        True
    """
    missing = [c for c in PROVENANCE_COLUMNS if c not in df.columns]
    if not missing:
        return df
    return df.assign(**{c: pd.NA for c in missing})


def _read_lanes(run_dir: Path, columns: Iterable[str]) -> pd.DataFrame:
    run_dir = Path(run_dir)
    meta = read_meta(run_dir)
    path = lanes_file(run_dir)
    if path is None:
        raise RunFolderError(f"{run_dir}: no lanes.parquet or lanes.csv")
    if path.suffix == ".csv" and not meta["complete"]:
        return _marked_rows(_read_csv_log(path), path, set(markers(run_dir)), columns)
    if path.suffix == ".csv":
        _refuse_torn(path)
    return read_table(path, columns)


def _refuse_torn(path: Path) -> None:
    """A lanes csv that must be whole (a finished run's, a loose one) and ends without a newline
    was cut mid-line: its last row would be read as a lane with missing or cut values."""
    if _torn_tail(path):
        raise RunFolderError(
            f"{path}: the last line is torn (no newline at the end: cut by a kill or a copy); "
            "its last lane is not whole: restore the file or rerun"
        )


def _torn_tail(path: Path) -> int:
    """How many bytes follow the last newline of ``path`` (0: it ends with a whole line)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - 65536))
            tail = f.read()
    except OSError as e:
        raise RunFolderError(f"{path}: unreadable ({first_line(e)})") from None
    if not tail or tail.endswith(b"\n"):
        return 0
    cut = tail.rfind(b"\n")
    return len(tail) - cut - 1 if cut >= 0 else size


def read_lanes_file(path: Path, columns: Iterable[str] = ENTRY_COLUMNS) -> pd.DataFrame:
    """A lanes file given by path: read as :func:`read_lanes` when it is its folder's own table
    (so an unfinished run gives only its marked entries), else as a loose table."""
    path, folder = Path(path), Path(path).parent
    if (folder / "meta.json").is_file() and lanes_file(folder) == path:
        return read_lanes(folder, columns)
    if path.suffix == ".csv" and path.is_file():
        _refuse_torn(path)
    return with_provenance(read_table(path, columns))


def _read_csv_log(path: Path) -> pd.DataFrame:
    """A csv log that may end in a torn line (a kill mid-append): the bytes after the last
    newline are dropped (a short line would parse as a row with missing values), and lines that
    do not parse are skipped."""
    try:
        data = path.read_bytes()
        return pd.read_csv(io.BytesIO(data[: data.rfind(b"\n") + 1]), on_bad_lines="skip")
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise RunFolderError(f"{path}: unreadable ({first_line(e)})") from None


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
    committed = committed_curves_bytes(run_dir)
    try:
        text = gzip.decompress(gz.read_bytes()[:committed]) if committed else b""
    except (OSError, EOFError) as e:
        raise RunFolderError(f"{gz}: unreadable ({first_line(e)})") from None
    if not text:
        return None
    return read_table_bytes(text, gz)


def read_hits(run_dir: Path) -> pd.DataFrame | None:
    """A run folder's steps to each target (hits.parquet, else hits.csv, else the marked parts
    of a run in progress), or None for a run that has none (made before targets existed).

    Raises:
        RunFolderError: a hits file that is unreadable or empty.
    """
    run_dir = Path(run_dir)
    for name in ("hits.parquet", "hits.csv"):
        if (run_dir / name).is_file():
            return read_table(run_dir / name, ENTRY_COLUMNS)
    parts = concat_parts(marked_parts(run_dir, "hits", optional=True))
    return None if parts.empty else parts


def read_params(run_dir: Path) -> pd.DataFrame | None:
    """A run folder's parameters along the run (params.parquet, else the marked parts of a run
    in progress): one row per lane and point of the entries that recorded them
    (``trajectories = true``), each lane's final parameters in its row with ``final`` true;
    None for a run without any (every run made before trajectories).

    Raises:
        RunFolderError: a params file that is unreadable or empty.
    """
    run_dir = Path(run_dir)
    if (run_dir / "params.parquet").is_file():
        return read_table(run_dir / "params.parquet", [*ENTRY_COLUMNS, "seed", "step", "final"])
    parts = concat_parts(marked_parts(run_dir, "params", optional=True))
    return None if parts.empty else parts


def read_table_bytes(text: bytes, path: Path) -> pd.DataFrame:
    try:
        return check_table(pd.read_csv(io.BytesIO(text)), path, ENTRY_COLUMNS)
    except (ValueError, UnicodeDecodeError) as e:
        raise RunFolderError(f"{path}: unreadable ({first_line(e)})") from None


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
    _hits: pd.DataFrame | None = dataclasses.field(default=None, repr=False)
    _params: pd.DataFrame | None = dataclasses.field(default=None, repr=False)

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

    def hits(self) -> pd.DataFrame | None:
        """The run's steps to each target, or None when it has none."""
        if self._hits is None:
            self._hits = read_hits(self.path)
        return self._hits

    def params(self) -> pd.DataFrame | None:
        """The run's parameters along the run (:func:`read_params`), or None when it has none."""
        if self._params is None:
            self._params = read_params(self.path)
        return self._params


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


def newest_lane_scaling(runs_dir: Path, host: str | None) -> tuple[dict, pd.DataFrame] | None:
    """The newest complete lane-scaling folder of ``host``: its meta and table, or None."""
    best = None
    for d in run_folders(runs_dir):
        if not (d / LANE_SCALING).is_file():
            continue
        meta = read_meta(d)
        if meta["complete"] and meta["env"].get("host") == host:
            if best is None or d.name > best[0].name:
                best = (d, meta)
    if best is None:
        return None
    columns = ["lanes", "gdjax_s", "bare_s", "gdjax_vs_bare", "gflops", "gbytes_s"]
    return best[1], read_table(best[0] / LANE_SCALING, columns)
