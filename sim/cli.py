"""The command line: parse arguments, load the scenario, hand work to the runners.

No model rules live here. Bad input ends with one line on stderr per
mistake and exit status 2, never a traceback, and before any results
folder is made. A fault while writing (a full disk) ends with one line and
status 1, after saving what was computed; SIGTERM stops like Ctrl-C and
leaves no partial folder. Shipped scenarios are found relative to the
project, so ``python path/to/run.py`` works from any folder.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from sim.commandline import (  # noqa: F401 - shared by every command; imported from here by older code
    DEFAULT_SCENARIO,
    EXIT_BAD_INPUT,
    EXIT_FAULT,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    PROJECT_ROOT,
    SCENARIO_DIR,
    BadInput,
    OneLineParser,
    Terminated,
    error_lines,
    find_scenario,
    find_shipped,
    print_error,
    program_name,
    resolve_scenario,
    shown_path,
    sigterm_as_interrupt,
)
from sim.runs.provenance import utc_now
from sim.scenario import Scenario, ScenarioError, load_scenario

# other commands live in their own modules: name -> (module, function taking argv)
SUBCOMMANDS = {
    "viz": ("sim.viz.server", "viz_main"),
    "classroom": ("sim.classroom.cli", "classroom_main"),
    "sweep": ("sim.sweep.cli", "sweep_main"),
    "sweep-report": ("sim.sweep.cli", "sweep_report_main"),
    "calibrate": ("sim.calibration.cli", "calibrate_main"),
    "calibrate-report": ("sim.calibration.cli", "calibrate_report_main"),
    "validate": ("sim.validation.cli", "validate_main"),
    "study": ("sim.study.cli", "study_main"),
    "study-report": ("sim.study.cli", "study_report_main"),
}

# every command, as --help lists it
COMMAND_HELP = {
    "list": "the shipped scenarios and the question each asks",
    "viz": "serve the classroom demo in a browser",
    "sweep": "run a parameter sweep (grid, lhs, sobol, morris) on Dask; resumable",
    "sweep-report": "rebuild a sweep's analysis and figures, also mid-sweep",
    "validate": "run a scenario and compare it with published figures",
    "calibrate": "fit parameters to the published figures with ABC-SMC on Dask; resumable",
    "calibrate-report": "rebuild a calibration's report, also mid-run",
    "study": "sample a plausible region and say who wins where (scenario discovery)",
    "study-report": "rebuild a study's analysis and report",
    "classroom": "the classroom game: each student runs a firm from their own browser",
}



class WorkerDied(RuntimeError):
    """A replication's worker process died (a fault: one line, exit 1)."""


def commands_text() -> str:
    """The other commands, one a line, for --help."""
    width = max(map(len, COMMAND_HELP)) + 2
    lines = ["other commands (python run.py COMMAND --help says more):"]
    lines += [f"  {name:<{width}}{text}" for name, text in COMMAND_HELP.items()]
    return "\n".join(lines)


def unknown_command(word: str) -> BadInput | None:
    """A first argument that is neither a command nor a file, but looks like a command: say so.

    A word without a path separator or a file suffix that names no file
    (here or shipped) was meant as a command: 'sweeep' gets "no command
    'sweeep'; did you mean 'sweep'?" instead of "sweeep: file not found".
    """
    import difflib

    if not word or word.startswith("-") or "/" in word or "\\" in word or Path(word).suffix:
        return None
    if find_shipped(word).exists():
        return None
    if (SCENARIO_DIR / f"{word}.yaml").is_file():
        return BadInput(f"no command {word!r}; did you mean the scenario scenarios/{word}.yaml?")
    close = difflib.get_close_matches(word, list(COMMAND_HELP), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else f"commands: {', '.join(COMMAND_HELP)}; or give a scenario file"
    return BadInput(f"no command {word!r}; {hint} (see {program_name()} --help)")


def run_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="python run.py",
        description=(
            "Run an attention-market scenario: replications in parallel, then a results folder "
            "with tables, figures, a report and provenance."
        ),
        epilog=commands_text()
        + "\n\nExample: python run.py scenarios/duel.yaml --set attention_mean=10 --replications 10 --workers 2",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "scenario", nargs="?", default=None,
        help="scenario YAML file (default: the project's scenarios/duel.yaml); a relative path not found "
        "here is looked up in the project folder",
    )
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a scenario value with a dotted key, e.g. attention_mean=10 or "
        "firms.broadcast.ads_per_day=0; repeatable; the same keys work in the YAML",
    )
    parser.add_argument("--replications", type=int, help="number of replications (default: the scenario's)")
    parser.add_argument("--seed", type=int, help="base seed; replication r uses a seed derived from (seed, r)")
    parser.add_argument(
        "--workers", type=int, default=None,
        help="worker processes (default: min(replications, CPU cores)); results do not depend on it",
    )
    parser.add_argument(
        "--out", type=Path, default=None,
        help="results folder (default: results/<scenario>/<UTC timestamp>-<config hash>/)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no summary table")
    parser.add_argument(
        "--force", action="store_true",
        help="run even when the memory estimate says it cannot fit this machine",
    )
    return parser


