"""The posterior from a pyabc history: particles on the natural scale, weighted summaries, the calibrated scenario.

Credible intervals are weighted quantiles of the last generation's
particles (the 5% and 95% points for the 90% interval); the weighted
median is the point the calibrated scenario takes. The calibrated scenario
is the base configuration with each parameter at its marginal posterior
median (a point, not the joint posterior: report.md's predictive runs use
the joint posterior).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyabc

from sim.calibration.engine import ABC_ID, db_url, internal_name
from sim.calibration.spec import Calibration

LEVEL = 0.90


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The q-quantile of a weighted sample (inverse of the weighted empirical CDF, midpoint rule)."""
    order = np.argsort(values)
    values, weights = np.asarray(values, float)[order], np.asarray(weights, float)[order]
    cdf = (np.cumsum(weights) - 0.5 * weights) / weights.sum()
    return float(np.interp(q, cdf, values))


def history(db) -> pyabc.History:
    return pyabc.History(db_url(db), _id=ABC_ID)


def _rows(db, sql: str, args: tuple) -> list[tuple]:
    """Rows of a read-only query on the history's SQLite file (pyabc's tables)."""
    connection = sqlite3.connect(f"file:{Path(db).resolve()}?mode=ro", uri=True)
    try:
        return connection.execute(sql, args).fetchall()
    finally:
        connection.close()


def particle_distances(db, t: int, m: int) -> np.ndarray:
    """The distances of structure ``m``'s particles in generation ``t``, in particle order (as
    `pyabc.History.get_distribution` orders them; one accepted sample per particle)."""
    rows = _rows(db, "SELECT p.id, s.distance FROM particles p JOIN samples s ON s.particle_id = p.id "
                     "JOIN models mo ON p.model_id = mo.id JOIN populations po ON mo.population_id = po.id "
                     "WHERE po.abc_smc_id = ? AND po.t = ? AND mo.m = ? ORDER BY p.id", (ABC_ID, int(t), int(m)))  # fmt: skip
    return np.array([d for _, d in rows], float)


def generation_weights(db, t: int) -> np.ndarray:
    """Every particle's weight in generation ``t``, over all structures (they sum to 1)."""
    rows = _rows(db, "SELECT p.w FROM particles p JOIN models mo ON p.model_id = mo.id JOIN populations po "
                     "ON mo.population_id = po.id WHERE po.abc_smc_id = ? AND po.t = ?", (ABC_ID, int(t)))  # fmt: skip
    return np.array([w for (w,) in rows], float)


def posterior_frame(calibration: Calibration, db, t: int | None = None, m: int = 0) -> pd.DataFrame:
    """Generation ``t`` (default: the last) of structure ``m``, one row per particle: parameters (natural
    scale), weight (normalised within the structure), distance. Empty when the structure has no particle."""
    h = history(db)
    t = h.max_t if t is None else t
    params, weights = h.get_distribution(m=m, t=t)
    columns = {p.key: [p.to_model(x) for x in params[internal_name(p)]] if len(params) else [] for p in calibration.priors}
    frame = pd.DataFrame(columns, dtype=float if not len(params) else None)
    frame["weight"] = np.asarray(weights, float)
    frame["distance"] = particle_distances(db, t, m)
    frame.insert(0, "generation", int(t))
    return frame


def model_probabilities(db, names: list[str], last: int | None = None) -> pd.DataFrame:
    """Per generation (1-based, up to ``last`` 0-based) and structure: its posterior probability (0 once dead)."""
    table = history(db).get_model_probabilities()
    rows = []
    for t in table.index:
        if last is not None and t > last:
            continue
        for m, name in enumerate(names):
            rows.append({"generation": int(t) + 1, "structure": name,
                         "probability": float(table.at[t, m]) if m in table.columns else 0.0})  # fmt: skip
    return pd.DataFrame(rows, columns=["generation", "structure", "probability"])


def summary_frame(calibration: Calibration, posterior: pd.DataFrame) -> pd.DataFrame:
    """Per parameter: weighted median, 90% credible interval, the prior's bounds and scale."""
    rows = []
    w = posterior["weight"].to_numpy(float)
    for p in calibration.priors:
        x = posterior[p.key].to_numpy(float)
        rows.append({
            "parameter": p.key,
            "median": weighted_quantile(x, w, 0.5),
            "ci_low": weighted_quantile(x, w, (1 - LEVEL) / 2),
            "ci_high": weighted_quantile(x, w, (1 + LEVEL) / 2),
            "prior_low": p.low,
            "prior_high": p.high,
            "prior": "log-uniform" if p.log else "uniform",
            "default": calibration.base.get(p.key) if "." not in p.key else None,
        })  # fmt: skip
    return pd.DataFrame(rows)


