"""Sensitivity analysis of stored runs: SALib indices, grid tables, replication noise.

Replications are averaged per design point before SALib sees them; the
share of variance that is replication noise is reported beside the indices,
so that nobody reads noise as sensitivity. Sobol' and Morris need whole
blocks of design points (a Saltelli block of D + 2 points, a Morris
trajectory of D + 1): on a partial sweep, or where an output has no value
(crossover_day is NaN when no firm overtakes), only the complete blocks are
analysed and the table says how many were used. String outputs (winner)
are mapped on grids but never given to SALib.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from SALib.analyze import delta as delta_analyze
from SALib.analyze import morris as morris_analyze
from SALib.analyze import sobol as sobol_analyze

from sim.sweep.store import SweepFolder
from sim.sweep.tasks import STATUS_OK

METHOD_BLOCK = {"sobol": "Saltelli block", "morris": "trajectory", "lhs": "point", "grid": "point"}
PLURAL = {"Saltelli block": "Saltelli blocks", "trajectory": "trajectories", "point": "points"}


@dataclass
class OutputAnalysis:
    """The analysis of one output: a table (indices or grid cells) and what it used."""

    output: str
    kind: str
    table: pd.DataFrame | None = None
    second_order: pd.DataFrame | None = None
    runs_used: int = 0
    used: str = ""  # short: 'used 60 of 64 Saltelli blocks (600 runs)', for figure titles
    note: str = ""  # everything the reader should know about what was analysed
    csv: Path | None = None


@dataclass
class Analysis:
    """Everything the figures and the report need."""

    sweep: dict[str, Any]
    design: pd.DataFrame
    runs: pd.DataFrame
    counts: dict[str, int]
    noise: pd.DataFrame
    outputs: list[OutputAnalysis] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def keys(self) -> list[str]:
        return list(self.sweep["parameters"])

    def get(self, output: str) -> OutputAnalysis | None:
        return next((o for o in self.outputs if o.output == output), None)


def block_size(sweep: dict[str, Any]) -> int:
    d = len(sweep["parameters"])
    if sweep["method"] == "sobol":
        return 2 * d + 2 if sweep.get("second_order") else d + 2
    return d + 1 if sweep["method"] == "morris" else 1


def problem(sweep: dict[str, Any]) -> dict[str, Any]:
    names = list(sweep["parameters"])
    return {"num_vars": len(names), "names": names, "bounds": [sweep["parameters"][k]["bounds"] for k in names]}


def output_kind(runs: pd.DataFrame, output: str) -> str:
    """'float' or 'string', from the stored values (an output with no value yet counts as a number)."""
    values = runs[output].dropna() if output in runs else pd.Series(dtype=float)
    if values.empty:
        return "float"
    return "float" if pd.api.types.is_numeric_dtype(values.infer_objects()) else "string"


def sample_means(runs: pd.DataFrame, output: str, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Per design point: the mean over its ok runs with a value (NaN if none), and how many runs that is."""
    ok = runs.loc[(runs["status"] == STATUS_OK) & runs[output].notna(), ["sample", output]]
    grouped = ok.groupby("sample")[output]
    means = grouped.mean().reindex(range(n_samples)).to_numpy(dtype=float)
    counts = grouped.size().reindex(range(n_samples), fill_value=0).to_numpy()
    return means, counts


