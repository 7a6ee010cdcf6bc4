"""Command line: ``python -m bench COMMAND`` (installed as ``gdjax-bench COMMAND``).

A user error (``bench.errors.UserError``, ``bench.run.suites.SuiteError``, a file the system cannot
open) prints one line on stderr and exits with status 2. Anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

from bench.cli_parser import DEFAULT_DEVICES, DEFAULT_LANES, parser
from bench.destinations import DEFAULT_OUT, SCRATCH, destination, inside
from bench.errors import UserError
from bench.run import hosts


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


#: Each command's function, by the name the parser gives it (:mod:`bench.cli_parser`).
COMMANDS = {
    "run": cmd_run,
    "report": cmd_report,
    "compare": cmd_compare,
    "env": cmd_env,
    "list": cmd_list,
    "scaling": cmd_scaling,
    "scaling-worker": cmd_scaling_worker,
    "roofline": cmd_roofline,
}


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
        return COMMANDS[args.command](args)
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
