"""OUT/report.md of a study: the answer in words from the numbers, then the evidence.

`answer_sentences` writes the opening two or three sentences from the
analysis alone (shares, intervals, the chosen PRIM boxes), so the report
never says more than the runs do. `build_report` rebuilds tables, figures
and the report from whatever runs the folder holds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from sim.study.analysis import STUDY_FILE, StudyAnalysis, analyse, write_tables
from sim.study.discovery import MAX_QP, MIN_COVERAGE
from sim.study.outcomes import CONTESTED, TIE
from sim.jobs.folder import atomic_write
from sim.sweep.store import SweepFolder


def _pct(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.0f}%"


def _num(x: float) -> str:
    if x != x:
        return "n/a"
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def _share(answer: pd.DataFrame, outcome: str, label: str) -> pd.Series | None:
    row = answer[(answer["outcome"] == outcome) & (answer["firm"] == label)]
    return None if row.empty else row.iloc[0]


def conditions(result: StudyAnalysis, label: str) -> str:
    """A box's restrictions in words, e.g. 'attention_mean <= 21.3 and ranking = engagement'."""
    box = result.boxes.get(label)
    if box is None or box.limits.empty:
        return ""
    x = result.x()
    parts = []
    for row in box.limits.itertuples(index=False):
        if row.kind == "category":
            values = str(row.values).split("|")
            parts.append(f"{row.parameter} = {values[0]}" if len(values) == 1 else f"{row.parameter} in {{{', '.join(values)}}}")
            continue
        low_free = row.low <= x[row.parameter].min()
        high_free = row.high >= x[row.parameter].max()
        if low_free:
            parts.append(f"{row.parameter} <= {_num(row.high)}")
        elif high_free:
            parts.append(f"{row.parameter} >= {_num(row.low)}")
        else:
            parts.append(f"{_num(row.low)} <= {row.parameter} <= {_num(row.high)}")
    return " and ".join(parts)


def answer_sentences(result: StudyAnalysis) -> str:
    """The answer in two or three sentences, generated from the numbers."""
    study, answer, firms = result.study, result.answer, result.firms
    n = len(result.points)
    if n == 0:
        return "No design point is complete yet (all replications stored and ok): there is no answer yet."
    runs = f"{n} design points x {study['replications']} replications = {n * int(study['replications'])} runs"
    late = {f: _share(answer, "late", f) for f in firms}
    order = sorted(firms, key=lambda f: -late[f]["share"])
    first, rest = order[0], order[1:]
    lead = late[first]
    text = (f"Over the plausible region ({runs}), {first}'s late reach exceeds "
            f"{'the others' if len(firms) > 2 else rest[0] + chr(39) + 's'} at {_pct(lead['share'])} of the points "
            f"(95% CI {_pct(lead['ci_low'])}-{_pct(lead['ci_high'])})")  # fmt: skip
    others = [f"{f} wins at {_pct(late[f]['share'])} ({_pct(late[f]['ci_low'])}-{_pct(late[f]['ci_high'])})" for f in rest]
    contested = _share(answer, "late", CONTESTED)
    tail = [*others, f"{_pct(contested['share'])} are contested (the winner flips between replications)"]
    tie = _share(answer, "late", TIE)
    if tie is not None:
        tail.append(f"{_pct(tie['share'])} tie")
    text += "; " + ", ".join(tail[:-1]) + (" and " if len(tail) > 1 else "") + tail[-1] + "."
    early = {f: _share(answer, "early", f) for f in firms}
    e_first = max(firms, key=lambda f: early[f]["share"])
    contrast = "the same firm leads" if e_first == first else "it is the other way round"
    text += (f" Early (days 1-30) {contrast}: {e_first} leads at {_pct(early[e_first]['share'])} of the points "
             f"({_pct(early[e_first]['ci_low'])}-{_pct(early[e_first]['ci_high'])}).")  # fmt: skip
    outcome = study["outcome"]
    verb = {"winner": "wins late", "late_reach_gap": "wins late", "early_winner": "leads early",
            "early_reach_gap": "leads early"}.get(outcome, "occurs")  # fmt: skip
    found = []
    for label in sorted(result.boxes, key=lambda c: (result.labels == c).mean()):
        words = conditions(result, label)
        if words:
            stats = result.boxes[label].stats
            found.append(f"{label} {verb} mainly where {words} "
                         f"(coverage {stats['coverage']:.2f}, density {stats['density']:.2f})")  # fmt: skip
    if found:
        sentence = "; ".join(found)
        text += f" {sentence[0].upper()}{sentence[1:]}."
    elif result.boxes:
        text += " PRIM finds no box with significant restrictions: no simple condition separates the winners."
    return text


def _table(frame: pd.DataFrame) -> str:
    """A markdown table (numbers to three significant digits)."""
    if not len(frame):
        return "(none)"

    def cell(v) -> str:
        if isinstance(v, (float, np.floating)):
            return "" if v != v else f"{v:.3g}"
        return str(v).replace("|", "\\|")

    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def boxes_table(result: StudyAnalysis) -> pd.DataFrame:
    rows = []
    for label, box in result.boxes.items():
        stats = box.stats
        limits = box.limits
        restricted = "; ".join(
            (f"{r.parameter} in {{{r.values.replace('|', ', ')}}}" if r.kind == "category" else f"{r.parameter} in [{_num(r.low)}, {_num(r.high)}]")
            + f" (qp {r.qp:.1g})" for r in limits.itertuples(index=False)
        ) or "none (the whole region)"  # fmt: skip
        rows.append({"class": label, "cases": box.cases, "coverage": stats["coverage"], "density": stats["density"],
                     "mass": stats["mass"], "restricted dimensions (limits, quasi-p)": restricted})  # fmt: skip
    return pd.DataFrame(rows)


