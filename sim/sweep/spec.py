"""The sweep file: schema, validation against the model's parameters, fingerprint.

A sweep file names a base scenario, overrides, a method, the parameters to
vary (dotted keys, as in ``--set``) and the outputs to record. `load_sweep`
checks every key and range against the model before anything runs; every
problem is one `SweepError` line naming the file, the key and what is
allowed. A `Sweep` is the resolved form: the base configuration is spelled
out, sample sizes are the ones actually used. Its `fingerprint` guards a
results folder: a changed sweep is never mixed into old results.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sim.scenario import ModelConfig, ScenarioError, apply_overrides, load_scenario, validate_config
from sim.scenario.schema import Count, Real
from sim.scenario.io import load_yaml_file
from sim.jobs.models import RUN_SETTINGS, MarketSweepModel, ParameterInfo

METHODS = ("sobol", "morris", "grid", "lhs")
_STRICT = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)


class SweepError(ValueError):
    """A bad sweep input, reported as one line: ``source: key: problem``."""


class ParameterSpec(BaseModel):
    """How one parameter varies: bounds (sobol, morris, lhs) or values (grid)."""

    model_config = _STRICT
    bounds: list[Real] | None = Field(None, min_length=2, max_length=2, description="[low, high]")
    values: list[Any] | None = Field(None, min_length=1, description="grid values")


class SweepFile(BaseModel):
    """The keys of a sweep file, as written."""

    model_config = _STRICT
    name: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$", max_length=200, description="sweep name")
    description: str = Field("", description="free text: the question the sweep asks")
    scenario: str | None = Field(None, description="base scenario file, absolute or relative to the current folder")
    overrides: dict[str, Any] = Field(default_factory=dict, description="dotted keys set on the base scenario")
    method: Literal["sobol", "morris", "grid", "lhs"] = Field(description="how points are chosen")
    samples: Count | None = Field(None, ge=1, le=10_000_000, description="sobol: base N; morris: trajectories; lhs: points")
    replications: Count = Field(1, ge=1, le=10_000, description="runs per design point, different seeds")
    seed: Count = Field(0, ge=0, le=2**63 - 1, description="seed of the design and of every run")
    parameters: dict[str, ParameterSpec] = Field(min_length=1, description="dotted key -> bounds or values")
    outputs: list[str] = Field(min_length=1, description="outputs recorded for every run")
    second_order: bool = Field(False, description="sobol: also second-order indices S2")
    levels: Count = Field(4, ge=2, le=1000, description="morris: grid levels (even)")
    resamples: Count = Field(1000, ge=10, le=100_000, description="bootstrap resamples of the confidence intervals")
    conf_level: Real = Field(0.95, gt=0.0, lt=1.0, description="level of the confidence intervals")
    base: dict[str, Any] | None = Field(None, description="resolved base configuration (written in OUT/sweep.yaml)")


@dataclass(frozen=True)
class Parameter:
    """A varied parameter: its key, what it admits, and its bounds or grid values."""

    key: str
    info: ParameterInfo
    bounds: tuple[float, float] | None = None
    values: tuple | None = None

    def applied(self, x: Any) -> Any:
        """The value a run uses for a design value: integers are rounded."""
        if self.info.kind == "int":
            return int(round(float(x)))
        if self.info.kind == "float":
            return float(x)
        return x

    def as_dict(self) -> dict[str, list]:
        return {"bounds": list(self.bounds)} if self.bounds is not None else {"values": list(self.values)}


@dataclass
class Sweep:
    """A validated sweep, every setting resolved."""

    name: str
    method: str
    samples: int | None
    replications: int
    seed: int
    parameters: list[Parameter]
    outputs: list[str]
    description: str = ""
    second_order: bool = False
    levels: int = 4
    resamples: int = 1000
    conf_level: float = 0.95
    scenario: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    base: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    source: str = ""

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.parameters]

    def resolved_dict(self) -> dict[str, Any]:
        """The sweep as OUT/sweep.yaml stores it; loadable again as a sweep file."""
        return {
            "name": self.name,
            "description": self.description,
            "scenario": self.scenario,
            "overrides": self.overrides,
            "method": self.method,
            "samples": self.samples,
            "replications": self.replications,
            "seed": self.seed,
            "parameters": {p.key: p.as_dict() for p in self.parameters},
            "outputs": list(self.outputs),
            "second_order": self.second_order,
            "levels": self.levels,
            "resamples": self.resamples,
            "conf_level": self.conf_level,
            "base": self.base,
        }

    def fingerprint(self) -> str:
        """Hash of everything that changes the runs or their analysis (not description, not the path)."""
        return hashlib.sha256(_canonical(fingerprinted(self.resolved_dict())).encode()).hexdigest()[:16]


def fingerprinted(resolved: dict[str, Any]) -> dict[str, Any]:
    """The part of a resolved sweep that the fingerprint covers."""
    return {k: v for k, v in resolved.items() if k not in ("description", "scenario")}


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, default=str)


def first_difference(old: Any, new: Any, path: str = "") -> str | None:
    """The first dotted key where two resolved sweeps differ, with both values."""
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
    if _canonical(old) != _canonical(new):
        return f"{path}: {_short(old)} stored, {_short(new)} now"
    return None


def _short(value: Any, limit: int = 50) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------
# Loading and resolving
# --------------------------------------------------------------------------


def read_sweep_file(path: str | Path) -> dict[str, Any]:
    """The sweep file's YAML mapping; a missing, non-regular, non-UTF-8 or hostile file is one line."""
    path = Path(path)
    raw = load_yaml_file(path, SweepError)
    if raw is None:
        raise SweepError(f"{path}: the file is empty; see docs/sweeps.md for the keys of a sweep file")
    if not isinstance(raw, dict):
        raise SweepError(f"{path}: the top level must be a mapping of keys to values")
    return {"name": path.stem, **raw}


