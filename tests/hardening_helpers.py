"""Shared pieces of the hardening tests: run the command line as a user does, tiny worlds, drivers.

Every hardening case is checked from the command line: ``python run.py ...``
in a subprocess with PYTHONPATH at this checkout, from a scratch folder.
Faults that cannot be produced on demand (a full disk at the final write, a
SIGTERM exactly while writing) use a small driver script that patches one
writer and then calls the same entry point, ``sim.cli.main``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
RUN_PY = REPO / "run.py"

TINY = {
    "name": "tiny",
    "seed": 5,
    "replications": 2,
    "width": 14,
    "height": 10,
    "steps": 30,
    "home_radius": 2,
    "firms": [
        {"name": "broadcast", "preset": "broadcast", "ads_per_day": 30, "budget": 6.3},
        {"name": "dialogue", "preset": "dialogue", "budget": 3},
    ],
}


def env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell, with this checkout on PYTHONPATH."""
    out = {**os.environ, "PYTHONPATH": str(REPO), **extra}
    out.pop("PYTEST_CURRENT_TEST", None)
    return out


def run_py(args, cwd: Path, timeout: float = 180, **kwargs) -> subprocess.CompletedProcess:
    """``python run.py ARGS`` in ``cwd``; returns the finished process (text stdout and stderr)."""
    return subprocess.run(
        [sys.executable, str(RUN_PY), *map(str, args)], cwd=cwd, capture_output=True, text=True,
        timeout=timeout, env=kwargs.pop("env", env()), **kwargs,
    )  # fmt: skip


def start_py(args, cwd: Path, script: Path | None = None, **kwargs) -> subprocess.Popen:
    """Start ``python run.py ARGS`` (or ``python SCRIPT ARGS``) without waiting."""
    return subprocess.Popen(
        [sys.executable, str(script or RUN_PY), *map(str, args)], cwd=cwd, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=kwargs.pop("env", env()), **kwargs,
    )  # fmt: skip


def write_yaml(path: Path, data) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def tiny(tmp_path: Path, **changes) -> Path:
    return write_yaml(tmp_path / "tiny.yaml", {**TINY, **changes})


def driver(tmp_path: Path, patch: str) -> Path:
    """A script that runs ``patch`` (Python, may use `sim`) and then ``sim.cli.main(sys.argv[1:])``."""
    path = tmp_path / "driver.py"
    path.write_text(
        "import sys\n" + textwrap.dedent(patch)
        + "\nif __name__ == '__main__':  # worker processes re-import this file\n"
        + "    from sim.cli import main\n    sys.exit(main(sys.argv[1:]))\n"
    )
    return path


def error_lines(proc: subprocess.CompletedProcess) -> list[str]:
    """stderr's lines; asserts there is no traceback."""
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return [line for line in proc.stderr.strip().splitlines() if line.strip()]


def leftovers(folder: Path) -> list[str]:
    """Hidden partial folders, probes and lock files a run left in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and (
        ".partial" in p.name or p.name.endswith(".lock") or ".probe" in p.name))  # fmt: skip
