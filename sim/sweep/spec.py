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

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from sim.jobs.models import MarketSweepModel
from sim.jobs.spec import (
    STRICT,
    Job,
    JobError,
    JobFile,
    Varied,
    check_bounds,
    choice_values,
    first_difference,
    fingerprint,
    parameter_info,
    read_job_file,
    resolve_base,
)
from sim.scenario import ScenarioError, validate_config
from sim.scenario.schema import Count, Real

__all__ = ["Parameter", "Sweep", "SweepError", "SweepFile", "first_difference", "fingerprinted", "load_sweep",
           "read_sweep_file", "sweep_from_dict"]  # fmt: skip
METHODS = ("sobol", "morris", "grid", "lhs")


class SweepError(JobError):
    """A bad sweep input, reported as one line: ``source: key: problem``."""


class ParameterSpec(BaseModel):
    """How one parameter varies: bounds (sobol, morris, lhs) or values (grid)."""

    model_config = STRICT
    bounds: list[Real] | None = Field(None, min_length=2, max_length=2, description="[low, high]")
    values: list[Any] | None = Field(None, min_length=1, description="grid values")


class SweepFile(JobFile):
    """The keys of a sweep file, as written (name, scenario, overrides and base: see `JobFile`)."""

    description: str = Field("", description="free text: the question the sweep asks")
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


@dataclass(frozen=True)
class Parameter(Varied):
    """A varied parameter: its key, what it admits, and its bounds or grid values."""

    def applied(self, x: Any) -> Any:
        """The value a run uses for a design value: integers are rounded."""
        if self.info.kind == "int":
            return int(round(float(x)))
        if self.info.kind == "float":
            return float(x)
        return x

@dataclass
class Sweep(Job):
    """A validated sweep, every setting resolved (name, description, base world: see `Job`)."""

    method: str
    samples: int | None
    replications: int
    seed: int
    parameters: list[Parameter]
    outputs: list[str]
    second_order: bool = False
    levels: int = 4
    resamples: int = 1000
    conf_level: float = 0.95
    notes: list[str] = field(default_factory=list)

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.parameters]

    def resolved_dict(self) -> dict[str, Any]:
        """The sweep as OUT/sweep.yaml stores it; loadable again as a sweep file."""
        return {
            **self.header(),
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
        return fingerprint(fingerprinted(self.resolved_dict()))


def fingerprinted(resolved: dict[str, Any]) -> dict[str, Any]:
    """The part of a resolved sweep that the fingerprint covers."""
    return {k: v for k, v in resolved.items() if k not in ("description", "scenario")}


# --------------------------------------------------------------------------
# Loading and resolving
# --------------------------------------------------------------------------


def read_sweep_file(path: str | Path) -> dict[str, Any]:
    """The sweep file's YAML mapping; a missing, non-regular, non-UTF-8 or hostile file is one line."""
    return read_job_file(path, SweepError, "sweep")


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
        base, scenario = resolve_base(spec, source, SweepError, "sweep")
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


def _parameter(key: str, spec: ParameterSpec, method: str, model: Any, source: str) -> Parameter:
    where = f"{source}: parameters.{key}"
    info = parameter_info(model, key, where, SweepError)
    if spec.bounds is not None and spec.values is not None:
        raise SweepError(f"{where}: give bounds or values, not both")
    if method == "grid":
        if spec.values is None:
            raise SweepError(f"{where}: a grid sweep takes values: [v1, v2, ...], not bounds")
        return Parameter(key, info, values=choice_values(spec.values, info, where, SweepError))
    if spec.bounds is None:
        raise SweepError(f"{where}: a {method} sweep takes bounds: [low, high]; values: lists are for grid sweeps")
    if info.kind == "category":
        raise SweepError(f"{where}: a choice ({info.allowed()}) has no bounds; vary it in a grid sweep with values:")
    return Parameter(key, info, bounds=check_bounds(spec.bounds, info, where, SweepError))


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
