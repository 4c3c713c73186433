"""The browser demo: the attention market live in Mesa's SolaraViz.

Serve it with ``python run.py viz [SCENARIO.yaml]`` (see `sim.viz.server`),
which also makes Solara serve every front-end file locally. The scenario
comes from $ATTENTION_MARKET_SCENARIO, else scenarios/classroom.yaml.

The page: the grid map and four live plots (`sim.viz.components`), the
sidebar controls that rebuild the model on Reset (`sim.viz.demo`), and
SolaraViz's own play, step and reset buttons.
"""

from __future__ import annotations

import solara
from mesa.visualization import SolaraViz

from sim.viz.components import page_components
from sim.viz.demo import demo_model_class, demo_scenario, model_params

SCENARIO = demo_scenario()
AttentionMarket = demo_model_class(SCENARIO)
MODEL_PARAMS = model_params(SCENARIO)
# SolaraViz lays components out two per row, in this order.
COMPONENTS = page_components(SCENARIO)  # a market scenario adds the feed panels
PLAY_INTERVAL_MS = 50  # pause between days while playing; the redraw itself takes longer
TITLE = f"The attention market: {SCENARIO.name}"
# Vuetify sliders show their value only while dragged; print it under the thumb instead,
# so the class can read "109" from across the room.
CSS = """
.v-input__slider .v-slider__thumb-container::after {
    content: attr(aria-valuenow);
    position: absolute; top: 9px; left: 50%; transform: translateX(-50%);
    font-size: 11px; color: rgba(0, 0, 0, 0.75); white-space: nowrap; pointer-events: none;
}
"""


@solara.component
def Page():
    """One model per browser session, so that two open tabs do not step the same model."""
    model = solara.use_memo(AttentionMarket, [])
    solara.Style(CSS)
    SolaraViz(model, components=COMPONENTS, model_params=MODEL_PARAMS, name=TITLE, play_interval=PLAY_INTERVAL_MS)
