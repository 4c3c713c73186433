"""The cost of the random draws the attention budget needs every day, alone: a floor under the run time.

Every day the model draws one Poisson background count per user (Poisson(pages
* page_post_rate): numpy's ``rng.poisson`` until a2b5231, since then
`sim.model.attention.PoissonTable`, by inverse transform) and one Beta
threshold per user with candidates whose background exceeds the budget
(numpy's ``rng.beta(bg - attention + 1, attention)``). This script times
those calls on arrays shaped like the default world's, in one process pinned
to one core (CPU seconds, best of --repeat), and prints what the model's
present draws (table and Beta) alone cost over 365 days next to the run-time
targets of issue 10. Whatever else the day does comes on top.

    python benchmarks/sampling_floor.py [--users 2500,10000,1000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the working tree's model, not an installed one
from sim.model.attention import PoissonTable

TARGETS = {2_500: "50 x 50: run <= 0.1 s", 10_000: "100 x 100: run <= 0.25 s", 1_000_000: "1000 x 1000: >= 20 M user-days/s"}


def world(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Background rates and budgets as the default world draws them (pages ~ Poisson(109), rate 0.5, attention mean 30)."""
    rng = np.random.default_rng(seed)
    rate = rng.poisson(109.0, n) * 0.5
    sigma = 0.5
    attention = np.maximum(1, np.rint(rng.lognormal(np.log(30.0) - sigma**2 / 2, sigma, n))).astype(np.int64)
    return rate, attention, rng.poisson(rate)


def best_of(repeat: int, call) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        call()
        times.append(time.process_time() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", default="2500,10000,1000000")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    print(f"numpy {np.__version__}, {platform.processor() or platform.machine()}, one core; "
          f"load average {os.getloadavg()[0]:.2f} at start")  # fmt: skip
    print(f"{'users':>9}  {'numpy poisson us/day':>20}  {'table us/day':>12}  {'beta us/day':>11}  "
          f"{'ns/user-day':>11}  {'365 days s':>10}  {'user-days/s':>11}  target")  # fmt: skip
    rng = np.random.default_rng(2)
    for n in (int(u) for u in args.users.split(",")):
        rate, attention, bg = world(n)
        crowded = bg > attention  # the model draws a threshold only for users with candidates: an upper bound
        a = (bg[crowded] - attention[crowded] + 1).astype(np.float64)
        b = attention[crowded].astype(np.float64)
        table = PoissonTable(rate)
        poisson = best_of(args.repeat, lambda rate=rate: rng.poisson(rate))
        tabled = best_of(args.repeat, lambda table=table: table.draw(rng))
        beta = best_of(args.repeat, lambda a=a, b=b: rng.beta(a, b))
        day = tabled + beta  # the model's draws now
        print(f"{n:>9,}  {poisson * 1e6:>20,.0f}  {tabled * 1e6:>12,.0f}  {beta * 1e6:>11,.0f}  "
              f"{day / n * 1e9:>11.1f}  {day * 365:>10.3f}  {n / day / 1e6:>10.1f}M  {TARGETS.get(n, '')}")  # fmt: skip
    print("ns/user-day, 365 days s and user-days/s: table + beta, the draws the model makes since a2b5231")
    print(f"load average {os.getloadavg()[0]:.2f} at end")


if __name__ == "__main__":
    main()
