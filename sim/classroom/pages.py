"""The game's Solara pages: a student's firm, the teacher's projector, the debrief.

Every page reads the shared `Classroom` and redraws when its ``version``
(or, during a round, the day) changes: a hidden `Ticker` in each page asks
once a second, so one page's action reaches all the others.
Students see their own firm only: its controls, its results, its
followers on the map; the projector shows the whole market.
"""

from __future__ import annotations

import ipyvue
import traitlets

import solara

from sim.classroom import results, views
from sim.classroom.session import Classroom, GameError

POLL_SECONDS = 1.0
QUESTIONS = (
    "Which strategies reached the most people per unit of budget, and which gathered the most followers? "
    "Are they the same firms? Why could the two differ?",
    "When the platform's rules changed, whose reach went up and whose went down? "
    "What does that say about who decides which firm wins: the firms or the platform?",
    "Firms that lost followers: did they lose them to fatigue, to annoying items or to deleted comments? "
    "What would you change in your strategy, and what would a real page's readers do?",
)
CSS = """
.game { max-width: 1200px; margin: 0 auto; font-size: 15px; }
.game h2 { margin: 6px 0; }
.game-table { border-collapse: collapse; margin: 6px 0; }
.game-table th, .game-table td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: right; }
.game-table th:first-child, .game-table td.firm { text-align: left; }
.chip { display: inline-flex; align-items: center; margin-right: 10px; white-space: nowrap; }
.swatch { display: inline-block; width: 12px; height: 12px; margin-right: 4px; border-radius: 2px; }
.big-code { font-size: 44px; font-weight: bold; letter-spacing: 6px; }
.status { font-size: 17px; margin: 6px 0; }
.refusal { color: #b00020; }
.causes { margin: 2px 0 8px 0; }
.questions li { margin-bottom: 6px; }
"""


class Ticker(ipyvue.VueTemplate):
    """An invisible widget whose browser side counts up once a second; each count reaches Python.

    The count arrives like a click, in the session's own thread, so a redraw
    it triggers reaches this browser (a server-side poll thread's redraws
    did not reliably reach pages opened by a navigation). A closed tab stops
    counting with it.
    """

    count = traitlets.Int(0).tag(sync=True)
    interval_ms = traitlets.Int(1000).tag(sync=True)
    template = traitlets.Unicode("""
<template><span style="display: none"></span></template>
<script>
module.exports = {
  mounted() { this.timer = setInterval(() => { this.count = this.count + 1; }, this.interval_ms); },
  destroyed() { clearInterval(this.timer); },
  unmounted() { clearInterval(this.timer); },
};
</script>""").tag(sync=True)


def use_version(classroom: Classroom, state=None) -> int:
    """Redraw this page when what it shows of the game changes; returns a number that changes with it.

    ``state``: a function giving what the page shows (default: the game's
    version and day). Students' pages watch only the phase, the round and
    their own ready flag, so 40 pages are not all redrawn each time one
    student presses ready. Pass the number to child components, which are
    redrawn only when one of their arguments changes.
    """
    state = state or (lambda: (classroom.version, classroom.day()))
    _, set_tick = solara.use_state(0)
    seen = solara.use_ref(state())

    def check(_count):
        now = state()
        if now != seen.current:
            seen.current = now
            set_tick(lambda t: t + 1)

    Ticker.element(interval_ms=int(POLL_SECONDS * 1000), on_count=check)
    return hash(seen.current)


def use_session_id() -> str | None:
    """This browser's Solara session id (a cookie), read once: later renders may run in the poll thread."""

    def read():
        try:
            return solara.get_session_id()
        except RuntimeError:  # rendered outside a server (tests)
            return None

    return solara.use_memo(read, [])


