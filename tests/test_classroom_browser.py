"""The classroom game in Debian's Chromium: a teacher and three students, three rounds, one rule change.

Starts the game as a teacher does (``python run.py classroom --port P``),
opens the projector and three student pages in separate browser contexts
(separate cookies, as separate devices), and plays: hostile input is
refused next to its field, three firms join with three strategies, the
teacher starts round 1, switches the feed to chronological, round 2 starts
when all are ready, round 3 runs without the student who never pressed
ready (the teacher starts it), a late student
is told to wait, a closed tab gets its firm back. Then each student page
must show only its own firm, and the leaderboard, every student's results
and the debrief's CSV must equal a replay of the game's log. Last, the
server stops and is resumed from its log: a student's address gives the
firm back. Skips, saying why, where Chromium or Playwright is missing.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pandas as pd
import pytest

from dev.browser import REPO_ROOT, DemoServer, browser_missing, chromium

CODE = "TEAM"
ROUNDS, DAYS = 3, 10
STRATEGIES = {  # three firms, three strategies (text as typed)
    "Loud Shop": {"posts_per_day": "6", "promo_share": "0.9", "quality": "0.3", "reply_rate": "0",
                  "delete_critics": "0.5", "ads_per_day": "500"},
    "Talk Cafe": {"posts_per_day": "1", "promo_share": "0.33", "quality": "0.7", "reply_rate": "0.9",
                  "delete_critics": "0", "ads_per_day": "0"},
    "Mixed Bag": {"posts_per_day": "2", "promo_share": "50%", "quality": "1", "reply_rate": "0.5",
                  "delete_critics": "0", "ads_per_day": "300"},
}  # fmt: skip
TIMEOUT = 60_000


class GameServer(DemoServer):
    """``python run.py classroom`` on a free port, logging to ``log`` (or resuming it)."""

    def __init__(self, log, resume: bool = False):
        super().__init__(timeout=90)
        game = ["--resume", str(log)] if resume else ["--rounds", str(ROUNDS), "--days-per-round", str(DAYS),
                                                       "--log", str(log)]  # fmt: skip
        self.command = [sys.executable, "run.py", "classroom", "--port", str(self.port), "--host", "127.0.0.1",
                        *game, "--code", CODE]  # fmt: skip

    def teacher_path(self) -> str:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            match = re.search(r"Projector:\s+http://127\.0\.0\.1:\d+(/teacher/\S+)", self.output())
            if match:
                return match.group(1)
            time.sleep(0.2)
        raise AssertionError(f"no projector address printed:\n{self.output()}")


@pytest.fixture(scope="module")
def game(tmp_path_factory):
    reason = browser_missing()
    if reason:
        pytest.skip(f"browser test needs Debian's Chromium and Playwright: {reason}")
    log = tmp_path_factory.mktemp("classroom") / "game.jsonl"
    server = GameServer(log)
    server.start()
    yield server, log
    server.stop()


def field_message(page, key: str) -> str:
    return page.locator(f".field-{key} .v-messages").inner_text()


def join(page, url: str, name: str) -> None:
    page.goto(url)
    page.get_by_text("Join the attention market").wait_for(timeout=TIMEOUT)
    page.locator(".join-code input").fill(CODE)
    page.locator(".join-name input").fill(name)
    page.locator(".join-button").click()
    page.locator(".strategy-form").wait_for(timeout=TIMEOUT)


def set_strategy(page, strategy: dict[str, str]) -> None:
    for key, text in strategy.items():
        page.locator(f".field-{key} input").fill(text)


def numbers(locator) -> dict[str, float]:
    """{css class: exact value} of the cells with a data-value inside ``locator``."""
    cells = locator.locator("[data-value]").evaluate_all("els => els.map(e => [e.className, e.dataset.value])")
    return {key: float(value) for key, value in cells if value}


def replay(log, tmp_path) -> pd.DataFrame:
    csv = tmp_path / "replayed.csv"
    done = subprocess.run([sys.executable, "run.py", "classroom", "--replay", str(log), "--csv", str(csv)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Every number matches the log." in done.stdout
    return pd.read_csv(csv)


def test_a_class_plays_two_rounds_and_the_pages_agree_with_the_replay(game, tmp_path):
    server, log = game
    base = server.url.rstrip("/")
    with chromium() as browser:
        teacher = browser.new_context(viewport={"width": 1300, "height": 1400}).new_page()
        errors: list[str] = []
        requests: list[str] = []  # every page's requests: none may leave this machine (the game works offline)
        teacher.on("pageerror", lambda exc: errors.append(str(exc)))
        teacher.on("request", lambda request: requests.append(request.url))
        teacher.goto(base + server.teacher_path())
        teacher.get_by_text(CODE, exact=True).wait_for(timeout=TIMEOUT)
        # a student page does not open the projector, nor guesses its address
        intruder = browser.new_context().new_page()
        intruder.goto(base + "/teacher/guess")
        intruder.get_by_text("This page needs the teacher's address").wait_for(timeout=TIMEOUT)
        assert intruder.locator(".run-button").count() == 0

        contexts = {name: browser.new_context(viewport={"width": 900, "height": 1500}) for name in STRATEGIES}
        students = {name: context.new_page() for name, context in contexts.items()}
        for page in students.values():
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("request", lambda request: requests.append(request.url))

        # hostile input at the door: refused next to the field
        first = students["Loud Shop"]
        first.goto(base + "/")
        first.get_by_text("Join the attention market").wait_for(timeout=TIMEOUT)
        for code, name, field, message in (
            ("NOPE", "Loud Shop", "join-code", "wrong code"),
            (CODE, "<b>Shop</b>", "join-name", "letters, digits, spaces"),
            (CODE, "x" * 5000, "join-name", "at most 20 characters (got 5,000)"),
        ):
            first.locator(".join-code input").fill(code)
            first.locator(".join-name input").fill(name)
            first.locator(".join-button").click()
            first.locator(f".{field} .v-messages").get_by_text(message).wait_for(timeout=TIMEOUT)
        tokens = {}
        for name, page in students.items():
            join(page, base + "/", name)
            tokens[name] = page.url.rsplit("/", 1)[1]
        teacher.get_by_text("Waiting for round 1 of 3: 3 firms joined").wait_for(timeout=TIMEOUT)

        # hostile strategies: text, a huge number, a fraction of an ad
        talk = students["Talk Cafe"]
        set_strategy(talk, {"posts_per_day": "lots", "promo_share": "1e308", "ads_per_day": "2.5"})
        talk.locator(".ready-button").click()
        talk.locator(".field-posts_per_day .v-messages").get_by_text("not a number").wait_for(timeout=TIMEOUT)
        assert "must be from 0 to 1" in field_message(talk, "promo_share")
        assert "whole number" in field_message(talk, "ads_per_day")
        assert teacher.locator(".status").inner_text().endswith("3 firms joined, 0 ready.")

        # round 1: everyone ready, and the teacher starts it (which closes the lobby)
        for name, page in students.items():
            set_strategy(page, STRATEGIES[name])
            page.locator(".ready-button").click()
            page.locator(".ready-note").wait_for(timeout=TIMEOUT)
        teacher.get_by_text("3 firms joined, 3 ready").wait_for(timeout=TIMEOUT)
        teacher.locator(".run-button").click()
        teacher.get_by_text("Leaderboard, round 1").wait_for(timeout=TIMEOUT)

        # between rounds: the teacher switches the feed to chronological; everyone ready starts round 2
        teacher.locator(".lever-ranking .v-input__slot").click()
        teacher.get_by_role("option", name="chronological", exact=True).click()
        teacher.locator(".v-menu__content.menuable__content__active").wait_for(state="hidden")
        for name, page in students.items():
            page.get_by_text("Round 1 of 3 done").wait_for(timeout=TIMEOUT)
            if name == "Loud Shop":
                page.locator(".field-posts_per_day input").fill("2")
            page.locator(".ready-button").click()
        teacher.get_by_text("Leaderboard, round 2").wait_for(timeout=TIMEOUT)

        # round 3: Mixed Bag changes strategy but never presses ready; the teacher runs it anyway
        for page in students.values():
            page.get_by_text("Round 2 of 3 done").wait_for(timeout=TIMEOUT)
        students["Loud Shop"].locator(".ready-button").click()
        students["Talk Cafe"].locator(".ready-button").click()
        students["Mixed Bag"].locator(".field-ads_per_day input").fill("0")  # not saved: the old strategy stays
        teacher.get_by_text("2 of 3 ready").wait_for(timeout=TIMEOUT)
        teacher.locator(".run-button").click()
        teacher.get_by_text("Leaderboard, round 3").wait_for(timeout=TIMEOUT)
        teacher.get_by_text("The game is over").wait_for(timeout=TIMEOUT)

        # a late student is told to wait for the next game
        late = browser.new_context().new_page()
        late.goto(base + "/")
        late.locator(".lobby-closed").wait_for(timeout=TIMEOUT)
        assert late.locator(".join-button").count() == 0

        # a closed tab: the same browser gets its firm back from the join address
        contexts["Talk Cafe"].pages[0].close()
        again = contexts["Talk Cafe"].new_page()
        again.goto(base + "/")
        again.wait_for_url(re.compile(f"/play/{tokens['Talk Cafe']}$"), timeout=TIMEOUT)
        again.locator(".own-results").wait_for(timeout=TIMEOUT)
        students["Talk Cafe"] = again

        table = replay(log, tmp_path)
        last = table[table["round"] == ROUNDS].set_index("firm")
        assert list(table.groupby("round")["platform_ranking"].first()) == ["engagement", "chronological", "chronological"]
        assert last.loc["Loud Shop", "posts_per_day"] == 2 and last.loc["Mixed Bag", "ads_per_day"] == 300

        # each student sees their own controls and results, and nobody else's
        for name, page in students.items():
            page.get_by_text("The game is over").wait_for(timeout=TIMEOUT)
            text = page.locator(".student-page").inner_text()
            assert name in text
            for other in STRATEGIES:
                assert other == name or other not in text, (name, other)
            assert page.locator(".leaderboard").count() == 0 and page.locator(".run-button").count() == 0
            assert page.locator(".strategy-form input").count() == 6
            shown = numbers(page.locator(".own-results"))
            for key in ("reach", "followers", "gained", "lost", "trust", "spend", "reach_per_spend"):
                assert shown[key] == pytest.approx(last.loc[name, key], rel=1e-12), (name, key)
            causes = sum(shown[f"lost_{c}"] for c in ("fatigue", "annoyed", "deleted"))
            assert causes == shown["lost"], name

        # the leaderboard: every firm's scores, ranked by reach, equal to the replay
        rows = teacher.locator(".leaderboard tr[data-firm]")
        assert rows.count() == 3
        order = [rows.nth(k).get_attribute("data-firm") for k in range(3)]
        assert order == list(last["reach"].sort_values(ascending=False).index)
        for k in range(3):
            shown = numbers(rows.nth(k))
            for key in ("reach", "followers", "trust", "reach_per_spend"):
                assert shown[key] == pytest.approx(last.loc[order[k], key], rel=1e-12), (order[k], key)
        teacher.screenshot(path=str(tmp_path / "teacher.png"), full_page=True)

        # the debrief: its CSV is the replayed table; its PNG is a picture
        teacher.locator(".debrief-link").click()
        teacher.locator(".debrief-figure").wait_for(timeout=TIMEOUT)
        assert teacher.locator(".questions li").count() == 3
        with teacher.expect_download() as download:
            teacher.get_by_text("Download the table (CSV)").click()
        downloaded = pd.read_csv(io.StringIO(open(download.value.path()).read()))
        pd.testing.assert_frame_equal(downloaded, table)
        with teacher.expect_download() as download:
            teacher.get_by_text("Download the figure (PNG)").click()
        assert open(download.value.path(), "rb").read(8) == b"\x89PNG\r\n\x1a\n"
        assert errors == [], "errors in the browser"
        foreign = [u for u in requests if urlsplit(u).hostname not in ("127.0.0.1", "localhost", None)
                   and not u.startswith(("data:", "blob:"))]  # fmt: skip
        assert requests and foreign == [], "a page asked another host: it would not work offline"

        # the server stops; resumed from its log, a student's address gives the firm and its results back
        talk_results = numbers(students["Talk Cafe"].locator(".own-results"))
        server.stop()
        with GameServer(log, resume=True) as resumed:
            resumed.teacher_path()  # waits until the addresses are printed
            assert f"resumed after round {ROUNDS}" in resumed.output()
            page = contexts["Talk Cafe"].new_page()
            page.goto(resumed.url.rstrip("/") + f"/play/{tokens['Talk Cafe']}")
            page.locator(".own-results").wait_for(timeout=TIMEOUT)
            assert numbers(page.locator(".own-results")) == talk_results
            page.goto(resumed.url.rstrip("/") + "/play/not-a-token")
            page.get_by_text("This address is not a player of this game").wait_for(timeout=TIMEOUT)
