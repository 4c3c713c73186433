"""The browser demo: its model factory, its pictures, its server, and the page in a real Chromium.

The first part is fast and needs no browser. The second starts the demo the
way a user does (``python run.py viz --port P --host 127.0.0.1``), drives
Debian's headless Chromium with Playwright, and checks what a teacher
relies on: the map and plots are drawn, Step advances the day and the plots,
a moved slider plus Reset rebuilds the model, the console stays clean and no
request leaves this machine (the page works offline). Its screenshot goes
to a temporary folder: tests never write tracked files (the README's
docs/img/viz.png is made by hand with dev/scripts/teaching_screenshots.py). It
skips, saying why, where Chromium or Playwright is missing.
"""

from __future__ import annotations

import copyreg
import gc
import math
import os
import signal
import socket
import warnings

import mesa
import numpy as np
import pytest
import solara

with warnings.catch_warnings():  # Mesa 3.3.1's own ComponentsView trips Solara's hook linter; not ours to fix
    warnings.filterwarnings("ignore", message=".*early return", category=UserWarning)
    from mesa.visualization.solara_viz import _check_model_params

from sim.scenario import PRESETS, ScenarioError, load_scenario
from dev.browser import DemoPage, DemoServer, browser_missing, chromium
from sim.viz.components import FollowMap
from sim.palette import NAMED, mixed_colour
from sim.viz.draw import NOBODY, PlotCanvas, Series, map_colours, map_png, rgb
from sim.viz.components import feed_today_html, page_components, read_share_series
from sim.viz.demo import (
    CLASSROOM, REPO_ROOT, browser_scenario, demo_model_class, demo_scenario, market_line, model_params, release,
    shows_levers,
)
from sim.viz.feed import LEVERS, composition, composition_today, lever_line
from sim.viz.server import configure_solara, local_assets_dir, viz_main

SCENARIO = load_scenario(CLASSROOM)
Market = demo_model_class(SCENARIO)


def firm(model, name):
    return next(f for f in model.firms if f.name == name)


# --------------------------------------------------------------------------
# The model factory: flat controls -> MarketModel
# --------------------------------------------------------------------------


def test_no_controls_give_the_scenario():
    model = Market()
    assert (model.p.width, model.p.height, model.p.pages_followed, model.p.ranking) == (50, 50, 109.0, "engagement")
    for spec in SCENARIO.firms:
        built = firm(model, spec.name)
        for field in ("posts_per_day", "promo_share", "ads_per_day", "reply_rate", "delete_critics", "budget", "quality"):
            assert getattr(built, field) == getattr(spec, field), (spec.name, field)
    assert model.demo_seed == SCENARIO.seed


def test_flat_controls_reach_the_model():
    model = Market(pages_followed=300, attention_mean=10.0, ranking="chronological", broadcast_reply_rate=0.5,
                   broadcast_delete_critics=0.0, dialogue_posts_per_day=2.5, dialogue_ads_per_day=100)
    assert (model.p.pages_followed, model.p.attention_mean, model.p.ranking) == (300, 10.0, "chronological")
    broadcast, dialogue = firm(model, "broadcast"), firm(model, "dialogue")
    assert (broadcast.reply_rate, broadcast.delete_critics, broadcast.posts_per_day) == (0.5, 0.0, 6.0)
    assert (dialogue.posts_per_day, dialogue.ads_per_day, dialogue.reply_rate) == (2.5, 100, 0.9)


def test_another_preset_replaces_the_strategy_but_moved_sliders_win():
    switched = firm(Market(broadcast_preset="dialogue"), "broadcast")
    for field, value in PRESETS["dialogue"].items():
        expected = 11.0 if field == "budget" else value  # the budget stays scaled to the market
        assert getattr(switched, field) == expected, field
    moved = firm(Market(broadcast_preset="dialogue", broadcast_posts_per_day=3.0, broadcast_ads_per_day=500), "broadcast")
    # 3 posts were moved away from the scenario's 6; 500 ads is the scenario's value, so the preset's 0 applies
    assert (moved.posts_per_day, moved.ads_per_day, moved.reply_rate) == (3.0, 0, 0.9)


