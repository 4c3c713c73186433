"""Scenarios: the typed parameter schema, YAML loading, `--set` overrides and one-line errors.

`schema` defines every parameter with its default and range, `errors` turns
validation failures into messages that name the file, the key and what is
allowed, and `io` reads YAML and applies dotted overrides; `changes` records
a scenario's overrides (for its report and folder name), `paths` finds
shipped files from any folder, and `arguments` checks the Python API's
arguments. The imports run one way: schema <- errors <- changes <- io.
"""

from sim.scenario.errors import validate_config
from sim.scenario.io import apply_overrides, load_scenario
from sim.scenario.schema import (
    DEFAULT_FIRMS,
    PRESETS,
    FirmParams,
    FirmSpec,
    ModelConfig,
    ModelParams,
    Scenario,
    ScenarioError,
    scenario_hash,
)

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
