#!/usr/bin/env python
"""Benchmark of the classroom game: how long a round takes with 40 players on this machine.

A class of ``--players`` firms (40 by default) joins the default game
(scenarios/classroom_game.yaml) with a spread of strategies, everyone
presses ready, and the round runs as on the server (`Classroom`, the round
in its own thread). Timed per round:

* the round: from the last "ready" (round 1: the teacher's start) to the
  results being logged (build
  the model in round 1, apply the strategies and rules, run the days,
  compute each firm's results, append the log line);
* the redraw: the pictures the pages draw once per round, the projector's
  map and strategy plot plus every student's own reach plot and map (each
  student's page draws its own, so 40 of them).

Between rounds every firm changes its strategy and the teacher flips the
feed ranking, so the rebuild of cached tables is timed too. The machine,
its load and the git revision are printed with the numbers.

With ``--browsers N`` it also plays one round through the real pages:
``python run.py classroom`` and N students in N headless Chromium
contexts (separate devices), plus the projector; it times how long after
the teacher's click every student page shows its results.

    python benchmarks/bench_classroom.py                 # 40 players, 3 rounds of 30 days
    python benchmarks/bench_classroom.py --players 10 --rounds 2 --days 10
    python benchmarks/bench_classroom.py --browsers 40   # also 40 student pages in Chromium
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

STRATEGIES = (  # posts, promo, quality, replies, delete, ads
    ("6", "0.9", "0.3", "0", "0.5", "500"),
    ("1", "0.33", "0.7", "0.9", "0", "0"),
    ("2", "0.5", "1", "0.5", "0", "300"),
    ("4", "0.2", "0.8", "0.2", "0.2", "100"),
    ("0.5", "0", "1", "1", "0", "0"),
)
KEYS = ("posts_per_day", "promo_share", "quality", "reply_rate", "delete_critics", "ads_per_day")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(next(l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")).split()[1])
        memory = f", {kib / 2**20:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    return f"{os.cpu_count()} cores ({cpu}){memory}, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--players", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--days", type=int, default=30, help="days per round (the game's default: 30)")
    parser.add_argument("--browsers", type=int, default=0, help="also play one round with N student pages")
    args = parser.parse_args(argv)

    from sim.classroom import results
    from sim.classroom.session import Classroom
    from sim.runs.provenance import git_state
    from sim.scenario import load_scenario

    scenario = load_scenario(REPO_ROOT / "scenarios" / "classroom_game.yaml")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        room = Classroom(scenario, rounds=args.rounds, days_per_round=args.days, code="ACDE",
                         log_path=Path(folder) / "bench.jsonl")  # fmt: skip
        players = [room.join("ACDE", f"firm {k}", "dialogue") for k in range(args.players)]
        rounds, redraws = [], []
        for r in range(args.rounds):
            for k, player in enumerate(players[:-1]):
                texts = dict(zip(KEYS, STRATEGIES[(k + r) % len(STRATEGIES)]))
                assert room.submit(player.token, texts) == {}
            texts = dict(zip(KEYS, STRATEGIES[(len(players) - 1 + r) % len(STRATEGIES)]))
            start = time.perf_counter()
            assert room.submit(players[-1].token, texts) == {}  # the last "ready" starts rounds 2, 3, ...
            if r == 0:
                room.run_round("teacher")  # round 1 is the teacher's call
            room.wait()
            rounds.append(time.perf_counter() - start)
            assert room.round == r + 1, room.last_error
            start = time.perf_counter()
            colours = room.colours()
            results.market_map_png(room.view, colours)
            results.strategy_moves_png(room.debrief(), room.colours(display=True))
            for player in players:
                room.reach_plots.png(room.view, player.index, colours[player.firm])
                results.market_map_png(room.view, colours, only=player.index)
            redraws.append(time.perf_counter() - start)
            if r + 1 < args.rounds:
                room.set_lever("ranking", "chronological" if r % 2 == 0 else "engagement")
    load_after = os.getloadavg()
    print(f"classroom game: {args.players} players, {args.rounds} rounds of {args.days} days, "
          f"{scenario.width} x {scenario.height} users")  # fmt: skip
    print(f"machine: {machine()}; load average {load_before[0]:.1f} before, {load_after[0]:.1f} after; "
          f"revision {git_state()['git_revision']}")  # fmt: skip
    for r, (run, redraw) in enumerate(zip(rounds, redraws), start=1):
        note = " (includes building the world)" if r == 1 else ""
        print(f"  round {r}: {run:5.2f} s to run{note}; {redraw:5.2f} s to draw the pages' pictures")
    later = rounds[1:] or rounds
    print(f"a round at {args.players} players: {statistics.fmean(later):.2f} s (mean of rounds 2-{args.rounds}), "
          f"pictures {statistics.fmean(redraws):.2f} s")  # fmt: skip
    if args.browsers:
        browser_round(args.browsers, args.days)
    return 0


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def browser_round(n: int, days: int) -> None:
    """One round through the served pages with ``n`` students; prints the times."""
    import re

    from dev.browser import DemoServer, chromium

    with tempfile.TemporaryDirectory() as folder:
        server = DemoServer(timeout=90)
        server.command = [sys.executable, "run.py", "classroom", "--port", str(server.port), "--host", "127.0.0.1",
                          "--rounds", "1", "--days-per-round", str(days), "--code", "ACDE",
                          "--log", str(Path(folder) / "game.jsonl")]  # fmt: skip
        with server, chromium() as browser:
            for _ in range(300):
                match = re.search(r"Projector:\s+\S+?(/teacher/\S+)", server.output())
                if match:
                    break
                time.sleep(0.2)
            base = server.url.rstrip("/")
            teacher = browser.new_context().new_page()
            teacher.goto(base + match.group(1))
            start = time.perf_counter()
            pages = []
            for k in range(n):
                page = browser.new_context(viewport={"width": 800, "height": 900}).new_page()
                page.goto(base + "/")
                page.locator(".join-code input").fill("ACDE")
                page.locator(".join-name input").fill(f"firm {k}")
                page.locator(".join-button").click()
                page.locator(".strategy-form").wait_for(timeout=120_000)
                pages.append(page)
            joined = time.perf_counter() - start
            for k, page in enumerate(pages):
                for key, text in zip(KEYS, STRATEGIES[k % len(STRATEGIES)]):
                    page.locator(f".field-{key} input").fill(text)
                page.locator(".ready-button").click()
            teacher.get_by_text(f"{n} ready").wait_for(timeout=120_000)
            start, cpu = time.perf_counter(), cpu_seconds(server.process.pid)
            teacher.locator(".run-button").click()
            teacher.get_by_text("Leaderboard, round 1").wait_for(timeout=120_000)
            projector = time.perf_counter() - start
            for page in pages:
                page.locator(".own-results").wait_for(timeout=120_000)
            everyone = time.perf_counter() - start
            server_cpu = cpu_seconds(server.process.pid) - cpu
    print(f"browsers: {n} students joined one after the other in {joined:.1f} s; after the teacher's click the "
          f"projector showed round 1 in {projector:.1f} s and every student page its results in {everyone:.1f} s "
          f"(load average {os.getloadavg()[0]:.1f}, the {n} browsers on this machine too); the server used "
          f"{server_cpu:.1f} s of CPU for it")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
