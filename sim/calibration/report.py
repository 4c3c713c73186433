"""A calibration's report from its history.db: posterior tables, figures, calibrated.yaml, report.md.

Runs at any time, mid-run too: it uses the last finished generation and
says which one. The posterior-predictive runs (see `sim.calibration.
predictive`) answer the project's question inside the calibrated region.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from sim.calibration import figures
from sim.calibration.engine import ALPHA, stored_generations
from sim.calibration.facts import MISSING_PENALTY
from sim.calibration.folder import CalibrationFolder, write_parquet, write_text
from sim.calibration.posterior import (
    LEVEL,
    generations_frame,
    joint_reach,
    median_values,
    posterior_frame,
    reachability,
    stored_stats,
    summary_frame,
)
from sim.calibration.predictive import answer, duel_firms, predictive_frame
from sim.calibration.spec import Calibration
from sim.runs.provenance import git_state
from sim.scenario import load_scenario


def build_report(folder: CalibrationFolder, calibration: Calibration, map_) -> Path:
    """Write every derived file of the calibration folder; returns report.md.

    Every file is of one generation, the last finished when the report
    starts, while a calibrate session may be adding the next; two reports
    on one folder take turns (`CalibrationFolder.reporting`).
    """
    with folder.reporting():
        return _build_report(folder, calibration, map_)


def _build_report(folder: CalibrationFolder, calibration: Calibration, map_) -> Path:
    last = stored_generations(folder.history) - 1  # pinned: a running calibrate may store more meanwhile
    if calibration.multi:
        from sim.calibration.selection import selection_report

        return selection_report(folder, calibration, map_, last)
    generations = generations_frame(folder.history, last)
    out = posterior_outputs(folder, calibration, folder.history, last, 0, generations, map_)
    made = {**out["figures"],
            "epsilon": figures.epsilon_acceptance(generations, folder.figures / "epsilon_acceptance.png", calibration.name)}
    write_text(folder.out / "reachability.csv", out["reach"].to_csv(index=False))
    text = report_text(calibration, folder, out["posterior"], out["summary"], generations, out["predictive"],
                       out["calibrated"], made, out["reach"])  # fmt: skip
    write_text(folder.report, text)
    return folder.report


def posterior_outputs(folder: CalibrationFolder, calibration: Calibration, db: Path, last: int, m: int,
                      generations: pd.DataFrame, map_) -> dict[str, Any]:  # fmt: skip
    """One structure's posterior files in ``folder``: posterior, summary, calibrated scenario, predictive runs,
    figures (marginals, pairwise, predictive check) and reachability; returns them by name.

    ``calibration`` is the structure's view (its world and priors), ``m`` its index in the history. A structure
    without particles in generation ``last`` gets only its reachability (``posterior`` is then empty).
    """
    stats = stored_stats(db, last, m)
    reach = reachability(calibration, db, last, m, stats)
    joint = joint_reach(calibration, db, last, m, stats)
    posterior = posterior_frame(calibration, db, last, m)
    if posterior.empty:
        return {"posterior": posterior, "reach": reach, "joint": joint}
    folder.out.mkdir(parents=True, exist_ok=True)
    write_parquet(folder.posterior, posterior)
    summary = summary_frame(calibration, posterior)
    write_text(folder.summary, summary.to_csv(index=False))
    calibrated = calibrated_scenario(calibration, summary, generations, folder, db)
    cached = pd.read_parquet(folder.predictive) if folder.predictive.exists() else None
    predictive = predictive_frame(calibration, posterior, map_, cached)
    write_parquet(folder.predictive, predictive)
    folder.figures.mkdir(parents=True, exist_ok=True)
    made = {
        "marginals": figures.marginals(calibration, posterior, folder.figures / "marginals.png"),
        "pairwise": figures.pairwise(calibration, posterior, folder.figures / "pairwise.png"),
        "predictive": figures.predictive_validation(calibration, predictive, folder.figures / "predictive_validation.png"),
    }
    return {"posterior": posterior, "summary": summary, "calibrated": calibrated, "predictive": predictive,
            "figures": made, "reach": reach, "joint": joint}  # fmt: skip


def calibrated_scenario(calibration: Calibration, summary: pd.DataFrame, generations: pd.DataFrame,
                        folder: CalibrationFolder, db: Path | None = None) -> dict[str, Any]:  # fmt: skip
    """The base configuration at the posterior medians, as a runnable scenario file (checked by loading it)."""
    values = median_values(calibration, summary)
    config = json.loads(json.dumps(calibration.base))
    for key, value in values.items():
        parts = key.split(".")
        if parts[0] == "firms":
            next(f for f in config["firms"] if f["name"] == parts[1])[parts[2]] = value
        else:  # a top-level key or a block's (market.discover_rate)
            node = config
            for part in parts[:-1]:
                node = node[part]
            node[parts[-1]] = value
    last = generations.iloc[-1]
    done = len(generations)
    planned = calibration.generations
    status = "finished" if planned is None or done >= planned else f"PARTIAL: {done} of {planned} generations"
    description = (
        f"The duel world calibrated by ABC-SMC ({calibration.name}, {status}): "
        + ", ".join(f"{k} = {v:g}" for k, v in values.items())
        + f" (weighted posterior medians of generation {done}, epsilon {last['epsilon']:.4g}) against the facts "
        + ", ".join(b.id for b in calibration.bands)
        + f". Seed {calibration.seed}, population {calibration.population}, fingerprint {calibration.fingerprint()}, "
        + f"git {git_state()['git_revision']}, written {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC from "
        + f"{db or folder.history}. Not a new default: the spec's defaults are unchanged."
        + (f" Warning: the effective sample size of generation {done} is {last['ess']:.1f} of "
           f"{int(last['particles'])} particles; these medians rest on a few particles (report.md)."
           if weight_warning(generations) else "")
    )
    scenario = {"name": f"{calibration.name}_calibrated", "description": description, "seed": 42, "replications": 10, **config}
    text = yaml.safe_dump(scenario, sort_keys=False, allow_unicode=True, width=100)
    write_text(folder.calibrated, text)
    load_scenario(folder.calibrated)  # the file must run with `python run.py`
    return scenario


def _fmt(x: float) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "n/a"
    return f"{x:.3g}"


def _table(frame: pd.DataFrame) -> str:
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_fmt(v) if isinstance(v, (float, np.floating)) else str(v) for v in row) + " |")
    return "\n".join(lines)


def fact_table(calibration: Calibration, predictive: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for band in calibration.bands:
        row: dict[str, Any] = {"fact": band.id, "band": f"{band.low:g} to {band.high:g}"}
        for world in ("calibrated", "default"):
            v = predictive.loc[predictive["world"] == world, band.id].to_numpy(float)
            finite = v[np.isfinite(v)]
            row[f"{world} median"] = float(np.median(finite)) if len(finite) else np.nan
            row[f"{world} inside"] = f"{np.mean((finite >= band.low) & (finite <= band.high)):.0%}" if len(finite) else "n/a"
        rows.append(row)
    return pd.DataFrame(rows)


LOW_ESS_SHARE = 0.1  # below this share of the population, the last generation's weights are called degenerate


def weight_warning(generations: pd.DataFrame) -> str | None:
    """A warning when the last generation's effective sample size is under 10% of its particles, else None.

    Importance weights can pile onto a few particles (a proposal kernel too narrow for the posterior's
    shape); the medians, the calibrated scenario and the predictive draws then rest on those few.
    """
    last = generations.iloc[-1]
    if last["ess"] >= LOW_ESS_SHARE * last["particles"]:
        return None
    others = generations["ess"].iloc[:-1]
    best = (f"; generation {int(others.idxmax()) + 1} had {others.max():.0f}" if len(others) else "")
    return (f"**Warning: degenerate weights.** The last generation's effective sample size is {last['ess']:.1f} of "
            f"{int(last['particles'])} particles (under {LOW_ESS_SHARE:.0%}{best}): its medians, `calibrated.yaml` "
            "and the posterior-predictive draws rest on a few particles. Read the generations table and the "
            "pairwise plot before using them; more particles or another generation may help.")


def report_text(calibration, folder, posterior, summary, generations, predictive, calibrated, made, reach) -> str:
    push, dialogue = duel_firms(predictive)
    ans = answer(predictive).set_index("world")
    rel = {k: Path(v).relative_to(folder.out).as_posix() for k, v in made.items()}
    cal, dft = ans.loc["calibrated"], ans.loc["default"]
    lines = [
        f"# Calibration {calibration.name}",
        "",
        status_line(calibration, folder, generations),
        "",
        "## What was calibrated, against what",
        "",
        f"Parameters (priors uniform over the bounds; log-uniform where marked) of the world "
        f"`{calibration.scenario}` with overrides {calibration.overrides}, against the facts:",
        "",
        bands_table(calibration),
        "",
        distance_sentence(),
        "",
        "## Posterior",
        "",
        _table(summary.rename(columns={"ci_low": f"{LEVEL:.0%} CI low", "ci_high": f"{LEVEL:.0%} CI high"})),
        "",
        f"![marginals]({rel['marginals']})",
        "",
        f"![pairwise]({rel['pairwise']})",
        "",
        "## Generations",
        "",
        _table(generations.assign(t=generations["t"] + 1).rename(columns={"t": "generation"})),
        "",
        f"![epsilon and acceptance]({rel['epsilon']})",
        "",
        "## Posterior-predictive check against the facts",
        "",
        f"{int(ans.loc['calibrated', 'runs'])} runs at particles drawn from the posterior by weight, and the default "
        "world (no calibrated values) at the same seeds. 'inside': share of runs inside the band.",
        "",
        _table(fact_table(calibration, predictive)),
        "",
        f"![posterior-predictive validation]({rel['predictive']})",
        "",
        "## Which facts the model reaches inside the priors",
        "",
        f"Every particle stored in history.db ({int(reach['particles'].iloc[0])} in all; generation 1 is "
        f"{int(generations['particles'].iloc[0])} draws from the prior): the range of each fact's model value and how "
        "many particles were inside its band. A fact no particle reached, with the prior sample's range entirely on one "
        "side, is one the model cannot meet anywhere inside the priors (up to the sample's resolution).",
        "",
        _table(reach),
        "",
        "## The question inside the calibrated region",
        "",
        f"Does push ({push}) lose reach to dialogue ({dialogue})? Same seeds in both worlds; intervals: "
        "95% Jeffreys for the probability, 5-95% predictive quantiles over runs for gaps and crossover.",
        "",
        "| | calibrated region | default world |",
        "|---|---|---|",
        f"| P({dialogue} late reach > {push}'s) | {cal.p_dialogue_wins_late:.2f} ({cal.p_low:.2f} to {cal.p_high:.2f}) "
        f"| {dft.p_dialogue_wins_late:.2f} ({dft.p_low:.2f} to {dft.p_high:.2f}) |",
        f"| early gap ({dialogue} - {push}, mean daily reach, days 1-30) | {cal.early_gap_mean:.1f} "
        f"({cal.early_gap_q05:.1f} to {cal.early_gap_q95:.1f}) | {dft.early_gap_mean:.1f} "
        f"({dft.early_gap_q05:.1f} to {dft.early_gap_q95:.1f}) |",
        f"| late gap (last 90 days) | {cal.late_gap_mean:.1f} ({cal.late_gap_q05:.1f} to {cal.late_gap_q95:.1f}) "
        f"| {dft.late_gap_mean:.1f} ({dft.late_gap_q05:.1f} to {dft.late_gap_q95:.1f}) |",
        f"| runs with a crossover | {cal.crossover_share:.0%} | {dft.crossover_share:.0%} |",
        f"| crossover day (median, 5-95%) | {_fmt(cal.crossover_median)} ({_fmt(cal.crossover_q05)} to "
        f"{_fmt(cal.crossover_q95)}) | {_fmt(dft.crossover_median)} ({_fmt(dft.crossover_q05)} to {_fmt(dft.crossover_q95)}) |",
        "",
        *three_ways(calibration, predictive),
        f"`calibrated.yaml` holds the scenario at the posterior medians; run it with `python run.py {folder.calibrated}`.",
        "",
        *provenance_lines(calibration, folder),
    ]
    return "\n".join(lines) + "\n"


def three_ways(calibration: Calibration, predictive: pd.DataFrame) -> list[str]:
    """The calibrated region's answer per firm, per unit of spend and at matched spend (`sim.calibration.answer`)."""
    from sim.calibration.answer import answer_markdown, answer_table
    from sim.calibration.predictive import MATCHED

    if MATCHED not in predictive.columns:
        return []
    frame = predictive[predictive["world"] == "calibrated"].assign(structure=calibration.name)
    table = answer_table(frame, {calibration.name: 1.0})
    table = table[table["structure"] == calibration.name]
    return ["The same question three ways in the calibrated region: per firm, per unit of late daily spend, and at "
            "matched spend (the dialogue firm posts as many posts a day as make its whole late spend meet "
            "broadcast's in the same run; `sim/calibration/matched.py`, docs/calibration.md):", "",
            answer_markdown(table), ""]  # fmt: skip


