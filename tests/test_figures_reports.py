"""Figures, summary statistics and reports: what a reader of a results folder relies on.

Bands and intervals stay within physical bounds and vanish (with a note on
the figure) when there are too few replications; one palette keyed by firm
name serves the browser, the run figures and the sweep maps; the reach
figure marks its windows and the crossover; the crossover is a pair metric,
defined for any number of firms; the report has a glossary; sweep maps keep
their shares legible, their diverging colour bars symmetric and their blank
cells explained; the shipped scenarios give intervals; the ODD stands alone.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml

import sim.runs.figures as run_figures
import sim.sweep.figures as sweep_figures
from sim import palette
from sim.model.outputs import EARLY_DAYS, LATE_DAYS, crossover, crossover_day
from sim.runs.report import write_report
from sim.runs.statistics import (
    ALL_FIRMS,
    METRIC_INFO,
    PAIR_METRICS,
    SUMMARY_METRICS,
    metric_bounds,
    summary_stats,
    t_interval,
)
from sim.scenario import ScenarioError, load_scenario
from sim.scenario.schema import MAX_FIRMS
from sim.sweep.analysis import Analysis, OutputAnalysis

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def captured(monkeypatch):
    """The matplotlib figures the figure functions close, kept for inspection."""
    figures = []
    close = run_figures.plt.close

    def keep(fig=None):
        figures.append(fig)
        close(fig)

    monkeypatch.setattr(run_figures.plt, "close", keep)
    return figures


def texts(fig) -> str:
    """Every piece of text on a figure: figure texts, titles, axis texts, legends."""
    found = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        found += [ax.get_title(), ax.get_title(loc="left"), ax.get_ylabel(), *(t.get_text() for t in ax.texts)]
        legend = ax.get_legend()
        if legend is not None:
            found += [t.get_text() for t in legend.get_texts()]
    for legend in fig.legends:
        found += [t.get_text() for t in legend.get_texts()]
    return "\n".join(found)


def firm_table(series: dict[str, list[float]], replications: int, noise: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """A tidy daily firm table: each firm's reach series plus noise, in every replication."""
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(replications):
        for firm, values in series.items():
            for day, value in enumerate(values, 1):
                rows.append({"replication": r, "step": day, "firm": firm, "reach": value + noise * rng.normal()})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------
# One palette, keyed by firm name
# --------------------------------------------------------------------------


def test_a_firm_has_the_same_colour_whatever_its_position():
    assert palette.firm_colours(["broadcast", "dialogue"]) == palette.firm_colours(["dialogue", "broadcast"])
    assert palette.firm_colours(["dialogue"])["dialogue"] == palette.NAMED["dialogue"]
    three = palette.firm_colours(["broadcast", "hybrid", "dialogue"])
    assert three == palette.firm_colours(["hybrid", "dialogue", "broadcast"])
    assert three["hybrid"] in palette.OTHERS and len(set(three.values())) == 3


def test_other_names_get_distinct_colours_up_to_the_firm_limit():
    names = [f"firm_{k}" for k in range(MAX_FIRMS)]
    colours = palette.firm_colours(names)
    assert len(set(colours.values())) == MAX_FIRMS  # the schema's limit never forces two firms to share
    assert palette.NONE not in colours.values()
    assert MAX_FIRMS <= palette.MAX_DISTINCT
    assert colours == palette.firm_colours(reversed(names))  # a name's colour does not depend on the order


def test_browser_run_figures_and_sweeps_use_the_one_palette():
    from sim.model.market import MarketModel
    from sim.viz.draw import model_colours

    assert run_figures.firm_colours is palette.firm_colours
    assert sweep_figures.firm_colours is palette.firm_colours
    firms = [{"name": "dialogue", "preset": "dialogue"}, {"name": "broadcast", "preset": "broadcast"}]
    model = MarketModel(seed=1, width=10, height=10, steps=2, home_radius=2, weak_ties=2, firms=firms)
    assert model_colours(model) == [palette.NAMED["dialogue"], palette.NAMED["broadcast"]]  # by name, not position
    # the follow map of the run figures and the browser's map mix colours the same way
    both = run_figures.membership_colours(["dialogue", "broadcast"])[3]
    assert both == palette.mixed_colour([palette.NAMED["dialogue"], palette.NAMED["broadcast"]])


def test_the_scenario_refuses_more_firms_than_colours(tmp_path):
    path = tmp_path / "many.yaml"
    firms = [{"name": f"f{k}", "preset": "dialogue"} for k in range(MAX_FIRMS + 1)]
    path.write_text(yaml.safe_dump({"name": "many", "firms": firms}))
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    message = str(err.value)
    assert "\n" not in message and f"at most {MAX_FIRMS} firms" in message and f"got {MAX_FIRMS + 1}" in message
    path.write_text(yaml.safe_dump({"name": "ok", "firms": firms[:MAX_FIRMS]}))
    assert len(load_scenario(path).firms) == MAX_FIRMS


