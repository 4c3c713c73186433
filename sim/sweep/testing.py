"""Fault injection for testing the sweep engine: runs that raise, runs that kill their worker.

`Faulty` wraps any sweep model. At the design points it is told, it raises
(until a "fixed" marker file exists, so that a retry can succeed) or ends
its own process at once, as a segfault or the out-of-memory killer would.
It lives in the package, not in the tests, because Dask workers must be
able to import it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


class InjectedFailure(RuntimeError):
    """The error a `Faulty` model raises on purpose."""


class Faulty:
    """A sweep model that fails on purpose at chosen design points."""

    def __init__(
        self,
        inner: Any,
        raise_at: dict[str, Any] | None = None,
        kill_at: dict[str, Any] | None = None,
        fixed_file: str | Path | None = None,
    ):
        self.inner, self.raise_at, self.kill_at = inner, raise_at, kill_at
        self.fixed_file = None if fixed_file is None else str(fixed_file)

    def __getattr__(self, name: str) -> Any:
        if name == "inner":  # not set yet (while unpickling)
            raise AttributeError(name)
        return getattr(self.inner, name)

    def __call__(self, params: dict[str, Any], seed: int) -> dict[str, Any]:
        if _matches(self.kill_at, params):
            os._exit(70)  # no cleanup, no exception: the worker process is simply gone
        if _matches(self.raise_at, params) and not (self.fixed_file and os.path.exists(self.fixed_file)):
            raise InjectedFailure(f"injected failure at {params}")
        return self.inner(params, seed)


def _matches(point: dict[str, Any] | None, params: dict[str, Any]) -> bool:
    return point is not None and all(params.get(k) == v for k, v in point.items())