def load_sweep(path: str | Path, model: Any = None) -> tuple[Sweep, Any]:
    """Read, validate and resolve a sweep file; returns the sweep and its model."""
    return sweep_from_dict(read_sweep_file(path), str(path), model)


def sweep_from_dict(raw: dict[str, Any], source: str, model: Any = None) -> tuple[Sweep, Any]:
    """Validate a sweep mapping against the model (the attention market unless given)."""
    try:
        spec: SweepFile = validate_config(raw, source, cls=SweepFile)
    except ScenarioError as err:
        raise SweepError(str(err)) from None
    base, scenario = None, spec.scenario
    if model is None:
        base, scenario = _market_base(spec, source)
        model = MarketSweepModel(base)
    parameters = [_parameter(key, p, spec.method, model, source) for key, p in spec.parameters.items()]
    _check_outputs(spec.outputs, model, source)
    samples, levels, notes = _sizes(spec, source)
    sweep = Sweep(
        name=spec.name, description=spec.description, method=spec.method, samples=samples,
        replications=spec.replications, seed=spec.seed, parameters=parameters, outputs=list(spec.outputs),
        second_order=spec.second_order and spec.method == "sobol", levels=levels, resamples=spec.resamples,
        conf_level=spec.conf_level, scenario=scenario, overrides=dict(spec.overrides), base=base,
        notes=notes, source=source,
    )  # fmt: skip
    return sweep, model


def _market_base(spec: SweepFile, source: str) -> tuple[dict[str, Any], str | None]:
    """The base configuration: the scenario file (or a stored base) with the overrides applied."""
    scenario = spec.scenario
    if spec.base is not None:
        raw, where = dict(spec.base), f"{source}: base"
    elif scenario is None:
        raise SweepError(f"{source}: scenario: missing; name the base scenario file, e.g. scenario: scenarios/duel.yaml")
    else:
        from sim.commandline import find_scenario

        path = find_scenario(scenario)  # as given, else a shipped scenario of the project
        try:
            loaded = load_scenario(path)
        except ScenarioError as err:
            hint = f" (relative paths are read from the current folder, {Path.cwd()})" if not path.is_absolute() else ""
            raise SweepError(f"{source}: scenario: {err}{hint}") from None
        raw, where, scenario = loaded.model_kwargs(), f"{source}: overrides", str(path.resolve())
    for key in spec.overrides:
        if key in RUN_SETTINGS:
            raise SweepError(f"{source}: overrides.{key}: a run setting, not a model parameter; "
                             "the sweep's own seed: and replications: apply")  # fmt: skip
    try:
        raw = apply_overrides(raw, [f"{k}={json.dumps(v)}" for k, v in spec.overrides.items()], f"{source}: overrides")
        config = validate_config(raw, where, cls=ModelConfig)
    except ScenarioError as err:
        raise SweepError(str(err)) from None
    return config.model_dump(mode="json"), scenario


