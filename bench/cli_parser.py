"""The command line's parser: every command, flag and default of ``python -m bench`` (the
commands themselves are :mod:`bench.cli`'s, named here by ``command``). It imports no JAX.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.destinations import DEFAULT_OUT, SCRATCH
from bench.run import hosts

# the library's own cache folder (gdjax._kernel.cache.CACHE_DIR), not imported: the parser
# stays free of JAX
DEFAULT_CACHE = Path.home() / ".cache" / "gdjax" / "xla"
# gdjax._kernel.backend.PRECISIONS, likewise (tests/bench/test_cli.py checks they agree)
PRECISIONS = ("highest", "high", "default")
DESCRIPTION = "Benchmark batch, stochastic and mini-batch gradient descent with gdjax."
DEFAULT_DEVICES = [1, 2]  # bench scaling's device counts
# bench scaling --lanes alone: about a minute on a 2-core CPU for the perf suite's minibatch
DEFAULT_LANES = [64, 256, 1024, 4096]
PUBLISH_HELP = "write into the repository's results/runs (what `report --publish` publishes)"
#: What Ctrl-C leaves behind, per command (one line on stderr, exit 130).
RUN_INTERRUPTED = "interrupted: finished entries are saved; rerun with --resume to finish"
# report writes file by file, each atomically (runs.atomic_write): a file is either the old one
# or the new one, but the plots written before the interruption are already the new ones
REPORT_INTERRUPTED = (
    "interrupted: the report is unfinished (each file written so far was replaced whole, the "
    "rest are the previous report's; no run was changed); rerun bench report to finish"
)
ONLY_HELP = (
    "only the entries PATTERN names: whole problem, variant or optimizer names, one or several "
    "joined by '__' (sgd, linear-*, batch__sgd); * and ? are wildcards"
)


# ---------------------------------------------------------------------------------- checked numbers


def positive_int(text: str) -> int:
    """An int >= 1 (``--repeats``, ``--devices``); argparse turns the error into exit 2.

    Examples:
        >>> positive_int("3")
        3
    """
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int >= 1, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def smoothing(text: str) -> float:
    """An EWMA weight in (0, 1].

    Examples:
        >>> smoothing("0.5")
        0.5
    """
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}") from None
    if not 0 < v <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {v:g}")
    return v


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (exit 2), like every other user error."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message} (see --help)\n")


def parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; ``prog`` is how the help names the program (default: argv[0])."""
    p = _Parser(prog=prog, description=DESCRIPTION)
    # metavar: the help lists the commands added with help=..., not the internal worker
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    _add_run(sub)
    _add_report(sub)
    c = sub.add_parser("compare", help="runs on different backends/devices side by side")
    c.add_argument(
        "paths", nargs="+", type=Path, help="run folders, lanes files or folders of runs"
    )
    c.set_defaults(command="compare")
    sub.add_parser("env", help="backend, devices and versions").set_defaults(command="env")
    sub.add_parser("list", help="the shipped suites and their entries").set_defaults(command="list")
    _add_scaling(sub)
    rf = sub.add_parser("roofline", help="measure this machine's GEMM GFLOP/s and copy GB/s")
    rf.add_argument("--out", type=Path, default=None, help="save the measurement as JSON here")
    rf.set_defaults(command="roofline")
    return p


def _add_run(sub) -> None:
    r = sub.add_parser("run", help="run a suite and save its lanes and curves")
    r.add_argument("--suite", required=True, help="suite name (bench/suites/NAME.toml) or path")
    r.add_argument(
        "--out", type=Path, default=None, help=f"folder of run folders (default {DEFAULT_OUT})"
    )
    r.add_argument("--publish", action="store_true", help=PUBLISH_HELP)
    r.add_argument(
        "--repeats", type=positive_int, help="timed repeats per kernel (default: suite's)"
    )
    r.add_argument(
        "--resume",
        nargs="?",
        const=True,
        default=False,
        metavar="RUN_DIR",
        help="continue the newest unfinished run of this suite (or RUN_DIR), skipping done entries",
    )
    r.add_argument("--only", metavar="PATTERN", help=ONLY_HELP)
    r.add_argument("--x64", action="store_true", help="enable float64 (JAX_ENABLE_X64)")
    r.add_argument(
        "--cache-dir",
        type=Path,
        default=DEFAULT_CACHE,
        help=f"JAX persistent compilation cache (default {DEFAULT_CACHE})",
    )
    r.add_argument("--no-cache", action="store_true", help="compile every kernel afresh")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_choices(r)
    hosts.add_arguments(r)
    r.set_defaults(command="run", interrupted=RUN_INTERRUPTED)