def test_world_size_and_seed_build_a_new_world():
    small = Market(world_size=30, seed=7)
    assert (small.p.width, small.p.height, small.grid.width, small.grid.height) == (30, 30, 30, 30)
    assert [f.home for f in small.firms] == [(7, 15), (22, 15)]
    again, other = Market(world_size=30, seed=7), Market(world_size=30, seed=8)
    assert np.array_equal(small.users.attention, again.users.attention)
    assert not np.array_equal(small.users.attention, other.users.attention)


def test_explicit_homes_move_with_the_world_size(tmp_path):
    path = tmp_path / "homes.yaml"
    path.write_text("width: 40\nheight: 20\nfirms:\n  - {name: a, preset: broadcast, home: [10, 5]}\n"
                    "  - {name: b, preset: dialogue, home: [39, 19]}\n")
    model = demo_model_class(load_scenario(path))(world_size=80)
    assert (model.p.width, model.p.height) == (80, 40)
    assert [f.home for f in model.firms] == [(20, 10), (78, 38)]


def test_bad_controls_are_scenario_errors():
    with pytest.raises(ScenarioError, match="unknown control 'broadcast_budget'"):
        Market(broadcast_budget=5)
    with pytest.raises(ScenarioError, match="broadcast_preset"):
        Market(broadcast_preset="spam")


def test_every_sidebar_control_is_a_factory_argument():
    params = model_params(SCENARIO)
    _check_model_params(Market.__init__, params)  # what SolaraViz checks before it draws the sidebar
    model = Market(**{name: spec["value"] for name, spec in params.items()})
    assert model.p == Market().p
    assert {"pages_followed", "attention_mean", "ranking", "world_size", "seed"} <= set(params)
    assert params["pages_followed"]["value"] == 109.0 and params["world_size"]["values"] == [30, 50, 80, 100]


def test_every_slider_starts_on_its_grid():
    """Vuetify snaps a slider to its step and reports it: an off-grid start would change the model."""
    scenario = SCENARIO.model_copy(update={"firms": [f.model_copy(update={"promo_share": 0.333}) for f in SCENARIO.firms]})
    for spec in model_params(scenario).values():
        if spec["type"].startswith("Slider"):
            ratio = (spec["value"] - spec["min"]) / spec["step"]
            assert math.isclose(ratio, round(ratio), abs_tol=1e-6), spec


