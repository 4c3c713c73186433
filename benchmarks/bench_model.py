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
    python benchmarks/bench_model.py --compare 9a1d3ee --sizes default,50 --repeat 3
                                     # that git revision's model beside the working tree's
    python benchmarks/bench_model.py --compare 9a1d3ee --cpu  # ... in CPU seconds, on a shared machine

Sizes: ``default`` (100 x 100, 365 days), ``50`` (50 x 50, 365 days: a sweep
run), ``200`` (200 x 200, 365 days), ``300`` (300 x 300, 100 days), ``1000``
(1000 x 1000, 30 days), ``10M`` (3163 x 3163, 365 days), or any ``WxHxDAYS``
such as ``500x500x50``. All use the default two firms.

Each child first builds and runs a 5 x 5 world for 2 days (``warm-up``): a
long-lived sweep worker pays numba's loading of cached kernels (or their
compilation, once per install) once, not per model, so the timed build and
run exclude it; the table shows it separately.

``--compare REV`` checks REV out into a temporary git worktree and, for each
size and repeat, runs REV's model and then the working tree's, in the same
kind of fresh pinned process, one after the other; it prints both and their
ratios (REV / working tree: above 1 means the working tree is faster or
smaller). The load average is printed at the start and the end: the machine
may be shared, and ratios measured side by side are what to quote. On a
machine shared with other jobs, ``--cpu`` reports the child's CPU seconds
(``time.process_time``) instead of wall seconds: a pinned child's wall time
also counts the time other processes held its core.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# name -> (width, height, days, background pages); pages > 0 is the page market (MARKET_SPEC.md)
SIZES: dict[str, tuple[int, int, int, int]] = {
    "default": (100, 100, 365, 0),
    "50": (50, 50, 365, 0),
    "200": (200, 200, 365, 0),
    "300": (300, 300, 100, 0),
    "1000": (1000, 1000, 30, 0),
    "10M": (3163, 3163, 365, 0),
    "market": (100, 100, 365, 2000),
    "market1000": (1000, 1000, 30, 100_000),
    "market10M": (3163, 3163, 30, 1_000_000),
}
DEFAULT_SIZES = ("default", "50", "200", "300", "1000")  # 10M only on request


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


def _child_measure(width: int, height: int, days: int, seed: int, root: str, pages: int = 0) -> dict:
    pinned = _one_core()
    sys.path.insert(0, root)
    t0 = time.perf_counter()
    from sim.model.market import MarketModel  # imports numpy, scipy, pandas, mesa

    tw = time.perf_counter()
    warm = MarketModel(seed=seed, width=5, height=5, steps=2, weak_ties=3)
    while warm.running:
        warm.step()
    del warm
    t1, c1 = time.perf_counter(), time.process_time()
    market = {"market": {"pages": pages}} if pages else {}
    model = MarketModel(seed=seed, width=width, height=height, steps=days, **market)
    t2, c2 = time.perf_counter(), time.process_time()
    while model.running:
        model.step()
    t3, c3 = time.perf_counter(), time.process_time()
    return {
        "build_cpu_s": c2 - c1,
        "run_cpu_s": c3 - c2,
        "import_s": tw - t0,
        "warmup_s": t1 - tw,
        "build_s": t2 - t1,
        "run_s": t3 - t2,
        "days": int(model.steps),
        "n_users": int(model.n_users),
        "peak_rss_mib": _peak_rss_mib(),
        "pinned": pinned,
    }


def _child_profile(width: int, height: int, days: int, seed: int, top: int, pages: int = 0) -> None:
    import cProfile
    import pstats

    pinned = _one_core()
    sys.path.insert(0, str(REPO_ROOT))
    from sim.model.market import MarketModel

    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    market = {"market": {"pages": pages}} if pages else {}
    model = MarketModel(seed=seed, width=width, height=height, steps=days, **market)
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


def measure(width: int, height: int, days: int, seed: int, root: Path = REPO_ROOT, pages: int = 0) -> dict:
    """One measurement in a fresh interpreter, of the model in the source tree ``root``."""
    proc = _run_child(["--_child", f"{width}x{height}x{days}x{pages}", "--seed", str(seed), "--_root", str(root)],
                      capture=True)
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_MARK):
            return json.loads(line[len(RESULT_MARK):])
    lines = (proc.stderr or "").strip().splitlines()
    raise RuntimeError(f"exit status {proc.returncode}: {lines[-1] if lines else 'no output'}")


