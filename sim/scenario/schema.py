"""Scenario schema: typed parameters, firm presets and the scenario fingerprint.

Every number of docs/MODEL_SPEC.md's parameter tables is a field here, with
the spec's default, an allowed range and a one-line description. A scenario
is a YAML mapping of those fields plus run settings (name, seed,
replications). This module holds only the schema, so it can be read as the
parameter reference; turning validation failures into one-line messages
lives in `sim.scenario.errors`, and reading YAML and applying `--set`
overrides in `sim.scenario.io`.
"""

from __future__ import annotations

import hashlib
import json
import numbers
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

__all__ = [
    "DEFAULT_FIRMS",
    "PRESETS",
    "FirmParams",
    "FirmSpec",
    "ModelConfig",
    "ModelParams",
    "Scenario",
    "ScenarioError",
    "scenario_hash",
    "unsafe_name_problem",
]


class ScenarioError(ValueError):
    """A bad scenario input, reported as one line: ``source: key: problem (got value)``."""


# --------------------------------------------------------------------------
# Value types
# --------------------------------------------------------------------------


def _to_int(value: Any) -> Any:
    """Accept integer-like numbers (numpy ints, 3.0) as int; leave the rest to strict checks."""
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _to_float(value: Any) -> Any:
    """Accept any real number (int, numpy scalars) as float; bools and strings are left to fail."""
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Real):
        return float(value)
    return value


def _to_pair(value: Any) -> Any:
    """A home cell comes from YAML as a list; the schema stores a tuple."""
    return tuple(value) if isinstance(value, list) else value


Count = Annotated[int, BeforeValidator(_to_int)]
Real = Annotated[float, BeforeValidator(_to_float)]
Cell = Annotated[tuple[Count, Count], BeforeValidator(_to_pair)]

_STRICT = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)


def _prob(default: float, description: str) -> Any:
    """A probability, share or per-event rate in [0, 1]."""
    return Field(default, ge=0.0, le=1.0, description=description)


# --------------------------------------------------------------------------
# Model-wide parameters
# --------------------------------------------------------------------------


