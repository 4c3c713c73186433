"""Scenario schema: typed parameters, firm presets, YAML loading and overrides.

Every number of docs/MODEL_SPEC.md's parameter tables is a field here, with
the spec's default, an allowed range and a one-line description. A scenario
is a YAML mapping of those fields plus run settings (name, seed,
replications); `--set KEY=VALUE` overrides change single values. Every bad
input becomes a one-line `ScenarioError` that names the source, the key and
what is allowed, so a modeller can fix a file without reading a traceback.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import numbers
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import annotated_types
import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic.fields import FieldInfo
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
    "apply_overrides",
    "load_scenario",
    "scenario_hash",
    "validate_config",
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

    posts_per_day: Real = Field(ge=0.0, description="mean posts per day (Poisson)")
    promo_share: Real = _prob(..., "share of posts that are promo (the rest are value)")
    quality: Real = Field(ge=0.0, le=10.0, description="quality of value content (scales appeal_value)")
    ads_per_day: Count = Field(ge=0, description="ad impressions bought per day")
    reply_rate: Real = _prob(..., "probability a comment is answered")
    delete_critics: Real = _prob(..., "probability an unanswered negative comment is deleted")
    budget: Real = Field(ge=0.0, description="daily budget; unspent budget is lost")


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
            loc, message, got = problems[0]
            if loc[0] != "weak_ties":
                loc = ("firms", *loc)
            raise PydanticCustomError(
                "inconsistent",
                message,
                {"loc": loc, "got": got, "more": len(problems) - 1},
            )
        return self


# --------------------------------------------------------------------------
# Scenario
# --------------------------------------------------------------------------

_RUN_FIELDS = ("name", "description", "seed", "replications")
_FIRM_ORDER = ("name", "preset", "home", *FirmParams.model_fields)


class Scenario(ModelConfig):
    """A scenario file: run settings plus the model configuration."""

    name: str = Field("scenario", min_length=1, max_length=200, description="scenario name")
    description: str = Field("", description="free text: what the scenario is for")
    seed: Count = Field(42, ge=0, description="base random seed of the runs")
    replications: Count = Field(1, ge=1, le=10_000, description="independent runs of the scenario")

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


# --------------------------------------------------------------------------
# Validation errors as one line
# --------------------------------------------------------------------------


def _format_path(loc: Iterable[Any]) -> str:
    """('firms', 1, 'home', 0) -> 'firms[1].home[0]'."""
    out = ""
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _show(value: Any, limit: int = 60) -> str:
    """A short one-line rendering of an offending value."""
    if isinstance(value, tuple):
        value = list(value)
    text = repr(value).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _number(x: Any) -> str:
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return str(x)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The BaseModel class inside an annotation such as list[FirmSpec], if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _resolve(cls: type[BaseModel], loc: tuple) -> tuple[FieldInfo | None, type[BaseModel] | None]:
    """The field at ``loc`` and the model class it holds (``cls`` itself for the empty loc).

    List indices are skipped, so ('firms', 1, 'quality') finds FirmSpec's quality
    field. (None, None) when ``loc`` leaves the schema.
    """
    model: type[BaseModel] | None = cls
    field: FieldInfo | None = None
    for part in loc:
        if isinstance(part, int):
            continue
        if model is None or not isinstance(part, str) or part not in model.model_fields:
            return None, None
        field = model.model_fields[part]
        model = _model_in(field.annotation)
    return field, model


def _choices(annotation: Any) -> list[Any]:
    """The values of the Literal inside an annotation, in declaration order."""
    if get_origin(annotation) is Literal:
        return list(get_args(annotation))
    return [c for arg in get_args(annotation) for c in _choices(arg)]


def _bounds(field: FieldInfo | None, ctx: Mapping[str, Any]) -> str:
    """'between 0 and 1', '> 0 and <= 1000', '>= 0', ... from the field's constraints."""
    found: dict[str, Any] = {}
    if field is not None:
        for meta in field.metadata:
            for name in ("ge", "gt", "le", "lt"):
                if isinstance(meta, getattr(annotated_types, name.capitalize())):
                    found[name] = getattr(meta, name)
    for name in ("ge", "gt", "le", "lt"):
        if name in ctx:
            found.setdefault(name, ctx[name])
    if "ge" in found and "le" in found:
        return f"between {_number(found['ge'])} and {_number(found['le'])}"
    symbols = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
    parts = [f"{symbols[n]} {_number(found[n])}" for n in ("gt", "ge", "lt", "le") if n in found]
    return " and ".join(parts) or "within its range"


_TYPE_MESSAGES = {
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "int_type": "must be an integer",
    "int_from_float": "must be an integer",
    "int_parsing": "must be an integer",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "tuple_type": "must be a pair [x, y]",
    "model_type": "must be a mapping of keys to values",
    "model_attributes_type": "must be a mapping of keys to values",
    "dict_type": "must be a mapping of keys to values",
    "none_required": "must be null",
}


