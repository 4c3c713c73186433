"""The study as a sweep model: unit coordinates in, the mechanism's numbers out.

The sweep engine draws a Latin hypercube over the unit cube, one coordinate
per region dimension; `StudyModel` maps a point to parameter values (bounds
scaled, choices cut into equal strata, or a posterior row drawn by weight),
runs the attention market and returns, besides the values it used, every
per-run number the analysis needs: early and late reach per firm, late
reach by channel (organic, paid, earned, reply), followers, fatigue,
cascade sizes, the crossover day and the winners. It has the interface of
`sim.jobs.models` and is a plain picklable object for Dask workers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sim.jobs.models import MarketSweepModel, ParameterInfo, free_model

CHANNELS = ("organic_reach", "paid_reach", "earned_reach", "reply_reach")
FIRM_METRICS = (
    "early_reach", "late_reach", *(f"late_{c}" for c in CHANNELS), "followers_final", "late_followers",
    "late_fatigue", "trust_final", "cascade_mean", "cascade_max", "shared_items",
)  # fmt: skip
RUN_METRICS = ("winner", "early_winner", "late_reach_gap", "early_reach_gap", "crossover_day")
STRING_OUTPUTS = ("winner", "early_winner")
TIE = "tie"


class StudyModel:
    """The attention market over a study's region, in unit coordinates."""

    def __init__(self, study):
        self.market = MarketSweepModel(study.base)
        self.dims = {d.unit_key: d for d in study.dims}
        self.posterior = study.posterior
        self.keys = study.keys
        self.firms = study.firms
        self.kinds = study.kinds()
        self.outputs_ = self.output_names(self.firms, self.keys)

    @staticmethod
    def output_names(firms: list[str], keys: list[str]) -> list[str]:
        """The run's columns besides its coordinates: parameter values, firm metrics, run metrics."""
        return [*keys, *(f"{f}.{m}" for f in firms for m in FIRM_METRICS), *RUN_METRICS]

    # -- the interface of a sweep model ----------------------------------------

    def parameter_names(self) -> list[str]:
        return list(self.dims) if self.posterior is None else ["unit:posterior"]

    def parameter(self, key: str) -> ParameterInfo:
        if key not in self.parameter_names():
            raise KeyError("unknown parameter")
        return ParameterInfo("float", ge=0.0, le=1.0)

    def output_problem(self, name: str) -> str | None:
        return None if name in self.outputs_ else "not an output of a study"

    def output_kind(self, name: str) -> str:
        if name in STRING_OUTPUTS:
            return "string"
        kind = self.kinds.get(name)
        return {"int": "int", "category": "string"}.get(kind, "float")

    def check_point(self, params: dict[str, Any]) -> str | None:
        return self.market.check_point(self.values(params))

    def steps(self, params: dict[str, Any]) -> int:
        return self.market.steps(self.values(params))

    def __call__(self, params: dict[str, Any], seed: int) -> dict[str, Any]:
        from sim.model.market import MarketModel

        values = self.values(params)
        model = MarketModel(seed=seed, **self.market.config(values))
        try:
            while model.running:
                model.step()
            firms, cascades = model.firm_table(), model.cascade_table()
        finally:
            free_model(model)
        return {**values, **run_metrics(firms, cascades, self.firms)}

    # -- helpers -----------------------------------------------------------------

    def values(self, params: dict[str, Any]) -> dict[str, Any]:
        """The parameter values of a point in unit coordinates."""
        if self.posterior is not None:
            return self.posterior.row(params["unit:posterior"])
        return {self.dims[key].key: self.dims[key].value(u) for key, u in params.items()}


def run_metrics(firm_table: pd.DataFrame, cascades: pd.DataFrame, firms: list[str]) -> dict[str, Any]:
    """Every per-run number of the mechanism comparison, from one run's daily tables."""
    from sim.model.outputs import LATE_DAYS, crossover_day, early_reach, late_reach, reach_matrix

    reach = reach_matrix(firm_table)
    early, late = early_reach(reach), late_reach(reach)
    last_days = sorted(firm_table["step"].unique())[-LATE_DAYS:]
    window = firm_table[firm_table["step"].isin(last_days)].groupby("firm")
    final = firm_table[firm_table["step"] == firm_table["step"].max()].set_index("firm")
    out: dict[str, Any] = {}
    for f in firms:
        sizes = cascades.loc[cascades["firm"] == f, "cascade_size"].to_numpy(dtype=float)
        late_rows = window.get_group(f)
        out.update({
            f"{f}.early_reach": float(early[f]), f"{f}.late_reach": float(late[f]),
            **{f"{f}.late_{c}": float(late_rows[c].mean()) for c in CHANNELS},
            f"{f}.followers_final": float(final.at[f, "followers"]),
            f"{f}.late_followers": float(late_rows["followers"].mean()),
            f"{f}.late_fatigue": float(late_rows["fatigue_followers"].mean()),
            f"{f}.trust_final": float(final.at[f, "trust_mean"]),
            f"{f}.cascade_mean": float(sizes.mean()) if sizes.size else 0.0,
            f"{f}.cascade_max": float(sizes.max()) if sizes.size else 0.0,
            f"{f}.shared_items": float((sizes > 0).mean()) if sizes.size else 0.0,
        })  # fmt: skip
    out["winner"] = leader(late[firms])
    out["early_winner"] = leader(early[firms])
    out["late_reach_gap"] = float(late[firms[1]] - late[firms[0]])
    out["early_reach_gap"] = float(early[firms[1]] - early[firms[0]])
    out["crossover_day"] = crossover_day(reach[firms])
    return out


def leader(values: pd.Series) -> str:
    """The firm strictly ahead; ``tie`` if several share the top value."""
    top = values[values == values.max()]
    return str(top.index[0]) if len(top) == 1 and np.isfinite(values.max()) else TIE
