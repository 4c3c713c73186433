#!/usr/bin/env python
"""Benchmark of the sweep engine: overhead per run, and memory over many runs in one worker.

1. Overhead. The same small runs (a 12 x 12, 30-day duel) are timed twice
   on one core: called directly in this process (build the model, step it,
   summarise, as the sweep's model function does) and through the whole
   sweep machinery (design, run ids, a one-worker Dask LocalCluster, rows
   gathered and written to parquet parts). The difference per run is the
   machinery's overhead; it is compared with one 50 x 50, 365-day run, and
   must stay under 10% of it. A no-op model (SALib's Ishigami function)
   shows the floor: Dask's own cost per task.
2. Memory. One Dask worker runs ``--runs`` tiny models through the sweep.
   Its resident memory is read after a warm-up and after each quarter,
   once with the sweep's model function and once with a variant without
   its workaround. Mesa 3.3 keeps two process-wide references to every
   model: the class-level registry ``mesa.Agent._ids`` holds the model, and
   ``copyreg.dispatch_table`` holds each grid's own cell class with its
   property layers. ``sim.jobs.models.free_model`` drops both after each
   run; without it memory grows with every run.

Run from the repository root::

    python benchmarks/bench_sweep.py                 # both parts, 1000 runs for memory
    python benchmarks/bench_sweep.py --runs 300      # quicker
    python benchmarks/bench_sweep.py --json out.json # also write the figures as JSON
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from sim.scenario import load_scenario  # noqa: E402
from sim.jobs.cluster import local_client  # noqa: E402
from sim.sweep.execute import run_sweep  # noqa: E402
from sim.jobs.models import Ishigami, MarketSweepModel  # noqa: E402
from sim.sweep.spec import sweep_from_dict  # noqa: E402

TARGET_SHARE = 0.10  # overhead per run must stay under 10% of a 50 x 50, 365-day run
SMALL = ["width=12", "height=12", "steps=30", "home_radius=2",
         "firms.broadcast.ads_per_day=30", "firms.broadcast.budget=6.3", "firms.dialogue.budget=3"]  # fmt: skip
REFERENCE = ["width=50", "height=50", "steps=365", "firms.broadcast.ads_per_day=500"]


class LeakyMarketModel(MarketSweepModel):
    """The sweep's model function without the workaround (no ``free_model``), to show the leak."""

    def __call__(self, params, seed):
        from sim.model.market import MarketModel
        from sim.model.outputs import run_summary

        model = MarketModel(seed=seed, **self.config(params))
        while model.running:
            model.step()
        return self.outputs(run_summary(model.firm_table(), model.cascade_table()).set_index("firm"))


def base(overrides: list[str]) -> dict:
    return load_scenario(REPO_ROOT / "scenarios" / "duel.yaml", overrides).model_kwargs()


def sweep_of(n: int, model, name: str):
    """An LHS sweep of ``n`` points over attention_mean (or Ishigami's x1..x3)."""
    if isinstance(model, Ishigami):
        params = {k: {"bounds": [-math.pi, math.pi]} for k in Ishigami.KEYS}
        outputs = ["y"]
    else:
        params = {"attention_mean": {"bounds": [10, 50]}}
        outputs = ["late_reach_gap", "winner", "crossover_day"]
    raw = {"name": name, "method": "lhs", "samples": n, "seed": 1, "parameters": params, "outputs": outputs}
    return sweep_from_dict(raw, name, model=model)


def time_direct(model, sweep) -> float:
    """Seconds per run, calling the model function in this process."""
    from sim.sweep.design import build_design
    from sim.sweep.tasks import make_tasks

    tasks = make_tasks(sweep, build_design(sweep), model)
    model(tasks[0].params, tasks[0].seed)  # warm-up
    start = time.perf_counter()
    for task in tasks:
        model(task.params, task.seed)
    return (time.perf_counter() - start) / len(tasks)


def time_sweep(client, model, sweep, scratch: Path) -> float:
    """Seconds per run through run_sweep on an already started cluster (start-up excluded)."""
    out = scratch / f"out-{sweep.name}"
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    outcome = run_sweep(sweep, model, out, client=client, quiet=True)
    elapsed = time.perf_counter() - start
    assert outcome.failed == 0 and outcome.ok == outcome.total, outcome
    return elapsed / outcome.total


def worker_rss_mib(client) -> float:
    def rss() -> float:
        import psutil

        return psutil.Process().memory_info().rss / 2**20

    return next(iter(client.run(rss).values()))