def test_default_scenario_comes_from_the_environment(monkeypatch, tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text("name: tiny\nwidth: 20\nheight: 20\n")
    monkeypatch.setenv("ATTENTION_MARKET_SCENARIO", str(path))
    assert demo_scenario().name == "tiny"
    monkeypatch.delenv("ATTENTION_MARKET_SCENARIO")
    assert demo_scenario().name == "classroom"


# --------------------------------------------------------------------------
# The market view: a market scenario, its feed's composition and levers
# --------------------------------------------------------------------------

MARKET_YAML = """\
name: market_small
description: a small page market for the browser test
width: {width}
height: {width}
steps: 60
market: {{pages: {pages}}}
firms:
  - {{name: broadcast, preset: broadcast, ads_per_day: {ads}}}
  - {{name: dialogue, preset: dialogue}}
"""


def market_scenario(tmp_path, width=30, pages=100, ads=180):
    path = tmp_path / f"market_{width}.yaml"
    path.write_text(MARKET_YAML.format(width=width, pages=pages, ads=ads))
    return load_scenario(path)


@pytest.fixture(scope="module")
def small_market(tmp_path_factory):
    return demo_model_class(market_scenario(tmp_path_factory.mktemp("market")))


def test_a_large_market_starts_shrunk_with_pages_and_ads_per_user_kept(tmp_path):
    scenario = market_scenario(tmp_path, width=100, pages=2000, ads=2000)
    shrunk = browser_scenario(scenario)
    assert (shrunk.width, shrunk.height, shrunk.market.pages) == (50, 50, 500)
    assert [(f.ads_per_day, f.budget) for f in shrunk.firms] == [(500, 26.0), (0, 26.0)]  # budgets are caps: kept
    assert (shrunk.name, shrunk.seed) == (scenario.name, scenario.seed)
    model = demo_model_class(scenario)()
    assert (model.p.width, model.p.market.pages, firm(model, "broadcast").ads_per_day) == (50, 500, 500)
    assert "scenario has 2,000 pages for 100 x 100 users" in market_line(model)
    assert "starts this market at 50 x 50" in market_line(model)
    assert model_params(scenario)["world_size"]["values"] == [30, 50, 80, 100]
    # small markets and part-1 worlds run as given
    assert browser_scenario(SCENARIO) is SCENARIO
    small = market_scenario(tmp_path)
    assert browser_scenario(small) is small


def test_world_size_scales_a_markets_pages_with_its_users(small_market):
    assert small_market().p.market.pages == 100
    assert small_market(world_size=60).p.market.pages == 400
    assert small_market(world_size=50).p.market.pages == round(100 * 2500 / 900)
    assert Market(world_size=80).p.market.pages == 0  # part 1 stays part 1


def test_a_firm_with_ads_per_user_keeps_them_until_its_slider_moves(tmp_path):
    path = tmp_path / "per_user.yaml"
    path.write_text(MARKET_YAML.format(width=30, pages=100, ads=180).replace("ads_per_day: 180", "ads_share: 0.2"))
    Shared = demo_model_class(load_scenario(path))
    params = model_params(Shared.scenario)
    assert params["broadcast_ads_per_day"]["value"] == 180  # 0.2 ads per user x 900 users
    assert firm(Shared(**{name: spec["value"] for name, spec in params.items()}), "broadcast").ads_per_day == 180
    assert firm(Shared(world_size=60), "broadcast").ads_per_day == 720  # per user: scales with the world
    assert firm(Shared(world_size=60, broadcast_ads_per_day=100), "broadcast").ads_per_day == 100
    assert firm(Shared(broadcast_preset="dialogue"), "broadcast").ads_per_day == 0


def test_the_levers_are_sidebar_controls_of_a_market(small_market, tmp_path):
    params = model_params(small_market.scenario)
    levers = [name for name, _, _ in LEVERS]
    assert set(levers) <= set(params)
    _check_model_params(small_market.__init__, params)
    assert small_market(**{name: spec["value"] for name, spec in params.items()}).p == small_market().p
    moved = small_market(source_diversity=0.5, quality_ranking=1.0, complaint_ranking=1.0, weight_promo=0.5,
                         annoy_base=0.05)
    assert [getattr(moved.p, name) for name in levers] == [0.5, 1.0, 1.0, 0.5, 0.05]
    odd = small_market.scenario.model_copy(update={"source_diversity": 0.33, "weight_promo": 0.37, "annoy_base": 0.5})
    for name in levers:  # off-grid and out-of-range starts still sit on their slider's grid
        spec = model_params(odd)[name]
        assert spec["min"] <= spec["value"] <= spec["max"], spec
        assert math.isclose((spec["value"] - spec["min"]) / spec["step"], round((spec["value"] - spec["min"]) / spec["step"]),
                            abs_tol=1e-6), spec
    assert lever_line(moved.p) == ("Feed levers: source diversity 0.5 · quality ranking 1 · complaint ranking 1 · "
                                   "promo weight 0.5 · baseline annoyance 0.05")
    assert "source diversity 1 (off)" in lever_line(small_market().p)
    # part 1: no lever controls unless the scenario sets one (the levers act on firms' items there too)
    assert not set(levers) & set(model_params(SCENARIO)) and not shows_levers(SCENARIO)
    assert shows_levers(SCENARIO.model_copy(update={"weight_promo": 0.5}))
    assert len(page_components(small_market.scenario)) == 8 and len(page_components(SCENARIO)) == 6


def test_feed_composition_adds_up_to_the_platform_and_firm_tables(small_market):
    model = small_market()
    for _ in range(4):
        model.step()
    table, platform, firms = composition(model), model.platform_table(), model.firm_table().groupby("step").sum()
    assert list(table["step"]) == [1, 2, 3, 4]
    assert (table["friends_delivered"] == platform["friend_posts"]).all()
    assert (table["friends_seen"] == platform["friend_posts_seen"]).all()
    assert (table["pages_delivered"] + table["firms_delivered"] == platform["candidates"]).all()
    assert (table["pages_seen"] + table["firms_seen"] == platform["seen_candidates"]).all()
    assert (table["firms_delivered"].to_numpy() == firms["delivered"].to_numpy()).all()
    assert (table["firms_seen"].to_numpy() == firms["impressions"].to_numpy()).all()
    assert (table[["pages_seen", "firms_seen", "friends_seen"]].to_numpy() > 0).all()
    seen = table[["friends_seen", "pages_seen", "firms_seen"]].sum(axis=1)
    offered = table[["friends_delivered", "pages_delivered", "firms_delivered"]].sum(axis=1)
    assert np.allclose(seen / offered, table["shown_share"])
    # today's per-user means (from the users' own counts) are the tables' last day over the users
    today, last = composition_today(model), table.iloc[-1]
    for column, value in today.items():
        expected = last[column] if column == "shown_share" else last[column] / model.n_users
        assert math.isclose(value, expected, rel_tol=1e-12), column


def test_feed_panel_and_read_share_show_todays_numbers(small_market):
    model = small_market()
    assert "day 0: nothing has happened yet" in feed_today_html(model)
    model.step()
    model.step()
    today, page = composition_today(model), feed_today_html(model)
    for key in ("friends", "pages", "firms"):
        assert f"<td>{today[key + '_delivered']:,.2f}</td><td>{today[key + '_seen']:,.2f}</td>" in page, key
    assert f"(shown share {today['shown_share']:.0%})" in page
    series = read_share_series(model)
    assert [len(s.y) for s in series] == [2, 2, 2, 2]
    assert math.isclose(series[0].y[-1], today["friends_seen"] / today["friends_delivered"])
    assert math.isclose(series[3].y[-1], today["shown_share"])


def test_a_lower_promo_weight_leaves_more_of_the_feed_to_friends(small_market):
    """The lever moves what the panel shows: promotional items sink, friends' posts get read instead."""

    def day_three(**levers):
        model = small_market(**levers)
        for _ in range(3):
            model.step()
        today = composition_today(model)
        return today["friends_seen"] / today["friends_delivered"], today["firms_seen"] / today["firms_delivered"]

    (friends_off, firms_off), (friends_on, firms_on) = day_three(), day_three(weight_promo=0.05)
    assert friends_on > friends_off + 0.05 and firms_on < firms_off - 0.05


# --------------------------------------------------------------------------
# Pictures and components
# --------------------------------------------------------------------------


def test_map_colours_follow_the_follow_layers():
    model = Market(world_size=30)
    layers = model.grid._mesa_property_layers
    a, b = layers["follows_broadcast"].data, layers["follows_dialogue"].data
    a[:] = False
    b[:] = False
    a[:10], b[5:15] = True, True  # x 0-4 broadcast only, 5-9 both, 10-14 dialogue only, the rest neither
    colours = map_colours(model, "follows")
    red, blue = NAMED["broadcast"], NAMED["dialogue"]  # the shared palette, keyed by name
    expected = {0: red, 5: mixed_colour([red, blue]), 10: blue, 20: NOBODY}
    for x, colour in expected.items():
        assert (colours[x] == rgb(colour).astype(np.uint8)).all(), x
    assert mixed_colour([red, blue]) not in (red, blue, NOBODY)

    trust = layers["trust_dialogue"].data
    trust[:] = 0.3
    trust[3, 4] = 1.0
    shaded = map_colours(model, "trust", firm=1)
    assert (shaded[3, 4] == rgb(blue).astype(np.uint8)).all()  # full trust: the firm's colour
    assert shaded[0, 0].sum() > shaded[3, 4].sum()  # less trust: paler
    assert map_png(model, "reached today").startswith(b"\x89PNG")


def test_plot_canvas_redraws_its_axes_only_when_they_change():
    canvas = PlotCanvas("users")
    days = np.arange(1, 4)
    first = canvas.png([Series(days, np.array([10.0, 20.0, 30.0]), "#ff0000")], days=100)
    second = canvas.png([Series(days, np.array([10.0, 20.0, 31.0]), "#ff0000")], days=100)
    assert canvas.background_draws == 1 and first.startswith(b"\x89PNG") and first != second
    canvas.png([Series(days, np.array([10.0, 20.0, 400.0]), "#ff0000")], days=100)
    assert canvas.background_draws == 2  # the y axis grew to the next round number


def test_reset_frees_the_old_model_from_mesas_registries():
    first, second = Market(world_size=30), Market(world_size=30, seed=5)
    current = solara.reactive(first)

    @solara.component
    def Host():
        FollowMap(current.value)

    _, context = solara.render(Host(), handle_error=False)
    assert first in mesa.Agent._ids and first.grid.cell_klass in copyreg.dispatch_table
    current.value = second  # what SolaraViz's Reset does
    assert first not in mesa.Agent._ids and first.grid.cell_klass not in copyreg.dispatch_table
    assert second in mesa.Agent._ids
    context.close()  # the browser session ends
    assert second not in mesa.Agent._ids and second.grid.cell_klass not in copyreg.dispatch_table


def test_released_models_leave_no_property_layers_behind():
    from mesa.discrete_space.property_layer import PropertyLayer

    gc.collect()
    before = sum(isinstance(o, PropertyLayer) for o in gc.get_objects())
    for seed in range(5):
        model = Market(world_size=30, seed=seed)
        model.step()
        release(model)
    del model
    gc.collect()
    assert sum(isinstance(o, PropertyLayer) for o in gc.get_objects()) == before


# --------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------


def test_solara_is_told_to_serve_its_front_end_locally(monkeypatch):
    import solara.server.settings as server_settings

    monkeypatch.setattr(os, "environ", dict(os.environ))  # configure_solara writes to it; undo afterwards
    for settings, name in ((solara.settings.assets, "proxy"), (server_settings.assets, "proxy_cache_dir"),
                           (server_settings.telemetry, "mixpanel_enable"), (server_settings.kernel, "cull_timeout"),
                           (solara.settings.main, "check_hooks")):
        monkeypatch.setattr(settings, name, getattr(settings, name))
    folder = configure_solara()
    assert folder == local_assets_dir()
    assert solara.settings.assets.proxy is True and server_settings.assets.proxy_cache_dir == folder
    assert server_settings.telemetry.mixpanel_enable is False
    assert os.environ["SOLARA_ASSETS_PROXY_CACHE_DIR"] == str(folder)
    assert (folder / "requirejs@2.3.6" / "require.js").is_file()
    assert any((folder / "@widgetti").glob("solara-vuetify-app@*/dist/solara-vuetify-app8.min.js"))


@pytest.mark.parametrize(
    "argv, message",
    [
        (["missing.yaml"], "missing.yaml: file not found"),
        (["--port", "0"], "--port: must be between 1 and 65535"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_viz_input_is_one_line_and_status_2(argv, message, capsys):
    assert viz_main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_a_busy_port_is_reported_before_starting(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert viz_main(["--port", str(busy.getsockname()[1])]) == 2
    assert "cannot listen on 127.0.0.1" in capsys.readouterr().err


def test_ctrl_c_stops_the_server_without_a_traceback():
    demo = DemoServer()
    demo.start()
    try:
        demo.process.send_signal(signal.SIGINT)
        assert demo.process.wait(timeout=30) == 0
    finally:
        demo.stop()
    output = demo.output()
    assert "Serving the attention market" in output and "Traceback" not in output and "Stopped." in output


# --------------------------------------------------------------------------
# The page in Chromium
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server():
    reason = browser_missing()
    if reason:
        pytest.skip(f"browser test needs Debian's Chromium and Playwright: {reason}")
    # a user's environment asking Solara for the CDN must not win: the page must stay offline
    demo = DemoServer(env={"SOLARA_ASSETS_PROXY": "False", "SOLARA_ASSETS_CDN": "https://cdn.jsdelivr.net/npm/"})
    demo.start()
    yield demo
    demo.stop()


@pytest.fixture(scope="module")
def browser():
    reason = browser_missing()
    if reason:
        pytest.skip(f"browser test needs Debian's Chromium and Playwright: {reason}")
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser, server):
    tab = DemoPage(browser, server.url)
    yield tab
    assert tab.errors == [], "errors in the browser console"
    assert tab.foreign_requests() == [], "the page asked another host: it would not work offline"
    tab.close()


def test_server_prints_its_address(server):
    assert f"Serving the attention market (classroom) at http://127.0.0.1:{server.port}" in server.output()


def test_page_draws_the_map_and_plots_and_steps(page):
    page.open()
    assert page.day() == 0
    sources = page.image_sources()
    assert len(sources) == 5  # the map and four plots
    sizes = page.page.locator(".follow-map, .plot").evaluate_all("els => els.map(e => [e.naturalWidth, e.complete])")
    assert all(width > 200 and complete for width, complete in sizes), sizes
    assert page.page.get_by_text("How to read this page").is_visible()
    assert "day 0:" in page.text(".plot-caption")

    page.step(5)
    assert page.day() == 5
    assert page.text(".plot-caption").startswith("day 5: broadcast ")
    assert "day 5 of 365" in page.text(".world-line")
    assert page.page.get_by_text("Users on the grid, day 5").is_visible()
    after = page.image_sources()
    assert all(old != new for old, new in zip(sources, after, strict=True)), "a picture was not redrawn"


def test_the_tab_has_a_title_and_the_page_no_stray_tab_nor_warnings(page):
    """Seen by a new user: a "Solara ☀️" tab title, a lone "PAGE 0" tab, "Failed to evaluate Vue script"."""
    warnings_seen: list[str] = []
    page.page.on("console", lambda msg: msg.type in ("warning", "error") and warnings_seen.append(msg.text))
    page.open()
    assert page.page.title() == "The attention market: classroom"
    assert [tab for tab in page.page.locator(".v-tab").all() if tab.is_visible()] == []
    assert page.page.get_by_text("How to read this page").is_visible()  # hiding the bar hid nothing else
    assert warnings_seen == []


def test_ctrl_c_after_play_stops_at_once(browser):
    """A playing page's loop must not keep the stopped server alive (it did for 10-25 s)."""
    import time

    with DemoServer() as demo:
        tab = DemoPage(browser, demo.url)
        tab.open()
        tab.page.get_by_role("button", name="▶").click()  # Play
        tab.wait_until_drawn(after=2)  # playing
        began = time.monotonic()
        demo.process.send_signal(signal.SIGINT)
        assert demo.process.wait(timeout=60) == 0
        took = time.monotonic() - began
        tab.close()
    assert took < 5, f"the server took {took:.1f} s to stop after Ctrl-C"
    assert "Stopped." in demo.output() and "Traceback" not in demo.output()


def replies_of(page, firm_name: str) -> str:
    """The firm's reply rate in the page's strategy table."""
    cells = page.page.locator("tr", has_text=firm_name).locator("td").all_inner_texts()
    header = page.page.locator("tr").first.locator("th").all_inner_texts()
    return cells[header.index("replies")]


def test_a_moved_slider_and_reset_rebuild_the_model(page):
    page.open()
    page.step(2)
    page.set_slider("Pages a user follows", 300)
    page.set_slider("broadcast: reply rate", 0.5)
    page.choose("World size (cells per side)", "30")
    assert page.day() == 2 and replies_of(page, "broadcast") == "0%"  # nothing changes before Reset
    page.reset()
    line = page.text(".world-line")
    assert "30 x 30 users; each follows about 300 pages" in line and "day 0 of 365" in line
    assert replies_of(page, "broadcast") == "50%"
    width = page.page.locator(".follow-map").evaluate("e => e.naturalWidth")
    assert width == 300  # 30 cells of 10 pixels
    page.step(1)
    assert page.day() == 1


def test_screenshot_of_a_run_past_the_crossover(page, tmp_path):
    """The README's shot (day 244), taken into a temporary folder: the tracked docs/img/ is left alone."""
    tracked = REPO_ROOT / "docs" / "img"
    before = {path.name: path.read_bytes() for path in tracked.glob("*.png")}
    page.open()
    page.set_slider("Render Interval (steps)", 61)  # Step then runs 61 days before it redraws
    page.step(4)
    assert page.day() == 244
    path = page.screenshot(tmp_path / "viz.png")
    assert path.stat().st_size > 50_000 and path.read_bytes().startswith(b"\x89PNG")
    assert {path.name: path.read_bytes() for path in tracked.glob("*.png")} == before


# --------------------------------------------------------------------------
# The market view in Chromium
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def market_server(tmp_path_factory):
    reason = browser_missing()
    if reason:
        pytest.skip(f"browser test needs Debian's Chromium and Playwright: {reason}")
    path = tmp_path_factory.mktemp("market_view") / "market_small.yaml"
    path.write_text(MARKET_YAML.format(width=30, pages=100, ads=180))
    demo = DemoServer(str(path))
    demo.start()
    yield demo
    demo.stop()


@pytest.fixture
def market_page(browser, market_server):
    tab = DemoPage(browser, market_server.url)
    yield tab
    assert tab.errors == [], "errors in the browser console"
    assert tab.foreign_requests() == [], "the page asked another host: it would not work offline"
    tab.close()


def read_shares(page) -> dict[str, int]:
    """The feed panel's read share per source (percent), as the page shows it."""
    rows = page.page.locator(".feed-row").evaluate_all("rows => rows.map(r => [r.dataset.source, r.cells[3].textContent])")
    return {source: int(text.rstrip("%")) for source, text in rows}


def test_market_view_draws_the_feed_and_its_levers_and_a_moved_lever_changes_the_feed(market_page, tmp_path):
    page = market_page.open()
    assert page.page.get_by_text("The feed today, day 0", exact=True).is_visible()
    assert page.page.locator(".feed-row").count() == 4  # friends, pages, firms, all
    assert len(page.image_sources()) == 6  # the map and five plots: the read-share plot is the fifth
    for _, label, off in LEVERS:
        assert page.page.get_by_role("slider", name=f"Feed lever: {label} (off at {off:g})", exact=True).count() == 1
    assert "Feed levers: source diversity 1 (off)" in page.text(".lever-line")
    assert page.text(".market-line") == "Market: 100 background pages."

    page.step(3)
    assert page.text(".feed-caption").startswith("day 3: ") and "items offered a user" in page.text(".feed-caption")
    assert page.page.get_by_text("The feed today, day 3", exact=True).is_visible()
    before = read_shares(page)
    assert all(0 < share < 100 for share in before.values()), before

    page.set_slider("Feed lever: promo weight (off at 1)", 0.05)
    assert "promo weight 1 (off)" in page.text(".lever-line")  # nothing changes before Reset
    page.reset()
    assert "promo weight 0.05 · baseline" in page.text(".lever-line")
    page.step(3)
    after = read_shares(page)
    # the same seed: only the lever differs. Promotional items sink, friends' posts are read instead.
    assert after["friends"] > before["friends"] and after["firms"] < before["firms"], (before, after)
    path = page.screenshot(tmp_path / "viz_market.png")
    assert path.stat().st_size > 50_000
