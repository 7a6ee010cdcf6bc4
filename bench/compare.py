"""Runs side by side (``python -m bench compare PATH...``): the same workloads on several machines.

A workload is one kernel: (suite, problem, variant, batch size, optimizer, lanes). Each run gives
it one ``run_s`` (the median of its timed repeats); the table shows it in milliseconds for every
run, and the speedup of each run over the first path given (``first run_s / this run_s``: above 1
means faster than the first). Runs are named by machine (backend, device kind, host), or by their
folder names when two runs come from the same machine.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench import runs
from bench.errors import UserError
from bench.tables import md_table

WORKLOAD = ["suite", "problem", "variant", "batch_size", "optimizer", "lanes"]


def _sources(path: Path) -> list[Path]:
    """The lanes files a path stands for: a lanes file, a run folder, or a folder of runs."""
    path = Path(path)
    if path.is_file():
        if path.name.startswith("lanes.") and path.suffix in (".parquet", ".csv"):
            return [path]
        raise UserError(f"{path}: not a lanes.parquet or lanes.csv file")
    if not path.is_dir():
        raise UserError(f"{path}: no such file or folder")
    own = runs.lanes_file(path)
    if own is not None:
        return [own]
    # in a folder of runs, an unfinished run (meta.json not complete) is not a result yet
    found = [f for d in runs.run_folders(path) if runs.is_complete(d) and (f := runs.lanes_file(d))]
    if not found:
        raise UserError(f"{path}: no lanes file in it or in its sub-folders")
    return found


def load(paths: list[Path]) -> pd.DataFrame:
    """Lanes of every run under ``paths``, in the order given, with columns ``run`` and ``label``.

    ``run`` numbers the runs from 0 (the first path's first run is the reference); ``label`` is
    "backend device-kind @ host", or the run folder's name when two runs share a machine.

    Raises:
        UserError: no run found, a path that does not exist.
        RunFolderError: a run folder or lanes file that cannot be read.
    """
    files: list[Path] = []
    for p in paths:
        files += _sources(Path(p))
    if not files:
        raise UserError("compare needs at least one run (a run folder, lanes file or runs folder)")
    frames, machines, folders = [], [], []
    for i, f in enumerate(files):
        df = runs.read_lanes_file(f, [*WORKLOAD, "run_s", "compile_s"]).copy()
        env = runs.folder_env(f.parent)
        first = df.iloc[0] if len(df) else {}
        key = {k: str(env.get(k) or first.get(k, "?")) for k in ("backend", "device_kind", "host")}
        device = key["device_kind"]
        if key["backend"] == "cpu":
            device = str(env.get("cpu") or first.get("cpu", device))
        machines.append(f"{key['backend']} {device} @ {key['host']}")
        folders.append(f.parent.name)
        df["run"] = i
        frames.append(df)
    labels = machines if len(set(machines)) == len(machines) else folders
    seen: dict[str, int] = {}
    for i, name in enumerate(labels):  # the same folder given twice: number the repeats
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            labels[i] = f"{name} ({seen[name]})"
    for df, label, folder, machine in zip(frames, labels, folders, machines, strict=True):
        df["label"] = label
        df["folder"] = folder
        df["machine"] = machine
    return pd.concat(frames, ignore_index=True)


def _ms(v) -> str:
    return "-" if pd.isna(v) else f"{v * 1e3:.3g}"


def render(df: pd.DataFrame) -> str:
    """A markdown table: one row per workload, run ms and speedup over the first run per run.

    Raises:
        UserError: no run in ``df``, or (with several run_ids) no workload that two run_ids share.
    """
    if df is None or df.empty or "run" not in df:
        raise UserError("compare needs at least one run with lanes")
    missing = [c for c in [*WORKLOAD, "run_s", "compile_s"] if c not in df]
    if missing:
        raise UserError(f"lanes lack the columns {missing}")
    run_ids = sorted(df["run"].unique())
    labels = {}
    for r in run_ids:
        first = df.loc[df["run"] == r].iloc[0]
        label, folder, machine = (str(first.get(k, "")) for k in ("label", "folder", "machine"))
        labels[r] = f"{label}, `{folder}`" if label == machine else f"{label}, {machine}"
    agg = df.groupby([*WORKLOAD, "run"], sort=False)[["run_s", "compile_s"]].median().reset_index()
    run_s = agg.pivot_table(index=WORKLOAD, columns="run", values="run_s", sort=False)
    comp = agg.pivot_table(index=WORKLOAD, columns="run", values="compile_s", sort=False)
    run_s = run_s.reindex(columns=run_ids)
    comp = comp.reindex(columns=run_ids)
    if len(run_ids) > 1 and not (run_s.notna().sum(axis=1) > 1).any():
        raise UserError(
            "nothing matches: no workload (suite, problem, variant, batch size, optimizer, lanes) "
            "appears in more than one of the run_ids"
        )
    letters = {r: _letter(i) for i, r in enumerate(run_ids)}
    ref = run_ids[0]
    header = ["suite", "problem", "variant", "batch", "optimizer", "lanes"]
    header += [f"{letters[r]} run ms" for r in run_ids]
    header += [f"{letters[r]} speedup vs {letters[ref]}" for r in run_ids[1:]]
    header += [f"{letters[r]} compile s" for r in run_ids]
    rows = []
    for key in run_s.index:
        t = run_s.loc[key]
        row = [str(k) for k in key]
        row += [_ms(t[r]) for r in run_ids]
        row += [
            "-" if pd.isna(t[ref]) or pd.isna(t[r]) or t[r] <= 0 else f"{t[ref] / t[r]:.2f}"
            for r in run_ids[1:]
        ]
        row += ["-" if pd.isna(comp.loc[key, r]) else f"{comp.loc[key, r]:.3g}" for r in run_ids]
        rows.append(row)
    lines = [f"- {letters[r]}: {labels[r]}" for r in run_ids]
    lines += [
        "",
        "run ms: median of the timed run_ids of the whole kernel (all lanes), in milliseconds.",
    ]
    if len(run_ids) > 1:
        a = letters[ref]
        lines.append(f"speedup vs {a}: {a} run ms / that run's run ms (above 1: faster than {a}).")
    # batch size and every number right-aligned
    lines += ["", md_table(header, rows, right={3, *range(5, len(header))})]
    return "\n".join(lines) + "\n"


def _letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, rem = divmod(i - 1, 26)
        s = chr(65 + rem) + s
    return s
