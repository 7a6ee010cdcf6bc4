"""LaTeX (booktabs) versions of the README's ladder tables, for papers: ``results/tables/``.

Per run with target ladders, under ``tables/<suite>/`` (the plots' folder layout):

- ``<problem>.tex``: one row per variant, samples and seconds to each target (first-hit /
  stay-below, medians over seeds at the row's best lr, as in the README) and the resolution;
- ``summary.tex``: per problem and target, the variant with the fewest samples / seconds.

Needs ``\\usepackage{booktabs}``. Built with pandas' ``Styler.to_latex`` (which needs jinja2, in
the ``bench`` extra); the cells are the README's own text, so the two never disagree.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench import runs
from bench.entries import ENTRY
from bench.report import ladder
from bench.report.tables import short


def ladder_frame(lad: pd.DataFrame) -> pd.DataFrame:
    """One problem's ladder as a frame of README cells: a row per variant.

    Args:
        lad: ``bench.report.ladder.ladder`` rows of one problem.

    Returns:
        Columns: variant, schedule, best lr, then ``samples <t>`` and ``seconds <t>`` per target
        (``first / stay``), resolution.
    """
    targets = sorted(lad["target"].unique(), reverse=True)
    rows = []
    for _, g in lad.groupby(ENTRY, sort=False):
        first = g.iloc[0]
        by_target = {r.target: r for r in g.itertuples(index=False)}
        row = {
            "variant": str(first["variant"]),
            "schedule": str(first["schedule"]),
            "best lr": short(first["lr"]),
        }
        for on in ("samples", "seconds"):
            for t in targets:
                cell = ladder.cell(by_target[t], on) if t in by_target else "-"
                row[f"{on} {short(t)}"] = cell
        row["resolution"] = ladder.resolution_text(g)
        rows.append(row)
    return pd.DataFrame(rows)


def to_latex(frame: pd.DataFrame, caption: str) -> str:
    """A booktabs ``table`` of string cells: ``\\toprule``, ``\\midrule``, ``\\bottomrule``.

    Examples:
        >>> tex = to_latex(pd.DataFrame({"a_b": ["1 / 2"]}), "x & y")
        >>> "\\\\toprule" in tex and "a\\\\_b" in tex and "x \\\\& y" in tex
        True
    """
    styler = frame.style.hide(axis="index").format(escape="latex")
    styler = styler.format_index(escape="latex", axis="columns")
    return styler.to_latex(
        hrules=True,  # booktabs rules
        column_format="l" * frame.shape[1],
        caption=caption.replace("\\", r"\textbackslash{}").replace("&", r"\&"),
        position="htbp",
    )


def write_tables(run: runs.Run, out_dir: Path) -> list[Path]:
    """Write a run's LaTeX tables under ``out_dir`` (atomically).

    Args:
        run: a run; one made before target ladders has no tables.
        out_dir: ``results/tables/<suite>[/<machine>]``.

    Returns:
        The files written (none for a run without hits).
    """
    hits = run.hits()
    if hits is None:
        return []
    lad = ladder.ladder(hits)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    where = f"{run.meta.get('suite')} on {run.device} ({run.env.get('backend')})"
    written = []
    for problem, g in lad.groupby("problem", sort=False):
        caption = (
            f"{problem}: samples and seconds to each target, first-hit / stay-below "
            f"(median over seeds at the best lr), {where}."
        )
        path = Path(out_dir) / f"{runs.slug(problem)}.tex"
        runs.write_text(path, to_latex(ladder_frame(g), caption))
        written.append(path)
    caption = f"Fewest samples / fewest seconds to each target, per problem, {where}."
    path = Path(out_dir) / "summary.tex"
    runs.write_text(path, to_latex(ladder.winners_frame(lad), caption))
    return [*written, path]