def overhead(n: int, repeat: int, scratch: Path) -> dict:
    small, noop = MarketSweepModel(base(SMALL)), Ishigami()
    reference = MarketSweepModel(base(REFERENCE))
    reference_s = time_direct(reference, sweep_of(3, reference, "ref")[0])
    start = time.perf_counter()
    with local_client(1, scratch / "dask") as client:
        startup = time.perf_counter() - start
        time_sweep(client, small, sweep_of(20, small, "warm")[0], scratch)  # workers import the model
        direct, through, floor = [], [], []
        for k in range(repeat):
            sweep = sweep_of(n, small, f"small{k}")[0]
            direct.append(time_direct(small, sweep))
            through.append(time_sweep(client, small, sweep, scratch))
            floor.append(time_sweep(client, noop, sweep_of(n, noop, f"noop{k}")[0], scratch))
    per_run = statistics.median(t - d for t, d in zip(through, direct))
    return {
        "runs_per_measurement": n, "repeats": repeat,
        "direct_s_per_small_run": statistics.median(direct),
        "sweep_s_per_small_run": statistics.median(through),
        "overhead_s_per_run": per_run,
        "dask_floor_s_per_task": statistics.median(floor),
        "reference_run_s_50x50x365": reference_s,
        "overhead_share_of_reference": per_run / reference_s,
        "cluster_startup_s": startup,
        "passes": per_run / reference_s < TARGET_SHARE,
    }  # fmt: skip


def memory(runs: int, scratch: Path, checkpoints: int = 4) -> dict:
    """Worker RSS after a warm-up and after each quarter of ``runs`` tiny runs, with and without the workaround."""
    results = {}
    variants = (("with_workaround", MarketSweepModel(base(SMALL))), ("without_workaround", LeakyMarketModel(base(SMALL))))
    for label, model in variants:
        with local_client(1, scratch / f"dask-{label}") as client:
            time_sweep(client, model, sweep_of(20, model, f"warm-{label}")[0], scratch)
            rss = {0: worker_rss_mib(client)}
            start = time.perf_counter()
            for k in range(1, checkpoints + 1):
                time_sweep(client, model, sweep_of(runs // checkpoints, model, f"mem-{label}-{k}")[0], scratch)
                rss[k * (runs // checkpoints)] = worker_rss_mib(client)
            registry = next(iter(client.run(_registry_size).values()))
        first = min(k for k in rss if k)  # the first quarter includes the allocator's own warm-up
        results[label] = {"rss_mib_after_runs": rss, "growth_mib": rss[max(rss)] - rss[0],
                          "growth_mib_after_first_quarter": rss[max(rss)] - rss[first],
                          "models_in_registry": registry, "seconds": time.perf_counter() - start}  # fmt: skip
    return results


def _registry_size() -> int:
    """Models Mesa still holds in the worker: entries of Agent._ids."""
    import mesa

    return len(mesa.Agent._ids)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000, help="tiny runs per memory measurement (default 1000)")
    parser.add_argument("--n", type=int, default=200, help="small runs per overhead measurement (default 200)")
    parser.add_argument("--repeat", type=int, default=3, help="overhead measurements (median reported)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_sweep_") as tmp:
        scratch = Path(tmp)
        over = overhead(args.n, args.repeat, scratch)
        mem = memory(args.runs, scratch)
    print(f"Overhead (one worker, {over['runs_per_measurement']} runs of a 12 x 12, 30-day duel, median of {over['repeats']}):")
    print(f"  direct call            {over['direct_s_per_small_run'] * 1e3:8.1f} ms per run")
    print(f"  through the sweep      {over['sweep_s_per_small_run'] * 1e3:8.1f} ms per run")
    print(f"  overhead               {over['overhead_s_per_run'] * 1e3:8.1f} ms per run "
          f"(Dask floor, no-op model: {over['dask_floor_s_per_task'] * 1e3:.1f} ms per task)")
    print(f"  50 x 50, 365-day run   {over['reference_run_s_50x50x365']:8.2f} s  -> overhead = "
          f"{over['overhead_share_of_reference']:.1%} of it (target < {TARGET_SHARE:.0%}: "
          f"{'PASS' if over['passes'] else 'FAIL'})")
    print(f"  cluster start-up       {over['cluster_startup_s']:8.2f} s once per sweep session")
    print(f"Memory of one worker (RSS in MiB after the warm-up and after every {args.runs // 4} tiny runs):")
    for label, m in mem.items():
        trail = " -> ".join(f"{v:.0f}" for v in m["rss_mib_after_runs"].values())
        print(f"  {label:<20} {trail}  (growth {m['growth_mib']:+.0f} MiB, {m['growth_mib_after_first_quarter']:+.0f} "
              f"after the first quarter; models still registered: {m['models_in_registry']})")
    if args.json:
        args.json.write_text(json.dumps({"overhead": over, "memory": mem}, indent=2) + "\n")
    return 0 if over["passes"] else 1


if __name__ == "__main__":
    sys.exit(main())