_ABSENT = object()


def _lookup(raw: Any, loc: tuple) -> Any:
    """The value the user gave at ``loc`` (before any coercion), or _ABSENT."""
    node = raw
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return _ABSENT
    return node


def _describe(err: Mapping[str, Any], cls: type[BaseModel], raw: Any) -> tuple[tuple, str, bool, Any]:
    """(location, message, whether to show the input, input) for one pydantic error."""
    kind = err["type"]
    ctx = err.get("ctx") or {}
    loc = tuple(err["loc"]) + tuple(ctx.get("loc", ()))
    given = _lookup(raw, loc)
    value = ctx.get("got", err.get("input") if given is _ABSENT else given)
    field, _ = _resolve(cls, loc)

    if kind == "extra_forbidden":
        key = loc[-1] if loc else ""
        _, parent = _resolve(cls, loc[:-1])
        known = list(parent.model_fields) if parent is not None else []
        close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return loc, f"unknown key{hint}", False, None
    if kind == "missing":
        _, parent = _resolve(cls, loc[:-1])
        if parent is not None and issubclass(parent, FirmParams) and loc[-1] in FirmParams.model_fields:
            return loc, f"missing; give it or choose a preset ({_PRESET_NAMES})", False, None
        return loc, "missing; this key is required", False, None
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return loc, f"must be {_bounds(field, ctx)}", True, value
    if kind == "literal_error":
        choices = _choices(field.annotation) if field is not None else []
        allowed = ", ".join(repr(c) for c in choices) or ctx.get("expected", "")
        return loc, f"must be one of {allowed}", True, value
    if kind == "string_pattern_mismatch":
        return (
            loc,
            "must start with a letter or '_' and contain only letters, digits and '_'",
            True,
            value,
        )
    if kind in ("too_short", "too_long"):
        if field is not None and loc and loc[-1] == "firms":
            return loc, "must list at least one firm", True, value
        if loc and loc[-1] == "home":
            return loc, "must be a pair [x, y]", True, value
        if kind == "too_short":
            return loc, f"must have at least {ctx.get('min_length')} items", True, value
        return loc, f"must have at most {ctx.get('max_length')} items", True, value
    if kind == "string_too_short":
        return loc, "must not be empty", True, value
    if kind == "string_too_long":
        return loc, f"must be at most {ctx.get('max_length')} characters long", True, value
    if kind in _TYPE_MESSAGES:
        return loc, _TYPE_MESSAGES[kind], True, value
    # Our own PydanticCustomErrors carry a one-line message; anything else: pydantic's own text.
    message = " ".join(str(err.get("msg", kind)).split())
    if kind not in ("unknown_preset", "inconsistent") and message:
        message = message[0].lower() + message[1:]
    return loc, message, "got" in ctx or kind not in ("value_error", "assertion_error"), value


def _validation_error(
    exc: ValidationError,
    raw: Any,
    source: str,
    cls: type[BaseModel],
    overridden: Mapping[str, str] | None = None,
) -> ScenarioError:
    """Turn pydantic's multi-line report into one ScenarioError line (first error only)."""
    errors = exc.errors()
    first = errors[0]
    loc, message, show_value, value = _describe(first, cls, raw)
    more = len(errors) - 1 + int((first.get("ctx") or {}).get("more", 0))
    path = _format_path(loc)
    prefix = f"{source}: {path}" if path else source
    for set_path, set_key in (overridden or {}).items():
        if path == set_path or path.startswith((set_path + ".", set_path + "[")):
            prefix = f"--set {set_key}{path[len(set_path):]}"
            break
        if path and set_path.startswith((path + ".", path + "[")):
            # the override created sub-keys under a key that takes a single value
            prefix = f"--set {set_key}: {path}"
            break
    text = f"{prefix}: {message}"
    if show_value:
        text += f" (got {_show(value)})"
    if more:
        text += f" (and {more} more error{'s' if more > 1 else ''})"
    return ScenarioError(text)


def validate_config(raw: Any, source: str, cls: type[BaseModel] = Scenario) -> Any:
    """Validate ``raw`` with ``cls``; any problem becomes a one-line ScenarioError."""
    return _validate(raw, source, cls, None)


def _validate(raw: Any, source: str, cls: type[BaseModel], overridden: Mapping[str, str] | None) -> Any:
    try:
        return cls.model_validate(raw)
    except ValidationError as exc:
        raise _validation_error(exc, raw, source, cls, overridden) from None


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


def _parse_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader


def _yaml_problem(exc: yaml.YAMLError) -> str:
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
        raw = _parse_yaml(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{source}: {_yaml_problem(exc)}") from None
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
            value = _parse_yaml(text) if text.strip() else None
        except yaml.YAMLError as exc:
            problem = _yaml_problem(exc)
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