def list_scenarios() -> int:
    """Print the shipped scenarios with their one-line descriptions; say where it looked if none."""
    from sim.scenario.io import load_yaml_file

    paths = sorted(SCENARIO_DIR.glob("*.yaml")) if SCENARIO_DIR.is_dir() else []
    if not paths:
        print(f"no scenario files (*.yaml) found in {SCENARIO_DIR}", file=sys.stderr)
        return EXIT_FAULT
    for path in paths:
        try:
            raw = load_yaml_file(path)
            description = raw.get("description", "") if isinstance(raw, dict) else "(not a scenario mapping)"
        except ScenarioError as err:
            description = f"(unreadable: {str(err).split(': ', 1)[-1]})"
        first = " ".join(str(description).split())
        print(f"{shown_path(path):<36} {first}")
    return 0


def command_run(argv: list[str]) -> int:
    from sim.runs.folders import OutputError, check_writable, claim_folder
    from sim.runs.resources import ResourceError
    from sim.runs.results import default_folder

    args = run_parser().parse_args(argv)
    scenario = resolve_scenario(args.scenario, args.overrides, args.seed, args.replications)
    if args.workers is not None and args.workers < 1:
        raise BadInput(f"--workers: must be at least 1 (got {args.workers})")
    try:
        workers = plan_workers(scenario, args.workers, args.force)
    except ResourceError as err:
        raise BadInput(str(err)) from None
    started = utc_now()
    folder = args.out or default_folder(scenario, started)
    try:
        check_writable(folder)
        with claim_folder(folder) as claim:
            final = execute_run(
                scenario, folder, workers, quiet=args.quiet or not sys.stderr.isatty(), started=started, claim=claim
            )
    except OutputError as err:
        raise BadInput(str(err)) from None
    except BrokenProcessPool:
        raise WorkerDied(
            "a worker process running replications died (out of memory, or killed); no results folder was "
            "written; try fewer --workers or a smaller world"
        ) from None
    if not args.quiet:
        print_summary(final)
    print(final)
    return 0


