"""The prose of ``results/README.md``: how to read the tables, how to add a machine (fixed), and
what the non-convex runs show about the tutorials' claims (:func:`findings`, generated from the
run's data).

Kept apart from ``bench.report.readme`` (which assembles the README from runs) because it is text,
not logic; the words it uses are defined in the project README ("Words") and ``gdjax/metrics.py``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from bench.report import ladder, landscape
from bench.report.intervals import METHOD
from bench.report.ladder import compact
from bench.report.tables import short
from bench.runs import Run

READING = """\
## Reading the tables

The words are defined once, in the project README ("Words") and `gdjax/metrics.py`; in short:

- **Relative suboptimality** is `(f(w_t) - f*) / (f(w_0) - f*)`: 1 at the start, 0 at the optimum.
  `f*` is the true optimum computed in float64 (closed form for least squares, Newton's method for
  the regularised logistic and softmax losses).
- **Targets.** Each run measures a ladder of relative-suboptimality targets (1e-1 .. 1e-4 by
  default). Per lane and target, **first-hit** is the first step at or below the target and
  **stay-below** the first step from which the lane stays at or below it through its last step.
  The tables give **samples** (steps x batch size: the fair axis between variants, a stochastic
  step reads one row, a batch step all n) and **seconds** to each, as `first-hit / stay-below`:
  medians over seeds, given only when every seed got there; `(k/n)`: only k of the n seeds did;
  `-`: none did within the budget (or the lane stopped early at tol).
- **Intervals.** Every median count and time is followed by `[lo, hi]`: {method}. Where every
  seed gave the same count the interval is that point and is left out.
- **Budget.** The line above each problem's tables gives its sample budget (samples = steps x
  batch size), the same for every variant, so the comparison is at equal data read. Where a suite
  file gives the variants different budgets, a warning says so and every table, curve and profile
  compares over the smallest one (the budget every variant had): a target reached later counts as
  not reached, for every variant alike.
- **best lr** of a row: the tightest target that every seed of at least one learning rate hit;
  among those rates, the one with the fewest median samples to it (ties: the smaller rate). The
  whole row, every target, is read at that one rate.
- **resolution**: "exact" when every count of the row is exact to the step (the loss was
  checked after every step: always for least squares and the quadratic, for logistic and
  softmax where that check, a pass over the data, is affordable, as in batch GD); "at checks"
  when some were read at the checks of a geometric grid: the first check at or below a target,
  with no bracket (between checks a stochastic lane's loss goes up and down, so the true step
  may lie well before or after), and a target "not reached" was not seen at a check.
- **Theory**: L and mu are the extreme eigenvalues of the loss Hessian (at the optimum for
  logistic and softmax), kappa = L/mu; batch GD is stable for lr < 2/L and fastest at the
  constant rate 2/(L+mu). On least squares its step count is predicted exactly from the spectrum
  and shown beside the measured one.
- A lane has **converged** when it reached `tol` (the tol of the budget line; with early
  stopping it is frozen there), **diverged** when its loss went non-finite or far above the
  start, otherwise **max_steps**. The status counts are over every lane (learning rate x seed)
  of the row.
- **seconds** = run time x steps / steps run: every lane of a row (the whole learning-rate x seed
  grid) runs in one vmapped kernel, so this is the time that kernel, all lanes together, took to
  reach the step, on the machine named in the section (not a single-lane time). **compile s** is
  the ahead-of-time compile of the kernel ("(cached)": loaded from JAX's persistent compilation
  cache, one measurement); **run s** the median of its timed runs (all lanes together), with
  `[min, max]` over those runs: one kernel runs every seed, so its time has a spread over repeats,
  not over seeds.
- **Runs made before target ladders** show one table of steps, epochs, samples and seconds to
  `tol`, counted at the evaluations (every `eval_every` steps), at the rate whose seeds all
  converged in the fewest median samples; "(grid edge)": the best rate is an end of the grid;
  **final subopt** is the absolute `f - f*` at the last evaluated step (median over seeds).
