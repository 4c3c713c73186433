#!/usr/bin/env python
"""What a day costs once a model is warm: CPU time, its system share, and page faults.

Builds one model, steps past the first days (which touch fresh memory once),
then measures the next days with ``resource.getrusage``: CPU milliseconds a
day, split into user and system (kernel) time, and minor page faults a day.
A day that allocates large arrays anew shows up as faults and system time.
Run from the repository root, pinned to one core::

    python benchmarks/day_costs.py                      # 1000 x 1000, days 6-25
    python benchmarks/day_costs.py --size 3163 --skip 5 --days 5   # 10 M users
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.warm import one_warm_core


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000, help="grid side: size x size users (default 1000)")
    parser.add_argument("--skip", type=int, default=5, help="days run before measuring (default 5)")
    parser.add_argument("--days", type=int, default=20, help="days measured (default 20)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    if args.size < 5 or args.days < 1 or args.skip < 0:
        parser.error("--size must be at least 5, --days at least 1 and --skip at least 0")
    one_warm_core()
    from sim.model.market import MarketModel

    model = MarketModel(seed=args.seed, width=args.size, height=args.size, steps=args.skip + args.days)
    for _ in range(args.skip):
        model.step()
    before, cpu = resource.getrusage(resource.RUSAGE_SELF), time.process_time()
    while model.running:
        model.step()
    after, cpu = resource.getrusage(resource.RUSAGE_SELF), time.process_time() - cpu
    per_day = 1e3 / args.days
    print(f"{args.size} x {args.size} users, days {args.skip + 1}-{args.skip + args.days}, one core: "
          f"{cpu * per_day:.0f} ms CPU a day (user {(after.ru_utime - before.ru_utime) * per_day:.0f}, "
          f"system {(after.ru_stime - before.ru_stime) * per_day:.0f}); "
          f"{(after.ru_minflt - before.ru_minflt) / args.days:,.0f} minor page faults a day")


if __name__ == "__main__":
    main()