class ModelParams(BaseModel):
    """Model-wide parameters of MODEL_SPEC.md, with the spec's defaults."""

    model_config = _STRICT

    # world and time
    width: Count = Field(100, ge=3, le=5000, description="grid width W (torus; one user per cell)")
    height: Count = Field(100, ge=3, le=5000, description="grid height H (torus; one user per cell)")
    steps: Count = Field(365, ge=1, le=100_000, description="days simulated")

    # users
    attention_mean: Real = Field(
        30.0, ge=1.0, le=10_000.0, description="mean items a user reads per day (lognormal mean)"
    )
    attention_sigma: Real = Field(
        0.5, ge=0.0, le=5.0, description="log-sd of the lognormal daily attention budget"
    )
    pages_followed: Real = Field(
        109.0, ge=0.0, le=100_000.0, description="mean background pages a user follows (Poisson)"
    )
    page_post_rate: Real = Field(
        0.5, ge=0.0, le=100.0, description="background posts per followed page and day"
    )
    weak_ties: Count = Field(
        16, ge=0, le=1000, description="random long-range contacts per user besides the 8 neighbours"
    )

    # initial following and trust
    home_radius: Count = Field(
        10, ge=0, le=5000, description="Chebyshev radius around a firm's home of its local audience"
    )
    home_follow_prob: Real = _prob(0.5, "probability a user near a firm's home follows it at set-up")
    initial_follow_prob: Real = _prob(0.02, "probability any other user follows a firm at set-up")
    trust0: Real = _prob(0.3, "initial trust of a user in a firm; target of the trust drift")
    follower_trust_bonus: Real = _prob(0.2, "extra initial trust in a firm the user follows at set-up")

    # costs
    cost_post: Real = Field(1.0, ge=0.0, le=1e6, description="cost of one post")
    cost_reply: Real = Field(0.1, ge=0.0, le=1e6, description="cost of one reply to a comment")
    cost_ad: Real = Field(0.01, ge=0.0, le=1e6, description="cost of one ad impression")

    # ranking
    ranking: Literal["engagement", "chronological"] = Field(
        "engagement", description="feed ranking: engagement weights or chronological (all weights 1)"
    )
    weight_promo: Real = Field(1.0, gt=0.0, le=1000.0, description="ranking weight of a promo post")
    weight_value: Real = Field(1.0, gt=0.0, le=1000.0, description="ranking weight of a value post")
    weight_ad: Real = Field(1.0, gt=0.0, le=1000.0, description="ranking weight of an ad")
    weight_share: Real = Field(2.0, gt=0.0, le=1000.0, description="ranking weight of a share")
    weight_reply: Real = Field(4.0, gt=0.0, le=1000.0, description="ranking weight of a reply")

    # reactions
    appeal_promo: Real = Field(0.04, ge=0.0, le=10.0, description="appeal of a promo post")
    appeal_value: Real = Field(
        0.3, ge=0.0, le=10.0, description="appeal of a value post per unit of firm quality"
    )
    appeal_ad: Real = Field(0.02, ge=0.0, le=10.0, description="appeal of an ad")
    appeal_reply: Real = Field(0.6, ge=0.0, le=10.0, description="appeal of a reply")
    share_boost: Real = Field(
        2.0, ge=0.0, le=100.0, description="appeal multiplier for an item arriving as a share"
    )
    share_annoy: Real = Field(
        0.5, ge=0.0, le=100.0, description="annoyance multiplier for an item arriving as a share"
    )
    annoy_promo: Real = Field(0.3, ge=0.0, le=10.0, description="annoyance of a promo post")
    annoy_value: Real = Field(0.05, ge=0.0, le=10.0, description="annoyance of a value post")
    annoy_ad: Real = Field(0.5, ge=0.0, le=10.0, description="annoyance of an ad")
    comment_prob: Real = _prob(0.2, "probability a positive reaction includes a comment")
    neg_comment_prob: Real = _prob(0.5, "probability a negative reaction is a negative comment")

    # sharing
    post_lifetime: Count = Field(
        7, ge=1, le=365, description="days after publication a post or ad can still travel as a share"
    )
    share_prob_promo: Real = _prob(0.03, "probability a positive reaction to a promo item shares it")
    share_prob_value: Real = _prob(0.05, "probability a positive reaction to a value item shares it")
    share_prob_ad: Real = _prob(0.01, "probability a positive reaction to an ad shares it")

    # fatigue
    fatigue_decay: Real = _prob(0.05, "share of fatigue that fades each day")
    fatigue_gain: Real = _prob(0.15, "fatigue added per unit of daily load above tolerance")
    tolerance: Real = Field(
        3.0, ge=0.0, le=1000.0, description="daily load of a firm's items a user takes without fatigue"
    )
    load_value: Real = Field(0.3, ge=0.0, le=100.0, description="load of one seen value post")
    load_share: Real = Field(0.5, ge=0.0, le=100.0, description="load of one seen share")
    reply_relief: Real = _prob(0.2, "fatigue removed per seen reply to a negative comment")

    # trust
    trust_pos: Real = _prob(0.03, "trust gain (toward 1) per positive reaction")
    trust_reply: Real = _prob(0.15, "trust gain (toward 1) per seen reply")
    trust_neg: Real = _prob(0.05, "trust loss (toward 0) per negative reaction")
    trust_deleted: Real = _prob(0.3, "trust loss (toward 0) per deleted comment")
    trust_drift: Real = _prob(0.005, "daily drift of trust back toward trust0")

    # following
    follow_prob: Real = _prob(0.2, "follow probability after a positive reaction, times (0.5 + trust)")
    unfollow_threshold: Real = _prob(0.7, "fatigue above which a follower unfollows")
    unfollow_neg_prob: Real = _prob(0.1, "unfollow probability per negative reaction")
    unfollow_deleted_prob: Real = _prob(0.5, "unfollow probability per deleted comment")


