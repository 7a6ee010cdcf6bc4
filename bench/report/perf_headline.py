"""``results/perf.md``'s headline, what a user wants first, and its sections on scikit-learn and
the first call: gdjax against each peer, steady and first call, in at most
:data:`HEADLINE_COLUMNS` columns; scikit-learn's fits against gdjax's first call (the crossover in
lanes, and a new process's first call with the library's cache cold and warm) and their goals.
Both read the columns that ``bench.perf.attach.attach`` adds to a perf run's lanes.
"""

from __future__ import annotations

import math

import pandas as pd

from bench.report.tables import md_table, ms, times

__all__ = [
    "FIRST_CALL_TARGETS",
    "HEADLINE_COLUMNS",
    "PEERS",
    "first_call_targets",
    "render_first_call",
    "render_headline",
]

#: The most columns the headline table may have (a page's width).
HEADLINE_COLUMNS = 8
#: (lane baseline, its name in the headline): the loops people write, one lane at a time
PEERS = (("numpy", "numpy"), ("torch", "torch"), ("sklearn", "scikit-learn"))
#: a new process's first call (library cache warm / cold) over scikit-learn's 64 fits, at least
FIRST_CALL_TARGETS = {"warm": 1.0, "cold": 0.5}

NAN = float("nan")


def _get(r: dict, key: str) -> float:
    v = r.get(key, NAN)
    return NAN if v is None or pd.isna(v) else float(v)


def _pair(steady: float, first: float) -> str:
    """A headline cell: the steady ratio and the first call's, "-" where not measured."""
    if math.isnan(steady) and math.isnan(first):
        return "-"
    return f"{times(steady)} / {times(first)}"


def headline_rows(records: list[dict]) -> list[list[str]]:
    """One row per workload: gdjax's times, then its speedup over each peer, steady / first."""
    rows = []
    for r in records:
        cold = _get(r, "compile_cold_s")
        cold = _get(r, "compile_s") if math.isnan(cold) else cold
        run_s = _get(r, "run_s")
        # jax-scan: both programs' medians from calls in turn, each first call with its own
        # cold compile
        mine = _get(r, "jax-scan_gdjax_s")
        mine = run_s if math.isnan(mine) else mine
        bare, bare_compile = _get(r, "jax-scan_s"), _get(r, "jax-scan_compile_s")
        row = [
            r["problem"],
            ms(run_s),
            f"{run_s + cold:.2f}",
            _pair(bare / mine, (bare + bare_compile) / (mine + cold)),
        ]
        for name, _ in PEERS:
            row.append(_pair(_get(r, f"speedup_{name}"), _get(r, f"speedup_{name}_with_compile")))
        rows.append(row)
    return rows


def render_headline(records: list[dict]) -> list[str]:
    """The headline table: per workload, gdjax against each peer, steady and first call."""
    header = ["workload", "gdjax ms", "gdjax first call s", "vs jax-scan"]
    header += [f"vs {label}" for _, label in PEERS]
    assert len(header) <= HEADLINE_COLUMNS
    return [
        "",
        "## Headline",
        "",
        "How many times faster gdjax's 64-lane sweep is than each peer doing the same 64 lanes "
        "(above 1x: gdjax is faster), in each cell **steady / first call**. Steady: the compiled "
        "sweep's median run against the peer's; first call: gdjax's run plus its cold compile "
        "(every cache off) against the peer's. `jax-scan` is the bare `jit(vmap(scan))` program "
        "of the same arithmetic, all 64 lanes in one call, with its own cold compile on the first "
        "call. numpy, torch and scikit-learn are **per-lane Python loops**, one learning rate at "
        "a time: a few lanes are timed and their median is scaled to 64 lanes (they compile "
        "nothing, so their first call is their steady time). scikit-learn is timed only where it "
        "runs the same algorithm (per-sample SGD on linear models). The detail tables below say "
        "how each was measured.",
        "",
        md_table(header, headline_rows(records), set(range(1, len(header)))),
    ]


