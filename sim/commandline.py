"""What every command line shares: one-line errors, exit statuses, SIGTERM as Ctrl-C, shipped paths.

Bad input is `BadInput` (or a module's own error), printed by `print_error`
as one ``error: ...`` line per mistake, exit status 2; `OneLineParser` makes
argparse's usage errors the same. Shipped scenarios are found relative to
the project (`find_scenario`), so every command works from any folder.
The run command (`sim.cli`), validation, the demo and the long jobs
(`sim.jobs`) import these from here; nothing here imports them.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sim.scenario.paths import PROJECT_ROOT, SCENARIO_DIR, find_shipped  # noqa: F401 - PROJECT_ROOT re-exported

DEFAULT_SCENARIO = SCENARIO_DIR / "duel.yaml"
EXIT_BAD_INPUT = 2
EXIT_FAULT = 1
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


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


find_scenario = find_shipped  # the scenario file a user means: as given, else inside the project (sim.scenario.paths)


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


def resolve_scenario(path: str | None, overrides: list[str], seed: int | None = None, replications: int | None = None):
    """Load the YAML (the default scenario if None), apply --set overrides, --seed and --replications: a Scenario."""
    from sim.scenario import load_scenario

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