def student_status(classroom: Classroom) -> str:
    """The game's state as a student sees it (no counts of others, which would redraw 40 pages a click)."""
    if classroom.phase == "lobby":
        return f"Waiting for round 1 of {classroom.rounds}: the teacher starts it when the class has joined."
    if classroom.phase == "between":
        return (f"Round {classroom.round} of {classroom.rounds} done. Set your strategy for round "
                f"{classroom.round + 1} and press Save and ready.")  # fmt: skip
    return status_line(classroom)


def status_line(classroom: Classroom) -> str:
    n = len(classroom.players)
    if classroom.phase == "lobby":
        return f"Waiting for round 1 of {classroom.rounds}: {n} firms joined, {classroom.ready_count()} ready."
    if classroom.phase == "running":
        first = (classroom.running_round - 1) * classroom.days
        return (f"Round {classroom.running_round} of {classroom.rounds} is running: "
                f"day {max(0, classroom.day() - first)} of {classroom.days}.")  # fmt: skip
    if classroom.phase == "between":
        return (f"Round {classroom.round} of {classroom.rounds} done. Next: round {classroom.round + 1}; "
                f"{classroom.ready_count()} of {n} ready.")  # fmt: skip
    return f"The game is over: {classroom.rounds} rounds played."


# --------------------------------------------------------------------------
# Students
# --------------------------------------------------------------------------


@solara.component
def StudentPage(classroom: Classroom, token: str | None):
    def shown_state():
        player = classroom.player(token)
        running_day = classroom.day() if classroom.phase == "running" else 0
        return (classroom.phase, classroom.round, running_day, player.ready if player else None)

    version = use_version(classroom, shown_state)
    router = solara.use_router()
    session = use_session_id()
    returning = classroom.player_of_session(session) if token is None else None

    def take_back():
        if returning is not None:  # this browser joined before: give the firm back
            router.push(f"/play/{returning.token}")

    solara.use_effect(take_back, [returning.token if returning else None])
    with solara.Column(classes=["game", "student-page"]):
        if token is None:
            if returning is not None:
                solara.Text("Taking you back to your firm ...")
                return
            JoinForm(classroom, on_joined=lambda p: router.push(f"/play/{p.token}"), version=version)
            return
        player = classroom.rejoin(token, session)
        if player is None:
            solara.HTML(unsafe_innerHTML='This address is not a player of this game. <a href="/">Join the game</a> '
                        "with the code on the projector.")  # fmt: skip
            return
        PlayerView(classroom, player, version)


@solara.component
def JoinForm(classroom: Classroom, on_joined, version: int = 0):
    code, set_code = solara.use_state("")
    name, set_name = solara.use_state("")
    template, set_template = solara.use_state(next(iter(classroom.templates)))
    errors, set_errors = solara.use_state({})
    session = use_session_id()
    solara.HTML(tag="h2", unsafe_innerHTML="Join the attention market")
    if classroom.phase != "lobby":
        solara.HTML(unsafe_innerHTML="<b>The game has started</b>: its firms were fixed when round 1 began, so no "
                    "firm can join now. Wait for the next game, and watch the projector meanwhile.",
                    classes=["lobby-closed"])  # fmt: skip
        return

    def join():
        try:
            player = classroom.join(code, name, template, session_id=session)
        except GameError as err:
            set_errors({err.field: str(err)})
            return
        on_joined(player)

    solara.Text("Enter the code shown on the projector and a name for your firm. You will run that firm "
                    "for the whole game; keep this page's address to come back to it.")  # fmt: skip
    solara.InputText("Join code", value=code, on_value=set_code, continuous_update=True,
                     error=errors.get("code", False), classes=["join-code"])  # fmt: skip
    solara.InputText("Firm name (letters, digits, spaces, - and _; up to 20)", value=name, on_value=set_name,
                     continuous_update=True, error=errors.get("name", False), classes=["join-name"])  # fmt: skip
    solara.Select("Start with the strategy of", values=list(classroom.templates), value=template,
                  on_value=set_template)  # fmt: skip
    solara.Button("Join", on_click=join, color="primary", classes=["join-button"])
    if errors.get(""):
        solara.Text(errors[""], classes=["refusal"])