def render_first_call(records: list[dict]) -> list[str]:
    """scikit-learn's fits against gdjax's first call: per lane count, and in a new process."""
    rows = [r for r in records if not math.isnan(_get(r, "sklearn_s"))]
    if not rows:
        return []
    out = [
        "",
        "## scikit-learn and the first call",
        "",
        "scikit-learn's `SGDRegressor` (Cython) runs gdjax's algorithm on this workload: "
        "per-sample constant-rate SGD from zero over the same rows in the same order, one fit "
        "per learning rate. Its squared loss is half gdjax's, so each fit gets `eta0 = 2 lr` "
        "(`bench/perf/sklearn_fits.py`; its parameters equal gdjax's lane to float64 rounding, "
        "`tests/bench/perf/test_sklearn_fits.py`). A user's one-off sweep pays gdjax's compile: "
        "`first call` below is the compile (every cache off) plus one run, at several lane "
        "counts (learning rates spread over the workload's range), against that many fits at "
        "their median time. `crossover`: the smallest measured lane count where gdjax's first "
        "call wins, and where a straight line through its first-call times meets the fits'. "
        "`new process`: the first `gdjax.sweep` call of a fresh Python process, timed inside it "
        "(after its imports), with the library's persistent compilation cache in an empty "
        "folder (cold), then in a second process reading what the first stored (warm).",
        "",
    ]
    for r in rows:
        fit = _get(r, "sklearn_lane_s")
        counts = sorted(
            int(k[len("first_call_") : -len("_s")])
            for k in r
            if k.startswith("first_call_") and k[len("first_call_") : -len("_s")].isdigit()
        )
        table = []
        for k in counts:
            g = _get(r, f"first_call_{k}_s")
            table.append([str(k), f"{g:.3f}", f"{k * fit:.3f}", times(k * fit / g)])
        header = ["lanes", "gdjax first call s", "scikit-learn fits s", "gdjax speedup"]
        measured = _get(r, "sklearn_crossover_lanes")
        fitted = _get(r, "sklearn_crossover_fit")
        out += [
            f"### {r['problem']}",
            "",
            f"One scikit-learn fit: {fit * 1e3:.3g} ms (median of "
            f"{int(_get(r, 'sklearn_lanes_timed'))} timed); 64 fits: {_get(r, 'sklearn_s'):.3g} s."
            f" gdjax's sweep: {ms(_get(r, 'run_s'))} ms steady.",
            "",
        ]
        if table:
            out += [
                md_table(header, table, {0, 1, 2, 3}),
                "",
                "Crossover: gdjax's first call overtakes separate fits from "
                + ("no measured lane count" if math.isnan(measured) else f"{measured:.0f} lanes")
                + " (measured); the fitted line meets them at "
                + ("no lane count" if math.isinf(fitted) else f"{fitted:.3g} lanes")
                + ".",
                "",
            ]
        process = [
            [label, f"{_get(r, f'first_call_process_{key}_s'):.3f}", times(_process_ratio(r, key))]
            for key, label in (("cold", "cache cold"), ("warm", "cache warm"))
            if not math.isnan(_get(r, f"first_call_process_{key}_s"))
        ]
        if process:
            header = ["new process, first call", "s", "vs scikit-learn's 64 fits"]
            out += [md_table(header, process, {1, 2}), ""]
    return out[:-1] if out[-1] == "" else out


def _process_ratio(r: dict, key: str) -> float:
    return _get(r, "sklearn_s") / _get(r, f"first_call_process_{key}_s")


def first_call_targets(by: dict, at_peak, target) -> list[list[str]]:
    """Goals of a new process's first call against scikit-learn's 64 fits, each with its
    ceiling: the ratio with gdjax's run at the GEMM rate (``at_peak(r)`` seconds) in place of
    its measured run, the compile or cache load kept as measured.

    Args:
        by: workload -> its record.
        at_peak: ``record -> seconds`` of its kernel at the machine's GEMM rate.
        target: ``(name, goal, measured, ok, ceiling) -> row`` (perf_report's).
    """
    rows = []
    for w, r in by.items():
        for key, goal in FIRST_CALL_TARGETS.items():
            v = _process_ratio(r, key)
            if math.isnan(v):
                continue
            spent = _get(r, f"first_call_process_{key}_s") - _get(r, "run_s")
            ceil = _get(r, "sklearn_s") / (max(spent, 0.0) + at_peak(r))
            name = f"{w}: new process's first call, cache {key}, vs scikit-learn's 64 fits"
            rows.append(target(name, f">= {goal:g}x", times(v), v >= goal, ceil))
    return rows
