"""MarketModel: firms competing for the limited attention of a user population.

One step is one day, in the spec's order: firms publish, feeds fill, the
attention budget decides what is seen, users react, firms answer or delete
comments, user state updates, and today's shares travel tomorrow. Users are
numpy arrays over the grid's cells; firms are Mesa agents. The per-item and
per-pair loops run in compiled kernels (`sim.model.kernels`).

Worlds that are drawn get a Mesa grid whose PropertyLayers mirror user
state: it is built the first time ``model.grid`` is asked for, and kept in
sync every day from then on. Worlds nobody draws never pay for it. Outputs
go into preallocated arrays (`sim.model.records`), not a DataCollector.
"""

from __future__ import annotations

from dataclasses import dataclass

import mesa
import numpy as np
import pandas as pd
from mesa.discrete_space import OrthogonalMooreGrid

from sim.model import feed as fd
from sim.model import kernels
from sim.model.attention import PoissonTable, log_keys, log_thresholds, select_seen
from sim.model.cascades import UserCascades
from sim.model.firm import FIRM_FIELDS, Firm
from sim.model.items import ItemLog
from sim.model.levers import FeedLevers
from sim.model.market_pages import PageMarket
from sim.model.mechanics import AD, PAID, POST, PROMO, REPLY, REPLY_CHANNEL, SHARE, VALUE
from sim.model.network import build_contacts
from sim.model.outputs import FIRM_COLUMNS, PLATFORM_COLUMNS, PLATFORM_COUNTS, UNFOLLOW_WINDOW, ValidationRecorder
from sim.model.population import draw_population
from sim.model.records import DailyRecord
from sim.model.scratch import DayScratch
from sim.scenario import ModelConfig, ScenarioError, validate_config
from sim.scenario.arguments import check_seed

GRID_CELL_LIMIT = 200 * 200  # worlds up to this size can be drawn on a Mesa grid
STATE_PARAMETERS = (  # the order `kernels.update_state` reads them in
    "fatigue_decay", "fatigue_gain", "tolerance", "reply_relief", "trust_pos", "trust_reply",
    "trust_neg", "trust_deleted", "trust0", "trust_drift", "follow_prob", "unfollow_threshold",
    "unfollow_neg_prob", "unfollow_deleted_prob",
)  # fmt: skip


@dataclass
class Reactions:
    """Boolean masks aligned with the seen candidates, and their (user * F + firm) pairs."""

    positive: np.ndarray
    negative: np.ndarray
    comment: np.ndarray  # positive comment
    critic: np.ndarray  # negative comment
    shared: np.ndarray
    pair: np.ndarray  # int64 pair of each seen item, as `Population.flat` indexes them
    answered: np.ndarray | None = None
    deleted: np.ndarray | None = None


_AD_KIND = np.array([AD], dtype=np.int8)
_NO_POSITIONS = np.empty(0, dtype=np.int64)
_COUNT_COLUMNS = tuple(c for c in kernels.FIRM_DAY_COLUMNS if c not in kernels.FIRM_DAY_RATIOS)
_COUNT_ROWS = tuple(kernels.FIRM_DAY_COLUMNS.index(c) for c in _COUNT_COLUMNS)  # whole numbers in `Firm.today`
_CAUSE_ROW = kernels.FIRM_DAY_COLUMNS.index("unfollows_fatigue")  # then negative, deleted, ads hidden, trust changes


