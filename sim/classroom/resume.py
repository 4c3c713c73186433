"""Resume a game after the server stopped (a crash, a closed laptop): the log rebuilds it.

`resume` replays the log (`sim.classroom.replay`; a log whose numbers do
not replay is refused), restores the players from its ``join`` records and
the model, rules and results of every played round, and goes on appending
to the same log. Students get their firm back by reopening their page's
address (``/play/<token>``): the log keeps each token's SHA-256, never the
token. A strategy saved after the last played round is lost (it was not
logged); each firm restarts from the strategy of its last round.
"""

from __future__ import annotations

from pathlib import Path

from sim.classroom import gamelog, levers, results
from sim.classroom.replay import replay
from sim.classroom.session import Classroom, Player
from sim.runs.provenance import base_metadata, utc_now
from sim.scenario import ScenarioError


def resume(path: str | Path, code: str | None = None) -> Classroom:
    """The game of log ``path``, as it was after its last played round; logging goes on in ``path``."""
    again = replay(path, allow_empty=True)
    if not again.matches:
        raise ScenarioError(f"{path}: the log does not replay to the same numbers ({again.differences[0]}); "
                            "not resuming it")  # fmt: skip
    session = again.session
    room = Classroom(again.scenario, rounds=int(session["rounds"]), days_per_round=int(session["days_per_round"]),
                     seed=int(session["seed"]), code=code, lever_keys=tuple(session.get("levers", levers.TEACHER_LEVERS)),
                     scenario_file=session.get("scenario_file"))  # fmt: skip
    records = gamelog.read_log(path)
    joins = sorted((r for r in records if r["event"] == "join"), key=lambda r: r["index"])
    last = {spec["name"]: spec for spec in again.replayed[-1]["firms"]} if again.replayed else {}
    for record in joins:
        spec = last.get(record["firm"]) or room.templates[record["template"]].model_dump()
        strategy = {f.key: min(max(spec[f.key], f.low), f.high) for f in room.fields}
        strategy["ads_per_day"] = int(strategy["ads_per_day"])
        room.players.append(Player(token=None, token_sha256=record["token_sha256"], name=record["name"],
                                   firm=record["firm"], index=record["index"], strategy=strategy))  # fmt: skip
    room.history = list(again.replayed)
    room.model = again.model
    room.view = results.MarketView.of(again.model) if again.model is not None else None
    if again.replayed:
        room.lever_values = dict(again.replayed[-1]["levers"])
        room.phase = "finished" if room.round >= room.rounds else "between"
    room.log = gamelog.GameLog(path)
    room.log.append({"event": "resume", "at": utc_now().isoformat(), "rounds_played": room.round,
                     "provenance": base_metadata()})  # fmt: skip
    return room
