"""`python run.py viz`: serve the browser demo with Solara, every front-end file from this machine.

A classroom may have no internet. Solara's page loads its front end (the
Vuetify app, require.js, fonts, the grid layout) from the URL in
``solara.settings.assets.cdn`` unless its *assets proxy* is on; with the proxy
on, the page asks the Solara server (``/_solara/cdn/...``), which answers
from ``solara.server.settings.assets.proxy_cache_dir``. The solara-assets
package installs exactly those files into ``<prefix>/share/solara/cdn``. So
`configure_solara` turns the proxy on and points its cache at that folder
(found from solara-assets' own file list, whatever the install layout) and
switches off Solara's usage telemetry; `serve` runs Solara in production
mode (no solara.dev check in the page) without its PyPI version check.
Nothing calls outside. `configure_solara` sets both the environment
variables (read when Solara is imported) and the live settings objects, so
the user's environment cannot undo it.
"""

from __future__ import annotations

import importlib.metadata
import os
import socket
import sys
import warnings
from pathlib import Path

from sim.commandline import BadInput, OneLineParser, print_error
from sim.model.market import GRID_CELL_LIMIT
from sim.scenario import ScenarioError
from sim.scenario.paths import find_shipped
from sim.viz.demo import REPO_ROOT, SCENARIO_ENV, demo_scenario

APP_MODULE = "sim.viz.app"
EXIT_BAD_INPUT = 2
KERNEL_CULL_TIMEOUT = "5m"  # a closed tab's session (and its model) is freed after this


class VizError(Exception):
    """A problem the user must fix before the demo can be served; printed as one line."""


def local_assets_dir() -> Path:
    """The folder where solara-assets installed Solara's front-end files."""
    try:
        files = importlib.metadata.distribution("solara-assets").files or []
    except importlib.metadata.PackageNotFoundError:
        raise VizError("the solara-assets package is not installed (pip install solara-assets); "
                       "without it the page needs the internet") from None
    for file in files:
        parts = file.parts
        for i in range(1, len(parts)):
            if parts[i - 1 : i + 1] == ("solara", "cdn"):
                folder = Path(file.locate()).parents[len(parts) - i - 2].resolve()
                if any(folder.glob("requirejs@*/require.js")):
                    return folder
    raise VizError("solara-assets is installed but its front-end files (share/solara/cdn) are missing; reinstall it")


def _add_path(variable: str, folder: Path) -> None:
    """Append a folder to an os.pathsep-separated environment variable, once."""
    parts = [p for p in os.environ.get(variable, "").split(os.pathsep) if p]
    if folder.is_dir() and str(folder) not in parts:
        os.environ[variable] = os.pathsep.join([*parts, str(folder)])


def find_widget_front_ends() -> None:
    """Let Jupyter find the widget front-end files in a venv built on another Python.

    In a venv made with --system-site-packages, ipyvue/ipyvuetify's notebook
    config and JavaScript sit under the base interpreter's prefix, where
    Jupyter does not look; Solara then fails every page with a KeyError.
    """
    if sys.base_prefix != sys.prefix:
        _add_path("JUPYTER_CONFIG_PATH", Path(sys.base_prefix) / "etc" / "jupyter")
        _add_path("JUPYTER_PATH", Path(sys.base_prefix) / "share" / "jupyter")


def configure_solara() -> Path:
    """Make Solara serve every front-end asset from the local solara-assets folder; return that folder.

    Also: no usage telemetry, closed tabs' sessions freed after KERNEL_CULL_TIMEOUT, and no
    warnings a teacher cannot act on.
    """
    folder = local_assets_dir()
    find_widget_front_ends()
    env = {
        "SOLARA_ASSETS_PROXY": "True",
        "SOLARA_ASSETS_PROXY_CACHE_DIR": str(folder),
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        "SOLARA_KERNEL_CULL_TIMEOUT": KERNEL_CULL_TIMEOUT,
        "SOLARA_CHECK_HOOKS": "off",  # Mesa 3.3.1's SolaraViz trips Solara's hook linter; noise for a teacher
    }
    os.environ.update(env)
    import solara.server.settings as server_settings
    import solara.settings

    solara.settings.assets.proxy = True
    server_settings.assets.proxy_cache_dir = folder
    server_settings.telemetry.mixpanel_enable = False
    server_settings.kernel.cull_timeout = KERNEL_CULL_TIMEOUT
    solara.settings.main.check_hooks = "off"
    # plain http on a classroom machine: Solara falls back to SameSite=Lax cookies, which is fine
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")
    return folder


