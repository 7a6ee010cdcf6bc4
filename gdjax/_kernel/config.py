"""The static part of a kernel: its :class:`Config`, the steps where the loss is checked
(:func:`eval_grid`) and the chunks of exact monitoring (:func:`chunk_length`).

Everything here changes the compiled program; what does not (learning rates, seeds, the plan,
levels) is a traced argument of it (:class:`gdjax._kernel.program.KernelArgs`).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from gdjax._kernel import fused

__all__ = [
    "DEFAULT_EVALS",
    "MAX_CHUNK",
    "MIN_CHUNKS",
    "Config",
    "chunk_length",
    "eval_grid",
    "whole_chunks",
]

DEFAULT_EVALS = 128  # points of the default geometric evaluation grid
# Most steps in an exact-monitoring chunk: the longest axis whose crossings XLA's CPU backend
# reduces in one kernel (fused). Longer chunks took more kernels and wrote their (levels, C,
# lanes) marks out in full: no faster to run, slower to compile.
MAX_CHUNK = fused.PIECE * fused.MAX_PIECES
MIN_CHUNKS = 16  # early stop acts at chunk ends: a run has at least this many chunks


def eval_grid(total_steps: int, eval_every: int | None = None) -> tuple[int, ...]:
    """The steps at which the loss curve is recorded (and, in grid monitoring, checked).

    Args:
        total_steps: steps in the run, >= 1.
        eval_every: None for the default geometric grid (0, 1, 2, ... then steps growing by a
            constant factor, :data:`DEFAULT_EVALS` points at most, the last one ``total_steps``);
            an int k for the uniform grid 0, k, 2k, ... plus the last step.

    Returns:
        Sorted distinct step indices, starting at 0 and ending at ``total_steps``.

    Example:
        >>> eval_grid(10, 4)
        (0, 4, 8, 10)
        >>> eval_grid(100_000)[:6], len(eval_grid(100_000))
        ((0, 1, 2, 3, 4, 5), 113)
    """
    if eval_every is None:
        grid = np.round(np.geomspace(1, total_steps, DEFAULT_EVALS)).astype(np.int64)
        return (0, *sorted({int(s) for s in grid} | {total_steps}))
    points = list(range(0, total_steps + 1, eval_every))
    if points[-1] != total_steps:
        points.append(total_steps)
    return tuple(points)


def chunk_length(total_steps: int, max_chunk: int = MAX_CHUNK) -> int:
    """Steps per chunk of exact monitoring.

    At most ``max_chunk`` (:data:`MAX_CHUNK` on CPU; per backend:
    :mod:`gdjax._kernel.backend`), and about 1/:data:`MIN_CHUNKS` of the run (early stop acts at
    chunk ends, so it wastes at most that share of the budget), but at least 16 steps (each chunk
    has a fixed cost); a divisor of the run when one is close, so that no chunk needs padding.

    Example:
        >>> chunk_length(8192), chunk_length(800), chunk_length(1009)
        (128, 50, 64)
    """
    cap = max(1, min(max_chunk, max(16, math.ceil(total_steps / MIN_CHUNKS)), total_steps))
    for c in range(cap, max(cap // 2, 1) - 1, -1):
        if total_steps % c == 0:
            return c
    return cap


def whole_chunks(total_steps: int, chunk: int) -> int:
    """``total_steps`` rounded up to whole chunks of ``chunk`` steps.

    Example:
        >>> whole_chunks(1009, 64)
        1024
    """
    return math.ceil(total_steps / chunk) * chunk


class Config(NamedTuple):
    """The static part of a kernel: everything that changes the compiled program.

    Attributes:
        spec: the problem's loss spec (hashable).
        optimizer: the normalised optimizer (:class:`gdjax._kernel.optimizers.Optimizer`,
            hashable: a user's callable by identity); its swept hyperparameters are traced.
        schedule: learning-rate schedule name.
        n: rows in the data.
        batch_size: rows per step (n for batch GD).
        steps_per_epoch: n // batch_size.
        total_steps: epochs * steps_per_epoch.
        eval_steps: the steps where the loss curve is recorded (see :func:`eval_grid`).
        shuffle: a new permutation every epoch (else rows in order).
        early_stop: freeze a lane once it converges and stop when no lane moves.
        exact: monitor the full-data loss after every step (else at ``eval_steps``).
        chunk: steps per chunk of exact monitoring (see :func:`chunk_length`).
        unroll: steps per iteration of a chunk's ``lax.scan`` (1: not unrolled).
        precision: the float32 matmul precision the program is traced at (one of
            :data:`gdjax._kernel.backend.PRECISIONS`; :func:`gdjax._kernel.backend.annotation`
            says what it means on each backend).
    """

    spec: Any
    optimizer: Any
    schedule: str
    n: int
    batch_size: int
    steps_per_epoch: int
    total_steps: int
    eval_steps: tuple[int, ...]
    shuffle: bool
    early_stop: bool
    exact: bool
    chunk: int
    unroll: int = 1
    precision: str | None = None

    @classmethod
    def of(cls, args, problem, spec) -> Config:
        """The config of a sweep: its checked options (a :class:`gdjax._kernel.plan.SweepArgs`)
        on ``problem``, whose loss the kernel runs as ``spec`` (the problem's own, or its
        eigenbasis form)."""
        return cls(
            spec=spec,
            optimizer=args.optimizer,
            schedule=args.schedule,
            n=problem.n,
            batch_size=args.batch_size,
            steps_per_epoch=args.steps_per_epoch,
            total_steps=args.total_steps,
            eval_steps=eval_grid(args.total_steps, args.eval_every),
            shuffle=args.shuffle,
            early_stop=args.early_stop,
            exact=args.exact,
            chunk=args.chunk,
            unroll=args.unroll,
            precision=args.precision,
        )

    @property
    def padded_steps(self) -> int:
        """``total_steps`` rounded up to whole chunks: the plan's rows, and the steps that
        exact monitoring numbers its checks over."""
        return whole_chunks(self.total_steps, self.chunk)

    @property
    def sampling(self) -> str:
        """ "full" (every row), "ordered" (rows in order) or "shuffled" (rows from the plan)."""
        if self.batch_size == self.n:
            return "full"
        return "shuffled" if self.shuffle else "ordered"
