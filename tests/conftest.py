"""Shared fixtures: small worlds and a model subclass that records each day's inner state."""

from __future__ import annotations

import signal
import sys

import numpy as np
import pytest

from sim.model.market import MarketModel

SMALL = dict(width=30, height=20, steps=40)

# Some tests press Ctrl-C on a command. A shell starts a background job (`pytest &`) with SIGINT
# ignored, and every child inherits that, so those tests would see the interrupt vanish.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


class RecordingModel(MarketModel):
    """MarketModel that keeps copies of what each phase of a day saw and did."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.days: list[dict] = []

    def step(self):
        self._day = {
            "follows": self.users.follows.copy(),
            "trust": self.users.trust.copy(),
            "fatigue": self.users.fatigue.copy(),
            "ads_hidden": self.users.ads_hidden.copy(),
        }
        super().step()
        self._day.update(
            follows_after=self.users.follows.copy(),
            trust_after=self.users.trust.copy(),
            fatigue_after=self.users.fatigue.copy(),
            ads_hidden_after=self.users.ads_hidden.copy(),
            firms={f.name: dict(f.today) for f in self.firms},
        )
        self.days.append(self._day)

    def arrivals(self, day):
        arriving = super().arrivals(day)
        self._day["shared_items_arriving"] = arriving.share_item
        self._day["item_day"] = self.items.day.copy()
        return arriving

    def allocate_attention(self, feed):
        seen, background = super().allocate_attention(feed)
        self._day.update(feed=feed, seen_mask=seen, background=background)
        return seen, background

    def react(self, seen):
        reactions = super().react(seen)
        self._day.update(seen=seen, reactions=reactions)
        return reactions


def run(model):
    while model.running:
        model.step()
    return model


@pytest.fixture(scope="session", autouse=True)
def warm_kernels():
    """Compile the model's numba kernels (or load them from the cache) once, before any test.

    On a fresh clone the first test would otherwise compile them inside
    whatever it runs, and tests that start commands or worker processes
    would compile side by side; the note says why the first test is slow.
    """
    from sim.runs.compile_notice import announce_compiling

    announce_compiling(sys.__stderr__)  # past pytest's capture: seen while it happens
    run(MarketModel(seed=1, width=8, height=8, steps=3, source_diversity=0.5))  # every cached kernel of part 1 ...
    market = MarketModel(seed=1, width=8, height=8, steps=12, source_diversity=0.5, record_events=True,
                         pages_followed=1, market={"pages": 30, "discover_rate": 1.0})
    market.market.trace_candidates = True
    run(market)  # ... and of the market: rows grown, the candidates traced


@pytest.fixture
def small_run():
    return run(RecordingModel(seed=7, **SMALL))


def rng(seed=0):
    return np.random.default_rng(seed)
