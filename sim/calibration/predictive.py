"""Posterior-predictive runs of the duel: the calibrated region against the default world.

``predictive_draws`` particles are drawn from the last generation by
weight; each runs once with its own seed (SeedSequence of the
calibration's seed and the draw). The default world (the base scenario
with the overrides, no calibrated values) runs at the same seeds, so the
two differ only in the calibrated parameters. Every run records the
facts' model values and the duel's outcomes (`sim.calibration.answer.
duel_outcomes`: each firm's early and late reach, late spend and reach per
unit of spend, the crossover day); each calibrated draw also runs the
matched-spend dialogue at the same seed (`sim.calibration.matched`). Results are cached in OUT/predictive.parquet
for the generation they were drawn from.
"""

from __future__ import annotations

import warnings
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from sim.calibration.facts import Band
from sim.calibration.posterior import draw_particles
from sim.calibration.spec import Calibration
from sim.runs.runner import replication_seed

WORLDS = ("calibrated", "default")
MATCHED = "matched.dialogue.late_reach"  # a cache written before the matched-spend runs lacks it


def predictive_run(job: tuple[str, int, int, dict[str, Any]], base: dict[str, Any], bands: list[Band]) -> dict[str, Any]:
    """One run of the duel at given values: the facts' values and the firms' outcomes (runs on a worker)."""
    from sim.calibration.validation_api import fact_values
    from sim.runs.runner import run_replication
    from sim.jobs.models import MarketSweepModel

    from sim.calibration.answer import duel_outcomes
    from sim.calibration.matched import MatchedSpendError, duel_pair, matched_outcomes

    world, draw, seed, values = job
    config = MarketSweepModel(base).config(values)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = run_replication(config, seed, draw)
        facts = fact_values(rep, bands)
    row: dict[str, Any] = {"world": world, "draw": draw, "seed": seed, **values, **facts, **duel_outcomes(rep)}
    if world == "calibrated":  # the answer at matched spend, where the world has the duel's two firms
        try:
            duel_pair(config)
        except MatchedSpendError:
            return row
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            row.update(matched_outcomes(config, seed, draw))
    return row


def predictive_jobs(calibration: Calibration, posterior: pd.DataFrame) -> list[tuple]:
    draws = draw_particles(posterior, calibration.predictive_draws, calibration.seed)
    jobs = []
    for k, row in draws.iterrows():
        seed = replication_seed(calibration.seed + 1, int(k))
        values = {p.key: (int(row[p.key]) if p.info.kind == "int" else float(row[p.key])) for p in calibration.priors}
        jobs.append(("calibrated", int(k), seed, values))
        jobs.append(("default", int(k), seed, {}))
    return jobs


def predictive_frame(calibration: Calibration, posterior: pd.DataFrame, map_, cached: pd.DataFrame | None = None) -> pd.DataFrame:
    """The predictive runs of the posterior's generation (the cache when it matches)."""
    generation = int(posterior["generation"].iloc[0])
    if cached is not None and len(cached) and int(cached["generation"].iloc[0]) == generation \
            and len(cached) == 2 * calibration.predictive_draws and MATCHED in cached.columns:  # fmt: skip
        return cached
    jobs = predictive_jobs(calibration, posterior)
    rows = map_(partial(predictive_run, base=calibration.base, bands=calibration.bands), jobs)
    frame = pd.DataFrame(rows)
    frame.insert(0, "generation", generation)
    return frame


def duel_firms(frame: pd.DataFrame) -> tuple[str, str]:
    """(push firm, dialogue firm): 'broadcast' and 'dialogue' when present, else the first two firms."""
    firms = [c.removesuffix(".late_reach") for c in frame.columns if c.endswith(".late_reach")]
    if "broadcast" in firms and "dialogue" in firms:
        return "broadcast", "dialogue"
    return firms[0], firms[1]


def jeffreys(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Jeffreys interval of a binomial proportion (Beta(k + 1/2, n - k + 1/2) quantiles)."""
    from scipy import stats

    a = (1 - level) / 2
    low = 0.0 if k == 0 else float(stats.beta.ppf(a, k + 0.5, n - k + 0.5))
    high = 1.0 if k == n else float(stats.beta.ppf(1 - a, k + 0.5, n - k + 0.5))
    return low, high


def answer(frame: pd.DataFrame) -> pd.DataFrame:
    """Per world: P(dialogue late reach > push's) with its interval, the gaps and the crossover day."""
    push, dialogue = duel_firms(frame)
    rows = []
    for world in WORLDS:
        part = frame[frame["world"] == world]
        n = len(part)
        if n == 0:
            continue
        late_gap = (part[f"{dialogue}.late_reach"] - part[f"{push}.late_reach"]).to_numpy(float)
        early_gap = (part[f"{dialogue}.early_reach"] - part[f"{push}.early_reach"]).to_numpy(float)
        wins = int((late_gap > 0).sum())
        low, high = jeffreys(wins, n)
        cross = part["crossover_day"].to_numpy(float)
        crossed = cross[np.isfinite(cross)]
        rows.append({
            "world": world, "runs": n, "p_dialogue_wins_late": wins / n, "p_low": low, "p_high": high,
            "early_gap_mean": early_gap.mean(), "early_gap_q05": np.quantile(early_gap, 0.05),
            "early_gap_q95": np.quantile(early_gap, 0.95),
            "late_gap_mean": late_gap.mean(), "late_gap_q05": np.quantile(late_gap, 0.05),
            "late_gap_q95": np.quantile(late_gap, 0.95),
            "crossover_share": len(crossed) / n,
            "crossover_median": float(np.median(crossed)) if len(crossed) else np.nan,
            "crossover_q05": float(np.quantile(crossed, 0.05)) if len(crossed) else np.nan,
            "crossover_q95": float(np.quantile(crossed, 0.95)) if len(crossed) else np.nan,
        })  # fmt: skip
    return pd.DataFrame(rows)
