"""The browser demo's model factory: flat slider values in, a MarketModel out.

SolaraViz rebuilds the model on reset by calling the model's class with the
sidebar's values as flat keyword arguments (``pages_followed=300``,
``broadcast_reply_rate=0.5``, ...). `demo_model_class` makes such a class for a
base scenario: it turns the flat values into the scenario's model keyword
arguments and calls `MarketModel`. It only translates parameters; every model
rule stays in `sim.model.market`. A page-market scenario larger than the
browser can play starts shrunk (`browser_scenario`) and gets the feed's
levers as controls (`lever_params`).
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
from sim.viz.feed import LEVERS, composition, levers_on

SCENARIO_ENV = "ATTENTION_MARKET_SCENARIO"
REPO_ROOT = Path(__file__).resolve().parents[2]
CLASSROOM = REPO_ROOT / "scenarios" / "classroom.yaml"
DUEL = REPO_ROOT / "scenarios" / "duel.yaml"
DEMO_SIZE = 50
WORLD_SIZES = (30, 50, 80, 100)
# a market scenario wider than this is shrunk for the browser (pages and ads scaled with the users)
MARKET_DEMO_SIZE = DEMO_SIZE
KNOBS = ("posts_per_day", "promo_share", "ads_per_day", "reply_rate", "delete_critics")
CUSTOM = "custom"  # preset choice of a scenario firm that has no preset

__all__ = [
    "DemoMarket", "browser_scenario", "demo_model_class", "demo_scenario", "firm_rows", "lever_params", "market_line",
    "model_params", "pages_phrase", "release", "shows_levers", "world_line",
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


def browser_scenario(scenario: Scenario) -> Scenario:
    """The scenario as the demo starts it: a market wider than MARKET_DEMO_SIZE shrunk, anything else as it is.

    A market day costs about 60-80 ms at 100 x 100 users with 2,000 pages,
    a quarter of that at 50 x 50 with 500, on top of the page's redraw. So a
    larger market starts MARKET_DEMO_SIZE cells wide (aspect ratio and the
    homes' relative places kept) with what grows with the users scaled by
    the same factor: the background pages and the firms' ads per day (when
    given absolutely; ``ads_share`` scales by itself). Budgets stay: they
    are caps, and the smaller ad bill fits under them. The world-size menu
    still offers the scenario's own size.
    """
    if scenario.market.pages == 0 or scenario.width <= MARKET_DEMO_SIZE:
        return scenario
    params = scenario.model_kwargs()
    users = params["width"] * params["height"]
    _resize(params, MARKET_DEMO_SIZE)
    ratio = params["width"] * params["height"] / users
    for firm in params["firms"]:
        if firm.get("ads_per_day") is not None:
            firm["ads_per_day"] = round(firm["ads_per_day"] * ratio)
    run = {key: getattr(scenario, key) for key in ("name", "description", "seed", "replications")}
    return Scenario.model_validate({**run, **params})


def shows_levers(scenario: Scenario) -> bool:
    """Whether the sidebar shows the feed's levers: in a market scenario, or where the scenario sets one."""
    return scenario.market.pages > 0 or bool(levers_on(scenario))


