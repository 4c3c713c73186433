"""Candidate construction (sim/model/feed.py) on hand-made inputs.

These read feed's module functions directly: they are the narrowest
internals that decide how deliveries merge. In the model every sharer has
at least 8 readers, so a share reaching exactly one reader (the edge case
below) only shows up here.
"""

from __future__ import annotations

import numpy as np

from sim.model import feed as fd
from sim.model.mechanics import AD, PAID, POST, PROMO, REPLY, REPLY_CHANNEL, SHARE, VALUE


def test_a_share_with_a_single_reader_is_delivered():
    c = fd.share_candidates(np.array([4]), np.array([1]), np.array([1]), np.array([0, 1]),
                            np.array([PROMO, VALUE], np.int8))  # fmt: skip
    assert len(c) == 1
    assert (c.user.tolist(), c.firm.tolist(), c.item.tolist(), c.social.tolist()) == ([4], [1], [1], [1])
    assert c.channel.tolist() == [SHARE] and c.kind.tolist() == [VALUE]


def test_share_candidates_carry_social_proof_and_each_items_firm_and_kind():
    """Merging per (reader, item) happens in `kernels.spread_merged` (tests/test_kernels.py);
    the candidates keep its social-proof counts and look up each item's firm and kind."""
    readers, items, social = np.array([2, 2, 3, 3]), np.array([0, 1, 0, 1]), np.array([2, 1, 1, 1])
    c = fd.share_candidates(readers, items, social, np.array([0, 1]), np.array([PROMO, AD], np.int8))
    got = sorted(zip(c.user.tolist(), c.item.tolist(), c.social.tolist(), c.kind.tolist(), c.firm.tolist()))
    assert got == [(2, 0, 2, PROMO, 0), (2, 1, 1, AD, 1), (3, 0, 1, PROMO, 0), (3, 1, 1, AD, 1)]
    assert len(fd.share_candidates(np.empty(0, np.int32), np.empty(0, np.int32), np.empty(0, np.int32),
                                   np.array([0]), np.array([PROMO], np.int8))) == 0  # fmt: skip


def test_posts_ads_and_replies_as_candidates():
    posts = fd.post_candidates(np.array([1, 5]), 1, np.array([7, 8]), np.array([PROMO, VALUE], np.int8))
    assert sorted(zip(posts.user.tolist(), posts.item.tolist(), posts.kind.tolist())) == [
        (1, 7, PROMO), (1, 8, VALUE), (5, 7, PROMO), (5, 8, VALUE)]
    assert set(posts.channel.tolist()) == {POST} and set(posts.firm.tolist()) == {1}
    assert posts.social.tolist() == [0] * 4 and not posts.answers_critic.any()
    ads = fd.ad_candidates(np.array([0, 3]), 0, 9, AD)
    assert (ads.user.tolist(), ads.item.tolist(), ads.channel.tolist()) == ([0, 3], [9, 9], [PAID, PAID])
    replies = fd.reply_candidates(np.array([2, 6]), np.array([0, 1]), np.array([True, False]))
    assert replies.channel.tolist() == [REPLY_CHANNEL] * 2 and replies.kind.tolist() == [REPLY] * 2
    assert replies.firm.tolist() == [0, 1] and replies.answers_critic.tolist() == [True, False]
    both = fd.Candidates.concat([posts, replies])
    assert len(both) == 6 and len(both.take(both.channel == REPLY_CHANNEL)) == 2
