"""Results of runs and sweeps, as NumPy arrays on the host and as pandas tables.

Steps to a target (see :mod:`gdjax.metrics` for the definitions): for each lane and each target of
the ladder, ``first_step`` is the first checked step at or below the target and ``stay_step`` the
step from which the lane stayed at or below it through the last step it ran. A count is either
exact to the step, with its *resolution* (the true step lies in ``(step - resolution, step]``:
1, or 0 at step 0), or, where the loss was checked only on the evaluation grid
(``exact=False``), read at those checks: then it has no resolution (missing), since between two
checks a noisy lane can cross a level and come back, and "not reached" means not seen at a
check. The ``exact`` column says which way a run's counts were read.

Example:
    >>> import gdjax
    >>> res = gdjax.sweep(gdjax.problems.make_linear(128, 2), lrs=[0.1, 0.2], epochs=50)
    >>> list(res.to_frame()[["lr", "status"]].itertuples(index=False, name=None))
    [(0.1, 'converged'), (0.2, 'converged')]
    >>> h = res.hits()
    >>> h[h["target"] == 1e-2][["lr", "first_step", "first_resolution"]].values.tolist()
    [[0.1, 12, 1], [0.2, 6, 1]]
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import numpy as np
import pandas as pd

from gdjax import frames, metrics
from gdjax.hits import hits_frame

__all__ = ["Result", "SweepResult", "hits_frame"]


@dataclasses.dataclass(frozen=True)
class Result:
    """One lane: a single (learning rate, hyperparameter values, seed) run.

    Attributes:
        params: final parameters (NumPy pytree); frozen where the lane converged or diverged.
        losses: full-data loss at step 0 and at every point of the curve the lane reached.
        steps: the step index of each loss.
        status: "converged", "diverged" or "max_steps".
        steps_to_target: first step with relative suboptimality <= tol, else None.
        resolution: the resolution of ``steps_to_target`` (1: exact to the step), else None:
            also where it was read at the evaluation grid's checks, with no bracket.
        epochs_to_target: steps_to_target / steps_per_epoch, else None.
        samples_to_target: steps_to_target * batch_size (the fair axis between variants), else None.
        f_star: the float64 optimum.
        f0: the loss at the initial parameters.
        lr: the learning rate.
        seed: the sampling seed.
        batch_size: rows per step.
        steps_per_epoch: steps in one epoch.
        sweep: the one-lane :class:`SweepResult` this run came from.
        hyperparams: the optimizer's swept keywords -> this lane's value (empty without).
    """

    params: Any
    losses: np.ndarray
    steps: np.ndarray
    status: str
    steps_to_target: int | None
    resolution: int | None
    epochs_to_target: float | None
    samples_to_target: int | None
    f_star: float
    f0: float
    lr: float
    seed: int
    batch_size: int
    steps_per_epoch: int
    sweep: SweepResult = dataclasses.field(repr=False)
    hyperparams: dict = dataclasses.field(default_factory=dict)

    @property
    def exact(self) -> bool:
        """Whether the loss was checked after every step (counts exact to the step), or only at
        the evaluation grid (counts read at those checks, with no bracket)."""
        return self.sweep.exact

    @property
    def measure(self) -> str:
        """What the targets measured: "loss", or "grad_norm" (then ``losses`` are gradient
        norms, ``f0`` the start's and ``f_star`` 0: see :class:`SweepResult`)."""
        return self.sweep.measure

    @property
    def final_loss(self) -> float:
        """The last recorded full-data loss."""
        return float(self.losses[-1])

    @property
    def suboptimality(self) -> np.ndarray:
        """``losses - f*`` at each evaluation."""
        return self.losses.astype(np.float64) - self.f_star

    def hits(self) -> pd.DataFrame:
        """Steps to each target of the ladder: one row per target (see :func:`hits_frame`)."""
        return self.sweep.hits()  # the one-lane sweep of this run


@dataclasses.dataclass(frozen=True)
class SweepResult:
    """Every lane of a sweep; lane arrays have leading axes (seeds, configs).

    A config is a learning rate and one combination of the swept hyperparameters (learning-rate
    major, see :func:`gdjax.sweep`); without hyperparameters the configs are the learning rates.

    Attributes:
        lrs: the learning rate of each config (L,).
        seeds: seeds (S,).
        targets: the target ladder (K,), descending.
        tol: the status target.
        params: final parameters, a pytree of (S, L, ...) arrays.
        losses: (S, L, E + 1) full-data losses on the curve grid; NaN after a lane stopped.
        eval_steps: (E + 1,) step index of each curve point.
        status: (S, L) status codes (see gdjax.metrics).
        first_step, first_lo, stay_step, stay_lo: (S, L, K + 1) step bookkeeping per target,
            the last column being tol: the counts (-1 where not reached) and the lower ends of
            their brackets (-1 where there is none: not reached, or read at checks).
        last_eval: (S, L) index of the last curve point each lane recorded.
        lane_steps: (S, L) the last step each lane was checked at: where it stopped.
        final_loss: (S, L) its full-data loss there.
        f_star: the optimum (see f_star_source); f0: the initial loss that relative
            suboptimality divides by: where each seed draws its own start, the largest over
            the seeds (each lane's own is the first point of its curve).
        batch_size, steps_per_epoch, total_steps: the budget.
        steps_run: steps the kernel executed (all lanes share it; fewer with early stop).
        optimizer, schedule: the update rule.
        exact: whether the loss was checked after every step. If not, it was checked at
            ``eval_steps`` only: a count is the first such check at or below the level (exact
            only where every step up to it was checked), and "not reached" means not seen at
            a check.
        run_s: the measured run time of the kernel (None when not timed).
        hyperparams: the optimizer's swept keywords -> each config's value (L,); empty without.
        f_star_source: where f* came from (:attr:`gdjax.Problem.f_star_source`'s label):
            "best found" where it is the lowest loss a lane of this run reached, not an optimum.
        measure: what the targets measured: "loss" (relative suboptimality) or "grad_norm".
            Under "grad_norm" the monitored quantity is the full-data gradient norm
            ``||grad f(w)||``: ``losses`` and ``final_loss`` hold gradient norms, ``f0`` the
            start's, ``f_star`` is 0 (the norm's optimum; no f* was used, ``f_star_source``
            says so), and so every "suboptimality" derived from them (``final_subopt``,
            ``rel_subopt``) is the gradient norm, absolute and relative to the start's.
    """

    lrs: np.ndarray
    seeds: np.ndarray
    targets: np.ndarray
    tol: float
    params: Any
    losses: np.ndarray
    eval_steps: np.ndarray
    status: np.ndarray
    first_step: np.ndarray
    first_lo: np.ndarray
    stay_step: np.ndarray
    stay_lo: np.ndarray
    last_eval: np.ndarray
    lane_steps: np.ndarray
    final_loss: np.ndarray
    f_star: float
    f0: float
    batch_size: int
    steps_per_epoch: int
    total_steps: int
    steps_run: int
    optimizer: str
    schedule: str
    exact: bool
    run_s: float | None = None
    hyperparams: dict = dataclasses.field(default_factory=dict)
    f_star_source: str = ""
    measure: str = "loss"

    @classmethod
    def from_output(
        cls,
        out,
        *,
        lrs,
        seeds,
        targets,
        tol: float,
        eval_steps,
        f_star: float,
        f0: float,
        batch_size: int,
        steps_per_epoch: int,
        total_steps: int,
        optimizer: str,
        schedule: str,
        exact: bool,
        run_s: float | None = None,
        hyperparams: dict | None = None,
        f_star_source: str = "",
        measure: str = "loss",
    ) -> SweepResult:
        """Build from a kernel's booked output (params, losses, status, crossings, step counts:
        the fields of :class:`gdjax._kernel.booking.KernelOutput`) and the sweep's settings."""
        return cls(
            lrs=lrs,
            seeds=seeds,
            targets=np.asarray(targets, np.float64),
            tol=float(tol),
            params=jax.tree.map(np.asarray, out.params),
            losses=np.asarray(out.losses),
            eval_steps=np.asarray(eval_steps, np.int64),
            status=np.asarray(out.status),
            first_step=np.asarray(out.first_step),
            first_lo=np.asarray(out.first_lo),
            stay_step=np.asarray(out.stay_step),
            stay_lo=np.asarray(out.stay_lo),
            last_eval=np.asarray(out.last_eval),
            lane_steps=np.asarray(out.lane_steps),
            final_loss=np.asarray(out.final_loss),
            f_star=float(f_star),
            f0=float(f0),
            batch_size=batch_size,
            steps_per_epoch=steps_per_epoch,
            total_steps=total_steps,
            steps_run=int(out.steps_run),
            optimizer=optimizer,
            schedule=schedule,
            exact=exact,
            run_s=run_s,
            hyperparams={k: np.asarray(v, np.float64) for k, v in (hyperparams or {}).items()},
            f_star_source=f_star_source,
            measure=measure,
        )

    @property
    def num_lanes(self) -> int:
        """Number of lanes, seeds x configs (learning rates x hyperparameter combinations)."""
        return self.status.size

    @property
    def step_s(self) -> float | None:
        """Seconds per step of the timed kernel (all lanes together), or None if not timed."""
        return None if self.run_s is None else self.run_s / max(self.steps_run, 1)

    def _index(self, i: int) -> tuple[int, int]:
        if not 0 <= i < self.num_lanes:
            raise IndexError(f"lane {i} out of range for {self.num_lanes} lanes")
        return divmod(i, len(self.lrs))

    def steps_to_target(self) -> np.ndarray:
        """(S, L) steps to tol as float, NaN where a lane did not converge."""
        steps = self.first_step[..., -1].astype(np.float64)
        return np.where(self.status == metrics.CONVERGED, steps, np.nan)

    def resolution(self) -> np.ndarray:
        """(S, L) resolution of :meth:`steps_to_target` (1: exact), NaN where not converged or
        read at checks (no bracket)."""
        res = (self.first_step[..., -1] - self.first_lo[..., -1]).astype(np.float64)
        bracketed = (self.status == metrics.CONVERGED) & (self.first_lo[..., -1] >= 0)
        return np.where(bracketed, res, np.nan)

    def lane(self, i: int) -> Result:
        """Lane ``i`` as a Result (seed-major: ``i = seed_index * len(lrs) + config_index``)."""
        s, j = self._index(i)
        steps, losses = self.lane_curve(s, j)
        status = metrics.status_name(self.status[s, j])
        ok = status == "converged"
        stt = int(self.first_step[s, j, -1]) if ok else None
        lo = int(self.first_lo[s, j, -1])
        one = dataclasses.replace(
            self,
            lrs=self.lrs[j : j + 1],
            hyperparams={k: v[j : j + 1] for k, v in self.hyperparams.items()},
            seeds=self.seeds[s : s + 1],
            params=jax.tree.map(lambda a: a[s : s + 1, j : j + 1], self.params),
            **{
                k: getattr(self, k)[s : s + 1, j : j + 1]
                for k in ("losses", "status", "first_step", "first_lo", "stay_step", "stay_lo")
            },
            last_eval=self.last_eval[s : s + 1, j : j + 1],
            lane_steps=self.lane_steps[s : s + 1, j : j + 1],
            final_loss=self.final_loss[s : s + 1, j : j + 1],
        )
        return Result(
            params=jax.tree.map(lambda a: a[s, j], self.params),
            losses=losses,
            steps=steps,
            status=status,
            steps_to_target=stt,
            resolution=stt - lo if ok and lo >= 0 else None,
            epochs_to_target=None if stt is None else stt / self.steps_per_epoch,
            samples_to_target=None if stt is None else stt * self.batch_size,
            f_star=self.f_star,
            f0=self.f0,
            lr=float(self.lrs[j]),
            seed=int(self.seeds[s]),
            batch_size=self.batch_size,
            steps_per_epoch=self.steps_per_epoch,
            sweep=one,
            hyperparams={k: float(v[j]) for k, v in self.hyperparams.items()},
        )

    def lane_curve(self, s: int, j: int) -> tuple[np.ndarray, np.ndarray]:
        """(steps, losses) of one lane: the grid points it reached, then the step where it
        stopped if that is not a grid point (a curve ends where its lane did)."""
        last = int(self.last_eval[s, j])
        steps, losses = self.eval_steps[: last + 1], self.losses[s, j, : last + 1]
        if self.lane_steps[s, j] > steps[-1]:
            steps = np.append(steps, self.lane_steps[s, j])
            losses = np.append(losses, self.final_loss[s, j]).astype(self.losses.dtype)
        return steps, losses

    def lane_labels(self) -> tuple[np.ndarray, np.ndarray, dict]:
        """Per lane (seed-major): its learning rate, seed and hyperparameter values."""
        S, L = self.status.shape
        s_idx, l_idx = np.divmod(np.arange(S * L), L)
        return (
            self.lrs[l_idx],
            self.seeds[s_idx],
            {k: v[l_idx] for k, v in self.hyperparams.items()},
        )

    def hits(self) -> pd.DataFrame:
        """Steps to each target of the ladder: one row per (lane, target).

        Returns:
            Columns lr, one per swept hyperparameter, seed, target; for the first step at or
            below the target and the step from which the lane stayed at or below it:
            ``first_step``/``stay_step`` (nullable ints, missing when not reached), their
            ``*_resolution`` (missing where a count has no bracket: read at checks),
            ``*_epochs``, ``*_samples`` and ``*_seconds`` (NaN unless the kernel was timed);
            ``exact``: whether every step was checked.
        """
        K = len(self.targets)
        lrs, seeds, hyper = self.lane_labels()

        def per_target(a):
            return a[..., :K].reshape(-1, K)

        frame = hits_frame(
            lrs,
            seeds,
            self.targets,
            per_target(self.first_step),
            per_target(self.first_lo),
            per_target(self.stay_step),
            per_target(self.stay_lo),
            batch_size=self.batch_size,
            steps_per_epoch=self.steps_per_epoch,
            step_s=self.step_s,
            exact=self.exact,
        )
        return frames.with_hyperparams(frame, {k: np.repeat(v, K) for k, v in hyper.items()})

    def to_frame(self) -> pd.DataFrame:
        """One row per lane.

        Returns:
            A DataFrame with columns lr, one per swept hyperparameter, seed, status, final_loss,
            final_subopt (the absolute ``f - f*`` at the last step; relative suboptimality
            divides it by ``f(w0) - f*``), steps_to_target, resolution, epochs_to_target,
            samples_to_target (missing when not converged; resolution also where read at
            checks), last_step, batch_size, optimizer, schedule, exact, f_star_source
            (where f* came from: "best found" is no optimum), measure ("loss", or
            "grad_norm": then final_loss and final_subopt are the final gradient norm).
        """
        return frames.lanes(self)

    def curves(self) -> pd.DataFrame:
        """Loss curves in long format: one row per (lane, curve point) the lane reached, ending
        at the step where the lane stopped.

        Returns:
            A DataFrame with columns lr, one per swept hyperparameter, seed, step, epoch,
            samples, loss, subopt, rel_subopt.
        """
        return frames.curves(self)