# --------------------------------------------------------------------------
# Firms
# --------------------------------------------------------------------------


class FirmParams(BaseModel):
    """A firm's strategy: the bundle of parameters a preset fills in."""

    model_config = _STRICT

    # Upper bounds: far above any real brand account, low enough that a run fits a machine's memory
    # (every post is a feed row per follower; the defaults are 6 and 1 posts, 2000 and 0 ads, 26 a day).
    posts_per_day: Real = Field(ge=0.0, le=1000.0, description="mean posts per day (Poisson)")
    promo_share: Real = _prob(..., "share of posts that are promo (the rest are value)")
    quality: Real = Field(ge=0.0, le=10.0, description="quality of value content (scales appeal_value)")
    ads_per_day: Count = Field(ge=0, le=10_000_000, description="ad impressions bought per day")
    reply_rate: Real = _prob(..., "probability a comment is answered")
    delete_critics: Real = _prob(..., "probability an unanswered negative comment is deleted")
    budget: Real = Field(ge=0.0, le=1_000_000.0, description="daily budget; unspent budget is lost")


PRESETS: dict[str, dict[str, Any]] = {
    "broadcast": {
        "posts_per_day": 6.0,
        "promo_share": 0.9,
        "quality": 0.3,
        "ads_per_day": 2000,
        "reply_rate": 0.0,
        "delete_critics": 0.5,
        "budget": 26.0,
    },
    "dialogue": {
        "posts_per_day": 1.0,
        "promo_share": 0.33,
        "quality": 0.7,
        "ads_per_day": 0,
        "reply_rate": 0.9,
        "delete_critics": 0.0,
        "budget": 26.0,
    },
}

DEFAULT_FIRMS: list[dict[str, Any]] = [
    {"name": "broadcast", "preset": "broadcast"},
    {"name": "dialogue", "preset": "dialogue"},
]

_PRESET_NAMES = ", ".join(repr(p) for p in PRESETS)


class FirmSpec(FirmParams):
    """One firm of a scenario: a name, optionally a preset and a home cell, and its parameters.

    Fields the entry does not give come from its preset; without a preset all
    of them must be given.
    """

    name: str = Field(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        max_length=64,
        description="firm identifier, usable in dotted override keys",
    )
    preset: Literal["broadcast", "dialogue"] | None = Field(
        None, description="preset that fills the firm fields not given"
    )
    home: Cell | None = Field(
        None, description="home cell (x, y); None: the model spreads homes along the middle row"
    )

    @model_validator(mode="before")
    @classmethod
    def _fill_from_preset(cls, data: Any) -> Any:
        """Explicit fields win; the preset supplies the rest."""
        if not isinstance(data, Mapping):
            return data
        preset = data.get("preset")
        if preset is None:
            return data
        if not isinstance(preset, str) or preset not in PRESETS:
            raise PydanticCustomError(
                "unknown_preset",
                "must be one of {allowed} or null",
                {"allowed": _PRESET_NAMES, "loc": ("preset",), "got": preset},
            )
        return {**PRESETS[preset], **data}


MAX_FIRMS = 10  # each firm its own colour in every figure (sim.palette), and small follow-pattern tables (2^F)


def _default_firms() -> list[FirmSpec]:
    return [FirmSpec.model_validate(firm) for firm in DEFAULT_FIRMS]


