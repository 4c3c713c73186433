"""ABC-SMC with pyabc: priors, the band distance, the epsilon schedule, a resumable SQLite history.

The engine is pyabc's `ABCSMC`; nothing of the SMC is written here.

- Priors: independent uniforms over each parameter's bounds; a ``log: true``
  parameter is sampled as log10 of its value, uniform over the log10 bounds,
  so the perturbation kernel works on the scale the prior is flat on.
- Distance: `BandDistance`, the unweighted sum over facts of each fact's
  relative miss outside its band (`sim.calibration.facts`): on a ``log``
  fact the log of the factor by which it misses the nearer edge, on a
  ``linear`` fact the miss over the band's size, never over its width; 0
  when every fact is inside its band.
- Epsilon schedule: generation 0 accepts every prior draw (epsilon =
  infinity), so the prior sample is kept in the history rather than spent
  on calibration; each later epsilon is the weighted median of the previous
  generation's distances (pyabc's QuantileEpsilon, alpha = 0.5). The run
  stops after ``generations`` or when epsilon reaches ``min_epsilon``; once
  half the particles are inside every band epsilon is 0 and ABC is exact
  rejection on the bands.
- Perturbation (the calibration file's ``transition``): ``normal``, pyabc's
  default multivariate normal kernel (one covariance for all particles,
  Silverman's bandwidth), or ``local``, pyabc's `LocalTransition` (each
  particle's kernel from the covariance of its nearest quarter of the
  population), which follows a curved or ridge-shaped posterior. With
  ``normal`` the weights of facebook_2013's last generation piled onto one
  particle (effective sample size 2.2 of 200); with ``local`` it kept 147
  (docs/calibration.md). On a one-parameter toy the local kernel is the
  noisier of the two, so ``normal`` stays the default.
- Sampling: `StaticSampler` (per-slot seeds, static scheduling), so the
  posterior does not depend on the worker count.
- Resume: the history is ``OUT/history.db``; a stored run is continued
  with ``ABCSMC.load`` and runs only the generations that are missing.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyabc

from sim.calibration.facts import Band, total_distance
from sim.calibration.sampler import StaticSampler, serial_map
from sim.calibration.spec import Prior

ABC_ID = 1  # one ABC run per history.db
ALPHA = 0.5  # epsilon quantile: the weighted median of the last generation's distances
LOCAL_FRACTION = 0.25  # share of the population whose covariance shapes each particle's perturbation kernel


class LocalOrNormal(pyabc.transition.Transition):
    """pyabc's `LocalTransition` while each particle's neighbourhood (a ``LOCAL_FRACTION`` of the structure's
    particles) holds at least ``2 (d + 1)`` particles in ``d`` dimensions, else the multivariate normal kernel.

    pyabc's local kernel takes at least ``d`` neighbours, and a covariance from about ``d + 1`` points is
    singular or nearly so: with 24 particles over four structures its weights turned NaN, and with about 50
    particles a structure in 16 dimensions its densities overflowed and one particle took all the weight
    (effective sample size 1.0 of 200 in generation 2 of the shipped structures file). With many particles
    it is the local kernel, draw for draw (facebook_2013: 200 particles in 5 dimensions).
    """

    def __init__(self):
        self.local = pyabc.LocalTransition(k_fraction=LOCAL_FRACTION)
        self.normal = pyabc.MultivariateNormalTransition()
        self.active: pyabc.transition.Transition = self.local

    def fit(self, X, w) -> None:
        self.active = self.local if LOCAL_FRACTION * len(X) >= 2 * (X.shape[1] + 1) else self.normal
        self.active.fit(X, w)

    def rvs_single(self):
        return self.active.rvs_single()

    def pdf(self, x):
        return self.active.pdf(x)


class Defensive(pyabc.transition.Transition):
    """Defensive importance sampling: a share ``alpha`` of a generation's proposals drawn from the prior,
    the rest from the fitted kernel; the proposal density is the mixture, so a particle's weight
    (prior / proposal) is at most ``1 / alpha``.

    With a few dozen particles per structure in 12-16 dimensions a kernel density estimate is tiny between
    its particles, and the particles proposed there take nearly all the weight: the shipped structures file's
    second generation had an effective sample size of 5.6 of 200 with the normal kernel. On synthetic
    uniform clouds of 50 points in 16 dimensions the effective share of 300 importance draws is 0.03 with
    the kernel alone and 0.46 with ``alpha`` 0.2 (docs/calibration.md, "Model selection").
    """

    def __init__(self, inner: pyabc.transition.Transition, prior: pyabc.Distribution, alpha: float):
        self.inner, self.prior, self.alpha = inner, prior, float(alpha)

    def fit(self, X, w) -> None:
        self.inner.fit(X, w)

    def rvs_single(self):
        if np.random.uniform() < self.alpha:
            return self.prior.rvs()
        return self.inner.rvs_single()

    def pdf(self, x):
        return (1.0 - self.alpha) * self.inner.pdf(x) + self.alpha * self.prior.pdf(x)


TRANSITIONS = {
    "normal": lambda: pyabc.MultivariateNormalTransition(),
    "local": LocalOrNormal,
}


def internal_name(prior: Prior) -> str:
    """The pyabc parameter name: the dotted key with '__' for '.', prefixed 'log10_' for log priors."""
    name = prior.key.replace(".", "__")
    return f"log10_{name}" if prior.log else name


def prior_distribution(priors: list[Prior]) -> pyabc.Distribution:
    """Independent uniform priors on the sampler's scale (scipy's uniform takes loc and width)."""
    rvs = {}
    for p in priors:
        low, high = p.internal_bounds
        rvs[internal_name(p)] = pyabc.RV("uniform", low, high - low)
    return pyabc.Distribution(**rvs)


def natural_values(priors: list[Prior], particle: dict[str, float]) -> dict[str, Any]:
    """A particle's parameters as the model takes them, by dotted key."""
    return {p.key: p.to_model(float(particle[internal_name(p)])) for p in priors}


