"""Write ``results/README.md`` from saved run folders (``python -m bench report``).

Everything in the README comes from the run files, read through ``bench.runs``; nothing is typed
by hand. For each machine (suite, backend, device kind, host) only the newest complete run is used.
The text is deterministic: the same runs give the same bytes. The plots are drawn by
``bench.report.plots`` (profiles by ``bench.report.profiles``), the ladder tables made by
``bench.report.ladder``, their LaTeX copies under ``tables/`` by ``bench.report.latex``, and
``results/perf.md`` by ``bench.report.perf_report``.

Every file is written atomically, and ``write`` deletes only plots and LaTeX tables that an
earlier report wrote for the suites it is rewriting (``plots/manifest.json`` lists them,
:mod:`bench.report.manifest`):
reporting a scratch folder of runs into ``results/`` leaves the other suites' files alone.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench import entries, runs
from bench.errors import UserError
from bench.report import (
    budget,
    ladder,
    latex,
    manifest,
    perf_report,
    plots,
    problem_lines,
    profile_plot,
    profiles,
    run_tables,
    success,
)
from bench.report import html as html_pages
from bench.report.manifest import relative
from bench.report.prose import READING, findings, how_to
from bench.report.tables import md_table, plural, short
from bench.runs import Run

TITLE = "# gdjax results"


def perf_columns(lanes: pd.DataFrame) -> list[str]:
    """The steady-state speed ratios the baselines added (``speedup_numpy``, ...), if any."""
    return [
        c
        for c in lanes.columns
        if c.startswith("speedup_")
        and not c.endswith("_with_compile")
        and pd.to_numeric(lanes[c], errors="coerce").notna().any()
    ]


# ---------------------------------------------------------------------------------- README


def _machine_lines(run: Run) -> list[str]:
    e, m = run.env, run.meta
    cores = e.get("cpu_count")
    cpu = f"CPU {e.get('cpu', '?')}" + (f" ({cores} cores)" if cores else "")
    x64 = "on" if e.get("x64") else "off"
    wall = m.get("wall_s")
    lines = [
        f"- Machine: {cpu}, host `{e.get('host', '?')}`, backend {e.get('backend', '?')}, "
        f"{plural(int(e.get('device_count', 1)), 'device')} "
        f"of kind `{e.get('device_kind', '?')}`.",
        f"- Software: jax {e.get('jax_version', '?')}, jaxlib {e.get('jaxlib_version', '?')}, "
        f"optax {e.get('optax_version', '?')}, Python {e.get('python', '?')}, x64 {x64}, "
        f"git `{e.get('git_sha', '?')}`.",
        f"- Run: `{run.name}`, started {m.get('started', '?')}, finished {m.get('finished', '?')}, "
        f"wall time {short(wall)} s.",
    ]
    if m.get("description"):
        lines.append(f"- Suite: {m['description']}")
    return lines


def _problem_line(g: pd.DataFrame) -> str:
    """dtype, tol, seeds and each variant's budget, from the lanes of one problem."""
    dtypes = ", ".join(dict.fromkeys(g["dtype"].astype(str)))
    tols = ", ".join(short(t) for t in dict.fromkeys(g["tol"]))
    seeds = g["seed"].nunique()
    budgets = []
    for (variant, opt), e in g.groupby(["variant", "optimizer"], sort=False):
        lrs = e["lr"].nunique()
        budgets.append(
            f"{variant}/{opt} {plural(int(e['epochs'].iloc[0]), 'epoch')} "
            f"({plural(int(e['steps'].iloc[0]), 'step')}, {lrs} lrs)"
        )
    relative = {"loss": "relative", "grad_norm": "relative gradient norm"}
    what = relative.get(problem_lines.measure_of(g), "relative suboptimality or gradient norm")
    return (
        f"dtype {dtypes}; tol {tols} ({what}); {plural(seeds, 'seed')}; "
        f"budget: {'; '.join(budgets)}."
    )


def _ladder_tables(hits: pd.DataFrame, lanes: pd.DataFrame, best: pd.DataFrame) -> list[str]:
    """A problem's f* and theory lines, samples and seconds to each target, the batch-GD prediction,
    and the status counts."""
    lad = ladder.ladder(hits)
    head = [
        *problem_lines.measure_lines(lanes),
        *problem_lines.f_star_lines(lanes),
        *problem_lines.theory_lines(lanes),
    ]
    out = [*head, ""] if head else []
    target = {"loss": "target", "grad_norm": "gradient-norm target"}.get(
        problem_lines.measure_of(lanes), "target (gradient norm where the measure line says)"
    )
    out += [
        f"Samples to each {target}, first-hit / stay-below:",
        "",
        ladder.ladder_table(lad, "samples"),
        "",
        f"Seconds to each {target}, first-hit / stay-below:",
        "",
        ladder.ladder_table(lad, "seconds"),
        "",
    ]
    predicted = ladder.predicted_table(hits, lad)
    if predicted:
        out += ["Batch GD steps predicted from the spectrum beside the measured ones:", ""]
        out += [predicted, ""]
    out += [
        "Lanes by status at tol, over the whole grid:",
        "",
        run_tables.status_table(best, lanes),
        "",
    ]
    return out