def parse_size(token: str) -> tuple[str, tuple[int, int, int, int]]:
    token = token.strip()
    if token in SIZES:
        return token, SIZES[token]
    try:
        values = [int(v) for v in token.lower().split("x")]
        if len(values) not in (3, 4):
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"unknown size {token!r}; use {', '.join(SIZES)}, WxHxDAYS (e.g. 500x500x50) or WxHxDAYSxPAGES"
        ) from None
    return token, (*values[:3], values[3] if len(values) == 4 else 0)


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
          f"mesa {_version('mesa')}, numba {_version('numba')}")


def _fmt_rate(x: float) -> str:
    return f"{x / 1e6:.2f}M" if x >= 1e6 else f"{x / 1e3:.0f}k"


def summarize(runs: list[dict]) -> dict:
    total = [r["build_s"] + r["run_s"] for r in runs]
    rate = [r["n_users"] * r["days"] / r["run_s"] for r in runs]
    return {
        "n": runs[0]["n_users"],
        "days": runs[0]["days"],
        "import": statistics.median(r["import_s"] for r in runs),
        "warmup": statistics.median(r.get("warmup_s", 0.0) for r in runs),
        "build": (min(r["build_s"] for r in runs), statistics.median(r["build_s"] for r in runs)),
        "run": (min(r["run_s"] for r in runs), statistics.median(r["run_s"] for r in runs)),
        "total": (min(total), statistics.median(total), max(total)),
        "rate": (max(rate), statistics.median(rate)),
        "rss": max(r["peak_rss_mib"] for r in runs),
        "pinned": runs[0]["pinned"],
    }


def _print_rows(header: list[str], rows: list[list[str]], left: set[int]) -> None:
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))]
    line = lambda cells: "  ".join(  # noqa: E731
        c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
    ).rstrip()
    print(line(header))
    print(line(["-" * w for w in widths]))
    for r in rows:
        print(line(r))


def print_table(results: dict[str, dict], repeat: int) -> None:
    pair = f"best / median of {repeat} runs per cell" if repeat > 1 else "1 run per size"
    header = ["size", "grid", "days", "users", "warm-up s", "build s", "run s", "build+run s",
              "user-days/s", "peak RSS MiB"]
    rows = []
    for name, s in results.items():
        if "error" in s:
            rows.append([name, s["grid"], "", "", "", "failed", "", "", "", ""])
            continue
        two = (lambda v, f: f"{f(v[0])} / {f(v[1])}") if repeat > 1 else (lambda v, f: f(v[0]))
        sec = lambda x: f"{x:.2f}"  # noqa: E731
        rows.append([
            name, s["grid"], str(s["days"]), f"{s['n']:,}", f"{s['warmup']:.2f}",
            two(s["build"], sec), two(s["run"], sec), two(s["total"], sec),
            two(s["rate"], _fmt_rate), f"{s['rss']:,.0f}",
        ])
    print(f"\nResults, one core, {pair} (peak RSS: the largest of the runs)")
    _print_rows(header, rows, {0, 1})
    for name, s in results.items():
        if "error" in s:
            print(f"{name} failed: {s['error']}")


def print_comparison(base: dict[str, dict], new: dict[str, dict], rev: str, repeat: int) -> None:
    """Both trees' medians and their ratios, size by size."""
    header = ["size", "users", "days", f"build s {rev}", "build s now", "build x",
              f"run s {rev}", "run s now", "run x", "user-days/s now", f"RSS MiB {rev}", "RSS MiB now"]
    rows = []
    for name in new:
        b, n = base.get(name, {}), new[name]
        if "error" in b or "error" in n or not b:
            rows.append([name, "", "", *(["failed" if "error" in b else ""] * 3),
                         *(["failed" if "error" in n else ""] * 7)])
            continue
        rows.append([
            name, f"{n['n']:,}", str(n["days"]),
            f"{b['build'][1]:.2f}", f"{n['build'][1]:.2f}", f"{b['build'][1] / n['build'][1]:.1f}",
            f"{b['run'][1]:.3f}", f"{n['run'][1]:.3f}", f"{b['run'][1] / n['run'][1]:.1f}",
            _fmt_rate(n["rate"][1]), f"{b['rss']:,.0f}", f"{n['rss']:,.0f}",
        ])
    print(f"\nSide by side, one core, median of {repeat} run(s) each, {rev} then the working tree "
          "per repeat; x = {rev} / now (above 1: now is faster)".replace("{rev}", rev))
    _print_rows(header, rows, {0})
    for label, results in ((rev, base), ("now", new)):
        for name, s in results.items():
            if "error" in s:
                print(f"{name} ({label}) failed: {s['error']}")


