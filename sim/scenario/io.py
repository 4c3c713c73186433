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
import os
import re
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from sim.scenario.schema import DEFAULT_FIRMS, Scenario, ScenarioError
from sim.scenario.changes import record_changes
from sim.scenario.errors import _format_path, _show, _validate

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_YAML_DEPTH",
    "MAX_YAML_NODES",
    "YAMLTooComplex",
    "apply_overrides",
    "load_scenario",
    "load_yaml_file",
    "parse_yaml",
    "read_text_file",
    "yaml_problem",
]

# Limits far above any hand-written scenario or sweep file, far below what harms the machine.
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_YAML_DEPTH = 100  # nesting of lists and mappings
MAX_YAML_NODES = 1_000_000  # values after expanding aliases (an "alias bomb" expands exponentially)


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


class YAMLTooComplex(yaml.YAMLError):
    """A YAML document nested too deeply or expanding to too many values through aliases."""

    def __init__(self, problem: str, mark: Any = None):
        super().__init__(problem)
        self.problem, self.problem_mark = problem, mark


def parse_yaml(text: str) -> Any:
    """Safe-load one YAML document, refusing hostile structure before building it.

    Deep nesting and alias bombs (``a: &a [*b, *b, ...]``) raise YAMLTooComplex
    instead of a RecursionError or an exponential expansion later on (when the
    value is validated, copied, printed or hashed).
    """
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise YAMLTooComplex(f"nested too deeply (more than {MAX_YAML_DEPTH} levels)") from None
        if node is None:
            return None
        _check_structure(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _check_structure(root: yaml.Node) -> None:
    """Refuse nesting deeper than MAX_YAML_DEPTH and more than MAX_YAML_NODES values once aliases expand.

    Iterative, so the check itself cannot overflow the stack; each node's
    expanded size is computed once (aliases share nodes), so it runs in time
    linear in the document.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = 1
            continue
        children = [c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode) else node.value
        if done:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[key] > MAX_YAML_NODES:
                raise YAMLTooComplex(
                    f"expands to more than {MAX_YAML_NODES:,} values through aliases (*name); "
                    "write the values out instead",
                    node.start_mark,
                )
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise YAMLTooComplex("an alias (*name) refers to a value that contains it", node.start_mark)
        if depth > MAX_YAML_DEPTH:
            raise YAMLTooComplex(f"nested too deeply (more than {MAX_YAML_DEPTH} levels)", node.start_mark)
        on_path.add(key)
        stack.append((node, depth, True))
        stack.extend((c, depth + 1, False) for c in children if id(c) not in sizes)


def read_text_file(path: str | Path, error: type[Exception] = ScenarioError, what: str = "file") -> str:
    """The UTF-8 text of a regular file, or one line (``error``) naming the file and the problem.

    Refuses, before opening, what is not a regular file: opening a FIFO
    blocks until someone writes to it, a device may never end. Also refuses
    files over MAX_FILE_BYTES and text that is not UTF-8 (naming the byte).
    """
    source = str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise error(f"{source}: {what} not found") from None
    except OSError as exc:
        raise error(f"{source}: cannot read {what}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise error(f"{source}: is a directory, not a {what}") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(info.st_mode) else (
            "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else (
                "a socket" if stat.S_ISSOCK(info.st_mode) else "not a regular file"))  # fmt: skip
        raise error(f"{source}: is {kind}, not a regular {what}; give the path of a YAML file")
    if info.st_size > MAX_FILE_BYTES:
        raise error(f"{source}: {info.st_size:,} bytes, too large for a {what} (at most {MAX_FILE_BYTES:,})")
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise error(f"{source}: cannot read {what}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise error(
            f"{source}: line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save the file as UTF-8"
        ) from None


def load_yaml_file(path: str | Path, error: type[Exception] = ScenarioError, what: str = "file") -> Any:
    """Read and safe-parse a YAML file with every guard of read_text_file and parse_yaml; problems: one line."""
    text = read_text_file(path, error, what)
    try:
        return parse_yaml(text)
    except yaml.YAMLError as exc:
        raise error(f"{path}: {yaml_problem(exc)}") from None


def yaml_problem(exc: yaml.YAMLError) -> str:
    """'line 3, column 7: <problem>' from a PyYAML error, one line."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or str(exc)
    problem = " ".join(str(problem).split())
    label = "YAML refused" if isinstance(exc, YAMLTooComplex) else "malformed YAML"
    if mark is None:
        return f"{label}: {problem}"
    return f"line {mark.line + 1}, column {mark.column + 1}: {label}: {problem}"


_SWEEP_KEYS = {"method", "parameters"}


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
    text = read_text_file(path)
    try:
        raw = parse_yaml(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{source}: {yaml_problem(exc)}") from None
    if raw is None:
        raise ScenarioError(
            f"{source}: the file is empty (no keys, or only comments); give at least a name, "
            "e.g. 'name: my_world' (write '{}' to run every default)"
        )
    if not isinstance(raw, dict):
        kind = "a list" if isinstance(raw, list) else f"a {type(raw).__name__}"
        raise ScenarioError(
            f"{source}: the top level must be a mapping of keys to values, not {kind} (got {_show(raw)})"
        )
    if cls is Scenario and _SWEEP_KEYS <= set(raw):
        raise ScenarioError(
            f"{source}: this is a sweep file (it has {', '.join(sorted(_SWEEP_KEYS))}), not a scenario; "
            f"run it with: python run.py sweep {source}"
        )
    if "name" not in raw and "name" in cls.model_fields:
        raw = {"name": path.stem, **raw}
    base = raw
    raw, overridden = _apply_overrides(raw, overrides, "--set")
    scenario = _validate(raw, source, cls, overridden)
    if overridden and isinstance(scenario, Scenario):
        try:
            before = _validate(base, source, cls, None)
        except ScenarioError:  # the file needs its overrides to be valid: its own values stay unknown
            before = None
        record_changes(scenario, source, list(overridden.values()), before)
    return scenario


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
    locations: list[tuple] = []
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
        locations.append(loc)
    _drop_replaced_forms(result, locations)
    return result, overridden


def _drop_replaced_forms(result: dict, locations: list[tuple]) -> None:
    """An override that gives a firm's ads or budget in one form (absolute or per capita) replaces the other form
    the firm had (from its file or its resolved preset); both forms given by overrides stay an error."""
    from sim.scenario.schema import PER_CAPITA

    pairs = {**PER_CAPITA, **{absolute: per_capita for per_capita, absolute in PER_CAPITA.items()}}
    given = {tuple(loc) for loc in locations}
    for loc in given:
        if len(loc) != 3 or loc[0] != "firms" or loc[2] not in pairs or ("firms", loc[1], pairs[loc[2]]) in given:
            continue
        firm = result["firms"][loc[1]]
        if isinstance(firm, dict):
            firm.pop(pairs[loc[2]], None)


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
