"""Command line: ``python -m bench COMMAND`` (installed as ``gdjax-bench COMMAND``).

A user error (``bench.errors.UserError``, ``bench.suites.SuiteError``, a file the system cannot
open) prints one line on stderr and exits with status 2. Anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

from bench import hosts
from bench.errors import UserError

DEFAULT_OUT = Path("results/runs")
DEFAULT_CACHE = Path.home() / ".cache" / "gdjax" / "xla"
DESCRIPTION = "Benchmark batch, stochastic and mini-batch gradient descent with gdjax."
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


# ---------------------------------------------------------------------------------- commands


def cmd_run(args) -> int:
    hosts.join(args)  # before anything asks JAX for its devices; a bad flag is a user error
    import gdjax
    from bench import baselines, runner, suites, timing

    # x64 and the compile cache for this command only (scoped, restored when the run ends)
    x64 = gdjax.x64(True) if args.x64 else contextlib.nullcontext()
    cache = contextlib.nullcontext() if args.no_cache else timing.compilation_cache(args.cache_dir)
    with x64, cache:
        suite = suites.load(args.suite)
        suite.validate()  # every problem's data and sizes, before the run folder exists
        resume = Path(args.resume) if isinstance(args.resume, str) else args.resume
        runner.run_suite(
            suite,
            args.out,
            repeats=args.repeats,
            resume=resume,
            progress=not args.no_progress,
            only=args.only,
            extra=baselines.attach,
        )
    return 0


def cmd_report(args) -> int:
    from bench import report

    written = report.write(args.runs, args.results, smooth=args.smooth, plots=not args.no_plots)
    for p in written:
        print(p)
    return 0


def cmd_compare(args) -> int:
    from bench import compare

    print(compare.render(compare.load(args.paths)))
    return 0


def cmd_env(args) -> int:
    del args
    import jax

    from bench import envinfo

    info = envinfo.describe()
    info["devices"] = [str(d) for d in jax.devices()]
    print(json.dumps(info, indent=2))
    return 0


def cmd_list(args) -> int:
    del args
    from bench import suites

    for name in suites.available():
        s = suites.load(name)
        print(f"{name}: {len(s.entries)} entries - {s.description}")
        for e in s.entries:
            lanes = len(e.settings["lrs"]) * len(e.settings["seeds"])
            print(f"    {e.key}  ({lanes} lanes, {e.settings['epochs']} epochs)")
    return 0


def cmd_scaling(args) -> int:
    from bench import scaling

    processes = hosts.settings(
        coordinator=args.coordinator, num_processes=args.num_processes, process_id=args.process_id
    )  # checked here, joined by each worker: one jax.distributed session per device count
    scaling.run(args.suite, args.devices, args.out, args.repeats, args.only, processes=processes)
    return 0


def cmd_scaling_worker(args) -> int:
    from bench import scaling

    hosts.join(args)
    import jax

    rows = scaling.worker(args.suite, args.devices, args.repeats or None, args.only)
    print(json.dumps({"process": jax.process_index(), "rows": rows}))
    return 0


def cmd_roofline(args) -> int:
    from bench import roofline, runs

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
    r.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder of run folders")
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
    hosts.add_arguments(r)
    r.set_defaults(func=cmd_run)


def _add_report(sub) -> None:
    rep = sub.add_parser("report", help="write results/README.md and plots from saved runs")
    rep.add_argument("runs", nargs="?", type=Path, default=DEFAULT_OUT, help="folder of runs")
    rep.add_argument("--results", type=Path, default=Path("results"), help="where to write")
    rep.add_argument(
        "--smooth",
        type=smoothing,
        default=None,
        metavar="ALPHA",
        help="EWMA-smooth the curves in the plots (0 < ALPHA <= 1)",
    )
    rep.add_argument("--no-plots", action="store_true", help="tables only")
    rep.set_defaults(func=cmd_report)


def _add_scaling(sub) -> None:
    sc = sub.add_parser("scaling", help="time a suite's kernels with lanes sharded over devices")
    sc.add_argument("--suite", default="perf", help="suite name or path (default perf)")
    sc.add_argument(
        "--devices", type=positive_int, nargs="+", default=[1, 2], help="device counts, each once"
    )
    sc.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder of run folders")
    sc.add_argument(
        "--repeats", type=positive_int, help="timed repeats per kernel (default: suite's)"
    )
    sc.add_argument("--only", metavar="PATTERN", help=ONLY_HELP)
    hosts.add_arguments(sc)
    sc.set_defaults(func=cmd_scaling)
    # internal: one device count, in a fresh process; no help=, so --help does not list it
    w = sub.add_parser("_scaling-worker")
    w.add_argument("--suite", required=True)
    w.add_argument("--devices", type=positive_int, required=True)
    w.add_argument("--repeats", type=int, default=0)
    w.add_argument("--only")
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
    from bench.suites import SuiteError

    try:
        return args.func(args)
    except BrokenPipeError:  # output piped into head and the like
        return 0
    except (UserError, SuiteError, OSError) as e:
        # what a user can fix gets one line; any other exception is a bug: traceback
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "\ninterrupted: finished entries are saved; rerun with --resume to finish",
            file=sys.stderr,
        )
        return 130
