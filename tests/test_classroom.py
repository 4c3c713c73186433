"""The classroom game without a browser: forms, the model adapter, the session's rules, the log and its replay."""

from __future__ import annotations

import json
import socket

import numpy as np
import pandas as pd
import pytest

from sim.classroom import adapter, forms, gamelog, levers, results
from sim.classroom.cli import classroom_main
from sim.classroom.replay import replay
from sim.classroom.session import MAX_PLAYERS, Classroom, GameError, home_cells
from sim.model.market import MarketModel
from sim.scenario import PRESETS, ScenarioError, load_scenario
from sim.scenario import schema

GAME = load_scenario("scenarios/classroom_game.yaml")
FIELDS = forms.strategy_fields(11.0, 0.01)
TEXTS = {"posts_per_day": "2", "promo_share": "0.5", "quality": "0.8", "reply_rate": "0.5", "delete_critics": "0",
         "ads_per_day": "100"}  # fmt: skip


def spec(name, home, preset="dialogue", **params):
    """A full firm specification with the game's budget."""
    return {"name": name, "home": home, **PRESETS[preset], "budget": 11.0, **params}


# --------------------------------------------------------------------------
# Forms: every input gets a value or one message
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected, message",
    [
        ("3", 3.0, None), (" 2.5 ", 2.5, None), ("2,5", 2.5, None), ("0", 0.0, None),
        ("abc", None, "not a number"), ("", None, "enter a number"), (None, None, "enter a number"),
        ("1e308", None, "must be from 0 to 20"), ("-1", None, "must be from 0 to 20"), ("nan", None, "not a finite"),
        ("inf", None, "not a finite"), ("9" * 400, None, "too long"), ("<b>3</b>", None, "not a number"),
    ],
)  # fmt: skip
def test_a_number_field_takes_numbers_in_range_only(text, expected, message):
    posts = FIELDS[0]
    value, problem = forms.parse_number(text, posts)
    assert value == expected
    assert (problem is None) if message is None else (message in problem)


def test_shares_take_percent_and_ads_whole_numbers_up_to_the_budget():
    share = next(f for f in FIELDS if f.key == "promo_share")
    ads = next(f for f in FIELDS if f.key == "ads_per_day")
    assert forms.parse_number("50%", share) == (0.5, None)
    assert forms.parse_number("150%", share)[1] == "must be from 0 to 1"
    assert forms.parse_number("1100", ads) == (1100, None) and isinstance(forms.parse_number("3.0", ads)[0], int)
    assert "whole number" in forms.parse_number("2.5", ads)[1]
    assert forms.parse_number("1101", ads)[1] == "must be from 0 to 1,100 (a whole number)"


@pytest.mark.parametrize(
    "name, message",
    [("", "enter a name"), ("x" * 5000, "at most 20 characters (got 5,000)"), ("<b>Shop</b>", "use letters"),
     ("Shop&Co", "use letters"), ("9lives", "starting with a letter"), ("a\nb", "use letters")],
)  # fmt: skip
def test_bad_firm_names_are_refused(name, message):
    shown, problem = forms.check_name(name)
    assert shown is None and message in problem


def test_a_good_name_becomes_a_model_identifier():
    assert forms.check_name("  Corner Shop-2 ") == ("Corner Shop-2", None)
    assert forms.model_name("Corner Shop-2") == "Corner_Shop_2"


# --------------------------------------------------------------------------
# The adapter: changes between rounds act as if the model had been built with them
# --------------------------------------------------------------------------


def test_a_strategy_and_rule_applied_before_day_one_equal_a_model_built_with_them():
    """Everything `apply_strategy`/`apply_platform` must rebuild (quality's appeal, ranking) is rebuilt."""
    before = [spec("a", [10, 10]), spec("b", [35, 35], "broadcast", ads_per_day=500)]
    after = {"posts_per_day": 3.0, "promo_share": 0.6, "quality": 1.0, "ads_per_day": 300, "reply_rate": 0.2,
             "delete_critics": 0.7}  # fmt: skip
    changed = adapter.build_market(GAME, before, seed=3, steps=20)
    adapter.apply_strategy(changed, "a", after)
    adapter.apply_platform(changed, {"ranking": "chronological"})
    built = MarketModel.from_scenario(GAME, seed=3, firms=[{**before[0], **after}, before[1]], steps=20,
                                      ranking="chronological")  # fmt: skip
    for _ in range(20):
        changed.step()
        built.step()
    pd.testing.assert_frame_equal(changed.firm_table(), built.firm_table())
    assert changed.p.firms[0].quality == 1.0 and changed.p.ranking == "chronological"


