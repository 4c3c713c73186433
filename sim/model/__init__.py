"""The simulation: the platform's users as arrays, firms as Mesa agents, one `step()` per day.

`market.MarketModel` runs a day in the spec's order; the formulas live in
`mechanics` and `attention`, the feed in `feed` and `items`, the world in
`population` and `network`, the firms in `firm`, and the tidy records in
`outputs`. Nothing here reads files, prints or plots.
"""

from sim.model.market import MarketModel

__all__ = ["MarketModel"]