class DemoMarket(MarketModel):
    """MarketModel built from the demo's flat controls; `demo_model_class` binds the scenario.

    Every argument left out (or None) keeps the scenario's value. Firm
    controls are named ``<firm>_<field>`` for the fields in KNOBS, plus
    ``<firm>_preset``. A firm starts as in the scenario; choosing another
    preset replaces its strategy (every preset field but the budget, which
    is scaled to the market) by that preset's; then every slider moved away
    from the scenario's value overrides it.
    """

    scenario: Scenario | None = None  # set by demo_model_class: what the demo runs (maybe shrunk)
    source: Scenario | None = None  # the scenario as given (its file)

    def __init__(
        self,
        *,
        seed: int | None = None,
        world_size: int | None = None,
        attention_mean: float | None = None,
        pages_followed: float | None = None,
        ranking: str | None = None,
        source_diversity: float | None = None,
        quality_ranking: float | None = None,
        complaint_ranking: float | None = None,
        weight_promo: float | None = None,
        annoy_base: float | None = None,
        **kwargs: Any,
    ):
        if self.scenario is None:
            raise TypeError("DemoMarket needs a scenario: build the class with demo_model_class(scenario)")
        # Mesa's SolaraViz accepts per-firm controls only through a parameter named exactly **kwargs
        firm_controls = kwargs
        params = self.scenario.model_kwargs()
        model_wide = (("attention_mean", attention_mean), ("pages_followed", pages_followed), ("ranking", ranking),
                      ("source_diversity", source_diversity), ("quality_ranking", quality_ranking),
                      ("complaint_ranking", complaint_ranking), ("weight_promo", weight_promo),
                      ("annoy_base", annoy_base))  # fmt: skip
        for key, value in model_wide:
            if value is not None:
                params[key] = value
        if world_size is not None:
            _resize(params, int(world_size))
        params["firms"] = _firms(params["firms"], firm_controls, self.scenario.width * self.scenario.height)
        self.demo_seed = self.scenario.seed if seed is None else int(seed)
        self._history: tuple[int, pd.DataFrame] | None = None
        self._feed_history: tuple[int, pd.DataFrame] | None = None
        super().__init__(seed=self.demo_seed, **params)

    def history(self) -> pd.DataFrame:
        """`firm_table()`, computed once per day however many plots ask for it."""
        if self._history is None or self._history[0] != self.steps:
            self._history = (self.steps, self.firm_table())
        return self._history[1]

    def feed_history(self) -> pd.DataFrame:
        """`sim.viz.feed.composition`, computed once per day (market only)."""
        if self._feed_history is None or self._feed_history[0] != self.steps:
            self._feed_history = (self.steps, composition(self, self.history()))
        return self._feed_history[1]


def demo_model_class(scenario: Scenario) -> type[DemoMarket]:
    """A DemoMarket subclass bound to ``scenario`` (SolaraViz rebuilds the model from its class).

    It runs `browser_scenario` of it: a large market starts shrunk.
    """
    attributes = {"scenario": browser_scenario(scenario), "source": scenario, "__module__": __name__}
    return type("AttentionMarket", (DemoMarket,), attributes)