class BandDistance(pyabc.Distance):
    """Sum over facts of each value's relative miss outside the fact's band (0 inside; `sim.calibration.facts`)."""

    def __init__(self, bands: list[Band]):
        super().__init__()
        self.bands = list(bands)

    def __call__(self, x: dict, x_0: dict, t: int | None = None, par: dict | None = None) -> float:
        return total_distance(self.bands, x)


class ParticleModel:
    """pyabc's model: map a particle to natural values, draw its run seed, simulate the facts.

    The run seed is drawn from NumPy's global random state, which the sampler
    seeded for this particle slot, so it is reproducible.
    """

    def __init__(self, priors: list[Prior], simulate: Callable[[dict[str, Any], int], dict[str, float]]):
        self.priors = list(priors)
        self.simulate = simulate

    def __call__(self, particle: dict[str, float]) -> dict[str, float]:
        seed = int(np.random.randint(0, 2**62, dtype=np.int64))
        values = self.simulate(natural_values(self.priors, particle), seed)
        return {k: float(v) for k, v in values.items()}


def observed(bands: list[Band]) -> dict[str, float]:
    """What pyabc stores as the observed data: each band's midpoint (the distance reads the bands)."""
    return {b.id: (b.low + b.high) / 2 for b in bands}


def build_abc(priors: list[Prior] | list[list[Prior]], bands: list[Band], simulate: Callable | list[Callable],
              population: int, sampler: StaticSampler, resume: bool = False,
              transition: str = "normal", defensive: float = 0.0) -> pyabc.ABCSMC:  # fmt: skip
    """The ABCSMC object; on ``resume`` the first epsilon is the stored last generation's weighted median.

    One structure: ``priors`` a list of priors and ``simulate`` one function. Several (model selection):
    a list of prior lists and a list of simulate functions, one per structure, in the same order; the
    structures share the distance, the epsilon schedule and the population, and pyabc's multi-model
    ABC-SMC (a uniform prior over the structures, its model perturbation kernel) gives each its posterior
    probability. ``defensive`` > 0 draws that share of each generation's proposals from the prior
    (`Defensive`). (pyabc applies ``initial_epsilon`` to the first generation of every ``run()``; infinity
    there would accept every particle of the first generation after a resume.)
    """
    if callable(simulate):
        priors, simulate = [priors], [simulate]
    initial = "from_sample" if resume else math.inf
    return pyabc.ABCSMC(
        models=[ParticleModel(p, f) for p, f in zip(priors, simulate)],
        parameter_priors=[prior_distribution(p) for p in priors],
        distance_function=BandDistance(bands),
        population_size=population,
        transitions=[Defensive(TRANSITIONS[transition](), prior_distribution(p), defensive) if defensive > 0
                     else TRANSITIONS[transition]() for p in priors],  # fmt: skip
        eps=pyabc.QuantileEpsilon(initial_epsilon=initial, alpha=ALPHA, weighted=True),
        sampler=sampler,
    )


