"""Model functions for sweeps: (parameter values, seed) -> named outputs.

The sweep engine only sees this interface (as in the EMA workbench, a model
is a function from parameters to outcomes):

- ``parameter(key) -> ParameterInfo``: the type and allowed range of a
  parameter the sweep may vary; ``KeyError`` for an unknown key.
- ``parameter_names()``: every key, for "did you mean" hints.
- ``output_problem(name) -> str | None`` and ``output_kind(name)``
  (``"float"`` or ``"string"``).
- ``check_point(params) -> str | None``: a problem with one design point
  (cross-field rules), before anything runs.
- ``steps(params)``: the run length, part of the run id (None if none).
- ``__call__(params, seed) -> dict``: run once and return every output.

`MarketSweepModel` runs the attention market; `Ishigami` is SALib's test
function with analytic Sobol' indices, so the engine can be checked on a
known answer. Both are plain picklable objects, shipped to Dask workers.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
import numpy as np

from sim.scenario import FirmParams, ModelConfig, ModelParams, ScenarioError, validate_config
from sim.scenario.schema import PER_CAPITA, MarketParams

PER_CAPITA_PAIRS = tuple(PER_CAPITA.items())  # (ads_share, ads_per_day), (budget_per_10k, budget)
from sim.runs.statistics import SUMMARY_METRICS

DERIVED_OUTPUTS = ("late_reach_gap", "winner", "crossover_day")
RUN_SETTINGS = ("name", "description", "seed", "replications")


@dataclass(frozen=True)
class ParameterInfo:
    """What values a parameter takes: its kind and allowed range (or choices)."""

    kind: Literal["int", "float", "category"]
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: tuple = field(default_factory=tuple)

    def admits(self, value: float) -> bool:
        """Whether a number lies in the allowed range."""
        return not (
            (self.ge is not None and value < self.ge)
            or (self.gt is not None and value <= self.gt)
            or (self.le is not None and value > self.le)
            or (self.lt is not None and value >= self.lt)
        )

    def allowed(self) -> str:
        """The allowed range in words: 'between 0 and 1', '> 0 and <= 1000', 'one of ...'."""
        if self.kind == "category":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        kind = "an integer" if self.kind == "int" else "a number"
        if self.ge is not None and self.le is not None:
            return f"{kind} between {_num(self.ge)} and {_num(self.le)}"
        symbols = (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="))
        parts = [f"{s} {_num(getattr(self, n))}" for n, s in symbols if getattr(self, n) is not None]
        if not parts:
            return "any integer" if self.kind == "int" else "any number"
        return f"{kind} " + " and ".join(parts)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _plain(annotation: Any) -> Any:
    """int for ``int``, ``Annotated[int, ...]`` and ``Annotated[int, ...] | None`` (a firm's ads or budget)."""
    if get_origin(annotation) in (Union, UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        annotation = args[0] if len(args) == 1 else annotation
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def schema_info(cls: type, name: str) -> ParameterInfo | None:
    """ParameterInfo of a pydantic field: int, float or Literal; None for other types."""
    info = cls.model_fields[name]
    annotation = _plain(info.annotation)
    if get_origin(annotation) is Literal:
        return ParameterInfo("category", choices=get_args(annotation))
    if annotation not in (int, float):
        return None
    bounds = {}
    for meta in info.metadata:
        for attr in ("ge", "gt", "le", "lt"):
            if isinstance(meta, getattr(annotated_types, attr.capitalize())):
                bounds[attr] = float(getattr(meta, attr))
    return ParameterInfo("int" if annotation is int else "float", **bounds)


class MarketSweepModel:
    """The attention market as a sweep model: a base configuration plus sampled values.

    Keys are dotted as in ``--set``: a model-wide parameter (``attention_mean``)
    or a firm field (``firms.dialogue.reply_rate``). Outputs: ``FIRM.metric``
    for every per-run summary metric, plus ``late_reach_gap`` (the second
    firm's late reach minus the first's), ``winner`` (the firm with the
    higher late reach; ``tie`` if equal) and ``crossover_day``.
    """

    def __init__(self, base: dict[str, Any]):
        self.base = copy.deepcopy(base)
        self.firm_names = [firm["name"] for firm in self.base["firms"]]

    # -- the interface of a sweep model ----------------------------------------

    def parameter_names(self) -> list[str]:
        names = [n for n in ModelParams.model_fields if schema_info(ModelParams, n) is not None]
        names += [f"market.{f}" for f in MarketParams.model_fields if schema_info(MarketParams, f) is not None]
        names += [f"firms.{firm}.{f}" for firm in self.firm_names for f in FirmParams.model_fields]
        return names

    def parameter(self, key: str) -> ParameterInfo:
        parts = key.split(".")
        if key in RUN_SETTINGS:
            raise KeyError(f"{key!r} is a run setting, not a model parameter; the sweep's own seed and replications apply")
        if len(parts) == 1 and key in ModelParams.model_fields:
            info = schema_info(ModelParams, key)
        elif len(parts) == 2 and parts[0] == "market" and parts[1] in MarketParams.model_fields:
            info = schema_info(MarketParams, parts[1])
        elif len(parts) == 3 and parts[0] == "firms":
            if parts[1] not in self.firm_names:
                names = ", ".join(repr(n) for n in self.firm_names)
                raise KeyError(f"no firm named {parts[1]!r} in the base scenario; firms are {names}")
            if parts[2] not in FirmParams.model_fields:
                raise KeyError(f"unknown firm field {parts[2]!r}")
            info = schema_info(FirmParams, parts[2])
        else:
            raise KeyError("unknown parameter")
        if info is None:
            raise KeyError("not a number or a choice, so it cannot be swept")
        return info

    def output_problem(self, name: str) -> str | None:
        if name in DERIVED_OUTPUTS:
            if len(self.firm_names) < 2 and name != "crossover_day":
                return f"needs at least two firms; the base scenario has {len(self.firm_names)}"
            return None
        firm, _, metric = name.partition(".")
        if not metric:
            return f"unknown output; give FIRM.metric (metrics: {', '.join(SUMMARY_METRICS)}) or one of {', '.join(DERIVED_OUTPUTS)}"
        if firm not in self.firm_names:
            return f"no firm named {firm!r}; firms are {', '.join(repr(n) for n in self.firm_names)}"
        if metric not in SUMMARY_METRICS:
            return f"unknown metric {metric!r}; metrics are {', '.join(SUMMARY_METRICS)}"
        return None

    def output_kind(self, name: str) -> str:
        return "string" if name == "winner" else "float"

    def check_point(self, params: dict[str, Any]) -> str | None:
        try:
            validate_config(self.config(params), "point", cls=ModelConfig)
        except ScenarioError as err:
            return str(err).removeprefix("point: ")
        return None

    def steps(self, params: dict[str, Any]) -> int:
        return int(params.get("steps", self.base["steps"]))

    def __call__(self, params: dict[str, Any], seed: int) -> dict[str, Any]:
        from sim.model.market import MarketModel
        from sim.model.outputs import run_summary

        model = MarketModel(seed=seed, **self.config(params))
        try:
            while model.running:
                model.step()
            summary = run_summary(model.firm_table(), model.cascade_table())
        finally:
            free_model(model)
        return self.outputs(summary.set_index("firm"))

    # -- helpers -----------------------------------------------------------------

    def config(self, params: dict[str, Any]) -> dict[str, Any]:
        """The model's keyword arguments: the base with the sampled values put in."""
        config = copy.deepcopy(self.base)
        for key, value in params.items():
            parts = key.split(".")
            if parts[0] == "firms":
                firm = config["firms"][self.firm_names.index(parts[1])]
                firm[parts[2]] = value
                for one, other in PER_CAPITA_PAIRS:  # a swept form of a firm's ads or budget replaces the other
                    if parts[2] in (one, other):
                        firm.pop(other if parts[2] == one else one, None)
            elif parts[0] == "market":
                config["market"] = {**config.get("market", {}), parts[1]: value}
            else:
                config[key] = value
        return config

    def outputs(self, summary) -> dict[str, Any]:
        """Every output of one run, from its per-firm summary table (indexed by firm)."""
        values: dict[str, Any] = {
            f"{firm}.{metric}": float(summary.at[firm, metric])
            for firm in self.firm_names
            for metric in SUMMARY_METRICS
        }
        late = summary.loc[self.firm_names, "late_reach"].astype(float)
        values["crossover_day"] = float(summary["crossover_day"].iloc[0])
        if len(self.firm_names) >= 2:
            values["late_reach_gap"] = float(late.iloc[1] - late.iloc[0])
            leaders = late.index[late == late.max()]
            values["winner"] = str(leaders[0]) if len(leaders) == 1 else "tie"
        return values


def free_model(model) -> None:
    """Drop Mesa's global references to a finished model (see `sim.runs.runner.release`).

    In a long-lived worker running thousands of models they would otherwise
    keep every model, its grid and its arrays alive.
    """
    from sim.runs.runner import release

    release(model)


class Ishigami:
    """SALib's Ishigami function, y = sin x1 + a sin^2 x2 + b x3^4 sin x1, as a sweep model.

    Optional Gaussian ``noise`` (standard deviation), drawn from the run's
    seed, stands in for a stochastic model's replication noise.
    """

    A, B = 7.0, 0.1
    KEYS = ("x1", "x2", "x3")

    def __init__(self, noise: float = 0.0):
        self.noise = noise

    @classmethod
    def analytic(cls) -> dict[str, np.ndarray]:
        """The exact first-order and total Sobol' indices on [-pi, pi]^3."""
        a, b, pi = cls.A, cls.B, math.pi
        v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
        v2 = a**2 / 8
        v13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
        var = v1 + v2 + v13
        return {
            "S1": np.array([v1, v2, 0.0]) / var,
            "ST": np.array([v1 + v13, v2, v13]) / var,
            "variance": np.array(var),
        }

    def parameter_names(self) -> list[str]:
        return list(self.KEYS)

    def parameter(self, key: str) -> ParameterInfo:
        if key not in self.KEYS:
            raise KeyError("unknown parameter")
        return ParameterInfo("float")

    def output_problem(self, name: str) -> str | None:
        return None if name == "y" else "unknown output; the Ishigami function has one output, 'y'"

    def output_kind(self, name: str) -> str:
        return "float"

    def check_point(self, params: dict[str, Any]) -> str | None:
        return None

    def steps(self, params: dict[str, Any]) -> None:
        return None

    def __call__(self, params: dict[str, Any], seed: int) -> dict[str, Any]:
        x1, x2, x3 = (float(params[k]) for k in self.KEYS)
        y = math.sin(x1) + self.A * math.sin(x2) ** 2 + self.B * x3**4 * math.sin(x1)
        if self.noise:
            y += self.noise * np.random.default_rng(seed).standard_normal()
        return {"y": y}
