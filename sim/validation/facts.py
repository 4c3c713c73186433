"""Facts files: published figures with their sources, validated like scenarios.

A facts file is YAML with one key, ``facts``: a list of facts, each naming
the model quantity that computes it (a key of `sim.validation.quantities.
QUANTITIES`), the published range, era, platform and source. Validation
runs through the scenario machinery (`sim.scenario.io.load_scenario` with
this schema), so a bad file ends in one line that names the file and key,
e.g. ``my.yaml: facts[2].range: reversed: low 0.2 is above high 0.1``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from sim.scenario.io import load_scenario
from sim.scenario.schema import Count, Real
from sim.validation.quantities import QUANTITIES

DEFAULT_FACTS = Path(__file__).with_name("facts.yaml")

_STRICT = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)
Text = Annotated[str, Field(min_length=1)]


def _to_pair(value: Any) -> Any:
    """A range comes from YAML as a list of two numbers."""
    if isinstance(value, (list, tuple)) and len(value) != 2:
        raise PydanticCustomError("not_a_pair", "must be a pair [low, high]", {"got": list(value)})
    return tuple(value) if isinstance(value, list) else value


Pair = Annotated[tuple[Real, Real], BeforeValidator(_to_pair)]


class Source(BaseModel):
    """Where a published figure comes from."""

    model_config = _STRICT
    authors: Text
    title: Text
    venue: Text = Field(description="journal, conference or publisher")
    year: Count = Field(ge=1900, le=2100)
    url: str | None = None


class Fact(BaseModel):
    """One published figure and the model quantity that should reproduce it."""

    model_config = _STRICT
    id: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64)
    description: Text = Field(description="one line: what the figure measures")
    quantity: str = Field(description="the model quantity computing it (python run.py validate --list)")
    range: Pair = Field(description="[low, high], the published band in the quantity's unit")
    era: Text
    platform: Text
    source: Source
    checked: str = Field("", description="what was found at the source, and what was not")
    mapping: str = Field("", description="how the model quantity maps onto the published definition")
    scale_sensitive: bool = Field(False, description="whether the model value depends on the world's size")
    scale: Literal["linear", "log"] = Field(
        "linear", description="how calibration measures a miss: 'log' (by the factor) or 'linear' (by the band's size)"
    )

    @field_validator("quantity")
    @classmethod
    def _known_quantity(cls, value: str) -> str:
        if value not in QUANTITIES:
            raise PydanticCustomError(
                "unknown_quantity",
                "unknown model quantity; choose one of {allowed}",
                {"allowed": ", ".join(QUANTITIES), "got": value},
            )
        return value

    @model_validator(mode="after")
    def _ordered_range(self) -> Fact:
        low, high = self.range
        if low > high:
            raise PydanticCustomError(
                "inconsistent",
                "reversed: the low bound must not exceed the high bound",
                {"loc": ("range",), "got": [low, high]},
            )
        if self.scale == "log" and not (low >= 0 and high > 0):
            raise PydanticCustomError(
                "inconsistent",
                "a log-scale fact needs 0 <= low and 0 < high; give scale: linear",
                {"loc": ("range",), "got": [low, high]},
            )
        return self

    @property
    def low(self) -> float:
        return self.range[0]

    @property
    def high(self) -> float:
        return self.range[1]

    def citation(self) -> str:
        s = self.source
        return f"{s.authors}, \"{s.title}\", {s.venue}, {s.year}"


class FactTable(BaseModel):
    """A facts file: a list of facts with unique ids."""

    model_config = _STRICT
    facts: list[Fact] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> FactTable:
        seen: set[str] = set()
        for k, fact in enumerate(self.facts):
            if fact.id in seen:
                raise PydanticCustomError(
                    "inconsistent", "duplicate fact id; ids must be unique", {"loc": ("facts", k, "id"), "got": fact.id}
                )
            seen.add(fact.id)
        return self

    @property
    def ids(self) -> list[str]:
        return [fact.id for fact in self.facts]

    def __getitem__(self, fact_id: str) -> Fact:
        for fact in self.facts:
            if fact.id == fact_id:
                return fact
        raise KeyError(fact_id)

    def __len__(self) -> int:
        return len(self.facts)

    def quantities(self) -> list[str]:
        """The model quantities these facts need, each once, in order."""
        return list(dict.fromkeys(fact.quantity for fact in self.facts))

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {"fact": f.id, "quantity": f.quantity, "range_low": f.low, "range_high": f.high, "era": f.era,
                 "platform": f.platform, "source": f.citation(), "scale_sensitive": f.scale_sensitive, "scale": f.scale}
                for f in self.facts
            ]
        )  # fmt: skip


def load_facts(path: str | Path | None = None) -> FactTable:
    """Read and validate a facts file (default: the shipped facts.yaml); bad input -> one-line ScenarioError."""
    return load_scenario(DEFAULT_FACTS if path is None else path, (), cls=FactTable)
