"""The errors of the long jobs and how an exception is said in one line."""

from __future__ import annotations


class JobError(ValueError):
    """A bad job input (sweep, calibration or study file, option, folder), reported as one line."""


class SchedulerLost(JobError):
    """The Dask scheduler went away during the job (a fault: exit 1; the same command resumes)."""


def one_line(exc: BaseException) -> str:
    """An exception as ``Type: message`` on one line."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def reason(err: BaseException, limit: int = 120) -> str:
    """`one_line`, cut to about ``limit`` characters (a damaged file's reason in a warning)."""
    text = " ".join(str(err).split())
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    return f"{type(err).__name__}: {text}" if text else type(err).__name__