# issue 10's targets: one core, run phase (seconds), or throughput, or the 10 M-user world
TARGETS = {
    "default": ("run <= 0.25 s", lambda s: s["run"][1] <= 0.25),
    "50": ("run <= 0.1 s", lambda s: s["run"][1] <= 0.1),
    "1000": (">= 20 M user-days/s", lambda s: s["rate"][1] >= 20e6),
    "10M": ("build <= 30 s, run <= 300 s, peak < 12 GB",
            lambda s: s["build"][1] <= 30 and s["run"][1] <= 300 and s["rss"] < 12e9 / 2**20),
    # issue 20's, the page market
    "market": ("run <= 2 s", lambda s: s["run"][1] <= 2.0),
    "market1000": (">= 2 M user-days/s, peak <= 4 GB", lambda s: s["rate"][1] >= 2e6 and s["rss"] <= 4e9 / 2**20),
    "market10M": ("build and 30 days measured, peak < 16 GB", lambda s: s["rss"] < 16e9 / 2**20),
}


def print_targets(results: dict[str, dict]) -> None:
    print("\nTargets (medians):")
    for key, (label, check) in TARGETS.items():
        s = next((r for r in results.values() if r["dims"] == SIZES[key]), None)
        if s is None:
            print(f"  {key}: {label}: not measured (add '{key}' to --sizes)")
        elif "error" in s:
            print(f"  {key}: {label}: FAILED to run")
        else:
            print(f"  {key}: {label}: {'MET' if check(s) else 'NOT MET'} "
                  f"(build {s['build'][1]:.2f} s, run {s['run'][1]:.3f} s, {_fmt_rate(s['rate'][1])} user-days/s, "
                  f"peak RSS {s['rss']:,.0f} MiB)")


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} (uptime)"


def checkout(rev: str) -> tuple[Path, str]:
    """A temporary detached git worktree of ``rev``; returns its path and short hash."""
    short = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", rev], text=True,
                           capture_output=True, check=False)
    if short.returncode:
        raise SystemExit(f"bench_model.py: --compare: unknown git revision {rev!r}")
    path = Path(tempfile.mkdtemp(prefix="bench_rev_"))
    subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "add", "--detach", "--quiet", str(path), rev],
                   check=True)
    return path, short.stdout.strip()


def remove_checkout(path: Path) -> None:
    subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "remove", "--force", str(path)], check=False)
    shutil.rmtree(path, ignore_errors=True)