def status_line(calibration: Calibration, folder: CalibrationFolder, generations: pd.DataFrame) -> str:
    """The report's first paragraph: finished or partial, the generation shown, simulations, time, sessions."""
    done, planned = len(generations), calibration.generations
    status = "finished" if planned is None or done >= planned else f"**partial**: {done} of {planned} generations stored"
    sessions = folder.sessions()
    killed = sum(1 for s in sessions if s.get("finished_utc") is None)
    wall = float(generations["wall_time"].sum())  # pyabc's own per-generation times: killed sessions count too
    text = (f"Status: {status}; the posterior below is generation {done} "
            f"(epsilon {generations['epsilon'].iloc[-1]:.4g}, {int(generations['samples'].sum())} simulations in all, "
            f"sampling wall time {wall / 60:.1f} min, the sum of the generations' own times, over {len(sessions)} "
            f"session(s){f', {killed} of them interrupted without a record of its end' if killed else ''}).")  # fmt: skip
    warning = weight_warning(generations)
    return text + (f"\n\n{warning}" if warning else "")


def bands_table(calibration: Calibration) -> str:
    """The facts matched: id, band, model quantity and source, as a markdown table."""
    return _table(pd.DataFrame([{"fact": b.id, "band": f"{b.low:g} to {b.high:g}", "model quantity": b.quantity,
                                 "source": b.source} for b in calibration.bands]))  # fmt: skip