def plan_workers(scenario: Scenario, asked: int | None, force: bool) -> int:
    """Worker processes for the replications, within this machine's memory (ResourceError if none fit)."""
    from sim.runs.resources import PROCESS_BASE, available_memory, check_memory, human_bytes, run_estimate

    estimate = run_estimate(scenario.model_kwargs())
    per_worker = estimate.bytes + PROCESS_BASE
    workers = asked or min(scenario.replications, os.cpu_count() or 1)
    world = f"{scenario.width} x {scenario.height} users, {estimate.firms} firms"
    hint = "make the world smaller (width, height) or lower posts_per_day"
    if scenario.market.pages:
        world += f", {scenario.market.pages:,} pages with their follow edges"
        hint = "make the world smaller (width, height) or lower market.pages or pages_followed"
    check_memory(per_worker, f"one replication ({world})", hint, force)
    available = available_memory()
    fit = max(1, available // per_worker)
    if workers > fit and not force:
        if asked is not None:
            check_memory(per_worker * workers, f"{workers} parallel replications ({world})",
                         f"use --workers {fit}", force, available)  # fmt: skip
        print(f"note: running {fit} replication(s) at a time, not {workers}: each needs about "
              f"{human_bytes(per_worker)}", file=sys.stderr)  # fmt: skip
        workers = fit
    hours = estimate.seconds * scenario.replications / max(1, workers) / 3600
    if hours > 1:
        print(f"note: {scenario.replications} replication(s) of {estimate.user_days:,.0f} user-days each; "
              f"roughly {hours:,.0f} hours here", file=sys.stderr)  # fmt: skip
    return workers


def execute_run(scenario: Scenario, folder: Path, workers: int, quiet: bool, started, claim=None) -> Path:
    """Run the replications with a progress bar and write the results folder."""
    from tqdm import tqdm

    from sim.runs.results import write_results
    from sim.runs.session import run_with_provenance
    from sim.validation import report_section

    with tqdm(total=scenario.replications, desc=scenario.name, unit="rep", disable=quiet) as bar:
        reps, metadata = run_with_provenance(scenario, workers, on_done=lambda _: bar.update(), started=started)
    return write_results(folder, scenario, reps, metadata, claim, sections=(report_section,))


def print_summary(folder: Path) -> None:
    import pandas as pd

    stats = pd.read_csv(folder / "summary_stats.csv")
    table = stats.pivot(index="metric", columns="firm", values="mean")
    replications = int(stats["of"].max()) if "of" in stats else None
    print(f"mean over {replications} replication(s) per metric and firm; sd and 95% intervals in summary_stats.csv:"
          if replications else "mean per metric and firm (summary_stats.csv):")  # fmt: skip
    print(table.to_string(float_format=lambda x: f"{x:,.3f}"))


def pass_on_lost_interrupts(unraisable) -> None:
    """A `sys.unraisablehook` that raises a swallowed Ctrl-C again in the main thread.

    A SIGINT can land inside a finalizer or a ctypes callback while numba and
    llvmlite compile or load the kernels; Python then prints "Exception
    ignored in ... Traceback" and drops the interrupt, so the run went on to
    the end. Raising it again lets the command stop cleanly. Other
    unraisable errors are reported as usual.
    """
    if isinstance(unraisable.exc_value, KeyboardInterrupt):
        import _thread

        _thread.interrupt_main()
        return
    sys.__unraisablehook__(unraisable)


def main(argv: list[str] | None = None) -> int:
    from sim.runs.folders import WriteFailed

    if sys.unraisablehook is sys.__unraisablehook__:  # a program of its own, not inside a test runner's hook
        sys.unraisablehook = pass_on_lost_interrupts
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        with sigterm_as_interrupt():
            if argv and argv[0] == "list":
                return list_scenarios()
            if argv and argv[0] in SUBCOMMANDS:
                module, function = SUBCOMMANDS[argv[0]]
                return getattr(importlib.import_module(module), function)(argv[1:])
            unknown = unknown_command(argv[0]) if argv else None
            if unknown is not None:
                raise unknown
            return command_run(argv)
    except (BadInput, ScenarioError) as err:
        print_error(err)
        return EXIT_BAD_INPUT
    except (WriteFailed, WorkerDied) as err:
        print_error(err)
        return EXIT_FAULT
    except KeyboardInterrupt as err:
        return report_interrupt(err, "no results folder was written")
    except SystemError as err:  # a Ctrl-C wrapped by a compiled kernel; subcommands missed it too
        interrupt = wrapped_interrupt(err)
        if interrupt is None:
            raise
        sub = bool(argv) and argv[0] in SUBCOMMANDS
        return report_interrupt(interrupt, "what was finished is kept; run the same command again to resume"
                                if sub else "no results folder was written")  # fmt: skip


def report_interrupt(err: KeyboardInterrupt, what: str) -> int:
    """One line for Ctrl-C or SIGTERM; the exit status that says which."""
    how = "terminated (SIGTERM)" if isinstance(err, Terminated) else "interrupted"
    print(f"{how}: {what}", file=sys.stderr)
    return EXIT_TERMINATED if isinstance(err, Terminated) else EXIT_INTERRUPTED


def wrapped_interrupt(err: BaseException | None) -> KeyboardInterrupt | None:
    """The Ctrl-C (or SIGTERM) behind an error that wraps it, if any.

    A SIGINT that lands while a compiled kernel runs Python code (numba
    unpickling a cached kernel's constants on its first call) comes back as
    "SystemError: CPUDispatcher(...) returned a result with an exception
    set", with the KeyboardInterrupt as its cause.
    """
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, KeyboardInterrupt):
            return err
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None
