"""Drive the browser demo in headless Chromium, for its test, its benchmark and the guide's screenshots.

`DemoServer` starts the demo exactly as a user does (``python run.py viz
--port P --host 127.0.0.1`` from the repository root) and stops it.
`DemoPage` opens the page in Debian's Chromium through Playwright, records
every request and console error, and moves the controls the way a person
would (keyboard on sliders, clicks on menus and buttons). Playwright is
imported only when a browser is launched.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parents[1]

CHROMIUM = "/usr/bin/chromium"
# headless as root on a machine without network: no sandbox, no GPU, and none of Chromium's
# own background traffic (which would flood a closed network with refused connections)
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
VIEWPORT = {"width": 1400, "height": 1480}  # tall enough to show the whole page in one screenshot
SLIDER_SETTLE_MS = 1000  # see DemoPage.set_slider
STEP_TEXT = re.compile(r"^Step: (\d+)$")
# true once SolaraViz's "Step: N" is past `after` (or equal to `day`) and the map heading and every
# caption (at least four plots', and the market view's feed panels) show that same day N
DRAWN_JS = """({after, day}) => {
    const node = document.evaluate("//*[starts-with(normalize-space(text()), 'Step: ')]", document, null,
                                   XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue;
    const match = node && /^Step: (\\d+)$/.exec(node.textContent.trim());
    if (!match) return false;
    const now = Number(match[1]);
    if (now <= after || (day !== null && now !== day)) return false;
    const heading = [...document.querySelectorAll('b')].some(b => b.textContent === `Users on the grid, day ${now}`);
    const captions = [...document.querySelectorAll('.plot-caption, .feed-caption')];
    return heading && captions.length >= 4 && captions.every(c => c.textContent.startsWith(`day ${now}:`));
}"""


def browser_missing() -> str | None:
    """Why the browser cannot run here (None when it can)."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing (pip install playwright)"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class DemoServer:
    """``python run.py viz`` in a subprocess on a free port; a context manager.

    ``env``: extra environment variables for the server (the test uses it to
    check that a user's Solara settings cannot switch the local assets off).
    """

    def __init__(self, scenario: str | None = None, port: int | None = None, timeout: float = 60.0,
                 env: dict[str, str] | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.command = [sys.executable, "run.py", "viz", *([scenario] if scenario else []),
                        "--port", str(self.port), "--host", "127.0.0.1"]
        self.timeout = timeout
        self.env = {**os.environ, **(env or {})}
        self._log = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe: a full pipe would stall the server
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> DemoServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        """Start the server and wait (bounded) until its port answers."""
        self.process = subprocess.Popen(self.command, cwd=REPO_ROOT, stdout=self._log, stderr=subprocess.STDOUT,
                                        text=True, env=self.env)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the demo server exited with {self.process.returncode}:\n{self.output()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the demo server did not answer within {self.timeout:.0f} s:\n{self.output()}")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL if it does not exit within 15 s)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)

    def output(self) -> str:
        """Everything the server printed so far."""
        self._log.flush()
        self._log.seek(0)
        return self._log.read()


@contextmanager
def chromium():
    """A headless Debian Chromium launched by Playwright (sync API)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class DemoPage:
    """One browser tab on the demo, with the requests and console errors it produced."""

    def __init__(self, browser, url: str):
        self.url = url
        self.page = browser.new_page(viewport=VIEWPORT)
        self.requests: list[str] = []
        self.errors: list[str] = []
        self._steps: dict[str, float] = {}  # slider label -> step
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def open(self, timeout_ms: int = 60_000) -> DemoPage:
        """Load the page and wait until the map and the plots are drawn."""
        self.page.goto(self.url)
        self.page.get_by_text(STEP_TEXT).wait_for(timeout=timeout_ms)
        self.page.locator(".follow-map").first.wait_for(timeout=timeout_ms)
        self.page.locator(".plot").nth(3).wait_for(timeout=timeout_ms)
        self.wait_until_drawn(timeout_ms=timeout_ms)
        return self

    def close(self) -> None:
        self.page.close()

    def foreign_requests(self) -> list[str]:
        """Requests to any host but this machine: there must be none for the demo to work offline."""
        return [u for u in self.requests if urlsplit(u).hostname not in ("127.0.0.1", "localhost", None)
                and not u.startswith(("data:", "blob:"))]

    # -- reading the page ----------------------------------------------------

    def day(self) -> int:
        """The model's day as SolaraViz shows it ("Step: N")."""
        return int(STEP_TEXT.match(self.page.get_by_text(STEP_TEXT).inner_text().strip()).group(1))

    def text(self, selector: str) -> str:
        return self.page.locator(selector).first.inner_text()

    def image_sources(self) -> list[str]:
        """The src of the map and of every plot, in page order (they change when a picture is redrawn)."""
        return self.page.locator(".follow-map, .plot").evaluate_all("els => els.map(e => e.src)")

    # -- moving the controls ---------------------------------------------------

    def button(self, name: str):
        return self.page.get_by_role("button", name=name, exact=True)

    def step(self, times: int = 1) -> None:
        """Press Step ``times`` times, each time waiting until every picture shows the new day."""
        for _ in range(times):
            before = self.day()
            self.button("Step").click()
            self.wait_until_drawn(after=before)

    def wait_until_drawn(self, after: int = -1, day: int | None = None, timeout_ms: int = 60_000) -> None:
        """Wait until "Step: N" shows a day past ``after`` (or exactly ``day``) and every picture shows N.

        SolaraViz redraws its components one after the other, so for a moment
        some pictures still show the previous day.
        """
        self.page.wait_for_function(DRAWN_JS, arg={"after": after, "day": day}, timeout=timeout_ms)

    def reset(self) -> None:
        """Press Reset and wait until the rebuilt model is drawn at day 0."""
        self.button("Reset").click()
        self.wait_until_drawn(day=0)

    def set_slider(self, label: str, value: float) -> None:
        """Move a sidebar slider to ``value`` with the keyboard, as a person without a mouse would."""
        thumb = self.page.get_by_role("slider", name=label, exact=True)
        thumb.focus()
        low, high = float(thumb.get_attribute("aria-valuemin")), float(thumb.get_attribute("aria-valuemax"))
        for _ in range(2000):
            now = float(thumb.get_attribute("aria-valuenow"))
            if abs(now - value) < 1e-9:
                # Jupyter widgets send at most one pending update per widget and keep only the latest
                # meanwhile, so the slider's final value can reach the server after a later click on
                # another widget. Give it time to arrive.
                self.page.wait_for_timeout(SLIDER_SETTLE_MS)
                return
            step = self._slider_step(thumb, now, low, high)
            gap = value - now
            big = step * ((high - low) / step / 10 if (high - low) / step > 100 else 10)
            if abs(gap) >= big - 1e-9:
                self.page.keyboard.press("PageUp" if gap > 0 else "PageDown")
            elif abs(gap) >= 3 * step - 1e-9:
                self.page.keyboard.press("Shift+ArrowRight" if gap > 0 else "Shift+ArrowLeft")
            else:
                self.page.keyboard.press("ArrowRight" if gap > 0 else "ArrowLeft")
        raise AssertionError(f"slider {label!r} did not reach {value}")

    def _slider_step(self, thumb, now: float, low: float, high: float) -> float:
        """The slider's step, learnt by one arrow press (and undone)."""
        key = thumb.get_attribute("aria-label")
        if key not in self._steps:
            direction = ("ArrowRight", "ArrowLeft") if now < high else ("ArrowLeft", "ArrowRight")
            self.page.keyboard.press(direction[0])
            self._steps[key] = abs(float(thumb.get_attribute("aria-valuenow")) - now)
            self.page.keyboard.press(direction[1])
        return self._steps[key]

    def choose(self, label: str, option: str) -> None:
        """Pick ``option`` in a sidebar menu (a Vuetify select)."""
        self.page.locator(".v-select", has=self.page.get_by_text(label, exact=True)).locator(".v-input__slot").click()
        self.page.get_by_role("option", name=str(option), exact=True).click()
        self.page.locator(".v-menu__content.menuable__content__active").wait_for(state="hidden")

    def screenshot(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path))
        return path