- **Summary and profiles**: per problem and target, the variant with the fewest samples / the
  fewest seconds. The performance profile (Dolan-More, as AlgoPerf scores) of a variant is the
  fraction of problems it reaches, within a factor tau of the best variant's cost, at the
  tightest target that some variant reached on that problem within the budget every variant had
  (listed under the plot); a variant that did not get there, or did not run, counts as not
  solving it, and none is scored at a target that only a longer budget could reach.
- Plots: median over seeds, the band its bootstrap interval (as in the tables), on plain log
  axes up to the problem's budget; the start f(w0) - f* is a horizontal line; f - f* at or below
  zero (float rounding at the optimum) is drawn at a small floor, marked in the legend. The
  learning-rate plot shows samples to a target against the rate (early stopping cannot flatten
  it), each variant at the target its best lr was chosen at (named in the legend), so the
  circled best lr is the lowest point of its line; rates where a seed missed the target are
  marked in a strip above the axes, not on them; 2/L is a dashed line and 2/(L+mu) a triangle
  on the x axis. For runs without ladders, the final f - f* against the rate.
""".replace("{method}", METHOD)


def how_to(found: list[Run]) -> str:
    """The closing section: the machines measured, and how to add a GPU or TPU run."""
    machines = "; ".join(
        dict.fromkeys(
            f"{r.device} ({r.env.get('backend')}, host `{r.env.get('host')}`)" for r in found
        )
    )
    return f"""\
## How to add a GPU or TPU run

Every number above was measured on the machines named in the section titles and nowhere else:
{machines}. To add another machine, run the suite there and regenerate this file:

```bash
pip install -U "jax[cuda12]"   # NVIDIA GPU; on a Cloud TPU VM: pip install -U "jax[tpu]"
python -m bench env            # check that the backend and devices are the ones you expect
python -m bench run --suite default --publish   # into results/runs/ (without: bench-out/runs/)
python -m bench report --publish                # rewrites results/README.md and results/plots/
python -m bench compare results/runs/<cpu run folder> results/runs/<gpu run folder>
```

Commit the new folder under `results/runs/` with the regenerated README and plots. The report keeps
the newest complete run of each (suite, backend, device kind, host).
"""


# ---------------------------------------------------------------------------------- findings


def findings(run: Run) -> list[str]:
    """What the run shows about the tutorials' four claims, in words, with its numbers: each
    sentence is chosen by the data (a claim that does not hold is said not to), never typed
    for a particular run. Empty for a run without the non-convex problems.

    The claims: batch GD can stop at a saddle; SGD's noise helps leave saddles; GD finds a
    local optimum, not necessarily the global one; mini-batch is the compromise.
    """
    hits, params = run.hits(), run.params()
    if hits is None or "problems" not in run.meta:
        return []
    names = {p: landscape.factory_name(t) for p, t in run.meta["problems"].items()}
    saddles = [p for p, n in names.items() if n == "saddle"]
    wells = [p for p, n in names.items() if n == "double_well"]
    if not saddles and not wells:
        return []
    out = [f"### What the runs show ({run.meta.get('suite')})", ""]
    for p in saddles:
        h = hits[hits["problem"].astype(str) == p]
        out += [_stuck(run, p, h, params), "", _leave(run, p, h), ""]
    for p in wells:
        if params is not None:
            out += [_wells(run, p, params), ""]
    out += [_compromise(run, hits), ""]
    return out


def _kind_of(run: Run, problem: str) -> dict:
    """variant -> kind (batch, stochastic, mini-batch) of one problem's entries."""
    g = run.lanes[run.lanes["problem"].astype(str) == problem]
    return dict(zip(g["variant"].astype(str), g["kind"].astype(str), strict=False))