def _add_choices(p) -> None:
    """--precision, --chunk and --unroll: the kernel's choices for every entry (recorded on
    every lane row); not given, the library's (gdjax._kernel.backend)."""
    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        help="float32 matmul precision (default highest: the same on every backend; "
        "default: the backend's own, TF32 on recent NVIDIA GPUs)",
    )
    p.add_argument(
        "--chunk",
        type=positive_int,
        metavar="STEPS",
        help="steps per chunk of exact monitoring (default: per backend)",
    )
    p.add_argument(
        "--unroll",
        type=positive_int,
        metavar="STEPS",
        help="steps per iteration of a chunk's scan (default: per backend)",
    )


def _add_report(sub) -> None:
    rep = sub.add_parser("report", help="write a README, perf.md and plots from saved runs")
    rep.add_argument(
        "runs", nargs="?", type=Path, default=None, help=f"folder of runs (default {DEFAULT_OUT})"
    )
    rep.add_argument(
        "--results", type=Path, default=None, help=f"where to write (default {SCRATCH})"
    )
    rep.add_argument(
        "--publish",
        action="store_true",
        help="report the published runs (results/runs) into the repository's results/",
    )
    rep.add_argument(
        "--smooth",
        type=smoothing,
        default=None,
        metavar="ALPHA",
        help="EWMA-smooth the curves in the plots (0 < ALPHA <= 1)",
    )
    rep.add_argument("--no-plots", action="store_true", help="tables only")
    rep.add_argument(
        "--html",
        action="store_true",
        help="also write index.html and perf.html: sortable tables, zoomable plots, offline",
    )
    rep.set_defaults(command="report", interrupted=REPORT_INTERRUPTED)


def _add_scaling(sub) -> None:
    sc = sub.add_parser("scaling", help="time a suite's kernels with lanes sharded over devices")
    sc.add_argument("--suite", default="perf", help="suite name or path (default perf)")
    sc.add_argument(
        "--devices",
        type=positive_int,
        nargs="+",
        help="device counts, each once (default 1 2)",
    )
    sc.add_argument(
        "--lanes",
        type=positive_int,
        nargs="*",
        metavar="L",
        help="lane counts, each once, instead of devices: one entry (--only, default the suite's "
        "first) at each, gdjax against its bare program, in this process (--lanes alone: "
        + " ".join(map(str, DEFAULT_LANES))
        + ")",
    )
    sc.add_argument(
        "--out", type=Path, default=None, help=f"folder of run folders (default {DEFAULT_OUT})"
    )
    sc.add_argument("--publish", action="store_true", help=PUBLISH_HELP)
    sc.add_argument(
        "--repeats", type=positive_int, help="timed repeats per kernel (default: suite's)"
    )
    sc.add_argument("--only", metavar="PATTERN", help=ONLY_HELP)
    _add_choices(sc)
    hosts.add_arguments(sc)
    sc.set_defaults(command="scaling")
    # internal: one device count, in a fresh process; no help=, so --help does not list it
    w = sub.add_parser("_scaling-worker")
    w.add_argument("--suite", required=True)
    w.add_argument("--devices", type=positive_int, required=True)
    w.add_argument("--repeats", type=int, default=0)
    w.add_argument("--only")
    _add_choices(w)
    hosts.add_arguments(w)
    w.set_defaults(command="scaling-worker")


# ---------------------------------------------------------------------------------- entry point