class ModelConfig(ModelParams):
    """Everything a model run needs: model-wide parameters plus the firms."""

    firms: list[FirmSpec] = Field(
        default_factory=_default_firms, min_length=1, description="the competing firms"
    )

    @model_validator(mode="after")
    def _check_consistency(self) -> ModelConfig:
        """Cross-field rules: unique firm names, homes on the grid, enough users for weak ties."""
        problems: list[tuple[tuple, str, Any]] = []
        if len(self.firms) > MAX_FIRMS:
            problems.append(((), f"must list at most {MAX_FIRMS} firms, so that each has its own colour in the "
                             "figures and the follow maps stay exact", len(self.firms)))  # fmt: skip
        seen: set[str] = set()
        for k, firm in enumerate(self.firms):
            if firm.name in seen:
                problems.append(((k, "name"), "duplicate firm name; names must be unique", firm.name))
            seen.add(firm.name)
        for k, firm in enumerate(self.firms):
            if firm.home is not None:
                x, y = firm.home
                if not (0 <= x < self.width and 0 <= y < self.height):
                    problems.append(
                        (
                            (k, "home"),
                            f"must be a cell of the grid, 0 <= x < {self.width} (width) "
                            f"and 0 <= y < {self.height} (height)",
                            [x, y],
                        )
                    )
        available = self.width * self.height - 9
        if self.weak_ties > available:
            problems.append(
                (
                    ("weak_ties",),
                    f"must be <= width*height - 9 = {available}, the users outside "
                    "a user's Moore block",
                    self.weak_ties,
                )
            )
        if problems:
            problems = [(loc if loc[:1] == ("weak_ties",) else ("firms", *loc), m, g) for loc, m, g in problems]
            loc, message, got = problems[0]
            raise PydanticCustomError(
                "inconsistent",
                message,
                {"loc": loc, "got": got, "others": problems[1:]},
            )
        return self


# --------------------------------------------------------------------------
# Scenario
# --------------------------------------------------------------------------


def unsafe_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be one folder name inside results/ (None if it can).

    Refused: path separators (so also absolute paths), '..' anywhere, NUL
    and other control characters, a leading '.' (hidden, or '.' itself) and
    leading or trailing spaces.
    """
    if "/" in name or "\\" in name:
        return "must be a plain name, without '/' or '\\' (it names a folder inside results/)"
    if ".." in name:
        return "must not contain '..' (it names a folder inside results/)"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "must not contain NUL or other control characters"
    if name.startswith(".") or name != name.strip():
        return "must not start with '.' nor start or end with a space"
    return None


_RUN_FIELDS = ("name", "description", "seed", "replications")
_FIRM_ORDER = ("name", "preset", "home", *FirmParams.model_fields)


class Scenario(ModelConfig):
    """A scenario file: run settings plus the model configuration."""

    name: str = Field("scenario", min_length=1, max_length=200, description="scenario name")
    description: str = Field("", description="free text: what the scenario is for")
    seed: Count = Field(42, ge=0, description="base random seed of the runs")
    replications: Count = Field(1, ge=1, le=10_000, description="independent runs of the scenario")

    @field_validator("name")
    @classmethod
    def _safe_name(cls, name: str) -> str:
        """The name becomes a folder under results/: it must not leave it or break the path."""
        problem = unsafe_name_problem(name)
        if problem:
            raise PydanticCustomError("unsafe_name", problem, {"got": name})
        return name

    def model_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of the model: every ModelConfig field as plain values."""
        data = self.model_dump(mode="json", include=set(ModelConfig.model_fields))
        out = {key: data[key] for key in ModelConfig.model_fields}
        out["firms"] = [{key: firm[key] for key in _FIRM_ORDER} for firm in data["firms"]]
        return out

    def resolved_dict(self) -> dict[str, Any]:
        """The fully resolved scenario as YAML-safe values, run settings first, in a fixed order."""
        data = self.model_dump(mode="json")
        out = {key: data[key] for key in _RUN_FIELDS}
        out.update(self.model_kwargs())
        return out


def scenario_hash(scenario: Scenario) -> str:
    """Short stable fingerprint (8 hex digits) of the resolved scenario, for result folder names."""
    text = json.dumps(scenario.resolved_dict(), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
