#!/usr/bin/env python
"""Benchmark of MarketModel: speed and memory for several world sizes, on one core.

For each world size it measures the time to build the model (population,
contact network, firms), the time to run every day (``while model.running:
model.step()``), the throughput in user-days per second (N * days / run
seconds) and the peak resident memory of the process (``ru_maxrss``). Every
measurement runs in a fresh Python subprocess pinned to one CPU with
OMP/OPENBLAS/MKL threads set to 1, so timings mean "one core" and the peak
memory of one size is not inflated by an earlier, larger one.

Run from the repository root (no install step: the script puts the repository
on ``sys.path`` itself)::

    python benchmarks/bench_model.py                          # every size once
    python benchmarks/bench_model.py --repeat 3               # best and median of 3 runs
    python benchmarks/bench_model.py --sizes default,1000     # a subset
    python benchmarks/bench_model.py --profile                # cProfile of the default scenario
    python benchmarks/bench_model.py --profile --sizes 1000   # ... or of another size

Sizes: ``default`` (100 x 100, 365 days), ``200`` (200 x 200, 365 days),
``300`` (300 x 300, 100 days), ``1000`` (1000 x 1000, 30 days), or any
``WxHxDAYS`` such as ``500x500x50``. All use the default two firms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# name -> (width, height, days)
SIZES: dict[str, tuple[int, int, int]] = {
    "default": (100, 100, 365),
    "200": (200, 200, 365),
    "300": (300, 300, 100),
    "1000": (1000, 1000, 30),
}

# The project's reference point: an idiomatic agent-per-object Mesa
# implementation (one Python agent per user) runs at about this many
# user-days per second on this machine. Not measured by this script.
MESA_OBJECTS_USER_DAYS_PER_S = 20_000.0

TARGET_DEFAULT_S = 10.0  # (a) default scenario, build + run, one core
TARGET_BIG_S = 120.0  # (b) 1000 x 1000 x 30 days, build + run ...
TARGET_BIG_RSS_MIB = 4096.0  # ... within 4 GiB peak RSS

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
RESULT_MARK = "@@BENCH_RESULT@@ "


# --------------------------------------------------------------------------
# Child side: runs in a fresh interpreter, one measurement, result as JSON
# --------------------------------------------------------------------------


def _one_core() -> str:
    """Single-threaded BLAS/OpenMP and one pinned CPU; call before numpy is imported."""
    for var in THREAD_VARS:
        os.environ[var] = "1"
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity)"
    allowed = os.sched_getaffinity(0)
    cpu = 0 if 0 in allowed else min(allowed)
    os.sched_setaffinity(0, {cpu})
    return f"CPU {cpu}"


def _peak_rss_mib() -> float:
    import resource

    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    if sys.platform == "darwin":  # bytes on macOS
        kib /= 1024
    return kib / 1024


def _child_measure(width: int, height: int, days: int, seed: int) -> dict:
    pinned = _one_core()
    sys.path.insert(0, str(REPO_ROOT))
    t0 = time.perf_counter()
    from sim.model.market import MarketModel  # imports numpy, scipy, pandas, mesa

    t1 = time.perf_counter()
    model = MarketModel(seed=seed, width=width, height=height, steps=days)
    t2 = time.perf_counter()
    while model.running:
        model.step()
    t3 = time.perf_counter()
    return {
        "import_s": t1 - t0,
        "build_s": t2 - t1,
        "run_s": t3 - t2,
        "days": int(model.steps),
        "n_users": int(model.n_users),
        "peak_rss_mib": _peak_rss_mib(),
        "pinned": pinned,
    }


def _child_profile(width: int, height: int, days: int, seed: int, top: int) -> None:
    import cProfile
    import pstats

    pinned = _one_core()
    sys.path.insert(0, str(REPO_ROOT))
    from sim.model.market import MarketModel

    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    model = MarketModel(seed=seed, width=width, height=height, steps=days)
    while model.running:
        model.step()
    profiler.disable()
    wall = time.perf_counter() - t0
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    print(f"cProfile of {width} x {height} users, {days} days (seed {seed}, "
          f"one core: {pinned}): build + run {wall:.2f} s under the profiler, "
          f"{total:.2f} s of profiled time")
    rows = [(ct, tt, nc, func) for func, (cc, nc, tt, ct, _callers) in stats.stats.items()]
    _print_profile(f"Top {top} functions by cumulative time", sorted(rows, key=lambda r: -r[0])[:top], total)
    _print_profile("Top 15 functions by own time (excluding callees)",
                   sorted(rows, key=lambda r: -r[1])[:15], total)


def _where(func: tuple[str, int, str]) -> str:
    """'sim/model.py:123(step)', shortened for the repo and site-packages."""
    filename, line, name = func
    if filename == "~":  # built-in
        return name
    path = Path(filename)
    try:
        short = str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        parts = path.parts
        cut = max((i for i, p in enumerate(parts) if p in ("site-packages", "dist-packages")), default=-1)
        short = "/".join(parts[cut + 1:]) if cut >= 0 else path.name
    return f"{short}:{line}({name})"


def _print_profile(title: str, rows, total: float) -> None:
    print(f"\n{title}:")
    print(f"{'ncalls':>9}  {'own s':>7}  {'cum s':>7}  {'cum %':>6}  function")
    for ct, tt, nc, func in rows:
        print(f"{nc:>9}  {tt:>7.3f}  {ct:>7.3f}  {100 * ct / total:>5.1f}%  {_where(func)}")


# --------------------------------------------------------------------------
# Parent side: spawn children, collect, print
# --------------------------------------------------------------------------


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({var: "1" for var in THREAD_VARS})
    return env


def _run_child(args: list[str], capture: bool) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(Path(__file__).resolve()), *args]
    return subprocess.run(cmd, env=_child_env(), text=True,
                          stdout=subprocess.PIPE if capture else None,
                          stderr=subprocess.PIPE if capture else None, check=False)


def measure(width: int, height: int, days: int, seed: int) -> dict:
    """One measurement in a fresh interpreter."""
    proc = _run_child(["--_child", f"{width}x{height}x{days}", "--seed", str(seed)], capture=True)
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_MARK):
            return json.loads(line[len(RESULT_MARK):])
    lines = (proc.stderr or "").strip().splitlines()
    raise RuntimeError(f"exit status {proc.returncode}: {lines[-1] if lines else 'no output'}")


def parse_size(token: str) -> tuple[str, tuple[int, int, int]]:
    token = token.strip()
    if token in SIZES:
        return token, SIZES[token]
    try:
        w, h, d = (int(v) for v in token.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"unknown size {token!r}; use {', '.join(SIZES)} or WxHxDAYS (e.g. 500x500x50)"
        ) from None
    return token, (w, h, d)


def _version(dist: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def print_machine() -> None:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print("Machine")
    print(f"  platform : {platform.platform()}")
    print(f"  CPU      : {_cpu_model()}, {os.cpu_count()} logical CPUs ({usable} usable)")
    print(f"  Python   : {platform.python_implementation()} {platform.python_version()}")
    print(f"  numpy {_version('numpy')}, scipy {_version('scipy')}, pandas {_version('pandas')}, "
          f"mesa {_version('mesa')}")


def _fmt_rate(x: float) -> str:
    return f"{x / 1e6:.2f}M" if x >= 1e6 else f"{x / 1e3:.0f}k"


def summarize(runs: list[dict]) -> dict:
    total = [r["build_s"] + r["run_s"] for r in runs]
    rate = [r["n_users"] * r["days"] / r["run_s"] for r in runs]
    return {
        "n": runs[0]["n_users"],
        "days": runs[0]["days"],
        "import": statistics.median(r["import_s"] for r in runs),
        "build": (min(r["build_s"] for r in runs), statistics.median(r["build_s"] for r in runs)),
        "run": (min(r["run_s"] for r in runs), statistics.median(r["run_s"] for r in runs)),
        "total": (min(total), statistics.median(total), max(total)),
        "rate": (max(rate), statistics.median(rate)),
        "rss": max(r["peak_rss_mib"] for r in runs),
        "pinned": runs[0]["pinned"],
    }


def print_table(results: dict[str, dict], repeat: int, baseline: float) -> None:
    pair = f"best / median of {repeat} runs per cell" if repeat > 1 else "1 run per size"
    header = ["size", "grid", "days", "users", "build s", "run s", "build+run s",
              "user-days/s", "vs Mesa objects", "peak RSS MiB"]
    rows = []
    for name, s in results.items():
        if "error" in s:
            rows.append([name, s["grid"], "", "", "failed", "", "", "", "", ""])
            continue
        two = (lambda v, f: f"{f(v[0])} / {f(v[1])}") if repeat > 1 else (lambda v, f: f(v[0]))
        sec = lambda x: f"{x:.2f}"  # noqa: E731
        rows.append([
            name, s["grid"], str(s["days"]), f"{s['n']:,}",
            two(s["build"], sec), two(s["run"], sec), two(s["total"], sec),
            two(s["rate"], _fmt_rate),
            two(s["rate"], lambda x: f"{x / baseline:.0f}x"),
            f"{s['rss']:,.0f}",
        ])
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))]
    left = {0, 1}
    line = lambda cells: "  ".join(  # noqa: E731
        c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
    ).rstrip()
    print(f"\nResults, one core, {pair} (peak RSS: the largest of the runs)")
    print(line(header))
    print(line(["-" * w for w in widths]))
    for r in rows:
        print(line(r))
    for name, s in results.items():
        if "error" in s:
            print(f"{name} failed: {s['error']}")


def print_targets(results: dict[str, dict], baseline: float) -> None:
    print(f"\nReference: an idiomatic agent-per-object Mesa implementation runs at about "
          f"{baseline:,.0f} user-days/s on this machine")
    print("(the project's stated figure, not measured here); 'vs Mesa objects' is the speed-up over it.")
    print("\nTargets (judged on the slowest repeat):")

    def verdict(key: str, label: str, check) -> None:
        s = next((r for r in results.values() if r["dims"] == SIZES[key]), None)
        if s is None:
            print(f"  {label}: not measured (add '{key}' to --sizes)")
        elif "error" in s:
            print(f"  {label}: FAILED to run")
        else:
            ok, detail = check(s)
            print(f"  {label}: {'MET' if ok else 'NOT MET'} ({detail})")

    verdict("default", f"(a) default scenario, build + run < {TARGET_DEFAULT_S:.0f} s on one core",
            lambda s: (s["total"][2] < TARGET_DEFAULT_S, f"slowest {s['total'][2]:.2f} s"))
    verdict("1000", f"(b) 1000 x 1000 x 30 days, build + run < {TARGET_BIG_S:.0f} s "
            f"within {TARGET_BIG_RSS_MIB / 1024:.0f} GiB peak RSS",
            lambda s: (s["total"][2] < TARGET_BIG_S and s["rss"] < TARGET_BIG_RSS_MIB,
                       f"slowest {s['total'][2]:.2f} s, peak RSS {s['rss']:,.0f} MiB"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/bench_model.py",
        description="Time and memory of MarketModel for several world sizes, each in a fresh "
        "process pinned to one core.",
    )
    parser.add_argument(
        "--sizes", default=None,
        help=f"comma-separated sizes: {', '.join(SIZES)} or WxHxDAYS (default: all of {', '.join(SIZES)}; "
        "with --profile: the first size given, default 'default')",
    )
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per size; the table shows the best and the median (default: 1)")
    parser.add_argument("--seed", type=int, default=42, help="model seed (default: 42)")
    parser.add_argument("--baseline", type=float, default=MESA_OBJECTS_USER_DAYS_PER_S,
                        help="user-days/s of the agent-per-object Mesa reference (default: %(default).0f)")
    parser.add_argument("--profile", action="store_true",
                        help="instead of the table: run the default scenario (or the first of --sizes) "
                        "once under cProfile and print the top 25 functions by cumulative time")
    parser.add_argument("--_child", help=argparse.SUPPRESS)
    parser.add_argument("--_child_profile", help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)

    if args._child:  # inside a fresh interpreter: one measurement
        _, (w, h, d) = parse_size(args._child)
        print(RESULT_MARK + json.dumps(_child_measure(w, h, d, args.seed)), flush=True)
        return 0
    if args._child_profile:
        _, (w, h, d) = parse_size(args._child_profile)
        _child_profile(w, h, d, args.seed, top=25)
        return 0

    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    try:
        chosen = args.sizes if args.sizes is not None else ("default" if args.profile else ",".join(SIZES))
        sizes = dict(parse_size(t) for t in chosen.split(",") if t.strip())
    except argparse.ArgumentTypeError as err:
        parser.error(str(err))
    if not sizes:
        parser.error("--sizes selects no size")

    print_machine()
    print(f"  threads  : {', '.join(THREAD_VARS[:3])} = 1; each run in a fresh process pinned to one CPU")
    print()
    if args.profile:
        w, h, d = next(iter(sizes.values()))
        sys.stdout.flush()
        proc = _run_child(["--_child_profile", f"{w}x{h}x{d}", "--seed", str(args.seed)], capture=False)
        return proc.returncode

    print(f"seed {args.seed}, {args.repeat} run(s) per size", flush=True)
    results: dict[str, dict] = {}
    failed = False
    for name, (w, h, d) in sizes.items():
        runs = []
        for k in range(args.repeat):
            print(f"  {name} ({w} x {h}, {d} days) run {k + 1}/{args.repeat} ...", end=" ",
                  file=sys.stderr, flush=True)
            try:
                r = measure(w, h, d, args.seed)
            except RuntimeError as err:
                print("failed", file=sys.stderr, flush=True)
                results[name] = {"grid": f"{w} x {h}", "dims": (w, h, d), "error": str(err)}
                print(err, file=sys.stderr)
                failed = True
                break
            print(f"build {r['build_s']:.2f} s, run {r['run_s']:.2f} s, "
                  f"peak RSS {r['peak_rss_mib']:,.0f} MiB", file=sys.stderr, flush=True)
            runs.append(r)
        else:
            results[name] = {"grid": f"{w} x {h}", "dims": (w, h, d), **summarize(runs)}

    print_table(results, args.repeat, args.baseline)
    pinned = {s["pinned"] for s in results.values() if "pinned" in s}
    imports = ", ".join(f"{n} {s['import']:.2f} s" for n, s in results.items() if "import" in s)
    print(f"\nOne core: {', '.join(sorted(pinned))}. user-days/s = users x days / run s. "
          "build+run excludes the interpreter start and imports")
    print(f"(median import of sim.model.market with numpy, scipy, pandas and mesa: {imports}).")
    print_targets(results, args.baseline)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
