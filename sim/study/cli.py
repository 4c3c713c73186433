"""Command line of studies: ``python run.py study`` and ``python run.py study-report``.

Bad input (a bad study file, an unknown region key, an unreachable
scheduler, a folder holding another study) ends with one line on stderr and
exit status 2 before anything runs. Ctrl-C saves the finished runs (exit
130); the same command resumes. The runs go through the sweep engine.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from sim.commandline import EXIT_BAD_INPUT, BadInput, OneLineParser
from sim.jobs.options import add_cluster_options, check_cluster_options
from sim.scenario import ScenarioError
from sim.sweep.spec import SweepError

DEFAULT_ROOT = Path("results") / "studies"
EXIT_INTERRUPTED = 130
EXIT_CLUSTER_LOST = 1


def study_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="python run.py study",
        description=(
            "Scenario discovery: run a study (a Latin hypercube over a plausible region, with replications) on "
            "Dask, then answer who wins where: shares with intervals, PRIM boxes, a tree, a feature ranking and "
            "the mechanism inside each box, in OUT/report.md. Re-running the same command resumes."
        ),
        epilog="Example: python run.py study scenarios/studies/push_vs_dialogue.yaml --quick --workers 2",
    )
    parser.add_argument("study", metavar="STUDY.yaml", help="study YAML file (see docs/study.md)")
    parser.add_argument("--quick", action="store_true",
                        help="the study file's reduced design (quick: samples, replications); its own folder")
    add_cluster_options(parser, f"{DEFAULT_ROOT}/<name>/, or <name>-quick/", "results do not depend on it")
    parser.add_argument("--retry-failed", action="store_true", help="run again the runs stored as failed")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    return parser  # fmt: skip


def report_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="python run.py study-report",
        description="Rebuild a study's analysis, figures and report.md from its stored runs (a partial study too).",
    )
    parser.add_argument("out", type=Path, metavar="OUT", help="the study's results folder")
    return parser


def study_main(argv: list[str]) -> int:
    """``python run.py study STUDY.yaml [--quick] [--workers N] [--scheduler ADDRESS] [--out DIR]``."""
    from sim.study.report import build_report, summary_line
    from sim.study.spec import StudyError, load_study
    from sim.sweep.execute import SchedulerLost

    out = None
    try:
        args = study_parser().parse_args(argv)
        check_cluster_options(args)
        study = load_study(args.study, quick=args.quick)
        out = args.out or DEFAULT_ROOT / (study.name + ("-quick" if args.quick else ""))
        clock = time.perf_counter()
        outcome = run_study(study, out, workers=args.workers, scheduler=args.scheduler,
                            retry_failed=args.retry_failed, quiet=args.quiet)  # fmt: skip
        for note in outcome.notes:
            print(f"warning: {note}", file=sys.stderr)
        if outcome.interrupted:
            print(f"interrupted: {outcome.line()}; finished runs are saved in {out}; "
                  "run the same command again to resume", file=sys.stderr)  # fmt: skip
            return EXIT_INTERRUPTED
        print(outcome.line())
        if outcome.failed:
            print(f"warning: {outcome.failed} runs failed (their errors are in the report); "
                  "--retry-failed runs them again", file=sys.stderr)  # fmt: skip
        result, report = build_report(out)
        print(f"{summary_line(result)}\nreport: {report} (study and analysis: {time.perf_counter() - clock:.0f} s)")
        return 0
    except SchedulerLost as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_CLUSTER_LOST
    except (BadInput, StudyError, SweepError, ScenarioError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        where = f"; finished runs are saved in {out}" if out is not None else ""
        print(f"interrupted{where}; run the same command again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED


def run_study(study, out: str | Path, **options):
    """Write the study's files into OUT (once) and run its sweep; returns the sweep engine's outcome."""
    import yaml

    from sim.study.analysis import STUDY_FILE, STUDY_YAML
    from sim.study.model import StudyModel
    from sim.sweep.design import build_design
    from sim.sweep.execute import run_sweep
    from sim.sweep.store import SweepFolder, atomic_write
    from sim.sweep.tasks import check_points, make_tasks

    out = Path(out)
    sweep, model = study.sweep(), StudyModel(study)
    folder = SweepFolder(out)
    design = build_design(sweep)
    check_points(sweep, make_tasks(sweep, design, model), model)
    folder.check_compatible(sweep, design)  # refuse another sweep's or study's folder before writing anything
    folder.initialise(sweep, design)  # sweep.yaml and design.parquet, so study.yaml may sit beside them
    resolved = study.resolved_dict()
    atomic_write(out / STUDY_YAML, yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True).encode("utf-8"))
    if study.text:
        atomic_write(out / STUDY_FILE, study.text.encode("utf-8"))
    outcome = run_sweep(sweep, model, out, **options)
    return outcome


def study_report_main(argv: list[str]) -> int:
    """``python run.py study-report OUT``: analysis, figures and report from the stored runs."""
    from sim.study.analysis import STUDY_YAML
    from sim.study.report import build_report, summary_line
    from sim.study.spec import StudyError

    try:
        args = report_parser().parse_args(argv)
        if not (args.out / STUDY_YAML).exists():
            raise BadInput(f"{args.out}: not a study folder (no {STUDY_YAML})")
        result, report = build_report(args.out)
    except (BadInput, StudyError, SweepError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(summary_line(result))
    print(f"report: {report}")
    return 0
