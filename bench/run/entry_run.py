"""One entry of a suite: build its kernel, time it (:mod:`bench.run.timing`) and turn its lanes,
curves and hits into rows keyed by the entry, with the machine and the times beside them.

:mod:`bench.run.runner` runs a suite's entries through :func:`run_entry` and saves each.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd

import gdjax
from bench.run import timing
from bench.run.suites import Entry

__all__ = [
    "ENV_COLUMNS",
    "config_labels",
    "curve_rows",
    "lane_rows",
    "predicted_steps",
    "run_entry",
    "step_cost",
]

# the machine every lane row names (``bench.envinfo.describe``)
ENV_COLUMNS = (
    "backend",
    "device_kind",
    "device_count",
    "jax_version",
    "jaxlib_version",
    "optax_version",
    "x64",
    "host",
    "cpu",
    "git_sha",
)


def run_entry(entry: Entry, problem, env: dict, repeats: int, sharding=None):
    """Compile, time and evaluate one entry.

    Returns:
        ``(lanes, curves, hits, kernel)``: three DataFrames (one row per lane, per lane and
        curve point, per lane and target) and the entry's ``gdjax`` kernel.
    """
    kernel = entry.kernel(problem, sharding=sharding)
    t = timing.time_kernel(kernel, repeats)
    res = kernel.to_result(t.output, run_s=t.run_s)
    # with a hyperparameter grid, every combination is an optimizer of its own in the tables
    # (its best learning rate, its row), labelled "name[keyword=value,...]"
    optimizer = config_labels(entry.optimizer, res.to_frame(), res.hyperparams)
    keys = {
        "suite": entry.suite,
        "problem": entry.problem,
        "variant": entry.variant,
        # the column keeps its name: published runs are read as written. What ran: every
        # batch size of a problem whose rows are not samples (the quadratic) is batch GD, and
        # the result says so with batch_size n
        "kind": "batch" if res.batch_size == problem.n else entry.descent,
        "batch_size": res.batch_size,
        "optimizer": optimizer,
        "schedule": res.schedule,
    }
    lanes = lane_rows(entry, problem, kernel, res, t, keys, env)
    curves = curve_rows(entry, res, seconds_per_step=t.run_s / max(res.steps_run, 1))
    hits = res.hits()
    K = len(res.targets)
    for i, (k, v) in enumerate(keys.items()):
        hits.insert(i, k, np.repeat(v, K) if k == "optimizer" and res.hyperparams else v)
    hits["predicted_first_step"] = predicted_steps(entry, problem, hits, res.total_steps)
    return lanes, curves, hits, kernel


def config_labels(name: str, frame: pd.DataFrame, hyperparams: dict):
    """Each lane's optimizer label: ``name`` alone without a hyperparameter grid, else
    ``name[keyword=value,...]`` with the lane's values (``frame``: one row per lane).

    The entry key stays ``name`` (:func:`bench.runs.entry_keys` drops the brackets).

    Example:
        >>> frame = pd.DataFrame({"lr": [0.1, 0.1], "decay": [0.5, 0.9], "seed": [0, 0]})
        >>> config_labels("rmsprop", frame, {"decay": None}).tolist()
        ['rmsprop[decay=0.5]', 'rmsprop[decay=0.9]']
    """
    if not hyperparams:
        return name
    parts = [frame[k].map(lambda v, k=k: f"{k}={v:g}") for k in hyperparams]
    joined = parts[0]
    for p in parts[1:]:
        joined = joined + "," + p
    return (name + "[" + joined + "]").to_numpy()


def lane_rows(entry: Entry, problem, kernel, res, t, keys: dict, env: dict) -> pd.DataFrame:
    """One row per lane: the entry's keys and settings, the result, its times and the machine."""
    s = entry.settings
    lanes = res.to_frame().drop(columns=["batch_size", "optimizer", "schedule", "exact"])
    meta_cols = {
        **keys,
        "n": problem.n,
        "d": problem.d,
        "epochs": s["epochs"],
        "steps": res.total_steps,
        "steps_per_epoch": res.steps_per_epoch,
        "eval_every": s["eval_every"],
        "exact": kernel.config.exact,
        "tol": s["tol"],
        "dtype": str(problem.dtype),
    }
    lanes = pd.concat([pd.DataFrame(meta_cols, index=lanes.index), lanes], axis=1)
    seconds_per_step = t.run_s / max(res.steps_run, 1)
    lanes["time_to_target_s"] = lanes["steps_to_target"].astype("Float64") * seconds_per_step
    # theory beside measurement: the Hessian's extreme eigenvalues (float64), where the loss
    # offers them (a custom loss may not: the tables then leave theory out)
    L, mu = problem.curvature() if problem.offers("curvature") else (np.nan, np.nan)
    lanes["L"], lanes["mu"] = L, mu
    lanes["f_star"] = res.f_star
    lanes["f0"] = res.f0
    lanes["steps_run"] = res.steps_run
    lanes["compile_s"] = t.compile_s
    lanes["run_s"] = t.run_s
    lanes["run_s_min"] = t.run_s_min
    lanes["run_s_max"] = t.run_s_max
    lanes["repeats"] = t.repeats
    lanes["compile_cache_hit"] = t.cache_hit
    cost = step_cost(kernel)
    lanes["flops_per_step"] = cost.get("flops", np.nan)
    lanes["bytes_per_step"] = cost.get("bytes accessed", np.nan)
    lanes["gflops"] = lanes["flops_per_step"] * res.steps_run / t.run_s / 1e9
    lanes["gbytes_s"] = lanes["bytes_per_step"] * res.steps_run / t.run_s / 1e9
    lanes["lanes"] = res.num_lanes
    for k in ENV_COLUMNS:
        lanes[k] = env[k]
    lanes["timestamp"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return lanes


def step_cost(kernel) -> dict:
    """XLA's cost analysis of one step (``{}`` where the backend has none: its columns are NaN)."""
    try:
        return kernel.step_cost()
    except NotImplementedError:  # jax's documented answer of a backend without cost analysis
        return {}


def curve_rows(entry: Entry, res, seconds_per_step: float) -> pd.DataFrame:
    """One row per lane and curve point, keyed like the lanes, with the seconds axis."""
    curves = res.curves()
    curves.insert(0, "optimizer", config_labels(entry.optimizer, curves, res.hyperparams))
    curves.insert(0, "batch_size", res.batch_size)
    curves.insert(0, "variant", entry.variant)
    curves.insert(0, "problem", entry.problem)
    curves.insert(0, "suite", entry.suite)
    curves["time_s"] = curves["step"] * seconds_per_step
    return curves


def predicted_steps(entry: Entry, problem, hits: pd.DataFrame, budget: int) -> pd.array:
    """For batch GD with plain SGD at a constant rate on least squares, the first step to each
    target of suboptimality predicted exactly from the spectrum (``gdjax.theory``); missing
    elsewhere (targets on the gradient norm too)."""
    s = entry.settings
    plain = (
        entry.batch_size is None
        and problem.offers("quadratic_view")
        and entry.plain_sgd
        # None: the suite set no schedule (the library's default, constant)
        and (s.get("schedule") or "constant") == "constant"
        # the theory predicts steps to a suboptimality, not to a gradient norm
        and (s.get("measure") or "loss") == "loss"
    )
    out = pd.array([pd.NA] * len(hits), dtype="Int64")
    if not plain:
        return out
    for lr, rows in hits.groupby("lr", sort=False):
        steps = gdjax.theory.batch_gd_steps(
            problem, float(lr), rows["target"].to_numpy(), max_steps=budget, init=s["init"]
        )
        out[rows.index.to_numpy()] = pd.array(steps, dtype="Int64")
    return out
