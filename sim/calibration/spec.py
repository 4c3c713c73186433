"""The calibration file: schema, validation against the model and the facts, fingerprint.

A calibration file names a base scenario, overrides, the facts to match
(the shipped table or a user's file, optionally a subset) and the
parameters to calibrate with their priors (uniform over ``bounds``,
log-uniform with ``log: true``). `load_calibration` checks every key
against the model's schema and every fact id against the facts table
before anything runs; each problem is one `CalibrationError` line naming
the file, the key and what is allowed. The resolved `Calibration` spells
out the base configuration and the facts' bands; its fingerprint guards a
results folder, as for sweeps: a changed file is refused, never mixed in.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sim.calibration.facts import Band, FactsError
from sim.calibration.validation_api import load_bands
from sim.scenario import ScenarioError, validate_config
from sim.scenario.schema import Count, Real
from sim.jobs.models import MarketSweepModel, ParameterInfo
from sim.sweep.spec import SweepError, _market_base, first_difference, read_sweep_file

_STRICT = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)


class CalibrationError(ValueError):
    """A bad calibration input, reported as one line: ``source: key: problem``."""


class PriorSpec(BaseModel):
    """The prior of one parameter: uniform over bounds, or log-uniform."""

    model_config = _STRICT
    bounds: list[Real] = Field(min_length=2, max_length=2, description="[low, high]")
    log: bool = Field(False, description="log-uniform prior (bounds must be > 0)")


class CalibrationFile(BaseModel):
    """The keys of a calibration file, as written."""

    model_config = _STRICT
    name: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$", max_length=200, description="calibration name")
    description: str = Field("", description="free text: what is calibrated and why")
    scenario: str | None = Field(None, description="base scenario file, relative to the current folder")
    overrides: dict[str, Any] = Field(default_factory=dict, description="dotted keys set on the base scenario")
    facts: str = Field("default", description="'default' (the shipped facts table) or a facts file")
    use_facts: list[str] | None = Field(None, min_length=1, description="the fact ids to match (default: all)")
    parameters: dict[str, PriorSpec] = Field(min_length=1, description="dotted key -> prior")
    population: Count = Field(200, ge=2, le=1_000_000, description="particles per generation")
    generations: Count | None = Field(None, ge=1, le=1000, description="number of SMC generations")
    min_epsilon: Real | None = Field(None, ge=0.0, description="stop when epsilon falls to this")
    replications: Count = Field(1, ge=1, le=1000, description="model runs per particle, averaged")
    seed: Count = Field(0, ge=0, le=2**63 - 1, description="seed of the sampler and of every run")
    transition: Literal["normal", "local"] = Field(
        "normal", description="perturbation kernel: 'normal' (one covariance) or 'local' (per-particle covariances)"
    )
    predictive_draws: Count = Field(40, ge=2, le=10_000, description="posterior-predictive duel runs in the report")
    base: dict[str, Any] | None = Field(None, description="resolved base configuration (written in OUT)")
    bands: list[dict[str, Any]] | None = Field(None, description="resolved facts (written in OUT)")


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


@dataclass
class Calibration:
    """A validated calibration, every setting resolved."""

    name: str
    priors: list[Prior]
    bands: list[Band]
    population: int
    generations: int | None
    min_epsilon: float | None
    replications: int
    seed: int
    base: dict[str, Any]
    predictive_draws: int = 40
    transition: str = "normal"
    description: str = ""
    scenario: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    facts: str = "default"
    source: str = ""

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.priors]

    def resolved_dict(self) -> dict[str, Any]:
        """The calibration as OUT/calibration.yaml stores it; loadable again as a calibration file."""
        return {
            "name": self.name,
            "description": self.description,
            "scenario": self.scenario,
            "overrides": self.overrides,
            "facts": self.facts,
            "use_facts": [b.id for b in self.bands],
            "parameters": {p.key: p.as_dict() for p in self.priors},
            "population": self.population,
            "generations": self.generations,
            "min_epsilon": self.min_epsilon,
            "replications": self.replications,
            "seed": self.seed,
            "transition": self.transition,
            "predictive_draws": self.predictive_draws,
            "base": self.base,
            "bands": [b.as_dict() for b in self.bands],
        }

    def fingerprint(self) -> str:
        """Hash of everything that changes the stored generations (see `fingerprinted`)."""
        return hashlib.sha256(json.dumps(fingerprinted(self.resolved_dict()), sort_keys=True, default=str).encode()).hexdigest()[:16]


def fingerprinted(resolved: dict[str, Any]) -> dict[str, Any]:
    """The part of a resolved calibration the fingerprint covers.

    Paths and prose are not covered, nor the stopping rules (generations, min_epsilon) and the report's
    draws: they change no stored generation, so a calibration can be extended by raising ``generations``.
    """
    skip = ("description", "scenario", "facts", "predictive_draws", "generations", "min_epsilon")
    out = {k: v for k, v in resolved.items() if k not in skip}
    if out.get("transition", "normal") == "normal":
        out.pop("transition", None)  # the default kernel: folders written before the key existed still match
    out["bands"] = [{k: b[k] for k in ("id", "low", "high")} for b in resolved.get("bands") or []]
    return out


def differs(stored: dict[str, Any], calibration: Calibration) -> str | None:
    """The first difference between a stored resolved calibration and this one, or None."""
    return first_difference(fingerprinted(stored), fingerprinted(calibration.resolved_dict()))


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------


def load_calibration(path: str | Path) -> Calibration:
    """Read, validate and resolve a calibration file."""
    try:
        raw = read_sweep_file(path)
    except SweepError as err:
        raise CalibrationError(str(err)) from None
    return calibration_from_dict(raw, str(path))


def calibration_from_dict(raw: dict[str, Any], source: str) -> Calibration:
    """Validate a calibration mapping against the model's schema and the facts table."""
    try:
        spec: CalibrationFile = validate_config(raw, source, cls=CalibrationFile)
    except ScenarioError as err:
        raise CalibrationError(str(err)) from None
    if spec.generations is None and spec.min_epsilon is None:
        raise CalibrationError(f"{source}: generations: missing; give generations: (e.g. 6) or min_epsilon: (or both)")
    for key in spec.overrides:
        if key in ("seed", "replications", "name", "description"):
            raise CalibrationError(f"{source}: overrides.{key}: a run setting, not a model parameter; "
                                   "the calibration's own seed: and replications: apply")  # fmt: skip
    try:
        base, scenario = _market_base(spec, source)
    except SweepError as err:
        raise CalibrationError(str(err)) from None
    model = MarketSweepModel(base)
    priors = [_prior(key, p, model, source) for key, p in spec.parameters.items()]
    if spec.bands is not None:
        bands = [Band.from_dict(b) for b in spec.bands]
    else:
        try:
            bands = load_bands(spec.facts, spec.use_facts, f"{source}: ")
        except FactsError as err:
            raise CalibrationError(str(err)) from None
    return Calibration(
        name=spec.name, description=spec.description, priors=priors, bands=bands, population=spec.population,
        generations=spec.generations, min_epsilon=spec.min_epsilon, replications=spec.replications, seed=spec.seed,
        base=base, predictive_draws=spec.predictive_draws, scenario=scenario, overrides=dict(spec.overrides),
        facts=spec.facts, source=source, transition=spec.transition,
    )  # fmt: skip


def _prior(key: str, spec: PriorSpec, model: MarketSweepModel, source: str) -> Prior:
    where = f"{source}: parameters.{key}"
    try:
        info = model.parameter(key)
    except KeyError as err:
        message = err.args[0] if err.args else "unknown parameter"
        close = difflib.get_close_matches(key, model.parameter_names(), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close and message == "unknown parameter" else ""
        raise CalibrationError(f"{where}: {message}{hint}; give a model parameter (attention_mean) "
                               "or a firm field (firms.dialogue.quality)") from None  # fmt: skip
    if info.kind == "category":
        raise CalibrationError(f"{where}: a choice ({info.allowed()}) cannot be calibrated; set it in overrides:")
    low, high = spec.bounds
    if not low < high:
        raise CalibrationError(f"{where}: bounds: low must be below high (got {[low, high]})")
    if not (info.admits(low) and info.admits(high)):
        raise CalibrationError(f"{where}: bounds: must lie in the allowed range, {info.allowed()} (got {[low, high]})")
    if spec.log and low <= 0:
        raise CalibrationError(f"{where}: bounds: a log-uniform prior needs bounds > 0 (got {[low, high]})")
    return Prior(key, info, float(low), float(high), spec.log)
