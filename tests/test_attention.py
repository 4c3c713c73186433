"""The attention budget: the threshold's distribution, the selection, and the spec's invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from sim.model.attention import (
    PoissonTable, inverse_transform, log_keys, log_thresholds, sample_threshold, select_seen,
)
from tests.conftest import SMALL, RecordingModel, run


@pytest.mark.parametrize("bg,attention", [(55, 30), (31, 30), (200, 5), (12, 1)])
def test_threshold_is_the_attention_th_largest_background_key(bg, attention):
    rng = np.random.default_rng(11)
    n = 20000
    tau = sample_threshold(np.full(n, bg), np.full(n, attention), rng)
    explicit = np.sort(rng.random((n, bg)), axis=1)[:, bg - attention]  # attention-th largest
    assert stats.ks_2samp(tau, explicit).pvalue > 1e-3
    beta = stats.beta(bg - attention + 1, attention)
    assert stats.kstest(tau, beta.cdf).pvalue > 1e-3


def test_threshold_is_zero_when_background_fits_the_budget():
    tau = sample_threshold(np.array([0, 5, 30]), np.array([30, 5, 30]), np.random.default_rng(0))
    assert np.all(tau == 0)


def test_log_thresholds_draw_for_the_given_users_in_their_order():
    bg = np.array([50, 3, 80, 40, 0, 90])
    attention = np.array([30, 30, 30, 30, 30, 10])
    users = np.array([5, 2, 1, 3], np.int32)  # user 0 has no candidates, 4 has none either
    got = log_thresholds(users, bg, attention, np.random.default_rng(8))
    tau = sample_threshold(bg[users], attention[users], np.random.default_rng(8))
    expected = np.full(6, -np.inf)
    expected[users] = np.log(tau, out=np.full(4, -np.inf), where=tau > 0)
    assert np.array_equal(got, expected) and np.isfinite(got[[5, 2, 3]]).all()


def test_key_of_weight_w_beats_a_uniform_with_probability_w_over_w_plus_1():
    rng = np.random.default_rng(5)
    for w in (0.5, 1.0, 4.0):
        keys = np.exp(log_keys(np.full(200000, w), rng))
        # P(U^(1/w) > V) for independent uniforms U, V is w / (w + 1)
        frac = np.mean(keys > rng.random(keys.size))
        assert frac == pytest.approx(w / (w + 1), abs=0.005)


@settings(max_examples=60, deadline=None)
@given(
    n_users=st.integers(1, 8),
    n_items=st.integers(0, 80),
    seed=st.integers(0, 2**32 - 1),
)
def test_selection_keeps_the_largest_passing_keys_within_budget(n_users, n_items, seed):
    rng = np.random.default_rng(seed)
    user = rng.integers(0, n_users, n_items)
    key = np.log(rng.random(n_items) + 1e-12)
    log_tau = np.where(rng.random(n_users) < 0.3, -np.inf, np.log(rng.random(n_users)))
    attention = rng.integers(1, 6, n_users)
    seen = select_seen(user, key, log_tau, attention)
    for u in range(n_users):
        mine = user == u
        passed = mine & (key > log_tau[u])
        assert seen[mine].sum() == min(attention[u], passed.sum())
        assert not np.any(seen & mine & ~passed)
        if seen[mine].any() and (passed & ~seen).any():
            assert key[seen & mine].min() >= key[passed & ~seen].max()


def _seen_and_offered(day, n_users):
    feed, seen_mask = day["feed"], day["seen_mask"]
    offered = np.bincount(feed.user, minlength=n_users)
    seen = np.bincount(feed.user[seen_mask], minlength=n_users)
    return offered, seen


def test_no_user_ever_sees_more_than_its_budget():
    model = run(RecordingModel(seed=3, **{**SMALL, "attention_mean": 3.0, "steps": 30}))
    for day in model.days:
        offered, seen = _seen_and_offered(day, model.n_users)
        assert np.all(seen <= model.users.attention)
        assert offered.sum() > seen.sum()  # the budget binds somewhere


def test_without_background_pages_every_candidate_fits_unless_the_budget_is_smaller():
    model = run(RecordingModel(seed=4, **{**SMALL, "pages_followed": 0.0, "steps": 30}))
    for day in model.days:
        assert day["background"].sum() == 0
        offered, seen = _seen_and_offered(day, model.n_users)
        assert np.array_equal(seen, np.minimum(offered, model.users.attention))


def test_chronological_ranking_ignores_weights():
    # replies have weight 4 (1 + trust): under engagement ranking they beat posts far more often
    def reply_seen_share(ranking):
        model = run(RecordingModel(seed=9, **{**SMALL, "ranking": ranking, "steps": 30, "attention_mean": 5.0}))
        seen = offered = 0
        for day in model.days:
            replies = day["feed"].channel == 3
            seen += day["seen_mask"][replies].sum()
            offered += replies.sum()
        return seen / offered

    assert reply_seen_share("engagement") > reply_seen_share("chronological") + 0.1


# -- the background count: Poisson(pages * page_post_rate) by inverse transform ----------------


@pytest.mark.parametrize("rate", [0.0, 0.5, 3.0, 54.5, 1000.0])
def test_background_counts_follow_the_poisson_distribution_of_each_rate(rate):
    counts = PoissonTable(np.full(200_000, rate)).draw(np.random.default_rng(21))
    if rate == 0.0:
        assert not counts.any()
        return
    k = np.arange(counts.max() + 1)
    expected = stats.poisson.pmf(k, rate) * counts.size
    observed = np.bincount(counts, minlength=k.size)
    enough = expected >= 5  # chi-square over the bins with at least 5 expected, the rest pooled
    observed = np.append(observed[enough], counts.size - observed[enough].sum())
    expected = np.append(expected[enough], counts.size - expected[enough].sum())
    assert stats.chisquare(observed, expected).pvalue > 1e-3


def test_each_user_draws_from_the_table_of_its_own_rate():
    rates = np.tile([2.0, 50.0, 0.0, 400.0], 50_000)  # interleaved, so a wrong row shows at once
    counts = PoissonTable(rates).draw(np.random.default_rng(8)).reshape(-1, 4)
    assert not counts[:, 2].any()
    for column, rate in ((0, 2.0), (1, 50.0), (3, 400.0)):
        assert counts[:, column].mean() == pytest.approx(rate, abs=4 * np.sqrt(rate / counts.shape[0]))
        assert counts[:, column].var() == pytest.approx(rate, rel=0.03)


def test_the_look_up_returns_the_smallest_count_whose_cdf_exceeds_the_uniform():
    table = PoissonTable(np.array([0.7, 3.0, 54.5]))
    for row in range(3):
        cdf = table.cdf[table.start[row] : table.start[row + 1]]
        g = cdf.size * table.guide.size // table.cdf.size
        edges = np.arange(g) / g  # the guide table's bucket edges and the values just around them
        u = np.concatenate((edges, np.nextafter(edges, 1.0), np.nextafter(edges[1:], 0.0), cdf[:-1],
                            np.nextafter(cdf, 0.0), [np.nextafter(1.0, 0.0)]))  # fmt: skip
        assert cdf[-1] == 1.0 and (cdf[:-1] < 1.0).all() and u.max() < 1.0  # each table ends at its first 1.0
        got = inverse_transform(u, np.full(u.size, row, np.int32), table.cdf, table.start, table.guide)
        assert got.tolist() == np.searchsorted(cdf, u, side="right").tolist()


def test_the_guide_points_each_bucket_at_its_first_possible_count():
    # the look-up corrects a wrong guide entry by stepping, so only this test sees a broken guide (as lost speed)
    table = PoissonTable(np.array([0.7, 3.0, 54.5]))
    buckets = table.guide.size // table.cdf.size
    assert buckets >= 1
    for row in range(3):
        cdf = table.cdf[table.start[row] : table.start[row + 1]]
        g = buckets * cdf.size
        guide = table.guide[buckets * table.start[row] : buckets * table.start[row] + g]
        assert guide.tolist() == np.searchsorted(cdf, np.arange(g) / g, side="right").tolist()


def test_rates_too_large_for_tables_fall_back_to_numpy_poisson(monkeypatch):
    rates = np.array([3.0, 80.0, 5000.0])
    monkeypatch.setattr("sim.model.attention.TABLE_LIMIT", 100)
    table = PoissonTable(rates)
    assert table.fallback
    assert table.draw(np.random.default_rng(3)).tolist() == np.random.default_rng(3).poisson(rates).tolist()
