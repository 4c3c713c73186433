"""MarketModel: firms competing for the limited attention of a user population.

One step is one day, in the spec's order: firms publish, feeds fill, the
attention budget decides what is seen, users react, firms answer or delete
comments, user state updates, and today's shares travel tomorrow. Users are
numpy arrays over the grid's cells; firms are Mesa agents.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import mesa
import numpy as np
import pandas as pd
from mesa.discrete_space import OrthogonalMooreGrid

from sim.model import feed as fd
from sim.model.attention import log_keys, sample_threshold, select_seen
from sim.model.firm import FIRM_FIELDS, Firm
from sim.model.items import ItemLog
from sim.model.mechanics import (
    AD, PAID, POST, PROMO, REPLY, REPLY_CHANNEL, SHARE, VALUE,
    candidate_weight, drifted_trust, follow_probability, react, reaction_probabilities,
    unfollow_probability, updated_fatigue, updated_trust,
)
from sim.model.network import build_contacts
from sim.model.outputs import FIRM_COLUMNS, PLATFORM_COLUMNS, ValidationRecorder
from sim.model.population import draw_population
from sim.scenario import ModelConfig, ScenarioError, validate_config

GRID_CELL_LIMIT = 200 * 200  # worlds up to this size get a drawable Mesa grid


@dataclass
class Reactions:
    """Boolean masks aligned with the seen candidates."""

    positive: np.ndarray
    negative: np.ndarray
    comment: np.ndarray  # positive comment
    critic: np.ndarray  # negative comment
    shared: np.ndarray
    answered: np.ndarray | None = None
    deleted: np.ndarray | None = None


def default_home(k: int, n_firms: int, width: int, height: int) -> tuple[int, int]:
    """Home of firm k of F when the scenario gives none: spread along the middle row."""
    return ((2 * k + 1) * width // (2 * n_firms), height // 2)


class MarketModel(mesa.Model):
    """The attention market. Keyword arguments: every spec parameter, ``firms``, ``seed``."""

    def __init__(self, *, seed: int | None = None, **params):
        config = validate_config(params, source="MarketModel", cls=ModelConfig)
        super().__init__(seed=seed)
        self.config = config
        self.p = config
        self.n_users = config.width * config.height
        if config.weak_ties > self.n_users - 9:
            raise ScenarioError(
                f"MarketModel: weak_ties: must be at most {self.n_users - 9} on a "
                f"{config.width} x {config.height} grid (got {config.weak_ties})"
            )
        homes = [
            tuple(spec.home) if spec.home is not None else default_home(k, len(config.firms), config.width, config.height)
            for k, spec in enumerate(config.firms)
        ]
        self.contacts = build_contacts(config.width, config.height, config.weak_ties, self.rng)
        self.users = draw_population(config, homes, self.rng)
        self.items = ItemLog(self.n_users)
        self.grid = self._build_grid() if self.n_users <= GRID_CELL_LIMIT else None
        self.firms = [
            Firm(self, index=k, name=spec.name, home=homes[k], **{f: getattr(spec, f) for f in FIRM_FIELDS})
            for k, spec in enumerate(config.firms)
        ]
        if self.grid is not None:
            for firm in self.firms:
                firm.cell = self.grid[firm.home]
        self._build_lookup_tables()
        self.recorder = ValidationRecorder(len(self.firms))  # validation counters, no feedback
        self.recorder.on_follow_change(0, np.flatnonzero(self.users.flat("follows")), "initial")
        self._shares_in_transit = (np.empty(0, np.int64), np.empty(0, np.int64))
        self._replies_in_transit = fd.empty()
        self._ever_reached = np.zeros(len(self.firms), dtype=np.int64)
        self._reached_twice = np.zeros(len(self.firms), dtype=np.int64)
        self.platform_today: dict[str, float] = {}
        self._reached_today = np.zeros(self.users.follows.shape, dtype=bool)
        self.datacollector = mesa.DataCollector(
            model_reporters={c: partial(_platform_value, c) for c in PLATFORM_COLUMNS},
            agent_reporters={"firm": "name", **{c: partial(_firm_value, c) for c in FIRM_COLUMNS[2:]}},
        )
        self.running = True
        self._sync_grid()

    # -- set-up helpers ------------------------------------------------------

    def _build_grid(self) -> OrthogonalMooreGrid:
        """A Mesa grid mirroring user state in PropertyLayers, for viewers."""
        grid = OrthogonalMooreGrid((self.p.width, self.p.height), torus=True, capacity=None, random=self.random)
        grid.create_property_layer("followed_firms", default_value=0, dtype=int)
        for spec in self.p.firms:
            grid.create_property_layer(f"follows_{spec.name}", default_value=False, dtype=bool)
            grid.create_property_layer(f"reached_{spec.name}", default_value=False, dtype=bool)
            grid.create_property_layer(f"trust_{spec.name}", default_value=0.0, dtype=float)
            grid.create_property_layer(f"fatigue_{spec.name}", default_value=0.0, dtype=float)
        return grid

    def _build_lookup_tables(self) -> None:
        """Per channel/kind weights, loads, appeals, annoyances and share chances."""
        p = self.p
        self._type_weight = np.zeros((4, 4))
        self._type_weight[POST, PROMO], self._type_weight[POST, VALUE] = p.weight_promo, p.weight_value
        self._type_weight[PAID, :] = p.weight_ad
        self._type_weight[SHARE, :] = p.weight_share
        self._type_weight[REPLY_CHANNEL, :] = p.weight_reply
        self._load = np.zeros((4, 4))
        self._load[POST, PROMO], self._load[POST, VALUE] = 1.0, p.load_value
        self._load[PAID, :] = 1.0
        self._load[SHARE, :] = p.load_share
        quality = np.array([firm.quality for firm in self.firms])
        self._appeal = np.empty((len(self.firms), 4))
        self._appeal[:, PROMO], self._appeal[:, VALUE] = p.appeal_promo, p.appeal_value * quality
        self._appeal[:, AD], self._appeal[:, REPLY] = p.appeal_ad, p.appeal_reply
        self._annoy = np.array([p.annoy_promo, p.annoy_value, p.annoy_ad, 0.0])
        self._share_prob = np.array([p.share_prob_promo, p.share_prob_value, p.share_prob_ad, 0.0])

    # -- one day ---------------------------------------------------------------

    def step(self) -> None:
        """One day: publish, fill feeds, spend attention, react, respond, update, pass on."""
        day = self.steps
        for firm in self.firms:
            firm.start_day()
        feed = fd.Candidates.concat(self.publish(day) + self.arrivals(day))
        seen_mask, background = self.allocate_attention(feed)
        seen = feed.take(seen_mask)
        reactions = self.react(seen)
        direct = (seen.channel == POST) | (seen.channel == PAID)
        self.recorder.on_seen(seen.item, direct, reactions.positive, reactions.comment)
        self.respond(seen, reactions)
        pairs, joiners, leaving = self.update_users(seen, reactions)
        self.recorder.on_follow_change(day, joiners, "follow")
        self.recorder.on_follow_change(day, leaving, "unfollow")
        self.pass_on(seen, reactions, day)
        self.record_firms(feed, seen, reactions, pairs, joiners, leaving)
        self.record_platform(feed, seen, background)
        self._sync_grid()
        self.datacollector.collect(self)
        if day >= self.p.steps:
            self.running = False

    def publish(self, day: int) -> list[fd.Candidates]:
        """Each firm posts (Poisson, as the budget pays), then buys ad impressions."""
        parts = []
        for firm in self.firms:
            f = firm.index
            kinds = np.where(firm.draw_posts(self.rng, self.p.cost_post), PROMO, VALUE).astype(np.int8)
            post_ids = self.items.add(f, kinds, day)
            followers = np.flatnonzero(self.users.follows[:, f])
            self.recorder.on_publish(post_ids, followers.size)
            parts.append(fd.post_candidates(followers, f, post_ids, kinds))
            eligible = np.flatnonzero(~self.users.follows[:, f] & ~self.users.ads_hidden[:, f])
            n_ads = firm.ad_count(eligible.size, self.p.cost_ad)
            firm.today = {"ads_bought": n_ads, "posts": len(kinds)}
            if n_ads:
                targets = self.rng.choice(eligible, size=n_ads, replace=False)
                creative = self.items.add(f, np.array([AD], dtype=np.int8), day)[0]
                self.recorder.on_publish(np.array([creative]), n_ads)
                parts.append(fd.ad_candidates(targets, f, creative, AD))
        return parts

    def arrivals(self, day: int) -> list[fd.Candidates]:
        """Yesterday's shares (of items still alive) and replies, arriving today."""
        sharers, items = self._shares_in_transit
        alive = self.items.day[items] + self.p.post_lifetime >= day
        readers, delivered = self.contacts.spread(sharers[alive], items[alive])
        shares = fd.share_candidates(readers, delivered, self.n_users, self.items.firm, self.items.kind)
        return [shares, self._replies_in_transit]

    def allocate_attention(self, feed: fd.Candidates) -> tuple[np.ndarray, np.ndarray]:
        """Which candidates are seen, given background items and each user's budget."""
        users = self.users
        background = self.rng.poisson(users.pages * self.p.page_post_rate)
        if self.p.ranking == "chronological":
            weights = np.ones(len(feed))
        else:
            trust = users.flat("trust")[feed.user * len(self.firms) + feed.firm]
            weights = candidate_weight(self._type_weight[feed.channel, feed.kind], trust, feed.social)
        with_items = np.unique(feed.user)
        log_tau = np.full(self.n_users, -np.inf)
        tau = sample_threshold(background[with_items], users.attention[with_items], self.rng)
        log_tau[with_items] = np.log(tau, out=np.full_like(tau, -np.inf), where=tau > 0)
        seen = select_seen(feed.user, log_keys(weights, self.rng), log_tau, users.attention)
        return seen, background

    def react(self, seen: fd.Candidates) -> Reactions:
        """One draw per seen item decides a like, a negative reaction or nothing."""
        pair = seen.user * len(self.firms) + seen.firm
        is_share = seen.channel == SHARE
        appeal = self._appeal[seen.firm, seen.kind] * np.where(is_share, self.p.share_boost, 1.0)
        annoyance = self._annoy[seen.kind] * np.where(is_share, self.p.share_annoy, 1.0)
        p_pos, p_neg = reaction_probabilities(
            appeal, annoyance, self.users.flat("trust")[pair], self.users.flat("fatigue")[pair]
        )
        n = len(seen)
        positive, negative = react(p_pos, p_neg, self.rng.random(n))
        talk = self.rng.random(n)
        wants_share = positive & (self.rng.random(n) < self._share_prob[seen.kind])
        shared = np.zeros(n, dtype=bool)
        idx = np.flatnonzero(wants_share)
        shared[idx[self.items.first_new_shares(seen.user[idx], seen.item[idx])]] = True
        return Reactions(
            positive=positive,
            negative=negative,
            comment=positive & (talk < self.p.comment_prob),
            critic=negative & (talk < self.p.neg_comment_prob),
            shared=shared,
        )

    def respond(self, seen: fd.Candidates, reactions: Reactions) -> None:
        """Each firm answers (budget permitting) or deletes its comments."""
        commented = np.flatnonzero(reactions.comment | reactions.critic)
        reactions.answered = np.zeros(len(seen), dtype=bool)
        reactions.deleted = np.zeros(len(seen), dtype=bool)
        for firm in self.firms:
            mine = commented[seen.firm[commented] == firm.index]
            answered, deleted = firm.answer_comments(reactions.critic[mine], self.rng, self.p.cost_reply)
            reactions.answered[mine[answered]] = True
            reactions.deleted[mine[deleted]] = True

    def update_users(self, seen: fd.Candidates, r: Reactions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Fatigue, trust, follows, unfollows and hidden ads, in the spec's order.

        Returns the touched (user * F + firm) pairs, those who followed and
        those who unfollowed today.
        """
        p, users, n_firms = self.p, self.users, len(self.firms)
        pairs, inv = np.unique(seen.user * n_firms + seen.firm, return_inverse=True)

        def per_pair(values) -> np.ndarray:
            return np.bincount(inv, weights=values, minlength=pairs.size)

        is_reply = seen.channel == REPLY_CHANNEL
        load = per_pair(self._load[seen.channel, seen.kind])
        n_pos, n_neg, n_del = per_pair(r.positive), per_pair(r.negative), per_pair(r.deleted)
        followed = users.flat("follows")[pairs]  # who followed at the start of the day

        fatigue, trust = users.flat("fatigue"), users.flat("trust")
        before = fatigue[pairs]
        fatigue *= 1.0 - p.fatigue_decay
        fatigue[pairs] = updated_fatigue(
            before, load, per_pair(is_reply & seen.answers_critic),
            fatigue_decay=p.fatigue_decay, fatigue_gain=p.fatigue_gain,
            tolerance=p.tolerance, reply_relief=p.reply_relief,
        )
        trust[pairs] = updated_trust(
            trust[pairs], n_pos, per_pair(is_reply), n_neg, n_del,
            trust_pos=p.trust_pos, trust_reply=p.trust_reply,
            trust_neg=p.trust_neg, trust_deleted=p.trust_deleted,
        )
        trust[:] = drifted_trust(trust, trust0=p.trust0, trust_drift=p.trust_drift)

        joiners = pairs[~followed & (n_pos > 0)]
        joiners = joiners[self.rng.random(joiners.size) < follow_probability(trust[joiners], p.follow_prob)]
        leaving = np.flatnonzero(users.flat("follows") & (fatigue > p.unfollow_threshold))
        upset = ~followed | (n_neg + n_del == 0)
        at_risk = np.flatnonzero(~upset)
        chance = unfollow_probability(n_neg[at_risk], n_del[at_risk], p.unfollow_neg_prob, p.unfollow_deleted_prob)
        leaving = np.union1d(leaving, pairs[at_risk[self.rng.random(at_risk.size) < chance]])
        hide = per_pair(r.negative & (seen.channel == PAID)) > 0
        users.flat("ads_hidden")[pairs[~followed & hide]] = True
        users.flat("follows")[joiners] = True
        users.flat("follows")[leaving] = False

        days = users.flat("days_reached")
        days[pairs] += 1
        self._ever_reached += np.bincount(pairs[days[pairs] == 1] % n_firms, minlength=n_firms)
        self._reached_twice += np.bincount(pairs[days[pairs] == 2] % n_firms, minlength=n_firms)
        return pairs, joiners, leaving

    def pass_on(self, seen: fd.Candidates, r: Reactions, day: int) -> None:
        """Today's shares and replies become tomorrow's candidates."""
        self._shares_in_transit = (seen.user[r.shared], seen.item[r.shared])
        self._replies_in_transit = fd.reply_candidates(
            seen.user[r.answered], seen.firm[r.answered], r.critic[r.answered]
        )
        self.items.forget_before(day + 1 - self.p.post_lifetime)

    # -- records -------------------------------------------------------------

    def record_firms(self, feed, seen, r: Reactions, pairs, joiners, leaving) -> None:
        """Fill each firm's ``today`` with the day's per-firm outputs."""
        n_firms, users = len(self.firms), self.users
        if self.grid is not None:  # only the grid's "reached today" layer needs it
            self._reached_today = np.zeros(users.follows.shape, dtype=bool)
            self._reached_today.reshape(-1)[pairs] = True

        def per_firm(mask=None, firm_ids=None) -> np.ndarray:
            ids = seen.firm if firm_ids is None else firm_ids
            return np.bincount(ids if mask is None else ids[mask], minlength=n_firms)

        reach = per_firm(firm_ids=pairs % n_firms)
        channel_keys = np.unique((seen.user * n_firms + seen.firm) * 4 + seen.channel)
        by_channel = np.bincount(channel_keys // 4 % n_firms * 4 + channel_keys % 4, minlength=4 * n_firms)
        by_channel = by_channel.reshape(n_firms, 4)
        followers = users.follows.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            trust_followers = (users.trust * users.follows).sum(axis=0) / followers
            fatigue_followers = (users.fatigue * users.follows).sum(axis=0) / followers
        columns = {
            "reach": reach,
            "organic_reach": by_channel[:, POST],
            "paid_reach": by_channel[:, PAID],
            "earned_reach": by_channel[:, SHARE],
            "reply_reach": by_channel[:, REPLY_CHANNEL],
            "impressions": per_firm(),
            "delivered": np.bincount(feed.firm, minlength=n_firms),
            "likes": per_firm(r.positive),
            "comments": per_firm(r.comment),
            "negative_comments": per_firm(r.critic),
            "shares": per_firm(r.shared),
            "replies_sent": per_firm(r.answered),
            "deletions": per_firm(r.deleted),
            "followers": followers,
            "new_follows": per_firm(firm_ids=joiners % n_firms),
            "unfollows": per_firm(firm_ids=leaving % n_firms),
            "trust_mean": users.trust.mean(axis=0),
            "trust_followers": trust_followers,
            "fatigue_followers": fatigue_followers,
            "cumulative_reach": self._ever_reached.copy(),
        }
        for firm in self.firms:
            k = firm.index
            today = {name: values[k].item() for name, values in columns.items()}
            spend = firm.spent_today
            today["spend"] = spend
            today["attention_loss"] = 1.0 - today["impressions"] / today["delivered"] if today["delivered"] else 0.0
            today["cost_per_reach"] = spend / today["reach"] if today["reach"] else float("nan")
            ever = self._ever_reached[k]
            today["second_contact_rate"] = self._reached_twice[k] / ever if ever else 0.0
            firm.today.update(today)

    def record_platform(self, feed: fd.Candidates, seen: fd.Candidates, background: np.ndarray) -> None:
        """Attention used and overload, for the whole platform."""
        attention = self.users.attention
        offered = np.bincount(feed.user, minlength=self.n_users)
        took = np.bincount(seen.user, minlength=self.n_users)
        used = took + np.minimum(background, attention - took)
        capacity = float(attention.sum())
        self.platform_today = {
            "candidates": int(offered.sum()),
            "seen_candidates": int(took.sum()),
            "background_items": int(background.sum()),
            "attention_used": int(used.sum()),
            "attention_capacity": int(capacity),
            "attention_used_share": float(used.sum() / capacity),
            "overload": float((background + offered).sum() / capacity),
            "overloaded_share": float(np.mean(background + offered > attention)),
        }

    def _sync_grid(self) -> None:
        """Copy user state into the grid's PropertyLayers (small worlds only)."""
        if self.grid is None:
            return
        shape = (self.p.width, self.p.height)
        layers = self.grid._mesa_property_layers
        bits = (self.users.follows * (1 << np.arange(len(self.firms)))).sum(axis=1)
        layers["followed_firms"].data = bits.reshape(shape)
        reached_today = self._reached_today
        for firm in self.firms:
            k, name = firm.index, firm.name
            layers[f"follows_{name}"].data = self.users.follows[:, k].reshape(shape)
            layers[f"trust_{name}"].data = self.users.trust[:, k].reshape(shape)
            layers[f"fatigue_{name}"].data = self.users.fatigue[:, k].reshape(shape)
            layers[f"reached_{name}"].data = reached_today[:, k].reshape(shape)

    # -- tables ----------------------------------------------------------------

    def firm_table(self) -> pd.DataFrame:
        """Per firm and day, one row each: the tidy output table."""
        raw = self.datacollector.get_agent_vars_dataframe().reset_index()
        table = raw.rename(columns={"Step": "step"}).drop(columns=["AgentID"])
        return table[list(FIRM_COLUMNS)].reset_index(drop=True)

    def platform_table(self) -> pd.DataFrame:
        """Per day, the platform-level series."""
        table = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        table.insert(0, "step", np.arange(1, len(table) + 1))
        return table

    def cascade_table(self) -> pd.DataFrame:
        """Every item: its cascade size (all shares it caused) and its exposure and reaction counters."""
        table = pd.DataFrame({**self.items.cascades(), **self.recorder.item_columns(self.items.size)})
        names = np.array([firm.name for firm in self.firms], dtype=object)
        table.insert(1, "firm", names[table.pop("firm_index").to_numpy()] if len(table) else [])
        return table

    def follow_event_table(self) -> pd.DataFrame:
        """Follow relations at set-up (step 0), new follows and unfollows: step, user, firm, event."""
        return self.recorder.follow_events([firm.name for firm in self.firms])

    # -- from a scenario -------------------------------------------------------

    @classmethod
    def from_scenario(cls, scenario, seed: int | None = None, **changes) -> MarketModel:
        """A model of a loaded `Scenario`: its model parameters only, and its seed unless ``seed`` is given.

        The scenario's run settings (name, description, seed, replications) are
        not model parameters, so ``MarketModel(seed=1, **scenario.model_dump())``
        fails; this does it right. ``changes`` replace model parameters, e.g.
        ``steps=30``. Replication r of ``sim.run_scenario`` is
        ``from_scenario(scenario, seed=sim.replication_seed(scenario.seed, r))``.
        """
        if not hasattr(scenario, "model_kwargs"):
            raise TypeError(
                f"MarketModel.from_scenario takes a Scenario (from sim.load_scenario), not a {type(scenario).__name__}"
            )
        return cls(seed=scenario.seed if seed is None else seed, **{**scenario.model_kwargs(), **changes})


def _firm_value(column: str, firm: Firm):
    return firm.today.get(column)


def _platform_value(column: str, model: MarketModel):
    return model.platform_today.get(column)