def render_readme(found: list[Run], *, smooth: float | None = None) -> str:
    """The text of ``results/README.md`` for these runs (deterministic).

    Plots are embedded where ``run.plots`` lists them; ``smooth`` (the EWMA weight the curves were
    drawn with, if any) is stated under "Reading the tables".
    """
    out = _intro(found, smooth)
    for r in found:
        out += _run_section(r)
    out.append(how_to(found))
    return "\n".join(out).rstrip("\n") + "\n"


def _intro(found: list[Run], smooth: float | None) -> list[str]:
    out = [
        TITLE,
        "",
        "Generated by `python -m bench report` (`--publish` for the repository's results/) from "
        "the run folders listed below. Do not edit by hand: rerun the command.",
        "",
    ]
    out += [f"- {r.heading}: `{r.name}`" for r in found]
    out += ["", READING.rstrip("\n")]
    if smooth is not None:
        out.append(
            "- The curves of stochastic and mini-batch lanes are smoothed with an exponentially "
            f"weighted moving average (weight {short(smooth)} on the newest value) before the "
            "median."
        )
    out.append("")
    return out


def _run_section(r: Run) -> list[str]:
    """One run: its machine, a table (and plots) per problem, its speed table if any."""
    out = [f"## {r.heading}", "", *_machine_lines(r), ""]
    lanes = r.lanes
    best = entries.best(lanes)
    # every count is read within its problem's common budget (bench.report.budget)
    hits = budget.clip(r.hits(), lanes)
    for problem in entries.problems(lanes):
        g = lanes[lanes["problem"].astype(str) == problem]
        b = best[best["problem"].astype(str) == problem]
        n, d = int(g["n"].iloc[0]), int(g["d"].iloc[0])
        out += [f"### {problem} ({n} x {d})", "", budget.line(g), "", _problem_line(g), ""]
        h = hits[hits["problem"].astype(str) == problem] if hits is not None else None
        if h is not None and len(h):
            out += _ladder_tables(h, g, b)
            out += success.problem_lines(r, problem, h)
        else:  # a run made before target ladders: the steps to tol only
            out += [run_tables.convergence_table(b, g), ""]
        embedded = r.plots.get(problem, [])
        if embedded:
            kinds = (*plots.PLOTS, *plots.EXTRA_PLOTS)
            alt = dict(zip(kinds, (*plots.PLOT_ALT, *plots.EXTRA_ALT), strict=True))
            plot = {p: Path(p).stem.rsplit("-", 1)[-1] for p in embedded}
            out.append(" ".join(f"![{problem}: {alt.get(plot[p], 'plot')}]({p})" for p in embedded))
            out.append("")
    if hits is not None:
        out += _summary(r, hits)
        out += findings(r)
    cols = perf_columns(lanes)
    if cols:
        out += [
            f"### Speed ({r.meta.get('suite')})",
            "",
            "How many times faster the whole sweep ran than each baseline doing the same "
            "lanes one at a time, measured in this run; compile-inclusive ratios, the "
            "targets and the roofline are in [perf.md](perf.md).",
            "",
            run_tables.perf_table(lanes, cols),
            "",
        ]
    return out


def _summary(r: Run, hits: pd.DataFrame) -> list[str]:
    """Which variant wins each target of each problem, and the performance profile."""
    lad = ladder.ladder(hits)
    table = ladder.winners_table(lad)
    if table is None:
        return []
    out = [
        f"### Summary across problems ({r.meta.get('suite')})",
        "",
        "The variant with the fewest samples / the fewest seconds to each target (first-hit, "
        'median over seeds at each row\'s best lr; "-": no variant got there on every seed):',
        "",
        table,
        "",
        f"Wins per (problem, target): on samples {ladder.win_counts(lad, 'samples')}; "
        f"on seconds {ladder.win_counts(lad, 'seconds')}.",
        "",
    ]
    out += _profile_table(lad)
    for p in r.plots.get(plots.RUN_PLOTS, []):
        reached = profiles.ratios(lad, "samples")["target"]
        listed = ", ".join(f"{k} {short(t)}" for k, t in reached.items())
        out += [
            f"![{r.meta.get('suite')}: performance profiles]({p})",
            "",
            f"Performance profiles at the tightest target reached per problem: {listed}.",
            "",
        ]
    return out