def test_without_the_rebuild_a_quality_change_would_be_lost():
    model = adapter.build_market(GAME, [spec("a", [10, 10])], seed=1, steps=5)
    before = model._appeal.copy()
    adapter.apply_strategy(model, "a", {"quality": 0.1})
    assert model._appeal[0, 1] == pytest.approx(GAME.appeal_value * 0.1) != before[0, 1]


def test_the_observer_changes_no_number_and_explains_every_unfollow():
    firms = [spec("a", [10, 10], "broadcast", ads_per_day=500), spec("b", [35, 35], delete_critics=0.5)]
    observed = adapter.build_market(GAME, firms, seed=5, steps=40)
    plain = MarketModel.from_scenario(GAME, seed=5, firms=firms, steps=40)
    for _ in range(40):
        observed.step()
        plain.step()
    pd.testing.assert_frame_equal(observed.firm_table(), plain.firm_table())
    unfollows = observed.firm_table().groupby("firm", sort=False)["unfollows"].sum().to_numpy()
    assert (observed.unfollow_causes.sum(axis=(0, 2)) == unfollows).all() and unfollows.sum() > 0
    assert observed.unfollow_causes[:, 0, 0].sum() > 0  # six posts a day tire followers out


def test_rules_drawn_at_set_up_are_refused_and_values_are_checked():
    model = adapter.build_market(GAME, [spec("a", [10, 10])], seed=1, steps=5)
    with pytest.raises(ScenarioError, match="pages_followed is drawn when the world is built"):
        adapter.apply_platform(model, {"pages_followed": 10.0})
    with pytest.raises(ScenarioError, match="ranking"):
        adapter.apply_platform(model, {"ranking": "random"})
    with pytest.raises(ScenarioError, match="unknown field"):
        adapter.apply_strategy(model, "a", {"charisma": 1})
    with pytest.raises(ScenarioError, match="posts_per_day"):
        adapter.apply_strategy(model, "a", {"posts_per_day": -1.0})


def test_attention_scales_the_budgets_drawn_at_build_time():
    model = adapter.build_market(GAME, [spec("a", [10, 10])], seed=1, steps=5)
    base = model.users.attention.copy()
    adapter.scale_attention(model, 0.5)
    assert (model.users.attention == np.maximum(1, np.rint(base * 0.5))).all()
    assert model._capacity == model.users.attention.sum()
    adapter.scale_attention(model, 1.0)
    assert (model.users.attention == base).all()


def test_forty_firms_build_and_the_schema_limit_comes_back():
    firms = [spec(f"f{k}", list(cell)) for k, cell in enumerate(home_cells(40, 50, 50))]
    model = adapter.build_market(GAME, firms, seed=1, steps=2)
    model.step()
    assert len(model.firms) == 40 and schema.MAX_FIRMS == 10
    assert len(set(home_cells(40, 50, 50))) == 40


def test_levers_come_from_the_schema_so_market_levers_need_only_their_key():
    ranking, attention, diversity, quality = levers.teacher_levers()
    assert ranking.choices == ("engagement", "chronological") and not attention.param
    # the page market's levers: listed by key, range from the schema
    assert (diversity.key, quality.key) == ("source_diversity", "quality_ranking")
    assert diversity.high == 1.0 and diversity.parse("0")[1] is not None and diversity.parse("0.5") == (0.5, None)
    assert (quality.low, quality.high) == (0.0, 10.0)
    cost = levers.param_lever("cost_ad")  # any live parameter works the same way
    assert (cost.low, cost.high) == (0.0, 1e6) and cost.parse("0.02") == (0.02, None)
    assert cost.parse("lots")[1].startswith("not a number") and cost.parse("-1")[1].startswith("must be from")
    with pytest.raises(ScenarioError, match="not a model parameter"):
        levers.param_lever("source_diversity_typo")
    with pytest.raises(ScenarioError, match="cannot change between rounds"):
        levers.param_lever("attention_mean")


# --------------------------------------------------------------------------
# The session
# --------------------------------------------------------------------------


@pytest.fixture
def room(tmp_path):
    return Classroom(GAME, rounds=2, days_per_round=5, code="ACDE", log_path=tmp_path / "game.jsonl")


def test_joining_refuses_wrong_codes_taken_names_and_late_students(room):
    with pytest.raises(GameError, match="wrong code") as err:
        room.join("XXXX", "Shop", "broadcast")
    assert err.value.field == "code"
    a = room.join("acde", "Corner Shop", "broadcast", session_id="s1")
    with pytest.raises(GameError, match="taken"):
        room.join("ACDE", "corner shop", "dialogue")
    with pytest.raises(GameError, match="use letters"):
        room.join("ACDE", "<img src=x>", "dialogue")
    assert room.player_of_session("s1") is a and room.player(a.token) is a and room.player("nope") is None
    assert a.strategy["ads_per_day"] == 500 and a.strategy["posts_per_day"] == 6.0  # the template's strategy
    room.run_round(wait=True)
    with pytest.raises(GameError, match="the game has started"):
        room.join("ACDE", "Latecomer", "dialogue")
    assert len(room.players) == 1


