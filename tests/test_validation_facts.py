"""Facts files, verdicts and the validate command: bad input, the verdict logic, the results folder."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim import cli
from sim.scenario import ScenarioError
from sim.validation import DEFAULT_FACTS, QUANTITIES, compare, load_facts, ratio_to_bound, verdict
from sim.validation.facts import FactTable

SOURCE = {"authors": "A. Author", "title": "A title", "venue": "A venue", "year": 2012}


def fact(**overrides) -> dict:
    base = {"id": "reach", "description": "organic reach per post", "quantity": "organic_reach_per_post",
            "range": [0.02, 0.16], "era": "2014", "platform": "Facebook", "source": dict(SOURCE)}  # fmt: skip
    base.update(overrides)
    return base


def write(tmp_path: Path, facts: list[dict], name: str = "mine.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"facts": facts}, sort_keys=False))
    return path


# -- the shipped facts ---------------------------------------------------------------


def test_shipped_facts_have_sources_ranges_and_known_quantities():
    facts = load_facts()
    assert len(facts) >= 8
    for f in facts.facts:
        assert f.quantity in QUANTITIES
        assert f.low <= f.high
        assert f.source.authors and f.source.title and f.source.venue and 1990 < f.source.year < 2030
        assert f.checked.strip(), f"{f.id}: say what was confirmed at the source"
        assert f.mapping.strip(), f"{f.id}: say how the model quantity maps onto the published one"


# -- bad facts files: one line naming file and key, exit 2 ----------------------------------


@pytest.mark.parametrize(
    "bad, where, says",
    [
        (fact(quantity="reach_per_post"), "facts[0].quantity", "unknown model quantity"),
        (fact(range=[0.2, 0.1]), "facts[0].range", "reversed"),
        ({k: v for k, v in fact().items() if k != "source"}, "facts[0].source", "missing"),
        (fact(source={k: v for k, v in SOURCE.items() if k != "year"}), "facts[0].source.year", "missing"),
        (fact(range=[0.1]), "facts[0].range", "pair"),
        (fact(colour="red"), "facts[0].colour", "unknown key"),
    ],
)
def test_bad_facts_file_is_one_line_naming_file_and_key(tmp_path, capsys, bad, where, says):
    path = write(tmp_path, [bad])
    status = cli.main(["validate", "--facts", str(path), "--list"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{path}: {where}" in err and says in err


def test_unknown_quantity_message_lists_the_known_ones(tmp_path):
    with pytest.raises(ScenarioError, match="choose one of organic_reach_per_post, feed_read_share, feed_shown_share"):
        load_facts(write(tmp_path, [fact(quantity="nope")]))


def test_duplicate_ids_and_missing_files_are_refused(tmp_path, capsys):
    with pytest.raises(ScenarioError, match=r"facts\[1\]\.id: duplicate fact id"):
        load_facts(write(tmp_path, [fact(), fact()]))
    assert cli.main(["validate", "--facts", str(tmp_path / "none.yaml"), "--list"]) == 2
    assert "none.yaml: file not found" in capsys.readouterr().err


def test_a_users_facts_file_validates_like_the_shipped_one(tmp_path):
    table = load_facts(write(tmp_path, [fact(), fact(id="shown", quantity="feed_shown_share", range=[0.1, 0.3])]))
    assert isinstance(table, FactTable) and table.ids == ["reach", "shown"]
    assert table.quantities() == ["organic_reach_per_post", "feed_shown_share"]


# -- the verdict logic -----------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected, ratio",
    [(0.05, "inside", 1.0), (0.02, "inside", 1.0), (0.16, "inside", 1.0),
     (0.32, "above", 2.0), (0.01, "below", 0.5), (float("nan"), "unmeasured", float("nan"))],
)  # fmt: skip
def test_verdict_and_ratio_to_the_nearest_bound(value, expected, ratio):
    assert verdict(value, 0.02, 0.16) == expected
    found = ratio_to_bound(value, 0.02, 0.16)
    assert (math.isnan(found) and math.isnan(ratio)) or found == pytest.approx(ratio)


def test_ratio_below_a_zero_bound_is_infinite():
    assert ratio_to_bound(-0.1, 0.0, 1e-3) == -math.inf
    assert verdict(0.0, 0.0, 1e-3) == "inside"


def test_compare_uses_the_mean_and_t_interval_over_replications(tmp_path):
    facts = load_facts(write(tmp_path, [fact(), fact(id="shown", quantity="feed_shown_share", range=[0.1, 0.3])]))
    values = pd.DataFrame({"replication": [0, 1, 2], "organic_reach_per_post": [0.3, 0.4, 0.5],
                           "feed_shown_share": [0.2, 0.2, float("nan")]})  # fmt: skip
    table = compare(facts, values).set_index("fact")
    reach = table.loc["reach"]
    assert reach["model_mean"] == pytest.approx(0.4)
    half = 4.302652729911275 * 0.1 / math.sqrt(3)  # t(0.975, 2) * sd / sqrt(n)
    assert (reach["ci_low"], reach["ci_high"]) == pytest.approx((0.4 - half, 0.4 + half))
    assert reach["verdict"] == "on the edge" and reach["ratio_to_bound"] == pytest.approx(0.4 / 0.16)
    assert bool(reach["ci_overlaps_range"])  # the CI reaches down into the band
    shown = table.loc["shown"]
    assert shown["n"] == 2 and shown["verdict"] == "inside" and shown["model_mean"] == pytest.approx(0.2)
    assert "A. Author" in reach["source"]


# -- the command ------------------------------------------------------------------------

TINY = ["--set", "width=16", "--set", "height=12", "--set", "steps=60", "--set", "home_radius=3",
        "--replications", "2", "--workers", "1", "--seed", "4"]  # fmt: skip


def test_list_prints_facts_and_quantities(capsys):
    assert cli.main(["validate", "--list"]) == 0
    out = capsys.readouterr().out
    for f in load_facts().facts:
        assert f.id in out
    for name in QUANTITIES:
        assert name in out


def test_validate_writes_table_figure_report_and_provenance(tmp_path, capsys):
    out = tmp_path / "val"
    assert cli.main(["validate", *TINY, "--out", str(out), "--quiet"]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    table = pd.read_csv(out / "validation.csv")
    assert table.columns[:10].tolist() == ["fact", "quantity", "model_mean", "ci_low", "ci_high", "n",
                                           "range_low", "range_high", "verdict", "ratio_to_bound"]  # fmt: skip
    assert "source" in table.columns
    assert table["fact"].tolist() == load_facts().ids
    assert set(table["verdict"]) <= {"inside", "on the edge", "below", "above", "unmeasured"}
    assert (out / "validation.png").stat().st_size > 10_000
    report = (out / "report.md").read_text()
    assert "## Where the model stands" in report and "validation.png" in report
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["replications"] == 2 and len(meta["replication_seeds"]) == 2 and meta["git_revision"]
    assert yaml.safe_load((out / "config.yaml").read_text())["width"] == 16
    assert load_facts(out / "facts.yaml").ids == load_facts().ids  # the facts used, reloadable
    values = pd.read_csv(out / "quantities.csv")
    assert values["replication"].tolist() == [0, 1]
    assert not list(tmp_path.glob(".*partial"))


def test_validate_is_reproducible_and_worker_independent(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert cli.main(["validate", *TINY, "--out", str(a), "--quiet"]) == 0
    assert cli.main(["validate", *TINY[:-4], "--workers", "2", "--seed", "4", "--out", str(b), "--quiet"]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(a / "quantities.csv"), pd.read_csv(b / "quantities.csv"))


def test_validate_with_a_users_facts_file_and_bad_options(tmp_path, capsys):
    mine = write(tmp_path, [fact(id="shown", quantity="feed_shown_share", range=[0.1, 0.3])])
    out = tmp_path / "mine"
    assert cli.main(["validate", *TINY, "--facts", str(mine), "--out", str(out), "--quiet"]) == 0
    assert pd.read_csv(out / "validation.csv")["fact"].tolist() == ["shown"]
    assert cli.main(["validate", *TINY, "--out", str(out)]) == 2  # not empty
    assert cli.main(["validate", "--replications", "0"]) == 2
    assert cli.main(["validate", "--set", "attention_mean=-1"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 3 and all(line.startswith("error: ") for line in errors)


def test_run_reports_gain_an_against_published_figures_section(tmp_path):
    out = tmp_path / "run"
    args = [a for a in TINY if a not in ()]
    assert cli.main(["scenarios/duel.yaml", *args, "--out", str(out), "--quiet"]) == 0
    report = (out / "report.md").read_text()
    section = report[report.index("## Against published figures"):report.index("## Provenance")]
    for f in load_facts().facts:
        assert f"| {f.id} |" in section
    assert f"Of {len(load_facts())} published figures" in section
    events = pd.read_parquet(out / "follow_events.parquet")
    assert {"replication", "step", "user", "firm", "event"} <= set(events.columns)


def test_default_facts_path_is_the_shipped_file():
    assert DEFAULT_FACTS.name == "facts.yaml" and DEFAULT_FACTS.exists()


def test_figure_draws_unmeasured_facts_and_log_rows(tmp_path):
    from sim.validation.figure import is_log_row, plot_validation

    facts = load_facts()
    values = pd.DataFrame({q: [float("nan")] * 2 for q in facts.quantities()})
    values["engagement_per_post_per_follower"] = [0.12, 0.14]  # 100x the band: a log row
    values["feed_read_share"] = [0.11, 0.12]  # inside a narrow band: linear
    table = compare(facts, values)
    rows = {r.fact: r for r in table.itertuples(index=False)}
    assert is_log_row(rows["engagement_rate"]) and not is_log_row(rows["feed_read_share"])
    assert not is_log_row(rows["cascades_100"])  # unmeasured, zero lower bound
    path = plot_validation(table, tmp_path / "v.png")
    assert path.stat().st_size > 10_000
    assert (table["verdict"] == "unmeasured").sum() == len(table) - 3  # two engagement facts, one read share
