#!/usr/bin/env python
"""Regenerate docs/img/viz_market.png, the browser demo's market view, from the real page.

Starts the demo on a market scenario as a user would (``python run.py viz
SCENARIO``), runs it to day 124 with Render Interval 31 and four Steps in
Debian's headless Chromium, prints the feed panel's caption and lever line,
and saves the screenshot. Like dev/scripts/teaching_screenshots.py, this script,
run by hand, is what writes docs/img/; the tests take their screenshots
into temporary folders.

Run from the repository root (needs /usr/bin/chromium and the playwright
package; takes about half a minute)::

    python dev/scripts/market_screenshot.py                       # scenarios/market_levers.yaml
    python dev/scripts/market_screenshot.py scenarios/market.yaml --out /tmp/market.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from dev.browser import DemoPage, DemoServer, browser_missing, chromium  # noqa: E402

RENDER_INTERVAL = 31  # Step then runs 31 days
STEPS = 4  # to day 124


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="scenarios/market_levers.yaml", help="a market scenario")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "img" / "viz_market.png")
    args = parser.parse_args(argv)
    reason = browser_missing()
    if reason:
        print(f"error: {reason}", file=sys.stderr)
        return 2
    with DemoServer(args.scenario, timeout=180) as server, chromium() as browser:
        page = DemoPage(browser, server.url).open(timeout_ms=180_000)
        page.set_slider("Render Interval (steps)", RENDER_INTERVAL)
        page.step(STEPS)
        print(page.text(".feed-caption"))
        print(page.text(".lever-line"))
        page.screenshot(args.out)
        problems = page.errors + page.foreign_requests()
        page.close()
    print(f"wrote {args.out}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
