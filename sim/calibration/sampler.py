"""A pyabc sampler with static scheduling and per-particle seeds: posteriors independent of the worker count.

pyabc's own samplers either draw from the operating system's entropy
(`MappingSampler.map_function` calls ``np.random.seed()``) or hand out work
dynamically (`DaskDistributedSampler`), so which worker finds which
particle, and hence the population, depends on timing. Here generation
``t`` is ``n`` independent tasks, one per particle slot ``i``: task ``i``
seeds NumPy's global random state (which pyabc's priors, perturbation
kernels and our simulators draw from) with ``SeedSequence([seed, t + 1, i])``
and simulates until its slot holds one accepted particle. Results are
gathered in slot order. The population is then a function of (seed, t, the
previous population) alone: the same with one worker, two, or a cluster.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import cloudpickle
import numpy as np
from pyabc.sampler import Sampler

MAX_TRIES = 100_000  # simulations one particle slot may use before the generation is given up


def slot_seed(seed: int, t: int, index: int) -> np.ndarray:
    """The random state of particle slot ``index`` of generation ``t`` (t = -1: a calibration sample)."""
    return np.random.SeedSequence([seed, t + 1, index]).generate_state(8)


_LOADED: dict[bytes, Any] = {}


def _load(payload: bytes) -> Any:
    """The generation's simulate function, unpickled once per process (slots of a generation share it)."""
    key = hashlib.sha256(payload).digest()
    if key not in _LOADED:
        _LOADED.clear()
        _LOADED[key] = cloudpickle.loads(payload)
    return _LOADED[key]


def particle_task(index: int, payload: bytes, seed: int, t: int) -> tuple[Any, int]:
    """Simulate until slot ``index`` holds one accepted particle; runs on a worker."""
    simulate_one, sample_factory = _load(payload)
    np.random.seed(slot_seed(seed, t, index))
    random.seed(int(slot_seed(seed, t, index)[0]))
    sample = sample_factory()
    for tries in range(1, MAX_TRIES + 1):
        particle = simulate_one()
        sample.append(particle)
        if particle.accepted:
            return sample, tries
    return sample, MAX_TRIES


def serial_map(function: Callable, items: Iterable, on_done: Callable[[int], None] | None = None) -> list:
    """Map in this process, in order (tests and one-off runs)."""
    out = []
    for item in items:
        out.append(function(item))
        if on_done is not None:
            on_done(len(out))
    return out


class DaskMap:
    """``client.map`` over the slots, results in slot order, progress as tasks finish."""

    def __init__(self, client):
        self.client = client

    def __call__(self, function: Callable, items: Iterable, on_done: Callable[[int], None] | None = None) -> list:
        from distributed import as_completed

        items = list(items)
        futures = self.client.map(function, items, pure=False)
        try:
            done = 0
            for _ in as_completed(futures):
                done += 1
                if on_done is not None:
                    on_done(done)
            return self.client.gather(futures)
        finally:
            self.client.cancel(futures)


class StaticSampler(Sampler):
    """Each particle slot is one task with its own seed; ``map_`` runs the tasks (serially or on Dask)."""

    def __init__(self, map_: Callable = serial_map, seed: int = 0, on_progress: Callable[[int, int, int], None] | None = None):
        super().__init__()
        self.map_ = map_
        self.seed = int(seed)
        self.on_progress = on_progress  # (t, slots done, slots) while a generation runs
        self.on_generation: Callable[[int, int, int, float], None] | None = None  # (t, n, evaluations, seconds)

    def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False, ana_vars=None):
        start = time.perf_counter()
        payload = cloudpickle.dumps((simulate_one, self.sample_factory))
        task = partial(particle_task, payload=payload, seed=self.seed, t=t)
        report = (lambda done: self.on_progress(t, done, n)) if self.on_progress else None
        if report is not None:
            report(0)
        results = self.map_(task, range(n), report)
        sample = self._create_empty_sample()
        evaluations = 0
        for part, tries in results:
            sample += part
            evaluations += tries
        self.nr_evaluations_ = evaluations
        if sample.n_accepted != n:
            sample.ok = False
        if self.on_generation is not None:
            self.on_generation(t, n, evaluations, time.perf_counter() - start)
        return sample
