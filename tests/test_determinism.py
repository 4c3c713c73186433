"""The same seed gives identical tables; different seeds differ; no global randomness."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd

from sim.model.market import MarketModel
from tests.conftest import SMALL, run


def tables(seed, **extra):
    model = run(MarketModel(seed=seed, **{**SMALL, **extra}))
    return model.firm_table(), model.platform_table(), model.cascade_table()


def test_same_seed_gives_identical_tables():
    a, b = tables(11), tables(11)
    for left, right in zip(a, b):
        pd.testing.assert_frame_equal(left, right)


def test_different_seeds_differ():
    a, b = tables(11), tables(12)
    assert not a[0].equals(b[0])
    assert not a[1].equals(b[1])


def test_global_random_state_is_neither_used_nor_disturbed():
    random.seed(1)
    np.random.seed(1)
    first = tables(5)[0]
    random.seed(999)
    np.random.seed(999)
    state_py, state_np = random.getstate(), np.random.get_state()[1].copy()
    second = tables(5)[0]
    pd.testing.assert_frame_equal(first, second)
    assert random.getstate() == state_py
    assert np.array_equal(np.random.get_state()[1], state_np)


def test_rebuilding_from_the_same_kwargs_dict_reproduces_the_run():
    kwargs = {**SMALL, "attention_mean": 12.0, "firms": [{"name": "a", "preset": "dialogue"}, {"name": "b", "preset": "broadcast"}]}
    first = run(MarketModel(seed=3, **kwargs)).firm_table()
    second = run(MarketModel(seed=3, **dict(kwargs))).firm_table()
    pd.testing.assert_frame_equal(first, second)
