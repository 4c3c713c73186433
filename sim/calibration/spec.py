"""The calibration file: schema, validation against the model and the facts, fingerprint.

A calibration file names a base scenario, overrides, the facts to match
(the shipped table or a user's file, optionally a subset) and the
parameters to calibrate with their priors (uniform over ``bounds``,
log-uniform with ``log: true``). Or, for model selection, it lists
``structures:``, each with its own name, base scenario, overrides and
priors; the structures are calibrated together against the same facts and
get posterior probabilities (`sim.calibration.engine`). A single-structure
file is a calibration of one structure named after the file. `load_calibration` checks every key
against the model's schema and every fact id against the facts table
before anything runs; each problem is one `CalibrationError` line naming
the file, the key and what is allowed. The resolved `Calibration` spells
out the base configuration and the facts' bands; its fingerprint guards a
results folder, as for sweeps: a changed file is refused, never mixed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from sim.calibration.facts import Band, FactsError
from sim.calibration.validation_api import days_needed, load_bands, quantity_names
from sim.jobs.models import MarketSweepModel, ParameterInfo
from sim.jobs.spec import (
    NAME_PATTERN,
    STRICT,
    Job,
    JobError,
    JobFile,
    check_bounds,
    first_difference,
    fingerprint,
    parameter_info,
    read_job_file,
    resolve_base,
)
from sim.scenario import ScenarioError, validate_config
from sim.scenario.schema import Count, Real


class CalibrationError(JobError):
    """A bad calibration input, reported as one line: ``source: key: problem``."""


class PriorSpec(BaseModel):
    """The prior of one parameter: uniform over bounds, or log-uniform."""

    model_config = STRICT
    bounds: list[Real] = Field(min_length=2, max_length=2, description="[low, high]")
    log: bool = Field(False, description="log-uniform prior (bounds must be > 0)")


class BandSpec(BaseModel):
    """One resolved fact as OUT/calibration.yaml stores it."""

    model_config = STRICT
    id: str = Field(min_length=1, description="fact id")
    low: Real = Field(description="the band's low end")
    high: Real = Field(description="the band's high end")
    what: str = Field("", description="what the fact measures")
    source: str = Field("", description="where the fact comes from")
    quantity: str = Field(min_length=1, description="the model quantity it is compared with")
    scale: Literal["linear", "log"] = Field("linear", description="the distance's scale (stored before it: linear)")


class StructureSpec(BaseModel):
    """One model structure of a model-selection calibration: its world and its priors."""

    model_config = STRICT
    name: str = Field(pattern=NAME_PATTERN, max_length=100, description="the structure's name (its results folder's)")
    scenario: str | None = Field(None, description="base scenario file of this structure")
    overrides: dict[str, Any] = Field(default_factory=dict, description="dotted keys set on the base scenario")
    parameters: dict[str, PriorSpec] = Field(min_length=1, description="dotted key -> prior")
    base: dict[str, Any] | None = Field(None, description="resolved base configuration (written in OUT)")


class CalibrationFile(JobFile):
    """The keys of a calibration file, as written (name, scenario, overrides and base: see `JobFile`)."""

    description: str = Field("", description="free text: what is calibrated and why")
    facts: str = Field("default", description="'default' (the shipped facts table) or a facts file")
    use_facts: list[str] | None = Field(None, min_length=1, description="the fact ids to match (default: all)")
    parameters: dict[str, PriorSpec] | None = Field(None, min_length=1, description="dotted key -> prior")
    structures: list[StructureSpec] | None = Field(None, min_length=1, max_length=50,
                                                   description="model structures compared by model selection")
    population: Count = Field(200, ge=2, le=1_000_000, description="particles per generation")
    generations: Count | None = Field(None, ge=1, le=1000, description="number of SMC generations")
    min_epsilon: Real | None = Field(None, ge=0.0, description="stop when epsilon falls to this")
    replications: Count = Field(1, ge=1, le=1000, description="model runs per particle, averaged")
    seed: Count = Field(0, ge=0, le=2**63 - 1, description="seed of the sampler and of every run")
    transition: Literal["normal", "local"] = Field(
        "normal", description="perturbation kernel: 'normal' (one covariance) or 'local' (per-particle covariances)"
    )
    defensive: Real = Field(0.0, ge=0.0, lt=1.0, description="share of each generation's proposals drawn from the "
                            "prior (defensive importance sampling; 0: none)")
    predictive_draws: Count = Field(40, ge=2, le=10_000, description="posterior-predictive duel runs in the report")
    bands: list[BandSpec] | None = Field(None, min_length=1, description="resolved facts (written in OUT)")


@dataclass(frozen=True)
class Prior:
    """A calibrated parameter: its key, what the schema admits, its bounds and scale."""

    key: str
    info: ParameterInfo
    low: float
    high: float
    log: bool = False

    @property
    def internal_bounds(self) -> tuple[float, float]:
        """The bounds on the scale the sampler works on (log10 for log priors)."""
        return (math.log10(self.low), math.log10(self.high)) if self.log else (self.low, self.high)

    def to_model(self, x: float) -> Any:
        """A sampler value as the model takes it (10**x for log priors; integers rounded)."""
        value = 10.0**x if self.log else float(x)
        return int(round(value)) if self.info.kind == "int" else value

    def as_dict(self) -> dict[str, Any]:
        return {"bounds": [self.low, self.high], "log": self.log}


@dataclass(frozen=True)
class Structure:
    """A resolved model structure: its name, its world (scenario, overrides, base) and its priors."""

    name: str
    scenario: str | None
    overrides: dict[str, Any]
    base: dict[str, Any]
    priors: list[Prior]

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.priors]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "scenario": self.scenario, "overrides": self.overrides,
                "parameters": {p.key: p.as_dict() for p in self.priors}, "base": self.base}  # fmt: skip


@dataclass
class Calibration(Job):
    """A validated calibration, every setting resolved (name, description, base world: see `Job`).

    ``structures`` holds every model structure; a single-structure file has one, built from its
    top-level scenario, overrides and parameters (``multi`` is False, and ``priors`` and ``base``
    are that structure's).
    """

    priors: list[Prior]
    bands: list[Band]
    population: int
    generations: int | None
    min_epsilon: float | None
    replications: int
    seed: int
    predictive_draws: int = 40
    transition: str = "normal"
    facts: str = "default"
    defensive: float = 0.0
    structures: list[Structure] = field(default_factory=list)
    multi: bool = False
    origin: Calibration | None = None  # the whole calibration, for a one-structure `view`

    def __post_init__(self) -> None:
        if not self.structures:
            self.structures = [Structure(self.name, self.scenario, dict(self.overrides), self.base, list(self.priors))]

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.priors]

    def structure(self, name: str) -> Structure:
        return next(s for s in self.structures if s.name == name)

    def view(self, structure: Structure) -> Calibration:
        """This calibration seen as one structure's (its world and priors), for that structure's posterior,
        report and predictive runs; its fingerprint stays the whole calibration's."""
        from dataclasses import replace

        return replace(self, name=f"{self.name}_{structure.name}" if self.multi else self.name,
                       priors=structure.priors, base=structure.base, scenario=structure.scenario,
                       overrides=structure.overrides, structures=[structure], multi=False, origin=self)  # fmt: skip

    def resolved_dict(self) -> dict[str, Any]:
        """The calibration as OUT/calibration.yaml stores it; loadable again as a calibration file."""
        if self.multi:
            world = {"structures": [s.as_dict() for s in self.structures]}
            header = {"name": self.name, "description": self.description}
        else:
            world = {"parameters": {p.key: p.as_dict() for p in self.priors}}
            header = self.header()
        return {
            **header,
            "facts": self.facts,
            "use_facts": [b.id for b in self.bands],
            **world,
            "population": self.population,
            "generations": self.generations,
            "min_epsilon": self.min_epsilon,
            "replications": self.replications,
            "seed": self.seed,
            "transition": self.transition,
            "defensive": self.defensive,
            "predictive_draws": self.predictive_draws,
            **({} if self.multi else {"base": self.base}),
            "bands": [b.as_dict() for b in self.bands],
        }

    def fingerprint(self) -> str:
        """Hash of everything that changes the stored generations (see `fingerprinted`)."""
        if self.origin is not None:
            return self.origin.fingerprint()
        return fingerprint(fingerprinted(self.resolved_dict()))


def fingerprinted(resolved: dict[str, Any]) -> dict[str, Any]:
    """The part of a resolved calibration the fingerprint covers.

    Paths and prose are not covered, nor the stopping rules (generations, min_epsilon) and the report's
    draws: they change no stored generation, so a calibration can be extended by raising ``generations``.
    """
    skip = ("description", "scenario", "facts", "predictive_draws", "generations", "min_epsilon")
    out = {k: v for k, v in resolved.items() if k not in skip}
    if "structures" in out:
        out["structures"] = [{k: v for k, v in s.items() if k != "scenario"} for s in out["structures"]]
    if out.get("transition", "normal") == "normal":
        out.pop("transition", None)  # the default kernel: folders written before the key existed still match
    if not out.get("defensive"):
        out.pop("defensive", None)  # none: likewise
    out["bands"] = [{k: b[k] for k in ("id", "low", "high", "scale") if k in b} for b in resolved.get("bands") or []]
    return out


def differs(stored: dict[str, Any], calibration: Calibration) -> str | None:
    """The first difference between a stored resolved calibration and this one, or None."""
    return first_difference(fingerprinted(stored), fingerprinted(calibration.resolved_dict()))


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------


def load_calibration(path: str | Path) -> Calibration:
    """Read, validate and resolve a calibration file."""
    return calibration_from_dict(read_job_file(path, CalibrationError, "calibration"), str(path))


def calibration_from_dict(raw: dict[str, Any], source: str) -> Calibration:
    """Validate a calibration mapping against the model's schema and the facts table."""
    try:
        spec: CalibrationFile = validate_config(raw, source, cls=CalibrationFile)
    except ScenarioError as err:
        raise CalibrationError(str(err)) from None
    if spec.generations is None and spec.min_epsilon is None:
        raise CalibrationError(f"{source}: generations: missing; give generations: (e.g. 6) or min_epsilon: (or both)")
    stored = spec.base is not None or any(s.base is not None for s in spec.structures or [])
    if spec.bands is not None and not stored:
        raise CalibrationError(f"{source}: bands: calibrate writes this key into OUT/calibration.yaml; a calibration "
                               "file chooses its facts with facts: and use_facts: instead")  # fmt: skip
    structures = _structures(spec, source)
    if spec.bands is not None:
        bands = [_band(band, f"{source}: bands[{k}]") for k, band in enumerate(spec.bands)]
    else:
        try:
            bands = load_bands(spec.facts, spec.use_facts, f"{source}: ")
        except FactsError as err:
            raise CalibrationError(str(err)) from None
    for structure in structures:
        steps = int(structure.base["steps"])
        short = days_needed(bands, steps)
        if short:
            named = ", ".join(f"{fact} needs {days}" for fact, days in short.items())
            where = f"structures[{structure.name}].overrides" if spec.structures else "overrides"
            raise CalibrationError(f"{source}: use_facts: the base world {'of ' + structure.name + ' ' if spec.structures else ''}"
                                   f"runs {steps} days, too short to measure some facts ({named}); raise steps: in "
                                   f"{where}, or leave them out of use_facts")  # fmt: skip
    first = structures[0]
    return Calibration(
        name=spec.name, description=spec.description, priors=first.priors, bands=bands, population=spec.population,
        generations=spec.generations, min_epsilon=spec.min_epsilon, replications=spec.replications, seed=spec.seed,
        base=first.base, predictive_draws=spec.predictive_draws, scenario=first.scenario,
        overrides=dict(first.overrides), facts=spec.facts, source=source, transition=spec.transition,
        defensive=float(spec.defensive),
        structures=structures, multi=spec.structures is not None,
    )  # fmt: skip


def _structures(spec: CalibrationFile, source: str) -> list[Structure]:
    """The structures of a calibration file: its ``structures:`` list, or the one its top-level keys make."""
    if spec.structures is None:
        if spec.parameters is None:
            raise CalibrationError(f"{source}: parameters: missing; give the parameters to calibrate with their "
                                   "priors (or structures:, each with its own parameters)")  # fmt: skip
        base, scenario = resolve_base(spec, source, CalibrationError, "calibration")
        return [Structure(spec.name, scenario, dict(spec.overrides), base, _priors(spec.parameters, base, source))]
    for key in ("scenario", "overrides", "parameters", "base"):
        if getattr(spec, key):
            raise CalibrationError(f"{source}: {key}: a calibration with structures: gives each structure its own "
                                   f"{key}; move it into the structures")  # fmt: skip
    names = [s.name for s in spec.structures]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise CalibrationError(f"{source}: structures: each name once (got {', '.join(twice)} twice)")
    out = []
    for k, item in enumerate(spec.structures):
        where = f"{source}: structures[{k}] ({item.name})"
        base, scenario = resolve_base(item, where, CalibrationError, "calibration")
        out.append(Structure(item.name, scenario, dict(item.overrides), base, _priors(item.parameters, base, where)))
    return out


def _priors(parameters: dict[str, PriorSpec], base: dict[str, Any], source: str) -> list[Prior]:
    model = MarketSweepModel(base)
    return [_prior(key, p, model, source) for key, p in parameters.items()]


def _prior(key: str, spec: PriorSpec, model: MarketSweepModel, source: str) -> Prior:
    where = f"{source}: parameters.{key}"
    info = parameter_info(model, key, where, CalibrationError,
                          "; give a model parameter (attention_mean) or a firm field (firms.dialogue.quality)")
    if info.kind == "category":
        raise CalibrationError(f"{where}: a choice ({info.allowed()}) cannot be calibrated; set it in overrides:")
    low, high = check_bounds(spec.bounds, info, where, CalibrationError)
    if spec.log and low <= 0:
        raise CalibrationError(f"{where}: bounds: a log-uniform prior needs bounds > 0 (got {list(spec.bounds)})")
    return Prior(key, info, low, high, spec.log)


def _band(spec: BandSpec, where: str) -> Band:
    """A stored band: a low not above its high."""
    if not spec.low <= spec.high:
        raise CalibrationError(f"{where}: low must not be above high (got {[spec.low, spec.high]})")
    known = quantity_names()
    if spec.quantity not in known:
        raise CalibrationError(f"{where}: quantity: unknown model quantity {spec.quantity!r}; known: {', '.join(known)}")
    try:
        return Band(spec.id, float(spec.low), float(spec.high), spec.what, spec.source, spec.quantity, spec.scale)
    except FactsError as err:
        raise CalibrationError(f"{where}: {err}") from None