def distance_sentence() -> str:
    return ("Distance: the unweighted sum over facts of each value's relative miss outside its band (0 inside; "
            "on a log-scale fact the natural log of the factor it misses by, on a linear one the miss over the "
            f"band's larger edge; a quantity the run cannot compute counts {MISSING_PENALTY:g}). Epsilon: infinity in generation 1 (the "
            f"prior sample), then the weighted {ALPHA:.0%} quantile (median) of the previous generation's distances.")


def provenance_lines(calibration: Calibration, folder: CalibrationFolder) -> list[str]:
    """The report's provenance section: fingerprint, seed, git revision and every session."""
    lines = [
        "## Provenance",
        "",
        f"Calibration fingerprint {calibration.fingerprint()}; seed {calibration.seed}; git {git_state()['git_revision']}; "
        f"report written {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC. Sessions (metadata.json):",
        "",
    ]
    for s in folder.sessions():
        if s.get("finished_utc") is None:
            lines.append(f"- {s.get('started_utc')}: started with {s.get('generations_before')} generations stored "
                         f"and ended without a record (killed, or still running), git {s.get('git_revision')}")  # fmt: skip
            continue
        lines.append(f"- {s.get('started_utc')} to {s.get('finished_utc')}: generations {s.get('generations_before')} "
                     f"-> {s.get('generations_after')}, {s.get('wall_time_seconds')} s, {s.get('workers')} workers, "
                     f"git {s.get('git_revision')}{' (dirty)' if s.get('git_dirty') else ''}")  # fmt: skip
    return lines
