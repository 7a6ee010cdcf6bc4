"""bench.report.latex: tables a paper can \\input, compiled with pdflatex where it is installed."""

import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from bench.report import ladder, latex
from bench.report import readme as report
from tests.bench.report.test_ladder import _hits

PDFLATEX = shutil.which("pdflatex")
NO_PDFLATEX = (
    "pdflatex is not installed: the generated LaTeX tables were NOT compiled "
    "(Debian: apt-get install texlive-latex-base texlive-latex-recommended)"
)
NEEDS = re.compile(r"^% Needs in the preamble: ((?:\\usepackage\{\w+\})+)$", re.M)


def _tables() -> dict[str, str]:
    lad = ladder.ladder(_hits())
    where = "s on cpu (cpu)"
    out = {
        f"p{suffix}.tex": latex.problem_table(lad, on, kind, label=f"tab:p{suffix}", where=where)
        for (on, kind), (suffix, _) in latex.METRICS.items()
    }
    for on in ("samples", "seconds"):
        out[f"summary-{on}.tex"] = latex.summary_table(lad, on, label=f"s-{on}", where=where)
    return out


def _tabulars(tex: str) -> list[str]:
    return re.findall(r"\\begin\{tabular\}\{([^}]*)\}", tex)


def compile_tables(texts: dict[str, str], where: Path) -> dict[str, str]:
    """Compile every table in one article whose preamble holds only the packages the tables'
    own comments name; returns each table's part of the log. Fails on any LaTeX error."""
    if PDFLATEX is None:
        pytest.skip(NO_PDFLATEX)
    preamble = set()
    for name, tex in texts.items():
        needs = NEEDS.search(tex)
        assert needs, f"{name} does not name the packages it needs"
        preamble.add(needs.group(1))
    body = []
    for name, tex in texts.items():
        (where / name).write_text(tex)
        body.append(f"\\typeout{{GDJAX-TABLE {name}}}\\input{{{name}}}\\clearpage")
    doc = "\n".join(
        [
            r"\documentclass{article}",
            *sorted(preamble),
            r"\begin{document}",
            *body,
            r"\typeout{GDJAX-TABLE end}",
            r"\end{document}",
            "",
        ]
    )
    (where / "doc.tex").write_text(doc)
    done = subprocess.run(
        [PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = (where / "doc.log").read_text(errors="replace")
    assert done.returncode == 0, log[-3000:]
    assert (where / "doc.pdf").is_file()
    parts = re.split(r"^GDJAX-TABLE (\S+)$", log, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def check_compiled(texts: dict[str, str], where: Path) -> None:
    logs = compile_tables(texts, where)
    assert set(texts) <= set(logs)
    for name in texts:
        # an overfull box: a row wider than an article's text column
        assert "Overfull \\hbox" not in logs[name], (name, logs[name])
        assert "LaTeX Warning" not in logs[name], (name, logs[name])


def test_one_metric_per_table_in_at_most_eight_right_aligned_columns():
    texts = _tables()
    for name, tex in texts.items():
        assert tex.startswith("% "), name  # the comment first
        assert "% Needs in the preamble: \\usepackage{booktabs}" in tex
        assert "\\centering" in tex and "\\label{" in tex and "\\caption{" in tex
        for rule in ("\\toprule", "\\midrule", "\\bottomrule"):
            assert rule in tex
        for align in _tabulars(tex):
            assert len(align) <= latex.MAX_COLUMNS
    tex = texts["p-samples.tex"]
    assert _tabulars(tex) == ["lrrr"]  # variant, best lr, two targets
    assert "$10^{-1}$ & $10^{-2}$" in tex  # targets as powers of ten, in math mode
    # a: 10 and 12 samples at lr 0.1 (median 11), 100 and 120 (110); b: 8, missing at 0.01
    assert "a & $0.1$ & $11$ & $110$ \\\\" in tex
    # the intervals on a line of their own under the medians, in small type
    assert " &  & {\\footnotesize $[10, 12]$} & {\\footnotesize $[100, 120]$} \\\\" in tex
    # b's counts at 0.1 have resolution 2 (read at checks in runs made before brackets went)
    assert "b\\textsuperscript{\\dag} & $0.1$ & $8$ & -- \\\\" in tex
    assert "$10^{-1}$--$10^{-2}$" in tex  # the ladder's range, with an en-dash
    stay = texts["p-samples-stay.tex"]
    assert "a & $0.1$ & $12$ & (1/2) \\\\" in stay  # only one seed stayed below 0.01
    assert "b\\textsuperscript{\\dag} & $0.1$ & $8$ & -- \\\\" in stay  # none did
    # seconds: 11 ms and 110 ms (a), 0.8 ms (b): written in ms
    seconds = texts["p-seconds.tex"]
    assert "(in ms)" in seconds and "a & $0.1$ & $11$ & $110$ \\\\" in seconds
    assert "\\label{tab:p-seconds}" in seconds
    summary = texts["summary-samples.tex"]
    assert _tabulars(summary) == ["lrlrr"]
    # the interval column: "--" where every seed agreed, else the bootstrap interval
    assert "p & $10^{-1}$ & b & $8$ & -- \\\\" in summary
    assert " & $10^{-2}$ & a & $110$ & {\\footnotesize $[100, 120]$} \\\\" in summary


def test_counts_read_at_checks_are_marked_and_said_so():
    hits = _hits()
    hits.loc[hits["variant"] == "b", ["first_resolution", "stay_resolution"]] = pd.NA
    tex = latex.problem_table(ladder.ladder(hits), "samples", "first", label="x", where="w")
    assert "b\\textsuperscript{\\dag} & $0.1$ & $8$ & -- \\\\" in tex
    assert "\\dag: counts read at the checks of a grid" in tex
    norm = latex.problem_table(
        ladder.ladder(hits), "samples", "first", label="x", where="w", measure="grad_norm"
    )
    assert "(gradient norm relative to its start $10^{-1}$--$10^{-2}$)" in norm
    exact = latex.problem_table(
        ladder.ladder(hits[hits["variant"] == "a"]), "samples", "first", label="x", where="w"
    )
    assert "\\dag" not in exact and "Every count exact to the step." in exact


def test_a_long_ladder_is_split_over_stacked_tabulars():
    lad = ladder.ladder(_hits())
    many = pd.concat(
        [lad.assign(target=lad["target"] * 10.0**-k) for k in range(0, 8, 2)], ignore_index=True
    )
    assert many["target"].nunique() == 8
    tex = latex.problem_table(many, "samples", "first", label="x", where="w")
    assert _tabulars(tex) == ["l" + "r" * 7, "lrrr"]  # best lr and 6 targets, then 2
    assert tex.count("\\begin{table}") == 1 and tex.count("\\label{") == 1


def test_text_and_numbers_are_escaped_and_typeset():
    assert latex.text("a_b & 50% #1 {x} ~^") == (
        "a\\_b \\& 50\\% \\#1 \\{x\\} \\textasciitilde{}\\textasciicircum{}"
    )
    assert latex.number(1e5) == "$10^{5}$" and latex.number(-2.5e-5) == "$-2.5\\times10^{-5}$"
    assert latex.number(float("nan")) == "--"
    assert latex.time_unit([0.5, 3.0]) == ("s", 1.0)
    assert latex.target_range([0.1]) == "$10^{-1}$"


def test_every_table_compiles_in_an_article_and_fits_its_text_column(tmp_path):
    """pdflatex, with only the packages the tables name; an overfull row fails."""
    hits = _hits()
    hits["problem"] = "a_problem & 100% of {it}"  # every character LaTeX treats specially
    lad = ladder.ladder(hits)
    texts = _tables()
    texts["special.tex"] = latex.problem_table(lad, "samples", "first", label="sp", where="w#1")
    check_compiled(texts, tmp_path)


@pytest.mark.slow
def test_a_runs_tables_compile(tiny_run, tmp_path):
    """The tables ``bench report`` writes for a real run: one file per problem and metric, and
    the summaries; each compiles, and fits an article's text column."""
    written = report.write(tiny_run, tmp_path / "results", plots=True)
    tex = sorted(p for p in written if p.suffix == ".tex")
    names = {p.name for p in tex}
    assert names == {
        "linear-64x3-samples.tex",
        "linear-64x3-seconds.tex",
        "linear-64x3-samples-stay.tex",
        "linear-64x3-seconds-stay.tex",
        "summary-samples.tex",
        "summary-seconds.tex",
    }
    texts = {p.name: p.read_text() for p in tex}
    assert "minibatch-8" in texts["linear-64x3-samples.tex"]
    check_compiled(texts, tmp_path)
