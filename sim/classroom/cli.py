"""`python run.py classroom`: serve the classroom game on the local network, or replay a game's log.

Serving: the scenario is checked, the game's log is opened, the join code
and the teacher's secret address are made, and Solara serves the pages
(`sim.classroom.app`) with every front-end file from this machine, as the
browser demo does (`sim.viz.server.configure_solara`). Replaying: the log
is re-run (`sim.classroom.replay`) and compared with what the class saw;
exit status 0 when every number matches, 1 otherwise, 2 for bad input.
"""

from __future__ import annotations

import re
import socket
import sys
from pathlib import Path

from sim.classroom.gamelog import LogError
from sim.commandline import PROJECT_ROOT, BadInput, OneLineParser, find_scenario, print_error, shown_path
from sim.runs.provenance import utc_now
from sim.scenario import ScenarioError, load_scenario

APP_MODULE = "sim.classroom.app"
DEFAULT_GAME = PROJECT_ROOT / "scenarios" / "classroom_game.yaml"
DEFAULT_PORT = 8766
EXIT_BAD_INPUT = 2
EXIT_MISMATCH = 1
MAX_CELLS = 100 * 100  # the map is drawn every round; a class plays a small world


def classroom_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="python run.py classroom",
        description="Serve the classroom game: each student runs a firm from their own browser. Works offline.",
        epilog="Examples: python run.py classroom --rounds 5 --days-per-round 30; "
        "python run.py classroom --replay results/classroom/<game>.jsonl",
    )
    parser.add_argument("scenario", nargs="?", default=None,
                        help="scenario YAML (default: scenarios/classroom_game.yaml); its firms are the starting "
                             "strategies offered to students, the first one's budget is every firm's budget")  # fmt: skip
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT})")
    parser.add_argument("--host", default="0.0.0.0",
                        help="address to listen on (default: 0.0.0.0, the local network; 127.0.0.1: this machine only)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds in the game (default: 5)")
    parser.add_argument("--days-per-round", type=int, default=30, help="days the market runs per round (default: 30)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the world (default: the scenario's)")
    parser.add_argument("--log", default=None,
                        help="game log to write (default: results/classroom/<time>-<code>.jsonl)")
    parser.add_argument("--code", default=None, help="join code (default: 4 random letters)")
    parser.add_argument("--replay", metavar="LOG", default=None, help="re-run a game's log and compare its numbers")
    parser.add_argument("--resume", metavar="LOG", default=None,
                        help="serve a stopped game again from its log; students reopen their page's address")  # fmt: skip
    parser.add_argument("--csv", default=None, help="with --replay: write the replayed debrief table here")
    return parser


def lan_address() -> str:
    """This machine's address on the local network (no packet is sent), else 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.254.254.254", 1))
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def run_replay(log: str, csv: str | None) -> int:
    from sim.classroom.replay import replay

    result = replay(log)
    table = result.table()
    session = result.session
    print(f"Replayed {shown_path(Path(log))}: seed {session['seed']}, {len(result.replayed)} of {session['rounds']} "
          f"rounds of {session['days_per_round']} days, {len(result.names)} firms")  # fmt: skip
    shown = table[["round", "firm", "reach", "followers", "gained", "lost", "trust", "spend", "reach_per_spend"]]
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if csv:
        Path(csv).parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(csv, index=False)
        print(f"Debrief table: {csv}")
    if result.matches:
        print("Every number matches the log.")
        return 0
    for line in result.differences[:20]:
        print(f"differs: {line}", file=sys.stderr)
    print(f"error: {len(result.differences)} numbers differ from the log", file=sys.stderr)
    return EXIT_MISMATCH


def serve(args) -> int:
    from sim.classroom import state
    from sim.classroom.resume import resume
    from sim.classroom.session import CODE_ALPHABET, Classroom, new_code
    from sim.viz.server import check_port, configure_solara

    if args.code is not None and not re.fullmatch(f"[{CODE_ALPHABET}]{{4,8}}", args.code.upper()):
        raise BadInput(f"--code: 4 to 8 of the letters and digits {CODE_ALPHABET} (got {args.code!r})")
    if args.seed is not None and args.seed < 0:
        raise BadInput(f"--seed: must be >= 0 (got {args.seed})")
    code = args.code.upper() if args.code else new_code()
    if args.resume:
        if args.scenario or args.log or args.seed is not None:
            raise BadInput("--resume: the scenario, seed and log come from the log; give only --port, --host, --code")
        check_port(args.host, args.port)
        classroom = resume(args.resume, code)
        log = classroom.log.path
    else:
        path = find_scenario(args.scenario) if args.scenario else DEFAULT_GAME
        scenario = load_scenario(path)
        if scenario.width * scenario.height > MAX_CELLS:
            raise BadInput(f"{path}: the game draws worlds of up to {MAX_CELLS:,} users "
                           f"(this one is {scenario.width} x {scenario.height}); pick a smaller scenario")  # fmt: skip
        check_port(args.host, args.port)
        log = Path(args.log) if args.log else PROJECT_ROOT / "results" / "classroom" / f"{utc_now():%Y%m%dT%H%M%SZ}-{code}.jsonl"
        if log.exists():
            raise BadInput(f"--log: {log} exists; a game log is never overwritten (give another path, or --resume it)")
        classroom = Classroom(scenario, rounds=args.rounds, days_per_round=args.days_per_round, seed=args.seed,
                              code=code, log_path=log, scenario_file=shown_path(path))  # fmt: skip
    state.install(classroom)
    configure_solara()
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    import click
    from solara.__main__ import run as solara_run

    host = lan_address() if args.host == "0.0.0.0" else args.host
    base = f"http://{host}:{args.port}"
    classroom.address = f"{base}/"
    resumed = f", resumed after round {classroom.round}" if args.resume else ""
    print(f"Classroom game ({classroom.scenario.name}): {classroom.rounds} rounds of {classroom.days} days, "
          f"seed {classroom.seed}{resumed}", flush=True)  # fmt: skip
    print(f"  Students open:  {base}/   join code: {classroom.code}", flush=True)
    print(f"  Projector:      {base}/teacher/{classroom.teacher_key}", flush=True)
    print(f"  Debrief:        {base}/debrief/{classroom.teacher_key}", flush=True)
    print(f"  Game log:       {shown_path(log)}  (replay: python run.py classroom --replay {shown_path(log)})", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    argv = [APP_MODULE, "--host", args.host, "--port", str(args.port), "--production", "--no-open",
            "--no-check-version"]  # fmt: skip
    try:
        solara_run.main(args=argv, standalone_mode=False)
    except click.exceptions.Abort:
        pass
    print("Stopped.", flush=True)
    return 0


def classroom_main(argv: list[str]) -> int:
    """Serve the game, or replay a log; bad input: one line, status 2."""
    from sim.viz.server import VizError

    try:
        args = classroom_parser().parse_args(argv)
        if not 1 <= args.port <= 65535:
            raise BadInput(f"--port: must be between 1 and 65535 (got {args.port})")
        if not 1 <= args.rounds <= 100:
            raise BadInput(f"--rounds: must be from 1 to 100 (got {args.rounds})")
        if not 1 <= args.days_per_round <= 365:
            raise BadInput(f"--days-per-round: must be from 1 to 365 (got {args.days_per_round})")
        if args.replay and not args.resume:
            return run_replay(args.replay, args.csv)
        if args.csv:
            raise BadInput("--csv: only with --replay")
        if args.replay and args.resume:
            raise BadInput("--replay and --resume: give one of them")
        return serve(args)
    except (BadInput, VizError, ScenarioError, LogError) as err:
        print_error(err)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 0
