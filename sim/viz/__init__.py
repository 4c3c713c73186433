"""The browser demo for teaching: a SolaraViz page served offline by ``python run.py viz``.

`app` declares the page, `components` its map and live plots, `draw` the
pictures (one palette keyed by firm name), `demo` builds and rebuilds the
model from the sidebar's controls, `feed` computes the market view's
numbers (the feed's composition by source, the levers), and `server` runs
Solara with its front-end assets taken from the installed packages.
"""
