"""Command line of sweeps: ``python run.py sweep`` and ``python run.py sweep-report``.

Bad input (an unknown parameter key, bounds outside a parameter's range, an
unknown method, an unreachable scheduler, a folder holding another sweep)
ends with one line on stderr and exit status 2, before anything runs.
Ctrl-C saves the finished runs and exits with status 130; the same command
resumes. No model rules and no analysis live here.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sim.commandline import EXIT_BAD_INPUT, BadInput, OneLineParser, print_error
from sim.jobs.options import add_cluster_options, check_cluster_options
from sim.scenario import ScenarioError
from sim.sweep.spec import SweepError

DEFAULT_ROOT = Path("results") / "sweeps"
EXIT_INTERRUPTED = 130
EXIT_CLUSTER_LOST = 1


def sweep_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="python run.py sweep",
        description=(
            "Run a parameter sweep (sobol, morris, lhs or grid) on Dask: a local cluster by default, or an "
            "existing one with --scheduler. Re-running the same command resumes; a changed sweep file is refused. "
            "At the end the analysis, figures and report.md are written to the output folder."
        ),
        epilog="Example: python run.py sweep scenarios/sweeps/grid_attention_pages.yaml --workers 2",
    )
    parser.add_argument("sweep", metavar="SWEEP.yaml", help="sweep YAML file (see docs/sweeps.md)")
    add_cluster_options(parser, f"{DEFAULT_ROOT}/<name>/", "results do not depend on it")
    parser.add_argument("--retry-failed", action="store_true", help="run again the runs stored as failed")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.add_argument("--force", action="store_true", help="run even when the memory estimate says it cannot fit")
    parser.add_argument("--wait-workers", type=float, default=None, metavar="SECONDS",
                        help="with --scheduler: how long to wait for a first worker (default 60)")
    return parser  # fmt: skip


def report_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="python run.py sweep-report",
        description="Rebuild a sweep's analysis, figures and report.md from its stored runs (a partial sweep too).",
    )
    parser.add_argument("out", type=Path, metavar="OUT", help="the sweep's results folder")
    return parser


def sweep_main(argv: list[str]) -> int:
    """``python run.py sweep SWEEP.yaml [--workers N] [--scheduler ADDRESS] [--out DIR] [--retry-failed]``."""
    from sim.sweep.execute import SchedulerLost, run_sweep
    from sim.sweep.report import build_report, summary_line
    from sim.sweep.spec import load_sweep

    out = None
    try:
        args = sweep_parser().parse_args(argv)
        check_cluster_options(args)
        sweep, model = load_sweep(args.sweep)
        for note in sweep.notes:
            print(f"warning: {note}", file=sys.stderr)
        out = args.out or DEFAULT_ROOT / sweep.name
        if args.wait_workers is not None and not args.wait_workers > 0:
            raise BadInput(f"--wait-workers: must be > 0 seconds (got {args.wait_workers})")
        outcome = run_sweep(sweep, model, out, workers=args.workers, scheduler=args.scheduler,
                            retry_failed=args.retry_failed, quiet=args.quiet, force=args.force,
                            worker_timeout=args.wait_workers)  # fmt: skip
        for note in outcome.notes[len(sweep.notes):]:
            print(f"warning: {note}", file=sys.stderr)
        if outcome.interrupted:
            print(f"interrupted: {outcome.line()}; finished runs are saved in {out}; "
                  "run the same command again to resume", file=sys.stderr)  # fmt: skip
            return EXIT_INTERRUPTED
        print(outcome.line())
        if outcome.failed:
            print(f"warning: {outcome.failed} runs failed (their errors are in the report); "
                  "--retry-failed runs them again", file=sys.stderr)  # fmt: skip
        analysis, report = build_report(out)
        print(f"report: {report} ({summary_line(analysis)})")
        return 0
    except SchedulerLost as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_CLUSTER_LOST
    except (BadInput, SweepError, ScenarioError) as err:
        print_error(err)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        where = f"; finished runs are saved in {out}" if out is not None else ""
        print(f"interrupted{where}; run the same command again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED


def sweep_report_main(argv: list[str]) -> int:
    """``python run.py sweep-report OUT``: analysis, figures and report from the stored runs."""
    from sim.sweep.report import build_report, summary_line
    from sim.sweep.store import SweepFolder

    try:
        args = report_parser().parse_args(argv)
        folder = SweepFolder(args.out)
        damaged = folder.sweep_yaml.with_name("sweep.yaml.bad").exists()
        if not folder.sweep_yaml.exists() and not damaged:
            raise BadInput(f"{args.out}: not a sweep folder (no sweep.yaml)")
        if folder.stored_sweep() is None:
            raise SweepError(f"{folder.sweep_yaml}: unreadable, set aside as sweep.yaml.bad; restore it with "
                             f"python run.py sweep SWEEP.yaml --out {args.out} (the same sweep file), then "
                             "run sweep-report again")  # fmt: skip
        analysis, report = build_report(args.out)
    except (BadInput, SweepError, ScenarioError) as err:
        print_error(err)
        return EXIT_BAD_INPUT
    print(summary_line(analysis))
    for found in analysis.outputs:
        if found.note:
            print(f"  {found.output}: {found.note}")
    print(f"report: {report}")
    return 0
