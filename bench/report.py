"""Write ``results/README.md`` and the plots from saved run folders (``python -m bench report``).

Everything in the README and the plots comes from the run files (``meta.json``, ``lanes.*``,
``curves.*``); nothing is typed by hand. For each machine (suite, backend, device kind, host) only
the newest complete run is used. The text is deterministic: the same runs give the same bytes.

Plots, per problem, under ``results/plots/<suite>/``:

- ``<problem>-samples.png``: f - f* against samples seen, one line per variant at its best
  learning rate, median over seeds with a 25-75% band.
- ``<problem>-seconds.png``: the same against seconds (run time x step / steps run of the timed
  kernel, which runs every lane of the row at once).
- ``<problem>-lr.png``: final f - f* against the learning rate, median over seeds with a quartile
  band; an "x" at the top marks learning rates where a seed diverged.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from bench import tables

TITLE = "# gdjax results"
PLOT_KINDS = ("samples", "seconds", "lr")
PLOT_ALT = (
    "suboptimality vs samples",
    "suboptimality vs seconds",
    "final suboptimality vs learning rate",
)
# every lane column the runner writes; any other numeric column is a perf extra (baselines)
CURVE_COLUMNS = ["problem", "variant", "batch_size", "optimizer", "lr", "seed", "step"]
CURVE_COLUMNS += ["samples", "subopt", "time_s"]


@dataclasses.dataclass
class Run:
    """One run folder: its meta, its lanes and (loaded on demand) its curves.

    Attributes:
        path: the run folder.
        meta: ``meta.json``.
        lanes: one row per lane.
        plots: problem -> plot paths relative to the results folder (filled in by ``write``).
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
        """The run's curves (parquet, else csv.gz), or None when neither file is there."""
        if self._curves is None:
            pq, gz = self.path / "curves.parquet", self.path / "curves.csv.gz"
            if pq.is_file():
                self._curves = pd.read_parquet(pq)
            elif gz.is_file():
                self._curves = pd.read_csv(gz)
        return self._curves


# ---------------------------------------------------------------------------------- discovery


def run_folders(runs_dir: Path) -> list[Path]:
    """``runs_dir`` itself if it holds ``meta.json``, else its sub-folders that do (sorted)."""
    runs_dir = Path(runs_dir)
    if (runs_dir / "meta.json").is_file():
        return [runs_dir]
    if not runs_dir.is_dir():
        return []
    return sorted(d for d in runs_dir.iterdir() if (d / "meta.json").is_file())


def read_lanes(run_dir: Path) -> pd.DataFrame | None:
    """A run folder's lanes (parquet, else csv), or None."""
    pq, csv = run_dir / "lanes.parquet", run_dir / "lanes.csv"
    if pq.is_file():
        return pd.read_parquet(pq)
    if csv.is_file():
        return pd.read_csv(csv)
    return None


def discover(runs_dir: Path) -> list[Run]:
    """The newest complete run of each (suite, backend, device kind, host) under ``runs_dir``.

    Raises:
        FileNotFoundError: no complete run with lanes there.
    """
    newest: dict[tuple, Run] = {}
    for d in run_folders(runs_dir):
        try:
            meta = json.loads((d / "meta.json").read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if not meta.get("complete"):
            continue
        lanes = read_lanes(d)
        if lanes is None or lanes.empty:
            continue
        run = Run(d, meta, lanes)
        old = newest.get(run.machine)
        if old is None or (run.stamp, run.name) > (old.stamp, old.name):
            newest[run.machine] = run
    if not newest:
        raise FileNotFoundError(
            f"no complete run folder (meta.json with lanes) in {runs_dir}; "
            "make one with `python -m bench run --suite NAME`"
        )
    return [newest[k] for k in sorted(newest)]


# ---------------------------------------------------------------------------------- formatting


def _g(v, digits: int = 3) -> str:
    """Stable short float: ``digits`` significant digits, "-" for missing."""
    if v is None or pd.isna(v):
        return "-"
    v = float(v)
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:.{digits}g}"


