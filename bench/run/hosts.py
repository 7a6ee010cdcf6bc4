"""Several processes, one run: ``bench run`` and ``bench scaling`` over ``jax.distributed``.

Every process runs the same command on the same suite. The lanes of each kernel are sharded
over every device of every process (``gdjax.devices.lane_sharding``) and every process gets the
whole result. Process 0 alone writes the run folder and handles ``--resume``: it decides which
entries are left to run and sends that list to the others (:func:`share_plan`), so that every
process compiles and calls the same kernels in the same order. A kernel whose lanes span
processes is one program; a process that skipped it would leave the others waiting inside it.

How the processes find each other:

- the flags ``--coordinator HOST:PORT --num-processes N --process-id I`` on every process (the
  arguments of ``jax.distributed.initialize``: coordinator_address, num_processes, process_id);
  the coordinator is process 0's host and a free port on it;
- or no flag at all inside a SLURM job step of several tasks (``srun``) or an Open MPI launch
  (``mpirun``): ``jax.distributed.initialize()`` reads the cluster's own variables;
- neither: one process, nothing is joined.

Example:
    >>> settings(coordinator=None, num_processes=None, process_id=None, environ={}) is None
    True
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from typing import TypeVar

from bench.errors import UserError

T = TypeVar("T")

# jax.distributed.initialize() finds these clusters from their environment alone (the variables
# its own detectors read); other clusters (Cloud TPU, Kubernetes) take the three flags.
_SLURM = ("SLURM_JOB_ID", "SLURM_STEP_NODELIST", "SLURM_NTASKS", "SLURM_PROCID", "SLURM_LOCALID")
_OPEN_MPI = "OMPI_MCA_orte_hnp_uri"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--coordinator``, ``--num-processes`` and ``--process-id`` to a subcommand."""
    g = parser.add_argument_group(
        "several processes (jax.distributed; SLURM and Open MPI are detected without them)"
    )
    g.add_argument("--coordinator", metavar="HOST:PORT", help="process 0's address and port")
    g.add_argument("--num-processes", type=int, metavar="N", help="number of processes")
    g.add_argument("--process-id", type=int, metavar="I", help="this process, 0 .. N-1")


def detected_cluster(environ: Mapping[str, str] | None = None) -> str | None:
    """The cluster ``jax.distributed.initialize()`` would join by itself, if any.

    Args:
        environ: the environment (default ``os.environ``).

    Returns:
        "slurm" in a job step of more than one task, "open mpi" under mpirun, else None (a
        SLURM allocation of one task has no other process to join).
    """
    environ = os.environ if environ is None else environ
    if all(k in environ for k in _SLURM) and environ["SLURM_NTASKS"].strip() not in ("", "1"):
        return "slurm"
    if _OPEN_MPI in environ:
        return "open mpi"
    return None


def settings(
    *,
    coordinator: str | None,
    num_processes: int | None,
    process_id: int | None,
    environ: Mapping[str, str] | None = None,
) -> dict | None:
    """Check the three flags and say how to join, before anything starts.

    Args:
        coordinator: ``HOST:PORT`` of process 0, or None.
        num_processes: the number of processes, or None.
        process_id: this process's id, or None.
        environ: the environment for cluster detection (default ``os.environ``).

    Returns:
        The keyword arguments of ``jax.distributed.initialize`` (empty: let it detect the
        cluster), or None when there is nothing to join.

    Raises:
        UserError: a flag without the ones it needs, an id out of range, an address without a
            port.

    Example:
        >>> settings(coordinator="10.0.0.1:1234", num_processes=2, process_id=1, environ={})
        {'coordinator_address': '10.0.0.1:1234', 'num_processes': 2, 'process_id': 1}
    """
    if coordinator is None and num_processes is None and process_id is None:
        return {} if detected_cluster(environ) else None
    if num_processes is None:
        raise UserError("--coordinator and --process-id need --num-processes")
    if num_processes < 1:
        raise UserError(f"--num-processes must be >= 1, got {num_processes}")
    if coordinator is None:
        raise UserError("--num-processes needs --coordinator HOST:PORT (process 0's address)")
    host, sep, port = coordinator.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(
            f"--coordinator must be HOST:PORT with a port in 1..65535, got {coordinator!r}"
        )
    if process_id is None:
        if num_processes > 1 and not detected_cluster(environ):
            raise UserError("--num-processes above 1 needs --process-id (0 on the coordinator)")
        process_id = 0 if num_processes == 1 else None
    elif not 0 <= process_id < num_processes:
        raise UserError(f"--process-id must be in 0..{num_processes - 1}, got {process_id}")
    out = {"coordinator_address": coordinator, "num_processes": num_processes}
    return out if process_id is None else {**out, "process_id": process_id}


def join(args: argparse.Namespace) -> bool:
    """Join the processes named by the flags (or the detected cluster); nothing if neither.

    Call it before anything asks JAX for its devices.

    Args:
        args: parsed arguments with ``coordinator``, ``num_processes`` and ``process_id``.

    Returns:
        True if ``jax.distributed`` was initialized.

    Raises:
        UserError: see :func:`settings`.
    """
    kwargs = settings(
        coordinator=args.coordinator,
        num_processes=args.num_processes,
        process_id=args.process_id,
    )
    if kwargs is None:
        return False
    import jax

    # CPU devices of several processes talk through gloo; the setting touches nothing else,
    # and it must be made before the backend starts (initialize starts it)
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(**kwargs)
    return True


def is_lead() -> bool:
    """True in process 0 (and in a lone process): the one that writes and prints."""
    import jax

    return jax.process_index() == 0


def share_plan(chosen: Sequence[T], todo: Sequence[T] | None) -> list[T]:
    """Process 0's list of entries to run, given to every process.

    Every process passes the same ``chosen`` (the same suite and ``--only``); process 0 passes
    the entries it decided to run, or None when it failed before running any (the others then
    stop too instead of waiting in the first kernel). The others' ``todo`` is ignored.

    Args:
        chosen: every entry selected for this session, in suite order.
        todo: process 0's entries left to run (a subsequence of ``chosen``), or None.

    Returns:
        The entries to run, in order, the same on every process.

    Raises:
        UserError: on a process other than 0, when process 0 failed (its own error says why).
    """
    import jax
    import numpy as np

    if jax.process_count() == 1:
        return list(todo or [])
    from jax.experimental import multihost_utils

    mask = np.zeros(len(chosen) + 1, np.int32)
    if is_lead() and todo is not None:
        wanted = {id(e) for e in todo}
        mask[:-1] = [id(e) in wanted for e in chosen]
        mask[-1] = 1  # the plan is valid
    mask = np.asarray(multihost_utils.broadcast_one_to_all(mask))
    if not mask[-1]:
        raise UserError("process 0 stopped before running any entry (its error says why)")
    return [e for e, m in zip(chosen, mask[:-1], strict=True) if m]