def replication_noise(runs: pd.DataFrame, outputs: list[str]) -> pd.DataFrame:
    """Per numeric output, the share of run-to-run variance that is replication noise.

    noise_share: mean within-point variance over the variance of all runs.
    noise_share_of_means: the same for the point means SALib analyses
    (within variance / replications, over the variance of the means).
    """
    ok = runs[runs["status"] == STATUS_OK] if len(runs) else runs
    rows = []
    for output in outputs:
        if output not in ok or output_kind(ok, output) != "float":
            continue
        values = ok[["sample", output]].dropna()
        per_point = values.groupby("sample")[output]
        counts = per_point.size()
        within = per_point.var(ddof=1)[counts >= 2]
        total = float(values[output].var(ddof=1)) if len(values) > 1 else np.nan
        means = per_point.mean()
        within_var = float(within.mean()) if len(within) else np.nan
        reps = float(counts[counts >= 2].mean()) if len(within) else np.nan
        var_means = float(means.var(ddof=1)) if len(means) > 1 else np.nan
        rows.append({
            "output": output, "runs": len(values), "points": int(counts.size), "replications": reps,
            "total_variance": total, "within_variance": within_var,
            "noise_share": within_var / total if total and total > 0 else np.nan,
            "noise_share_of_means": within_var / reps / var_means if var_means and var_means > 0 else np.nan,
        })  # fmt: skip
    columns = ["output", "runs", "points", "replications", "total_variance", "within_variance",
               "noise_share", "noise_share_of_means"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def complete_blocks(means: np.ndarray, block: int) -> np.ndarray:
    """Which blocks of ``block`` consecutive design points all have a value."""
    n_blocks = means.size // block
    return np.isfinite(means[: n_blocks * block].reshape(n_blocks, block)).all(axis=1)


def sobol_indices(sweep: dict, y: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """S1, ST (and S2 when asked) with bootstrap confidence half-widths."""
    names = list(sweep["parameters"])
    second = bool(sweep.get("second_order"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        si = sobol_analyze.analyze(problem(sweep), y, calc_second_order=second, num_resamples=sweep["resamples"],
                                   conf_level=sweep["conf_level"], seed=sweep["seed"])  # fmt: skip
    table = pd.DataFrame({"parameter": names, "S1": si["S1"], "S1_conf": si["S1_conf"], "ST": si["ST"], "ST_conf": si["ST_conf"]})
    if not second:
        return table, None
    pairs = [(i, j) for i in range(len(names)) for j in range(i + 1, len(names))]
    s2 = pd.DataFrame({
        "parameter_1": [names[i] for i, _ in pairs], "parameter_2": [names[j] for _, j in pairs],
        "S2": [si["S2"][i, j] for i, j in pairs], "S2_conf": [si["S2_conf"][i, j] for i, j in pairs],
    })  # fmt: skip
    return table, s2


def morris_indices(sweep: dict, x: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """mu*, its confidence half-width, sigma (and mu) of the elementary effects."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        si = morris_analyze.analyze(problem(sweep), x, y, num_resamples=sweep["resamples"], conf_level=sweep["conf_level"],
                                    num_levels=sweep["levels"], seed=sweep["seed"])  # fmt: skip
    return pd.DataFrame({"parameter": list(sweep["parameters"]), "mu_star": si["mu_star"],
                         "mu_star_conf": si["mu_star_conf"], "sigma": si["sigma"], "mu": si["mu"]})  # fmt: skip


def delta_indices(sweep: dict, x: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """Borgonovo's delta and first-order S1, for any sample (used for Latin hypercube sweeps)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        si = delta_analyze.analyze(problem(sweep), x, y, num_resamples=min(sweep["resamples"], 200),
                                   conf_level=sweep["conf_level"], seed=sweep["seed"])  # fmt: skip
    return pd.DataFrame({"parameter": list(sweep["parameters"]), "delta": si["delta"], "delta_conf": si["delta_conf"],
                         "S1": si["S1"], "S1_conf": si["S1_conf"]})  # fmt: skip


def grid_table(analysis_runs: pd.DataFrame, design: pd.DataFrame, output: str, kind: str) -> pd.DataFrame:
    """Per grid point: mean, sd and n of a numeric output, or the winner shares of a string one."""
    ok = analysis_runs[(analysis_runs["status"] == STATUS_OK) & analysis_runs[output].notna()]
    points = design.copy()
    if kind == "float":
        stats = ok.groupby("sample")[output].agg(["mean", "std", "count"]).rename(columns={"std": "sd", "count": "n"})
        table = points.join(stats)
        table["n"] = table["n"].fillna(0).astype(int)
        return table.reset_index()
    shares = pd.crosstab(ok["sample"], ok[output], normalize="index")
    table = points.join(shares.add_prefix("share_"))
    counts = ok.groupby("sample").size().rename("n")
    table = table.join(counts)
    table["n"] = table["n"].fillna(0).astype(int)
    share_cols = [c for c in table.columns if c.startswith("share_")]
    top = table[share_cols].fillna(0)
    best = top.max(axis=1)
    leaders = top.eq(best, axis=0).sum(axis=1)
    table[output] = np.where(table["n"] == 0, None, np.where(leaders > 1, "tie", top.idxmax(axis=1).str[6:]))
    return table.reset_index()


def analyse(folder: SweepFolder) -> Analysis:
    """Analyse what is stored (complete or partial) and write OUT/analysis/*.csv."""
    sweep = folder.stored_sweep()
    design = folder.read_design()
    runs = folder.read_runs()
    n_points, reps = len(design), int(sweep["replications"])
    if runs.empty:
        runs = pd.DataFrame(columns=["run_id", "sample", "replication", "status", *sweep["outputs"]])
    counts = {
        "total": n_points * reps, "ok": int((runs["status"] == STATUS_OK).sum()),
        "failed": int((runs["status"] == "failed").sum()),
    }  # fmt: skip
    counts["missing"] = counts["total"] - counts["ok"] - counts["failed"]
    noise = replication_noise(runs, sweep["outputs"])
    result = Analysis(sweep=sweep, design=design, runs=runs, counts=counts, noise=noise)
    folder.analysis.mkdir(parents=True, exist_ok=True)
    noise.to_csv(folder.analysis / "replication_noise.csv", index=False)
    for output in sweep["outputs"]:
        result.outputs.append(_analyse_output(folder, sweep, design, runs, output))
    return result


def _analyse_output(folder: SweepFolder, sweep: dict, design: pd.DataFrame, runs: pd.DataFrame, output: str) -> OutputAnalysis:
    method, kind = sweep["method"], output_kind(runs, output)
    found = OutputAnalysis(output=output, kind=kind)
    ok = runs["status"] == STATUS_OK
    empty = int((ok & runs[output].isna()).sum())
    if empty:
        why = " (crossover_day is empty when no firm overtakes for good)" if output.endswith("crossover_day") else ""
        found.note = f"{empty} of {int(ok.sum())} ok runs have no value{why}; point means use the runs with a value"
    if method == "grid":
        found.table = grid_table(runs, design, output, kind)
        found.runs_used = int(found.table["n"].sum())
        found.note = "; ".join(filter(None, [found.note, f"{found.runs_used} runs used"]))
        found.csv = folder.analysis / f"grid_{_safe(output)}.csv"
        found.table.to_csv(found.csv, index=False)
        return found
    if kind != "float":
        found.note = f"{output} is not a number: not analysed by SALib (map it with a grid sweep)"
        return found
    means, counts = sample_means(runs, output, len(design))
    block = block_size(sweep)
    complete = complete_blocks(means, block) if method != "lhs" else np.isfinite(means)
    n_used, n_all = int(complete.sum()), int(complete.size)
    unit = METHOD_BLOCK[method]
    keep = np.repeat(complete, block)
    found.runs_used = int(counts[: keep.size][keep].sum())
    units = PLURAL[unit]
    found.used = f"used {n_used} of {n_all} {units} ({found.runs_used} runs)"
    rule = f"; a {unit} counts only if each of its {block} points has a value" if method != "lhs" else ""
    found.note = "; ".join(filter(None, [found.note, found.used + rule]))
    if empty and n_used < n_all:
        found.note += (f"; the {units} dropped for lack of a value are not a random subset (they hold the points "
                       "without one), so read these indices with care")  # fmt: skip
    if n_used < 2 or (method == "lhs" and n_used < 10):
        found.note += f": too few complete {units} for {method}, analysis skipped"
        return found
    y = means[: keep.size][keep]
    if np.ptp(y) == 0:
        found.note += f": {output} is constant, no sensitivity to analyse"
        return found
    x = design.to_numpy(dtype=float)[: keep.size][keep]
    if method == "sobol":
        found.table, found.second_order = sobol_indices(sweep, y)
    elif method == "morris":
        found.table = morris_indices(sweep, x, y)
    else:
        found.table = delta_indices(sweep, x, y)
    prefix = {"sobol": "sobol", "morris": "morris", "lhs": "delta"}[method]
    found.csv = folder.analysis / f"{prefix}_{_safe(output)}.csv"
    found.table.to_csv(found.csv, index=False)
    if found.second_order is not None:
        found.second_order.to_csv(folder.analysis / f"sobol_{_safe(output)}_S2.csv", index=False)
    return found


def _safe(name: str) -> str:
    """An output name usable in a file name (dots are fine, slashes are not)."""
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
