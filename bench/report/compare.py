"""Runs side by side (``python -m bench compare PATH...``): the same workloads on several machines.

A workload is one kernel: (suite, problem, variant, batch size, optimizer, lanes). Each run gives
it one ``run_s`` (the median of its timed repeats); the table shows it in milliseconds for every
run, and the speedup of each run over the first path given (``first run_s / this run_s``: above 1
means faster than the first). A second table gives steps/s (``steps_run / run_s``), GFLOP/s
(XLA's count of one step's flops over the measured time) and the steps/s ratio to the first run.
Runs are named by machine (backend, device kind, host), or by their folder names when two runs
come from the same machine.

A speed means nothing if the runs computed different things, so every run is also checked
against the first, lane by lane (lanes matched on suite, problem, variant, batch size, optimizer,
learning rate and seed): the same status, the same steps to target, and the largest relative
difference in final loss. Lanes that disagree are listed in a section of their own and counted
in the summary line. Where lanes disagree, the first suspects are named: a difference in the
float32 matmul precision the lanes ran at (TF32 on a GPU against full float32 on a CPU stalls
above targets the CPU reaches) or in their dtype, with the entries whose lanes moved.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bench import runs
from bench.entries import ENTRY, relative_difference
from bench.errors import UserError
from bench.report.tables import md_table, ms, number_text

WORKLOAD = [*ENTRY, "lanes"]
#: what identifies one lane across runs
LANE = [*ENTRY, "lr", "seed"]
#: what the agreement check reads of every lane
AGREEMENT = [*LANE, "status", "steps_to_target", "final_loss"]
#: disagreeing lanes listed in full; the count covers them all
MAX_LISTED = 20
#: what a disagreement is first blamed on, in this order (columns of :func:`disagreements`)
SUSPECTS = {"precision_in_effect": "float32 matmul precision", "dtype": "dtype"}


def precision_in_effect(df: pd.DataFrame) -> pd.Series:
    """The float32 matmul precision each lane's products ran at: "highest" on a CPU (which
    computes full float32 at every setting) and in float64; elsewhere the recorded setting, or
    "unrecorded" (a run made before precision was recorded).

    Example:
        >>> df = pd.DataFrame({"backend": ["cpu", "gpu", "gpu"], "dtype": ["float32"] * 3,
        ...                    "precision": [pd.NA, "default", pd.NA]})
        >>> precision_in_effect(df).tolist()
        ['highest', 'default', 'unrecorded']
    """
    recorded = df["precision"] if "precision" in df else pd.Series(pd.NA, index=df.index)
    backend = df["backend"] if "backend" in df else pd.Series("", index=df.index)
    dtype = df["dtype"] if "dtype" in df else pd.Series("", index=df.index)
    full = (backend.astype(str) == "cpu") | (dtype.astype(str) == "float64")
    return recorded.astype(object).where(recorded.notna(), "unrecorded").where(~full, "highest")


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


def render(df: pd.DataFrame) -> str:
    """The speed table, the throughput table and the agreement of every run with the first.

    Args:
        df: from :func:`load`.

    Returns:
        Markdown: the runs' legend, the tables, the list of disagreeing lanes (if any) and a
        summary line per run.

    Raises:
        UserError: see :func:`speed`.
    """
    parts = [speed(df)]
    if len(df["run"].unique()) > 1:
        parts += [throughput(df), agreement(df)]
    return "\n".join(parts)


def speed(df: pd.DataFrame) -> str:
    """A markdown table: one row per workload, run ms and speedup over the first run per run.

    Raises:
        UserError: no run in ``df``, or (with several runs) no workload that two runs share.
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
            "appears in more than one of the runs"
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
        row += [ms(t[r]) for r in run_ids]
        row += [
            "-" if pd.isna(t[ref]) or pd.isna(t[r]) or t[r] <= 0 else f"{t[ref] / t[r]:.2f}"
            for r in run_ids[1:]
        ]
        row += ["-" if pd.isna(comp.loc[key, r]) else f"{comp.loc[key, r]:.3g}" for r in run_ids]
        rows.append(row)
    lines = [f"- {letters[r]}: {labels[r]}" for r in run_ids]
    lines += [
        "",
        "run ms: median of the timed repeats of the whole kernel (all lanes), in milliseconds.",
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


def _per_workload(df: pd.DataFrame, column: str) -> pd.DataFrame:
    """(workload x run) medians of ``column`` (NaN where a run lacks the workload or column)."""
    run_ids = sorted(df["run"].unique())
    values = pd.to_numeric(df[column], errors="coerce") if column in df else np.nan
    agg = df.assign(_v=values).groupby([*WORKLOAD, "run"], sort=False)["_v"].median()
    # unstack, not pivot_table: a workload whose values are all missing keeps its row
    return agg.unstack("run").reindex(columns=run_ids)


def throughput(df: pd.DataFrame) -> str:
    """A markdown table: per workload and run, steps/s and GFLOP/s; steps/s over the first run.

    Args:
        df: from :func:`load` (``steps_run`` and ``gflops`` columns; "-" where missing).

    Returns:
        The table with a line saying what its columns are.
    """
    run_ids = sorted(df["run"].unique())
    ref, letters = run_ids[0], {r: _letter(i) for i, r in enumerate(run_ids)}
    steps = _per_workload(df, "steps_run") / _per_workload(df, "run_s")
    gflops = _per_workload(df, "gflops")
    header = ["suite", "problem", "variant", "batch", "optimizer", "lanes"]
    header += [f"{letters[r]} steps/s" for r in run_ids]
    header += [f"{letters[r]} GFLOP/s" for r in run_ids]
    header += [f"{letters[r]} steps/s vs {letters[ref]}" for r in run_ids[1:]]
    rows = []
    for key in steps.index:
        s, g = steps.loc[key], gflops.loc[key]
        row = [str(k) for k in key]
        row += [number_text(s.get(r)) for r in run_ids]
        row += [number_text(g.get(r)) for r in run_ids]
        ratio = [s.get(r) / s.get(ref) if _finite(s.get(r), s.get(ref)) else None for r in run_ids]
        row += [number_text(x, ".2f") for x in ratio[1:]]
        rows.append(row)
    note = (
        "steps/s: steps run / run time of the whole kernel (all lanes); GFLOP/s: XLA's flops of "
        "one step x steps / run time."
    )
    return "\n".join([note, "", md_table(header, rows, right={3, *range(5, len(header))}), ""])


def disagreements(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every run's lanes checked against the first run's.

    Args:
        df: from :func:`load`, with the :data:`AGREEMENT` columns.

    Returns:
        ``(summary, differing)``: one row per later run (``run``, ``lanes`` matched, ``unmatched``
        lanes of either run, ``status`` and ``steps`` counts of lanes that differ,
        ``max_rel_loss`` the largest relative final-loss difference among lanes of the same
        status that did not diverge, and ``worst`` its lane); and one row per differing lane.

    Raises:
        UserError: lanes without the columns the check needs.
    """
    missing = [c for c in AGREEMENT if c not in df]
    if missing:
        raise UserError(f"lanes lack the columns {missing}: agreement cannot be checked")
    run_ids = sorted(df["run"].unique())
    lanes = df[["run", *AGREEMENT]].copy()
    lanes["precision_in_effect"] = precision_in_effect(df)
    lanes["dtype"] = df["dtype"].astype(str) if "dtype" in df else "unrecorded"
    # the same rate written by two runs (parquet, csv) must match: 12 significant digits
    lanes["lr"] = [float(f"{v:.12g}") for v in lanes["lr"]]
    lanes["steps_to_target"] = pd.to_numeric(lanes["steps_to_target"], errors="coerce")
    # a grid that repeats a rate has lanes with equal keys: pair the k-th copy in one run with
    # the k-th in the other (the same configuration), never every copy with every copy
    lanes["copy"] = lanes.groupby(["run", *LANE], sort=False).cumcount()
    ref = lanes[lanes["run"] == run_ids[0]].drop(columns="run")
    summary, differing = [], []
    for r in run_ids[1:]:
        other = lanes[lanes["run"] == r].drop(columns="run")
        m = ref.merge(other, on=[*LANE, "copy"], how="outer", suffixes=("_a", "_b"), indicator=True)
        both = m[m["_merge"] == "both"]
        status = both["status_a"] != both["status_b"]
        sa, sb = both["steps_to_target_a"], both["steps_to_target_b"]
        steps = ~((sa == sb) | (sa.isna() & sb.isna()))
        rel = _rel_diff(both["final_loss_a"], both["final_loss_b"])
        rel = rel.where(~status & (both["status_a"] != "diverged"))
        worst = rel.idxmax() if rel.notna().any() else None
        summary.append(
            {
                "run": r,
                "lanes": len(both),
                "unmatched": int((m["_merge"] != "both").sum()),
                "status": int(status.sum()),
                "steps": int(steps.sum()),
                "max_rel_loss": float(rel.max()) if worst is not None else float("nan"),
                "worst": None if worst is None else _lane_name(both.loc[worst]),
            }
        )
        bad = both[status | steps].assign(run=r)
        differing.append(bad)
    differing = pd.concat(differing, ignore_index=True) if differing else pd.DataFrame()
    return pd.DataFrame(summary), differing


def agreement(df: pd.DataFrame) -> str:
    """The agreement section: differing lanes (if any), then one summary line per later run.

    Args:
        df: from :func:`load`.

    Returns:
        Markdown; a note instead when the lanes lack the columns the check needs (older runs).
    """
    try:
        summary, differing = disagreements(df)
    except UserError as e:
        return f"agreement not checked: {e}\n"
    run_ids = sorted(df["run"].unique())
    letters = {r: _letter(i) for i, r in enumerate(run_ids)}
    a = letters[run_ids[0]]
    lines = []
    if len(differing):
        lines += [f"## Disagreements: lanes whose status or steps to target differ from {a}", ""]
        header = ["run", "problem", "variant", "batch", "optimizer", "lr", "seed"]
        header += [f"{a} status", "status", f"{a} steps", "steps"]
        rows = [_differing_row(d, letters[d.run]) for d in differing.head(MAX_LISTED).itertuples()]
        lines.append(md_table(header, rows, right={3, 5, 6, 9, 10}))
        if len(differing) > MAX_LISTED:
            lines.append(f"... and {len(differing) - MAX_LISTED} more")
        lines.append("")
    for s in summary.itertuples():
        n = s.status + s.steps
        worst = f" ({s.worst})" if s.max_rel_loss > 0 else ""
        lines.append(
            f"agreement {letters[s.run]} vs {a}: {s.lanes} lanes matched, {s.unmatched} unmatched; "
            f"{n} disagreement{'s' if n != 1 else ''} ({s.status} status, {s.steps} steps to "
            "target); largest relative final-loss difference "
            f"{number_text(s.max_rel_loss, '.2e')}{worst}"
        )
        if n:
            moved = differing[differing["run"] == s.run]
            lines.append(f"  {suspect_line(moved, a, letters[s.run])}")
    return "\n".join(lines) + "\n"


def suspect_line(moved: pd.DataFrame, a: str, b: str) -> str:
    """What the lanes of run ``b`` that disagree with ``a`` are first blamed on, and where they
    are: a precision or dtype difference between their lanes, else none of those.

    Args:
        moved: the disagreeing lanes of one run (rows of :func:`disagreements`' second table).
        a, b: the letters of the reference run and of this one.

    Example:
        >>> moved = pd.DataFrame({"problem": ["p", "p"], "variant": ["v", "v"],
        ...     "precision_in_effect_a": ["highest"] * 2, "precision_in_effect_b": ["default"] * 2,
        ...     "dtype_a": ["float32"] * 2, "dtype_b": ["float32"] * 2})
        >>> for part in suspect_line(moved, "A", "B").split("; "):
        ...     print(part)
        first suspect: the float32 matmul precision differs (A highest, B default)
        lanes that moved: p / v 2
    """
    where = moved.groupby(["problem", "variant"], sort=False).size()
    places = ", ".join(f"{p} / {v} {k}" for (p, v), k in where.items())
    found = []
    for column, name in SUSPECTS.items():
        if f"{column}_a" not in moved:
            continue
        pairs = moved[[f"{column}_a", f"{column}_b"]].astype(str).drop_duplicates()
        pairs = [(x, y) for x, y in pairs.itertuples(index=False) if x != y]
        if pairs:
            values = "; ".join(f"{a} {x}, {b} {y}" for x, y in pairs)
            found.append(f"the {name} differs ({values})")
    if found:
        blame = "first suspect: " + "; then ".join(found)
    else:
        blame = "no precision or dtype difference between these lanes: look at the backends"
    return f"{blame}; lanes that moved: {places}"


def _differing_row(d, letter: str) -> list[str]:
    """One row of the disagreements table (``d``: a row of :func:`disagreements`)."""
    lane = [letter, d.problem, d.variant, str(d.batch_size), d.optimizer, f"{d.lr:g}", str(d.seed)]
    steps = [number_text(d.steps_to_target_a, ".0f"), number_text(d.steps_to_target_b, ".0f")]
    return [*lane, d.status_a, d.status_b, *steps]


def _rel_diff(a: pd.Series, b: pd.Series) -> pd.Series:
    """|a - b| / |a|, NaN where either is not finite."""
    a, b = pd.to_numeric(a, errors="coerce"), pd.to_numeric(b, errors="coerce")
    ok = np.isfinite(a) & np.isfinite(b)
    return pd.Series(relative_difference(b, a), index=a.index).where(ok)


def _lane_name(lane) -> str:
    return f"{lane['problem']} {lane['variant']} lr {lane['lr']:g} seed {lane['seed']}"


def _finite(*values) -> bool:
    return all(v is not None and np.isfinite(v) and v > 0 for v in values)