def _offsets(parts: list[np.ndarray]) -> np.ndarray:
    """CSR offsets of consecutive parts: 0, len(p0), len(p0) + len(p1), ..."""
    return np.cumsum([0] + [part.shape[0] for part in parts])


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
        self._capacity = float(self.users.attention.sum())
        self._background = PoissonTable(self.users.pages * config.page_post_rate)
        self.items = ItemLog(self.n_users)
        self._grid: OrthogonalMooreGrid | None = None
        self.firms = [
            Firm(self, index=k, name=spec.name, home=homes[k],
                 **{f: v for f, v in spec.resolved(self.n_users).items() if f in FIRM_FIELDS})
            for k, spec in enumerate(config.firms)
        ]  # fmt: skip
        self._build_lookup_tables()
        n_firms = len(self.firms)
        # the page market (part 2): background pages and follow edges; None with market.pages 0 (part 1)
        self.market = PageMarket(self, config) if config.market.pages > 0 else None
        self.levers = FeedLevers(n_firms + config.market.pages, config)
        self.cascades = UserCascades()
        self._commenters = (np.empty(0, np.int64), np.empty(0, bool), np.empty(0))  # yesterday's, for trust change
        self._commenters_today = self._commenters
        self._causes = np.zeros((3, n_firms))  # today's unfollows of each firm by cause
        self.last_unfollow = np.full(self.n_users, -UNFOLLOW_WINDOW, np.int32)  # each user's last unfollow day
        # part 1 keeps the two platform counts up to date from the day's follows and unfollows instead of a pass
        # over every user: firms followed per user, and users by the day of their last unfollow
        self._firms_followed = self.users.follows.sum(axis=1).astype(np.int16)
        self._following = int(np.count_nonzero(self._firms_followed))
        self._last_unfollow_days = np.zeros(config.steps + 2, np.int64)
        self.recorder = ValidationRecorder(n_firms)  # validation counters, no feedback
        self.recorder.on_follow_change(0, np.flatnonzero(self.users.flat("follows")), "initial")
        nothing = np.empty(0, np.int32)
        self._shares_in_transit = (nothing, nothing, np.empty(0, np.int64))  # sharer, item, user cascade
        self._replies_in_transit = (nothing, nothing, np.empty(0, bool))  # user, firm, to a critic
        self._ever_reached = np.zeros(n_firms, dtype=np.int64)
        self._reached_twice = np.zeros(n_firms, dtype=np.int64)
        self._touched_today = np.empty(0, dtype=np.int64)
        self._scratch = DayScratch(self.n_users, n_firms)
        self._state_parameters = np.array([getattr(config, name) for name in STATE_PARAMETERS], dtype=np.float64)
        self.platform_today: dict[str, float] = {}
        self.firm_record = DailyRecord(config.steps, kernels.FIRM_DAY_COLUMNS, _COUNT_COLUMNS, (n_firms,))
        self.platform_record = DailyRecord(config.steps, PLATFORM_COLUMNS, PLATFORM_COUNTS)
        self.running = True

    @property
    def grid(self) -> OrthogonalMooreGrid | None:
        """The Mesa grid mirroring user state, built on first use (None above GRID_CELL_LIMIT cells)."""
        if self._grid is None and self.n_users <= GRID_CELL_LIMIT:
            self._grid = self._build_grid()
            for firm in self.firms:
                firm.cell = self._grid[firm.home]
            self._sync_grid()
        return self._grid

    @property
    def datacollector(self) -> mesa.DataCollector:
        """A Mesa DataCollector holding every recorded day, for Mesa's own viewers; built on use.

        The day's loop records into arrays (`firm_record`, `platform_record`);
        this copies them into the DataCollector's layout (model variables per
        day; per step, one record per firm), so Mesa components reading
        ``model.datacollector`` work, and worlds nobody draws never pay for it.
        """
        firm_columns = ("firm", *FIRM_COLUMNS[2:])
        collector = mesa.DataCollector(
            model_reporters={c: (lambda m, c=c: m.platform_today.get(c)) for c in PLATFORM_COLUMNS},
            agent_reporters={c: (lambda a, c=c: a.today.get(c)) for c in firm_columns},
        )
        platform = self.platform_table()
        for column in PLATFORM_COLUMNS:
            collector.model_vars[column] = platform[column].tolist()
        table = self.firm_table()
        ids = [firm.unique_id for firm in self.firms] * self.firm_record.days
        rows = zip(table["step"].tolist(), ids, *(table[c].tolist() for c in firm_columns))
        for row in rows:
            collector._agent_records.setdefault(row[0], []).append(row)
        return collector

    @property
    def drawn(self) -> bool:
        """Whether a grid exists (someone asked for it) and is kept in sync each day."""
        return self._grid is not None

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

    def refresh_parameters(self) -> None:
        """Recompute what the model derived from ``p`` at build time, after ``p`` was replaced between days.

        For callers that change the rules mid-run (the classroom game): the
        channel and kind tables, the state update's parameters, the feed's
        levers (their estimates are kept) and the market's kernel parameters.
        Parameters drawn at set-up (the world, the population, the pages)
        keep their drawn values.
        """
        self._build_lookup_tables()
        self._state_parameters = np.array([getattr(self.p, name) for name in STATE_PARAMETERS], dtype=np.float64)
        self.levers.configure(self.p)
        if self.market is not None:
            self.market.configure(self.p)

    # -- one day ---------------------------------------------------------------

    def step(self) -> None:
        """One day: publish, fill feeds, spend attention, react, respond, update, pass on."""
        day = self.steps
        for firm in self.firms:
            firm.start_day()
        published = self.publish(day)
        if self.market is not None:
            self.market.publish(day)
        feed = fd.assemble(published, self.arrivals(day), self.items.firm, self.items.kind)
        if self.market is None:
            seen_mask, background = self.allocate_attention(feed)
        else:
            seen_mask, background = self.market.attend(feed, day), None
        seen = feed.take(seen_mask)
        reactions = self.react(seen)
        direct = (seen.channel == POST) | (seen.channel == PAID)
        self.recorder.on_seen(seen.item, direct, reactions.positive, reactions.comment)
        self.respond(seen, reactions)
        pairs, joiners, leaving = self.update_users(seen, reactions)
        self.recorder.on_follow_change(day, joiners, "follow")
        self.recorder.on_follow_change(day, leaving, "unfollow")
        if self.market is not None:
            self.market.discover(day)
        self.pass_on(seen, reactions, day)
        self.record_firms(feed, seen, reactions, pairs, joiners, leaving)
        self.record_platform(feed, seen, background, joiners, leaving)
        self.end_of_day(seen, reactions)
        if self._grid is not None:
            self._sync_grid()
        if day >= self.p.steps:
            self.running = False

    def publish(self, day: int) -> fd.Published:
        """Each firm posts (Poisson, as the budget pays), then buys ad impressions."""
        follower_ptr, followers, n_eligible = fd.audiences(self.users.follows, self.users.ads_hidden)
        post_items, post_kinds, targets = [], [], []
        ad_item = np.full(len(self.firms), -1, dtype=np.int32)
        for firm in self.firms:
            f = firm.index
            kinds = np.where(firm.draw_posts(self.rng, self.p.cost_post), PROMO, VALUE).astype(np.int8)
            post_ids = self.items.add(f, kinds, day)
            self.recorder.on_publish(post_ids, int(follower_ptr[f + 1] - follower_ptr[f]))
            post_items.append(post_ids)
            post_kinds.append(kinds)
            n_ads = firm.ad_count(int(n_eligible[f]), self.p.cost_ad)
            firm.today = {"ads_bought": n_ads, "posts": len(kinds)}
            positions = self.rng.choice(n_eligible[f], size=n_ads, replace=False) if n_ads else _NO_POSITIONS
            targets.append(fd.ad_targets(self.users.follows, self.users.ads_hidden, f, positions, self._scratch.draw_of))
            if n_ads:
                ad_item[f] = self.items.add(f, _AD_KIND, day)[0]
                self.recorder.on_publish(ad_item[f : f + 1], n_ads)
        return fd.Published(
            follower_ptr, followers, _offsets(post_items), np.concatenate(post_items), np.concatenate(post_kinds),
            _offsets(targets), np.concatenate(targets), ad_item,
        )

    def arrivals(self, day: int) -> fd.Arrivals:
        """Yesterday's shares (of items still alive), merged per reader and item, and replies, arriving today."""
        sharers, items, _ = self._shares_in_transit
        alive = self.items.day[items] + self.p.post_lifetime >= day
        readers, delivered, social = self.contacts.spread_merged(sharers[alive], items[alive])
        return fd.Arrivals(readers, delivered, social, *self._replies_in_transit)

    def allocate_attention(self, feed: fd.Candidates) -> tuple[np.ndarray, np.ndarray]:
        """Which candidates are seen, given background items and each user's budget (part 1's threshold)."""
        users, n_firms = self.users, len(self.firms)
        scratch = self._scratch
        background = self._background.draw(self.rng, out=scratch.background)
        if self.p.ranking == "chronological":
            weights = np.ones(len(feed))
        else:
            weights = kernels.candidate_weights(
                self._type_weight, users.flat("trust"), feed.user, feed.firm, feed.channel, feed.kind,
                feed.social, n_firms,
            )
            if self.levers.any_on:  # the feed's levers act on the firms' items in part 1 too
                weights = self.levers.weights(weights, feed.user, feed.firm, self.rng)
        with_items = kernels.distinct_users(feed.user, self.n_users, scratch.mark)
        log_tau = log_thresholds(with_items, background, users.attention, self.rng, out=scratch.log_tau)
        seen = select_seen(feed.user, log_keys(weights, self.rng), log_tau, users.attention, scratch.select)
        return seen, background

    def react(self, seen: fd.Candidates) -> Reactions:
        """One draw per seen item decides a like, a negative reaction or nothing."""
        p, n = self.p, len(seen)
        u = self.rng.random((3, n))
        pair = seen.user.astype(np.int64) * len(self.firms) + seen.firm
        positive, negative, comment, critic, wants_share = kernels.reactions(
            seen.firm, seen.kind, seen.channel, pair,
            self.users.flat("trust"), self.users.flat("fatigue"), self._appeal, self._annoy, self._share_prob,
            p.share_boost, p.share_annoy, p.comment_prob, p.neg_comment_prob, u[0], u[1], u[2], p.annoy_base,
        )
        shared = np.zeros(n, dtype=bool)
        idx = np.flatnonzero(wants_share)
        shared[idx[self.items.first_new_shares(seen.user[idx], seen.item[idx])]] = True
        return Reactions(positive=positive, negative=negative, comment=comment, critic=critic, shared=shared, pair=pair)

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
        self._remember_commenters(reactions.pair[commented], reactions.answered[commented])

    def update_users(self, seen: fd.Candidates, r: Reactions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Fatigue, trust, follows, unfollows and hidden ads, in the spec's order.

        `kernels.tally_pairs` sums the day's events per (user, firm) pair;
        `kernels.update_state` then applies the spec's formulas to every pair
        in one pass and counts the per-firm outputs on the way. Returns the
        touched (user * F + firm) pairs, those who followed and those who
        unfollowed today.
        """
        users, n_firms, slot = self.users, len(self.firms), self._scratch.slot
        pairs, tally = kernels.tally_pairs(
            r.pair, seen.channel, seen.kind, r.positive, r.negative,
            r.deleted, seen.answers_critic, self._load, slot, self._scratch.tally_rows(len(seen)),
        )
        u = self.rng.random((2, pairs.size))
        self._firm_counts = np.zeros((12, n_firms))
        joiners, leaving, cause = kernels.update_state(
            tally, slot, u[0], u[1], users.flat("follows"), users.flat("trust"), users.flat("fatigue"),
            users.flat("ads_hidden"), users.flat("days_reached"), n_firms, self._state_parameters,
            self._firm_counts,
        )
        self._causes = np.bincount(cause * n_firms + leaving % n_firms, minlength=3 * n_firms).reshape(3, n_firms)
        self._count_follow_changes(joiners // n_firms, leaving // n_firms)
        if self.market is not None and self.p.record_events:
            self.market.log_firm_events(joiners, leaving, cause, seen, r)
        self._ever_reached += self._firm_counts[5].astype(np.int64)
        self._reached_twice += self._firm_counts[6].astype(np.int64)
        self._touched_today = pairs
        return pairs, joiners, leaving

    def pass_on(self, seen: fd.Candidates, r: Reactions, day: int) -> None:
        """Today's shares (of the firms' items, then the background pages') and replies become tomorrow's candidates.

        Each share is also put in its user cascade (`sim.model.cascades`).
        """
        users, items = seen.user[r.shared], seen.item[r.shared]
        direct = seen.channel[r.shared] != SHARE
        if self.market is not None:
            more_users, more_items, more_direct = self.market.shares()
            users, items = np.concatenate([users, more_users]), np.concatenate([items, more_items])
            direct = np.concatenate([direct, more_direct])
        reads = self.contacts.reads
        cascade = self.cascades.assign(day, users, items, direct, self._shares_in_transit, reads.indptr,
                                       reads.indices, self.n_users)  # fmt: skip
        self._shares_in_transit = (users.astype(np.int32), items.astype(np.int32), cascade)
        self._replies_in_transit = (seen.user[r.answered], seen.firm[r.answered], r.critic[r.answered])
        self.items.forget_before(day + 1 - self.p.post_lifetime)

    # -- records -------------------------------------------------------------

    def record_firms(self, feed, seen, r: Reactions, pairs, joiners, leaving) -> None:
        """Record the day's per-firm outputs (`kernels.firm_day`) and fill each firm's ``today`` with them."""
        feed_firm = feed.firm if self.market is None else feed.firm[feed.firm < len(self.firms)]
        day = kernels.firm_day(
            seen.firm, r.positive, r.comment, r.critic, r.shared, r.answered, r.deleted, feed_firm, joiners, leaving,
            self._firm_counts, np.array([firm.spent_today for firm in self.firms]), self._ever_reached,
            self._reached_twice, self.n_users,
        )
        day[_CAUSE_ROW : _CAUSE_ROW + 3] = self._causes
        day[_CAUSE_ROW + 3] = self._firm_counts[11]
        day[_CAUSE_ROW + 4 : _CAUSE_ROW + 6] = self._commenter_trust_change()
        self.firm_record.add(day)
        for firm, values in zip(self.firms, day.T.tolist()):
            for i in _COUNT_ROWS:
                values[i] = int(values[i])
            firm.today.update(zip(kernels.FIRM_DAY_COLUMNS, values))

    def record_platform(self, feed, seen, background, joiners, leaving) -> None:
        """Attention used and overload, follows and the shown share, for the whole platform.

        Part 1: candidates are the firms' items, background items the Poisson
        background. The market: candidates are every page's items (firms' and
        background pages', all channels), background items the friends' posts.
        """
        attention = self.users.attention
        if self.market is None:
            offered, took, bg, used, overloaded = kernels.attention_totals(
                feed.user, seen.user, background, attention, self._scratch.offered, self._scratch.took
            )
            friends = friends_seen = follows_bg = unfollows_bg = 0
        else:
            offered, took, bg, friends_seen, used, overloaded = self.market.attention_totals()
            friends = bg
            follows_bg, unfollows_bg = self.market.follow_totals()
        capacity = self._capacity
        eligible = offered + bg
        self.platform_today = {
            "candidates": int(offered),
            "seen_candidates": int(took),
            "background_items": int(bg),
            "attention_used": int(used),
            "attention_capacity": int(capacity),
            "attention_used_share": float(used / capacity),
            "overload": float((bg + offered) / capacity),
            "overloaded_share": float(overloaded / self.n_users),
            "follows": int(joiners.size + follows_bg),
            "unfollows": int(leaving.size + unfollows_bg),
            "follows_background": int(follows_bg),
            "unfollows_background": int(unfollows_bg),
            "friend_posts": int(friends),
            "friend_posts_seen": int(friends_seen),
            "shown_share": float(used / eligible) if eligible else float("nan"),
            **dict(zip(("users_following", "users_unfollowed_51d"), self._follow_totals())),
        }
        self.platform_record.add(np.array([self.platform_today[c] for c in PLATFORM_COLUMNS]))

    def _count_follow_changes(self, joined: np.ndarray, left: np.ndarray) -> None:
        """Update the firms followed per user, users following any firm, and each user's last unfollow day."""
        if self.steps + 1 >= len(self._last_unfollow_days):  # stepping past the horizon: the kernel writes day `steps`
            self._last_unfollow_days = np.concatenate([self._last_unfollow_days, np.zeros_like(self._last_unfollow_days)])
        self._following += kernels.count_follow_changes(joined, left, self._firms_followed, self.last_unfollow,
                                                        self._last_unfollow_days, self.steps)  # fmt: skip

    def _follow_totals(self) -> tuple[int, int]:
        """Users following any page (a firm or a background page), and users who unfollowed any in 51 days."""
        if self.market is None:  # kept up to date by _count_follow_changes
            since = max(0, self.steps - UNFOLLOW_WINDOW + 1)
            return self._following, int(self._last_unfollow_days[since : self.steps + 1].sum())
        following, unfollowed = kernels.follow_totals(self.users.follows, self.market.edges.length, self.last_unfollow,
                                                      self.steps - UNFOLLOW_WINDOW)  # fmt: skip
        return int(following), int(unfollowed)

    def _remember_commenters(self, pairs: np.ndarray, answered: np.ndarray) -> None:
        """Today's commenters on the firms' items (once per pair; answered if any comment was), with today's dawn trust."""
        self._commenters_today = kernels.distinct_commenters(pairs, answered, self.users.flat("trust"),
                                                             self._scratch.slot)  # fmt: skip

    def _commenter_trust_change(self) -> np.ndarray:
        """(2, F): yesterday's commenters' mean trust change since yesterday's dawn, answered and not (NaN if none)."""
        pairs, answered, before = self._commenters
        self._commenters = self._commenters_today
        return kernels.trust_change(pairs, answered, before, self.users.flat("trust"), len(self.firms))

    def end_of_day(self, seen: fd.Candidates, r: Reactions) -> None:
        """Page records and the levers' estimates for tomorrow, from every page's impressions and reactions today."""
        if self.market is None and not self.levers.ranking_on:
            return  # part 1 without ranking levers: nothing to estimate, no page records
        n_pages = len(self.firms) + self.p.market.pages
        firm_rows = np.stack([
            np.bincount(seen.firm, minlength=len(self.firms)),
            np.bincount(seen.firm, r.positive, minlength=len(self.firms)),
            np.bincount(seen.firm, r.negative, minlength=len(self.firms)),
        ])  # fmt: skip
        if self.market is None:
            self.levers.end_of_day(*firm_rows)
            return
        impressions, positives, negatives = self.market.reaction_counts()
        impressions[: len(self.firms)] += firm_rows[0].astype(np.int64)
        positives[: len(self.firms)] += firm_rows[1].astype(np.int64)
        negatives[: len(self.firms)] += firm_rows[2].astype(np.int64)
        self.levers.end_of_day(impressions, positives, negatives)
        self.market.record_day(impressions, positives, negatives, n_pages)

    def _sync_grid(self) -> None:
        """Copy user state into the grid's PropertyLayers (small worlds only)."""
        if self.grid is None:
            return
        shape = (self.p.width, self.p.height)
        layers = self.grid._mesa_property_layers
        bits = (self.users.follows * (1 << np.arange(len(self.firms)))).sum(axis=1)
        layers["followed_firms"].data = bits.reshape(shape)
        reached_today = np.zeros(self.users.follows.shape, dtype=bool)
        reached_today.reshape(-1)[self._touched_today] = True
        for firm in self.firms:
            k, name = firm.index, firm.name
            layers[f"follows_{name}"].data = self.users.follows[:, k].reshape(shape)
            layers[f"trust_{name}"].data = self.users.trust[:, k].reshape(shape)
            layers[f"fatigue_{name}"].data = self.users.fatigue[:, k].reshape(shape)
            layers[f"reached_{name}"].data = reached_today[:, k].reshape(shape)

    # -- tables ----------------------------------------------------------------

    def firm_table(self) -> pd.DataFrame:
        """Per firm and day, one row each: the tidy output table."""
        days, n_firms = self.firm_record.days, len(self.firms)
        table = self.firm_record.frame(kernels.FIRM_DAY_COLUMNS)
        table.insert(0, "firm", np.tile(np.array([firm.name for firm in self.firms], dtype=object), days))
        table.insert(0, "step", np.repeat(np.arange(1, days + 1), n_firms))
        return table

    def platform_table(self) -> pd.DataFrame:
        """Per day, the platform-level series."""
        table = self.platform_record.frame(PLATFORM_COLUMNS)
        table.insert(0, "step", np.arange(1, len(table) + 1))
        return table

    def cascade_table(self) -> pd.DataFrame:
        """Every item: its cascade size (all shares it caused) and its exposure and reaction counters."""
        table = pd.DataFrame({**self.items.cascades(), **self.recorder.item_columns(self.items.size)})
        names = self.page_names()  # in the market, "firm" names the page: a firm or page_b
        table.insert(1, "firm", names[table.pop("firm_index").to_numpy()] if len(table) else [])
        return table

    def page_names(self) -> np.ndarray:
        """Every page's name: the firms', then background page b as 'page_b'."""
        if self.market is not None:
            return self.market.page_names()
        return np.array([firm.name for firm in self.firms], dtype=object)

    def page_table(self) -> pd.DataFrame:
        """One row per page (firms first): MARKET_SPEC.md's page table; empty in part 1."""
        return self.market.page_table() if self.market is not None else pd.DataFrame()

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
        seed = scenario.seed if seed is None else check_seed(seed, "MarketModel.from_scenario: seed")
        return cls(seed=seed, **{**scenario.model_kwargs(), **changes})