@solara.component
def PlayerView(classroom: Classroom, player, version: int = 0):
    fields = classroom.fields
    texts, set_texts = solara.use_state({f.key: _text(player.strategy[f.key], f) for f in fields})
    errors, set_errors = solara.use_state({})
    saved, set_saved = solara.use_state(False)
    colour = classroom.colours()[player.firm]
    played = classroom.round
    locked = classroom.phase in ("running", "finished")
    images = solara.use_memo(lambda: _own_images(classroom, player.index, colour) if played else None,
                             [played, player.index])  # fmt: skip

    solara.HTML(tag="h2", unsafe_innerHTML=views.chip(colour, player.name), classes=["firm-title"])
    solara.Text(student_status(classroom), classes=["status"])

    def edit(key, value):
        set_texts(lambda t: {**t, key: value})
        set_saved(False)

    def submit():
        problems = classroom.submit(player.token, texts)
        set_errors(problems)
        set_saved(not problems)

    title = "Your last strategy" if classroom.phase == "finished" else "Your strategy for the next round"
    with solara.Card(title, classes=["strategy-form"]):
        solara.Text(f"Your budget: {classroom.budget:g} a day. Posts are paid first, then ads, then replies; "
                    "what the budget cannot pay is not done.")  # fmt: skip
        for field in fields:
            solara.InputText(f"{field.label} ({field.describe()})", value=texts[field.key],
                             on_value=lambda v, k=field.key: edit(k, v), continuous_update=True,
                             error=errors.get(field.key, False), message=field.help, disabled=locked,
                             classes=[f"field-{field.key}"])  # fmt: skip
        solara.Text(cost_line(classroom, texts), classes=["cost-line"])
        solara.Button("Save and ready", on_click=submit, color="primary", disabled=locked, classes=["ready-button"])
        if errors.get(""):
            solara.Text(errors[""], classes=["refusal"])
        if player.ready:
            when = ("the teacher starts round 1 when the class has joined" if classroom.phase == "lobby"
                    else "the round starts when everyone is, or when the teacher starts it")  # fmt: skip
            solara.Text(f"Saved. You are ready; {when}.", classes=["ready-note"])
        elif saved is False and played and not locked:
            solara.Text("Not ready yet: press Save and ready (or the teacher starts the round without you).")

    if played:
        last = classroom.history[-1]
        solara.HTML(unsafe_innerHTML=views.own_results_html(last["results"][player.firm], last["round"]))
        with solara.Row():
            with solara.Column():
                solara.HTML(unsafe_innerHTML="Users reached each day: " + views.chip(colour, "your firm")
                            + views.chip("#999999", "the class median") + "(lines: rounds)")  # fmt: skip
                solara.Image(images[0], classes=["own-reach"])
            with solara.Column():
                solara.Text("Your followers on the map (each square a user)")
                solara.Image(images[1], classes=["own-map"])
        solara.Text("Your rounds")
        solara.HTML(unsafe_innerHTML=views.own_history_html(classroom.history, player.firm))


def _text(value, field) -> str:
    return str(int(value)) if field.integer else f"{float(value):g}"


def _own_images(classroom: Classroom, index: int, colour: str) -> tuple[bytes, bytes]:
    view = classroom.view  # the market as the last round left it, even while the next one runs
    return (classroom.reach_plots.png(view, index, colour),
            results.market_map_png(view, classroom.colours(), only=index))  # fmt: skip


