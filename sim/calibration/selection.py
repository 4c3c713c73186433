"""The report of a model-selection calibration: structure probabilities, each structure's posterior, the answer.

A calibration with ``structures:`` stores one pyabc history in which each
particle belongs to one structure; pyabc's multi-model ABC-SMC gives each
structure a posterior probability per generation. This module writes

- ``model_probabilities.csv`` (generation, structure, probability) and its figure;
- per structure with particles in the last generation, the files of a
  one-structure calibration in ``structures/NAME/`` and ``calibrated_NAME.yaml``;
  per structure without, its reachability only (which facts its particles
  reached while it was alive);
- ``answer.csv`` and its figure: the duel's answer per structure and
  averaged over the structures by probability (`sim.calibration.answer`);
- ``report.md``: probabilities, the facts each structure reaches on their
  own and together (does any meet every band?), each posterior and
  predictive check, the answer, the generations and the provenance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from sim.calibration import figures
from sim.calibration.answer import answer_figure, answer_markdown, answer_table
from sim.calibration.folder import CalibrationFolder, write_text
from sim.calibration.posterior import LEVEL, generations_frame, model_probabilities
from sim.calibration.spec import Calibration


def selection_report(folder: CalibrationFolder, calibration: Calibration, map_, last: int) -> Path:
    """Write every derived file of a model-selection calibration, of generation ``last``; returns report.md."""
    from sim.calibration.report import posterior_outputs

    names = [s.name for s in calibration.structures]
    generations = generations_frame(folder.history, last)
    probabilities = model_probabilities(folder.history, names, last)
    write_text(folder.model_probabilities, probabilities.to_csv(index=False))
    folder.figures.mkdir(parents=True, exist_ok=True)
    made = {
        "probabilities": figures.model_probability_figure(probabilities, folder.figures / "model_probabilities.png",
                                                          calibration.name),
        "epsilon": figures.epsilon_acceptance(generations, folder.figures / "epsilon_acceptance.png", calibration.name),
    }  # fmt: skip
    outputs: dict[str, dict[str, Any]] = {}
    for m, structure in enumerate(calibration.structures):
        view = calibration.view(structure)
        sub = folder.structure(structure.name)
        outputs[structure.name] = posterior_outputs(sub, view, folder.history, last, m, generations, map_)
        sub.out.mkdir(parents=True, exist_ok=True)
        write_text(sub.out / "reachability.csv", outputs[structure.name]["reach"].to_csv(index=False))
    answer = answer_across(outputs, final_probabilities(probabilities))
    if answer is not None:
        write_text(folder.answer, answer.to_csv(index=False))
        made["answer"] = answer_figure(answer, folder.figures / "answer.png")
    write_text(folder.report, selection_text(calibration, folder, generations, probabilities, outputs, made, answer))
    return folder.report


def answer_across(outputs: dict[str, dict[str, Any]], final: dict[str, float]) -> pd.DataFrame | None:
    """The duel's answer three ways per structure with posterior mass, and averaged over them by probability
    (`sim.calibration.answer`); None when no structure's predictive runs hold the duel's two firms."""
    frames = [out["predictive"][out["predictive"]["world"] == "calibrated"].assign(structure=name)
              for name, out in outputs.items() if not out["posterior"].empty]  # fmt: skip
    frames = [f for f in frames if "matched.dialogue.late_reach" in f.columns]
    if not frames:
        return None
    frame = pd.concat(frames, ignore_index=True)
    held = {name: final.get(name, 0.0) for name in frame["structure"].unique()}
    total = sum(held.values())
    return answer_table(frame, {name: p / total for name, p in held.items()})


def final_probabilities(probabilities: pd.DataFrame) -> dict[str, float]:
    """Each structure's probability in the last generation of the table."""
    last = probabilities[probabilities["generation"] == probabilities["generation"].max()]
    return dict(zip(last["structure"], last["probability"].astype(float)))


