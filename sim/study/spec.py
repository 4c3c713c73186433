"""The study file: schema, validation against the model, and its sweep.

A study file keeps the issue's key names (name, question, scenario,
overrides, region, samples, replications, seed, outcome) plus an optional
``quick`` design. `load_study` checks every key before anything runs;
each problem is one `StudyError` line naming the file, the key and what is
allowed. The base world is resolved as every job's is (`sim.jobs.spec`);
every region key is checked against the model's parameter ranges as a
sweep's parameters are.

The study runs as a Latin hypercube sweep over the unit cube, one
coordinate per region dimension (see `sim.study.model`): bounds are scaled,
choices are cut into equal strata, a posterior row is drawn by weight.
"""

from __future__ import annotations

import json
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from sim.jobs.models import RUN_SETTINGS, MarketSweepModel, ParameterInfo
from sim.jobs.spec import (
    STRICT,
    JobError,
    JobFile,
    Varied,
    check_bounds,
    choice_values,
    parameter_info,
    read_job_file,
    resolve_base,
)
from sim.scenario.paths import find_shipped
from sim.scenario import ScenarioError, validate_config
from sim.scenario.schema import Count, Real
from sim.study.posterior import Posterior, PosteriorError, read_posterior
from sim.sweep.spec import Parameter, Sweep

OUTCOMES = ("winner", "early_winner", "late_reach_gap", "early_reach_gap", "crossover_day")
UNIT = ParameterInfo("float", ge=0.0, le=1.0)
UNIT_PREFIX = "unit:"
POSTERIOR_KEY = "posterior"

class StudyError(JobError):
    """A bad study input, reported as one line: ``source: key: problem``."""


class QuickDesign(BaseModel):
    """The reduced design of ``--quick``."""

    model_config = STRICT
    samples: Count = Field(40, ge=2, le=100_000, description="Latin hypercube points of the quick design")
    replications: Count = Field(2, ge=1, le=1000, description="replications of the quick design")


class StudyFile(JobFile):
    """The keys of a study file, as written (name, scenario, overrides and base: see `JobFile`)."""

    question: str = Field("", description="the question the study answers")
    region: dict[str, Any] = Field(min_length=1, description="dotted key -> {bounds} or {values}; or posterior: FOLDER")
    samples: Count = Field(ge=2, le=10_000_000, description="Latin hypercube points")
    replications: Count = Field(3, ge=1, le=10_000, description="runs per point, different seeds")
    seed: Count = Field(0, ge=0, le=2**63 - 1, description="seed of the design and of every run")
    outcome: Literal["winner", "early_winner", "late_reach_gap", "early_reach_gap", "crossover_day"] = Field(
        "winner", description="what scenario discovery explains"
    )
    quick: QuickDesign = Field(default_factory=QuickDesign, description="the design of --quick")


class RegionDim(BaseModel):
    model_config = STRICT
    bounds: list[Real] | None = Field(None, min_length=2, max_length=2, description="[low, high]")
    values: list[Any] | None = Field(None, min_length=1, description="choices, equally likely")


@dataclass(frozen=True)
class Dim(Varied):
    """One dimension of the region: a parameter with bounds or choices."""

    @property
    def unit_key(self) -> str:
        return UNIT_PREFIX + self.key

    def value(self, u: float) -> Any:
        """The parameter value of unit coordinate u."""
        if self.values is not None:
            return self.values[min(int(float(u) * len(self.values)), len(self.values) - 1)]
        low, high = self.bounds
        x = low + float(u) * (high - low)
        return int(round(x)) if self.info.kind == "int" else float(x)

@dataclass
class Study:
    """A validated study, every setting resolved."""

    name: str
    question: str
    scenario: str | None
    overrides: dict[str, Any]
    base: dict[str, Any]
    dims: list[Dim]
    posterior: Posterior | None
    samples: int
    replications: int
    seed: int
    outcome: str
    quick: bool = False
    quick_design: dict[str, int] = field(default_factory=dict)
    source: str = ""
    text: str = ""

    @property
    def firms(self) -> list[str]:
        return [f["name"] for f in self.base["firms"]]

    @property
    def keys(self) -> list[str]:
        """The model parameters the region varies, in order."""
        return list(self.posterior.keys) if self.posterior is not None else [d.key for d in self.dims]

    def kinds(self) -> dict[str, str]:
        """Each parameter's kind: int, float or category."""
        model = MarketSweepModel(self.base)
        return {key: model.parameter(key).kind for key in self.keys}

    def region_dict(self) -> dict[str, Any]:
        if self.posterior is not None:
            return {POSTERIOR_KEY: self.posterior.path, "sha256": self.posterior.sha256,
                    "rows": len(self.posterior.rows), "keys": list(self.posterior.keys)}  # fmt: skip
        return {d.key: d.as_dict() for d in self.dims}

    def resolved_dict(self) -> dict[str, Any]:
        """The study as OUT/study.yaml stores it (the study-report reads it back)."""
        return {
            "name": self.name, "question": self.question, "scenario": self.scenario,
            "overrides": self.overrides, "region": self.region_dict(), "samples": self.samples,
            "replications": self.replications, "seed": self.seed, "outcome": self.outcome,
            "quick": self.quick, "quick_design": self.quick_design, "firms": self.firms,
            "kinds": self.kinds(), "base": self.base,
        }  # fmt: skip

    def sweep(self) -> Sweep:
        """The sweep the engine runs: a Latin hypercube over one unit coordinate per dimension."""
        units = [d.unit_key for d in self.dims] if self.posterior is None else [UNIT_PREFIX + POSTERIOR_KEY]
        from sim.study.model import StudyModel

        return Sweep(
            name=self.name + ("-quick" if self.quick else ""), method="lhs", samples=self.samples,
            replications=self.replications, seed=self.seed,
            parameters=[Parameter(key, UNIT, bounds=(0.0, 1.0)) for key in units],
            outputs=StudyModel.output_names(self.firms, self.keys), description=self.question,
            scenario=self.scenario, overrides=self.overrides,
            base={"model": self.base, "region": self.region_dict()}, source=self.source,
        )  # fmt: skip


