"""The browser demo's model factory: flat slider values in, a MarketModel out.

SolaraViz rebuilds the model on reset by calling the model's class with the
sidebar's values as flat keyword arguments (``pages_followed=300``,
``broadcast_reply_rate=0.5``, ...). `demo_model_class` makes such a class for a
base scenario: it turns the flat values into the scenario's model keyword
arguments and calls `MarketModel`. It only translates parameters; every model
rule stays in `sim.model.market`.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pandas as pd

from sim.model.market import MarketModel
from sim.runs.runner import release as release_registry
from sim.scenario import PRESETS, Scenario, ScenarioError, load_scenario

SCENARIO_ENV = "ATTENTION_MARKET_SCENARIO"
REPO_ROOT = Path(__file__).resolve().parents[2]
CLASSROOM = REPO_ROOT / "scenarios" / "classroom.yaml"
DUEL = REPO_ROOT / "scenarios" / "duel.yaml"
DEMO_SIZE = 50
WORLD_SIZES = (30, 50, 80, 100)
KNOBS = ("posts_per_day", "promo_share", "ads_per_day", "reply_rate", "delete_critics")
CUSTOM = "custom"  # preset choice of a scenario firm that has no preset

__all__ = [
    "DemoMarket", "demo_model_class", "demo_scenario", "firm_rows", "release", "world_line",
]


def release(model: MarketModel) -> None:
    """Let a model the page no longer shows be freed (see `sim.runs.runner.release`)."""
    release_registry(model)


def demo_scenario(path: str | os.PathLike | None = None) -> Scenario:
    """The scenario the demo starts from.

    ``path`` if given, else the file named by $ATTENTION_MARKET_SCENARIO, else
    scenarios/classroom.yaml, else the duel at 50 x 50. Bad files raise
    ScenarioError.
    """
    path = path or os.environ.get(SCENARIO_ENV) or None
    if path is not None:
        return load_scenario(path)
    if CLASSROOM.exists():
        return load_scenario(CLASSROOM)
    size = [f"width={DEMO_SIZE}", f"height={DEMO_SIZE}"]
    if DUEL.exists():
        return load_scenario(DUEL, size)
    return Scenario(name="duel", width=DEMO_SIZE, height=DEMO_SIZE)


class DemoMarket(MarketModel):
    """MarketModel built from the demo's flat controls; `demo_model_class` binds the scenario.

    Every argument left out (or None) keeps the scenario's value. Firm
    controls are named ``<firm>_<field>`` for the fields in KNOBS, plus
    ``<firm>_preset``. A firm starts as in the scenario; choosing another
    preset replaces its strategy (every preset field but the budget, which
    is scaled to the market) by that preset's; then every slider moved away
    from the scenario's value overrides it.
    """

    scenario: Scenario | None = None  # set by demo_model_class

    def __init__(
        self,
        *,
        seed: int | None = None,
        world_size: int | None = None,
        attention_mean: float | None = None,
        pages_followed: float | None = None,
        ranking: str | None = None,
        **kwargs: Any,
    ):
        if self.scenario is None:
            raise TypeError("DemoMarket needs a scenario: build the class with demo_model_class(scenario)")
        # Mesa's SolaraViz accepts per-firm controls only through a parameter named exactly **kwargs
        firm_controls = kwargs
        params = self.scenario.model_kwargs()
        for key, value in (("attention_mean", attention_mean), ("pages_followed", pages_followed), ("ranking", ranking)):
            if value is not None:
                params[key] = value
        if world_size is not None:
            _resize(params, int(world_size))
        params["firms"] = _firms(params["firms"], firm_controls)
        self.demo_seed = self.scenario.seed if seed is None else int(seed)
        self._history: tuple[int, pd.DataFrame] | None = None
        super().__init__(seed=self.demo_seed, **params)

    def history(self) -> pd.DataFrame:
        """`firm_table()`, computed once per day however many plots ask for it."""
        if self._history is None or self._history[0] != self.steps:
            self._history = (self.steps, self.firm_table())
        return self._history[1]


def demo_model_class(scenario: Scenario) -> type[DemoMarket]:
    """A DemoMarket subclass bound to ``scenario`` (SolaraViz rebuilds the model from its class)."""
    return type("AttentionMarket", (DemoMarket,), {"scenario": scenario, "__module__": __name__})


def _resize(kwargs: dict, size: int) -> None:
    """A world ``size`` cells wide, keeping the scenario's aspect ratio and explicit homes' relative places."""
    if size < 3:
        raise ScenarioError(f"world_size: must be at least 3 (got {size})")
    width, height = kwargs["width"], kwargs["height"]
    kwargs["width"], kwargs["height"] = size, max(3, round(size * height / width))
    for firm in kwargs["firms"]:
        if firm.get("home") is not None:
            x, y = firm["home"]
            firm["home"] = [x * kwargs["width"] // width, y * kwargs["height"] // height]


def _firms(firms: list[dict], controls: dict[str, Any]) -> list[dict]:
    """The scenario's firms with the preset choices and moved sliders applied."""
    known = {f"{firm['name']}_{field}": (k, field) for k, firm in enumerate(firms) for field in (*KNOBS, "preset")}
    unknown = sorted(set(controls) - set(known))
    if unknown:
        raise ScenarioError(f"DemoMarket: unknown control {unknown[0]!r}; allowed: {', '.join(sorted(known))}")
    out = [dict(firm) for firm in firms]
    for k, firm in enumerate(firms):
        preset = controls.get(f"{firm['name']}_preset")
        if preset is not None and preset != (firm["preset"] or CUSTOM):
            if preset not in PRESETS:
                raise ScenarioError(f"DemoMarket: {firm['name']}_preset: must be one of {', '.join(PRESETS)} (got {preset!r})")
            out[k].update({key: value for key, value in PRESETS[preset].items() if key != "budget"}, preset=preset)
    for key, value in controls.items():
        k, field = known[key]
        if field != "preset" and value is not None and not _same(value, firms[k][field]):
            out[k][field] = value
    return out