def mechanism_pivot(result: StudyAnalysis) -> pd.DataFrame:
    table = result.mechanism
    if table.empty:
        return table
    pivot = table.pivot_table(index=["metric", "firm"], columns=["box", "where"], values="mean", sort=False)
    pivot.columns = [f"{b} box: {w}" for b, w in pivot.columns]
    return pivot.reset_index()


def render(result: StudyAnalysis, out: Path, figures: dict[str, Path]) -> str:
    study = result.study
    folder = SweepFolder(out)
    metadata = folder.read_metadata()
    lines = [f"# Study {study['name']}{' (quick design)' if study.get('quick') else ''}", "", answer_sentences(result), ""]
    if study.get("quick"):
        q = study["quick_design"]
        lines += [f"> **Quick design** (`--quick`): {q['samples']} points x {q['replications']} replications instead of "
                  "the study file's full design; shares and boxes are rough. Run without `--quick` for the answer to cite.", ""]  # fmt: skip
    if result.runs_ok < result.runs_expected:
        lines += [f"> **Partial study**: {result.runs_ok} of {result.runs_expected} runs stored ok "
                  f"({result.runs_failed} failed, {result.incomplete} design points incomplete); "
                  "the numbers use the complete points only.", ""]  # fmt: skip
    lines += [f"Question: {study.get('question') or '(none given)'}", "",
              f"Outcome explained: `{study['outcome']}`. Region: " + (
                  f"posterior `{study['region'].get('posterior')}` ({study['region'].get('rows')} rows, drawn by weight)"
                  if "posterior" in study["region"] else ", ".join(f"`{k}` {v}" for k, v in study["region"].items())),
              "", "## Answer (analysis/answer.csv)", "",
              "Share of design points each firm wins after averaging the replications; Wilson 95% intervals. "
              "A point is contested when its replications disagree on the winner.", "",
              _table(result.answer), "", "## PRIM boxes (analysis/prim_*.csv)", "",
              f"Chosen box per class: the densest step of the peeling trajectory covering at least "
              f"{MIN_COVERAGE:.0%} of the class, then restrictions with quasi-p > {MAX_QP} dropped (the least "
              "significant first). Coverage: share of the class inside the box; density: share of the box in the "
              "class; mass: share of all points inside.", "",
              _table(boxes_table(result)), ""]  # fmt: skip
    captions = {"peeling": "Peeling trajectories (coverage against density), chosen box ringed",
                "scatter": "The two most important parameters, coloured by winner, PRIM boxes dashed",
                "tree": "Classification tree (second view)", "ranking": "Feature ranking (extra trees)",
                "mechanism": "Mechanism inside vs outside each box"}  # fmt: skip
    if figures:
        lines += ["## Figures", ""]
        for name, path in figures.items():
            lines += [f"### {captions.get(name, name)}", "", f"![{captions.get(name, name)}](figures/{path.name})", ""]
    if result.tree_text:
        lines += ["## Classification tree", "", f"Training accuracy {result.tree_accuracy:.0%}.", "", "```",
                  result.tree_text.rstrip(), "```", ""]  # fmt: skip
    if not result.ranking.empty:
        lines += ["## Feature ranking", "", _table(result.ranking), ""]
    if not result.mechanism.empty:
        lines += ["## Mechanism inside and outside each box", "",
                  "Means over design points: late-window (last 90 days) reach by channel, followers and fatigue "
                  "of followers; cascade sizes over the whole run.", "", _table(mechanism_pivot(result)), ""]  # fmt: skip
    lines += ["## Runs", "", f"{result.runs_ok} ok, {result.runs_failed} failed of {result.runs_expected}; "
              f"{len(result.points)} complete design points, {result.incomplete} incomplete.", ""]  # fmt: skip
    if len(result.failures):
        shown = result.failures[["sample", "replication", "error"]].head(10)
        lines += ["Failed runs (first 10; `--retry-failed` reruns them):", "", _table(shown), ""]
    source = out / STUDY_FILE
    if source.exists():
        lines += ["## The study file", "", "```yaml", source.read_text(encoding="utf-8").rstrip(), "```", ""]
    sessions = metadata.get("sessions", [])
    lines += ["## Provenance", "",
              f"- git revision {metadata.get('git_revision')} (dirty: {metadata.get('git_dirty')}); "
              f"fingerprint {metadata.get('fingerprint')}",
              f"- seeds: design seed {study['seed']}; {metadata.get('seeds', '')}",
              f"- packages: {json.dumps(metadata.get('packages', {}))}",
              f"- platform: {metadata.get('platform')}"]  # fmt: skip
    for s in sessions:
        lines.append(f"- session {s.get('started_utc')} - {s.get('finished_utc')}: {s.get('runs_ok')} ok, "
                     f"{s.get('runs_failed')} failed, {s.get('runs_skipped')} skipped, scheduler {s.get('scheduler')}, "
                     f"{s.get('worker_threads')} worker threads, wall time {s.get('wall_time_seconds')} s"
                     f"{', interrupted' if s.get('interrupted') else ''}")  # fmt: skip
    lines += ["- resolved study: `study.yaml`; runs: `runs/`; design: `design.parquet` (unit coordinates)", ""]
    return "\n".join(lines)


def build_report(out: str | Path) -> tuple[StudyAnalysis, Path]:
    """Analysis tables, figures and report.md from the stored runs."""
    from sim.study.figures import write_figures

    out = Path(out)
    result = analyse(out)
    write_tables(result, out)
    figures = write_figures(result, out / "figures")
    report = out / "report.md"
    atomic_write(report, render(result, out, figures).encode("utf-8"))
    return result, report


def summary_line(result: StudyAnalysis) -> str:
    return answer_sentences(result).split(". ")[0] + "."
