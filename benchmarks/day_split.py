#!/usr/bin/env python
"""Where a day's time goes: compiled kernels, random draws, and everything else.

Runs one world for its days twice, pinned to one core after numba's cached
kernels are loaded: once plain (the reference time), once with a timer around
every compiled kernel of ``sim.model`` (each numba dispatcher, its dispatch
cost included) and around every method of the model's numpy Generator. The
sum of those two parts is the day's compute floor as the model is written:
the time a day would take if every Python line between the calls, every
numpy call outside the Generator and every Mesa call cost nothing. Anything
not timed (Python, numpy, Mesa, pandas) is "everything else", and so are
the timers' own costs: the plain run shows how much they add (half the day
in a 5 x 5 world, little in large ones). Run from the repository root::

    python benchmarks/day_split.py                       # 50 x 50, 365 days, best of 3
    python benchmarks/day_split.py --size 100
    python benchmarks/day_split.py --size 1000 --days 30 --repeat 1
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.warm import one_warm_core


class TimedGenerator:
    """A numpy Generator whose every method call adds its time to ``totals`` (same draws, same stream)."""

    def __init__(self, rng, totals: dict, calls: dict):
        self._rng, self._totals, self._calls = rng, totals, calls

    def __getattr__(self, name):
        return _timed(f"draw  {name}", getattr(self._rng, name), self._totals, self._calls)


def _timed(label: str, func, totals: dict, calls: dict):
    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            totals[label] += time.perf_counter() - start
            calls[label] += 1

    return timed


def _patch_kernels(totals: dict, calls: dict) -> list[tuple[object, str, object]]:
    """Replace every numba dispatcher bound in a ``sim.model`` module by a timed one; returns what to restore."""
    from numba.core.registry import CPUDispatcher

    import sim.model

    undo, wrapped = [], {}
    for info in pkgutil.iter_modules(sim.model.__path__):
        module = importlib.import_module(f"sim.model.{info.name}")
        for name, obj in list(vars(module).items()):
            if isinstance(obj, CPUDispatcher):
                if id(obj) not in wrapped:
                    wrapped[id(obj)] = _timed(f"kernel {obj.py_func.__name__}", obj, totals, calls)
                undo.append((module, name, obj))
                setattr(module, name, wrapped[id(obj)])
    return undo


def run_days(model, totals: dict | None = None, calls: dict | None = None) -> float:
    """Run a built model's days and return their seconds; with ``totals``, time every kernel call and draw too."""
    undo = []
    if totals is not None:
        model.rng = TimedGenerator(model.rng, totals, calls)
        undo = _patch_kernels(totals, calls)
    try:
        start = time.perf_counter()
        while model.running:
            model.step()
        return time.perf_counter() - start
    finally:
        for module, name, obj in undo:
            setattr(module, name, obj)


def _run(size: int, days: int, seed: int, totals: dict | None = None, calls: dict | None = None) -> float:
    from sim.model.market import MarketModel

    return run_days(MarketModel(seed=seed, width=size, height=size, steps=days), totals, calls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=50, help="grid side: size x size users (default 50)")
    parser.add_argument("--days", type=int, default=365, help="days run (default 365)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each kind; the fastest is shown (default 3)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    if args.size < 5 or args.days < 1 or args.repeat < 1:
        parser.error("--size must be at least 5, --days and --repeat at least 1")
    one_warm_core()
    plain = min(_run(args.size, args.days, args.seed) for _ in range(args.repeat))
    best = None
    for _ in range(args.repeat):
        totals, calls = defaultdict(float), defaultdict(int)
        wall = _run(args.size, args.days, args.seed, totals, calls)
        if best is None or wall < best[0]:
            best = (wall, dict(totals), dict(calls))
    wall, totals, calls = best
    per_day = 1e6 / args.days
    kernels = sum(t for k, t in totals.items() if k.startswith("kernel"))
    draws = sum(t for k, t in totals.items() if k.startswith("draw"))
    print(f"{args.size} x {args.size} users, {args.days} days, seed {args.seed}, one core, fastest of {args.repeat}")
    print(f"  plain run            {plain:8.3f} s   {plain * per_day:8.0f} us a day")
    print(f"  timed run            {wall:8.3f} s   {wall * per_day:8.0f} us a day")
    print(f"    compiled kernels   {kernels:8.3f} s   {kernels * per_day:8.0f} us a day")
    print(f"    random draws       {draws:8.3f} s   {draws * per_day:8.0f} us a day")
    print(f"    everything else    {wall - kernels - draws:8.3f} s   {(wall - kernels - draws) * per_day:8.0f} us a day")
    print(f"  kernels + draws (the floor without Python): {kernels + draws:.3f} s for {args.days} days")
    print("  each, in us a day (calls a day):")
    for label in sorted(totals, key=totals.get, reverse=True):
        if totals[label] * per_day >= 0.5:
            print(f"    {label:32s} {totals[label] * per_day:8.1f}  ({calls[label] / args.days:.1f})")


if __name__ == "__main__":
    main()
