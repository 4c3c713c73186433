"""How every long job's command ends: one line and an exit status, whatever went wrong.

`job_main` runs a job command's body and turns what escapes it into one
line on stderr:

- bad input (`BadInput`, a `JobError`, a bad scenario): exit 2;
- the scheduler lost mid-job, a failed write (full disk, read-only
  folder), memory exhausted: exit 1, saying that what was finished is kept;
- Ctrl-C or SIGTERM: exit 130, naming the folder that holds the finished
  work only when it exists.

`check_address_space` (call it before the heavy imports) refuses at once,
in one line, to start under an address-space limit (``ulimit -v``,
``prlimit --as``) too small for a job: below it, OpenBLAS spins at start-up
and ignores SIGTERM, and later the figures die with ``std::bad_alloc``.
"""

from __future__ import annotations

import argparse
import errno
import os
import resource
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sim.commandline import EXIT_BAD_INPUT, EXIT_FAULT, EXIT_INTERRUPTED, BadInput, print_error
from sim.jobs.errors import JobError, SchedulerLost

# a job process with numpy, SciPy, pandas, Dask, numba and matplotlib loaded reserves about 1.6 GiB of
# address space before it runs anything, and a report's figures more; below this, fail fast
MIN_ADDRESS_SPACE = 3 * 2**30
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO, errno.EACCES, errno.EPERM}


def address_space_limit() -> int | None:
    """The soft address-space limit of this process in bytes; None when unlimited."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return None if soft == resource.RLIM_INFINITY else int(soft)


def check_address_space(command: str, need: int = MIN_ADDRESS_SPACE) -> None:
    """Refuse (BadInput, one line) under an address-space limit below ``need``; cap the BLAS threads under any limit.

    OpenBLAS reserves a buffer per thread at import; capped at one thread it
    starts in little space. Call this before numpy or SciPy is imported.
    """
    limit = address_space_limit()
    if limit is None:
        return
    for name in BLAS_THREADS:
        os.environ.setdefault(name, "1")
    if limit < need:
        from sim.runs.resources import human_bytes

        raise BadInput(f"{command}: the address-space limit (ulimit -v) is {human_bytes(limit)}; it needs at least "
                       f"about {human_bytes(need)} to start; raise the limit (ulimit -v unlimited)")  # fmt: skip


def job_command(argv: list[str], parser: Callable[[], argparse.ArgumentParser], command: str,
                work: Callable[[argparse.Namespace, dict[str, Any]], int], what: str,
                bad_input: tuple[type[BaseException], ...] = (), otherwise: str = "nothing was saved yet",
                saved: Callable[[dict[str, Any]], Path | None] | None = None) -> int:  # fmt: skip
    """A job command: `check_address_space`, parse and check the options, ``work(args, state)``; see `job_main`.

    ``work`` sets ``state["saved"]`` to where it keeps finished work as soon
    as that is known, so an interruption can say where it is; ``saved(state)``,
    when given, says instead (None while nothing is kept there).
    """
    from sim.jobs.options import check_job_options

    state: dict[str, Any] = {}

    def body() -> int:
        check_address_space(command)
        args = parser().parse_args(argv)
        if hasattr(args, "workers"):
            check_job_options(args)
        return work(args, state)

    kept = (lambda: saved(state)) if saved else (lambda: state.get("saved"))
    return job_main(body, kept, what, bad_input, otherwise)


def job_main(body: Callable[[], int], saved: Callable[[], Path | None], what: str,
             bad_input: tuple[type[BaseException], ...] = (), otherwise: str = "nothing was saved yet") -> int:  # fmt: skip
    """Run ``body`` (a job command's work, returning its exit status); failures become one line.

    ``saved()`` is where the finished work is kept once known (None
    before); ``what`` says what it keeps ("finished runs"); ``otherwise``
    what to say when nothing is kept there (yet).
    """
    from sim.scenario import ScenarioError

    try:
        return body()
    except SchedulerLost as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_FAULT
    except (BadInput, JobError, ScenarioError, *bad_input) as err:
        print_error(err)
        return EXIT_BAD_INPUT
    except OSError as err:  # a full disk, a folder made read-only mid-job, a failed write; or the system's own
        from sim.runs.folders import os_error_line

        what_failed = "writing failed: " if err.errno in WRITE_ERRORS else ""
        print(f"error: {what_failed}{os_error_line(err)}{_kept(saved(), what, otherwise)}", file=sys.stderr)
        return EXIT_FAULT
    except MemoryError:
        print(f"error: out of memory; use fewer --workers or a smaller world{_kept(saved(), what, otherwise)}", file=sys.stderr)
        return EXIT_FAULT
    except KeyboardInterrupt:
        print(f"interrupted{_kept(saved(), what, otherwise)}", file=sys.stderr)
        return EXIT_INTERRUPTED


def _kept(out: Path | None, what: str, otherwise: str) -> str:
    """'; finished runs are saved in OUT; run the same command again to resume', if OUT exists."""
    if out is None or not Path(out).exists():
        return f"; {otherwise}"
    return f"; {what} are saved in {out}; run the same command again to resume"
