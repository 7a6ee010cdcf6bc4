"""Command line: ``python -m bench {run,report,compare,env,list,roofline}``.

Errors a user can fix (unknown suite, field or file, malformed TOML) print one line and exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DEFAULT_OUT = Path("results/runs")
DEFAULT_CACHE = Path.home() / ".cache" / "gdjax" / "xla"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    r = sub.add_parser("run", help="run a suite and save its lanes and curves")
    r.add_argument("--suite", required=True, help="suite name (bench/suites/NAME.toml) or path")
    r.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder of run folders")
    r.add_argument("--repeats", type=int, help="timed repeats per kernel (default: suite's)")
    r.add_argument(
        "--resume",
        nargs="?",
        const=True,
        default=False,
        metavar="RUN_DIR",
        help="continue the newest unfinished run of this suite (or RUN_DIR), skipping done entries",
    )
    r.add_argument("--only", help="run only entries whose key contains this text")
    r.add_argument("--x64", action="store_true", help="enable float64 (JAX_ENABLE_X64)")
    r.add_argument(
        "--cache-dir",
        type=Path,
        default=DEFAULT_CACHE,
        help=f"JAX persistent compilation cache (default {DEFAULT_CACHE})",
    )
    r.add_argument("--no-cache", action="store_true", help="compile every kernel afresh")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")

    rep = sub.add_parser("report", help="write results/README.md and plots from saved runs")
    rep.add_argument("runs", nargs="?", type=Path, default=DEFAULT_OUT, help="folder of runs")
    rep.add_argument("--results", type=Path, default=Path("results"), help="where to write")
    rep.add_argument(
        "--smooth",
        type=float,
        default=None,
        metavar="ALPHA",
        help="EWMA-smooth the curves in the plots (0 < ALPHA <= 1)",
    )
    rep.add_argument("--no-plots", action="store_true", help="tables only")

    c = sub.add_parser("compare", help="runs on different backends/devices side by side")
    c.add_argument(
        "paths", nargs="+", type=Path, help="run folders, lanes files or folders of runs"
    )

    sub.add_parser("env", help="backend, devices and versions")
    sub.add_parser("list", help="the shipped suites and their entries")

    sc = sub.add_parser("scaling", help="time a suite's kernels with lanes sharded over devices")
    sc.add_argument("--suite", default="perf", help="suite name or path (default perf)")
    sc.add_argument("--devices", type=int, nargs="+", default=[1, 2], help="device counts")
    sc.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder of run folders")
    sc.add_argument("--repeats", type=int, help="timed repeats per kernel (default: suite's)")
    sc.add_argument("--only", help="only entries whose key contains this text")
    w = sub.add_parser("_scaling-worker")  # internal: one device count, in a fresh process
    w.add_argument("--suite", required=True)
    w.add_argument("--devices", type=int, required=True)
    w.add_argument("--repeats", type=int, default=0)
    w.add_argument("--only")

    rf = sub.add_parser("roofline", help="measure this machine's GEMM GFLOP/s and copy GB/s")
    rf.add_argument("--out", type=Path, default=None, help="save the measurement as JSON here")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from bench.suites import SuiteError

    try:
        return _dispatch(args)
    except BrokenPipeError:  # output piped into head and the like
        return 0
    except (SuiteError, OSError, ValueError, TypeError) as e:
        # what a user can fix gets one line, not a traceback
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "\ninterrupted: finished entries are saved; rerun with --resume to finish",
            file=sys.stderr,
        )
        return 130


def _dispatch(args) -> int:
    if args.cmd == "run":
        if args.x64:
            import jax

            jax.config.update("jax_enable_x64", True)
        from bench import baselines, runner, suites, timing

        if not args.no_cache:
            timing.enable_compilation_cache(args.cache_dir)
        suite = suites.load(args.suite)
        if args.repeats is not None and args.repeats < 1:
            raise ValueError(f"--repeats must be >= 1, got {args.repeats}")
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
    if args.cmd == "report":
        from bench import report

        written = report.write(args.runs, args.results, smooth=args.smooth, plots=not args.no_plots)
        for p in written:
            print(p)
        return 0
    if args.cmd == "compare":
        from bench import compare

        print(compare.render(compare.load(args.paths)))
        return 0
    if args.cmd == "env":
        import jax

        from bench import envinfo

        info = envinfo.describe()
        info["devices"] = [str(d) for d in jax.devices()]
        print(json.dumps(info, indent=2))
        return 0
    if args.cmd == "list":
        from bench import suites

        for name in suites.available():
            s = suites.load(name)
            print(f"{name}: {len(s.entries)} entries - {s.description}")
            for e in s.entries:
                lanes = len(e.settings["lrs"]) * len(e.settings["seeds"])
                print(f"    {e.key}  ({lanes} lanes, {e.settings['epochs']} epochs)")
        return 0
    if args.cmd == "scaling":
        from bench import scaling

        if any(k < 1 for k in args.devices):
            raise ValueError(f"--devices must be >= 1, got {args.devices}")
        scaling.run(args.suite, args.devices, args.out, args.repeats, args.only)
        return 0
    if args.cmd == "_scaling-worker":
        from bench import scaling

        rows = scaling.worker(args.suite, args.devices, args.repeats or None, args.only)
        print(json.dumps(rows))
        return 0
    if args.cmd == "roofline":
        from bench import roofline

        r = roofline.measure()
        print(json.dumps(r, indent=2))
        if args.out:
            args.out.write_text(json.dumps(r, indent=2) + "\n")
        return 0
    raise AssertionError(args.cmd)
