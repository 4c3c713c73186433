"""One-line messages for invalid scenarios: pydantic errors become ScenarioErrors.

pydantic reports a bad input as a multi-line, type-oriented ValidationError.
A modeller fixing a scenario file wants one line that names the source, the
key and what is allowed, e.g. ``s.yaml: firms[1].quality: must be between 0
and 10 (got 12)``. This module does that translation, reading ranges, choices
and field names from the schema in `sim.scenario`; `validate_config` is the
entry point (re-exported by `sim.scenario`), `_validate` the variant
`sim.scenario.io` uses to credit `--set` overrides in the message.
"""

from __future__ import annotations

import difflib
import reprlib
from collections.abc import Iterable, Mapping
from typing import Any, Literal, get_args, get_origin

import annotated_types
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from sim.scenario.schema import _PRESET_NAMES, FirmParams, Scenario, ScenarioError

__all__ = ["MAX_ERRORS_SHOWN", "show_value", "validate_config"]

MAX_ERRORS_SHOWN = 10  # a file with more mistakes lists the first ten and counts the rest

_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxtuple, _REPR.maxdict = 3, 6, 6, 6
_REPR.maxset, _REPR.maxstring, _REPR.maxother, _REPR.maxlong = 6, 60, 60, 40

# the name patterns of the schemas, in words
_PATTERN_WORDS = {
    r"^[A-Za-z_][A-Za-z0-9_]*$": "must start with a letter or '_' and contain only letters, digits and '_'",
    r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$": "must start with a letter, a digit or '_' and contain only letters, digits, "
    "'_', '.' and '-'",
}


def _format_path(loc: Iterable[Any]) -> str:
    """('firms', 1, 'home', 0) -> 'firms[1].home[0]'."""
    out = ""
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def show_value(value: Any, limit: int = 60) -> str:
    """A short one-line rendering of an offending value, whatever its size.

    reprlib caps every level (items per list, characters per string, depth),
    so a huge value (a shared-alias "bomb", a megabyte string) costs no more
    than a small one; the text is then cut to ``limit`` characters.
    """
    if isinstance(value, tuple):
        value = list(value)
    try:
        text = _REPR.repr(value)
    except Exception:  # noqa: BLE001 - a value whose repr fails is shown by its type
        text = f"<{type(value).__name__}>"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


_show = show_value


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
    if kind == "firm_without_preset":
        fields = ctx["fields"]
        shown = ", ".join(fields) if len(fields) <= 3 else f"{', '.join(fields[:3])} and {len(fields) - 3} more"
        return loc, (f"missing; choose a preset ({_PRESET_NAMES}), or give every firm field "
                     f"(missing: {shown})"), False, None  # fmt: skip
    if kind == "missing":  # a firm's missing fields come as firm_without_preset
        return loc, "missing; this key is required", False, None
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return loc, f"must be {_bounds(field, ctx)}", True, value
    if kind == "literal_error":
        choices = _choices(field.annotation) if field is not None else []
        allowed = ", ".join(repr(c) for c in choices) or ctx.get("expected", "")
        return loc, f"must be one of {allowed}", True, value
    if kind == "string_pattern_mismatch":
        return loc, _PATTERN_WORDS.get(ctx.get("pattern"), f"must match {ctx.get('pattern')}"), True, value
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
    """Turn pydantic's report into a ScenarioError: one line per mistake, at most MAX_ERRORS_SHOWN.

    Each line names the source (or the --set override), the key and what is
    allowed, so a file with several mistakes is fixed in one round.
    """
    lines: list[str] = []
    for err in _one_per_firm_without_preset(list(_expanded(exc.errors())), cls):
        line = _error_line(err, raw, source, cls, overridden)
        if line not in lines:
            lines.append(line)
    if len(lines) > MAX_ERRORS_SHOWN:
        rest = len(lines) - MAX_ERRORS_SHOWN
        lines = lines[:MAX_ERRORS_SHOWN] + [f"{source}: ... and {rest} more error{'s' if rest > 1 else ''}"]
    return ScenarioError("\n".join(lines))


def _one_per_firm_without_preset(errors: list[Mapping[str, Any]], cls: type[BaseModel]) -> list[Mapping[str, Any]]:
    """A firm with neither a preset nor all its fields is one mistake (no preset), not one per field.

    The fields' 'missing' errors of each such firm become one error at
    ``firms[k].preset`` that lists them.
    """
    missing: dict[tuple, list[str]] = {}
    for err in errors:
        loc = tuple(err["loc"])
        if err["type"] == "missing" and loc[-1:] and loc[-1] in FirmParams.model_fields:
            _, parent = _resolve(cls, loc[:-1])
            if parent is not None and issubclass(parent, FirmParams):
                missing.setdefault(loc[:-1], []).append(str(loc[-1]))
    out: list[Mapping[str, Any]] = []
    for err in errors:
        loc = tuple(err["loc"])
        firm = loc[:-1]
        if err["type"] != "missing" or firm not in missing:
            out.append(err)
        elif missing[firm]:
            fields = missing.pop(firm)
            out.append({"type": "firm_without_preset", "loc": (*firm, "preset"), "msg": "", "ctx": {"fields": fields}})
            missing[firm] = []  # the firm's other missing fields are said in that one line
    return out


def _expanded(errors: list[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
    """pydantic's errors, with the extra problems a cross-field check carries in ctx['others']."""
    for err in errors:
        ctx = dict(err.get("ctx") or {})
        others = ctx.pop("others", ())
        yield {**err, "ctx": ctx}
        for loc, message, got in others:
            yield {"type": err["type"], "loc": err["loc"], "msg": message, "ctx": {"loc": loc, "got": got}}


def _error_line(
    err: Mapping[str, Any], raw: Any, source: str, cls: type[BaseModel], overridden: Mapping[str, str] | None
) -> str:
    loc, message, show, value = _describe(err, cls, raw)
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
    if show:
        text += f" (got {_show(value)})"
    return text


def validate_config(raw: Any, source: str, cls: type[BaseModel] = Scenario) -> Any:
    """Validate ``raw`` with ``cls``; any problem becomes a one-line ScenarioError."""
    return _validate(raw, source, cls, None)


def _validate(raw: Any, source: str, cls: type[BaseModel], overridden: Mapping[str, str] | None) -> Any:
    try:
        return cls.model_validate(raw)
    except ValidationError as exc:
        raise _validation_error(exc, raw, source, cls, overridden) from None
