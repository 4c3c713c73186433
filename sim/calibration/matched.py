"""The matched-spend variant of the duel: a dialogue firm that spends what the broadcast firm spends.

In the small worlds of the calibration the dialogue firm posts once a day
and answers comments: it spends about 1-2 of its 26 a day, so "dialogue
loses reach" partly means "dialogue spends less". The matched-spend
dialogue keeps its strategy (content mix, quality, reply rate, no
deleting, no ads: ads are broadcast's channel) and spends broadcast's
money on the channels that strategy uses, its posts and its replies.

`matched_spend_overrides` gives the posts-matched firm: posts a day that
carry the broadcast firm's expected daily spend (`expected_spend`, in the
spec's spend order: Poisson posts as far as the budget pays, then ads as
far as the rest pays and as there are users to target; in a small world
the ads are capped by the users), and a budget that never stops them and
pays replies too. Replies come on top of that, and where the dialogue's
content draws many comments they can double its spend; and a firm's total
spend is not monotone in its posts (too many posts tire its followers
away, and the comments and the replies go with them). So `matched_outcomes`
(``fit="total"``, its default) runs the fewest posts a day at which the
dialogue's whole late daily spend, posts and replies, meets the broadcast
firm's in the same run. docs/calibration.md ("The answer three ways") gives the numbers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from sim.jobs.errors import JobError
from sim.scenario.schema import FirmSpec

PUSH, TALK = "broadcast", "dialogue"
TAIL = 1e-9  # Poisson tail left out of sums, and the chance that the matched posts meet the budget cap


class MatchedSpendError(JobError):
    """A world the matched-spend variant cannot be built for (one line)."""


def duel_pair(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(broadcast firm, dialogue firm) of a configuration: by name, else by preset."""
    firms = config.get("firms") or []
    pair = []
    for role in (PUSH, TALK):
        found = [f for f in firms if f.get("name") == role] or [f for f in firms if f.get("preset") == role]
        if len(found) != 1:
            names = ", ".join(repr(f.get("name")) for f in firms) or "none"
            raise MatchedSpendError(f"matched spend: firms: needs one firm named (or with preset) {role!r}; "
                                    f"the world's firms are {names}")  # fmt: skip
        pair.append(found[0])
    return pair[0], pair[1]


def n_users(config: dict[str, Any]) -> int:
    return int(config["width"]) * int(config["height"])