# --------------------------------------------------------------------------
# Bands and intervals within physical bounds
# --------------------------------------------------------------------------


def test_t_interval_is_cut_to_the_bounds_and_says_so():
    values = np.array([10_000, 10_000, 9_990])  # cumulative reach, saturated at a population of 10,000
    mean, _, low, high, n = t_interval(values)
    assert high > 10_000  # the plain t-interval runs above the population
    _, _, low_b, high_b, _ = t_interval(values, bounds=metric_bounds("cumulative_reach_final", 10_000))
    assert (low_b, high_b) == (low, 10_000.0) and low_b <= mean <= high_b
    summary = pd.DataFrame({"replication": [0, 1, 2], "firm": "a", "cumulative_reach_final": values,
                            **{m: 0.5 for m in SUMMARY_METRICS if m != "cumulative_reach_final"},
                            "crossover_day": [50.0, np.nan, 70.0]})  # fmt: skip
    stats = summary_stats(summary, population=10_000, steps=100).set_index(["firm", "metric"])
    row = stats.loc[("a", "cumulative_reach_final")]
    assert row["ci95_high"] == 10_000 and bool(row["ci_clipped"]) and row["unit"] == "users"
    assert (stats["ci95_low"].dropna() >= 0).all()


def test_crossover_day_is_one_market_row_not_one_per_firm():
    summary = pd.DataFrame({"replication": [0, 0, 1, 1, 2, 2], "firm": ["a", "b"] * 3,
                            **{m: 1.0 for m in SUMMARY_METRICS},
                            "crossover_day": [40.0, 40.0, np.nan, np.nan, 60.0, 60.0]})  # fmt: skip
    stats = summary_stats(summary, population=100, steps=365)
    pair = stats[stats["metric"] == "crossover_day"]
    assert list(pair["firm"]) == [ALL_FIRMS]
    assert pair["n"].item() == 2 and pair["of"].item() == 3 and pair["mean"].item() == 50.0
    assert set(stats.loc[stats["firm"] != ALL_FIRMS, "metric"]) == set(SUMMARY_METRICS)
    assert "crossover_day" not in SUMMARY_METRICS and "crossover_day" in PAIR_METRICS


def test_bands_stay_within_zero_and_the_population():
    # reach near 0 and near the population with a large spread: a plain t-band leaves [0, N]
    table = firm_table({"low": [2.0] * 20, "high": [98.0] * 20}, replications=4, noise=30.0)
    table["reach"] = table["reach"].clip(0, 100)  # each value is physical; the band of their mean was not
    for firm in ("low", "high"):
        _, mean, low, high, n = run_figures.mean_band(table, "reach", firm)
        assert n == 4 and ((low < 0) | (high > 100)).any()  # the mechanism under test is needed
        _, mean, low, high, _ = run_figures.mean_band(table, "reach", firm, bounds=(0.0, 100.0))
        assert (low >= 0).all() and (high <= 100).all() and (low <= np.clip(mean, 0, 100)).all()


def test_no_band_with_fewer_than_three_replications_and_the_figure_says_so(tmp_path, captured):
    assert run_figures.MIN_BAND_N == 3
    table = firm_table({"a": [5.0] * 20, "b": [3.0] * 20}, replications=2, noise=1.0)
    assert run_figures.mean_band(table, "reach", "a")[2] is None
    run_figures.plot_daily(table, "reach", "users", "Reach", tmp_path / "two.png", ["a", "b"], population=100)
    assert "n = 2 replications: too few for a 95% band (needs 3)" in texts(captured[-1])
    assert not any(c.__class__.__name__ == "PolyCollection" for c in captured[-1].axes[0].collections)
    table = firm_table({"a": [5.0] * 20, "b": [3.0] * 20}, replications=3, noise=1.0)
    run_figures.plot_daily(table, "reach", "users", "Reach", tmp_path / "three.png", ["a", "b"], population=100)
    assert "too few" not in texts(captured[-1])
    assert sum(c.__class__.__name__ in ("PolyCollection", "FillBetweenPolyCollection")
               for c in captured[-1].axes[0].collections) == 2  # fmt: skip


# --------------------------------------------------------------------------
# The reach figure and the crossover
# --------------------------------------------------------------------------


