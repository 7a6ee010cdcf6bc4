"""Results of runs and sweeps, as NumPy arrays on the host and as pandas tables.

Example:
    >>> import gdjax
    >>> res = gdjax.sweep(gdjax.problems.make_linear(128, 2), lrs=[0.1, 0.2], epochs=50)
    >>> list(res.to_frame()[["lr", "status"]].itertuples(index=False, name=None))
    [(0.1, 'converged'), (0.2, 'converged')]
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import numpy as np
import pandas as pd

from gdjax import metrics

__all__ = ["Result", "SweepResult"]


@dataclasses.dataclass(frozen=True)
class Result:
    """One lane: a single (learning rate, seed) run.

    Attributes:
        params: final parameters (NumPy pytree); frozen where the lane converged or diverged.
        losses: full-data loss at step 0 and at every evaluation the lane reached.
        steps: the step index of each loss.
        status: "converged", "diverged" or "max_steps".
        steps_to_target: first evaluated step with relative suboptimality <= tol, else None.
        epochs_to_target: steps_to_target / steps_per_epoch, else None.
        samples_to_target: steps_to_target * batch_size (the fair axis between variants), else None.
        f_star: the float64 optimum.
        f0: the loss at the initial parameters.
        lr: the learning rate.
        seed: the sampling seed.
        batch_size: rows per step.
        steps_per_epoch: steps in one epoch.
    """

    params: Any
    losses: np.ndarray
    steps: np.ndarray
    status: str
    steps_to_target: int | None
    epochs_to_target: float | None
    samples_to_target: int | None
    f_star: float
    f0: float
    lr: float
    seed: int
    batch_size: int
    steps_per_epoch: int

    @property
    def final_loss(self) -> float:
        """The last recorded full-data loss."""
        return float(self.losses[-1])

    @property
    def suboptimality(self) -> np.ndarray:
        """``losses - f*`` at each evaluation."""
        return self.losses.astype(np.float64) - self.f_star


@dataclasses.dataclass(frozen=True)
class SweepResult:
    """Every lane of a sweep; lane arrays have leading axes (seeds, lrs).

    Attributes:
        lrs: learning rates (L,).
        seeds: seeds (S,).
        params: final parameters, a pytree of (S, L, ...) arrays.
        losses: (S, L, E + 1) full-data losses; NaN after a lane stopped.
        eval_steps: (E + 1,) step index of each evaluation.
        status: (S, L) status codes (see gdjax.metrics).
        target_eval: (S, L) index of the first converged evaluation, -1 if none.
        last_eval: (S, L) index of the last evaluation each lane recorded.
        f_star: the optimum; f0: the initial loss.
        batch_size, steps_per_epoch, total_steps: the schedule.
        steps_run: steps the kernel executed (all lanes share it; fewer with early stop).
        optimizer: the optimizer name.
    """

    lrs: np.ndarray
    seeds: np.ndarray
    params: Any
    losses: np.ndarray
    eval_steps: np.ndarray
    status: np.ndarray
    target_eval: np.ndarray
    last_eval: np.ndarray
    f_star: float
    f0: float
    batch_size: int
    steps_per_epoch: int
    total_steps: int
    steps_run: int
    optimizer: str

    @classmethod
    def from_kernel(cls, kernel, out) -> SweepResult:
        """Build from a ``gdjax.train.Kernel`` and its host-side output."""
        cfg = kernel.config
        return cls(
            lrs=kernel.lrs,
            seeds=kernel.seeds,
            params=jax.tree.map(np.asarray, out.params),
            losses=np.asarray(out.losses),
            eval_steps=cfg.eval_steps,
            status=np.asarray(out.status),
            target_eval=np.asarray(out.target_eval),
            last_eval=np.asarray(out.last_eval),
            f_star=float(kernel.problem.optimum()[1]),
            f0=float(out.f0),
            batch_size=cfg.batch_size,
            steps_per_epoch=cfg.steps_per_epoch,
            total_steps=cfg.total_steps,
            steps_run=int(out.steps_run),
            optimizer=cfg.optimizer,
        )

    @property
    def num_lanes(self) -> int:
        """Number of lanes, seeds x learning rates."""
        return self.status.size

    def _index(self, i: int) -> tuple[int, int]:
        if not 0 <= i < self.num_lanes:
            raise IndexError(f"lane {i} out of range for {self.num_lanes} lanes")
        return divmod(i, len(self.lrs))

    def steps_to_target(self) -> np.ndarray:
        """(S, L) steps to target as float, NaN where a lane did not converge."""
        steps = self.eval_steps[np.maximum(self.target_eval, 0)].astype(np.float64)
        return np.where(self.status == metrics.CONVERGED, steps, np.nan)

    def lane(self, i: int) -> Result:
        """Lane ``i`` (seed-major order: ``i = seed_index * len(lrs) + lr_index``) as a Result."""
        s, j = self._index(i)
        last = int(self.last_eval[s, j])
        status = metrics.status_name(self.status[s, j])
        stt = int(self.eval_steps[self.target_eval[s, j]]) if status == "converged" else None
        return Result(
            params=jax.tree.map(lambda a: a[s, j], self.params),
            losses=self.losses[s, j, : last + 1],
            steps=self.eval_steps[: last + 1],
            status=status,
            steps_to_target=stt,
            epochs_to_target=None if stt is None else stt / self.steps_per_epoch,
            samples_to_target=None if stt is None else stt * self.batch_size,
            f_star=self.f_star,
            f0=self.f0,
            lr=float(self.lrs[j]),
            seed=int(self.seeds[s]),
            batch_size=self.batch_size,
            steps_per_epoch=self.steps_per_epoch,
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per lane.

        Returns:
            A DataFrame with columns lr, seed, status, final_loss, final_subopt, steps_to_target,
            epochs_to_target, samples_to_target (NaN when not converged), last_step, batch_size,
            optimizer.
        """
        S, L = self.status.shape
        s_idx, l_idx = np.divmod(np.arange(S * L), L)
        last = self.last_eval.ravel()
        final = self.losses.reshape(S * L, -1)[np.arange(S * L), last].astype(np.float64)
        stt = self.steps_to_target().ravel()
        return pd.DataFrame(
            {
                "lr": self.lrs[l_idx],
                "seed": self.seeds[s_idx],
                "status": [metrics.status_name(c) for c in self.status.ravel()],
                "final_loss": final,
                "final_subopt": final - self.f_star,
                # nullable integers: a lane that did not converge has no count, not a 0
                "steps_to_target": pd.array(stt, dtype="Float64").astype("Int64"),
                "epochs_to_target": stt / self.steps_per_epoch,
                "samples_to_target": pd.array(stt * self.batch_size, dtype="Float64").astype(
                    "Int64"
                ),
                "last_step": self.eval_steps[last],
                "batch_size": self.batch_size,
                "optimizer": self.optimizer,
            }
        )

    def curves(self) -> pd.DataFrame:
        """Loss curves in long format: one row per (lane, evaluation) the lane reached.

        Returns:
            A DataFrame with columns lr, seed, step, epoch, samples, loss, subopt, rel_subopt.
        """
        S, L, E = self.losses.shape
        s_idx, l_idx, e_idx = np.meshgrid(np.arange(S), np.arange(L), np.arange(E), indexing="ij")
        keep = (e_idx <= self.last_eval[..., None]).ravel()
        steps = self.eval_steps[e_idx.ravel()][keep]
        loss = self.losses.ravel()[keep].astype(np.float64)
        return pd.DataFrame(
            {
                "lr": self.lrs[l_idx.ravel()][keep],
                "seed": self.seeds[s_idx.ravel()][keep],
                "step": steps,
                "epoch": steps / self.steps_per_epoch,
                "samples": steps * self.batch_size,
                "loss": loss,
                "subopt": loss - self.f_star,
                "rel_subopt": metrics.relative_suboptimality(loss, self.f_star, self.f0),
            }
        )