def db_url(path: Path) -> str:
    return "sqlite:///" + str(Path(path).resolve())


def stored_generations(db: Path) -> int:
    """How many generations a history holds (0 if none or no file)."""
    if not Path(db).is_file():
        return 0
    try:
        return int(pyabc.History(db_url(db), _id=ABC_ID).max_t + 1)
    except Exception:  # noqa: BLE001 - a history without a run, or one a fault left unusable, holds nothing
        return 0


def last_epsilon(db: Path) -> float | None:
    if stored_generations(db) == 0:
        return None
    populations = pyabc.History(db_url(db), _id=ABC_ID).get_all_populations()
    populations = populations[populations.t >= 0]
    return float(populations.epsilon.iloc[-1])


def finished(db: Path, generations: int | None, min_epsilon: float | None) -> bool:
    done = stored_generations(db)
    if generations is not None and done >= generations:
        return True
    eps = last_epsilon(db)
    return eps is not None and min_epsilon is not None and done > 0 and eps <= min_epsilon


class Progress:
    """Lines on stderr: generation, epsilon, slots done, acceptance rate and an ETA."""

    def __init__(self, generations: int | None, quiet: bool = False, stream=None):
        self.generations = generations
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.abc: pyabc.ABCSMC | None = None
        self.started: dict[int, float] = {}
        self.last_shown: dict[int, int] = {}
        self.durations: list[float] = []

    def _print(self, text: str) -> None:
        if not self.quiet:
            print(text, file=self.stream, flush=True)

    def _label(self, t: int) -> str:
        return f"generation {t + 1}/{self.generations}" if self.generations else f"generation {t + 1}"

    def on_progress(self, t: int, done: int, n: int) -> None:
        now = time.perf_counter()
        start = self.started.setdefault(t, now)
        step = max(1, n // 10)
        if done == 0 or (done < n and done - self.last_shown.get(t, 0) < step):
            return
        self.last_shown[t] = done
        eps = self.abc.eps(t) if self.abc is not None and t >= 0 else math.inf
        elapsed = now - start
        eta = elapsed / done * (n - done) if done else math.nan
        self._print(f"{self._label(t)}: epsilon {eps:.4g}, {done}/{n} particles, "
                    f"{elapsed:.0f} s, ETA of this generation {eta:.0f} s")  # fmt: skip

    def on_generation(self, t: int, n: int, evaluations: int, seconds: float) -> None:
        self.durations.append(seconds)
        eps = self.abc.eps(t) if self.abc is not None else math.nan
        left = ""
        if self.generations:
            remaining = self.generations - (t + 1)
            # acceptance falls as epsilon shrinks, so the last generation's time is a lower bound for the next ones
            left = f"; {remaining} generations left, ETA >= {remaining * seconds / 60:.1f} min" if remaining > 0 else ""
        self._print(f"{self._label(t)} done: epsilon {eps:.4g}, acceptance rate {n / max(evaluations, 1):.3f} "
                    f"({n}/{evaluations}), {seconds:.0f} s{left}")  # fmt: skip


def run_abc(
    priors: list[Prior] | list[list[Prior]],
    bands: list[Band],
    simulate: Callable | list[Callable],
    db: Path,
    population: int,
    generations: int | None,
    min_epsilon: float | None,
    seed: int,
    map_: Callable = serial_map,
    progress: Progress | None = None,
    transition: str = "normal",
    defensive: float = 0.0,
) -> pyabc.History:
    """Run (or continue) ABC-SMC until ``generations`` are stored or epsilon <= ``min_epsilon``.

    ``priors`` and ``simulate`` as `build_abc` takes them: one structure, or one list entry per structure.
    """
    progress = progress or Progress(generations, quiet=True)
    sampler = StaticSampler(map_, seed, on_progress=progress.on_progress)
    sampler.on_generation = progress.on_generation
    done = stored_generations(db)
    abc = build_abc(priors, bands, simulate, population, sampler, resume=done > 0, transition=transition,
                    defensive=defensive)
    progress.abc = abc
    if done > 0:
        abc.load(db_url(db), ABC_ID)
    else:
        Path(db).unlink(missing_ok=True)  # a history interrupted before its first generation holds nothing
        abc.new(db_url(db), observed(bands))
    if finished(db, generations, min_epsilon):
        return abc.history
    remaining = math.inf if generations is None else generations - done
    return abc.run(minimum_epsilon=0.0 if min_epsilon is None else min_epsilon, max_nr_populations=remaining)
