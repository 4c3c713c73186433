#!/usr/bin/env python
"""Benchmark of the browser demo: time for one simulated day plus its redraw.

Two measurements per world size (50 x 50 and 100 x 100 by default), both with
the classroom scenario (or ``--scenario``; a market's pages scale with the world):

* server: in this process, the six page components rendered by Solara
  (reacton, as in the server) for a model; then for each day ``model.step()``
  plus the redraw Mesa triggers (``force_update()``), timed together, with
  the parts (model step, map picture, one plot picture) timed apart, and
  for comparison the same plot drawn the way Mesa's own matplotlib plot
  component does (a fresh figure every day).
* browser: the real thing, ``python run.py viz`` plus headless Chromium
  (skipped if either is missing): each click on Step is timed until every
  picture on the page shows the new day; then Play runs for a few seconds
  and the days it managed are counted (this includes SolaraViz's pause of
  the play interval between days, 50 ms in the demo).

Run from the repository root::

    python benchmarks/bench_viz.py                     # both sizes, server and browser
    python benchmarks/bench_viz.py --sizes 50 --days 60
    python benchmarks/bench_viz.py --no-browser
    python benchmarks/bench_viz.py --scenario scenarios/market.yaml   # the market view (eight components)

Targets (the issue): under 0.3 s per day at 50 x 50 and under 1 s at 100 x 100.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

TARGETS_S = {50: 0.3, 100: 1.0}
WARM_UP_DAYS = 20


def _stats(seconds: list[float]) -> str:
    ms = sorted(1000 * s for s in seconds)
    p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
    return f"mean {statistics.fmean(ms):6.1f} ms  median {statistics.median(ms):6.1f} ms  p95 {p95:6.1f} ms"


def server_side(size: int, days: int) -> float:
    """Mean seconds for step + full redraw of the six components, rendered by Solara in this process."""
    import solara

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*early return", category=UserWarning)
        from mesa.visualization.utils import force_update

    from sim.viz import app
    from sim.viz.components import _per_firm
    from sim.viz.draw import PlotCanvas, map_png
    from sim.viz.demo import release

    model = app.AttentionMarket(world_size=size)

    @solara.component
    def Components():
        with solara.Column():
            for component in app.COMPONENTS:
                component(model)

    _, context = solara.render(Components(), handle_error=False)
    for _ in range(WARM_UP_DAYS):
        model.step()
        force_update()
    total, steps, maps, plots, mesa_plots = [], [], [], [], []
    canvas = PlotCanvas("users reached")
    for _ in range(days):
        if not model.running:
            break
        t0 = time.perf_counter()
        model.step()
        t1 = time.perf_counter()
        force_update()  # what SolaraViz does after a step: every component redraws
        t2 = time.perf_counter()
        total.append(t2 - t0)
        steps.append(t1 - t0)
        # the parts, timed apart (the redraw above already drew them once)
        t3 = time.perf_counter()
        map_png(model)
        t4 = time.perf_counter()
        canvas.png(_per_firm(model, "reach"), model.p.steps)
        t5 = time.perf_counter()
        mesa_style_plot(_per_firm(model, "reach"))
        t6 = time.perf_counter()
        maps.append(t4 - t3)
        plots.append(t5 - t4)
        mesa_plots.append(t6 - t5)
    context.close()
    release(model)
    print(f"  server  step + redraw   {_stats(total)}  ({len(total)} days after {WARM_UP_DAYS} of warm-up)")
    print(f"          model step      {_stats(steps)}")
    print(f"          map picture     {_stats(maps)}")
    print(f"          one plot        {_stats(plots)}  (four on the page)")
    print(f"          the same plot as a fresh figure, Mesa's way: {_stats(mesa_plots)}")
    return statistics.fmean(total)


def mesa_style_plot(series) -> bytes:
    """One plot the way Mesa 3.3.1's matplotlib plot component draws it: a fresh figure every day."""
    import io

    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.subplots()
    for s in series:
        ax.plot(s.x, s.y, color=s.colour, label="firm")
    ax.legend(loc="best")
    ax.set_xlabel("Step")
    out = io.BytesIO()
    fig.savefig(out, format="png", bbox_inches="tight")
    return out.getvalue()


def browser_side(size: int, clicks: int, play_seconds: float, scenario: str | None = None) -> float | None:
    """Mean seconds per Step click until the page has redrawn, in headless Chromium; None if unavailable."""
    from dev.browser import DRAWN_JS, DemoPage, DemoServer, browser_missing, chromium
    from sim.viz.demo import browser_scenario, demo_scenario

    reason = browser_missing()
    if reason:
        print(f"  browser skipped: {reason}")
        return None
    latency_js = f"""(after) => {{
        const drawn = ({DRAWN_JS})({{after, day: null}});
        if (drawn) window.__latency = performance.now() - window.__clicked;
        return drawn;
    }}"""
    with DemoServer(scenario, timeout=180) as server, chromium() as browser:
        page = DemoPage(browser, server.url).open()
        if size != browser_scenario(demo_scenario(scenario)).width:
            page.choose("World size (cells per side)", str(size))
            page.reset()
        page.step(WARM_UP_DAYS // 4)
        # time from the click event in the page to the moment every picture shows the new day,
        # measured by the page's own clock (Playwright's own overhead around a click is left out)
        page.page.evaluate("document.addEventListener('click', () => { window.__clicked = performance.now(); }, true)")
        times = []
        for _ in range(clicks):
            before = page.day()
            page.button("Step").click()
            page.page.wait_for_function(latency_js, arg=before, polling=5)
            times.append(page.page.evaluate("window.__latency") / 1000)
        start_day, t0 = page.day(), time.perf_counter()
        page.button("▶").click()
        page.page.wait_for_timeout(play_seconds * 1000)
        page.button("❚❚").click()
        elapsed, played = time.perf_counter() - t0, page.day() - start_day
        assert not page.foreign_requests() and not page.errors, (page.foreign_requests(), page.errors)
    print(f"  browser Step click -> every picture redrawn  {_stats(times)}  ({clicks} clicks)")
    print(f"          Play: {played} days in {elapsed:.1f} s = {elapsed / max(played, 1) * 1000:.0f} ms per day "
          f"(including the 50 ms play interval)")
    return statistics.fmean(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="50,100", help="world sizes (cells per side), comma separated")
    parser.add_argument("--days", type=int, default=100, help="days timed on the server side")
    parser.add_argument("--clicks", type=int, default=20, help="Step clicks timed in the browser")
    parser.add_argument("--play-seconds", type=float, default=10.0, help="seconds of Play in the browser")
    parser.add_argument("--no-browser", action="store_true", help="server side only")
    parser.add_argument("--scenario", default=None, help="scenario YAML file (default: the demo's, classroom)")
    args = parser.parse_args()
    from sim.viz.demo import SCENARIO_ENV, demo_scenario

    if args.scenario is not None:
        args.scenario = str(Path(args.scenario).resolve())
        os.environ[SCENARIO_ENV] = args.scenario  # read by sim.viz.app, imported by server_side
    name = demo_scenario(args.scenario).name
    ok = True
    for size in [int(s) for s in args.sizes.split(",")]:
        print(f"{size} x {size} users ({name} scenario):")
        worst = server_side(size, args.days)
        if not args.no_browser:
            worst = max(worst, browser_side(size, args.clicks, args.play_seconds, args.scenario) or 0.0)
        target = TARGETS_S.get(size)
        if target is not None:
            verdict = "meets" if worst < target else "MISSES"
            ok &= worst < target
            print(f"  {verdict} the target of {target:.1f} s per day (slowest mean above: {worst * 1000:.0f} ms)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