def resolved_firm(firm: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """A firm's fields with per-capita ads and budget turned absolute for the world's size."""
    return FirmSpec.model_validate(firm).resolved(n_users(config))


def expected_targets(config: dict[str, Any]) -> float:
    """Expected users an ad of the firm can target at set-up: everyone but its expected initial followers.

    Users within Chebyshev radius ``home_radius`` of the home (on the torus)
    follow with probability ``home_follow_prob``, the others with
    ``initial_follow_prob`` (MODEL_SPEC.md, set-up); on a torus the home cell
    does not change the count, so it is the same for every firm.
    """
    w, h = int(config["width"]), int(config["height"])
    side = 2 * int(config["home_radius"]) + 1
    near = min(side, w) * min(side, h)
    followers = near * float(config["home_follow_prob"]) + (w * h - near) * float(config["initial_follow_prob"])
    return w * h - followers


def expected_spend(config: dict[str, Any], firm: dict[str, Any], targets: float | None = None) -> float:
    """A firm's expected daily spend on posts and ads (replies left out), in the spec's spend order.

    Exact over the Poisson post count: n = min(posts, what the budget pays),
    then ads = min(ads_per_day, what the rest pays, targets). ``targets``
    defaults to `expected_targets` (a stand-in: the real count moves).
    """
    f = resolved_firm(firm, config)
    cost_post, cost_ad, budget = float(config["cost_post"]), float(config["cost_ad"]), float(f["budget"])
    if targets is None:
        targets = expected_targets(config)
    lam = float(f["posts_per_day"])
    top = int(stats.poisson.isf(TAIL, lam)) + 1 if lam > 0 else 0
    counts = np.arange(top + 1)
    pmf = stats.poisson.pmf(counts, lam) if lam > 0 else np.array([1.0])
    pmf = pmf / pmf.sum()
    posts = np.minimum(counts, _affordable(budget, cost_post))
    left = np.maximum(0.0, budget - posts * cost_post)
    ads = np.minimum(np.minimum(float(f["ads_per_day"]), targets), _affordable(left, cost_ad))
    return float(np.sum(pmf * (posts * cost_post + ads * cost_ad)))


def _affordable(money, unit_cost: float):
    """`sim.model.firm.affordable`, vectorised (infinite when free)."""
    if unit_cost <= 0:
        return np.inf
    return np.floor(np.asarray(money, float) / unit_cost + 1e-9)


def matched_spend_overrides(config: dict[str, Any], target: float | None = None,
                            posts: float | None = None) -> dict[str, Any]:
    """Dotted overrides that turn the dialogue firm into its matched-spend variant.

    ``config``: a resolved base configuration (what ``MarketSweepModel(base).config(values)``
    returns). ``target``: the daily spend to match; default the broadcast
    firm's `expected_spend` in this world (give a measured one, e.g. the
    broadcast firm's mean late daily spend in the plain run, for a closer
    match). Returns ``firms.<dialogue>.posts_per_day`` (target minus the
    dialogue's own expected ad spend, over ``cost_post``; or ``posts`` when
    given, as `matched_outcomes` does to fit replies in) and
    ``firms.<dialogue>.budget`` (unchanged unless too small: then enough for
    the matched posts' 1 - 1e-9 quantile, and as much again for replies).
    """
    push, talk = duel_pair(config)
    cost_post = float(config["cost_post"])
    if cost_post <= 0:
        raise MatchedSpendError(f"matched spend: cost_post: is {cost_post}; posts must cost something "
                                f"for the dialogue firm to spend a budget on them")  # fmt: skip
    if target is None:
        target = expected_spend(config, push)
    if not math.isfinite(target) or target < 0:
        raise MatchedSpendError(f"matched spend: target: must be a finite spend >= 0, got {target}")
    own = resolved_firm(talk, config)
    ads_spend = min(float(own["ads_per_day"]), expected_targets(config)) * float(config["cost_ad"])
    if posts is None:
        posts = max(0.0, target - ads_spend) / cost_post
    top_posts = max(0.0, target - ads_spend) / cost_post  # the budget pays the most posts a match can ask for
    if posts > 1000.0:
        raise MatchedSpendError(f"matched spend: firms.{talk['name']}.posts_per_day: would be {posts:.1f}, "
                                f"above the allowed 1000 (target {target:.2f}, cost_post {cost_post})")  # fmt: skip
    most = max(posts, top_posts)
    top = float(stats.poisson.isf(TAIL, most)) + 1 if most > 0 else 0.0
    needed = 2 * top * cost_post + ads_spend  # the posts' tail, as much again for replies, and its ads
    budget = max(float(own["budget"]), needed)
    return {f"firms.{talk['name']}.posts_per_day": posts, f"firms.{talk['name']}.budget": budget}


def matched_outcomes(config: dict[str, Any], seed: int, draw: int, target: float | None = None,
                     fit: str = "total", grid: int = 4, tolerance: float = 0.05,
                     max_runs: int = 12) -> dict[str, Any]:  # fmt: skip
    """Run the matched-spend variant at a seed; its outcomes as ``matched.*`` columns of a predictive draw.

    ``fit="posts"`` (one run): the variant of `matched_spend_overrides`, its
    posts carrying broadcast's expected spend and replies on top.
    ``fit="total"``: replies counted too. Where the dialogue's content draws
    many comments, replies can double its spend, and its total spend is not
    monotone in its posts (too many posts tire its followers away and the
    comments and replies go with them), so "the posts at which it spends
    broadcast's money" can have two answers. This one (the default) takes
    the smallest: posts a day go up in steps of 1/``grid`` of the
    posts-matched value until the dialogue's late mean daily spend reaches
    the broadcast firm's in the same run, then are bisected in that step
    until the two agree within ``tolerance`` (every run at the same seed,
    at most ``max_runs`` runs); the run closest to equal spend is kept. A
    firm that spends the money on its channels stops adding posts once the
    money is used; its replies, its own channel, take the rest.

    Columns: the `duel_outcomes` of the kept run prefixed ``matched.``, plus
    ``matched.<dialogue>.posts_per_day``, ``matched.spend_ratio`` (dialogue's
    late daily spend over broadcast's in that run) and ``matched.runs``.
    """
    import warnings

    from sim.calibration.answer import duel_outcomes
    from sim.jobs.models import MarketSweepModel
    from sim.runs.runner import run_replication

    if fit not in ("posts", "total"):
        raise MatchedSpendError(f"matched spend: fit: must be 'posts' or 'total', got {fit!r}")
    push, talk = duel_pair(config)
    model = MarketSweepModel(config)
    top = matched_spend_overrides(config, target)[f"firms.{talk['name']}.posts_per_day"]
    tried: list[tuple[float, float, dict[str, float]]] = []  # (posts, spend ratio, outcomes)

    def ratio(posts: float) -> float:
        overrides = matched_spend_overrides(config, target, posts=posts)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = duel_outcomes(run_replication(model.config(overrides), seed, draw))
        paid = out[f"{push['name']}.spend"]
        value = out[f"{talk['name']}.spend"] / paid if paid > 0 else math.nan
        tried.append((posts, value, out))
        return value

    if fit == "posts" or top == 0:
        ratio(top)
    else:
        low, high, step = 0.0, None, top / grid
        while high is None and len(tried) < max_runs:  # the first grid step that reaches broadcast's spend
            posts = low + step
            if posts > 1000.0:
                break
            if ratio(posts) >= 1.0:
                high = posts
            else:
                low = posts
        while high is not None and abs(tried[-1][1] - 1) > tolerance and len(tried) < max_runs:
            middle = (low + high) / 2
            if ratio(middle) >= 1.0:
                high = middle
            else:
                low = middle
    posts, value, out = min(tried, key=lambda t: abs(t[1] - 1) if math.isfinite(t[1]) else math.inf)
    row = {f"matched.{name}": v for name, v in out.items()}
    row.update({f"matched.{talk['name']}.posts_per_day": posts, "matched.spend_ratio": value,
                "matched.runs": len(tried)})  # fmt: skip
    return row