def _profile_table(lad: pd.DataFrame) -> list[str]:
    """A profile's ratios as a table, where too few problems compare variants to plot it."""
    r = profiles.ratios(lad, "samples")
    if r.empty or profiles.plottable(lad):
        return []
    k = profiles.compared_problems(lad)
    variants = [c for c in r.columns if c != "target"]
    rows = [
        [str(p), short(row["target"]), *(short(row[v]) for v in variants)]
        for p, row in r.iterrows()
    ]
    return [
        f"Performance profile not drawn: {plural(k, 'problem')} compared two variants or more, "
        f"a profile needs {profiles.MIN_PROFILE_PROBLEMS} (below that its lines only say which "
        "variant ran where). Its ratios instead: samples to the tightest reached target over "
        "the best variant's (inf: not reached or not run):",
        "",
        md_table(["problem", "target", *variants], rows, set(range(1, len(variants) + 2))),
        "",
    ]


# ---------------------------------------------------------------------------------- entry point


def readme_text(runs_dir: Path, results_dir: Path, *, smooth: float | None = None) -> str:
    """The README that ``write`` would produce from ``runs_dir``, using the plots already in
    ``results_dir`` (nothing is drawn or written: this is how a test checks the committed one)."""
    found = runs.discover(Path(runs_dir))
    results_dir = Path(results_dir)
    for run in found:
        out_dir = plots.plot_dir(results_dir, run, found)
        for problem in entries.problems(run.lanes):
            names = plots.plot_names(problem, extra=True)
            files = [out_dir / f for f in names if (out_dir / f).is_file()]
            run.plots[problem] = relative(files, results_dir)
        profile = out_dir / profile_plot.PROFILE
        hits = run.hits()
        if hits is not None and profile.is_file() and profiles.plottable(ladder.ladder(hits)):
            run.plots[plots.RUN_PLOTS] = relative([profile], results_dir)
    return render_readme(found, smooth=smooth)


def write(
    runs_dir: Path,
    results_dir: Path,
    *,
    smooth: float | None = None,
    plots: bool = True,
    html: bool = False,
) -> list[Path]:
    """Write ``results_dir/README.md``, ``perf.md`` (with a perf run), the plots and the LaTeX
    tables.

    Args:
        runs_dir: a run folder, or a folder of run folders.
        results_dir: where README.md, perf.md and plots/ go.
        smooth: EWMA weight in (0, 1] applied to each stochastic or mini-batch lane's curve
            before the median (for noisy SGD curves; batch GD curves are drawn as they are, an
            EWMA would only make them lag); None draws the raw curves. Tables are never smoothed.
        plots: False writes README.md and perf.md only, and leaves plots/ and tables/ alone.
        html: also write their pages, ``index.html`` and ``perf.html`` (``bench.report.html``).

    Returns:
        The files written. Plots and tables that an earlier report wrote for the suites drawn now
        and that this one did not rewrite are removed; no other file is.

    Raises:
        UserError: ``smooth`` out of range.
        NoRunError: no complete run under ``runs_dir``.
        RunFolderError: a run folder that cannot be read.
    """
    if smooth is not None and not 0 < smooth <= 1:
        raise UserError(f"--smooth must be in (0, 1], got {smooth}")
    found = runs.discover(Path(runs_dir))
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    drawn = draw_plots(found, results_dir, smooth) if plots else []
    readme = results_dir / "README.md"
    if plots:
        runs.write_text(readme, render_readme(found, smooth=smooth))
    else:  # tables only: keep embedding the plots already there
        runs.write_text(readme, readme_text(runs_dir, results_dir))
    written = [readme]
    perf = perf_report.render(Path(runs_dir))
    if perf is not None:
        runs.write_text(results_dir / "perf.md", perf)
        written.append(results_dir / "perf.md")
    if html:
        written += html_pages.write_pages(results_dir)
    return written + drawn


def draw_plots(found: list[Run], results_dir: Path, smooth: float | None) -> list[Path]:
    """Draw every problem's plots and each run's profiles (filling ``run.plots``), write the
    LaTeX tables (``bench.report.latex``), and drop the files of an earlier report that are
    stale."""
    drawn: dict[str, list[Path]] = {}
    for run in found:
        out_dir = plots.plot_dir(results_dir, run, found)
        for problem in entries.problems(run.lanes):
            files = plots.plot_problem(run, problem, out_dir, smooth)
            drawn.setdefault(str(run.meta.get("suite")), []).extend(files)
            run.plots[problem] = relative(files, results_dir)
        files = profile_plot.plot_run(run, out_dir)
        run.plots[plots.RUN_PLOTS] = relative(files, results_dir)
        # LaTeX tables go under tables/ in the plots' layout, listed in the same manifest
        tex_dir = results_dir / "tables" / out_dir.relative_to(results_dir / "plots")
        files += latex.write_tables(run, tex_dir)
        drawn.setdefault(str(run.meta.get("suite")), []).extend(files)
    manifest.forget_stale(results_dir, {k: relative(v, results_dir) for k, v in drawn.items()})
    return [f for files in drawn.values() for f in files]
