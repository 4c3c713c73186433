#!/usr/bin/env python
"""Docking: the working tree's model against a git revision's, over many replications.

For each scenario (the default world, ``fatigue_gain: 0``, ``ranking:
chronological``) both models run the same replications (seeds 1..R) and
each firm's run summary (`sim.model.outputs.run_summary`) is averaged. A
metric agrees when the two means differ by at most the larger of 5% of the
revision's mean and 3 standard errors of the difference. The compiled
kernel draws its random numbers in another order than the revision, so runs
of one seed differ; only the distributions must agree.

    python benchmarks/dock.py --rev 9a1d3ee --reps 20            # the table
    python benchmarks/dock.py --rev 9a1d3ee --new HEAD           # a commit instead of the working tree
    python benchmarks/dock.py --rev 9a1d3ee --reps 3 --steps 60  # a quick look

Each (tree, scenario) runs in its own process (the revision's from a
temporary git worktree), ``--jobs`` at a time. Exit status 1 if any metric
disagrees.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_model import REPO_ROOT, _load, checkout, remove_checkout  # noqa: E402

SCENARIOS = {
    "default": {},
    "fatigue_gain: 0": {"fatigue_gain": 0.0},
    "ranking: chronological": {"ranking": "chronological"},
}
METRICS = ("early_reach", "late_reach", "reach_per_spend", "followers_final", "trust_final",
           "cumulative_reach_final", "max_cascade", "crossover_day")
RESULT_MARK = "@@DOCK@@ "


def _child(root: str, overrides: dict, reps: int, steps: int | None, seed0: int = 1) -> None:
    """Run the replications in the source tree ``root``; print one JSON list of summary rows."""
    sys.path.insert(0, root)
    from sim.model.market import MarketModel
    from sim.model.outputs import run_summary
    from sim.runs.runner import release

    rows = []
    for seed in range(seed0, seed0 + reps):
        kwargs = dict(overrides, **({"steps": steps} if steps else {}))
        model = MarketModel(seed=seed, **kwargs)
        while model.running:
            model.step()
        summary = run_summary(model.firm_table(), model.cascade_table())
        release(model)
        for rec in summary.to_dict("records"):
            rows.append({"seed": seed, **{k: (None if isinstance(v, float) and math.isnan(v) else v)
                                           for k, v in rec.items()}})
        print(f"  seed {seed} done", file=sys.stderr, flush=True)
    print(RESULT_MARK + json.dumps(rows, default=float), flush=True)


def run_tree(root: Path, overrides: dict, reps: int, steps: int | None, seed0: int = 1) -> list[dict]:
    cmd = [sys.executable, __file__, "--_child", str(root), "--_overrides", json.dumps(overrides),
           "--reps", str(reps), "--seed0", str(seed0)] + (["--steps", str(steps)] if steps else [])
    env = dict(os.environ, PYTHONPATH=str(root), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    proc = subprocess.run(cmd, env=env, text=True, capture_output=True, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_MARK):
            return json.loads(line[len(RESULT_MARK):])
    raise RuntimeError(f"{root}: exit {proc.returncode}: {proc.stderr.strip().splitlines()[-1:]}")


def _mean_se(values: list[float]) -> tuple[float, float, int]:
    xs = [v for v in values if v is not None]
    n = len(xs)
    if n == 0:
        return float("nan"), float("nan"), 0
    mean = sum(xs) / n
    var = sum((x - mean) ** 2 for x in xs) / (n - 1) if n > 1 else 0.0
    return mean, math.sqrt(var / n), n


def compare(base: list[dict], new: list[dict]) -> list[dict]:
    """Per firm and metric: both means, their standard errors, the allowed gap and the verdict."""
    out = []
    firms = list(dict.fromkeys(r["firm"] for r in base))
    for firm in firms:
        for metric in METRICS:
            mb, sb, nb = _mean_se([r.get(metric) for r in base if r["firm"] == firm])
            mn, sn, nn = _mean_se([r.get(metric) for r in new if r["firm"] == firm])
            gap = abs(mn - mb)
            allowed = max(0.05 * abs(mb), 3 * math.sqrt(sb**2 + sn**2))
            agree = (nb == nn == 0) or (nb > 0 and nn > 0 and gap <= allowed)
            out.append({"firm": firm, "metric": metric, "base": mb, "base_se": sb, "n_base": nb,
                        "new": mn, "new_se": sn, "n_new": nn, "allowed": allowed, "agree": agree})
    return out


def print_table(scenario: str, rows: list[dict], rev: str, reps: int) -> None:
    print(f"\n{scenario} ({reps} replications each; crossover_day over the runs where it is defined)")
    header = f"{'firm':<10} {'metric':<24} {rev + ' mean (se)':>22} {'now mean (se)':>22} {'|diff|':>9} {'allowed':>9}  ok"
    print(header)
    print("-" * len(header))
    for r in rows:
        def cell(m, s, n):
            return "n/a" if n == 0 else f"{m:.4g} ({s:.2g})" + ("" if n == reps else f" n={n}")
        diff = abs(r["new"] - r["base"]) if r["n_base"] and r["n_new"] else float("nan")
        print(f"{r['firm']:<10} {r['metric']:<24} {cell(r['base'], r['base_se'], r['n_base']):>22} "
              f"{cell(r['new'], r['new_se'], r['n_new']):>22} {diff:>9.4g} {r['allowed']:>9.4g}  "
              f"{'yes' if r['agree'] else 'NO'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/dock.py", description=__doc__.splitlines()[0])
    parser.add_argument("--rev", default="9a1d3ee", help="the git revision to dock against (default: %(default)s)")
    parser.add_argument("--new", default=None,
                        help="dock this git revision (from a temporary worktree) instead of the working tree")
    parser.add_argument("--reps", type=int, default=20, help="replications per scenario and tree (default: 20)")
    parser.add_argument("--seed0", type=int, default=1, help="first seed (default: 1); seeds seed0 .. seed0+reps-1")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help="comma-separated subset of: " + ", ".join(SCENARIOS))
    parser.add_argument("--steps", type=int, default=None, help="days per run (default: the scenario's, 365)")
    parser.add_argument("--jobs", type=int, default=2, help="processes at a time (default: 2)")
    parser.add_argument("--_child", help=argparse.SUPPRESS)
    parser.add_argument("--_overrides", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._child:
        _child(args._child, json.loads(args._overrides), args.reps, args.steps, args.seed0)
        return 0
    if args.reps < 2:
        parser.error("--reps must be at least 2 (standard errors)")
    chosen = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in SCENARIOS]
    if unknown:
        parser.error(f"--scenarios: unknown {unknown[0]!r}; allowed: {', '.join(SCENARIOS)}")

    print(f"Docking against {args.rev}: {args.reps} replications per scenario (seeds {args.seed0} to "
          f"{args.seed0 + args.reps - 1}); start {_load()}")
    path, rev = checkout(args.rev)
    new_path, new_rev = checkout(args.new) if args.new else (REPO_ROOT, "working tree")
    print(f"now = {new_rev}")
    start = time.perf_counter()
    try:
        jobs = {(name, label): (root, overrides)
                for name, overrides in SCENARIOS.items() if name in chosen
                for label, root in ((rev, path), ("now", new_path))}
        with ThreadPoolExecutor(args.jobs) as pool:
            futures = {key: pool.submit(run_tree, root, overrides, args.reps, args.steps, args.seed0)
                       for key, (root, overrides) in jobs.items()}
            results = {key: f.result() for key, f in futures.items()}
    finally:
        remove_checkout(path)
        if args.new:
            remove_checkout(new_path)
    all_agree = True
    for name in chosen:
        rows = compare(results[(name, rev)], results[(name, "now")])
        print_table(name, rows, rev, args.reps)
        all_agree &= all(r["agree"] for r in rows)
    print(f"\nAgreement (|diff| <= max(5% of the {rev} mean, 3 standard errors of the difference)): "
          f"{'every metric' if all_agree else 'NOT every metric'}. "
          f"{time.perf_counter() - start:.0f} s wall; end {_load()}")
    return 0 if all_agree else 1


if __name__ == "__main__":
    sys.exit(main())
