"""The one Classroom of this server process, shared by every browser session.

`python run.py classroom` creates it before Solara starts (`install`);
the pages ask `current()`. Solara runs every session in this process, so
a module-level object is what they share.
"""

from __future__ import annotations

from sim.classroom.session import Classroom

_CLASSROOM: Classroom | None = None


def install(classroom: Classroom) -> None:
    global _CLASSROOM
    _CLASSROOM = classroom


def current() -> Classroom:
    if _CLASSROOM is None:
        raise RuntimeError("no classroom game: start the server with `python run.py classroom`")
    return _CLASSROOM
