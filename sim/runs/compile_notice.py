"""Say once, on stderr, that the first run compiles the model's kernels, but only when it will.

The day's hot loops are numba functions cached on disk (``cache=True``).
The first run after installing (or after a kernel's source changed)
compiles them, about a minute on two cores, and prints nothing meanwhile:
a new user takes that for a hang. `kernels_cold` asks numba's own cache
index of every cached kernel of `sim.model` whether it holds an entry for
the current source (numba drops an index whose source stamp changed), so
the note appears exactly when compiling is due.
"""

from __future__ import annotations

import sys

NOTE = ("note: compiling the model's kernels once (numba), about a minute on 2 cores; "
        "later runs load them from the cache")  # fmt: skip
_announced = False


def cached_kernels() -> list:
    """Every numba dispatcher with an on-disk cache defined in the modules of `sim.model`."""
    import importlib
    import pkgutil

    import sim.model
    from numba.core.registry import CPUDispatcher

    found: dict[int, object] = {}
    for info in pkgutil.iter_modules(sim.model.__path__):
        module = importlib.import_module(f"sim.model.{info.name}")
        for value in vars(module).values():
            if isinstance(value, CPUDispatcher) and value._cache.__class__.__name__ == "FunctionCache":
                if value.py_func.__module__ == module.__name__:
                    found[id(value)] = value
    return list(found.values())


def kernels_cold() -> bool:
    """True when some cached kernel has no compiled entry on disk for its current source."""
    try:
        return any(not kernel._cache._cache_file._load_index() for kernel in cached_kernels())
    except Exception:  # noqa: BLE001 - numba's cache internals changed: say nothing rather than fail a run
        return False


def announce_compiling(stream=None) -> bool:
    """Print `NOTE` once per process when the kernels are cold; returns whether it printed."""
    global _announced
    if _announced or not kernels_cold():
        return False
    _announced = True
    print(NOTE, file=stream or sys.stderr, flush=True)
    return True