def unreached(outputs: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Per fact: the structures whose particles reached it (any generation), and whether any did."""
    facts = None
    rows: dict[str, list[str]] = {}
    for name, out in outputs.items():
        reach = out["reach"]
        facts = list(reach["fact"]) if facts is None else facts
        for fact, inside in zip(reach["fact"], reach["inside"]):
            rows.setdefault(fact, [])
            if inside:
                rows[fact].append(name)
    return pd.DataFrame([{"fact": f, "reached by": ", ".join(rows[f]) or "no structure"} for f in facts or []])


def all_met_sentence(outputs: dict[str, dict[str, Any]]) -> str:
    """Plainly: does any structure meet every band with one particle; if not, which facts stay out of reach."""
    met = [name for name, out in outputs.items() if not out["joint"]["missed_by_best"]]
    if met:
        return f"**{', '.join(met)} met every band with one particle.**"
    best = max(outputs, key=lambda name: outputs[name]["joint"]["most_facts_met"])
    joint = outputs[best]["joint"]
    return (f"**No structure meets every band.** The closest is {best}: {joint['most_facts_met']} of "
            f"{joint['facts']} facts at once; out of reach together with the others: "
            f"{', '.join(joint['missed_by_best'])}.")


def selection_text(calibration: Calibration, folder: CalibrationFolder, generations: pd.DataFrame,
                   probabilities: pd.DataFrame, outputs: dict[str, dict[str, Any]], made: dict[str, Path],
                   answer: pd.DataFrame | None = None) -> str:  # fmt: skip
    """report.md of a model-selection calibration."""
    from sim.calibration.report import _table, bands_table, distance_sentence, fact_table, provenance_lines, status_line

    final = final_probabilities(probabilities)
    rel = lambda path: Path(path).relative_to(folder.out).as_posix()  # noqa: E731
    best = max(final, key=final.get)
    lines = [
        f"# Model selection {calibration.name}",
        "",
        status_line(calibration, folder, generations),
        "",
        "## Structures and facts",
        "",
        f"{len(calibration.structures)} structures, each with its own world and priors, calibrated together "
        "(pyabc's multi-model ABC-SMC: a uniform prior over the structures) against the facts:",
        "",
        bands_table(calibration),
        "",
        distance_sentence(),
        "",
        _table(pd.DataFrame([{"structure": s.name, "scenario": Path(s.scenario).name if s.scenario else "(stored)",
                              "overrides": ", ".join(f"{k}={v}" for k, v in s.overrides.items()),
                              "free parameters": ", ".join(s.keys)} for s in calibration.structures])),  # fmt: skip
        "",
        "## Posterior probabilities of the structures",
        "",
        _table(probabilities.pivot(index="generation", columns="structure", values="probability")
               .reindex(columns=[s.name for s in calibration.structures]).reset_index()),  # fmt: skip
        "",
        f"![model probabilities]({rel(made['probabilities'])})",
        "",
        f"In the last generation the most probable structure is **{best}** ({final[best]:.2f}). A structure's "
        "probability is the share of the weighted population its particles hold; a structure that loses every "
        "particle is dead for the rest of the run.",
        "",
        "## Which facts each structure reaches",
        "",
        "Over every stored particle of each structure (generation 1 holds draws from the prior): how many were "
        "inside each fact's band. A fact no particle of any structure reached is out of reach of every structure "
        "inside its priors (up to the sample's resolution).",
        "",
        _table(unreached(outputs)),
        "",
        "Facts met together: the most facts one particle met at once, and the facts the first such particle missed. "
        "A structure meets every band only if some particle meets them all.",
        "",
        _table(pd.DataFrame([{"structure": name, "particles": out["joint"]["particles"],
                              "most facts met at once": f"{out['joint']['most_facts_met']} of {out['joint']['facts']}",
                              "particles meeting that many": out["joint"]["particles_meeting_most"],
                              "missed by the best": ", ".join(out["joint"]["missed_by_best"]) or "none"}
                             for name, out in outputs.items()])),  # fmt: skip
        "",
        all_met_sentence(outputs),
        "",
    ]
    for structure in calibration.structures:
        out = outputs[structure.name]
        lines += [f"### {structure.name} (probability {final.get(structure.name, 0.0):.2f})", ""]
        reach = out["reach"]
        missed = list(reach.loc[reach["inside"] == 0, "fact"])
        lines += [f"Facts none of its {int(reach['particles'].iloc[0]) if len(reach) else 0} particles reached: "
                  f"{', '.join(missed) if missed else 'none'}.", "", _table(reach), ""]  # fmt: skip
        if out["posterior"].empty:
            lines += ["No particle in the last generation: no posterior, no calibrated scenario.", ""]
            continue
        summary = out["summary"].rename(columns={"ci_low": f"{LEVEL:.0%} CI low", "ci_high": f"{LEVEL:.0%} CI high"})
        sub = folder.structure(structure.name)
        lines += [
            f"Posterior (generation {len(generations)}, {len(out['posterior'])} particles; "
            f"`{rel(sub.out)}/`, scenario at the medians: `{rel(sub.calibrated)}`):",
            "",
            _table(summary.drop(columns=["default"])),
            "",
            "Posterior-predictive check ('inside': share of runs inside the band):",
            "",
            _table(fact_table(calibration, out["predictive"])),
            "",
            f"![{structure.name} marginals]({rel(out['figures']['marginals'])})",
            "",
            f"![{structure.name} predictive]({rel(out['figures']['predictive'])})",
            "",
        ]
    if answer is not None:
        lines += [
            "## The answer across structures",
            "",
            f"Does push (broadcast) lose late reach to dialogue? {calibration.predictive_draws} posterior-predictive "
            "runs per structure with posterior mass, in the calibration's world (late: the last 90 days), asked "
            "three ways: per firm; per unit of late daily spend; and at matched spend, where the dialogue firm "
            "keeps its strategy and no ads but posts as many posts a day as make its whole late spend (posts and "
            "replies) meet broadcast's in the same run (`sim/calibration/matched.py`). Structures are averaged by "
            "their last generation's probabilities (renormalised over those with runs); intervals: 95% Jeffreys "
            "per structure, the exact quantiles of the probability-weighted mixture of their Beta posteriors for "
            "the average.",
            "",
            answer_markdown(answer),
            f"![the answer across structures]({rel(made['answer'])})",
            "",
        ]
    lines += ["## Generations", "", _table(generations.assign(t=generations["t"] + 1).rename(columns={"t": "generation"})),
              "", f"![epsilon and acceptance]({rel(made['epsilon'])})", ""]  # fmt: skip
    lines += provenance_lines(calibration, folder)
    return "\n".join(lines) + "\n"
