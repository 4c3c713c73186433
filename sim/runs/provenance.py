"""Provenance: what produced a result, so a reviewer can reproduce it.

Package versions, the git revision (and whether the tree had uncommitted
changes), the command line, the machine and timestamps.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

PACKAGES = ("mesa", "numpy", "scipy", "pandas", "pyarrow", "matplotlib", "pydantic", "PyYAML", "SALib", "dask")
REPO_ROOT = Path(__file__).resolve().parent.parent


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def package_versions() -> dict[str, str | None]:
    """Versions of Python and of the packages a result depends on."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def git_state() -> dict[str, object]:
    """The code's git revision and whether the working tree was dirty."""
    revision = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"git_revision": revision, "git_dirty": None if status is None else bool(status)}


def base_metadata() -> dict[str, object]:
    """The provenance every result carries."""
    return {
        "command_line": [Path(sys.argv[0]).name, *sys.argv[1:]],
        "python_executable": sys.executable,
        "platform": platform.platform(),
        "packages": package_versions(),
        **git_state(),
    }
