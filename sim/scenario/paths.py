"""Where shipped files are: one rule for every command and the Python API.

A relative path is read from the current folder when it exists there, else
from the project (the folder holding ``scenarios/``), so
``attention-market sweep scenarios/sweeps/grid_attention_pages.yaml`` typed
in any folder finds the shipped file, as a plain run and ``viz`` do. A path
that exists as given always wins.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
SCENARIO_DIR = PROJECT_ROOT / "scenarios"
DEFAULT_SCENARIO = SCENARIO_DIR / "duel.yaml"

__all__ = ["DEFAULT_SCENARIO", "PROJECT_ROOT", "SCENARIO_DIR", "find_shipped", "shown_path"]


def find_shipped(path: str | os.PathLike) -> Path:
    """The file a user means: as given if it exists (or is absolute), else the project's, else as given."""
    given = Path(path)
    if given.is_absolute() or given.exists() or given.is_symlink():
        return given
    shipped = PROJECT_ROOT / given
    return shipped if shipped.exists() else given


def shown_path(path: str | os.PathLike) -> str:
    """A path relative to the current folder when it lies inside it, else absolute (for messages)."""
    try:
        inside = Path(path).resolve().is_relative_to(Path.cwd())
        return Path(os.path.relpath(path)).as_posix() if inside else str(path)
    except (OSError, ValueError):
        return str(path)