def test_a_class_is_capped(room):
    for k in range(MAX_PLAYERS):
        room.join("ACDE", f"firm{k}", "dialogue")
    with pytest.raises(GameError, match="full"):
        room.join("ACDE", "one_more", "dialogue")


def test_a_bad_strategy_changes_nothing_and_says_why_per_field(room):
    a = room.join("ACDE", "Shop", "broadcast")
    before = dict(a.strategy)
    errors = room.submit(a.token, {**TEXTS, "posts_per_day": "lots", "ads_per_day": "1e99"})
    assert set(errors) == {"posts_per_day", "ads_per_day"} and a.strategy == before and not a.ready


def test_the_teacher_opens_round_1_everyone_ready_starts_the_next_and_a_silent_student_does_not_block(tmp_path):
    room = Classroom(GAME, rounds=3, days_per_round=5, code="ACDE", log_path=tmp_path / "game.jsonl")
    a = room.join("ACDE", "Shop", "broadcast")
    b = room.join("ACDE", "Cafe", "dialogue")
    assert room.submit(a.token, TEXTS) == {} and room.submit(b.token, TEXTS) == {}
    assert room.phase == "lobby"  # all ready, but round 1 (which closes the lobby) is the teacher's call
    assert room.run_round("teacher", wait=True) is None
    assert room.round == 1 and room.phase == "between" and not a.ready and not b.ready
    assert room.submit(a.token, TEXTS) == {} and room.phase == "between"  # b is not ready: nothing starts
    assert room.submit(b.token, TEXTS) == {}
    room.wait()
    assert room.round == 2 and room.history[1]["started_by"] == "all ready"
    assert room.set_lever("ranking", "chronological") is None
    assert room.set_lever("ranking", "<b>") == "must be one of engagement, chronological"
    room.submit(a.token, {**TEXTS, "posts_per_day": "0"})  # b never presses ready again
    assert room.run_round("teacher", wait=True) is None
    assert room.phase == "finished" and room.run_round() == "the game is over"
    assert room.set_lever("ranking", "engagement") == "rules change between rounds only"
    third = room.history[2]
    assert third["levers"]["ranking"] == "chronological" and third["ready"] == ["Shop"]
    assert third["started_by"] == "teacher" and [f["posts_per_day"] for f in third["firms"]] == [0.0, 2.0]
    assert third["results"]["Shop"]["spend"] < room.history[1]["results"]["Shop"]["spend"]


def test_round_results_add_up(room):
    a = room.join("ACDE", "Shop", "broadcast")
    room.run_round(wait=True)
    result = room.history[0]["results"]["Shop"]
    table = room.model.firm_table()
    assert result["reach_total"] == table["reach"].sum() and result["reach"] == table["reach"].mean()
    assert result["lost"] == sum(result[f"lost_{c}"] for c in adapter.UNFOLLOW_CAUSES)
    assert result["reach_per_spend"] == pytest.approx(result["reach_total"] / result["spend"])
    board = results.leaderboard(room.history[0]["results"], room.names, "reach")
    assert board.loc[0, "firm"] == a.name and board.loc[0, "rank"] == 1


# --------------------------------------------------------------------------
# The log and its replay
# --------------------------------------------------------------------------


def play_two_rounds(room):
    a = room.join("ACDE", "Shop", "broadcast")
    b = room.join("ACDE", "Cafe", "dialogue")
    room.run_round(wait=True)
    room.set_lever("ranking", "chronological")
    room.set_lever("attention_scale", "0.5")
    room.submit(a.token, {**TEXTS, "quality": "0.1"})
    room.submit(b.token, {**TEXTS, "reply_rate": "1"})
    room.wait()
    assert room.phase == "finished"


def test_a_replay_of_the_log_gives_the_same_numbers(room):
    play_two_rounds(room)
    again = replay(room.log.path)
    assert again.matches and again.names == {"Shop": "Shop", "Cafe": "Cafe"}
    pd.testing.assert_frame_equal(again.table(), room.debrief())
    records = gamelog.read_log(room.log.path)
    assert [r["event"] for r in records] == ["session", "join", "join", "round", "round"]
    assert records[0]["seed"] == GAME.seed and "git_revision" in records[0]["provenance"]
    assert not any(p.token in room.log.path.read_text() for p in room.players)  # tokens are never logged


def test_a_replay_notices_a_changed_number(room, capsys):
    play_two_rounds(room)
    lines = room.log.path.read_text().splitlines()
    last = json.loads(lines[-1])
    last["results"]["Cafe"]["reach"] += 1.0
    room.log.path.write_text("\n".join([*lines[:-1], json.dumps(last)]) + "\n")
    assert not replay(room.log.path).matches
    assert classroom_main(["--replay", str(room.log.path)]) == 1
    assert "round 2, Cafe, reach: logged" in capsys.readouterr().err


