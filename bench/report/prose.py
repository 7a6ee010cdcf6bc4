"""The fixed prose of ``results/README.md``: how to read the tables, how to add a machine.

Kept apart from ``bench.report.readme`` (which assembles the README from runs) because it is text,
not logic; the words it uses are defined in the project README ("Words") and ``gdjax/metrics.py``.
"""

from __future__ import annotations

from bench.report.intervals import METHOD
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
  cache); **run s** the median of its timed runs (all lanes together).
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
