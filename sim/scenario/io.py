"""Reading scenario files: YAML parsing and dotted ``KEY=VALUE`` overrides.

`load_scenario` reads a YAML file, applies `--set` overrides and validates the
result against the schema of `sim.scenario`; `apply_overrides` does the
override step alone. Kept apart from the schema so the file format and the
command-line override syntax can change without touching the parameter
definitions. Every bad file, YAML error or malformed override becomes a
one-line `ScenarioError`; validation messages come from `sim.scenario.errors`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from sim.scenario.schema import DEFAULT_FIRMS, Scenario, ScenarioError
from sim.scenario.errors import _format_path, _show, _validate

__all__ = ["apply_overrides", "load_scenario", "parse_yaml", "yaml_problem"]


# --------------------------------------------------------------------------
# YAML
# --------------------------------------------------------------------------


_SPECIAL_KEYS = ("tag:yaml.org,2002:merge", "tag:yaml.org,2002:value")


class _Loader(yaml.SafeLoader):
    """safe_load that also reads 1e-3 as a float (YAML 1.1 wants 1.0e-3) and rejects duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag in _SPECIAL_KEYS:
                continue
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def parse_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader


def yaml_problem(exc: yaml.YAMLError) -> str:
    """'line 3, column 7: <problem>' from a PyYAML error, one line."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or str(exc)
    problem = " ".join(str(problem).split())
    if mark is None:
        return f"malformed YAML: {problem}"
    return f"line {mark.line + 1}, column {mark.column + 1}: malformed YAML: {problem}"


def load_scenario(
    path: str | Path,
    overrides: Iterable[str] = (),
    cls: type[BaseModel] = Scenario,
) -> Any:
    """Read a scenario YAML file, apply ``KEY=VALUE`` overrides and validate.

    A file without a ``name`` takes its file stem as name.
    """
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{source}: file not found") from None
    except IsADirectoryError:
        raise ScenarioError(f"{source}: is a directory, not a scenario file") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or " ".join(str(exc).split())
        raise ScenarioError(f"{source}: cannot read file: {reason}") from None
    try:
        raw = parse_yaml(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{source}: {yaml_problem(exc)}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        kind = "a list" if isinstance(raw, list) else f"a {type(raw).__name__}"
        raise ScenarioError(
            f"{source}: the top level must be a mapping of keys to values, not {kind} (got {_show(raw)})"
        )
    if "name" not in raw and "name" in cls.model_fields:
        raw = {"name": path.stem, **raw}
    raw, overridden = _apply_overrides(raw, overrides, "--set")
    return _validate(raw, source, cls, overridden)


# --------------------------------------------------------------------------
# Overrides
# --------------------------------------------------------------------------


def apply_overrides(raw: dict, overrides: Iterable[str], source: str = "--set") -> dict:
    """Return a copy of ``raw`` with each ``KEY=VALUE`` applied (VALUE read as YAML).

    ``a=1`` sets a top-level key; ``firms.NAME.field=v`` sets a field of the
    firm called NAME (the two default firms are put in first when ``raw`` has
    no ``firms``). Keys are not checked here: validation does that.
    """
    return _apply_overrides(raw, overrides, source)[0]


def _apply_overrides(
    raw: Mapping[str, Any], overrides: Iterable[str], source: str
) -> tuple[dict, dict[str, str]]:
    """apply_overrides, also returning {validation key path: override key} for error messages."""
    if isinstance(overrides, str):  # a lone string would otherwise be split into characters
        overrides = [overrides]
    result = copy.deepcopy(dict(raw))
    overridden: dict[str, str] = {}
    for item in overrides:
        if not isinstance(item, str) or "=" not in item:
            raise ScenarioError(f"{source} {_show(item)}: malformed override; expected KEY=VALUE")
        key, _, text = item.partition("=")
        key = key.strip()
        parts = key.split(".")
        if not key or any(not p.strip() or p != p.strip() for p in parts):
            raise ScenarioError(
                f"{source} {_show(item)}: malformed override key; expected KEY=VALUE with KEY "
                "like attention_mean or firms.NAME.field"
            )
        try:
            value = parse_yaml(text) if text.strip() else None
        except yaml.YAMLError as exc:
            problem = yaml_problem(exc)
            raise ScenarioError(f"{source} {key}: value {text!r} is not valid YAML: {problem}") from None
        loc = _set_dotted(result, parts, value, f"{source} {key}")
        overridden[_format_path(loc)] = key
    return result, overridden


def _set_dotted(target: dict, parts: list[str], value: Any, where: str) -> tuple:
    """Set ``value`` at the dotted ``parts`` of ``target``; return the location as validation sees it."""
    if parts[0] == "firms" and len(parts) > 1:
        firms = target.get("firms")
        if firms is None:
            firms = target["firms"] = copy.deepcopy(DEFAULT_FIRMS)
        if not isinstance(firms, list):
            raise ScenarioError(f"{where}: 'firms' is not a list of firms, cannot select a firm by name")
        name = parts[1]
        index = next(
            (k for k, f in enumerate(firms) if isinstance(f, dict) and f.get("name") == name), None
        )
        if index is None:
            names = ", ".join(repr(f.get("name")) for f in firms if isinstance(f, dict))
            raise ScenarioError(f"{where}: no firm named {name!r}; firms are {names or 'none'}")
        if len(parts) == 2:
            raise ScenarioError(
                f"{where}: name a field of the firm, e.g. firms.{name}.ads_per_day=0"
            )
        node: Any = firms[index]
        loc: list = ["firms", index]
        rest = parts[2:]
    else:
        node, loc, rest = target, [], parts
    for depth, part in enumerate(rest[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            shown = ".".join(rest[: depth + 1])
            raise ScenarioError(f"{where}: {shown!r} is a single value, it has no sub-keys")
        node = child
        loc.append(part)
    node[rest[-1]] = value
    loc.append(rest[-1])
    return tuple(loc)