def test_a_line_cut_short_by_a_crash_is_ignored(room):
    play_two_rounds(room)
    with open(room.log.path, "a") as log:
        log.write('{"event": "round", "rou')
    assert replay(room.log.path).matches and len(replay(room.log.path).replayed) == 2


@pytest.mark.parametrize(
    "content, message",
    [(None, "file not found"), ("not json\n", "line 1: not JSON"), ('{"event": "join"}\n', "not a classroom game log"),
     ('{"event": "session", "version": 99}\n', "log version 99")],
)  # fmt: skip
def test_bad_logs_are_one_line_and_status_2(tmp_path, capsys, content, message):
    path = tmp_path / "bad.jsonl"
    if content is not None:
        path.write_text(content)
    assert classroom_main(["--replay", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "argv, message",
    [(["missing.yaml"], "missing.yaml: file not found"), (["--rounds", "0"], "--rounds: must be from 1 to 100"),
     (["--days-per-round", "1000"], "--days-per-round: must be from 1 to 365"), (["--port", "0"], "--port"),
     (["--code", "<b>"], "--code: 4 to 8"), (["--csv", "x.csv"], "--csv: only with --replay"),
     (["scenarios/big_market.yaml"], "the game draws worlds of up to")],
)  # fmt: skip
def test_bad_command_lines_are_one_line_and_status_2(argv, message, capsys, tmp_path):
    assert classroom_main([*argv, "--log", str(tmp_path / "g.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1, err


def test_a_busy_port_is_refused_before_the_log_is_made(capsys, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert classroom_main(["--port", str(port), "--host", "127.0.0.1", "--log", str(tmp_path / "g.jsonl")]) == 2
    assert "cannot listen on 127.0.0.1" in capsys.readouterr().err and not (tmp_path / "g.jsonl").exists()


# --------------------------------------------------------------------------
# Resuming a stopped game from its log
# --------------------------------------------------------------------------


def test_a_stopped_game_resumes_from_its_log_and_goes_on_the_same(room, tmp_path):
    from sim.classroom.resume import resume

    a = room.join("ACDE", "Shop", "broadcast")
    b = room.join("ACDE", "Cafe", "dialogue")
    room.run_round(wait=True)
    room.set_lever("ranking", "chronological")
    again = resume(room.log.path, code="ACDE")  # the server stopped after round 1
    assert again.round == 1 and again.phase == "between" and [p.name for p in again.players] == ["Shop", "Cafe"]
    assert again.player(a.token).firm == "Shop" and again.player("forged") is None
    assert again.players[0].token is None and again.rejoin(a.token, "s9").token == a.token
    assert again.lever_values["ranking"] == "engagement"  # a rule set after the last round was not logged
    room.log = None  # from here `room` is the same game played without a stop, as a reference
    for game in (room, again):
        game.set_lever("ranking", "chronological")
        game.submit(game.player(b.token).token or b.token, {**TEXTS, "reply_rate": "1"})
        game.run_round(wait=True)
    assert again.history[1]["results"] == room.history[1]["results"]
    records = [json.loads(line)["event"] for line in again.log.path.read_text().splitlines()]
    assert records == ["session", "join", "join", "round", "resume", "round"]
    assert replay(again.log.path).matches


def test_a_lobby_resumes_with_its_players_and_a_bad_log_is_refused(room, capsys):
    from sim.classroom.resume import resume

    a = room.join("ACDE", "Shop", "dialogue")
    again = resume(room.log.path)
    assert again.phase == "lobby" and again.model is None and again.player(a.token).strategy == a.strategy
    room.run_round(wait=True)
    lines = room.log.path.read_text().splitlines()
    record = json.loads(lines[-1])
    record["results"]["Shop"]["followers"] += 1
    room.log.path.write_text("\n".join([*lines[:-1], json.dumps(record)]) + "\n")
    with pytest.raises(ScenarioError, match="does not replay to the same numbers"):
        resume(room.log.path)
    assert classroom_main(["--resume", str(room.log.path), "--port", "1", "--seed", "3"]) == 2
    assert "--resume: the scenario, seed and log come from the log" in capsys.readouterr().err


def test_page_fragments_escape_names_and_carry_exact_values():
    from sim.classroom import views

    assert "<b>" not in views.chip("#123456", "<b>x</b>") and "&lt;b&gt;" in views.chip("#123456", "<b>x</b>")
    assert views.cell(0.1 + 0.2, "trust") == '<td class="trust" data-value="0.30000000000000004">0.300</td>'
    assert views.cell(None, "reach_per_spend") == '<td class="reach_per_spend" data-value="">-</td>'