def _same(a: Any, b: Any) -> bool:
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


# --------------------------------------------------------------------------
# Sidebar controls (Mesa model_params) and the plain-words summaries
# --------------------------------------------------------------------------


def model_params(scenario: Scenario) -> dict[str, dict]:
    """Mesa SolaraViz ``model_params``: one control per flat DemoMarket argument, starting at the scenario."""
    sizes = sorted({*WORLD_SIZES, scenario.width})
    params: dict[str, dict] = {
        "pages_followed": _slider("Pages a user follows", scenario.pages_followed, 0, max(400, scenario.pages_followed), 1),
        "attention_mean": _slider("Items a user reads per day", scenario.attention_mean, 1, max(100, scenario.attention_mean), 1),
        "ranking": {"type": "Select", "label": "Feed ranking", "value": scenario.ranking,
                    "values": ["engagement", "chronological"]},
        "world_size": {"type": "Select", "label": "World size (cells per side)", "value": scenario.width, "values": sizes},
        "seed": _slider("Seed (another random world)", scenario.seed, 0, max(100, scenario.seed), 1, integer=True),
    }
    for firm in scenario.firms:
        name, start = firm.name, firm.preset or CUSTOM
        params[f"{name}_preset"] = {"type": "Select", "label": f"{name}: preset", "value": start,
                                    "values": [start, *[p for p in PRESETS if p != start]]}
        params[f"{name}_posts_per_day"] = _slider(f"{name}: posts per day", firm.posts_per_day, 0, max(12, firm.posts_per_day), 0.5)
        params[f"{name}_promo_share"] = _slider(f"{name}: promo share", firm.promo_share, 0, 1, 0.01)
        params[f"{name}_ads_per_day"] = _slider(f"{name}: ads per day", firm.ads_per_day, 0, max(2000, 2 * firm.ads_per_day), 50, integer=True)
        params[f"{name}_reply_rate"] = _slider(f"{name}: reply rate", firm.reply_rate, 0, 1, 0.01)
        params[f"{name}_delete_critics"] = _slider(f"{name}: delete critics", firm.delete_critics, 0, 1, 0.01)
    return params


def _slider(label: str, value, low, high, step, integer: bool = False) -> dict:
    """A Mesa slider spec whose grid contains ``value``.

    Vuetify rounds a slider's value to its step as soon as it is drawn and
    reports the rounded value, so a step that misses the scenario's value
    (0.33 on a 0.05 grid) would silently change the model on the next reset.
    """
    candidates = [c for c in (step, step / 5, step / 10, step / 50, step / 100, step / 1000, step / 1e5)
                  if not integer or c == int(c)] or [1]
    step = next((c for c in candidates if math.isclose(value / c, round(value / c), abs_tol=1e-6)), candidates[-1])
    kind = "SliderInt" if integer else "SliderFloat"
    cast = int if integer else float
    return {"type": kind, "label": label, "value": cast(value), "min": cast(low), "max": cast(high), "step": cast(step)}


def world_line(model: DemoMarket) -> str:
    """One sentence describing the running world, for the page (and the browser test)."""
    p = model.p
    return (
        f"{p.width} x {p.height} users; each follows about {p.pages_followed:g} pages and reads about "
        f"{p.attention_mean:g} items a day; {p.ranking} ranking; seed {model.demo_seed}; day {model.steps} of {p.steps}."
    )


def firm_rows(model: MarketModel) -> list[dict[str, Any]]:
    """Each firm's strategy as the model runs it, for the page's table."""
    return [
        {
            "firm": firm.name,
            "posts/day": f"{firm.posts_per_day:g}",
            "promo": f"{firm.promo_share:.0%}",
            "ads/day": f"{firm.ads_per_day:,}",
            "replies": f"{firm.reply_rate:.0%}",
            "deletes": f"{firm.delete_critics:.0%}",
            "budget": f"{firm.budget:g}",
        }
        for firm in model.firms
    ]
