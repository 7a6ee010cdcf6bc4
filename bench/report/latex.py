"""LaTeX versions of the README's ladder tables, for papers: ``results/tables/``.

Per run with target ladders, under ``tables/<suite>/`` (the plots' folder layout), one table per
file and one metric per table:

- ``<problem>-samples.tex``, ``<problem>-seconds.tex``: a row per variant, its best lr and the
  first-hit samples (seconds) to each target, medians over seeds at the row's best lr, as in the
  README; ``<problem>-samples-stay.tex``, ``<problem>-seconds-stay.tex``: the stay-below ones;
- ``summary-samples.tex``, ``summary-seconds.tex``: per problem and target, the variant with the
  fewest first-hit samples (seconds) and its count.

Each file is a ``table`` float with ``\\centering``, a caption and a ``\\label``; its first lines
name the packages it needs (booktabs only: the numbers are right-aligned ``r`` columns in math
mode, ``$1.41\\times10^{5}$``, which plain LaTeX sets). A table has at most :data:`MAX_COLUMNS`
columns (a longer target ladder is split over stacked tabulars of one float) and is set in
``\\small`` so that its rows fit an article's text column. The cells come from the same ladder as
the README's (:mod:`bench.report.ladder`), so the two never disagree.

Example:
    >>> number(141000), number(0.00479), number(5.75e-4), number(None)
    ('$1.41\\\\times10^{5}$', '$0.00479$', '$5.75\\\\times10^{-4}$', '--')
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from bench import entries, runs
from bench.entries import ENTRY
from bench.report import budget, intervals, ladder, problem_lines
from bench.report.tables import short

#: The LaTeX packages every table here needs, named in each file's first lines.
PACKAGES = ("booktabs",)
#: At most this many columns per tabular (an article's text column holds about 8 at \small).
MAX_COLUMNS = 8
#: The columns before the targets in a problem's table: variant, best lr.
LEAD = 2
#: What each table counts: the file suffix and the words of its caption.
METRICS = {
    ("samples", "first"): ("-samples", "samples to each target, first hit"),
    ("seconds", "first"): ("-seconds", "seconds to each target, first hit"),
    ("samples", "stay"): ("-samples-stay", "samples to each target, stay below"),
    ("seconds", "stay"): ("-seconds-stay", "seconds to each target, stay below"),
}
MISSING = "--"  # an en-dash: no count (no seed got there, or no variant)
_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def text(s) -> str:
    """Plain text made safe for LaTeX: its special characters escaped, ``--`` kept two hyphens.

    Example:
        >>> text("breast_cancer & a--b")
        'breast\\\\_cancer \\\\& a-{}-b'
    """
    out = "".join(_ESCAPES.get(ch, ch) for ch in str(s))
    return out.replace("--", "-{}-")


def number(v, digits: int = 3) -> str:
    """A count or a time in math mode, ``digits`` significant digits, a power of ten from 10 000
    up and below 0.001 (as the README's ``1.41e5``); :data:`MISSING` when there is none."""
    if v is None or pd.isna(v):
        return MISSING
    v = float(v)
    if math.isinf(v):
        return r"$\infty$" if v > 0 else r"$-\infty$"
    if abs(v) >= 1e4 or 0 < abs(v) < 1e-3:
        mantissa, exp = f"{v:.{digits - 1}e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        power = f"10^{{{int(exp)}}}"
        return f"${power}$" if mantissa == "1" else f"${mantissa}\\times{power}$"
    if v.is_integer():
        return f"${v:.0f}$"
    return f"${short(v, digits)}$"


def target_head(t: float) -> str:
    """A target as a column head: ``$10^{-2}$`` for a power of ten, else the number.

    Example:
        >>> target_head(0.01), target_head(0.05)
        ('$10^{-2}$', '$0.05$')
    """
    exp = math.log10(t) if t > 0 else float("nan")
    if math.isfinite(exp) and abs(exp - round(exp)) < 1e-9:
        return f"$10^{{{round(exp)}}}$"
    return number(t)


def target_range(targets: list[float]) -> str:
    """The ladder's span for a caption: ``$10^{-1}$--$10^{-4}$`` (an en-dash), or one target."""
    heads = [target_head(t) for t in targets]
    return heads[0] if len(heads) == 1 else f"{heads[0]}--{heads[-1]}"


#: Units for a table of times: (the unit in LaTeX, its size in seconds), largest first.
UNITS = (("s", 1.0), ("ms", 1e-3), (r"$\mu$s", 1e-6))


def time_unit(seconds) -> tuple[str, float]:
    """The unit a table of times is written in: the largest of s, ms and microseconds in which
    their median is at least 1 (so that most cells need no power of ten), with its size.

    Example:
        >>> time_unit([2.4e-6, 4.8e-6]), time_unit([0.0017, 0.2])
        (('$\\\\mu$s', 1e-06), ('ms', 0.001))
    """
    values = pd.to_numeric(pd.Series(list(seconds), dtype=object), errors="coerce").dropna()
    mid = float(values.median()) if len(values) else 1.0
    return next((u for u in UNITS if mid >= u[1]), UNITS[-1])


def count_cell(value, got: int, seeds: int, scale: float = 1.0) -> str:
    """A median where every seed has one (divided by ``scale``, the unit), else the ``(k/n)``
    seeds mark (``--`` for none)."""
    if not pd.isna(value):
        return number(value / scale)
    mark = entries.seeds_mark(got, seeds)
    return MISSING if mark == "-" else mark


def interval_cell(lo, hi, value, scale: float = 1.0) -> str:
    """The interval of a median (``bench.report.intervals``) in small type, ``[lo, hi]``; empty
    where there is none or every seed gave the same count.

    Example:
        >>> interval_cell(640.0, 1024.0, 832.0), interval_cell(5.0, 5.0, 5.0)
        ('{\\\\footnotesize $[640, 1024]$}', '')
    """
    if ladder.interval_text(lo, hi, value) == "":
        return ""
    a, b = (number(v / scale).strip("$") for v in (lo, hi))
    return f"{{\\footnotesize $[{a}, {b}]$}}"


def header(lines: list[str]) -> str:
    """The comment that opens every file: what it is, and the packages it needs."""
    uses = "".join(f"\\usepackage{{{p}}}" for p in PACKAGES)
    return "\n".join(
        [
            *(f"% {ln}" for ln in lines),
            "% Written by `python -m bench report` from a run folder: do not edit, rerun it.",
            f"% Needs in the preamble: {uses}",
        ]
    )


def tabular(
    head: list[str], rows: list[list[str]], align: str, gaps: set[int] = frozenset()
) -> str:
    """A booktabs tabular; ``gaps``: indices of rows preceded by ``\\addlinespace``."""
    lines = [f"\\begin{{tabular}}{{{align}}}", r"\toprule", " & ".join(head) + r" \\", r"\midrule"]
    for i, row in enumerate(rows):
        if i in gaps:
            lines.append(r"\addlinespace")
        lines.append(" & ".join(row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines)


def table(comment: list[str], body: list[str], caption: str, label: str) -> str:
    """A whole file: the comment, then one centred ``table`` float of the tabulars in ``body``."""
    return "\n".join(
        [
            header(comment),
            r"\begin{table}[htbp]",
            r"\centering",
            r"\small",
            r"\setlength{\tabcolsep}{4pt}",
            f"\\caption{{{caption}}}",
            f"\\label{{{label}}}",
            "\n\\par\\medskip\n".join(body),
            r"\end{table}",
            "",
        ]
    )


def chunks(targets: list[float], lead: int) -> list[list[float]]:
    """The targets split so that no tabular has more than :data:`MAX_COLUMNS` columns.

    Example:
        >>> [len(c) for c in chunks([1.0] * 8, 2)]
        [6, 2]
    """
    per = MAX_COLUMNS - lead
    return [targets[i : i + per] for i in range(0, len(targets), per)] or [[]]


#: What a problem's targets bound, by ``bench.report.problem_lines.measure_of``, for its captions.
MEASURED = {
    "loss": "relative suboptimality",
    "grad_norm": "gradient norm relative to its start",
    "mixed": "relative suboptimality or gradient norm, depending on the variant",
}


def problem_table(
    lad: pd.DataFrame,
    on: str,
    kind: str,
    *,
    label: str,
    where: str,
    measure: str = "loss",
    budget_line: str = "",
) -> str:
    """One problem's ladder, one metric: a row per variant, its best lr and a cell per target.

    Args:
        lad: ``bench.report.ladder.ladder`` rows of one problem.
        on: "samples" or "seconds".
        kind: "first" (first hit) or "stay" (stay below).
        label: the ``\\label``.
        where: the run, for the caption ("default on <device> (cpu)").
        measure: what the targets bound (a key of :data:`MEASURED`).
        budget_line: the problem's budget sentence (``bench.report.budget.line``: a warning where
            the variants' budgets differ), put in the caption.

    Returns:
        The file's text.
    """
    problem = str(lad["problem"].iloc[0])
    targets = sorted(lad["target"].unique(), reverse=True)
    got = "reached" if kind == "first" else "stayed"
    unit, scale = ("", 1.0) if on == "samples" else time_unit(lad[f"{kind}_{on}"])
    rows, schedules, dagger = [], [], False
    for _, g in lad.groupby(ENTRY, sort=False):
        first = g.iloc[0]
        by_target = {r.target: r for r in g.itertuples(index=False)}
        at_checks = ladder.resolution_text(g) == "at checks"
        dagger |= at_checks
        name = text(first["variant"]) + (r"\textsuperscript{\dag}" if at_checks else "")
        lr = number(first["lr"]) if not pd.isna(first["lr"]) else MISSING
        cells = {
            t: count_cell(getattr(r, f"{kind}_{on}"), getattr(r, got), r.seeds, scale)
            for t, r in by_target.items()
        }
        col = f"{kind}_{on}"
        spans = {
            t: interval_cell(
                getattr(r, f"{col}_lo"), getattr(r, f"{col}_hi"), getattr(r, col), scale
            )
            for t, r in by_target.items()
        }
        rows.append((name, lr, cells))
        if any(spans.values()):  # the intervals on a line of their own, under the medians
            rows.append(("", "", spans))
        if str(first["schedule"]) != "constant":
            schedules.append(f"{text(first['variant'])} {text(first['schedule'])}")
    body = []
    for part in chunks(targets, LEAD):
        head = ["variant", "best lr", *(target_head(t) for t in part)]
        cells = [[n, lr, *(c.get(t, MISSING if n else "") for t in part)] for n, lr, c in rows]
        body.append(tabular(head, cells, "l" + "r" * (len(head) - 1)))
    seeds = int(lad["seeds"].max()) if len(lad) else 0
    words = METRICS[(on, kind)][1] + (f" (in {unit})" if unit else "")
    caption = (
        f"{text(problem)}: {words} ({MEASURED[measure]} {target_range(targets)}), median "
        f"over {seeds} seeds at each variant's best lr (the same for every target), with "
        f"its {intervals.LEVEL * 100:.0f}\\% bootstrap confidence interval in small type below it "
        "(none where every seed agreed); "
        f"($k/n$): only $k$ of the $n$ seeds got there; {MISSING}: none did. "
    )
    if schedules:
        caption += f"Schedules: {'; '.join(schedules)}; the others constant. "
    caption += (
        r"\dag: counts read at the checks of a grid, not exact to the step; the others exact. "
        if dagger
        else "Every count exact to the step. "
    )
    if budget_line:
        caption += text(budget_line.replace("**", "")) + " "
    caption += f"Run: {text(where)}."
    return table([f"{problem}: {words}."], body, caption, label)


def summary_table(lad: pd.DataFrame, on: str, *, label: str, where: str) -> str | None:
    """Per problem and target, the variant with the fewest first-hit ``on`` and its count (None
    when no variant reached any target). Long format (a row per problem and target), so that
    long problem and variant names still fit a text column."""
    win = ladder.winners(lad, on)
    if win.empty:
        return None
    unit, scale = ("", 1.0) if on == "samples" else time_unit(win["value"])
    rows, gaps = [], set()
    for problem in dict.fromkeys(lad["problem"]):
        g = win[win["problem"] == problem].sort_values("target", ascending=False)
        if rows and len(g):
            gaps.add(len(rows))
        for i, w in enumerate(g.itertuples(index=False)):
            name = text(problem) if i == 0 else ""
            at = lad[
                (lad["problem"] == problem)
                & (lad["variant"] == w.variant)
                & (lad["target"] == w.target)
            ].iloc[0]
            span = interval_cell(at[f"first_{on}_lo"], at[f"first_{on}_hi"], w.value, scale)
            value = number(w.value / scale)
            rows.append([name, target_head(w.target), text(w.variant), value, span or MISSING])
    head = ["problem", "target", "variant", on + (f" ({unit})" if unit else ""), "interval"]
    body = tabular(head, rows, "lrlrr", gaps)
    caption = (
        f"The variant with the fewest {on} to each target (first hit, median over seeds at each "
        f"variant's best lr, with its {intervals.LEVEL * 100:.0f}\\% bootstrap confidence "
        "interval; "
        f"{MISSING}: every seed agreed), per problem; targets that no variant reached on every "
        "seed are left "
        f"out. Run: {text(where)}."
    )
    return table([f"Fewest {on} to each target, per problem."], [body], caption, label)


def tables(run: runs.Run) -> dict[str, str]:
    """The text of each of a run's LaTeX tables, by file name (empty for a run without hits)."""
    hits = budget.clip(run.hits(), run.lanes)  # counts within each problem's common budget
    if hits is None:
        return {}
    lad = ladder.ladder(hits)
    suite = str(run.meta.get("suite"))
    where = f"{suite} on {run.device} ({run.env.get('backend')})"
    out = {}
    for problem, g in lad.groupby("problem", sort=False):
        lanes = run.lanes[run.lanes["problem"].astype(str) == str(problem)]
        measure = problem_lines.measure_of(lanes)
        for (on, kind), (suffix, _) in METRICS.items():
            name = f"{runs.slug(problem)}{suffix}"
            label = f"tab:{runs.slug(suite)}:{name}"
            out[f"{name}.tex"] = problem_table(
                g,
                on,
                kind,
                label=label,
                where=where,
                measure=measure,
                budget_line=budget.line(lanes),
            )
    for on in ("samples", "seconds"):
        label = f"tab:{runs.slug(suite)}:summary-{on}"
        tex = summary_table(lad, on, label=label, where=where)
        if tex is not None:
            out[f"summary-{on}.tex"] = tex
    return out


def write_tables(run: runs.Run, out_dir: Path) -> list[Path]:
    """Write a run's LaTeX tables under ``out_dir`` (atomically).

    Args:
        run: a run; one made before target ladders has no tables.
        out_dir: ``results/tables/<suite>[/<machine>]``.

    Returns:
        The files written (none for a run without hits).
    """
    texts = tables(run)
    if texts:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    written = []
    for name, tex in texts.items():
        path = Path(out_dir) / name
        runs.write_text(path, tex)
        written.append(path)
    return written
