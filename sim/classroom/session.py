"""One classroom game: its players, its rounds, and the one shared model, with no web code.

A `Classroom` holds what every browser session sees: the players (each a
firm), their strategies and ready flags, the platform levers, and every
played round. Pages call its methods and redraw when ``version`` changes.
The model is built when the first round starts (one ordinary firm per
player, with the parameters that player chose), so the lobby closes then:
a student who arrives later is told to wait for the next game. Round 1
starts when the teacher runs it (so a first student pressing ready does
not close the lobby on the others); every later round starts when every
player is ready, or when the teacher runs it. A round runs in a thread of
its own so no page waits on it. Every round is logged
(`gamelog`) before the class sees it, so `replay` can reproduce it.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sim.classroom import adapter, forms, gamelog, levers, results
from sim.runs.provenance import base_metadata, utc_now
from sim.scenario import Scenario, ScenarioError

MAX_PLAYERS = 60
CODE_ALPHABET = "ACDEFGHJKLMNPQRTUVWXY34679"  # no 0/O, 1/I/L, 2/Z, 5/S, 8/B to misread


def token_hash(token: str) -> str:
    """What the log keeps of a player's token: enough to recognise it after a restart, not to forge it."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass
class Player:
    """A student and their firm. ``token`` is the secret in their page's address (None after a resume)."""

    token: str | None
    token_sha256: str
    name: str  # as typed
    firm: str  # the firm's name in the model
    index: int  # the firm's position in the model
    strategy: dict[str, Any]
    ready: bool = False
    sessions: set[str] = field(default_factory=set)