def test_reach_figure_marks_both_windows_and_the_crossover(tmp_path, captured):
    a, b = [10.0] * 60 + [0.0] * 140, [5.0] * 200
    table = firm_table({"broadcast": a, "dialogue": b}, replications=3)
    day = crossover_day(pd.DataFrame({"broadcast": a, "dialogue": b}, index=pd.RangeIndex(1, 201)))
    run_figures.plot_reach(table, tmp_path / "reach.png", ["broadcast", "dialogue"], population=100)
    fig = captured[-1]
    words = texts(fig)
    assert f"early: days 1-{EARLY_DAYS}" in words and f"late: days {200 - LATE_DAYS + 1}-200" in words
    assert f"crossover day {day:.0f}" in words and "dialogue over broadcast" in words
    ax = fig.axes[0]
    vertical = [line for line in ax.get_lines() if np.ptp(line.get_xdata()) == 0 and len(line.get_xdata())]
    assert [float(line.get_xdata()[0]) for line in vertical] == [day]
    spans = [p for p in ax.patches if p.get_width() > 1]
    edges = sorted((round(p.get_x() + 0.5), round(p.get_x() + p.get_width() - 0.5)) for p in spans)
    assert edges == [(1, EARLY_DAYS), (200 - LATE_DAYS + 1, 200)]


def test_crossover_with_three_firms_names_who_was_overtaken():
    # a leads, b passes a on day 21, c passes a on day 31 but passes b only on day 61
    days = 120
    a = [10.0] * days
    b = [0.0] * 20 + [20.0] * (days - 20)
    c = [0.0] * 30 + [15.0] * 30 + [40.0] * (days - 60)
    reach = pd.DataFrame({"a": a, "b": b, "c": c}, index=pd.RangeIndex(1, days + 1, name="step"))
    found = crossover(reach)
    trailing = reach.rolling(14, min_periods=1).mean()
    assert found.leader == "c" and found.overtaken == "b"
    assert (trailing.loc[found.day:, "c"] > trailing.loc[found.day:, ["a", "b"]].max(axis=1)).all()
    assert trailing.loc[found.day - 1, "c"] <= trailing.loc[found.day - 1, ["a", "b"]].max()
    assert found.day == crossover_day(reach)
    assert np.isnan(crossover(reach[["a"]]).day)


# --------------------------------------------------------------------------
# report.md
# --------------------------------------------------------------------------


def _report(tmp_path, replications: int) -> str:
    table = firm_table({"broadcast": [10.0] * 40 + [0.0] * 60, "dialogue": [5.0] * 100}, replications, noise=0.5)
    summary = pd.DataFrame([{"replication": r, "firm": f, **{m: 1.0 + r for m in SUMMARY_METRICS},
                             "crossover_day": 45.0 + r} for r in range(replications) for f in ("broadcast", "dialogue")])  # fmt: skip
    stats = summary_stats(summary, population=100, steps=100)
    scenario = SimpleNamespace(name="t", description="d", width=10, height=10, steps=100, ranking="engagement", seed=1)
    path = write_report(tmp_path / "report.md", scenario, summary, stats, {}, {}, {"firms": table})
    return path.read_text()


def test_report_has_a_glossary_of_every_metric_with_unit_and_window(tmp_path):
    report = _report(tmp_path, 3)
    glossary = report[report.index("## Glossary"):]
    for metric in (*SUMMARY_METRICS, *PAIR_METRICS):
        (line,) = [line for line in glossary.splitlines() if line.startswith(f"- `{metric}`")]
        unit, window, _ = METRIC_INFO[metric]
        assert f"Unit: {unit}; window: {window}" in line, metric
    assert "final leader" in glossary and "three or more" in glossary  # the crossover for any number of firms
    assert "trust_final (all users)" in report
    assert report.count("| crossover_day |") == 1 and f"| {ALL_FIRMS} | crossover_day |" in report
    assert "dialogue over broadcast" in report


def test_report_says_when_there_are_too_few_replications(tmp_path):
    assert "One replication: no intervals" in _report(tmp_path, 1)
    assert "Only 2 replications" in _report(tmp_path, 2)
    assert "replication" not in _report(tmp_path, 3).split("## Headline")[0].split("seed 1.")[1]


# --------------------------------------------------------------------------
# Sweep maps
# --------------------------------------------------------------------------


def _grid_analysis(gap: list[float], crossover_values: list[float], crossover_n: list[int]) -> Analysis:
    xs, ys = [1.0, 2.0], [10.0, 20.0]
    cells = [(x, y) for x in xs for y in ys]
    base = pd.DataFrame({"sample": range(4), "x": [c[0] for c in cells], "y": [c[1] for c in cells]})
    gap_table = base.assign(mean=gap, sd=1.0, n=3)
    cross_table = base.assign(mean=crossover_values, sd=1.0, n=crossover_n)
    dialogue_wins = np.array(gap) > 0
    winner = base.assign(share_broadcast=(~dialogue_wins).astype(float), share_dialogue=dialogue_wins.astype(float),
                         n=3, winner=np.where(dialogue_wins, "dialogue", "broadcast"))  # fmt: skip
    sweep = {"method": "grid", "replications": 3, "parameters": {"x": {"values": xs}, "y": {"values": ys}},
             "base": {"firms": [{"name": "broadcast"}, {"name": "dialogue"}]}}  # fmt: skip
    outputs = [OutputAnalysis("late_reach_gap", "float", gap_table), OutputAnalysis("winner", "string", winner),
               OutputAnalysis("crossover_day", "float", cross_table)]  # fmt: skip
    return Analysis(sweep, base, pd.DataFrame(), {}, pd.DataFrame(), outputs)