def generations_frame(db, last: int | None = None) -> pd.DataFrame:
    """Per generation (up to generation ``last``, default all): epsilon, particles, simulations, acceptance
    rate, effective sample size, wall time.

    The effective sample size 1 / sum(w^2) of the normalised weights says how many particles the weighted
    posterior is worth: far below the population when a few particles carry most of the weight.
    """
    h = history(db)
    pops = h.get_all_populations()
    pops = pops[(pops.t >= 0) & (pops.t <= (pops.t.max() if last is None else last))].copy()
    pops["acceptance_rate"] = pops["particles"] / pops["samples"]
    ess = []
    for t in pops["t"]:
        w = generation_weights(db, int(t))
        ess.append(float(w.sum() ** 2 / np.sum(w**2)))
    pops["ess"] = ess
    return pops[["t", "epsilon", "particles", "samples", "acceptance_rate", "ess", "wall_time"]].reset_index(drop=True)


def median_values(calibration: Calibration, summary: pd.DataFrame) -> dict[str, Any]:
    """Each parameter at its posterior median, as the model takes it (integers rounded)."""
    medians = dict(zip(summary["parameter"], summary["median"]))
    out = {}
    for p in calibration.priors:
        value = medians[p.key]
        out[p.key] = int(round(value)) if p.info.kind == "int" else float(f"{value:.6g}")
    return out


def draw_particles(posterior: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """``n`` particles drawn from the weighted posterior (with replacement), reproducibly."""
    rng = np.random.default_rng([seed, int(posterior["generation"].iloc[0]), 7])
    w = posterior["weight"].to_numpy(float)
    index = rng.choice(len(posterior), size=n, replace=True, p=w / w.sum())
    return posterior.iloc[index].reset_index(drop=True)


def stored_stats(db, last: int | None = None, m: int = 0) -> list[list[dict]]:
    """Every stored particle's facts of structure ``m``, by generation (0 to ``last``, default all): read
    once, for both `reachability` and `joint_reach`."""
    h = history(db)
    return [h.get_weighted_sum_stats_for_model(m=m, t=t)[1] for t in range((h.max_t if last is None else last) + 1)]


def reachability(calibration: Calibration, db, last: int | None = None, m: int = 0,
                 stats: list[list[dict]] | None = None) -> pd.DataFrame:  # fmt: skip
    """Per fact, over every stored particle of structure ``m`` (the prior sample of generation 1 included):
    the range of model values and how many particles were inside the band. A fact no particle reached is
    evidence that no parameter inside the priors reaches it (within the sample's resolution). ``stats``:
    `stored_stats`, when already read."""
    values: dict[str, list[float]] = {b.id: [] for b in calibration.bands}
    prior_values: dict[str, list[float]] = {b.id: [] for b in calibration.bands}
    for t, generation in enumerate(stored_stats(db, last, m) if stats is None else stats):
        for s in generation:
            for b in calibration.bands:
                values[b.id].append(float(s.get(b.id, np.nan)))
                if t == 0:
                    prior_values[b.id].append(float(s.get(b.id, np.nan)))
    rows = []
    for b in calibration.bands:
        v = np.asarray(values[b.id], float)
        finite = v[np.isfinite(v)]
        prior = np.asarray(prior_values[b.id], float)
        prior = prior[np.isfinite(prior)]
        inside = int(((finite >= b.low) & (finite <= b.high)).sum())
        rows.append({
            "fact": b.id, "band_low": b.low, "band_high": b.high,
            "prior_sample_min": prior.min() if len(prior) else np.nan,
            "prior_sample_max": prior.max() if len(prior) else np.nan,
            "all_min": finite.min() if len(finite) else np.nan, "all_max": finite.max() if len(finite) else np.nan,
            "particles": len(v), "inside": inside,
            "verdict": "reached" if inside else ("never reached: always above" if len(finite) and finite.min() > b.high
                                                  else "never reached: always below" if len(finite) and finite.max() < b.low
                                                  else "never reached"),
        })  # fmt: skip
    return pd.DataFrame(rows)


def joint_reach(calibration: Calibration, db, last: int | None = None, m: int = 0,
                stats: list[list[dict]] | None = None) -> dict[str, Any]:  # fmt: skip
    """Over every stored particle of structure ``m``: the most facts one particle met at once, how many
    particles did, and the facts the first of them missed (reachability counts each fact on its own)."""
    best: list[str] | None = None
    count = particles = 0
    for generation in stored_stats(db, last, m) if stats is None else stats:
        for s in generation:
            particles += 1
            inside = [b.id for b in calibration.bands if b.low <= float(s.get(b.id, np.nan)) <= b.high]
            if best is None or len(inside) > len(best):
                best, count = inside, 1
            elif len(inside) == len(best):
                count += 1
    met = best or []
    return {"particles": particles, "most_facts_met": len(met), "facts": len(calibration.bands),
            "particles_meeting_most": count, "missed_by_best": [b.id for b in calibration.bands if b.id not in met]}
