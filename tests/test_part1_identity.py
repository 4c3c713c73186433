"""With `market.pages: 0` the model is part 1, bit for bit (MARKET_SPEC.md, first check).

Five seeded worlds (default, three firms, chronological feed, no background
pages, tired users with replies and deletions) were fingerprinted column by
column at efafef5, before the page market existed (`tests/part1_reference.py`).
Every table column, the final user state and the generator's next draw must
still be equal.
"""

from __future__ import annotations

import json

import pytest

from sim.model.market import MarketModel
from tests.part1_reference import REFERENCE, WORLDS, fingerprint

STORED = json.loads(REFERENCE.read_text())


@pytest.mark.parametrize("world", sorted(WORLDS))
def test_part1_world_is_bit_identical_to_the_revision_before_the_market(world):
    now = fingerprint(MarketModel, WORLDS[world])
    then = STORED[world]
    assert now["next_draw"] == then["next_draw"], "the generator's stream moved"
    assert now["users"] == then["users"]
    for table in ("firm_table", "platform_table", "cascade_table", "follow_events"):
        changed = [c for c, digest in then[table].items() if now[table].get(c) != digest]
        assert not changed, f"{table}: columns differ from efafef5: {changed}"