def test_diverging_colour_bar_is_symmetric_about_zero_and_has_units(tmp_path, captured):
    analysis = _grid_analysis([-150.0, -20.0, 900.0, 2100.0], [100.0] * 4, [3] * 4)
    sweep_figures.grid_map(analysis, analysis.get("late_reach_gap"), tmp_path / "gap.png", None)
    fig = captured[-1]
    mesh = fig.axes[0].collections[0]
    assert mesh.norm.vmin == -mesh.norm.vmax == -2100.0
    bar = fig.axes[-1]
    assert "(users/day)" in bar.get_ylabel() and "dialogue - broadcast" in bar.get_ylabel()
    assert list(bar.get_yticks()) == [-2100.0, -1050.0, 0.0, 1050.0, 2100.0]


def test_blank_cells_get_a_legend_entry_and_partial_cells_say_k_of_n(tmp_path, captured):
    analysis = _grid_analysis([1.0] * 4, [np.nan, 120.0, 80.0, 200.0], [0, 3, 2, 3])
    sweep_figures.grid_map(analysis, analysis.get("crossover_day"), tmp_path / "cross.png", None)
    words = texts(captured[-1])
    assert "no crossover in any replication" in words and "(2/3)" in words
    assert "(day)" in captured[-1].axes[-1].get_ylabel()


def test_winner_map_keeps_its_shares_legible(tmp_path, captured):
    analysis = _grid_analysis([-5.0, 5.0, 5.0, 5.0], [1.0] * 4, [3] * 4)
    sweep_figures.winner_map(analysis, analysis.get("winner"), tmp_path / "winner.png", None)
    labels = [t for t in captured[-1].axes[0].texts if t.get_text() == "100%"]
    assert len(labels) == 4
    for label in labels:  # dark firm colours: the share is written in white
        assert label.get_color() == "white"
    legend = texts(captured[-1])
    assert "broadcast" in legend and "dialogue" in legend


# --------------------------------------------------------------------------
# Shipped scenarios and the ODD
# --------------------------------------------------------------------------


def test_every_shipped_scenario_gives_intervals_and_its_run_time_is_in_the_docs():
    """Measured times live in docs/performance.md, with their machine and load, not in the descriptions."""
    paths = sorted((REPO / "scenarios").glob("*.yaml"))
    assert len(paths) >= 8
    table = (REPO / "docs" / "performance.md").read_text().split("## Shipped scenarios")[1].split("\n## ")[0]
    assert "2 logical CPUs and 24 GiB" in table
    for path in paths:
        scenario = load_scenario(path)
        assert scenario.replications >= run_figures.MIN_BAND_N, path.name
        row = re.search(rf"^\| `{path.stem}` \|.*\d+ s\b.*\|.*\|.*\|.*`[0-9a-f]{{7}}`", table, flags=re.M)
        assert row, f"{path.name}: no measured run time in docs/performance.md"


# a measured time, a load, a machine or a revision: what the report's provenance says, and may contradict
TIMING_NOTE = re.compile(
    r"\d\s*(s|sec|seconds?|min|minutes?|h|hours?)\b|\bload\b|\bGiB\b|\bcores?\b|\brevision\b|\bgit\b"
    r"|\b[0-9a-f]{7,40}\b|\bUTC\b|\bworkers?\b",
    flags=re.I,
)


def test_no_shipped_description_carries_timing_or_revision_notes():
    files = [*sorted((REPO / "scenarios").rglob("*.yaml"))]
    assert len(files) >= 14
    for path in files:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        found = TIMING_NOTE.search(str(raw.get("description") or ""))
        assert found is None, f"{path.relative_to(REPO)}: description has {found.group(0)!r}"


def test_odd_stands_alone_and_cites_existing_code():
    odd = (REPO / "docs" / "ODD.md").read_text()
    for outside in ("MODEL_SPEC.md", "../", "seeds/", "shared/"):
        assert outside not in odd, outside
    assert "Matias Roskos" in odd
    cited = set(re.findall(r"`(sim/[\w/]+\.py)`", odd))
    assert {"sim/model/market.py", "sim/model/outputs.py", "sim/runs/runner.py"} <= cited
    missing = [path for path in cited if not (REPO / path).exists()]
    assert not missing, missing