def check_port(host: str, port: int) -> None:
    """Fail early, in one line, if the address cannot be bound."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        raise VizError(f"--host: cannot resolve {host!r} ({err.strerror})") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as err:
            raise VizError(f"cannot listen on {host}:{port}: {err.strerror} (is the demo already running? try --port)") from None


def serve(scenario_path: str | None, host: str, port: int) -> int:
    """Serve the demo for ``scenario_path`` (None: the default) at http://host:port until Ctrl-C.

    A bad scenario raises ScenarioError before anything starts.
    """
    if scenario_path is not None:  # a shipped scenario is found from any folder, as by `python run.py`
        scenario_path = str(find_shipped(scenario_path))
    scenario = demo_scenario(scenario_path)  # validate now, with the user's path in any message
    if scenario.width * scenario.height > GRID_CELL_LIMIT:
        raise VizError(f"{scenario_path or scenario.name}: the browser demo draws worlds of up to {GRID_CELL_LIMIT:,} users "
                       f"(this one is {scenario.width} x {scenario.height}); pick a smaller scenario")
    if scenario_path is not None:
        os.environ[SCENARIO_ENV] = str(Path(scenario_path).resolve())
    else:
        os.environ.pop(SCENARIO_ENV, None)
    check_port(host, port)
    configure_solara()
    from sim.runs.compile_notice import announce_compiling

    announce_compiling()  # the first page builds a model: on a cold cache that compiles for about a minute
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))  # `solara run sim.viz.app` imports the package from the checkout
    import click
    from solara.__main__ import run as solara_run

    print(f"Serving the attention market ({scenario.name}) at http://{host}:{port} — press Ctrl-C to stop", flush=True)
    args = [APP_MODULE, "--host", host, "--port", str(port), "--production", "--no-open", "--no-check-version"]
    try:
        solara_run.main(args=args, standalone_mode=False)
    except click.exceptions.Abort:  # Ctrl-C: (rich-)click turns the KeyboardInterrupt into Abort
        pass
    print("Stopped.", flush=True)
    end_play_loops()
    return 0


def end_play_loops() -> None:
    """Exit now if a page was playing: its loop would keep the stopped server alive for many seconds.

    SolaraViz plays in a non-daemon thread that steps the model until the
    model ends or the page says stop; with the server gone no page can say
    it, and Python waits for that thread before exiting (10-25 s after
    Ctrl-C). The demo keeps nothing on disk, so there is nothing to lose.
    """
    import threading

    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def viz_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="python run.py viz",
        description="Serve the browser demo: the attention market live in Mesa's SolaraViz. Works offline.",
        epilog="Example: python run.py viz scenarios/classroom.yaml --port 8765",
    )
    parser.add_argument("scenario", nargs="?", default=None,
                        help="scenario YAML file (default: scenarios/classroom.yaml, else the duel at 50 x 50)")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on (default: 8765)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1; 0.0.0.0 lets other machines in)")
    return parser


def viz_main(argv: list[str]) -> int:
    """Parse ``[SCENARIO.yaml] [--port 8765] [--host 127.0.0.1]`` and serve; bad input: one line, status 2."""
    try:
        args = viz_parser().parse_args(argv)
        if not 1 <= args.port <= 65535:
            raise VizError(f"--port: must be between 1 and 65535 (got {args.port})")
        return serve(args.scenario, args.host, args.port)
    except (BadInput, VizError, ScenarioError) as err:
        print_error(err)  # one line per mistake of a scenario file
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 0
