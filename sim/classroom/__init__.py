"""The classroom game: each student runs a firm of one shared market from their own browser.

`session` holds a game (players, rounds, the one model) with no web code;
`adapter` applies strategies and platform rules to a running
`MarketModel`; `forms` and `levers` check what students and the teacher
type; `results` and `views` turn rounds into tables and pictures;
`gamelog`, `replay` and `resume` keep, re-run and restart a game from its
log; `pages` and `app` are the Solara pages; `cli` is
``python run.py classroom``.
"""
