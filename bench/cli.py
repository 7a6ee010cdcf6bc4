"""Command line: ``python -m bench COMMAND`` (installed as ``gdjax-bench COMMAND``).

A user error (``bench.errors.UserError``, ``bench.run.suites.SuiteError``, a file the system cannot
open) prints one line on stderr and exits with status 2. Anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

from bench.destinations import DEFAULT_OUT, SCRATCH, destination, inside
from bench.errors import UserError
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


def choices(args) -> dict:
    """The kernel choices given on the command line (``Suite.with_choices``; None: not given)."""
    return {k: getattr(args, k, None) for k in ("precision", "chunk", "unroll")}


# ---------------------------------------------------------------------------------- commands


def cmd_run(args) -> int:
    out = destination(args.out, args.publish, DEFAULT_OUT, "runs", "--out")
    resume = Path(args.resume) if isinstance(args.resume, str) else args.resume
    if isinstance(resume, Path) and not args.publish:
        destination(resume, False, DEFAULT_OUT, "runs", "--resume")  # a published run: --publish
    hosts.join(args)  # before anything asks JAX for its devices; a bad flag is a user error
    import gdjax
    from bench.perf import attach, loops
    from bench.report import ladder

    # x64 and the compile cache for this command only (scoped, restored when the run ends)
    from bench.run import runner, suites, timing

    x64 = gdjax.x64(True) if args.x64 else contextlib.nullcontext()
    # --no-cache: JAX's cache off, which the library's own cache obeys too (gdjax._kernel.cache)
    no_cache = timing.no_persistent_cache()
    cache = no_cache if args.no_cache else timing.compilation_cache(args.cache_dir)
    with x64, cache:
        suite = suites.load(args.suite).with_choices(**choices(args))
        # every problem's data and sizes, and the baselines it can have, before the run folder
        suite.validate(unsupported=loops.unsupported)
        if hosts.is_lead() and (line := attach.missing_torch_line(suites.select(suite, args.only))):
            print(line)
        runner.run_suite(
            suite,
            out,
            repeats=args.repeats,
            resume=resume,
            progress=not args.no_progress,
            only=args.only,
            extra=attach.attach,
            describe=ladder.entry_line,  # the report's line: its best lr and (k/n) marks
        )
    return 0


def cmd_report(args) -> int:
    from bench.report import readme as report

    results = destination(args.results, args.publish, SCRATCH, "", "--results")
    runs_dir = args.runs
    if args.publish:
        # the published README shows published runs only: a scratch run is never added to it
        if runs_dir is not None and not inside(runs_dir, results / "runs"):
            raise UserError(
                f"report --publish reads the published runs ({results / 'runs'}), not "
                f"{runs_dir}: make the run with `bench run ... --publish`"
            )
        runs_dir = results / "runs"
    elif runs_dir is None:
        runs_dir = DEFAULT_OUT
    written = report.write(
        runs_dir, results, smooth=args.smooth, plots=not args.no_plots, html=args.html
    )
    for p in written:
        print(p)
    print(f"report of {runs_dir} written to {results / 'README.md'}")
    return 0


def cmd_compare(args) -> int:
    from bench.report import compare

    print(compare.render(compare.load(args.paths)))
    return 0


def cmd_env(args) -> int:
    del args
    import jax

    from bench import envinfo
    from gdjax._kernel import backend

    info = envinfo.describe()
    info["devices"] = [str(d) for d in jax.devices()]
    # what a run here uses unless told otherwise (--precision, --chunk, --unroll)
    own = backend.choices()
    info["precision"] = backend.DEFAULT_PRECISION
    info["precision_annotation"] = str(backend.annotation(backend.DEFAULT_PRECISION))
    info["max_chunk"], info["unroll"] = own.max_chunk, own.unroll
    print(json.dumps(info, indent=2))
    return 0


def cmd_list(args) -> int:
    del args
    from bench.run import suites

    for name in suites.available():
        s = suites.load(name)
        print(f"{name}: {len(s.entries)} entries - {s.description}")
        for e in s.entries:
            lanes = len(e.settings["lrs"]) * len(e.settings["seeds"])
            print(f"    {e.key}  ({lanes} lanes, {e.settings['epochs']} epochs)")
    return 0


def cmd_scaling(args) -> int:
    from bench.perf import scaling

    if args.lanes is not None:
        return _lane_scaling(args)
    processes = hosts.settings(
        coordinator=args.coordinator, num_processes=args.num_processes, process_id=args.process_id
    )  # checked here, joined by each worker: one jax.distributed session per device count
    out = destination(args.out, args.publish, DEFAULT_OUT, "runs", "--out")
    scaling.run(
        args.suite,
        args.devices or DEFAULT_DEVICES,
        out,
        args.repeats,
        args.only,
        processes=processes,
        choices=choices(args),
    )
    return 0


def _lane_scaling(args) -> int:
    """``bench scaling --lanes``: one entry at several lane counts, in this process."""
    from bench.perf import lane_scaling

    if args.devices is not None:
        raise UserError("--lanes and --devices: give one axis at a time")
    if any(getattr(args, k) is not None for k in ("coordinator", "num_processes", "process_id")):
        raise UserError("--lanes runs in one process: drop --coordinator and its flags")
    out = destination(args.out, args.publish, DEFAULT_OUT, "runs", "--out")
    lane_scaling.run(
        args.suite,
        args.lanes or DEFAULT_LANES,
        out,
        args.repeats,
        args.only,
        choices=choices(args),
    )
    return 0


def cmd_scaling_worker(args) -> int:
    from bench.perf import scaling

    hosts.join(args)
    import jax

    rows = scaling.worker(
        args.suite, args.devices, args.repeats or None, args.only, choices=choices(args)
    )
    print(json.dumps({"process": jax.process_index(), "rows": rows}))
    return 0


def cmd_roofline(args) -> int:
    from bench import runs
    from bench.run import roofline

    r = roofline.measure()
    print(json.dumps(r, indent=2))
    if args.out:
        runs.write_json(args.out, r)
    return 0


# ---------------------------------------------------------------------------------- parser


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
    c.set_defaults(func=cmd_compare)
    sub.add_parser("env", help="backend, devices and versions").set_defaults(func=cmd_env)
    sub.add_parser("list", help="the shipped suites and their entries").set_defaults(func=cmd_list)
    _add_scaling(sub)
    rf = sub.add_parser("roofline", help="measure this machine's GEMM GFLOP/s and copy GB/s")
    rf.add_argument("--out", type=Path, default=None, help="save the measurement as JSON here")
    rf.set_defaults(func=cmd_roofline)
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
    r.set_defaults(func=cmd_run, interrupted=RUN_INTERRUPTED)


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
    rep.set_defaults(func=cmd_report, interrupted=REPORT_INTERRUPTED)


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
    sc.set_defaults(func=cmd_scaling)
    # internal: one device count, in a fresh process; no help=, so --help does not list it
    w = sub.add_parser("_scaling-worker")
    w.add_argument("--suite", required=True)
    w.add_argument("--devices", type=positive_int, required=True)
    w.add_argument("--repeats", type=int, default=0)
    w.add_argument("--only")
    _add_choices(w)
    hosts.add_arguments(w)
    w.set_defaults(func=cmd_scaling_worker)


# ---------------------------------------------------------------------------------- entry point


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    """Run one command; returns the exit status.

    Args:
        argv: the arguments (default: ``sys.argv[1:]``).
        prog: the program's name in help and errors (default: the basename of ``sys.argv[0]``,
            ``gdjax-bench`` for the console script; ``python -m bench`` passes its own).
    """
    args = parser(prog).parse_args(argv)
    from bench.run.suites import SuiteError

    try:
        return args.func(args)
    except BrokenPipeError:  # output piped into head and the like
        return 0
    except (UserError, SuiteError, OSError) as e:
        # what a user can fix gets one line; any other exception is a bug: traceback
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # each command says what an interruption leaves behind (--resume is run's alone)
        print(f"\n{getattr(args, 'interrupted', 'interrupted')}", file=sys.stderr)
        return 130
