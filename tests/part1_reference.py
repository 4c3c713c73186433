"""Fingerprints of five seeded part-1 worlds, to show that the page market leaves part 1 bit-identical.

`tests/data/part1_reference.json` was written by ``python -m tests.part1_reference``
at revision efafef5, the last revision before the page market. Each world is
fingerprinted column by column (sha256 of the column's bytes): the firm,
platform, cascade and follow-event tables, the final user state, and the
generator's next draw. Columns added later are not in the file and so not
compared; every column that existed must stay equal, bit for bit.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

REFERENCE = Path(__file__).parent / "data" / "part1_reference.json"

WORLDS = {
    "default_small": dict(seed=1, width=20, height=15, steps=60),
    "three_firms": dict(seed=2, width=24, height=18, steps=50, firms=[
        {"name": "broadcast", "preset": "broadcast"},
        {"name": "dialogue", "preset": "dialogue"},
        {"name": "mixed", "preset": "dialogue", "posts_per_day": 3.0, "ads_per_day": 300, "delete_critics": 0.3},
    ]),
    "chronological": dict(seed=3, width=20, height=20, steps=45, ranking="chronological"),
    "no_background": dict(seed=4, width=18, height=18, steps=40, pages_followed=0.0),
    "tired_users": dict(seed=5, width=25, height=25, steps=90, fatigue_gain=0.3, tolerance=1.0, weak_ties=4,
                        attention_mean=12.0, firms=[
                            {"name": "broadcast", "preset": "broadcast", "ads_per_day": 500},
                            {"name": "dialogue", "preset": "dialogue", "reply_rate": 0.5, "delete_critics": 0.4},
                        ]),
}  # fmt: skip


def _digest(values) -> str:
    array = np.asarray(values)
    if array.dtype == object:
        array = np.asarray([str(v) for v in array.tolist()])
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def _table(frame: pd.DataFrame) -> dict[str, str]:
    return {column: _digest(frame[column].to_numpy()) for column in frame.columns}


def fingerprint(model_class, params: dict) -> dict:
    """Run one world to its end and fingerprint everything it produced."""
    model = model_class(**params)
    while model.running:
        model.step()
    users = model.users
    return {
        "firm_table": _table(model.firm_table()),
        "platform_table": _table(model.platform_table()),
        "cascade_table": _table(model.cascade_table()),
        "follow_events": _table(model.follow_event_table()),
        "users": {name: _digest(getattr(users, name)) for name in
                  ("attention", "pages", "follows", "trust", "fatigue", "ads_hidden", "days_reached")},
        "next_draw": repr(float(model.rng.random())),
    }  # fmt: skip


def main() -> None:
    from sim.model.market import MarketModel

    data = {name: fingerprint(MarketModel, params) for name, params in WORLDS.items()}
    REFERENCE.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {REFERENCE}")


if __name__ == "__main__":
    main()
