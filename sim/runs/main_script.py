"""Let a plain script without ``if __name__ == "__main__":`` start worker processes.

Python's "spawn" start method (used by the replication pool and by Dask's
nanny) makes each new worker re-run the parent's main script, so that
functions defined there can be unpickled. A script that calls
`sim.run_scenario` or `sim.run_sweep` at top level then calls them again in
every worker, which fails (``BrokenProcessPool``, "Nanny failed to start").
Our workers only run functions of the installed ``sim`` package, which they
import by name, so they never need the script: `workers_skip_main_script`
hides the script from the workers while they start, as joblib's loky does
and as a notebook (which has no script) always is. Inside the block the
``__main__`` module has no ``__file__`` and no ``__spec__``; both come back
after it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

_HIDDEN = ("__file__", "__spec__")


@contextmanager
def workers_skip_main_script() -> Iterator[None]:
    """Within the block, worker processes started by multiprocessing (spawn, forkserver) do not re-run ``__main__``."""
    main = sys.modules.get("__main__")
    if main is None or getattr(main, "__file__", None) is None and getattr(main, "__spec__", None) is None:
        yield  # a notebook or the interactive prompt: nothing to hide
        return
    saved = {key: main.__dict__[key] for key in _HIDDEN if key in main.__dict__}
    main.__dict__.pop("__file__", None)
    main.__spec__ = None  # multiprocessing reads main.__spec__.name, then main.__file__
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)