def _resize(kwargs: dict, size: int) -> None:
    """A world ``size`` cells wide, keeping the scenario's aspect ratio and explicit homes' relative places.

    A market keeps its pages per user: ``market.pages`` scales with the
    number of users (rounded, at least 1).
    """
    if size < 3:
        raise ScenarioError(f"world_size: must be at least 3 (got {size})")
    width, height = kwargs["width"], kwargs["height"]
    kwargs["width"], kwargs["height"] = size, max(3, round(size * height / width))
    market = kwargs.get("market") or {}
    if market.get("pages", 0) > 0:
        ratio = kwargs["width"] * kwargs["height"] / (width * height)
        kwargs["market"] = {**market, "pages": max(1, round(market["pages"] * ratio))}
    for firm in kwargs["firms"]:
        if firm.get("home") is not None:
            x, y = firm["home"]
            firm["home"] = [x * kwargs["width"] // width, y * kwargs["height"] // height]


def _firms(firms: list[dict], controls: dict[str, Any], n_users: int) -> list[dict]:
    """The scenario's firms with the preset choices and moved sliders applied.

    A firm given ``ads_share`` (ads per user) keeps it until its ads slider
    moves away from the scenario's value (``ads_share`` times the
    scenario's ``n_users``, what the slider starts at) or another preset is
    chosen: then its ads per day are absolute.
    """
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
            out[k].pop("ads_share", None)  # the preset's ads per day replace it
    for key, value in controls.items():
        k, field = known[key]
        if field != "preset" and value is not None and not _same(value, _start(firms[k], field, n_users)):
            out[k][field] = value
            if field == "ads_per_day":
                out[k].pop("ads_share", None)
    return out


def _start(firm: dict, field: str, n_users: int) -> Any:
    """Where a firm's slider starts: the firm's value, or for ads given per user, ads per day at ``n_users``."""
    if field == "ads_per_day" and firm.get("ads_per_day") is None:
        return round(firm["ads_share"] * n_users)
    return firm[field]


def _same(a: Any, b: Any) -> bool:
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


# --------------------------------------------------------------------------
# Sidebar controls (Mesa model_params) and the plain-words summaries
# --------------------------------------------------------------------------


def model_params(scenario: Scenario) -> dict[str, dict]:
    """Mesa SolaraViz ``model_params``: one control per flat DemoMarket argument, starting where the demo starts.

    That is `browser_scenario` of ``scenario`` (a large market shrunk); the
    world-size menu also offers the scenario's own size. The feed's levers
    come after the model-wide controls, where `shows_levers`.
    """
    source, scenario = scenario, browser_scenario(scenario)
    sizes = sorted({*WORLD_SIZES, scenario.width, source.width})
    params: dict[str, dict] = {
        "pages_followed": _slider("Pages a user follows", scenario.pages_followed, 0, max(400, scenario.pages_followed), 1),
        "attention_mean": _slider("Items a user reads per day", scenario.attention_mean, 1, max(100, scenario.attention_mean), 1),
        "ranking": {"type": "Select", "label": "Feed ranking", "value": scenario.ranking,
                    "values": ["engagement", "chronological"]},
        "world_size": {"type": "Select", "label": "World size (cells per side)", "value": scenario.width, "values": sizes},
        "seed": _slider("Seed (another random world)", scenario.seed, 0, max(100, scenario.seed), 1, integer=True),
    }
    if shows_levers(scenario):
        params.update(lever_params(scenario))
    for firm in scenario.firms:
        name, start = firm.name, firm.preset or CUSTOM
        ads = firm.resolved(scenario.width * scenario.height)["ads_per_day"]  # ads_share too, as ads per day
        params[f"{name}_preset"] = {"type": "Select", "label": f"{name}: preset", "value": start,
                                    "values": [start, *[p for p in PRESETS if p != start]]}
        params[f"{name}_posts_per_day"] = _slider(f"{name}: posts per day", firm.posts_per_day, 0, max(12, firm.posts_per_day), 0.5)
        params[f"{name}_promo_share"] = _slider(f"{name}: promo share", firm.promo_share, 0, 1, 0.01)
        params[f"{name}_ads_per_day"] = _slider(f"{name}: ads per day", ads, 0, max(2000, 2 * ads), 50, integer=True)
        params[f"{name}_reply_rate"] = _slider(f"{name}: reply rate", firm.reply_rate, 0, 1, 0.01)
        params[f"{name}_delete_critics"] = _slider(f"{name}: delete critics", firm.delete_critics, 0, 1, 0.01)
    return params


LEVER_RANGES = {  # parameter: (low, high, step) of its slider; the schema allows more (high grows to fit)
    "source_diversity": (0.05, 1.0, 0.05),  # must stay above 0
    "quality_ranking": (0.0, 3.0, 0.1),
    "complaint_ranking": (0.0, 3.0, 0.1),
    "weight_promo": (0.05, 2.0, 0.05),  # must stay above 0
    "annoy_base": (0.0, 0.2, 0.01),
}


def lever_params(scenario: Scenario) -> dict[str, dict]:
    """One slider per feed lever (`sim.viz.feed.LEVERS`), starting at the scenario's value."""
    out = {}
    for name, label, off in LEVERS:
        low, high, step = LEVER_RANGES[name]
        value = getattr(scenario, name)
        out[name] = _slider(f"Feed lever: {label} (off at {off:g})", value, min(low, value), max(high, value), step)
    return out


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
    pages = f" and {pages_phrase(model)}" if p.market.pages else ""
    return (
        f"{p.width} x {p.height} users{pages}; each follows about {p.pages_followed:g} pages and reads about "
        f"{p.attention_mean:g} items a day; {p.ranking} ranking; seed {model.demo_seed}; day {model.steps} of {p.steps}."
    )


def pages_phrase(model: DemoMarket) -> str:
    """'500 background pages', saying so when they were scaled from the scenario's."""
    p = model.p
    source = model.source or model.scenario or p
    text = f"{p.market.pages:,} background pages"
    if p.market.pages != source.market.pages:
        text += f" (the scenario's {source.market.pages:,} for {source.width} x {source.height} users, scaled with the users)"
    return text


def market_line(model: DemoMarket) -> str:
    """The page market in plain words, saying how it was scaled from the scenario (empty outside the market)."""
    p = model.p
    if p.market.pages == 0:
        return ""
    source = model.source or model.scenario or p
    text = (f"{p.market.pages:,} background pages, each posting about {p.page_post_rate:g} items a day on average; "
            f"friends' posts add about {p.market.friend_posts:g} items a user a day.")
    if (p.width, p.height, p.market.pages) != (source.width, source.height, source.market.pages):
        text += (f" The scenario has {source.market.pages:,} pages for {source.width} x {source.height} users; "
                 f"here the pages scale with the users")
        if model.scenario is not source:
            shrunk = model.scenario
            text += (f" (the demo starts this market at {shrunk.width} x {shrunk.height}, with the firms' ads per "
                     f"day scaled by the same factor; World size offers {source.width})")
        text += "."
    return text


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
