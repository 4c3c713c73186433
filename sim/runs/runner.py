"""Run a scenario's replications, in parallel worker processes, reproducibly.

Replication r runs with a seed derived from (scenario seed, r) through
``numpy.random.SeedSequence``, so its numbers do not depend on how many
workers run or in which order they finish. Each replication is a pure
function of (model keyword arguments, seed) that returns plain tables.
"""

from __future__ import annotations

import copyreg
import multiprocessing
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field

import mesa
import numpy as np
import pandas as pd

from sim.model.market import MarketModel
from sim.model.outputs import run_summary
from sim.runs.main_script import workers_skip_main_script
from sim.scenario.arguments import check_count, check_seed


def replication_seed(seed: int, replication: int) -> int:
    """The seed of replication r: a 63-bit integer from SeedSequence((seed, r))."""
    seed = check_seed(seed, "replication_seed: seed")
    replication = check_count(replication, "replication_seed: replication")
    state = np.random.SeedSequence([seed, replication]).generate_state(2, dtype=np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1]))


def snapshot_days(steps: int) -> list[int]:
    """Three moments for the follower map: the first day, the middle and the end."""
    return sorted({1, max(1, steps // 2), steps})


@dataclass
class Replication:
    """Everything one replication produced."""

    replication: int
    seed: int
    firms: pd.DataFrame
    platform: pd.DataFrame
    cascades: pd.DataFrame
    summary: pd.DataFrame
    follow_maps: dict[int, np.ndarray] = field(default_factory=dict)
    firm_names: list[str] = field(default_factory=list)
    wall_time: float = 0.0
    follow_events: pd.DataFrame = field(default_factory=pd.DataFrame)
    # the page market (MARKET_SPEC.md, "Outputs added"); empty tables with market.pages 0 except user cascades
    pages: pd.DataFrame = field(default_factory=pd.DataFrame)
    pages_weekly: pd.DataFrame = field(default_factory=pd.DataFrame)
    user_cascades: pd.DataFrame = field(default_factory=pd.DataFrame)
    events: pd.DataFrame = field(default_factory=pd.DataFrame)


def release(model: mesa.Model) -> None:
    """Drop Mesa's global references to a finished model so it can be freed.

    Mesa 3.3.1 keeps every model in ``Agent._ids`` (a class-level registry)
    and registers each grid's cell class with ``copyreg``, which holds the
    grid's PropertyLayers; neither is ever cleared by Mesa itself.
    """
    mesa.Agent._ids.pop(model, None)
    # a MarketModel builds its grid only when drawn: asking an undrawn one would build it
    grid = getattr(model, "grid", None) if getattr(model, "drawn", True) else None
    if grid is not None:
        copyreg.dispatch_table.pop(grid.cell_klass, None)


def run_replication(kwargs: dict, seed: int, replication: int, maps: bool = False) -> Replication:
    """Build, run and summarise one model; optionally keep follower maps at three moments."""
    start = time.perf_counter()
    model = MarketModel(seed=seed, **kwargs)
    wanted = set(snapshot_days(model.p.steps)) if maps else set()
    follow_maps = {}
    while model.running:
        model.step()
        if model.steps in wanted:
            bits = (model.users.follows * (1 << np.arange(len(model.firms)))).sum(axis=1)
            follow_maps[model.steps] = bits.reshape(model.p.width, model.p.height).astype(np.int16)
    firms, platform, cascades = model.firm_table(), model.platform_table(), model.cascade_table()
    summary = run_summary(firms, cascades)
    follow_events = model.follow_event_table()
    names = [firm.name for firm in model.firms]
    market = market_tables(model)
    release(model)
    for table in (firms, platform, cascades, summary, follow_events, *market.values()):
        table.insert(0, "replication", replication)
    return Replication(
        replication=replication,
        seed=seed,
        firms=firms,
        platform=platform,
        cascades=cascades,
        summary=summary,
        follow_maps=follow_maps,
        firm_names=names,
        wall_time=time.perf_counter() - start,
        follow_events=follow_events,
        **market,
    )


def market_tables(model: MarketModel) -> dict[str, pd.DataFrame]:
    """The page market's tables of a finished model: pages, weekly page series, user cascades, event log."""
    page_names = model.page_names()
    tables = {"user_cascades": model.cascades.table(model.items.firm, page_names)}
    if model.market is not None:
        tables["pages"] = model.market.page_table()
        if model.p.market.weekly:
            tables["pages_weekly"] = model.market.weekly_table()
        if model.p.record_events:
            tables["events"] = model.market.event_table()
    return tables


def run_replications(
    kwargs: dict,
    seed: int,
    replications: int,
    workers: int = 1,
    on_done: Callable[[Replication], None] | None = None,
) -> list[Replication]:
    """Run every replication, serially or in worker processes; results sorted by replication."""
    jobs = [(r, replication_seed(seed, r)) for r in range(replications)]
    results = []
    for result in _execute(kwargs, jobs, workers):
        results.append(result)
        if on_done is not None:
            on_done(result)
    return sorted(results, key=lambda rep: rep.replication)


def _ignore_interrupts() -> None:
    """Workers leave Ctrl-C to the parent, which stops them cleanly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _execute(kwargs: dict, jobs: list[tuple[int, int]], workers: int) -> Iterator[Replication]:
    if workers <= 1 or len(jobs) == 1:
        for r, seed in jobs:
            yield run_replication(kwargs, seed, r, maps=(r == 0))
        return
    context = multiprocessing.get_context("spawn")
    with workers_skip_main_script():  # a script without a __main__ guard works (sim.runs.main_script)
        pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=_ignore_interrupts, max_tasks_per_child=50
        )
        futures = [pool.submit(run_replication, kwargs, seed, r, r == 0) for r, seed in jobs]
        try:
            for future in as_completed(futures):
                yield future.result()
        except BaseException:
            processes = list(getattr(pool, "_processes", {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                process.terminate()
            raise
        pool.shutdown()