def _md_table(header: list[str], rows: list[list[str]], right: set[int]) -> str:
    """A markdown pipe table; columns whose index is in ``right`` are right-aligned."""
    rule = ["---:" if i in right else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-") or "x"


def _problems(lanes: pd.DataFrame) -> list[str]:
    """Problems in the order they appear in the lanes file."""
    return list(dict.fromkeys(lanes["problem"].astype(str)))


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


def _plural(k: int, word: str) -> str:
    return f"{k} {word}" + ("" if k == 1 else "s")


def _machine_lines(run: Run) -> list[str]:
    e, m = run.env, run.meta
    cores = e.get("cpu_count")
    cpu = f"CPU {e.get('cpu', '?')}" + (f" ({cores} cores)" if cores else "")
    x64 = "on" if e.get("x64") else "off"
    wall = m.get("wall_s")
    lines = [
        f"- Machine: {cpu}, host `{e.get('host', '?')}`, backend {e.get('backend', '?')}, "
        f"{_plural(int(e.get('device_count', 1)), 'device')} "
        f"of kind `{e.get('device_kind', '?')}`.",
        f"- Software: jax {e.get('jax_version', '?')}, jaxlib {e.get('jaxlib_version', '?')}, "
        f"optax {e.get('optax_version', '?')}, Python {e.get('python', '?')}, x64 {x64}, "
        f"git `{e.get('git_sha', '?')}`.",
        f"- Run: `{run.name}`, started {m.get('started', '?')}, finished {m.get('finished', '?')}, "
        f"wall time {_g(wall)} s.",
    ]
    if m.get("description"):
        lines.append(f"- Suite: {m['description']}")
    return lines


def _problem_line(g: pd.DataFrame) -> str:
    """dtype, tol, seeds and each variant's budget, from the lanes of one problem."""
    dtypes = ", ".join(dict.fromkeys(g["dtype"].astype(str)))
    tols = ", ".join(_g(t) for t in dict.fromkeys(g["tol"]))
    seeds = g["seed"].nunique()
    budgets = []
    for (variant, opt), e in g.groupby(["variant", "optimizer"], sort=False):
        lrs = e["lr"].nunique()
        budgets.append(
            f"{variant}/{opt} {_plural(int(e['epochs'].iloc[0]), 'epoch')} "
            f"({_plural(int(e['steps'].iloc[0]), 'step')}, {lrs} lrs)"
        )
    return (
        f"dtype {dtypes}; tol {tols} (relative); {_plural(seeds, 'seed')}; "
        f"budget: {'; '.join(budgets)}."
    )


def _edge(lanes: pd.DataFrame, b) -> bool:
    """Whether the best lr of an entry is the smallest or largest of its grid (extend the grid)."""
    e = lanes[
        (lanes["variant"].astype(str) == str(b.variant))
        & (lanes["batch_size"] == b.batch_size)
        & (lanes["optimizer"].astype(str) == str(b.optimizer))
    ]
    lrs = e["lr"].astype(float)
    return lrs.nunique() > 1 and b.lr in (lrs.min(), lrs.max())


def _convergence_table(best: pd.DataFrame, lanes: pd.DataFrame) -> str:
    header = [
        "variant",
        "batch",
        "optimizer",
        "best lr",
        "steps",
        "epochs",
        "samples",
        "seconds to target",
        "final subopt",
        "converged",
        "diverged",
        "max_steps",
        "compile s",
        "run s",
    ]
    rows = []
    for b in best.itertuples(index=False):
        ok = bool(b.all_converged)
        lr = _g(b.lr) + (" (grid edge)" if ok and _edge(lanes, b) else "")
        lr += "" if ok else " (none converged)"
        rows.append(
            [
                str(b.variant),
                str(b.batch_size),
                str(b.optimizer),
                lr,
                tables.count_text(b.steps_to_target) if ok else "-",
                _g(b.epochs_to_target) if ok else "-",
                tables.count_text(b.samples_to_target) if ok else "-",
                _g(b.time_to_target_s) if ok else "-",
                _g(b.final_subopt),
                str(b.converged),
                str(b.diverged),
                str(b.max_steps),
                _g(b.compile_s) + (" (cached)" if _cache_hit(lanes, b) else ""),
                _g(b.run_s),
            ]
        )
    return _md_table(header, rows, right=set(range(3, len(header))) | {1})


def _cache_hit(lanes: pd.DataFrame, b) -> bool:
    """Whether JAX's persistent compilation cache served this row's kernel."""
    if "compile_cache_hit" not in lanes.columns:
        return False
    rows = lanes[(lanes["variant"] == b.variant) & (lanes["optimizer"] == b.optimizer)]
    return bool(rows["compile_cache_hit"].astype(bool).any())


def _perf_table(lanes: pd.DataFrame, cols: list[str]) -> str:
    header = ["problem", "variant", "batch", "optimizer", "lanes", "run_s", *cols]
    rows = []
    for key, g in lanes.groupby(["problem", "variant", "batch_size", "optimizer"], sort=False):
        med = [_g(pd.to_numeric(g[c], errors="coerce").median()) for c in ["run_s", *cols]]
        rows.append([*(str(k) for k in key), str(int(g["lanes"].iloc[0])), *med])
    return _md_table(header, rows, right=set(range(4, len(header))) | {2})


READING = """\
## Reading the tables

- **Relative suboptimality** is `(f(w_t) - f*) / (f(w_0) - f*)`: 1 at the start, 0 at the optimum.
  `f*` is the true optimum computed in float64 (closed form for least squares, Newton's method for
  the regularised logistic and softmax losses). **final subopt** is the absolute `f - f*` at the
  last evaluated step (median over seeds); a converged lane stops at its target when early
  stopping is on, so its final subopt is about `tol x (f(w_0) - f*)`.
- A lane has **converged** at the first evaluated step whose relative suboptimality is `<= tol`
  (the tol above each table); **diverged** when its loss went non-finite or far above `f(w_0)`;
  otherwise it ran out of budget: **max_steps**. The three counts are over every lane (learning
  rate x seed) of the row, not only the best learning rate.
- **best lr**: among the learning rates whose every seed converged, the one that needed the fewest
  samples (median over seeds; ties go to the smaller rate). When no learning rate converged on
  every seed the row says "(none converged)", shows the rate with the smallest median final
  suboptimality, and leaves the to-target columns empty. "(grid edge)" marks a best lr that is the
  smallest or largest of the grid: a wider grid might do better.
- **steps**, **epochs** (steps / steps per epoch) and **samples** (steps x batch size) to target
  are medians over seeds at the best lr. Samples are the fair axis between variants: a stochastic
  step reads one row, a batch step reads all n. Steps are resolved to the evaluation interval.
- **seconds to target** = run time x steps_to_target / steps run: every lane of a row (the whole
  learning-rate x seed grid) runs in one vmapped kernel, so this is the time that kernel, all lanes
  together, took to reach the step, on the machine named in the section (not a single-lane time).
  **compile s** is the ahead-of-time compile of the kernel ("(cached)": loaded from JAX's
  persistent compilation cache, filled by an earlier run); **run s** the median of its timed runs
  (all lanes together).
- Plots: median over seeds, the band spans the 25-75% quantiles; suboptimalities at or below zero
  (float rounding at the optimum) are drawn at a small floor.
"""


def _how_to(runs: list[Run]) -> str:
    machines = "; ".join(
        dict.fromkeys(
            f"{r.device} ({r.env.get('backend')}, host `{r.env.get('host')}`)" for r in runs
        )
    )
    return f"""\
## How to add a GPU or TPU run

Every number above was measured on the machines named in the section titles and nowhere else:
{machines}. To add another machine, run the suite there and regenerate this file:

```bash
pip install -U "jax[cuda12]"   # NVIDIA GPU; on a Cloud TPU VM: pip install -U "jax[tpu]"
python -m bench env            # check that the backend and devices are the ones you expect
python -m bench run --suite default
python -m bench report         # rewrites results/README.md and results/plots/
python -m bench compare results/runs/<cpu run folder> results/runs/<gpu run folder>
```

Commit the new folder under `results/runs/` with the regenerated README and plots. The report keeps
the newest complete run of each (suite, backend, device kind, host).
"""


def render_readme(runs: list[Run], *, smooth: float | None = None) -> str:
    """The text of ``results/README.md`` for these runs (deterministic).

    Plots are embedded where ``run.plots`` lists them; ``smooth`` (the EWMA weight the curves were
    drawn with, if any) is stated under "Reading the tables".
    """
    out = [
        TITLE,
        "",
        "Generated by `python -m bench report` from the run folders listed below. Do not edit by "
        "hand: rerun the command.",
        "",
    ]
    for r in runs:
        out.append(f"- {r.heading}: `{r.name}`")
    out += ["", READING.rstrip("\n")]
    if smooth is not None:
        out.append(
            f"- The curves of stochastic and mini-batch lanes are smoothed with an exponentially "
            f"weighted moving average (weight {_g(smooth)} on the newest value) before the median."
        )
    out.append("")
    for r in runs:
        out += [f"## {r.heading}", "", *_machine_lines(r), ""]
        lanes = r.lanes
        best = tables.best(lanes)
        for problem in _problems(lanes):
            g = lanes[lanes["problem"].astype(str) == problem]
            b = best[best["problem"].astype(str) == problem]
            n, d = int(g["n"].iloc[0]), int(g["d"].iloc[0])
            out += [f"### {problem} ({n} x {d})", "", _problem_line(g), ""]
            out += [_convergence_table(b, g), ""]
            plots = r.plots.get(problem, [])
            if plots:
                alt = {k: v for k, v in zip(PLOT_KINDS, PLOT_ALT, strict=True)}
                out.append(
                    " ".join(
                        f"![{problem}: {alt.get(Path(p).stem.rsplit('-', 1)[-1], 'plot')}]({p})"
                        for p in plots
                    )
                )
                out.append("")
        cols = perf_columns(lanes)
        if cols:
            out += [
                f"### Speed ({r.meta.get('suite')})",
                "",
                "How many times faster the whole sweep ran than each baseline doing the same "
                "lanes one at a time, measured in this run; compile-inclusive ratios, the "
                "targets and the roofline are in [perf.md](perf.md).",
                "",
                _perf_table(lanes, cols),
                "",
            ]
    out.append(_how_to(runs))
    return "\n".join(out).rstrip("\n") + "\n"


# ---------------------------------------------------------------------------------- plots


def _floor(lanes: pd.DataFrame) -> float:
    """Smallest suboptimality drawn on a log axis: 1e-12 of the problem's initial gap."""
    gap = (pd.to_numeric(lanes["f0"]) - pd.to_numeric(lanes["f_star"])).abs().max()
    return max(float(gap) * 1e-12 if np.isfinite(gap) else 0.0, np.finfo(np.float64).tiny)


def _median_curve(rows: pd.DataFrame, x: str, smooth: float | None):
    """Median and quartiles over seeds of one entry at one lr, against column ``x``.

    A lane that stopped early (converged, frozen) keeps its last value up to the entry's last
    evaluated step, as its parameters do; non-finite values (a diverging lane) are left out.
    """
    xs = rows.drop_duplicates("step").set_index("step")[x].sort_index()
    grid = xs.index.to_numpy()
    cols = {}
    for seed, g in rows.groupby("seed", sort=True):
        g = g.sort_values("step")
        y = g["subopt"].to_numpy(np.float64)
        if smooth is not None:
            from gdjax.metrics import ewma

            y = ewma(y, smooth)
        s = pd.Series(y, index=g["step"].to_numpy()).reindex(grid)
        last = g["step"].iloc[-1]
        s[grid > last] = y[-1]
        cols[seed] = s
    wide = pd.DataFrame(cols).replace([np.inf, -np.inf], np.nan)
    return (
        xs.to_numpy(np.float64),
        wide.median(axis=1).to_numpy(),
        wide.quantile(0.25, axis=1).to_numpy(),
        wide.quantile(0.75, axis=1).to_numpy(),
    )


def _figure():
    """A figure and its axes, without pyplot (no global backend switch, nothing left open)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.2))
    return fig, fig.subplots()


def _save(fig, path: Path) -> None:
    from matplotlib.ticker import FuncFormatter, LogFormatterSciNotation

    for ax in fig.axes:
        # a log axis shorter than ~2 decades labels its minor ticks 2..9, which run into each
        # other: label only 2 and 5 there, and no minor tick on longer axes
        lo, hi = ax.get_xlim()
        short = lo > 0 and np.log10(hi / lo) < 2
        sci = LogFormatterSciNotation(labelOnlyBase=False)

        def minor(v, pos, short=short, sci=sci):
            mantissa = round(v / 10 ** np.floor(np.log10(v)), 6) if v > 0 else 0
            return sci(v, pos) if short and mantissa in (2, 5) else ""

        ax.xaxis.set_minor_formatter(FuncFormatter(minor))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, metadata={"Software": None})  # Agg PNG, no date or version


def _labels(best: pd.DataFrame) -> dict[tuple, str]:
    several = best["optimizer"].nunique() > 1
    out = {}
    for b in best.itertuples(index=False):
        label = f"{b.variant}, b={b.batch_size}"
        label += f", {b.optimizer}" if several else ""
        out[(b.variant, b.batch_size, b.optimizer)] = label
    return out


def _targets(ax, g: pd.DataFrame, floor: float) -> None:
    """A dotted line at each distinct target level tol x (f0 - f*) of a problem."""
    levels = (g["tol"] * (g["f0"] - g["f_star"])).astype(float)
    for i, level in enumerate(sorted({float(v) for v in levels if np.isfinite(v)})):
        ax.axhline(
            max(level, floor),
            color="0.45",
            ls=":",
            lw=1,
            label="target: tol x (f0 - f*)" if i == 0 else None,
        )


def plot_problem(run: Run, problem: str, out_dir: Path, smooth: float | None = None) -> list[Path]:
    """The three plots of one problem of a run; returns the files written."""
    lanes = run.lanes[run.lanes["problem"].astype(str) == problem]
    best = tables.best(lanes)
    labels = _labels(best)
    colors = {k: f"C{i % 10}" for i, k in enumerate(labels)}
    floor = _floor(lanes)
    n, d = int(lanes["n"].iloc[0]), int(lanes["d"].iloc[0])
    seeds = int(lanes["seed"].nunique())
    where = f"{run.meta.get('suite')} on {run.device} ({run.env.get('backend')})"
    smooth_note = f", EWMA alpha={_g(smooth)} (not batch)" if smooth is not None else ""
    written = []

    curves = run.curves()
    if curves is not None:
        c = curves[curves["problem"].astype(str) == problem]
        axes = {
            "samples": ("samples seen (steps x batch size, log scale)", "samples"),
            "seconds": ("seconds (timed kernel, all lanes together, log scale)", "time_s"),
        }
        for kind, (xlabel, xcol) in axes.items():
            fig, ax = _figure()
            start = (lanes["f0"] - lanes["f_star"]).astype(float).median()
            ax.axhline(max(start, floor), color="0.75", lw=1, label="start: f(w0) - f*")
            _targets(ax, lanes, floor)
            for b in best.itertuples(index=False):
                key = (b.variant, b.batch_size, b.optimizer)
                rows = c[
                    (c["variant"].astype(str) == str(b.variant))
                    & (c["batch_size"] == b.batch_size)
                    & (c["optimizer"].astype(str) == str(b.optimizer))
                    & np.isclose(c["lr"].astype(float), b.lr, rtol=1e-9, atol=0)
                ]
                if rows.empty:
                    continue
                # batch GD curves are not noisy: smoothing would only make them lag
                alpha = smooth if b.kind != "batch" else None
                x, med, q25, q75 = _median_curve(rows, xcol, alpha)
                # f - f* can be 0 or slightly negative (float rounding at the optimum): a log
                # axis cannot show it, so clip to a floor far below any target
                med, q25, q75 = (np.clip(v, floor, None) for v in (med, q25, q75))
                keep = x > 0  # the start (x = 0) has no place on a log axis: see the grey line
                label = f"{labels[key]}, lr={_g(b.lr)}"
                label += "" if b.all_converged else " (none converged)"
                # a curve of one or two points (a fast batch run) is invisible as a bare line
                marker = "o" if keep.sum() <= 3 else None
                ax.plot(
                    x[keep], med[keep], color=colors[key], lw=1.6, marker=marker, ms=4, label=label
                )
                ax.fill_between(x[keep], q25[keep], q75[keep], color=colors[key], alpha=0.2, lw=0)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel(xlabel)
            ax.set_ylabel("f(w) - f* (log scale)")
            ax.set_title(
                f"{problem} ({n} x {d}): suboptimality at the best lr\n"
                f"{where}; median of {_plural(seeds, 'seed')}, 25-75% band{smooth_note}",
                fontsize=9,
            )
            ax.grid(True, which="major", alpha=0.3)
            ax.legend(fontsize=7, loc="best")
            fig.tight_layout()
            path = out_dir / f"{_slug(problem)}-{kind}.png"
            _save(fig, path)
            written.append(path)

    fig, ax = _figure()
    _targets(ax, lanes, floor)
    diverged = False
    for b in best.itertuples(index=False):
        key = (b.variant, b.batch_size, b.optimizer)
        e = lanes[
            (lanes["variant"].astype(str) == str(b.variant))
            & (lanes["batch_size"] == b.batch_size)
            & (lanes["optimizer"].astype(str) == str(b.optimizer))
        ]
        lrs, med, q25, q75, bad = [], [], [], [], []
        for lr, g in e.groupby("lr", sort=True):
            live = g.loc[g["status"] != "diverged", "final_subopt"].astype(float)
            live = live[np.isfinite(live)]
            lrs.append(float(lr))
            med.append(live.median() if len(live) else np.nan)
            q25.append(live.quantile(0.25) if len(live) else np.nan)
            q75.append(live.quantile(0.75) if len(live) else np.nan)
            bad.append(bool((g["status"] == "diverged").any()))
        lrs_a = np.asarray(lrs)
        med_a, q25_a, q75_a = (np.clip(np.asarray(v, float), floor, None) for v in (med, q25, q75))
        ax.plot(lrs_a, med_a, "o-", color=colors[key], ms=3, lw=1.4, label=labels[key])
        ax.fill_between(lrs_a, q25_a, q75_a, color=colors[key], alpha=0.2, lw=0)
        ax.plot(
            [b.lr], [max(b.final_subopt, floor)], "o", mfc="none", mec=colors[key], ms=9, mew=1.5
        )
        if any(bad):
            # diverged: off the chart; an "x" at the top of the axis, x in data, y in axes units
            ax.plot(
                lrs_a[np.asarray(bad)],
                np.full(sum(bad), 0.97),
                "x",
                color=colors[key],
                ms=7,
                mew=1.8,
                transform=ax.get_xaxis_transform(),
                clip_on=False,
            )
            diverged = True
    ax.plot([], [], "o", mfc="none", mec="0.3", ms=9, label="best lr")
    if diverged:
        ax.plot([], [], "x", color="0.3", ms=7, mew=1.8, label="x: a seed diverged (off the chart)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("final f(w) - f* (log scale)")
    ax.set_title(
        f"{problem} ({n} x {d}): final suboptimality vs learning rate\n"
        f"{where}; median of {_plural(seeds, 'seed')} without diverged ones, 25-75% band",
        fontsize=9,
    )
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    path = out_dir / f"{_slug(problem)}-lr.png"
    _save(fig, path)
    written.append(path)
    return written


# ---------------------------------------------------------------------------------- entry point


def _plot_dir(results_dir: Path, run: Run, runs: list[Run]) -> Path:
    """``plots/<suite>/``; with several machines for a suite, one sub-folder per machine."""
    suite = _slug(run.meta.get("suite", "suite"))
    same = [r for r in runs if r.meta.get("suite") == run.meta.get("suite")]
    base = results_dir / "plots" / suite
    if len(same) == 1:
        return base
    _, backend, kind, host = run.machine
    return base / _slug(f"{backend}-{kind}-{host}".lower())


def plot_names(problem: str) -> list[str]:
    """File names of a problem's plots, in the order the README shows them."""
    return [f"{_slug(problem)}-{kind}.png" for kind in ("samples", "seconds", "lr")]


def readme_text(runs_dir: Path, results_dir: Path, *, smooth: float | None = None) -> str:
    """The README that ``write`` would produce from ``runs_dir``, using the plots already in
    ``results_dir`` (nothing is drawn or written: this is how a test checks the committed one)."""
    runs = discover(Path(runs_dir))
    results_dir = Path(results_dir)
    for run in runs:
        out_dir = _plot_dir(results_dir, run, runs)
        for problem in _problems(run.lanes):
            files = [out_dir / f for f in plot_names(problem) if (out_dir / f).is_file()]
            run.plots[problem] = [Path(os.path.relpath(f, results_dir)).as_posix() for f in files]
    return render_readme(runs, smooth=smooth)


def write(
    runs_dir: Path, results_dir: Path, *, smooth: float | None = None, plots: bool = True
) -> list[Path]:
    """Write ``results_dir/README.md`` (and the plots) from the newest complete runs.

    Args:
        runs_dir: a run folder, or a folder of run folders.
        results_dir: where README.md and plots/ go.
        smooth: EWMA weight in (0, 1] applied to each stochastic or mini-batch lane's curve
            before the median (for noisy SGD curves; batch GD curves are drawn as they are, an
            EWMA would only make them lag); None draws the raw curves. Tables are never smoothed.
        plots: False writes the README only (and leaves plots/ alone).

    Returns:
        The files written. With plots, stale PNGs under ``results_dir/plots`` are removed.

    Raises:
        FileNotFoundError: no complete run under ``runs_dir``.
    """
    if smooth is not None and not 0 < smooth <= 1:
        raise ValueError(f"--smooth must be in (0, 1], got {smooth}")
    runs = discover(Path(runs_dir))
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if plots:
        for run in runs:
            out_dir = _plot_dir(results_dir, run, runs)
            for problem in _problems(run.lanes):
                files = plot_problem(run, problem, out_dir, smooth)
                written += files
                run.plots[problem] = [
                    Path(os.path.relpath(f, results_dir)).as_posix() for f in files
                ]
        keep = {p.resolve() for p in written}
        plot_root = results_dir / "plots"
        for old in sorted(plot_root.rglob("*.png")) if plot_root.is_dir() else []:
            if old.resolve() not in keep:
                old.unlink()
    readme = results_dir / "README.md"
    if plots:
        readme.write_text(render_readme(runs, smooth=smooth))
    else:  # tables only: keep embedding the plots already there
        readme.write_text(readme_text(runs_dir, results_dir))
    written = [readme, *written]
    from bench import perf_report

    perf = perf_report.render(Path(runs_dir))
    if perf is not None:
        (results_dir / "perf.md").write_text(perf)
        written.insert(1, results_dir / "perf.md")
    return written
