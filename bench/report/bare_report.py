"""``results/perf.md``'s sections on the bare program: gdjax beside jax-scan, and the floor
of exact monitoring (jax-scan made to record every step's loss). Both read the columns that
``bench.perf.attach.attach`` adds to a perf run's lanes.
"""

from __future__ import annotations

import pandas as pd

from bench.report.tables import md_table, ms, times


def _section(title: str, prose: str, header: list[str], rows: list[list[str]]) -> list[str]:
    """A perf.md section: title, prose and a table, numbers right-aligned; none without rows."""
    if not rows:
        return []
    return ["", f"## {title}", "", prose, "", md_table(header, rows, set(range(1, len(header))))]


def render_bare(records: list[dict]) -> list[str]:
    """gdjax beside the bare program of the same arithmetic, and what its monitoring costs."""
    rows = []
    for r in records:
        if pd.isna(r.get("jax-scan_s", float("nan"))):
            continue
        cold = r.get("compile_cold_s", r["compile_s"])
        rows.append(
            [
                r["problem"],
                ms(r.get("jax-scan_gdjax_s", r["run_s"])),
                ms(r["jax-scan_s"]),
                times(r["vs_jax-scan"]),
                f"{cold:.2f}",
                f"{r['jax-scan_compile_s']:.2f}",
                f"{r['jax-scan_max_rel_diff']:.1e}",
                ms(r.get("grid_monitor_s", float("nan"))),
                times(r.get("exact_monitor_cost", float("nan"))),
                times(r.get("seeds4_vs_one_seed", float("nan"))),
                times(r.get("seeds4_floor", float("nan"))),
            ]
        )
    header = [
        "workload",
        "gdjax ms",
        "jax-scan ms",
        "gdjax / jax-scan",
        "gdjax compile s",
        "jax-scan compile s",
        "final-loss diff",
        "gdjax ms, grid monitoring",
        "exact monitoring cost",
        "4 seeds / 1 seed",
        "jax-scan 4 seeds / 1 seed",
    ]
    return _section(
        "Against a bare program",
        "`jax-scan` is plain SGD as about 25 lines of `jit(vmap(scan))` over rows drawn ahead, "
        "with no monitoring, status or early stop (`bench/perf/baselines.py`): the floor for this "
        "arithmetic. gdjax runs with its default monitoring: least squares checks the full-data "
        "loss after every step, so its counts are exact (in the eigenbasis of the Hessian, where "
        "that check costs O(d), see `gdjax/_kernel/eigenbasis.py`). `gdjax ms, grid monitoring` is"
        " the same kernel with that check only at the curve's points; `exact monitoring cost` is "
        "the ratio of the two. `4 seeds / 1 seed`: the same 64 lanes as 4 seeds x 16 rates (each "
        "seed its own rows) against 1 seed x 64 rates; `jax-scan 4 seeds / 1 seed`, the same split"
        " of the bare program with its rows gathered ahead (as gdjax gathers a chunk's): what the "
        "split costs a program that does nothing else, the split's floor (its seeds' products are "
        "a batch of smaller ones). Each ratio comes from programs called in turn, one call of each"
        " per round (medians), so that all meet the same spells of a shared machine; `gdjax ms` "
        "here is gdjax's median beside jax-scan. "
        "Compiles are cold (caches off).",
        header,
        rows,
    )


def _floor_rows(records: list[dict], name: str, ratio: str) -> list[list[str]]:
    """A row per workload that has the floor ``name`` (its columns ``{name}_s``, ...) and
    its ratio to jax-scan ``ratio``."""
    rows = []
    for r in records:
        if pd.isna(r.get(f"{name}_s", float("nan"))):
            continue
        gdjax_s = r.get("jax-scan_gdjax_s", r["run_s"])
        rows.append(
            [
                r["problem"],
                ms(r["jax-scan_s"]),
                ms(r[f"{name}_s"]),
                times(r[ratio]),
                ms(gdjax_s),
                times(gdjax_s / r[f"{name}_s"]),
                f"{r['jax-scan_compile_s']:.2f}",
                f"{r[f'{name}_compile_s']:.2f}",
                f"{r[f'{name}_max_rel_diff']:.1e}",
            ]
        )
    return rows


def _floor_header(what: str, ratio: str) -> list[str]:
    return [
        "workload",
        "jax-scan ms",
        f"jax-scan + {what} ms",
        ratio,
        "gdjax ms",
        f"gdjax / (jax-scan + {what})",
        "jax-scan compile s",
        f"jax-scan + {what} compile s",
        "final-loss diff",
    ]


def render_floor(records: list[dict]) -> list[str]:
    """What recording every step's loss costs the bare program: exact monitoring's floor."""
    rows = _floor_rows(records, "jax-scan-loss", "loss_floor")
    header = _floor_header("loss", "loss floor")
    return _section(
        "The floor of exact monitoring",
        "`jax-scan + loss` is jax-scan run where gdjax runs least squares, in the eigenbasis of "
        "the Hessian, with the full-data loss of every lane after every step as its scan's "
        "output: O(d) a step (`bench/perf/baselines.py`). It gathers the rows of every step in one "
        "go before its scan, as gdjax gathers a chunk's (jax-scan gathers each step's inside "
        "it). It has no status, halting, early stop or targets; gdjax books all of them from "
        "the same losses. `loss floor` is its time over jax-scan's: the cheapest exact "
        "monitoring we know how to write on this backend, against the bare program. Where it is "
        "above 1.1x, no kernel that monitors every step this way meets the 1.1x goal. All three "
        "programs were called in turn, in the same rounds (medians); `final-loss diff` compares "
        "its last loss with gdjax's.",
        header,
        rows,
    )


def render_checks_floor(records: list[dict]) -> list[str]:
    """What the full-data checks of an ``eval_every`` grid cost the bare program: grid
    monitoring's floor (a custom loss, logistic and softmax on mini-batches)."""
    rows = _floor_rows(records, "jax-scan-checks", "checks_floor")
    return _section(
        "The floor of grid monitoring",
        "Where gdjax checks the full-data loss on its evaluation grid, every `eval_every` steps "
        "(a pass over the data each time, too dear to make every step), `jax-scan + checks` is "
        "jax-scan with the same checks: a scan of `eval_every` steps, then the loss of every "
        "lane on all rows, and again, ending with a check after the last step "
        "(`bench/perf/baselines.py`). It has no status, halting, early stop or targets. "
        "`checks floor` is its time over jax-scan's: what those checks cost a program that does "
        "nothing else, the ceiling of gdjax / jax-scan for this grid. All three programs were "
        "called in turn, in the same rounds (medians); `final-loss diff` compares its last "
        "check with gdjax's final loss.",
        _floor_header("checks", "checks floor"),
        rows,
    )
