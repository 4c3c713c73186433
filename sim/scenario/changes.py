"""What a run changed in its scenario file (``--set``, or the API's ``overrides``), and the folder name that shows it.

A run of ``scenarios/duel.yaml --set attention_mean=10`` is not the duel:
its report must say so at the top, and its results folder must not look
like the duel's. `load_scenario` records each override on the `Scenario`
(`record_changes`); `scenario_changes` reads them back, with the value the
file had; `folder_name` is ``duel+attention_mean=10`` (or, past
`MAX_NAME_CHARS`, ``duel+3_overrides``). Run settings (seed, replications,
name, description) are not changes of the world and are left out. A
scenario built any other way (a ``config.yaml``, a dict) has no changes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RUN_SETTINGS = ("name", "description", "seed", "replications")
MAX_NAME_CHARS = 80  # a folder name a person can still read
UNKNOWN = object()  # the file's value, when the file alone does not validate

__all__ = ["Change", "Changes", "folder_name", "lookup", "record_changes", "scenario_changes"]


@dataclass(frozen=True)
class Change:
    """One override: the dotted key as typed, the value the run used, the value the file gave (or UNKNOWN)."""

    key: str
    value: Any
    before: Any = UNKNOWN

    def text(self) -> str:
        """'attention_mean = 10 (the file: 30)'."""
        before = "" if self.before is UNKNOWN else f" (the file: {show(self.before)})"
        return f"{self.key} = {show(self.value)}{before}"


@dataclass(frozen=True)
class Changes:
    """The overrides of one scenario and the file they were applied to."""

    source: str | None = None
    items: tuple[Change, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.items)


def show(value: Any) -> str:
    """A value as YAML would print it on one line (JSON is YAML); 10.0 as 10."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return value if isinstance(value, str) else json.dumps(value)


def lookup(resolved: dict[str, Any], key: str) -> Any:
    """The value at a dotted key of a resolved scenario (``firms.NAME.field`` selects the firm by name)."""
    parts = key.split(".")
    node: Any = resolved
    if parts[0] == "firms" and len(parts) > 2:
        node = next((f for f in resolved.get("firms", []) if f.get("name") == parts[1]), None)
        parts = parts[2:]
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return UNKNOWN
        node = node[part]
    return node


def record_changes(scenario, source: str, keys: list[str], before=None):
    """Attach the overrides ``keys`` (dotted, as typed) to ``scenario``; ``before``: the file's own scenario."""
    resolved = scenario.resolved_dict()
    old = before.resolved_dict() if before is not None else {}
    items = []
    for key in dict.fromkeys(keys):  # in order, once each
        if key.split(".")[0] in RUN_SETTINGS:
            continue
        items.append(Change(key, lookup(resolved, key), lookup(old, key) if before is not None else UNKNOWN))
    scenario._changes = Changes(_project_relative(source), tuple(items))
    return scenario


def _project_relative(source: str) -> str:
    """A shipped file as ``scenarios/duel.yaml`` wherever it was read from; other files as given."""
    from sim.scenario.paths import PROJECT_ROOT

    try:
        return Path(source).resolve().relative_to(PROJECT_ROOT).as_posix()
    except (OSError, ValueError):
        return source


def scenario_changes(scenario) -> Changes:
    """The overrides recorded on ``scenario`` (none for a scenario not loaded with overrides)."""
    return getattr(scenario, "_changes", None) or Changes()


def folder_name(scenario) -> str:
    """The results folder's name for ``scenario``: its name, then ``+KEY=VALUE`` for each override."""
    changes = scenario_changes(scenario)
    if not changes:
        return scenario.name
    text = scenario.name + "".join(f"+{c.key}={_plain(c.value)}" for c in changes.items)
    if len(text) <= MAX_NAME_CHARS:
        return text
    n = len(changes.items)
    return f"{scenario.name}+{n}_override{'s' if n > 1 else ''}"


def _plain(value: Any) -> str:
    """A value fit for a folder name: no '/', no spaces, no control characters."""
    text = show(value)
    return "".join(c if c.isprintable() and c not in '/\\ "' else "_" for c in text)