def cost_line(classroom: Classroom, texts: dict) -> str:
    """What the typed plan costs a day, before replies."""
    from sim.classroom.forms import parse_number

    values = {f.key: parse_number(texts.get(f.key), f)[0] for f in classroom.fields}
    if values.get("posts_per_day") is None or values.get("ads_per_day") is None:
        return ""
    p = classroom.scenario
    planned = values["posts_per_day"] * p.cost_post + values["ads_per_day"] * p.cost_ad
    left = classroom.budget - planned
    tail = (f"{left:.2f} is left for replies ({p.cost_reply:g} each)" if left >= 0
            else "over budget: on most days some of it will not be paid")  # fmt: skip
    posts, ads = values["posts_per_day"] * p.cost_post, values["ads_per_day"] * p.cost_ad
    return f"Planned a day: posts {posts:.2f} + ads {ads:.2f} = {planned:.2f} of {classroom.budget:g}; {tail}."


# --------------------------------------------------------------------------
# The teacher
# --------------------------------------------------------------------------


@solara.component
def KeyRefused():
    solara.Text("This page needs the teacher's address, printed in the terminal that started the game.")


@solara.component
def TeacherPage(classroom: Classroom, key: str):
    version = use_version(classroom)
    router = solara.use_router()
    score, set_score = solara.use_state("reach")
    message, set_message = solara.use_state("")
    played = classroom.round
    images = solara.use_memo(lambda: _teacher_images(classroom) if played else None, [played])
    if key != classroom.teacher_key:
        KeyRefused()
        return
    colours = classroom.colours(display=True)
    names = classroom.names
    with solara.Column(classes=["game", "teacher-page"]):
        with solara.Row(style={"align-items": "center", "gap": "30px"}):
            with solara.Column():
                solara.Text(f"Join at {classroom.address or 'this address'} with the code")
                solara.Text(classroom.code, classes=["big-code"])
            with solara.Column():
                solara.Text(status_line(classroom), classes=["status"])
                players = " ".join(("✓ " if p.ready else "… ") + views.chip(colours[p.name], p.name)
                                   for p in classroom.players)  # fmt: skip
                solara.HTML(unsafe_innerHTML=players or "Nobody has joined yet.", classes=["players"])
        with solara.Row(style={"align-items": "center", "gap": "20px"}):
            for lever in classroom.levers:
                LeverControl(classroom, lever, set_message, version)

            def run():
                set_message(classroom.run_round("teacher") or "")

            label = "Game over" if classroom.phase == "finished" else f"Run round {min(played + 1, classroom.rounds)}"
            solara.Button(label, on_click=run, color="primary",
                          disabled=classroom.phase in ("running", "finished") or not classroom.players,
                          classes=["run-button"])  # fmt: skip
            solara.Button("Debrief", on_click=lambda: router.push(f"/debrief/{key}"), classes=["debrief-link"])
        if message or classroom.last_error:
            solara.Text(message or classroom.last_error, classes=["refusal"])
        if not played:
            solara.Text("Round 1 starts when you press Run round 1; the firms are fixed then: students who arrive later wait "
                            "for the next game.")  # fmt: skip
            return
        last = classroom.history[-1]
        with solara.Row(style={"gap": "24px", "flex-wrap": "wrap"}):
            with solara.Column():
                solara.Text(f"The market after round {played} (day {last['last_day']}): each square a user, "
                            "coloured by the firm they follow (the most trusted of several)")  # fmt: skip
                solara.Image(images[0], width="420px", classes=["market-map"])
                legend = " ".join(views.chip(colours[p.name], p.name) for p in classroom.players)
                solara.HTML(unsafe_innerHTML=legend + " " + views.chip("#d9d9d9", "follows none"))
            with solara.Column():
                solara.Text(f"Leaderboard, round {played} (platform: {_levers_text(classroom, last['levers'])})")
                ScoreChoice(score, set_score, "score-choice")
                board = results.leaderboard(last["results"], names, score)
                change, previous = {}, None
                if played > 1:
                    previous = played - 1
                    before = classroom.history[-2]["results"]
                    change = {names.get(f, f): _delta(last["results"][f].get(score), before.get(f, {}).get(score))
                              for f in last["results"]}  # fmt: skip
                solara.HTML(unsafe_innerHTML=views.leaderboard_html(board, score, change, colours, previous))
        solara.Text("How each firm's strategy moved, round by round")
        solara.Image(images[1], classes=["strategy-moves"])


