"""Strong ties are exactly Mesa's torus Moore neighbourhood; weak ties obey their rules."""

from __future__ import annotations

import random

import numpy as np
import pytest
from mesa.discrete_space import OrthogonalMooreGrid

from sim.model.market import GRID_CELL_LIMIT, MarketModel
from sim.model.network import build_contacts, cell_of, draw_weak_ties, index_of, moore_neighbours


@pytest.mark.parametrize("width,height", [(5, 7), (9, 4), (3, 3), (12, 5)])
def test_moore_neighbours_match_mesa_grid_cell_by_cell(width, height):
    grid = OrthogonalMooreGrid((width, height), torus=True, random=random.Random(0))
    ours = moore_neighbours(width, height)
    for cell in grid.all_cells:
        x, y = cell.coordinate
        mesa_set = {index_of(*c.coordinate, height).item() for c in cell.neighborhood}
        assert set(ours[index_of(x, y, height)].tolist()) == mesa_set


def test_model_grid_is_mesa_moore_torus_with_same_ties():
    model = MarketModel(seed=1, width=8, height=5, steps=2, weak_ties=3)
    assert isinstance(model.grid, OrthogonalMooreGrid) and model.grid.torus
    for cell in model.grid.all_cells:
        i = index_of(*cell.coordinate, 5).item()
        strong = {index_of(*c.coordinate, 5).item() for c in cell.neighborhood}
        assert strong <= set(model.contacts.contacts_of(i).tolist())
        assert len(model.contacts.contacts_of(i)) == 8 + 3


def test_index_and_cell_are_inverse():
    idx = np.arange(35)
    x, y = cell_of(idx, 7)
    assert np.array_equal(index_of(x, y, 7), idx)


def test_weak_ties_are_distinct_and_outside_the_moore_block():
    width, height, k = 11, 6, 20
    ties = draw_weak_ties(width, height, k, np.random.default_rng(3))
    moore = moore_neighbours(width, height)
    for i, row in enumerate(ties):
        assert len(set(row.tolist())) == k
        assert i not in row
        assert not set(row.tolist()) & set(moore[i].tolist())


def test_weak_ties_are_uniform_over_allowed_users():
    # user 0 of a 6 x 6 torus may tie to 36 - 9 = 27 users; over many draws each is equally likely
    counts = np.zeros(36)
    for seed in range(400):
        counts[draw_weak_ties(6, 6, 4, np.random.default_rng(seed))[0]] += 1
    allowed = counts[counts > 0]
    assert allowed.size == 27
    expected = 400 * 4 / 27
    chi2 = ((allowed - expected) ** 2 / expected).sum()
    assert chi2 < 60  # 26 degrees of freedom: P(chi2 > 60) < 1e-3


def test_too_many_weak_ties_is_an_error():
    with pytest.raises(ValueError, match="weak_ties"):
        draw_weak_ties(4, 4, 8, np.random.default_rng(0))


def test_audience_is_the_transpose_of_contacts():
    contacts = build_contacts(7, 6, 5, np.random.default_rng(2))
    reads = contacts.reads.toarray().astype(bool)
    audience = contacts.audience.toarray().astype(bool)
    assert np.array_equal(audience, reads.T)


def test_spread_delivers_each_sharers_audience():
    contacts = build_contacts(6, 5, 4, np.random.default_rng(4))
    sharers = np.array([0, 7, 7, 29])
    payload = np.array([10, 11, 12, 13])
    readers, items = contacts.spread(sharers, payload)
    for j, item in zip(sharers, payload):
        expected = set(np.flatnonzero(contacts.reads.toarray()[:, j]).tolist())
        assert set(readers[items == item].tolist()) == expected


def test_grid_layers_mirror_user_state():
    model = MarketModel(seed=5, width=12, height=9, steps=5)
    for _ in range(3):
        model.step()
    layers = model.grid._mesa_property_layers
    for firm in model.firms:
        k = firm.index
        assert np.array_equal(layers[f"follows_{firm.name}"].data, model.users.follows[:, k].reshape(12, 9))
        assert np.allclose(layers[f"trust_{firm.name}"].data, model.users.trust[:, k].reshape(12, 9))
        assert np.allclose(layers[f"fatigue_{firm.name}"].data, model.users.fatigue[:, k].reshape(12, 9))
        assert firm.cell.coordinate == firm.home
        x, y = firm.home
        cell = model.grid[(x, y)]
        assert cell.follows_broadcast == model.users.follows[index_of(x, y, 9), 0]


def test_large_worlds_have_no_per_cell_objects():
    side = int(np.sqrt(GRID_CELL_LIMIT)) + 1
    model = MarketModel(seed=1, width=side, height=side, steps=1)
    assert model.grid is None
    model.step()
    assert all(firm.cell is None for firm in model.firms)


def test_rows_are_sorted_in_place_short_and_long():
    from sim.model.network import sort_rows

    rng = np.random.default_rng(12)
    lengths = np.array([0, 1, 2, 8, 24, 32, 33, 40, 500])  # insertion sort up to 32, quicksort beyond
    indptr = np.concatenate(([0], np.cumsum(lengths))).astype(np.int32)
    indices = rng.integers(0, 50, indptr[-1]).astype(np.int32)  # repeats too
    expected = np.concatenate([np.sort(indices[a:b]) for a, b in zip(indptr[:-1], indptr[1:])])
    sort_rows(indptr, indices)
    assert indices.tolist() == expected.tolist()
