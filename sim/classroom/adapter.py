"""The smallest bridge between the classroom game and a live MarketModel.

The game builds one ordinary `MarketModel` (one ordinary firm per player)
and, between rounds, changes firms' strategies and the platform's rules.
The model reads most of them live each day; a few are baked in at build
time, and this module rebuilds exactly those:

- a firm's ``quality``, the platform's weights, appeals, state parameters,
  feed levers and the market's kernel parameters are cached by the model:
  `MarketModel.refresh_parameters()` recomputes them;
- users' attention budgets are drawn once (``model.users.attention``): the
  attention lever scales the budgets drawn at build time.

Parameters drawn at set-up (world size, pages followed, ...) cannot change
mid-run and are refused. `ClassroomMarket` only observes: it records why
each follower left (fatigue, an annoying item, a deleted comment) without
changing any number the model computes.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from sim.model.firm import FIRM_FIELDS
from sim.model.market import MarketModel
from sim.scenario import ModelParams, Scenario, ScenarioError, validate_config
from sim.scenario import schema as _schema

UNFOLLOW_CAUSES = ("fatigue", "annoyed", "deleted")  # see ClassroomMarket.update_users
CAUSE_LABELS = {
    "fatigue": "too many of your items (fatigue)",
    "annoyed": "annoyed by an item (a negative reaction)",
    "deleted": "their comment was deleted",
}
# parameters a running model reads live or that `rebuild_cached` rebuilds; all others are drawn at set-up
SET_UP_ONLY = frozenset({
    "width", "height", "steps", "attention_mean", "attention_sigma", "pages_followed", "page_post_rate",
    "weak_ties", "home_radius", "home_follow_prob", "initial_follow_prob", "follower_trust_bonus",
})  # fmt: skip
_LIMIT_LOCK = threading.Lock()


@contextmanager
def firm_limit(n_firms: int):
    """Let a model of ``n_firms`` firms pass the schema's MAX_FIRMS check while it is built.

    The schema caps a scenario at MAX_FIRMS firms so that run figures give
    each its own colour; the game draws its own pictures, and a class has
    up to 40 students. The hook the game would need instead: a firm limit
    passed to `ModelConfig` validation (see the report of issue 22).
    """
    with _LIMIT_LOCK:
        saved = _schema.MAX_FIRMS
        _schema.MAX_FIRMS = max(saved, n_firms)
        try:
            yield
        finally:
            _schema.MAX_FIRMS = saved


class ClassroomMarket(MarketModel):
    """A MarketModel that also counts each day's unfollows by cause, per firm.

    The kernel drops a follower whose fatigue passed ``unfollow_threshold``
    first; otherwise a follower leaves after a negative reaction or a
    deleted comment (one draw for both). So a leaver with fatigue above the
    threshold left from fatigue; else from a deleted comment if one of
    theirs was deleted that day, else from annoyance. Only counts; the
    model's numbers are those of MarketModel.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.unfollow_causes = np.zeros((self.p.steps, len(self.firms), len(UNFOLLOW_CAUSES)), dtype=np.int64)
        self.base_attention = self.users.attention.copy()

    def update_users(self, seen, r):
        pairs, joiners, leaving = super().update_users(seen, r)
        if leaving.size and self.steps <= self.p.steps:
            n_firms = len(self.firms)
            deleted = np.zeros(self.users.follows.size, dtype=bool)
            deleted[r.pair[r.deleted]] = True
            fatigued = self.users.flat("fatigue")[leaving] > self.p.unfollow_threshold
            cause = np.where(fatigued, 0, np.where(deleted[leaving], 2, 1))
            np.add.at(self.unfollow_causes[self.steps - 1], (leaving % n_firms, cause), 1)
        return pairs, joiners, leaving


def build_market(scenario: Scenario, firms: Sequence[Mapping[str, Any]], seed: int, steps: int) -> ClassroomMarket:
    """The game's model: the scenario's world with ``firms`` (full firm specs) for ``steps`` days."""
    with firm_limit(len(firms)):
        return ClassroomMarket.from_scenario(scenario, seed=seed, firms=[dict(f) for f in firms], steps=steps)


def apply_strategy(model: MarketModel, name: str, params: Mapping[str, Any]) -> None:
    """Give firm ``name`` the strategy ``params`` (any of FIRM_FIELDS) from tomorrow on."""
    unknown = set(params) - set(FIRM_FIELDS)
    if unknown:
        raise ScenarioError(f"strategy of {name}: unknown field(s) {sorted(unknown)}; allowed: {', '.join(FIRM_FIELDS)}")
    firm = next((f for f in model.firms if f.name == name), None)
    if firm is None:
        raise ScenarioError(f"strategy: no firm named {name!r} in the model")
    spec = model.config.firms[firm.index]
    checked = validate_config({**spec.model_dump(), **params}, source=f"strategy of {name}", cls=type(spec))
    for field in params:
        setattr(firm, field, getattr(checked, field))
    firms = list(model.config.firms)
    firms[firm.index] = checked
    _swap_config(model, {"firms": firms})
    if "quality" in params:
        model.refresh_parameters()


def apply_platform(model: MarketModel, changes: Mapping[str, Any]) -> None:
    """Change model-wide parameters mid-run, validated as in a scenario; set-up-only ones are refused."""
    if not changes:
        return
    frozen = sorted(set(changes) & SET_UP_ONLY)
    if frozen:
        raise ScenarioError(f"platform: {', '.join(frozen)} is drawn when the world is built and cannot change mid-game")
    current = model.config.model_dump(include=set(ModelParams.model_fields))
    checked = validate_config({**current, **changes}, source="platform", cls=ModelParams)
    _swap_config(model, {key: getattr(checked, key) for key in changes})
    rebuild_cached(model)


def scale_attention(model: ClassroomMarket, scale: float) -> None:
    """Every user's daily attention budget: the one drawn at build time times ``scale`` (at least 1 item)."""
    if not (np.isfinite(scale) and scale > 0):
        raise ScenarioError(f"attention scale: must be a positive number (got {scale})")
    scaled = np.maximum(1, np.rint(model.base_attention * float(scale))).astype(model.users.attention.dtype)
    model.users.attention[:] = scaled
    model._capacity = float(scaled.sum())


def rebuild_cached(model: MarketModel) -> None:
    """Recompute what the model derived from its parameters when it was built (`MarketModel.refresh_parameters`)."""
    model.refresh_parameters()


def _swap_config(model: MarketModel, update: dict[str, Any]) -> None:
    """Replace the model's (validated) configuration; ``p`` and ``config`` are the same object."""
    model.config = model.p = model.config.model_copy(update=update)
