"""The Solara app of the classroom game: one Page that routes by address.

``/`` join (or back to your firm), ``/play/<token>`` a student's firm,
``/teacher/<key>`` the projector, ``/debrief/<key>`` the debrief. Served by
``python run.py classroom`` (`sim.classroom.cli`).
"""

from __future__ import annotations

import solara

from sim.classroom import state
from sim.classroom.pages import CSS, DebriefPage, StudentPage, TeacherPage


@solara.component
def Page():
    classroom = state.current()
    parts = [part for part in solara.use_router().path.split("?")[0].strip("/").split("/") if part]
    solara.Style(CSS)
    solara.Title("The attention market: classroom game")
    head, arg = (parts + ["", ""])[:2]
    if head == "teacher":
        TeacherPage(classroom, arg)
    elif head == "debrief":
        DebriefPage(classroom, arg)
    elif head == "play":
        StudentPage(classroom, arg or None)
    else:
        StudentPage(classroom, None)


@solara.component
def Layout(children=[]):  # noqa: B006 - Solara's signature
    """No app bar nor route tabs: a student's page must not advertise the teacher's."""
    with solara.Column(style={"padding": "12px"}) as main:
        solara.Column(children=children)
    return main


# One route per first part of the address; Page reads the rest (the token, the key) itself.
routes = [solara.Route(path=part, component=Page, layout=Layout) for part in ("/", "play", "teacher", "debrief")]