@solara.component
def ScoreChoice(value: str, on_value, css_class: str):
    """Buttons to pick a score, labelled as the leaderboard's columns."""
    labels = {label: key for key, label in results.SCORES.items()}
    solara.ToggleButtonsSingle(value=results.SCORES[value], values=list(labels), on_value=lambda v: on_value(labels[v]),
                               classes=[css_class])  # fmt: skip


def _delta(now, before):
    if now is None or before is None:
        return None
    return now - before


def _levers_text(classroom: Classroom, values: dict) -> str:
    return ", ".join(f"{lever.label.split(':')[0].lower()} {values.get(lever.key)}" for lever in classroom.levers)


def _teacher_images(classroom: Classroom) -> tuple[bytes, bytes]:
    return (results.market_map_png(classroom.view, classroom.colours()),
            results.strategy_moves_png(classroom.debrief(), classroom.colours(display=True)))  # fmt: skip


@solara.component
def LeverControl(classroom: Classroom, lever, set_message, version: int = 0):
    error, set_error = solara.use_state("")
    value = classroom.lever_values[lever.key]
    locked = classroom.phase in ("running", "finished")

    def change(raw):
        problem = classroom.set_lever(lever.key, raw)
        set_error(problem or "")
        set_message("" if not problem else f"{lever.label}: {problem}")

    if lever.choices:
        solara.Select(lever.label, values=[str(c) for c in lever.choices], value=str(value), on_value=change,
                      disabled=locked, classes=[f"lever-{lever.key}"], style={"min-width": "260px"})  # fmt: skip
    else:
        solara.InputText(f"{lever.label} ({lever.low:g} to {lever.high:g})", value=str(value), on_value=change,
                         error=error or False, disabled=locked, classes=[f"lever-{lever.key}"])  # fmt: skip


# --------------------------------------------------------------------------
# The debrief
# --------------------------------------------------------------------------


@solara.component
def DebriefPage(classroom: Classroom, key: str):
    use_version(classroom)
    router = solara.use_router()
    outcome, set_outcome = solara.use_state("reach")
    played = classroom.round
    table = solara.use_memo(lambda: classroom.debrief() if played else None, [played])
    png = solara.use_memo(lambda: _debrief_png(classroom, table, outcome) if played else None, [played, outcome])
    if key != classroom.teacher_key:
        KeyRefused()
        return
    with solara.Column(classes=["game", "debrief-page"]):
        solara.HTML(tag="h2", unsafe_innerHTML=f"Debrief: {played} of {classroom.rounds} rounds")
        solara.Button("Back to the market", on_click=lambda: router.push(f"/teacher/{key}"), text=True)
        if not played:
            solara.Text("No round played yet.")
            return
        ScoreChoice(outcome, set_outcome, "outcome-choice")
        solara.Image(png, classes=["debrief-figure"])
        with solara.Row():
            solara.FileDownload(png, filename=f"debrief_{outcome}.png", label="Download the figure (PNG)",
                                mime_type="image/png")  # fmt: skip
            solara.FileDownload(lambda: table.to_csv(index=False), filename="debrief.csv",
                                label="Download the table (CSV)", mime_type="text/csv")  # fmt: skip
        solara.HTML(tag="h3", unsafe_innerHTML="Questions for discussion")
        solara.HTML(tag="ol", unsafe_innerHTML="".join(f"<li>{q}</li>" for q in QUESTIONS), classes=["questions"])
        solara.HTML(unsafe_innerHTML=views.debrief_html(table))


def _debrief_png(classroom: Classroom, table, outcome: str) -> bytes:
    return results.debrief_png(table, classroom.colours(display=True), outcome)
