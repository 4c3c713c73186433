"""The base of every job file (sweep, calibration, study): read, check, resolve the world, fingerprint.

A job file is a YAML mapping. `read_job_file` reads it (a missing, empty
or hostile file is one line); `resolve_base` turns its ``scenario:`` and
``overrides:`` (or the ``base:`` a results folder stores) into the
validated model configuration; `parameter_info`, `check_bounds` and
`choice_value` check a varied parameter against the model's schema, with
the same words in every job. `fingerprint` hashes the resolved job, and
`first_difference` says where a stored job and a new one differ, so a
results folder is never mixed with another job's results.

Every problem is raised as the caller's error class (a `JobError`), one
line ``source: key: problem``.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sim.jobs.errors import JobError
from sim.jobs.models import RUN_SETTINGS, ParameterInfo
from sim.scenario import ModelConfig, ScenarioError, apply_overrides, load_scenario, validate_config

STRICT = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)
NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$"  # a folder name: no '/', no leading '.' or '-'
FILE_DOCS = {"sweep": "docs/sweeps.md", "calibration": "docs/calibration.md", "study": "docs/study.md"}


class JobFile(BaseModel):
    """The keys every job file has: its name (its results folder's), the base world and its overrides."""

    model_config = STRICT
    name: str = Field(pattern=NAME_PATTERN, max_length=200, description="the job's name, and its results folder's")
    scenario: str | None = Field(None, description="base scenario file; a relative path not found here is "
                                 "looked up in the project")  # fmt: skip
    overrides: dict[str, Any] = Field(default_factory=dict, description="dotted keys set on the base scenario")
    base: dict[str, Any] | None = Field(None, description="resolved base configuration (written in OUT)")


@dataclass(kw_only=True)
class Job:
    """What every resolved job holds besides its own settings: name, prose, base world, where it came from."""

    name: str
    description: str = ""
    scenario: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    base: dict[str, Any] | None = None
    source: str = ""

    def header(self) -> dict[str, Any]:
        """The first keys of the resolved job as OUT stores it."""
        return {"name": self.name, "description": self.description, "scenario": self.scenario, "overrides": self.overrides}


@dataclass(frozen=True)
class Varied:
    """A parameter a job varies: its key, what it admits, and its bounds or listed values."""

    key: str
    info: ParameterInfo
    bounds: tuple[float, float] | None = None
    values: tuple | None = None

    def as_dict(self) -> dict[str, list]:
        return {"bounds": list(self.bounds)} if self.bounds is not None else {"values": list(self.values)}


def read_job_file(path: str | Path, error: type[JobError] = JobError, kind: str = "sweep") -> dict[str, Any]:
    """The job file's YAML mapping, with ``name`` defaulting to the file's stem.

    A missing, non-regular, non-UTF-8, empty or hostile file is one line,
    pointing an empty file to the documentation of its ``kind``.
    """
    from sim.scenario.io import load_yaml_file
    from sim.scenario.paths import find_shipped

    path = find_shipped(path)  # as given, else the project's shipped file (sim.scenario.paths)
    raw = load_yaml_file(path, error)
    if raw is None:
        raise error(f"{path}: the file is empty; see {FILE_DOCS[kind]} for the keys of a {kind} file")
    if not isinstance(raw, dict):
        raise error(f"{path}: the top level must be a mapping of keys to values")
    return {"name": path.stem, **raw}


def resolve_base(spec: JobFile, source: str, error: type[JobError] = JobError,
                 kind: str = "sweep") -> tuple[dict[str, Any], str | None]:  # fmt: skip
    """The base configuration: the scenario file (or a stored base) with the overrides applied.

    Returns it (validated, as JSON-able values) and the scenario file's
    absolute path (None for a stored base without one).
    """
    scenario, overrides, base = spec.scenario, spec.overrides, spec.base
    if base is not None:
        raw, where = dict(base), f"{source}: base"
    elif scenario is None:
        raise error(f"{source}: scenario: missing; name the base scenario file, e.g. scenario: scenarios/duel.yaml")
    else:
        from sim.scenario.paths import find_shipped

        path = find_shipped(scenario)  # as given, else a shipped scenario of the project
        try:
            loaded = load_scenario(path)
        except ScenarioError as err:
            hint = f" (relative paths are read from the current folder, {Path.cwd()})" if not path.is_absolute() else ""
            raise error(f"{source}: scenario: {err}{hint}") from None
        raw, where, scenario = loaded.model_kwargs(), f"{source}: overrides", str(path.resolve())
    for key in overrides:
        if key in RUN_SETTINGS:
            raise error(f"{source}: overrides.{key}: a run setting, not a model parameter; "
                        f"the {kind}'s own seed: and replications: apply")  # fmt: skip
    try:
        raw = apply_overrides(raw, [f"{k}={json.dumps(v)}" for k, v in overrides.items()], f"{source}: overrides")
        config = validate_config(raw, where, cls=ModelConfig)
    except ScenarioError as err:
        raise error(str(err)) from None
    return config.model_dump(mode="json"), scenario


def parameter_info(model: Any, key: str, where: str, error: type[JobError] = JobError, hint: str = "") -> ParameterInfo:
    """What the model admits for a varied parameter; an unknown key is one line with a "did you mean"."""
    try:
        return model.parameter(key)
    except KeyError as err:
        message = err.args[0] if err.args else "unknown parameter"
        close = difflib.get_close_matches(key, model.parameter_names(), n=1, cutoff=0.6)
        near = f"; did you mean {close[0]!r}?" if close and message == "unknown parameter" else ""
        raise error(f"{where}: {message}{near}{hint}") from None


def check_bounds(bounds: list[float], info: ParameterInfo, where: str, error: type[JobError] = JobError) -> tuple[float, float]:
    """Bounds [low, high] of a numeric parameter: ordered, integer for an integer parameter, in range.

    (A choice has no bounds; each job says in its own words what to do instead.)
    """
    low, high = bounds
    if not low < high:
        raise error(f"{where}: bounds: low must be below high (got {[low, high]})")
    if info.kind == "int" and not (float(low).is_integer() and float(high).is_integer()):
        raise error(f"{where}: bounds: an integer parameter takes integer bounds (got {[low, high]})")
    if not (info.admits(low) and info.admits(high)):
        raise error(f"{where}: bounds: must lie in the allowed range, {info.allowed()} (got {[low, high]})")
    return float(low), float(high)


def choice_value(value: Any, info: ParameterInfo, where: str, error: type[JobError] = JobError,
                 floats: bool = True) -> Any:  # fmt: skip
    """One listed value of a parameter (a grid value, a study's choice), as the model takes it.

    A number for a float parameter becomes a float unless ``floats`` is off
    (studies keep the number as written: it is part of their fingerprint).
    """
    if info.kind == "category":
        if value not in info.choices:
            raise error(f"{where}: values: {value!r} is not allowed; must be {info.allowed()}")
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise error(f"{where}: values: {value!r} is not a number")
    if info.kind == "int":
        if not float(value).is_integer():
            raise error(f"{where}: values: {value!r} is not an integer")
        value = int(value)
    elif floats:
        value = float(value)
    if not info.admits(value):
        raise error(f"{where}: values: {value!r} is outside the allowed range, {info.allowed()}")
    return value


def choice_values(values: list[Any], info: ParameterInfo, where: str, error: type[JobError] = JobError,
                  floats: bool = True) -> tuple:  # fmt: skip
    """Listed values, each checked by `choice_value` and each once."""
    checked = tuple(choice_value(v, info, where, error, floats) for v in values)
    if len(set(checked)) != len(checked):
        raise error(f"{where}: values: each value once (got {list(values)})")
    return checked


def canonical(data: Any) -> str:
    """The JSON text a fingerprint hashes: sorted keys, anything else as its string."""
    return json.dumps(data, sort_keys=True, default=str)


def fingerprint(data: Any) -> str:
    """A 16-hex-digit hash of `canonical` data."""
    return hashlib.sha256(canonical(data).encode()).hexdigest()[:16]


def first_difference(old: Any, new: Any, path: str = "") -> str | None:
    """The first dotted key where two resolved jobs differ, with both values."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*new, *(k for k in old if k not in new)]:
            found = first_difference(old.get(key), new.get(key), f"{path}.{key}" if path else str(key))
            if found:
                return found
        return None
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for k, (a, b) in enumerate(zip(old, new)):
            found = first_difference(a, b, f"{path}[{k}]")
            if found:
                return found
        return None
    if canonical(old) != canonical(new):
        return f"{path}: {_short(old)} stored, {_short(new)} now"
    return None


def _short(value: Any, limit: int = 50) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."
