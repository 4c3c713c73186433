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
import signal
import sys
import time
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path

from sim.runs.provenance import base_metadata, utc_now
from sim.scenario import Scenario, ScenarioError, load_scenario

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SCENARIO_DIR = PROJECT_ROOT / "scenarios"
DEFAULT_SCENARIO = SCENARIO_DIR / "duel.yaml"
EXIT_BAD_INPUT = 2
EXIT_FAULT = 1
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
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


class BadInput(Exception):
    """Input the user must fix; printed as one line, exit status 2."""


def program_name(argv0: str | None = None) -> str:
    """The command as the user started it: 'python run.py', 'python -m sim' or 'attention-market'."""
    path = Path(sys.argv[0] if argv0 is None else argv0)
    if path.name == "__main__.py" and path.parent.name == "sim":
        return "python -m sim"
    if path.name == "attention-market" or path.stem == "attention-market":
        return "attention-market"
    return "python run.py"


class WorkerDied(RuntimeError):
    """A replication's worker process died (a fault: one line, exit 1)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (a batch system ending the job, `kill`): stop and clean up as for Ctrl-C."""


def error_lines(err: BaseException) -> list[str]:
    """``error: ...`` lines for a BadInput/ScenarioError/fault: one per mistake, never a traceback."""
    text = str(err).strip() or type(err).__name__
    return [f"error: {line}" for line in text.splitlines() if line.strip()]


def print_error(err: BaseException) -> None:
    """Print `error_lines` on stderr."""
    print("\n".join(error_lines(err)), file=sys.stderr)


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Turn the first SIGTERM into `Terminated` (a KeyboardInterrupt) so cleanup code runs.

    Later SIGTERMs are ignored while that cleanup runs. Only in the main
    thread (signal handlers cannot be set elsewhere).
    """
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def shown_path(path: Path) -> str:
    """A path relative to the current folder when it lies inside it, else absolute."""
    try:
        return Path(os.path.relpath(path)).as_posix() if Path(path).resolve().is_relative_to(Path.cwd()) else str(path)
    except ValueError:
        return str(path)


def find_scenario(path: str | Path) -> Path:
    """The scenario file a user means: as given, else (relative paths) inside the project.

    ``scenarios/duel.yaml`` typed in another folder finds the shipped file;
    a path that exists as given always wins.
    """
    given = Path(path)
    if given.is_absolute() or given.exists() or given.is_symlink():
        return given
    shipped = PROJECT_ROOT / given
    return shipped if shipped.exists() else given


class OneLineParser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit status 2; help names the command as it was started."""

    def __init__(self, *args, **kwargs):
        program = program_name()
        for key in ("prog", "description", "epilog"):
            if isinstance(kwargs.get(key), str):
                kwargs[key] = kwargs[key].replace("python run.py", program)
        super().__init__(*args, **kwargs)

    def error(self, message):
        raise BadInput(f"{message} (see {self.prog} --help)")


def add_cluster_options(parser: argparse.ArgumentParser, out_default: str, independence: str) -> None:
    """--workers, --scheduler and --out: the options of every command that runs on Dask.

    ``independence`` says what does not depend on the worker count (e.g. "results do not depend on it").
    """
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help=f"local worker processes (default: one per core); {independence}")
    parser.add_argument("--scheduler", metavar="ADDRESS", default=None,
                        help="run on an existing Dask cluster, e.g. tcp://host:8786 (or the JSON file of "
                        "dask scheduler --scheduler-file), instead of a local one")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR", help=f"results folder (default: {out_default})")


def check_cluster_options(args: argparse.Namespace) -> None:
    """Refuse a worker count below 1; warn that --workers means nothing with --scheduler."""
    if args.workers is not None and args.workers < 1:
        raise BadInput(f"--workers: must be at least 1 (got {args.workers})")
    if args.scheduler and args.workers:
        print("warning: --workers is ignored with --scheduler: the cluster has its own workers", file=sys.stderr)


def run_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="python run.py",
        description=(
            "Run an attention-market scenario: replications in parallel, then a results folder "
            "with tables, figures, a report and provenance. Other commands: "
            "'python run.py list' lists the shipped scenarios; 'python run.py viz --help' serves the "
            "classroom demo in a browser; 'python run.py sweep --help' runs parameter sweeps; "
            "'python run.py sweep-report --help' rebuilds a sweep's analysis."
        ),
        epilog="Example: python run.py scenarios/duel.yaml --set attention_mean=10 --replications 10 --workers 2",
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


def resolve_scenario(path: str | None, overrides: list[str], seed: int | None = None, replications: int | None = None) -> Scenario:
    """Load the YAML (the default scenario if None), apply --set overrides, --seed and --replications."""
    if replications is not None and replications < 1:
        raise BadInput(f"--replications: must be at least 1 (got {replications})")
    if seed is not None and seed < 0:
        raise BadInput(f"--seed: must be >= 0 (got {seed})")
    extra = list(overrides)
    extra += [f"seed={seed}"] if seed is not None else []
    extra += [f"replications={replications}"] if replications is not None else []
    if path is None:
        return load_scenario(shown_path(DEFAULT_SCENARIO), extra)
    found = find_scenario(path)
    return load_scenario(path if found == Path(path) else shown_path(found), extra)


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
    check_memory(per_worker, f"one replication ({world})",
                 "make the world smaller (width, height) or lower posts_per_day", force)  # fmt: skip
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
    from sim.runs.runner import replication_seed, run_replications
    from sim.validation import report_section

    clock = time.perf_counter()
    with tqdm(total=scenario.replications, desc=scenario.name, unit="rep", disable=quiet) as bar:
        reps = run_replications(
            scenario.model_kwargs(), scenario.seed, scenario.replications, workers, on_done=lambda _: bar.update()
        )
    metadata = {
        "scenario": scenario.name,
        "seed": scenario.seed,
        "replications": scenario.replications,
        "replication_seeds": [replication_seed(scenario.seed, r) for r in range(scenario.replications)],
        "workers": workers,
        **base_metadata(),
        "started_utc": started.isoformat(),
        "finished_utc": utc_now().isoformat(),
        "wall_time_seconds": time.perf_counter() - clock,
        "wall_time_per_replication": [round(r.wall_time, 3) for r in reps],
    }
    return write_results(folder, scenario, reps, metadata, claim, sections=(report_section,))


def print_summary(folder: Path) -> None:
    import pandas as pd

    stats = pd.read_csv(folder / "summary_stats.csv")
    table = stats.pivot(index="metric", columns="firm", values="mean")
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