def _parameter(key: str, spec: ParameterSpec, method: str, model: Any, source: str) -> Parameter:
    where = f"{source}: parameters.{key}"
    try:
        info = model.parameter(key)
    except KeyError as err:
        message = err.args[0] if err.args else "unknown parameter"
        close = difflib.get_close_matches(key, model.parameter_names(), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close and message == "unknown parameter" else ""
        raise SweepError(f"{where}: {message}{hint}") from None
    if spec.bounds is not None and spec.values is not None:
        raise SweepError(f"{where}: give bounds or values, not both")
    if method == "grid":
        if spec.values is None:
            raise SweepError(f"{where}: a grid sweep takes values: [v1, v2, ...], not bounds")
        values = tuple(_grid_value(v, info, where) for v in spec.values)
        if len(set(values)) != len(values):
            raise SweepError(f"{where}: values: each value once (got {list(spec.values)})")
        return Parameter(key, info, values=values)
    if spec.bounds is None:
        raise SweepError(f"{where}: a {method} sweep takes bounds: [low, high]; values: lists are for grid sweeps")
    if info.kind == "category":
        raise SweepError(f"{where}: a choice ({info.allowed()}) has no bounds; vary it in a grid sweep with values:")
    low, high = spec.bounds
    if not low < high:
        raise SweepError(f"{where}: bounds: low must be below high (got {[low, high]})")
    if info.kind == "int" and not (float(low).is_integer() and float(high).is_integer()):
        raise SweepError(f"{where}: bounds: an integer parameter takes integer bounds (got {[low, high]})")
    if not (info.admits(low) and info.admits(high)):
        raise SweepError(f"{where}: bounds: must lie in the allowed range, {info.allowed()} (got {[low, high]})")
    return Parameter(key, info, bounds=(float(low), float(high)))


def _grid_value(value: Any, info: ParameterInfo, where: str) -> Any:
    if info.kind == "category":
        if value not in info.choices:
            raise SweepError(f"{where}: values: {value!r} is not allowed; must be {info.allowed()}")
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SweepError(f"{where}: values: {value!r} is not a number")
    if info.kind == "int":
        if not float(value).is_integer():
            raise SweepError(f"{where}: values: {value!r} is not an integer")
        value = int(value)
    else:
        value = float(value)
    if not info.admits(value):
        raise SweepError(f"{where}: values: {value!r} is outside the allowed range, {info.allowed()}")
    return value


def _check_outputs(outputs: list[str], model: Any, source: str) -> None:
    for name in outputs:
        problem = model.output_problem(name)
        if problem:
            raise SweepError(f"{source}: outputs: {name!r}: {problem}")
    if len(set(outputs)) != len(outputs):
        raise SweepError(f"{source}: outputs: each output once (got {outputs})")


def _sizes(spec: SweepFile, source: str) -> tuple[int | None, int, list[str]]:
    """Sample size and Morris levels as used, with a note for each adjustment."""
    notes: list[str] = []
    levels = spec.levels
    if spec.method == "grid":
        return None, levels, notes
    what = {"sobol": "base samples N", "morris": "trajectories", "lhs": "points"}[spec.method]
    if spec.samples is None:
        raise SweepError(f"{source}: samples: missing; a {spec.method} sweep needs samples: ({what})")
    samples = spec.samples
    if samples < 2:
        raise SweepError(f"{source}: samples: a {spec.method} sweep needs at least 2 {what} (got {samples})")
    if spec.method == "sobol" and samples & (samples - 1):
        rounded = 1 << (samples - 1).bit_length()
        notes.append(f"{source}: samples: Sobol' sampling needs a power of 2 (SALib warns otherwise); "
                     f"using {rounded} instead of {samples}")  # fmt: skip
        samples = rounded
    if spec.method == "morris" and levels % 2:
        notes.append(f"{source}: levels: Morris sampling needs an even number of levels (SALib warns that "
                     f"odd levels bias the sample); using {levels + 1} instead of {levels}")  # fmt: skip
        levels += 1
    if spec.second_order and spec.method != "sobol":
        notes.append(f"{source}: second_order: applies to sobol sweeps only; ignored")
    return samples, levels, notes