def _stuck(run: Run, problem: str, hits, params) -> str:
    kinds = _kind_of(run, problem)
    batch = [v for v, k in kinds.items() if k == "batch"]
    at = hits[hits["variant"].astype(str).isin(batch)]
    at = at[at["target"].astype(float).round(9) == landscape.LEAVE_TARGET]
    lanes = len(at)
    if not lanes:
        return f"**Batch GD can stop at a saddle.** {problem}: no batch GD row ran."
    left = int(at["stay_step"].notna().sum())
    reached = int(at["first_step"].notna().sum())
    where = ""
    if params is not None:
        final = params[
            (params["problem"].astype(str) == problem)
            & params["variant"].astype(str).isin(batch)
            & params["final"].astype(bool)
        ]
        still = int(((final["p0"] == 0) & (final["p1"] == 0)).sum()) if len(final) else 0
        where = f" {still} of them ended exactly at the saddle point (0, 0)."
    steps = int(run.lanes.loc[run.lanes["problem"].astype(str) == problem, "steps"].min())
    if reached == 0:
        return (
            f"**Batch GD can stop at a saddle.** Holds: on {problem}, started at the saddle, "
            f"none of the {lanes} batch GD lanes (every rate x seed) got below relative "
            f"suboptimality {landscape.LEAVE_TARGET:g} within its budget (from {steps} steps "
            f"for the batch row): the full-data gradient there is exactly 0.{where}"
        )
    return (
        f"**Batch GD can stop at a saddle.** Does not hold here: on {problem}, {reached} of "
        f"{lanes} batch GD lanes got below relative suboptimality {landscape.LEAVE_TARGET:g} "
        f"and {left} stayed there.{where}"
    )


def _leave(run: Run, problem: str, hits) -> str:
    fast = landscape.fastest_leave(landscape.leave_frame(hits))
    n = int(run.lanes.loc[run.lanes["problem"].astype(str) == problem, "n"].iloc[0])
    parts, steps = [], []
    for r in fast.itertuples(index=False):
        label = "batch GD" if r.batch_size >= n else f"b = {r.batch_size}"
        if pd.isna(r.steps):
            parts.append(f"{label}: never on every seed ({r.left} of {r.lanes} lanes left)")
        else:
            parts.append(
                f"{label}: {r.steps:g} steps ({r.steps * r.batch_size:g} samples) at lr "
                f"{short(r.lr)}, {r.left} of {r.lanes} lanes left over the grid"
            )
            steps.append((r.batch_size, r.steps))
    noisy = fast[fast["batch_size"] < n]
    batch = fast[fast["batch_size"] >= n]
    all_noisy = len(noisy) > 0 and noisy["steps"].notna().all()
    batch_never = len(batch) > 0 and (batch["left"] == 0).all()
    ordered = [s for _, s in sorted(steps)]
    grows = all(a <= b for a, b in itertools.pairwise(ordered))
    if all_noisy and batch_never:
        verdict = "Holds: every batch size below n left the saddle on every seed at some rate; "
        verdict += "batch GD never did"
    elif all_noisy:
        verdict = "Holds for the noisy rows, but batch GD left too on some lanes"
    else:
        verdict = "Does not fully hold: some batch sizes below n did not leave on every seed"
    trend = (
        "the fewer rows per step (the more noise), the fewer steps to leave"
        if grows and len(ordered) > 1
        else "the steps to leave do not grow steadily with the batch size"
    )
    return (
        f"**SGD's noise helps leave saddles.** {verdict}. Median steps to leave {problem} "
        f"(the radius above), at each row's fastest rate: {'; '.join(parts)}. In steps, {trend}."
    )


