"""The page market inside a model (MARKET_SPEC.md): background pages that post, rank, tire users and lose followers.

`PageMarket` holds the background pages, the users' follow edges to them
and the day's per-page counters, and runs the market's phases of a day for
`MarketModel`: publishing, the joint attention ranking with reactions and
edge updates (`market_day.user_day`), discovery, and the page records. The
firms keep part 1's state and phases; here they are pages 0 .. F-1, ranked
with everything else.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.model import market_day as md
from sim.model.mechanics import PROMO, VALUE
from sim.model.page_records import DAY_COLUMNS, PageRecorder
from sim.model.pages import FollowEdges, draw_pages

class PageMarket:
    """Background pages, follow edges and the market's day, for one model."""

    def __init__(self, model, config):
        self.model = model
        market = config.market
        self.n_firms = len(model.firms)
        self.trust_start = min(1.0, config.trust0 + config.follower_trust_bonus)
        self.pages = draw_pages(market, config.page_post_rate, model.rng)
        self.edges = FollowEdges.draw(model.users.pages, self.pages, self.trust_start, model.rng)
        self.followers = self.edges.followers(self.pages.size)
        n_pages = self.n_firms + self.pages.size
        self.counts = np.zeros((n_pages, len(md.PAGE_COUNTS)), np.int64)
        self.user_counts = np.zeros((model.n_users, len(md.USER_COUNTS)), np.int64)
        self._edge_of = np.full(n_pages, -1, np.int64)
        self.configure(config)
        firm_followers = model.users.follows.sum(axis=0)
        self.recorder = PageRecorder(np.concatenate([firm_followers, self.followers]), config.steps, market.weekly)
        self.record_events = config.record_events
        self._events: list[np.ndarray] = []
        self._wishes = (np.empty(0, np.int64),) * 2 + (np.empty(0, bool),)
        self._pending = (np.empty(0, np.int64), np.empty(0, np.int64))
        self._posts_today = np.zeros(self.pages.size, np.int64)
        self._day_events = np.empty((0, 5), np.int64)
        self.trace_candidates = False  # set True to keep each day's candidates in `trace` (tests, viewers)
        self.trace = np.empty((0, 5), np.int64)

    def configure(self, config) -> None:
        """The kernel's parameters (`market_day.PARAMETERS`) from a configuration, at build or mid-run."""
        self.trust_start = min(1.0, config.trust0 + config.follower_trust_bonus)
        self._par = np.array([self._parameter(config, name) for name in md.PARAMETERS], dtype=np.float64)

    def _parameter(self, config, name: str) -> float:
        if name == "chronological":
            return float(config.ranking == "chronological")
        if name == "trust_start":
            return self.trust_start
        if name in ("friend_posts", "weight_friend"):
            return getattr(config.market, name)
        return getattr(config, name)

    # -- the day's phases ---------------------------------------------------------

    def publish(self, day: int) -> None:
        """Each background page posts Poisson(r_b) items, each promo with its promo share, else value."""
        rng, pages = self.model.rng, self.pages
        n = rng.poisson(pages.post_rate)
        promo = rng.random(int(n.sum())) < np.repeat(pages.promo_share, n)
        kinds = np.where(promo, PROMO, VALUE).astype(np.int8)
        page_of = np.repeat(np.arange(pages.size), n)
        ids = self.model.items.add_many(page_of + self.n_firms, kinds, day)
        self.model.recorder.on_publish_many(ids, self.followers[page_of])
        self._post_ptr = np.concatenate([[0], np.cumsum(n)])
        self._post_item, self._post_kind = ids, kinds
        self._posts_today = n

    def attend(self, feed, day: int) -> np.ndarray:
        """The joint ranking, background reactions and edge updates (`market_day.user_day`); the feed's seen mask."""
        model, edges = self.model, self.edges
        self.counts.fill(0)
        ptr, order = md.group_by_user(feed.user, model.n_users)
        seen = np.zeros(len(feed), bool)
        c = model.recorder.counters(model.items.size)
        events = np.empty((self._event_room(feed) if self.record_events else 0, 5), np.int64)
        rows = md.candidate_count(ptr, edges.start, edges.length, edges.page, self._post_ptr) if self.trace_candidates else 0
        self.trace = np.empty((rows, 5), np.int64)
        self._wishes, self._pending, n_events = md.user_day(
            self.n_firms, model.users.attention, model.users.flat("trust"),
            edges.start, edges.length, edges.capacity, edges.page, edges.trust, edges.fatigue,
            self._post_ptr, self._post_item, self._post_kind,
            ptr, order, feed.firm, feed.channel, feed.kind, feed.item, feed.social,
            self.pages.quality, model.levers.factor, model._type_weight, model._load, model._annoy, model._share_prob,
            self._par, model.rng, seen, self.counts, self.followers, self.user_counts,
            c["seen"], c["likes"], c["comments"], c["direct_seen"], c["direct_positive"],
            self._edge_of, events, self.record_events, day, self.trace, model.last_unfollow,
        )  # fmt: skip
        self._day_events = events[: min(n_events, events.shape[0])]
        return seen

    def _event_room(self, feed) -> int:
        """Rows enough for a day's events: every seen item once, every edge once, follows."""
        return int(self.model.users.attention.sum()) + int(self.edges.length.sum()) + 2 * self.model.n_users

    def discover(self, day: int) -> None:
        """Discovery after every other update; then the follows that did not fit are added by growing the rows."""
        edges = self.edges
        events = np.empty((self.model.n_users if self.record_events else 0, 5), np.int64)
        users, pages, n_events = md.discover(
            self.model.p.market.discover_rate, self.pages.cumulative, edges.start, edges.length, edges.capacity,
            edges.page, edges.trust, edges.fatigue, self.trust_start, self.followers, self.counts, self.n_firms,
            self._pending[0], self._pending[1], self.model.rng, events, 0, self.record_events, day,
        )  # fmt: skip
        if users.size:
            edges.grow(users, pages.astype(np.int32), self.trust_start)
        if self.record_events:
            self._events.append(self._day_events)
            self._events.append(events[:n_events])

    def shares(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Today's shares of background pages' items: the first per user and item, ever (user, item, direct)."""
        users, items, direct = self._wishes
        fresh = self.model.items.first_new_shares(users.astype(np.int32), items.astype(np.int32))
        return users[fresh], items[fresh], direct[fresh]

    # -- the day's totals ---------------------------------------------------------

    def attention_totals(self) -> tuple[int, int, int, int, int, int]:
        """Page items offered and seen, friends' posts offered and read, attention used, users overloaded."""
        u = self.user_counts
        offered = int(u[:, 0].sum() + u[:, 4].sum())
        took = int(u[:, 2].sum() + u[:, 5].sum())
        friends, friends_seen = int(u[:, 1].sum()), int(u[:, 3].sum())
        overloaded = int(np.count_nonzero(u[:, 0] + u[:, 1] + u[:, 4] > self.model.users.attention))
        return offered, took, friends, friends_seen, took + friends_seen, overloaded

    def follow_totals(self) -> tuple[int, int]:
        """Today's follows and unfollows of background pages."""
        c = self.counts[self.n_firms :]
        follows = c[:, md.FOLLOW_REACTION].sum() + c[:, md.FOLLOW_DISCOVERY].sum()
        return int(follows), int(c[:, md.UNFOLLOW_FATIGUE].sum() + c[:, md.UNFOLLOW_NEGATIVE].sum())

    def reaction_counts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Today's impressions, positive and negative reactions per page (background pages' part filled)."""
        c = self.counts
        return c[:, md.IMPRESSIONS].copy(), c[:, md.POSITIVES].copy(), c[:, md.NEGATIVES].copy()

    def record_day(self, impressions: np.ndarray, positives: np.ndarray, negatives: np.ndarray, n_pages: int) -> None:
        """Hand one row per page to the page recorder: firms from their part-1 outputs, background pages from here."""
        model, f, c = self.model, self.n_firms, self.counts
        day = np.zeros((n_pages, len(DAY_COLUMNS)), np.int64)
        firm = model.firm_record
        today = {name: firm.column(name)[-1] for name in ("followers", "organic_reach", "new_follows")}
        day[:f, 0] = [firm_agent.today["posts"] for firm_agent in model.firms]
        day[:f, 1] = today["followers"]
        day[:f, 2] = today["organic_reach"]
        day[:f, 4] = today["new_follows"]
        day[:f, 6:9] = model._causes.T
        day[f:, 0] = self._posts_today
        day[f:, 1] = self.followers
        day[f:, 2] = c[f:, md.ORGANIC]
        day[f:, 4] = c[f:, md.FOLLOW_REACTION]
        day[f:, 5] = c[f:, md.FOLLOW_DISCOVERY]
        day[f:, 6] = c[f:, md.UNFOLLOW_FATIGUE]
        day[f:, 7] = c[f:, md.UNFOLLOW_NEGATIVE]
        day[:, 3] = impressions
        day[:, 9] = positives
        day[:, 10] = negatives
        self.recorder.add_day(day)

    def log_firm_events(self, joiners, leaving, cause, seen, r) -> None:
        """Event-log rows for the firms: comments, replies, deletions, follows, unfollows (with cause)."""
        day, f = self.model.steps, self.n_firms
        rows = []
        for mask, code in ((r.comment, 0), (r.critic, 1), (r.answered, 2), (r.deleted, 3)):
            rows.append(np.column_stack([seen.user[mask], seen.firm[mask], np.full(mask.sum(), code),
                                         np.zeros(mask.sum())]))  # fmt: skip
        rows.append(np.column_stack([joiners // f, joiners % f, np.full(joiners.size, 4), np.full(joiners.size, 4)]))
        rows.append(np.column_stack([leaving // f, leaving % f, np.full(leaving.size, 5), cause + 1]))
        block = np.concatenate(rows).astype(np.int64)
        self._events.append(np.column_stack([np.full(block.shape[0], day), block]))

    # -- tables -------------------------------------------------------------------

    def page_names(self) -> np.ndarray:
        names = [firm.name for firm in self.model.firms] + [f"page_{b}" for b in range(self.pages.size)]
        return np.array(names, dtype=object)

    def page_table(self) -> pd.DataFrame:
        """`pages.parquet`: one row per page (firms first), MARKET_SPEC.md's page table."""
        model, pages = self.model, self.pages
        firms = model.firms
        nan = np.full(len(firms), np.nan)
        parameters = {
            "attractiveness": np.concatenate([nan, pages.attractiveness]),
            "post_rate": np.concatenate([[f.posts_per_day for f in firms], pages.post_rate]),
            "promo_share": np.concatenate([[f.promo_share for f in firms], pages.promo_share]),
            "quality": np.concatenate([[f.quality for f in firms], pages.quality]),
        }
        is_firm = np.arange(len(firms) + pages.size) < len(firms)
        items = {**model.recorder.item_columns(model.items.size), "kind": model.items.kind}
        return self.recorder.table(self.page_names(), is_firm, parameters, items, model.items.firm,
                                   model.levers.q, model.levers.h)  # fmt: skip

    def weekly_table(self) -> pd.DataFrame:
        """Per page and week (empty when ``market.weekly`` is off)."""
        return self.recorder.weekly_table(self.page_names())

    def event_table(self) -> pd.DataFrame:
        """The event log (``record_events: true``): day, user, page, event, cause."""
        block = np.concatenate(self._events) if self._events else np.empty((0, 5), np.int64)
        names = self.page_names()
        return pd.DataFrame({
            "day": block[:, 0], "user": block[:, 1], "page": names[block[:, 2]] if len(block) else [],
            "event": np.array(md.EVENT_NAMES, dtype=object)[block[:, 3]],
            "cause": np.array(md.CAUSE_NAMES, dtype=object)[block[:, 4]],
        })  # fmt: skip

    def followers_from_edges(self) -> np.ndarray:
        """Followers of every background page counted afresh from the edges (the spec's check)."""
        return self.edges.followers(self.pages.size)