class GameError(ValueError):
    """A refused action, with the form field it belongs to (or '' for the page)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def new_code(n: int = 4) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(n))


def home_cells(n_firms: int, width: int, height: int) -> list[tuple[int, int]]:
    """Firm homes on a near-square lattice over the grid, in join order (k-th firm, k-th cell)."""
    cols = max(1, math.ceil(math.sqrt(n_firms)))
    rows = max(1, math.ceil(n_firms / cols))
    return [(int((k % cols + 0.5) * width / cols), int((k // cols + 0.5) * height / rows)) for k in range(n_firms)]


class Classroom:
    """The shared state of one game; every method is safe to call from any session's thread."""

    def __init__(self, scenario: Scenario, *, rounds: int, days_per_round: int, seed: int | None = None,
                 log_path=None, code: str | None = None, lever_keys: tuple[str, ...] = levers.TEACHER_LEVERS,
                 scenario_file: str | None = None):  # fmt: skip
        if not 1 <= rounds <= 100:
            raise ScenarioError(f"--rounds: must be from 1 to 100 (got {rounds})")
        if not 1 <= days_per_round <= 365:
            raise ScenarioError(f"--days-per-round: must be from 1 to 365 (got {days_per_round})")
        self.scenario = scenario
        self.rounds = rounds
        self.days = days_per_round
        self.seed = scenario.seed if seed is None else seed
        self.code = code or new_code()
        self.teacher_key = secrets.token_urlsafe(6)
        self.levers = levers.teacher_levers(lever_keys)
        self.lever_values = levers.starting_values(scenario, self.levers)
        self.templates = {spec.name: spec for spec in scenario.firms}  # starting strategies offered at join
        self.budget = float(scenario.firms[0].budget)
        self.fields = forms.strategy_fields(self.budget, scenario.cost_ad)
        self.players: list[Player] = []
        self.model: adapter.ClassroomMarket | None = None
        self.history: list[dict[str, Any]] = []  # the logged round records
        self.phase = "lobby"  # lobby -> between (rounds) -> running -> ... -> finished
        self.running_round = 0
        self.version = 0
        self.last_error = ""
        self.address = ""  # where students join, as the server printed it
        self.reach_plots = results.ReachPlots(rounds * days_per_round, days_per_round)
        self._lock = threading.RLock()
        self.view: results.MarketView | None = None  # the market as the last round left it, for the pages
        self._thread: threading.Thread | None = None
        self.log = gamelog.GameLog(log_path) if log_path else None
        if self.log:
            self.log.append({
                "event": "session", "version": gamelog.LOG_VERSION, "created": utc_now().isoformat(),
                "seed": self.seed, "rounds": rounds, "days_per_round": days_per_round,
                "scenario_file": scenario_file, "scenario": scenario.resolved_dict(),
                "levers": list(lever_keys), "provenance": base_metadata(),
            })  # fmt: skip

    # -- reading -----------------------------------------------------------------

    @property
    def round(self) -> int:
        """Rounds played so far."""
        return len(self.history)

    @property
    def names(self) -> dict[str, str]:
        """Model firm name -> display name."""
        return {p.firm: p.name for p in self.players}

    def player(self, token: str | None) -> Player | None:
        if not token or len(token) > 64:
            return None
        digest = token_hash(token)
        return next((p for p in self.players if secrets.compare_digest(p.token_sha256, digest)), None)

    def player_of_session(self, session_id: str | None) -> Player | None:
        """The player a browser session joined as (rejoin after closing the tab, same browser)."""
        return next((p for p in self.players if session_id and session_id in p.sessions), None)

    def colours(self, display: bool = False) -> dict[str, str]:
        """A colour per firm, keyed by model firm name (or by display name), the same on every page."""
        by_firm = results.colours_for([p.firm for p in self.players])
        return {p.name: by_firm[p.firm] for p in self.players} if display else by_firm

    def ready_count(self) -> int:
        return sum(p.ready for p in self.players)

    def day(self) -> int:
        return self.model.steps if self.model is not None else 0

    def _bump(self) -> None:
        self.version += 1

    # -- students ----------------------------------------------------------------

    def join(self, code: str, name: str, template: str, session_id: str | None = None) -> Player:
        """A new player and firm; refused (GameError naming the field) with a message otherwise."""
        with self._lock:
            if str(code or "").strip().upper() != self.code:
                raise GameError("code", "wrong code: it is on the projector")
            if self.phase != "lobby":
                raise GameError("", "the game has started, so its firms are fixed: wait for the next game")
            if len(self.players) >= MAX_PLAYERS:
                raise GameError("", f"the class is full ({MAX_PLAYERS} firms)")
            shown, problem = forms.check_name(name)
            if problem:
                raise GameError("name", problem)
            firm = forms.model_name(shown)
            if any(p.firm.lower() == firm.lower() for p in self.players):
                raise GameError("name", "this name is taken: choose another")
            if template not in self.templates:
                raise GameError("template", f"choose one of {', '.join(self.templates)}")
            spec = self.templates[template]
            strategy = {f.key: min(max(getattr(spec, f.key), f.low), f.high) for f in self.fields}
            strategy["ads_per_day"] = int(strategy["ads_per_day"])
            token = secrets.token_urlsafe(9)
            player = Player(token=token, token_sha256=token_hash(token), name=shown, firm=firm,
                            index=len(self.players), strategy=strategy)  # fmt: skip
            if session_id:
                player.sessions.add(session_id)
            self.players.append(player)
            if self.log:
                self.log.append({"event": "join", "index": player.index, "name": shown, "firm": firm,
                                 "template": template, "token_sha256": player.token_sha256,
                                 "at": utc_now().isoformat()})  # fmt: skip
            self._bump()
            return player

    def rejoin(self, token: str, session_id: str | None) -> Player | None:
        """Bind a browser session to the player whose token its address carries."""
        with self._lock:
            player = self.player(token)
            if player and session_id:
                player.sessions.add(session_id)
            if player and player.token is None:  # after a resume: the address proved the token
                player.token = token
            return player

    def submit(self, token: str, texts: dict[str, Any]) -> dict[str, str]:
        """Save a player's strategy (all fields or none) and mark them ready; returns errors per field."""
        with self._lock:
            player = self.player(token)
            if player is None:
                return {"": "unknown player: join again"}
            if self.phase == "finished":
                return {"": "the game is over"}
            values, errors = forms.parse_strategy(texts, self.fields)
            if errors:
                return errors
            player.strategy = values
            player.ready = True
            self._bump()
            if self.phase == "between" and all(p.ready for p in self.players):  # round 1: the teacher's call
                self._start_round("all ready")
            return {}

    def unready(self, token: str) -> None:
        with self._lock:
            player = self.player(token)
            if player and self.phase != "running":
                player.ready = False
                self._bump()

    # -- teacher -----------------------------------------------------------------

    def set_lever(self, key: str, raw: Any) -> str | None:
        """Change a platform rule for the next round; returns a message if refused."""
        with self._lock:
            lever = next((lv for lv in self.levers if lv.key == key), None)
            if lever is None:
                return f"unknown rule {key!r}"
            if self.phase in ("running", "finished"):
                return "rules change between rounds only"
            value, problem = lever.parse(raw)
            if problem:
                return problem
            self.lever_values[key] = value
            self._bump()
            return None

    def run_round(self, started_by: str = "teacher", wait: bool = False) -> str | None:
        """Start the next round (even if some players are not ready); returns a message if refused."""
        with self._lock:
            if self.phase == "running":
                return "a round is running"
            if self.phase == "finished":
                return "the game is over"
            if not self.players:
                return "nobody has joined yet"
            thread = self._start_round(started_by)
        if wait:
            thread.join()
        return self.last_error or None

    def _start_round(self, started_by: str) -> threading.Thread:
        self.phase = "running"
        self.running_round = self.round + 1
        firms = [self._firm_spec(p) for p in self.players]
        ready = [p.name for p in self.players if p.ready]
        plan = {"round": self.running_round, "days": self.days, "firms": firms, "levers": dict(self.lever_values),
                "started_by": started_by, "ready": ready}  # fmt: skip
        self._bump()
        self._thread = threading.Thread(target=self._play, args=(plan,), name=f"classroom-round-{plan['round']}",
                                        daemon=True)  # fmt: skip
        self._thread.start()
        return self._thread

    def _firm_spec(self, player: Player) -> dict[str, Any]:
        home = home_cells(len(self.players), self.scenario.width, self.scenario.height)[player.index]
        return {"name": player.firm, "home": list(home), "budget": self.budget, **player.strategy}

    def _play(self, plan: dict[str, Any]) -> None:
        """Run one round in this thread; the results become visible when it is logged."""
        start = time.perf_counter()
        try:
            if self.model is None:
                self.model = build_for(self.scenario, plan, self.seed, self.rounds * self.days)
            record = play_round(self.model, plan, self.levers)
            view = results.MarketView.of(self.model)
        except Exception as err:  # noqa: BLE001 - shown to the teacher, the game goes on
            with self._lock:
                self.last_error = f"round {plan['round']} failed: {err}"
                self.phase = "between" if self.history or self.model else "lobby"
                self._bump()
            raise
        record["wall_seconds"] = round(time.perf_counter() - start, 3)
        with self._lock:
            if self.log:
                self.log.append({"event": "round", **record})
            self.history.append(record)
            self.view = view
            for player in self.players:
                player.ready = False
            self.phase = "finished" if self.round >= self.rounds else "between"
            self.last_error = ""
            self._bump()

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a running round to finish (tests, replay)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def debrief(self):
        """Every round's strategies, rules and outcomes (`results.debrief_table`)."""
        return results.debrief_table(self.history, self.names)


def build_for(scenario: Scenario, plan: dict[str, Any], seed: int, steps: int) -> adapter.ClassroomMarket:
    """The game's model, built with round 1's firms."""
    return adapter.build_market(scenario, plan["firms"], seed=seed, steps=steps)


def play_round(model, plan: dict[str, Any], lever_list) -> dict[str, Any]:
    """Apply a round's strategies and rules to the model, run its days, and return the round record."""
    for spec in plan["firms"]:
        firm = model.firms[_index(model, spec["name"])]
        strategy = {k: spec[k] for k in results.STRATEGY_KEYS if getattr(firm, k) != spec[k]}
        if strategy:
            adapter.apply_strategy(model, spec["name"], strategy)
    levers.apply_levers(model, lever_list, plan["levers"])
    first = model.steps + 1
    for _ in range(plan["days"]):
        model.step()
    outcomes = results.round_results(model, first, model.steps)
    return {**plan, "first_day": first, "last_day": model.steps, "results": outcomes}


def _index(model, name: str) -> int:
    return next(f.index for f in model.firms if f.name == name)
