"""benchmarks/day_split.py: its timers see every kernel and draw, change no number and leave nothing patched."""

import importlib.util
from collections import defaultdict
from pathlib import Path

import pandas as pd

from sim.model import kernels
from sim.model.market import MarketModel

_PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "day_split.py"
_SPEC = importlib.util.spec_from_file_location("day_split", _PATH)
day_split = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(day_split)


def test_timed_days_give_the_same_world_and_restore_the_kernels():
    plain = MarketModel(seed=7, width=12, height=12, steps=6)
    timed = MarketModel(seed=7, width=12, height=12, steps=6)
    update_state = kernels.update_state
    day_split.run_days(plain)
    totals, calls = defaultdict(float), defaultdict(int)
    day_split.run_days(timed, totals, calls)
    pd.testing.assert_frame_equal(plain.firm_table(), timed.firm_table())
    assert kernels.update_state is update_state  # the dispatcher is back, not the timer
    assert calls["kernel update_state"] == 6 and calls["draw  beta"] == 6
    assert all(t > 0 for t in totals.values())
