"""Candidate construction (sim/model/feed.py) on hand-made inputs.

These call feed's functions directly: they are the narrowest internals that
decide how deliveries are laid out and merged. In the model every sharer has
at least 8 readers, so a share reaching exactly one reader (the edge case
below) only shows up here.
"""

from __future__ import annotations

import numpy as np

from sim.model import feed as fd
from sim.model.mechanics import AD, PAID, POST, PROMO, REPLY, REPLY_CHANNEL, SHARE, VALUE

NONE = np.empty(0, np.int32)


def published(n_firms=2, followers=(), posts=(), ads=(), ad_item=None):
    """A `Published` from per-firm lists: followers[f], posts[f] as (item, kind) pairs, ads[f] targets."""
    followers = list(followers) or [[]] * n_firms
    posts = list(posts) or [[]] * n_firms
    ads = list(ads) or [[]] * n_firms

    def csr(parts, dtype=np.int32):
        return np.cumsum([0] + [len(p) for p in parts]), np.array([x for p in parts for x in p], dtype)

    follower_ptr, follower_idx = csr(followers)
    post_ptr, post_item = csr([[i for i, _ in p] for p in posts], np.int64)
    _, post_kind = csr([[k for _, k in p] for p in posts], np.int8)
    ad_ptr, ad_target = csr(ads)
    items = np.full(n_firms, -1, np.int32) if ad_item is None else np.array(ad_item, np.int32)
    return fd.Published(follower_ptr, follower_idx, post_ptr, post_item, post_kind, ad_ptr, ad_target, items)


def arrivals(share=(NONE, NONE, NONE), reply=(NONE, NONE, np.empty(0, bool))):
    return fd.Arrivals(*[np.asarray(a) for a in share], *[np.asarray(a) for a in reply])


ITEM_FIRM, ITEM_KIND = np.array([0, 1]), np.array([PROMO, VALUE], np.int8)


def test_a_share_with_a_single_reader_is_delivered():
    c = fd.assemble(published(), arrivals(share=([4], [1], [1])), ITEM_FIRM, ITEM_KIND)
    assert len(c) == 1
    assert (c.user.tolist(), c.firm.tolist(), c.item.tolist(), c.social.tolist()) == ([4], [1], [1], [1])
    assert c.channel.tolist() == [SHARE] and c.kind.tolist() == [VALUE]


def test_share_candidates_carry_social_proof_and_each_items_firm_and_kind():
    """Merging per (reader, item) happens in `kernels.spread_merged` (tests/test_kernels.py);
    the candidates keep its social-proof counts and look up each item's firm and kind."""
    share = ([2, 2, 3, 3], [0, 1, 0, 1], [2, 1, 1, 1])
    c = fd.assemble(published(), arrivals(share=share), np.array([0, 1]), np.array([PROMO, AD], np.int8))
    got = list(zip(c.user.tolist(), c.item.tolist(), c.social.tolist(), c.kind.tolist(), c.firm.tolist()))
    assert got == [(2, 0, 2, PROMO, 0), (2, 1, 1, AD, 1), (3, 0, 1, PROMO, 0), (3, 1, 1, AD, 1)]
    assert len(fd.assemble(published(), arrivals(), ITEM_FIRM, ITEM_KIND)) == 0


def test_posts_ads_shares_and_replies_in_the_order_of_the_day():
    """Firm by firm: each post to every follower, then the firm's ads; then shares, then replies."""
    pub = published(
        followers=[[1, 5], [2]],
        posts=[[(7, PROMO), (8, VALUE)], [(9, VALUE)]],
        ads=[[0, 3], []],
        ad_item=[10, -1],
    )
    c = fd.assemble(pub, arrivals(share=([6], [1], [3]), reply=([2, 6], [0, 1], [True, False])), ITEM_FIRM, ITEM_KIND)
    rows = list(zip(c.user.tolist(), c.firm.tolist(), c.channel.tolist(), c.kind.tolist(), c.item.tolist()))
    assert rows == [
        (1, 0, POST, PROMO, 7), (5, 0, POST, PROMO, 7), (1, 0, POST, VALUE, 8), (5, 0, POST, VALUE, 8),
        (0, 0, PAID, AD, 10), (3, 0, PAID, AD, 10),
        (2, 1, POST, VALUE, 9),
        (6, 1, SHARE, VALUE, 1),
        (2, 0, REPLY_CHANNEL, REPLY, -1), (6, 1, REPLY_CHANNEL, REPLY, -1),
    ]  # fmt: skip
    assert c.social.tolist() == [0] * 7 + [3] + [0, 0]
    assert c.answers_critic.tolist() == [False] * 8 + [True, False]
    replies = c.take(c.channel == REPLY_CHANNEL)
    assert len(replies) == 2 and replies.user.tolist() == [2, 6]


def test_audiences_are_followers_and_the_users_ads_may_target():
    follows = np.array([[1, 0], [0, 0], [1, 1], [0, 1], [0, 0]], bool)
    hidden = np.array([[0, 0], [1, 0], [0, 0], [0, 0], [0, 1]], bool)
    follower_ptr, followers, n_eligible = fd.audiences(follows, hidden)
    assert [followers[follower_ptr[f] : follower_ptr[f + 1]].tolist() for f in range(2)] == [[0, 2], [2, 3]]
    assert n_eligible.tolist() == [2, 2]
    assert [fd.ad_targets(follows, hidden, f, np.arange(2)).tolist() for f in range(2)] == [[3, 4], [0, 1]]


def test_ad_targets_are_the_chosen_positions_of_the_eligible_list_in_draw_order():
    rng = np.random.default_rng(4)
    follows = rng.random((500, 3)) < 0.3
    hidden = rng.random((500, 3)) < 0.2
    _, _, n_eligible = fd.audiences(follows, hidden)
    for f in range(3):
        eligible = np.flatnonzero(~follows[:, f] & ~hidden[:, f])
        assert n_eligible[f] == eligible.size
        for k in (0, 1, 17, eligible.size):
            expected = np.random.default_rng(k).choice(eligible, size=k, replace=False)
            positions = np.random.default_rng(k).choice(eligible.size, size=k, replace=False)
            assert fd.ad_targets(follows, hidden, f, positions).tolist() == expected.tolist()
            scratch = np.full(500, -1, np.int32)  # as a model keeps it across days
            assert fd.ad_targets(follows, hidden, f, positions, scratch).tolist() == expected.tolist()
            assert (scratch == -1).all()  # left clean for the next call
