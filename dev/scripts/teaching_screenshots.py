#!/usr/bin/env python
"""Regenerate the screenshots of docs/teaching.md and the README's docs/img/viz.png from the real page.

Starts the demo as a teacher would (``python run.py viz``), drives Debian's
headless Chromium with Playwright through each experiment of the lesson
(the same controls the guide tells the class to move), runs the model to
the end of its year with Render Interval and Step, and saves one screenshot
per experiment under docs/img/. It prints each shot's plot captions, the
numbers the guide quotes. The README's shot (``viz``) is the classroom
scenario as it starts, run to day 244, well past the crossover. This script,
run by hand, is the only thing that writes docs/img/: the tests take their
screenshots into temporary folders.

Run from the repository root (needs /usr/bin/chromium and the playwright
package; takes about a minute)::

    python dev/scripts/teaching_screenshots.py
    python dev/scripts/teaching_screenshots.py --only ranking
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from dev.browser import DemoPage, DemoServer, browser_missing, chromium  # noqa: E402
from sim.viz.demo import demo_scenario  # noqa: E402

IMG = REPO_ROOT / "docs" / "img"
LAST_DAY = demo_scenario().steps  # 365 in scenarios/classroom.yaml
RENDER_INTERVAL = 73  # Step then runs 73 days: five presses make the classroom year of 365 days

# file stem -> (what it shows, sliders to move, menus to set)
SHOTS: dict[str, tuple[str, dict[str, float], dict[str, str]]] = {
    "teach_overload_10": ("overload: users follow 10 pages", {"Pages a user follows": 10}, {}),
    "teach_overload_300": ("overload: users follow 300 pages", {"Pages a user follows": 300}, {}),
    "teach_ranking": ("ranking: chronological feed", {}, {"Feed ranking": "chronological"}),
    "teach_dialogue_replies": (
        "broadcast stops deleting critics and replies to 90% of comments",
        {"broadcast: delete critics": 0.0, "broadcast: reply rate": 0.9}, {},
    ),
    "teach_dialogue_fewer_posts": (
        "... and also posts 2 times a day instead of 6",
        {"broadcast: delete critics": 0.0, "broadcast: reply rate": 0.9, "broadcast: posts per day": 2.0}, {},
    ),
}


def take(browser, url: str, stem: str) -> None:
    """One experiment: fresh session, controls moved, Reset, run the year, screenshot."""
    what, sliders, menus = SHOTS[stem]
    page = DemoPage(browser, url).open()
    for label, value in sliders.items():
        page.set_slider(label, value)
    for label, option in menus.items():
        page.choose(label, option)
    page.reset()
    page.set_slider("Render Interval (steps)", RENDER_INTERVAL)
    while page.button("Step").is_enabled():
        page.step(1)
    if page.day() != LAST_DAY:
        raise SystemExit(f"{stem}: the run ended on day {page.day()}, not {LAST_DAY} (Render Interval not {RENDER_INTERVAL}?)")
    path = page.screenshot(IMG / f"{stem}.png")
    captions = page.page.locator(".plot-caption").all_inner_texts()
    if page.errors or page.foreign_requests():
        raise SystemExit(f"{stem}: browser errors {page.errors} or foreign requests {page.foreign_requests()}")
    page.close()
    print(f"{path.relative_to(REPO_ROOT)}: {what}, day {captions[0].split(':')[0].split()[-1]}")
    for caption in captions:
        print(f"    {caption}")


README_SHOT = "viz"  # docs/img/viz.png: the classroom scenario untouched, Render Interval 61, four Steps


def take_readme_shot(browser, url: str) -> None:
    """The README's screenshot: a run well past the crossover, day 244."""
    page = DemoPage(browser, url).open()
    page.set_slider("Render Interval (steps)", 61)  # Step then runs 61 days before it redraws
    page.step(4)
    if page.day() != 244:
        raise SystemExit(f"{README_SHOT}: the page shows day {page.day()}, not 244")
    path = page.screenshot(IMG / f"{README_SHOT}.png")
    if page.errors or page.foreign_requests():
        raise SystemExit(f"{README_SHOT}: browser errors {page.errors} or foreign requests {page.foreign_requests()}")
    page.close()
    print(f"{path.relative_to(REPO_ROOT)}: the README's screenshot, day 244")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", choices=sorted([*SHOTS, README_SHOT]),
                        help="take only this shot (repeatable)")
    args = parser.parse_args()
    reason = browser_missing()
    if reason:
        print(f"error: {reason}", file=sys.stderr)
        return 2
    with DemoServer() as server, chromium() as browser:
        for stem in args.only or [*SHOTS, README_SHOT]:
            if stem == README_SHOT:
                take_readme_shot(browser, server.url)
            else:
                take(browser, server.url, stem)
    return 0


if __name__ == "__main__":
    sys.exit(main())