def load_study(path: str | Path, quick: bool = False) -> Study:
    """Read, validate and resolve a study file."""
    raw = read_job_file(path, StudyError, "study")
    text = find_shipped(path).read_text(encoding="utf-8")
    return study_from_dict(raw, str(path), quick=quick, text=text)


def study_from_dict(raw: dict[str, Any], source: str, quick: bool = False, text: str = "") -> Study:
    """Validate a study mapping; ``quick`` swaps in the reduced design."""
    try:
        spec: StudyFile = validate_config(raw, source, cls=StudyFile)
    except ScenarioError as err:
        raise StudyError(str(err)) from None
    base = _base(spec, source)
    model = MarketSweepModel(base)
    dims, posterior = _region(spec.region, model, source)
    samples, replications = (spec.quick.samples, spec.quick.replications) if quick else (spec.samples, spec.replications)
    return Study(
        name=spec.name, question=spec.question, scenario=spec.scenario, overrides=dict(spec.overrides),
        base=base, dims=dims, posterior=posterior, samples=samples, replications=replications,
        seed=spec.seed, outcome=spec.outcome, quick=quick, quick_design=spec.quick.model_dump(),
        source=source, text=text,
    )  # fmt: skip


def _base(spec: StudyFile, source: str) -> dict[str, Any]:
    """The base world, resolved as a sweep's base is (scenario file + overrides, or a stored base)."""
    base, _ = resolve_base(spec, source, StudyError, "study")
    if len(base["firms"]) < 2:
        raise StudyError(f"{source}: scenario: a study compares firms; the base world has {len(base['firms'])}")
    return base


def _region(region: dict[str, Any], model: MarketSweepModel, source: str) -> tuple[list[Dim], Posterior | None]:
    if POSTERIOR_KEY in region:
        where = f"{source}: region.{POSTERIOR_KEY}"
        if len(region) > 1:
            others = ", ".join(k for k in region if k != POSTERIOR_KEY)
            raise StudyError(f"{where}: a posterior region stands alone; remove {others} (or fix them in overrides)")
        location = region[POSTERIOR_KEY]
        if not isinstance(location, str):
            raise StudyError(f"{where}: must be the path of a calibration's OUT folder (got {location!r})")
        try:
            posterior = read_posterior(location)
        except PosteriorError as err:
            raise StudyError(f"{where}: {err}") from None
        _check_posterior(posterior, model, where)
        return [], posterior
    return [_dim(key, spec, model, f"{source}: region.{key}") for key, spec in region.items()], None


def _info(key: str, model: MarketSweepModel, where: str) -> ParameterInfo:
    if key in RUN_SETTINGS:
        raise StudyError(f"{where}: a run setting, not a model parameter; the study's own seed: and replications: apply")
    return parameter_info(model, key, where, StudyError)


def _dim(key: str, raw: Any, model: MarketSweepModel, where: str) -> Dim:
    info = _info(key, model, where)
    if not isinstance(raw, dict):
        raise StudyError(f"{where}: must be {{bounds: [low, high]}} or {{values: [a, b, ...]}} (got {raw!r})")
    try:
        spec: RegionDim = validate_config(raw, where, cls=RegionDim)
    except ScenarioError as err:
        raise StudyError(str(err)) from None
    if (spec.bounds is None) == (spec.values is None):
        raise StudyError(f"{where}: give bounds: [low, high] or values: [a, b, ...], one of them")
    if spec.values is not None:
        return Dim(key, info, values=choice_values(spec.values, info, where, StudyError, floats=False))
    if info.kind == "category":
        raise StudyError(f"{where}: a choice ({info.allowed()}) has no bounds; give values: [...]")
    return Dim(key, info, bounds=check_bounds(spec.bounds, info, where, StudyError))


def _check_posterior(posterior: Posterior, model: MarketSweepModel, where: str) -> None:
    """Every column a known parameter, every value allowed."""
    infos = {key: _info(key, model, f"{where}: column {key!r}") for key in posterior.keys}
    for number, row in enumerate(posterior.rows):
        for key, value in row.items():
            info = infos[key]
            ok = value in info.choices if info.kind == "category" else (
                isinstance(value, numbers.Real) and value == value and info.admits(float(value)))
            if not ok:
                raise StudyError(f"{where}: row {number}, {key}: {json.dumps(value, default=str)} is not allowed; "
                                 f"must be {info.allowed()}")  # fmt: skip