def run_sizes(sizes: dict, repeat: int, seed: int, roots: dict[str, Path], cpu: bool = False) -> dict[str, dict[str, dict]]:
    """Measure every size ``repeat`` times in each source tree, trees interleaved per repeat.

    With ``cpu``, build and run times are the child's CPU seconds (``time.process_time``) instead of wall seconds.
    """
    results: dict[str, dict[str, dict]] = {label: {} for label in roots}
    for name, (w, h, d, pages) in sizes.items():
        runs: dict[str, list] = {label: [] for label in roots}
        for k in range(repeat):
            for label, root in roots.items():
                if "error" in results[label].get(name, {}):
                    continue
                print(f"  {name} ({w} x {h}, {d} days, {pages} pages) {label} run {k + 1}/{repeat} ...", end=" ",
                      file=sys.stderr, flush=True)
                try:
                    r = measure(w, h, d, seed, root, pages)
                    if cpu:
                        r["build_s"], r["run_s"] = r["build_cpu_s"], r["run_cpu_s"]
                except RuntimeError as err:
                    print("failed", file=sys.stderr, flush=True)
                    results[label][name] = {"grid": f"{w} x {h}", "dims": (w, h, d, pages), "error": str(err)}
                    print(err, file=sys.stderr)
                    continue
                print(f"build {r['build_s']:.2f} s, run {r['run_s']:.3f} s, "
                      f"peak RSS {r['peak_rss_mib']:,.0f} MiB", file=sys.stderr, flush=True)
                runs[label].append(r)
        for label in roots:
            if runs[label] and "error" not in results[label].get(name, {}):
                results[label][name] = {"grid": f"{w} x {h}", "dims": (w, h, d, pages), **summarize(runs[label])}
    return results


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/bench_model.py",
        description="Time and memory of MarketModel for several world sizes, each in a fresh "
        "process pinned to one core.",
    )
    parser.add_argument(
        "--sizes", default=None,
        help=f"comma-separated sizes: {', '.join(SIZES)} or WxHxDAYS (default: {', '.join(DEFAULT_SIZES)}; "
        "with --profile: the first size given, default 'default')",
    )
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per size; the table shows the best and the median (default: 1)")
    parser.add_argument("--seed", type=int, default=42, help="model seed (default: 42)")
    parser.add_argument("--compare", metavar="REV", default=None,
                        help="also run git revision REV's model (from a temporary worktree) beside the "
                        "working tree's, on the same sizes, and print the ratios")
    parser.add_argument("--cpu", action="store_true",
                        help="report build and run times as the child's CPU seconds (time.process_time), not wall "
                             "seconds: on a machine shared with other jobs, a pinned child's wall time includes the "
                             "time others held its core")
    parser.add_argument("--profile", action="store_true",
                        help="instead of the table: run the default scenario (or the first of --sizes) "
                        "once under cProfile and print the top 25 functions by cumulative time")
    parser.add_argument("--_child", help=argparse.SUPPRESS)
    parser.add_argument("--_root", default=str(REPO_ROOT), help=argparse.SUPPRESS)
    parser.add_argument("--_child_profile", help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)

    if args._child:  # inside a fresh interpreter: one measurement
        _, (w, h, d, p) = parse_size(args._child)
        print(RESULT_MARK + json.dumps(_child_measure(w, h, d, args.seed, args._root, p)), flush=True)
        return 0
    if args._child_profile:
        _, (w, h, d, p) = parse_size(args._child_profile)
        _child_profile(w, h, d, args.seed, top=25, pages=p)
        return 0

    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    try:
        chosen = args.sizes if args.sizes is not None else ("default" if args.profile else ",".join(DEFAULT_SIZES))
        sizes = dict(parse_size(t) for t in chosen.split(",") if t.strip())
    except argparse.ArgumentTypeError as err:
        parser.error(str(err))
    if not sizes:
        parser.error("--sizes selects no size")

    print_machine()
    print(f"  threads  : {', '.join(THREAD_VARS[:3])} = 1; each run in a fresh process pinned to one CPU")
    print(f"  start    : {_load()}")
    print()
    if args.profile:
        w, h, d, p = next(iter(sizes.values()))
        sys.stdout.flush()
        proc = _run_child(["--_child_profile", f"{w}x{h}x{d}x{p}", "--seed", str(args.seed)], capture=False)
        return proc.returncode

    print(f"seed {args.seed}, {args.repeat} run(s) per size", flush=True)
    roots = {"now": REPO_ROOT}
    checkout_path = None
    if args.compare:
        checkout_path, rev = checkout(args.compare)
        roots = {rev: checkout_path, "now": REPO_ROOT}
    try:
        results = run_sizes(sizes, args.repeat, args.seed, roots, cpu=args.cpu)
    finally:
        if checkout_path is not None:
            remove_checkout(checkout_path)
    new = results["now"]
    print_table(new, args.repeat)
    if args.compare:
        print_comparison(results[rev], new, rev, args.repeat)
    pinned = {s["pinned"] for s in new.values() if "pinned" in s}
    imports = ", ".join(f"{n} {s['import']:.2f} s" for n, s in new.items() if "import" in s)
    if args.cpu:
        print("\nTimes are CPU seconds of the pinned child (time.process_time), not wall seconds (--cpu).", end="")
    print(f"\nOne core: {', '.join(sorted(pinned))}. user-days/s = users x days / run s. "
          "build+run excludes the interpreter start, the imports and the warm-up")
    print(f"(median import of sim.model.market with numpy, scipy, pandas and mesa: {imports}).")
    print_targets(new)
    print(f"\nend: {_load()}")
    failed = any("error" in s for r in results.values() for s in r.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