def _wells(run: Run, problem: str, params) -> str:
    x_b = landscape.barrier(run, problem)
    p_rows = params[params["problem"].astype(str) == problem]
    frame = landscape.wells(p_rows, x_b, run.lanes[run.lanes["problem"].astype(str) == problem])
    if frame.empty:
        return ""
    kinds = _kind_of(run, problem)
    sentences, by_kind = [], {}
    for variant, g in frame.groupby("variant", sort=False):
        total, got = int(g["lanes"].sum()), int(g["in_global"].sum())
        by_kind.setdefault(kinds.get(str(variant)), []).append(got / total)
        rates = ", ".join(
            f"{short(r.lr)}: {r.in_global}/{r.lanes}" for r in g.itertuples(index=False)
        )
        sentences.append(f"{variant} {got} of {total} lanes (by rate {rates})")
    b = frame[frame["variant"].astype(str).map(kinds) == "batch"]
    stable = b[b["lost"] == 0]
    local = stable[stable["in_global"] == 0]
    crossed = stable[stable["in_global"] > 0]
    if len(local):
        verdict = (
            f"Holds: at {len(local)} of {len(b)} rates (lr {short(local['lr'].min())} to "
            f"{short(local['lr'].max())}) every batch GD lane ended in the shallow well it "
            "started in"
        )
        lost = b[b["lost"] > 0]
        if len(lost):
            verdict += (
                f"; at lr {', '.join(short(v) for v in lost['lr'])} batch GD diverged on "
                f"{int(lost['lost'].sum())} lanes"
            )
        if len(crossed):
            verdict += (
                f"; at lr {', '.join(short(v) for v in crossed['lr'])} batch GD crossed the "
                "barrier by overshooting (a step too large for the well, no noise involved: "
                "its seeds all take the same path)"
            )
    else:
        verdict = "Does not hold here: no batch GD rate kept all its lanes in the shallow well"
    noisy = [f for k, fs in by_kind.items() if k != "batch" for f in fs]
    batch_frac = np.mean(by_kind.get("batch", [np.nan]))
    more = (
        "the noisy rows ended in the global well more often than batch GD"
        if noisy and max(noisy) > batch_frac
        else "the noisy rows did not end in the global well more often than batch GD"
    )
    return (
        f"**GD finds a local optimum, not necessarily the global one.** {verdict}. On "
        f"{problem}, started in the shallow well, the lanes whose final x is below the "
        f"barrier x = {x_b:.4f}: {'; '.join(sentences)}. Over the whole grid {more}."
    )


def _compromise(run: Run, hits) -> str:
    lad = ladder.ladder(hits)
    holds, lines = 0, []
    problems = list(dict.fromkeys(lad["problem"].astype(str)))
    for p in problems:
        kinds = _kind_of(run, p)
        g = lad[lad["problem"].astype(str) == p]
        g = g.assign(kind=g["variant"].astype(str).map(kinds))
        sgd, mini, batch = (g[g["kind"] == k] for k in ("stochastic", "mini-batch", "batch"))
        if sgd.empty or mini.empty:
            continue
        both = [
            t
            for t in sorted(g["target"].unique())
            if sgd.loc[sgd["target"] == t, "first_samples"].notna().any()
            and mini.loc[mini["target"] == t, "first_samples"].notna().any()
        ]
        if not both:
            lines.append(f"{p}: stochastic and mini-batch reached no common target")
            continue
        t = both[0]  # the tightest target both reached on every seed
        s = sgd[sgd["target"] == t].iloc[0]
        m = mini[mini["target"] == t].sort_values("first_seconds", kind="stable").iloc[0]
        bt = batch[batch["target"] == t]
        b_samples = bt["first_samples"].iloc[0] if len(bt) else np.nan
        fewer_samples = pd.isna(b_samples) or m["first_samples"] <= b_samples
        faster = m["first_seconds"] <= s["first_seconds"]
        ok = fewer_samples and faster
        holds += ok
        batch_text = (
            f"batch GD {compact(b_samples)} samples"
            if not pd.isna(b_samples)
            else "batch GD did not get there in the budget"
        )
        lines.append(
            f"{p} at {t:g}: {m['variant']} {compact(m['first_samples'])} samples in "
            f"{compact(m['first_seconds'])} s, stochastic {compact(s['first_samples'])} samples "
            f"in {compact(s['first_seconds'])} s, {batch_text}"
            + ("" if ok else " (not a compromise here)")
        )
    counted = len(lines)
    verdict = (
        "Holds" if counted and holds == counted else ("Partly holds" if holds else "Does not hold")
    )
    return (
        f"**Mini-batch is the compromise.** {verdict} (on {holds} of {counted} problems: a "
        "mini-batch row reached the tightest target that it and stochastic GD both reached in "
        "no more samples than batch GD and no more seconds than stochastic GD; seconds are "
        "those of each row's whole kernel, all its lanes together, at the best rates). "
        + "; ".join(lines)
        + "."
    )
