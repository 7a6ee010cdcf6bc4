"""A sweep's result as pandas tables: one row per lane (:func:`lanes`), one per lane and curve
point (:func:`curves`); :meth:`gdjax.SweepResult.to_frame` and ``.curves()`` return them (the
hits, one row per lane and target, are :func:`gdjax.hits.hits_frame`'s).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gdjax import metrics
from gdjax.hits import count

__all__ = ["curves", "lanes", "with_hyperparams"]


def with_hyperparams(frame: pd.DataFrame, values: dict) -> pd.DataFrame:
    """``frame`` with one column per swept hyperparameter, after ``lr``."""
    for i, (k, v) in enumerate(values.items()):
        frame.insert(1 + i, k, v)
    return frame


def lanes(sweep) -> pd.DataFrame:
    """One row per lane: see :meth:`gdjax.SweepResult.to_frame`."""
    lrs, seeds, hyper = sweep.lane_labels()
    final = sweep.final_loss.ravel().astype(np.float64)
    stt = sweep.steps_to_target().ravel()
    resolution = sweep.resolution().ravel()
    frame = pd.DataFrame(
        {
            "lr": lrs,
            "seed": seeds,
            "status": [metrics.status_name(c) for c in sweep.status.ravel()],
            "final_loss": final,
            "final_subopt": final - sweep.f_star,
            "steps_to_target": count(np.nan_to_num(stt, nan=-1)),
            "resolution": count(np.nan_to_num(resolution, nan=-1)),
            "epochs_to_target": stt / sweep.steps_per_epoch,
            "samples_to_target": count(np.nan_to_num(stt * sweep.batch_size, nan=-1)),
            "last_step": sweep.lane_steps.ravel().astype(np.int64),
            "batch_size": sweep.batch_size,
            "optimizer": sweep.optimizer,
            "schedule": sweep.schedule,
            "exact": sweep.exact,
            "f_star_source": sweep.f_star_source,
            "measure": sweep.measure,
        }
    )
    return with_hyperparams(frame, hyper)


def curves(sweep) -> pd.DataFrame:
    """One row per lane and curve point: see :meth:`gdjax.SweepResult.curves`."""
    S, L = sweep.status.shape
    parts = []
    for s in range(S):
        for j in range(L):
            steps, losses = sweep.lane_curve(s, j)
            parts.append((np.full(len(steps), j), np.full(len(steps), s), steps, losses))
    l_idx, s_idx, steps, loss = (np.concatenate(c) for c in zip(*parts, strict=True))
    loss = loss.astype(np.float64)
    frame = pd.DataFrame(
        {
            "lr": sweep.lrs[l_idx],
            "seed": sweep.seeds[s_idx],
            "step": steps,
            "epoch": steps / sweep.steps_per_epoch,
            "samples": steps * sweep.batch_size,
            "loss": loss,
            "subopt": loss - sweep.f_star,
            "rel_subopt": metrics.relative_suboptimality(loss, sweep.f_star, sweep.f0),
        }
    )
    return with_hyperparams(frame, {k: v[l_idx] for k, v in sweep.hyperparams.items()})
