#!/usr/bin/env python
"""Play a scripted classroom game in headless Chromium and take the teaching guide's screenshots.

Five students (five strategies) play five rounds of 30 days on the default
game (seed 42). Rounds 1-2 run as joined; before round 3 the teacher
switches the feed to chronological; before round 4 back to engagement with
attention halved; before round 5 the broadcaster posts 2 a day and starts
replying. Screenshots of the projector and of one student's page (and of the
debrief with ``--debrief``) go to ``--out`` (default docs/img), and the game's debrief table is printed
(the numbers docs/teaching.md quotes). The game's log is kept in a
temporary folder, whose path is printed; replaying it gives the same table.

    python dev/scripts/classroom_screenshots.py [--out docs/img] [--debrief]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from dev.browser import DemoServer, chromium  # noqa: E402

CODE = "TEAM"
ROUNDS, DAYS = 5, 30
KEYS = ("posts_per_day", "promo_share", "quality", "reply_rate", "delete_critics", "ads_per_day")
PLAYERS = {
    "Megaphone": ("6", "0.9", "0.3", "0", "0.5", "500"),
    "Chatty": ("1", "0.33", "0.7", "0.9", "0", "0"),
    "Balanced": ("2", "0.5", "0.7", "0.5", "0", "300"),
    "Quiet Quality": ("0.5", "0", "1", "1", "0", "0"),
    "Ads Only": ("0", "0", "0", "0", "0", "1100"),
}
BEFORE_ROUND = {  # round -> (teacher's rules, students' changes)
    3: ({"ranking": "chronological"}, {}),
    4: ({"ranking": "engagement", "attention_scale": "0.5"}, {}),
    5: ({}, {"Megaphone": ("2", "0.9", "0.3", "0.5", "0", "500")}),
}
TIMEOUT = 120_000


class GameServer(DemoServer):
    def __init__(self, log: Path):
        super().__init__(timeout=90)
        self.command = [sys.executable, "run.py", "classroom", "--port", str(self.port), "--host", "127.0.0.1",
                        "--rounds", str(ROUNDS), "--days-per-round", str(DAYS), "--log", str(log), "--code", CODE]

    def teacher_path(self) -> str:
        for _ in range(150):
            match = re.search(r"Projector:\s+\S+?(/teacher/\S+)", self.output())
            if match:
                return match.group(1)
            time.sleep(0.2)
        raise RuntimeError(self.output())


def choose(page, lever: str, option: str) -> None:
    page.locator(f".lever-{lever} .v-input__slot").click()
    page.get_by_role("option", name=option, exact=True).click()
    page.locator(".v-menu__content.menuable__content__active").wait_for(state="hidden")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO_ROOT / "docs" / "img"))
    parser.add_argument("--debrief", action="store_true", help="also a screenshot of the debrief page")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = Path(tempfile.mkdtemp(prefix="classroom-")) / "game.jsonl"
    with GameServer(log) as server, chromium() as browser:
        base = server.url.rstrip("/")
        teacher = browser.new_context(viewport={"width": 1280, "height": 1100}).new_page()
        teacher.goto(base + server.teacher_path())
        teacher.get_by_text(CODE, exact=True).wait_for(timeout=TIMEOUT)
        students = {}
        for name, values in PLAYERS.items():
            page = browser.new_context(viewport={"width": 860, "height": 1200}).new_page()
            page.goto(base + "/")
            page.locator(".join-code input").fill(CODE)
            page.locator(".join-name input").fill(name)
            page.locator(".join-button").click()
            page.locator(".strategy-form").wait_for(timeout=TIMEOUT)
            students[name] = page
        for r in range(1, ROUNDS + 1):
            rules, changes = BEFORE_ROUND.get(r, ({}, {}))
            for lever, option in rules.items():
                choose(teacher, lever, option)
            for name, page in students.items():
                values = changes.get(name, PLAYERS[name] if r == 1 else None)
                if values:
                    for key, text in zip(KEYS, values):
                        page.locator(f".field-{key} input").fill(text)
                page.locator(".ready-button").click()
            if r == 1:  # round 1 is the teacher's call; later rounds start when everyone is ready
                teacher.get_by_text("5 ready").wait_for(timeout=TIMEOUT)
                teacher.locator(".run-button").click()
            teacher.get_by_text(f"Leaderboard, round {r}").wait_for(timeout=TIMEOUT)
            print(f"round {r} done", flush=True)
        time.sleep(2)
        teacher.screenshot(path=str(out / "classroom_teacher.png"), full_page=True)
        student = students["Chatty"]
        student.get_by_text("The game is over").wait_for(timeout=TIMEOUT)
        student.screenshot(path=str(out / "classroom_student.png"), full_page=True)
        teacher.locator(".debrief-link").click()
        teacher.locator(".debrief-figure").wait_for(timeout=TIMEOUT)
        time.sleep(1)
        if args.debrief:
            teacher.screenshot(path=str(out / "classroom_debrief.png"), full_page=True)
    from sim.classroom.replay import replay

    result = replay(log)
    table = result.table()
    columns = ["round", "firm", "platform_ranking", "platform_attention_scale", "reach", "followers", "gained",
               "lost", "lost_fatigue", "lost_annoyed", "lost_deleted", "trust", "spend", "reach_per_spend"]
    print(table[columns].to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print(f"log: {log}; replay matches: {result.matches}")
    return 0 if result.matches else 1


if __name__ == "__main__":
    sys.exit(main())
