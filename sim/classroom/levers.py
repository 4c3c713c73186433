"""The platform rules the teacher can change between rounds, as data.

`TEACHER_LEVERS` lists the keys shown on the teacher page. A key that is a
model parameter (a field of `sim.scenario.ModelParams`) needs nothing more:
its choices or range and its label come from the schema, and changing it
goes through `adapter.apply_platform`, which validates it and rebuilds the
tables the model caches: the page market's ``source_diversity`` and
``quality_ranking`` are listed here and need nothing else. Levers that are not a parameter (attention, whose budgets
are drawn once) are defined in `SPECIAL`.
"""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass
from typing import Any

from annotated_types import Ge, Gt, Le, Lt

from sim.classroom import adapter
from sim.scenario import ModelParams, Scenario, ScenarioError

TEACHER_LEVERS = ("ranking", "attention_scale", "source_diversity", "quality_ranking")
ATTENTION_SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)


@dataclass(frozen=True)
class Lever:
    """One rule: a key, a label, either a list of choices or a numeric range, and its starting value."""

    key: str
    label: str
    choices: tuple[Any, ...] = ()
    low: float = -math.inf
    high: float = math.inf
    param: bool = True  # a model parameter (applied by adapter.apply_platform)
    low_open: bool = False  # the low end is excluded (source_diversity > 0)

    def parse(self, raw: Any) -> tuple[Any, str | None]:
        """(value, None) if ``raw`` is allowed, else (None, message)."""
        if self.choices:
            for choice in self.choices:
                if str(raw) == str(choice):
                    return choice, None
            return None, f"must be one of {', '.join(str(c) for c in self.choices)}"
        try:
            value = float(str(raw).strip())
        except ValueError:
            return None, f"not a number: enter a number from {self.low:g} to {self.high:g}"
        if not math.isfinite(value) or not self.low <= value <= self.high or (self.low_open and value == self.low):
            if self.low_open:
                return None, f"must be above {self.low:g} and at most {self.high:g}"
            return None, f"must be from {self.low:g} to {self.high:g}"
        return value, None


SPECIAL = {
    "attention_scale": Lever(
        "attention_scale", "Attention: items a user reads a day, times", choices=ATTENTION_SCALES, param=False
    ),
}


def param_lever(key: str) -> Lever:
    """A lever for model parameter ``key``, its choices or range read from the schema."""
    field = ModelParams.model_fields.get(key)
    if field is None:
        raise ScenarioError(f"teacher lever {key!r}: not a model parameter nor one of {', '.join(SPECIAL)}")
    if key in adapter.SET_UP_ONLY:
        raise ScenarioError(f"teacher lever {key!r}: drawn when the world is built, it cannot change between rounds")
    label = (field.description or key).split(":")[0].capitalize()
    if typing.get_origin(field.annotation) is typing.Literal:
        return Lever(key, label, choices=typing.get_args(field.annotation))
    low, high, low_open = -math.inf, math.inf, False
    for bound in field.metadata:
        if isinstance(bound, (Ge, Gt)):
            low = float(getattr(bound, "ge", getattr(bound, "gt", low)))
            low_open = isinstance(bound, Gt)
        if isinstance(bound, (Le, Lt)):
            high = float(getattr(bound, "le", getattr(bound, "lt", high)))
    return Lever(key, label, low=low, high=high, low_open=low_open)


def teacher_levers(keys: tuple[str, ...] = TEACHER_LEVERS) -> tuple[Lever, ...]:
    """The levers of the teacher page, in order."""
    return tuple(SPECIAL[key] if key in SPECIAL else param_lever(key) for key in keys)


def starting_values(scenario: Scenario, levers: tuple[Lever, ...]) -> dict[str, Any]:
    """Each lever's value in the scenario (attention: 1, the scenario's own)."""
    return {lever.key: (getattr(scenario, lever.key) if lever.param else 1.0) for lever in levers}


def apply_levers(model, levers: tuple[Lever, ...], values: dict[str, Any]) -> None:
    """Set every lever of ``values`` in a running model (adapter does the rebuilding)."""
    params = {lever.key: values[lever.key] for lever in levers if lever.param and lever.key in values}
    if params:
        adapter.apply_platform(model, params)
    if "attention_scale" in values:
        adapter.scale_attention(model, float(values["attention_scale"]))
