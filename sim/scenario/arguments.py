"""Checks of the Python API's arguments: one `ScenarioError` line naming the call and the argument.

A wrong argument to `sim.load_scenario`, `sim.run_scenario`,
`sim.replication_seed` or `MarketModel.from_scenario` must not surface as
numpy's "expected non-negative integer" or pathlib's "expected str, bytes
or os.PathLike object": the message says which call, which argument, what
is allowed and what it got, as the command line's one-line errors do. A
seed is what a scenario file's ``seed:`` accepts (a whole number >= 0), so
every entry point takes and refuses the same values.
"""

from __future__ import annotations

import numbers
import os
from pathlib import Path
from typing import Any

from sim.scenario.errors import show_value
from sim.scenario.schema import ScenarioError

__all__ = ["check_count", "check_path", "check_seed"]


def _got(value: Any) -> str:
    """'7' (str), 123 (int): the value and, where its type is the mistake, the type."""
    return f"{show_value(value)} ({type(value).__name__})"


def check_seed(seed: Any, where: str) -> int:
    """``seed`` as an int if it is a whole number >= 0 (3.0 and numpy integers too); else ScenarioError.

    ``where`` names the call and argument, e.g. ``"MarketModel.from_scenario: seed"``.
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Real):
        raise ScenarioError(f"{where}: must be a whole number >= 0 (got {_got(seed)})")
    if isinstance(seed, numbers.Integral):
        value = int(seed)
    elif float(seed).is_integer():
        value = int(seed)
    else:
        raise ScenarioError(f"{where}: must be a whole number >= 0 (got {_got(seed)})")
    if value < 0:
        raise ScenarioError(f"{where}: must be a whole number >= 0 (got {value})")
    return value


def check_count(value: Any, where: str, least: int = 0) -> int:
    """A whole number >= ``least`` (bools refused), as an int; else ScenarioError naming ``where``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ScenarioError(f"{where}: must be a whole number of at least {least} (got {_got(value)})")
    if int(value) < least:
        raise ScenarioError(f"{where}: must be a whole number of at least {least} (got {int(value)})")
    return int(value)


def check_path(path: Any, where: str) -> Path:
    """``path`` as a Path if it is a str or os.PathLike naming a file path; else ScenarioError naming ``where``.

    Refused: other types (bytes, numbers, lists, dicts), an empty string, and NUL characters.
    """
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if not isinstance(path, str):
        raise ScenarioError(f"{where}: must be a file path, a str or pathlib.Path (got {_got(path)})")
    if not path.strip():
        raise ScenarioError(f"{where}: must be a file path, not an empty string")
    if "\0" in path:
        raise ScenarioError(f"{where}: must not contain a NUL character (got {show_value(path)})")
    return Path(path)
